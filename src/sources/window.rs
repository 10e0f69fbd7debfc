//! Where a time window starts in a log file, found without reading the file: a binary search
//! over byte offsets, each probe reading the first line with a time after its offset.
//!
//! Log files are written in time order, nearly: a server writes a request's line when the
//! request ends, so lines may be out of order by the longest request. The search therefore aims
//! [`DISORDER_MS`] before the window, and gives up (answers 0, read everything) when two probes
//! disagree about the order by more than that: a file made of concatenated logs, or a clock
//! that jumped back. Every uncertain step errs towards the start of the file (a probe that
//! finds no time, a line longer than a probe reads), so the answer is never after a line of the
//! window; at worst more is read than needed, and the store drops what is older.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use super::event::{AuthRecord, HttpRecord, Sink};
use super::formats::LogParser;
use crate::model::time::{EpochMs, MINUTE};

/// The search stops once the bounds are this close: reading what lies between costs less than
/// probing further.
pub const SEARCH_CHUNK: u64 = 64 << 10;
/// How far one probe reads looking for a line with a time.
const PROBE_BYTES: usize = 256 << 10;
/// How far out of time order lines may be written.
pub const DISORDER_MS: EpochMs = 5 * MINUTE;

/// The offset of a line start at or before the first line of `[0, end)` stamped at or after
/// `from`, given the time of a line (`None` when it has none). `end` must be a line boundary
/// (see [`complete_end`]). 0 when the times cannot be trusted (see the module docs).
pub fn window_start(
    file: &File,
    end: u64,
    from: EpochMs,
    time_of: &mut dyn FnMut(&[u8]) -> Option<EpochMs>,
) -> io::Result<u64> {
    let aim = from.saturating_sub(DISORDER_MS);
    let mut buf = vec![0u8; PROBE_BYTES];
    if end <= SEARCH_CHUNK {
        return Ok(0);
    }
    let unsorted = |seen: &[(u64, EpochMs)], at: u64, t: EpochMs| {
        seen.iter().any(|&(a, ta)| {
            (a < at && t.saturating_add(DISORDER_MS) < ta)
                || (a > at && ta.saturating_add(DISORDER_MS) < t)
        })
    };
    // The first and the last lines are samples too: two logs concatenated in the wrong order
    // look sorted to every probe inside one of them.
    let mut seen: Vec<(u64, EpochMs)> = Vec::new();
    match probe(file, 0, end, &mut buf, time_of)? {
        Some((_, t)) if t >= aim => return Ok(0),
        Some(sample) => seen.push(sample),
        None => {}
    }
    if let Some((at, t)) = probe(file, end.saturating_sub(4096), end, &mut buf, time_of)? {
        if unsorted(&seen, at, t) {
            return Ok(0);
        }
        seen.push((at, t));
    }
    let (mut lo, mut hi) = (0u64, end);
    while hi.saturating_sub(lo) > SEARCH_CHUNK {
        let mid = lo + (hi - lo) / 2;
        let Some((at, t)) = probe(file, mid, end, &mut buf, time_of)? else {
            hi = mid;
            continue;
        };
        if unsorted(&seen, at, t) {
            return Ok(0);
        }
        seen.push((at, t));
        if t < aim && at < hi {
            lo = at;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// The first line starting at or after `from` that has a time: its offset and time. Reads at
/// most [`PROBE_BYTES`], and only whole lines ending by `end`.
fn probe(
    file: &File,
    from: u64,
    end: u64,
    buf: &mut [u8],
    time_of: &mut dyn FnMut(&[u8]) -> Option<EpochMs>,
) -> io::Result<Option<(u64, EpochMs)>> {
    // One byte before `from` says whether `from` starts a line.
    let base = from.saturating_sub(1);
    let want = (end - base).min(buf.len() as u64) as usize;
    let got = read_full_at(file, &mut buf[..want], base)?;
    let data = &buf[..got];
    let mut pos = if from == 0 {
        0
    } else {
        match memchr::memchr(b'\n', data) {
            Some(i) => i + 1,
            None => return Ok(None),
        }
    };
    while pos < data.len() {
        let Some(len) = memchr::memchr(b'\n', &data[pos..]) else {
            // The last line of the file ends at `end` without a newline only when `end` is
            // past it; a line cut by the probe's size is not read.
            break;
        };
        let line = &data[pos..pos + len];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(t) = time_of(line) {
            return Ok(Some((base + pos as u64, t)));
        }
        pos += len + 1;
    }
    Ok(None)
}

fn read_full_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], at + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The end of the last complete line in the first `size` bytes of the file (0 when there is
/// none): a last line still being written is left to whoever follows the file.
pub fn complete_end(file: &File, size: u64) -> io::Result<u64> {
    let mut buf = vec![0u8; 64 << 10];
    let mut hi = size;
    while hi > 0 {
        let lo = hi.saturating_sub(buf.len() as u64);
        let block = &mut buf[..(hi - lo) as usize];
        let got = read_full_at(file, block, lo)?;
        if got < block.len() {
            // The file shrank meanwhile (truncated): nothing of it is history.
            return Ok(0);
        }
        if let Some(i) = memchr::memrchr(b'\n', block) {
            return Ok(lo + i as u64 + 1);
        }
        hi = lo;
    }
    Ok(0)
}

/// The time of a line as `parser` reads it: its first record's. `None` when the line has no
/// record (a header, a comment, a line the parser refuses).
pub fn line_time(parser: &mut dyn LogParser, line: &[u8]) -> Option<EpochMs> {
    struct First(Option<EpochMs>);
    impl Sink for First {
        fn http(&mut self, r: &HttpRecord<'_>) {
            self.0.get_or_insert(r.time);
        }
        fn auth(&mut self, r: &AuthRecord<'_>) {
            self.0.get_or_insert(r.time);
        }
    }
    let mut first = First(None);
    parser.feed(line, &mut first).ok().and(first.0)
}

#[cfg(test)]
#[path = "window_tests.rs"]
mod tests;
