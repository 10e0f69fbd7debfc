//! Pure functions from the store to what the screens show. No I/O, no clocks: the wall time is
//! passed in, so the same store always gives the same view model.
//!
//! One [`snapshot`] is taken per frame under the store lock; the views only ever see the
//! [`ViewModel`], never the store, so drawing happens with the lock released.

pub mod alerts;
pub mod bursts;
pub mod evidence;
pub mod expiry;
pub mod followup;
pub mod overview;
pub mod series;
pub mod triage;
pub mod waves;

use crate::event::{Hypothesis, ProbeResult};
use crate::store::{AuthSample, Store, TimeMode};

use self::alerts::{AlertConfig, AlertState};
use self::triage::{Board, Entry};
use crate::time::{EpochMs, HOUR, MINUTE};

pub use overview::{
    AuthSummary, Folding, Overview, PAGE_FAILURE_RATE, PAGE_MIN_REQUESTS, PAGE_WINDOW_MS,
    PREFLIGHT_OBJECTIVE, ProbeCounts, RouteHealth, STATUS_WINDOW_MS, SourceHealth, Status,
};
pub use series::{
    AuthTimeline, MAX_COLUMNS, OriginCell, OriginTable, RouteTrend, StatusClass, Trend,
};

/// The time ranges the trend, origin and auth views can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TimeRange {
    #[default]
    M15,
    H1,
    H6,
}

impl TimeRange {
    pub const ALL: [TimeRange; 3] = [TimeRange::M15, TimeRange::H1, TimeRange::H6];

    pub fn span_ms(self) -> EpochMs {
        match self {
            TimeRange::M15 => 15 * MINUTE,
            TimeRange::H1 => HOUR,
            TimeRange::H6 => 6 * HOUR,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TimeRange::M15 => "15m",
            TimeRange::H1 => "1h",
            TimeRange::H6 => "6h",
        }
    }

