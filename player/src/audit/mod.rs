//! Audit correlation: the commands run and the watched files touched in a
//! recorded session, from the kernel's audit records, placed in the
//! recording's time.
//!
//! The key is tlog's `session` field, the audit session id (`ses=`) the
//! recorder found in `/proc/self/sessionid`, which the recorded shell and
//! everything it starts inherit; the recording's time window picks that
//! boot's session among those of other boots (ids start again at boot;
//! the recording's `origin` carries the boot id too). A login without an
//! audit session (id 4294967295) has no commands that can be told apart.
//!
//! - [`record`]: one audit.log line parsed (no I/O);
//! - [`event`]: records joined by serial into events, and the two kinds
//!   shown: [`Exec`] and [`FileEvent`];
//! - [`read`]: audit.log files (rotated ones too) or the journal's audit
//!   entries, into events;
//! - [`timelines`]: each recording's commands and file events;
//! - [`print`](mod@print): them as tables or JSON lines.
//!
//! Audit records are written by the kernel, but their strings (arguments,
//! paths, working directories) are the recorded user's: printed, they go
//! through [`crate::visible`] like every other field.

pub mod event;
pub mod print;
pub mod read;
pub mod record;

pub use event::{Event, EventError, Exec, FileEvent, Place, Process};
pub use read::{AuditSource, Damage};
pub use record::{Record, RecordError};

use serde_json::{Value, json};

use crate::list::Summary;
use crate::visible::visible_bytes;

/// The version of the JSON objects of `commands --json` and `files --json`.
pub const JSON_VERSION: u64 = 1;

/// The key of termtape's file-watch rules (`termtape audit rules`).
pub const WATCH_KEY: &str = "termtape-watch";

/// The key of termtape's exec rules.
pub const EXEC_KEY: &str = "termtape-exec";

/// Record types an exec or a file event is made of.
pub const KINDS: [&str; 5] = ["SYSCALL", "EXECVE", "CWD", "PATH", "PROCTITLE"];

/// A recording's commands and file events, oldest first.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// The recording.
    pub summary: Summary,
    /// Its end, ms since the epoch (now, for a live one).
    pub end: Option<u64>,
    /// Programs run in its session in its time.
    pub commands: Vec<Exec>,
    /// Watched files touched in its session in its time.
    pub files: Vec<FileEvent>,
    /// Audit events of its session seen in its time, of any kind.
    pub events: u64,
    /// Commands past [`MAX_KEPT`], counted, not kept.
    pub commands_not_kept: u64,
    /// File events past [`MAX_KEPT`], counted, not kept.
    pub files_not_kept: u64,
}

/// Commands (and file events) kept per recording: a session that runs a
/// program in a loop for hours stays within bounded memory (a few hundred
/// bytes each), and the rest are counted and said.
pub const MAX_KEPT: usize = 100_000;

impl Timeline {
    /// Why it has no commands, if it has none: the login had no audit
    /// session, the recording has no time, or no audit record of its
    /// session was found in its time.
    pub fn why_none(&self) -> Option<String> {
        if !self.commands.is_empty() {
            return None;
        }
        Some(match (self.summary.audit_session(), self.summary.start) {
            (None, _) => format!(
                "the login had no audit session (session {}: no pam_loginuid, or audit off in the kernel), so its commands cannot be told from others'",
                self.summary.session
            ),
            (Some(_), None) => "its messages carry no time".to_owned(),
            (Some(ses), Some(_)) if self.events == 0 => format!(
                "no audit record of session {ses} in its time: auditd was not running, or without rules that log commands (termtape audit rules), or the audit log read is not this host's"
            ),
            (Some(ses), Some(_)) => format!(
                "audit records of session {ses} in its time, but none of a program run (no execve rule: termtape audit rules)"
            ),
        })
    }

    /// The moment to show for command `n` (from 1): its start plus
    /// [`MARK_LAG_MS`], ms since the epoch.
    pub fn mark(&self, n: usize) -> Option<u64> {
        let c = self.commands.get(n.checked_sub(1)?)?;
        Some(c.time + MARK_LAG_MS)
    }

    /// The offset into the recording of a moment (ms since the epoch), in ms.
    pub fn at(&self, time: u64) -> u64 {
        time.saturating_sub(self.summary.start.unwrap_or(0))
    }
}

