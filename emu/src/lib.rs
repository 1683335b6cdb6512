//! termtape's terminal emulator.
//!
//! Every byte that a recorded session prints runs through a [`Terminal`]: it
//! keeps the screen (both the primary and the alternate screen), the cursor,
//! the modes, charsets, tab stops, saved cursors and title, the way xterm
//! would. The recorder takes keyframes from it with [`Terminal::snapshot`], a
//! string of standard VT escape sequences that recreates the exact state on a
//! freshly reset terminal (this one, xterm, xterm.js or asciinema-player); the
//! player restores them with [`Terminal::from_snapshot`] and draws from the
//! cells ([`Terminal::cell`]) or the text ([`Terminal::text`], [`Terminal::to_ansi`]).
//!
//! Guarantees: [`Terminal::feed`] never panics, does bounded work per byte
//! whatever the parameters (no sequence costs more than a few passes over the
//! screen: REP stops where more repetitions would change nothing, counts are
//! cut to the screen), and keeps memory bounded (sizes are clamped to
//! 1024×1024, OSC strings to 4 KiB, combining marks to 4 per cell, scrollback
//! and the lines kept for [`Terminal::take_scrolled_off`] to the limits
//! given). `Clone` copies the whole state, parser included.
//!
//! It does not: do I/O, answer queries (DA, DSR, DECRQSS: there is nobody to
//! answer), reflow on resize, support left/right margins (DECSLRM), double-size
//! lines, sixel, hyperlinks or palette changes; it ignores C1 controls. It
//! expects UTF-8: legacy charsets are converted before it (termtape-charset).
//!
//! Departures from xterm, each chosen so that a snapshot stays exact:
//! - REP repeats the preceding character only when nothing else came between
//!   (ECMA-48's wording); xterm also repeats it after intervening controls.
//!   The screen is as after every repetition, but a REP that would scroll
//!   more than about a screen of identical lines off the top scrolls only
//!   that many into the scrollback.
//! - Switching screens (47, 1047, 1049) and SU/SD drop a pending wrap.
//! - Resizing drops pending wraps, saved ones included; lines are cut, never
//!   reflowed, and growing does not pull lines back from scrollback.
//! - A wide character that does not fit before the margin with autowrap off
//!   is placed against the margin.
//!
//! The parser is termtape's own rather than the `vte` crate's: `vte::Parser` is
//! neither `Clone` nor inspectable (so a snapshot in the middle of an escape
//! sequence could not be exact) and, with its default features, buffers an
//! unterminated OSC without limit. It implements the same state machine
//! (Paul Williams' DEC ANSI parser).
//!
//! Place in the flow: `rec` feeds it output and cuts keyframes from it;
//! `player` restores keyframes into it and renders it.
//!
//! ```
//! use termtape_emu::Terminal;
//!
//! let mut term = Terminal::new(20, 3);
//! term.feed(b"\x1b[1;31mhello\x1b[0m\r\nworld");
//! assert_eq!(term.row_text(0), "hello");
//! assert!(term.cell(0, 0).unwrap().pen().bold());
//!
//! let keyframe = term.snapshot();
//! let restored = Terminal::from_snapshot(20, 3, &keyframe);
//! assert_eq!(restored, term);
//! ```

#![forbid(unsafe_code)]

mod cell;
mod charset;
mod grid;
mod parser;
mod snapshot;
mod terminal;
mod utf8;
mod width;

pub use cell::{Cell, Color, Pen, Underline};
pub use charset::Charset;
pub use terminal::{Cursor, MAX_COLS, MAX_ROWS, Modes, MouseEncoding, MouseMode, Terminal};
