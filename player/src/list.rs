//! `termtape ls`: one line per recording in a source.

use std::collections::HashMap;
use std::io::BufRead;

use termtape_format::{Error, Exit, Login, Origin, Reader, Stream, timing};

use crate::source::{Filter, Source};
use crate::time;
use crate::visible::visible;

/// What a listing says of one recording.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// Recording id (or host/session for old messages without one).
    pub rec: String,
    /// Recorded user.
    pub user: String,
    /// Host.
    pub host: String,
    /// Terminal type.
    pub term: String,
    /// tlog's `session`: the audit session id the recorder found
    /// ([`termtape_format::UNSET_ID`]: the login has none).
    pub session: u32,
    /// Wall-clock start, milliseconds since the epoch, if the messages say.
    pub start: Option<u64>,
    /// Milliseconds from the first to the last recorded event.
    pub duration: u64,
    /// Number of messages.
    pub messages: u64,
    /// Output bytes recorded.
    pub output_bytes: u64,
    /// Input bytes recorded.
    pub input_bytes: u64,
    /// Places where a rate limit dropped messages (see [`crate::gap`]).
    pub gaps: u64,
    /// Messages dropped there.
    pub dropped_messages: u64,
    /// Bytes of log dropped there.
    pub dropped_bytes: u64,
    /// For journal entries from a sender that is not a recorder's account
    /// (read only when asked for): that sender.
    pub unverified: Option<String>,
    /// Logins nested in the session (marked, not recorded apart): their
    /// starts, in order.
    pub logins: Vec<Login>,
    /// Where the session came from (login terminal, the recording's
    /// terminal, remote host, command), if its first message says.
    pub origin: Option<Origin>,
    /// How it ended, if its last message says.
    pub exit: Option<Exit>,
    /// Whether it is still being recorded, as [`mark_live`] decides.
    pub live: bool,
}

/// The version of the JSON objects of `ls --json` (their `"v"`): raised
/// when a field changes meaning or goes away; new fields may come without
/// it.
pub const JSON_VERSION: u64 = 1;

/// Without a word from the recorder, a recording whose last event is this
/// recent (ms before now) counts as live.
pub const LIVE_IDLE: u64 = 10 * 60 * 1000;

/// Decides whether each recording is still being recorded: not when its
/// last message says how it ended (`exit`); else as the source tells of
/// its recorder's process ([`Source::recorder_runs`]: the journal, for
/// entries of this machine); else (a file, another host's journal, a tlog
/// recording) when its last event is less than [`LIVE_IDLE`] before `now`
/// (ms since the epoch).
pub fn mark_live(summaries: &mut [Summary], source: &dyn Source, filter: &Filter, now: u64) {
    let open: Vec<&str> = summaries
        .iter()
        .filter(|s| s.exit.is_none())
        .map(|s| s.rec.as_str())
        .collect();
    let mut runs = source.recorders_run(filter, &open).into_iter();
    for s in summaries.iter_mut().filter(|s| s.exit.is_none()) {
        s.live = runs.next().flatten().unwrap_or_else(|| {
            s.start
                .is_some_and(|start| now.saturating_sub(start + s.duration) < LIVE_IDLE)
        });
    }
    for s in summaries.iter_mut().filter(|s| s.exit.is_some()) {
        s.live = false;
    }
}

/// Why a source could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// It could not be opened.
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    /// Reading it failed.
    #[error(transparent)]
    Read(#[from] Error),
}

/// Summarises every recording of `source` that `filter` selects, live or
/// not as [`mark_live`] says (`now`: ms since the epoch): through
/// [`Source::summaries`] where the source lists without reading every
/// message (the journal), else (or with `read_all`) by reading every
/// message with [`list`].
pub fn summaries(
    source: &dyn Source,
    filter: &Filter,
    now: u64,
    read_all: bool,
    on_damage: &mut dyn FnMut(&Error),
) -> Result<Vec<Summary>, ListError> {
    if !read_all && let Some(listed) = source.summaries(filter, now, on_damage) {
        return Ok(listed?);
    }
    let mut listed = list(source.open(filter)?, &source.name(), filter, on_damage)?;
    mark_live(&mut listed, source, filter, now);
    Ok(listed)
}

