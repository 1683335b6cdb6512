//! Seeking: the screen of a recording at a moment, through its keyframes.
//!
//! On a file, the seek reads a few pages, however big the file: a bisection
//! over byte offsets by the messages' `pos` finds where the moment is, a
//! backward scan from there finds the nearest message with a keyframe
//! (`kf`) at or before it, and replay goes forward from that keyframe to the
//! moment (lines of other recordings in the file, chosen between with
//! `--rec`, are passed over). In the journal, a match on the keyframe mark
//! finds the last keyframe entry before the moment (only keyframe entries
//! are read) and replay goes forward from its cursor.
//!
//! Both are a [`Source`]'s [`Source::keyframe_before`]; the replay forward
//! from the keyframe ([`Source::open_at`]) is the same for every source.
//!
//! Anything else replays from the start, which gives the same screen:
//! standard input, a recording without keyframes (such as one made by tlog;
//! `termtape keyframe` adds them), messages selected by user, host or time,
//! and damage (the replay reports it with its line number). The recording
//! is chosen first ([`choose`]): without `--rec`, a source holding several
//! is an error that lists them.

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use termtape_emu::Terminal;
use termtape_format::extension;
use termtape_format::{Error, LineEnd, Location, MAX_LINE_LEN, Message, read_line, skip_line};
use termtape_keyframe::{FIELD, Keyframe, Screen};

use crate::recording::{Query, ReadError, Selection, choose, read_packets};
use crate::source::{Keyed, KeyframeAt, Position, Source};
use crate::time;

/// A moment in a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// Milliseconds from the recording's start.
    Ms(u64),
    /// After the last packet.
    End,
    /// A wall-clock time, milliseconds since the epoch ([`At::resolve`]
    /// places it in a recording).
    Clock(u64),
}

impl At {
    /// Parses `end`, a moment from the start as [`time::parse_offset`]
    /// takes it (`90`, `90.5`, `MM:SS`, `HH:MM:SS[.mmm]`, `90s`), or a
    /// wall-clock time as [`time::parse_clock`] takes it when it has a
    /// date (`YYYY-MM-DD HH:MM[:SS]` in local time, or followed by ` UTC`).
    pub fn parse(s: &str) -> Result<At, time::Error> {
        let s = s.trim();
        if s == "end" {
            return Ok(At::End);
        }
        if s.contains('-') {
            return time::parse_clock(s).map(At::Clock);
        }
        time::parse_offset(s)
            .map(At::Ms)
            .map_err(|e| e.expecting("seconds, MM:SS, HH:MM:SS[.mmm], 1h2m3.5s or end"))
    }

    /// The moment as milliseconds from the start of the recording selected
    /// in `source`: a wall-clock time is placed by the recording's start
    /// (its first message's time less its position); the others are
    /// returned as they are.
    pub fn resolve(self, source: &dyn Source, query: &Query) -> Result<At, ReadError> {
        let At::Clock(clock) = self else {
            return Ok(self);
        };
        place(clock, recording_start(source, query)?, &source.name()).map(At::Ms)
    }

    /// Milliseconds from the start (an unresolved wall-clock time counts
    /// as the end).
    fn ms(self) -> u64 {
        match self {
            At::Ms(ms) => ms,
            At::End | At::Clock(_) => u64::MAX,
        }
    }
}

/// The wall-clock moment `clock` as milliseconds from the start of a
/// recording that started at `start` (`None`: its messages carry no time).
pub(crate) fn place(clock: u64, start: Option<u64>, name: &str) -> Result<u64, ReadError> {
    let start = start.ok_or_else(|| ReadError::Clock {
        name: name.to_owned(),
        why: "the recording's messages carry no time, so a wall-clock moment cannot be \
              placed in it; give the moment from its start"
            .to_owned(),
    })?;
    if clock < start {
        return Err(ReadError::Clock {
            name: name.to_owned(),
            why: format!(
                "{} is before the recording started ({})",
                time::local(clock),
                time::local(start)
            ),
        });
    }
    Ok(clock - start)
}

