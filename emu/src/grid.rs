//! Rows of cells, and the cell operations that keep wide characters whole.
//!
//! Invariant kept by every operation here: a `WIDE` cell is always followed by
//! a `SPACER` cell and a `SPACER` is always preceded by a `WIDE` cell. An
//! operation that would split a pair blanks both halves, as xterm does.

use std::sync::OnceLock;

use crate::cell::{Cell, Color, MARKS, Pen, SPACER, WIDE};

/// Combining marks kept per cell; more are dropped (xterm keeps 2 by default).
pub(crate) const MAX_MARKS: usize = 4;

/// The combining marks of one cell, as UTF-8 held inline: at most
/// `MAX_MARKS` characters of at most 4 bytes each. Inline rather than a
/// `String` so that adding a mark never allocates (text with combining accents
/// added one per few characters, and each allocation cost more than printing
/// the character itself).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Marks {
    pub(crate) col: u16,
    count: u8,
    len: u8,
    buf: [u8; 4 * MAX_MARKS],
}

impl Marks {
    fn new(col: u16, c: char) -> Marks {
        let mut m = Marks {
            col,
            count: 0,
            len: 0,
            buf: [0; 4 * MAX_MARKS],
        };
        m.push(c);
        m
    }

    #[inline]
    fn push(&mut self, c: char) {
        if (self.count as usize) < MAX_MARKS {
            // Encoded aside and copied: four bytes always fit after fewer
            // than `MAX_MARKS` characters, which the compiler cannot see
            // through `encode_utf8` into the rest of the buffer.
            let mut utf8 = [0; 4];
            let n = c.encode_utf8(&mut utf8).len();
            let at = self.len as usize;
            if let Some(dst) = self.buf.get_mut(at..at + n) {
                dst.copy_from_slice(&utf8[..n]);
                self.len += n as u8;
                self.count += 1;
            }
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only whole characters are ever written, so this never fails.
        std::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or_default()
    }
}

/// Adds combining mark `c` to the cell at `col` of a row's `cells` and `marks`
/// (see [`Row::add_mark`], which also marks the row written; the text loop
/// holding the cells borrowed does that itself).
#[inline]
pub(crate) fn add_mark(marks: &mut Vec<Marks>, cells: &mut [Cell], col: usize, c: char) {
    // Marks mostly come left to right: try the end before searching.
    match marks.last_mut() {
        Some(m) if m.col as usize == col => m.push(c),
        Some(m) if (m.col as usize) < col => marks.push(Marks::new(col as u16, c)),
        None => marks.push(Marks::new(col as u16, c)),
        Some(_) => match marks.binary_search_by_key(&(col as u16), |m| m.col) {
            Ok(i) => marks[i].push(c),
            Err(i) => marks.insert(i, Marks::new(col as u16, c)),
        },
    }
    cells[col].flags |= MARKS;
}

/// A row's worth of default blanks, to copy from.
static BLANKS: [Cell; crate::terminal::MAX_COLS as usize] =
    [Cell::BLANK; crate::terminal::MAX_COLS as usize];

/// Sets `cells` to default blanks: a copy from `BLANKS` (a `memcpy`) rather
/// than `fill`, which stored the 16-byte cell field by field, a third of the
/// time of a line feed on a full line.
#[inline]
fn fill_blank(cells: &mut [Cell]) {
    let mut rest = cells;
    while !rest.is_empty() {
        let n = rest.len().min(BLANKS.len());
        let (head, tail) = rest.split_at_mut(n);
        head.copy_from_slice(&BLANKS[..n]);
        rest = tail;
    }
}

/// One screen line.
///
/// Its cells and marks are private to this module: whatever writes them
/// goes through a method that forgets the text kept of the row (`text`),
/// so that text is never stale, and that first makes the cells of a line
/// laid from its text (see [`Row::lay_start`]).
#[derive(Clone, Debug)]
pub(crate) struct Row {
    /// The cells; while a line is laid (`laid` > 0), the cells from before
    /// it, which it is drawn over when its cells are needed.
    cells: Vec<Cell>,
    /// Combining marks by column, sorted by column; only cells flagged `MARKS`.
    marks: Vec<Marks>,
    /// Every cell of `cells` from this column on is `Cell::BLANK`: clearing
    /// a row only touches what was written (a line of `seq` output is a few
    /// cells).
    dirty: u16,
    /// The row's text, as [`Row::push_text`] gives it, when `known`: kept
    /// when the row is read or drawn from a known text, so that a reader of
    /// every row (search) and the row leaving the screen copy it rather
    /// than read the cells again. Its first `shown` bytes: a laid line's
    /// text keeps its trailing blanks, which it draws.
    text: String,
    shown: usize,
    known: bool,
    /// The columns of the line laid from `text` whose cells are not made
    /// yet; 0 when `cells` are the row's.
    laid: u16,
    /// The pens of the laid line: each from its byte of `text` on.
    pens: Vec<(u32, Pen)>,
    /// The laid line's cells, when made for a reader of cells
    /// ([`Row::cells`]); taken as the row's at the first write.
    drawn: OnceLock<Vec<Cell>>,
}

impl PartialEq for Row {
    fn eq(&self, other: &Row) -> bool {
        self.cells() == other.cells() && self.marks == other.marks
    }
}

/// Draws the line of `text` in `pens` (see [`Row::pens`]) from the first
/// of `cells`, as the byte path prints it on a row of blanks without wide
/// characters or marks (where nothing is split or dropped).
fn paint(cells: &mut [Cell], text: &str, pens: &[(u32, Pen)]) {
    let mut col = 0;
    for (i, &(from, pen)) in pens.iter().enumerate() {
        let to = pens.get(i + 1).map_or(text.len(), |p| p.0 as usize);
        for ch in text.get(from as usize..to).unwrap_or_default().chars() {
            let wide = crate::width::columns(ch) == 2;
            let Some(dst) = cells.get_mut(col..col + 1 + usize::from(wide)) else {
                return;
            };
            dst[0] = Cell::new(ch, pen, if wide { WIDE } else { 0 });
            if wide {
                dst[1] = Cell::new(' ', pen, SPACER);
            }
            col += dst.len();
        }
    }
}

impl Eq for Row {}

impl Row {
    pub(crate) fn new(cols: usize, blank: Cell) -> Row {
        let dirty = if blank == Cell::BLANK { 0 } else { cols as u16 };
        Row {
            cells: vec![blank; cols],
            marks: Vec::new(),
            dirty,
            text: String::new(),
            shown: 0,
            known: false,
            laid: 0,
            pens: Vec::new(),
            drawn: OnceLock::new(),
        }
    }

