//! Snapshots: the terminal's whole state as standard VT escape sequences, and
//! the screen as ANSI text.
//!
//! A snapshot, fed to a freshly reset terminal of the same size, recreates the
//! state exactly. The sequences used are ones xterm, xterm.js and
//! asciinema-player all understand: RIS, CUP, CUF, SGR, DECSTBM, DECSET/DECRST
//! 6/7/47/…, SM 4/20, SCS, SI/SO/LS2/LS3, SS2/SS3, HTS, TBC, DECSC, DECKPAM,
//! DECSCUSR, OSC 0/1/2. How the less obvious parts are recreated:
//!
//! - *Pending wrap* can only be produced by printing into the last column, so
//!   the cell under the cursor is printed again, with its own rendition.
//! - *Saved cursors* are set up (position, rendition, charsets, origin mode,
//!   wrap flag) and saved with DECSC, on each screen.
//! - *The last printed character* (what REP repeats) is printed again, last,
//!   at the place it went to; in insert mode its row is drawn without it first.
//! - *A half-read escape sequence* is written out as the shortest prefix that
//!   puts the parser in the same state.
//!
//! Scrollback is not part of a snapshot.

use std::collections::VecDeque;
use std::fmt::Write as _;

use crate::cell::{Cell, Color, MARKS, Pen, SPACER, Underline};
use crate::charset::Charset;
use crate::grid::Row;
use crate::terminal::{LastPrint, MouseEncoding, MouseMode, Saved, Terminal};

struct Writer {
    out: String,
    pen: Pen,
    /// Length of `out` right after the last character printed.
    printed_at: usize,
}

/// Appends a decimal number (what `write!` does, several times faster).
fn num(out: &mut String, n: u16) {
    let mut buf = [0u8; 5];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &buf[i..] {
        out.push(d as char);
    }
}

fn color(out: &mut String, c: Color, base: u16) {
    match c {
        Color::Default => num(out, base + 9),
        Color::Indexed(n) if n < 8 => num(out, base + u16::from(n)),
        Color::Indexed(n) if n < 16 => num(out, base + 60 + u16::from(n - 8)),
        Color::Indexed(n) => {
            num(out, base + 8);
            out.push_str(";5;");
            num(out, u16::from(n));
        }
        Color::Rgb(r, g, b) => {
            num(out, base + 8);
            out.push_str(";2;");
            num(out, u16::from(r));
            out.push(';');
            num(out, u16::from(g));
            out.push(';');
            num(out, u16::from(b));
        }
    }
    out.push(';');
}

impl Writer {
    /// Emits the shortest SGR that changes the pen from the current one to `to`.
    ///
    /// Inlined for the common case, called for every cell drawn: the pen has
    /// not changed (the out-of-line body sets up its tables before anything).
    #[inline(always)]
    fn sgr(&mut self, to: Pen) {
        if self.pen != to {
            self.sgr_change(to);
        }
    }

    #[inline(never)]
    fn sgr_change(&mut self, to: Pen) {
        if to.is_default() {
            self.out.push_str("\x1b[0m");
            self.pen = to;
            return;
        }
        let from = self.pen;
        let out = &mut self.out;
        out.push_str("\x1b[");
        let start = out.len();
        // Attributes switched off: each has its own reset (ECMA-48), so the
        // common cases ("bold off") stay short; 22 clears bold and faint.
        let mut base = from;
        let removed = from.flags & !to.flags;
        // Tables in statics rather than array literals in the loops: those
        // were built on the stack at every call.
        static OFF: [(u16, &str); 6] = [
            (crate::cell::BOLD | crate::cell::FAINT, "22;"),
            (crate::cell::ITALIC, "23;"),
            (crate::cell::BLINK, "25;"),
            (crate::cell::INVERSE, "27;"),
            (crate::cell::HIDDEN, "28;"),
            (crate::cell::STRIKE, "29;"),
        ];
        static ON: [(u16, &str); 7] = [
            (crate::cell::BOLD, "1;"),
            (crate::cell::FAINT, "2;"),
            (crate::cell::ITALIC, "3;"),
            (crate::cell::BLINK, "5;"),
            (crate::cell::INVERSE, "7;"),
            (crate::cell::HIDDEN, "8;"),
            (crate::cell::STRIKE, "9;"),
        ];
        if removed & !crate::cell::UL_MASK != 0 {
            for &(bits, code) in &OFF {
                if removed & bits != 0 {
                    out.push_str(code);
                    base.flags &= !bits;
                }
            }
        }
        let added = to.flags & !base.flags & !crate::cell::UL_MASK;
        if added != 0 {
            for &(bit, code) in &ON {
                if added & bit != 0 {
                    out.push_str(code);
                }
            }
        }
        if to.underline() != base.underline() {
            out.push_str(match to.underline() {
                Underline::None => "24;",
                Underline::Single => "4;",
                Underline::Double => "21;",
                Underline::Curly => "4:3;",
                Underline::Dotted => "4:4;",
                Underline::Dashed => "4:5;",
            });
        }
        if to.fg != base.fg {
            color(out, to.fg, 30);
        }
        if to.bg != base.bg {
            color(out, to.bg, 40);
        }
        if out.len() > start {
            out.pop();
        }
        out.push('m');
        self.pen = to;
    }

