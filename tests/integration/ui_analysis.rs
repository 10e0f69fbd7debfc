//! The status rule over a real store and the series behind the views, table-driven.

use std::borrow::Cow;
use std::sync::Mutex;

use corstop::analysis::{self, Status, StatusClass, TimeRange};
use corstop::cors::{RequestShape, Stage, Verdict};
use corstop::model::time::{HOUR, MINUTE, SECOND};
use corstop::sources::event::{HttpRecord, Method, ProbeResult};
use corstop::store::{Store, StoreConfig, TimeMode};
use corstop::ui::Snapshotter;

const T0: i64 = 1_775_298_662_000;
const APP: &str = "https://app.contoso.com";

fn rec(t: i64, method: Method, path: &str, status: u16) -> HttpRecord<'static> {
    HttpRecord {
        time: t,
        method,
        path: Cow::Owned(path.into()),
        status,
        origin: Some(Cow::Borrowed(APP)),
        ..Default::default()
    }
}

fn probe(path: &str, critical: bool, allowed: bool) -> ProbeResult {
    ProbeResult {
        time: T0,
        url: format!("https://api.contoso.com{path}"),
        origin: APP.into(),
        shape: RequestShape::spa_default(),
        critical,
        preflight_request: None,
        preflight: None,
        actual_request: None,
        actual: None,
        transport: None,
        verdict: Verdict {
            allowed,
            stage: if allowed {
                Stage::None
            } else {
                Stage::Preflight
            },
            code: if allowed { "ok" } else { "acao-missing" },
            chrome_message: None,
            firefox_message: None,
            preflight_needed: true,
            request_headers: String::new(),
            hidden_status: None,
            www_authenticate: None,
            max_age_chrome: None,
            max_age_firefox: None,
            warnings: vec![],
            hypothesis: None,
        },
        instance: None,
        redirects: Vec::new(),
    }
}

struct Case {
    name: &'static str,
    /// (minutes before T0, method, route, status, how many)
    traffic: Vec<(i64, Method, &'static str, u16, u32)>,
    /// (route, critical, allowed)
    probes: &'static [(&'static str, bool, bool)],
    want: Status,
}

const OPT: Method = Method::Options;
const GET: Method = Method::Get;

#[test]
fn status_rule_over_a_store() {
    let cases = [
        Case {
            name: "no data",
            traffic: vec![],
            probes: &[],
            want: Status::Ok,
        },
        Case {
            name: "healthy preflights",
            traffic: vec![(1, OPT, "/a", 204, 500), (1, GET, "/a", 200, 500)],
            probes: &[("/a", true, true)],
            want: Status::Ok,
        },
        Case {
            name: "exactly at the objective",
            traffic: vec![(1, OPT, "/a", 204, 999), (2, OPT, "/a", 401, 1)],
            probes: &[],
            want: Status::Ok,
        },
        Case {
            name: "just below the objective",
            traffic: vec![(1, OPT, "/a", 204, 998), (2, OPT, "/a", 401, 2)],
            probes: &[],
            want: Status::Degraded,
        },
        Case {
            name: "critical route failing above 5 % for more than 10 minutes",
            traffic: (0..12)
                .flat_map(|m| [(m, OPT, "/a", 204, 9), (m, GET, "/a", 401, 1)])
                .collect(),
            probes: &[("/a", true, true)],
            want: Status::Page,
        },
        Case {
            name: "critical route failing, not long enough to page",
            traffic: (0..3)
                .flat_map(|m| [(m, OPT, "/a", 204, 9), (m, GET, "/a", 401, 1)])
                .collect(),
            probes: &[("/a", true, true)],
            want: Status::Degraded,
        },
        Case {
            name: "same failures on a non-critical route, preflights fine",
            traffic: vec![(1, OPT, "/a", 204, 90), (2, GET, "/a", 401, 10)],
            probes: &[("/a", false, true)],
            want: Status::Ok,
        },
        Case {
            name: "critical failures older than 10 minutes do not page",
            traffic: vec![(1, OPT, "/a", 204, 90), (12, GET, "/a", 401, 50)],
            probes: &[("/a", true, true)],
            want: Status::Ok,
        },
        Case {
            name: "a blocked probe degrades",
            traffic: vec![(1, OPT, "/a", 204, 10)],
            probes: &[("/a", false, false)],
            want: Status::Degraded,
        },
    ];
    for c in cases {
        let mut s = Store::new(StoreConfig::default(), TimeMode::EventTime).with_now(T0);
        let src = s.register_source("web");
        for (min, m, route, status, n) in c.traffic {
            for i in 0..n {
                s.ingest_http(
                    src,
                    &rec(T0 - min * MINUTE - (i as i64 % 50), m, route, status),
                );
            }
        }
        for &(route, critical, allowed) in c.probes {
            s.ingest_probe(probe(route, critical, allowed));
        }
        let m = analysis::snapshot(&s, T0);
        assert_eq!(m.status.level, c.want, "{}: {:?}", c.name, m.status.reasons);
        assert_eq!(
            m.status.reasons.is_empty(),
            c.want == Status::Ok,
            "{}: reasons explain any non-OK status",
            c.name
        );
    }
}

