//! The messages of one recording, validated and decoded into packets.

use std::io::BufRead;

use termtape_format::{Error, Location, Message, Packet, Reader, Stream, Timed};

use crate::source::Filter;

/// Which recording of a source to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Selection {
    /// The recording of the source's first message; a message of any other
    /// recording is an error (the source holds several: choose with `--rec`).
    #[default]
    First,
    /// The recording with this id (`rec` field).
    Rec(String),
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
        let host_ok = self
            .host
            .as_ref()
            .is_none_or(|h| msg.host == *h || msg.host.split('.').next() == Some(h.as_str()));
        let user_ok = self.user.as_ref().is_none_or(|u| msg.user == *u);
        let since_ok = self.since.is_none_or(|t| msg.time.is_none_or(|m| m >= t));
        let until_ok = self.until.is_none_or(|t| msg.time.is_none_or(|m| m <= t));
        host_ok && user_ok && since_ok && until_ok
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
    let mut sessions = crate::source::Sessions::default();
    let mut chosen: Option<String> = match selection {
        Selection::First => None,
        Selection::Rec(id) => Some(id.clone()),
    };
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
        let key = msg.recording_key();
        match &chosen {
            None => chosen = Some(key),
            Some(want) if *want == key || msg.rec.as_deref() == Some(want.as_str()) => {}
            Some(want) if *selection == Selection::First => {
                return Err(ReadError::Several {
                    name: source.to_owned(),
                    line: reader.line(),
                    first: want.clone(),
                    other: key,
                });
            }
            Some(_) => continue,
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
    Open(std::io::Error),
    /// Writing the result failed.
    #[error("writing output: {0}")]
    Output(#[source] std::io::Error),
    /// The source holds more than one recording and none was chosen.
    #[error(
        "{name}:line {line}: this source holds several recordings ({first}, {other}, …); \
         choose one with --rec (`termtape ls {name}` lists them)"
    )]
    Several {
        /// The source.
        name: String,
        /// Line of the first message of the second recording.
        line: u64,
        /// The first recording's id.
        first: String,
        /// Another recording's id.
        other: String,
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
