//! W3C extended log files (IIS, App Service raw web server logs). The `#Fields:` directive
//! names the columns and may appear again anywhere (a restart, a configuration change), so it
//! is re-read every time.
//!
//! Data lines before any `#Fields:` (tailing from the middle of a file) are read with a
//! default field set when their column count matches one: 19 columns = the App Service
//! default, 15 columns = the IIS default. Other counts are a parse error.
//!
//! A data line costs little beyond what its record needs: each `#Fields:` is turned once into
//! the positions of the columns a record uses, a line is split in one pass over bit masks of
//! its spaces (field starts are recorded only up to the last used column; later fields are
//! only counted, for the column-count check), its text is checked as UTF-8 once, and only the
//! used columns are read.

use std::borrow::Cow;
use std::sync::LazyLock;

use super::common::{self, MAX_TEXT_LINE, err, origin_fields, prepare, utf8};
use super::{Fed, LogParser, ParseError};
use crate::model::time::{EpochMs, from_parts, parse_rfc3339};
use crate::sources::event::{HttpRecord, Method, Sink};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    Date,
    Time,
    Method,
    Stem,
    Status,
    TimeTaken,
    Host,
    Referer,
    Origin,
    Acao,
    ClientIp,
    Computer,
    ServerIp,
    Ignore,
}

fn col(name: &[u8]) -> Col {
    let n = name.to_ascii_lowercase();
    match n.as_slice() {
        b"date" => Col::Date,
        b"time" => Col::Time,
        b"cs-method" => Col::Method,
        b"cs-uri-stem" => Col::Stem,
        b"sc-status" => Col::Status,
        b"time-taken" => Col::TimeTaken,
        b"cs-host" | b"cs(host)" => Col::Host,
        b"cs(referer)" | b"cs(referrer)" => Col::Referer,
        b"cs(origin)" => Col::Origin,
        b"sc(access-control-allow-origin)" | b"rs(access-control-allow-origin)" => Col::Acao,
        b"c-ip" => Col::ClientIp,
        b"s-computername" => Col::Computer,
        b"s-ip" => Col::ServerIp,
        _ => Col::Ignore,
    }
}

/// The directive naming the columns; every other `#` line is a comment.
const FIELDS: &[u8] = b"#Fields:";

const APPSERVICE_DEFAULT: &str = "date time s-sitename cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken";
const IIS_DEFAULT: &str = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken";

/// Most columns a data line may have.
const MAX_COLS: usize = 48;

/// No such column in the layout.
const NONE: usize = usize::MAX;

/// Column positions of the fields a record is built from (`NONE` when not logged).
#[derive(Clone, Copy, Debug)]
struct Slots {
    date: usize,
    time: usize,
    method: usize,
    stem: usize,
    status: usize,
    time_taken: usize,
    host: usize,
    referer: usize,
    origin: usize,
    acao: usize,
    client: usize,
    computer: usize,
    server_ip: usize,
}

/// The column layout of a `#Fields:` directive, with the positions the parser needs worked
/// out once here rather than looked up on every data line.
#[derive(Clone, Debug)]
struct Layout {
    cols: Vec<Col>,
    has_origin: bool,
    has_acao: bool,
    missing: Option<&'static str>,
    /// `None` when a used column is named twice: such lines take the general path, whose
    /// outcome depends on the order of the repeats.
    slots: Option<Slots>,
    /// Columns up to the last used one; the ones after it are only counted.
    keep: usize,
}

impl Layout {
    fn from_names(names: &[u8]) -> Layout {
        let cols: Vec<Col> = names
            .split(|c| *c == b' ' || *c == b'\t')
            .filter(|n| !n.is_empty())
            .map(col)
            .collect();
        let has = |c: Col| cols.contains(&c);
        let missing = [
            (Col::Date, "date"),
            (Col::Time, "time"),
            (Col::Method, "cs-method"),
            (Col::Stem, "cs-uri-stem"),
            (Col::Status, "sc-status"),
        ]
        .iter()
        .find(|(c, _)| !has(*c))
        .map(|(_, n)| *n);
        let repeated = cols
            .iter()
            .enumerate()
            .any(|(i, c)| *c != Col::Ignore && cols[..i].contains(c));
        let at = |c: Col| cols.iter().position(|x| *x == c).unwrap_or(NONE);
        let slots = (!repeated).then(|| Slots {
            date: at(Col::Date),
            time: at(Col::Time),
            method: at(Col::Method),
            stem: at(Col::Stem),
            status: at(Col::Status),
            time_taken: at(Col::TimeTaken),
            host: at(Col::Host),
            referer: at(Col::Referer),
            origin: at(Col::Origin),
            acao: at(Col::Acao),
            client: at(Col::ClientIp),
            computer: at(Col::Computer),
            server_ip: at(Col::ServerIp),
        });
        let keep = match slots {
            Some(_) => cols
                .iter()
                .rposition(|c| *c != Col::Ignore)
                .map_or(0, |i| i + 1),
            None => cols.len(),
        };
        Layout {
            has_origin: has(Col::Origin),
            has_acao: has(Col::Acao),
            missing,
            slots,
            keep,
            cols,
        }
    }
}