impl Summary {
    /// The audit session the recording was made in, `None` when the login
    /// had none (its `session` is [`termtape_format::UNSET_ID`]): audit
    /// records of it cannot be told from others'.
    pub fn audit_session(&self) -> Option<u32> {
        (self.session != termtape_format::UNSET_ID).then_some(self.session)
    }

    /// The audit session as a listing shows it: `ses 305 auid 1000`, or
    /// `none` for a login without one.
    pub fn audit_text(&self) -> String {
        let Some(ses) = self.audit_session() else {
            return "none".to_owned();
        };
        match self.origin.as_ref().and_then(|o| o.loginuid) {
            Some(uid) if uid != termtape_format::UNSET_ID => format!("ses {ses} auid {uid}"),
            _ => format!("ses {ses}"),
        }
    }

    /// The summary as a JSON object, for `termtape ls --json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "v": JSON_VERSION,
            "rec": self.rec,
            "user": self.user,
            "host": self.host,
            "term": self.term,
            "session": self.session,
            "audit_session": self.audit_session(),
            "loginuid": self.origin.as_ref().and_then(|o| o.loginuid)
                .filter(|&u| u != termtape_format::UNSET_ID),
            "boot_id": self.origin.as_ref().and_then(|o| o.boot_id.as_ref()),
            "start": self.start,
            "end": self.start.map(|start| start + self.duration),
            "duration": self.duration,
            "messages": self.messages,
            "output_bytes": self.output_bytes,
            "input_bytes": self.input_bytes,
            "gaps": {
                "count": self.gaps,
                "messages": self.dropped_messages,
                "bytes": self.dropped_bytes,
            },
            "unverified": self.unverified,
            "logins": self.logins,
            "tty": self.origin.as_ref().and_then(|o| o.tty.as_ref()),
            "pty": self.origin.as_ref().and_then(|o| o.pty.as_ref()),
            "remote": self.origin.as_ref().and_then(|o| o.remote.as_ref()),
            "remote_from": self.origin.as_ref().and_then(|o| o.remote_from.as_ref()),
            "command": self.origin.as_ref().and_then(|o| o.command.as_ref()),
            "exit": self.exit,
            "live": self.live,
        })
    }
}

/// Summarises every recording in `input`, in order of first appearance.
/// Damage is passed to `on_damage` and passed over; I/O errors end it.
pub fn list(
    input: impl BufRead,
    source: &str,
    filter: &Filter,
    mut on_damage: impl FnMut(&Error),
) -> Result<Vec<Summary>, Error> {
    let mut lister = Lister::default();
    let mut reader = Reader::new(input, Some(source.to_owned()), true);
    lister.read(&mut reader, source, filter, &mut |e| on_damage(&e))?;
    Ok(lister.summaries())
}

/// A listing under way: the recordings read so far, in order of first
/// appearance, with what a listing that goes on from here needs (a file's
/// index keeps it: see [`crate::file_index`]).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Lister {
    listed: Vec<Listed>,
    /// Each recording's place in `listed`: made from it, so not kept.
    #[serde(skip)]
    index: HashMap<String, usize>,
    /// Damage passed over.
    pub damaged: u64,
}

/// Two listings are alike when they list alike, whether or not their
/// lookups were made yet.
impl PartialEq for Lister {
    fn eq(&self, other: &Lister) -> bool {
        self.listed == other.listed && self.damaged == other.damaged
    }
}

impl Eq for Lister {}

/// One recording of a listing under way.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Listed {
    pub(crate) summary: Summary,
    /// Whether its messages name it in `rec` (else it is known by host
    /// and session, which a `--rec` never selects).
    pub(crate) named: bool,
    /// Whether every message named its first's user and host: a
    /// recording's summary then stands for each message's under a
    /// `--user` or `--host`.
    pub(crate) uniform: bool,
    /// Where its first message's line starts and its last one's ends, in
    /// bytes from the stream's start: a seek in a file of many recordings
    /// looks there (see [`crate::file_index::range_of`]).
    pub(crate) first: u64,
    pub(crate) end: u64,
}

