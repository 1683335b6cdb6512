//! The journal writer: one message per journal entry, with tlog's fields.

use std::io;
use std::path::Path;
use std::time::Duration;

use termtape_format::{Encoded, Header};

use super::Sink;
use super::spool::{Link, Spool};

/// journald's socket for native-protocol entries.
pub const SOCKET: &str = "/run/systemd/journal/socket";

/// The longest MESSAGE field Cockpit can read: `journalctl -o json` without
/// `--all` shows fields of 4096 bytes or more (with their name) as null.
pub const MAX_MESSAGE_LEN: usize = 4087;

/// The prefix of the journal fields that carry a message's fields beyond
/// tlog's: `TERMTAPE_X_KF` holds the `kf` field's JSON value.
pub const EXTRA_PREFIX: &str = "TERMTAPE_X_";

/// `TERMTAPE_KEYFRAME=1` marks the entries that carry a keyframe, so that a
/// player finds them with a journal match instead of reading every entry.
pub const KEYFRAME_MARK: &str = "TERMTAPE_KEYFRAME";

const KEYFRAME_FIELD_PREFIX: &str = "TERMTAPE_X_KF=";

/// Sends each message to systemd-journald as an entry whose MESSAGE is the
/// JSON, with the fields tlog adds for finding recordings: TLOG_REC,
/// TLOG_USER, TLOG_SESSION, TLOG_ID, and PRIORITY and SYSLOG_IDENTIFIER.
///
/// Entries go through journald's socket in its native protocol; journald
/// stamps them with the sender's credentials (`_UID`, `_COMM`, …), which
/// callers cannot forge, and by which readers tell recordings from
/// forgeries.
///
/// MESSAGE holds tlog's fields only, so that it stays small (Cockpit reads
/// MESSAGE without `--all`, which drops fields of 4096 bytes or more) and
/// exactly as tlog writes it. termtape's own fields (keyframes, charset
/// originals, gap marks) each go into a journal field of their own,
/// [`EXTRA_PREFIX`] and the name in capitals, holding the raw JSON value;
/// the journal reader puts them back.
///
/// Nothing shown is lost to a journald that is busy, restarting or gone:
/// each entry waits in a [`Spool`] until journald has taken it (see
/// [`Spool`] for the bounds, and what happens beyond them).
#[derive(Debug)]
pub struct JournalSink {
    /// The fields every entry repeats, as `NAME=value`.
    fixed: Vec<String>,
    /// Wait before exiting so that journald still finds the process.
    linger: bool,
    spool: Spool,
    /// Journald's socket and what waits for it.
    link: Link,
}

impl JournalSink {
    /// A writer for `header`'s recording; `priority` is syslog's (6: info),
    /// `identifier` the SYSLOG_IDENTIFIER (tlog writes "tlog-rec"). With
    /// `for_cockpit`, the writer waits a moment at the end so that journald
    /// still finds the recorder's `_COMM`, by which Cockpit lists entries.
    ///
    /// Connects to journald's socket first: without a journald there is no
    /// recording, and the caller must know before the session starts.
    pub fn connect(
        header: &Header,
        priority: u8,
        identifier: &str,
        for_cockpit: bool,
        spool: Spool,
    ) -> io::Result<JournalSink> {
        JournalSink::connect_to(
            Path::new(SOCKET),
            header,
            priority,
            identifier,
            for_cockpit,
            spool,
        )
    }

    /// As [`JournalSink::connect`], to the socket at `path`.
    pub fn connect_to(
        path: &Path,
        header: &Header,
        priority: u8,
        identifier: &str,
        for_cockpit: bool,
        spool: Spool,
    ) -> io::Result<JournalSink> {
        let link = Link::open(path, &header.rec, &spool)?;
        Ok(JournalSink {
            linger: for_cockpit,
            fixed: vec![
                format!("PRIORITY={priority}"),
                format!("SYSLOG_IDENTIFIER={identifier}"),
                format!("TLOG_REC={}", header.rec),
                format!("TLOG_USER={}", header.user),
                format!("TLOG_SESSION={}", header.session),
            ],
            spool,
            link,
        })
    }
}

/// `MESSAGE=` with tlog's fields only, and a journal field for each other.
fn split_extras(json: &str) -> io::Result<(String, Vec<String>)> {
    // Messages without extra fields go as they are: the common case, and
    // no parsing.
    if json.ends_with("]}") {
        return Ok((format!("MESSAGE={json}"), Vec::new()));
    }
    let mut msg = termtape_format::Message::parse(json, &termtape_format::Location::default())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    let mut extras: Vec<String> = msg
        .extra
        .drain(..)
        .map(|(name, value)| {
            format!(
                "{EXTRA_PREFIX}{}={}",
                name.to_ascii_uppercase(),
                value.get()
            )
        })
        .collect();
    // Journal matches select on values, not on a field being there: this
    // marks the entries a seek can start from.
    if extras.iter().any(|e| e.starts_with(KEYFRAME_FIELD_PREFIX)) {
        extras.push(format!("{KEYFRAME_MARK}=1"));
    }
    let text = msg.to_json();
    Ok((format!("MESSAGE={}", text.trim_end()), extras))
}

impl Sink for JournalSink {
    fn reserve(&mut self, bytes: u64) -> io::Result<()> {
        // journald manages its own space; what must have room is the
        // spool, for what is about to be shown.
        self.link.reserve(&self.spool, bytes)
    }

    fn write(&mut self, message: &Encoded<'_>) -> io::Result<()> {
        let json = message.json.strip_suffix(b"\n").unwrap_or(message.json);
        let json =
            std::str::from_utf8(json).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let (text, extras) = split_extras(json)?;
        let id = format!("TLOG_ID={}", message.id);
        let mut entry = Vec::with_capacity(json.len() + 256);
        for field in self
            .fixed
            .iter()
            .map(String::as_str)
            .chain([id.as_str(), text.as_str()])
            .chain(extras.iter().map(String::as_str))
        {
            push_field(&mut entry, field);
        }
        self.link.push(&self.spool, entry)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.link.finish(&self.spool)?;
        if !self.linger {
            return Ok(());
        }
        // journald reads the sender's _COMM, _EXE and _CMDLINE from /proc
        // when it handles an entry; if the recorder has exited by then,
        // they are missing, and Cockpit, which lists entries by _COMM, does
        // not show the recording. Give journald a moment before exiting.
        std::thread::sleep(Duration::from_millis(250));
        Ok(())
    }
}

/// Appends `NAME=value` to an entry in journald's native protocol: as it
/// is if the value has no newline, else as the name, a newline, the
/// value's length (64 bits, little-endian) and the value.
fn push_field(entry: &mut Vec<u8>, field: &str) {
    let (name, value) = field.split_once('=').unwrap_or((field, ""));
    if value.contains('\n') {
        entry.extend_from_slice(name.as_bytes());
        entry.push(b'\n');
        entry.extend_from_slice(&(value.len() as u64).to_le_bytes());
        entry.extend_from_slice(value.as_bytes());
    } else {
        entry.extend_from_slice(field.as_bytes());
    }
    entry.push(b'\n');
}
