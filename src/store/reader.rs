//! The headless reader: reads log files (or stdin) to their end straight into a [`Store`], for
//! `corstop report` and the benchmark.
//!
//! Unlike the live sources there is no channel and no owned copy of records: the parser feeds
//! the store through [`StoreSink`], lines are borrowed from large read buffers, and memory does
//! not depend on the file size (two 1 MiB buffers per thread plus the store's fixed bounds).
//!
//! Report mode always reads whole files: `from_start = false` has no meaning for a report,
//! which describes what the files contain, so it is ignored here.
//!
//! Large files in a format whose lines are independent of each other are split into byte
//! ranges aligned to newlines and parsed on several threads, each into its own store, then
//! merged in file order ([`Store::merge`]). `w3c` is split too: its only state across lines is
//! the column list of the last `#Fields:` directive, so each range's parser is first given the
//! last directive before the range start, found by reading backwards from there
//! ([`LogParser::header_prefix`]); it then reads its range exactly as a parser that read the
//! file from the top. Other formats with state across lines (`azure-json` pretty-printed
//! documents, `appservice-auth` exception blocks, `kudu` continuation lines) are read on one
//! thread: a range starting mid-file would not know the state in force there.
//!
//! One file, past the usual 700 lines: detection, the parallel split of a file into ranges and
//! the serial fallback share the per-format rules on where a range may start.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::sources::event::{AuthRecord, HttpRecord, Sink, SourceId};
use crate::sources::formats::{self, Fed, FormatOptions, LogParser};
use crate::sources::glob;
use crate::sources::lines::{LineSplitter, MAX_LINE, Piece};
use crate::sources::live::LogSourceSpec;
use crate::store::{Store, StoreSink};

/// Read buffer per thread.
const READ_BUF: usize = 1 << 20;
/// Files smaller than this are read on one thread: splitting costs more than it saves.
pub const PARALLEL_MIN_BYTES: u64 = 8 << 20;
/// How much of a file's start is looked at to detect its format.
const DETECT_HEAD: usize = 1 << 20;
/// Lines used for a detection attempt.
const DETECT_LINES: usize = 20;
/// Lines looked at before giving up on detection.
const DETECT_GIVE_UP_LINES: usize = 200;
/// Bytes of lines held while detecting a stream's format.
const DETECT_MAX_BYTES: usize = 4 << 20;
/// Longest error sample kept (the store truncates further and redacts).
const ERROR_SAMPLE: usize = 1024;

const NOT_RECOGNISED: &str = "format not recognised";

/// Formats whose lines can be parsed independently of the lines before them.
pub fn is_line_independent(format: &str) -> bool {
    matches!(
        format,
        "appservice-http"
            | "combined"
            | "ingress-nginx"
            | "nginx"
            | "caddy"
            | "traefik"
            | "envoy"
            | "json"
    )
}

/// Formats whose large files are split into ranges read on several threads: their lines are
/// independent, or depend only on the last header line before them (see the module docs).
pub fn is_splittable(format: &str) -> bool {
    is_line_independent(format) || format == "w3c"
}

/// How many threads a large file may be parsed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parallelism {
    /// One thread, always.
    Single,
    /// Up to this many threads for large files in splittable formats ([`is_splittable`]).
    Threads(usize),
    /// As many as there are cores, at most 4.
    Auto,
    /// Exactly this many ranges whatever the file size (tests and benchmarks comparing runs).
    Split(usize),
}

impl Parallelism {
    fn threads(self) -> usize {
        match self {
            Parallelism::Single => 1,
            Parallelism::Threads(n) | Parallelism::Split(n) => n.max(1),
            Parallelism::Auto => std::thread::available_parallelism()
                .map_or(1, std::num::NonZero::get)
                .min(4),
        }
    }
}

/// What was read from one spec.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceSummary {
    pub source: SourceId,
    pub label: String,
    pub files: Vec<PathBuf>,
    /// The format used (the last file's, when a pattern matched files of several formats).
    pub format: Option<&'static str>,
    pub lines: u64,
    pub bytes: u64,
    pub skipped: u64,
    pub parse_errors: u64,
    /// Most threads used on one file.
    pub threads: usize,
}

/// What [`read_to_end`] read, per spec in the order given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadSummary {
    pub sources: Vec<SourceSummary>,
}