impl Lister {
    /// Reads on through `reader` (of `source`), summarising the messages
    /// `filter` selects; damage passed over goes to `on_damage`.
    pub fn read(
        &mut self,
        reader: &mut Reader<impl BufRead>,
        source: &str,
        filter: &Filter,
        on_damage: &mut dyn FnMut(Error),
    ) -> Result<(), Error> {
        let mut damage = |damaged: &mut u64, e: Error| {
            *damaged += 1;
            on_damage(e);
        };
        if self.index.len() != self.listed.len() {
            // Read back from an index: the lookup is not kept.
            self.index = (self.listed.iter().enumerate())
                .map(|(i, l)| (l.summary.rec.clone(), i))
                .collect();
        }
        let mut sessions = crate::source::Sessions::default();
        while let Some(item) = reader.next() {
            let msg = match item {
                Ok(msg) => msg,
                Err(e) if e.is_io() => return Err(e),
                Err(e) => {
                    damage(&mut self.damaged, e);
                    continue;
                }
            };
            let in_session = sessions.accepts(filter, &msg);
            if !in_session || !filter.accepts_in_any(&msg) {
                continue;
            }
            let key = msg.recording_key();
            let i = *self.index.entry(key.clone()).or_insert_with(|| {
                self.listed.push(Listed {
                    summary: Summary {
                        rec: key,
                        user: msg.user.clone(),
                        host: msg.host.clone(),
                        term: msg.term.clone(),
                        session: msg.session,
                        start: msg.time.map(|t| t.saturating_sub(msg.pos)),
                        unverified: crate::source::unverified_sender(&msg),
                        ..Summary::default()
                    },
                    named: msg.rec.is_some(),
                    uniform: true,
                    first: reader.line_start(),
                    end: reader.offset(),
                });
                self.listed.len() - 1
            });
            let listed = &mut self.listed[i];
            listed.end = reader.offset();
            listed.uniform &= msg.user == listed.summary.user && msg.host == listed.summary.host;
            let summary = &mut listed.summary;
            summary.messages += 1;
            if let Some(gap) = crate::gap::Gap::of(&msg) {
                summary.gaps += 1;
                summary.dropped_messages += gap.messages;
                summary.dropped_bytes += gap.bytes;
            }
            summary.duration = summary.duration.max(message_end(&msg));
            let at = termtape_format::Location {
                source: Some(source.to_owned()),
                line: reader.line(),
                id: Some(msg.id),
            };
            match (msg.origin(&at), msg.exit(&at)) {
                (Ok(origin), Ok(exit)) => {
                    summary.origin = summary.origin.take().or(origin);
                    summary.exit = exit.or(summary.exit);
                }
                (Err(e), _) | (_, Err(e)) => damage(&mut self.damaged, e),
            }
            match msg.logins(&at) {
                Ok(events) => summary
                    .logins
                    .extend(events.into_iter().filter(|e| !e.end).take(64)),
                Err(e) => damage(&mut self.damaged, e),
            }
            match (
                msg.bytes(Stream::Output, &at),
                msg.bytes(Stream::Input, &at),
            ) {
                (Ok(out), Ok(inp)) => {
                    summary.output_bytes += out.len() as u64;
                    summary.input_bytes += inp.len() as u64;
                }
                (Err(e), _) | (_, Err(e)) => damage(&mut self.damaged, e),
            }
        }
        Ok(())
    }

    /// The recordings listed, in order of first appearance.
    pub fn summaries(self) -> Vec<Summary> {
        self.listed.into_iter().map(|l| l.summary).collect()
    }

    /// How many recordings were listed.
    pub fn len(&self) -> usize {
        self.listed.len()
    }

