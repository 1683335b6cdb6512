//! A recording's screen, built from its packets.

use std::borrow::Cow;

use termtape_emu::{MAX_COLS, MAX_ROWS, Terminal};
use termtape_format::{Packet, Stream};

use crate::frame::Keyframe;

/// The size of a screen whose recording starts with output before any
/// window size (tlog's default terminal size).
pub const DEFAULT_SIZE: (u16, u16) = (80, 24);

/// The screen of a recording as its packets build it.
///
/// The rules, which the recorder and the player share so that a keyframe
/// and a replay from the start agree exactly: the terminal is created by the
/// first packet, at the first window size if that comes first, else at
/// [`DEFAULT_SIZE`]; a window packet resizes it only when the size differs
/// (every message restates the size, and a resize to the same size is not a
/// no-op: it resets the scroll region); output bytes are fed to it; input is
/// not shown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Screen {
    term: Option<Terminal>,
    /// Lines scrolled off that the terminal keeps for a reader, once created.
    scrolled_off: usize,
}

impl Screen {
    /// The screen before a recording's first packet.
    pub fn new() -> Screen {
        Screen::default()
    }

    /// The screen before a recording's first packet, whose terminal keeps
    /// the text of up to `lines` lines scrolled off its top for
    /// [`Screen::take_scrolled_off`] (a reader of every line shown).
    pub fn with_scrolled_off(lines: usize) -> Screen {
        Screen {
            term: None,
            scrolled_off: lines,
        }
    }

    /// The screen a keyframe describes.
    pub fn from_keyframe(kf: &Keyframe) -> Screen {
        Screen::from_terminal(kf.restore())
    }

    /// The screen a terminal shows (after a seek, say).
    pub fn from_terminal(term: Terminal) -> Screen {
        Screen {
            term: Some(term),
            scrolled_off: 0,
        }
    }

    /// Hands `f` each line scrolled off the top since the last call, oldest
    /// first (see [`Terminal::take_scrolled_off`]).
    pub fn take_scrolled_off(&mut self, f: impl FnMut(&str)) {
        if let Some(term) = &mut self.term {
            term.take_scrolled_off(f);
        }
    }

    /// Hands `f` each line scrolled off since the last call in which `find`
    /// finds a match, oldest first (see
    /// [`Terminal::take_scrolled_off_matching`]).
    pub fn take_scrolled_off_matching(
        &mut self,
        find: impl FnMut(&str) -> Option<usize>,
        f: impl FnMut(&str),
    ) {
        if let Some(term) = &mut self.term {
            term.take_scrolled_off_matching(find, f);
        }
    }

    /// Hands `f` each row of the screen in which `find` finds a match, top
    /// to bottom (see [`Terminal::rows_matching`]; `text` and `ends` are
    /// buffers lent to be reused). Before the first packet: the rows of a
    /// fresh terminal of [`DEFAULT_SIZE`].
    pub fn rows_matching(
        &mut self,
        text: &mut String,
        ends: &mut Vec<usize>,
        find: impl FnMut(&str) -> Option<usize>,
        f: impl FnMut(&str),
    ) {
        match &mut self.term {
            Some(term) => term.rows_matching(text, ends, find, f),
            None => {
                Terminal::new(DEFAULT_SIZE.0, DEFAULT_SIZE.1).rows_matching(text, ends, find, f)
            }
        }
    }

    fn create(&self, cols: u16, rows: u16) -> Terminal {
        Terminal::with_scrolled_off(cols, rows, self.scrolled_off)
    }

    /// Applies a window size; true if an existing terminal changed size.
    pub fn window(&mut self, cols: u16, rows: u16) -> bool {
        let (cols, rows) = (cols.clamp(1, MAX_COLS), rows.clamp(1, MAX_ROWS));
        match &mut self.term {
            None => {
                self.term = Some(self.create(cols, rows));
                false
            }
            Some(t) if (t.cols(), t.rows()) != (cols, rows) => {
                t.resize(cols, rows);
                true
            }
            Some(_) => false,
        }
    }

    /// Feeds output bytes.
    pub fn output(&mut self, bytes: &[u8]) {
        if self.term.is_none() {
            self.term = Some(self.create(DEFAULT_SIZE.0, DEFAULT_SIZE.1));
        }
        if let Some(term) = &mut self.term {
            term.feed(bytes);
        }
    }

    /// Applies one packet; true if the terminal changed size.
    pub fn apply(&mut self, packet: &Packet) -> bool {
        match packet {
            Packet::Window { cols, rows } => self.window(*cols, *rows),
            Packet::Io {
                stream: Stream::Output,
                bytes,
            } => {
                self.output(bytes);
                false
            }
            Packet::Io { .. } => false,
        }
    }

    /// True before the first packet.
    pub fn is_empty(&self) -> bool {
        self.term.is_none()
    }

    /// The terminal. Before the first packet: a fresh one, of `upcoming`
    /// size if given (the size the first packet will set), else of
    /// [`DEFAULT_SIZE`].
    pub fn terminal(&self, upcoming: Option<(u16, u16)>) -> Cow<'_, Terminal> {
        match &self.term {
            Some(t) => Cow::Borrowed(t),
            None => {
                let (cols, rows) = upcoming.unwrap_or(DEFAULT_SIZE);
                Cow::Owned(Terminal::new(cols, rows))
            }
        }
    }

    /// The terminal, as [`Screen::terminal`] without an upcoming size.
    pub fn into_terminal(self) -> Terminal {
        self.term
            .unwrap_or_else(|| Terminal::new(DEFAULT_SIZE.0, DEFAULT_SIZE.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restated_sizes_keep_the_scroll_region() {
        let mut s = Screen::new();
        assert!(!s.window(10, 5));
        s.output(b"\x1b[2;4r");
        assert!(!s.window(10, 5));
        assert_eq!(s.terminal(None).scroll_region(), (1, 3));
        assert!(s.window(12, 5));
        assert_eq!(s.terminal(None).scroll_region(), (0, 4));
        // Sizes beyond the emulator's are compared as clamped.
        assert!(s.window(5000, 5));
        s.output(b"\x1b[2;4r");
        assert!(!s.window(4000, 5));
        assert_eq!(s.terminal(None).scroll_region(), (1, 3));
    }

    #[test]
    fn output_first_means_the_default_size() {
        let mut s = Screen::new();
        assert!(s.is_empty());
        assert_eq!(s.terminal(Some((3, 2))).cols(), 3);
        assert!(!s.apply(&Packet::Io {
            stream: Stream::Input,
            bytes: b"typed".to_vec()
        }));
        assert!(s.is_empty());
        s.output(b"x");
        assert_eq!((s.terminal(None).cols(), s.terminal(None).rows()), (80, 24));
        assert!(s.window(40, 10));
        assert_eq!(s.into_terminal().row_text(0), "x");
    }
}
