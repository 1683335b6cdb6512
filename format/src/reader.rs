//! Reading a stream of messages, one per line, validating as tlog-play does.

use std::collections::HashMap;
use std::io::BufRead;

use crate::error::{Error, Location, Result};
use crate::message::Message;

/// Checks that each recording's messages follow each other: ids go up by
/// exactly one (lax: just go up) and `pos` never goes back. Recordings are
/// told apart by [`Message::recording_key`], so interleaved recordings in one
/// stream are each checked on their own.
#[derive(Debug, Default)]
pub struct Validator {
    lax: bool,
    last: HashMap<String, (u64, u64)>,
}

impl Validator {
    /// A validator; `lax` accepts id gaps, as tlog-play's `--lax` does.
    pub fn new(lax: bool) -> Self {
        Validator {
            lax,
            last: HashMap::new(),
        }
    }

    /// Checks `msg` against its recording's previous message and remembers
    /// it (even when it fails, so that one bad id is reported once).
    pub fn check(&mut self, msg: &Message, at: &Location) -> Result<()> {
        let key = msg.recording_key();
        let at = Location {
            id: Some(msg.id),
            ..at.clone()
        };
        let previous = self.last.insert(key.clone(), (msg.id, msg.pos));
        let Some((last_id, last_pos)) = previous else {
            return Ok(());
        };
        // Messages a rate limit dropped on purpose are announced by a `gap`
        // field on the next one written; their ids are not a loss.
        let dropped = msg.dropped_messages().unwrap_or(0);
        let id_ok = if self.lax {
            msg.id > last_id
        } else {
            msg.id == last_id.wrapping_add(1).wrapping_add(dropped)
        };
        if !id_ok {
            return Err(Error::IdGap {
                at,
                rec: key,
                previous: last_id,
                found: msg.id,
            });
        }
        if msg.pos < last_pos {
            return Err(Error::PosBackwards {
                at,
                rec: key,
                previous: last_pos,
                found: msg.pos,
            });
        }
        Ok(())
    }
}

/// Reads messages from lines of JSON, parsing and validating each.
///
/// Yields each message, or the error that stops it: a line that does not
/// parse, a missing field, an id gap, and so on, located by line and message
/// id. After an error the reader can go on: a line that did not parse is
/// skipped; a message that parsed but failed the sequence checks is yielded
/// right after its error, so a lax caller loses nothing it could read.
#[derive(Debug)]
pub struct Reader<R> {
    inner: R,
    source: Option<String>,
    line: u64,
    buf: Vec<u8>,
    validator: Validator,
    stashed: Option<Message>,
    done: bool,
}

impl<R: BufRead> Reader<R> {
    /// A reader over `inner`; `source` names it in errors (a path, `-`).
    pub fn new(inner: R, source: Option<String>, lax: bool) -> Self {
        Reader {
            inner,
            source,
            line: 0,
            buf: Vec::with_capacity(8192),
            validator: Validator::new(lax),
            stashed: None,
            done: false,
        }
    }

    /// The line number of the last line read.
    pub fn line(&self) -> u64 {
        self.line
    }

    fn location(&self) -> Location {
        Location {
            source: self.source.clone(),
            line: self.line,
            id: None,
        }
    }

    fn read_one(&mut self) -> Option<Result<Message>> {
        loop {
            self.buf.clear();
            match self.inner.read_until(b'\n', &mut self.buf) {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(_) => {}
                Err(source) => {
                    self.done = true;
                    return Some(Err(Error::Io {
                        at: self.location(),
                        source,
                    }));
                }
            }
            self.line += 1;
            let complete = self.buf.last() == Some(&b'\n');
            let text = trim_line(&self.buf);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let at = self.location();
            let text = match std::str::from_utf8(text) {
                Ok(text) => text,
                Err(e) => {
                    let reason = format!(
                        "the line is not UTF-8 (bad byte at offset {})",
                        e.valid_up_to()
                    );
                    return Some(Err(Error::InvalidField {
                        at,
                        field: "line",
                        reason,
                    }));
                }
            };
            let parsed = Message::parse(text, &at).map_err(|e| match e {
                // A damaged last line is a truncated write, whatever the
                // parser's complaint.
                Error::Json { at, .. } if !complete => Error::Truncated { at },
                e => e,
            });
            let msg = match parsed {
                Ok(msg) => msg,
                Err(e) => return Some(Err(e)),
            };
            if let Err(e) = self.validator.check(&msg, &at) {
                self.stashed = Some(msg);
                return Some(Err(e));
            }
            return Some(Ok(msg));
        }
    }
}

