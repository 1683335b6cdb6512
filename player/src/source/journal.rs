//! Reading recordings from the systemd journal, through libsystemd.
//!
//! Each entry written by tlog-rec, tlog-rec-session or termtape holds one
//! message in MESSAGE and the recording's id in TLOG_REC. The reader selects
//! entries with journal matches (by identifier, recording, user, host) and
//! seeks by time, so it touches only what it needs; it presents the selected
//! MESSAGE values as lines, for the same validating reader as files.
//!
//! Trust: anyone on a host can send journal entries with any identifier
//! and `TLOG_*` fields, so these say nothing of who wrote an entry; journald's
//! `_UID`, taken from the sending socket's credentials, does. An entry is a
//! recording only if its `_UID` is a recorder account's (see
//! [`super::Trust`]). Other entries are left out, counted in a notice on
//! standard error that names their senders; asked for, they are included
//! with the [`UNVERIFIED_FIELD`] put first in their message, naming the
//! sender. An untrusted entry claiming the id of a recording that has
//! trusted entries is never included: it is dropped with a warning.

use std::borrow::BorrowMut;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use systemd::journal::{Journal, JournalWaitResult, OpenDirectoryOptions, OpenOptions};
use termtape_format::Message;
use termtape_format::extension::{self, Field};

#[cfg(test)]
use super::TrustedUid;
use super::{Filter, KeepWaiting, Trust};

mod files;
mod listing;
#[allow(
    unsafe_code,
    reason = "madvise on libsystemd's mappings has no safe wrapper"
)]
mod pages;
#[allow(unsafe_code, reason = "sd_journal_query_unique has no safe wrapper")]
mod unique;

pub use listing::summaries;

/// The accounts whose entries are recordings: root, the `termtape` user
/// that `termtape-session --install` creates and that recorders run as,
/// and `tlog`, the account tlog-rec-session runs as.
pub const RECORDER_ACCOUNTS: [&str; 3] = ["root", "termtape", "tlog"];

/// The field that the journal reader puts first in the message of an entry
/// from an untrusted sender (included only when asked for): a JSON string
/// naming the sender, e.g. `uid 1007 (python3, /usr/bin/python3.11)`.
pub const UNVERIFIED_FIELD: &str = extension::UNVERIFIED;

/// Distinct recordings and senders kept for notices and lookups: enough for
/// any honest journal, and a bound on what a flood of forged entries costs.
const MAX_TRACKED: usize = 4096;

/// The senders whose entries are recordings: uids trusted on every host
/// (root, the uids of [`RECORDER_ACCOUNTS`] on this host, `--trust-uid
/// UID`) and uids trusted on one host only (`--trust-uid HOST:UID`, by
/// journald's `_HOSTNAME`: a uid that is the recorder's account on one
/// host can be anyone on another).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trusted {
    everywhere: Vec<u32>,
    on_host: Vec<(String, u32)>,
}

impl Trusted {
    /// Whom `trust` trusts, with this host's recorder accounts and root.
    pub fn new(trust: &Trust) -> Trusted {
        let mut everywhere: Vec<u32> = RECORDER_ACCOUNTS
            .iter()
            .filter_map(|name| uid_of(name))
            .chain(
                trust
                    .uids
                    .iter()
                    .filter(|t| t.host.is_none())
                    .map(|t| t.uid),
            )
            .collect();
        // root is uid 0 even where the name is something else.
        everywhere.push(0);
        everywhere.sort_unstable();
        everywhere.dedup();
        let mut on_host: Vec<(String, u32)> = trust
            .uids
            .iter()
            .filter_map(|t| Some((t.host.clone()?, t.uid)))
            .filter(|(_, uid)| !everywhere.contains(uid))
            .collect();
        on_host.sort_unstable();
        on_host.dedup();
        Trusted {
            everywhere,
            on_host,
        }
    }

    /// Whether an entry sent by `uid` from `host` is a recording's.
    pub fn trusts(&self, uid: u32, host: Option<&str>) -> bool {
        self.everywhere.contains(&uid)
            || host.is_some_and(|host| self.on_host.iter().any(|(h, u)| *u == uid && h == host))
    }

    /// Whether the journal's current entry comes from a trusted sender.
    fn entry(&self, journal: &mut Journal) -> io::Result<bool> {
        let Some(uid) = field_text(journal, "_UID")?.and_then(|u| u.parse::<u32>().ok()) else {
            return Ok(false);
        };
        if self.everywhere.contains(&uid) {
            return Ok(true);
        }
        if self.on_host.is_empty() {
            return Ok(false);
        }
        let host = field_text(journal, "_HOSTNAME")?;
        Ok(self.trusts(uid, host.as_deref()))
    }

    /// ANDs to the journal's matches one selecting trusted senders'
    /// entries: `_UID` one of those trusted everywhere, or `_HOSTNAME` and
    /// `_UID` one of the pairs. Matches added afterwards are ANDed with
    /// the whole.
    fn add_matches(&self, journal: &mut Journal) -> io::Result<()> {
        let matching = |e| journal_error("matching", e);
        journal.match_and().map_err(matching)?;
        for uid in &self.everywhere {
            journal
                .match_add("_UID", uid.to_string().into_bytes())
                .map_err(matching)?;
        }
        for (host, uid) in &self.on_host {
            journal
                .match_or()
                .and_then(|j| j.match_add("_HOSTNAME", host.as_bytes().to_vec()))
                .and_then(|j| j.match_add("_UID", uid.to_string().into_bytes()))
                .map_err(matching)?;
        }
        journal.match_and().map_err(matching)?;
        Ok(())
    }
}

/// The uid of the user `name`, through the C library (NSS), if it exists.
fn uid_of(name: &str) -> Option<u32> {
    let user = nix::unistd::User::from_name(name).ok()??;
    Some(user.uid.as_raw())
}

