//! `termtape-session doctor [--json] [--root DIR]`: checks that recording
//! works and cannot be bypassed, and says how to fix what does not.

use std::ffi::OsString;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use termtape_rec::config::{self, FileConfig, WriterKind};

use crate::admin::SERVICE_USER;

/// Help for `doctor`.
pub const DOCTOR_HELP: &str = "\
Usage:
  termtape doctor [--json] [--root DIR]   check the installation: termtape-session's owner,
                                          set-id bits and capabilities, the termtape user and
                                          group, the log directory, the writer, /etc/shells,
                                          who is recorded (and who is still on tlog), the
                                          locale's charset, the signing key, the Cockpit page,
                                          the kernel's audit (auditd, execve rules, watches);
                                          each problem with its fix. --root: check the files
                                          under DIR instead of / (the user database too)

Exit status: 0 nothing would make recording fail or be bypassed (warnings may
remain); 1 something would; 2 trouble (bad usage).
";

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// As it should be.
    Ok,
    /// Worth fixing, but recording works and cannot be bypassed.
    Warn,
    /// Recording would fail or could be bypassed.
    Fail,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone)]
pub struct Finding {
    /// What was checked (`binary`, `user`, …).
    pub check: &'static str,
    /// How bad.
    pub level: Level,
    /// What was found.
    pub message: String,
    /// How to fix it (empty when ok).
    pub fix: String,
}

/// Where the checked files are: `/`, or a copy.
#[derive(Debug, Clone)]
pub struct System {
    /// The file system root the paths below are taken under.
    pub root: PathBuf,
    /// The termtape-session binary checked (absolute, under `root`).
    pub binary: PathBuf,
}

impl System {
    fn path(&self, absolute: impl AsRef<Path>) -> PathBuf {
        let p = absolute.as_ref();
        self.root.join(p.strip_prefix("/").unwrap_or(p))
    }

    /// The user database's entries (`getent` on `/`, else the copy's
    /// /etc/passwd or /etc/group), as fields.
    fn database(&self, name: &str) -> Vec<Vec<String>> {
        let text = if self.root == Path::new("/") {
            std::process::Command::new("getent")
                .arg(name)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
        } else {
            std::fs::read_to_string(self.path(format!("/etc/{name}"))).unwrap_or_default()
        };
        text.lines()
            .map(|l| l.split(':').map(str::to_owned).collect())
            .collect()
    }
}

fn finding(check: &'static str, level: Level, message: String, fix: &str) -> Finding {
    Finding {
        check,
        level,
        message,
        fix: fix.to_owned(),
    }
}

/// Runs every check.
pub fn check(system: &System) -> Vec<Finding> {
    let mut out = Vec::new();
    let passwd = system.database("passwd");
    let group = system.database("group");
    let ids = (
        passwd
            .iter()
            .find(|f| f[0] == SERVICE_USER)
            .and_then(|f| f.get(2)?.parse::<u32>().ok()),
        group
            .iter()
            .find(|f| f[0] == SERVICE_USER)
            .and_then(|f| f.get(2)?.parse::<u32>().ok()),
    );
    out.push(match ids {
        (Some(uid), Some(gid)) => finding(
            "user",
            Level::Ok,
            format!("user and group {SERVICE_USER} (uid {uid}, gid {gid})"),
            "",
        ),
        _ => finding(
            "user",
            Level::Fail,
            format!("no {SERVICE_USER} user or group: the recorder cannot run apart from the recorded user"),
            "termtape-session --install (or reinstall the package)",
        ),
    });
    out.push(check_binary(system, ids));
    let file = FileConfig::load(&system.path(config::DEFAULT_CONFIG_PATH), false);
    let file = match file {
        Ok(file) => {
            out.push(finding(
                "config",
                Level::Ok,
                format!("{} reads", config::DEFAULT_CONFIG_PATH),
                "",
            ));
            file
        }
        Err(e) => {
            out.push(finding(
                "config",
                Level::Fail,
                format!("{e}: every login is refused"),
                "correct the key named (see termtape.toml(5))",
            ));
            FileConfig::default()
        }
    };
    out.push(check_writer(system, &file, ids.0));
    out.push(check_log_dir(system, ids.0));
    out.push(check_shells(system));
    out.extend(check_users(system, &passwd));
    out.push(check_locale());
    out.push(check_key(system, &file, ids.0));
    if let Some(f) = check_cockpit(system) {
        out.push(f);
    }
    // The kernel's audit state is the running system's, not a copy's.
    if system.root == Path::new("/") {
        let auditctl = |arg: &str| {
            std::process::Command::new("auditctl")
                .arg(arg)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        };
        let watch = file.audit.watch.clone().unwrap_or_default();
        out.push(check_audit(
            auditctl("-s").as_deref(),
            auditctl("-l").as_deref(),
            &watch,
        ));
    }
    out
}

