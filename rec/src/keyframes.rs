//! Keyframes in the recording: an emulator follows the recorded output, and
//! the messages the schedule picks carry its state at their start.
//!
//! A keyframe must describe the state *before* its message's packets, as a
//! player replaying the messages before it would have it. But the encoder
//! only hands a message over once it is full, when more bytes may already
//! have gone in. So the emulator lags: the bytes given to the encoder wait
//! in a buffer, and each finished message first takes its keyframe (if due)
//! from the emulator as it stands, at the message's start, then moves the
//! emulator to the message's end ([`Encoded::output_end`]).
//!
//! Window sizes are applied where the messages put them: after the bytes
//! the encoder had taken in ([`termtape_format::Encoder::committed`]), not
//! after every byte given to it. They differ by a character the encoder
//! holds until its next bytes show whether it is complete; a player
//! replaying the messages feeds those bytes after the resize, and so does
//! this emulator (it matters: an invalid sequence shows as U+FFFD only once
//! the byte after it arrives, at the cursor of that moment).
//!
//! Keyframes are paid for by the output before them ([`Schedule::offer`]:
//! 4 KiB plus half the output, none over 16 MiB); one that is due but not
//! paid for is taken at a later message. A keyframe whose message a rate
//! limit dropped was not written, so its cost is refunded and a keyframe is
//! wanted again.

use std::collections::VecDeque;

use termtape_format::Encoded;
use termtape_keyframe::{Cadence, Keyframe, MAX_KEYFRAME_LEN, Schedule, Screen};

use crate::sink::GapSignal;

/// The emulator and schedule of one recording.
#[derive(Debug)]
pub(crate) struct Keyframes {
    /// The screen at the start of the message being filled.
    screen: Screen,
    /// Output bytes the encoder has been given and the screen has not.
    bytes: Vec<u8>,
    /// Window sizes the screen has not applied yet.
    windows: VecDeque<Window>,
    /// Output bytes the screen has been fed.
    fed: u64,
    /// Output bytes of the messages handed over: where the screen stands
    /// once it has been fed up to here (it is fed lazily, see
    /// [`LAZY_BYTES`]).
    reached: u64,
    schedule: Schedule,
    /// The last window size recorded, to tell a resize from a restatement.
    window: Option<(u16, u16)>,
    /// The latest keyframe, as JSON.
    kf: Vec<u8>,
    /// Raised when a rate limit dropped messages: the next message paid for
    /// gets a keyframe, so that playback shows the true screen after the gap.
    gap: Option<GapSignal>,
    /// The length of the keyframe on the message last handed over, if any.
    written: Option<usize>,
}

/// A window size, as the encoder recorded it.
#[derive(Debug)]
struct Window {
    cols: u16,
    rows: u16,
    /// The output bytes before it in the messages.
    after: u64,
    /// The message it is in.
    id: u64,
}

impl Keyframes {
    pub(crate) fn new(cadence: Cadence) -> Keyframes {
        Keyframes {
            screen: Screen::new(),
            bytes: Vec::new(),
            windows: VecDeque::new(),
            fed: 0,
            reached: 0,
            schedule: Schedule::new(cadence),
            window: None,
            kf: Vec::new(),
            gap: None,
            written: None,
        }
    }

    /// Puts a keyframe on the first message after each gap `signal` reports.
    pub(crate) fn follow_gaps(&mut self, signal: GapSignal) {
        self.gap = Some(signal);
    }

    /// Bytes of log the next keyframe may take, for space reservations:
    /// twice the last one's (screens change, sizes too).
    pub(crate) fn size_hint(&self) -> u64 {
        (2 * self.kf.len()).min(MAX_KEYFRAME_LEN) as u64
    }

