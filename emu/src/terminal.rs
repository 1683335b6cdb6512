//! The terminal: both screen buffers, cursor, modes, and what each control does.
//!
//! Behaviour follows xterm (its `ctlseqs` document, and its source where the
//! document is silent); each deviation is noted where it is made.

use std::collections::VecDeque;
use std::fmt::Write as _;

use crate::cell::{self, Cell, Color, MARKS, Pen, SPACER, Underline, WIDE};
use crate::charset::Charset;
use crate::grid::{self, Row};
use crate::parser::{Decoded, Params, Parser, Perform, decode, ends_text};
use crate::width::columns;

/// The widest terminal accepted; larger sizes are clamped.
pub const MAX_COLS: u16 = 1024;
/// The tallest terminal accepted; larger sizes are clamped.
pub const MAX_ROWS: u16 = 1024;

/// Which mouse events the application asked for (DECSET 9, 1000, 1002, 1003).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum MouseMode {
    /// No mouse reporting.
    #[default]
    Off,
    /// DECSET 9: button presses only.
    X10,
    /// DECSET 1000: presses and releases.
    Normal,
    /// DECSET 1002: also motion while a button is held.
    ButtonEvent,
    /// DECSET 1003: all motion.
    AnyEvent,
}

/// How mouse reports are encoded (DECSET 1005, 1006, 1015).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum MouseEncoding {
    /// X10-style bytes.
    #[default]
    Default,
    /// DECSET 1005.
    Utf8,
    /// DECSET 1006.
    Sgr,
    /// DECSET 1015.
    Urxvt,
}

/// Terminal modes set by SM/RM, DECSET/DECRST, DECKPAM/DECKPNM and DECSCUSR.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Modes {
    /// DECAWM (7): wrap at the right margin.
    pub autowrap: bool,
    /// IRM (4): insert instead of replace.
    pub insert: bool,
    /// LNM (20): LF, VT and FF also return the carriage.
    pub newline: bool,
    /// DECOM (6): cursor addressing relative to the scroll region.
    pub origin: bool,
    /// DECCKM (1): cursor keys send application sequences.
    pub app_cursor: bool,
    /// DECKPAM / DECNKM (66): application keypad.
    pub app_keypad: bool,
    /// DECTCEM (25): cursor shown.
    pub cursor_visible: bool,
    /// xterm 12: cursor blinks.
    pub cursor_blink: bool,
    /// DECSCNM (5): reverse video screen.
    pub reverse_video: bool,
    /// xterm 2004: bracketed paste.
    pub bracketed_paste: bool,
    /// xterm 1004: focus in/out reports.
    pub focus_events: bool,
    /// Mouse reporting.
    pub mouse: MouseMode,
    /// Mouse report encoding.
    pub mouse_encoding: MouseEncoding,
    /// DECSCUSR cursor style, 0–6 (0: the terminal's default).
    pub cursor_style: u8,
}

impl Default for Modes {
    fn default() -> Modes {
        Modes {
            autowrap: true,
            insert: false,
            newline: false,
            origin: false,
            app_cursor: false,
            app_keypad: false,
            cursor_visible: true,
            cursor_blink: false,
            reverse_video: false,
            bracketed_paste: false,
            focus_events: false,
            mouse: MouseMode::Off,
            mouse_encoding: MouseEncoding::Default,
            cursor_style: 0,
        }
    }
}

/// Where the cursor is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Cursor {
    /// Row, 0-based from the top of the screen.
    pub row: u16,
    /// Column, 0-based.
    pub col: u16,
    /// The last column was just written with autowrap on: the next printable
    /// character goes to the start of the next line (xterm's "do_wrap").
    pub pending_wrap: bool,
    /// DECTCEM.
    pub visible: bool,
}

/// What DECSC saves (xterm: position, rendition, charsets, wrap flag, origin mode).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Saved {
    pub(crate) row: u16,
    pub(crate) col: u16,
    pub(crate) pending_wrap: bool,
    pub(crate) pen: Pen,
    pub(crate) charsets: [Charset; 4],
    pub(crate) gl: u8,
    pub(crate) origin: bool,
}

/// The last graphic character printed, for REP, while nothing else has happened since.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct LastPrint {
    /// The character as received, before charset mapping.
    pub(crate) raw: char,
    /// Where it was placed (after any wrap).
    pub(crate) row: u16,
    pub(crate) col: u16,
    /// Columns it took: 0 when it could not be placed at all.
    pub(crate) width: u8,
    /// The single shift (2 or 3) it used, or 0.
    pub(crate) ss: u8,
}

/// Everything but the parser.
#[derive(Clone, PartialEq, Debug)]
pub(crate) struct Core {
    pub(crate) cols: u16,
    pub(crate) rows: u16,
    pub(crate) primary: VecDeque<Row>,
    pub(crate) alternate: VecDeque<Row>,
    pub(crate) alt_active: bool,
    pub(crate) scrollback: VecDeque<Row>,
    pub(crate) scrollback_limit: usize,
    pub(crate) row: u16,
    pub(crate) col: u16,
    pub(crate) pending_wrap: bool,
    pub(crate) pen: Pen,
    pub(crate) charsets: [Charset; 4],
    pub(crate) gl: u8,
    /// Single shift for the next character: 0, 2 or 3.
    pub(crate) ss: u8,
    /// Saved cursors: [primary, alternate].
    pub(crate) saved: [Saved; 2],
    pub(crate) top: u16,
    pub(crate) bottom: u16,
    pub(crate) modes: Modes,
    pub(crate) tabs: Vec<bool>,
    pub(crate) title: String,
    pub(crate) icon: String,
    pub(crate) last: Option<LastPrint>,
    pub(crate) spare: Spare,
}

/// Rows [`Terminal::drain_scrollback`] gave back, for scrolling to reuse
/// rather than allocate one per line (a reader taking every line as it
/// scrolls off made that most of its time). No part of the state: always
/// equal, and a clone starts without them.
#[derive(Debug, Default)]
pub(crate) struct Spare(Vec<Row>);

/// The most rows kept for reuse.
const MAX_SPARE: usize = 256;

impl Clone for Spare {
    fn clone(&self) -> Spare {
        Spare::default()
    }
}

impl PartialEq for Spare {
    fn eq(&self, _: &Spare) -> bool {
        true
    }
}

fn default_tabs(cols: usize) -> Vec<bool> {
    (0..cols).map(|c| c % 8 == 0 && c != 0).collect()
}

impl Core {
    fn new(cols: u16, rows: u16, scrollback_limit: usize) -> Core {
        let cols = cols.clamp(1, MAX_COLS);
        let rows = rows.clamp(1, MAX_ROWS);
        let screen = || {
            (0..rows)
                .map(|_| Row::new(cols as usize, Cell::BLANK))
                .collect::<Vec<_>>()
                .into()
        };
        Core::with_screens(cols, rows, scrollback_limit, screen(), screen())
    }

    /// A fresh state around two blank screens of `rows` rows of `cols` cells.
    fn with_screens(
        cols: u16,
        rows: u16,
        scrollback_limit: usize,
        primary: VecDeque<Row>,
        alternate: VecDeque<Row>,
    ) -> Core {
        Core {
            cols,
            rows,
            primary,
            alternate,
            alt_active: false,
            scrollback: VecDeque::new(),
            scrollback_limit,
            row: 0,
            col: 0,
            pending_wrap: false,
            pen: Pen::default(),
            charsets: [Charset::Ascii; 4],
            gl: 0,
            ss: 0,
            saved: [Saved::default(); 2],
            top: 0,
            bottom: rows - 1,
            modes: Modes::default(),
            tabs: default_tabs(cols as usize),
            title: String::new(),
            icon: String::new(),
            last: None,
            spare: Spare::default(),
        }
    }

