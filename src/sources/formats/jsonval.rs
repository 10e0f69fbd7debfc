//! A key-skipping JSON reader for log lines, and the value types the JSON formats share.
//!
//! Access-log lines carry dozens of fields of which a parser needs a handful. [`Scan`] walks a
//! document once: keys are compared as raw bytes against the wanted ones, every other value
//! is skipped (strings with `memchr2`, containers by depth), and only the values a record uses
//! are decoded. A used string is borrowed from the line unless it holds a backslash, so the
//! common line costs no allocation. Skipped values are still checked for JSON syntax, so a
//! corrupted line is an error rather than a record built from half of it.
//!
//! Leniencies, all about bytes no record uses: raw control characters inside strings are
//! accepted, invalid UTF-8 counts only in decoded strings, and a skipped number too large
//! for a double is not an error.
//!
//! One file, past the usual 700 lines: a hand JSON reader kept for the speed
//! `benches/ingest.rs` measures; its scanning, string decoding and number skipping share one
//! cursor.

use std::borrow::Cow;

use memchr::memchr2;

use crate::model::time::{EpochMs, parse_clf, parse_rfc3339};

/// Nesting deeper than this is refused: nothing legitimate in an access log comes close, and
/// a bound keeps recursion in the guided walkers finite.
pub const MAX_DEPTH: u32 = 128;

/// Why a document could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonError {
    /// The input ended inside a value.
    Truncated,
    /// Not JSON at this byte offset.
    Syntax(usize),
    /// A `\u` escape that names no character (an unpaired surrogate).
    Escape,
    TooDeep,
    /// A used field holds the wrong kind of value.
    Shape(&'static str, Want),
    /// A used string field is not UTF-8.
    Utf8(&'static str),
    Duplicate(&'static str),
}

/// What a field should have held (kept to one byte so that results stay small on the hot
/// path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Text,
    Number,
    Time,
    Duration,
    Header,
    Object,
    Array,
    Records,
}

impl Want {
    fn as_str(self) -> &'static str {
        match self {
            Want::Text => "a string",
            Want::Number => "a number",
            Want::Time => "a timestamp",
            Want::Duration => "a duration",
            Want::Header => "a header value",
            Want::Object => "an object",
            Want::Array => "an array",
            Want::Records => "an array of objects",
        }
    }
}

impl JsonError {
    /// A short reason for the error counters; never quotes the input, which may hold tokens.
    pub fn reason(&self, doc: &[u8]) -> String {
        match *self {
            JsonError::Truncated => "truncated JSON".to_string(),
            JsonError::Syntax(at) => {
                let at = at.min(doc.len());
                let line_start = memchr::memrchr(b'\n', &doc[..at]).map_or(0, |n| n + 1);
                format!("invalid JSON at column {}", at - line_start + 1)
            }
            JsonError::Escape => "invalid JSON: unpaired surrogate in a \\u escape".to_string(),
            JsonError::TooDeep => "JSON nested too deeply".to_string(),
            JsonError::Shape(field, want) => {
                format!("unexpected JSON shape: {field} is not {}", want.as_str())
            }
            JsonError::Utf8(field) => format!("{field} is not UTF-8"),
            JsonError::Duplicate(field) => {
                format!("unexpected JSON shape: duplicate field {field}")
            }
        }
    }
}

/// Marks a field as seen and hands back its name for the reader; a second occurrence is an
/// error because either choice of value would be a guess.
#[inline]
pub fn once(seen: &mut u32, bit: u32, field: &'static str) -> Result<&'static str, JsonError> {
    let m = 1 << bit;
    if *seen & m != 0 {
        return Err(JsonError::Duplicate(field));
    }
    *seen |= m;
    Ok(field)
}

/// A string's bytes between its quotes, escapes still in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawStr<'a> {
    pub raw: &'a [u8],
    /// Offset of `raw` in the document.
    start: usize,
    pub escaped: bool,
}

fn hex4(b: &[u8]) -> Option<u32> {
    let b = b.get(..4)?;
    let mut v = 0u32;
    for &c in b {
        v = v * 16 + (c as char).to_digit(16)?;
    }
    Some(v)
}

