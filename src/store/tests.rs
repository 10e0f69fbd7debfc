use super::*;
use std::borrow::Cow;

const T0: EpochMs = 1_775_298_662_000; // 2026-04-04T10:31:02Z

fn http(t: EpochMs, method: Method, path: &str, status: u16) -> HttpRecord<'static> {
    HttpRecord {
        time: t,
        method,
        path: Cow::Owned(path.into()),
        status,
        ..Default::default()
    }
}

fn small(retention_s: i64) -> StoreConfig {
    StoreConfig {
        bucket_ms: 10 * SECOND,
        retention_ms: retention_s * SECOND,
        ..Default::default()
    }
}

fn count(store: &Store, route: &str, method: Method, status: u16) -> u64 {
    let Some(id) = store.routes.lookup(route) else {
        return 0;
    };
    store.sum_window(store.config().retention_ms, |k| {
        k.route == id && k.method == method && k.status == status
    })
}

/// Feeds `(offset from T0 in seconds, status)` pairs into an event-time store with a 6 h
/// window and returns it.
fn fed(times: &[i64]) -> Store {
    let mut s = Store::new(small(6 * 3600), TimeMode::EventTime);
    let src = s.register_source("a");
    for &t in times {
        s.ingest_http(src, &http(T0 + t * SECOND, Method::Get, "/api/orders", 200));
    }
    s
}

const Y2099: i64 = 2_300_000_000; // seconds after T0: 2099

#[test]
fn a_capped_count_of_folded_names_is_shown_as_a_floor() {
    let mut names = Interner::new(2);
    for i in 0..100 {
        names.intern(&format!("/r{i}"));
    }
    assert_eq!(
        (names.other_distinct_label(), names.other_distinct_capped()),
        ("98".into(), false)
    );
    for i in 100..6000 {
        names.intern(&format!("/r{i}"));
    }
    assert_eq!(names.other_distinct_label(), "4096+");
    assert_eq!(names.other_events, 5998);
}

#[test]
fn a_lone_far_stamp_never_moves_the_event_clock() {
    struct Case {
        name: &'static str,
        times: Vec<i64>,
        counted: u64,
        dropped_future: u64,
        now: i64,
    }
    let minutes = |from: i64, n: i64| (0..n).map(move |i| (from + i) * 60);
    let cases = [
        Case {
            name: "2099 in the middle",
            times: minutes(0, 30)
                .chain([Y2099])
                .chain(minutes(30, 30))
                .collect(),
            counted: 60,
            dropped_future: 1,
            now: 59 * 60,
        },
        Case {
            name: "2099 as the first line",
            times: [Y2099].into_iter().chain(minutes(0, 60)).collect(),
            counted: 60,
            dropped_future: 1,
            now: 59 * 60,
        },
        Case {
            name: "2099 as the last line",
            times: minutes(0, 60).chain([Y2099]).collect(),
            counted: 60,
            dropped_future: 1,
            now: 59 * 60,
        },
        Case {
            name: "two 2099 lines do not make a jump",
            times: minutes(0, 30)
                .chain([Y2099, Y2099 + 1])
                .chain(minutes(30, 30))
                .collect(),
            counted: 60,
            dropped_future: 2,
            now: 59 * 60,
        },
        Case {
            name: "a real gap of three hours at one line a minute is followed",
            times: minutes(0, 30).chain(minutes(210, 30)).collect(),
            counted: 60,
            dropped_future: 0,
            now: 239 * 60,
        },
        Case {
            name: "2099 among the lines that confirm a real gap stays out",
            times: minutes(0, 30)
                .chain([210 * 60, Y2099, 211 * 60, 212 * 60])
                .chain(minutes(213, 10))
                .collect(),
            counted: 43,
            dropped_future: 1,
            now: 222 * 60,
        },
        Case {
            name: "a gap with too few lines after it is counted, not followed",
            times: minutes(0, 30).chain([300 * 60, 301 * 60]).collect(),
            counted: 30,
            dropped_future: 2,
            now: 29 * 60,
        },
    ];
    for c in cases {
        let s = fed(&c.times);
        let counted = count(&s, "/api/orders", Method::Get, 200);
        assert_eq!(counted, c.counted, "{}: counted", c.name);
        assert_eq!(s.dropped_future, c.dropped_future, "{}: future", c.name);
        assert_eq!(s.dropped_too_old, 0, "{}: too old", c.name);
        assert_eq!(s.now(), T0 + c.now * SECOND, "{}: now", c.name);
        assert!(
            s.latest_event_time.unwrap() <= s.now(),
            "{}: latest event time",
            c.name
        );
    }
}

