//! The demo API over real HTTP on loopback: per-phase CORS/auth behaviour, and the log files the
//! simulated browsers cause.

use std::time::{Duration, Instant};

use corstop::cors::{RawResponse, RequestShape, judge};
use corstop::demo::{self, DemoOptions, Phase, Script};
use corstop::model::time::{EpochMs, MINUTE, parse_rfc3339};

const T0: EpochMs = 1_775_296_800_000; // 2026-04-04T10:00:00Z
const APP: &str = "https://app.contoso.com";

fn opts() -> DemoOptions {
    DemoOptions {
        speed: 1.0,
        start_ms: Some(T0),
        traffic: false,
        ..DemoOptions::default()
    }
}

fn forced(phase: Phase) -> DemoOptions {
    DemoOptions {
        force_phase: Some(phase),
        ..opts()
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn preflight(url: &str, origin: &str) -> RawResponse {
    let resp = client()
        .request(reqwest::Method::OPTIONS, url)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "PUT")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    raw(resp)
}

fn raw(resp: reqwest::Response) -> RawResponse {
    RawResponse {
        status: resp.status().as_u16(),
        headers: resp
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
            .collect(),
        elapsed_ms: 0,
    }
}

async fn sign_in(base: &str, user: &str) -> reqwest::Response {
    client()
        .post(format!("{base}/auth/token"))
        .header("Origin", APP)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=password&username={user}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn healthy_preflight_has_one_acao_and_vary() {
    let demo = demo::start(forced(Phase::Healthy)).await.unwrap();
    assert_eq!(demo.phase().0, Phase::Healthy);
    let url = format!("{}/api/orders", demo.url);
    let pre = preflight(&url, APP).await;
    assert_eq!(pre.status, 204);
    assert_eq!(
        pre.all("access-control-allow-origin").collect::<Vec<_>>(),
        [APP]
    );
    assert_eq!(pre.first("access-control-allow-credentials"), Some("true"));
    assert!(pre.all("vary").any(|v| v.contains("Origin")));
    assert!(pre.first("x-instance").is_some());
    assert!(judge(APP, &url, &RequestShape::spa_default(), Some(&pre), None).allowed);

    // The unlisted partner origin gets no CORS headers at all.
    let partner = preflight(&url, demo::UNLISTED_ORIGIN).await;
    assert_eq!(partner.all("access-control-allow-origin").count(), 0);

    // Signed in, the actual request carries exactly one ACAO too.
    let grant: serde_json::Value =
        serde_json::from_slice(&sign_in(&demo.url, "alice").await.bytes().await.unwrap()).unwrap();
    let token = grant["access_token"].as_str().unwrap().to_string();
    let resp = client()
        .put(&url)
        .header("Origin", APP)
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    let actual = raw(resp);
    assert_eq!(actual.status, 200);
    assert_eq!(actual.all("access-control-allow-origin").count(), 1);
    demo.shutdown().await;
}

#[tokio::test]
async fn h2_challenges_preflights_on_orders_only() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo::start(DemoOptions {
        dir: Some(dir.path().to_path_buf()),
        ..forced(Phase::PreflightAuth)
    })
    .await
    .unwrap();
    for path in ["/api/orders", "/api/orders/1042"] {
        let pre = preflight(&format!("{}{path}", demo.url), APP).await;
        assert_eq!(pre.status, 401, "{path}");
        assert!(pre.first("www-authenticate").is_some(), "{path}");
        assert_eq!(pre.all("access-control-allow-origin").count(), 0, "{path}");
    }
    let products = preflight(&format!("{}/api/products", demo.url), APP).await;
    assert_eq!(products.status, 204);
    assert_eq!(
        products
            .all("access-control-allow-origin")
            .collect::<Vec<_>>(),
        [APP]
    );
    let auth_log = demo.auth_log.clone();
    let http_log = demo.http_log.clone();
    demo.shutdown().await;

    let auth = std::fs::read_to_string(auth_log).unwrap();
    assert_eq!(
        auth.lines()
            .filter(|l| l.contains("No authorization token was found"))
            .count(),
        2,
        "{auth}"
    );
    let http = std::fs::read_to_string(http_log).unwrap();
    let statuses: Vec<(String, String, i64)> = http
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let p = &v["properties"];
            let status = match &p["ScStatus"] {
                serde_json::Value::String(s) => s.parse().unwrap(),
                n => n.as_i64().unwrap(),
            };
            (
                p["CsMethod"].as_str().unwrap().to_string(),
                p["CsUriStem"].as_str().unwrap().to_string(),
                status,
            )
        })
        .collect();
    assert!(statuses.contains(&("OPTIONS".into(), "/api/orders".into(), 401)));
    assert!(statuses.contains(&("OPTIONS".into(), "/api/products".into(), 204)));
}

