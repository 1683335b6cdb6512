//! The oracle terminals the tests compare with, avt and alacritty_terminal,
//! seen the same way: what each shows after an input.

/// What an oracle shows: each row's text (trailing blanks trimmed, combining
/// marks after their character, no wide-character spacers) and the cursor.
pub type Shown = (Vec<String>, (u16, u16));

/// What avt shows after `input` (as text: invalid UTF-8 is replaced first).
pub fn avt_shows(cols: u16, rows: u16, input: &[u8]) -> Shown {
    let mut t = avt::Terminal::new(cols as usize, rows as usize).expect("valid size");
    t.feed(String::from_utf8_lossy(input).as_ref());
    let rows = t
        .screen()
        .visible_lines()
        .map(|l| l.text().trim_end_matches(' ').to_string())
        .collect();
    let c = t.cursor();
    (rows, (c.row as u16, c.col as u16))
}

/// `None` when alacritty_terminal panics (0.25.1 does on a wide character
/// in a one-column terminal).
pub fn alacritty_shows(cols: u16, rows: u16, input: &[u8]) -> Option<Shown> {
    std::panic::catch_unwind(|| alacritty_screen(cols, rows, input)).ok()
}

fn alacritty_screen(cols: u16, rows: u16, input: &[u8]) -> Shown {
    use alacritty_terminal::index::{Column, Line};
    use alacritty_terminal::term::cell::Flags;
    use alacritty_terminal::term::test::TermSize;
    use alacritty_terminal::term::{Config, Term};

    let size = TermSize::new(cols as usize, rows as usize);
    let mut term = Term::new(
        Config::default(),
        &size,
        alacritty_terminal::event::VoidListener,
    );
    let mut parser = alacritty_terminal::vte::ansi::Processor::<
        alacritty_terminal::vte::ansi::StdSyncHandler,
    >::new();
    parser.advance(&mut term, input);
    let grid = term.grid();
    let mut shown = Vec::new();
    for r in 0..rows as i32 {
        let mut text = String::new();
        for c in 0..cols as usize {
            let cell = &grid[Line(r)][Column(c)];
            if cell.flags.contains(Flags::WIDE_CHAR_SPACER) {
                continue;
            }
            if cell.flags.contains(Flags::LEADING_WIDE_CHAR_SPACER) {
                text.push(' ');
                continue;
            }
            // alacritty keeps a tab's character in the first cell it moved
            // over (for copying text); on screen it is a blank.
            text.push(if cell.c == '\t' { ' ' } else { cell.c });
            text.extend(cell.zerowidth().unwrap_or_default());
        }
        shown.push(text.trim_end_matches(' ').to_string());
    }
    let point = grid.cursor.point;
    (shown, (point.line.0 as u16, point.column.0 as u16))
}
