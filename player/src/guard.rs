//! A recording's output made safe for the reviewer's terminal: what draws
//! on the screen passes, what makes the terminal answer or act outside the
//! screen is left out.
//!
//! A recording's output was written by the recorded user. Played raw on a
//! reviewer's terminal it can make that terminal answer (DA, DSR, DECRQSS:
//! the answers are typed into the reviewer's shell), set the clipboard
//! (OSC 52), the title, colours and fonts, open links, send notifications,
//! start mouse reporting (the mouse then types into the shell), or switch
//! the terminal out of UTF-8. [`Guard`] is a streaming filter in front of
//! the terminal that lets through only what it knows to act on the screen:
//!
//! - text (valid UTF-8; in [`Guard::eight_bit`] mode any byte from 0xA0),
//!   and the C0 controls BEL, BS, HT, LF, VT, FF, CR, SO, SI; DEL;
//! - `ESC` sequences except DECID (`ESC Z`), DOCS (`ESC %`, which would
//!   take the terminal out of UTF-8) and the strings below;
//! - CSI sequences on an allowlist: cursor movement, erasing, inserting and
//!   deleting, scrolling, tabs, SGR, margins, cursor save/restore, DECSTR,
//!   DECSCUSR, DECSCA, DECSCL, the rectangle operations, XTPUSHSGR/POPSGR,
//!   IRM, and DEC private modes (DECSET/DECRST, XTSAVE/XTRESTORE) except
//!   those that make the terminal send input or answer: VT52 mode (2),
//!   X10 and X11 mouse tracking (9, 1000–1007, 1015, 1016), focus events
//!   (1004), pop-on-bell (1043) and in-band resize reports (2048), which
//!   are taken out of the sequence.
//!
//! Everything else is left out, and counted ([`Guard::dropped`]): every
//! other C0 control (ENQ answers with the answerback), OSC (title, icon,
//! clipboard, colours, fonts, hyperlinks, notifications), DCS (DECRQSS,
//! XTGETTCAP, tmux passthrough, sixel), SOS, PM, APC (kitty graphics),
//! `ESC k` (screen's and tmux's window name), every CSI not on the list
//! (DA1/2/3, DSR/CPR, DECRQM, XTVERSION, XTWINOPS, DECREQTPARM, media
//! copy, the kitty keyboard protocol, XTMODKEYS, locator reports,
//! DECRQCRA, …) and anything malformed. C1 controls (U+0080–U+009F, or the
//! bytes 0x80–0x9F in eight-bit mode) are read as their 7-bit forms
//! (`ESC` and a letter) and go through the same rules, written 7-bit; bytes
//! that are not UTF-8 become U+FFFD (a lenient decoder could read an
//! overlong form as ESC).
//!
//! The filter is a state machine in the manner of Paul Williams' DEC
//! parser, fed any split of the stream: a sequence cut between two feeds
//! is completed by the next. It keeps at most one CSI or ESC sequence
//! ([`MAX_SEQUENCE`] bytes; a longer one is left out as it streams) and a
//! partial UTF-8 character; strings are dropped as they stream, however
//! long, even if never terminated. Only complete, allowed sequences are
//! written, so the terminal is in its ground state after every write.

use termtape_format::Utf8Seq;

/// The longest CSI or ESC sequence kept (parameters and intermediates);
/// longer ones are left out.
pub const MAX_SEQUENCE: usize = 256;

/// Where the filter is in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Text.
    Ground,
    /// After ESC (`seq` holds ESC and any intermediates).
    Escape,
    /// Inside a CSI sequence (`seq` holds it so far).
    Csi,
    /// Inside a sequence that will be left out, up to its final byte.
    Ignore,
    /// Inside a string (OSC, DCS, SOS, PM, APC, `ESC k`), dropped as it
    /// streams; `bel` if BEL ends it (OSC and `ESC k`).
    String { bel: bool },
}

/// The streaming filter; see the [module](self) documentation.
#[derive(Debug, Clone)]
pub struct Guard {
    state: State,
    seq: Vec<u8>,
    /// The escape sequence grew past [`MAX_SEQUENCE`].
    overflow: bool,
    /// An ESC right after a dropped string: `ESC \` there is its
    /// terminator, dropped with it.
    closing: bool,
    eight_bit: bool,
    /// A UTF-8 character begun (empty when none is).
    partial: Utf8Seq,
    dropped: u64,
}

impl Default for Guard {
    fn default() -> Self {
        Guard::new()
    }
}

