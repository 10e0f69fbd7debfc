//! Every format parser against its fixture file, format detection, and bad input.

use std::borrow::Cow;

use corstop::sources::event::{AuthClass, HttpRecord, Method, VecSink};
use corstop::sources::formats::{
    self, Fed, FormatError, FormatOptions, JsonFieldMap, LogParser, ParseError,
};

/// 2026-04-04T10:31:02Z
const T0: i64 = 1_775_298_662_000;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/logs/{name}.log",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

struct Run {
    sink: VecSink,
    fed: Vec<Result<Fed, ParseError>>,
}

impl Run {
    fn errors(&self) -> Vec<&ParseError> {
        self.fed.iter().filter_map(|r| r.as_ref().err()).collect()
    }
}

fn run_with(format: &str, opts: &FormatOptions, input: &[u8]) -> Run {
    let mut p = formats::parser(format, opts).expect("parser");
    assert_eq!(p.name(), format);
    let mut sink = VecSink::default();
    let mut fed: Vec<Result<Fed, ParseError>> = input
        .split(|b| *b == b'\n')
        .map(|l| p.feed(l, &mut sink))
        .collect();
    fed.push(p.finish(&mut sink));
    Run { sink, fed }
}

fn run(format: &str) -> Run {
    run_with(format, &FormatOptions::default(), &fixture(format))
}

/// The record fields a test compares, in one tuple for readable tables.
#[allow(clippy::type_complexity)]
fn view(
    r: &HttpRecord<'_>,
) -> (
    i64,
    Method,
    String,
    u16,
    Option<u32>,
    Option<String>,
    bool,
    Option<String>,
) {
    (
        r.time - T0,
        r.method,
        r.path.to_string(),
        r.status,
        r.latency_ms,
        r.origin.as_deref().map(str::to_string),
        r.origin_derived,
        r.acao.as_deref().map(str::to_string),
    )
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn appservice_http_fixture() {
    let r = run("appservice-http");
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    let got: Vec<_> = r.sink.http.iter().map(view).collect();
    assert_eq!(
        got,
        vec![
            (
                0,
                Method::Options,
                "/api/orders".into(),
                401,
                Some(38),
                None,
                false,
                None
            ),
            (
                250,
                Method::Get,
                "/api/orders/8812?expand=lines".into(),
                200,
                Some(17),
                None,
                false,
                None
            ),
            (
                1000,
                Method::Post,
                "/api/orders".into(),
                401,
                Some(4),
                None,
                false,
                None
            ),
            (
                2000,
                Method::Options,
                "/api/orders".into(),
                204,
                Some(2),
                None,
                false,
                None
            ),
        ]
    );
}

#[test]
fn appservice_auth_fixture() {
    let r = run("appservice-auth");
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    let got: Vec<_> = r
        .sink
        .auth
        .iter()
        .map(|a| (a.time - T0, a.operation.to_string(), a.class, a.status))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, "ValidateToken".into(), Some(AuthClass::Expired), None),
            (
                1000,
                "ValidateToken".into(),
                Some(AuthClass::Audience),
                None
            ),
            (2000, "ValidateToken".into(), None, None),
            (3000, "Challenge".into(), Some(AuthClass::Other), Some(401)),
        ]
    );
    // The exception block's lines belong to the audience event, not to separate events.
    assert!(
        r.sink.auth[1]
            .message
            .contains("End of inner exception stack trace")
    );
    assert!(r.fed.contains(&Ok(Fed::Buffered)));
}

#[test]
fn azure_json_fixture() {
    let r = run("azure-json");
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    let got: Vec<_> = r.sink.http.iter().map(view).collect();
    assert_eq!(
        got,
        vec![
            (
                0,
                Method::Options,
                "/api/orders".into(),
                401,
                Some(38),
                s("https://app.contoso.com"),
                true,
                None
            ),
            (
                3000,
                Method::Get,
                "/api/orders/42".into(),
                200,
                Some(17),
                None,
                false,
                None
            ),
            // Beside a category whose properties are a plain string, which is skipped.
            (
                5000,
                Method::Options,
                "/api/orders".into(),
                204,
                Some(1),
                None,
                false,
                None
            ),
        ]
    );
    let first = &r.sink.http[0];
    assert_eq!(first.host.as_deref(), Some("contoso-api.azurewebsites.net"));
    assert_eq!(first.instance.as_deref(), Some("RD0003FF1A2B3C"));
    assert_eq!(first.client.as_deref(), Some("203.0.113.7"));
    assert_eq!(r.sink.auth.len(), 1);
    let a = &r.sink.auth[0];
    assert_eq!(
        (a.time - T0, a.class, a.status),
        (2000, Some(AuthClass::Expired), Some(401))
    );
    assert_eq!(a.operation, "ValidateToken");
    // The pretty-printed envelope spans lines: buffered, then one record when it closes.
    assert!(r.fed.iter().filter(|f| **f == Ok(Fed::Buffered)).count() > 10);
}

#[test]
fn w3c_fixture() {
    let r = run("w3c");
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    let got: Vec<_> = r.sink.http.iter().map(view).collect();
    assert_eq!(
        got,
        vec![
            (
                0,
                Method::Options,
                "/api/orders".into(),
                401,
                Some(38),
                s("https://app.contoso.com"),
                true,
                None
            ),
            (
                1000,
                Method::Get,
                "/api/orders/8812".into(),
                200,
                Some(12),
                None,
                false,
                None
            ),
            // The second #Fields logs Origin and ACAO: taken as logged, never derived.
            (
                2000,
                Method::Options,
                "/api/orders".into(),
                204,
                Some(3),
                s("https://app.contoso.com"),
                false,
                s("https://app.contoso.com,+https://app.contoso.com")
            ),
            (
                3000,
                Method::Get,
                "/health".into(),
                200,
                Some(1),
                None,
                false,
                s("-")
            ),
        ]
    );
    assert_eq!(
        r.sink.http[0].host.as_deref(),
        Some("contoso-api.azurewebsites.net")
    );
    assert_eq!(
        r.sink.http[2].acao_seen(),
        corstop::sources::event::AcaoSeen::Multiple
    );
    assert_eq!(
        r.sink.http[3].acao_seen(),
        corstop::sources::event::AcaoSeen::Missing
    );
}

#[test]
fn w3c_default_layout_and_column_errors() {
    let opts = FormatOptions::default();
    // 19 columns without a header: the App Service default set.
    let line = b"2026-04-04 10:31:02 SITE GET /a - 443 - 1.2.3.4 UA - https://x.example/p host 200 0 0 1 2 7";
    let r = run_with("w3c", &opts, line);
    assert_eq!(r.sink.http.len(), 1);
    assert_eq!(r.sink.http[0].origin.as_deref(), Some("https://x.example"));
    // Other counts without a header: an error that says why.
    let r = run_with("w3c", &opts, b"2026-04-04 10:31:02 GET /a 200");
    assert!(
        r.errors()[0].reason.contains("no #Fields"),
        "{:?}",
        r.errors()
    );
    // A data line with a column too few for its header.
    let r = run_with(
        "w3c",
        &opts,
        b"#Fields: date time cs-method cs-uri-stem sc-status\n2026-04-04 10:31:02 GET 200",
    );
    assert!(r.errors()[0].reason.contains("columns"), "{:?}", r.errors());
    // A header without the status column.
    let r = run_with(
        "w3c",
        &opts,
        b"#Fields: date time cs-method cs-uri-stem\n2026-04-04 10:31:02 GET /a",
    );
    assert!(
        r.errors()[0].reason.contains("sc-status"),
        "{:?}",
        r.errors()
    );
}