/// The sender a message of an untrusted entry names, as the journal
/// reader marked it; `None` for a trusted one.
pub fn unverified_sender(msg: &Message) -> Option<String> {
    let raw = msg.extra(UNVERIFIED_FIELD)?;
    Some(serde_json::from_str::<String>(raw.get()).unwrap_or_else(|_| raw.get().to_owned()))
}

/// Writes a notice of the journal reader to standard error.
fn notice(text: &str) {
    let _ = io::stdout().flush();
    let _ = writeln!(io::stderr().lock(), "termtape: warning: {text}");
}

/// The SYSLOG_IDENTIFIERs of recorders that write tlog messages.
const RECORDERS: [&str; 4] = [
    "tlog-rec",
    "tlog-rec-session",
    "termtape",
    "termtape-session",
];

/// Opens the system journal, or the journal files in `dir`.
fn open_journal(dir: Option<&Path>) -> io::Result<Journal> {
    let mut journal = match dir {
        None => OpenOptions::default()
            .system(true)
            .local_only(false)
            .open()
            .map_err(|e| journal_error("opening the journal", e))?,
        Some(dir) => OpenDirectoryOptions::default()
            .open_directory(dir.as_os_str().as_encoded_bytes())
            .map_err(|e| {
                journal_error(&format!("opening journal directory {}", dir.display()), e)
            })?,
    };
    // Messages can be near 4 KiB, keyframes much bigger: read fields whole.
    journal
        .set_data_threshold(0)
        .map_err(|e| journal_error("configuring the journal", e))?;
    Ok(journal)
}

/// The cursor of the last entry of recording `rec` that carries a keyframe
/// and starts at or before `until` milliseconds into the recording, found
/// through journal matches on the keyframe mark: only keyframe entries are
/// read, never the recording's other messages.
///
/// Only entries from trusted senders are looked at, unless `filter` asks for
/// unverified entries and the recording has no trusted entry at all.
pub fn keyframe_before(
    dir: Option<&Path>,
    filter: &Filter,
    rec: &str,
    until: u64,
) -> io::Result<Option<String>> {
    let trusted = Trusted::new(&filter.trust);
    let trusted_only =
        !filter.trust.unverified || has_trusted_entries(&mut open_journal(dir)?, rec, &trusted)?;
    let mut journal = open_journal(dir)?;
    journal
        .match_add("TLOG_REC", rec.as_bytes().to_vec())
        .and_then(|j| j.match_and())
        .and_then(|j| j.match_add(extension::JOURNAL_KEYFRAME_MARK, b"1".to_vec()))
        .map_err(|e| journal_error("matching", e))?;
    if trusted_only {
        trusted.add_matches(&mut journal)?;
    }
    journal
        .seek_head()
        .map_err(|e| journal_error("seeking in the journal", e))?;
    let mut best = None;
    while journal
        .next()
        .map_err(|e| journal_error("reading the journal", e))?
        > 0
    {
        let Some(field) = journal
            .get_data("MESSAGE")
            .map_err(|e| journal_error("reading MESSAGE", e))?
        else {
            continue;
        };
        let Some(pos) = field.value().and_then(message_pos) else {
            continue;
        };
        if pos > until {
            break;
        }
        best = Some(
            journal
                .cursor()
                .map_err(|e| journal_error("reading the cursor", e))?,
        );
    }
    Ok(best)
}

/// Whether the recorder that wrote recording `rec`'s last entry (from a
/// trusted sender) still runs: `Some(false)` when that entry was written
/// on this machine in an earlier boot, or its process (`_PID`) is gone or
/// is no longer a recorder (pids are reused); `Some(true)` when it runs;
/// `None` when the entry comes from another machine (a `journal:DIR` of
/// remote hosts), where nothing here can tell.
pub fn recorder_runs(dir: Option<&Path>, filter: &Filter, rec: &str) -> io::Result<Option<bool>> {
    let mut journal = open_journal(dir)?;
    journal
        .match_add("TLOG_REC", rec.as_bytes().to_vec())
        .map_err(|e| journal_error("matching", e))?;
    Trusted::new(&filter.trust).add_matches(&mut journal)?;
    journal
        .seek_tail()
        .map_err(|e| journal_error("seeking in the journal", e))?;
    if journal
        .previous()
        .map_err(|e| journal_error("reading the journal", e))?
        == 0
    {
        return Ok(None);
    }
    recorder_of_entry_runs(&mut journal)
}

/// [`recorder_runs`] for each of `recs`, through one open journal.
pub fn recorders_run(
    dir: Option<&Path>,
    filter: &Filter,
    recs: &[&str],
) -> io::Result<Vec<Option<bool>>> {
    let mut journal = open_journal(dir)?;
    let trusted = Trusted::new(&filter.trust);
    let mut runs = Vec::with_capacity(recs.len());
    for (i, rec) in recs.iter().enumerate() {
        // Each lookup maps pages of its own (see `pages`).
        if i % RELEASE_LOOKUPS == RELEASE_LOOKUPS - 1 {
            pages::release();
        }
        journal
            .match_flush()
            .and_then(|j| j.match_add("TLOG_REC", rec.as_bytes().to_vec()))
            .map_err(|e| journal_error("matching", e))?;
        trusted.add_matches(&mut journal)?;
        journal
            .seek_tail()
            .map_err(|e| journal_error("seeking in the journal", e))?;
        let last = journal
            .previous()
            .map_err(|e| journal_error("reading the journal", e))?;
        runs.push(match last {
            0 => None,
            _ => recorder_of_entry_runs(&mut journal)?,
        });
    }
    Ok(runs)
}

