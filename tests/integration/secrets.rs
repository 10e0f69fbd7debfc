//! Secrets never leave corstop: a distinct secret is planted in every place one can travel
//! through a probe (URL query values, the token sent, challenges, redirects, cookies, API keys,
//! a server echoing the token), and every output of `check` (table, JSON, JUnit) and the
//! probe detail view are searched for all of them.

use crate::common;

use assert_cmd::Command;
use common::*;

/// Each secret contains `PLANTED` so a leak of any of them is found by one search, and is
/// distinct so a failure names the place it leaked from.
const SECRETS: &[&str] = &[
    "PLANTEDcode1",
    "PLANTEDsig2",
    "PLANTEDkey3",
    "PLANTEDaccesstoken4",
    "PLANTEDcallbackcode5",
    "PLANTEDcookie6",
    "PLANTEDapikey7",
    "PLANTEDtoken8value",
    "PLANTEDpassword9",
];

fn hostile_headers() -> Vec<(&'static str, &'static str)> {
    vec![
        ("Access-Control-Allow-Origin", ORIGIN),
        ("Access-Control-Allow-Methods", "GET, PUT"),
        (
            "Access-Control-Allow-Headers",
            "authorization, content-type",
        ),
        (
            "WWW-Authenticate",
            "Bearer error=\"invalid_token\", access_token=\"PLANTEDaccesstoken4\"",
        ),
        (
            "Location",
            "/cb?code=PLANTEDcallbackcode5&id_token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
        ),
        ("Set-Cookie", "session=PLANTEDcookie6; Path=/; HttpOnly"),
        ("X-Api-Key", "PLANTEDapikey7"),
        ("X-Echo", "Bearer PLANTEDtoken8value"),
        ("X-Raw-Echo", "PLANTEDtoken8value"),
    ]
}

fn assert_no_secret(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} leaks {s}:\n{text}");
    }
    assert!(!text.contains("PLANTED"), "{what} leaks a secret:\n{text}");
}

#[test]
fn no_output_of_check_shows_a_planted_secret() {
    let rt = runtime();
    // The preflight passes; the actual request is answered 401 with the same hostile headers
    // and no ACAO, so the verdict's messages quote the URL too.
    let server = rt.block_on(split_server_full(
        hostile_headers(),
        "204 No Content",
        hostile_headers()[3..].to_vec(),
        "401 Unauthorized",
    ));
    let url = format!(
        "http://user:PLANTEDpassword9@{}/api/x?code=PLANTEDcode1&sig=PLANTEDsig2&key=PLANTEDkey3",
        server.addr
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("corstop.toml");
    std::fs::write(
        &config,
        format!(
            "[probe]\nactual = true\ntoken-env = \"CORSTOP_PLANTED_TOKEN\"\norigins = [\"{ORIGIN}\"]\n\n\
             [[probe.endpoint]]\nurl = \"{url}\"\ncritical = true\nallow-unsafe-actual = true\n"
        ),
    )
    .unwrap();
    for format in ["table", "json", "junit"] {
        let out = Command::cargo_bin("corstop")
            .unwrap()
            .env("CORSTOP_PLANTED_TOKEN", "PLANTEDtoken8value")
            .env("CORSTOP_LOG_FILE", dir.path().join("corstop.log"))
            .args([
                "--config",
                config.to_str().unwrap(),
                "check",
                "--format",
                format,
            ])
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{format}: {stdout}{stderr}");
        // The probe really went through: the actual request got its 401.
        assert!(stdout.contains("401"), "{format}: {stdout}");
        assert_no_secret(&format!("check --format {format}"), &stdout);
        assert_no_secret(&format!("check --format {format} (stderr)"), &stderr);
    }
    let log = std::fs::read_to_string(dir.path().join("corstop.log")).unwrap_or_default();
    assert_no_secret("the diagnostics log", &log);
}

/// The same probe through the library, as the dashboard runs it: the probe detail view's
/// every line is free of the planted secrets.
#[tokio::test]
async fn the_probe_detail_view_shows_no_planted_secret() {
    let server = split_server_full(
        hostile_headers(),
        "204 No Content",
        hostile_headers()[3..].to_vec(),
        "401 Unauthorized",
    )
    .await;
    let url = format!(
        "http://user:PLANTEDpassword9@{}/api/x?code=PLANTEDcode1&sig=PLANTEDsig2&key=PLANTEDkey3",
        server.addr
    );
    let mut s = settings(&url, ORIGIN);
    s.actual = true;
    s.endpoint[0].allow_unsafe_actual = true;
    let client = corstop::sources::probe::ProbeClient::new(&s);
    let token = corstop::sources::probe::Token::new("PLANTEDtoken8value").unwrap();
    let clock: corstop::model::time::Clock = std::sync::Arc::new(corstop::model::time::now_ms);
    let target = s.targets().remove(0);
    let r = corstop::sources::probe::probe_once(&client, &target, &clock, Some(&token)).await;
    assert_eq!(r.actual.as_ref().map(|a| a.status), Some(401), "{r:?}");
    let theme = corstop::ui::Theme::builtin("default").unwrap();
    let lines =
        corstop::ui::views::probe_detail_lines(&r, &[], &theme, corstop::ui::glyphs::glyphs(false));
    let text: String = lines
        .iter()
        .map(|l| {
            l.spans
                .iter()
                .map(|s| s.content.as_ref())
                .collect::<String>()
                + "\n"
        })
        .collect();
    assert!(text.contains("Actual response (as received)"), "{text}");
    assert_no_secret("the probe detail view", &text);
    assert_no_secret("the kept result", &format!("{r:?}"));
}
