//! Where recordings are read from: files, standard input, the journal.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;

use termtape_format::{Message, ORIGIN_FIELD, Origin};

#[allow(unsafe_code, reason = "getpwnam_r is a C library call")]
mod journal;

pub use journal::{
    JournalLines, RECORDER_ACCOUNTS, UNVERIFIED_FIELD, keyframe_before, trusted_uids,
    unverified_sender,
};

/// A place holding recordings, as named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file of JSON lines, as tlog-rec's file writer and termtape-rec write.
    File(PathBuf),
    /// Standard input (`-`), JSON lines.
    Stdin,
    /// The systemd journal (`journal`), or a directory of journal files
    /// (`journal:DIR`, as systemd-journal-remote writes on a central host).
    Journal(Option<PathBuf>),
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
    /// Whose journal entries count as recordings.
    pub trust: Trust,
}

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
    /// `_UID` as it was there), where they differ from this host's.
    pub uids: Vec<u32>,
    /// Include entries from other senders too, each marked unverified.
    pub unverified: bool,
}

impl Source {
    /// Parses a SOURCE argument: `-` is standard input, `journal` and
    /// `journal:DIR` the journal, anything else a file path.
    pub fn parse(spec: &str) -> io::Result<Source> {
        Ok(match spec {
            "-" => Source::Stdin,
            "journal" => Source::Journal(None),
            _ => match spec.strip_prefix("journal:") {
                Some(dir) if !dir.is_empty() => Source::Journal(Some(PathBuf::from(dir))),
                _ => Source::File(PathBuf::from(spec)),
            },
        })
    }

    /// The name used in messages.
    pub fn name(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::Stdin => "-".to_owned(),
            Source::Journal(None) => "journal".to_owned(),
            Source::Journal(Some(dir)) => format!("journal:{}", dir.display()),
        }
    }

    /// Whether the source can be read only once, from its start: standard
    /// input, or a path that is not a regular file (a FIFO, a character
    /// device such as a terminal or `/dev/zero`, a socket). Seeking and
    /// anything else that would read it twice take the streaming path
    /// instead. A path that cannot be examined is not one: opening it says
    /// why.
    pub fn is_stream(&self) -> bool {
        match self {
            Source::Stdin => true,
            Source::File(path) => std::fs::metadata(path).is_ok_and(|m| !m.is_file()),
            Source::Journal(_) => false,
        }
    }

    /// Opens the source for reading lines of JSON, one message each.
    pub fn open(&self, filter: &Filter) -> io::Result<Box<dyn BufRead>> {
        if filter.follow && !matches!(self, Source::Journal(_)) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "--follow works on the journal; for a file, use `tail -f FILE | termtape play -`",
            ));
        }
        Ok(match self {
            Source::File(path) => {
                let file = File::open(path)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
                // Opening a directory works; reading it fails with a bare
                // "Is a directory".
                if file.metadata().is_ok_and(|m| m.is_dir()) {
                    return Err(io::Error::new(
                        io::ErrorKind::IsADirectory,
                        format!(
                            "{} is a directory, not a recording (for journal files: journal:{})",
                            path.display(),
                            path.display()
                        ),
                    ));
                }
                Box::new(BufReader::with_capacity(256 * 1024, file))
            }
            Source::Stdin => Box::new(BufReader::with_capacity(256 * 1024, io::stdin())),
            Source::Journal(dir) => Box::new(JournalLines::open(dir.as_deref(), filter)?),
        })
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
        assert!(!Source::File(file).is_stream());
        assert!(Source::File("/dev/zero".into()).is_stream());
        assert!(Source::Stdin.is_stream());
        assert!(!Source::File(dir.path().join("absent")).is_stream());
        assert!(!Source::Journal(None).is_stream());
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
        assert_eq!(Source::parse("-").expect("ok"), Source::Stdin);
        assert_eq!(Source::parse("journal").expect("ok"), Source::Journal(None));
        assert_eq!(
            Source::parse("journal:/var/log/journal/remote").expect("ok"),
            Source::Journal(Some("/var/log/journal/remote".into()))
        );
        assert_eq!(
            Source::parse("s.log").expect("ok"),
            Source::File("s.log".into())
        );
        assert_eq!(
            Source::parse("journal:").expect("ok"),
            Source::File("journal:".into())
        );
    }
}