    pub fn next(self) -> TimeRange {
        match self {
            TimeRange::M15 => TimeRange::H1,
            TimeRange::H1 => TimeRange::H6,
            TimeRange::H6 => TimeRange::M15,
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Most raw lines copied into one view model; the log view shows the newest of them.
pub const MAX_LOG_LINES: usize = 1000;
/// Most auth samples copied into one view model.
pub const MAX_AUTH_SAMPLES: usize = 32;

/// A raw line with its source label resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    pub seq: u64,
    pub source: String,
    pub wall: EpochMs,
    pub text: String,
}

/// One row of the probe table.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeRow {
    pub time: EpochMs,
    pub endpoint: String,
    pub url: String,
    pub origin: String,
    pub shape: String,
    pub critical: bool,
    pub allowed: bool,
    /// The verdict code, or the transport error kind when there was no response.
    pub code: String,
    pub hidden_status: Option<u16>,
    pub latency_ms: Option<u32>,
    pub instance: Option<String>,
    /// More than one `Access-Control-Allow-Origin` line in any response.
    pub doubled_acao: bool,
}

/// Verdicts kept per probe row for its history.
pub const PROBE_HISTORY: usize = 12;

/// One earlier verdict of a probe (endpoint × origin × shape).
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeHistoryEntry {
    pub time: EpochMs,
    pub allowed: bool,
    pub code: String,
    pub hidden_status: Option<u16>,
    pub instance: Option<String>,
}

/// The history of every latest probe, from the store's bounded probe ring.
fn probe_histories(store: &Store) -> Vec<Vec<ProbeHistoryEntry>> {
    store
        .probe_latest()
        .iter()
        .map(|latest| {
            store
                .probe_history()
                .rev()
                .filter(|r| {
                    r.url == latest.url && r.origin == latest.origin && r.shape == latest.shape
                })
                .take(PROBE_HISTORY)
                .map(|r| ProbeHistoryEntry {
                    time: r.time,
                    allowed: r.verdict.allowed,
                    code: match &r.transport {
                        Some(t) => t.kind.as_str().to_string(),
                        None => r.verdict.code.to_string(),
                    },
                    hidden_status: r.verdict.hidden_status,
                    instance: r.instance.clone(),
                })
                .collect()
        })
        .collect()
}

/// Everything every view needs, computed in one go under the store lock.
#[derive(Clone, Debug)]
pub struct ViewModel {
    pub now: EpochMs,
    pub generation: u64,
    pub time_mode: TimeMode,
    pub bucket_ms: EpochMs,
    pub overview: Overview,
    /// Indexed by [`TimeRange::index`].
    pub trends: [Trend; 3],
    pub origins: [OriginTable; 3],
    pub auth: [AuthTimeline; 3],
    /// Newest first.
    pub auth_samples: Vec<AuthSample>,
    pub probes: Vec<ProbeRow>,
    /// Full results behind `probes`, same order, for the detail pane.
    pub probe_results: Vec<ProbeResult>,
    /// Earlier verdicts of each row in `probes` (same order), newest first, at most
    /// [`PROBE_HISTORY`] each.
    pub probe_history: Vec<Vec<ProbeHistoryEntry>>,
    /// Oldest first.
    pub log: Vec<LogLine>,
    /// Lines in the store's ring (the model keeps at most [`MAX_LOG_LINES`]).
    pub log_ring_len: usize,
    /// Every hypothesis scored over the last [`TRIAGE_SPAN_MS`], highest first.
    pub triage: Board,
    /// OK / DEGRADED / PAGE with the active alerts.
    pub alerts: AlertState,
    /// The leading hypothesis when the evidence supports it (not merely the highest score).
    pub top: Option<Hypothesis>,
}

impl ViewModel {
    pub fn trend(&self, r: TimeRange) -> &Trend {
        &self.trends[r.index()]
    }
    pub fn origin_table(&self, r: TimeRange) -> &OriginTable {
        &self.origins[r.index()]
    }
    pub fn auth_timeline(&self, r: TimeRange) -> &AuthTimeline {
        &self.auth[r.index()]
    }
    /// The board entry of [`ViewModel::top`].
    pub fn top_entry(&self) -> Option<&Entry> {
        self.top.and_then(|h| self.triage.get(h))
    }
}

/// Window the triage board counts over: the on-call question is "what is failing now".
pub const TRIAGE_SPAN_MS: EpochMs = 15 * MINUTE;

/// The analysis settings the dashboard can change.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalysisConfig {
    /// Token lifetimes that 401-burst periods are compared with (Entra ID / Google: 1 h).
    pub token_lifetimes_ms: Vec<EpochMs>,
    pub alerts: AlertConfig,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            token_lifetimes_ms: vec![60 * MINUTE],
            alerts: AlertConfig::default(),
        }
    }
}

/// The triage board and alert state of one store state: the part of the view model that
/// costs the most, so a caller may compute it less often than the rest (see
/// [`snapshot_parts`]).
#[derive(Clone, Debug)]
pub struct Verdicts {
    pub triage: Board,
    pub alerts: AlertState,
}

/// Scores the board and evaluates the alerts.
pub fn verdicts(store: &Store, cfg: &AnalysisConfig) -> Verdicts {
    Verdicts {
        triage: triage::triage(store, TRIAGE_SPAN_MS, &cfg.token_lifetimes_ms),
        alerts: alerts::evaluate(store, &cfg.alerts),
    }
}

/// Computes the view model with the default [`AnalysisConfig`]. `wall_now` only feeds
/// wall-clock figures (lines per second, age of the last line); everything windowed uses the
/// store's own "now".
pub fn snapshot(store: &Store, wall_now: EpochMs) -> ViewModel {
    snapshot_with(store, wall_now, &AnalysisConfig::default())
}

/// [`snapshot`] with explicit token lifetimes and alert rules.
pub fn snapshot_with(store: &Store, wall_now: EpochMs, cfg: &AnalysisConfig) -> ViewModel {
    snapshot_parts(store, wall_now, verdicts(store, cfg))
}

