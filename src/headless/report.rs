//! The headless report: what the store holds after sources were read to their end, as a
//! serialisable model with JSON, plain-text and Markdown renderings.
//!
//! JSON shape (`corstop report --format json`), keys in snake_case:
//!
//! ```text
//! {
//!   "generated_at": "2026-04-04T11:00:00Z",        // wall clock when built
//!   "first_event": "2026-04-04T10:31:02Z" | null,  // event-time range of everything read
//!   "last_event": "2026-04-04T10:58:40Z" | null,
//!   "sources": [{
//!     "label": "access.log", "format": "combined" | null, "state": "eof",
//!     "lines": 1200, "bytes": 180000, "http_events": 1180, "auth_events": 0,
//!     "skipped": 4, "parse_errors": 16,
//!     "last_error": {"sample": "<redacted, truncated line>", "reason": "bad status"} | null
//!   }],
//!   "requests": {                                  // all requests, route × method × status
//!     "total": 1180,
//!     "rows": [{"route": "/api/orders/{id}", "method": "OPTIONS", "status": 401, "count": 310}],
//!     "omitted_rows": 0, "omitted_count": 0        // past the 500-row cap, summed
//!   },
//!   "failures_by_origin": {                        // calling origin × route with failures
//!     "rows": [{
//!       "origin": "https://app.contoso.com" | "(none)" | "(other)",
//!       "origin_derived": false,                   // true: origin taken from the Referer
//!       "route": "/api/orders",
//!       "requests": 400,                           // all requests of this origin × route
//!       "failures": 120,                           // status >= 400, any method
//!       "options_requests": 200,
//!       "options_failures": 110,                   // OPTIONS answered outside 2xx (3xx too)
//!       "acao_multiple": 0                         // responses with a doubled ACAO header
//!     }],
//!     "omitted_rows": 0
//!   },
//!   "auth_failures": {
//!     "total": 42,
//!     "by_class": [{"class": "expired", "count": 40}, ...]  // every class, fixed order
//!   },
//!   "dropped": {"too_old": 0, "future": 0},        // events outside the store's time window
//!   "folded": {                                    // names past the store's caps
//!     "routes_other_events": 0, "routes_other_distinct": 0,
//!     "origins_other_events": 0, "origins_other_distinct": 0,
//!     "totals_folded": 0
//!   }
//! }
//! ```
//!
//! The full report (`corstop report --format json`) adds the diagnosis beside these counts:
//! `incidents`, `bursts`, `triage`, `alerts` (the alert conditions with their SLIs) and
//! `status`, the one status rule's verdict (`crate::analysis::status`):
//!
//! ```text
//! "status": {
//!   "level": "DEGRADED",                           // PAGE | DEGRADED | OK
//!   "reasons": [{"level": "DEGRADED", "key": "source:http.log",
//!                "text": "http.log: cannot open: Permission denied (os error 13)",
//!                "since": null, "for_ms": null}]  // worst first; empty when OK
//! }
//! ```
//!
//! Counts come from the store's cumulative totals, which are not limited by retention, so a
//! report over a week-old file still counts every request it parsed.
//!
//! One file, past the usual 700 lines: the report's JSON keys and the table that prints them
//! are defined together so the two cannot drift.

use std::fmt::Write as _;
use std::io::BufRead;

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::model::text::{fit, wrap};
use crate::model::time::{EpochMs, format_datetime, format_rfc3339, now_ms};
use crate::sources::event::{AcaoSeen, AuthClass, Method, Sink, SourceId};
use crate::sources::formats::{Fed, LogParser, ParseError};
use crate::store::{NO_ORIGIN, Store, StoreSink};

/// Most `requests` rows listed; the rest is summed into `omitted_*`.
pub const MAX_REQUEST_ROWS: usize = 500;
/// Most `failures_by_origin` rows listed.
pub const MAX_FAILURE_ROWS: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Instants; RFC 3339 in UTC in the JSON, the display zone in the text formats.
    #[serde(serialize_with = "utc")]
    pub generated_at: EpochMs,
    #[serde(serialize_with = "utc_opt")]
    pub first_event: Option<EpochMs>,
    #[serde(serialize_with = "utc_opt")]
    pub last_event: Option<EpochMs>,
    pub sources: Vec<SourceReport>,
    pub requests: Requests,
    pub failures_by_origin: OriginFailures,
    pub auth_failures: AuthFailures,
    pub dropped: Dropped,
    pub folded: Folded,
}

