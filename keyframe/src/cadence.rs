//! When a keyframe is due, and what keyframes may cost.
//!
//! Keyframes are paid for by the output they cover: whatever a recorded
//! program prints, the keyframes of a recording take at most
//! [`FIRST_CREDIT`] bytes plus one byte for every [`OUTPUT_PER_BYTE`] bytes of
//! output before them, and none is longer than [`MAX_KEYFRAME_LEN`]. A
//! keyframe that is due but not yet paid for waits (a resize, a gap or the
//! cadence keeps it due) and is taken, of the screen as it is then, once the
//! output has paid for it: a burst of resizes gets one keyframe, not one each.

use std::time::Duration;

/// Output bytes between keyframes by default: 256 KiB.
pub const DEFAULT_BYTES: u64 = 256 * 1024;

/// Time between keyframes by default (while there is output): 60 s.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// Output bytes that pay for one byte of keyframe.
pub const OUTPUT_PER_BYTE: u64 = 2;

/// Keyframe bytes a recording may take before any output: enough for the
/// first keyframe, a blank screen of any size the recorder allows
/// ([`MAX_SCREEN_CELLS`]).
pub const FIRST_CREDIT: u64 = 4096;

/// The largest keyframe (the `kf` value's JSON) a [`Schedule`] admits: 16 MiB,
/// a quarter of what a reader takes in one message. The largest screen the
/// recorder records ([`MAX_SCREEN_CELLS`]) fits in it whatever its cells hold
/// (both screens, every cell a different pen, four combining marks each).
pub const MAX_KEYFRAME_LEN: usize = 16 << 20;

/// The most cells the recorder gives the recorded program's terminal (see
/// [`clamp_size`]): 65,536, so 256×256, 512×128 or 1024×64.
pub const MAX_SCREEN_CELLS: u32 = 1 << 16;

/// The size the recorder gives the recorded program's terminal for a window
/// of `cols` × `rows`: at most 1024 columns ([`termtape_emu::MAX_COLS`]), and
/// fewer rows where the screen would exceed [`MAX_SCREEN_CELLS`] (columns are
/// kept, since cutting them would change how lines wrap). Both at least 1.
pub fn clamp_size(cols: u16, rows: u16) -> (u16, u16) {
    let cols = cols.clamp(1, termtape_emu::MAX_COLS);
    let max_rows = (MAX_SCREEN_CELLS / u32::from(cols)).min(u32::from(termtape_emu::MAX_ROWS));
    let rows = u32::from(rows).clamp(1, max_rows);
    (cols, rows as u16)
}

/// Credit of a rejected keyframe's next try, beyond what the last try had:
/// every try costs a pass over the screen, so tries wait for output.
const RETRY_STEP: u64 = 1024;

/// How often keyframes are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    /// A keyframe after this many bytes of output since the last one
    /// (0: not by bytes).
    pub bytes: u64,
    /// A keyframe after this much time since the last one, if there was
    /// output in it (zero: not by time).
    pub interval: Duration,
}

impl Default for Cadence {
    fn default() -> Self {
        Cadence {
            bytes: DEFAULT_BYTES,
            interval: DEFAULT_INTERVAL,
        }
    }
}

/// The keyframe policy applied to one recording's message boundaries: the
/// first message gets a keyframe, then the first message starting after
/// [`Cadence::bytes`] of output or [`Cadence::interval`] with output since the
/// last keyframe, the first message starting after each resize and the first
/// after [`Schedule::want`]; each as soon as the output has paid for it
/// (see the module's budget: [`OUTPUT_PER_BYTE`], [`FIRST_CREDIT`],
/// [`MAX_KEYFRAME_LEN`]).
///
/// The caller asks [`Schedule::due`], takes the keyframe, and offers its
/// length ([`Schedule::offer`]), which says whether it may be written.
#[derive(Debug, Clone)]
pub struct Schedule {
    cadence: Cadence,
    /// `pos` and output offset of the last keyframe.
    last: Option<(u64, u64)>,
    resized: bool,
    wanted: bool,
    /// Keyframe credit, in 1/[`OUTPUT_PER_BYTE`] bytes, as of `paid_to`.
    credit: u64,
    /// The output offset up to which `credit` counts the output.
    paid_to: u64,
    /// The last refused keyframe: the credit at the time and its length.
    refused: Option<(u64, u64)>,
}

/// The most credit saved up, in 1/[`OUTPUT_PER_BYTE`] bytes: one largest
/// keyframe, so that a long quiet session cannot pay for a flood of them.
const MAX_CREDIT: u64 = MAX_KEYFRAME_LEN as u64 * OUTPUT_PER_BYTE;

impl Schedule {
    /// A schedule before the first message.
    pub fn new(cadence: Cadence) -> Schedule {
        Schedule {
            cadence,
            last: None,
            resized: false,
            wanted: false,
            credit: FIRST_CREDIT * OUTPUT_PER_BYTE,
            paid_to: 0,
            refused: None,
        }
    }