    /// Whether none were.
    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    /// The recordings listed, with what a file's index keeps of each.
    pub(crate) fn into_listed(self) -> Vec<Listed> {
        self.listed
    }
}

/// Where a message ends: ms from the recording's start to its last delay.
pub(crate) fn message_end(msg: &termtape_format::Message) -> u64 {
    let delays: u64 = timing::parse(&msg.timing)
        .map(|records| {
            records
                .iter()
                .map(|r| match r {
                    timing::Record::Delay(ms) => *ms,
                    _ => 0,
                })
                .sum()
        })
        .unwrap_or(0);
    msg.pos + delays
}

/// Formats summaries as an aligned table with a header line; the fields
/// taken from the recording are written through [`visible`], and a
/// recording with gaps says how many and how much was dropped.
pub fn table(summaries: &[Summary]) -> String {
    table_with(summaries, None)
}

/// [`table`] with a last column, VERIFY, holding `verdicts[i]` for
/// `summaries[i]` (see [`crate::verify`]).
pub fn table_verified(summaries: &[Summary], verdicts: &[String]) -> String {
    table_with(summaries, Some(verdicts))
}

fn table_with(summaries: &[Summary], verdicts: Option<&[String]>) -> String {
    let mut header = vec![
        "RECORDING",
        "USER",
        "HOST",
        "TERM",
        "START",
        "DURATION",
        "MESSAGES",
        "OUT BYTES",
        "IN BYTES",
        "GAPS",
        "DROPPED BYTES",
        "NESTED",
        "TTY",
        "FROM",
        "AUDIT",
        "EXIT",
        "COMMAND",
    ];
    if verdicts.is_some() {
        header.push("VERIFY");
    }
    let rows: Vec<Vec<String>> = summaries
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut row = vec![
                visible(&s.rec).into_owned(),
                match &s.unverified {
                    None => visible(&s.user).into_owned(),
                    Some(sender) => {
                        visible(&format!("{} (UNVERIFIED: sent by {sender})", s.user)).into_owned()
                    }
                },
                visible(&s.host).into_owned(),
                visible(&s.term).into_owned(),
                s.start.map_or_else(|| "-".to_owned(), time::local),
                time::duration(s.duration),
                s.messages.to_string(),
                s.output_bytes.to_string(),
                s.input_bytes.to_string(),
                s.gaps.to_string(),
                s.dropped_bytes.to_string(),
                nested_users(&s.logins),
                terminals(s.origin.as_ref()),
                remote(s.origin.as_ref()),
                s.audit_text(),
                s.exit.map_or_else(|| "-".to_owned(), |e| e.describe()),
                visible(
                    &s.origin
                        .as_ref()
                        .and_then(Origin::command_line)
                        .unwrap_or_else(|| "-".to_owned()),
                )
                .into_owned(),
            ];
            if let Some(verdicts) = verdicts {
                row.push(visible(verdicts.get(i).map_or("-", String::as_str)).into_owned());
            }
            row
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            // Numbers align right, text left.
            if (6..11).contains(&i) {
                l.push_str(&format!("{cell:>w$}"));
            } else {
                l.push_str(&format!("{cell:<w$}"));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header.clone());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// The login terminal and the recording's, short: `pts/1>pts/4` (the
/// session on pts/1 ran on pts/4), `>pts/4` without a login terminal, or
/// `-`.
fn terminals(origin: Option<&Origin>) -> String {
    let short = |t: &Option<String>| {
        t.as_deref()
            .map(|t| visible(t.strip_prefix("/dev/").unwrap_or(t)).into_owned())
    };
    match origin.map(|o| (short(&o.tty), short(&o.pty))) {
        Some((Some(tty), Some(pty))) => format!("{tty}>{pty}"),
        Some((Some(tty), None)) => tty,
        Some((None, Some(pty))) => format!(">{pty}"),
        _ => "-".to_owned(),
    }
}

/// The remote host, marked `?` when only the environment (which the user
/// can set) named it; or `-`.
fn remote(origin: Option<&Origin>) -> String {
    match origin.and_then(|o| Some((o.remote.as_deref()?, o.remote_from.as_deref()))) {
        Some((host, Some("utmp"))) => visible(host).into_owned(),
        Some((host, _)) => format!("{}?", visible(host)),
        None => "-".to_owned(),
    }
}

/// The users of nested logins, e.g. `bob,root`, or `-`; control characters
/// shown escaped.
fn nested_users(logins: &[Login]) -> String {
    if logins.is_empty() {
        return "-".to_owned();
    }
    let names: Vec<String> = logins
        .iter()
        .map(|l| visible(l.user.as_deref().unwrap_or("?")).into_owned())
        .collect();
    names.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: u64, extra: &str) -> String {
        format!(
            r#"{{"ver":"2.3","host":"h\u009b6n","rec":"r","user":"u\u001b]52;c;Y3VybCBldmlsfHNo\u0007","term":"x\u001b]2;LS-PWNED\u0007","session":1,"id":{id},"pos":{},"timing":">1","in_txt":"","in_bin":[],"out_txt":"a","out_bin":[]{extra}}}"#,
            id * 100
        )
    }

    #[test]
    fn the_table_writes_fields_visibly_and_counts_gaps() {
        let log = [
            line(1, ""),
            line(5, r#","gap":{"messages":3,"bytes":700}"#),
            line(9, r#","gap":{"messages":3,"bytes":650}"#),
        ]
        .join("\n");
        let summaries =
            list(log.as_bytes(), "t", &Filter::default(), |e| panic!("{e}")).expect("list");
        assert_eq!(
            (
                summaries[0].gaps,
                summaries[0].dropped_messages,
                summaries[0].dropped_bytes
            ),
            (2, 6, 1350)
        );
        let table = table(&summaries);
        assert!(!table.contains(['\x1b', '\x07', '\u{9b}']), "{table:?}");
        assert!(table.contains(r"u\e]52;c;Y3VybCBldmlsfHNo\x07"), "{table}");
        assert!(table.contains(r"x\e]2;LS-PWNED\x07"), "{table}");
        assert!(table.contains(r"h\u{9b}6n"), "{table}");
        let row = table.lines().nth(1).expect("a row");
        assert!(
            row.ends_with("     2           1350  -       -    -     ses 1  -     -"),
            "{row:?}"
        );
        let json = crate::visible::json_line(&summaries[0].to_json());
        assert!(
            json.contains(r#""gaps":{"bytes":1350,"count":2,"messages":6}"#),
            "{json}"
        );
        assert!(json.contains(r#""host":"h\u009b6n""#), "{json}");
    }

    #[test]
    fn live_is_no_exit_and_a_running_recorder_or_recent_events() {
        #[derive(Debug)]
        struct Says(Option<bool>);
        impl Source for Says {
            fn name(&self) -> String {
                "t".to_owned()
            }
            fn is_stream(&self) -> bool {
                false
            }
            fn open(&self, _: &Filter) -> Result<Box<dyn BufRead>, crate::source::SourceError> {
                Ok(Box::new(&b""[..]))
            }
            fn recorder_runs(&self, _: &Filter, _: &str) -> Option<bool> {
                self.0
            }
        }
        let now = 100 * LIVE_IDLE;
        let recording = |start: u64, exit: Option<Exit>| Summary {
            start: Some(start),
            duration: 1000,
            exit,
            ..Summary::default()
        };
        let recent = now - LIVE_IDLE / 2;
        let old = now - 3 * LIVE_IDLE;
        for (says, start, exit, live) in [
            (None, recent, None, true),
            (None, old, None, false),
            (None, recent, Some(Exit::Code(0)), false),
            (Some(true), old, None, true),
            (Some(false), recent, None, false),
            (Some(true), recent, Some(Exit::Signal(9)), false),
        ] {
            let mut s = [recording(start, exit)];
            mark_live(&mut s, &Says(says), &Filter::default(), now);
            assert_eq!(s[0].live, live, "{says:?} {start} {exit:?}");
        }
    }
}
