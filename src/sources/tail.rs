//! Following a log file the way `tail -F` does, without its losses.
//!
//! A [`FileFollower`] reads one path across every way logs get rotated:
//!
//! - **rename** (`mv app.log app.log.1`, new `app.log` created): the old file keeps being read
//!   through the handle already open, to its end and for a grace period afterwards, because
//!   writers often append to it until they reopen; only then is it let go. The new file is
//!   read from offset 0 meanwhile.
//! - **copytruncate**: the file shrinking below the read offset, and also a truncation that
//!   regrew past the offset between two checks, which the size alone cannot reveal. The first
//!   bytes of the file are kept as a fingerprint and compared on every check.
//! - **delete and recreate**, and a file that does not exist yet: the follower waits for it and
//!   never gives up.
//!
//! The follower itself does plain blocking reads and keeps no timers: callers decide when to
//! call [`FileFollower::read_available`] (the live source runs it on tokio's blocking pool and
//! sleeps on a [`Wakeup`] between calls; tests drive it directly). Only complete lines come
//! out; an incomplete last line is held until its newline arrives, or handed out once when the
//! file it belongs to is left for good.
//!
//! One file, past the usual 700 lines: every rotation case (rename, copytruncate, delete and
//! recreate, truncation, a parked glob member) is a state of one follower, and the cases are
//! only right when read side by side.

use std::collections::VecDeque;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::lines::{LineSplitter, MAX_LINE, Piece};

/// Bytes read per `read` call: large enough that syscalls stay rare at high line rates.
pub const READ_CHUNK: usize = 128 << 10;
/// Bytes read per `read_available` call, so that a huge backlog is handed out in slices.
const MAX_BYTES_PER_CALL: u64 = 4 << 20;
/// Bytes of the file's start kept as its fingerprint.
const FINGERPRINT_LEN: usize = 256;
/// Rotated-away files still being read; more than this and the oldest is let go.
const MAX_DRAINING: usize = 4;
/// Safety-net period when the directory is watched: catches events the watcher missed.
pub const SAFETY_INTERVAL: Duration = Duration::from_millis(500);
/// Period of the pure polling mode.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How often a failed directory watch is retried (the directory may appear later).
const WATCH_RETRY: Duration = Duration::from_secs(5);

/// How a follower behaves.
#[derive(Clone, Debug)]
pub struct FollowOptions {
    /// Read the file present at start-up from offset 0 instead of from its end.
    pub from_start: bool,
    /// Longest line handed out; longer ones are reported as [`FollowEvent::TooLong`].
    pub max_line: usize,
    /// How long a rotated-away file keeps being read after it last grew.
    pub drain_grace: Duration,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            from_start: false,
            max_line: MAX_LINE,
            drain_grace: Duration::from_secs(30),
        }
    }
}

/// Lifecycle of a followed path, as shown in the sources panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FollowState {
    WaitingForFile,
    /// The path has never been readable: missing, a directory, permission denied... with the
    /// whole OS error. The follower keeps checking, so a file that appears later is read.
    Unreadable(String),
    Following,
    RotatedRename,
    Truncated,
    Recreated,
    Error(String),
}

impl fmt::Display for FollowState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FollowState::WaitingForFile => f.write_str("waiting for file"),
            FollowState::Following => f.write_str("following"),
            FollowState::RotatedRename => f.write_str("rotated (rename)"),
            FollowState::Truncated => f.write_str("truncated"),
            FollowState::Recreated => f.write_str("recreated"),
            FollowState::Unreadable(e) => write!(f, "error: cannot open: {e}"),
            FollowState::Error(e) => write!(f, "error: {e}"),
        }
    }
}

/// What a follower hands out.
#[derive(Debug, PartialEq, Eq)]
pub enum FollowEvent<'a> {
    /// A complete line without its terminator.
    Line(&'a [u8]),
    /// A line longer than the cap: its first bytes and its length. Never buffered whole.
    TooLong { head: &'a [u8], len: u64 },
    /// The follower's state changed.
    State(FollowState),
}

impl<'a> From<Piece<'a>> for FollowEvent<'a> {
    fn from(p: Piece<'a>) -> Self {
        match p {
            Piece::Line(l) => FollowEvent::Line(l),
            Piece::TooLong { head, len } => FollowEvent::TooLong { head, len },
        }
    }
}

