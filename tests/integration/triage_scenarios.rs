//! Incident scenarios for the triage board and the alert rules: for each hypothesis, one store
//! where it must rank first and one where it must not.
//!
//! Stores are filled with records as the parsers would emit them and with probe results whose
//! verdicts come from `cors::judge` where the judgement is the point (doubled or mismatched
//! `Access-Control-Allow-Origin`, a challenged preflight), and are written out where the
//! scenario needs a specific verdict code or warning.

use std::borrow::Cow;

use corstop::analysis::Status;
use corstop::analysis::alerts::{AlertConfig, AlertKind, AlertState, SliSource, evaluate};
use corstop::analysis::bursts::BurstParams;
use corstop::analysis::evidence::gather;
use corstop::analysis::expiry::analyse_expiry;
use corstop::analysis::triage::{Board, Ranking, State, score, triage, triage_ranked};
use corstop::cors::{self, RawResponse, RequestShape, Stage, Verdict, Warning};
use corstop::headless::markdown::markdown_summary;
use corstop::model::time::{EpochMs, HOUR, MINUTE, SECOND};
use corstop::sources::event::{AuthClass, AuthRecord, HttpRecord, Hypothesis, Method, ProbeResult};
use corstop::store::{Store, StoreConfig, TimeMode};

const T0: EpochMs = 1_775_296_800_000; // 2026-04-04T10:00:00Z
const SPA: &str = "https://app.contoso.com";
const API: &str = "https://api.contoso.com";

fn store() -> Store {
    Store::new(
        StoreConfig {
            bucket_ms: 10 * SECOND,
            retention_ms: 6 * HOUR,
            ..Default::default()
        },
        TimeMode::EventTime,
    )
}

struct Req<'a> {
    method: Method,
    path: &'a str,
    status: u16,
    origin: Option<&'a str>,
    acao: Option<&'a str>,
}

fn req<'a>(method: Method, path: &'a str, status: u16) -> Req<'a> {
    Req {
        method,
        path,
        status,
        origin: Some(SPA),
        acao: None,
    }
}

impl<'a> Req<'a> {
    fn from(mut self, origin: &'a str) -> Self {
        self.origin = Some(origin);
        self
    }
    fn acao(mut self, v: &'a str) -> Self {
        self.acao = Some(v);
        self
    }
    /// A server-to-server call: no Origin, no Referer.
    fn no_origin(mut self) -> Self {
        self.origin = None;
        self
    }
}

fn http(s: &mut Store, t: EpochMs, r: Req<'_>) {
    let rec = HttpRecord {
        time: t,
        method: r.method,
        path: Cow::Owned(r.path.into()),
        status: r.status,
        origin: r.origin.map(|o| Cow::Owned(o.into())),
        acao: r.acao.map(|a| Cow::Owned(a.into())),
        ..Default::default()
    };
    s.ingest_http(0, &rec);
}

fn auth(s: &mut Store, t: EpochMs, class: AuthClass, message: &str) {
    let rec = AuthRecord {
        time: t,
        operation: "ValidateToken".into(),
        class: Some(class),
        status: Some(401),
        message: message.into(),
    };
    s.ingest_auth(1, &rec);
}

fn resp(status: u16, headers: &[(&str, &str)]) -> RawResponse {
    RawResponse {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        elapsed_ms: 12,
    }
}

fn good_preflight(origin: &str) -> RawResponse {
    resp(
        204,
        &[
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Credentials", "true"),
            ("Access-Control-Allow-Methods", "GET, PUT, POST, DELETE"),
            (
                "Access-Control-Allow-Headers",
                "authorization, content-type",
            ),
            ("Vary", "Origin"),
        ],
    )
}

/// A probe judged by the crate's CORS algorithm.
fn judged_probe(
    t: EpochMs,
    path: &str,
    origin: &str,
    critical: bool,
    preflight: RawResponse,
    actual: Option<RawResponse>,
) -> ProbeResult {
    let url = format!("{API}{path}");
    let shape = RequestShape::spa_default();
    let verdict = cors::judge(origin, &url, &shape, Some(&preflight), actual.as_ref());
    ProbeResult {
        time: t,
        url,
        origin: origin.into(),
        shape,
        critical,
        preflight_request: None,
        preflight: Some(preflight),
        actual_request: None,
        actual,
        transport: None,
        verdict,
        instance: Some("Server: Kestrel".into()),
        redirects: Vec::new(),
    }
}

/// A probe with a written-out verdict.
fn probe_with(t: EpochMs, path: &str, origin: &str, verdict: Verdict) -> ProbeResult {
    ProbeResult {
        time: t,
        url: format!("{API}{path}"),
        origin: origin.into(),
        shape: RequestShape::spa_default(),
        critical: false,
        preflight_request: None,
        preflight: Some(good_preflight(origin)),
        actual_request: None,
        actual: None,
        transport: None,
        verdict,
        instance: None,
        redirects: Vec::new(),
    }
}