/// Whether the kernel logs what `termtape commands` and `termtape files`
/// show, from `auditctl -s` (`status`) and `auditctl -l` (`rules`), `None`
/// where auditctl could not say. Recording works without it: a warning.
fn check_audit(status: Option<&str>, rules: Option<&str>, watch: &[PathBuf]) -> Finding {
    let fix_rules = "termtape audit rules --install";
    let (Some(status), Some(rules)) = (status, rules) else {
        return finding(
            "audit",
            Level::Warn,
            "auditctl cannot say the kernel's audit state (not installed, or not root): \
             termtape commands and files will have nothing to show"
                .to_owned(),
            "apt-get install auditd, then termtape audit rules --install",
        );
    };
    let value = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .map(str::trim)
    };
    if value("enabled") == Some("0") {
        return finding(
            "audit",
            Level::Warn,
            "the kernel's auditing is off (enabled 0): no command or file is logged".to_owned(),
            "auditctl -e 1 (auditd turns it on when it starts; a journald started after it \
             with Audit=no turns it off)",
        );
    }
    if value("pid").is_none_or(|pid| pid == "0") {
        return finding(
            "audit",
            Level::Warn,
            "no auditd receives the kernel's records: they reach only the journal, if journald \
             takes them (Audit=yes)"
                .to_owned(),
            "systemctl enable --now auditd",
        );
    }
    let execs = rules
        .lines()
        .any(|r| r.contains("execve") && r.contains("exit") && !r.contains("never"));
    if !execs {
        return finding(
            "audit",
            Level::Warn,
            "no audit rule logs execve: termtape commands will list nothing".to_owned(),
            fix_rules,
        );
    }
    let unwatched: Vec<String> = watch
        .iter()
        .map(|p| p.display().to_string())
        .filter(|p| !rules.lines().any(|r| r.split_whitespace().any(|w| w == p)))
        .collect();
    if !unwatched.is_empty() {
        return finding(
            "audit",
            Level::Warn,
            format!(
                "[audit] watch names {} but no loaded rule watches it",
                unwatched.join(", ")
            ),
            fix_rules,
        );
    }
    finding(
        "audit",
        Level::Ok,
        "auditing on, auditd running, execve logged".to_owned(),
        "",
    )
}

fn check_binary(system: &System, ids: (Option<u32>, Option<u32>)) -> Finding {
    let bin = system.path(&system.binary);
    let Ok(meta) = std::fs::metadata(&bin) else {
        return finding(
            "binary",
            Level::Fail,
            format!("{} is missing", system.binary.display()),
            "reinstall termtape",
        );
    };
    let mode = meta.mode();
    let owned = Some(meta.uid()) == ids.0 && Some(meta.gid()) == ids.1;
    if !owned || mode & 0o6000 != 0o6000 {
        return finding(
            "binary",
            Level::Fail,
            format!(
                "{}: owner {}:{}, mode {:04o}: not setuid/setgid {SERVICE_USER}, so the recorder runs as the recorded user, who can stop or alter it",
                system.binary.display(),
                meta.uid(),
                meta.gid(),
                mode & 0o7777
            ),
            "dpkg-statoverride --update --add termtape termtape 6755 /usr/bin/termtape-session (package), or termtape-session --install",
        );
    }
    let want = termtape_rec::login_terminal::file_capability_xattr();
    let mut caps = [0u8; 64];
    let has = rustix::fs::getxattr(&bin, "security.capability", &mut caps[..])
        .is_ok_and(|n| caps[..n] == want[..]);
    if !has {
        return finding(
            "binary",
            Level::Fail,
            format!(
                "{}: no file capabilities cap_chown,cap_sys_tty_config: logins are refused (the login terminal cannot be taken from the user)",
                system.binary.display()
            ),
            "setcap cap_chown,cap_sys_tty_config+p /usr/bin/termtape-session (after any chown), or termtape-session --install",
        );
    }
    finding(
        "binary",
        Level::Ok,
        format!(
            "{}: {SERVICE_USER}:{SERVICE_USER} 6755, capabilities cap_chown,cap_sys_tty_config",
            system.binary.display()
        ),
        "",
    )
}

