//! Azure diagnostic exports (storage account blobs, Event Hub consumers): the
//! `{"records":[...]}` envelope on one line or pretty-printed over many, one record object
//! per line, or one top-level array of records (`[ {...}, {...} ]`, on one line or
//! pretty-printed) as some export tools write. `AppServiceHTTPLogs` become HTTP records,
//! `AppServiceAuthenticationLogs` auth records; every other category is skipped.
//!
//! Rows of a Log Analytics query (`az monitor log-analytics query`, portal exports) are read
//! too: their columns sit at the top level instead of under `properties`, and the table name,
//! when projected, is in `Type`.

use std::borrow::Cow;

use super::auth_signature::classify_auth_message_with_status;
use super::common::{self, MAX_JSON_DOC, err, origin_fields, prepare};
use super::jsonval::{Depth, JsonError, Num, Scan, Ts, Want, once};
use super::{Fed, LogParser, ParseError};
use crate::sources::event::{AuthRecord, HttpRecord, Method, Sink};

/// A record, or the envelope holding records (one reader serves both so that one pass over
/// the bytes decodes either).
#[derive(Default)]
struct Record<'a> {
    time: Ts,
    time_generated: Ts,
    category: Option<Cow<'a, str>>,
    category_upper: Option<Cow<'a, str>>,
    /// The table name of a Log Analytics row.
    table: Option<Cow<'a, str>>,
    /// A Log Analytics row's columns, read like `properties`; boxed on the first one seen,
    /// so that diagnostic records, which have none, stay small.
    columns: Option<Box<Props<'a>>>,
    /// `properties` is an object for the App Service categories, but some other categories
    /// write it as a string or an array; those must not sink the whole envelope.
    props: Option<Props<'a>>,
}

#[derive(Default)]
struct Props<'a> {
    time: Ts,
    time_generated: Ts,
    cs_method: Option<Cow<'a, str>>,
    cs_uri_stem: Option<Cow<'a, str>>,
    sc_status: Num,
    time_taken: Num,
    cs_host: Option<Cow<'a, str>>,
    referer: Option<Cow<'a, str>>,
    c_ip: Option<Cow<'a, str>>,
    computer_name: Option<Cow<'a, str>>,
    operation_name: Option<Cow<'a, str>>,
    message: Option<Cow<'a, str>>,
    details: Option<Cow<'a, str>>,
    status_code: Num,
}

/// One document: a record, or an envelope whose `records` list is what counts.
struct Doc<'a> {
    rec: Record<'a>,
    list: Option<Vec<Record<'a>>>,
}

fn decode(doc: &[u8]) -> Result<Doc<'_>, JsonError> {
    let mut s = Scan::new(doc);
    let mut list = None;
    let rec = read_record(&mut s, Some(&mut list))?;
    s.end()?;
    Ok(Doc { rec, list })
}

