//! Pseudo-terminals, the user's terminal mode, signals, and the recorded child process.
//!
//! This is the one module of termtape that talks to the kernel through `libc`
//! directly; everything here is a thin, safe wrapper that the relay loop
//! ([`crate::relay`]) builds on:
//!
//! - [`Pty`]: a new pseudo-terminal pair, its window size, and [`Pty::spawn`],
//!   which starts the command with the slave as its controlling terminal;
//! - [`Child`]: the recorded process, its status ([`ExitStatus`]) and hangup;
//! - [`RawMode`]: the user's terminal in raw mode, restored on drop;
//! - [`Signals`]: a self-pipe that turns asynchronous signals into bytes the
//!   relay can `poll()` for.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};

/// Reads once from `fd` into `buf`.
pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: read(2) writes at most `buf.len()` bytes into `buf`.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// Writes once from `buf` to `fd`, returning how much was written.
pub(crate) fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: write(2) reads at most `buf.len()` bytes from `buf`.
    let n = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// What [`poll`] found ready: `revents` of each descriptor (0 if it was not
/// polled), and whether the signal pipe is readable.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Ready {
    pub(crate) signal: bool,
    pub(crate) master: libc::c_short,
    pub(crate) input: libc::c_short,
}

/// Waits until the signal pipe is readable, `master` has one of its
/// `events`, `input` is readable, or `timeout` milliseconds (-1: no limit)
/// pass. An interrupted wait returns nothing ready.
pub(crate) fn poll(
    signal: BorrowedFd<'_>,
    master: Option<(BorrowedFd<'_>, libc::c_short)>,
    input: Option<BorrowedFd<'_>>,
    timeout: libc::c_int,
) -> io::Result<Ready> {
    let entry = |fd: Option<BorrowedFd<'_>>, events| libc::pollfd {
        // A negative descriptor is skipped by poll(2).
        fd: fd.map_or(-1, |fd| fd.as_raw_fd()),
        events,
        revents: 0,
    };
    let mut fds = [
        entry(Some(signal), libc::POLLIN),
        entry(master.map(|m| m.0), master.map_or(0, |m| m.1)),
        entry(input, libc::POLLIN),
    ];
    // SAFETY: poll(2) reads and updates exactly `fds.len()` entries.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
    if n == -1 {
        let err = io::Error::last_os_error();
        return match err.kind() {
            io::ErrorKind::Interrupted => Ok(Ready::default()),
            _ => Err(err),
        };
    }
    Ok(Ready {
        signal: fds[0].revents != 0,
        master: fds[1].revents,
        input: fds[2].revents,
    })
}

/// Waits until `fd` can be written to or the signal pipe is readable.
pub(crate) fn poll_write_or_signal(
    fd: BorrowedFd<'_>,
    signal: BorrowedFd<'_>,
) -> io::Result<Ready> {
    poll(signal, Some((fd, libc::POLLOUT)), None, -1)
}

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

/// Turns a `-1` return into the current `errno` as an [`io::Error`].
fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Makes sure descriptors 0, 1 and 2 are open (on `/dev/null` if they were
/// closed), so that no descriptor this process opens later is mistaken for
/// standard input, output or error — by us or by the recorded command.
pub fn ensure_stdio_open() -> io::Result<()> {
    for fd in 0..3 {
        // SAFETY: F_GETFD only queries the descriptor table.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1 {
            continue;
        }
        // SAFETY: the path is a valid NUL-terminated string; the descriptor
        // returned is the lowest free one, which is `fd` since 0..fd are open.
        let opened = check(unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) })?;
        if opened != fd {
            // SAFETY: `opened` was just returned by open() and is ours to close.
            unsafe { libc::close(opened) };
            return Err(io::Error::other(
                "cannot reopen a closed standard descriptor",
            ));
        }
    }
    Ok(())
}

/// Moves `fd` above the standard descriptors (0, 1, 2) if it landed there,
/// keeping it close-on-exec.
fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    // SAFETY: F_DUPFD_CLOEXEC duplicates a descriptor we own into a new one.
    let new = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) })?;
    // SAFETY: `new` was just returned by fcntl and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Sets or clears `O_NONBLOCK` on a descriptor.
fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on a valid borrowed descriptor.
    unsafe {
        let flags = check(libc::fcntl(fd.as_raw_fd(), libc::F_GETFL))?;
        let flags = if on {
            flags | libc::O_NONBLOCK
        } else {
            flags & !libc::O_NONBLOCK
        };
        check(libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags))?;
    }
    Ok(())
}

/// Whether `fd` refers to a terminal.
pub fn is_terminal(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: isatty only queries the descriptor.
    unsafe { libc::isatty(fd.as_raw_fd()) == 1 }
}

/// The window size of the terminal `fd` refers to, or `None` if it is not a
/// terminal or reports a zero size.
pub fn window_size(fd: BorrowedFd<'_>) -> Option<WindowSize> {
    // SAFETY: winsize is plain data; all-zero is a valid value.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes a winsize into the pointed-to struct.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    (ret == 0 && ws.ws_col > 0 && ws.ws_row > 0).then_some(WindowSize {
        cols: ws.ws_col,
        rows: ws.ws_row,
    })
}

/// Sets the window size of the terminal `fd` refers to.
fn set_window_size(fd: BorrowedFd<'_>, size: WindowSize) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: size.rows,
        ws_col: size.cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize from the pointed-to struct.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) })?;
    Ok(())
}

/// Reads a terminal's attributes.
fn termios(fd: BorrowedFd<'_>) -> io::Result<libc::termios> {
    // SAFETY: termios is plain data; all-zero is a valid value.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: tcgetattr fills the pointed-to struct.
    check(unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut t) })?;
    Ok(t)
}

/// Writes a terminal's attributes, retrying if interrupted by a signal.
fn set_termios(fd: BorrowedFd<'_>, t: &libc::termios, when: libc::c_int) -> io::Result<()> {
    loop {
        // SAFETY: tcsetattr reads the pointed-to struct.
        match check(unsafe { libc::tcsetattr(fd.as_raw_fd(), when, t) }) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other.map(drop),
        }
    }
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
    original: libc::termios,
    active: bool,
}

impl<'fd> RawMode<'fd> {
    /// Saves the mode of terminal `fd` and switches it to raw mode.
    pub fn enter(fd: BorrowedFd<'fd>) -> io::Result<RawMode<'fd>> {
        let original = termios(fd)?;
        let mut raw = original;
        // The same changes as cfmakeraw(3), written out so they are visible:
        // no input translation or flow control, no output post-processing,
        // 8-bit characters, no line editing, echo or signal keys.
        raw.c_iflag &= !(libc::IGNBRK
            | libc::BRKINT
            | libc::PARMRK
            | libc::ISTRIP
            | libc::INLCR
            | libc::IGNCR
            | libc::ICRNL
            | libc::IXON);
        raw.c_oflag &= !libc::OPOST;
        raw.c_lflag &= !(libc::ECHO | libc::ECHONL | libc::ICANON | libc::ISIG | libc::IEXTEN);
        raw.c_cflag &= !(libc::CSIZE | libc::PARENB);
        raw.c_cflag |= libc::CS8;
        raw.c_cc[libc::VMIN] = 1;
        raw.c_cc[libc::VTIME] = 0;
        set_termios(fd, &raw, libc::TCSADRAIN)?;
        Ok(RawMode {
            fd,
            original,
            active: true,
        })
    }

    /// The terminal's attributes as they were before raw mode.
    pub fn original(&self) -> &libc::termios {
        &self.original
    }

    /// Puts the terminal back into its original mode. Calling it again does
    /// nothing.
    pub fn restore(&mut self) -> io::Result<()> {
        if !self.active {
            return Ok(());
        }
        self.active = false;
        set_termios(self.fd, &self.original, libc::TCSADRAIN)
    }
}

impl Drop for RawMode<'_> {
    fn drop(&mut self) {
        // Nothing useful can be done with an error here: the terminal is
        // gone or not ours any more.
        let _ = self.restore();
    }
}

