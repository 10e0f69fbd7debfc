//! The real binary in a pseudo-terminal, started on a log file that already holds half an hour
//! of traffic: the first screen shows that half hour (its request count, its failing route),
//! never an empty, healthy board.
//!
//! What the terminal shows is rebuilt from the bytes corstop writes by a small screen model
//! (cursor moves and text; colours ignored), frame by frame, since a frame only writes the
//! cells that changed.
//! Nothing here measures time: every wait polls for an observable change with a deadline.

#![cfg(unix)]
// Starting a child on a pty takes pre_exec and ioctl; each block says why it is sound.
#![allow(unsafe_code)]

use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::pty::{Winsize, openpty};

const DEADLINE: Duration = Duration::from_secs(20);
/// What ends every frame: the cursor hidden again.
const FRAME_END: &[u8] = b"\x1b[?25l";
const COLS: u16 = 120;
const ROWS: u16 = 36;

/// A character grid driven by the escape sequences a ratatui frame uses.
struct Screen {
    cells: Vec<Vec<char>>,
    row: usize,
    col: usize,
    /// Bytes of an unfinished UTF-8 character or escape sequence.
    pending: Vec<u8>,
}

impl Screen {
    fn new(cols: u16, rows: u16) -> Screen {
        Screen {
            cells: vec![vec![' '; cols as usize]; rows as usize],
            row: 0,
            col: 0,
            pending: Vec::new(),
        }
    }

    fn clear(&mut self) {
        for row in &mut self.cells {
            row.fill(' ');
        }
    }

    fn put(&mut self, c: char) {
        match c {
            '\r' => self.col = 0,
            '\n' => self.row = (self.row + 1).min(self.cells.len() - 1),
            c if c.is_control() => {}
            c => {
                if let Some(cell) = self
                    .cells
                    .get_mut(self.row)
                    .and_then(|r| r.get_mut(self.col))
                {
                    *cell = c;
                }
                self.col += 1;
            }
        }
    }