    fn cup(&mut self, row: u16, col: u16) {
        match (row, col) {
            (0, 0) => self.out.push_str("\x1b[H"),
            (r, 0) => {
                self.out.push_str("\x1b[");
                num(&mut self.out, r + 1);
                self.out.push('H');
            }
            (r, c) => {
                self.out.push_str("\x1b[");
                num(&mut self.out, r + 1);
                self.out.push(';');
                num(&mut self.out, c + 1);
                self.out.push('H');
            }
        }
    }

    /// Prints a cell (and its combining marks) with its rendition.
    #[inline(always)]
    fn cell(&mut self, row: &Row, col: usize) {
        let cell = row.cells()[col];
        self.sgr(cell.pen());
        self.out.push(cell.ch);
        if cell.flags & MARKS != 0 {
            self.out.push_str(row.marks_at(col));
        }
        self.printed_at = self.out.len();
    }

    /// Draws a screen onto a blank one; `cursor_free` says the cursor position
    /// does not matter between rows (it never does here).
    fn draw(&mut self, screen: &VecDeque<Row>, shift: Option<LastPrint>) {
        // The last row drawn.
        let mut prev: Option<usize> = None;
        for (r, row) in screen.iter().enumerate() {
            let shifted;
            let row = match shift {
                Some(l) if l.row as usize == r => {
                    let mut tmp = row.clone();
                    tmp.delete(l.col as usize, l.width as usize, Cell::BLANK);
                    shifted = tmp;
                    &shifted
                }
                _ => row,
            };
            let Some(last) = row.cells().iter().rposition(|c| !c.is_blank()) else {
                continue;
            };
            if prev.is_some_and(|p| p + 1 == r) {
                // The next line: CR LF is shorter than CUP (the region is the
                // whole screen and LNM is off while the screens are drawn).
                self.out.push_str("\r\n");
            } else {
                self.cup(r as u16, 0);
            }
            prev = Some(r);
            let mut col = 0;
            while col <= last {
                let cell = row.cells()[col];
                if cell.is_blank() {
                    let n = row.cells()[col..=last]
                        .iter()
                        .take_while(|c| c.is_blank())
                        .count();
                    if self.pen.is_default() && n < 4 {
                        for _ in 0..n {
                            self.out.push(' ');
                        }
                    } else {
                        self.out.push_str("\x1b[");
                        num(&mut self.out, n as u16);
                        self.out.push('C');
                    }
                    col += n;
                    continue;
                }
                if cell.flags & SPACER != 0 {
                    col += 1;
                    continue;
                }
                self.cell(row, col);
                col += cell.width() as usize;
            }
        }
    }

    /// Puts the cursor on the last column of `row` with the wrap flag set, by
    /// printing that cell again. Origin mode, if set, must have full margins.
    fn wrap_at(&mut self, screen: &VecDeque<Row>, row: u16, rel_row: u16, cols: usize) {
        let cells = &screen[row as usize];
        let mut col = cols - 1;
        if cells.cells()[col].flags & SPACER != 0 && col > 0 {
            col -= 1;
        }
        self.cup(rel_row, col as u16);
        self.cell(cells, col);
    }

    fn charsets(&mut self, sets: [Charset; 4], gl: u8) {
        for (g, set) in sets.iter().enumerate() {
            if *set != Charset::Ascii {
                self.out.push('\x1b');
                self.out.push(['(', ')', '*', '+'][g]);
                self.out.push(set.final_byte());
            }
        }
        match gl {
            1 => self.out.push('\x0e'),
            2 => self.out.push_str("\x1bn"),
            3 => self.out.push_str("\x1bo"),
            _ => {}
        }
    }

    /// Sets up a screen's saved cursor and saves it with DECSC.
    fn saved(&mut self, s: &Saved, screen: &VecDeque<Row>, cols: usize) {
        if *s == Saved::default() {
            return;
        }
        if s.origin {
            self.out.push_str("\x1b[?6h");
        }
        if s.pending_wrap {
            self.wrap_at(screen, s.row, s.row, cols);
        } else {
            self.cup(s.row, s.col);
        }
        self.charsets(s.charsets, s.gl);
        self.sgr(s.pen);
        self.out.push_str("\x1b7");
        if s.origin {
            self.out.push_str("\x1b[?6l");
        }
        self.charsets_reset(s.charsets, s.gl);
    }