/// When the recording selected in `source` started, milliseconds since the
/// epoch; `None` when its messages carry no time.
pub fn recording_start(source: &dyn Source, query: &Query) -> Result<Option<u64>, ReadError> {
    let query = &choose(source, query)?;
    let mut start = None;
    let result = read_packets(
        source.open(&query.filter)?,
        &source.name(),
        query,
        |msg, _| {
            start = Some(msg.time.map(|t| t.saturating_sub(msg.pos)));
            Err(io::Error::other(Reached))
        },
        |_| {},
    );
    match result {
        Err(ReadError::Output(e)) if e.get_ref().is_some_and(|e| e.is::<Reached>()) => {}
        other => other?,
    }
    Ok(start.flatten())
}

/// How a seek went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// From the keyframe of message `id`, at `position` in the source,
    /// replaying `messages` messages from there.
    Keyframe {
        /// The message carrying the keyframe.
        id: u64,
        /// Where it is: a byte offset in a file, a journal cursor.
        position: Position,
        /// Messages read from there.
        messages: u64,
    },
    /// From the start of the recording.
    Replay(Reason),
}

/// Why a seek replayed from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The source is not a file (standard input, the journal).
    NotAFile,
    /// The recording has no keyframes.
    NoKeyframes,
    /// Messages are selected by user, host, time, terminal or command (or,
    /// in the journal, no recording is chosen).
    NotAlone,
    /// A message on the way does not read or check cleanly.
    Damage,
}

/// The screen of the selected recording at `at`, and how it was found.
///
/// `on_damage` gets what was passed over: damage the replay met (`--lax`),
/// and the first keyframe on the way that does not decode (an unknown
/// version, a malformed `vt`), which the seek goes back past.
pub fn screen_at(
    source: &dyn Source,
    query: &Query,
    at: At,
    on_damage: impl FnMut(&Error),
) -> Result<(Terminal, Method), ReadError> {
    screen_until(source, query, at, on_damage).map(|s| (s.term, s.method))
}

/// A seek's outcome.
#[derive(Debug)]
pub struct Sought {
    /// The screen.
    pub term: Terminal,
    /// How it was found.
    pub method: Method,
    /// When the moment asked for is past the recording's end: the end
    /// (the last event's moment, ms from the start), so that the caller
    /// can say the screen shown is the last one.
    pub ended: Option<u64>,
}

/// As [`screen_at`], also telling whether the recording ended before `at`.
pub fn screen_until(
    source: &dyn Source,
    query: &Query,
    at: At,
    on_damage: impl FnMut(&Error),
) -> Result<Sought, ReadError> {
    let (term, method, ended) = seek(source, query, at, on_damage)?;
    Ok(Sought {
        term,
        method,
        // `end` asks for the last screen: nothing to tell.
        ended: ended.filter(|_| at != At::End),
    })
}

/// A screen, its method, and the end of a recording that ended before `at`.
type Found = (Terminal, Method, Option<u64>);

fn seek(
    source: &dyn Source,
    query: &Query,
    at: At,
    mut on_damage: impl FnMut(&Error),
) -> Result<Found, ReadError> {
    let query = &choose(source, query)?;
    if source.is_stream() {
        // Read once, wall-clock moment and all: a pipe, FIFO or device has
        // nothing to seek in, and what is read from it is gone.
        let (term, ended) = replay(source, query, at, on_damage)?;
        return Ok((term, Method::Replay(Reason::NotAFile), ended));
    }
    let at = at.resolve(source, query)?;
    let reason = if query.filter == filter_for(query) {
        match source.keyframe_before(query, at.ms(), &mut on_damage)? {
            Keyed::At(kf) => match forward(source, query, &kf, at.ms(), &mut on_damage) {
                Ok(found) => return Ok(found),
                Err(reason) => reason,
            },
            Keyed::Replay(reason) => reason,
        }
    } else {
        Reason::NotAlone
    };
    let (term, ended) = replay(source, query, at, on_damage)?;
    Ok((term, Method::Replay(reason), ended))
}

