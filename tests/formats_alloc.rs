//! The replay path must not allocate per line: parsers borrow from the line. A counting
//! allocator (per thread, so parallel tests do not disturb each other) checks it. It is a
//! binary of its own: a global allocator counts every test in its process.
#![allow(unsafe_code)] // a GlobalAlloc is unsafe to implement; it only forwards to System.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use corstop::sources::event::{AuthRecord, HttpRecord, Sink};
use corstop::sources::formats::{self, FormatOptions, JsonFieldMap};

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every method forwards to the system allocator with the caller's arguments; the
// counter is a thread-local that allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: the caller's contract for `alloc` is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc`/`realloc` above, that is from System, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: as for `dealloc`; `new_size` is the caller's, checked by its contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(std::cell::Cell::get)
}

/// Adds up what it sees without keeping anything.
#[derive(Default)]
struct Tally {
    http: u64,
    status_sum: u64,
    with_origin: u64,
}

impl Sink for Tally {
    fn http(&mut self, rec: &HttpRecord<'_>) {
        self.http += 1;
        self.status_sum += rec.status as u64;
        self.with_origin += rec.origin.is_some() as u64;
    }
    fn auth(&mut self, _rec: &AuthRecord<'_>) {}
}

#[test]
fn common_path_does_not_allocate() {
    let opts = FormatOptions {
        nginx_format: Some(
            r#"$remote_addr - [$time_local] "$request" $status "$http_origin" $request_time"#
                .into(),
        ),
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
    let cases: &[(&str, Option<&str>, &str)] = &[
        (
            "appservice-http",
            None,
            "2026-04-04T10:31:02Z OPTIONS /api/orders 401 38",
        ),
        (
            "combined",
            None,
            r#"203.0.113.7 - - [04/Apr/2026:10:31:02 +0000] "OPTIONS /api/orders HTTP/1.1" 204 0 "https://app.contoso.com/x" "Mozilla/5.0" "https://app.contoso.com" "https://app.contoso.com" 0.004"#,
        ),
        (
            "ingress-nginx",
            None,
            r#"192.168.49.1 - - [04/Apr/2026:10:31:02 +0000] "OPTIONS /api/orders HTTP/1.1" 401 21 "https://app.contoso.com/orders" "Mozilla/5.0" 398 0.004 [default-orders-api-80] [] 10.244.0.17:8080 21 0.004 401 2b4e7c8a1f6e4d3c9a8b7c6d5e4f3a2b"#,
        ),
        (
            "w3c",
            Some(
                "#Fields: date time s-sitename cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken",
            ),
            "2026-04-04 10:31:02 CONTOSO-API OPTIONS /api/orders - 443 - 203.0.113.7 Mozilla/5.0 - https://app.contoso.com/orders contoso-api.azurewebsites.net 401 0 0 245 812 38",
        ),
        (
            "envoy",
            None,
            r#"[2026-04-04T10:31:02.123Z] "GET /api/orders HTTP/1.1" 200 - 0 1234 5 4 "-" "curl/8" "req-id" "api.example.com" "10.0.0.1:8080" "https://app.contoso.com""#,
        ),
        (
            "nginx",
            None,
            r#"203.0.113.7 - [04/Apr/2026:10:31:02 +0000] "OPTIONS /api/orders HTTP/1.1" 401 "https://app.contoso.com" 0.002"#,
        ),
        (
            "caddy",
            None,
            r#"{"level":"info","ts":1775298662.123,"logger":"http.log.access","request":{"remote_ip":"203.0.113.7","method":"OPTIONS","host":"api.contoso.com","uri":"/api/orders","headers":{"Origin":["https://app.contoso.com"]}},"duration":0.0008,"status":204,"resp_headers":{"Access-Control-Allow-Origin":["https://app.contoso.com"]}}"#,
        ),
        (
            "traefik",
            None,
            r#"{"ClientHost":"203.0.113.7","DownstreamStatus":401,"Duration":4123456,"RequestHost":"api.contoso.com","RequestMethod":"OPTIONS","RequestPath":"/api/orders","StartUTC":"2026-04-04T10:31:02.123Z","request_Origin":"https://app.contoso.com"}"#,
        ),
        (
            "azure-json",
            None,
            r#"{"time":"2026-04-04T10:31:02Z","category":"AppServiceHTTPLogs","properties":{"CsMethod":"OPTIONS","CsUriStem":"/api/orders","ScStatus":"401","TimeTaken":38,"Referer":"https://app.contoso.com/x","CsHost":"h","ComputerName":"RD1"}}"#,
        ),
        (
            "json",
            None,
            r#"{"timestamp":"2026-04-04T10:31:02Z","level":"info","http":{"method":"OPTIONS","path":"/api/orders","status":"401","duration_ms":3.6,"headers":{"origin":"https://app.contoso.com","user-agent":"Mozilla/5.0"}},"pod":"orders-7f9c"}"#,
        ),
    ];
    for (fmt, header, line) in cases {
        let mut p = formats::parser(fmt, &opts).expect("parser");
        let mut sink = Tally::default();
        if let Some(h) = header {
            p.feed(h.as_bytes(), &mut sink).expect("header");
        }
        // Warm up once (lazy statics, first-use buffers), then count.
        p.feed(line.as_bytes(), &mut sink).expect(fmt);
        let before = allocs();
        for _ in 0..100 {
            p.feed(line.as_bytes(), &mut sink).expect(fmt);
        }
        let used = allocs() - before;
        assert_eq!(used, 0, "{fmt} allocated {used} times for 100 lines");
        assert_eq!(sink.http, 101, "{fmt}");
        // Every case but the App Service text line carries an origin (logged or derived).
        let want_origin = if *fmt == "appservice-http" { 0 } else { 101 };
        assert_eq!(sink.with_origin, want_origin, "{fmt}");
    }
}
