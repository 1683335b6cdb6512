//! Rate limiting of recorded messages, as tlog's: a token bucket over the
//! bytes of messages, refilled at `rate` bytes per second up to `burst`.
//!
//! What happens to a message beyond the limit is the configured action:
//! `pass` it anyway (no limit), `delay` until the bucket allows it (which
//! holds up the relay, and so the recorded program: nothing is lost), or
//! `drop` it. After drops, the next message that passes carries a `gap`
//! field — `{"messages":N,"bytes":M}` — so that readers know the missing ids
//! were dropped on purpose, and how much; if the recording ends in a drop,
//! a last message with no data carries it (written whatever the bucket
//! holds: a few hundred bytes).
//!
//! A message larger than the burst (one with a big keyframe) waits for, or
//! passes on, a full bucket and leaves it in debt: written bytes stay
//! within rate × time + the burst + one such message. The recorder refuses
//! a burst smaller than a message without a keyframe
//! ([`check_burst`]): nothing would ever pass.

use std::io;
use std::time::Duration;

use termtape_format::Encoded;
use termtape_format::extension::{self, Extended, Field};

use super::Sink;

/// What to do with a message beyond the rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Write it anyway.
    Pass,
    /// Wait until it is within the limit, then write it.
    Delay,
    /// Do not write it; mark the gap on the next message written.
    Drop,
}

/// A clock for the limiter: the elapsed time, and a way to wait.
pub trait Clock {
    /// Time elapsed since some fixed start.
    fn now(&mut self) -> Duration;
    /// Waits for `d`.
    fn sleep(&mut self, d: Duration);
}

/// The system's monotonic clock.
#[derive(Debug)]
pub struct SystemClock(std::time::Instant);

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock(std::time::Instant::now())
    }
}

impl Clock for SystemClock {
    fn now(&mut self) -> Duration {
        self.0.elapsed()
    }
    fn sleep(&mut self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// A [`Sink`] that limits the rate of another.
pub struct RateLimit<S, C = SystemClock> {
    inner: S,
    clock: C,
    rate: u64,
    burst: u64,
    action: Action,
    /// Bytes the bucket holds now.
    tokens: f64,
    last: Duration,
    dropped_messages: u64,
    dropped_bytes: u64,
    /// The last message dropped (tlog's fields), for the message that
    /// closes a recording ending in a drop.
    last_dropped: Vec<u8>,
    /// Its fields that the closing message keeps: the charset's name and
    /// how the session ended.
    last_dropped_fields: Vec<(String, String)>,
    last_dropped_at: Option<LastDropped>,
    /// Raised at each drop, for the recorder to put a keyframe on the
    /// message after the gap.
    on_drop: Option<GapSignal>,
    /// Bytes a writer after the limit adds to each message, and to a
    /// message after a gap (the hash chain's link and seal).
    added: (u64, u64),
}

/// Where the last message dropped ended.
#[derive(Debug, Clone, Copy)]
struct LastDropped {
    id: u64,
    pos: u64,
    time: u64,
    input_end: u64,
    output_end: u64,
}

/// Fails unless a message of up to `message` bytes (without a keyframe) can
/// pass a rate limit with bursts of `burst` bytes: with a smaller burst every
/// message would be dropped or held for good.
pub fn check_burst(burst: u64, message: u64) -> io::Result<()> {
    if burst >= message {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "the rate limit's burst ({burst} bytes, --limit-burst or [limit] burst) is smaller \
             than one message ({message} bytes with this payload): no message could pass; \
             raise the burst to {message} or more, or lower the payload"
        ),
    ))
}

/// Raised when a rate limit drops a message; lowered by whoever acts on it
/// (the recorder, which then puts a keyframe on the next message so that
/// playback shows the true screen after the gap).
pub type GapSignal = std::rc::Rc<std::cell::Cell<bool>>;