    /// The credit after `output` bytes of output.
    fn credit_at(&self, output: u64) -> u64 {
        self.credit
            .saturating_add(output.saturating_sub(self.paid_to))
            .min(MAX_CREDIT)
    }

    /// Whether the message starting at `pos` (milliseconds), after `output`
    /// bytes of output in the messages before it, should carry a keyframe:
    /// one is wanted, and the last one refused (if any) could be paid for now.
    pub fn due(&self, pos: u64, output: u64) -> bool {
        let wanted = match self.last {
            None => true,
            Some((last_pos, last_output)) => {
                let bytes = output.saturating_sub(last_output);
                let elapsed = Duration::from_millis(pos.saturating_sub(last_pos));
                self.resized
                    || self.wanted
                    || (self.cadence.bytes > 0 && bytes >= self.cadence.bytes)
                    || (!self.cadence.interval.is_zero()
                        && bytes > 0
                        && elapsed >= self.cadence.interval)
            }
        };
        wanted
            && self.refused.is_none_or(|(then, len)| {
                let now = self.credit_at(output);
                now >= len.saturating_mul(OUTPUT_PER_BYTE)
                    && now >= then.saturating_add(RETRY_STEP * OUTPUT_PER_BYTE)
            })
    }

    /// Offers a keyframe of `len` bytes for the message starting at `pos`,
    /// after `output` bytes of output. True: it is paid for and goes in the
    /// message. False: it would go over the budget (or [`MAX_KEYFRAME_LEN`]),
    /// so it must not be written; the keyframe stays due.
    pub fn offer(&mut self, pos: u64, output: u64, len: usize) -> bool {
        self.credit = self.credit_at(output);
        self.paid_to = self.paid_to.max(output);
        let cost = (len as u64).saturating_mul(OUTPUT_PER_BYTE);
        if len > MAX_KEYFRAME_LEN || cost > self.credit {
            self.refused = Some((self.credit, len as u64));
            return false;
        }
        self.credit -= cost;
        self.found(pos, output);
        true
    }

    /// Gives back what a keyframe of `len` bytes cost when it was not written
    /// after all (a rate limit dropped its message); one is wanted again.
    pub fn refund(&mut self, len: usize) {
        let cost = (len as u64).saturating_mul(OUTPUT_PER_BYTE);
        self.credit = self.credit.saturating_add(cost).min(MAX_CREDIT);
        self.wanted = true;
    }

    /// Notes that the message starting at `pos`, after `output` bytes of
    /// output, already carries a keyframe (one this schedule did not pay for).
    pub fn found(&mut self, pos: u64, output: u64) {
        self.last = Some((pos, output));
        self.resized = false;
        self.wanted = false;
        self.refused = None;
    }

    /// Notes that the screen changed size.
    pub fn resized(&mut self) {
        self.resized = true;
        // The screen is not the one refused, but a try still waits for output.
        if let Some((_, len)) = &mut self.refused {
            *len = 0;
        }
    }

