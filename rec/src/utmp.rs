//! The recorded session in utmp and wtmp, so that `who`, `w` and `who am i`
//! work inside a recorded login; and the login's remote host as utmp has it.
//!
//! `login` and `sshd` register the login terminal; the shell of a recorded
//! login runs on the recording's own terminal, which nothing registers, so
//! `who am i` inside it says nothing (tlog's issue #280). The recorder
//! registers that terminal through libutempter's helper
//! ([`HELPER`], Debian package libutempter0), a small program installed
//! setgid `utmp` that terminal emulators (xterm, tmux, screen) use: given a
//! PTY master on its standard input it writes one entry for that terminal,
//! in the name of its caller's real user, and only if that user owns the
//! terminal. The recorder itself gets no write access to utmp: a recorder
//! that could write utmp (setgid `utmp`) would hold it for the whole
//! session, while it parses whatever the recorded user prints; the helper
//! holds it for one entry, and any user can already run it for a terminal
//! of their own.
//!
//! So that the helper accepts it, the recording's terminal of a setuid
//! recorder is created owned by the user (as `login` and `sshd` give the
//! user their terminal), not by the recorder's account. The entry is
//! removed (a `DEAD_PROCESS` record) by a small guard process forked before
//! the recorder gives up the user's real id: it waits for its pipe to
//! close, which happens when the recorder ends, however it ends (`SIGKILL`
//! too), then runs the helper's `del`. The guard's effective id is the
//! recorder's account, so the user cannot trace it (nor take the terminal
//! it holds); its real id is the user's, as the helper requires, so the
//! user can kill it: the entry then stays until overwritten, naming the
//! recorder's process, which `who` leaves out once that process is gone.
//! What the user can do to utmp this way, the helper lets them do anyway.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// libutempter's helper, as Debian installs it.
pub const HELPER: &str = "/usr/lib/x86_64-linux-gnu/utempter/utempter";

/// Where the C library keeps utmp.
pub const UTMP: &str = "/var/run/utmp";

/// `USER_PROCESS`, the type of a login's entry.
const USER_PROCESS: i16 = 7;

/// The size of glibc's `struct utmp` on 64-bit Linux, and where its fields
/// are: `ut_type` (i16), `ut_pid` (i32), `ut_line[32]`, `ut_id[4]`,
/// `ut_user[32]`, `ut_host[256]`, then exit status, session, time and
/// address.
const RECORD: usize = 384;
const LINE: std::ops::Range<usize> = 8..40;
const USER: std::ops::Range<usize> = 44..76;
const HOST: std::ops::Range<usize> = 76..332;

/// One login in utmp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The process that registered it.
    pub pid: i32,
    /// The terminal, without `/dev/` (`pts/4`).
    pub line: String,
    /// The user.
    pub user: String,
    /// The remote host, if any.
    pub host: String,
}

/// The logins (`USER_PROCESS` entries) in a utmp file's bytes.
pub fn logins(bytes: &[u8]) -> Vec<Entry> {
    let text = |field: &[u8]| {
        let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        String::from_utf8_lossy(&field[..end]).into_owned()
    };
    bytes
        .chunks_exact(RECORD)
        .filter(|r| i16::from_ne_bytes([r[0], r[1]]) == USER_PROCESS)
        .map(|r| Entry {
            pid: i32::from_ne_bytes([r[4], r[5], r[6], r[7]]),
            line: text(&r[LINE]),
            user: text(&r[USER]),
            host: text(&r[HOST]),
        })
        .collect()
}

/// The remote host utmp names for the login on `tty` (`/dev/pts/1`), as
/// `sshd` or `login -h` wrote it; `None` if there is no such login or it
/// names none.
///
/// A terminal can have several entries: one a login left behind (written
/// under another `ut_id`, never marked dead) besides the live one. The
/// entry of this login is the one whose process is this process or one of
/// its ancestors (sshd and login write their own pid, or the shell's); only
/// without such an entry is the last one for the terminal taken.
pub fn login_host(tty: &str) -> Option<String> {
    let line = tty.strip_prefix("/dev/")?;
    let bytes = std::fs::read(UTMP).ok()?;
    let entries: Vec<Entry> = logins(&bytes)
        .into_iter()
        .filter(|e| e.line == line)
        .collect();
    let ours = ancestors();
    entries
        .iter()
        .rfind(|e| ours.contains(&e.pid))
        .or(entries.last())
        .map(|e| e.host.clone())
        .filter(|h| !h.is_empty())
}

