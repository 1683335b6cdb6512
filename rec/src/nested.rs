//! Logins nested in a recorded session: marked in the outer recording, and
//! noted by the nested `termtape-session`, which records nothing itself.
//!
//! `su - bob` inside alice's recorded session starts a second
//! `termtape-session`. Recording the session twice would be wasteful, but
//! bob must not be hidden behind alice either. So:
//!
//! - the outer recorder listens on the abstract unix socket
//!   `termtape-session/<its pid>` ([`Nested`], a [`Capture`] around the
//!   [`Recorder`]), from a thread started once the shell runs;
//! - the nested session ([`announce`]) finds the outer recorder's pid by its
//!   ancestors ([`crate::session::recording_ancestor`]), connects while it
//!   still runs as the recorder's user, and sends its user, uid, terminal
//!   and kind of login; the outer recorder puts a `login` mark
//!   ([`termtape_format::Login`]) on its next message and answers with its
//!   recording id; it watches the nested process (a pidfd: the nested
//!   session becomes the user's shell, same pid) and marks the end when it
//!   exits;
//! - the nested session writes a short entry of its own to the system log
//!   ([`note`]): "login of bob inside recording REC of alice", with
//!   `TERMTAPE_NESTED_IN=REC` — not a tlog message, so tlog-play and Cockpit
//!   never take it for part of a recording.
//!
//! Forgery: anyone may bind or connect to an abstract socket, so both sides
//! check the other's credentials (`SO_PEERCRED`, set by the kernel): the
//! recorder accepts only peers running as its own uid (the termtape user:
//! only the setuid `termtape-session` runs as it), and checks the claimed
//! uid against the peer's real uid in `/proc`; the nested session talks
//! only to a listener running as its own effective uid, so a user who
//! squats the name is refused. A squatter can keep the recorder from
//! listening: the recorder logs that, and the nested session logs that it
//! could not reach the recorder, so the login still leaves a trace.
//! Neither side waits on the other for more than [`HANDSHAKE`], and the
//! listener never blocks the relay (it is a thread of its own).

use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};
use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
use serde::{Deserialize, Serialize};
use termtape_format::Login;

use crate::recorder::Recorder;
use crate::relay::Capture;

/// The abstract socket name's prefix; the recorder's pid follows.
pub const SOCKET_PREFIX: &str = "termtape-session/";

/// The longest a side waits for the other during the exchange.
pub const HANDSHAKE: Duration = Duration::from_secs(2);

/// The largest request or reply, in bytes.
const MAX_LINE: u64 = 1024;

/// At most this many nested logins are watched at once (each holds a
/// descriptor); more are marked, but their end is not.
const MAX_WATCHED: usize = 64;

/// What a nested session tells the outer recorder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The nested login's user name.
    pub user: String,
    /// Its real uid.
    pub uid: u32,
    /// The terminal on its standard input, or "" if none.
    pub tty: String,
    /// `login`, `command` or `shell`.
    pub kind: String,
}

/// What the outer recorder answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The outer recording's id.
    pub rec: String,
    /// The outer recording's user.
    pub user: String,
    /// The nested login's number in that recording.
    pub n: u32,
}

/// The abstract socket name of the recorder with process id `pid`.
pub fn socket_name(pid: u32) -> String {
    format!("{SOCKET_PREFIX}{pid}")
}

/// What the listener thread found, shared with the recorder.
#[derive(Debug, Default)]
pub struct Found {
    /// Starts and ends, with when they were found.
    events: Vec<(Instant, Login)>,
    /// The logins whose end the listener has not seen yet: their numbers
    /// and a descriptor of each one's process. At its end the recorder looks
    /// at these itself, as a login that ended just before the session did
    /// may not have woken the listener yet.
    running: Vec<(u32, Option<OwnedFd>)>,
}

type Events = Arc<Mutex<Found>>;

