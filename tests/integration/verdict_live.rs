//! The verdict against real servers on loopback: a stock CORS middleware (tower-http), an auth
//! layer in front of it, two layers both adding `Access-Control-Allow-Origin`, and a redirect.
//! The requests are the ones `preflight_request` / `actual_request` build, sent as they are.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use corstop::cors::{
    Credentials, RawRequest, RawResponse, RequestShape, Stage, actual_request, codes, judge,
    preflight_request,
};
use corstop::sources::event::Hypothesis;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};

const ORIGIN: &str = "https://app.example.com";

async fn orders() -> &'static str {
    "[]"
}

/// An auth layer that challenges everything, OPTIONS included, before CORS runs.
async fn challenge_all(_req: Request<Body>, _next: Next) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer realm=\"api\"")],
    )
        .into_response()
}

/// A second CORS layer (think nginx `add_header` in front of the app) that adds its own
/// `Access-Control-Allow-Origin` line to whatever the app answered.
async fn second_cors_layer(req: Request<Body>, next: Next) -> Response {
    let mut resp = next.run(req).await;
    resp.headers_mut().append(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static(ORIGIN),
    );
    resp
}

/// Redirects every request to the same path with a trailing slash.
async fn trailing_slash_redirect(req: Request<Body>, _next: Next) -> Response {
    let location = format!("{}/", req.uri().path());
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, location)],
    )
        .into_response()
}

fn strict_cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::exact(HeaderValue::from_static(ORIGIN)))
        .allow_methods(AllowMethods::list([Method::GET, Method::PUT]))
        .allow_headers(AllowHeaders::list([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
        ]))
        .allow_credentials(true)
        .max_age(Duration::from_secs(86400))
        .vary([header::ORIGIN])
}

fn app() -> Router {
    let ok = Router::new()
        .route("/api/orders", put(orders).get(orders))
        .layer(strict_cors());
    let authed = Router::new()
        .route("/api/orders", put(orders))
        .layer(strict_cors())
        .layer(middleware::from_fn(challenge_all));
    let doubled = Router::new()
        .route("/api/orders", put(orders))
        .layer(strict_cors())
        .layer(middleware::from_fn(second_cors_layer));
    let wildcard = Router::new().route("/api/orders", put(orders)).layer(
        CorsLayer::new()
            .allow_origin(AllowOrigin::any())
            .allow_methods(AllowMethods::any())
            .allow_headers(AllowHeaders::any()),
    );
    let redirecting = Router::new()
        .route("/api/orders", put(orders))
        .layer(middleware::from_fn(trailing_slash_redirect));
    Router::new()
        .nest("/ok", ok)
        .nest("/authed", authed)
        .nest("/doubled", doubled)
        .nest("/wildcard", wildcard)
        .nest("/redirecting", redirecting)
}

async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app()).await;
    });
    format!("http://{addr}")
}

async fn send(client: &reqwest::Client, req: &RawRequest) -> RawResponse {
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).expect("method");
    let mut builder = client.request(method, &req.url);
    for (n, v) in &req.headers {
        builder = builder.header(n, v);
    }
    let resp = builder.send().await.expect("loopback request");
    RawResponse {
        status: resp.status().as_u16(),
        headers: resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        elapsed_ms: 0,
    }
}

fn spa(credentials: Credentials) -> RequestShape {
    RequestShape {
        credentials,
        ..RequestShape::spa_default()
    }
}

/// Path, shape, then what the verdict must say: allowed, stage, code, hypothesis.
type Expectation = (
    &'static str,
    RequestShape,
    bool,
    Stage,
    &'static str,
    Option<Hypothesis>,
);

#[tokio::test]
async fn verdicts_against_real_servers() {
    let base = serve().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    // (path, shape, allowed, stage, code, hypothesis)
    let cases: Vec<Expectation> = vec![
        (
            "/ok/api/orders",
            spa(Credentials::Include),
            true,
            Stage::None,
            codes::OK,
            None,
        ),
        (
            "/authed/api/orders",
            spa(Credentials::Include),
            false,
            Stage::Preflight,
            codes::ACAO_MISSING,
            Some(Hypothesis::H2),
        ),
        (
            "/doubled/api/orders",
            spa(Credentials::Include),
            false,
            Stage::Preflight,
            codes::ACAO_MULTIPLE,
            Some(Hypothesis::H4),
        ),
        (
            "/wildcard/api/orders",
            spa(Credentials::Omit),
            true,
            Stage::None,
            codes::OK,
            None,
        ),
        (
            "/redirecting/api/orders",
            spa(Credentials::Include),
            false,
            Stage::Preflight,
            codes::PREFLIGHT_REDIRECT,
            Some(Hypothesis::PreflightRedirect),
        ),
    ];
    for (path, shape, allowed, stage, code, hypothesis) in cases {
        let url = format!("{base}{path}");
        let pre_req = preflight_request(ORIGIN, &url, &shape);
        let pre = send(&client, &pre_req).await;
        let actual = if pre.status / 100 == 2 {
            Some(send(&client, &actual_request(ORIGIN, &url, &shape)).await)
        } else {
            None
        };
        let v = judge(ORIGIN, &url, &shape, Some(&pre), actual.as_ref());
        assert_eq!(v.allowed, allowed, "{path}: {v:#?}");
        assert_eq!(v.stage, stage, "{path}");
        assert_eq!(v.code, code, "{path}");
        assert_eq!(v.hypothesis, hypothesis, "{path}");
        if allowed && path.starts_with("/wildcard/") {
            // No Max-Age there: the browsers' 5 s default.
            assert_eq!(v.max_age_chrome, Some(5), "{path}");
            assert_eq!(v.max_age_firefox, Some(5), "{path}");
            assert!(actual.is_some_and(|a| a.status == 200), "{path}");
        } else if allowed {
            // tower-http sends Max-Age 86400: Chrome keeps 7200 s, Firefox 86400 s.
            assert_eq!(v.max_age_chrome, Some(7200), "{path}");
            assert_eq!(v.max_age_firefox, Some(86400), "{path}");
            assert!(actual.is_some_and(|a| a.status == 200), "{path}");
        } else {
            assert!(
                v.chrome_message
                    .as_deref()
                    .is_some_and(|m| m.starts_with(&format!("Access to fetch at '{url}'"))),
                "{path}: {:?}",
                v.chrome_message
            );
        }
    }
}
