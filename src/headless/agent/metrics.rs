//! What `/metrics` says: counters since start from the store's cumulative totals, gauges from
//! the analysis at scrape time, encoded by `prometheus-client` as OpenMetrics or as the
//! classic Prometheus text format.
//!
//! Every label value is bounded: route templates and origins are cut to [`Caps`] (the rest
//! `(other)`, requests without an origin `(none)`), preflight statuses to
//! [`PREFLIGHT_STATUSES`], actual requests' to [`ACTUAL_STATUSES`], everything else is an enum, a configured source or a configured
//! probe. [`worst_case_series`] is the resulting bound.

use std::collections::BTreeMap;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use rustc_hash::FxHashSet;

use crate::analysis::triage::State;
use crate::analysis::{TimeRange, ViewModel};
use crate::model::hypothesis::Hypothesis;
use crate::model::time::EpochMs;
use crate::sources::event::{AcaoSeen, AuthClass, Method};
use crate::store::totals::{DURATION_BUCKETS_S, Durations, MAX_PROBE_KEYS, ProbeKey, ProbeOutcome};
use crate::store::{HttpKey, NO_ORIGIN, OTHER, Store};

/// How many route templates and origins get a label of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    pub routes: usize,
    pub origins: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            routes: 32,
            origins: 10,
        }
    }
}

/// Statuses of actual requests with a label of their own (the rest carry only their class):
/// the auth failures the fleet view's auth panel and triage count.
pub const ACTUAL_STATUSES: [u16; 2] = [401, 403];
/// Preflight statuses counted under their own code; any other is `other`.
pub const PREFLIGHT_STATUSES: [u16; 15] = [
    200, 204, 301, 302, 307, 308, 400, 401, 403, 404, 405, 500, 502, 503, 504,
];
const STATUS_CLASSES: usize = 6;
/// The hypotheses the agent exports (the five the triage board leads with).
pub const HYPOTHESES: [Hypothesis; 5] = [
    Hypothesis::H1,
    Hypothesis::H2,
    Hypothesis::H3,
    Hypothesis::H4,
    Hypothesis::H5,
];
const STATES: [State; 4] = [
    State::Supported,
    State::Ended,
    State::Weakened,
    State::NoEvidence,
];
/// Failure reasons of `corstop_http_failed_total`.
const FAILED_REASONS: usize = 3;

/// The most series one agent can export with these caps and `sources` configured sources.
pub fn worst_case_series(caps: &Caps, sources: usize) -> usize {
    let routes = caps.routes + 1;
    let origins = caps.origins + 2;
    // Each listed status has one class; `other` may come with any class.
    let preflight = PREFLIGHT_STATUSES.len() + STATUS_CLASSES;
    let requests = routes * origins * (preflight + STATUS_CLASSES + ACTUAL_STATUSES.len());
    let failed = routes * (origins - 1) * 2 * FAILED_REASONS;
    let unfollowed = routes * (origins - 1);
    let per_source = AuthClass::COUNT + 4;
    let buckets = DURATION_BUCKETS_S.len() + 3;
    // Runs by result, two duration histograms, success, and at most one CORS error.
    let per_probe = ProbeOutcome::ALL.len() + 2 * buckets + 2;
    let probes = (MAX_PROBE_KEYS + 1) * per_probe;
    let status = 3 + 1;
    let hypotheses = HYPOTHESES.len() * (1 + STATES.len());
    requests
        + failed
        + unfollowed
        + routes
        + sources * per_source
        + probes
        + status
        + hypotheses
        + 2
}

fn state_label(s: State) -> &'static str {
    match s {
        State::Supported => "supported",
        State::Ended => "ended",
        State::Weakened => "weakened",
        State::NoEvidence => "no_evidence",
    }
}

fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        5 => "5xx",
        _ => "other",
    }
}

fn preflight_status(status: u16) -> String {
    if PREFLIGHT_STATUSES.contains(&status) {
        status.to_string()
    } else {
        "other".into()
    }
}

