//! The NATS client protocol's framing: what the server sends (INFO, MSG, HMSG, PING,
//! PONG, +OK, -ERR), parsed out of a byte buffer, and the headers block of HPUB/HMSG.
//!
//! Parsing works on a buffer that may hold part of an operation, so a read timeout
//! while waiting for a reply never loses bytes: the caller keeps the buffer and reads on.

use crate::Error;

/// One operation sent by the server.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerOp {
    Info(String),
    Msg(Message),
    Ping,
    Pong,
    Ok,
    Err(String),
}

/// A message delivered to one of our subscriptions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Message {
    pub subject: String,
    /// The subscription it came on (a JetStream delivery keeps its original subject).
    pub sid: u64,
    pub reply: Option<String>,
    pub headers: Headers,
    pub payload: Vec<u8>,
}

/// The headers of a message, with the status line JetStream uses for control messages
/// (`NATS/1.0 408 Request Timeout`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Headers {
    pub status: Option<u16>,
    pub description: String,
    pub entries: Vec<(String, String)>,
}

impl Headers {
    /// The first value of `name` (header names compare case-insensitively).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn insert(&mut self, name: &str, value: &str) {
        self.entries.push((name.to_string(), value.to_string()));
    }

    pub fn is_empty(&self) -> bool {
        self.status.is_none() && self.entries.is_empty()
    }

    /// The headers block of an HPUB: version line, `Name: value` lines, blank line.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut out = b"NATS/1.0\r\n".to_vec();
        for (name, value) in &self.entries {
            let bad = |s: &str| s.contains(['\r', '\n']) || s.is_empty();
            if bad(name) || name.contains(':') || value.contains(['\r', '\n']) {
                return Err(Error::InvalidInput(format!(
                    "header {name:?} cannot be sent"
                )));
            }
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        Ok(out)
    }

    fn decode(block: &[u8]) -> Result<Headers, Error> {
        let text = std::str::from_utf8(block)
            .map_err(|_| Error::Protocol("headers are not UTF-8".into()))?;
        let mut lines = text.split("\r\n");
        let version = lines.next().unwrap_or_default();
        let rest = version
            .strip_prefix("NATS/1.0")
            .ok_or_else(|| Error::Protocol(format!("unknown headers version {version:?}")))?
            .trim();
        let mut headers = Headers::default();
        if !rest.is_empty() {
            let (code, description) = rest.split_once(' ').unwrap_or((rest, ""));
            headers.status = Some(
                code.parse()
                    .map_err(|_| Error::Protocol(format!("bad status line {version:?}")))?,
            );
            headers.description = description.trim().to_string();
        }
        for line in lines.filter(|l| !l.is_empty()) {
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim(), value.trim());
            }
        }
        Ok(headers)
    }
}

/// Parses one operation from the front of `buf`: `Ok(None)` when it holds only part of
/// one, else the operation and how many bytes it took.
pub fn parse(buf: &[u8]) -> Result<Option<(ServerOp, usize)>, Error> {
    let Some(line_end) = find_crlf(buf) else {
        return Ok(None);
    };
    let line = std::str::from_utf8(&buf[..line_end])
        .map_err(|_| Error::Protocol("control line is not UTF-8".into()))?;
    let after_line = line_end + 2;
    let (op, args) = line.split_once([' ', '\t']).unwrap_or((line, ""));
    let args = args.trim();
    let simple = |op| Ok(Some((op, after_line)));
    match op.to_ascii_uppercase().as_str() {
        "PING" => simple(ServerOp::Ping),
        "PONG" => simple(ServerOp::Pong),
        "+OK" => simple(ServerOp::Ok),
        "-ERR" => simple(ServerOp::Err(args.trim_matches('\'').to_string())),
        "INFO" => simple(ServerOp::Info(args.to_string())),
        "MSG" => parse_msg(buf, args, after_line, false),
        "HMSG" => parse_msg(buf, args, after_line, true),
        _ => Err(Error::Protocol(format!("unknown operation {op:?}"))),
    }
}