    #[inline]
    pub(crate) fn screen(&self) -> &VecDeque<Row> {
        if self.alt_active {
            &self.alternate
        } else {
            &self.primary
        }
    }

    #[inline]
    fn screen_mut(&mut self) -> &mut VecDeque<Row> {
        if self.alt_active {
            &mut self.alternate
        } else {
            &mut self.primary
        }
    }

    #[inline]
    fn blank(&self) -> Cell {
        Cell::erased(self.pen.bg)
    }

    // ----- printing -----

    /// `print_char` for a character outside ASCII (no charset mapping applies).
    #[inline]
    fn print_wide_or_other(&mut self, c: char) {
        let ss = std::mem::take(&mut self.ss);
        match columns(c) {
            0 => {
                self.add_mark(c);
                self.last = None;
            }
            w => self.put_char(c, w, c, ss),
        }
    }

    fn print_char(&mut self, c: char) {
        let ss = self.ss;
        let set = if ss != 0 {
            self.ss = 0;
            self.charsets[ss as usize]
        } else {
            self.charsets[self.gl as usize]
        };
        let ch = if (c as u32) < 0x7F { set.map(c) } else { c };
        match columns(ch) {
            0 => {
                self.add_mark(ch);
                self.last = None;
            }
            w => self.put_char(ch, w, c, ss),
        }
    }

    #[inline]
    fn put_char(&mut self, ch: char, w: usize, raw: char, ss: u8) {
        if self.pending_wrap {
            if self.modes.autowrap {
                self.wrap();
            }
            self.pending_wrap = false;
        }
        let cols = self.cols as usize;
        let mut width = 0;
        let mut place = self.col;
        if w <= cols {
            if self.col as usize + w > cols {
                // A wide character does not fit at the margin: xterm wraps it
                // whole; without autowrap it is placed against the margin.
                if self.modes.autowrap {
                    self.wrap();
                } else {
                    self.col = (cols - w) as u16;
                }
            }
            let col = self.col as usize;
            let bg = self.pen.bg;
            let cell = Cell::new(ch, self.pen, if w == 2 { WIDE } else { 0 });
            let insert = self.modes.insert;
            let r = self.row as usize;
            let row = &mut self.screen_mut()[r];
            if insert {
                row.insert(col, w, Cell::erased(bg));
            }
            row.put(col, cell, w == 2, bg);
            place = col as u16;
            width = w as u8;
            if col + w >= cols {
                self.col = (cols - 1) as u16;
                self.pending_wrap = self.modes.autowrap;
            } else {
                self.col = (col + w) as u16;
            }
        }
        self.last = Some(LastPrint {
            raw,
            row: self.row,
            col: place,
            width,
            ss,
        });
    }

    fn add_mark(&mut self, c: char) {
        let col = if self.pending_wrap {
            self.col as usize
        } else if self.col > 0 {
            self.col as usize - 1
        } else {
            return;
        };
        let r = self.row as usize;
        let row = &mut self.screen_mut()[r];
        let col = if row.cells[col].flags & SPACER != 0 {
            col - 1
        } else {
            col
        };
        row.add_mark(col, c);
    }

    /// Decodes and prints text that needs no charset mapping, no single shift
    /// and no insert mode (see `Perform::print_utf8`), holding on to the
    /// current row while the line lasts; anything unusual (a wrap, a combining
    /// mark, a wide character at the margin) goes through `print_char`.
    ///
    /// Decoding and printing in one loop saves handing each character over
    /// through a buffer, a fifth of the instructions spent on CJK text.
    fn print_utf8_fast(&mut self, bytes: &[u8]) -> usize {
        let pen = self.pen;
        let len = bytes.len();
        let mut i = 0;
        loop {
            // A character that the inner loop leaves to `print_char`, and
            // whether the text ended (at a control or a cut character).
            let mut slow = None;
            let mut stop = false;
            // The text went on on the next row (LF, VT, FF).
            let mut newline = false;
            if self.pending_wrap {
                match next_char(bytes, &mut i) {
                    Next::Char(c) => self.print_char(c),
                    Next::Skip => {}
                    Next::Stop => return i,
                }
                continue;
            }
            let r = self.row as usize;
            let mut col = self.col as usize;
            // The end of the cells written so far, for `Row::touch`.
            let mut written = col;
            let mut last = None;
            // A control or a combining mark came after the last character
            // printed: REP has nothing to repeat.
            let mut forget_last = false;
            let row = if self.alt_active {
                &mut self.alternate[r]
            } else {
                &mut self.primary[r]
            };
            // Marks are sorted by column: when none is at or after the cursor,
            // none of the cells this loop writes has any.
            let mut marks = row.marks.last().is_some_and(|m| m.col as usize >= col);
            let cells = &mut row.cells[..];
            let cols = cells.len();
            loop {
                let Some(&b) = bytes.get(i) else {
                    stop = true;
                    break;
                };
                let TextByte { class, lo, span } = TEXT_BYTES[b as usize];
                // One byte taking one column: printable ASCII, a byte that
                // cannot start a character, or a lead byte whose next byte
                // cannot follow it (most lead bytes in random or
                // mis-encoded input). One test for them all, then a select
                // rather than a branch: these cases come mixed at random in
                // such input, and a branch among them would mispredict. (At
                // the end of the input a lead byte takes the decoder's path,
                // which waits for the rest.)
                // Past the end of the input, a lead byte's next byte may be
                // anything (the decoder then waits for it); any other byte
                // is complete.
                let next = bytes
                    .get(i + 1)
                    .map_or(lo | u16::from(span == 0), |&n| u16::from(n));
                // One comparison (`next - lo <= span`, unsigned) rather than
                // two, which the compiler would make two branches.
                let (c, w) = if next.wrapping_sub(lo) > span {
                    i += 1;
                    let c = if b < 0x80 {
                        b as char
                    } else {
                        char::REPLACEMENT_CHARACTER
                    };
                    (c, 1)
                } else if class == STOP {
                    // The controls that stay on this row and leave printing
                    // as it is are done here: returning to the parser for
                    // each costs more than the control itself, and random
                    // or binary output holds one every eight bytes.
                    match b {
                        // DEL is ignored, as the parser would.
                        0x7F => {
                            i += 1;
                            continue;
                        }
                        // BS and CR: the cursor moves back over cells that
                        // may hold marks (the spacer check below covers a
                        // wide character's right half).
                        0x08 | 0x0D => {
                            written = written.max(col);
                            col = if b == 0x08 { col.saturating_sub(1) } else { 0 };
                            marks = !row.marks.is_empty();
                        }
                        0x09 => {
                            col = (col + 1..cols).find(|&c| self.tabs[c]).unwrap_or(cols - 1);
                        }
                        // LF, VT, FF: to the next row, after this one is
                        // left in order below.
                        0x0A..=0x0C => {
                            i += 1;
                            newline = true;
                            break;
                        }
                        _ if ends_text(b) => {
                            stop = true;
                            break;
                        }
                        // The rest do nothing in xterm.
                        _ => {}
                    }
                    i += 1;
                    last = None;
                    forget_last = true;
                    continue;
                } else {
                    match decode(&bytes[i..]) {
                        Decoded::Char(c, k) => {
                            i += k;
                            if (c as u32) < 0xA0 {
                                // C1 controls are ignored.
                                continue;
                            }
                            (c, columns(c))
                        }
                        Decoded::Invalid(k) => {
                            i += k;
                            (char::REPLACEMENT_CHARACTER, 1)
                        }
                        Decoded::Incomplete => {
                            stop = true;
                            break;
                        }
                    }
                };
                if w == 0 {
                    // A combining mark goes on the character before, as
                    // `add_mark` does it (no pending wrap here: the cursor
                    // is past that character).
                    if col > 0 {
                        let at = if cells[col - 1].flags & SPACER != 0 {
                            col - 2
                        } else {
                            col - 1
                        };
                        grid::add_mark(&mut row.marks, cells, at, c);
                        marks = true;
                    }
                    last = None;
                    forget_last = true;
                    continue;
                }
                let end = col + w;
                // Anything unusual is left to `print_char`: a character that
                // does not fit, half a wide character to blank on the right,
                // combining marks to drop.
                if end > cols || cells.get(end).is_some_and(|n| n.flags & SPACER != 0) {
                    slow = Some(c);
                    break;
                }
                // The cells written, as one slice: one bounds check for all
                // the accesses below.
                let dst = &mut cells[col..end];
                // The right half of a wide character (its left half is
                // blanked), or marks to drop.
                if dst[0].flags & SPACER != 0
                    || (marks && (dst[0].flags | dst[w - 1].flags) & MARKS != 0)
                {
                    slow = Some(c);
                    break;
                }
                // Field by field: see `Row::put`.
                dst[0].ch = c;
                dst[0].fg = pen.fg;
                dst[0].bg = pen.bg;
                if w == 2 {
                    dst[0].flags = pen.flags | WIDE;
                    dst[1].ch = ' ';
                    dst[1].fg = pen.fg;
                    dst[1].bg = pen.bg;
                    dst[1].flags = pen.flags | SPACER;
                } else {
                    dst[0].flags = pen.flags;
                }
                last = Some((c, col));
                col = end;
                if col == cols {
                    break;
                }
            }
            row.touch(written.max(col));
            if let Some((c, at)) = last {
                self.last = Some(LastPrint {
                    raw: c,
                    row: r as u16,
                    col: at as u16,
                    width: (col - at) as u8,
                    ss: 0,
                });
            } else if forget_last {
                self.last = None;
            }
            if col == cols {
                col -= 1;
                self.pending_wrap = self.modes.autowrap;
            }
            self.col = col as u16;
            if let Some(c) = slow {
                self.print_char(c);
            }
            if newline {
                self.execute(bytes[i - 1]);
            }
            if stop || i == len {
                return i;
            }
        }
    }