impl Guard {
    /// A filter for UTF-8 output (what termtape records).
    pub fn new() -> Guard {
        Guard {
            state: State::Ground,
            seq: Vec::new(),
            overflow: false,
            closing: false,
            eight_bit: false,
            partial: Utf8Seq::default(),
            dropped: 0,
        }
    }

    /// A filter for output in an eight-bit charset (`--original`): bytes
    /// 0xA0–0xFF are text, 0x80–0x9F are C1 controls.
    pub fn eight_bit() -> Guard {
        Guard {
            eight_bit: true,
            ..Guard::new()
        }
    }

    /// How many sequences and controls have been left out so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Filters `input`, the next bytes of the stream, appending what may
    /// reach the terminal to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let mut i = 0;
        while i < input.len() {
            // Fast path: a run of printable ASCII in ground state.
            if self.state == State::Ground && self.partial.is_empty() {
                let run = input[i..]
                    .iter()
                    .position(|b| !(0x20..0x7f).contains(b))
                    .unwrap_or(input.len() - i);
                out.extend_from_slice(&input[i..i + run]);
                i += run;
                if i == input.len() {
                    break;
                }
            }
            // Fast path: inside a string, up to a byte that may end it (a
            // C1 ST is C2 9C in UTF-8; C2 is never a continuation byte).
            if let State::String { .. } = self.state
                && self.partial.is_empty()
            {
                let eight_bit = self.eight_bit;
                let skip = input[i..]
                    .iter()
                    .position(|&b| {
                        matches!(b, 0x07 | 0x18 | 0x1a | 0x1b)
                            || if eight_bit {
                                (0x80..=0x9f).contains(&b)
                            } else {
                                b == 0xc2
                            }
                    })
                    .unwrap_or(input.len() - i);
                i += skip;
                if i == input.len() {
                    break;
                }
            }
            self.byte(input[i], out);
            i += 1;
        }
    }

    /// Ends the stream: a partial character or sequence is left out.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.partial.is_empty() {
            self.partial = Utf8Seq::default();
            self.invalid(out);
        }
        if self.state != State::Ground {
            self.drop_sequence();
        }
    }

    /// Decodes one byte into characters.
    fn byte(&mut self, b: u8, out: &mut Vec<u8>) {
        if self.eight_bit {
            match b {
                0x00..=0x7f => self.ascii(b, out),
                0x80..=0x9f => self.c1(b, out),
                _ => self.text(&[b], out),
            }
            return;
        }
        if !self.partial.is_empty() {
            // Unicode's table of well-formed sequences, as the encoder
            // splits text from binary.
            if !self.partial.add(b) {
                self.partial = Utf8Seq::default();
                self.invalid(out);
                return self.byte(b, out);
            }
            if !self.partial.is_ended() {
                return;
            }
            let done = std::mem::take(&mut self.partial);
            let bytes = done.bytes();
            // U+0080–U+009F, the C1 controls: C2 80 to C2 9F.
            if let [0xc2, c @ 0x80..=0x9f] = *bytes {
                return self.c1(c, out);
            }
            return self.text(bytes, out);
        }
        if b < 0x80 {
            return self.ascii(b, out);
        }
        let mut started = Utf8Seq::default();
        if !started.add(b) {
            return self.invalid(out);
        }
        self.partial = started;
    }

    /// Bytes that are not UTF-8: one U+FFFD, as the text it is.
    fn invalid(&mut self, out: &mut Vec<u8>) {
        self.text("\u{fffd}".as_bytes(), out);
    }

    /// A C1 control: its 7-bit form, ESC and `c - 0x40`.
    fn c1(&mut self, c: u8, out: &mut Vec<u8>) {
        self.ascii(0x1b, out);
        self.ascii(c - 0x40, out);
    }

    /// A printable character beyond ASCII.
    fn text(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        match self.state {
            State::Ground => out.extend_from_slice(bytes),
            State::String { .. } => {}
            // Not part of any sequence: the sequence is left out and the
            // character is text.
            State::Escape | State::Csi | State::Ignore => {
                self.drop_sequence();
                out.extend_from_slice(bytes);
            }
        }
    }

    fn drop_sequence(&mut self) {
        self.dropped += 1;
        self.reset();
    }

    fn reset(&mut self) {
        self.state = State::Ground;
        self.seq.clear();
        self.overflow = false;
        self.closing = false;
    }

    /// A C0 control met anywhere but in a string: what a terminal would
    /// execute on the spot.
    fn control(&mut self, b: u8, out: &mut Vec<u8>) {
        match b {
            0x07..=0x0f => out.push(b),
            _ => self.dropped += 1,
        }
    }

    fn ascii(&mut self, b: u8, out: &mut Vec<u8>) {
        let closing = std::mem::take(&mut self.closing);
        match (self.state, b) {
            (State::String { bel }, _) => match b {
                0x1b => {
                    self.state = State::Escape;
                    self.seq.clear();
                    self.seq.push(0x1b);
                    self.closing = true;
                }
                0x18 | 0x1a => self.reset(),
                0x07 if bel => self.reset(),
                _ => {}
            },
            // ESC aborts any sequence and starts another; CAN and SUB
            // abort it.
            (_, 0x1b) => {
                if self.state != State::Ground {
                    self.dropped += 1;
                }
                self.reset();
                self.state = State::Escape;
                self.seq.push(0x1b);
            }
            (State::Ground, 0x20..=0x7f) => out.push(b),
            (State::Ground, _) => self.control(b, out),
            (_, 0x18 | 0x1a) => self.drop_sequence(),
            (_, 0x7f) => {}
            (_, 0x00..=0x1f) => self.control(b, out),
            (State::Escape, _) => self.escape(b, closing, out),
            (State::Csi, _) => self.csi(b, out),
            (State::Ignore, 0x40..=0x7e) => self.drop_sequence(),
            (State::Ignore, _) => {}
        }
    }

    fn push(&mut self, b: u8) {
        if self.seq.len() < MAX_SEQUENCE {
            self.seq.push(b);
        } else {
            self.overflow = true;
        }
    }

    /// A byte after ESC (and its intermediates, if any).
    fn escape(&mut self, b: u8, closing: bool, out: &mut Vec<u8>) {
        if (0x20..=0x2f).contains(&b) {
            self.push(b);
            return;
        }
        if self.seq.len() == 1 {
            match b {
                b'[' => {
                    self.seq.push(b);
                    self.state = State::Csi;
                    return;
                }
                b']' | b'k' => {
                    self.dropped += 1;
                    self.reset();
                    self.state = State::String { bel: true };
                    return;
                }
                b'P' | b'X' | b'^' | b'_' => {
                    self.dropped += 1;
                    self.reset();
                    self.state = State::String { bel: false };
                    return;
                }
                // The terminator of a string just dropped.
                b'\\' if closing => return self.reset(),
                // DECID: the terminal answers as to DA.
                b'Z' => return self.drop_sequence(),
                _ => {}
            }
        }
        // DOCS (`ESC % G`, `ESC % @`, `ESC % / G`, …) switches the
        // terminal's decoding; no other sequence has a `%`.
        if self.overflow || self.seq.contains(&b'%') {
            return self.drop_sequence();
        }
        out.extend_from_slice(&self.seq);
        out.push(b);
        self.reset();
    }

    /// A byte inside a CSI sequence.
    fn csi(&mut self, b: u8, out: &mut Vec<u8>) {
        let intermediates = self.seq[2..].iter().any(|c| (0x20..=0x2f).contains(c));
        match b {
            0x30..=0x3f => {
                // A parameter after an intermediate, or a private marker
                // not first: malformed.
                if intermediates || (b"<=>?".contains(&b) && self.seq.len() > 2) {
                    self.state = State::Ignore;
                } else {
                    self.push(b);
                }
            }
            0x20..=0x2f => self.push(b),
            _ => {
                if !self.overflow && dispatch(&self.seq, b, out) {
                    self.reset();
                } else {
                    self.drop_sequence();
                }
            }
        }
    }
}

