//! The login terminal, taken away from the recorded user for the session.
//!
//! `login` and `sshd` make the user the owner of the terminal they log in on
//! (`/dev/pts/1`, mode 0620). `termtape-session` records what passes through
//! a new PTY it puts between that terminal and the user's shell; a user who
//! can still open the login terminal (`exec >/dev/pts/1`) would write to it,
//! and read from it, around the recorder. So, before the shell starts, the
//! session:
//!
//! 1. makes the recorder's account the owner of the login terminal, mode
//!    0600 (`CAP_CHOWN`), so the user can no longer open it;
//! 2. hangs it up (`vhangup(2)`, `CAP_SYS_TTY_CONFIG`) when it is the
//!    session's controlling terminal, which revokes every descriptor
//!    opened on it before (a process of the user's waiting for the terminal
//!    to appear), and opens it again for the recorder alone, as `login`
//!    does;
//! 3. leaves a small guard process holding `CAP_CHOWN` only, which gives
//!    the terminal back (owner, group, mode) when the recorder ends, however
//!    it ends (its pipe closes even on `SIGKILL`);
//! 4. drops every capability from the recorder before anything else runs.
//!
//! The two capabilities come from the executable's file capabilities,
//! permitted but not effective (`termtape-session --install` sets them): the
//! process raises them only for these calls. The guard runs with all its ids
//! the recorder's, so the user cannot signal or trace it, and it does nothing
//! but wait on its pipe.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use rustix::fs::{Gid, Mode, Uid};
use rustix::thread::{CapabilitySet, CapabilitySets};

/// The capabilities the session needs, and only for the steps above.
pub const NEEDED: CapabilitySet = CapabilitySet::CHOWN.union(CapabilitySet::SYS_TTY_CONFIG);

/// The `security.capability` extended attribute that gives an executable
/// [`NEEDED`] in its permitted set, not effective (VFS_CAP_REVISION_2: a
/// little-endian header word, then permitted and inheritable words for
/// capabilities 0–31 and 32–63).
pub fn file_capability_xattr() -> [u8; 20] {
    const VFS_CAP_REVISION_2: u32 = 0x0200_0000;
    let permitted = NEEDED.bits();
    let mut value = [0u8; 20];
    value[0..4].copy_from_slice(&VFS_CAP_REVISION_2.to_le_bytes());
    value[4..8].copy_from_slice(&(permitted as u32).to_le_bytes());
    value[12..16].copy_from_slice(&((permitted >> 32) as u32).to_le_bytes());
    value
}

/// Gives an executable the file capabilities [`NEEDED`] (after any chown,
/// which clears them).
pub fn set_file_capabilities(file: BorrowedFd<'_>) -> io::Result<()> {
    rustix::fs::fsetxattr(
        file,
        "security.capability",
        &file_capability_xattr(),
        rustix::fs::XattrFlags::empty(),
    )?;
    Ok(())
}

/// Drops every capability of this process (all three sets). A process
/// without capabilities is left as it is.
pub fn drop_capabilities() -> io::Result<()> {
    let now = rustix::thread::capabilities(None)?;
    if now.permitted.is_empty() && now.effective.is_empty() && now.inheritable.is_empty() {
        return Ok(());
    }
    rustix::thread::set_capabilities(
        None,
        CapabilitySets {
            effective: CapabilitySet::empty(),
            permitted: CapabilitySet::empty(),
            inheritable: CapabilitySet::empty(),
        },
    )?;
    Ok(())
}

/// Makes `caps` effective (they must be permitted).
fn raise(caps: CapabilitySet) -> io::Result<()> {
    let mut sets = rustix::thread::capabilities(None)?;
    if !sets.permitted.contains(caps) {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "the executable lacks the file capabilities {} (run termtape-session --install as root)",
                names(caps.difference(sets.permitted))
            ),
        ));
    }
    sets.effective |= caps;
    rustix::thread::set_capabilities(None, sets)?;
    Ok(())
}

fn names(caps: CapabilitySet) -> String {
    let mut out = Vec::new();
    if caps.contains(CapabilitySet::CHOWN) {
        out.push("cap_chown");
    }
    if caps.contains(CapabilitySet::SYS_TTY_CONFIG) {
        out.push("cap_sys_tty_config");
    }
    out.join(",")
}

/// A step of [`take`] that failed on the login terminal, with its cause.
#[derive(Debug, thiserror::Error)]
#[error("{what} the login terminal {path}")]
pub struct TerminalError {
    /// The step: taking, closing, revoking, reopening, guarding.
    pub what: &'static str,
    /// The terminal's path.
    pub path: String,
    /// Why it failed.
    #[source]
    pub source: io::Error,
}

