//! What holds a recording's journal entries until journald has taken them,
//! so that nothing shown is lost to a journald that is busy, restarting or
//! gone.
//!
//! Every entry is queued in memory and sent at once; an entry journald does
//! not take (its queue is full, or it is not there) stays queued, in order,
//! and is sent again before anything newer. An interrupted send is retried
//! on the spot: signals (a storm of SIGWINCH) never end a recording.
//!
//! Bounds: while entries wait, output goes on being shown until the queue
//! holds [`Spool::max_bytes`] or the oldest has waited [`Spool::max_time`].
//! Then the recorder stops relaying output (the relay is blocked here) and
//! waits for journald until the oldest entry has waited `max_time`. If it
//! does not come back, what the queue holds is written to a spool file in
//! [`Spool::dir`] (mode 0600, in a directory of mode 0700), and, with
//! [`OnFailure::End`], the session ends; with [`OnFailure::Continue`] it goes
//! on, recorded into the spool file, and a warning goes to syslog.
//!
//! Spool files are delivered to the journal by the next recorder that sends
//! an entry successfully with its own ids settled (so that journald stamps
//! them with the recorder account's `_UID`), or by [`deliver`].

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What the recorder does when its writer is missing at the start, or stops
/// taking messages for longer than the spool's bounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnFailure {
    /// Refuse to start without a writer; end the session when the spool's
    /// bounds are reached (what is held goes to a spool file first).
    #[default]
    End,
    /// For sites that prefer availability: start unrecorded (said on
    /// standard error and to syslog), and past the bounds, go on recording
    /// into a spool file.
    Continue,
}

/// Where entries wait, and for how long: the `[writer]` keys `on_failure`,
/// `spool_dir`, `spool_bytes` and `spool_secs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spool {
    /// What to do when journald is missing or stays away.
    pub on_failure: OnFailure,
    /// The directory of spool files.
    pub dir: PathBuf,
    /// The most bytes of entries held in memory while output is shown:
    /// what the recorder's memory grows by when journald falls behind
    /// (8 MiB by default, on about 4.5 MiB of its own).
    pub max_bytes: u64,
    /// The longest an entry waits for journald.
    pub max_time: Duration,
}

/// The default spool directory.
pub const DEFAULT_SPOOL_DIR: &str = "/var/lib/termtape/spool";

impl Default for Spool {
    fn default() -> Self {
        Spool {
            on_failure: OnFailure::End,
            dir: PathBuf::from(DEFAULT_SPOOL_DIR),
            max_bytes: 8 << 20,
            max_time: Duration::from_secs(30),
        }
    }
}

/// The socket to journald and the entries waiting for it.
#[derive(Debug)]
pub(crate) struct Link {
    path: PathBuf,
    socket: Option<UnixDatagram>,
    queue: VecDeque<Vec<u8>>,
    queued: u64,
    /// Since when the oldest queued entry has waited.
    stuck_since: Option<Instant>,
    /// Past the bounds with [`OnFailure::Continue`]: the spool file that
    /// entries now go to.
    file: Option<(PathBuf, File)>,
    rec: String,
    /// Spool files of earlier recorders were looked for.
    delivered: bool,
    /// Why journald last refused an entry.
    last_error: Option<String>,
    /// The spool directory, for delivering earlier recorders' files.
    dir: PathBuf,
    /// Entries sent that journald may not have read yet: a datagram in a
    /// journald's socket queue is lost if it is killed, so these are sent
    /// again to the next journald. The journal reader drops the duplicates
    /// this can make.
    unconfirmed: VecDeque<Vec<u8>>,
    /// Buffers of entries journald has read, for the next entries (one
    /// allocation less for each).
    spare: Vec<Vec<u8>>,
    /// Past the bounds with [`OnFailure::End`] after the entry just pushed
    /// was saved: why the session ends, for the next call (the entry was
    /// stored, so its push succeeded).
    ending: Option<io::Error>,
}

/// Entries sent and kept until journald is known to have read them, at
/// most: past this many, what journald has read is measured before each
/// send (see [`Link::confirm`]).
const CONFIRM_AFTER: usize = 32;

/// Buffers kept for entries to come, at most.
const SPARE_BUFFERS: usize = 4;

/// What became of one send.
enum Sent {
    Done,
    /// journald's queue is full.
    Busy,
    /// Nobody listens on the socket (journald stopped or restarting).
    Down(io::Error),
}

