//! Splitting a byte stream into lines with a hard cap on line length.
//!
//! Complete lines are handed out borrowed from the chunk that was read whenever they lie inside
//! it; only a line that straddles two reads is copied, into a buffer that never grows past the
//! cap. An overlong line is reported once, with its first bytes as a sample, and the rest of it
//! is skipped up to its newline without being kept.

use memchr::memchr_iter;

/// Longest raw line kept for the live log view, in bytes: what a source copies into a batch
/// and the store keeps in its ring.
pub const MAX_RAW_LINE: usize = 2048;

/// Longest line handed to a parser, in bytes. Anything longer is a parse error, not a record.
pub const MAX_LINE: usize = 1 << 20;

/// How much of an overlong line is kept as the error sample.
const OVERLONG_HEAD: usize = 512;

/// Buffers above this size are released once the line they held has been handed out, so a
/// burst of long lines does not pin a megabyte per source.
const KEEP_CAPACITY: usize = 64 << 10;

/// One piece of output from the splitter.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// A complete line without its terminator (`\n` or `\r\n`).
    Line(&'a [u8]),
    /// A line longer than the cap: its first bytes and its full length (terminator excluded).
    TooLong { head: &'a [u8], len: u64 },
}

/// Incremental line splitter.
#[derive(Debug)]
pub struct LineSplitter {
    partial: Vec<u8>,
    /// Set while discarding the tail of an overlong line: its length so far. `partial` then
    /// holds only the sample head.
    overlong: Option<u64>,
    max_line: usize,
    /// Drop everything up to the first newline (reading started in the middle of a line).
    skip_fragment: bool,
}

impl Default for LineSplitter {
    fn default() -> Self {
        LineSplitter::new(MAX_LINE)
    }
}

impl LineSplitter {
    pub fn new(max_line: usize) -> LineSplitter {
        LineSplitter {
            partial: Vec::new(),
            overlong: None,
            max_line: max_line.max(1),
            skip_fragment: false,
        }
    }

    /// The next bytes start in the middle of a line: discard them up to the first newline.
    pub fn skip_first_fragment(&mut self) {
        self.skip_fragment = true;
    }

    /// True while an incomplete line is held.
    pub fn has_partial(&self) -> bool {
        !self.partial.is_empty() || self.overlong.is_some()
    }

    /// Bytes of the incomplete line held (or skipped so far, for an overlong one).
    pub fn held_bytes(&self) -> u64 {
        self.overlong.unwrap_or(self.partial.len() as u64)
    }

    /// Feeds a chunk; calls `on` for every line it completes. Returns the number of lines.
    pub fn push(&mut self, chunk: &[u8], on: &mut dyn FnMut(Piece<'_>)) -> u64 {
        let mut chunk = chunk;
        if self.skip_fragment {
            match memchr::memchr(b'\n', chunk) {
                Some(i) => {
                    chunk = &chunk[i + 1..];
                    self.skip_fragment = false;
                }
                None => return 0,
            }
        }
        let mut lines = 0;
        let mut start = 0;
        for nl in memchr_iter(b'\n', chunk) {
            let seg = &chunk[start..nl];
            start = nl + 1;
            lines += 1;
            self.complete(seg, on);
        }
        let rest = &chunk[start..];
        if !rest.is_empty() {
            self.hold(rest);
        }
        lines
    }

    fn complete(&mut self, seg: &[u8], on: &mut dyn FnMut(Piece<'_>)) {
        if let Some(len) = self.overlong.take() {
            on(Piece::TooLong {
                head: &self.partial,
                len: len + seg.len() as u64,
            });
            self.reset_partial();
        } else if self.partial.is_empty() {
            let line = trim_cr(seg);
            if line.len() > self.max_line {
                on(Piece::TooLong {
                    head: &line[..OVERLONG_HEAD.min(line.len())],
                    len: line.len() as u64,
                });
            } else {
                on(Piece::Line(line));
            }
        } else {
            let total = self.partial.len() + seg.len();
            if total > self.max_line + 1 {
                let head = &self.partial[..OVERLONG_HEAD.min(self.partial.len())];
                on(Piece::TooLong {
                    head,
                    len: total as u64,
                });
            } else {
                self.partial.extend_from_slice(seg);
                let line = trim_cr(&self.partial);
                if line.len() > self.max_line {
                    on(Piece::TooLong {
                        head: &line[..OVERLONG_HEAD.min(line.len())],
                        len: line.len() as u64,
                    });
                } else {
                    on(Piece::Line(line));
                }
            }
            self.reset_partial();
        }
    }

    fn hold(&mut self, rest: &[u8]) {
        if let Some(len) = self.overlong.as_mut() {
            *len += rest.len() as u64;
            return;
        }
        let total = self.partial.len() + rest.len();
        // One byte of slack for a `\r` that the newline will strip.
        if total > self.max_line + 1 {
            if self.partial.len() < OVERLONG_HEAD {
                let take = (OVERLONG_HEAD - self.partial.len()).min(rest.len());
                self.partial.extend_from_slice(&rest[..take]);
            }
            self.partial.truncate(OVERLONG_HEAD);
            self.overlong = Some(total as u64);
        } else {
            self.partial.extend_from_slice(rest);
        }
    }

    fn reset_partial(&mut self) {
        self.partial.clear();
        if self.partial.capacity() > KEEP_CAPACITY {
            self.partial = Vec::new();
        }
    }

    /// Hands out the held incomplete line as if its newline had arrived (end of input, or the
    /// file it came from is being left for good). Returns the number of lines (0 or 1).
    pub fn finish(&mut self, on: &mut dyn FnMut(Piece<'_>)) -> u64 {
        self.skip_fragment = false;
        if let Some(len) = self.overlong.take() {
            on(Piece::TooLong {
                head: &self.partial,
                len,
            });
            self.reset_partial();
            return 1;
        }
        if self.partial.is_empty() {
            return 0;
        }
        let line = trim_cr(&self.partial);
        if line.len() > self.max_line {
            on(Piece::TooLong {
                head: &line[..OVERLONG_HEAD.min(line.len())],
                len: line.len() as u64,
            });
        } else {
            on(Piece::Line(line));
        }
        self.reset_partial();
        1
    }

    /// Forgets any held bytes (the data they belonged to is gone).
    pub fn clear(&mut self) {
        self.overlong = None;
        self.skip_fragment = false;
        self.reset_partial();
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    match line.last() {
        Some(b'\r') => &line[..line.len() - 1],
        _ => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    enum Out {
        L(String),
        Long(usize, u64),
    }

    fn run(max: usize, chunks: &[&[u8]], finish: bool) -> Vec<Out> {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        let mut on = |p: Piece<'_>| match p {
            Piece::Line(l) => out.push(Out::L(String::from_utf8_lossy(l).into_owned())),
            Piece::TooLong { head, len } => out.push(Out::Long(head.len(), len)),
        };
        for c in chunks {
            s.push(c, &mut on);
        }
        if finish {
            s.finish(&mut on);
        }
        out
    }

    fn l(s: &str) -> Out {
        Out::L(s.to_string())
    }

    #[test]
    fn splits_across_chunks_and_strips_cr() {
        let out = run(100, &[b"a\nb", b"c\r\n", b"\n", b"d"], false);
        assert_eq!(out, vec![l("a"), l("bc"), l("")]);
        let out = run(100, &[b"a\nb", b"c\r\n", b"\n", b"d"], true);
        assert_eq!(out, vec![l("a"), l("bc"), l(""), l("d")]);
    }

    #[test]
    fn overlong_lines_are_reported_once_and_not_buffered() {
        let big = vec![b'x'; 5000];
        let out = run(1000, &[&big, &big, b"\nok\n"], false);
        assert_eq!(out, vec![Out::Long(512, 10_000), l("ok")]);
        // Overlong inside one chunk.
        let mut one = big.clone();
        one.extend_from_slice(b"\nnext\n");
        assert_eq!(
            run(1000, &[&one], false),
            vec![Out::Long(512, 5000), l("next")]
        );
        // A held partial line that grows past the cap keeps only its head.
        let out = run(1000, &[&big[..600], &big[..600], b"\n"], false);
        assert_eq!(out, vec![Out::Long(512, 1200)]);
        // A held partial line that passes the cap only with the chunk holding its newline.
        let mut tail = big[..450].to_vec();
        tail.push(b'\n');
        let out = run(1000, &[&big[..600], &tail], false);
        assert_eq!(out, vec![Out::Long(512, 1050)]);
        // A line exactly at the cap is kept.
        let out = run(1000, &[&big[..500], &big[..500], b"\r\n"], false);
        assert_eq!(out.len(), 1);
        assert!(matches!(&out[0], Out::L(s) if s.len() == 1000));
    }

    #[test]
    fn skip_first_fragment() {
        let mut s = LineSplitter::new(100);
        s.skip_first_fragment();
        let mut out = Vec::new();
        s.push(b"tail of old", &mut |p| out.push(format!("{p:?}")));
        s.push(b" line\nnew\n", &mut |p| out.push(format!("{p:?}")));
        assert_eq!(out.len(), 1);
        assert!(out[0].contains("[110, 101, 119]"));
    }
}