/// `MSG <subject> <sid> [reply] <size>` or
/// `HMSG <subject> <sid> [reply] <header size> <total size>`, then the body and CRLF.
fn parse_msg(
    buf: &[u8],
    args: &str,
    body_start: usize,
    with_headers: bool,
) -> Result<Option<(ServerOp, usize)>, Error> {
    let bad = || Error::Protocol(format!("malformed message line {args:?}"));
    let parts: Vec<&str> = args.split_whitespace().collect();
    let sizes = if with_headers { 2 } else { 1 };
    if parts.len() != 2 + sizes && parts.len() != 3 + sizes {
        return Err(bad());
    }
    let number = |s: &str| s.parse::<usize>().map_err(|_| bad());
    let total = number(parts[parts.len() - 1])?;
    let header_len = if with_headers {
        number(parts[parts.len() - 2])?
    } else {
        0
    };
    if header_len > total {
        return Err(bad());
    }
    let sid = parts[1].parse::<u64>().map_err(|_| bad())?;
    let reply = (parts.len() == 3 + sizes).then(|| parts[2].to_string());
    let end = body_start + total;
    if buf.len() < end + 2 {
        return Ok(None);
    }
    if &buf[end..end + 2] != b"\r\n" {
        return Err(bad());
    }
    let headers = if with_headers {
        Headers::decode(&buf[body_start..body_start + header_len])?
    } else {
        Headers::default()
    };
    let message = Message {
        subject: parts[0].to_string(),
        sid,
        reply,
        headers,
        payload: buf[body_start + header_len..end].to_vec(),
    };
    Ok(Some((ServerOp::Msg(message), end + 2)))
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(mut buf: &[u8]) -> Vec<ServerOp> {
        let mut ops = Vec::new();
        while let Some((op, used)) = parse(buf).unwrap() {
            ops.push(op);
            buf = &buf[used..];
        }
        assert!(
            buf.is_empty(),
            "left over: {:?}",
            String::from_utf8_lossy(buf)
        );
        ops
    }

    #[test]
    fn control_lines() {
        let ops = parse_all(
            b"INFO {\"headers\":true}\r\nPING\r\npong\r\n+OK\r\n-ERR 'Authorization Violation'\r\n",
        );
        assert_eq!(
            ops,
            vec![
                ServerOp::Info("{\"headers\":true}".into()),
                ServerOp::Ping,
                ServerOp::Pong,
                ServerOp::Ok,
                ServerOp::Err("Authorization Violation".into()),
            ]
        );
    }

    #[test]
    fn a_message_with_reply_and_a_payload_holding_crlf() {
        let ops = parse_all(b"MSG a.b 1 _INBOX.x.1 7\r\nhi\r\nyou\r\n");
        let ServerOp::Msg(m) = &ops[0] else { panic!() };
        assert_eq!(m.subject, "a.b");
        assert_eq!(m.reply.as_deref(), Some("_INBOX.x.1"));
        assert_eq!(m.payload, b"hi\r\nyou");
    }

    #[test]
    fn a_status_message_and_headers() {
        let head = "NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 1\r\n\r\n";
        let wire = format!(
            "HMSG _INBOX.x.2 1 {} {}\r\n{head}\r\n",
            head.len(),
            head.len()
        );
        let ops = parse_all(wire.as_bytes());
        let ServerOp::Msg(m) = &ops[0] else { panic!() };
        assert_eq!(m.headers.status, Some(408));
        assert_eq!(m.headers.description, "Request Timeout");
        assert_eq!(m.headers.get("nats-pending-messages"), Some("1"));
        assert!(m.payload.is_empty() && m.reply.is_none());
    }

    #[test]
    fn headers_round_trip_and_refuse_line_breaks() {
        let mut h = Headers::default();
        h.insert("Nats-Msg-Id", "0193-abc");
        let block = h.encode().unwrap();
        assert_eq!(Headers::decode(&block).unwrap(), h);
        let mut bad = Headers::default();
        bad.insert("Nats-Msg-Id", "a\r\nPUB x 1");
        assert!(bad.encode().is_err());
    }

    #[test]
    fn a_partial_operation_waits_for_more_bytes() {
        let wire = b"MSG a 1 5\r\nhello\r\n";
        for cut in 0..wire.len() {
            assert_eq!(parse(&wire[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert!(parse(wire).unwrap().is_some());
    }

    #[test]
    fn garbage_is_an_error_not_a_hang() {
        assert!(parse(b"HELLO\r\n").is_err());
        assert!(parse(b"MSG a 1 x\r\n").is_err());
        assert!(parse(b"MSG a 1 2\r\nhello\r\n").is_err());
    }
}
