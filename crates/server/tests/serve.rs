//! The server over a real socket: it answers, and stops when told to.

use std::io::{Read, Write};
use std::sync::Arc;
use store::{Repository, RepositoryConfig};

#[tokio::test]
async fn serves_over_tcp_and_shuts_down_gracefully() {
    let store = store_sqlite::SqliteStore::open_temp().unwrap();
    let repo = Arc::new(Repository::new(
        Arc::new(store),
        RepositoryConfig::default(),
    ));
    let auth = Arc::new(auth::Auth::new(repo.clone(), auth::AuthConfig::default()).unwrap());
    let state = server::AppState::new(repo, auth).with_base_url("https://gp.example/fhir/");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve_until(listener, state, async {
        let _ = stopped.await;
    }));

    // A plain blocking client, so the test needs no HTTP client library.
    let response = tokio::task::spawn_blocking(move || {
        let mut socket = std::net::TcpStream::connect(addr).unwrap();
        socket
            .write_all(b"GET /fhir/metadata HTTP/1.1\r\nHost: ignored\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        socket.read_to_string(&mut response).unwrap();
        response
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(
        response.contains("\"url\":\"https://gp.example/fhir\""),
        "the configured base URL is used"
    );

    stop.send(()).unwrap();
    let result = tokio::time::timeout(std::time::Duration::from_secs(5), server).await;
    assert!(
        matches!(result, Ok(Ok(Ok(())))),
        "the server did not stop cleanly"
    );
}
