//! The legend: every mark, abbreviation and colour the views draw, with what it means. Views
//! take their marks from this table ([`Entry::span`], [`Entry::mark`]) and the help overlay
//! lists the same table, so what is on screen and what the help explains cannot drift apart.
//!
//! Every entry a view draws and every column header a table shows is noted as it is drawn
//! ([`take_used`]), so a test can render every view and check that the help explains all of
//! it.

use std::cell::RefCell;

use ratatui::style::Style;
use ratatui::text::Span;

use super::glyphs::Glyphs;
use super::theme::Theme;

/// One mark, abbreviation or colour.
pub struct Entry {
    /// As drawn with Unicode glyphs.
    pub glyph: &'static str,
    /// As drawn under `--ascii`.
    pub ascii: &'static str,
    pub meaning: &'static str,
    /// The style it is drawn in, which the help shows it in too.
    pub style: fn(&Theme) -> Style,
}

impl Entry {
    /// The mark's text in the glyph set `g`, noted as used.
    pub fn mark(&'static self, g: &Glyphs) -> &'static str {
        note_entry(self);
        if g.ascii { self.ascii } else { self.glyph }
    }

    /// The mark in its own style.
    pub fn span(&'static self, g: &Glyphs, theme: &Theme) -> Span<'static> {
        Span::styled(self.mark(g), (self.style)(theme))
    }

    /// `text` in the entry's style, for marks drawn with a figure around them (`×12`,
    /// `PAGE 4m`): the entry is noted as used.
    pub fn styled(&'static self, text: String, theme: &Theme) -> Span<'static> {
        note_entry(self);
        Span::styled(text, (self.style)(theme))
    }

    /// The entry's style, noting the entry as used: for colours that carry meaning on their
    /// own text.
    pub fn style_of(&'static self, theme: &Theme) -> Style {
        note_entry(self);
        (self.style)(theme)
    }
}

/// A heading of the legend with its entries.
pub struct Section {
    pub title: &'static str,
    pub entries: &'static [&'static Entry],
}

// One table, kept as a table: an entry a line or two.
#[rustfmt::skip]
mod entries {
    use super::Entry;
    use crate::ui::glyphs::{ASCII, UNICODE};

    macro_rules! entry {
        ($name:ident, $glyph:expr, $ascii:expr, $style:ident, $meaning:expr) => {
            pub static $name: Entry = Entry {
                glyph: $glyph,
                ascii: $ascii,
                meaning: $meaning,
                style: |t| t.$style,
            };
        };
    }

    // ------------------------------------------------------------------------ status
    entry!(STATUS_OK, "✔ OK", "[ok] OK", status_ok,
        "every source reading, every probe passing, every route within its objective");
    entry!(STATUS_DEGRADED, "▲ DEGRADED", "[!] DEGRADED", status_degraded,
        "a route's preflight 2xx under 99.9 % (15m), or a probe blocked");
    entry!(STATUS_PAGE, "✖ PAGE 4m", "[X] PAGE 4m", alert_page,
        "over 5 % of cross-origin requests failing on a critical route (10m); held for 4m");
    entry!(PAGE_PENDING, "page pending 2m", "page pending 2m", warning,
        "the PAGE condition holds, for 2m so far, not yet long enough to page");
    entry!(REASON, "▲", "[!]", warning,
        "one reason for the status (overview)");
    entry!(MODE, "LIVE REPLAY DEMO", "LIVE REPLAY DEMO", mode,
        "following logs; replaying history; the demo (FLEET: agents via Prometheus)");
    entry!(FROZEN, "FROZEN", "FROZEN", frozen,
        "the screen is held (f); data keeps arriving underneath");
    entry!(TOP, "top: H4 …", "top: H4 ~", triage_supported,
        "the leading hypothesis, when the evidence supports it, with its score");

    // ------------------------------------------------------------------------------ marks
    entry!(CRITICAL, UNICODE.critical, ASCII.critical, critical,
        "before a route or endpoint: critical (a probe marks it so)");
    entry!(BELOW_OBJECTIVE, "0.0%!", "0.0%!", bad,
        "after a preflight success rate: under the 99.9 % objective");
    entry!(DERIVED, "~", "~", derived,
        "before an origin: taken from the Referer (the log has no Origin)");
    entry!(SHORTENED, UNICODE.ellipsis, ASCII.ellipsis, muted,
        "inside or at the end of a name: shortened to fit (never before an origin)");
    entry!(SELECTED, UNICODE.selected, ASCII.selected, text,
        "the selected row");
    entry!(TIMES, "×30", "x30", text,
        "how many times: the cell's most frequent failure");
    entry!(INCLUDE, "*", "*", text,
        "after a probe's shape: sent with credentials (cookies) among probes without");
    entry!(BEFORE_WINDOW, "<10:31:02Z", "<10:31:02Z", muted,
        "first seen at the window's start: it may have begun before");
    entry!(BURST, "▲▲▲", "^^^", warning,
        "under the auth chart: columns inside a 401/403 burst");
    entry!(RAMP, "▁▃▅█", ".:=@", text,
        "bar height per column, relative to the peak named in the panel title");
    entry!(SCORE_BAR, "███░░", "###..", score_bar,
        "a hypothesis score out of 100");
    entry!(REPEATED, "▲ repeated header", "[!] repeated header", warning,
        "probe evidence: a CORS header sent more than once (browsers refuse it)");
    entry!(DISAGREE, "!", "!", disagreement,
        "triage detail: the logs and the probes disagree");
    entry!(OTHER, "(other)", "(other)", warning,
        "routes or origins folded together once their distinct-name cap is reached");

    // ------------------------------------------------------------------------------ verdicts
    entry!(ALLOWED, "ALLOWED", "ALLOWED", verdict_allowed,
        "the browser would let the page read it");
    entry!(BLOCKED, "BLOCKED", "BLOCKED", verdict_blocked,
        "the browser would refuse it (the code says why)");
    entry!(UNKNOWN, "UNKNOWN", "UNKNOWN", warning,
        "corstop's own limit stopped the probe: neither verdict holds");
    entry!(SUPPORTED, "SUPPORTED", "SUPPORTED", triage_supported,
        "the evidence in the window supports the hypothesis");
    entry!(ENDED, "ended 10:31", "ended 10:31", triage_weakened,
        "was supported, no longer seen since that time");
    entry!(WEAKENED, "weakened", "weakened", triage_weakened,
        "evidence against outweighs it");
    entry!(NO_EVIDENCE, "no evidence", "no evidence", triage_none,
        "nothing in the window points to it");

    // ------------------------------------------------------------------------------ colours
    entry!(COLOUR_BAD, "85.7%", "85.7%", bad,
        "past its threshold: under the preflight objective, over 5 % failing, a refusal");
    entry!(COLOUR_WARNING, "0.4%", "0.4%", warning,
        "failing, below the page threshold");
    entry!(COLOUR_GOOD, "100.0%", "100.0%", good,
        "meets its objective");
    entry!(COLOUR_NONE, "0  -", "0  -", muted,
        "nothing counted, or nothing to divide");
    entry!(SERIES_2XX, "2xx", "2xx", series_2xx,
        "trend series: OPTIONS answered 2xx");
    entry!(SERIES_3XX, "3xx", "3xx", series_3xx,
        "trend series: redirected preflights");
    entry!(SERIES_401, "401", "401", series_401,
        "series and counts: 401 Unauthorized");
    entry!(SERIES_403, "403", "403", series_403,
        "series and counts: 403 Forbidden");
    entry!(SERIES_404, "404/5", "404/5", series_404,
        "trend series: 404 or 405 (OPTIONS not routed)");
    entry!(SERIES_5XX, "5xx", "5xx", series_5xx,
        "trend series: server errors");
    entry!(SERIES_OTHER, "other", "other", series_other,
        "trend series: 1xx, 400, 429 and other 4xx");
    entry!(SERIES_AUTH, "expired", "expired", series_auth,
        "auth log failure classes (expired, audience, malformed-or-missing...)");

    // ------------------------------------------------------------------------------ columns
    entry!(COL_NON_2XX, "Non-2xx", "Non-2xx", table_header,
        "failing preflights per column over the range, one scale for every route");
    entry!(COL_OPT, "OPT", "OPT", table_header,
        "OPTIONS requests (preflights)");
    entry!(COL_2XX_PCT, "2xx%", "2xx%", table_header,
        "share of preflights answered 2xx");
    entry!(COL_XO_PCT, "xo%", "xo%", table_header,
        "share of cross-origin requests (with an Origin) that failed");
    entry!(COL_401, "401 403", "401 403", table_header,
        "responses with that status");
    entry!(COL_OPTIONS, "OPTIONS", "OPTIONS", table_header,
        "preflights in the range");
    entry!(COL_STATUS_CLASSES, "2xx 3xx 404/5 5xx other", "2xx 3xx 404/5 5xx other", table_header,
        "preflights by status class (404/5: 404 or 405)");
    entry!(COL_REQ, "Req", "Req", table_header,
        "requests of the route from the origin");
    entry!(COL_FAILED, "Failed", "Failed", table_header,
        "failed for the page: status >= 400, OPTIONS not 2xx, or refused by the browser");
    entry!(COL_RATE, "Rate", "Rate", table_header,
        "Failed / Req");
    entry!(COL_UNFOL, "Unfol", "Unfol", table_header,
        "2xx preflights never followed by their request (the browser refused the answer)");
    entry!(COL_WHY, "Why", "Why", table_header,
        "why requests failed: statuses, or what the browser refused (doubled ACAO...)");
    entry!(COL_HID, "Hid", "Hid", table_header,
        "the status the browser hides from the page (DevTools shows only 'CORS error')");
    entry!(COL_SHAPE, "Shape", "Shape", table_header,
        "the request probed: method, headers, credentials (+cred: cookies)");
    entry!(COL_CODE, "Code", "Code", table_header,
        "the verdict code (see Verdict codes)");
    entry!(COL_LATENCY, "Latency", "Latency", table_header,
        "preflight and actual request, together");
    entry!(COL_INSTANCE, "Instance", "Instance", table_header,
        "which server instance answered (fleet: which agent)");
    entry!(COL_INSTANCES, "Instances", "Instances", table_header,
        "fleet: on how many instances running the probe it fails");
    entry!(COL_CORS_ERROR, "CORS error", "CORS error", table_header,
        "fleet: Chromium's CORS error most failing instances report");
    entry!(COL_REGION, "Region", "Region", table_header,
        "fleet: the agent's region label, - when it has none");
    entry!(COL_AGENT, "Agent", "Agent", table_header,
        "fleet: the agent's own status (OK, DEGRADED, PAGE), or down");
    entry!(COL_AGENT_TOP, "Top", "Top", table_header,
        "fleet: the agent's leading supported hypothesis, its score");
    entry!(COL_REQ_PER_SEC, "req/s", "req/s", table_header,
        "fleet: requests per second the agent read, last 5 minutes");
    entry!(COL_FAIL_PCT, "fail%", "fail%", table_header,
        "fleet: cross-origin requests failing for the page, last 5m");
    entry!(COL_BLOCKED, "blocked", "blocked", table_header,
        "fleet: the agent's probes the browser blocked, latest run");
    entry!(COL_CLASS, "Class", "Class", table_header,
        "the auth failure's class, from its code or phrase");
    entry!(COL_STATE, "State", "State", table_header,
        "a hypothesis's state, or a source's (tailing, waiting...)");
    entry!(COL_SCORE, "Score", "Score", table_header,
        "how strongly the evidence supports it, 0-100");
    entry!(COL_FIRST, "First", "First", table_header,
        "when its signals were first seen");
    entry!(COL_LINES_PER_SEC, "lines/s", "lines/s", table_header,
        "lines read per second");
    entry!(COL_ERRORS, "Errors", "Errors", table_header,
        "lines that did not parse (the latest is shown)");
    entry!(EVENTS_NAMES, "ev / names", "ev / names", text,
        "folded events, and how many distinct names they had");
    entry!(OLD_FUTURE, "old future folded", "old future folded", text,
        "events older than retention or ahead of now, dropped; bucket keys folded");

    // ------------------------------------------------------------------------------ codes
    entry!(CODE_OK, "ok", "ok", text,
        "nothing failed");
    entry!(CODE_NOT_JUDGED, "not-judged", "not-judged", muted,
        "no response to judge");
    entry!(CODE_NETWORK, "network-error", "network-error", bad,
        "no HTTP answer: DNS, refused, TLS, timeout");
    entry!(CODE_REDIRECT, "preflight-redirect", "preflight-redirect", bad,
        "the preflight was redirected (never allowed)");
    entry!(CODE_ACAO_MISSING, "acao-missing", "acao-missing", bad,
        "no Access-Control-Allow-Origin on the preflight");
    entry!(CODE_ACTUAL_ACAO_MISSING, "actual-acao-missing", "actual-acao-missing", bad,
        "no Access-Control-Allow-Origin on the response (often errors only)");
    entry!(CODE_ACAO_MULTIPLE, "acao-multiple", "acao-multiple", bad,
        "Access-Control-Allow-Origin sent more than once, or with several values");
    entry!(CODE_ACAO_INVALID, "acao-invalid", "acao-invalid", bad,
        "Access-Control-Allow-Origin is not an origin");
    entry!(CODE_ACAO_WILDCARD, "acao-wildcard-credentials", "acao-wildcard-credentials", bad,
        "'*' for a request with credentials");
    entry!(CODE_ACAO_MISMATCH, "acao-mismatch", "acao-mismatch", bad,
        "another origin than the page's");
    entry!(CODE_ACAC, "acac-not-true", "acac-not-true", bad,
        "credentials sent, Access-Control-Allow-Credentials not 'true'");
    entry!(CODE_PREFLIGHT_NOT_OK, "preflight-not-ok", "preflight-not-ok", bad,
        "the preflight's status is not 2xx (Hid shows it)");
    entry!(CODE_METHODS_UNPARSABLE, "allow-methods-unparsable", "allow-methods-unparsable", bad,
        "Access-Control-Allow-Methods does not parse");
    entry!(CODE_HEADERS_UNPARSABLE, "allow-headers-unparsable", "allow-headers-unparsable", bad,
        "Access-Control-Allow-Headers does not parse");
    entry!(CODE_METHOD, "method-not-allowed", "method-not-allowed", bad,
        "the method is not in Access-Control-Allow-Methods");
    entry!(CODE_HEADER, "header-not-allowed", "header-not-allowed", bad,
        "a request header is not in Access-Control-Allow-Headers");

    // --------------------------------------------------------------------------- live log
    // In the order of `analysis::log::Outcome::ALL`; each mark as wide as its ASCII form.
    entry!(LOG_OK, "✓", "ok", series_2xx,
        "answered 1xx/2xx");
    entry!(LOG_REDIRECT, "↪", "3x", series_3xx,
        "3xx redirect (a preflight cannot follow one)");
    entry!(LOG_CLIENT_ERROR, "△", "4x", series_404,
        "4xx other than 401/403 (not found, method not allowed...)");
    entry!(LOG_AUTH_FAILURE, "⊘", "au", series_401,
        "401/403, or a token validation failure in an auth log");
    entry!(LOG_SERVER_ERROR, "✖", "5x", series_5xx,
        "5xx server error");
    entry!(LOG_CORS_REFUSED, "×", "co", warning,
        "refused by the browser: ACAO doubled, or none on a request that sent an Origin");
    entry!(LOG_INFO, "·", "in", muted,
        "an auth log event that is not a failure");
    entry!(LOG_TEXT, "¶", "tx", text,
        "a line without a request, shown as text");
    entry!(COL_LOG, "st took acao", "st took acao", table_header,
        "live log: status, latency, Access-Control-Allow-Origin as logged (2x: sent twice)");
}
pub use entries::*;

/// The live log's outcome marks, in `analysis::log::Outcome::ALL` order.
pub static LOG_MARKS: &[&Entry] = &[
    &LOG_OK,
    &LOG_REDIRECT,
    &LOG_CLIENT_ERROR,
    &LOG_AUTH_FAILURE,
    &LOG_SERVER_ERROR,
    &LOG_CORS_REFUSED,
    &LOG_INFO,
    &LOG_TEXT,
];

/// The whole legend, in the order the help shows it.
pub static SECTIONS: &[Section] = &[
    Section {
        title: "Status",
        entries: &[
            &STATUS_OK,
            &STATUS_DEGRADED,
            &STATUS_PAGE,
            &PAGE_PENDING,
            &REASON,
            &MODE,
            &FROZEN,
            &TOP,
        ],
    },
    Section {
        title: "Marks",
        entries: &[
            &CRITICAL,
            &BELOW_OBJECTIVE,
            &DERIVED,
            &SHORTENED,
            &SELECTED,
            &TIMES,
            &INCLUDE,
            &BEFORE_WINDOW,
            &BURST,
            &RAMP,
            &SCORE_BAR,
            &REPEATED,
            &DISAGREE,
            &OTHER,
        ],
    },
    Section {
        title: "Verdicts and states",
        entries: &[
            &ALLOWED,
            &BLOCKED,
            &UNKNOWN,
            &SUPPORTED,
            &ENDED,
            &WEAKENED,
            &NO_EVIDENCE,
        ],
    },
    Section {
        title: "Colours",
        entries: &[
            &COLOUR_BAD,
            &COLOUR_WARNING,
            &COLOUR_GOOD,
            &COLOUR_NONE,
            &SERIES_2XX,
            &SERIES_3XX,
            &SERIES_401,
            &SERIES_403,
            &SERIES_404,
            &SERIES_5XX,
            &SERIES_OTHER,
            &SERIES_AUTH,
        ],
    },
    Section {
        title: "Columns",
        entries: &[
            &COL_OPT,
            &COL_NON_2XX,
            &COL_2XX_PCT,
            &COL_XO_PCT,
            &COL_401,
            &COL_OPTIONS,
            &COL_STATUS_CLASSES,
            &COL_REQ,
            &COL_FAILED,
            &COL_RATE,
            &COL_UNFOL,
            &COL_WHY,
            &COL_HID,
            &COL_SHAPE,
            &COL_CODE,
            &COL_LATENCY,
            &COL_INSTANCE,
            &COL_REGION,
            &COL_INSTANCES,
            &COL_CORS_ERROR,
            &COL_AGENT,
            &COL_AGENT_TOP,
            &COL_REQ_PER_SEC,
            &COL_FAIL_PCT,
            &COL_BLOCKED,
            &COL_CLASS,
            &COL_STATE,
            &COL_SCORE,
            &COL_FIRST,
            &COL_LINES_PER_SEC,
            &COL_ERRORS,
            &COL_LOG,
            &EVENTS_NAMES,
            &OLD_FUTURE,
        ],
    },
    Section {
        title: "Verdict codes",
        entries: &[
            &CODE_OK,
            &CODE_NOT_JUDGED,
            &CODE_NETWORK,
            &CODE_REDIRECT,
            &CODE_ACAO_MISSING,
            &CODE_ACTUAL_ACAO_MISSING,
            &CODE_ACAO_MULTIPLE,
            &CODE_ACAO_INVALID,
            &CODE_ACAO_WILDCARD,
            &CODE_ACAO_MISMATCH,
            &CODE_ACAC,
            &CODE_PREFLIGHT_NOT_OK,
            &CODE_METHODS_UNPARSABLE,
            &CODE_HEADERS_UNPARSABLE,
            &CODE_METHOD,
            &CODE_HEADER,
        ],
    },
    Section {
        title: "Live log",
        entries: LOG_MARKS,
    },
];

/// Column headers plain enough to need no entry: a header not listed here must be explained
/// by a `Columns` entry whose glyph names it.
pub const PLAIN_HEADERS: &[&str] = &[
    "Route",
    "Origin",
    "Endpoint",
    "Verdict",
    "Hypothesis",
    "Time",
    "Operation",
    "Message",
    "Source",
    "Format",
    "Last line",
    "#",
    "Id",
    "method",
    "time",
    "source",
    "route",
    "origin",
];

/// The entry explaining a verdict code as the probe table shows it.
pub fn code(code: &str) -> Option<&'static Entry> {
    SECTIONS
        .iter()
        .find(|s| s.title == "Verdict codes")
        .and_then(|s| s.entries.iter().find(|e| e.glyph == code).copied())
}

/// True when a column header is plain or explained by a `Columns` entry.
pub fn explains_header(header: &str) -> bool {
    PLAIN_HEADERS.contains(&header)
        || SECTIONS.iter().filter(|s| s.title == "Columns").any(|s| {
            s.entries
                .iter()
                .any(|e| e.glyph == header || e.glyph.split_whitespace().any(|w| w == header))
        })
}

/// True when `entry` is one of the legend's.
pub fn lists(entry: &Entry) -> bool {
    SECTIONS
        .iter()
        .flat_map(|s| s.entries.iter())
        .any(|e| std::ptr::eq(*e, entry))
}

/// What the views drew since the last [`take_used`].
#[derive(Default, Debug)]
pub struct Used {
    pub entries: Vec<&'static Entry>,
    pub headers: Vec<&'static str>,
    pub codes: Vec<String>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} ({})", self.glyph, self.meaning)
    }
}