#[test]
fn live_mode_is_not_guarded_by_event_times() {
    let mut s = Store::new(small(600), TimeMode::Live).with_now(T0);
    let src = s.register_source("a");
    s.ingest_http(src, &http(T0 + Y2099 * SECOND, Method::Get, "/", 200));
    s.ingest_http(src, &http(T0, Method::Get, "/", 200));
    assert_eq!((s.dropped_future, s.held_events()), (1, 0));
    assert_eq!(count(&s, "/", Method::Get, 200), 1);
}

#[test]
fn buckets_by_event_time() {
    let mut s = Store::new(small(600), TimeMode::EventTime);
    let src = s.register_source("a");
    s.ingest_http(src, &http(T0, Method::Options, "/api/orders", 401));
    s.ingest_http(src, &http(T0 + 7_000, Method::Options, "/api/orders", 401));
    s.ingest_http(src, &http(T0 + 25_000, Method::Options, "/api/orders", 204));
    let series: Vec<u64> = s
        .window(40 * SECOND)
        .map(|(_, b)| b.map_or(0, super::Bucket::http_total))
        .collect();
    // T0 is 2 s into its bucket, so T0 and T0+7 s share one; T0+25 s is two buckets later.
    assert_eq!(series, vec![0, 2, 0, 1]);
    assert_eq!(s.now(), T0 + 25_000);
    assert_eq!(count(&s, "/api/orders", Method::Options, 401), 2);
}

#[test]
fn out_of_order_events_land_in_their_own_bucket() {
    let mut s = Store::new(small(600), TimeMode::EventTime);
    let src = s.register_source("a");
    s.ingest_http(src, &http(T0 + 60_000, Method::Get, "/a", 200));
    s.ingest_http(src, &http(T0, Method::Get, "/a", 500));
    s.ingest_http(src, &http(T0 + 30_000, Method::Get, "/a", 404));
    let by_bucket: Vec<(EpochMs, Vec<u16>)> = s
        .window(120 * SECOND)
        .filter_map(|(start, b)| {
            let b = b?;
            let mut st: Vec<u16> = b.http.keys().map(|k| k.status).collect();
            st.sort();
            Some((start, st))
        })
        .collect();
    assert_eq!(by_bucket.len(), 3);
    assert_eq!(by_bucket[0].1, vec![500]);
    assert_eq!(by_bucket[1].1, vec![404]);
    assert_eq!(by_bucket[2].1, vec![200]);
    assert_eq!(s.dropped_too_old, 0);
}

#[test]
fn retention_drops_and_counts_too_old_events() {
    let mut s = Store::new(small(60), TimeMode::EventTime);
    let src = s.register_source("a");
    s.ingest_http(src, &http(T0, Method::Get, "/a", 200));
    s.ingest_http(src, &http(T0 + 120_000, Method::Get, "/a", 200));
    // The first bucket is now outside the 60 s window: the window shows only the new one.
    assert_eq!(count(&s, "/a", Method::Get, 200), 1);
    // An event older than retention is refused and counted, never silently lost.
    s.ingest_http(src, &http(T0 + 10_000, Method::Get, "/a", 200));
    assert_eq!(s.dropped_too_old, 1);
    assert_eq!(count(&s, "/a", Method::Get, 200), 1);
    // Totals keep everything ever read, for reports.
    let total: u64 = s.totals().values().sum();
    assert_eq!(total, 3);
}

#[test]
fn the_previous_lines_bucket_is_not_reused_once_the_clock_moved_past_retention() {
    let mut s = Store::new(small(60), TimeMode::Live).with_now(T0);
    let src = s.register_source("a");
    s.ingest_http(src, &http(T0 - 1_000, Method::Get, "/a", 200));
    s.ingest_http(src, &http(T0 - 500, Method::Get, "/a", 200));
    assert_eq!(count(&s, "/a", Method::Get, 200), 2);
    // The live clock moves on with no lines; a late line for the old bucket is too old.
    s.tick(T0 + 120_000);
    s.ingest_http(src, &http(T0 - 400, Method::Get, "/a", 200));
    assert_eq!(s.dropped_too_old, 1);
    assert_eq!(count(&s, "/a", Method::Get, 200), 0);
    // Within retention the same bucket keeps counting.
    s.ingest_http(src, &http(T0 + 119_000, Method::Get, "/a", 200));
    s.ingest_http(src, &http(T0 + 119_500, Method::Get, "/a", 200));
    assert_eq!(count(&s, "/a", Method::Get, 200), 2);
    // A line newer than the clock takes the slow path, which also refuses far-future ones.
    s.ingest_http(src, &http(T0 + 119_900 + 3_600_000, Method::Get, "/a", 200));
    assert_eq!(s.dropped_future, 1);
}

