//! The terminal: both screen buffers, cursor, modes, and what each control does.
//!
//! Behaviour follows xterm (its `ctlseqs` document, and its source where the
//! document is silent); each deviation is noted where it is made.
//!
//! One module a job: [`state`] holds the state and rebuilds it (RIS,
//! resize), [`edit`] moves the cursor and edits the screen, [`mod@print`] puts
//! text on it (with the fast paths), [`dispatch`] says what each control and
//! sequence does, [`scrolloff`] keeps the lines scrolled off the top for a
//! reader (search); this module is the public face, [`Terminal`].

use std::collections::VecDeque;
use std::fmt::Write as _;

use crate::cell::{Cell, MARKS, Pen, SPACER};
use crate::charset::Charset;
use crate::grid::Row;
use crate::parser::Parser;

mod dispatch;
mod edit;
mod lines;
mod print;
mod scrolloff;
mod state;

pub(crate) use state::{Core, LastPrint, Saved};
pub use state::{Cursor, MAX_COLS, MAX_ROWS, Modes, MouseEncoding, MouseMode};

/// A terminal emulator: feed it output bytes, read its screen.
///
/// See the crate documentation for an overview and an example.
#[derive(Clone, PartialEq, Debug)]
pub struct Terminal {
    parser: Parser,
    pub(crate) core: Core,
}

impl Terminal {
    /// A fresh terminal of `cols` × `rows` (each clamped to 1..=1024), without scrollback.
    pub fn new(cols: u16, rows: u16) -> Terminal {
        Terminal::with_scrollback(cols, rows, 0)
    }

    /// A fresh terminal that keeps up to `lines` lines scrolled off the top of the primary screen.
    pub fn with_scrollback(cols: u16, rows: u16, lines: usize) -> Terminal {
        Terminal {
            parser: Parser::default(),
            core: Core::new(cols, rows, lines),
        }
    }

    /// A fresh terminal of the given size with `snapshot` (from [`Terminal::snapshot`]
    /// or [`Terminal::snapshot_bytes`]) fed to it.
    pub fn from_snapshot(cols: u16, rows: u16, snapshot: impl AsRef<[u8]>) -> Terminal {
        let mut t = Terminal::new(cols, rows);
        t.feed(snapshot.as_ref());
        t
    }

    /// Processes output text.
    pub fn feed_str(&mut self, s: &str) {
        self.feed(s.as_bytes());
    }