impl Link {
    /// Connects to journald's socket at `path`, for recording `rec`.
    pub(crate) fn open(path: &Path, rec: &str, spool: &Spool) -> io::Result<Link> {
        let socket = connect(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("no journald to record to at {}: {e}", path.display()),
            )
        })?;
        Ok(Link {
            path: path.to_owned(),
            socket: Some(socket),
            queue: VecDeque::new(),
            queued: 0,
            stuck_since: None,
            file: None,
            rec: rec.to_owned(),
            delivered: false,
            last_error: None,
            dir: spool.dir.clone(),
            unconfirmed: VecDeque::new(),
            spare: Vec::new(),
            ending: None,
        })
    }

    /// An empty buffer for the next entry.
    pub(crate) fn buffer(&mut self) -> Vec<u8> {
        self.spare.pop().unwrap_or_default()
    }

    /// Queues an entry and sends what journald takes.
    pub(crate) fn push(&mut self, spool: &Spool, entry: Vec<u8>) -> io::Result<()> {
        if let Some(ending) = self.ending.take() {
            return Err(ending);
        }
        if let Some((_, file)) = &mut self.file {
            return append_entry(file, &entry);
        }
        self.queued += entry.len() as u64;
        self.queue.push_back(entry);
        self.drain(None)?;
        self.ending = self.enforce(spool, 0)?;
        Ok(())
    }

    /// Makes sure that `bytes` more can be held before they are shown.
    pub(crate) fn reserve(&mut self, spool: &Spool, bytes: u64) -> io::Result<()> {
        if let Some(ending) = self.ending.take() {
            return Err(ending);
        }
        if self.file.is_some() {
            return Ok(());
        }
        if !self.queue.is_empty() {
            self.drain(None)?;
        }
        match self.enforce(spool, bytes)? {
            Some(ending) => Err(ending),
            None => Ok(()),
        }
    }

    /// Sends what is left, waiting for journald within the bounds; what it
    /// does not take goes to a spool file.
    pub(crate) fn finish(&mut self, spool: &Spool) -> io::Result<()> {
        if let Some((path, file)) = &mut self.file {
            file.sync_all()?;
            log_warning(&format!(
                "recording {}: journald stayed away; the rest of the session is in {}",
                self.rec,
                path.display()
            ));
            return Ok(());
        }
        // At the end, wait at least a moment: a journald restarting needs
        // a second or so.
        let deadline = self
            .stuck_since
            .map_or_else(Instant::now, |s| s + spool.max_time)
            .max(Instant::now() + Duration::from_secs(2));
        self.drain(Some(deadline))?;
        if self.queue.is_empty() {
            return Ok(());
        }
        let path = self.save(spool)?;
        Err(io::Error::other(format!(
            "journald did not take the end of the recording; it is saved in {} and \
             delivered by the next recorder start",
            path.display()
        )))
    }

    /// Past a bound, waits for journald (nothing more is shown meanwhile),
    /// then saves the queue and goes on into the file, or says why the
    /// session ends (`Some`: what was queued is saved).
    fn enforce(&mut self, spool: &Spool, extra: u64) -> io::Result<Option<io::Error>> {
        let Some(since) = self.stuck_since else {
            return Ok(None);
        };
        let deadline = since + spool.max_time;
        if self.queued + extra <= spool.max_bytes && Instant::now() < deadline {
            return Ok(None);
        }
        self.drain(Some(deadline))?;
        if self.queue.is_empty() {
            return Ok(None);
        }
        let path = self.save(spool)?;
        match spool.on_failure {
            OnFailure::End => Ok(Some(io::Error::other(format!(
                "journald has not taken the recording for {} s ({}); the session is ended, \
                 and what journald had not taken is saved in {}",
                spool.max_time.as_secs_f64(),
                self.last_error.as_deref().unwrap_or("no reason given"),
                path.display()
            )))),
            OnFailure::Continue => {
                log_warning(&format!(
                    "recording {}: journald has not taken it for {} s; on_failure = \
                     \"continue\": the session goes on, recorded into {}",
                    self.rec,
                    spool.max_time.as_secs_f64(),
                    path.display()
                ));
                let file = open_spool_file(&path)?;
                self.file = Some((path, file));
                Ok(None)
            }
        }
    }

    /// Writes the queue to this recording's spool file and empties it.
    fn save(&mut self, spool: &Spool) -> io::Result<PathBuf> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&spool.dir)
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("creating spool directory {}: {e}", spool.dir.display()),
                )
            })?;
        let path = spool.dir.join(format!("{}.spool", self.rec));
        let mut file = open_spool_file(&path)?;
        for entry in &self.queue {
            append_entry(&mut file, entry)?;
        }
        file.sync_all()
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        self.queue.clear();
        self.queued = 0;
        self.stuck_since = None;
        Ok(path)
    }

    /// Sends queued entries in order until the queue is empty or journald
    /// stops taking them; with a `deadline`, waits for it until then.
    fn drain(&mut self, deadline: Option<Instant>) -> io::Result<()> {
        while let Some(entry) = self.queue.front() {
            // What journald has not read yet, measured before the send: if
            // the send succeeds, journald was alive after the measure, so
            // the older entries were read, not thrown away with a dead
            // journald's queue. Measured once the unconfirmed entries are
            // many, not before every send (a system call per entry): until
            // then they are kept, and sent again if journald goes away
            // (the journal reader drops the duplicates).
            let unread = match &self.socket {
                Some(socket) if self.unconfirmed.len() >= CONFIRM_AFTER => {
                    Some(unread_bytes(socket))
                }
                _ => None,
            };
            let sent = match &self.socket {
                Some(socket) => send_entry(socket, entry)?,
                None => match connect(&self.path) {
                    Ok(socket) => {
                        self.socket = Some(socket);
                        continue;
                    }
                    Err(e) => Sent::Down(e),
                },
            };
            match sent {
                Sent::Done => {
                    let len = entry.len() as u64;
                    if let Some(unread) = unread {
                        self.confirm(unread);
                    }
                    self.queued -= len;
                    let entry = self.queue.pop_front().expect("the front entry");
                    self.unconfirmed.push_back(entry);
                    self.deliver_earlier();
                    continue;
                }
                Sent::Busy => self.last_error = Some("journald's queue is full".to_owned()),
                // A journald that restarted listens on a new socket; what
                // the old one had not read goes to it first.
                Sent::Down(e) => {
                    self.last_error = Some(e.to_string());
                    self.socket = None;
                    for entry in self.unconfirmed.drain(..).rev() {
                        self.queued += entry.len() as u64;
                        self.queue.push_front(entry);
                    }
                }
            }
            self.stuck_since.get_or_insert_with(Instant::now);
            let Some(deadline) = deadline else {
                return Ok(());
            };
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            let wait = (deadline - now).min(Duration::from_millis(100));
            match &self.socket {
                Some(socket) => wait_writable(socket, wait),
                None => std::thread::sleep(wait),
            }
        }
        self.stuck_since = None;
        Ok(())
    }

    /// Forgets the sent entries that journald has read, given that `unread`
    /// bytes of them were still in its queue: the newest entries whose
    /// lengths add up to `unread` are kept (a datagram takes at least its
    /// length there, so these cover every unread one).
    fn confirm(&mut self, unread: u64) {
        let mut kept = 0u64;
        let mut keep = 0;
        for entry in self.unconfirmed.iter().rev() {
            if kept >= unread {
                break;
            }
            kept += entry.len() as u64;
            keep += 1;
        }
        let read = self.unconfirmed.len() - keep;
        for mut entry in self.unconfirmed.drain(..read) {
            if self.spare.len() < SPARE_BUFFERS {
                entry.clear();
                self.spare.push(entry);
            }
        }
    }

    /// Once journald takes entries from this process with settled ids,
    /// delivers earlier recorders' spool files.
    fn deliver_earlier(&mut self) {
        if self.delivered {
            return;
        }
        self.delivered = true;
        if rustix::process::getuid() != rustix::process::geteuid() {
            return;
        }
        if let Some(socket) = &self.socket {
            let _ = deliver_with(socket, &self.dir);
        }
    }
}