    /// The cells (a laid line's made, and kept until the row changes).
    #[inline(always)]
    pub(crate) fn cells(&self) -> &[Cell] {
        match self.laid {
            0 => &self.cells,
            _ => self.drawn.get_or_init(|| {
                let mut cells = self.cells.clone();
                paint(&mut cells, &self.text, &self.pens);
                cells
            }),
        }
    }

    /// Readies the row to be written: a laid line's cells made, the text
    /// kept forgotten.
    #[inline(always)]
    fn write(&mut self) {
        if self.laid > 0 {
            self.make_laid_cells();
        }
        self.known = false;
    }

    #[cold]
    fn make_laid_cells(&mut self) {
        match self.drawn.take() {
            Some(cells) => self.cells = cells,
            None => paint(&mut self.cells, &self.text, &self.pens),
        }
        self.dirty = self.dirty.max(self.laid);
        self.laid = 0;
    }

    /// Whether a line may be laid on the row (see [`Row::lay_start`]): it
    /// shows spaces only (of any colour), without marks or wide characters.
    pub(crate) fn takes_a_line(&self) -> bool {
        self.laid == 0
            && self.marks.is_empty()
            && self.cells[..(self.dirty as usize).min(self.cells.len())]
                .iter()
                .all(|c| c.ch == ' ' && c.flags & (MARKS | SPACER | WIDE) == 0)
    }

