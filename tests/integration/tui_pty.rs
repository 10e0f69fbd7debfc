//! The real binary in a pseudo-terminal: `corstop demo` draws, answers keys and resizes, and
//! gives the terminal back (alternate screen left, cursor shown, raw mode off) whether it is
//! quit with `q` or stopped with SIGTERM.
//!
//! Nothing here measures time: every wait polls for an observable change with a generous
//! deadline, and only the deadline expiring fails the test.

#![cfg(unix)]
// Starting a child on a pty takes pre_exec and ioctl; each block says why it is sound.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::pty::{Winsize, openpty};
use nix::sys::signal::{Signal, kill};
use nix::sys::termios::{LocalFlags, tcgetattr};
use nix::unistd::Pid;

const DEADLINE: Duration = Duration::from_secs(20);
const ENTER_ALT: &[u8] = b"\x1b[?1049h";
const LEAVE_ALT: &[u8] = b"\x1b[?1049l";
const SHOW_CURSOR: &[u8] = b"\x1b[?25h";

fn winsize(cols: u16, rows: u16) -> Winsize {
    Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

/// The child on the slave side of a pty, with everything it writes collected.
struct Session {
    child: Child,
    master: File,
    /// Kept open so the terminal's settings can be read after the child exits.
    slave: Option<OwnedFd>,
    output: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Session {
    /// The demo, on the pty.
    fn start() -> Session {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        let args = ["demo".into(), "--dir".into(), logs.into_os_string()];
        Session::start_in(dir, &args, None)
    }

    /// corstop with `args` (and its diagnostics in the temporary directory), reading
    /// `stdin` when given and the pty otherwise.
    fn start_in(
        dir: tempfile::TempDir,
        args: &[std::ffi::OsString],
        stdin: Option<Stdio>,
    ) -> Session {
        let pty = openpty(&winsize(120, 36), None).unwrap();
        let slave_fd = pty.slave.as_raw_fd();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_corstop"));
        cmd.args(args)
            .arg("--log-file")
            .arg(dir.path().join("corstop.log"))
            .current_dir(dir.path())
            .env("TERM", "xterm-256color")
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path())
            .stdin(stdin.unwrap_or_else(|| Stdio::from(pty.slave.try_clone().unwrap())))
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
                // A session of its own with the pty as controlling terminal, so /dev/tty
                // works and resizes arrive as SIGWINCH.
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
        let master = File::from(pty.master);
        let output = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let mut master = master.try_clone().unwrap();
            let output = output.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                // Ends with EIO once every slave descriptor is closed.
                while let Ok(n) = master.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    output.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            })
        };
        Session {
            child,
            master,
            slave: Some(pty.slave),
            output,
            reader: Some(reader),
            _dir: dir,
        }
    }

    fn output_len(&self) -> usize {
        self.output.lock().unwrap().len()
    }

    fn output(&self) -> Vec<u8> {
        self.output.lock().unwrap().clone()
    }

    fn wait_for(&mut self, what: &str, mut done: impl FnMut(&[u8]) -> bool) {
        let start = Instant::now();
        loop {
            if done(&self.output.lock().unwrap()) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "corstop exited ({status}) while waiting for {what}; output:\n{}",
                    String::from_utf8_lossy(&self.output())
                );
            }
            assert!(
                start.elapsed() < DEADLINE,
                "no {what} within {DEADLINE:?}; output so far:\n{}",
                String::from_utf8_lossy(&self.output())
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn first_frame(&mut self) {
        // The alternate screen and a full 120x36 frame of box drawing.
        self.wait_for("first frame", |out| {
            find(out, ENTER_ALT).is_some_and(|i| out.len() - i > 4000)
        });
    }

    /// Sends `keys` and waits for the screen to be redrawn.
    fn press(&mut self, keys: &[u8]) {
        let before = self.output_len();
        self.master.write_all(keys).unwrap();
        self.master.flush().unwrap();
        let label = format!("redraw after {keys:?}");
        self.wait_for(&label, |out| out.len() > before);
    }

    fn resize(&mut self, cols: u16, rows: u16) {
        let before = self.output_len();
        let ws = winsize(cols, rows);
        // SAFETY: TIOCSWINSZ reads one `winsize` from a valid pointer.
        let rc = unsafe {
            nix::libc::ioctl(
                self.master.as_raw_fd(),
                nix::libc::TIOCSWINSZ as _,
                &ws as *const Winsize,
            )
        };
        assert_eq!(rc, 0, "TIOCSWINSZ failed");
        self.wait_for("redraw after resize", |out| out.len() > before);
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > DEADLINE {
                let _ = self.child.kill();
                panic!(
                    "corstop did not exit within {DEADLINE:?}; output:\n{}",
                    String::from_utf8_lossy(&self.output())
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Checks the terminal was handed back, then closes our end so the reader finishes.
    fn assert_restored(mut self) {
        let termios = tcgetattr(self.slave.as_ref().unwrap()).unwrap();
        assert!(
            termios
                .local_flags
                .contains(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG),
            "raw mode still on: {:?}",
            termios.local_flags
        );
        drop(self.slave.take());
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        let out = self.output.lock().unwrap().clone();
        let entered = rfind(&out, ENTER_ALT).expect("the alternate screen was never entered");
        let left = rfind(&out, LEAVE_ALT).expect("the alternate screen was never left");
        assert!(
            left > entered,
            "left the alternate screen before entering it last"
        );
        let shown = rfind(&out, SHOW_CURSOR).expect("the cursor was never shown again");
        assert!(shown > entered, "cursor not shown after the last frame");
        // Nothing after the restore takes the screen or hides the cursor again.
        let tail = &out[left.min(shown)..];
        assert!(find(tail, ENTER_ALT).is_none());
        assert!(find(tail, b"\x1b[?25l").is_none());
    }
}

/// A test that fails midway must not leave corstop running (nor the reader thread waiting
/// for it).
impl Drop for Session {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The text written to the terminal with escape sequences dropped and each cursor move read as
/// a space (a frame skips the cells that did not change), spaces collapsed.
fn screen_text(out: &[u8]) -> String {
    let mut text = Vec::with_capacity(out.len());
    let mut i = 0;
    while i < out.len() {
        if out[i] == 0x1b && out.get(i + 1) == Some(&b'[') {
            let end = out[i + 2..]
                .iter()
                .position(|b| (0x40..=0x7e).contains(b))
                .map_or(out.len(), |p| i + 2 + p);
            if out.get(end) == Some(&b'H') {
                text.push(b' ');
            }
            i = end + 1;
        } else {
            text.push(out[i]);
            i += 1;
        }
    }
    let text = String::from_utf8_lossy(&text);
    text.split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

#[test]
fn keys_resize_and_quit_restore_the_terminal() {
    let mut s = Session::start();
    s.first_frame();
    for keys in [&b"2"[..], b"3", b"5", b"\t"] {
        s.press(keys);
    }
    s.resize(100, 30);
    s.press(b"1");
    s.master.write_all(b"q").unwrap();
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status}");
    s.assert_restored();
}

#[test]
fn sigterm_restores_the_terminal() {
    let mut s = Session::start();
    s.first_frame();
    kill(Pid::from_raw(s.child.id() as i32), Signal::SIGTERM).unwrap();
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status}");
    s.assert_restored();
}

/// `corstop demo --phase h3` comes up in H3, and its header says so and what the board should
/// show; a dashboard whose origin was written with a trailing slash says it corrected it.
#[test]
fn the_header_narrates_the_demo_and_notes_corrections() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let args = [
        "demo".into(),
        "--phase".into(),
        "h3".into(),
        "--dir".into(),
        logs.into(),
    ];
    let mut s = Session::start_in(dir, &args, None);
    s.first_frame();
    // From the first frame on: the demo starts in H3, not at the start of the cycle.
    let first = screen_text(&s.output());
    assert!(
        first.contains("demo phase 3/5 H3 token expiry (0 of 130 min) \u{b7} expect: in 2 min:"),
        "{first}"
    );
    // Then the first expiry wave: the header says H3 should be on top. Frames only rewrite
    // the cells that changed, so a resize (which redraws everything) is what gets read.
    let start = Instant::now();
    let mut width = 120;
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let before = s.output_len();
        width = if width == 120 { 121 } else { 120 };
        s.resize(width, 36);
        std::thread::sleep(Duration::from_millis(300));
        let frame = screen_text(&s.output()[before..]);
        if frame.contains("expect: H3 on top (tokens expired together; refresh fails for") {
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "no H3 expectation; last frame:\n{frame}"
        );
    }
    s.master.write_all(b"q").unwrap();
    assert!(s.wait_exit().success());
    s.assert_restored();

    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--probe".into(),
        "http://127.0.0.1:9/api/orders".into(),
        "--origin".into(),
        "https://app.example.com/".into(),
    ];
    let mut s = Session::start_in(dir, &args, None);
    s.first_frame();
    let first = screen_text(&s.output());
    assert!(
        first.contains(
            "note: --origin: 'https://app.example.com/' read as 'https://app.example.com' (an \
             origin has no trailing slash)"
        ),
        "{first}"
    );
    s.master.write_all(b"q").unwrap();
    assert!(s.wait_exit().success());
    s.assert_restored();
}

