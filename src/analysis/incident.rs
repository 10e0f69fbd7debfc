//! The incidents a board holds, written for a postmortem: which hypothesis, when its failures
//! began and when they ended (or that they were still going on at the end of the window), and
//! the evidence behind it.
//!
//! An incident is a hypothesis the evidence supports, whether still failing ([`State::Supported`])
//! or over ([`State::Ended`]); the board's order decides which comes first, so a report ranked
//! by impact leads with the largest incident even when it ended before the log did.

use std::fmt::Write as _;

use serde::Serialize;

use crate::analysis::triage::{Board, Entry, State};
use crate::model::time::{EpochMs, format_datetime, format_duration};
use crate::sources::event::Hypothesis;

/// Incidents reported at most.
pub const MAX_INCIDENTS: usize = 3;
/// Evidence lines kept per incident.
const MAX_EVIDENCE: usize = 6;

/// One supported hypothesis, with its time span.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Incident {
    pub hypothesis: Hypothesis,
    pub id: &'static str,
    pub title: &'static str,
    pub state: State,
    pub score: u8,
    /// The first failing event it rests on.
    pub start: Option<EpochMs>,
    /// `start` is the start of the window: it may have begun earlier.
    pub began_before_window: bool,
    /// The last failing event, when its failures ended; `None` while still going on.
    pub end: Option<EpochMs>,
    /// The latest failing event seen (the end when ended).
    pub last_seen: Option<EpochMs>,
    /// End of the window the board covers.
    pub window_end: EpochMs,
    pub evidence: Vec<String>,
    pub disagreements: Vec<String>,
    pub next_check: String,
    pub mitigation: String,
}

impl Incident {
    fn from_entry(e: &Entry, window_end: EpochMs) -> Incident {
        Incident {
            hypothesis: e.hypothesis,
            id: e.id,
            title: e.title,
            state: e.state,
            score: e.score,
            start: e.first_seen,
            began_before_window: e.began_before_window,
            end: e.ended_at,
            last_seen: e.last_seen,
            window_end,
            evidence: e.evidence.iter().take(MAX_EVIDENCE).cloned().collect(),
            disagreements: e.disagreements.iter().take(MAX_EVIDENCE).cloned().collect(),
            next_check: e.next_check.clone(),
            mitigation: e.mitigation.clone(),
        }
    }

    /// "started 2026-04-04T10:00:00Z, ended 2026-04-04T10:09:50Z after 9m 50s (35m before the
    /// end of the window)", or "... still failing at the end of the window".
    pub fn span_text(&self) -> String {
        let started = match self.start {
            None => "start unknown".into(),
            Some(s) if self.began_before_window => format!(
                "started before {} (the start of the window)",
                format_datetime(s)
            ),
            Some(s) => format!("started {}", format_datetime(s)),
        };
        match (self.start, self.end) {
            (start, Some(end)) => format!(
                "{started}, ended {}{} ({} before the end of the window)",
                format_datetime(end),
                start.map_or_else(String::new, |s| format!(
                    " after {}{}",
                    if self.began_before_window {
                        "more than "
                    } else {
                        ""
                    },
                    format_duration(end - s)
                )),
                format_duration((self.window_end - end).max(0))
            ),
            (_, None) => format!(
                "{started}, still failing at the end of the window{}",
                self.last_seen.map_or_else(String::new, |l| format!(
                    " (last seen {})",
                    format_datetime(l)
                ))
            ),
        }
    }
}

/// The board's supported and ended hypotheses, in board order, at most [`MAX_INCIDENTS`].
pub fn incidents(board: &Board) -> Vec<Incident> {
    board
        .entries
        .iter()
        .filter(|e| matches!(e.state, State::Supported | State::Ended))
        .take(MAX_INCIDENTS)
        .map(|e| Incident::from_entry(e, board.now))
        .collect()
}

fn state_word(i: &Incident) -> &'static str {
    match i.state {
        State::Ended => "ENDED",
        _ => "ONGOING",
    }
}