#[test]
fn slots_are_reused_without_mixing_old_counts() {
    let mut s = Store::new(small(30), TimeMode::EventTime);
    let src = s.register_source("a");
    for i in 0..100 {
        s.ingest_http(src, &http(T0 + i * 10_000, Method::Get, "/a", 200));
    }
    // Three buckets of retention: exactly three events visible, one per bucket.
    let series: Vec<u64> = s
        .window(30 * SECOND)
        .map(|(_, b)| b.map_or(0, super::Bucket::http_total))
        .collect();
    assert_eq!(series, vec![1, 1, 1]);
}

#[test]
fn live_mode_rejects_far_future_events() {
    let mut s = Store::new(small(600), TimeMode::Live).with_now(T0);
    let src = s.register_source("a");
    s.ingest_http(src, &http(T0 + 3_600_000, Method::Get, "/a", 200));
    assert_eq!(s.dropped_future, 1);
    s.ingest_http(src, &http(T0 + 60_000, Method::Get, "/a", 200));
    assert_eq!(s.dropped_future, 1);
    assert_eq!(count(&s, "/a", Method::Get, 200), 1);
}

#[test]
fn routes_are_templated_and_capped() {
    let cfg = StoreConfig {
        max_routes: 3,
        ..small(600)
    };
    let mut s = Store::new(cfg, TimeMode::EventTime);
    let src = s.register_source("a");
    for id in 0..50 {
        s.ingest_http(
            src,
            &http(T0, Method::Get, &format!("/api/orders/{id}?x=1"), 200),
        );
    }
    assert_eq!(s.routes.len(), 1);
    assert_eq!(s.routes.name(0), "/api/orders/{id}");
    for name in ["/b", "/c", "/d", "/e", "/d"] {
        s.ingest_http(src, &http(T0, Method::Get, name, 200));
    }
    assert_eq!(s.routes.len(), 3);
    assert_eq!(s.routes.other_events, 3);
    assert_eq!(s.routes.other_distinct(), 2);
    let other = s.sum_window(600 * SECOND, |k| k.route == OTHER);
    assert_eq!(other, 3);
    // Repeats, with and without a query, count under the same ids (cached or not).
    for name in ["/b", "/b?page=2", "/b", "/e", "/api/orders/7"] {
        s.ingest_http(src, &http(T0, Method::Get, name, 200));
    }
    let b = s.routes.lookup("/b").unwrap();
    assert_eq!(s.sum_window(600 * SECOND, |k| k.route == b), 4);
    assert_eq!(s.sum_window(600 * SECOND, |k| k.route == 0), 51);
    assert_eq!(s.routes.other_events, 4);
    assert_eq!(s.sum_window(600 * SECOND, |k| k.route == OTHER), 4);
}

#[test]
fn bucket_key_cap_folds_into_other() {
    let cfg = StoreConfig {
        max_keys_per_bucket: 4,
        ..small(600)
    };
    let mut s = Store::new(cfg, TimeMode::EventTime);
    let src = s.register_source("a");
    for i in 0..10 {
        s.ingest_http(src, &http(T0, Method::Get, &format!("/r{i}"), 200));
    }
    let (_, b) = s.window(10 * SECOND).last().unwrap();
    let b = b.unwrap();
    assert!(b.http.len() <= 5);
    assert_eq!(b.folded, 6);
    assert_eq!(b.http_total(), 10);
}

#[test]
fn origins_and_acao_are_keyed() {
    let mut s = Store::new(small(600), TimeMode::EventTime);
    let src = s.register_source("a");
    let mut r = http(T0, Method::Options, "/api/orders", 204);
    r.origin = Some("https://app.contoso.com".into());
    r.acao = Some("https://app.contoso.com, https://app.contoso.com".into());
    s.ingest_http(src, &r);
    let o = s.origins.lookup("https://app.contoso.com").unwrap();
    let n = s.sum_window(600 * SECOND, |k| {
        k.origin == o && k.acao == AcaoSeen::Multiple
    });
    assert_eq!(n, 1);
}

