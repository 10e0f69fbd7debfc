//! The App Service log stream (`az webapp log tail`, Kudu's `/api/logstream`):
//! `<timestamp>  <text>`. The inner text is read as a W3C web-server line, an App Service
//! HTTP or auth text line when it is one; application log lines are skipped, except that a
//! known token-validation signature in them is counted as an auth event (that is how
//! Microsoft.IdentityModel failures reach this stream).

use std::borrow::Cow;

use super::appservice::{parse_http_line, split_auth_line};
use super::auth_signature::classify_auth_message;
use super::common::{MAX_TEXT_LINE, err, prepare, utf8};
use super::w3c::W3c;
use super::{Fed, LogParser, ParseError};
use crate::model::time::parse_rfc3339;
use crate::sources::event::{AuthClass, AuthRecord, Sink};

#[derive(Default)]
pub struct Kudu {
    w3c: W3c,
}

const BANNERS: &[&[u8]] = &[
    b"Connected!",
    b"Welcome, you are now connected to log-streaming service",
    b"Starting Log Tail",
    b"No new trace in the past",
    b"Stopping Log Tail",
];

fn is_banner(text: &[u8]) -> bool {
    BANNERS.iter().any(|b| text.starts_with(b))
}

/// Splits `<timestamp>  <text>` (two spaces; a tab or one space is tolerated).
pub(crate) fn split_prefix(line: &[u8]) -> Option<(i64, &[u8])> {
    let sp = memchr::memchr2(b' ', b'\t', line)?;
    let time = parse_rfc3339(&line[..sp])?;
    let rest = &line[sp..];
    let text = rest.strip_prefix(b"  ").or_else(|| rest.get(1..))?;
    Some((time, text))
}

impl LogParser for Kudu {
    fn name(&self) -> &'static str {
        "kudu"
    }

    fn feed(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let line = prepare(line, MAX_TEXT_LINE)?;
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() || is_banner(trimmed) {
            return Ok(Fed::Skipped);
        }
        let Some((time, text)) = split_prefix(line) else {
            // Continuation of a multi-line application message.
            utf8(line, "line").map_err(|_| err("not UTF-8 and no timestamp"))?;
            return Ok(Fed::Skipped);
        };
        let text = text.trim_ascii();
        if text.is_empty() || is_banner(text) {
            return Ok(Fed::Skipped);
        }
        if text[0] == b'#' {
            return self.w3c.feed(text, sink);
        }
        if text.len() > 10 && text[4] == b'-' && text[10] == b' ' {
            // `2026-04-04 10:31:02 SITE GET ...`: a web-server log line.
            if let Ok(fed) = self.w3c.feed(text, sink) {
                return Ok(fed);
            }
        }
        if let Ok(rec) = parse_http_line(text) {
            sink.http(&rec);
            return Ok(Fed::Records(1));
        }
        let (t, op, msg) = match split_auth_line(text) {
            Some((t, op, msg)) => (t, op, msg),
            None => (time, &b"log-stream"[..], text),
        };
        let Ok(msg) = std::str::from_utf8(msg) else {
            return Ok(Fed::Skipped);
        };
        match classify_auth_message(msg) {
            Some(class) if class != AuthClass::Other => {
                sink.auth(&AuthRecord {
                    time: t,
                    operation: Cow::Borrowed(std::str::from_utf8(op).unwrap_or("log-stream")),
                    class: Some(class),
                    status: super::common::status_in_text(msg.as_bytes()),
                    message: Cow::Borrowed(msg),
                });
                Ok(Fed::Records(1))
            }
            _ => Ok(Fed::Skipped),
        }
    }
}