/// Whether the termtape user can write in `dir` (owner or mode).
fn writable_by(meta: &std::fs::Metadata, uid: Option<u32>) -> bool {
    (Some(meta.uid()) == uid && meta.mode() & 0o200 != 0) || meta.mode() & 0o002 != 0
}

fn check_writer(system: &System, file: &FileConfig, uid: Option<u32>) -> Finding {
    let socket = |path: &str, what: &str, fix: &str| match std::fs::metadata(system.path(path)) {
        Ok(m) if m.file_type().is_socket() => {
            finding("writer", Level::Ok, format!("{what}: {path} is there"), "")
        }
        _ => finding(
            "writer",
            Level::Fail,
            format!("{what}: no socket {path}: logins are refused"),
            fix,
        ),
    };
    match file.writer.kind.unwrap_or(WriterKind::Journal) {
        WriterKind::Journal => socket(
            "/run/systemd/journal/socket",
            "journal",
            "start systemd-journald (systemctl start systemd-journald)",
        ),
        WriterKind::Syslog => socket(
            "/dev/log",
            "syslog",
            "start a syslog daemon (systemctl start rsyslog)",
        ),
        WriterKind::File => {
            let Some(path) = file.writer.path.as_deref() else {
                return finding(
                    "writer",
                    Level::Fail,
                    "kind = \"file\" without a path: logins are refused".to_owned(),
                    "set [writer] path in /etc/termtape/termtape.toml",
                );
            };
            let existing = std::fs::metadata(system.path(path));
            let dir = path.parent().unwrap_or(Path::new("/"));
            let ok = match &existing {
                Ok(m) => writable_by(m, uid),
                Err(_) => std::fs::metadata(system.path(dir)).is_ok_and(|m| writable_by(&m, uid)),
            };
            if ok {
                finding(
                    "writer",
                    Level::Ok,
                    format!("file: {} is writable by {SERVICE_USER}", path.display()),
                    "",
                )
            } else {
                finding(
                    "writer",
                    Level::Fail,
                    format!(
                        "file: {SERVICE_USER} cannot write {}: logins are refused",
                        path.display()
                    ),
                    "chown termtape: the file (or its directory) and make it writable by its owner",
                )
            }
        }
    }
}

fn check_log_dir(system: &System, uid: Option<u32>) -> Finding {
    let dir = "/var/log/termtape";
    match std::fs::metadata(system.path(dir)) {
        Err(_) => finding(
            "log-dir",
            Level::Warn,
            format!("{dir} is missing (needed by the file writer only)"),
            "systemd-tmpfiles --create termtape.conf, or termtape-session --install",
        ),
        Ok(m) if m.mode() & 0o002 != 0 || Some(m.uid()) != uid => finding(
            "log-dir",
            Level::Fail,
            format!(
                "{dir}: owner uid {}, mode {:04o}: recordings there could be changed by others than {SERVICE_USER}",
                m.uid(),
                m.mode() & 0o7777
            ),
            "chown termtape:termtape /var/log/termtape && chmod 0750 /var/log/termtape",
        ),
        Ok(m) => finding(
            "log-dir",
            Level::Ok,
            format!("{dir}: {SERVICE_USER}'s, mode {:04o}", m.mode() & 0o7777),
            "",
        ),
    }
}

