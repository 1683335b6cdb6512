//! `termtape export`: one recording, or a cut of it, in another program's
//! format.
//!
//! The recording is read once, as a stream of [`Event`]s (output, input,
//! resizes, marks) timed from the export's start, and handed to a [`Sink`]
//! for the format: [`asciicast`] (asciinema's v2 and v3), [`bytes`]
//! (util-linux `script`'s typescript and timing log, ttyrec), [`txt`] (the
//! screen's lines as they were first shown), [`segmented`]
//! (asciinema-player's seekable index and segments) and [`tlog`] (a tlog
//! file of its own). Memory is bounded by one message, one screen and, for
//! segments, one segment, whatever the recording's size.
//!
//! A whole recording is read from its first message, so the output bytes
//! are exactly those recorded (what `termtape cat` writes). A cut
//! (`--from`) starts at the screen at that moment, drawn by the VT
//! sequences of its keyframe, then goes on with what followed; `--to` stops
//! after that moment.

pub mod asciicast;
pub mod bytes;
pub mod segmented;
pub mod tlog;
pub mod txt;

use std::io;

use serde_json::Value;
use termtape_format::{Error, Location, Message, Packet, Stream};

use crate::gap::Gap;
use crate::recording::{Query, ReadError, choose, read_packets};
use crate::seek::At;
use crate::source::Source;

/// What the export's first message says of the recording.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// Recording id.
    pub rec: String,
    /// Recorded user.
    pub user: String,
    /// Host.
    pub host: String,
    /// Terminal type (`TERM`).
    pub term: String,
    /// Wall-clock time of the export's start, ms since the epoch, if known.
    pub start: Option<u64>,
    /// The screen size at the start.
    pub cols: u16,
    /// Rows at the start.
    pub rows: u16,
}

impl Meta {
    /// The title the formats with one show: `user@host rec`.
    pub fn title(&self) -> String {
        format!("{}@{} {}", self.user, self.host, self.rec)
    }
}

