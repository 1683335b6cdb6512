//! `termtape commands` and `termtape files` output: a table per recording,
//! or JSON lines (the contract the web front end reads).

use std::io::{self, Write};

use super::{Timeline, command_json, command_line, file_json, path_of, recording_json};
use crate::time;
use crate::visible::{json_line, visible, visible_bytes};

/// What to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// Programs run.
    Commands,
    /// Watched files touched.
    Files,
}

/// Writes `timelines` to `out`: per recording, a heading line (or a
/// `recording` object) and its commands or file events (`command` or
/// `file` objects), then for JSON an `end` object. The count of items
/// written is returned.
pub fn write(
    out: &mut dyn Write,
    timelines: &[Timeline],
    what: What,
    json: bool,
) -> io::Result<u64> {
    let mut total = 0u64;
    for t in timelines {
        let count = match what {
            What::Commands => t.commands.len(),
            What::Files => t.files.len(),
        };
        total += count as u64;
        if json {
            writeln!(out, "{}", json_line(&recording_json(t)))?;
            match what {
                What::Commands => {
                    for (i, c) in t.commands.iter().enumerate() {
                        writeln!(out, "{}", json_line(&command_json(t, i + 1, c)))?;
                    }
                }
                What::Files => {
                    for (i, f) in t.files.iter().enumerate() {
                        writeln!(out, "{}", json_line(&file_json(t, i + 1, f)))?;
                    }
                }
            }
            continue;
        }
        heading(out, t, count, what)?;
        match what {
            What::Commands => commands_table(out, t)?,
            What::Files => files_table(out, t)?,
        }
    }
    if json {
        end(out, timelines.len() as u64, total)?;
    }
    Ok(total)
}

/// Writes the commands of `timelines` that `pattern` finds (see
/// [`super::Exec::ran`]) for `search --ran`: one line each (wall-clock
/// time, user@host, recording, offset, `cmd:N` for `screen --at`, the
/// command line), or for JSON the `recording` object of each recording
/// with a match, its matching `command` objects (numbered as `commands`
/// numbers them) and an `end` object. The count of matches is returned.
pub fn write_ran(
    out: &mut dyn Write,
    timelines: &[Timeline],
    pattern: &crate::search::Pattern,
    json: bool,
) -> io::Result<u64> {
    let (mut total, mut recordings) = (0u64, 0u64);
    for t in timelines {
        let matches: Vec<(usize, &super::Exec)> = t
            .commands
            .iter()
            .enumerate()
            .filter(|(_, c)| c.ran(pattern))
            .map(|(i, c)| (i + 1, c))
            .collect();
        if matches.is_empty() {
            continue;
        }
        recordings += 1;
        total += matches.len() as u64;
        if json {
            writeln!(out, "{}", json_line(&recording_json(t)))?;
        }
        for (n, c) in matches {
            if json {
                writeln!(out, "{}", json_line(&command_json(t, n, c)))?;
                continue;
            }
            let s = &t.summary;
            writeln!(
                out,
                "{}  {}@{}  {}  {}  cmd:{n}  {}",
                time::local(c.time),
                visible(&s.user),
                visible(&s.host),
                visible(&s.rec),
                time::duration(t.at(c.time)),
                command_line(&c.argv),
            )?;
        }
    }
    if json {
        end(out, recordings, total)?;
    }
    Ok(total)
}

/// The `end` object closing JSON output.
fn end(out: &mut dyn Write, recordings: u64, count: u64) -> io::Result<()> {
    let end = serde_json::json!({
        "v": super::JSON_VERSION,
        "type": "end",
        "recordings": recordings,
        "count": count,
    });
    writeln!(out, "{}", json_line(&end))
}