/// Layouts for data lines read before any `#Fields:`, built once.
static DEFAULT_LAYOUTS: LazyLock<[Layout; 2]> = LazyLock::new(|| {
    [
        Layout::from_names(APPSERVICE_DEFAULT.as_bytes()),
        Layout::from_names(IIS_DEFAULT.as_bytes()),
    ]
});

#[derive(Default)]
pub struct W3c {
    layout: Option<Layout>,
    /// The last `date time` read as `YYYY-MM-DD HH:MM:SS` and its value: lines come many to a
    /// second.
    last_stamp: Option<Stamp>,
}

impl W3c {
    fn default_layout(ncols: usize) -> Option<&'static Layout> {
        match ncols {
            19 => Some(&DEFAULT_LAYOUTS[0]),
            15 => Some(&DEFAULT_LAYOUTS[1]),
            _ => None,
        }
    }
}

/// Where the fields of a data line start; a field is a run of bytes other than a space.
struct Fields {
    start: [u32; MAX_COLS],
    /// How many starts were recorded.
    known: usize,
    /// How many fields there are.
    count: usize,
    /// Fields are one space apart with none before the first or after the last (nearly every
    /// line), so a field ends one byte before the next one starts.
    single_spaced: bool,
}

/// The spaces among 8 bytes, as the low 8 bits. The zero-byte test is the exact one (no
/// carry crosses a byte), so every bit is right, not only the first.
#[inline(always)]
fn spaces8(w: [u8; 8]) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = u64::from_le_bytes(w) ^ 0x2020_2020_2020_2020;
    let zero = !(((x & LOW7) + LOW7) | x | LOW7);
    // Gathers bit 7 of every byte into the top byte.
    (zero >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// The spaces among 64 bytes, as bits. SSE2 is part of every x86-64 CPU: sixteen bytes per
/// compare, against eight per dozen operations for the portable word trick.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)]
fn spaces64(block: &[u8; 64]) -> u64 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is enabled on every x86-64 target; each 16-byte load is inside `block`
    // (k < 4) and unaligned loads are allowed.
    unsafe {
        let space = _mm_set1_epi8(b' ' as i8);
        let mut m = 0;
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
            m |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, space)) as u16 as u64) << (16 * k);
        }
        m
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn spaces64(block: &[u8; 64]) -> u64 {
    spaces64_words(block)
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn spaces64_words(block: &[u8; 64]) -> u64 {
    let (words, _) = block.as_chunks::<8>();
    let mut m = 0;
    for (k, w) in words.iter().enumerate() {
        m |= spaces8(*w) << (8 * k);
    }
    m
}

/// Records where the first `keep` (at most [`MAX_COLS`]) fields of `line` start and returns
/// how many fields there are in all. Works on 64-byte blocks as bit masks: one pass, no search
/// per field, and fields past `keep` cost a popcount. Ends are found later, and only for the
/// fields a record uses.
fn split(line: &[u8], keep: usize, f: &mut Fields) -> usize {
    let (blocks, tail) = line.as_chunks::<64>();
    let mut s = Splitter {
        f,
        keep: keep.min(MAX_COLS),
        n: 0,
        carry: 0,
        space_carry: 0,
        doubled: 0,
        base: 0,
    };
    for block in blocks {
        s.block(spaces64(block), u64::MAX);
    }
    // Padding with spaces adds no field; it is left out of the spacing check.
    let mut last = [b' '; 64];
    last[..tail.len()].copy_from_slice(tail);
    s.block(spaces64(&last), (1u64 << tail.len()) - 1);
    let n = s.n;
    let single = s.doubled == 0 && line.first() != Some(&b' ') && line.last() != Some(&b' ');
    f.known = n.min(keep.min(MAX_COLS));
    f.count = n;
    f.single_spaced = single;
    n
}

/// The state of [`split`] between blocks.
struct Splitter<'f> {
    f: &'f mut Fields,
    keep: usize,
    n: usize,
    /// Whether the byte before the block belongs to a field.
    carry: u64,
    /// Whether the byte before the block is a space.
    space_carry: u64,
    /// Spaces right after a space.
    doubled: u64,
    base: usize,
}