#[test]
fn w3c_columns_are_found_wherever_the_fields_put_them() {
    let opts = FormatOptions::default();
    // Doubled, leading and trailing spaces; a user agent long enough to push the later
    // columns past 64 and 128 bytes; bad bytes in a column no record uses.
    let mut ua = format!("Mozilla/5.0+{}+", "x".repeat(90)).into_bytes();
    ua.push(0xff);
    let mut data = b"#Fields: date time cs-method cs-uri-stem cs(User-Agent) c-ip cs-host sc-status time-taken\n".to_vec();
    data.extend_from_slice(b" 2026-04-04  10:31:02 GET /api/a ");
    data.extend_from_slice(&ua);
    data.extend_from_slice(b"  1.2.3.4 api.example 200 12  \n");
    data.extend_from_slice(b"2026-04-04 10:31:02 GET /api/b - - h\xffst 204 7\n");
    // Same second again (the parsed value is reused), then a fraction (read the long way).
    data.extend_from_slice(b"2026-04-04 10:31:02 GET /api/c - 5.6.7.8 - 200 -\n");
    data.extend_from_slice(b"2026-04-04 10:31:02.250 GET /api/d - - - 200 1\n");
    data.extend_from_slice(b"2026-04-04 10:61:02 GET /api/e - - - 200 1\n");
    data.extend_from_slice(b"2026-04-04 10:31:03 GET /api/f\xff - - - 200 1\n");
    let ua_line = data.split(|b| *b == b'\n').nth(1).unwrap().to_vec();
    assert!(ua_line.len() > 128, "{}", ua_line.len());
    let r = run_with("w3c", &opts, &data);
    let reasons: Vec<&str> = r.errors().iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons, ["bad date/time", "cs-uri-stem is not UTF-8"]);
    let got: Vec<_> = r
        .sink
        .http
        .iter()
        .map(|h| {
            (
                h.time - T0,
                h.path.to_string(),
                h.status,
                h.latency_ms,
                h.client.as_deref().map(str::to_string),
                h.host.as_deref().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                0,
                "/api/a".into(),
                200,
                Some(12),
                s("1.2.3.4"),
                s("api.example")
            ),
            (0, "/api/b".into(), 204, Some(7), None, None),
            (0, "/api/c".into(), 200, None, s("5.6.7.8"), None),
            (250, "/api/d".into(), 200, Some(1), None, None),
        ]
    );
    // A line whose length is a multiple of 64: its last field ends at the end of the line.
    for pad in 0..70 {
        let line = format!(
            "#Fields: date time cs-method cs-uri-stem sc-status time-taken\n2026-04-04 10:31:02 GET /{} 200 {}",
            "p".repeat(pad),
            pad
        );
        let r = run_with("w3c", &opts, line.as_bytes());
        assert!(r.errors().is_empty(), "{pad}: {:?}", r.errors());
        assert_eq!(r.sink.http[0].latency_ms, Some(pad as u32), "{pad}");
    }
}

#[test]
fn w3c_repeated_and_reordered_columns() {
    let opts = FormatOptions::default();
    let instance = |fields: &str, values: &str| {
        let text = format!(
            "#Fields: date time cs-method cs-uri-stem sc-status {fields}\n2026-04-04 10:31:02 GET / 200 {values}"
        );
        let r = run_with("w3c", &opts, text.as_bytes());
        assert!(r.errors().is_empty(), "{fields}: {:?}", r.errors());
        r.sink.http[0].instance.as_deref().map(str::to_string)
    };
    // s-computername wins; a blank one hides an s-ip logged before it, not one after it.
    assert_eq!(instance("s-ip s-computername", "10.0.0.1 RD1"), s("RD1"));
    assert_eq!(instance("s-computername s-ip", "RD1 10.0.0.1"), s("RD1"));
    assert_eq!(instance("s-ip s-computername", "10.0.0.1 -"), None);
    assert_eq!(instance("s-computername s-ip", "- 10.0.0.1"), s("10.0.0.1"));
    assert_eq!(instance("s-ip", "10.0.0.1"), s("10.0.0.1"));
    assert_eq!(instance("s-computername", "-"), None);

    // A column named twice: the later one counts, and a bad status in either is an error.
    let text = b"#Fields: date time cs-method cs-uri-stem sc-status cs-uri-stem sc-status\n\
        2026-04-04 10:31:02 GET /first 200 /second 204\n\
        2026-04-04 10:31:02 GET /first abc /second 204\n";
    let r = run_with("w3c", &opts, text);
    assert_eq!(r.sink.http.len(), 1);
    assert_eq!(
        (r.sink.http[0].path.as_ref(), r.sink.http[0].status),
        ("/second", 204)
    );
    assert_eq!(r.errors()[0].reason, "bad status");

    // Too many columns is an error whatever the header says.
    let many = vec!["x"; 49].join(" ");
    let r = run_with("w3c", &opts, many.as_bytes());
    assert_eq!(r.errors()[0].reason, "too many columns");
}

#[test]
fn kudu_fixture() {
    let r = run("kudu");
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    let got: Vec<_> = r.sink.http.iter().map(view).collect();
    assert_eq!(
        got,
        vec![(
            0,
            Method::Options,
            "/api/orders".into(),
            401,
            Some(38),
            s("https://app.contoso.com"),
            true,
            None
        )]
    );
    assert_eq!(r.sink.auth.len(), 1);
    assert_eq!(r.sink.auth[0].class, Some(AuthClass::Expired));
    assert_eq!(r.sink.auth[0].time - T0, 2500);
    let skipped = r.fed.iter().filter(|f| **f == Ok(Fed::Skipped)).count();
    // Banner x3, #Fields, app log line, stack frame, heartbeat, trailing empty, finish.
    assert_eq!(skipped, 9);
}

#[test]
fn combined_fixture() {
    let r = run("combined");
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    let got: Vec<_> = r.sink.http.iter().map(view).collect();
    assert_eq!(
        got,
        vec![
            (
                0,
                Method::Options,
                "/api/orders".into(),
                401,
                None,
                s("https://app.contoso.com"),
                true,
                None
            ),
            (
                1000,
                Method::Get,
                "/api/orders/8812?expand=lines".into(),
                200,
                None,
                None,
                false,
                None
            ),
            (
                2000,
                Method::Options,
                "/api/orders".into(),
                204,
                Some(12),
                s("https://app.contoso.com"),
                false,
                s("https://app.contoso.com, https://app.contoso.com")
            ),
            (
                3000,
                Method::Post,
                "/api/orders".into(),
                401,
                Some(3),
                None,
                false,
                s("-")
            ),
            (
                4000,
                Method::Get,
                "/index.html".into(),
                304,
                None,
                None,
                false,
                None
            ),
        ]
    );
    assert_eq!(r.sink.http[0].client.as_deref(), Some("203.0.113.7"));
}

