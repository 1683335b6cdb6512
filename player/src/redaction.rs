//! Redaction marks in a recording's input: where keys typed while the
//! terminal hid them (a password) were left out by the recorder, readers
//! show a mark such as `«7 keys redacted»`, never nothing (see
//! `termtape_format::Redaction`).

use std::collections::VecDeque;
use std::io::{self, Write};

use termtape_format::{Location, Message, Redaction};

/// Splices a recording's redaction marks into its input as it is read,
/// message by message, packet by packet.
#[derive(Debug, Default)]
pub struct Marks {
    /// The current message's marks not yet shown, by place.
    pending: VecDeque<Redaction>,
    /// Bytes of the current message's input passed so far.
    passed: u64,
    /// Written after each mark (a search ends the typed line there).
    after: &'static [u8],
    /// Whether the reader was warned that a recording's input was logged
    /// without redaction.
    warned: bool,
}

impl Marks {
    /// Marks followed by `after` each.
    pub fn ending_with(after: &'static [u8]) -> Marks {
        Marks {
            after,
            ..Marks::default()
        }
    }

    /// The same marks, leaving the warning about input logged without
    /// redaction to the caller (a search's worker thread must not take
    /// stdout, which the thread writing the finds holds).
    pub(crate) fn without_warning(mut self) -> Marks {
        self.warned = true;
        self
    }

    /// A new message starts: the previous one's marks still pending go to
    /// `out` first. Its marks are returned as an error if its field is
    /// malformed (the message's input is then shown without marks).
    pub fn message(
        &mut self,
        msg: &Message,
        at: &Location,
        out: &mut impl Write,
    ) -> io::Result<termtape_format::Result<()>> {
        self.finish(out)?;
        self.passed = 0;
        if msg.unredacted_input() && !self.warned {
            self.warned = true;
            warn_unredacted(&msg.recording_key());
        }
        Ok(msg.redactions(at).map(|marks| self.pending = marks.into()))
    }

    /// Input bytes of the current message, in order: they go to `out`,
    /// with the marks that fall within or just before them.
    pub fn input(&mut self, mut bytes: &[u8], out: &mut impl Write) -> io::Result<()> {
        while let Some(mark) = self.pending.front() {
            let within = mark.offset.saturating_sub(self.passed);
            if within > bytes.len() as u64 {
                break;
            }
            let (before, after) = bytes.split_at(within as usize);
            out.write_all(before)?;
            self.passed += before.len() as u64;
            bytes = after;
            let mark = self.pending.pop_front().expect("front exists");
            self.put_mark(&mark, out)?;
        }
        out.write_all(bytes)?;
        self.passed += bytes.len() as u64;
        Ok(())
    }

    /// The marks still pending (after the current message's last input).
    pub fn finish(&mut self, out: &mut impl Write) -> io::Result<()> {
        while let Some(mark) = self.pending.pop_front() {
            self.put_mark(&mark, out)?;
        }
        Ok(())
    }

    fn put_mark(&self, mark: &Redaction, out: &mut impl Write) -> io::Result<()> {
        out.write_all(mark.label().as_bytes())?;
        out.write_all(self.after)
    }
}

/// Warns on stderr, once a recording, that `rec` logged its input without
/// redaction.
pub(crate) fn warn_unredacted(rec: &str) {
    let _ = io::stdout().flush();
    let _ = writeln!(
        io::stderr().lock(),
        "termtape: warning: recording {} logged its input without redaction \
         (input_redaction = \"none\"): passwords typed at prompts may be in it",
        crate::visible::visible(rec)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(input: &str, marks: &str) -> Message {
        let line = format!(
            r#"{{"ver":"2.3","host":"h","rec":"r","user":"u","term":"xterm","session":1,"id":1,"pos":0,"timing":"<{}","in_txt":"{input}","in_bin":[],"out_txt":"","out_bin":[],"redacted":{marks}}}"#,
            input.len()
        );
        Message::parse(&line, &Location::default()).expect("message")
    }

    #[test]
    fn marks_go_where_the_keys_were_and_leftovers_at_the_end() {
        let mut marks = Marks::default();
        let mut out = Vec::new();
        let m = message(
            "su -id",
            r#"[{"at":1,"in":4,"keys":8},{"at":2,"in":6,"keys":1},{"at":0,"in":0,"keys":2}]"#,
        );
        marks
            .message(&m, &Location::default(), &mut out)
            .expect("written")
            .expect("valid");
        marks.input(b"su", &mut out).expect("written");
        marks.input(b" -id", &mut out).expect("written");
        marks.finish(&mut out).expect("written");
        assert_eq!(
            String::from_utf8(out).expect("UTF-8"),
            "«2 keys redacted»su -«8 keys redacted»id«1 key redacted»"
        );
    }
}
