//! Live log sources: one tokio task per configured source reads lines (a followed file, the
//! files of a glob pattern, or standard input), works out the format, parses, and sends
//! batches of owned records to the store's ingest task.
//!
//! Each source is its own task, so one that errors or stalls never holds up the others. Sends
//! use a bounded channel and wait when it is full: a slow store slows the readers down, nothing
//! is dropped. File reads and parsing run on tokio's blocking pool (a step reads at most a few
//! thousand lines), never on the async workers.
//!
//! One file, past the usual 700 lines: the task loop, glob membership and the descriptor budget
//! act on one source's state and are only correct together.

use std::collections::VecDeque;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::Sender;
use tokio::task::JoinHandle;

use super::formats::{self, Fed, FormatOptions, LogParser};
use super::glob;
use super::lines::{LineSplitter, Piece};
use super::stdin;
use super::tail::{FileFollower, FollowEvent, FollowOptions, OffsetBook, SharedBook, Wakeup};
use crate::sources::event::{Event, RecordRef, SourceBatch, SourceId, VecSink};
use crate::sources::lines::MAX_RAW_LINE;

/// One configured log source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSourceSpec {
    /// A file path, a pattern with wildcards in the file name (`/var/log/nginx/*.log`), or `-`
    /// for standard input.
    pub path: String,
    /// Name shown in the UI; the path when absent.
    pub label: Option<String>,
    /// Format name; `None` detects it from the first lines.
    pub format: Option<String>,
    /// Read existing content from the start instead of following from the end.
    pub from_start: bool,
    /// When not `from_start`: read the store's retention window of each file back before
    /// following it (the dashboard's start-up history; see `store::history`). Without it, files
    /// are followed from their end.
    pub history: bool,
    /// Poll instead of watching the directory (NFS, some container mounts).
    pub poll: bool,
    /// How long a renamed-away file keeps being read after it last grew: writers that hold
    /// the old file open append to it until they reopen, which can take a while.
    pub rotation_grace: Duration,
}

/// Default [`LogSourceSpec::rotation_grace`]: long enough for the writers seen in practice
/// (nginx on USR1 within a second, .NET and Node.js loggers on their next flush interval).
pub const ROTATION_GRACE: Duration = Duration::from_secs(30);

impl LogSourceSpec {
    /// A spec for a path with every option at its default.
    pub fn new(path: impl Into<String>) -> LogSourceSpec {
        LogSourceSpec {
            path: path.into(),
            label: None,
            format: None,
            from_start: false,
            history: true,
            poll: false,
            rotation_grace: ROTATION_GRACE,
        }
    }

    /// The label shown for this source.
    pub fn display_label(&self) -> String {
        match &self.label {
            Some(l) => l.clone(),
            None if self.path == "-" => "stdin".to_string(),
            None => self.path.clone(),
        }
    }

    pub fn is_stdin(&self) -> bool {
        self.path == "-"
    }
}

/// Where the reading of one file takes over from a read of its history: the file as it was
/// opened for that read, the end of the last complete line read, and the format used.
#[derive(Debug)]
pub struct Resume {
    pub path: std::path::PathBuf,
    pub file: std::fs::File,
    pub offset: u64,
    pub format: Option<&'static str>,
    /// The last header line before `offset` (a W3C `#Fields:`), which the follower's parser
    /// must take before the lines after it.
    pub header: Option<Vec<u8>>,
}

/// Builds a fresh parser; used instead of format detection when the caller supplies the parser
/// itself (custom formats, tests).
pub type ParserFactory = Arc<dyn Fn() -> Box<dyn LogParser> + Send + Sync>;

/// Lines per batch before it is sent regardless of time.
pub const BATCH_LINES: u64 = 4096;
/// Input bytes after which a batch goes out whatever its line count: long lines (8 KB paths,
/// 200 KB scanner URLs) make few lines a lot of memory, and the queue to the store is bounded
/// in batches.
pub const BATCH_BYTES: u64 = 1 << 20;
/// Longest a batch waits before it is sent.
pub const BATCH_INTERVAL: Duration = Duration::from_millis(100);
/// Raw lines carried per batch (the store's ring keeps 200 per source).
pub const RAW_PER_BATCH: usize = 200;