/// What was done to the login terminal: what [`take`] found and changed.
#[derive(Debug)]
pub struct Taken {
    /// The terminal's path, e.g. `/dev/pts/1`.
    pub path: String,
    /// Whether descriptors opened before were revoked (the terminal was the
    /// session's controlling terminal).
    pub revoked: bool,
    /// The guard's end of the pipe: it gives the terminal back once this
    /// (and every copy of it) is closed, i.e. when the recorder ends.
    _guard: OwnedFd,
}

/// The standard descriptors (0, 1, 2) open on `dev`.
fn stdio_on(dev: u64) -> Vec<RawFd> {
    (0..3)
        .filter(|&fd| {
            // SAFETY: 0, 1 and 2 are open (the session checks it first);
            // the borrow lasts only for this fstat.
            let fd = unsafe { BorrowedFd::borrow_raw(fd) };
            rustix::fs::fstat(fd).is_ok_and(|st| is_char_device(st.st_mode) && st.st_rdev == dev)
        })
        .collect()
}

fn is_char_device(mode: u32) -> bool {
    mode & libc::S_IFMT == libc::S_IFCHR
}

/// Takes the login terminal from `user` (see the module documentation):
/// the first standard descriptor that is a terminal owned by `user` is
/// given to `recorder` with mode 0600, hung up and reopened if it is the
/// controlling terminal, and a guard is left to give it back.
///
/// Returns `None` when no standard descriptor is a terminal of `user`'s
/// (no terminal, or one owned by someone else, such as the administrator
/// who ran `su - user`: the user cannot open that one anyway).
///
/// Every capability of this process is dropped before this returns,
/// whatever it returns.
pub fn take(user: Uid, recorder: Uid) -> io::Result<Option<Taken>> {
    let result = take_with_capabilities(user, recorder);
    let dropped = drop_capabilities();
    let taken = result?;
    dropped?;
    Ok(taken)
}

fn take_with_capabilities(user: Uid, recorder: Uid) -> io::Result<Option<Taken>> {
    let Some((fd, st)) = (0..3).find_map(|fd| {
        // SAFETY: as in `stdio_on`.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let st = rustix::fs::fstat(fd).ok()?;
        (is_char_device(st.st_mode) && rustix::termios::isatty(fd) && st.st_uid == user.as_raw())
            .then_some((fd, st))
    }) else {
        return Ok(None);
    };
    let path = rustix::termios::ttyname(fd, Vec::new())?;
    let display = path.to_string_lossy().into_owned();
    let context = |what: &'static str, source: io::Error| {
        io::Error::new(
            source.kind(),
            TerminalError {
                what,
                path: display.clone(),
                source,
            },
        )
    };
    let original = Original {
        owner: Uid::from_raw(st.st_uid),
        group: Gid::from_raw(st.st_gid),
        mode: Mode::from_raw_mode(st.st_mode & 0o7777),
    };

    raise(NEEDED)?;
    rustix::fs::fchown(fd, Some(recorder), None).map_err(|e| context("taking", e.into()))?;
    rustix::fs::fchmod(fd, Mode::from_raw_mode(0o600)).map_err(|e| context("closing", e.into()))?;

    let controlling = rustix::termios::tcgetsid(fd).ok() == Some(rustix::process::getpid())
        && rustix::process::getsid(None).ok() == Some(rustix::process::getpid());
    if controlling {
        revoke_and_reopen(st.st_rdev, &path).map_err(|e| context("revoking", e))?;
    }
    let on_tty = *stdio_on(st.st_rdev)
        .first()
        .ok_or_else(|| context("reopening", io::Error::other("no descriptor is on it")))?;
    // SAFETY: as in `stdio_on`; the terminal is open on it again.
    let fd = unsafe { BorrowedFd::borrow_raw(on_tty) };
    let guard = spawn_guard(fd, &original).map_err(|e| context("guarding", e))?;
    Ok(Some(Taken {
        path: display,
        revoked: controlling,
        _guard: guard,
    }))
}

/// The terminal's owner, group and mode as the login program left them.
struct Original {
    owner: Uid,
    group: Gid,
    mode: Mode,
}

