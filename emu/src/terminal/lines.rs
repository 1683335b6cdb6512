//! The fast path for text that only scrolls: output such as `seq`'s or a
//! coloured listing's, line after line at the bottom of the screen.
//!
//! Of a run of such lines fed at once, all but the last screenful scroll
//! off before the run ends: their cells would be written, copied up a row
//! at a time and thrown away. Without a reader of what scrolls off,
//! [`Terminal::feed`] finds the run instead, applies its colour changes to
//! the pen, and writes cells only for the lines left on the screen. With
//! one (search), each line is laid on its row from its text, its colours
//! applied to the pen and kept with the text, and its cells made only if
//! something reads or changes them (see `Row::lay_start`): the reader
//! copies the text when it looks and when the line scrolls off. The state
//! either way is the state the byte-by-byte path leaves
//! (`ring_path_equals_byte_path` and `laid_lines_equal_the_byte_path`
//! check it against that path on random input).
//!
//! A line qualifies when it is printable text (ASCII, or UTF-8 characters
//! one or two columns wide), SGR sequences and a CR LF, narrower than the
//! screen (no wrap); the terminal must be on its primary screen, without
//! scrollback, the whole screen the scroll region, the cursor at the start
//! of an empty bottom row, nothing pending (an escape sequence, a wrap, a
//! single shift) and the invoked charset ASCII, with insert mode off.

use crate::charset::Charset;
use crate::grid::Row;
use crate::parser::{Params, Perform};

use super::Terminal;

/// A run shorter than this many screens' worth of lines goes the usual way:
/// what it saves does not pay for looking at it twice.
const MIN_SCREENS: usize = 2;

/// The longest SGR sequence taken in a run (a longer one ends the run).
const MAX_SGR: usize = 64;

/// For a reader of what scrolls off, the longest line (on average) taken
/// in a run rather than laid: the text of a run goes straight to the
/// reader, that of a laid line is copied twice (as its row's, and as it
/// scrolls off), but laying a line costs more than a run's line.
const SHORT_LINE: usize = 16;

/// The bytes of input checked to be UTF-8 at once when lines are laid.
const CHECK_BLOCK: usize = 1024;

/// The most SGR sequences in a line laid from its text (one with more goes
/// the usual way).
const MAX_SGRS: usize = 16;

