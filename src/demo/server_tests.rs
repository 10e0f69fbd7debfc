use super::*;
use crate::model::time::MINUTE;

const T0: EpochMs = 1_775_296_800_000;

fn script(phase: Phase) -> Script {
    let mut s = Script::new(T0);
    s.forced = Some(phase);
    s
}

fn preflight<'a>(path: &'a str, origin: &'a str) -> Incoming<'a> {
    Incoming {
        method: "OPTIONS",
        path,
        origin: Some(origin),
        request_method: Some("PUT"),
        ..Incoming::default()
    }
}

fn all<'a>(r: &'a Reply, name: &str) -> Vec<&'a str> {
    r.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

#[test]
fn routes() {
    let cases = [
        ("/api/orders", Route::Orders),
        ("/api/orders/17", Route::Order),
        ("/api/orders/", Route::Unknown),
        ("/api/orders/1/items", Route::Unknown),
        ("/api/products", Route::Products),
        ("/auth/token", Route::Token),
        ("/", Route::Unknown),
    ];
    for (path, want) in cases {
        assert_eq!(Route::of(path), want, "{path}");
    }
}

#[test]
fn preflight_per_phase() {
    let c = Counters::default();
    let app = "https://app.contoso.com";
    // (phase, path, origin, status, ACAO values, auth lines)
    type Case<'a> = (Phase, &'a str, &'a str, u16, &'a [&'a str], usize);
    let cases: &[Case] = &[
        (Phase::Healthy, "/api/orders", app, 204, &[app], 0),
        (Phase::Healthy, "/api/orders", UNLISTED_ORIGIN, 204, &[], 0),
        (Phase::PreflightAuth, "/api/orders", app, 401, &[], 1),
        (Phase::PreflightAuth, "/api/orders/5", app, 401, &[], 1),
        (Phase::PreflightAuth, "/api/products", app, 204, &[app], 0),
        (Phase::TokenExpiry, "/api/orders", app, 204, &[app], 0),
        (Phase::DoubleAcao, "/api/orders", app, 204, &[app, app], 0),
        (Phase::DoubleAcao, "/api/profile", app, 204, &[app], 0),
        (Phase::Recovery, "/api/orders/9", app, 204, &[app], 0),
        (Phase::Healthy, "/nope", app, 404, &[], 0),
    ];
    for &(phase, path, origin, status, acao, auth) in cases {
        let r = decide(&script(phase), &c, &preflight(path, origin), T0, "web-1");
        assert_eq!(r.status, status, "{phase:?} {path} {origin}");
        assert_eq!(
            all(&r, "access-control-allow-origin"),
            acao,
            "{phase:?} {path}"
        );
        assert_eq!(r.auth_lines.len(), auth, "{phase:?} {path}");
    }
    // The other instance's platform layer adds `*` in front of the app's value.
    let r = decide(
        &script(Phase::DoubleAcao),
        &c,
        &preflight("/api/orders", app),
        T0,
        "web-2",
    );
    assert_eq!(all(&r, "access-control-allow-origin"), ["*", app]);
}

#[test]
fn actual_requests_and_tokens() {
    let c = Counters::default();
    let s = script(Phase::Healthy);
    let valid = format!("Bearer {}", issue_token("alice", T0 + MINUTE));
    let expired = format!("Bearer {}", issue_token("alice", T0 - MINUTE));
    let get = |auth: Option<&'static str>, path: &'static str| Incoming {
        method: "GET",
        path,
        origin: Some("https://app.contoso.com"),
        authorization: auth,
        ..Incoming::default()
    };
    let valid: &'static str = Box::leak(valid.into_boxed_str());
    let expired: &'static str = Box::leak(expired.into_boxed_str());
    let cases: &[(Option<&'static str>, &'static str, u16, usize)] = &[
        (Some(valid), "/api/orders", 200, 1),
        (Some(expired), "/api/orders", 401, 0),
        (Some(expired), "/api/products", 401, 0),
        (None, "/api/products", 200, 1),
        (None, "/api/orders", 401, 0),
        (Some("Bearer undefined"), "/api/profile", 401, 0),
        (None, "/api/health", 200, 1),
    ];
    for &(auth, path, status, acao) in cases {
        let r = decide(&s, &c, &get(auth, path), T0, "web-1");
        assert_eq!(r.status, status, "{auth:?} {path}");
        assert_eq!(
            all(&r, "access-control-allow-origin").len(),
            acao,
            "{auth:?} {path}"
        );
    }
    let r = decide(&s, &c, &get(Some(expired), "/api/orders"), T0, "web-1");
    let www = all(&r, "www-authenticate")[0];
    assert!(
        www.contains("The token expired at '04/04/2026 09:59:00'"),
        "{www}"
    );
    assert!(r.auth_lines[0].contains("IDX10223"));
    let put = Incoming {
        method: "POST",
        path: "/api/orders",
        ..Incoming::default()
    };
    assert_eq!(decide(&s, &c, &put, T0, "web-1").status, 405);
}

#[test]
fn token_grants_follow_waves() {
    let c = Counters::default();
    let s = script(Phase::TokenExpiry);
    let grant = |body: &'static [u8]| Incoming {
        method: "POST",
        path: "/auth/token",
        origin: Some("https://admin.contoso.com"),
        body,
        ..Incoming::default()
    };
    let r = decide(
        &s,
        &c,
        &grant(b"grant_type=password&username=bob"),
        T0,
        "web-1",
    );
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let token = v["access_token"].as_str().unwrap();
    assert_eq!(parse_token(token), Some(("bob", T0 + MINUTE)));
    assert_eq!(v["expires_in"], 60);
    // During the outage after the wave, refresh is refused.
    let r = decide(
        &s,
        &c,
        &grant(b"grant_type=refresh_token&refresh_token=rt.bob"),
        T0 + 2 * MINUTE,
        "web-1",
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("invalid_grant"));
    assert_eq!(r.auth_lines.len(), 1);
    // Afterwards it works again and the new token lasts until the next wave.
    let r = decide(
        &s,
        &c,
        &grant(b"grant_type=refresh_token&refresh_token=rt.bob"),
        T0 + 20 * MINUTE,
        "web-1",
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        all(&r, "access-control-allow-origin"),
        ["https://admin.contoso.com"]
    );
    assert_eq!(
        decide(&s, &c, &grant(b"grant_type=magic"), T0, "web-1").status,
        400
    );
}

#[test]
fn form_decoding() {
    assert_eq!(
        form_value(b"a=1&username=al%69ce+x", "username").as_deref(),
        Some("alice x")
    );
    assert_eq!(form_value(b"a=%zz", "a").as_deref(), Some("%zz"));
    assert_eq!(form_value(b"a=%4", "a").as_deref(), Some("%4"));
    assert_eq!(form_value(b"a", "a").as_deref(), Some(""));
    assert_eq!(form_value(b"\xff", "a"), None);
}
