//! Secret redaction for everything corstop shows or writes: bearer tokens, cookies, App Service
//! token-store headers (`X-MS-TOKEN-*`), JWTs and token-bearing query parameters.

use std::borrow::Cow;

pub const REDACTED: &str = "[redacted]";

/// Header names whose values are always secret.
pub fn is_secret_header(name: &str) -> bool {
    let n = name.trim();
    n.eq_ignore_ascii_case("authorization")
        || n.eq_ignore_ascii_case("proxy-authorization")
        || n.eq_ignore_ascii_case("cookie")
        || n.eq_ignore_ascii_case("set-cookie")
        || n.eq_ignore_ascii_case("x-ms-client-principal")
        || n.eq_ignore_ascii_case("x-ms-client-principal-id")
        || n.len() >= 11 && n[..11].eq_ignore_ascii_case("x-ms-token-")
        || n.eq_ignore_ascii_case("x-api-key")
        || n.eq_ignore_ascii_case("api-key")
}

/// Redacts one header value for display. The auth scheme and cookie names stay visible because
/// they are evidence (an ARR affinity cookie names the instance; `Bearer` vs `Basic` matters);
/// the secret parts never are.
pub fn header_value<'a>(name: &str, value: &'a str) -> Cow<'a, str> {
    let n = name.trim();
    if n.eq_ignore_ascii_case("authorization") || n.eq_ignore_ascii_case("proxy-authorization") {
        let scheme = value.split_whitespace().next().unwrap_or("");
        if scheme.is_empty() || scheme.len() == value.trim().len() {
            return Cow::Borrowed(REDACTED);
        }
        return Cow::Owned(format!("{scheme} {REDACTED}"));
    }
    if n.eq_ignore_ascii_case("cookie") {
        let parts: Vec<String> = value
            .split(';')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) => format!("{}={REDACTED}", k.trim()),
                None => kv.trim().to_string(),
            })
            .collect();
        return Cow::Owned(parts.join("; "));
    }
    if n.eq_ignore_ascii_case("set-cookie") {
        let (first, attrs) = value.split_once(';').unwrap_or((value, ""));
        let name = first.split_once('=').map(|(k, _)| k.trim()).unwrap_or("");
        return Cow::Owned(if attrs.is_empty() {
            format!("{name}={REDACTED}")
        } else {
            format!("{name}={REDACTED};{attrs}")
        });
    }
    if is_secret_header(n) {
        return Cow::Borrowed(REDACTED);
    }
    text(value)
}

fn is_b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// Redacts secrets inside free text (log lines, error messages).
pub fn text(s: &str) -> Cow<'_, str> {
    if !might_hold_secret(s) {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        // JWTs: three base64url parts, the first starting with "eyJ" (`{"`).
        if b[i..].starts_with(b"eyJ") && (i == 0 || !is_b64url(b[i - 1])) {
            let mut j = i;
            let mut dots = 0;
            while j < b.len() && (is_b64url(b[j]) || b[j] == b'.') {
                if b[j] == b'.' {
                    dots += 1;
                }
                j += 1;
            }
            if dots >= 1 && j - i >= 16 {
                out.push_str(&s[copied..i]);
                out.push_str(REDACTED);
                copied = j;
                i = j;
                continue;
            }
        }
        // `Bearer <token>`, `Basic <credentials>`.
        if let Some(skip) = scheme_prefix(&b[i..])
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
        {
            let start = i + skip;
            let mut j = start;
            while j < b.len() && !b[j].is_ascii_whitespace() && b[j] != b'"' && b[j] != b',' {
                j += 1;
            }
            if j > start && !s[start..j].starts_with(REDACTED) {
                out.push_str(&s[copied..start]);
                out.push_str(REDACTED);
                copied = j;
                i = j;
                continue;
            }
        }
        // Secret-bearing `key=value` pairs in query strings, cookies and headers echoed in text.
        if let Some(klen) = secret_key_prefix(&b[i..])
            && (i == 0 || !is_b64url(b[i - 1]))
        {
            let start = i + klen;
            let mut j = start;
            while j < b.len() && !matches!(b[j], b'&' | b';' | b' ' | b'"' | b'\'' | b',') {
                j += 1;
            }
            if j > start {
                out.push_str(&s[copied..start]);
                out.push_str(REDACTED);
                copied = j;
                i = j;
                continue;
            }
        }
        i += 1;
    }
    if copied == 0 {
        return Cow::Borrowed(s);
    }
    out.push_str(&s[copied..]);
    Cow::Owned(out)
}