/// A [`Capture`] that passes everything to a [`Recorder`] and marks the
/// logins nested in its session (see the [module documentation](self)).
pub struct Nested<'r> {
    recorder: &'r mut Recorder,
    /// The recorded user, for the nested sessions' notes.
    user: String,
    name: String,
    note_to: NoteTo,
    /// When the relay's time was zero.
    origin: Option<Instant>,
    events: Events,
    /// Ends seen, to be stamped after the next read of output (see
    /// [`Nested::drain`]).
    ending: Vec<Login>,
}

impl<'r> Nested<'r> {
    /// Wraps `recorder` (the recording of `user`'s session), to listen on
    /// `name` (normally [`socket_name`] of this process) once the session
    /// runs; a failure to listen is noted through `note_to`.
    pub fn new(recorder: &'r mut Recorder, user: &str, name: String, note_to: NoteTo) -> Self {
        Nested {
            recorder,
            user: user.to_owned(),
            name,
            note_to,
            origin: None,
            events: Events::default(),
            ending: Vec::new(),
        }
    }

    /// Puts the starts found so far on the recorder's next message, each at
    /// the moment it was found (before the nested shell could show
    /// anything). Ends wait in `ending`: output the nested process wrote
    /// before it exited may still be unread, so an end is stamped with the
    /// first read of output that began after it was seen, which holds the
    /// last of it.
    fn drain(&mut self) {
        let Some(origin) = self.origin else { return };
        let events = match self.events.lock() {
            Ok(mut found) => std::mem::take(&mut found.events),
            Err(_) => return,
        };
        for (when, mut login) in events {
            if login.end {
                self.ending.push(login);
                continue;
            }
            login.at = u64::try_from(when.saturating_duration_since(origin).as_millis())
                .unwrap_or(u64::MAX);
            self.recorder.mark_login(login);
        }
    }
}

impl Nested<'_> {
    /// Adds the ends of logins whose process has ended though the listener
    /// thread has not said so yet (it may not have run since). Whichever
    /// of the two takes a login out of `running` pushes its end, so it is
    /// marked once.
    fn find_unseen_ends(&mut self) {
        let Ok(mut found) = self.events.lock() else {
            return;
        };
        let mut ends = Vec::new();
        found.running.retain(|(n, pidfd)| {
            let Some(pidfd) = pidfd else { return true };
            let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
            let ended = rustix::event::poll(&mut fds, Some(&rustix::event::Timespec::default()))
                .is_ok_and(|ready| ready > 0);
            if ended {
                ends.push(Login {
                    n: *n,
                    end: true,
                    ..Login::default()
                });
            }
            !ended
        });
        let now = Instant::now();
        found.events.extend(ends.into_iter().map(|end| (now, end)));
    }

    /// Marks `ends` at `at`.
    fn end(&mut self, ends: Vec<Login>, at: Duration) {
        for mut end in ends {
            end.at = u64::try_from(at.as_millis()).unwrap_or(u64::MAX);
            self.recorder.mark_login(end);
        }
    }
}