impl<S: Sink, C: Clock> RateLimit<S, C> {
    /// Limits `inner` to `rate` bytes per second with bursts of `burst`
    /// bytes; the bucket starts full.
    pub fn new(inner: S, rate: u64, burst: u64, action: Action, mut clock: C) -> Self {
        let last = clock.now();
        RateLimit {
            inner,
            clock,
            rate,
            burst,
            action,
            tokens: burst as f64,
            last,
            dropped_messages: 0,
            dropped_bytes: 0,
            last_dropped: Vec::new(),
            last_dropped_fields: Vec::new(),
            last_dropped_at: None,
            on_drop: None,
            added: (0, 0),
        }
    }

    /// Raises `signal` whenever a message is dropped.
    pub fn signal_drops(mut self, signal: GapSignal) -> Self {
        self.on_drop = Some(signal);
        self
    }

    /// Counts `per_message` more bytes for each message, and
    /// `per_gap` more for the message after a gap: what the writer after
    /// the limit adds (the hash chain, see [`super::Chained`]), so that the
    /// log stays within the limit.
    pub fn count_added(mut self, per_message: u64, per_gap: u64) -> Self {
        self.added = (per_message, per_gap);
        self
    }

    fn refill(&mut self) {
        let now = self.clock.now();
        let elapsed = now.saturating_sub(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate as f64).min(self.burst as f64);
    }
}

impl<S: Sink, C: Clock> Sink for RateLimit<S, C> {
    fn reserve(&mut self, bytes: u64) -> io::Result<()> {
        self.inner.reserve(bytes)
    }

    fn write(&mut self, message: &Extended<'_>) -> io::Result<()> {
        // The message as it would be written: with the gap mark, if any, so
        // that the mark counts against the limit too.
        let marked = self.dropped_messages > 0;
        let mark = match marked {
            true => gap(self.dropped_messages, self.dropped_bytes),
            false => String::new(),
        };
        let mut fields = Vec::new();
        if marked {
            fields.reserve(message.fields.len() + 1);
            fields.extend_from_slice(message.fields);
            fields.push(Field::new(extension::GAP, &mark));
        }
        let with_gap = Extended {
            message: message.message,
            fields: &fields,
        };
        let size = if marked {
            with_gap.file_len() as u64 + self.added.0 + self.added.1
        } else {
            message.file_len() as u64 + self.added.0
        } as f64;
        self.refill();
        // A message larger than the burst needs a full bucket.
        let needed = size.min(self.burst as f64);
        if self.action != Action::Pass && self.tokens < needed {
            if self.action == Action::Drop {
                let m = &message.message;
                self.dropped_messages += 1;
                self.dropped_bytes += message.file_len() as u64;
                self.last_dropped.clear();
                self.last_dropped.extend_from_slice(m.json);
                // The charset's name stays: every message of a legacy
                // session has it; so does how the session ended, which
                // rides on the last message.
                self.last_dropped_fields.clear();
                self.last_dropped_fields.extend(
                    message
                        .fields
                        .iter()
                        .filter(|f| f.name == extension::CHARSET || f.name == extension::EXIT)
                        .map(|f| (f.name.to_owned(), f.value.to_owned())),
                );
                self.last_dropped_at = Some(LastDropped {
                    id: m.id,
                    pos: m.pos,
                    time: m.time,
                    input_end: m.input_end,
                    output_end: m.output_end,
                });
                if let Some(signal) = &self.on_drop {
                    signal.set(true);
                }
                return Ok(());
            }
            let need = needed - self.tokens;
            if need > 0.0 && self.rate > 0 {
                self.clock
                    .sleep(Duration::from_secs_f64(need / self.rate as f64));
            }
            self.refill();
        }
        self.tokens -= size;
        if !marked {
            return self.inner.write(message);
        }
        self.inner.write(&with_gap)?;
        self.dropped_messages = 0;
        self.dropped_bytes = 0;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.dropped_messages > 0 {
            self.close_gap()?;
        }
        self.inner.finish()
    }
}

