//! The real binary in a pseudo-terminal, reading an Azure diagnostic JSON log and an nginx
//! combined log: the log view (key 7) shows the parsed columns (method, route, status,
//! origin), not the raw JSON, and Enter opens the selected line's raw text.
//!
//! As in `tui_pty`, nothing measures time: each wait polls for what the screen must show,
//! and only a generous deadline expiring fails.

#![cfg(unix)]
// Starting a child on a pty takes pre_exec and ioctl; each block says why it is sound.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corstop::model::time::{format_rfc3339_millis, now_ms, to_datetime};
use nix::pty::{Winsize, openpty};

const DEADLINE: Duration = Duration::from_secs(20);

/// How the log reaches corstop.
#[derive(Clone, Copy)]
enum Input {
    /// On standard input, read line by line as it arrives.
    Stdin,
    /// As a file that already holds it: its history is read back before it is followed.
    File,
}

/// corstop on a 120x36 pty, reading `log` (keys come from the terminal).
struct Session {
    child: Child,
    master: File,
    output: Arc<Mutex<Vec<u8>>>,
    _dir: tempfile::TempDir,
}

impl Session {
    fn start(log: &str, input: Input) -> Session {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.log");
        std::fs::write(&path, log).unwrap();
        let ws = Winsize {
            ws_row: 36,
            ws_col: 120,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(&ws, None).unwrap();
        let slave_fd = pty.slave.as_raw_fd();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_corstop"));
        match input {
            Input::Stdin => cmd
                .args(["--log", "-"])
                .stdin(Stdio::from(File::open(&path).unwrap())),
            Input::File => cmd
                .arg("--log")
                .arg(&path)
                .stdin(Stdio::from(pty.slave.try_clone().unwrap())),
        };
        cmd.arg("--log-file")
            .arg(dir.path().join("corstop.log"))
            .current_dir(dir.path())
            .env("TERM", "xterm-256color")
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path())
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
                // The pty becomes the controlling terminal, where the keys are read.
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

    fn len(&self) -> usize {
        self.output.lock().unwrap().len()
    }

    fn since(&self, from: usize) -> Vec<u8> {
        self.output.lock().unwrap()[from..].to_vec()
    }

    /// Waits until what was written since `from` satisfies `done`.
    fn wait_for(&mut self, what: &str, from: usize, done: impl Fn(&[u8]) -> bool) {
        let start = Instant::now();
        loop {
            if done(&self.since(from)) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "corstop exited ({status}) while waiting for {what}:\n{}",
                    String::from_utf8_lossy(&self.since(0))
                );
            }
            assert!(
                start.elapsed() < DEADLINE,
                "no {what} within {DEADLINE:?}; written since:\n{}",
                String::from_utf8_lossy(&self.since(from))
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn send(&mut self, keys: &[u8]) -> usize {
        let from = self.len();
        self.master.write_all(keys).unwrap();
        self.master.flush().unwrap();
        from
    }

    fn quit(mut self) {
        self.send(b"q");
        let start = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(start.elapsed() < DEADLINE, "corstop did not quit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Whether `needle` was written in one piece. The terminal is updated cell by cell where the
/// screen changed, so a needle holds no space (a space already on screen is skipped).
fn has(out: &[u8], needle: &str) -> bool {
    out.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Opens the log view once the source has been read, and checks the columns and the raw
/// line behind Enter.
fn log_view_shows(log: &str, columns: &[&str], raw: &str) {
    for input in [Input::Stdin, Input::File] {
        log_view_shows_from(log, input, columns, raw);
    }
}

fn log_view_shows_from(log: &str, input: Input, columns: &[&str], raw: &str) {
    let mut s = Session::start(log, input);
    s.wait_for("the first frame", 0, |out| has(out, "Overview"));
    // Lines read after the switch redraw the view, so there is no need to wait for them.
    // The screen as a terminal shows it: a frame rewrites only the cells that changed, so a
    // column's text is not always written in one piece.
    let screen_of = |out: &[u8]| crate::common::pty::screen(out, 120, 36).join("\n");
    s.send(b"7");
    s.wait_for("the log view with its columns", 0, |out| {
        let screen = screen_of(out);
        screen.contains("Live log:") && columns.iter().all(|c| screen.contains(c))
    });
    let shown = screen_of(&s.since(0));
    assert!(
        !shown.contains(r#"{"category":"#),
        "raw JSON in the log view:\n{shown}"
    );
    let from = s.send(b"\r");
    s.wait_for("the raw line", from, |out| {
        has(out, "(redacted):") && has(out, raw)
    });
    let from = s.send(b"\x1b");
    s.wait_for("the popup closed", from, |out| !out.is_empty());
    s.quit();
}

#[test]
fn the_log_view_shows_parsed_columns_for_json_and_combined_sources() {
    let now = now_ms();
    let json: String = (0..6)
        .map(|i| {
            let (method, path, status) = [
                ("OPTIONS", "/api/orders", 401),
                ("GET", "/api/orders/8812", 200),
                ("PUT", "/api/orders/8812", 403),
            ][i % 3];
            format!(
                r#"{{"category":"AppServiceHTTPLogs","time":"{}","operationName":"Microsoft.Web/sites/log","properties":{{"CsMethod":"{method}","CsUriStem":"{path}","CsUriQuery":"-","UserAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0","Referer":"https://app.contoso.com/orders","CsHost":"api.contoso.com","ScStatus":{status},"TimeTaken":38,"ComputerName":"RD0003FF"}}}}"#,
                format_rfc3339_millis(now - (6 - i as i64) * 1000)
            ) + "\n"
        })
        .collect();
    log_view_shows(
        &json,
        &[
            "OPTIONS",
            "/api/orders/{id}",
            "401",
            "https://app.contoso.com",
        ],
        r#"{"category":"AppServiceHTTPLogs""#,
    );

    let stamp = to_datetime(now).unwrap().format("%d/%b/%Y:%H:%M:%S +0000");
    let ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15";
    let combined: String = [
        ("OPTIONS /api/orders", 204, "https://app.contoso.com, https://app.contoso.com"),
        ("GET /api/orders/8812", 200, "https://app.contoso.com"),
        ("OPTIONS /api/invoices", 401, "-"),
    ]
    .iter()
    .map(|(req, status, acao)| {
        format!(
            r#"198.51.100.2 - - [{stamp}] "{req} HTTP/1.1" {status} 0 "https://app.contoso.com/" "{ua}" "https://app.contoso.com" "{acao}" 0.004"#
        ) + "\n"
    })
    .collect();
    log_view_shows(
        &combined,
        &[
            "OPTIONS",
            "/api/orders/{id}",
            "401",
            "https://app.contoso.com",
            "2x",
        ],
        r#""https://app.contoso.com/""#,
    );
}