/// Detection: first attempt after this many lines...
const DETECT_LINES: usize = 20;
/// ...or this long after the first line, whichever comes first.
const DETECT_AFTER: Duration = Duration::from_secs(1);
/// Detection gives up after this many lines or this long; lines then count as parse errors.
const DETECT_GIVE_UP_LINES: usize = 200;
const DETECT_GIVE_UP_AFTER: Duration = Duration::from_secs(10);
/// Bytes of lines held while detecting (lines are up to 1 MiB each).
const DETECT_MAX_BYTES: usize = 4 << 20;
/// After giving up, detection is retried on the latest lines this often (in lines).
const DETECT_RETRY_EVERY: usize = 200;
/// Most files of one glob held open at once: the quietest are closed (and reopened when they
/// grow), so a pattern matching thousands of files does not take a descriptor each.
pub const MAX_OPEN_FILES: usize = 64;
/// Files closed below the cap at once, so the next step has room to reopen growing ones.
const OPEN_FILES_SLACK: usize = 8;

/// How often a glob pattern is expanded again to pick up new files.
const GLOB_REFRESH: Duration = Duration::from_secs(2);
/// A glob file that no longer matches is let go after this long without growth.
const GLOB_IDLE_DROP: Duration = Duration::from_secs(30);
/// Longest error sample carried in a batch (the store truncates further and redacts).
const ERROR_SAMPLE: usize = 1024;

const NOT_RECOGNISED: &str = "format not recognised";

/// Starts a live source: follows the file(s) or reads stdin, detects or uses the configured
/// format, and sends batches and state notes on `tx` until the receiver goes away (or, for
/// stdin, until end of input).
pub fn spawn_log_source(
    spec: LogSourceSpec,
    source: SourceId,
    opts: FormatOptions,
    tx: Sender<Event>,
) -> JoinHandle<()> {
    let formats = match spec.format.clone() {
        None => Formats::Detect(opts),
        Some(name) => Formats::Named(name, opts),
    };
    spawn_with(spec, source, formats, tx)
}

/// Like [`spawn_log_source`], with the parser supplied by the caller (no detection).
pub fn spawn_log_source_with_parser(
    spec: LogSourceSpec,
    source: SourceId,
    make: ParserFactory,
    tx: Sender<Event>,
) -> JoinHandle<()> {
    spawn_with(spec, source, Formats::Factory(make), tx)
}

/// Reads lines from any byte stream (a child process's output, a socket) as a live source that
/// ends at end of input. Standard input goes through this too.
pub fn spawn_stream_source<R>(
    input: R,
    source: SourceId,
    format: Option<String>,
    opts: FormatOptions,
    tx: Sender<Event>,
) -> JoinHandle<()>
where
    R: Read + Send + 'static,
{
    let formats = match format {
        None => Formats::Detect(opts),
        Some(name) => Formats::Named(name, opts),
    };
    tokio::spawn(async move {
        let Some(consumer) = Consumer::new(source, formats, &tx).await else {
            return;
        };
        run_stream(input, consumer, tx).await;
    })
}

fn spawn_with(
    spec: LogSourceSpec,
    source: SourceId,
    formats: Formats,
    tx: Sender<Event>,
) -> JoinHandle<()> {
    tokio::spawn(run_with(spec, source, formats, tx, Vec::new()))
}

/// Runs a live source (in the caller's task) whose files were read up to the given points
/// already: each file in `resume` is followed from its offset, in its format, instead of from
/// its end. Files of the source without a resume point are followed as usual.
pub async fn run_log_source_from(
    spec: LogSourceSpec,
    source: SourceId,
    opts: FormatOptions,
    tx: Sender<Event>,
    resume: Vec<Resume>,
) {
    let formats = match spec.format.clone() {
        None => Formats::Detect(opts),
        Some(name) => Formats::Named(name, opts),
    };
    run_with(spec, source, formats, tx, resume).await;
}

async fn run_with(
    spec: LogSourceSpec,
    source: SourceId,
    formats: Formats,
    tx: Sender<Event>,
    resume: Vec<Resume>,
) {
    let Some(consumer) = Consumer::new(source, formats, &tx).await else {
        return;
    };
    if spec.is_stdin() {
        run_stream(std::io::stdin(), consumer, tx).await;
    } else {
        run_files(spec, consumer, tx, resume).await;
    }
}

/// Where parsers come from.
enum Formats {
    Detect(FormatOptions),
    Named(String, FormatOptions),
    Factory(ParserFactory),
}

/// The part of a batch being assembled.
struct BatchBuilder {
    source: SourceId,
    sink: VecSink,
    raw: VecDeque<Vec<u8>>,
    /// The record each line of `raw` produced, same order.
    raw_links: VecDeque<Option<RecordRef>>,
    /// Raw lines kept so far: numbers them, so a line can be found again when a record
    /// spanning lines is complete.
    raw_kept: u64,
    /// Links to lines already sent with an earlier batch.
    late_links: Vec<(u64, RecordRef)>,
    lines: u64,
    bytes: u64,
    skipped: u64,
    parse_errors: u64,
    last_error: Option<(Vec<u8>, String)>,
    format: Option<&'static str>,
    format_changed: bool,
    opened: Option<Instant>,
}

