//! The lines that scroll off the top of the primary screen, as text, for a
//! reader that looks at each once as it goes (search): the one interface
//! for them, [`Terminal::with_scrolled_off`] and
//! [`Terminal::take_scrolled_off`].
//!
//! A line's text is taken as it leaves the screen, so its row stays on the
//! screen (the cheapest scroll, a rotation) and nothing is allocated a
//! line: the text of all the lines waiting is one string. The lines waiting
//! are the ones a scrollback of the same limit would hold (the oldest are
//! dropped past the limit; ED 3 erases them; RIS keeps them), so a reader
//! that takes them after every piece of output misses nothing a scrollback
//! would have shown.

use crate::grid::Row;

use super::Terminal;

/// Text kept allocated after a take: a reader holding many terminals does
/// not keep each one's largest burst.
const KEEP_TEXT: usize = 4096;
/// Line ends kept allocated after a take.
const KEEP_LINES: usize = 256;

/// The lines scrolled off and not taken yet. Equal when the limit and the
/// lines are (however the text is laid out).
#[derive(Clone, Debug, Default)]
pub(crate) struct ScrolledOff {
    /// The most lines kept; 0: none are (the terminal's default).
    limit: usize,
    /// The lines' text, one after the other.
    text: String,
    /// Where each line ends in `text`.
    ends: Vec<usize>,
    /// Lines at the front dropped past `limit`: removed from `text` all at
    /// once when there are `limit` of them, so each line costs O(1).
    dropped: usize,
}

impl ScrolledOff {
    /// True when lines are kept.
    #[inline]
    pub(super) fn is_on(&self) -> bool {
        self.limit > 0
    }

    /// Keeps the text of `row`, which is leaving the top of the screen.
    pub(super) fn push(&mut self, row: &Row) {
        if self.limit == 0 {
            return;
        }
        row.push_text(&mut self.text);
        self.end_line();
    }

    /// Adds text to the line being put together from the input (the fast
    /// path of `super::lines`).
    pub(super) fn push_piece(&mut self, piece: &str) {
        self.text.push_str(piece);
    }

    /// Ends the line whose text was just added (by [`ScrolledOff::push`]
    /// or [`ScrolledOff::push_piece`]), trailing blanks trimmed as a row's
    /// text is.
    pub(super) fn end_line(&mut self) {
        let start = self.ends.last().copied().unwrap_or(0);
        crate::grid::trim_blanks(&mut self.text, start);
        self.ends.push(self.text.len());
        if self.ends.len() - self.dropped > self.limit {
            self.dropped += 1;
            if self.dropped >= self.limit {
                let cut = self.ends[self.dropped - 1];
                self.text.drain(..cut);
                self.ends.drain(..self.dropped);
                for end in &mut self.ends {
                    *end -= cut;
                }
                self.dropped = 0;
            }
        }
    }

    /// Forgets the lines kept (ED 3).
    pub(super) fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.dropped = 0;
    }

    /// Forgets the lines taken, keeping a little memory for the next.
    fn forget(&mut self) {
        self.clear();
        self.text.shrink_to(KEEP_TEXT);
        self.ends.shrink_to(KEEP_LINES);
    }

    /// The lines kept, oldest first.
    fn lines(&self) -> impl Iterator<Item = &str> {
        let mut start = match self.dropped {
            0 => 0,
            d => self.ends[d - 1],
        };
        self.ends[self.dropped..].iter().map(move |&end| {
            let line = &self.text[start..end];
            start = end;
            line
        })
    }

    /// Bytes of heap held.
    pub(super) fn heap_size(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * size_of::<usize>()
    }
}

impl PartialEq for ScrolledOff {
    fn eq(&self, other: &ScrolledOff) -> bool {
        self.limit == other.limit && self.lines().eq(other.lines())
    }
}

impl Terminal {
    /// A fresh terminal that keeps, as text, up to `lines` of the lines
    /// that scroll off the top of its primary screen, for
    /// [`Terminal::take_scrolled_off`]: the same lines a scrollback of
    /// `lines` would hold, without keeping their cells.
    pub fn with_scrolled_off(cols: u16, rows: u16, lines: usize) -> Terminal {
        let mut t = Terminal::new(cols, rows);
        t.core.scrolled_off.limit = lines;
        t
    }

    /// Hands `f` the text of each line that scrolled off the top of the
    /// primary screen since the last call (up to the limit given to
    /// [`Terminal::with_scrolled_off`], the most recent ones), oldest first,
    /// trailing blanks trimmed, and forgets them.
    pub fn take_scrolled_off(&mut self, mut f: impl FnMut(&str)) {
        let lines = &mut self.core.scrolled_off;
        for line in lines.lines() {
            f(line);
        }
        lines.forget();
    }

