//! Preflights the browser rejected: OPTIONS answered 2xx at the server, yet the real request
//! never arrives, because the browser refused the answer (origin not allowed, header or method
//! not listed, doubled `Access-Control-Allow-Origin`). Every log line looks healthy; only the
//! missing follow-up traffic shows the failure.
//!
//! # Limitation: counter pairing, not request pairing
//!
//! The store keeps counters, not requests, so pairing is by origin × route template over a
//! window: successful preflights are compared with the non-OPTIONS requests from the same
//! origin to the same route. This cannot tell two clients apart, and:
//! - simple requests (GET without custom headers) need no preflight and inflate the follow-up
//!   count, so a route mixing simple and preflighted calls hides part of its rejections;
//! - browsers cache preflights (`Access-Control-Max-Age`), so one preflight can be followed by
//!   many requests; that also pushes the share up, never down;
//! - a preflight at the window's end may be followed just after it.
//!
//! All three bias towards "followed", so a low followed share is strong evidence, while a share
//! near 1 does not prove the browser accepted every answer.

use serde::Serialize;

use crate::model::time::EpochMs;
use crate::sources::event::{AcaoSeen, Method};
use crate::store::{NO_ORIGIN, Store};

/// Most rows returned (the largest gaps first).
pub const MAX_ROWS: usize = 64;

/// Preflights against real requests for one origin on one route.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FollowupRow {
    pub route: String,
    pub origin: String,
    /// The origin came from the Referer because the log has no Origin field.
    pub origin_derived: bool,
    /// OPTIONS answered 200-299.
    pub preflight_2xx: u64,
    /// OPTIONS answered anything else (those fail visibly; they are here for context).
    pub preflight_failed: u64,
    /// Non-OPTIONS requests from the same origin on the same route.
    pub actual: u64,
    /// `min(1, actual / preflight_2xx)`; 1 when there was no successful preflight.
    pub followed_share: f64,
    /// `preflight_2xx - actual`, at least 0: successful preflights with no visible follow-up.
    pub unfollowed: u64,
    /// Successful preflights whose logged `Access-Control-Allow-Origin` held several values.
    pub acao_multiple: u64,
    /// Successful preflights logged without `Access-Control-Allow-Origin`.
    pub acao_missing: u64,
    /// Successful preflights logged with exactly one value.
    pub acao_single: u64,
}

/// `min(1, actual / preflight_2xx)`: the share of accepted preflights whose request showed up,
/// from counts alone (1 when there was no accepted preflight).
pub fn followed_share(preflight_2xx: u64, actual: u64) -> f64 {
    if preflight_2xx == 0 {
        1.0
    } else {
        (actual as f64 / preflight_2xx as f64).min(1.0)
    }
}

impl FollowupRow {
    /// `unfollowed / preflight_2xx` (0 when there was no successful preflight).
    pub fn unfollowed_share(&self) -> f64 {
        if self.preflight_2xx == 0 {
            0.0
        } else {
            self.unfollowed as f64 / self.preflight_2xx as f64
        }
    }
}

#[derive(Default)]
struct Acc {
    derived: bool,
    ok: u64,
    failed: u64,
    actual: u64,
    multiple: u64,
    missing: u64,
    single: u64,
}