/// Resolves escapes in a string whose escapes [`Scan`] has already checked for syntax.
fn unescape(s: &str) -> Result<String, JsonError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('\\') {
        out.push_str(&rest[..p]);
        let b = &rest.as_bytes()[p + 1..];
        let (c, used) = match b.first() {
            Some(b'"') => ('"', 1),
            Some(b'\\') => ('\\', 1),
            Some(b'/') => ('/', 1),
            Some(b'b') => ('\u{8}', 1),
            Some(b'f') => ('\u{c}', 1),
            Some(b'n') => ('\n', 1),
            Some(b'r') => ('\r', 1),
            Some(b't') => ('\t', 1),
            Some(b'u') => {
                let hi = hex4(&b[1..]).ok_or(JsonError::Escape)?;
                match hi {
                    0xD800..=0xDBFF => {
                        let lo = match b.get(5..7) {
                            Some(b"\\u") => hex4(&b[7..]).ok_or(JsonError::Escape)?,
                            _ => return Err(JsonError::Escape),
                        };
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return Err(JsonError::Escape);
                        }
                        let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                        (char::from_u32(cp).ok_or(JsonError::Escape)?, 11)
                    }
                    0xDC00..=0xDFFF => return Err(JsonError::Escape),
                    _ => (char::from_u32(hi).ok_or(JsonError::Escape)?, 5),
                }
            }
            _ => return Err(JsonError::Escape),
        };
        out.push(c);
        rest = &rest[p + 1 + used..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Where a walk is inside an object or array: before its first member or after one.
#[derive(Debug)]
pub struct Seq {
    first: bool,
}

/// A cursor over one JSON document.
pub struct Scan<'a> {
    b: &'a [u8],
    /// The whole document as text when it is valid UTF-8 (nearly always): one validation
    /// pass over the line is cheaper than one per decoded field, and strings are then cut
    /// from it at their quotes, which are always character boundaries.
    text: Option<&'a str>,
    i: usize,
    /// The decoded form of the last key that held escapes (rare: no allocation otherwise).
    key_buf: Vec<u8>,
}

impl<'a> Scan<'a> {
    pub fn new(b: &'a [u8]) -> Scan<'a> {
        Scan {
            b,
            text: std::str::from_utf8(b).ok(),
            i: 0,
            key_buf: Vec::new(),
        }
    }

    /// A string's text: borrowed from the document unless it holds escapes.
    #[inline(always)]
    pub fn text(&self, r: RawStr<'a>, field: &'static str) -> Result<Cow<'a, str>, JsonError> {
        let s = match self.text {
            Some(t) => t.get(r.start..r.start + r.raw.len()),
            None => std::str::from_utf8(r.raw).ok(),
        }
        .ok_or(JsonError::Utf8(field))?;
        if !r.escaped {
            return Ok(Cow::Borrowed(s));
        }
        unescape(s).map(Cow::Owned)
    }

