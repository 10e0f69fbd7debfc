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

/// Redacts secrets inside free text (log lines, error messages, URLs: secret query and path
/// parameters by name, user passwords, JWTs wherever they sit).
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
            // An auth-param (`Bearer error="invalid_token"`, `realm=api`) is not a credential;
            // a token68 has `=` only as trailing padding.
            let word = &b[start..j];
            let trimmed = word.iter().rposition(|&c| c != b'=').map_or(0, |p| p + 1);
            let param = word[..trimmed].contains(&b'=')
                || (trimmed < word.len() && b.get(j) == Some(&b'"'));
            if j > start && !param && !s[start..j].starts_with(REDACTED) {
                out.push_str(&s[copied..start]);
                out.push_str(REDACTED);
                copied = j;
                i = j;
                continue;
            }
        }
        // Secret-bearing `key=value` pairs in query strings, cookies and headers echoed in text.
        if let Some(klen) = secret_key_prefix(&b[i..])
            && (i == 0 || !is_b64url(b[i - 1]) || b[i..].starts_with(b"://"))
        {
            let mut start = i + klen;
            let mut j = start;
            if j < b.len() && (b[j] == b'"' || b[j] == b'\'') {
                // `access_token="…"` in a challenge: the quoted value is the secret.
                let quote = b[j];
                start += 1;
                j = start;
                while j < b.len() && b[j] != quote {
                    j += 1;
                }
            } else {
                while j < b.len()
                    && !matches!(
                        b[j],
                        b'&' | b';' | b' ' | b'"' | b'\'' | b',' | b'@' | b'#' | b'?'
                    )
                {
                    j += 1;
                }
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
        || memchr::memchr2(b'=', b'@', b).is_some()
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

/// Names whose values are secrets wherever they appear as `name=value` (query strings,
/// cookies, challenges, path parameters), compared without case; a `%5F` or `%2D` in the text
/// stands for the `_` or `-` here.
const SECRET_KEYS: [&str; 24] = [
    "access_token=",
    "accesstoken=",
    "id_token=",
    "refresh_token=",
    "token=",
    "code=",
    "client_secret=",
    "client_assertion=",
    "assertion=",
    "password=",
    "passwd=",
    "pwd=",
    "secret=",
    "sig=",
    "signature=",
    "apikey=",
    "api_key=",
    "api-key=",
    "key=",
    "subscription-key=",
    "state=",
    "jsessionid=",
    "AppServiceAuthSession=",
    "session=",
];

/// Length of `key` at the start of `b` (with `%5F`/`%2D` standing for `_`/`-`), if it is there.
fn key_len(b: &[u8], key: &[u8]) -> Option<usize> {
    let mut i = 0;
    for &k in key {
        match b.get(i) {
            Some(c) if c.eq_ignore_ascii_case(&k) => i += 1,
            Some(b'%') if (k == b'_' || k == b'-') && b.len() >= i + 3 => {
                let hex = &b[i + 1..i + 3];
                let want: &[u8] = if k == b'_' { b"5f" } else { b"2d" };
                if !hex.eq_ignore_ascii_case(want) {
                    return None;
                }
                i += 3;
            }
            _ => return None,
        }
    }
    Some(i)
}

fn secret_key_prefix(b: &[u8]) -> Option<usize> {
    for k in SECRET_KEYS {
        if let Some(n) = key_len(b, k.as_bytes()) {
            return Some(n);
        }
    }
    // `scheme://user:password@host`: the password.
    if b.starts_with(b"://") {
        let end = b
            .iter()
            .skip(3)
            .position(|&c| matches!(c, b'/' | b'?' | b'#' | b' ' | b'@'))?
            + 3;
        if b.get(end) == Some(&b'@') {
            let colon = b[3..end].iter().position(|&c| c == b':')? + 3;
            return (colon + 1 < end).then_some(colon + 1);
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
                "GET /cb?code=[redacted]&state=[redacted] HTTP/1.1",
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
            (
                "https://fn.example/api/x?code=abcDEF==&clientId=default",
                "https://fn.example/api/x?code=[redacted]&clientId=default",
            ),
            (
                "https://st.example/c/b?sv=2024&sig=Zm9vYmFy%2B&se=2026",
                "https://st.example/c/b?sv=2024&sig=[redacted]&se=2026",
            ),
            (
                "Bearer error=\"invalid_token\", access_token=\"s3cr3t-value\"",
                "Bearer error=\"invalid_token\", access_token=\"[redacted]\"",
            ),
            (
                "/cb?access%5Ftoken=abc&accessToken=def&key=ghi&state=jkl",
                "/cb?access%5Ftoken=[redacted]&accessToken=[redacted]&key=[redacted]&state=[redacted]",
            ),
            (
                "https://user:pa55word@api.example/x;jsessionid=ABC123?q=1",
                "https://user:[redacted]@api.example/x;jsessionid=[redacted]?q=1",
            ),
            (
                "https://api.example/x?monkey=1",
                "https://api.example/x?monkey=1",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(text(input), want, "{input}");
        }
    }
}
