//! Gaps: where a rate limit dropped messages of a recording.
//!
//! A recorder that drops messages beyond its rate limit marks the first
//! message written after them with a `gap` field, `{"messages":N,
//! "bytes":M}` (M: bytes of log dropped), and restates the screen with a
//! keyframe. The output in between is lost; every reader says so.

use std::fmt;

use termtape_format::Message;

use crate::visible::Visible;

/// Messages dropped before a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// The recording.
    pub rec: String,
    /// The id of the message after the gap.
    pub id: u64,
    /// Milliseconds from the recording's start to that message.
    pub at: u64,
    /// The same moment, ms since the epoch, when the message says.
    pub time: Option<u64>,
    /// Messages dropped.
    pub messages: u64,
    /// Bytes of log dropped.
    pub bytes: u64,
}

impl Gap {
    /// The gap `msg` announces, if any.
    pub fn of(msg: &Message) -> Option<Gap> {
        let raw = msg.extra(termtape_format::extension::GAP)?;
        let gap: serde_json::Value = serde_json::from_str(raw.get()).ok()?;
        let number = |field| gap.get(field).and_then(serde_json::Value::as_u64);
        Some(Gap {
            rec: msg.recording_key(),
            id: msg.id,
            at: msg.pos,
            time: msg.time,
            messages: number("messages")?,
            bytes: number("bytes").unwrap_or(0),
        })
    }
}

impl fmt::Display for Gap {
    /// One line for stderr: the recording (made visible), the moment, and
    /// what was lost.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "recording {} at {} (message id {}",
            Visible(&self.rec),
            crate::time::duration(self.at),
            self.id
        )?;
        if let Some(time) = self.time {
            write!(f, ", {}", crate::time::local(time))?;
        }
        write!(
            f,
            "): a rate limit dropped {} message(s), {} bytes of log, just before; \
             what they held is not in the recording",
            self.messages, self.bytes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(extra: &str) -> Message {
        let line = format!(
            r#"{{"ver":"2.3","host":"h","rec":"r\u001b]2;x\u0007","user":"u","term":"xterm","session":1,"id":9,"pos":5300,"timing":">1","in_txt":"","in_bin":[],"out_txt":"a","out_bin":[]{extra}}}"#
        );
        Message::parse(&line, &Default::default()).expect("message")
    }

    #[test]
    fn a_gap_is_read_from_its_mark_and_told_with_the_recording_made_visible() {
        assert_eq!(Gap::of(&message("")), None);
        let gap = Gap::of(&message(r#","gap":{"messages":3,"bytes":700}"#)).expect("gap");
        assert_eq!((gap.id, gap.at, gap.messages, gap.bytes), (9, 5300, 3, 700));
        assert_eq!(
            gap.to_string(),
            "recording r\\e]2;x\\x07 at 0:00:05.300 (message id 9): a rate limit dropped \
             3 message(s), 700 bytes of log, just before; what they held is not in the recording"
        );
        assert_eq!(Gap::of(&message(r#","gap":"odd""#)), None);
    }
}
