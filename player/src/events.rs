//! `termtape events`: a recording from a moment on, as JSON lines for other
//! programs (a web player renders them with xterm.js).
//!
//! First comes the screen at or before the moment, as the VT sequences that
//! draw it on a fresh terminal of its size (a `keyframe` object), then every
//! event after it in order: output, input, resizes, gaps a rate limit left,
//! nested logins, the exit, and last an `end` object. Applying the events
//! whose `at` is at or before the moment to the keyframe's screen gives the
//! screen at the moment (what `termtape screen --at` prints); the rest
//! plays on from there.
//!
//! The keyframe is found through [`Source::keyframe_before`], so starting
//! anywhere in a file or the journal reads a few pages; a recording without
//! keyframes (or a pipe) is replayed from its start up to the moment and
//! the screen there is sent instead, which the object says (`from`). Memory
//! is bounded by one message and one screen, whatever the recording's size.
//!
//! Text is carried exactly as recorded: output and input as JSON strings
//! when they are UTF-8 (a legacy charset was converted to UTF-8 when it was
//! recorded), else as an array of byte values. JSON escaping makes any
//! control sequence in them inert until a terminal emulator is given it.

use std::io::{self, Read};

use serde_json::{Value, json};
use termtape_emu::{MAX_COLS, MAX_ROWS};
use termtape_format::{Error, Location, Message, Packet, Stream, Timed};
use termtape_keyframe::{FIELD, Keyframe, Screen};

use crate::gap::Gap;
use crate::recording::{Query, ReadError, choose, read_packets};
use crate::seek::{At, Reason, filter_for, place, unusable_keyframe};
use crate::source::{Filter, Keyed, Position, Source};

/// The version of the JSON objects written (their `"v"`): raised when a
/// field changes meaning or goes away; new fields and new `type`s may come
/// without it, and readers pass over what they do not know.
pub const JSON_VERSION: u64 = 1;

/// What to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The moment whose screen comes first.
    pub at: At,
    /// Stop after this moment (events after it are not sent).
    pub until: Option<At>,
}

/// Why the events stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The recording's last message said how it ended.
    Exit,
    /// Past [`Span::until`].
    Until,
    /// The source has no more messages of it.
    Eof,
}

impl End {
    fn name(self) -> &'static str {
        match self {
            End::Exit => "exit",
            End::Until => "to",
            End::Eof => "eof",
        }
    }
}

/// The name of a reason to replay, as the `keyframe` object gives it.
fn reason_name(reason: Reason) -> &'static str {
    match reason {
        Reason::NotAFile => "stream",
        Reason::NoKeyframes => "no_keyframes",
        Reason::NotAlone => "selected",
        Reason::Damage => "damage",
    }
}

/// Sends the recording `query` selects from `span.at` on, each object to
/// `out` (a closed output ends it: its error comes back as
/// [`ReadError::Output`]). With the query's filter following (the journal),
/// it waits for more until the recording ends or `out` fails. Damage goes
/// to `on_damage` when the query passes over it; otherwise it ends the
/// events with an error naming the source, line and message.
pub fn events(
    source: &dyn Source,
    query: &Query,
    span: Span,
    out: &mut dyn FnMut(&Value) -> io::Result<()>,
    on_damage: &mut dyn FnMut(&Error),
) -> Result<End, ReadError> {
    let query = &choose(source, query)?;
    if source.is_stream() {
        return stream(
            source,
            query,
            Start::Replay(Reason::NotAFile),
            span,
            out,
            on_damage,
        );
    }
    let at = span.at.resolve(source, query)?;
    let span = Span {
        at,
        until: span.until.map(|u| u.resolve(source, query)).transpose()?,
    };
    let plain = Filter {
        follow: false,
        ..query.filter.clone()
    };
    let reason = if plain == filter_for(query) {
        match source.keyframe_before(query, ms(at), on_damage)? {
            Keyed::At(kf) => {
                match stream(
                    source,
                    query,
                    Start::Keyframe(kf.position.clone()),
                    span,
                    out,
                    on_damage,
                ) {
                    Err(ReadError::Output(e))
                        if e.get_ref().is_some_and(|e| e.is::<Unusable>()) =>
                    {
                        if let Some(Unusable(Some(e))) = e
                            .into_inner()
                            .and_then(|e| e.downcast::<Unusable>().ok())
                            .map(|b| *b)
                        {
                            on_damage(&e);
                        }
                        Reason::Damage
                    }
                    Err(ReadError::Format(e)) => {
                        return Err(ReadError::Format(from_start(source, &kf.position, e)));
                    }
                    done => return done,
                }
            }
            Keyed::Replay(reason) => reason,
        }
    } else {
        Reason::NotAlone
    };
    stream(source, query, Start::Replay(reason), span, out, on_damage)
}