/// [`snapshot`] around a board and alert state computed earlier (possibly from an older store
/// state): the dashboard rescores at most about once a second while the counters refresh with
/// every store change.
pub fn snapshot_parts(store: &Store, wall_now: EpochMs, verdicts: Verdicts) -> ViewModel {
    let critical = overview::critical_routes(store);
    let (trends, origins, auth) = series::compute(store, &critical);
    let probes: Vec<ProbeRow> = store.probe_latest().iter().map(probe_row).collect();
    let probe_results = store.probe_latest().to_vec();
    let probe_history = probe_histories(store);
    let labels: Vec<&str> = store.sources().iter().map(|s| s.label.as_str()).collect();
    let log_ring_len = store.raw_lines().count();
    let mut log: Vec<LogLine> = store
        .raw_lines()
        .rev()
        .take(MAX_LOG_LINES)
        .map(|l| LogLine {
            seq: l.seq,
            source: labels
                .get(l.source as usize)
                .copied()
                .unwrap_or("?")
                .to_string(),
            wall: l.wall,
            text: l.text.clone(),
        })
        .collect();
    log.reverse();
    ViewModel {
        now: store.now(),
        generation: store.generation(),
        time_mode: store.mode(),
        bucket_ms: store.bucket_ms(),
        overview: overview::compute(store, &critical, &probes, wall_now),
        trends,
        origins,
        auth,
        auth_samples: newest_auth_samples(store),
        probes,
        probe_results,
        probe_history,
        log,
        log_ring_len,
        top: verdicts
            .triage
            .top()
            .filter(|e| e.state == triage::State::Supported)
            .map(|e| e.hypothesis),
        triage: verdicts.triage,
        alerts: verdicts.alerts,
    }
}

/// The newest auth samples by event time (they arrive in file order, which interleaves
/// when several auth logs are tailed).
fn newest_auth_samples(store: &Store) -> Vec<AuthSample> {
    let mut v: Vec<AuthSample> = store.auth_samples().cloned().collect();
    v.sort_by_key(|s| std::cmp::Reverse(s.time));
    v.truncate(MAX_AUTH_SAMPLES);
    v
}

/// Indices of the log lines containing `filter` (case-insensitive); all lines when empty.
pub fn filter_log(lines: &[LogLine], filter: &str) -> Vec<usize> {
    if filter.is_empty() {
        return (0..lines.len()).collect();
    }
    let needle = filter.to_lowercase();
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            l.text.to_lowercase().contains(&needle) || l.source.to_lowercase().contains(&needle)
        })
        .map(|(i, _)| i)
        .collect()
}

/// The path of a URL, for matching probes to logged routes (`https://h/api/x?q` → `/api/x`).
pub fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    path.split(['?', '#']).next().unwrap_or("/")
}

fn probe_row(p: &ProbeResult) -> ProbeRow {
    let doubled_acao = [p.preflight.as_ref(), p.actual.as_ref()]
        .into_iter()
        .flatten()
        .any(|r| r.all("access-control-allow-origin").count() > 1);
    let latency_ms = match (&p.preflight, &p.actual) {
        (None, None) => None,
        (a, b) => {
            Some(a.as_ref().map_or(0, |r| r.elapsed_ms) + b.as_ref().map_or(0, |r| r.elapsed_ms))
        }
    };
    let code = match &p.transport {
        Some(t) if p.preflight.is_none() && p.actual.is_none() => {
            format!("transport-{}", t.kind.as_str())
        }
        _ => p.verdict.code.to_string(),
    };
    ProbeRow {
        time: p.time,
        endpoint: crate::route::template(url_path(&p.url)).into_owned(),
        url: p.url.clone(),
        origin: p.origin.clone(),
        shape: p.shape.name.clone(),
        critical: p.critical,
        allowed: p.verdict.allowed && p.transport.is_none(),
        code,
        hidden_status: p.verdict.hidden_status,
        latency_ms,
        instance: p.instance.clone(),
        doubled_acao,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_paths() {
        for (url, path) in [
            ("https://api.contoso.com/api/orders?x=1", "/api/orders"),
            ("http://127.0.0.1:8080", "/"),
            ("https://h/a/b#frag", "/a/b"),
            ("/relative", "/relative"),
        ] {
            assert_eq!(url_path(url), path, "{url}");
        }
    }

    #[test]
    fn ranges_cycle() {
        assert_eq!(TimeRange::M15.next().next().next(), TimeRange::M15);
        assert_eq!(TimeRange::H6.span_ms(), 6 * HOUR);
    }
}