/// [`recorder_runs`] for the journal's current entry, a recording's last.
fn recorder_of_entry_runs(journal: &mut Journal) -> io::Result<Option<bool>> {
    let ours = |path: &str| std::fs::read_to_string(path).map(|s| s.trim().replace('-', ""));
    let machine = field_text(journal, "_MACHINE_ID")?;
    if machine.is_none() || machine.as_deref() != ours("/etc/machine-id").ok().as_deref() {
        return Ok(None);
    }
    let boot = field_text(journal, "_BOOT_ID")?;
    if boot.as_deref() != ours("/proc/sys/kernel/random/boot_id").ok().as_deref() {
        return Ok(Some(false));
    }
    let Some(pid) = field_text(journal, "_PID")?.and_then(|p| p.parse::<u32>().ok()) else {
        return Ok(None);
    };
    // A reused pid runs something else: only a recorder's name counts
    // (comm is cut at 15 bytes: termtape-sessio, tlog-rec-sessio).
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    Ok(Some(
        comm.starts_with("termtape") || comm.starts_with("tlog-rec"),
    ))
}

/// Whether recording `rec` has an entry from a `trusted` sender: one indexed
/// journal lookup.
fn has_trusted_entries(journal: &mut Journal, rec: &str, trusted: &Trusted) -> io::Result<bool> {
    journal
        .match_flush()
        .map_err(|e| journal_error("matching", e))?;
    journal
        .match_add("TLOG_REC", rec.as_bytes().to_vec())
        .map_err(|e| journal_error("matching", e))?;
    trusted.add_matches(journal)?;
    journal
        .seek_head()
        .map_err(|e| journal_error("seeking in the journal", e))?;
    Ok(journal
        .next()
        .map_err(|e| journal_error("reading the journal", e))?
        > 0)
}

/// The `pos` of a message, read without parsing the whole of it.
fn message_pos(json: &[u8]) -> Option<u64> {
    extension::find(json, "pos").ok()??.parse().ok()
}

/// The most bytes of a log entry's MESSAGE that [`host_logs`] gives; the
/// rest is cut.
pub const MAX_LOG_MESSAGE: usize = 64 * 1024;

/// A journal entry of a host's logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// When journald received it, µs since the epoch.
    pub usec: u64,
    /// PRIORITY, 0 (emergency) to 7 (debug).
    pub priority: Option<u8>,
    /// SYSLOG_IDENTIFIER.
    pub identifier: Option<String>,
    /// _SYSTEMD_UNIT.
    pub unit: Option<String>,
    /// _PID.
    pub pid: Option<u32>,
    /// _HOSTNAME.
    pub host: Option<String>,
    /// MESSAGE, at most [`MAX_LOG_MESSAGE`] bytes of it, lossy UTF-8.
    pub message: String,
}

/// The journal of `dir` (`None`: this machine's) at `since_usec`, its
/// entries those with `field=value`, each field read up to
/// [`MAX_LOG_MESSAGE`] bytes, not whole: memory stays bounded.
fn open_matching(
    dir: Option<&Path>,
    field: &str,
    value: &[u8],
    since_usec: u64,
) -> io::Result<Journal> {
    let mut journal = open_journal(dir)?;
    journal
        .set_data_threshold(MAX_LOG_MESSAGE)
        .map_err(|e| journal_error("configuring the journal", e))?;
    journal
        .match_add(field, value.to_vec())
        .map_err(|e| journal_error("matching", e))?;
    journal
        .seek_realtime_usec(since_usec)
        .map_err(|e| journal_error("seeking in the journal", e))?;
    Ok(journal)
}

/// Gives `each` the entries with `_HOSTNAME=host` that journald received
/// from `since_usec` to `until_usec`, oldest first, until it returns
/// false. Recordings' entries (TLOG_REC from a sender `trust` trusts) are
/// left out: they are not logs. An untrusted entry with a TLOG_REC stays
/// in, so that no one can hide a log line by adding the field to it.
pub fn host_logs(
    dir: Option<&Path>,
    trust: &Trust,
    host: &str,
    since_usec: u64,
    until_usec: u64,
    each: &mut dyn FnMut(LogEntry) -> io::Result<bool>,
) -> io::Result<()> {
    let mut journal = open_matching(dir, "_HOSTNAME", host.as_bytes(), since_usec)?;
    let trusted = Trusted::new(trust);
    while let Some(usec) = next_received(&mut journal)? {
        if usec < since_usec {
            continue;
        }
        if usec > until_usec {
            break;
        }
        if journal
            .get_data("TLOG_REC")
            .map_err(|e| journal_error("reading the journal", e))?
            .is_some()
            && trusted.entry(&mut journal)?
        {
            continue;
        }
        let message = match journal
            .get_data("MESSAGE")
            .map_err(|e| journal_error("reading MESSAGE", e))?
        {
            Some(field) => {
                let value = field.value().unwrap_or_default();
                String::from_utf8_lossy(&value[..value.len().min(MAX_LOG_MESSAGE)]).into_owned()
            }
            None => String::new(),
        };
        let priority = field_text(&mut journal, "PRIORITY")?;
        let pid = field_text(&mut journal, "_PID")?;
        // When the sender's message reached the socket (journald's own,
        // trusted field), not when journald got round to it: under load
        // that is later than output the session wrote just after.
        let sent = field_text(&mut journal, "_SOURCE_REALTIME_TIMESTAMP")?
            .and_then(|t| t.trim().parse::<u64>().ok())
            .filter(|t| *t <= usec);
        let entry = LogEntry {
            usec: sent.unwrap_or(usec),
            priority: priority
                .and_then(|p| p.trim().parse::<u8>().ok())
                .filter(|p| *p <= 7),
            identifier: field_text(&mut journal, "SYSLOG_IDENTIFIER")?,
            unit: field_text(&mut journal, "_SYSTEMD_UNIT")?,
            pid: pid.and_then(|p| p.trim().parse().ok()),
            host: field_text(&mut journal, "_HOSTNAME")?,
            message,
        };
        if !each(entry)? {
            break;
        }
    }
    Ok(())
}

