use super::*;
use crate::sources::formats::{self, FormatOptions};
use crate::store::{StoreConfig, TimeMode};

const COMBINED: &str = r#"203.0.113.7 - - [04/Apr/2026:10:31:02 +0000] "OPTIONS /api/orders HTTP/1.1" 401 0 "https://app.contoso.com/orders" "Mozilla/5.0"
203.0.113.7 - - [04/Apr/2026:10:31:03 +0000] "OPTIONS /api/orders HTTP/1.1" 401 0 "https://app.contoso.com/orders" "Mozilla/5.0"
203.0.113.7 - - [04/Apr/2026:10:31:04 +0000] "GET /api/orders/17 HTTP/1.1" 200 10 "https://app.contoso.com/orders" "Mozilla/5.0"
203.0.113.7 - - [04/Apr/2026:10:31:05 +0000] "GET /api/orders/18 HTTP/1.1" 200 10 "https://app.contoso.com/orders" "Mozilla/5.0"
203.0.113.7 - - [04/Apr/2026:10:31:06 +0000] "GET /api/orders/19 HTTP/1.1" 200 10 "https://app.contoso.com/orders" "Mozilla/5.0"
198.51.100.2 - - [04/Apr/2026:10:31:07 +0000] "OPTIONS /api/orders HTTP/1.1" 301 0 "-" "curl/8" "https://admin.contoso.com" "-" 0.001
198.51.100.2 - - [04/Apr/2026:10:31:08 +0000] "POST /api/orders HTTP/1.1" 500 0 "-" "curl/8" "https://admin.contoso.com" "https://admin.contoso.com, https://admin.contoso.com" 0.002
this line is not an access log line
"#;

const AUTH: &str =
    "2026-04-04T10:31:02Z ValidateToken IDX10223: Lifetime validation failed. The token is expired.
   at Microsoft.IdentityModel.Tokens.Validators.ValidateLifetime()
2026-04-04T10:31:03Z ValidateToken IDX10223: Lifetime validation failed.
2026-04-04T10:31:04Z ValidateToken IDX10214: Audience validation failed.
2026-04-04T10:31:05Z ValidateToken Token validated.
";

fn filled() -> Store {
    let mut store = Store::new(StoreConfig::default(), TimeMode::EventTime);
    let opts = FormatOptions::default();
    let web = store.register_source("access.log");
    store.set_source_format(web, "combined");
    let mut p = formats::parser("combined", &opts).unwrap();
    let c = feed_all(&mut store, web, p.as_mut(), COMBINED.as_bytes());
    assert_eq!(
        c,
        FeedCounts {
            lines: 8,
            records: 7,
            skipped: 0,
            errors: 1
        }
    );
    let auth = store.register_source("auth.log");
    store.set_source_format(auth, "appservice-auth");
    let mut p = formats::parser("appservice-auth", &opts).unwrap();
    feed_all(&mut store, auth, p.as_mut(), AUTH.as_bytes());
    store
}

#[test]
fn report_numbers() {
    let r = build_at(&filled(), 1_775_300_000_000);
    assert_eq!(format_rfc3339(r.generated_at), "2026-04-04T10:53:20Z");
    assert_eq!(
        r.first_event.map(format_rfc3339).as_deref(),
        Some("2026-04-04T10:31:02Z")
    );
    assert_eq!(
        r.last_event.map(format_rfc3339).as_deref(),
        Some("2026-04-04T10:31:08Z")
    );

    let web = &r.sources[0];
    assert_eq!(
        (web.lines, web.http_events, web.parse_errors, web.format),
        (8, 7, 1, Some("combined"))
    );
    assert_eq!(web.last_error.as_ref().unwrap().reason, "missing [time]");
    let auth = &r.sources[1];
    assert_eq!((auth.lines, auth.auth_events, auth.parse_errors), (5, 4, 0));

    assert_eq!(r.requests.total, 7);
    let rows: Vec<(&str, &str, u16, u64)> = r
        .requests
        .rows
        .iter()
        .map(|x| (x.route.as_str(), x.method, x.status, x.count))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("/api/orders/{id}", "GET", 200, 3),
            ("/api/orders", "OPTIONS", 401, 2),
            ("/api/orders", "OPTIONS", 301, 1),
            ("/api/orders", "POST", 500, 1),
        ]
    );

    let f = &r.failures_by_origin.rows;
    assert_eq!(f.len(), 2);
    assert_eq!(
        f[1],
        OriginFailureRow {
            origin: "https://admin.contoso.com".into(),
            origin_derived: false,
            route: "/api/orders".into(),
            requests: 2,
            failures: 1,
            options_requests: 1,
            options_failures: 1,
            acao_multiple: 1,
        }
    );
    assert_eq!(
        f[0],
        OriginFailureRow {
            origin: "https://app.contoso.com".into(),
            origin_derived: true,
            route: "/api/orders".into(),
            requests: 2,
            failures: 2,
            options_requests: 2,
            options_failures: 2,
            acao_multiple: 0,
        }
    );

    assert_eq!(r.auth_failures.total, 3);
    let get = |c: AuthClass| r.auth_failures.by_class[c as usize].count;
    assert_eq!(get(AuthClass::Expired), 2);
    assert_eq!(get(AuthClass::Audience), 1);
    assert_eq!(r.auth_failures.by_class.len(), AuthClass::COUNT);
    assert_eq!(
        r.dropped,
        Dropped {
            too_old: 0,
            future: 0
        }
    );
    assert_eq!(r.folded.totals_folded, 0);
}

