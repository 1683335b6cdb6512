//! `termtape play --raw`: a recording's output bytes, timed as recorded
//! (with `--original`, the bytes before charset conversion).

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use termtape_format::{Error, Location, Packet, Stream};

use crate::recording::{Query, ReadError, read_packets};

/// Playback settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Playback speed: 2.0 plays twice as fast.
    pub speed: f64,
    /// The longest pause played, if any; longer pauses are shortened to it.
    pub max_pause: Option<Duration>,
    /// Play only what came after this many milliseconds from the start (the
    /// first of it at once); the screen up to there is the caller's to show.
    pub after: Option<u64>,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            speed: 1.0,
            max_pause: None,
            after: None,
        }
    }
}

/// Writes the selected recording's output to `out`, each packet when it is
/// due: at its recorded time divided by the speed, counted from the first.
pub fn play_raw(
    input: impl BufRead,
    source: &str,
    query: &Query,
    timing: Timing,
    out: &mut impl Write,
    on_damage: impl FnMut(&Error),
) -> Result<(), ReadError> {
    play(input, source, query, timing, false, out, on_damage)
}

/// As [`play_raw`], but writes the original bytes of a session recorded in
/// a legacy charset (see [`crate::original`]): at the times of the packets
/// whose text they encode, or, where a message's original does not split
/// so, all at its first output packet.
pub fn play_raw_original(
    input: impl BufRead,
    source: &str,
    query: &Query,
    timing: Timing,
    out: &mut impl Write,
    on_damage: impl FnMut(&Error),
) -> Result<(), ReadError> {
    play(input, source, query, timing, true, out, on_damage)
}

fn play(
    input: impl BufRead,
    source: &str,
    query: &Query,
    timing: Timing,
    original: bool,
    out: &mut impl Write,
    on_damage: impl FnMut(&Error),
) -> Result<(), ReadError> {
    // The current message's original pieces not yet played.
    let mut pieces: VecDeque<Vec<u8>> = VecDeque::new();
    let mut current: Option<u64> = None;
    let started = Instant::now();
    // Recording time already played, and the recording time of the last packet.
    let mut played = Duration::ZERO;
    let mut last_at: Option<u64> = None;
    read_packets(
        input,
        source,
        query,
        |msg, t| {
            if original && current != Some(msg.id) {
                current = Some(msg.id);
                // Pieces of a message without output packets go out now.
                for piece in pieces.drain(..) {
                    out.write_all(&piece)?;
                }
                let at = Location {
                    source: Some(source.to_owned()),
                    line: 0,
                    id: Some(msg.id),
                };
                pieces = crate::original::output_pieces(msg, &at)?.into();
            }
            let Packet::Io {
                stream: Stream::Output,
                bytes,
            } = t.packet
            else {
                return Ok(());
            };
            let bytes = if original {
                pieces.pop_front().unwrap_or_default()
            } else {
                bytes
            };
            if timing.after.is_some_and(|after| t.at <= after) {
                return Ok(());
            }
            let gap = Duration::from_millis(t.at.saturating_sub(last_at.unwrap_or(t.at)));
            last_at = Some(t.at);
            let gap = timing.max_pause.map_or(gap, |max| gap.min(max));
            played = played.saturating_add(scaled(gap, timing.speed));
            let due = started + played;
            let now = Instant::now();
            if due > now {
                out.flush()?;
                std::thread::sleep(due - now);
            }
            out.write_all(&bytes)
        },
        on_damage,
    )?;
    for piece in pieces {
        out.write_all(&piece).map_err(ReadError::Output)?;
    }
    out.flush().map_err(ReadError::Output)
}

/// `gap` divided by `speed`, saturating instead of panicking on extremes.
fn scaled(gap: Duration, speed: f64) -> Duration {
    Duration::try_from_secs_f64(gap.as_secs_f64() / speed).unwrap_or(if speed > 0.0 {
        Duration::MAX
    } else {
        Duration::ZERO
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_never_panics() {
        assert_eq!(scaled(Duration::from_secs(2), 2.0), Duration::from_secs(1));
        assert_eq!(scaled(Duration::from_secs(2), 1e-300), Duration::MAX);
        assert_eq!(
            scaled(Duration::from_secs(2), f64::INFINITY),
            Duration::ZERO
        );
    }
}
