//! The syslog writer: one message per syslog record, as tlog's syslog
//! writer sends them (facility authpriv, priority info by default).

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use termtape_format::extension::{Extended, Field, KEYFRAME};

use super::Sink;

/// syslog's authpriv facility (10), shifted as in a priority value.
pub const AUTHPRIV: u8 = 10 << 3;

/// How long the writer waits for a syslog daemon that went away (its
/// socket refuses or is gone: rsyslogd restarting on its own socket) to be
/// back, trying again every [`RECONNECT_EVERY`]. Meanwhile the session's
/// output waits too: nothing is shown that is not sent. Under systemd,
/// `/dev/log` is held by systemd and never goes away.
const RECONNECT_WAIT: Duration = Duration::from_secs(10);
const RECONNECT_EVERY: Duration = Duration::from_millis(50);

/// Sends each message as a datagram to the local syslog socket (`/dev/log`),
/// in the traditional format: `<PRI>ident[pid]: message`. The receiving
/// daemon (journald's syslog socket, rsyslog) stamps the time and host.
/// When the daemon goes away, the writer connects again, as glibc's
/// `syslog(3)` (tlog's writer) does, and sends the message it had.
#[derive(Debug)]
pub struct SyslogSink {
    socket: UnixDatagram,
    path: PathBuf,
    reconnect_wait: Duration,
    prefix: Vec<u8>,
    buf: Vec<u8>,
    /// A message with its extension fields.
    line: Vec<u8>,
    /// The longest message a datagram holds (see [`Sink::max_len`]).
    max_len: Option<usize>,
}

impl SyslogSink {
    /// Connects to `path` (normally `/dev/log`); `facility_priority` is the
    /// sum of a facility such as [`AUTHPRIV`] and a priority (6: info).
    pub fn connect(path: &Path, facility_priority: u8, ident: &str) -> io::Result<SyslogSink> {
        let socket = UnixDatagram::unbound()?;
        socket.connect(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("connecting to syslog at {}: {e}", path.display()),
            )
        })?;
        let prefix = format!("<{facility_priority}>{ident}[{}]: ", std::process::id()).into_bytes();
        // Linux refuses a datagram longer than the send buffer less 32
        // bytes (EMSGSIZE); the message goes without its newline.
        let max_len = rustix::net::sockopt::socket_send_buffer_size(&socket)
            .ok()
            .map(|sndbuf| (sndbuf + 1).saturating_sub(32 + prefix.len()));
        Ok(SyslogSink {
            socket,
            path: path.to_path_buf(),
            reconnect_wait: RECONNECT_WAIT,
            prefix,
            buf: Vec::with_capacity(8192),
            line: Vec::new(),
            max_len,
        })
    }
}

impl SyslogSink {
    /// Sends `message` as one datagram.
    fn send(&mut self, message: &Extended<'_>) -> io::Result<()> {
        let json = super::file_form(message, &mut self.line)?;
        let json = json.strip_suffix(b"\n").unwrap_or(json);
        self.buf.clear();
        self.buf.extend_from_slice(&self.prefix);
        self.buf.extend_from_slice(json);
        // A signal (the session's SIGCHLD, SIGWINCH) that arrives while the
        // send waits for room in a busy syslog daemon's queue interrupts
        // it: the datagram was not sent, so it is sent again. Ending the
        // session for it would let a user stop recording by resizing.
        let mut gone_since: Option<Instant> = None;
        loop {
            match self.socket.send(&self.buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if is_gone(&e) => {
                    let since = *gone_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= self.reconnect_wait {
                        return Err(io::Error::new(
                            e.kind(),
                            format!(
                                "{e}; {} did not take messages again within {} s",
                                self.path.display(),
                                self.reconnect_wait.as_secs_f32()
                            ),
                        ));
                    }
                    std::thread::sleep(RECONNECT_EVERY);
                    // Not there yet: the next send says so again.
                    let _ = self.socket.connect(&self.path);
                }
                sent => return sent.map(drop),
            }
        }
    }
}