    /// Starts laying a line on the row (which [`Row::takes_a_line`]) from
    /// column 0 in `pen`: its text is given by [`Row::lay_text`], its pen
    /// changes by [`Row::lay_pen`], its end by [`Row::lay_end`]. Its cells
    /// are made only when they are read or written: a reader of text
    /// (search) reads the text, and most rows scroll off unread.
    pub(crate) fn lay_start(&mut self, pen: Pen) {
        self.known = false;
        self.text.clear();
        self.pens.clear();
        self.pens.push((0, pen));
    }

    /// Text of the line being laid: characters one or two columns wide.
    #[inline]
    pub(crate) fn lay_text(&mut self, piece: &str) {
        self.text.push_str(piece);
    }

    /// The pen of the laid line's text from here on.
    pub(crate) fn lay_pen(&mut self, pen: Pen) {
        let at = self.text.len() as u32;
        match self.pens.last_mut() {
            Some(last) if last.1 == pen => {}
            Some(last) if last.0 == at => last.1 = pen,
            _ => self.pens.push((at, pen)),
        }
    }

    /// Ends the line being laid, `width` columns wide (fewer than the
    /// row's).
    pub(crate) fn lay_end(&mut self, width: usize) {
        self.drawn.take();
        self.laid = width as u16;
        self.shown = self.text.trim_end_matches(' ').len();
        self.known = true;
    }

    /// The combining marks, by column.
    #[inline(always)]
    pub(crate) fn marks(&self) -> &[Marks] {
        &self.marks
    }

    /// The cells and the marks, to be written (the text kept is forgotten).
    #[inline(always)]
    pub(crate) fn cells_and_marks_mut(&mut self) -> (&mut [Cell], &mut Vec<Marks>) {
        self.write();
        (&mut self.cells, &mut self.marks)
    }

    /// The column from which every cell is a default blank.
    #[inline(always)]
    pub(crate) fn dirty(&self) -> u16 {
        self.dirty.max(self.laid)
    }

    /// Bytes of heap held.
    pub(crate) fn heap_size(&self) -> usize {
        self.cells.capacity() * size_of::<Cell>()
            + self.marks.capacity() * size_of::<Marks>()
            + self.text.capacity()
            + self.pens.capacity() * size_of::<(u32, Pen)>()
            + self
                .drawn
                .get()
                .map_or(0, |c| c.capacity() * size_of::<Cell>())
    }

    /// Keeps `text` as the row's text: the caller has just drawn it on the
    /// row (which was blank) from that text.
    pub(crate) fn know_text(&mut self, text: &str) {
        self.text.clear();
        self.text.push_str(text);
        self.shown = text.len();
        self.known = true;
    }

    /// Notes that cells before `to` may have been written.
    #[inline(always)]
    pub(crate) fn touch(&mut self, to: usize) {
        self.write();
        if to as u16 > self.dirty {
            self.dirty = to as u16;
        }
    }

    pub(crate) fn marks_at(&self, col: usize) -> &str {
        match self.marks.binary_search_by_key(&(col as u16), |m| m.col) {
            Ok(i) => self.marks[i].as_str(),
            Err(_) => "",
        }
    }

    pub(crate) fn add_mark(&mut self, col: usize, c: char) {
        self.write();
        add_mark(&mut self.marks, &mut self.cells, col, c);
        self.touch(col + 1);
    }

    pub(crate) fn drop_marks(&mut self, from: usize, to: usize) {
        self.write();
        if !self.marks.is_empty() {
            self.marks
                .retain(|m| (m.col as usize) < from || (m.col as usize) >= to);
        }
    }

    /// Blanks both halves of a wide character that straddles the boundary
    /// before column `at` (between `at - 1` and `at`).
    ///
    /// The halves become erased cells of background `bg`. (A colour, not a
    /// cell, is passed: building a 16-byte cell on the hot path costs a
    /// store-forwarding stall per character.)
    #[inline(always)]
    pub(crate) fn break_at(&mut self, at: usize, bg: Color) {
        if self.laid > 0 {
            self.make_laid_cells();
        }
        if at > 0 && at < self.cells.len() && self.cells[at].flags & SPACER != 0 {
            self.break_pair(at, bg);
        }
    }

