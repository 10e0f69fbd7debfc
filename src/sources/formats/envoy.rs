//! Envoy's default text access log, optionally extended with `"%REQ(ORIGIN)%"` and
//! `%RESPONSE_CODE_DETAILS%`. A `jwt_authn_access_denied{...}` detail also yields an auth
//! record, since Envoy's JWT filter writes no separate auth log.
//!
//! Istio's variant (details, termination details and the transport failure reason between the
//! flags and the byte counts) is accepted too.

use std::borrow::Cow;

use super::auth_signature::classify_auth_message;
use super::common::{self, Cursor, MAX_TEXT_LINE, err, origin_fields, prepare, request_line};
use super::{Fed, LogParser, ParseError};
use crate::model::time::TimeCache;
use crate::sources::event::{AuthClass, AuthRecord, HttpRecord, Method, Sink};

#[derive(Default)]
pub struct Envoy {
    times: TimeCache,
}

fn is_number(t: &[u8]) -> bool {
    !t.is_empty() && t.iter().all(u8::is_ascii_digit)
}

/// Details tokens look like `via_upstream`, `jwt_authn_access_denied{Jwt_is_expired}`.
fn is_details(t: &[u8]) -> bool {
    !t.is_empty()
        && t[0].is_ascii_alphabetic()
        && t.iter().any(|c| *c == b'_' || *c == b'{')
        && t.iter().all(|c| !c.is_ascii_whitespace())
}

/// The auth class a `RESPONSE_CODE_DETAILS` value implies, if it is a JWT rejection.
pub(crate) fn jwt_details_class(details: &str) -> Option<AuthClass> {
    let inner = details.strip_prefix("jwt_authn_access_denied")?;
    let reason = inner
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .unwrap_or("");
    let spaced = reason.replace('_', " ");
    Some(classify_auth_message(&spaced).unwrap_or(AuthClass::Other))
}

impl LogParser for Envoy {
    fn name(&self) -> &'static str {
        "envoy"
    }

    fn feed(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let line = prepare(line, MAX_TEXT_LINE)?;
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fed::Skipped);
        }
        let mut c = Cursor::new(line);
        let time = c
            .bracketed()
            .and_then(|t| self.times.rfc3339(t))
            .ok_or_else(|| err("bad [start time]"))?;
        let req = c.quoted().ok_or_else(|| err("missing \"request\""))?;
        let (method, path) = request_line(req)?;
        let status = match c.token_call() {
            // Envoy logs 0 when the downstream connection closed before a response.
            Some(b"0") => return Err(err("no response (status 0)")),
            Some(t) => common::status(t)?,
            None => return Err(err("missing status")),
        };
        let _flags = c
            .token_call()
            .ok_or_else(|| err("missing response flags"))?;
        let mut details: Option<&[u8]> = None;
        // Istio puts details and transport failure between the flags and the byte counts.
        loop {
            c.skip_spaces();
            match c.peek() {
                Some(b'"') => {
                    c.quoted().ok_or_else(|| err("unterminated quote"))?;
                }
                Some(_) => {
                    let save = c.i;
                    let t = c.token_call().unwrap_or_default();
                    if is_number(t) {
                        c.i = save;
                        break;
                    }
                    if is_details(t) {
                        details = Some(t);
                    }
                }
                None => return Err(err("missing byte counts")),
            }
        }
        let _received = c.token_call();
        let _sent = c.token_call();
        let duration = c.token_call().and_then(common::parse_u32);
        let _upstream_time = c.token_call();
        let xff = c.quoted();
        let _ua = c.quoted();
        let _req_id = c.quoted();
        let authority = c.quoted().and_then(common::opt_field);
        let upstream = c.quoted().and_then(common::opt_field);
        let mut origin_logged = false;
        let mut origin = None;
        while !c.at_end() {
            c.skip_spaces();
            match c.peek() {
                Some(b'"') => {
                    let v = c.quoted().ok_or_else(|| err("unterminated quote"))?;
                    // Only the first extra quoted value that looks like an origin is one.
                    if !origin_logged && (v == b"-" || v == b"null" || common::has_scheme_sep(v)) {
                        origin_logged = true;
                        origin = common::opt_field(v);
                    }
                }
                Some(_) => {
                    if let Some(t) = c.token_call()
                        && is_details(t)
                    {
                        details = Some(t);
                    }
                }
                None => break,
            }
        }
        let (origin, origin_derived) = origin_fields(origin_logged, origin, None);
        sink.http(&HttpRecord {
            time,
            method: Method::parse(method),
            path: Cow::Borrowed(path),
            status,
            latency_ms: duration,
            host: authority.map(Cow::Borrowed),
            origin,
            origin_derived,
            acao: None,
            instance: upstream.map(Cow::Borrowed),
            // The first X-Forwarded-For hop is the calling client.
            client: xff
                .and_then(|x| x.split(|b| *b == b',').next())
                .map(<[u8]>::trim_ascii)
                .and_then(common::opt_field)
                .map(Cow::Borrowed),
        });
        let mut n = 1;
        if let Some(d) = details.and_then(common::ascii_or_utf8)
            && let Some(class) = jwt_details_class(d)
        {
            {
                sink.auth(&AuthRecord {
                    time,
                    operation: Cow::Borrowed("jwt_authn"),
                    class: Some(class),
                    status: Some(status),
                    message: Cow::Borrowed(d),
                });
                n += 1;
            }
        }
        Ok(Fed::Records(n))
    }
}