impl ReadSummary {
    pub fn lines(&self) -> u64 {
        self.sources.iter().map(|s| s.lines).sum()
    }

    pub fn bytes(&self) -> u64 {
        self.sources.iter().map(|s| s.bytes).sum()
    }

    pub fn parse_errors(&self) -> u64 {
        self.sources.iter().map(|s| s.parse_errors).sum()
    }
}

/// Why a headless read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    // The I/O error is part of the message rather than a `source`, so that printing the error
    // chain does not repeat it.
    #[error("{path}: {error}")]
    Io { path: String, error: io::Error },
    #[error("no file matches {0}")]
    NoMatch(String),
    #[error("{label}: {message}")]
    Format { label: String, message: String },
}

fn io_err(path: &Path, source: io::Error) -> ReadError {
    ReadError::Io {
        path: path.display().to_string(),
        error: source,
    }
}

/// Counters of one read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileCounts {
    pub lines: u64,
    pub bytes: u64,
    pub skipped: u64,
    pub parse_errors: u64,
    pub threads: usize,
}

impl FileCounts {
    fn add(&mut self, o: &FileCounts) {
        self.lines += o.lines;
        self.bytes += o.bytes;
        self.skipped += o.skipped;
        self.parse_errors += o.parse_errors;
        self.threads = self.threads.max(o.threads);
    }
}

/// Reads every source to its end into `store`, using as many threads as there are cores for
/// large files. See the module documentation.
pub fn read_to_end(
    specs: &[LogSourceSpec],
    opts: &FormatOptions,
    store: &mut Store,
) -> Result<ReadSummary, ReadError> {
    read_to_end_with(specs, opts, store, Parallelism::Auto)
}

/// [`read_to_end`] with the thread count chosen by the caller.
pub fn read_to_end_with(
    specs: &[LogSourceSpec],
    opts: &FormatOptions,
    store: &mut Store,
    par: Parallelism,
) -> Result<ReadSummary, ReadError> {
    let mut summary = ReadSummary::default();
    for spec in specs {
        let label = spec.display_label();
        let source = store.register_source(&label);
        if let Some(name) = &spec.format {
            formats::parser(name, opts).map_err(|e| ReadError::Format {
                label: label.clone(),
                message: e.to_string(),
            })?;
        }
        let mut s = SourceSummary {
            source,
            label: label.clone(),
            ..Default::default()
        };
        let mut counts = FileCounts::default();
        if spec.is_stdin() {
            let stdin = io::stdin();
            let mut input = stdin.lock();
            let fmt = spec.format.as_deref();
            let (c, used) = read_stream(&mut input, fmt, opts, source, store)
                .map_err(|e| io_err(Path::new("-"), e))?;
            counts.add(&c);
            s.format = used;
        } else {
            let files = if glob::is_pattern(&spec.path) {
                let mut files =
                    glob::expand(&spec.path).map_err(|e| io_err(Path::new(&spec.path), e))?;
                if files.is_empty() {
                    return Err(ReadError::NoMatch(spec.path.clone()));
                }
                // Oldest first, so that a rotated set (`app.log.2`, `app.log.1`, `app.log`) is
                // replayed in time order.
                files.sort_by_key(|p| {
                    std::fs::metadata(p)
                        .and_then(|m| m.modified())
                        .unwrap_or(std::time::SystemTime::UNIX_EPOCH)
                });
                files
            } else {
                vec![PathBuf::from(&spec.path)]
            };
            for path in &files {
                let format = match &spec.format {
                    Some(name) => Some(name.clone()),
                    None => detect_file(path)?.map(str::to_string),
                };
                let c = match &format {
                    Some(name) => {
                        let make = || formats::parser(name, opts).map_err(|e| e.to_string());
                        let par = if is_splittable(name) {
                            par
                        } else {
                            Parallelism::Single
                        };
                        let c = read_file_inner(path, source, &make, store, par)?;
                        if let Ok(p) = make() {
                            s.format = Some(shown_format(s.format, p.name()));
                        }
                        c
                    }
                    None => {
                        let (c, found) = read_undetected_file(path, opts, source, store)?;
                        if let Some(f) = found {
                            s.format = Some(shown_format(s.format, f));
                        }
                        c
                    }
                };
                counts.add(&c);
            }
            s.files = files;
        }
        if let Some(f) = s.format {
            store.set_source_format(source, f);
        }
        s.lines = counts.lines;
        s.bytes = counts.bytes;
        s.skipped = counts.skipped;
        s.parse_errors = counts.parse_errors;
        s.threads = counts.threads.max(1);
        store.set_source_state(source, "read to end");
        summary.sources.push(s);
    }
    Ok(summary)
}

