#![no_main]
//! The `combined` parser on arbitrary bytes: never panics, never loops, whatever the input.

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::feed_format("combined", &common::options(), data);
});
