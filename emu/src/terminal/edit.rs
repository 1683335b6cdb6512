//! Editing the screen: cursor motion, scrolling, erasing, inserting and
//! deleting, the saved cursor, switching screens, soft reset and DECALN.

use std::collections::VecDeque;

use super::state::{Core, Saved};
use crate::cell::{Cell, Pen};
use crate::charset::Charset;
use crate::grid::Row;

impl Core {
    // ----- cursor motion and scrolling -----

    pub(super) fn wrap(&mut self) {
        self.col = 0;
        self.index();
    }

    /// IND / LF: down one line, scrolling the region at its bottom margin.
    pub(super) fn index(&mut self) {
        if self.row == self.bottom {
            self.scroll_up(1);
        } else if self.row + 1 < self.rows {
            self.row += 1;
        }
        self.pending_wrap = false;
    }

    /// RI: up one line, scrolling the region down at its top margin.
    pub(super) fn reverse_index(&mut self) {
        if self.row == self.top {
            self.scroll_down(1);
        } else if self.row > 0 {
            self.row -= 1;
        }
        self.pending_wrap = false;
    }

    pub(super) fn scroll_up(&mut self, n: usize) {
        let (top, bottom) = (self.top as usize, self.bottom as usize);
        let n = n.min(bottom - top + 1);
        let blank = self.blank();
        let cols = self.cols as usize;
        if !self.alt_active && top == 0 {
            // Lines off the top of the primary screen: to a reader's
            // queue, as text, and to the scrollback.
            if self.scrolled_off.is_on() {
                for line in self.primary.range(..n) {
                    self.scrolled_off.push(line);
                }
            }
            if self.scrollback_limit > 0 {
                for i in 0..n {
                    let fresh = if self.scrollback.len() >= self.scrollback_limit {
                        let mut old = self
                            .scrollback
                            .pop_front()
                            .expect("scrollback is full, so not empty");
                        old.resize(cols, blank);
                        old
                    } else {
                        Row::new(cols, blank)
                    };
                    let line = std::mem::replace(&mut self.primary[i], fresh);
                    self.scrollback.push_back(line);
                }
            }
        }
        let screen = self.screen_mut();
        if n == 1 && top == 0 && bottom + 1 == screen.len() {
            // The commonest scroll (a line feed at the bottom of the whole
            // screen): the ring turns by one and the top row, cleared in
            // place, is the bottom one. (Popped and pushed back, the row
            // was built anew on the stack, and reading it back stalled on
            // the store of its `dirty` field.)
            screen.rotate_left(1);
            if let Some(row) = screen.back_mut() {
                row.clear(blank);
            }
            return;
        }
        rotate(screen, top, bottom, n, true);
        for row in screen.range_mut(bottom + 1 - n..=bottom) {
            row.clear(blank);
        }
    }

    pub(super) fn scroll_down(&mut self, n: usize) {
        let (top, bottom) = (self.top as usize, self.bottom as usize);
        let n = n.min(bottom - top + 1);
        let blank = self.blank();
        let screen = self.screen_mut();
        rotate(screen, top, bottom, n, false);
        for row in screen.range_mut(top..top + n) {
            row.clear(blank);
        }
    }

    /// CUP/HVP and everything that addresses a position: origin-relative when DECOM is set.
    pub(super) fn goto(&mut self, row: u16, col: u16) {
        let (top, max) = if self.modes.origin {
            (self.top, self.bottom)
        } else {
            (0, self.rows - 1)
        };
        self.row = (u32::from(top) + u32::from(row)).min(u32::from(max)) as u16;
        self.col = col.min(self.cols - 1);
        self.pending_wrap = false;
    }

    pub(super) fn relative_row(&self) -> u16 {
        if self.modes.origin {
            self.row.saturating_sub(self.top)
        } else {
            self.row
        }
    }

    pub(super) fn cursor_up(&mut self, n: u16) {
        let min = if self.row >= self.top { self.top } else { 0 };
        self.row = self.row.saturating_sub(n).max(min);
        self.pending_wrap = false;
    }

    pub(super) fn cursor_down(&mut self, n: u16) {
        let max = if self.row <= self.bottom {
            self.bottom
        } else {
            self.rows - 1
        };
        self.row = self.row.saturating_add(n).min(max);
        self.pending_wrap = false;
    }

    pub(super) fn cursor_forward(&mut self, n: u16) {
        self.col = self.col.saturating_add(n).min(self.cols - 1);
        self.pending_wrap = false;
    }

    pub(super) fn cursor_back(&mut self, n: u16) {
        self.col = self.col.saturating_sub(n);
        self.pending_wrap = false;
    }

    pub(super) fn tab_forward(&mut self, n: u16) {
        let cols = self.cols as usize;
        for _ in 0..n.min(self.cols) {
            let from = self.col as usize + 1;
            let next = (from..cols).find(|&c| self.tabs[c]).unwrap_or(cols - 1);
            self.col = next as u16;
        }
        // xterm's HT leaves the wrap flag alone; it can only be set in the last column.
        if self.col as usize != cols - 1 {
            self.pending_wrap = false;
        }
    }

    pub(super) fn tab_back(&mut self, n: u16) {
        for _ in 0..n.min(self.cols) {
            let col = self.col as usize;
            self.col = (0..col).rev().find(|&c| self.tabs[c]).unwrap_or(0) as u16;
        }
        self.pending_wrap = false;
    }

    // ----- erasing, inserting, deleting -----