/// Sends the spool files in `dir` to journald at `socket_path` (each file
/// whole, oldest entries first) and removes them; returns how many entries
/// were delivered. Only files owned by this process' user, in a directory
/// no one else may write to, are delivered: journald stamps them with this
/// process' `_UID`, the recorder account's.
pub fn deliver(dir: &Path, socket_path: &Path) -> io::Result<u64> {
    let socket = connect(socket_path)?;
    deliver_with(&socket, dir)
}

fn deliver_with(socket: &UnixDatagram, dir: &Path) -> io::Result<u64> {
    let me = rustix::process::geteuid().as_raw();
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    if !meta.is_dir() || (meta.uid() != me && meta.uid() != 0) || meta.mode() & 0o022 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{}: a spool directory must be owned by the recorder account and writable by \
                 it alone",
                dir.display()
            ),
        ));
    }
    let mut delivered = 0;
    for item in std::fs::read_dir(dir)? {
        let path = item?.path();
        if path.extension().is_none_or(|e| e != "spool") {
            continue;
        }
        // Claimed by renaming, so that two recorders never send one file.
        let claimed = path.with_extension(format!("delivering-{}", std::process::id()));
        if std::fs::rename(&path, &claimed).is_err() {
            continue;
        }
        let result = deliver_file(socket, &claimed, me);
        match result {
            Ok(n) => {
                delivered += n;
                std::fs::remove_file(&claimed)?;
            }
            Err(e) => {
                let _ = std::fs::rename(&claimed, &path);
                return Err(e);
            }
        }
    }
    Ok(delivered)
}

