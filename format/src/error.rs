//! Errors of reading, validating and decoding tlog messages.

use std::fmt;

/// Where in a stream a message came from: its line and, when known, its id
/// and recording.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// Name of the source (a file path, `-`, `journal`), if known.
    pub source: Option<String>,
    /// 1-based line number in the source (or entry number in a journal);
    /// 0 when not known (a message found by byte offset or journal cursor).
    pub line: u64,
    /// The message's `id` field, if it could be read.
    pub id: Option<u64>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line 0 means the line is not known: left out, not shown as "line 0".
        let place = match (&self.source, self.line) {
            (Some(source), 0) => source.clone(),
            (Some(source), line) => format!("{source}:line {line}"),
            (None, 0) => String::new(),
            (None, line) => format!("line {line}"),
        };
        match self.id {
            Some(id) if place.is_empty() => write!(f, "message id {id}")?,
            Some(id) => write!(f, "{place} (message id {id})")?,
            None if place.is_empty() => f.write_str("message")?,
            None => f.write_str(&place)?,
        }
        Ok(())
    }
}

/// What went wrong with a message, or with reading a stream of them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The line is not a JSON object of the expected shape.
    #[error("{at}: invalid JSON: {source}")]
    Json {
        /// Where.
        at: Location,
        /// serde_json's description of the problem.
        #[source]
        source: serde_json::Error,
    },
    /// The last line of the stream ends without a newline and does not parse:
    /// the writer was stopped in the middle of it.
    #[error("{at}: truncated message (the line ends before the JSON object does)")]
    Truncated {
        /// Where.
        at: Location,
    },
    /// A required field is absent.
    #[error("{at}: missing field \"{field}\"")]
    MissingField {
        /// Where.
        at: Location,
        /// The field's name.
        field: &'static str,
    },
    /// A field has a value that tlog would reject.
    #[error("{at}: invalid \"{field}\": {reason}")]
    InvalidField {
        /// Where.
        at: Location,
        /// The field's name.
        field: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// The message's `ver` has a major version this reader does not know.
    #[error("{at}: unsupported format version {ver:?} (this reader knows 2.x)")]
    Version {
        /// Where.
        at: Location,
        /// The version found.
        ver: String,
    },
    /// The timing string does not match the text and binary fields.
    #[error("{at}: bad timing: {reason}")]
    Timing {
        /// Where.
        at: Location,
        /// What does not match.
        reason: String,
    },
    /// Message ids of a recording do not go up by one (or, lax, do not go
    /// up at all).
    #[error("{at}: message id {found} follows {previous} in recording {rec:?} ({})", expected_id(*previous, *dropped, *expected))]
    IdGap {
        /// Where.
        at: Location,
        /// The recording.
        rec: String,
        /// The id of the previous message of this recording.
        previous: u64,
        /// The id found.
        found: u64,
        /// The id a strict reader expected (the previous one, plus one, plus
        /// the messages the `gap` field says were dropped); `None` for a lax
        /// reader, which expects any id above the previous one.
        expected: Option<u64>,
        /// Messages the message's `gap` field says were dropped before it.
        dropped: u64,
    },
    /// A line is longer than [`crate::MAX_LINE_LEN`]: no writer makes such a
    /// message, and a reader holds at most that much of one line.
    #[error(
        "{at}: line longer than {} MiB, the most a message may take (no writer makes one)",
        crate::MAX_LINE_LEN >> 20
    )]
    TooLong {
        /// Where (the line; its id is not read).
        at: Location,
    },
    /// A message's `pos` is before its predecessor's.
    #[error("{at}: pos {found} ms goes back from {previous} ms in recording {rec:?}")]
    PosBackwards {
        /// Where.
        at: Location,
        /// The recording.
        rec: String,
        /// The previous message's pos, in milliseconds.
        previous: u64,
        /// This message's pos, in milliseconds.
        found: u64,
    },
    /// The encoder was asked for a payload size it cannot work with.
    #[error("payload size {0} is below the minimum of {min} bytes", min = crate::chunk::MIN_PAYLOAD)]
    PayloadTooSmall(usize),
    /// Reading the underlying source failed.
    #[error("{at}: read error: {source}")]
    Io {
        /// Where.
        at: Location,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The `at` of every variant that has one, by reference or by mutable
/// reference (`$at` is bound to it).
macro_rules! location_of {
    ($error:expr, $at:ident => $found:expr) => {
        match $error {
            Error::Json { $at, .. }
            | Error::Truncated { $at }
            | Error::MissingField { $at, .. }
            | Error::InvalidField { $at, .. }
            | Error::Version { $at, .. }
            | Error::Timing { $at, .. }
            | Error::IdGap { $at, .. }
            | Error::PosBackwards { $at, .. }
            | Error::TooLong { $at }
            | Error::Io { $at, .. } => Some($found),
            Error::PayloadTooSmall(_) => None,
        }
    };
}

impl Error {
    /// An I/O error of the source named `name` (a path, `journal:DIR`),
    /// at no line in particular.
    pub fn io(name: &str, source: std::io::Error) -> Error {
        Error::Io {
            at: Location {
                source: Some(name.to_owned()),
                ..Location::default()
            },
            source,
        }
    }

    /// The location the error refers to, if any.
    pub fn location(&self) -> Option<&Location> {
        location_of!(self, at => at)
    }

    /// True for an I/O error of the source, as opposed to damage in the data.
    pub fn is_io(&self) -> bool {
        matches!(self, Error::Io { .. })
    }

    /// The location the error refers to, to correct it (a reader started
    /// mid-file counts lines from there).
    pub fn location_mut(&mut self) -> Option<&mut Location> {
        location_of!(self, at => at)
    }
}

/// What an [`Error::IdGap`] says was expected.
fn expected_id(previous: u64, dropped: u64, expected: Option<u64>) -> String {
    match expected {
        None => format!("expected an id above {previous}"),
        Some(id) if dropped == 0 => format!("expected {id}"),
        Some(id) => {
            format!("expected {id}: {dropped} message(s) dropped by a rate limit before it")
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_text_quoted_in_errors_has_its_controls_escaped() {
        let hostile = "r\x1b]52;c;eA==\x07\u{9b}6n\u{202e}".to_owned();
        for e in [
            Error::Version {
                at: Location::default(),
                ver: hostile.clone(),
            },
            Error::IdGap {
                at: Location::default(),
                rec: hostile.clone(),
                previous: 1,
                found: 5,
                expected: Some(2),
                dropped: 0,
            },
            Error::PosBackwards {
                at: Location::default(),
                rec: hostile.clone(),
                previous: 9,
                found: 5,
            },
        ] {
            let text = e.to_string();
            assert!(
                !text.contains(['\x1b', '\x07', '\u{9b}', '\u{202e}']),
                "{text}"
            );
            assert!(
                text.contains(r"\u{1b}]52;c;eA==\u{7}\u{9b}6n\u{202e}"),
                "{text}"
            );
        }
    }
}
