//! The journal writer: one message per journal entry, with tlog's fields.

use std::io;
use std::path::Path;
use std::time::Duration;

use termtape_format::extension::{self, Extended};
use termtape_format::{Header, Tally};

use super::Sink;
use super::spool::{Link, Spool};

/// journald's socket for native-protocol entries.
pub const SOCKET: &str = "/run/systemd/journal/socket";

/// The longest MESSAGE field Cockpit can read: `journalctl -o json` without
/// `--all` shows fields of 4096 bytes or more (with their name) as null.
pub const MAX_MESSAGE_LEN: usize = 4087;

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
/// originals, gap marks) each go into a journal field of their own, as
/// `termtape_format::extension` maps them (`TERMTAPE_X_KF`, …); the
/// journal reader puts them back. Each entry also carries the recording's
/// running totals (`TERMTAPE_TOTALS`: messages, bytes, gaps so far), so
/// that a listing reads a recording's first and last entries only.
///
/// Nothing shown is lost to a journald that is busy, restarting or gone:
/// each entry waits in a [`Spool`] until journald has taken it (see
/// [`Spool`] for the bounds, and what happens beyond them).
#[derive(Debug)]
pub struct JournalSink {
    /// The fields every entry repeats: name and value.
    fixed: Vec<(&'static str, String)>,
    /// Wait before exiting so that journald still finds the process.
    linger: bool,
    spool: Spool,
    /// Journald's socket and what waits for it.
    link: Link,
    /// The recording's totals so far.
    tally: Tally,
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
                ("PRIORITY", priority.to_string()),
                ("SYSLOG_IDENTIFIER", identifier.to_owned()),
                ("TLOG_REC", header.rec.clone()),
                ("TLOG_USER", header.user.clone()),
                ("TLOG_SESSION", header.session.to_string()),
            ],
            spool,
            link,
            tally: Tally::default(),
        })
    }
}

impl Sink for JournalSink {
    fn reserve(&mut self, bytes: u64) -> io::Result<()> {
        // journald manages its own space; what must have room is the
        // spool, for what is about to be shown.
        self.link.reserve(&self.spool, bytes)
    }

    fn write(&mut self, message: &Extended<'_>) -> io::Result<()> {
        let before = self.tally.clone();
        let totals = self.tally.add(message).field();
        let buf = self.link.buffer();
        let pushed = entry(buf, &self.fixed, message, &totals)
            .and_then(|entry| self.link.push(&self.spool, entry));
        // Not stored: the message may come again, and is counted then.
        if pushed.is_err() {
            self.tally = before;
        }
        pushed
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

/// The journal entry of `message`, in journald's native protocol, made in
/// `entry` (empty): the `fixed` fields, TLOG_ID, MESSAGE with tlog's
/// fields only, a journal field for each extension field, and the
/// recording's `totals` so far.
fn entry(
    mut entry: Vec<u8>,
    fixed: &[(&str, String)],
    message: &Extended<'_>,
    totals: &str,
) -> io::Result<Vec<u8>> {
    let json = std::str::from_utf8(message.tlog())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let id = message.message.id.to_string();
    let extra: usize = message.fields.iter().map(|f| f.value.len() + 32).sum();
    entry.reserve(json.len() + extra + 256);
    for (name, value) in fixed {
        push_field(&mut entry, name, value);
    }
    push_field(&mut entry, "TLOG_ID", &id);
    push_field(&mut entry, "MESSAGE", json);
    for field in message.journal_fields() {
        push_field(&mut entry, &field.name, field.value);
    }
    push_field(&mut entry, extension::JOURNAL_TOTALS, totals);
    Ok(entry)
}

/// Appends `NAME=value` to an entry in journald's native protocol: as it
/// is if the value has no newline, else as the name, a newline, the
/// value's length (64 bits, little-endian) and the value.
fn push_field(entry: &mut Vec<u8>, name: &str, value: &str) {
    entry.extend_from_slice(name.as_bytes());
    if value.contains('\n') {
        entry.push(b'\n');
        entry.extend_from_slice(&(value.len() as u64).to_le_bytes());
    } else {
        entry.push(b'=');
    }
    entry.extend_from_slice(value.as_bytes());
    entry.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    use termtape_format::Encoded;
    use termtape_format::extension::{Field, KEYFRAME, LOGIN};

    fn extended<'a>(json: &'a str, fields: &'a [Field<'a>]) -> Extended<'a> {
        Extended {
            message: Encoded {
                id: 7,
                pos: 0,
                time: 0,
                json: json.as_bytes(),
                input_end: 0,
                output_end: 0,
            },
            fields,
        }
    }

    #[test]
    fn extra_fields_ending_in_a_bracket_go_to_fields_of_their_own() {
        let base = r#"{"ver":"2.3","host":"h","rec":"r","user":"u","term":"t","session":1,"id":1,"pos":0,"timing":">2","in_txt":"","in_bin":[],"out_txt":"]}","out_bin":[1,2]}"#;
        let line = format!("{base}\n");
        let fixed = [("TLOG_REC", "r".to_owned())];
        let plain = entry(Vec::new(), &fixed, &extended(&line, &[]), "{}").expect("UTF-8");
        assert_eq!(
            String::from_utf8(plain).expect("UTF-8"),
            format!("TLOG_REC=r\nTLOG_ID=7\nMESSAGE={base}\nTERMTAPE_TOTALS={{}}\n")
        );
        let login = [Field::new(LOGIN, r#"[{"n":1,"at":5,"end":true}]"#)];
        let marked = entry(Vec::new(), &fixed, &extended(&line, &login), "{}").expect("UTF-8");
        assert_eq!(
            String::from_utf8(marked).expect("UTF-8"),
            format!(
                "TLOG_REC=r\nTLOG_ID=7\nMESSAGE={base}\n\
                 TERMTAPE_X_LOGIN=[{{\"n\":1,\"at\":5,\"end\":true}}]\n\
                 TERMTAPE_LOGIN=1\nTERMTAPE_TOTALS={{}}\n"
            )
        );
    }

    #[test]
    fn a_keyframe_is_marked_and_values_with_newlines_go_with_their_length() {
        let base = r#"{"ver":"2.3","id":1}"#;
        let line = format!("{base}\n");
        let kf = "{\"v\":1,\n\"s\":\"x\"}";
        let fields = [Field::new(KEYFRAME, kf)];
        let got = entry(Vec::new(), &[], &extended(&line, &fields), "{}").expect("UTF-8");
        let mut expected = format!("TLOG_ID=7\nMESSAGE={base}\nTERMTAPE_X_KF\n").into_bytes();
        expected.extend_from_slice(&(kf.len() as u64).to_le_bytes());
        expected.extend_from_slice(kf.as_bytes());
        expected.extend_from_slice(b"\nTERMTAPE_KEYFRAME=1\nTERMTAPE_TOTALS={}\n");
        assert_eq!(got, expected);
    }
}