/// Seeks in the file at `path` (named `name`) through its keyframes: where
/// the keyframe to start from is, or why the file is to be replayed
/// instead (an I/O error too: the replay names it). `on_damage` is told
/// of the first keyframe on the way that does not decode.
pub(crate) fn keyframe_in_file(
    path: &Path,
    name: &str,
    query: &Query,
    until: u64,
    on_damage: &mut dyn FnMut(&Error),
) -> Keyed {
    let Ok(file) = File::open(path) else {
        return Keyed::Replay(Reason::Damage);
    };
    let Ok(meta) = file.metadata() else {
        return Keyed::Replay(Reason::Damage);
    };
    // In a file of many recordings with an index, the chosen one's
    // messages lie where the index says: the bisection looks there.
    let range = match &query.selection {
        Selection::Rec(rec) | Selection::Only(rec) => crate::file_index::range_of(path, name, rec),
        Selection::First => None,
    };
    let (start, end) = range
        .filter(|&(start, end)| start < end && end <= meta.len())
        .unwrap_or((0, meta.len()));
    let mut lines = Lines {
        file: BufReader::with_capacity(PROBE, file),
        len: meta.len(),
        name: name.to_owned(),
        key: None,
        selection: query.selection.clone(),
        bad_keyframe: None,
    };
    let mut found = seek_file(&mut lines, start, end, until);
    if range.is_some() && matches!(found, Err(Stop::NotFirst)) {
        // The index placed the recording's start wrong (the file was
        // changed in place): the whole file is looked at.
        found = seek_file(&mut lines, 0, meta.len(), until);
    }
    if let Some(e) = &lines.bad_keyframe {
        on_damage(e);
    }
    match found {
        Ok(offset) => Keyed::At(KeyframeAt {
            position: Position::Offset(offset),
        }),
        Err(Stop::Io | Stop::NotFirst) => Keyed::Replay(Reason::Damage),
        Err(Stop::Replay(reason)) => Keyed::Replay(reason),
    }
}

/// Restores the keyframe at `kf` (in the first message read from there)
/// and replays from it up to `until`; or says why the seek is to replay
/// from the start instead (the replay reports damage with its place).
fn forward(
    source: &dyn Source,
    query: &Query,
    kf: &KeyframeAt,
    until: u64,
    on_damage: &mut dyn FnMut(&Error),
) -> Result<Found, Reason> {
    let name = source.name();
    let input = source
        .open_at(&query.filter, &kf.position)
        .map_err(|_| Reason::Damage)?;
    let mut screen: Option<Screen> = None;
    let (mut first, mut last, mut bad) = (None, None, false);
    let mut last_at = 0;
    let mut damaged = false;
    let mut unusable = None;
    let result = read_packets(
        input,
        &name,
        query,
        |msg, t| {
            if screen.is_none() {
                let at = Location {
                    source: Some(name.clone()),
                    line: 0,
                    id: Some(msg.id),
                };
                match msg.extra(FIELD).map(|kf| Keyframe::parse(kf.get(), &at)) {
                    Some(Ok(kf)) => screen = Some(Screen::from_keyframe(&kf)),
                    found => {
                        if let Some(Err(e)) = found {
                            unusable = Some(unusable_keyframe(&e, at, &msg.recording_key()));
                        }
                        bad = true;
                        return Err(io::Error::other(Reached));
                    }
                }
                first = Some(msg.id);
            }
            if t.at > until {
                return Err(io::Error::other(Reached));
            }
            last = Some(msg.id);
            last_at = t.at;
            if let Some(screen) = &mut screen {
                screen.apply(&t.packet);
            }
            Ok(())
        },
        |_| damaged = true,
    );
    if let Some(e) = &unusable {
        on_damage(e);
    }
    // Read to the end without reaching the moment: past the end.
    let ended = match result {
        Err(ReadError::Output(e)) if e.get_ref().is_some_and(|e| e.is::<Reached>()) => None,
        Err(_) => return Err(Reason::Damage),
        Ok(()) => Some(last_at),
    };
    match (screen, first) {
        (Some(screen), Some(id)) if !bad && !damaged => Ok((
            screen.into_terminal(),
            Method::Keyframe {
                id,
                position: kf.position.clone(),
                messages: last.map_or(1, |l| l.saturating_sub(id) + 1),
            },
            ended,
        )),
        _ => Err(Reason::Damage),
    }
}

