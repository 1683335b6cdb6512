//! The journal writer: one message per journal entry, with tlog's fields.

use std::io;

use termtape_format::{Encoded, Header};

use super::Sink;

/// The longest MESSAGE field Cockpit can read: `journalctl -o json` without
/// `--all` shows fields of 4096 bytes or more (with their name) as null.
pub const MAX_MESSAGE_LEN: usize = 4087;

/// Sends each message to systemd-journald as an entry whose MESSAGE is the
/// JSON, with the fields tlog adds for finding recordings: TLOG_REC,
/// TLOG_USER, TLOG_SESSION, TLOG_ID, and PRIORITY and SYSLOG_IDENTIFIER.
///
/// Entries go through journald's socket; journald stamps them with the
/// sender's credentials (`_UID`, `_COMM`, …), which callers cannot forge.
#[derive(Debug)]
pub struct JournalSink {
    /// The fields every entry repeats, as `NAME=value`.
    fixed: Vec<String>,
}

impl JournalSink {
    /// A writer for `header`'s recording; `priority` is syslog's (6: info),
    /// `identifier` the SYSLOG_IDENTIFIER (tlog writes "tlog-rec").
    pub fn new(header: &Header, priority: u8, identifier: &str) -> JournalSink {
        JournalSink {
            fixed: vec![
                format!("PRIORITY={priority}"),
                format!("SYSLOG_IDENTIFIER={identifier}"),
                format!("TLOG_REC={}", header.rec),
                format!("TLOG_USER={}", header.user),
                format!("TLOG_SESSION={}", header.session),
            ],
        }
    }
}

impl Sink for JournalSink {
    fn reserve(&mut self, _bytes: u64) -> io::Result<()> {
        // journald manages its own space.
        Ok(())
    }

    fn write(&mut self, message: &Encoded<'_>) -> io::Result<()> {
        let json = message.json.strip_suffix(b"\n").unwrap_or(message.json);
        let json =
            std::str::from_utf8(json).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let text = format!("MESSAGE={json}");
        let id = format!("TLOG_ID={}", message.id);
        let mut fields: Vec<&str> = self.fixed.iter().map(String::as_str).collect();
        fields.push(&id);
        fields.push(&text);
        let rc = systemd::journal::send(&fields);
        if rc < 0 {
            let e = io::Error::from_raw_os_error(-rc);
            return Err(io::Error::new(
                e.kind(),
                format!("sending to the journal: {e}"),
            ));
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}
