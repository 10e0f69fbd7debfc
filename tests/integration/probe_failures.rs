//! One real server per failure mode, probed over loopback, judged by the browser verdict.

use crate::common;

use common::*;
use corstop::cors::{Credentials, RequestShape, Stage};
use corstop::model::time::Clock;
use corstop::sources::event::{Hypothesis, ProbeResult, TransportKind};
use corstop::sources::probe::{ProbeClient, ProbeSettings, ProbeTarget, probe_once};

fn clock() -> Clock {
    std::sync::Arc::new(|| 1_700_000_000_000)
}

async fn probe_with(settings: &ProbeSettings, t: &ProbeTarget) -> ProbeResult {
    probe_once(&ProbeClient::new(settings), t, &clock(), None).await
}

/// Probes `path` on `server` with the SPA default shape from [`ORIGIN`].
async fn probe_spa(server: &RawServer) -> ProbeResult {
    let url = server.url("/api/orders/1");
    probe_with(&settings(&url, ORIGIN), &target(&url, ORIGIN, spa())).await
}

fn assert_blocked(r: &ProbeResult, code: &str, stage: Stage, message: &str) {
    assert!(
        !r.verdict.allowed,
        "expected a failure, got {:?}",
        r.verdict
    );
    assert_eq!(r.verdict.code, code, "{:?}", r.verdict);
    assert_eq!(r.verdict.stage, stage, "{:?}", r.verdict);
    let m = chrome(r);
    assert!(
        m.starts_with(&format!(
            "Access to fetch at '{}' from origin '{}' has been blocked by CORS policy: ",
            r.url, r.origin
        )),
        "{m}"
    );
    assert!(
        m.contains(message),
        "chrome message {m:?} lacks {message:?}"
    );
}

const PREFLIGHT: &str = "Response to preflight request doesn't pass access control check: ";
const NO_ACAO: &str =
    "No 'Access-Control-Allow-Origin' header is present on the requested resource.";

#[tokio::test]
async fn preflight_is_sent_as_a_browser_sends_it() {
    let server = split_server(good_preflight(), "200 OK").await;
    let r = probe_spa(&server).await;
    assert!(r.verdict.allowed, "{:?}", r.verdict);
    assert_eq!(r.verdict.code, "ok");
    let seen = server.requests();
    assert_eq!(seen.len(), 1, "only the preflight: actual is off");
    let pf = &seen[0];
    assert_eq!(pf.method, "OPTIONS");
    assert_eq!(pf.path, "/api/orders/1");
    assert_eq!(pf.header("origin"), Some(ORIGIN));
    assert_eq!(pf.header("access-control-request-method"), Some("PUT"));
    assert_eq!(
        pf.header("access-control-request-headers"),
        Some("authorization,content-type")
    );
    assert_eq!(pf.header("sec-fetch-mode"), Some("cors"));
    assert_eq!(pf.header("accept"), Some("*/*"));
    assert_eq!(pf.header("authorization"), None);
    assert_eq!(pf.header("cookie"), None);
    let kept = r.preflight_request.as_ref().expect("request kept");
    assert_eq!(kept.method, "OPTIONS");
    assert_eq!(r.preflight.as_ref().map(|p| p.status), Some(204));
}

#[tokio::test]
async fn auth_before_cors_401_without_cors_headers() {
    let server = split_server_full(
        vec![("WWW-Authenticate", "Bearer realm=\"api\"")],
        "401 Unauthorized",
        vec![],
        "200 OK",
    )
    .await;
    let r = probe_spa(&server).await;
    assert_blocked(
        &r,
        "acao-missing",
        Stage::Preflight,
        &format!("{PREFLIGHT}{NO_ACAO}"),
    );
    assert_eq!(r.verdict.hidden_status, Some(401));
    assert_eq!(r.verdict.hypothesis, Some(Hypothesis::H2));
    assert!(
        r.verdict
            .www_authenticate
            .as_deref()
            .unwrap_or("")
            .starts_with("Bearer")
    );
}