/// Hangs up the controlling terminal, so that no descriptor opened on it
/// before works any more, and opens it again onto the standard
/// descriptors that were on it (it becomes this session leader's
/// controlling terminal again).
fn revoke_and_reopen(dev: u64, path: &CString) -> io::Result<()> {
    let on_tty = stdio_on(dev);
    // SAFETY: SIG_IGN for SIGHUP around the hangup, which signals the
    // session leader (this process); the previous disposition is restored.
    let previous = unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
    // SAFETY: vhangup takes no arguments; it needs CAP_SYS_TTY_CONFIG,
    // raised by the caller.
    let hung_up = unsafe { libc::vhangup() };
    let hangup_error = io::Error::last_os_error();
    let reopened = if hung_up == 0 {
        rustix::fs::open(
            path.as_c_str(),
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(io::Error::from)
    } else {
        Err(hangup_error)
    };
    // SAFETY: restores the disposition saved above.
    unsafe { libc::signal(libc::SIGHUP, previous) };
    let fresh = reopened?;
    for target in on_tty {
        // SAFETY: dup2 onto a standard descriptor replaces the revoked one;
        // both descriptors are valid.
        if unsafe { libc::dup2(fresh.as_raw_fd(), target) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Starts the guard: a grandchild (so the recorder never waits for it)
/// that holds `tty` and `CAP_CHOWN`, waits until the returned pipe end is
/// closed, then gives the terminal back.
fn spawn_guard(tty: BorrowedFd<'_>, original: &Original) -> io::Result<OwnedFd> {
    let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let tty_raw = tty.as_raw_fd();
    let read_raw = read.as_raw_fd();
    // Prepared before the fork: the child only makes system calls.
    let (owner, group, mode) = (original.owner, original.group, original.mode);
    // SAFETY: this process is single-threaded here (the session takes the
    // terminal before the recorder starts any thread); the child makes only
    // async-signal-safe system calls and leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid == -1 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: in the forked child, as above.
        unsafe { guard_child(tty_raw, read_raw, owner, group, mode) }
    }
    drop(read);
    // The child just forked exits at once after forking the guard.
    let pid = rustix::process::Pid::from_raw(pid).expect("fork returned a positive pid");
    let status = rustix::io::retry_on_intr(|| {
        rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty())
    })?;
    if status.and_then(|(_, status)| status.exit_status()) != Some(0) {
        return Err(io::Error::other("the terminal's guard did not start"));
    }
    Ok(write)
}

/// The forked child's side of [`spawn_guard`].
///
/// # Safety
///
/// Only in a child just forked from a single-threaded process.
unsafe fn guard_child(tty: RawFd, pipe: RawFd, owner: Uid, group: Gid, mode: Mode) -> ! {
    // SAFETY: system calls on integers and descriptors this child owns.
    unsafe {
        match libc::fork() {
            -1 => libc::_exit(1),
            0 => {}
            _ => libc::_exit(0),
        }
        // Out of the user's session and process group, immune to the
        // terminal's hangup and to job-control signals.
        crate::pty::detach_guard();
        // All ids the recorder's, so the user can neither signal nor trace
        // it; neither id is 0 here, so the capabilities stay.
        let (uid, gid) = (libc::geteuid(), libc::getegid());
        if libc::setresgid(gid, gid, gid) != 0 || libc::setresuid(uid, uid, uid) != 0 {
            libc::_exit(1);
        }
        // Only CAP_CHOWN stays, and not effective until it is used.
        let only_chown = |effective| CapabilitySets {
            effective,
            permitted: CapabilitySet::CHOWN,
            inheritable: CapabilitySet::empty(),
        };
        if rustix::thread::set_capabilities(None, only_chown(CapabilitySet::empty())).is_err() {
            libc::_exit(1);
        }
        // Every other descriptor closed: the guard holds the terminal and
        // its pipe only.
        for fd in 0..1024 {
            if fd != tty && fd != pipe {
                libc::close(fd);
            }
        }
        let mut byte = 0u8;
        loop {
            let n = libc::read(pipe, (&raw mut byte).cast(), 1);
            if n == 0 || (n < 0 && *libc::__errno_location() != libc::EINTR) {
                break;
            }
        }
        let _ = rustix::thread::set_capabilities(None, only_chown(CapabilitySet::CHOWN));
        // The mode first: the file is still the recorder's, so it needs no
        // capability; then the owner the login program gave it.
        libc::fchmod(tty, mode.as_raw_mode());
        libc::fchown(tty, owner.as_raw(), group.as_raw());
        libc::_exit(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_capability_is_chown_and_tty_config_permitted_only() {
        let value = file_capability_xattr();
        let word = |i: usize| u32::from_le_bytes(value[i..i + 4].try_into().expect("4 bytes"));
        // Revision 2, and no effective flag (bit 0 of the header word).
        assert_eq!(word(0), 0x0200_0000);
        // CAP_CHOWN is 0, CAP_SYS_TTY_CONFIG is 26.
        assert_eq!(word(4), (1 << 0) | (1 << 26));
        assert_eq!(word(8), 0, "nothing inheritable");
        assert_eq!(word(12), 0, "nothing above capability 31");
        assert_eq!(word(16), 0);
    }

    #[test]
    fn a_process_without_a_terminal_of_the_user_takes_nothing() {
        // The test runner's descriptors are not a terminal owned by uid
        // 4242, so nothing is taken and nothing is changed.
        let taken = take(Uid::from_raw(4242), Uid::from_raw(4243));
        assert!(matches!(taken, Ok(None)), "{taken:?}");
    }
}