/// A sample's value.
#[derive(Clone, Debug)]
enum Value {
    Count(u64),
    Gauge(f64),
    Histogram(Durations),
}

type Labels = Vec<(&'static str, String)>;

#[derive(Clone, Debug)]
struct Family {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    samples: Vec<(Labels, Value)>,
}

/// Everything one scrape exports, taken under the store lock and encoded after it.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    families: Vec<Family>,
}

/// Labels route and origin ids within the caps.
struct Namer<'a> {
    store: &'a Store,
    caps: Caps,
    critical: FxHashSet<u16>,
}

impl Namer<'_> {
    /// Critical routes keep their name past the cap: the page condition is about them.
    fn route(&self, id: u16) -> String {
        if id != OTHER && ((id as usize) < self.caps.routes || self.critical.contains(&id)) {
            self.store.route_name(id).to_string()
        } else {
            "(other)".into()
        }
    }

    fn origin(&self, id: u16) -> String {
        match id {
            NO_ORIGIN => "(none)".into(),
            id if id != OTHER && (id as usize) < self.caps.origins => {
                self.store.origin_name(id).to_string()
            }
            _ => "(other)".into(),
        }
    }
}

/// Why a counted request failed for the page, as the origins view decides it: its status,
/// or a doubled or missing `Access-Control-Allow-Origin` on an answer the log calls fine.
fn failure_reason(k: &HttpKey) -> Option<&'static str> {
    if k.origin == NO_ORIGIN {
        return None;
    }
    if crate::analysis::overview::is_failure(k) {
        return Some("status");
    }
    if k.origin_derived || (k.method == Method::Options && k.status >= 300) {
        return None;
    }
    match k.acao {
        AcaoSeen::Multiple => Some("acao_multiple"),
        AcaoSeen::Missing => Some("acao_missing"),
        AcaoSeen::NotLogged | AcaoSeen::Single => None,
    }
}

fn method_class(m: Method) -> &'static str {
    if m == Method::Options {
        "preflight"
    } else {
        "actual"
    }
}

fn counter(name: &'static str, help: &'static str, samples: Vec<(Labels, u64)>) -> Family {
    Family {
        name,
        help,
        kind: MetricType::Counter,
        samples: samples
            .into_iter()
            .map(|(l, v)| (l, Value::Count(v)))
            .collect(),
    }
}

fn gauge(name: &'static str, help: &'static str, samples: Vec<(Labels, f64)>) -> Family {
    Family {
        name,
        help,
        kind: MetricType::Gauge,
        samples: samples
            .into_iter()
            .map(|(l, v)| (l, Value::Gauge(v)))
            .collect(),
    }
}

fn sum_into<K: Ord>(map: &mut BTreeMap<K, u64>, key: K, n: u64) {
    *map.entry(key).or_insert(0) += n;
}