#[tokio::test]
async fn auth_before_cors_401_with_cors_headers() {
    let server = split_server_full(good_preflight(), "401 Unauthorized", vec![], "200 OK").await;
    let r = probe_spa(&server).await;
    assert_blocked(
        &r,
        "preflight-not-ok",
        Stage::Preflight,
        &format!("{PREFLIGHT}It does not have HTTP ok status."),
    );
    assert_eq!(r.verdict.hidden_status, Some(401));
    assert_eq!(r.verdict.hypothesis, Some(Hypothesis::H2));
}

#[tokio::test]
async fn forbidden_403_on_options() {
    let server = split_server_full(good_preflight(), "403 Forbidden", vec![], "200 OK").await;
    let r = probe_spa(&server).await;
    assert_blocked(
        &r,
        "preflight-not-ok",
        Stage::Preflight,
        "It does not have HTTP ok status.",
    );
    assert_eq!(r.verdict.hidden_status, Some(403));
    assert_eq!(r.verdict.hypothesis, Some(Hypothesis::H2));
}

#[tokio::test]
async fn duplicate_acao_on_two_lines() {
    let mut h = good_preflight();
    h.push(("Access-Control-Allow-Origin", ORIGIN));
    let server = split_server(h, "200 OK").await;
    let r = probe_spa(&server).await;
    // Both lines must survive the client exactly as sent.
    let acao: Vec<&str> = r
        .preflight
        .as_ref()
        .map(|p| p.all("access-control-allow-origin").collect())
        .unwrap_or_default();
    assert_eq!(acao, vec![ORIGIN, ORIGIN]);
    assert_blocked(
        &r,
        "acao-multiple",
        Stage::Preflight,
        &format!(
            "The 'Access-Control-Allow-Origin' header contains multiple values '{ORIGIN}, {ORIGIN}', but only one is allowed."
        ),
    );
    assert_eq!(r.verdict.hypothesis, Some(Hypothesis::H4));
}

#[tokio::test]
async fn duplicate_acao_on_one_line() {
    let mut h = good_preflight();
    h[0] = (
        "Access-Control-Allow-Origin",
        "https://app.example, https://admin.example",
    );
    let server = split_server(h, "200 OK").await;
    let r = probe_spa(&server).await;
    assert_blocked(
        &r,
        "acao-multiple",
        Stage::Preflight,
        "contains multiple values 'https://app.example, https://admin.example', but only one is allowed.",
    );
    assert_eq!(r.verdict.hypothesis, Some(Hypothesis::H4));
}

#[tokio::test]
async fn wildcard_with_credentials() {
    let mut h = good_preflight();
    h[0] = ("Access-Control-Allow-Origin", "*");
    let server = split_server(h, "200 OK").await;
    let r = probe_spa(&server).await;
    assert_blocked(
        &r,
        "acao-wildcard-credentials",
        Stage::Preflight,
        "The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'.",
    );
}