#[test]
fn ingress_nginx_fixture() {
    let r = run("ingress-nginx");
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    let got: Vec<_> = r.sink.http.iter().map(view).collect();
    assert_eq!(
        got,
        vec![
            (
                0,
                Method::Options,
                "/api/orders".into(),
                401,
                Some(4),
                s("https://app.contoso.com"),
                true,
                None
            ),
            (
                1000,
                Method::Get,
                "/api/orders/42".into(),
                200,
                Some(20),
                None,
                false,
                None
            ),
        ]
    );
    let inst: Vec<_> = r.sink.http.iter().map(|h| h.instance.clone()).collect();
    assert_eq!(
        inst,
        vec![
            Some(Cow::Borrowed("10.244.0.17:8080")),
            Some(Cow::Borrowed("10.244.0.18:8080"))
        ]
    );
}

#[test]
fn nginx_custom_format_fixture() {
    let opts = FormatOptions {
        nginx_format: Some(
            r#"$remote_addr - [$time_local] "$request" $status "$http_origin""#.into(),
        ),
        json_fields: None,
    };
    let r = run_with("nginx", &opts, &fixture("nginx"));
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    let got: Vec<_> = r.sink.http.iter().map(view).collect();
    assert_eq!(
        got,
        vec![
            (
                0,
                Method::Options,
                "/api/orders".into(),
                401,
                None,
                s("https://app.contoso.com"),
                false,
                None
            ),
            (
                1000,
                Method::Get,
                "/api/orders/7".into(),
                200,
                None,
                None,
                false,
                None
            ),
        ]
    );
    // A line of another shape does not match the compiled format.
    let r = run_with("nginx", &opts, b"hello world");
    assert_eq!(r.errors().len(), 1);
}

#[test]
fn nginx_format_errors_are_clear() {
    let none = formats::parser("nginx", &FormatOptions::default()).err();
    assert_eq!(none, Some(FormatError::MissingNginxFormat));
    assert!(none.unwrap().to_string().contains("--nginx-format"));
    let bad = FormatOptions {
        nginx_format: Some("$remote_addr $request".into()),
        json_fields: None,
    };
    let e = formats::parser("nginx", &bad).err().unwrap();
    assert!(matches!(e, FormatError::BadNginxFormat(_)), "{e}");
    let adjacent = FormatOptions {
        nginx_format: Some("[$time_local] $request_method$uri $status".into()),
        json_fields: None,
    };
    let e = formats::parser("nginx", &adjacent).err().unwrap();
    assert!(e.to_string().contains("without separating text"), "{e}");
    let unknown = formats::parser("syslog", &FormatOptions::default())
        .err()
        .unwrap();
    assert!(
        unknown.to_string().contains("known: appservice-http"),
        "{unknown}"
    );
}

#[test]
fn caddy_fixture() {
    let r = run("caddy");
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    let got: Vec<_> = r.sink.http.iter().map(view).collect();
    assert_eq!(
        got,
        vec![
            (
                123,
                Method::Options,
                "/api/orders".into(),
                204,
                Some(1),
                s("https://app.contoso.com"),
                false,
                s("https://app.contoso.com, https://app.contoso.com")
            ),
            // No Origin header logged: derived from the Referer; no ACAO in the response.
            (
                1500,
                Method::Get,
                "/api/orders/42?x=1".into(),
                401,
                Some(15),
                s("https://app.contoso.com"),
                true,
                s("-")
            ),
        ]
    );
    assert_eq!(
        r.sink.http[0].acao_seen(),
        corstop::sources::event::AcaoSeen::Multiple
    );
    assert_eq!(r.sink.http[0].host.as_deref(), Some("api.contoso.com"));
    assert_eq!(r.sink.http[0].client.as_deref(), Some("203.0.113.7"));
}

#[test]
fn traefik_fixture() {
    let r = run("traefik");
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    let got: Vec<_> = r.sink.http.iter().map(view).collect();
    assert_eq!(
        got,
        vec![
            (
                123,
                Method::Options,
                "/api/orders".into(),
                401,
                Some(4),
                s("https://app.contoso.com"),
                false,
                s("")
            ),
            (
                1000,
                Method::Get,
                "/api/orders/42".into(),
                200,
                Some(15),
                s("https://app.contoso.com"),
                true,
                None
            ),
        ]
    );
    assert_eq!(
        r.sink.http[0].acao_seen(),
        corstop::sources::event::AcaoSeen::Missing
    );
    assert_eq!(r.sink.http[0].instance.as_deref(), Some("10.0.0.5:8080"));
}

#[test]
fn envoy_fixture() {
    let r = run("envoy");
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    let got: Vec<_> = r.sink.http.iter().map(view).collect();
    assert_eq!(
        got,
        vec![
            (
                123,
                Method::Get,
                "/api/orders".into(),
                200,
                Some(5),
                None,
                false,
                None
            ),
            (
                1000,
                Method::Get,
                "/api/orders/42".into(),
                401,
                Some(1),
                s("https://app.contoso.com"),
                false,
                None
            ),
            (
                2000,
                Method::Post,
                "/api/orders".into(),
                403,
                Some(1),
                s("https://app.contoso.com"),
                false,
                None
            ),
            (
                3000,
                Method::Options,
                "/api/orders".into(),
                200,
                Some(2),
                None,
                false,
                None
            ),
        ]
    );
    assert_eq!(r.sink.http[0].instance.as_deref(), Some("10.0.0.1:8080"));
    assert_eq!(r.sink.http[0].host.as_deref(), Some("api.example.com"));
    let auth: Vec<_> = r
        .sink
        .auth
        .iter()
        .map(|a| (a.time - T0, a.class, a.status))
        .collect();
    assert_eq!(
        auth,
        vec![
            (1000, Some(AuthClass::Expired), Some(401)),
            (2000, Some(AuthClass::Audience), Some(403)),
        ]
    );
    assert_eq!(r.fed[1], Ok(Fed::Records(2)));
}

#[test]
fn envoy_jwt_details_classes() {
    let cases = [
        ("Jwt_is_missing", AuthClass::MalformedOrMissing),
        ("Jwt_not_yet_valid", AuthClass::NotYetValid),
        ("Jwt_issuer_is_not_configured", AuthClass::Issuer),
        (
            "Jwks_doesn't_have_key_to_match_kid_or_alg_from_Jwt",
            AuthClass::KeyNotFound,
        ),
        ("Jwt_verification_fails", AuthClass::BadSignature),
        ("Something_new", AuthClass::Other),
    ];
    for (detail, want) in cases {
        let line = format!(
            r#"[2026-04-04T10:31:02.000Z] "GET /a HTTP/1.1" 401 - 0 0 1 - "-" "ua" "id" "h" "-" "-" jwt_authn_access_denied{{{detail}}}"#
        );
        let r = run_with("envoy", &FormatOptions::default(), line.as_bytes());
        assert_eq!(r.sink.auth.len(), 1, "{detail}");
        assert_eq!(r.sink.auth[0].class, Some(want), "{detail}");
    }
}

