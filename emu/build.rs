//! Generates the character-width table that `src/width.rs` looks up: the
//! columns (0, 1 or 2) of every code point of the Basic Multilingual Plane
//! and the Supplementary Multilingual Plane (emoji), two bits each, as the
//! `unicode-width` crate (xterm's wcwidth) gives them. Generated at build
//! time from the same crate version the library links, so the two cannot
//! drift apart; `width::tests` checks every code point against the crate.

use std::path::PathBuf;

use unicode_width::UnicodeWidthChar;

/// Code points covered: planes 0 and 1.
const COVERED: u32 = 0x20000;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let mut table = vec![0u8; (COVERED / 4) as usize];
    for u in 0..COVERED {
        // Surrogates are no characters and never reach the table; controls
        // (no width) take one column, as the emulator prints them.
        let columns = char::from_u32(u).map_or(1, |c| c.width().unwrap_or(1).min(2)) as u8;
        table[(u / 4) as usize] |= columns << ((u % 4) * 2);
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("widths.bin"), table).expect("OUT_DIR is writable");
}