    fn print_ascii_fast(&mut self, run: &[u8]) {
        let cols = self.cols as usize;
        let pen = self.pen;
        let bg = pen.bg;
        let mut i = 0;
        while i < run.len() {
            if self.pending_wrap {
                if self.modes.autowrap {
                    self.wrap();
                }
                self.pending_wrap = false;
            }
            let col = self.col as usize;
            let n = (cols - col).min(run.len() - i);
            let r = self.row as usize;
            let row = &mut self.screen_mut()[r];
            row.break_at(col, bg);
            row.break_at(col + n, bg);
            if !row.marks.is_empty() {
                row.marks
                    .retain(|m| (m.col as usize) < col || (m.col as usize) >= col + n);
            }
            for (cell, &b) in row.cells[col..col + n].iter_mut().zip(&run[i..i + n]) {
                // Field by field: see `Row::put`.
                cell.ch = b as char;
                cell.fg = pen.fg;
                cell.bg = pen.bg;
                cell.flags = pen.flags;
            }
            row.touch(col + n);
            i += n;
            self.last = Some(LastPrint {
                raw: run[i - 1] as char,
                row: self.row,
                col: (col + n - 1) as u16,
                width: 1,
                ss: 0,
            });
            if col + n >= cols {
                self.col = (cols - 1) as u16;
                self.pending_wrap = self.modes.autowrap;
            } else {
                self.col = (col + n) as u16;
            }
        }
    }

    /// REP: prints the last character printed `n` more times.
    ///
    /// Past a point the state stops changing from one line of repetitions
    /// to the next (the region, or the last row, full of the character),
    /// except for how many identical lines scroll off: repetitions beyond
    /// that point are not made (`repeats_that_count`), so that REP costs at
    /// most about two screens of cells whatever its parameter.
    fn repeat(&mut self, n: usize) {
        let Some(last) = self.last else {
            return;
        };
        if last.width == 0 {
            return;
        }
        let raw = last.raw;
        // What each repetition prints: `print_char`'s mapping and width, once.
        let ch = if (raw as u32) < 0x7F && self.ss == 0 {
            self.charsets[self.gl as usize].map(raw)
        } else {
            raw
        };
        let w = columns(ch);
        if self.ss != 0 || w == 0 || w > self.cols as usize {
            // Never so after a character was placed; exact anyway: past a
            // wrap and four combining marks nothing changes.
            for _ in 0..n.min(8) {
                self.print_char(raw);
            }
            return;
        }
        let n = self.repeats_that_count(n, w);
        self.put_repeated(ch, w, raw, n);
    }

    /// What `n` calls of `put_char(ch, w, raw, 0)` do (`w` fits), a row at a
    /// time: in insert mode, one shift per row rather than one per character.
    fn put_repeated(&mut self, ch: char, w: usize, raw: char, n: usize) {
        let cols = self.cols as usize;
        let cell = Cell::new(ch, self.pen, if w == 2 { WIDE } else { 0 });
        let bg = self.pen.bg;
        let insert = self.modes.insert;
        let mut left = n;
        while left > 0 {
            if self.pending_wrap {
                if self.modes.autowrap {
                    self.wrap();
                }
                self.pending_wrap = false;
            }
            if self.col as usize + w > cols {
                if self.modes.autowrap {
                    self.wrap();
                } else {
                    self.col = (cols - w) as u16;
                }
            }
            let col = self.col as usize;
            let k = ((cols - col) / w).min(left);
            let r = self.row as usize;
            let row = &mut self.screen_mut()[r];
            if insert {
                row.insert(col, k * w, Cell::erased(bg));
            }
            for j in 0..k {
                row.put(col + j * w, cell, w == 2, bg);
            }
            left -= k;
            let place = col + (k - 1) * w;
            if place + w >= cols {
                self.col = (cols - 1) as u16;
                self.pending_wrap = self.modes.autowrap;
            } else {
                self.col = (place + w) as u16;
            }
            self.last = Some(LastPrint {
                raw,
                row: self.row,
                col: place as u16,
                width: w as u8,
                ss: 0,
            });
        }
    }

    /// How many of `n` repetitions of a character `w` columns wide (placed
    /// last, so `w` fits) leave the same state as all `n`, scrollback aside.
    fn repeats_that_count(&self, n: usize, w: usize) -> usize {
        let cols = self.cols as usize;
        let per_line = cols / w;
        if !self.modes.autowrap {
            // Once at the margin, each repetition overwrites the last one.
            return n.min(per_line + 2);
        }
        // Repetitions before the first wrap, then wraps every `per_line`.
        let first = if self.pending_wrap {
            0
        } else {
            (cols - self.col as usize) / w
        };
        if n <= first {
            return n;
        }
        let after = n - first;
        let wraps = (after - 1) / per_line;
        // The cursor reaches the bottom margin (or, below the region, the
        // last row), then the region scrolls until each of its rows is
        // one written here (a row that does not scroll is written twice).
        let (row, top, bottom) = (self.row as usize, self.top as usize, self.bottom as usize);
        let to_bottom = if row <= bottom {
            bottom - row
        } else {
            self.rows as usize - 1 - row
        };
        let steady = to_bottom + (bottom - top + 1) + 3;
        if wraps <= steady {
            return n;
        }
        first + steady * per_line + (after - 1) % per_line + 1
    }