impl Capture for Nested<'_> {
    fn window(&mut self, at: Duration, cols: u16, rows: u16) -> io::Result<()> {
        self.drain();
        self.recorder.window(at, cols, rows)
    }

    fn input(&mut self, at: Duration, bytes: &[u8]) -> io::Result<()> {
        self.drain();
        self.recorder.input(at, bytes)
    }

    fn output(&mut self, at: Duration, bytes: &[u8]) -> io::Result<()> {
        // Seen at an earlier call, so before this read began.
        let due = std::mem::take(&mut self.ending);
        self.drain();
        self.recorder.output(at, bytes)?;
        self.end(due, at);
        Ok(())
    }

    fn deadline(&self) -> Option<Duration> {
        self.recorder.deadline()
    }

    fn tick(&mut self, now: Duration) -> io::Result<()> {
        self.drain();
        self.recorder.tick(now)
    }

    fn finish(&mut self, at: Duration) -> io::Result<()> {
        self.find_unseen_ends();
        self.drain();
        let due = std::mem::take(&mut self.ending);
        self.end(due, at);
        self.recorder.finish(at)
    }

    fn clock_zero(&mut self, wall: Duration) {
        self.recorder.clock_zero(wall);
    }

    fn opened(&mut self, pty: &str) {
        self.recorder.opened(pty);
    }

    fn ended(&mut self, exit: termtape_format::Exit) {
        self.recorder.ended(exit);
    }

    fn started(&mut self, at: Duration) {
        let now = Instant::now();
        self.origin = Some(now.checked_sub(at).unwrap_or(now));
        let rec = self.recorder.rec().to_owned();
        let listener = match listen(&self.name) {
            Ok(listener) => listener,
            Err(e) => {
                note(
                    self.note_to,
                    4,
                    &format!(
                        "recording {rec} of {}: cannot listen for nested logins on @{}: {e}; \
                         logins inside this session are not marked in it",
                        self.user, self.name
                    ),
                    &[("TERMTAPE_REC", &rec), ("TERMTAPE_USER", &self.user)],
                );
                return;
            }
        };
        let reply = Reply {
            rec,
            user: self.user.clone(),
            n: 0,
        };
        let events = self.events.clone();
        let spawned = std::thread::Builder::new()
            .name("nested-logins".into())
            .stack_size(256 * 1024)
            .spawn(move || serve(listener, reply, &events));
        if let Err(e) = spawned {
            note(
                self.note_to,
                4,
                &format!("cannot watch for nested logins: {e}"),
                &[("TERMTAPE_REC", self.recorder.rec())],
            );
        }
    }
}

/// Binds the abstract socket `name`, non-blocking.
pub fn listen(name: &str) -> io::Result<UnixListener> {
    let listener = UnixListener::bind_addr(&SocketAddr::from_abstract_name(name)?)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// The listener thread: takes nested sessions' requests and watches their
/// processes, pushing a start and an end event for each into `events`.
pub fn serve(listener: UnixListener, mut reply: Reply, events: &Mutex<Found>) {
    let me = rustix::process::geteuid();
    let mut watched: Vec<(OwnedFd, u32)> = Vec::new();
    loop {
        let ready: Vec<bool> = {
            let mut fds: Vec<PollFd<'_>> = std::iter::once(listener.as_fd())
                .chain(watched.iter().map(|(fd, _)| fd.as_fd()))
                .map(|fd| PollFd::from_borrowed_fd(fd, PollFlags::IN))
                .collect();
            match rustix::event::poll(&mut fds, None) {
                Ok(_) => fds.iter().map(|f| !f.revents().is_empty()).collect(),
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return,
            }
        };
        // Ended logins first (their slots shift), newest last.
        for i in (1..ready.len()).rev() {
            if ready[i] {
                let (_, n) = watched.remove(i - 1);
                if let Ok(mut found) = events.lock() {
                    // Not running any more: the recorder marked its end.
                    let before = found.running.len();
                    found.running.retain(|(running, _)| *running != n);
                    if found.running.len() < before {
                        found.events.push((
                            Instant::now(),
                            Login {
                                n,
                                end: true,
                                ..Login::default()
                            },
                        ));
                    }
                }
            }
        }
        if !ready[0] {
            continue;
        }
        loop {
            let stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // Out of descriptors and the like: try again on the next
                // connection.
                Err(_) => break,
            };
            // A refused peer just sees the connection close.
            if let Ok((login, pidfd)) = take(stream, me, &mut reply, events)
                && let Some(pidfd) = pidfd.filter(|_| watched.len() < MAX_WATCHED)
            {
                if let Ok(mut found) = events.lock() {
                    found.running.push((login, pidfd.try_clone().ok()));
                }
                watched.push((pidfd, login));
            }
        }
    }
}

fn push(events: &Mutex<Found>, login: Login) {
    if let Ok(mut found) = events.lock() {
        // Bounded: the recorder drains these with every read it relays.
        if found.events.len() < 4 * MAX_WATCHED {
            found.events.push((Instant::now(), login));
        }
    }
}

