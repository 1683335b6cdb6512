//! Moving from tlog: its JSON configuration converted to termtape.toml, and
//! the real shell tlog-rec-session starts for a user.
//!
//! tlog reads its configuration with json-c, which takes C and C++ comments
//! and a comma before a closing brace (Debian's own tlog-rec.conf has one);
//! [`parse`] takes the same, and names the line and column of anything else.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::{LATENCY, PAYLOAD};

/// tlog-rec-session's system configuration, which `config import` reads by
/// default.
pub const SESSION_CONFIG: &str = "/etc/tlog/tlog-rec-session.conf";

/// tlog-rec-session's built-in defaults (a file in Debian's package).
pub const SESSION_DEFAULTS: &str = "/usr/share/tlog/tlog-rec-session.default.conf";

/// Where tlog-rec-session is installed.
pub const SESSION_PATH: &str = "/usr/bin/tlog-rec-session";

/// The environment variable tlog-rec-session takes the real shell from
/// (SSSD's PAM responder sets it to the user's own shell).
pub const SHELL_ENV: &str = "TLOG_REC_SESSION_SHELL";

/// The shell tlog-rec-session starts when nothing names one.
pub const DEFAULT_SHELL: &str = "/bin/bash";

/// What is wrong with a tlog configuration file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Not JSON (with comments) at all.
    #[error("{}, line {line}, column {column}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// A key holds a value of the wrong type, which tlog refuses too.
    #[error("{}: {key}: expected {expected}, found {found}", path.display())]
    Type {
        /// The file.
        path: PathBuf,
        /// The key, as `limit.rate`.
        key: String,
        /// What tlog takes there.
        expected: &'static str,
        /// What the file holds.
        found: String,
    },
}

/// Blanks out comments and trailing commas, keeping every other byte where
/// it was, so that the JSON parser's line and column are the file's.
fn strip(text: &str, path: &Path) -> Result<String, Error> {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let (mut i, mut in_string) = (0, false);
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for b in &mut out[from..to] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    };
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match (b, bytes.get(i + 1)) {
            (b'"', _) => in_string = true,
            (b'/', Some(b'/')) => {
                let end = memchr_newline(bytes, i);
                blank(&mut out, i, end);
                i = end;
                continue;
            }
            (b'/', Some(b'*')) => {
                let Some(len) = text[i + 2..].find("*/") else {
                    let (line, column) = position(text, i);
                    return Err(Error::Syntax {
                        path: path.to_owned(),
                        line,
                        column,
                        message: "comment not closed (no */)".to_owned(),
                    });
                };
                let end = i + 2 + len + 2;
                blank(&mut out, i, end);
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    // Now without comments: a comma followed only by blanks and a closing
    // bracket goes.
    let mut in_string = false;
    let mut i = 0;
    while i < out.len() {
        let b = out[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b',' {
            let next = out[i + 1..].iter().find(|c| !c.is_ascii_whitespace());
            if matches!(next, Some(b'}' | b']')) {
                out[i] = b' ';
            }
        }
        i += 1;
    }
    // Only ASCII bytes were replaced, by ASCII: still UTF-8.
    Ok(String::from_utf8(out).unwrap_or_default())
}

fn memchr_newline(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| from + p)
}

/// 1-based line and column (in characters) of byte `at`.
fn position(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |p| p + 1);
    (line, before[start..].chars().count() + 1)
}

/// Parses a tlog configuration file's text (JSON with comments).
pub fn parse(text: &str, path: &Path) -> Result<Value, Error> {
    let stripped = strip(text, path)?;
    serde_json::from_str(&stripped).map_err(|e| Error::Syntax {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: {
            // serde_json appends " at line L column C"; the error says it.
            let said = e.to_string();
            said.rsplit_once(" at line ")
                .map_or(said.clone(), |(m, _)| m.to_owned())
        },
    })
}

/// A setting that was not carried over, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The tlog key, as `syslog.facility`.
    pub key: String,
    /// Why it was not (or not exactly) carried over.
    pub why: String,
}

/// A converted configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// termtape.toml's text.
    pub toml: String,
    /// What could not be carried over exactly.
    pub notes: Vec<Note>,
}

/// A TOML basic string holding `s`.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Reads the typed values of a tlog file, noting what is not carried over.
struct Reader<'a> {
    root: &'a serde_json::Map<String, Value>,
    path: &'a Path,
    notes: Vec<Note>,
}