    // ----- cursor motion and scrolling -----

    fn wrap(&mut self) {
        self.col = 0;
        self.index();
    }

    /// IND / LF: down one line, scrolling the region at its bottom margin.
    fn index(&mut self) {
        if self.row == self.bottom {
            self.scroll_up(1);
        } else if self.row + 1 < self.rows {
            self.row += 1;
        }
        self.pending_wrap = false;
    }

    /// RI: up one line, scrolling the region down at its top margin.
    fn reverse_index(&mut self) {
        if self.row == self.top {
            self.scroll_down(1);
        } else if self.row > 0 {
            self.row -= 1;
        }
        self.pending_wrap = false;
    }

    fn scroll_up(&mut self, n: usize) {
        let (top, bottom) = (self.top as usize, self.bottom as usize);
        let n = n.min(bottom - top + 1);
        let blank = self.blank();
        let cols = self.cols as usize;
        if !self.alt_active && top == 0 && self.scrollback_limit > 0 {
            for i in 0..n {
                let fresh = if self.scrollback.len() >= self.scrollback_limit {
                    let mut old = self
                        .scrollback
                        .pop_front()
                        .expect("scrollback is full, so not empty");
                    old.resize(cols, blank);
                    old
                } else if let Some(mut row) = self.spare.0.pop() {
                    row.resize(cols, blank);
                    row.clear(blank);
                    row
                } else {
                    Row::new(cols, blank)
                };
                let line = std::mem::replace(&mut self.primary[i], fresh);
                self.scrollback.push_back(line);
            }
        }
        let screen = self.screen_mut();
        if n == 1 && top == 0 && bottom + 1 == screen.len() {
            // The commonest scroll (a line feed at the bottom of the whole
            // screen): the top row, cleared, becomes the bottom one, without
            // the general rotation's bookkeeping.
            if let Some(mut row) = screen.pop_front() {
                row.clear(blank);
                screen.push_back(row);
            }
            return;
        }
        rotate(screen, top, bottom, n, true);
        for row in screen.range_mut(bottom + 1 - n..=bottom) {
            row.clear(blank);
        }
    }

    fn scroll_down(&mut self, n: usize) {
        let (top, bottom) = (self.top as usize, self.bottom as usize);
        let n = n.min(bottom - top + 1);
        let blank = self.blank();
        let screen = self.screen_mut();
        rotate(screen, top, bottom, n, false);
        for row in screen.range_mut(top..top + n) {
            row.clear(blank);
        }
    }

    /// CUP/HVP and everything that addresses a position: origin-relative when DECOM is set.
    fn goto(&mut self, row: u16, col: u16) {
        let (top, max) = if self.modes.origin {
            (self.top, self.bottom)
        } else {
            (0, self.rows - 1)
        };
        self.row = (u32::from(top) + u32::from(row)).min(u32::from(max)) as u16;
        self.col = col.min(self.cols - 1);
        self.pending_wrap = false;
    }

    fn relative_row(&self) -> u16 {
        if self.modes.origin {
            self.row.saturating_sub(self.top)
        } else {
            self.row
        }
    }

    fn cursor_up(&mut self, n: u16) {
        let min = if self.row >= self.top { self.top } else { 0 };
        self.row = self.row.saturating_sub(n).max(min);
        self.pending_wrap = false;
    }

    fn cursor_down(&mut self, n: u16) {
        let max = if self.row <= self.bottom {
            self.bottom
        } else {
            self.rows - 1
        };
        self.row = self.row.saturating_add(n).min(max);
        self.pending_wrap = false;
    }

    fn cursor_forward(&mut self, n: u16) {
        self.col = self.col.saturating_add(n).min(self.cols - 1);
        self.pending_wrap = false;
    }

    fn cursor_back(&mut self, n: u16) {
        self.col = self.col.saturating_sub(n);
        self.pending_wrap = false;
    }

    fn tab_forward(&mut self, n: u16) {
        let cols = self.cols as usize;
        for _ in 0..n.min(self.cols) {
            let from = self.col as usize + 1;
            let next = (from..cols).find(|&c| self.tabs[c]).unwrap_or(cols - 1);
            self.col = next as u16;
        }
        // xterm's HT leaves the wrap flag alone; it can only be set in the last column.
        if self.col as usize != cols - 1 {
            self.pending_wrap = false;
        }
    }

    fn tab_back(&mut self, n: u16) {
        for _ in 0..n.min(self.cols) {
            let col = self.col as usize;
            self.col = (0..col).rev().find(|&c| self.tabs[c]).unwrap_or(0) as u16;
        }
        self.pending_wrap = false;
    }

    // ----- erasing, inserting, deleting -----

    fn erase_display(&mut self, mode: u16) {
        let blank = self.blank();
        let (r, c, cols) = (self.row as usize, self.col as usize, self.cols as usize);
        match mode {
            0 => {
                let screen = self.screen_mut();
                screen[r].erase(c, cols, blank);
                for row in screen.range_mut(r + 1..) {
                    row.clear(blank);
                }
            }
            1 => {
                let screen = self.screen_mut();
                for row in screen.range_mut(..r) {
                    row.clear(blank);
                }
                screen[r].erase(0, c + 1, blank);
            }
            2 => {
                for row in self.screen_mut() {
                    row.clear(blank);
                }
            }
            3 => {
                self.scrollback.clear();
                return;
            }
            _ => return,
        }
        self.pending_wrap = false;
    }

    fn erase_line(&mut self, mode: u16) {
        let blank = self.blank();
        let (r, c, cols) = (self.row as usize, self.col as usize, self.cols as usize);
        let row = &mut self.screen_mut()[r];
        match mode {
            0 => row.erase(c, cols, blank),
            1 => row.erase(0, c + 1, blank),
            2 => row.erase(0, cols, blank),
            _ => return,
        }
        self.pending_wrap = false;
    }

    fn insert_lines(&mut self, n: u16) {
        if self.row < self.top || self.row > self.bottom {
            return;
        }
        let (r, bottom) = (self.row as usize, self.bottom as usize);
        let n = (n as usize).min(bottom - r + 1);
        let blank = self.blank();
        let screen = self.screen_mut();
        rotate(screen, r, bottom, n, false);
        for row in screen.range_mut(r..r + n) {
            row.clear(blank);
        }
        self.pending_wrap = false;
    }

    fn delete_lines(&mut self, n: u16) {
        if self.row < self.top || self.row > self.bottom {
            return;
        }
        let (r, bottom) = (self.row as usize, self.bottom as usize);
        let n = (n as usize).min(bottom - r + 1);
        let blank = self.blank();
        let screen = self.screen_mut();
        rotate(screen, r, bottom, n, true);
        for row in screen.range_mut(bottom + 1 - n..=bottom) {
            row.clear(blank);
        }
        self.pending_wrap = false;
    }

