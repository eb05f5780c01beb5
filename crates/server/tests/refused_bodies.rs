//! A request refused before its body is read (401, 413, 429) is still answered: the
//! client, sending a large body in chunks over a real socket, reads the status line
//! instead of a broken pipe.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

/// Serves `api`'s store and sign-in with a 1 MiB body limit on a real socket.
async fn serve(api: &Api) -> SocketAddr {
    let state =
        server::AppState::new(api.repo.clone(), api.auth.clone()).with_body_limit(1024 * 1024);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server::serve(listener, state));
    addr
}

/// Sends a POST of `size` bytes in 64 KiB chunks, a little at a time, then reads the
/// response. Fails the test if the server broke the connection while it was sending.
async fn post_slowly(addr: SocketAddr, token: Option<&str>, size: usize) -> String {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    tokio::task::spawn_blocking(move || {
        let mut socket = std::net::TcpStream::connect(addr).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let head = format!(
            "POST /fhir/Patient HTTP/1.1\r\nHost: localhost\r\n{auth}\
             Content-Type: application/fhir+json\r\nContent-Length: {size}\r\n\r\n"
        );
        socket.write_all(head.as_bytes()).unwrap();
        let chunk = vec![b' '; 64 * 1024];
        let mut sent = 0;
        while sent < size {
            let n = chunk.len().min(size - sent);
            if let Err(e) = socket.write_all(&chunk[..n]) {
                panic!("the server broke the connection after {sent} of {size} bytes: {e}");
            }
            sent += n;
            std::thread::sleep(Duration::from_millis(2));
        }
        let mut response = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match socket.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    response.extend_from_slice(&buf[..n]);
                    if String::from_utf8_lossy(&response).contains("\r\n\r\n") {
                        break;
                    }
                }
                Err(e) => panic!("no answer after sending the body: {e}"),
            }
        }
        String::from_utf8_lossy(&response).into_owned()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_client_reads_401_413_and_429_after_sending_its_body() {
    let api = Api::new();
    let addr = serve(&api).await;

    let unauthenticated = post_slowly(addr, None, 900 * 1024).await;
    assert!(
        unauthenticated.starts_with("HTTP/1.1 401"),
        "{unauthenticated}"
    );

    let token = api.token.clone().unwrap();
    let too_large = post_slowly(addr, Some(&token), 1536 * 1024).await;
    assert!(too_large.starts_with("HTTP/1.1 413"), "{too_large}");

    let app = api.register_client("Limited", "system/*.cruds", 1, true);
    let limited = api.client_credentials(&app, "system/*.cruds");
    let first = post_slowly(addr, Some(&limited), 10).await;
    assert!(first.starts_with("HTTP/1.1 400"), "{first}");
    let throttled = post_slowly(addr, Some(&limited), 900 * 1024).await;
    assert!(throttled.starts_with("HTTP/1.1 429"), "{throttled}");
    assert!(
        throttled.to_ascii_lowercase().contains("retry-after:"),
        "{throttled}"
    );
}

/// A client that waits for `100 Continue` before sending is told 401 straight away, and
/// is never asked for the body it would have sent.
#[tokio::test]
async fn a_client_expecting_100_continue_gets_the_refusal_without_sending() {
    let api = Api::new();
    let addr = serve(&api).await;
    let response = tokio::task::spawn_blocking(move || {
        let mut socket = std::net::TcpStream::connect(addr).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        socket
            .write_all(
                b"POST /fhir/Patient HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n\
                  Content-Type: application/fhir+json\r\nContent-Length: 900000\r\n\r\n",
            )
            .unwrap();
        let mut buf = [0u8; 4096];
        let n = socket.read(&mut buf).expect("an answer before the body");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
}