impl Terminal {
    /// Processes output bytes (UTF-8; invalid sequences show as U+FFFD).
    pub fn feed(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let mut upto = 0;
            if self.may_skip_lines() {
                let reader = self.core.scrolled_off.is_on();
                let run = MIN_SCREENS * self.core.rows as usize;
                // A reader's lines are laid one by one, unless short ones
                // come enough for a run (as `seq`'s do): their LFs counted
                // first, in as many bytes as such a run takes at most, if
                // the first line is short.
                if !reader
                    || (find_lf(&rest[..rest.len().min(SHORT_LINE)]).is_some()
                        && has_lfs(&rest[..rest.len().min(run * SHORT_LINE)], run))
                {
                    let (len, lines) = simple_lines(rest, self.core.cols as usize);
                    if lines >= run {
                        self.skip_lines(&rest[..len], lines);
                        rest = &rest[len..];
                        continue;
                    }
                    upto = len;
                }
                if reader {
                    let len = self.lay_lines(rest);
                    rest = &rest[len..];
                    if len > 0 {
                        continue;
                    }
                    upto = 0;
                }
            }
            // The usual way, up to the next line's start, where a run may
            // begin.
            upto += find_lf(&rest[upto..]).map_or(rest.len() - upto, |p| p + 1);
            self.parser.advance(&mut self.core, &rest[..upto]);
            rest = &rest[upto..];
        }
    }

    /// Whether a run of simple lines may start here (see the module
    /// documentation).
    #[inline]
    fn may_skip_lines(&self) -> bool {
        let c = &self.core;
        c.col == 0
            && c.row == c.bottom
            && c.top == 0
            && c.bottom + 1 == c.rows
            && !c.alt_active
            && c.scrollback_limit == 0
            && !c.pending_wrap
            && c.ss == 0
            && !c.modes.insert
            && c.charsets[c.gl as usize & 3] == Charset::Ascii
            && self.in_ground_state()
            && c.primary.back().is_some_and(Row::takes_a_line)
    }

    /// Takes `run`, `lines` simple lines (each ending in CR LF; at least a
    /// screen's worth), as the byte path would: the rows above the cursor
    /// and the first lines scroll off, the last `rows - 1` lines stay, the
    /// cursor ends at the start of a fresh bottom row.
    fn skip_lines(&mut self, run: &[u8], lines: usize) {
        let rows = self.core.rows as usize;
        let keep = rows - 1;
        let reader = self.core.scrolled_off.is_on();
        // Checked whole by `simple_lines`; every cut below is at an ASCII
        // byte.
        let text = match reader {
            true => std::str::from_utf8(run).unwrap_or_default(),
            false => "",
        };
        let mut at = 0;
        if reader {
            for r in 0..keep {
                let row = &self.core.primary[r];
                self.core.scrolled_off.push(row);
            }
            let mut left = lines - keep;
            // One pass over each line, to its LF or its next colour.
            while left > 0 {
                let stop = at
                    + run[at..]
                        .iter()
                        .position(|&b| b == b'\n' || b == 0x1B)
                        .unwrap_or(run.len() - at);
                if run.get(stop) == Some(&0x1B) {
                    // Colours change the pen (through the parser, as they
                    // would); the text between them is the line's.
                    let sgr = stop + sgr_len(&run[stop..]).max(1);
                    let piece = text.get(at..stop).unwrap_or_default();
                    self.core.scrolled_off.push_piece(piece);
                    self.apply_sgr(&run[stop..sgr]);
                    at = sgr;
                } else {
                    // The line's CR is just before its LF.
                    let piece = text.get(at..stop - 1).unwrap_or_default();
                    self.core.scrolled_off.push_piece(piece);
                    self.core.scrolled_off.end_line();
                    at = stop + 1;
                    left -= 1;
                }
            }
        } else {
            // Nobody reads the lines that scroll off: only their colour
            // changes count (the pen after them), and the lines that stay
            // are found from the end.
            at = kept_start(run, keep);
            let mut rest = &run[..at];
            while let Some(esc) = rest.iter().position(|&b| b == 0x1B) {
                let sgr = esc + sgr_len(&rest[esc..]).max(1);
                self.apply_sgr(&rest[esc..sgr]);
                rest = &rest[sgr..];
            }
        }
        // The lines that stay, each on a row cleared as the line feed
        // before it would have cleared it; for a reader, laid (the row and
        // column are set for the next line here: its CR LF would only have
        // moved the cursor).
        let mut sgrs = [(0, 0); MAX_SGRS];
        for r in 0..keep {
            let blank = self.core.blank();
            self.core.primary[r].clear(blank);
            self.core.row = r as u16;
            self.core.col = 0;
            let end = at + line_len(&run[at..]);
            let laid = reader
                .then(|| scan_line(&run[at..end], self.core.cols as usize, &mut sgrs))
                .flatten();
            match (laid, text.get(at..end - 2)) {
                (Some((_, width, n)), Some(line)) => self.lay_line(line, &sgrs[..n], width),
                _ => self.parser.advance(&mut self.core, &run[at..end]),
            }
            at = end;
        }
        let blank = self.core.blank();
        self.core.primary[keep].clear(blank);
        self.core.row = keep as u16;
        self.core.col = 0;
        self.core.pending_wrap = false;
        self.core.last = None;
    }

    /// Takes the simple lines at the start of `bytes` one by one, each laid
    /// on the bottom row (see [`Terminal::lay_line`]) and its CR LF done,
    /// as the byte path would leave the terminal; their length in bytes.
    fn lay_lines(&mut self, bytes: &[u8]) -> usize {
        let cols = self.core.cols as usize;
        let mut sgrs = [(0, 0); MAX_SGRS];
        // The input from `checked` on known to be UTF-8 (`text`), checked a
        // block at a time rather than a line at a time.
        let (mut checked, mut text) = (0, "");
        let mut at = 0;
        while let Some((len, width, n)) = scan_line(&bytes[at..], cols, &mut sgrs) {
            if at + len > checked + text.len() {
                let block = &bytes[at..bytes.len().min(at + len.max(CHECK_BLOCK))];
                text = match std::str::from_utf8(block) {
                    Ok(text) => text,
                    Err(e) => std::str::from_utf8(&block[..e.valid_up_to()]).unwrap_or_default(),
                };
                checked = at;
            }
            // Every cut below is at an ASCII byte.
            let Some(line) = text.get(at - checked..at - checked + len - 2) else {
                break;
            };
            if !self.core.primary[self.core.row as usize].takes_a_line() {
                break;
            }
            self.lay_line(line, &sgrs[..n], width);
            self.core.execute(b'\r');
            self.core.execute(b'\n');
            at += len;
        }
        at
    }

    /// Applies `sgr`, an SGR sequence of a simple line (in the ground
    /// state), as the parser would: its parameters read here when they are
    /// digits and `;` (the parser's whole machinery for a sequence cost
    /// more than the line's text).
    #[inline]
    fn apply_sgr(&mut self, sgr: &[u8]) {
        let params = sgr
            .get(2..sgr.len().saturating_sub(1))
            .and_then(Params::of_digits);
        match params {
            Some(params) if sgr.starts_with(b"\x1b[") && sgr.ends_with(b"m") => {
                self.core.last = None;
                self.core.sgr(&params);
            }
            _ => self.parser.advance(&mut self.core, sgr),
        }
    }

    /// Lays `line`, a simple line without its CR LF, `width` columns wide,
    /// its SGR sequences at `sgrs`, on the cursor's row (which
    /// [`Row::takes_a_line`]) from its text: its cells are made only if
    /// they are read or changed (see [`Row::lay_start`]). The pen ends as
    /// the line's colours leave it; the cursor does not move.
    #[inline]
    fn lay_line(&mut self, line: &str, sgrs: &[(usize, usize)], width: usize) {
        let r = self.core.row as usize;
        self.core.primary[r].lay_start(self.core.pen);
        let mut from = 0;
        for &(esc, end) in sgrs {
            self.core.primary[r].lay_text(line.get(from..esc).unwrap_or_default());
            self.apply_sgr(&line.as_bytes()[esc..end]);
            let pen = self.core.pen;
            self.core.primary[r].lay_pen(pen);
            from = end;
        }
        self.core.primary[r].lay_text(line.get(from..).unwrap_or_default());
        self.core.primary[r].lay_end(width);
    }
}

