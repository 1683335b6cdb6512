//! What each control does: C0 controls, ESC, CSI and OSC sequences as the
//! parser hands them over ([`Perform`]), modes, SGR.

use super::state::{Core, MouseEncoding, MouseMode};
use crate::cell::{self, Color, Pen, Underline};
use crate::charset::Charset;
use crate::parser::{Params, Perform};

impl Core {
    fn set_mode(&mut self, private: bool, p: u16, on: bool) {
        if !private {
            match p {
                4 => self.modes.insert = on,
                20 => self.modes.newline = on,
                _ => {}
            }
            return;
        }
        let mouse = |m: MouseMode| if on { m } else { MouseMode::Off };
        match p {
            1 => self.modes.app_cursor = on,
            5 => self.modes.reverse_video = on,
            6 => {
                self.modes.origin = on;
                self.goto(0, 0);
            }
            7 => self.modes.autowrap = on,
            9 => self.modes.mouse = mouse(MouseMode::X10),
            12 => self.modes.cursor_blink = on,
            25 => self.modes.cursor_visible = on,
            47 => self.set_alt(on),
            66 => self.modes.app_keypad = on,
            1000 => self.modes.mouse = mouse(MouseMode::Normal),
            1002 => self.modes.mouse = mouse(MouseMode::ButtonEvent),
            1003 => self.modes.mouse = mouse(MouseMode::AnyEvent),
            1004 => self.modes.focus_events = on,
            1005 | 1006 | 1015 => {
                let e = match p {
                    1005 => MouseEncoding::Utf8,
                    1006 => MouseEncoding::Sgr,
                    _ => MouseEncoding::Urxvt,
                };
                if on {
                    self.modes.mouse_encoding = e;
                } else if self.modes.mouse_encoding == e {
                    self.modes.mouse_encoding = MouseEncoding::Default;
                }
            }
            1047 => {
                if on {
                    self.set_alt(true);
                } else if self.alt_active {
                    self.clear_alt();
                    self.set_alt(false);
                }
            }
            1048 => {
                if on {
                    self.save_cursor();
                } else {
                    self.restore_cursor();
                }
            }
            1049 => {
                if on {
                    self.save_cursor();
                    if !self.alt_active {
                        self.set_alt(true);
                        self.clear_alt();
                    }
                } else {
                    self.set_alt(false);
                    self.restore_cursor();
                }
            }
            2004 => self.modes.bracketed_paste = on,
            _ => {}
        }
    }

    /// SGR. A lone parameter among the commonest ones (bold on and off,
    /// reset, inverse, the eight colours) is handled inline; full-screen
    /// programs send little else between runs of text.
    #[inline(always)]
    pub(super) fn sgr(&mut self, params: &Params) {
        if params.len() == 1 {
            let pen = &mut self.pen;
            match params.get(0) {
                0 => *pen = Pen::default(),
                1 => pen.flags |= cell::BOLD,
                7 => pen.flags |= cell::INVERSE,
                22 => pen.flags &= !(cell::BOLD | cell::FAINT),
                27 => pen.flags &= !cell::INVERSE,
                p @ 30..=37 => pen.fg = Color::Indexed((p - 30) as u8),
                39 => pen.fg = Color::Default,
                p @ 40..=47 => pen.bg = Color::Indexed((p - 40) as u8),
                49 => pen.bg = Color::Default,
                _ => self.sgr_all(params),
            }
            return;
        }
        self.sgr_all(params);
    }