/// Reads one record object. At the outer level `records` (when an array) is collected into
/// `list`; deeper down it is skipped, as nothing reads records of records.
fn read_record<'a>(
    s: &mut Scan<'a>,
    mut list: Option<&mut Option<Vec<Record<'a>>>>,
) -> Result<Record<'a>, JsonError> {
    let mut o = s.object()?;
    let mut r = Record::default();
    let mut seen = 0u32;
    let mut column_seen = 0u32;
    while let Some(k) = s.key(&mut o)? {
        match k {
            b"time" => r.time = s.ts(once(&mut seen, 0, "time")?)?,
            b"TimeGenerated" => r.time_generated = s.ts(once(&mut seen, 1, "TimeGenerated")?)?,
            b"category" => r.category = s.str_val(once(&mut seen, 2, "category")?)?,
            b"Category" => r.category_upper = s.str_val(once(&mut seen, 3, "Category")?)?,
            b"Type" => r.table = s.str_val(once(&mut seen, 6, "Type")?)?,
            b"properties" => {
                once(&mut seen, 4, "properties")?;
                r.props = read_props(s)?;
            }
            b"records" => {
                let field = once(&mut seen, 5, "records")?;
                let Some(out) = list.as_deref_mut() else {
                    s.skip()?;
                    continue;
                };
                match s.peek()? {
                    b'n' => s.skip()?,
                    b'[' => {
                        let mut a = s.array()?;
                        let mut v = Vec::new();
                        while s.elem(&mut a)? {
                            if s.peek()? != b'{' {
                                return Err(JsonError::Shape(field, Want::Records));
                            }
                            v.push(read_record(s, None)?);
                        }
                        *out = Some(v);
                    }
                    _ => {
                        return Err(JsonError::Shape(field, Want::Array));
                    }
                }
            }
            // `time` and `TimeGenerated` were taken above: the row's own. Column names are
            // capitalised, and the keys of diagnostic records are not: those skip the lookup.
            _ if !k.first().is_some_and(u8::is_ascii_uppercase) => s.skip()?,
            _ => match prop_index(k) {
                Some(i) => {
                    let columns = r.columns.get_or_insert_with(Box::default);
                    read_prop(i, s, columns, &mut column_seen)?;
                }
                None => s.skip()?,
            },
        }
    }
    Ok(r)
}

fn read_props<'a>(s: &mut Scan<'a>) -> Result<Option<Props<'a>>, JsonError> {
    if s.peek()? != b'{' {
        s.skip()?;
        return Ok(None);
    }
    let mut o = s.object()?;
    let mut p = Props::default();
    let mut seen = 0u32;
    while let Some(k) = s.key(&mut o)? {
        match prop_index(k) {
            Some(i) => read_prop(i, s, &mut p, &mut seen)?,
            None => s.skip()?,
        }
    }
    Ok(Some(p))
}

/// A number for each key a record uses (also its bit in a `seen` mask), so that the key's
/// bytes, borrowed from the scanner, are let go before its value is read.
#[inline(always)]
fn prop_index(k: &[u8]) -> Option<usize> {
    Some(match k {
        b"CsMethod" => 0,
        b"CsUriStem" => 1,
        b"ScStatus" => 2,
        b"TimeTaken" => 3,
        b"CsHost" => 4,
        b"Referer" => 5,
        b"CIp" => 6,
        b"ComputerName" => 7,
        b"time" => 8,
        b"TimeGenerated" => 9,
        b"OperationName" => 10,
        b"Message" => 11,
        b"Details" => 12,
        b"StatusCode" => 13,
        _ => return None,
    })
}

/// Reads the value of field `i` (see [`prop_index`]) into `p`.
#[inline(always)]
fn read_prop<'a>(
    i: usize,
    s: &mut Scan<'a>,
    p: &mut Props<'a>,
    seen: &mut u32,
) -> Result<(), JsonError> {
    match i {
        0 => p.cs_method = s.str_val(once(seen, 0, "CsMethod")?)?,
        1 => p.cs_uri_stem = s.str_val(once(seen, 1, "CsUriStem")?)?,
        2 => p.sc_status = s.num(once(seen, 2, "ScStatus")?)?,
        3 => p.time_taken = s.num(once(seen, 3, "TimeTaken")?)?,
        4 => p.cs_host = s.str_val(once(seen, 4, "CsHost")?)?,
        5 => p.referer = s.str_val(once(seen, 5, "Referer")?)?,
        6 => p.c_ip = s.str_val(once(seen, 6, "CIp")?)?,
        7 => p.computer_name = s.str_val(once(seen, 7, "ComputerName")?)?,
        8 => p.time = s.ts(once(seen, 8, "properties.time")?)?,
        9 => p.time_generated = s.ts(once(seen, 9, "TimeGenerated")?)?,
        10 => p.operation_name = s.str_val(once(seen, 10, "OperationName")?)?,
        11 => p.message = s.str_val(once(seen, 11, "Message")?)?,
        12 => p.details = s.str_val(once(seen, 12, "Details")?)?,
        _ => p.status_code = s.num(once(seen, 13, "StatusCode")?)?,
    }
    Ok(())
}