/// Whether a send failed because the daemon's socket is gone (closed,
/// removed, or not yet made again), not for the message.
fn is_gone(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ECONNREFUSED | libc::ENOTCONN | libc::ENOENT | libc::ECONNRESET)
    )
}

fn sending(e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("sending to syslog: {e}"))
}

impl Sink for SyslogSink {
    fn reserve(&mut self, _bytes: u64) -> io::Result<()> {
        Ok(())
    }

    fn write(&mut self, message: &Extended<'_>) -> io::Result<()> {
        // A datagram holds at most the socket's send buffer (208 KiB by
        // default): a keyframe of a big, colourful screen can be more. A
        // chained message comes fitted already (its chain covers what is
        // sent); an unchained one is fitted here.
        let fitted = super::fitted(message, 0, self.max_len);
        let message = match &fitted {
            Some(fields) => &Extended {
                message: message.message,
                fields,
            },
            None => message,
        };
        match self.send(message) {
            // Should the kernel refuse one that fits by the estimate, the
            // keyframe is left out still rather than ending the session.
            Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE) => {
                let rest: Vec<Field<'_>> = message
                    .fields
                    .iter()
                    .filter(|f| f.name != KEYFRAME)
                    .copied()
                    .collect();
                if rest.len() == message.fields.len() {
                    return Err(sending(e));
                }
                self.send(&Extended {
                    message: message.message,
                    fields: &rest,
                })
                .map_err(sending)
            }
            sent => sent.map_err(sending),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn max_len(&self) -> Option<usize> {
        self.max_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use termtape_format::Encoded;

    fn encoded(json: &[u8]) -> Encoded<'_> {
        Encoded {
            id: 1,
            pos: 0,
            time: 0,
            json,
            input_end: 0,
            output_end: 0,
        }
    }

    /// A syslog daemon's socket in a new directory (kept while the first
    /// is), and a writer connected to it.
    fn daemon() -> (tempfile::TempDir, PathBuf, UnixDatagram, SyslogSink) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log");
        let server = UnixDatagram::bind(&path).expect("bind");
        let sink = SyslogSink::connect(&path, AUTHPRIV + 6, "termtape").expect("connect");
        (dir, path, server, sink)
    }

