//! Where recordings are read from: files, standard input, the journal,
//! archives.
//!
//! Every command and the terminal player read through the [`Source`] trait:
//! messages from the start ([`Source::open`]) or from a place a source gave
//! ([`Source::open_at`]), and the keyframe at or before a moment
//! ([`Source::keyframe_before`]), which is all a seek needs. An archive
//! ([`Archive`], seekable zstd) is one more implementation. [`parse`] turns
//! a SOURCE argument into one.

use std::collections::HashMap;
use std::fs::File as FsFile;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::PathBuf;

use termtape_format::{Error, Message, ORIGIN_FIELD, Origin};

use crate::recording::Query;
use crate::seek::Reason;

mod archive;
mod journal;

pub use archive::{Archive, Damage, FRAME_CAP, ZSTD_MAGIC, is_archive};

pub use journal::{
    JournalError, JournalLines, LogEntry, MAX_LOG_MESSAGE, RECORDER_ACCOUNTS, Trusted,
    UNVERIFIED_FIELD, audit_entries, host_logs, keyframe_before, recorder_runs, recorders_run,
    unverified_sender,
};

/// A place holding recordings: what every command reads through.
pub trait Source: std::fmt::Debug {
    /// The name used in messages (as given on the command line).
    fn name(&self) -> String;

    /// Whether the source can be read only once, from its start (standard
    /// input, a FIFO, a device): seeking and anything else that would read
    /// it twice take the streaming path instead.
    fn is_stream(&self) -> bool;

    /// Whether `--follow` (reading on as messages arrive) works on it.
    fn follows(&self) -> bool {
        false
    }

    /// The file's metadata, for a source that is a file.
    fn metadata(&self) -> Option<std::fs::Metadata> {
        None
    }

    /// The messages of a few lines spread over the source, its first and
    /// last among them, read without reading it all: enough to tell a
    /// source that holds one recording at once. `None` where the source
    /// cannot be sampled or a sampled line does not parse (reading it all
    /// then says why).
    fn sample(&self) -> Option<Vec<Message>> {
        None
    }

    /// Opens the source for reading lines of JSON, one message each, from
    /// its start, selecting what `filter` asks for where the source can.
    fn open(&self, filter: &Filter) -> Result<Box<dyn BufRead>, SourceError>;

    /// As [`Source::open`], from `at`, a place this source gave (in a
    /// [`KeyframeAt`]).
    fn open_at(&self, filter: &Filter, at: &Position) -> Result<Box<dyn BufRead>, SourceError> {
        let _ = (filter, at);
        Err(SourceError::NoPlaces { name: self.name() })
    }

    /// Where the last message of `query`'s recording (chosen: a
    /// [`crate::Selection::Rec`]) that carries a keyframe and starts at or
    /// before `until` ms into it is, or why the seek is to replay from the
    /// start instead. A keyframe passed over because it does not decode
    /// goes to `on_damage`.
    fn keyframe_before(
        &self,
        query: &Query,
        until: u64,
        on_damage: &mut dyn FnMut(&Error),
    ) -> Result<Keyed, SourceError> {
        let _ = (query, until, on_damage);
        Ok(Keyed::Replay(Reason::NotAFile))
    }

    /// Whether the process recording `rec` still runs, where the source
    /// can tell (the journal, for entries written on this machine); `None`
    /// where it cannot. [`crate::list`] decides a recording's liveness by it.
    fn recorder_runs(&self, filter: &Filter, rec: &str) -> Option<bool> {
        let _ = (filter, rec);
        None
    }

    /// [`Source::recorder_runs`] for each of `recs`, in order (a source
    /// that asks something of each does it through one handle).
    fn recorders_run(&self, filter: &Filter, recs: &[&str]) -> Vec<Option<bool>> {
        recs.iter()
            .map(|rec| self.recorder_runs(filter, rec))
            .collect()
    }

    /// The summaries of the recordings `filter` selects, live or not (as
    /// [`crate::list::mark_live`] says; `now` in ms since the epoch), made
    /// without reading every message, where the source can (the journal);
    /// `None` where it cannot, and [`crate::list::list`] reads them all.
    fn summaries(
        &self,
        filter: &Filter,
        now: u64,
        on_damage: &mut dyn FnMut(&Error),
    ) -> Option<Result<Vec<crate::list::Summary>, Error>> {
        let _ = (filter, now, on_damage);
        None
    }
}

