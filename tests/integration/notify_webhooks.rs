//! Webhook delivery against real axum servers on 127.0.0.1:0: the three payload kinds, a
//! server that never answers, one that fails before it succeeds, and a full queue.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use corstop::alerting::{
    AlertSignal, AlertSnapshot, DeliveryOptions, NotifyHandle, NotifySettings, Severity, spawn_with,
};
use corstop::model::time::MINUTE;
use serde_json::Value;
use tokio::sync::mpsc;

const T0: i64 = 1_780_000_000_000;

#[derive(Clone, Debug)]
struct Received {
    path: String,
    content_type: String,
    body: Value,
}

#[derive(Clone, Default)]
struct Hooks {
    seen: Arc<Mutex<Vec<Received>>>,
    /// Calls to `/flaky` so far; the first is answered 500.
    flaky_calls: Arc<AtomicUsize>,
}

impl Hooks {
    fn at(&self, path: &str) -> Vec<Received> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

async fn record(State(h): State<Hooks>, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    h.seen.lock().unwrap().push(Received {
        path: uri.path().to_string(),
        content_type,
        body,
    });
    match uri.path() {
        "/flaky" if h.flaky_calls.fetch_add(1, Ordering::SeqCst) == 0 => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        "/bad" => StatusCode::BAD_REQUEST,
        "/pd" => StatusCode::ACCEPTED,
        _ => StatusCode::OK,
    }
}

async fn hang() -> StatusCode {
    std::future::pending::<()>().await;
    StatusCode::OK
}

async fn serve(hooks: Hooks) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let app = Router::new()
        .route("/hang", post(hang))
        .fallback(post(record))
        .with_state(hooks);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, task)
}

fn fast() -> DeliveryOptions {
    DeliveryOptions {
        attempts: 3,
        first_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        queue: 16,
    }
}

fn page(key: &str) -> AlertSignal {
    AlertSignal {
        key: key.to_string(),
        severity: Severity::Page,
        summary: format!("{key}: 12 % cross-origin failures for 11m"),
        detail: "OPTIONS 401 with Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"
            .into(),
        since: T0 - 11 * MINUTE,
    }
}

fn settings(toml_text: &str) -> NotifySettings {
    toml::from_str(toml_text).unwrap()
}

/// Sends the snapshots, closes the channel and waits until every delivery is finished.
async fn run(
    handle_of: impl FnOnce(mpsc::Receiver<AlertSnapshot>) -> NotifyHandle,
    snaps: Vec<AlertSnapshot>,
) -> NotifyHandle {
    let (tx, rx) = mpsc::channel(16);
    let mut handle = handle_of(rx);
    for s in snaps {
        tx.send(s).await.unwrap();
    }
    drop(tx);
    (&mut handle.task).await.unwrap();
    handle
}

fn snap(minutes: i64, alerts: Vec<AlertSignal>) -> AlertSnapshot {
    AlertSnapshot {
        at: T0 + minutes * MINUTE,
        alerts,
    }
}

