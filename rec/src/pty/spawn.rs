//! Starting the recorded command on a [`Pty`]'s slave: everything the
//! child needs is prepared before `fork`, and the child does nothing but
//! set up its terminal, descriptors, signals and ids, then exec.
//!
//! Between fork and exec only async-signal-safe calls are allowed, on
//! memory prepared before the fork. rustix serves where it has a safe call
//! (`setsid`, `TIOCSCTTY`); fork, exec, `dup2` onto the standard
//! descriptors, `close_range`, signal dispositions and masks, and the
//! process-wide id changes stay `libc`: rustix offers fork and exec only to
//! programs that bring their own runtime (`rustix::runtime`), its `dup2`
//! needs an owned target descriptor the child does not have, and it has no
//! `close_range` nor process-wide `setresuid`.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use super::child::{Child, Credentials};
use super::fd::set_nonblocking;
use super::master::Pty;

impl Pty {
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
        // SAFETY: sigset_t is plain data, valid all-zero, filled by
        // sigfillset; pthread_sigmask reads `all` and writes the previous
        // mask into `old`, for this thread only.
        let old = unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
            old
        };
        // SAFETY: the child only makes async-signal-safe calls (see
        // `exec_child`) on data prepared before the fork, then execs or
        // exits; `exec_child` never returns.
        let pid = unsafe {
            let pid = libc::fork();
            if pid == 0 {
                exec_child(&plan, slave.as_fd())
            }
            pid
        };
        let forked = if pid == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(pid)
        };
        // SAFETY: restores this thread's previous signal mask, saved above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
        let pid = forked?;
        drop(slave);
        set_nonblocking(self.master.as_fd(), true)?;
        Child::new(pid)
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

        // What sysconf(_SC_OPEN_MAX) says: the soft limit on descriptors.
        let open_max = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        let max_fd = open_max
            .and_then(|n| libc::c_int::try_from(n).ok())
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
unsafe fn exec_child(plan: &ExecPlan, slave: BorrowedFd<'_>) -> ! {
    // SAFETY: every call below is async-signal-safe and works on
    // descriptors and memory prepared before the fork. The libc calls are
    // those rustix offers no safe form of (see the module documentation).
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
        if rustix::process::setsid().is_err() {
            fail(plan, 1, "setsid failed");
        }
        if rustix::process::ioctl_tiocsctty(slave).is_err() {
            fail(plan, 1, "cannot make the PTY the controlling terminal");
        }
        for fd in 0..3 {
            if libc::dup2(slave.as_raw_fd(), fd) == -1 {
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