/// A writer that sends everything through a [`Guard`] to `inner`; call
/// [`Writer::finish`] at the end (dropping it leaves a partial sequence
/// out silently).
#[derive(Debug)]
pub struct Writer<W: std::io::Write> {
    guard: Guard,
    inner: W,
    buf: Vec<u8>,
}

impl<W: std::io::Write> Writer<W> {
    /// `inner` behind `guard`.
    pub fn new(guard: Guard, inner: W) -> Writer<W> {
        Writer {
            guard,
            inner,
            buf: Vec::new(),
        }
    }

    /// Ends the stream and returns the guard, to ask what it left out.
    pub fn finish(mut self) -> std::io::Result<Guard> {
        self.buf.clear();
        self.guard.finish(&mut self.buf);
        self.inner.write_all(&self.buf)?;
        self.inner.flush()?;
        Ok(self.guard)
    }
}

impl<W: std::io::Write> std::io::Write for Writer<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.clear();
        self.guard.feed(data, &mut self.buf);
        self.inner.write_all(&self.buf)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// DEC private modes that make the terminal send input or answer: VT52
/// mode, mouse tracking and its encodings, focus events, alternate scroll,
/// pop-on-bell, in-band resize reports.
fn denied_private_mode(mode: u32) -> bool {
    matches!(mode, 2 | 9 | 1000..=1007 | 1015 | 1016 | 1043 | 2048)
}