/// `cat old.log | corstop --log -`: every line is older than the window, so the dashboard
/// must say so (and not be OK) instead of showing an empty, healthy screen.
#[test]
fn an_old_log_on_stdin_is_not_an_empty_ok() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.log");
    let mut text = String::new();
    for i in 0..798 {
        let (m, s) = (i / 60 % 60, i % 60);
        text.push_str(&format!(
            "10.0.0.{} - - [04/Apr/2024:10:{m:02}:{s:02} +0000] \"GET /api/orders HTTP/1.1\" 401 \
             12 \"-\" \"Mozilla/5.0\"\n",
            i % 7
        ));
    }
    std::fs::write(&path, text).unwrap();
    let stdin = Stdio::from(File::open(&path).unwrap());
    let args = ["--log".into(), "-".into()];
    let mut s = Session::start_in(dir, &args, Some(stdin));
    s.first_frame();
    s.wait_for("the skipped-history problem", |out| {
        find(out, b"798 lines older than the 6h window were skipped").is_some()
    });
    s.wait_for("a DEGRADED badge", |out| find(out, b"DEGRADED").is_some());
    s.master.write_all(b"q").unwrap();
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status}");
    s.assert_restored();
}

/// The process state letter from /proc (`T` when stopped).
fn proc_state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next())
        .unwrap_or('?')
}

