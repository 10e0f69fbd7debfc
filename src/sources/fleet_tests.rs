//! Tests of the fleet source: label mapping, step increases, the instance join, the
//! queries, and a refusing server.

use super::*;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

fn sample(pairs: &[(&str, &str)], value: f64) -> Sample {
    Sample {
        labels: labels(pairs),
        time: 0,
        value,
    }
}

#[test]
fn request_series_map_to_cells() {
    type Want = Option<(Option<&'static str>, bool, u16)>;
    let cases: &[(&[(&str, &str)], Want)] = &[
        (
            &[
                ("route", "/api/orders"),
                ("origin", "https://app.example"),
                ("method_class", "preflight"),
                ("status_class", "4xx"),
                ("status", "403"),
            ],
            Some((Some("https://app.example"), true, 403)),
        ),
        (
            &[
                ("route", "/api/orders"),
                ("origin", "(none)"),
                ("method_class", "actual"),
                ("status_class", "5xx"),
            ],
            Some((None, false, 500)),
        ),
        (
            &[
                ("route", "/x"),
                ("origin", "https://a"),
                ("method_class", "preflight"),
                ("status_class", "4xx"),
                ("status", "other"),
            ],
            Some((Some("https://a"), true, 400)),
        ),
        (
            &[
                ("route", "/api/orders"),
                ("origin", "https://a"),
                ("method_class", "actual"),
                ("status_class", "4xx"),
                ("status", "401"),
            ],
            Some((Some("https://a"), false, 401)),
        ),
        (
            &[
                ("route", "/api/orders"),
                ("origin", "https://a"),
                ("method_class", "actual"),
                ("status_class", "4xx"),
                ("status", ""),
            ],
            Some((Some("https://a"), false, 400)),
        ),
        (&[("origin", "https://a")], None),
    ];
    for (l, want) in cases {
        let got = request_series(Series {
            labels: labels(l),
            points: vec![(1_000, 2.0), (2_000, 0.0), (3_000, f64::NAN)],
        });
        match (want, got) {
            (None, None) => {}
            (Some((origin, preflight, status)), Some(g)) => {
                assert_eq!(
                    (g.origin.as_deref(), g.preflight, g.status),
                    (*origin, *preflight, *status),
                    "{l:?}"
                );
                assert_eq!(g.points, vec![(1_000, 2.0)], "zero and NaN steps dropped");
            }
            (w, g) => panic!("{l:?}: want {w:?}, got {g:?}"),
        }
    }
}

#[test]
fn auth_classes_are_read_back_from_their_labels() {
    for class in AuthClass::ALL {
        let s = Series {
            labels: labels(&[("class", &class.as_str().replace('-', "_"))]),
            points: vec![(1, 1.0)],
        };
        assert_eq!(auth_series(s).map(|a| a.0), Some(class));
    }
    let unknown = Series {
        labels: labels(&[("class", "sunspots")]),
        points: vec![],
    };
    assert!(auth_series(unknown).is_none());
}

#[test]
fn instances_and_probes_are_joined() {
    let a = InstantAnswers {
        up: vec![
            sample(&[("instance", "a:1"), ("region", "eu")], 1.0),
            sample(&[("instance", "b:1")], 1.0),
            sample(&[("instance", "c:1")], 0.0),
        ],
        status: vec![sample(&[("instance", "a:1")], 2.0)],
        hypotheses: vec![
            sample(&[("instance", "a:1"), ("hypothesis", "H1")], 40.0),
            sample(&[("instance", "a:1"), ("hypothesis", "H2")], 90.0),
        ],
        rate: vec![
            sample(&[("instance", "a:1")], 4.0),
            sample(&[("instance", "b:1")], 2.0),
        ],
        failed: vec![sample(&[("instance", "a:1")], 1.0)],
        probe_success: vec![
            sample(
                &[("instance", "a:1"), ("endpoint", "/e"), ("origin", "o")],
                0.0,
            ),
            sample(
                &[("instance", "b:1"), ("endpoint", "/e"), ("origin", "o")],
                1.0,
            ),
        ],
        probe_errors: vec![sample(
            &[
                ("instance", "a:1"),
                ("endpoint", "/e"),
                ("origin", "o"),
                ("reason", "PreflightMissingAllowOriginHeader"),
            ],
            1.0,
        )],
    };
    let (instances, omitted, probes) = join(a);
    assert_eq!(omitted, 0);
    assert_eq!(instances.len(), 3);
    let a = &instances[0];
    assert_eq!(a.region.as_deref(), Some("eu"));
    assert_eq!(a.status, Some(2));
    assert_eq!(a.top, Some(("H2".into(), 90.0)));
    assert_eq!(a.failure_ratio, 0.25);
    assert_eq!(a.probes_failing, 1);
    assert!(!instances[2].up);
    assert_eq!(probes.len(), 1);
    assert_eq!((probes[0].failing, probes[0].instances), (1, 2));
    assert_eq!(
        probes[0].reasons,
        vec![("PreflightMissingAllowOriginHeader".into(), 1)]
    );
    let data = FleetData {
        instances,
        ..FleetData::default()
    };
    assert_eq!(data.summary(), "3 agents, 2 up");
}

#[test]
fn the_selector_goes_inside_every_metric() {
    let q = Queries::new(r#"{job="corstop"}"#);
    assert_eq!(
        q.requests(),
        r#"sum by (route, origin, method_class, status_class, status) (corstop_http_requests_total{job="corstop"})"#
    );
    assert_eq!(q.up(), r#"up{job="corstop"}"#);
    assert!(
        q.hypotheses()
            .contains(r#"corstop_hypothesis_state{state="supported",job="corstop"}"#),
        "{}",
        q.hypotheses()
    );
    assert_eq!(
        q.for_instance("10.0.0.1:9464").requests(),
        r#"sum by (route, origin, method_class, status_class, status) (corstop_http_requests_total{instance="10.0.0.1:9464",job="corstop"})"#
    );
    assert_eq!(
        Queries::new("").for_instance(r#"a"b"#).up(),
        r#"up{instance="a\"b"}"#
    );
    let bare = Queries::new("");
    assert!(
        bare.hypotheses()
            .contains(r#"corstop_hypothesis_state{state="supported"}"#),
        "{}",
        bare.hypotheses()
    );
}

#[test]
fn counters_become_what_each_step_added() {
    let step = 10;
    type Points = &'static [(EpochMs, f64)];
    let cases: &[(&str, Points, Points)] = &[
        (
            "present from the start: a baseline",
            &[(100, 5.0), (110, 7.0), (120, 7.0)],
            &[(100, 0.0), (110, 2.0), (120, 0.0)],
        ),
        (
            "appears mid-range: all of it",
            &[(120, 20.0), (130, 26.0)],
            &[(120, 20.0), (130, 6.0)],
        ),
        (
            "the sum falls: nothing",
            &[(100, 9.0), (110, 4.0), (120, 6.0)],
            &[(100, 0.0), (110, 0.0), (120, 2.0)],
        ),
        (
            "back after a gap: all of it",
            &[(100, 9.0), (140, 3.0)],
            &[(100, 0.0), (140, 3.0)],
        ),
        (
            "NaN skipped",
            &[(100, 1.0), (110, f64::NAN), (120, 4.0)],
            &[(100, 0.0), (120, 3.0)],
        ),
    ];
    for (what, points, want) in cases {
        let got = increases(
            Series {
                labels: Labels::new(),
                points: points.to_vec(),
            },
            100,
            step,
        );
        assert_eq!(got.points, want.to_vec(), "{what}");
    }
}

/// A server that refuses connections is the fleet source's error, named without the
/// credentials of its URL, and the producer keeps polling (the next refresh may succeed).
#[tokio::test]
async fn a_refusing_server_is_the_sources_error_state() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (tx, mut rx) = mpsc::channel(4);
    let settings = FleetSettings {
        url: format!("http://ops:hunter2@127.0.0.1:{port}"),
        refresh_ms: 50,
        timeout_ms: 500,
        ..FleetSettings::default()
    };
    let task = spawn(
        settings,
        3,
        6 * 60 * SECOND * 60,
        10 * SECOND,
        FleetControl::default(),
        tx,
    );
    for _ in 0..2 {
        let ev = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("an answer within the timeout")
            .expect("the producer is still running");
        match ev {
            Event::SourceState { source, state } => {
                assert_eq!(source, 3);
                assert!(state.starts_with("error: Prometheus at"), "{state}");
                assert!(!state.contains("hunter2"), "{state}");
            }
            _ => panic!("not an error state"),
        }
    }
    task.abort();
}

#[test]
fn steps_are_whole_buckets() {
    assert_eq!(fleet_step(10_000, 10_000), 10_000);
    assert_eq!(fleet_step(10_000, 60_000), 60_000);
    assert_eq!(fleet_step(10_000, 15_000), 10_000);
    assert_eq!(fleet_step(60_000, 1_000), 60_000);
}