impl<'a> Reader<'a> {
    fn get(&self, key: &str) -> Option<&'a Value> {
        let mut parts = key.split('.');
        let mut v = self.root.get(parts.next()?)?;
        for part in parts {
            v = v.as_object()?.get(part)?;
        }
        Some(v)
    }

    fn wrong(&self, key: &str, expected: &'static str, v: &Value) -> Error {
        Error::Type {
            path: self.path.to_owned(),
            key: key.to_owned(),
            expected,
            found: v.to_string(),
        }
    }

    fn string(&self, key: &str) -> Result<Option<&'a str>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.wrong(key, "a string", v)),
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong(key, "true or false", v)),
        }
    }

    fn integer(&self, key: &str) -> Result<Option<i64>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.wrong(key, "a whole number", v)),
        }
    }

    /// A name from a closed set, as tlog spells them.
    fn choice(&self, key: &str, names: &[&str]) -> Result<Option<&'a str>, Error> {
        match self.string(key)? {
            Some(s) if names.contains(&s) => Ok(Some(s)),
            Some(s) => Err(Error::Type {
                path: self.path.to_owned(),
                key: key.to_owned(),
                expected: "one of tlog's names for it",
                found: format!("{s:?} (tlog takes {})", names.join(", ")),
            }),
            None => Ok(None),
        }
    }

    fn note(&mut self, key: &str, why: impl Into<String>) {
        self.notes.push(Note {
            key: key.to_owned(),
            why: why.into(),
        });
    }
}

/// The keys tlog-rec-session and tlog-rec read from their files.
const KNOWN: &[(&str, &[&str])] = &[
    ("shell", &[]),
    ("notice", &[]),
    ("latency", &[]),
    ("payload", &[]),
    ("log", &["input", "output", "window"]),
    ("limit", &["rate", "burst", "action"]),
    ("file", &["path"]),
    ("syslog", &["facility", "priority"]),
    ("journal", &["priority", "augment"]),
    ("writer", &[]),
];

