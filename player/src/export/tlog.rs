//! One recording out of a source (a file of several, the journal) into a
//! tlog file of its own, which tlog-play plays.
//!
//! A whole recording is copied message for message, each line exactly as
//! the source gives it (a journal entry as its message with termtape's
//! fields spliced in, as every reader sees it): the hash chain of a
//! termtape recording verifies in the copy as in the source, seals and
//! all. Messages without the chain (a recording made by tlog) gain
//! keyframes where the recorder would have taken them; a chained message
//! is never changed, since a keyframe added to it would break the chain
//! (termtape's recorder wrote its keyframes already).
//!
//! A cut (`--from`, `--to`) is a new recording: its messages are written
//! anew from the screen at its start (through [`crate::import::Tlog`]), and
//! cannot carry the original's chain: `termtape verify` finds it unsealed.

use std::io::Write;

use termtape_format::{Error, LineEnd, Location, Message, Validator, chain::CHAIN};
use termtape_keyframe::{Cadence, Rekeyer};

use crate::recording::{Choice, Chooser, Damage, Query, ReadError, choose};
use crate::source::{Sessions, Source};

/// What [`copy`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Copied {
    /// Messages copied.
    pub messages: u64,
    /// Of them, chained (copied byte for byte).
    pub chained: u64,
    /// Keyframes added.
    pub keyframes: u64,
}

/// Copies the messages of the recording `query` selects to `out`.
pub fn copy(
    source: &dyn Source,
    query: &Query,
    out: &mut dyn Write,
    on_damage: &mut dyn FnMut(&Error),
    on_progress: &mut dyn FnMut(u64),
) -> Result<Copied, ReadError> {
    let query = &choose(source, query)?;
    let name = source.name();
    let mut input = source.open(&query.filter)?;
    let mut chooser = Chooser::new(&query.selection);
    let mut sessions = Sessions::default();
    let mut validator = Validator::new(query.damage == Damage::Skip);
    let mut rekeyer = Rekeyer::new(Cadence::default());
    let (mut line, mut keyed) = (Vec::new(), Vec::new());
    let (mut n, mut read) = (0u64, 0u64);
    let mut copied = Copied::default();
    let mut damage = |e: Error| -> Result<(), ReadError> {
        match query.damage {
            Damage::Stop => Err(ReadError::Format(e)),
            Damage::Skip => {
                on_damage(&e);
                Ok(())
            }
        }
    };
    loop {
        line.clear();
        n += 1;
        let at = Location {
            source: Some(name.clone()),
            line: n,
            id: None,
        };
        let io = |source, at: &Location| {
            ReadError::Format(Error::Io {
                at: at.clone(),
                source,
            })
        };
        let end = termtape_format::read_line(&mut input, &mut line, termtape_format::MAX_LINE_LEN)
            .map_err(|e| io(e, &at))?;
        match end {
            LineEnd::Eof => break,
            LineEnd::TooLong => {
                read += termtape_format::skip_line(&mut input).map_err(|e| io(e, &at))?;
                damage(Error::TooLong { at })?;
                continue;
            }
            LineEnd::Newline | LineEnd::Unterminated => {}
        }
        read += line.len() as u64;
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        let Ok(text) = std::str::from_utf8(body) else {
            damage(Error::InvalidField {
                at,
                field: "line",
                reason: "not UTF-8".to_owned(),
            })?;
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        let msg = match Message::parse(text, &at) {
            Ok(msg) => msg,
            Err(e) => {
                damage(e)?;
                continue;
            }
        };
        if !sessions.accepts(&query.filter, &msg) || !query.filter.accepts(&msg) {
            continue;
        }
        match chooser.offer(&msg) {
            Choice::Ours => {}
            Choice::Other | Choice::Second => continue,
        }
        let at = Location {
            id: Some(msg.id),
            ..at
        };
        if let Err(e) = validator.check(&msg, &at) {
            damage(e)?;
            if query.damage == Damage::Stop {
                continue;
            }
        }
        copied.messages += 1;
        if copied.messages.is_multiple_of(1024) {
            on_progress(read);
        }
        let written = if msg.extra(CHAIN).is_some() {
            copied.chained += 1;
            out.write_all(text.as_bytes())
                .and_then(|()| out.write_all(b"\n"))
        } else {
            keyed.clear();
            match rekeyer.line(text, &at, &mut keyed) {
                Ok(true) => copied.keyframes += 1,
                Ok(false) => {}
                Err(e) => damage(e)?,
            }
            out.write_all(&keyed)
        };
        written.map_err(ReadError::Output)?;
    }
    if copied.messages == 0 {
        return Err(match &query.selection {
            crate::Selection::Rec(rec) => ReadError::NotFound {
                name,
                rec: rec.clone(),
            },
            _ => ReadError::NoMatch {
                name,
                asked: query.filter.describe(),
            },
        });
    }
    out.flush().map_err(ReadError::Output)?;
    Ok(copied)
}