#[test]
fn generic_json_fixture() {
    let opts = FormatOptions {
        nginx_format: None,
        json_fields: Some(JsonFieldMap {
            time: "timestamp".into(),
            method: "http.method".into(),
            path: "http.path".into(),
            status: "http.status".into(),
            latency_ms: Some("http.duration_ms".into()),
            origin: Some("http.headers.origin".into()),
            instance: Some("pod".into()),
            ..Default::default()
        }),
    };
    let r = run_with("json", &opts, &fixture("json"));
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    let got: Vec<_> = r.sink.http.iter().map(view).collect();
    assert_eq!(
        got,
        vec![
            (
                0,
                Method::Options,
                "/api/orders".into(),
                401,
                Some(4),
                s("https://app.contoso.com"),
                false,
                None
            ),
            (
                1000,
                Method::Get,
                "/api/orders/1".into(),
                200,
                None,
                None,
                false,
                None
            ),
        ]
    );
    assert_eq!(r.sink.http[0].instance.as_deref(), Some("orders-7f9c"));
    let missing = formats::parser("json", &FormatOptions::default()).err();
    assert_eq!(missing, Some(FormatError::MissingJsonFields));
}

#[test]
fn status_out_of_range_is_an_error() {
    let opts = FormatOptions::default();
    for (fmt, line) in [
        ("appservice-http", "2026-04-04T10:31:02Z GET /a 99 1"),
        (
            "combined",
            r#"1.2.3.4 - - [04/Apr/2026:10:31:02 +0000] "GET / HTTP/1.1" 1000 0 "-" "-""#,
        ),
        (
            "caddy",
            r#"{"ts":1775298662,"request":{"method":"GET","uri":"/"},"status":42}"#,
        ),
        (
            "traefik",
            r#"{"RequestMethod":"GET","RequestPath":"/","DownstreamStatus":0,"StartUTC":"2026-04-04T10:31:02Z"}"#,
        ),
    ] {
        let r = run_with(fmt, &opts, line.as_bytes());
        assert_eq!(r.errors().len(), 1, "{fmt}");
        assert!(r.sink.http.is_empty(), "{fmt}");
    }
}