thread_local! {
    // A handful of pointers and short strings, noted once each: drawing stays allocation-free
    // after the first frame.
    static USED: RefCell<Used> = RefCell::default();
}

fn note_entry(e: &'static Entry) {
    USED.with_borrow_mut(|u| {
        if !u.entries.iter().any(|x| std::ptr::eq(*x, e)) {
            u.entries.push(e);
        }
    });
}

/// Notes column headers as drawn.
pub fn note_headers(headers: &[&'static str]) {
    USED.with_borrow_mut(|u| {
        for h in headers {
            if !u.headers.contains(h) {
                u.headers.push(h);
            }
        }
    });
}

/// Notes a verdict code as drawn.
pub fn note_code(code: &str) {
    USED.with_borrow_mut(|u| {
        if !u.codes.iter().any(|c| c == code) {
            u.codes.push(code.to_string());
        }
    });
}

/// Everything drawn on this thread since the last call, and forgets it.
pub fn take_used() -> Used {
    USED.with_borrow_mut(std::mem::take)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verdict_code_is_explained() {
        for c in crate::cors::codes::CODES {
            assert!(code(c).is_some(), "{c} has no legend entry");
        }
    }

    #[test]
    fn entries_are_listed_once_and_have_both_forms() {
        let all: Vec<&Entry> = SECTIONS
            .iter()
            .flat_map(|s| s.entries.iter().copied())
            .collect();
        for (i, e) in all.iter().enumerate() {
            assert!(!e.glyph.is_empty() && !e.ascii.is_empty() && !e.meaning.is_empty());
            assert!(e.ascii.is_ascii(), "{e:?}");
            assert!(
                !all[..i].iter().any(|x| std::ptr::eq(*x, *e)),
                "{e:?} listed twice"
            );
        }
        assert!(explains_header("Unfol") && explains_header("404/5") && explains_header("Route"));
        assert!(!explains_header("Zzz"));
    }
}