/// Sends the entries of one spool file. On failure nothing is lost: the
/// undelivered rest is written back in place of the file.
fn deliver_file(socket: &UnixDatagram, path: &Path, owner: u32) -> io::Result<u64> {
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.uid() != owner {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{}: not a spool file of this account", path.display()),
        ));
    }
    let mut data = Vec::new();
    file.read_to_end(&mut data)?;
    let entries = split_entries(&data).map_err(|why| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {why}", path.display()),
        )
    })?;
    for (i, entry) in entries.iter().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match send_entry(socket, entry)? {
                Sent::Done => break,
                Sent::Busy if Instant::now() < deadline => {
                    wait_writable(socket, Duration::from_millis(100));
                }
                Sent::Busy | Sent::Down(_) => {
                    let mut rest = File::create(path)?;
                    for e in &entries[i..] {
                        append_entry(&mut rest, e)?;
                    }
                    rest.sync_all()?;
                    return Err(io::Error::other(format!(
                        "{}: journald stopped taking entries; {} left for later",
                        path.display(),
                        entries.len() - i
                    )));
                }
            }
        }
    }
    Ok(entries.len() as u64)
}

/// The entries of a spool file: each a 64-bit little-endian length and the
/// entry, in journald's native protocol.
fn split_entries(data: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut entries = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let len = data
            .get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .ok_or_else(|| format!("truncated length at byte {at}"))?;
        let start = at + 8;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(l))
            .filter(|&e| e <= data.len())
            .ok_or_else(|| format!("truncated entry at byte {at}"))?;
        entries.push(&data[start..end]);
        at = end;
    }
    Ok(entries)
}

fn append_entry(file: &mut File, entry: &[u8]) -> io::Result<()> {
    file.write_all(&(entry.len() as u64).to_le_bytes())?;
    file.write_all(entry)
}

fn open_spool_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// A non-blocking datagram socket connected to `path`, with a send buffer
/// as large as the system allows (entries up to it go in one datagram).
fn connect(path: &Path) -> io::Result<UnixDatagram> {
    let socket = UnixDatagram::unbound()?;
    socket.connect(path)?;
    socket.set_nonblocking(true)?;
    let _ = rustix::net::sockopt::set_socket_send_buffer_size(&socket, 8 << 20);
    Ok(socket)
}

/// Sends one entry: interrupted sends are retried, entries too big for a
/// datagram go in a sealed memfd, as journald takes them. Any failure but
/// a full queue counts as journald gone: the entry waits and is sent again,
/// within the spool's bounds.
fn send_entry(socket: &UnixDatagram, entry: &[u8]) -> io::Result<Sent> {
    loop {
        return match socket.send(entry) {
            Ok(_) => Ok(Sent::Done),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.raw_os_error(), Some(libc::EMSGSIZE | libc::ENOBUFS)) => {
                send_memfd(socket, entry)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Sent::Busy),
            Err(e) => Ok(Sent::Down(e)),
        };
    }
}