/// A new pseudo-terminal: the master side, which the recorder reads and
/// writes, and the slave side, which becomes the command's terminal.
#[derive(Debug)]
pub struct Pty {
    master: OwnedFd,
    /// Until [`Pty::spawn`] hands it to the child.
    slave: Option<OwnedFd>,
}

impl Pty {
    /// Opens a new PTY pair of the given size. With `termios`, the slave
    /// gets those attributes (the user's terminal's, so that erase and
    /// interrupt keys behave as the user is used to); without, the kernel's
    /// defaults.
    pub fn open(size: WindowSize, termios: Option<&libc::termios>) -> io::Result<Pty> {
        // SAFETY: posix_openpt returns a new descriptor or -1.
        let master =
            check(unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) })?;
        // SAFETY: `master` was just returned by posix_openpt and nothing else owns it.
        let master = above_stdio(unsafe { OwnedFd::from_raw_fd(master) })?;
        // SAFETY: grantpt and unlockpt take a PTY master descriptor.
        unsafe {
            check(libc::grantpt(master.as_raw_fd()))?;
            check(libc::unlockpt(master.as_raw_fd()))?;
        }
        let mut name = [0 as libc::c_char; 128];
        // SAFETY: ptsname_r writes a NUL-terminated name of at most `len` bytes.
        let ret = unsafe { libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len()) };
        if ret != 0 {
            return Err(io::Error::from_raw_os_error(ret));
        }
        // SAFETY: the slave's path was NUL-terminated by ptsname_r. O_NOCTTY:
        // the slave must become the child's controlling terminal, not ours.
        let slave = check(unsafe {
            libc::open(
                name.as_ptr(),
                libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
            )
        })?;
        // SAFETY: `slave` was just returned by open() and nothing else owns it.
        let slave = above_stdio(unsafe { OwnedFd::from_raw_fd(slave) })?;
        if let Some(t) = termios {
            set_termios(slave.as_fd(), t, libc::TCSANOW)?;
        }
        set_window_size(master.as_fd(), size)?;
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
        set_window_size(self.master.as_fd(), size)
    }

    /// The PTY's window size.
    pub fn window_size(&self) -> Option<WindowSize> {
        window_size(self.master.as_fd())
    }

    /// The slave's end-of-file character if the slave is in canonical
    /// (line) mode, where that character means end of file; `None` in raw
    /// mode or if the character is disabled.
    pub fn eof_char(&self) -> Option<u8> {
        let t = termios(self.master.as_fd()).ok()?;
        let c = t.c_cc[libc::VEOF];
        (t.c_lflag & libc::ICANON != 0 && c != libc::_POSIX_VDISABLE).then_some(c)
    }

    /// Starts `command` (program and arguments; the program is looked up in
    /// `PATH` unless it contains a `/`) in a new session with the slave as
    /// its controlling terminal and standard input, output and error.
    ///
    /// The child closes every other descriptor and starts with default
    /// signal dispositions and an empty signal mask. If the program cannot
    /// be executed, the child writes why to the terminal and exits with 127
    /// (not found) or 126 (found but not executable), as shells do.
    ///
    /// After this the parent holds only the master: the slave's last
    /// descriptor closes when the command (and whatever it started) is done,
    /// and reading the master then gives `EIO`.
    ///
    /// `argv0`, if given, is what the program sees as its name (a login
    /// shell gets `-bash`). `run_as`, if given, are the ids the child takes
    /// (real, effective and saved) before exec; failing that, it exits with
    /// status 1 rather than run with the recorder's ids.
    pub fn spawn(
        &mut self,
        command: &[OsString],
        argv0: Option<&OsStr>,
        run_as: Option<Credentials>,
    ) -> io::Result<Child> {
        let plan = ExecPlan::new(command, argv0, run_as)?;
        let slave = self
            .slave
            .take()
            .ok_or_else(|| io::Error::other("this PTY already runs a command"))?;
        // Block every signal around fork so that none of the recorder's
        // handlers runs in the child before it resets them.
        // SAFETY: sigset_t is plain data filled by sigfillset; sigprocmask
        // writes the previous mask into `old`.
        let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: both sets are valid; pthread_sigmask affects this thread only.
        unsafe {
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        }
        // SAFETY: the child only makes async-signal-safe calls (see
        // `exec_child`) on data prepared before the fork, then execs or exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: we are the freshly forked child; `exec_child` never returns.
            unsafe { exec_child(&plan, slave.as_raw_fd()) }
        }
        let forked = if pid == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(pid)
        };
        // SAFETY: restores this thread's previous signal mask.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
        let pid = forked?;
        drop(slave);
        set_nonblocking(self.master.as_fd(), true)?;
        Ok(Child { pid, status: None })
    }
}

