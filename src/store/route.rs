//! Route templating: `/api/orders/8812?x=1` becomes `/api/orders/{id}` so that the store's key
//! space follows the application's routes, not its data.

use std::borrow::Cow;

/// The longest template kept; longer paths are cut (scanners send megabyte URLs).
pub const MAX_TEMPLATE_LEN: usize = 200;

/// True when a path segment is an identifier rather than a route word.
pub fn is_id_segment(seg: &str) -> bool {
    SegmentShape::of(seg.as_bytes()).is_id(seg.as_bytes())
}

const DIGIT: u8 = 1;
const HEX: u8 = 2;
/// Characters of opaque tokens: base64url, slugs, ULIDs.
const TOKEN: u8 = 4;
/// Where the path part of a request target ends.
const STOP: u8 = 8;
const SLASH: u8 = 16;
const UPPER: u8 = 32;
const LOWER: u8 = 64;

/// Byte classes, so that one pass over a path measures every segment and finds its end.
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let mut v = 0;
        if b.is_ascii_digit() {
            v |= DIGIT | HEX | TOKEN;
        } else if b.is_ascii_hexdigit() {
            v |= HEX | TOKEN;
            v |= if b.is_ascii_uppercase() { UPPER } else { LOWER };
        } else if b.is_ascii_alphabetic() {
            v |= TOKEN;
            v |= if b.is_ascii_uppercase() { UPPER } else { LOWER };
        } else if matches!(b, b'-' | b'_' | b'.' | b'~' | b'=') {
            v |= TOKEN;
        } else if matches!(b, b'?' | b'#' | b';') {
            // `;` starts matrix parameters (`;jsessionid=…`): data, not route, like a query.
            v |= STOP;
        } else if b == b'/' {
            v |= SLASH;
        }
        t[c] = v;
        c += 1;
    }
    t
};

/// What the identifier rules need to know of a segment, gathered in the same pass that finds
/// its end.
#[derive(Clone, Copy)]
struct SegmentShape {
    len: usize,
    digits: usize,
    /// Class bits every byte of the segment has.
    all: u8,
    /// Class bits some byte of the segment has.
    any: u8,
}

impl SegmentShape {
    const EMPTY: SegmentShape = SegmentShape {
        len: 0,
        digits: 0,
        all: DIGIT | HEX | TOKEN,
        any: 0,
    };

    #[inline]
    fn add(&mut self, class: u8) {
        self.len += 1;
        self.digits += (class & DIGIT) as usize;
        self.all &= class;
        self.any |= class;
    }

    fn of(seg: &[u8]) -> SegmentShape {
        let mut shape = SegmentShape::EMPTY;
        for &b in seg {
            shape.add(CLASS[b as usize]);
        }
        shape
    }

    /// The identifier rules. Every rule but the UUID one needs a digit, and most route words
    /// have none.
    fn is_id(self, seg: &[u8]) -> bool {
        if self.len == 0 {
            return false;
        }
        // UUIDs, with or without braces (the only identifiers that may lack a digit).
        let uuid = || self.len >= 36 && is_uuid(trim_braces(seg));
        if self.digits == 0 {
            return uuid();
        }
        // Numbers (including signed and with a decimal point, as some APIs key by them).
        if self.digits == self.len {
            return true;
        }
        if uuid() {
            return true;
        }
        // Hex identifiers (object ids, hashes): 8+ hex chars with at least one digit, so that
        // words such as "deadbeef" or "facade" stay words only when they carry no digit.
        if self.len >= 8 && self.all & HEX != 0 {
            return true;
        }
        // Long opaque tokens: base64url, slugs with numbers, ULIDs.
        if self.len >= 20 && self.all & TOKEN != 0 {
            return true;
        }
        // Shorter random tokens mix both cases with digits; a CamelCase route word
        // (`GetOrdersV2Async`) rarely has two digits.
        if self.len >= 16
            && self.digits >= 2
            && self.all & TOKEN != 0
            && self.any & UPPER != 0
            && self.any & LOWER != 0
        {
            return true;
        }
        // Mixed word-and-number keys such as `INV-2024-00017` or `user_123`.
        self.digits >= 3 && self.digits * 2 >= self.len
    }
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
    let mut out = String::new();
    match template_into(raw, &mut out) {
        Templated::Unchanged(path) => Cow::Borrowed(path),
        Templated::Written => Cow::Owned(out),
    }
}