/// What is exported: counters from the store, gauges from `vm` (the analysis of the same
/// store state). `wall_now` dates the sources' lag.
pub fn collect(store: &Store, vm: &ViewModel, caps: Caps, wall_now: EpochMs) -> Snapshot {
    let namer = Namer {
        store,
        caps,
        critical: crate::analysis::overview::critical_routes(store),
    };
    let mut families = Vec::new();

    let mut requests: BTreeMap<(String, String, &str, &str, String), u64> = BTreeMap::new();
    let mut failed: BTreeMap<(String, String, &str, &str), u64> = BTreeMap::new();
    for (k, &n) in store.totals() {
        let (route, origin) = (namer.route(k.route), namer.origin(k.origin));
        let mc = method_class(k.method);
        let status = if k.method == Method::Options {
            preflight_status(k.status)
        } else if ACTUAL_STATUSES.contains(&k.status) {
            k.status.to_string()
        } else {
            String::new()
        };
        if let Some(reason) = failure_reason(k) {
            sum_into(&mut failed, (route.clone(), origin.clone(), mc, reason), n);
        }
        sum_into(
            &mut requests,
            (route, origin, mc, status_class(k.status), status),
            n,
        );
    }
    families.push(counter(
        "corstop_http_requests",
        "Requests read from the logs since the agent started.",
        requests
            .into_iter()
            .map(|((route, origin, mc, sc, status), n)| {
                let labels = vec![
                    ("route", route),
                    ("origin", origin),
                    ("method_class", mc.to_string()),
                    ("status_class", sc.to_string()),
                    ("status", status),
                ];
                (labels, n)
            })
            .collect(),
    ));
    families.push(counter(
        "corstop_http_failed",
        "Cross-origin requests that failed for the page since the agent started.",
        failed
            .into_iter()
            .map(|((route, origin, mc, reason), n)| {
                let labels = vec![
                    ("route", route),
                    ("origin", origin),
                    ("method_class", mc.to_string()),
                    ("reason", reason.to_string()),
                ];
                (labels, n)
            })
            .collect(),
    ));

    let sources = store.sources();
    let mut auth = Vec::new();
    for s in sources {
        for class in AuthClass::ALL {
            let labels = vec![
                ("source", s.label.clone()),
                ("class", class.as_str().replace('-', "_")),
            ];
            auth.push((labels, s.auth_by_class[class as usize]));
        }
    }
    families.push(counter(
        "corstop_auth_failures",
        "Token validation failures read from the logs since the agent started, by class.",
        auth,
    ));

    let probe_totals = store.probe_totals();
    let probe_labels = |k: &ProbeKey| -> Labels {
        vec![
            ("endpoint", k.endpoint.clone()),
            ("origin", k.origin.clone()),
            ("shape", k.shape.clone()),
        ]
    };
    let mut runs = Vec::new();
    let mut durations = Vec::new();
    for (key, counts) in probe_totals.cells() {
        for (outcome, &n) in ProbeOutcome::ALL.iter().zip(&counts.runs) {
            let mut l = probe_labels(key);
            l.push(("result", outcome.as_str().to_string()));
            runs.push((l, n));
        }
        for (stage, d) in [("preflight", &counts.preflight), ("actual", &counts.actual)] {
            if d.count > 0 {
                let mut l = probe_labels(key);
                l.push(("stage", stage.to_string()));
                durations.push((l, Value::Histogram(d.clone())));
            }
        }
    }
    families.push(counter(
        "corstop_probe_runs",
        "Synthetic CORS probes run since the agent started, by the browser's verdict.",
        runs,
    ));
    families.push(Family {
        name: "corstop_probe_duration_seconds",
        help: "Time to the preflight's and the actual request's answers.",
        kind: MetricType::Histogram,
        samples: durations,
    });

    let source_label = |s: &crate::store::SourceStats| vec![("source", s.label.clone())];
    families.push(counter(
        "corstop_source_lines",
        "Lines read per source since the agent started.",
        sources.iter().map(|s| (source_label(s), s.lines)).collect(),
    ));
    families.push(counter(
        "corstop_source_parse_errors",
        "Lines per source that did not parse, since the agent started.",
        sources
            .iter()
            .map(|s| (source_label(s), s.parse_errors))
            .collect(),
    ));

    families.extend(gauges(store, vm, &namer, wall_now));
    Snapshot { families }
}

