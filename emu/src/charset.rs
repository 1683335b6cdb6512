//! The 94-character sets that G0–G3 can designate (SCS), as xterm maps them to Unicode.

/// A character set designated into G0–G3.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum Charset {
    /// US ASCII (`ESC ( B`).
    #[default]
    Ascii,
    /// DEC Special Graphics, the line-drawing set (`ESC ( 0`).
    DecGraphics,
    /// United Kingdom: `#` is `£` (`ESC ( A`).
    Uk,
}

impl Charset {
    /// The SCS final byte that designates this set.
    pub(crate) fn final_byte(self) -> char {
        match self {
            Charset::Ascii => 'B',
            Charset::DecGraphics => '0',
            Charset::Uk => 'A',
        }
    }

    pub(crate) fn from_final(b: u8) -> Option<Charset> {
        match b {
            b'B' => Some(Charset::Ascii),
            b'0' => Some(Charset::DecGraphics),
            b'A' => Some(Charset::Uk),
            _ => None,
        }
    }

    /// Maps a printable ASCII character through this set.
    #[inline]
    pub(crate) fn map(self, c: char) -> char {
        match self {
            Charset::Ascii => c,
            Charset::Uk => {
                if c == '#' {
                    '£'
                } else {
                    c
                }
            }
            Charset::DecGraphics => dec_graphics(c),
        }
    }
}

/// DEC Special Graphics for 0x5F–0x7E (VT100 User Guide, table 3-9; Unicode as xterm uses).
fn dec_graphics(c: char) -> char {
    match c {
        '_' => '\u{00A0}',
        '`' => '◆',
        'a' => '▒',
        'b' => '␉',
        'c' => '␌',
        'd' => '␍',
        'e' => '␊',
        'f' => '°',
        'g' => '±',
        'h' => '␤',
        'i' => '␋',
        'j' => '┘',
        'k' => '┐',
        'l' => '┌',
        'm' => '└',
        'n' => '┼',
        'o' => '⎺',
        'p' => '⎻',
        'q' => '─',
        'r' => '⎼',
        's' => '⎽',
        't' => '├',
        'u' => '┤',
        'v' => '┴',
        'w' => '┬',
        'x' => '│',
        'y' => '≤',
        'z' => '≥',
        '{' => 'π',
        '|' => '≠',
        '}' => '£',
        '~' => '·',
        _ => c,
    }
}
