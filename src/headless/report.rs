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

use std::fmt::Write as _;
use std::io::BufRead;

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::model::text::{fit, wrap};
use crate::model::time::{EpochMs, format_rfc3339, now_ms};
use crate::sources::event::{AcaoSeen, AuthClass, Method, Sink, SourceId};
use crate::sources::formats::{Fed, LogParser, ParseError};
use crate::store::{NO_ORIGIN, Store, StoreSink};

/// Most `requests` rows listed; the rest is summed into `omitted_*`.
pub const MAX_REQUEST_ROWS: usize = 500;
/// Most `failures_by_origin` rows listed.
pub const MAX_FAILURE_ROWS: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub generated_at: String,
    pub first_event: Option<String>,
    pub last_event: Option<String>,
    pub sources: Vec<SourceReport>,
    pub requests: Requests,
    pub failures_by_origin: OriginFailures,
    pub auth_failures: AuthFailures,
    pub dropped: Dropped,
    pub folded: Folded,
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
        generated_at: format_rfc3339(generated_at),
        first_event: store.earliest_event_time.map(format_rfc3339),
        last_event: store.latest_event_time.map(format_rfc3339),
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
    match (&r.first_event, &r.last_event) {
        (Some(a), Some(b)) => format!("{a} .. {b}"),
        _ => "no events".to_string(),
    }
}

/// Plain text for a terminal, at most 80 columns wide.
pub fn to_table(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "corstop report, generated {}", r.generated_at);
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
        "Generated {}; events {}.\n",
        r.generated_at,
        time_range(r)
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
        Ok(Fed::Skipped) | Ok(Fed::Buffered) => {}
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
mod tests {
    use super::*;
    use crate::sources::formats::{self, FormatOptions};
    use crate::store::{StoreConfig, TimeMode};

    const COMBINED: &str = r#"203.0.113.7 - - [04/Apr/2026:10:31:02 +0000] "OPTIONS /api/orders HTTP/1.1" 401 0 "https://app.contoso.com/orders" "Mozilla/5.0"
203.0.113.7 - - [04/Apr/2026:10:31:03 +0000] "OPTIONS /api/orders HTTP/1.1" 401 0 "https://app.contoso.com/orders" "Mozilla/5.0"
203.0.113.7 - - [04/Apr/2026:10:31:04 +0000] "GET /api/orders/17 HTTP/1.1" 200 10 "https://app.contoso.com/orders" "Mozilla/5.0"
203.0.113.7 - - [04/Apr/2026:10:31:05 +0000] "GET /api/orders/18 HTTP/1.1" 200 10 "https://app.contoso.com/orders" "Mozilla/5.0"
203.0.113.7 - - [04/Apr/2026:10:31:06 +0000] "GET /api/orders/19 HTTP/1.1" 200 10 "https://app.contoso.com/orders" "Mozilla/5.0"
198.51.100.2 - - [04/Apr/2026:10:31:07 +0000] "OPTIONS /api/orders HTTP/1.1" 301 0 "-" "curl/8" "https://admin.contoso.com" "-" 0.001
198.51.100.2 - - [04/Apr/2026:10:31:08 +0000] "POST /api/orders HTTP/1.1" 500 0 "-" "curl/8" "https://admin.contoso.com" "https://admin.contoso.com, https://admin.contoso.com" 0.002
this line is not an access log line
"#;

    const AUTH: &str = "2026-04-04T10:31:02Z ValidateToken IDX10223: Lifetime validation failed. The token is expired.
   at Microsoft.IdentityModel.Tokens.Validators.ValidateLifetime()
2026-04-04T10:31:03Z ValidateToken IDX10223: Lifetime validation failed.
2026-04-04T10:31:04Z ValidateToken IDX10214: Audience validation failed.
2026-04-04T10:31:05Z ValidateToken Token validated.
";

    fn filled() -> Store {
        let mut store = Store::new(StoreConfig::default(), TimeMode::EventTime);
        let opts = FormatOptions::default();
        let web = store.register_source("access.log");
        store.set_source_format(web, "combined");
        let mut p = formats::parser("combined", &opts).unwrap();
        let c = feed_all(&mut store, web, p.as_mut(), COMBINED.as_bytes());
        assert_eq!(
            c,
            FeedCounts {
                lines: 8,
                records: 7,
                skipped: 0,
                errors: 1
            }
        );
        let auth = store.register_source("auth.log");
        store.set_source_format(auth, "appservice-auth");
        let mut p = formats::parser("appservice-auth", &opts).unwrap();
        feed_all(&mut store, auth, p.as_mut(), AUTH.as_bytes());
        store
    }

