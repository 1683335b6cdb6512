//! The recorder proper: turns what the relay captures into tlog messages and
//! hands them to a [`Sink`]. It does no I/O of its own and reads no clock:
//! time comes with each call, messages leave through the sink it is given,
//! so a test drives it with an in-memory sink and made-up times. Opening
//! one for this process (identity, configuration, writers, rate limit) is
//! [`crate::setup`]'s job.
//!
//! Flow of one read: [`Capture::output`] → charset conversion (a legacy
//! session's bytes to UTF-8, originals kept) → the emulator that keyframes
//! follow → `termtape_format::Encoder`, which cuts messages → the outlet
//! (extra fields, keyframe) → [`Sink::write`].
//!
//! Messages are cut as tlog cuts them: when the payload is full (by
//! `termtape_format::Encoder`) and when recorded data has waited for the
//! latency limit (here: [`Recorder::deadline`] and [`Recorder::tick`]).
//!
//! A session in a legacy charset is converted to UTF-8 before the encoder
//! (`termtape_charset`), and each of its messages carries extra fields that
//! tlog-play ignores: `charset` (the charset's name) and, where encoding the
//! message's text back would not give the original bytes exactly, `in_orig`
//! and `out_orig` (the message's original input and output bytes, as base64
//! of a zstd frame). A UTF-8 session takes none of this.
//!
//! Keyframes: an emulator follows the output, and the messages the
//! keyframe schedule picks carry a `kf` field with the screen's state at
//! their start (see `termtape_keyframe` and the `keyframes` module).

use std::io;
use std::time::Duration;

use termtape_charset::{Charset, Original, Packer, Transcoder};
use termtape_format::extension::{self, Extended, Field};
use termtape_format::{Encoded, Encoder, Exit, Header, Login, Origin, Stream};
use termtape_keyframe::Cadence;

use crate::keyframes::Keyframes;
use crate::redact::{InputRedaction, Item, Marks, Mode, Redactor};
use crate::relay::Capture;
use crate::sink::{GapSignal, Sink};

/// Why a recorder cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The encoder refused the header or the policy (a payload below the
    /// minimum).
    #[error(transparent)]
    Encoder(#[from] termtape_format::Error),
    /// The compressor for a legacy session's original bytes did not start.
    #[error(transparent)]
    Charset(#[from] termtape_charset::Error),
}

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
    /// How often keyframes are taken; `None`: never.
    pub keyframes: Option<Cadence>,
}

