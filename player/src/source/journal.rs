//! Reading recordings from the systemd journal, through libsystemd.
//!
//! Each entry written by tlog-rec, tlog-rec-session or termtape holds one
//! message in MESSAGE and the recording's id in TLOG_REC. The reader selects
//! entries with journal matches (by identifier, recording, user, host) and
//! seeks by time, so it touches only what it needs; it presents the selected
//! MESSAGE values as lines, for the same validating reader as files.

use std::io::{self, BufRead, Read};
use std::path::Path;
use std::time::Duration;

use systemd::journal::{Journal, JournalWaitResult, OpenDirectoryOptions, OpenOptions};

use super::Filter;

/// The prefix of journal fields holding a message's fields beyond tlog's
/// (termtape's journal writer moves them out of MESSAGE).
const EXTRA_PREFIX: &[u8] = b"TERMTAPE_X_";

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
pub fn keyframe_before(dir: Option<&Path>, rec: &str, until: u64) -> io::Result<Option<String>> {
    let mut journal = open_journal(dir)?;
    journal
        .match_add("TLOG_REC", rec.as_bytes().to_vec())
        .and_then(|j| j.match_and())
        .and_then(|j| j.match_add("TERMTAPE_KEYFRAME", b"1".to_vec()))
        .map_err(|e| journal_error("matching", e))?;
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

/// The `pos` of a message, read without parsing the whole of it.
fn message_pos(json: &[u8]) -> Option<u64> {
    let at = json.windows(6).position(|w| w == b"\"pos\":")? + 6;
    let digits = json[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&json[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

/// The MESSAGE values of the selected journal entries, one per line.
pub struct JournalLines {
    journal: Journal,
    until_usec: Option<u64>,
    follow: bool,
    buf: Vec<u8>,
    at: usize,
    done: bool,
}

fn journal_error(what: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
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
        let mut journal = open_journal(dir)?;
        match &filter.rec {
            Some(rec) => {
                journal
                    .match_add("TLOG_REC", rec.as_bytes().to_vec())
                    .map_err(|e| journal_error("matching", e))?;
            }
            None => {
                for (i, ident) in RECORDERS.iter().enumerate() {
                    if i > 0 {
                        journal
                            .match_or()
                            .map_err(|e| journal_error("matching", e))?;
                    }
                    journal
                        .match_add("SYSLOG_IDENTIFIER", ident.as_bytes().to_vec())
                        .map_err(|e| journal_error("matching", e))?;
                }
            }
        }
        for (field, value) in [("TLOG_USER", &filter.user), ("_HOSTNAME", &filter.host)] {
            if let Some(value) = value {
                journal
                    .match_and()
                    .map_err(|e| journal_error("matching", e))?;
                journal
                    .match_add(field, value.as_bytes().to_vec())
                    .map_err(|e| journal_error("matching", e))?;
            }
        }
        match (cursor, filter.since) {
            (Some(cursor), _) => journal.seek_cursor(cursor),
            (None, Some(ms)) => journal.seek_realtime_usec(ms.saturating_mul(1000)),
            (None, None) => journal.seek_head(),
        }
        .map_err(|e| journal_error("seeking in the journal", e))?;
        Ok(JournalLines {
            journal,
            until_usec: filter.until.map(|ms| ms.saturating_mul(1000)),
            follow: filter.follow,
            buf: Vec::new(),
            at: 0,
            done: false,
        })
    }

    /// Moves to the next selected entry with a MESSAGE and loads it into
    /// the buffer; false at the end.
    fn next_message(&mut self) -> io::Result<bool> {
        loop {
            if self
                .journal
                .next()
                .map_err(|e| journal_error("reading the journal", e))?
                == 0
            {
                if !self.follow {
                    return Ok(false);
                }
                // Wait for journald to append; wake up now and then in case
                // a rotation went unnoticed.
                match self
                    .journal
                    .wait(Some(Duration::from_secs(1)))
                    .map_err(|e| journal_error("waiting for the journal", e))?
                {
                    JournalWaitResult::Nop
                    | JournalWaitResult::Append
                    | JournalWaitResult::Invalidate => continue,
                }
            }
            if let Some(until) = self.until_usec {
                let t = self
                    .journal
                    .timestamp_usec()
                    .map_err(|e| journal_error("reading the journal", e))?;
                if t > until {
                    return Ok(false);
                }
            }
            let Some(field) = self
                .journal
                .get_data("MESSAGE")
                .map_err(|e| journal_error("reading MESSAGE", e))?
            else {
                continue;
            };
            let Some(value) = field.value() else { continue };
            self.buf.clear();
            self.buf.extend_from_slice(value);
            self.restore_extras()?;
            self.buf.push(b'\n');
            self.at = 0;
            return Ok(true);
        }
    }
}

impl JournalLines {
    /// Puts the entry's `TERMTAPE_X_*` fields back into the message in
    /// the buffer, as fields named in lower case.
    fn restore_extras(&mut self) -> io::Result<()> {
        let mut extras = Vec::new();
        self.journal.restart_data();
        while let Some(field) = self
            .journal
            .enumerate_data()
            .map_err(|e| journal_error("reading the journal", e))?
        {
            let (name, Some(value)) = (field.name(), field.value()) else {
                continue;
            };
            if let Some(rest) = name.strip_prefix(EXTRA_PREFIX) {
                extras.push((rest.to_ascii_lowercase(), value.to_vec()));
            }
        }
        if extras.is_empty() || self.buf.last() != Some(&b'}') {
            return Ok(());
        }
        self.buf.pop();
        for (name, value) in extras {
            self.buf.extend_from_slice(b",\"");
            self.buf.extend_from_slice(&name);
            self.buf.extend_from_slice(b"\":");
            self.buf.extend_from_slice(&value);
        }
        self.buf.push(b'}');
        Ok(())
    }
}

impl Read for JournalLines {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for JournalLines {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at >= self.buf.len() && !self.done && !self.next_message()? {
            self.done = true;
            self.buf.clear();
            self.at = 0;
        }
        Ok(&self.buf[self.at..])
    }

    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.buf.len());
    }
}

/// Parses a time given on the command line into milliseconds since the
/// epoch: seconds since the epoch (`1795706950.5`), or a date and time
/// `YYYY-MM-DD[ HH:MM[:SS]]` (also with `T` between them) in the local time
/// zone, or in UTC when followed by ` UTC` or `Z`.
pub fn parse_time(s: &str) -> Result<u64, String> {
    if let Ok(secs) = s.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Ok((secs * 1000.0) as u64);
    }
    let bad = || {
        format!(
            "{s:?} is not a time (seconds since the epoch, or YYYY-MM-DD[ HH:MM[:SS]] in local \
             time, or followed by UTC)"
        )
    };
    let (text, utc) = match s
        .trim()
        .strip_suffix(" UTC")
        .or_else(|| s.trim().strip_suffix('Z'))
    {
        Some(t) => (t, true),
        None => (s.trim(), false),
    };
    let (date, time) = match text.split_once([' ', 'T']) {
        Some((d, t)) => (d, t),
        None => (text, "00:00:00"),
    };
    let nums = |part: &str, sep: char| -> Option<Vec<u64>> {
        part.split(sep).map(|n| n.parse().ok()).collect()
    };
    let d = nums(date, '-').filter(|d| d.len() == 3).ok_or_else(bad)?;
    let t = nums(time, ':')
        .filter(|t| t.len() == 2 || t.len() == 3)
        .ok_or_else(bad)?;
    let (y, m, day) = (d[0] as i64, d[1], d[2]);
    if !(1..=12).contains(&m)
        || !(1..=31).contains(&day)
        || t[0] > 23
        || t[1] > 59
        || t.get(2).is_some_and(|&s| s > 60)
    {
        return Err(bad());
    }
    let (h, min, sec) = (
        t[0] as u32,
        t[1] as u32,
        t.get(2).copied().unwrap_or(0) as u32,
    );
    let secs = if utc {
        days_from_civil(y, m as u32, day as u32) * 86_400 + i64::from(h * 3600 + min * 60 + sec)
    } else {
        crate::zone::from_local(y, m as u32, day as u32, h, min, sec).ok_or_else(bad)?
    };
    u64::try_from(secs).map(|s| s * 1000).map_err(|_| bad())
}

/// Days from 1970-01-01 to a proleptic Gregorian date (the inverse of the
/// listing's date formatting; 400-year eras of 146097 days).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let month_index = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let day_of_year = (153 * month_index + 2) / 5 + i64::from(d) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_times() {
        assert_eq!(parse_time("1795706950.773"), Ok(1_795_706_950_773));
        assert_eq!(parse_time("2026-11-26 15:29:10 UTC"), Ok(1_795_706_950_000));
        assert_eq!(parse_time("2026-11-26T15:29Z"), Ok(1_795_706_940_000));
        assert_eq!(parse_time("2000-02-29 00:00 UTC"), Ok(951_782_400_000));
        // Local time is the C library's; whatever the zone, it is what
        // formatting the result in it gives back.
        let local = parse_time("2026-11-26 15:29:10").expect("a local time");
        assert_eq!(
            crate::time::local(local)
                .rsplit_once(' ')
                .map(|(t, _)| t.to_owned()),
            Some("2026-11-26 15:29:10".to_owned())
        );
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("2026-13-01").is_err());
    }
}
