//! A screen as a picture a person can attach to a report
//! (`termtape screen --format svg|html|png`): the cells with their colours
//! and attributes, on an exact grid (a wide CJK or emoji character takes
//! two cells, whatever font draws it), and a caption saying whose screen,
//! which recording and when.
//!
//! The layout (runs of cells that look the same) is made once here; each
//! format draws it. SVG and HTML are self-contained text: no scripts, no
//! fetched resources, every recorded character escaped. PNG is drawn with
//! fonts from Debian packages (see [`png`]).

use termtape_emu::{Color, Terminal, Underline};

pub mod html;
pub mod png;
pub mod svg;

/// A colour as red, green, blue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// Halfway to `other` (faint text).
    fn mix(self, other: Rgb) -> Rgb {
        let m = |a: u8, b: u8| ((u16::from(a) + u16::from(b)) / 2) as u8;
        Rgb(m(self.0, other.0), m(self.1, other.1), m(self.2, other.2))
    }
}

/// The default foreground: xterm's colour 7.
pub const FOREGROUND: Rgb = Rgb(0xe5, 0xe5, 0xe5);
/// The default background.
pub const BACKGROUND: Rgb = Rgb(0, 0, 0);

/// xterm's default colour of palette entry `n`: 16 named colours, the
/// 6×6×6 cube, 24 greys.
pub fn palette(n: u8) -> Rgb {
    const NAMED: [Rgb; 16] = [
        Rgb(0x00, 0x00, 0x00),
        Rgb(0xcd, 0x00, 0x00),
        Rgb(0x00, 0xcd, 0x00),
        Rgb(0xcd, 0xcd, 0x00),
        Rgb(0x00, 0x00, 0xee),
        Rgb(0xcd, 0x00, 0xcd),
        Rgb(0x00, 0xcd, 0xcd),
        Rgb(0xe5, 0xe5, 0xe5),
        Rgb(0x7f, 0x7f, 0x7f),
        Rgb(0xff, 0x00, 0x00),
        Rgb(0x00, 0xff, 0x00),
        Rgb(0xff, 0xff, 0x00),
        Rgb(0x5c, 0x5c, 0xff),
        Rgb(0xff, 0x00, 0xff),
        Rgb(0x00, 0xff, 0xff),
        Rgb(0xff, 0xff, 0xff),
    ];
    match n {
        0..=15 => NAMED[n as usize],
        16..=231 => {
            let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
            let i = n - 16;
            Rgb(level(i / 36), level(i / 6 % 6), level(i % 6))
        }
        _ => {
            let v = 8 + 10 * (n - 232);
            Rgb(v, v, v)
        }
    }
}

/// How a run of cells looks, colours resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Text colour.
    pub fg: Rgb,
    /// Cell colour.
    pub bg: Rgb,
    /// Bold type.
    pub bold: bool,
    /// Italic type.
    pub italic: bool,
    /// Underline style.
    pub underline: Underline,
    /// Struck through.
    pub strike: bool,
    /// Hidden (SGR 8): the cells keep their colour, the text is not drawn.
    pub hidden: bool,
}

/// Cells of one row that look the same: one character cell each, or one
/// wide character alone (two cells).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The first column.
    pub col: u16,
    /// Columns it covers.
    pub cells: u16,
    /// Its text: one character (with its combining marks) per cell, or
    /// the wide character.
    pub text: String,
    /// How it looks.
    pub style: Style,
    /// A double-width character.
    pub wide: bool,
}

impl Run {
    /// Nothing but spaces (only its background shows).
    pub fn is_blank(&self) -> bool {
        self.style.hidden || self.text.chars().all(|c| c == ' ')
    }
}

/// A screen laid out for drawing, and its caption.
#[derive(Debug, Clone)]
pub struct Picture {
    /// Columns.
    pub cols: u16,
    /// Rows, each its runs left to right.
    pub rows: Vec<Vec<Run>>,
    /// The screen's background (the default cell colour).
    pub background: Rgb,
    /// The caption line, if any: plain text, drawn as text.
    pub caption: Option<String>,
}

impl Picture {
    /// Lays out the shown screen of `term` (the cursor drawn as an inverse
    /// cell when it is visible), with `caption` under it.
    pub fn of(term: &Terminal, caption: Option<String>) -> Picture {
        let modes = term.modes();
        // DECSCNM (reverse video) swaps the default colours.
        let (fg0, bg0) = match modes.reverse_video {
            true => (BACKGROUND, FOREGROUND),
            false => (FOREGROUND, BACKGROUND),
        };
        let cursor = term.cursor();
        let cursor_at = modes
            .cursor_visible
            .then(|| (cursor.row, cursor.col.min(term.cols().saturating_sub(1))));
        let mut rows = Vec::with_capacity(term.rows() as usize);
        for r in 0..term.rows() {
            let mut runs: Vec<Run> = Vec::new();
            let mut c = 0;
            while c < term.cols() {
                let Some(cell) = term.cell(r, c) else { break };
                if cell.is_continuation() {
                    c += 1;
                    continue;
                }
                let pen = cell.pen();
                let mut fg = resolve(pen.fg(), fg0, pen.bold());
                let mut bg = resolve(pen.bg(), bg0, false);
                if pen.inverse() {
                    std::mem::swap(&mut fg, &mut bg);
                }
                if cursor_at == Some((r, c)) {
                    std::mem::swap(&mut fg, &mut bg);
                }
                if pen.faint() {
                    fg = fg.mix(bg);
                }
                let style = Style {
                    fg,
                    bg,
                    bold: pen.bold(),
                    italic: pen.italic(),
                    underline: pen.underline(),
                    strike: pen.strike(),
                    hidden: pen.hidden(),
                };
                let wide = cell.width() == 2;
                let text = visible_cell(&term.cell_text(r, c));
                match runs.last_mut() {
                    Some(last) if !wide && !last.wide && last.style == style => {
                        last.cells += 1;
                        last.text.push_str(&text);
                    }
                    _ => runs.push(Run {
                        col: c,
                        cells: if wide { 2 } else { 1 },
                        text,
                        style,
                        wide,
                    }),
                }
                c += if wide { 2 } else { 1 };
            }
            rows.push(runs);
        }
        Picture {
            cols: term.cols(),
            rows,
            background: bg0,
            caption,
        }
    }
}

