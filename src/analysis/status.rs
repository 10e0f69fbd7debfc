//! THE status rule: the one place that decides PAGE / DEGRADED / OK. The header badge, the
//! overview, `report` (table, JSON, Markdown) and the webhook notifier all show the
//! [`StatusSummary`] this module computes; nothing else decides a level.
//!
//! Inputs, each turned into reasons with a level of their own:
//!
//! | input | reason | level |
//! |---|---|---|
//! | a page alert (critical route failing above 5 % for more than 10 minutes) | the alert | PAGE |
//! | a page-pending alert (critical route failing, not long enough yet) | the alert | DEGRADED |
//! | an SLO alert (a route's preflight success below objective over 15 minutes) | the alert | DEGRADED |
//! | the latest verdict of any probe is blocked | "N of M probes blocked", critical ones named | DEGRADED |
//! | a source has a problem, or its state is an error | "label: the whole error" | DEGRADED |
//! | a hypothesis is supported on the "now" board (its failures are ongoing) | its id and title | DEGRADED |
//!
//! The level is the worst reason's; reasons are listed worst first. **OK** therefore means
//! every source is reading, every probe passes, every SLI is within objective and no
//! hypothesis is failing now. An incident that ended (state `ended`) is not a reason.
//!
//! Each reason has a stable key (`route:/api/x`, `probes`, `source:http.log`,
//! `hypothesis:H2`) so the notifier can tell an escalation from a new incident.

use serde::Serialize;

use crate::analysis::alerts::{AlertKind, AlertState};
use crate::analysis::triage::{Board, State};
use crate::model::time::EpochMs;
use crate::store::history::READING_HISTORY;
use crate::store::{SourceStats, Store};

/// The three levels, ordered: `Page` is worse than `Degraded`, which is worse than `Ok`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    #[default]
    Ok,
    Degraded,
    Page,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Degraded => "DEGRADED",
            Status::Page => "PAGE",
        }
    }
}

/// One reason behind the status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusReason {
    pub level: Status,
    /// Stable identity across evaluations (`route:/api/x`, `probes`, `source:<label>`,
    /// `hypothesis:H2`).
    pub key: String,
    pub text: String,
    /// When the condition started, when known.
    pub since: Option<EpochMs>,
    /// How long it has held, when measured (page alerts).
    pub for_ms: Option<EpochMs>,
}

/// The level and why, worst reason first.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize)]
pub struct StatusSummary {
    pub level: Status,
    pub reasons: Vec<StatusReason>,
    /// Sources whose history is still being read (`loading history: access.log 43 %`): until
    /// it is in, an OK level speaks for a store that does not hold the logs yet, so it is
    /// shown as loading instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loading: Option<String>,
}

impl StatusSummary {
    /// The longest-held page alert, for the badge ("PAGE 12m").
    pub fn page_for_ms(&self) -> Option<EpochMs> {
        self.reasons
            .iter()
            .filter(|r| r.level == Status::Page)
            .filter_map(|r| r.for_ms)
            .max()
    }
}

/// Latest verdict of one probe, as the rule needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeInput {
    /// Route template or URL, to name critical blocked probes.
    pub endpoint: String,
    pub origin: String,
    pub critical: bool,
    pub allowed: bool,
    /// corstop's own limit or resources stopped the probe: not blocked by the server, and not
    /// OK either.
    pub not_judged: bool,
}

/// One source, as the rule needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceInput {
    pub label: String,
    /// Set by whatever found the source not reading correctly.
    pub problem: Option<String>,
    /// The lifecycle state shown in the sources panel; `error: …` is an error state.
    pub state: String,
}

impl SourceInput {
    /// `window_ms` is the store's retention, named in the problem of a source whose lines
    /// were all older than it.
    pub fn from_stats(s: &SourceStats, window_ms: EpochMs) -> SourceInput {
        SourceInput {
            label: s.label.clone(),
            problem: s.problem_text(window_ms),
            state: s.state.clone(),
        }
    }
}

/// The supported hypothesis the rule reads.
#[derive(Clone, Debug, PartialEq)]
pub struct HypothesisInput {
    pub id: String,
    pub title: String,
    pub since: Option<EpochMs>,
}