impl BatchBuilder {
    fn new(source: SourceId) -> BatchBuilder {
        BatchBuilder {
            source,
            sink: VecSink::default(),
            raw: VecDeque::with_capacity(RAW_PER_BATCH),
            raw_links: VecDeque::with_capacity(RAW_PER_BATCH),
            raw_kept: 0,
            late_links: Vec::new(),
            lines: 0,
            bytes: 0,
            skipped: 0,
            parse_errors: 0,
            last_error: None,
            format: None,
            format_changed: false,
            opened: None,
        }
    }

    fn touch(&mut self) {
        self.opened.get_or_insert_with(Instant::now);
    }

    fn note_line(&mut self) {
        self.touch();
        self.lines += 1;
    }

    /// Keeps a line for the live log; returns its number in this batch.
    fn keep_raw(&mut self, line: &[u8]) -> u64 {
        // Ring of reused buffers: no allocation per line once warm.
        let mut buf = if self.raw.len() >= RAW_PER_BATCH {
            self.raw_links.pop_front();
            self.raw.pop_front().unwrap_or_default()
        } else {
            Vec::new()
        };
        buf.clear();
        buf.extend_from_slice(&line[..line.len().min(MAX_RAW_LINE)]);
        self.raw.push_back(buf);
        self.raw_links.push_back(None);
        self.raw_kept += 1;
        self.raw_kept - 1
    }

    /// Ties the records that went to the sink since `(http, auth)` were its lengths to the
    /// lines they came from: the first to the line that began a held entry, if any, else to
    /// `line`. `entry` is the lane's held entry, `open` whether the parser holds one after
    /// this line.
    fn link(
        &mut self,
        entry: &mut Option<u64>,
        line: Option<u64>,
        before: (usize, usize),
        open: bool,
    ) {
        let (h0, a0) = before;
        let first = if self.sink.http.len() > h0 {
            Some(RecordRef::Http(h0 as u32))
        } else if self.sink.auth.len() > a0 {
            Some(RecordRef::Auth(a0 as u32))
        } else {
            None
        };
        if let Some(rec) = first
            && let Some(at) = entry.take().or(line)
        {
            let first = self.raw_kept - self.raw.len() as u64;
            match at
                .checked_sub(first)
                .and_then(|i| self.raw_links.get_mut(i as usize))
            {
                Some(slot) => *slot = Some(rec),
                // Sent already, or dropped by the ring (then the store finds nothing).
                None => self.late_links.push((at, rec)),
            }
        }
        *entry = if open { entry.or(line) } else { None };
    }

    fn note_error(&mut self, line: &[u8], reason: &str) {
        self.touch();
        self.parse_errors += 1;
        // Buffers reused: a flood of bad lines costs no allocation per line.
        let (sample, why) = self.last_error.get_or_insert_with(Default::default);
        sample.clear();
        sample.extend_from_slice(&line[..line.len().min(ERROR_SAMPLE)]);
        if why != reason {
            why.clear();
            why.push_str(reason);
        }
    }

    fn has_content(&self) -> bool {
        self.opened.is_some() || self.format_changed
    }

    /// Time left before the batch must go out; `None` when empty.
    fn time_left(&self) -> Option<Duration> {
        self.opened
            .map(|t| BATCH_INTERVAL.saturating_sub(t.elapsed()))
    }

    fn due(&self) -> bool {
        self.lines >= BATCH_LINES
            || self.bytes >= BATCH_BYTES
            || self.sink.http.len() + self.sink.auth.len() >= BATCH_LINES as usize
            || self.time_left() == Some(Duration::ZERO)
            || (self.format_changed && self.opened.is_none())
    }

    fn take(&mut self) -> SourceBatch {
        let sink = std::mem::take(&mut self.sink);
        let raw_first = self.raw_kept - self.raw.len() as u64;
        let raw_tail = self
            .raw
            .drain(..)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .collect();
        let mut raw_links = std::mem::take(&mut self.late_links);
        raw_links.extend(
            self.raw_links
                .drain(..)
                .enumerate()
                .filter_map(|(i, r)| r.map(|r| (raw_first + i as u64, r))),
        );
        let batch = SourceBatch {
            source: self.source,
            http: sink.http,
            auth: sink.auth,
            raw_tail,
            raw_first,
            raw_links,
            lines: self.lines,
            bytes: self.bytes,
            skipped: self.skipped,
            parse_errors: self.parse_errors,
            last_error: self
                .last_error
                .take()
                .map(|(s, r)| (String::from_utf8_lossy(&s).into_owned(), r)),
            format: self.format,
        };
        self.lines = 0;
        self.bytes = 0;
        self.skipped = 0;
        self.parse_errors = 0;
        self.format_changed = false;
        self.opened = None;
        batch
    }
}