/// The filter a plain `--rec` selection sets (nothing else).
pub(crate) fn filter_for(query: &Query) -> crate::source::Filter {
    crate::source::Filter {
        rec: match &query.selection {
            Selection::First => None,
            Selection::Rec(id) | Selection::Only(id) => Some(id.clone()),
        },
        trust: query.filter.trust.clone(),
        ..crate::source::Filter::default()
    }
}

/// Replays the selected recording from its start up to `at` (a wall-clock
/// moment is placed by the recording's first message, so that a stream is
/// read once).
fn replay(
    source: &dyn Source,
    query: &Query,
    at: At,
    on_damage: impl FnMut(&Error),
) -> Result<(Terminal, Option<u64>), ReadError> {
    let name = source.name();
    let (mut until, clock) = match at {
        At::Clock(clock) => (None, clock),
        _ => (Some(at.ms()), 0),
    };
    let mut unplaced = None;
    let mut screen = Screen::new();
    let mut last_at = 0;
    let result = read_packets(
        source.open(&query.filter)?,
        &name,
        query,
        |msg, t| {
            let until = match until {
                Some(until) => until,
                None => match place(clock, msg.time.map(|t| t.saturating_sub(msg.pos)), &name) {
                    Ok(ms) => *until.insert(ms),
                    Err(e) => {
                        unplaced = Some(e);
                        return Err(io::Error::other(Reached));
                    }
                },
            };
            if t.at > until {
                return Err(io::Error::other(Reached));
            }
            last_at = t.at;
            screen.apply(&t.packet);
            Ok(())
        },
        on_damage,
    );
    if let Some(e) = unplaced {
        return Err(e);
    }
    // Read to the end without reaching the moment: past the end.
    let ended = match result {
        Err(ReadError::Output(e)) if e.get_ref().is_some_and(|e| e.is::<Reached>()) => None,
        other => other.map(|()| Some(last_at))?,
    };
    Ok((screen.into_terminal(), ended))
}

/// Stops a replay at the moment asked for.
#[derive(Debug)]
struct Reached;

impl std::fmt::Display for Reached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the moment asked for is reached")
    }
}

impl std::error::Error for Reached {}

/// What the bisection reads at most from one place. (Fuzzing uses small
/// reads, so that small inputs take the paths of long lines.)
const PROBE: usize = if cfg!(fuzzing) { 16 } else { 64 * 1024 };

/// Below this many bytes, the bisection stops and the backward scan goes on.
const SPAN: u64 = PROBE as u64;

/// Why a seek in a file stopped short of a screen.
enum Stop {
    /// Reading the file failed: the replay reads it again and says why.
    Io,
    /// The file is read from its start instead, for this reason.
    Replay(Reason),
    /// The first message of the recording found from where an index said
    /// it starts is not its first (id 1).
    NotFirst,
}

impl From<io::Error> for Stop {
    fn from(_: io::Error) -> Stop {
        Stop::Io
    }
}

/// A file of messages read at byte offsets (or a frame of an archive,
/// decompressed).
struct Lines<R> {
    file: BufReader<R>,
    len: u64,
    name: String,
    key: Option<String>,
    selection: Selection,
    /// The first keyframe passed over because it does not decode.
    bad_keyframe: Option<Error>,
}

impl<R: Read + Seek> Lines<R> {
    /// The first complete line starting at or after `offset`: its start,
    /// and the line (without its newline), or `None` at the end. A line
    /// longer than [`MAX_LINE_LEN`] is damage, which the replay reports.
    fn line_after(&mut self, offset: u64) -> Result<Option<(u64, Vec<u8>)>, Stop> {
        let mut start = offset;
        if offset > 0 {
            // The line that `offset` is in (or the newline before it) is
            // passed over without being held, however long it is.
            self.file.seek(SeekFrom::Start(offset - 1))?;
            start = offset - 1 + skip_line(&mut self.file)?;
        } else {
            self.file.seek(SeekFrom::Start(0))?;
        }
        let mut buf = Vec::with_capacity(PROBE);
        match read_line(&mut self.file, &mut buf, MAX_LINE_LEN)? {
            LineEnd::Newline => {
                buf.pop();
                Ok(Some((start, buf)))
            }
            // A last line still being written, or cut short.
            LineEnd::Eof | LineEnd::Unterminated => Ok(None),
            LineEnd::TooLong => Err(Stop::Replay(Reason::Damage)),
        }
    }

