#![no_main]
//! The `azure-json` parser on arbitrary bytes: never panics, never loops, whatever the input.

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::feed_format("azure-json", &common::options(), data);
});
