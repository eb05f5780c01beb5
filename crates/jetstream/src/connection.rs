//! One TCP connection to a NATS server: the INFO/CONNECT handshake, publishing, and
//! reading what arrives on our inbox subscription.
//!
//! Every request subscribes to a reply subject of its own (`_INBOX.<random>.<n>`, with
//! its own subscription id, since JetStream deliveries keep their original subject and
//! are told apart only by the id) and unsubscribes when done. A message that still
//! arrives for a finished request is dropped: for a JetStream delivery that only means
//! the server delivers it again after the consumer's ack wait.

use crate::protocol::{self, Headers, Message, ServerOp};
use crate::{Error, ServerAddr};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// What the server told us about itself in INFO.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ServerInfo {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub headers: bool,
    #[serde(default)]
    pub jetstream: bool,
    #[serde(default = "default_max_payload")]
    pub max_payload: usize,
}

fn default_max_payload() -> usize {
    1024 * 1024
}

pub struct Connection {
    stream: TcpStream,
    /// Bytes read but not yet parsed (possibly part of an operation).
    buf: Vec<u8>,
    inbox_prefix: String,
    next_sid: u64,
    pub info: ServerInfo,
}

impl Connection {
    pub fn open(addr: &ServerAddr, timeout: Duration) -> Result<Connection, Error> {
        let stream = connect_tcp(addr, timeout)?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(timeout))?;
        let mut conn = Connection {
            stream,
            buf: Vec::with_capacity(64 * 1024),
            inbox_prefix: format!("_INBOX.{}", uuid::Uuid::new_v4().simple()),
            next_sid: 0,
            info: ServerInfo {
                version: String::new(),
                headers: false,
                jetstream: false,
                max_payload: default_max_payload(),
            },
        };
        let deadline = Instant::now() + timeout;
        match conn.read_op(deadline)? {
            Some(ServerOp::Info(json)) => {
                conn.info = serde_json::from_str(&json)
                    .map_err(|e| Error::Protocol(format!("INFO: {e}")))?;
            }
            Some(other) => return Err(Error::Protocol(format!("expected INFO, got {other:?}"))),
            None => return Err(Error::Timeout(timeout, "INFO")),
        }
        if !conn.info.headers {
            return Err(Error::Protocol(format!(
                "NATS server {} does not support headers (needed for Nats-Msg-Id)",
                conn.info.version
            )));
        }
        let mut connect = serde_json::json!({
            "verbose": false,
            "pedantic": false,
            "headers": true,
            "no_responders": true,
            "lang": "rust-opengp",
            "version": env!("CARGO_PKG_VERSION"),
            "protocol": 1,
        });
        if let Some((user, pass)) = &addr.credentials {
            connect["user"] = user.clone().into();
            connect["pass"] = pass.clone().into();
        }
        let hello = format!("CONNECT {connect}\r\nPING\r\n");
        conn.stream.write_all(hello.as_bytes())?;
        conn.wait_pong(deadline, timeout)?;
        Ok(conn)
    }

    /// Subscribes to a new reply subject: the subject and its subscription id.
    pub fn subscribe_reply(&mut self) -> Result<(String, u64), Error> {
        self.next_sid += 1;
        let sid = self.next_sid;
        let subject = format!("{}.{sid}", self.inbox_prefix);
        self.stream
            .write_all(format!("SUB {subject} {sid}\r\n").as_bytes())?;
        Ok((subject, sid))
    }

    pub fn unsubscribe(&mut self, sid: u64) -> Result<(), Error> {
        self.stream
            .write_all(format!("UNSUB {sid}\r\n").as_bytes())?;
        Ok(())
    }

    /// PUB (or HPUB when there are headers).
    pub fn publish(
        &mut self,
        subject: &str,
        reply: Option<&str>,
        headers: &Headers,
        payload: &[u8],
    ) -> Result<(), Error> {
        check_subject(subject)?;
        if payload.len() > self.info.max_payload {
            return Err(Error::InvalidInput(format!(
                "message of {} bytes is larger than the server's limit of {}",
                payload.len(),
                self.info.max_payload
            )));
        }
        let reply = reply.map(|r| format!(" {r}")).unwrap_or_default();
        let mut frame = Vec::with_capacity(payload.len() + 128);
        if headers.is_empty() {
            frame.extend_from_slice(
                format!("PUB {subject}{reply} {}\r\n", payload.len()).as_bytes(),
            );
        } else {
            let block = headers.encode()?;
            let total = block.len() + payload.len();
            frame.extend_from_slice(
                format!("HPUB {subject}{reply} {} {total}\r\n", block.len()).as_bytes(),
            );
            frame.extend_from_slice(&block);
        }
        frame.extend_from_slice(payload);
        frame.extend_from_slice(b"\r\n");
        self.stream.write_all(&frame)?;
        Ok(())
    }

    /// The next message on subscription `sid`, or None at the deadline. Answers the
    /// server's PINGs meanwhile.
    pub fn next_message(&mut self, sid: u64, deadline: Instant) -> Result<Option<Message>, Error> {
        loop {
            match self.read_op(deadline)? {
                None => return Ok(None),
                Some(ServerOp::Msg(m)) if m.sid == sid => return Ok(Some(m)),
                Some(ServerOp::Msg(m)) => {
                    tracing::debug!(subject = %m.subject, "NATS message for an abandoned request dropped");
                }
                Some(ServerOp::Ping) => self.stream.write_all(b"PONG\r\n")?,
                Some(ServerOp::Err(e)) => return Err(Error::Server(e)),
                Some(ServerOp::Pong | ServerOp::Ok | ServerOp::Info(_)) => {}
            }
        }
    }

    fn wait_pong(&mut self, deadline: Instant, timeout: Duration) -> Result<(), Error> {
        loop {
            match self.read_op(deadline)? {
                None => return Err(Error::Timeout(timeout, "PONG")),
                Some(ServerOp::Pong) => return Ok(()),
                Some(ServerOp::Ping) => self.stream.write_all(b"PONG\r\n")?,
                Some(ServerOp::Err(e)) => return Err(Error::Server(e)),
                Some(_) => {}
            }
        }
    }

    /// The next operation from the server, or None if none is complete by `deadline`.
    fn read_op(&mut self, deadline: Instant) -> Result<Option<ServerOp>, Error> {
        let mut chunk = [0u8; 32 * 1024];
        loop {
            if let Some((op, used)) = protocol::parse(&self.buf)? {
                self.buf.drain(..used);
                return Ok(Some(op));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.stream.set_read_timeout(Some(left))?;
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    return Err(Error::Io(std::io::Error::new(
                        ErrorKind::ConnectionAborted,
                        "closed by the server",
                    )));
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

fn connect_tcp(addr: &ServerAddr, timeout: Duration) -> Result<TcpStream, Error> {
    let mut last = None;
    for socket in (addr.host.as_str(), addr.port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&socket, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(last
        .unwrap_or_else(|| std::io::Error::new(ErrorKind::NotFound, "host has no address"))
        .into())
}

/// Subjects are sent unquoted on a control line: no spaces, no line breaks.
fn check_subject(subject: &str) -> Result<(), Error> {
    let bad = subject.is_empty()
        || subject.contains(|c: char| c.is_whitespace())
        || subject.split('.').any(str::is_empty);
    if bad {
        return Err(Error::InvalidInput(format!("bad subject {subject:?}")));
    }
    Ok(())
}
