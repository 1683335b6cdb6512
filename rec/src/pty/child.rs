//! The recorded command's process once started, and the ids it and the
//! recorder run with.

use std::io;
use std::os::fd::BorrowedFd;

use rustix::process::{Pid, Signal, WaitOptions};

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
    pid: Pid,
    status: Option<ExitStatus>,
}

impl Child {
    /// The child just forked as `pid` (positive).
    pub(super) fn new(pid: libc::pid_t) -> io::Result<Child> {
        let pid = Pid::from_raw(pid).ok_or_else(|| io::Error::other("fork returned no pid"))?;
        Ok(Child { pid, status: None })
    }

    /// Its process id (also its session and process group id).
    pub fn pid(&self) -> libc::pid_t {
        self.pid.as_raw_nonzero().get()
    }

    /// Reaps the child if it has ended, without waiting. Only this child is
    /// waited for, so other children of the process are left alone.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.wait_with(WaitOptions::NOHANG)
    }

    /// Waits for the child to end.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        loop {
            match self.wait_with(WaitOptions::empty()) {
                Ok(Some(status)) => return Ok(status),
                Ok(None) => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn wait_with(&mut self, options: WaitOptions) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let Some((_, raw)) = rustix::process::waitpid(Some(self.pid), options)? else {
            return Ok(None);
        };
        let status = match raw.terminating_signal() {
            Some(sig) => ExitStatus::Signaled(sig),
            None => ExitStatus::Exited(libc::WEXITSTATUS(raw.as_raw())),
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
        // On Linux a PTY master reports the slave's foreground process group.
        let foreground = rustix::termios::tcgetpgrp(master).ok();
        for sig in [Signal::HUP, Signal::CONT] {
            // The child is not reaped, so its pid (= its group id) is still
            // ours; a group already gone is no error worth reporting.
            let _ = rustix::process::kill_process_group(self.pid, sig);
            if let Some(foreground) = foreground.filter(|&g| g != self.pid) {
                let _ = rustix::process::kill_process_group(foreground, sig);
            }
        }
    }

    /// Sends `signal` to the child process.
    pub fn kill(&self, signal: libc::c_int) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        let signal = Signal::from_named_raw(signal)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        rustix::process::kill_process(self.pid, signal)?;
        Ok(())
    }
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
        Credentials {
            uid: rustix::process::getuid().as_raw(),
            gid: rustix::process::getgid().as_raw(),
        }
    }

    /// The effective ids of this process (those of a setuid/setgid owner).
    pub fn effective() -> Credentials {
        Credentials {
            uid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getegid().as_raw(),
        }
    }
}

/// Sets all of this process' user and group ids (real, effective, saved)
/// to `to`'s: for a setuid/setgid program that hands over to the user.
pub fn become_user(to: Credentials) -> io::Result<()> {
    set_all_ids(to)
}

/// Sets all of this process' user and group ids (real, effective, saved) to
/// its effective ones, giving up the real ids of the user who started it:
/// after this the user can neither signal nor trace the process.
pub fn settle_ids() -> io::Result<()> {
    set_all_ids(Credentials::effective())
}

/// Sets the real, effective and saved group, then user, ids of every
/// thread of the process to `to`'s.
fn set_all_ids(to: Credentials) -> io::Result<()> {
    let Credentials { uid, gid } = to;
    // SAFETY: system calls on integer arguments. Not rustix: it offers only
    // the per-thread system calls (`set_thread_res_uid`), and a thread left
    // with the old ids would keep the privilege this gives up; the C
    // library applies the change to every thread.
    let failed =
        unsafe { libc::setresgid(gid, gid, gid) != 0 || libc::setresuid(uid, uid, uid) != 0 };
    if failed {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_codes_follow_shells() {
        assert_eq!(ExitStatus::Exited(3).code(), 3);
        assert_eq!(ExitStatus::Signaled(libc::SIGKILL).code(), 137);
    }
}
