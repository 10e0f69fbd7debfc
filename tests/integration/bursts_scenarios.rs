//! Token-expiry bursts through a real store: random 401s are neither bursts nor a period nor
//! support for H3; real expiry bursts are found at high and at low traffic; a fleet whose
//! tokens live a random 60–90 minutes is recognised per client.
//!
//! Randomness is seeded (`fastrand::Rng::with_seed`), so every run sees the same traffic. The
//! false-positive budget of the burst test is at most 1 seed in 50 with any burst.

use std::borrow::Cow;

use corstop::analysis::bursts::{BurstParams, MIN_CONFIDENCE};
use corstop::analysis::expiry::{ExpiryReport, analyse_expiry};
use corstop::analysis::triage::Ranking;
use corstop::analysis::triage::{State, triage_ranked};
use corstop::model::time::{EpochMs, HOUR, MINUTE, SECOND};
use corstop::sources::event::{AuthClass, AuthRecord, HttpRecord, Hypothesis, Method};
use corstop::store::{Store, StoreConfig, TimeMode};

const T0: EpochMs = 1_775_296_800_000; // 2026-04-04T10:00:00Z
const SPA: &str = "https://app.contoso.com";

fn store() -> Store {
    let mut s = Store::new(
        StoreConfig {
            bucket_ms: 10 * SECOND,
            retention_ms: 6 * HOUR,
            ..Default::default()
        },
        TimeMode::EventTime,
    );
    s.register_source("http");
    s.register_source("auth");
    s
}

