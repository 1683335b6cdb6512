//! Installing termtape-session and switching users' login shells to it.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use termtape_rec::session::SHELLS_FILE;
use termtape_rec::tlog;

/// The user and group the recorder runs as when installed setuid/setgid.
pub const SERVICE_USER: &str = "termtape";

/// Help for the administrative commands.
pub const HELP: &str = "\
termtape-session: a login shell that records the session (to the journal by default)

Usage:
  termtape-session [-l] [-i] [-c CMD] [ARGS...]   as a login shell (what login, su and sshd run)
  termtape-session --install                       create the termtape user and group, make this
                                                   program setuid/setgid to them (run as root)
  termtape-session users enable USER|@GROUP...     make termtape-session their login shell,
                                                   remembering each original shell (root)
  termtape-session users disable USER|@GROUP...    give them back their original shells (root)
  termtape-session users list                      who is recorded, the shell each had, groups
  termtape-session users migrate [USER|@GROUP...]  move users from tlog-rec-session, keeping
                                                   the shell tlog starts for each (root)
  termtape-session config import [FILE] [-o OUT] [--force]
                                                   convert tlog's configuration to termtape.toml
  termtape-session --take-over-tlog                tlog-rec-session's path runs termtape-session
                                                   (dpkg-divert; tlog's binary kept) (root)
  termtape-session --give-back-tlog                tlog's tlog-rec-session back (root)
  termtape-session keys generate [--dir DIR] [--force]
                                                   make the key pair seals are signed with
  termtape-session keys show [--dir DIR]           print the public key
  termtape-session audit rules [--install] [--rules-file FILE]
                                                   print the audit rules that log users' commands
                                                   and [audit] watch; --install loads them with
                                                   auditctl and writes them to FILE (root)
  termtape-session doctor [--json] [--root DIR]    check the installation; each problem with
                                                   its fix (exit 1: recording would fail or
                                                   could be bypassed)

Configuration: /etc/termtape/termtape.toml, [session] shell and notice, [writer], [log],
[audit] watch.

Exit status:
  as a login shell   the shell's status; 1 if the session could not be started
  --install, users,  0 done;
  keys, audit        2 trouble: bad usage, not root, no such user or
                     group, a tool (getent, usermod) that failed
";

fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    ensure!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Checks that root runs this, and takes root's ids back from the setuid
/// bit (the tools run below need them).
fn require_root() -> Result<()> {
    let real = termtape_rec::pty::Credentials::real();
    ensure!(real.uid == 0, "this needs root");
    termtape_rec::pty::become_user(real).context("taking back root's ids")?;
    Ok(())
}

/// Runs `f` with this program's path, as root.
pub fn as_root(f: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    require_root()?;
    let exe = std::env::current_exe().context("finding this program")?;
    f(&exe)
}

/// `--install`: creates the service user and group if missing, makes this
/// executable owned by them and setuid/setgid, lists it in /etc/shells,
/// and creates the directories termtape uses.
pub fn install() -> Result<()> {
    require_root()?;
    let exe = std::env::current_exe().context("finding this program")?;
    if Command::new("getent")
        .args(["passwd", SERVICE_USER])
        .output()?
        .stdout
        .is_empty()
    {
        run(Command::new("useradd").args([
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/var/lib/termtape",
            "--shell",
            "/usr/sbin/nologin",
            "--comment",
            "termtape session recorder",
            SERVICE_USER,
        ]))?;
        println!("created user and group {SERVICE_USER}");
    }
    let owner = format!("{SERVICE_USER}:{SERVICE_USER}");
    run(Command::new("chown").arg(&owner).arg(&exe))?;
    // chown clears the set-id bits; set them after it.
    run(Command::new("chmod").arg("6755").arg(&exe))?;
    println!(
        "{}: owned by {owner}, mode 6755 (setuid, setgid)",
        exe.display()
    );
    // After chown, which clears file capabilities.
    let file = std::fs::File::open(&exe).context("opening this program")?;
    termtape_rec::login_terminal::set_file_capabilities(std::os::fd::AsFd::as_fd(&file))
        .with_context(|| format!("setting the file capabilities of {}", exe.display()))?;
    println!(
        "{}: file capabilities cap_chown,cap_sys_tty_config (permitted, raised only to take the login terminal from the user)",
        exe.display()
    );
    std::fs::create_dir_all("/var/lib/termtape").context("creating /var/lib/termtape")?;
    std::fs::create_dir_all("/var/log/termtape").context("creating /var/log/termtape")?;
    run(Command::new("chown").arg(&owner).arg("/var/log/termtape"))?;
    run(Command::new("chmod").arg("0750").arg("/var/log/termtape"))?;
    println!("/var/log/termtape: for the file writer, writable by {SERVICE_USER} only");
    let spool = termtape_rec::sink::DEFAULT_SPOOL_DIR;
    std::fs::create_dir_all(spool).with_context(|| format!("creating {spool}"))?;
    run(Command::new("chown").arg(&owner).arg(spool))?;
    run(Command::new("chmod").arg("0700").arg(spool))?;
    println!("{spool}: what the journal could not take yet, {SERVICE_USER}'s alone");
    add_to_etc_shells(&exe)?;
    let dir = Path::new(termtape_rec::keys::DEFAULT_DIR);
    let (public, made) = termtape_rec::keys::generate(dir, Some(service_ids()?), false)
        .context("making the signing key")?;
    print_key(dir, &public, made);
    Ok(())
}

/// The service user's uid and gid.
fn service_ids() -> Result<(u32, u32)> {
    let id = |flag: &str| -> Result<u32> {
        let out = run(Command::new("id").args([flag, SERVICE_USER]))?;
        out.trim()
            .parse()
            .with_context(|| format!("id {flag} {SERVICE_USER} said {out:?}"))
    };
    Ok((id("-u")?, id("-g")?))
}

fn print_key(dir: &Path, public: &termtape_format::chain::PublicKey, made: bool) {
    let private = dir.join(termtape_rec::keys::PRIVATE_FILE);
    let public_file = dir.join(termtape_rec::keys::PUBLIC_FILE);
    if made {
        println!(
            "{}: the recorder's signing key, mode 0400 (made now)",
            private.display()
        );
    } else {
        println!("{}: the recorder's signing key (kept)", private.display());
    }
    println!(
        "{}: the public key, for termtape verify (keep a copy off this host):",
        public_file.display()
    );
    println!("{public}");
}

/// Help for `keys`.
pub const KEYS_HELP: &str = "\
Usage:
  termtape keys generate [--dir DIR] [--force]   make the Ed25519 key pair the recorder signs
                                                 seals with: DIR/signing.key (mode 0400, owned
                                                 by the termtape user when run as root) and
                                                 DIR/signing.pub (0644); an existing key is kept
                                                 unless --force [DIR: /etc/termtape]
  termtape keys show [--dir DIR]                 print the public key

Exit status: 0 done; 2 trouble (no such key, a file that cannot be written).
";

/// `keys`: makes or shows the signing key pair. Run by root, the private
/// key goes to the service user; run by anyone else, this program (setuid)
/// first takes back the caller's ids, and the files are the caller's.
pub fn keys(args: &[OsString]) -> Result<()> {
    let usage = || anyhow::anyhow!("usage:\n{KEYS_HELP}");
    let args: Vec<&str> = args
        .iter()
        .map(|a| a.to_str().ok_or_else(usage))
        .collect::<Result<_>>()?;
    let Some((action, rest)) = args.split_first() else {
        return Err(usage());
    };
    let mut dir = PathBuf::from(termtape_rec::keys::DEFAULT_DIR);
    let mut force = false;
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        match *arg {
            "--dir" => dir = PathBuf::from(it.next().ok_or_else(usage)?),
            "--force" if *action == "generate" => force = true,
            _ => return Err(usage()),
        }
    }
    let real = termtape_rec::pty::Credentials::real();
    termtape_rec::pty::become_user(real).context("taking back the caller's ids")?;
    match *action {
        "generate" => {
            let owner = if real.uid == 0 && service_ids().is_ok() {
                Some(service_ids()?)
            } else {
                None
            };
            let (public, made) = termtape_rec::keys::generate(&dir, owner, force)?;
            print_key(&dir, &public, made);
        }
        "show" => {
            let file = dir.join(termtape_rec::keys::PUBLIC_FILE);
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let key = termtape_format::chain::PublicKey::parse(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            println!("{key}");
        }
        "--help" | "-h" | "help" => print!("{KEYS_HELP}"),
        _ => return Err(usage()),
    }
    Ok(())
}

fn add_to_etc_shells(exe: &Path) -> Result<()> {
    let shells = std::fs::read_to_string("/etc/shells").unwrap_or_default();
    let line = exe.display().to_string();
    if !shells.lines().any(|l| l.trim() == line) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open("/etc/shells")?;
        writeln!(f, "{line}")?;
        println!("added {line} to /etc/shells");
    }
    Ok(())
}

