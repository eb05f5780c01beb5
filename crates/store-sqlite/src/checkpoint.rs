//! Checkpoints the WAL on a background thread, so writers' commits do not stop to copy
//! pages into the database file (SQLite's automatic checkpoint runs inside the commit
//! that crosses its threshold). PASSIVE checkpoints never block readers or the writer.

use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

const INTERVAL: Duration = Duration::from_millis(250);

pub(crate) struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub(crate) fn start(path: PathBuf) -> Checkpointer {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(path, signal))
            .ok();
        Checkpointer { stop, thread }
    }
}

fn run(path: PathBuf, stop: Arc<(Mutex<bool>, Condvar)>) {
    let mut conn: Option<Connection> = None;
    let (lock, cv) = &*stop;
    let mut stopped = lock.lock().unwrap();
    while !*stopped {
        stopped = cv.wait_timeout(stopped, INTERVAL).unwrap().0;
        if *stopped {
            break;
        }
        drop(stopped);
        if conn.is_none() {
            conn = crate::open_connection(&path).ok();
        }
        if let Some(c) = &conn
            && let Err(e) = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        {
            // The writers' automatic checkpoint remains as a safety net.
            tracing::warn!(error = %e, "background WAL checkpoint failed");
            conn = None;
        }
        stopped = lock.lock().unwrap();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        *self.stop.0.lock().unwrap() = true;
        self.stop.1.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
