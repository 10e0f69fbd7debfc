//! The dashboard's start-up history: before a log file is followed, the part of it that falls
//! in the store's retention window is read, so the first screen shows the last hours instead of
//! an empty, healthy board.
//!
//! Per file of the source (the files of a pattern oldest first):
//!
//! 1. The file is opened once; that handle is read here and then handed to the live follower
//!    ([`Resume`]), so a rotation in between is seen as one.
//! 2. History ends at the end of the last complete line ([`window::complete_end`]); the
//!    follower starts exactly there, so no line is lost or counted twice across the hand-over,
//!    and a line still being written is read whole by the follower.
//! 3. Where the window starts is found by a binary search on line times
//!    ([`window::window_start`]) in the file's format, for formats whose lines stand alone
//!    (plus W3C, whose header is found and given to the parser). Other formats, and files whose
//!    times are not in order, are read from their start; the store drops what is older.
//! 4. The span is read at full speed by the headless reader (parallel byte ranges on several
//!    cores, [`reader::read_span`]) into a store of its own, which is merged into the shared
//!    store in one step. The shared store is never locked while reading; meanwhile the
//!    source's state says how far reading is ([`READING_HISTORY`]), and the status rule says
//!    "loading history" instead of OK.
//!
//! Memory: the history store and the reader's per-thread stores have the shared store's
//! configuration, so their bound is the store's bound times the threads, as for `report`; the
//! history store then takes the shared store's place rather than being copied into it. None
//! of it depends on the file size.

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::Sender;
use tokio::task::JoinHandle;

use super::LineFields;
use super::reader::{self, Parallelism, Span, is_splittable};
use super::{Store, StoreConfig, TimeMode};
use crate::model::time::EpochMs;
use crate::sources::event::{AuthRecord, Event, HttpRecord, Sink, SourceId};
use crate::sources::formats::{self, FormatOptions, LogParser};
use crate::sources::glob;
use crate::sources::live::{self, LogSourceSpec, Resume};
use crate::sources::window;

/// How a source's state starts while its history is read: `reading history 43 %`.
pub const READING_HISTORY: &str = "reading history";

/// How often the progress shown is brought up to date.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// Bytes before the end of the history kept for the live-log view.
const RAW_TAIL_BYTES: u64 = 256 << 10;

/// Bytes of history to read and read so far, shared by the reading threads and the task
/// that shows it.
#[derive(Debug, Default)]
pub struct Progress {
    pub total: AtomicU64,
    pub done: AtomicU64,
}

impl Progress {
    /// Whole percent read, once there is something to read.
    pub fn percent(&self) -> Option<u64> {
        let total = self.total.load(Ordering::Relaxed);
        (total > 0).then(|| self.done.load(Ordering::Relaxed).min(total) * 100 / total)
    }
}

/// The state shown while history is read.
pub fn reading_state(percent: u64) -> String {
    format!("{READING_HISTORY} {percent} %")
}

/// What a history read found.
#[derive(Debug)]
pub struct History {
    /// The window's events, in a store configured like the shared one.
    pub store: Store,
    /// Where the follower takes over each file.
    pub resume: Vec<Resume>,
    /// Lines and bytes read.
    pub lines: u64,
    pub bytes: u64,
}

/// True when the dashboard reads `spec`'s history before following it: files (not standard
/// input), not replayed whole (`from_start`), with history not turned off.
pub fn wants_history(spec: &LogSourceSpec) -> bool {
    spec.history && !spec.from_start && !spec.is_stdin()
}

/// The first instant the store keeps at `now`: the start of its oldest bucket.
pub fn window_from(cfg: &StoreConfig, now: EpochMs) -> EpochMs {
    let w = cfg.bucket_ms;
    (now.div_euclid(w) - cfg.bucket_count() as i64 + 1) * w
}

/// A file to read, planned before reading so that progress has its total.
struct Planned {
    path: PathBuf,
    file: File,
    start: u64,
    end: u64,
    format: Option<&'static str>,
}

/// Reads the history of `spec`'s files into a store of its own, as of `now` (see the module
/// docs). Files that cannot be opened are left to the follower, which reports why.
pub fn read_history(
    spec: &LogSourceSpec,
    opts: &FormatOptions,
    cfg: &StoreConfig,
    now: EpochMs,
    par: Parallelism,
    progress: &Progress,
) -> History {
    let store = Store::new(cfg.clone(), TimeMode::Live).with_now(now);
    read_history_into(spec, opts, store, par, progress)
}

