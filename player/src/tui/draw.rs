//! Drawing the player: the recording's screen, the status line, the
//! search's finds and the key help, on the viewer's terminal.

use std::io;

use termtape_emu::{Color, Terminal as Emulator};
use termwiz::caps::ColorLevel;
use termwiz::cell::{CellAttributes, Intensity, Underline};
use termwiz::color::{ColorAttribute, SrgbaTuple};
use termwiz::surface::{Change, CursorVisibility, Position};
use termwiz::terminal::Terminal;
use termwiz::terminal::buffered::BufferedTerminal;

use super::{Prompt, State, Timeline, ignore_case};
use crate::visible::visible;

/// The player's keys, as `?` shows them.
pub const HELP: &[(&str, &str)] = &[
    ("space, p", "pause / resume"),
    ("+  -", "faster / slower (1/16x to 16x)"),
    ("Left  Right", "5 s back / forward"),
    ("Up  Down", "1 min back / forward (as in less)"),
    ("PgUp b  PgDn f", "10 min back / forward"),
    ("Home  End", "start / end"),
    (
        "g",
        "go to: 90, 1:30, 1:02:03.5, end, YYYY-MM-DD HH:MM[:SS] [UTC]",
    ),
    (".", "one recorded event forward (while paused)"),
    ("/  n  N", "find a text on screen; next / previous find"),
    ("c  C", "next / previous command run (audit records)"),
    ("s", "show / hide the status line"),
    ("Ctrl-Z", "suspend (fg resumes)"),
    ("?", "this help (any key closes it)"),
    ("q", "quit"),
];

/// Where the recording goes on the viewer: how many of its rows and
/// columns are shown, and whether the status line is.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Layout {
    pub rows: usize,
    pub cols: usize,
    pub status: bool,
}

impl Layout {
    /// The layout of a `rec` (cols, rows) recording on a `view` (cols,
    /// rows) viewer. The status line takes a spare row if there is one;
    /// else it shows only when something has to be told or typed, or the
    /// viewer asked for it (`wanted`, else while paused), and the rows it
    /// covers are counted as clipped.
    pub fn new(rec: (usize, usize), view: (usize, usize), state: &State) -> Layout {
        let fits = view.0 >= rec.0 && view.1 >= rec.1;
        let spare = view.1 > rec.1;
        let told = state.prompt.is_some() || state.message.is_some() || state.help;
        let status = !fits || told || state.status.unwrap_or(spare || state.paused);
        let free = if status {
            view.1.saturating_sub(1)
        } else {
            view.1
        };
        Layout {
            rows: rec.1.min(free),
            cols: rec.0.min(view.0),
            status,
        }
    }
}

/// Draws the screen and (if it shows) the status line; returns whether it
/// did.
pub(super) fn draw<T: Terminal>(
    view: &mut BufferedTerminal<T>,
    state: &State,
    timeline: &Timeline,
    level: Option<ColorLevel>,
) -> io::Result<bool> {
    let (view_cols, view_rows) = view.dimensions();
    let term = state.screen.terminal(None);
    let rec = (usize::from(term.cols()), usize::from(term.rows()));
    let layout = Layout::new(rec, (view_cols, view_rows), state);
    view.add_change(Change::CursorVisibility(CursorVisibility::Hidden));
    view.add_change(Change::AllAttributes(CellAttributes::default()));
    view.add_change(Change::ClearScreen(ColorAttribute::Default));
    let finds = state.finds.as_ref().filter(|f| !f.at.is_empty());
    for row in 0..layout.rows {
        let marked = finds.map_or_else(Vec::new, |f| marks(&term, row as u16, &f.text));
        view.add_change(Change::CursorPosition {
            x: Position::Absolute(0),
            y: Position::Absolute(row),
        });
        let mut col = 0;
        while col < layout.cols {
            let Some(cell) = term.cell(row as u16, col as u16) else {
                break;
            };
            let width = usize::from(cell.width().max(1));
            if cell.is_continuation() {
                col += 1;
                continue;
            }
            if col + width > layout.cols {
                break;
            }
            let mut attrs = attributes(cell.pen(), level);
            if marked.get(col).copied().unwrap_or(false) {
                // A find: black on yellow, or reversed without colours.
                attrs.set_reverse(level.is_none());
                attrs.set_foreground(color(Color::Indexed(0), level));
                attrs.set_background(color(Color::Indexed(11), level));
            }
            view.add_change(Change::AllAttributes(attrs));
            let text = term.cell_text(row as u16, col as u16);
            view.add_change(Change::Text(if text.is_empty() {
                " ".to_owned()
            } else {
                text
            }));
            col += width;
        }
    }
    // The marker: on the screen's top right, for a while after a gap or
    // keys left out at a password prompt.
    let mark = match (
        timeline.gap_near(state.now),
        timeline.redaction_near(state.now),
    ) {
        (Some(gap), _) => Some(format!(
            " ▲ {} message(s) lost here (rate limit) ",
            gap.messages
        )),
        (None, Some(r)) => Some(format!(
            " «{} key(s) typed here, redacted: the terminal hid them» ",
            r.keys
        )),
        (None, None) => None,
    };
    if let Some(mark) = mark {
        let width = mark.chars().count();
        if width <= view_cols {
            let mut red = CellAttributes::default();
            red.set_reverse(true);
            red.set_foreground(color(Color::Indexed(1), level));
            view.add_change(Change::CursorPosition {
                x: Position::Absolute(view_cols - width),
                y: Position::Absolute(0),
            });
            view.add_change(Change::AllAttributes(red));
            view.add_change(Change::Text(mark));
        }
    }
    if state.help {
        help(view, level);
    }
    if layout.status {
        let status = status_line(state, timeline, rec, &layout);
        let status: String = visible(&status).chars().take(view_cols).collect();
        let mut reverse = CellAttributes::default();
        reverse.set_reverse(true);
        view.add_change(Change::CursorPosition {
            x: Position::Absolute(0),
            y: Position::Absolute(view_rows.saturating_sub(1)),
        });
        view.add_change(Change::AllAttributes(reverse));
        view.add_change(Change::Text(format!("{status:<view_cols$}")));
    }
    view.add_change(Change::AllAttributes(CellAttributes::default()));
    view.flush().map_err(io::Error::other)?;
    Ok(layout.status)
}