/// Pairs successful preflights with real requests per origin × route over the last `span_ms`.
///
/// Requests without an origin are left out (nothing to pair them by). Rows are sorted by
/// unfollowed count, then route and origin, and capped at [`MAX_ROWS`].
pub fn preflight_followup(store: &Store, span_ms: EpochMs) -> Vec<FollowupRow> {
    let mut acc: std::collections::BTreeMap<(u16, u16), Acc> = Default::default();
    for (_, b) in store.window(span_ms) {
        let Some(b) = b else { continue };
        for (k, &c) in &b.http {
            if k.origin == NO_ORIGIN {
                continue;
            }
            let c = c as u64;
            let a = acc.entry((k.route, k.origin)).or_default();
            a.derived |= k.origin_derived;
            if k.method == Method::Options {
                if (200..300).contains(&k.status) {
                    a.ok += c;
                    match k.acao {
                        AcaoSeen::Multiple => a.multiple += c,
                        AcaoSeen::Missing => a.missing += c,
                        AcaoSeen::Single => a.single += c,
                        AcaoSeen::NotLogged => {}
                    }
                } else {
                    a.failed += c;
                }
            } else {
                a.actual += c;
            }
        }
    }
    let mut rows: Vec<FollowupRow> = acc
        .into_iter()
        .filter(|(_, a)| a.ok + a.failed > 0)
        .map(|((route, origin), a)| FollowupRow {
            route: store.route_name(route).to_string(),
            origin: store.origin_name(origin).to_string(),
            origin_derived: a.derived,
            preflight_2xx: a.ok,
            preflight_failed: a.failed,
            actual: a.actual,
            followed_share: followed_share(a.ok, a.actual),
            unfollowed: a.ok.saturating_sub(a.actual),
            acao_multiple: a.multiple,
            acao_missing: a.missing,
            acao_single: a.single,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.unfollowed
            .cmp(&a.unfollowed)
            .then_with(|| a.route.cmp(&b.route))
            .then_with(|| a.origin.cmp(&b.origin))
    });
    rows.truncate(MAX_ROWS);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::time::{MINUTE, SECOND};
    use crate::sources::event::HttpRecord;
    use crate::store::{StoreConfig, TimeMode};

    const T0: EpochMs = 1_775_296_800_000;

    fn rec(
        t: EpochMs,
        m: Method,
        path: &str,
        origin: Option<&str>,
        status: u16,
    ) -> HttpRecord<'static> {
        HttpRecord {
            time: t,
            method: m,
            path: path.to_string().into(),
            status,
            origin: origin.map(|o| o.to_string().into()),
            ..Default::default()
        }
    }

    #[test]
    fn pairs_preflights_with_requests_per_origin_and_route() {
        let mut s = Store::new(StoreConfig::default(), TimeMode::EventTime);
        let good = Some("https://app.contoso.com");
        let bad = Some("https://admin.contoso.com");
        for i in 0..20 {
            let t = T0 + i * 10 * SECOND;
            s.ingest_http(0, &rec(t, Method::Options, "/api/orders/1", good, 204));
            s.ingest_http(0, &rec(t + 1, Method::Put, "/api/orders/2", good, 200));
            // The browser rejected these answers: no PUT follows.
            let mut r = rec(t, Method::Options, "/api/orders/3", bad, 204);
            r.acao = Some("https://admin.contoso.com, https://admin.contoso.com".into());
            s.ingest_http(0, &r);
            if i % 4 == 0 {
                s.ingest_http(0, &rec(t + 1, Method::Put, "/api/orders/4", bad, 200));
            }
        }
        // No origin: cannot be paired, left out.
        s.ingest_http(0, &rec(T0, Method::Options, "/api/orders/5", None, 204));
        // Failed preflights only.
        s.ingest_http(0, &rec(T0, Method::Options, "/api/items", good, 401));

        let rows = preflight_followup(&s, 10 * MINUTE);
        assert_eq!(rows.len(), 3);
        let first = &rows[0];
        assert_eq!(first.origin, "https://admin.contoso.com");
        assert_eq!(first.route, "/api/orders/{id}");
        assert_eq!(
            (first.preflight_2xx, first.actual, first.unfollowed),
            (20, 5, 15)
        );
        assert!((first.followed_share - 0.25).abs() < 1e-9);
        assert!((first.unfollowed_share() - 0.75).abs() < 1e-9);
        assert_eq!(first.acao_multiple, 20);
        let ok = rows
            .iter()
            .find(|r| r.origin == "https://app.contoso.com" && r.route == "/api/orders/{id}")
            .unwrap();
        assert_eq!((ok.unfollowed, ok.followed_share), (0, 1.0));
        let items = rows.iter().find(|r| r.route == "/api/items").unwrap();
        assert_eq!((items.preflight_2xx, items.preflight_failed), (0, 1));
        assert_eq!(items.followed_share, 1.0);
    }

    #[test]
    fn more_requests_than_preflights_caps_at_one() {
        let mut s = Store::new(StoreConfig::default(), TimeMode::EventTime);
        let o = Some("https://app.contoso.com");
        s.ingest_http(0, &rec(T0, Method::Options, "/a", o, 200));
        for i in 0..5 {
            s.ingest_http(0, &rec(T0 + i, Method::Post, "/a", o, 201));
        }
        let rows = preflight_followup(&s, MINUTE);
        assert_eq!(rows[0].followed_share, 1.0);
        assert_eq!(rows[0].unfollowed, 0);
    }
}