/// Records and the first failure of a run of records (an envelope, an array's elements).
#[derive(Default)]
struct Outcome {
    records: u32,
    first_err: Option<ParseError>,
}

impl Outcome {
    fn note(&mut self, r: Result<Fed, ParseError>) {
        match r {
            Ok(Fed::Records(n)) => self.records += n,
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(reason = %e, "azure record skipped");
                self.first_err.get_or_insert(e);
            }
        }
    }

    /// Records win over errors: a line that produced events is not a failed line, and the
    /// skipped records are in the debug log.
    fn fed(self, idle: Fed) -> Result<Fed, ParseError> {
        match (self.records, self.first_err) {
            (0, Some(e)) => Err(e),
            (0, None) => Ok(idle),
            (n, _) => Ok(Fed::Records(n)),
        }
    }
}

/// Between two elements of a top-level array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Gap {
    /// Right after `[`: an element or `]`.
    #[default]
    Open,
    /// After `,`: an element.
    Comma,
    /// After an element: `,` or `]`.
    Element,
}

/// Where the reader is inside a top-level array.
#[derive(Debug, Clone, Copy, Default)]
struct ArrayPos {
    gap: Gap,
    /// Inside an element; its bytes from earlier lines are in `buf` (unless discarding).
    in_elem: bool,
    /// The open element began its line and went on after its brace: one element per line,
    /// so a line starting with another brace means this one was cut off. (Pretty-printed
    /// elements put their opening brace alone on a line.)
    elem_flat: bool,
}

#[derive(Default)]
pub struct AzureJson {
    /// Lines of a document (or array element) that spans lines.
    buf: Vec<u8>,
    scan: Depth,
    /// A document outgrew the cap: its remaining lines are dropped until its braces close.
    discarding: bool,
    /// Set while inside a top-level array, whose elements are read one at a time so that an
    /// export of any length needs memory for one record only.
    array: Option<ArrayPos>,
}

impl AzureJson {
    fn parse_doc(doc: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let d = decode(doc).map_err(|e| err(&e.reason(doc)))?;
        Self::emit_doc(&d, sink)
    }

