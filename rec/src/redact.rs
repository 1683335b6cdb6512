//! Input redaction: what the user types while the recorded program hides
//! it (a password) is not recorded; a mark says how many keys were left
//! out, and when (`termtape_format::Redaction`).
//!
//! The decision follows the session terminal's own mode, read from the PTY
//! (its termios local flags) each time input or output passes:
//!
//! - `ECHO` on: the keys are shown as typed, so they are recorded.
//! - `ECHO` off, `ICANON` on: a password prompt. Every one measured reads
//!   this way: getpass(3) (python, mysql), PAM's prompts (`su`, `passwd`,
//!   `sudo` without `pwfeedback`), OpenSSH's readpassphrase, `psql`, bash's
//!   `read -s`. The keys are redacted.
//! - `ECHO` off, `ICANON` off ("raw"): line editors (bash/readline,
//!   `python3 -i`, `psql`'s prompt) and full-screen programs (vim, less,
//!   top), which draw the keys themselves or act on them: the keys are
//!   recorded, they are what drove the program. Two exceptions, so this
//!   errs on the side of redacting:
//!   - *masked readers* (`sudo` with `pwfeedback`, pinentry-curses) answer
//!     a key with a mask (`*`) instead of the key: when a key that is not a
//!     mask character is answered with output made of mask characters only,
//!     the keys held (see below) and every key typed until the terminal's
//!     mode changes are redacted;
//!   - *typed ahead*: keys typed in raw mode are held back for [`GRACE`]
//!     before they are recorded; if within that time the terminal turns to
//!     a password prompt, those typed after the Enter of the last line
//!     among them are redacted too (a password pasted or typed ahead at
//!     the shell's prompt, after the command that asks for it); the command
//!     lines themselves are kept.
//!
//! Keys typed ahead while `ECHO` was on are recorded: the terminal echoed
//! them as they arrived, so they are in the recorded output anyway.
//!
//! Output that comes while keys are held waits behind them (at most
//! [`HOLD_LIMIT`] bytes; beyond, what is held is decided at once), so the
//! recording keeps the order in which things happened. Nothing here delays
//! the session itself: the relay passes every byte on at once.

use std::collections::VecDeque;
use std::os::fd::BorrowedFd;
use std::time::Duration;

/// How long keys typed in raw mode are held back: a password prompt that
/// appears within this time redacts them.
pub const GRACE: Duration = Duration::from_secs(1);

/// At most this many bytes (held keys and the output behind them) wait for
/// a decision; beyond, the keys held are recorded (the terminal is not at a
/// password prompt, or they would have been redacted).
pub const HOLD_LIMIT: usize = 256 * 1024;

/// Whether input is logged as typed or with what the terminal hides left
/// out: `[log] input_redaction`, `--input-redaction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputRedaction {
    /// Leave out keys typed while the terminal's echo is off (see the
    /// [module documentation](self)).
    #[default]
    EchoOff,
    /// Record every key: passwords too. The recording says so on its first
    /// message.
    None,
}

/// The session terminal's local mode flags (termios `c_lflag`), as last
/// read; unknown if they could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mode(Option<u32>);

/// What a mode means for the keys typed in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Shown as typed.
    Echoed,
    /// Hidden: a password prompt (or a mode that could not be read).
    Hidden,
    /// Not echoed, read key by key: a line editor or full-screen program.
    Raw,
}

impl Mode {
    /// A mode that could not be read: treated as a password prompt.
    pub const UNKNOWN: Mode = Mode(None);

    /// The mode with these local flags.
    pub fn from_lflag(lflag: u32) -> Mode {
        Mode(Some(lflag))
    }

    fn class(self) -> Class {
        let echo: u32 = libc::ECHO;
        let icanon: u32 = libc::ICANON;
        match self.0 {
            None => Class::Hidden,
            Some(l) if l & echo != 0 => Class::Echoed,
            Some(l) if l & icanon != 0 => Class::Hidden,
            Some(_) => Class::Raw,
        }
    }
}

