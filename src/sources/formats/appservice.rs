//! App Service text logs as the troubleshooting queries print them:
//! HTTP `2026-04-04T10:31:02Z OPTIONS /api/orders 401 38` and auth
//! `2026-04-04T10:31:02Z ValidateToken IDX10223: Lifetime validation failed...`, the latter
//! possibly followed by the lines of a .NET exception block.

use std::borrow::Cow;

use super::auth_signature::classify_auth_message_with_status;
use super::common::{self, Cursor, MAX_TEXT_LINE, err, prepare, utf8};
use super::{Fed, LogParser, ParseError};
use crate::model::time::{EpochMs, parse_rfc3339};
use crate::sources::event::{AuthRecord, HttpRecord, Method, Sink};

/// `time method path status time-taken`.
pub struct HttpText;

/// Parses one HTTP text line into a borrowed record.
pub(crate) fn parse_http_line(line: &[u8]) -> Result<HttpRecord<'_>, ParseError> {
    let mut c = Cursor::new(line);
    let time = leading_time(&mut c).ok_or_else(|| err("bad timestamp"))?;
    let method = c.token().ok_or_else(|| err("missing method"))?;
    if !method.iter().all(u8::is_ascii_alphabetic) {
        return Err(err("bad method"));
    }
    let path = c.token().ok_or_else(|| err("missing path"))?;
    let status = common::status(c.token().ok_or_else(|| err("missing status"))?)?;
    let latency_ms = match c.token() {
        Some(t) => Some(common::parse_u32(t).ok_or_else(|| err("bad time-taken"))?),
        None => None,
    };
    if c.token().is_some() {
        return Err(err("unexpected extra fields"));
    }
    Ok(HttpRecord {
        time,
        method: Method::parse(method),
        path: Cow::Borrowed(utf8(path, "path")?),
        status,
        latency_ms,
        ..Default::default()
    })
}

impl LogParser for HttpText {
    fn name(&self) -> &'static str {
        "appservice-http"
    }

    fn feed(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let line = prepare(line, MAX_TEXT_LINE)?;
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fed::Skipped);
        }
        let rec = parse_http_line(line)?;
        sink.http(&rec);
        Ok(Fed::Records(1))
    }
}

/// The buffered message of one auth event stops growing here; exception blocks run to many
/// kilobytes of stack frames that add nothing to the classification.
const MAX_AUTH_MESSAGE: usize = 8 * 1024;

/// `time operation message`, with continuation lines folded into the event.
#[derive(Default)]
pub struct AuthText {
    pending: Option<Pending>,
}

struct Pending {
    time: EpochMs,
    operation: String,
    message: String,
}

/// Splits `time operation message`; `None` when the line does not start with a timestamp.
pub(crate) fn split_auth_line(line: &[u8]) -> Option<(EpochMs, &[u8], &[u8])> {
    let mut c = Cursor::new(line);
    let time = leading_time(&mut c)?;
    let op = c.token()?;
    c.skip_spaces();
    Some((time, op, c.rest()))
}

/// The timestamp a line starts with: `2026-04-04T10:31:02Z`, or `2026-04-04 10:31:02Z` as query
/// tools and spreadsheets print it (a space for the `T`, so two tokens).
fn leading_time(c: &mut Cursor<'_>) -> Option<EpochMs> {
    let start = c.i;
    let first = c.token()?;
    if first.len() != 10 {
        return parse_rfc3339(first);
    }
    let date_end = c.i;
    // Exactly one space between date and time, or it is not one timestamp.
    if c.b.get(date_end) != Some(&b' ') {
        return None;
    }
    c.token()?;
    parse_rfc3339(&c.b[start..c.i])
}

/// True for the lines a .NET exception block continues with.
fn is_continuation(line: &[u8]) -> bool {
    matches!(line.first(), Some(b' ' | b'\t')) || line.starts_with(b"---")
}

impl AuthText {
    fn emit(&mut self, sink: &mut dyn Sink) -> u32 {
        let Some(p) = self.pending.take() else {
            return 0;
        };
        let status = common::status_in_text(p.message.as_bytes());
        let class = classify_auth_message_with_status(&p.message, status);
        sink.auth(&AuthRecord {
            time: p.time,
            operation: Cow::Borrowed(&p.operation),
            class,
            status,
            message: Cow::Borrowed(&p.message),
        });
        1
    }
}

impl LogParser for AuthText {
    fn name(&self) -> &'static str {
        "appservice-auth"
    }

    fn feed(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let line = prepare(line, MAX_TEXT_LINE)?;
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fed::Skipped);
        }
        if let Some((time, op, msg)) = split_auth_line(line) {
            let op = utf8(op, "operation")?;
            let emitted = self.emit(sink);
            let mut message = String::new();
            append_capped(&mut message, msg);
            self.pending = Some(Pending {
                time,
                operation: op.to_string(),
                message,
            });
            return Ok(if emitted > 0 {
                Fed::Records(emitted)
            } else {
                Fed::Buffered
            });
        }
        match &mut self.pending {
            Some(p) => {
                p.message.push('\n');
                append_capped(&mut p.message, line.trim_ascii());
                Ok(Fed::Buffered)
            }
            // A stack trace whose head was before the point we started reading.
            None if is_continuation(line) => Ok(Fed::Skipped),
            None => Err(err("no timestamp at line start")),
        }
    }

    fn finish(&mut self, sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        Ok(match self.emit(sink) {
            0 => Fed::Skipped,
            n => Fed::Records(n),
        })
    }

    fn entry_open(&self) -> bool {
        self.pending.is_some()
    }
}