/// One nested session's request: checked, marked, answered. Returns the
/// login's number and a pidfd of the nested process, if one could be had.
fn take(
    stream: UnixStream,
    me: rustix::fs::Uid,
    reply: &mut Reply,
    events: &Mutex<Found>,
) -> io::Result<(u32, Option<OwnedFd>)> {
    let peer = rustix::net::sockopt::socket_peercred(&stream)?;
    if peer.uid != me {
        return Err(refused(format!(
            "a peer running as uid {} is not the recorder's user",
            peer.uid.as_raw()
        )));
    }
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(HANDSHAKE))?;
    stream.set_write_timeout(Some(HANDSHAKE))?;
    let request: Request = read_line(&stream)?;
    // The uid claimed must be the peer's real uid, as the kernel says.
    let pid = peer.pid.as_raw_nonzero().get();
    if crate::session::real_uid_of(&pid.to_string())? != Some(request.uid) {
        return Err(refused(format!(
            "process {pid} claims uid {} but runs as another",
            request.uid
        )));
    }
    if !plain(&request.user) || !plain(&request.tty) || !plain(&request.kind) {
        return Err(refused(format!("process {pid} sent an unusual name")));
    }
    // Opened while the peer waits for the answer, so the pid is still its.
    let pidfd = rustix::process::pidfd_open(peer.pid, rustix::process::PidfdFlags::empty()).ok();
    reply.n += 1;
    // Marked before the answer: the nested shell's output comes after.
    push(
        events,
        Login {
            n: reply.n,
            at: 0,
            user: Some(request.user),
            uid: Some(request.uid),
            tty: Some(request.tty),
            kind: Some(request.kind),
            end: false,
        },
    );
    write_line(&stream, reply)?;
    Ok((reply.n, pidfd))
}

/// A short name without control characters.
fn plain(s: &str) -> bool {
    s.len() <= 256 && !s.chars().any(char::is_control)
}

fn refused(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, why)
}

fn read_line<T: for<'de> Deserialize<'de>>(stream: &UnixStream) -> io::Result<T> {
    let mut line = Vec::new();
    BufReader::new(io::Read::take(stream, MAX_LINE)).read_until(b'\n', &mut line)?;
    if line.last() != Some(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("no complete line within {MAX_LINE} bytes"),
        ));
    }
    serde_json::from_slice(&line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn write_line<T: Serialize>(mut stream: &UnixStream, value: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)
}

/// Tells the recorder listening on `name` about this nested login, and
/// returns its answer. Refuses a listener that does not run as this
/// process' effective uid (the recorder's user when installed setuid), and
/// waits at most [`HANDSHAKE`] for each step.
pub fn announce(name: &str, request: &Request) -> io::Result<Reply> {
    let fd = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )?;
    // Non-blocking: a listener that never accepts cannot hold us here.
    rustix::net::connect(&fd, &SocketAddrUnix::new_abstract_name(name.as_bytes())?).map_err(
        |e| {
            io::Error::new(
                io::Error::from(e).kind(),
                format!("connecting to @{name}: {e}"),
            )
        },
    )?;
    let stream = UnixStream::from(fd);
    let peer = rustix::net::sockopt::socket_peercred(&stream)?;
    if peer.uid != rustix::process::geteuid() {
        return Err(refused(format!(
            "@{name} is held by uid {}, not by the recorder's user",
            peer.uid.as_raw()
        )));
    }
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(HANDSHAKE))?;
    stream.set_write_timeout(Some(HANDSHAKE))?;
    write_line(&stream, request)?;
    read_line(&stream)
}

