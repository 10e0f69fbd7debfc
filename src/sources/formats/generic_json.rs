//! JSON lines of any shape, read through a user-supplied field mapping (dotted paths).

use std::borrow::Cow;

use serde_json::Value;

use super::common::{self, MAX_JSON_DOC, err, origin_fields, prepare};
use super::jsonval::{epoch_any, json_reason, time_str};
use super::{Fed, JsonFieldMap, LogParser, ParseError};
use crate::event::{HttpRecord, Method, Sink};

/// A dotted path split once at construction.
#[derive(Debug, Clone)]
struct Path(Vec<String>);

impl Path {
    fn new(p: &str) -> Result<Path, String> {
        let parts: Vec<String> = p.split('.').map(str::to_string).collect();
        if p.trim().is_empty() || parts.iter().any(|s| s.is_empty()) {
            return Err(format!("bad field path '{p}'"));
        }
        Ok(Path(parts))
    }

    fn get<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        let mut cur = v;
        for part in &self.0 {
            cur = match cur {
                Value::Object(m) => m.get(part)?,
                // `headers.Origin.0` indexes arrays; a bare array takes its first element.
                Value::Array(a) => match part.parse::<usize>() {
                    Ok(i) => a.get(i)?,
                    Err(_) => a.first()?.as_object()?.get(part)?,
                },
                _ => return None,
            };
        }
        Some(cur)
    }

    fn str<'v>(&self, v: &'v Value) -> Option<&'v str> {
        match self.get(v)? {
            Value::String(s) => common::present(s),
            Value::Array(a) => a.first()?.as_str().and_then(common::present),
            _ => None,
        }
    }
}

fn opt(p: &Option<String>) -> Result<Option<Path>, String> {
    p.as_deref().map(Path::new).transpose()
}

pub struct GenericJson {
    time: Path,
    method: Path,
    path: Path,
    status: Path,
    latency_ms: Option<Path>,
    host: Option<Path>,
    origin: Option<Path>,
    referer: Option<Path>,
    acao: Option<Path>,
    instance: Option<Path>,
    client: Option<Path>,
}

impl GenericJson {
    pub fn new(m: &JsonFieldMap) -> Result<GenericJson, String> {
        Ok(GenericJson {
            time: Path::new(&m.time)?,
            method: Path::new(&m.method)?,
            path: Path::new(&m.path)?,
            status: Path::new(&m.status)?,
            latency_ms: opt(&m.latency_ms)?,
            host: opt(&m.host)?,
            origin: opt(&m.origin)?,
            referer: opt(&m.referer)?,
            acao: opt(&m.acao)?,
            instance: opt(&m.instance)?,
            client: opt(&m.client)?,
        })
    }
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl LogParser for GenericJson {
    fn name(&self) -> &'static str {
        "json"
    }

    fn feed(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let line = prepare(line, MAX_JSON_DOC)?;
        let t = line.trim_ascii();
        if t.is_empty() {
            return Ok(Fed::Skipped);
        }
        if t[0] != b'{' {
            return Err(err("not a JSON object"));
        }
        let v: Value = serde_json::from_slice(t).map_err(|e| err(&json_reason(&e)))?;
        let time = match self.time.get(&v).ok_or_else(|| err("missing time field"))? {
            Value::String(s) => time_str(s),
            Value::Number(n) => n.as_f64().and_then(epoch_any),
            _ => None,
        }
        .ok_or_else(|| err("bad time"))?;
        let method = self
            .method
            .str(&v)
            .ok_or_else(|| err("missing method field"))?;
        let path = self.path.str(&v).ok_or_else(|| err("missing path field"))?;
        let status = self
            .status
            .get(&v)
            .and_then(num)
            .ok_or_else(|| err("missing status field"))?;
        if status.fract() != 0.0 || status < 0.0 {
            return Err(err("bad status"));
        }
        let status = common::status_num(status as u64)?;
        let get = |p: &Option<Path>| p.as_ref().and_then(|p| p.str(&v)).map(Cow::Borrowed);
        let (origin, origin_derived) = origin_fields(
            self.origin.is_some(),
            self.origin.as_ref().and_then(|p| p.str(&v)),
            self.referer.as_ref().and_then(|p| p.str(&v)),
        );
        let acao = self
            .acao
            .as_ref()
            .map(|p| Cow::Borrowed(p.str(&v).unwrap_or("-")));
        sink.http(&HttpRecord {
            time,
            method: Method::parse(method.as_bytes()),
            path: Cow::Borrowed(path),
            status,
            latency_ms: self
                .latency_ms
                .as_ref()
                .and_then(|p| p.get(&v))
                .and_then(num)
                .and_then(|ms| {
                    (ms.is_finite() && ms >= 0.0).then(|| ms.round().min(u32::MAX as f64) as u32)
                }),
            host: get(&self.host),
            origin,
            origin_derived,
            acao,
            instance: get(&self.instance),
            client: get(&self.client),
        });
        Ok(Fed::Records(1))
    }
}
