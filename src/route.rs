//! Route templating: `/api/orders/8812?x=1` becomes `/api/orders/{id}` so that the store's key
//! space follows the application's routes, not its data.

use std::borrow::Cow;

/// The longest template kept; longer paths are cut (scanners send megabyte URLs).
pub const MAX_TEMPLATE_LEN: usize = 200;

/// True when a path segment is an identifier rather than a route word.
pub fn is_id_segment(seg: &str) -> bool {
    is_id_bytes(seg.as_bytes())
}

/// [`is_id_segment`] on bytes. Every rule but the UUID one needs a digit, and most route words
/// have none, so the digits are counted once, first.
fn is_id_bytes(b: &[u8]) -> bool {
    if b.is_empty() {
        return false;
    }
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    // UUIDs, with or without braces (the only identifiers that may lack a digit).
    let uuid = || b.len() >= 36 && is_uuid(trim_braces(b));
    if digits == 0 {
        return uuid();
    }
    // Numbers (including signed and with a decimal point, as some APIs key by them).
    if digits == b.len() {
        return true;
    }
    if uuid() {
        return true;
    }
    // Hex identifiers (object ids, hashes): 8+ hex chars with at least one digit, so that words
    // such as "deadbeef" or "facade" stay words only when they carry no digit.
    if b.len() >= 8 && b.iter().all(|c| c.is_ascii_hexdigit()) {
        return true;
    }
    // Long opaque tokens: base64url, slugs with numbers, ULIDs.
    if b.len() >= 20
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~' | b'='))
    {
        return true;
    }
    // Mixed word-and-number keys such as `INV-2024-00017` or `user_123`.
    if digits >= 3 && digits * 2 >= b.len() {
        return true;
    }
    false
}

/// Strips every leading `{` and trailing `}`.
fn trim_braces(mut b: &[u8]) -> &[u8] {
    while let [b'{', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b'}'] = b {
        b = rest;
    }
    b
}

fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Templates a raw request path: drops query and fragment, replaces identifier segments with
/// `{id}`, cuts overlong results. Borrowed when nothing changes, which is the common case.
pub fn template(raw: &str) -> Cow<'_, str> {
    // Byte searches: `?` and `#` are ASCII, so their positions are character boundaries, and
    // this runs once per log line.
    let end = memchr::memchr2(b'?', b'#', raw.as_bytes()).unwrap_or(raw.len());
    let path = &raw[..end];
    if path.is_empty() {
        return Cow::Borrowed("/");
    }
    if path.len() <= MAX_TEMPLATE_LEN && path.starts_with('/') {
        // The common case, in one pass: the segments before the first identifier are kept as
        // they are (no cut can fall there, the path being short enough).
        let Some(at) = first_id_segment(path) else {
            return Cow::Borrowed(path);
        };
        let mut out = String::with_capacity(path.len() + 8);
        out.push_str(&path[..at]);
        push_templated(&mut out, &path[at..]);
        return Cow::Owned(out);
    }
    let mut out = String::with_capacity(path.len().min(MAX_TEMPLATE_LEN) + 4);
    if !path.starts_with('/') {
        // Absolute-form request targets (`http://host/path`) and junk: keep only the path part.
        if let Some(rest) = path.split_once("://").map(|(_, r)| r) {
            return match rest.find('/') {
                Some(i) => Cow::Owned(template(&rest[i..]).into_owned()),
                None => Cow::Borrowed("/"),
            };
        }
        out.push('/');
    }
    push_templated(&mut out, path);
    Cow::Owned(out)
}

/// Byte offset of the first identifier segment of `path`.
fn first_id_segment(path: &str) -> Option<usize> {
    let b = path.as_bytes();
    let mut start = 0;
    loop {
        let end = b[start..]
            .iter()
            .position(|c| *c == b'/')
            .map_or(b.len(), |i| start + i);
        if is_id_bytes(&b[start..end]) {
            return Some(start);
        }
        if end == b.len() {
            return None;
        }
        start = end + 1;
    }
}

/// Appends `path`'s segments to `out`, identifiers replaced, cutting the result once it
/// outgrows [`MAX_TEMPLATE_LEN`].
fn push_templated(out: &mut String, path: &str) {
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if is_id_segment(seg) {
            out.push_str("{id}");
        } else {
            out.push_str(seg);
        }
        if out.len() > MAX_TEMPLATE_LEN {
            let mut cut = MAX_TEMPLATE_LEN;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push('…');
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templating_table() {
        let cases = [
            ("/api/orders", "/api/orders"),
            ("/api/orders/", "/api/orders/"),
            ("/api/orders/8812", "/api/orders/{id}"),
            ("/api/orders/8812?expand=lines", "/api/orders/{id}"),
            ("/api/orders?page=2#top", "/api/orders"),
            (
                "/api/users/3f2504e0-4f89-11d3-9a0c-0305e82c3301/profile",
                "/api/users/{id}/profile",
            ),
            (
                "/api/users/{3F2504E0-4F89-11D3-9A0C-0305E82C3301}",
                "/api/users/{id}",
            ),
            ("/blobs/5f2b9c1e8a7d", "/blobs/{id}"),
            ("/api/facade/deadbeef", "/api/facade/deadbeef"),
            ("/s/AbCdEfGhIjKlMnOpQrSt1234", "/s/{id}"),
            ("/invoices/INV-2024-00017", "/invoices/{id}"),
            ("/v1/health", "/v1/health"),
            ("/api/v2/items/12/sub/34", "/api/v2/items/{id}/sub/{id}"),
            ("", "/"),
            ("?only=query", "/"),
            ("http://api.example.com/api/orders/7", "/api/orders/{id}"),
            ("http://api.example.com", "/"),
        ];
        for (raw, want) in cases {
            assert_eq!(template(raw), want, "{raw}");
        }
    }

    #[test]
    fn unchanged_paths_are_borrowed() {
        assert!(matches!(template("/api/orders"), Cow::Borrowed(_)));
    }

    #[test]
    fn overlong_paths_are_cut() {
        let long = format!("/{}", "segment/".repeat(100));
        let t = template(&long);
        assert!(t.len() <= MAX_TEMPLATE_LEN + '…'.len_utf8());
        assert!(t.ends_with('…'));
        let multibyte = format!("/{}", "é".repeat(300));
        assert!(template(&multibyte).len() <= MAX_TEMPLATE_LEN + 3);
    }
}
