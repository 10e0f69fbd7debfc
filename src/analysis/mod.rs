//! Pure functions from the store to what the screens show. No I/O, no clocks: the wall time is
//! passed in, so the same store always gives the same view model.
//!
//! One [`snapshot`] is taken per frame under the store lock; the views only ever see the
//! [`ViewModel`], never the store, so drawing happens with the lock released.

pub mod alerts;
pub mod bursts;
pub mod evidence;
pub mod expiry;
pub mod fleet;
pub mod followup;
pub mod incident;
pub mod log;
pub mod overview;
pub mod pairs;
pub mod series;
pub mod status;
pub mod triage;
pub mod waves;

use crate::sources::event::{Hypothesis, ProbeResult};
use crate::store::{AuthSample, Store, TimeMode};

use self::alerts::{AlertConfig, AlertState};
use self::triage::{Board, Entry};
use crate::model::time::{EpochMs, HOUR, MINUTE};

pub use log::{LogLine, MAX_LOG_LINES, Outcome, filter_log};
pub use overview::{
    AuthSummary, Folding, Overview, PAGE_FAILURE_RATE, PREFLIGHT_OBJECTIVE, ProbeCounts,
    RouteHealth, STATUS_WINDOW_MS, SourceHealth,
};
pub use series::{
    AuthTimeline, MAX_COLUMNS, OriginCell, OriginTable, RouteTrend, StatusClass, Trend,
};
pub use status::{Status, StatusSummary};

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

/// Most auth samples copied into one view model.
pub const MAX_AUTH_SAMPLES: usize = 32;

/// One row of the probe table.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeRow {
    pub time: EpochMs,
    /// The route template of the URL's path.
    pub endpoint: String,
    /// The host (with port, and scheme when two are probed) when the probes reach several,
    /// `None` when they all reach one.
    pub host: Option<String>,
    pub url: String,
    pub origin: String,
    pub shape: String,
    /// The credentials mode the probe sent, so a verdict is read against what the page does.
    pub credentials: crate::cors::Credentials,
    pub critical: bool,
    pub allowed: bool,
    /// The verdict code, as every output names it.
    pub code: String,
    /// What failed when there was no HTTP response at all.
    pub transport: Option<crate::sources::event::TransportKind>,
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
    /// 401/403 bursts found in each of `auth`, compared with the configured token lifetimes.
    pub auth_bursts: [waves::AuthBursts; 3],
    /// The clients' own recurrences over each range (see [`bursts::client_periods`]).
    pub auth_clients: [bursts::ClientPeriods; 3],
    /// Newest first, whatever their time: [`Self::auth_samples_in`] keeps to a range.
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
    /// The range the triage board, its evidence and every windowed panel cover (the `t` key).
    pub range: TimeRange,
    /// Every hypothesis scored over `range`, in [`triage::Ranking::Now`] order.
    pub triage: Board,
    /// The board over the last [`TRIAGE_SPAN_MS`], "what is failing now", which [`Self::top`]
    /// and the status read whatever range is on screen (the same board as `triage` when the
    /// range is 15 minutes).
    pub triage_now: Board,
    /// The active alerts with their details (an input of [`Self::status`]).
    pub alerts: AlertState,
    /// PAGE / DEGRADED / OK and why: the one status every view shows ([`status`]).
    pub status: StatusSummary,
    /// The leading hypothesis when the evidence supports it (not merely the highest score).
    pub top: Option<Hypothesis>,
    /// The fleet's instances and probes, when the panels come from Prometheus.
    pub fleet: Option<fleet::FleetModel>,
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
    pub fn auth_bursts(&self, r: TimeRange) -> &waves::AuthBursts {
        &self.auth_bursts[r.index()]
    }
    pub fn auth_clients(&self, r: TimeRange) -> &bursts::ClientPeriods {
        &self.auth_clients[r.index()]
    }
    /// The newest auth failures inside `r` (from the start of its first bucket, as the auth
    /// chart above them), newest first.
    pub fn auth_samples_in(&self, r: TimeRange) -> &[AuthSample] {
        let start = self.auth_timeline(r).axis.start;
        let n = self
            .auth_samples
            .iter()
            .take_while(|s| s.time >= start)
            .count();
        &self.auth_samples[..n]
    }
    /// Route health and auth failures over `r`.
    pub fn health(&self, r: TimeRange) -> &overview::RangeHealth {
        &self.overview.by_range[r.index()]
    }
    /// The board entry of [`ViewModel::top`] (from [`ViewModel::triage_now`]).
    pub fn top_entry(&self) -> Option<&Entry> {
        self.top.and_then(|h| self.triage_now.get(h))
    }
}