    pub(super) fn erase_display(&mut self, mode: u16) {
        let blank = self.blank();
        let (r, c, cols) = (self.row as usize, self.col as usize, self.cols as usize);
        match mode {
            0 => {
                let screen = self.screen_mut();
                screen[r].erase(c, cols, blank);
                for row in screen.range_mut(r + 1..) {
                    row.clear(blank);
                }
            }
            1 => {
                let screen = self.screen_mut();
                for row in screen.range_mut(..r) {
                    row.clear(blank);
                }
                screen[r].erase(0, c + 1, blank);
            }
            2 => {
                for row in self.screen_mut() {
                    row.clear(blank);
                }
            }
            3 => {
                // The lines a reader has not taken go with the scrollback
                // they would be in.
                self.scrollback.clear();
                self.scrolled_off.clear();
                return;
            }
            _ => return,
        }
        self.pending_wrap = false;
    }

    pub(super) fn erase_line(&mut self, mode: u16) {
        let blank = self.blank();
        let (r, c, cols) = (self.row as usize, self.col as usize, self.cols as usize);
        let row = &mut self.screen_mut()[r];
        match mode {
            0 => row.erase(c, cols, blank),
            1 => row.erase(0, c + 1, blank),
            2 => row.erase(0, cols, blank),
            _ => return,
        }
        self.pending_wrap = false;
    }

    pub(super) fn insert_lines(&mut self, n: u16) {
        if self.row < self.top || self.row > self.bottom {
            return;
        }
        let (r, bottom) = (self.row as usize, self.bottom as usize);
        let n = (n as usize).min(bottom - r + 1);
        let blank = self.blank();
        let screen = self.screen_mut();
        rotate(screen, r, bottom, n, false);
        for row in screen.range_mut(r..r + n) {
            row.clear(blank);
        }
        self.pending_wrap = false;
    }

    pub(super) fn delete_lines(&mut self, n: u16) {
        if self.row < self.top || self.row > self.bottom {
            return;
        }
        let (r, bottom) = (self.row as usize, self.bottom as usize);
        let n = (n as usize).min(bottom - r + 1);
        let blank = self.blank();
        let screen = self.screen_mut();
        rotate(screen, r, bottom, n, true);
        for row in screen.range_mut(bottom + 1 - n..=bottom) {
            row.clear(blank);
        }
        self.pending_wrap = false;
    }

    pub(super) fn row_op(&mut self, f: impl FnOnce(&mut Row, usize, Cell)) {
        let blank = self.blank();
        let (r, c) = (self.row as usize, self.col as usize);
        f(&mut self.screen_mut()[r], c, blank);
        self.pending_wrap = false;
    }

    // ----- saved cursor, screens, resets -----

    pub(super) fn save_cursor(&mut self) {
        self.saved[self.alt_active as usize] = Saved {
            row: self.row,
            col: self.col,
            pending_wrap: self.pending_wrap,
            pen: self.pen,
            charsets: self.charsets,
            gl: self.gl,
            origin: self.modes.origin,
        };
    }

    pub(super) fn restore_cursor(&mut self) {
        let s = self.saved[self.alt_active as usize];
        self.pen = s.pen;
        self.charsets = s.charsets;
        self.gl = s.gl;
        self.modes.origin = s.origin;
        self.row = s.row.min(self.rows - 1);
        if s.origin {
            self.row = self.row.clamp(self.top, self.bottom);
        }
        self.col = s.col.min(self.cols - 1);
        self.pending_wrap = s.pending_wrap && self.col == self.cols - 1;
    }

    pub(super) fn set_alt(&mut self, on: bool) {
        if self.alt_active != on {
            self.alt_active = on;
            // Deviation: xterm keeps its wrap flag across the switch; the cell it
            // refers to is gone, so termtape drops it (keeps snapshots exact).
            self.pending_wrap = false;
        }
    }

    pub(super) fn clear_alt(&mut self) {
        let blank = self.blank();
        for row in &mut self.alternate {
            row.clear(blank);
        }
    }

    /// DECSTR, as xterm's soft reset (`ReallyReset(full = False)`).
    pub(super) fn soft_reset(&mut self) {
        self.modes.cursor_visible = true;
        self.modes.insert = false;
        self.modes.origin = false;
        self.modes.autowrap = true;
        self.modes.app_cursor = false;
        self.modes.app_keypad = false;
        self.top = 0;
        self.bottom = self.rows - 1;
        self.charsets = [Charset::Ascii; 4];
        self.gl = 0;
        self.ss = 0;
        self.pen = Pen::default();
        self.saved[self.alt_active as usize] = Saved::default();
    }

    pub(super) fn decaln(&mut self) {
        self.top = 0;
        self.bottom = self.rows - 1;
        let e = Cell::new('E', Pen::default(), 0);
        for row in self.screen_mut() {
            row.clear(e);
        }
        self.goto(0, 0);
    }
}

/// Rotates rows `top..=bottom` by `n` (up: towards the top). A whole-screen
/// rotation is O(n) in a ring buffer, which is what makes scrolling cheap.
fn rotate(screen: &mut VecDeque<Row>, top: usize, bottom: usize, n: usize, up: bool) {
    if top == 0 && bottom + 1 == screen.len() {
        if up {
            screen.rotate_left(n);
        } else {
            screen.rotate_right(n);
        }
    } else {
        let region = &mut screen.make_contiguous()[top..=bottom];
        if up {
            region.rotate_left(n);
        } else {
            region.rotate_right(n);
        }
    }
}