/// A place in a source, as the source gave it: only that source reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// A byte offset in a file: the start of a line.
    Offset(u64),
    /// A journal cursor.
    Cursor(String),
}

/// A message carrying a keyframe, found by [`Source::keyframe_before`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyframeAt {
    /// Where its line starts: [`Source::open_at`] reads from it.
    pub position: Position,
}

/// What [`Source::keyframe_before`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyed {
    /// The keyframe to start from.
    At(KeyframeAt),
    /// None to start from: replay from the start, for this reason.
    Replay(Reason),
}

/// Why a source could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file could not be opened or read.
    #[error("{name}: {source}")]
    Io {
        /// The source.
        name: String,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// A directory given as a file.
    #[error("{name} is a directory, not a recording (for journal files: journal:{name})")]
    Directory {
        /// The path.
        name: String,
    },
    /// `--follow` on a source that does not grow.
    #[error("--follow works on the journal; for a file, use `tail -f FILE | termtape play -`")]
    NoFollow,
    /// A place asked of a source that gives none.
    #[error("{name}: cannot be read from a place within it")]
    NoPlaces {
        /// The source.
        name: String,
    },
    /// The journal could not be opened or read (a [`JournalError`] within
    /// says what was being done).
    #[error("{source}")]
    Journal {
        /// The error, of its kind.
        #[source]
        source: io::Error,
    },
}

impl SourceError {
    fn journal(source: io::Error) -> SourceError {
        SourceError::Journal { source }
    }
}

impl SourceError {
    /// The error as an [`io::Error`] of its kind, keeping it as the source.
    pub fn into_io(self) -> io::Error {
        let kind = match &self {
            SourceError::Io { source, .. } => source.kind(),
            SourceError::Directory { .. } => io::ErrorKind::IsADirectory,
            SourceError::NoFollow | SourceError::NoPlaces { .. } => io::ErrorKind::Unsupported,
            SourceError::Journal { source } => source.kind(),
        };
        io::Error::new(kind, self)
    }
}

/// Parses a SOURCE argument: `-` is standard input, `journal` and
/// `journal:DIR` the journal, anything else a file path: an [`Archive`] if
/// the file starts as one (whatever its name), else a file of JSON lines.
pub fn parse(spec: &str) -> Box<dyn Source> {
    match spec {
        "-" => Box::new(Stdin),
        "journal" => Box::new(Journal { dir: None }),
        _ => match spec.strip_prefix("journal:") {
            Some(dir) if !dir.is_empty() => Box::new(Journal {
                dir: Some(PathBuf::from(dir)),
            }),
            _ if is_archive(std::path::Path::new(spec)) => Box::new(Archive::new(spec)),
            _ => Box::new(File::new(spec)),
        },
    }
}

/// The size of the buffers sources are read through.
const BUFFER: usize = 256 * 1024;

/// How many lines [`Source::sample`] takes from a file, spread evenly.
const SAMPLES: u64 = 64;

/// A sample reads little at each place.
const SAMPLE_BUFFER: usize = 8 * 1024;

/// The tail of a file in which the sample looks for its last line.
const SAMPLE_TAIL: u64 = 1 << 20;

/// A file of JSON lines, as tlog-rec's file writer and termtape-rec write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    path: PathBuf,
}

impl File {
    /// The file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> File {
        File { path: path.into() }
    }

    /// Opens the file, refusing a directory.
    fn open_file(&self) -> Result<FsFile, SourceError> {
        let io_error = |source| SourceError::Io {
            name: self.name(),
            source,
        };
        let file = FsFile::open(&self.path).map_err(io_error)?;
        // Opening a directory works; reading it fails with a bare
        // "Is a directory".
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(SourceError::Directory { name: self.name() });
        }
        Ok(file)
    }
}

impl Source for File {
    fn name(&self) -> String {
        self.path.display().to_string()
    }

    /// A path that is not a regular file (a FIFO, a character device such
    /// as a terminal or `/dev/zero`, a socket) is a stream. A path that
    /// cannot be examined is not one: opening it says why.
    fn is_stream(&self) -> bool {
        std::fs::metadata(&self.path).is_ok_and(|m| !m.is_file())
    }

    fn metadata(&self) -> Option<std::fs::Metadata> {
        std::fs::metadata(&self.path).ok()
    }