fn wait_state(s: &Session, want: char) {
    let start = Instant::now();
    while proc_state(s.child.id()) != want {
        assert!(
            start.elapsed() < DEADLINE,
            "process never reached state {want}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn is_raw(s: &Session) -> bool {
    !tcgetattr(s.slave.as_ref().unwrap())
        .unwrap()
        .local_flags
        .contains(LocalFlags::ICANON)
}

/// Ctrl-Z (or `kill -TSTP`) leaves a clean shell: alternate screen left, raw mode off, mouse
/// off, the process stopped; `fg` (SIGCONT) takes the screen back and redraws at once, and keys
/// work without Enter.
#[test]
fn suspend_and_resume_behave_like_a_well_mannered_tui() {
    for how in ["ctrl-z", "sigtstp"] {
        let mut s = Session::start();
        s.first_frame();
        match how {
            "ctrl-z" => s.master.write_all(&[0x1a]).unwrap(),
            _ => kill(Pid::from_raw(s.child.id() as i32), Signal::SIGTSTP).unwrap(),
        }
        wait_state(&s, 'T');
        assert!(!is_raw(&s), "{how}: raw mode still on while suspended");
        let out = s.output();
        let left = rfind(&out, LEAVE_ALT).expect("alternate screen left");
        assert!(
            left > rfind(&out, ENTER_ALT).unwrap(),
            "{how}: screen not handed back"
        );
        assert!(
            rfind(&out, b"\x1b[?1000l").is_some_and(|i| i > rfind(&out, b"\x1b[?1000h").unwrap()),
            "{how}: mouse tracking left on"
        );

        let before = s.output_len();
        kill(Pid::from_raw(s.child.id() as i32), Signal::SIGCONT).unwrap();
        s.wait_for("the screen taken back and redrawn", |out| {
            out.len() > before + 2000
                && rfind(out, ENTER_ALT).unwrap_or(0) > rfind(out, LEAVE_ALT).unwrap_or(0)
        });
        assert!(is_raw(&s), "{how}: raw mode not back after fg");
        // Keys work at once: switching view redraws.
        s.press(b"2");
        s.master.write_all(b"q").unwrap();
        let status = s.wait_exit();
        assert!(status.success(), "{how}: exit status {status}");
        s.assert_restored();
    }
}

#[test]
fn sigquit_restores_the_terminal() {
    let mut s = Session::start();
    s.first_frame();
    kill(Pid::from_raw(s.child.id() as i32), Signal::SIGQUIT).unwrap();
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status}");
    s.assert_restored();
}

/// One loopback server for both sides of an alert: `/api/*` is an API whose preflights are
/// refused (401, no CORS headers), `/hook` a Slack webhook that keeps what it is sent.
fn api_and_webhook() -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    use std::io::BufRead;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hooks = Arc::new(Mutex::new(Vec::new()));
    let seen = hooks.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let mut reader = std::io::BufReader::new(conn);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let answer: &[u8] = if request_line.contains(" /hook ") {
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
            } else {
                b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            };
            let _ = reader.get_mut().write_all(answer);
        }
    });
    (addr, hooks)
}

#[test]
fn the_dashboard_sends_its_alerts_to_the_configured_webhook() {
    let (addr, hooks) = api_and_webhook();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("corstop.toml"),
        format!("[notify]\nslack-webhook = \"http://{addr}/hook\"\n"),
    )
    .unwrap();
    let args: Vec<std::ffi::OsString> = vec![
        "--probe".into(),
        format!("http://{addr}/api/orders").into(),
        "--origin".into(),
        "https://app.example".into(),
    ];
    let mut s = Session::start_in(dir, &args, None);
    s.first_frame();
    // The refused preflight makes the status DEGRADED; the notifier, evaluated every 5 s,
    // posts it once.
    let start = Instant::now();
    while hooks.lock().unwrap().is_empty() {
        assert!(
            start.elapsed() < DEADLINE,
            "no webhook within {DEADLINE:?}; screen:\n{}",
            String::from_utf8_lossy(&s.output())
        );
        assert!(s.child.try_wait().unwrap().is_none(), "corstop exited");
        std::thread::sleep(Duration::from_millis(50));
    }
    let posted = hooks.lock().unwrap()[0].clone();
    assert!(
        posted.contains("DEGRADED") || posted.contains("PAGE"),
        "{posted}"
    );
    assert!(posted.to_lowercase().contains("probe"), "{posted}");
    s.master.write_all(b"q").unwrap();
    assert!(s.wait_exit().success());
}
