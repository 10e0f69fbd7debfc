#![no_main]
//! The `w3c` parser on arbitrary bytes: never panics, never loops, whatever the input.

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::feed_format("w3c", &common::options(), data);
});
