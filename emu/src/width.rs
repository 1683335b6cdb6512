//! Character widths: xterm's wcwidth as the `unicode-width` crate gives it,
//! with the common cases answered before its table.
//!
//! The crate's lookup costs three dependent loads and a few dozen
//! instructions per character, which was a third of the time spent printing
//! CJK text. Here one load answers every character of a 256-code-point block
//! of the Basic Multilingual Plane that has a single width throughout (the
//! CJK ideographs, Hangul, Yi, private use, and so on), and a few ranges cover
//! the common parts of the mixed blocks (Latin-1, Greek and Cyrillic, box
//! drawing, kana) and of the emoji. `fast_widths_agree_with_the_table`
//! checks every code point against the crate, so the two cannot drift apart
//! when the crate is updated without the table being regenerated (the test
//! then fails).

use unicode_width::UnicodeWidthChar;

/// Width of every character in each 256-code-point block of the BMP: 1 or 2
/// when all its characters have that width, 0 when they differ (ask the crate).
static BLOCKS: [u8; 256] = [
    0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1,
    0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 0, 1, 0, 1, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 0, 1, 1, 0, 0,
];

/// Columns a character takes: `Some(0)` for combining marks, `None` for controls.
#[inline(always)]
pub(crate) fn char_width(c: char) -> Option<usize> {
    let u = c as u32;
    if u == 0xFFFD {
        // Every malformed byte becomes one: asked first.
        return Some(1);
    }
    if u < 0x10000 {
        match BLOCKS[(u >> 8) as usize] {
            1 => return Some(1),
            2 => return Some(2),
            _ => {}
        }
        match u {
            // Latin-1; Greek and Cyrillic; box drawing and blocks.
            0xA0..=0xAC | 0xAE..=0xFF | 0x370..=0x482 | 0x2500..=0x25FC => {
                return Some(1);
            }
            // Combining diacritical marks.
            0x300..=0x36F => return Some(0),
            // Hiragana and katakana; fullwidth forms.
            0x3041..=0x3096 | 0x309B..=0x30FF | 0xFF01..=0xFF60 => return Some(2),
            _ => {}
        }
    } else if matches!(
        u,
        // The emoji blocks' commonest pictographs (faces, transport, objects).
        0x1F300..=0x1F320
            | 0x1F337..=0x1F37C
            | 0x1F37E..=0x1F393
            | 0x1F3A0..=0x1F3CA
            | 0x1F3F8..=0x1F43E
            | 0x1F442..=0x1F4FC
            | 0x1F4FF..=0x1F53D
            | 0x1F5FB..=0x1F64F
            | 0x1F680..=0x1F6C5
    ) {
        return Some(2);
    }
    table_width(c)
}

/// The crate's answer, out of line: the fast path above is inlined into the
/// printing loops, this is not.
#[inline(never)]
fn table_width(c: char) -> Option<usize> {
    c.width()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_widths_agree_with_the_table() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(char_width(c), c.width(), "U+{:04X}", c as u32);
        }
    }
}