/// Encodes captured I/O into messages and writes them to a sink.
pub struct Recorder {
    encoder: Encoder,
    /// Where the encoder's finished messages go, and what they carry.
    out: Outlet,
    policy: Policy,
    /// The converted text of the latest read.
    text: String,
    /// The recording's id.
    rec: String,
    /// The session's origin, until the first message takes it.
    origin: Option<Origin>,
    /// How the session ended, for the last message.
    exit: Option<Exit>,
    /// What the terminal hides is left out of the input (see
    /// [`crate::redact`]); `None`: input is recorded as typed.
    redactor: Option<Box<Redactor>>,
    /// The session terminal's mode, as the relay last read it.
    mode: Mode,
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
    ) -> Result<Recorder, Error> {
        let encoder = Encoder::new(header, policy.payload, epoch)?;
        let keyframes = match policy.keyframes {
            Some(cadence) if policy.output => Some(Box::new(Keyframes::new(cadence))),
            _ => None,
        };
        Ok(Recorder {
            encoder,
            out: Outlet {
                sink,
                legacy: None,
                keyframes,
                logins: Vec::new(),
                fields: Vec::new(),
                marks: Marks::default(),
            },
            policy,
            text: String::new(),
            rec: header.rec.clone(),
            origin: None,
            exit: None,
            redactor: None,
            mode: Mode::UNKNOWN,
        })
    }

    /// Leaves out of the input what the terminal hides
    /// ([`InputRedaction::EchoOff`], what [`Recorder::open`] does unless
    /// configured otherwise), or records it all and says so on the first
    /// message ([`InputRedaction::None`], also the default of
    /// [`Recorder::new`]). Call before anything is recorded; matters only
    /// with input recorded.
    pub fn set_input_redaction(&mut self, redaction: InputRedaction) {
        self.out
            .fields
            .retain(|(name, _)| *name != termtape_format::INPUT_REDACTION_FIELD);
        self.redactor = None;
        if !self.policy.input {
            return;
        }
        match redaction {
            InputRedaction::EchoOff => self.redactor = Some(Box::default()),
            InputRedaction::None => self.out.fields.push((
                termtape_format::INPUT_REDACTION_FIELD,
                "\"none\"".to_owned(),
            )),
        }
    }

    /// Records the session as being in `charset`: converted to UTF-8, with
    /// the original bytes kept. Call before anything is recorded. UTF-8
    /// costs nothing.
    pub fn set_charset(&mut self, charset: Charset) -> Result<(), Error> {
        self.out.legacy = if charset.is_utf8() {
            None
        } else {
            Some(Box::new(Legacy::new(charset)?))
        };
        Ok(())
    }

    /// Puts a keyframe on the message after each gap `gap` reports (a rate
    /// limit that dropped messages), so that playback shows the true screen
    /// after it. Does nothing without keyframes.
    pub fn follow_gaps(&mut self, gap: GapSignal) {
        if let Some(keyframes) = &mut self.out.keyframes {
            keyframes.follow_gaps(gap);
        }
    }

    /// Where the session comes from: written as the first message's
    /// `origin` field (see `termtape_format::Origin`). Call before anything
    /// is recorded; [`Capture::opened`] adds the recording's terminal.
    pub fn set_origin(&mut self, origin: Origin) {
        self.origin = Some(origin);
    }

    /// The recording's id.
    pub fn rec(&self) -> &str {
        &self.rec
    }

    /// Marks a login nested in the session on the next message written
    /// (its `login` field); a message is made due if none is pending, so
    /// the mark is written within the latency limit or at the end.
    /// `event.at` is elapsed time, as every packet's; it is written as the
    /// position in the recording that readers compare with the packets'.
    pub fn mark_login(&mut self, mut event: Login) {
        let at = Duration::from_millis(event.at);
        self.encoder.touch(at);
        event.at = self.encoder.position(at);
        self.out.logins.push(event);
    }

    /// Puts the origin, if not written yet, on the next message: the first.
    fn take_origin(&mut self) {
        if let Some(origin) = self.origin.take() {
            self.out
                .fields
                .push((termtape_format::ORIGIN_FIELD, origin.field()));
        }
    }

    /// Room for what `len` bytes can become, plus the message pending,
    /// before they may reach the user.
    fn reserve(&mut self, len: usize) -> io::Result<()> {
        let overhead = 1024
            + self.policy.payload as u64
            + self.out.keyframes.as_ref().map_or(0, |k| k.size_hint());
        // An original adds at most its bytes, base64-encoded.
        let per_byte = WORST_BYTES_PER_BYTE + if self.out.legacy.is_some() { 2 } else { 0 };
        self.out.sink.reserve(len as u64 * per_byte + 2 * overhead)
    }

    /// Records what the redactor lets through.
    fn release(&mut self, item: Item<'_>) -> io::Result<()> {
        match item {
            Item::Input(at, bytes) => self.record(at, Stream::Input, bytes),
            Item::Output(at, bytes) if self.policy.output => self.record(at, Stream::Output, bytes),
            Item::Output(..) => Ok(()),
            Item::Redacted(at, keys) => {
                self.take_origin();
                // A message is made due, so the mark is written within
                // the latency limit.
                self.encoder.touch(at);
                let pos = self.encoder.position(at);
                let (input, output) = (
                    self.encoder.committed(Stream::Input),
                    self.encoder.committed(Stream::Output),
                );
                self.out.marks.add(pos, input, output, keys);
                Ok(())
            }
        }
    }

    /// Runs `step` with the redactor, which hands what it lets through to
    /// [`Recorder::release`].
    fn redacting(
        &mut self,
        step: impl FnOnce(
            &mut Redactor,
            Mode,
            &mut dyn FnMut(Item<'_>) -> io::Result<()>,
        ) -> io::Result<()>,
    ) -> io::Result<()> {
        let Some(mut redactor) = self.redactor.take() else {
            return Ok(());
        };
        let result = step(&mut redactor, self.mode, &mut |item| self.release(item));
        self.redactor = Some(redactor);
        result
    }

    fn record(&mut self, at: Duration, stream: Stream, bytes: &[u8]) -> io::Result<()> {
        self.take_origin();
        self.reserve(bytes.len())?;
        let bytes = match &mut self.out.legacy {
            None => bytes,
            Some(legacy) => {
                self.text.clear();
                self.text.push_str(legacy.transcoder(stream).decode(bytes));
                self.text.as_bytes()
            }
        };
        if stream == Stream::Output
            && let Some(keyframes) = &mut self.out.keyframes
        {
            keyframes.output(bytes);
        }
        self.encoder.io(at, stream, bytes, &mut self.out.emitter())
    }
}