    /// SGR in full: any number of parameters, colon sub-parameters.
    #[inline(never)]
    fn sgr_all(&mut self, params: &Params) {
        let n = params.len();
        let mut i = 0;
        while i < n {
            let p = params.get(i);
            // Colon sub-parameters that belong to this parameter.
            let mut end = i + 1;
            while end < n && params.is_sub(end) {
                end += 1;
            }
            let subs = end - i - 1;
            let pen = &mut self.pen;
            match p {
                0 => *pen = Pen::default(),
                1 => pen.flags |= cell::BOLD,
                2 => pen.flags |= cell::FAINT,
                3 => pen.flags |= cell::ITALIC,
                4 => {
                    let u = if subs == 0 {
                        Underline::Single
                    } else {
                        match params.get(i + 1) {
                            0 => Underline::None,
                            1 => Underline::Single,
                            2 => Underline::Double,
                            3 => Underline::Curly,
                            4 => Underline::Dotted,
                            5 => Underline::Dashed,
                            _ => pen.underline(),
                        }
                    };
                    pen.set_underline(u);
                }
                5 | 6 => pen.flags |= cell::BLINK,
                7 => pen.flags |= cell::INVERSE,
                8 => pen.flags |= cell::HIDDEN,
                9 => pen.flags |= cell::STRIKE,
                21 => pen.set_underline(Underline::Double),
                22 => pen.flags &= !(cell::BOLD | cell::FAINT),
                23 => pen.flags &= !cell::ITALIC,
                24 => pen.set_underline(Underline::None),
                25 => pen.flags &= !cell::BLINK,
                27 => pen.flags &= !cell::INVERSE,
                28 => pen.flags &= !cell::HIDDEN,
                29 => pen.flags &= !cell::STRIKE,
                30..=37 => pen.fg = Color::Indexed((p - 30) as u8),
                39 => pen.fg = Color::Default,
                40..=47 => pen.bg = Color::Indexed((p - 40) as u8),
                49 => pen.bg = Color::Default,
                90..=97 => pen.fg = Color::Indexed((p - 90 + 8) as u8),
                100..=107 => pen.bg = Color::Indexed((p - 100 + 8) as u8),
                38 | 48 => {
                    let (color, next) = if subs > 0 {
                        (extended_color_colon(params, i + 1, end), end)
                    } else {
                        extended_color_semicolon(params, i + 1)
                    };
                    if let Some(c) = color {
                        if p == 38 {
                            pen.fg = c;
                        } else {
                            pen.bg = c;
                        }
                    }
                    i = next;
                    continue;
                }
                _ => {}
            }
            i = end;
        }
    }

    fn osc(&mut self, data: &str) {
        let (code, text) = data.split_once(';').unwrap_or((data, ""));
        match code {
            "0" => {
                self.title = text.to_string();
                self.icon = text.to_string();
            }
            "1" => self.icon = text.to_string(),
            "2" => self.title = text.to_string(),
            _ => {}
        }
    }
}

fn color_from(
    params: &Params,
    kind_at: usize,
    avail_end: usize,
    colon: bool,
) -> (Option<Color>, usize) {
    match params.get(kind_at) {
        5 if kind_at < avail_end => {
            let end = kind_at + 2;
            if end > avail_end {
                return (None, avail_end);
            }
            let v = params.get(kind_at + 1);
            (u8::try_from(v).ok().map(Color::Indexed), end)
        }
        2 if kind_at < avail_end => {
            // Colon form may carry a colour-space id first: 38:2:id:r:g:b.
            let skip = usize::from(colon && avail_end - kind_at >= 5);
            let first = kind_at + 1 + skip;
            let end = first + 3;
            if end > avail_end {
                return (None, avail_end);
            }
            let c = |k| u8::try_from(params.get(k)).ok();
            let color = match (c(first), c(first + 1), c(first + 2)) {
                (Some(r), Some(g), Some(b)) => Some(Color::Rgb(r, g, b)),
                _ => None,
            };
            (color, if colon { avail_end } else { end })
        }
        _ => (None, if colon { avail_end } else { kind_at + 1 }),
    }
}

fn extended_color_colon(params: &Params, first_sub: usize, end: usize) -> Option<Color> {
    color_from(params, first_sub, end, true).0
}

fn extended_color_semicolon(params: &Params, kind_at: usize) -> (Option<Color>, usize) {
    color_from(params, kind_at, params.len(), false)
}

impl Perform for Core {
    #[inline]
    fn print_ascii(&mut self, run: &[u8]) {
        self.print_ascii_run(run);
    }

    fn print(&mut self, c: char) {
        self.print_char(c);
    }

    #[inline]
    fn print_utf8(&mut self, bytes: &[u8]) -> usize {
        self.print_text(bytes)
    }

    fn execute(&mut self, byte: u8) {
        self.last = None;
        match byte {
            0x08 => self.cursor_back(1),
            0x09 => self.tab_forward(1),
            0x0A..=0x0C => {
                self.index();
                if self.modes.newline {
                    self.col = 0;
                }
            }
            0x0D => {
                self.col = 0;
                self.pending_wrap = false;
            }
            0x0E => self.gl = 1,
            0x0F => self.gl = 0,
            _ => {}
        }
    }

    fn esc_dispatch(&mut self, inter: &[u8], fin: u8) {
        self.last = None;
        match (inter, fin) {
            ([], b'7') => self.save_cursor(),
            ([], b'8') => self.restore_cursor(),
            ([], b'D') => self.index(),
            ([], b'E') => {
                self.index();
                self.col = 0;
            }
            ([], b'H') => self.tabs[self.col as usize] = true,
            ([], b'M') => self.reverse_index(),
            ([], b'c') => self.full_reset(),
            ([], b'=') => self.modes.app_keypad = true,
            ([], b'>') => self.modes.app_keypad = false,
            ([], b'N') => self.ss = 2,
            ([], b'O') => self.ss = 3,
            ([], b'n') => self.gl = 2,
            ([], b'o') => self.gl = 3,
            ([b'#'], b'8') => self.decaln(),
            ([g @ b'('..=b'+'], f) => {
                if let Some(cs) = Charset::from_final(f) {
                    self.charsets[(g - b'(') as usize] = cs;
                }
            }
            _ => {}
        }
    }

