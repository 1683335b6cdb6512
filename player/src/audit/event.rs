//! Records joined into events by their serial, and the two kinds of event
//! termtape shows: a program run ([`Exec`]: SYSCALL, EXECVE, CWD, PATH,
//! PROCTITLE) and a watched file touched ([`FileEvent`]).
//!
//! The kernel logs an event's records one after another and ends an event
//! of several records with `EOE`; records of events on other CPUs may come
//! between them. The [`Joiner`] holds at most [`MAX_PENDING`] unfinished
//! events (the oldest is let go, as it is, when a new one would make more)
//! and at most [`MAX_EVENT_BYTES`] of records in one event (more is counted,
//! not held), so a hostile log cannot make it grow without bound.

use std::collections::VecDeque;

use super::record::{Record, RecordError};

/// Unfinished events held at once.
pub const MAX_PENDING: usize = 16;

/// Bytes of record lines held for one event (the kernel's argument list is
/// at most a few MiB; anything beyond is not an event it wrote).
pub const MAX_EVENT_BYTES: usize = 8 << 20;

/// Arguments taken from one EXECVE event.
pub const MAX_ARGS: usize = 65_536;

/// Where a record was read: a file and line, or a journal entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The file (or `journal`).
    pub source: String,
    /// Its line (1-based), or the entry's number in the journal's order.
    pub line: u64,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.source, self.line)
    }
}

/// The records of one event, in the order they were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Where its first record was read.
    pub place: Place,
    /// Its records.
    pub records: Vec<Record>,
    /// Records of it that were not held (past [`MAX_EVENT_BYTES`]).
    pub dropped: u64,
    bytes: usize,
    done: bool,
}

impl Event {
    /// The time of its first record, ms since the epoch.
    pub fn time(&self) -> u64 {
        self.records[0].time
    }

    /// Its serial.
    pub fn serial(&self) -> u64 {
        self.records[0].serial
    }

    /// Its first record of type `kind`.
    pub fn record(&self, kind: &str) -> Option<&Record> {
        self.records.iter().find(|r| r.kind() == kind)
    }

    fn same(&self, r: &Record) -> bool {
        let first = &self.records[0];
        first.serial == r.serial && first.time == r.time && first.node() == r.node()
    }
}

/// Joins records into events by serial (and time and node, since serials
/// start again when the kernel boots).
#[derive(Debug, Default)]
pub struct Joiner {
    pending: VecDeque<Event>,
}

impl Joiner {
    /// A joiner holding nothing.
    pub fn new() -> Joiner {
        Joiner::default()
    }

    /// Takes one record read at `place`; hands `out` the events it
    /// finishes (an `EOE`), or lets go of to keep within [`MAX_PENDING`].
    pub fn push(&mut self, record: Record, place: Place, out: &mut dyn FnMut(Event)) {
        let eoe = record.kind() == "EOE";
        if let Some(i) = self.pending.iter().rposition(|e| e.same(&record)) {
            let event = &mut self.pending[i];
            if !eoe {
                let len = record.line().len();
                if event.bytes + len > MAX_EVENT_BYTES {
                    event.dropped += 1;
                } else {
                    event.bytes += len;
                    event.records.push(record);
                }
            }
            if eoe {
                event.done = true;
                let event = self.pending.remove(i).expect("index found above");
                out(event);
            }
            return;
        }
        if eoe {
            // An end without a start: nothing to give.
            return;
        }
        if self.pending.len() == MAX_PENDING
            && let Some(oldest) = self.pending.pop_front()
        {
            out(oldest);
        }
        self.pending.push_back(Event {
            place,
            bytes: record.line().len(),
            records: vec![record],
            dropped: 0,
            done: false,
        });
    }

    /// Hands `out` every event still held, oldest first (at the end of the
    /// input).
    pub fn finish(&mut self, out: &mut dyn FnMut(Event)) {
        while let Some(e) = self.pending.pop_front() {
            out(e);
        }
    }
}

/// What is wrong with an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: audit event {serial}: {reason}")]
pub struct EventError {
    /// Where its first record was read.
    pub place: Place,
    /// Its serial.
    pub serial: u64,
    /// What is wrong.
    pub reason: String,
}

