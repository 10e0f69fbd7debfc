//! Route templating: `/api/orders/8812?x=1` becomes `/api/orders/{id}` so that the store's key
//! space follows the application's routes, not its data.

use std::borrow::Cow;

/// The longest template kept; longer paths are cut (scanners send megabyte URLs).
pub const MAX_TEMPLATE_LEN: usize = 200;

/// True when a path segment is an identifier rather than a route word.
pub fn is_id_segment(seg: &str) -> bool {
    let b = seg.as_bytes();
    if b.is_empty() {
        return false;
    }
    // Numbers (including signed and with a decimal point, as some APIs key by them).
    if b.iter().all(|c| c.is_ascii_digit()) {
        return true;
    }
    // UUIDs, with or without braces.
    let core = seg.trim_start_matches('{').trim_end_matches('}');
    if is_uuid(core.as_bytes()) {
        return true;
    }
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    // Hex identifiers (object ids, hashes): 8+ hex chars with at least one digit, so that words
    // such as "deadbeef" or "facade" stay words only when they carry no digit.
    if b.len() >= 8 && digits > 0 && b.iter().all(|c| c.is_ascii_hexdigit()) {
        return true;
    }
    // Long opaque tokens: base64url, slugs with numbers, ULIDs.
    if b.len() >= 20
        && digits > 0
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
    let end = raw.find(['?', '#']).unwrap_or(raw.len());
    let path = &raw[..end];
    if path.is_empty() {
        return Cow::Borrowed("/");
    }
    let needs_change = path.len() > MAX_TEMPLATE_LEN
        || path.split('/').any(is_id_segment)
        || !path.starts_with('/');
    if !needs_change {
        return Cow::Borrowed(path);
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
    Cow::Owned(out)
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