/// Reads the mode of the terminal whose PTY master is `master` (on Linux
/// the master returns its slave's settings).
pub fn probe(master: BorrowedFd<'_>) -> Mode {
    match rustix::termios::tcgetattr(master) {
        Ok(t) => Mode::from_lflag(t.local_modes.bits()),
        Err(_) => Mode::UNKNOWN,
    }
}

/// How many keys `bytes` hold: characters, each invalid byte one.
pub fn keys(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64
}

/// What the redactor lets through, in the order it happened.
#[derive(Debug, PartialEq, Eq)]
pub enum Item<'a> {
    /// Keys to record.
    Input(Duration, &'a [u8]),
    /// Output to record.
    Output(Duration, &'a [u8]),
    /// This many keys were typed at this time and are left out.
    Redacted(Duration, u64),
}

/// Redaction marks waiting for the next message, placed by input offset.
#[derive(Debug, Default)]
pub struct Marks {
    pending: Vec<termtape_format::Redaction>,
    /// Output recorded when the last mark was made.
    output: u64,
    /// Where the next message's input starts in the input stream.
    start: u64,
}

impl Marks {
    /// `keys` left out at `pos` (ms from the recording's start), after
    /// `offset` bytes of the recording's input and `output` bytes of its
    /// output; joined to the mark before if nothing was recorded in
    /// between (keys typed one by one at one prompt make one mark).
    pub fn add(&mut self, pos: u64, offset: u64, output: u64, keys: u64) {
        let output = std::mem::replace(&mut self.output, output);
        match self.pending.last_mut() {
            Some(last) if last.offset == offset && output == self.output => last.keys += keys,
            _ => self.pending.push(termtape_format::Redaction {
                at: pos,
                offset,
                keys,
            }),
        }
    }

    /// The `redacted` field for a message whose input ends at `input_end`
    /// in the input stream, if marks are waiting; their offsets become the
    /// message's own. Called for every message written.
    pub fn field(&mut self, input_end: u64) -> Option<String> {
        let start = std::mem::replace(&mut self.start, input_end);
        if self.pending.is_empty() {
            return None;
        }
        for mark in &mut self.pending {
            mark.offset = mark.offset.saturating_sub(start);
        }
        let field = termtape_format::Redaction::field(&self.pending);
        self.pending.clear();
        Some(field)
    }
}

/// Something waiting for a decision, or behind something that is.
#[derive(Debug)]
enum Entry {
    /// Keys; `held` until decided, with the mode they were typed in.
    Input {
        at: Duration,
        bytes: Vec<u8>,
        held: bool,
        mode: Mode,
    },
    Output {
        at: Duration,
        bytes: Vec<u8>,
    },
    Redacted {
        at: Duration,
        keys: u64,
    },
}

/// Decides, for each read of input, whether it is recorded (see the
/// [module documentation](self)); holds what it cannot decide yet. Does no
/// I/O: the caller reads the [`Mode`] and gives it with each call.
#[derive(Debug)]
pub struct Redactor {
    queue: VecDeque<Entry>,
    /// Bytes in `queue`.
    queued: usize,
    /// The flags of a raw reader seen masking keys, until they change.
    masked: Option<u32>,
    grace: Duration,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new(GRACE)
    }
}

impl Redactor {
    /// A redactor that holds raw keys for `grace`.
    pub fn new(grace: Duration) -> Redactor {
        Redactor {
            queue: VecDeque::new(),
            queued: 0,
            masked: None,
            grace,
        }
    }

    /// Bytes waiting (held keys and output behind them).
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// When the first held keys are due to be recorded, if any are held.
    pub fn deadline(&self) -> Option<Duration> {
        self.queue.iter().find_map(|e| match e {
            Entry::Input { at, held: true, .. } => Some(*at + self.grace),
            _ => None,
        })
    }