/// What finished messages go through on their way to the sink: the
/// legacy conversion that adds the originals, the keyframe if one is due,
/// and the fields waiting for the next message.
struct Outlet {
    sink: Box<dyn Sink>,
    /// Conversion of a session not in UTF-8.
    legacy: Option<Box<Legacy>>,
    /// The emulator and the keyframe schedule (with output recorded).
    keyframes: Option<Box<Keyframes>>,
    /// Nested-login events for the next message's `login` field.
    logins: Vec<Login>,
    /// Fields for the next message: `origin` for the first, `exit` for the
    /// last (name, raw JSON value).
    fields: Vec<(&'static str, String)>,
    /// Redaction marks for the next message.
    marks: Marks,
}

impl Outlet {
    /// The callback the encoder hands each finished message to.
    fn emitter(&mut self) -> impl FnMut(Encoded<'_>) -> io::Result<()> + '_ {
        let Outlet {
            sink,
            legacy,
            keyframes,
            logins,
            fields,
            marks,
        } = self;
        move |m: Encoded<'_>| {
            let kf = keyframes.as_mut().and_then(|k| k.boundary(&m));
            let login = (!logins.is_empty()).then(|| Login::field(&std::mem::take(logins)));
            let login = login.as_deref().map(|l| Field::new(extension::LOGIN, l));
            let redacted = marks.field(m.input_end);
            let redacted = redacted
                .as_deref()
                .map(|r| Field::new(termtape_format::REDACTED_FIELD, r));
            let taken = std::mem::take(fields);
            let extra: Vec<Field<'_>> = [
                kf.map(|kf| Field::new(extension::KEYFRAME, kf)),
                login,
                redacted,
            ]
            .into_iter()
            .flatten()
            .chain(taken.iter().map(|(name, value)| Field::new(name, value)))
            .collect();
            match legacy.as_mut() {
                None => sink.write(&Extended {
                    message: m,
                    fields: &extra,
                }),
                Some(legacy) => legacy.write(sink.as_mut(), m, &extra),
            }
        }
    }
}

/// The conversion of a session not in UTF-8: both directions, and the
/// extra fields of each message.
struct Legacy {
    input: Transcoder,
    output: Transcoder,
    packer: Packer,
    /// The charset's name as a JSON string.
    name: String,
    in_orig: String,
    out_orig: String,
}

impl Legacy {
    fn new(charset: Charset) -> Result<Legacy, termtape_charset::Error> {
        let packer = Packer::new()?;
        Ok(Legacy {
            input: Transcoder::new(charset),
            output: Transcoder::new(charset),
            packer,
            // Charset names are ASCII letters, digits, '-' and '_'.
            name: format!("\"{}\"", charset.name()),
            in_orig: String::new(),
            out_orig: String::new(),
        })
    }

    fn transcoder(&mut self, stream: Stream) -> &mut Transcoder {
        match stream {
            Stream::Input => &mut self.input,
            Stream::Output => &mut self.output,
        }
    }

    /// Writes `m` with the charset's name, the originals it needs and its
    /// keyframe, if any.
    fn write(&mut self, sink: &mut dyn Sink, m: Encoded<'_>, more: &[Field<'_>]) -> io::Result<()> {
        pack(
            &mut self.input,
            m.input_end,
            &mut self.packer,
            &mut self.in_orig,
        )?;
        pack(
            &mut self.output,
            m.output_end,
            &mut self.packer,
            &mut self.out_orig,
        )?;
        let mut extra = vec![Field::new(extension::CHARSET, &self.name)];
        for (name, field) in [
            (extension::IN_ORIG, &self.in_orig),
            (extension::OUT_ORIG, &self.out_orig),
        ] {
            if !field.is_empty() {
                extra.push(Field::new(name, field));
            }
        }
        extra.extend_from_slice(more);
        sink.write(&Extended {
            message: m,
            fields: &extra,
        })
    }
}

