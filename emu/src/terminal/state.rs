//! The state: both screens, the scrollback, cursor, pen, modes, charsets,
//! tab stops, saved cursors and title ([`Core`]), how a fresh one is made,
//! and the changes that rebuild it (RIS, resize).

use std::collections::VecDeque;

use super::scrolloff::ScrolledOff;
use crate::cell::{Cell, Pen};
use crate::charset::Charset;
use crate::grid::Row;

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
    /// Lines scrolled off for a reader to take (`super::scrolloff`).
    pub(crate) scrolled_off: ScrolledOff,
}

fn default_tabs(cols: usize) -> Vec<bool> {
    (0..cols).map(|c| c % 8 == 0 && c != 0).collect()
}

impl Core {
    pub(super) fn new(cols: u16, rows: u16, scrollback_limit: usize) -> Core {
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
            scrolled_off: ScrolledOff::default(),
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
    pub(super) fn screen_mut(&mut self) -> &mut VecDeque<Row> {
        if self.alt_active {
            &mut self.alternate
        } else {
            &mut self.primary
        }
    }

    #[inline]
    pub(super) fn blank(&self) -> Cell {
        Cell::erased(self.pen.bg)
    }

    /// RIS. Like xterm, the title and the scrollback survive it (and so do
    /// lines scrolled off that no reader took yet).
    ///
    /// The screens' rows are cleared and kept rather than allocated again:
    /// every snapshot starts with RIS, and so does every restore.
    pub(super) fn full_reset(&mut self) {
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
        std::mem::swap(&mut fresh.scrolled_off, &mut self.scrolled_off);
        *self = fresh;
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
            if idx == 0 {
                for line in &removed {
                    self.scrolled_off.push(line);
                }
            }
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