/// Everything the child needs to exec, built before `fork` so that the child
/// does not allocate.
struct ExecPlan {
    /// NUL-terminated candidate paths, in `PATH` order.
    paths: Vec<CString>,
    /// The argument strings; `argv` points into them.
    _args: Vec<CString>,
    /// NULL-terminated pointer array for `execve`.
    argv: Vec<*const libc::c_char>,
    /// For each path, `/bin/sh path args…`, used when the file has no
    /// recognised executable format (a script without `#!`), as execvp does.
    sh_argv: Vec<Vec<*const libc::c_char>>,
    /// The environment strings; `envp` points into them.
    _env: Vec<CString>,
    envp: Vec<*const libc::c_char>,
    /// `termtape-rec: PROGRAM: ` for error messages.
    prefix: Vec<u8>,
    /// Whether the program name was looked up in PATH (changes the message
    /// for a missing program: "command not found").
    searched: bool,
    /// Highest descriptor to close if close_range is unavailable.
    max_fd: libc::c_int,
    /// The ids to take before exec.
    run_as: Option<Credentials>,
}

/// A user's ids, for running the recorded command as that user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials {
    /// User id.
    pub uid: libc::uid_t,
    /// Primary group id.
    pub gid: libc::gid_t,
}

impl Credentials {
    /// The real ids of this process: the user who ran it, even when it is
    /// installed setuid/setgid.
    pub fn real() -> Credentials {
        // SAFETY: getuid and getgid cannot fail.
        unsafe {
            Credentials {
                uid: libc::getuid(),
                gid: libc::getgid(),
            }
        }
    }

    /// The effective ids of this process (those of a setuid/setgid owner).
    pub fn effective() -> Credentials {
        // SAFETY: geteuid and getegid cannot fail.
        unsafe {
            Credentials {
                uid: libc::geteuid(),
                gid: libc::getegid(),
            }
        }
    }
}