/// Lines of one file held while its format is not known yet.
struct Detector {
    pending: Vec<Vec<u8>>,
    pending_bytes: usize,
    first_at: Option<Instant>,
    next_try_lines: usize,
    next_try_after: Duration,
    gave_up: bool,
    /// After giving up: the latest lines, for retries.
    recent: VecDeque<Vec<u8>>,
    since_try: usize,
}

impl Detector {
    fn new() -> Detector {
        Detector {
            pending: Vec::new(),
            pending_bytes: 0,
            first_at: None,
            next_try_lines: DETECT_LINES,
            next_try_after: DETECT_AFTER,
            gave_up: false,
            recent: VecDeque::new(),
            since_try: 0,
        }
    }
}

/// Runs detection on the latest lines (detection looks at 20 lines; retries must show it new
/// ones, not the same first ones again).
fn detect_in<'a>(lines: impl DoubleEndedIterator<Item = &'a [u8]>) -> Option<&'static str> {
    let mut sample: Vec<&[u8]> = lines
        .rev()
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .take(DETECT_LINES)
        .collect();
    if sample.is_empty() {
        return None;
    }
    sample.reverse();
    formats::detect(&sample)
}

/// One file of a source (or standard input): its own format, detected from its own lines
/// unless the source names one, since the files a glob matches need not share a format.
struct Lane {
    /// File name, for state notes about detection.
    name: Option<String>,
    format: Option<&'static str>,
    /// A parser could not be created: lines count as errors with this reason.
    parser_error: Option<String>,
    parser: Option<Box<dyn LogParser>>,
    /// Number of the kept raw line that began the entry the parser holds.
    open_entry: Option<u64>,
    /// A header line read before the lane's first line, given to its parser once made.
    header: Option<Vec<u8>>,
    detector: Detector,
}

/// Shown as a source's format when its files have different ones.
pub const MIXED_FORMATS: &str = "mixed";

/// Turns lines into batch content: detection and a parser per lane (file), counters.
struct Consumer {
    formats: Formats,
    /// The configured format or the supplied parser's; `None` detects per lane.
    fixed_format: Option<&'static str>,
    lanes: Vec<Lane>,
    batch: BatchBuilder,
    /// State notes not sent yet, in order.
    states: Vec<String>,
    /// When a parser last held a line back for a record spanning lines (an exception block,
    /// pretty-printed JSON). Such a record is complete only when the next one starts, which on
    /// a quiet log may be never: after [`IDLE_FLUSH`] without input it is flushed.
    holding_since: Option<Instant>,
}

/// How long a record held across lines waits for a continuation before it is counted.
const IDLE_FLUSH: Duration = Duration::from_millis(1500);

impl Consumer {
    /// Validates a configured format up front; `None` (after telling the store) when it does
    /// not exist.
    async fn new(source: SourceId, formats: Formats, tx: &Sender<Event>) -> Option<Consumer> {
        let mut format = None;
        match &formats {
            Formats::Detect(_) => {}
            Formats::Named(name, opts) => match formats::parser(name, opts) {
                Ok(p) => format = Some(p.name()),
                Err(e) => {
                    let state = format!("error: {e}");
                    let _ = tx.send(Event::SourceState { source, state }).await;
                    return None;
                }
            },
            Formats::Factory(make) => format = Some(make().name()),
        }
        let mut batch = BatchBuilder::new(source);
        batch.format = format;
        batch.format_changed = format.is_some();
        Some(Consumer {
            formats,
            fixed_format: format,
            lanes: Vec::new(),
            batch,
            states: Vec::new(),
            holding_since: None,
        })
    }

    /// Flushes records held across lines once input has been quiet for [`IDLE_FLUSH`].
    fn flush_if_idle(&mut self) {
        if self
            .holding_since
            .is_some_and(|since| since.elapsed() >= IDLE_FLUSH)
        {
            self.holding_since = None;
            for lane in 0..self.lanes.len() {
                self.finish_lane(lane);
            }
        }
    }

    /// A lane whose format (and header) was found already, by the history read of its file.
    fn add_lane_in(
        &mut self,
        name: Option<String>,
        format: Option<&'static str>,
        header: Option<Vec<u8>>,
    ) -> usize {
        let lane = self.add_lane(name);
        self.lanes[lane].header = header;
        if let Some(f) = format
            && self.lanes[lane].format.is_none()
        {
            self.set_format(lane, f);
        }
        lane
    }