/// How long after a command's start `screen --at cmd:N` shows the screen.
/// The kernel stamps audit records with its coarse clock (one tick: 4 ms
/// at HZ=250, 10 ms at HZ=100), and the recorder stamps output when it
/// reads it from the terminal, a few ms after the shell echoed the command
/// line and started it: at the audit record's own time the recording may
/// not show the line yet. The `at` of `commands --json` is the record's.
pub const MARK_LAG_MS: u64 = 50;

/// How long after a recording's last event its session's records still
/// count (its last command's records may be written after the output).
pub const TAIL_MS: u64 = 2_000;

/// How long before a recording's start its session's records already
/// count: the kernel stamps them with its coarse clock, up to a tick (10
/// ms at HZ=100) behind the recorder's, so a program the recorded shell
/// runs at once can carry a time before the recording's start (seen with
/// `ssh user cmd`).
pub const LEAD_MS: u64 = 20;

/// Reads `sources` and gives each recording of `summaries` its commands and
/// file events: the events whose `ses` is the recording's session and whose
/// time is in its window (its start to its end, or `now` if it is live).
/// The window opens [`LEAD_MS`] early and closes [`TAIL_MS`] late.
/// File events are those whose rule key `file_key` accepts. Malformed
/// records and events go to `damage`.
pub fn timelines(
    summaries: Vec<Summary>,
    sources: &[AuditSource],
    now: u64,
    file_key: &dyn Fn(&[u8]) -> bool,
    damage: &mut dyn FnMut(String),
) -> std::io::Result<Vec<Timeline>> {
    timelines_keeping(summaries, sources, now, file_key, damage, MAX_KEPT)
}

/// [`timelines`], keeping at most `max_kept` commands and file events a
/// recording.
fn timelines_keeping(
    summaries: Vec<Summary>,
    sources: &[AuditSource],
    now: u64,
    file_key: &dyn Fn(&[u8]) -> bool,
    damage: &mut dyn FnMut(String),
    max_kept: usize,
) -> std::io::Result<Vec<Timeline>> {
    let mut lines: Vec<Timeline> = summaries
        .into_iter()
        .map(|summary| {
            let end = summary.start.map(|s| {
                let end = s + summary.duration;
                if summary.live { now.max(end) } else { end }
            });
            Timeline {
                summary,
                end,
                commands: Vec::new(),
                files: Vec::new(),
                events: 0,
                commands_not_kept: 0,
                files_not_kept: 0,
            }
        })
        .collect();
    let windows: Vec<(usize, u64, u64, u64)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let ses = t.summary.audit_session()?;
            Some((
                i,
                u64::from(ses),
                t.summary.start?.saturating_sub(LEAD_MS),
                t.end? + TAIL_MS,
            ))
        })
        .collect();
    let Some(from) = windows.iter().map(|w| w.2).min() else {
        return Ok(lines);
    };
    let to = windows.iter().map(|w| w.3).max().unwrap_or(from);
    // Both the reader and the events report damage, in the order found.
    let damage = std::cell::RefCell::new(damage);
    let report = |text: String| (damage.borrow_mut())(text);
    read::read(
        sources,
        Some((from, to)),
        &KINDS,
        &mut |d| report(d.to_string()),
        &mut |event| {
            let Some(ses) = event
                .record("SYSCALL")
                .and_then(|r| r.number("ses"))
                .or_else(|| event.records[0].number("ses"))
            else {
                return;
            };
            let time = event.time();
            let mine: Vec<usize> = windows
                .iter()
                .filter(|w| w.1 == ses && (w.2..=w.3).contains(&time))
                .map(|w| w.0)
                .collect();
            if mine.is_empty() {
                return;
            }
            let exec = Exec::of(&event);
            let file = FileEvent::of(&event, file_key);
            for i in mine {
                let t = &mut lines[i];
                t.events += 1;
                match &exec {
                    Ok(Some(_)) if t.commands.len() >= max_kept => t.commands_not_kept += 1,
                    Ok(Some(e)) => t.commands.push(e.clone()),
                    Ok(None) => {}
                    Err(e) => report(e.to_string()),
                }
                match &file {
                    Ok(Some(_)) if t.files.len() >= max_kept => t.files_not_kept += 1,
                    Ok(Some(f)) => t.files.push(f.clone()),
                    Ok(None) => {}
                    Err(e) => report(e.to_string()),
                }
            }
        },
    )?;
    for t in &mut lines {
        t.commands.sort_by_key(|c| (c.time, c.serial));
        t.files.sort_by_key(|f| (f.time, f.serial));
    }
    Ok(lines)
}