async fn redirect_case(status: &str) {
    let server = split_server_full(
        vec![("Location", "https://api.example/api/orders/1/")],
        status,
        vec![],
        "200 OK",
    )
    .await;
    let r = probe_spa(&server).await;
    assert_blocked(
        &r,
        "preflight-redirect",
        Stage::Preflight,
        &format!("{PREFLIGHT}Redirect is not allowed for a preflight request."),
    );
    assert_eq!(r.verdict.hypothesis, Some(Hypothesis::PreflightRedirect));
    // Redirects are never followed: one request reached the server.
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn redirect_301_on_options() {
    redirect_case("301 Moved Permanently").await;
}

#[tokio::test]
async fn redirect_308_on_options() {
    redirect_case("308 Permanent Redirect").await;
}

#[tokio::test]
async fn options_not_routed_404() {
    let server = split_server_full(vec![], "404 Not Found", vec![], "200 OK").await;
    let r = probe_spa(&server).await;
    assert_blocked(&r, "acao-missing", Stage::Preflight, NO_ACAO);
    assert_eq!(r.verdict.hidden_status, Some(404));
    assert_eq!(r.verdict.hypothesis, Some(Hypothesis::OptionsNotRouted));
}

#[tokio::test]
async fn options_not_routed_405() {
    let server = split_server_full(
        vec![("Allow", "GET, PUT")],
        "405 Method Not Allowed",
        vec![],
        "200 OK",
    )
    .await;
    let r = probe_spa(&server).await;
    assert_blocked(&r, "acao-missing", Stage::Preflight, NO_ACAO);
    assert_eq!(r.verdict.hidden_status, Some(405));
    assert_eq!(r.verdict.hypothesis, Some(Hypothesis::OptionsNotRouted));
}

#[tokio::test]
async fn method_not_allowed() {
    let mut h = good_preflight();
    h[2] = ("Access-Control-Allow-Methods", "GET, POST");
    let server = split_server(h, "200 OK").await;
    let r = probe_spa(&server).await;
    assert_blocked(
        &r,
        "method-not-allowed",
        Stage::Preflight,
        "Method PUT is not allowed by Access-Control-Allow-Methods in preflight response.",
    );
    assert_eq!(r.verdict.hypothesis, Some(Hypothesis::H1));
}

#[tokio::test]
async fn lowercase_method_in_allow_list() {
    let mut h = good_preflight();
    h[2] = ("Access-Control-Allow-Methods", "get, put");
    let server = split_server(h, "200 OK").await;
    let r = probe_spa(&server).await;
    assert_blocked(
        &r,
        "method-not-allowed",
        Stage::Preflight,
        "Method PUT is not allowed by Access-Control-Allow-Methods in preflight response.",
    );
}

#[tokio::test]
async fn header_not_allowed() {
    let mut h = good_preflight();
    h[3] = ("Access-Control-Allow-Headers", "content-type");
    let server = split_server(h, "200 OK").await;
    let r = probe_spa(&server).await;
    assert_blocked(
        &r,
        "header-not-allowed",
        Stage::Preflight,
        "Request header field authorization is not allowed by Access-Control-Allow-Headers in preflight response.",
    );
}

#[tokio::test]
async fn authorization_covered_only_by_wildcard() {
    let server = split_server(
        vec![
            ("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Allow-Methods", "*"),
            ("Access-Control-Allow-Headers", "*"),
        ],
        "200 OK",
    )
    .await;
    let url = server.url("/api/orders/1");
    let shape = shape(
        "PUT",
        &[
            ("Authorization", "Bearer x"),
            ("Content-Type", "application/json"),
        ],
        Credentials::Omit,
    );
    let r = probe_with(&settings(&url, ORIGIN), &target(&url, ORIGIN, shape)).await;
    // Both browsers still let `*` cover Authorization; the standard does not, hence the
    // warning.
    assert!(r.verdict.allowed, "{:?}", r.verdict);
    assert!(
        r.verdict
            .warnings
            .iter()
            .any(|w| w.code == "authorization-wildcard"),
        "{:?}",
        r.verdict.warnings
    );
}

#[tokio::test]
async fn allow_lists_split_over_several_lines() {
    let server = split_server(
        vec![
            ("Access-Control-Allow-Origin", ORIGIN),
            ("Access-Control-Allow-Credentials", "true"),
            ("Access-Control-Allow-Methods", "GET"),
            ("Access-Control-Allow-Methods", "PUT"),
            ("Access-Control-Allow-Headers", "authorization"),
            ("Access-Control-Allow-Headers", " , content-type"),
            ("Vary", "Origin"),
        ],
        "200 OK",
    )
    .await;
    let r = probe_spa(&server).await;
    assert!(r.verdict.allowed, "{:?}", r.verdict);
    assert_eq!(r.verdict.code, "ok");
    assert_eq!(r.verdict.stage, Stage::None);
}

#[tokio::test]
async fn unparsable_allow_list() {
    let mut h = good_preflight();
    h[3] = (
        "Access-Control-Allow-Headers",
        "authorization; content-type",
    );
    let server = split_server(h, "200 OK").await;
    let r = probe_spa(&server).await;
    assert_blocked(
        &r,
        "allow-headers-unparsable",
        Stage::Preflight,
        "Cannot parse Access-Control-Allow-Headers response header field in preflight response.",
    );
}

async fn mismatch_case(acao: &'static str) {
    let mut h = good_preflight();
    h[0] = ("Access-Control-Allow-Origin", acao);
    let server = split_server(h, "200 OK").await;
    let r = probe_spa(&server).await;
    assert_blocked(
        &r,
        "acao-mismatch",
        Stage::Preflight,
        &format!(
            "The 'Access-Control-Allow-Origin' header has a value '{acao}' that is not equal to the supplied origin."
        ),
    );
    assert_eq!(r.verdict.hypothesis, Some(Hypothesis::H1));
}

#[tokio::test]
async fn acao_other_origin() {
    mismatch_case("https://admin.example").await;
}

#[tokio::test]
async fn acao_trailing_slash() {
    mismatch_case("https://app.example/").await;
}

#[tokio::test]
async fn acao_null() {
    mismatch_case("null").await;
}

async fn credentials_case(value: Option<&'static str>) {
    let mut h = good_preflight();
    match value {
        Some(v) => h[1] = ("Access-Control-Allow-Credentials", v),
        None => {
            h.remove(1);
        }
    }
    let server = split_server(h, "200 OK").await;
    let r = probe_spa(&server).await;
    assert_blocked(
        &r,
        "acac-not-true",
        Stage::Preflight,
        &format!(
            "The value of the 'Access-Control-Allow-Credentials' header in the response is '{}' which must be 'true' when the request's credentials mode is 'include'.",
            value.unwrap_or("")
        ),
    );
}

#[tokio::test]
async fn credentials_flag_capitalised() {
    credentials_case(Some("True")).await;
}

#[tokio::test]
async fn credentials_flag_missing() {
    credentials_case(None).await;
}

async fn actual_case(status: &str, extra: Vec<(&str, &str)>) -> (ProbeResult, RawServer) {
    let server = split_server_full(good_preflight(), "204 No Content", extra, status).await;
    let url = server.url("/api/orders/1");
    let mut s = settings(&url, ORIGIN);
    s.actual = true;
    let mut t = target(&url, ORIGIN, spa());
    t.allow_unsafe_actual = true;
    let r = probe_with(&s, &t).await;
    (r, server)
}

#[tokio::test]
async fn actual_401_without_acao() {
    let (r, server) = actual_case(
        "401 Unauthorized",
        vec![("WWW-Authenticate", "Bearer error=\"invalid_token\"")],
    )
    .await;
    assert_blocked(&r, "actual-acao-missing", Stage::Actual, NO_ACAO);
    assert!(!chrome(&r).contains("preflight"), "{}", chrome(&r));
    assert_eq!(r.verdict.hidden_status, Some(401));
    assert_eq!(r.actual.as_ref().map(|a| a.status), Some(401));
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].method, "PUT");
    assert_eq!(seen[1].header("origin"), Some(ORIGIN));
    // Without a configured token the shape's placeholder goes out, and is redacted when kept.
    assert_eq!(seen[1].header("authorization"), Some("Bearer <token>"));
    let kept = r.actual_request.as_ref().expect("actual kept");
    assert!(
        kept.headers
            .iter()
            .any(|(n, v)| n == "Authorization" && v == "Bearer [redacted]")
    );
}

