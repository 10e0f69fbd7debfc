//! Azure diagnostic exports (storage account blobs, Event Hub consumers): the
//! `{"records":[...]}` envelope on one line or pretty-printed over many, or one record object
//! per line. `AppServiceHTTPLogs` become HTTP records, `AppServiceAuthenticationLogs` auth
//! records; every other category is skipped.

use std::borrow::Cow;

use serde::Deserialize;

use super::auth_signature::classify_auth_message_with_status;
use super::common::{self, MAX_JSON_DOC, err, origin_fields, prepare};
use super::jsonval::{Num, Str, Ts, json_reason};
use super::{Fed, LogParser, ParseError};
use crate::event::{AuthRecord, HttpRecord, Method, Sink};

/// A record, or the envelope holding records (the same object shape serves both so that one
/// pass over the bytes decodes either).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Record<'a> {
    #[serde(borrow)]
    records: Option<Vec<Record<'a>>>,
    time: Ts,
    #[serde(rename = "TimeGenerated")]
    time_generated: Ts,
    #[serde(borrow)]
    category: Str<'a>,
    #[serde(borrow, rename = "Category")]
    category_upper: Str<'a>,
    #[serde(borrow)]
    properties: MaybeProps<'a>,
}

/// `properties` is an object for the App Service categories, but some other categories write
/// it as a string or an array; those must not sink the whole envelope.
#[derive(Default)]
struct MaybeProps<'a>(Option<Props<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for MaybeProps<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = MaybeProps<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("properties")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                Props::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|p| MaybeProps(Some(p)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(MaybeProps(None))
            }
            fn visit_str<E: serde::de::Error>(self, _v: &str) -> Result<Self::Value, E> {
                Ok(MaybeProps(None))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(MaybeProps(None))
            }
            fn visit_bool<E: serde::de::Error>(self, _v: bool) -> Result<Self::Value, E> {
                Ok(MaybeProps(None))
            }
            fn visit_u64<E: serde::de::Error>(self, _v: u64) -> Result<Self::Value, E> {
                Ok(MaybeProps(None))
            }
            fn visit_i64<E: serde::de::Error>(self, _v: i64) -> Result<Self::Value, E> {
                Ok(MaybeProps(None))
            }
            fn visit_f64<E: serde::de::Error>(self, _v: f64) -> Result<Self::Value, E> {
                Ok(MaybeProps(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Props<'a> {
    #[serde(rename = "time")]
    time: Ts,
    time_generated: Ts,
    #[serde(borrow)]
    cs_method: Str<'a>,
    #[serde(borrow)]
    cs_uri_stem: Str<'a>,
    sc_status: Num,
    time_taken: Num,
    #[serde(borrow)]
    cs_host: Str<'a>,
    #[serde(borrow)]
    referer: Str<'a>,
    #[serde(borrow, rename = "CIp")]
    c_ip: Str<'a>,
    #[serde(borrow)]
    computer_name: Str<'a>,
    #[serde(borrow)]
    operation_name: Str<'a>,
    #[serde(borrow)]
    message: Str<'a>,
    #[serde(borrow)]
    details: Str<'a>,
    status_code: Num,
}

#[derive(Default)]
pub struct AzureJson {
    buf: Vec<u8>,
    scan: BraceScan,
    /// A document outgrew the cap: its remaining lines are dropped until its braces close.
    discarding: bool,
}

/// Tracks object nesting across lines, ignoring braces inside strings.
#[derive(Default, Clone, Copy)]
struct BraceScan {
    depth: i64,
    in_str: bool,
    esc: bool,
}

impl BraceScan {
    fn feed(&mut self, b: &[u8]) {
        for &c in b {
            if self.in_str {
                if self.esc {
                    self.esc = false;
                } else if c == b'\\' {
                    self.esc = true;
                } else if c == b'"' {
                    self.in_str = false;
                }
            } else {
                match c {
                    b'"' => self.in_str = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => self.depth -= 1,
                    _ => {}
                }
            }
        }
    }
}

impl AzureJson {
    fn parse_doc(doc: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let rec: Record = serde_json::from_slice(doc).map_err(|e| err(&json_reason(&e)))?;
        match &rec.records {
            Some(list) => {
                let mut n = 0u32;
                let mut first_err = None;
                for r in list {
                    match emit(r, sink) {
                        Ok(k) => n += k,
                        Err(e) => {
                            tracing::debug!(reason = %e, "azure record skipped");
                            first_err.get_or_insert(e);
                        }
                    }
                }
                match (n, first_err) {
                    (0, Some(e)) => Err(e),
                    (0, None) => Ok(Fed::Skipped),
                    (n, _) => Ok(Fed::Records(n)),
                }
            }
            None => match emit(&rec, sink)? {
                0 => Ok(Fed::Skipped),
                n => Ok(Fed::Records(n)),
            },
        }
    }

    fn feed_fresh(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let t = line.trim_ascii();
        if t.is_empty() {
            return Ok(Fed::Skipped);
        }
        if t[0] != b'{' {
            return Err(err("not a JSON object"));
        }
        match Self::parse_doc(t, sink) {
            Err(e) if e.reason == "truncated JSON" => {
                // The start of a pretty-printed document: collect until its braces close.
                self.buf.clear();
                self.buf.extend_from_slice(line);
                self.buf.push(b'\n');
                self.scan = BraceScan::default();
                self.scan.feed(line);
                Ok(Fed::Buffered)
            }
            other => other,
        }
    }

    fn reset(&mut self) {
        self.buf.clear();
        if self.buf.capacity() > 64 * 1024 {
            self.buf.shrink_to(64 * 1024);
        }
        self.scan = BraceScan::default();
        self.discarding = false;
    }
}

impl LogParser for AzureJson {
    fn name(&self) -> &'static str {
        "azure-json"
    }

    fn feed(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let line = prepare(line, MAX_JSON_DOC)?;
        if self.buf.is_empty() && !self.discarding {
            return self.feed_fresh(line, sink);
        }
        if line.first() == Some(&b'{') {
            // A new top-level document at column 0: the one being collected never closed.
            self.reset();
            let _ = self.feed_fresh(line, sink)?;
            return Err(err("truncated JSON (document never closed)"));
        }
        self.scan.feed(line);
        if self.discarding {
            if self.scan.depth <= 0 {
                self.reset();
            }
            return Ok(Fed::Skipped);
        }
        if self.buf.len() + line.len() + 1 > MAX_JSON_DOC {
            self.buf.clear();
            self.discarding = self.scan.depth > 0;
            if !self.discarding {
                self.reset();
            }
            return Err(err("JSON document larger than 4 MB"));
        }
        self.buf.extend_from_slice(line);
        self.buf.push(b'\n');
        if self.scan.depth > 0 {
            return Ok(Fed::Buffered);
        }
        let doc = std::mem::take(&mut self.buf);
        let out = Self::parse_doc(&doc, sink);
        self.buf = doc;
        self.reset();
        out
    }

    fn finish(&mut self, _sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let pending = !self.buf.is_empty();
        self.reset();
        if pending {
            Err(err("truncated JSON at end of input"))
        } else {
            Ok(Fed::Skipped)
        }
    }
}

/// Emits one record; `Ok(0)` for categories that carry no event.
fn emit(r: &Record<'_>, sink: &mut dyn Sink) -> Result<u32, ParseError> {
    let category = r.category.get().or(r.category_upper.get()).unwrap_or("");
    let Some(p) = &r.properties.0 else {
        return Ok(0);
    };
    let is_http = category.eq_ignore_ascii_case("AppServiceHTTPLogs")
        || (category.is_empty() && p.cs_method.0.is_some());
    let is_auth = category.eq_ignore_ascii_case("AppServiceAuthenticationLogs");
    if !is_http && !is_auth {
        return Ok(0);
    }
    let time = r
        .time
        .0
        .or(r.time_generated.0)
        .or(p.time.0)
        .or(p.time_generated.0)
        .ok_or_else(|| err("record without a valid time"))?;
    if is_http {
        let method = p.cs_method.get().ok_or_else(|| err("missing CsMethod"))?;
        let path = p
            .cs_uri_stem
            .get()
            .ok_or_else(|| err("missing CsUriStem"))?;
        let status = common::status_num(
            p.sc_status
                .as_u64()
                .ok_or_else(|| err("missing ScStatus"))?,
        )?;
        let (origin, origin_derived) = origin_fields(false, None, p.referer.get());
        sink.http(&HttpRecord {
            time,
            method: Method::parse(method.as_bytes()),
            path: Cow::Borrowed(path),
            status,
            latency_ms: p.time_taken.as_u64().map(|v| v.min(u32::MAX as u64) as u32),
            host: p.cs_host.get().and_then(common::present).map(Cow::Borrowed),
            origin,
            origin_derived,
            acao: None,
            instance: p
                .computer_name
                .get()
                .and_then(common::present)
                .map(Cow::Borrowed),
            client: p.c_ip.get().and_then(common::present).map(Cow::Borrowed),
        });
        return Ok(1);
    }
    let message = p.message.get().unwrap_or("");
    let details = p.details.get().unwrap_or("");
    let status = p
        .status_code
        .as_u64()
        .and_then(|s| common::status_num(s).ok());
    let class = match classify_auth_message_with_status(message, status) {
        Some(c) => Some(c),
        None if !details.is_empty() => classify_auth_message_with_status(details, status),
        None => None,
    };
    sink.auth(&AuthRecord {
        time,
        operation: Cow::Borrowed(p.operation_name.get().unwrap_or("")),
        class,
        status,
        message: if details.is_empty() || message.contains(details) {
            Cow::Borrowed(message)
        } else {
            Cow::Owned(format!("{message} {details}"))
        },
    });
    Ok(1)
}
