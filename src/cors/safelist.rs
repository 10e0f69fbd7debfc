//! What a page's `fetch` actually puts on the wire, and which of it forces a preflight.
//!
//! The rules follow the Fetch standard as Chromium implements it (`services/network/public/cpp/
//! cors/cors.cc`), with the few places where Gecko differs kept apart by [`Engine`].

/// The two engines whose verdicts corstop reproduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Chromium,
    Gecko,
}

/// Fetch's "normalize a method": only these six are uppercased, case-insensitively. Anything
/// else (`patch`, `propfind`) is sent exactly as the page wrote it.
pub fn normalize_method(method: &str) -> String {
    const NORMALIZED: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
    let m = method.trim();
    NORMALIZED
        .iter()
        .find(|n| n.eq_ignore_ascii_case(m))
        .map(|n| (*n).to_string())
        .unwrap_or_else(|| m.to_string())
}

/// `GET`, `HEAD`, `POST`, compared after normalisation (so exactly, uppercase).
pub fn is_safelisted_method(normalized: &str) -> bool {
    matches!(normalized, "GET" | "HEAD" | "POST")
}

/// `CONNECT`, `TRACE`, `TRACK`: `fetch` refuses them before any request is made.
pub fn is_forbidden_method(method: &str) -> bool {
    ["CONNECT", "TRACE", "TRACK"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(method.trim()))
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// An HTTP token: non-empty, `tchar` only.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// Fetch's "CORS-unsafe request-header byte".
pub fn is_cors_unsafe_byte(b: u8) -> bool {
    (b < 0x20 && b != 0x09) || b"\"():<>?@[\\]{}\x7f".contains(&b)
}

/// Header names a page cannot set: `fetch` drops them silently, so they never reach the
/// preflight list. Chromium still refuses `User-Agent`; Gecko follows the current standard.
pub fn is_forbidden_header(engine: Engine, name: &str, value: &str) -> bool {
    const FORBIDDEN: [&str; 22] = [
        "accept-charset",
        "accept-encoding",
        "access-control-request-headers",
        "access-control-request-method",
        "access-control-request-private-network",
        "connection",
        "content-length",
        "cookie",
        "cookie2",
        "date",
        "dnt",
        "expect",
        "host",
        "keep-alive",
        "origin",
        "referer",
        "set-cookie",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
    ];
    let lower = name.trim().to_ascii_lowercase();
    if FORBIDDEN.contains(&lower.as_str())
        || lower.starts_with("proxy-")
        || lower.starts_with("sec-")
        || (engine == Engine::Chromium && lower == "user-agent")
    {
        return true;
    }
    // Method-override headers are forbidden only when they smuggle a forbidden method.
    if matches!(
        lower.as_str(),
        "x-http-method" | "x-http-method-override" | "x-method-override"
    ) {
        return value.split(',').any(is_forbidden_method);
    }
    false
}

/// Strips HTTP whitespace (space, tab, CR, LF) from both ends, as `Headers` does on append.
pub fn trim_http_ws(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

/// The essence (`type/subtype`, lowercase) of a MIME type, or `None` when it does not parse.
/// Parameters are ignored; whitespace around either part is tolerated as Chromium's
/// `ExtractMimeTypeFromMediaType` tolerates it.
pub fn mime_essence(value: &str) -> Option<String> {
    let head = value.split(';').next().unwrap_or("");
    let mut parts = head.split('/');
    let ty = parts.next()?.trim_matches(|c| c == ' ' || c == '\t');
    let sub = parts.next()?.trim_matches(|c| c == ' ' || c == '\t');
    if parts.next().is_some() || !is_token(ty) || !is_token(sub) {
        return None;
    }
    Some(format!(
        "{}/{}",
        ty.to_ascii_lowercase(),
        sub.to_ascii_lowercase()
    ))
}

/// Compares two ASCII-digit strings as numbers of any size.
fn decimal_gt(a: &str, b: &str) -> bool {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len() > b.len() || (a.len() == b.len() && a > b)
}

/// A simple range: `bytes=<start>-[<end>]`, one range, start present (suffix ranges such as
/// `bytes=-500` are not safelisted), start <= end, no whitespace.
pub fn is_simple_range(value: &str) -> bool {
    let Some(rest) = value.strip_prefix("bytes=") else {
        return false;
    };
    let Some((start, end)) = rest.split_once('-') else {
        return false;
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if start.is_empty() || !digits(start) || !digits(end) {
        return false;
    }
    end.is_empty() || !decimal_gt(start, end)
}

fn is_double_like(v: &str) -> bool {
    let (int, frac) = match v.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (v, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(int) && frac.is_none_or(digits)
}

/// Whether one header (already trimmed) is CORS-safelisted on its own. The 1024-byte total is
/// applied by [`cors_unsafe_header_names`].
pub fn is_safelisted_header(engine: Engine, name: &str, value: &str) -> bool {
    if value.len() > 128 {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "accept" => !value.bytes().any(is_cors_unsafe_byte),
        "accept-language" | "content-language" => value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" *,-.;=".contains(&b)),
        "content-type" => {
            !value.bytes().any(is_cors_unsafe_byte)
                && matches!(
                    mime_essence(value).as_deref(),
                    Some(
                        "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain"
                    )
                )
        }
        "range" => is_simple_range(value),
        // Chromium also safelists its intervention marker and the legacy client hints a page
        // may set by hand; Gecko treats them as ordinary custom headers.
        _ if engine == Engine::Gecko => false,
        "intervention" => true,
        "device-memory" | "dpr" | "downlink" => is_double_like(value),
        "width" | "viewport-width" | "rtt" => {
            !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
        }
        "ect" => matches!(value, "slow-2g" | "2g" | "3g" | "4g"),
        "save-data" => value.eq_ignore_ascii_case("on"),
        _ => false,
    }
}

/// The header list a page's `Headers` object ends up with: names validated, values trimmed,
/// repeated names combined with `", "` in first-seen order, forbidden names dropped. Headers
/// `fetch` would reject outright (bad name, CR/LF/NUL in the value) are dropped too, so a
/// probe can never be used to inject header lines.
pub fn page_headers(engine: Engine, headers: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let name = name.trim();
        let value = trim_http_ws(value);
        if !is_token(name) || value.bytes().any(|b| matches!(b, 0 | b'\r' | b'\n')) {
            continue;
        }
        if is_forbidden_header(engine, name, value) {
            continue;
        }
        match out.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some((_, v)) => {
                v.push_str(", ");
                v.push_str(value);
            }
            None => out.push((name.to_string(), value.to_string())),
        }
    }
    out
}

/// Lowercased, sorted, de-duplicated names of the CORS-unsafe headers among `headers` (the
/// output of [`page_headers`]). When the safelisted values together exceed 1024 bytes they all
/// become unsafe.
pub fn cors_unsafe_header_names(engine: Engine, headers: &[(String, String)]) -> Vec<String> {
    let mut unsafe_names = Vec::new();
    let mut maybe_unsafe = Vec::new();
    let mut safelisted_bytes = 0usize;
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        if is_safelisted_header(engine, name, value) {
            safelisted_bytes += value.len();
            maybe_unsafe.push(lower);
        } else {
            unsafe_names.push(lower);
        }
    }
    if safelisted_bytes > 1024 {
        unsafe_names.extend(maybe_unsafe);
    }
    unsafe_names.sort();
    unsafe_names.dedup();
    unsafe_names
}