    fn row_op(&mut self, f: impl FnOnce(&mut Row, usize, Cell)) {
        let blank = self.blank();
        let (r, c) = (self.row as usize, self.col as usize);
        f(&mut self.screen_mut()[r], c, blank);
        self.pending_wrap = false;
    }

    // ----- saved cursor, screens, resets -----

    fn save_cursor(&mut self) {
        self.saved[self.alt_active as usize] = Saved {
            row: self.row,
            col: self.col,
            pending_wrap: self.pending_wrap,
            pen: self.pen,
            charsets: self.charsets,
            gl: self.gl,
            origin: self.modes.origin,
        };
    }

    fn restore_cursor(&mut self) {
        let s = self.saved[self.alt_active as usize];
        self.pen = s.pen;
        self.charsets = s.charsets;
        self.gl = s.gl;
        self.modes.origin = s.origin;
        self.row = s.row.min(self.rows - 1);
        if s.origin {
            self.row = self.row.clamp(self.top, self.bottom);
        }
        self.col = s.col.min(self.cols - 1);
        self.pending_wrap = s.pending_wrap && self.col == self.cols - 1;
    }

    fn set_alt(&mut self, on: bool) {
        if self.alt_active != on {
            self.alt_active = on;
            // Deviation: xterm keeps its wrap flag across the switch; the cell it
            // refers to is gone, so termtape drops it (keeps snapshots exact).
            self.pending_wrap = false;
        }
    }

    fn clear_alt(&mut self) {
        let blank = self.blank();
        for row in &mut self.alternate {
            row.clear(blank);
        }
    }

    /// DECSTR, as xterm's soft reset (`ReallyReset(full = False)`).
    fn soft_reset(&mut self) {
        self.modes.cursor_visible = true;
        self.modes.insert = false;
        self.modes.origin = false;
        self.modes.autowrap = true;
        self.modes.app_cursor = false;
        self.modes.app_keypad = false;
        self.top = 0;
        self.bottom = self.rows - 1;
        self.charsets = [Charset::Ascii; 4];
        self.gl = 0;
        self.ss = 0;
        self.pen = Pen::default();
        self.saved[self.alt_active as usize] = Saved::default();
    }

    /// RIS. Like xterm, the title and the scrollback survive it.
    ///
    /// The screens' rows are cleared and kept rather than allocated again:
    /// every snapshot starts with RIS, and so does every restore.
    fn full_reset(&mut self) {
        let mut primary = std::mem::take(&mut self.primary);
        let mut alternate = std::mem::take(&mut self.alternate);
        for row in primary.iter_mut().chain(alternate.iter_mut()) {
            row.clear(Cell::BLANK);
        }
        let mut fresh = Core::with_screens(
            self.cols,
            self.rows,
            self.scrollback_limit,
            primary,
            alternate,
        );
        std::mem::swap(&mut fresh.title, &mut self.title);
        std::mem::swap(&mut fresh.icon, &mut self.icon);
        std::mem::swap(&mut fresh.scrollback, &mut self.scrollback);
        *self = fresh;
    }

    fn decaln(&mut self) {
        self.top = 0;
        self.bottom = self.rows - 1;
        let e = Cell::new('E', Pen::default(), 0);
        for row in self.screen_mut() {
            row.clear(e);
        }
        self.goto(0, 0);
    }

    fn set_mode(&mut self, private: bool, p: u16, on: bool) {
        if !private {
            match p {
                4 => self.modes.insert = on,
                20 => self.modes.newline = on,
                _ => {}
            }
            return;
        }
        let mouse = |m: MouseMode| if on { m } else { MouseMode::Off };
        match p {
            1 => self.modes.app_cursor = on,
            5 => self.modes.reverse_video = on,
            6 => {
                self.modes.origin = on;
                self.goto(0, 0);
            }
            7 => self.modes.autowrap = on,
            9 => self.modes.mouse = mouse(MouseMode::X10),
            12 => self.modes.cursor_blink = on,
            25 => self.modes.cursor_visible = on,
            47 => self.set_alt(on),
            66 => self.modes.app_keypad = on,
            1000 => self.modes.mouse = mouse(MouseMode::Normal),
            1002 => self.modes.mouse = mouse(MouseMode::ButtonEvent),
            1003 => self.modes.mouse = mouse(MouseMode::AnyEvent),
            1004 => self.modes.focus_events = on,
            1005 | 1006 | 1015 => {
                let e = match p {
                    1005 => MouseEncoding::Utf8,
                    1006 => MouseEncoding::Sgr,
                    _ => MouseEncoding::Urxvt,
                };
                if on {
                    self.modes.mouse_encoding = e;
                } else if self.modes.mouse_encoding == e {
                    self.modes.mouse_encoding = MouseEncoding::Default;
                }
            }
            1047 => {
                if on {
                    self.set_alt(true);
                } else if self.alt_active {
                    self.clear_alt();
                    self.set_alt(false);
                }
            }
            1048 => {
                if on {
                    self.save_cursor();
                } else {
                    self.restore_cursor();
                }
            }
            1049 => {
                if on {
                    self.save_cursor();
                    if !self.alt_active {
                        self.set_alt(true);
                        self.clear_alt();
                    }
                } else {
                    self.set_alt(false);
                    self.restore_cursor();
                }
            }
            2004 => self.modes.bracketed_paste = on,
            _ => {}
        }
    }

    /// SGR. A lone parameter among the commonest ones (bold on and off,
    /// reset, inverse, the eight colours) is handled inline; full-screen
    /// programs send little else between runs of text.
    #[inline(always)]
    fn sgr(&mut self, params: &Params) {
        if params.len() == 1 {
            let pen = &mut self.pen;
            match params.get(0) {
                0 => *pen = Pen::default(),
                1 => pen.flags |= cell::BOLD,
                7 => pen.flags |= cell::INVERSE,
                22 => pen.flags &= !(cell::BOLD | cell::FAINT),
                27 => pen.flags &= !cell::INVERSE,
                p @ 30..=37 => pen.fg = Color::Indexed((p - 30) as u8),
                39 => pen.fg = Color::Default,
                p @ 40..=47 => pen.bg = Color::Indexed((p - 40) as u8),
                49 => pen.bg = Color::Default,
                _ => self.sgr_all(params),
            }
            return;
        }
        self.sgr_all(params);
    }

