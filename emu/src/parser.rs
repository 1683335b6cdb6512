//! Byte-level parser: UTF-8 decoding, then Paul Williams' DEC ANSI state machine.
//!
//! The state machine follows <https://vt100.net/emu/dec_ansi_parser> (as the
//! `vte` crate does), with three changes that the emulator's contract needs:
//! its whole state is plain data (so `Clone` is cheap and exact), every buffer
//! is bounded (an endless OSC costs no memory), and the state can be written
//! back as the shortest byte prefix that recreates it ([`Parser::write_pending`]),
//! which is what makes a snapshot taken in the middle of an escape sequence exact.
//!
//! Input is decoded as UTF-8 before the state machine sees it, as xterm does in
//! UTF-8 mode; malformed input becomes U+FFFD (maximal-subpart replacement, the
//! same as `String::from_utf8_lossy`). Only ESC-prefixed 7-bit controls are
//! recognised; C1 code points are ignored.

use std::fmt::Write as _;

use crate::utf8::{self, Decoded};

/// The most parameters a CSI sequence may carry; more make it ignored.
pub(crate) const MAX_PARAMS: usize = 32;
/// The most bytes of OSC payload kept; the rest is read and dropped.
pub(crate) const MAX_OSC: usize = 4096;
const MAX_INTERMEDIATES: usize = 2;

/// Whether a ground-state byte ends a run of text: the controls that
/// change the charset (SO, SI) or start a sequence (ESC). The other C0
/// controls and DEL may be taken inside text (see [`Perform::print_utf8`]).
#[inline(always)]
pub(crate) fn ends_text(b: u8) -> bool {
    matches!(b, 0x0E | 0x0F | 0x1B)
}

/// What the parser asks of the screen.
pub(crate) trait Perform {
    /// A run of printable ASCII (0x20..=0x7E) in ground state.
    fn print_ascii(&mut self, run: &[u8]);
    /// One printable character (not C0, not DEL, not C1).
    fn print(&mut self, c: char);
    /// Text in ground state: decoded with [`utf8::decode`] (C1 controls ignored,
    /// malformed input as U+FFFD) and printed up to a character cut by the
    /// end of `bytes` or up to a control, which it may also carry out itself
    /// and go on unless [`ends_text`] says otherwise (DEL ignored, the other
    /// C0 controls as `execute` would). Returns the bytes consumed.
    fn print_utf8(&mut self, bytes: &[u8]) -> usize;
    /// A C0 control (0x00..=0x1F).
    fn execute(&mut self, byte: u8);
    /// `ESC intermediates final`.
    fn esc_dispatch(&mut self, intermediates: &[u8], fin: u8);
    /// `CSI private params intermediates final`.
    fn csi_dispatch(&mut self, params: &Params, private: u8, intermediates: &[u8], fin: u8);
    /// An OSC string, terminated by BEL or ST.
    fn osc_dispatch(&mut self, data: &str);
}

/// CSI parameters, with ITU T.416 colon sub-parameters marked.
#[derive(Clone, Debug, Default)]
pub(crate) struct Params {
    vals: [u16; MAX_PARAMS],
    /// Bit `i` set: parameter `i` was introduced by ':' (a sub-parameter).
    sub: u32,
    len: usize,
}

impl Params {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Parameter `i`, 0 when absent or empty.
    pub(crate) fn get(&self, i: usize) -> u16 {
        if i < self.len { self.vals[i] } else { 0 }
    }

    /// Parameter `i` with xterm's default rule: absent or 0 means 1.
    pub(crate) fn count(&self, i: usize) -> u16 {
        self.get(i).max(1)
    }

    pub(crate) fn is_sub(&self, i: usize) -> bool {
        i < self.len && self.sub & (1 << i) != 0
    }

    /// The parameters of a CSI sequence whose parameter bytes are
    /// `bytes`, digits and `;` only, as the state machine collects them
    /// (values saturate); `None` for any other byte, or when the sequence
    /// holds too many to be carried out.
    pub(crate) fn of_digits(bytes: &[u8]) -> Option<Params> {
        let mut params = Params::default();
        let mut cur: u16 = 0;
        for &b in bytes {
            match b {
                b'0'..=b'9' => cur = cur.saturating_mul(10).saturating_add(u16::from(b - b'0')),
                // The state machine's limit: a separator past it, or a
                // last parameter that does not fit, ignores the sequence.
                b';' if params.len + 1 < MAX_PARAMS => {
                    params.push(cur, false);
                    cur = 0;
                }
                _ => return None,
            }
        }
        params.push(cur, false);
        Some(params)
    }