    fn emit_doc(d: &Doc<'_>, sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        match &d.list {
            Some(list) => {
                let mut out = Outcome::default();
                for r in list {
                    out.note(emit(r, sink));
                }
                out.fed(Fed::Skipped)
            }
            None => emit(&d.rec, sink),
        }
    }

    fn feed_fresh(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let t = line.trim_ascii();
        if t.is_empty() {
            return Ok(Fed::Skipped);
        }
        if t[0] == b'[' {
            self.array = Some(ArrayPos::default());
            let open = line.len() - line.trim_ascii_start().len();
            return self.feed_array(&line[open + 1..], sink);
        }
        if t[0] != b'{' {
            return Err(err("not a JSON object"));
        }
        match decode(t) {
            Ok(d) => Self::emit_doc(&d, sink),
            Err(JsonError::Truncated) => {
                // The start of a pretty-printed document: collect until its braces close.
                self.buf.clear();
                self.buf.extend_from_slice(line);
                self.buf.push(b'\n');
                self.scan = Depth::default();
                self.scan.feed(line);
                Ok(Fed::Buffered)
            }
            Err(e) => Err(err(&e.reason(t))),
        }
    }

    /// One line inside a top-level array: elements that close on it are decoded (straight
    /// from the line when they lie wholly inside it), an element left open is kept in `buf`.
    fn feed_array(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let mut pos = self.array.unwrap_or_default();
        let mut out = Outcome::default();
        let mut closed_any = false;
        let mut i = 0;
        while i < line.len() {
            if pos.in_elem {
                let rest = &line[i..];
                let Some(k) = self.scan.close(rest) else {
                    if !self.discarding {
                        if self.buf.len() + rest.len() + 1 > MAX_JSON_DOC {
                            self.buf.clear();
                            self.discarding = true;
                            out.note(Err(err("JSON document larger than 4 MB")));
                        } else {
                            self.buf.extend_from_slice(rest);
                            self.buf.push(b'\n');
                        }
                    }
                    break;
                };
                let end = i + k;
                pos.in_elem = false;
                pos.gap = Gap::Element;
                closed_any = true;
                if self.discarding {
                    self.discarding = false;
                } else if self.buf.is_empty() {
                    out.note(Self::parse_doc(&line[i..end], sink));
                } else {
                    self.buf.extend_from_slice(&line[i..end]);
                    let doc = std::mem::take(&mut self.buf);
                    out.note(Self::parse_doc(&doc, sink));
                    self.buf = doc;
                    self.shrink();
                }
                i = end;
                continue;
            }
            match line[i] {
                b' ' | b'\t' | b'\r' | b'\n' => i += 1,
                b',' => {
                    if pos.gap != Gap::Element {
                        out.note(Err(err("invalid JSON array: misplaced ','")));
                    }
                    pos.gap = Gap::Comma;
                    i += 1;
                }
                b']' => {
                    if pos.gap == Gap::Comma {
                        out.note(Err(err("invalid JSON array: ',' before ']'")));
                    }
                    self.array = None;
                    self.shrink();
                    if !line[i + 1..].trim_ascii().is_empty() {
                        out.note(Err(err("invalid JSON: text after the array")));
                    }
                    return out.fed(Fed::Skipped);
                }
                b'{' | b'[' => {
                    if pos.gap == Gap::Element {
                        out.note(Err(err("invalid JSON array: missing ','")));
                    }
                    pos.in_elem = true;
                    pos.elem_flat =
                        line[..i].trim_ascii().is_empty() && !line[i + 1..].trim_ascii().is_empty();
                    self.scan = Depth::default();
                    self.buf.clear();
                }
                _ => {
                    // A scalar where a record belongs: reported, then passed over up to the
                    // next separator (quoted text whole, so its brackets do not count).
                    out.note(Err(err("array element is not an object")));
                    pos.gap = Gap::Element;
                    if line[i] == b'"' {
                        let mut q = Scan::new(&line[i..]);
                        i = match q.raw_str() {
                            Ok(_) => i + q.pos(),
                            Err(_) => line.len(),
                        };
                    } else {
                        i += line[i..]
                            .iter()
                            .position(|c| b",]{[ \t".contains(c))
                            .unwrap_or(line.len() - i);
                    }
                }
            }
        }
        self.array = Some(pos);
        out.fed(if closed_any || !pos.in_elem && pos.gap == Gap::Element {
            Fed::Skipped
        } else {
            Fed::Buffered
        })
    }

    fn shrink(&mut self) {
        self.buf.clear();
        if self.buf.capacity() > 64 * 1024 {
            self.buf.shrink_to(64 * 1024);
        }
    }

    fn reset(&mut self) {
        self.shrink();
        self.scan = Depth::default();
        self.discarding = false;
    }
}