/// Milliseconds from the start (the end: as far as there is).
fn ms(at: At) -> u64 {
    match at {
        At::Ms(ms) => ms,
        At::End | At::Clock(_) => u64::MAX,
    }
}

/// Where the first screen comes from.
enum Start {
    /// The keyframe of the message at this place.
    Keyframe(Position),
    /// A replay from the recording's start, for this reason.
    Replay(Reason),
}

/// The message at a keyframe's place has none that decodes (why, if it
/// has one): the caller replays instead.
#[derive(Debug)]
struct Unusable(Option<Error>);

/// The events are done: no more is read.
#[derive(Debug)]
struct Done;

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(e) => e.fmt(f),
            None => f.write_str("no keyframe where the seek found one"),
        }
    }
}

impl std::error::Error for Unusable {}

impl std::fmt::Display for Done {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the events are done")
    }
}

impl std::error::Error for Done {}

/// Damage met reading from a place within a file names the line counted
/// from there: count the lines before the place, so that it names the
/// file's line (only on this error path, so a seek stays a few reads).
fn from_start(source: &dyn Source, position: &Position, mut e: Error) -> Error {
    let Position::Offset(offset) = position else {
        return e;
    };
    let Ok(input) = source.open(&Filter::default()) else {
        return e;
    };
    let mut lines = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    let mut input = input.take(*offset);
    while let Ok(n @ 1..) = input.read(&mut buf) {
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    if let Some(at) = e.location_mut()
        && at.line > 0
    {
        at.line += lines;
    }
    e
}

/// Reads the recording from `start` and sends its events.
fn stream(
    source: &dyn Source,
    query: &Query,
    start: Start,
    span: Span,
    out: &mut dyn FnMut(&Value) -> io::Result<()>,
    on_damage: &mut dyn FnMut(&Error),
) -> Result<End, ReadError> {
    let name = source.name();
    let (input, replay) = match &start {
        Start::Keyframe(position) => (source.open_at(&query.filter, position)?, None),
        Start::Replay(reason) => (source.open(&query.filter)?, Some(*reason)),
    };
    let mut sender = Sender {
        name: name.clone(),
        span,
        replay,
        screen: Screen::new(),
        size: None,
        message: None,
        left: 0,
        exit: None,
        unplaced: None,
        last_at: 0,
        ended: None,
        out,
    };
    let result = read_packets(
        input,
        &name,
        query,
        |msg, t| sender.packet(msg, t),
        on_damage,
    );
    if let Some(e) = sender.unplaced.take() {
        return Err(e);
    }
    match result {
        Err(ReadError::Output(e)) if e.get_ref().is_some_and(|e| e.is::<Done>()) => {}
        Err(e) => return Err(e),
        Ok(()) => {}
    }
    let end = sender.ended.unwrap_or(End::Eof);
    if sender.size.is_none() {
        // Nothing after the moment: the screen at the end.
        sender.send_screen(None).map_err(ReadError::Output)?;
    }
    let last_at = sender.last_at;
    (sender.out)(&json!({
        "v": JSON_VERSION,
        "type": "end",
        "at": last_at,
        "reason": end.name(),
    }))
    .map_err(ReadError::Output)?;
    Ok(end)
}

/// What the reading knows as it sends.
struct Sender<'a> {
    name: String,
    span: Span,
    /// Replaying from the start (for this reason) until the moment.
    replay: Option<Reason>,
    screen: Screen,
    /// The size of the screen sent, once it is sent.
    size: Option<(u16, u16)>,
    /// The message being read: its id, and its start as a wall-clock time.
    message: Option<(u64, Option<u64>)>,
    /// Packets of a message with an `exit` field still to come.
    left: u64,
    /// The `exit` object to send after them.
    exit: Option<Value>,
    /// Why a wall-clock moment could not be placed in the recording.
    unplaced: Option<ReadError>,
    last_at: u64,
    ended: Option<End>,
    out: &'a mut dyn FnMut(&Value) -> io::Result<()>,
}