/// Window of the "now" triage board that the status reads: the on-call question is "what is
/// failing now". The board on screen covers the selected [`TimeRange`].
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
    pub range: TimeRange,
    /// Over `range`.
    pub triage: Board,
    /// Over [`TRIAGE_SPAN_MS`] when `range` is longer; `None` when `triage` is that board.
    pub now: Option<Board>,
    pub alerts: AlertState,
    /// The token lifetimes the board was scored with; the auth view's bursts use them too.
    pub token_lifetimes_ms: Vec<EpochMs>,
}

/// Scores the board over the last 15 minutes and evaluates the alerts.
pub fn verdicts(store: &Store, cfg: &AnalysisConfig) -> Verdicts {
    verdicts_for(store, cfg, TimeRange::M15)
}

/// Scores the board over `range` (and over [`TRIAGE_SPAN_MS`] too when `range` is longer, for
/// the status) and evaluates the alerts.
pub fn verdicts_for(store: &Store, cfg: &AnalysisConfig, range: TimeRange) -> Verdicts {
    let lifetimes = &cfg.token_lifetimes_ms;
    let span = range.span_ms();
    Verdicts {
        range,
        triage: triage::triage(store, span, lifetimes),
        now: (span != TRIAGE_SPAN_MS).then(|| triage::triage(store, TRIAGE_SPAN_MS, lifetimes)),
        alerts: alerts::evaluate(store, &cfg.alerts),
        token_lifetimes_ms: lifetimes.clone(),
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

/// [`snapshot_with`] with the triage board over `range`.
pub fn snapshot_range(
    store: &Store,
    wall_now: EpochMs,
    cfg: &AnalysisConfig,
    range: TimeRange,
) -> ViewModel {
    snapshot_parts(store, wall_now, verdicts_for(store, cfg, range))
}

/// [`snapshot`] around a board and alert state computed earlier (possibly from an older store
/// state): the dashboard rescores at most about once a second while the counters refresh with
/// every store change.
pub fn snapshot_parts(store: &Store, wall_now: EpochMs, verdicts: Verdicts) -> ViewModel {
    let critical = overview::critical_routes(store);
    let (trends, mut origins, auth) = series::compute(store, &critical);
    let mut probes: Vec<ProbeRow> = store.probe_latest().iter().map(probe_row).collect();
    name_hosts_when_several(&mut probes);
    pairs::note_probes(&mut origins, &probes);
    let mut overview = overview::compute(store, &critical, &probes, wall_now);
    pairs::add_refusals(&mut overview, &origins);
    let probe_results = store.probe_latest().to_vec();
    let probe_history = probe_histories(store);
    let log_ring_len = store.raw_lines().count();
    let log = log::lines(store);
    let lifetimes = &verdicts.token_lifetimes_ms;
    let now = store.now();
    let client_episodes = store.client_failures().episodes(EpochMs::MIN, EpochMs::MAX);
    let auth_bursts = std::array::from_fn(|i| waves::auth_bursts(&auth[i], lifetimes));
    let auth_clients = TimeRange::ALL
        .map(|r| client_periods_since(&client_episodes, now - r.span_ms(), lifetimes));
    let triage_now = verdicts.now.unwrap_or_else(|| verdicts.triage.clone());
    let status = status::of_store(store, &verdicts.alerts, &triage_now);
    ViewModel {
        now: store.now(),
        generation: store.generation(),
        time_mode: store.mode(),
        bucket_ms: store.bucket_ms(),
        overview,
        trends,
        origins,
        auth,
        auth_bursts,
        auth_clients,
        auth_samples: newest_auth_samples(store),
        probes,
        probe_results,
        probe_history,
        log,
        log_ring_len,
        top: triage_now
            .top()
            .filter(|e| e.state == triage::State::Supported)
            .map(|e| e.hypothesis),
        range: verdicts.range,
        triage_now,
        triage: verdicts.triage,
        alerts: verdicts.alerts,
        status,
        fleet: fleet::model(store),
    }
}

/// Per-client recurrences of the episodes that started after `from`.
fn client_periods_since(
    episodes: &[Vec<EpochMs>],
    from: EpochMs,
    lifetimes: &[EpochMs],
) -> bursts::ClientPeriods {
    let recent: Vec<Vec<EpochMs>> = episodes
        .iter()
        .map(|v| v.iter().copied().filter(|&t| t > from).collect::<Vec<_>>())
        .filter(|v| !v.is_empty())
        .collect();
    bursts::client_periods(&recent, lifetimes)
}

/// The newest auth samples by event time (they arrive in file order, which interleaves
/// when several auth logs are tailed).
fn newest_auth_samples(store: &Store) -> Vec<AuthSample> {
    let mut v: Vec<AuthSample> = store.auth_samples().cloned().collect();
    v.sort_by_key(|s| std::cmp::Reverse(s.time));
    v.truncate(MAX_AUTH_SAMPLES);
    v
}

/// The path of a URL, for matching probes to logged routes (`https://h/api/x?q` → `/api/x`).
pub fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    path.split(['?', '#']).next().unwrap_or("/")
}

/// Endpoints on different hosts would look identical by path alone: when the probes reach more
/// than one host (port included), every row names its host; when the same host is probed
/// under two schemes, the scheme too.
fn name_hosts_when_several(rows: &mut [ProbeRow]) {
    let split = |url: &str| -> (String, String) {
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        (scheme.to_ascii_lowercase(), host.to_ascii_lowercase())
    };
    let mut seen: Vec<(String, String)> = rows.iter().map(|r| split(&r.url)).collect();
    seen.sort();
    seen.dedup();
    if seen.len() < 2 {
        return;
    }
    let hosts_differ = seen.iter().any(|(_, h)| *h != seen[0].1);
    let schemes_differ = seen.iter().any(|(s, _)| *s != seen[0].0);
    for r in rows {
        let (scheme, host) = split(&r.url);
        r.host = Some(match (hosts_differ, schemes_differ) {
            (_, true) => format!("{scheme}://{host}"),
            _ => host,
        });
    }
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
    // The verdict's code everywhere (`network-error`, as `check` and `report` say it); the
    // kind of transport failure is a field of its own.
    let code = p.verdict.code.to_string();
    let transport = p
        .transport
        .as_ref()
        .filter(|_| p.preflight.is_none() && p.actual.is_none())
        .map(|t| t.kind);
    ProbeRow {
        time: p.time,
        endpoint: crate::store::route::template(url_path(&p.url)).into_owned(),
        host: None,
        url: p.url.clone(),
        origin: p.origin.clone(),
        shape: p.shape.name.clone(),
        credentials: p.shape.credentials,
        critical: p.critical,
        allowed: p.verdict.allowed && p.transport.is_none(),
        code,
        transport,
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
    fn several_hosts_are_named_with_what_tells_them_apart() {
        let row = |url: &str| ProbeRow {
            time: 0,
            endpoint: crate::store::route::template(url_path(url)).into_owned(),
            host: None,
            url: url.into(),
            origin: "https://app.contoso.com".into(),
            shape: "PUT auth+json".into(),
            credentials: crate::cors::Credentials::default(),
            critical: false,
            allowed: true,
            code: "ok".into(),
            transport: None,
            hidden_status: None,
            latency_ms: None,
            instance: None,
            doubled_acao: false,
        };
        let names = |urls: &[&str]| {
            let mut rows: Vec<ProbeRow> = urls.iter().map(|u| row(u)).collect();
            name_hosts_when_several(&mut rows);
            rows.into_iter().map(|r| r.host).collect::<Vec<_>>()
        };
        assert_eq!(
            names(&["https://a.com/x", "https://a.com/y"]),
            vec![None, None]
        );
        assert_eq!(
            names(&["https://eu.api.com/x", "https://us.api.com/x"]),
            vec![Some("eu.api.com".into()), Some("us.api.com".into())]
        );
        // Ports tell hosts apart too, and a scheme when the host is the same.
        assert_eq!(
            names(&["https://a.com:8443/x", "https://a.com/x"]),
            vec![Some("a.com:8443".into()), Some("a.com".into())]
        );
        assert_eq!(
            names(&["http://a.com/x", "https://a.com/x"]),
            vec![Some("http://a.com".into()), Some("https://a.com".into())]
        );
    }

    #[test]
    fn ranges_cycle() {
        assert_eq!(TimeRange::M15.next().next().next(), TimeRange::M15);
        assert_eq!(TimeRange::H6.span_ms(), 6 * HOUR);
    }
}