/// Writes the CSI sequence `seq` (ESC `[`, parameters, intermediates) ended
/// by `last`, as far as it is allowed; false if none of it is.
fn dispatch(seq: &[u8], last: u8, out: &mut Vec<u8>) -> bool {
    let body = &seq[2..];
    let split = body
        .iter()
        .position(|c| (0x20..=0x2f).contains(c))
        .unwrap_or(body.len());
    let (params, inter) = body.split_at(split);
    let (prefix, params) = match params.first() {
        Some(p @ (b'<' | b'=' | b'>' | b'?')) => (Some(*p), &params[1..]),
        _ => (None, params),
    };
    let allowed = match (prefix, inter, last) {
        (None, [], b'h' | b'l') => return modes(seq, params, last, |m| m == 4, out),
        (Some(b'?'), [], b'h' | b'l' | b'r' | b's') => {
            return modes(seq, params, last, |m| !denied_private_mode(m), out);
        }
        // More than one parameter asks for mouse highlight tracking.
        (None, [], b'T') => !params.contains(&b';'),
        (None, [], c) => b"@ABCDEFGHIJKLMPSWXZ`abdefgmrsu".contains(&c),
        (Some(b'?'), [], b'J' | b'K' | b'W') => true,
        (None, b" ", b'q' | b'@' | b'A') => true,
        (None, b"!", b'p') => true,
        (None, b"\"", b'p' | b'q') => true,
        (None, b"$", b'r' | b't' | b'v' | b'x' | b'z' | b'{') => true,
        (None, b"*", b'x') => true,
        (None, b"'", b'}' | b'~') => true,
        (None, b"#", b'{' | b'}' | b'p' | b'q') => true,
        _ => false,
    };
    if allowed {
        out.extend_from_slice(seq);
        out.push(last);
    }
    allowed
}