/// Gives `each` the kernel's audit records journald took in (entries with
/// `_TRANSPORT=audit`, a field only journald sets) from `since_usec` to
/// `until_usec`, oldest first, until it returns false: each as a record
/// line in audit.log's form, `type=T msg=audit(SECS.MILLIS:SERIAL): …`,
/// made from the entry's `_AUDIT_TYPE_NAME`, `_SOURCE_REALTIME_TIMESTAMP`,
/// `_AUDIT_ID` and `MESSAGE` (journald's form: the type name, a space, the
/// record's fields), at most [`MAX_LOG_MESSAGE`] bytes of it.
pub fn audit_entries(
    dir: Option<&Path>,
    since_usec: u64,
    until_usec: u64,
    each: &mut dyn FnMut(String) -> io::Result<bool>,
) -> io::Result<()> {
    let mut journal = open_matching(dir, "_TRANSPORT", b"audit", since_usec)?;
    while let Some(usec) = next_received(&mut journal)? {
        if usec > until_usec.saturating_add(60_000_000) {
            break;
        }
        let message = field_text(&mut journal, "MESSAGE")?.unwrap_or_default();
        let kind = field_text(&mut journal, "_AUDIT_TYPE_NAME")?.unwrap_or_default();
        let serial = field_text(&mut journal, "_AUDIT_ID")?.unwrap_or_default();
        let stamp = field_text(&mut journal, "_SOURCE_REALTIME_TIMESTAMP")?
            .and_then(|t| t.trim().parse::<u64>().ok())
            .unwrap_or(usec);
        if stamp < since_usec || stamp > until_usec {
            continue;
        }
        let fields = message
            .strip_prefix(kind.as_str())
            .map_or(message.as_str(), str::trim_start);
        let line = format!(
            "type={kind} msg=audit({}.{:03}:{serial}): {fields}",
            stamp / 1_000_000,
            stamp / 1000 % 1000
        );
        if !each(line)? {
            break;
        }
    }
    Ok(())
}

/// The MESSAGE values of the selected journal entries, one per line,
/// read through a journal it owns (`J` = [`Journal`]) or borrows (`&mut
/// Journal`: a listing reads many recordings through one).
pub struct JournalLines<J: BorrowMut<Journal> = Journal> {
    entries: Entries<J>,
    until_usec: Option<u64>,
    follow: bool,
    keep_waiting: KeepWaiting,
    buf: Vec<u8>,
    at: usize,
    done: bool,
    senders: Senders,
    /// Recent entries, to drop the copies a recorder sends again when
    /// journald died before reading them: (recording, TLOG_ID, MESSAGE
    /// hash), oldest first.
    recent: VecDeque<(String, String, u64)>,
    recent_set: HashSet<(String, String, u64)>,
    /// Entries read.
    read: u64,
}

/// Where a reader's entries come from.
enum Entries<J> {
    /// libsystemd, matching and seeking for the reader.
    Library(J),
    /// The journal files of a directory, read directly (see `files`).
    Files(Box<files::JournalFiles>),
}

impl<J: BorrowMut<Journal>> Entries<J> {
    /// Moves to the next entry; false past the last.
    fn next(&mut self) -> io::Result<bool> {
        match self {
            Entries::Library(j) => Ok(j
                .borrow_mut()
                .next()
                .map_err(|e| journal_error("reading the journal", e))?
                > 0),
            Entries::Files(files) => Ok(files.next()),
        }
    }

    /// When journald received the current entry, µs since the epoch.
    fn realtime(&mut self) -> io::Result<u64> {
        match self {
            Entries::Library(j) => j
                .borrow_mut()
                .timestamp_usec()
                .map_err(|e| journal_error("reading the journal", e)),
            Entries::Files(files) => Ok(files.realtime()),
        }
    }
}

/// Entries read between releases of the journal pages mapped.
const RELEASE_EVERY: u64 = 2048;

/// Recordings looked up between releases of the journal pages mapped.
const RELEASE_LOOKUPS: usize = 128;

/// How many recent entries are remembered for dropping copies: a recorder
/// sends again at most what one journald's socket queue holds.
const RECENT: usize = 8192;

/// What the reader knows of senders: whom it trusts, which recordings have
/// trusted entries, and what it left out or marked, for its notices.
struct Senders {
    trusted: Trusted,
    unverified: bool,
    /// Where to look up recordings, opened on first need.
    dir: Option<PathBuf>,
    lookup: Option<Journal>,
    /// Recording id → whether it has trusted entries.
    known: HashMap<String, bool>,
    /// Sender → entries left out (not asked for).
    left_out: BTreeMap<String, u64>,
    /// (sender, recording) → entries included, marked unverified.
    included: BTreeMap<(String, String), u64>,
    /// (sender, why) → entries dropped, each pair warned of once.
    dropped: BTreeMap<(String, String), u64>,
    /// Extension fields left out of their messages.
    bad_fields: u64,
    reported: bool,
}

/// What to do with an entry.
enum Verdict {
    Trusted,
    /// Included, marked with this sender.
    Unverified(String),
    Skip,
}

/// A journal call that failed: what was being done, and libsystemd's
/// error, kept as the source.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct JournalError {
    what: String,
    #[source]
    source: io::Error,
}

/// An [`io::Error`] of `e`'s kind holding a [`JournalError`] (the reader is
/// a [`BufRead`], whose errors are `io::Error`s).
fn journal_error(what: &str, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        JournalError {
            what: what.to_owned(),
            source: e,
        },
    )
}

impl JournalLines {
    /// Opens the system journal, or the journal files in `dir`, selecting
    /// entries by `filter`.
    pub fn open(dir: Option<&Path>, filter: &Filter) -> io::Result<JournalLines> {
        JournalLines::open_from(dir, filter, None)
    }