/// One thing in the exported stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// Output bytes exactly as recorded (for a cut, the first is the VT
    /// sequences that draw the screen at its start).
    Output(&'a [u8]),
    /// Input bytes.
    Input(&'a [u8]),
    /// The window size changed.
    Resize(u16, u16),
    /// A mark: a gap a rate limit left, a nested login, a redaction.
    Marker(&'a str),
    /// How the recorded command ended: its status.
    Exit(i32),
}

/// Where the exported events go: one per format.
pub trait Sink {
    /// Before any event: what the recording is.
    fn begin(&mut self, meta: &Meta) -> io::Result<()>;
    /// One event, `at` milliseconds from the export's start (never going
    /// back).
    fn event(&mut self, at: u64, event: Event<'_>) -> io::Result<()>;
    /// After the last event; `at` is the export's end.
    fn end(&mut self, at: u64) -> io::Result<()>;
}

/// Which part of the recording.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cut {
    /// Start at the screen at this moment.
    pub from: Option<At>,
    /// Stop after this moment.
    pub to: Option<At>,
}

/// The default size of a recording that never says its size.
const DEFAULT_SIZE: (u16, u16) = (80, 24);

/// Reads the recording `query` selects from `source` and sends its events,
/// within `cut`, to `sink`. `on_progress` gets the message count now and
/// then. Damage goes to `on_damage` when the query passes over it.
pub fn export(
    source: &dyn Source,
    query: &Query,
    cut: Cut,
    sink: &mut dyn Sink,
    on_damage: &mut dyn FnMut(&Error),
    on_progress: &mut dyn FnMut(u64),
) -> Result<(), ReadError> {
    let query = &choose(source, query)?;
    match cut.from {
        Some(from) if from != At::Ms(0) => {
            let meta = first_meta(source, query)?;
            cut_from(source, query, from, cut.to, meta, sink, on_damage)
        }
        _ => whole(source, query, cut.to, sink, on_damage, on_progress),
    }
}

/// A recording from its first message, its bytes exactly as recorded.
fn whole(
    source: &dyn Source,
    query: &Query,
    to: Option<At>,
    sink: &mut dyn Sink,
    on_damage: &mut dyn FnMut(&Error),
    on_progress: &mut dyn FnMut(u64),
) -> Result<(), ReadError> {
    let until = match to {
        Some(to) => ms(to.resolve(source, query)?),
        None => u64::MAX,
    };
    let name = source.name();
    let mut state = Whole {
        size: DEFAULT_SIZE,
        begun: false,
        message: None,
        last: 0,
        exit: None,
        messages: 0,
    };
    let result = read_packets(
        source.open(&query.filter)?,
        &name,
        query,
        |msg, t| {
            if t.at > until {
                return Err(io::Error::other(Stop));
            }
            if !state.begun {
                state.begun = true;
                let (cols, rows) = match t.packet {
                    Packet::Window { cols, rows } => (cols, rows),
                    Packet::Io { .. } => DEFAULT_SIZE,
                };
                state.size = (cols, rows);
                sink.begin(&meta_of(msg, t.at, cols, rows))?;
            }
            if state.message != Some(msg.id) {
                state.message = Some(msg.id);
                state.messages += 1;
                if state.messages.is_multiple_of(1024) {
                    on_progress(state.messages);
                }
                for mark in marks(msg) {
                    sink.event(t.at.max(state.last), Event::Marker(&mark))?;
                }
                if let Ok(Some(termtape_format::Exit::Code(code))) = msg.exit(&Location::default())
                {
                    state.exit = Some(code);
                }
            }
            state.last = state.last.max(t.at);
            match &t.packet {
                Packet::Window { cols, rows } if state.size == (*cols, *rows) => Ok(()),
                Packet::Window { cols, rows } => {
                    state.size = (*cols, *rows);
                    sink.event(t.at, Event::Resize(*cols, *rows))
                }
                Packet::Io { bytes, .. } if bytes.is_empty() => Ok(()),
                Packet::Io {
                    stream: Stream::Output,
                    bytes,
                } => sink.event(t.at, Event::Output(bytes)),
                Packet::Io {
                    stream: Stream::Input,
                    bytes,
                } => sink.event(t.at, Event::Input(bytes)),
            }
        },
        on_damage,
    );
    let stopped = match result {
        Err(ReadError::Output(e)) if e.get_ref().is_some_and(|e| e.is::<Stop>()) => true,
        Err(e) => return Err(e),
        Ok(()) => false,
    };
    let end = if stopped { until } else { state.last };
    if let (Some(code), false) = (state.exit, stopped) {
        sink.event(end, Event::Exit(code))
            .map_err(ReadError::Output)?;
    }
    sink.end(end).map_err(ReadError::Output)
}

struct Whole {
    /// The size last sent: a restated size (every message states it) is
    /// not a resize.
    size: (u16, u16),
    begun: bool,
    message: Option<u64>,
    last: u64,
    exit: Option<i32>,
    messages: u64,
}

/// The marks a message carries besides its data, as labels.
fn marks(msg: &Message) -> Vec<String> {
    let mut marks = Vec::new();
    if let Some(gap) = Gap::of(msg) {
        marks.push(format!("gap: {gap}"));
    }
    for login in msg.logins(&Location::default()).unwrap_or_default() {
        marks.push(login_label(&login.user, login.n, login.end));
    }
    for mark in msg.redactions(&Location::default()).unwrap_or_default() {
        marks.push(format!("{} key(s) redacted", mark.keys));
    }
    marks
}

fn login_label(user: &Option<String>, n: u32, end: bool) -> String {
    match (end, user) {
        (true, _) => format!("nested login {n} ended"),
        (false, Some(user)) => format!("nested login {n}: {user}"),
        (false, None) => format!("nested login {n}"),
    }
}

/// The export's [`Meta`] from a message of the recording.
fn meta_of(msg: &Message, at: u64, cols: u16, rows: u16) -> Meta {
    Meta {
        rec: msg.recording_key(),
        user: msg.user.clone(),
        host: msg.host.clone(),
        term: msg.term.clone(),
        start: msg.time.map(|t| t.saturating_sub(msg.pos) + at),
        cols,
        rows,
    }
}

/// The reading is done: no more is wanted.
#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the export is done")
    }
}

