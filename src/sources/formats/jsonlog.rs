//! JSON access logs of Caddy and Traefik. Only the fields a record uses are decoded, borrowed
//! from the line; everything else is skipped by serde without allocation.

use std::borrow::Cow;

use serde::Deserialize;

use super::common::{self, MAX_JSON_DOC, err, origin_fields, prepare};
use super::jsonval::{Dur, HeaderVal, Num, Str, Ts, json_reason, time_str};
use super::{Fed, LogParser, ParseError};
use crate::event::{HttpRecord, Method, Sink};

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

// ---------------------------------------------------------------------------------------------
// Caddy

#[derive(Deserialize, Default)]
#[serde(default)]
struct CaddyLine<'a> {
    ts: Ts,
    #[serde(borrow)]
    request: Option<CaddyRequest<'a>>,
    status: Num,
    duration: Dur,
    #[serde(borrow)]
    resp_headers: Option<CaddyRespHeaders<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CaddyRequest<'a> {
    #[serde(borrow)]
    remote_ip: Str<'a>,
    #[serde(borrow)]
    client_ip: Str<'a>,
    #[serde(borrow)]
    host: Str<'a>,
    #[serde(borrow)]
    method: Str<'a>,
    #[serde(borrow)]
    uri: Str<'a>,
    #[serde(borrow)]
    headers: Option<CaddyReqHeaders<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CaddyReqHeaders<'a> {
    #[serde(borrow, rename = "Origin")]
    origin: HeaderVal<'a>,
    #[serde(borrow, rename = "Referer")]
    referer: HeaderVal<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CaddyRespHeaders<'a> {
    #[serde(borrow, rename = "Access-Control-Allow-Origin")]
    acao: HeaderVal<'a>,
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
        let l: CaddyLine = serde_json::from_slice(doc).map_err(|e| err(&json_reason(&e)))?;
        // Caddy writes its other logs (startup, TLS, admin) to the same stream.
        let Some(req) = &l.request else {
            return Ok(Fed::Skipped);
        };
        let time = l.ts.0.ok_or_else(|| err("missing or bad ts"))?;
        let method = req
            .method
            .get()
            .ok_or_else(|| err("missing request.method"))?;
        let path = req.uri.get().ok_or_else(|| err("missing request.uri"))?;
        let status = common::status_num(l.status.as_u64().ok_or_else(|| err("missing status"))?)?;
        let headers = req.headers.as_ref();
        // The header map is the origin's source of truth: when it is logged, its absence is
        // meaningful (no Origin sent), so Referer is only a fallback without a header map.
        let logs_origin = headers.is_some_and(|h| h.origin.0.is_some());
        let (origin, origin_derived) = origin_fields(
            logs_origin,
            headers.and_then(|h| present(&h.origin.0)),
            headers.and_then(|h| present(&h.referer.0)),
        );
        let acao = match &l.resp_headers {
            Some(h) => Some(match &h.acao.0 {
                Some(v) => Cow::Borrowed(v.as_ref()),
                None => Cow::Borrowed("-"),
            }),
            None => None,
        };
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
            host: req.host.get().and_then(common::present).map(Cow::Borrowed),
            origin,
            origin_derived,
            acao,
            instance: None,
            client: req
                .client_ip
                .get()
                .or(req.remote_ip.get())
                .and_then(common::present)
                .map(Cow::Borrowed),
        });
        Ok(Fed::Records(1))
    }
}

// ---------------------------------------------------------------------------------------------
// Traefik

#[derive(Deserialize, Default)]
#[serde(default)]
struct TraefikLine<'a> {
    #[serde(borrow, rename = "RequestMethod")]
    method: Str<'a>,
    #[serde(borrow, rename = "RequestPath")]
    path: Str<'a>,
    #[serde(borrow, rename = "RequestHost")]
    host: Str<'a>,
    #[serde(rename = "DownstreamStatus")]
    status: Num,
    #[serde(rename = "Duration")]
    duration_ns: Num,
    #[serde(borrow, rename = "StartUTC")]
    start_utc: Str<'a>,
    #[serde(borrow, rename = "time")]
    time: Str<'a>,
    #[serde(borrow, rename = "ClientHost")]
    client: Str<'a>,
    #[serde(borrow, rename = "request_Origin")]
    origin: Str<'a>,
    #[serde(borrow, rename = "request_Referer")]
    referer: Str<'a>,
    #[serde(borrow, rename = "downstream_Access-Control-Allow-Origin")]
    acao: Str<'a>,
    #[serde(borrow, rename = "ServiceAddr")]
    service_addr: Str<'a>,
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
        let l: TraefikLine = serde_json::from_slice(doc).map_err(|e| err(&json_reason(&e)))?;
        let Some(method) = l.method.get() else {
            // Traefik's own (non-access) log lines share the format.
            return Ok(Fed::Skipped);
        };
        let path = l.path.get().ok_or_else(|| err("missing RequestPath"))?;
        let status = common::status_num(
            l.status
                .as_u64()
                .ok_or_else(|| err("missing DownstreamStatus"))?,
        )?;
        let time = l
            .start_utc
            .get()
            .or(l.time.get())
            .and_then(time_str)
            .ok_or_else(|| err("missing or bad StartUTC"))?;
        // Traefik keeps only the headers it is told to keep; the Origin field existing at all
        // is what says it is logged.
        let (origin, origin_derived) =
            origin_fields(l.origin.0.is_some(), l.origin.get(), l.referer.get());
        sink.http(&HttpRecord {
            time,
            method: Method::parse(method.as_bytes()),
            path: Cow::Borrowed(path),
            status,
            latency_ms: l
                .duration_ns
                .as_u64()
                .map(|ns| (ns / 1_000_000).min(u32::MAX as u64) as u32),
            host: l.host.get().and_then(common::present).map(Cow::Borrowed),
            origin,
            origin_derived,
            acao: l.acao.0.clone(),
            instance: l
                .service_addr
                .get()
                .and_then(common::present)
                .map(Cow::Borrowed),
            client: l.client.get().and_then(common::present).map(Cow::Borrowed),
        });
        Ok(Fed::Records(1))
    }
}
