//! `termtape play --raw`: a recording's output bytes, timed as recorded
//! (with `--original`, the bytes before charset conversion).

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use termtape_format::{Error, Location, Packet, Stream};

use crate::gap::Gap;
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

/// What the viewer asks for during raw playback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Stop playing.
    Quit,
    /// Pause, or go on.
    Pause,
    /// Twice as fast.
    Faster,
    /// Half as fast.
    Slower,
}

/// The viewer's keys during raw playback.
pub trait Keys {
    /// Waits at most `timeout` (`None`: until there is input) and returns
    /// the controls asked for meanwhile; other input is taken and ignored.
    fn wait(&mut self, timeout: Option<Duration>) -> std::io::Result<Vec<Control>>;
}

/// No keys (output is not a terminal): playback only waits.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoKeys;

impl Keys for NoKeys {
    fn wait(&mut self, timeout: Option<Duration>) -> std::io::Result<Vec<Control>> {
        // Without keys nothing pauses, so there is always a timeout.
        std::thread::sleep(timeout.unwrap_or(Duration::from_millis(100)));
        Ok(Vec::new())
    }
}

/// The slowest and fastest speeds the keys reach.
pub const SPEEDS: (f64, f64) = (1.0 / 1024.0, 1024.0);

/// Recording time by the wall clock, at a speed, paused or not.
struct Clock {
    /// Recording time (ms, pauses cut) at `since`.
    at: f64,
    since: Instant,
    speed: f64,
    paused: bool,
}

impl Clock {
    fn now(&self) -> f64 {
        if self.paused {
            self.at
        } else {
            self.at + self.since.elapsed().as_secs_f64() * 1000.0 * self.speed
        }
    }

    /// Starts counting again from now, as `f` changes the clock.
    fn change(&mut self, f: impl FnOnce(&mut Clock)) {
        self.at = self.now();
        self.since = Instant::now();
        f(self);
    }

    fn obey(&mut self, control: Control) {
        match control {
            Control::Quit => {}
            Control::Pause => self.change(|c| c.paused = !c.paused),
            Control::Faster => self.change(|c| c.speed = (c.speed * 2.0).min(SPEEDS.1)),
            Control::Slower => self.change(|c| c.speed = (c.speed / 2.0).max(SPEEDS.0)),
        }
    }

    /// Wall-clock time until recording time `target`, if running.
    fn until(&self, target: f64) -> Option<Duration> {
        if self.paused {
            return None;
        }
        let ms = ((target - self.now()) / self.speed).max(0.0);
        Some(Duration::try_from_secs_f64(ms / 1000.0).unwrap_or(Duration::MAX))
    }
}

/// Why playback ended early: the viewer quit.
#[derive(Debug)]
struct Quit;

impl std::fmt::Display for Quit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the viewer quit")
    }
}

impl std::error::Error for Quit {}

/// Where raw playback reports besides its output.
pub struct Reports<'a> {
    /// Each place where a rate limit dropped messages, when playback gets
    /// there.
    pub on_gap: &'a mut dyn FnMut(&Gap),
    /// Damage passed over.
    pub on_damage: &'a mut dyn FnMut(&Error),
}

/// Writes the selected recording's output to `out`, each packet when it is
/// due: at its recorded time divided by the speed, counted from the first.
/// `keys` pause, quit and change the speed while waiting; the output is
/// flushed before each wait and each report.
pub fn play_raw(
    input: impl BufRead,
    source: &str,
    query: &Query,
    timing: Timing,
    out: &mut impl Write,
    keys: &mut dyn Keys,
    reports: Reports<'_>,
) -> Result<(), ReadError> {
    play(input, source, query, timing, false, out, keys, reports)
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
    keys: &mut dyn Keys,
    reports: Reports<'_>,
) -> Result<(), ReadError> {
    play(input, source, query, timing, true, out, keys, reports)
}