fn send_memfd(socket: &UnixDatagram, entry: &[u8]) -> io::Result<Sent> {
    use rustix::fs::{MemfdFlags, SealFlags};
    use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
    let memfd = rustix::fs::memfd_create(
        c"termtape-journal",
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )?;
    let mut file = File::from(memfd);
    file.write_all(entry)?;
    rustix::fs::fcntl_add_seals(
        &file,
        SealFlags::SEAL | SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE,
    )?;
    let fds = [file.as_fd()];
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    loop {
        let mut control = SendAncillaryBuffer::new(&mut space);
        control.push(SendAncillaryMessage::ScmRights(&fds));
        match rustix::net::sendmsg(socket, &[], &mut control, SendFlags::NOSIGNAL) {
            Ok(_) => return Ok(Sent::Done),
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::AGAIN) => return Ok(Sent::Busy),
            Err(e) => return Ok(Sent::Down(e.into())),
        }
    }
}

/// The bytes this socket has sent that the receiver has not read yet
/// (SIOCOUTQ counts a datagram until the receiver dequeues it).
fn unread_bytes(socket: &UnixDatagram) -> u64 {
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCOUTQ writes one int through the pointer, which refers to
    // a live local; the descriptor is the socket's own.
    let rc = unsafe { libc::ioctl(socket.as_raw_fd(), libc::TIOCOUTQ, &mut n) };
    // Unknown: assume nothing was read.
    if rc != 0 { u64::MAX } else { n.max(0) as u64 }
}

/// Waits up to `wait` for room in journald's queue.
fn wait_writable(socket: &UnixDatagram, wait: Duration) {
    use rustix::event::{PollFd, PollFlags, Timespec};
    let mut fds = [PollFd::new(socket, PollFlags::OUT)];
    let timeout = Timespec {
        tv_sec: wait.as_secs() as i64,
        tv_nsec: i64::from(wait.subsec_nanos()),
    };
    // Interrupted or not, the caller tries again.
    let _ = rustix::event::poll(&mut fds, Some(&timeout));
}

/// Tells syslog (authpriv, warning) about the recording; never the user's
/// terminal, which is the recorded session.
pub fn log_warning(text: &str) {
    let Ok(socket) = UnixDatagram::unbound() else {
        return;
    };
    let line = format!("<84>termtape[{}]: {text}", std::process::id());
    let _ = socket.send_to(line.as_bytes(), "/dev/log");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spool_files_split_back_into_their_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.spool");
        let mut file = open_spool_file(&path).expect("open");
        for entry in [&b"MESSAGE=a\n"[..], b"", b"X\n\x01\0\0\0\0\0\0\0y\n"] {
            append_entry(&mut file, entry).expect("append");
        }
        drop(file);
        let data = std::fs::read(&path).expect("read");
        let entries = split_entries(&data).expect("valid");
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[2], b"X\n\x01\0\0\0\0\0\0\0y\n");
        assert_eq!(
            std::fs::metadata(&path).expect("meta").mode() & 0o777,
            0o600
        );
        assert!(split_entries(&data[..data.len() - 1]).is_err());
        assert!(split_entries(&[1, 2, 3]).is_err());
    }

    /// A socket nobody reads: the queue fills, entries wait in order, and
    /// when a reader drains it they all arrive.
    #[test]
    fn entries_wait_for_a_full_journald_and_arrive_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("socket");
        let server = UnixDatagram::bind(&path).expect("bind");
        let spool = Spool {
            dir: dir.path().join("spool"),
            ..Spool::default()
        };
        let mut link = Link::open(&path, "r", &spool).expect("connect");
        for i in 0..2000u32 {
            link.push(
                &spool,
                format!("MESSAGE={i:04}{}\n", "x".repeat(1000)).into_bytes(),
            )
            .expect("queued");
        }
        assert!(!link.queue.is_empty(), "the socket's queue filled up");
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = vec![0u8; 4096];
            while got.len() < 2000 {
                server.recv(&mut buf).expect("recv");
                got.push(String::from_utf8_lossy(&buf[8..12]).into_owned());
            }
            got
        });
        link.finish(&spool).expect("all sent");
        let got = reader.join().expect("reader");
        let want: Vec<String> = (0..2000).map(|i| format!("{i:04}")).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn no_journald_means_no_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = Link::open(&dir.path().join("socket"), "r", &Spool::default())
            .expect_err("nobody there");
        assert!(err.to_string().contains("no journald"), "{err}");
    }
}
