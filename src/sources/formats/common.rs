//! Byte-level helpers shared by the text parsers. Everything here works on borrowed slices and
//! allocates only on the error path.

use std::borrow::Cow;

use super::ParseError;
use crate::model::bytes::{find_any, find1, find2};
use crate::model::time::EpochMs;

/// Longest text line accepted. Access-log lines are a few hundred bytes; anything this long is
/// an attack or a corrupted file, and parsing it would only waste time.
pub const MAX_TEXT_LINE: usize = 256 * 1024;

/// Longest JSON document accepted, on one line or assembled from several.
pub const MAX_JSON_DOC: usize = 4 * 1024 * 1024;

pub fn err(reason: &str) -> ParseError {
    ParseError::new(reason)
}

/// Strips a trailing `\r` (files written on Windows) and rejects overlong lines.
#[inline]
pub fn prepare(line: &[u8], max: usize) -> Result<&[u8], ParseError> {
    if line.len() > max {
        return Err(ParseError::new(format!(
            "line too long ({} bytes, limit {})",
            line.len(),
            max
        )));
    }
    let line = match line.last() {
        Some(b'\r') => &line[..line.len() - 1],
        _ => line,
    };
    // Files written by Windows tools (IIS, blob exports opened in an editor) may start with
    // a UTF-8 byte order mark.
    Ok(line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line))
}

#[inline]
pub fn utf8<'a>(b: &'a [u8], what: &str) -> Result<&'a str, ParseError> {
    ascii_or_utf8(b).ok_or_else(|| ParseError::new(format!("{what} is not UTF-8")))
}

/// `str::from_utf8` with a shortcut for ASCII, which nearly every log field is. The standard
/// validator walks short fields byte by byte; the ASCII test reads them a word at a time, and
/// parsers call this three or four times per line.
#[inline]
#[allow(unsafe_code)]
pub fn ascii_or_utf8(b: &[u8]) -> Option<&str> {
    if b.is_ascii() {
        // SAFETY: every byte is below 0x80, so the slice is valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(b) })
    } else {
        std::str::from_utf8(b).ok()
    }
}

/// A `-` or empty field means "absent", as nginx, IIS and Envoy write it.
#[inline]
pub fn present(s: &str) -> Option<&str> {
    match s {
        "" | "-" => None,
        _ => Some(s),
    }
}

/// `present` for an optional UTF-8 field whose bad bytes are harmless (dropped, not an error).
#[inline]
pub fn opt_field(b: &[u8]) -> Option<&str> {
    ascii_or_utf8(b).and_then(present)
}

#[inline]
pub fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    let mut v = 0u64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u64;
    }
    Some(v)
}

#[inline]
pub fn parse_u32(b: &[u8]) -> Option<u32> {
    parse_u64(b).map(|v| v.min(u32::MAX as u64) as u32)
}

/// An HTTP status: three digits, 100..=999.
#[inline]
pub fn status(b: &[u8]) -> Result<u16, ParseError> {
    match b {
        [a, b2, c] if a.is_ascii_digit() && b2.is_ascii_digit() && c.is_ascii_digit() => {
            let v = (a - b'0') as u16 * 100 + (b2 - b'0') as u16 * 10 + (c - b'0') as u16;
            if v >= 100 {
                Ok(v)
            } else {
                Err(err("status out of range"))
            }
        }
        _ => Err(err("bad status")),
    }
}

pub fn status_num(v: u64) -> Result<u16, ParseError> {
    if (100..=999).contains(&v) {
        Ok(v as u16)
    } else {
        Err(err("status out of range"))
    }
}

/// Decimal seconds as logged by nginx and Envoy (`0.012`, `1`, `12.5`) to whole milliseconds.
pub fn seconds_to_ms(b: &[u8]) -> Option<u32> {
    let (int, frac) = match memchr::memchr(b'.', b) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b[..0]),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let whole = if int.is_empty() { 0 } else { parse_u64(int)? };
    let mut ms = 0u64;
    let mut scale = 100u64;
    for (i, &c) in frac.iter().enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        if i < 3 {
            ms += (c - b'0') as u64 * scale;
            scale /= 10;
        }
    }
    let total = whole.saturating_mul(1000).saturating_add(ms);
    Some(total.min(u32::MAX as u64) as u32)
}

/// Epoch seconds (float) to milliseconds.
pub fn epoch_seconds(v: f64) -> Option<EpochMs> {
    if v.is_finite() && v > 0.0 && v < 1e11 {
        Some((v * 1000.0).round() as EpochMs)
    } else {
        None
    }
}

