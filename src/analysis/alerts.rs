//! Alert rules and the preflight SLI (the Markdown incident summary built on them is
//! [`crate::headless::markdown`]).
//!
//! - **SLI**: per route, OPTIONS 2xx / all OPTIONS over the last [`AlertConfig::sli_window_ms`]
//!   (15 min) from the logs; a route with no OPTIONS in the logs falls back to the probes that
//!   targeted it in that window (a probe counts as good when the browser got past its
//!   preflight). Compared with the objective (99.9 %); burn rate = error rate / (1 − objective).
//! - **Page**: on a critical route (probes marked `critical`, matched by route template, plus
//!   any configured), the cross-origin failure rate above 5 % for more than 10 minutes. The
//!   rate is evaluated per step (1 min by default) over the lookback, so the duration is
//!   measured: the run of failing steps must be unbroken by a healthy step, and a step without
//!   traffic neither extends nor breaks it.
//!
//! A cross-origin request is one whose log line carries an origin, or a probe. It fails when it
//! is an OPTIONS not answered 2xx, a real request answered 4xx/5xx, a response logged with a
//! missing or doubled `Access-Control-Allow-Origin`, or a probe the browser would block.
//!
//! These alerts are inputs to the status rule ([`super::status`]), which alone decides the
//! level shown and notified.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analysis::evidence::split_url;
use crate::cors::Stage;
use crate::model::time::{EpochMs, MINUTE, format_duration};
use crate::sources::event::{AcaoSeen, Method, ProbeResult};
use crate::store::route;
use crate::store::{HttpKey, NO_ORIGIN, Store};

/// Most routes in the SLI table and alerts listed.
pub const MAX_SLI_ROUTES: usize = 64;
pub const MAX_ALERTS: usize = 32;
/// Longest quiet stretch at the end of a failing run that still keeps it current.
pub const MAX_TRAILING_QUIET_MS: EpochMs = 5 * MINUTE;

/// Thresholds. Defaults follow the usual on-call practice (domain notes §5).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertConfig {
    /// Preflight success objective (0.999 = 99.9 %).
    pub objective: f64,
    pub sli_window_ms: EpochMs,
    /// Cross-origin failure rate above which a critical route is failing.
    pub page_failure_rate: f64,
    /// How long a critical route must fail before paging ("more than").
    pub page_for_ms: EpochMs,
    /// Width of one evaluation step.
    pub step_ms: EpochMs,
    /// Requests a step needs before its rate counts.
    pub min_requests_per_step: u64,
    /// How far back failing runs are searched.
    pub lookback_ms: EpochMs,
    /// Route templates treated as critical in addition to critical probes.
    pub critical_routes: Vec<String>,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            objective: 0.999,
            sli_window_ms: 15 * MINUTE,
            page_failure_rate: 0.05,
            page_for_ms: 10 * MINUTE,
            step_ms: MINUTE,
            min_requests_per_step: 1,
            lookback_ms: 60 * MINUTE,
            critical_routes: Vec::new(),
        }
    }
}

/// Where an SLI figure comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SliSource {
    Logs,
    Probes,
}

/// Preflight success of one route over the SLI window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RouteSli {
    pub route: String,
    pub source: SliSource,
    pub total: u64,
    pub good: u64,
    /// good / total.
    pub sli: f64,
    /// Observed error rate / (1 − objective); 1.0 burns the budget exactly on schedule.
    pub burn_rate: f64,
    pub below_objective: bool,
    pub critical: bool,
    /// First failing preflight in the window.
    pub first_failure: Option<EpochMs>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertKind {
    /// Preflight SLI below objective.
    Slo,
    /// A critical route has failed long enough to page.
    Page,
    /// A critical route is failing, not yet long enough to page.
    PagePending,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    pub kind: AlertKind,
    pub route: String,
    pub since: EpochMs,
    /// How long the condition has held (measured, not assumed).
    pub for_ms: EpochMs,
    /// The rate behind it (SLI for `slo`, failure rate of the run for the page kinds).
    pub value: f64,
    pub message: String,
}

/// The alert conditions with their details. The level they lead to is decided by the status
/// rule ([`super::status`]), together with probes, sources and the triage board.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertState {
    pub now: EpochMs,
    pub objective: f64,
    /// Worst first.
    pub slis: Vec<RouteSli>,
    pub alerts: Vec<Alert>,
    pub critical_routes: Vec<String>,
}