    fn add_lane(&mut self, name: Option<String>) -> usize {
        self.lanes.push(Lane {
            name,
            format: self.fixed_format,
            parser_error: None,
            parser: None,
            open_entry: None,
            header: None,
            detector: Detector::new(),
        });
        self.lanes.len() - 1
    }

    fn on_event(&mut self, lane: usize, ev: FollowEvent<'_>, state_prefix: Option<&str>) {
        match ev {
            FollowEvent::Line(line) => {
                self.batch.note_line();
                self.on_line(lane, line);
            }
            FollowEvent::TooLong { head, len } => {
                self.batch.note_line();
                self.batch.keep_raw(head);
                self.batch
                    .note_error(head, &format!("line too long ({len} bytes)"));
            }
            FollowEvent::State(s) => match state_prefix {
                Some(p) => self.states.push(format!("{p}: {s}")),
                None => self.states.push(s.to_string()),
            },
        }
    }

    fn on_piece(&mut self, lane: usize, piece: Piece<'_>) {
        self.on_event(lane, piece.into(), None);
    }

    fn on_line(&mut self, lane: usize, line: &[u8]) {
        if lane >= self.lanes.len() {
            // Lanes are added before their lines; a stray index must not lose the line.
            while self.lanes.len() <= lane {
                self.add_lane(None);
            }
        }
        if self.lanes[lane].format.is_some() {
            self.parse(lane, line);
            return;
        }
        // Lines waiting for detection are kept for the log when they are replayed.
        if let Some(reason) = &self.lanes[lane].parser_error {
            let reason = reason.clone();
            self.batch.keep_raw(line);
            self.batch.note_error(line, &reason);
            return;
        }
        if self.lanes[lane].detector.gave_up {
            self.batch.keep_raw(line);
            self.batch.note_error(line, NOT_RECOGNISED);
            let d = &mut self.lanes[lane].detector;
            let mut buf = if d.recent.len() >= DETECT_LINES {
                d.recent.pop_front().unwrap_or_default()
            } else {
                Vec::new()
            };
            buf.clear();
            buf.extend_from_slice(&line[..line.len().min(64 << 10)]);
            d.recent.push_back(buf);
            d.since_try += 1;
            if d.since_try >= DETECT_RETRY_EVERY {
                d.since_try = 0;
                if let Some(name) = detect_in(d.recent.iter().map(Vec::as_slice)) {
                    self.set_format(lane, name);
                }
            }
            return;
        }
        let d = &mut self.lanes[lane].detector;
        d.first_at.get_or_insert_with(Instant::now);
        d.pending_bytes += line.len();
        d.pending.push(line.to_vec());
        self.try_detect_lane(lane, false);
    }

    fn parse(&mut self, lane: usize, line: &[u8]) {
        if self.lanes[lane].parser.is_none() {
            match self.make_parser(self.lanes[lane].format) {
                Ok(mut p) => {
                    if let Some(header) = self.lanes[lane].header.take() {
                        // A header yields no record; the batch's sink is as good as any.
                        let _ = p.feed(&header, &mut self.batch.sink);
                    }
                    self.lanes[lane].parser = Some(p);
                }
                Err(reason) => {
                    self.batch.keep_raw(line);
                    self.batch.note_error(line, &reason);
                    return;
                }
            }
        }
        let Some(parser) = self.lanes[lane].parser.as_mut() else {
            return;
        };
        let at = self.batch.keep_raw(line);
        let before = (self.batch.sink.http.len(), self.batch.sink.auth.len());
        let fed = parser.feed(line, &mut self.batch.sink);
        let open = matches!(fed, Ok(Fed::Buffered)) || parser.entry_open();
        let entry = &mut self.lanes[lane].open_entry;
        self.batch.link(entry, Some(at), before, open);
        match fed {
            Ok(Fed::Skipped) => self.batch.skipped += 1,
            Ok(Fed::Records(_)) => {}
            Ok(Fed::Buffered) => self.holding_since = Some(Instant::now()),
            Err(e) => self.batch.note_error(line, &e.reason),
        }
    }

    fn make_parser(&self, format: Option<&'static str>) -> Result<Box<dyn LogParser>, String> {
        match &self.formats {
            Formats::Factory(make) => Ok(make()),
            Formats::Named(name, opts) => formats::parser(name, opts).map_err(|e| e.to_string()),
            Formats::Detect(opts) => match format {
                Some(name) => formats::parser(name, opts).map_err(|e| e.to_string()),
                None => Err(NOT_RECOGNISED.to_string()),
            },
        }
    }