fn all_parsers() -> Vec<Box<dyn LogParser>> {
    let opts = FormatOptions {
        nginx_format: Some(r#"$remote_addr - [$time_local] "$request" $status"#.into()),
        json_fields: Some(JsonFieldMap {
            time: "t".into(),
            method: "m".into(),
            path: "p".into(),
            status: "s".into(),
            ..Default::default()
        }),
    };
    formats::FORMAT_NAMES
        .iter()
        .map(|n| formats::parser(n, &opts).expect(n))
        .collect()
}

/// Feeds a bad line to every parser: each must return a ParseError (no panic, no record).
fn assert_rejected_everywhere(what: &str, line: &[u8]) {
    for mut p in all_parsers() {
        let mut sink = VecSink::default();
        let fed = p.feed(line, &mut sink);
        let fin = p.finish(&mut sink);
        assert!(
            fed.is_err() || fin.is_err(),
            "{}: {what} gave {fed:?} / {fin:?}",
            p.name()
        );
        assert!(
            sink.http.is_empty() && sink.auth.is_empty(),
            "{}: {what}",
            p.name()
        );
    }
}

#[test]
fn binary_garbage_is_rejected() {
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let garbage: Vec<u8> = garbage.into_iter().filter(|b| *b != b'\n').collect();
    assert_rejected_everywhere("binary garbage", &garbage);
}

#[test]
fn ten_megabyte_line_is_rejected() {
    let mut line = b"2026-04-04T10:31:02Z GET /".to_vec();
    line.resize(10 << 20, b'a');
    assert_rejected_everywhere("10 MB line", &line);
    let mut json = br#"{"records":[{"time":"2026-04-04T10:31:02Z","x":""#.to_vec();
    json.resize(10 << 20, b'a');
    json.extend_from_slice(br#""}]}"#);
    assert_rejected_everywhere("10 MB JSON", &json);
}

#[test]
fn invalid_utf8_in_used_fields_is_rejected() {
    let cases: &[(&str, &[u8])] = &[
        ("appservice-http", b"2026-04-04T10:31:02Z GET /caf\xe9 200 1"),
        (
            "combined",
            b"1.2.3.4 - - [04/Apr/2026:10:31:02 +0000] \"GET /caf\xe9 HTTP/1.1\" 200 0 \"-\" \"-\"",
        ),
        ("envoy", b"[2026-04-04T10:31:02.000Z] \"GET /\xff HTTP/1.1\" 200 - 0 0 1 - \"-\" \"ua\" \"id\" \"h\" \"-\""),
        ("w3c", b"2026-04-04 10:31:02 SITE GET /\xff - 443 - 1.2.3.4 UA - - host 200 0 0 1 2 7"),
        ("caddy", b"{\"ts\":1775298662,\"request\":{\"method\":\"GET\",\"uri\":\"/\xff\"},\"status\":200}"),
        ("appservice-auth", b"2026-04-04T10:31:02Z Valid\xffate IDX10223"),
    ];
    for (fmt, line) in cases {
        let r = run_with(fmt, &FormatOptions::default(), line);
        assert!(!r.errors().is_empty(), "{fmt}");
        assert!(r.sink.http.is_empty(), "{fmt}");
    }
    // Bad bytes in a field that is not used (the user agent) are harmless.
    let r = run_with(
        "combined",
        &FormatOptions::default(),
        b"1.2.3.4 - - [04/Apr/2026:10:31:02 +0000] \"GET / HTTP/1.1\" 200 0 \"-\" \"caf\xe9\"",
    );
    assert!(r.errors().is_empty());
    assert_eq!(r.sink.http.len(), 1);
}

#[test]
fn truncated_json_is_rejected() {
    for fmt in ["caddy", "traefik"] {
        let r = run_with(
            fmt,
            &FormatOptions::default(),
            br#"{"ts":1775298662,"request":{"method":"GE"#,
        );
        assert_eq!(r.errors().len(), 1, "{fmt}");
        assert!(
            r.errors()[0].reason.contains("truncated"),
            "{fmt}: {:?}",
            r.errors()
        );
    }
    // An Azure document cut off at the end of input.
    let r = run_with(
        "azure-json",
        &FormatOptions::default(),
        b"{\"records\":[{\"time\":\"2026-04-04T10:31:02Z\",",
    );
    assert_eq!(r.errors().len(), 1);
    assert!(r.errors()[0].reason.contains("truncated"));
    // Cut off, then followed by a complete document: the complete one still counts.
    let input = concat!(
        "{\"records\":[{\"time\":\"2026-04-04T10:31:02Z\",\n",
        "{\"time\":\"2026-04-04T10:31:04Z\",\"category\":\"AppServiceHTTPLogs\",\"properties\":{\"CsMethod\":\"GET\",\"CsUriStem\":\"/a\",\"ScStatus\":200}}\n"
    );
    let r = run_with("azure-json", &FormatOptions::default(), input.as_bytes());
    assert_eq!(r.errors().len(), 1);
    assert_eq!(r.sink.http.len(), 1);
}

#[test]
fn missing_or_unknown_columns_are_rejected() {
    let opts = FormatOptions::default();
    let cases: &[(&str, &str)] = &[
        ("appservice-http", "2026-04-04T10:31:02Z GET /a"),
        ("appservice-http", "2026-04-04T10:31:02Z GET /a 200 1 extra"),
        ("combined", "1.2.3.4 - - [04/Apr/2026:10:31:02 +0000]"),
        (
            "ingress-nginx",
            r#"1.2.3.4 - - [04/Apr/2026:10:31:02 +0000] "GET / HTTP/1.1" 200 0 "-" "ua""#,
        ),
        ("envoy", r#"[2026-04-04T10:31:02.000Z] "GET / HTTP/1.1""#),
        (
            "caddy",
            r#"{"ts":1775298662,"request":{"uri":"/"},"status":200}"#,
        ),
        (
            "traefik",
            r#"{"RequestMethod":"GET","DownstreamStatus":200}"#,
        ),
        (
            "azure-json",
            r#"{"time":"2026-04-04T10:31:02Z","category":"AppServiceHTTPLogs","properties":{"CsMethod":"GET"}}"#,
        ),
    ];
    for (fmt, line) in cases {
        let r = run_with(fmt, &opts, line.as_bytes());
        assert_eq!(r.errors().len(), 1, "{fmt}: {line}");
        assert!(r.sink.http.is_empty(), "{fmt}");
    }
}

#[test]
fn pretty_printed_json_is_bounded() {
    let mut input = String::from("{\n  \"records\": [\n");
    let rec = "    {\"time\":\"2026-04-04T10:31:02Z\",\"category\":\"AppServiceHTTPLogs\",\"properties\":{\"CsMethod\":\"GET\",\"CsUriStem\":\"/a\",\"ScStatus\":200}},\n";
    while input.len() < 5 << 20 {
        input.push_str(rec);
    }
    input.push_str("    {}\n  ]\n}\n");
    input.push_str(
        "{\"time\":\"2026-04-04T10:31:04Z\",\"category\":\"AppServiceHTTPLogs\",\"properties\":{\"CsMethod\":\"GET\",\"CsUriStem\":\"/b\",\"ScStatus\":200}}\n",
    );
    let r = run_with("azure-json", &FormatOptions::default(), input.as_bytes());
    assert_eq!(r.errors().len(), 1);
    assert!(r.errors()[0].reason.contains("4 MB"));
    // The oversized document is dropped as a whole; the next document parses normally.
    assert_eq!(r.sink.http.len(), 1);
    assert_eq!(r.sink.http[0].path, "/b");
}

#[test]
fn detection_table() {
    let cases: &[(&str, Option<&str>)] = &[
        ("appservice-http", Some("appservice-http")),
        ("appservice-auth", Some("appservice-auth")),
        ("azure-json", Some("azure-json")),
        ("azure-json-array", Some("azure-json")),
        ("azure-json-array-line", Some("azure-json")),
        ("w3c", Some("w3c")),
        ("kudu", Some("kudu")),
        ("combined", Some("combined")),
        ("ingress-nginx", Some("ingress-nginx")),
        ("caddy", Some("caddy")),
        ("traefik", Some("traefik")),
        ("envoy", Some("envoy")),
        ("json", Some("json")),
        // A custom nginx format is combined-like enough only when it is combined.
        ("nginx", None),
    ];
    for (file, want) in cases {
        let data = fixture(file);
        let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
        assert_eq!(formats::detect(&lines), *want, "{file}");
    }
    let inline: &[(&str, Option<&str>)] = &[
        ("", None),
        ("2026-04-04T10:31:02Z GET /a 200 1", Some("appservice-http")),
        (
            "2026-04-04T10:31:02Z ValidateToken IDX10223: expired",
            Some("appservice-auth"),
        ),
        (
            "2026-04-04T10:31:02  PID[1] Information hello",
            Some("kudu"),
        ),
        (
            "Connected!\nNo new trace in the past 1 min(s).",
            Some("kudu"),
        ),
        (
            "2026-04-04 10:31:02 SITE GET /a - 443 - 1.2.3.4 UA - - host 200 0 0 1 2 7",
            Some("w3c"),
        ),
        // App Service text as query tools print it, a space for the `T`.
        ("2026-04-04 10:31:02Z GET /a 200 1", Some("appservice-http")),
        (
            "2026-04-04 10:31:02.123 OPTIONS /a 401 3",
            Some("appservice-http"),
        ),
        (
            "2026-04-04 10:31:02.1234567Z ValidateToken IDX10223: expired",
            Some("appservice-auth"),
        ),
        ("{\n  \"records\": [", Some("azure-json")),
        // A pretty-printed array whose first records are of a category without events.
        (
            concat!(
                "[\n  {\n    \"time\": \"2026-04-04T10:31:02Z\",\n",
                "    \"resourceId\": \"/SUBSCRIPTIONS/X/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.WEB/SITES/API\",\n",
                "    \"category\": \"AppServiceConsoleLogs\",\n"
            ),
            Some("azure-json"),
        ),
        (
            "[{\"time\":\"2026-04-04T10:31:02Z\",\"category\":\"AppServiceHTTPLogs\"}]",
            Some("azure-json"),
        ),
        // Other JSON that names a resource is not taken for an Azure export.
        (r#"{"resourceId":"42","msg":"x"}"#, Some("json")),
        (
            r#"{"level":"info","ts":1775298662.1,"request":{"method":"GET"},"status":200}"#,
            Some("caddy"),
        ),
        (
            r#"{"RequestMethod":"GET","DownstreamStatus":200}"#,
            Some("traefik"),
        ),
        (r#"{"a":1}"#, Some("json")),
        (
            r#"{"level":"info","ts":1775298600.1,"logger":"admin","msg":"admin endpoint started"}"#,
            Some("caddy"),
        ),
        // Mostly combined lines with a stray one: the majority wins.
        (
            concat!(
                "garbage line\n",
                r#"1.2.3.4 - - [04/Apr/2026:10:31:02 +0000] "GET / HTTP/1.1" 200 1 "-" "ua""#,
                "\n",
                r#"1.2.3.4 - - [04/Apr/2026:10:31:02 +0000] "GET / HTTP/1.1" 200 1 "-" "ua""#,
            ),
            Some("combined"),
        ),
        ("\u{1}\u{2}binary", None),
    ];
    for (text, want) in inline {
        let lines: Vec<&[u8]> = text.as_bytes().split(|b| *b == b'\n').collect();
        assert_eq!(formats::detect(&lines), *want, "{text}");
    }
}

#[test]
fn every_format_name_builds_a_parser() {
    assert_eq!(all_parsers().len(), formats::FORMAT_NAMES.len());
    assert_eq!(formats::FORMAT_NAMES.len(), 12);
}

/// Mutated fixture lines (flipped bytes, cuts, stray quotes and brackets) through every
/// parser and the detector: errors are fine, panics are not.
#[test]
fn mutated_fixture_lines_never_panic() {
    let mut rng = fastrand::Rng::with_seed(0xC0FFEE);
    let specials = [
        b'"', b'[', b']', b'{', b'}', b'\\', b' ', b'#', b'\xff', b'-', b',', b':',
    ];
    let files = [
        "appservice-http",
        "appservice-auth",
        "azure-json",
        "azure-json-array",
        "azure-json-array-line",
        "w3c",
        "kudu",
        "combined",
        "ingress-nginx",
        "nginx",
        "caddy",
        "traefik",
        "envoy",
        "json",
    ];
    let mut parsers = all_parsers();
    let mut sink = VecSink::default();
    let mut fed = 0u32;
    for file in files {
        let data = fixture(file);
        for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            for _ in 0..40 {
                let mut m = line.to_vec();
                for _ in 0..rng.usize(1..4) {
                    if m.is_empty() {
                        break;
                    }
                    let i = rng.usize(..m.len());
                    match rng.u8(..4) {
                        0 => m[i] = rng.u8(..),
                        1 => m.truncate(i),
                        2 => m.insert(i, specials[rng.usize(..specials.len())]),
                        _ => {
                            m.remove(i);
                        }
                    }
                }
                for p in &mut parsers {
                    let _ = p.feed(&m, &mut sink);
                    fed += 1;
                }
                let _ = formats::detect(&[&m, line]);
            }
        }
        for p in &mut parsers {
            let _ = p.finish(&mut sink);
        }
        sink.http.clear();
        sink.auth.clear();
    }
    assert!(fed > 10_000);
}

#[test]
fn byte_order_mark_is_ignored() {
    let mut data = b"\xEF\xBB\xBF".to_vec();
    data.extend_from_slice(&fixture("w3c"));
    let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    assert_eq!(formats::detect(&lines), Some("w3c"));
    let r = run_with("w3c", &FormatOptions::default(), &data);
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    assert_eq!(r.sink.http.len(), 4);
}

#[test]
fn nginx_main_format_forwarded_for_is_not_an_origin() {
    let opts = FormatOptions::default();
    let lines = concat!(
        "203.0.113.7 - - [04/Apr/2026:10:31:02 +0000] \"GET /a HTTP/1.1\" 200 5 \"https://app.contoso.com/p\" \"ua\" \"-\"\n",
        "203.0.113.7 - - [04/Apr/2026:10:31:02 +0000] \"GET /a HTTP/1.1\" 200 5 \"https://app.contoso.com/p\" \"ua\" \"198.51.100.1, 10.0.0.2\"\n",
        "203.0.113.7 - - [04/Apr/2026:10:31:02 +0000] \"GET /a HTTP/1.1\" 200 5 \"-\" \"ua\" \"198.51.100.1\" \"https://spa.example\" \"-\" 0.010\n",
        "203.0.113.7 - - [04/Apr/2026:10:31:02 +0000] \"GET /a HTTP/1.1\" 200 5 \"https://app.contoso.com/p\" \"ua\" \"https://spa.example\"\n",
    );
    let r = run_with("combined", &opts, lines.as_bytes());
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    let got: Vec<_> = r
        .sink
        .http
        .iter()
        .map(|h| {
            (
                h.origin.as_deref().map(str::to_string),
                h.origin_derived,
                h.acao.as_deref().map(str::to_string),
                h.latency_ms,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (s("https://app.contoso.com"), true, None, None),
            (s("https://app.contoso.com"), true, None, None),
            (s("https://spa.example"), false, s("-"), Some(10)),
            (s("https://spa.example"), false, None, None),
        ]
    );
}

/// The expected fields of the first HTTP record of a line, or part of the error's reason.
type Want<'w> = Result<(Method, &'w str, u16, Option<&'w str>, Option<&'w str>), &'w str>;

/// The JSON formats share one key-skipping decoder: edge cases through each of them.
#[test]
fn json_decoder_edge_cases() {
    let cases: &[(&str, &[u8], Want)] = &[
        // Escapes in used fields are resolved; escaped slashes are common in JSON encoders.
        (
            "caddy",
            br#"{"ts":1775298662,"request":{"method":"GET","uri":"/a\"b\u00e9\\","headers":{"Origin":["https:\/\/app.example"]}},"status":200}"#,
            Ok((Method::Get, "/a\"bé\\", 200, Some("https://app.example"), None)),
        ),
        // Unused values nest objects and arrays, and hold brackets, braces and quotes.
        (
            "caddy",
            br#"{"msg":"{[\"]}","tls":{"x":[{"y":"}]"},[[],{}]],"z":null},"ts":1775298662,"request":{"tls":{"a":["]}"]},"method":"POST","uri":"/o","headers":{"X":[["{"]],"Origin":["https://a.example"]}},"status":201,"resp_headers":{"Vary":["Origin"],"Access-Control-Allow-Origin":["https://a.example"]}}"#,
            Ok((Method::Post, "/o", 201, Some("https://a.example"), Some("https://a.example"))),
        ),
        // Numbers as strings, Go duration text, a textual timestamp, spaces between tokens.
        (
            "caddy",
            br#"{ "ts" : "2026-04-04T10:31:02Z" , "request" : { "method" : "OPTIONS" , "uri" : "/p" } , "status" : "204" , "duration" : "1.5ms" }"#,
            Ok((Method::Options, "/p", 204, None, None)),
        ),
        // Caddy logs canonical header names; matching stays exact as it always was.
        (
            "caddy",
            br#"{"ts":1775298662,"request":{"method":"GET","uri":"/","headers":{"origin":["https://a.example"]}},"status":200}"#,
            Ok((Method::Get, "/", 200, None, None)),
        ),
        ("caddy", br#"{"ts":1775298662,"request":{"method":"GET"},"status":200}"#, Err("missing request.uri")),
        ("caddy", br#"{"ts":1775298662,"request":{"method":"GET","uri":"/"},"status":"abc"}"#, Err("status is not a number")),
        ("caddy", br#"{"ts":1775298662,"request":{"method":{},"uri":"/"},"status":200}"#, Err("request.method is not a string")),
        ("caddy", br#"{"ts":1775298662,"request":{"method":"GET","uri":"/"},"status":200,"status":201}"#, Err("duplicate field status")),
        ("caddy", br#"{"ts":1775298662,"request":{"method":"GET","uri":"/"},"status":200,"x":[1,}"#, Err("invalid JSON")),
        ("caddy", br#"{"ts":1775298662,"request":{"method":"GET","uri":"/"},"status":200,"x":"\q"}"#, Err("invalid JSON")),
        ("caddy", br#"{"ts":1775298662,"request":{"method":"GET","uri":"/"},"status":200"#, Err("truncated")),
        ("caddy", br#"{"ts":1775298662,"request":{"method":"GET","uri":"/"},"status":200,"x":"abc"#, Err("truncated")),
        ("caddy", br#"{"ts":1775298662,"request":{"method":"GET","uri":"/"},"status":200,"x":"\u00"#, Err("truncated")),
        ("caddy", br#"{"ts":1775298662,"request":{"method":"GET","uri":"/"},"status":200,"x":{"y":[tr"#, Err("truncated")),
        ("caddy", br#"{"ts":1775298662,"request":{"method":"GET","uri":"/\ud800"},"status":200}"#, Err("surrogate")),
        // Bytes that are not UTF-8: harmless in a skipped field, an error in a used one.
        (
            "caddy",
            b"{\"ts\":1775298662,\"request\":{\"method\":\"GET\",\"uri\":\"/\",\"headers\":{\"User-Agent\":[\"caf\xe9\"]}},\"status\":200}",
            Ok((Method::Get, "/", 200, None, None)),
        ),
        ("caddy", b"{\"ts\":1775298662,\"request\":{\"method\":\"G\xffT\",\"uri\":\"/\"},\"status\":200}", Err("request.method is not UTF-8")),
        // Traefik: numbers as strings, an escaped key, nested unused values.
        (
            "traefik",
            br#"{"extra":{"a":[1,{"b":"]"}]},"Request\u004dethod":"DELETE","RequestPath":"/x","DownstreamStatus":"401","Duration":"4000000","StartUTC":"2026-04-04T10:31:02Z","request_Origin":"https://a.example","downstream_Access-Control-Allow-Origin":"-"}"#,
            Ok((Method::Delete, "/x", 401, Some("https://a.example"), Some("-"))),
        ),
        ("traefik", br#"{"RequestMethod":"GET","RequestPath":"/","DownstreamStatus":200,"StartUTC":"2026-04-04T10:31:02Z",}"#, Err("invalid JSON")),
        ("traefik", br#"{"RequestMethod":"GET","RequestPath":"/","DownstreamStatus":200,"StartUTC":"2026-04-04T10:31:02Z"} {}"#, Err("invalid JSON")),
        ("traefik", br#"{"RequestMethod":"GET","RequestPath":"/","DownstreamStatus":2e,"StartUTC":"2026-04-04T10:31:02Z"}"#, Err("invalid JSON")),
        // Azure: properties nested one level down, numbers as strings.
        (
            "azure-json",
            br#"{"time":"2026-04-04T10:31:02Z","resourceId":"/S/{x}","category":"AppServiceHTTPLogs","properties":{"UserAgent":"a \"b\" [c]","CsMethod":"PUT","CsUriStem":"/q\/r","ScStatus":"503","TimeTaken":"12"}}"#,
            Ok((Method::Put, "/q/r", 503, None, None)),
        ),
        ("azure-json", br#"{"time":"2026-04-04T10:31:02Z","category":"AppServiceHTTPLogs","properties":{"CsMethod":"PUT","CsUriStem":"/q","ScStatus":"5xx"}}"#, Err("ScStatus is not a number")),
        ("azure-json", br#"{"time":"2026-04-04T10:31:02Z","category":"AppServiceHTTPLogs","properties":{"CsMethod":"PUT","CsUriStem":"/q","ScStatus":200}"#, Err("truncated")),
    ];
    for (fmt, line, want) in cases {
        let what = format!("{fmt}: {}", String::from_utf8_lossy(line));
        let mut p = formats::parser(fmt, &FormatOptions::default()).expect("parser");
        let mut sink = VecSink::default();
        let fed = p
            .feed(line, &mut sink)
            .and_then(|f| match p.finish(&mut sink) {
                Ok(_) => Ok(f),
                Err(e) => Err(e),
            });
        match want {
            Ok((method, path, status, origin, acao)) => {
                assert_eq!(fed, Ok(Fed::Records(1)), "{what}");
                let r = &sink.http[0];
                assert_eq!(
                    (
                        r.method,
                        r.path.as_ref(),
                        r.status,
                        r.origin.as_deref(),
                        r.acao.as_deref()
                    ),
                    (*method, *path, *status, *origin, *acao),
                    "{what}"
                );
            }
            Err(reason) => {
                let e = fed.expect_err(&what);
                assert!(e.reason.contains(reason), "{what}: {}", e.reason);
                assert!(sink.http.is_empty(), "{what}");
            }
        }
    }
}

/// The expected view of the Azure array fixtures: the same records whichever way the array
/// is laid out.
fn check_azure_array(r: &Run) {
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    let got: Vec<_> = r.sink.http.iter().map(view).collect();
    assert_eq!(
        got,
        vec![
            (
                0,
                Method::Options,
                "/api/orders".into(),
                401,
                Some(38),
                s("https://app.contoso.com"),
                true,
                None
            ),
            (
                3000,
                Method::Get,
                "/api/orders/42".into(),
                200,
                Some(17),
                None,
                false,
                None
            ),
        ]
    );
    assert_eq!(r.sink.http[0].client.as_deref(), Some("203.0.113.7"));
    assert_eq!(r.sink.http[0].instance.as_deref(), Some("RD0003FF1A2B3C"));
    assert_eq!(r.sink.auth.len(), 1);
    let a = &r.sink.auth[0];
    assert_eq!(
        (a.time - T0, a.class, a.status),
        (2000, Some(AuthClass::Expired), Some(401))
    );
}

#[test]
fn azure_json_top_level_array() {
    let opts = FormatOptions::default();
    let pretty = run_with("azure-json", &opts, &fixture("azure-json-array"));
    check_azure_array(&pretty);
    // Records come out as their elements close, not when the array does.
    assert!(pretty.fed.contains(&Ok(Fed::Buffered)));
    assert!(
        pretty
            .fed
            .iter()
            .filter(|f| matches!(f, Ok(Fed::Records(1))))
            .count()
            >= 3,
        "{:?}",
        pretty.fed
    );
    let line = run_with("azure-json", &opts, &fixture("azure-json-array-line"));
    check_azure_array(&line);
    assert_eq!(line.fed[0], Ok(Fed::Records(3)));
    // With a BOM and CRLF line ends, as Windows tools write them.
    let mut crlf = b"\xEF\xBB\xBF".to_vec();
    for l in fixture("azure-json-array").split(|b| *b == b'\n') {
        crlf.extend_from_slice(l);
        crlf.extend_from_slice(b"\r\n");
    }
    check_azure_array(&run_with("azure-json", &opts, &crlf));
}

/// Rows of a Log Analytics query, as `az monitor log-analytics query` prints them: columns at
/// the top level, every value a string, the table in `Type` when the query keeps it.
#[test]
fn azure_log_analytics_rows() {
    let opts = FormatOptions::default();
    let r = run_with("azure-json", &opts, &fixture("azure-json-la-rows"));
    assert!(r.errors().is_empty(), "{:?}", r.errors());
    let got: Vec<_> = r.sink.http.iter().map(view).collect();
    assert_eq!(
        got,
        vec![
            (
                0,
                Method::Options,
                "/api/orders".into(),
                401,
                Some(38),
                s("https://app.contoso.com"),
                true,
                None
            ),
            // No `Type` column: an HTTP row by its columns. The console row is skipped.
            (
                3000,
                Method::Get,
                "/api/orders/42".into(),
                200,
                Some(17),
                None,
                false,
                None
            ),
        ]
    );
    let first = &r.sink.http[0];
    assert_eq!(first.host.as_deref(), Some("contoso-api.azurewebsites.net"));
    assert_eq!(first.instance.as_deref(), Some("RD0003FF1A2B3C"));
    assert_eq!(first.client.as_deref(), Some("203.0.113.7"));
    assert_eq!(r.sink.auth.len(), 1);
    let a = &r.sink.auth[0];
    assert_eq!(
        (a.time - T0, a.class, a.status),
        (2000, Some(AuthClass::Expired), Some(401))
    );
    assert_eq!(a.operation, "ValidateToken");

    // One row per line, as `--output jsonc` piped through `jq -c '.[]'` gives them.
    let lines = concat!(
        r#"{"TimeGenerated":"2026-04-04T10:31:02Z","Type":"AppServiceHTTPLogs","CsMethod":"GET","CsUriStem":"/a","ScStatus":"503"}"#,
        "\n",
        r#"{"TimeGenerated":"2026-04-04T10:31:02Z","CsMethod":"GET","CsMethod":"PUT","CsUriStem":"/a","ScStatus":"200"}"#,
        "\n",
        r#"{"TimeGenerated":"2026-04-04T10:31:02Z","Type":"AppServiceHTTPLogs","CsMethod":"GET","CsUriStem":"/a"}"#,
        "\n",
        r#"{"TableName":"PrimaryResult","Type":"AppServicePlatformLogs","Message":"Container started"}"#,
    );
    let r = run_with("azure-json", &opts, lines.as_bytes());
    assert_eq!(r.sink.http.len(), 1);
    assert_eq!(r.sink.http[0].status, 503);
    assert!(r.sink.auth.is_empty());
    let errors: Vec<String> = r
        .errors()
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("CsMethod"), "{errors:?}");
    assert!(errors[1].contains("ScStatus"), "{errors:?}");
}

#[test]
fn azure_json_array_edge_cases() {
    let good = |path: &str| {
        format!(
            r#"{{"time":"2026-04-04T10:31:02Z","category":"AppServiceHTTPLogs","properties":{{"CsMethod":"GET","CsUriStem":"{path}","ScStatus":200}}}}"#
        )
    };
    let (a, b) = (good("/a"), good("/b"));
    let bad = r#"{"time":"2026-04-04T10:31:02Z","category":"AppServiceHTTPLogs","properties":{"CsMethod":"GET"}}"#;
    // (input, HTTP records, failed lines)
    let cases: Vec<(String, usize, usize)> = vec![
        ("[]".into(), 0, 0),
        ("[\n]\n".into(), 0, 0),
        ("  [ ]  ".into(), 0, 0),
        // A line that yields records is not a failed line; its bad element is logged.
        (format!("[{a},{bad},{b}]"), 2, 0),
        (format!("[\n{a},\n{bad},\n{b}\n]"), 2, 1),
        (format!("[1, \"x{{\", {a}]"), 1, 0),
        ("[1]".into(), 0, 1),
        ("[[1]]".into(), 0, 1),
        // Cut inside an element: the element is lost and reported at the end of input.
        (format!("[\n{a},\n{{\"time\": \"2026"), 1, 1),
        // Cut between elements: nothing is lost.
        (format!("[\n{a},\n"), 1, 0),
        (format!("[{a} {b}]"), 2, 0),
        (format!("[{a}] trailing"), 1, 0),
        (format!("[{a},]"), 1, 0),
        (format!("[,{a}]"), 1, 0),
        ("[,]".into(), 0, 1),
        (format!("[{a}]\n{b}\n"), 2, 0),
        (format!("[\n{{\n\"time\": x\n}},\n{a}\n]"), 1, 1),
        ("[{\"a\":[}]".into(), 0, 1),
        // A new array (its file replaced) while the last one is still open, between
        // elements, inside one, or inside a pretty-printed envelope.
        (format!("[\n{a},\n[\n{b}\n]"), 2, 1),
        (format!("[\n{{\n\"time\": 1,\n[\n{b}\n]"), 1, 1),
        (format!("{{\"records\":[\n[\n{b}\n]"), 1, 1),
        // One element per line, one of them cut short: the next line starts afresh.
        (format!("[\n{},\n{b},\n{a}\n]", &a[..60]), 2, 1),
        (format!("[{a},\n  {},\n  {b}]", &a[..60]), 2, 1),
        (format!("[{{ \n{b},\n{a}\n]"), 2, 1),
        // Elements that are envelopes.
        (
            format!("[{{\"records\":[{a},{b}]}},\n{{\"records\":[]}}]"),
            2,
            0,
        ),
    ];
    for (input, http, failed) in &cases {
        let r = run_with("azure-json", &FormatOptions::default(), input.as_bytes());
        assert_eq!(
            (r.sink.http.len(), r.errors().len()),
            (*http, *failed),
            "{input}: {:?}",
            r.fed
        );
    }
}

#[test]
fn azure_json_array_is_read_element_by_element() {
    // Far more than the document cap in total: every element still counts.
    let mut input = String::from("[\n");
    let mut n = 0;
    while input.len() < 6 << 20 {
        input.push_str("  {\n    \"time\": \"2026-04-04T10:31:02Z\",\n    \"category\": \"AppServiceHTTPLogs\",\n    \"properties\": {\n      \"CsMethod\": \"GET\",\n      \"CsUriStem\": \"/a\",\n      \"ScStatus\": 200\n    }\n  },\n");
        n += 1;
    }
    // One element over the cap is dropped alone; the next one is read.
    input.push_str("  {\n    \"properties\": {\n");
    let filler = "      \"Filler\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\n";
    let big_start = input.len();
    while input.len() - big_start < 5 << 20 {
        input.push_str(filler);
    }
    input.push_str("      \"End\": 1\n    }\n  },\n");
    input.push_str("  {\"time\": \"2026-04-04T10:31:03Z\", \"category\": \"AppServiceHTTPLogs\", \"properties\": {\"CsMethod\": \"GET\", \"CsUriStem\": \"/last\", \"ScStatus\": 204}}\n]\n");
    let r = run_with("azure-json", &FormatOptions::default(), input.as_bytes());
    assert_eq!(r.errors().len(), 1, "{:?}", r.errors());
    assert!(r.errors()[0].reason.contains("4 MB"));
    assert_eq!(r.sink.http.len(), n + 1);
    assert_eq!(r.sink.http[n].path, "/last");
}