/// Takes the original of the message ending at `end` of `t`'s text into
/// `field` (a JSON string), or leaves `field` empty if the text gives it.
fn pack(t: &mut Transcoder, end: u64, packer: &mut Packer, field: &mut String) -> io::Result<()> {
    field.clear();
    if let Original::Bytes(bytes) = t.take(end) {
        field.push('"');
        packer.pack(bytes, field).map_err(io::Error::other)?;
        field.push('"');
    }
    Ok(())
}

impl Capture for Recorder {
    fn clock_zero(&mut self, wall: Duration) {
        self.encoder.set_epoch(wall);
    }

    fn window(&mut self, at: Duration, cols: u16, rows: u16) -> io::Result<()> {
        self.take_origin();
        if !self.policy.window {
            return Ok(());
        }
        self.encoder
            .window(at, cols, rows, &mut self.out.emitter())?;
        if let Some(keyframes) = &mut self.out.keyframes {
            keyframes.window(
                cols,
                rows,
                self.encoder.next_id(),
                self.encoder.committed(Stream::Output),
            );
        }
        Ok(())
    }

    fn input(&mut self, at: Duration, bytes: &[u8]) -> io::Result<()> {
        if !self.policy.input {
            return Ok(());
        }
        if self.redactor.is_some() {
            return self.redacting(|r, mode, emit| r.input(at, mode, bytes, emit));
        }
        self.record(at, Stream::Input, bytes)
    }

    fn output(&mut self, at: Duration, bytes: &[u8]) -> io::Result<()> {
        if let Some(redactor) = &self.redactor {
            // Output waiting behind held keys has its room now: it is
            // shown now.
            let queued = redactor.queued();
            if self.policy.output && queued > 0 {
                self.reserve(queued + bytes.len())?;
            }
            return self.redacting(|r, mode, emit| r.output(at, mode, bytes, emit));
        }
        if !self.policy.output {
            return Ok(());
        }
        self.record(at, Stream::Output, bytes)
    }

    fn deadline(&self) -> Option<Duration> {
        let encoder = self
            .encoder
            .pending_since()
            .map(|since| since + self.policy.latency);
        let held = self.redactor.as_ref().and_then(|r| r.deadline());
        encoder.into_iter().chain(held).min()
    }

    fn watches_mode(&self) -> bool {
        self.redactor.is_some()
    }

    fn mode(&mut self, mode: Mode) {
        self.mode = mode;
    }

    fn tick(&mut self, now: Duration) -> io::Result<()> {
        self.redacting(|r, mode, emit| r.tick(now, mode, emit))?;
        if self.deadline().is_some_and(|due| now >= due) {
            self.encoder.flush(&mut self.out.emitter())?;
        }
        Ok(())
    }

    fn finish(&mut self, at: Duration) -> io::Result<()> {
        self.redacting(|r, mode, emit| r.finish(mode, emit))?;
        if let Some(legacy) = &mut self.out.legacy {
            // A character left incomplete becomes U+FFFD, and bytes that made
            // no text need a message to carry them.
            let tails = [
                (Stream::Input, legacy.input.finish().to_owned()),
                (Stream::Output, legacy.output.finish().to_owned()),
            ];
            let drained = legacy.input.is_drained() && legacy.output.is_drained();
            if let Some(keyframes) = &mut self.out.keyframes {
                keyframes.output(tails[1].1.as_bytes());
            }
            let mut emit = self.out.emitter();
            for (stream, tail) in tails {
                self.encoder.io(at, stream, tail.as_bytes(), &mut emit)?;
            }
            if !drained {
                self.encoder.touch(at);
            }
        }
        self.encoder.cut(&mut self.out.emitter())?;
        self.take_origin();
        if let Some(exit) = self.exit.take() {
            // The last message says how the session ended: one is made due
            // if nothing is pending.
            self.out
                .fields
                .push((termtape_format::EXIT_FIELD, exit.field()));
            self.encoder.touch(at);
        }
        self.encoder.flush(&mut self.out.emitter())?;
        self.out.sink.finish()
    }

    fn opened(&mut self, pty: &str) {
        if let Some(origin) = &mut self.origin {
            origin.pty = Some(pty.to_owned());
        }
    }

