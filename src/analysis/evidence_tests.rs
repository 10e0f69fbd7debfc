use super::*;

#[test]
fn url_parts() {
    assert_eq!(
        split_url("https://api.contoso.com:8443/api/orders/7?x=1"),
        ("api.contoso.com:8443", "/api/orders/7?x=1")
    );
    assert_eq!(
        split_url("https://api.contoso.com"),
        ("api.contoso.com", "/")
    );
    assert_eq!(
        split_url("https://api.contoso.com?x"),
        ("api.contoso.com", "/")
    );
    assert_eq!(host_name("https://API.contoso.com:8443"), "api.contoso.com");
    assert_eq!(host_name("http://[::1]:8080/x"), "::1");
    assert!(is_default_domain(
        "https://contoso-api.azurewebsites.net/api"
    ));
    assert!(is_default_domain("https://app.azurestaticapps.net"));
    assert!(!is_default_domain("https://azurewebsites.net.evil.example"));
    assert!(!is_default_domain("https://app.contoso.com"));
}

fn fact(allowed: bool, stage: Stage, code: &'static str, hidden: Option<u16>) -> ProbeFact {
    ProbeFact {
        time: 0,
        url: "https://api.contoso.com/api/orders".into(),
        host: "api.contoso.com".into(),
        route: "/api/orders".into(),
        origin: "https://app.contoso.com".into(),
        shape: "PUT auth+json".into(),
        critical: false,
        allowed,
        stage,
        code,
        hypothesis: None,
        hidden_status: hidden,
        www_authenticate: None,
        chrome_message: None,
        warnings: vec![],
        instance: None,
        preflight_acao_lines: 1,
        transport: None,
    }
}

#[test]
fn implicated_hypothesis_when_the_verdict_names_none() {
    use Hypothesis::*;
    let cases = [
        (fact(true, Stage::None, "ok", None), None),
        (fact(false, Stage::Transport, "network-error", None), None),
        (
            fact(false, Stage::Preflight, "acao-multiple", Some(204)),
            Some(H4),
        ),
        (
            fact(false, Stage::Actual, "acao-multiple", Some(200)),
            Some(H4),
        ),
        (
            fact(false, Stage::Preflight, "preflight-redirect", Some(301)),
            Some(PreflightRedirect),
        ),
        (
            fact(false, Stage::Preflight, "acao-missing", Some(308)),
            Some(PreflightRedirect),
        ),
        (
            fact(false, Stage::Preflight, "acao-missing", Some(401)),
            Some(H2),
        ),
        (
            fact(false, Stage::Preflight, "preflight-not-ok", Some(403)),
            Some(H2),
        ),
        (
            fact(false, Stage::Preflight, "acao-missing", Some(405)),
            Some(OptionsNotRouted),
        ),
        (
            fact(false, Stage::Actual, "actual-acao-missing", Some(500)),
            Some(ErrorWithoutCors),
        ),
        (
            fact(false, Stage::Preflight, "acao-mismatch", Some(204)),
            Some(H1),
        ),
        (
            fact(false, Stage::Preflight, "header-not-allowed", Some(204)),
            Some(H1),
        ),
    ];
    for (f, want) in cases {
        assert_eq!(f.implicated(), want, "{} {:?}", f.code, f.hidden_status);
    }
    let mut named = fact(false, Stage::Actual, "actual-acao-missing", Some(401));
    named.hypothesis = Some(H3);
    assert_eq!(named.implicated(), Some(H3));
}

#[test]
fn status_buckets() {
    let mut s = StatusCounts::default();
    for st in [200, 204, 301, 401, 403, 404, 405, 418, 500, 503] {
        s.add(st, 1);
    }
    assert_eq!(s.total, 10);
    assert_eq!(s.s2xx, 2);
    assert_eq!(s.non_2xx(), 8);
    assert_eq!(s.auth(), 2);
    assert_eq!(s.errors(), 7);
}