impl Splitter<'_> {
    #[inline(always)]
    fn block(&mut self, spaces: u64, real: u64) {
        let word = !spaces;
        let real_spaces = spaces & real;
        self.doubled |= real_spaces & ((real_spaces << 1) | self.space_carry);
        self.space_carry = real_spaces >> 63;
        let mut starts = word & !((word << 1) | self.carry);
        self.carry = word >> 63;
        while starts != 0 && self.n < self.keep {
            self.f.start[self.n] = (self.base + starts.trailing_zeros() as usize) as u32;
            starts &= starts - 1;
            self.n += 1;
        }
        // Without a popcount instruction in the baseline target, skip it when it is 0.
        if starts != 0 {
            self.n += starts.count_ones() as usize;
        }
        self.base += 64;
    }
}

/// W3C values encode spaces as `+`; only fields that become record text are touched, and
/// those (paths, origins, hosts) do not carry spaces, so no decoding is needed on the hot path.
fn value(b: &[u8]) -> Option<&[u8]> {
    match b {
        b"" | b"-" => None,
        _ => Some(b),
    }
}

/// The fields of one data line, as bytes or as text.
struct Line<'a> {
    bytes: &'a [u8],
    /// Most of the line, as far as it is valid UTF-8 (all of it, nearly always): checked once,
    /// so that the fields inside are text without a check of their own.
    text: &'a str,
    /// Where `text` starts in the line.
    text_at: usize,
    fields: &'a Fields,
}

impl<'a> Line<'a> {
    /// Byte range of column `i`.
    #[inline(always)]
    fn span(&self, i: usize) -> Option<(usize, usize)> {
        let f = self.fields;
        let known = f.start.get(..f.known)?;
        let s = *known.get(i)? as usize;
        let e = match known.get(i + 1) {
            Some(&next) if f.single_spaced => (next as usize).saturating_sub(1),
            None if f.single_spaced && i + 1 == f.count => self.bytes.len(),
            _ => self.end_from(s),
        };
        Some((s, e))
    }

    /// The end of the field starting at `s` where spacing is irregular.
    #[cold]
    fn end_from(&self, s: usize) -> usize {
        let rest = self.bytes.get(s..).unwrap_or_default();
        s + memchr::memchr(b' ', rest).unwrap_or(rest.len())
    }

    #[inline(always)]
    fn bytes(&self, i: usize) -> Option<&'a [u8]> {
        let (s, e) = self.span(i)?;
        self.bytes.get(s..e)
    }

    /// Column `i` as text; `None` when it is not UTF-8.
    #[inline(always)]
    fn text(&self, i: usize) -> Option<&'a str> {
        let (s, e) = self.span(i)?;
        if s >= self.text_at && e - self.text_at <= self.text.len() {
            self.text.get(s - self.text_at..e - self.text_at)
        } else {
            std::str::from_utf8(self.bytes.get(s..e)?).ok()
        }
    }

    /// An optional text column: absent when not logged, `-`, or not UTF-8.
    #[inline(always)]
    fn opt(&self, i: usize) -> Option<&'a str> {
        self.text(i).and_then(common::present)
    }
}

