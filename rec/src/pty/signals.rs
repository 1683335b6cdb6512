//! Signals: the relay's, delivered as bytes on a self-pipe, and the
//! detaching of the guard processes the login terminal and utmp leave.
//!
//! Signal handlers, dispositions and masks go through `libc`: rustix
//! offers them only to programs that bring their own runtime
//! (`rustix::runtime`), not to programs running on std.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};

use rustix::pipe::PipeFlags;

use super::fd::above_stdio;

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
    // not see it change. Raw libc: the descriptors are published as
    // integers, and a handler may not take the borrows rustix needs.
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
        let (read, write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
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
                let flags = if sig == libc::SIGCHLD {
                    libc::SA_NOCLDSTOP
                } else {
                    0
                };
                // SAFETY: sigaction is plain data, valid all-zero; sa_mask is
                // emptied by sigemptyset; the handler installed is
                // async-signal-safe (`on_signal`) or SIG_IGN.
                let (ret, old) = unsafe {
                    let mut new: libc::sigaction = std::mem::zeroed();
                    let mut old: libc::sigaction = std::mem::zeroed();
                    new.sa_sigaction = handler;
                    new.sa_flags = flags;
                    libc::sigemptyset(&mut new.sa_mask);
                    (libc::sigaction(sig, &new, &mut old), old)
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
            match rustix::io::read(&self.read, &mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    for &b in &buf[..n] {
                        seen.insert(libc::c_int::from(b));
                    }
                }
                Err(rustix::io::Errno::AGAIN) => return Ok(()),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
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

/// Detaches a guard process just forked (the login terminal's, the utmp
/// entry's): a session of its own, out of the user's process group, so no
/// hangup of the terminal and no job-control key reaches it; the signals
/// those send, and SIGPIPE, ignored; no signal blocked.
///
/// Only for a process that does nothing but wait for its pipe: the
/// dispositions it sets survive exec.
pub(crate) fn detach_guard() {
    // Fails only for a process group leader, which a child just forked
    // is not.
    let _ = rustix::process::setsid();
    // SAFETY: SIG_IGN installs no handler, and signal(2) and
    // pthread_sigmask are async-signal-safe; sigset_t is plain data, valid
    // all-zero, emptied by sigemptyset and only read by pthread_sigmask.
    unsafe {
        for sig in [
            libc::SIGHUP,
            libc::SIGINT,
            libc::SIGQUIT,
            libc::SIGTERM,
            libc::SIGTSTP,
            libc::SIGTTIN,
            libc::SIGTTOU,
            libc::SIGPIPE,
        ] {
            libc::signal(sig, libc::SIG_IGN);
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::pthread_sigmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