/// Converts tlog's configuration `value` (from file `path`) to termtape.toml.
pub fn import(value: &Value, path: &Path) -> Result<Import, Error> {
    let Some(root) = value.as_object() else {
        return Err(Error::Type {
            path: path.to_owned(),
            key: "(the file)".to_owned(),
            expected: "a JSON object",
            found: value.to_string(),
        });
    };
    let mut r = Reader {
        root,
        path,
        notes: Vec::new(),
    };
    for (key, v) in root {
        match KNOWN.iter().find(|(k, _)| k == key) {
            None => r.note(key, "not a tlog setting; left out"),
            Some((_, subkeys)) if !subkeys.is_empty() => match v.as_object() {
                Some(section) => {
                    for sub in section.keys().filter(|s| !subkeys.contains(&s.as_str())) {
                        r.note(&format!("{key}.{sub}"), "not a tlog setting; left out");
                    }
                }
                None => return Err(r.wrong(key, "an object", v)),
            },
            Some(_) => {}
        }
    }

    let mut top = String::new();
    if let Some(secs) = r.integer("latency")? {
        let v = clamp(&mut r, "latency", secs as f64, LATENCY.min, LATENCY.max);
        let _ = writeln!(top, "latency = {v}");
    }
    if let Some(bytes) = r.integer("payload")? {
        let v = clamp(&mut r, "payload", bytes as f64, PAYLOAD.min, PAYLOAD.max);
        let _ = writeln!(top, "payload = {v}");
    }

    let mut writer = String::new();
    let kind = r.choice("writer", &["journal", "syslog", "file"])?;
    if let Some(kind) = kind {
        let _ = writeln!(writer, "kind = {}", toml_string(kind));
    }
    if let Some(p) = r.string("file.path")? {
        if p.is_empty() {
            r.note("file.path", "empty (tlog's \"no file\"); left out");
        } else {
            let _ = writeln!(writer, "path = {}", toml_string(p));
        }
    }
    const PRIORITIES: &[&str] = &[
        "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
    ];
    let journal_priority = r.choice("journal.priority", PRIORITIES)?;
    let syslog_priority = r.choice("syslog.priority", PRIORITIES)?;
    // termtape has one priority, for whichever writer records: the one of
    // the writer tlog uses (tlog-rec-session's default is the journal).
    let (used, other, other_key) = match kind {
        Some("syslog") => (syslog_priority, journal_priority, "journal.priority"),
        _ => (journal_priority, syslog_priority, "syslog.priority"),
    };
    if let Some(p) = used {
        // tlog's names are termtape's (config::Priority).
        let _ = writeln!(writer, "priority = {}", toml_string(p));
    }
    if let Some(p) = other
        && used.is_none_or(|u| u != p)
    {
        r.note(
            other_key,
            format!(
                "{p:?} not carried over: termtape has one [writer] priority, \
                 taken from the writer tlog uses ({})",
                kind.unwrap_or("journal, tlog-rec-session's default")
            ),
        );
    }
    if let Some(facility) = r.string("syslog.facility")?
        && facility != "authpriv"
    {
        r.note(
            "syslog.facility",
            format!(
                "{facility:?} not carried over: termtape's syslog writer always \
                 uses authpriv (recordings hold what users typed and saw)"
            ),
        );
    }
    if r.bool("journal.augment")? == Some(false) {
        r.note(
            "journal.augment",
            "false not carried over: termtape always adds TLOG_USER, TLOG_SESSION, \
             TLOG_REC and TLOG_ID (players and Cockpit find recordings by them)",
        );
    }

    let mut log = String::new();
    for key in ["input", "output", "window"] {
        if let Some(b) = r.bool(&format!("log.{key}"))? {
            let _ = writeln!(log, "{key} = {b}");
        }
    }
    if r.bool("log.input")? == Some(true) {
        r.note(
            "log.input",
            "carried over, with one difference: termtape leaves out keys typed while \
             the terminal hides them (passwords); add input_redaction = \"none\" to [log] \
             to record every key, as tlog did",
        );
    }

    let mut limit = String::new();
    for key in ["rate", "burst"] {
        let full = format!("limit.{key}");
        if let Some(n) = r.integer(&full)? {
            let range = crate::config::LIMIT_BYTES;
            let v = clamp(&mut r, &full, n as f64, range.min, range.max);
            let _ = writeln!(limit, "{key} = {v}");
        }
    }
    if let Some(action) = r.choice("limit.action", &["pass", "delay", "drop"])? {
        let _ = writeln!(limit, "action = {}", toml_string(action));
    }

    let mut session = String::new();
    if let Some(shell) = r.string("shell")? {
        let _ = writeln!(session, "shell = {}", toml_string(shell));
    }
    if let Some(notice) = r.string("notice")? {
        let _ = writeln!(session, "notice = {}", toml_string(notice));
    }

    let mut toml = format!(
        "# termtape.toml, converted from tlog's {} by termtape config import\n",
        path.display()
    );
    if !top.is_empty() {
        toml.push('\n');
        toml.push_str(&top);
    }
    for (name, body) in [
        ("writer", writer),
        ("log", log),
        ("limit", limit),
        ("session", session),
    ] {
        if !body.is_empty() {
            let _ = write!(toml, "\n[{name}]\n{body}");
        }
    }
    Ok(Import {
        toml,
        notes: r.notes,
    })
}

/// `v` within `min..=max` (a whole number), noting a change.
fn clamp(r: &mut Reader<'_>, key: &str, v: f64, min: f64, max: f64) -> u64 {
    let kept = v.clamp(min.ceil(), max.floor());
    if kept != v {
        r.note(
            key,
            format!("{v} is outside termtape's range {min} to {max}: {kept} instead"),
        );
    }
    kept as u64
}

/// Whether `shell` (a login shell's path) is tlog-rec-session, under its
/// own name or a `tlog-rec-session-shell-…` link.
pub fn is_session(shell: &Path) -> bool {
    shell
        .file_name()
        .and_then(OsStr::to_str)
        .is_some_and(|n| n == "tlog-rec-session" || n.starts_with("tlog-rec-session-shell-"))
}

/// The shell encoded in a program name as tlog-rec-session reads it: after
/// `-shell-`, `-` stands for `/` and `\` keeps the next character
/// (`tlog-rec-session-shell-bin-zsh` runs /bin/zsh).
pub fn shell_from_name(name: &str) -> Option<PathBuf> {
    let name = name.strip_prefix('-').unwrap_or(name);
    let (_, encoded) = name.split_once("-shell-")?;
    let mut shell = String::from("/");
    let mut chars = encoded.chars();
    while let Some(c) = chars.next() {
        match c {
            '-' => shell.push('/'),
            '\\' => shell.extend(chars.next()),
            c => shell.push(c),
        }
    }
    Some(PathBuf::from(shell))
}