impl LogParser for W3c {
    fn name(&self) -> &'static str {
        "w3c"
    }

    fn header_prefix(&self) -> Option<&'static [u8]> {
        Some(FIELDS)
    }

    fn feed(&mut self, line: &[u8], sink: &mut dyn Sink) -> Result<Fed, ParseError> {
        let line = prepare(line, MAX_TEXT_LINE)?;
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fed::Skipped);
        }
        if line[0] == b'#' {
            if let Some(rest) = line.strip_prefix(FIELDS) {
                self.layout = Some(Layout::from_names(rest));
            }
            return Ok(Fed::Skipped);
        }
        let mut fields = Fields {
            start: [0; MAX_COLS],
            known: 0,
            count: 0,
            single_spaced: false,
        };
        // One start past the last used column bounds that column's end.
        let keep = self.layout.as_ref().map_or(MAX_COLS, |l| l.keep + 1);
        let n = split(line, keep, &mut fields);
        if n > MAX_COLS {
            return Err(err("too many columns"));
        }
        let layout = match &self.layout {
            Some(l) => l,
            None => Self::default_layout(n).ok_or_else(|| {
                err("no #Fields header yet (and not a default IIS/App Service layout)")
            })?,
        };
        if let Some(m) = layout.missing {
            return Err(ParseError::new(format!("#Fields has no {m} column")));
        }
        if n != layout.cols.len() {
            return Err(ParseError::new(format!(
                "{} columns, #Fields declares {}",
                n,
                layout.cols.len()
            )));
        }
        // The UTF-8 check goes word by word only from an 8-byte boundary and in steps of 16
        // bytes, and byte by byte elsewhere: the bytes before the first boundary (inside the
        // first column, nearly always) and after the last step are left to the fields that
        // need them.
        let text_at = (8 - line.as_ptr() as usize % 8) % 8;
        let body = line.get(text_at..).unwrap_or_default();
        let body = &body[..body.len() / 16 * 16];
        let text = match std::str::from_utf8(body) {
            Ok(t) => t,
            Err(e) => std::str::from_utf8(&body[..e.valid_up_to()]).unwrap_or_default(),
        };
        let line = Line {
            bytes: line,
            text,
            text_at,
            fields: &fields,
        };
        match &layout.slots {
            Some(slots) => record(layout, slots, &line, &mut self.last_stamp, sink),
            None => record_repeated(layout, n, &line, sink),
        }
    }
}

/// Builds the record of a data line from the precomputed column positions.
fn record(
    layout: &Layout,
    at: &Slots,
    line: &Line<'_>,
    last_stamp: &mut Option<Stamp>,
    sink: &mut dyn Sink,
) -> Result<Fed, ParseError> {
    let field = |i| line.bytes(i).unwrap_or_default();
    let status = common::status(field(at.status))?;
    let time = quick_stamp(field(at.date), field(at.time), last_stamp)?;
    let path = match line.text(at.stem) {
        Some(p) => p,
        None => utf8(field(at.stem), "cs-uri-stem")?,
    };
    let (origin, origin_derived) = if layout.has_origin {
        (line.opt(at.origin).map(Cow::Borrowed), false)
    } else {
        origin_fields(false, None, line.opt(at.referer))
    };
    let instance = match line.opt(at.computer) {
        Some(c) => Some(c),
        // A blank s-computername overrides an s-ip before it, not one after it.
        None if at.computer == NONE || at.server_ip > at.computer => line.opt(at.server_ip),
        None => None,
    };
    let rec = HttpRecord {
        time,
        method: Method::parse(field(at.method)),
        path: Cow::Borrowed(path),
        status,
        latency_ms: line.bytes(at.time_taken).and_then(common::parse_u32),
        host: line.opt(at.host).map(Cow::Borrowed),
        origin,
        origin_derived,
        // Logged: `-` means the response had none.
        acao: layout
            .has_acao
            .then(|| Cow::Borrowed(line.text(at.acao).unwrap_or("-"))),
        instance: instance.map(Cow::Borrowed),
        client: line.opt(at.client).map(Cow::Borrowed),
    };
    sink.http(&rec);
    Ok(Fed::Records(1))
}

/// A `date` and `time` pair and its value.
struct Stamp {
    date: [u8; 10],
    time: [u8; 8],
    ms: EpochMs,
}

