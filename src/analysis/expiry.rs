//! Token-expiry analysis over the store: 401/403 bursts on real (non-OPTIONS) requests, overall
//! and per route and origin, set beside the auth log's `expired` signatures, with the
//! recurrence period compared against the configured token lifetimes, and, where the log names
//! clients, each client's own recurrence (a fleet's tokens expire at scattered times; each
//! client's recur at its own token lifetime).
//!
//! The store's buckets are regrouped into at most [`MAX_POINTS`] analysis points so that a 6 h
//! window of 10 s buckets costs the same as a 15 min one; the grouping starts at the first
//! bucket of the window, so live data and a replay that ends at the same "now" give identical
//! reports.

use serde::Serialize;

use crate::analysis::bursts::{
    Burst, BurstParams, ClientPeriods, ExpiryCorrelation, Period, client_periods,
    correlate_expired, detect_bursts, estimate_period, expired_windows,
};
use crate::model::time::EpochMs;
use crate::sources::event::{AuthClass, Method};
use crate::store::{HttpKey, Store};

/// Most points in an analysed series; coarser store windows are regrouped to fit.
pub const MAX_POINTS: usize = 720;
/// Routes and origins (by failure volume) that get their own series.
pub const MAX_SCOPES: usize = 8;
/// Most bursts reported (the newest are kept: they matter most on call).
pub const MAX_BURSTS: usize = 48;
/// Most burst start times listed per route or origin.
const MAX_SCOPE_STARTS: usize = 16;

/// One burst of 401/403 on real requests, with where it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExpiryBurst {
    #[serde(flatten)]
    pub burst: Burst,
    /// The route carrying the most failures inside the burst (among the top routes).
    pub route: Option<String>,
    /// That route's share of the burst's failures (0..=1).
    pub route_share: f64,
    pub origin: Option<String>,
    pub origin_share: f64,
    /// `expired` auth events within the burst and one point either side (a point between two
    /// close bursts counts for the earlier one only).
    pub expired: u64,
}

/// Bursts of one route or one origin.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScopeBursts {
    pub name: String,
    /// 401/403 on non-OPTIONS requests in the window.
    pub failures: u64,
    pub bursts: usize,
    /// Burst start times, newest last (capped).
    pub starts: Vec<EpochMs>,
    pub period: Option<Period>,
}

/// Everything the expiry view and the H3 rule need.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExpiryReport {
    /// Start of the first analysis point.
    pub start: EpochMs,
    /// Width of one analysis point (a multiple of the store's bucket).
    pub point_ms: EpochMs,
    pub points: usize,
    /// 401/403 on non-OPTIONS requests in the window.
    pub failures: u64,
    /// `expired` auth events in the window.
    pub expired: u64,
    /// All auth failures (any class) in the window.
    pub auth_failures: u64,
    /// `expired` / all auth failures (0 when there are none).
    pub expired_of_auth_failures: f64,
    /// Bursts of the overall failure series, oldest first (the newest [`MAX_BURSTS`]).
    pub bursts: Vec<ExpiryBurst>,
    /// Bursts in the `expired` series itself.
    pub expired_bursts: usize,
    pub by_route: Vec<ScopeBursts>,
    pub by_origin: Vec<ScopeBursts>,
    pub correlation: ExpiryCorrelation,
    pub period: Option<Period>,
    /// `Period::describe()`, ready to show.
    pub period_text: Option<String>,
    pub next_due: Option<EpochMs>,
    pub lifetimes_ms: Vec<EpochMs>,
    /// Each client's own recurrence (where the log names clients), summarised.
    pub clients: ClientPeriods,
    /// `ClientPeriods::describe()` when the recurrences are significant, ready to show.
    pub clients_text: Option<String>,
}

impl ExpiryReport {
    /// True when the period matches one of the configured token lifetimes.
    pub fn period_matches_lifetime(&self) -> bool {
        self.period
            .as_ref()
            .is_some_and(|p| p.matches_lifetime.is_some())
    }
}

/// The failures this analysis counts: 401 and 403 on anything but a preflight.
pub fn is_token_failure(k: &HttpKey) -> bool {
    k.method != Method::Options && (k.status == 401 || k.status == 403)
}

