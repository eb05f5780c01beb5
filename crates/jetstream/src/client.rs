//! A NATS client over one connection that is opened again when it drops.
//!
//! Blocking and used by one thread at a time (`&mut self`): the outbox relay and each
//! consumer own a client each. Requests are retried once on a fresh connection when the
//! old one broke; every request this crate makes is safe to repeat (a publish carries
//! its `Nats-Msg-Id`, so the stream stores it once).

use crate::Error;
use crate::connection::{Connection, ServerInfo};
use crate::protocol::{Headers, Message};
use std::fmt;
use std::time::{Duration, Instant};

/// Where the server is: `nats://[user:password@]host[:port]` (port 4222 by default).
#[derive(Clone, PartialEq)]
pub struct ServerAddr {
    pub host: String,
    pub port: u16,
    pub credentials: Option<(String, String)>,
}

impl ServerAddr {
    pub fn parse(url: &str) -> Result<ServerAddr, Error> {
        let bad = |why: &str| Error::InvalidInput(format!("NATS URL: {why}"));
        let rest = url.strip_prefix("nats://").unwrap_or(url);
        if rest.contains("://") {
            return Err(bad("only nats:// is supported (no TLS)"));
        }
        let rest = rest.trim_end_matches('/');
        let (credentials, hostport) = match rest.rsplit_once('@') {
            Some((creds, hostport)) => {
                let (user, pass) = creds.split_once(':').unwrap_or((creds, ""));
                (Some((user.to_string(), pass.to_string())), hostport)
            }
            None => (None, rest),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().map_err(|_| bad("bad port"))?),
            None => (hostport, 4222),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains('/') {
            return Err(bad("no host"));
        }
        Ok(ServerAddr {
            host: host.to_string(),
            port,
            credentials,
        })
    }
}

/// Shows host and port only, never the password.
impl fmt::Debug for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "nats://{}:{}", self.host, self.port)
    }
}

impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

pub struct Client {
    addr: ServerAddr,
    conn: Option<Connection>,
    timeout: Duration,
    reconnects: u64,
}

impl Client {
    /// Connects now, so a wrong URL or an absent server is reported at start-up.
    pub fn connect(url: &str) -> Result<Client, Error> {
        Self::connect_with_timeout(url, Duration::from_secs(5))
    }

    /// `timeout` bounds connecting and each round trip that has no timeout of its own.
    pub fn connect_with_timeout(url: &str, timeout: Duration) -> Result<Client, Error> {
        let addr = ServerAddr::parse(url)?;
        let conn = Connection::open(&addr, timeout)?;
        Ok(Client {
            addr,
            conn: Some(conn),
            timeout,
            reconnects: 0,
        })
    }

    pub fn addr(&self) -> &ServerAddr {
        &self.addr
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How many times the connection was opened again after it dropped.
    pub fn reconnects(&self) -> u64 {
        self.reconnects
    }

    /// The INFO of the server we are connected to (connecting if needed).
    pub fn server_info(&mut self) -> Result<ServerInfo, Error> {
        Ok(self.connection()?.info.clone())
    }

    /// Sends a request and waits up to `timeout` for its one reply.
    pub fn request(
        &mut self,
        subject: &str,
        headers: &Headers,
        payload: &[u8],
        timeout: Duration,
    ) -> Result<Message, Error> {
        self.with_retry(|conn| {
            let (reply, sid) = conn.subscribe_reply()?;
            conn.publish(subject, Some(&reply), headers, payload)?;
            let answer = conn.next_message(sid, Instant::now() + timeout);
            conn.unsubscribe(sid)?;
            let message = answer?.ok_or(Error::Timeout(timeout, "request"))?;
            if message.headers.status == Some(503) {
                return Err(Error::NoResponders(subject.to_string()));
            }
            Ok(message)
        })
    }

    /// Sends a request and collects replies on its reply subject until `done` says the
    /// last one has come or the deadline passes (a pull consumer's batch).
    pub fn request_many(
        &mut self,
        subject: &str,
        payload: &[u8],
        deadline: Instant,
        mut done: impl FnMut(&Message) -> bool,
    ) -> Result<Vec<Message>, Error> {
        self.with_retry(|conn| {
            let (reply, sid) = conn.subscribe_reply()?;
            conn.publish(subject, Some(&reply), &Headers::default(), payload)?;
            let mut replies = Vec::new();
            let ended = loop {
                match conn.next_message(sid, deadline) {
                    Ok(Some(message)) => {
                        let last = done(&message);
                        replies.push(message);
                        if last {
                            break Ok(());
                        }
                    }
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(e),
                }
            };
            conn.unsubscribe(sid)?;
            ended.map(|()| replies)
        })
    }

    fn connection(&mut self) -> Result<&mut Connection, Error> {
        if self.conn.is_none() {
            let conn = Connection::open(&self.addr, self.timeout)?;
            self.reconnects += 1;
            tracing::info!(server = %self.addr, "reconnected to NATS");
            self.conn = Some(conn);
        }
        Ok(self.conn.as_mut().expect("just opened"))
    }

    /// Runs `op` on the connection; if the connection broke, opens a new one and runs
    /// `op` once more. Any other error leaves the connection as it is.
    fn with_retry<T>(
        &mut self,
        mut op: impl FnMut(&mut Connection) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let first = op(self.connection()?);
        match first {
            Err(Error::Io(e)) => {
                tracing::warn!(server = %self.addr, error = %e, "NATS connection lost");
                self.conn = None;
                let again = op(self.connection()?);
                if matches!(again, Err(Error::Io(_))) {
                    self.conn = None;
                }
                again
            }
            Err(e @ (Error::Protocol(_) | Error::Server(_))) => {
                // After a protocol error or -ERR the stream's framing cannot be trusted.
                self.conn = None;
                Err(e)
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let a = ServerAddr::parse("nats://127.0.0.1:4222").unwrap();
        assert_eq!(
            (a.host.as_str(), a.port, a.credentials),
            ("127.0.0.1", 4222, None)
        );
        assert_eq!(ServerAddr::parse("localhost").unwrap().port, 4222);
        let a = ServerAddr::parse("nats://relay:s3cret@nats.internal:4223").unwrap();
        assert_eq!(a.credentials, Some(("relay".into(), "s3cret".into())));
        assert_eq!(
            format!("{a:?} {a}"),
            "nats://nats.internal:4223 nats://nats.internal:4223"
        );
        assert_eq!(ServerAddr::parse("nats://[::1]:4222").unwrap().host, "::1");
        assert!(ServerAddr::parse("tls://x:4222").is_err());
        assert!(ServerAddr::parse("nats://:4222").is_err());
        assert!(ServerAddr::parse("nats://x:port").is_err());
    }
}
