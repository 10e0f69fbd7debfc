//! A user-supplied nginx `log_format` compiled into a parser: literal text between variables
//! is matched exactly, and each variable's value runs up to the next literal.

use std::borrow::Cow;

use memchr::memmem;

use super::common::{self, MAX_TEXT_LINE, err, origin_fields, prepare, request_line, utf8};
use super::{Fed, LogParser, ParseError};
use crate::model::time::{parse_clf, parse_rfc3339};
use crate::sources::event::{HttpRecord, Method, Sink};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Var {
    RemoteAddr,
    TimeLocal,
    TimeIso,
    Msec,
    Request,
    RequestMethod,
    RequestUri,
    Uri,
    Status,
    RequestTime,
    Origin,
    Referer,
    Host,
    Acao,
    UpstreamAddr,
    Ignored,
}

fn var(name: &str) -> Var {
    match name {
        "remote_addr" | "binary_remote_addr" | "realip_remote_addr" => Var::RemoteAddr,
        "time_local" => Var::TimeLocal,
        "time_iso8601" => Var::TimeIso,
        "msec" => Var::Msec,
        "request" => Var::Request,
        "request_method" => Var::RequestMethod,
        "request_uri" => Var::RequestUri,
        "uri" | "document_uri" => Var::Uri,
        "status" => Var::Status,
        "request_time" => Var::RequestTime,
        "http_origin" => Var::Origin,
        "http_referer" => Var::Referer,
        "host" | "http_host" => Var::Host,
        "sent_http_access_control_allow_origin" => Var::Acao,
        "upstream_addr" => Var::UpstreamAddr,
        _ => Var::Ignored,
    }
}

#[derive(Clone, Debug)]
enum Piece {
    /// Literal text and a searcher built once for it.
    Lit(Vec<u8>, Box<memmem::Finder<'static>>),
    Var(Var),
}

fn lit(text: Vec<u8>) -> Piece {
    let finder = Box::new(memmem::Finder::new(&text).into_owned());
    Piece::Lit(text, finder)
}

#[derive(Debug)]
pub struct NginxCustom {
    pieces: Vec<Piece>,
    logs_origin: bool,
}

impl NginxCustom {
    /// Compiles a `log_format` string. Needs a time, a method, a path and `$status`.
    pub fn compile(fmt: &str) -> Result<NginxCustom, String> {
        let b = fmt.trim().as_bytes();
        let mut pieces: Vec<Piece> = Vec::new();
        let mut lit = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'$' {
                let (name, next) = if b.get(i + 1) == Some(&b'{') {
                    let end = b[i + 2..]
                        .iter()
                        .position(|c| *c == b'}')
                        .ok_or("unclosed ${")?;
                    (&fmt.trim()[i + 2..i + 2 + end], i + 3 + end)
                } else {
                    let len = b[i + 1..]
                        .iter()
                        .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
                        .unwrap_or(b.len() - i - 1);
                    (&fmt.trim()[i + 1..i + 1 + len], i + 1 + len)
                };
                if name.is_empty() {
                    lit.push(b'$');
                    i += 1;
                    continue;
                }
                if !lit.is_empty() {
                    pieces.push(self::lit(std::mem::take(&mut lit)));
                }
                if matches!(pieces.last(), Some(Piece::Var(_))) {
                    return Err(format!(
                        "${name} follows another variable without separating text"
                    ));
                }
                pieces.push(Piece::Var(var(name)));
                i = next;
            } else {
                lit.push(b[i]);
                i += 1;
            }
        }
        if !lit.is_empty() {
            pieces.push(self::lit(lit));
        }
        let has = |v: Var| pieces.iter().any(|p| matches!(p, Piece::Var(x) if *x == v));
        if !(has(Var::TimeLocal) || has(Var::TimeIso) || has(Var::Msec)) {
            return Err("needs $time_local, $time_iso8601 or $msec".into());
        }
        if !(has(Var::Request) || has(Var::RequestMethod)) {
            return Err("needs $request or $request_method".into());
        }
        if !(has(Var::Request) || has(Var::RequestUri) || has(Var::Uri)) {
            return Err("needs $request, $request_uri or $uri".into());
        }
        if !has(Var::Status) {
            return Err("needs $status".into());
        }
        Ok(NginxCustom {
            logs_origin: has(Var::Origin),
            pieces,
        })
    }
}