/// Splits an `Access-Control-Allow-*` value (all lines already combined with `", "`) into its
/// items: whitespace trimmed, empty items skipped. `Err` carries the first item that is not a
/// token.
pub fn parse_allow_list(combined: &str) -> Result<Vec<&str>, &str> {
    let mut items = Vec::new();
    for raw in combined.split(',') {
        let item = raw.trim_matches(|c| c == ' ' || c == '\t');
        if item.is_empty() {
            continue;
        }
        if !is_token(item) {
            return Err(item);
        }
        items.push(item);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn method_normalisation_table() {
        let cases = [
            ("get", "GET"),
            ("Post", "POST"),
            ("put", "PUT"),
            ("delete", "DELETE"),
            ("options", "OPTIONS"),
            ("head", "HEAD"),
            ("patch", "patch"),
            ("PATCH", "PATCH"),
            ("propfind", "propfind"),
            (" put ", "PUT"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_method(input), want, "{input}");
        }
        assert!(is_safelisted_method("GET"));
        assert!(!is_safelisted_method("get"));
        assert!(!is_safelisted_method("PUT"));
        assert!(is_forbidden_method("trace"));
        assert!(!is_forbidden_method("PATCH"));
    }

    #[test]
    fn safelisted_header_table() {
        let long_accept = "a".repeat(129);
        let exact_accept = "a".repeat(128);
        let cases: &[(&str, &str, bool)] = &[
            ("Accept", "application/json", true),
            ("Accept", "*/*", true),
            ("Accept", &exact_accept, true),
            ("Accept", &long_accept, false),
            ("Accept", "text/html(1)", false),
            ("Accept", "a\u{1}b", false),
            ("Accept-Language", "en-US,en;q=0.9", true),
            ("Accept-Language", "en_US", false),
            ("Content-Language", "de-DE", true),
            ("Content-Type", "text/plain", true),
            ("Content-Type", "text/plain;charset=UTF-8", true),
            ("Content-Type", "TEXT/PLAIN", true),
            ("Content-Type", "multipart/form-data; boundary=x", true),
            ("Content-Type", "application/x-www-form-urlencoded", true),
            ("Content-Type", "application/json", false),
            ("Content-Type", "text/plain; charset=\"utf-8\"", false),
            ("Content-Type", "text/plain, application/json", false),
            ("Content-Type", "text", false),
            ("Range", "bytes=0-", true),
            ("Range", "bytes=0-499", true),
            ("Range", "bytes=500-100", false),
            ("Range", "bytes=-500", false),
            ("Range", "bytes=0-1,5-9", false),
            ("Range", "bytes = 0-1", false),
            ("Authorization", "Bearer x", false),
            ("X-Requested-With", "XMLHttpRequest", false),
        ];
        for (name, value, want) in cases {
            assert_eq!(
                is_safelisted_header(Engine::Chromium, name, value),
                *want,
                "{name}: {value}"
            );
        }
        assert!(is_safelisted_header(Engine::Chromium, "DPR", "2.0"));
        assert!(!is_safelisted_header(Engine::Gecko, "DPR", "2.0"));
    }

    #[test]
    fn unsafe_names_are_lowercased_sorted_deduplicated() {
        let headers = page_headers(
            Engine::Chromium,
            &h(&[
                ("X-Trace", "1"),
                ("Authorization", "Bearer a"),
                ("x-trace", "2"),
                ("Content-Type", "application/json"),
                ("Cookie", "a=b"),
                ("Sec-Fetch-Mode", "cors"),
                ("Accept", "application/json"),
            ]),
        );
        assert_eq!(
            cors_unsafe_header_names(Engine::Chromium, &headers),
            vec!["authorization", "content-type", "x-trace"]
        );
        // Combined like `Headers.append`.
        assert!(headers.contains(&("X-Trace".to_string(), "1, 2".to_string())));
    }

    #[test]
    fn safelisted_total_over_1024_bytes_turns_them_unsafe() {
        // Repeated names are combined first, so nine 120-byte Accept values become one
        // 1096-byte value that is unsafe on its own.
        let pairs: Vec<(String, String)> = (0..9)
            .map(|_| ("Accept".to_string(), "a".repeat(120)))
            .collect();
        let combined = page_headers(Engine::Chromium, &pairs);
        assert_eq!(
            cors_unsafe_header_names(Engine::Chromium, &combined),
            vec!["accept"]
        );
        // The five standard names can hold at most 640 bytes, so the total only bites with
        // the extra names Chromium safelists.
        let digits = "1".repeat(128);
        let mut big = h(&[
            ("Accept", &"a".repeat(128)),
            ("Accept-Language", &"b".repeat(128)),
            ("Content-Language", &"c".repeat(128)),
            ("Content-Type", "text/plain"),
            ("Intervention", &"d".repeat(128)),
            ("DPR", &digits),
            ("Device-Memory", &digits),
        ]);
        assert_eq!(
            big.iter().map(|(_, v)| v.len()).sum::<usize>(),
            128 * 6 + 10
        );
        assert!(cors_unsafe_header_names(Engine::Chromium, &big).is_empty());
        big.push(("Width".to_string(), digits.clone()));
        big.push(("Viewport-Width".to_string(), digits.clone()));
        assert_eq!(
            cors_unsafe_header_names(Engine::Chromium, &big),
            vec![
                "accept",
                "accept-language",
                "content-language",
                "content-type",
                "device-memory",
                "dpr",
                "intervention",
                "viewport-width",
                "width"
            ]
        );
    }

    #[test]
    fn forbidden_headers() {
        assert!(is_forbidden_header(Engine::Chromium, "Cookie", "a=b"));
        assert!(is_forbidden_header(Engine::Chromium, "Proxy-Foo", ""));
        assert!(is_forbidden_header(Engine::Chromium, "sec-ch-ua", ""));
        assert!(is_forbidden_header(Engine::Chromium, "User-Agent", "x"));
        assert!(!is_forbidden_header(Engine::Gecko, "User-Agent", "x"));
        assert!(is_forbidden_header(
            Engine::Chromium,
            "X-HTTP-Method-Override",
            "TRACE"
        ));
        assert!(!is_forbidden_header(
            Engine::Chromium,
            "X-HTTP-Method-Override",
            "PATCH"
        ));
        assert!(!is_forbidden_header(Engine::Chromium, "Authorization", "x"));
    }

    #[test]
    fn allow_list_parsing() {
        assert_eq!(
            parse_allow_list("GET, PUT,,  DELETE ,"),
            Ok(vec!["GET", "PUT", "DELETE"])
        );
        assert_eq!(parse_allow_list(""), Ok(vec![]));
        assert_eq!(parse_allow_list("GET;POST"), Err("GET;POST"));
        assert_eq!(parse_allow_list("x-a, x b"), Err("x b"));
        assert_eq!(parse_allow_list("*"), Ok(vec!["*"]));
    }

    #[test]
    fn mime_essence_table() {
        assert_eq!(
            mime_essence("Text/Plain ; a=b").as_deref(),
            Some("text/plain")
        );
        assert_eq!(mime_essence("text/").as_deref(), None);
        assert_eq!(mime_essence("a/b/c").as_deref(), None);
    }
}
