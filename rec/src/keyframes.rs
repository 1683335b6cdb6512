//! Keyframes in the recording: an emulator follows the recorded output, and
//! the messages the schedule picks carry its state at their start.
//!
//! A keyframe must describe the state *before* its message's packets, but
//! the encoder only hands a message over once it is full, when more bytes
//! may already have gone in. So the emulator lags: the bytes and window
//! sizes given to the encoder wait in a queue, and each finished message
//! first takes its keyframe (if due) from the emulator as it stands, at the
//! message's start, then moves the emulator to the message's end
//! ([`Encoded::output_end`]). The queue holds at most a message's worth.

use std::collections::VecDeque;

use termtape_format::Encoded;
use termtape_keyframe::{Cadence, Keyframe, Schedule, Screen};

use crate::sink::GapSignal;

/// The emulator and schedule of one recording.
#[derive(Debug)]
pub(crate) struct Keyframes {
    /// The screen at the start of the message being filled.
    screen: Screen,
    /// What the encoder has taken that the screen has not.
    queue: VecDeque<Event>,
    /// Output bytes the screen has been fed.
    fed: u64,
    schedule: Schedule,
    /// The last window size recorded, to tell a resize from a restatement.
    window: Option<(u16, u16)>,
    /// The latest keyframe, as JSON.
    kf: Vec<u8>,
    /// Raised when a rate limit dropped messages: the next message gets a
    /// keyframe, so that playback shows the true screen after the gap.
    gap: Option<GapSignal>,
}

#[derive(Debug)]
enum Event {
    /// Output bytes, as the encoder got them.
    Output(Vec<u8>),
    /// A window size, in the message with this id.
    Window { cols: u16, rows: u16, id: u64 },
}

impl Keyframes {
    pub(crate) fn new(cadence: Cadence) -> Keyframes {
        Keyframes {
            screen: Screen::new(),
            queue: VecDeque::new(),
            fed: 0,
            schedule: Schedule::new(cadence),
            window: None,
            kf: Vec::new(),
            gap: None,
        }
    }

    /// Puts a keyframe on the first message after each gap `signal` reports.
    pub(crate) fn follow_gaps(&mut self, signal: GapSignal) {
        self.gap = Some(signal);
    }

    /// Bytes of log the next keyframe may take, for space reservations:
    /// twice the last one's (screens change, sizes too).
    pub(crate) fn size_hint(&self) -> u64 {
        2 * self.kf.len() as u64
    }

    /// Output bytes about to go to the encoder.
    pub(crate) fn output(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        match self.queue.back_mut() {
            Some(Event::Output(queued)) => queued.extend_from_slice(bytes),
            _ => self.queue.push_back(Event::Output(bytes.to_vec())),
        }
    }

    /// A window size the encoder has just taken into message `id` (its
    /// pending message).
    pub(crate) fn window(&mut self, cols: u16, rows: u16, id: u64) {
        if self.window != Some((cols, rows)) {
            self.window = Some((cols, rows));
            self.queue.push_back(Event::Window { cols, rows, id });
        }
    }

    /// Called with each finished message, in order, before it is written:
    /// the `kf` value it carries, if one is due. Moves the screen to the
    /// message's end.
    pub(crate) fn boundary(&mut self, m: &Encoded<'_>) -> Option<&str> {
        let after_gap = self.gap.as_ref().is_some_and(|g| g.replace(false));
        let due = after_gap || self.schedule.due(m.pos, self.fed);
        if due {
            let upcoming = match self.queue.front() {
                Some(Event::Window { cols, rows, .. }) => Some((*cols, *rows)),
                _ => None,
            };
            self.kf.clear();
            Keyframe::capture(&self.screen.terminal(upcoming)).write_json(&mut self.kf);
            self.schedule.taken(m.pos, self.fed);
        }
        self.advance(m.id, m.output_end);
        if due {
            std::str::from_utf8(&self.kf).ok()
        } else {
            None
        }
    }