    /// SGR in full: any number of parameters, colon sub-parameters.
    #[inline(never)]
    fn sgr_all(&mut self, params: &Params) {
        let n = params.len();
        let mut i = 0;
        while i < n {
            let p = params.get(i);
            // Colon sub-parameters that belong to this parameter.
            let mut end = i + 1;
            while end < n && params.is_sub(end) {
                end += 1;
            }
            let subs = end - i - 1;
            let pen = &mut self.pen;
            match p {
                0 => *pen = Pen::default(),
                1 => pen.flags |= cell::BOLD,
                2 => pen.flags |= cell::FAINT,
                3 => pen.flags |= cell::ITALIC,
                4 => {
                    let u = if subs == 0 {
                        Underline::Single
                    } else {
                        match params.get(i + 1) {
                            0 => Underline::None,
                            1 => Underline::Single,
                            2 => Underline::Double,
                            3 => Underline::Curly,
                            4 => Underline::Dotted,
                            5 => Underline::Dashed,
                            _ => pen.underline(),
                        }
                    };
                    pen.set_underline(u);
                }
                5 | 6 => pen.flags |= cell::BLINK,
                7 => pen.flags |= cell::INVERSE,
                8 => pen.flags |= cell::HIDDEN,
                9 => pen.flags |= cell::STRIKE,
                21 => pen.set_underline(Underline::Double),
                22 => pen.flags &= !(cell::BOLD | cell::FAINT),
                23 => pen.flags &= !cell::ITALIC,
                24 => pen.set_underline(Underline::None),
                25 => pen.flags &= !cell::BLINK,
                27 => pen.flags &= !cell::INVERSE,
                28 => pen.flags &= !cell::HIDDEN,
                29 => pen.flags &= !cell::STRIKE,
                30..=37 => pen.fg = Color::Indexed((p - 30) as u8),
                39 => pen.fg = Color::Default,
                40..=47 => pen.bg = Color::Indexed((p - 40) as u8),
                49 => pen.bg = Color::Default,
                90..=97 => pen.fg = Color::Indexed((p - 90 + 8) as u8),
                100..=107 => pen.bg = Color::Indexed((p - 100 + 8) as u8),
                38 | 48 => {
                    let (color, next) = if subs > 0 {
                        (extended_color_colon(params, i + 1, end), end)
                    } else {
                        extended_color_semicolon(params, i + 1)
                    };
                    if let Some(c) = color {
                        if p == 38 {
                            pen.fg = c;
                        } else {
                            pen.bg = c;
                        }
                    }
                    i = next;
                    continue;
                }
                _ => {}
            }
            i = end;
        }
    }

    fn osc(&mut self, data: &str) {
        let (code, text) = data.split_once(';').unwrap_or((data, ""));
        match code {
            "0" => {
                self.title = text.to_string();
                self.icon = text.to_string();
            }
            "1" => self.icon = text.to_string(),
            "2" => self.title = text.to_string(),
            _ => {}
        }
    }

    pub(crate) fn resize(&mut self, cols: u16, rows: u16) {
        let cols = cols.clamp(1, MAX_COLS);
        let rows = rows.clamp(1, MAX_ROWS);
        let (c, rws) = (cols as usize, rows as usize);
        // Keep the cursor's line on screen: lines above it scroll off the top.
        let shift = (self.row as usize + 1).saturating_sub(rws);
        for (idx, screen) in [&mut self.primary, &mut self.alternate]
            .into_iter()
            .enumerate()
        {
            let removed: Vec<Row> = screen.drain(..shift).collect();
            screen.make_contiguous();
            if idx == 0 && self.scrollback_limit > 0 {
                for line in removed {
                    if self.scrollback.len() >= self.scrollback_limit {
                        self.scrollback.pop_front();
                    }
                    self.scrollback.push_back(line);
                }
            }
            screen.truncate(rws);
            for row in screen.iter_mut() {
                row.resize(c, Cell::BLANK);
            }
            while screen.len() < rws {
                screen.push_back(Row::new(c, Cell::BLANK));
            }
        }
        let old_cols = self.tabs.len();
        self.tabs.resize(c, false);
        for (i, t) in self.tabs.iter_mut().enumerate().skip(old_cols) {
            *t = i % 8 == 0;
        }
        self.cols = cols;
        self.rows = rows;
        self.top = 0;
        self.bottom = rows - 1;
        self.row = (self.row as usize - shift.min(self.row as usize)).min(rws - 1) as u16;
        self.col = self.col.min(cols - 1);
        self.pending_wrap = false;
        for s in &mut self.saved {
            s.row = s.row.saturating_sub(shift as u16).min(rows - 1);
            s.col = s.col.min(cols - 1);
            s.pending_wrap = false;
        }
        self.last = None;
    }
}

/// Byte classes for ground-state text: a C0 control or DEL, or text.
const STOP: u8 = 0;
const TEXT: u8 = 1;

/// What the text loop needs to know of a byte: its class and, for a byte
/// that starts a character of more than one byte, the range the next byte
/// must be in (which rules out overlong forms, surrogates and values past
/// U+10FFFF), as its lowest value and its span. The range holds only 0x100
/// (no byte) for single bytes, and every byte for controls.
#[derive(Clone, Copy)]
struct TextByte {
    class: u8,
    lo: u16,
    span: u16,
}

static TEXT_BYTES: [TextByte; 256] = {
    let single = TextByte {
        class: TEXT,
        lo: 0x100,
        span: 0,
    };
    let mut t = [single; 256];
    let mut b = 0;
    while b < 256 {
        let (class, lo, span) = match b {
            0x00..=0x1F | 0x7F => (STOP, 0, 0xFF),
            0xC2..=0xDF | 0xE1..=0xEC | 0xEE | 0xEF | 0xF1..=0xF3 => (TEXT, 0x80, 0x3F),
            0xE0 => (TEXT, 0xA0, 0x1F),
            0xED => (TEXT, 0x80, 0x1F),
            0xF0 => (TEXT, 0x90, 0x2F),
            0xF4 => (TEXT, 0x80, 0x0F),
            _ => (TEXT, 0x100, 0),
        };
        t[b] = TextByte { class, lo, span };
        b += 1;
    }
    t
};

/// What the next bytes of ground-state text hold.
enum Next {
    /// A printable character (U+FFFD for malformed input); consumed.
    Char(char),
    /// A C1 control, ignored; consumed.
    Skip,
    /// A C0 control or DEL, the end of the input, or a character cut by it:
    /// not consumed.
    Stop,
}

/// Decodes the character at `bytes[*i..]`, advancing `*i` past it.
#[inline(always)]
fn next_char(bytes: &[u8], i: &mut usize) -> Next {
    let Some(&b) = bytes.get(*i) else {
        return Next::Stop;
    };
    if b < 0x80 {
        if b < 0x20 || b == 0x7F {
            return Next::Stop;
        }
        *i += 1;
        return Next::Char(b as char);
    }
    match decode(&bytes[*i..]) {
        Decoded::Char(c, k) => {
            *i += k;
            if (c as u32) < 0xA0 {
                Next::Skip
            } else {
                Next::Char(c)
            }
        }
        Decoded::Invalid(k) => {
            *i += k;
            Next::Char(char::REPLACEMENT_CHARACTER)
        }
        Decoded::Incomplete => Next::Stop,
    }
}

/// Rotates rows `top..=bottom` by `n` (up: towards the top). A whole-screen
/// rotation is O(n) in a ring buffer, which is what makes scrolling cheap.
fn rotate(screen: &mut VecDeque<Row>, top: usize, bottom: usize, n: usize, up: bool) {
    if top == 0 && bottom + 1 == screen.len() {
        if up {
            screen.rotate_left(n);
        } else {
            screen.rotate_right(n);
        }
    } else {
        let region = &mut screen.make_contiguous()[top..=bottom];
        if up {
            region.rotate_left(n);
        } else {
            region.rotate_right(n);
        }
    }
}

fn color_from(
    params: &Params,
    kind_at: usize,
    avail_end: usize,
    colon: bool,
) -> (Option<Color>, usize) {
    match params.get(kind_at) {
        5 if kind_at < avail_end => {
            let end = kind_at + 2;
            if end > avail_end {
                return (None, avail_end);
            }
            let v = params.get(kind_at + 1);
            (u8::try_from(v).ok().map(Color::Indexed), end)
        }
        2 if kind_at < avail_end => {
            // Colon form may carry a colour-space id first: 38:2:id:r:g:b.
            let skip = usize::from(colon && avail_end - kind_at >= 5);
            let first = kind_at + 1 + skip;
            let end = first + 3;
            if end > avail_end {
                return (None, avail_end);
            }
            let c = |k| u8::try_from(params.get(k)).ok();
            let color = match (c(first), c(first + 1), c(first + 2)) {
                (Some(r), Some(g), Some(b)) => Some(Color::Rgb(r, g, b)),
                _ => None,
            };
            (color, if colon { avail_end } else { end })
        }
        _ => (None, if colon { avail_end } else { kind_at + 1 }),
    }
}

