//! Who and where is being recorded: the values every message repeats.
//!
//! As tlog fills them: host is the FQDN (the host name resolved with
//! `AI_CANONNAME`, or the plain host name if that takes longer than
//! [`FQDN_WAIT`]), user the name of the real user id, term `$TERM`,
//! session the audit session id from `/proc/self/sessionid`, and the
//! recording id `<boot id>-<pid in hex>-<process start time in hex>`, unique
//! on a host across reboots, followed by `-<64 random bits in hex>` from the
//! kernel's generator: boot id, pid and start time are readable by any
//! local user in /proc, and an id they can predict is an id they can forge
//! entries into. tlog-play and Cockpit treat the id as an opaque string
//! (a journal match on TLOG_REC), so the longer id plays everywhere.

use std::ffi::{CStr, CString};
use std::io;

use termtape_format::{Header, Origin};

/// The audit session id of a process that has none.
pub const UNSET_SESSION: u32 = termtape_format::UNSET_ID;

/// Why the recording's identity cannot be found out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file of the kernel's could not be read.
    #[error("reading {what}")]
    Read {
        /// What was read: `/proc/self/stat`, the boot id…
        what: &'static str,
        /// Why it could not be.
        #[source]
        source: io::Error,
    },
    /// `/proc/self/sessionid` holds something else than a number.
    #[error("/proc/self/sessionid holds {0:?}")]
    SessionId(String),
    /// `/proc/self/stat` has no start time where it should.
    #[error("no start time in /proc/self/stat")]
    StartTime,
    /// The kernel's random generator failed.
    #[error("getrandom for the recording id")]
    Random(#[source] rustix::io::Errno),
    /// The host has no name the C library gives.
    #[error("gethostname")]
    HostName(#[source] io::Error),
    /// The thread that looks up the host's full name did not start.
    #[error("starting the host name lookup")]
    Lookup(#[source] io::Error),
}

/// The recording's identity, as found on this host for this process.
pub fn current() -> Result<Header, Error> {
    Ok(Header {
        host: fqdn()?,
        rec: recording_id()?,
        user: user_name()?,
        term: std::env::var("TERM").unwrap_or_default(),
        session: audit_session()?,
    })
}

/// Where the session recording `command` comes from: the terminal on
/// standard input (the login terminal) and the login's remote host, from
/// utmp's entry for that terminal if it names one (written by sshd or
/// login, which the user cannot write), else from `$SSH_CONNECTION` or
/// `$SSH_CLIENT` (which the user can set). The recording's own terminal is
/// added when it is opened. The login uid and the boot id name the audit
/// session beside tlog's `session` field (see [`termtape_format::Origin`]);
/// the recorded command inherits both from the recorder, which never
/// changes them.
pub fn origin(command: &[std::ffi::OsString]) -> Origin {
    let stdin = std::io::stdin();
    let tty = crate::pty::is_terminal(std::os::fd::AsFd::as_fd(&stdin))
        .then(|| std::fs::read_link("/proc/self/fd/0").ok())
        .flatten()
        .map(|p| p.to_string_lossy().into_owned());
    let (remote, remote_from) = match tty.as_deref().and_then(crate::utmp::login_host) {
        Some(host) => (Some(host), Some("utmp")),
        None => match crate::utmp::env_host() {
            Some(host) => (Some(host), Some("env")),
            None => (None, None),
        },
    };
    Origin {
        tty,
        pty: None,
        remote,
        remote_from: remote_from.map(str::to_owned),
        command: Some(
            command
                .iter()
                .map(|w| w.to_string_lossy().into_owned())
                .collect(),
        ),
        loginuid: login_uid(),
        boot_id: boot_id(),
    }
}

/// The login uid (`/proc/self/loginuid`), [`UNSET_SESSION`]'s value if the
/// login set none; `None` if the kernel keeps none (no audit support).
pub fn login_uid() -> Option<u32> {
    std::fs::read_to_string("/proc/self/loginuid")
        .ok()
        .and_then(|t| t.trim().parse().ok())
}

/// The kernel's boot id, as it writes it (`/proc/sys/kernel/random/boot_id`).
pub fn boot_id() -> Option<String> {
    std::fs::read_to_string(BOOT_ID)
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// Where the kernel gives its boot id.
const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

/// The audit session id, or [`UNSET_SESSION`] if the kernel keeps none.
pub fn audit_session() -> Result<u32, Error> {
    match std::fs::read_to_string("/proc/self/sessionid") {
        Ok(text) => text.trim().parse().map_err(|_| Error::SessionId(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(UNSET_SESSION),
        Err(source) => Err(Error::Read {
            what: "/proc/self/sessionid",
            source,
        }),
    }
}

/// The recording id: tlog's (boot id, hex digits only; pid and the
/// process' start time in clock ticks since boot, both in hex) and a random
/// part no other user can guess.
pub fn recording_id() -> Result<String, Error> {
    let boot = std::fs::read_to_string(BOOT_ID).map_err(|source| Error::Read {
        what: "the boot id",
        source,
    })?;
    let boot: String = boot
        .trim()
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    let stat = std::fs::read_to_string("/proc/self/stat").map_err(|source| Error::Read {
        what: "/proc/self/stat",
        source,
    })?;
    // The command name (field 2) may hold spaces and parentheses: count
    // fields from the last ')'. The start time is field 22.
    let start_time = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().nth(19))
        .and_then(|f| f.parse::<u64>().ok())
        .ok_or(Error::StartTime)?;
    Ok(format!(
        "{boot}-{:x}-{start_time:x}-{:016x}",
        std::process::id(),
        random_u64()?
    ))
}

/// 64 bits from the kernel's random generator (`getrandom(2)`), which
/// blocks only until the generator is seeded at boot.
fn random_u64() -> Result<u64, Error> {
    let mut bytes = [0u8; 8];
    random_fill(&mut bytes).map_err(Error::Random)?;
    Ok(u64::from_ne_bytes(bytes))
}

/// Fills `bytes` from the kernel's random generator, as [`random_u64`].
pub(crate) fn random_fill(bytes: &mut [u8]) -> Result<(), rustix::io::Errno> {
    let mut filled = 0;
    while filled < bytes.len() {
        let flags = rustix::rand::GetRandomFlags::empty();
        match rustix::rand::getrandom(&mut bytes[filled..], flags) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// How long a recorder waits for the host's fully qualified name. A login
/// shell must not make logins wait on the network: a resolver that does
/// not answer takes the C library 5 s per try.
pub const FQDN_WAIT: std::time::Duration = std::time::Duration::from_millis(250);

/// The fully qualified name of this host, or its plain name if it does not
/// resolve (as on a machine without DNS) or not within [`FQDN_WAIT`].
pub fn fqdn() -> Result<String, Error> {
    let name = host_name()?;
    let (tx, rx) = std::sync::mpsc::channel();
    let lookup = name.clone();
    // A lookup past the wait is left to finish on its own: the C library
    // offers no way to cancel it, and it holds nothing of the recorder's.
    std::thread::Builder::new()
        .name("fqdn".into())
        .spawn(move || {
            let _ = tx.send(canonical_name(&lookup));
        })
        .map_err(Error::Lookup)?;
    Ok(rx.recv_timeout(FQDN_WAIT).ok().flatten().unwrap_or(name))
}

fn host_name() -> Result<String, Error> {
    let mut buf = [0u8; 256];
    // SAFETY: the pointer and length describe `buf`, which outlives the call.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return Err(Error::HostName(io::Error::last_os_error()));
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..len]).into_owned())
}

fn canonical_name(name: &str) -> Option<String> {
    let c_name = CString::new(name).ok()?;
    // SAFETY: addrinfo is a plain C struct for which all-zero is a valid
    // "no hints" value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_flags = libc::AI_CANONNAME;
    let mut info: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: `c_name` is NUL-terminated, `hints` is initialised, and
    // `info` receives a list that we free below.
    let rc = unsafe { libc::getaddrinfo(c_name.as_ptr(), std::ptr::null(), &hints, &mut info) };
    if rc != 0 || info.is_null() {
        return None;
    }
    // SAFETY: getaddrinfo succeeded, so `info` points to a valid addrinfo
    // whose ai_canonname, if not null, is a NUL-terminated string.
    let canon = unsafe {
        let canon = (*info).ai_canonname;
        let name = (!canon.is_null()).then(|| CStr::from_ptr(canon).to_string_lossy().into_owned());
        libc::freeaddrinfo(info);
        name
    };
    canon.filter(|c| !c.is_empty())
}

/// The name of the real user, through the C library (so NSS users such as
/// LDAP or SSSD ones are found), or the uid in decimal if it has none.
pub fn user_name() -> Result<String, Error> {
    let uid = nix::unistd::Uid::current();
    Ok(match nix::unistd::User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => uid.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_id_has_tlogs_shape_and_a_random_part() {
        let id = recording_id().expect("procfs");
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(parts.len(), 4, "{id}");
        assert_eq!(parts[3].len(), 16, "{id}");
        // The same process, the same second: only the random part differs.
        let again = recording_id().expect("procfs");
        assert_ne!(id, again);
        assert_eq!(id[..id.len() - 16], again[..again.len() - 16]);
        assert_eq!(parts[0].len(), 32, "{id}");
        assert_eq!(parts[1], format!("{:x}", std::process::id()));
        assert!(
            parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_hexdigit()))
        );
    }

    #[test]
    fn identity_is_filled() {
        let h = current().expect("identity");
        assert!(!h.host.is_empty());
        assert!(!h.user.is_empty());
        assert!(h.session >= 1);
    }
}