/// Sets all of this process' user and group ids (real, effective, saved)
/// to `to`'s: for a setuid/setgid program that hands over to the user.
pub fn become_user(to: Credentials) -> io::Result<()> {
    // SAFETY: plain system calls on integer arguments.
    unsafe {
        if libc::setresgid(to.gid, to.gid, to.gid) != 0
            || libc::setresuid(to.uid, to.uid, to.uid) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Sets all of this process' user and group ids (real, effective, saved) to
/// its effective ones, giving up the real ids of the user who started it:
/// after this the user can neither signal nor trace the process.
pub fn settle_ids() -> io::Result<()> {
    let Credentials { uid, gid } = Credentials::effective();
    // SAFETY: plain system calls on integer arguments.
    unsafe {
        if libc::setresgid(gid, gid, gid) != 0 || libc::setresuid(uid, uid, uid) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Converts to a C string, naming the offending value on an interior NUL.
fn c_string(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{:?} contains a NUL byte", s),
        )
    })
}

impl ExecPlan {
    fn new(
        command: &[OsString],
        argv0: Option<&OsStr>,
        run_as: Option<Credentials>,
    ) -> io::Result<ExecPlan> {
        let Some(program) = command.first() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no command to run",
            ));
        };
        let mut args = command
            .iter()
            .map(|a| c_string(a))
            .collect::<io::Result<Vec<_>>>()?;
        if let Some(name) = argv0 {
            args[0] = c_string(name)?;
        }
        let mut argv: Vec<_> = args.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());

        let searched = !program.as_bytes().contains(&b'/');
        let paths = if !searched {
            vec![c_string(program)?]
        } else if program.is_empty() {
            Vec::new()
        } else {
            let path =
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
            path.as_bytes()
                .split(|&b| b == b':')
                .map(|dir| {
                    // An empty PATH entry means the current directory.
                    let mut p = if dir.is_empty() {
                        b".".to_vec()
                    } else {
                        dir.to_vec()
                    };
                    p.push(b'/');
                    p.extend_from_slice(program.as_bytes());
                    c_string(OsStr::from_bytes(&p))
                })
                .collect::<io::Result<Vec<_>>>()?
        };
        let sh_argv = paths
            .iter()
            .map(|p| {
                let mut v = vec![c"/bin/sh".as_ptr(), p.as_ptr()];
                v.extend_from_slice(&argv[1..]);
                v
            })
            .collect();

        let env: Vec<CString> = std::env::vars_os()
            .filter_map(|(k, v)| {
                let mut kv = k.into_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv).ok()
            })
            .collect();
        let mut envp: Vec<_> = env.iter().map(|e| e.as_ptr()).collect();
        envp.push(std::ptr::null());

        let mut prefix = b"termtape-rec: ".to_vec();
        prefix.extend_from_slice(program.as_bytes());
        prefix.extend_from_slice(b": ");

        // SAFETY: sysconf only queries a limit.
        let open_max = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) };
        let max_fd = libc::c_int::try_from(open_max)
            .unwrap_or(65536)
            .clamp(1024, 1 << 20);

        Ok(ExecPlan {
            paths,
            _args: args,
            argv,
            sh_argv,
            _env: env,
            envp,
            prefix,
            searched,
            max_fd,
            run_as,
        })
    }
}

/// The child's side of [`Pty::spawn`]: set up the terminal and exec.
///
/// # Safety
///
/// Must be called only in a freshly forked child. Uses only
/// async-signal-safe functions and never returns.
unsafe fn exec_child(plan: &ExecPlan, slave: RawFd) -> ! {
    // SAFETY: every call below is async-signal-safe and works on
    // descriptors and memory prepared before the fork.
    unsafe {
        // Default dispositions and an empty mask: the recorder ignores
        // SIGPIPE and catches others, and ignored signals survive exec.
        for sig in 1..65 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());

        // A new session whose controlling terminal is the slave.
        if libc::setsid() == -1 {
            fail(plan, 1, "setsid failed");
        }
        if libc::ioctl(slave, libc::TIOCSCTTY, 0) == -1 {
            fail(plan, 1, "cannot make the PTY the controlling terminal");
        }
        for fd in 0..3 {
            if libc::dup2(slave, fd) == -1 {
                fail(plan, 1, "cannot set up standard descriptors");
            }
        }
        // Close everything else: the recorder's log file, signal pipe and
        // PTY master must not leak into the recorded command.
        if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) != 0 {
            for fd in 3..plan.max_fd {
                libc::close(fd);
            }
        }

        // Become the user, all ids, before running anything of theirs.
        if let Some(Credentials { uid, gid }) = plan.run_as {
            if libc::setresgid(gid, gid, gid) != 0 || libc::setresuid(uid, uid, uid) != 0 {
                fail(plan, 1, "cannot take the user's ids");
            }
            let (mut r, mut e, mut s) = (0, 0, 0);
            libc::getresuid(&mut r, &mut e, &mut s);
            if r != uid || e != uid || s != uid {
                fail(plan, 1, "the user's ids did not stick");
            }
        }

        // Try each candidate as execvp does: skip missing ones, remember a
        // permission problem, stop at any other error.
        let mut found_but_denied = false;
        let mut last = libc::ENOENT;
        for (path, sh_argv) in plan.paths.iter().zip(&plan.sh_argv) {
            libc::execve(path.as_ptr(), plan.argv.as_ptr(), plan.envp.as_ptr());
            let err = *libc::__errno_location();
            match err {
                libc::ENOEXEC => {
                    libc::execve(c"/bin/sh".as_ptr(), sh_argv.as_ptr(), plan.envp.as_ptr());
                    last = *libc::__errno_location();
                    break;
                }
                libc::ENOENT | libc::ENOTDIR | libc::ELOOP | libc::ENAMETOOLONG => {}
                libc::EACCES => {
                    found_but_denied = true;
                    last = err;
                }
                _ => {
                    last = err;
                    break;
                }
            }
        }
        if last == libc::ENOENT && !found_but_denied {
            let msg = if plan.searched {
                "command not found"
            } else {
                "No such file or directory"
            };
            fail(plan, 127, msg);
        }
        fail(plan, 126, describe_errno(last));
    }
}