    /// Applies what message `id`, ending at `output_end`, holds.
    fn advance(&mut self, id: u64, output_end: u64) {
        let mut rest = VecDeque::with_capacity(self.queue.len());
        let mut stopped = false;
        while let Some(event) = self.queue.pop_front() {
            if stopped {
                rest.push_back(event);
                continue;
            }
            match event {
                Event::Output(mut bytes) => {
                    let room = usize::try_from(output_end.saturating_sub(self.fed))
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    self.screen.output(&bytes[..room]);
                    self.fed += room as u64;
                    if room < bytes.len() {
                        // The rest is a character the encoder holds until
                        // its last bytes come: nothing shows of it yet, so
                        // a window size after it may go first.
                        bytes.drain(..room);
                        rest.push_back(Event::Output(bytes));
                    }
                }
                Event::Window { cols, rows, id: at } if at <= id => {
                    if self.screen.window(cols, rows) {
                        self.schedule.resized();
                    }
                }
                window @ Event::Window { .. } => {
                    rest.push_back(window);
                    stopped = true;
                }
            }
        }
        self.queue = rest;
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::io;
    use std::rc::Rc;
    use std::time::Duration;

    use termtape_format::{Header, Location, Message, Packet};
    use termtape_keyframe::{FIELD, Keyframe};

    use super::*;
    use crate::chunk::{Policy, Recorder};
    use crate::relay::Capture;
    use crate::sink::Sink;

    #[derive(Clone, Default)]
    struct Lines(Rc<RefCell<Vec<String>>>);

    impl Sink for Lines {
        fn reserve(&mut self, _bytes: u64) -> io::Result<()> {
            Ok(())
        }
        fn write(&mut self, m: &Encoded<'_>) -> io::Result<()> {
            let line = String::from_utf8(m.json.to_vec()).map_err(io::Error::other)?;
            self.0.borrow_mut().push(line);
            Ok(())
        }
        fn finish(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// At a time in ms: a window size, or else output bytes.
    type Step<'a> = (u64, Option<(u16, u16)>, &'a [u8]);

    fn record(cadence: Option<Cadence>, events: &[Step<'_>]) -> Vec<Message> {
        let header = Header {
            host: "h".into(),
            rec: "r".into(),
            user: "u".into(),
            term: "xterm".into(),
            session: 1,
        };
        let lines = Lines::default();
        let policy = Policy {
            input: true,
            output: true,
            window: true,
            latency: Duration::from_secs(10),
            payload: 100,
            keyframes: cadence,
        };
        let mut rec = Recorder::new(&header, policy, Duration::ZERO, Box::new(lines.clone()))
            .expect("recorder");
        for &(ms, window, bytes) in events {
            let at = Duration::from_millis(ms);
            rec.tick(at).expect("tick");
            match window {
                Some((cols, rows)) => rec.window(at, cols, rows).expect("window"),
                None => rec.output(at, bytes).expect("output"),
            }
            rec.input(at, b"k").expect("input");
        }
        rec.finish(Duration::from_secs(1000)).expect("finish");
        let lines = lines.0.borrow();
        lines
            .iter()
            .map(|l| Message::parse(l.trim_end(), &Location::default()).expect("valid"))
            .collect()
    }

    /// Checks every keyframe against a replay of the messages before it;
    /// returns the ids of the messages with one.
    fn check(msgs: &[Message]) -> Vec<u64> {
        let mut screen = Screen::new();
        let mut with = Vec::new();
        for msg in msgs {
            let mut packets = Vec::new();
            msg.decode(&Location::default(), |t| packets.push(t.packet))
                .expect("decodes");
            if let Some(kf) = msg.extra(FIELD) {
                with.push(msg.id);
                let upcoming = match packets.first() {
                    Some(Packet::Window { cols, rows }) => Some((*cols, *rows)),
                    _ => None,
                };
                let kf = Keyframe::parse(kf.get(), &Location::default()).expect("keyframe");
                let expected = screen.terminal(upcoming);
                let restored = kf.restore();
                assert_eq!(
                    restored.diff(&expected),
                    None,
                    "keyframe of message {}",
                    msg.id
                );
            }
            for p in &packets {
                screen.apply(p);
            }
        }
        with
    }

    #[test]
    fn keyframes_hold_the_screen_at_their_message_start() {
        let lines: Vec<u8> = (0..30)
            .flat_map(|i| format!("\x1b[3{}mline {i} €\r\n", i % 8).into_bytes())
            .collect();
        let (a, b) = lines.split_at(101);
        // "€" is E2 82 AC: cut inside it, with a resize in between.
        let euro = "€".as_bytes();
        let events: Vec<Step<'_>> = vec![
            (0, Some((20, 5)), b""),
            (1, None, a),
            (2, None, b),
            (3, None, &euro[..1]),
            (4, Some((30, 6)), b""),
            (5, None, &euro[1..]),
            (6, None, b"\x1b[?1049h\x1b[H\x1b[2Jfull screen\x1b[5;3r"),
            (7, None, &lines),
            (8, Some((30, 6)), b""),
            (9, Some((10, 4)), b""),
            (70_000, None, b"\x1b[?1049l after"),
        ];
        let msgs = record(
            Some(Cadence {
                bytes: 300,
                interval: Duration::from_secs(60),
            }),
            &events,
        );
        let with = check(&msgs);
        assert_eq!(with.first(), Some(&1));
        assert!(with.len() >= 4, "keyframes on {with:?} of {}", msgs.len());
        // The message after the last resize, a minute later, has one.
        assert_eq!(with.last().copied(), msgs.last().map(|m| m.id));
        // Without keyframes, the same messages, field for field.
        let plain = record(None, &events);
        let stripped: Vec<Message> = msgs
            .iter()
            .cloned()
            .map(|mut m| {
                m.extra.clear();
                m
            })
            .collect();
        assert_eq!(stripped, plain);
    }

    #[test]
    fn output_before_any_window_starts_at_the_default_size() {
        let msgs = record(
            Some(Cadence::default()),
            &[(0, None, b"no size yet"), (1, Some((40, 10)), b"")],
        );
        assert_eq!(check(&msgs), [1]);
    }
}