#[tokio::test]
async fn slack_teams_and_pagerduty_receive_trigger_reminder_and_resolve() {
    let hooks = Hooks::default();
    let (addr, server) = serve(hooks.clone()).await;
    let cfg = settings(&format!(
        r#"
        slack-webhook = "http://{addr}/slack/T000/B000/secretpath"
        teams-webhook = "http://{addr}/teams?sig=s3cr3t"
        pagerduty-routing-key = "R0UTING"
        pagerduty-url = "http://{addr}/pd"
        reminder = "30m"
        resolve-after = "0s"
        "#
    ));
    let a = page("page:/api/orders");
    let handle = run(
        |rx| spawn_with(&cfg, fast(), rx).unwrap(),
        vec![
            snap(0, vec![a.clone()]),
            snap(1, vec![a.clone()]),
            snap(30, vec![a.clone()]),
            snap(31, vec![]),
        ],
    )
    .await;

    let slack = hooks.at("/slack/T000/B000/secretpath");
    let teams = hooks.at("/teams");
    let pd = hooks.at("/pd");
    assert_eq!((slack.len(), teams.len(), pd.len()), (3, 3, 2));
    for r in slack.iter().chain(&teams).chain(&pd) {
        assert_eq!(r.content_type, "application/json");
        assert!(
            !r.body.to_string().contains("eyJ"),
            "token leaked: {}",
            r.body
        );
    }

    let texts: Vec<&str> = slack
        .iter()
        .map(|r| r.body["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "[PAGE] page:/api/orders: 12 % cross-origin failures for 11m",
            "[PAGE] still active after 41m: page:/api/orders: 12 % cross-origin failures for 11m",
            "[RESOLVED] page:/api/orders: 12 % cross-origin failures for 11m (was PAGE, lasted 42m)",
        ]
    );
    assert_eq!(slack[0].body["blocks"][0]["type"], "section");

    for r in &teams {
        assert_eq!(r.body["type"], "message");
        let att = &r.body["attachments"][0];
        assert_eq!(
            att["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(att["content"]["type"], "AdaptiveCard");
        assert_eq!(att["content"]["version"], "1.4");
    }
    assert_eq!(
        teams[2].body["attachments"][0]["content"]["body"][0]["color"],
        "Good"
    );

    assert_eq!(pd[0].body["event_action"], "trigger");
    assert_eq!(pd[0].body["routing_key"], "R0UTING");
    assert_eq!(pd[0].body["dedup_key"], "corstop:page:/api/orders");
    assert_eq!(pd[0].body["payload"]["severity"], "critical");
    assert_eq!(pd[0].body["payload"]["source"], "corstop");
    assert_eq!(pd[1].body["event_action"], "resolve");
    assert_eq!(pd[1].body["dedup_key"], "corstop:page:/api/orders");

    let totals = handle.status.totals();
    assert_eq!(totals.delivered, 8);
    assert_eq!((totals.failed, totals.retries, totals.dropped), (0, 0, 0));
    server.abort();
}

#[tokio::test]
async fn server_error_is_retried_until_it_succeeds() {
    let hooks = Hooks::default();
    let (addr, server) = serve(hooks.clone()).await;
    let cfg = settings(&format!(r#"slack-webhook = "http://{addr}/flaky""#));
    let handle = run(
        |rx| spawn_with(&cfg, fast(), rx).unwrap(),
        vec![snap(0, vec![page("k")])],
    )
    .await;
    let got = hooks.at("/flaky");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].body, got[1].body);
    let totals = handle.status.totals();
    assert_eq!((totals.delivered, totals.retries, totals.failed), (1, 1, 0));
    server.abort();
}

#[tokio::test]
async fn client_error_is_not_retried() {
    let hooks = Hooks::default();
    let (addr, server) = serve(hooks.clone()).await;
    let cfg = settings(&format!(
        r#"teams-webhook = "http://{addr}/bad?sig=s3cr3t""#
    ));
    let handle = run(
        |rx| spawn_with(&cfg, fast(), rx).unwrap(),
        vec![snap(0, vec![page("k")])],
    )
    .await;
    assert_eq!(hooks.at("/bad").len(), 1);
    let totals = handle.status.totals();
    assert_eq!((totals.delivered, totals.retries, totals.failed), (0, 0, 1));
    let err = totals.last_error.unwrap();
    assert!(err.contains("400"), "{err}");
    assert!(!err.contains("s3cr3t") && !err.contains("/bad"), "{err}");
    server.abort();
}

#[tokio::test]
async fn hanging_server_times_out_without_holding_up_other_targets() {
    let hooks = Hooks::default();
    let (addr, server) = serve(hooks.clone()).await;
    let cfg = settings(&format!(
        r#"
        slack-webhook = "http://{addr}/hang"
        pagerduty-routing-key = "R0UTING"
        pagerduty-url = "http://{addr}/pd"
        timeout = "200ms"
        "#
    ));
    let options = DeliveryOptions {
        attempts: 2,
        ..fast()
    };
    let handle = run(
        |rx| spawn_with(&cfg, options, rx).unwrap(),
        vec![snap(0, vec![page("k")])],
    )
    .await;
    assert_eq!(hooks.at("/pd").len(), 1);
    let totals = handle.status.totals();
    assert_eq!(totals.delivered, 1);
    assert_eq!(totals.retries, 1);
    assert_eq!(totals.failed, 1);
    let err = totals.last_error.unwrap();
    assert!(err.starts_with("slack (http://127.0.0.1:"), "{err}");
    assert!(err.contains("timed out"), "{err}");
    assert!(!err.contains("/hang"), "{err}");
    server.abort();
}

#[tokio::test]
async fn full_queue_drops_and_counts() {
    let hooks = Hooks::default();
    let (addr, server) = serve(hooks.clone()).await;
    let cfg = settings(&format!(r#"slack-webhook = "http://{addr}/slack""#));
    let options = DeliveryOptions { queue: 1, ..fast() };
    // The current-thread test runtime lets the worker run only after the whole snapshot has
    // been dispatched, so exactly one of the five triggers fits the queue.
    let five: Vec<AlertSignal> = (0..5).map(|i| page(&format!("k{i}"))).collect();
    let handle = run(
        |rx| spawn_with(&cfg, options, rx).unwrap(),
        vec![snap(0, five)],
    )
    .await;
    assert_eq!(hooks.at("/slack").len(), 1);
    let totals = handle.status.totals();
    assert_eq!((totals.delivered, totals.dropped), (1, 4));
    server.abort();
}

#[tokio::test]
async fn bell_is_requested_once_per_trigger_batch() {
    let cfg = settings("bell = true");
    let (tx, rx) = mpsc::channel(4);
    let handle = spawn_with(&cfg, fast(), rx).unwrap();
    tx.send(snap(0, vec![page("k")])).await.unwrap();
    drop(tx);
    handle.task.await.unwrap();
    assert!(handle.status.take_bell());
    assert!(!handle.status.take_bell());

    let quiet = settings("");
    let (tx, rx) = mpsc::channel(4);
    let handle = spawn_with(&quiet, fast(), rx).unwrap();
    tx.send(snap(0, vec![page("k")])).await.unwrap();
    drop(tx);
    handle.task.await.unwrap();
    assert!(!handle.status.take_bell());
}
