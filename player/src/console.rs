//! The viewer's terminal during raw playback (`termtape play --raw`).
//!
//! Whatever reaches the terminal's input during playback (keys typed, and
//! any answer the terminal makes to what was played) would otherwise be
//! read by the viewer's shell once termtape exits. [`Console`] takes the
//! input instead: it puts the terminal in raw, no-echo mode (output
//! processing is left as it was), reads it, turns the playback keys into
//! [`Control`]s and throws the rest away, and at the end drains what is
//! still arriving, flushes the input queue (`tcflush(TCIFLUSH)`) and
//! restores the terminal's settings. Restoring happens on every way out:
//! the end, `q`, an error, a panic (on drop) and the signals that end a
//! process (SIGINT, SIGTERM, SIGHUP, SIGQUIT); SIGTSTP gives the terminal
//! back while stopped.

use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::termios::{
    InputModes, LocalModes, OptionalActions, QueueSelector, SpecialCodeIndex, Termios, tcflush,
    tcgetattr, tcsetattr,
};
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP};
use signal_hook::low_level;

use crate::play::{Control, Keys};

/// The signals after which the terminal is restored before going on as
/// the signal would.
const SIGNALS: [i32; 5] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP];

/// At the end, input is drained until it has been quiet this long…
const QUIET: Duration = Duration::from_millis(100);
/// …or for this long at most.
const DRAIN: Duration = Duration::from_secs(1);

/// The controlling terminal, taken for playback; see the
/// [module](self) documentation.
pub struct Console {
    tty: File,
    saved: Termios,
    signal: Arc<AtomicUsize>,
    handlers: Vec<signal_hook::SigId>,
    /// Where the input is: in an escape sequence (a terminal's answer, a
    /// function key) or not.
    input: Input,
    finished: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    Key,
    Escape,
    Csi,
    String,
}

impl Console {
    /// Takes the controlling terminal (`/dev/tty`); `None` if there is none.
    pub fn open() -> io::Result<Option<Console>> {
        let tty = match File::options().read(true).write(true).open("/dev/tty") {
            Ok(tty) => tty,
            Err(_) => return Ok(None),
        };
        let saved = match tcgetattr(&tty) {
            Ok(t) => t,
            Err(_) => return Ok(None),
        };
        let signal = Arc::new(AtomicUsize::new(0));
        let mut handlers = Vec::new();
        for sig in SIGNALS {
            handlers.push(signal_hook::flag::register_usize(
                sig,
                Arc::clone(&signal),
                sig as usize,
            )?);
        }
        let console = Console {
            tty,
            saved,
            signal,
            handlers,
            input: Input::Key,
            finished: false,
        };
        console.take()?;
        Ok(Some(console))
    }

    /// Raw input, no echo, no signals from keys; output as it was.
    fn take(&self) -> io::Result<()> {
        let mut raw = self.saved.clone();
        raw.local_modes
            .remove(LocalModes::ICANON | LocalModes::ECHO | LocalModes::ECHONL);
        raw.local_modes
            .remove(LocalModes::ISIG | LocalModes::IEXTEN);
        raw.input_modes
            .remove(InputModes::IXON | InputModes::ICRNL | InputModes::INLCR | InputModes::IGNCR);
        raw.special_codes[SpecialCodeIndex::VMIN] = 1;
        raw.special_codes[SpecialCodeIndex::VTIME] = 0;
        tcsetattr(&self.tty, OptionalActions::Now, &raw)?;
        Ok(())
    }

    /// The terminal as it was, its pending input thrown away.
    fn give_back(&self) {
        let _ = tcflush(&self.tty, QueueSelector::IFlush);
        let _ = tcsetattr(&self.tty, OptionalActions::Now, &self.saved);
    }