/// Where a value followed by `lit` ends. Inside quotes nginx escapes `"` as `\x22`, but logs
/// rewritten by other tools use `\"`, so a quote preceded by a backslash does not end a value.
fn value_end(rest: &[u8], lit: &[u8], finder: &memmem::Finder<'_>) -> Option<usize> {
    let mut from = 0;
    loop {
        let at = from
            + match lit {
                [one] => memchr::memchr(*one, &rest[from..])?,
                _ => finder.find(&rest[from..])?,
            };
        if lit[0] == b'"' && at > 0 && rest[at - 1] == b'\\' {
            from = at + 1;
            continue;
        }
        return Some(at);
    }
}

impl LogParser for NginxCustom {
    fn name(&self) -> &'static str {
        "nginx"
    }

    fn feed(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let line = prepare(line, MAX_TEXT_LINE)?;
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fed::Skipped);
        }
        let mut rec = HttpRecord::default();
        let (mut time, mut status) = (None, None);
        let (mut method, mut uri, mut request_uri, mut request) = (None, None, None, None);
        let (mut origin, mut referer) = (None, None);
        let mut pos = 0usize;
        for (k, piece) in self.pieces.iter().enumerate() {
            match piece {
                Piece::Lit(l, _) => {
                    if !line[pos..].starts_with(l) {
                        return Err(err("line does not match the log_format"));
                    }
                    pos += l.len();
                }
                Piece::Var(v) => {
                    let rest = &line[pos..];
                    let end = match self.pieces.get(k + 1) {
                        Some(Piece::Lit(l, f)) => value_end(rest, l, f)
                            .ok_or_else(|| err("line does not match the log_format"))?,
                        _ => rest.len(),
                    };
                    let val = &rest[..end];
                    pos += end;
                    match v {
                        Var::RemoteAddr => rec.client = common::opt_field(val).map(Cow::Borrowed),
                        Var::TimeLocal => time = parse_clf(val),
                        Var::TimeIso => time = parse_rfc3339(val),
                        Var::Msec => {
                            time = std::str::from_utf8(val)
                                .ok()
                                .and_then(|s| s.parse::<f64>().ok())
                                .and_then(common::epoch_seconds);
                        }
                        Var::Request => request = Some(val),
                        Var::RequestMethod => method = Some(val),
                        Var::RequestUri => request_uri = Some(val),
                        Var::Uri => uri = Some(val),
                        Var::Status => status = Some(common::status(val)?),
                        Var::RequestTime => rec.latency_ms = common::seconds_to_ms(val),
                        Var::Origin => origin = common::opt_field(val),
                        Var::Referer => referer = common::opt_field(val),
                        Var::Host => rec.host = common::opt_field(val).map(Cow::Borrowed),
                        Var::Acao => {
                            rec.acao = Some(Cow::Borrowed(std::str::from_utf8(val).unwrap_or("-")));
                        }
                        Var::UpstreamAddr => {
                            let first = val.split(|c| *c == b',').next().unwrap_or(val);
                            rec.instance = common::opt_field(first.trim_ascii()).map(Cow::Borrowed);
                        }
                        Var::Ignored => {}
                    }
                }
            }
        }
        rec.time = time.ok_or_else(|| err("bad time"))?;
        rec.status = status.ok_or_else(|| err("missing status"))?;
        let (req_method, req_target) = match request {
            Some(r) => {
                let (m, t) = request_line(r)?;
                (Some(m), Some(t))
            }
            None => (None, None),
        };
        rec.method = Method::parse(method.or(req_method).ok_or_else(|| err("missing method"))?);
        rec.path = Cow::Borrowed(match (request_uri, req_target, uri) {
            (Some(u), _, _) => utf8(u, "$request_uri")?,
            (None, Some(t), _) => t,
            (None, None, Some(u)) => utf8(u, "$uri")?,
            _ => return Err(err("missing path")),
        });
        let (o, derived) = origin_fields(self.logs_origin, origin, referer);
        rec.origin = o;
        rec.origin_derived = derived;
        sink.http(&rec);
        Ok(Fed::Records(1))
    }
}
