//! JSON string escaping exactly as tlog writes it.
//!
//! tlog escapes `"` and `\`, writes `\b \f \n \r \t` in their short forms and
//! every other C0 control and DEL as `\u00XX` (lower-case hex); everything
//! else, C1 controls included, goes out as raw UTF-8.

/// The escaped form of one byte below 0x80, if it needs one.
#[inline]
pub(crate) fn escape_ascii(b: u8) -> Option<&'static [u8]> {
    Some(match b {
        b'"' => b"\\\"",
        b'\\' => b"\\\\",
        0x08 => b"\\b",
        0x0c => b"\\f",
        b'\n' => b"\\n",
        b'\r' => b"\\r",
        b'\t' => b"\\t",
        0x00..=0x1f | 0x7f => return Some(CONTROL_ESCAPES[control_index(b)]),
        _ => return None,
    })
}

/// Whether byte `b` goes out as it is: ASCII that [`escape_ascii`] leaves
/// alone.
#[inline]
pub(crate) fn is_plain(b: u8) -> bool {
    (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\'
}

#[inline]
fn control_index(b: u8) -> usize {
    if b == 0x7f { 32 } else { b as usize }
}

/// `\u00XX` for each C0 control (index = byte) and DEL (index 32).
static CONTROL_ESCAPES: [&[u8]; 33] = [
    b"\\u0000", b"\\u0001", b"\\u0002", b"\\u0003", b"\\u0004", b"\\u0005", b"\\u0006", b"\\u0007",
    b"\\u0008", b"\\u0009", b"\\u000a", b"\\u000b", b"\\u000c", b"\\u000d", b"\\u000e", b"\\u000f",
    b"\\u0010", b"\\u0011", b"\\u0012", b"\\u0013", b"\\u0014", b"\\u0015", b"\\u0016", b"\\u0017",
    b"\\u0018", b"\\u0019", b"\\u001a", b"\\u001b", b"\\u001c", b"\\u001d", b"\\u001e", b"\\u001f",
    b"\\u007f",
];

/// Length of the escaped form of a character whose UTF-8 form is `seq`.
#[inline]
pub(crate) fn escaped_len(seq: &[u8]) -> usize {
    match seq {
        [b] => escape_ascii(*b).map_or(1, <[u8]>::len),
        _ => seq.len(),
    }
}

/// Appends `s` to `out`, escaped as tlog escapes strings.
pub fn escape_str_into(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    // At least the text itself: one allocation where growing would take
    // several (a keyframe's screen is kilobytes).
    out.reserve(bytes.len());
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        // Most bytes need nothing: one test before the table.
        if b >= 0x20 && b != b'"' && b != b'\\' && b != 0x7f {
            continue;
        }
        if let Some(esc) = escape_ascii(b) {
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(esc);
            start = i + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {

    #[test]
    fn plain_bytes_are_those_escape_ascii_leaves_alone() {
        for b in 0..0x80u8 {
            assert_eq!(is_plain(b), escape_ascii(b).is_none(), "byte {b:#04x}");
        }
    }

    use super::*;

    fn esc(s: &str) -> String {
        let mut v = Vec::new();
        escape_str_into(s, &mut v);
        String::from_utf8(v).expect("escaping keeps UTF-8")
    }

    #[test]
    fn escapes_like_tlog() {
        assert_eq!(esc("a\"b\\c"), r#"a\"b\\c"#);
        assert_eq!(esc("\u{8}\u{c}\n\r\t"), r"\b\f\n\r\t");
        assert_eq!(esc("\u{0}\u{1b}\u{7f}"), r"\u0000\u001b\u007f");
        // C1 controls, NBSP, BOM and U+10FFFF stay raw.
        assert_eq!(
            esc("\u{9b}\u{a0}\u{feff}\u{10ffff}"),
            "\u{9b}\u{a0}\u{feff}\u{10ffff}"
        );
    }

    #[test]
    fn escaped_len_matches_escape() {
        for b in 0u8..0x80 {
            let s = (b as char).to_string();
            assert_eq!(escaped_len(s.as_bytes()), esc(&s).len(), "byte {b:#x}");
        }
    }
}