/// A source's format as shown once another of its files turned out to be `next`: the one
/// format they share, or "mixed", as the dashboard shows it.
fn shown_format(so_far: Option<&'static str>, next: &'static str) -> &'static str {
    match so_far {
        Some(f) if f != next => crate::sources::live::MIXED_FORMATS,
        _ => next,
    }
}

/// Reads one file with a caller-supplied parser (custom formats, tests, the benchmark). When
/// `par` allows several threads, the parser must not carry state across lines other than what
/// its header lines set ([`LogParser::header_prefix`]).
pub fn read_file_with_parser(
    path: &Path,
    source: SourceId,
    make: &(dyn Fn() -> Box<dyn LogParser> + Sync),
    store: &mut Store,
    par: Parallelism,
) -> Result<FileCounts, ReadError> {
    let wrapped = || Ok(make());
    read_file_inner(path, source, &wrapped, store, par)
}

/// Makes a parser for each thread that reads part of a file.
pub type MakeParser<'a> = dyn Fn() -> Result<Box<dyn LogParser>, String> + Sync + 'a;

/// Detects a file's format from its first lines (up to 200, looked at 20 first).
pub fn detect_file(path: &Path) -> Result<Option<&'static str>, ReadError> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    detect_open_file(&file).map_err(|e| io_err(path, e))
}

/// [`detect_file`] on a file already open, whatever its read offset.
pub fn detect_open_file(file: &File) -> io::Result<Option<&'static str>> {
    let mut head = Vec::with_capacity(64 << 10);
    RangeReader {
        file,
        pos: 0,
        end: Some(DETECT_HEAD as u64),
    }
    .read_to_end(&mut head)?;
    let mut lines: Vec<&[u8]> = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .take(DETECT_GIVE_UP_LINES + 1)
        .collect();
    // The last piece may be cut by the head limit.
    if head.len() == DETECT_HEAD && lines.len() > 1 {
        lines.pop();
    }
    if lines.is_empty() {
        return Ok(None);
    }
    // Detection looks at 20 lines at a time: later windows get their chance too (a banner or a
    // burst of noise at the start of a file).
    let lines = &lines[..lines.len().min(DETECT_GIVE_UP_LINES)];
    Ok(lines.chunks(DETECT_LINES).find_map(formats::detect))
}

fn read_file_inner(
    path: &Path,
    source: SourceId,
    make: &MakeParser<'_>,
    store: &mut Store,
    par: Parallelism,
) -> Result<FileCounts, ReadError> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let meta = file.metadata().map_err(|e| io_err(path, e))?;
    if meta.is_dir() {
        return Err(io_err(path, io::Error::other("is a directory")));
    }
    let span = Span {
        start: 0,
        // Pipes and devices have no size: read to their end.
        end: meta.is_file().then_some(meta.len()),
        progress: None,
    };
    read_span(&file, path, span, source, make, store, par)
}

/// What part of a file [`read_span`] reads, and where it counts the bytes it has read.
pub struct Span<'p> {
    /// A line start.
    pub start: u64,
    /// A line boundary; `None` reads to the end of the file on one thread.
    pub end: Option<u64>,
    /// Bytes read so far are added here as reading goes (for a progress indication).
    pub progress: Option<&'p std::sync::atomic::AtomicU64>,
}

