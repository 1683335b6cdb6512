//! The screen's text as it scrolled: each line written once, when it was
//! first shown, as `termtape search` sees the screen (a line is not
//! written again while it stays on the screen or scrolls up; a line shown
//! again later is). Blank lines are left out, trailing blanks trimmed.

use std::collections::HashMap;
use std::io::{self, Write};

use termtape_keyframe::Screen;

use super::{Event, Meta, Sink};
use crate::search::{Pattern, RowsBuf, SCROLLBACK, newly_shown};

/// Writes lines of text to `W`.
pub struct Txt<W> {
    out: W,
    screen: Screen,
    shown: [HashMap<String, usize>; 2],
    rows: RowsBuf,
    every: Pattern,
}

impl<W: Write> Txt<W> {
    /// A writer of lines to `out`.
    pub fn new(out: W) -> Txt<W> {
        Txt {
            out,
            screen: Screen::with_scrolled_off(SCROLLBACK),
            shown: Default::default(),
            rows: RowsBuf::default(),
            every: Pattern::new("", false),
        }
    }
}

impl<W: Write> Sink for Txt<W> {
    fn begin(&mut self, meta: &Meta) -> io::Result<()> {
        self.screen.window(meta.cols, meta.rows);
        Ok(())
    }

    fn event(&mut self, _at: u64, event: Event<'_>) -> io::Result<()> {
        match event {
            Event::Output(bytes) => self.screen.output(bytes),
            Event::Resize(cols, rows) => {
                self.screen.window(cols, rows);
            }
            Event::Input(_) | Event::Marker(_) | Event::Exit(_) => return Ok(()),
        }
        for line in newly_shown(
            &mut self.screen,
            &mut self.shown,
            &mut self.rows,
            &self.every,
        ) {
            let line = line.trim_end();
            if !line.is_empty() {
                writeln!(self.out, "{line}")?;
            }
        }
        Ok(())
    }

    fn end(&mut self, _at: u64) -> io::Result<()> {
        self.out.flush()
    }
}