fn might_hold_secret(s: &str) -> bool {
    let b = s.as_bytes();
    memchr::memmem::find(b, b"eyJ").is_some()
        || memchr::memchr(b'=', b).is_some()
        || memchr::memmem::find(b, b"earer ").is_some()
        || memchr::memmem::find(b, b"EARER ").is_some()
        || memchr::memmem::find(b, b"asic ").is_some()
        || memchr::memmem::find(b, b"oken-").is_some()
        || memchr::memmem::find(b, b"OKEN-").is_some()
}

fn scheme_prefix(b: &[u8]) -> Option<usize> {
    for p in [
        &b"Bearer "[..],
        b"bearer ",
        b"BEARER ",
        b"Basic ",
        b"basic ",
    ] {
        if b.starts_with(p) {
            return Some(p.len());
        }
    }
    None
}

const SECRET_KEYS: [&str; 12] = [
    "access_token=",
    "id_token=",
    "refresh_token=",
    "token=",
    "code=",
    "client_secret=",
    "password=",
    "sig=",
    "apikey=",
    "api_key=",
    "AppServiceAuthSession=",
    "session=",
];

fn secret_key_prefix(b: &[u8]) -> Option<usize> {
    for k in SECRET_KEYS {
        let kb = k.as_bytes();
        if b.len() >= kb.len() && b[..kb.len()].eq_ignore_ascii_case(kb) {
            return Some(kb.len());
        }
    }
    // X-MS-TOKEN-AAD-ACCESS-TOKEN: value, as App Service echoes token-store headers.
    if b.len() > 11 && b[..11].eq_ignore_ascii_case(b"x-ms-token-") {
        let colon = b.iter().take(64).position(|&c| c == b':' || c == b'=')?;
        let mut k = colon + 1;
        while k < b.len() && b[k] == b' ' {
            k += 1;
        }
        return Some(k);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(
            header_value("Authorization", "Bearer abc.def"),
            "Bearer [redacted]"
        );
        assert_eq!(header_value("authorization", "opaque"), "[redacted]");
        assert_eq!(
            header_value("Cookie", "ARRAffinity=abc123; AppServiceAuthSession=xyz"),
            "ARRAffinity=[redacted]; AppServiceAuthSession=[redacted]"
        );
        assert_eq!(
            header_value("Set-Cookie", "ARRAffinity=abc; Path=/; HttpOnly"),
            "ARRAffinity=[redacted]; Path=/; HttpOnly"
        );
        assert_eq!(
            header_value("X-MS-TOKEN-AAD-ACCESS-TOKEN", "eyJ0eXAi.x.y"),
            "[redacted]"
        );
        assert_eq!(
            header_value("Access-Control-Allow-Origin", "https://app.example"),
            "https://app.example"
        );
    }

    #[test]
    fn free_text() {
        let cases = [
            ("plain line with nothing", "plain line with nothing"),
            (
                "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
                "Authorization: Bearer [redacted]",
            ),
            (
                "GET /cb?code=abc123&state=ok HTTP/1.1",
                "GET /cb?code=[redacted]&state=ok HTTP/1.1",
            ),
            (
                "token eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJleHAiOjF9.c2ln here",
                "token [redacted] here",
            ),
            (
                "x-ms-token-aad-id-token: abc.def.ghi",
                "x-ms-token-aad-id-token: [redacted]",
            ),
            ("status=401 route=/api", "status=401 route=/api"),
        ];
        for (input, want) in cases {
            assert_eq!(text(input), want, "{input}");
        }
    }
}