    /// The source's format as shown: its lanes' one format, or [`MIXED_FORMATS`].
    fn source_format(&self) -> Option<&'static str> {
        let mut known = self.lanes.iter().filter_map(|l| l.format);
        let first = known.next()?;
        if known.all(|f| f == first) {
            Some(first)
        } else {
            Some(MIXED_FORMATS)
        }
    }

    fn set_format(&mut self, lane: usize, name: &'static str) {
        self.lanes[lane].format = Some(name);
        if let Err(reason) = self.make_parser(Some(name)) {
            let l = &mut self.lanes[lane];
            l.format = None;
            self.states.push(format!("error: {reason}"));
            l.parser_error = Some(reason);
            return;
        }
        tracing::debug!(
            source = self.batch.source,
            file = self.lanes[lane].name.as_deref().unwrap_or("-"),
            format = name,
            "format detected"
        );
        let shown = self.source_format();
        if shown != self.batch.format {
            self.batch.format = shown;
            self.batch.format_changed = true;
        }
    }

    /// Decides formats where enough lines or time have accumulated; `eof` forces decisions.
    fn try_detect(&mut self, eof: bool) {
        // The bound on held bytes is the source's, whatever the number of files.
        let held: usize = self.lanes.iter().map(|l| l.detector.pending_bytes).sum();
        let force = eof || held > DETECT_MAX_BYTES;
        for lane in 0..self.lanes.len() {
            self.try_detect_lane(lane, force);
        }
    }

    fn try_detect_lane(&mut self, lane: usize, force: bool) {
        let l = &mut self.lanes[lane];
        let d = &mut l.detector;
        if l.format.is_some() || d.gave_up || d.pending.is_empty() {
            return;
        }
        let n = d.pending.len();
        let elapsed = d.first_at.map_or(Duration::ZERO, |t| t.elapsed());
        let over_bytes = d.pending_bytes > DETECT_MAX_BYTES;
        if !(force || over_bytes || n >= d.next_try_lines || elapsed >= d.next_try_after) {
            return;
        }
        let found = detect_in(d.pending.iter().map(Vec::as_slice));
        let pending = match found {
            Some(name) => {
                let pending = std::mem::take(&mut d.pending);
                self.set_format(lane, name);
                pending
            }
            None if force
                || over_bytes
                || n >= DETECT_GIVE_UP_LINES
                || elapsed >= DETECT_GIVE_UP_AFTER =>
            {
                d.gave_up = true;
                let pending = std::mem::take(&mut d.pending);
                let keep = pending.len().saturating_sub(DETECT_LINES);
                d.recent = pending[keep..].iter().cloned().collect();
                let note = format!("{NOT_RECOGNISED} after {n} lines; still trying");
                match &l.name {
                    Some(name) => self.states.push(format!("{name}: {note}")),
                    None => self.states.push(note),
                }
                pending
            }
            None => {
                d.next_try_lines = n + DETECT_LINES;
                d.next_try_after = elapsed + DETECT_AFTER;
                return;
            }
        };
        self.lanes[lane].detector.pending_bytes = 0;
        // Replayed through the normal path: parsed when detected, counted as errors otherwise.
        for line in pending {
            self.on_line(lane, &line);
        }
    }

    /// Flushes a lane's parser (its input ended or the file was let go).
    fn finish_lane(&mut self, lane: usize) {
        let Some(Some(parser)) = self.lanes.get_mut(lane).map(|l| l.parser.as_mut()) else {
            return;
        };
        let before = (self.batch.sink.http.len(), self.batch.sink.auth.len());
        let finished = parser.finish(&mut self.batch.sink);
        let entry = &mut self.lanes[lane].open_entry;
        self.batch.link(entry, None, before, false);
        if let Err(e) = finished {
            self.batch.note_error(b"", &e.reason);
        }
        self.batch.touch();
    }

    fn remove_lane(&mut self, lane: usize) {
        // Lines still waiting for detection are decided now rather than lost with the lane.
        self.try_detect_lane(lane, true);
        self.finish_lane(lane);
        if lane < self.lanes.len() {
            self.lanes.remove(lane);
        }
    }

    /// End of all input: decide the formats with what there is and flush every parser.
    fn finish_all(&mut self) {
        self.try_detect(true);
        for lane in 0..self.lanes.len() {
            self.finish_lane(lane);
        }
    }
}

/// Sends pending state notes and the batch when it is due (or when `force`). Returns false
/// when the receiver is gone.
async fn flush(consumer: &mut Consumer, tx: &Sender<Event>, force: bool) -> bool {
    let source = consumer.batch.source;
    if !consumer.states.is_empty() {
        // Counts first, so that a note such as "rotated" follows the lines read before it.
        if consumer.batch.has_content() {
            let batch = consumer.batch.take();
            if tx.send(Event::Batch(Box::new(batch))).await.is_err() {
                return false;
            }
        }
        for state in std::mem::take(&mut consumer.states) {
            if tx.send(Event::SourceState { source, state }).await.is_err() {
                return false;
            }
        }
    }
    if consumer.batch.has_content() && (force || consumer.batch.due()) {
        let batch = consumer.batch.take();
        if tx.send(Event::Batch(Box::new(batch))).await.is_err() {
            return false;
        }
    }
    !tx.is_closed()
}

