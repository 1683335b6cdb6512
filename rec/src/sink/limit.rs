//! Rate limiting of recorded messages, as tlog's: a token bucket over the
//! bytes of messages, refilled at `rate` bytes per second up to `burst`.
//!
//! What happens to a message beyond the limit is the configured action:
//! `pass` it anyway (no limit), `delay` until the bucket allows it (which
//! holds up the relay, and so the recorded program: nothing is lost), or
//! `drop` it. After drops, the next message that passes carries a `gap`
//! field — `{"messages":N,"bytes":M}` — so that readers know the missing ids
//! were dropped on purpose, and how much.

use std::io;
use std::time::Duration;

use termtape_format::Encoded;

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
    buf: Vec<u8>,
    /// Raised at each drop, for the recorder to put a keyframe on the
    /// message after the gap.
    on_drop: Option<GapSignal>,
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
            buf: Vec::new(),
            on_drop: None,
        }
    }

    /// Raises `signal` whenever a message is dropped.
    pub fn signal_drops(mut self, signal: GapSignal) -> Self {
        self.on_drop = Some(signal);
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

    fn write(&mut self, message: &Encoded<'_>) -> io::Result<()> {
        // The message as it would be written: with the gap mark, if any, so
        // that the mark counts against the limit too.
        let marked = self.dropped_messages > 0;
        if marked {
            let gap = format!(
                "{{\"messages\":{},\"bytes\":{}}}",
                self.dropped_messages, self.dropped_bytes
            );
            self.buf.clear();
            message.write_with_extra(&mut self.buf, &[("gap", &gap)]);
        }
        let size = if marked {
            self.buf.len()
        } else {
            message.json.len()
        } as f64;
        self.refill();
        if self.action != Action::Pass && self.tokens < size {
            if self.action == Action::Drop {
                self.dropped_messages += 1;
                self.dropped_bytes += message.json.len() as u64;
                if let Some(signal) = &self.on_drop {
                    signal.set(true);
                }
                return Ok(());
            }
            // A message larger than the burst waits for a full bucket.
            let need = size.min(self.burst as f64) - self.tokens;
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
        self.inner.write(&Encoded {
            json: &self.buf,
            ..*message
        })?;
        self.dropped_messages = 0;
        self.dropped_bytes = 0;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.inner.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    use crate::sink::Memory;

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

    fn message(id: u64, json: &str) -> Encoded<'_> {
        Encoded {
            id,
            pos: 0,
            time: 0,
            json: json.as_bytes(),
            input_end: 0,
            output_end: 0,
        }
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
