//! Listing a journal's recordings without reading their messages.
//!
//! The recordings are the distinct values of TLOG_REC (the journal's own
//! index of them: no entry is read). Of each, through matches that
//! select only a recorder's account's entries (`_UID`, see the module's
//! trust model), the first entry gives who, where and when, and the last
//! one how long, how it ended, and, for termtape's journal writer, the
//! totals of the whole recording ([`termtape_format::Totals`]); entries
//! carrying nested logins are found by their mark. A recording whose last
//! entry carries no totals (tlog's, termtape's before they were added, or
//! anything odd) is read whole, as `ls` reads every recording otherwise
//! (see [`summaries`]); so is one that only untrusted senders
//! wrote, when asked for with `--unverified`.
//!
//! An untrusted sender cannot add a recording (its entries match no
//! lookup, and a TLOG_REC value it made up is left out, counted in a
//! notice), nor change one (the first and last entries and the totals are
//! read from trusted entries only), nor hide one (every TLOG_REC value is
//! looked at).

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::path::Path;

use systemd::journal::Journal;
use termtape_format::extension::{JOURNAL_LOGIN_MARK, JOURNAL_TOTALS};
use termtape_format::{Error, Location, Message, Totals};

use super::{
    JournalLines, MAX_TRACKED, RECORDERS, Trusted, each_field, extension_fields, field_text,
    journal_error, notice, open_journal, recorder_of_entry_runs, sender_of, with_extras,
};
use crate::list::{LIVE_IDLE, Summary, list, message_end};
use crate::source::Filter;

/// TLOG_REC values this long or longer are not a recorder's (its ids are
/// tens of bytes): passed over, and their length bounds what one costs.
const MAX_REC_LEN: usize = 1024;

/// Recordings looked up through one open journal before it is opened
/// again (see [`summaries`]): a bound on the journal's pages mapped at once.
const REOPEN: usize = 512;

/// Recording ids walked, or recordings looked up, between releases of the
/// journal pages mapped (see `super::pages`).
const RELEASE: usize = super::RELEASE_LOOKUPS;

/// Recordings looked up before deciding whether to read the journal in one
/// pass instead (see [`summaries`]).
const SAMPLE: usize = 256;

/// Summaries of the recordings in the system journal (`dir` `None`) or the
/// journal files in `dir` that `filter` selects, in the order of their
/// first entries, live or not as [`crate::list::mark_live`] would say
/// (`now`: ms since the epoch). `filter` must not have `--since`,
/// `--until` or `--follow` (those read entries by time: list them by
/// reading). Damage in a recording read whole goes to `on_damage`.
pub fn summaries(
    dir: Option<&Path>,
    filter: &Filter,
    now: u64,
    on_damage: &mut dyn FnMut(&Error),
) -> Result<Vec<Summary>, Error> {
    let io = read_error(dir);
    let recs = match &filter.rec {
        Some(rec) => vec![rec.clone()],
        None => recordings(&mut open_journal(dir).map_err(io)?).map_err(io)?,
    };
    let mut lister = Lister {
        journal: open_journal(dir).map_err(io)?,
        dir,
        filter,
        trusted: Trusted::new(&filter.trust),
        now,
        left_out: BTreeMap::new(),
        untracked: 0,
    };
    let mut found: Vec<(u64, Summary)> = Vec::new();
    let mut whole: Vec<(String, u64)> = Vec::new();
    // Recordings without totals are read whole, each through its TLOG_REC
    // match while they are few. When they are most (tlog's recordings),
    // each lookup costs more than reading its entries in order: then the
    // whole journal is read in one pass, as `--read-all` reads it, decided
    // after a sample or at the end.
    let mostly_whole = |whole: &[(String, u64)], looked: usize| whole.len() * 2 > looked;
    let mut one_pass = false;
    for (i, rec) in recs.iter().enumerate() {
        if filter.rec.is_none() && i == SAMPLE && mostly_whole(&whole, i) {
            one_pass = true;
            break;
        }
        // libsystemd keeps what it mapped of the files mapped while the
        // journal is open: let go of those pages now and then, or (where
        // that cannot be done) close the journal and open it again.
        if i > 0 && i % RELEASE == 0 && !super::pages::release() && i % REOPEN == 0 {
            lister.journal = open_journal(dir).map_err(io)?;
        }
        lister.one(rec, &mut found, &mut whole)?;
    }
    if one_pass || (filter.rec.is_none() && mostly_whole(&whole, recs.len())) {
        // The pass tells what it leaves out itself.
        return lister.read_all(on_damage);
    }
    lister.read_each(&whole, &mut found, on_damage)?;
    lister.report();
    // Journal order of first entries: the order reading finds them in.
    found.sort_by_key(|(first, _)| *first);
    Ok(found.into_iter().map(|(_, s)| s).collect())
}