/// Reads the lines of `span` of an open file into `store`, on several threads when `par` and
/// the span's size allow (the parser must then be splittable, [`is_splittable`]). A span
/// starting mid-file gives its parser the header in force there first
/// ([`LogParser::header_prefix`]).
pub fn read_span(
    file: &File,
    path: &Path,
    span: Span<'_>,
    source: SourceId,
    make: &MakeParser<'_>,
    store: &mut Store,
    par: Parallelism,
) -> Result<FileCounts, ReadError> {
    let Span {
        start,
        end,
        progress,
    } = span;
    let threads = par.threads();
    let min = match par {
        Parallelism::Split(_) => 0,
        _ => PARALLEL_MIN_BYTES,
    };
    let len = end.map_or(0, |e| e.saturating_sub(start));
    let Some(end) = end.filter(|_| threads >= 2 && len >= min && len > 0) else {
        let mut parser = make().map_err(|message| ReadError::Format {
            label: path.display().to_string(),
            message,
        })?;
        if start > 0 {
            seed_header(file, start, &mut *parser).map_err(|e| io_err(path, e))?;
        }
        let mut lines = LineParser::new(store, source, Some(parser));
        let bytes =
            read_range(file, start, end, &mut lines, progress).map_err(|e| io_err(path, e))?;
        let mut c = lines.finish();
        c.bytes = bytes;
        c.threads = 1;
        commit(store, source, &c);
        return Ok(c);
    };

    let bounds = split_points(file, start, end, threads).map_err(|e| io_err(path, e))?;
    let ranges: Vec<(u64, u64)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    let cfg = store.config().clone();
    let mode = store.mode();
    let now = store.now();
    let labels: Vec<String> = store.sources().iter().map(|s| s.label.clone()).collect();
    let label = store
        .sources()
        .get(source as usize)
        .map(|s| s.label.clone())
        .unwrap_or_default();

    let results = std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for &(start, end) in ranges.iter().skip(1) {
            let cfg = cfg.clone();
            let labels = &labels;
            let label = &label;
            handles.push(scope.spawn(move || -> Result<(Store, FileCounts), String> {
                let mut part = Store::new(cfg, mode);
                if mode == crate::store::TimeMode::Live {
                    part = part.with_now(now);
                }
                for l in labels {
                    part.register_source(l);
                }
                let src = part.register_source(label);
                let mut parser = make()?;
                seed_header(file, start, &mut *parser).map_err(|e| e.to_string())?;
                let mut lines = LineParser::new(&mut part, src, Some(parser));
                let bytes = read_range(file, start, Some(end), &mut lines, progress)
                    .map_err(|e| e.to_string())?;
                let mut c = lines.finish();
                c.bytes = bytes;
                commit(&mut part, src, &c);
                Ok((part, c))
            }));
        }
        let first = (|| -> Result<FileCounts, String> {
            let mut parser = make()?;
            if ranges[0].0 > 0 {
                seed_header(file, ranges[0].0, &mut *parser).map_err(|e| e.to_string())?;
            }
            let mut lines = LineParser::new(store, source, Some(parser));
            let bytes = read_range(file, ranges[0].0, Some(ranges[0].1), &mut lines, progress)
                .map_err(|e| e.to_string())?;
            let mut c = lines.finish();
            c.bytes = bytes;
            Ok(c)
        })();
        let rest: Vec<Result<(Store, FileCounts), String>> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("reader thread panicked".into()))
            })
            .collect();
        (first, rest)
    });

    let (first, rest) = results;
    let fail = |message: String| ReadError::Format {
        label: path.display().to_string(),
        message,
    };
    let mut total = first.map_err(fail)?;
    commit(store, source, &total);
    for r in rest {
        let (part, c) = r.map_err(fail)?;
        store.merge(part);
        total.add(&c);
    }
    total.threads = ranges.len();
    Ok(total)
}

/// Range starts for `threads` pieces of `[from, size)`, each after a newline, plus `size` at
/// the end.
fn split_points(file: &File, from: u64, size: u64, threads: usize) -> io::Result<Vec<u64>> {
    let mut points = vec![from];
    let mut buf = vec![0u8; 64 << 10];
    for i in 1..threads as u64 {
        let nominal = from + (size - from) * i / threads as u64;
        let prev = *points.last().unwrap_or(&from);
        let mut pos = nominal.max(prev).saturating_sub(1);
        let start = loop {
            if pos >= size {
                break size;
            }
            let n = file.read_at(&mut buf, pos)?;
            if n == 0 {
                break size;
            }
            match memchr::memchr(b'\n', &buf[..n]) {
                Some(i) => break pos + i as u64 + 1,
                None => pos += n as u64,
            }
        };
        if start > prev && start < size {
            points.push(start);
        }
    }
    points.push(size);
    Ok(points)
}