/// Whether `bytes` holds at least `n` LFs: counted eight bytes at a time.
fn has_lfs(bytes: &[u8], n: usize) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const LOWS: u64 = u64::from_ne_bytes([0x7F; 8]);
    const LFS: u64 = u64::from_ne_bytes([b'\n'; 8]);
    let mut count = 0;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        if count >= n {
            return true;
        }
        let x = u64::from_ne_bytes([
            word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
        ]) ^ LFS;
        // The high bit of each byte that is zero (an LF), exactly.
        let zeros = !(((x & LOWS) + LOWS) | x | LOWS);
        // Their sum, in the top byte (`count_ones` is a loop on a CPU
        // without POPCNT, the build's baseline).
        count += ((zeros >> 7).wrapping_mul(ONES) >> 56) as usize;
    }
    count + words.remainder().iter().filter(|&&b| b == b'\n').count() >= n
}

/// Where the first LF in `bytes` is: eight bytes at a time (a full-screen
/// program's output may hold none in many kilobytes), then byte by byte.
fn find_lf(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const LFS: u64 = u64::from_ne_bytes([b'\n'; 8]);
    let mut at = 0;
    for word in bytes.chunks_exact(8) {
        let x = u64::from_ne_bytes([
            word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
        ]) ^ LFS;
        // Some byte of `x` is zero (an LF) exactly when this is not.
        if x.wrapping_sub(ONES) & !x & HIGHS != 0 {
            break;
        }
        at += 8;
    }
    bytes[at..].iter().position(|&b| b == b'\n').map(|p| at + p)
}