    /// Parses a line: a message of the selected recording, or why not.
    /// Another recording's message is passed over with `--rec`; without
    /// it the file holds several recordings, which the replay reports.
    fn message(&mut self, line: &[u8]) -> Result<Option<Message>, Stop> {
        let text = std::str::from_utf8(line).map_err(|_| Stop::Replay(Reason::Damage))?;
        let at = Location {
            source: Some(self.name.clone()),
            ..Location::default()
        };
        let msg = Message::parse(text.trim_end(), &at).map_err(|_| Stop::Replay(Reason::Damage))?;
        let key = msg.recording_key();
        let ours = match (&self.key, &self.selection) {
            (Some(k), _) => *k == key,
            (None, Selection::First) => true,
            (None, Selection::Rec(id) | Selection::Only(id)) => {
                key == *id || msg.rec.as_deref() == Some(id.as_str())
            }
        };
        if ours {
            self.key.get_or_insert(key);
            Ok(Some(msg))
        } else if matches!(self.selection, Selection::First | Selection::Only(_)) {
            Err(Stop::Replay(Reason::NotAlone))
        } else {
            Ok(None)
        }
    }

    /// The first message of the selected recording starting at or after
    /// `offset` and before `end`: its start and the message.
    fn message_after(&mut self, offset: u64, end: u64) -> Result<Option<(u64, Message)>, Stop> {
        let mut offset = offset;
        while let Some((start, line)) = self.line_after(offset)? {
            if start >= end {
                break;
            }
            match self.message(&line)? {
                Some(msg) => return Ok(Some((start, msg))),
                None => offset = start + line.len() as u64 + 1,
            }
        }
        Ok(None)
    }

    /// The keyframe `msg` carries, if it decodes; if not, the first such
    /// keyframe is kept to be reported, and the seek looks further back.
    fn keyframe(&mut self, msg: &Message) -> Option<Keyframe> {
        let kf = msg.extra(FIELD)?;
        let at = Location {
            source: Some(self.name.clone()),
            line: 0,
            id: Some(msg.id),
        };
        match Keyframe::parse(kf.get(), &at) {
            Ok(kf) => Some(kf),
            Err(e) => {
                if self.bad_keyframe.is_none() {
                    self.bad_keyframe = Some(unusable_keyframe(&e, at, &msg.recording_key()));
                }
                None
            }
        }
    }
}

/// A keyframe that does not decode (an unknown version, a malformed `vt`),
/// as damage to report: the seek goes on from an earlier keyframe, or the
/// start.
pub(crate) fn unusable_keyframe(e: &termtape_keyframe::Error, at: Location, rec: &str) -> Error {
    let text = e.to_string();
    let why = text.strip_prefix(&format!("{at}: ")).unwrap_or(&text);
    Error::InvalidField {
        at,
        field: FIELD,
        reason: format!(
            "{why}; seeking in recording {rec} goes from an earlier keyframe or the start instead"
        ),
    }
}