/// Help for `users`.
pub const USERS_HELP: &str = "\
Usage:
  termtape users enable USER|@GROUP...    make termtape-session their login shell, remembering
                                          each original shell (root)
  termtape users disable USER|@GROUP...   give them back their original shells (root)
  termtape users list                     who is recorded: each user whose login shell is
                                          termtape-session, the shell they had, their groups
  termtape users migrate [USER|@GROUP...] move users from tlog-rec-session (all of them when
                                          none is named) to termtape-session, remembering the
                                          shell tlog starts for each (root)

A user whose shell is tlog-rec-session (or a tlog-rec-session-shell-... link) is moved
by enable and migrate with the shell tlog would start: the one its name encodes, else
TLOG_REC_SESSION_SHELL in /etc/environment, else \"shell\" in
/etc/tlog/tlog-rec-session.conf, else tlog's default.

Exit status: 0 done; 2 trouble: bad usage, not root, no such user or group, a tool
(getent, usermod) that failed.
";

/// What `users` does: a closed set, as its help lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Action {
    /// Make termtape-session their login shell.
    Enable,
    /// Give them back their original shells.
    Disable,
    /// Who is recorded.
    List,
    /// Move users from tlog-rec-session.
    Migrate,
}

/// `users enable|disable USER|@GROUP...`, `users list`, `users --help`.
pub fn users(args: &[OsString]) -> Result<()> {
    let usage = || anyhow::anyhow!("usage:\n{USERS_HELP}");
    let Some((action, targets)) = args.split_first() else {
        return Err(usage());
    };
    let action = action.to_str().unwrap_or_default();
    if matches!(action, "--help" | "-h" | "help") {
        print!("{USERS_HELP}");
        return Ok(());
    }
    let action = match <Action as clap::ValueEnum>::from_str(action, false) {
        Ok(Action::List) => return list_users(),
        Ok(action) => action,
        Err(_) => return Err(usage()),
    };
    if action != Action::Migrate {
        ensure!(!targets.is_empty(), "name at least one USER or @GROUP");
    }
    require_root()?;
    let exe = std::env::current_exe().context("finding this program")?;
    let mut names = Vec::new();
    for target in targets {
        let target = target
            .to_str()
            .context("user and group names must be UTF-8")?;
        match target.strip_prefix('@') {
            Some(group) => names.extend(group_members(group)?),
            None => names.push(target.to_owned()),
        }
    }
    if targets.is_empty() {
        // `migrate` alone: everyone tlog records.
        let passwd = run(Command::new("getent").arg("passwd"))?;
        names.extend(passwd.lines().filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 7 && tlog::is_session(Path::new(f[6]))).then(|| f[0].to_owned())
        }));
        if names.is_empty() {
            println!("no user's login shell is tlog-rec-session");
            return Ok(());
        }
    }
    names.sort();
    names.dedup();
    // Every name checked before any shell is changed.
    let shells: Vec<PathBuf> = names
        .iter()
        .map(|name| login_shell(name))
        .collect::<Result<_>>()?;
    let shells_file = PathBuf::from(SHELLS_FILE);
    // Two administrators (or scripts) at once must not lose each other's
    // remembered shells: the read, change and write below hold a lock.
    let _lock = lock_shells(&shells_file)?;
    let mut remembered = read_shells(&shells_file);
    for (name, current) in names.iter().zip(shells) {
        match action {
            Action::Enable | Action::Migrate => {
                if current == exe {
                    println!("{name}: already recorded");
                    continue;
                }
                // A tlog user's real shell is the one tlog would start, not
                // tlog-rec-session.
                let keep = if tlog::is_session(&current) {
                    let real = tlog::session_shell(&current, Path::new("/"));
                    println!(
                        "{name}: recorded by tlog ({}), which starts {} ({})",
                        current.display(),
                        real.shell.display(),
                        real.from
                    );
                    real.shell
                } else if action == Action::Migrate {
                    println!(
                        "{name}: not on tlog-rec-session (login shell {}): left alone; \
                         `termtape users enable {name}` records them",
                        current.display()
                    );
                    continue;
                } else {
                    current.clone()
                };
                remembered.retain(|(u, _)| u != name);
                remembered.push((name.clone(), keep.clone()));
                write_shells(&shells_file, &remembered)?;
                run(Command::new("usermod").arg("--shell").arg(&exe).arg(name))?;
                println!(
                    "{name}: {} -> {} (the real shell: {})",
                    current.display(),
                    exe.display(),
                    keep.display()
                );
            }
            Action::Disable | Action::List => {
                let original = remembered
                    .iter()
                    .find(|(u, _)| u == name)
                    .map(|(_, s)| s.clone())
                    .unwrap_or_else(|| PathBuf::from(termtape_rec::session::DEFAULT_SHELL));
                if current != exe {
                    println!("{name}: not recorded (login shell {})", current.display());
                } else {
                    run(Command::new("usermod")
                        .arg("--shell")
                        .arg(&original)
                        .arg(name))?;
                    println!("{name}: {} -> {}", current.display(), original.display());
                }
                remembered.retain(|(u, _)| u != name);
                write_shells(&shells_file, &remembered)?;
            }
        }
    }
    if action != Action::Disable {
        add_to_etc_shells(&exe)?;
    }
    Ok(())
}

