//! The fleet source: every `refresh`, a fixed set of PromQL queries over all agents that a
//! Prometheus server scrapes, decoded into one [`FleetData`] for the store.
//!
//! Counters are read as per-step increases over the store's retention (range queries), so the
//! store's buckets can be filled as if the fleet's logs had been read here; gauges (status,
//! triage, probes, `up`) are instant queries. A server that is down, slow or refuses a query
//! becomes the fleet source's error state, and the last good data stays on screen.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::model::time::{EpochMs, SECOND, now_ms};
use crate::sources::event::{AuthClass, Event, SourceId};
pub use crate::sources::event::{FleetData, Instance, ProbeRow, RequestSeries};
use crate::sources::prometheus::{Client, Labels, PromError, Sample, Series};

/// Which instance the counters are read for (`None`: all), set by the dashboard; a change
/// refreshes at once.
#[derive(Clone, Debug, Default)]
pub struct FleetControl {
    pub instance: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    pub changed: std::sync::Arc<tokio::sync::Notify>,
}

impl FleetControl {
    pub fn instance(&self) -> Option<String> {
        self.instance
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn set_instance(&self, instance: Option<String>) {
        *self
            .instance
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = instance;
        self.changed.notify_one();
    }
}

/// A PromQL string literal.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Instances kept per answer (the per-instance table); more are counted, not listed.
pub const MAX_INSTANCES: usize = 2_000;
/// Probe rows kept (endpoint × origin × shape over all instances).
pub const MAX_PROBE_ROWS: usize = 256;

/// Where and how often the fleet is read.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetSettings {
    pub url: String,
    /// A label matcher added to every metric, `{job="corstop"}`; empty for none.
    pub selector: String,
    pub refresh_ms: EpochMs,
    pub timeout_ms: EpochMs,
    /// Time between the counter values read; a whole number of store buckets.
    pub step_ms: EpochMs,
}

impl Default for FleetSettings {
    fn default() -> Self {
        FleetSettings {
            url: String::new(),
            selector: String::new(),
            refresh_ms: 10 * SECOND,
            timeout_ms: 5 * SECOND,
            step_ms: crate::model::time::MINUTE,
        }
    }
}

/// The queries, each with the selector inside its metric selectors.
#[derive(Clone, Debug)]
pub struct Queries {
    sel: String,
}

impl Queries {
    pub fn new(selector: &str) -> Queries {
        Queries {
            sel: selector.trim().to_string(),
        }
    }

    /// These queries narrowed to one instance's series.
    pub fn for_instance(&self, instance: &str) -> Queries {
        let matcher = format!("instance={}", quoted(instance));
        Queries {
            sel: self.m_with("", &matcher),
        }
    }

    fn m(&self, name: &str) -> String {
        format!("{name}{}", self.sel)
    }

    /// The counters themselves, summed over instances: their differences from step to step
    /// are exact counts, where `increase()` would extrapolate to fractions and drop the first
    /// value of every new series (a route's first 403s).
    pub fn requests(&self) -> String {
        format!(
            "sum by (route, origin, method_class, status_class, status) ({})",
            self.m("corstop_http_requests_total")
        )
    }

    pub fn auth(&self) -> String {
        format!("sum by (class) ({})", self.m("corstop_auth_failures_total"))
    }

    pub fn up(&self) -> String {
        self.m("up")
    }

    pub fn status(&self) -> String {
        self.m("corstop_status_code")
    }

    /// `name` with `matcher` beside the selector's own matchers.
    fn m_with(&self, name: &str, matcher: &str) -> String {
        match self.sel.strip_prefix('{') {
            Some(rest) if rest.trim_start() != "}" => format!("{name}{{{matcher},{rest}"),
            _ => format!("{name}{{{matcher}}}"),
        }
    }

    pub fn hypotheses(&self) -> String {
        format!(
            "{} and on (instance, hypothesis) ({} == 1)",
            self.m("corstop_hypothesis_score"),
            self.m_with("corstop_hypothesis_state", "state=\"supported\"")
        )
    }

    pub fn rate(&self) -> String {
        format!(
            "sum by (instance) (rate({}[5m]))",
            self.m("corstop_http_requests_total")
        )
    }

    pub fn failed(&self) -> String {
        format!(
            "sum by (instance) (rate({}[5m]))",
            self.m("corstop_http_failed_total")
        )
    }

    pub fn probe_success(&self) -> String {
        self.m("corstop_probe_success")
    }

    pub fn probe_errors(&self) -> String {
        self.m("corstop_probe_cors_error")
    }
}

