//! Owning the terminal: raw mode, alternate screen and mouse capture on the way in, and a
//! restore that runs whatever way we leave (normal return, error, panic, signal).

use std::io::{Write, stdout};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::cursor::Show;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

/// Set while the screen is ours, so restoring twice (guard and panic hook) is harmless.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back as it was. Idempotent; errors are ignored because this runs on the
/// way out, when there is nobody left to report them to.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = stdout();
        let _ = execute!(out, DisableMouseCapture, LeaveAlternateScreen, Show);
        let _ = disable_raw_mode();
        let _ = out.flush();
    }
}

/// Ctrl-Z or SIGTSTP: hands the terminal back as it was, stops the process as the shell
/// expects, and takes the terminal again once `fg` (SIGCONT) resumes it. The caller redraws
/// the whole screen afterwards.
#[allow(unsafe_code)]
pub fn suspend() -> std::io::Result<()> {
    restore();
    // SAFETY: raise(2) with a valid signal number; SIGSTOP cannot be caught, so this returns
    // only after SIGCONT.
    unsafe {
        libc::raise(libc::SIGSTOP);
    }
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    execute!(stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    Ok(())
}

/// Holds the terminal in TUI mode; dropping it restores the terminal.
pub struct TerminalGuard {
    _private: (),
}

impl TerminalGuard {
    /// Enters raw mode, the alternate screen and mouse capture, and installs a panic hook
    /// (chained to the previous one) that restores the terminal before the panic message is
    /// printed, so the message is readable.
    pub fn enter() -> std::io::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let guard = TerminalGuard { _private: () };
        execute!(stdout(), EnterAlternateScreen, EnableMouseCapture)?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

fn install_panic_hook() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}
