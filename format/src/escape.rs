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

/// The longest escaped form of one ASCII byte (`\u00XX`).
pub(crate) const MAX_ESCAPED: usize = 6;

/// Escapes `bytes` into `out` from its start, up to the first byte of
/// 0x80 or more; returns how many bytes were taken and how many written.
/// `out` must hold [`MAX_ESCAPED`] bytes for each byte of `bytes`. The
/// encoder's hot loop: plain bytes are found eight at a time and copied
/// eight at a time (what is copied beyond them is overwritten after),
/// with no call per byte or per stretch: most stretches between escapes
/// are a few bytes long (a line of numbers, a prompt).
#[inline]
pub(crate) fn escape_ascii_prefix(bytes: &[u8], out: &mut [u8]) -> (usize, usize) {
    debug_assert!(out.len() >= bytes.len() * MAX_ESCAPED);
    let (mut i, mut o) = (0, 0);
    while let Some(&b) = bytes.get(i) {
        // Eight bytes ahead: room for them in `out`, since what is left of
        // `bytes` has room for MAX_ESCAPED bytes each.
        if let Some(chunk) = bytes[i..].first_chunk::<8>() {
            out[o..o + 8].copy_from_slice(chunk);
            let plain = (not_plain(u64::from_le_bytes(*chunk)).trailing_zeros() / 8) as usize;
            i += plain;
            o += plain;
            if plain == 8 {
                continue;
            }
            // A line's end, the commonest escapes by far, in one step.
            if bytes[i..].starts_with(b"\r\n") {
                out[o..o + 4].copy_from_slice(b"\\r\\n");
                i += 2;
                o += 4;
                continue;
            }
        } else if is_plain(b) {
            out[o] = b;
            i += 1;
            o += 1;
            continue;
        }
        // Bytes to escape, one after another (`\r\n`), until a plain one.
        while let Some(&b) = bytes.get(i) {
            match KIND[usize::from(b)] {
                PLAIN => break,
                CONTROL => {
                    let esc = CONTROL_ESCAPES[control_index(b)];
                    out[o..o + MAX_ESCAPED].copy_from_slice(&esc[..MAX_ESCAPED]);
                    o += MAX_ESCAPED;
                }
                BEYOND_ASCII => return (i, o),
                short => {
                    out[o] = b'\\';
                    out[o + 1] = short;
                    o += 2;
                }
            }
            i += 1;
        }
    }
    (i, o)
}

/// What [`escape_ascii_prefix`] does with each byte: [`PLAIN`], [`CONTROL`]
/// (`\u00XX`), [`BEYOND_ASCII`], or the letter of its short escape.
static KIND: [u8; 256] = {
    let mut kind = [BEYOND_ASCII; 256];
    let mut b = 0;
    while b < 0x80 {
        kind[b] = match b as u8 {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x0c => b'f',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x00..=0x1f | 0x7f => CONTROL,
            _ => PLAIN,
        };
        b += 1;
    }
    kind
};
const PLAIN: u8 = 0;
const CONTROL: u8 = 1;
const BEYOND_ASCII: u8 = 2;

/// The high bit of each byte of the result is set where that byte of `x`
/// is not plain (see [`is_plain`]): at or above 0x80, below 0x20, DEL,
/// `"` or `\`. Computed on the low seven bits of each byte, where no sum
/// carries into the next byte.
#[inline]
fn not_plain(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let low = x & !HIGH;
    // High bit set where the byte is 0x20 or more.
    let printable = low + 0x60 * ONES;
    // High bit set where the byte equals `c`.
    let equals = |c: u8| !((low ^ (u64::from(c) * ONES)) + 0x7f * ONES);
    (x | !printable | equals(0x7f) | equals(b'"') | equals(b'\\')) & HIGH
}

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
    fn not_plain_flags_exactly_the_bytes_is_plain_rejects() {
        for b in 0..=0xffu8 {
            for other in [b' ', b'"', 0x7f, 0x80, 0, b'a', 0xff] {
                for at in 0..8 {
                    let mut word = [other; 8];
                    word[at] = b;
                    let flags = not_plain(u64::from_le_bytes(word)).to_le_bytes();
                    for (k, &w) in word.iter().enumerate() {
                        assert_eq!(
                            flags[k] == 0x80,
                            !is_plain(w),
                            "byte {w:#04x} at {k} of {word:?}"
                        );
                        assert!(flags[k] == 0 || flags[k] == 0x80);
                    }
                }
            }
        }
    }

    #[test]
    fn the_prefix_escaper_escapes_as_escape_ascii_up_to_the_first_non_ascii_byte() {
        let all: Vec<u8> = (0..=0xffu8).chain(0..0x80).collect();
        for start in 0..all.len() {
            let bytes = &all[start..];
            let mut out = vec![0; bytes.len() * MAX_ESCAPED];
            let (taken, written) = escape_ascii_prefix(bytes, &mut out);
            let ascii = bytes.iter().position(|&b| b >= 0x80).unwrap_or(bytes.len());
            assert_eq!(taken, ascii, "from {start}");
            let want: Vec<u8> = bytes[..ascii]
                .iter()
                .flat_map(|b| escape_ascii(*b).unwrap_or(std::slice::from_ref(b)).to_vec())
                .collect();
            assert_eq!(&out[..written], &want[..], "from {start}");
        }
    }

    #[test]
    fn escaped_len_matches_escape() {
        for b in 0u8..0x80 {
            let s = (b as char).to_string();
            assert_eq!(escaped_len(s.as_bytes()), esc(&s).len(), "byte {b:#x}");
        }
    }
}