fn check_shells(system: &System) -> Finding {
    let shells = std::fs::read_to_string(system.path("/etc/shells")).unwrap_or_default();
    let line = system.binary.display().to_string();
    if shells.lines().any(|l| l.trim() == line) {
        finding("shells", Level::Ok, format!("/etc/shells lists {line}"), "")
    } else {
        finding(
            "shells",
            Level::Warn,
            format!("/etc/shells does not list {line}: chsh and some PAM and FTP setups refuse it"),
            &format!("add-shell {line}"),
        )
    }
}

fn check_users(system: &System, passwd: &[Vec<String>]) -> Vec<Finding> {
    let with_shell = |name: &str| -> Vec<String> {
        passwd
            .iter()
            .filter(|f| {
                f.len() >= 7
                    && (Path::new(&f[6]).file_name() == Some(std::ffi::OsStr::new(name))
                        || (name == "tlog-rec-session"
                            && termtape_rec::tlog::is_session(Path::new(&f[6]))))
            })
            .map(|f| format!("{} ({})", f[0], f[6]))
            .collect()
    };
    let ours = with_shell("termtape-session");
    let tlog = with_shell("tlog-rec-session");
    let mut out = vec![finding(
        "users",
        Level::Ok,
        if ours.is_empty() {
            "no user's login shell is termtape-session".to_owned()
        } else {
            format!("recorded: {}", ours.join(", "))
        },
        "",
    )];
    // --take-over-tlog: tlog-rec-session's path is a link to termtape-session.
    let taken_over = std::fs::read_link(system.path(termtape_rec::tlog::SESSION_PATH))
        .is_ok_and(|t| t.file_name() == Some(std::ffi::OsStr::new("termtape-session")));
    if !tlog.is_empty() && taken_over {
        out.push(finding(
            "tlog-users",
            Level::Ok,
            format!(
                "recorded by termtape under tlog-rec-session's path (--take-over-tlog): {}",
                tlog.join(", ")
            ),
            "",
        ));
    } else if !tlog.is_empty() {
        out.push(finding(
            "tlog-users",
            Level::Warn,
            format!("still recorded by tlog: {}", tlog.join(", ")),
            "termtape users migrate (keeps the shell tlog starts for each); or, for users \
             SSSD records, termtape-session --take-over-tlog",
        ));
    }
    out
}

fn check_locale() -> Finding {
    let codeset = termtape_rec::locale::codeset();
    match termtape_rec::locale::charset() {
        Ok(_) => finding(
            "locale",
            Level::Ok,
            format!("the locale's charset {codeset} is supported"),
            "",
        ),
        Err(e) => finding(
            "locale",
            Level::Fail,
            format!("the locale's charset {codeset}: {e}: sessions in it cannot be recorded"),
            "set charset in /etc/termtape/termtape.toml, or a locale with a supported charset (locale -a)",
        ),
    }
}

fn check_key(system: &System, file: &FileConfig, uid: Option<u32>) -> Finding {
    let key = file
        .seal
        .key
        .clone()
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_SEAL_KEY));
    match std::fs::metadata(system.path(&key)) {
        Err(_) => finding(
            "key",
            Level::Warn,
            format!(
                "{}: no signing key: recordings are chained but not signed",
                key.display()
            ),
            "termtape keys generate (as root)",
        ),
        Ok(m) if m.mode() & 0o077 != 0 || Some(m.uid()) != uid => finding(
            "key",
            Level::Fail,
            format!(
                "{}: owner uid {}, mode {:04o}: others than {SERVICE_USER} can read it and forge seals",
                key.display(),
                m.uid(),
                m.permissions().mode() & 0o7777
            ),
            "chown termtape: KEY && chmod 0400 KEY (and make a new key if it was read: termtape keys generate --force)",
        ),
        Ok(_) => finding(
            "key",
            Level::Ok,
            format!("{}: {SERVICE_USER}'s alone", key.display()),
            "",
        ),
    }
}

