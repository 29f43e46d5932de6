//! A small SMTP server that keeps what it receives, for tests and the email benchmark: plain
//! SMTP on a loopback port (EHLO, AUTH PLAIN/LOGIN without checking, MAIL, RCPT, DATA, RSET,
//! NOOP, QUIT). It can refuse recipients for good (`550` for addresses that start with
//! `reject`) and answer the next N messages with a transient `451`, to exercise retries.
//! [`Received::text`] decodes the plain-text part (quoted-printable or base64) to read links.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One message as received.
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body, CRLF line ends, dot-unstuffed.
    pub data: String,
    /// `user` of the AUTH the session made, if any.
    pub auth_user: Option<String>,
    /// When the message was accepted.
    pub at: Option<std::time::Instant>,
}

/// The sink: its port and what it got.
#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    fail_next: Arc<AtomicUsize>,
}

impl SmtpSink {
    /// Listens on 127.0.0.1 on an ephemeral port until the runtime ends.
    pub async fn start() -> std::io::Result<SmtpSink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let sink = SmtpSink {
            port: listener.local_addr()?.port(),
            received: Arc::default(),
            fail_next: Arc::default(),
        };
        let serving = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sink = serving.clone();
                tokio::spawn(async move {
                    let _ = sink.session(stream).await;
                });
            }
        });
        Ok(sink)
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn count(&self) -> usize {
        self.received.lock().map(|r| r.len()).unwrap_or_default()
    }

    /// The next `n` messages get a transient `451` after DATA.
    pub fn fail_next(&self, n: usize) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    async fn session(&self, stream: TcpStream) -> std::io::Result<()> {
        stream.set_nodelay(true)?;
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 lumo-test-sink ESMTP\r\n").await?;
        let mut current = Received::default();
        let mut auth_user = None;
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_string();
            let upper = command.to_ascii_uppercase();
            let reply: String = if upper.starts_with("EHLO") {
                "250-lumo-test-sink\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SMTPUTF8".into()
            } else if upper.starts_with("HELO") {
                "250 lumo-test-sink".into()
            } else if upper.starts_with("AUTH PLAIN") {
                let encoded = command.split_whitespace().nth(2).unwrap_or_default();
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .unwrap_or_default();
                let parts: Vec<&[u8]> = decoded.split(|b| *b == 0).collect();
                auth_user = parts
                    .get(1)
                    .map(|u| String::from_utf8_lossy(u).into_owned());
                "235 2.7.0 accepted".into()
            } else if upper.starts_with("AUTH LOGIN") {
                write.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
                line.clear();
                lines.read_line(&mut line).await?;
                let user = base64::engine::general_purpose::STANDARD
                    .decode(line.trim())
                    .unwrap_or_default();
                auth_user = Some(String::from_utf8_lossy(&user).into_owned());
                write.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
                line.clear();
                lines.read_line(&mut line).await?;
                "235 2.7.0 accepted".into()
            } else if upper.starts_with("MAIL FROM:") {
                current = Received {
                    from: address(&command[10..]),
                    auth_user: auth_user.clone(),
                    ..Received::default()
                };
                "250 2.1.0 ok".into()
            } else if upper.starts_with("RCPT TO:") {
                let to = address(&command[8..]);
                if to.starts_with("reject") {
                    "550 5.1.1 no such mailbox".into()
                } else {
                    current.to.push(to);
                    "250 2.1.5 ok".into()
                }
            } else if upper == "DATA" {
                write.write_all(b"354 end with .\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    let text = line.strip_prefix('.').unwrap_or(&line);
                    data.push_str(text);
                }
                current.data = data;
                let failing = self
                    .fail_next
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if failing {
                    "451 4.3.0 try again later".into()
                } else {
                    current.at = Some(std::time::Instant::now());
                    if let Ok(mut all) = self.received.lock() {
                        all.push(std::mem::take(&mut current));
                    }
                    "250 2.0.0 queued".into()
                }
            } else if upper == "RSET" {
                current = Received::default();
                "250 ok".into()
            } else if upper == "NOOP" {
                "250 ok".into()
            } else if upper == "QUIT" {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                "502 5.5.2 not implemented".into()
            };
            // One write per reply (two small writes would meet Nagle and delayed ACKs).
            write.write_all(format!("{reply}\r\n").as_bytes()).await?;
        }
    }
}

/// `<a@b>` (with any parameters after it) as `a@b`.
fn address(text: &str) -> String {
    let text = text.trim();
    let inner = text
        .strip_prefix('<')
        .and_then(|t| t.split('>').next())
        .unwrap_or(text);
    inner.to_string()
}

fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            let byte = (high * 16 + low) as u8;
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Received {
    /// The value of header `name` (unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    }

    /// The decoded body of the part whose content type starts with `content_type`.
    pub fn part(&self, content_type: &str) -> Option<String> {
        for part in self.data.split("\r\n--") {
            let Some((head, body)) = part.split_once("\r\n\r\n") else {
                continue;
            };
            let head_lower = head.to_ascii_lowercase();
            if !head_lower.contains(&format!("content-type: {content_type}")) {
                continue;
            }
            let body = body.split("\r\n--").next().unwrap_or(body);
            return Some(if head_lower.contains("quoted-printable") {
                decode_quoted_printable(body)
            } else if head_lower.contains("content-transfer-encoding: base64") {
                let compact: String = body.split_whitespace().collect();
                String::from_utf8_lossy(
                    &base64::engine::general_purpose::STANDARD
                        .decode(compact)
                        .unwrap_or_default(),
                )
                .into_owned()
            } else {
                body.to_string()
            });
        }
        None
    }

    /// The plain-text part.
    pub fn text(&self) -> String {
        self.part("text/plain").unwrap_or_default()
    }

    /// The first link in the plain-text part that contains `needle`.
    pub fn link(&self, needle: &str) -> Option<String> {
        self.text()
            .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
            .find(|word| word.starts_with("http") && word.contains(needle))
            .map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_soft_breaks_and_escapes() {
        assert_eq!(
            decode_quoted_printable("https://x.test/?token=3Dab=\r\ncd caf=C3=A9"),
            "https://x.test/?token=abcd café"
        );
    }
}