/// How many bytes at the start of `bytes` are printable ASCII: eight at a
/// time (most of a listing's line is), then byte by byte.
#[inline]
fn printable_len(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut at = 0;
    for word in bytes.chunks_exact(8) {
        let x = u64::from_ne_bytes([
            word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
        ]);
        // A byte below 0x20 (exactly), or one from 0x7F on (a carry from
        // a byte that is one may flag the next: looked at byte by byte).
        let low = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
        let high = (x.wrapping_add(ONES) | x) & HIGHS;
        if low | high != 0 {
            break;
        }
        at += 8;
    }
    at + bytes[at..]
        .iter()
        .position(|b| !(0x20..0x7F).contains(b))
        .unwrap_or(bytes.len() - at)
}

/// The length of the line at the start of `run`, its CR LF included (the
/// run holds only whole lines).
fn line_len(run: &[u8]) -> usize {
    // A line in a run holds no other CR or LF.
    run.iter()
        .position(|&b| b == b'\n')
        .map_or(run.len(), |p| p + 1)
}

/// Where the last `keep` lines of `run` start (it holds more than `keep`
/// whole lines, each ending in LF).
fn kept_start(run: &[u8], keep: usize) -> usize {
    let mut end = run.len();
    // The last line's LF, then one before each line kept.
    for _ in 0..=keep {
        match run[..end].iter().rposition(|&b| b == b'\n') {
            Some(lf) => end = lf,
            None => return 0,
        }
    }
    end + 1
}

/// The length of the SGR sequence at the start of `bytes` (ESC [ digits,
/// `;` and `:`, m), or 0 if it is not one.
fn sgr_len(bytes: &[u8]) -> usize {
    if bytes.get(1) != Some(&b'[') {
        return 0;
    }
    let end = bytes.len().min(MAX_SGR);
    let mut i = 2;
    while i < end {
        match bytes[i] {
            b'0'..=b'9' | b';' | b':' => i += 1,
            b'm' => return i + 1,
            _ => return 0,
        }
    }
    0
}

/// The whole simple lines at the start of `bytes`: their length in bytes
/// and how many there are.
fn simple_lines(bytes: &[u8], cols: usize) -> (usize, usize) {
    let (mut at, mut lines) = (0, 0);
    while let Some((len, _)) = simple_line(&bytes[at..], cols, |_, _| true) {
        at += len;
        lines += 1;
    }
    (at, lines)
}

/// [`simple_line`], with the SGR sequences' places put in `sgrs` (a line
/// with more than it holds is not taken): the line's length, its width and
/// how many sequences it holds.
#[inline]
fn scan_line(
    bytes: &[u8],
    cols: usize,
    sgrs: &mut [(usize, usize); MAX_SGRS],
) -> Option<(usize, usize, usize)> {
    let mut n = 0;
    let (len, width) = simple_line(bytes, cols, |from, to| {
        let Some(slot) = sgrs.get_mut(n) else {
            return false;
        };
        *slot = (from, to);
        n += 1;
        true
    })?;
    Some((len, width, n))
}