    fn sample(&self) -> Option<Vec<Message>> {
        let file = self.open_file().ok()?;
        let len = file.metadata().ok()?.len();
        let mut input = BufReader::with_capacity(SAMPLE_BUFFER, file);
        let mut lines: Vec<Vec<u8>> = Vec::new();
        // Evenly spaced lines, only ever reading forward: each probe takes
        // the first whole line at or after its offset.
        let mut at = 0u64;
        for i in 0..SAMPLES {
            let offset = len / SAMPLES * i;
            if offset > at {
                input.seek(SeekFrom::Start(offset - 1)).ok()?;
                // From the byte before: a probe on a line's start keeps it.
                at = offset - 1 + termtape_format::skip_line(&mut input).ok()?;
            }
            let mut line = Vec::new();
            match termtape_format::read_line(&mut input, &mut line, termtape_format::MAX_LINE_LEN)
                .ok()?
            {
                termtape_format::LineEnd::Eof => break,
                termtape_format::LineEnd::TooLong => return None,
                _ => {}
            }
            at += line.len() as u64;
            lines.push(line);
        }
        // The last whole line, from the file's tail.
        let tail = len.saturating_sub(SAMPLE_TAIL).max(at);
        if tail > at {
            input.seek(SeekFrom::Start(tail - 1)).ok()?;
            termtape_format::skip_line(&mut input).ok()?;
        }
        let mut last = None;
        loop {
            let mut line = Vec::new();
            match termtape_format::read_line(&mut input, &mut line, termtape_format::MAX_LINE_LEN)
                .ok()?
            {
                termtape_format::LineEnd::Eof => break,
                termtape_format::LineEnd::TooLong => return None,
                _ => last = Some(line),
            }
        }
        lines.extend(last);
        let at = termtape_format::Location {
            source: Some(self.name()),
            ..termtape_format::Location::default()
        };
        lines
            .iter()
            .filter(|line| !line.trim_ascii().is_empty())
            .map(|line| {
                let text = std::str::from_utf8(line).ok()?;
                Message::parse(text.trim_end(), &at).ok()
            })
            .collect()
    }

    fn open(&self, filter: &Filter) -> Result<Box<dyn BufRead>, SourceError> {
        if filter.follow {
            return Err(SourceError::NoFollow);
        }
        Ok(Box::new(BufReader::with_capacity(
            BUFFER,
            self.open_file()?,
        )))
    }

    fn open_at(&self, filter: &Filter, at: &Position) -> Result<Box<dyn BufRead>, SourceError> {
        let Position::Offset(offset) = at else {
            return Err(SourceError::NoPlaces { name: self.name() });
        };
        if filter.follow {
            return Err(SourceError::NoFollow);
        }
        let mut file = self.open_file()?;
        file.seek(SeekFrom::Start(*offset))
            .map_err(|source| SourceError::Io {
                name: self.name(),
                source,
            })?;
        Ok(Box::new(BufReader::with_capacity(BUFFER, file)))
    }

    /// Through the file's index (`FILE.termtape-index`), where it has one
    /// and the filter selects whole recordings: see [`crate::file_index`].
    fn summaries(
        &self,
        filter: &Filter,
        now: u64,
        on_damage: &mut dyn FnMut(&Error),
    ) -> Option<Result<Vec<crate::list::Summary>, Error>> {
        let mut listed =
            match crate::file_index::summaries(&self.path, &self.name(), filter, on_damage)? {
                Ok(listed) => listed,
                Err(e) => return Some(Err(e)),
            };
        crate::list::mark_live(&mut listed, self, filter, now);
        Some(Ok(listed))
    }

    fn keyframe_before(
        &self,
        query: &Query,
        until: u64,
        on_damage: &mut dyn FnMut(&Error),
    ) -> Result<Keyed, SourceError> {
        Ok(crate::seek::keyframe_in_file(
            &self.path,
            &self.name(),
            query,
            until,
            on_damage,
        ))
    }
}

/// Standard input (`-`), JSON lines: read once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stdin;

impl Source for Stdin {
    fn name(&self) -> String {
        "-".to_owned()
    }

    fn is_stream(&self) -> bool {
        true
    }

    fn open(&self, filter: &Filter) -> Result<Box<dyn BufRead>, SourceError> {
        if filter.follow {
            return Err(SourceError::NoFollow);
        }
        Ok(Box::new(BufReader::with_capacity(BUFFER, io::stdin())))
    }
}