#[test]
fn auth_events_by_class() {
    let mut s = Store::new(small(600), TimeMode::EventTime);
    let src = s.register_source("auth");
    let rec = AuthRecord {
        time: T0,
        operation: "ValidateToken".into(),
        class: Some(AuthClass::Expired),
        status: Some(401),
        message: "IDX10223: Lifetime validation failed. Bearer abcdef".into(),
    };
    s.ingest_auth(src, &rec);
    let (_, b) = s.window(10 * SECOND).last().unwrap();
    assert_eq!(b.unwrap().auth[AuthClass::Expired as usize], 1);
    let sample = s.auth_samples().last().unwrap();
    assert!(!sample.message.contains("abcdef"));
}

#[test]
fn parse_errors_keep_a_redacted_sample() {
    let mut s = Store::new(small(600), TimeMode::EventTime);
    let src = s.register_source("a");
    s.note_parse_error(src, b"\xff\xfe garbage Bearer sekret", "not UTF-8");
    let st = &s.sources()[0];
    assert_eq!(st.parse_errors, 1);
    let (sample, reason) = st.last_error.clone().unwrap();
    assert!(!sample.contains("sekret"));
    assert_eq!(reason, "not UTF-8");
    let huge = vec![b'x'; 10 << 20];
    s.note_parse_error(src, &huge, "line too long");
    assert!(s.sources()[0].last_error.as_ref().unwrap().0.len() < 1000);
}

fn preflight(t: EpochMs, client: &str, origin: &str, status: u16) -> HttpRecord<'static> {
    let mut r = http(t, Method::Options, "/api/orders", status);
    r.client = Some(Cow::Owned(client.into()));
    r.origin = Some(Cow::Owned(origin.into()));
    r
}

fn followups(s: &Store) -> (u32, u32) {
    s.window(600 * SECOND)
        .filter_map(|(_, b)| b)
        .flat_map(|b| b.followups.values())
        .fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1))
}

#[test]
fn preflights_are_paired_with_their_request_per_client() {
    let mut s = Store::new(small(600), TimeMode::EventTime);
    let src = s.register_source("a");
    let app = "https://app.contoso.com";
    // Client 1: preflight, then the PUT a second later: followed.
    s.ingest_http(src, &preflight(T0, "10.0.0.1", app, 204));
    let mut put = preflight(T0 + 1_000, "10.0.0.1", app, 200);
    put.method = Method::Put;
    s.ingest_http(src, &put);
    // Client 2: accepted preflight, browser refused the answer: nothing follows.
    s.ingest_http(src, &preflight(T0 + 2_000, "10.0.0.2", app, 204));
    // Client 3: refused at the server (401): not an accepted preflight at all.
    s.ingest_http(src, &preflight(T0 + 2_000, "10.0.0.3", app, 401));
    // A PUT from client 2 long after the window does not rescue its preflight.
    let mut late = preflight(T0 + 2_000 + FOLLOW_WINDOW_MS + 5_000, "10.0.0.2", app, 200);
    late.method = Method::Put;
    s.ingest_http(src, &late);
    s.settle_followups();
    assert_eq!(followups(&s), (1, 1));
    assert_eq!(s.pending_untracked, 0);
}

#[test]
fn waiting_preflights_are_decided_as_time_passes() {
    let mut s = Store::new(small(600), TimeMode::EventTime);
    let src = s.register_source("a");
    let app = "https://app.contoso.com";
    for i in 0..20 {
        s.ingest_http(
            src,
            &preflight(T0 + i * 100, &format!("10.0.1.{i}"), app, 204),
        );
    }
    assert_eq!(followups(&s), (0, 0));
    // Unrelated traffic moves event time past the window: the sweep decides them.
    s.ingest_http(src, &preflight(T0 + 30_000, "10.9.9.9", app, 204));
    assert_eq!(followups(&s), (0, 20));
}

#[test]
fn raw_ring_is_bounded() {
    let cfg = StoreConfig {
        raw_lines_per_source: 5,
        ..small(600)
    };
    let mut s = Store::new(cfg, TimeMode::EventTime);
    let src = s.register_source("a");
    for i in 0..20 {
        s.note_raw_line(src, 0, &format!("line {i}"));
    }
    let kept: Vec<&str> = s.raw_lines().map(|l| l.text.as_str()).collect();
    assert_eq!(
        kept,
        vec!["line 15", "line 16", "line 17", "line 18", "line 19"]
    );
}