    fn ended(&mut self, exit: Exit) {
        self.exit = Some(exit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use termtape_format::{Location, Message};

    use crate::sink::Memory;

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
            keyframes: None,
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

    fn parse(lines: &[String]) -> Vec<Message> {
        lines
            .iter()
            .map(|l| Message::parse(l.trim_end(), &Location::default()).expect("valid"))
            .collect()
    }

    /// The original bytes of `stream` in `msgs`, restored as the player does.
    fn originals(msgs: &[Message], stream: Stream) -> Vec<u8> {
        let mut out = Vec::new();
        for m in msgs {
            let name: String =
                serde_json::from_str(m.extra("charset").expect("charset").get()).expect("string");
            let charset = Charset::for_name(&name).expect("known");
            let field = if stream == Stream::Input {
                "in_orig"
            } else {
                "out_orig"
            };
            let packed: Option<String> = m
                .extra(field)
                .map(|v| serde_json::from_str(v.get()).expect("string"));
            let text = m.bytes(stream, &Location::default()).expect("decodes");
            let text = String::from_utf8(text).expect("UTF-8");
            termtape_charset::restore(charset, &text, packed.as_deref(), &mut out)
                .expect("restores");
        }
        out
    }

    #[test]
    fn koi8r_sessions_record_utf8_text_and_originals_only_where_needed() {
        let (mut rec, memory) = recorder(Policy {
            input: true,
            payload: 100,
            ..policy()
        });
        rec.set_charset(Charset::for_name("KOI8-R").expect("known"))
            .expect("charset");
        rec.window(Duration::ZERO, 80, 24).expect("ok");
        let output: Vec<u8> = b"\xf0\xd2\xc9\xd7\xc5\xd4, \xcd\xc9\xd2!\r\n"
            .iter()
            .copied()
            .cycle()
            .take(600)
            .chain(*b"hard sign: \xff\r\n")
            .collect();
        for (i, chunk) in output.chunks(37).enumerate() {
            rec.output(Duration::from_millis(i as u64 * 3), chunk)
                .expect("ok");
        }
        rec.input(Duration::from_millis(500), b"\xc4\xc1\r")
            .expect("ok");
        rec.finish(Duration::from_millis(600)).expect("ok");
        let msgs = parse(&memory.0.borrow());
        assert!(msgs.len() > 5);
        let text: String = msgs.iter().map(|m| m.out_txt.as_str()).collect();
        assert!(text.starts_with("Привет, мир!\r\nПривет"), "{text}");
        assert!(msgs.iter().all(|m| m.out_bin.is_empty()));
        let kept = msgs
            .iter()
            .filter(|m| m.extra("out_orig").is_some())
            .count();
        assert_eq!(kept, 0, "every KOI8-R byte is a character of its own");
        assert_eq!(
            msgs.iter().map(|m| m.in_txt.as_str()).collect::<String>(),
            "да\r"
        );
        assert_eq!(originals(&msgs, Stream::Output), output);
        assert_eq!(originals(&msgs, Stream::Input), b"\xc4\xc1\r");
    }

    #[test]
    fn bytes_without_text_at_the_end_get_a_message() {
        let (mut rec, memory) = recorder(policy());
        rec.set_charset(Charset::for_name("ISO-2022-JP").expect("known"))
            .expect("charset");
        rec.window(Duration::ZERO, 80, 24).expect("ok");
        rec.output(Duration::ZERO, b"\x1b$BF|K\\\x1b(B\r\n")
            .expect("ok");
        rec.tick(Duration::from_secs(20)).expect("ok");
        // An escape that switches to JIS-Roman: no text, and the last bytes.
        rec.output(Duration::from_secs(21), b"\x1b(J").expect("ok");
        rec.finish(Duration::from_secs(22)).expect("ok");
        let msgs = parse(&memory.0.borrow());
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].out_txt, "日本\r\n");
        assert_eq!(msgs[1].timing, "=80x24");
        assert_eq!(
            originals(&msgs, Stream::Output),
            b"\x1b$BF|K\\\x1b(B\r\n\x1b(J"
        );
    }

    #[test]
    fn utf8_sessions_have_no_extra_fields() {
        let (mut rec, memory) = recorder(policy());
        rec.set_charset(Charset::UTF_8).expect("charset");
        rec.output(Duration::ZERO, "Привет \u{ff}".as_bytes())
            .expect("ok");
        rec.finish(Duration::ZERO).expect("ok");
        let msgs = parse(&memory.0.borrow());
        assert!(msgs.iter().all(|m| m.extra.is_empty()));
    }

