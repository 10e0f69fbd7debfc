//! JSON access logs of Caddy and Traefik. One pass over the line reads the few fields a
//! record uses, borrowed from the line; every other value is skipped without decoding.

use std::borrow::Cow;

use super::common::{self, MAX_JSON_DOC, err, origin_fields, prepare};
use super::jsonval::{Dur, JsonError, Num, Scan, Ts, once, time_str};
use super::{Fed, LogParser, ParseError};
use crate::sources::event::{HttpRecord, Method, Sink};

fn object_line(line: &[u8]) -> Result<Option<&[u8]>, ParseError> {
    let line = prepare(line, MAX_JSON_DOC)?;
    let t = line.trim_ascii();
    if t.is_empty() {
        return Ok(None);
    }
    if t[0] != b'{' {
        return Err(err("not a JSON object"));
    }
    Ok(Some(t))
}

fn present<'b>(v: &'b Option<Cow<'_, str>>) -> Option<&'b str> {
    v.as_deref().and_then(common::present)
}

fn text<'b>(v: &'b Option<Cow<'_, str>>) -> Option<&'b str> {
    v.as_deref()
}

// ---------------------------------------------------------------------------------------------
// Caddy

#[derive(Default)]
struct CaddyLine<'a> {
    ts: Ts,
    request: Option<CaddyRequest<'a>>,
    status: Num,
    duration: Dur,
    /// `Some` when the response header map is logged; inside, the ACAO value if present.
    resp_headers: Option<Option<Cow<'a, str>>>,
}

#[derive(Default)]
struct CaddyRequest<'a> {
    remote_ip: Option<Cow<'a, str>>,
    client_ip: Option<Cow<'a, str>>,
    host: Option<Cow<'a, str>>,
    method: Option<Cow<'a, str>>,
    uri: Option<Cow<'a, str>>,
    headers: Option<CaddyReqHeaders<'a>>,
}

#[derive(Default)]
struct CaddyReqHeaders<'a> {
    origin: Option<Cow<'a, str>>,
    referer: Option<Cow<'a, str>>,
}

fn caddy_line(doc: &[u8]) -> Result<CaddyLine<'_>, JsonError> {
    let mut s = Scan::new(doc);
    let mut o = s.object()?;
    let mut l = CaddyLine::default();
    let seen = &mut 0u32;
    while let Some(k) = s.key(&mut o)? {
        match k {
            b"ts" => l.ts = s.ts(once(seen, 0, "ts")?)?,
            b"request" => {
                if let Some(mut r) = s.opt_object(once(seen, 1, "request")?)? {
                    l.request = Some(caddy_request(&mut s, &mut r)?);
                }
            }
            b"status" => l.status = s.num(once(seen, 2, "status")?)?,
            b"duration" => l.duration = s.dur(once(seen, 3, "duration")?)?,
            b"resp_headers" => {
                if let Some(mut h) = s.opt_object(once(seen, 4, "resp_headers")?)? {
                    let mut acao = None;
                    let seen = &mut 0u32;
                    while let Some(k) = s.key(&mut h)? {
                        match k {
                            b"Access-Control-Allow-Origin" => {
                                acao = s.header(once(seen, 0, "Access-Control-Allow-Origin")?)?;
                            }
                            _ => s.skip()?,
                        }
                    }
                    l.resp_headers = Some(acao);
                }
            }
            _ => s.skip()?,
        }
    }
    s.end()?;
    Ok(l)
}

fn caddy_request<'a>(
    s: &mut Scan<'a>,
    o: &mut super::jsonval::Seq,
) -> Result<CaddyRequest<'a>, JsonError> {
    let mut r = CaddyRequest::default();
    let seen = &mut 0u32;
    while let Some(k) = s.key(o)? {
        match k {
            b"remote_ip" => r.remote_ip = s.str_val(once(seen, 0, "request.remote_ip")?)?,
            b"client_ip" => r.client_ip = s.str_val(once(seen, 1, "request.client_ip")?)?,
            b"host" => r.host = s.str_val(once(seen, 2, "request.host")?)?,
            b"method" => r.method = s.str_val(once(seen, 3, "request.method")?)?,
            b"uri" => r.uri = s.str_val(once(seen, 4, "request.uri")?)?,
            b"headers" => {
                if let Some(mut h) = s.opt_object(once(seen, 5, "request.headers")?)? {
                    let mut hs = CaddyReqHeaders::default();
                    let seen = &mut 0u32;
                    while let Some(k) = s.key(&mut h)? {
                        match k {
                            b"Origin" => hs.origin = s.header(once(seen, 0, "Origin")?)?,
                            b"Referer" => hs.referer = s.header(once(seen, 1, "Referer")?)?,
                            _ => s.skip()?,
                        }
                    }
                    r.headers = Some(hs);
                }
            }
            _ => s.skip()?,
        }
    }
    Ok(r)
}

pub struct Caddy;