/// The status line's text (made visible by the caller): what is typed or
/// told, else where playback is and what is not shown.
fn status_line(state: &State, timeline: &Timeline, rec: (usize, usize), layout: &Layout) -> String {
    match &state.prompt {
        Some(Prompt::Time(typed)) => {
            return format!(
                " go to (seconds, MM:SS, HH:MM:SS, end, YYYY-MM-DD HH:MM[:SS] [UTC]): {typed}"
            );
        }
        Some(Prompt::Text(typed)) => return format!(" find: {typed}"),
        None => {}
    }
    let duration = timeline.duration;
    let now = state.now.min(duration);
    let mut status = format!(
        " {} {} / {}  {}x",
        if state.paused { "||" } else { ">" },
        crate::time::duration(now),
        crate::time::duration(duration),
        speed_label(state.speed),
    );
    if let Some(message) = &state.message {
        status.push_str(&format!("  {message}"));
        return status;
    }
    if state.help {
        status.push_str("  help: any key closes it");
        return status;
    }
    if layout.rows + 1 == rec.1 && layout.cols == rec.0 {
        // Only the status line's own row: said in few words, so that the
        // notice fits on 80 columns.
        status.push_str(&format!("  [row {} under this line: s hides it]", rec.1));
    } else if layout.rows < rec.1 || layout.cols < rec.0 {
        status.push_str(&format!(
            "  [clipped {}x{} to {}x{}]",
            rec.0, rec.1, layout.cols, layout.rows
        ));
    }
    // A sign of tampering is said early, where it cannot be cut off; that
    // a recording is intact (or was never signed), last.
    use termtape_format::verify::Verdict;
    let quiet = |v: &Verdict| {
        matches!(
            v,
            Verdict::Intact | Verdict::Unsigned { .. } | Verdict::Untrusted { .. }
        )
    };
    if let Some(verdict) = timeline.verdict.as_ref().filter(|v| !quiet(v)) {
        status.push_str(&format!("  [{}]", verdict.short()));
    }
    if let Some(sender) = &timeline.origin.unverified {
        status.push_str(&format!("  [UNVERIFIED: from {sender}]"));
    }
    if let Some(gap) = timeline.gap_near(state.now) {
        status.push_str(&format!(
            "  [GAP at {}: {} message(s) dropped by the rate limit]",
            crate::time::duration(gap.at),
            gap.messages
        ));
    } else if !timeline.gaps.is_empty() {
        let dropped: u64 = timeline.gaps.iter().map(|g| g.messages).sum();
        status.push_str(&format!(
            "  [{} gap(s), {dropped} message(s) dropped]",
            timeline.gaps.len()
        ));
    }
    if let Some(r) = timeline.redaction_near(state.now) {
        status.push_str(&format!(
            "  [{} key(s) redacted at {}]",
            r.keys,
            crate::time::duration(r.at)
        ));
    } else if !timeline.redactions.is_empty() {
        let keys: u64 = timeline.redactions.iter().map(|r| r.keys).sum();
        status.push_str(&format!(
            "  [{keys} key(s) redacted in {} place(s)]",
            timeline.redactions.len()
        ));
    }
    // The command last started, when audit records gave any.
    let commands = &timeline.commands;
    if let Some((n, line)) = commands.running(state.now) {
        status.push_str(&format!("  [cmd {n}/{}: {line}]", commands.at.len()));
    } else if !commands.at.is_empty() {
        status.push_str(&format!("  [{} commands: c]", commands.at.len()));
    }
    if let Some(start) = timeline.origin.start {
        status.push_str(&format!(
            "  {}",
            crate::time::local(start.saturating_add(now))
        ));
    }
    if !timeline.origin.who.is_empty() {
        status.push_str(&format!("  {}", timeline.origin.who));
    }
    if let Some(finds) = &state.finds {
        // Which find the screen is at: the last at or before now.
        let shown = finds.at.partition_point(|&a| a <= state.now);
        if finds.at.is_empty() {
            status.push_str(&format!("  [/{}: not found]", finds.text));
        } else {
            status.push_str(&format!("  [/{} {shown}/{}]", finds.text, finds.at.len()));
        }
    }
    if !timeline.keyframed {
        status.push_str(
            "  [no keyframes: jumps replay from the start; `termtape keyframe` adds them]",
        );
    }
    status.push_str("  ? help");
    if let Some(verdict) = timeline.verdict.as_ref().filter(|v| quiet(v)) {
        status.push_str(&format!("  [{}]", verdict.short()));
    }
    status
}