    /// As [`Terminal::take_scrolled_off`], handing `f` only the lines in
    /// which `find` finds what it looks for, without a call for every line.
    ///
    /// `find` returns where in a text the first match starts. It is given
    /// many lines at once, one after the other (without separators), and a
    /// line that a match seems to start in is then given alone: a match
    /// across two lines is not taken. A `find` that matches an empty text
    /// is given each line alone.
    pub fn take_scrolled_off_matching(
        &mut self,
        mut find: impl FnMut(&str) -> Option<usize>,
        mut f: impl FnMut(&str),
    ) {
        if find("").is_some() {
            return self.take_scrolled_off(|line| {
                if find(line).is_some() {
                    f(line);
                }
            });
        }
        let lines = &mut self.core.scrolled_off;
        let base = match lines.dropped {
            0 => 0,
            d => lines.ends[d - 1],
        };
        matching_lines(&lines.text, base, &lines.ends[lines.dropped..], find, f);
        lines.forget();
    }

    /// Hands `f` the text of each row of the shown screen, top to bottom,
    /// trailing blanks trimmed, in which `find` finds what it looks for:
    /// the rows are read into `text` one after the other (with their ends
    /// in `ends`; both buffers are cleared first, and lent by the caller to
    /// be reused) and searched at once, as
    /// [`Terminal::take_scrolled_off_matching`] searches its lines.
    ///
    /// Each row's text is kept until the row changes: the row is not read
    /// again at the next look, nor when it scrolls off, if it has not.
    pub fn rows_matching(
        &mut self,
        text: &mut String,
        ends: &mut Vec<usize>,
        mut find: impl FnMut(&str) -> Option<usize>,
        mut f: impl FnMut(&str),
    ) {
        text.clear();
        ends.clear();
        for row in self.core.screen_mut() {
            row.read_text(text);
            ends.push(text.len());
        }
        if find("").is_some() {
            let mut start = 0;
            for &end in ends.iter() {
                let line = &text[start..end];
                if find(line).is_some() {
                    f(line);
                }
                start = end;
            }
            return;
        }
        matching_lines(text, 0, ends, find, f);
    }
}

