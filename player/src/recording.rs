//! Choosing a recording ([`choose`], [`Chooser`]), and its messages,
//! validated and decoded into packets ([`read_packets`]).
//!
//! One rule everywhere: without `--rec`, a source must hold one recording
//! (among the messages the filter selects); if it holds several, reading
//! stops with [`ReadError::Several`], which lists them.

use std::collections::HashSet;
use std::io::BufRead;

use termtape_format::{Error, Location, Message, Packet, Reader, Stream, Timed};

use crate::source::{Filter, Sessions, Source, SourceError};

/// Which recording of a source to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Selection {
    /// The source's only recording; if it holds several, that is an error
    /// that lists them ([`ReadError::Several`]: choose with `--rec`).
    #[default]
    First,
    /// The recording with this id (`rec` field).
    Rec(String),
    /// The source's only recording, as a sample of it found (see
    /// [`choose`]): read as [`Selection::Rec`], but a message of another
    /// recording met on the way is still [`ReadError::Several`].
    Only(String),
}

/// What to do with damage (a line that does not parse, a missing field, an
/// id gap, a timing that does not match its text).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Damage {
    /// Stop at the first damage and report it.
    #[default]
    Stop,
    /// Report each damage and go on past it.
    Skip,
}

/// What to read from a source, and how to treat damage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Which recording.
    pub selection: Selection,
    /// Which messages (by user, host, time).
    pub filter: Filter,
    /// Stop at damage, or pass over it.
    pub damage: Damage,
}

impl Filter {
    /// Whether `msg` passes the user, host and time conditions. (`rec` is
    /// the [`Selection`]'s business.) A host matches the message's host or
    /// its first label, so `vm` selects `vm.example.com`.
    pub fn accepts(&self, msg: &Message) -> bool {
        let since_ok = self.since.is_none_or(|t| msg.time.is_none_or(|m| m >= t));
        let until_ok = self.until.is_none_or(|t| msg.time.is_none_or(|m| m <= t));
        self.accepts_who(&msg.user, &msg.host) && since_ok && until_ok
    }

    /// Whether a message of `user` on `host` passes the user and host
    /// conditions.
    pub fn accepts_who(&self, user: &str, host: &str) -> bool {
        let host_ok = self
            .host
            .as_ref()
            .is_none_or(|h| host == *h || host.split('.').next() == Some(h.as_str()));
        let user_ok = self.user.as_ref().is_none_or(|u| user == *u);
        host_ok && user_ok
    }

    /// [`Filter::accepts`], and the message is of the recording `rec` asks
    /// for, if any: for the commands that read every recording of a source.
    pub fn accepts_in_any(&self, msg: &Message) -> bool {
        self.accepts(msg)
            && self
                .rec
                .as_ref()
                .is_none_or(|r| msg.rec.as_ref() == Some(r))
    }
}

/// One recording of a source, as a choice lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Its id (`rec`, or host/session for old messages without one).
    pub rec: String,
    /// Recorded user.
    pub user: String,
    /// Host.
    pub host: String,
    /// Wall-clock start, ms since the epoch, if its messages say.
    pub start: Option<u64>,
}

impl Candidate {
    fn of(msg: &Message) -> Candidate {
        Candidate {
            rec: msg.recording_key(),
            user: msg.user.clone(),
            host: msg.host.clone(),
            start: msg.time.map(|t| t.saturating_sub(msg.pos)),
        }
    }
}

impl std::fmt::Display for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}@{}, ", self.rec, self.user, self.host)?;
        match self.start {
            Some(ms) => write!(f, "started {})", crate::time::local(ms)),
            None => f.write_str("start unknown)"),
        }
    }
}

/// The recordings a choice found: the first [`Recordings::SHOWN`] of them,
/// and how many in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recordings {
    /// The first ones, in order of first appearance.
    pub shown: Vec<Candidate>,
    /// How many distinct recordings were seen (counting stops at
    /// [`Recordings::MOST`]: a flood of forged ids costs bounded memory).
    pub count: usize,
    keys: HashSet<String>,
}

impl Recordings {
    /// How many are listed in an error.
    pub const SHOWN: usize = 10;
    /// How many distinct ids are told apart.
    pub const MOST: usize = 4096;

    fn add(&mut self, msg: &Message) {
        if self.keys.len() >= Self::MOST {
            return;
        }
        let key = msg.recording_key();
        if self.keys.contains(&key) {
            return;
        }
        if self.shown.len() < Self::SHOWN {
            self.shown.push(Candidate::of(msg));
        }
        self.keys.insert(key);
        self.count = self.keys.len();
    }