    /// As [`JournalLines::open`], starting at the entry `cursor` names (as
    /// [`keyframe_before`] finds it) instead of at the start.
    pub fn open_from(
        dir: Option<&Path>,
        filter: &Filter,
        cursor: Option<&str>,
    ) -> io::Result<JournalLines> {
        // A reading of a whole directory, from its start or a time, reads
        // the files directly when it can (see `files`); matches by field,
        // cursors and following are libsystemd's.
        if let Some(dir) = dir
            && cursor.is_none()
            && !filter.follow
            && filter.rec.is_none()
            && filter.user.is_none()
            && filter.host.is_none()
            && let Some(files) =
                files::JournalFiles::open(dir, filter.since.map(|ms| ms.saturating_mul(1000)))
                    .map_err(|e| {
                        journal_error(&format!("opening journal directory {}", dir.display()), e)
                    })?
        {
            return Ok(JournalLines::over(
                Entries::Files(Box::new(files)),
                Some(dir),
                filter,
            ));
        }
        JournalLines::reading(
            open_journal(dir)?,
            dir,
            filter,
            cursor,
            filter.rec.is_none(),
        )
    }
}

impl<J: BorrowMut<Journal>> JournalLines<J> {
    /// Reads through `journal` (opened on `dir`) the entries `filter`
    /// selects, from `cursor` or the start; with `identifiers`, only
    /// entries of recorders' identifiers (as a listing of every recording
    /// reads them).
    fn reading(
        mut journal: J,
        dir: Option<&Path>,
        filter: &Filter,
        cursor: Option<&str>,
        identifiers: bool,
    ) -> io::Result<JournalLines<J>> {
        let j = journal.borrow_mut();
        j.match_flush().map_err(|e| journal_error("matching", e))?;
        if let Some(rec) = &filter.rec {
            j.match_add("TLOG_REC", rec.as_bytes().to_vec())
                .map_err(|e| journal_error("matching", e))?;
        }
        if identifiers {
            // Values of one field are ORed.
            for ident in RECORDERS {
                j.match_add("SYSLOG_IDENTIFIER", ident.as_bytes().to_vec())
                    .map_err(|e| journal_error("matching", e))?;
            }
        }
        for (field, value) in [("TLOG_USER", &filter.user), ("_HOSTNAME", &filter.host)] {
            if let Some(value) = value {
                j.match_and().map_err(|e| journal_error("matching", e))?;
                j.match_add(field, value.as_bytes().to_vec())
                    .map_err(|e| journal_error("matching", e))?;
            }
        }
        match (cursor, filter.since) {
            (Some(cursor), _) => j.seek_cursor(cursor),
            (None, Some(ms)) => j.seek_realtime_usec(ms.saturating_mul(1000)),
            (None, None) => j.seek_head(),
        }
        .map_err(|e| journal_error("seeking in the journal", e))?;
        Ok(JournalLines::over(Entries::Library(journal), dir, filter))
    }

    /// A reader of `entries`, of the journal in `dir`, as `filter` asks.
    fn over(entries: Entries<J>, dir: Option<&Path>, filter: &Filter) -> JournalLines<J> {
        JournalLines {
            entries,
            until_usec: filter.until.map(|ms| ms.saturating_mul(1000)),
            follow: filter.follow,
            keep_waiting: filter.keep_waiting.clone(),
            buf: Vec::new(),
            at: 0,
            done: false,
            senders: Senders::new(dir, &filter.trust),
            recent: VecDeque::new(),
            recent_set: HashSet::new(),
            read: 0,
        }
    }

    /// Moves to the next selected entry with a MESSAGE and loads it into
    /// the buffer; false at the end.
    fn next_message(&mut self) -> io::Result<bool> {
        loop {
            if !self.entries.next()? {
                let Entries::Library(journal) = &mut self.entries else {
                    return Ok(false);
                };
                if !self.follow {
                    return Ok(false);
                }
                if !self.keep_waiting.keep() {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "following the journal: the reader went away",
                    ));
                }
                // Wait for journald to append; wake up now and then in case
                // a rotation went unnoticed.
                match journal
                    .borrow_mut()
                    .wait(Some(Duration::from_secs(1)))
                    .map_err(|e| journal_error("waiting for the journal", e))?
                {
                    JournalWaitResult::Nop
                    | JournalWaitResult::Append
                    | JournalWaitResult::Invalidate => continue,
                }
            }
            if let Some(until) = self.until_usec
                && self.entries.realtime()? > until
            {
                return Ok(false);
            }
            // One pass over the entry's fields: libsystemd decompresses a
            // compressed field (MESSAGE, a keyframe) each time it is asked
            // for one past it, and that was half a reader's time.
            let mut fields = match &mut self.entries {
                Entries::Library(journal) => {
                    let fields = EntryFields::read(|each| each_field(journal.borrow_mut(), each))?;
                    // A reading of the whole journal would keep every page
                    // of it mapped and resident (see `pages`).
                    self.read += 1;
                    if self.read.is_multiple_of(RELEASE_EVERY) {
                        pages::release();
                    }
                    fields
                }
                Entries::Files(files) => {
                    let fields = EntryFields::read(|each| {
                        files.fields(each);
                        Ok(())
                    })?;
                    // As the match on identifiers selects entries through
                    // libsystemd.
                    if !fields.recorder {
                        continue;
                    }
                    fields
                }
            };
            // Recorders name the recording of every message in TLOG_REC;
            // their other entries (a nested login's note, a warning) are
            // not messages.
            if fields.rec.is_none() {
                continue;
            }
            let Some(message) = fields.message.take() else {
                continue;
            };
            self.buf = message;
            match self.senders.judge(&fields, &self.buf)? {
                Verdict::Trusted => {
                    if self.is_copy(&fields) {
                        continue;
                    }
                }
                Verdict::Skip => continue,
                Verdict::Unverified(sender) => {
                    if !mark_unverified(&mut self.buf, &sender) {
                        self.senders
                            .drop_entry(sender, "its MESSAGE is not a JSON object".to_owned());
                        continue;
                    }
                }
            }
            self.restore_extras(fields);
            self.buf.push(b'\n');
            self.at = 0;
            return Ok(true);
        }
    }
}