/// Where a tlog user's real shell came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogShell {
    /// The shell tlog-rec-session would start.
    pub shell: PathBuf,
    /// Why that one: "its name", "TLOG_REC_SESSION_SHELL in /etc/environment" …
    pub from: String,
}

/// The shell tlog-rec-session starts for a user whose login shell is
/// `login_shell`, as tlog chooses it (highest first): a shell encoded in
/// the program's name, `$TLOG_REC_SESSION_SHELL` (for a login: as pam_env
/// sets it from `environment`, usually /etc/environment), `shell` in the
/// system configuration, then in tlog's defaults, else /bin/bash. `root`
/// is where those files are read (`/`).
pub fn session_shell(login_shell: &Path, root: &Path) -> TlogShell {
    let under = |p: &str| root.join(p.trim_start_matches('/'));
    if let Some(shell) = login_shell
        .file_name()
        .and_then(OsStr::to_str)
        .and_then(shell_from_name)
    {
        return TlogShell {
            shell,
            from: format!("the name {}", login_shell.display()),
        };
    }
    if let Some(shell) = environment_value(&under("/etc/environment"), SHELL_ENV) {
        return TlogShell {
            shell: PathBuf::from(shell),
            from: format!("{SHELL_ENV} in /etc/environment"),
        };
    }
    for file in [SESSION_CONFIG, SESSION_DEFAULTS] {
        let path = under(file);
        let shell = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| parse(&text, &path).ok())
            .and_then(|v| v.get("shell")?.as_str().map(PathBuf::from));
        if let Some(shell) = shell {
            return TlogShell {
                shell,
                from: format!("\"shell\" in {file}"),
            };
        }
    }
    TlogShell {
        shell: PathBuf::from(DEFAULT_SHELL),
        from: "tlog's default".to_owned(),
    }
}