/// The ids of the process an event is of, from its SYSCALL record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Process {
    /// Process id.
    pub pid: Option<u64>,
    /// Parent's process id.
    pub ppid: Option<u64>,
    /// Real uid.
    pub uid: Option<u64>,
    /// Effective uid.
    pub euid: Option<u64>,
    /// Login uid (`auid`).
    pub auid: Option<u64>,
    /// Audit session id (`ses`).
    pub ses: Option<u64>,
    /// The terminal (`tty`: `pts0`, `(none)`).
    pub tty: Option<String>,
    /// Whether the system call succeeded (`success=yes`).
    pub success: Option<bool>,
    /// Its return value (`exit`: a negative errno on failure).
    pub exit: Option<i64>,
    /// The executable (`exe`).
    pub exe: Option<Vec<u8>>,
    /// The command name (`comm`).
    pub comm: Option<Vec<u8>>,
    /// The rule key (`key`), several joined by `\x01` as the kernel does.
    pub key: Option<Vec<u8>>,
    /// The system call: its name (ENRICHED `SYSCALL=`, or known by number
    /// on x86_64) or its number.
    pub syscall: Option<String>,
}

impl Process {
    fn of(event: &Event) -> Result<Option<Process>, EventError> {
        let Some(r) = event.record("SYSCALL") else {
            return Ok(None);
        };
        let text = |key: &str| {
            r.text(key).map_err(|e| EventError {
                place: event.place.clone(),
                serial: event.serial(),
                reason: e.to_string(),
            })
        };
        let number = r.raw("syscall").unwrap_or("");
        let syscall = r.interpreted("SYSCALL").map(str::to_owned).or_else(|| {
            let n: u64 = number.parse().ok()?;
            let name = (r.hex_number("arch") == Some(AUDIT_ARCH_X86_64))
                .then(|| x86_64_syscall(n))
                .flatten();
            Some(name.map_or_else(|| n.to_string(), str::to_owned))
        });
        Ok(Some(Process {
            pid: r.number("pid"),
            ppid: r.number("ppid"),
            uid: r.number("uid"),
            euid: r.number("euid"),
            auid: r.number("auid"),
            ses: r.number("ses"),
            tty: r.raw("tty").map(str::to_owned),
            success: r.raw("success").map(|s| s == "yes"),
            exit: r.raw("exit").and_then(|e| e.parse().ok()),
            exe: text("exe")?,
            comm: text("comm")?,
            key: text("key")?,
            syscall,
        }))
    }
}

/// `arch=` of x86_64 records.
const AUDIT_ARCH_X86_64: u64 = 0xc000_003e;

/// Names of the x86_64 system calls a watch or an exec rule logs, for
/// logs without ENRICHED interpretations.
fn x86_64_syscall(n: u64) -> Option<&'static str> {
    Some(match n {
        2 => "open",
        59 => "execve",
        76 => "truncate",
        77 => "ftruncate",
        82 => "rename",
        83 => "mkdir",
        84 => "rmdir",
        85 => "creat",
        86 => "link",
        87 => "unlink",
        88 => "symlink",
        90 => "chmod",
        92 => "chown",
        94 => "lchown",
        188 => "setxattr",
        257 => "openat",
        258 => "mkdirat",
        260 => "fchownat",
        263 => "unlinkat",
        264 => "renameat",
        265 => "linkat",
        266 => "symlinkat",
        268 => "fchmodat",
        280 => "utimensat",
        316 => "renameat2",
        322 => "execveat",
        437 => "openat2",
        _ => return None,
    })
}

/// A program run: an event with an EXECVE record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exec {
    /// When (ms since the epoch).
    pub time: u64,
    /// The event's serial.
    pub serial: u64,
    /// Where its first record was read.
    pub place: Place,
    /// The process and the system call's result.
    pub process: Process,
    /// Its working directory (CWD record).
    pub cwd: Option<Vec<u8>>,
    /// Its arguments, joined from every EXECVE record of the event (split
    /// arguments, `aN[M]`, put together).
    pub argv: Vec<Vec<u8>>,
    /// `argc` as the kernel wrote it.
    pub argc: Option<u64>,
    /// The arguments are not all there (fewer than `argc`, a split one
    /// shorter than its `aN_len`, or records of the event not held).
    pub incomplete: bool,
}

