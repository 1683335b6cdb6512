//! `termtape logs`: the journal entries of a recording's host in the
//! recording's time window, as JSON lines, for a log pane beside playback.
//!
//! The window is the recording's start to its end (a live one: to now),
//! from its summary ([`crate::list`]); the entries are read through a
//! journal match on `_HOSTNAME` and a seek to the start, so only the window
//! is read. Recordings' own entries are left out. At most `max` entries
//! are sent, each message cut at [`MAX_LOG_MESSAGE`] bytes: memory is
//! bounded by one entry whatever the window holds.
//!
//! Messages are text from anyone on the host: they are carried as JSON
//! strings (lossy UTF-8), and only a JSON parser should read them.

use std::io;
use std::path::PathBuf;

use serde_json::{Value, json};
use termtape_format::Error;

use crate::list;
use crate::recording::{Query, ReadError, Selection, choose};
use crate::source::{Filter, KeepWaiting, SourceError, host_logs};
pub use crate::source::{LogEntry, MAX_LOG_MESSAGE};

/// The version of the objects written (their `"v"`).
pub const JSON_VERSION: u64 = 1;
/// How many entries are sent unless asked otherwise.
pub const DEFAULT_MAX: u64 = 10_000;
/// The most entries that may be asked for.
pub const MAX_MAX: u64 = 1_000_000;

/// A recording's place in time and where it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The recording's id.
    pub rec: String,
    /// The host it names.
    pub host: String,
    /// Its start, ms since the epoch.
    pub start: u64,
    /// Its end (a live one: now), ms since the epoch.
    pub end: u64,
}

/// The journal to read a source's logs from: a journal source's own (the
/// system journal, or `journal:DIR`'s files), else `journal` (the local
/// one) or what `given` names (`journal` or `journal:DIR`). `Ok(None)` is
/// the system journal.
pub fn journal_for(source: &str, given: Option<&str>) -> Result<Option<PathBuf>, String> {
    let spec = match given {
        Some(given) => given,
        None if source == "journal" || source.starts_with("journal:") => source,
        None => "journal",
    };
    match spec {
        "journal" => Ok(None),
        _ => match spec.strip_prefix("journal:") {
            Some(dir) if !dir.is_empty() => Ok(Some(PathBuf::from(dir))),
            _ => Err(format!(
                "{spec}: logs are read from a journal: journal, or journal:DIR"
            )),
        },
    }
}

/// The window of the recording `query` selects (the only one of the source
/// when it names none), `now` being ms since the epoch.
pub fn window(
    source: &dyn crate::Source,
    query: &Query,
    now: u64,
    on_damage: &mut dyn FnMut(&Error),
) -> Result<Window, ReadError> {
    let query = choose(source, query)?;
    let rec = match &query.selection {
        Selection::Rec(id) | Selection::Only(id) => Some(id.clone()),
        Selection::First => None,
    };
    let filter = Filter {
        rec: rec.clone(),
        follow: false,
        keep_waiting: KeepWaiting::default(),
        ..query.filter.clone()
    };
    let name = source.name();
    let mut summaries = list::list(source.open(&filter)?, &name, &filter, on_damage)?;
    list::mark_live(&mut summaries, source, &filter, now);
    let summary = summaries
        .into_iter()
        .find(|s| rec.as_ref().is_none_or(|id| *id == s.rec))
        .ok_or_else(|| match &rec {
            Some(rec) => ReadError::NotFound {
                name: name.clone(),
                rec: rec.clone(),
            },
            None => ReadError::NoMatch {
                name: name.clone(),
                asked: query.filter.describe(),
            },
        })?;
    let Some(start) = summary.start else {
        return Err(ReadError::Clock {
            name,
            why: format!(
                "recording {}: its messages carry no time, so it has no window to read logs in",
                summary.rec
            ),
        });
    };
    let recorded_end = start + summary.duration;
    Ok(Window {
        rec: summary.rec,
        host: summary.host,
        start,
        end: if summary.live {
            now.max(recorded_end)
        } else {
            recorded_end
        },
    })
}

/// How the logs ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Entries sent.
    pub count: u64,
    /// Whether the window held more than `max`.
    pub truncated: bool,
}

/// Sends the entries of `window`'s host in it, oldest first, as `log`
/// objects to `out`, at most `max` of them, then an `end` object.
/// `journal` is the journal's directory (`None`: the system journal);
/// `filter`'s trust decides whose recording entries are left out.
pub fn logs(
    window: &Window,
    journal: Option<&std::path::Path>,
    filter: &Filter,
    max: u64,
    out: &mut dyn FnMut(&Value) -> io::Result<()>,
) -> Result<Sent, ReadError> {
    let mut sent = Sent {
        count: 0,
        truncated: false,
    };
    let mut failed = None;
    let result = host_logs(
        journal,
        &filter.trust,
        &window.host,
        window.start.saturating_mul(1000),
        window.end.saturating_mul(1000).saturating_add(999),
        &mut |entry| {
            if sent.count == max {
                sent.truncated = true;
                return Ok(false);
            }
            match out(&log_object(window, &entry)) {
                Ok(()) => {
                    sent.count += 1;
                    Ok(true)
                }
                Err(e) => {
                    failed = Some(e);
                    Ok(false)
                }
            }
        },
    );
    if let Some(e) = failed {
        return Err(ReadError::Output(e));
    }
    result.map_err(|source| ReadError::Source(SourceError::Journal { source }))?;
    out(&json!({
        "v": JSON_VERSION,
        "type": "end",
        "count": sent.count,
        "truncated": sent.truncated,
    }))
    .map_err(ReadError::Output)?;
    Ok(sent)
}

/// The `log` object of an entry.
fn log_object(window: &Window, entry: &LogEntry) -> Value {
    let time = entry.usec / 1000;
    json!({
        "v": JSON_VERSION,
        "type": "log",
        "time": time,
        "at": time.saturating_sub(window.start),
        "priority": entry.priority,
        "identifier": entry.identifier,
        "unit": entry.unit,
        "pid": entry.pid,
        "host": entry.host,
        "message": entry.message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_come_from_a_journal_only() {
        assert_eq!(journal_for("journal", None), Ok(None));
        assert_eq!(
            journal_for("journal:/j", None),
            Ok(Some(PathBuf::from("/j")))
        );
        assert_eq!(journal_for("a.log", None), Ok(None));
        assert_eq!(
            journal_for("a.log", Some("journal:/r")),
            Ok(Some(PathBuf::from("/r")))
        );
        assert!(journal_for("a.log", Some("b.log")).is_err());
        assert!(journal_for("a.log", Some("journal:")).is_err());
    }

    #[test]
    fn an_entry_is_placed_in_its_recording() {
        let window = Window {
            rec: "r".into(),
            host: "h".into(),
            start: 1_000_000,
            end: 2_000_000,
        };
        let entry = LogEntry {
            usec: 1_500_000_123,
            priority: Some(3),
            identifier: Some("sshd".into()),
            unit: None,
            pid: Some(7),
            host: Some("h".into()),
            message: "<b>x</b>\u{fffd}".into(),
        };
        let object = log_object(&window, &entry);
        assert_eq!(object["time"], 1_500_000);
        assert_eq!(object["at"], 500_000);
        assert_eq!(object["unit"], Value::Null);
        assert_eq!(object["message"], "<b>x</b>\u{fffd}");
    }
}