/// The files behind one spec: a single path, or every file matching a pattern.
struct FileWorker {
    pattern: Option<String>,
    rotation_grace: Duration,
    lanes: Vec<FileFollower>,
    consumer: Consumer,
    book: SharedBook,
    last_expand: Instant,
}

impl FileWorker {
    fn new(spec: &LogSourceSpec, consumer: Consumer, resume: Vec<Resume>) -> FileWorker {
        let mut w = FileWorker {
            pattern: glob::is_pattern(&spec.path).then(|| spec.path.clone()),
            rotation_grace: spec.rotation_grace,
            lanes: Vec::new(),
            consumer,
            book: Arc::new(Mutex::new(OffsetBook::for_pattern(&spec.path))),
            last_expand: Instant::now(),
        };
        let opts = FollowOptions {
            from_start: spec.from_start,
            drain_grace: spec.rotation_grace,
            ..Default::default()
        };
        let mut resume = resume;
        if w.pattern.is_some() {
            w.expand_resuming(opts, &mut resume);
            if w.lanes.is_empty() {
                // Most often a typo: a source that reads nothing is a problem until a file
                // matches (the pattern is expanded again, and the state replaced, when one does).
                tracing::warn!(pattern = %spec.path, "no file matches the log pattern");
                w.consumer
                    .states
                    .push("error: no file matches the pattern yet".into());
            }
        } else {
            let (follower, format, header) = follower_for(Path::new(&spec.path), opts, &mut resume);
            w.lanes.push(follower);
            w.consumer.add_lane_in(None, format, header);
        }
        w
    }

    /// Picks up files that started matching the pattern and lets go of idle ones that stopped.
    fn expand(&mut self, opts: FollowOptions) {
        self.expand_resuming(opts, &mut Vec::new());
    }

    /// [`FileWorker::expand`], taking over the files in `resume` at their offsets.
    fn expand_resuming(&mut self, opts: FollowOptions, resume: &mut Vec<Resume>) {
        let Some(pattern) = &self.pattern else {
            return;
        };
        self.last_expand = Instant::now();
        let paths = match glob::expand(pattern) {
            Ok(p) => p,
            Err(e) => {
                self.consumer.states.push(format!("error: {pattern}: {e}"));
                return;
            }
        };
        for path in &paths {
            if self.lanes.iter().any(|f| f.path() == path) {
                continue;
            }
            tracing::debug!(path = %path.display(), "following new file");
            let (follower, format, header) = follower_for(path, opts.clone(), resume);
            self.lanes.push(follower.with_book(Arc::clone(&self.book)));
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            self.consumer.add_lane_in(name, format, header);
        }
        let mut i = 0;
        while i < self.lanes.len() {
            let gone = !paths.iter().any(|p| p == self.lanes[i].path());
            if gone && (!self.lanes[i].is_open() || self.lanes[i].idle_for() >= GLOB_IDLE_DROP) {
                let mut f = self.lanes.remove(i);
                let consumer = &mut self.consumer;
                f.finish(&mut |ev| consumer.on_event(i, ev, None));
                consumer.remove_lane(i);
            } else {
                i += 1;
            }
        }
    }

    /// Reads what is available from every file. True when more is waiting.
    fn step(&mut self) -> bool {
        if self.pattern.is_some() && self.last_expand.elapsed() >= GLOB_REFRESH {
            // Files appearing after start-up are new: read from their start.
            self.expand(FollowOptions {
                from_start: true,
                drain_grace: self.rotation_grace,
                ..Default::default()
            });
        }
        let mut more = false;
        let prefix_states = self.pattern.is_some();
        let mut open = self.lanes.iter().filter(|f| f.is_open()).count();
        for (i, f) in self.lanes.iter_mut().enumerate() {
            let was_open = f.is_open();
            let budget = BATCH_LINES
                .saturating_sub(self.consumer.batch.lines)
                .max(256);
            let name = f
                .path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            let consumer = &mut self.consumer;
            let prefix = if prefix_states { name.as_deref() } else { None };
            let p = f.read_available(budget, &mut |ev| consumer.on_event(i, ev, prefix));
            if !was_open && f.is_open() {
                open += 1;
            }
            // At the cap, a file just read gives its descriptor back at once (its place is
            // kept), so at most MAX_OPEN_FILES are ever open.
            if open >= MAX_OPEN_FILES && f.park() {
                open -= 1;
            }
            consumer.batch.bytes += p.bytes;
            if p.bytes > 0 {
                consumer.batch.touch();
            }
            more |= p.more;
        }
        if open > MAX_OPEN_FILES - OPEN_FILES_SLACK {
            self.park_quietest(open - (MAX_OPEN_FILES - OPEN_FILES_SLACK));
        }
        self.consumer.try_detect(false);
        if !more {
            self.consumer.flush_if_idle();
        }
        more
    }