/// Human text for the errors exec can give, without allocating.
fn describe_errno(err: libc::c_int) -> &'static str {
    match err {
        libc::EACCES => "Permission denied",
        libc::ENOEXEC => "Exec format error",
        libc::EISDIR => "Is a directory",
        libc::ETXTBSY => "Text file busy",
        libc::E2BIG => "Argument list too long",
        libc::ENOMEM => "Cannot allocate memory",
        libc::ELIBBAD => "Accessing a corrupted shared library",
        libc::EPERM => "Operation not permitted",
        libc::EIO => "Input/output error",
        _ => "cannot execute",
    }
}

/// Writes `PREFIX MESSAGE\n` to standard error (the terminal) and exits.
///
/// # Safety
///
/// Only for the forked child: calls `_exit`.
unsafe fn fail(plan: &ExecPlan, status: libc::c_int, message: &str) -> ! {
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffers are valid.
    unsafe {
        // The terminal turns "\n" into "\r\n" itself (ONLCR).
        let parts: [&[u8]; 3] = [&plan.prefix, message.as_bytes(), b"\n"];
        for part in parts {
            libc::write(2, part.as_ptr().cast(), part.len());
        }
        libc::_exit(status)
    }
}

/// How the recorded command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited with this code.
    Exited(i32),
    /// A signal killed it.
    Signaled(i32),
}

impl ExitStatus {
    /// The status as a shell reports it: the exit code, or 128+N if killed
    /// by signal N.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Signaled(sig) => 128 + sig,
        }
    }
}

/// The recorded command's process.
#[derive(Debug)]
pub struct Child {
    pid: libc::pid_t,
    status: Option<ExitStatus>,
}

impl Child {
    /// Its process id (also its session and process group id).
    pub fn pid(&self) -> libc::pid_t {
        self.pid
    }

    /// Reaps the child if it has ended, without waiting. Only this child is
    /// waited for, so other children of the process are left alone.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.wait_with(libc::WNOHANG)
    }

    /// Waits for the child to end.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        loop {
            match self.wait_with(0) {
                Ok(Some(status)) => return Ok(status),
                Ok(None) => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn wait_with(&mut self, flags: libc::c_int) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let mut raw = 0;
        // SAFETY: waitpid on our own child's pid writes into `raw`.
        let pid = check(unsafe { libc::waitpid(self.pid, &mut raw, flags) })?;
        if pid == 0 {
            return Ok(None);
        }
        let status = if libc::WIFSIGNALED(raw) {
            ExitStatus::Signaled(libc::WTERMSIG(raw))
        } else {
            ExitStatus::Exited(libc::WEXITSTATUS(raw))
        };
        self.status = Some(status);
        Ok(Some(status))
    }

    /// Hangs up the child's session as the kernel does when a terminal
    /// goes away: SIGHUP then SIGCONT (so stopped jobs see the hangup) to
    /// the child's process group and to the PTY's foreground process group.
    /// Does nothing once the child has been reaped (its pid may be reused).
    pub fn hang_up(&self, master: BorrowedFd<'_>) {
        if self.status.is_some() {
            return;
        }
        // SAFETY: tcgetpgrp only queries the terminal; on Linux a PTY master
        // reports the slave's foreground process group.
        let foreground = unsafe { libc::tcgetpgrp(master.as_raw_fd()) };
        for sig in [libc::SIGHUP, libc::SIGCONT] {
            // SAFETY: kill with a negative pid signals a process group; the
            // child is not reaped, so its pid (= its group id) is still ours.
            unsafe { libc::kill(-self.pid, sig) };
            if foreground > 0 && foreground != self.pid {
                // SAFETY: as above, a process group of the child's session.
                unsafe { libc::kill(-foreground, sig) };
            }
        }
    }

    /// Sends `signal` to the child process.
    pub fn kill(&self, signal: libc::c_int) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        // SAFETY: kill on our own unreaped child.
        check(unsafe { libc::kill(self.pid, signal) })?;
        Ok(())
    }
}