/// An I/O error of reading the journal, as a reader's error naming it.
fn read_error(dir: Option<&Path>) -> impl Fn(io::Error) -> Error + Copy + '_ {
    move |e| Error::io(&source_name(dir), e)
}

fn source_name(dir: Option<&Path>) -> String {
    match dir {
        None => "journal".to_owned(),
        Some(dir) => format!("journal:{}", dir.display()),
    }
}

/// The distinct TLOG_REC values, each once; values too long for a
/// recorder's are left out.
fn recordings(journal: &mut Journal) -> io::Result<Vec<String>> {
    const PREFIX: &[u8] = b"TLOG_REC=";
    // Values are cut at the threshold: a longer one is not a recorder's.
    journal
        .set_data_threshold(PREFIX.len() + MAX_REC_LEN)
        .map_err(|e| journal_error("configuring the journal", e))?;
    let mut seen = HashSet::new();
    let mut recs = Vec::new();
    let mut walked = 0usize;
    super::unique::values(journal, "TLOG_REC", |datum| {
        // The walk touches a page or so of the files per value: without
        // this, all of them stay resident (see `pages`).
        walked += 1;
        if walked.is_multiple_of(RELEASE) {
            super::pages::release();
        }
        let Some(value) = datum.strip_prefix(PREFIX) else {
            return;
        };
        if value.len() >= MAX_REC_LEN {
            return;
        }
        // Matches compare bytes; a value that is not UTF-8 cannot be a
        // message's `rec` and is passed over.
        if let Ok(rec) = std::str::from_utf8(value)
            && seen.insert(rec.to_owned())
        {
            recs.push(rec.to_owned());
        }
    })
    .map_err(|e| journal_error("listing the journal's recordings (TLOG_REC)", e))?;
    journal
        .set_data_threshold(0)
        .map_err(|e| journal_error("configuring the journal", e))?;
    Ok(recs)
}

/// The lookups of one listing, through one open journal.
struct Lister<'a> {
    journal: Journal,
    dir: Option<&'a Path>,
    filter: &'a Filter,
    trusted: Trusted,
    now: u64,
    /// Sender → recordings left out (only untrusted senders wrote them).
    left_out: BTreeMap<String, u64>,
    untracked: u64,
}

/// What a listing reads of the journal's current entry: its message, with
/// its extension fields (`None` if it has no MESSAGE, a field that cannot
/// go back, or does not parse), when journald received it (µs since the
/// epoch), and the recording's totals it carries. One pass over the
/// entry's fields: libsystemd decompresses a compressed field (MESSAGE is
/// one) each time it is asked for one past it, and that was most of a
/// listing's time.
fn read_entry(journal: &mut Journal) -> io::Result<(Option<Message>, u64, Option<Totals>)> {
    let (mut tlog, mut totals) = (None, None);
    let (extras, bad) = extension_fields(
        |each| each_field(journal, each),
        |name, value| {
            if name == b"MESSAGE" {
                tlog = Some(value.to_vec());
            } else if name == JOURNAL_TOTALS.as_bytes() {
                totals = Totals::parse(value);
            }
        },
    )?;
    let usec = journal
        .timestamp_usec()
        .map_err(|e| journal_error("reading the journal", e))?;
    let message = match (tlog, bad.is_empty()) {
        (Some(tlog), true) => {
            let line = with_extras(&tlog, &extras).unwrap_or(tlog);
            std::str::from_utf8(&line)
                .ok()
                .and_then(|text| Message::parse(text.trim_end(), &Location::default()).ok())
        }
        // A field that cannot go back: the reader warns of it.
        _ => None,
    };
    Ok((message, usec, totals))
}