/// Where [`template_into`] left its result.
pub enum Templated<'a> {
    /// The template is this part of the raw path.
    Unchanged(&'a str),
    /// The template was written into the buffer.
    Written,
}

/// [`template`] into a caller's buffer, so that the store's per-line templating allocates
/// nothing.
pub fn template_into<'a>(raw: &'a str, out: &mut String) -> Templated<'a> {
    let b = raw.as_bytes();
    // The common case, in one pass over the bytes: segments before the first identifier are
    // kept as they are, and no cut can fall there when the path is short enough.
    if b.first() == Some(&b'/') {
        match scan(b) {
            Scan::Plain(end) if end <= MAX_TEMPLATE_LEN => {
                return Templated::Unchanged(&raw[..end]);
            }
            Scan::IdAt(at) => {
                // `at` follows a `/`, so it is a character boundary.
                out.clear();
                out.push_str(&raw[..at]);
                push_segments(out, raw, at);
                return Templated::Written;
            }
            Scan::Plain(_) => {}
        }
    }
    let path_end = memchr::memchr2(b'?', b'#', b).unwrap_or(b.len());
    let path = &raw[..path_end];
    if path.is_empty() {
        return Templated::Unchanged("/");
    }
    out.clear();
    if !path.starts_with('/') {
        // Absolute-form request targets (`http://host/path`) and junk: keep only the path part.
        if let Some(rest) = path.split_once("://").map(|(_, r)| r) {
            return match rest.find('/') {
                Some(i) => template_into(&rest[i..], out),
                None => Templated::Unchanged("/"),
            };
        }
        out.push('/');
    }
    push_segments(out, path, 0);
    Templated::Written
}

enum Scan {
    /// No identifier segment; the path part ends here.
    Plain(usize),
    /// The first identifier segment starts here.
    IdAt(usize),
}

/// Walks a path that starts with `/` up to its first identifier segment or its end.
fn scan(b: &[u8]) -> Scan {
    let mut seg_start = 1;
    let mut shape = SegmentShape::EMPTY;
    for (i, &c) in b.iter().enumerate().skip(1) {
        let class = CLASS[c as usize];
        if class & (SLASH | STOP) == 0 {
            shape.add(class);
            continue;
        }
        if shape.is_id(&b[seg_start..i]) {
            return Scan::IdAt(seg_start);
        }
        if class & STOP != 0 {
            return Scan::Plain(i);
        }
        seg_start = i + 1;
        shape = SegmentShape::EMPTY;
    }
    if shape.is_id(&b[seg_start..]) {
        Scan::IdAt(seg_start)
    } else {
        Scan::Plain(b.len())
    }
}

