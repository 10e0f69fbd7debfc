//! W3C extended log files (IIS, App Service raw web server logs). The `#Fields:` directive
//! names the columns and may appear again anywhere (a restart, a configuration change), so it
//! is re-read every time.
//!
//! Data lines before any `#Fields:` (tailing from the middle of a file) are read with a
//! default field set when their column count matches one: 19 columns = the App Service
//! default, 15 columns = the IIS default. Other counts are a parse error.

use std::borrow::Cow;

use super::common::{self, MAX_TEXT_LINE, err, origin_fields, prepare, utf8};
use super::{Fed, LogParser, ParseError};
use crate::event::{HttpRecord, Method, Sink};
use crate::time::parse_rfc3339;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    Date,
    Time,
    Method,
    Stem,
    Status,
    TimeTaken,
    Host,
    Referer,
    Origin,
    Acao,
    ClientIp,
    Computer,
    ServerIp,
    Ignore,
}

fn col(name: &[u8]) -> Col {
    let n = name.to_ascii_lowercase();
    match n.as_slice() {
        b"date" => Col::Date,
        b"time" => Col::Time,
        b"cs-method" => Col::Method,
        b"cs-uri-stem" => Col::Stem,
        b"sc-status" => Col::Status,
        b"time-taken" => Col::TimeTaken,
        b"cs-host" | b"cs(host)" => Col::Host,
        b"cs(referer)" | b"cs(referrer)" => Col::Referer,
        b"cs(origin)" => Col::Origin,
        b"sc(access-control-allow-origin)" | b"rs(access-control-allow-origin)" => Col::Acao,
        b"c-ip" => Col::ClientIp,
        b"s-computername" => Col::Computer,
        b"s-ip" => Col::ServerIp,
        _ => Col::Ignore,
    }
}

/// The directive naming the columns; every other `#` line is a comment.
const FIELDS: &[u8] = b"#Fields:";

const APPSERVICE_DEFAULT: &str = "date time s-sitename cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken";
const IIS_DEFAULT: &str = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken";

/// The column layout of a `#Fields:` directive, with the positions the parser needs.
#[derive(Clone, Debug)]
struct Layout {
    cols: Vec<Col>,
    has_origin: bool,
    has_acao: bool,
    missing: Option<&'static str>,
}

impl Layout {
    fn from_names(names: &[u8]) -> Layout {
        let cols: Vec<Col> = names
            .split(|c| *c == b' ' || *c == b'\t')
            .filter(|n| !n.is_empty())
            .map(col)
            .collect();
        let has = |c: Col| cols.contains(&c);
        let missing = [
            (Col::Date, "date"),
            (Col::Time, "time"),
            (Col::Method, "cs-method"),
            (Col::Stem, "cs-uri-stem"),
            (Col::Status, "sc-status"),
        ]
        .iter()
        .find(|(c, _)| !has(*c))
        .map(|(_, n)| *n);
        Layout {
            has_origin: has(Col::Origin),
            has_acao: has(Col::Acao),
            missing,
            cols,
        }
    }
}

#[derive(Default)]
pub struct W3c {
    layout: Option<Layout>,
}

impl W3c {
    fn default_layout(ncols: usize) -> Option<Layout> {
        match ncols {
            19 => Some(Layout::from_names(APPSERVICE_DEFAULT.as_bytes())),
            15 => Some(Layout::from_names(IIS_DEFAULT.as_bytes())),
            _ => None,
        }
    }
}

/// W3C values encode spaces as `+`; only fields that become record text are touched, and
/// those (paths, origins, hosts) do not carry spaces, so no decoding is needed on the hot path.
fn value(b: &[u8]) -> Option<&[u8]> {
    match b {
        b"" | b"-" => None,
        _ => Some(b),
    }
}