    /// Adds the recordings of the messages `reader` has left that pass
    /// `filter` (damage is passed over: the reading that asked says what
    /// it met first).
    fn gather<R: BufRead>(
        &mut self,
        reader: &mut Reader<R>,
        filter: &Filter,
        sessions: &mut Sessions,
    ) -> Result<(), Error> {
        for item in reader {
            let msg = match item {
                Ok(msg) => msg,
                Err(e) if e.is_io() => return Err(e),
                Err(_) => continue,
            };
            if sessions.accepts(filter, &msg) && filter.accepts(&msg) {
                self.add(&msg);
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for Recordings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, c) in self.shown.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{c}")?;
        }
        let more = self.count - self.shown.len();
        if more > 0 {
            let most = if self.count >= Self::MOST {
                " or more"
            } else {
                ""
            };
            write!(f, "; and {more}{most} more")?;
        }
        Ok(())
    }
}

/// What [`Chooser::offer`] says of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Of the chosen recording.
    Ours,
    /// Of another recording, chosen against with `--rec`: passed over.
    Other,
    /// Of a second recording, none chosen: the source holds several.
    Second,
}

/// Picks out the messages of one recording, as they come: the one
/// `--rec` names, or else the first one met (a message of another is then
/// [`Choice::Second`]). Every reader of one recording asks this.
#[derive(Debug, Clone)]
pub struct Chooser {
    selection: Selection,
    key: Option<String>,
}

impl Chooser {
    /// A chooser for `selection`.
    pub fn new(selection: &Selection) -> Chooser {
        Chooser {
            key: match selection {
                Selection::First => None,
                Selection::Rec(id) | Selection::Only(id) => Some(id.clone()),
            },
            selection: selection.clone(),
        }
    }

    /// Whose message `msg` is.
    pub fn offer(&mut self, msg: &Message) -> Choice {
        let key = msg.recording_key();
        match &self.key {
            Some(k) if *k == key => Choice::Ours,
            Some(_) if matches!(self.selection, Selection::First | Selection::Only(_)) => {
                Choice::Second
            }
            Some(_) => Choice::Other,
            None => {
                self.key = Some(key);
                Choice::Ours
            }
        }
    }

    /// The chosen recording's id, once known.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }
}

/// Chooses the recording `query` reads: with `--rec`, that one (whether it
/// is there is told by the reading); without, the source's only recording
/// among the messages the filter selects, as a [`Selection::Rec`] (and
/// [`Filter::rec`], so that the journal matches on it and a seek goes
/// through its keyframes). Several: [`ReadError::Several`], listing them;
/// none: [`ReadError::NoMatch`].
///
/// A stream cannot be read twice: it is left to the reading, which stops
/// with the same error where a second recording starts.
pub fn choose(source: &dyn Source, query: &Query) -> Result<Query, ReadError> {
    if query.selection != Selection::First || source.is_stream() {
        return Ok(query.clone());
    }
    let name = source.name();
    // A file that holds one recording is told from a sample of its lines,
    // so that a seek in it stays instant; what the sample missed is met,
    // and refused, as the recording is read.
    let selects_all = {
        let f = &query.filter;
        f.user.is_none()
            && f.host.is_none()
            && f.since.is_none()
            && f.until.is_none()
            && f.tty.is_none()
            && f.command.is_none()
    };
    if selects_all && let Some(sample) = source.sample() {
        let mut found = Recordings::default();
        for msg in &sample {
            found.add(msg);
        }
        if let ([only], 1) = (&found.shown[..], found.count) {
            let mut chosen = query.clone();
            chosen.selection = Selection::Only(only.rec.clone());
            chosen.filter.rec = Some(only.rec.clone());
            return Ok(chosen);
        }
    }
    // The recordings there now, however long `--follow` reads on.
    let filter = Filter {
        follow: false,
        ..query.filter.clone()
    };
    let mut reader = Reader::new(source.open(&filter)?, Some(name.clone()), true);
    let mut found = Recordings::default();
    found.gather(&mut reader, &filter, &mut Sessions::default())?;
    match found.shown.first() {
        None => Err(ReadError::NoMatch {
            name,
            asked: query.filter.describe(),
        }),
        Some(only) if found.count == 1 => {
            let mut chosen = query.clone();
            chosen.selection = Selection::Rec(only.rec.clone());
            chosen.filter.rec = Some(only.rec.clone());
            Ok(chosen)
        }
        Some(_) => Err(ReadError::Several {
            name,
            recordings: found,
        }),
    }
}