fn extended_color_colon(params: &Params, first_sub: usize, end: usize) -> Option<Color> {
    color_from(params, first_sub, end, true).0
}

fn extended_color_semicolon(params: &Params, kind_at: usize) -> (Option<Color>, usize) {
    color_from(params, kind_at, params.len(), false)
}

impl Perform for Core {
    #[inline]
    fn print_ascii(&mut self, run: &[u8]) {
        if self.ss == 0 && !self.modes.insert && self.charsets[self.gl as usize] == Charset::Ascii {
            self.print_ascii_fast(run);
        } else {
            for &b in run {
                self.print_char(b as char);
            }
        }
    }

    fn print(&mut self, c: char) {
        self.print_char(c);
    }

    fn print_utf8(&mut self, bytes: &[u8]) -> usize {
        if self.ss == 0 && !self.modes.insert && self.charsets[self.gl as usize] == Charset::Ascii {
            return self.print_utf8_fast(bytes);
        }
        let mut i = 0;
        loop {
            match next_char(bytes, &mut i) {
                Next::Char(c) if (c as u32) < 0x80 => self.print_char(c),
                Next::Char(c) => self.print_wide_or_other(c),
                Next::Skip => {}
                Next::Stop => return i,
            }
        }
    }

    fn execute(&mut self, byte: u8) {
        self.last = None;
        match byte {
            0x08 => self.cursor_back(1),
            0x09 => self.tab_forward(1),
            0x0A..=0x0C => {
                self.index();
                if self.modes.newline {
                    self.col = 0;
                }
            }
            0x0D => {
                self.col = 0;
                self.pending_wrap = false;
            }
            0x0E => self.gl = 1,
            0x0F => self.gl = 0,
            _ => {}
        }
    }

    fn esc_dispatch(&mut self, inter: &[u8], fin: u8) {
        self.last = None;
        match (inter, fin) {
            ([], b'7') => self.save_cursor(),
            ([], b'8') => self.restore_cursor(),
            ([], b'D') => self.index(),
            ([], b'E') => {
                self.index();
                self.col = 0;
            }
            ([], b'H') => self.tabs[self.col as usize] = true,
            ([], b'M') => self.reverse_index(),
            ([], b'c') => self.full_reset(),
            ([], b'=') => self.modes.app_keypad = true,
            ([], b'>') => self.modes.app_keypad = false,
            ([], b'N') => self.ss = 2,
            ([], b'O') => self.ss = 3,
            ([], b'n') => self.gl = 2,
            ([], b'o') => self.gl = 3,
            ([b'#'], b'8') => self.decaln(),
            ([g @ b'('..=b'+'], f) => {
                if let Some(cs) = Charset::from_final(f) {
                    self.charsets[(g - b'(') as usize] = cs;
                }
            }
            _ => {}
        }
    }

    fn csi_dispatch(&mut self, params: &Params, private: u8, inter: &[u8], fin: u8) {
        if private == 0 && inter.is_empty() && fin == b'b' {
            // REP repeats the preceding graphic character (ECMA-48 8.3.103).
            self.repeat(params.count(0) as usize);
            return;
        }
        self.last = None;
        if !inter.is_empty() {
            match (private, inter, fin) {
                (0, [b'!'], b'p') => self.soft_reset(),
                (0, [b' '], b'q') => {
                    if let Ok(style @ 0..=6) = u8::try_from(params.get(0)) {
                        self.modes.cursor_style = style;
                    }
                }
                _ => {}
            }
            return;
        }
        // Without intermediates: a match on two bytes, which compiles to a
        // jump table (slice patterns in the match compiled to a chain of tests).
        let n = params.count(0);
        match (private, fin) {
            (0, b'@') => self.row_op(|row, c, blank| row.insert(c, n as usize, blank)),
            (0, b'A') => self.cursor_up(n),
            (0, b'B') | (0, b'e') => self.cursor_down(n),
            (0, b'C') | (0, b'a') => self.cursor_forward(n),
            (0, b'D') => self.cursor_back(n),
            (0, b'E') => {
                self.cursor_down(n);
                self.col = 0;
            }
            (0, b'F') => {
                self.cursor_up(n);
                self.col = 0;
            }
            (0, b'G') | (0, b'`') => {
                let r = self.relative_row();
                self.goto(r, n - 1);
            }
            (0, b'H') | (0, b'f') => self.goto(params.count(0) - 1, params.count(1) - 1),
            (0, b'I') => self.tab_forward(n),
            (0, b'J') | (b'?', b'J') => self.erase_display(params.get(0)),
            (0, b'K') | (b'?', b'K') => self.erase_line(params.get(0)),
            (0, b'L') => self.insert_lines(n),
            (0, b'M') => self.delete_lines(n),
            (0, b'P') => self.row_op(|row, c, blank| row.delete(c, n as usize, blank)),
            (0, b'S') => {
                self.scroll_up(n as usize);
                self.pending_wrap = false;
            }
            (0, b'T') if params.len() == 1 => {
                self.scroll_down(n as usize);
                self.pending_wrap = false;
            }
            (0, b'X') => self.row_op(|row, c, blank| row.erase(c, c + n as usize, blank)),
            (0, b'Z') => self.tab_back(n),
            (0, b'd') => {
                let c = self.col;
                self.goto(n - 1, c);
            }
            (0, b'g') => match params.get(0) {
                0 => self.tabs[self.col as usize] = false,
                3 => self.tabs.fill(false),
                _ => {}
            },
            (0 | b'?', b'h' | b'l') => {
                for k in 0..params.len() {
                    self.set_mode(private == b'?', params.get(k), fin == b'h');
                }
            }
            (0, b'm') => self.sgr(params),
            (0, b'r') => {
                let top = params.count(0) - 1;
                let mut bottom = params.get(1);
                if params.len() < 2 || bottom == 0 || bottom > self.rows {
                    bottom = self.rows;
                }
                if bottom - 1 > top {
                    self.top = top;
                    self.bottom = bottom - 1;
                    self.goto(0, 0);
                }
            }
            (0, b's') => self.save_cursor(),
            (0, b'u') => self.restore_cursor(),
            _ => {}
        }
    }

