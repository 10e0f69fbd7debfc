//! Shared by the fuzz targets: feeding bytes to a parser the way the readers do, and checking
//! what came out is within the store's promises.

use corstop::sources::event::{AuthRecord, HttpRecord, Sink};
use corstop::sources::formats::{FormatOptions, JsonFieldMap, parser};
use corstop::store::{Store, StoreConfig, TimeMode};

/// Collects records and pushes them through a store, so the whole path from bytes to counters
/// is exercised.
struct StoreFeed {
    store: Store,
    source: u8,
}

impl Sink for StoreFeed {
    fn http(&mut self, rec: &HttpRecord<'_>) {
        self.store.ingest_http(self.source, rec);
    }
    fn auth(&mut self, rec: &AuthRecord<'_>) {
        self.store.ingest_auth(self.source, rec);
    }
}

#[allow(dead_code)] // not every target needs the default options
pub fn options() -> FormatOptions {
    FormatOptions {
        nginx_format: Some(
            "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \
             \"$http_referer\" \"$http_user_agent\" \"$http_origin\" $request_time"
                .into(),
        ),
        json_fields: Some(JsonFieldMap {
            time: "ts".into(),
            method: "req.method".into(),
            path: "req.path".into(),
            status: "status".into(),
            origin: Some("req.headers.origin".into()),
            ..Default::default()
        }),
    }
}

/// Feeds `data`, split into lines, to a fresh parser for `format`, then flushes it.
pub fn feed_format(format: &str, opts: &FormatOptions, data: &[u8]) {
    let mut p = parser(format, opts).expect("a known format");
    // A small window: the store's logic is the same, and each run stays cheap.
    let mut store = Store::new(
        StoreConfig {
            retention_ms: 60_000,
            ..StoreConfig::default()
        },
        TimeMode::EventTime,
    );
    let source = store.register_source("fuzz");
    let mut sink = StoreFeed { store, source };
    for line in data.split(|&b| b == b'\n') {
        let _ = p.feed(line, &mut sink);
    }
    let _ = p.finish(&mut sink);
}