fn verdict(
    allowed: bool,
    stage: Stage,
    code: &'static str,
    hidden: Option<u16>,
    hypothesis: Option<Hypothesis>,
    warnings: &[&'static str],
) -> Verdict {
    Verdict {
        allowed,
        stage,
        code,
        chrome_message: None,
        firefox_message: None,
        preflight_needed: true,
        request_headers: "authorization,content-type".into(),
        hidden_status: hidden,
        www_authenticate: None,
        max_age_chrome: None,
        max_age_firefox: None,
        warnings: warnings
            .iter()
            .map(|c| Warning {
                code: c,
                message: format!("{c} seen"),
            })
            .collect(),
        hypothesis,
    }
}

fn board(s: &Store, span: EpochMs) -> Board {
    score(&gather(s, span, &[HOUR]))
}

fn first(b: &Board) -> Hypothesis {
    b.top()
        .map(|e| e.hypothesis)
        .expect("some hypothesis scored")
}

fn dump(b: &Board) -> String {
    b.entries
        .iter()
        .map(|e| format!("{} {} {:?} {:?}", e.id, e.score, e.evidence, e.weakening))
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// Scenario builders

/// Preflights on /api/orders challenged by the auth layer for 30 minutes; simple GETs fine.
fn preflight_blocked_by_auth(probe_passes: bool) -> Store {
    let mut s = store();
    for i in 0..180 {
        let t = T0 + i * 10 * SECOND;
        http(&mut s, t, req(Method::Options, "/api/orders", 401));
        http(&mut s, t + 1, req(Method::Get, "/api/orders", 200));
        http(&mut s, t + 2, req(Method::Options, "/api/health", 204));
        auth(
            &mut s,
            t,
            AuthClass::MalformedOrMissing,
            "IDX14100: JWT is not well formed, there are no dots. No authorization token was found",
        );
    }
    let end = T0 + 30 * MINUTE;
    let pre = if probe_passes {
        good_preflight(SPA)
    } else {
        resp(
            401,
            &[(
                "WWW-Authenticate",
                "Bearer realm=\"api\", error=\"invalid_token\"",
            )],
        )
    };
    let actual = probe_passes.then(|| {
        resp(
            200,
            &[
                ("Access-Control-Allow-Origin", SPA),
                ("Access-Control-Allow-Credentials", "true"),
            ],
        )
    });
    s.ingest_probe(judged_probe(end, "/api/orders", SPA, true, pre, actual));
    s
}

/// Four and a half hours: healthy preflights, hourly 401 bursts on GET with expired tokens.
fn hourly_expiry() -> Store {
    let mut s = store();
    let end = T0 + 4 * HOUR + 30 * MINUTE;
    let mut t = T0;
    while t < end {
        http(
            &mut s,
            t,
            req(Method::Options, "/api/orders/7", 204).acao(SPA),
        );
        http(
            &mut s,
            t + 1,
            req(Method::Put, "/api/orders/7", 200).acao(SPA),
        );
        http(
            &mut s,
            t + 2,
            req(Method::Get, "/api/orders", 200).acao(SPA),
        );
        let into_hour = (t - T0).rem_euclid(HOUR);
        if (12 * MINUTE..13 * MINUTE).contains(&into_hour) {
            for k in 0..3 {
                http(&mut s, t + 3 + k, req(Method::Get, "/api/orders", 401));
                auth(
                    &mut s,
                    t + 3 + k,
                    AuthClass::Expired,
                    "IDX10223: Lifetime validation failed. The token is expired. ValidTo: '04/04/2026 10:12:00'",
                );
            }
        }
        t += 5 * SECOND;
    }
    s.ingest_probe(judged_probe(
        end,
        "/api/orders/7",
        SPA,
        true,
        good_preflight(SPA),
        Some(resp(
            200,
            &[
                ("Access-Control-Allow-Origin", SPA),
                ("Access-Control-Allow-Credentials", "true"),
            ],
        )),
    ));
    s
}

/// Preflights answered 204 (the log does not record response headers), few follow-ups; the
/// probe sees the origin twice in Access-Control-Allow-Origin.
fn doubled_headers() -> Store {
    let mut s = store();
    for i in 0..90 {
        let t = T0 + i * 10 * SECOND;
        http(&mut s, t, req(Method::Options, "/api/orders/17", 204));
        if i % 10 == 0 {
            http(&mut s, t + 1, req(Method::Put, "/api/orders/17", 200));
        }
        http(&mut s, t + 2, req(Method::Get, "/api/catalog", 200));
    }
    let pre = resp(
        204,
        &[
            ("Access-Control-Allow-Origin", SPA),
            ("Access-Control-Allow-Origin", SPA),
            ("Access-Control-Allow-Credentials", "true"),
            ("Access-Control-Allow-Methods", "PUT"),
            (
                "Access-Control-Allow-Headers",
                "authorization, content-type",
            ),
        ],
    );
    s.ingest_probe(judged_probe(
        T0 + 15 * MINUTE,
        "/api/orders/17",
        SPA,
        false,
        pre,
        None,
    ));
    s
}

/// The admin SPA's origin is not in the allowed list; another probe's header is not listed.
fn cors_misconfigured() -> Store {
    let mut s = store();
    let admin = "https://admin.contoso.com";
    for i in 0..90 {
        let t = T0 + i * 10 * SECOND;
        http(
            &mut s,
            t,
            req(Method::Options, "/api/orders/17", 204).from(admin),
        );
        if i % 15 == 0 {
            http(
                &mut s,
                t + 1,
                req(Method::Put, "/api/orders/17", 200).from(admin),
            );
        }
        http(&mut s, t + 2, req(Method::Options, "/api/orders/18", 204));
        http(&mut s, t + 3, req(Method::Put, "/api/orders/18", 200));
    }
    let end = T0 + 15 * MINUTE;
    s.ingest_probe(judged_probe(
        end,
        "/api/orders/17",
        admin,
        false,
        good_preflight(SPA),
        None,
    ));
    s.ingest_probe(probe_with(
        end,
        "/api/reports",
        SPA,
        verdict(
            false,
            Stage::Preflight,
            "header-not-allowed",
            Some(204),
            Some(Hypothesis::H1),
            &[],
        ),
    ));
    s
}

/// The default-domain SPA gets audience errors; the custom-domain SPA works.
fn domain_mismatch() -> Store {
    let mut s = store();
    let default_spa = "https://contoso-spa.azurewebsites.net";
    for i in 0..90 {
        let t = T0 + i * 10 * SECOND;
        http(
            &mut s,
            t,
            req(Method::Options, "/api/orders", 204).from(default_spa),
        );
        http(
            &mut s,
            t + 1,
            req(Method::Get, "/api/orders", 401).from(default_spa),
        );
        http(&mut s, t + 2, req(Method::Options, "/api/orders", 204));
        http(&mut s, t + 3, req(Method::Get, "/api/orders", 200));
        let msg = if i % 2 == 0 {
            "IDX10214: Audience validation failed. Audiences: 'api://contoso-api.azurewebsites.net'. Did not match: validationParameters.ValidAudience: 'api://api.contoso.com'"
        } else {
            "IDX10205: Issuer validation failed. Issuer: 'https://sts.windows.net/x/'. Did not match"
        };
        let class = if i % 2 == 0 {
            AuthClass::Audience
        } else {
            AuthClass::Issuer
        };
        auth(&mut s, t + 1, class, msg);
    }
    s
}

fn options_status(status: u16) -> Store {
    let mut s = store();
    for i in 0..90 {
        let t = T0 + i * 10 * SECOND;
        http(&mut s, t, req(Method::Options, "/api/items", status));
        http(&mut s, t + 1, req(Method::Get, "/api/items", 200));
        http(&mut s, t + 2, req(Method::Options, "/api/orders", 204));
        http(&mut s, t + 3, req(Method::Put, "/api/orders", 200));
    }
    s
}

// ---------------------------------------------------------------------------------------------
// H2

#[test]
fn h2_first_when_preflights_are_challenged() {
    let s = preflight_blocked_by_auth(false);
    let b = board(&s, 30 * MINUTE);
    assert_eq!(first(&b), Hypothesis::H2, "{}", dump(&b));
    let h2 = b.get(Hypothesis::H2).unwrap();
    assert_eq!(h2.state, State::Supported);
    assert!(h2.score >= 80, "{}", dump(&b));
    let text = h2.evidence.join("\n");
    assert!(text.contains("OPTIONS /api/orders: 180 denied"), "{text}");
    assert!(text.contains("WWW-Authenticate: Bearer"), "{text}");
    assert!(text.contains("missing or malformed token"), "{text}");
    assert!(
        h2.next_check
            .contains("curl -si -X OPTIONS 'https://api.contoso.com/api/orders'")
    );
    assert!(h2.next_check.contains("WWW-Authenticate"));
    assert!(h2.mitigation.contains("OPTIONS"));
    assert!(h2.first_seen.is_some());
    // Nothing points at token expiry; the 401s being on preflights counts against it.
    let h3 = b.get(Hypothesis::H3).unwrap();
    assert_eq!((h3.state, h3.score), (State::Weakened, 0));
    assert!(
        h3.weakening[0].contains("on preflights"),
        "{:?}",
        h3.weakening
    );
}

#[test]
fn h2_not_first_when_preflights_pass_and_tokens_expire() {
    let s = hourly_expiry();
    let b = board(&s, 6 * HOUR);
    assert_ne!(first(&b), Hypothesis::H2, "{}", dump(&b));
    let h2 = b.get(Hypothesis::H2).unwrap();
    assert_eq!(h2.state, State::Weakened);
    assert!(
        h2.weakening[0].starts_with("OPTIONS consistently 2xx"),
        "{:?}",
        h2.weakening
    );
}

// ---------------------------------------------------------------------------------------------
// H3

#[test]
fn h3_first_with_hourly_bursts_and_expired_signatures() {
    let s = hourly_expiry();
    let b = board(&s, 6 * HOUR);
    assert_eq!(first(&b), Hypothesis::H3, "{}", dump(&b));
    let h3 = b.get(Hypothesis::H3).unwrap();
    assert_eq!(h3.state, State::Supported);
    let text = h3.evidence.join("\n");
    assert!(text.contains("5 bursts of 401/403"), "{text}");
    assert!(
        text.contains("matches the 1h access-token lifetime"),
        "{text}"
    );
    assert!(text.contains("IDX10223"), "{text}");
    assert!(h3.next_check.contains("next burst"), "{}", h3.next_check);

    let x = analyse_expiry(&s, 6 * HOUR, &[HOUR], &BurstParams::default());
    assert_eq!(x.bursts.len(), 5);
    assert!(
        x.bursts
            .iter()
            .all(|b| b.route.as_deref() == Some("/api/orders"))
    );
}

#[test]
fn h3_not_first_when_preflights_are_challenged() {
    let s = preflight_blocked_by_auth(false);
    let b = board(&s, 30 * MINUTE);
    assert_ne!(first(&b), Hypothesis::H3);
    assert_eq!(b.get(Hypothesis::H3).unwrap().score, 0);
}

#[test]
fn h3_weakened_by_steady_failures_without_expiry() {
    let mut s = store();
    for i in 0..360 {
        let t = T0 + i * 10 * SECOND;
        http(
            &mut s,
            t,
            req(
                Method::Get,
                "/api/orders",
                if i % 3 == 0 { 401 } else { 200 },
            ),
        );
        if i % 3 == 0 {
            auth(
                &mut s,
                t,
                AuthClass::BadSignature,
                "IDX10511: Signature validation failed.",
            );
        }
    }
    let b = board(&s, HOUR);
    let h3 = b.get(Hypothesis::H3).unwrap();
    assert_ne!(h3.state, State::Supported, "{}", dump(&b));
    assert!(
        h3.weakening.iter().any(|w| w.contains("no bursts")),
        "{:?}",
        h3.weakening
    );
}

// ---------------------------------------------------------------------------------------------
// H4

#[test]
fn h4_first_when_probe_sees_two_acao_lines_and_logs_look_healthy() {
    let s = doubled_headers();
    let b = board(&s, 30 * MINUTE);
    assert_eq!(first(&b), Hypothesis::H4, "{}", dump(&b));
    let h4 = b.get(Hypothesis::H4).unwrap();
    assert_eq!(h4.state, State::Supported);
    let text = h4.evidence.join("\n");
    assert!(text.contains("acao-multiple"), "{text}");
    assert!(
        text.contains("90 preflights answered 2xx, only 9 requests followed"),
        "{text}"
    );
    // The logs cannot show the doubled header: that is a disagreement worth showing.
    assert_eq!(h4.disagreements.len(), 1, "{:?}", h4.disagreements);
    assert!(h4.disagreements[0].contains("OPTIONS /api/orders/{id} answered 2xx (90 times)"));
    assert!(h4.disagreements[0].contains("does not record the header"));
    assert!(
        h4.next_check
            .contains("grep -ci '^access-control-allow-origin'")
    );
}

#[test]
fn h4_not_first_when_one_acao_line_is_logged_consistently() {
    let mut s = store();
    for i in 0..90 {
        let t = T0 + i * 10 * SECOND;
        http(
            &mut s,
            t,
            req(Method::Options, "/api/orders", 204).acao(SPA),
        );
        http(
            &mut s,
            t + 1,
            req(Method::Put, "/api/orders", 200).acao(SPA),
        );
        http(&mut s, t + 2, req(Method::Options, "/api/items", 405));
    }
    s.ingest_probe(judged_probe(
        T0 + 15 * MINUTE,
        "/api/orders",
        SPA,
        false,
        good_preflight(SPA),
        None,
    ));
    let b = board(&s, 30 * MINUTE);
    assert_eq!(first(&b), Hypothesis::OptionsNotRouted, "{}", dump(&b));
    let h4 = b.get(Hypothesis::H4).unwrap();
    assert_eq!(h4.state, State::Weakened);
    assert_eq!(h4.score, 0);
}

// ---------------------------------------------------------------------------------------------
// H1

#[test]
fn h1_first_when_probes_are_refused_for_origin_and_headers() {
    let s = cors_misconfigured();
    let b = board(&s, 30 * MINUTE);
    assert_eq!(first(&b), Hypothesis::H1, "{}", dump(&b));
    let h1 = b.get(Hypothesis::H1).unwrap();
    let text = h1.evidence.join("\n");
    assert!(text.contains("acao-mismatch"), "{text}");
    assert!(text.contains("header-not-allowed"), "{text}");
    assert!(
        text.contains("https://admin.contoso.com on /api/orders/{id}"),
        "{text}"
    );
    assert!(
        h1.next_check.contains("Origin: https://admin.contoso.com")
            || h1.next_check.contains("Origin: https://app.contoso.com")
    );
    // No doubled header anywhere, so H4 only gets the follow-up share.
    assert!(b.get(Hypothesis::H4).unwrap().score < h1.score);
}

#[test]
fn h1_not_first_when_probes_pass() {
    let s = preflight_blocked_by_auth(true);
    let b = board(&s, 30 * MINUTE);
    assert_eq!(first(&b), Hypothesis::H2, "{}", dump(&b));
    let h1 = b.get(Hypothesis::H1).unwrap();
    assert_eq!(h1.state, State::Weakened);
    assert!(h1.weakening[0].contains("all 1 probes pass"));
}

// ---------------------------------------------------------------------------------------------
// H5

#[test]
fn h5_first_with_audience_errors_and_a_default_domain_origin() {
    let s = domain_mismatch();
    let b = board(&s, 30 * MINUTE);
    assert_eq!(first(&b), Hypothesis::H5, "{}", dump(&b));
    let h5 = b.get(Hypothesis::H5).unwrap();
    let text = h5.evidence.join("\n");
    assert!(
        text.contains("45 audience and 45 issuer failures"),
        "{text}"
    );
    assert!(
        text.contains("https://contoso-spa.azurewebsites.net (90 failed)"),
        "{text}"
    );
    assert!(text.contains("auth log"), "{text}");
    assert_ne!(b.get(Hypothesis::H3).unwrap().state, State::Supported);
}

#[test]
fn h5_not_first_when_only_expired_tokens_fail() {
    let s = hourly_expiry();
    let b = board(&s, 6 * HOUR);
    assert_ne!(first(&b), Hypothesis::H5);
    let h5 = b.get(Hypothesis::H5).unwrap();
    assert_eq!(h5.state, State::Weakened);
    assert_eq!(h5.score, 0);
}

// ---------------------------------------------------------------------------------------------
// Redirects and unrouted OPTIONS

#[test]
fn redirect_first_when_preflights_get_3xx() {
    for status in [301, 308] {
        let s = options_status(status);
        let b = board(&s, 30 * MINUTE);
        assert_eq!(first(&b), Hypothesis::PreflightRedirect, "{}", dump(&b));
        let e = b.get(Hypothesis::PreflightRedirect).unwrap();
        assert!(
            e.evidence[0].contains("/api/items (90)"),
            "{:?}",
            e.evidence
        );
        assert!(e.next_check.contains("/api/items"), "{}", e.next_check);
    }
}

#[test]
fn not_routed_first_when_preflights_get_404_or_405() {
    for status in [404, 405] {
        let s = options_status(status);
        let b = board(&s, 30 * MINUTE);
        assert_eq!(first(&b), Hypothesis::OptionsNotRouted, "{}", dump(&b));
        assert_ne!(b.rank(Hypothesis::PreflightRedirect), Some(1));
    }
}

#[test]
fn redirect_and_not_routed_not_first_without_such_statuses() {
    let s = preflight_blocked_by_auth(false);
    let b = board(&s, 30 * MINUTE);
    for h in [Hypothesis::PreflightRedirect, Hypothesis::OptionsNotRouted] {
        let e = b.get(h).unwrap();
        assert_eq!(e.score, 0, "{h}");
        assert_eq!(e.state, State::Weakened, "{h}");
    }
}

// ---------------------------------------------------------------------------------------------
// Extra failure modes

#[test]
fn errors_without_cors_headers() {
    let mut s = store();
    for i in 0..90 {
        let t = T0 + i * 10 * SECOND;
        http(
            &mut s,
            t,
            req(Method::Options, "/api/orders", 204).acao(SPA),
        );
        http(
            &mut s,
            t + 1,
            req(Method::Put, "/api/orders", 200).acao(SPA),
        );
        if i % 3 == 0 {
            http(
                &mut s,
                t + 2,
                req(Method::Put, "/api/orders", 500).acao("-"),
            );
        }
    }
    let b = board(&s, 30 * MINUTE);
    assert_eq!(first(&b), Hypothesis::ErrorWithoutCors, "{}", dump(&b));
}

#[test]
fn key_rollover_and_clock_skew_from_auth_classes() {
    let mut s = store();
    for i in 0..30 {
        let t = T0 + i * 10 * SECOND;
        http(&mut s, t, req(Method::Get, "/api/orders", 401));
        auth(
            &mut s,
            t,
            AuthClass::KeyNotFound,
            "IDX10503: Signature validation failed. Keys tried: kid 'abc'",
        );
    }
    let b = board(&s, 30 * MINUTE);
    assert_eq!(first(&b), Hypothesis::KeyRollover, "{}", dump(&b));

    let mut s = store();
    for i in 0..30 {
        let t = T0 + i * 10 * SECOND;
        http(&mut s, t, req(Method::Get, "/api/orders", 401));
        auth(
            &mut s,
            t,
            AuthClass::NotYetValid,
            "IDX10222: Lifetime validation failed. The token is not yet valid.",
        );
    }
    let b = board(&s, 30 * MINUTE);
    assert_eq!(first(&b), Hypothesis::ClockSkew, "{}", dump(&b));
}

#[test]
fn missing_vary_and_inconsistent_instances_from_probes() {
    let mut s = options_status(204);
    let ok = verdict(
        true,
        Stage::None,
        "ok",
        None,
        None,
        &["missing-vary-origin"],
    );
    s.ingest_probe(probe_with(T0 + 10 * MINUTE, "/api/orders", SPA, ok));
    let b = board(&s, 30 * MINUTE);
    assert_eq!(first(&b), Hypothesis::MissingVary, "{}", dump(&b));

    let mut s = options_status(204);
    let t = T0 + 10 * MINUTE;
    for k in 0..4 {
        let mut p = if k % 2 == 0 {
            probe_with(
                t + k * SECOND,
                "/api/orders",
                SPA,
                verdict(true, Stage::None, "ok", None, None, &[]),
            )
        } else {
            probe_with(
                t + k * SECOND,
                "/api/orders",
                SPA,
                verdict(
                    false,
                    Stage::Preflight,
                    "acao-missing",
                    Some(204),
                    Some(Hypothesis::H1),
                    &[],
                ),
            )
        };
        p.instance = Some(format!("ARRAffinity=instance-{}", k % 2));
        s.ingest_probe(p);
    }
    let b = board(&s, 30 * MINUTE);
    let inst = b.get(Hypothesis::InconsistentInstances).unwrap();
    assert_eq!(inst.state, State::Supported, "{}", dump(&b));
    assert!(
        inst.evidence
            .iter()
            .any(|l| l.contains("acao-missing on ARRAffinity=instance-1"))
    );
}

// ---------------------------------------------------------------------------------------------
// Disagreements

#[test]
fn logs_deny_preflights_that_the_probe_passes() {
    let s = preflight_blocked_by_auth(true);
    let b = board(&s, 30 * MINUTE);
    let h2 = b.get(Hypothesis::H2).unwrap();
    assert_eq!(h2.disagreements.len(), 1, "{:?}", h2.disagreements);
    assert!(h2.disagreements[0].contains("OPTIONS /api/orders denied 180 times"));
    assert!(h2.disagreements[0].contains("passes its preflight"));
    // The log evidence alone still makes H2 the leading hypothesis.
    assert_eq!(first(&b), Hypothesis::H2);
    // Without the probe there is nothing to disagree about.
    let b = board(&preflight_blocked_by_auth(false), 30 * MINUTE);
    assert!(b.get(Hypothesis::H2).unwrap().disagreements.is_empty());
}

#[test]
fn board_is_deterministic_and_bounded() {
    let s = hourly_expiry();
    let a = board(&s, 6 * HOUR);
    let b = board(&s, 6 * HOUR);
    assert_eq!(a, b);
    assert_eq!(a.entries.len(), Hypothesis::ALL.len());
    for w in a.entries.windows(2) {
        assert!(w[0].score >= w[1].score);
    }
    for e in &a.entries {
        assert!(e.evidence.len() <= 8 && e.disagreements.len() <= 8);
        assert!(!e.next_check.is_empty() && !e.mitigation.is_empty());
    }
    let json = serde_json::to_string(&a).unwrap();
    assert!(json.contains("\"state\":\"supported\""));
}

#[test]
fn empty_store_has_no_top_hypothesis() {
    let s = store();
    let b = board(&s, 30 * MINUTE);
    assert!(b.top().is_none());
    assert!(b.entries.iter().all(|e| e.state == State::NoEvidence));
    let a = evaluate(&s, &AlertConfig::default());
    assert_eq!(alert_level(&a), Status::Ok);
}

// ---------------------------------------------------------------------------------------------
// Alerts

/// A critical route whose preflights fail for `fail_minutes` at the end of 30 minutes.
fn failing_critical(fail_minutes: i64) -> Store {
    let mut s = store();
    let end = T0 + 30 * MINUTE;
    let fail_from = end - fail_minutes * MINUTE;
    let mut t = T0;
    while t < end {
        let status = if t >= fail_from { 401 } else { 204 };
        http(&mut s, t, req(Method::Options, "/api/orders", status));
        http(&mut s, t + 1, req(Method::Options, "/api/catalog", 204));
        t += 10 * SECOND;
    }
    s.ingest_probe(judged_probe(
        end - SECOND,
        "/api/orders",
        SPA,
        true,
        resp(401, &[]),
        None,
    ));
    s
}

#[test]
fn page_after_more_than_ten_minutes_on_a_critical_route() {
    let s = failing_critical(15);
    let a = evaluate(&s, &AlertConfig::default());
    assert_eq!(alert_level(&a), Status::Page, "{a:#?}");
    assert_eq!(a.critical_routes, vec!["/api/orders".to_string()]);
    let page = &a.alerts[0];
    assert_eq!(page.kind, AlertKind::Page);
    assert_eq!(page.route, "/api/orders");
    // Measured from the first failing step, not assumed.
    let expected_since = (T0 + 15 * MINUTE).div_euclid(MINUTE) * MINUTE;
    assert_eq!(page.since, expected_since);
    assert!(
        page.for_ms >= 15 * MINUTE && page.for_ms <= 16 * MINUTE,
        "{page:?}"
    );
    let sli = a.slis.iter().find(|s| s.route == "/api/orders").unwrap();
    assert_eq!(sli.source, SliSource::Logs);
    assert!(sli.below_objective && sli.critical);
    assert!(sli.burn_rate > 100.0);
    let catalog = a.slis.iter().find(|s| s.route == "/api/catalog").unwrap();
    assert_eq!(catalog.sli, 1.0);
    assert!(!catalog.below_objective);

    let board = board(&s, 30 * MINUTE);
    let expiry = analyse_expiry(&s, 30 * MINUTE, &[HOUR], &BurstParams::default());
    let md = markdown_summary(&board, &a, &expiry, &s);
    assert!(md.contains("- **Status:** PAGE"), "{md}");
    assert!(md.contains("**Leading hypothesis:** H2"), "{md}");
    assert!(
        md.contains("2026-04-04T10:15:00Z — first failing OPTIONS on /api/orders (401)"),
        "{md}"
    );
    assert!(
        md.contains("critical route /api/orders starts failing"),
        "{md}"
    );
    assert!(
        md.contains("| /api/orders | logs | 0 / 90 | 0.0% |"),
        "{md}"
    );
}

#[test]
fn no_page_before_ten_minutes_only_degraded() {
    let s = failing_critical(6);
    let a = evaluate(&s, &AlertConfig::default());
    assert_eq!(alert_level(&a), Status::Degraded, "{a:#?}");
    assert_eq!(a.alerts[0].kind, AlertKind::PagePending);
    assert!(a.alerts.iter().any(|x| x.kind == AlertKind::Slo));
}

#[test]
fn recovered_route_does_not_page() {
    let mut s = failing_critical(15);
    // Five healthy minutes after the failures.
    let end = T0 + 30 * MINUTE;
    for k in 0..30 {
        http(
            &mut s,
            end + k * 10 * SECOND,
            req(Method::Options, "/api/orders", 204),
        );
    }
    s.ingest_probe(judged_probe(
        end + 5 * MINUTE,
        "/api/orders",
        SPA,
        true,
        good_preflight(SPA),
        None,
    ));
    let a = evaluate(&s, &AlertConfig::default());
    assert!(a.alerts.iter().all(|x| x.kind == AlertKind::Slo), "{a:#?}");
    assert_eq!(alert_level(&a), Status::Degraded);
}

#[test]
fn sli_falls_back_to_probes_for_routes_without_logged_preflights() {
    let mut s = store();
    for i in 0..60 {
        http(
            &mut s,
            T0 + i * 10 * SECOND,
            req(Method::Get, "/api/catalog", 200),
        );
    }
    for k in 0..4 {
        let pre = if k == 0 {
            resp(401, &[])
        } else {
            good_preflight(SPA)
        };
        s.ingest_probe(judged_probe(
            T0 + (5 + k) * MINUTE,
            "/api/profile",
            SPA,
            false,
            pre,
            None,
        ));
    }
    let a = evaluate(&s, &AlertConfig::default());
    let p = a.slis.iter().find(|s| s.route == "/api/profile").unwrap();
    assert_eq!(p.source, SliSource::Probes);
    assert_eq!((p.good, p.total), (3, 4));
    assert_eq!(alert_level(&a), Status::Degraded);
}

// ---------------------------------------------------------------------------------------------
// Markdown summary

#[test]
fn markdown_summary_has_board_timeline_and_phase() {
    let mut s = hourly_expiry();
    auth(
        &mut s,
        T0 + 4 * HOUR + 29 * MINUTE,
        AuthClass::Expired,
        "IDX10223: token expired. Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl",
    );
    let span = 6 * HOUR;
    let board = score(&gather(&s, span, &[HOUR]));
    let alerts = evaluate(&s, &AlertConfig::default());
    let expiry = analyse_expiry(&s, span, &[HOUR], &BurstParams::default());
    let md = markdown_summary(&board, &alerts, &expiry, &s);
    assert!(
        md.starts_with("# CORS / token incident summary — 2026-04-04T14:29:55Z"),
        "{md}"
    );
    assert!(md.contains("**Leading hypothesis:** H3"), "{md}");
    assert!(md.contains("| 1 | H3 |"), "{md}");
    assert!(md.contains("## Timeline (UTC)"));
    assert!(md.contains("2026-04-04T10:12:00Z — 401/403 burst"), "{md}");
    assert!(md.contains("next burst due at 2026-04-04T15:12"), "{md}");
    assert!(md.contains("next expiry burst due (projected)"));
    assert!(!md.contains("eyJzdWIiOiIxMjM0In0"), "token leaked: {md}");
}

#[test]
fn probe_401_without_cors_headers_is_errcors_first_and_h3_second() {
    let mut s = store();
    for i in 0..90 {
        let t = T0 + i * 10 * SECOND;
        http(&mut s, t, req(Method::Options, "/api/orders", 204));
        http(&mut s, t + 1, req(Method::Put, "/api/orders", 200));
    }
    s.ingest_probe(judged_probe(
        T0 + 15 * MINUTE,
        "/api/orders",
        SPA,
        false,
        good_preflight(SPA),
        Some(resp(
            401,
            &[(
                "WWW-Authenticate",
                "Bearer error=\"invalid_token\", error_description=\"The token expired at '04/04/2026 10:14:00'\"",
            )],
        )),
    ));
    let b = board(&s, 30 * MINUTE);
    let h3 = b.get(Hypothesis::H3).unwrap();
    assert!(
        h3.evidence.iter().any(|l| l.contains("naming the token")),
        "{}",
        dump(&b)
    );
    // The probe's token proves little; the missing CORS headers on the 401 are certain.
    assert_eq!(first(&b), Hypothesis::ErrorWithoutCors, "{}", dump(&b));
    assert_eq!(b.rank(Hypothesis::H3), Some(2), "{}", dump(&b));
}

// ---------------------------------------------------------------------------------------------
// Impact, recency and instance disagreement

/// Preflights challenged for ten minutes, then fixed; for the last five minutes real requests
/// fail with expired tokens.
fn fixed_h2_then_expiry() -> Store {
    let mut s = store();
    for i in 0..90 {
        let t = T0 + i * 10 * SECOND;
        if i < 60 {
            http(&mut s, t, req(Method::Options, "/api/orders", 401));
            auth(
                &mut s,
                t,
                AuthClass::MalformedOrMissing,
                "No authorization token was found",
            );
            http(&mut s, t + 1, req(Method::Get, "/api/orders", 200));
        } else {
            http(&mut s, t, req(Method::Options, "/api/orders", 204));
            http(&mut s, t + 1, req(Method::Get, "/api/profile", 401));
            auth(
                &mut s,
                t + 1,
                AuthClass::Expired,
                "IDX10223: Lifetime validation failed. The token is expired.",
            );
        }
    }
    s
}

#[test]
fn a_fault_that_stopped_ranks_below_the_current_one() {
    let s = fixed_h2_then_expiry();
    let b = triage(&s, 15 * MINUTE, &[HOUR]);
    assert_eq!(first(&b), Hypothesis::H3, "{}", dump(&b));
    let h2 = b.get(Hypothesis::H2).unwrap();
    // Its evidence stays on the board with its impact, marked as ended at its last failure.
    assert!(
        h2.score > b.get(Hypothesis::H3).unwrap().score,
        "{}",
        dump(&b)
    );
    assert_eq!(h2.state, State::Ended);
    assert_eq!(h2.ended_at, Some(T0 + 590 * SECOND));
    assert_eq!(
        h2.ended_text(b.now).unwrap(),
        format!(
            "ended 10:09:50Z ({} ago)",
            corstop::model::time::format_duration(b.now - h2.ended_at.unwrap())
        )
    );
    // Ranked by impact (the report), the larger incident comes first.
    let impact = triage_ranked(&s, 15 * MINUTE, &[HOUR], Ranking::Impact);
    assert_eq!(first(&impact), Hypothesis::H2, "{}", dump(&impact));
    assert_eq!(impact.get(Hypothesis::H2).unwrap().state, State::Ended);
}

fn refused_for(origins_refused: &[&str]) -> Store {
    let mut s = options_status(204);
    let origins = [
        SPA,
        "https://admin.contoso.com",
        "https://shop.contoso.com",
        "https://partner.fabrikam.com",
    ];
    for (k, o) in origins.iter().enumerate() {
        for path in ["/api/orders", "/api/profile"] {
            let v = if origins_refused.contains(o) {
                verdict(
                    false,
                    Stage::Preflight,
                    "acao-missing",
                    Some(204),
                    Some(Hypothesis::H1),
                    &[],
                )
            } else {
                verdict(true, Stage::None, "ok", None, None, &[])
            };
            s.ingest_probe(probe_with(T0 + 14 * MINUTE + k as i64 * SECOND, path, o, v));
        }
    }
    s
}

#[test]
fn h1_weighs_how_many_probes_are_refused() {
    let one = board(&refused_for(&["https://partner.fabrikam.com"]), 15 * MINUTE);
    let all = board(
        &refused_for(&[
            SPA,
            "https://admin.contoso.com",
            "https://shop.contoso.com",
            "https://partner.fabrikam.com",
        ]),
        15 * MINUTE,
    );
    let (one, all) = (
        one.get(Hypothesis::H1).unwrap(),
        all.get(Hypothesis::H1).unwrap(),
    );
    // A never-allowed origin is still a finding, just not an outage.
    assert_eq!(one.state, State::Supported, "{one:?}");
    assert!(
        one.score + 20 <= all.score,
        "{} vs {}",
        one.score,
        all.score
    );
    assert!(one.evidence[0].contains("partner.fabrikam.com"), "{one:?}");
}

#[test]
fn a_single_verdict_change_is_not_instance_disagreement() {
    let mut s = options_status(204);
    let t = T0 + 10 * MINUTE;
    for k in 0..6 {
        // Two runs pass, then the configuration changes and every later run fails, whichever
        // instance answers.
        let v = if k < 2 {
            verdict(true, Stage::None, "ok", None, None, &[])
        } else {
            verdict(
                false,
                Stage::Preflight,
                "acao-multiple",
                Some(204),
                Some(Hypothesis::H4),
                &[],
            )
        };
        let mut p = probe_with(t + k * MINUTE / 2, "/api/orders", SPA, v);
        p.instance = Some(format!("x-instance: web-{}", k % 2 + 1));
        s.ingest_probe(p);
    }
    let b = board(&s, 30 * MINUTE);
    let inst = b.get(Hypothesis::InconsistentInstances).unwrap();
    assert_eq!(inst.score, 0, "{}", dump(&b));
    assert_eq!(first(&b), Hypothesis::H4, "{}", dump(&b));
}

/// Some preflights on /api/orders challenged (a real H2), cross-origin calls that work and
/// carry their CORS header, and a backend job calling the API without any Origin whose 401s
/// and 500s naturally carry no CORS headers.
fn h2_beside_server_to_server_errors() -> Store {
    let mut s = store();
    for i in 0..180 {
        let t = T0 + i * 10 * SECOND;
        let preflight = if i % 9 == 0 { 401 } else { 204 };
        http(&mut s, t, req(Method::Options, "/api/orders", preflight));
        http(
            &mut s,
            t + 1,
            req(Method::Get, "/api/orders", 200).acao(SPA),
        );
        let backend = if i % 2 == 0 { 401 } else { 500 };
        http(
            &mut s,
            t + 2,
            req(Method::Get, "/api/orders", backend)
                .acao("-")
                .no_origin(),
        );
    }
    s
}

#[test]
fn origin_less_errors_are_not_errors_without_cors() {
    let s = h2_beside_server_to_server_errors();
    let b = board(&s, 30 * MINUTE);
    assert_eq!(first(&b), Hypothesis::H2, "{}", dump(&b));
    assert_eq!(b.get(Hypothesis::H2).unwrap().state, State::Supported);
    let errcors = b.get(Hypothesis::ErrorWithoutCors).unwrap();
    assert_eq!(
        (errcors.state, errcors.score),
        (State::NoEvidence, 0),
        "{}",
        dump(&b)
    );
    assert!(errcors.evidence.is_empty(), "{:?}", errcors.evidence);
}

#[test]
fn errors_without_cors_headers_with_the_origin_from_the_referer_say_so() {
    let mut s = store();
    for i in 0..90 {
        let t = T0 + i * 10 * SECOND;
        let rec = |status: u16, acao: &str| HttpRecord {
            time: t,
            method: Method::Put,
            path: Cow::Borrowed("/api/orders"),
            status,
            origin: Some(Cow::Borrowed(SPA)),
            origin_derived: true,
            acao: Some(Cow::Owned(acao.into())),
            ..Default::default()
        };
        s.ingest_http(0, &rec(200, SPA));
        if i % 3 == 0 {
            s.ingest_http(0, &rec(500, "-"));
        }
    }
    let b = board(&s, 30 * MINUTE);
    assert_eq!(first(&b), Hypothesis::ErrorWithoutCors, "{}", dump(&b));
    let text = b
        .get(Hypothesis::ErrorWithoutCors)
        .unwrap()
        .evidence
        .join("\n");
    assert!(
        text.contains("30 cross-origin error responses")
            && text.contains("30 of them with the origin taken from the Referer"),
        "{text}"
    );
}

#[test]
fn h2_names_only_the_origins_whose_preflights_were_denied() {
    const PARTNER: &str = "https://partner.example";
    const ADMIN: &str = "https://admin.contoso.com";
    let mut s = store();
    for i in 0..60 {
        let t = T0 + i * 10 * SECOND;
        http(&mut s, t, req(Method::Options, "/api/orders", 401));
        // Another origin's preflights pass; its real requests fail for other reasons.
        http(
            &mut s,
            t + 1,
            req(Method::Options, "/api/orders", 204).from(PARTNER),
        );
        http(
            &mut s,
            t + 2,
            req(Method::Put, "/api/orders", 500).from(PARTNER),
        );
        if i % 4 == 0 {
            http(
                &mut s,
                t + 3,
                req(Method::Options, "/api/orders", 403).from(ADMIN),
            );
        }
    }
    let b = board(&s, 30 * MINUTE);
    assert_eq!(first(&b), Hypothesis::H2, "{}", dump(&b));
    let text = b.get(Hypothesis::H2).unwrap().evidence.join("\n");
    assert!(
        text.contains("denied for https://app.contoso.com (60), https://admin.contoso.com (15)"),
        "{text}"
    );
    assert!(!text.contains(PARTNER), "{text}");
}

/// Healthy for 15 minutes, then for 10 minutes error responses without CORS headers and
/// audience failures, then healthy again for 5 minutes.
fn incident_from_minute_15_to_25() -> Store {
    let mut s = store();
    for i in 0..180 {
        let t = T0 + i * 10 * SECOND;
        http(
            &mut s,
            t,
            req(Method::Options, "/api/orders", 204).acao(SPA),
        );
        http(
            &mut s,
            t + 1,
            req(Method::Put, "/api/orders", 200).acao(SPA),
        );
        if (90..150).contains(&i) {
            http(
                &mut s,
                t + 2,
                req(Method::Put, "/api/orders", 500).acao("-"),
            );
            auth(
                &mut s,
                t + 3,
                AuthClass::Audience,
                "IDX10214: Audience validation failed.",
            );
        }
    }
    s
}

#[test]
fn first_and_last_seen_are_the_first_and_latest_failing_buckets() {
    let s = incident_from_minute_15_to_25();
    let b = board(&s, 30 * MINUTE);
    for h in [Hypothesis::ErrorWithoutCors, Hypothesis::H5] {
        let e = b.get(h).unwrap();
        // Five quiet minutes at six requests a minute: the incident ended.
        assert_eq!(e.state, State::Ended, "{}", dump(&b));
        assert_eq!(e.ended_at, Some(T0 + 25 * MINUTE - 10 * SECOND), "{h}");
        assert_eq!(e.first_seen, Some(T0 + 15 * MINUTE), "{h}");
        // The last failing bucket, or the exact time of the last sample inside it.
        let last = e.last_seen.unwrap();
        assert!(
            (T0 + 25 * MINUTE - 10 * SECOND..T0 + 25 * MINUTE).contains(&last),
            "{h}: {last}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Ongoing or ended, at any traffic level

/// An internal API at 5 requests a minute for an hour: calls from the SPA that succeed with
/// their CORS header, and one error response without it every five minutes, the last one
/// four minutes before the end of the log.
fn low_traffic_errors_without_cors() -> Store {
    let mut s = store();
    for i in 0..300 {
        let t = T0 + i * 12 * SECOND;
        if i % 25 == 5 {
            http(&mut s, t, req(Method::Put, "/api/orders", 500).acao("-"));
        } else {
            http(&mut s, t, req(Method::Put, "/api/orders", 200).acao(SPA));
        }
    }
    s
}

/// The same traffic with every preflight denied: the dense case.
fn low_traffic_preflights_denied() -> Store {
    let mut s = store();
    for i in 0..300 {
        let t = T0 + i * 12 * SECOND;
        let (method, status) = if i % 2 == 0 {
            (Method::Options, 401)
        } else {
            (Method::Get, 200)
        };
        http(&mut s, t, req(method, "/api/orders", status));
    }
    s
}

#[test]
fn a_low_traffic_incident_running_to_the_end_of_the_log_is_supported() {
    for (what, s, h) in [
        (
            "sparse errors",
            low_traffic_errors_without_cors(),
            Hypothesis::ErrorWithoutCors,
        ),
        (
            "dense denials",
            low_traffic_preflights_denied(),
            Hypothesis::H2,
        ),
    ] {
        let live = triage(&s, 15 * MINUTE, &[HOUR]);
        let report = corstop::headless::report::diagnose(&s, &Default::default()).triage;
        for b in [&live, &report] {
            assert_eq!(first(b), h, "{what}: {}", dump(b));
            let e = b.get(h).unwrap();
            assert_eq!(e.state, State::Supported, "{what}: {}", dump(b));
            assert_eq!(e.ended_at, None, "{what}");
        }
    }
}

/// Preflights denied at 30 requests a minute until ten minutes before the end; from twenty
/// minutes before the end, preflights on another route are redirected, still now.
fn high_traffic_h2_stopped_then_redirects() -> Store {
    let mut s = store();
    for i in 0..180 {
        let t = T0 + i * 10 * SECOND;
        let orders = if i < 120 { 401 } else { 204 };
        for k in 0..3 {
            http(&mut s, t + k, req(Method::Options, "/api/orders", orders));
            http(&mut s, t + 3 + k, req(Method::Get, "/api/orders", 200));
        }
        if i >= 60 {
            http(&mut s, t + 7, req(Method::Options, "/api/legacy", 301));
            http(&mut s, t + 8, req(Method::Options, "/api/legacy", 204));
        }
    }
    s
}

#[test]
fn a_high_traffic_incident_that_stopped_ten_minutes_ago_ranks_below_a_current_one() {
    let s = high_traffic_h2_stopped_then_redirects();
    let live = triage(&s, 30 * MINUTE, &[HOUR]);
    assert_eq!(
        first(&live),
        Hypothesis::PreflightRedirect,
        "{}",
        dump(&live)
    );
    assert_eq!(
        live.get(Hypothesis::PreflightRedirect).unwrap().state,
        State::Supported
    );
    let h2 = live.get(Hypothesis::H2).unwrap();
    assert_eq!(h2.state, State::Ended, "{}", dump(&live));
    assert_eq!(h2.ended_at, Some(T0 + 1190 * SECOND));
    assert_eq!(live.rank(Hypothesis::H2), Some(2), "{}", dump(&live));
    // By impact, the bigger incident leads, still marked as ended.
    let impact = triage_ranked(&s, 30 * MINUTE, &[HOUR], Ranking::Impact);
    assert_eq!(first(&impact), Hypothesis::H2, "{}", dump(&impact));
}

#[test]
fn a_failure_first_seen_at_the_start_of_the_window_may_have_begun_before_it() {
    // Preflights denied for all 30 minutes of the log.
    let s = preflight_blocked_by_auth(false);
    let short = triage(&s, 15 * MINUTE, &[HOUR]);
    let h2 = short.get(Hypothesis::H2).unwrap();
    assert!(h2.began_before_window, "{h2:?}");
    let long = triage(&s, HOUR, &[HOUR]);
    let h2 = long.get(Hypothesis::H2).unwrap();
    assert!(!h2.began_before_window, "{h2:?}");
    assert_eq!(h2.first_seen, Some(T0));
}

/// The status rule fed with the alerts alone.
fn alert_level(a: &AlertState) -> Status {
    corstop::analysis::status::decide(&corstop::analysis::status::StatusInputs {
        alerts: Some(a),
        ..Default::default()
    })
    .level
}