impl Sender<'_> {
    /// The wall-clock time of `at` in the current message, ms since the epoch.
    fn time(&self, at: u64) -> Option<u64> {
        self.message.and_then(|(_, start)| start).map(|s| s + at)
    }

    fn send(&mut self, mut object: Value) -> io::Result<()> {
        object["v"] = json!(JSON_VERSION);
        (self.out)(&object)
    }

    /// Sends the replayed screen; `upcoming` is the size the next packet
    /// sets, if it is a window (the size of a screen not yet created).
    fn send_screen(&mut self, upcoming: Option<(u16, u16)>) -> io::Result<()> {
        let kf = Keyframe::capture(&self.screen.terminal(upcoming));
        let at = match self.span.at {
            At::Ms(ms) => ms,
            _ => self.last_at,
        };
        let object = self.keyframe_object(&kf, at, "replay", self.replay.map(reason_name));
        self.size = Some((kf.cols, kf.rows));
        self.send(object)
    }

    fn keyframe_object(&self, kf: &Keyframe, at: u64, from: &str, why: Option<&str>) -> Value {
        let mut object = json!({
            "type": "keyframe",
            "at": at,
            "time": self.time(at),
            "seek": match self.span.at { At::Ms(ms) => Some(ms), _ => None },
            "cols": kf.cols,
            "rows": kf.rows,
            "vt": kf.vt,
            "from": from,
            "why": why,
        });
        if !kf.tail.is_empty() {
            object["tail"] = json!(kf.tail);
        }
        object
    }

    /// Takes one packet of message `msg`.
    fn packet(&mut self, msg: &Message, t: Timed) -> io::Result<()> {
        let first_of_message = self.message.is_none_or(|(id, _)| id != msg.id);
        if first_of_message {
            self.message = Some((msg.id, msg.time.map(|time| time.saturating_sub(msg.pos))));
            if self.replay.is_none() && self.size.is_none() {
                self.restore(msg)?;
            }
            self.exit = self.exit_object(msg);
            self.left = if self.exit.is_some() { packets(msg) } else { 0 };
        }
        if self.size.is_none() {
            // Replaying up to the moment: a wall-clock moment is placed by
            // the first message (a stream is read once).
            if let At::Clock(clock) = self.span.at {
                let start = msg.time.map(|time| time.saturating_sub(msg.pos));
                match place(clock, start, &self.name) {
                    Ok(ms) => self.span.at = At::Ms(ms),
                    Err(e) => {
                        self.unplaced = Some(e);
                        return Err(io::Error::other(Done));
                    }
                }
            }
            if t.at <= ms(self.span.at) {
                self.screen.apply(&t.packet);
                self.last_at = t.at;
                return self.count_down();
            }
            let upcoming = match t.packet {
                Packet::Window { cols, rows } => Some((cols, rows)),
                Packet::Io { .. } => None,
            };
            self.send_screen(upcoming)?;
        }
        if let Some(until) = self.span.until
            && t.at > ms(until)
        {
            self.ended = Some(End::Until);
            return Err(io::Error::other(Done));
        }
        if first_of_message {
            self.marks(msg)?;
        }
        self.last_at = t.at;
        let time = self.time(t.at);
        match t.packet {
            Packet::Window { cols, rows } => {
                let size = (cols.clamp(1, MAX_COLS), rows.clamp(1, MAX_ROWS));
                // A restated size changes nothing (as for the recorder's
                // keyframes): only changes are sent.
                if self.size != Some(size) {
                    self.size = Some(size);
                    self.send(json!({
                        "type": "resize", "at": t.at, "time": time,
                        "cols": size.0, "rows": size.1,
                    }))?;
                }
            }
            Packet::Io { bytes, .. } if bytes.is_empty() => {}
            Packet::Io { stream, bytes } => {
                let kind = match stream {
                    Stream::Output => "output",
                    Stream::Input => "input",
                };
                let mut object = json!({"type": kind, "at": t.at, "time": time});
                match String::from_utf8(bytes) {
                    Ok(text) => object["text"] = json!(text),
                    Err(e) => object["bytes"] = json!(e.into_bytes()),
                }
                self.send(object)?;
            }
        }
        self.count_down()
    }

    /// Counts a packet of a message with an `exit` field: after its last,
    /// the exit is sent and the events are done (a followed journal would
    /// wait on for messages that never come).
    fn count_down(&mut self) -> io::Result<()> {
        if self.left == 0 {
            return Ok(());
        }
        self.left -= 1;
        if self.left > 0 {
            return Ok(());
        }
        if self.size.is_none() {
            // The recording ended before the moment.
            self.send_screen(None)?;
        }
        if let Some(exit) = self.exit.take() {
            self.send(exit)?;
        }
        self.ended = Some(End::Exit);
        Err(io::Error::other(Done))
    }

    /// The `exit` object for a message that says how the session ended.
    fn exit_object(&self, msg: &Message) -> Option<Value> {
        let exit = msg.exit(&Location::default()).ok()??;
        let end = msg.pos + delays(msg);
        let time = msg.time.map(|t| t.saturating_sub(msg.pos) + end);
        Some(json!({"type": "exit", "at": end, "time": time, "exit": exit}))
    }

    /// The first message read from a keyframe's place: sends its keyframe.
    fn restore(&mut self, msg: &Message) -> io::Result<()> {
        let at = Location {
            source: Some(self.name.clone()),
            line: 0,
            id: Some(msg.id),
        };
        match msg.extra(FIELD).map(|kf| Keyframe::parse(kf.get(), &at)) {
            Some(Ok(kf)) => {
                let object = self.keyframe_object(&kf, msg.pos, "keyframe", None);
                self.size = Some((kf.cols, kf.rows));
                self.send(object)
            }
            Some(Err(e)) => {
                let e = unusable_keyframe(&e, at, &msg.recording_key());
                Err(io::Error::other(Unusable(Some(e))))
            }
            None => Err(io::Error::other(Unusable(None))),
        }
    }

    /// Sends what `msg` marks besides its data: a gap before it, nested
    /// logins (how the session ended follows its last packet).
    fn marks(&mut self, msg: &Message) -> io::Result<()> {
        if let Some(gap) = Gap::of(msg) {
            let time = self.time(gap.at);
            self.send(json!({
                "type": "gap", "at": gap.at, "time": time,
                "messages": gap.messages, "bytes": gap.bytes,
            }))?;
        }
        let at = Location {
            source: Some(self.name.clone()),
            line: 0,
            id: Some(msg.id),
        };
        for login in msg.logins(&at).unwrap_or_default() {
            let time = self.time(login.at);
            let mut object = json!(login);
            object["type"] = json!("login");
            object["time"] = json!(time);
            self.send(object)?;
        }
        // Keys typed at a password prompt, left out by the recorder: a
        // count, never the keys.
        for mark in msg.redactions(&at).unwrap_or_default() {
            let time = self.time(mark.at);
            self.send(json!({
                "type": "redacted", "at": mark.at, "time": time, "keys": mark.keys,
            }))?;
        }
        Ok(())
    }
}