    #[test]
    fn a_keyframe_too_big_for_a_datagram_is_left_out_and_the_message_sent() {
        let (_dir, _, server, mut sink) = daemon();
        let json = br#"{"ver":"2.3","id":1,"out_txt":"hi"}"#;
        let big = format!("\"{}\"", "x".repeat(4 << 20));
        let fields = [
            Field::new("charset", "\"KOI8-R\""),
            Field::new(KEYFRAME, &big),
        ];
        sink.write(&Extended {
            message: encoded(json),
            fields: &fields,
        })
        .expect("sent without the keyframe");
        let mut buf = vec![0u8; 65536];
        let n = server.recv(&mut buf).expect("recv");
        let got = String::from_utf8_lossy(&buf[..n]);
        assert!(got.starts_with("<86>termtape["), "{got}");
        assert!(
            got.ends_with(r#"{"ver":"2.3","id":1,"out_txt":"hi","charset":"KOI8-R"}"#),
            "{got}"
        );
        // Without a keyframe to leave out, a message too big is an error.
        let long = format!(r#"{{"ver":"2.3","out_txt":"{}"}}"#, "y".repeat(4 << 20));
        let err = sink
            .write(&Extended::plain(encoded(long.as_bytes())))
            .expect_err("too long");
        assert!(err.to_string().starts_with("sending to syslog:"), "{err}");
    }

    #[test]
    fn a_syslog_daemon_that_comes_back_gets_the_message_and_one_that_does_not_ends_it() {
        let (_dir, path, server, mut sink) = daemon();
        let first = br#"{"ver":"2.3","id":1,"out_txt":"before"}"#;
        sink.write(&Extended::plain(encoded(first))).expect("sent");
        let mut buf = vec![0u8; 65536];
        let n = server.recv(&mut buf).expect("recv");
        assert!(String::from_utf8_lossy(&buf[..n]).contains("before"));
        // The daemon stops (its socket closed and removed) and starts again
        // 300 ms later on the same path.
        drop(server);
        std::fs::remove_file(&path).expect("removed");
        let again = path.clone();
        let restarted = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            let server = UnixDatagram::bind(&again).expect("bind again");
            let mut buf = vec![0u8; 65536];
            let n = server.recv(&mut buf).expect("recv");
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        let second = br#"{"ver":"2.3","id":2,"out_txt":"while it restarted"}"#;
        sink.write(&Extended::plain(encoded(second)))
            .expect("sent once the daemon was back");
        let got = restarted.join().expect("restarted daemon");
        assert!(got.starts_with("<86>termtape["), "{got}");
        assert!(
            got.ends_with(std::str::from_utf8(second).expect("utf-8")),
            "{got}"
        );
        // Gone for good: an error naming the socket, after the wait.
        std::fs::remove_file(&path).expect("removed");
        sink.reconnect_wait = Duration::from_millis(200);
        let third = br#"{"ver":"2.3","id":3,"out_txt":"nobody"}"#;
        let err = sink
            .write(&Extended::plain(encoded(third)))
            .expect_err("nobody takes it");
        let text = err.to_string();
        assert!(text.starts_with("sending to syslog:"), "{text}");
        assert!(
            text.contains(&format!("{} did not take messages again", path.display())),
            "{text}"
        );
    }

    extern "C" fn ignore(_: libc::c_int) {}

    /// A send blocked on a full syslog queue and interrupted by a signal
    /// (a handler without SA_RESTART, as a session's signals can be) is
    /// sent again, not an error.
    #[test]
    #[allow(
        unsafe_code,
        reason = "sigaction and pthread_kill have no safe wrapper in the crate's dependencies"
    )]
    fn a_send_interrupted_by_a_signal_is_sent_again() {
        let (_dir, _, server, mut sink) = daemon();
        // SIGUSR2 interrupts a blocking call in this thread (no SA_RESTART).
        // SAFETY: a handler that does nothing, installed for the test.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = ignore as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            assert_eq!(
                libc::sigaction(libc::SIGUSR2, &action, std::ptr::null_mut()),
                0
            );
        }
        // Fill the queue: the next send blocks.
        sink.socket.set_nonblocking(true).expect("nonblocking");
        let message = br#"{"ver":"2.3","id":1,"out_txt":"fill"}"#;
        while sink.write(&Extended::plain(encoded(message))).is_ok() {}
        sink.socket.set_nonblocking(false).expect("blocking");
        // SAFETY: pthread_self of this thread, signalled from another while
        // it waits; the handler above does nothing.
        let me = unsafe { libc::pthread_self() } as usize;
        let helper = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            // SAFETY: the thread is alive: it joins this one at the end.
            unsafe { libc::pthread_kill(me as libc::pthread_t, libc::SIGUSR2) };
            std::thread::sleep(std::time::Duration::from_millis(200));
            let mut buf = vec![0u8; 65536];
            let mut drained = Vec::new();
            server.set_nonblocking(true).expect("nonblocking");
            // The message sent again may arrive while the queue is being
            // emptied: what is taken here is looked at too.
            while let Ok(n) = server.recv(&mut buf) {
                drained.push(buf[..n].to_vec());
            }
            // Kept open: the interrupted message is sent again to it.
            (drained, server)
        });
        let last = br#"{"ver":"2.3","id":2,"out_txt":"after the signal"}"#;
        sink.write(&Extended::plain(encoded(last)))
            .expect("sent after the interruption");
        let (mut got, server) = helper.join().expect("helper");
        assert!(!got.is_empty());
        let mut buf = vec![0u8; 65536];
        while let Ok(n) = server.recv(&mut buf) {
            got.push(buf[..n].to_vec());
        }
        let last = got.last().map(|d| String::from_utf8_lossy(d).into_owned());
        assert!(
            last.as_deref()
                .is_some_and(|d| d.contains("after the signal")),
            "the last datagram: {last:?}"
        );
    }
}
