//! Cells and their graphic rendition: colours, attributes, underline styles.

/// A foreground or background colour.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum Color {
    /// The terminal's default colour.
    #[default]
    Default,
    /// A palette entry: 0–7 normal, 8–15 bright, 16–255 the xterm 256-colour cube and greys.
    Indexed(u8),
    /// A 24-bit colour.
    Rgb(u8, u8, u8),
}

/// Underline style (SGR 4, 4:0–4:5 and 21).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum Underline {
    /// Not underlined.
    #[default]
    None,
    /// SGR 4 or 4:1.
    Single,
    /// SGR 21 or 4:2.
    Double,
    /// SGR 4:3.
    Curly,
    /// SGR 4:4.
    Dotted,
    /// SGR 4:5.
    Dashed,
}

impl Underline {
    fn from_bits(b: u16) -> Underline {
        match b {
            1 => Underline::Single,
            2 => Underline::Double,
            3 => Underline::Curly,
            4 => Underline::Dotted,
            5 => Underline::Dashed,
            _ => Underline::None,
        }
    }

    fn bits(self) -> u16 {
        match self {
            Underline::None => 0,
            Underline::Single => 1,
            Underline::Double => 2,
            Underline::Curly => 3,
            Underline::Dotted => 4,
            Underline::Dashed => 5,
        }
    }
}

pub(crate) const BOLD: u16 = 1 << 0;
pub(crate) const FAINT: u16 = 1 << 1;
pub(crate) const ITALIC: u16 = 1 << 2;
pub(crate) const BLINK: u16 = 1 << 3;
pub(crate) const INVERSE: u16 = 1 << 4;
pub(crate) const HIDDEN: u16 = 1 << 5;
pub(crate) const STRIKE: u16 = 1 << 6;
const UL_SHIFT: u16 = 7;
pub(crate) const UL_MASK: u16 = 0b111 << UL_SHIFT;
/// The bits that make up a pen's attributes (the rest are cell layout flags).
pub(crate) const ATTR_MASK: u16 = (1 << 10) - 1;
/// The first column of a double-width character.
pub(crate) const WIDE: u16 = 1 << 10;
/// The second column of a double-width character (holds no text).
pub(crate) const SPACER: u16 = 1 << 11;
/// The cell carries combining marks, kept beside the row.
pub(crate) const MARKS: u16 = 1 << 12;

/// Graphic rendition: colours and attributes, as SGR sets them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Pen {
    pub(crate) fg: Color,
    pub(crate) bg: Color,
    pub(crate) flags: u16,
}

impl Pen {
    /// Foreground colour.
    pub fn fg(&self) -> Color {
        self.fg
    }
    /// Background colour.
    pub fn bg(&self) -> Color {
        self.bg
    }
    /// SGR 1.
    pub fn bold(&self) -> bool {
        self.flags & BOLD != 0
    }
    /// SGR 2.
    pub fn faint(&self) -> bool {
        self.flags & FAINT != 0
    }
    /// SGR 3.
    pub fn italic(&self) -> bool {
        self.flags & ITALIC != 0
    }
    /// SGR 5 (and 6).
    pub fn blink(&self) -> bool {
        self.flags & BLINK != 0
    }
    /// SGR 7.
    pub fn inverse(&self) -> bool {
        self.flags & INVERSE != 0
    }
    /// SGR 8.
    pub fn hidden(&self) -> bool {
        self.flags & HIDDEN != 0
    }
    /// SGR 9.
    pub fn strike(&self) -> bool {
        self.flags & STRIKE != 0
    }
    /// Underline style.
    pub fn underline(&self) -> Underline {
        Underline::from_bits((self.flags & UL_MASK) >> UL_SHIFT)
    }
    /// True for the pen of a fresh terminal.
    pub fn is_default(&self) -> bool {
        *self == Pen::default()
    }

    pub(crate) fn set_underline(&mut self, u: Underline) {
        self.flags = (self.flags & !UL_MASK) | (u.bits() << UL_SHIFT);
    }
}

/// One character cell of the screen.
///
/// A double-width character occupies two cells: the first holds the character
/// ([`Cell::width`] 2), the second is a continuation ([`Cell::width`] 0).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Cell {
    pub(crate) ch: char,
    pub(crate) fg: Color,
    pub(crate) bg: Color,
    pub(crate) flags: u16,
}

impl Default for Cell {
    fn default() -> Cell {
        Cell::BLANK
    }
}

impl Cell {
    pub(crate) const BLANK: Cell = Cell {
        ch: ' ',
        fg: Color::Default,
        bg: Color::Default,
        flags: 0,
    };

    /// An erased cell: xterm erases with the current background colour only.
    #[inline]
    pub(crate) fn erased(bg: Color) -> Cell {
        Cell {
            ch: ' ',
            fg: Color::Default,
            bg,
            flags: 0,
        }
    }

    #[inline]
    pub(crate) fn new(ch: char, pen: Pen, flags: u16) -> Cell {
        Cell {
            ch,
            fg: pen.fg,
            bg: pen.bg,
            flags: pen.flags | flags,
        }
    }

    /// The character (a space for blank cells and for continuations).
    pub fn ch(&self) -> char {
        self.ch
    }
    /// Columns this cell's character occupies: 1, 2, or 0 for the second half of a wide one.
    pub fn width(&self) -> u8 {
        if self.flags & SPACER != 0 {
            0
        } else if self.flags & WIDE != 0 {
            2
        } else {
            1
        }
    }
    /// True for the second column of a double-width character.
    pub fn is_continuation(&self) -> bool {
        self.flags & SPACER != 0
    }
    /// True when combining marks follow the character (see `Terminal::cell_text`).
    pub fn has_combining(&self) -> bool {
        self.flags & MARKS != 0
    }
    /// Colours and attributes.
    pub fn pen(&self) -> Pen {
        Pen {
            fg: self.fg,
            bg: self.bg,
            flags: self.flags & ATTR_MASK,
        }
    }
    /// A blank cell with default rendition.
    #[inline]
    pub fn is_blank(&self) -> bool {
        // Field by field, the colours by variant only: the same as comparing
        // with `Cell::BLANK`, without comparing the colours' payloads.
        self.ch == ' '
            && self.flags == 0
            && matches!(self.fg, Color::Default)
            && matches!(self.bg, Color::Default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_is_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<Cell>(), 16);
    }

    #[test]
    fn underline_round_trips_through_flags() {
        let mut p = Pen::default();
        for u in [
            Underline::Single,
            Underline::Double,
            Underline::Curly,
            Underline::Dotted,
            Underline::Dashed,
            Underline::None,
        ] {
            p.set_underline(u);
            assert_eq!(p.underline(), u);
        }
    }
}
