//! Text from a recording made safe to print on the reviewer's terminal.
//!
//! Every field of a recording (user, host, term, rec, a found line, a
//! charset name, an error that quotes any of them) is written by the
//! recorded user or by whoever can write to the journal. Sent raw to a
//! terminal, an `ESC ] 52 ; c ; … BEL` in a user name sets the reviewer's
//! clipboard and a DECRQSS makes the terminal type its answer into the
//! reviewer's shell. Text mode therefore prints each such field through
//! [`visible`], which writes what would act on a terminal, or disguise the
//! text, as plain characters:
//!
//! | what | shown as |
//! |---|---|
//! | TAB, LF, CR, ESC | `\t`, `\n`, `\r`, `\e` |
//! | other C0 controls and DEL | `\x00` … `\x1f`, `\x7f` |
//! | C1 controls (U+0080–U+009F) | `\u{80}` … `\u{9f}` |
//! | bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) | `\u{202e}` etc. |
//! | line and paragraph separators (U+2028, U+2029) | `\u{2028}`, `\u{2029}` |
//! | bytes that are not UTF-8 ([`visible_bytes`]) | `\xff` (always ≥ `\x80`, so never confused with a character) |
//!
//! A backslash is left as it is: user names such as `DOMAIN\alice` read
//! as they are, at the price of `\e` typed literally looking like an
//! escaped ESC. `--json` gives the exact values; [`json_line`] writes them
//! with the same characters as `\u` escapes.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// Whether `c` must not reach a terminal as it is.
pub(crate) fn hidden(c: char) -> bool {
    matches!(c,
        '\0'..='\x1f' | '\x7f'..='\u{9f}'
        | '\u{61c}' | '\u{200e}' | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// Writes `c`'s visible form.
fn escape(c: char, out: &mut impl fmt::Write) -> fmt::Result {
    match c {
        '\t' => out.write_str("\\t"),
        '\n' => out.write_str("\\n"),
        '\r' => out.write_str("\\r"),
        '\x1b' => out.write_str("\\e"),
        '\0'..='\x1f' | '\x7f' => write!(out, "\\x{:02x}", c as u32),
        _ => write!(out, "\\u{{{:x}}}", c as u32),
    }
}

/// `text` with every control character (C0, DEL, C1), bidirectional
/// control and line separator written visibly; borrowed when there is none.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hidden(c) {
            // Writing to a String cannot fail.
            let _ = escape(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// As [`visible`], for bytes that may not be UTF-8: each byte of an
/// invalid sequence is written `\xNN`.
pub fn visible_bytes(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => visible(text),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len() + 8);
            for chunk in bytes.utf8_chunks() {
                out.push_str(&visible(chunk.valid()));
                for b in chunk.invalid() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
            Cow::Owned(out)
        }
    }
}

/// A [`fmt::Display`] of a text through [`visible`], for `format!`.
#[derive(Debug, Clone, Copy)]
pub struct Visible<'a>(pub &'a str);

impl fmt::Display for Visible<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if hidden(c) {
                escape(c, f)?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// `value` as one line of JSON in which every character [`visible`]
/// writes visibly is a `\u` escape (serde_json escapes C0 controls but
/// writes DEL, C1 and bidirectional controls raw); the value is unchanged
/// for a JSON reader.
pub fn json_line(value: &serde_json::Value) -> String {
    let json = value.to_string();
    if !json.chars().any(hidden) {
        return json;
    }
    // Outside strings JSON is ASCII without controls, so each such
    // character is inside a string, where `\uXXXX` stands for it.
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if hidden(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_written_visibly() {
        assert_eq!(
            visible("a\x1b]52;c;Y3VybA==\x07\x1b]2;PWNED\x07b"),
            r"a\e]52;c;Y3VybA==\x07\e]2;PWNED\x07b"
        );
        assert_eq!(visible("\t\n\r\0\x7f"), r"\t\n\r\x00\x7f");
        assert_eq!(
            visible("\u{9b}6n\u{9d}0;x\u{9c}"),
            r"\u{9b}6n\u{9d}0;x\u{9c}"
        );
    }

    #[test]
    fn bidirectional_controls_are_written_visibly() {
        // "txt.exe" disguised as "exe.txt" by a right-to-left override.
        assert_eq!(visible("root\u{202e}txt.exe"), r"root\u{202e}txt.exe");
        for c in [
            '\u{202a}', '\u{202d}', '\u{2066}', '\u{2069}', '\u{200f}', '\u{61c}',
        ] {
            assert!(visible(&c.to_string()).starts_with("\\u{"), "{c:?}");
        }
    }

    #[test]
    fn printable_text_is_borrowed_unchanged() {
        for text in ["alice", "DOMAIN\\bob", "xterm-256color", "Grüße 東京 ✓", ""] {
            assert!(matches!(visible(text), Cow::Borrowed(t) if t == text));
            assert_eq!(Visible(text).to_string(), text);
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_written_as_hex() {
        assert_eq!(visible_bytes(b"ok\x9b6n\xff\x1b"), r"ok\x9b6n\xff\e");
        assert_eq!(visible_bytes("é".as_bytes()), "é");
    }

    #[test]
    fn display_and_function_agree() {
        let text = "u\x1b[6n\u{85}\u{2067}x";
        assert_eq!(Visible(text).to_string(), visible(text));
    }

    #[test]
    fn json_lines_escape_c1_del_and_bidi_and_read_back_the_same() {
        let value = serde_json::json!({"user": "a\u{9b}6n\u{202e}\x7f\x1b"});
        let line = json_line(&value);
        assert_eq!(line, r#"{"user":"a\u009b6n\u202e\u007f\u001b"}"#);
        assert!(line.chars().all(|c| !hidden(c)));
        let back: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        assert_eq!(back, value);
    }
}