fn text(bytes: &Option<Vec<u8>>) -> Value {
    bytes
        .as_deref()
        .map_or(Value::Null, |b| String::from_utf8_lossy(b).into())
}

/// The `recording` object heading a recording's commands or files.
pub fn recording_json(t: &Timeline) -> Value {
    json!({
        "v": JSON_VERSION,
        "type": "recording",
        "rec": t.summary.rec,
        "user": t.summary.user,
        "host": t.summary.host,
        "session": t.summary.audit_session(),
        "loginuid": t.summary.origin.as_ref().and_then(|o| o.loginuid)
            .filter(|&u| u != termtape_format::UNSET_ID),
        "boot_id": t.summary.origin.as_ref().and_then(|o| o.boot_id.as_ref()),
        "start": t.summary.start,
        "end": t.end,
        "commands": t.commands.len(),
        "files": t.files.len(),
        "commands_not_kept": t.commands_not_kept,
        "files_not_kept": t.files_not_kept,
        "why": t.why_none(),
    })
}

fn process_json(object: &mut serde_json::Map<String, Value>, p: &Process) {
    for (k, v) in [
        ("pid", p.pid),
        ("ppid", p.ppid),
        ("uid", p.uid),
        ("euid", p.euid),
        ("auid", p.auid),
        ("ses", p.ses),
    ] {
        object.insert(k.into(), v.into());
    }
    object.insert("tty".into(), p.tty.clone().into());
    object.insert("success".into(), p.success.into());
    object.insert("exit".into(), p.exit.into());
    object.insert("syscall".into(), p.syscall.clone().into());
    object.insert("exe".into(), text(&p.exe));
    object.insert("comm".into(), text(&p.comm));
}

/// The `command` object of the `n`th command (from 1) of a recording.
pub fn command_json(t: &Timeline, n: usize, c: &Exec) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("v".into(), JSON_VERSION.into());
    o.insert("type".into(), "command".into());
    o.insert("rec".into(), t.summary.rec.clone().into());
    o.insert("n".into(), n.into());
    o.insert("time".into(), c.time.into());
    o.insert("at".into(), t.at(c.time).into());
    process_json(&mut o, &c.process);
    o.insert("cwd".into(), text(&c.cwd));
    o.insert(
        "argv".into(),
        c.argv
            .iter()
            .map(|a| Value::from(String::from_utf8_lossy(a)))
            .collect(),
    );
    o.insert("argc".into(), c.argc.into());
    o.insert("incomplete".into(), c.incomplete.into());
    o.insert("serial".into(), c.serial.into());
    o.insert("place".into(), c.place.to_string().into());
    Value::Object(o)
}

/// The `file` object of the `n`th file event (from 1) of a recording.
pub fn file_json(t: &Timeline, n: usize, f: &FileEvent) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("v".into(), JSON_VERSION.into());
    o.insert("type".into(), "file".into());
    o.insert("rec".into(), t.summary.rec.clone().into());
    o.insert("n".into(), n.into());
    o.insert("time".into(), f.time.into());
    o.insert("at".into(), t.at(f.time).into());
    o.insert(
        "path".into(),
        path_of(f)
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .into(),
    );
    o.insert(
        "paths".into(),
        f.paths
            .iter()
            .map(|(name, kind)| json!({"name": String::from_utf8_lossy(name), "nametype": kind}))
            .collect(),
    );
    o.insert("operation".into(), f.process.syscall.clone().into());
    process_json(&mut o, &f.process);
    o.insert("cwd".into(), text(&f.cwd));
    o.insert("serial".into(), f.serial.into());
    o.insert("place".into(), f.place.to_string().into());
    Value::Object(o)
}

/// The file an event is about: its last name that is not a parent
/// directory (the created, deleted or opened one).
pub fn path_of(f: &FileEvent) -> Option<&[u8]> {
    f.paths
        .iter()
        .rev()
        .find(|(_, kind)| kind != "PARENT")
        .or(f.paths.last())
        .map(|(name, _)| name.as_slice())
}