/// A nested login arrives inside the session recorded by process
/// `outer`: tells that recorder ([`announce`]) and notes the login through
/// `to`, naming the outer recording, or, if the recorder could not be told,
/// its process and why. The note is sent as the recorder's user, so that
/// its trusted `_UID` in the journal is that user, not the nested login's.
/// Fails only if this process' ids cannot be put back after.
pub fn arrive(outer: u32, request: &Request, to: NoteTo) -> io::Result<()> {
    let user = request.user.as_str();
    let uid = request.uid.to_string();
    let outer_pid = outer.to_string();
    let told = announce(&socket_name(outer), request);
    as_effective_user(|| match told {
        Ok(reply) => note(
            to,
            6,
            &format!(
                "login of {user} inside recording {} of {}, recorded there (nested login {})",
                reply.rec, reply.user, reply.n
            ),
            &[
                ("TERMTAPE_NESTED_IN", &reply.rec),
                ("TERMTAPE_NESTED_N", &reply.n.to_string()),
                ("TERMTAPE_OUTER_USER", &reply.user),
                ("TERMTAPE_USER", user),
                ("TERMTAPE_UID", &uid),
                ("TERMTAPE_TTY", &request.tty),
            ],
        ),
        Err(e) => note(
            to,
            4,
            &format!(
                "login of {user} inside the session recorded by process {outer}, \
                 which could not be told: {e}"
            ),
            &[
                ("TERMTAPE_NESTED_IN_PID", &outer_pid),
                ("TERMTAPE_USER", user),
                ("TERMTAPE_UID", &uid),
                ("TERMTAPE_TTY", &request.tty),
            ],
        ),
    })
}

/// Runs `f` with the real uid set to the effective one, as journald and
/// syslog take the sender's real uid for `_UID`; then puts the ids back.
/// (A setuid program may: each new id is one of its current ones.)
fn as_effective_user(f: impl FnOnce()) -> io::Result<()> {
    use rustix::process::{geteuid, getuid};
    let (real, effective) = (getuid(), geteuid());
    if real == effective {
        f();
        return Ok(());
    }
    // Single-threaded here: the ids of this one thread are the process'.
    rustix::thread::set_thread_res_uid(effective, effective, real)?;
    f();
    rustix::thread::set_thread_res_uid(real, effective, effective)?;
    Ok(())
}