    /// Output bytes about to go to the encoder.
    pub(crate) fn output(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// A window size the encoder has just taken into message `id` (its
    /// pending message), after `after` bytes of output
    /// ([`termtape_format::Encoder::committed`]).
    pub(crate) fn window(&mut self, cols: u16, rows: u16, id: u64, after: u64) {
        if self.window != Some((cols, rows)) {
            self.window = Some((cols, rows));
            self.windows.push_back(Window {
                cols,
                rows,
                after,
                id,
            });
        }
    }

    /// Called with each finished message, in order, before it is written:
    /// the `kf` value it carries, if one is due and paid for (see
    /// [`Schedule::offer`]). Moves the screen to the message's end.
    pub(crate) fn boundary(&mut self, m: &Encoded<'_>) -> Option<&str> {
        // The signal tells of the message before this one: if it was
        // dropped, so was its keyframe, which costs nothing then.
        let written = self.written.take();
        if self.gap.as_ref().is_some_and(|g| g.replace(false)) {
            match written {
                Some(len) => self.schedule.refund(len),
                None => self.schedule.want(),
            }
        }
        let mut taken = false;
        if self.schedule.due(m.pos, self.reached) {
            self.catch_up();
            // Before the first packet, the first window size (if it comes
            // before any output) sets the screen's size.
            let upcoming = self
                .windows
                .front()
                .filter(|w| w.after == 0)
                .map(|w| (w.cols, w.rows));
            self.kf.clear();
            Keyframe::capture(&self.screen.terminal(upcoming)).write_json(&mut self.kf);
            taken = self.schedule.offer(m.pos, self.reached, self.kf.len());
        }
        self.advance(m.id, m.output_end);
        if taken {
            self.written = Some(self.kf.len());
            std::str::from_utf8(&self.kf).ok()
        } else {
            None
        }
    }

    /// Takes in what message `id`, ending at `output_end`, holds: its
    /// window sizes are applied (after the output before them), its output
    /// is fed once [`LAZY_BYTES`] are waiting.
    fn advance(&mut self, id: u64, output_end: u64) {
        loop {
            let limit = match self.windows.front() {
                Some(w) => w.after.min(output_end),
                None => output_end,
            };
            self.reached = self.reached.max(limit);
            match self.windows.front() {
                Some(w) if w.after <= self.reached && w.id <= id => {
                    let (cols, rows) = (w.cols, w.rows);
                    self.windows.pop_front();
                    self.catch_up();
                    if self.screen.window(cols, rows) {
                        self.schedule.resized();
                    }
                }
                _ => break,
            }
        }
        if self.reached - self.fed >= LAZY_BYTES {
            self.catch_up();
        }
    }

    /// Feeds the screen the output of the messages handed over.
    fn catch_up(&mut self) {
        if self.reached == self.fed {
            // Nothing to feed: an untouched screen stays so (its size is
            // the first window's, when one comes before any output).
            return;
        }
        let to = usize::try_from(self.reached - self.fed)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        self.screen.output(&self.bytes[..to]);
        self.bytes.drain(..to);
        self.fed = self.reached;
    }
}

/// Output the screen may lag behind the messages handed over, in bytes.
///
/// The screen is looked at only for a keyframe (and a resize), so it is
/// fed in large pieces: most of a large piece of scrolling text scrolls
/// off inside it, and the emulator passes over what scrolls off without
/// drawing it (`termtape_emu`'s fast path for text that only scrolls).
/// Fed message by message, the last screenful of every message is drawn.
/// Feeding in pieces leaves the screen as feeding it all at once does.
const LAZY_BYTES: u64 = 256 * 1024;

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::io;
    use std::rc::Rc;
    use std::time::Duration;

    use proptest::prelude::*;
    use termtape_format::extension::Extended;
    use termtape_format::{Header, Location, Message, Packet, Stream};
    use termtape_keyframe::{
        FIELD, FIRST_CREDIT, Keyframe, MAX_KEYFRAME_LEN, OUTPUT_PER_BYTE, clamp_size,
    };

    use super::*;
    use crate::recorder::{Policy, Recorder};
    use crate::relay::Capture;
    use crate::sink::Sink;

    #[derive(Clone, Default)]
    struct Lines(Rc<RefCell<Vec<String>>>);

    impl Sink for Lines {
        fn reserve(&mut self, _bytes: u64) -> io::Result<()> {
            Ok(())
        }
        fn write(&mut self, m: &Extended<'_>) -> io::Result<()> {
            let mut buf = Vec::new();
            let line = m.file_form(&mut buf).map_err(io::Error::other)?;
            let line = String::from_utf8(line.to_vec()).map_err(io::Error::other)?;
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
        record_with(cadence, 100, events)
    }

