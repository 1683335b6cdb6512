//! When a keyframe is due.

use std::time::Duration;

/// Output bytes between keyframes by default: 256 KiB.
pub const DEFAULT_BYTES: u64 = 256 * 1024;

/// Time between keyframes by default (while there is output): 60 s.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

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
/// last keyframe, and the first message starting after each resize.
#[derive(Debug, Clone)]
pub struct Schedule {
    cadence: Cadence,
    /// `pos` and output offset of the last keyframe.
    last: Option<(u64, u64)>,
    resized: bool,
}

impl Schedule {
    /// A schedule before the first message.
    pub fn new(cadence: Cadence) -> Schedule {
        Schedule {
            cadence,
            last: None,
            resized: false,
        }
    }

    /// Whether the message starting at `pos` (milliseconds), after `output`
    /// bytes of output in the messages before it, should carry a keyframe.
    pub fn due(&self, pos: u64, output: u64) -> bool {
        let Some((last_pos, last_output)) = self.last else {
            return true;
        };
        let bytes = output.saturating_sub(last_output);
        let elapsed = Duration::from_millis(pos.saturating_sub(last_pos));
        self.resized
            || (self.cadence.bytes > 0 && bytes >= self.cadence.bytes)
            || (!self.cadence.interval.is_zero() && bytes > 0 && elapsed >= self.cadence.interval)
    }

    /// Notes that the message starting at `pos`, after `output` bytes of
    /// output, carries a keyframe.
    pub fn taken(&mut self, pos: u64, output: u64) {
        self.last = Some((pos, output));
        self.resized = false;
    }

    /// Notes that the screen changed size.
    pub fn resized(&mut self) {
        self.resized = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_message_then_bytes_time_and_resizes() {
        let mut s = Schedule::new(Cadence {
            bytes: 100,
            interval: Duration::from_secs(60),
        });
        assert!(s.due(0, 0));
        s.taken(0, 0);
        assert!(!s.due(10, 99));
        assert!(s.due(10, 100));
        s.taken(10, 100);
        // An hour without output: no keyframe.
        assert!(!s.due(3_600_000, 100));
        // With output, a minute is enough.
        assert!(!s.due(59_999, 101));
        assert!(s.due(60_010, 101));
        s.taken(60_010, 101);
        s.resized();
        assert!(s.due(60_011, 101));
        s.taken(60_011, 101);
        assert!(!s.due(60_012, 101));
    }

    #[test]
    fn zero_turns_a_criterion_off() {
        let mut s = Schedule::new(Cadence {
            bytes: 0,
            interval: Duration::ZERO,
        });
        s.taken(0, 0);
        assert!(!s.due(u64::MAX, u64::MAX));
        s.resized();
        assert!(s.due(1, 1));
    }
}