#[tokio::test]
async fn actual_500_without_acao() {
    let (r, _server) = actual_case("500 Internal Server Error", vec![]).await;
    assert_blocked(&r, "actual-acao-missing", Stage::Actual, NO_ACAO);
    assert_eq!(r.verdict.hidden_status, Some(500));
    assert_eq!(r.verdict.hypothesis, Some(Hypothesis::ErrorWithoutCors));
}

#[tokio::test]
async fn actual_302_without_acao() {
    let (r, server) = actual_case("302 Found", vec![("Location", "/login")]).await;
    assert_blocked(&r, "actual-acao-missing", Stage::Actual, NO_ACAO);
    assert_eq!(r.verdict.hidden_status, Some(302));
    // The redirect is judged, not followed.
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn unsafe_actual_is_skipped_unless_allowed() {
    let server = split_server_full(good_preflight(), "204 No Content", vec![], "500 Oops").await;
    let url = server.url("/api/orders/1");
    let mut s = settings(&url, ORIGIN);
    s.actual = true;
    let r = probe_with(&s, &target(&url, ORIGIN, spa())).await;
    assert!(r.verdict.allowed, "{:?}", r.verdict);
    assert!(r.actual_request.is_none());
    assert!(
        r.verdict
            .warnings
            .iter()
            .any(|w| w.code == "actual-skipped")
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn token_goes_only_on_the_actual_request() {
    let server = split_server_full(
        good_preflight(),
        "204 No Content",
        vec![
            ("Access-Control-Allow-Origin", ORIGIN),
            ("Access-Control-Allow-Credentials", "true"),
        ],
        "200 OK",
    )
    .await;
    let url = server.url("/api/orders/1");
    let dir = tempfile::tempdir().expect("tempdir");
    let token_path = dir.path().join("token");
    std::fs::write(&token_path, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln\n").expect("write");
    let mut s = settings(&url, ORIGIN);
    s.actual = true;
    s.token_file = Some(token_path.display().to_string());
    let token = corstop::sources::probe::load_token(&s)
        .expect("token file")
        .expect("token");
    let mut t = target(&url, ORIGIN, spa());
    t.allow_unsafe_actual = true;
    let r = probe_once(&ProbeClient::new(&s), &t, &clock(), Some(&token)).await;
    assert!(r.verdict.allowed, "{:?}", r.verdict);
    let seen = server.requests();
    assert_eq!(seen[0].header("authorization"), None);
    assert_eq!(
        seen[1].header("authorization"),
        Some("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln")
    );
    let shown = format!("{r:?}");
    assert!(!shown.contains("c2ln"), "token leaked: {shown}");
}

#[tokio::test]
async fn reflected_origin_without_vary() {
    let server = raw_server(|req, _| {
        let origin = req.header("origin").unwrap_or("").to_string();
        response(
            "200 OK",
            &[
                ("Access-Control-Allow-Origin", origin.as_str()),
                ("Access-Control-Allow-Credentials", "true"),
                ("Access-Control-Allow-Methods", "GET, PUT"),
                (
                    "Access-Control-Allow-Headers",
                    "authorization, content-type",
                ),
            ],
        )
    })
    .await;
    let url = server.url("/api/orders/1");
    let mut s = settings(&url, ORIGIN);
    s.security = true;
    let results = corstop::sources::probe::run_once(&s, clock()).await;
    // The configured target passes, and is told its answer varies without Vary.
    let main = &results[0];
    assert_eq!(main.shape, corstop::cors::RequestShape::spa_default());
    assert!(main.verdict.allowed, "{:?}", main.verdict);
    assert!(
        main.verdict
            .warnings
            .iter()
            .any(|w| w.code == "missing-vary-origin"),
        "{:?}",
        main.verdict.warnings
    );
    assert_eq!(main.verdict.hypothesis, Some(Hypothesis::MissingVary));
    let sec: Vec<&ProbeResult> = results
        .iter()
        .filter(|r| r.shape.name.starts_with("security:"))
        .collect();
    assert_eq!(sec.len(), 8, "every candidate probed once");
    let arbitrary = sec
        .iter()
        .find(|r| r.shape.name == "security:arbitrary")
        .expect("arbitrary origin probed");
    assert_eq!(arbitrary.origin, "https://corstop-probe.example");
    let w = arbitrary
        .verdict
        .warnings
        .iter()
        .find(|w| w.code == "security-critical")
        .expect("critical finding");
    assert!(w.message.contains("cache poisoning"), "{}", w.message);
    assert!(
        sec.iter().all(|r| r
            .verdict
            .warnings
            .iter()
            .any(|w| w.code.starts_with("security-"))),
        "every lookalike is reflected"
    );
    let requests = server.requests();
    assert!(requests.iter().any(|q| q.header("origin") == Some("null")));
    assert!(
        requests
            .iter()
            .any(|q| q.header("origin") == Some("https://app.example.evil.example"))
    );
}

#[tokio::test]
async fn round_robin_instances_answer_differently() {
    let server = raw_server(|req, n| {
        if req.method != "OPTIONS" {
            return response("405 Method Not Allowed", &[]);
        }
        if n % 2 == 0 {
            let mut h = good_preflight();
            h.push(("Server", "api-blue"));
            response("204 No Content", &h)
        } else {
            response("204 No Content", &[("Server", "api-green")])
        }
    })
    .await;
    let url = server.url("/api/orders/1");
    let mut s = settings(&url, ORIGIN);
    s.repeat = 4;
    let results = corstop::sources::probe::run_once(&s, clock()).await;
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert!(!r.verdict.allowed);
    assert_eq!(r.verdict.code, "acao-missing");
    assert_eq!(r.instance.as_deref(), Some("server=api-green"));
    assert_eq!(
        r.verdict.hypothesis,
        Some(Hypothesis::InconsistentInstances)
    );
    let w = r
        .verdict
        .warnings
        .iter()
        .find(|w| w.code == "inconsistent-instances")
        .expect("inconsistency flagged");
    assert!(
        w.message.contains("server=api-blue -> ok (x2)"),
        "{}",
        w.message
    );
    assert!(
        w.message.contains("server=api-green -> acao-missing (x2)"),
        "{}",
        w.message
    );
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn server_that_never_answers_times_out() {
    let server = raw_server(|_, _| Reply::Hang).await;
    let url = server.url("/api/orders/1");
    let mut s = settings(&url, ORIGIN);
    s.timeout = corstop::sources::probe::DurationSetting(300);
    let r = probe_with(&s, &target(&url, ORIGIN, spa())).await;
    let t = r.transport.as_ref().expect("transport error");
    assert_eq!(t.kind, TransportKind::Timeout, "{t:?}");
    assert!(!r.verdict.allowed);
    assert_eq!(r.verdict.stage, Stage::Transport);
    assert!(r.preflight.is_none());
}

#[tokio::test]
async fn enormous_header_block_fails_cleanly() {
    let server = raw_server(|_, _| Reply::EndlessHeaders).await;
    let r = probe_spa(&server).await;
    let t = r.transport.as_ref().expect("transport error");
    // hyper's limit is hit first; corstop says so rather than blame the server.
    assert_eq!(t.kind, TransportKind::Local, "{t:?}");
    assert_eq!(r.verdict.stage, Stage::Transport);
    assert_eq!(r.verdict.code, "not-judged");
}

/// 150 short header lines are a few kilobytes, which browsers read; corstop's HTTP client stops
/// at 100 lines, and says that the limit is its own: no verdict, no browser message, and the
/// status names corstop, not the server.
#[tokio::test]
async fn many_headers_are_corstops_limit_not_the_servers_fault() {
    let server = raw_server(|_, _| {
        let mut h: Vec<(String, String)> = good_preflight()
            .into_iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        for i in 0..150 {
            h.push((format!("X-Extra-{i}"), "1".into()));
        }
        let h: Vec<(&str, &str)> = h.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        response("204 No Content", &h)
    })
    .await;
    let r = probe_spa(&server).await;
    let t = r.transport.as_ref().expect("transport error");
    assert_eq!(t.kind, TransportKind::Local, "{t:?}");
    assert!(t.message.contains("corstop's limit"), "{}", t.message);
    assert_eq!(r.verdict.code, "not-judged");
    assert_eq!(r.verdict.chrome_message, None);
    assert!(
        r.verdict
            .warnings
            .iter()
            .any(|w| w.code == "not-judged-locally")
    );
    let mut store =
        corstop::store::Store::new(Default::default(), corstop::store::TimeMode::EventTime);
    store.ingest_probe(r);
    let inputs = corstop::analysis::status::probe_inputs(&store);
    assert!(inputs[0].not_judged && !inputs[0].allowed);
    let status = corstop::analysis::status::decide(&corstop::analysis::status::StatusInputs {
        alerts: None,
        probes: inputs,
        sources: vec![],
        supported: None,
    });
    let texts: Vec<&str> = status.reasons.iter().map(|r| r.text.as_str()).collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("could not be judged: corstop's own")),
        "{texts:?}"
    );
    assert!(!texts.iter().any(|t| t.contains("blocked")), "{texts:?}");
}

#[tokio::test]
async fn connection_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let url = format!("http://{addr}/api");
    let r = probe_with(&settings(&url, ORIGIN), &target(&url, ORIGIN, spa())).await;
    let t = r.transport.as_ref().expect("transport error");
    assert_eq!(t.kind, TransportKind::Refused, "{t:?}");
}

#[tokio::test]
async fn simple_get_needs_no_preflight_and_is_judged_on_the_response() {
    let server = split_server_full(
        vec![],
        "204 No Content",
        vec![("Access-Control-Allow-Origin", "*")],
        "200 OK",
    )
    .await;
    let url = server.url("/api/public");
    let shape = RequestShape {
        name: "GET plain".into(),
        method: "GET".into(),
        headers: vec![],
        credentials: Credentials::Omit,
    };
    let r = probe_with(&settings(&url, ORIGIN), &target(&url, ORIGIN, shape)).await;
    assert!(r.verdict.allowed, "{:?}", r.verdict);
    assert!(r.preflight_request.is_none());
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
}

#[tokio::test]
async fn tls_to_a_plain_http_port_is_a_tls_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut sock, _)) = listener.accept().await {
            let _ = sock
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let url = format!("https://{addr}/api/orders/1");
    let r = probe_with(&settings(&url, ORIGIN), &target(&url, ORIGIN, spa())).await;
    task.abort();
    let t = r.transport.as_ref().expect("transport error");
    assert_eq!(t.kind, TransportKind::Tls, "{t:?}");
    assert_eq!(r.verdict.code, "network-error");
}

#[tokio::test]
async fn rounds_respect_the_concurrency_bound() {
    let server = raw_server(|_, _| {
        let Reply::Raw(bytes) = response("204 No Content", &good_preflight()) else {
            unreachable!("response() builds raw replies");
        };
        // Slow enough that unbounded probing would overlap many requests.
        Reply::Delayed(std::time::Duration::from_millis(30), bytes)
    })
    .await;
    let mut s = settings(&server.url("/a"), ORIGIN);
    s.concurrency = 2;
    s.apply_flags(
        &(0..6)
            .map(|i| server.url(&format!("/api/{i}")))
            .collect::<Vec<_>>(),
        &[],
    );
    let results = corstop::sources::probe::run_once(&s, clock()).await;
    assert_eq!(results.len(), 6);
    // Configuration order is kept whatever order they completed in.
    for (i, r) in results.iter().enumerate() {
        assert!(r.url.ends_with(&format!("/api/{i}")), "{}", r.url);
        assert!(r.verdict.allowed, "{:?}", r.verdict);
    }
    let max = server
        .max_in_flight
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!((1..=2).contains(&max), "{max} requests at once");
}
