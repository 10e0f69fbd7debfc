#![no_main]
//! The `nginx` parser on arbitrary bytes: never panics, never loops, whatever the input.

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::feed_format("nginx", &common::options(), data);
});