    fn push(&mut self, v: u16, sub: bool) {
        self.vals[self.len] = v;
        if sub {
            self.sub |= 1 << self.len;
        }
        self.len += 1;
    }

    fn clear(&mut self) {
        self.len = 0;
        self.sub = 0;
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
enum State {
    #[default]
    Ground,
    Escape,
    EscapeIntermediate,
    CsiEntry,
    CsiParam,
    CsiIntermediate,
    CsiIgnore,
    Osc,
    /// DCS, SOS, PM and APC strings: all ignored until ESC, CAN or SUB.
    Str,
}

/// The parser; see the module documentation.
#[derive(Clone, Debug, Default)]
pub(crate) struct Parser {
    state: State,
    utf8: [u8; 4],
    utf8_len: u8,
    utf8_need: u8,
    private: u8,
    inter: [u8; MAX_INTERMEDIATES],
    inter_len: u8,
    inter_overflow: bool,
    params: Params,
    cur: u16,
    cur_sub: bool,
    params_overflow: bool,
    osc: String,
}

impl Parser {
    /// Feeds bytes, calling `p` for every action.
    pub(crate) fn advance<P: Perform>(&mut self, p: &mut P, bytes: &[u8]) {
        let mut i = 0;
        let len = bytes.len();
        while i < len {
            if self.utf8_need != 0 {
                let b = bytes[i];
                if !utf8::continues(self.utf8[0], self.utf8_len as usize, b) {
                    // Replace the maximal subpart and reread `b` as a new start.
                    self.utf8_need = 0;
                    self.utf8_len = 0;
                    self.on_char(p, char::REPLACEMENT_CHARACTER);
                    continue;
                }
                self.utf8[self.utf8_len as usize] = b;
                self.utf8_len += 1;
                i += 1;
                if self.utf8_len == self.utf8_need {
                    let n = self.utf8_len as usize;
                    self.utf8_need = 0;
                    self.utf8_len = 0;
                    let c = match utf8::decode(&self.utf8[..n]) {
                        Decoded::Char(c, _) => c,
                        _ => char::REPLACEMENT_CHARACTER,
                    };
                    self.on_char(p, c);
                }
                continue;
            }
            if self.state == State::Ground {
                let start = i;
                while i < len && (0x20..0x7F).contains(&bytes[i]) {
                    i += 1;
                }
                // A short run of ASCII followed by other text, or by a
                // control that text may carry, goes with what follows: one
                // call instead of two (random input is mostly such short runs).
                // A run up to CR or LF is a line's end, which the ASCII path
                // takes fastest.
                if i > start
                    && (i - start >= 16
                        || i == len
                        || ends_text(bytes[i])
                        || matches!(bytes[i], b'\r' | b'\n'))
                {
                    p.print_ascii(&bytes[start..i]);
                    continue;
                }
                if bytes[i] >= 0x80 || i > start {
                    i = start;
                    // A run of non-ASCII text, up to the next control: the
                    // screen decodes it as it prints it (one pass, no buffer
                    // of characters in between), with the same maximal-subpart
                    // replacement as the byte path below.
                    i += p.print_utf8(&bytes[i..]);
                    if i == len || bytes[i] < 0x80 {
                        continue;
                    }
                    // A character cut by the end of the input: the byte path
                    // below keeps it for the next call.
                }
            }
            if self.state == State::Escape && bytes[i] == b'[' {
                self.state = State::CsiEntry;
                i += 1;
                if i == len {
                    continue;
                }
            }
            if self.state == State::CsiParam || self.state == State::CsiEntry {
                // Parameters, the bulk of CSI bytes, in a loop of their own and
                // without the full state machine; then the final byte.
                while i < len {
                    let b = bytes[i];
                    if b.is_ascii_digit() {
                        self.param_digit(b);
                    } else if b == b';' {
                        self.param_sep(b);
                    } else {
                        break;
                    }
                    self.state = State::CsiParam;
                    i += 1;
                }
                if i == len {
                    continue;
                }
                let b = bytes[i];
                if (0x40..=0x7E).contains(&b) {
                    self.csi_dispatch(p, b);
                    i += 1;
                    continue;
                }
            }
            let b = bytes[i];
            i += 1;
            match b {
                0x1B => {
                    // Inline `on_char` for ESC: the start of every sequence.
                    if self.state == State::Osc {
                        p.osc_dispatch(&self.osc);
                    }
                    self.osc.clear();
                    self.clear_seq();
                    self.state = State::Escape;
                }
                0x00..=0x7F => self.on_char(p, b as char),
                _ => match utf8::char_len(b) {
                    0 => self.on_char(p, char::REPLACEMENT_CHARACTER),
                    need => self.start_utf8(b, need),
                },
            }
        }
    }

    fn start_utf8(&mut self, b: u8, need: u8) {
        self.utf8[0] = b;
        self.utf8_len = 1;
        self.utf8_need = need;
    }

    /// The bytes of an incomplete UTF-8 character at the end of the input so far.
    pub(crate) fn partial_utf8(&self) -> &[u8] {
        &self.utf8[..self.utf8_len as usize]
    }

    /// Heap bytes held (the OSC buffer).
    pub(crate) fn heap_size(&self) -> usize {
        self.osc.capacity()
    }

    /// True when no escape sequence is in progress.
    pub(crate) fn in_ground(&self) -> bool {
        self.state == State::Ground
    }

    fn clear_seq(&mut self) {
        self.private = 0;
        self.inter_len = 0;
        self.inter_overflow = false;
        self.params.clear();
        self.cur = 0;
        self.cur_sub = false;
        self.params_overflow = false;
    }

    fn collect(&mut self, b: u8) {
        if (self.inter_len as usize) < MAX_INTERMEDIATES {
            self.inter[self.inter_len as usize] = b;
            self.inter_len += 1;
        } else {
            self.inter_overflow = true;
        }
    }

    fn param_digit(&mut self, b: u8) {
        if !self.params_overflow {
            self.cur = self
                .cur
                .saturating_mul(10)
                .saturating_add(u16::from(b - b'0'));
        }
    }

    fn param_sep(&mut self, b: u8) {
        if self.params_overflow {
            return;
        }
        if self.params.len < MAX_PARAMS {
            self.params.push(self.cur, self.cur_sub);
            self.cur_sub = b == b':';
        } else {
            self.params_overflow = true;
            self.cur_sub = false;
        }
        self.cur = 0;
    }

    fn csi_dispatch<P: Perform>(&mut self, p: &mut P, fin: u8) {
        self.state = State::Ground;
        if self.params_overflow || self.inter_overflow || self.params.len >= MAX_PARAMS {
            return;
        }
        self.params.push(self.cur, self.cur_sub);
        let inter = &self.inter[..self.inter_len as usize];
        p.csi_dispatch(&self.params, self.private, inter, fin);
    }

    fn on_char<P: Perform>(&mut self, p: &mut P, c: char) {
        let u = c as u32;
        if u == 0x18 || u == 0x1A {
            // CAN and SUB cancel any sequence, an OSC included.
            self.state = State::Ground;
            p.execute(u as u8);
            return;
        }
        if u == 0x1B {
            if self.state == State::Osc {
                p.osc_dispatch(&self.osc);
            }
            self.osc.clear();
            self.clear_seq();
            self.state = State::Escape;
            return;
        }
        let b = if u < 0x80 { u as u8 } else { 0xFF };
        match self.state {
            State::Ground => match u {
                0x00..=0x1F => p.execute(b),
                0x7F..=0x9F => {}
                _ => p.print(c),
            },
            State::Escape => match b {
                0x00..=0x1F => p.execute(b),
                0x20..=0x2F => {
                    self.collect(b);
                    self.state = State::EscapeIntermediate;
                }
                b'[' => self.state = State::CsiEntry,
                b']' => {
                    self.osc.clear();
                    self.state = State::Osc;
                }
                b'P' | b'X' | b'^' | b'_' => self.state = State::Str,
                0x30..=0x7E => {
                    self.state = State::Ground;
                    if !self.inter_overflow {
                        p.esc_dispatch(&[], b);
                    }
                }
                _ => {}
            },
            State::EscapeIntermediate => match b {
                0x00..=0x1F => p.execute(b),
                0x20..=0x2F => self.collect(b),
                0x30..=0x7E => {
                    self.state = State::Ground;
                    if !self.inter_overflow {
                        p.esc_dispatch(&self.inter[..self.inter_len as usize], b);
                    }
                }
                _ => {}
            },
            State::CsiEntry => match b {
                0x00..=0x1F => p.execute(b),
                0x20..=0x2F => {
                    self.collect(b);
                    self.state = State::CsiIntermediate;
                }
                b'0'..=b'9' => {
                    self.param_digit(b);
                    self.state = State::CsiParam;
                }
                b':' | b';' => {
                    self.param_sep(b);
                    self.state = State::CsiParam;
                }
                0x3C..=0x3F => {
                    self.private = b;
                    self.state = State::CsiParam;
                }
                0x40..=0x7E => self.csi_dispatch(p, b),
                _ => {}
            },
            State::CsiParam => match b {
                0x00..=0x1F => p.execute(b),
                b'0'..=b'9' => self.param_digit(b),
                b':' | b';' => self.param_sep(b),
                0x3C..=0x3F => self.state = State::CsiIgnore,
                0x20..=0x2F => {
                    self.collect(b);
                    self.state = State::CsiIntermediate;
                }
                0x40..=0x7E => self.csi_dispatch(p, b),
                _ => {}
            },
            State::CsiIntermediate => match b {
                0x00..=0x1F => p.execute(b),
                0x20..=0x2F => self.collect(b),
                0x30..=0x3F => self.state = State::CsiIgnore,
                0x40..=0x7E => self.csi_dispatch(p, b),
                _ => {}
            },
            State::CsiIgnore => match b {
                0x00..=0x1F => p.execute(b),
                0x40..=0x7E => self.state = State::Ground,
                _ => {}
            },
            State::Osc => match u {
                0x07 => {
                    self.state = State::Ground;
                    p.osc_dispatch(&self.osc);
                    self.osc.clear();
                }
                0x00..=0x1F => {}
                _ => {
                    if self.osc.len() + c.len_utf8() <= MAX_OSC {
                        self.osc.push(c);
                    }
                }
            },
            State::Str => {}
        }
    }

    /// Writes the shortest input that takes a fresh parser to this state
    /// (apart from an incomplete UTF-8 character, see [`Parser::partial_utf8`]).
    pub(crate) fn write_pending(&self, out: &mut String) {
        let inter = |out: &mut String| {
            for &b in &self.inter[..self.inter_len as usize] {
                out.push(b as char);
            }
            if self.inter_overflow {
                out.push(' ');
            }
        };
        match self.state {
            State::Ground => {}
            State::Escape => out.push('\x1b'),
            State::EscapeIntermediate => {
                out.push('\x1b');
                inter(out);
            }
            State::CsiEntry => out.push_str("\x1b["),
            State::CsiParam | State::CsiIntermediate => {
                out.push_str("\x1b[");
                let start = out.len();
                if self.private != 0 {
                    out.push(self.private as char);
                }
                for i in 0..self.params.len {
                    if i > 0 {
                        out.push(if self.params.is_sub(i) { ':' } else { ';' });
                    }
                    let v = self.params.vals[i];
                    if v != 0 {
                        let _ = write!(out, "{v}");
                    }
                }
                if self.params.len > 0 {
                    out.push(if self.cur_sub { ':' } else { ';' });
                }
                if self.cur != 0 {
                    let _ = write!(out, "{}", self.cur);
                }
                if self.params_overflow {
                    out.push(';');
                }
                if self.state == State::CsiParam && out.len() == start {
                    out.push('0');
                }
                if self.state == State::CsiIntermediate {
                    inter(out);
                }
            }
            State::CsiIgnore => out.push_str("\x1b[<<"),
            State::Osc => {
                out.push_str("\x1b]");
                out.push_str(&self.osc);
            }
            State::Str => out.push_str("\x1bP"),
        }
    }

    fn pending_string(&self) -> String {
        let mut s = String::new();
        self.write_pending(&mut s);
        s
    }
}

impl PartialEq for Parser {
    /// Two parsers are equal when they react the same way to any further input.
    fn eq(&self, other: &Self) -> bool {
        self.partial_utf8() == other.partial_utf8()
            && self.utf8_need == other.utf8_need
            && self.pending_string() == other.pending_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::utf8::decode;

    #[derive(Default)]
    struct Log(Vec<String>);

    impl Perform for Log {
        fn print_ascii(&mut self, run: &[u8]) {
            for &b in run {
                self.0.push(format!("p{}", b as char));
            }
        }
        fn print(&mut self, c: char) {
            self.0.push(format!("p{c}"));
        }
        fn print_utf8(&mut self, bytes: &[u8]) -> usize {
            let mut i = 0;
            while i < bytes.len() {
                let b = bytes[i];
                if b < 0x80 {
                    if b < 0x20 || b == 0x7F {
                        break;
                    }
                    self.print(b as char);
                    i += 1;
                    continue;
                }
                match decode(&bytes[i..]) {
                    Decoded::Char(c, k) => {
                        if (c as u32) >= 0xA0 {
                            self.print(c);
                        }
                        i += k;
                    }
                    Decoded::Invalid(k) => {
                        self.print(char::REPLACEMENT_CHARACTER);
                        i += k;
                    }
                    Decoded::Incomplete => break,
                }
            }
            i
        }
        fn execute(&mut self, byte: u8) {
            self.0.push(format!("x{byte:02x}"));
        }
        fn esc_dispatch(&mut self, i: &[u8], fin: u8) {
            self.0
                .push(format!("e{}{}", String::from_utf8_lossy(i), fin as char));
        }
        fn csi_dispatch(&mut self, params: &Params, private: u8, i: &[u8], fin: u8) {
            let mut s = String::from("c");
            if private != 0 {
                s.push(private as char);
            }
            for k in 0..params.len() {
                if k > 0 {
                    s.push(if params.is_sub(k) { ':' } else { ';' });
                }
                s.push_str(&params.get(k).to_string());
            }
            s.push_str(&String::from_utf8_lossy(i));
            s.push(fin as char);
            self.0.push(s);
        }
        fn osc_dispatch(&mut self, data: &str) {
            self.0.push(format!("o{data}"));
        }
    }

    fn parse(input: &[u8]) -> Vec<String> {
        let mut p = Parser::default();
        let mut log = Log::default();
        p.advance(&mut log, input);
        log.0
    }

    #[test]
    fn csi_with_subparams_and_private_marker() {
        assert_eq!(parse(b"\x1b[38:2::1:2:3m"), ["c38:2:0:1:2:3m"]);
        assert_eq!(parse(b"\x1b[?1049h"), ["c?1049h"]);
        assert_eq!(parse(b"\x1b[ q"), ["c0 q"]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Parameters of digits and `;` read directly are those the state
        /// machine dispatches, and none when it dispatches nothing.
        #[test]
        fn digit_parameters_are_read_as_the_state_machine_reads_them(
            params in "([0-9]{0,7};){0,40}[0-9]{0,7}",
        ) {
            let direct = Params::of_digits(params.as_bytes()).map(|p| {
                let mut log = Log::default();
                log.csi_dispatch(&p, 0, &[], b'm');
                log.0
            });
            let parsed = parse(format!("\x1b[{params}m").as_bytes());
            proptest::prop_assert_eq!(direct.unwrap_or_default(), parsed);
        }
    }

    #[test]
    fn digit_parameters_stop_at_other_bytes() {
        for params in ["1:2", "?1", "1 ", "1m"] {
            assert!(Params::of_digits(params.as_bytes()).is_none(), "{params}");
        }
    }

    #[test]
    fn huge_parameters_saturate() {
        assert_eq!(parse(b"\x1b[4294967295b"), ["c65535b"]);
    }

    #[test]
    fn too_many_parameters_ignore_the_sequence() {
        let mut s = b"\x1b[".to_vec();
        for _ in 0..40 {
            s.extend_from_slice(b"1;");
        }
        s.push(b'm');
        assert!(parse(&s).is_empty());
    }

    #[test]
    fn osc_is_bounded_and_terminated_by_bel_or_st() {
        assert_eq!(parse(b"\x1b]2;hi\x07"), ["o2;hi"]);
        assert_eq!(parse(b"\x1b]0;t\x1b\\"), ["o0;t", "e\\"]);
        let mut p = Parser::default();
        let mut log = Log::default();
        p.advance(&mut log, b"\x1b]2;");
        for _ in 0..1000 {
            p.advance(&mut log, &[b'a'; 1000]);
        }
        assert!(p.osc.len() <= MAX_OSC);
        assert!(p.osc.capacity() <= 2 * MAX_OSC);
    }

    #[test]
    fn controls_execute_inside_csi() {
        assert_eq!(parse(b"\x1b[1\n2A"), ["x0a", "c12A"]);
    }

    #[test]
    fn invalid_utf8_becomes_replacement() {
        assert_eq!(parse(b"a\xffb"), ["pa", "p\u{fffd}", "pb"]);
        assert_eq!(parse(b"\xe2\x82x"), ["p\u{fffd}", "px"]);
        assert_eq!(
            parse(b"\xed\xa0\x80"),
            ["p\u{fffd}", "p\u{fffd}", "p\u{fffd}"]
        );
        assert_eq!(parse("é€😀".as_bytes()), ["pé", "p€", "p😀"]);
    }

    #[test]
    fn utf8_cut_after_non_ascii_text_waits_for_the_rest() {
        // Regression: the bulk UTF-8 path once looped forever here.
        let mut p = Parser::default();
        let mut log = Log::default();
        p.advance(&mut log, b"\xc3\xa9\xe2");
        p.advance(&mut log, b"\x82\xac\xc3");
        p.advance(&mut log, b"\x1b[m");
        assert_eq!(log.0, ["pé", "p€", "p\u{fffd}", "c0m"]);
    }

    #[test]
    fn decoding_agrees_with_from_utf8_lossy() {
        // Random bytes without the controls that leave ground state, fed in
        // pieces of random length: every character, replacement or not, must
        // come out as `String::from_utf8_lossy` decodes the whole input.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..200 {
            let len = (next() % 300) as usize;
            let input: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    // Mostly bytes of multi-byte characters, to hit every cut.
                    let b = if r % 4 == 0 {
                        r as u8
                    } else {
                        0x80 | (r >> 8) as u8
                    };
                    if matches!(b, 0x18 | 0x1A | 0x1B) {
                        b'x'
                    } else {
                        b
                    }
                })
                .collect();
            let mut expected = Vec::new();
            for c in String::from_utf8_lossy(&input).chars() {
                match c as u32 {
                    0..=0x1F => expected.push(format!("x{:02x}", c as u32)),
                    0x7F..=0x9F => {}
                    _ => expected.push(format!("p{c}")),
                }
            }
            let mut p = Parser::default();
            let mut log = Log::default();
            let mut rest = &input[..];
            while !rest.is_empty() {
                let n = ((next() % 8) as usize + 1).min(rest.len());
                p.advance(&mut log, &rest[..n]);
                rest = &rest[n..];
            }
            if !p.partial_utf8().is_empty() {
                // A character cut by the end of the input is still pending.
                expected.pop();
            }
            assert_eq!(log.0, expected, "{input:02x?}");
        }
    }

    #[test]
    fn utf8_split_across_feeds() {
        let mut p = Parser::default();
        let mut log = Log::default();
        let s = "€".as_bytes();
        p.advance(&mut log, &s[..1]);
        p.advance(&mut log, &s[1..2]);
        assert_eq!(p.partial_utf8(), &s[..2]);
        p.advance(&mut log, &s[2..]);
        assert_eq!(log.0, ["p€"]);
    }

    #[test]
    fn pending_prefix_recreates_state() {
        let cases: &[&[u8]] = &[
            b"\x1b",
            b"\x1b(",
            b"\x1b[",
            b"\x1b[0",
            b"\x1b[?",
            b"\x1b[1;22:3",
            b"\x1b[1;",
            b"\x1b[ ",
            b"\x1b[1 ",
            b"\x1b[?<",
            b"\x1b]2;abc",
            b"\x1bPq#0",
            b"\x1b_xx",
            b"\x1b(((",
            b"\x1b[!!!",
        ];
        for case in cases {
            let mut a = Parser::default();
            a.advance(&mut Log::default(), case);
            let mut b = Parser::default();
            b.advance(&mut Log::default(), a.pending_string().as_bytes());
            assert_eq!(a, b, "{:?} -> {:?}", case, a.pending_string());
        }
    }
}