/// Everything [`decide`] reads.
#[derive(Clone, Debug, Default)]
pub struct StatusInputs<'a> {
    pub alerts: Option<&'a AlertState>,
    pub probes: Vec<ProbeInput>,
    pub sources: Vec<SourceInput>,
    /// The leading hypothesis among those supported with failures ongoing.
    pub supported: Option<HypothesisInput>,
}

/// Critical blocked probes named in the probe reason at most.
const MAX_NAMED_PROBES: usize = 3;

/// The rule (see the module doc).
pub fn decide(inputs: &StatusInputs<'_>) -> StatusSummary {
    let mut reasons: Vec<StatusReason> = Vec::new();
    if let Some(alerts) = inputs.alerts {
        for a in &alerts.alerts {
            let (level, for_ms) = match a.kind {
                AlertKind::Page => (Status::Page, Some(a.for_ms)),
                AlertKind::PagePending => (Status::Degraded, Some(a.for_ms)),
                AlertKind::Slo => (Status::Degraded, None),
            };
            reasons.push(StatusReason {
                level,
                key: format!("route:{}", a.route),
                text: a.message.clone(),
                since: Some(a.since),
                for_ms,
            });
        }
    }
    let unjudged = inputs.probes.iter().filter(|p| p.not_judged).count();
    if unjudged > 0 {
        reasons.push(StatusReason {
            level: Status::Degraded,
            key: "probes-unjudged".into(),
            text: format!(
                "{unjudged} of {} probes could not be judged: corstop's own limit or resources, \
                 not the server (see the probe detail)",
                inputs.probes.len()
            ),
            since: None,
            for_ms: None,
        });
    }
    let blocked: Vec<&ProbeInput> = inputs
        .probes
        .iter()
        .filter(|p| !p.allowed && !p.not_judged)
        .collect();
    if !blocked.is_empty() {
        let critical: Vec<&&ProbeInput> = blocked.iter().filter(|p| p.critical).collect();
        let mut text = format!(
            "{} of {} probes blocked",
            blocked.len(),
            inputs.probes.len()
        );
        if critical.is_empty() {
            text.push_str(", none critical");
        } else {
            let mut names: Vec<String> = critical
                .iter()
                .map(|p| format!("{} from {}", p.endpoint, p.origin))
                .collect();
            names.dedup();
            let more = names.len().saturating_sub(MAX_NAMED_PROBES);
            names.truncate(MAX_NAMED_PROBES);
            text.push_str(&format!(
                ", {} critical: {}{}",
                critical.len(),
                names.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }
        reasons.push(StatusReason {
            level: Status::Degraded,
            key: "probes".into(),
            text,
            since: None,
            for_ms: None,
        });
    }
    for s in &inputs.sources {
        let problems = s.problem.clone().into_iter().chain(source_error(&s.state));
        for p in problems {
            reasons.push(StatusReason {
                level: Status::Degraded,
                key: format!("source:{}", s.label),
                text: format!("{}: {p}", s.label),
                since: None,
                for_ms: None,
            });
        }
    }
    if let Some(h) = &inputs.supported {
        reasons.push(StatusReason {
            level: Status::Degraded,
            key: format!("hypothesis:{}", h.id),
            text: format!("{} {} is supported and failing now", h.id, h.title),
            since: h.since,
            for_ms: None,
        });
    }
    // Stable: within a level the order above holds (alerts, probes, sources, hypothesis).
    reasons.sort_by_key(|r| std::cmp::Reverse(r.level));
    let loading: Vec<String> = inputs
        .sources
        .iter()
        .filter_map(|s| {
            let left = s.state.strip_prefix(READING_HISTORY)?;
            Some(format!("{}{left}", s.label))
        })
        .collect();
    StatusSummary {
        level: reasons.first().map_or(Status::Ok, |r| r.level),
        reasons,
        loading: (!loading.is_empty()).then(|| format!("loading history: {}", loading.join(", "))),
    }
}

/// The error in a source's state, whole: `error: …`, or `<file>: error: …` for one file of a
/// glob. `None` for every other state.
pub fn source_error(state: &str) -> Option<String> {
    if let Some(e) = state.strip_prefix("error: ") {
        return Some(e.to_string());
    }
    let (file, rest) = state.split_once(": error: ")?;
    Some(format!("{file}: {rest}"))
}

/// The leading hypothesis whose failures are ongoing (`ended` ones are history).
pub fn supported_now(board: &Board) -> Option<HypothesisInput> {
    board
        .entries
        .iter()
        .find(|e| e.state == State::Supported && e.score > 0)
        .map(|e| HypothesisInput {
            id: e.id.to_string(),
            title: e.title.to_string(),
            since: e.first_seen,
        })
}

/// Latest probe verdicts of the store.
pub fn probe_inputs(store: &Store) -> Vec<ProbeInput> {
    store
        .probe_latest()
        .iter()
        .map(|p| ProbeInput {
            endpoint: crate::store::route::template(super::url_path(&p.url)).into_owned(),
            origin: p.origin.clone(),
            critical: p.critical,
            allowed: p.verdict.allowed && p.transport.is_none(),
            not_judged: p
                .transport
                .as_ref()
                .is_some_and(|t| t.kind == crate::sources::event::TransportKind::Local),
        })
        .collect()
}

/// The rule over a store, its alert state and the board that says what is failing now.
pub fn of_store(store: &Store, alerts: &AlertState, board: &Board) -> StatusSummary {
    decide(&StatusInputs {
        alerts: Some(alerts),
        probes: probe_inputs(store),
        sources: store
            .sources()
            .iter()
            .map(|s| SourceInput::from_stats(s, store.config().retention_ms))
            .collect(),
        supported: supported_now(board),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::alerts::Alert;

    fn alerts(kinds: &[AlertKind]) -> AlertState {
        AlertState {
            now: 0,
            objective: 0.999,
            slis: Vec::new(),
            alerts: kinds
                .iter()
                .map(|&kind| Alert {
                    kind,
                    route: "/api/orders".into(),
                    since: 0,
                    for_ms: 11 * crate::model::time::MINUTE,
                    value: 0.2,
                    message: format!("{kind:?} on /api/orders"),
                })
                .collect(),
            critical_routes: Vec::new(),
        }
    }

    fn probe(allowed: bool, critical: bool) -> ProbeInput {
        ProbeInput {
            endpoint: "/api/orders".into(),
            origin: "https://app.example".into(),
            critical,
            allowed,
            not_judged: false,
        }
    }

    fn source(problem: Option<&str>, state: &str) -> SourceInput {
        SourceInput {
            label: "http.log".into(),
            problem: problem.map(str::to_string),
            state: state.into(),
        }
    }

    #[test]
    fn the_rule_table() {
        struct Case {
            name: &'static str,
            alerts: Vec<AlertKind>,
            probes: Vec<ProbeInput>,
            sources: Vec<SourceInput>,
            supported: bool,
            want: Status,
            first_reason: Option<&'static str>,
        }
        let h2 = || HypothesisInput {
            id: "H2".into(),
            title: "preflight blocked by auth".into(),
            since: None,
        };
        let cases = vec![
            Case {
                name: "all quiet",
                alerts: vec![],
                probes: vec![probe(true, true)],
                sources: vec![source(None, "following")],
                supported: false,
                want: Status::Ok,
                first_reason: None,
            },
            Case {
                name: "page alert",
                alerts: vec![AlertKind::Slo, AlertKind::Page],
                probes: vec![],
                sources: vec![],
                supported: false,
                want: Status::Page,
                first_reason: Some("Page on /api/orders"),
            },
            Case {
                name: "page pending is degraded",
                alerts: vec![AlertKind::PagePending],
                probes: vec![],
                sources: vec![],
                supported: false,
                want: Status::Degraded,
                first_reason: Some("PagePending on /api/orders"),
            },
            Case {
                name: "slo alert",
                alerts: vec![AlertKind::Slo],
                probes: vec![],
                sources: vec![],
                supported: false,
                want: Status::Degraded,
                first_reason: Some("Slo on /api/orders"),
            },
            Case {
                name: "one blocked probe among many",
                alerts: vec![],
                probes: vec![probe(true, true), probe(true, false), probe(false, false)],
                sources: vec![],
                supported: false,
                want: Status::Degraded,
                first_reason: Some("1 of 3 probes blocked, none critical"),
            },
            Case {
                name: "critical blocked probe is named",
                alerts: vec![],
                probes: vec![probe(false, true), probe(true, false)],
                sources: vec![],
                supported: false,
                want: Status::Degraded,
                first_reason: Some(
                    "1 of 2 probes blocked, 1 critical: /api/orders from https://app.example",
                ),
            },
            Case {
                name: "source problem",
                alerts: vec![],
                probes: vec![],
                sources: vec![source(
                    Some("798 lines older than the window"),
                    "read to end",
                )],
                supported: false,
                want: Status::Degraded,
                first_reason: Some("http.log: 798 lines older than the window"),
            },
            Case {
                name: "source error state keeps the whole error",
                alerts: vec![],
                probes: vec![],
                sources: vec![source(
                    None,
                    "error: cannot open: Permission denied (os error 13)",
                )],
                supported: false,
                want: Status::Degraded,
                first_reason: Some("http.log: cannot open: Permission denied (os error 13)"),
            },
            Case {
                name: "waiting for a file that appeared before is not a problem",
                alerts: vec![],
                probes: vec![],
                sources: vec![source(None, "waiting for file")],
                supported: false,
                want: Status::Ok,
                first_reason: None,
            },
            Case {
                name: "supported hypothesis failing now",
                alerts: vec![],
                probes: vec![probe(true, true)],
                sources: vec![source(None, "following")],
                supported: true,
                want: Status::Degraded,
                first_reason: Some("H2 preflight blocked by auth is supported and failing now"),
            },
            Case {
                name: "page outranks every degraded reason",
                alerts: vec![AlertKind::Page],
                probes: vec![probe(false, true)],
                sources: vec![source(Some("x"), "following")],
                supported: true,
                want: Status::Page,
                first_reason: Some("Page on /api/orders"),
            },
        ];
        for c in cases {
            let a = alerts(&c.alerts);
            let got = decide(&StatusInputs {
                alerts: Some(&a),
                probes: c.probes,
                sources: c.sources,
                supported: c.supported.then(h2),
            });
            assert_eq!(got.level, c.want, "{}: {:?}", c.name, got.reasons);
            assert_eq!(
                got.reasons.first().map(|r| r.text.as_str()),
                c.first_reason,
                "{}",
                c.name
            );
            assert_eq!(got.reasons.is_empty(), c.want == Status::Ok, "{}", c.name);
            assert!(
                got.reasons.windows(2).all(|w| w[0].level >= w[1].level),
                "{}: worst first",
                c.name
            );
        }
    }

    #[test]
    fn source_errors_are_read_whole() {
        for (state, want) in [
            ("following", None),
            ("waiting for file", None),
            (
                "error: cannot open: Permission denied (os error 13)",
                Some("cannot open: Permission denied (os error 13)"),
            ),
            (
                "b.log: error: cannot open: Is a directory (os error 21)",
                Some("b.log: cannot open: Is a directory (os error 21)"),
            ),
        ] {
            assert_eq!(source_error(state).as_deref(), want, "{state}");
        }
    }

    #[test]
    fn history_still_loading_is_not_a_plain_ok() {
        let quiet = |states: &[(&str, &str)]| {
            decide(&StatusInputs {
                sources: states
                    .iter()
                    .map(|(label, state)| SourceInput {
                        label: (*label).into(),
                        problem: None,
                        state: (*state).into(),
                    })
                    .collect(),
                ..Default::default()
            })
        };
        let s = quiet(&[
            ("access.log", "reading history 43 %"),
            ("auth.log", "following"),
        ]);
        assert_eq!(s.level, Status::Ok);
        assert!(s.reasons.is_empty());
        assert_eq!(
            s.loading.as_deref(),
            Some("loading history: access.log 43 %")
        );
        let s = quiet(&[
            ("a.log", "reading history 0 %"),
            ("b.log", "reading history 99 %"),
        ]);
        assert_eq!(
            s.loading.as_deref(),
            Some("loading history: a.log 0 %, b.log 99 %")
        );
        assert_eq!(quiet(&[("access.log", "following")]).loading, None);
        // A real problem is shown as such while history loads.
        let s = decide(&StatusInputs {
            probes: vec![probe(false, true)],
            sources: vec![source(None, "reading history 10 %")],
            ..Default::default()
        });
        assert_eq!(s.level, Status::Degraded);
        assert!(s.loading.is_some());
    }

    #[test]
    fn page_badge_duration_is_the_longest_page() {
        let s = decide(&StatusInputs {
            alerts: Some(&alerts(&[AlertKind::Page, AlertKind::PagePending])),
            ..Default::default()
        });
        assert_eq!(s.page_for_ms(), Some(11 * crate::model::time::MINUTE));
    }
}