/// The signals the relay handles. SIGPIPE is ignored instead: a reader going
/// away shows up as an `EPIPE` write error.
pub const HANDLED_SIGNALS: [libc::c_int; 6] = [
    libc::SIGCHLD,
    libc::SIGWINCH,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
];

/// Write ends of the self-pipes of all live [`Signals`], -1 for a free slot.
/// The handler writes each caught signal's number to every one of them, so
/// several relays may run in one process (as the tests do); each reaps only
/// its own child.
static PIPES: [AtomicI32; 16] = [const { AtomicI32::new(-1) }; 16];

/// How many [`Signals`] are live, and the dispositions to restore when the
/// last one goes.
static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    live: 0,
    saved: Vec::new(),
});

struct Registry {
    live: usize,
    saved: Vec<(libc::c_int, libc::sigaction)>,
}

extern "C" fn on_signal(sig: libc::c_int) {
    // SAFETY: only async-signal-safe calls (write) on descriptors published
    // in PIPES; errno is saved and restored so the interrupted code does
    // not see it change.
    unsafe {
        let errno = *libc::__errno_location();
        let byte = sig as u8;
        for slot in &PIPES {
            let fd = slot.load(Ordering::Acquire);
            if fd >= 0 {
                // A full pipe already holds a wake-up; losing this byte
                // loses nothing but a duplicate.
                libc::write(fd, (&byte as *const u8).cast(), 1);
            }
        }
        *libc::__errno_location() = errno;
    }
}

/// Signals delivered as bytes on a pipe, so the relay's `poll()` wakes for
/// them and handles them outside of signal context.
///
/// Handlers are installed without `SA_RESTART`, so a signal also interrupts a
/// blocking write to a stalled terminal with `EINTR`, and the relay can react
/// (for example to SIGTERM) instead of hanging.
#[derive(Debug)]
pub struct Signals {
    read: OwnedFd,
    /// Kept open for the handler; never used directly.
    _write: OwnedFd,
    slot: usize,
}

impl Signals {
    /// Installs the handlers for [`HANDLED_SIGNALS`] (if this is the first
    /// live instance), ignores SIGPIPE, and opens the pipe.
    pub fn install() -> io::Result<Signals> {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two new descriptors into `fds`.
        check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) })?;
        // SAFETY: both descriptors were just created and nothing else owns them.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let (read, write) = (above_stdio(read)?, above_stdio(write)?);

        let mut registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        let slot = PIPES
            .iter()
            .position(|s| s.load(Ordering::Acquire) == -1)
            .ok_or_else(|| io::Error::other("too many relays in one process"))?;
        PIPES[slot].store(write.as_raw_fd(), Ordering::Release);
        if registry.live == 0 {
            let mut saved = Vec::new();
            let handled = HANDLED_SIGNALS
                .iter()
                .map(|&s| (s, on_signal as *const () as libc::sighandler_t));
            for (sig, handler) in handled.chain([(libc::SIGPIPE, libc::SIG_IGN)]) {
                // SAFETY: sigaction is plain data; all-zero is a valid value.
                let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
                new.sa_sigaction = handler;
                new.sa_flags = if sig == libc::SIGCHLD {
                    libc::SA_NOCLDSTOP
                } else {
                    0
                };
                // SAFETY: as above.
                let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
                // SAFETY: sa_mask is a valid set; sigaction installs a handler
                // that is async-signal-safe (`on_signal`) or SIG_IGN.
                let ret = unsafe {
                    libc::sigemptyset(&mut new.sa_mask);
                    libc::sigaction(sig, &new, &mut old)
                };
                if ret == -1 {
                    let err = io::Error::last_os_error();
                    restore_dispositions(&saved);
                    PIPES[slot].store(-1, Ordering::Release);
                    return Err(err);
                }
                saved.push((sig, old));
            }
            registry.saved = saved;
        }
        registry.live += 1;
        Ok(Signals {
            read,
            _write: write,
            slot,
        })
    }

    /// The read end, to poll for readability.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    /// Reads the signals caught since the last call into `seen` (one flag
    /// per signal number) without blocking.
    pub fn drain(&self, seen: &mut SignalSet) -> io::Result<()> {
        let mut buf = [0u8; 64];
        loop {
            // SAFETY: read into a valid buffer of the given length.
            let n =
                unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                for &b in &buf[..n as usize] {
                    seen.insert(libc::c_int::from(b));
                }
                continue;
            }
            if n == 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::WouldBlock => return Ok(()),
                io::ErrorKind::Interrupted => continue,
                _ => return Err(err),
            }
        }
    }
}

