//! The one status rule seen through the dashboard: the header badge and the overview are
//! DEGRADED while probes are blocked, while a log source cannot be read (with its whole OS
//! error, on screen untruncated), and while a hypothesis is supported and failing now, even
//! when no alert fires. Each of these read OK before the rule existed.

use std::borrow::Cow;
use std::path::Path;
use std::time::{Duration, Instant};

use corstop::analysis::{self, Status, ViewModel};
use corstop::app::{Pipeline, lock};
use corstop::cors::{RequestShape, Stage, Verdict};
use corstop::model::time::{EpochMs, HOUR, MINUTE, SECOND};
use corstop::sources::event::{AuthClass, AuthRecord, HttpRecord, Method, ProbeResult};
use corstop::sources::formats::FormatOptions;
use corstop::sources::live::LogSourceSpec;
use corstop::store::{Store, StoreConfig, TimeMode};
use corstop::ui::{Theme, UiState, View, draw};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const T0: EpochMs = 1_775_296_800_000; // 2026-04-04T10:00:00Z
const SPA: &str = "https://app.contoso.com";

fn store() -> Store {
    Store::new(StoreConfig::default(), TimeMode::EventTime).with_now(T0)
}

fn http(s: &mut Store, t: EpochMs, method: Method, path: &str, status: u16) {
    s.ingest_http(
        0,
        &HttpRecord {
            time: t,
            method,
            path: Cow::Owned(path.into()),
            status,
            origin: Some(Cow::Borrowed(SPA)),
            acao: Some(Cow::Borrowed(SPA)),
            ..Default::default()
        },
    );
}

/// Fifteen healthy minutes: every preflight 204, every call 200.
fn healthy(s: &mut Store, from: EpochMs, to: EpochMs) {
    let mut t = from;
    while t < to {
        http(s, t, Method::Options, "/api/orders/7", 204);
        http(s, t + 1, Method::Get, "/api/orders/7", 200);
        t += 5 * SECOND;
    }
}