impl Exec {
    /// Whether `pattern` finds this command (`search --ran`): in its
    /// arguments joined by spaces (as typed, without the shell's quoting),
    /// or in its executable's path, so that `sudo` finds `sudo -n true`
    /// and `/usr/bin/sudo` the same.
    pub fn ran(&self, pattern: &crate::search::Pattern) -> bool {
        let joined = self
            .argv
            .iter()
            .map(|a| String::from_utf8_lossy(a))
            .collect::<Vec<_>>()
            .join(" ");
        pattern.matches(&joined)
            || self
                .process
                .exe
                .as_deref()
                .is_some_and(|e| pattern.matches(&String::from_utf8_lossy(e)))
    }
}

/// Arguments as one line, a word holding a space, a quote or nothing in
/// single quotes, every control character written visibly.
pub fn command_line(argv: &[Vec<u8>]) -> String {
    let words: Vec<String> = argv
        .iter()
        .map(|w| {
            let w = visible_bytes(w);
            if w.is_empty() || w.contains([' ', '\t', '\'', '"', '\\', '$', '`']) {
                format!("'{}'", w.replace('\'', r"'\''"))
            } else {
                w.into_owned()
            }
        })
        .collect();
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_quote_and_show_controls() {
        let argv = [
            b"echo".to_vec(),
            b"a b".to_vec(),
            b"it's".to_vec(),
            b"\x1b]0;x\x07".to_vec(),
        ];
        assert_eq!(command_line(&argv), r"echo 'a b' 'it'\''s' '\e]0;x\x07'");
    }

    #[test]
    fn ran_looks_in_the_arguments_and_the_executable() {
        use crate::search::Pattern;
        let exec = Exec {
            time: 0,
            serial: 1,
            place: Place {
                source: "audit.log".into(),
                line: 1,
            },
            process: Process {
                exe: Some(b"/usr/bin/sudo".to_vec()),
                ..Process::default()
            },
            cwd: None,
            argv: vec![b"sudo".to_vec(), b"-n".to_vec(), b"a b".to_vec()],
            argc: Some(3),
            incomplete: false,
        };
        assert!(exec.ran(&Pattern::new("sudo -n a b", false)));
        assert!(exec.ran(&Pattern::new("/usr/bin/sudo", false)));
        assert!(exec.ran(&Pattern::new("SUDO -N", true)));
        assert!(!exec.ran(&Pattern::new("SUDO", false)));
        assert!(!exec.ran(&Pattern::new("'a b'", false)));
    }

    /// Past the bound, commands are counted, not kept: the first ones stay.
    #[test]
    fn commands_past_the_bound_are_counted_not_kept() {
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/audit/testdata/auditd-3.0.9-session.log");
        let summary = Summary {
            session: 307,
            start: Some(1_796_066_490_000),
            duration: 2_000,
            ..Summary::default()
        };
        let run = |max: usize| {
            let sources = [AuditSource::File(fixture.clone())];
            let mut lines = timelines_keeping(
                vec![summary.clone()],
                &sources,
                0,
                &|_| false,
                &mut |_| {},
                max,
            )
            .expect("the fixture reads");
            lines.remove(0)
        };
        let all = run(MAX_KEPT);
        assert!(all.commands.len() > 3, "{}", all.commands.len());
        assert_eq!(all.commands_not_kept, 0);
        let kept = run(3);
        assert_eq!(kept.commands.len(), 3);
        assert_eq!(kept.commands_not_kept as usize, all.commands.len() - 3);
        assert_eq!(kept.commands[..], all.commands[..3]);
        assert_eq!(
            recording_json(&kept)["commands_not_kept"],
            all.commands.len() - 3
        );
    }

    #[test]
    fn a_timeline_without_session_says_why() {
        let t = Timeline {
            summary: Summary {
                session: termtape_format::UNSET_ID,
                ..Summary::default()
            },
            end: None,
            commands: Vec::new(),
            files: Vec::new(),
            events: 0,
            commands_not_kept: 0,
            files_not_kept: 0,
        };
        assert!(t.why_none().expect("a reason").contains("no audit session"));
    }
}