/// `NAME=value` (quotes taken off) in an environment file as pam_env reads
/// /etc/environment.
fn environment_value(file: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().rev().find_map(|line| {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line);
        let value = line.strip_prefix(name)?.strip_prefix('=')?;
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        (!value.is_empty()).then(|| value.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FileConfig, Priority, WriterKind};
    use crate::sink::Action;

    fn path() -> PathBuf {
        PathBuf::from("/etc/tlog/tlog-rec-session.conf")
    }

    fn convert(text: &str) -> (FileConfig, Vec<Note>) {
        let value = parse(text, &path()).expect("parses");
        let import = import(&value, &path()).expect("converts");
        let config = FileConfig::parse(&import.toml, Path::new("out.toml"))
            .unwrap_or_else(|e| panic!("{e}\n{}", import.toml));
        (config, import.notes)
    }

    #[test]
    fn every_key_set_round_trips_through_termtapes_parser() {
        let (c, notes) = convert(
            r#"// every key
            {
                "shell": "/bin/zsh", /* a block
                comment */ "notice": "Recorded \"here\"\n\ttab \\ done",
                "latency": 3, "payload": 4096,
                "log": {"input": true, "output": false, "window": false,},
                "limit": {"rate": 1000, "burst": 5000, "action": "drop"},
                "file": {"path": "/var/log/tlog.log"},
                "syslog": {"facility": "authpriv", "priority": "warning"},
                "journal": {"priority": "notice", "augment": true},
                "writer": "syslog",
            }"#,
        );
        assert_eq!(c.session.shell, Some("/bin/zsh".into()));
        assert_eq!(
            c.session.notice.as_deref(),
            Some("Recorded \"here\"\n\ttab \\ done")
        );
        assert_eq!(c.latency, Some(3.0));
        assert_eq!(c.payload, Some(4096));
        assert_eq!(
            (c.log.input, c.log.output, c.log.window),
            (Some(true), Some(false), Some(false))
        );
        assert_eq!(
            (c.limit.rate, c.limit.burst, c.limit.action),
            (Some(1000), Some(5000), Some(Action::Drop))
        );
        assert_eq!(c.writer.kind, Some(WriterKind::Syslog));
        assert_eq!(c.writer.path, Some("/var/log/tlog.log".into()));
        assert_eq!(c.writer.priority, Some(Priority::Warning));
        let keys: Vec<&str> = notes.iter().map(|n| n.key.as_str()).collect();
        assert_eq!(keys, ["journal.priority", "log.input"], "{notes:?}");
    }

    #[test]
    fn what_termtape_cannot_do_is_named_key_by_key() {
        let (c, notes) = convert(
            r#"{"payload": 32, "latency": 100000, "syslog": {"facility": "local3"},
                "journal": {"augment": false, "priority": "err"}, "colour": 1,
                "log": {"keys": true}}"#,
        );
        assert_eq!(c.payload, Some(64));
        assert_eq!(c.latency, Some(86400.0));
        assert_eq!(c.writer.priority, Some(Priority::Err));
        let keys: Vec<&str> = notes.iter().map(|n| n.key.as_str()).collect();
        for key in [
            "payload",
            "latency",
            "syslog.facility",
            "journal.augment",
            "colour",
            "log.keys",
        ] {
            assert!(keys.contains(&key), "{key} not named: {notes:?}");
        }
    }

    #[test]
    fn bad_json_names_line_and_column() {
        let err =
            parse("{\n  \"latency\": 10,\n  \"payload\" 2048\n}\n", &path()).expect_err("no colon");
        let said = err.to_string();
        assert!(
            said.starts_with("/etc/tlog/tlog-rec-session.conf, line 3, column "),
            "{said}"
        );
        let err = parse("{\n /* open\n", &path()).expect_err("open comment");
        assert_eq!(
            err.to_string(),
            "/etc/tlog/tlog-rec-session.conf, line 2, column 2: comment not closed (no */)"
        );
        let value = parse("{\"latency\": \"ten\"}", &path()).expect("json");
        let err = import(&value, &path()).expect_err("wrong type");
        assert_eq!(
            err.to_string(),
            "/etc/tlog/tlog-rec-session.conf: latency: expected a whole number, found \"ten\""
        );
        // Comment markers inside strings are text.
        let v = parse("{\"notice\": \"a // b /* c\"}", &path()).expect("json");
        assert_eq!(v["notice"], "a // b /* c");
    }

    #[test]
    fn shells_are_decoded_from_names_as_tlog_does() {
        assert_eq!(
            shell_from_name("-tlog-rec-session-shell-bin-zsh"),
            Some("/bin/zsh".into())
        );
        assert_eq!(
            shell_from_name("tlog-rec-session-shell-usr-local-bin-my\\-sh"),
            Some("/usr/local/bin/my-sh".into())
        );
        assert_eq!(shell_from_name("tlog-rec-session"), None);
        assert!(is_session(Path::new("/usr/bin/tlog-rec-session")));
        assert!(is_session(Path::new(
            "/usr/bin/tlog-rec-session-shell-bin-sh"
        )));
        assert!(!is_session(Path::new("/usr/bin/termtape-session")));
    }

    #[test]
    fn the_real_shell_is_chosen_as_tlog_chooses_it() {
        let root = tempfile::tempdir().expect("temp dir");
        let r = root.path();
        let login = Path::new("/usr/bin/tlog-rec-session");
        assert_eq!(session_shell(login, r).shell, Path::new("/bin/bash"));
        std::fs::create_dir_all(r.join("usr/share/tlog")).expect("dir");
        std::fs::create_dir_all(r.join("etc/tlog")).expect("dir");
        std::fs::write(r.join(&SESSION_DEFAULTS[1..]), "{\"shell\": \"/bin/sh\"}").expect("w");
        assert_eq!(session_shell(login, r).shell, Path::new("/bin/sh"));
        std::fs::write(
            r.join(&SESSION_CONFIG[1..]),
            "// mine\n{\"shell\": \"/bin/dash\",}",
        )
        .expect("w");
        assert_eq!(session_shell(login, r).shell, Path::new("/bin/dash"));
        std::fs::write(
            r.join("etc/environment"),
            "PATH=/bin\nTLOG_REC_SESSION_SHELL=\"/bin/zsh\"\n",
        )
        .expect("w");
        let got = session_shell(login, r);
        assert_eq!(got.shell, Path::new("/bin/zsh"));
        assert_eq!(got.from, "TLOG_REC_SESSION_SHELL in /etc/environment");
        let named = Path::new("/usr/local/bin/tlog-rec-session-shell-bin-ksh");
        assert_eq!(session_shell(named, r).shell, Path::new("/bin/ksh"));
    }
}