impl std::error::Error for Stop {}

/// The recording's identity, from its first message.
fn first_meta(source: &dyn Source, query: &Query) -> Result<Meta, ReadError> {
    let mut meta = None;
    let result = read_packets(
        source.open(&query.filter)?,
        &source.name(),
        query,
        |msg, _| {
            meta = Some(meta_of(msg, 0, DEFAULT_SIZE.0, DEFAULT_SIZE.1));
            Err(io::Error::other(Stop))
        },
        |_| {},
    );
    match (result, meta) {
        (_, Some(meta)) => Ok(meta),
        (Err(e), None) => Err(e),
        (Ok(()), None) => Err(ReadError::NoMatch {
            name: source.name(),
            asked: query.filter.describe(),
        }),
    }
}

/// A cut from `from`: the screen then, through its keyframe, and what
/// followed (as `termtape events` sends it).
fn cut_from(
    source: &dyn Source,
    query: &Query,
    from: At,
    to: Option<At>,
    mut meta: Meta,
    sink: &mut dyn Sink,
    on_damage: &mut dyn FnMut(&Error),
) -> Result<(), ReadError> {
    let mut zero = 0u64;
    let mut last = 0u64;
    let span = crate::events::Span {
        at: from,
        until: to,
    };
    crate::events::events(
        source,
        query,
        span,
        &mut |object| {
            let at = object["at"].as_u64().unwrap_or(0);
            let rel = at.saturating_sub(zero).max(last);
            match object["type"].as_str().unwrap_or("") {
                "keyframe" => {
                    zero = object["seek"].as_u64().unwrap_or(at);
                    meta.cols = number(&object["cols"]);
                    meta.rows = number(&object["rows"]);
                    meta.start = object["time"].as_u64().map(|t| t + zero.saturating_sub(at));
                    sink.begin(&meta)?;
                    let mut vt = object["vt"].as_str().unwrap_or("").as_bytes().to_vec();
                    if let Some(tail) = object["tail"].as_array() {
                        vt.extend(tail.iter().filter_map(|b| b.as_u64()).map(|b| b as u8));
                    }
                    return sink.event(0, Event::Output(&vt));
                }
                "output" => sink.event(rel, Event::Output(&data(object)))?,
                "input" => sink.event(rel, Event::Input(&data(object)))?,
                "resize" => sink.event(
                    rel,
                    Event::Resize(number(&object["cols"]), number(&object["rows"])),
                )?,
                "gap" => {
                    let label = format!(
                        "gap: {} message(s), {} byte(s) dropped",
                        object["messages"], object["bytes"]
                    );
                    sink.event(rel, Event::Marker(&label))?;
                }
                "login" => {
                    let user = object["user"].as_str().map(str::to_owned);
                    let n = object["n"].as_u64().unwrap_or(0) as u32;
                    let end = object["end"].as_bool().unwrap_or(false);
                    sink.event(rel, Event::Marker(&login_label(&user, n, end)))?;
                }
                "exit" => {
                    if let Some(code) = object["exit"]["code"].as_i64() {
                        sink.event(rel, Event::Exit(code as i32))?;
                    }
                }
                "end" => return sink.end(rel),
                _ => {}
            }
            last = rel;
            Ok(())
        },
        on_damage,
    )?;
    Ok(())
}

fn number(v: &Value) -> u16 {
    v.as_u64()
        .map_or(1, |n| n.clamp(1, u64::from(u16::MAX)) as u16)
}

/// An event object's bytes: its `text`, or its `bytes` array.
fn data(object: &Value) -> Vec<u8> {
    match object["text"].as_str() {
        Some(text) => text.as_bytes().to_vec(),
        None => object["bytes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|b| b.as_u64())
                    .map(|b| b as u8)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn ms(at: At) -> u64 {
    match at {
        At::Ms(ms) => ms,
        At::End | At::Clock(_) => u64::MAX,
    }
}

/// Seconds with milliseconds, as asciicast and the timing logs write them.
pub(crate) fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}
