#![no_main]
//! The configuration loader on arbitrary text: a clear error or a configuration, never a
//! panic.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = corstop::app::config::parse(text, std::path::Path::new("fuzz.toml"));
    }
});