    fn charsets_reset(&mut self, sets: [Charset; 4], gl: u8) {
        for (g, set) in sets.iter().enumerate() {
            if *set != Charset::Ascii {
                self.out.push('\x1b');
                self.out.push(['(', ')', '*', '+'][g]);
                self.out.push('B');
            }
        }
        if gl != 0 {
            self.out.push('\x0f');
        }
    }
}

impl Terminal {
    /// The whole state as VT escape sequences: fed to a fresh terminal of the
    /// same size ([`Terminal::from_snapshot`]), it recreates this one exactly,
    /// except for scrollback and for an incomplete UTF-8 character at the end
    /// of the input (which a `String` cannot hold; [`Terminal::snapshot_bytes`]
    /// includes it).
    pub fn snapshot(&self) -> String {
        let c = &self.core;
        let cols = c.cols as usize;
        let alt_used = c.alt_active
            || c.saved[1] != Saved::default()
            || c.alternate.iter().any(|r| !r.is_blank());
        // Room for two bytes a cell on each screen drawn: a busy screen's
        // text and colour changes, without growing the string on the way.
        let screens = if alt_used { 2 } else { 1 };
        let mut w = Writer {
            out: String::with_capacity(256 + screens * cols * c.rows as usize * 2),
            pen: Pen::default(),
            printed_at: 0,
        };
        w.out.push_str("\x1bc");
        let shift = c.last.filter(|l| c.modes.insert && l.width > 0);
        if alt_used {
            w.out.push_str("\x1b[?47h");
            w.draw(&c.alternate, shift.filter(|_| c.alt_active));
            w.saved(&c.saved[1], &c.alternate, cols);
            w.out.push_str("\x1b[?47l");
        }
        w.draw(&c.primary, shift.filter(|_| !c.alt_active));
        w.saved(&c.saved[0], &c.primary, cols);
        if c.alt_active {
            w.out.push_str("\x1b[?47h");
        }
        let default_tabs = (0..cols).all(|i| c.tabs[i] == (i % 8 == 0 && i != 0));
        if !default_tabs {
            w.out.push_str("\x1b[3g");
            for i in (0..cols).filter(|&i| c.tabs[i]) {
                w.cup(0, i as u16);
                w.out.push_str("\x1bH");
            }
        }
        if (c.top, c.bottom) != (0, c.rows - 1) {
            let _ = write!(w.out, "\x1b[{};{}r", c.top + 1, c.bottom + 1);
        }
        let origin_top = if c.modes.origin {
            w.out.push_str("\x1b[?6h");
            c.top
        } else {
            0
        };
        if c.last.is_none() {
            if c.pending_wrap {
                w.wrap_at(c.screen(), c.row, c.row.saturating_sub(origin_top), cols);
            } else {
                w.cup(c.row.saturating_sub(origin_top), c.col);
            }
        }
        w.charsets(c.charsets, c.gl);
        w.sgr(c.pen);
        let m = &c.modes;
        for (on, seq) in [
            (!m.autowrap, "\x1b[?7l"),
            (m.insert, "\x1b[4h"),
            (m.newline, "\x1b[20h"),
            (m.app_cursor, "\x1b[?1h"),
            (m.reverse_video, "\x1b[?5h"),
            (m.cursor_blink, "\x1b[?12h"),
            (!m.cursor_visible, "\x1b[?25l"),
            (m.app_keypad, "\x1b="),
            (m.focus_events, "\x1b[?1004h"),
            (m.bracketed_paste, "\x1b[?2004h"),
        ] {
            if on {
                w.out.push_str(seq);
            }
        }
        w.out.push_str(match m.mouse {
            MouseMode::Off => "",
            MouseMode::X10 => "\x1b[?9h",
            MouseMode::Normal => "\x1b[?1000h",
            MouseMode::ButtonEvent => "\x1b[?1002h",
            MouseMode::AnyEvent => "\x1b[?1003h",
        });
        w.out.push_str(match m.mouse_encoding {
            MouseEncoding::Default => "",
            MouseEncoding::Utf8 => "\x1b[?1005h",
            MouseEncoding::Sgr => "\x1b[?1006h",
            MouseEncoding::Urxvt => "\x1b[?1015h",
        });
        if m.cursor_style != 0 {
            let _ = write!(w.out, "\x1b[{} q", m.cursor_style);
        }
        if c.title == c.icon {
            if !c.title.is_empty() {
                let _ = write!(w.out, "\x1b]0;{}\x07", c.title);
            }
        } else {
            if !c.icon.is_empty() {
                let _ = write!(w.out, "\x1b]1;{}\x07", c.icon);
            }
            if !c.title.is_empty() {
                let _ = write!(w.out, "\x1b]2;{}\x07", c.title);
            }
        }
        match c.ss {
            2 => w.out.push_str("\x1bN"),
            3 => w.out.push_str("\x1bO"),
            _ => {}
        }
        if c.last.is_none() && w.printed_at == w.out.len() && w.printed_at > 0 {
            // Nothing may repeat the cell just drawn (REP): end with a no-op
            // control, a lone ST, which every terminal ignores.
            w.out.push_str("\x1b\\");
        }
        if let Some(l) = c.last {
            match l.ss {
                2 => w.out.push_str("\x1bN"),
                3 => w.out.push_str("\x1bO"),
                _ => {}
            }
            w.cup(l.row.saturating_sub(origin_top), l.col);
            w.out.push(l.raw);
        }
        self.parser().write_pending(&mut w.out);
        w.out
    }