#[tokio::test]
async fn h4_doubles_acao_on_orders() {
    let demo = demo::start(forced(Phase::DoubleAcao)).await.unwrap();
    let url = format!("{}/api/orders", demo.url);
    // Two requests: the load balancer alternates instances, whose platform layers differ.
    for _ in 0..2 {
        let pre = preflight(&url, APP).await;
        assert_eq!(pre.status, 204);
        let acao: Vec<&str> = pre.all("access-control-allow-origin").collect();
        assert_eq!(acao.len(), 2, "{acao:?}");
        assert!(acao.contains(&APP));
        assert!(!judge(APP, &url, &RequestShape::spa_default(), Some(&pre), None).allowed);
    }
    let products = preflight(&format!("{}/api/products", demo.url), APP).await;
    assert_eq!(products.all("access-control-allow-origin").count(), 1);
    demo.shutdown().await;
}

#[tokio::test]
async fn h3_expired_tokens_and_refresh_outage() {
    // One minute after the first expiry wave (one minute into H3).
    let h3 = Script::new(T0).phase_offset(Phase::TokenExpiry);
    let dir = tempfile::tempdir().unwrap();
    let demo = demo::start(DemoOptions {
        start_phase: Some(Phase::TokenExpiry),
        skip_ms: 2 * MINUTE,
        dir: Some(dir.path().to_path_buf()),
        ..opts()
    })
    .await
    .unwrap();
    assert_eq!(demo.phase(), (Phase::TokenExpiry, T0 + h3));
    assert_eq!(
        demo.script.waves_between(T0, T0 + h3 + 2 * MINUTE),
        [T0 + h3 + MINUTE]
    );

    let resp = sign_in(&demo.url, "alice").await;
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.text().await.unwrap().contains("invalid_grant"));

    let expired = format!("Bearer demo.alice.{}", T0 + h3 + MINUTE);
    let resp = client()
        .get(format!("{}/api/profile", demo.url))
        .header("Origin", APP)
        .header("Authorization", expired)
        .send()
        .await
        .unwrap();
    let actual = raw(resp);
    assert_eq!(actual.status, 401);
    assert_eq!(actual.all("access-control-allow-origin").count(), 0);
    let www = actual.first("www-authenticate").unwrap();
    assert!(www.contains("The token expired at"), "{www}");

    let auth_log = demo.auth_log.clone();
    demo.shutdown().await;
    let auth = std::fs::read_to_string(auth_log).unwrap();
    assert!(auth.contains("IDX10223"), "{auth}");
    assert!(auth.contains("invalid_grant"), "{auth}");

    // Past the outage, sign-in works and the token runs out at the next wave (an hour after
    // the first).
    let demo = demo::start(DemoOptions {
        skip_ms: h3 + 20 * MINUTE,
        ..opts()
    })
    .await
    .unwrap();
    let grant: serde_json::Value =
        serde_json::from_slice(&sign_in(&demo.url, "bob").await.bytes().await.unwrap()).unwrap();
    let expires_in = grant["expires_in"].as_i64().unwrap();
    assert!(
        (41 * 60 - 5..=41 * 60).contains(&expires_in),
        "{expires_in}"
    );
    demo.shutdown().await;
}