/// Seeks in a file, whose selected recording's messages lie between
/// `start` and `end`: the offset of the line whose keyframe to start from;
/// [`Stop`] when it has to be replayed instead.
fn seek_file(lines: &mut Lines<File>, start: u64, end: u64, until: u64) -> Result<u64, Stop> {
    let Some((lo, first)) = lines.message_after(start, end)? else {
        return Err(Stop::Replay(Reason::Damage));
    };
    if start > 0 && first.id != 1 {
        // Looked for from where an index said the recording starts, and
        // not found there: a later message would pass for its start.
        return Err(Stop::NotFirst);
    }
    if first.extra(FIELD).is_none() {
        return Err(Stop::Replay(Reason::NoKeyframes));
    }
    if until < first.pos {
        // Before the recording's first message: its keyframe, and nothing
        // after it.
        return Ok(lo);
    }
    // Bisection: the recording's message at `lo` starts at or before
    // `until`; none of its messages starting at or after `hi` does. (Lines
    // of other recordings in between are passed over.)
    let (mut lo, mut hi) = (lo, end);
    while hi - lo > SPAN {
        let mid = lo + (hi - lo) / 2;
        match lines.message_after(mid, hi)? {
            Some((start, msg)) if msg.pos <= until => lo = start,
            _ => hi = mid,
        }
    }
    // The last message starting at or before `until` starts in [lo, hi);
    // the keyframe to start from is the last one at or before it. The scan
    // back starts at the line boundary at or after `hi`.
    let back_from = match lines.line_after(hi)? {
        Some((start, _)) => start,
        None => lines.len,
    };
    let (offset, _, _) = scan_back(lines, back_from, until)?;
    Ok(offset)
}

/// Finds the last message with a keyframe that decodes, starting before
/// `end`, whose `pos` is at or before `until`: its offset, the message and
/// the keyframe.
fn scan_back<R: Read + Seek>(
    lines: &mut Lines<R>,
    end: u64,
    until: u64,
) -> Result<(u64, Message, Keyframe), Stop> {
    // A read must hold at least one whole line and the newline before it.
    let most = MAX_LINE_LEN as u64 + 1;
    let mut end = end;
    let mut chunk = 4 * PROBE as u64;
    let mut buf = Vec::new();
    while end > 0 {
        let start = end.saturating_sub(chunk);
        buf.resize((end - start) as usize, 0);
        lines.file.seek(SeekFrom::Start(start))?;
        lines.file.read_exact(&mut buf)?;
        // Complete lines begin after the first newline (or at 0) and end at
        // the last one (the file's last line may be unfinished).
        let first = match start {
            0 => Some(0),
            _ => buf.iter().position(|&b| b == b'\n').map(|i| i + 1),
        };
        let last = buf.iter().rposition(|&b| b == b'\n').map(|i| i + 1);
        let (first, last) = match (first, last) {
            (Some(first), Some(last)) if first < last => (first, last),
            _ if start == 0 => break,
            // No whole line in the chunk: the line before `end` is longer.
            _ if chunk >= most => return Err(Stop::Replay(Reason::Damage)),
            _ => {
                chunk = (chunk * 2).min(most);
                continue;
            }
        };
        let region = &buf[first..last];
        let mut line_end = region.len();
        while line_end > 0 {
            let line_start = region[..line_end - 1]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let line = &region[line_start..line_end - 1];
            // Only a line with a keyframe is parsed whole; a line the scan
            // cannot read holds none (if it is before the moment, the replay
            // from an earlier keyframe meets it).
            if extension::find(line, FIELD).is_ok_and(|kf| kf.is_some())
                && let Some(msg) = lines.message(line)?
                && msg.pos <= until
                && let Some(kf) = lines.keyframe(&msg)
            {
                return Ok((start + (first + line_start) as u64, msg, kf));
            }
            line_end = line_start;
        }
        // Always back: `first` is before `last`, which is at most `end`.
        end = start + first as u64;
    }
    Err(Stop::Replay(Reason::NoKeyframes))
}

/// An archive's frames that hold data, in order, each starting at a line,
/// as [`keyframe_in_frames`] reads them.
pub(crate) trait Frames {
    /// How many.
    fn count(&self) -> usize;
    /// Where frame `i` starts in the decompressed lines.
    fn start(&self, i: usize) -> u64;
    /// Frame `i`'s first line, without its newline.
    fn head(&self, i: usize) -> io::Result<Vec<u8>>;
    /// Frame `i`, decompressed.
    fn data(&self, i: usize) -> io::Result<Arc<[u8]>>;
}

