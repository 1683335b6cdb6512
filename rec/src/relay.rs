//! The relay loop between the user's terminal and the recorded command's PTY.
//!
//! [`run`] starts the command under a new PTY and copies bytes both ways
//! with one `poll()` loop over the user's input, the PTY master and the
//! signal pipe, handing everything to a [`Capture`] first.
//!
//! How a session ends:
//!
//! - **The command exits**: the PTY master is read until the kernel reports
//!   that no process holds the terminal any more (`EIO`), so output written
//!   just before the exit is not lost. If something the command left running
//!   in the background still holds the terminal, the relay keeps copying its
//!   output until it has been quiet for [`DRAIN_IDLE`]; closing the master
//!   then hangs it up. Then [`Capture::finish`]; the result is
//!   [`Exit::Child`].
//! - **The recorder gets SIGTERM, SIGHUP, SIGINT or SIGQUIT**: relaying stops,
//!   whatever output is already waiting on the master is captured (not shown),
//!   [`Capture::finish`] runs, the terminal is restored, and the command's
//!   session gets SIGHUP (and SIGCONT) as on a real hangup; the result is
//!   [`Exit::Stopped`] (exit status 128+N). SIGINT is handled the same way
//!   whether or not the input is a terminal: in raw mode ^C reaches the
//!   command as a byte, so a SIGINT to the recorder comes from elsewhere.
//! - **The capture fails** (say, the disk is full): the bytes it refused are
//!   neither shown nor sent on, the capture is told the writer failed
//!   ([`Capture::ended`]), [`Capture::finish`] is tried once, the
//!   terminal is restored and the command's session hung up: an unrecorded
//!   session must not go on. The result is [`Error::Capture`].
//! - **The output cannot be written** (a closed pipe, a hung-up terminal): as
//!   for a stop signal, but the result is [`Error::Output`].
//!
//! The input reaching end of file (when it is not a terminal: `</dev/null`,
//! a pipe, a file) stops reading it; the command keeps running and its output
//! is still relayed. If the PTY is then in canonical (line) mode, the relay
//! types the PTY's end-of-file character (normally ^D) once, as `script`
//! does, so a command reading its input sees end of file instead of waiting
//! forever; if the input ended in the middle of a line, the character is sent
//! twice, since the first one only completes that line. The end-of-file
//! characters are not passed to [`Capture::input`]: the user did not type
//! them.
//!
//! The user's terminal, if the input is one, is in raw mode from the start
//! until [`run`] returns, on every path.
//!
//! The command's terminal takes the user's terminal's size, cut to the
//! largest screen recorded (`termtape_keyframe::clamp_size`: 1024 columns,
//! 65,536 cells): what is recorded is the size the command sees.

use std::ffi::OsString;
use std::io;
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use crate::pty::{
    self, Child, Credentials, ExitStatus, Pty, RawMode, SignalSet, Signals, WindowSize,
};
use crate::utmp;

/// Receives everything the relay sees, in order, each item stamped with the
/// time elapsed since the recording started (a monotonic clock).
///
/// The relay calls [`Capture::output`] *before* it writes those bytes to the
/// user's terminal, so nothing is shown that was not first handed to the
/// recorder (tlog does the same).
pub trait Capture {
    /// The terminal size changed (also called once at the start).
    fn window(&mut self, at: Duration, cols: u16, rows: u16) -> io::Result<()>;
    /// Bytes the user typed, about to be written to the command.
    fn input(&mut self, at: Duration, bytes: &[u8]) -> io::Result<()>;
    /// Bytes the command wrote, about to be shown to the user.
    fn output(&mut self, at: Duration, bytes: &[u8]) -> io::Result<()>;
    /// When the capture next wants [`Capture::tick`] called (a latency
    /// deadline), or `None` if it has nothing pending.
    fn deadline(&self) -> Option<Duration>;
    /// Called at or after [`Capture::deadline`]; flushes what is due.
    fn tick(&mut self, now: Duration) -> io::Result<()>;
    /// The session ended (or the recorder is being stopped): write out
    /// everything still buffered.
    fn finish(&mut self, at: Duration) -> io::Result<()>;
    /// The command runs, and the recorder has its final ids: from here on
    /// the capture may start threads (before, the process still forks and
    /// changes its ids). It cannot fail the session. Does nothing by
    /// default.
    fn started(&mut self, _at: Duration) {}
    /// The relay's clock starts: elapsed time zero is `wall` (since the
    /// Unix epoch) on the wall clock. Called first of all, so that a
    /// recording's wall-clock times are those of its elapsed times and not
    /// of when the capture was made (setting up a login takes
    /// milliseconds, more on a busy host). Does nothing by default.
    fn clock_zero(&mut self, _wall: Duration) {}
    /// The recording's terminal is open, named `pty` (`/dev/pts/4`); called
    /// before anything else but [`Capture::clock_zero`]. Does nothing by
    /// default.
    fn opened(&mut self, _pty: &str) {}
    /// How the session ended, just before [`Capture::finish`] (not called
    /// when the session ends in an error). Does nothing by default.
    fn ended(&mut self, _exit: termtape_format::Exit) {}
    /// Whether the capture wants the session terminal's mode
    /// ([`Capture::mode`]) before each input, output and tick. False by
    /// default.
    fn watches_mode(&self) -> bool {
        false
    }
    /// The session terminal's mode, just read from the PTY (see
    /// [`crate::redact`]). Does nothing by default.
    fn mode(&mut self, _mode: crate::redact::Mode) {}
}

