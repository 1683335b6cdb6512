//! The `redacted` and `input_redaction` fields: keys typed while the
//! terminal hid them, recorded as a count instead of the bytes.
//!
//! A recorder that logs input leaves out what is typed at a password prompt
//! (the recorded program turned the terminal's echo off) and marks the place
//! on the message that would have held those keys with a `redacted` field:
//! an array of marks, each saying how many keys (`keys`) were left out,
//! when the first of them was typed (`at`, milliseconds from the
//! recording's start, as `pos`) and where in the message's input they were
//! (`in`: how many bytes of the message's input, decoded, come before
//! them). Readers show each mark where it belongs, e.g. `«7 keys
//! redacted»`, never as nothing.
//!
//! ```json
//! "redacted":[{"at":5120,"in":3,"keys":7}]
//! ```
//!
//! A key is a character as typed: one byte, or the bytes of one UTF-8
//! character (a key that sends an escape sequence counts as several).
//!
//! A recording whose input was logged with redaction turned off says so on
//! its first message, `"input_redaction":"none"`, and readers of its input
//! warn that passwords may be in it.
//!
//! tlog-play and Cockpit ignore both fields; in the journal they are the
//! fields `TERMTAPE_X_REDACTED` and `TERMTAPE_X_INPUT_REDACTION`.

use serde::{Deserialize, Serialize};

/// The name of the field holding redaction marks.
pub const REDACTED_FIELD: &str = "redacted";

/// The name of the first message's field saying that input was logged
/// without redaction (its value: `"none"`).
pub const INPUT_REDACTION_FIELD: &str = "input_redaction";

/// At most this many marks are read from one message's field.
pub const MAX_REDACTIONS: usize = 4096;

/// Keys typed and left out of the recording.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    /// Milliseconds from the recording's start to the first of them.
    pub at: u64,
    /// Bytes of the message's input (decoded) before them.
    #[serde(rename = "in")]
    pub offset: u64,
    /// How many keys were left out.
    pub keys: u64,
}

impl Redaction {
    /// The marks of a `redacted` field's raw JSON value; a value that is
    /// not an array of marks is an error naming why. At most
    /// [`MAX_REDACTIONS`] are kept.
    pub fn parse_field(raw: &str) -> Result<Vec<Redaction>, String> {
        let mut marks: Vec<Redaction> =
            serde_json::from_str(raw).map_err(|e| format!("bad redacted field: {e}"))?;
        marks.truncate(MAX_REDACTIONS);
        Ok(marks)
    }

    /// The field's raw JSON value for `marks`.
    pub fn field(marks: &[Redaction]) -> String {
        serde_json::to_string(marks).expect("plain structs serialise")
    }

    /// The mark readers show in place of the keys: `«7 keys redacted»`.
    pub fn label(&self) -> String {
        match self.keys {
            1 => "«1 key redacted»".to_owned(),
            n => format!("«{n} keys redacted»"),
        }
    }
}

impl crate::Message {
    /// The redaction marks this message carries (its `redacted` field),
    /// sorted by place; none if it has no such field; a malformed field is
    /// an error at `at`.
    pub fn redactions(&self, at: &crate::Location) -> crate::Result<Vec<Redaction>> {
        match self.extra(REDACTED_FIELD) {
            None => Ok(Vec::new()),
            Some(raw) => {
                let mut marks = Redaction::parse_field(raw.get()).map_err(|reason| {
                    crate::Error::InvalidField {
                        at: at.clone(),
                        field: REDACTED_FIELD,
                        reason,
                    }
                })?;
                marks.sort_by_key(|m| m.offset);
                Ok(marks)
            }
        }
    }

    /// Whether this message says its recording's input was logged without
    /// redaction (`"input_redaction":"none"`).
    pub fn unredacted_input(&self) -> bool {
        self.extra(INPUT_REDACTION_FIELD)
            .is_some_and(|raw| raw.get() == "\"none\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Location, Message};

    fn message(extra: &str) -> Message {
        let line = format!(
            r#"{{"ver":"2.3","host":"h","rec":"r","user":"u","term":"xterm","session":1,"id":1,"pos":0,"timing":"<2","in_txt":"ls","in_bin":[],"out_txt":"","out_bin":[]{extra}}}"#
        );
        Message::parse(&line, &Location::default()).expect("message")
    }

    #[test]
    fn marks_round_trip_sorted_and_bad_ones_are_named() {
        let marks = [
            Redaction {
                at: 900,
                offset: 2,
                keys: 1,
            },
            Redaction {
                at: 10,
                offset: 0,
                keys: 7,
            },
        ];
        let raw = Redaction::field(&marks);
        assert_eq!(
            raw,
            r#"[{"at":900,"in":2,"keys":1},{"at":10,"in":0,"keys":7}]"#
        );
        let m = message(&format!(r#","redacted":{raw}"#));
        let read = m.redactions(&Location::default()).expect("valid");
        assert_eq!(read, vec![marks[1], marks[0]]);
        assert_eq!(read[0].label(), "«7 keys redacted»");
        assert_eq!(read[1].label(), "«1 key redacted»");
        assert!(
            message("")
                .redactions(&Location::default())
                .expect("none")
                .is_empty()
        );
        let err = message(r#","redacted":{"keys":1}"#)
            .redactions(&Location::default())
            .expect_err("not an array");
        assert!(err.to_string().contains("redacted"), "{err}");
        assert!(Redaction::parse_field(r#"[{"at":1,"in":0}]"#).is_err());
    }

    #[test]
    fn unredacted_input_is_read_from_the_first_message() {
        assert!(message(r#","input_redaction":"none""#).unredacted_input());
        assert!(!message(r#","input_redaction":"echo-off""#).unredacted_input());
        assert!(!message("").unredacted_input());
    }
}
