//! The real binary in a pseudo-terminal, for the end-to-end dashboard tests: start it on a
//! pty, wait for what it draws, press keys, resize, and read the screen as a terminal shows it.
//!
//! Nothing here measures time: every wait polls for an observable change with a generous
//! deadline, and only the deadline expiring fails the test.

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
use nix::sys::termios::{LocalFlags, tcgetattr};

pub const DEADLINE: Duration = Duration::from_secs(20);
pub const ENTER_ALT: &[u8] = b"\x1b[?1049h";
pub const LEAVE_ALT: &[u8] = b"\x1b[?1049l";
pub const SHOW_CURSOR: &[u8] = b"\x1b[?25h";

pub fn winsize(cols: u16, rows: u16) -> Winsize {
    Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

/// The child on the slave side of a pty, with everything it writes collected.
pub struct Session {
    pub child: Child,
    pub master: File,
    /// Kept open so the terminal's settings can be read after the child exits.
    pub slave: Option<OwnedFd>,
    pub output: Arc<Mutex<Vec<u8>>>,
    pub reader: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Session {
    /// The demo, on the pty.
    pub fn start() -> Session {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        let args = ["demo".into(), "--dir".into(), logs.into_os_string()];
        Session::start_in(dir, &args, None)
    }

    /// corstop with `args` (and its diagnostics in the temporary directory), reading
    /// `stdin` when given and the pty otherwise.
    pub fn start_in(
        dir: tempfile::TempDir,
        args: &[std::ffi::OsString],
        stdin: Option<Stdio>,
    ) -> Session {
        Session::start_sized(dir, args, stdin, 120, 36)
    }

    /// [`Session::start_in`] on a `cols`×`rows` terminal.
    pub fn start_sized(
        dir: tempfile::TempDir,
        args: &[std::ffi::OsString],
        stdin: Option<Stdio>,
        cols: u16,
        rows: u16,
    ) -> Session {
        let pty = openpty(&winsize(cols, rows), None).unwrap();
        let slave_fd = pty.slave.as_raw_fd();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_corstop"));
        cmd.args(args)
            .arg("--log-file")
            .arg(dir.path().join("corstop.log"))
            .current_dir(dir.path())
            .env("TERM", "xterm-256color")
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path())
            // Times on screen follow the zone; tests that do not choose one see UTC.
            .env("TZ", "UTC")
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

    pub fn output_len(&self) -> usize {
        self.output.lock().unwrap().len()
    }

    pub fn output(&self) -> Vec<u8> {
        self.output.lock().unwrap().clone()
    }

    pub fn wait_for(&mut self, what: &str, mut done: impl FnMut(&[u8]) -> bool) {
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

    pub fn first_frame(&mut self) {
        // The alternate screen and a full 120x36 frame of box drawing.
        self.wait_for("first frame", |out| {
            find(out, ENTER_ALT).is_some_and(|i| out.len() - i > 4000)
        });
    }

    /// Sends `keys` and waits for the screen to be redrawn.
    pub fn press(&mut self, keys: &[u8]) {
        let before = self.output_len();
        self.master.write_all(keys).unwrap();
        self.master.flush().unwrap();
        let label = format!("redraw after {keys:?}");
        self.wait_for(&label, |out| out.len() > before);
    }

    pub fn resize(&mut self, cols: u16, rows: u16) {
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

    pub fn wait_exit(&mut self) -> ExitStatus {
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
    pub fn assert_restored(mut self) {
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

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

pub fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// The screen as a `cols`×`rows` terminal shows it after everything written so far, one
/// `String` per row.
pub fn screen(out: &[u8], cols: u16, rows: u16) -> Vec<String> {
    let mut parser = vt100::Parser::new(rows, cols, 0);
    parser.process(out);
    parser.screen().rows(0, cols).collect()
}