    /// A string value, decoded (the cursor must be on its opening quote).
    #[inline(always)]
    pub fn string(&mut self, field: &'static str) -> Result<Cow<'a, str>, JsonError> {
        let r = self.raw_str()?;
        self.text(r, field)
    }

    /// Byte offset of the cursor.
    pub fn pos(&self) -> usize {
        self.i
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The first byte of the next value, after whitespace.
    #[inline]
    pub fn peek(&mut self) -> Result<u8, JsonError> {
        self.ws();
        self.b.get(self.i).copied().ok_or(JsonError::Truncated)
    }

    /// Only whitespace may follow the document.
    pub fn end(&mut self) -> Result<(), JsonError> {
        self.ws();
        if self.i < self.b.len() {
            return Err(JsonError::Syntax(self.i));
        }
        Ok(())
    }

    #[inline]
    fn syntax_or_eof(&self, at: usize) -> JsonError {
        if at >= self.b.len() {
            JsonError::Truncated
        } else {
            JsonError::Syntax(at)
        }
    }

    /// Enters an object (the next value must be one).
    #[inline]
    pub fn object(&mut self) -> Result<Seq, JsonError> {
        if self.peek()? != b'{' {
            return Err(JsonError::Syntax(self.i));
        }
        self.i += 1;
        Ok(Seq { first: true })
    }

    /// Enters an array (the next value must be one).
    #[inline]
    pub fn array(&mut self) -> Result<Seq, JsonError> {
        if self.peek()? != b'[' {
            return Err(JsonError::Syntax(self.i));
        }
        self.i += 1;
        Ok(Seq { first: true })
    }

    /// The next member's key, leaving the cursor at its value (which the caller must read or
    /// skip); `None` once the object is closed.
    #[inline(always)]
    pub fn key(&mut self, seq: &mut Seq) -> Result<Option<&[u8]>, JsonError> {
        let mut c = self.peek()?;
        // After a comma a key must follow (checked below), so a brace here closes either an
        // empty object or one whose last value was just read.
        if c == b'}' {
            self.i += 1;
            return Ok(None);
        }
        if seq.first {
            seq.first = false;
        } else {
            if c != b',' {
                return Err(JsonError::Syntax(self.i));
            }
            self.i += 1;
            c = self.peek()?;
        }
        if c != b'"' {
            return Err(JsonError::Syntax(self.i));
        }
        let k = self.raw_str()?;
        self.colon()?;
        if !k.escaped {
            return Ok(Some(k.raw));
        }
        // Compared in decoded form; a key that does not decode matches nothing, as no wanted
        // key holds a backslash.
        match std::str::from_utf8(k.raw).ok().map(unescape) {
            Some(Ok(d)) => {
                self.key_buf.clear();
                self.key_buf.extend_from_slice(d.as_bytes());
                Ok(Some(&self.key_buf))
            }
            _ => Ok(Some(k.raw)),
        }
    }

    #[inline(always)]
    fn colon(&mut self) -> Result<(), JsonError> {
        if self.b.get(self.i) != Some(&b':') {
            self.ws();
            if self.b.get(self.i) != Some(&b':') {
                return Err(self.syntax_or_eof(self.i));
            }
        }
        self.i += 1;
        Ok(())
    }

    /// A member key and its colon; the cursor is left on the value.
    #[inline]
    fn key_colon(&mut self) -> Result<RawStr<'a>, JsonError> {
        if self.b.get(self.i) != Some(&b'"') {
            return Err(self.syntax_or_eof(self.i));
        }
        let k = self.raw_str()?;
        self.colon()?;
        Ok(k)
    }

    /// Whether the array has another element; if so the cursor is left on it.
    #[inline]
    pub fn elem(&mut self, seq: &mut Seq) -> Result<bool, JsonError> {
        let c = self.peek()?;
        // After a comma the caller reads a value, and a bracket is no value: `[1,]` fails there.
        if c == b']' {
            self.i += 1;
            return Ok(false);
        }
        if !std::mem::replace(&mut seq.first, false) {
            if c != b',' {
                return Err(JsonError::Syntax(self.i));
            }
            self.i += 1;
        }
        Ok(true)
    }

    /// A string value (the cursor must be on its opening quote).
    #[inline(always)]
    pub fn raw_str(&mut self) -> Result<RawStr<'a>, JsonError> {
        let start = self.i + 1;
        // Short strings without escapes, by far the most common, end in the first words.
        let mut j = start;
        for _ in 0..3 {
            let Some(w) = self.b.get(j..).and_then(<[u8]>::first_chunk::<8>) else {
                break;
            };
            let m = quote_mask(u64::from_le_bytes(*w));
            if m != 0 {
                let at = j + (m.trailing_zeros() / 8) as usize;
                if self.b.get(at) != Some(&b'"') {
                    break;
                }
                self.i = at + 1;
                return Ok(RawStr {
                    raw: &self.b[start..at],
                    start,
                    escaped: false,
                });
            }
            j += 8;
        }
        self.raw_str_slow(start, j)
    }

