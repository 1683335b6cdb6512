//! Reading audit records: from audit.log files (auditd's, rotated ones
//! included) or from the journal's audit entries, into events.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use termtape_format::{LineEnd, read_line, skip_line};

use super::event::{Event, Joiner, Place};
use super::record::{self, MAX_RECORD_LEN, Record};

/// auditd's log, whose rotated copies are `audit.log.1` (newest) … `.N`.
pub const DEFAULT_LOG: &str = "/var/log/audit/audit.log";

/// Where audit records are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditSource {
    /// An audit.log file.
    File(PathBuf),
    /// The journal's audit entries (`None`: the system journal; else a
    /// directory of journal files).
    Journal(Option<PathBuf>),
}

impl AuditSource {
    /// `journal`, `journal:DIR`, or a file.
    pub fn parse(spec: &str) -> AuditSource {
        match spec {
            "journal" => AuditSource::Journal(None),
            _ => match spec.strip_prefix("journal:") {
                Some(dir) if !dir.is_empty() => AuditSource::Journal(Some(dir.into())),
                _ => AuditSource::File(spec.into()),
            },
        }
    }

    /// auditd's log and its rotated copies, oldest first (those there are).
    pub fn defaults() -> Vec<AuditSource> {
        rotated(Path::new(DEFAULT_LOG))
            .into_iter()
            .map(AuditSource::File)
            .collect()
    }
}

/// `log` and its rotated copies `log.1`, `log.2`… that exist, oldest (the
/// highest number) first; `log` itself even if it does not exist, so that
/// reading it says so.
pub fn rotated(log: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for n in 1..=9999 {
        let name = PathBuf::from(format!("{}.{n}", log.display()));
        if !name.exists() {
            break;
        }
        files.push(name);
    }
    files.reverse();
    files.push(log.to_owned());
    files
}

/// What reading found besides events: damage, with its place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {reason}")]
pub struct Damage {
    /// Where.
    pub place: Place,
    /// What.
    pub reason: String,
}

/// Reads `sources` in order and hands `out` their events. `window` (ms
/// since the epoch, inclusive) and `kinds` (record types; empty: all) let
/// records be passed over by their header alone, which is most of a big
/// log. Malformed records go to `damage`; a source that cannot be read is
/// an error.
pub fn read(
    sources: &[AuditSource],
    window: Option<(u64, u64)>,
    kinds: &[&str],
    damage: &mut dyn FnMut(Damage),
    out: &mut dyn FnMut(Event),
) -> io::Result<()> {
    let mut joiner = Joiner::new();
    let take = |line: &str,
                place: Place,
                joiner: &mut Joiner,
                damage: &mut dyn FnMut(Damage),
                out: &mut dyn FnMut(Event)| {
        let header = match record::header(line) {
            Ok(h) => h,
            Err(e) => {
                return damage(Damage {
                    place,
                    reason: format!("malformed audit record: {e}"),
                });
            }
        };
        let wanted_time = window.is_none_or(|(a, b)| (a..=b).contains(&header.time));
        let wanted_kind = kinds.is_empty() || header.kind == "EOE" || kinds.contains(&header.kind);
        if !wanted_time || !wanted_kind {
            return;
        }
        match Record::parse(line) {
            Ok(r) => joiner.push(r, place, out),
            Err(e) => damage(Damage {
                place,
                reason: format!("malformed audit record: {e}"),
            }),
        }
    };
    for source in sources {
        match source {
            AuditSource::File(path) => {
                let name = path.display().to_string();
                let file = File::open(path)
                    .map_err(|e| io::Error::new(e.kind(), format!("{name}: {e}")))?;
                let mut input = BufReader::with_capacity(1 << 16, file);
                let mut buf = Vec::new();
                let mut line_no = 0u64;
                loop {
                    buf.clear();
                    let end = read_line(&mut input, &mut buf, MAX_RECORD_LEN)
                        .map_err(|e| io::Error::new(e.kind(), format!("{name}: {e}")))?;
                    line_no += 1;
                    let place = Place {
                        source: name.clone(),
                        line: line_no,
                    };
                    match end {
                        LineEnd::Eof => break,
                        LineEnd::TooLong => {
                            skip_line(&mut input)?;
                            damage(Damage {
                                place,
                                reason: format!(
                                    "malformed audit record: longer than {MAX_RECORD_LEN} bytes"
                                ),
                            });
                            continue;
                        }
                        LineEnd::Newline | LineEnd::Unterminated => {}
                    }
                    let bytes = buf.strip_suffix(b"\n").unwrap_or(&buf);
                    match std::str::from_utf8(bytes) {
                        Ok(line) => take(line, place, &mut joiner, damage, out),
                        // The kernel hex-encodes any byte above 0x7e.
                        Err(_) => damage(Damage {
                            place,
                            reason: "malformed audit record: bytes that are not text".into(),
                        }),
                    }
                }
            }
            AuditSource::Journal(dir) => {
                let name = match dir {
                    Some(d) => format!("journal:{}", d.display()),
                    None => "journal".to_owned(),
                };
                let (since, until) = window.unwrap_or((0, u64::MAX / 1000));
                let mut n = 0u64;
                crate::source::audit_entries(
                    dir.as_deref(),
                    since.saturating_mul(1000),
                    until.saturating_mul(1000).saturating_add(999),
                    &mut |line| {
                        n += 1;
                        let place = Place {
                            source: name.clone(),
                            line: n,
                        };
                        take(&line, place, &mut joiner, damage, out);
                        Ok(true)
                    },
                )?;
            }
        }
    }
    joiner.finish(out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damage_is_reported_with_file_and_line_and_events_still_come() {
        let dir = std::env::temp_dir().join(format!("tt-audit-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let log = dir.join("audit.log");
        let long = "x".repeat(MAX_RECORD_LEN + 10);
        let mut text = format!(
            "type=EXECVE msg=audit(1.000:1): argc=1 a0=\"ls\"\nnot a record\n{long}\n\
             type=EXECVE msg=audit(2.000:2): argc=1 a0=\"id\"\n"
        )
        .into_bytes();
        text.extend_from_slice(b"\xff\xfe\n");
        std::fs::write(&log, text).expect("write");
        std::fs::write(dir.join("audit.log.1"), "type=EOE msg=audit(0.5:1): \n").expect("write");
        let sources: Vec<AuditSource> = rotated(&log).into_iter().map(AuditSource::File).collect();
        assert_eq!(sources.len(), 2);
        let mut damaged = Vec::new();
        let mut events = Vec::new();
        read(
            &sources,
            None,
            &[],
            &mut |d| damaged.push(d.to_string()),
            &mut |e| events.push(e),
        )
        .expect("read");
        let name = log.display();
        assert_eq!(
            damaged,
            [
                format!("{name}:2: malformed audit record: no type= at the start"),
                format!("{name}:3: malformed audit record: longer than 65536 bytes"),
                format!("{name}:5: malformed audit record: bytes that are not text"),
            ]
        );
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].place.line, 4);
        let mut none = Vec::new();
        read(&sources, Some((1500, 3000)), &[], &mut |_| {}, &mut |e| {
            none.push(e)
        })
        .expect("read");
        assert_eq!(none.len(), 1, "the window passes over the first");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
