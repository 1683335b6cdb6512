//! The recorder proper: turns what the relay captures into tlog messages and
//! hands them to a [`Sink`].
//!
//! Messages are cut as tlog cuts them: when the payload is full (by
//! `termtape_format::Encoder`) and when recorded data has waited for the
//! latency limit (here: [`Recorder::deadline`] and [`Recorder::tick`]).

use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use termtape_format::{Encoded, Encoder, Header, Stream};

use crate::config::{Config, Writer};
use crate::identity;
use crate::relay::Capture;
use crate::sink::{FileSink, JournalSink, MAX_MESSAGE_LEN, Sink, SyslogSink};

/// What is recorded and how messages are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Record what the user types.
    pub input: bool,
    /// Record what the command writes.
    pub output: bool,
    /// Record window sizes.
    pub window: bool,
    /// The longest time recorded data waits before its message is written.
    pub latency: Duration,
    /// The payload budget per message.
    pub payload: usize,
}

impl From<&Config> for Policy {
    fn from(c: &Config) -> Self {
        Policy {
            input: c.log_input,
            output: c.log_output,
            window: c.log_window,
            latency: c.latency,
            payload: c.payload,
        }
    }
}

/// Encodes captured I/O into messages and writes them to a sink.
pub struct Recorder {
    encoder: Encoder,
    sink: Box<dyn Sink>,
    policy: Policy,
}

/// The largest message, serialised, that one byte of input can grow into:
/// an invalid byte is a U+FFFD (3 bytes), its value and a comma in the
/// binary array (4) and its share of timing records.
const WORST_BYTES_PER_BYTE: u64 = 10;

impl Recorder {
    /// A recorder for `header`'s recording. `epoch` is the wall-clock time
    /// (since the Unix epoch) at which the relay's elapsed time is zero.
    pub fn new(
        header: &Header,
        policy: Policy,
        epoch: Duration,
        sink: Box<dyn Sink>,
    ) -> io::Result<Recorder> {
        let encoder = Encoder::new(header, policy.payload, epoch)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        Ok(Recorder {
            encoder,
            sink,
            policy,
        })
    }

    /// The recorder `config` asks for: this process' identity, the
    /// configured writer, time counted from now.
    pub fn open(config: &Config) -> io::Result<Recorder> {
        let header = identity::current()?;
        let mut policy = Policy::from(config);
        let sink: Box<dyn Sink> = match &config.writer {
            Writer::File(path) => Box::new(FileSink::open(path)?),
            Writer::Journal { priority, cockpit } => {
                // Cockpit lists journal entries whose sender is named
                // tlog-rec; journald takes the name from the process.
                let identifier = if *cockpit {
                    rustix::thread::set_name(c"tlog-rec")?;
                    "tlog-rec"
                } else {
                    "termtape"
                };
                policy.payload = policy.payload.min(journal_payload(&header)?);
                Box::new(JournalSink::new(&header, *priority, identifier))
            }
            Writer::Syslog { priority } => Box::new(SyslogSink::connect(
                std::path::Path::new("/dev/log"),
                crate::sink::AUTHPRIV + priority,
                "termtape",
            )?),
        };
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Recorder::new(&header, policy, epoch, sink)
    }

    fn record(&mut self, at: Duration, stream: Stream, bytes: &[u8]) -> io::Result<()> {
        // Room for what these bytes can become, plus the message pending,
        // before they may reach the user.
        let overhead = 1024 + self.policy.payload as u64;
        self.sink
            .reserve(bytes.len() as u64 * WORST_BYTES_PER_BYTE + 2 * overhead)?;
        let sink = &mut self.sink;
        self.encoder
            .io(at, stream, bytes, &mut |m: Encoded<'_>| sink.write(&m))
    }
}

/// The largest payload whose messages keep the journal's MESSAGE field
/// readable by Cockpit ([`MAX_MESSAGE_LEN`]).
fn journal_payload(header: &Header) -> io::Result<usize> {
    let overhead = termtape_format::max_message_len(header, 0);
    MAX_MESSAGE_LEN
        .checked_sub(overhead)
        .filter(|&p| p >= termtape_format::MIN_PAYLOAD)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "host, user, term and recording id are too long for journal messages",
            )
        })
}