fn gauges(store: &Store, vm: &ViewModel, namer: &Namer<'_>, wall_now: EpochMs) -> Vec<Family> {
    let mut out = Vec::new();
    let mut critical: Vec<String> = namer.critical.iter().map(|&r| namer.route(r)).collect();
    critical.sort();
    critical.dedup();
    out.push(gauge(
        "corstop_route_critical",
        "1 for routes a probe endpoint marks critical.",
        critical
            .into_iter()
            .map(|r| (vec![("route", r)], 1.0))
            .collect(),
    ));

    let mut unfollowed: BTreeMap<(String, String), u64> = BTreeMap::new();
    for cell in &vm.origin_table(TimeRange::M15).cells {
        let n = cell.unfollowed();
        if n == 0 {
            continue;
        }
        let route = store
            .routes
            .lookup(&cell.route)
            .map_or_else(|| "(other)".into(), |id| namer.route(id));
        let origin = store
            .origins
            .lookup(&cell.origin)
            .map_or_else(|| "(other)".into(), |id| namer.origin(id));
        sum_into(&mut unfollowed, (route, origin), n);
    }
    out.push(gauge(
        "corstop_preflights_unfollowed",
        "Accepted preflights of the last 15 minutes never followed by their request.",
        unfollowed
            .into_iter()
            .map(|((route, origin), n)| (vec![("route", route), ("origin", origin)], n as f64))
            .collect(),
    ));

    let totals = store.probe_totals();
    let mut success = Vec::new();
    let mut cors_error = Vec::new();
    for r in store.probe_latest() {
        let key = ProbeKey::of(r);
        // A connection failure fails the page as surely as a CORS error (0, with no CORS
        // reason); corstop's own limit stopping the probe says nothing about the server.
        if !totals.has(&key)
            || (ProbeOutcome::of(r) == ProbeOutcome::Error && r.transport.is_none())
        {
            continue;
        }
        let labels = vec![
            ("endpoint", key.endpoint.clone()),
            ("origin", key.origin.clone()),
            ("shape", key.shape.clone()),
        ];
        success.push((labels.clone(), if r.verdict.allowed { 1.0 } else { 0.0 }));
        if !r.verdict.allowed
            && let Some(name) = crate::cors::chromium::cors_error(r.verdict.code, r.verdict.stage)
        {
            let mut l = labels;
            l.push(("reason", name.to_string()));
            cors_error.push((l, 1.0));
        }
    }
    out.push(gauge(
        "corstop_probe_success",
        "1 when the latest probe was allowed by the browser, 0 when it was blocked or unanswered.",
        success,
    ));
    out.push(gauge(
        "corstop_probe_cors_error",
        "1 for the CORS error of the latest blocked probe, by Chromium's CorsError name.",
        cors_error,
    ));

    let mut up = Vec::new();
    let mut lag = Vec::new();
    for s in store.sources() {
        let reading = crate::analysis::status::source_error(&s.state).is_none()
            && s.problem.is_none()
            && !matches!(
                s.state.as_str(),
                "starting" | "waiting for file" | "stdin closed"
            );
        up.push((
            vec![("source", s.label.clone())],
            f64::from(u8::from(reading)),
        ));
        if let Some(t) = s.last_event_time {
            let now = match store.mode() {
                crate::store::TimeMode::Live => wall_now,
                crate::store::TimeMode::EventTime => store.now(),
            };
            lag.push((
                vec![("source", s.label.clone())],
                ((now - t).max(0)) as f64 / 1000.0,
            ));
        }
    }
    out.push(gauge(
        "corstop_source_up",
        "1 while the source is being read, 0 when it is missing, failing or not recognised.",
        up,
    ));
    out.push(gauge(
        "corstop_source_lag_seconds",
        "Seconds between now and the newest event time read from the source.",
        lag,
    ));

    use crate::analysis::status::Status;
    let level = vm.status.level;
    out.push(gauge(
        "corstop_status",
        "1 for the dashboard's current status level (ok, degraded, page).",
        [
            (Status::Ok, "ok"),
            (Status::Degraded, "degraded"),
            (Status::Page, "page"),
        ]
        .into_iter()
        .map(|(s, l)| {
            (
                vec![("level", l.to_string())],
                f64::from(u8::from(s == level)),
            )
        })
        .collect(),
    ));
    out.push(gauge(
        "corstop_status_code",
        "The dashboard's status: 0 ok, 1 degraded, 2 page.",
        vec![(
            Vec::new(),
            match level {
                Status::Ok => 0.0,
                Status::Degraded => 1.0,
                Status::Page => 2.0,
            },
        )],
    ));

    let mut scores = Vec::new();
    let mut states = Vec::new();
    for h in HYPOTHESES {
        let Some(e) = vm.triage_now.get(h) else {
            continue;
        };
        scores.push((vec![("hypothesis", h.id().to_string())], f64::from(e.score)));
        for s in STATES {
            states.push((
                vec![
                    ("hypothesis", h.id().to_string()),
                    ("state", state_label(s).to_string()),
                ],
                f64::from(u8::from(e.state == s)),
            ));
        }
    }
    out.push(gauge(
        "corstop_hypothesis_score",
        "Triage score of each hypothesis over the last 15 minutes, 0 to 100.",
        scores,
    ));
    out.push(gauge(
        "corstop_hypothesis_state",
        "1 for each hypothesis's current triage state.",
        states,
    ));

    // Token lifetimes are an hour or more: only the longest range can show their period.
    let period = TimeRange::ALL
        .iter()
        .rev()
        .find_map(|r| vm.auth_bursts(*r).period.as_ref());
    out.push(gauge(
        "corstop_auth_burst_period_seconds",
        "Detected period of the 401/403 bursts (absent when none recurs).",
        period
            .map(|p| (Vec::new(), p.period_ms as f64 / 1000.0))
            .into_iter()
            .collect(),
    ));
    out.push(gauge(
        "corstop_build_info",
        "The corstop version this agent runs.",
        vec![(
            vec![("version", env!("CARGO_PKG_VERSION").to_string())],
            1.0,
        )],
    ));
    out
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for f in &self.families {
            if f.samples.is_empty() {
                continue;
            }
            let mut metric = encoder.encode_descriptor(f.name, f.help, None, f.kind)?;
            for (labels, value) in &f.samples {
                let mut m = metric.encode_family(labels)?;
                match value {
                    Value::Count(n) => m.encode_counter::<NoLabelSet, _, u64>(n, None)?,
                    Value::Gauge(v) => m.encode_gauge(v)?,
                    Value::Histogram(d) => {
                        let buckets: Vec<(f64, u64)> = DURATION_BUCKETS_S
                            .iter()
                            .copied()
                            .chain([f64::INFINITY])
                            .zip(d.buckets.iter().copied())
                            .collect();
                        m.encode_histogram::<NoLabelSet>(d.sum_s, d.count, &buckets, None)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The two text formats `/metrics` speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    OpenMetrics,
    /// The classic Prometheus text format, version 0.0.4.
    Prometheus,
}

impl Format {
    pub const OPENMETRICS_CONTENT_TYPE: &str =
        "application/openmetrics-text; version=1.0.0; charset=utf-8";

    /// OpenMetrics when the client asks for it (Prometheus does), the classic format otherwise
    /// (curl, promtool check metrics).
    pub fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => Self::OPENMETRICS_CONTENT_TYPE,
            Format::Prometheus => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        }
    }
}

impl Snapshot {
    /// The exposition text in `format`.
    pub fn encode(self, format: Format) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self));
        let mut out = String::new();
        // Writing to a String cannot fail, and every value above is encodable.
        let _ = match format {
            Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut out, &registry),
            Format::Prometheus => {
                prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)
            }
        };
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preflight_statuses_are_exact_or_other() {
        assert_eq!(preflight_status(204), "204");
        assert_eq!(preflight_status(418), "other");
        assert_eq!(status_class(418), "4xx");
        assert_eq!(status_class(0), "other");
    }

    #[test]
    fn the_worst_case_is_the_one_the_readme_states() {
        let caps = Caps::default();
        assert_eq!(worst_case_series(&caps, 0), 15_178);
        assert_eq!(worst_case_series(&caps, 2), 15_204);
        assert_eq!(
            worst_case_series(&caps, 3) - worst_case_series(&caps, 2),
            13
        );
    }

    #[test]
    fn openmetrics_is_asked_for_by_accept() {
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
            )),
            Format::OpenMetrics
        );
        assert_eq!(Format::negotiate(Some("*/*")), Format::Prometheus);
        assert_eq!(Format::negotiate(None), Format::Prometheus);
    }
}