    /// Changes the size (each dimension clamped to 1..=1024). Lines do not reflow:
    /// rows are cut or padded on the right, and when the screen gets shorter,
    /// lines above the cursor scroll off the top (into scrollback, for the
    /// primary screen). The scroll region resets to the whole screen.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.core.resize(cols, rows);
    }

    /// Columns.
    pub fn cols(&self) -> u16 {
        self.core.cols
    }

    /// Rows.
    pub fn rows(&self) -> u16 {
        self.core.rows
    }

    /// The cursor.
    pub fn cursor(&self) -> Cursor {
        let c = &self.core;
        Cursor {
            row: c.row,
            col: c.col,
            pending_wrap: c.pending_wrap,
            visible: c.modes.cursor_visible,
        }
    }

    /// The current rendition that printed characters get.
    pub fn pen(&self) -> Pen {
        self.core.pen
    }

    /// The terminal's modes.
    pub fn modes(&self) -> Modes {
        self.core.modes
    }

    /// True while the alternate screen is shown.
    pub fn is_alternate_screen(&self) -> bool {
        self.core.alt_active
    }

    /// The scroll region (DECSTBM) as 0-based inclusive (top, bottom) rows.
    pub fn scroll_region(&self) -> (u16, u16) {
        (self.core.top, self.core.bottom)
    }

    /// Columns with a tab stop.
    pub fn tab_stops(&self) -> Vec<u16> {
        (0..self.core.cols)
            .filter(|&c| self.core.tabs[c as usize])
            .collect()
    }

    /// Character sets designated into G0–G3, and which one is invoked into GL (0–3).
    pub fn charsets(&self) -> ([Charset; 4], u8) {
        (self.core.charsets, self.core.gl)
    }

    /// The window title (OSC 0 or 2).
    pub fn title(&self) -> &str {
        &self.core.title
    }

    /// The icon name (OSC 0 or 1).
    pub fn icon_name(&self) -> &str {
        &self.core.icon
    }

    /// The cell at (`row`, `col`) of the shown screen.
    pub fn cell(&self, row: u16, col: u16) -> Option<&Cell> {
        self.core
            .screen()
            .get(row as usize)?
            .cells()
            .get(col as usize)
    }

    /// The text of a cell: its character followed by any combining marks.
    /// Empty for the second half of a wide character or out of range.
    pub fn cell_text(&self, row: u16, col: u16) -> String {
        let Some(r) = self.core.screen().get(row as usize) else {
            return String::new();
        };
        match r.cells().get(col as usize) {
            Some(c) if c.flags & SPACER == 0 => {
                let mut s = String::from(c.ch);
                if c.flags & MARKS != 0 {
                    s.push_str(r.marks_at(col as usize));
                }
                s
            }
            _ => String::new(),
        }
    }

    /// The text of row `row` of the shown screen, trailing blanks trimmed.
    pub fn row_text(&self, row: u16) -> String {
        self.core
            .screen()
            .get(row as usize)
            .map(Row::text)
            .unwrap_or_default()
    }

    /// The shown screen as plain text: one line per row, trailing blanks
    /// trimmed, trailing empty lines kept (so there are always `rows` lines).
    pub fn text(&self) -> String {
        let mut s = String::new();
        for (i, row) in self.core.screen().iter().enumerate() {
            if i > 0 {
                s.push('\n');
            }
            s.push_str(&row.text());
        }
        s
    }

    /// Lines in scrollback.
    pub fn scrollback_len(&self) -> usize {
        self.core.scrollback.len()
    }

    /// The text of scrollback line `i` (0 is the oldest).
    pub fn scrollback_text(&self, i: usize) -> Option<String> {
        self.core.scrollback.get(i).map(Row::text)
    }

    /// [`Terminal::row_text`] into `out`, which is cleared first.
    pub fn row_text_into(&self, row: u16, out: &mut String) {
        match self.core.screen().get(row as usize) {
            Some(r) => r.text_into(out),
            None => out.clear(),
        }
    }

    /// Whether a row anywhere keeps a text its cells no longer show.
    #[cfg(test)]
    pub(crate) fn has_stale_rows(&self) -> bool {
        let c = &self.core;
        c.primary
            .iter()
            .chain(&c.alternate)
            .chain(&c.scrollback)
            .any(Row::is_stale)
    }

    /// Bytes of heap the terminal holds (allocated capacity, parser included).
    pub fn heap_size(&self) -> usize {
        use std::mem::size_of;
        let screen = |s: &VecDeque<Row>| {
            s.capacity() * size_of::<Row>() + s.iter().map(Row::heap_size).sum::<usize>()
        };
        let c = &self.core;
        screen(&c.primary)
            + screen(&c.alternate)
            + c.scrollback.capacity() * size_of::<Row>()
            + c.scrollback.iter().map(Row::heap_size).sum::<usize>()
            + c.scrolled_off.heap_size()
            + c.tabs.capacity()
            + c.title.capacity()
            + c.icon.capacity()
            + self.parser.heap_size()
    }

    /// True when no escape sequence is half-read.
    pub fn in_ground_state(&self) -> bool {
        self.parser.in_ground() && self.parser.partial_utf8().is_empty()
    }

    pub(crate) fn parser(&self) -> &Parser {
        &self.parser
    }

    /// Describes the first difference between two terminals' observable state,
    /// or `None` when they are equal (`self == other`). Meant for tests.
    pub fn diff(&self, other: &Terminal) -> Option<String> {
        if self == other {
            return None;
        }
        let (a, b) = (&self.core, &other.core);
        let mut out = String::new();
        if (a.cols, a.rows) != (b.cols, b.rows) {
            let _ = write!(out, "size {}x{} vs {}x{}", a.cols, a.rows, b.cols, b.rows);
            return Some(out);
        }
        for (name, sa, sb) in [
            ("primary", &a.primary, &b.primary),
            ("alternate", &a.alternate, &b.alternate),
        ] {
            for (i, (ra, rb)) in sa.iter().zip(sb.iter()).enumerate() {
                if ra != rb {
                    let col = ra.cells().iter().zip(rb.cells()).position(|(x, y)| x != y);
                    let _ = write!(
                        out,
                        "{name} row {i} col {col:?}: {:?} vs {:?}; ",
                        ra.text(),
                        rb.text()
                    );
                    if let Some(c) = col {
                        let _ = write!(out, "{:?} vs {:?}", ra.cells()[c], rb.cells()[c]);
                    } else {
                        let _ = write!(out, "marks {:?} vs {:?}", ra.marks(), rb.marks());
                    }
                    return Some(out);
                }
            }
        }
        macro_rules! field {
            ($($f:ident),*) => {$(
                if a.$f != b.$f {
                    let _ = write!(out, "{}: {:?} vs {:?}", stringify!($f), a.$f, b.$f);
                    return Some(out);
                }
            )*};
        }
        field!(
            alt_active,
            row,
            col,
            pending_wrap,
            pen,
            charsets,
            gl,
            ss,
            saved,
            top,
            bottom,
            modes,
            tabs,
            title,
            icon,
            last,
            scrollback_limit,
            scrolled_off
        );
        if a.scrollback != b.scrollback {
            return Some("scrollback".to_string());
        }
        let (mut pa, mut pb) = (String::new(), String::new());
        self.parser.write_pending(&mut pa);
        other.parser.write_pending(&mut pb);
        Some(format!(
            "parser: {pa:?} {:?} vs {pb:?} {:?}",
            self.parser.partial_utf8(),
            other.parser.partial_utf8()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_to_one_by_one_with_wide_chars_survives() {
        let mut t = Terminal::new(10, 3);
        t.feed("中文\r\n中".as_bytes());
        t.resize(1, 1);
        t.feed("中x".as_bytes());
        assert_eq!(t.text(), "x");
        t.resize(5, 2);
        t.feed("ab中".as_bytes());
        // The cursor stayed at column 0, so "ab" overwrites the "x".
        assert_eq!(t.row_text(0), "ab中");
    }

    #[test]
    fn fresh_200x50_terminal_takes_under_400_kib() {
        let t = Terminal::new(200, 50);
        // Two screens of 10,000 cells at 16 bytes, plus row headers.
        assert!(t.heap_size() >= 2 * 10_000 * 16);
        assert!(t.heap_size() <= 400 * 1024, "{}", t.heap_size());
    }

    #[test]
    fn sizes_are_clamped() {
        let t = Terminal::new(0, 65535);
        assert_eq!((t.cols(), t.rows()), (1, MAX_ROWS));
    }
}