/// Simulated browsers during H2: both log files fill with well-formed lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_writes_well_formed_logs() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo::start(DemoOptions {
        dir: Some(dir.path().to_path_buf()),
        speed: 60.0,
        start_phase: Some(Phase::PreflightAuth),
        skip_ms: 30 * MINUTE,
        traffic: true,
        ..opts()
    })
    .await
    .unwrap();
    assert_eq!(demo.phase().0, Phase::PreflightAuth);
    // Wait for enough traffic; the bound only stops a broken run from hanging.
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let http = std::fs::read_to_string(&demo.http_log).unwrap_or_default();
        let auth = std::fs::read_to_string(&demo.auth_log).unwrap_or_default();
        if http.lines().count() >= 40 && auth.contains("No authorization token") {
            break;
        }
    }
    let (http_log, auth_log) = (demo.http_log.clone(), demo.auth_log.clone());
    let origins = demo.origins();
    demo.shutdown().await;

    let http = std::fs::read_to_string(http_log).unwrap();
    assert!(http.lines().count() >= 40, "{http}");
    let mut preflights_401 = 0;
    for line in http.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["category"], "AppServiceHTTPLogs");
        let t = parse_rfc3339(v["time"].as_str().unwrap().as_bytes()).unwrap();
        let h2 = Script::new(T0).phase_offset(Phase::PreflightAuth);
        assert!(t >= T0 + h2 + 30 * MINUTE, "{line}");
        let p = &v["properties"];
        for field in [
            "CsMethod",
            "CsUriStem",
            "CsHost",
            "Referer",
            "UserAgent",
            "ComputerName",
        ] {
            assert!(p[field].is_string(), "{field} in {line}");
        }
        for field in ["ScStatus", "TimeTaken"] {
            let ok =
                p[field].is_u64() || p[field].as_str().is_some_and(|s| s.parse::<u64>().is_ok());
            assert!(ok, "{field} in {line}");
        }
        let referer = p["Referer"].as_str().unwrap();
        assert!(
            origins.iter().any(|o| referer.starts_with(o.as_str())),
            "{line}"
        );
        assert!(
            !line.contains("demo.") || !line.contains("Bearer"),
            "{line}"
        );
        if p["CsMethod"] == "OPTIONS"
            && p["CsUriStem"].as_str().unwrap().starts_with("/api/orders")
            && (p["ScStatus"] == 401 || p["ScStatus"] == "401")
        {
            preflights_401 += 1;
        }
    }
    assert!(preflights_401 > 0);

    let auth = std::fs::read_to_string(auth_log).unwrap();
    assert!(auth.lines().count() > 0);
    for line in auth.lines() {
        if line.starts_with(char::is_whitespace) {
            continue; // continuation of a multi-line exception
        }
        let stamp = line.split(' ').next().unwrap();
        assert!(parse_rfc3339(stamp.as_bytes()).is_some(), "{line}");
    }
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let demo = demo::start(forced(Phase::Healthy)).await.unwrap();
    let health = format!("{}/api/health", demo.url);
    let fresh = || {
        reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap()
    };
    assert_eq!(fresh().get(&health).send().await.unwrap().status(), 200);
    drop(demo);
    // Aborted tasks are dropped on the runtime's next turn; allow a bounded number of turns.
    let mut refused = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if fresh().get(&health).send().await.is_err() {
            refused = true;
            break;
        }
    }
    assert!(
        refused,
        "the demo API still answers after its handle was dropped"
    );
}

#[tokio::test]
async fn recent_changes_follow_the_script() {
    let script = Script::new(T0);
    let (h2, h3) = (
        script.phase_offset(Phase::PreflightAuth),
        script.phase_offset(Phase::TokenExpiry),
    );
    let demo = demo::start(DemoOptions {
        start_phase: Some(Phase::TokenExpiry),
        skip_ms: 10 * MINUTE,
        ..opts()
    })
    .await
    .unwrap();
    let changes = demo.recent_changes(h3 + 10 * MINUTE - h2 + MINUTE);
    let phases: Vec<Phase> = changes.iter().map(|(_, p, _)| *p).collect();
    assert_eq!(phases, [Phase::PreflightAuth, Phase::TokenExpiry]);
    assert_eq!(changes[0].0, T0 + h2);
    assert!(changes.iter().all(|(_, _, note)| !note.is_empty()));
    demo.shutdown().await;
}