/// Seeks in an archive through its frames: a bisection over the frames'
/// first lines finds the frame the moment is in, a backward scan through
/// it (and the frames before, if it holds no keyframe before the moment)
/// finds the keyframe. Returns its offset in the decompressed lines, or why
/// the archive is to be replayed instead. `on_damage` is told of the first
/// keyframe on the way that does not decode, or of the damage that stopped
/// the seek (a frame that does not decode: the replay may not reach it).
pub(crate) fn keyframe_in_frames(
    frames: &dyn Frames,
    name: &str,
    query: &Query,
    until: u64,
    on_damage: &mut dyn FnMut(&Error),
) -> Result<u64, Reason> {
    let mut lines = Lines {
        file: BufReader::new(Cursor::new(Arc::<[u8]>::from(Vec::new()))),
        len: 0,
        name: name.to_owned(),
        key: None,
        selection: query.selection.clone(),
        bad_keyframe: None,
    };
    let mut damage = None;
    let found = seek_frames(frames, &mut lines, until, &mut damage);
    if let Some(e) = lines.bad_keyframe.as_ref().or(damage.as_ref()) {
        on_damage(e);
    }
    found.map_err(|stop| match stop {
        Stop::Io | Stop::NotFirst => Reason::Damage,
        Stop::Replay(reason) => reason,
    })
}

fn seek_frames(
    frames: &dyn Frames,
    lines: &mut Lines<Cursor<Arc<[u8]>>>,
    until: u64,
    damage: &mut Option<Error>,
) -> Result<u64, Stop> {
    let name = lines.name.clone();
    // Damage met in a frame is told: the replay that follows may end
    // before it and so not tell it.
    fn told<T>(damage: &mut Option<Error>, name: &str, result: io::Result<T>) -> Result<T, Stop> {
        result.map_err(|source| {
            damage.get_or_insert(Error::io(
                name,
                io::Error::new(
                    source.kind(),
                    format!("{source}; seeking replays from the start instead"),
                ),
            ));
            Stop::Io
        })
    }
    let mut head = |lines: &mut Lines<_>, i| -> Result<Message, Stop> {
        let line = told(damage, &name, frames.head(i))?;
        lines.message(&line)?.ok_or(Stop::Replay(Reason::NotAlone))
    };
    if frames.count() == 0 {
        return Err(Stop::Replay(Reason::Damage));
    }
    let first = head(lines, 0)?;
    if first.extra(FIELD).is_none() {
        return Err(Stop::Replay(Reason::NoKeyframes));
    }
    if until < first.pos {
        return Ok(frames.start(0));
    }
    // Frame `lo` starts at or before `until`; none from `hi` on does.
    let (mut lo, mut hi) = (0, frames.count());
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if head(lines, mid)?.pos <= until {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    for i in (0..=lo).rev() {
        let data = told(damage, &name, frames.data(i))?;
        lines.len = data.len() as u64;
        lines.file = BufReader::with_capacity(PROBE, Cursor::new(data));
        match scan_back(lines, lines.len, until) {
            Ok((offset, _, _)) => return Ok(frames.start(i) + offset),
            Err(Stop::Replay(Reason::NoKeyframes)) => continue,
            Err(stop) => return Err(stop),
        }
    }
    Err(Stop::Replay(Reason::NoKeyframes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_moments_parse_as_utc() {
        assert_eq!(At::parse("1970-01-02 00:00:01"), Ok(At::Clock(86_401_000)));
        assert_eq!(At::parse("1970-01-01 00:01"), Ok(At::Clock(60_000)));
        assert!(At::parse("1970-13-01 00:00").is_err());
    }

    #[test]
    fn parses_times() {
        let ms = |s: &str| At::parse(s).expect(s);
        assert_eq!(ms("90"), At::Ms(90_000));
        assert_eq!(ms("90.5"), At::Ms(90_500));
        assert_eq!(ms("0.0125"), At::Ms(12));
        assert_eq!(ms("01:30"), At::Ms(90_000));
        assert_eq!(ms("1:02:03.004"), At::Ms(3_723_004));
        assert_eq!(ms("100:00:00"), At::Ms(360_000_000));
        assert_eq!(ms("end"), At::End);
        for bad in [
            "", "x", "1:", ":1", "1:60", "1:2:3:4", "-1", "1.", ".5", "1:5x", "1e3",
        ] {
            assert!(At::parse(bad).is_err(), "{bad:?}");
        }
    }
}
