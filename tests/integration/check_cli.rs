//! `corstop check` as a user runs it: the real binary against real loopback servers.

use crate::common;

use assert_cmd::Command;
use common::*;

fn corstop() -> Command {
    let mut c = Command::cargo_bin("corstop").expect("binary");
    c.env_remove("CORSTOP_CONFIG")
        .timeout(std::time::Duration::from_secs(60));
    c
}

fn json(out: &[u8]) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_slice(out).expect("stdout is JSON");
    v.as_array().expect("a JSON array").clone()
}

#[test]
fn passing_check_exits_0_with_json() {
    let rt = runtime();
    let server = rt.block_on(split_server(good_preflight(), "200 OK"));
    let url = server.url("/api/orders/1");
    let out = corstop()
        .args([
            "check", "--url", &url, "--origin", ORIGIN, "--format", "json",
        ])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checks = json(&out.stdout);
    assert_eq!(checks.len(), 1);
    let c = &checks[0];
    assert_eq!(c["url"], url.as_str());
    assert_eq!(c["origin"], ORIGIN);
    assert_eq!(c["method"], "PUT");
    assert_eq!(c["credentials"], "same-origin");
    assert_eq!(c["preflight_sent"], true);
    assert_eq!(c["allowed"], true);
    assert_eq!(c["code"], "ok");
    assert_eq!(c["stage"], "none");
    assert_eq!(c["preflight_status"], 204);
    assert!(c["actual_status"].is_null());
    let sent = c["request_headers"].as_array().expect("request headers");
    assert!(
        sent.iter()
            .any(|h| h[0] == "Access-Control-Request-Method" && h[1] == "PUT")
    );
    assert!(!sent.iter().any(|h| {
        h[0].as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case("authorization"))
    }));
}