/// `scheme://host[:port]` of a Referer, the best proxy for the page origin when the log has no
/// Origin field. Returns `None` for relative, opaque or userinfo-bearing values.
pub fn referer_origin(r: &str) -> Option<&str> {
    let b = r.as_bytes();
    // One pass each over the scheme and the host: this runs for most lines of formats that log
    // no Origin.
    let host_start = if b.starts_with(b"https://") {
        8
    } else if b.starts_with(b"http://") {
        7
    } else {
        let colon = b
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))?;
        if colon == 0 || b[colon] != b':' || b.get(colon + 1..colon + 3) != Some(b"//") {
            return None;
        }
        colon + 3
    };
    let end = match find_any([b'/', b'?', b'#', b'@'], &b[host_start..]) {
        Some(i) if b[host_start + i] == b'@' => return None,
        Some(i) => host_start + i,
        None => b.len(),
    };
    if end == host_start {
        return None;
    }
    Some(&r[..end])
}

/// Whether `v` contains `://`, as URLs and origins do.
#[inline]
pub fn has_scheme_sep(v: &[u8]) -> bool {
    let mut from = 0;
    while let Some(i) = find1(b':', &v[from..]) {
        let at = from + i;
        if v[at + 1..].starts_with(b"//") {
            return true;
        }
        from = at + 1;
    }
    false
}

/// Fills origin fields: the logged Origin when the format has one, else the Referer's origin.
#[inline]
pub fn origin_fields<'a>(
    logs_origin: bool,
    origin: Option<&'a str>,
    referer: Option<&'a str>,
) -> (Option<Cow<'a, str>>, bool) {
    if logs_origin {
        (origin.and_then(present).map(Cow::Borrowed), false)
    } else {
        match referer.and_then(present).and_then(referer_origin) {
            Some(o) => (Some(Cow::Borrowed(o)), true),
            None => (None, false),
        }
    }
}

/// A left-to-right reader over a line of space-separated, quoted and bracketed fields.
pub struct Cursor<'a> {
    pub b: &'a [u8],
    pub i: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Cursor { b, i: 0 }
    }

    #[inline]
    pub fn skip_spaces(&mut self) {
        while self.i < self.b.len() && (self.b[self.i] == b' ' || self.b[self.i] == b'\t') {
            self.i += 1;
        }
    }

    #[inline]
    pub fn at_end(&self) -> bool {
        self.i >= self.b.len()
    }

    #[inline]
    pub fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    pub fn rest(&self) -> &'a [u8] {
        &self.b[self.i.min(self.b.len())..]
    }

    /// Next bare token (up to a space or tab), after skipping leading spaces.
    #[inline(always)]
    pub fn token(&mut self) -> Option<&'a [u8]> {
        self.skip_spaces();
        if self.at_end() {
            return None;
        }
        let rest = &self.b[self.i..];
        let n = find2(b' ', b'\t', rest).unwrap_or(rest.len());
        self.i += n;
        Some(&rest[..n])
    }

    /// [`Cursor::token`] as a call: for parsers with many token reads, where inlining each
    /// one makes the parser too large to run well.
    #[inline(never)]
    pub fn token_call(&mut self) -> Option<&'a [u8]> {
        self.token()
    }

    /// Next `"..."` field; backslash escapes (`\"`) are kept verbatim in the returned slice.
    #[inline]
    pub fn quoted(&mut self) -> Option<&'a [u8]> {
        self.skip_spaces();
        if self.peek() != Some(b'"') {
            return None;
        }
        let start = self.i + 1;
        let mut j = start;
        loop {
            let k = find2(b'"', b'\\', &self.b[j..])?;
            let at = j + k;
            if self.b[at] == b'\\' {
                j = at + 2;
                if j > self.b.len() {
                    return None;
                }
            } else {
                self.i = at + 1;
                return Some(&self.b[start..at]);
            }
        }
    }

    /// Next `[...]` field.
    #[inline]
    pub fn bracketed(&mut self) -> Option<&'a [u8]> {
        self.skip_spaces();
        if self.peek() != Some(b'[') {
            return None;
        }
        let start = self.i + 1;
        let k = find1(b']', &self.b[start..])?;
        self.i = start + k + 1;
        Some(&self.b[start..start + k])
    }
}

