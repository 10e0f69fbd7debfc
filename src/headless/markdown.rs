//! The Markdown incident summary of `corstop report --format markdown`: state, board, the
//! leading hypothesis with its evidence and phase, alerts, SLIs and a timeline, ready to paste
//! into a postmortem.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::analysis::alerts::{AlertConfig, AlertKind, AlertState, SliSource, pct};
use crate::analysis::expiry::ExpiryReport;
use crate::analysis::status;
use crate::analysis::triage::{Board, State};
use crate::model::redact;
use crate::model::time::{EpochMs, format_clock, format_datetime, format_duration};
use crate::sources::event::Method;
use crate::store::Store;

fn at(t: EpochMs) -> String {
    format_clock(t)
}

/// Markdown-table cell: no pipes or newlines.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// First failing OPTIONS per route in the store's retention (capped), oldest first.
fn first_options_failures(store: &Store) -> Vec<(EpochMs, String, u16)> {
    let mut first: BTreeMap<u16, (EpochMs, u16)> = BTreeMap::new();
    for (start, b) in store.window(store.config().retention_ms) {
        let Some(b) = b else { continue };
        for k in b.http.keys() {
            if k.method == Method::Options && !(200..300).contains(&k.status) {
                first.entry(k.route).or_insert((start, k.status));
            }
        }
    }
    let mut v: Vec<(EpochMs, String, u16)> = first
        .into_iter()
        .map(|(id, (t, st))| (t, store.route_name(id).to_string(), st))
        .collect();
    v.sort();
    v.truncate(8);
    v
}