#[allow(
    clippy::too_many_arguments,
    reason = "the two public forms' arguments, and which"
)]
fn play(
    input: impl BufRead,
    source: &str,
    query: &Query,
    timing: Timing,
    original: bool,
    out: &mut impl Write,
    keys: &mut dyn Keys,
    reports: Reports<'_>,
) -> Result<(), ReadError> {
    // The current message's original pieces not yet played.
    let mut pieces: VecDeque<Vec<u8>> = VecDeque::new();
    let mut current: Option<u64> = None;
    let mut clock = Clock {
        at: 0.0,
        since: Instant::now(),
        speed: timing.speed,
        paused: false,
    };
    // Recording time (pauses cut) of the next packet, and the recording
    // time of the last packet.
    let mut target = 0.0f64;
    let mut last_at: Option<u64> = None;
    let on_gap = reports.on_gap;
    let result = read_packets(
        input,
        source,
        query,
        |msg, t| {
            if current != Some(msg.id) {
                current = Some(msg.id);
                if let Some(gap) = Gap::of(msg)
                    && timing.after.is_none_or(|after| msg.pos > after)
                {
                    out.flush()?;
                    on_gap(&gap);
                }
                if original {
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
            target += gap.as_secs_f64() * 1000.0;
            // Keys are read before each packet, due or not, so that a
            // long burst of output can be paused or quit.
            let mut timeout = Some(Duration::ZERO);
            loop {
                let controls = keys.wait(timeout)?;
                if controls.contains(&Control::Quit) {
                    return Err(std::io::Error::other(Quit));
                }
                for control in controls {
                    clock.obey(control);
                }
                match clock.until(target) {
                    Some(wait) if wait.is_zero() => break,
                    wait => {
                        out.flush()?;
                        timeout = wait;
                    }
                }
            }
            out.write_all(&bytes)
        },
        reports.on_damage,
    );
    match result {
        Err(ReadError::Output(e)) if e.get_ref().is_some_and(|e| e.is::<Quit>()) => {
            return out.flush().map_err(ReadError::Output);
        }
        other => other?,
    }
    for piece in pieces {
        out.write_all(&piece).map_err(ReadError::Output)?;
    }
    out.flush().map_err(ReadError::Output)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys that answer each wait from a script, recording the timeouts.
    struct Script {
        answers: VecDeque<Vec<Control>>,
        timeouts: Vec<Option<Duration>>,
    }

    impl Keys for Script {
        fn wait(&mut self, timeout: Option<Duration>) -> std::io::Result<Vec<Control>> {
            self.timeouts.push(timeout);
            Ok(self.answers.pop_front().unwrap_or_default())
        }
    }

    fn script(answers: &[&[Control]]) -> Script {
        Script {
            answers: answers.iter().map(|a| a.to_vec()).collect(),
            timeouts: Vec::new(),
        }
    }

    const LOG: &str = concat!(
        r#"{"ver":"2.3","host":"h","rec":"r","user":"u","term":"xterm","session":1,"id":1,"pos":0,"#,
        r#""timing":">1+1>1","in_txt":"","in_bin":[],"out_txt":"ab","out_bin":[]}"#,
        "\n",
        r#"{"ver":"2.3","host":"h","rec":"r","user":"u","term":"xterm","session":1,"id":5,"pos":3,"#,
        r#""timing":">1","in_txt":"","in_bin":[],"out_txt":"c","out_bin":[],"gap":{"messages":3,"bytes":900}}"#,
        "\n",
    );

    fn run(keys: &mut dyn Keys) -> (Vec<u8>, Vec<Gap>) {
        let mut out = Vec::new();
        let mut gaps = Vec::new();
        play_raw(
            LOG.as_bytes(),
            "t",
            &Query::default(),
            Timing::default(),
            &mut out,
            keys,
            Reports {
                on_gap: &mut |g| gaps.push(g.clone()),
                on_damage: &mut |e| panic!("{e}"),
            },
        )
        .expect("plays");
        (out, gaps)
    }

    #[test]
    fn everything_plays_and_gaps_are_reported_where_they_are() {
        let (out, gaps) = run(&mut NoKeys);
        assert_eq!(out, b"abc");
        assert_eq!(gaps.len(), 1);
        assert_eq!((gaps[0].id, gaps[0].at, gaps[0].messages), (5, 3, 3));
    }

    #[test]
    fn quit_stops_playback() {
        let mut keys = script(&[&[], &[Control::Quit]]);
        let (out, _) = run(&mut keys);
        assert_eq!(out, b"a");
    }

    #[test]
    fn a_pause_waits_for_a_key_without_a_timeout() {
        let mut keys = script(&[&[Control::Pause], &[Control::Pause]]);
        let (out, _) = run(&mut keys);
        assert_eq!(out, b"abc");
        assert_eq!(keys.timeouts[..2], [Some(Duration::ZERO), None]);
    }

    #[test]
    fn the_clock_changes_speed_from_where_it_is_and_never_panics() {
        let mut clock = Clock {
            at: 1000.0,
            since: Instant::now(),
            speed: 1.0,
            paused: true,
        };
        assert_eq!(clock.until(2000.0), None);
        clock.obey(Control::Pause);
        clock.obey(Control::Faster);
        assert_eq!(clock.speed, 2.0);
        assert!(clock.until(3000.0).expect("running") <= Duration::from_secs(1));
        for _ in 0..20 {
            clock.obey(Control::Slower);
        }
        assert_eq!(clock.speed, SPEEDS.0);
        assert_eq!(clock.until(f64::INFINITY), Some(Duration::MAX));
        assert_eq!(clock.until(0.0), Some(Duration::ZERO));
    }
}