/// [`read_history`] into a store given by the caller (configured like the shared one, its
/// clock pinned at the time the window is taken from).
pub fn read_history_into(
    spec: &LogSourceSpec,
    opts: &FormatOptions,
    mut store: Store,
    par: Parallelism,
    progress: &Progress,
) -> History {
    let now = store.now();
    let cfg = store.config().clone();
    let source = store.register_source(&spec.display_label());
    let from = window_from(&cfg, now);
    let mut planned: Vec<Planned> = history_files(spec)
        .into_iter()
        .filter_map(|path| plan(path, spec, opts, from))
        .collect();
    let total: u64 = planned.iter().map(|p| p.end - p.start).sum();
    progress.total.store(total, Ordering::Relaxed);

    let mut h = History {
        store,
        resume: Vec::new(),
        lines: 0,
        bytes: 0,
    };
    let newest = planned.iter().rposition(|p| p.end > 0);
    for (i, p) in planned.drain(..).enumerate() {
        let mut offset = p.end;
        if let Some(name) = p.format {
            let make = || formats::parser(name, opts).map_err(|e| e.to_string());
            let par = if is_splittable(name) {
                par
            } else {
                Parallelism::Single
            };
            let span = Span {
                start: p.start,
                end: Some(p.end),
                progress: Some(&progress.done),
            };
            match reader::read_span(&p.file, &p.path, span, source, &make, &mut h.store, par) {
                Ok(c) => {
                    h.lines += c.lines;
                    h.bytes += c.bytes;
                    h.store.set_source_format(source, name);
                    if c.lines > 0 {
                        // Read just now: the sources panel's "last line" says so.
                        h.store.source_mut(source).last_line_wall = Some(now);
                    }
                }
                Err(e) => {
                    // The follower reads the file from its start instead.
                    tracing::warn!(path = %p.path.display(), error = %e, "history not read");
                    offset = 0;
                }
            }
        }
        if Some(i) == newest {
            let parser = p.format.and_then(|name| formats::parser(name, opts).ok());
            keep_raw_tail(&p.file, p.start, p.end, source, now, parser, &mut h.store);
        }
        let header = match p.format.map(|name| formats::parser(name, opts)) {
            Some(Ok(mut parser)) if offset > 0 && parser.header_prefix().is_some() => {
                reader::seed_header(&p.file, offset, &mut *parser)
                    .ok()
                    .flatten()
            }
            _ => None,
        };
        h.resume.push(Resume {
            path: p.path,
            file: p.file,
            offset,
            format: p.format,
            header,
        });
    }
    h
}

/// The source's files as the follower will find them: one path, or a pattern's matches oldest
/// first so that a rotated set is read in time order.
fn history_files(spec: &LogSourceSpec) -> Vec<PathBuf> {
    if !glob::is_pattern(&spec.path) {
        return vec![PathBuf::from(&spec.path)];
    }
    let mut files = glob::expand(&spec.path).unwrap_or_default();
    files.sort_by_key(|p| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .unwrap_or(std::time::SystemTime::UNIX_EPOCH)
    });
    files
}

/// Opens a file and decides what of it is history. `None` leaves the file to the follower.
fn plan(
    path: PathBuf,
    spec: &LogSourceSpec,
    opts: &FormatOptions,
    from: EpochMs,
) -> Option<Planned> {
    let file = File::open(&path).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let end = window::complete_end(&file, meta.len()).ok()?;
    let format = match &spec.format {
        Some(name) => formats::parser(name, opts).ok().map(|p| p.name()),
        None if end == 0 => None,
        None => reader::detect_open_file(&file).ok().flatten(),
    };
    let start = match format {
        // A format the follower can read but not detected from the start: it reads the file
        // from its start, with its own detection on later lines.
        None => 0,
        Some(name) if is_splittable(name) => search_start(&file, end, name, opts, from),
        Some(_) => 0,
    };
    let end = if format.is_some() { end } else { 0 };
    Some(Planned {
        path,
        file,
        start: start.min(end),
        end,
        format,
    })
}

/// The window's start in a file of a splittable format; 0 when it cannot be found.
fn search_start(file: &File, end: u64, format: &str, opts: &FormatOptions, from: EpochMs) -> u64 {
    let Ok(mut parser) = formats::parser(format, opts) else {
        return 0;
    };
    // A W3C file's lines are read with the header from its first part; lines under another
    // header further on may not parse, which only makes the search start earlier.
    if parser.header_prefix().is_some() {
        let head = end.min(window::SEARCH_CHUNK);
        if reader::seed_header(file, head, &mut *parser).is_err() {
            return 0;
        }
    }
    let parser: &mut dyn LogParser = &mut *parser;
    window::window_start(file, end, from, &mut |line| window::line_time(parser, line)).unwrap_or(0)
}

/// Keeps the last lines of the history for the live-log view, as if they had just been read,
/// each with the fields `parser` finds in it so that history rows show columns like live ones.
fn keep_raw_tail(
    file: &File,
    start: u64,
    end: u64,
    source: SourceId,
    now: EpochMs,
    mut parser: Option<Box<dyn LogParser>>,
    store: &mut Store,
) {
    use std::os::unix::fs::FileExt;
    let from = end.saturating_sub(RAW_TAIL_BYTES).max(start);
    let mut buf = vec![0u8; (end - from) as usize];
    if file.read_exact_at(&mut buf, from).is_err() {
        return;
    }
    let mut lines: Vec<&[u8]> = buf.split(|&b| b == b'\n').collect();
    // The split leaves an empty piece after the last newline, and the first piece may be cut.
    lines.pop();
    if from > start && !lines.is_empty() {
        lines.remove(0);
    }
    let keep = store.config().raw_lines_per_source;
    let tail = &lines[lines.len().saturating_sub(keep)..];
    if let Some(parser) = parser.as_mut() {
        // Each kept line ends in a newline, so the first begins this far before the end.
        let first = end - tail.iter().map(|l| l.len() as u64 + 1).sum::<u64>();
        let _ = reader::seed_header(file, first, &mut **parser);
    }
    for line in tail {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let fields = parser.as_mut().and_then(|p| first_fields(&mut **p, line));
        let line = &line[..line.len().min(crate::sources::lines::MAX_RAW_LINE)];
        store.note_raw_record(
            source,
            u64::MAX,
            now,
            &String::from_utf8_lossy(line),
            fields,
        );
    }
}