impl Lister<'_> {
    /// Selects recording `rec`'s entries of recorders (and of the filter's
    /// user and host); with `trusted`, only those of a recorder's account.
    fn select(&mut self, rec: &str, trusted: bool, extra: Option<(&str, &str)>) -> io::Result<()> {
        let j = &mut self.journal;
        let matching = |e| journal_error("matching", e);
        j.match_flush().map_err(matching)?;
        // One conjunction: values of one field are ORed, fields ANDed.
        j.match_add("TLOG_REC", rec.as_bytes().to_vec())
            .map_err(matching)?;
        if self.filter.rec.is_none() {
            for ident in RECORDERS {
                j.match_add("SYSLOG_IDENTIFIER", ident.as_bytes().to_vec())
                    .map_err(matching)?;
            }
        }
        let mut fields = vec![
            ("TLOG_USER", self.filter.user.as_deref()),
            ("_HOSTNAME", self.filter.host.as_deref()),
        ];
        if let Some((field, value)) = extra {
            fields.push((field, Some(value)));
        }
        for (field, value) in fields {
            if let Some(value) = value {
                j.match_add(field, value.as_bytes().to_vec())
                    .map_err(matching)?;
            }
        }
        if trusted {
            self.trusted.add_matches(j)?;
        }
        Ok(())
    }

    /// Moves to the first (or last) selected entry; false if there is none.
    fn go_to_end(&mut self, last: bool) -> io::Result<bool> {
        let j = &mut self.journal;
        let moved = if last {
            j.seek_tail()
                .and_then(|()| j.previous())
                .map_err(|e| journal_error("reading the journal", e))?
        } else {
            j.seek_head()
                .and_then(|()| j.next())
                .map_err(|e| journal_error("reading the journal", e))?
        };
        Ok(moved > 0)
    }

    /// Lists recording `rec` into `found` (with the time of its first
    /// entry), if the filter selects it; or into `whole` (with the time of
    /// its first entry) if it must be read whole.
    fn one(
        &mut self,
        rec: &str,
        found: &mut Vec<(u64, Summary)>,
        whole: &mut Vec<(String, u64)>,
    ) -> Result<(), Error> {
        let io = read_error(self.dir);
        self.select(rec, true, None).map_err(io)?;
        if !self.go_to_end(false).map_err(io)? {
            return self.untrusted(rec, whole);
        }
        let first_usec = self.journal.timestamp_usec().map_err(io)?;
        match self.quick(rec).map_err(io)? {
            Some(Some(listed)) => found.push(listed),
            // Not selected by the filter.
            Some(None) => {}
            None => whole.push((rec.to_owned(), first_usec)),
        }
        Ok(())
    }

    /// The summary of recording `rec` from its first and last trusted
    /// entries (the journal is at the first), and its logins; `Some(None)`
    /// if the filter does not select it; `None` if the entries do not
    /// tell enough (no totals, a message that does not parse).
    fn quick(&mut self, rec: &str) -> io::Result<Option<Option<(u64, Summary)>>> {
        let (Some(first), first_usec, _) = read_entry(&mut self.journal)? else {
            return Ok(None);
        };
        if first.rec.as_deref() != Some(rec) {
            return Ok(None);
        }
        let at = Location::default();
        let origin = first.origin(&at).ok();
        let Some(origin) = origin else {
            return Ok(None);
        };
        if !self.filter.accepts(&first)
            || (self.filter.selects_origin()
                && !origin
                    .as_ref()
                    .is_some_and(|o| self.filter.accepts_origin(o)))
        {
            return Ok(Some(None));
        }
        if !self.go_to_end(true)? {
            return Ok(None);
        }
        let (Some(last), _, Some(totals)) = read_entry(&mut self.journal)? else {
            return Ok(None);
        };
        let Ok(exit) = last.exit(&at) else {
            return Ok(None);
        };
        let runs = match exit {
            Some(_) => None,
            None => recorder_of_entry_runs(&mut self.journal)?,
        };
        let logins = match totals.logins {
            0 => Vec::new(),
            _ => match self.logins(rec)? {
                Some(logins) => logins,
                None => return Ok(None),
            },
        };
        let start = first.time.map(|t| t.saturating_sub(first.pos));
        let duration = message_end(&first).max(message_end(&last));
        let live = exit.is_none()
            && runs.unwrap_or_else(|| {
                start.is_some_and(|start| self.now.saturating_sub(start + duration) < LIVE_IDLE)
            });
        Ok(Some(Some((
            first_usec,
            Summary {
                rec: rec.to_owned(),
                user: first.user.clone(),
                host: first.host.clone(),
                term: first.term.clone(),
                session: first.session,
                start,
                duration,
                messages: totals.messages,
                output_bytes: totals.output_bytes,
                input_bytes: totals.input_bytes,
                gaps: totals.gaps,
                dropped_messages: totals.gap_messages,
                dropped_bytes: totals.gap_bytes,
                unverified: None,
                logins,
                origin,
                exit,
                live,
            },
        ))))
    }

    /// The nested logins recording `rec`'s trusted entries carry, found by
    /// their mark (a copy of an entry, sent again, counted once); `None`
    /// if one does not parse.
    fn logins(&mut self, rec: &str) -> io::Result<Option<Vec<termtape_format::Login>>> {
        self.select(rec, true, Some((JOURNAL_LOGIN_MARK, "1")))?;
        self.journal
            .seek_head()
            .map_err(|e| journal_error("seeking in the journal", e))?;
        let mut ids = HashSet::new();
        let mut logins = Vec::new();
        while self
            .journal
            .next()
            .map_err(|e| journal_error("reading the journal", e))?
            > 0
        {
            let (Some(msg), _, _) = read_entry(&mut self.journal)? else {
                return Ok(None);
            };
            if !ids.insert(msg.id) {
                continue;
            }
            let Ok(events) = msg.logins(&Location::default()) else {
                return Ok(None);
            };
            // As `list` keeps them.
            logins.extend(events.into_iter().filter(|e| !e.end).take(64));
        }
        Ok(Some(logins))
    }

    /// The recordings of `whole`, each with the time journald received its
    /// first entry, read whole one by one through the journal reader
    /// (which applies the trust rules, and marks an untrusted one's
    /// messages).
    fn read_each(
        &mut self,
        whole: &[(String, u64)],
        found: &mut Vec<(u64, Summary)>,
        on_damage: &mut dyn FnMut(&Error),
    ) -> Result<(), Error> {
        let name = source_name(self.dir);
        for (i, (rec, first_usec)) in whole.iter().enumerate() {
            // Each reading maps pages of its own (see `super::pages`).
            if i % RELEASE == RELEASE - 1 {
                super::pages::release();
            }
            let filter = Filter {
                rec: Some(rec.clone()),
                ..self.filter.clone()
            };
            let lines = JournalLines::reading(
                &mut self.journal,
                self.dir,
                &filter,
                None,
                self.filter.rec.is_none(),
            )
            .map_err(read_error(self.dir))?;
            let summaries = list(io::BufReader::new(lines), &name, &filter, &mut *on_damage)?;
            let summaries = self.mark_live(summaries);
            found.extend(summaries.into_iter().map(|s| (*first_usec, s)));
        }
        Ok(())
    }

    /// Every recording the filter selects, read in one pass over every
    /// recorder's entry, as `ls --read-all` reads them.
    fn read_all(&mut self, on_damage: &mut dyn FnMut(&Error)) -> Result<Vec<Summary>, Error> {
        // A fresh journal: none of the lookups' pages stay mapped.
        self.journal = open_journal(self.dir).map_err(read_error(self.dir))?;
        let lines = JournalLines::reading(&mut self.journal, self.dir, self.filter, None, true)
            .map_err(read_error(self.dir))?;
        let name = source_name(self.dir);
        let summaries = list(io::BufReader::new(lines), &name, self.filter, on_damage)?;
        Ok(self.mark_live(summaries))
    }

    /// `summaries` marked live or not, as [`crate::list::mark_live`] does.
    fn mark_live(&mut self, mut summaries: Vec<Summary>) -> Vec<Summary> {
        for (i, s) in summaries.iter_mut().enumerate() {
            if i % RELEASE == RELEASE - 1 {
                super::pages::release();
            }
            s.live = s.exit.is_none()
                && self.runs(&s.rec).unwrap_or_else(|| {
                    s.start.is_some_and(|start| {
                        self.now.saturating_sub(start + s.duration) < LIVE_IDLE
                    })
                });
        }
        summaries
    }

    /// [`super::recorder_runs`], through this listing's journal.
    fn runs(&mut self, rec: &str) -> Option<bool> {
        self.select(rec, true, None).ok()?;
        if !self.go_to_end(true).ok()? {
            return None;
        }
        recorder_of_entry_runs(&mut self.journal).ok().flatten()
    }

    /// Recording `rec`, which no recorder's account wrote (or the filter
    /// does not select): read whole and marked if unverified recordings
    /// were asked for, else counted in the notice of what was left out.
    fn untrusted(&mut self, rec: &str, whole: &mut Vec<(String, u64)>) -> Result<(), Error> {
        let io = read_error(self.dir);
        self.select(rec, false, None).map_err(io)?;
        if !self.go_to_end(false).map_err(io)? {
            // Nothing the filter selects.
            return Ok(());
        }
        if self.filter.trust.unverified {
            let first_usec = self.journal.timestamp_usec().map_err(io)?;
            whole.push((rec.to_owned(), first_usec));
            return Ok(());
        }
        let uid = field_text(&mut self.journal, "_UID").map_err(io)?;
        let sender = sender_of(&mut self.journal, uid).map_err(io)?;
        if self.left_out.len() < MAX_TRACKED || self.left_out.contains_key(&sender) {
            *self.left_out.entry(sender).or_default() += 1;
        } else {
            self.untracked += 1;
        }
        Ok(())
    }

    /// Tells what was left out.
    fn report(&self) {
        if self.left_out.is_empty() {
            return;
        }
        let total: u64 = self.left_out.values().sum::<u64>() + self.untracked;
        let who: Vec<String> = self
            .left_out
            .iter()
            .map(|(sender, n)| format!("{sender}: {n}"))
            .collect();
        notice(&format!(
            "journal: left out {total} recording{} written only by senders that are not a \
             recorder's account ({}); --unverified shows them, marked UNVERIFIED",
            if total == 1 { "" } else { "s" },
            who.join("; ")
        ));
    }
}