/// Which columns of `row` show `text` (case ignored as the search did).
fn marks(term: &Emulator, row: u16, text: &str) -> Vec<bool> {
    let fold = ignore_case(text);
    let norm = |s: &str| if fold { s.to_lowercase() } else { s.to_owned() };
    // The row's cells, each with its text and column.
    let mut cells: Vec<(usize, String)> = Vec::new();
    for col in 0..term.cols() {
        let Some(cell) = term.cell(row, col) else {
            break;
        };
        if cell.is_continuation() {
            continue;
        }
        let t = term.cell_text(row, col);
        cells.push((usize::from(col), norm(if t.is_empty() { " " } else { &t })));
    }
    let needle = norm(text);
    let mut marked = vec![false; usize::from(term.cols())];
    if needle.is_empty() {
        return marked;
    }
    for start in 0..cells.len() {
        let mut joined = String::new();
        let mut end = start;
        while end < cells.len() && joined.len() < needle.len() {
            joined.push_str(&cells[end].1);
            end += 1;
        }
        if joined.starts_with(&needle) {
            for (col, _) in &cells[start..end] {
                marked[*col] = true;
            }
        }
    }
    marked
}

/// Draws the key help in a box at the top left.
fn help<T: Terminal>(view: &mut BufferedTerminal<T>, level: Option<ColorLevel>) {
    let (cols, rows) = view.dimensions();
    let key_width = HELP.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut lines = vec![" termtape play: keys".to_owned(), String::new()];
    lines.extend(
        HELP.iter()
            .map(|(k, what)| format!(" {k:<key_width$}  {what}")),
    );
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0) + 1;
    let mut box_attrs = CellAttributes::default();
    box_attrs.set_reverse(level.is_none());
    box_attrs.set_foreground(color(Color::Indexed(15), level));
    box_attrs.set_background(color(Color::Indexed(4), level));
    for (row, line) in lines.iter().enumerate().take(rows.saturating_sub(1)) {
        let line: String = line.chars().take(cols).collect();
        let w = width.min(cols);
        view.add_change(Change::CursorPosition {
            x: Position::Absolute(0),
            y: Position::Absolute(row),
        });
        view.add_change(Change::AllAttributes(box_attrs.clone()));
        view.add_change(Change::Text(format!("{line:<w$}")));
    }
}

fn speed_label(speed: f64) -> String {
    if speed >= 1.0 {
        format!("{speed}")
    } else {
        format!("1/{}", (1.0 / speed).round())
    }
}