/// How many packets `msg` gives [`read_packets`] (one, empty, if none).
fn packets(msg: &Message) -> u64 {
    let mut n = 0u64;
    let _ = msg.decode(&Location::default(), |_| n += 1);
    n.max(1)
}

/// The delays of `msg`'s timing: from its start to its last event.
fn delays(msg: &Message) -> u64 {
    termtape_format::timing::parse(&msg.timing)
        .map(|records| {
            records
                .iter()
                .map(|r| match r {
                    termtape_format::timing::Record::Delay(ms) => *ms,
                    _ => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::Selection;
    use termtape_emu::Terminal;

    fn line(id: u64, pos: u64, timing: &str, out: &str, extra: &str) -> String {
        format!(
            r#"{{"ver":"2.3","host":"h","rec":"r","user":"u","term":"xterm","session":1,"id":{id},"pos":{pos},"time":1000.{pos:03},"timing":"{timing}","in_txt":"x","in_bin":[],"out_txt":"{out}","out_bin":[255]{extra}}}"#,
        )
    }

    /// Three messages: with `keyframes`, the first two carry the keyframe
    /// of the screen before them (as the recorder writes); the last has
    /// input, a byte that is not UTF-8, and the exit.
    fn log(dir: &std::path::Path, keyframes: bool) -> crate::source::File {
        let mut term = Terminal::new(80, 24);
        let kf = |term: &Terminal| match keyframes {
            true => format!(r#","kf":{}"#, Keyframe::capture(term).to_json()),
            false => String::new(),
        };
        let first = kf(&term);
        term.feed(b"a");
        let lines = [
            line(1, 0, "=80x24>1", "a", &first)
                .replace(r#""in_txt":"x""#, r#""in_txt":"""#)
                .replace("[255]", "[]"),
            line(2, 100, "=80x24>1", "b", &kf(&term))
                .replace(r#""in_txt":"x""#, r#""in_txt":"""#)
                .replace("[255]", "[]"),
            line(
                3,
                200,
                "=100x30>1+5<1]1/1",
                "c\u{fffd}",
                r#","exit":{"code":3}"#,
            ),
        ];
        let path = dir.join("r.log");
        std::fs::write(&path, lines.join("\n") + "\n").expect("write");
        crate::source::File::new(path)
    }

    fn run(source: &dyn Source, at: At) -> Vec<Value> {
        let query = Query {
            selection: Selection::Rec("r".to_owned()),
            filter: Filter {
                rec: Some("r".to_owned()),
                ..Filter::default()
            },
            ..Query::default()
        };
        let mut got = Vec::new();
        let end = events(
            source,
            &query,
            Span { at, until: None },
            &mut |v| {
                got.push(v.clone());
                Ok(())
            },
            &mut |e| panic!("{e}"),
        )
        .expect("events");
        assert_eq!(end, End::Exit);
        got
    }

    fn kinds(got: &[Value]) -> Vec<&str> {
        got.iter()
            .map(|v| v["type"].as_str().expect("type"))
            .collect()
    }

    #[test]
    fn from_the_keyframe_at_or_before_the_moment_every_event_after_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let got = run(&log(dir.path(), true), At::Ms(150));
        assert_eq!(
            kinds(&got),
            [
                "keyframe", "output", "resize", "output", "input", "output", "exit", "end"
            ]
        );
        let kf = &got[0];
        assert_eq!(
            (kf["from"].as_str(), kf["at"].as_u64()),
            (Some("keyframe"), Some(100))
        );
        assert_eq!(
            (kf["seek"].as_u64(), kf["time"].as_u64()),
            (Some(150), Some(1_000_100))
        );
        assert_eq!(got[1]["text"], "b");
        assert_eq!(
            (got[2]["cols"].as_u64(), got[2]["rows"].as_u64()),
            (Some(100), Some(30))
        );
        assert_eq!(got[3]["text"], "c");
        assert_eq!(
            (got[4]["text"].as_str(), got[4]["at"].as_u64()),
            (Some("x"), Some(205))
        );
        // Not UTF-8: the bytes as recorded.
        assert_eq!(got[5]["bytes"], serde_json::json!([255]));
        assert_eq!(got[6]["exit"], serde_json::json!({"code": 3}));
        assert_eq!(got[6]["at"], 205);
        assert!(got.iter().all(|v| v["v"] == JSON_VERSION));
    }

    #[test]
    fn a_moment_before_the_first_keyframe_is_replayed_to() {
        let dir = tempfile::tempdir().expect("tempdir");
        let got = run(&log(dir.path(), false), At::Ms(50));
        // The first message has no keyframe: the screen at 50 ms is
        // replayed, and only what follows 50 ms is sent.
        assert_eq!(got[0]["from"], "replay");
        assert_eq!(got[0]["why"], "no_keyframes");
        let mut term = Terminal::from_snapshot(80, 24, got[0]["vt"].as_str().expect("vt"));
        assert_eq!(term.text().trim_end(), "a");
        term.feed(b"b");
        assert_eq!(got[1]["text"], "b");
        assert_eq!(got[1]["at"], 100);
        // Past the end: the last screen, then the end.
        let got = run(&log(dir.path(), false), At::Ms(10_000));
        assert_eq!(kinds(&got), ["keyframe", "exit", "end"]);
    }
}