/// The systemd journal (`journal`), or a directory of journal files
/// (`journal:DIR`, as systemd-journal-remote writes on a central host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    dir: Option<PathBuf>,
}

impl Journal {
    /// The system journal (`None`), or the journal files in `dir`.
    pub fn new(dir: Option<PathBuf>) -> Journal {
        Journal { dir }
    }
}

impl Source for Journal {
    fn name(&self) -> String {
        match &self.dir {
            None => "journal".to_owned(),
            Some(dir) => format!("journal:{}", dir.display()),
        }
    }

    fn is_stream(&self) -> bool {
        false
    }

    fn follows(&self) -> bool {
        true
    }

    fn open(&self, filter: &Filter) -> Result<Box<dyn BufRead>, SourceError> {
        Ok(Box::new(
            JournalLines::open(self.dir.as_deref(), filter).map_err(SourceError::journal)?,
        ))
    }

    fn open_at(&self, filter: &Filter, at: &Position) -> Result<Box<dyn BufRead>, SourceError> {
        let Position::Cursor(cursor) = at else {
            return Err(SourceError::NoPlaces { name: self.name() });
        };
        Ok(Box::new(
            JournalLines::open_from(self.dir.as_deref(), filter, Some(cursor))
                .map_err(SourceError::journal)?,
        ))
    }

    fn recorder_runs(&self, filter: &Filter, rec: &str) -> Option<bool> {
        recorder_runs(self.dir.as_deref(), filter, rec)
            .ok()
            .flatten()
    }

    fn recorders_run(&self, filter: &Filter, recs: &[&str]) -> Vec<Option<bool>> {
        recorders_run(self.dir.as_deref(), filter, recs).unwrap_or_else(|_| vec![None; recs.len()])
    }

    /// From the journal's index of recording ids and each recording's
    /// first and last entries (see `journal::listing`); not with
    /// `--since`, `--until` or `--follow`, which select entries by time.
    fn summaries(
        &self,
        filter: &Filter,
        now: u64,
        on_damage: &mut dyn FnMut(&Error),
    ) -> Option<Result<Vec<crate::list::Summary>, Error>> {
        if filter.since.is_some() || filter.until.is_some() || filter.follow {
            return None;
        }
        Some(journal::summaries(
            self.dir.as_deref(),
            filter,
            now,
            on_damage,
        ))
    }

    /// Through journal matches on the keyframe mark: only keyframe entries
    /// are read, never the recording's other messages.
    fn keyframe_before(
        &self,
        query: &Query,
        until: u64,
        _on_damage: &mut dyn FnMut(&Error),
    ) -> Result<Keyed, SourceError> {
        let (crate::Selection::Rec(rec) | crate::Selection::Only(rec)) = &query.selection else {
            // Without a recording id there is nothing to match on.
            return Ok(Keyed::Replay(Reason::NotAlone));
        };
        Ok(
            match keyframe_before(self.dir.as_deref(), &query.filter, rec, until)
                .map_err(SourceError::journal)?
            {
                Some(cursor) => Keyed::At(KeyframeAt {
                    position: Position::Cursor(cursor),
                }),
                None => Keyed::Replay(Reason::NoKeyframes),
            },
        )
    }
}

/// What to read of a source: which recording, whose, when. Files are read
/// whole and filtered by the reader; the journal applies these as matches,
/// so it reads only what they select.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this recording (`rec`, the journal's TLOG_REC).
    pub rec: Option<String>,
    /// Only this user's recordings (TLOG_USER).
    pub user: Option<String>,
    /// Only this host's recordings (`_HOSTNAME`).
    pub host: Option<String>,
    /// Only messages written at or after this time, ms since the epoch.
    pub since: Option<u64>,
    /// Only messages written at or before this time, ms since the epoch.
    pub until: Option<u64>,
    /// Only sessions on this terminal: the login terminal or the
    /// recording's own (`/dev/pts/1`, or `pts/1`), as the first message's
    /// `origin` field says (see [`Sessions`]).
    pub tty: Option<String>,
    /// Only sessions whose command line holds this text (`origin` field).
    pub command: Option<String>,
    /// Keep reading as new messages arrive (the journal only).
    pub follow: bool,
    /// While following, asked each time the wait for new messages wakes
    /// (at least once a second): `false` ends the reading.
    pub keep_waiting: KeepWaiting,
    /// Whose journal entries count as recordings.
    pub trust: Trust,
}