fn probe_route(p: &ProbeResult) -> String {
    route::template(split_url(&p.url).1).into_owned()
}

/// The browser got past the preflight (or needed none).
fn probe_preflight_ok(p: &ProbeResult) -> bool {
    p.verdict.allowed || p.verdict.stage == Stage::Actual
}

fn cross_origin_failed(k: &HttpKey) -> bool {
    let status_failed = if k.method == Method::Options {
        !(200..300).contains(&k.status)
    } else {
        k.status >= 400
    };
    status_failed || matches!(k.acao, AcaoSeen::Missing | AcaoSeen::Multiple)
}

/// A ratio as a percentage, with two decimals just under 100 % where one would round up.
pub fn pct(x: f64) -> String {
    let p = x * 100.0;
    if p > 99.0 && p < 100.0 {
        format!("{p:.2}%")
    } else {
        format!("{p:.1}%")
    }
}

fn slis(store: &Store, cfg: &AlertConfig, critical: &[String]) -> Vec<RouteSli> {
    let now = store.now();
    let from = now - cfg.sli_window_ms;
    // route id -> (total, good, first failure)
    let mut logs: BTreeMap<u16, (u64, u64, Option<EpochMs>)> = BTreeMap::new();
    for (start, b) in store.window(cfg.sli_window_ms) {
        let Some(b) = b else { continue };
        for (k, &c) in &b.http {
            if k.method != Method::Options {
                continue;
            }
            let e = logs.entry(k.route).or_insert((0, 0, None));
            e.0 += c as u64;
            if (200..300).contains(&k.status) {
                e.1 += c as u64;
            } else {
                e.2 = Some(e.2.map_or(start, |t: EpochMs| t.min(start)));
            }
        }
    }
    let budget = (1.0 - cfg.objective).max(1e-9);
    let make = |route: String, source, total: u64, good: u64, first_failure| {
        let sli = if total == 0 {
            1.0
        } else {
            good as f64 / total as f64
        };
        RouteSli {
            critical: critical.contains(&route),
            route,
            source,
            total,
            good,
            sli,
            burn_rate: (1.0 - sli) / budget,
            below_objective: total > 0 && sli < cfg.objective,
            first_failure,
        }
    };
    let mut out: Vec<RouteSli> = logs
        .iter()
        .map(|(&id, &(total, good, first))| {
            make(
                store.route_name(id).to_string(),
                SliSource::Logs,
                total,
                good,
                first,
            )
        })
        .collect();
    let mut probes: BTreeMap<String, (u64, u64, Option<EpochMs>)> = BTreeMap::new();
    for p in store
        .probe_history()
        .filter(|p| p.time > from && p.time <= now)
    {
        let e = probes.entry(probe_route(p)).or_insert((0, 0, None));
        e.0 += 1;
        if probe_preflight_ok(p) {
            e.1 += 1;
        } else {
            e.2 = Some(e.2.map_or(p.time, |t: EpochMs| t.min(p.time)));
        }
    }
    for (route, (total, good, first)) in probes {
        if !out.iter().any(|s| s.route == route) {
            out.push(make(route, SliSource::Probes, total, good, first));
        }
    }
    out.sort_by(|a, b| {
        a.sli
            .total_cmp(&b.sli)
            .then_with(|| b.total.cmp(&a.total))
            .then_with(|| a.route.cmp(&b.route))
    });
    out.truncate(MAX_SLI_ROUTES);
    out
}

/// One failing run on a critical route.
struct Run {
    since: EpochMs,
    until: EpochMs,
    requests: u64,
    failures: u64,
}