/// A summed counter's values at each step turned into what each step added. A series that
/// appears after the range's start (a new cell, or an agent started meanwhile: counters start
/// at zero) adds its whole value; so does one that comes back after a gap. A sum that falls
/// (an agent restarted, or vanished) adds nothing for that step: what the restarted agent
/// counted in it is not known.
pub fn increases(mut s: Series, start: EpochMs, step_ms: EpochMs) -> Series {
    let mut prev: Option<(EpochMs, f64)> = None;
    let mut out = Vec::with_capacity(s.points.len());
    for &(t, v) in &s.points {
        if !v.is_finite() {
            // Not a gap: the series was there, its value just not a number.
            if let Some(p) = &mut prev {
                p.0 = t;
            }
            continue;
        }
        let added = match prev {
            None if t > start => v,
            None => 0.0,
            Some((pt, _)) if t - pt > step_ms => v,
            Some((_, pv)) => (v - pv).max(0.0),
        };
        out.push((t, added));
        prev = Some((t, v));
    }
    s.points = out;
    s
}

/// The representative status of a class, for what the agent exports only the class of (actual
/// requests other than 401 and 403, preflights under `other`).
fn class_status(class: &str) -> u16 {
    match class {
        "1xx" => 100,
        "2xx" => 200,
        "3xx" => 302,
        "4xx" => 400,
        "5xx" => 500,
        _ => 0,
    }
}

/// One `corstop_http_requests_total` series as a request cell.
pub fn request_series(s: Series) -> Option<RequestSeries> {
    let l = &s.labels;
    let route = l.get("route")?.clone();
    let origin = match l.get("origin").map(String::as_str) {
        None | Some("(none)") => None,
        Some(o) => Some(o.to_string()),
    };
    let preflight = l.get("method_class").map(String::as_str) == Some("preflight");
    let class = l.get("status_class").map_or("", String::as_str);
    // Preflights carry their exact status, actual requests their 401 or 403; the rest only
    // their class.
    let status = l
        .get("status")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| class_status(class));
    let points = s
        .points
        .into_iter()
        .filter(|(_, v)| v.is_finite() && *v > 0.0)
        .collect();
    Some(RequestSeries {
        route,
        origin,
        preflight,
        status,
        points,
    })
}

/// One `corstop_auth_failures_total` series by class.
pub fn auth_series(s: Series) -> Option<(AuthClass, Vec<(EpochMs, f64)>)> {
    let name = s.labels.get("class")?;
    let class = AuthClass::ALL
        .into_iter()
        .find(|c| c.as_str().replace('-', "_") == *name)?;
    let points = s
        .points
        .into_iter()
        .filter(|(_, v)| v.is_finite() && *v > 0.0)
        .collect();
    Some((class, points))
}

fn instance_of(l: &Labels) -> String {
    l.get("instance").cloned().unwrap_or_default()
}

/// The answers to the instant queries, joined by instance.
#[derive(Default)]
pub struct InstantAnswers {
    pub up: Vec<Sample>,
    pub status: Vec<Sample>,
    pub hypotheses: Vec<Sample>,
    pub rate: Vec<Sample>,
    pub failed: Vec<Sample>,
    pub probe_success: Vec<Sample>,
    pub probe_errors: Vec<Sample>,
}

/// The per-instance table and the probe rows from the instant answers.
pub fn join(a: InstantAnswers) -> (Vec<Instance>, usize, Vec<ProbeRow>) {
    let mut by: BTreeMap<String, Instance> = BTreeMap::new();
    let mut omitted = 0;
    for s in &a.up {
        let name = instance_of(&s.labels);
        if by.len() >= MAX_INSTANCES && !by.contains_key(&name) {
            omitted += 1;
            continue;
        }
        let e = by.entry(name.clone()).or_default();
        e.instance = name;
        e.up = s.value >= 1.0;
        e.region = s.labels.get("region").cloned();
    }
    for s in &a.status {
        if let Some(e) = by.get_mut(&instance_of(&s.labels)) {
            e.status = Some(s.value.clamp(0.0, 2.0) as u8);
        }
    }
    for s in &a.hypotheses {
        let (Some(e), Some(h)) = (
            by.get_mut(&instance_of(&s.labels)),
            s.labels.get("hypothesis"),
        ) else {
            continue;
        };
        if s.value > 0.0 && e.top.as_ref().is_none_or(|(_, v)| s.value > *v) {
            e.top = Some((h.clone(), s.value));
        }
    }
    for s in &a.rate {
        if let Some(e) = by.get_mut(&instance_of(&s.labels)) {
            e.rate = s.value;
        }
    }
    for s in &a.failed {
        if let Some(e) = by.get_mut(&instance_of(&s.labels))
            && e.rate > 0.0
        {
            e.failure_ratio = s.value / e.rate;
        }
    }
    let mut probes: BTreeMap<(String, String, String), ProbeRow> = BTreeMap::new();
    let key = |l: &Labels| {
        let g = |k: &str| l.get(k).cloned().unwrap_or_default();
        (g("endpoint"), g("origin"), g("shape"))
    };
    for s in &a.probe_success {
        let k = key(&s.labels);
        if probes.len() >= MAX_PROBE_ROWS && !probes.contains_key(&k) {
            continue;
        }
        let row = probes.entry(k.clone()).or_insert_with(|| ProbeRow {
            endpoint: k.0,
            origin: k.1,
            shape: k.2,
            ..ProbeRow::default()
        });
        row.instances += 1;
        if s.value < 1.0 {
            row.failing += 1;
            if let Some(e) = by.get_mut(&instance_of(&s.labels)) {
                e.probes_failing += 1;
            }
        }
    }
    for s in &a.probe_errors {
        let (Some(row), Some(reason)) = (probes.get_mut(&key(&s.labels)), s.labels.get("reason"))
        else {
            continue;
        };
        match row.reasons.iter_mut().find(|(r, _)| r == reason) {
            Some((_, n)) => *n += 1,
            None => row.reasons.push((reason.clone(), 1)),
        }
    }
    (
        by.into_values().collect(),
        omitted,
        probes.into_values().collect(),
    )
}