fn get(s: &mut Store, t: EpochMs, status: u16, client: Option<&str>) {
    let rec = HttpRecord {
        time: t,
        method: Method::Get,
        path: Cow::Borrowed("/api/orders"),
        status,
        origin: Some(Cow::Borrowed(SPA)),
        client: client.map(|c| Cow::Owned(c.to_string())),
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

fn analyse(s: &Store, span: EpochMs) -> ExpiryReport {
    analyse_expiry(s, span, &[HOUR], &BurstParams::default())
}

/// Six hours of traffic at `per_min` requests a minute at random times, each failing 401 with
/// probability `fail`; `expired_every` puts an `expired` auth event beside every n-th 401.
fn random_401s(seed: u64, per_min: f64, fail: f64, expired_every: Option<u64>) -> Store {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut s = store();
    let mut t = T0 as f64;
    let end = (T0 + 6 * HOUR) as f64;
    let mut n401 = 0u64;
    loop {
        t += -(1.0 - rng.f64()).ln() * MINUTE as f64 / per_min;
        if t >= end {
            break;
        }
        let at = t as EpochMs;
        let client = format!("10.0.{}.{}", rng.u8(0..4), rng.u8(1..250));
        if rng.f64() < fail {
            get(&mut s, at, 401, Some(&client));
            n401 += 1;
            if expired_every.is_some_and(|n| n401.is_multiple_of(n)) {
                expired(&mut s, at);
            }
        } else {
            get(&mut s, at, 200, Some(&client));
        }
    }
    s
}

#[test]
fn random_401s_give_no_burst_and_no_period() {
    // (requests a minute, share failing): a 401 every 10 min up to 6 a minute.
    let rates = [(2.0, 0.05), (20.0, 0.05), (20.0, 0.3), (60.0, 0.1)];
    for (per_min, fail) in rates {
        let mut with_bursts = 0;
        for seed in 0..50 {
            let s = random_401s(seed, per_min, fail, None);
            for span in [15 * MINUTE, HOUR, 6 * HOUR] {
                let r = analyse(&s, span);
                assert!(span < 6 * HOUR || r.failures > 0);
                assert!(
                    r.period.is_none(),
                    "{per_min}/min ×{fail} seed {seed}: {:?}",
                    r.period
                );
                if span == 6 * HOUR && !r.bursts.is_empty() {
                    with_bursts += 1;
                }
                assert!(!r.clients.significant(), "{:?}", r.clients);
            }
        }
        assert!(
            with_bursts <= 1,
            "{per_min}/min ×{fail}: {with_bursts} of 50 seeds with bursts"
        );
    }
}

#[test]
fn random_401s_with_expired_events_do_not_support_h3() {
    for seed in 0..10 {
        // One 401 in ten requests, an `expired` event beside every fifth of them.
        let s = random_401s(seed, 20.0, 0.1, Some(5));
        for span in [HOUR, 6 * HOUR] {
            let board = triage_ranked(&s, span, &[HOUR], Ranking::Impact);
            let h3 = board.get(Hypothesis::H3).unwrap();
            assert!(
                !matches!(h3.state, State::Supported | State::Ended),
                "seed {seed}: {h3:?}"
            );
            let r = analyse(&s, span);
            assert!(r.bursts.is_empty(), "seed {seed}: {:?}", r.bursts);
        }
    }
}

/// Hourly expiry: `burst` 401s (with `expired` events) inside one minute at 20 past every
/// hour, over a baseline of `base_per_min` stray 401s a minute, for six hours.
fn hourly(seed: u64, burst: u32, base_per_min: f64) -> Store {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut s = store();
    let mut t = T0;
    while t < T0 + 6 * HOUR {
        get(&mut s, t, 200, Some("10.0.0.1"));
        if rng.f64() < base_per_min / 6.0 {
            get(&mut s, t + 1000, 401, Some("10.0.0.2"));
        }
        t += 10 * SECOND;
    }
    for h in 0..6 {
        let at = T0 + h * HOUR + 20 * MINUTE;
        for k in 0..burst {
            let when = at + (k as EpochMs * MINUTE) / burst as EpochMs;
            get(&mut s, when, 401, Some(&format!("10.1.0.{k}")));
            expired(&mut s, when);
        }
    }
    s
}

#[test]
fn hourly_bursts_are_found_with_a_confident_period() {
    // 40 in a minute over 1 a minute; 6 in a minute over almost nothing (low traffic).
    for (burst, base) in [(40, 1.0), (6, 0.02)] {
        for seed in 0..5 {
            let s = hourly(seed, burst, base);
            let r = analyse(&s, 6 * HOUR);
            let starts: Vec<i64> = r
                .bursts
                .iter()
                .map(|b| (b.burst.start - T0).rem_euclid(HOUR) / MINUTE)
                .collect();
            assert_eq!(starts.len(), 6, "{burst} over {base}: {starts:?}");
            // A stray 401 just before a burst over a near-zero baseline cannot be told from
            // its first failure: a start up to two minutes early is the burst.
            assert!(starts.iter().all(|m| (18..=20).contains(m)), "{starts:?}");
            for b in &r.bursts {
                let into = (b.burst.end - T0).rem_euclid(HOUR);
                assert!(into > 20 * MINUTE, "{b:?}");
            }
            let p = r.period.as_ref().expect("a period");
            assert_eq!(p.matches_lifetime, Some(HOUR));
            assert!(p.confidence >= MIN_CONFIDENCE, "{p:?}");
            assert!(r.period_text.as_deref().unwrap().contains("confidence"));
            // Each `expired` event is counted with one burst only, and none is invented.
            let near: u64 = r.bursts.iter().map(|b| b.expired).sum();
            assert!(near <= r.expired, "{near} > {}", r.expired);
            for b in &r.bursts {
                assert!(b.expired <= b.burst.count + 1, "{b:?}");
            }
            let board = triage_ranked(&s, 6 * HOUR, &[HOUR], Ranking::Impact);
            let h3 = board.get(Hypothesis::H3).unwrap();
            assert!(
                matches!(h3.state, State::Supported | State::Ended),
                "{h3:?}"
            );
            assert!(
                h3.evidence.iter().any(|l| l.contains("confidence")),
                "{:?}",
                h3.evidence
            );
        }
    }
}

#[test]
fn two_bursts_are_bursts_but_no_period() {
    let mut s = store();
    for k in 0..(3 * 360) {
        get(&mut s, T0 + k * 10 * SECOND, 200, None);
    }
    for at in [T0 + 30 * MINUTE, T0 + 90 * MINUTE] {
        for k in 0..20 {
            get(&mut s, at + k * SECOND, 401, None);
        }
    }
    let r = analyse(&s, 6 * HOUR);
    assert_eq!(r.bursts.len(), 2);
    assert!(r.period.is_none());
}

/// Twelve clients whose tokens each live a random 60–90 minutes: at each expiry the client's
/// next two calls are refused with `expired`, then it signs in again. Fleet-wide the 401s
/// are scattered (no burst, no period); each client recurs at its token lifetime.
fn entra_fleet(seed: u64) -> Store {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut s = store();
    for k in 0..(6 * 360) {
        get(&mut s, T0 + k * 10 * SECOND, 200, Some("10.9.9.9"));
    }
    for c in 0..12 {
        let client = format!("10.2.0.{c}");
        let mut t = T0 + rng.i64(0..60) * MINUTE;
        while t < T0 + 6 * HOUR {
            for retry in 0..2 {
                get(&mut s, t + retry * 5 * SECOND, 401, Some(&client));
                expired(&mut s, t + retry * 5 * SECOND);
            }
            t += rng.i64(60..=90) * MINUTE + rng.i64(0..120) * SECOND;
        }
    }
    s
}

#[test]
fn an_entra_fleet_recurs_per_client() {
    for seed in 0..5 {
        let s = entra_fleet(seed);
        let r = analyse(&s, 6 * HOUR);
        assert!(r.clients.significant(), "seed {seed}: {:?}", r.clients);
        assert!(r.clients.recurring >= 10, "{:?}", r.clients);
        let text = r.clients_text.as_deref().unwrap();
        assert!(
            text.contains("within the 60–90 min Entra ID token lifetime range"),
            "{text}"
        );
        let board = triage_ranked(&s, 6 * HOUR, &[HOUR], Ranking::Impact);
        let h3 = board.get(Hypothesis::H3).unwrap();
        assert!(
            matches!(h3.state, State::Supported | State::Ended),
            "seed {seed}: {h3:?}"
        );
        assert!(
            h3.evidence
                .iter()
                .any(|l| l.contains("clients with a recurring 401/403")),
            "{:?}",
            h3.evidence
        );
    }
    // The same refusals without client addresses: nothing per client to judge.
    let mut s = store();
    for k in 0..(6 * 360) {
        get(&mut s, T0 + k * 10 * SECOND, 200, None);
    }
    let r = analyse(&s, 6 * HOUR);
    assert_eq!(r.clients.clients, 0);
    assert!(r.clients_text.is_none());
}

#[test]
fn preflight_refusals_are_not_client_expiries() {
    let mut s = store();
    for h in 0..6 {
        for retry in 0..3 {
            let rec = HttpRecord {
                time: T0 + h * 75 * MINUTE + retry * SECOND,
                method: Method::Options,
                path: Cow::Borrowed("/api/orders"),
                status: 401,
                origin: Some(Cow::Borrowed(SPA)),
                client: Some(Cow::Borrowed("10.3.0.1")),
                ..Default::default()
            };
            s.ingest_http(0, &rec);
        }
    }
    assert!(s.client_failures().is_empty());
    assert_eq!(analyse(&s, 6 * HOUR).clients.clients, 0);
}