    #[cold]
    fn break_pair(&mut self, at: usize, bg: Color) {
        self.write();
        self.set_blank(at - 1, Cell::erased(bg));
        self.set_blank(at, Cell::erased(bg));
    }

    #[inline]
    fn set_blank(&mut self, col: usize, blank: Cell) {
        self.write();
        if self.cells[col].flags & MARKS != 0 {
            self.drop_marks(col, col + 1);
        }
        self.cells[col] = blank;
    }

    /// Writes `cell` at `col` (and its spacer when wide), keeping pairs whole.
    ///
    /// Inlined, and written field by field: a 16-byte cell built in one
    /// function and copied whole in another stalls on store forwarding.
    #[inline(always)]
    pub(crate) fn put(&mut self, col: usize, cell: Cell, wide: bool, bg: Color) {
        self.write();
        let w = if wide { 2 } else { 1 };
        self.break_at(col, bg);
        self.break_at(col + w, bg);
        if self.cells[col].flags & MARKS != 0 || (wide && self.cells[col + 1].flags & MARKS != 0) {
            self.drop_marks(col, col + w);
        }
        let dst = &mut self.cells[col];
        dst.ch = cell.ch;
        dst.fg = cell.fg;
        dst.bg = cell.bg;
        dst.flags = cell.flags;
        self.touch(col + w);
        if wide {
            let dst = &mut self.cells[col + 1];
            dst.ch = ' ';
            dst.fg = cell.fg;
            dst.bg = cell.bg;
            dst.flags = (cell.flags & !WIDE) | SPACER;
        }
    }

    /// Sets columns `from..to` to `blank`.
    pub(crate) fn erase(&mut self, from: usize, to: usize, blank: Cell) {
        self.write();
        let to = to.min(self.cells.len());
        if from >= to {
            return;
        }
        self.break_at(from, blank.bg);
        self.break_at(to, blank.bg);
        self.drop_marks(from, to);
        if blank == Cell::BLANK {
            let end = to.min(self.dirty as usize);
            if from < end {
                fill_blank(&mut self.cells[from..end]);
            }
            if to >= self.dirty as usize {
                self.dirty = self.dirty.min(from as u16);
            }
        } else {
            self.cells[from..to].fill(blank);
            self.touch(to);
        }
    }

    /// Inserts `n` blanks at `at`, shifting the rest right; cells pushed past the edge are lost.
    pub(crate) fn insert(&mut self, at: usize, n: usize, blank: Cell) {
        self.write();
        let cols = self.cells.len();
        if at >= cols {
            return;
        }
        let n = n.min(cols - at);
        self.break_at(at, blank.bg);
        // Whatever gets pushed off the edge must not leave half a wide character.
        self.break_at(cols - n, blank.bg);
        self.drop_marks(cols - n, cols);
        self.cells.copy_within(at..cols - n, at + n);
        self.cells[at..at + n].fill(blank);
        self.dirty = cols as u16;
        for m in &mut self.marks {
            if m.col as usize >= at {
                m.col += n as u16;
            }
        }
    }

    /// Deletes `n` cells at `at`, shifting the rest left and filling with blanks.
    pub(crate) fn delete(&mut self, at: usize, n: usize, blank: Cell) {
        self.write();
        let cols = self.cells.len();
        if at >= cols {
            return;
        }
        let n = n.min(cols - at);
        self.break_at(at, blank.bg);
        self.break_at(at + n, blank.bg);
        self.drop_marks(at, at + n);
        self.cells.copy_within(at + n..cols, at);
        self.cells[cols - n..].fill(blank);
        if blank != Cell::BLANK {
            self.dirty = cols as u16;
        }
        for m in &mut self.marks {
            if m.col as usize >= at + n {
                m.col -= n as u16;
            }
        }
    }

    /// Changes the width to `cols`, truncating or padding with `blank`.
    pub(crate) fn resize(&mut self, cols: usize, blank: Cell) {
        self.write();
        if cols < self.cells.len() {
            self.break_at(cols, blank.bg);
            self.drop_marks(cols, usize::MAX);
            self.cells.truncate(cols);
            self.dirty = self.dirty.min(cols as u16);
        } else {
            self.cells.resize(cols, blank);
        }
    }