    /// A complete CSI sequence: parameters and final byte.
    fn csi(&mut self, params: &str, fin: u8) {
        let nums: Vec<usize> = params
            .split(';')
            .map(|p| p.trim_start_matches('?').parse().unwrap_or(0))
            .collect();
        let n = |i: usize| nums.get(i).copied().filter(|&v| v > 0).unwrap_or(1);
        match fin {
            b'H' | b'f' => {
                self.row = n(0) - 1;
                self.col = n(1) - 1;
            }
            b'G' => self.col = n(0) - 1,
            b'C' => self.col += n(0),
            b'D' => self.col = self.col.saturating_sub(n(0)),
            b'A' => self.row = self.row.saturating_sub(n(0)),
            b'B' => self.row += n(0),
            b'J' if nums.first() == Some(&2) => self.clear(),
            // Entering or leaving the alternate screen starts from a blank one.
            b'h' | b'l' if params == "?1049" => self.clear(),
            _ => {}
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        let data = std::mem::take(&mut self.pending);
        let mut i = 0;
        while i < data.len() {
            let b = data[i];
            if b == 0x1b {
                let Some(&kind) = data.get(i + 1) else { break };
                if kind == b'[' {
                    let Some(end) = data[i + 2..].iter().position(|c| (0x40..=0x7e).contains(c))
                    else {
                        break;
                    };
                    let params = String::from_utf8_lossy(&data[i + 2..i + 2 + end]).into_owned();
                    self.csi(&params, data[i + 2 + end]);
                    i += 3 + end;
                } else if kind == b']' {
                    // Operating system command, up to BEL or ST.
                    let Some(end) = data[i + 2..].iter().position(|&c| c == 0x07 || c == 0x1b)
                    else {
                        break;
                    };
                    i += 2 + end + if data[i + 2 + end] == 0x1b { 2 } else { 1 };
                } else {
                    i += 2;
                }
                continue;
            }
            let len = match b {
                0x00..=0x7f => 1,
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                _ => 4,
            };
            if i + len > data.len() {
                break;
            }
            match std::str::from_utf8(&data[i..i + len]) {
                Ok(s) => s.chars().for_each(|c| self.put(c)),
                Err(_) => self.put('?'),
            }
            i += len;
        }
        self.pending = data[i..].to_vec();
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for row in &self.cells {
            let line: String = row.iter().collect();
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out
    }
}

/// corstop on a pty, with everything it writes collected.
struct Session {
    child: Child,
    master: File,
    output: Arc<Mutex<Vec<u8>>>,
    _dir: tempfile::TempDir,
}

impl Session {
    fn start(dir: tempfile::TempDir, args: &[&str]) -> Session {
        let size = Winsize {
            ws_row: ROWS,
            ws_col: COLS,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(&size, None).unwrap();
        let slave_fd = pty.slave.as_raw_fd();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_corstop"));
        cmd.args(args)
            .arg("--log-file")
            .arg(dir.path().join("corstop.log"))
            .current_dir(dir.path())
            .env("TERM", "xterm-256color")
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path())
            .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
            .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
            .stderr(Stdio::from(pty.slave.try_clone().unwrap()));
        for (k, _) in std::env::vars() {
            if k.starts_with("CORSTOP_") || k == "NO_COLOR" {
                cmd.env_remove(k);
            }
        }
        // SAFETY: only async-signal-safe calls (setsid, ioctl) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // A session of its own with the pty as controlling terminal.
                if nix::libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if nix::libc::ioctl(slave_fd, nix::libc::TIOCSCTTY as _, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        drop(pty.slave);
        let master = File::from(pty.master);
        let output = Arc::new(Mutex::new(Vec::new()));
        {
            let mut master = master.try_clone().unwrap();
            let output = output.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = master.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    output.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
        }
        Session {
            child,
            master,
            output,
            _dir: dir,
        }
    }

    /// Feeds what corstop wrote so far to `screen`, checking every state the screen went
    /// through with `never` (in steps of what arrived between polls), until `done` holds.
    fn watch(
        &mut self,
        screen: &mut Screen,
        what: &str,
        never: impl Fn(&str) -> Option<String>,
        done: impl Fn(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        let mut seen = 0;
        loop {
            // Only whole frames: each ends by hiding the cursor, and one read may end inside
            // a frame, whose top half would look like a screen of its own.
            let new: Vec<u8> = {
                let out = self.output.lock().unwrap();
                let upto = out[seen..]
                    .windows(FRAME_END.len())
                    .rposition(|w| w == FRAME_END)
                    .map_or(seen, |i| seen + i + FRAME_END.len());
                out[seen..upto].to_vec()
            };
            seen += new.len();
            screen.feed(&new);
            let text = screen.text();
            if !new.is_empty()
                && let Some(why) = never(&text)
            {
                panic!("{why}; screen:\n{text}");
            }
            if done(&text) {
                return text;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("corstop exited ({status}) while waiting for {what}; screen:\n{text}");
            }
            assert!(
                start.elapsed() < DEADLINE,
                "no {what} within {DEADLINE:?}; screen:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.master.write_all(b"q");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// nginx combined lines, one every two seconds over the last half hour: the API's preflights
/// on `/api/orders` fail with 401 (the auth layer answers OPTIONS), the rest succeeds.
fn half_hour_of_traffic(now: i64) -> (String, u64) {
    let mut text = String::new();
    let mut last_15m = 0;
    let from = now - 30 * 60_000;
    let mut t = from;
    let mut i = 0u64;
    while t < now - 5_000 {
        let ts = chrono::DateTime::from_timestamp_millis(t)
            .unwrap()
            .format("%d/%b/%Y:%H:%M:%S +0000");
        let (method, path, status) = match i % 4 {
            0 => ("OPTIONS", "/api/orders", 401),
            1 => ("GET", "/api/orders/1234", 200),
            2 => ("GET", "/api/products", 200),
            _ => ("POST", "/api/cart", 201),
        };
        let _ = writeln!(
            text,
            "203.0.113.{} - - [{ts}] \"{method} {path} HTTP/1.1\" {status} 120 \
             \"https://app.contoso.com/\" \"Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0\"",
            i % 200 + 1
        );
        if t >= now - 15 * 60_000 {
            last_15m += 1;
        }
        t += 2_000;
        i += 1;
    }
    (text, last_15m)
}

#[test]
fn the_first_screen_shows_the_history_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let now = corstop::model::time::now_ms();
    let (text, last_15m) = half_hour_of_traffic(now);
    std::fs::write(dir.path().join("access.log"), text).unwrap();
    let mut s = Session::start(dir, &["--log", "access.log"]);
    let mut screen = Screen::new(COLS, ROWS);
    // Every screen on the way must be either still loading or the history: an empty board
    // that says OK is what this feature removes.
    let never = |text: &str| {
        let empty = text.contains(" 0 requests over");
        empty.then(|| "an empty board was shown".to_string())
    };
    let shown = s.watch(&mut screen, "the history's request count", never, |text| {
        requests_over_15m(text).is_some_and(|n| n > 0)
    });
    let n = requests_over_15m(&shown).unwrap();
    // The window is counted in 10 s buckets, so its edge may take in or leave out a few lines.
    assert!(
        n.abs_diff(last_15m) <= 10,
        "{n} requests shown, {last_15m} in the last 15 minutes of the file:\n{shown}"
    );
    assert!(shown.contains("/api/orders"), "{shown}");
    assert!(
        shown.contains("DEGRADED") || shown.contains("PAGE"),
        "{shown}"
    );
    assert!(!shown.contains("LOADING HISTORY"), "{shown}");
    assert!(shown.contains("following"), "{shown}");
}

/// The count in "N requests over 15m".
fn requests_over_15m(text: &str) -> Option<u64> {
    let at = text.find(" requests over 15m")?;
    let digits: String = text[..at]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.chars().rev().collect::<String>().parse().ok()
}