/// Bytes read at a time while looking backwards for a header line.
const SEEK_BLOCK: usize = 256 << 10;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Gives a parser that starts reading at `start` the last header line before it (see
/// [`LogParser::header_prefix`]), so that it reads on as if it had read everything before;
/// returns that line, for a parser made later (the follower's after a history read).
///
/// Reads backwards from `start`: the distance to the previous header is all this costs, and
/// files repeat their header after every restart. A candidate counts only if the reader from
/// the top would have fed it to the parser as a header: a whole line no longer than the line
/// cap, which the parser takes without an error.
pub fn seed_header(
    file: &File,
    start: u64,
    parser: &mut dyn LogParser,
) -> io::Result<Option<Vec<u8>>> {
    let Some(prefix) = parser.header_prefix() else {
        return Ok(None);
    };
    let Some(&mark) = prefix.first() else {
        return Ok(None);
    };
    // Room for the bytes before the block that say whether a hit starts its line.
    let lead = BOM.len() as u64 + 1;
    let mut buf = vec![0u8; SEEK_BLOCK + lead as usize];
    let mut line = Vec::new();
    let mut hi = start;
    while hi > 0 {
        let lo = hi.saturating_sub(SEEK_BLOCK as u64);
        let base = lo.saturating_sub(lead);
        let block = &mut buf[..(hi - base) as usize];
        file.read_exact_at(block, base)?;
        let block = &*block;
        for i in memchr::memrchr_iter(mark, block) {
            let at = base + i as u64;
            if at < lo {
                break;
            }
            let starts_line = |j: usize| {
                if j == 0 {
                    base == 0
                } else {
                    block[j - 1] == b'\n'
                }
            };
            let line_start = if starts_line(i) {
                at
            } else if i >= BOM.len()
                && &block[i - BOM.len()..i] == BOM
                && starts_line(i - BOM.len())
            {
                at - BOM.len() as u64
            } else {
                continue;
            };
            // Other `#` lines (comments) are told apart without reading them again.
            if let Some(head) = block.get(i..i + prefix.len())
                && head != prefix
            {
                continue;
            }
            if !read_line_at(file, line_start, start, &mut line)? {
                continue;
            }
            let l = line.strip_suffix(b"\r").unwrap_or(&line);
            if l.len() > MAX_LINE || !l.strip_prefix(BOM).unwrap_or(l).starts_with(prefix) {
                continue;
            }
            if let Ok(Fed::Skipped) = parser.feed(l, &mut Discard) {
                return Ok(Some(l.to_vec()));
            }
        }
        hi = lo;
    }
    Ok(None)
}

/// Reads the line starting at `pos` (ending before `end` at the latest) into `out`, without its
/// newline. False when it is longer than any line handed to a parser.
fn read_line_at(file: &File, mut pos: u64, end: u64, out: &mut Vec<u8>) -> io::Result<bool> {
    out.clear();
    let mut chunk = [0u8; 4096];
    while pos < end {
        let want = (end - pos).min(chunk.len() as u64) as usize;
        let n = file.read_at(&mut chunk[..want], pos)?;
        if n == 0 {
            break;
        }
        match memchr::memchr(b'\n', &chunk[..n]) {
            Some(i) => {
                out.extend_from_slice(&chunk[..i]);
                break;
            }
            None => out.extend_from_slice(&chunk[..n]),
        }
        // One byte over the cap allows for a `\r` that is stripped.
        if out.len() > MAX_LINE + 1 {
            return Ok(false);
        }
        pos += n as u64;
    }
    Ok(out.len() <= MAX_LINE + 1)
}

/// Takes the records of a header line fed only for its state (there are none).
struct Discard;

impl Sink for Discard {
    fn http(&mut self, _: &HttpRecord<'_>) {}
    fn auth(&mut self, _: &AuthRecord<'_>) {}
}

/// Reads `[start, end)` (to end of file when `end` is `None`) and feeds complete lines; the
/// final line is handed out even without its newline. Returns the bytes read.
fn read_range(
    file: &File,
    start: u64,
    end: Option<u64>,
    lines: &mut LineParser<'_>,
    progress: Option<&std::sync::atomic::AtomicU64>,
) -> io::Result<u64> {
    // Positional reads: the threads share one open file, and a cloned handle would share
    // its offset too.
    let mut input = RangeReader {
        file,
        pos: start,
        end,
    };
    let mut buf = vec![0u8; READ_BUF];
    let mut splitter = LineSplitter::default();
    let mut bytes = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        bytes += n as u64;
        splitter.push(&buf[..n], &mut |p| lines.piece(p));
        if let Some(p) = progress {
            p.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        }
    }
    splitter.finish(&mut |p| lines.piece(p));
    Ok(bytes)
}

struct RangeReader<'f> {
    file: &'f File,
    pos: u64,
    end: Option<u64>,
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.map_or(u64::MAX, |e| e.saturating_sub(self.pos));
        let want = (buf.len() as u64).min(left) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// A file whose format could not be detected from its start: every line counts as a parse
/// error, and detection is retried on later lines in case the format shows up further on.
fn read_undetected_file(
    path: &Path,
    opts: &FormatOptions,
    source: SourceId,
    store: &mut Store,
) -> Result<(FileCounts, Option<&'static str>), ReadError> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let mut lines = LineParser::new(store, source, None).undetected(opts.clone());
    let bytes = read_range(&file, 0, None, &mut lines, None).map_err(|e| io_err(path, e))?;
    let format = lines.format();
    let mut c = lines.finish();
    c.bytes = bytes;
    c.threads = 1;
    commit(store, source, &c);
    Ok((c, format))
}

/// Reads a stream (stdin) to its end: the format is detected from buffered first lines, which
/// are then parsed like the rest.
fn read_stream(
    input: &mut dyn Read,
    format: Option<&str>,
    opts: &FormatOptions,
    source: SourceId,
    store: &mut Store,
) -> io::Result<(FileCounts, Option<&'static str>)> {
    let parser = match format {
        Some(name) => Some(formats::parser(name, opts).map_err(io::Error::other)?),
        None => None,
    };
    let known = parser.is_some();
    let mut lines = LineParser::new(store, source, parser);
    if !known {
        lines = lines.detecting(opts.clone());
    }
    let mut buf = vec![0u8; READ_BUF];
    let mut splitter = LineSplitter::default();
    let mut bytes = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        bytes += n as u64;
        splitter.push(&buf[..n], &mut |p| lines.piece(p));
    }
    splitter.finish(&mut |p| lines.piece(p));
    lines.end_of_input();
    let used = lines.format();
    let mut c = lines.finish();
    c.bytes = bytes;
    c.threads = 1;
    commit(store, source, &c);
    Ok((c, used))
}

/// Adds a read's line counters to the store (errors were noted as they came).
fn commit(store: &mut Store, source: SourceId, c: &FileCounts) {
    store.add_source_lines(source, c.lines, c.bytes, c.skipped);
}

enum Mode {
    Parsing(Box<dyn LogParser>),
    /// Format unknown, lines held until detection decides.
    Detecting {
        opts: FormatOptions,
        pending: Vec<Vec<u8>>,
        bytes: usize,
    },
    /// Detection gave up: lines are errors; retried on the latest lines now and then.
    Undetected {
        opts: FormatOptions,
        recent: VecDeque<Vec<u8>>,
        since_try: usize,
    },
}

/// Feeds lines to a parser writing into the store, counting as it goes.
struct LineParser<'s> {
    store: &'s mut Store,
    source: SourceId,
    mode: Mode,
    counts: FileCounts,
    /// Errors not yet noted in the store; only the latest sample is kept.
    errors: u64,
    last_error: Vec<u8>,
    last_reason: String,
}