    fn csi_dispatch(&mut self, params: &Params, private: u8, inter: &[u8], fin: u8) {
        if private == 0 && inter.is_empty() && fin == b'b' {
            // REP repeats the preceding graphic character (ECMA-48 8.3.103).
            self.repeat(params.count(0) as usize);
            return;
        }
        self.last = None;
        if !inter.is_empty() {
            match (private, inter, fin) {
                (0, [b'!'], b'p') => self.soft_reset(),
                (0, [b' '], b'q') => {
                    if let Ok(style @ 0..=6) = u8::try_from(params.get(0)) {
                        self.modes.cursor_style = style;
                    }
                }
                _ => {}
            }
            return;
        }
        // Without intermediates: a match on two bytes, which compiles to a
        // jump table (slice patterns in the match compiled to a chain of tests).
        let n = params.count(0);
        match (private, fin) {
            (0, b'@') => self.row_op(|row, c, blank| row.insert(c, n as usize, blank)),
            (0, b'A') => self.cursor_up(n),
            (0, b'B') | (0, b'e') => self.cursor_down(n),
            (0, b'C') | (0, b'a') => self.cursor_forward(n),
            (0, b'D') => self.cursor_back(n),
            (0, b'E') => {
                self.cursor_down(n);
                self.col = 0;
            }
            (0, b'F') => {
                self.cursor_up(n);
                self.col = 0;
            }
            (0, b'G') | (0, b'`') => {
                let r = self.relative_row();
                self.goto(r, n - 1);
            }
            (0, b'H') | (0, b'f') => self.goto(params.count(0) - 1, params.count(1) - 1),
            (0, b'I') => self.tab_forward(n),
            (0, b'J') | (b'?', b'J') => self.erase_display(params.get(0)),
            (0, b'K') | (b'?', b'K') => self.erase_line(params.get(0)),
            (0, b'L') => self.insert_lines(n),
            (0, b'M') => self.delete_lines(n),
            (0, b'P') => self.row_op(|row, c, blank| row.delete(c, n as usize, blank)),
            (0, b'S') => {
                self.scroll_up(n as usize);
                self.pending_wrap = false;
            }
            (0, b'T') if params.len() == 1 => {
                self.scroll_down(n as usize);
                self.pending_wrap = false;
            }
            (0, b'X') => self.row_op(|row, c, blank| row.erase(c, c + n as usize, blank)),
            (0, b'Z') => self.tab_back(n),
            (0, b'd') => {
                let c = self.col;
                self.goto(n - 1, c);
            }
            (0, b'g') => match params.get(0) {
                0 => self.tabs[self.col as usize] = false,
                3 => self.tabs.fill(false),
                _ => {}
            },
            (0 | b'?', b'h' | b'l') => {
                for k in 0..params.len() {
                    self.set_mode(private == b'?', params.get(k), fin == b'h');
                }
            }
            (0, b'm') => self.sgr(params),
            (0, b'r') => {
                let top = params.count(0) - 1;
                let mut bottom = params.get(1);
                if params.len() < 2 || bottom == 0 || bottom > self.rows {
                    bottom = self.rows;
                }
                if bottom - 1 > top {
                    self.top = top;
                    self.bottom = bottom - 1;
                    self.goto(0, 0);
                }
            }
            (0, b's') => self.save_cursor(),
            (0, b'u') => self.restore_cursor(),
            _ => {}
        }
    }

    fn osc_dispatch(&mut self, data: &str) {
        self.last = None;
        self.osc(data);
    }
}

#[cfg(test)]
mod tests {
    use crate::{Color, Terminal};

    #[test]
    fn sgr_colon_and_semicolon_truecolor_agree() {
        let mut a = Terminal::new(10, 2);
        a.feed(b"\x1b[38;2;1;2;3;48;5;200mx");
        let mut b = Terminal::new(10, 2);
        b.feed(b"\x1b[38:2::1:2:3;48:5:200mx");
        let mut c = Terminal::new(10, 2);
        c.feed(b"\x1b[38:2:1:2:3m\x1b[48:5:200mx");
        assert_eq!(a.pen().fg(), Color::Rgb(1, 2, 3));
        assert_eq!(a.pen().bg(), Color::Indexed(200));
        assert_eq!(a, b);
        assert_eq!(a, c);
    }
}