/// The current failing run of a route, evaluated step by step over the lookback.
fn current_run(store: &Store, cfg: &AlertConfig, route: &str) -> Option<Run> {
    let step = cfg.step_ms.max(store.bucket_ms());
    let lookback = cfg
        .lookback_ms
        .clamp(step, store.config().retention_ms.max(step));
    let now = store.now();
    let route_id = store.routes.lookup(route);
    let mut steps: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    if let Some(id) = route_id {
        for (start, b) in store.window(lookback) {
            let Some(b) = b else { continue };
            for (k, &c) in &b.http {
                if k.route != id || k.origin == NO_ORIGIN {
                    continue;
                }
                let s = steps.entry(start.div_euclid(step)).or_default();
                s.0 += c as u64;
                if cross_origin_failed(k) {
                    s.1 += c as u64;
                }
            }
        }
    }
    for p in store
        .probe_history()
        .filter(|p| p.time > now - lookback && p.time <= now && probe_route(p) == route)
    {
        let s = steps.entry(p.time.div_euclid(step)).or_default();
        s.0 += 1;
        if !p.verdict.allowed {
            s.1 += 1;
        }
    }
    let now_step = now.div_euclid(step);
    let mut run: Option<Run> = None;
    let mut quiet_since_last_bad = 0;
    for idx in (now_step - lookback / step..=now_step).rev() {
        let (req, fail) = steps.get(&idx).copied().unwrap_or((0, 0));
        if req < cfg.min_requests_per_step.max(1) {
            if run.is_none() {
                quiet_since_last_bad += step;
                if quiet_since_last_bad > MAX_TRAILING_QUIET_MS {
                    return None;
                }
            }
            continue;
        }
        let bad = fail as f64 / req as f64 > cfg.page_failure_rate;
        if !bad {
            break;
        }
        let start = idx * step;
        match &mut run {
            None => {
                run = Some(Run {
                    since: start,
                    until: start + step,
                    requests: req,
                    failures: fail,
                });
            }
            Some(r) => {
                r.since = start;
                r.requests += req;
                r.failures += fail;
            }
        }
    }
    run
}

/// Evaluates the SLI and page rules against the store's "now".
pub fn evaluate(store: &Store, cfg: &AlertConfig) -> AlertState {
    let mut critical: Vec<String> = store
        .probe_latest()
        .iter()
        .filter(|p| p.critical)
        .map(probe_route)
        .chain(cfg.critical_routes.iter().cloned())
        .collect();
    critical.sort();
    critical.dedup();

    let slis = slis(store, cfg, &critical);
    let mut alerts = Vec::new();
    for route in &critical {
        let Some(run) = current_run(store, cfg, route) else {
            continue;
        };
        let for_ms = run.until - run.since;
        let rate = run.failures as f64 / run.requests.max(1) as f64;
        let paging = for_ms > cfg.page_for_ms;
        alerts.push(Alert {
            kind: if paging {
                AlertKind::Page
            } else {
                AlertKind::PagePending
            },
            route: route.clone(),
            since: run.since,
            for_ms,
            value: rate,
            message: format!(
                "critical {route}: {} of {} cross-origin requests failed ({}) for {}{}",
                run.failures,
                run.requests,
                pct(rate),
                format_duration(for_ms),
                if paging {
                    String::new()
                } else {
                    format!(", pages after {}", format_duration(cfg.page_for_ms))
                }
            ),
        });
    }
    for s in slis.iter().filter(|s| s.below_objective) {
        alerts.push(Alert {
            kind: AlertKind::Slo,
            route: s.route.clone(),
            since: s.first_failure.unwrap_or(store.now()),
            for_ms: s.first_failure.map_or(0, |f| store.now() - f),
            value: s.sli,
            message: format!(
                "preflight success {} on {} over {} ({} of {} from {}), objective {}, burn rate {:.0}×",
                pct(s.sli),
                s.route,
                format_duration(cfg.sli_window_ms),
                s.good,
                s.total,
                match s.source {
                    // In fleet mode the counts are the agents', read from Prometheus.
                    SliSource::Logs if store.fleet().is_some() => "the fleet",
                    SliSource::Logs => "logs",
                    SliSource::Probes => "probes",
                },
                pct(cfg.objective),
                s.burn_rate
            ),
        });
    }
    alerts.sort_by(|a, b| {
        let rank = |k: AlertKind| match k {
            AlertKind::Page => 0,
            AlertKind::PagePending => 1,
            AlertKind::Slo => 2,
        };
        rank(a.kind)
            .cmp(&rank(b.kind))
            .then_with(|| a.since.cmp(&b.since))
            .then_with(|| a.route.cmp(&b.route))
    });
    alerts.truncate(MAX_ALERTS);
    AlertState {
        now: store.now(),
        objective: cfg.objective,
        slis,
        alerts,
        critical_routes: critical,
    }
}