    /// Asks for a keyframe on the next message whatever the cadence (after a
    /// gap in the recording, say).
    pub fn want(&mut self) {
        self.wanted = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes a keyframe of `len` bytes if due; whether one went in.
    fn step(s: &mut Schedule, pos: u64, output: u64, len: usize) -> bool {
        s.due(pos, output) && s.offer(pos, output, len)
    }

    #[test]
    fn first_message_then_bytes_time_and_resizes() {
        let mut s = Schedule::new(Cadence {
            bytes: 100,
            interval: Duration::from_secs(60),
        });
        assert!(s.due(0, 0));
        assert!(s.offer(0, 0, 10));
        assert!(!s.due(10, 99));
        assert!(s.due(10, 100));
        assert!(s.offer(10, 100, 10));
        // An hour without output: no keyframe.
        assert!(!s.due(3_600_000, 100));
        // With output, a minute is enough.
        assert!(!s.due(59_999, 101));
        assert!(s.due(60_010, 101));
        assert!(s.offer(60_010, 101, 10));
        s.resized();
        assert!(s.due(60_011, 101));
        assert!(s.offer(60_011, 101, 10));
        assert!(!s.due(60_012, 101));
        s.want();
        assert!(s.due(60_013, 101));
        s.found(60_013, 101);
        assert!(!s.due(60_014, 101));
    }

    #[test]
    fn zero_turns_a_criterion_off() {
        let mut s = Schedule::new(Cadence {
            bytes: 0,
            interval: Duration::ZERO,
        });
        s.found(0, 0);
        assert!(!s.due(u64::MAX, u64::MAX));
        s.resized();
        assert!(s.due(1, 1));
    }

    #[test]
    fn output_pays_for_keyframes_and_a_refused_one_waits() {
        let mut s = Schedule::new(Cadence {
            bytes: 1,
            interval: Duration::ZERO,
        });
        // The first credit pays for a first keyframe, not for two.
        assert!(step(&mut s, 0, 0, FIRST_CREDIT as usize - 100));
        assert!(!s.offer(1, 0, 200));
        // Refused: not due again until the output has paid for it, and
        // for another try.
        assert!(!s.due(2, 150));
        assert!(!s.due(2, 2 * RETRY_STEP - 1));
        assert!(s.due(3, 2 * RETRY_STEP));
        assert!(s.offer(3, 2 * RETRY_STEP, 200));
        // A resize makes a smaller screen worth a try, after output still.
        assert!(!s.offer(4, 2 * RETRY_STEP, 5000));
        s.resized();
        assert!(!s.due(5, 2 * RETRY_STEP + 10));
        assert!(s.due(5, 4 * RETRY_STEP));
        // Nothing over the largest keyframe, whatever the credit.
        let big = u64::MAX / 2;
        assert!(!s.offer(6, big, MAX_KEYFRAME_LEN + 1));
        assert!(s.offer(7, big + 4 * RETRY_STEP, MAX_KEYFRAME_LEN));
        // Saved-up credit stops at one largest keyframe.
        assert!(!s.offer(8, big + 4 * RETRY_STEP, 1));
    }

    #[test]
    fn a_keyframe_not_written_is_refunded_and_wanted_again() {
        let mut s = Schedule::new(Cadence::default());
        let len = FIRST_CREDIT as usize;
        assert!(step(&mut s, 0, 0, len));
        assert!(!s.due(1, 10));
        s.refund(len);
        assert!(s.due(1, 10));
        assert!(s.offer(1, 10, len));
    }

    #[test]
    fn sizes_are_cut_to_the_largest_screen() {
        assert_eq!(clamp_size(80, 24), (80, 24));
        assert_eq!(clamp_size(0, 0), (1, 1));
        assert_eq!(clamp_size(1024, 1024), (1024, 64));
        assert_eq!(clamp_size(u16::MAX, u16::MAX), (1024, 64));
        assert_eq!(clamp_size(256, 300), (256, 256));
        assert_eq!(clamp_size(1, u16::MAX), (1, 1024));
        for (c, r) in [(1000, 1000), (300, 300), (65535, 1), (7, 65535)] {
            let (c, r) = clamp_size(c, r);
            assert!(u32::from(c) * u32::from(r) <= MAX_SCREEN_CELLS);
        }
    }

    /// The fullest screen a stream can draw: both screens, every cell a
    /// different pen from its neighbour (all attributes against none, 24-bit
    /// colours), a 4-byte character and four combining marks in each, the
    /// title and icon name at their longest, all in control characters
    /// (6 bytes each in JSON).
    fn fullest(cols: u16, rows: u16) -> termtape_emu::Terminal {
        let mut t = termtape_emu::Terminal::new(cols, rows);
        let long = "\u{1}".repeat(4096);
        t.feed(format!("\x1b]1;{long}\x07\x1b]2;{long}\x07").as_bytes());
        let mut screen = String::new();
        for r in 0..u32::from(rows) {
            screen.push_str(&format!("\x1b[{};1H", r + 1));
            for c in 0..u32::from(cols) {
                let v = (r * 7 + c * 13) % 156 + 100;
                if (r + c) % 2 == 0 {
                    screen.push_str(&format!(
                        "\x1b[1;2;3;5;7;8;9;4:3;38;2;{v};{v};{v};48;2;{v};{v};{v}m"
                    ));
                } else {
                    screen.push_str(&format!(
                        "\x1b[0;38;2;1{};{v};{v};48;2;{v};1{};{v}m",
                        v % 100,
                        v % 100
                    ));
                }
                screen.push_str("\u{1D400}\u{20D0}\u{20D1}\u{20D2}\u{20D3}");
            }
        }
        t.feed(screen.as_bytes());
        t.feed(b"\x1b[?1049h");
        t.feed(screen.as_bytes());
        t
    }

    #[test]
    fn the_largest_screen_fits_in_the_largest_keyframe() {
        for (cols, rows) in [
            clamp_size(1024, 1024),
            clamp_size(256, 256),
            clamp_size(1, 1024),
        ] {
            let len = crate::Keyframe::capture(&fullest(cols, rows))
                .to_json()
                .len();
            assert!(
                len <= MAX_KEYFRAME_LEN,
                "{cols}x{rows}: a keyframe of {len} bytes"
            );
            // Bytes per cell of both screens: what README's bound states.
            let per_cell = len / (2 * usize::from(cols) * usize::from(rows));
            assert!(per_cell <= 128, "{cols}x{rows}: {per_cell} bytes per cell");
            eprintln!("{cols}x{rows}: fullest keyframe {len} bytes, {per_cell} per cell");
            // The first keyframe (a blank screen) fits in the first credit.
            let blank = termtape_emu::Terminal::new(cols, rows);
            assert!(crate::Keyframe::capture(&blank).to_json().len() as u64 <= FIRST_CREDIT);
        }
    }
}