impl LogParser for AzureJson {
    fn name(&self) -> &'static str {
        "azure-json"
    }

    fn feed(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let line = prepare(line, MAX_JSON_DOC)?;
        if let Some(mut pos) = self.array {
            let first = line.trim_ascii_start().first();
            // Elements are objects, so an opening bracket first on a line (at column 0 inside
            // an element, where nested values are indented) starts a new array: the one being
            // read was cut off, as when its file is replaced.
            let opens = if pos.in_elem {
                line.first() == Some(&b'[')
            } else {
                first == Some(&b'[')
            };
            if opens {
                self.array = None;
                self.reset();
                let _ = self.feed_fresh(line, sink)?;
                return Err(err("truncated JSON (array never closed)"));
            }
            // Likewise a brace opening a line ends an element left open: at column 0 (nested
            // values are indented) or after an element that began its line with content.
            if pos.in_elem && first == Some(&b'{') && (pos.elem_flat || line[0] == b'{') {
                pos.in_elem = false;
                pos.gap = Gap::Comma;
                self.array = Some(pos);
                self.reset();
                let _ = self.feed_array(line, sink)?;
                return Err(err("truncated JSON (array element never closed)"));
            }
            return self.feed_array(line, sink);
        }
        if self.buf.is_empty() && !self.discarding {
            return self.feed_fresh(line, sink);
        }
        if matches!(line.first(), Some(b'{' | b'[')) {
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
        if let Some(pos) = &mut self.array {
            // Input paused or ended inside the array. Between elements nothing is lost, and
            // the array stays open so that a source that resumes keeps reading elements; an
            // element cut short is dropped.
            if !pos.in_elem {
                return Ok(Fed::Skipped);
            }
            pos.in_elem = false;
            pos.gap = Gap::Element;
            self.reset();
            return Err(err("truncated JSON at end of input"));
        }
        let pending = !self.buf.is_empty();
        self.reset();
        if pending {
            Err(err("truncated JSON at end of input"))
        } else {
            Ok(Fed::Skipped)
        }
    }
}

fn text<'b>(v: &'b Option<Cow<'_, str>>) -> Option<&'b str> {
    v.as_deref()
}

/// Emits one record; `Skipped` for categories that carry no event.
fn emit(r: &Record<'_>, sink: &mut dyn Sink) -> Result<Fed, ParseError> {
    let category = text(&r.category)
        .or(text(&r.category_upper))
        .or(text(&r.table))
        .unwrap_or("");
    let Some(p) = r.props.as_ref().or(r.columns.as_deref()) else {
        return Ok(Fed::Skipped);
    };
    let is_http = category.eq_ignore_ascii_case("AppServiceHTTPLogs")
        || (category.is_empty() && p.cs_method.is_some());
    let is_auth = category.eq_ignore_ascii_case("AppServiceAuthenticationLogs");
    if !is_http && !is_auth {
        return Ok(Fed::Skipped);
    }
    let time = r
        .time
        .0
        .or(r.time_generated.0)
        .or(p.time.0)
        .or(p.time_generated.0)
        .ok_or_else(|| err("record without a valid time"))?;
    if is_http {
        let method = text(&p.cs_method).ok_or_else(|| err("missing CsMethod"))?;
        let path = text(&p.cs_uri_stem).ok_or_else(|| err("missing CsUriStem"))?;
        let status = common::status_num(
            p.sc_status
                .as_u64()
                .ok_or_else(|| err("missing ScStatus"))?,
        )?;
        let (origin, origin_derived) = origin_fields(false, None, text(&p.referer));
        sink.http(&HttpRecord {
            time,
            method: Method::parse(method.as_bytes()),
            path: Cow::Borrowed(path),
            status,
            latency_ms: p.time_taken.as_u64().map(|v| v.min(u32::MAX as u64) as u32),
            host: text(&p.cs_host)
                .and_then(common::present)
                .map(Cow::Borrowed),
            origin,
            origin_derived,
            acao: None,
            instance: text(&p.computer_name)
                .and_then(common::present)
                .map(Cow::Borrowed),
            client: text(&p.c_ip).and_then(common::present).map(Cow::Borrowed),
        });
        return Ok(Fed::Records(1));
    }
    let message = text(&p.message).unwrap_or("");
    let details = text(&p.details).unwrap_or("");
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
        operation: Cow::Borrowed(text(&p.operation_name).unwrap_or("")),
        class,
        status,
        message: if details.is_empty() || message.contains(details) {
            Cow::Borrowed(message)
        } else {
            Cow::Owned(format!("{message} {details}"))
        },
    });
    Ok(Fed::Records(1))
}