/// A user's login shell, from the user database (NSS included).
fn login_shell(user: &str) -> Result<PathBuf> {
    let entry = getent("passwd", user)?
        .with_context(|| format!("there is no user named {user:?} (getent passwd finds none)"))?;
    let shell = entry.trim_end().rsplit(':').next().unwrap_or_default();
    Ok(PathBuf::from(shell))
}

/// `getent DATABASE KEY`: the entry, or `None` when there is none (getent's
/// exit status 2).
fn getent(database: &str, key: &str) -> Result<Option<String>> {
    let out = Command::new("getent")
        .args([database, key])
        .output()
        .context("running getent")?;
    match out.status.code() {
        Some(0) => Ok(Some(String::from_utf8_lossy(&out.stdout).into_owned())),
        Some(2) => Ok(None),
        _ => bail!(
            "getent {database} {key} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    }
}

/// `users list`: each user whose login shell is this program, the shell
/// remembered for them and their groups.
fn list_users() -> Result<()> {
    let exe = std::env::current_exe().context("finding this program")?;
    let passwd = run(Command::new("getent").arg("passwd"))?;
    let remembered = read_shells(Path::new(SHELLS_FILE));
    let mut rows = vec![[
        "USER".to_owned(),
        "ORIGINAL SHELL".to_owned(),
        "GROUPS".to_owned(),
    ]];
    for line in passwd.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        let (Some(name), Some(shell)) = (fields.first(), fields.last()) else {
            continue;
        };
        let is_ours = Path::new(shell) == exe
            || Path::new(shell).file_name() == Some(std::ffi::OsStr::new("termtape-session"));
        if fields.len() < 7 || !is_ours {
            continue;
        }
        let original = remembered
            .iter()
            .find(|(u, _)| u == name)
            .map_or_else(|| "-".to_owned(), |(_, s)| s.display().to_string());
        let groups = run(Command::new("id").args(["-nG", name]))
            .map(|g| g.split_whitespace().collect::<Vec<_>>().join(","))
            .unwrap_or_else(|_| "?".to_owned());
        rows.push([(*name).to_owned(), original, groups]);
    }
    if rows.len() == 1 {
        println!("no user has termtape-session as login shell");
        return Ok(());
    }
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1) = (width(0), width(1));
    for row in &rows {
        println!("{:<w0$}  {:<w1$}  {}", row[0], row[1], row[2]);
    }
    Ok(())
}