/// What [`run`] runs and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The program and its arguments; the program is looked up in `PATH`
    /// unless it contains a `/`.
    pub command: Vec<OsString>,
    /// The PTY's size when the input is not a terminal (a terminal's own
    /// size is used otherwise).
    pub size: WindowSize,
    /// The name the program sees as its `argv[0]` (a login shell is started
    /// as `-bash`); `None` for the command's first word.
    pub argv0: Option<OsString>,
    /// For a recorder installed setuid/setgid: the user the command runs as
    /// (all its uids and gids set to these). Once the command runs, the
    /// recorder sets all its own ids to its effective ones, so that the
    /// user can neither signal nor trace it.
    pub run_as: Option<Credentials>,
    /// Register the recording's terminal in utmp and wtmp for the real user,
    /// with this remote host (may be empty), for as long as the session
    /// lasts (see [`crate::utmp`]); `None`: leave utmp alone.
    pub utmp: Option<String>,
}

/// How a relayed session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The command ended and all its output was relayed.
    Child(ExitStatus),
    /// The recorder was stopped by this signal; the command was hung up.
    Stopped(i32),
}

impl Exit {
    /// The exit status for the recorder: the command's (128+N if a signal
    /// N killed it), or 128+N if signal N stopped the recorder.
    pub fn code(self) -> i32 {
        match self {
            Exit::Child(status) => status.code(),
            Exit::Stopped(sig) => 128 + sig,
        }
    }
}

