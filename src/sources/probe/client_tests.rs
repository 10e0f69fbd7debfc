use super::*;
use crate::cors::Credentials;

#[test]
fn running_out_of_descriptors_is_corstops_failure_not_the_servers() {
    let err = std::io::Error::from_raw_os_error(24);
    let t = classify_chain(&err, false);
    assert_eq!(t.kind, TransportKind::Local);
    assert!(
        t.message
            .starts_with("corstop ran out of its own resources"),
        "{}",
        t.message
    );
    let v = cors::judge_transport_error(
        "https://app.example",
        "https://api.example/x",
        &RequestShape::spa_default(),
        &t,
    );
    assert_eq!(v.code, "not-judged");
    assert_eq!(v.chrome_message, None);
    assert_eq!(v.firefox_message, None);
}

#[test]
fn preflight_never_carries_credentials() {
    let shape = RequestShape::spa_default();
    let h = preflight_headers("https://app.example", "https://api.example/x", &shape);
    assert!(h.iter().all(|(n, _)| {
        !n.eq_ignore_ascii_case("authorization") && !n.eq_ignore_ascii_case("cookie")
    }));
    let get = |name: &str| h.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    assert_eq!(get("Access-Control-Request-Method"), Some("PUT"));
    assert_eq!(
        get("Access-Control-Request-Headers"),
        Some("authorization,content-type")
    );
    assert_eq!(get("Origin"), Some("https://app.example"));
    assert_eq!(get("Sec-Fetch-Mode"), Some("cors"));
    assert_eq!(get("Accept"), Some("*/*"));

    let plain = RequestShape {
        name: "delete".into(),
        method: "DELETE".into(),
        headers: vec![],
        credentials: Credentials::Omit,
    };
    let h = preflight_headers("https://app.example", "https://api.example/x", &plain);
    assert!(!h.iter().any(|(n, _)| n == "Access-Control-Request-Headers"));
}

#[test]
fn token_fills_authorization_and_is_redacted() {
    let shape = RequestShape {
        name: "x".into(),
        method: "GET".into(),
        headers: vec![
            ("Authorization".into(), "Bearer placeholder".into()),
            ("Cookie".into(), "a=b".into()),
        ],
        credentials: Credentials::Include,
    };
    let token = Token::new("eyJhbGciOi.secret.sig").unwrap();
    assert_eq!(format!("{token:?} {token}"), "Token([redacted]) [redacted]");
    let (method, h) = actual_request(
        "https://app.example",
        "https://api.example/x",
        &shape,
        Some(&token),
    );
    assert_eq!(method, "GET");
    let auth = |h: &[(String, String)]| {
        h.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(auth(&h).as_deref(), Some("Bearer eyJhbGciOi.secret.sig"));
    assert!(!h.iter().any(|(n, _)| n == "Cookie"));
    let kept = redacted_request("GET", "https://api.example/x", &h);
    assert_eq!(auth(&kept.headers).as_deref(), Some("Bearer [redacted]"));
    assert!(!format!("{kept:?}").contains("secret"));
    assert_eq!(Token::new("Basic abc").unwrap().header_value(), "Basic abc");
    assert!(Token::new("  \n").is_none());
}

/// An error with a message and an optional cause, like the layers reqwest wraps.
#[derive(Debug)]
struct Layer(&'static str, Option<Box<dyn StdError + 'static>>);

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl StdError for Layer {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.1.as_deref()
    }
}

fn wrapped(inner: Box<dyn StdError + 'static>) -> Layer {
    Layer(
        "error sending request for url (https://api.example/x)",
        Some(Box::new(Layer("client error (Connect)", Some(inner)))),
    )
}

#[test]
fn error_chains_are_classified() {
    use std::io::{Error as IoError, ErrorKind};
    let cases: Vec<(Layer, bool, TransportKind)> = vec![
        (
            wrapped(Box::new(IoError::from(ErrorKind::ConnectionRefused))),
            false,
            TransportKind::Refused,
        ),
        (
            wrapped(Box::new(Layer(
                "dns error",
                Some(Box::new(IoError::other(
                    "failed to lookup address information: Name or service not known",
                ))),
            ))),
            false,
            TransportKind::Dns,
        ),
        (
            wrapped(Box::new(IoError::new(
                ErrorKind::InvalidData,
                "invalid peer certificate: UnknownIssuer",
            ))),
            false,
            TransportKind::Tls,
        ),
        (
            wrapped(Box::new(IoError::from(ErrorKind::TimedOut))),
            false,
            TransportKind::Timeout,
        ),
        (
            wrapped(Box::new(Layer("operation timed out", None))),
            true,
            TransportKind::Timeout,
        ),
        (
            wrapped(Box::new(Layer("something odd", None))),
            false,
            TransportKind::Other,
        ),
    ];
    for (err, timed_out, want) in cases {
        let got = classify_chain(&err, timed_out);
        assert_eq!(got.kind, want, "{}", got.message);
        assert!(
            got.message.starts_with("error sending request"),
            "{}",
            got.message
        );
    }
}

#[test]
fn error_messages_are_redacted() {
    let err = Layer(
        "rejected Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
        None,
    );
    let got = classify_chain(&err, false);
    assert!(!got.message.contains("c2ln"), "{}", got.message);
}

#[test]
fn kept_responses_are_bounded_but_cors_headers_stay_whole() {
    let mut headers = vec![("access-control-allow-headers".to_string(), "x".repeat(5000))];
    for i in 0..100 {
        headers.push((format!("x-filler-{i}"), "y".repeat(3000)));
    }
    headers.push(("vary".to_string(), "Origin".to_string()));
    let kept = bounded_for_keeping(RawResponse {
        status: 204,
        headers,
        elapsed_ms: 1,
    });
    assert_eq!(kept.headers[0].1.len(), 5000);
    assert_eq!(kept.first("vary"), Some("Origin"));
    let other: usize = kept
        .headers
        .iter()
        .filter(|(n, _)| n.starts_with("x-filler"))
        .map(|(n, v)| n.len() + v.len())
        .sum();
    assert!(other <= MAX_KEPT_OTHER, "{other}");
    assert!(kept.headers[1].1.ends_with("bytes not kept]"));
}

#[test]
fn isomorphic_decoding_keeps_every_byte() {
    assert_eq!(isomorphic(b"a\xe9"), "a\u{e9}");
}