    /// Acts on a signal received, if any: gives the terminal back, then
    /// stops or ends the process as the signal would have.
    fn on_signal(&mut self) -> io::Result<()> {
        let sig = self.signal.swap(0, Ordering::SeqCst) as i32;
        if sig == 0 {
            return Ok(());
        }
        self.give_back();
        if sig == SIGTSTP {
            low_level::raise(signal_hook::consts::SIGSTOP)?;
            // Continued: the terminal is ours again.
            return self.take();
        }
        for id in self.handlers.drain(..) {
            low_level::unregister(id);
        }
        self.finished = true;
        low_level::emulate_default_handler(sig)?;
        Ok(())
    }

    /// Waits up to `timeout` (`None`: for ever) for input; reads it.
    fn read(&mut self, timeout: Option<Duration>, buf: &mut [u8]) -> io::Result<usize> {
        let timeout = timeout.map(|t| Timespec {
            tv_sec: t.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: i64::from(t.subsec_nanos()),
        });
        let mut fds = [PollFd::new(&self.tty, PollFlags::IN)];
        match poll(&mut fds, timeout.as_ref()) {
            Ok(0) => return Ok(0),
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {
                self.on_signal()?;
                return Ok(0);
            }
            Err(e) => return Err(e.into()),
        }
        if fds[0].revents().intersects(PollFlags::HUP | PollFlags::ERR) {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the terminal was closed",
            ));
        }
        match self.tty.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                self.on_signal()?;
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    /// Ends playback: drains what is still arriving (answers to the last
    /// output, keys), throws it away and gives the terminal back.
    pub fn finish(&mut self) {
        if self.finished {
            return;
        }
        let started = Instant::now();
        let mut buf = [0u8; 1024];
        while started.elapsed() < DRAIN {
            match self.read(Some(QUIET), &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        self.give_back();
        self.finished = true;
    }
}

/// The control a byte of input asks for, if any; bytes of escape sequences
/// (a terminal's answers, function and cursor keys) ask for none.
fn key(input: &mut Input, b: u8) -> Option<Control> {
    let (next, control) = match (*input, b) {
        (_, 0x1b) => (Input::Escape, None),
        (Input::Escape, b'[') => (Input::Csi, None),
        (Input::Escape, b']' | b'P' | b'_' | b'^' | b'X') => (Input::String, None),
        (Input::Escape, _) => (Input::Key, None),
        (Input::Csi, 0x40..=0x7e) => (Input::Key, None),
        (Input::Csi, _) => (Input::Csi, None),
        (Input::String, 0x07) => (Input::Key, None),
        (Input::String, _) => (Input::String, None),
        (Input::Key, b'q' | b'Q' | 0x03 | 0x04) => (Input::Key, Some(Control::Quit)),
        (Input::Key, b' ') => (Input::Key, Some(Control::Pause)),
        (Input::Key, b'+' | b'=') => (Input::Key, Some(Control::Faster)),
        (Input::Key, b'-') => (Input::Key, Some(Control::Slower)),
        (Input::Key, _) => (Input::Key, None),
    };
    *input = next;
    control
}

impl Keys for Console {
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<Vec<Control>> {
        self.on_signal()?;
        let mut buf = [0u8; 256];
        let n = self.read(timeout, &mut buf)?;
        let input = &mut self.input;
        Ok(buf[..n].iter().filter_map(|&b| key(input, b)).collect())
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if !self.finished {
            self.give_back();
        }
        for id in self.handlers.drain(..) {
            low_level::unregister(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_controls_and_answers_are_not() {
        // A console's key reading, without a terminal.
        let mut input = Input::Key;
        let mut controls = Vec::new();
        for &b in b"x+\x1b[?64;1;2c \x1b]11;rgb:0/0/0\x07-\x1bP1$r0 q\x1b\\\x1b[Aq" {
            controls.extend(key(&mut input, b));
        }
        assert_eq!(
            controls,
            [
                Control::Faster,
                Control::Pause,
                Control::Slower,
                Control::Quit
            ]
        );
    }
}