    /// Resets the row to `blank` everywhere.
    pub(crate) fn clear(&mut self, blank: Cell) {
        // A laid line is dropped unmade: its cells are blanked all the same.
        self.laid = 0;
        self.drawn.take();
        self.known = false;
        if blank == Cell::BLANK {
            let end = (self.dirty as usize).min(self.cells.len());
            fill_blank(&mut self.cells[..end]);
            self.dirty = 0;
        } else {
            self.cells.fill(blank);
            self.dirty = self.cells.len() as u16;
        }
        self.marks.clear();
    }

    /// True when every cell is a default blank.
    pub(crate) fn is_blank(&self) -> bool {
        self.cells()[..(self.dirty() as usize).min(self.cells.len())]
            .iter()
            .all(Cell::is_blank)
    }

    /// The row's text: continuations skipped, marks included, trailing blanks trimmed.
    pub(crate) fn text(&self) -> String {
        let mut s = String::new();
        self.text_into(&mut s);
        s
    }

    /// [`Row::text`] into `s`, which is cleared first (a caller reading
    /// many rows reuses one buffer).
    pub(crate) fn text_into(&self, s: &mut String) {
        s.clear();
        self.push_text(s);
    }

    /// [`Row::text`] appended to `s`: the text kept, if any, else read
    /// from the cells.
    pub(crate) fn push_text(&self, s: &mut String) {
        match self.known {
            true => s.push_str(self.text.get(..self.shown).unwrap_or(&self.text)),
            false => self.push_cells_text(s),
        }
    }

    /// Whether the text kept, if any, differs from the cells' (for tests).
    #[cfg(test)]
    pub(crate) fn is_stale(&self) -> bool {
        let mut cells = String::new();
        self.push_cells_text(&mut cells);
        self.known && self.text.get(..self.shown) != Some(&cells)
    }

    /// Appends the row's text to `s` and keeps it (see [`Row::know_text`]).
    pub(crate) fn read_text(&mut self, s: &mut String) {
        let start = s.len();
        self.push_text(s);
        if !self.known {
            self.know_text(&s[start..]);
        }
    }

    /// [`Row::push_text`] read from the cells.
    ///
    /// Cells are gathered as bytes while they are plain ASCII (the common
    /// case) and appended a chunk at once, cheaper than pushing them a
    /// character at a time; from the first other cell to the chunk's end
    /// they go character by character.
    pub(crate) fn push_cells_text(&self, s: &mut String) {
        const CHUNK: usize = 64;
        let start = s.len();
        let end = (self.dirty() as usize).min(self.cells.len());
        s.reserve(end);
        let mut bytes = [0u8; CHUNK];
        for (k, chunk) in self.cells()[..end].chunks(CHUNK).enumerate() {
            // Without a branch a cell: gathered whole, then checked.
            let mut other = false;
            for (b, c) in bytes.iter_mut().zip(chunk) {
                other |= (c.ch as u32 >= 0x80) | (c.flags & (SPACER | MARKS) != 0);
                *b = c.ch as u8;
            }
            let plain = match other {
                false => chunk.len(),
                true => chunk
                    .iter()
                    .position(|c| (c.ch as u32) >= 0x80 || c.flags & (SPACER | MARKS) != 0)
                    .unwrap_or(chunk.len()),
            };
            // ASCII bytes: always UTF-8.
            s.push_str(std::str::from_utf8(&bytes[..plain]).unwrap_or_default());
            if plain < chunk.len() {
                self.push_chars(s, k * CHUNK + plain, &chunk[plain..]);
            }
        }
        trim_blanks(s, start);
    }