/// The fields of the first record `line` gives, if any.
fn first_fields(parser: &mut dyn LogParser, line: &[u8]) -> Option<LineFields> {
    struct First(Option<LineFields>);
    impl Sink for First {
        fn http(&mut self, r: &HttpRecord<'_>) {
            self.0.get_or_insert_with(|| LineFields::of_http(r));
        }
        fn auth(&mut self, r: &AuthRecord<'_>) {
            self.0.get_or_insert_with(|| LineFields::of_auth(r));
        }
    }
    let mut first = First(None);
    parser.feed(line, &mut first).ok()?;
    first.0
}

fn lock(store: &Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    store
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts a log source the way the dashboard does: its history read into `store` first when
/// [`wants_history`], then followed live from where history stopped; otherwise as
/// [`live::spawn_log_source`] alone.
pub fn spawn_log_source(
    spec: LogSourceSpec,
    source: SourceId,
    opts: FormatOptions,
    tx: Sender<Event>,
    store: Arc<Mutex<Store>>,
) -> JoinHandle<()> {
    if !wants_history(&spec) || lock(&store).mode() != TimeMode::Live {
        return live::spawn_log_source(spec, source, opts, tx);
    }
    if has_content(&spec) {
        lock(&store).set_source_state(source, &reading_state(0));
    }
    tokio::spawn(async move {
        let resume = load(&spec, source, &opts, &store, Parallelism::Auto).await;
        live::run_log_source_from(spec, source, opts, tx, resume).await;
    })
}

/// True when some file of `spec` has content: its history is then being read until the
/// source says otherwise. A stat per file, so that the state is set before the first frame.
fn has_content(spec: &LogSourceSpec) -> bool {
    history_files(spec)
        .iter()
        .any(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0))
}

/// Reads `spec`'s history into `store` (showing progress in the source's state) and returns
/// where following takes over. What the dashboard runs before following, and what the
/// benchmark times.
pub async fn load(
    spec: &LogSourceSpec,
    source: SourceId,
    opts: &FormatOptions,
    store: &Arc<Mutex<Store>>,
    par: Parallelism,
) -> Vec<Resume> {
    let mut shown = None;
    let base = {
        let mut s = lock(store);
        // Said at once, so that no frame shows the empty store as the source's whole story.
        if has_content(spec) {
            shown = Some(0);
            s.set_source_state(source, &reading_state(0));
        }
        let now = s.now().max(crate::model::time::now_ms());
        let mut base = Store::new(s.config().clone(), TimeMode::Live).with_now(now);
        // The same sources in the same order, so that the history store can stand in for the
        // shared one with every source id unchanged (see the merge below).
        for src in s.sources() {
            base.register_source(&src.label);
        }
        base
    };
    let progress = Arc::new(Progress::default());
    let mut job = {
        let (spec, opts, progress) = (spec.clone(), opts.clone(), progress.clone());
        tokio::task::spawn_blocking(move || read_history_into(&spec, &opts, base, par, &progress))
    };
    let mut every = tokio::time::interval(PROGRESS_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let history = loop {
        tokio::select! {
            done = &mut job => break done,
            _ = every.tick() => {
                let percent = progress.percent();
                if percent.is_some() && percent != shown {
                    shown = percent;
                    lock(store).set_source_state(source, &reading_state(percent.unwrap_or(0)));
                }
            }
        }
    };
    let h = match history {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(path = %spec.path, error = %e, "history read stopped");
            let mut s = lock(store);
            s.set_source_state(source, &format!("error: history read stopped: {e}"));
            return Vec::new();
        }
    };
    tracing::info!(
        path = %spec.path,
        lines = h.lines,
        bytes = h.bytes,
        "history read"
    );
    let mut s = lock(store);
    // The history store is the full one and the shared store still nearly empty (probe
    // results, other sources' first lines): the small one is merged into the big one, which
    // then takes its place, so that two full stores never coexist. Sources keep their ids
    // (registered in the same order); route and origin ids are the store's own business.
    let shared = std::mem::replace(&mut *s, h.store);
    s.merge(shared);
    if shown.is_some() {
        // The follower says the same on its first read; until then the state must not stay
        // at "reading history".
        s.set_source_state(source, "following");
    }
    h.resume
}