impl Capture for Recorder {
    fn window(&mut self, at: Duration, cols: u16, rows: u16) -> io::Result<()> {
        if !self.policy.window {
            return Ok(());
        }
        let sink = &mut self.sink;
        self.encoder
            .window(at, cols, rows, &mut |m: Encoded<'_>| sink.write(&m))
    }

    fn input(&mut self, at: Duration, bytes: &[u8]) -> io::Result<()> {
        if !self.policy.input {
            return Ok(());
        }
        self.record(at, Stream::Input, bytes)
    }

    fn output(&mut self, at: Duration, bytes: &[u8]) -> io::Result<()> {
        if !self.policy.output {
            return Ok(());
        }
        self.record(at, Stream::Output, bytes)
    }

    fn deadline(&self) -> Option<Duration> {
        self.encoder
            .pending_since()
            .map(|since| since + self.policy.latency)
    }

    fn tick(&mut self, now: Duration) -> io::Result<()> {
        if self.deadline().is_some_and(|due| now >= due) {
            let sink = &mut self.sink;
            self.encoder.flush(&mut |m: Encoded<'_>| sink.write(&m))?;
        }
        Ok(())
    }

    fn finish(&mut self, _at: Duration) -> io::Result<()> {
        let sink = &mut self.sink;
        let mut emit = |m: Encoded<'_>| sink.write(&m);
        self.encoder.cut(&mut emit)?;
        self.encoder.flush(&mut emit)?;
        self.sink.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;
    use termtape_format::{Location, Message};

    /// Collects messages in memory, for tests.
    #[derive(Clone, Default)]
    struct Memory(Rc<RefCell<Vec<String>>>);

    impl Sink for Memory {
        fn reserve(&mut self, _bytes: u64) -> io::Result<()> {
            Ok(())
        }
        fn write(&mut self, m: &Encoded<'_>) -> io::Result<()> {
            self.0
                .borrow_mut()
                .push(String::from_utf8_lossy(m.json).into_owned());
            Ok(())
        }
        fn finish(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn recorder(policy: Policy) -> (Recorder, Memory) {
        let header = Header {
            host: "h".into(),
            rec: "r".into(),
            user: "u".into(),
            term: "t".into(),
            session: 1,
        };
        let memory = Memory::default();
        let rec = Recorder::new(
            &header,
            policy,
            Duration::from_secs(1000),
            Box::new(memory.clone()),
        )
        .expect("recorder");
        (rec, memory)
    }

    fn policy() -> Policy {
        Policy {
            input: false,
            output: true,
            window: true,
            latency: Duration::from_secs(10),
            payload: 2048,
        }
    }

    #[test]
    fn latency_cuts_a_message_and_input_is_off_by_default() {
        let (mut rec, memory) = recorder(policy());
        rec.window(Duration::ZERO, 80, 24).expect("ok");
        rec.output(Duration::from_millis(5), b"hello").expect("ok");
        rec.input(Duration::from_millis(6), b"secret").expect("ok");
        assert_eq!(rec.deadline(), Some(Duration::from_millis(10_000)));
        rec.tick(Duration::from_millis(9_999)).expect("ok");
        assert!(memory.0.borrow().is_empty());
        rec.tick(Duration::from_millis(10_000)).expect("ok");
        assert_eq!(memory.0.borrow().len(), 1);
        rec.output(Duration::from_millis(20_000), b"bye")
            .expect("ok");
        rec.finish(Duration::from_millis(20_001)).expect("ok");
        let lines = memory.0.borrow();
        let msgs: Vec<Message> = lines
            .iter()
            .map(|l| Message::parse(l.trim_end(), &Location::default()).expect("valid"))
            .collect();
        assert_eq!(msgs[0].timing, "=80x24+5>5");
        assert_eq!(msgs[0].in_txt, "");
        assert_eq!(msgs[1].timing, "=80x24>3");
        assert_eq!(msgs[1].pos, 20_000);
    }

    #[test]
    fn disabled_window_and_output_are_not_recorded() {
        let (mut rec, memory) = recorder(Policy {
            window: false,
            output: false,
            input: true,
            ..policy()
        });
        rec.window(Duration::ZERO, 80, 24).expect("ok");
        rec.output(Duration::ZERO, b"shown").expect("ok");
        rec.input(Duration::ZERO, b"typed").expect("ok");
        rec.finish(Duration::ZERO).expect("ok");
        let lines = memory.0.borrow();
        let m = Message::parse(lines[0].trim_end(), &Location::default()).expect("valid");
        assert_eq!(
            (m.timing.as_str(), m.in_txt.as_str(), m.out_txt.as_str()),
            ("<5", "typed", "")
        );
    }
}