/// A set or reset of modes, with the modes `keep` refuses taken out;
/// false if none is left.
fn modes(
    seq: &[u8],
    params: &[u8],
    last: u8,
    keep: impl Fn(u32) -> bool,
    out: &mut Vec<u8>,
) -> bool {
    if params.contains(&b':') {
        return false;
    }
    let parsed: Vec<(&[u8], u32)> = params
        .split(|&c| c == b';')
        .map(|p| {
            let n = p.iter().try_fold(0u32, |n, &d| {
                n.checked_mul(10)?
                    .checked_add(u32::from(d.wrapping_sub(b'0')))
                    .filter(|_| d.is_ascii_digit())
            });
            (p, n.unwrap_or(u32::MAX))
        })
        .collect();
    let kept: Vec<&[u8]> = parsed
        .iter()
        .filter(|(_, n)| keep(*n))
        .map(|(p, _)| *p)
        .collect();
    if kept.len() == parsed.len() {
        out.extend_from_slice(seq);
        out.push(last);
        return true;
    }
    if kept.is_empty() {
        return false;
    }
    let head = seq.len() - params.len();
    out.extend_from_slice(&seq[..head]);
    out.extend_from_slice(&kept.join(&b';'));
    out.push(last);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(input: &[u8]) -> Vec<u8> {
        let mut g = Guard::new();
        let mut out = Vec::new();
        g.feed(input, &mut out);
        g.finish(&mut out);
        out
    }

    /// `input` through the filter one byte at a time.
    fn bytewise(input: &[u8]) -> Vec<u8> {
        let mut g = Guard::new();
        let mut out = Vec::new();
        for b in input {
            g.feed(std::slice::from_ref(b), &mut out);
        }
        g.finish(&mut out);
        out
    }

    fn both(input: &[u8]) -> Vec<u8> {
        let whole = guard(input);
        assert_eq!(whole, bytewise(input), "split one byte at a time");
        whole
    }

    fn passes(input: &[u8]) {
        assert_eq!(
            String::from_utf8_lossy(&both(input)),
            String::from_utf8_lossy(input)
        );
    }

    fn dropped(input: &[u8], rest: &[u8]) {
        let out = both(input);
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(rest),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }

    #[test]
    fn screen_output_passes_byte_exact() {
        passes(b"plain text\r\n\tx\x08y\x07\x0e\x0f\x0b\x0c\x7f");
        passes("Grüße, 東京 ✓ 🎉\r\n".as_bytes());
        passes(b"\x1b[1;31mred\x1b[0m \x1b[38;2;1;2;3mrgb\x1b[38:5:9m\x1b[m");
        passes(b"\x1b[H\x1b[2J\x1b[10;20H\x1b[5A\x1b[B\x1b[3C\x1b[D\x1b[K\x1b[1K\x1b[?J");
        passes(b"\x1b[3L\x1b[2M\x1b[4P\x1b[@\x1b[5X\x1b[2S\x1b[T\x1b[3b\x1b[12d\x1b[7G");
        passes(b"\x1b[5;20r\x1b[s\x1b[u\x1b[4h\x1b[4l\x1b[!p\x1b[2 q\x1b[1\"q");
        passes(b"\x1b[?1049h\x1b[?25l\x1b[?7;1h\x1b[?1049l\x1b[?2004h\x1b[?2026h");
        passes(b"\x1b7\x1b8\x1b=\x1b>\x1bD\x1bE\x1bM\x1bc\x1b(0lqk\x1b(B\x1b#8\x1b)0");
        passes(b"\x1b[1;1;5;5$z\x1b[1;1;5;5;7$x\x1b[#{\x1b[#}\x1b[2*x\x1b[3'}");
    }

    #[test]
    fn osc_of_every_kind_is_dropped_however_terminated() {
        for osc in [
            &b"\x1b]52;c;Y3VybCBldmlsfHNo\x07"[..],
            b"\x1b]52;c;?\x1b\\",
            b"\x1b]0;PWNED\x07",
            b"\x1b]2;LS-PWNED\x1b\\",
            b"\x1b]1;icon\x07",
            b"\x1b]4;1;rgb:ff/00/00\x07",
            b"\x1b]10;?\x07",
            b"\x1b]11;?\x1b\\",
            b"\x1b]50;?\x07",
            b"\x1b]8;;http://evil/\x1b\\",
            b"\x1b]9;notify\x07",
            b"\x1b]777;notify;a;b\x07",
            b"\x1b]1337;File=:AAAA\x07",
            "\u{9d}0;c1 title\u{9c}".as_bytes(),
            "\u{9d}52;c;x\x07".as_bytes(),
        ] {
            let mut input = b"<".to_vec();
            input.extend_from_slice(osc);
            input.push(b'>');
            dropped(&input, b"<>");
        }
    }

    #[test]
    fn strings_are_dropped_and_what_follows_them_is_kept() {
        // DECRQSS, XTGETTCAP, tmux passthrough, sixel, SOS, PM, APC, screen
        // titles; BEL does not end a DCS.
        for s in [
            &b"\x1bP$qm\x1b\\"[..],
            b"\x1bP+q544e\x1b\\",
            b"\x1bPq#0;2;0;0;0#0~~@@\x1b\\",
            b"\x1bXsos\x1b\\",
            b"\x1b^pm\x07still pm\x1b\\",
            b"\x1b_Gf=100;AAAA\x1b\\",
            b"\x1bkwindow name\x1b\\",
            "\u{90}$qm\u{9c}".as_bytes(),
        ] {
            let mut input = s.to_vec();
            input.extend_from_slice(b"after");
            dropped(&input, b"after");
        }
        // tmux's passthrough: the DCS ends at the first ESC, the OSC in it
        // is dropped too, and the lone ST left is harmless.
        dropped(b"\x1bPtmux;\x1b\x1b]52;c;x\x07\x1b\\after", b"\x1b\\after");
        // A string broken by ESC ends there; the sequence after it is read.
        dropped(b"\x1b]2;t\x1b[1mB", b"\x1b[1mB");
        // CAN aborts a string.
        dropped(b"\x1b]2;t\x18ok", b"ok");
    }

    #[test]
    fn reports_and_queries_are_dropped() {
        for q in [
            &b"\x1b[c"[..],
            b"\x1b[0c",
            b"\x1b[>c",
            b"\x1b[>0c",
            b"\x1b[=c",
            b"\x1b[5n",
            b"\x1b[6n",
            b"\x1b[?6n",
            b"\x1b[?15n",
            b"\x1b[2$p",
            b"\x1b[?2026$p",
            b"\x1b[>q",
            b"\x1b[>0q",
            b"\x1b[14t",
            b"\x1b[18t",
            b"\x1b[21t",
            b"\x1b[8;100;300t",
            b"\x1b[3;0;0t",
            b"\x1b[22;0t",
            b"\x1b[>3t",
            b"\x1b[x",
            b"\x1b[1x",
            b"\x1b[?u",
            b"\x1b[>1u",
            b"\x1b[<u",
            b"\x1b[=1;1u",
            b"\x1b[i",
            b"\x1b[5i",
            b"\x1b[?5i",
            b"\x1b[>4;2m",
            b"\x1b[?4m",
            b"\x1b[?1;1;0S",
            b"\x1b[1;1;1;1;1T",
            b"\x1b[1;1;1;1*y",
            b"\x1b[1'z",
            b"\x1b[1'|",
            b"\x1b[1$w",
            b"\x1b[1$u",
            b"\x1b[#|",
            b"\x1b[q",
            b"\x1b[2h",
            b"\x1b[12l",
            b"\x1b[20h",
            b"\x1bZ",
            b"\x1b%@",
            b"\x1b%G",
            "\u{9b}6n".as_bytes(),
            "\u{9b}c".as_bytes(),
        ] {
            let mut input = b"a".to_vec();
            input.extend_from_slice(q);
            input.push(b'b');
            dropped(&input, b"ab");
        }
    }

    #[test]
    fn input_modes_are_taken_out_of_mode_changes() {
        for mode in [
            "9", "1000", "1001", "1002", "1003", "1004", "1005", "1006", "1007", "1015", "1016",
            "1043", "2048", "2",
        ] {
            for last in ["h", "l"] {
                dropped(format!("\x1b[?{mode}{last}").as_bytes(), b"");
            }
        }
        // Screen modes beside them stay.
        dropped(b"\x1b[?1049;1000;1006h", b"\x1b[?1049h");
        dropped(b"\x1b[?1000;25;1004l", b"\x1b[?25l");
        dropped(b"\x1b[?1000s\x1b[?1000r", b"");
        dropped(b"\x1b[2;4;20h", b"\x1b[4h");
    }

    #[test]
    fn controls_that_answer_or_do_nothing_on_screen_are_dropped() {
        dropped(b"a\x05b\x00c\x1b\x18d\x01\x1ce", b"abcde");
    }

    #[test]
    fn c1_controls_are_read_as_their_7_bit_forms() {
        dropped("\u{9b}1;31mred".as_bytes(), b"\x1b[1;31mred");
        dropped("x\u{85}y\u{84}".as_bytes(), b"x\x1bEy\x1bD");
        let mut g = Guard::eight_bit();
        let mut out = Vec::new();
        g.feed(b"\x9b6n\x9b1m\xe9t\xe9\x9d2;t\x9cok", &mut out);
        assert_eq!(out, b"\x1b[1m\xe9t\xe9ok");
        assert_eq!(g.dropped(), 2);
    }

    #[test]
    fn bytes_that_are_not_utf8_become_replacement_characters() {
        // An overlong ESC, a lone C1 byte, a surrogate, a cut character.
        dropped(b"\xc0\x9b[6n", "\u{fffd}\u{fffd}[6n".as_bytes());
        dropped(b"\x9b6n", "\u{fffd}6n".as_bytes());
        dropped(b"\xed\xa0\x80", "\u{fffd}\u{fffd}\u{fffd}".as_bytes());
        dropped(b"ok\xe2\x82", "ok\u{fffd}".as_bytes());
    }

    #[test]
    fn a_sequence_split_across_feeds_is_read_whole() {
        let input = b"x\x1b]52;c;YWJj\x07y\x1b[6nz\x1b[31mw\xe2\x9c\x93";
        let whole = guard(input);
        assert_eq!(whole, "xyz\x1b[31mw✓".as_bytes());
        for cut in 0..input.len() {
            let mut g = Guard::new();
            let mut out = Vec::new();
            g.feed(&input[..cut], &mut out);
            g.feed(&input[cut..], &mut out);
            g.finish(&mut out);
            assert_eq!(out, whole, "cut at {cut}");
        }
    }

    #[test]
    fn an_endless_string_or_sequence_is_dropped_as_it_streams() {
        let mut g = Guard::new();
        let mut out = Vec::new();
        g.feed(b"\x1b]52;c;", &mut out);
        for _ in 0..1_000 {
            g.feed(&[b'A'; 1000], &mut out);
        }
        assert!(out.is_empty());
        assert!(g.seq.capacity() <= MAX_SEQUENCE);
        let mut g = Guard::new();
        g.feed(b"\x1b[", &mut out);
        for _ in 0..1_000 {
            g.feed(&[b'1'; 1000], &mut out);
        }
        g.feed(b"mafter", &mut out);
        assert_eq!(out, b"after");
        assert!(g.seq.capacity() <= MAX_SEQUENCE * 2);
    }

    #[test]
    fn what_is_left_out_is_counted() {
        let mut g = Guard::new();
        let mut out = Vec::new();
        g.feed(b"\x1b]2;t\x07\x1b[6n\x1b[c\x1bP$qm\x1b\\\x1b[31m", &mut out);
        assert_eq!(g.dropped(), 4);
        assert_eq!(out, b"\x1b[31m");
    }
}