fn heading(out: &mut dyn Write, t: &Timeline, count: usize, what: What) -> io::Result<()> {
    let s = &t.summary;
    let start = s.start.map_or_else(|| "-".to_owned(), time::local);
    let noun = match what {
        What::Commands => "commands",
        What::Files => "file events",
    };
    writeln!(
        out,
        "{}  {}@{}  {}  {start}  {count} {noun}",
        visible(&s.rec),
        visible(&s.user),
        visible(&s.host),
        s.audit_text(),
    )?;
    let not_kept = match what {
        What::Commands => t.commands_not_kept,
        What::Files => t.files_not_kept,
    };
    if not_kept > 0 {
        writeln!(
            out,
            "  ({not_kept} more {noun} after the first {}, counted, not listed)",
            super::MAX_KEPT
        )?;
    }
    if count == 0 {
        let why = match what {
            What::Commands => t.why_none(),
            What::Files if t.summary.audit_session().is_none() => t.why_none(),
            What::Files => Some(format!(
                "no event of a watched file (rule key {}) in its session in its time",
                super::WATCH_KEY
            )),
        };
        if let Some(why) = why {
            writeln!(out, "  (none: {})", visible(&why))?;
        }
    }
    Ok(())
}

fn result(success: Option<bool>, exit: Option<i64>) -> String {
    match (success, exit) {
        (Some(true), _) => "ok".to_owned(),
        (Some(false), Some(e)) => format!("failed({e})"),
        (Some(false), None) => "failed".to_owned(),
        (None, _) => "-".to_owned(),
    }
}

fn number(n: Option<u64>) -> String {
    match n {
        Some(n) if n == u64::from(termtape_format::UNSET_ID) => "unset".to_owned(),
        Some(n) => n.to_string(),
        None => "-".to_owned(),
    }
}

fn clock(ms: u64) -> String {
    // The local time of day with ms; the date is in the heading.
    let full = time::local(ms);
    let tod = full.split(' ').nth(1).unwrap_or(&full).to_owned();
    format!("{tod}.{:03}", ms % 1000)
}

fn commands_table(out: &mut dyn Write, t: &Timeline) -> io::Result<()> {
    if t.commands.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "  {:>4}  {:<12}  {:>10}  {:>7}  {:>7}  {:>5}  {:>5}  {:>5}  {:<12}  {:<20}  COMMAND",
        "#", "TIME", "AT", "PID", "PPID", "UID", "EUID", "AUID", "RESULT", "CWD"
    )?;
    for (i, c) in t.commands.iter().enumerate() {
        let p = &c.process;
        let cwd = c.cwd.as_deref().map_or_else(|| "-".into(), visible_bytes);
        let mut line = command_line(&c.argv);
        if c.incomplete {
            line.push_str("  [arguments incomplete]");
        }
        writeln!(
            out,
            "  {:>4}  {:<12}  {:>10}  {:>7}  {:>7}  {:>5}  {:>5}  {:>5}  {:<12}  {:<20}  {line}",
            i + 1,
            clock(c.time),
            time::duration(t.at(c.time)),
            number(p.pid),
            number(p.ppid),
            number(p.uid),
            number(p.euid),
            number(p.auid),
            result(p.success, p.exit),
            cwd,
        )?;
    }
    Ok(())
}

fn files_table(out: &mut dyn Write, t: &Timeline) -> io::Result<()> {
    if t.files.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "  {:>4}  {:<12}  {:>10}  {:>7}  {:>5}  {:<10}  {:<12}  {:<16}  PATH",
        "#", "TIME", "AT", "PID", "AUID", "OPERATION", "RESULT", "PROGRAM"
    )?;
    for (i, f) in t.files.iter().enumerate() {
        let p = &f.process;
        let path = path_of(f).map_or_else(|| "-".into(), visible_bytes);
        let program = p.exe.as_deref().map_or_else(|| "-".into(), visible_bytes);
        writeln!(
            out,
            "  {:>4}  {:<12}  {:>10}  {:>7}  {:>5}  {:<10}  {:<12}  {:<16}  {path}",
            i + 1,
            clock(f.time),
            time::duration(t.at(f.time)),
            number(p.pid),
            number(p.auid),
            visible(p.syscall.as_deref().unwrap_or("-")),
            result(p.success, p.exit),
            program,
        )?;
    }
    Ok(())
}