impl<S: Sink, C: Clock> RateLimit<S, C> {
    /// Writes the message after the last one dropped, with no data, to carry
    /// the gap: otherwise nothing would say that the recording's end was
    /// dropped.
    fn close_gap(&mut self) -> io::Result<()> {
        let Some(at) = self.last_dropped_at else {
            return Ok(());
        };
        // The last dropped message, emptied: tlog's fields, without
        // extension fields (those kept are beside it).
        let plain = super::chain::emptied(&self.last_dropped, at.id + 1)?;
        let gap = gap(self.dropped_messages, self.dropped_bytes);
        let fields: Vec<Field<'_>> = self
            .last_dropped_fields
            .iter()
            .map(|(name, value)| Field::new(name, value))
            .chain([Field::new(extension::GAP, &gap)])
            .collect();
        let closing = Encoded {
            id: at.id + 1,
            pos: at.pos,
            time: at.time,
            json: &plain,
            input_end: at.input_end,
            output_end: at.output_end,
        };
        self.inner.write(&Extended {
            message: closing,
            fields: &fields,
        })?;
        self.dropped_messages = 0;
        self.dropped_bytes = 0;
        Ok(())
    }
}

/// The value of the gap mark.
fn gap(messages: u64, bytes: u64) -> String {
    format!("{{\"messages\":{messages},\"bytes\":{bytes}}}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    use crate::sink::Memory;
    use termtape_format::{Location, Message};

    /// A clock that only moves when told to, or when slept on.
    #[derive(Clone, Default)]
    struct Manual(Rc<RefCell<Duration>>);

    impl Clock for Manual {
        fn now(&mut self) -> Duration {
            *self.0.borrow()
        }
        fn sleep(&mut self, d: Duration) {
            *self.0.borrow_mut() += d;
        }
    }

    fn message(id: u64, json: &str) -> Extended<'_> {
        Extended::plain(Encoded {
            id,
            pos: 0,
            time: 0,
            json: json.as_bytes(),
            input_end: 0,
            output_end: 0,
        })
    }

    /// A message of exactly 100 bytes.
    const M: &str = concat!(
        "{\"x\":\"",
        "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890",
        "\"}\n"
    );

    #[test]
    fn drop_keeps_within_rate_and_marks_the_gap() {
        let (memory, clock) = (Memory::default(), Manual::default());
        // 100 bytes per second, bursts of 200: two messages of 100 pass.
        let mut limit = RateLimit::new(memory.clone(), 100, 200, Action::Drop, clock.clone());
        assert_eq!(M.len(), 100);
        for id in 1..=5 {
            limit.write(&message(id, M)).expect("write");
        }
        assert_eq!(memory.0.borrow().len(), 2);
        // The marked message is longer than 100 bytes: two seconds refill
        // enough for it.
        *clock.0.borrow_mut() += Duration::from_secs(2);
        limit.write(&message(6, M)).expect("write");
        let written = memory.0.borrow();
        assert_eq!(written.len(), 3);
        assert!(
            written[2].ends_with(",\"gap\":{\"messages\":3,\"bytes\":300}}\n"),
            "{}",
            written[2]
        );
    }

    /// A tlog message of recording "r" with `out` as its output.
    fn tlog(id: u64, pos: u64, out: &str) -> String {
        Message {
            ver: "2.3".into(),
            host: "h".into(),
            rec: Some("r".into()),
            user: "u".into(),
            term: "xterm".into(),
            session: 1,
            id,
            pos,
            time: Some(1_700_000_000_000 + pos),
            timing: format!(">{}", out.len()),
            in_txt: String::new(),
            in_bin: Vec::new(),
            out_txt: out.into(),
            out_bin: Vec::new(),
            extra: Vec::new(),
        }
        .to_json()
    }

    fn encoded(id: u64, json: &str) -> Extended<'_> {
        Extended::plain(Encoded {
            id,
            pos: id * 10,
            time: 0,
            json: json.as_bytes(),
            input_end: 0,
            output_end: id * 100,
        })
    }

    #[test]
    fn a_recording_ending_in_a_drop_gets_a_message_carrying_the_gap() {
        let (memory, clock) = (Memory::default(), Manual::default());
        let msgs: Vec<String> = (1..=6)
            .map(|id| tlog(id, id * 10, &"x".repeat(100)))
            .collect();
        let len = msgs[0].len() as u64;
        let mut limit = RateLimit::new(memory.clone(), 1, 2 * len, Action::Drop, clock.clone());
        for (id, m) in (1..).zip(&msgs) {
            limit.write(&encoded(id, m)).expect("write");
        }
        assert_eq!(memory.0.borrow().len(), 2);
        limit.finish().expect("finish");
        let written = memory.0.borrow();
        assert_eq!(written.len(), 3, "{written:?}");
        let last = Message::parse(written[2].trim_end(), &Location::default()).expect("tlog");
        assert_eq!(last.id, 7);
        assert_eq!(last.pos, 60);
        assert_eq!(last.dropped_messages(), Some(4));
        assert!(last.timing.is_empty() && last.out_txt.is_empty());
        assert_eq!(
            last.extra("gap").map(|v| v.get().to_owned()),
            Some(format!("{{\"messages\":4,\"bytes\":{}}}", 4 * len))
        );
    }

    #[test]
    fn a_recording_ending_without_a_drop_gets_no_extra_message() {
        let memory = Memory::default();
        let m = tlog(1, 0, "x");
        let mut limit = RateLimit::new(memory.clone(), 1, 1000, Action::Drop, Manual::default());
        limit.write(&encoded(1, &m)).expect("write");
        limit.finish().expect("finish");
        assert_eq!(memory.0.borrow().len(), 1);
    }

    #[test]
    fn a_message_over_the_burst_passes_on_a_full_bucket_and_leaves_a_debt() {
        let (memory, clock) = (Memory::default(), Manual::default());
        // 100 bytes per second, bursts of 100: a 300-byte message (a big
        // keyframe) passes when the bucket is full, then nothing for 3 s.
        let mut limit = RateLimit::new(memory.clone(), 100, 100, Action::Drop, clock.clone());
        let big = M.repeat(3);
        limit.write(&message(1, &big)).expect("write");
        limit.write(&message(2, M)).expect("write");
        assert_eq!(memory.0.borrow().len(), 1);
        *clock.0.borrow_mut() += Duration::from_millis(2900);
        limit.write(&message(3, M)).expect("write");
        assert_eq!(memory.0.borrow().len(), 1);
        *clock.0.borrow_mut() += Duration::from_secs(2);
        limit.write(&message(4, M)).expect("write");
        assert_eq!(memory.0.borrow().len(), 2);
    }

    #[test]
    fn a_burst_smaller_than_a_message_is_refused() {
        assert!(check_burst(2400, 2400).is_ok());
        let err = check_burst(100, 2400).expect_err("refused");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("burst (100 bytes"), "{err}");
        assert!(err.to_string().contains("2400"), "{err}");
    }

    #[test]
    fn delay_writes_everything_at_the_rate() {
        let (memory, clock) = (Memory::default(), Manual::default());
        let mut limit = RateLimit::new(memory.clone(), 100, 100, Action::Delay, clock.clone());
        for id in 1..=5 {
            limit.write(&message(id, M)).expect("write");
        }
        assert_eq!(memory.0.borrow().len(), 5);
        // The first fills the burst; four more wait a second each.
        assert_eq!(*clock.0.borrow(), Duration::from_secs(4));
    }

    #[test]
    fn pass_never_waits_or_drops() {
        let (memory, clock) = (Memory::default(), Manual::default());
        let mut limit = RateLimit::new(memory.clone(), 1, 1, Action::Pass, clock.clone());
        for id in 1..=5 {
            limit.write(&message(id, M)).expect("write");
        }
        assert_eq!(memory.0.borrow().len(), 5);
        assert_eq!(*clock.0.borrow(), Duration::ZERO);
    }
}