    /// The rest of [`Self::raw_str`]: long strings and escapes, from `j` on.
    #[inline(never)]
    fn raw_str_slow(&mut self, start: usize, mut j: usize) -> Result<RawStr<'a>, JsonError> {
        let mut escaped = false;
        loop {
            let Some(at) = quote_or_backslash(self.b, j) else {
                return Err(JsonError::Truncated);
            };
            if self.b[at] == b'"' {
                self.i = at + 1;
                return Ok(RawStr {
                    raw: &self.b[start..at],
                    start,
                    escaped,
                });
            }
            escaped = true;
            j = self.escape_end(at)?;
        }
    }

    /// Checks the escape whose backslash is at `at`; returns the offset after it.
    #[inline]
    fn escape_end(&self, at: usize) -> Result<usize, JsonError> {
        match self.b.get(at + 1) {
            None => Err(JsonError::Truncated),
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(at + 2),
            Some(b'u') => {
                for k in at + 2..at + 6 {
                    match self.b.get(k) {
                        None => return Err(JsonError::Truncated),
                        Some(c) if c.is_ascii_hexdigit() => {}
                        Some(_) => return Err(JsonError::Syntax(k)),
                    }
                }
                Ok(at + 6)
            }
            Some(_) => Err(JsonError::Syntax(at + 1)),
        }
    }

    /// A number token, checked against JSON's grammar.
    #[inline]
    fn number(&mut self) -> Result<&'a [u8], JsonError> {
        let b = self.b;
        let start = self.i;
        let mut j = start;
        if b.get(j) == Some(&b'-') {
            j += 1;
        }
        match b.get(j) {
            Some(b'0') => j += 1,
            Some(b'1'..=b'9') => {
                j += 1;
                while b.get(j).is_some_and(u8::is_ascii_digit) {
                    j += 1;
                }
            }
            _ => return Err(self.syntax_or_eof(j)),
        }
        if b.get(j) == Some(&b'.') {
            j += 1;
            if !b.get(j).is_some_and(u8::is_ascii_digit) {
                return Err(self.syntax_or_eof(j));
            }
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
        }
        if matches!(b.get(j), Some(b'e' | b'E')) {
            j += 1;
            if matches!(b.get(j), Some(b'+' | b'-')) {
                j += 1;
            }
            if !b.get(j).is_some_and(u8::is_ascii_digit) {
                return Err(self.syntax_or_eof(j));
            }
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
        }
        self.i = j;
        Ok(&b[start..j])
    }

    #[inline]
    fn literal(&mut self, word: &'static [u8]) -> Result<(), JsonError> {
        let rest = &self.b[self.i..];
        if rest.starts_with(word) {
            self.i += word.len();
            return Ok(());
        }
        let n = rest.len().min(word.len());
        if rest.len() < word.len() && rest[..n] == word[..n] {
            return Err(JsonError::Truncated);
        }
        Err(JsonError::Syntax(self.i))
    }

    /// Skips one value of any kind, checking its syntax.
    #[inline(always)]
    pub fn skip(&mut self) -> Result<(), JsonError> {
        // Most skipped values in a log line are strings right after their colon.
        if self.b.get(self.i) == Some(&b'"') {
            return self.raw_str().map(drop);
        }
        self.skip_other()
    }

    #[inline(never)]
    fn skip_other(&mut self) -> Result<(), JsonError> {
        match self.peek()? {
            b'"' => self.raw_str().map(drop),
            b'{' | b'[' => self.skip_nested(),
            b'-' | b'0'..=b'9' => self.number().map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => Err(JsonError::Syntax(self.i)),
        }
    }

    /// Skips an object or array without recursion: one bit per open level says which kind it
    /// is, so that `:` and `,` can be checked where they belong.
    fn skip_nested(&mut self) -> Result<(), JsonError> {
        let mut kinds: u128 = 0;
        let mut depth: u32 = 0;
        loop {
            // At the first byte of a value.
            match self.peek()? {
                c @ (b'{' | b'[') => {
                    if depth == MAX_DEPTH {
                        return Err(JsonError::TooDeep);
                    }
                    let obj = c == b'{';
                    kinds = (kinds << 1) | obj as u128;
                    depth += 1;
                    self.i += 1;
                    let close = if obj { b'}' } else { b']' };
                    if self.peek()? != close {
                        if obj {
                            self.key_colon()?;
                        }
                        continue;
                    }
                    self.i += 1;
                    kinds >>= 1;
                    depth -= 1;
                }
                b'"' => {
                    self.raw_str()?;
                }
                b'-' | b'0'..=b'9' => {
                    self.number()?;
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => return Err(JsonError::Syntax(self.i)),
            }
            // After a value: a separator, or the end of one or more levels.
            loop {
                if depth == 0 {
                    return Ok(());
                }
                let obj = kinds & 1 == 1;
                let c = self.peek()?;
                if c == b',' {
                    self.i += 1;
                    if obj {
                        self.ws();
                        self.key_colon()?;
                    }
                    break;
                }
                if c != if obj { b'}' } else { b']' } {
                    return Err(JsonError::Syntax(self.i));
                }
                self.i += 1;
                kinds >>= 1;
                depth -= 1;
            }
        }
    }

    /// The next value as a string field: strings, and integers as their digits; `null`,
    /// booleans and fractions read as absent; containers are an error.
    #[inline(always)]
    pub fn str_val(&mut self, field: &'static str) -> Result<Option<Cow<'a, str>>, JsonError> {
        if self.b.get(self.i) == Some(&b'"') {
            return self.string(field).map(Some);
        }
        self.str_val_other(field)
    }

    #[inline(never)]
    fn str_val_other(&mut self, field: &'static str) -> Result<Option<Cow<'a, str>>, JsonError> {
        match self.peek()? {
            b'"' => self.string(field).map(Some),
            b'-' | b'0'..=b'9' => {
                let t = self.number()?;
                Ok(integer_text(t))
            }
            b'n' => self.literal(b"null").map(|()| None),
            b't' => self.literal(b"true").map(|()| None),
            b'f' => self.literal(b"false").map(|()| None),
            b'{' | b'[' => Err(JsonError::Shape(field, Want::Text)),
            _ => Err(JsonError::Syntax(self.i)),
        }
    }

    /// The next value as a number, or a string holding one (`"ScStatus":"200"`); `null`, an
    /// empty string and `-` read as absent.
    pub fn num(&mut self, field: &'static str) -> Result<Num, JsonError> {
        let not_num = JsonError::Shape(field, Want::Number);
        match self.peek()? {
            b'-' | b'0'..=b'9' => {
                let t = self.number()?;
                Ok(Num(Some(number_f64(t))))
            }
            b'"' => {
                let s = self.raw_str()?;
                if !s.escaped
                    && let Some(v) = small_uint(s.raw)
                {
                    return Ok(Num(Some(v as f64)));
                }
                num_text(&self.text(s, field)?).ok_or(not_num)
            }
            b'n' => self.literal(b"null").map(|()| Num(None)),
            b't' | b'f' | b'{' | b'[' => Err(not_num),
            _ => Err(JsonError::Syntax(self.i)),
        }
    }

    /// The next value as a timestamp: RFC 3339 / CLF text, or epoch seconds to nanoseconds.
    pub fn ts(&mut self, field: &'static str) -> Result<Ts, JsonError> {
        match self.peek()? {
            b'"' => Ok(Ts(time_str(&self.string(field)?))),
            b'-' | b'0'..=b'9' => {
                let t = self.number()?;
                Ok(Ts(epoch_any(number_f64(t))))
            }
            b'n' => self.literal(b"null").map(|()| Ts(None)),
            b't' | b'f' | b'{' | b'[' => Err(JsonError::Shape(field, Want::Time)),
            _ => Err(JsonError::Syntax(self.i)),
        }
    }

    /// The next value as a duration: seconds as a number, or Go's duration text.
    pub fn dur(&mut self, field: &'static str) -> Result<Dur, JsonError> {
        match self.peek()? {
            b'"' => Ok(Dur(go_duration_ms(&self.string(field)?))),
            b'-' | b'0'..=b'9' => {
                let t = self.number()?;
                Ok(Dur(Some(number_f64(t) * 1e3)))
            }
            b'n' => self.literal(b"null").map(|()| Dur(None)),
            b't' | b'f' | b'{' | b'[' => Err(JsonError::Shape(field, Want::Duration)),
            _ => Err(JsonError::Syntax(self.i)),
        }
    }

    /// The next value as a header: a string, or an array of values (as Go servers log them)
    /// joined with `", "` the way a browser combines repeated header lines.
    pub fn header(&mut self, field: &'static str) -> Result<Option<Cow<'a, str>>, JsonError> {
        match self.peek()? {
            b'"' => self.string(field).map(Some),
            b'n' => self.literal(b"null").map(|()| None),
            b'[' => self.joined(field),
            b'{' | b't' | b'f' | b'-' | b'0'..=b'9' => Err(JsonError::Shape(field, Want::Header)),
            _ => Err(JsonError::Syntax(self.i)),
        }
    }

    /// An array of strings joined with `", "`; non-string scalars are left out.
    pub fn joined(&mut self, field: &'static str) -> Result<Option<Cow<'a, str>>, JsonError> {
        let mut seq = self.array()?;
        let mut out: Option<Cow<'a, str>> = None;
        while self.elem(&mut seq)? {
            let Some(v) = self.str_val(field)? else {
                continue;
            };
            out = Some(match out {
                None => v,
                Some(prev) => Cow::Owned(format!("{prev}, {v}")),
            });
        }
        Ok(out)
    }

    /// Enters an object value, or reads `null` as absent.
    pub fn opt_object(&mut self, field: &'static str) -> Result<Option<Seq>, JsonError> {
        match self.peek()? {
            b'{' => self.object().map(Some),
            b'n' => self.literal(b"null").map(|()| None),
            b'"' | b'[' | b't' | b'f' | b'-' | b'0'..=b'9' => {
                Err(JsonError::Shape(field, Want::Object))
            }
            _ => Err(JsonError::Syntax(self.i)),
        }
    }
}

/// High bit set in each byte of `w` that is `"` or `\`; exact for the lowest such byte
/// (borrows can only mark bytes above a true match), which is the one wanted.
#[inline(always)]
fn quote_mask(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    zero_byte(w ^ (ONES * b'"' as u64)) | zero_byte(w ^ (ONES * b'\\' as u64))
}

/// The first `"` or `\` at or after `j`. Most strings in a log line are a few bytes long,
/// where a word-at-a-time test beats setting up a vector search; long ones go to `memchr2`.
#[inline]
fn quote_or_backslash(b: &[u8], mut j: usize) -> Option<usize> {
    for _ in 0..4 {
        let Some(w) = b.get(j..).and_then(<[u8]>::first_chunk::<8>) else {
            break;
        };
        let m = quote_mask(u64::from_le_bytes(*w));
        if m != 0 {
            return Some(j + (m.trailing_zeros() / 8) as usize);
        }
        j += 8;
    }
    memchr2(b'"', b'\\', b.get(j..)?).map(|k| j + k)
}

/// `Str` semantics for a number token: an integer keeps its digits, anything else is absent.
fn integer_text(t: &[u8]) -> Option<Cow<'_, str>> {
    if t.iter().any(|c| matches!(c, b'.' | b'e' | b'E')) {
        return None;
    }
    let s = std::str::from_utf8(t).ok()?;
    match s.strip_prefix('-') {
        // Integers beyond 64 bits are read as floats by JSON libraries, hence absent here.
        None => s.parse::<u64>().ok().map(|_| Cow::Borrowed(s)),
        Some("0") => Some(Cow::Borrowed("0")),
        Some(_) => s.parse::<i64>().ok().map(|_| Cow::Borrowed(s)),
    }
}

/// Plain digits that fit an `f64` exactly: the common status and size fields.
#[inline]
fn small_uint(b: &[u8]) -> Option<u64> {
    if b.len() > 15 {
        return None;
    }
    super::common::parse_u64(b)
}

/// A number token (already checked against the grammar) as an `f64`.
#[inline]
fn number_f64(t: &[u8]) -> f64 {
    match plain_decimal(t) {
        Some(v) => v,
        None => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(f64::NAN),
    }
}

/// Decimals without an exponent and with at most 15 digits (`1775298662.123`, `0.000812`,
/// `200`), the numbers access logs are made of. The digits and the power of ten are both
/// exact doubles, so one correctly rounded division gives the correctly rounded value.
#[inline]
fn plain_decimal(t: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (neg, body) = match t.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, t),
    };
    if body.is_empty() || body.len() > 16 {
        return None;
    }
    let mut m = 0u64;
    let mut digits = 0usize;
    let mut frac: Option<usize> = None;
    for (i, &c) in body.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                m = m * 10 + (c - b'0') as u64;
                digits += 1;
            }
            b'.' if frac.is_none() => frac = Some(body.len() - i - 1),
            _ => return None,
        }
    }
    if digits > 15 {
        return None;
    }
    let v = m as f64 / POW10[frac.unwrap_or(0)];
    Some(if neg { -v } else { v })
}