impl Exec {
    /// The program run in `event`, if it is one.
    pub fn of(event: &Event) -> Result<Option<Exec>, EventError> {
        if event.record("EXECVE").is_none() {
            return Ok(None);
        }
        let error = |reason: String| EventError {
            place: event.place.clone(),
            serial: event.serial(),
            reason,
        };
        let mut argc = None;
        let mut args: Vec<Option<Vec<u8>>> = Vec::new();
        let mut lens: Vec<(usize, u64)> = Vec::new();
        let mut total = 0usize;
        for r in event.records.iter().filter(|r| r.kind() == "EXECVE") {
            for (key, value) in r.fields() {
                if key == "argc" {
                    argc = value.parse().ok();
                    continue;
                }
                let Some(rest) = key.strip_prefix('a') else {
                    continue;
                };
                let (index, chunk, len) = if let Some(n) = rest.strip_suffix("_len") {
                    (n, false, true)
                } else if let Some((n, _)) = rest.split_once('[') {
                    (n, true, false)
                } else {
                    (rest, false, false)
                };
                let Ok(i) = index.parse::<usize>() else {
                    continue;
                };
                if i >= MAX_ARGS {
                    return Err(error(format!("argument a{i}: more than {MAX_ARGS}")));
                }
                if len {
                    lens.push((i, value.parse().unwrap_or(0)));
                    continue;
                }
                let bytes = super::record::decode(value)
                    .map_err(|_| error(format!("{key}= is not a string")))?
                    .unwrap_or_default();
                total += bytes.len();
                if total > MAX_EVENT_BYTES {
                    return Err(error("arguments longer than the kernel writes".into()));
                }
                if args.len() <= i {
                    args.resize(i + 1, None);
                }
                match (&mut args[i], chunk) {
                    (Some(arg), true) => arg.extend_from_slice(&bytes),
                    (slot, _) => *slot = Some(bytes),
                }
            }
        }
        let mut incomplete = event.dropped > 0 || args.iter().any(Option::is_none);
        if let Some(n) = argc {
            incomplete |= (args.len() as u64) < n;
        }
        // `aN_len` counts what the kernel wrote: the hex digits of an
        // argument it encoded (which a split one always is), else bytes.
        for (i, len) in lens {
            let got = args
                .get(i)
                .and_then(Option::as_ref)
                .map_or(0, |a| a.len() as u64);
            incomplete |= len != got && len != got * 2;
        }
        let cwd = match event.record("CWD") {
            Some(r) => r.text("cwd").map_err(|e| error(e.to_string()))?,
            None => None,
        };
        Ok(Some(Exec {
            time: event.time(),
            serial: event.serial(),
            place: event.place.clone(),
            process: Process::of(event)?.unwrap_or_default(),
            cwd,
            argv: args.into_iter().map(Option::unwrap_or_default).collect(),
            argc,
            incomplete,
        }))
    }
}

/// A file touched under a watch: an event with a rule key and PATH records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEvent {
    /// When (ms since the epoch).
    pub time: u64,
    /// The event's serial.
    pub serial: u64,
    /// Where its first record was read.
    pub place: Place,
    /// The process and the system call's result.
    pub process: Process,
    /// Its working directory (CWD record), to which relative names refer.
    pub cwd: Option<Vec<u8>>,
    /// The names the system call used (PATH records): name and `nametype`
    /// (`NORMAL`, `CREATE`, `DELETE`, `PARENT`).
    pub paths: Vec<(Vec<u8>, String)>,
}