/// [`stamp`] for the usual `YYYY-MM-DD` `HH:MM:SS` pair, remembering the last one; any
/// other shape goes to [`stamp`].
#[inline]
fn quick_stamp(date: &[u8], time: &[u8], last: &mut Option<Stamp>) -> Result<EpochMs, ParseError> {
    let (Ok(d), Ok(t)) = (<[u8; 10]>::try_from(date), <[u8; 8]>::try_from(time)) else {
        return stamp(date, time);
    };
    if let Some(l) = last
        && l.date == d
        && l.time == t
    {
        return Ok(l.ms);
    }
    let two = |a: u8, b: u8| {
        (a.is_ascii_digit() && b.is_ascii_digit())
            .then(|| u32::from(a - b'0') * 10 + u32::from(b - b'0'))
    };
    let parts = (|| {
        if d[4] != b'-' || d[7] != b'-' || t[2] != b':' || t[5] != b':' {
            return None;
        }
        let year = two(d[0], d[1])? * 100 + two(d[2], d[3])?;
        from_parts(
            i64::from(year),
            two(d[5], d[6])?,
            two(d[8], d[9])?,
            two(t[0], t[1])?,
            two(t[3], t[4])?,
            two(t[6], t[7])?,
            0,
        )
    })();
    let ms = parts.ok_or_else(|| err("bad date/time"))?;
    *last = Some(Stamp {
        date: d,
        time: t,
        ms,
    });
    Ok(ms)
}

/// `date` and `time` columns to epoch milliseconds.
fn stamp(date: &[u8], time: &[u8]) -> Result<EpochMs, ParseError> {
    let mut stamp = [0u8; 40];
    if date.len() + time.len() + 1 > stamp.len() {
        return Err(err("bad date/time"));
    }
    stamp[..date.len()].copy_from_slice(date);
    stamp[date.len()] = b' ';
    stamp[date.len() + 1..date.len() + 1 + time.len()].copy_from_slice(time);
    parse_rfc3339(&stamp[..date.len() + 1 + time.len()]).ok_or_else(|| err("bad date/time"))
}

/// A layout naming a used column more than once: every column is applied in order, later
/// ones overriding earlier ones.
fn record_repeated(
    layout: &Layout,
    n: usize,
    line: &Line<'_>,
    sink: &mut dyn Sink,
) -> Result<Fed, ParseError> {
    let mut rec = HttpRecord::default();
    let (mut date, mut time): (&[u8], &[u8]) = (&[], &[]);
    let (mut origin, mut referer, mut acao) = (None, None, None);
    let mut status = None;
    let mut path = None;
    for (i, c) in layout.cols.iter().enumerate().take(n) {
        let f = line.bytes(i).unwrap_or_default();
        match c {
            Col::Date => date = f,
            Col::Time => time = f,
            Col::Method => rec.method = Method::parse(f),
            Col::Stem => path = Some(f),
            Col::Status => status = Some(common::status(f)?),
            Col::TimeTaken => rec.latency_ms = common::parse_u32(f),
            Col::Host => rec.host = value(f).and_then(common::opt_field).map(Cow::Borrowed),
            Col::Referer => referer = value(f).and_then(common::opt_field),
            Col::Origin => origin = value(f).and_then(common::opt_field),
            Col::Acao => acao = Some(f),
            Col::ClientIp => rec.client = value(f).and_then(common::opt_field).map(Cow::Borrowed),
            Col::Computer => rec.instance = value(f).and_then(common::opt_field).map(Cow::Borrowed),
            Col::ServerIp => {
                if rec.instance.is_none() {
                    rec.instance = value(f).and_then(common::opt_field).map(Cow::Borrowed);
                }
            }
            Col::Ignore => {}
        }
    }
    rec.time = stamp(date, time)?;
    rec.status = status.ok_or_else(|| err("missing sc-status"))?;
    rec.path = Cow::Borrowed(utf8(path.unwrap_or(b"/"), "cs-uri-stem")?);
    let (o, derived) = origin_fields(layout.has_origin, origin, referer);
    rec.origin = o;
    rec.origin_derived = derived;
    if layout.has_acao {
        rec.acao = Some(Cow::Borrowed(
            acao.and_then(|a| std::str::from_utf8(a).ok())
                .unwrap_or("-"),
        ));
    }
    sink.http(&rec);
    Ok(Fed::Records(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_masks_agree_with_a_byte_loop() {
        // Bytes around the space and with the high bit set are the ones word tricks get wrong.
        let alphabet = [b' ', b'!', 0x1f, 0xa0, 0x00, 0xff, b'a', b'\t', 0x60];
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..2000 {
            let mut block = [0u8; 64];
            for b in &mut block {
                *b = alphabet[rng.usize(..alphabet.len())];
            }
            let want = block
                .iter()
                .enumerate()
                .fold(0u64, |m, (i, &b)| m | (u64::from(b == b' ') << i));
            assert_eq!(spaces64(&block), want, "{block:?}");
            assert_eq!(spaces64_words(&block), want, "{block:?}");
        }
    }
}