    /// The text of `cells`, which start at column `from`, character by
    /// character.
    fn push_chars(&self, s: &mut String, from: usize, cells: &[Cell]) {
        for (i, c) in cells.iter().enumerate() {
            if c.flags & SPACER != 0 {
                continue;
            }
            s.push(c.ch);
            if c.flags & MARKS != 0 {
                s.push_str(self.marks_at(from + i));
            }
        }
    }
}

/// Drops the blanks (U+0020) at the end of `s` after byte `start`. Byte by
/// byte: a space byte is never part of a longer UTF-8 character.
#[inline]
pub(crate) fn trim_blanks(s: &mut String, start: usize) {
    let kept = s.as_bytes()[start..]
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(0, |p| p + 1);
    s.truncate(start + kept);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::Pen;

    fn row(text: &str) -> Row {
        let mut r = Row::new(6, Cell::BLANK);
        let mut col = 0;
        for ch in text.chars() {
            let wide = ch == '中';
            r.put(
                col,
                Cell::new(ch, Pen::default(), if wide { WIDE } else { 0 }),
                wide,
                Color::Default,
            );
            col += if wide { 2 } else { 1 };
        }
        r
    }

    #[test]
    fn overwriting_half_a_wide_char_blanks_the_other_half() {
        let mut r = row("a中b");
        r.put(2, Cell::new('x', Pen::default(), 0), false, Color::Default);
        assert_eq!(r.text(), "a xb");
        let mut r = row("a中b");
        r.put(1, Cell::new('x', Pen::default(), 0), false, Color::Default);
        assert_eq!(r.text(), "ax b");
    }

    #[test]
    fn insert_drops_a_wide_char_split_at_the_edge() {
        let mut r = row("abcd中");
        r.insert(0, 1, Cell::BLANK);
        assert_eq!(r.text(), " abcd");
        assert_eq!(r.cells[5], Cell::BLANK);
    }

    #[test]
    fn dirty_mark_bounds_written_cells() {
        let mut r = row("ab");
        assert_eq!(r.dirty, 2);
        r.erase(1, 6, Cell::BLANK);
        assert_eq!(r.dirty, 1);
        r.erase(0, 2, Cell::erased(crate::cell::Color::Indexed(1)));
        assert_eq!(r.dirty, 2);
        r.clear(Cell::BLANK);
        assert_eq!((r.dirty, r.is_blank()), (0, true));
        assert_eq!(r, Row::new(6, Cell::BLANK));
    }

    /// The text the plain way, a character at a time, trimmed by
    /// characters: what [`Row::push_text`] must equal.
    fn text_by_chars(r: &Row) -> String {
        let mut s = String::new();
        for (i, c) in r.cells.iter().enumerate() {
            if c.flags & SPACER == 0 {
                s.push(c.ch);
                s.push_str(r.marks_at(i));
            }
        }
        s.trim_end_matches(' ').to_owned()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Rows of ASCII, spaces, wide characters, marks and coloured
        /// erases, longer and shorter than a chunk, read in chunks equal
        /// the rows read a character at a time.
        #[test]
        fn text_in_chunks_equals_text_by_chars(
            cols in 1usize..200,
            ops in proptest::collection::vec((0usize..200, 0u8..8), 0..150),
        ) {
            let mut r = Row::new(cols, Cell::BLANK);
            for (col, what) in ops {
                let col = col % cols;
                match what {
                    0 | 1 => r.put(col, Cell::new('a', Pen::default(), 0), false, Color::Default),
                    2 => r.put(col, Cell::new(' ', Pen::default(), 0), false, Color::Default),
                    3 if col + 1 < cols => {
                        r.put(col, Cell::new('中', Pen::default(), WIDE), true, Color::Default)
                    }
                    4 => r.add_mark(col, '\u{301}'),
                    5 => r.put(col, Cell::new('é', Pen::default(), 0), false, Color::Default),
                    6 => r.erase(col, col + 3, Cell::erased(Color::Indexed(2))),
                    _ => r.put(col, Cell::new('~', Pen::default(), 0), false, Color::Default),
                }
            }
            let mut s = "x ".to_owned();
            r.push_text(&mut s);
            proptest::prop_assert_eq!(&s[2..], text_by_chars(&r));
        }
    }

    #[test]
    fn delete_moves_marks_with_their_cells() {
        let mut r = row("abc");
        r.add_mark(2, '\u{301}');
        r.delete(0, 1, Cell::BLANK);
        assert_eq!(r.text(), "bc\u{301}");
        r.erase(0, 6, Cell::BLANK);
        assert!(r.marks.is_empty());
    }
}