    #[test]
    fn a_nested_login_mark_is_placed_in_the_recordings_time_not_the_callers() {
        // The session's first packet comes 30 ms after the caller's zero
        // (the shell is being started): positions count from it.
        let (mut rec, memory) = recorder(policy());
        rec.window(Duration::from_millis(30), 80, 24).expect("ok");
        let login = Login {
            n: 1,
            at: 100,
            user: Some("bob".into()),
            ..Login::default()
        };
        rec.mark_login(login.clone());
        rec.output(Duration::from_millis(100), b"bob's shell\r\n")
            .expect("ok");
        rec.finish(Duration::from_millis(200)).expect("ok");
        let msgs = parse(&memory.0.borrow());
        let marked = msgs
            .iter()
            .find_map(|m| m.extra(termtape_format::LOGIN_FIELD))
            .expect("marked");
        let marks = Login::parse_field(marked.get()).expect("valid");
        assert_eq!(marks, vec![Login { at: 70, ..login }]);
        // The output the login showed is at the same position, not before.
        let mut shown = None;
        for m in &msgs {
            m.decode(&Default::default(), |t| {
                if matches!(t.packet, termtape_format::Packet::Io { .. }) {
                    shown.get_or_insert(t.at);
                }
            })
            .expect("decodes");
        }
        assert_eq!(shown, Some(70));
    }

    #[test]
    fn a_nested_login_mark_rides_on_the_next_message_even_when_idle() {
        let (mut rec, memory) = recorder(policy());
        rec.window(Duration::ZERO, 80, 24).expect("ok");
        rec.output(Duration::from_millis(5), b"$ ").expect("ok");
        rec.tick(Duration::from_secs(11)).expect("ok");
        let start = Login {
            n: 1,
            at: 12_000,
            user: Some("bob".into()),
            ..Login::default()
        };
        rec.mark_login(start.clone());
        // Nothing else happens: the mark alone makes a message due.
        assert_eq!(rec.deadline(), Some(Duration::from_millis(22_000)));
        rec.finish(Duration::from_secs(13)).expect("ok");
        let msgs = parse(&memory.0.borrow());
        assert_eq!(msgs.len(), 2);
        assert!(msgs[0].extra(termtape_format::LOGIN_FIELD).is_none());
        let field = msgs[1].extra(termtape_format::LOGIN_FIELD).expect("marked");
        assert_eq!(Login::parse_field(field.get()).expect("valid"), vec![start]);
        assert_eq!(msgs[1].pos, 12_000);
    }

    #[test]
    fn the_origin_rides_on_the_first_message_and_the_exit_on_the_last() {
        let (mut rec, memory) = recorder(policy());
        rec.set_origin(Origin {
            tty: Some("/dev/pts/1".into()),
            command: Some(vec!["make".into()]),
            ..Origin::default()
        });
        rec.opened("/dev/pts/4");
        rec.window(Duration::ZERO, 80, 24).expect("ok");
        rec.output(Duration::from_millis(5), b"one").expect("ok");
        rec.tick(Duration::from_secs(11)).expect("ok");
        rec.output(Duration::from_secs(12), b"two").expect("ok");
        rec.tick(Duration::from_secs(23)).expect("ok");
        // Nothing pending at the end: a message is made for the exit.
        rec.ended(Exit::Code(2));
        rec.finish(Duration::from_secs(30)).expect("ok");
        let msgs = parse(&memory.0.borrow());
        assert_eq!(msgs.len(), 3);
        let at = Location::default();
        let origin = msgs[0].origin(&at).expect("valid").expect("origin");
        assert_eq!(origin.pty.as_deref(), Some("/dev/pts/4"));
        assert_eq!(origin.tty.as_deref(), Some("/dev/pts/1"));
        assert!(msgs[1].extra.is_empty());
        assert_eq!(msgs[2].exit(&at).expect("valid"), Some(Exit::Code(2)));
        assert_eq!(msgs[2].pos, 30_000);
        assert!(
            msgs[..2]
                .iter()
                .all(|m| m.exit(&at).expect("valid").is_none())
        );
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