fn restore_dispositions(saved: &[(libc::c_int, libc::sigaction)]) {
    for (sig, old) in saved {
        // SAFETY: reinstalls a disposition previously returned by sigaction.
        unsafe { libc::sigaction(*sig, old, std::ptr::null_mut()) };
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        let mut registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        PIPES[self.slot].store(-1, Ordering::Release);
        registry.live -= 1;
        if registry.live == 0 {
            let saved = std::mem::take(&mut registry.saved);
            restore_dispositions(&saved);
        }
        // The write end closes when the fields drop, after it left PIPES:
        // a handler in another thread could only still write to it if it
        // loaded the slot in the instant before.
    }
}

/// A set of signal numbers (1..64).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignalSet(u64);

impl SignalSet {
    /// Adds a signal.
    pub fn insert(&mut self, sig: libc::c_int) {
        if (1..64).contains(&sig) {
            self.0 |= 1 << sig;
        }
    }

    /// Whether `sig` is in the set; removes it.
    pub fn take(&mut self, sig: libc::c_int) -> bool {
        let had = self.contains(sig);
        if (1..64).contains(&sig) {
            self.0 &= !(1 << sig);
        }
        had
    }

    /// Whether `sig` is in the set.
    pub fn contains(&self, sig: libc::c_int) -> bool {
        (1..64).contains(&sig) && self.0 & (1 << sig) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_codes_follow_shells() {
        assert_eq!(ExitStatus::Exited(3).code(), 3);
        assert_eq!(ExitStatus::Signaled(libc::SIGKILL).code(), 137);
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
        assert_ne!(
            before.c_lflag & libc::ICANON,
            0,
            "a new PTY starts in canonical mode"
        );
        {
            let raw = RawMode::enter(pty.master()).expect("raw mode");
            let during = termios(pty.master()).expect("termios");
            assert_eq!(during.c_lflag & (libc::ICANON | libc::ECHO | libc::ISIG), 0);
            assert_eq!(during.c_oflag & libc::OPOST, 0);
            assert_eq!(raw.original().c_lflag, before.c_lflag);
        }
        let after = termios(pty.master()).expect("termios");
        assert_eq!(
            (
                after.c_iflag,
                after.c_oflag,
                after.c_cflag,
                after.c_lflag,
                after.c_cc
            ),
            (
                before.c_iflag,
                before.c_oflag,
                before.c_cflag,
                before.c_lflag,
                before.c_cc
            )
        );
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
        assert_eq!(now.c_lflag & libc::ICANON, 0);
        drop(again);
        assert_ne!(
            termios(pty.master()).expect("termios").c_lflag & libc::ICANON,
            0
        );
    }

    #[test]
    fn signal_set_insert_take() {
        let mut s = SignalSet::default();
        s.insert(libc::SIGCHLD);
        s.insert(200);
        assert!(s.contains(libc::SIGCHLD));
        assert!(!s.contains(libc::SIGTERM));
        assert!(s.take(libc::SIGCHLD));
        assert!(!s.take(libc::SIGCHLD));
        assert_eq!(s, SignalSet::default());
    }
}