/// A cell's text as drawn: a character no font draws visibly (a control,
/// a bidirectional override, a noncharacter) as U+FFFD, so that what a
/// picture shows is what the cell holds and nothing can reorder or hide it.
fn visible_cell(text: &str) -> String {
    text.chars()
        .map(
            |c| match crate::visible::hidden(c) || c == '\u{fffe}' || c == '\u{ffff}' {
                true => '\u{fffd}',
                false => c,
            },
        )
        .collect()
}

/// A cell colour as drawn: xterm shows bold text in colours 0–7 in their
/// bright forms (8–15).
fn resolve(color: Color, default: Rgb, bold: bool) -> Rgb {
    match color {
        Color::Default => default,
        Color::Indexed(n) if bold && n < 8 => palette(n + 8),
        Color::Indexed(n) => palette(n),
        Color::Rgb(r, g, b) => Rgb(r, g, b),
    }
}

/// The caption of a moment: `user@host · recording ID · wall-clock time
/// (local, with its zone, as `ls` shows it) · +offset`, every part made
/// harmless text.
pub fn caption(user: &str, host: &str, rec: &str, wall_ms: Option<u64>, offset_ms: u64) -> String {
    use crate::visible::visible;
    let mut parts = vec![
        format!("{}@{}", visible(user), visible(host)),
        format!("recording {}", visible(rec)),
    ];
    if let Some(ms) = wall_ms {
        parts.push(crate::time::local(ms));
    }
    parts.push(format!("+{}", crate::time::duration(offset_ms)));
    parts.join(" · ")
}

/// `caption` in lines of at most `width` characters, broken between its
/// ` · `-separated parts where it can (a part longer than a line is cut).
pub fn caption_lines(caption: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut lines: Vec<String> = Vec::new();
    for part in caption.split(" · ") {
        let mut rest: Vec<char> = part.chars().collect();
        match lines.last_mut() {
            Some(line) if line.chars().count() + 3 + rest.len() <= width => {
                line.push_str(" · ");
                line.extend(rest.drain(..));
                continue;
            }
            _ => {}
        }
        while !rest.is_empty() {
            let take = rest.len().min(width);
            lines.push(rest.drain(..take).collect());
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(input: &str, cols: u16, rows: u16) -> Picture {
        let mut t = Terminal::new(cols, rows);
        t.feed_str(input);
        Picture::of(&t, Some("cap".into()))
    }

    #[test]
    fn runs_split_where_the_look_changes_and_wide_characters_stand_alone() {
        let p = picture("ab\x1b[31mcd\x1b[0m中e\x1b[?25l", 10, 2);
        let row: Vec<(u16, u16, &str, bool)> = p.rows[0]
            .iter()
            .map(|r| (r.col, r.cells, r.text.as_str(), r.wide))
            .collect();
        assert_eq!(
            row,
            [
                (0, 2, "ab", false),
                (2, 2, "cd", false),
                (4, 2, "中", true),
                (6, 4, "e   ", false)
            ]
        );
        assert_eq!(p.rows[0][1].style.fg, palette(1));
        assert_eq!(p.rows[1].len(), 1);
        assert!(p.rows[1][0].is_blank());
    }

    #[test]
    fn colours_resolve_as_xterm_draws_them() {
        assert_eq!(palette(16), Rgb(0, 0, 0));
        assert_eq!(palette(196), Rgb(255, 0, 0));
        assert_eq!(palette(244), Rgb(128, 128, 128));
        // Bold brightens 0-7; inverse swaps; the visible cursor is inverse.
        let p = picture("\x1b[1;34mB\x1b[0m\x1b[7mI\x1b[0m\x1b[38;2;1;2;3mR", 5, 1);
        assert_eq!(p.rows[0][0].style.fg, palette(12));
        assert_eq!(p.rows[0][1].style.fg, BACKGROUND);
        assert_eq!(p.rows[0][1].style.bg, FOREGROUND);
        assert_eq!(p.rows[0][2].style.fg, Rgb(1, 2, 3));
        let cursor = &p.rows[0][3];
        assert_eq!((cursor.col, cursor.style.bg), (3, FOREGROUND));
    }

    #[test]
    fn captions_break_between_their_parts() {
        assert_eq!(
            caption_lines("a@b · recording 0123456789 · +0:00:01.000", 20),
            ["a@b", "recording 0123456789", "+0:00:01.000"]
        );
        assert_eq!(caption_lines("a · b · c", 80), ["a · b · c"]);
        assert_eq!(caption_lines("0123456789abc", 8), ["01234567", "89abc"]);
    }

    #[test]
    fn nothing_in_a_cell_can_hide_or_reorder_the_text() {
        assert_eq!(visible_cell("a\u{202e}b\u{9b}"), "a\u{fffd}b\u{fffd}");
        let c = caption("u\x1b[2Jx", "h\u{202e}", "r", Some(0), 3_723_004);
        assert!(!c.contains('\x1b') && !c.contains('\u{202e}'), "{c}");
        assert!(c.ends_with("+1:02:03.004"), "{c}");
    }
}
