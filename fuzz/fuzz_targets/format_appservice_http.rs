#![no_main]
//! The `appservice-http` parser on arbitrary bytes: never panics, never loops, whatever the input.

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::feed_format("appservice-http", &common::options(), data);
});
