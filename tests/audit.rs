//! Audit correlation against the real kernel audit system: Debian's auditd
//! (started by the test with its own configuration and log, stopped by
//! PID, rules removed and auditing switched off after), termtape's rules
//! loaded with `termtape audit rules --install`, a real login (`login -f`
//! on a terminal, whose pam_loginuid opens an audit session) under
//! termtape-session; `ausearch --session N -i` is the oracle.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use termtape_tests::{bin, journal_sync, require, run_ok};

/// The kernel takes one audit daemon: the tests that start one take turns,
/// in this process and in any other test run on the machine (each holds
/// an exclusive `flock` on this file while its auditd runs).
const AUDIT_TURN: &str = "/run/lock/termtape-tests-auditd.lock";

/// Waits for, and takes, the turn to run an audit daemon; the lock goes
/// with the file.
fn audit_turn() -> std::fs::File {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(AUDIT_TURN)
        .unwrap_or_else(|e| panic!("{AUDIT_TURN}: {e}"));
    file.lock()
        .unwrap_or_else(|e| panic!("flock {AUDIT_TURN}: {e}"));
    file
}

/// A number `auditctl -s` shows (`pid`, `enabled`).
fn audit_status(name: &str) -> Option<u32> {
    let out = Command::new("auditctl").arg("-s").output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The pid of the audit daemon the kernel talks to (0: none).
fn audit_pid() -> u32 {
    audit_status("pid").expect("auditctl -s names a pid")
}

/// An auditd of the test's own, logging to `dir/audit.log`, with
/// termtape's rules watching a directory of its own (auditd makes its log's
/// directory root's alone).
pub(crate) struct Auditd {
    child: Child,
    watched: tempfile::TempDir,
    keeping: std::sync::Arc<std::sync::atomic::AtomicBool>,
    keeper: Option<std::thread::JoinHandle<()>>,
    dir: tempfile::TempDir,
    /// Dropped last: the next test's auditd starts after this one stopped.
    _turn: std::fs::File,
}

impl Auditd {
    pub(crate) fn start() -> Auditd {
        require("auditd");
        require("auditctl");
        require("ausearch");
        // Every journald that starts turns the kernel's auditing off (its
        // Audit= defaults to no): one is started before, not during.
        termtape_tests::journald();
        let turn = audit_turn();
        let running = audit_pid();
        assert_eq!(
            running, 0,
            "an audit daemon (pid {running}) already runs: these tests need the kernel's audit to themselves and never stop one they did not start"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        run_ok(Command::new("chmod").arg("755").arg(dir.path()));
        let watched = tempfile::tempdir().expect("tempdir");
        run_ok(Command::new("chmod").arg("1777").arg(watched.path()));
        std::fs::create_dir(dir.path().join("plugins")).expect("mkdir");
        std::fs::write(
            dir.path().join("auditd.conf"),
            format!(
                "log_file = {}/audit.log\nlog_format = ENRICHED\nlog_group = root\n\
                 flush = INCREMENTAL_ASYNC\nfreq = 1\nwrite_logs = yes\nlocal_events = yes\n\
                 max_log_file = 64\nnum_logs = 2\nmax_log_file_action = ROTATE\n\
                 space_left = 2\nspace_left_action = IGNORE\nadmin_space_left = 1\n\
                 admin_space_left_action = IGNORE\ndisk_full_action = IGNORE\n\
                 disk_error_action = IGNORE\nname_format = NONE\nq_depth = 2000\n\
                 plugin_dir = {}/plugins\n",
                dir.path().display(),
                dir.path().display()
            ),
        )
        .expect("auditd.conf");
        let child = Command::new("auditd")
            .arg("-n")
            .arg("-c")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("auditd.err")).expect("auditd.err"))
            .spawn()
            .expect("auditd");
        let keeping = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let on = keeping.clone();
        // Turns auditing back on when a journald (anyone's) turned it off.
        let keeper = std::thread::spawn(move || {
            while on.load(std::sync::atomic::Ordering::Relaxed) {
                if audit_status("enabled") == Some(0) {
                    let _ = Command::new("auditctl").args(["-e", "1"]).output();
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let auditd = Auditd {
            child,
            watched,
            keeping,
            keeper: Some(keeper),
            dir,
            _turn: turn,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while audit_pid() != auditd.child.id() {
            assert!(
                Instant::now() < deadline,
                "auditd did not register with the kernel"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let config = auditd.dir.path().join("termtape.toml");
        std::fs::write(
            &config,
            format!("[audit]\nwatch = [\"{}\"]\n", auditd.watched().display()),
        )
        .expect("termtape.toml");
        let loaded = run_ok(
            Command::new(bin("termtape"))
                .args(["audit", "rules", "--install", "--rules-file"])
                .arg(auditd.dir.path().join("termtape.rules"))
                .env("TERMTAPE_CONFIG", &config),
        );
        assert!(String::from_utf8_lossy(&loaded).contains("-k termtape-watch"));
        let rules =
            String::from_utf8_lossy(&run_ok(Command::new("auditctl").arg("-l"))).into_owned();
        assert!(
            rules.contains("key=termtape-exec") && rules.contains("termtape-watch"),
            "{rules}"
        );
        auditd
    }

    /// Turns the kernel's auditing on (again: a journald started since by
    /// anyone turned it off).
    pub(crate) fn enable(&self) {
        run_ok(Command::new("auditctl").args(["-e", "1"]));
    }

    /// Whether auditing stayed on since the last `enable` (a journald of
    /// anyone's that starts turns it off: records would be missing).
    pub(crate) fn never_off(&self) -> bool {
        let log = std::fs::read_to_string(self.log()).unwrap_or_default();
        let mut after = log
            .lines()
            .rev()
            .take_while(|l| !l.contains("op=set audit_enabled=1 old=1"));
        !after.any(|l| l.contains("op=set audit_enabled=0"))
    }

    /// Waits until what was audited before is in the log: a program run
    /// now, in an audit session of its own, named after `marker`, has
    /// its record there. A journald of anyone's that starts turns auditing
    /// off for the moment until the keeper turns it back on; a program run
    /// then leaves no record, so one runs again each second until one has.
    pub(crate) fn all_logged(&self, marker: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let prefix = format!("sentinel-{marker}-");
        for round in 0.. {
            let sentinel = format!("{prefix}{round}");
            run_ok(Command::new("sh").args([
                "-c",
                &format!("echo 1000 > /proc/self/loginuid && exec /bin/true {sentinel}"),
            ]));
            let again = Instant::now() + Duration::from_secs(1);
            while Instant::now() < again {
                if self.logged(&prefix) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            assert!(Instant::now() < deadline, "{}", self.missing(&sentinel));
        }
    }

    /// Whether the log holds `text`.
    fn logged(&self, text: &str) -> bool {
        std::fs::read_to_string(self.log()).is_ok_and(|log| log.contains(text))
    }

    /// Why `text` is not in the log: the daemon, its errors, the log's end.
    fn missing(&self, text: &str) -> String {
        let log = std::fs::read_to_string(self.log()).unwrap_or_default();
        format!(
            "{text} never reached the audit log: auditd {}, auditing enabled {:?}, lost {:?}, its stderr: {}, the log's last lines:\n{}",
            audit_pid(),
            audit_status("enabled"),
            audit_status("lost"),
            std::fs::read_to_string(self.dir.path().join("auditd.err")).unwrap_or_default(),
            log.lines().rev().take(5).collect::<Vec<_>>().join("\n")
        )
    }

    pub(crate) fn log(&self) -> PathBuf {
        self.dir.path().join("audit.log")
    }

    /// The directory termtape's rules watch (anyone may create files in it).
    pub(crate) fn watched(&self) -> PathBuf {
        self.watched.path().to_owned()
    }
}

impl Drop for Auditd {
    fn drop(&mut self) {
        self.keeping
            .store(false, std::sync::atomic::Ordering::Relaxed);
        if let Some(keeper) = self.keeper.take() {
            let _ = keeper.join();
        }
        // Stopped by the pid of the daemon started here, never by name.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let _ = Command::new("auditctl").arg("-D").output();
        let _ = Command::new("auditctl").args(["-e", "0"]).output();
    }
}

pub(crate) fn json_lines(cmd: &mut Command) -> Vec<serde_json::Value> {
    json_of(&run_ok(cmd))
}

/// JSON lines, whatever the command's exit status.
fn json_of(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The oracle: the EXECVE events `ausearch --session N -i` shows, by
/// serial: their time (ms since the epoch, from `--raw`) and arguments (from
/// `-i`, which decodes them; split at ` aN=`).
fn ausearch_execs(log: &Path, ses: u64) -> BTreeMap<u64, (u64, Vec<String>)> {
    let ausearch = |extra: &str| {
        let out = Command::new("ausearch")
            .arg("-if")
            .arg(log)
            .args(["--session", &ses.to_string(), extra])
            .output()
            .expect("ausearch");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let serial_of = |line: &str| -> u64 {
        let stamp = line.split("msg=audit(").nth(1).expect("a stamp");
        let stamp = &stamp[..stamp.find(')').expect("closed")];
        stamp
            .rsplit(':')
            .next()
            .expect("serial")
            .parse()
            .expect("a number")
    };
    let mut times = BTreeMap::new();
    for line in ausearch("--raw")
        .lines()
        .filter(|l| l.starts_with("type=SYSCALL"))
    {
        let stamp = line.split("msg=audit(").nth(1).expect("a stamp");
        let (time, _) = stamp.split_once(':').expect("time:serial");
        let (s, ms) = time.split_once('.').expect("secs.ms");
        let t = s.parse::<u64>().expect("secs") * 1000 + ms.parse::<u64>().expect("ms");
        times.insert(serial_of(line), t);
    }
    let mut execs = BTreeMap::new();
    for line in ausearch("-i")
        .lines()
        .filter(|l| l.starts_with("type=EXECVE"))
    {
        let serial = serial_of(line);
        let fields = line.split(") : ").nth(1).expect("fields");
        let argc: usize = fields
            .strip_prefix("argc=")
            .and_then(|f| f.split(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("argc");
        let mut argv = Vec::new();
        for i in 0..argc {
            let key = format!(" a{i}=");
            let start = fields.find(&key).expect("each argument") + key.len();
            let end = fields[start..]
                .find(&format!(" a{}=", i + 1))
                .map_or(fields.trim_end().len(), |e| start + e);
            argv.push(unoctal(&fields[start..end]));
        }
        execs.insert(serial, (times[&serial], argv));
    }
    execs
}

/// The `--since` of a login attempt (seconds since the epoch) and a
/// marker naming it. An attempt after the first starts at the next whole
/// second, so that its `--since` leaves out the recordings of the one
/// before (which may have ended in the second this one starts).
pub(crate) fn attempt_names(prefix: &str, attempt: u32) -> (String, String) {
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
    };
    if attempt > 1 {
        std::thread::sleep(
            Duration::from_secs(1)
                .saturating_sub(Duration::from_nanos(now().subsec_nanos().into())),
        );
    }
    let since = now().as_secs().to_string();
    (since, format!("{prefix}{}x{attempt}", std::process::id()))
}

/// Types `lines` on a login's terminal, one at a time (so each is on the
/// screen before the next runs), and waits until the screen shows `until`;
/// what it showed, without carriage returns.
pub(crate) fn type_lines(
    master: &mut std::fs::File,
    screen: &mut termtape_tests::pty::Reader,
    lines: &[String],
    until: &str,
) -> String {
    for line in lines {
        master
            .write_all(format!("{line}\n").as_bytes())
            .expect("type");
        std::thread::sleep(Duration::from_millis(300));
    }
    let seen = screen
        .until(Duration::from_secs(60), |seen| contains(seen, until))
        .to_vec();
    String::from_utf8_lossy(&seen).replace('\r', "")
}

/// An argument as `ausearch -i` shows it, control characters written as
/// `\ooo` (octal), decoded.
fn unoctal(shown: &str) -> String {
    let mut out = Vec::new();
    let bytes = shown.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                out.push(d.iter().fold(0u8, |n, b| n * 8 + (b - b'0')));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The events of `termtape files --json` of recording `rec` (in the
/// journal) on `path`; there is at least one.
pub(crate) fn file_events(log: &Path, rec: &str, path: &str) -> Vec<serde_json::Value> {
    let files = json_lines(
        Command::new(bin("termtape"))
            .args(["files", "--json", "--audit-log"])
            .arg(log)
            .args(["--rec", rec, "journal"]),
    );
    let on: Vec<serde_json::Value> = files
        .iter()
        .filter(|f| f["type"] == "file" && f["path"] == path)
        .cloned()
        .collect();
    assert!(!on.is_empty(), "{path} in {files:#?}");
    on
}

/// `termtape commands --json` of recording `rec` (in the journal), which
/// must list exactly the programs `ausearch --session SES -i` shows in the
/// recording's time (its serials, times and arguments); its objects.
pub(crate) fn commands_match_ausearch(log: &Path, rec: &str, ses: u64) -> Vec<serde_json::Value> {
    let commands = json_lines(
        Command::new(bin("termtape"))
            .args(["commands", "--json", "--audit-log"])
            .arg(log)
            .args(["--rec", rec, "journal"]),
    );
    let head = &commands[0];
    assert_eq!(
        (head["type"].as_str(), head["session"].as_u64()),
        (Some("recording"), Some(ses))
    );
    let start = head["start"].as_u64().expect("start");
    let end = head["end"].as_u64().expect("end");
    let ours: BTreeMap<u64, (u64, Vec<String>)> = commands
        .iter()
        .filter(|c| c["type"] == "command")
        .map(|c| {
            let argv = c["argv"]
                .as_array()
                .expect("argv")
                .iter()
                .map(|a| a.as_str().expect("text").to_owned())
                .collect();
            (
                c["serial"].as_u64().expect("serial"),
                (c["time"].as_u64().expect("time"), argv),
            )
        })
        .collect();
    let oracle: BTreeMap<u64, (u64, Vec<String>)> = ausearch_execs(log, ses)
        .into_iter()
        .filter(|(_, (t, _))| {
            (start - termtape_player::audit::LEAD_MS..=end + termtape_player::audit::TAIL_MS)
                .contains(t)
        })
        .collect();
    assert_eq!(
        ours, oracle,
        "termtape commands vs ausearch --session {ses} -i"
    );

    commands
}

/// A real login under termtape-session, audited: the recording carries the
/// audit session its shell is in; `termtape commands` lists exactly the
/// programs `ausearch --session N` shows for the recording's time, with
/// their arguments (one hex-encoded: a space and a quote), directory and
/// offsets (the screen at each shows the command line typed); `termtape
/// files` the file created in the watched directory.
#[test]
fn commands_of_an_audited_login_match_ausearch() {
    require("login");
    require("sudo");
    let auditd = Auditd::start();
    let user = crate::session::user("ttaudit1");
    let uid: u64 = String::from_utf8_lossy(&run_ok(Command::new("id").args(["-u", user])))
        .trim()
        .parse()
        .expect("uid");
    // Anyone's journald that starts turns auditing off (the keeper turns
    // it back on within 50 ms); a login that lost records is done again.
    let mut attempt = 0;
    let (since, file, typed, inner_ses) = loop {
        attempt += 1;
        let (since, marker) = attempt_names("aud", attempt);
        let file = auditd.watched().join(format!("f-{marker}"));
        let pty = termtape_tests::pty::Pair::open();
        auditd.enable();
        let (mut login, mut master, mut screen) = crate::session::log_in(&pty, &["-f", user]);
        let typed = [
            "cd /tmp && cat /etc/hostname".to_owned(),
            "/bin/echo 'a b' \"it's\" | tr a-z A-Z".to_owned(),
            format!("touch {}", file.display()),
            "sudo -n true; echo sudo=$?".to_owned(),
            // An argument that would colour a terminal that took it as is.
            r"/bin/echo $'\e[31mred\e[0m'".to_owned(),
            format!("echo ses=$(cat /proc/self/sessionid)-$((6*7))-{marker}"),
        ];
        let text = type_lines(&mut master, &mut screen, &typed, &format!("-42-{marker}"));
        let inner_ses: u64 = text
            .split("ses=")
            .filter_map(|s| s.split_once(&format!("-42-{marker}")))
            .filter_map(|(n, _)| n.parse().ok())
            .next()
            .unwrap_or_else(|| panic!("the session id in {text}"));
        assert!(
            text.contains("sudo=1"),
            "sudo -n failed for the user: {text}"
        );
        master.write_all(b"exit\n").expect("type");
        let _ = login.wait().expect("login");
        auditd.all_logged(&marker);
        if auditd.never_off() {
            break (since, file, typed, inner_ses);
        }
        assert!(
            attempt < 3,
            "kernel auditing was turned off during each of 3 logins"
        );
    };

    // The key: the recording's session is the shell's audit session.
    assert!(journal_sync());
    let listed = json_lines(Command::new(bin("termtape")).args([
        "ls", "--json", "--lax", "--since", &since, "--user", user, "journal",
    ]));
    assert_eq!(listed.len(), 1, "{listed:?}");
    let r = &listed[0];
    let rec = r["rec"].as_str().expect("rec");
    assert_eq!(r["session"], inner_ses, "{r}");
    assert_eq!(r["audit_session"], inner_ses, "{r}");
    assert_eq!(r["loginuid"], uid, "{r}");
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").expect("boot id");
    assert_eq!(r["boot_id"], boot.trim(), "{r}");

    let commands = commands_match_ausearch(&auditd.log(), rec, inner_ses);
    let end = commands[0]["end"].as_u64().expect("end");
    let start = commands[0]["start"].as_u64().expect("start");

    let find = |argv: &[&str]| {
        commands
            .iter()
            .find(|c| c["type"] == "command" && c["argv"] == serde_json::json!(argv))
            .unwrap_or_else(|| panic!("{argv:?} in {commands:#?}"))
    };
    let cat = find(&["cat", "/etc/hostname"]);
    assert_eq!(cat["cwd"], "/tmp");
    assert_eq!(
        (cat["uid"].as_u64(), cat["auid"].as_u64()),
        (Some(uid), Some(uid))
    );
    assert_eq!(cat["success"], true);
    let echo = find(&["/bin/echo", "a b", "it's"]);
    let tr = find(&["tr", "a-z", "A-Z"]);
    assert_eq!(echo["ppid"], tr["ppid"], "one pipeline, one shell");
    let file_text = file.display().to_string();
    find(&["touch", &file_text]);
    let sudo = find(&["sudo", "-n", "true"]);
    assert_eq!(sudo["euid"], 0, "sudo runs setuid root");
    // Each command's moment: the screen shows the command line typed.
    for (c, line) in [(cat, &typed[0]), (echo, &typed[1]), (sudo, &typed[3])] {
        let n = c["n"].as_u64().expect("n").to_string();
        assert!(c["at"].as_u64().expect("at") <= end - start);
        let shown = run_ok(
            Command::new(bin("termtape"))
                .args(["screen", "--at", &format!("cmd:{n}"), "--audit-log"])
                .arg(auditd.log())
                .args(["--rec", rec, "journal"]),
        );
        assert!(
            contains(&shown, line),
            "the screen at cmd:{n} shows {line:?}:\n{}",
            String::from_utf8_lossy(&shown)
        );
    }

    search_ran_finds_the_commands(&auditd.log(), user, &since, rec, &commands);
    play_goes_from_command_to_command(&auditd.log(), rec, &commands, &typed);

    let created = file_events(&auditd.log(), rec, &file_text);
    assert_eq!(created[0]["success"], true);
    assert_eq!(created[0]["auid"], uid);

    // The same from the journal's audit entries.
    let from_journal = json_lines(Command::new(bin("termtape")).args([
        "commands",
        "--json",
        "--audit-log",
        "journal",
        "--rec",
        rec,
        "journal",
    ]));
    let serials = |v: &[serde_json::Value]| -> Vec<u64> {
        v.iter()
            .filter(|c| c["type"] == "command")
            .filter_map(|c| c["serial"].as_u64())
            .collect()
    };
    assert_eq!(serials(&from_journal), serials(&commands));
}

/// `search --ran`: the user's recordings in which a command matching the
/// pattern ran (in its arguments or its executable), each match numbered as
/// `commands` numbers it; text lines name the recording, the offset and
/// `cmd:N`.
fn search_ran_finds_the_commands(
    log: &Path,
    user: &str,
    since: &str,
    rec: &str,
    commands: &[serde_json::Value],
) {
    let search = |args: &[&str]| {
        Command::new(bin("termtape"))
            .arg("search")
            .args(args)
            .arg("--audit-log")
            .arg(log)
            .args(["--lax", "--user", user, "--since", since, "journal"])
            .output()
            .expect("termtape search")
    };
    let number_of = |argv: &[&str]| {
        commands
            .iter()
            .find(|c| c["type"] == "command" && c["argv"] == serde_json::json!(argv))
            .map(|c| c["n"].clone())
            .expect("the command in commands --json")
    };
    for (args, argv) in [
        (&["--ran", "tr a-z A-Z"][..], &["tr", "a-z", "A-Z"][..]),
        (&["-i", "--ran", "TR A-Z"][..], &["tr", "a-z", "A-Z"][..]),
        (&["--ran", "/usr/bin/sudo"][..], &["sudo", "-n", "true"][..]),
    ] {
        let out = search(&[&["--json"][..], args].concat());
        assert!(out.status.success(), "search {args:?}: {out:?}");
        let found = json_of(&out.stdout);
        let kinds: Vec<&str> = found.iter().filter_map(|f| f["type"].as_str()).collect();
        assert_eq!(
            kinds,
            ["recording", "command", "end"],
            "{args:?}: {found:#?}"
        );
        assert_eq!(found[0]["rec"], rec);
        assert_eq!(found[1]["argv"], serde_json::json!(argv));
        assert_eq!(found[1]["n"], number_of(argv), "numbered as commands does");
        let want = commands
            .iter()
            .find(|c| c["n"] == found[1]["n"] && c["type"] == "command")
            .expect("the same command");
        assert_eq!(&found[1], want, "commands --json's object");
    }
    let out = search(&["--ran", "tr a-z"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let n = number_of(&["tr", "a-z", "A-Z"]);
    let line = text
        .lines()
        .find(|l| l.ends_with("  tr a-z A-Z"))
        .unwrap_or_else(|| panic!("a line for tr in {text}"));
    assert!(
        line.contains(&format!("{user}@"))
            && line.contains(rec)
            && line.contains(&format!("  cmd:{n}  ")),
        "{line}"
    );
    let out = search(&["--ran", "no-such-program-ran-here"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
}

/// The status line of the player in tmux: the pane's last row.
/// The pane once the player has drawn it whole: the same in consecutive
/// captures. A capture can catch a redraw halfway (tmux reads the player's
/// output in pieces): a status row read then may name no command yet, and
/// a key sent on that account would go a stop too far.
fn steady(tmux: &crate::keyframes::Tmux) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = tmux.capture();
    let mut same = 0;
    while same < 3 {
        std::thread::sleep(Duration::from_millis(100));
        let now = tmux.capture();
        same = if now == last { same + 1 } else { 0 };
        last = now;
        assert!(
            Instant::now() < deadline,
            "the player never stopped drawing:\n{last}"
        );
    }
    last
}

fn status_row(pane: &str) -> &str {
    pane.lines().last().unwrap_or_default()
}

/// `termtape play` on a terminal (tmux) with the audit records: `c` and
/// `C` go to the next and previous command's moment (the screen shows its
/// typed line, and not yet a later one), and the status line names the
/// command last started, shortened, its control characters shown, not
/// sent.
fn play_goes_from_command_to_command(
    log: &Path,
    rec: &str,
    commands: &[serde_json::Value],
    typed: &[String],
) {
    use crate::keyframes::{play_in_tmux, wait_until};
    termtape_tests::require("tmux");
    let lines: Vec<String> = commands
        .iter()
        .filter(|c| c["type"] == "command")
        .map(|c| {
            c["argv"]
                .as_array()
                .expect("argv")
                .iter()
                .map(|a| a.as_str().expect("text").to_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let total = lines.len();
    let number = |line: &str| {
        1 + lines
            .iter()
            .position(|l| l == line)
            .unwrap_or_else(|| panic!("{line:?} in {lines:?}"))
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let log = log.display().to_string();
    let tmux = play_in_tmux(
        dir.path(),
        &["--audit-log", &log, "--rec", rec],
        Path::new("journal"),
        (120, 40),
    );
    let keys = |keys: &[&str]| tmux.run(&[&["send-keys", "-t", "kf"][..], keys].concat());
    // Paused at the start: no command started yet; the count and the key.
    wait_until(&tmux, "the player", |p| status_row(p).contains("? help"));
    keys(&["Space", "Home"]);
    wait_until(&tmux, "the start, paused", |p| {
        let row = status_row(p);
        row.starts_with(" || 0:00:00.000") && row.contains(&format!("[{total} commands: c]"))
    });
    // `c` (forward) or `C` (back), one key at a time, each waited for,
    // until the status line names command `n` (commands started in the
    // same ms, a pipeline's, are one stop: the last of them is named).
    let go = |key: &str, n: usize, line: &str| -> String {
        let want = format!("[cmd {n}/{total}: {line}]");
        for _ in 0..=total {
            let pane = steady(&tmux);
            let before = status_row(&pane).to_owned();
            if before.contains(&want) {
                return pane;
            }
            assert!(
                !before.ends_with("no earlier command") && !before.ends_with("no later command"),
                "{key} went past {want} to {before:?}; the commands: {lines:#?}"
            );
            keys(&[key]);
            wait_until(&tmux, &format!("a move by {key} from {before:?}"), |p| {
                status_row(p) != before
            });
        }
        panic!("{key} never reached {want}:\n{}", tmux.capture());
    };
    let cat = number("cat /etc/hostname");
    // Cat's moment: its typed line is on screen, sudo's not yet.
    let pane = go("c", cat, "cat /etc/hostname");
    assert!(
        pane.contains(&typed[0]) && !pane.contains(&typed[3]),
        "{pane}"
    );
    let pane = go("c", number("sudo -n true"), "sudo -n true");
    assert!(pane.contains(&typed[3]), "{pane}");
    // The echo's escape sequences: shown, not obeyed.
    go(
        "c",
        number("/bin/echo \u{1b}[31mred\u{1b}[0m"),
        r"/bin/echo '\e[31mred\e[0m'",
    );
    // Back to the touch: its long line shortened.
    let touch = lines
        .iter()
        .find(|l| l.starts_with("touch "))
        .expect("touch");
    let shown: String = if touch.chars().count() > 32 {
        format!("{}…", touch.chars().take(31).collect::<String>())
    } else {
        touch.clone()
    };
    go("C", number(touch), &shown);
    // Back to cat's: the screen goes back in time.
    let pane = go("C", cat, "cat /etc/hostname");
    assert!(!pane.contains(&typed[3]), "{pane}");
    keys(&["q"]);
    wait_until(&tmux, "the player's end", |p| p.contains("played 0"));
}

/// A recording made without an audit session, and one in an audit session
/// with no audit records: both still play, and `termtape commands` says why
/// it lists nothing (exit 1).
#[test]
fn without_audit_commands_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("audit.log");
    std::fs::write(&empty, "").expect("write");
    let rec = |name: &str, loginuid: Option<&str>| {
        let log = dir.path().join(name);
        let script = format!(
            "{}exec {} rec -o {} -- echo played-{name}",
            loginuid
                .map(|u| format!("echo {u} > /proc/self/loginuid && "))
                .unwrap_or_default(),
            bin("termtape").display(),
            log.display()
        );
        run_ok(
            Command::new("setsid")
                .args(["sh", "-c", &script])
                .stdin(Stdio::null()),
        );
        log
    };
    // A fresh process of init's has no audit session; one that writes its
    // login uid gets one.
    let unset = std::fs::read_to_string("/proc/self/sessionid").expect("sessionid");
    let cases: Vec<(PathBuf, &str)> = if unset.trim() == "4294967295" {
        vec![
            (rec("none.log", None), "no audit session"),
            (rec("quiet.log", Some("1000")), "no audit record of session"),
        ]
    } else {
        vec![(rec("quiet.log", Some("1000")), "no audit record of session")]
    };
    for (log, why) in cases {
        let shown = run_ok(Command::new(bin("termtape")).arg("screen").arg(&log));
        assert!(contains(&shown, "played-"), "it plays");
        let out = Command::new(bin("termtape"))
            .args(["commands", "--audit-log"])
            .arg(&empty)
            .arg(&log)
            .output()
            .expect("termtape commands");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains(why), "{why} in {text}");
        let json = json_of(
            &Command::new(bin("termtape"))
                .args(["commands", "--json", "--audit-log"])
                .arg(&empty)
                .arg(&log)
                .output()
                .expect("termtape commands")
                .stdout,
        );
        assert!(
            json[0]["why"].as_str().is_some_and(|w| w.contains(why)),
            "{json:?}"
        );
        // The player plays it as before: nothing of commands on its status
        // line; `c` says why there is none to go to.
        {
            use crate::keyframes::{play_in_tmux, wait_until};
            termtape_tests::require("tmux");
            let tmux_dir = tempfile::tempdir().expect("tempdir");
            let empty = empty.display().to_string();
            let tmux = play_in_tmux(tmux_dir.path(), &["--audit-log", &empty], &log, (100, 30));
            let pane = wait_until(&tmux, "the played recording", |p| {
                p.contains("played-") && status_row(p).contains("? help")
            });
            assert!(!status_row(&pane).contains("cmd"), "{pane}");
            assert!(!status_row(&pane).contains("command"), "{pane}");
            tmux.run(&["send-keys", "-t", "kf", "c"]);
            wait_until(&tmux, "why there are no commands", |p| {
                let row = status_row(p);
                row.contains("no commands to go to: ") && row.contains(why)
            });
            tmux.run(&["send-keys", "-t", "kf", "q"]);
            wait_until(&tmux, "the player's end", |p| p.contains("played 0"));
        }
        // search --ran has nothing to look in, and says so.
        let out = Command::new(bin("termtape"))
            .args(["search", "--ran", "echo", "--audit-log"])
            .arg(&empty)
            .arg(&log)
            .output()
            .expect("termtape search");
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr)
                .contains("1 of 1 recording(s) have no commands from audit to search"),
            "{out:?}"
        );
    }
}
