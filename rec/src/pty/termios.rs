//! Terminal attributes and window sizes, and the user's terminal in raw mode.

use std::io;
use std::os::fd::BorrowedFd;

use rustix::termios::{
    ControlModes, InputModes, LocalModes, OptionalActions, OutputModes, SpecialCodeIndex, Termios,
    Winsize,
};

/// A terminal's size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSize {
    /// Columns (width).
    pub cols: u16,
    /// Rows (height).
    pub rows: u16,
}

impl Default for WindowSize {
    /// 80x24, the size of a terminal nobody has resized.
    fn default() -> Self {
        WindowSize { cols: 80, rows: 24 }
    }
}

/// Whether `fd` refers to a terminal.
pub fn is_terminal(fd: BorrowedFd<'_>) -> bool {
    rustix::termios::isatty(fd)
}

/// The window size of the terminal `fd` refers to, or `None` if it is not a
/// terminal or reports a zero size.
pub fn window_size(fd: BorrowedFd<'_>) -> Option<WindowSize> {
    let ws = rustix::termios::tcgetwinsize(fd).ok()?;
    (ws.ws_col > 0 && ws.ws_row > 0).then_some(WindowSize {
        cols: ws.ws_col,
        rows: ws.ws_row,
    })
}

/// Sets the window size of the terminal `fd` refers to.
pub(super) fn set_window_size(fd: BorrowedFd<'_>, size: WindowSize) -> io::Result<()> {
    let ws = Winsize {
        ws_row: size.rows,
        ws_col: size.cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    rustix::termios::tcsetwinsize(fd, ws)?;
    Ok(())
}

/// Reads a terminal's attributes.
pub(super) fn termios(fd: BorrowedFd<'_>) -> io::Result<Termios> {
    Ok(rustix::termios::tcgetattr(fd)?)
}

/// Writes a terminal's attributes, retrying if interrupted by a signal.
pub(super) fn set_termios(
    fd: BorrowedFd<'_>,
    t: &Termios,
    when: OptionalActions,
) -> io::Result<()> {
    rustix::io::retry_on_intr(|| rustix::termios::tcsetattr(fd, when, t))?;
    Ok(())
}

/// The user's terminal in raw mode: every byte typed reaches the recorded
/// command unchanged (including ^C, ^Z, ^\), and nothing is echoed locally.
///
/// The original mode is restored by [`RawMode::restore`] or, failing that,
/// on drop — so it is restored on every path out of the relay, including
/// errors, stop signals (which the relay turns into an ordinary return) and
/// unwinding panics.
#[derive(Debug)]
pub struct RawMode<'fd> {
    fd: BorrowedFd<'fd>,
    original: Termios,
    active: bool,
}

impl<'fd> RawMode<'fd> {
    /// Saves the mode of terminal `fd` and switches it to raw mode.
    pub fn enter(fd: BorrowedFd<'fd>) -> io::Result<RawMode<'fd>> {
        let original = termios(fd)?;
        let mut raw = original.clone();
        // The same changes as cfmakeraw(3), written out so they are visible:
        // no input translation or flow control, no output post-processing,
        // 8-bit characters, no line editing, echo or signal keys.
        raw.input_modes -= InputModes::IGNBRK
            | InputModes::BRKINT
            | InputModes::PARMRK
            | InputModes::ISTRIP
            | InputModes::INLCR
            | InputModes::IGNCR
            | InputModes::ICRNL
            | InputModes::IXON;
        raw.output_modes -= OutputModes::OPOST;
        raw.local_modes -= LocalModes::ECHO
            | LocalModes::ECHONL
            | LocalModes::ICANON
            | LocalModes::ISIG
            | LocalModes::IEXTEN;
        raw.control_modes -= ControlModes::CSIZE | ControlModes::PARENB;
        raw.control_modes |= ControlModes::CS8;
        raw.special_codes[SpecialCodeIndex::VMIN] = 1;
        raw.special_codes[SpecialCodeIndex::VTIME] = 0;
        set_termios(fd, &raw, OptionalActions::Drain)?;
        Ok(RawMode {
            fd,
            original,
            active: true,
        })
    }

    /// The terminal's attributes as they were before raw mode.
    pub fn original(&self) -> &Termios {
        &self.original
    }

    /// Puts the terminal back into its original mode. Calling it again does
    /// nothing.
    pub fn restore(&mut self) -> io::Result<()> {
        if !self.active {
            return Ok(());
        }
        self.active = false;
        set_termios(self.fd, &self.original, OptionalActions::Drain)
    }
}

impl Drop for RawMode<'_> {
    fn drop(&mut self) {
        // Nothing useful can be done with an error here: the terminal is
        // gone or not ours any more.
        let _ = self.restore();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pty::Pty;

    /// Everything raw mode changes, comparable.
    fn modes(t: &Termios) -> impl PartialEq + std::fmt::Debug {
        (
            t.input_modes,
            t.output_modes,
            t.control_modes,
            t.local_modes,
            format!("{:?}", t.special_codes),
        )
    }

    #[test]
    fn pty_window_size_round_trips() {
        let pty = Pty::open(
            WindowSize {
                cols: 132,
                rows: 43,
            },
            None,
        )
        .expect("open pty");
        assert_eq!(
            pty.window_size(),
            Some(WindowSize {
                cols: 132,
                rows: 43
            })
        );
        pty.set_window_size(WindowSize { cols: 7, rows: 3 })
            .expect("resize");
        assert_eq!(pty.window_size(), Some(WindowSize { cols: 7, rows: 3 }));
        assert!(is_terminal(pty.master()));
    }

    #[test]
    fn raw_mode_is_entered_and_restored_on_drop() {
        let pty = Pty::open(WindowSize::default(), None).expect("open pty");
        let before = termios(pty.master()).expect("termios");
        assert!(
            before.local_modes.contains(LocalModes::ICANON),
            "a new PTY starts in canonical mode"
        );
        {
            let raw = RawMode::enter(pty.master()).expect("raw mode");
            let during = termios(pty.master()).expect("termios");
            assert!(
                !during
                    .local_modes
                    .intersects(LocalModes::ICANON | LocalModes::ECHO | LocalModes::ISIG)
            );
            assert!(!during.output_modes.contains(OutputModes::OPOST));
            assert_eq!(raw.original().local_modes, before.local_modes);
        }
        let after = termios(pty.master()).expect("termios");
        assert_eq!(modes(&after), modes(&before));
    }

    #[test]
    fn restore_is_idempotent() {
        let pty = Pty::open(WindowSize::default(), None).expect("open pty");
        let mut raw = RawMode::enter(pty.master()).expect("raw mode");
        raw.restore().expect("restore");
        // Raw again behind the guard's back: a second restore must not undo it.
        let again = RawMode::enter(pty.master()).expect("raw mode");
        raw.restore().expect("second restore does nothing");
        let now = termios(pty.master()).expect("termios");
        assert!(!now.local_modes.contains(LocalModes::ICANON));
        drop(again);
        assert!(
            termios(pty.master())
                .expect("termios")
                .local_modes
                .contains(LocalModes::ICANON)
        );
    }
}