/// What a reader needs of a journal entry, read in one pass over its
/// fields.
#[derive(Debug, Default)]
struct EntryFields {
    rec: Option<String>,
    id: Option<String>,
    uid: Option<String>,
    host: Option<String>,
    /// The sender's command and program, to name it.
    comm: Option<String>,
    exe: Option<String>,
    /// Whether its SYSLOG_IDENTIFIER is a recorder's ([`RECORDERS`]).
    recorder: bool,
    message: Option<Vec<u8>>,
    /// Extension fields, to go back into the message.
    extras: Extras,
    /// Extension fields that cannot go back.
    bad: Vec<extension::BadField>,
}

impl EntryFields {
    /// What a reader needs of the entry whose fields `fields` gives, in
    /// one pass; of a field given twice, the first, as `get_data` gives it.
    fn read(
        fields: impl FnOnce(&mut dyn FnMut(&[u8], &[u8])) -> io::Result<()>,
    ) -> io::Result<EntryFields> {
        let mut e = EntryFields::default();
        let text = |to: &mut Option<String>, v: &[u8]| {
            to.get_or_insert_with(|| String::from_utf8_lossy(v).into_owned());
        };
        (e.extras, e.bad) = extension_fields(fields, |name, value| match name {
            b"TLOG_REC" => text(&mut e.rec, value),
            b"TLOG_ID" => text(&mut e.id, value),
            b"_UID" => text(&mut e.uid, value),
            b"_HOSTNAME" => text(&mut e.host, value),
            b"_COMM" => text(&mut e.comm, value),
            b"_EXE" => text(&mut e.exe, value),
            b"SYSLOG_IDENTIFIER" => {
                e.recorder |= RECORDERS.iter().any(|r| r.as_bytes() == value);
            }
            b"MESSAGE" => {
                e.message.get_or_insert_with(|| value.to_vec());
            }
            _ => {}
        })?;
        Ok(e)
    }
}

impl<J: BorrowMut<Journal>> JournalLines<J> {
    /// Whether the current entry (its MESSAGE in the buffer) is a copy of
    /// one read just before: same recording, TLOG_ID and MESSAGE.
    fn is_copy(&mut self, fields: &EntryFields) -> bool {
        let (Some(rec), Some(id)) = (fields.rec.clone(), fields.id.clone()) else {
            return false;
        };
        let key = (rec, id, fingerprint(&self.buf));
        if self.recent_set.contains(&key) {
            return true;
        }
        if self.recent.len() >= RECENT
            && let Some(old) = self.recent.pop_front()
        {
            self.recent_set.remove(&old);
        }
        self.recent_set.insert(key.clone());
        self.recent.push_back(key);
        false
    }

    /// Puts the entry's extension fields (`TERMTAPE_X_*`) back into the
    /// message in the buffer, in their file form. A field that cannot go
    /// back (not JSON, or named as one of tlog's) is left out, with a
    /// warning.
    fn restore_extras(&mut self, fields: EntryFields) {
        for e in fields.bad {
            self.senders.bad_field(&format!(
                "journal: recording {} (TLOG_ID {}): {e}; left out of the message",
                visible(fields.rec.as_deref().unwrap_or_default()),
                visible(fields.id.as_deref().unwrap_or_default())
            ));
        }
        if let Some(line) = with_extras(&self.buf, &fields.extras) {
            self.buf = line;
        }
    }
}

/// A quick 64-bit fingerprint of a message, four words at a time (SipHash
/// of every message was 4 % of a search over a journal). Not made to
/// resist a chosen collision, and it need not: what it fingerprints goes
/// with the recording and TLOG_ID, which are compared exactly, and only a
/// recorder's copies share those.
fn fingerprint(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let word = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("eight bytes"));
    let mix = |h: u64, w: u64| (h ^ w).wrapping_mul(K).rotate_left(31);
    let mut lanes = [bytes.len() as u64, 1, 2, 3];
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        for (lane, w) in lanes.iter_mut().zip(block.chunks_exact(8)) {
            *lane = mix(*lane, word(w));
        }
    }
    let mut tail = [0u8; 32];
    tail[..blocks.remainder().len()].copy_from_slice(blocks.remainder());
    for (lane, w) in lanes.iter_mut().zip(tail.chunks_exact(8)) {
        *lane = mix(*lane, word(w));
    }
    let h = lanes.iter().fold(0, |h, &lane| mix(h, lane));
    h ^ (h >> 29)
}

/// Extension fields (file-form name, value).
type Extras = Vec<(String, String)>;

/// The extension fields of an entry whose fields `fields` gives, and those
/// that could not go back into its message; `other` is given every other
/// field, name and value.
fn extension_fields(
    fields: impl FnOnce(&mut dyn FnMut(&[u8], &[u8])) -> io::Result<()>,
    mut other: impl FnMut(&[u8], &[u8]),
) -> io::Result<(Extras, Vec<extension::BadField>)> {
    let mut extras: Extras = Vec::new();
    let mut bad = Vec::new();
    fields(
        &mut |name, value| match extension::from_journal(name, value) {
            None => other(name, value),
            Some(Ok((name, value))) => extras.push((name, value.to_owned())),
            Some(Err(e)) => bad.push(e),
        },
    )?;
    Ok((extras, bad))
}

/// Gives `each` the name and value of every field of `journal`'s current
/// entry, in one pass (a compressed one is decompressed once).
fn each_field(journal: &mut Journal, each: &mut dyn FnMut(&[u8], &[u8])) -> io::Result<()> {
    journal.restart_data();
    while let Some(field) = journal
        .enumerate_data()
        .map_err(|e| journal_error("reading the journal", e))?
    {
        if let (name, Some(value)) = (field.name(), field.value()) {
            each(name, value);
        }
    }
    Ok(())
}