/// The simple line at the start of `bytes`, if a whole one is: its length
/// in bytes (its CR LF included) and its width in columns. Each SGR
/// sequence in it is handed to `sgr` (where it starts and ends), which
/// returns false to end the line there (then not taken).
#[inline]
fn simple_line(
    bytes: &[u8],
    cols: usize,
    mut sgr: impl FnMut(usize, usize) -> bool,
) -> Option<(usize, usize)> {
    let (mut i, mut width) = (0, 0);
    while i < bytes.len() {
        let b = bytes[i];
        if (0x20..0x7F).contains(&b) {
            // Byte by byte while the run is short (a number of `seq`'s),
            // then eight bytes at a time.
            let start = i;
            let short = bytes.len().min(start + 8);
            i += 1;
            while i < short && (0x20..0x7F).contains(&bytes[i]) {
                i += 1;
            }
            if i == short {
                i += printable_len(&bytes[i..]);
            }
            width += i - start;
        } else if b == b'\r' {
            return (bytes.get(i + 1) == Some(&b'\n')).then_some((i + 2, width));
        } else if b == 0x1B {
            let n = sgr_len(&bytes[i..]);
            if n == 0 || !sgr(i, i + n) {
                return None;
            }
            i += n;
        } else if b >= 0xC2 {
            let crate::utf8::Decoded::Char(c, n) = crate::utf8::decode(&bytes[i..]) else {
                return None;
            };
            let w = crate::width::columns(c);
            // C1 controls and characters of no width go the usual way.
            if (c as u32) < 0xA0 || w == 0 {
                return None;
            }
            width += w;
            i += n;
        } else {
            return None;
        }
        if width >= cols {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random output, mostly lines that scroll, with what breaks a run
    /// mixed in: wide characters, combining marks, colours (background
    /// ones too), wrapped lines, bare CR or LF, tabs, cursor motion, erases,
    /// a scroll region, the alternate screen, a charset, invalid UTF-8.
    fn output(seed: u64, len: usize) -> Vec<u8> {
        let mut rng = seed | 1;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let pieces: [&[u8]; 24] = [
            b"\x1b[0m",
            b"\x1b[01;34m",
            b"\x1b[41m",
            b"\x1b[38;5;200;48:2::1:2:3m",
            "中".as_bytes(),
            "e\u{301}".as_bytes(),
            "é🎉".as_bytes(),
            "\u{85}".as_bytes(),
            b"   ",
            b"\t",
            b"\r",
            b"\n",
            b"\x1b[A",
            b"\x1b[2K",
            b"\x1b[3;5r",
            b"\x1b[r",
            b"\x1b[?1049h",
            b"\x1b[?1049l",
            b"\x1b(0q\x1b(B",
            b"\xff",
            b"\x1b[4h",
            b"\x1b[4l",
            b"\x1b[5;1H",
            b"\x1b[99B",
        ];
        let mut out = Vec::new();
        while out.len() < len {
            match next(12) {
                0 => out.extend_from_slice(pieces[next(pieces.len() as u64) as usize]),
                1 => out.extend(std::iter::repeat_n(b'w', next(30) as usize)),
                _ => {
                    out.extend_from_slice(next(1_000_000).to_string().as_bytes());
                    if next(4) == 0 {
                        out.extend_from_slice(b" \x1b[32mok\x1b[0m  ");
                    }
                    out.extend_from_slice(b"\r\n");
                }
            }
        }
        out
    }

    fn take(t: &mut Terminal) -> Vec<String> {
        let mut lines = Vec::new();
        t.take_scrolled_off(|l| lines.push(l.to_owned()));
        lines
    }

    /// The rows of the shown screen with a "1" in them, as a reader looks.
    fn look(t: &mut Terminal) -> Vec<String> {
        let (mut text, mut ends) = (String::new(), Vec::new());
        let mut rows = Vec::new();
        t.rows_matching(
            &mut text,
            &mut ends,
            |s| s.find('1'),
            |l| rows.push(l.to_owned()),
        );
        rows
    }

    #[test]
    fn ring_path_equals_byte_path() {
        for seed in 1..40u64 {
            let input = output(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), 60_000);
            let (cols, rows) = ((seed % 7 * 13 + 2) as u16, (seed % 5 * 6 + 1) as u16);
            let mut fast = match seed % 3 {
                0 => Terminal::new(cols, rows),
                1 => Terminal::with_scrolled_off(cols, rows, 50),
                _ => Terminal::with_scrollback(cols, rows, 30),
            };
            let mut slow = fast.clone();
            let mut at = 0;
            let mut chunk = seed as usize;
            while at < input.len() {
                chunk = (chunk * 7 + 13) % 5000 + 1;
                let piece = &input[at..(at + chunk).min(input.len())];
                fast.feed(piece);
                slow.parser.advance(&mut slow.core, piece);
                assert!(fast == slow, "seed {seed} at {at}: {:?}", fast.diff(&slow));
                assert_eq!(take(&mut fast), take(&mut slow), "seed {seed} at {at}");
                // A reader's look keeps the rows' text (most times): what
                // is kept must follow every change made to a row later.
                if !chunk.is_multiple_of(4) {
                    assert_eq!(
                        look(&mut fast),
                        look(&mut slow.clone()),
                        "seed {seed} at {at}"
                    );
                }
                assert!(!fast.has_stale_rows(), "seed {seed} at {at}");
                at += piece.len();
            }
        }
    }

    /// A coloured line of a listing, as the strategy below makes it: text,
    /// wide and accented characters, trailing blanks and SGR sequences of
    /// every kind (background colours too, which the line feed after
    /// them erases with).
    fn listing_line() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            4 => "[ -~]{0,12}".prop_map(String::into_bytes),
            2 => proptest::sample::select(vec![
                "\x1b[0m", "\x1b[m", "\x1b[01;34m", "\x1b[40;33;01m", "\x1b[41m",
                "\x1b[38;5;200m", "\x1b[48:2::1:2:3m", "\x1b[7;4:3m", "\x1b[39;49m",
                "\x1b[1;2;3;5;8;9m", "\x1b[22;23;24;25;27;28;29m",
            ]).prop_map(|s| s.as_bytes().to_vec()),
            1 => proptest::sample::select(vec!["中", "é", "🎉", "日本語", "   "])
                .prop_map(|s| s.as_bytes().to_vec()),
        ];
        proptest::collection::vec(piece, 0..7).prop_map(|pieces| {
            let mut line = pieces.concat();
            line.extend_from_slice(b"\r\n");
            line
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

        /// Lines laid from their text (for a reader of what scrolls off),
        /// then changed, read, looked at or resized, leave the state, the
        /// cells, the screen's text and the lines scrolled off that the
        /// byte path leaves.
        #[test]
        fn laid_lines_equal_the_byte_path(
            cols in 2u16..30,
            rows in 1u16..6,
            steps in proptest::collection::vec((
                proptest::collection::vec(listing_line(), 0..12),
                proptest::sample::select(vec![
                    "", "", "", "\x1b[A\x1b[3Cx", "\x1b[2;2H中", "\x1b[A\x1b[K",
                    "\x1b[A\x1b[4G\x1b[1K", "\x1b[A\x1b[L", "\x1b[A\x1b[M",
                    "\x1b[A\x1b[2G\x1b[2@", "\x1b[A\x1b[2G\x1b[2P", "\x1b[A\x1b[3X",
                    "\x1b[S", "\x1b[T", "\x1b[Ae\u{301}", "\x1bM", "\x1b[?1049h\x1b[?1049l",
                    "\x1b#8", "\x1b[A\x1b[3b", "\x1b[4h\x1b[Ay\x1b[4l", "\x1b[3J", "\x1bc",
                    "half\x1b[", "\x1b[2;3r",
                ]),
                0u8..6,
            ), 1..6),
        ) {
            let mut fast = Terminal::with_scrolled_off(cols, rows, 40);
            let mut slow = fast.clone();
            for (lines, edit, what) in steps {
                let mut input = lines.concat();
                input.extend_from_slice(edit.as_bytes());
                fast.feed(&input);
                slow.parser.advance(&mut slow.core, &input);
                match what {
                    // A reader of cells first: the laid lines' cells are
                    // made for it, then taken by the next change.
                    0 => {
                        let cells = |t: &Terminal| -> Vec<crate::Cell> {
                            (0..rows).flat_map(|r| (0..cols).map(move |c| (r, c)))
                                .filter_map(|(r, c)| t.cell(r, c).copied()).collect()
                        };
                        proptest::prop_assert_eq!(cells(&fast), cells(&slow));
                    }
                    1 => proptest::prop_assert_eq!(fast.snapshot_bytes(), slow.snapshot_bytes()),
                    2 => proptest::prop_assert_eq!(look(&mut fast), look(&mut slow)),
                    3 => {
                        fast.resize(cols + 1, rows);
                        slow.resize(cols + 1, rows);
                    }
                    _ => {}
                }
                proptest::prop_assert_eq!(fast.diff(&slow), None);
                proptest::prop_assert_eq!(fast.text(), slow.text());
                proptest::prop_assert_eq!(take(&mut fast), take(&mut slow));
                proptest::prop_assert!(!fast.has_stale_rows());
            }
            // What is left on the screen, changed at last.
            fast.feed(b"\x1b[H\x1b[2@\x1b[L");
            slow.parser.advance(&mut slow.core, b"\x1b[H\x1b[2@\x1b[L");
            proptest::prop_assert_eq!(fast.diff(&slow), None);
            proptest::prop_assert_eq!(fast.text(), slow.text());
        }
    }

    #[test]
    fn a_row_read_and_then_changed_is_read_again() {
        // Every kind of change to rows already read (and to rows drawn
        // from a run, whose text is kept): each must be seen.
        let changes: [&[u8]; 22] = [
            b"\x1b[2;3Hx",
            "\x1b[2;3H中".as_bytes(),
            "\x1b[2;2He\u{301}".as_bytes(),
            b"\x1b[2;3H\x1b[K",
            b"\x1b[2;3H\x1b[1K",
            b"\x1b[2K",
            b"\x1b[2;1H\x1b[J",
            b"\x1b[2;2H\x1b[2@",
            b"\x1b[2;2H\x1b[2P",
            b"\x1b[2;2H\x1b[3X",
            b"\x1b[2;1H\x1b[L",
            b"\x1b[2;1H\x1b[M",
            b"\x1b[2;1Hz\x1b[5b",
            b"\x1b[S",
            b"\x1b[T",
            b"\x1b#8",
            b"\x1bc",
            b"\x1b[4h\x1b[2;1Hins\x1b[4l",
            b"\x1b[41m\x1b[2;3H\x1b[K",
            b"\x1b[2J",
            b"\x1b[?1049h\x1b[2;2Halt\x1b[?1049l",
            b"\x1b[H\x1bM\x1bM",
        ];
        for change in changes {
            for resize in [false, true] {
                let mut t = Terminal::with_scrolled_off(12, 4, 100);
                t.feed("a1 1\r\nb1 é1\r\n中1 ok\r\n".as_bytes());
                let mut slow = t.clone();
                look(&mut t);
                t.feed(change);
                slow.feed(change);
                if resize {
                    t.resize(9, 3);
                    slow.resize(9, 3);
                }
                let what = String::from_utf8_lossy(change);
                assert!(!t.has_stale_rows(), "{what:?}");
                assert_eq!(look(&mut t), look(&mut slow.clone()), "{what:?}");
                assert_eq!(take(&mut t), take(&mut slow), "{what:?}");
            }
        }
    }

    #[test]
    fn a_run_of_lines_skips_cells_and_keeps_their_text() {
        let mut t = Terminal::with_scrolled_off(20, 3, 1000);
        t.feed(b"top\r\nmiddle\r\n");
        let run: String = (0..100)
            .map(|i| format!("\x1b[3{}m{i}  \x1b[0m\r\n", i % 8))
            .collect();
        assert_eq!(simple_lines(run.as_bytes(), 20), (run.len(), 100));
        t.feed(run.as_bytes());
        let mut want = vec!["top".to_owned(), "middle".to_owned()];
        want.extend((0..98).map(|i| i.to_string()));
        assert_eq!(take(&mut t), want);
        assert_eq!(t.text(), "98\n99\n");
        assert_eq!(t.cursor().row, 2);
        assert_eq!(
            t.cell(1, 0).map(|c| c.pen().fg),
            Some(crate::Color::Indexed(3))
        );
    }

    #[test]
    fn sgr_sequences_are_measured_and_others_are_not() {
        for (bytes, len) in [
            (&b"\x1b[m"[..], 3),
            (b"\x1b[01;34mname", 8),
            (b"\x1b[38:2::1:2:3m", 14),
            (b"\x1b[", 0),
            (b"\x1b[0", 0),
            (b"\x1b[0K", 0),
            (b"\x1b[?25m", 0),
            (b"\x1bM", 0),
            (b"\x1b", 0),
        ] {
            assert_eq!(sgr_len(bytes), len, "{:?}", String::from_utf8_lossy(bytes));
        }
        let mut long = b"\x1b[".to_vec();
        long.resize(MAX_SGR - 1, b'1');
        long.push(b'm');
        assert_eq!(sgr_len(&long), MAX_SGR);
        long.insert(2, b'1');
        assert_eq!(sgr_len(&long), 0);
    }

    #[test]
    fn printable_ascii_is_measured_to_the_first_other_byte() {
        for other in [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xFF, b'\r', 0x1B] {
            for len in 0..40 {
                let mut bytes: Vec<u8> = (0..len).map(|i| b' ' + (i * 7 % 95) as u8).collect();
                assert_eq!(printable_len(&bytes), len, "{len}");
                for at in 0..len {
                    let keep = bytes[at];
                    bytes[at] = other;
                    assert_eq!(printable_len(&bytes), at, "{other:#x} {len} {at}");
                    bytes[at] = keep;
                }
            }
        }
    }

    #[test]
    fn lfs_are_counted_wherever_they_are() {
        for len in 0..40 {
            let mut bytes: Vec<u8> = (0..len)
                .map(|i| [b'a', 0x8A, 0x0B, 0xFF, 0x09][i % 5])
                .collect();
            assert!(has_lfs(&bytes, 0));
            assert!(!has_lfs(&bytes, 1), "{len}");
            for at in 0..len {
                bytes[at] = b'\n';
                let lfs = at + 1;
                assert!(has_lfs(&bytes, lfs), "{len} {at}");
                assert!(!has_lfs(&bytes, lfs + 1), "{len} {at}");
            }
        }
    }

    #[test]
    fn an_lf_is_found_wherever_it_is() {
        for len in 0..40 {
            let mut bytes: Vec<u8> = (0..len).map(|i| [b'a', 0x8A, 0x0B, 0xFF][i % 4]).collect();
            assert_eq!(find_lf(&bytes), None, "{len}");
            for at in 0..len {
                bytes[at] = b'\n';
                assert_eq!(find_lf(&bytes), Some(at), "{len} {at}");
                bytes[at] = 0x09;
            }
        }
    }

    #[test]
    fn lines_that_would_wrap_or_hold_controls_end_a_run() {
        assert_eq!(simple_lines(b"12\r\n12345\r\n1\r\n", 5), (4, 1));
        assert_eq!(simple_lines("中中\r\n中中中\r\n".as_bytes(), 6), (8, 1));
        assert_eq!(simple_lines(b"a\r\nb\tc\r\n", 80), (3, 1));
        assert_eq!(simple_lines(b"a\r\nb\x1b[Kc\r\n", 80), (3, 1));
        assert_eq!(simple_lines(b"a\r\nb\nc\r\n", 80), (3, 1));
        assert_eq!(simple_lines(b"a\r\nb\r", 80), (3, 1));
    }
}