    fn osc_dispatch(&mut self, data: &str) {
        self.last = None;
        self.osc(data);
    }
}

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

    /// Processes output bytes (UTF-8; invalid sequences show as U+FFFD).
    pub fn feed(&mut self, bytes: &[u8]) {
        self.parser.advance(&mut self.core, bytes);
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
            .cells
            .get(col as usize)
    }

    /// The text of a cell: its character followed by any combining marks.
    /// Empty for the second half of a wide character or out of range.
    pub fn cell_text(&self, row: u16, col: u16) -> String {
        let Some(r) = self.core.screen().get(row as usize) else {
            return String::new();
        };
        match r.cells.get(col as usize) {
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

    /// Hands each scrollback line's text to `f`, oldest first, leaving the
    /// scrollback empty: for a reader that looks at each line once as it
    /// scrolls off. The text is lent from one buffer (no allocation a line)
    /// and the rows are kept for scrolling to reuse.
    pub fn drain_scrollback(&mut self, mut f: impl FnMut(&str)) {
        let core = &mut self.core;
        let mut text = String::new();
        for row in core.scrollback.drain(..) {
            row.text_into(&mut text);
            f(&text);
            if core.spare.0.len() < MAX_SPARE {
                core.spare.0.push(row);
            }
        }
    }

    /// [`Terminal::row_text`] into `out`, which is cleared first.
    pub fn row_text_into(&self, row: u16, out: &mut String) {
        match self.core.screen().get(row as usize) {
            Some(r) => r.text_into(out),
            None => out.clear(),
        }
    }

    /// Frees the rows kept for reuse since [`Terminal::drain_scrollback`]
    /// (up to 256 rows): for a reader that holds many terminals and reads
    /// one at a time.
    pub fn release_spare_rows(&mut self) {
        self.core.spare = Spare::default();
    }

    /// Bytes of heap the terminal holds (allocated capacity, parser included).
    pub fn heap_size(&self) -> usize {
        use std::mem::size_of;
        let row = |r: &Row| {
            r.cells.capacity() * size_of::<Cell>()
                + r.marks.capacity() * size_of::<crate::grid::Marks>()
        };
        let screen =
            |s: &VecDeque<Row>| s.capacity() * size_of::<Row>() + s.iter().map(row).sum::<usize>();
        let c = &self.core;
        screen(&c.primary)
            + screen(&c.alternate)
            + c.scrollback.capacity() * size_of::<Row>()
            + c.scrollback.iter().map(row).sum::<usize>()
            + c.spare.0.capacity() * size_of::<Row>()
            + c.spare.0.iter().map(row).sum::<usize>()
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
                    let col = ra.cells.iter().zip(&rb.cells).position(|(x, y)| x != y);
                    let _ = write!(
                        out,
                        "{name} row {i} col {col:?}: {:?} vs {:?}; ",
                        ra.text(),
                        rb.text()
                    );
                    if let Some(c) = col {
                        let _ = write!(out, "{:?} vs {:?}", ra.cells[c], rb.cells[c]);
                    } else {
                        let _ = write!(out, "marks {:?} vs {:?}", ra.marks, rb.marks);
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
            scrollback_limit
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
    fn rep_makes_at_most_about_two_screens_of_repetitions() {
        // Every start a stream can give: positions, regions, wrap flag,
        // autowrap, widths, on screens up to the largest.
        for (cols, rows) in [
            (1, 1),
            (2, 3),
            (80, 24),
            (1024, 64),
            (256, 256),
            (1024, 1024),
        ] {
            let mut t = Terminal::new(cols, rows);
            for setup in [
                &b""[..],
                b"\x1b[999;999H",
                b"\x1b[2;3r\x1b[999;1H",
                b"\x1b[?7l",
                b"\x1b[999;999HA",
            ] {
                t.feed(b"\x1bc");
                t.feed(setup);
                for w in [1usize, 2] {
                    let n = t.core.repeats_that_count(65535, w.min(cols as usize));
                    let bound = cols as usize * (2 * rows as usize + 4);
                    assert!(n <= bound.min(65535), "{cols}x{rows} {setup:?} w{w}: {n}");
                }
            }
        }
    }

    #[test]
    fn sgr_colon_and_semicolon_truecolor_agree() {
        let mut a = Terminal::new(10, 2);
        a.feed(b"\x1b[38;2;1;2;3;48;5;200mx");
        let mut b = Terminal::new(10, 2);
        b.feed(b"\x1b[38:2::1:2:3;48:5:200mx");
        let mut c = Terminal::new(10, 2);
        c.feed(b"\x1b[38:2:1:2:3m\x1b[48:5:200mx");
        assert_eq!(a.pen().fg(), Color::Rgb(1, 2, 3));
        assert_eq!(a.pen().bg(), Color::Indexed(200));
        assert_eq!(a, b);
        assert_eq!(a, c);
    }

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
    fn fast_text_path_agrees_with_the_slow_one() {
        // The same random text, once through the fast path and once through
        // `print_char` (a UK charset in G0 turns the fast path off; '#', the
        // one character it maps, is left out), fed in the same pieces.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // Besides random bytes, the pieces where the fast path takes a
        // shortcut: wide characters, combining marks (on a wide character
        // too), the controls it carries out itself, a C1 control.
        let pieces = [
            "日",
            "本語",
            "😀",
            "e\u{301}",
            "\u{301}",
            "\u{302}\u{303}\u{304}\u{305}\u{306}",
            "é",
            "\r",
            "\x08",
            "\t",
            "\n",
            "\x0b",
            "\x07",
            "\x7f",
            "\u{85}",
            "ab",
        ];
        for round in 0..400 {
            let len = (next() % 1500) as usize;
            let mut input = Vec::with_capacity(len + 32);
            while input.len() < len {
                let r = next();
                if r % 3 == 0 {
                    input.extend_from_slice(pieces[(r >> 8) as usize % pieces.len()].as_bytes());
                } else {
                    input.push(match (r >> 8) as u8 {
                        0x1B | 0x18 | 0x1A | 0x0E | 0x0F | b'#' => b'x',
                        b => b,
                    });
                }
            }
            let (cols, rows) = (1 + (next() % 40) as u16, 1 + (next() % 8) as u16);
            let mut fast = Terminal::new(cols, rows);
            let mut slow = Terminal::new(cols, rows);
            slow.feed(b"\x1b(A");
            let mut rest = &input[..];
            while !rest.is_empty() {
                let n = ((next() % 64) as usize + 1).min(rest.len());
                fast.feed(&rest[..n]);
                slow.feed(&rest[..n]);
                rest = &rest[n..];
            }
            assert_eq!(fast.cursor(), slow.cursor(), "round {round}");
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(fast.cell(r, c), slow.cell(r, c), "round {round} at {r},{c}");
                    assert_eq!(fast.cell_text(r, c), slow.cell_text(r, c));
                }
            }
            assert_eq!(fast.core.last, slow.core.last, "round {round}");
            // The whole state, once the charsets agree again.
            slow.feed(b"\x1b(B");
            fast.feed(b"\x1b(B");
            assert_eq!(fast, slow, "round {round}");
        }
    }

    #[test]
    fn taken_scrollback_rows_are_reused_blank() {
        let mut t = Terminal::with_scrollback(10, 3, 100);
        t.feed(b"\x1b[41m1111111111\r\n2\r\n3\r\n4\r\n5");
        let take = |t: &mut Terminal| {
            let mut lines = Vec::new();
            t.drain_scrollback(|l| lines.push(l.to_owned()));
            lines
        };
        assert_eq!(take(&mut t), ["1111111111", "2"]);
        assert_eq!(t.core.spare.0.len(), 2);
        // The reused rows come back blank (in the current background).
        t.feed(b"\r\n6\r\n7");
        assert_eq!(take(&mut t), ["3", "4"]);
        assert_eq!(t.text(), "5\n6\n7");
        let mut fresh = Terminal::with_scrollback(10, 3, 100);
        fresh.feed(b"\x1b[41m1111111111\r\n2\r\n3\r\n4\r\n5\r\n6\r\n7");
        take(&mut fresh);
        assert_eq!(t.diff(&fresh), None);
        assert_eq!(t, fresh);
    }

    #[test]
    fn sizes_are_clamped() {
        let t = Terminal::new(0, 65535);
        assert_eq!((t.cols(), t.rows()), (1, MAX_ROWS));
    }
}