    /// Keys typed at `at`, with the terminal in `mode`.
    pub fn input<E>(
        &mut self,
        at: Duration,
        mode: Mode,
        bytes: &[u8],
        emit: &mut (impl FnMut(Item<'_>) -> Result<(), E> + ?Sized),
    ) -> Result<(), E> {
        self.see(mode);
        let class = match (mode.class(), self.masked) {
            (Class::Raw, Some(masked)) if mode.0 == Some(masked) => Class::Hidden,
            (class, _) => class,
        };
        match class {
            Class::Hidden => {
                let keys = keys(bytes);
                self.pass(Entry::Redacted { at, keys }, Item::Redacted(at, keys), emit)?
            }
            Class::Echoed => self.pass(
                Entry::Input {
                    at,
                    bytes: bytes.to_vec(),
                    held: false,
                    mode,
                },
                Item::Input(at, bytes),
                emit,
            )?,
            Class::Raw => {
                self.queued += bytes.len();
                self.queue.push_back(Entry::Input {
                    at,
                    bytes: bytes.to_vec(),
                    held: true,
                    mode,
                });
            }
        }
        self.release(at, emit)
    }

    /// Output written at `at`, with the terminal in `mode`.
    pub fn output<E>(
        &mut self,
        at: Duration,
        mode: Mode,
        bytes: &[u8],
        emit: &mut (impl FnMut(Item<'_>) -> Result<(), E> + ?Sized),
    ) -> Result<(), E> {
        self.see(mode);
        if mode.class() == Class::Raw && self.masks(bytes) {
            self.masked = mode.0;
            self.redact_held(Some(mode));
        }
        self.pass(
            Entry::Output {
                at,
                bytes: bytes.to_vec(),
            },
            Item::Output(at, bytes),
            emit,
        )?;
        self.release(at, emit)
    }

    /// Time passes: held keys whose time is up are recorded.
    pub fn tick<E>(
        &mut self,
        now: Duration,
        mode: Mode,
        emit: &mut (impl FnMut(Item<'_>) -> Result<(), E> + ?Sized),
    ) -> Result<(), E> {
        self.see(mode);
        self.release(now, emit)
    }

    /// The session is over: everything waiting is let through (held keys
    /// are recorded, unless the terminal is now at a password prompt).
    pub fn finish<E>(
        &mut self,
        mode: Mode,
        emit: &mut (impl FnMut(Item<'_>) -> Result<(), E> + ?Sized),
    ) -> Result<(), E> {
        self.see(mode);
        self.release(Duration::MAX, emit)
    }

    /// Follows the terminal's mode: a password prompt redacts the keys
    /// held; a change of mode ends a masked reader.
    fn see(&mut self, mode: Mode) {
        if self.masked.is_some() && mode.0 != self.masked {
            self.masked = None;
        }
        if mode.class() == Class::Hidden {
            self.redact_held(None);
        }
    }

    /// Decides every held key now that a password prompt (or, with
    /// `masked`, a masked reader in that mode) showed up. Keys typed in
    /// the masked reader's mode are redacted. Of the others, the last read
    /// that holds an Enter is taken for the line that started the program
    /// asking: it is kept up to its first Enter, and what came before it;
    /// what was typed after that Enter is redacted (typed ahead for the
    /// prompt), and so is everything held if no Enter was typed.
    fn redact_held(&mut self, masked: Option<Mode>) {
        let line_end = |b: &u8| matches!(b, b'\r' | b'\n');
        let last_line = self.queue.iter().rposition(|e| match e {
            Entry::Input {
                bytes,
                held: true,
                mode,
                ..
            } => masked != Some(*mode) && bytes.iter().any(line_end),
            _ => false,
        });
        let queue = std::mem::take(&mut self.queue);
        for (i, entry) in queue.into_iter().enumerate() {
            let Entry::Input {
                at,
                bytes,
                held: true,
                mode,
            } = entry
            else {
                self.queue.push_back(entry);
                continue;
            };
            let split = match last_line {
                _ if masked == Some(mode) => 0,
                Some(last) if i < last => bytes.len(),
                Some(last) if i == last => bytes.iter().position(line_end).map_or(0, |p| p + 1),
                _ => 0,
            };
            self.queued -= bytes.len() - split;
            let redacted = keys(&bytes[split..]);
            if split > 0 {
                let mut kept = bytes;
                kept.truncate(split);
                self.queue.push_back(Entry::Input {
                    at,
                    bytes: kept,
                    held: false,
                    mode,
                });
            }
            if redacted > 0 {
                self.queue.push_back(Entry::Redacted { at, keys: redacted });
            }
        }
    }

    /// Whether `output` answers the keys typed since the last output with
    /// mask characters: it shows nothing but masks, and one of those keys
    /// is not itself a mask (a `*` a line editor echoes is not one).
    fn masks(&self, output: &[u8]) -> bool {
        let typed_other = self
            .queue
            .iter()
            .rev()
            .take_while(|e| !matches!(e, Entry::Output { .. }))
            .any(|e| match e {
                Entry::Input {
                    bytes, held: true, ..
                } => bytes.iter().any(|&b| b > b' ' && b != 0x7f && b != b'*'),
                _ => false,
            });
        typed_other && only_masks(output)
    }

    /// Emits `item` now if nothing waits, else queues `entry` behind.
    fn pass<E>(
        &mut self,
        entry: Entry,
        item: Item<'_>,
        emit: &mut (impl FnMut(Item<'_>) -> Result<(), E> + ?Sized),
    ) -> Result<(), E> {
        if self.queue.is_empty() {
            return emit(item);
        }
        if let Entry::Input { bytes, .. } | Entry::Output { bytes, .. } = &entry {
            self.queued += bytes.len();
        }
        self.queue.push_back(entry);
        Ok(())
    }

    /// Lets through, in order, what is decided or due at `now`; with more
    /// than [`HOLD_LIMIT`] waiting, everything.
    fn release<E>(
        &mut self,
        now: Duration,
        emit: &mut (impl FnMut(Item<'_>) -> Result<(), E> + ?Sized),
    ) -> Result<(), E> {
        let all = self.queued > HOLD_LIMIT;
        while let Some(front) = self.queue.front() {
            if let Entry::Input { at, held: true, .. } = front
                && !all
                && at.saturating_add(self.grace) > now
            {
                break;
            }
            let entry = self.queue.pop_front().expect("front exists");
            match entry {
                Entry::Input { at, bytes, .. } => {
                    self.queued -= bytes.len();
                    emit(Item::Input(at, &bytes))?;
                }
                Entry::Output { at, bytes } => {
                    self.queued -= bytes.len();
                    emit(Item::Output(at, &bytes))?;
                }
                Entry::Redacted { at, keys } => emit(Item::Redacted(at, keys))?,
            }
        }
        Ok(())
    }
}

/// Whether `output`, escape sequences and spacing left out, is mask
/// characters only (at least one): what `sudo` with `pwfeedback` and
/// pinentry show for a key.
fn only_masks(output: &[u8]) -> bool {
    let mut seen = false;
    let mut i = 0;
    while i < output.len() {
        match output[i] {
            0x1b => i = skip_escape(output, i),
            b'*' => {
                seen = true;
                i += 1;
            }
            // Spacing, backspace, carriage return, other controls.
            b if b <= b' ' || b == 0x7f => i += 1,
            _ => {
                let rest = &output[i..];
                let mask = ["•", "●", "∗", "·"]
                    .iter()
                    .find(|m| rest.starts_with(m.as_bytes()));
                match mask {
                    Some(m) => {
                        seen = true;
                        i += m.len();
                    }
                    None => return false,
                }
            }
        }
    }
    seen
}

/// The index after the escape sequence starting at `i` (an ESC).
fn skip_escape(s: &[u8], i: usize) -> usize {
    match s.get(i + 1) {
        // CSI: parameters and intermediates, then a final byte.
        Some(b'[') => s[i + 2..]
            .iter()
            .position(|b| (0x40..=0x7e).contains(b))
            .map_or(s.len(), |p| i + 2 + p + 1),
        // OSC and other strings: up to BEL or ST.
        Some(b']' | b'P' | b'_' | b'^') => {
            let mut j = i + 2;
            while j < s.len() {
                if s[j] == 0x07 {
                    return j + 1;
                }
                if s[j] == 0x1b && s.get(j + 1) == Some(&b'\\') {
                    return j + 2;
                }
                j += 1;
            }
            s.len()
        }
        // Character set designations take one more byte.
        Some(b'(' | b')' | b'*' | b'+') => (i + 3).min(s.len()),
        Some(_) => i + 2,
        None => s.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ECHOING: u32 = libc::ECHO | libc::ICANON | libc::ISIG | libc::IEXTEN;
    const SECRET: u32 = libc::ICANON | libc::ISIG | libc::IEXTEN;
    const READLINE: u32 = libc::ISIG | libc::IEXTEN;
    /// sudo with pwfeedback clears ICANON and IEXTEN too.
    const PWFEEDBACK: u32 = libc::ISIG;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// What the redactor let through, as (kind, text).
    #[derive(Default)]
    struct Out(Vec<String>);

    impl Out {
        fn emit(&mut self) -> impl FnMut(Item<'_>) -> Result<(), ()> + '_ {
            |item| {
                self.0.push(match item {
                    Item::Input(_, b) => format!("<{}", String::from_utf8_lossy(b)),
                    Item::Output(_, b) => format!(">{}", String::from_utf8_lossy(b)),
                    Item::Redacted(_, n) => format!("#{n}"),
                });
                Ok(())
            }
        }
    }

    fn mode(l: u32) -> Mode {
        Mode::from_lflag(l)
    }

    /// The user types `keys` at `at` in mode `m`; the sink takes them.
    fn typed(r: &mut Redactor, out: &mut Out, at: Duration, m: Mode, keys: &[u8]) {
        r.input(at, m, keys, &mut out.emit())
            .expect("the sink takes it");
    }

    /// The program shows `bytes` at `at` in mode `m`.
    fn shown(r: &mut Redactor, out: &mut Out, at: Duration, m: Mode, bytes: &[u8]) {
        r.output(at, m, bytes, &mut out.emit())
            .expect("the sink takes it");
    }

    /// Time passes to `at`.
    fn tick(r: &mut Redactor, out: &mut Out, at: Duration, m: Mode) {
        r.tick(at, m, &mut out.emit()).expect("the sink takes it");
    }

    /// The session ends.
    fn finish(r: &mut Redactor, out: &mut Out, m: Mode) {
        r.finish(m, &mut out.emit()).expect("the sink takes it");
    }

    #[test]
    fn modes_are_classed_as_the_measured_programs_use_them() {
        assert_eq!(mode(ECHOING).class(), Class::Echoed);
        assert_eq!(mode(SECRET).class(), Class::Hidden);
        assert_eq!(mode(READLINE).class(), Class::Raw);
        assert_eq!(mode(0).class(), Class::Raw, "vim -u NONE");
        assert_eq!(Mode::UNKNOWN.class(), Class::Hidden);
        assert_eq!(keys("pä\r".as_bytes()), 3);
        assert_eq!(keys(b"\xff\xfe"), 2);
    }

    #[test]
    fn a_password_prompt_redacts_and_echo_records() {
        let mut r = Redactor::default();
        let mut out = Out::default();
        typed(&mut r, &mut out, ms(0), mode(ECHOING), b"su -\r");
        shown(&mut r, &mut out, ms(5), mode(SECRET), b"Password: ");
        typed(
            &mut r,
            &mut out,
            ms(10),
            mode(SECRET),
            "sécret\r".as_bytes(),
        );
        shown(&mut r, &mut out, ms(20), mode(ECHOING), b"\r\n# ");
        assert_eq!(out.0, ["<su -\r", ">Password: ", "#7", ">\r\n# "]);
        assert_eq!(r.queued(), 0);
        assert_eq!(r.deadline(), None);
    }

    #[test]
    fn raw_keys_are_held_then_recorded_in_order_with_the_output_behind_them() {
        let mut r = Redactor::default();
        let mut out = Out::default();
        typed(&mut r, &mut out, ms(0), mode(READLINE), b"l");
        shown(&mut r, &mut out, ms(1), mode(READLINE), b"l");
        typed(&mut r, &mut out, ms(100), mode(READLINE), b"s");
        shown(&mut r, &mut out, ms(101), mode(READLINE), b"s");
        assert!(out.0.is_empty());
        assert_eq!(r.deadline(), Some(ms(1000)));
        tick(&mut r, &mut out, ms(1000), mode(READLINE));
        assert_eq!(out.0, ["<l", ">l"]);
        assert_eq!(r.deadline(), Some(ms(1100)));
        finish(&mut r, &mut out, mode(READLINE));
        assert_eq!(out.0, ["<l", ">l", "<s", ">s"]);
        assert_eq!(r.queued(), 0);
    }

    #[test]
    fn keys_typed_ahead_of_a_password_prompt_are_redacted() {
        let mut r = Redactor::default();
        let mut out = Out::default();
        // Pasted at the shell's prompt: the command and its password.
        typed(
            &mut r,
            &mut out,
            ms(0),
            mode(READLINE),
            b"sudo -k ls\rhunter2\r",
        );
        shown(&mut r, &mut out, ms(2), mode(READLINE), b"sudo -k ls\r\n");
        typed(&mut r, &mut out, ms(3), mode(READLINE), b"more");
        shown(&mut r, &mut out, ms(300), mode(SECRET), b"Password: ");
        assert_eq!(
            out.0,
            [
                "<sudo -k ls\r",
                "#8",
                ">sudo -k ls\r\n",
                "#4",
                ">Password: "
            ]
        );
        // A command typed key by key, then its prompt: the command stays.
        let mut r = Redactor::default();
        let mut out = Out::default();
        for (i, key) in b"su\r".iter().enumerate() {
            typed(&mut r, &mut out, ms(i as u64), mode(READLINE), &[*key]);
        }
        shown(&mut r, &mut out, ms(50), mode(SECRET), b"Password: ");
        assert_eq!(out.0, ["<s", "<u", "<\r", ">Password: "]);
        // Two commands held, the second asks: both stay.
        let mut r = Redactor::default();
        let mut out = Out::default();
        typed(&mut r, &mut out, ms(0), mode(READLINE), b"echo\r");
        typed(&mut r, &mut out, ms(9), mode(READLINE), b"su\r");
        typed(&mut r, &mut out, ms(20), mode(SECRET), b"pw\r");
        assert_eq!(out.0, ["<echo\r", "<su\r", "#3"]);
    }

    #[test]
    fn a_masked_reader_is_redacted_until_the_mode_changes() {
        let mut r = Redactor::default();
        let mut out = Out::default();
        shown(
            &mut r,
            &mut out,
            ms(0),
            mode(PWFEEDBACK),
            b"[sudo] password for ann: ",
        );
        typed(&mut r, &mut out, ms(10), mode(PWFEEDBACK), b"h");
        shown(&mut r, &mut out, ms(11), mode(PWFEEDBACK), b"*");
        // Masked from here: a key is redacted at once, even a '*'.
        typed(&mut r, &mut out, ms(20), mode(PWFEEDBACK), b"*");
        shown(&mut r, &mut out, ms(21), mode(PWFEEDBACK), b"*");
        typed(&mut r, &mut out, ms(30), mode(PWFEEDBACK), b"\x7f");
        shown(&mut r, &mut out, ms(31), mode(PWFEEDBACK), b"\x08 \x08");
        // Back at the shell: its keys are recorded again.
        typed(&mut r, &mut out, ms(40), mode(READLINE), b"l");
        finish(&mut r, &mut out, mode(READLINE));
        assert_eq!(
            out.0,
            [
                ">[sudo] password for ann: ",
                "#1",
                ">*",
                "#1",
                ">*",
                "#1",
                ">\x08 \x08",
                "<l"
            ]
        );
    }

    #[test]
    fn a_star_echoed_by_a_line_editor_is_not_a_mask() {
        // Found with python3 -i: "6*7" typed key by key, each echoed, the
        // "6" still held when the "*" is echoed.
        let mut r = Redactor::default();
        let mut out = Out::default();
        for (i, key) in b"6*7".iter().enumerate() {
            let at = ms(i as u64 * 100);
            typed(&mut r, &mut out, at, mode(READLINE), &[*key]);
            shown(&mut r, &mut out, at, mode(READLINE), &[*key]);
        }
        finish(&mut r, &mut out, mode(READLINE));
        assert_eq!(out.0, ["<6", ">6", "<*", ">*", "<7", ">7"]);
        let mut r = Redactor::default();
        let mut out = Out::default();
        typed(&mut r, &mut out, ms(0), mode(READLINE), b"*");
        shown(&mut r, &mut out, ms(1), mode(READLINE), b"*");
        typed(&mut r, &mut out, ms(2), mode(READLINE), b"a");
        shown(&mut r, &mut out, ms(3), mode(READLINE), b"a\x1b[K");
        finish(&mut r, &mut out, mode(READLINE));
        assert_eq!(out.0, ["<*", ">*", "<a", ">a\x1b[K"]);
    }

    #[test]
    fn masks_are_seen_through_escape_sequences() {
        assert!(only_masks(b"*"));
        assert!(only_masks("\x1b[7m•\x1b[m \x08".as_bytes()));
        assert!(only_masks(b"\x1b]0;t\x07**"));
        assert!(!only_masks(b"\x1b[K"));
        assert!(!only_masks(b"*a"));
        assert!(!only_masks(b""));
    }

    #[test]
    fn more_than_the_hold_limit_is_decided_at_once() {
        let mut r = Redactor::default();
        let mut out = Out::default();
        let paste = vec![b'x'; HOLD_LIMIT / 2 + 1];
        typed(&mut r, &mut out, ms(0), mode(READLINE), &paste);
        assert!(out.0.is_empty());
        shown(&mut r, &mut out, ms(1), mode(READLINE), &paste);
        assert_eq!(out.0.len(), 2);
        assert_eq!(r.queued(), 0);
    }
}

/// The redactor in the recorder, end to end to the sink.
#[cfg(test)]
mod recorded {
    use super::*;
    use crate::recorder::{Policy, Recorder};
    use crate::relay::Capture;
    use crate::sink::Memory;
    use proptest::prelude::*;
    use termtape_charset::Charset;
    use termtape_format::{Header, Location, Message, Redaction, Stream};

    const MODES: [u32; 4] = [
        libc::ECHO | libc::ICANON | libc::ISIG,
        libc::ICANON | libc::ISIG,
        libc::ISIG | libc::IEXTEN,
        libc::ISIG,
    ];

    fn recorder(legacy: bool) -> (Recorder, Memory) {
        let header = Header {
            host: "h".into(),
            rec: "r".into(),
            user: "u".into(),
            term: "t".into(),
            session: 1,
        };
        let policy = Policy {
            input: true,
            output: true,
            window: true,
            latency: Duration::from_secs(3),
            payload: 256,
            keyframes: None,
        };
        let memory = Memory::default();
        let mut rec = Recorder::new(&header, policy, Duration::ZERO, Box::new(memory.clone()))
            .expect("recorder");
        if legacy {
            rec.set_charset(Charset::for_name("KOI8-R").expect("known"))
                .expect("charset");
        }
        rec.set_input_redaction(InputRedaction::EchoOff);
        (rec, memory)
    }

    /// The recorded input (decoded text, and the originals of a legacy
    /// session) and the marks.
    fn read(lines: &[String]) -> (Vec<u8>, Vec<u8>, Vec<Redaction>) {
        let at = Location::default();
        let (mut input, mut originals, mut marks) = (Vec::new(), Vec::new(), Vec::new());
        for line in lines {
            let m = Message::parse(line.trim_end(), &at).expect("valid");
            let bytes = m.bytes(Stream::Input, &at).expect("decodes");
            if let Some(packed) = m.extra("in_orig") {
                let packed: String = serde_json::from_str(packed.get()).expect("string");
                let text = String::from_utf8(bytes.clone()).expect("UTF-8");
                termtape_charset::restore(
                    Charset::for_name("KOI8-R").expect("known"),
                    &text,
                    Some(&packed),
                    &mut originals,
                )
                .expect("restores");
            }
            input.extend_from_slice(&bytes);
            marks.extend(m.redactions(&at).expect("valid marks"));
        }
        (input, originals, marks)
    }

    #[test]
    fn a_mark_sits_where_the_keys_were_and_counts_them() {
        let (mut rec, memory) = recorder(false);
        rec.window(Duration::ZERO, 80, 24).expect("ok");
        rec.mode(Mode::from_lflag(MODES[0]));
        rec.input(ms(1), b"su -\r").expect("ok");
        rec.mode(Mode::from_lflag(MODES[1]));
        rec.output(ms(2), b"Password: ").expect("ok");
        for (i, key) in b"hunter2\r".iter().enumerate() {
            rec.input(ms(100 + i as u64), &[*key]).expect("ok");
        }
        rec.mode(Mode::from_lflag(MODES[0]));
        rec.input(ms(200), b"id\r").expect("ok");
        rec.finish(ms(300)).expect("ok");
        let lines = memory.0.borrow();
        assert!(lines.iter().all(|l| !l.contains("hunter")), "{lines:?}");
        let (input, _, marks) = read(&lines);
        assert_eq!(input, b"su -\rid\r");
        assert_eq!(
            marks,
            [Redaction {
                at: 100,
                offset: 5,
                keys: 8
            }]
        );
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// One thing happening: (mode, what, length, ms since the last).
    fn op() -> impl Strategy<Value = (usize, u8, usize, u64)> {
        (0..MODES.len(), 0..3u8, 1..40usize, 0..1500u64)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

        /// Keys typed while echo is off (capitals here, and nothing else
        /// writes capitals) reach no sink, in no form; every key is either
        /// recorded or counted; keys typed with echo on are all recorded.
        #[test]
        fn no_key_typed_while_echo_is_off_reaches_the_sink(
            ops in proptest::collection::vec(op(), 1..60),
            legacy in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let (mut rec, memory) = recorder(legacy);
            rec.window(Duration::ZERO, 80, 24).expect("ok");
            let mut at = Duration::ZERO;
            let (mut typed, mut echoed) = (0u64, Vec::new());
            let mut n = seed;
            let mut next = move |range: u8| {
                n = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                (n >> 33) as u8 % range
            };
            for (mode, what, len, dt) in ops {
                at += ms(dt);
                rec.mode(Mode::from_lflag(MODES[mode]));
                match what {
                    0 => {
                        let secret = mode == 1;
                        let bytes: Vec<u8> = (0..len)
                            .map(|_| if secret { b'A' + next(26) } else { b'a' + next(26) })
                            .collect();
                        typed += len as u64;
                        if mode == 0 {
                            echoed.extend_from_slice(&bytes);
                        }
                        rec.input(at, &bytes).expect("ok");
                    }
                    1 => {
                        let bytes: Vec<u8> = (0..len)
                            .map(|_| match next(3) { 0 => b'*', 1 => b'\r', _ => b'0' + next(10) })
                            .collect();
                        rec.output(at, &bytes).expect("ok");
                    }
                    _ => {
                        if rec.deadline().is_some_and(|due| due <= at) {
                            rec.tick(at).expect("ok");
                        }
                    }
                }
            }
            rec.finish(at).expect("ok");
            let lines = memory.0.borrow();
            for line in lines.iter() {
                // A legacy session's charset name and packed originals are
                // checked decoded below.
                let Ok(m) = Message::parse(line.trim_end(), &Location::default()) else {
                    panic!("invalid message {line}");
                };
                let mut plain = m.clone();
                plain.extra.clear();
                prop_assert!(!plain.to_json().bytes().any(|b| b.is_ascii_uppercase()), "{line}");
                prop_assert!(
                    m.extra.iter().all(|(name, v)| name == "charset" || name == "in_orig"
                        || name == "out_orig" || !v.get().bytes().any(|b| b.is_ascii_uppercase())),
                    "{line}"
                );
            }
            let (input, originals, marks) = read(&lines);
            prop_assert!(!input.iter().any(u8::is_ascii_uppercase));
            prop_assert!(!originals.iter().any(u8::is_ascii_uppercase));
            let counted: u64 = marks.iter().map(|m| m.keys).sum();
            prop_assert_eq!(counted + input.len() as u64, typed);
            // Keys typed with echo on are recorded, in order.
            let mut rest = input.iter();
            for b in &echoed {
                prop_assert!(rest.any(|r| r == b), "echoed keys missing");
            }
        }
    }
}