impl<'s> LineParser<'s> {
    fn new(store: &'s mut Store, source: SourceId, parser: Option<Box<dyn LogParser>>) -> Self {
        LineParser {
            store,
            source,
            mode: match parser {
                Some(p) => Mode::Parsing(p),
                None => Mode::Undetected {
                    opts: FormatOptions::default(),
                    recent: VecDeque::new(),
                    since_try: 0,
                },
            },
            counts: FileCounts::default(),
            errors: 0,
            last_error: Vec::new(),
            last_reason: String::new(),
        }
    }

    fn undetected(mut self, opts: FormatOptions) -> Self {
        self.mode = Mode::Undetected {
            opts,
            recent: VecDeque::new(),
            since_try: 0,
        };
        self
    }

    fn detecting(mut self, opts: FormatOptions) -> Self {
        self.mode = Mode::Detecting {
            opts,
            pending: Vec::new(),
            bytes: 0,
        };
        self
    }

    fn format(&self) -> Option<&'static str> {
        match &self.mode {
            Mode::Parsing(p) => Some(p.name()),
            _ => None,
        }
    }

    fn error(&mut self, line: &[u8], reason: &str) {
        self.errors += 1;
        self.last_error.clear();
        self.last_error
            .extend_from_slice(&line[..line.len().min(ERROR_SAMPLE)]);
        if self.last_reason != reason {
            self.last_reason.clear();
            self.last_reason.push_str(reason);
        }
    }

    fn piece(&mut self, p: Piece<'_>) {
        self.counts.lines += 1;
        match p {
            Piece::Line(line) => self.line(line),
            Piece::TooLong { head, len } => {
                self.error(head, &format!("line too long ({len} bytes)"));
            }
        }
    }

    fn line(&mut self, line: &[u8]) {
        match &mut self.mode {
            Mode::Parsing(parser) => {
                let mut sink = StoreSink {
                    store: &mut *self.store,
                    source: self.source,
                };
                match parser.feed(line, &mut sink) {
                    Ok(Fed::Skipped) => self.counts.skipped += 1,
                    Ok(Fed::Records(_) | Fed::Buffered) => {}
                    Err(e) => self.error(line, &e.reason),
                }
            }
            Mode::Detecting {
                opts,
                pending,
                bytes,
            } => {
                *bytes += line.len();
                pending.push(line.to_vec());
                let n = pending.len();
                if n % DETECT_LINES == 0 || *bytes > DETECT_MAX_BYTES {
                    let give_up = n >= DETECT_GIVE_UP_LINES || *bytes > DETECT_MAX_BYTES;
                    let opts = opts.clone();
                    self.decide(opts, give_up);
                }
            }
            Mode::Undetected {
                opts,
                recent,
                since_try,
            } => {
                let mut buf = if recent.len() >= DETECT_LINES {
                    recent.pop_front().unwrap_or_default()
                } else {
                    Vec::new()
                };
                buf.clear();
                buf.extend_from_slice(&line[..line.len().min(64 << 10)]);
                recent.push_back(buf);
                *since_try += 1;
                let mut found = None;
                if *since_try >= DETECT_GIVE_UP_LINES {
                    *since_try = 0;
                    let sample: Vec<&[u8]> = recent
                        .iter()
                        .map(Vec::as_slice)
                        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
                        .collect();
                    if let Some(name) = formats::detect(&sample) {
                        found = formats::parser(name, opts).ok();
                    }
                }
                match found {
                    // The line that completed the sample is counted like the others before
                    // it; parsing starts with the next line.
                    Some(p) => {
                        self.error(line, NOT_RECOGNISED);
                        self.mode = Mode::Parsing(p);
                    }
                    None => self.error(line, NOT_RECOGNISED),
                }
            }
        }
    }

    /// Tries detection on the held lines; replays them once decided.
    fn decide(&mut self, opts: FormatOptions, give_up: bool) {
        let Mode::Detecting { pending, .. } = &self.mode else {
            return;
        };
        let mut sample: Vec<&[u8]> = pending
            .iter()
            .rev()
            .map(Vec::as_slice)
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .take(DETECT_LINES)
            .collect();
        sample.reverse();
        let parser = formats::detect(&sample).and_then(|n| formats::parser(n, &opts).ok());
        if parser.is_none() && !give_up {
            return;
        }
        let held = match std::mem::replace(
            &mut self.mode,
            match parser {
                Some(p) => Mode::Parsing(p),
                None => Mode::Undetected {
                    opts,
                    recent: VecDeque::new(),
                    since_try: 0,
                },
            },
        ) {
            Mode::Detecting { pending, .. } => pending,
            _ => Vec::new(),
        };
        for line in held {
            self.line(&line);
        }
    }

    fn end_of_input(&mut self) {
        if let Mode::Detecting { opts, .. } = &self.mode {
            let opts = opts.clone();
            self.decide(opts, true);
        }
    }

    /// Flushes the parser and notes errors in the store. Line counters are returned, not
    /// committed (the caller adds the byte count first).
    fn finish(mut self) -> FileCounts {
        self.end_of_input();
        if let Mode::Parsing(parser) = &mut self.mode {
            let mut sink = StoreSink {
                store: self.store,
                source: self.source,
            };
            if let Err(e) = parser.finish(&mut sink) {
                self.errors += 1;
                self.last_error.clear();
                self.last_reason = e.reason;
            }
        }
        if self.errors > 0 {
            self.store
                .note_parse_error(self.source, &self.last_error, &self.last_reason);
            self.store.source_mut(self.source).parse_errors += self.errors - 1;
        }
        self.counts.parse_errors = self.errors;
        self.counts
    }
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