    /// Closes the `n` open files that have been quiet longest; they are reopened when they grow.
    fn park_quietest(&mut self, n: usize) {
        let mut open: Vec<usize> = (0..self.lanes.len())
            .filter(|&i| self.lanes[i].is_open())
            .collect();
        open.sort_by_key(|&i| std::cmp::Reverse(self.lanes[i].idle_for()));
        let mut parked = 0;
        for i in open {
            if parked == n {
                break;
            }
            if self.lanes[i].park() {
                parked += 1;
            }
        }
    }
}

/// A follower for `path`: taken over at its resume point when `resume` has one (which is
/// removed from it), new otherwise.
fn follower_for(
    path: &Path,
    opts: FollowOptions,
    resume: &mut Vec<Resume>,
) -> (FileFollower, Option<&'static str>, Option<Vec<u8>>) {
    if let Some(i) = resume.iter().position(|r| r.path == path) {
        let r = resume.swap_remove(i);
        match FileFollower::resume(path, opts.clone(), r.file, r.offset) {
            Ok(f) => return (f, r.format, r.header),
            Err(e) => {
                // Followed as if there had been no history read: from the end of the file.
                tracing::warn!(path = %path.display(), error = %e, "cannot take over after history");
            }
        }
    }
    (FileFollower::new(path, opts), None, None)
}

async fn run_files(
    spec: LogSourceSpec,
    consumer: Consumer,
    tx: Sender<Event>,
    resume: Vec<Resume>,
) {
    let (dir, _) = glob::split(&spec.path);
    let mut wake = Wakeup::new(&dir, spec.poll);
    if !spec.poll && !wake.is_watching() {
        tracing::info!(path = %spec.path, "directory watch unavailable; polling");
    }
    let source = consumer.batch.source;
    let mut worker = FileWorker::new(&spec, consumer, resume);
    loop {
        let joined = tokio::task::spawn_blocking(move || {
            let more = worker.step();
            (worker, more)
        })
        .await;
        let more;
        (worker, more) = match joined {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(path = %spec.path, error = %e, "log source stopped");
                let state = format!("error: reader stopped: {e}");
                let _ = tx.send(Event::SourceState { source, state }).await;
                return;
            }
        };
        if !flush(&mut worker.consumer, &tx, false).await {
            return;
        }
        if !more {
            let cap = worker
                .consumer
                .batch
                .time_left()
                .unwrap_or(Duration::from_secs(1))
                .max(Duration::from_millis(5));
            wake.wait(cap).await;
        }
    }
}

async fn run_stream<R>(input: R, mut consumer: Consumer, tx: Sender<Event>)
where
    R: Read + Send + 'static,
{
    let mut rx = stdin::spawn_chunk_reader(input, 4);
    let mut splitter = LineSplitter::default();
    consumer.add_lane(None);
    consumer.states.push("reading".into());
    loop {
        let cap = consumer
            .batch
            .time_left()
            .unwrap_or(Duration::from_millis(500))
            .max(Duration::from_millis(5));
        let chunk = tokio::select! {
            c = rx.recv() => Some(c),
            _ = tokio::time::sleep(cap) => None,
        };
        match chunk {
            Some(Some(Ok(buf))) => {
                consumer.batch.bytes += buf.len() as u64;
                consumer.batch.touch();
                splitter.push(&buf, &mut |p| consumer.on_piece(0, p));
            }
            Some(Some(Err(e))) => {
                consumer.states.push(format!("error: reading input: {e}"));
            }
            Some(None) => {
                splitter.finish(&mut |p| consumer.on_piece(0, p));
                consumer.finish_all();
                consumer.states.push("stdin closed".into());
                let _ = flush(&mut consumer, &tx, true).await;
                return;
            }
            None => {}
        }
        consumer.try_detect(false);
        if !flush(&mut consumer, &tx, false).await {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_goes_out_at_its_byte_budget_whatever_its_line_count() {
        let mut b = BatchBuilder::new(0);
        b.note_line();
        b.bytes = BATCH_BYTES - 1;
        assert!(!b.due(), "under budget, few lines, young: not due");
        b.bytes = BATCH_BYTES;
        assert!(b.due());
    }
}