impl LogParser for W3c {
    fn name(&self) -> &'static str {
        "w3c"
    }

    fn header_prefix(&self) -> Option<&'static [u8]> {
        Some(FIELDS)
    }

    fn feed(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let line = prepare(line, MAX_TEXT_LINE)?;
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fed::Skipped);
        }
        if line[0] == b'#' {
            if let Some(rest) = line.strip_prefix(FIELDS) {
                self.layout = Some(Layout::from_names(rest));
            }
            return Ok(Fed::Skipped);
        }
        let mut fields: [&[u8]; 48] = [&[]; 48];
        let mut n = 0usize;
        let mut start = 0;
        for end in memchr::memchr_iter(b' ', line).chain(std::iter::once(line.len())) {
            if end > start {
                if n == fields.len() {
                    return Err(err("too many columns"));
                }
                fields[n] = &line[start..end];
                n += 1;
            }
            start = end + 1;
        }
        let fallback;
        let layout = match &self.layout {
            Some(l) => l,
            None => {
                fallback = Self::default_layout(n).ok_or_else(|| {
                    err("no #Fields header yet (and not a default IIS/App Service layout)")
                })?;
                &fallback
            }
        };
        if let Some(m) = layout.missing {
            return Err(ParseError::new(format!("#Fields has no {m} column")));
        }
        if n != layout.cols.len() {
            return Err(ParseError::new(format!(
                "{} columns, #Fields declares {}",
                n,
                layout.cols.len()
            )));
        }
        let mut rec = HttpRecord::default();
        let (mut date, mut time): (&[u8], &[u8]) = (&[], &[]);
        let (mut origin, mut referer, mut acao) = (None, None, None);
        let mut status = None;
        let mut path = None;
        for (c, f) in layout.cols.iter().zip(&fields[..n]) {
            match c {
                Col::Date => date = f,
                Col::Time => time = f,
                Col::Method => rec.method = Method::parse(f),
                Col::Stem => path = Some(*f),
                Col::Status => status = Some(common::status(f)?),
                Col::TimeTaken => rec.latency_ms = common::parse_u32(f),
                Col::Host => rec.host = value(f).and_then(common::opt_field).map(Cow::Borrowed),
                Col::Referer => referer = value(f).and_then(common::opt_field),
                Col::Origin => origin = value(f).and_then(common::opt_field),
                Col::Acao => acao = Some(f),
                Col::ClientIp => {
                    rec.client = value(f).and_then(common::opt_field).map(Cow::Borrowed)
                }
                Col::Computer => {
                    rec.instance = value(f).and_then(common::opt_field).map(Cow::Borrowed)
                }
                Col::ServerIp => {
                    if rec.instance.is_none() {
                        rec.instance = value(f).and_then(common::opt_field).map(Cow::Borrowed)
                    }
                }
                Col::Ignore => {}
            }
        }
        let mut stamp = [0u8; 40];
        if date.len() + time.len() + 1 > stamp.len() {
            return Err(err("bad date/time"));
        }
        stamp[..date.len()].copy_from_slice(date);
        stamp[date.len()] = b' ';
        stamp[date.len() + 1..date.len() + 1 + time.len()].copy_from_slice(time);
        rec.time = parse_rfc3339(&stamp[..date.len() + 1 + time.len()])
            .ok_or_else(|| err("bad date/time"))?;
        rec.status = status.ok_or_else(|| err("missing sc-status"))?;
        rec.path = Cow::Borrowed(utf8(path.unwrap_or(b"/"), "cs-uri-stem")?);
        let (o, derived) = origin_fields(layout.has_origin, origin, referer);
        rec.origin = o;
        rec.origin_derived = derived;
        if layout.has_acao {
            // Logged: `-` means the response had none.
            rec.acao = Some(Cow::Borrowed(
                acao.and_then(|a| std::str::from_utf8(a).ok())
                    .unwrap_or("-"),
            ));
        }
        sink.http(&rec);
        Ok(Fed::Records(1))
    }
}