#[test]
fn failing_check_exits_1_and_keeps_duplicate_headers() {
    let rt = runtime();
    let mut h = good_preflight();
    h.push(("Access-Control-Allow-Origin", ORIGIN));
    let server = rt.block_on(split_server(h, "200 OK"));
    let url = server.url("/api/orders/1");
    let out = corstop()
        .args([
            "check", "--url", &url, "--origin", ORIGIN, "--format", "json",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let checks = json(&out.stdout);
    let c = &checks[0];
    assert_eq!(c["allowed"], false);
    assert_eq!(c["code"], "acao-multiple");
    assert_eq!(c["stage"], "preflight");
    assert_eq!(c["hypothesis"], "H4");
    let msg = c["chrome_message"].as_str().expect("chrome message");
    assert!(msg.contains("contains multiple values"), "{msg}");
    let acao: Vec<&serde_json::Value> = c["response_headers"]
        .as_array()
        .expect("response headers")
        .iter()
        .filter(|h| h[0] == "access-control-allow-origin")
        .collect();
    assert_eq!(acao.len(), 2, "both lines kept");
}

#[test]
fn method_flag_and_headers_shape_the_preflight() {
    let rt = runtime();
    let server = rt.block_on(split_server(good_preflight(), "200 OK"));
    let url = server.url("/api/orders/1");
    let out = corstop()
        .args([
            "check",
            "--url",
            &url,
            "--origin",
            ORIGIN,
            "--method",
            "DELETE",
            "-H",
            "X-Api-Version: 2",
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let checks = json(&out.stdout);
    assert_eq!(checks[0]["method"], "DELETE");
    assert_eq!(checks[0]["code"], "method-not-allowed");
    let seen = server.requests();
    assert_eq!(
        seen[0].header("access-control-request-method"),
        Some("DELETE")
    );
    assert_eq!(
        seen[0].header("access-control-request-headers"),
        Some("x-api-version")
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = corstop()
        .args(["check", "--origin", ORIGIN, "--format", "json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--url"));

    // A URL with a path is not an origin; the error names the flag and the origin meant.
    let out = corstop()
        .args([
            "check",
            "--url",
            "http://127.0.0.1:9/x",
            "--origin",
            "https://app.example/app",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--origin: 'https://app.example/app' has a path")
            && stderr.contains("here 'https://app.example'"),
        "{stderr}"
    );

    // Out-of-range flags are named as flags, not as configuration keys.
    let out = corstop()
        .args(["check", "--url", "http://127.0.0.1:9/x", "--origin", ORIGIN])
        .args(["--repeat", "50"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--repeat must be between 1 and 20"),
        "{stderr}"
    );
    for (flag, value) in [
        ("--timeout", "soon"),
        ("--credentials", "maybe"),
        ("--format", "xml"),
    ] {
        let out = corstop()
            .args(["check", "--url", "http://127.0.0.1:9/x", "--origin", ORIGIN])
            .args([flag, value])
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}: {stderr}");
        assert!(stderr.contains(flag), "{flag}: {stderr}");
    }
}

#[test]
fn table_fits_80_columns() {
    let rt = runtime();
    let server = rt.block_on(split_server_full(
        vec![("WWW-Authenticate", "Bearer")],
        "401 Unauthorized",
        vec![],
        "200 OK",
    ));
    let url = server.url("/api/orders/1");
    let out = corstop()
        .args(["check", "--url", &url, "--origin", ORIGIN])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("FAIL"), "{text}");
    assert!(text.contains("1 checks, 1 failed"), "{text}");
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line}");
    }
}

#[test]
fn junit_is_well_formed() {
    let rt = runtime();
    let bad = rt.block_on(split_server_full(vec![], "404 Not Found", vec![], "200 OK"));
    let good = rt.block_on(split_server(good_preflight(), "200 OK"));
    let bad_url = bad.url("/api/orders/1?a=1&b=<2>");
    let good_url = good.url("/api/orders/1");
    let out = corstop()
        .args([
            "check", "--url", &bad_url, "--url", &good_url, "--origin", ORIGIN, "--format", "junit",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let xml = String::from_utf8(out.stdout).expect("utf-8");
    check_well_formed(&xml);
    assert!(
        xml.contains("<testsuite name=\"corstop check\" tests=\"2\" failures=\"1\""),
        "{xml}"
    );
    assert!(xml.contains("<failure message=\"acao-missing\""), "{xml}");
    assert!(xml.contains("a=1&amp;b=&lt;2&gt;"), "{xml}");
}

/// A strict-enough XML 1.0 well-formedness check: balanced tags, quoted attributes, only the
/// predefined entities, no stray `<` or `&`.
fn check_well_formed(xml: &str) {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .expect("XML declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body;
    let mut roots = 0;
    while let Some(lt) = rest.find('<') {
        check_text(&rest[..lt]);
        assert!(
            !stack.is_empty() || rest[..lt].trim().is_empty(),
            "text outside root"
        );
        let gt = rest[lt..].find('>').expect("unclosed tag") + lt;
        let tag = &rest[lt + 1..gt];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name),
                "mismatched close {name}"
            );
        } else {
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name: String = tag.chars().take_while(|c| !c.is_whitespace()).collect();
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "bad name {name}"
            );
            check_attributes(&tag[name.len()..]);
            if stack.is_empty() {
                roots += 1;
            }
            if !self_closing {
                stack.push(name);
            }
        }
        rest = &rest[gt + 1..];
    }
    check_text(rest);
    assert!(rest.trim().is_empty(), "trailing text");
    assert!(stack.is_empty(), "unclosed {stack:?}");
    assert_eq!(roots, 1, "exactly one root element");
}

fn check_text(t: &str) {
    let mut rest = t;
    while let Some(amp) = rest.find('&') {
        let after = &rest[amp..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                .iter()
                .any(|e| after.starts_with(e)),
            "bad entity in {t:?}"
        );
        rest = &rest[amp + 1..];
    }
    assert!(!t.contains('>') || !t.contains('<'));
    assert!(
        t.chars()
            .all(|c| c == '\t' || c == '\n' || c == '\r' || c >= ' '),
        "control character"
    );
}

fn check_attributes(mut a: &str) {
    loop {
        a = a.trim_start();
        if a.is_empty() {
            return;
        }
        let eq = a.find('=').expect("attribute without value");
        let name = a[..eq].trim();
        assert!(
            !name.is_empty() && !name.contains(char::is_whitespace),
            "bad attribute {name}"
        );
        let v = &a[eq + 1..];
        assert!(v.starts_with('"'), "unquoted attribute {name}");
        let end = v[1..].find('"').expect("unterminated attribute") + 1;
        let value = &v[1..end];
        assert!(!value.contains('<'), "'<' in attribute");
        check_text(value);
        a = &v[end + 1..];
    }
}

#[test]
fn security_findings_fail_the_check() {
    let rt = runtime();
    let server = rt.block_on(raw_server(|req, _| {
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
                ("Vary", "Origin"),
            ],
        )
    }));
    let url = server.url("/api/orders/1");
    let out = corstop()
        .args([
            "check",
            "--url",
            &url,
            "--origin",
            ORIGIN,
            "--security",
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let checks = json(&out.stdout);
    assert_eq!(checks.len(), 9, "the check and eight lookalike origins");
    let arbitrary = checks
        .iter()
        .find(|c| c["shape"] == "security:arbitrary")
        .expect("arbitrary origin");
    assert_eq!(arbitrary["severity"], "critical");
    assert_eq!(arbitrary["origin"], "https://corstop-probe.example");
}

/// A redirect of the actual request is followed as the browser follows it: every hop is
/// shown, each answer judged, and a hop to another origin sends `Origin: null`.
#[test]
fn check_follows_redirects_and_shows_every_hop() {
    let rt = runtime();
    let server = rt.block_on(raw_server(|req, _| {
        let origin = req.header("origin").unwrap_or("").to_string();
        let cors = [
            ("Access-Control-Allow-Origin", origin.as_str()),
            ("Vary", "Origin"),
        ];
        let port = req
            .header("host")
            .and_then(|h| h.rsplit(':').next())
            .unwrap_or("0")
            .to_string();
        match req.path.as_str() {
            "/start" => {
                let mut h = cors.to_vec();
                h.push(("Location", "/final"));
                response("302 Found", &h)
            }
            "/final" => response("200 OK", &cors),
            "/to-login" => {
                let login = format!("http://localhost:{port}/login");
                let mut h = cors.to_vec();
                h.push(("Location", login.as_str()));
                response("302 Found", &h)
            }
            // A login page knows nothing of CORS.
            _ => response("200 OK", &[]),
        }
    }));

    let url = server.url("/start");
    let out = corstop()
        .args(["check", "--url", &url, "--origin", ORIGIN, "-X", "GET"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let final_url = server.url("/final");
    assert!(text.contains("ok (actual 302 -> 200)"), "{text}");
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(&format!(
            "hop 1: GET {final_url} (Origin: {ORIGIN}), answered 200"
        )),
        "{text}"
    );

    let url = server.url("/to-login");
    let out = corstop()
        .args([
            "check", "--url", &url, "--origin", ORIGIN, "-X", "GET", "--format", "json",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let checks = json(&out.stdout);
    let c = &checks[0];
    assert_eq!(c["allowed"], false, "{c}");
    assert_eq!(c["code"], "actual-acao-missing", "{c}");
    let hops = c["redirects"].as_array().expect("redirects");
    assert_eq!(hops.len(), 1, "{c}");
    assert_eq!(hops[0]["origin"], "null");
    assert_eq!(hops[0]["status"], 200);
    let port = server.addr.port();
    assert_eq!(
        c["chrome_message"],
        format!(
            "Access to fetch at 'http://localhost:{port}/login' (redirected from '{url}') from \
             origin '{ORIGIN}' has been blocked by CORS policy: No 'Access-Control-Allow-Origin' \
             header is present on the requested resource."
        )
        .as_str()
    );
}