/// Appends the segments of `raw` from `from` (a segment start) to the end of its path part,
/// identifiers replaced, in one pass like [`scan`]; cuts the result once it outgrows
/// [`MAX_TEMPLATE_LEN`]. Segments before `from` are the caller's, already in `out`: a cut
/// keeps the template's first bytes whichever segment crossed the limit.
fn push_segments(out: &mut String, raw: &str, from: usize) {
    let b = raw.as_bytes();
    let mut seg_start = from;
    let mut shape = SegmentShape::EMPTY;
    let mut i = from;
    loop {
        let class = b.get(i).map_or(STOP, |&c| CLASS[c as usize]);
        if class & (SLASH | STOP) == 0 {
            shape.add(class);
            i += 1;
            continue;
        }
        let seg = &b[seg_start..i];
        if shape.is_id(seg) {
            out.push_str("{id}");
        } else {
            // `seg` lies between ASCII delimiters, so it is whole characters.
            out.push_str(&raw[seg_start..i]);
        }
        if out.len() > MAX_TEMPLATE_LEN {
            let mut cut = MAX_TEMPLATE_LEN;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push('…');
            return;
        }
        if class & STOP != 0 {
            return;
        }
        out.push('/');
        i += 1;
        seg_start = i;
        shape = SegmentShape::EMPTY;
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
            ("/app/login;jsessionid=A1B2C3D4E5F6", "/app/login"),
            ("/share/aB3dE5fG7hJ9kL1m/view", "/share/{id}/view"),
            ("/api/GetOrdersV2Async", "/api/GetOrdersV2Async"),
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
            ("/api/orders/8812#frag", "/api/orders/{id}"),
            ("/api/orders?next=/12/34", "/api/orders"),
            ("/api/12?x=/34", "/api/{id}"),
            ("//double//7", "//double//{id}"),
            ("/", "/"),
            ("/7", "/{id}"),
            ("/café/12", "/café/{id}"),
            ("/user_123/x", "/user_123/x"),
            ("/u_1234/x", "/{id}/x"),
            ("/a1b2c3d4e5", "/{id}"),
            ("/s/AbCdEfGhIjKlMnOpQrSt", "/s/AbCdEfGhIjKlMnOpQrSt"),
            (
                "https://h/x/{3F2504E0-4F89-11D3-9A0C-0305E82C3301}?q",
                "/x/{id}",
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(template(raw), want, "{raw}");
        }
    }

    /// The plain definition: strip the query, replace identifier segments, cut what is too
    /// long.
    fn reference(raw: &str) -> String {
        let end = raw.find(['?', '#']).unwrap_or(raw.len());
        let mut t = raw[..end]
            .split('/')
            .map(|seg| if is_id_segment(seg) { "{id}" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        if t.is_empty() {
            return "/".into();
        }
        if t.len() > MAX_TEMPLATE_LEN {
            let mut cut = MAX_TEMPLATE_LEN;
            while !t.is_char_boundary(cut) {
                cut -= 1;
            }
            t.truncate(cut);
            t.push('…');
        }
        t
    }

    #[test]
    fn templating_matches_the_plain_definition() {
        let pieces = [
            "api",
            "orders",
            "7",
            "8812",
            "v2",
            "",
            "user_123",
            "u_1234",
            "a1b2c3d4e5",
            "é",
            "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
            "AbCdEfGhIjKlMnOpQrSt1234",
            "INV-2024-00017",
            "x?y=1/2",
            "#f",
            "deadbeef",
            "?",
            "looooooooooooooooooooooooooooooooooooooooooooong",
        ];
        // Cuts inside the identifier-free prefix, at the identifier, and in a multibyte prefix.
        for raw in [
            format!("/{}/7", "a".repeat(250)),
            format!("/{}/7/x", "a".repeat(MAX_TEMPLATE_LEN - 2)),
            format!("/{}/12?q=1", "é".repeat(120)),
        ] {
            assert_eq!(template(&raw), reference(&raw), "{raw}");
        }
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..20_000 {
            let n = rng.usize(1..12);
            let mut raw = String::new();
            for _ in 0..n {
                raw.push('/');
                raw.push_str(pieces[rng.usize(..pieces.len())]);
            }
            if rng.u8(..8) == 0 {
                raw.push_str(&"/1234567".repeat(rng.usize(20..40)));
            }
            assert_eq!(template(&raw), reference(&raw), "{raw}");
        }
    }

    #[test]
    fn unchanged_paths_are_borrowed() {
        assert!(matches!(template("/api/orders"), Cow::Borrowed(_)));
    }

    #[test]
    fn ids_near_the_length_limit() {
        // An identifier replaced by `{id}` may push a path that fitted over the limit.
        let base = format!("/{}", "a".repeat(MAX_TEMPLATE_LEN - 3));
        assert_eq!(
            template(&format!("{base}/1")).len(),
            MAX_TEMPLATE_LEN + '…'.len_utf8()
        );
        let exact = format!("/{}", "a".repeat(MAX_TEMPLATE_LEN - 1));
        assert_eq!(template(&exact), exact);
        let over = format!("/{}", "a".repeat(MAX_TEMPLATE_LEN));
        assert!(template(&over).ends_with('…'));
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