/// Per-point series of the window, regrouped to at most [`MAX_POINTS`].
struct Series {
    start: EpochMs,
    point_ms: EpochMs,
    overall: Vec<u32>,
    expired: Vec<u32>,
    auth_failures: u64,
    routes: Vec<(u16, Vec<u32>)>,
    origins: Vec<(u16, Vec<u32>)>,
}

fn top_ids(totals: &rustc_hash::FxHashMap<u16, u64>, names: impl Fn(u16) -> String) -> Vec<u16> {
    let mut v: Vec<(u16, u64, String)> = totals
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(&id, &n)| (id, n, names(id)))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.2.cmp(&b.2)));
    v.truncate(MAX_SCOPES);
    v.into_iter().map(|(id, _, _)| id).collect()
}

fn build_series(store: &Store, span_ms: EpochMs) -> Series {
    let buckets: Vec<_> = store.window(span_ms).collect();
    let n = buckets.len().max(1);
    let group = n.div_ceil(MAX_POINTS).max(1);
    let points = n.div_ceil(group);
    let start = buckets.first().map_or(0, |(s, _)| *s);
    let point_ms = store.bucket_ms() * group as EpochMs;

    let mut route_tot = rustc_hash::FxHashMap::default();
    let mut origin_tot = rustc_hash::FxHashMap::default();
    for (_, b) in &buckets {
        let Some(b) = b else { continue };
        for (k, &c) in &b.http {
            if is_token_failure(k) {
                *route_tot.entry(k.route).or_insert(0u64) += c as u64;
                *origin_tot.entry(k.origin).or_insert(0u64) += c as u64;
            }
        }
    }
    let routes = top_ids(&route_tot, |id| store.route_name(id).to_string());
    let origins = top_ids(&origin_tot, |id| store.origin_name(id).to_string());

    let mut s = Series {
        start,
        point_ms,
        overall: vec![0; points],
        expired: vec![0; points],
        auth_failures: 0,
        routes: routes.iter().map(|&id| (id, vec![0; points])).collect(),
        origins: origins.iter().map(|&id| (id, vec![0; points])).collect(),
    };
    for (i, (_, b)) in buckets.iter().enumerate() {
        let Some(b) = b else { continue };
        let p = i / group;
        s.expired[p] += b.auth[AuthClass::Expired as usize];
        s.auth_failures += b.auth.iter().map(|&c| c as u64).sum::<u64>();
        for (k, &c) in &b.http {
            if !is_token_failure(k) {
                continue;
            }
            s.overall[p] += c;
            if let Some((_, v)) = s.routes.iter_mut().find(|(id, _)| *id == k.route) {
                v[p] += c;
            }
            if let Some((_, v)) = s.origins.iter_mut().find(|(id, _)| *id == k.origin) {
                v[p] += c;
            }
        }
    }
    s
}

fn sum_range(v: &[u32], first: usize, last: usize) -> u64 {
    v.iter().take(last + 1).skip(first).map(|&c| c as u64).sum()
}

/// The series with the largest volume inside `[first, last]`, and its share of `total`.
fn attribute(
    scopes: &[(u16, Vec<u32>)],
    first: usize,
    last: usize,
    total: u64,
    name: impl Fn(u16) -> String,
) -> (Option<String>, f64) {
    let best = scopes
        .iter()
        .map(|(id, v)| (*id, sum_range(v, first, last)))
        .filter(|(_, n)| *n > 0)
        // Ties go to the earlier (higher-volume) scope, which keeps the result deterministic.
        .fold(None::<(u16, u64)>, |acc, x| match acc {
            Some(a) if a.1 >= x.1 => Some(a),
            _ => Some(x),
        });
    match best {
        Some((id, n)) => (Some(name(id)), n as f64 / total.max(1) as f64),
        None => (None, 0.0),
    }
}

fn scope_bursts(
    scopes: &[(u16, Vec<u32>)],
    s: &Series,
    lifetimes: &[EpochMs],
    params: &BurstParams,
    name: impl Fn(u16) -> String,
) -> Vec<ScopeBursts> {
    scopes
        .iter()
        .map(|(id, v)| {
            let bursts = detect_bursts(v, s.start, s.point_ms, params);
            let starts: Vec<EpochMs> = bursts.iter().map(|b| b.start).collect();
            let period = estimate_period(&starts, s.point_ms, lifetimes);
            let keep = starts.len().saturating_sub(MAX_SCOPE_STARTS);
            ScopeBursts {
                name: name(*id),
                failures: v.iter().map(|&c| c as u64).sum(),
                bursts: bursts.len(),
                starts: starts[keep..].to_vec(),
                period,
            }
        })
        .collect()
}