    /// [`Terminal::snapshot`] and, apart, the bytes of a UTF-8 character
    /// begun but not finished (usually none): together exact in every case,
    /// as [`Terminal::snapshot_bytes`], without checking the text again.
    pub fn snapshot_and_tail(&self) -> (String, &[u8]) {
        (self.snapshot(), self.parser().partial_utf8())
    }

    /// [`Terminal::snapshot`] plus any incomplete UTF-8 character: exact in every case.
    pub fn snapshot_bytes(&self) -> Vec<u8> {
        let mut v = self.snapshot().into_bytes();
        v.extend_from_slice(self.parser().partial_utf8());
        v
    }

    /// The shown screen as text with SGR sequences: one line per row
    /// (separated by `\n`), trailing blanks trimmed, rendition reset at the end
    /// of each line. For printing, not for restoring (see [`Terminal::snapshot`]).
    pub fn to_ansi(&self) -> String {
        let mut w = Writer {
            out: String::new(),
            pen: Pen::default(),
            printed_at: 0,
        };
        for (r, row) in self.core.screen().iter().enumerate() {
            if r > 0 {
                w.out.push('\n');
            }
            let Some(last) = row.cells().iter().rposition(|c| !c.is_blank()) else {
                continue;
            };
            let mut col = 0;
            while col <= last {
                let cell = row.cells()[col];
                if cell.flags & SPACER != 0 {
                    col += 1;
                    continue;
                }
                w.cell(row, col);
                col += cell.width().max(1) as usize;
            }
            w.sgr(Pen::default());
        }
        w.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(input: &[u8]) {
        let mut t = Terminal::new(20, 6);
        t.feed(input);
        let snap = t.snapshot_bytes();
        let r = Terminal::from_snapshot(20, 6, &snap);
        assert_eq!(
            t.diff(&r),
            None,
            "input {:?}\nsnapshot {:?}",
            String::from_utf8_lossy(input),
            String::from_utf8_lossy(&snap)
        );
    }

    #[test]
    fn round_trips_basic_states() {
        round_trip(b"hello\r\nworld");
        round_trip(b"\x1b[31;1mred\x1b[0m plain \x1b[4:3;38;2;1;2;3mcurly");
        round_trip(b"12345678901234567890");
        round_trip(b"12345678901234567890\x1b[5D");
        round_trip(b"\x1b[2;4r\x1b[?6h\x1b[2;3Hx\x1b[4h");
        round_trip(b"\x1b[?1049habc\x1b[?25l\x1b[?1000h\x1b[?1006h");
        round_trip(b"abc\x1b7\x1b[?47hxyz\x1b[?47l");
        round_trip(b"\x1b(0lqk\x0e\x1b)0x\x1b]2;title\x07");
        round_trip(b"x\x1b[3g\x1b[5G\x1bH\x1b[15G\x1bH");
        round_trip("中文 e\u{301} 😀".as_bytes());
        round_trip(b"ab\x1b[4hc");
        round_trip(b"\x1b[1;2");
        round_trip(b"\x1b]2;partial");
        round_trip(b"1234567890123456789\xe4\xb8\xad");
        round_trip(b"\x1b[?7l12345678901234567890abc");
        round_trip(b"\x1bNq");
        round_trip(b"\x1b(0\x1bN");
        round_trip(b"abc\x1b[5;19H\x1b[41mxy\x1b7\x1b[1;1H");
        round_trip("aaaaaaaaaaaaaaaaaaaa──────x\r\n\x1b[1m=========".as_bytes());
        round_trip(b"xxxxxxxxxxxxxxxxxxxx\r\nyyyyyyy");
        round_trip(b"\x1b[4hzzzzzzz\x1b[2Dzz");
    }

    #[test]
    fn to_ansi_has_colours_and_text() {
        let mut t = Terminal::new(10, 2);
        t.feed(b"\x1b[31mhi\x1b[0m there");
        assert_eq!(t.to_ansi(), "\x1b[31mhi\x1b[0m there\n");
    }
}