/// A number written as a string; `Some(Num(None))` for the empty and `-` placeholders.
fn num_text(s: &str) -> Option<Num> {
    let t = s.trim();
    if t.is_empty() || t == "-" {
        return Some(Num(None));
    }
    t.parse::<f64>().ok().map(|n| Num(Some(n)))
}

/// A JSON number, or a string holding one.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Num(pub Option<f64>);

impl Num {
    pub fn as_u64(self) -> Option<u64> {
        self.0
            .filter(|v| v.is_finite() && *v >= 0.0 && *v < 1.8e19)
            .map(|v| v as u64)
    }
}

/// A duration in milliseconds, from seconds as a number (Caddy's default) or a Go duration
/// string (`812µs`, `1.5ms`, `2s`, as Caddy writes with `duration_format string`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Dur(pub Option<f64>);

/// Parses Go's `time.Duration` text form into milliseconds.
pub fn go_duration_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    let mut total = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ns" => 1e-6,
            "us" | "µs" | "μs" => 1e-3,
            "ms" => 1.0,
            "s" => 1e3,
            "m" => 60e3,
            "h" => 3600e3,
            _ => return None,
        };
        total += value * factor;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// A timestamp: RFC 3339 / CLF string, or epoch seconds (float) as Caddy writes `ts`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Ts(pub Option<EpochMs>);