    #[test]
    fn report_numbers() {
        let r = build_at(&filled(), 1_775_300_000_000);
        assert_eq!(r.generated_at, "2026-04-04T10:53:20Z");
        assert_eq!(r.first_event.as_deref(), Some("2026-04-04T10:31:02Z"));
        assert_eq!(r.last_event.as_deref(), Some("2026-04-04T10:31:08Z"));

        let web = &r.sources[0];
        assert_eq!(
            (web.lines, web.http_events, web.parse_errors, web.format),
            (8, 7, 1, Some("combined"))
        );
        assert_eq!(web.last_error.as_ref().unwrap().reason, "missing [time]");
        let auth = &r.sources[1];
        assert_eq!((auth.lines, auth.auth_events, auth.parse_errors), (5, 4, 0));

        assert_eq!(r.requests.total, 7);
        let rows: Vec<(&str, &str, u16, u64)> = r
            .requests
            .rows
            .iter()
            .map(|x| (x.route.as_str(), x.method, x.status, x.count))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("/api/orders/{id}", "GET", 200, 3),
                ("/api/orders", "OPTIONS", 401, 2),
                ("/api/orders", "OPTIONS", 301, 1),
                ("/api/orders", "POST", 500, 1),
            ]
        );

        let f = &r.failures_by_origin.rows;
        assert_eq!(f.len(), 2);
        assert_eq!(
            f[1],
            OriginFailureRow {
                origin: "https://admin.contoso.com".into(),
                origin_derived: false,
                route: "/api/orders".into(),
                requests: 2,
                failures: 1,
                options_requests: 1,
                options_failures: 1,
                acao_multiple: 1,
            }
        );
        assert_eq!(
            f[0],
            OriginFailureRow {
                origin: "https://app.contoso.com".into(),
                origin_derived: true,
                route: "/api/orders".into(),
                requests: 2,
                failures: 2,
                options_requests: 2,
                options_failures: 2,
                acao_multiple: 0,
            }
        );

        assert_eq!(r.auth_failures.total, 3);
        let get = |c: AuthClass| r.auth_failures.by_class[c as usize].count;
        assert_eq!(get(AuthClass::Expired), 2);
        assert_eq!(get(AuthClass::Audience), 1);
        assert_eq!(r.auth_failures.by_class.len(), AuthClass::COUNT);
        assert_eq!(
            r.dropped,
            Dropped {
                too_old: 0,
                future: 0
            }
        );
        assert_eq!(r.folded.totals_folded, 0);
    }

    #[test]
    fn request_rows_are_capped_with_a_summary() {
        let mut store = Store::new(StoreConfig::default(), TimeMode::EventTime);
        let src = store.register_source("a");
        let mut text = String::new();
        // 100 routes × 6 statuses = 600 distinct rows.
        for route in 0..100 {
            for status in [200, 201, 204, 400, 401, 404] {
                let _ = writeln!(
                    text,
                    "2026-04-04T10:31:02Z GET /r{} {status} 1",
                    char::from(b'a' + (route % 26) as u8)
                        .to_string()
                        .repeat(route / 26 + 1)
                );
            }
        }
        let mut p = formats::parser("appservice-http", &FormatOptions::default()).unwrap();
        feed_all(&mut store, src, p.as_mut(), text.as_bytes());
        let r = build_at(&store, 0);
        assert_eq!(r.requests.total, 600);
        assert_eq!(r.requests.rows.len(), MAX_REQUEST_ROWS);
        assert_eq!(r.requests.omitted_rows, 100);
        assert_eq!(r.requests.omitted_count, 100);
    }

    #[test]
    fn reader_counts_and_bounds_lines() {
        let mut store = Store::new(StoreConfig::default(), TimeMode::EventTime);
        let src = store.register_source("a");
        let mut data = b"2026-04-04T10:31:02Z GET /a 200 1\r\n\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', MAX_READ_LINE + 10));
        data.extend_from_slice(b"\n2026-04-04T10:31:03Z GET /b 401 1");
        let mut p = formats::parser("appservice-http", &FormatOptions::default()).unwrap();
        let c = feed_all(&mut store, src, p.as_mut(), &data);
        assert_eq!(
            c,
            FeedCounts {
                lines: 4,
                records: 2,
                skipped: 1,
                errors: 1
            }
        );
        let st = &store.sources()[0];
        assert_eq!((st.lines, st.parse_errors, st.skipped), (4, 1, 1));
        assert_eq!(st.bytes, data.len() as u64);
        let (sample, reason) = st.last_error.clone().unwrap();
        assert!(reason.contains("line longer than"), "{reason}");
        assert!(sample.len() < 1000);
    }

    #[test]
    fn renderings() {
        let r = build_at(&filled(), 1_775_300_000_000);
        let table = to_table(&r);
        for line in table.lines() {
            assert!(line.chars().count() <= 80, "too wide: {line}");
        }
        assert!(table.contains("https://app.contoso.com*"));
        assert!(table.contains("https://admin.contoso.com!"));
        assert!(table.contains("expired"));
        let json: serde_json::Value = serde_json::from_str(&to_json(&r)).unwrap();
        assert_eq!(json["requests"]["total"], 7);
        assert_eq!(json["auth_failures"]["by_class"][0]["class"], "expired");
        assert_eq!(
            json["failures_by_origin"]["rows"][0]["origin_derived"],
            true
        );
        assert_eq!(json["sources"][0]["last_error"]["reason"], "missing [time]");
        let md = to_markdown(&r);
        assert!(md.contains("| `/api/orders` | OPTIONS | 401 | 2 |"));
    }
}

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
        let _ = writeln!(o, "  next burst due {}", format_rfc3339(next));
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