fn check_cockpit(system: &System) -> Option<Finding> {
    let dir = system.path("/usr/share/cockpit/termtape");
    if !dir.exists() {
        return None;
    }
    Some(
        if dir.join("manifest.json").is_file() && dir.join("index.html").is_file() {
            finding(
                "cockpit",
                Level::Ok,
                "Cockpit page /usr/share/cockpit/termtape".to_owned(),
                "",
            )
        } else {
            finding(
                "cockpit",
                Level::Warn,
                "/usr/share/cockpit/termtape lacks manifest.json or index.html".to_owned(),
                "termtape cockpit install",
            )
        },
    )
}

/// Quotes a string as JSON.
fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// `doctor [--json] [--root DIR]`: prints the findings; `Ok(false)` when
/// one fails.
pub fn doctor(args: &[OsString]) -> Result<bool> {
    let mut json = false;
    let mut root = PathBuf::from("/");
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.to_str() {
            Some("--json") => json = true,
            Some("--root") => root = PathBuf::from(it.next().context("--root needs a DIR")?),
            Some("--help" | "-h") => {
                print!("{DOCTOR_HELP}");
                return Ok(true);
            }
            _ => bail!("usage:\n{DOCTOR_HELP}"),
        }
    }
    // Installed setuid: check as the caller, with the caller's ids.
    let real = termtape_rec::pty::Credentials::real();
    termtape_rec::pty::become_user(real).context("taking back the caller's ids")?;
    let exe = std::env::current_exe().context("finding this program")?;
    let binary = if root == Path::new("/") {
        exe
    } else {
        PathBuf::from("/usr/bin/termtape-session")
    };
    let findings = check(&System { root, binary });
    for f in &findings {
        if json {
            println!(
                "{{\"v\":1,\"check\":{},\"status\":{},\"message\":{},\"fix\":{}}}",
                json_string(f.check),
                json_string(&f.level.name().to_lowercase()),
                json_string(&f.message),
                json_string(&f.fix)
            );
        } else if f.fix.is_empty() {
            println!("{:<4}  {:<10}  {}", f.level.name(), f.check, f.message);
        } else {
            println!(
                "{:<4}  {:<10}  {}\n{:18}fix: {}",
                f.level.name(),
                f.check,
                f.message,
                "",
                f.fix
            );
        }
    }
    Ok(!findings.iter().any(|f| f.level == Level::Fail))
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    /// A copy of a system's files under a temporary root, with a termtape
    /// user (uid/gid 4242), its binary 6755 with capabilities, a key, a log
    /// directory, /etc/shells and a Cockpit page: every check ok.
    fn healthy() -> (tempfile::TempDir, System) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let root = dir.path();
        let put = |path: &str, text: &str| {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        };
        put(
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/bash\ntermtape:x:4242:4242::/var/lib/termtape:/usr/sbin/nologin\n",
        );
        put("etc/group", "root:x:0:\ntermtape:x:4242:\n");
        put("etc/shells", "/bin/bash\n/usr/bin/termtape-session\n");
        put("etc/termtape/signing.key", "secret");
        put("usr/share/cockpit/termtape/manifest.json", "{}");
        put("usr/share/cockpit/termtape/index.html", "");
        std::fs::create_dir_all(root.join("var/log/termtape")).expect("mkdir");
        // journald's socket (the file stays after the listener goes).
        std::fs::create_dir_all(root.join("run/systemd/journal")).expect("mkdir");
        std::os::unix::net::UnixListener::bind(root.join("run/systemd/journal/socket"))
            .expect("a socket");
        let bin = root.join("usr/bin/termtape-session");
        std::fs::create_dir_all(root.join("usr/bin")).expect("mkdir");
        std::fs::copy("/bin/true", &bin).expect("copy a binary");
        std::os::unix::fs::chown(&bin, Some(4242), Some(4242)).expect("chown (tests run as root)");
        fix(&bin, 0o6755);
        assert!(
            Command::new("setcap")
                .args(["cap_chown,cap_sys_tty_config+p"])
                .arg(&bin)
                .status()
                .expect("setcap")
                .success()
        );
        for p in ["etc/termtape/signing.key", "var/log/termtape"] {
            std::os::unix::fs::chown(root.join(p), Some(4242), Some(4242)).expect("chown");
        }
        fix(&root.join("etc/termtape/signing.key"), 0o400);
        fix(&root.join("var/log/termtape"), 0o750);
        let system = System {
            root: root.to_owned(),
            binary: PathBuf::from("/usr/bin/termtape-session"),
        };
        (dir, system)
    }

    fn fix(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    fn level(system: &System, check: &str) -> Level {
        let findings = super::check(system);
        findings
            .iter()
            .filter(|f| f.check == check)
            .map(|f| f.level)
            .max_by_key(|l| *l as u8)
            .unwrap_or_else(|| panic!("no {check} finding in {findings:?}"))
    }

    /// Breaks with `break_it`, checks `check` says `broken`, mends with
    /// `mend`, checks it is ok again.
    fn broken_then_fixed(
        check: &str,
        broken: Level,
        break_it: impl FnOnce(&Path),
        mend: impl FnOnce(&Path),
    ) {
        let (_dir, system) = healthy();
        assert_eq!(level(&system, check), Level::Ok, "{check} before");
        break_it(&system.root);
        assert_eq!(level(&system, check), broken, "{check} broken");
        mend(&system.root);
        assert_eq!(level(&system, check), Level::Ok, "{check} fixed");
    }

    #[test]
    fn each_check_sees_its_breakage_and_its_fix() {
        let bin = |r: &Path| r.join("usr/bin/termtape-session");
        broken_then_fixed(
            "binary",
            Level::Fail,
            |r| fix(&bin(r), 0o755),
            |r| {
                fix(&bin(r), 0o6755);
                Command::new("setcap")
                    .arg("cap_chown,cap_sys_tty_config+p")
                    .arg(bin(r))
                    .status()
                    .expect("setcap");
            },
        );
        broken_then_fixed(
            "binary",
            Level::Fail,
            |r| {
                Command::new("setcap")
                    .arg("-r")
                    .arg(bin(r))
                    .status()
                    .expect("setcap -r");
            },
            |r| {
                Command::new("setcap")
                    .arg("cap_chown,cap_sys_tty_config+p")
                    .arg(bin(r))
                    .status()
                    .expect("setcap");
            },
        );
        let passwd = std::sync::OnceLock::new();
        broken_then_fixed(
            "user",
            Level::Fail,
            |r| {
                let p = r.join("etc/passwd");
                let text = std::fs::read_to_string(&p).expect("passwd");
                std::fs::write(&p, text.replace("termtape:", "other:")).expect("write");
                passwd.set(text).expect("once");
            },
            |r| std::fs::write(r.join("etc/passwd"), passwd.get().expect("saved")).expect("write"),
        );
        let config = |r: &Path| r.join("etc/termtape/termtape.toml");
        broken_then_fixed(
            "config",
            Level::Fail,
            |r| std::fs::write(config(r), "bogus = 1\n").expect("write"),
            |r| std::fs::write(config(r), "# nothing\n").expect("write"),
        );
        broken_then_fixed(
            "writer",
            Level::Fail,
            |r| {
                std::fs::write(
                    config(r),
                    "[writer]\nkind = \"file\"\npath = \"/srv/rec.log\"\n",
                )
                .expect("write")
            },
            |r| {
                std::fs::create_dir_all(r.join("srv")).expect("mkdir");
                std::os::unix::fs::chown(r.join("srv"), Some(4242), None).expect("chown");
            },
        );
        let socket = |r: &Path| r.join("run/systemd/journal/socket");
        broken_then_fixed(
            "writer",
            Level::Fail,
            |r| std::fs::remove_file(socket(r)).expect("rm"),
            |r| drop(std::os::unix::net::UnixListener::bind(socket(r)).expect("a socket")),
        );
        let log = |r: &Path| r.join("var/log/termtape");
        broken_then_fixed(
            "log-dir",
            Level::Fail,
            |r| fix(&log(r), 0o777),
            |r| fix(&log(r), 0o750),
        );
        broken_then_fixed(
            "shells",
            Level::Warn,
            |r| std::fs::write(r.join("etc/shells"), "/bin/bash\n").expect("write"),
            |r| {
                std::fs::write(
                    r.join("etc/shells"),
                    "/bin/bash\n/usr/bin/termtape-session\n",
                )
                .expect("write")
            },
        );
        let key = |r: &Path| r.join("etc/termtape/signing.key");
        broken_then_fixed(
            "key",
            Level::Fail,
            |r| fix(&key(r), 0o644),
            |r| fix(&key(r), 0o400),
        );
        broken_then_fixed(
            "cockpit",
            Level::Warn,
            |r| std::fs::remove_file(r.join("usr/share/cockpit/termtape/index.html")).expect("rm"),
            |r| std::fs::write(r.join("usr/share/cockpit/termtape/index.html"), "").expect("write"),
        );
    }

    #[test]
    fn users_still_on_tlog_are_named_until_moved() {
        let (_dir, system) = healthy();
        let passwd = system.root.join("etc/passwd");
        let text = std::fs::read_to_string(&passwd).expect("passwd");
        std::fs::write(
            &passwd,
            format!("{text}alice:x:1000:1000::/home/alice:/usr/bin/tlog-rec-session\n"),
        )
        .expect("write");
        let findings = super::check(&system);
        let tlog = findings
            .iter()
            .find(|f| f.check == "tlog-users")
            .expect("tlog users named");
        assert_eq!(tlog.level, Level::Warn);
        assert!(tlog.message.contains("alice"), "{}", tlog.message);
        // Taken over, tlog's users are termtape's.
        let bin = system.root.join("usr/bin");
        std::fs::create_dir_all(&bin).expect("usr/bin");
        std::os::unix::fs::symlink(&system.binary, bin.join("tlog-rec-session")).expect("link");
        let findings = super::check(&system);
        let tlog = findings
            .iter()
            .find(|f| f.check == "tlog-users")
            .expect("tlog users named");
        assert_eq!(tlog.level, Level::Ok, "{}", tlog.message);
        std::fs::remove_file(bin.join("tlog-rec-session")).expect("rm");
        std::fs::write(
            &passwd,
            format!("{text}alice:x:1000:1000::/home/alice:/usr/bin/termtape-session\n"),
        )
        .expect("write");
        let findings = super::check(&system);
        assert!(!findings.iter().any(|f| f.check == "tlog-users"));
        assert!(
            findings
                .iter()
                .any(|f| f.check == "users" && f.message.contains("alice"))
        );
    }

    /// `auditctl -s` and `-l` as auditd 3.0.9 prints them: each way the
    /// kernel's audit can fail termtape, then fixed.
    #[test]
    fn the_audit_check_sees_each_gap_and_its_fix() {
        let on = "enabled 1\nfailure 1\npid 4242\nrate_limit 0\nbacklog_limit 8192\nlost 0\n";
        let off = on.replace("enabled 1", "enabled 0");
        let no_daemon = on.replace("pid 4242", "pid 0");
        let ours = "-a always,exit -F arch=b64 -S execve,execveat -F auid>=1000 -F auid!=-1 -F key=termtape-exec\n\
                    -w /etc -p wa -k termtape-watch\n";
        let watch = [PathBuf::from("/etc"), PathBuf::from("/srv/secret")];
        let level = |status: Option<&str>, rules: Option<&str>, watch: &[PathBuf]| {
            let f = check_audit(status, rules, watch);
            (f.level, f.message)
        };
        assert_eq!(level(None, None, &[]).0, Level::Warn);
        assert!(level(Some(&off), Some(ours), &[]).1.contains("enabled 0"));
        assert!(
            level(Some(&no_daemon), Some(ours), &[])
                .1
                .contains("no auditd")
        );
        assert!(
            level(Some(on), Some("No rules\n"), &[])
                .1
                .contains("execve")
        );
        assert!(
            level(Some(on), Some(ours), &watch)
                .1
                .contains("/srv/secret")
        );
        assert_eq!(level(Some(on), Some(ours), &watch[..1]).0, Level::Ok);
    }
}