/// Appends lossily (stack frames may carry odd bytes) without exceeding the message cap.
fn append_capped(dst: &mut String, src: &[u8]) {
    let room = MAX_AUTH_MESSAGE.saturating_sub(dst.len());
    if room == 0 {
        return;
    }
    let src = &src[..src.len().min(room)];
    let text = String::from_utf8_lossy(src);
    let mut cut = text.len().min(room);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    dst.push_str(&text[..cut]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::event::{AuthClass, VecSink};

    #[test]
    fn http_lines() {
        let mut p = HttpText;
        let mut s = VecSink::default();
        assert_eq!(
            p.feed(b"2026-04-04T10:31:02Z OPTIONS /api/orders 401 38", &mut s),
            Ok(Fed::Records(1))
        );
        assert_eq!(
            p.feed(
                b"2026-04-04T10:31:03.250Z GET /api/orders/7?x=1 200 12\r",
                &mut s
            ),
            Ok(Fed::Records(1))
        );
        let r = &s.http[1];
        assert_eq!(r.method, Method::Get);
        assert_eq!(r.path, "/api/orders/7?x=1");
        assert_eq!(r.latency_ms, Some(12));
        assert!(
            p.feed(b"2026-04-04T10:31:02Z GET /a 2000 1", &mut s)
                .is_err()
        );
        assert!(
            p.feed(b"2026-04-04T10:31:02Z GET /a 099 1", &mut s)
                .is_err()
        );
        assert!(p.feed(b"yesterday GET /a 200 1", &mut s).is_err());
    }

    #[test]
    fn a_space_may_stand_for_the_t() {
        let t = crate::model::time::parse_rfc3339(b"2026-04-04T10:31:02.250Z");
        type MethodAndPath<'a> = Option<(&'a [u8], &'a [u8])>;
        let cases: &[(&[u8], MethodAndPath)] = &[
            (
                b"2026-04-04 10:31:02.250Z OPTIONS /api/orders 401 38",
                Some((b"OPTIONS", b"/api/orders")),
            ),
            (
                b"2026-04-04 10:31:02.250 GET /a 200 1",
                Some((b"GET", b"/a")),
            ),
            // Two spaces, or a date alone, are not a timestamp.
            (b"2026-04-04  10:31:02.250Z GET /a 200 1", None),
            (b"2026-04-04 GET /a 200 1", None),
            (b"2026-04-04", None),
        ];
        for (line, want) in cases {
            let got = parse_http_line(line).ok();
            assert_eq!(
                got.as_ref()
                    .map(|r| (r.method.as_str().as_bytes(), r.path.as_bytes())),
                *want,
                "{}",
                String::from_utf8_lossy(line)
            );
            if let Some(r) = got {
                assert_eq!(Some(r.time), t);
            }
        }
        let (time, op, msg) =
            split_auth_line(b"2026-04-04 10:31:02.250Z ValidateToken IDX10223: expired").unwrap();
        assert_eq!(
            (Some(time), op, msg),
            (t, &b"ValidateToken"[..], &b"IDX10223: expired"[..])
        );
    }

    #[test]
    fn exception_block_is_one_event() {
        let mut p = AuthText::default();
        let mut s = VecSink::default();
        let lines: &[&[u8]] = &[
            b"2026-04-04T10:31:02Z ValidateToken Microsoft.IdentityModel.Tokens.SecurityTokenExpiredException: IDX10223: Lifetime validation failed. The token is expired.",
            b"   at Microsoft.IdentityModel.Tokens.Validators.ValidateLifetime(Nullable`1 notBefore)",
            b" ---> System.Exception: inner",
            b"   --- End of inner exception stack trace ---",
            b"2026-04-04T10:31:05Z ValidateToken Token validated successfully",
        ];
        let fed: Vec<Fed> = lines.iter().map(|l| p.feed(l, &mut s).unwrap()).collect();
        assert_eq!(
            fed,
            vec![
                Fed::Buffered,
                Fed::Buffered,
                Fed::Buffered,
                Fed::Buffered,
                Fed::Records(1)
            ]
        );
        assert_eq!(p.finish(&mut s), Ok(Fed::Records(1)));
        assert_eq!(s.auth.len(), 2);
        assert_eq!(s.auth[0].class, Some(AuthClass::Expired));
        assert!(s.auth[0].message.contains("End of inner exception"));
        assert_eq!(s.auth[1].class, None);
    }

    #[test]
    fn buffered_message_is_capped() {
        let mut p = AuthText::default();
        let mut s = VecSink::default();
        p.feed(
            b"2026-04-04T10:31:02Z ValidateToken IDX10223: failed",
            &mut s,
        )
        .unwrap();
        let frame = vec![b' '; 1000];
        for _ in 0..100 {
            let mut l = frame.clone();
            l.extend_from_slice(b"at Some.Frame()");
            p.feed(&l, &mut s).unwrap();
        }
        p.finish(&mut s).unwrap();
        assert!(s.auth[0].message.len() <= MAX_AUTH_MESSAGE);
    }
}