/// What one `read_available` call did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Lines handed out (including overlong ones).
    pub lines: u64,
    /// Bytes read from files.
    pub bytes: u64,
    /// The call stopped at a limit: more data is waiting, call again without sleeping.
    pub more: bool,
}

/// File identity: device and inode.
type FileId = (u64, u64);

/// Read offsets per file identity, shared by the followers of one glob pattern. With a pattern
/// such as `app.log*`, a rotation renames a file that one follower is reading into a path that
/// another follower will discover as new; the book makes the newcomer wait until the first one
/// lets the file go, then start where reading stopped instead of reading the file again.
#[derive(Debug, Default)]
pub struct OffsetBook {
    entries: VecDeque<BookEntry>,
    /// The pattern the followers share, to tell whether a released file will be picked up.
    pattern: Option<String>,
}

#[derive(Debug)]
struct BookEntry {
    id: FileId,
    offset: u64,
    head: Vec<u8>,
    /// A follower has the file open.
    active: bool,
    /// Another follower waits to take the file over.
    wanted: bool,
}

const BOOK_CAP: usize = 256;

impl OffsetBook {
    /// A book for the followers of one glob pattern.
    pub fn for_pattern(pattern: &str) -> OffsetBook {
        OffsetBook {
            entries: VecDeque::new(),
            pattern: Some(pattern.to_string()),
        }
    }

    fn note(&mut self, id: FileId, offset: u64, head: &[u8], active: bool) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.id == id) {
            e.offset = offset;
            e.active = active;
            if e.head.len() < head.len() {
                e.head = head.to_vec();
            }
            return;
        }
        if self.entries.len() >= BOOK_CAP {
            // Forget the oldest inactive entry; active ones are in use.
            match self.entries.iter().position(|e| !e.active) {
                Some(i) => {
                    self.entries.remove(i);
                }
                None => return,
            }
        }
        self.entries.push_back(BookEntry {
            id,
            offset,
            head: head.to_vec(),
            active,
            wanted: false,
        });
    }

    fn lookup(&mut self, id: FileId) -> Option<&mut BookEntry> {
        self.entries.iter_mut().find(|e| e.id == id)
    }
}

/// An [`OffsetBook`] shared between followers.
pub type SharedBook = Arc<Mutex<OffsetBook>>;

fn with_book<R>(book: &SharedBook, f: impl FnOnce(&mut OffsetBook) -> R) -> R {
    let mut guard = book
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    f(&mut guard)
}

/// One open file and where reading stands in it.
#[derive(Debug)]
struct OpenFile {
    file: File,
    id: FileId,
    offset: u64,
    /// The file's first bytes as seen so far (up to [`FINGERPRINT_LEN`]).
    head: Vec<u8>,
    splitter: LineSplitter,
    last_growth: Instant,
}

impl OpenFile {
    fn open(path: &Path, max_line: usize) -> io::Result<OpenFile> {
        OpenFile::from_file(File::open(path)?, max_line)
    }

    fn from_file(file: File, max_line: usize) -> io::Result<OpenFile> {
        let meta = file.metadata()?;
        if meta.is_dir() {
            // EISDIR (21 on Linux and the BSDs), so the message reads like every other OS error.
            return Err(io::Error::from_raw_os_error(21));
        }
        Ok(OpenFile {
            file,
            id: (meta.dev(), meta.ino()),
            offset: 0,
            head: Vec::new(),
            splitter: LineSplitter::new(max_line),
            last_growth: Instant::now(),
        })
    }

