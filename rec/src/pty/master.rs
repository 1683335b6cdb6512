//! A new pseudo-terminal pair: its master, which the recorder reads and
//! writes, and its slave, until the command gets it.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags};
use rustix::pty::OpenptFlags;
use rustix::termios::{LocalModes, OptionalActions, SpecialCodeIndex, Termios};

use super::fd::above_stdio;
use super::termios::{self, WindowSize};

/// A new pseudo-terminal: the master side, which the recorder reads and
/// writes, and the slave side, which becomes the command's terminal.
#[derive(Debug)]
pub struct Pty {
    pub(super) master: OwnedFd,
    /// Until [`Pty::spawn`] hands it to the child.
    pub(super) slave: Option<OwnedFd>,
}

impl Pty {
    /// Opens a new PTY pair of the given size. With `termios`, the slave
    /// gets those attributes (the user's terminal's, so that erase and
    /// interrupt keys behave as the user is used to); without, the kernel's
    /// defaults.
    pub fn open(size: WindowSize, termios: Option<&Termios>) -> io::Result<Pty> {
        let master =
            rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
        let master = above_stdio(master)?;
        rustix::pty::grantpt(&master)?;
        rustix::pty::unlockpt(&master)?;
        let name = rustix::pty::ptsname(&master, Vec::new())?;
        // O_NOCTTY: the slave must become the child's controlling terminal,
        // not ours.
        let slave = rustix::fs::open(
            name.as_c_str(),
            OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let slave = above_stdio(slave)?;
        if let Some(t) = termios {
            termios::set_termios(slave.as_fd(), t, OptionalActions::Now)?;
        }
        termios::set_window_size(master.as_fd(), size)?;
        Ok(Pty {
            master,
            slave: Some(slave),
        })
    }

    /// The master side.
    pub fn master(&self) -> BorrowedFd<'_> {
        self.master.as_fd()
    }

    /// Sets the PTY's window size; the kernel sends SIGWINCH to the
    /// command's foreground process group.
    pub fn set_window_size(&self, size: WindowSize) -> io::Result<()> {
        termios::set_window_size(self.master.as_fd(), size)
    }

    /// The PTY's window size.
    pub fn window_size(&self) -> Option<WindowSize> {
        termios::window_size(self.master.as_fd())
    }

    /// The slave's end-of-file character if the slave is in canonical
    /// (line) mode, where that character means end of file; `None` in raw
    /// mode or if the character is disabled.
    pub fn eof_char(&self) -> Option<u8> {
        let t = termios::termios(self.master.as_fd()).ok()?;
        let c = t.special_codes[SpecialCodeIndex::VEOF];
        (t.local_modes.contains(LocalModes::ICANON) && c != libc::_POSIX_VDISABLE).then_some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_canonical_pty_has_an_eof_character_and_a_raw_one_none() {
        let pty = Pty::open(WindowSize::default(), None).expect("open pty");
        assert_eq!(pty.eof_char(), Some(4), "^D by default");
        let _raw = termios::RawMode::enter(pty.master()).expect("raw mode");
        assert_eq!(pty.eof_char(), None);
    }
}