fn utc<S: serde::Serializer>(t: &EpochMs, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_rfc3339(*t))
}

fn utc_opt<S: serde::Serializer>(t: &Option<EpochMs>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => utc(t, s),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceReport {
    pub label: String,
    pub format: Option<&'static str>,
    pub state: String,
    pub lines: u64,
    pub bytes: u64,
    pub http_events: u64,
    pub auth_events: u64,
    pub skipped: u64,
    pub parse_errors: u64,
    pub last_error: Option<LastError>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastError {
    pub sample: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Requests {
    pub total: u64,
    pub rows: Vec<RequestRow>,
    pub omitted_rows: u64,
    pub omitted_count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRow {
    pub route: String,
    pub method: &'static str,
    pub status: u16,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OriginFailures {
    pub rows: Vec<OriginFailureRow>,
    pub omitted_rows: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OriginFailureRow {
    pub origin: String,
    pub origin_derived: bool,
    pub route: String,
    pub requests: u64,
    pub failures: u64,
    pub options_requests: u64,
    pub options_failures: u64,
    pub acao_multiple: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthFailures {
    pub total: u64,
    pub by_class: Vec<AuthClassCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthClassCount {
    pub class: AuthClass,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dropped {
    pub too_old: u64,
    pub future: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Folded {
    pub routes_other_events: u64,
    pub routes_other_distinct: u64,
    /// The distinct-name count reached its cap: it is a floor, not exact.
    pub routes_other_distinct_capped: bool,
    pub origins_other_events: u64,
    pub origins_other_distinct: u64,
    pub origins_other_distinct_capped: bool,
    pub totals_folded: u64,
}

/// Builds the report as of now.
pub fn build(store: &Store) -> Report {
    build_at(store, now_ms())
}

#[derive(Default)]
struct OriginAgg {
    requests: u64,
    failures: u64,
    options_requests: u64,
    options_failures: u64,
    acao_multiple: u64,
}

/// Builds the report with an explicit `generated_at` (deterministic output for tests).
pub fn build_at(store: &Store, generated_at: EpochMs) -> Report {
    let mut by_rms: FxHashMap<(u16, Method, u16), u64> = FxHashMap::default();
    let mut by_origin: FxHashMap<(u16, bool, u16), OriginAgg> = FxHashMap::default();
    let mut total = 0u64;
    for (k, &n) in store.totals() {
        total += n;
        *by_rms.entry((k.route, k.method, k.status)).or_insert(0) += n;
        let agg = by_origin
            .entry((k.origin, k.origin_derived, k.route))
            .or_default();
        agg.requests += n;
        if k.status >= 400 {
            agg.failures += n;
        }
        if k.method == Method::Options {
            agg.options_requests += n;
            if !(200..=299).contains(&k.status) {
                agg.options_failures += n;
            }
        }
        if k.acao == AcaoSeen::Multiple {
            agg.acao_multiple += n;
        }
    }

    let mut rows: Vec<RequestRow> = by_rms
        .into_iter()
        .map(|((route, method, status), count)| RequestRow {
            route: store.route_name(route).to_string(),
            method: method.as_str(),
            status,
            count,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.route.cmp(&b.route))
            .then_with(|| a.method.cmp(b.method))
            .then_with(|| a.status.cmp(&b.status))
    });
    let (mut omitted_rows, mut omitted_count) = (0, 0);
    if rows.len() > MAX_REQUEST_ROWS {
        for r in rows.drain(MAX_REQUEST_ROWS..) {
            omitted_rows += 1;
            omitted_count += r.count;
        }
    }

    let mut failures: Vec<OriginFailureRow> = by_origin
        .into_iter()
        .filter(|(_, a)| a.failures > 0 || a.options_failures > 0)
        .map(|((origin, derived, route), a)| OriginFailureRow {
            origin: if origin == NO_ORIGIN {
                "(none)".to_string()
            } else {
                store.origin_name(origin).to_string()
            },
            origin_derived: derived,
            route: store.route_name(route).to_string(),
            requests: a.requests,
            failures: a.failures,
            options_requests: a.options_requests,
            options_failures: a.options_failures,
            acao_multiple: a.acao_multiple,
        })
        .collect();
    failures.sort_by(|a, b| {
        (b.failures + b.options_failures)
            .cmp(&(a.failures + a.options_failures))
            .then_with(|| a.origin.cmp(&b.origin))
            .then_with(|| a.route.cmp(&b.route))
            .then_with(|| a.origin_derived.cmp(&b.origin_derived))
    });
    let failures_omitted = failures.len().saturating_sub(MAX_FAILURE_ROWS) as u64;
    failures.truncate(MAX_FAILURE_ROWS);

    let mut by_class = [0u64; AuthClass::COUNT];
    for s in store.sources() {
        for (acc, n) in by_class.iter_mut().zip(s.auth_by_class.iter()) {
            *acc += n;
        }
    }

    Report {
        generated_at,
        first_event: store.earliest_event_time,
        last_event: store.latest_event_time,
        sources: store
            .sources()
            .iter()
            .map(|s| SourceReport {
                label: s.label.clone(),
                format: s.format,
                state: s.state.clone(),
                lines: s.lines,
                bytes: s.bytes,
                http_events: s.http_events,
                auth_events: s.auth_events,
                skipped: s.skipped,
                parse_errors: s.parse_errors,
                last_error: s.last_error.as_ref().map(|(sample, reason)| LastError {
                    sample: sample.clone(),
                    reason: reason.clone(),
                }),
            })
            .collect(),
        requests: Requests {
            total,
            rows,
            omitted_rows,
            omitted_count,
        },
        failures_by_origin: OriginFailures {
            rows: failures,
            omitted_rows: failures_omitted,
        },
        auth_failures: AuthFailures {
            total: by_class.iter().sum(),
            by_class: AuthClass::ALL
                .iter()
                .map(|&class| AuthClassCount {
                    class,
                    count: by_class[class as usize],
                })
                .collect(),
        },
        dropped: Dropped {
            too_old: store.dropped_too_old,
            future: store.dropped_future,
        },
        folded: Folded {
            routes_other_events: store.routes.other_events,
            routes_other_distinct: store.routes.other_distinct() as u64,
            routes_other_distinct_capped: store.routes.other_distinct_capped(),
            origins_other_events: store.origins.other_events,
            origins_other_distinct: store.origins.other_distinct() as u64,
            origins_other_distinct_capped: store.origins.other_distinct_capped(),
            totals_folded: store.totals_folded(),
        },
    }
}

/// Pretty-printed JSON.
pub fn to_json(report: &Report) -> String {
    // The model holds only strings, numbers and enums: serialisation cannot fail.
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

fn time_range(r: &Report) -> String {
    match (r.first_event, r.last_event) {
        (Some(a), Some(b)) => format!("{} .. {}", format_datetime(a), format_datetime(b)),
        _ => "no events".to_string(),
    }
}

/// Which zone the times of a text report are in, when it is not UTC (UTC times end in `Z`).
fn zone_note() -> String {
    match crate::model::zone::display() {
        crate::model::zone::Zone::Utc => String::new(),
        zone => format!(" (times in {zone})"),
    }
}

/// Plain text for a terminal, at most 80 columns wide.
pub fn to_table(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "corstop report, generated {}{}",
        format_datetime(r.generated_at),
        zone_note()
    );
    let _ = writeln!(o, "events: {}", time_range(r));

    let _ = writeln!(o, "\nSOURCES");
    let _ = writeln!(
        o,
        "{:<24} {:<15} {:>8} {:>8} {:>6} {:>6} {:>6}",
        "source", "format", "lines", "http", "auth", "skip", "errors"
    );
    for s in &r.sources {
        let _ = writeln!(
            o,
            "{:<24} {:<15} {:>8} {:>8} {:>6} {:>6} {:>6}",
            fit(&s.label, 24),
            fit(s.format.unwrap_or("?"), 15),
            s.lines,
            s.http_events,
            s.auth_events,
            s.skipped,
            s.parse_errors
        );
        if let Some(e) = &s.last_error {
            let _ = writeln!(o, "  last error: {}", fit(&e.reason, 66));
            let _ = writeln!(o, "    {}", fit(&e.sample, 76));
        }
    }

    let _ = writeln!(o, "\nREQUESTS ({} total)", r.requests.total);
    let _ = writeln!(
        o,
        "{:<50} {:<7} {:>6} {:>13}",
        "route", "method", "status", "count"
    );
    for row in &r.requests.rows {
        let _ = writeln!(
            o,
            "{:<50} {:<7} {:>6} {:>13}",
            fit(&row.route, 50),
            row.method,
            row.status,
            row.count
        );
    }
    if r.requests.omitted_rows > 0 {
        let _ = writeln!(
            o,
            "(other: {} rows, {} requests)",
            r.requests.omitted_rows, r.requests.omitted_count
        );
    }

    let _ = writeln!(
        o,
        "\nFAILURES BY ORIGIN (failures: status >= 400; opt-fail: OPTIONS not 2xx)"
    );
    let _ = writeln!(
        o,
        "{:<28} {:<24} {:>8} {:>8} {:>8}",
        "origin", "route", "failures", "opt-fail", "requests"
    );
    let mut any_derived = false;
    let mut any_doubled = false;
    for row in &r.failures_by_origin.rows {
        any_derived |= row.origin_derived;
        any_doubled |= row.acao_multiple > 0;
        let mark = match (row.origin_derived, row.acao_multiple > 0) {
            (true, true) => "*!",
            (true, false) => "*",
            (false, true) => "!",
            (false, false) => "",
        };
        let origin = fit(&row.origin, 28 - mark.len());
        let _ = writeln!(
            o,
            "{:<28} {:<24} {:>8} {:>8} {:>8}",
            format!("{origin}{mark}"),
            fit(&row.route, 24),
            row.failures,
            row.options_failures,
            row.requests
        );
    }
    if r.failures_by_origin.rows.is_empty() {
        let _ = writeln!(o, "(none)");
    }
    if r.failures_by_origin.omitted_rows > 0 {
        let _ = writeln!(o, "(+{} more rows)", r.failures_by_origin.omitted_rows);
    }
    if any_derived {
        let _ = writeln!(
            o,
            "* origin derived from the Referer (the log has no Origin field)"
        );
    }
    if any_doubled {
        let _ = writeln!(
            o,
            "! responses with a doubled Access-Control-Allow-Origin header"
        );
    }

    let _ = writeln!(o, "\nAUTH FAILURES ({} total)", r.auth_failures.total);
    for c in r.auth_failures.by_class.iter().filter(|c| c.count > 0) {
        let _ = writeln!(o, "{:<24} {:>10}", c.class.as_str(), c.count);
    }

    let _ = writeln!(
        o,
        "\ndropped: {} too old, {} in the future",
        r.dropped.too_old, r.dropped.future
    );
    let f = &r.folded;
    let _ = writeln!(
        o,
        "folded into (other): routes {} events ({}{} names)",
        f.routes_other_events,
        f.routes_other_distinct,
        if f.routes_other_distinct_capped {
            "+"
        } else {
            ""
        }
    );
    let _ = writeln!(
        o,
        "                     origins {} events ({}{} names)",
        f.origins_other_events,
        f.origins_other_distinct,
        if f.origins_other_distinct_capped {
            "+"
        } else {
            ""
        }
    );
    let _ = writeln!(o, "                     totals {} events", f.totals_folded);
    o
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// GitHub-flavoured Markdown (incident notes, tickets).
pub fn to_markdown(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# corstop report\n");
    let _ = writeln!(
        o,
        "Generated {}; events {}{}.\n",
        format_datetime(r.generated_at),
        time_range(r),
        zone_note()
    );

    let _ = writeln!(o, "## Sources\n");
    let _ = writeln!(
        o,
        "| source | format | lines | http | auth | skipped | errors | last error |"
    );
    let _ = writeln!(o, "|---|---|---:|---:|---:|---:|---:|---|");
    for s in &r.sources {
        let last = s
            .last_error
            .as_ref()
            .map(|e| format!("{}: `{}`", md(&e.reason), md(&e.sample).replace('`', "'")))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            md(&s.label),
            s.format.unwrap_or("?"),
            s.lines,
            s.http_events,
            s.auth_events,
            s.skipped,
            s.parse_errors,
            last
        );
    }

    let _ = writeln!(o, "\n## Requests ({} total)\n", r.requests.total);
    let _ = writeln!(o, "| route | method | status | count |");
    let _ = writeln!(o, "|---|---|---:|---:|");
    for row in &r.requests.rows {
        let _ = writeln!(
            o,
            "| `{}` | {} | {} | {} |",
            md(&row.route),
            row.method,
            row.status,
            row.count
        );
    }
    if r.requests.omitted_rows > 0 {
        let _ = writeln!(
            o,
            "| (other: {} rows) | | | {} |",
            r.requests.omitted_rows, r.requests.omitted_count
        );
    }

    let _ = writeln!(o, "\n## Failures by origin\n");
    let _ = writeln!(
        o,
        "| origin | from Referer | route | failures (>= 400) | OPTIONS not 2xx | requests | doubled ACAO |"
    );
    let _ = writeln!(o, "|---|---|---|---:|---:|---:|---:|");
    for row in &r.failures_by_origin.rows {
        let _ = writeln!(
            o,
            "| {} | {} | `{}` | {} | {} | {} | {} |",
            md(&row.origin),
            if row.origin_derived { "yes" } else { "no" },
            md(&row.route),
            row.failures,
            row.options_failures,
            row.requests,
            row.acao_multiple
        );
    }

    let _ = writeln!(o, "\n## Auth failures ({} total)\n", r.auth_failures.total);
    let _ = writeln!(o, "| class | count |");
    let _ = writeln!(o, "|---|---:|");
    for c in &r.auth_failures.by_class {
        let _ = writeln!(o, "| {} | {} |", c.class.as_str(), c.count);
    }
    let f = &r.folded;
    let _ = writeln!(
        o,
        "\nDropped: {} too old, {} in the future. Folded into `(other)`: routes {} events, origins {} events, totals {}.",
        r.dropped.too_old,
        r.dropped.future,
        f.routes_other_events,
        f.origins_other_events,
        f.totals_folded
    );
    o
}

/// What [`feed_reader`] / [`feed_all`] read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedCounts {
    pub lines: u64,
    pub records: u64,
    pub skipped: u64,
    pub errors: u64,
}

/// Longest line [`feed_reader`] hands to a parser; the rest of a longer line is read and
/// dropped, so one corrupt multi-gigabyte "line" cannot exhaust memory.
pub const MAX_READ_LINE: usize = 16 * 1024 * 1024;

/// Reads a source to its end straight into the store (the headless `report` path): every
/// line goes through the parser, lines, bytes, skips and parse errors are counted on the
/// source the way a tailing source counts them, and the latest error is kept as a sample.
pub fn feed_reader(
    store: &mut Store,
    source: SourceId,
    parser: &mut dyn LogParser,
    reader: &mut dyn BufRead,
) -> std::io::Result<FeedCounts> {
    let mut counts = FeedCounts::default();
    let mut line: Vec<u8> = Vec::with_capacity(4096);
    let mut bytes = 0u64;
    let mut last_error: Option<(Vec<u8>, String)> = None;
    loop {
        line.clear();
        let (read, complete, overlong) = read_line_capped(reader, &mut line)?;
        if read == 0 {
            break;
        }
        bytes += read as u64;
        counts.lines += 1;
        let fed = if overlong {
            Err(ParseError::new(format!(
                "line longer than {MAX_READ_LINE} bytes"
            )))
        } else {
            let mut sink = StoreSink {
                store: &mut *store,
                source,
            };
            parser.feed(&line, &mut sink as &mut dyn Sink)
        };
        tally(fed, Some(&line), &mut counts, &mut last_error);
        if !complete {
            break;
        }
    }
    let fin = {
        let mut sink = StoreSink {
            store: &mut *store,
            source,
        };
        parser.finish(&mut sink)
    };
    tally(fin, None, &mut counts, &mut last_error);
    if let Some((sample, reason)) = &last_error {
        store.note_parse_error(source, sample, reason);
        // note_parse_error counted the sampled error; the others are added here.
        store.source_mut(source).parse_errors += counts.errors.saturating_sub(1);
    }
    store.add_source_lines(source, counts.lines, bytes, counts.skipped);
    Ok(counts)
}

/// [`feed_reader`] over text already in memory.
pub fn feed_all(
    store: &mut Store,
    source: SourceId,
    parser: &mut dyn LogParser,
    data: &[u8],
) -> FeedCounts {
    let mut reader = data;
    // Reading from a slice cannot fail.
    feed_reader(store, source, parser, &mut reader).unwrap_or_default()
}

/// Counts one outcome; `line` is `None` for the final `finish`, which is not a line.
fn tally(
    fed: Result<Fed, ParseError>,
    line: Option<&[u8]>,
    counts: &mut FeedCounts,
    last_error: &mut Option<(Vec<u8>, String)>,
) {
    match fed {
        Ok(Fed::Records(n)) => counts.records += n as u64,
        Ok(Fed::Skipped) if line.is_some() => counts.skipped += 1,
        Ok(Fed::Skipped | Fed::Buffered) => {}
        Err(e) => {
            counts.errors += 1;
            let sample = line.unwrap_or_default();
            *last_error = Some((sample[..sample.len().min(4096)].to_vec(), e.reason));
        }
    }
}

/// Reads one line (without its `\n`) into `out`, keeping at most [`MAX_READ_LINE`] bytes.
/// Returns (bytes consumed, ended with a newline, was cut).
fn read_line_capped(
    reader: &mut dyn BufRead,
    out: &mut Vec<u8>,
) -> std::io::Result<(usize, bool, bool)> {
    let mut consumed = 0;
    let mut overlong = false;
    loop {
        let buf = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok((consumed, false, overlong));
        }
        let (chunk, found) = match memchr::memchr(b'\n', buf) {
            Some(i) => (&buf[..i], Some(i)),
            None => (buf, None),
        };
        let room = MAX_READ_LINE.saturating_sub(out.len());
        if chunk.len() > room {
            overlong = true;
        }
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = found.map_or(buf.len(), |i| i + 1);
        reader.consume(used);
        consumed += used;
        if found.is_some() {
            return Ok((consumed, true, overlong));
        }
    }
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;

/// What the analysis makes of the store: token-expiry bursts and their period, the triage
/// ranking with its evidence, and the alert states.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    /// The supported hypotheses with their start, end and evidence, largest impact first.
    pub incidents: Vec<crate::analysis::incident::Incident>,
    pub bursts: crate::analysis::expiry::ExpiryReport,
    pub triage: crate::analysis::triage::Board,
    pub alerts: crate::analysis::alerts::AlertState,
    /// PAGE / DEGRADED / OK and why, from the one status rule ([`crate::analysis::status`]).
    pub status: crate::analysis::status::StatusSummary,
}

/// Settings the analysis needs from the configuration.
#[derive(Debug, Clone)]
pub struct DiagnosisOptions {
    pub token_lifetimes_ms: Vec<EpochMs>,
    pub alerts: crate::analysis::alerts::AlertConfig,
}

impl Default for DiagnosisOptions {
    fn default() -> Self {
        DiagnosisOptions {
            token_lifetimes_ms: vec![crate::model::time::HOUR],
            alerts: crate::analysis::alerts::AlertConfig::default(),
        }
    }
}

/// Analyses everything the store still holds in its time window (a postmortem looks at the
/// whole retained history, not only the last 15 minutes).
pub fn diagnose(store: &Store, opts: &DiagnosisOptions) -> Diagnosis {
    let span = store.config().retention_ms;
    let lifetimes = &opts.token_lifetimes_ms;
    // A postmortem ranks by impact: an incident that ended before the log did is still
    // the finding.
    let triage = crate::analysis::triage::triage_ranked(
        store,
        span,
        lifetimes,
        crate::analysis::triage::Ranking::Impact,
    );
    let alerts = crate::analysis::alerts::evaluate(store, &opts.alerts);
    let status = crate::analysis::status::of_store(store, &alerts, &triage);
    Diagnosis {
        incidents: crate::analysis::incident::incidents(&triage),
        bursts: crate::analysis::expiry::analyse_expiry(
            store,
            span,
            lifetimes,
            &crate::analysis::bursts::BurstParams::default(),
        ),
        triage,
        alerts,
        status,
    }
}

/// The counts and the diagnosis together, as `corstop report --format json` prints them.
#[derive(Debug, Clone, Serialize)]
pub struct FullReport {
    #[serde(flatten)]
    pub counts: Report,
    #[serde(flatten)]
    pub diagnosis: Diagnosis,
}

pub fn full_to_json(r: &FullReport) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// The plain-text report followed by the diagnosis, within 80 columns.
pub fn full_to_table(r: &FullReport) -> String {
    let mut o = to_table(&r.counts);
    let d = &r.diagnosis;
    o.push_str(&crate::analysis::incident::to_text(&d.incidents, wrap));
    let _ = writeln!(o, "\nSTATUS: {}", d.status.level.label());
    // Reasons are whole, wrapped: a cut source error hides its cause.
    for r in &d.status.reasons {
        for (i, line) in wrap(&r.text, 76).into_iter().enumerate() {
            let _ = writeln!(o, "{}{line}", if i == 0 { "  - " } else { "    " });
        }
    }
    let _ = writeln!(o, "\nALERTS: {}", d.alerts.alerts.len());
    for a in d.alerts.alerts.iter().take(10) {
        let _ = writeln!(o, "  {}", fit(&a.message, 76));
    }
    for s in d.alerts.slis.iter().filter(|s| s.below_objective).take(10) {
        let _ = writeln!(
            o,
            "  SLI {:<40} {:>7.2}% ({} of {} preflights ok)",
            fit(&s.route, 40),
            s.sli * 100.0,
            s.good,
            s.total
        );
    }

    let b = &d.bursts;
    let _ = writeln!(
        o,
        "\nTOKEN-EXPIRY BURSTS: {} bursts, {} 401/403 on non-OPTIONS, {} expired signatures",
        b.bursts.len(),
        b.failures,
        b.expired
    );
    // Our own wording (no log text), kept whole: the confidence and lifetime are at its end.
    for text in b.period_text.iter().chain(&b.clients_text) {
        let _ = writeln!(o, "  {text}");
    }
    if let Some(next) = b.next_due {
        let _ = writeln!(o, "  next burst due {}", format_datetime(next));
    }
    for burst in b.bursts.iter().rev().take(8) {
        let _ = writeln!(
            o,
            "  {} .. {}  peak {:>5}  total {:>6}  expired {:>5}  {}",
            crate::model::time::format_hm(burst.burst.start),
            crate::model::time::format_hm(burst.burst.end),
            burst.burst.peak,
            burst.burst.count,
            burst.expired,
            fit(burst.route.as_deref().unwrap_or("-"), 20)
        );
    }

    let _ = writeln!(o, "\nTRIAGE (score 0-100, strongest first)");
    for e in d.triage.entries.iter().filter(|e| e.score > 0).take(6) {
        let _ = writeln!(
            o,
            "  {:<8} {:>3}  {:<13} {}",
            e.id,
            e.score,
            e.state.as_str(),
            fit(e.title, 50)
        );
        if let Some(text) = e.ended_text(d.triage.now) {
            let _ = writeln!(o, "      {}", fit(&text, 70));
        }
        for line in e.evidence.iter().take(3) {
            let _ = writeln!(o, "      - {}", fit(line, 70));
        }
        for line in e.disagreements.iter().take(2) {
            let _ = writeln!(o, "      ! {}", fit(line, 70));
        }
    }
    if let Some(top) = d.triage.top().filter(|e| e.score > 0) {
        let _ = writeln!(o, "\nNEXT CHECK ({})", top.id);
        wrap_into(&mut o, &top.next_check, 2, 80);
        let _ = writeln!(o, "MITIGATION");
        wrap_into(&mut o, &top.mitigation, 2, 80);
    }
    o
}

/// Word-wraps `text` into lines of at most `width` characters, indented by `indent` spaces.
fn wrap_into(o: &mut String, text: &str, indent: usize, width: usize) {
    for line in wrap(text, width.saturating_sub(indent).max(10)) {
        let _ = writeln!(o, "{:indent$}{line}", "");
    }
}

/// The Markdown report with an incident summary and timeline, ready for a postmortem.
pub fn full_to_markdown(r: &FullReport, store: &Store) -> String {
    let d = &r.diagnosis;
    let mut o = crate::headless::markdown::markdown_summary(&d.triage, &d.alerts, &d.bursts, store);
    o.push('\n');
    o.push_str(&crate::analysis::incident::to_markdown(&d.incidents));
    o.push('\n');
    o.push_str(&to_markdown(&r.counts));
    o
}