    fn seek_to(&mut self, offset: u64) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(offset))?;
        self.offset = offset;
        Ok(())
    }

    /// Reads until end of file or a limit. `Ok(true)` at end of file.
    fn read_some(
        &mut self,
        buf: &mut [u8],
        max_lines: u64,
        p: &mut Progress,
        on: &mut dyn FnMut(FollowEvent<'_>),
    ) -> io::Result<bool> {
        loop {
            if p.lines >= max_lines || p.bytes >= MAX_BYTES_PER_CALL {
                return Ok(false);
            }
            let n = match self.file.read(buf) {
                Ok(0) => return Ok(true),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let data = &buf[..n];
            if self.head.len() < FINGERPRINT_LEN && self.head.len() as u64 == self.offset {
                let take = (FINGERPRINT_LEN - self.head.len()).min(n);
                self.head.extend_from_slice(&data[..take]);
            }
            self.offset += n as u64;
            p.bytes += n as u64;
            self.last_growth = Instant::now();
            p.lines += self.splitter.push(data, &mut |piece| on(piece.into()));
        }
    }

    /// Compares the file's first bytes with the fingerprint; extends the fingerprint while the
    /// file is shorter than its full length. `true` when the start of the file changed, i.e.
    /// it was truncated and rewritten.
    fn start_changed(&mut self) -> io::Result<bool> {
        let mut now = [0u8; FINGERPRINT_LEN];
        let got = read_prefix(&self.file, &mut now)?;
        let known = self.head.len();
        if got < known || now[..known] != self.head[..] {
            return Ok(true);
        }
        if got > known {
            self.head.clear();
            self.head.extend_from_slice(&now[..got]);
        }
        Ok(false)
    }

    fn restart(&mut self) -> io::Result<()> {
        self.head.clear();
        self.seek_to(0)
    }
}

fn read_prefix(file: &File, out: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < out.len() {
        match file.read_at(&mut out[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Follows one path. See the module documentation.
#[derive(Debug)]
pub struct FileFollower {
    path: PathBuf,
    opts: FollowOptions,
    current: Option<OpenFile>,
    /// Rotated-away files still being read, oldest first.
    draining: Vec<OpenFile>,
    buf: Vec<u8>,
    /// The next open is the start-up one: it starts at the end unless `from_start`.
    first_open: bool,
    /// A file was opened at this path at least once.
    ever_opened: bool,
    reported: Option<FollowState>,
    transition_at: Instant,
    last_activity: Instant,
    book: Option<SharedBook>,
    /// The current file, closed to spare a descriptor while it is quiet (see
    /// [`FileFollower::park`]).
    parked: Option<Parked>,
    /// Taken over at an offset ([`FileFollower::resume`]); its state is reported on the
    /// first read.
    resumed: bool,
}

/// Where reading stood in a file whose descriptor was given back.
#[derive(Debug)]
struct Parked {
    id: FileId,
    offset: u64,
    head: Vec<u8>,
    splitter: LineSplitter,
    last_growth: Instant,
}

impl FileFollower {
    pub fn new(path: impl Into<PathBuf>, opts: FollowOptions) -> FileFollower {
        FileFollower {
            path: path.into(),
            opts,
            current: None,
            draining: Vec::new(),
            buf: vec![0; READ_CHUNK],
            first_open: true,
            ever_opened: false,
            reported: None,
            transition_at: Instant::now(),
            last_activity: Instant::now(),
            book: None,
            parked: None,
            resumed: false,
        }
    }

    /// A follower that takes over a file already open, at `offset`: the lines before it were
    /// read another way (the history read at start-up), up to the end of a complete line.
    /// The handle is the one that history was read from, so a rotation between that read and
    /// now is seen as one: the old file is drained from `offset`, the new one read whole.
    pub fn resume(
        path: impl Into<PathBuf>,
        opts: FollowOptions,
        file: File,
        offset: u64,
    ) -> io::Result<FileFollower> {
        let mut f = OpenFile::from_file(file, opts.max_line)?;
        f.start_changed()?;
        f.seek_to(offset)?;
        let mut follower = FileFollower::new(path, opts);
        follower.current = Some(f);
        follower.first_open = false;
        follower.ever_opened = true;
        follower.resumed = true;
        Ok(follower)
    }

    /// Shares read offsets with the other followers of the same pattern.
    pub fn with_book(mut self, book: SharedBook) -> FileFollower {
        self.book = Some(book);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True while any file is open (the current one or a rotated-away one being drained).
    pub fn is_open(&self) -> bool {
        self.current.is_some() || !self.draining.is_empty()
    }

    /// True while the current file is closed to spare its descriptor.
    pub fn is_parked(&self) -> bool {
        self.parked.is_some()
    }

    /// Closes the current file while keeping where reading stands (offset, first bytes, a held
    /// incomplete line), so that a glob over thousands of files does not hold a descriptor per
    /// file. The next [`FileFollower::read_available`] reopens it only when it grew. Returns
    /// false when there is nothing to park (no current file, or rotated files still draining).
    pub fn park(&mut self) -> bool {
        if !self.draining.is_empty() {
            return false;
        }
        let Some(cur) = self.current.take() else {
            return false;
        };
        self.parked = Some(Parked {
            id: cur.id,
            offset: cur.offset,
            head: cur.head,
            splitter: cur.splitter,
            last_growth: cur.last_growth,
        });
        true
    }

    /// Reopens a parked file that is still the one at the path.
    fn unpark(&mut self, p: Parked) -> io::Result<()> {
        let mut f = OpenFile::open(&self.path, self.opts.max_line)?;
        if f.id != p.id {
            return Err(io::Error::other("replaced while parked"));
        }
        f.seek_to(p.offset)?;
        f.head = p.head;
        f.splitter = p.splitter;
        f.last_growth = p.last_growth;
        self.current = Some(f);
        Ok(())
    }

    /// Read offset in the current file.
    pub fn offset(&self) -> Option<u64> {
        self.current
            .as_ref()
            .map(|c| c.offset)
            .or(self.parked.as_ref().map(|p| p.offset))
    }

    /// Time since a file last grew (or since the follower started).
    pub fn idle_for(&self) -> Duration {
        self.last_activity.elapsed()
    }

    /// The last state reported.
    pub fn state(&self) -> Option<&FollowState> {
        self.reported.as_ref()
    }

    fn report(&mut self, state: FollowState, on: &mut dyn FnMut(FollowEvent<'_>)) {
        if self.reported.as_ref() != Some(&state) {
            tracing::debug!(path = %self.path.display(), %state, "follower state");
            if matches!(
                state,
                FollowState::RotatedRename | FollowState::Truncated | FollowState::Recreated
            ) {
                self.transition_at = Instant::now();
            }
            on(FollowEvent::State(state.clone()));
            self.reported = Some(state);
        }
    }

    fn report_error(&mut self, what: &str, e: &io::Error, on: &mut dyn FnMut(FollowEvent<'_>)) {
        if self.never_opened() {
            self.report_unreadable(e, on);
            return;
        }
        let msg = format!("{what} {}: {e}", self.path.display());
        tracing::warn!(path = %self.path.display(), error = %e, "{what} the log failed");
        self.report(FollowState::Error(msg), on);
    }

    /// No file was ever read from this path: whatever stops it is a source that is not
    /// reading, not a rotation in progress.
    fn never_opened(&self) -> bool {
        !self.ever_opened && self.current.is_none() && self.draining.is_empty()
    }

    fn report_unreadable(&mut self, e: &io::Error, on: &mut dyn FnMut(FollowEvent<'_>)) {
        let state = FollowState::Unreadable(e.to_string());
        if self.reported.as_ref() != Some(&state) {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot open the log");
        }
        self.report(state, on);
    }

    /// Checks the path for rotation, reads what is available (rotated-away files first, as
    /// they hold the older lines) and hands out complete lines. Stops after about `max_lines`
    /// lines or a few megabytes, setting [`Progress::more`].
    pub fn read_available(
        &mut self,
        max_lines: u64,
        on: &mut dyn FnMut(FollowEvent<'_>),
    ) -> Progress {
        let mut p = Progress::default();
        if std::mem::take(&mut self.resumed) {
            self.report(FollowState::Following, on);
        }
        self.check_path(&mut p, on);

        let mut i = 0;
        while i < self.draining.len() {
            let res = self.draining[i].read_some(&mut self.buf, max_lines, &mut p, on);
            match res {
                Ok(false) => {
                    p.more = true;
                    self.note_offsets();
                    return p;
                }
                Ok(true) if self.draining[i].last_growth.elapsed() < self.opts.drain_grace => {
                    i += 1;
                }
                Ok(true) => {
                    let old = self.draining.remove(i);
                    p.lines += self.release(old, on);
                }
                Err(e) => {
                    let old = self.draining.remove(i);
                    p.lines += self.release(old, on);
                    self.report_error("reading rotated", &e, on);
                }
            }
        }

        if let Some(cur) = self.current.as_mut() {
            match cur.read_some(&mut self.buf, max_lines, &mut p, on) {
                Ok(true) => {}
                Ok(false) => p.more = true,
                Err(e) => self.report_error("reading", &e, on),
            }
        }
        self.note_offsets();
        if p.bytes > 0 {
            self.last_activity = Instant::now();
        }

        let settled = self.draining.is_empty()
            && matches!(
                self.reported,
                Some(FollowState::RotatedRename | FollowState::Truncated | FollowState::Recreated)
            )
            && self.transition_at.elapsed() >= self.opts.drain_grace;
        // Data flowing again after an error means whatever failed has recovered.
        let recovered = p.bytes > 0 && matches!(self.reported, Some(FollowState::Error(_)));
        if settled || recovered {
            self.report(FollowState::Following, on);
        }
        p
    }

    /// Lets go of every file, handing out held incomplete lines. Used when the follower is
    /// dropped for good (its path left a glob's expansion).
    pub fn finish(&mut self, on: &mut dyn FnMut(FollowEvent<'_>)) -> u64 {
        let mut lines = 0;
        if let Some(mut p) = self.parked.take() {
            lines += p.splitter.finish(&mut |piece| on(piece.into()));
        }
        let files: Vec<OpenFile> = self.draining.drain(..).chain(self.current.take()).collect();
        for f in files {
            lines += self.release(f, on);
        }
        lines
    }

    /// Lets go of a file for good. Its incomplete last line is handed out, unless another
    /// follower of the pattern waits to take the file over: then that follower starts at the
    /// beginning of the line and completes it, so the line is neither cut nor counted twice.
    fn release(&self, mut f: OpenFile, on: &mut dyn FnMut(FollowEvent<'_>)) -> u64 {
        if let Some(book) = &self.book {
            let held = f.splitter.held_bytes();
            let (wanted, pattern) = with_book(book, |b| {
                let wanted = b.lookup(f.id).is_some_and(|e| e.wanted);
                (wanted, b.pattern.clone())
            });
            // Nobody waits yet, but the file still matches the pattern under some name: a
            // follower for that name is about to pick it up.
            let matched = || {
                pattern.as_deref().is_some_and(|p| {
                    super::glob::expand(p).is_ok_and(|paths| {
                        paths.iter().any(|path| {
                            fs::metadata(path).is_ok_and(|m| (m.dev(), m.ino()) == f.id)
                        })
                    })
                })
            };
            if held <= f.offset && (wanted || (held > 0 && matched())) {
                f.splitter.clear();
                with_book(book, |b| b.note(f.id, f.offset - held, &f.head, false));
                return 0;
            }
        }
        let lines = f.splitter.finish(&mut |piece| on(piece.into()));
        self.note_file(&f, false);
        lines
    }

    fn note_offsets(&self) {
        for f in self.draining.iter().chain(&self.current) {
            self.note_file(f, true);
        }
    }

    fn note_file(&self, f: &OpenFile, active: bool) {
        if let Some(book) = &self.book {
            with_book(book, |b| b.note(f.id, f.offset, &f.head, active));
        }
    }

    fn check_path(&mut self, p: &mut Progress, on: &mut dyn FnMut(FollowEvent<'_>)) {
        let meta = match fs::metadata(&self.path) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                self.report_error("checking", &e, on);
                return;
            }
        };
        if self.current.is_none()
            && let Some(p) = self.parked.take()
        {
            match &meta {
                // Quiet since it was parked: it stays closed.
                Some(m) if (m.dev(), m.ino()) == p.id && m.len() == p.offset => {
                    self.parked = Some(p);
                    return;
                }
                Some(m) if (m.dev(), m.ino()) == p.id => {
                    if let Err(e) = self.unpark(p) {
                        self.report_error("reopening", &e, on);
                        return;
                    }
                }
                // Replaced or removed while parked: it had been quiet, so what it held was
                // read; the file now at the path is new and read from its start.
                _ => {}
            }
        }
        let Some(cur) = self.current.as_mut() else {
            match meta {
                // A directory is never opened: there is nothing to read, and opening it again
                // on every check would only generate directory events.
                Some(m) if m.is_dir() => {
                    self.first_open = false;
                    self.report_unreadable(&io::Error::from_raw_os_error(21), on);
                }
                Some(_) => self.open_current(None, on),
                None if self.never_opened() => {
                    self.first_open = false;
                    let e = io::Error::from(io::ErrorKind::NotFound);
                    let e = fs::metadata(&self.path).err().unwrap_or(e);
                    self.report_unreadable(&e, on);
                }
                None => {
                    self.first_open = false;
                    self.report(FollowState::WaitingForFile, on);
                }
            }
            return;
        };
        let Some(meta) = meta else {
            // Renamed or deleted with nothing new yet: the open handle is kept, since writers
            // may still append to it, and the path is watched for a new file.
            if self.draining.is_empty() {
                self.report(FollowState::WaitingForFile, on);
            }
            return;
        };
        if (meta.dev(), meta.ino()) != cur.id {
            let deleted = cur.file.metadata().is_ok_and(|m| m.nlink() == 0);
            if let Some(mut old) = self.current.take() {
                old.last_growth = Instant::now();
                if self.draining.len() >= MAX_DRAINING {
                    let oldest = self.draining.remove(0);
                    p.lines += self.release(oldest, on);
                }
                self.draining.push(old);
            }
            let why = if deleted {
                FollowState::Recreated
            } else {
                FollowState::RotatedRename
            };
            self.open_current(Some(why), on);
            return;
        }
        let shrunk = meta.len() < cur.offset;
        let rewritten = !shrunk && cur.start_changed().unwrap_or(false);
        if shrunk || rewritten {
            // The bytes of a held incomplete line were real content of the old data; hand
            // them out once rather than glue them to the new data.
            p.lines += cur.splitter.finish(&mut |piece| on(piece.into()));
            if let Err(e) = cur.restart() {
                self.report_error("rewinding", &e, on);
                return;
            }
            self.report(FollowState::Truncated, on);
        }
    }

    fn open_current(&mut self, why: Option<FollowState>, on: &mut dyn FnMut(FollowEvent<'_>)) {
        let start_at_end = self.first_open && !self.opts.from_start;
        self.first_open = false;
        let mut f = match OpenFile::open(&self.path, self.opts.max_line) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound && !self.never_opened() => {
                self.report(FollowState::WaitingForFile, on);
                return;
            }
            Err(e) => {
                self.report_error("opening", &e, on);
                return;
            }
        };
        let positioned = if start_at_end {
            self.position_at_end(&mut f).map(|()| true)
        } else {
            self.position_from_book(&mut f)
        };
        match positioned {
            Ok(true) => {}
            // Another follower of the same pattern is still reading this file; it is opened
            // again on a later call, once that follower has let it go.
            Ok(false) => return,
            Err(e) => {
                self.report_error("positioning in", &e, on);
                return;
            }
        }
        self.current = Some(f);
        self.ever_opened = true;
        self.report(why.unwrap_or(FollowState::Following), on);
    }

    /// Starts after the last complete line; a trailing fragment belongs to a line whose start
    /// was never seen, so it is skipped up to its newline.
    fn position_at_end(&self, f: &mut OpenFile) -> io::Result<()> {
        let len = f.file.metadata()?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            if f.file.read_at(&mut last, len - 1)? == 1 && last[0] != b'\n' {
                f.splitter.skip_first_fragment();
            }
        }
        f.start_changed()?;
        f.seek_to(len)
    }

    /// Starts where another follower of the same pattern stopped reading this file, if one
    /// did. `Ok(false)` while that follower still has it open.
    fn position_from_book(&self, f: &mut OpenFile) -> io::Result<bool> {
        let Some(book) = &self.book else {
            return Ok(true);
        };
        let known = with_book(book, |b| {
            b.lookup(f.id).map(|e| (e.offset, e.head.clone(), e.active))
        });
        let set_wanted = |wanted: bool| {
            with_book(book, |b| {
                if let Some(e) = b.lookup(f.id) {
                    e.wanted = wanted;
                }
            });
        };
        let Some((offset, head, active)) = known else {
            return Ok(true);
        };
        let len = f.file.metadata()?.len();
        let mut now = vec![0u8; head.len()];
        let got = read_prefix(&f.file, &mut now)?;
        if offset > len || got != head.len() || now != head {
            // Same inode number, different content: a new file that reused it.
            return Ok(true);
        }
        if active {
            set_wanted(true);
            return Ok(false);
        }
        set_wanted(false);
        f.head = head;
        f.seek_to(offset)?;
        Ok(true)
    }
}

/// Wake-ups for followers: directory events from `notify` when a watch can be set up, plus a
/// periodic tick as a safety net; the tick alone in polling mode (forced, or when the watch
/// cannot be created: NFS, some container mounts).
pub struct Wakeup {
    notify: Arc<Notify>,
    /// Directory events that woke (or will wake) the follower.
    events: Arc<std::sync::atomic::AtomicU64>,
    watcher: Option<notify::RecommendedWatcher>,
    dir: PathBuf,
    poll_only: bool,
    last_try: Instant,
}

impl fmt::Debug for Wakeup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wakeup")
            .field("dir", &self.dir)
            .field("watching", &self.watcher.is_some())
            .field("poll_only", &self.poll_only)
            .finish()
    }
}

impl Wakeup {
    /// Watches `dir` (non-recursively, so creations and renames of files in it are seen)
    /// unless `poll_only`.
    pub fn new(dir: &Path, poll_only: bool) -> Wakeup {
        let mut w = Wakeup {
            notify: Arc::new(Notify::new()),
            events: Arc::default(),
            watcher: None,
            dir: dir.to_path_buf(),
            poll_only,
            last_try: Instant::now(),
        };
        if !poll_only {
            w.try_watch();
        }
        w
    }

    fn try_watch(&mut self) {
        use notify::Watcher;
        self.last_try = Instant::now();
        let n = Arc::clone(&self.notify);
        let events = Arc::clone(&self.events);
        // Opening or reading something in the directory (corstop's own reads among them) is
        // no news; waking on it would make a reader that opens files wake itself forever.
        let handler = move |res: notify::Result<notify::Event>| {
            if res.is_ok_and(|e| !matches!(e.kind, notify::EventKind::Access(_))) {
                events.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                n.notify_one();
            }
        };
        let watcher = notify::recommended_watcher(handler).and_then(|mut w| {
            w.watch(&self.dir, notify::RecursiveMode::NonRecursive)?;
            Ok(w)
        });
        match watcher {
            Ok(w) => self.watcher = Some(w),
            Err(e) => {
                tracing::debug!(dir = %self.dir.display(), error = %e, "directory watch unavailable, polling");
            }
        }
    }

    /// True when directory events arrive (false in polling mode).
    /// Directory events that woke the follower so far.
    pub fn events(&self) -> u64 {
        self.events.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn is_watching(&self) -> bool {
        self.watcher.is_some()
    }

    /// Sleeps until a directory event or the next tick, whichever comes first, and at most `cap`.
    pub async fn wait(&mut self, cap: Duration) {
        if !self.poll_only && self.watcher.is_none() && self.last_try.elapsed() >= WATCH_RETRY {
            self.try_watch();
        }
        let tick = if self.watcher.is_some() {
            SAFETY_INTERVAL
        } else {
            POLL_INTERVAL
        };
        tokio::select! {
            _ = self.notify.notified() => {}
            _ = tokio::time::sleep(tick.min(cap)) => {}
        }
    }
}