fn trim_line(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && (line[end - 1] == b'\n' || line[end - 1] == b'\r') {
        end -= 1;
    }
    &line[..end]
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Message>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(msg) = self.stashed.take() {
            return Some(Ok(msg));
        }
        if self.done {
            return None;
        }
        self.read_one().map(|r| {
            r.map_err(|mut e| {
                if let Some(loc) = e.location_mut()
                    && loc.source.is_none()
                {
                    loc.source.clone_from(&self.source);
                }
                e
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(rec: &str, id: u64, pos: u64) -> String {
        format!(
            r#"{{"ver":"2.3","host":"h","rec":"{rec}","user":"u","term":"t","session":1,"id":{id},"pos":{pos},"time":1.000,"timing":">1","in_txt":"","in_bin":[],"out_txt":"x","out_bin":[]}}"#
        )
    }

    fn read(input: &str, lax: bool) -> Vec<std::result::Result<u64, String>> {
        Reader::new(input.as_bytes(), Some("f".into()), lax)
            .map(|r| r.map(|m| m.id).map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn interleaved_recordings_validate_separately() {
        let s = [
            line("a", 1, 0),
            line("b", 1, 0),
            line("a", 2, 5),
            line("b", 2, 9),
        ]
        .join("\n");
        assert_eq!(read(&s, false), vec![Ok(1), Ok(1), Ok(2), Ok(2)]);
    }

    #[test]
    fn id_gap_names_line_and_id_then_yields_the_message() {
        let s = [line("a", 1, 0), line("a", 3, 5)].join("\n") + "\n";
        let r = read(&s, false);
        assert_eq!(r[0], Ok(1));
        let err = r[1].as_ref().expect_err("gap");
        assert!(err.contains("f:line 2 (message id 3)"), "{err}");
        assert!(err.contains("expected 2"), "{err}");
        assert_eq!(r[2], Ok(3));
        assert_eq!(read(&s, true), vec![Ok(1), Ok(3)]);
    }

    #[test]
    fn pos_going_back_is_an_error() {
        let s = [line("a", 1, 10), line("a", 2, 5)].join("\n");
        assert!(
            read(&s, false)[1]
                .as_ref()
                .expect_err("pos")
                .contains("goes back")
        );
    }

    #[test]
    fn truncated_last_line_is_reported() {
        let full = line("a", 1, 0);
        let s = format!("{full}\n{}", &line("a", 2, 5)[..40]);
        let r = read(&s, false);
        assert_eq!(r[0], Ok(1));
        let err = r[1].as_ref().expect_err("truncated");
        assert!(err.contains("line 2") && err.contains("truncated"), "{err}");
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn garbage_line_is_skipped_after_its_error() {
        let s = [line("a", 1, 0), "not json".into(), line("a", 2, 5)].join("\n");
        let r = read(&s, false);
        assert!(
            r[1].as_ref()
                .expect_err("json")
                .contains("line 2: invalid JSON")
        );
        assert_eq!(r[2], Ok(2));
    }

    #[test]
    fn a_marked_gap_is_not_damage() {
        let marked = line("a", 5, 9).replace("}", r#","gap":{"messages":3,"bytes":700}}"#);
        let s = [line("a", 1, 0), marked].join("\n");
        assert_eq!(read(&s, false), vec![Ok(1), Ok(5)]);
    }
}