/// `tlog` with `extras` put back: `None` if there are none or it is not an
/// object.
fn with_extras(tlog: &[u8], extras: &[(String, String)]) -> Option<Vec<u8>> {
    if extras.is_empty() {
        return None;
    }
    let fields: Vec<Field<'_>> = extras.iter().map(|(n, v)| Field::new(n, v)).collect();
    let mut line = Vec::with_capacity(tlog.len() + 64 * fields.len());
    extension::write_file_form(&mut line, tlog, &[], &fields)
        .is_ok()
        .then_some(line)
}

impl<J: BorrowMut<Journal>> Read for JournalLines<J> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<J: BorrowMut<Journal>> BufRead for JournalLines<J> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at >= self.buf.len() && !self.done && !self.next_message()? {
            self.done = true;
            self.buf.clear();
            self.at = 0;
            self.senders.report();
        }
        Ok(&self.buf[self.at..])
    }

    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.buf.len());
    }
}

impl<J: BorrowMut<Journal>> Drop for JournalLines<J> {
    fn drop(&mut self) {
        self.senders.report();
    }
}

/// Puts the [`UNVERIFIED_FIELD`] naming `sender` first in the JSON object
/// in `buf`, where the message's reader finds it before any field of the
/// same name the sender wrote; false if `buf` is not an object with
/// members.
fn mark_unverified(buf: &mut Vec<u8>, sender: &str) -> bool {
    let value = serde_json::Value::from(sender).to_string();
    let mark = [Field::new(UNVERIFIED_FIELD, &value)];
    let mut line = Vec::with_capacity(buf.len() + value.len() + 32);
    if extension::write_file_form(&mut line, buf, &mark, &[]).is_err() {
        return false;
    }
    *buf = line;
    true
}

/// The `rec` of a message, if it is a JSON object with one string `rec`.
fn message_rec(json: &[u8]) -> Result<Option<String>, ()> {
    match serde_json::from_slice::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(map)) => {
            Ok(map.get("rec").and_then(|r| r.as_str()).map(str::to_owned))
        }
        _ => Err(()),
    }
}

/// A journal field of the current entry as text, if it is there.
/// Moves to the next entry and gives when journald received it (µs since
/// the epoch); `None` past the last.
fn next_received(journal: &mut Journal) -> io::Result<Option<u64>> {
    let read = |e| journal_error("reading the journal", e);
    if journal.next().map_err(read)? == 0 {
        return Ok(None);
    }
    journal.timestamp_usec().map(Some).map_err(read)
}

fn field_text(journal: &mut Journal, name: &str) -> io::Result<Option<String>> {
    Ok(journal
        .get_data(name)
        .map_err(|e| journal_error("reading the journal", e))?
        .and_then(|f| f.value().map(|v| String::from_utf8_lossy(v).into_owned())))
}

/// The sender of the current entry, whose `_UID` is `uid`, as notices name
/// it: `uid 1007 (python3, /usr/bin/python3.11)`.
fn sender_of(journal: &mut Journal, uid: Option<String>) -> io::Result<String> {
    let comm = field_text(journal, "_COMM")?;
    let exe = field_text(journal, "_EXE")?;
    Ok(sender_named(
        uid.as_deref(),
        comm.as_deref(),
        exe.as_deref(),
    ))
}

/// A sender as notices name it, from its `_UID`, `_COMM` and `_EXE`.
fn sender_named(uid: Option<&str>, comm: Option<&str>, exe: Option<&str>) -> String {
    let parts: Vec<String> = [comm, exe].into_iter().flatten().map(visible).collect();
    let uid = uid.map_or_else(|| "unknown".to_owned(), visible);
    match parts.is_empty() {
        true => format!("uid {uid}"),
        false => format!("uid {uid} ({})", parts.join(", ")),
    }
}