    fn record_with(cadence: Option<Cadence>, payload: usize, events: &[Step<'_>]) -> Vec<Message> {
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
            payload,
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
                // As the recorder takes it: a window size before any
                // output (typed keys do not change the screen) sets the
                // screen's size.
                let upcoming = match packets.iter().find(|p| {
                    !matches!(
                        p,
                        Packet::Io {
                            stream: Stream::Input,
                            ..
                        }
                    )
                }) {
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
    fn a_resize_after_an_invalid_sequence_is_where_the_messages_put_it() {
        // The encoder holds the last E2 82 until the next byte shows it is
        // invalid; the window size goes before it in the messages, and a
        // replay prints its U+FFFD after the resize.
        let pairs: Vec<u8> = std::iter::repeat_n([0xe2, 0x82], 300).flatten().collect();
        let events: Vec<Step<'_>> = vec![
            (0, Some((63, 10)), b""),
            (1, None, &pairs),
            (2, Some((37, 9)), b""),
            (3, None, b"\x1b8\xacafter"),
            (4, Some((20, 5)), b""),
            (5, None, b"\xe2\x82"),
            (6, Some((21, 5)), b""),
            (7, None, b"\xe2\x82\xac"),
        ];
        let msgs = record(
            Some(Cadence {
                bytes: 50,
                interval: Duration::ZERO,
            }),
            &events,
        );
        let with = check(&msgs);
        assert!(with.len() >= 3, "keyframes on {with:?}");
    }

    #[test]
    fn a_screen_fed_lazily_holds_at_every_keyframe() {
        // Far more output than the screen lags by, in pieces of every
        // kind: scrolling lines (the emulator's fast path), colours, a
        // full-screen program, resizes in between.
        let seq: Vec<u8> = (0..60_000)
            .flat_map(|i| format!("{i}\r\n").into_bytes())
            .collect();
        let colours: Vec<u8> = (0..8_000)
            .flat_map(|i| format!("\x1b[0{};3{}mfile {i} é\x1b[0m\r\n", i % 2, i % 8).into_bytes())
            .collect();
        let events: Vec<Step<'_>> = vec![
            (0, Some((80, 24)), b""),
            (1, None, &seq[..200_000]),
            (2, None, &colours),
            (3, Some((100, 30)), b""),
            (4, None, &seq[200_000..]),
            (5, None, b"\x1b[?1049h\x1b[Hfull\x1b[?1049l"),
            (6, None, &colours[..100_000]),
            (7, Some((60, 20)), b""),
            (8, None, &seq[..300_000]),
        ];
        let msgs = record_with(
            Some(Cadence {
                bytes: 90_000,
                interval: Duration::ZERO,
            }),
            4096,
            &events,
        );
        let with = check(&msgs);
        assert!(with.len() >= 8, "keyframes on {with:?} of {}", msgs.len());
    }

    #[test]
    fn output_before_any_window_starts_at_the_default_size() {
        let msgs = record(
            Some(Cadence::default()),
            &[(0, None, b"no size yet"), (1, Some((40, 10)), b"")],
        );
        assert_eq!(check(&msgs), [1]);
    }

    /// A piece of a hostile session: what a user can print to make
    /// keyframes large or frequent.
    fn hostile() -> impl Strategy<Value = (Option<(u16, u16)>, Vec<u8>)> {
        let size = (1u16..=1100, 1u16..=1100).prop_map(|(c, r)| Some(clamp_size(c, r)));
        prop_oneof![
            // A resize, to any size the relay lets through (up to 1024x64, 256x256).
            3 => size.prop_map(|s| (s, Vec::new())),
            // Every cell its own colours, bold, italics and marks.
            3 => (0u32..3000, any::<u8>()).prop_map(|(cells, seed)| {
                let mut out = Vec::new();
                for i in 0..cells {
                    let v = seed.wrapping_add(i as u8);
                    out.extend_from_slice(format!(
                        "\x1b[{};38;2;{v};{};{}m\x1b[48;2;{};{v};7m{}\u{301}\u{302}",
                        1 + i % 9, v ^ 0x55, 255 - v, v / 3, char::from(b'!' + (i % 90) as u8)
                    ).as_bytes());
                }
                (None, out)
            }),
            // REP floods, plain and wide.
            2 => (0u16..4, prop::sample::select(vec!["A", "中", "\x1b(0q"])).prop_map(|(k, ch)| {
                let one = format!("{ch}\x1b[65535b");
                (None, one.repeat(usize::from(k) + 1).into_bytes())
            }),
            // Both screens full, the title at its longest.
            1 => Just((None, format!(
                "\x1b]2;{}\x07\x1b[?1049h\x1b[41m\x1b#8\x1b[?1049l\x1b[44m\x1b#8\x1b[?1049h",
                "\u{1b}".repeat(4000)
            ).into_bytes())),
            // A little output between resizes.
            2 => "[ -~]{0,64}".prop_map(|s| (None, s.into_bytes())),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Whatever a user prints and however the window changes, the
        /// keyframes written up to any message take at most FIRST_CREDIT
        /// plus half the output before that message, none is over
        /// MAX_KEYFRAME_LEN, and each holds the screen a replay shows.
        #[test]
        fn keyframes_stay_within_their_budget(
            steps in prop::collection::vec(hostile(), 1..40),
            payload in prop::sample::select(vec![100usize, 2048]),
            bytes in prop::sample::select(vec![1u64, 4096, 262_144]),
        ) {
            let events: Vec<Step<'_>> = steps
                .iter()
                .enumerate()
                .map(|(i, (w, b))| (i as u64, *w, b.as_slice()))
                .collect();
            let msgs = record_with(
                Some(Cadence { bytes, interval: Duration::from_secs(1) }),
                payload,
                &events,
            );
            let (mut output, mut spent, mut count) = (0u64, 0u64, 0);
            for msg in &msgs {
                if let Some(kf) = msg.extra(FIELD) {
                    let len = kf.get().len();
                    prop_assert!(len <= MAX_KEYFRAME_LEN);
                    spent += len as u64;
                    count += 1;
                    prop_assert!(
                        spent <= FIRST_CREDIT + output / OUTPUT_PER_BYTE,
                        "{} keyframe bytes after {} of output (message {})", spent, output, msg.id
                    );
                }
                output += msg.bytes(Stream::Output, &Location::default()).expect("decodes").len() as u64;
            }
            prop_assert!(count >= 1, "the first message has a keyframe");
            check(&msgs);
        }
    }
}