/// This process's pid and its ancestors' (up to 64), from /proc.
fn ancestors() -> Vec<i32> {
    let mut pids = vec![std::process::id() as i32];
    while pids.len() < 64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", pids[pids.len() - 1]));
        // `pid (comm) state ppid …`: comm may hold anything but ends at the
        // last `)`.
        let ppid = stat.ok().and_then(|s| {
            let rest = &s[s.rfind(')')? + 1..];
            rest.split_whitespace().nth(1)?.parse::<i32>().ok()
        });
        match ppid {
            Some(p) if p > 0 => pids.push(p),
            _ => break,
        }
    }
    pids
}

/// The remote host of an SSH login as the environment tells it
/// (`$SSH_CONNECTION`, else `$SSH_CLIENT`: the first word of either).
pub fn env_host() -> Option<String> {
    ["SSH_CONNECTION", "SSH_CLIENT"]
        .into_iter()
        .find_map(|name| {
            let value = std::env::var(name).ok()?;
            value.split_whitespace().next().map(str::to_owned)
        })
}

/// The name of the terminal whose master is `master` (`/dev/pts/4`).
pub fn pty_name(master: BorrowedFd<'_>) -> io::Result<String> {
    let name = rustix::pty::ptsname(master, Vec::new())?;
    Ok(name.to_string_lossy().into_owned())
}

/// Runs `open` (which opens a PTY) with the file-system user id set to the
/// real user's, so that the terminal the kernel creates is the user's, as
/// the helper requires; the previous id is set back after.
pub fn as_real_user<T>(open: impl FnOnce() -> T) -> T {
    // SAFETY: getuid cannot fail; setfsuid changes only this thread's
    // file-system id, to the real id, which any process may take.
    let before = unsafe { libc::setfsuid(libc::getuid()) };
    let result = open();
    // SAFETY: as above: back to the id the thread had.
    unsafe { libc::setfsuid(before as libc::uid_t) };
    result
}

/// A registered terminal: its entry is removed when this is dropped, or
/// when the process ends in any other way.
#[derive(Debug)]
pub struct Registration {
    /// The write end of the guard's pipe.
    pipe: Option<OwnedFd>,
    guard: rustix::process::Pid,
}

impl Registration {
    /// Registers the terminal of `master` for the real user, with `host`
    /// (may be empty), through [`HELPER`]; `Ok(None)` if the helper is not
    /// installed. Call while the real user id is still the user's.
    pub fn add(master: BorrowedFd<'_>, host: &str) -> io::Result<Option<Registration>> {
        let helper = Path::new(HELPER);
        if !helper.exists() {
            return Ok(None);
        }
        // The helper rejects control characters; a host is never empty.
        let host: String = host.chars().filter(|c| !c.is_control()).collect();
        let mut add = std::process::Command::new(helper);
        add.arg("add");
        if !host.is_empty() {
            add.arg(&host);
        }
        let out = add
            .stdin(master.try_clone_to_owned()?)
            .stdout(std::process::Stdio::null())
            .env_clear()
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "{HELPER} add: {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Self::guard(master).map(Some)
    }

    /// Forks the guard that runs `del` once the pipe closes.
    fn guard(master: BorrowedFd<'_>) -> io::Result<Registration> {
        let helper = CString::new(OsStr::new(HELPER).as_bytes()).expect("no NUL");
        let (name, del) = (c"utempter", c"del");
        let argv = [name.as_ptr(), del.as_ptr(), std::ptr::null()];
        let envp = [std::ptr::null::<libc::c_char>()];
        let null = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")?;
        let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        // SAFETY: the child makes only async-signal-safe calls on data
        // prepared before the fork, and ends with _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: we are the freshly forked child; this never returns.
            unsafe {
                guard_child(
                    master.as_raw_fd(),
                    read.as_raw_fd(),
                    null.as_raw_fd(),
                    &helper,
                    &argv,
                    &envp,
                )
            }
        }
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        let guard = rustix::process::Pid::from_raw(pid).expect("the parent gets a positive pid");
        Ok(Registration {
            pipe: Some(write),
            guard,
        })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Closing the pipe tells the guard; waiting for it means the entry
        // is gone by the time the login ends.
        self.pipe.take();
        let _ = rustix::io::retry_on_intr(|| {
            rustix::process::waitpid(Some(self.guard), rustix::process::WaitOptions::empty())
        });
    }
}

