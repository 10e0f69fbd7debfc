//! nginx / Apache common and combined log formats, the variant with `"$http_origin"
//! "$sent_http_access_control_allow_origin" $request_time` appended, and the ingress-nginx
//! default format.

use std::borrow::Cow;

use super::common::{self, Cursor, MAX_TEXT_LINE, err, origin_fields, prepare, request_line};
use super::{Fed, LogParser, ParseError};
use crate::model::time::{TimeCache, parse_clf};
use crate::sources::event::{HttpRecord, Method, Sink};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Combined,
    Ingress,
}

pub struct Clf {
    flavor: Flavor,
    times: TimeCache,
}

impl Clf {
    pub fn combined() -> Clf {
        Clf {
            flavor: Flavor::Combined,
            times: TimeCache::default(),
        }
    }
    pub fn ingress() -> Clf {
        Clf {
            flavor: Flavor::Ingress,
            times: TimeCache::default(),
        }
    }
}

/// The fields every CLF-family line starts with, up to `$body_bytes_sent`.
pub(crate) struct ClfHead<'a> {
    pub client: &'a [u8],
    pub time: i64,
    pub method: &'a [u8],
    pub target: &'a str,
    pub status: u16,
}

pub(crate) fn parse_head<'a>(
    c: &mut Cursor<'a>,
    times: &mut TimeCache,
) -> Result<ClfHead<'a>, ParseError> {
    let client = c.token().ok_or_else(|| err("empty line"))?;
    let _ident = c.token().ok_or_else(|| err("missing ident"))?;
    // `$remote_user` may contain spaces in odd setups; everything up to the `[` is the user.
    let rest = c.rest();
    let open = crate::model::bytes::find1(b'[', rest).ok_or_else(|| err("missing [time]"))?;
    c.i += open;
    // `[dd/Mon/yyyy:hh:mm:ss +zzzz]` is 28 bytes: look where its end should be before searching.
    let time_text = match (c.b.get(c.i + 21), c.b.get(c.i + 27)) {
        (Some(b' '), Some(b']')) => {
            let t = &c.b[c.i + 1..c.i + 27];
            c.i += 28;
            Some(t)
        }
        _ => c.bracketed(),
    };
    let time = time_text
        .and_then(|t| times.parse(t, parse_clf))
        .ok_or_else(|| err("bad [time]"))?;
    let req = c.quoted().ok_or_else(|| err("missing \"request\""))?;
    let (method, target) = request_line(req)?;
    let status = common::status(c.token().ok_or_else(|| err("missing status"))?)?;
    let _bytes = c.token();
    Ok(ClfHead {
        client,
        time,
        method,
        target,
        status,
    })
}

/// `203.0.113.7, 10.0.0.1` or `2001:db8::1`: an X-Forwarded-For value, not an origin.
fn looks_like_address_list(v: &[u8]) -> bool {
    !v.is_empty()
        && v != b"-"
        && !common::has_scheme_sep(v)
        && v.iter()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, b'.' | b':' | b',' | b' '))
}

fn looks_like_origin(v: &[u8]) -> bool {
    v == b"null" || common::has_scheme_sep(v)
}

impl LogParser for Clf {
    fn name(&self) -> &'static str {
        match self.flavor {
            Flavor::Combined => "combined",
            Flavor::Ingress => "ingress-nginx",
        }
    }

    fn feed(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let line = prepare(line, MAX_TEXT_LINE)?;
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fed::Skipped);
        }
        let mut c = Cursor::new(line);
        let head = parse_head(&mut c, &mut self.times)?;
        let referer = c.quoted();
        let _ua = c.quoted();
        if referer.is_some() && _ua.is_none() {
            return Err(err("missing \"user agent\""));
        }
        let mut rec = HttpRecord {
            time: head.time,
            method: Method::parse(head.method),
            path: Cow::Borrowed(head.target),
            status: head.status,
            client: common::opt_field(head.client).map(Cow::Borrowed),
            ..Default::default()
        };
        let referer = referer.and_then(common::opt_field);
        let mut logs_origin = false;
        let mut origin = None;
        match self.flavor {
            Flavor::Combined => {
                // Optional tail: "origin" "acao" request_time. nginx's stock `main` format
                // appends "$http_x_forwarded_for" instead, so an address list there is skipped
                // and a lone `-` is not taken as an Origin column.
                let mut extra: [&[u8]; 3] = [&[]; 3];
                let mut n = 0;
                while n < extra.len() {
                    match c.quoted() {
                        Some(q) => {
                            extra[n] = q;
                            n += 1;
                        }
                        None => break,
                    }
                }
                let mut extra = &extra[..n];
                if let Some(first) = extra.first()
                    && looks_like_address_list(first)
                {
                    extra = &extra[1..];
                }
                match extra {
                    [o, a, ..] => {
                        logs_origin = true;
                        origin = common::opt_field(o);
                        rec.acao = Some(Cow::Borrowed(common::ascii_or_utf8(a).unwrap_or("-")));
                    }
                    [o] if looks_like_origin(o) => {
                        logs_origin = true;
                        origin = common::opt_field(o);
                    }
                    _ => {}
                }
                if let Some(t) = c.token() {
                    rec.latency_ms = common::seconds_to_ms(t);
                }
            }
            Flavor::Ingress => {
                if _ua.is_none() {
                    return Err(err("missing ingress-nginx fields"));
                }
                let _req_len = c.token();
                rec.latency_ms = c.token().and_then(common::seconds_to_ms);
                let _upstream_name = c.bracketed().ok_or_else(|| err("missing [upstream]"))?;
                let _alt = c.bracketed();
                if let Some(addr) = c.token() {
                    let addr = addr.strip_suffix(b",").unwrap_or(addr);
                    rec.instance = common::opt_field(addr).map(Cow::Borrowed);
                }
            }
        }
        let (o, derived) = origin_fields(logs_origin, origin, referer);
        rec.origin = o;
        rec.origin_derived = derived;
        sink.http(&rec);
        Ok(Fed::Records(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::event::VecSink;

    #[test]
    fn times_with_and_without_zone() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            (
                br#"1.2.3.4 - - [04/Apr/2026:10:31:02 +0000] "GET /a HTTP/1.1" 200 1 "-" "ua""#,
                Some(b"2026-04-04T10:31:02Z"),
            ),
            (
                br#"1.2.3.4 - - [04/Apr/2026:12:31:02 +0200] "GET /a HTTP/1.1" 200 1 "-" "ua""#,
                Some(b"2026-04-04T10:31:02Z"),
            ),
            // No zone: shorter than the usual field, and a `]` may sit where the zone ends.
            (
                br#"1.2.3.4 - - [04/Apr/2026:10:31:02] "GET /a HTTP/1.1" 200 1 "-" "ua""#,
                Some(b"2026-04-04T10:31:02Z"),
            ),
            (
                br#"1.2.3.4 - - [04/Apr/2026:10:31:02] "G] /a HTTP/1.1" 200 1 "-" "ua""#,
                None,
            ),
            (
                br#"1.2.3.4 - - [04/Apr/2026:10:31:02 +00] "GET /a HTTP/1.1" 200 1 "-" "ua""#,
                None,
            ),
        ];
        for (line, want) in cases {
            let mut sink = VecSink::default();
            let got = Clf::combined()
                .feed(line, &mut sink)
                .ok()
                .map(|_| crate::model::time::format_rfc3339(sink.http[0].time).into_bytes());
            assert_eq!(got.as_deref(), *want, "{}", String::from_utf8_lossy(line));
        }
    }
}