/// Splits an HTTP request line `GET /path HTTP/1.1` into method and target.
pub fn request_line(req: &[u8]) -> Result<(&[u8], &str), ParseError> {
    // Methods are a few letters: a plain loop beats a vector search on so short a span.
    let sp = req
        .iter()
        .position(|c| !c.is_ascii_alphabetic())
        .ok_or_else(|| err("malformed request line"))?;
    if sp == 0 || req[sp] != b' ' {
        return Err(err("malformed request line"));
    }
    let method = &req[..sp];
    let rest = &req[sp + 1..];
    // `HTTP/1.1`, `HTTP/1.0` and `HTTP/2.0` are eight bytes; other spellings take the search.
    let target = match rest.len().checked_sub(9) {
        Some(i) if rest[i] == b' ' && rest[i + 1..].starts_with(b"HTTP/") => &rest[..i],
        _ => match memchr::memrchr(b' ', rest) {
            Some(i) if rest[i + 1..].starts_with(b"HTTP/") => &rest[..i],
            _ => rest,
        },
    };
    if target.is_empty() {
        return Err(err("malformed request line"));
    }
    Ok((method, utf8(target, "request target")?))
}

/// Finds the first standalone 4xx/5xx number in a message (`... returned 401 ...`).
pub fn status_in_text(msg: &[u8]) -> Option<u16> {
    let n = msg.len();
    let mut i = 0;
    while i + 3 <= n {
        let c = msg[i];
        if (c == b'4' || c == b'5')
            && msg[i + 1].is_ascii_digit()
            && msg[i + 2].is_ascii_digit()
            && (i == 0 || !msg[i - 1].is_ascii_alphanumeric() && msg[i - 1] != b'.')
            && (i + 3 == n || !msg[i + 3].is_ascii_alphanumeric() && msg[i + 3] != b':')
        {
            let v = (c - b'0') as u16 * 100
                + (msg[i + 1] - b'0') as u16 * 10
                + (msg[i + 2] - b'0') as u16;
            return Some(v);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referer_origins() {
        let cases = [
            (
                "https://app.contoso.com/orders?x=1",
                Some("https://app.contoso.com"),
            ),
            ("http://localhost:5173/", Some("http://localhost:5173")),
            ("https://app.contoso.com", Some("https://app.contoso.com")),
            ("https://user@evil.example/", None),
            ("/relative/path", None),
            (
                "android-app://com.example",
                Some("android-app://com.example"),
            ),
            ("-", None),
            ("https://", None),
            ("http://", None),
            ("http://h?x=1", Some("http://h")),
            ("https://h#frag", Some("https://h")),
            ("http://user@h/", None),
            (
                "HTTPS://App.Example:8443/x",
                Some("HTTPS://App.Example:8443"),
            ),
            (
                "https://a-long-host-name.region.example.com:8443/path/x",
                Some("https://a-long-host-name.region.example.com:8443"),
            ),
            (
                "https://a-long-host-name.region.example.com@evil.example/",
                None,
            ),
        ];
        for (r, want) in cases {
            assert_eq!(referer_origin(r), want, "{r}");
        }
    }

    #[test]
    fn scheme_separators() {
        for (v, want) in [
            ("https://a", true),
            ("a:b://c", true),
            ("10.0.0.1:8080", false),
            ("::", false),
            (":/", false),
            ("x:/y//", false),
            ("", false),
            ("android-app://x", true),
            ("host:1 https://", true),
        ] {
            assert_eq!(has_scheme_sep(v.as_bytes()), want, "{v}");
        }
    }

    #[test]
    fn seconds() {
        assert_eq!(seconds_to_ms(b"0.012"), Some(12));
        assert_eq!(seconds_to_ms(b"1"), Some(1000));
        assert_eq!(seconds_to_ms(b"12.5"), Some(12_500));
        assert_eq!(seconds_to_ms(b"0.0004"), Some(0));
        assert_eq!(seconds_to_ms(b"-"), None);
        assert_eq!(seconds_to_ms(b"."), None);
    }

    #[test]
    fn statuses_in_text() {
        assert_eq!(
            status_in_text(b"request returned 401 Unauthorized"),
            Some(401)
        );
        assert_eq!(status_in_text(b"IDX10223: expired at 10:31:02"), None);
        assert_eq!(status_in_text(b"(403)"), Some(403));
        assert_eq!(status_in_text(b"took 4.500s"), None);
    }

    #[test]
    fn cursor_fields() {
        let mut c = Cursor::new(br#"1.2.3.4 - [t z] "GET /a\"b HTTP/1.1" 200"#);
        assert_eq!(c.token(), Some(&b"1.2.3.4"[..]));
        assert_eq!(c.token(), Some(&b"-"[..]));
        assert_eq!(c.bracketed(), Some(&b"t z"[..]));
        assert_eq!(c.quoted(), Some(&br#"GET /a\"b HTTP/1.1"#[..]));
        assert_eq!(c.token(), Some(&b"200"[..]));
        assert_eq!(c.token(), None);
        let mut c = Cursor::new(br#""unterminated \"#);
        assert_eq!(c.quoted(), None);
    }
}
