//! The probe sends what the page sends: `fetch`'s default credentials mode (`same-origin`,
//! nothing sent cross-origin) unless the endpoint or the command line asks for `include`.
//! Judged against a real axum server configured as a bearer-token API usually is: a specific
//! origin, `Authorization` allowed, and no `Access-Control-Allow-Credentials`.

use crate::common;

use assert_cmd::Command;
use axum::http::{HeaderValue, Method, header};
use common::*;
use corstop::analysis::evidence::gather;
use corstop::analysis::triage::{State, score};
use corstop::cors::Credentials;
use corstop::model::time::{HOUR, SECOND};
use corstop::sources::event::Hypothesis;
use corstop::sources::probe::{ProbeClient, probe_once};
use corstop::store::{Store, StoreConfig, TimeMode};
use tower_http::cors::CorsLayer;

/// A bearer-token API: the SPA at `ORIGIN` may send `Authorization`; no cookies are expected,
/// so the server never says `Access-Control-Allow-Credentials`.
async fn bearer_api() -> (String, tokio::task::JoinHandle<()>) {
    let cors = CorsLayer::new()
        .allow_origin([HeaderValue::from_static(ORIGIN)])
        .allow_methods([Method::GET, Method::PUT])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    // The probe never sends the PUT itself (no `--actual`), so its 401 does not matter.
    serve_orders(cors).await
}

fn check(url: &str, extra: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("corstop")
        .expect("binary")
        .env_remove("CORSTOP_CONFIG")
        .timeout(std::time::Duration::from_secs(60))
        .args(["check", "--url", url, "--origin", ORIGIN])
        .args(extra)
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}\n--- stderr ---\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn default_probe_passes_a_bearer_api_that_does_not_allow_credentials() {
    let rt = runtime();
    let (url, _server) = rt.block_on(bearer_api());
    let (code, out) = check(&url, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ok "), "{out}");
    assert!(out.contains("credentials same-origin"), "{out}");
    assert!(!out.contains("acac-not-true"), "{out}");
}

#[test]
fn include_is_blocked_by_the_same_api_and_both_shows_both() {
    let rt = runtime();
    let (url, _server) = rt.block_on(bearer_api());

    let (code, out) = check(&url, &["--credentials", "include"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("acac-not-true"), "{out}");
    assert!(out.contains("credentials include"), "{out}");

    let (code, out) = check(&url, &["--credentials", "both", "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let json = out.split("\n--- stderr ---\n").next().unwrap_or_default();
    let checks: serde_json::Value = serde_json::from_str(json).expect("JSON on stdout");
    let checks = checks.as_array().expect("array");
    assert_eq!(checks.len(), 2, "{out}");
    let by_mode = |mode: &str| {
        checks
            .iter()
            .find(|c| c["credentials"] == mode)
            .unwrap_or_else(|| panic!("no {mode} check in {out}"))
    };
    assert_eq!(by_mode("same-origin")["allowed"], true);
    assert_eq!(by_mode("include")["allowed"], false);
    assert_eq!(by_mode("include")["code"], "acac-not-true");
}

#[test]
fn junit_names_the_mode() {
    let rt = runtime();
    let (url, _server) = rt.block_on(bearer_api());
    let (code, out) = check(&url, &["--credentials", "include", "--format", "junit"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("credentials: include"), "{out}");
}

/// The dashboard path: the configured default shape, probed for real, fed to a store; H1
/// ("CORS not allowed for this origin or header") must not be supported by a passing probe.
#[tokio::test]
async fn default_probe_does_not_support_h1_against_a_bearer_api() {
    let (url, _server) = bearer_api().await;
    let settings = settings(&url, ORIGIN);
    let targets = settings.targets();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].shape.credentials, Credentials::SameOrigin);
    let client = ProbeClient::new(&settings);
    let clock: corstop::model::time::Clock = std::sync::Arc::new(|| 1_775_296_800_000);
    let mut store = Store::new(
        StoreConfig {
            bucket_ms: 10 * SECOND,
            retention_ms: 6 * HOUR,
            ..Default::default()
        },
        TimeMode::EventTime,
    );
    let r = probe_once(&client, &targets[0], &clock, None).await;
    assert!(r.verdict.allowed, "{:?}", r.verdict);
    store.ingest_probe(r);

    let mut cookie_target = targets[0].clone();
    cookie_target.shape.credentials = Credentials::Include;
    let blocked = probe_once(&client, &cookie_target, &clock, None).await;
    assert_eq!(blocked.verdict.code, "acac-not-true");

    let board = score(&gather(&store, HOUR, &[HOUR]));
    let h1 = board.get(Hypothesis::H1).expect("H1 on the board");
    assert_ne!(h1.state, State::Supported, "{:?}", h1);

    // The same store with the credentialed probe added: now H1 has something to stand on.
    store.ingest_probe(blocked);
    let board = score(&gather(&store, HOUR, &[HOUR]));
    let h1 = board.get(Hypothesis::H1).expect("H1 on the board");
    assert_eq!(h1.state, State::Supported, "{:?}", h1);
}