impl FileEvent {
    /// The file event in `event`, if its SYSCALL record carries a key for
    /// which `wanted` says yes, and it has PATH records.
    pub fn of(
        event: &Event,
        wanted: impl Fn(&[u8]) -> bool,
    ) -> Result<Option<FileEvent>, EventError> {
        let Some(process) = Process::of(event)? else {
            return Ok(None);
        };
        let keyed = process
            .key
            .as_deref()
            .is_some_and(|k| k.split(|&b| b == 1).any(&wanted));
        if !keyed {
            return Ok(None);
        }
        let error = |e: RecordError| EventError {
            place: event.place.clone(),
            serial: event.serial(),
            reason: e.to_string(),
        };
        let mut paths = Vec::new();
        for r in event.records.iter().filter(|r| r.kind() == "PATH") {
            if let Some(name) = r.text("name").map_err(error)? {
                let nametype = r.raw("nametype").unwrap_or("").to_owned();
                paths.push((name, nametype));
            }
        }
        if paths.is_empty() {
            return Ok(None);
        }
        let cwd = match event.record("CWD") {
            Some(r) => r.text("cwd").map_err(error)?,
            None => None,
        };
        Ok(Some(FileEvent {
            time: event.time(),
            serial: event.serial(),
            place: event.place.clone(),
            process,
            cwd,
            paths,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(lines: &[&str]) -> Vec<Event> {
        let mut joiner = Joiner::new();
        let mut out = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            let place = Place {
                source: "t".into(),
                line: i as u64 + 1,
            };
            joiner.push(Record::parse(l).expect("valid"), place, &mut |e| {
                out.push(e)
            });
        }
        joiner.finish(&mut |e| out.push(e));
        out
    }

    #[test]
    fn interleaved_records_join_by_serial_and_split_arguments_join() {
        let out = events(&[
            "type=SYSCALL msg=audit(10.000:1): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=2 auid=1000 uid=1000 euid=0 ses=4 comm=\"ls\" exe=\"/bin/ls\" key=\"termtape-exec\"",
            "type=SYSCALL msg=audit(10.000:2): arch=c000003e syscall=2 success=no exit=-13 pid=3 ses=4 key=(null)",
            "type=EXECVE msg=audit(10.000:1): argc=3 a0=\"ls\" a1_len=6 a1[0]=616263 a1[1]=646566",
            "type=EXECVE msg=audit(10.000:1): a2=\"-l\"",
            "type=CWD msg=audit(10.000:1): cwd=2F746D702F6120622763",
            "type=EOE msg=audit(10.000:1): ",
            "type=EOE msg=audit(10.000:2): ",
        ]);
        assert_eq!(out.len(), 2);
        let exec = Exec::of(&out[0]).expect("valid").expect("an exec");
        assert_eq!(
            exec.argv,
            [b"ls".to_vec(), b"abcdef".to_vec(), b"-l".to_vec()]
        );
        assert!(!exec.incomplete);
        assert_eq!(exec.cwd.as_deref(), Some(&b"/tmp/a b'c"[..]));
        assert_eq!(exec.process.ses, Some(4));
        assert_eq!(exec.process.euid, Some(0));
        assert_eq!(exec.process.success, Some(true));
        assert_eq!(exec.process.syscall.as_deref(), Some("execve"));
        assert_eq!(exec.place.line, 1);
        assert_eq!(Exec::of(&out[1]), Ok(None));
    }

    #[test]
    fn missing_arguments_are_incomplete_and_bad_ones_errors() {
        let out = events(&["type=EXECVE msg=audit(1.000:9): argc=3 a0=\"x\" a2=\"z\""]);
        assert!(Exec::of(&out[0]).expect("valid").expect("exec").incomplete);
        let out = events(&["type=EXECVE msg=audit(1.000:9): argc=1 a0=ZZ"]);
        let e = Exec::of(&out[0]).expect_err("bad hex");
        assert_eq!(e.to_string(), "t:1: audit event 9: a0= is not a string");
        let out = events(&["type=EXECVE msg=audit(1.000:9): argc=1 a99999999=\"x\""]);
        assert!(Exec::of(&out[0]).is_err());
    }

    #[test]
    fn pending_events_are_bounded() {
        let mut joiner = Joiner::new();
        let mut out = 0;
        for i in 0..1000 {
            let line = format!("type=USER_LOGIN msg=audit(1.000:{i}): pid=1");
            let place = Place {
                source: "t".into(),
                line: i,
            };
            joiner.push(Record::parse(&line).expect("valid"), place, &mut |_| {
                out += 1
            });
            assert!(joiner.pending.len() <= MAX_PENDING);
        }
        joiner.finish(&mut |_| out += 1);
        assert_eq!(out, 1000, "every event is given, none dropped");
    }

    /// Real records: `testdata/auditd-3.0.9-session.log` (see its README).
    #[test]
    fn real_records_of_auditd() {
        let text = include_str!("testdata/auditd-3.0.9-session.log");
        let mut joiner = Joiner::new();
        let (mut out, mut damaged) = (Vec::new(), Vec::new());
        for (i, line) in text.lines().enumerate() {
            let place = Place {
                source: "fixture".into(),
                line: i as u64 + 1,
            };
            match Record::parse(line) {
                Ok(r) => joiner.push(r, place, &mut |e| out.push(e)),
                Err(e) => damaged.push((place.line, e)),
            }
        }
        joiner.finish(&mut |e| out.push(e));
        assert_eq!(damaged, [(66, RecordError::Field(58))], "the cut line");
        let mut execs = Vec::new();
        let mut errors = Vec::new();
        for e in &out {
            match Exec::of(e) {
                Ok(Some(x)) => execs.push(x),
                Ok(None) => {}
                Err(err) => errors.push(err.to_string()),
            }
            if let Err(err) = Process::of(e) {
                errors.push(err.to_string());
            }
        }
        assert_eq!(
            errors,
            ["fixture:67: audit event 44: comm= is neither a quoted nor a hex-encoded string"]
        );
        let argv = |x: &Exec| {
            x.argv
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
        };
        let echo = execs
            .iter()
            .find(|x| x.argv[0] == b"/bin/echo")
            .expect("echo ran");
        assert_eq!(
            argv(echo),
            ["/bin/echo", "a b", "it's"],
            "hex-encoded arguments"
        );
        assert_eq!(echo.cwd.as_deref(), Some(&b"/tmp/h16a/watched"[..]));
        assert_eq!(
            (echo.process.ses, echo.process.auid),
            (Some(307), Some(1001))
        );
        let long = execs
            .iter()
            .find(|x| x.argv[0] == b"/bin/true")
            .expect("true ran");
        assert!(!long.incomplete, "split arguments put together");
        assert_eq!(long.argv[1], vec![b'x'; 9000]);
        assert_eq!(long.argv[2], b"long \"".repeat(3000));
        let touch = execs
            .iter()
            .find(|x| x.argv[0] == b"touch")
            .expect("touch ran");
        assert_eq!(argv(touch), ["touch", "/tmp/h16a/watched/new file"]);
        let files: Vec<FileEvent> = out
            .iter()
            .filter_map(|e| FileEvent::of(e, |k| k == b"termtape-watch").ok().flatten())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(
            files[0].paths[1],
            (b"/tmp/h16a/watched/new file".to_vec(), "CREATE".into())
        );
    }

    #[test]
    fn watched_files_by_key() {
        let out = events(&[
            "type=SYSCALL msg=audit(5.000:7): arch=c000003e syscall=257 success=yes exit=3 pid=9 auid=1000 ses=4 key=\"termtape-watch\"",
            "type=CWD msg=audit(5.000:7): cwd=\"/home/u\"",
            "type=PATH msg=audit(5.000:7): item=0 name=\"/etc/\" nametype=PARENT",
            "type=PATH msg=audit(5.000:7): item=1 name=\"/etc/x\" nametype=CREATE",
            "type=EOE msg=audit(5.000:7): ",
        ]);
        let f = FileEvent::of(&out[0], |k| k == b"termtape-watch")
            .expect("valid")
            .expect("a file event");
        assert_eq!(f.paths[1], (b"/etc/x".to_vec(), "CREATE".to_owned()));
        assert_eq!(f.process.syscall.as_deref(), Some("openat"));
        assert_eq!(FileEvent::of(&out[0], |k| k == b"other"), Ok(None));
    }
}