/// Properties over any input: an independent parser (wezterm's vtparse)
/// plays the reviewer's terminal and reports anything forbidden it is
/// asked to do.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use vtparse::{CsiParam, VTActor, VTParser};

    use super::Guard;

    /// What the reviewer's terminal was asked to do that it must not.
    #[derive(Default)]
    struct Reviewer {
        forbidden: Vec<String>,
    }

    impl VTActor for Reviewer {
        fn print(&mut self, c: char) {
            if ('\u{80}'..='\u{9f}').contains(&c) {
                self.forbidden.push(format!("C1 printed {c:?}"));
            }
        }
        fn execute_c0_or_c1(&mut self, control: u8) {
            // BEL, BS, HT, LF, VT, FF, CR, SO, SI act on the screen.
            if !(0x07..=0x0f).contains(&control) {
                self.forbidden.push(format!("control {control:#04x}"));
            }
        }
        fn dcs_hook(&mut self, byte: u8, _: &[i64], _: &[u8], _: bool) {
            self.forbidden.push(format!("DCS {}", byte as char));
        }
        fn dcs_put(&mut self, _: u8) {
            self.forbidden.push("DCS data".to_owned());
        }
        fn dcs_unhook(&mut self) {}
        fn esc_dispatch(&mut self, _: &[i64], intermediates: &[u8], _: bool, byte: u8) {
            if (intermediates.is_empty() && byte == b'Z') || intermediates.contains(&b'%') {
                self.forbidden
                    .push(format!("ESC {:?} {}", intermediates, byte as char));
            }
        }
        fn csi_dispatch(&mut self, params: &[CsiParam], _: bool, byte: u8) {
            let text: String = params.iter().map(ToString::to_string).collect();
            if forbidden_csi(&text, byte) {
                self.forbidden.push(format!("CSI {text}{}", byte as char));
            }
        }
        fn osc_dispatch(&mut self, params: &[&[u8]]) {
            self.forbidden.push(format!("OSC {params:?}"));
        }
        fn apc_dispatch(&mut self, _: Vec<u8>) {
            self.forbidden.push("APC".to_owned());
        }
    }

    /// The reviewer's own list, from the issue: reports and queries,
    /// window operations, media copy, input modes.
    fn forbidden_csi(text: &str, last: u8) -> bool {
        let prefixed = text.starts_with(['?', '>', '<', '=']);
        let numbers = || {
            text.trim_start_matches(['?', '>', '<', '='])
                .split(';')
                .filter_map(|n| n.parse::<u32>().ok())
                .collect::<Vec<_>>()
        };
        let has = |c: char| text.contains(c);
        match last {
            b'c' | b'n' | b'i' => true,
            b't' => !has(' ') && !has('$'),
            b'x' => !has('*') && !has('$'),
            b'q' => text.starts_with('>') || !(has(' ') || has('"') || has('#')),
            b'p' => has('$'),
            b'u' => prefixed || has('$'),
            b'm' => prefixed,
            b'S' => text.starts_with('?'),
            b'y' => has('*'),
            b'w' => has('$'),
            b'z' | b'{' | b'|' => has('\'') || (last == b'|' && has('#')),
            b'T' => numbers().len() > 1,
            b'h' | b'l' | b'r' | b's' if text.starts_with('?') => numbers()
                .iter()
                .any(|m| matches!(m, 2 | 9 | 1000..=1007 | 1015 | 1016 | 1043 | 2048)),
            b'h' | b'l' => numbers().iter().any(|m| matches!(m, 2 | 12 | 20)),
            _ => false,
        }
    }

    /// `input` through a guard in the pieces `cuts` makes.
    fn filtered(input: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut guard = Guard::new();
        let mut out = Vec::new();
        let mut at = 0;
        for &cut in cuts {
            let cut = at + cut % (input.len() - at + 1);
            guard.feed(&input[at..cut], &mut out);
            at = cut;
        }
        guard.feed(&input[at..], &mut out);
        guard.finish(&mut out);
        out
    }

    /// Fragments of hostile streams, to be put together at random.
    const PIECES: &[&[u8]] = &[
        b"\x1b",
        b"[",
        b"]",
        b"P",
        b"X",
        b"^",
        b"_",
        b"k",
        b"Z",
        b"%",
        b"G",
        b"@",
        b"?",
        b">",
        b"<",
        b"=",
        b"$",
        b"'",
        b"*",
        b"#",
        b" ",
        b"!",
        b"\"",
        b";",
        b":",
        b"0",
        b"1",
        b"2",
        b"6",
        b"9",
        b"52;c;",
        b"1000",
        b"1004",
        b"1006",
        b"2048",
        b"c",
        b"n",
        b"t",
        b"x",
        b"i",
        b"q",
        b"p",
        b"u",
        b"h",
        b"l",
        b"m",
        b"S",
        b"y",
        b"T",
        b"r",
        b"s",
        b"\\",
        b"\x07",
        b"\x18",
        b"\x1a",
        b"\x05",
        b"\x00",
        b"\x7f",
        "\u{9b}".as_bytes(),
        "\u{9d}".as_bytes(),
        "\u{9c}".as_bytes(),
        "\u{90}".as_bytes(),
        "\u{9f}".as_bytes(),
        b"\x9b",
        b"\x9d",
        b"\xc2",
        b"\xc0",
        b"\xe2\x82",
        "é".as_bytes(),
        "\u{202e}".as_bytes(),
        b"text",
    ];

    fn hostile() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            3 => proptest::sample::select(PIECES).prop_map(<[u8]>::to_vec),
            1 => any::<u8>().prop_map(|b| vec![b]),
        ];
        proptest::collection::vec(piece, 0..300).prop_map(|p| p.concat())
    }

    /// What programs draw with.
    fn harmless() -> impl Strategy<Value = Vec<u8>> {
        const SCREEN: &[&str] = &[
            "text",
            " ",
            "Grüße",
            "東京",
            "🎉",
            "\r\n",
            "\t",
            "\x08",
            "\x07",
            "\x1b[0m",
            "\x1b[m",
            "\x1b[1;31m",
            "\x1b[38;2;10;20;30m",
            "\x1b[4:3m",
            "\x1b[2J",
            "\x1b[K",
            "\x1b[?1049h",
            "\x1b[?1049l",
            "\x1b[?25l",
            "\x1b[?25h",
            "\x1b[?2004h",
            "\x1b[?7h",
            "\x1b(0",
            "\x1b(B",
            "\x1b7",
            "\x1b8",
            "\x1bM",
            "\x1b=",
            "\x1b>",
            "\x1b[3L",
            "\x1b[2 q",
            "\x1b[4h",
            "\x1b[4l",
            "\x1b[!p",
            "\x1b[?1h",
            "\x1b[s",
            "\x1b[u",
            "\x1b[3@",
            "\x1b[2P",
            "\x1b[5X",
            "\x1b[1S",
            "\x1b[T",
            "\x1b[?J",
            "\x1b#8",
        ];
        let piece = prop_oneof![
            3 => proptest::sample::select(SCREEN).prop_map(str::to_owned),
            1 => (1u16..300, 1u16..300).prop_map(|(r, c)| format!("\x1b[{r};{c}H")),
            1 => (0u16..100, proptest::sample::select(&b"ABCDEFGJKdGr"[..]))
                .prop_map(|(n, f)| format!("\x1b[{n}{}", f as char)),
            1 => "[ -~]{1,20}",
        ];
        proptest::collection::vec(piece, 0..100).prop_map(|p| p.concat().into_bytes())
    }

    proptest! {
        #[test]
        fn nothing_forbidden_reaches_the_terminal_whatever_the_input(
            input in hostile(),
            cuts in proptest::collection::vec(0usize..64, 0..8),
        ) {
            let out = filtered(&input, &cuts);
            let mut reviewer = Reviewer::default();
            VTParser::new().parse(&out, &mut reviewer);
            prop_assert!(reviewer.forbidden.is_empty(), "{:?} from {:?} gave {:?}",
                reviewer.forbidden, String::from_utf8_lossy(&input), String::from_utf8_lossy(&out));
            let text = std::str::from_utf8(&out);
            prop_assert!(text.is_ok(), "not UTF-8: {:?}", out);
            let text = text.unwrap_or_default();
            let c1 = text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c));
            prop_assert!(!c1, "a C1 control in {:?}", text);
            // Strings vtparse passes over without a word: SOS, PM, and
            // the window names of screen and tmux.
            for start in ["\x1bX", "\x1b^", "\x1b_", "\x1bk", "\x1b]", "\x1bP"] {
                prop_assert!(!text.contains(start), "{:?} in {:?}", start, text);
            }
            // However cut, the same output.
            prop_assert_eq!(&out, &filtered(&input, &[]));
        }

        #[test]
        fn screen_output_passes_byte_exact_however_cut(
            input in harmless(),
            cuts in proptest::collection::vec(0usize..64, 0..8),
        ) {
            prop_assert_eq!(filtered(&input, &cuts), input);
        }
    }
}