/// Reads the packets of one recording from lines of JSON, in order.
///
/// `on_packet` gets each packet; `on_damage` each problem passed over in
/// [`Damage::Skip`] mode. Returns the first problem in [`Damage::Stop`] mode,
/// after every packet before it has been delivered, and I/O errors always.
pub fn read_packets(
    input: impl BufRead,
    source: &str,
    query: &Query,
    mut on_packet: impl FnMut(&Message, Timed) -> std::io::Result<()>,
    mut on_damage: impl FnMut(&Error),
) -> Result<(), ReadError> {
    let (selection, damage) = (&query.selection, query.damage);
    let mut reader = Reader::new(input, Some(source.to_owned()), damage == Damage::Skip);
    let mut found = false;
    let mut sessions = Sessions::default();
    let mut chooser = Chooser::new(selection);
    // The chosen recording, to list it if there are several.
    let mut listed = Recordings::default();
    while let Some(item) = reader.next() {
        let msg = match item {
            Ok(msg) => msg,
            Err(e) if e.is_io() || damage == Damage::Stop => return Err(ReadError::Format(e)),
            Err(e) => {
                on_damage(&e);
                continue;
            }
        };
        // Every message, so that a recording's origin is seen.
        let in_session = sessions.accepts(&query.filter, &msg);
        if !in_session || !query.filter.accepts(&msg) {
            continue;
        }
        match chooser.offer(&msg) {
            Choice::Ours => {}
            Choice::Other => continue,
            Choice::Second => {
                // Read on, to list them all.
                listed.add(&msg);
                listed.gather(&mut reader, &query.filter, &mut sessions)?;
                return Err(ReadError::Several {
                    name: source.to_owned(),
                    recordings: listed,
                });
            }
        }
        if !found && matches!(selection, Selection::First | Selection::Only(_)) {
            listed.add(&msg);
        }
        found = true;
        let at = Location {
            source: Some(source.to_owned()),
            line: reader.line(),
            id: Some(msg.id),
        };
        let mut io_error = None;
        let mut packets = 0u64;
        let decoded = msg.decode(&at, |t| {
            packets += 1;
            if io_error.is_none() {
                io_error = on_packet(&msg, t).err();
            }
        });
        // A message without data (the last one of a recording that ended
        // in a rate limit's drop carries its gap) still reaches the
        // caller, as an empty packet at its moment.
        if packets == 0 && io_error.is_none() && decoded.is_ok() {
            let empty = Timed {
                at: msg.pos,
                packet: Packet::Io {
                    stream: Stream::Output,
                    bytes: Vec::new(),
                },
            };
            io_error = on_packet(&msg, empty).err();
        }
        if let Some(e) = io_error {
            return Err(ReadError::Output(e));
        }
        match decoded {
            Ok(()) => {}
            Err(e) if damage == Damage::Stop => return Err(ReadError::Format(e)),
            Err(e) => on_damage(&e),
        }
    }
    if let (Selection::Rec(id), false) = (selection, found) {
        return Err(ReadError::NotFound {
            name: source.to_owned(),
            rec: id.clone(),
        });
    }
    if !found {
        return Err(ReadError::NoMatch {
            name: source.to_owned(),
            asked: query.filter.describe(),
        });
    }
    Ok(())
}

/// Why reading a recording stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Damage in the data, or the source could not be read.
    #[error(transparent)]
    Format(#[from] Error),
    /// The source could not be opened (the error names it).
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Writing the result failed.
    #[error("writing output: {0}")]
    Output(#[source] std::io::Error),
    /// The source holds more than one recording and none was chosen.
    #[error(
        "{name} holds several recordings ({} of them); choose one with --rec: {recordings}",
        recordings.count
    )]
    Several {
        /// The source.
        name: String,
        /// The recordings found.
        recordings: Recordings,
    },
    /// No message of the chosen recording was found.
    #[error("{name}: no recording with id {rec} (`termtape ls {name}` lists them)")]
    NotFound {
        /// The source.
        name: String,
        /// The id asked for.
        rec: String,
    },
    /// No message of any recording passed the filter (or the source holds
    /// none at all): nothing to show.
    #[error("{name}: no recording matches{}", if asked.is_empty() { " (it holds none)".to_owned() } else { format!(" {asked}") })]
    NoMatch {
        /// The source.
        name: String,
        /// What was asked, as options (`--user nobody`), or empty.
        asked: String,
    },
    /// A wall-clock moment that the recording cannot place.
    #[error("{name}: {why}")]
    Clock {
        /// The source.
        name: String,
        /// Why: before the recording started, or its messages carry no time.
        why: String,
    },
}

impl ReadError {
    /// True if the error came from writing the output (e.g. a closed pipe).
    pub fn output_error(&self) -> Option<&std::io::Error> {
        match self {
            ReadError::Output(e) => Some(e),
            _ => None,
        }
    }
}
