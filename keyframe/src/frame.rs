//! The `kf` field: one keyframe, encoded as a JSON object.

use serde::Deserialize;
use termtape_emu::Terminal;
use termtape_format::{Location, escape_str_into};

use crate::error::{Error, Result};

/// The name of the extra message field that holds a keyframe.
pub const FIELD: &str = termtape_format::extension::KEYFRAME;

/// The keyframe format version this crate writes (and the only one it reads).
pub const VERSION: u64 = 1;

/// A terminal's whole state: its size and the escape sequences that recreate
/// it on a fresh terminal of that size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyframe {
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
    /// The terminal's snapshot ([`Terminal::snapshot`]).
    pub vt: String,
    /// The bytes of a UTF-8 character the terminal has begun to read but
    /// not finished (a string cannot hold them); usually empty.
    pub tail: Vec<u8>,
}

/// The `kf` object as it is in JSON.
#[derive(Deserialize)]
struct Wire {
    v: u64,
    cols: u16,
    rows: u16,
    vt: String,
    #[serde(default)]
    tail: Vec<u8>,
}

impl Keyframe {
    /// The state of `term`.
    pub fn capture(term: &Terminal) -> Keyframe {
        let (vt, tail) = term.snapshot_and_tail();
        Keyframe {
            cols: term.cols(),
            rows: term.rows(),
            vt,
            tail: tail.to_vec(),
        }
    }

    /// The terminal this keyframe describes.
    pub fn restore(&self) -> Terminal {
        let mut term = Terminal::from_snapshot(self.cols, self.rows, &self.vt);
        if !self.tail.is_empty() {
            term.feed(&self.tail);
        }
        term
    }

    /// Appends the `kf` value (a JSON object) to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"v\":");
        out.extend_from_slice(VERSION.to_string().as_bytes());
        out.extend_from_slice(b",\"cols\":");
        out.extend_from_slice(self.cols.to_string().as_bytes());
        out.extend_from_slice(b",\"rows\":");
        out.extend_from_slice(self.rows.to_string().as_bytes());
        out.extend_from_slice(b",\"vt\":\"");
        escape_str_into(&self.vt, out);
        out.push(b'"');
        if !self.tail.is_empty() {
            out.extend_from_slice(b",\"tail\":[");
            for (i, b) in self.tail.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b.to_string().as_bytes());
            }
            out.push(b']');
        }
        out.push(b'}');
    }

    /// The `kf` value as a string of JSON.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(self.vt.len() + 64);
        self.write_json(&mut out);
        // Built from a `String` and ASCII only.
        String::from_utf8(out).unwrap_or_default()
    }

    /// Decodes a `kf` value; `at` is the message it rides on, for errors.
    pub fn parse(json: &str, at: &Location) -> Result<Keyframe> {
        // The version first, so that a future keyframe with other fields is
        // reported as such rather than as a malformed one.
        let version: serde_json::Value =
            serde_json::from_str(json).map_err(|e| Error::Invalid {
                at: at.clone(),
                reason: e.to_string(),
            })?;
        match version.get("v").and_then(serde_json::Value::as_u64) {
            Some(VERSION) => {}
            Some(version) => {
                return Err(Error::Version {
                    at: at.clone(),
                    version,
                });
            }
            None => {
                return Err(Error::Invalid {
                    at: at.clone(),
                    reason: "no version number \"v\"".to_owned(),
                });
            }
        }
        let wire: Wire = serde_json::from_value(version).map_err(|e| Error::Invalid {
            at: at.clone(),
            reason: e.to_string(),
        })?;
        debug_assert_eq!(wire.v, VERSION);
        if wire.cols == 0 || wire.rows == 0 {
            return Err(Error::Invalid {
                at: at.clone(),
                reason: format!("size {}x{} is empty", wire.cols, wire.rows),
            });
        }
        Ok(Keyframe {
            cols: wire.cols,
            rows: wire.rows,
            vt: wire.vt,
            tail: wire.tail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Location {
        Location {
            source: Some("f.log".into()),
            line: 7,
            id: Some(3),
        }
    }

    #[test]
    fn round_trip_keeps_an_unfinished_character() {
        let mut term = Terminal::new(10, 2);
        term.feed("\x1b[31mé\"\\\x1b]0;t\x07".as_bytes());
        term.feed(b"\xe2\x82");
        let kf = Keyframe::capture(&term);
        assert_eq!(kf.tail, b"\xe2\x82");
        let json = kf.to_json();
        let back = Keyframe::parse(&json, &at()).expect("parses");
        assert_eq!(back, kf);
        let mut restored = back.restore();
        assert_eq!(restored, term);
        restored.feed(b"\xac");
        term.feed(b"\xac");
        assert_eq!(restored, term);
        assert_eq!(restored.row_text(0), "é\"\\€");
    }

    #[test]
    fn errors_name_the_message() {
        let e = Keyframe::parse(r#"{"v":2,"cols":1,"rows":1,"vt":""}"#, &at()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.log:line 7 (message id 3): keyframe version 2 is not supported (this reader knows 1)"
        );
        let e = Keyframe::parse(r#"{"v":1,"cols":0,"rows":1,"vt":""}"#, &at()).unwrap_err();
        assert!(e.to_string().contains("size 0x1 is empty"), "{e}");
        let e = Keyframe::parse(r#"{"v":1,"cols":3}"#, &at()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("f.log:line 7 (message id 3): invalid keyframe")
        );
        assert!(Keyframe::parse("[1]", &at()).is_err());
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    /// Bytes that exercise the emulator: text, controls, escape sequences,
    /// invalid UTF-8 and cut characters.
    fn output() -> impl Strategy<Value = Vec<u8>> {
        let pieces: Vec<&'static [u8]> = vec![
            b"text ",
            b"\r\n",
            "ü日本€".as_bytes(),
            b"\xe2\x82",
            b"\xff",
            b"\x1b[1;31m",
            b"\x1b[0m",
            b"\x1b[?1049h",
            b"\x1b[?1049l",
            b"\x1b[3;5r",
            b"\x1b[2J",
            b"\x1b]2;title \"q\" \\\x07",
            b"\x1b(0x\x1b(B",
            b"\x1b[",
            b"12;",
            b"\t",
        ];
        prop::collection::vec(prop::sample::select(pieces), 0..80).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn json_round_trip_restores_the_terminal_exactly(
            bytes in output(),
            cols in 1u16..100,
            rows in 1u16..40,
        ) {
            let mut term = Terminal::new(cols, rows);
            term.feed(&bytes);
            let json = Keyframe::capture(&term).to_json();
            serde_json::from_str::<serde_json::Value>(&json).expect("valid JSON");
            let kf = Keyframe::parse(&json, &Location::default()).expect("parses");
            prop_assert_eq!(term.diff(&kf.restore()), None);
        }
    }
}