/// A Markdown incident summary: state, board, the leading hypothesis with its evidence and
/// phase, alerts, SLIs and a timeline, ready to paste into a postmortem. Secrets are redacted.
pub fn markdown_summary(
    board: &Board,
    alerts: &AlertState,
    expiry: &ExpiryReport,
    store: &Store,
) -> String {
    let mut md = String::new();
    let now = store.now();
    let _ = writeln!(
        md,
        "# CORS / token incident summary — {}",
        format_datetime(now)
    );
    let _ = writeln!(md);
    let status = status::of_store(store, alerts, board);
    let _ = writeln!(md, "- **Status:** {}", status.level.label());
    for r in &status.reasons {
        let _ = writeln!(md, "  - {}", r.text.replace('\n', " "));
    }
    match board.top() {
        Some(t) => {
            let _ = writeln!(
                md,
                "- **Leading hypothesis:** {} — {} (score {}, {})",
                t.id,
                t.title,
                t.score,
                t.state.as_str()
            );
        }
        None => {
            let _ = writeln!(
                md,
                "- **Leading hypothesis:** none, no hypothesis has evidence"
            );
        }
    }
    let _ = writeln!(
        md,
        "- **Window:** last {} (store \"now\" {})",
        format_duration(board.span_ms),
        format_datetime(now)
    );

    let _ = writeln!(md, "\n## Triage board\n");
    let _ = writeln!(md, "| # | id | hypothesis | state | score |");
    let _ = writeln!(md, "|---|----|------------|-------|-------|");
    for (i, e) in board.entries.iter().enumerate() {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            i + 1,
            e.id,
            cell(e.title),
            e.state.as_str(),
            e.score
        );
    }

    if let Some(t) = board.top() {
        let _ = writeln!(md, "\n## Leading hypothesis: {} — {}\n", t.id, t.title);
        let _ = writeln!(md, "Evidence:\n");
        for line in &t.evidence {
            let _ = writeln!(md, "- {}", line.replace('\n', " "));
        }
        if !t.weakening.is_empty() {
            let _ = writeln!(md, "\nAgainst:\n");
            for line in &t.weakening {
                let _ = writeln!(md, "- {}", line.replace('\n', " "));
            }
        }
        if !t.disagreements.is_empty() {
            let _ = writeln!(md, "\nLogs and probes disagree:\n");
            for line in &t.disagreements {
                let _ = writeln!(md, "- {}", line.replace('\n', " "));
            }
        }
        let _ = writeln!(md, "\nPhase:\n");
        match (t.first_seen, t.last_seen) {
            (Some(f), Some(l)) => {
                let _ = writeln!(
                    md,
                    "- signals seen from {} to {} ({}); last seen {} ago",
                    format_datetime(f),
                    format_datetime(l),
                    format_duration(l - f),
                    format_duration(now - l)
                );
            }
            _ => {
                let _ = writeln!(
                    md,
                    "- no time-stamped signal (probe or counter aggregate only)"
                );
            }
        }
        if let Some(p) = &expiry.period {
            let since_last = now - (p.next_due - p.period_ms);
            let _ = writeln!(
                md,
                "- {}; {} into the current cycle, next burst due at {}",
                p.describe(),
                format_duration(since_last),
                format_datetime(p.next_due)
            );
        }
        let _ = writeln!(md, "\nNext check: {}\n", t.next_check);
        let _ = writeln!(md, "Mitigation: {}", t.mitigation);
        let others: Vec<_> = board
            .entries
            .iter()
            .skip(1)
            .filter(|e| e.state == State::Supported)
            .take(3)
            .collect();
        if !others.is_empty() {
            let _ = writeln!(md, "\nAlso supported:\n");
            for e in others {
                let _ = writeln!(
                    md,
                    "- {} — {} (score {}): {}",
                    e.id,
                    e.title,
                    e.score,
                    e.evidence.first().map_or("", String::as_str)
                );
            }
        }
    }

    let _ = writeln!(md, "\n## Alerts\n");
    if alerts.alerts.is_empty() {
        let _ = writeln!(md, "None active.");
    }
    for a in &alerts.alerts {
        let kind = match a.kind {
            AlertKind::Page => "PAGE",
            AlertKind::PagePending => "pending",
            AlertKind::Slo => "SLO",
        };
        let _ = writeln!(
            md,
            "- **{kind}** since {}: {}",
            format_datetime(a.since),
            a.message
        );
    }

    let _ = writeln!(
        md,
        "\n## Preflight success (last {})\n",
        format_duration(AlertConfig::default().sli_window_ms)
    );
    if alerts.slis.is_empty() {
        let _ = writeln!(md, "No preflights seen in logs or probes.");
    } else {
        let _ = writeln!(
            md,
            "| route | source | good / total | success | burn rate | critical |"
        );
        let _ = writeln!(
            md,
            "|-------|--------|--------------|---------|-----------|----------|"
        );
        for s in alerts.slis.iter().take(10) {
            let _ = writeln!(
                md,
                "| {} | {} | {} / {} | {} | {:.1}× | {} |",
                cell(&s.route),
                match s.source {
                    SliSource::Logs => "logs",
                    SliSource::Probes => "probes",
                },
                s.good,
                s.total,
                pct(s.sli),
                s.burn_rate,
                if s.critical { "yes" } else { "" }
            );
        }
    }

    // Timeline: everything with a time, oldest first.
    let mut events: Vec<(EpochMs, String)> = Vec::new();
    for (t, route, status) in first_options_failures(store) {
        events.push((t, format!("first failing OPTIONS on {route} ({status})")));
    }
    for b in expiry.bursts.iter().rev().take(10) {
        events.push((
            b.burst.start,
            format!(
                "401/403 burst: {} failures until {}{}{}",
                b.burst.count,
                at(b.burst.end),
                b.route
                    .as_ref()
                    .map_or_else(String::new, |r| format!(" on {r}")),
                if b.expired > 0 {
                    format!(", {} 'expired' signatures", b.expired)
                } else {
                    String::new()
                }
            ),
        ));
    }
    let mut seen_probe: Vec<(&str, &str)> = Vec::new();
    for p in store.probe_history() {
        if !p.verdict.allowed
            && seen_probe.len() < 5
            && !seen_probe.contains(&(p.url.as_str(), p.origin.as_str()))
        {
            seen_probe.push((p.url.as_str(), p.origin.as_str()));
            events.push((
                p.time,
                format!(
                    "probe {} from {} first blocked: {}",
                    p.url, p.origin, p.verdict.code
                ),
            ));
        }
    }
    for a in &alerts.alerts {
        if a.kind != AlertKind::Slo {
            events.push((
                a.since,
                format!("critical route {} starts failing", a.route),
            ));
        }
    }
    if let Some(t) = board.top() {
        if let Some(f) = t.first_seen {
            events.push((f, format!("{} signals first seen", t.id)));
        }
        if let Some(l) = t.last_seen {
            events.push((l, format!("{} signals last seen", t.id)));
        }
    }
    if let Some(p) = &expiry.period {
        events.push((p.next_due, "next expiry burst due (projected)".into()));
    }
    events.sort();
    events.dedup();
    let _ = writeln!(md, "\n## Timeline (UTC)\n");
    if events.is_empty() {
        let _ = writeln!(md, "Nothing time-stamped yet.");
    }
    for (t, what) in events.iter().take(40) {
        let _ = writeln!(md, "- {} — {}", format_datetime(*t), what);
    }

    let _ = writeln!(md, "\n## Sources\n");
    for s in store.sources() {
        let _ = writeln!(
            md,
            "- {} ({}): {} lines, {} HTTP and {} auth events, {} parse errors",
            s.label,
            s.format.unwrap_or("format unknown"),
            s.lines,
            s.http_events,
            s.auth_events,
            s.parse_errors
        );
    }
    if store.dropped_too_old + store.dropped_future > 0 {
        let _ = writeln!(
            md,
            "- events outside retention: {} too old, {} too far in the future",
            store.dropped_too_old, store.dropped_future
        );
    }
    redact::text(&md).into_owned()
}