/// The members of a group: those listed in it and those whose primary
/// group it is.
fn group_members(group: &str) -> Result<Vec<String>> {
    let entry = getent("group", group)?
        .with_context(|| format!("there is no group named {group:?} (getent group finds none)"))?;
    let fields: Vec<&str> = entry.trim_end().split(':').collect();
    ensure!(fields.len() == 4, "unexpected group entry {entry:?}");
    let mut members: Vec<String> = fields[3]
        .split(',')
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect();
    let gid = fields[2];
    let passwd = run(Command::new("getent").arg("passwd"))?;
    for line in passwd.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() >= 4 && f[3] == gid {
            members.push(f[0].to_owned());
        }
    }
    Ok(members)
}

/// An exclusive lock on `file`'s lock file, held until dropped.
fn lock_shells(file: &Path) -> Result<std::fs::File> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let path = file.with_extension("lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .with_context(|| format!("locking {}", path.display()))?;
    Ok(lock)
}

fn read_shells(file: &Path) -> Vec<(String, PathBuf)> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            l.split_once(':')
                .map(|(u, s)| (u.to_owned(), PathBuf::from(s)))
        })
        .collect()
}

fn write_shells(file: &Path, shells: &[(String, PathBuf)]) -> Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text: String = shells
        .iter()
        .map(|(u, s)| format!("{u}:{}\n", s.display()))
        .collect();
    let tmp = file.with_extension("new");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, file).with_context(|| format!("replacing {}", file.display()))?;
    Ok(())
}