#[test]
fn ranges_aggregate_buckets_into_columns() {
    let mut s = Store::new(StoreConfig::default(), TimeMode::EventTime).with_now(T0);
    let src = s.register_source("web");
    // One 401 preflight per minute for five hours.
    for i in 0..300 {
        s.ingest_http(src, &rec(T0 - i * MINUTE, OPT, "/a", 401));
    }
    let m = analysis::snapshot(&s, T0);
    for (range, want_total, want_column_ms) in [
        (TimeRange::M15, 15, 10 * SECOND),
        (TimeRange::H1, 60, 20 * SECOND),
        (TimeRange::H6, 300, 2 * MINUTE),
    ] {
        let t = m.trend(range);
        assert_eq!(t.axis.column_ms, want_column_ms, "{range:?}");
        assert!(t.axis.columns <= analysis::MAX_COLUMNS);
        assert_eq!(t.axis.end - t.axis.start, range.span_ms(), "{range:?}");
        let r = &t.routes[0];
        let total = r.totals[StatusClass::S401 as usize];
        let summed: u64 = r
            .columns
            .iter()
            .map(|c| c[StatusClass::S401 as usize] as u64)
            .sum();
        // The 15 minute window starts mid-minute, so it holds 15 or 16 of the minute marks.
        assert!(
            total == want_total || total == want_total + 1,
            "{range:?}: {total}"
        );
        assert_eq!(summed, total, "{range:?}");
        assert_eq!(m.auth_timeline(range).total_401, total);
    }
    assert!(m.trend(TimeRange::H6).axis.end - m.trend(TimeRange::H6).axis.start <= 6 * HOUR);
}

#[test]
fn snapshots_only_when_the_store_changes_and_not_when_frozen() {
    let store = Mutex::new(Store::new(StoreConfig::default(), TimeMode::EventTime).with_now(T0));
    let mut snaps = Snapshotter::default();
    assert!(
        snaps.poll_at(&store, false, T0).is_some(),
        "first poll always draws"
    );
    assert!(
        snaps.poll_at(&store, false, T0 + 2 * SECOND).is_none(),
        "nothing changed"
    );
    {
        let mut s = store.lock().unwrap();
        let src = s.register_source("web");
        s.ingest_http(src, &rec(T0, OPT, "/a", 204));
    }
    assert!(
        snaps.poll_at(&store, true, T0 + 3 * SECOND).is_none(),
        "frozen takes no snapshot"
    );
    let m = snaps
        .poll_at(&store, false, T0 + 4 * SECOND)
        .expect("store changed");
    assert_eq!(m.overview.routes[0].options_ok, 1);
    assert!(snaps.poll_at(&store, false, T0 + 6 * SECOND).is_none());
    snaps.invalidate();
    assert!(snaps.poll_at(&store, false, T0 + 6 * SECOND).is_some());
}

/// Prints what the triage board and the alert rules add to a snapshot on a store filled to
/// its key caps (6 h of buckets, many routes, origins and statuses). Figures only: timings
/// are never asserted.
#[test]
fn triage_cost_on_a_full_store_is_printed() {
    use std::time::Instant;
    let mut s = Store::new(StoreConfig::default(), TimeMode::EventTime).with_now(T0);
    let src = s.register_source("web");
    let statuses = [200, 204, 401, 403, 404, 500, 302];
    let methods = [OPT, GET, Method::Post, Method::Put];
    let mut t = T0 - 6 * HOUR;
    let mut i = 0u64;
    while t <= T0 {
        for _ in 0..40 {
            i += 1;
            let route = format!("/api/r{}", i % 40);
            let origin = format!("https://o{}.contoso.com", i % 12);
            let mut r = rec(
                t,
                methods[(i % 4) as usize],
                &route,
                statuses[(i % 7) as usize],
            );
            r.origin = Some(Cow::Owned(origin));
            s.ingest_http(src, &r);
        }
        t += 10 * SECOND;
    }
    s.ingest_probe(probe("/api/r1", true, false));
    let cfg = analysis::AnalysisConfig::default();
    let rounds = 3;
    let started = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(analysis::verdicts(&s, &cfg));
    }
    let verdicts = started.elapsed() / rounds;
    let v = analysis::verdicts(&s, &cfg);
    let started = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(analysis::snapshot_parts(&s, T0, v.clone()));
    }
    let rest = started.elapsed() / rounds;
    println!("snapshot without board+alerts: {rest:?}; board+alerts: {verdicts:?}");
    assert_eq!(v.triage.entries.len(), analysis::triage::RULES.len());
}

#[test]
fn the_model_is_taken_at_most_once_a_second_and_catches_up() {
    use corstop::ui::run::RESCORE_EVERY_MS;
    let store = Mutex::new(Store::new(StoreConfig::default(), TimeMode::EventTime).with_now(T0));
    let src = store.lock().unwrap().register_source("web");
    let mut snaps = Snapshotter::default();
    let m = snaps.poll_at(&store, false, T0).expect("first poll");
    assert_eq!(m.top, None);
    let challenge = |s: &mut Store, from: i64| {
        for i in 0..60 {
            s.ingest_http(src, &rec(from + i * SECOND, OPT, "/api/orders", 401));
            s.ingest_http(src, &rec(from + i * SECOND, GET, "/api/orders", 200));
        }
    };
    challenge(&mut store.lock().unwrap(), T0 - MINUTE);
    // Counters and board come from one store state: the change waits for the period, whole.
    assert!(snaps.poll_at(&store, false, T0 + 100).is_none());
    assert!(snaps.poll_at(&store, false, T0 + 200).is_none());
    // Once the period has passed the model catches up even though the store stood still.
    let m = snaps
        .poll_at(&store, false, T0 + RESCORE_EVERY_MS)
        .expect("model behind the store");
    assert_eq!(m.overview.routes[0].options_total, 60);
    assert_eq!(
        m.top,
        Some(corstop::sources::event::Hypothesis::H2),
        "{:?}",
        m.triage
    );
    assert!(
        snaps
            .poll_at(&store, false, T0 + 2 * RESCORE_EVERY_MS)
            .is_none()
    );
}