impl LogParser for Caddy {
    fn name(&self) -> &'static str {
        "caddy"
    }

    fn feed(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let Some(doc) = object_line(line)? else {
            return Ok(Fed::Skipped);
        };
        let l = caddy_line(doc).map_err(|e| err(&e.reason(doc)))?;
        // Caddy writes its other logs (startup, TLS, admin) to the same stream.
        let Some(req) = &l.request else {
            return Ok(Fed::Skipped);
        };
        let time = l.ts.0.ok_or_else(|| err("missing or bad ts"))?;
        let method = text(&req.method).ok_or_else(|| err("missing request.method"))?;
        let path = text(&req.uri).ok_or_else(|| err("missing request.uri"))?;
        let status = common::status_num(l.status.as_u64().ok_or_else(|| err("missing status"))?)?;
        let headers = req.headers.as_ref();
        // The header map is the origin's source of truth: when it is logged, its absence is
        // meaningful (no Origin sent), so Referer is only a fallback without a header map.
        let logs_origin = headers.is_some_and(|h| h.origin.is_some());
        let (origin, origin_derived) = origin_fields(
            logs_origin,
            headers.and_then(|h| present(&h.origin)),
            headers.and_then(|h| present(&h.referer)),
        );
        let acao = l
            .resp_headers
            .as_ref()
            .map(|h| Cow::Borrowed(text(h).unwrap_or("-")));
        sink.http(&HttpRecord {
            time,
            method: Method::parse(method.as_bytes()),
            path: Cow::Borrowed(path),
            status,
            latency_ms: l
                .duration
                .0
                .filter(|ms| ms.is_finite() && *ms >= 0.0)
                .map(|ms| ms.round().min(u32::MAX as f64) as u32),
            host: present(&req.host).map(Cow::Borrowed),
            origin,
            origin_derived,
            acao,
            instance: None,
            client: text(&req.client_ip)
                .or(text(&req.remote_ip))
                .and_then(common::present)
                .map(Cow::Borrowed),
        });
        Ok(Fed::Records(1))
    }
}

// ---------------------------------------------------------------------------------------------
// Traefik

#[derive(Default)]
struct TraefikLine<'a> {
    method: Option<Cow<'a, str>>,
    path: Option<Cow<'a, str>>,
    host: Option<Cow<'a, str>>,
    status: Num,
    duration_ns: Num,
    start_utc: Option<Cow<'a, str>>,
    time: Option<Cow<'a, str>>,
    client: Option<Cow<'a, str>>,
    origin: Option<Cow<'a, str>>,
    referer: Option<Cow<'a, str>>,
    acao: Option<Cow<'a, str>>,
    service_addr: Option<Cow<'a, str>>,
}

fn traefik_line(doc: &[u8]) -> Result<TraefikLine<'_>, JsonError> {
    let mut s = Scan::new(doc);
    let mut o = s.object()?;
    let mut l = TraefikLine::default();
    let seen = &mut 0u32;
    while let Some(k) = s.key(&mut o)? {
        match k {
            b"RequestMethod" => l.method = s.str_val(once(seen, 0, "RequestMethod")?)?,
            b"RequestPath" => l.path = s.str_val(once(seen, 1, "RequestPath")?)?,
            b"RequestHost" => l.host = s.str_val(once(seen, 2, "RequestHost")?)?,
            b"DownstreamStatus" => l.status = s.num(once(seen, 3, "DownstreamStatus")?)?,
            b"Duration" => l.duration_ns = s.num(once(seen, 4, "Duration")?)?,
            b"StartUTC" => l.start_utc = s.str_val(once(seen, 5, "StartUTC")?)?,
            b"time" => l.time = s.str_val(once(seen, 6, "time")?)?,
            b"ClientHost" => l.client = s.str_val(once(seen, 7, "ClientHost")?)?,
            b"request_Origin" => l.origin = s.str_val(once(seen, 8, "request_Origin")?)?,
            b"request_Referer" => l.referer = s.str_val(once(seen, 9, "request_Referer")?)?,
            b"downstream_Access-Control-Allow-Origin" => {
                l.acao = s.str_val(once(seen, 10, "downstream_Access-Control-Allow-Origin")?)?;
            }
            b"ServiceAddr" => l.service_addr = s.str_val(once(seen, 11, "ServiceAddr")?)?,
            _ => s.skip()?,
        }
    }
    s.end()?;
    Ok(l)
}

pub struct Traefik;

impl LogParser for Traefik {
    fn name(&self) -> &'static str {
        "traefik"
    }

    fn feed(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let Some(doc) = object_line(line)? else {
            return Ok(Fed::Skipped);
        };
        let l = traefik_line(doc).map_err(|e| err(&e.reason(doc)))?;
        let Some(method) = text(&l.method) else {
            // Traefik's own (non-access) log lines share the format.
            return Ok(Fed::Skipped);
        };
        let path = text(&l.path).ok_or_else(|| err("missing RequestPath"))?;
        let status = common::status_num(
            l.status
                .as_u64()
                .ok_or_else(|| err("missing DownstreamStatus"))?,
        )?;
        let time = text(&l.start_utc)
            .or(text(&l.time))
            .and_then(time_str)
            .ok_or_else(|| err("missing or bad StartUTC"))?;
        // Traefik keeps only the headers it is told to keep; the Origin field existing at all
        // is what says it is logged.
        let (origin, origin_derived) =
            origin_fields(l.origin.is_some(), text(&l.origin), text(&l.referer));
        sink.http(&HttpRecord {
            time,
            method: Method::parse(method.as_bytes()),
            path: Cow::Borrowed(path),
            status,
            latency_ms: l
                .duration_ns
                .as_u64()
                .map(|ns| (ns / 1_000_000).min(u32::MAX as u64) as u32),
            host: present(&l.host).map(Cow::Borrowed),
            origin,
            origin_derived,
            acao: text(&l.acao).map(Cow::Borrowed),
            instance: present(&l.service_addr).map(Cow::Borrowed),
            client: present(&l.client).map(Cow::Borrowed),
        });
        Ok(Fed::Records(1))
    }
}
