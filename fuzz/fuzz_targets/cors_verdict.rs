#![no_main]
//! The CORS verdict on arbitrary raw response headers: the first byte picks the shape and the
//! status, the rest is header lines (`Name: value`) for the preflight, then, after an empty
//! line, for the actual response.

use corstop::cors::{Credentials, RawResponse, RequestShape, judge};

fn response(status: u16, text: &str) -> RawResponse {
    RawResponse {
        status,
        headers: text
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        elapsed_ms: 1,
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let (pre, act) = text.split_once("\n\n").unwrap_or((&text, ""));
    let statuses = [200u16, 204, 301, 302, 307, 401, 403, 404, 500];
    let status = statuses[(pick as usize) % statuses.len()];
    let shape = RequestShape {
        credentials: [Credentials::Include, Credentials::Omit, Credentials::SameOrigin]
            [(pick as usize / 16) % 3],
        ..RequestShape::spa_default()
    };
    let v = judge(
        "https://app.example",
        "https://api.example/x",
        &shape,
        Some(&response(status, pre)),
        (!act.is_empty()).then(|| response(200, act)).as_ref(),
    );
    assert!(corstop::cors::CODES.contains(&v.code), "{}", v.code);
    assert_eq!(v.allowed, v.code == "ok");
});