/// Why [`run`] failed. The user's terminal has been restored by the time
/// this is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Signal handlers or the signal pipe could not be set up.
    #[error("cannot set up signal handling")]
    Signals(#[source] io::Error),
    /// The user's terminal could not be put into raw mode.
    #[error("cannot put the terminal into raw mode")]
    Terminal(#[source] io::Error),
    /// No PTY could be opened.
    #[error("cannot open a pseudo-terminal")]
    Pty(#[source] io::Error),
    /// The command could not be started (fork failed, or it contains a NUL
    /// byte). A program that is missing or not executable is not this
    /// error: it ends with status 127 or 126, as in a shell.
    #[error("cannot start {command}")]
    Spawn {
        /// The program, as given.
        command: String,
        /// What went wrong.
        #[source]
        source: io::Error,
    },
    /// The capture refused data (for example, the disk is full). The
    /// session was ended.
    #[error("recording failed, session ended")]
    Capture(#[source] io::Error),
    /// Output could not be written to the user. The session was ended.
    #[error("cannot write the session's output")]
    Output(#[source] io::Error),
    /// Reading or waiting failed in some other way. The session was ended.
    #[error("relaying the session failed")]
    Relay(#[source] io::Error),
}

/// How long the output must stay quiet, after the command exited, before
/// the relay stops waiting for processes it left behind on the terminal.
pub const DRAIN_IDLE: Duration = Duration::from_millis(200);

/// The size of the read buffers: big enough that a busy command is relayed
/// in few system calls.
const BUFFER: usize = 64 * 1024;

/// At most this much output is captured after a stop signal, so a command
/// that writes without pause cannot delay the stop forever.
const STOP_DRAIN_LIMIT: usize = 1 << 20;

/// Runs `settings.command` under a new PTY and relays between it and the
/// user (`input`, `output`: normally standard input and output), passing
/// everything to `capture` first. Returns when the session is over; see the
/// [module documentation](self) for each way it can end.
///
/// If `input` is a terminal it is put into raw mode (restored before this
/// returns), its size is the PTY's and its resizes are followed; otherwise
/// the size is `settings.size`.
pub fn run<C: Capture + ?Sized>(
    settings: &Settings,
    input: BorrowedFd<'_>,
    output: BorrowedFd<'_>,
    capture: &mut C,
) -> Result<Exit, Error> {
    // Installed before the child exists, so its SIGCHLD cannot be missed.
    let signals = Signals::install().map_err(Error::Signals)?;
    let start = Instant::now();
    capture.clock_zero(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default(),
    );
    let terminal = pty::is_terminal(input);
    let size = match terminal {
        true => outer_size(input).unwrap_or(clamped(settings.size)),
        false => clamped(settings.size),
    };
    let raw = match terminal {
        true => Some(RawMode::enter(input).map_err(Error::Terminal)?),
        false => None,
    };
    let open = || Pty::open(size, raw.as_ref().map(RawMode::original));
    // A setuid recorder's terminal is the user's, so the utmp helper takes it.
    let mut pty = match (&settings.utmp, settings.run_as) {
        (Some(_), Some(_)) => utmp::as_real_user(open),
        _ => open(),
    }
    .map_err(Error::Pty)?;
    if let Ok(name) = utmp::pty_name(pty.master()) {
        capture.opened(&name);
    }
    // Before the recorder gives up the user's real id, which the helper
    // needs; dropped (and the entry removed) when this function returns.
    let _registration = settings.utmp.as_deref().and_then(|host| {
        utmp::Registration::add(pty.master(), host)
            .map_err(|e| {
                crate::sink::log_warning(&format!(
                    "the session's terminal is not registered in utmp: {e}"
                ))
            })
            .ok()
            .flatten()
    });
    capture
        .window(start.elapsed(), size.cols, size.rows)
        .map_err(Error::Capture)?;
    let child = pty
        .spawn(
            &settings.command,
            settings.argv0.as_deref(),
            settings.run_as,
        )
        .map_err(|source| Error::Spawn {
            command: settings
                .command
                .first()
                .map(|c| c.to_string_lossy().into_owned())
                .unwrap_or_default(),
            source,
        })?;
    if settings.run_as.is_some() {
        pty::settle_ids().map_err(Error::Relay)?;
    }
    capture.started(start.elapsed());
    let mut relay = Relay {
        capture,
        pty,
        child,
        signals,
        raw,
        input,
        output,
        terminal,
        start,
        size,
        caught: SignalSet::default(),
        out_buf: vec![0; BUFFER].into_boxed_slice(),
        in_buf: vec![0; BUFFER].into_boxed_slice(),
        pending: 0..0,
        input_open: true,
        last_input: None,
        master_open: true,
        status: None,
        quiet_since: start,
    };
    let end = relay.pump();
    relay.end(end)
}

/// Why the loop stopped.
enum End {
    /// The command ended and its output has been relayed.
    Child(ExitStatus),
    /// A stop signal arrived.
    Stop(i32),
    /// The capture failed.
    Capture(io::Error),
    /// Writing to the user failed.
    Output(io::Error),
    /// Something else failed.
    Relay(io::Error),
}

/// The relay loop's state.
struct Relay<'a, 'fd, C: Capture + ?Sized> {
    capture: &'a mut C,
    pty: Pty,
    child: Child,
    signals: Signals,
    raw: Option<RawMode<'fd>>,
    input: BorrowedFd<'fd>,
    output: BorrowedFd<'fd>,
    /// Whether `input` is a terminal.
    terminal: bool,
    start: Instant,
    /// The PTY's current size.
    size: WindowSize,
    /// Signals caught and not yet handled.
    caught: SignalSet,
    /// Output from the master, on its way to the user.
    out_buf: Box<[u8]>,
    /// Input from the user, on its way to the master.
    in_buf: Box<[u8]>,
    /// The part of `in_buf` not yet written to the master.
    pending: std::ops::Range<usize>,
    /// Whether the input is still read.
    input_open: bool,
    /// The last byte read from the input.
    last_input: Option<u8>,
    /// Whether the master still gives output (until EIO).
    master_open: bool,
    /// The command's status once it has been reaped.
    status: Option<ExitStatus>,
    /// When output last arrived after the command ended.
    quiet_since: Instant,
}

/// The `errno` behind a writer's error, 0 if none is known: writers add
/// their path to the message, which keeps only the error's kind.
fn errno(e: &io::Error) -> i32 {
    use io::ErrorKind as K;
    e.raw_os_error().unwrap_or(match e.kind() {
        K::StorageFull => libc::ENOSPC,
        K::QuotaExceeded => libc::EDQUOT,
        K::FileTooLarge => libc::EFBIG,
        K::ReadOnlyFilesystem => libc::EROFS,
        K::PermissionDenied => libc::EACCES,
        K::NotFound => libc::ENOENT,
        K::ConnectionRefused => libc::ECONNREFUSED,
        K::NotConnected => libc::ENOTCONN,
        K::BrokenPipe => libc::EPIPE,
        _ => 0,
    })
}

/// Signals that stop the recorder.
const STOP_SIGNALS: [libc::c_int; 4] = [libc::SIGTERM, libc::SIGHUP, libc::SIGINT, libc::SIGQUIT];

/// The first stop signal in `caught`, if any (left in the set).
/// The size of the user's terminal, as the command gets it.
fn outer_size(input: BorrowedFd<'_>) -> Option<WindowSize> {
    pty::window_size(input).map(clamped)
}

/// A size cut to the largest screen recorded: the command's terminal gets
/// it, so what is recorded (and emulated for keyframes) is what the command
/// sees; on a larger terminal it uses part of the window.
fn clamped(size: WindowSize) -> WindowSize {
    let (cols, rows) = termtape_keyframe::clamp_size(size.cols, size.rows);
    WindowSize { cols, rows }
}

fn stop_signal(caught: &SignalSet) -> Option<i32> {
    STOP_SIGNALS.into_iter().find(|&s| caught.contains(s))
}

/// Milliseconds from `now` until `at`, rounded up, for `poll()`.
fn millis_until(at: Duration, now: Duration) -> libc::c_int {
    let wait = at.saturating_sub(now);
    let ms = wait.as_nanos().div_ceil(1_000_000).max(1);
    libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
}

/// What a non-blocking read gave.
enum Read {
    Data(usize),
    /// Nothing available now.
    Empty,
    /// End of file, or `EIO` (a PTY master whose slave is closed, a hung-up
    /// terminal).
    End,
}

/// Reads once into `buf`.
fn read_into(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<Read> {
    // Safe code cannot read from a raw descriptor without taking ownership;
    // `pty` holds the unsafe primitive.
    match pty::read(fd, buf) {
        Ok(0) => Ok(Read::End),
        Ok(n) => Ok(Read::Data(n)),
        Err(e) if e.raw_os_error() == Some(libc::EIO) => Ok(Read::End),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ) =>
        {
            Ok(Read::Empty)
        }
        Err(e) => Err(e),
    }
}

/// Writes all of `bytes` to `fd`, which may be a terminal, pipe or file,
/// blocking or not. Gives up early, returning `Ok(false)`, if a stop signal
/// arrives meanwhile (a stalled terminal must not keep the recorder from
/// stopping); other signals are noted in `caught`.
fn write_all(
    fd: BorrowedFd<'_>,
    mut bytes: &[u8],
    signals: &Signals,
    caught: &mut SignalSet,
) -> io::Result<bool> {
    while !bytes.is_empty() {
        match pty::write(fd, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                signals.drain(caught)?;
                if stop_signal(caught).is_some() {
                    return Ok(false);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let ready = pty::poll_write_or_signal(fd, signals.fd())?;
                if ready.signal {
                    signals.drain(caught)?;
                    if stop_signal(caught).is_some() {
                        return Ok(false);
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

impl<C: Capture + ?Sized> Relay<'_, '_, C> {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// The loop: returns when the session is over or must end.
    fn pump(&mut self) -> End {
        match self.pump_inner() {
            Ok(end) => end,
            Err(end) => end,
        }
    }

    fn pump_inner(&mut self) -> Result<End, End> {
        loop {
            if let Some(sig) = stop_signal(&self.caught) {
                return Ok(End::Stop(sig));
            }
            let mut timeout: libc::c_int = -1;
            let now = self.now();
            if let Some(due) = self.capture.deadline() {
                if due <= now {
                    self.tell_mode();
                    self.capture.tick(now).map_err(End::Capture)?;
                }
                if let Some(due) = self.capture.deadline() {
                    timeout = millis_until(due, now);
                }
            }
            if let Some(status) = self.status {
                if !self.master_open {
                    return Ok(End::Child(status));
                }
                let quiet = self.quiet_since.elapsed();
                if quiet >= DRAIN_IDLE {
                    return Ok(End::Child(status));
                }
                let left = millis_until(DRAIN_IDLE, quiet);
                timeout = if timeout < 0 { left } else { timeout.min(left) };
            }

            let want_input = self.input_open
                && self.pending.is_empty()
                && self.master_open
                && self.status.is_none();
            let mut master_events = 0;
            if self.master_open {
                master_events |= libc::POLLIN;
                if !self.pending.is_empty() {
                    master_events |= libc::POLLOUT;
                }
            }
            let ready = pty::poll(
                self.signals.fd(),
                (master_events != 0).then_some((self.pty.master(), master_events)),
                want_input.then_some(self.input),
                timeout,
            )
            .map_err(End::Relay)?;

            if ready.signal {
                self.signals.drain(&mut self.caught).map_err(End::Relay)?;
            }
            if let Some(sig) = stop_signal(&self.caught) {
                return Ok(End::Stop(sig));
            }
            if self.caught.take(libc::SIGWINCH) {
                self.resize()?;
            }
            if self.caught.take(libc::SIGCHLD) {
                self.reap()?;
            }
            if ready.master & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
                self.read_master()?;
            }
            if ready.master & libc::POLLOUT != 0 {
                self.write_master()?;
            }
            if ready.input != 0 {
                self.read_input()?;
            }
        }
    }

    /// Copies one read's worth of the command's output: capture, then user.
    fn read_master(&mut self) -> Result<(), End> {
        match read_into(self.pty.master(), &mut self.out_buf).map_err(End::Relay)? {
            Read::Data(n) => {
                self.tell_mode();
                let bytes = &self.out_buf[..n];
                self.capture
                    .output(self.start.elapsed(), bytes)
                    .map_err(End::Capture)?;
                write_all(self.output, bytes, &self.signals, &mut self.caught)
                    .map_err(End::Output)?;
                if self.status.is_some() {
                    self.quiet_since = Instant::now();
                }
            }
            Read::Empty => {}
            Read::End => {
                self.master_open = false;
                self.pending = 0..0;
                // Usually the command has just exited; if so, no need to
                // wait for its SIGCHLD.
                self.reap()?;
            }
        }
        Ok(())
    }

    /// Writes what is pending for the command, as much as the PTY takes.
    fn write_master(&mut self) -> Result<(), End> {
        while !self.pending.is_empty() {
            match pty::write(self.pty.master(), &self.in_buf[self.pending.clone()]) {
                Ok(n) => self.pending.start += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // EIO: nobody holds the terminal any more; the input is moot.
                Err(e) if e.raw_os_error() == Some(libc::EIO) => {
                    self.pending = 0..0;
                    self.input_open = false;
                }
                Err(e) => return Err(End::Relay(e)),
            }
        }
        Ok(())
    }

    /// Reads what the user typed: capture, then on to the command.
    fn read_input(&mut self) -> Result<(), End> {
        let read = match read_into(self.input, &mut self.in_buf) {
            Ok(read) => read,
            // An input that cannot be read (EBADF, EINVAL…) ends like EOF.
            Err(_) => Read::End,
        };
        match read {
            Read::Data(n) => {
                self.tell_mode();
                let bytes = &self.in_buf[..n];
                self.capture
                    .input(self.start.elapsed(), bytes)
                    .map_err(End::Capture)?;
                self.last_input = Some(bytes[n - 1]);
                self.pending = 0..n;
                self.write_master()?;
            }
            Read::Empty => {}
            Read::End => {
                self.input_open = false;
                if !self.terminal {
                    self.send_eof()?;
                }
            }
        }
        Ok(())
    }

    /// Tells the capture the session terminal's mode, if it watches it.
    fn tell_mode(&mut self) {
        if self.capture.watches_mode() {
            self.capture.mode(crate::redact::probe(self.pty.master()));
        }
    }

    /// Types the PTY's end-of-file character for a command whose input ran
    /// out (see the module documentation).
    fn send_eof(&mut self) -> Result<(), End> {
        let Some(eof) = self.pty.eof_char() else {
            return Ok(());
        };
        let count = match self.last_input {
            Some(b) if b != b'\n' => 2,
            _ => 1,
        };
        self.in_buf[..count].fill(eof);
        self.pending = 0..count;
        self.write_master()
    }

    /// Follows a resize of the user's terminal.
    fn resize(&mut self) -> Result<(), End> {
        if !self.terminal {
            return Ok(());
        }
        let Some(size) = outer_size(self.input) else {
            return Ok(());
        };
        if size == self.size {
            return Ok(());
        }
        self.pty.set_window_size(size).map_err(End::Relay)?;
        self.size = size;
        self.capture
            .window(self.start.elapsed(), size.cols, size.rows)
            .map_err(End::Capture)
    }

    /// Notes the command's status if it has ended.
    fn reap(&mut self) -> Result<(), End> {
        if self.status.is_none()
            && let Some(status) = self.child.try_wait().map_err(End::Relay)?
        {
            self.status = Some(status);
            self.quiet_since = Instant::now();
        }
        Ok(())
    }

    /// Captures output already waiting on the master, without showing it.
    fn capture_waiting(&mut self) -> Result<(), Error> {
        let mut total = 0;
        while self.master_open && total < STOP_DRAIN_LIMIT {
            match read_into(self.pty.master(), &mut self.out_buf) {
                Ok(Read::Data(n)) => {
                    self.tell_mode();
                    self.capture
                        .output(self.start.elapsed(), &self.out_buf[..n])
                        .map_err(Error::Capture)?;
                    total += n;
                }
                Ok(Read::Empty) | Err(_) => break,
                Ok(Read::End) => self.master_open = false,
            }
        }
        Ok(())
    }

    /// Ends the session for whatever reason the loop stopped.
    fn end(mut self, end: End) -> Result<Exit, Error> {
        match end {
            End::Child(status) => self.capture.ended(match status {
                ExitStatus::Exited(code) => termtape_format::Exit::Code(code),
                ExitStatus::Signaled(sig) => termtape_format::Exit::Signal(sig),
            }),
            End::Stop(sig) => self.capture.ended(termtape_format::Exit::Stopped(sig)),
            // The end mark says so, if the writer takes it (a disk full by
            // what was reserved for it still does, a journald back does).
            End::Capture(ref e) => self
                .capture
                .ended(termtape_format::Exit::WriterFailed(errno(e))),
            _ => {}
        }
        let result = match end {
            End::Child(status) => self
                .capture
                .finish(self.now())
                .map(|()| Exit::Child(status))
                .map_err(Error::Capture),
            End::Stop(sig) => self
                .capture_waiting()
                .and_then(|()| self.capture.finish(self.now()).map_err(Error::Capture))
                .map(|()| Exit::Stopped(sig)),
            End::Capture(e) => {
                // Whatever the capture still holds is worth a try; the
                // first error is the one to report.
                let _ = self.capture.finish(self.now());
                Err(Error::Capture(e))
            }
            End::Output(e) => Err(match self.capture.finish(self.now()) {
                Ok(()) => Error::Output(e),
                Err(finish) => Error::Capture(finish),
            }),
            End::Relay(e) => Err(match self.capture.finish(self.now()) {
                Ok(()) => Error::Relay(e),
                Err(finish) => Error::Capture(finish),
            }),
        };
        if let Some(raw) = self.raw.as_mut() {
            // Drop would restore too; doing it here makes the order plain:
            // the terminal is back before the command is hung up and before
            // the caller reports anything.
            let _ = raw.restore();
        }
        if self.status.is_none() {
            self.child.hang_up(self.pty.master());
            // Reap it if it is already gone, to leave no zombie behind.
            let _ = self.child.try_wait();
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read as _, Seek, Write as _};
    use std::os::fd::AsFd;

    /// One thing the relay handed to the capture.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Event {
        Window(u16, u16),
        Input(Vec<u8>),
        Output(Vec<u8>),
        Tick,
        Finish,
    }

    /// A capture that keeps everything, checks that time never goes
    /// backwards, and can be told to fail.
    #[derive(Default)]
    struct Events {
        list: Vec<Event>,
        last: Duration,
        /// Fail `output` once this many output bytes were accepted.
        fail_after: Option<usize>,
        accepted: usize,
        /// Ask for a tick this long after each tick (or the start).
        tick_every: Option<Duration>,
        next_tick: Option<Duration>,
    }

    impl Events {
        fn stamp(&mut self, at: Duration) {
            assert!(
                at >= self.last,
                "time went backwards: {at:?} < {:?}",
                self.last
            );
            self.last = at;
        }

        fn output(&self) -> Vec<u8> {
            self.list
                .iter()
                .filter_map(|e| match e {
                    Event::Output(b) => Some(b.as_slice()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .concat()
        }

        fn input(&self) -> Vec<u8> {
            self.list
                .iter()
                .filter_map(|e| match e {
                    Event::Input(b) => Some(b.as_slice()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .concat()
        }
    }

    impl Capture for Events {
        fn window(&mut self, at: Duration, cols: u16, rows: u16) -> io::Result<()> {
            self.stamp(at);
            self.list.push(Event::Window(cols, rows));
            if let Some(every) = self.tick_every {
                self.next_tick = Some(at + every);
            }
            Ok(())
        }

        fn input(&mut self, at: Duration, bytes: &[u8]) -> io::Result<()> {
            self.stamp(at);
            self.list.push(Event::Input(bytes.to_vec()));
            Ok(())
        }

        fn output(&mut self, at: Duration, bytes: &[u8]) -> io::Result<()> {
            self.stamp(at);
            if self.fail_after.is_some_and(|limit| self.accepted >= limit) {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            self.accepted += bytes.len();
            self.list.push(Event::Output(bytes.to_vec()));
            Ok(())
        }

        fn deadline(&self) -> Option<Duration> {
            self.next_tick
        }

        fn tick(&mut self, now: Duration) -> io::Result<()> {
            self.stamp(now);
            let due = self.next_tick.expect("tick only when a deadline was given");
            assert!(now >= due, "tick at {now:?} before its deadline {due:?}");
            self.list.push(Event::Tick);
            // One tick is enough to show the mechanism.
            self.next_tick = None;
            Ok(())
        }

        fn finish(&mut self, at: Duration) -> io::Result<()> {
            self.stamp(at);
            assert!(!self.list.contains(&Event::Finish), "finish called twice");
            self.list.push(Event::Finish);
            Ok(())
        }
    }

    struct Recorded {
        result: Result<Exit, Error>,
        events: Events,
        /// What the user was shown.
        shown: Vec<u8>,
    }

    fn record_with(
        command: &[&str],
        input: &[u8],
        size: WindowSize,
        mut events: Events,
    ) -> Recorded {
        let mut infile = tempfile::tempfile().expect("input file");
        infile.write_all(input).expect("write input");
        infile.rewind().expect("rewind input");
        let mut outfile = tempfile::tempfile().expect("output file");
        let settings = Settings {
            command: command.iter().map(OsString::from).collect(),
            size,
            argv0: None,
            run_as: None,
            utmp: None,
        };
        let result = run(&settings, infile.as_fd(), outfile.as_fd(), &mut events);
        let mut shown = Vec::new();
        outfile.rewind().expect("rewind output");
        outfile.read_to_end(&mut shown).expect("read output");
        Recorded {
            result,
            events,
            shown,
        }
    }

    fn record(command: &[&str], input: &[u8]) -> Recorded {
        record_with(command, input, WindowSize::default(), Events::default())
    }

    fn code(r: &Recorded) -> i32 {
        match &r.result {
            Ok(exit) => exit.code(),
            Err(e) => panic!("relay failed: {e:?}"),
        }
    }

    /// The common shape of every finished recording: a window event first,
    /// finish last, and the user shown exactly what was captured.
    fn assert_complete(r: &Recorded) {
        assert!(
            matches!(r.events.list.first(), Some(Event::Window(..))),
            "{:?}",
            r.events.list.first()
        );
        assert_eq!(r.events.list.last(), Some(&Event::Finish));
        assert_eq!(
            r.events.output(),
            r.shown,
            "shown output differs from captured output"
        );
    }

    #[test]
    fn output_arrives_exactly_including_invalid_utf8_and_nul() {
        let r = record(
            &[
                "sh",
                "-c",
                r"printf 'a\000b\377\376c\303(\342\202\n\033[1mX\r'",
            ],
            b"",
        );
        assert_eq!(code(&r), 0);
        assert_complete(&r);
        // The PTY turns \n into \r\n (ONLCR); nothing else changes.
        assert_eq!(r.shown, b"a\0b\xff\xfec\xc3(\xe2\x82\r\n\x1b[1mX\r");
    }

    #[test]
    fn megabytes_of_binary_output_arrive_in_order() {
        let mut data = Vec::with_capacity(5 << 20);
        for i in 0..(5u32 << 20) {
            data.push((i.wrapping_mul(2_654_435_761) >> 13) as u8);
        }
        let mut file = tempfile::NamedTempFile::new().expect("data file");
        file.write_all(&data).expect("write data");
        let path = file.path().to_str().expect("utf-8 temp path").to_owned();
        // -opost: the PTY passes output bytes through untouched.
        let r = record(
            &["sh", "-c", "stty -opost && exec cat \"$1\"", "sh", &path],
            b"",
        );
        assert_eq!(code(&r), 0);
        assert_complete(&r);
        assert!(
            r.shown == data,
            "output differs: {} bytes shown, {} expected",
            r.shown.len(),
            data.len()
        );
    }

    #[test]
    fn exit_status_of_the_command_is_returned() {
        assert_eq!(
            record(&["true"], b"").result.ok(),
            Some(Exit::Child(ExitStatus::Exited(0)))
        );
        let r = record(&["sh", "-c", "exit 3"], b"");
        assert_eq!(
            r.result.as_ref().ok(),
            Some(&Exit::Child(ExitStatus::Exited(3)))
        );
        assert_complete(&r);
    }

    #[test]
    fn command_killed_by_sigkill_gives_128_plus_9() {
        let r = record(&["sh", "-c", "echo before; kill -9 $$; echo after"], b"");
        assert_eq!(
            r.result.as_ref().ok(),
            Some(&Exit::Child(ExitStatus::Signaled(libc::SIGKILL)))
        );
        assert_eq!(code(&r), 137);
        assert_complete(&r);
        assert_eq!(r.shown, b"before\r\n");
    }

    #[test]
    fn missing_command_gives_127_and_says_so() {
        let r = record(&["termtape-no-such-command-here", "x"], b"");
        assert_eq!(code(&r), 127);
        assert_complete(&r);
        assert_eq!(
            r.shown,
            b"termtape-rec: termtape-no-such-command-here: command not found\r\n"
        );

        let r = record(&["/nonexistent/dir/cmd"], b"");
        assert_eq!(code(&r), 127);
        assert_eq!(
            r.shown,
            b"termtape-rec: /nonexistent/dir/cmd: No such file or directory\r\n"
        );
    }

    #[test]
    fn non_executable_file_gives_126() {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        let path = file.path().to_str().expect("utf-8 temp path").to_owned();
        let r = record(&[&path], b"");
        assert_eq!(code(&r), 126);
        assert_eq!(
            r.shown,
            format!("termtape-rec: {path}: Permission denied\r\n").into_bytes()
        );

        let r = record(&["/"], b"");
        assert_eq!(code(&r), 126);
    }

    #[test]
    fn script_without_shebang_runs_under_sh() {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(b"echo script \"$1\"\n")
            .expect("write script");
        let path = file.into_temp_path();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .expect("chmod");
        let r = record(&[path.to_str().expect("utf-8 temp path"), "arg"], b"");
        assert_eq!(code(&r), 0);
        assert_eq!(r.shown, b"script arg\r\n");
    }

    #[test]
    fn window_event_first_with_configured_size() {
        let size = WindowSize {
            cols: 101,
            rows: 31,
        };
        let r = record_with(&["stty", "size"], b"", size, Events::default());
        assert_eq!(code(&r), 0);
        assert_eq!(r.events.list.first(), Some(&Event::Window(101, 31)));
        assert_eq!(r.shown, b"31 101\r\n");
    }

    #[test]
    fn input_is_captured_then_sent_and_eof_ends_the_command() {
        // Ends mid-line: the first ^D completes "ghi", the second is EOF.
        let r = record(&["cat"], b"abc\ndef\nghi");
        assert_eq!(code(&r), 0);
        assert_complete(&r);
        assert_eq!(r.events.input(), b"abc\ndef\nghi");
        let shown = String::from_utf8_lossy(&r.shown);
        assert!(shown.starts_with("abc\r\n"), "{shown:?}");
        assert!(shown.ends_with("ghi"), "{shown:?}");
        assert_eq!(shown.matches("def").count(), 2, "echo and cat: {shown:?}");
    }

    #[test]
    fn megabyte_of_input_reaches_the_command_in_full() {
        // More than the PTY buffers at once: the relay must hold what the
        // PTY refuses and stop reading input until it drained.
        let line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq\n";
        let input = line.repeat(10_000);
        let r = record(&["wc", "-l"], &input);
        assert_eq!(code(&r), 0);
        assert_complete(&r);
        assert!(r.events.input() == input, "captured input differs");
        assert!(
            r.shown.ends_with(b"10000\r\n"),
            "{:?}",
            String::from_utf8_lossy(&r.shown[r.shown.len().saturating_sub(40)..])
        );
    }

    #[test]
    fn empty_input_gives_the_command_end_of_file() {
        let r = record(&["sh", "-c", "cat; echo done"], b"");
        assert_eq!(code(&r), 0);
        assert_eq!(r.shown, b"done\r\n");
        assert_eq!(r.events.input(), b"");
    }

    #[test]
    fn capture_failure_ends_the_session_and_shows_nothing_unrecorded() {
        let events = Events {
            fail_after: Some(10_000),
            ..Events::default()
        };
        let r = record_with(
            &["sh", "-c", "while :; do echo 0123456789; done"],
            b"",
            WindowSize::default(),
            events,
        );
        match &r.result {
            Err(Error::Capture(e)) => assert_eq!(e.raw_os_error(), Some(libc::ENOSPC)),
            other => panic!("expected a capture error, got {other:?}"),
        }
        assert!(r.events.accepted >= 10_000);
        assert_eq!(r.events.list.last(), Some(&Event::Finish));
        assert_eq!(r.events.output(), r.shown);
    }

    #[test]
    fn capture_deadline_brings_a_tick() {
        let events = Events {
            tick_every: Some(Duration::from_millis(1)),
            ..Events::default()
        };
        let r = record_with(&["sleep", "0.05"], b"", WindowSize::default(), events);
        assert_eq!(code(&r), 0);
        assert!(r.events.list.contains(&Event::Tick), "{:?}", r.events.list);
    }

    #[test]
    fn millis_until_rounds_up_and_never_spins() {
        let now = Duration::from_secs(5);
        assert_eq!(millis_until(now + Duration::from_micros(1500), now), 2);
        assert_eq!(millis_until(now, now), 1);
        assert_eq!(millis_until(Duration::ZERO, now), 1);
        assert_eq!(millis_until(Duration::MAX, now), libc::c_int::MAX);
    }
}