/// A cell's rendition as termwiz attributes, its colours brought down to
/// what the viewer's terminal shows.
fn attributes(pen: termtape_emu::Pen, level: Option<ColorLevel>) -> CellAttributes {
    let mut a = CellAttributes::default();
    a.set_foreground(color(pen.fg(), level));
    a.set_background(color(pen.bg(), level));
    a.set_intensity(if pen.bold() {
        Intensity::Bold
    } else if pen.faint() {
        Intensity::Half
    } else {
        Intensity::Normal
    });
    a.set_italic(pen.italic());
    a.set_reverse(pen.inverse());
    a.set_invisible(pen.hidden());
    a.set_strikethrough(pen.strike());
    a.set_underline(if pen.underline() == termtape_emu::Underline::None {
        Underline::None
    } else {
        Underline::Single
    });
    a
}

/// The xterm palette's RGB value of colour `i` (0–255).
fn palette(i: u8) -> (u8, u8, u8) {
    const BASE: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    match i {
        0..=15 => BASE[usize::from(i)],
        16..=231 => {
            let i = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(i / 36), level(i / 6 % 6), level(i % 6))
        }
        _ => {
            let v = 8 + (i - 232) * 10;
            (v, v, v)
        }
    }
}

/// The palette colour nearest to `rgb` among the first `n`.
fn nearest(rgb: (u8, u8, u8), n: u16) -> u8 {
    let distance = |c: (u8, u8, u8)| {
        let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2);
        d(c.0, rgb.0) + d(c.1, rgb.1) + d(c.2, rgb.2)
    };
    (0..n)
        .map(|i| i as u8)
        .min_by_key(|&i| distance(palette(i)))
        .unwrap_or(0)
}

fn color(c: Color, level: Option<ColorLevel>) -> ColorAttribute {
    let Some(level) = level else {
        // A terminal without colours: attributes only.
        return ColorAttribute::Default;
    };
    match (c, level) {
        (Color::Default, _) => ColorAttribute::Default,
        (Color::Indexed(i), ColorLevel::Sixteen) if i >= 16 => {
            ColorAttribute::PaletteIndex(nearest(palette(i), 16))
        }
        (Color::Indexed(i), _) => ColorAttribute::PaletteIndex(i),
        (Color::Rgb(r, g, b), ColorLevel::TrueColor) => {
            ColorAttribute::TrueColorWithPaletteFallback(
                SrgbaTuple(
                    f32::from(r) / 255.0,
                    f32::from(g) / 255.0,
                    f32::from(b) / 255.0,
                    1.0,
                ),
                nearest((r, g, b), 256),
            )
        }
        (Color::Rgb(r, g, b), ColorLevel::TwoFiftySix) => {
            ColorAttribute::PaletteIndex(nearest((r, g, b), 256))
        }
        (Color::Rgb(r, g, b), ColorLevel::Sixteen) => {
            ColorAttribute::PaletteIndex(nearest((r, g, b), 16))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_come_down_to_what_the_terminal_shows() {
        assert_eq!(palette(196), (255, 0, 0));
        assert_eq!(nearest((255, 0, 0), 16), 9);
        assert_eq!(nearest((96, 134, 176), 256), 67);
        assert_eq!(
            color(Color::Indexed(196), Some(ColorLevel::Sixteen)),
            ColorAttribute::PaletteIndex(9)
        );
        assert_eq!(
            color(Color::Rgb(0, 0, 0), Some(ColorLevel::TwoFiftySix)),
            ColorAttribute::PaletteIndex(0)
        );
        assert_eq!(
            color(Color::Indexed(100), Some(ColorLevel::TwoFiftySix)),
            ColorAttribute::PaletteIndex(100)
        );
        assert_eq!(color(Color::Rgb(1, 2, 3), None), ColorAttribute::Default);
        assert_eq!(speed_label(0.0625), "1/16");
        assert_eq!(speed_label(4.0), "4");
    }

    #[test]
    fn finds_are_marked_where_they_are_on_the_row() {
        let mut term = Emulator::new(20, 2);
        term.feed("a Foo b foo\r\nf\u{fc}\u{fc}".as_bytes());
        let cols = |marked: Vec<bool>| -> Vec<usize> {
            marked
                .iter()
                .enumerate()
                .filter(|(_, m)| **m)
                .map(|(i, _)| i)
                .collect()
        };
        assert_eq!(cols(marks(&term, 0, "foo")), [2, 3, 4, 8, 9, 10]);
        assert_eq!(cols(marks(&term, 0, "Foo")), [2, 3, 4]);
        assert_eq!(cols(marks(&term, 1, "\u{fc}\u{fc}")), [1, 2]);
        assert_eq!(cols(marks(&term, 1, "x")), Vec::<usize>::new());
    }
}
