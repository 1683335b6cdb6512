//! Character widths: xterm's wcwidth as the `unicode-width` crate gives it,
//! looked up in a table of two bits per code point.
//!
//! The crate's own lookup costs three dependent loads and a few dozen
//! instructions per character, and a fast path of common ranges in front of
//! it still left a fifth of the time of printing CJK text in branches on
//! the code point. The table (built by `build.rs` from the same crate
//! version, 32 KiB for the Basic and Supplementary Multilingual Planes)
//! answers with one load and a shift; the rarer planes ask the crate.
//! `columns_agree_with_the_crate` checks every code point.

use unicode_width::UnicodeWidthChar;

/// Code points the table covers: planes 0 and 1.
const COVERED: u32 = 0x20000;

/// Columns of every code point below `COVERED`, two bits each, four per byte.
static TABLE: [u8; (COVERED / 4) as usize] =
    *include_bytes!(concat!(env!("OUT_DIR"), "/widths.bin"));

/// Columns a printable character takes: 0 for combining marks, 2 for wide
/// characters, 1 for the rest (a control, which has no width, counts as 1).
#[inline(always)]
pub(crate) fn columns(c: char) -> usize {
    let u = c as u32;
    if u < COVERED {
        usize::from((TABLE[(u / 4) as usize] >> ((u % 4) * 2)) & 3)
    } else {
        other_plane(c)
    }
}

/// The crate's answer, out of line: the table above is inlined into the
/// printing loops, this is not.
#[inline(never)]
fn other_plane(c: char) -> usize {
    c.width().unwrap_or(1).min(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_agree_with_the_crate() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(
                columns(c),
                c.width().unwrap_or(1).min(2),
                "U+{:04X}",
                c as u32
            );
        }
    }
}
