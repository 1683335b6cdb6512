//! Printing: characters onto the screen at the cursor, in the pen, through
//! the charsets, with wrapping, wide characters, combining marks and REP;
//! and the fast paths for runs of text with no charset mapping.

use super::state::{Core, LastPrint};
use crate::cell::{Cell, MARKS, SPACER, WIDE};
use crate::charset::Charset;
use crate::grid;
use crate::parser::{Perform, ends_text};
use crate::utf8::{Decoded, char_len, decode, second_byte};
use crate::width::columns;

impl Core {
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

    pub(super) fn print_char(&mut self, c: char) {
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
        let col = if row.cells()[col].flags & SPACER != 0 {
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
            let mut marks = row.marks().last().is_some_and(|m| m.col as usize >= col);
            let (cells, row_marks) = row.cells_and_marks_mut();
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
                            marks = !row_marks.is_empty();
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
                        grid::add_mark(row_marks, cells, at, c);
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
            let (cells, marks) = row.cells_and_marks_mut();
            if !marks.is_empty() {
                marks.retain(|m| (m.col as usize) < col || (m.col as usize) >= col + n);
            }
            for (cell, &b) in cells[col..col + n].iter_mut().zip(&run[i..i + n]) {
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
    pub(super) fn repeat(&mut self, n: usize) {
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

    /// A run of printable ASCII ([`Perform::print_ascii`]).
    #[inline]
    pub(super) fn print_ascii_run(&mut self, run: &[u8]) {
        if self.ss == 0 && !self.modes.insert && self.charsets[self.gl as usize] == Charset::Ascii {
            self.print_ascii_fast(run);
        } else {
            for &b in run {
                self.print_char(b as char);
            }
        }
    }

    /// Text in ground state ([`Perform::print_utf8`]).
    pub(super) fn print_text(&mut self, bytes: &[u8]) -> usize {
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
}

/// Byte classes for ground-state text: a C0 control or DEL, or text.
const STOP: u8 = 0;
const TEXT: u8 = 1;

/// What the text loop needs to know of a byte: its class and, for a byte
/// that starts a character of more than one byte, the range the next byte
/// must be in (`utf8::second_byte`), as its lowest value and its span. The
/// range holds only 0x100 (no byte) for single bytes, and every byte for
/// controls. Built from `crate::utf8` at compile time.
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
        let byte = b as u8;
        t[b] = if byte < 0x20 || byte == 0x7F {
            TextByte {
                class: STOP,
                lo: 0,
                span: 0xFF,
            }
        } else if char_len(byte) >= 2 {
            let (lo, hi) = second_byte(byte);
            TextByte {
                class: TEXT,
                lo: lo as u16,
                span: (hi - lo) as u16,
            }
        } else {
            single
        };
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

#[cfg(test)]
mod tests {
    use crate::Terminal;

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
}
