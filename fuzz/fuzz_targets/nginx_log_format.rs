#![no_main]
//! The nginx `log_format` compiler on an arbitrary format string (the first line), then the
//! compiled parser on the remaining lines.

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (format, lines) = text.split_once('\n').unwrap_or((&text, ""));
    let opts = corstop::sources::formats::FormatOptions {
        nginx_format: Some(format.to_string()),
        json_fields: None,
    };
    if corstop::sources::formats::parser("nginx", &opts).is_ok() {
        common::feed_format("nginx", &opts, lines.as_bytes());
    }
});