/// Whether a follower should wait on (its reader is still there): a
/// callback, or none (wait until the recording ends). Not part of what a
/// filter selects: any two are equal.
#[derive(Clone, Default)]
pub struct KeepWaiting(Option<std::sync::Arc<dyn Fn() -> bool + Send + Sync>>);

impl KeepWaiting {
    /// Waits on while `keep` says so.
    pub fn new(keep: impl Fn() -> bool + Send + Sync + 'static) -> KeepWaiting {
        KeepWaiting(Some(std::sync::Arc::new(keep)))
    }

    /// Whether to wait on.
    pub fn keep(&self) -> bool {
        self.0.as_ref().is_none_or(|keep| keep())
    }
}

impl std::fmt::Debug for KeepWaiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "KeepWaiting(callback)"
        } else {
            "KeepWaiting(always)"
        })
    }
}

impl PartialEq for KeepWaiting {
    fn eq(&self, _: &KeepWaiting) -> bool {
        true
    }
}

impl Eq for KeepWaiting {}

impl Filter {
    /// What the filter asks for, as the options that set it
    /// (`--user nobody --since …`), for messages that say nothing matched;
    /// empty if it asks for nothing.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (option, value) in [
            ("--rec", &self.rec),
            ("--user", &self.user),
            ("--host", &self.host),
            ("--tty", &self.tty),
            ("--command", &self.command),
        ] {
            if let Some(value) = value {
                parts.push(format!("{option} {value}"));
            }
        }
        for (option, value) in [("--since", self.since), ("--until", self.until)] {
            if let Some(ms) = value {
                parts.push(format!("{option} \"{}\"", crate::time::local(ms)));
            }
        }
        parts.join(" ")
    }
}

impl Filter {
    /// Whether the filter has conditions on a session's origin (`--tty`,
    /// `--command`), which [`Sessions`] decides.
    pub fn selects_origin(&self) -> bool {
        self.tty.is_some() || self.command.is_some()
    }

    /// Whether a session of this origin passes `--tty` and `--command`.
    pub fn accepts_origin(&self, origin: &Origin) -> bool {
        let strip = |t: &str| t.strip_prefix("/dev/").unwrap_or(t).to_owned();
        let tty_ok = self.tty.as_deref().is_none_or(|want| {
            let want = strip(want);
            [&origin.tty, &origin.pty]
                .into_iter()
                .flatten()
                .any(|t| strip(t) == want)
        });
        let command_ok = self.command.as_deref().is_none_or(|want| {
            origin
                .command_line()
                .is_some_and(|line| line.contains(want))
        });
        tty_ok && command_ok
    }
}

/// The recordings that pass a [`Filter`]'s origin conditions (`--tty`,
/// `--command`). Only a recording's first message carries its origin, so
/// this remembers, per recording, what that message said; a recording
/// whose first message was not read (damaged, or before a journal's
/// `--since`) does not pass. Give it every message read, in order, before
/// the other conditions.
#[derive(Debug, Default)]
pub struct Sessions {
    decided: HashMap<String, bool>,
}

/// At most this many recordings' decisions are kept.
const MAX_SESSIONS: usize = 1 << 20;

impl Sessions {
    /// Whether `msg`'s recording passes `filter`'s origin conditions (always
    /// true when it has none).
    pub fn accepts(&mut self, filter: &Filter, msg: &Message) -> bool {
        if !filter.selects_origin() {
            return true;
        }
        let key = msg.recording_key();
        if let Some(raw) = msg.extra(ORIGIN_FIELD) {
            let ok = Origin::parse_field(raw.get()).is_ok_and(|o| filter.accepts_origin(&o));
            if self.decided.len() < MAX_SESSIONS || self.decided.contains_key(&key) {
                self.decided.insert(key, ok);
            }
            return ok;
        }
        self.decided.get(&key).copied().unwrap_or(false)
    }
}