/// The terminal on standard input, or "" if there is none.
pub fn stdin_tty() -> String {
    std::fs::read_link("/proc/self/fd/0")
        .ok()
        .filter(|p| p.starts_with("/dev/"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Where notes about nested logins go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteTo {
    /// The journal (falling back to syslog).
    Journal,
    /// Syslog (`/dev/log`, facility authpriv).
    Syslog,
}

/// Writes a note (not a recording: no tlog fields) as `termtape-session`
/// with syslog `priority`: to the journal with `fields` (`NAME`, value),
/// or as a syslog line. A note that cannot be written is dropped: the
/// session goes on.
pub fn note(to: NoteTo, priority: u8, message: &str, fields: &[(&str, &str)]) {
    if to == NoteTo::Journal {
        let mut all = vec![
            format!("MESSAGE={message}"),
            format!("PRIORITY={priority}"),
            "SYSLOG_IDENTIFIER=termtape-session".to_owned(),
        ];
        all.extend(fields.iter().map(|(k, v)| format!("{k}={v}")));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        if systemd::journal::send(&all) >= 0 {
            return;
        }
    }
    let line = format!(
        "<{}>termtape-session[{}]: {message}",
        crate::sink::AUTHPRIV + priority,
        std::process::id()
    );
    if let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() {
        let _ = socket.send_to(line.as_bytes(), "/dev/log");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    fn unique(what: &str) -> String {
        format!("termtape-test/{what}/{}", std::process::id())
    }

    fn start(name: &str) -> Events {
        let listener = listen(name).expect("listen");
        let events = Events::default();
        let shared = events.clone();
        let reply = Reply {
            rec: "outer-rec".into(),
            user: "alice".into(),
            n: 0,
        };
        std::thread::spawn(move || serve(listener, reply, &shared));
        events
    }

    fn request() -> Request {
        Request {
            user: "bob".into(),
            uid: rustix::process::getuid().as_raw(),
            tty: "/dev/pts/9".into(),
            kind: "login".into(),
        }
    }

    #[test]
    fn a_nested_session_of_the_same_uid_is_marked_and_answered() {
        let name = unique("same");
        let events = start(&name);
        let reply = announce(&name, &request()).expect("accepted");
        assert_eq!(
            reply,
            Reply {
                rec: "outer-rec".into(),
                user: "alice".into(),
                n: 1
            }
        );
        let events = &events.lock().expect("lock").events;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].1.user.as_deref(), Some("bob"));
        assert_eq!(events[0].1.n, 1);
    }

    #[test]
    fn a_false_uid_is_refused() {
        let name = unique("false-uid");
        let events = start(&name);
        let lie = Request {
            uid: rustix::process::getuid().as_raw() + 1,
            ..request()
        };
        assert!(announce(&name, &lie).is_err());
        assert!(events.lock().expect("lock").events.is_empty());
    }

    /// A process of another uid (here: nobody, through a real python)
    /// connects and sends a well-formed request: the connection is closed
    /// without an answer and nothing is marked.
    #[test]
    fn a_peer_of_another_uid_is_refused() {
        if rustix::process::geteuid().as_raw() != 0
            || !std::path::Path::new("/usr/bin/python3").exists()
        {
            eprintln!("skipped: needs root and /usr/bin/python3");
            return;
        }
        let name = unique("other-uid");
        let events = start(&name);
        let script = format!(
            "import socket\n\
             s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n\
             s.connect('\\0{name}')\n\
             s.settimeout(5)\n\
             try:\n\
             \x20   s.sendall(b'{{\"user\":\"root\",\"uid\":65534,\"tty\":\"\",\"kind\":\"login\"}}\\n')\n\
             \x20   print('answer:', s.recv(1024) or 'none')\n\
             except (BrokenPipeError, ConnectionResetError):\n\
             \x20   print('answer: none')\n"
        );
        let out = Command::new("/usr/bin/python3")
            .args(["-c", &script])
            .uid(65534)
            .gid(65534)
            .output()
            .expect("python3");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("answer: none"),
            "refused without an answer: {text}"
        );
        assert!(
            events.lock().expect("lock").events.is_empty(),
            "nothing marked"
        );
    }

    /// Someone of another uid holds the name: the nested session refuses to
    /// talk to it.
    #[test]
    fn a_squatter_is_refused_by_the_nested_session() {
        if rustix::process::geteuid().as_raw() != 0
            || !std::path::Path::new("/usr/bin/python3").exists()
        {
            eprintln!("skipped: needs root and /usr/bin/python3");
            return;
        }
        let name = unique("squat");
        let script = format!(
            "import socket, sys, time\n\
             s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n\
             s.bind('\\0{name}')\n\
             s.listen(8)\n\
             print('bound', flush=True)\n\
             c, _ = s.accept()\n\
             c.sendall(b'{{\"rec\":\"forged\",\"user\":\"x\",\"n\":1}}\\n')\n\
             time.sleep(5)\n"
        );
        let mut squatter = Command::new("/usr/bin/python3")
            .args(["-c", &script])
            .uid(65534)
            .gid(65534)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(squatter.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read");
        assert_eq!(line.trim(), "bound");
        let err = announce(&name, &request()).expect_err("refused");
        assert!(err.to_string().contains("held by uid 65534"), "{err}");
        // A recorder cannot take the name either; it notes that and goes on.
        assert!(listen(&name).is_err());
        squatter.kill().expect("kill");
        squatter.wait().expect("wait");
    }

    #[test]
    fn an_ended_nested_process_is_marked_as_ended() {
        let name = unique("end");
        let events = start(&name);
        let listener_events = events.clone();
        // The recorder watches the peer's pid: a child that announces
        // itself and exits gives the end.
        let script = format!(
            "import socket, os, json\n\
             s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n\
             s.connect('\\0{name}')\n\
             s.sendall((json.dumps({{'user':'bob','uid':os.getuid(),'tty':'','kind':'command'}})+'\\n').encode())\n\
             print(s.recv(1024).decode(), end='')\n"
        );
        let out = Command::new("/usr/bin/python3")
            .args(["-c", &script])
            .output()
            .expect("python3");
        assert!(String::from_utf8_lossy(&out.stdout).contains("\"n\":1"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while listener_events.lock().expect("lock").events.len() < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let found = listener_events.lock().expect("lock");
        let events = &found.events;
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(!events[0].1.end && events[1].1.end && events[1].1.n == 1);
        assert!(found.running.is_empty(), "an ended login is not running");
    }
}
