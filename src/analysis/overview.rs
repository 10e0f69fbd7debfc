//! The war-room summary: route health, auth failures, sources, probes and folding, all over
//! the last [`STATUS_WINDOW_MS`] (15 minutes), the window the overview's status line and route
//! table both state. The level itself (PAGE / DEGRADED / OK) is decided in one place only, the
//! status rule in [`super::status`].
//!
//! A request is cross-origin when its log line carries an origin (direct or from the Referer);
//! it failed when its status is 400 or above, when it is an OPTIONS answered outside 2xx, or
//! when the browser refused an answer the server logged as fine
//! ([`super::pairs::add_refusals`]).

use rustc_hash::FxHashSet;

use crate::model::time::{EpochMs, MINUTE};
use crate::sources::event::{AuthClass, Method};
use crate::store::{HttpKey, NO_ORIGIN, Store};

use super::{ProbeRow, url_path};

pub const STATUS_WINDOW_MS: EpochMs = 15 * MINUTE;
pub const PREFLIGHT_OBJECTIVE: f64 = 0.999;
pub const PAGE_FAILURE_RATE: f64 = 0.05;

pub use super::status::Status;

/// True when a counter key is a failure from the browser's point of view.
pub fn is_failure(k: &HttpKey) -> bool {
    k.status >= 400 || (k.method == Method::Options && !(200..300).contains(&k.status))
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct RouteHealth {
    pub route: String,
    pub critical: bool,
    pub options_total: u64,
    pub options_ok: u64,
    pub cross_origin_total: u64,
    /// Cross-origin requests that failed for the page, the refused ones included.
    pub cross_origin_failed: u64,
    /// Of `cross_origin_failed`, answers the server logged as fine that the browser refused
    /// (see [`super::series::Refused`]).
    pub cross_origin_refused: u64,
    pub status_401: u64,
    pub status_403: u64,
}

impl RouteHealth {
    /// OPTIONS 2xx / all OPTIONS; `None` without preflights.
    pub fn preflight_success(&self) -> Option<f64> {
        (self.options_total > 0).then(|| self.options_ok as f64 / self.options_total as f64)
    }
    pub fn cross_origin_failure_rate(&self) -> Option<f64> {
        (self.cross_origin_total > 0)
            .then(|| self.cross_origin_failed as f64 / self.cross_origin_total as f64)
    }
    pub fn below_objective(&self) -> bool {
        self.preflight_success()
            .is_some_and(|s| s < PREFLIGHT_OBJECTIVE)
    }
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct AuthSummary {
    pub status_401: u64,
    pub status_403: u64,
    /// 401/403 answered to OPTIONS: preflights challenged by auth (H2).
    pub options_401_403: u64,
    /// Non-zero classes only, in [`AuthClass::ALL`] order.
    pub by_class: Vec<(AuthClass, u64)>,
    pub failures: u64,
    pub successes: u64,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct SourceHealth {
    pub label: String,
    pub format: Option<&'static str>,
    pub state: String,
    pub lines: u64,
    pub lines_per_sec: f64,
    pub parse_errors: u64,
    /// Latest offending line (redacted) and the reason.
    pub last_error: Option<(String, String)>,
    pub last_line_age_ms: Option<EpochMs>,
    /// Why the source is not reading correctly, in full.
    pub problem: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct ProbeCounts {
    pub total: usize,
    pub allowed: usize,
    pub blocked: usize,
    /// Blocked because no response came back at all.
    pub transport: usize,
    pub critical_blocked: usize,
}

/// What was folded or dropped to keep memory bounded; shown so nothing disappears silently.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Folding {
    pub other_route_events: u64,
    /// As shown: `4096+` once the count reached its cap.
    pub other_route_names: String,
    pub other_origin_events: u64,
    pub other_origin_names: String,
    pub bucket_folded: u64,
    pub totals_folded: u64,
    pub dropped_too_old: u64,
    pub dropped_future: u64,
}

/// Route health and auth failures over one range.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RangeHealth {
    /// Routes seen in the range, problems first.
    pub routes: Vec<RouteHealth>,
    pub auth: AuthSummary,
    pub requests: u64,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Overview {
    /// Routes seen in the last [`STATUS_WINDOW_MS`], problems first.
    pub routes: Vec<RouteHealth>,
    pub auth: AuthSummary,
    /// The same over each [`super::TimeRange`] (indexed by [`super::TimeRange::index`]), for
    /// the panels that follow the range on screen.
    pub by_range: [RangeHealth; 3],
    pub sources: Vec<SourceHealth>,
    pub probes: ProbeCounts,
    pub folding: Folding,
    pub requests_15m: u64,
    /// The window every figure above covers.
    pub window_ms: EpochMs,
}

/// Route ids of the endpoints that probes mark critical.
pub fn critical_routes(store: &Store) -> FxHashSet<u16> {
    store
        .probe_latest()
        .iter()
        .filter(|p| p.critical)
        .filter_map(|p| {
            let templ = crate::store::route::template(url_path(&p.url));
            store.routes.lookup(&templ)
        })
        .collect()
}

/// Route health and auth failures being summed over one range.
#[derive(Default)]
struct HealthAcc {
    routes: Vec<(u16, RouteHealth)>,
    auth: AuthSummary,
    class_counts: [u64; AuthClass::COUNT],
    requests: u64,
}

impl HealthAcc {
    fn add(&mut self, store: &Store, critical: &FxHashSet<u16>, b: &crate::store::Bucket) {
        for (c, n) in self.class_counts.iter_mut().zip(b.auth) {
            *c += n as u64;
        }
        self.auth.successes += b.auth_ok as u64;
        for (k, &n) in &b.http {
            let n = n as u64;
            self.requests += n;
            let i = match self.routes.iter().position(|(id, _)| *id == k.route) {
                Some(i) => i,
                None => {
                    self.routes.push((
                        k.route,
                        RouteHealth {
                            route: store.route_name(k.route).to_string(),
                            critical: critical.contains(&k.route),
                            ..Default::default()
                        },
                    ));
                    self.routes.len() - 1
                }
            };
            let r = &mut self.routes[i].1;
            let auth = &mut self.auth;
            if k.method == Method::Options {
                r.options_total += n;
                if (200..300).contains(&k.status) {
                    r.options_ok += n;
                }
            }
            match k.status {
                401 => {
                    r.status_401 += n;
                    auth.status_401 += n;
                }
                403 => {
                    r.status_403 += n;
                    auth.status_403 += n;
                }
                _ => {}
            }
            if k.method == Method::Options && matches!(k.status, 401 | 403) {
                auth.options_401_403 += n;
            }
            if k.origin != NO_ORIGIN {
                r.cross_origin_total += n;
                if is_failure(k) {
                    r.cross_origin_failed += n;
                }
            }
        }
    }

    fn finish(self) -> RangeHealth {
        let mut auth = self.auth;
        auth.by_class = AuthClass::ALL
            .iter()
            .map(|&c| (c, self.class_counts[c as usize]))
            .filter(|(_, n)| *n > 0)
            .collect();
        auth.failures = self.class_counts.iter().sum();
        let mut routes: Vec<RouteHealth> = self.routes.into_iter().map(|(_, r)| r).collect();
        sort_routes(&mut routes);
        RangeHealth {
            routes,
            auth,
            requests: self.requests,
        }
    }
}

/// Problems first, then critical routes, then the most failures and preflights.
pub(super) fn sort_routes(routes: &mut [RouteHealth]) {
    routes.sort_by(|a, b| {
        let bad = |r: &RouteHealth| {
            r.below_objective()
                || r.cross_origin_failure_rate()
                    .is_some_and(|x| x > PAGE_FAILURE_RATE)
        };
        bad(b)
            .cmp(&bad(a))
            .then(b.critical.cmp(&a.critical))
            .then(b.cross_origin_failed.cmp(&a.cross_origin_failed))
            .then(b.options_total.cmp(&a.options_total))
            .then(a.route.cmp(&b.route))
    });
}

pub fn compute(
    store: &Store,
    critical: &FxHashSet<u16>,
    probes: &[ProbeRow],
    wall_now: EpochMs,
) -> Overview {
    let mut folding = Folding::default();
    for (_, bucket) in store.window(STATUS_WINDOW_MS) {
        if let Some(b) = bucket {
            folding.bucket_folded += b.folded as u64;
        }
    }
    // One pass over the longest range; each bucket counts in every range it falls in. The
    // status window is its own range so the status figures match the status rule's.
    let spans = [
        STATUS_WINDOW_MS,
        super::TimeRange::M15.span_ms(),
        super::TimeRange::H1.span_ms(),
        super::TimeRange::H6.span_ms(),
    ];
    let starts = spans.map(|span| store.window(span).next().map_or(EpochMs::MAX, |(t, _)| t));
    let mut accs: [HealthAcc; 4] = Default::default();
    let longest = spans.iter().copied().max().unwrap_or(STATUS_WINDOW_MS);
    for (start, bucket) in store.window(longest) {
        let Some(b) = bucket else { continue };
        for (acc, from) in accs.iter_mut().zip(starts) {
            if start >= from {
                acc.add(store, critical, b);
            }
        }
    }
    let [status_window, m15, h1, h6] = accs.map(HealthAcc::finish);
    let by_range = [m15, h1, h6];
    let RangeHealth {
        routes,
        auth,
        requests,
    } = status_window;

    let probe_counts = ProbeCounts {
        total: probes.len(),
        allowed: probes.iter().filter(|p| p.allowed).count(),
        blocked: probes.iter().filter(|p| !p.allowed).count(),
        transport: probes.iter().filter(|p| p.transport.is_some()).count(),
        critical_blocked: probes.iter().filter(|p| !p.allowed && p.critical).count(),
    };
    let sources = store
        .sources()
        .iter()
        .map(|s| SourceHealth {
            label: s.label.clone(),
            format: s.format,
            state: s.state.clone(),
            lines: s.lines,
            lines_per_sec: s.lines_per_sec(wall_now),
            parse_errors: s.parse_errors,
            last_error: s.last_error.clone(),
            last_line_age_ms: s.last_line_wall.map(|w| (wall_now - w).max(0)),
            problem: s.problem_text(store.config().retention_ms),
        })
        .collect();
    folding.other_route_events = store.routes.other_events;
    folding.other_route_names = store.routes.other_distinct_label();
    folding.other_origin_events = store.origins.other_events;
    folding.other_origin_names = store.origins.other_distinct_label();
    folding.totals_folded = store.totals_folded();
    folding.dropped_too_old = store.dropped_too_old;
    folding.dropped_future = store.dropped_future;

    Overview {
        routes,
        auth,
        by_range,
        sources,
        probes: probe_counts,
        folding,
        requests_15m: requests,
        window_ms: STATUS_WINDOW_MS,
    }
}