/// The plain-text section: each incident's hypothesis, span and evidence; `wrap` fits a line
/// into the report's width.
pub fn to_text(list: &[Incident], wrap: impl Fn(&str, usize) -> Vec<String>) -> String {
    let mut o = String::new();
    if list.is_empty() {
        let _ = writeln!(o, "\nINCIDENT: none supported by the evidence");
        return o;
    }
    for (n, i) in list.iter().enumerate() {
        let heading = if n == 0 { "INCIDENT" } else { "ALSO" };
        let _ = writeln!(
            o,
            "\n{heading}: {} {} [{}, score {}]",
            i.id,
            i.title,
            state_word(i),
            i.score
        );
        for line in wrap(&i.span_text(), 76) {
            let _ = writeln!(o, "  {line}");
        }
        for e in &i.evidence {
            for (k, line) in wrap(e, 72).into_iter().enumerate() {
                let _ = writeln!(o, "  {} {line}", if k == 0 { "-" } else { " " });
            }
        }
    }
    o
}

/// The Markdown section, for the top of a postmortem.
pub fn to_markdown(list: &[Incident]) -> String {
    let mut o = String::from("## Incident\n\n");
    if list.is_empty() {
        o.push_str("No hypothesis is supported by the evidence in the window.\n");
        return o;
    }
    for (n, i) in list.iter().enumerate() {
        if n > 0 {
            o.push('\n');
        }
        let _ = writeln!(
            o,
            "**{} {}** — {}, score {}  ",
            i.id,
            i.title,
            state_word(i).to_lowercase(),
            i.score
        );
        let _ = writeln!(o, "{}\n", i.span_text());
        for e in &i.evidence {
            let _ = writeln!(o, "- {}", one_line(e));
        }
        for d in &i.disagreements {
            let _ = writeln!(o, "- logs and probes disagree: {}", one_line(d));
        }
    }
    o
}

/// A list item stays one item whatever the text holds.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::time::MINUTE;

    const T0: EpochMs = 1_775_296_800_000; // 2026-04-04T10:00:00Z

    fn incident(start: Option<EpochMs>, end: Option<EpochMs>, last: Option<EpochMs>) -> Incident {
        Incident {
            hypothesis: Hypothesis::H2,
            id: "H2",
            title: "Preflight blocked by auth",
            state: if end.is_some() {
                State::Ended
            } else {
                State::Supported
            },
            score: 70,
            start,
            began_before_window: false,
            end,
            last_seen: last,
            window_end: T0 + 40 * MINUTE,
            evidence: vec![],
            disagreements: vec![],
            next_check: String::new(),
            mitigation: String::new(),
        }
    }

    #[test]
    fn spans_say_when_it_started_and_ended() {
        for (i, want) in [
            (
                incident(
                    Some(T0 + 5 * MINUTE),
                    Some(T0 + 19 * MINUTE),
                    Some(T0 + 19 * MINUTE),
                ),
                "started 2026-04-04T10:05:00Z, ended 2026-04-04T10:19:00Z after 14m (21m before the end of the window)",
            ),
            (
                incident(Some(T0 + 5 * MINUTE), None, Some(T0 + 39 * MINUTE)),
                "started 2026-04-04T10:05:00Z, still failing at the end of the window (last seen 2026-04-04T10:39:00Z)",
            ),
            (
                Incident {
                    began_before_window: true,
                    ..incident(Some(T0 + 25 * MINUTE), Some(T0 + 30 * MINUTE), None)
                },
                "started before 2026-04-04T10:25:00Z (the start of the window), ended 2026-04-04T10:30:00Z after more than 5m (10m before the end of the window)",
            ),
            (
                incident(None, None, None),
                "start unknown, still failing at the end of the window",
            ),
        ] {
            assert_eq!(i.span_text(), want);
        }
    }

    #[test]
    fn only_supported_and_ended_entries_are_incidents() {
        use crate::analysis::triage::{Board, Ranking};
        let entry = |h: Hypothesis, state: State| Entry {
            hypothesis: h,
            id: h.id(),
            title: h.title(),
            state,
            score: 50,
            evidence: vec!["x".into()],
            weakening: vec![],
            next_check: String::new(),
            mitigation: String::new(),
            disagreements: vec![],
            first_seen: None,
            last_seen: None,
            ended_at: None,
            began_before_window: false,
        };
        let board = Board {
            now: T0,
            span_ms: 15 * MINUTE,
            ranking: Ranking::Impact,
            entries: vec![
                entry(Hypothesis::H2, State::Ended),
                entry(Hypothesis::H1, State::Weakened),
                entry(Hypothesis::H3, State::Supported),
                entry(Hypothesis::H4, State::NoEvidence),
            ],
        };
        let ids: Vec<&str> = incidents(&board).iter().map(|i| i.id).collect();
        assert_eq!(ids, ["H2", "H3"]);
        assert!(to_text(&incidents(&board), |s, _| vec![s.to_string()]).contains("INCIDENT: H2"));
    }
}
