//! The prober against real axum servers configured with tower-http's `CorsLayer`, as teams
//! actually configure it, plus the scheduler driving rounds into the event channel.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, Method, header};
use common::*;
use corstop::cors::{Credentials, Stage};
use corstop::model::time::Clock;
use corstop::sources::event::{Event, ProbeResult};
use corstop::sources::probe::{ProbeClient, ProbeTarget, probe_once};
use tower_http::cors::{AllowHeaders, AllowMethods, CorsLayer};

fn clock() -> Clock {
    std::sync::Arc::new(|| 1_700_000_000_000)
}

async fn probe(url: &str, t: ProbeTarget) -> ProbeResult {
    probe_once(
        &ProbeClient::new(&settings(url, ORIGIN)),
        &t,
        &clock(),
        None,
    )
    .await
}

fn specific() -> CorsLayer {
    CorsLayer::new()
        .allow_origin([HeaderValue::from_static(ORIGIN)])
        .allow_methods([Method::GET, Method::PUT])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .allow_credentials(true)
}

#[tokio::test]
async fn permissive_layer_fails_credentialed_requests() {
    let (url, _server) = serve_orders(CorsLayer::permissive()).await;
    let r = probe(&url, target(&url, ORIGIN, spa())).await;
    assert!(!r.verdict.allowed);
    assert_eq!(r.verdict.code, "acao-wildcard-credentials");
    assert!(
        chrome(&r).contains("must not be the wildcard '*'"),
        "{}",
        chrome(&r)
    );
}

#[tokio::test]
async fn permissive_layer_passes_uncredentialed_json() {
    let (url, _server) = serve_orders(CorsLayer::permissive()).await;
    let shape = shape(
        "PUT",
        &[("Content-Type", "application/json")],
        Credentials::Omit,
    );
    let r = probe(&url, target(&url, ORIGIN, shape)).await;
    assert!(r.verdict.allowed, "{:?}", r.verdict);
    assert_eq!(r.verdict.code, "ok");
}

#[tokio::test]
async fn mirroring_layer_with_credentials_is_a_critical_finding() {
    let (url, _server) = serve_orders(CorsLayer::very_permissive()).await;
    let r = probe(&url, target(&url, ORIGIN, spa())).await;
    assert!(r.verdict.allowed, "{:?}", r.verdict);

    let mut s = settings(&url, ORIGIN);
    s.security = true;
    let results = corstop::sources::probe::run_once(&s, clock()).await;
    let arbitrary = results
        .iter()
        .find(|r| r.shape.name == "security:arbitrary")
        .expect("arbitrary origin probed");
    let w = arbitrary
        .verdict
        .warnings
        .iter()
        .find(|w| w.code == "security-critical")
        .expect("critical finding");
    // tower-http sends `Vary: origin`, so no cache-poisoning note.
    assert!(!w.message.contains("cache poisoning"), "{}", w.message);
    let null = results
        .iter()
        .find(|r| r.shape.name == "security:null")
        .expect("null probed");
    assert!(
        null.verdict
            .warnings
            .iter()
            .any(|w| w.code == "security-critical")
    );
}

#[tokio::test]
async fn specific_origin_list() {
    let (url, _server) = serve_orders(specific()).await;
    let ok = probe(&url, target(&url, ORIGIN, spa())).await;
    assert!(ok.verdict.allowed, "{:?}", ok.verdict);
    let other = probe(&url, target(&url, "https://other.example", spa())).await;
    assert!(!other.verdict.allowed);
    assert_eq!(other.verdict.code, "acao-missing");
    assert_eq!(other.verdict.stage, Stage::Preflight);

    // The allowed origin's lookalikes are refused: no findings above info.
    let mut s = settings(&url, ORIGIN);
    s.security = true;
    let results = corstop::sources::probe::run_once(&s, clock()).await;
    assert!(results.iter().all(|r| {
        !r.verdict
            .warnings
            .iter()
            .any(|w| w.code.starts_with("security-"))
    }));
}

#[tokio::test]
async fn allow_headers_without_authorization() {
    let cors = CorsLayer::new()
        .allow_origin([HeaderValue::from_static(ORIGIN)])
        .allow_methods([Method::GET, Method::PUT])
        .allow_headers([header::CONTENT_TYPE])
        .allow_credentials(true);
    let (url, _server) = serve_orders(cors).await;
    let r = probe(&url, target(&url, ORIGIN, spa())).await;
    assert_eq!(r.verdict.code, "header-not-allowed");
    assert!(
        chrome(&r).contains("Request header field authorization is not allowed"),
        "{}",
        chrome(&r)
    );
}

#[tokio::test]
async fn any_headers_cover_authorization_with_a_warning() {
    let cors = CorsLayer::new()
        .allow_origin([HeaderValue::from_static(ORIGIN)])
        .allow_methods(AllowMethods::any())
        .allow_headers(AllowHeaders::any());
    let (url, _server) = serve_orders(cors).await;
    let shape = shape(
        "PUT",
        &[
            ("Authorization", "Bearer x"),
            ("Content-Type", "application/json"),
        ],
        Credentials::Omit,
    );
    let r = probe(&url, target(&url, ORIGIN, shape)).await;
    assert!(r.verdict.allowed, "{:?}", r.verdict);
    assert!(
        r.verdict
            .warnings
            .iter()
            .any(|w| w.code == "authorization-wildcard")
    );
}

#[tokio::test]
async fn cors_layer_covers_the_401_of_the_actual_request() {
    let (url, _server) = serve_orders(specific()).await;
    let mut s = settings(&url, ORIGIN);
    s.actual = true;
    let mut t = target(&url, ORIGIN, spa());
    t.allow_unsafe_actual = true;
    let r = probe_once(&ProbeClient::new(&s), &t, &clock(), None).await;
    // The page sees the 401 itself (and can refresh its token): not a CORS failure.
    assert_eq!(r.actual.as_ref().map(|a| a.status), Some(401));
    assert!(r.verdict.allowed, "{:?}", r.verdict);
}

#[tokio::test]
async fn scheduler_streams_rounds_and_honours_probe_now() {
    let (url, _server) = serve_orders(specific()).await;
    let mut s = settings(&url, ORIGIN);
    // Long interval: a second round can only come from `probe_now`.
    s.interval = corstop::sources::probe::DurationSetting(3_600_000);
    s.jitter = 0.0;
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let now = Arc::new(tokio::sync::Notify::new());
    let handle = corstop::sources::probe::spawn(s, clock(), tx, now.clone());
    let guard = Duration::from_secs(20);
    let first = tokio::time::timeout(guard, rx.recv())
        .await
        .expect("first round")
        .expect("event");
    let Event::Probe(first) = first else {
        panic!("expected a probe event");
    };
    assert!(first.verdict.allowed, "{:?}", first.verdict);
    now.notify_one();
    let second = tokio::time::timeout(guard, rx.recv())
        .await
        .expect("second round on demand")
        .expect("event");
    assert!(matches!(second, Event::Probe(_)));
    drop(rx);
    tokio::time::timeout(guard, handle)
        .await
        .expect("scheduler stops when the receiver is gone")
        .expect("no panic");
}