/// One refresh: every query, the first failure ending it.
pub async fn read(
    client: &Client,
    all: &Queries,
    instance: Option<String>,
    source: SourceId,
    span_ms: EpochMs,
    step_ms: EpochMs,
) -> Result<FleetData, PromError> {
    // Points on step boundaries, so refreshes agree on which increase goes into which bucket.
    let one = instance.as_deref().map(|i| all.for_instance(i));
    // The counters are narrowed to the instance; the instances table never is.
    let q = one.as_ref().unwrap_or(all);
    let end = now_ms().div_euclid(step_ms) * step_ms;
    let start = end - span_ms + step_ms;
    let requests = client
        .query_range(&q.requests(), start, end, step_ms)
        .await?
        .into_iter()
        .filter_map(|s| request_series(increases(s, start, step_ms)))
        .collect();
    let auth = client
        .query_range(&q.auth(), start, end, step_ms)
        .await?
        .into_iter()
        .filter_map(|s| auth_series(increases(s, start, step_ms)))
        .collect();
    let answers = InstantAnswers {
        up: client.query(&all.up(), None).await?,
        status: client.query(&all.status(), None).await?,
        hypotheses: client.query(&all.hypotheses(), None).await?,
        rate: client.query(&all.rate(), None).await?,
        failed: client.query(&all.failed(), None).await?,
        probe_success: client.query(&q.probe_success(), None).await?,
        probe_errors: client.query(&q.probe_errors(), None).await?,
    };
    let (instances, instances_omitted, probes) = join(answers);
    Ok(FleetData {
        source,
        server: client.server().to_string(),
        at: end,
        step_ms,
        requests,
        auth,
        instances,
        instances_omitted,
        probes,
        instance,
    })
}

/// Polls the server every `refresh` until the channel closes. `span_ms` is how far back the
/// counters are read (the store's retention), `bucket_ms` the store's bucket width.
pub fn spawn(
    settings: FleetSettings,
    source: SourceId,
    span_ms: EpochMs,
    bucket_ms: EpochMs,
    control: FleetControl,
    tx: mpsc::Sender<Event>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let timeout = Duration::from_millis(settings.timeout_ms.max(1) as u64);
        let client = match Client::new(&settings.url, timeout) {
            Ok(c) => c,
            Err(e) => {
                let _ = tx
                    .send(Event::SourceState {
                        source,
                        state: format!("error: {e}"),
                    })
                    .await;
                return;
            }
        };
        let q = Queries::new(&settings.selector);
        let step_ms = fleet_step(bucket_ms, settings.step_ms);
        let mut every =
            tokio::time::interval(Duration::from_millis(settings.refresh_ms.max(1) as u64));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                () = control.changed.notified() => {}
            }
            let event = match read(&client, &q, control.instance(), source, span_ms, step_ms).await
            {
                Ok(data) => Event::Fleet(Box::new(data)),
                Err(e) => Event::SourceState {
                    source,
                    state: format!("error: {e}"),
                },
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
    })
}

/// The range step: a whole number of buckets, at least one. The default minute keeps six
/// hours of a busy fleet's cells within the answer's size cap.
pub fn fleet_step(bucket_ms: EpochMs, step_ms: EpochMs) -> EpochMs {
    (step_ms.div_euclid(bucket_ms)).max(1) * bucket_ms
}

#[cfg(test)]
#[path = "fleet_tests.rs"]
mod tests;
