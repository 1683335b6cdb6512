//! `termtape commands`, `termtape files` and `screen --at cmd:N`: the
//! recordings of a source, placed against the audit records.

use std::io::{self, Write};

use anyhow::{Result, bail};
use termtape_player::audit::{self, AuditSource, Timeline, print};
use termtape_player::tui::Commands;
use termtape_player::{list, seek, source};

use crate::cli::{AuditLogs, Common, Status};
use crate::{damage_note, damage_status, filter, note};

/// How many malformed audit records are told in full.
const AUDIT_DAMAGE_SHOWN: u64 = 5;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The timelines of the recordings `common` selects; `damaged` counts the
/// damaged messages and malformed audit records passed over.
fn timelines(
    common: &Common,
    logs: &AuditLogs,
    keys: &[String],
    damaged: &mut u64,
) -> Result<Vec<Timeline>> {
    timelines_of(common, common.rec.clone(), logs, keys, damaged)
}

/// [`timelines`] of the recording `rec` (or all if `None`).
fn timelines_of(
    common: &Common,
    rec: Option<String>,
    logs: &AuditLogs,
    keys: &[String],
    damaged: &mut u64,
) -> Result<Vec<Timeline>> {
    let source = source::parse(&common.source);
    let filter = filter(&common.select, rec, false);
    let now = now_ms();
    let summaries = list::summaries(&*source, &filter, now, false, &mut |e| {
        *damaged += 1;
        damage_note(*damaged, e, "passed over");
    })?;
    let sources: Vec<AuditSource> = match logs.audit_log.is_empty() {
        true => AuditSource::defaults(),
        false => logs
            .audit_log
            .iter()
            .map(|s| AuditSource::parse(s))
            .collect(),
    };
    let keys: Vec<Vec<u8>> = match keys.is_empty() {
        true => vec![audit::WATCH_KEY.as_bytes().to_vec()],
        false => keys.iter().map(|k| k.as_bytes().to_vec()).collect(),
    };
    let mut bad = 0u64;
    let lines = audit::timelines(
        summaries,
        &sources,
        now,
        &|k| keys.iter().any(|w| w == k),
        &mut |text| {
            bad += 1;
            if bad <= AUDIT_DAMAGE_SHOWN {
                note(format_args!("warning: {text} (passed over)"));
            } else if bad == AUDIT_DAMAGE_SHOWN + 1 {
                note("warning: more malformed audit records; only their number is told at the end");
            }
        },
    )?;
    if bad > AUDIT_DAMAGE_SHOWN {
        note(format_args!(
            "{bad} malformed audit record(s) passed over in all"
        ));
    }
    *damaged += bad;
    Ok(lines)
}

/// `termtape commands` and `termtape files`.
pub fn list_audit(
    common: &Common,
    logs: &AuditLogs,
    keys: &[String],
    what: print::What,
    json: bool,
) -> Result<Status> {
    let mut damaged = 0u64;
    let lines = timelines(common, logs, keys, &mut damaged)?;
    if lines.is_empty() {
        note(format_args!("{}: no recording matches", common.source));
        return Ok(damage_status(damaged, common.lax.lax, Status::NothingFound));
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    let count = print::write(&mut out, &lines, what, json)?;
    out.flush()?;
    let found = if count > 0 {
        Status::Done
    } else {
        Status::NothingFound
    };
    Ok(damage_status(damaged, common.lax.lax, found))
}

/// The wall-clock moment the `n`th command of the recording `common`
/// selects started.
pub fn command_start(common: &Common, logs: &AuditLogs, n: usize) -> Result<seek::At> {
    let mut damaged = 0u64;
    let lines = timelines(common, logs, &[], &mut damaged)?;
    let t = match lines.as_slice() {
        [t] => t,
        [] => bail!("{}: no recording matches", common.source),
        _ => bail!(
            "{}: holds {} recordings; choose one with --rec ID for cmd:{n}",
            common.source,
            lines.len()
        ),
    };
    match t.mark(n) {
        Some(time) => Ok(seek::At::Clock(time)),
        None => bail!(
            "recording {} has {} command(s), no cmd:{n}{}",
            t.summary.rec,
            t.commands.len(),
            t.why_none().map(|w| format!(" ({w})")).unwrap_or_default()
        ),
    }
}

/// `termtape search --ran PATTERN`: the commands matching it, in every
/// recording `common` selects.
pub fn search_ran(
    common: &Common,
    logs: &AuditLogs,
    pattern: &str,
    ignore_case: bool,
    json: bool,
) -> Result<Status> {
    let mut damaged = 0u64;
    let lines = timelines(common, logs, &[], &mut damaged)?;
    if lines.is_empty() {
        note(format_args!("{}: no recording matches", common.source));
        return Ok(damage_status(damaged, common.lax.lax, Status::NothingFound));
    }
    let pattern = termtape_player::search::Pattern::new(pattern, ignore_case);
    let mut out = io::BufWriter::new(io::stdout().lock());
    let count = print::write_ran(&mut out, &lines, &pattern, json)?;
    out.flush()?;
    // Recordings that could not be searched are said, not passed over.
    let blind = lines.iter().filter(|t| t.why_none().is_some()).count();
    if blind > 0 {
        note(format_args!(
            "{blind} of {} recording(s) have no commands from audit to search \
             (termtape commands says why for each)",
            lines.len()
        ));
    }
    let found = if count > 0 {
        Status::Done
    } else {
        Status::NothingFound
    };
    Ok(damage_status(damaged, common.lax.lax, found))
}

/// The commands of recording `rec` for the seeking player. Nothing (and
/// no word) when the default audit log does not exist, as on a host
/// without auditd; any other failure is told on stderr, before the player
/// takes the terminal, and it plays without commands.
pub fn play_commands(common: &Common, logs: &AuditLogs, rec: &str) -> Commands {
    let mut damaged = 0u64;
    match timelines_of(common, Some(rec.to_owned()), logs, &[], &mut damaged) {
        Ok(lines) => {
            let Some(t) = lines.into_iter().find(|t| t.summary.rec == rec) else {
                return Commands::default();
            };
            Commands {
                at: t
                    .commands
                    .iter()
                    .map(|c| t.at(c.time + audit::MARK_LAG_MS))
                    .collect(),
                lines: t
                    .commands
                    .iter()
                    .map(|c| audit::command_line(&c.argv))
                    .collect(),
                why: t.why_none(),
            }
        }
        Err(e) => {
            let absent = logs.audit_log.is_empty()
                && e.downcast_ref::<io::Error>()
                    .is_some_and(|e| e.kind() == io::ErrorKind::NotFound);
            if !absent {
                note(format_args!("warning: commands not shown: {e:#}"));
            }
            Commands {
                why: Some(format!("audit records not read: {e:#}")),
                ..Commands::default()
            }
        }
    }
}