/// The guard: detaches from the terminal, keeps the master on descriptor 0
/// and the pipe on 3, waits for the pipe to close, then runs the helper's
/// `del` and exits.
///
/// # Safety
///
/// Only in a freshly forked child; the pointers must be valid.
unsafe fn guard_child(
    master: libc::c_int,
    pipe: libc::c_int,
    null: libc::c_int,
    helper: &CStr,
    argv: &[*const libc::c_char; 3],
    envp: &[*const libc::c_char; 1],
) -> ! {
    crate::pty::detach_guard();
    // SAFETY: plain system calls on descriptors and integers of this
    // process, all async-signal-safe.
    unsafe {
        // Descriptors 0-2 are open (the recorder made sure), and the others
        // are above them: moving one never overwrites another still needed,
        // except the pipe when it is 3, which dup2 then leaves.
        libc::dup2(master, 0);
        libc::dup2(null, 1);
        libc::dup2(null, 2);
        if pipe != 3 {
            libc::dup2(pipe, 3);
        }
        libc::syscall(libc::SYS_close_range, 4u32, u32::MAX, 0u32);
        let mut byte = 0u8;
        loop {
            let n = libc::read(3, (&mut byte as *mut u8).cast(), 1);
            if n < 0 && *libc::__errno_location() == libc::EINTR {
                continue;
            }
            break;
        }
        libc::close(3);
        let pid = libc::fork();
        if pid == 0 {
            libc::execve(helper.as_ptr(), argv.as_ptr(), envp.as_ptr());
            libc::_exit(127);
        }
        if pid > 0 {
            let mut status = 0;
            while libc::waitpid(pid, &mut status, 0) < 0 && *libc::__errno_location() == libc::EINTR
            {
            }
        }
        libc::_exit(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_lead_to_init() {
        let pids = ancestors();
        assert_eq!(pids[0], std::process::id() as i32);
        assert!(pids.len() >= 2, "{pids:?}");
        assert!(pids.windows(2).all(|w| w[0] != w[1]), "{pids:?}");
    }

    fn record(kind: i16, pid: i32, line: &str, user: &str, host: &str) -> Vec<u8> {
        let mut r = vec![0u8; RECORD];
        r[0..2].copy_from_slice(&kind.to_ne_bytes());
        r[4..8].copy_from_slice(&pid.to_ne_bytes());
        r[LINE.start..LINE.start + line.len()].copy_from_slice(line.as_bytes());
        r[USER.start..USER.start + user.len()].copy_from_slice(user.as_bytes());
        r[HOST.start..HOST.start + host.len()].copy_from_slice(host.as_bytes());
        r
    }

    #[test]
    fn reads_logins_and_skips_other_records() {
        let mut file = record(USER_PROCESS, 42, "pts/1", "ann", "192.0.2.7");
        file.extend(record(8, 43, "pts/2", "", ""));
        file.extend(record(USER_PROCESS, 44, "pts/3", "bob", ""));
        file.extend([1, 2, 3]); // a torn record at the end
        let entries = logins(&file);
        assert_eq!(
            entries,
            vec![
                Entry {
                    pid: 42,
                    line: "pts/1".into(),
                    user: "ann".into(),
                    host: "192.0.2.7".into()
                },
                Entry {
                    pid: 44,
                    line: "pts/3".into(),
                    user: "bob".into(),
                    host: String::new()
                },
            ]
        );
    }

    #[test]
    fn the_struct_size_is_the_c_librarys() {
        assert_eq!(std::mem::size_of::<libc::utmpx>(), RECORD);
    }
}