/// Control characters shown as escapes: sender names come from the sender.
fn visible(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

impl Senders {
    fn new(dir: Option<&Path>, trust: &Trust) -> Senders {
        Senders {
            trusted: Trusted::new(trust),
            unverified: trust.unverified,
            dir: dir.map(Path::to_path_buf),
            lookup: None,
            known: HashMap::new(),
            left_out: BTreeMap::new(),
            included: BTreeMap::new(),
            dropped: BTreeMap::new(),
            bad_fields: 0,
            reported: false,
        }
    }

    /// Whether the current entry of `journal`, whose `fields` were read and
    /// whose MESSAGE is `message`, is a recording's, one to mark
    /// unverified, or one to pass over.
    fn judge(&mut self, fields: &EntryFields, message: &[u8]) -> io::Result<Verdict> {
        let uid = fields.uid.as_deref().and_then(|u| u.parse::<u32>().ok());
        if uid.is_some_and(|uid| self.trusted.trusts(uid, fields.host.as_deref())) {
            return Ok(Verdict::Trusted);
        }
        let sender = sender_named(
            fields.uid.as_deref(),
            fields.comm.as_deref(),
            fields.exe.as_deref(),
        );
        let tlog_rec = fields.rec.clone();
        let Ok(rec) = message_rec(message) else {
            // Not a message at all: the validating reader would call it
            // damage; from an untrusted sender it is not worth that.
            return Ok(self.leave_out(sender));
        };
        for claimed in [&rec, &tlog_rec].into_iter().flatten() {
            if self.has_trusted_entries(claimed)? {
                self.drop_entry(
                    sender,
                    format!("it claims to belong to recording {}", visible(claimed)),
                );
                return Ok(Verdict::Skip);
            }
        }
        if !self.unverified {
            return Ok(self.leave_out(sender));
        }
        match (rec, tlog_rec) {
            (Some(rec), Some(tlog_rec)) if rec == tlog_rec => {
                if self.included.len() < MAX_TRACKED {
                    *self.included.entry((sender.clone(), rec)).or_default() += 1;
                }
                Ok(Verdict::Unverified(sender))
            }
            _ => {
                self.drop_entry(
                    sender,
                    "its MESSAGE's rec and TLOG_REC differ or are missing".to_owned(),
                );
                Ok(Verdict::Skip)
            }
        }
    }

    /// Warns of an extension field left out, the first time; counts the
    /// others for the report (a flood of them makes two lines).
    fn bad_field(&mut self, warning: &str) {
        self.bad_fields += 1;
        if self.bad_fields == 1 {
            notice(warning);
        }
    }

    fn leave_out(&mut self, sender: String) -> Verdict {
        if self.left_out.len() < MAX_TRACKED || self.left_out.contains_key(&sender) {
            *self.left_out.entry(sender).or_default() += 1;
        }
        Verdict::Skip
    }

    /// Drops an entry, warning at once the first time for this sender and
    /// reason (a flood of forgeries makes one line, not one per entry).
    fn drop_entry(&mut self, sender: String, why: String) {
        let key = (sender, why);
        if let Some(n) = self.dropped.get_mut(&key) {
            *n += 1;
            return;
        }
        if self.dropped.len() < MAX_TRACKED {
            notice(&format!(
                "journal: dropped an entry from untrusted sender {}: {} (not a recorder's \
                 account; a forgery?)",
                key.0, key.1
            ));
            self.dropped.insert(key, 1);
        }
    }

    fn has_trusted_entries(&mut self, rec: &str) -> io::Result<bool> {
        if let Some(&known) = self.known.get(rec) {
            return Ok(known);
        }
        if self.lookup.is_none() {
            self.lookup = Some(open_journal(self.dir.as_deref())?);
        }
        let lookup = self.lookup.as_mut().expect("opened above");
        let found = has_trusted_entries(lookup, rec, &self.trusted)?;
        if self.known.len() >= MAX_TRACKED {
            self.known.clear();
        }
        self.known.insert(rec.to_owned(), found);
        Ok(found)
    }

    /// Tells, once, what was left out, marked or dropped.
    fn report(&mut self) {
        if self.reported {
            return;
        }
        self.reported = true;
        if !self.left_out.is_empty() {
            let total: u64 = self.left_out.values().sum();
            let who: Vec<String> = self
                .left_out
                .iter()
                .map(|(sender, n)| format!("{sender}: {n}"))
                .collect();
            notice(&format!(
                "journal: left out {total} entr{} from senders that are not a recorder's \
                 account ({}); --unverified shows them, marked UNVERIFIED",
                if total == 1 { "y" } else { "ies" },
                who.join("; ")
            ));
        }
        for ((sender, rec), n) in &self.included {
            notice(&format!(
                "journal: recording {} is UNVERIFIED: its {n} entr{} came from {sender}, \
                 not a recorder's account; anyone could have written them",
                visible(rec),
                if *n == 1 { "y" } else { "ies" },
            ));
        }
        if self.bad_fields > 1 {
            notice(&format!(
                "journal: {} fields left out of their messages in all (not JSON, or named as \
                 tlog's)",
                self.bad_fields
            ));
        }
        let dropped: u64 = self.dropped.values().sum();
        if dropped > 1 {
            notice(&format!(
                "journal: {dropped} entries from untrusted senders dropped in all"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_s_mark_comes_before_the_sender_s_own() {
        let mut buf =
            br#"{"termtape_unverified":"uid 0 (termtape-session)","ver":"2.3","rec":"r"}"#.to_vec();
        assert!(mark_unverified(&mut buf, "uid 1007 (python3)"));
        let text = String::from_utf8(buf).expect("utf-8");
        assert!(
            text.starts_with(r#"{"termtape_unverified":"uid 1007 (python3)","#),
            "{text}"
        );
        for bad in [&b"[1]"[..], b"{}", b"  { } ", b""] {
            assert!(!mark_unverified(&mut bad.to_vec(), "x"), "{bad:?}");
        }
        assert_eq!(message_rec(br#"{"rec":"a"}"#), Ok(Some("a".to_owned())));
        assert_eq!(message_rec(br#"{"id":1}"#), Ok(None));
        assert_eq!(message_rec(b"nonsense"), Err(()));
        assert_eq!(visible("py\x1b]2;x\x07"), "py\\u{1b}]2;x\\u{7}");
    }

    #[test]
    fn messages_that_differ_anywhere_differ_in_fingerprint() {
        // Every length around the block size, each byte changed in turn,
        // and a message and its extension by zeros.
        for len in 0..100 {
            let message: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let f = fingerprint(&message);
            for i in 0..len {
                let mut changed = message.clone();
                changed[i] ^= 1;
                assert_ne!(fingerprint(&changed), f, "{len} bytes, byte {i}");
            }
            let mut longer = message.clone();
            longer.push(0);
            assert_ne!(fingerprint(&longer), f, "{len} bytes and a zero");
        }
    }

    #[test]
    fn root_is_always_trusted_and_uids_are_added_everywhere_or_on_one_host() {
        let trust = Trust {
            uids: vec![
                TrustedUid::everywhere(4242),
                TrustedUid::everywhere(4242),
                TrustedUid {
                    host: Some("hosta".to_owned()),
                    uid: 5151,
                },
                // Already trusted everywhere: the pair adds nothing.
                TrustedUid {
                    host: Some("hostb".to_owned()),
                    uid: 4242,
                },
            ],
            unverified: false,
        };
        let trusted = Trusted::new(&trust);
        assert_eq!(trusted.everywhere.first(), Some(&0));
        assert_eq!(trusted.everywhere.iter().filter(|&&u| u == 4242).count(), 1);
        assert_eq!(trusted.on_host, [("hosta".to_owned(), 5151)]);
        for host in [None, Some("hosta"), Some("hostb")] {
            assert!(trusted.trusts(0, host));
            assert!(trusted.trusts(4242, host));
        }
        assert!(trusted.trusts(5151, Some("hosta")));
        assert!(!trusted.trusts(5151, Some("hostb")));
        assert!(!trusted.trusts(5151, Some("hosta.example")));
        assert!(!trusted.trusts(5151, None));
        assert!(!Trusted::new(&Trust::default()).trusts(5151, Some("hosta")));
    }
}