#[test]
fn request_rows_are_capped_with_a_summary() {
    let mut store = Store::new(StoreConfig::default(), TimeMode::EventTime);
    let src = store.register_source("a");
    let mut text = String::new();
    // 100 routes × 6 statuses = 600 distinct rows.
    for route in 0..100 {
        for status in [200, 201, 204, 400, 401, 404] {
            let _ = writeln!(
                text,
                "2026-04-04T10:31:02Z GET /r{} {status} 1",
                char::from(b'a' + (route % 26) as u8)
                    .to_string()
                    .repeat(route / 26 + 1)
            );
        }
    }
    let mut p = formats::parser("appservice-http", &FormatOptions::default()).unwrap();
    feed_all(&mut store, src, p.as_mut(), text.as_bytes());
    let r = build_at(&store, 0);
    assert_eq!(r.requests.total, 600);
    assert_eq!(r.requests.rows.len(), MAX_REQUEST_ROWS);
    assert_eq!(r.requests.omitted_rows, 100);
    assert_eq!(r.requests.omitted_count, 100);
}

#[test]
fn reader_counts_and_bounds_lines() {
    let mut store = Store::new(StoreConfig::default(), TimeMode::EventTime);
    let src = store.register_source("a");
    let mut data = b"2026-04-04T10:31:02Z GET /a 200 1\r\n\n".to_vec();
    data.extend(std::iter::repeat_n(b'x', MAX_READ_LINE + 10));
    data.extend_from_slice(b"\n2026-04-04T10:31:03Z GET /b 401 1");
    let mut p = formats::parser("appservice-http", &FormatOptions::default()).unwrap();
    let c = feed_all(&mut store, src, p.as_mut(), &data);
    assert_eq!(
        c,
        FeedCounts {
            lines: 4,
            records: 2,
            skipped: 1,
            errors: 1
        }
    );
    let st = &store.sources()[0];
    assert_eq!((st.lines, st.parse_errors, st.skipped), (4, 1, 1));
    assert_eq!(st.bytes, data.len() as u64);
    let (sample, reason) = st.last_error.clone().unwrap();
    assert!(reason.contains("line longer than"), "{reason}");
    assert!(sample.len() < 1000);
}

#[test]
fn renderings() {
    let r = build_at(&filled(), 1_775_300_000_000);
    let table = to_table(&r);
    for line in table.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line}");
    }
    assert!(table.contains("https://app.contoso.com*"));
    assert!(table.contains("https://admin.contoso.com!"));
    assert!(table.contains("expired"));
    let json: serde_json::Value = serde_json::from_str(&to_json(&r)).unwrap();
    assert_eq!(json["requests"]["total"], 7);
    assert_eq!(json["auth_failures"]["by_class"][0]["class"], "expired");
    assert_eq!(
        json["failures_by_origin"]["rows"][0]["origin_derived"],
        true
    );
    assert_eq!(json["sources"][0]["last_error"]["reason"], "missing [time]");
    let md = to_markdown(&r);
    assert!(md.contains("| `/api/orders` | OPTIONS | 401 | 2 |"));
}