fn probe(t: EpochMs, path: &str, critical: bool, allowed: bool) -> ProbeResult {
    ProbeResult {
        time: t,
        url: format!("https://api.contoso.com{path}"),
        origin: SPA.into(),
        shape: RequestShape::spa_default(),
        critical,
        preflight_request: None,
        preflight: None,
        actual_request: None,
        actual: None,
        transport: None,
        verdict: Verdict {
            allowed,
            stage: if allowed { Stage::None } else { Stage::Actual },
            code: if allowed { "ok" } else { "acao-multiple" },
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

fn screen(model: &ViewModel, w: u16, h: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let mut state = UiState::new("LIVE", false);
    state.switch_to(View::Overview);
    let theme = Theme::builtin("default").unwrap();
    terminal
        .draw(|f| draw(f, &mut state, model, &theme))
        .unwrap();
    let buf = terminal.backend().buffer().clone();
    (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
        .collect()
}

/// The screen's text with the panel borders and line breaks taken out, so a wrapped reason
/// reads as one string.
fn flowing(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| l.trim_matches(|c: char| c == '│' || c == ' ').to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn badge_is_degraded_while_probes_are_blocked() {
    let mut s = store();
    healthy(&mut s, T0, T0 + 15 * MINUTE);
    let now = T0 + 15 * MINUTE;
    // 10 of 16 probes blocked on a route whose logged preflights all pass: the alert rules
    // see nothing (the logs' SLI is 100 %), the browser is blocked anyway.
    for i in 0..16 {
        s.ingest_probe(probe(now, &format!("/api/p{i}"), i == 15, i >= 10));
    }
    let m = analysis::snapshot(&s, now);
    assert!(m.alerts.alerts.is_empty(), "{:?}", m.alerts.alerts);
    assert_eq!(m.status.level, Status::Degraded, "{:?}", m.status.reasons);
    assert_eq!(
        m.status.reasons[0].text,
        "10 of 16 probes blocked, none critical"
    );
    let lines = screen(&m, 120, 40);
    assert!(lines[1].contains("DEGRADED"), "{}", lines[1]);
    assert!(!lines[1].contains("OK"), "{}", lines[1]);
    assert!(
        flowing(&lines).contains("10 of 16 probes blocked"),
        "{}",
        lines.join("\n")
    );

    // Trap: every probe passing again is OK.
    let mut s = store();
    healthy(&mut s, T0, now);
    for i in 0..16 {
        s.ingest_probe(probe(now, &format!("/api/p{i}"), false, true));
    }
    let m = analysis::snapshot(&s, now);
    assert_eq!(m.status.level, Status::Ok, "{:?}", m.status.reasons);
    assert!(screen(&m, 120, 40)[1].contains("OK"));
}

/// Token-expiry bursts every hour on a route nobody marked critical, with preflights fine:
/// no alert fires (the SLI is preflights, paging needs a critical route), yet the tokens of
/// every user are failing right now.
fn expiry_burst_ongoing() -> Store {
    let mut s = store();
    let end = T0 + 4 * HOUR + 12 * MINUTE + 50 * SECOND;
    let mut t = T0;
    while t < end {
        http(&mut s, t, Method::Options, "/api/orders/7", 204);
        http(&mut s, t + 1, Method::Put, "/api/orders/7", 200);
        http(&mut s, t + 2, Method::Get, "/api/orders", 200);
        let into_hour = (t - T0).rem_euclid(HOUR);
        if (12 * MINUTE..13 * MINUTE).contains(&into_hour) {
            for k in 0..3 {
                http(&mut s, t + 3 + k, Method::Get, "/api/orders", 401);
                s.ingest_auth(
                    1,
                    &AuthRecord {
                        time: t + 3 + k,
                        operation: "ValidateToken".into(),
                        class: Some(AuthClass::Expired),
                        status: Some(401),
                        message: "IDX10223: Lifetime validation failed. The token is expired."
                            .into(),
                    },
                );
            }
        }
        t += 5 * SECOND;
    }
    s
}

#[test]
fn badge_is_not_ok_while_a_supported_hypothesis_is_failing_now() {
    let s = expiry_burst_ongoing();
    let m = analysis::snapshot(&s, s.now());
    let top = m.top_entry().expect("a supported hypothesis");
    assert!(
        m.alerts.alerts.is_empty(),
        "the alerts alone would say OK: {:?}",
        m.alerts.alerts
    );
    assert_eq!(m.status.level, Status::Degraded, "{:?}", m.status.reasons);
    assert!(
        m.status
            .reasons
            .iter()
            .any(|r| r.key == format!("hypothesis:{}", top.id) && r.text.contains(top.title)),
        "{:?}",
        m.status.reasons
    );
    let lines = screen(&m, 120, 40);
    assert!(lines[1].contains("DEGRADED"), "{}", lines[1]);
}

/// Starts a live source on `path` and returns the view model once its state has settled.
async fn model_for_source(path: &Path) -> ViewModel {
    let mut pipeline = Pipeline::new(StoreConfig::default(), TimeMode::Live);
    pipeline.add_log(
        LogSourceSpec {
            path: path.to_string_lossy().into_owned(),
            label: Some("http.log".into()),
            format: None,
            from_start: false,
            history: true,
            poll: true,
            rotation_grace: corstop::sources::live::ROTATION_GRACE,
        },
        &FormatOptions::default(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let done = {
            let s = lock(&pipeline.store);
            s.sources()[0].state != "starting"
        };
        if done || Instant::now() > deadline {
            break;
        }
    }
    let m = {
        let s = lock(&pipeline.store);
        analysis::snapshot(&s, corstop::model::time::now_ms())
    };
    pipeline.shutdown().await;
    m
}

/// The source is DEGRADED with `want` whole, in the view model and on screen, where it is
/// neither cut to a column nor lost on a narrow terminal.
fn assert_unreadable(m: &ViewModel, want: &str) {
    assert_eq!(m.status.level, Status::Degraded, "{:?}", m.status.reasons);
    let texts: Vec<&str> = m.status.reasons.iter().map(|r| r.text.as_str()).collect();
    assert!(texts.contains(&want), "{texts:?}");
    for (w, h) in [(80, 24), (160, 50)] {
        let lines = screen(m, w, h);
        assert!(lines[1].contains("DEGRADED"), "{}", lines[1]);
        let text = flowing(&lines);
        assert!(
            text.contains(want) || text.replace("  ", " ").contains(want),
            "{w}x{h}: {want:?} not whole on screen:\n{}",
            lines.join("\n")
        );
        assert!(!text.contains("error: ope "), "{}", lines.join("\n"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_log_path_is_degraded_with_its_os_error() {
    let dir = tempfile::tempdir().unwrap();
    let m = model_for_source(&dir.path().join("htpp.log")).await;
    assert_unreadable(
        &m,
        "http.log: cannot open: No such file or directory (os error 2)",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_given_as_log_is_degraded_with_its_os_error() {
    let dir = tempfile::tempdir().unwrap();
    let m = model_for_source(dir.path()).await;
    assert_unreadable(&m, "http.log: cannot open: Is a directory (os error 21)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_file_is_degraded_with_its_os_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("http.log");
    std::fs::write(
        &path,
        "127.0.0.1 - - [04/Apr/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&path).is_ok() {
        println!("skipped: running with privileges that read a mode-000 file (root)");
        return;
    }
    let m = model_for_source(&path).await;
    assert_unreadable(&m, "http.log: cannot open: Permission denied (os error 13)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_readable_file_is_ok() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("http.log");
    std::fs::write(&path, "").unwrap();
    let m = model_for_source(&path).await;
    assert_eq!(m.status.level, Status::Ok, "{:?}", m.status.reasons);
    assert_eq!(m.overview.sources[0].state, "following");
}

#[test]
fn report_shows_the_same_status_in_every_format() {
    let mut s = store();
    let now = T0 + 15 * MINUTE;
    healthy(&mut s, T0, now);
    for i in 0..4 {
        s.ingest_probe(probe(now, &format!("/api/p{i}"), i == 0, i >= 2));
    }
    let src = s.register_source("http.log");
    let problem =
        "798 lines older than the 6h window were skipped: use --from-start to replay them";
    s.set_source_problem(src, Some(problem.into()));
    let full = corstop::headless::report::FullReport {
        counts: corstop::headless::report::build_at(&s, now),
        diagnosis: corstop::headless::report::diagnose(&s, &Default::default()),
    };
    let model = analysis::snapshot(&s, now);
    assert_eq!(
        full.diagnosis.status, model.status,
        "report and dashboard agree"
    );
    assert_eq!(full.diagnosis.status.level, Status::Degraded);

    let table = corstop::headless::report::full_to_table(&full);
    assert!(table.contains("STATUS: DEGRADED"), "{table}");
    assert!(
        table.contains("2 of 4 probes blocked, 1 critical: /api/p0 from https://app.contoso.com"),
        "{table}"
    );
    // The source's reason is whole, wrapped within 80 columns.
    let flat = table.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains(&format!("http.log: {problem}")), "{table}");
    assert!(table.lines().all(|l| l.chars().count() <= 80), "{table}");

    let json: serde_json::Value =
        serde_json::from_str(&corstop::headless::report::full_to_json(&full)).unwrap();
    assert_eq!(json["status"]["level"], "DEGRADED");
    assert_eq!(json["status"]["reasons"][0]["key"], "probes");

    let md = corstop::headless::report::full_to_markdown(&full, &s);
    assert!(md.contains("- **Status:** DEGRADED"), "{md}");
    assert!(md.contains(&format!("http.log: {problem}")), "{md}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_matching_no_file_is_degraded() {
    let dir = tempfile::tempdir().unwrap();
    let m = model_for_source(&dir.path().join("*.lgo")).await;
    assert_unreadable(&m, "http.log: no file matches the pattern yet");
}