/// Whose journal entries are recordings. Anyone on a host can send entries
/// with any `SYSLOG_IDENTIFIER` and `TLOG_*` fields; only journald's
/// trusted `_UID` tells who sent them. Entries whose `_UID` is a recorder
/// account ([`RECORDER_ACCOUNTS`], looked up by name on the reading host, and
/// [`Trust::uids`]) are recordings; others are left out, or with
/// [`Trust::unverified`] shown with their sender and marked unverified
/// (the [`UNVERIFIED_FIELD`] of their messages).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    /// More uids to trust: the recorder accounts' uids on the hosts that
    /// wrote a `journal:DIR` (systemd-journal-remote keeps the sender's
    /// `_UID` as it was there), where they differ from this host's; each on
    /// every host or on one.
    pub uids: Vec<TrustedUid>,
    /// Include entries from other senders too, each marked unverified.
    pub unverified: bool,
}

/// A uid whose journal entries are trusted as a recorder's
/// (`--trust-uid [HOST:]UID`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrustedUid {
    /// Only entries from this host (journald's `_HOSTNAME`); `None`: from
    /// every host.
    pub host: Option<String>,
    /// The sender's uid (journald's `_UID`).
    pub uid: u32,
}

impl TrustedUid {
    /// A uid trusted on every host.
    pub fn everywhere(uid: u32) -> TrustedUid {
        TrustedUid { host: None, uid }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipes_and_devices_are_streams_files_are_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f.log");
        std::fs::write(&file, "").expect("write");
        assert!(!File::new(file).is_stream());
        assert!(File::new("/dev/zero").is_stream());
        assert!(Stdin.is_stream());
        assert!(!File::new(dir.path().join("absent")).is_stream());
        assert!(!Journal::new(None).is_stream());
    }

    #[test]
    fn tty_and_command_select_recordings_by_their_first_message() {
        let line = |rec: &str, id: u64, extra: &str| {
            let json = format!(
                r#"{{"ver":"2.3","host":"h","rec":"{rec}","user":"u","term":"t","session":1,"id":{id},"pos":0,"timing":"","in_txt":"","in_bin":[],"out_txt":"","out_bin":[]{extra}}}"#
            );
            Message::parse(&json, &termtape_format::Location::default()).expect("valid")
        };
        let first_a = line(
            "a",
            1,
            r#","origin":{"tty":"/dev/pts/1","pty":"/dev/pts/4","command":["make","all"]}"#,
        );
        let first_b = line(
            "b",
            1,
            r#","origin":{"pty":"/dev/pts/5","command":["vim"]}"#,
        );
        let (later_a, later_b) = (line("a", 2, ""), line("b", 2, ""));
        let filter = |tty: Option<&str>, command: Option<&str>| Filter {
            tty: tty.map(str::to_owned),
            command: command.map(str::to_owned),
            ..Filter::default()
        };
        for (f, want_a, want_b) in [
            (filter(Some("pts/1"), None), true, false),
            (filter(Some("/dev/pts/4"), None), true, false),
            (filter(Some("pts/5"), None), false, true),
            (filter(None, Some("make a")), true, false),
            (filter(Some("pts/5"), Some("make")), false, false),
            (filter(None, None), true, true),
        ] {
            let mut sessions = Sessions::default();
            let got: Vec<bool> = [&first_a, &first_b, &later_a, &later_b]
                .into_iter()
                .map(|m| sessions.accepts(&f, m))
                .collect();
            assert_eq!(got, [want_a, want_b, want_a, want_b], "{f:?}");
        }
        // A recording whose first message was not seen does not pass.
        let mut sessions = Sessions::default();
        assert!(!sessions.accepts(&filter(Some("pts/1"), None), &later_a));
    }

    #[test]
    fn parses_source_names() {
        // The kind shows in the name, and in the Debug form.
        let kind = |spec: &str| {
            let source = parse(spec);
            (format!("{source:?}"), source.name())
        };
        assert_eq!(kind("-"), ("Stdin".to_owned(), "-".to_owned()));
        assert_eq!(
            kind("journal"),
            ("Journal { dir: None }".to_owned(), "journal".to_owned())
        );
        assert_eq!(
            kind("journal:/var/log/journal/remote"),
            (
                r#"Journal { dir: Some("/var/log/journal/remote") }"#.to_owned(),
                "journal:/var/log/journal/remote".to_owned()
            )
        );
        assert_eq!(
            kind("s.log"),
            (r#"File { path: "s.log" }"#.to_owned(), "s.log".to_owned())
        );
        assert_eq!(
            kind("journal:"),
            (
                r#"File { path: "journal:" }"#.to_owned(),
                "journal:".to_owned()
            )
        );
    }
}
