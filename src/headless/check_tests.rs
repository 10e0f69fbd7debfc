use super::*;
use crate::cors::{RawResponse, Verdict, Warning};

fn result(allowed: bool, code: &'static str, critical: bool) -> ProbeResult {
    let shape = RequestShape::spa_default();
    ProbeResult {
        time: 0,
        url: "https://api.example/a?x=1&y=<2>".into(),
        origin: "https://app.example".into(),
        critical,
        preflight_request: None,
        preflight: Some(RawResponse {
            status: 401,
            headers: vec![("www-authenticate".into(), "Bearer".into())],
            elapsed_ms: 12,
        }),
        actual_request: None,
        actual: None,
        transport: None,
        verdict: Verdict {
            allowed,
            stage: if allowed {
                Stage::None
            } else {
                Stage::Preflight
            },
            code,
            chrome_message: (!allowed).then(|| {
                "Access to fetch at 'https://api.example/a' from origin 'https://app.example' \
                     has been blocked by CORS policy: Response to preflight request doesn't pass \
                     access control check: No 'Access-Control-Allow-Origin' header is present on \
                     the requested resource."
                    .to_string()
            }),
            firefox_message: None,
            preflight_needed: true,
            request_headers: "authorization,content-type".into(),
            hidden_status: Some(401),
            www_authenticate: Some("Bearer".into()),
            max_age_chrome: None,
            max_age_firefox: None,
            warnings: vec![Warning {
                code: "note",
                message: "a \"quoted\" & <tagged> \u{1} note".into(),
            }],
            hypothesis: None,
        },
        shape,
        instance: None,
        redirects: Vec::new(),
    }
}

#[test]
fn table_fits_80_columns() {
    let results = vec![
        result(false, "acao-missing", true),
        result(true, "ok", true),
    ];
    let t = render_table(&results, true);
    for line in t.lines() {
        assert!(line.chars().count() <= WIDTH, "{line}");
    }
    assert!(t.contains("FAIL"));
    assert!(t.ends_with("2 checks, 1 failed\n"));
}

#[test]
fn long_urls_give_way_before_the_origin() {
    for (url, origin, want) in [
        (
            "https://api.example/a",
            "https://app.example",
            "FAIL  PUT auth+json https://api.example/a <- https://app.example",
        ),
        (
            "https://contoso-api-westeurope-prod.azurewebsites.net/api/v2/orders/{id}/items",
            "https://contoso-portal.azurewebsites.net",
            "FAIL  PUT auth+json con…net/api/…/{id}/items <- contoso-portal.azurewebsites.net",
        ),
        (
            "https://contoso-api-westeurope-prod.azurewebsites.net/api/orders/{id}",
            "https://contoso-customer-portal-westeurope-prod.azurewebsites.net",
            "FAIL  PUT auth+json contos…es.net/api/…/{id} <- contoso-customer…urewebsites.net",
        ),
    ] {
        let line = head_line("FAIL", "PUT auth+json", url, origin);
        assert!(text::width(&line) <= WIDTH, "{line}");
        assert_eq!(line, want);
    }
}

#[test]
fn junit_escapes_and_counts() {
    let results = vec![
        result(false, "acao-missing", true),
        result(true, "ok", true),
    ];
    let x = render_junit(&results, true);
    assert!(x.contains("tests=\"2\" failures=\"1\""));
    assert!(x.contains("classname=\"https://api.example/a?x=1&amp;y=&lt;2&gt;\""));
    assert!(x.contains("&quot;quoted&quot; &amp; &lt;tagged&gt; \u{FFFD} note"));
    assert!(x.contains("<failure message=\"acao-missing\""));
    assert!(!x.contains('\u{1}'));
}

#[test]
fn exit_codes() {
    let fail_noncritical = result(false, "acao-missing", false);
    let pass = result(true, "ok", true);
    assert_eq!(exit_code(std::slice::from_ref(&pass), false), 0);
    assert_eq!(
        exit_code(&[pass.clone(), fail_noncritical.clone()], false),
        0
    );
    assert_eq!(exit_code(&[fail_noncritical], true), 1);
}

#[test]
fn flags_shape_the_settings() {
    let base = CheckArgs {
        url: vec!["https://api.example/x".into()],
        origin: vec!["https://app.example".into()],
        ..CheckArgs::default()
    };
    let s = settings_from(&base, None).unwrap().0;
    assert_eq!(s.targets()[0].shape, RequestShape::spa_default());

    let get = CheckArgs {
        method: Some("delete".into()),
        ..base.clone()
    };
    let t = settings_from(&get, None).unwrap().0.targets();
    assert_eq!(t[0].shape.method, "DELETE");
    assert!(t[0].shape.headers.is_empty());

    let hdr = CheckArgs {
        header: vec!["X-Api-Version: 2".into()],
        credentials: Some(CredentialsArg::Omit),
        ..base.clone()
    };
    let t = settings_from(&hdr, None).unwrap().0.targets();
    assert_eq!(t[0].shape.method, "GET");
    assert_eq!(t[0].shape.credentials, Credentials::Omit);

    assert!(settings_from(&CheckArgs::default(), None).is_err());
    // A trailing slash is read as the origin meant, with a note; a path is refused.
    let slashed = CheckArgs {
        origin: vec!["https://app.example/".into()],
        ..base.clone()
    };
    let (s, notes) = settings_from(&slashed, None).unwrap();
    assert_eq!(s.origins, ["https://app.example"]);
    assert_eq!(notes.len(), 1, "{notes:?}");
    let bad = CheckArgs {
        origin: vec!["https://app.example/app".into()],
        ..base.clone()
    };
    assert!(settings_from(&bad, None).is_err());
    let bad_timeout = CheckArgs {
        timeout: Some("soon".into()),
        ..base
    };
    assert!(settings_from(&bad_timeout, None).is_err());
}