/// Epoch numbers: seconds, milliseconds, microseconds or nanoseconds by magnitude.
pub fn epoch_any(v: f64) -> Option<EpochMs> {
    if !v.is_finite() || v <= 0.0 {
        return None;
    }
    let ms = if v < 1e11 {
        v * 1e3
    } else if v < 1e14 {
        v
    } else if v < 1e17 {
        v / 1e3
    } else {
        v / 1e6
    };
    Some(ms.round() as EpochMs)
}

pub fn time_str(s: &str) -> Option<EpochMs> {
    let b = s.trim().as_bytes();
    parse_rfc3339(b).or_else(|| parse_clf(b))
}

/// Follows bracket depth through a document that arrives in pieces (pretty-printed over
/// lines), ignoring brackets inside strings.
#[derive(Debug, Default, Clone, Copy)]
pub struct Depth {
    pub depth: i64,
    in_str: bool,
    esc: bool,
}

impl Depth {
    /// Feeds a whole piece.
    pub fn feed(&mut self, b: &[u8]) {
        self.run(b, false);
    }

    /// Feeds bytes up to the one that brings the depth back to zero and returns the offset
    /// after it; `None` (all of `b` consumed) while the value stays open.
    pub fn close(&mut self, b: &[u8]) -> Option<usize> {
        self.run(b, true)
    }

    fn run(&mut self, b: &[u8], stop_at_zero: bool) -> Option<usize> {
        let mut i = 0;
        while i < b.len() {
            if self.in_str {
                if self.esc {
                    self.esc = false;
                    i += 1;
                    continue;
                }
                let k = memchr2(b'"', b'\\', &b[i..])?;
                let at = i + k;
                if b[at] == b'\\' {
                    self.esc = true;
                } else {
                    self.in_str = false;
                }
                i = at + 1;
                continue;
            }
            match b[i] {
                b'"' => self.in_str = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth -= 1;
                    if stop_at_zero && self.depth <= 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        None
    }
}

#[cfg(test)]
#[path = "jsonval_tests.rs"]
mod tests;