/// Analyses the last `span_ms` of the store for token-expiry bursts.
///
/// `lifetimes` are the token lifetimes to compare the period with (typically 1 h for Entra ID
/// and Google access tokens). Pure and deterministic: the same store content and "now" give the
/// same report.
pub fn analyse_expiry(
    store: &Store,
    span_ms: EpochMs,
    lifetimes: &[EpochMs],
    params: &BurstParams,
) -> ExpiryReport {
    let s = build_series(store, span_ms);
    let route_name = |id: u16| store.route_name(id).to_string();
    let origin_name = |id: u16| store.origin_name(id).to_string();

    let all = detect_bursts(&s.overall, s.start, s.point_ms, params);
    let correlation = correlate_expired(&s.overall, &s.expired, &all);
    let starts: Vec<EpochMs> = all.iter().map(|b| b.start).collect();
    let period = estimate_period(&starts, s.point_ms, lifetimes);
    let expired_bursts = detect_bursts(&s.expired, s.start, s.point_ms, params).len();

    let keep = all.len().saturating_sub(MAX_BURSTS);
    let windows = expired_windows(&all, s.expired.len());
    let bursts = all[keep..]
        .iter()
        .zip(&windows[keep..])
        .map(|(b, w)| {
            let (route, route_share) = attribute(&s.routes, b.first, b.last, b.count, route_name);
            let (origin, origin_share) =
                attribute(&s.origins, b.first, b.last, b.count, origin_name);
            ExpiryBurst {
                burst: b.clone(),
                route,
                route_share,
                origin,
                origin_share,
                expired: w.map_or(0, |(lo, hi)| sum_range(&s.expired, lo, hi)),
            }
        })
        .collect();

    let window_end = s.start + s.overall.len() as EpochMs * s.point_ms;
    let clients = client_periods(
        &store.client_failures().episodes(s.start, window_end),
        lifetimes,
    );
    let failures: u64 = s.overall.iter().map(|&c| c as u64).sum();
    let expired: u64 = s.expired.iter().map(|&c| c as u64).sum();
    ExpiryReport {
        start: s.start,
        point_ms: s.point_ms,
        points: s.overall.len(),
        failures,
        expired,
        auth_failures: s.auth_failures,
        expired_of_auth_failures: if s.auth_failures > 0 {
            expired as f64 / s.auth_failures as f64
        } else {
            0.0
        },
        bursts,
        expired_bursts,
        by_route: scope_bursts(&s.routes, &s, lifetimes, params, route_name),
        by_origin: scope_bursts(&s.origins, &s, lifetimes, params, origin_name),
        correlation,
        period_text: period.as_ref().map(Period::describe),
        next_due: period.as_ref().map(|p| p.next_due),
        period,
        lifetimes_ms: lifetimes.to_vec(),
        clients_text: clients.significant().then(|| clients.describe()).flatten(),
        clients,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::time::{HOUR, MINUTE, SECOND};
    use crate::sources::event::{AuthRecord, HttpRecord};
    use crate::store::{StoreConfig, TimeMode};
    use std::borrow::Cow;

    const T0: EpochMs = 1_775_296_800_000; // 2026-04-04T10:00:00Z

    fn store(bucket: EpochMs) -> Store {
        Store::new(
            StoreConfig {
                bucket_ms: bucket,
                retention_ms: 6 * HOUR,
                ..Default::default()
            },
            TimeMode::EventTime,
        )
    }

    fn get(s: &mut Store, t: EpochMs, path: &str, origin: &str, status: u16) {
        let rec = HttpRecord {
            time: t,
            method: Method::Get,
            path: Cow::Owned(path.into()),
            status,
            origin: Some(Cow::Owned(origin.into())),
            ..Default::default()
        };
        s.ingest_http(0, &rec);
    }

    fn expired(s: &mut Store, t: EpochMs) {
        let rec = AuthRecord {
            time: t,
            operation: "ValidateToken".into(),
            class: Some(AuthClass::Expired),
            status: Some(401),
            message: "IDX10223: Lifetime validation failed. The token is expired.".into(),
        };
        s.ingest_auth(1, &rec);
    }

    /// Four and a half hours of traffic; hourly 401 bursts on `/api/orders` from one origin.
    fn hourly(bucket: EpochMs, with_expired: bool) -> Store {
        let mut s = store(bucket);
        s.register_source("http");
        s.register_source("auth");
        let end = T0 + 4 * HOUR + 30 * MINUTE;
        let mut t = T0;
        let mut i = 0u64;
        while t < end {
            get(&mut s, t, "/api/orders/17", "https://app.contoso.com", 200);
            // A stray 401 now and then, as real traffic has.
            if i.is_multiple_of(97) {
                get(&mut s, t, "/api/profile", "https://admin.contoso.com", 401);
            }
            let into_hour = (t - T0).rem_euclid(HOUR);
            if (20 * MINUTE..21 * MINUTE).contains(&into_hour) {
                for _ in 0..3 {
                    get(&mut s, t, "/api/orders/17", "https://app.contoso.com", 401);
                    if with_expired {
                        expired(&mut s, t);
                    }
                }
            }
            t += 5 * SECOND;
            i += 1;
        }
        s
    }

    #[test]
    fn hourly_bursts_match_the_token_lifetime() {
        for bucket in [10 * SECOND, MINUTE] {
            let s = hourly(bucket, true);
            let r = analyse_expiry(&s, 6 * HOUR, &[HOUR], &BurstParams::default());
            assert!(r.points <= MAX_POINTS);
            let starts: Vec<i64> = r
                .bursts
                .iter()
                .map(|b| (b.burst.start - T0) / MINUTE)
                .collect();
            assert_eq!(starts.len(), 5, "bucket {bucket}: {starts:?}");
            for (k, m) in starts.iter().enumerate() {
                assert!((m - (20 + 60 * k as i64)).abs() <= 1, "{starts:?}");
            }
            for b in &r.bursts {
                assert_eq!(b.route.as_deref(), Some("/api/orders/{id}"));
                assert_eq!(b.origin.as_deref(), Some("https://app.contoso.com"));
                assert!(b.expired > 0);
            }
            let p = r.period.as_ref().expect("period");
            assert_eq!(p.matches_lifetime, Some(HOUR));
            assert!(r.period_matches_lifetime());
            assert!(r.correlation.expired_share > 0.8, "{:?}", r.correlation);
            assert_eq!(r.expired_of_auth_failures, 1.0);
            assert_eq!(r.next_due, Some(p.next_due));
            assert!(r.period_text.as_deref().unwrap_or("").contains("1h"));
            assert_eq!(r.by_route[0].name, "/api/orders/{id}");
            assert!(r.by_route[0].bursts >= 4);
        }
    }

    #[test]
    fn bursts_without_expired_signatures_have_no_expired_share() {
        let s = hourly(10 * SECOND, false);
        let r = analyse_expiry(&s, 6 * HOUR, &[HOUR], &BurstParams::default());
        assert_eq!(r.bursts.len(), 5);
        assert_eq!(r.expired, 0);
        assert_eq!(r.correlation.expired_share, 0.0);
    }

    #[test]
    fn steady_traffic_has_no_bursts_and_is_repeatable() {
        let mut s = store(10 * SECOND);
        for k in 0..2000 {
            let t = T0 + k * 7 * SECOND;
            get(&mut s, t, "/api/orders", "https://app.contoso.com", 200);
            if k % 50 == 0 {
                get(&mut s, t, "/api/orders", "https://app.contoso.com", 401);
            }
        }
        let a = analyse_expiry(&s, 6 * HOUR, &[HOUR], &BurstParams::default());
        assert!(a.bursts.is_empty());
        assert!(a.period.is_none());
        assert_eq!(a.failures, 40);
        let b = analyse_expiry(&s, 6 * HOUR, &[HOUR], &BurstParams::default());
        assert_eq!(a, b);
    }

    #[test]
    fn options_failures_are_not_token_failures() {
        let mut s = store(10 * SECOND);
        let rec = HttpRecord {
            time: T0,
            method: Method::Options,
            path: "/api/orders".into(),
            status: 401,
            ..Default::default()
        };
        s.ingest_http(0, &rec);
        let r = analyse_expiry(&s, HOUR, &[HOUR], &BurstParams::default());
        assert_eq!(r.failures, 0);
    }
}