/// `audit rules [--install] [--rules-file FILE]`: prints the audit rules
/// for the configuration's `[audit] watch`; with `--install`, writes them
/// to FILE (default /etc/audit/rules.d/termtape.rules, which auditd loads
/// at boot) and loads them now with `auditctl`, replacing termtape's
/// earlier ones (those with its keys) and no one else's.
pub fn audit(args: &[OsString]) -> Result<()> {
    use termtape_rec::audit_rules;
    let usage = || anyhow::anyhow!("usage: termtape audit rules [--install] [--rules-file FILE]");
    let args: Vec<&str> = args
        .iter()
        .map(|a| a.to_str().ok_or_else(usage))
        .collect::<Result<_>>()?;
    let Some((&"rules", rest)) = args.split_first() else {
        return Err(usage());
    };
    let (mut install, mut file) = (false, PathBuf::from(audit_rules::RULES_FILE));
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        match *arg {
            "--install" => install = true,
            "--rules-file" => file = PathBuf::from(it.next().ok_or_else(usage)?),
            _ => return Err(usage()),
        }
    }
    // As for a session: the system file, or (unprivileged) the one named.
    let real = termtape_rec::pty::Credentials::real();
    termtape_rec::pty::become_user(real).context("taking back the caller's ids")?;
    let path = std::env::var_os(termtape_rec::config::CONFIG_ENV).map_or_else(
        || PathBuf::from(termtape_rec::config::DEFAULT_CONFIG_PATH),
        PathBuf::from,
    );
    let config = termtape_rec::config::FileConfig::load(&path, false)?;
    let watch = config.audit.watch.unwrap_or_default();
    let text = audit_rules::rules(&watch).with_context(|| format!("{}", path.display()))?;
    if !install {
        print!("{text}");
        return Ok(());
    }
    require_root()?;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&file, &text).with_context(|| format!("writing {}", file.display()))?;
    for key in [audit_rules::EXEC_KEY, audit_rules::WATCH_KEY] {
        // Fails when there is no such rule, which is fine.
        let _ = Command::new("auditctl").args(["-D", "-k", key]).output();
    }
    let loaded = Command::new("auditctl")
        .arg("-R")
        .arg(&file)
        .output()
        .context("running auditctl (Debian package auditd)")?;
    ensure!(
        loaded.status.success(),
        "auditctl -R {}: {}",
        file.display(),
        String::from_utf8_lossy(&loaded.stderr).trim()
    );
    println!("wrote {} and loaded its rules:", file.display());
    print!("{text}");
    Ok(())
}