/// Hands `f` each of the lines of `text` from `base` on, ending at `ends`,
/// in which `find` finds a match, looking at many lines at once (`find`
/// does not match an empty text).
fn matching_lines(
    text: &str,
    base: usize,
    ends: &[usize],
    mut find: impl FnMut(&str) -> Option<usize>,
    mut f: impl FnMut(&str),
) {
    let end = ends.last().copied().unwrap_or(base);
    // Where to look from, and the first line not passed yet.
    let (mut from, mut first) = (base, 0);
    while from < end {
        let Some(at) = find(&text[from..end]).map(|p| from + p) else {
            break;
        };
        let i = first + ends[first..].partition_point(|&e| e <= at);
        let Some(&line_end) = ends.get(i) else { break };
        let start = if i == 0 { base } else { ends[i - 1] };
        let line = &text[start..line_end];
        if find(line).is_some() {
            f(line);
            from = line_end;
            first = i + 1;
        } else {
            // A match across lines: look again from the next character.
            from = at + text[at..].chars().next().map_or(1, char::len_utf8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(t: &mut Terminal) -> Vec<String> {
        let mut lines = Vec::new();
        t.take_scrolled_off(|l| lines.push(l.to_owned()));
        lines
    }

    #[test]
    fn lines_are_taken_once_in_order_and_the_screen_is_untouched() {
        let mut t = Terminal::with_scrolled_off(10, 3, 100);
        t.feed("\x1b[41m1111111111\r\n2\r\n中e\u{301}  \r\n4\r\n5".as_bytes());
        assert_eq!(take(&mut t), ["1111111111", "2"]);
        assert_eq!(take(&mut t), Vec::<String>::new());
        t.feed(b"\r\n6\r\n7");
        assert_eq!(take(&mut t), ["中e\u{301}", "4"]);
        assert_eq!(t.text(), "5\n6\n7");
        // Taken or not, the screen is that of a terminal without a reader.
        let mut plain = Terminal::new(10, 3);
        plain.feed("\x1b[41m1111111111\r\n2\r\n中e\u{301}  \r\n4\r\n5\r\n6\r\n7".as_bytes());
        assert_eq!(t.snapshot(), plain.snapshot());
    }

    #[test]
    fn the_limit_keeps_the_newest_lines() {
        for limit in [1, 2, 3, 7] {
            let mut t = Terminal::with_scrolled_off(5, 1, limit);
            let mut sb = Terminal::with_scrollback(5, 1, limit);
            for i in 0..40 {
                let line = format!("{i}\r\n");
                t.feed(line.as_bytes());
                sb.feed(line.as_bytes());
                let mut twin = t.clone();
                let want: Vec<String> = (0..sb.scrollback_len())
                    .filter_map(|k| sb.scrollback_text(k))
                    .collect();
                assert_eq!(take(&mut twin), want, "limit {limit} after {i}");
            }
        }
    }

    #[test]
    fn equality_is_of_the_lines_kept() {
        // The same lines, one terminal having dropped (and compacted) more.
        let mut a = Terminal::with_scrolled_off(5, 1, 2);
        let mut b = Terminal::with_scrolled_off(5, 1, 2);
        a.feed(b"x\r\nx\r\nx\r\ny\r\nz\r\n");
        b.feed(b"y\r\nz\r\n");
        assert_eq!(a, b);
        b.feed(b"w\r\n");
        a.feed(b"w\r\n");
        assert_eq!(a, b);
        a.feed(b"v\r\n");
        assert_ne!(a, b);
        assert!(a.diff(&b).is_some_and(|d| d.contains("scrolled_off")));
    }

    #[test]
    fn what_a_scrollback_would_keep_and_no_more() {
        let mut t = Terminal::with_scrolled_off(5, 3, 10);
        // Not off the top: a region below it, the alternate screen.
        t.feed(b"\x1b[2;3r\x1b[3Ha\r\nb\r\nc\x1b[r");
        t.feed(b"\x1b[?1049h\x1b[3Hd\r\ne\x1b[?1049l");
        assert_eq!(take(&mut t), Vec::<String>::new());
        // RIS keeps them; ED 3 erases them; a shrinking screen pushes the
        // lines above the cursor off the top.
        t.feed(b"\x1bc1\r\n2\r\n3\r\n4\x1bc");
        assert_eq!(take(&mut t), ["1"]);
        t.feed(b"1\r\n2\r\n3\r\n4\x1b[3J");
        assert_eq!(take(&mut t), Vec::<String>::new());
        t.feed(b"\x1b[H\x1b[2Jp\r\nq\r\nr");
        t.resize(5, 1);
        assert_eq!(take(&mut t), ["p", "q"]);
    }

    #[test]
    fn a_reader_keeps_little_between_takes() {
        let mut t = Terminal::with_scrolled_off(200, 2, 10_000);
        for _ in 0..5000 {
            t.feed(&[b'x'; 199]);
            t.feed(b"\r\n");
        }
        let before = t.heap_size();
        // The first line feed moves to the second row; the rest scroll.
        assert_eq!(take(&mut t).len(), 4999);
        assert!(
            t.heap_size() + 900_000 < before,
            "{before} {}",
            t.heap_size()
        );
        assert!(t.heap_size() <= Terminal::new(200, 2).heap_size() + KEEP_TEXT + 8 * KEEP_LINES);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// The lines taken by a search of many lines at once are the lines
        /// taken one by one that match, matches across lines left out.
        #[test]
        fn lines_matching_are_those_that_match_one_by_one(
            lines in proptest::collection::vec("[19é ]{0,6}", 0..40),
            needle in "[19é ]{0,3}",
            limit in 1usize..50,
        ) {
            let mut t = Terminal::with_scrolled_off(8, 2, limit);
            for line in &lines {
                t.feed(format!("{line}\r\n").as_bytes());
            }
            let mut one = t.clone();
            let want: Vec<String> = take(&mut one)
                .into_iter()
                .filter(|l| l.contains(&needle))
                .collect();
            let mut got = Vec::new();
            t.take_scrolled_off_matching(|text| text.find(&needle), |l| got.push(l.to_owned()));
            proptest::prop_assert_eq!(got, want);
            proptest::prop_assert_eq!(take(&mut t), Vec::<String>::new());
        }

        /// The rows found by a search of all of them at once are the rows
        /// that match read one by one.
        #[test]
        fn rows_matching_are_those_that_match_one_by_one(
            lines in proptest::collection::vec("[19é 中]{0,9}", 0..12),
            needle in "[19é ]{0,3}",
            rows in 1u16..8,
        ) {
            let mut t = Terminal::new(8, rows);
            t.feed(lines.join("\r\n").as_bytes());
            let want: Vec<String> = (0..rows)
                .map(|r| t.row_text(r))
                .filter(|l| l.contains(&needle))
                .collect();
            let (mut text, mut ends) = (String::from("old"), vec![7]);
            let mut got = Vec::new();
            t.rows_matching(&mut text, &mut ends, |text| text.find(&needle), |l| got.push(l.to_owned()));
            proptest::prop_assert_eq!(got, want);
        }
    }
}
