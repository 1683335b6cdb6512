//! Input logging with redaction, end to end: a recorded shell
//! (`termtape-rec --log-input`) on a real terminal goes through real
//! password prompts — bash's `read -s`, `su`, `sudo`, `passwd`, `ssh` to a
//! local sshd — and the passwords are in no writer's output (the file, the
//! journal, syslog, the originals of a legacy-charset session: every byte
//! of each is searched), while the commands around them are recorded and
//! each prompt's keys are marked with their count.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use termtape_tests::{bin, journal_sync, journald, pty, require, run_ok};

const USER: &str = "ttred1";
const OTHER: &str = "ttred2";

/// The passwords, distinct per test run.
struct Passwords {
    user: String,
    other: String,
    new: String,
}

fn passwords() -> Passwords {
    let pid = std::process::id();
    Passwords {
        user: format!("Kq7-{pid}-Zr1"),
        other: format!("Jh4-{pid}-Vw2x"),
        new: format!("Wm3+{pid}+Yt9xv"),
    }
}

/// Creates the users (once), sets their passwords and lets USER run sudo.
fn users(p: &Passwords) {
    require("useradd");
    require("chpasswd");
    require("sudo");
    for name in [USER, OTHER] {
        let exists = Command::new("getent")
            .args(["passwd", name])
            .output()
            .expect("getent")
            .status
            .success();
        if !exists {
            run_ok(Command::new("useradd").args(["--create-home", "--shell", "/bin/bash", name]));
        }
    }
    let mut chpasswd = Command::new("chpasswd")
        .stdin(Stdio::piped())
        .spawn()
        .expect("chpasswd");
    chpasswd
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{USER}:{}\n{OTHER}:{}\n", p.user, p.other).as_bytes())
        .expect("chpasswd input");
    assert!(chpasswd.wait().expect("chpasswd").success());
    let rule = Path::new("/etc/sudoers.d/termtape-test-redaction");
    std::fs::write(rule, format!("{USER} ALL=(ALL) ALL\n")).expect("sudoers rule");
    run_ok(Command::new("chmod").arg("0440").arg(rule));
}

/// A local sshd with password logins, stopped (by its pid) when dropped.
struct Sshd {
    child: Child,
    port: u16,
}

impl Sshd {
    fn start() -> Sshd {
        require("ssh");
        assert!(
            Path::new("/usr/sbin/sshd").exists(),
            "sshd is missing: scripts/setup installs openssh-server"
        );
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
        run_ok(Command::new("ssh-keygen").arg("-A"));
        let port = 20_000 + (std::process::id() % 20_000) as u16;
        let sshd = Sshd {
            child: Command::new("/usr/sbin/sshd")
                .args(["-D", "-e", "-p", &port.to_string()])
                .args(["-o", "ListenAddress=127.0.0.1"])
                .args(["-o", "PasswordAuthentication=yes"])
                .args(["-o", "KbdInteractiveAuthentication=no"])
                .args(["-o", "UsePAM=yes"])
                .args(["-o", "PidFile=none"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("sshd"),
            port,
        };
        // Listening once a connection is taken.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return sshd;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // (Dropping it stops it.)
        panic!("sshd does not listen on {port}");
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A recorder stopped (by its pid) if the test fails before it ends.
struct Stop(Child);

impl Drop for Stop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The end of bash's default prompt (`bash-5.2$ `).
const PROMPT: &str = "$ ";

/// Types a line that ends at the shell's next prompt, having shown `wait`.
fn command(master: &mut std::fs::File, screen: &mut pty::Reader, keys: &str, wait: &str) {
    let prompts = count(&screen.seen, PROMPT);
    type_then(master, screen, keys, wait);
    let seen = screen.until(Duration::from_secs(60), |s| count(s, PROMPT) > prompts);
    assert!(
        count(seen, PROMPT) > prompts,
        "no prompt after {keys:?}: {}",
        String::from_utf8_lossy(seen)
    );
}

fn count(haystack: &[u8], needle: &str) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle.as_bytes())
        .count()
}

/// Types `keys` and waits until `wait` shows once more than before.
fn type_then(master: &mut std::fs::File, screen: &mut pty::Reader, keys: &str, wait: &str) {
    let before = count(&screen.seen, wait);
    master.write_all(keys.as_bytes()).expect("type");
    let seen = screen.until(Duration::from_secs(60), |s| count(s, wait) > before);
    assert!(
        count(seen, wait) > before,
        "{wait:?} did not show after {keys:?}: {}",
        String::from_utf8_lossy(seen)
    );
}

/// Runs the recorded session with `writer` (termtape-rec's flags), going
/// through every prompt; returns what the terminal showed.
fn session(writer: &[&str], p: &Passwords, sshd: &Sshd) -> String {
    let pair = pty::Pair::open();
    let mut rec = Stop(
        Command::new(bin("termtape-rec"))
            .args(writer)
            .arg("--log-input")
            // setpriv execs the shell as USER in place: it keeps the
            // recording's terminal as its controlling terminal (su -c would
            // not), which sudo needs.
            .args([
                "--",
                "setpriv",
                "--reuid",
                USER,
                "--regid",
                USER,
                "--init-groups",
            ])
            .args(["--reset-env", "bash", "--norc", "--noprofile", "-i"])
            .env("TERM", "xterm")
            .stdin(pair.slave())
            .stdout(pair.slave())
            .stderr(pair.slave())
            .spawn()
            .expect("termtape-rec"),
    );
    let mut master = std::fs::File::from(pair.master.try_clone().expect("dup master"));
    let mut screen = pair.reader();
    drop(pair);
    let s = &mut screen;
    let m = &mut master;
    // Each command waits for the shell's prompt: what is typed ahead of
    // it may be flushed by the program before (sudo does).
    s.until(Duration::from_secs(60), |seen| count(seen, PROMPT) > 0);
    command(m, s, "echo before-$((1+1))\r", "before-2");
    // Markers and prompts never show in the typed command itself.
    type_then(
        m,
        s,
        "read -s -p \"s${x}ecret: \" x; echo got-${#x}\r",
        "secret: ",
    );
    command(m, s, &format!("{}\r", p.user), "got-");
    type_then(
        m,
        s,
        &format!("su - {OTHER} -c 'echo su-$((3+4))'\r"),
        "Password: ",
    );
    command(m, s, &format!("{}\r", p.other), "su-7");
    type_then(
        m,
        s,
        "sudo -k -p '%p-pw: ' echo sudo-$((5+6))\r",
        "ttred1-pw: ",
    );
    command(m, s, &format!("{}\r", p.user), "sudo-11");
    type_then(
        m,
        s,
        &format!(
            "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
             -o PubkeyAuthentication=no -p {} {OTHER}@127.0.0.1 echo ssh-$((8+9))\r",
            sshd.port
        ),
        "password:",
    );
    command(m, s, &format!("{}\r", p.other), "ssh-17");
    type_then(m, s, "passwd\r", "urrent password:");
    type_then(m, s, &format!("{}\r", p.user), "ew password:");
    type_then(m, s, &format!("{}\r", p.new), "etype new password:");
    command(m, s, &format!("{}\r", p.new), "successfully");
    type_then(m, s, "echo after-$((9+9)); exit\r", "after-18");
    let status = rec.0.wait().expect("termtape-rec");
    let seen = String::from_utf8_lossy(&screen.seen).into_owned();
    assert!(status.success(), "{status:?}: {seen}");
    seen
}

/// Every password, searched for in `bytes` from `what`.
fn assert_none_in(bytes: &[u8], p: &Passwords, what: &str) {
    for pw in [&p.user, &p.other, &p.new] {
        assert_eq!(count(bytes, pw), 0, "{pw} is in {what}");
    }
}

/// What `termtape` prints for `args`.
fn termtape(args: &[&str]) -> String {
    String::from_utf8_lossy(&run_ok(Command::new(bin("termtape")).args(args))).into_owned()
}

/// The journal since `since` (seconds since the epoch), every field of
/// every entry, as journalctl writes it.
fn journal_since(since: u64) -> Vec<u8> {
    assert!(journal_sync());
    run_ok(Command::new("journalctl").args([
        "--all",
        "-o",
        "json",
        "--since",
        &format!("@{since}"),
    ]))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

#[test]
fn passwords_typed_at_real_prompts_are_in_no_writers_output() {
    journald();
    let p = passwords();
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = |pw: &str| format!("«{} keys redacted»", pw.len() + 1);

    // The file writer: the file holds no password; the commands and one
    // mark per prompt are in the input.
    users(&p);
    let log = dir.path().join("utf8.log");
    let shown = session(&["-o", log.to_str().expect("UTF-8 path")], &p, &sshd);
    let file = std::fs::read(&log).expect("the recording");
    assert_none_in(&file, &p, "the file");
    let typed = termtape(&["cat", "--input", log.to_str().expect("UTF-8 path")]);
    assert_none_in(typed.as_bytes(), &p, "cat --input");
    for command in [
        "echo before-$((1+1))\r",
        "read -s -p \"s${x}ecret: \" x; echo got-${#x}\r",
        &format!("su - {OTHER} -c 'echo su-$((3+4))'\r"),
        "sudo -k -p '%p-pw: ' echo sudo-$((5+6))\r",
        "@127.0.0.1 echo ssh-$((8+9))\r",
        "passwd\r",
        "echo after-$((9+9)); exit\r",
    ] {
        assert!(
            typed.contains(command),
            "{command:?} is recorded: {typed:?}"
        );
    }
    // read -s, sudo and passwd's current password; su and ssh; passwd's
    // new password twice.
    assert_eq!(typed.matches(&keys(&p.user)).count(), 3, "{typed:?}");
    assert_eq!(typed.matches(&keys(&p.other)).count(), 2, "{typed:?}");
    assert_eq!(typed.matches(&keys(&p.new)).count(), 2, "{typed:?}");
    // In order: the mark after the command that asked.
    let su = typed.find("su - ").expect("su");
    assert!(typed[su..].find(&keys(&p.other)).is_some(), "{typed:?}");
    let found = termtape(&[
        "search",
        "--input",
        "redacted",
        log.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(found.lines().count(), 7, "{found}");
    assert!(found.contains(&keys(&p.other)), "{found}");
    // The events stream (what a web player reads) has the seven marks and
    // their counts, and no password.
    let events = termtape(&["events", log.to_str().expect("UTF-8 path")]);
    assert_none_in(events.as_bytes(), &p, "events");
    let mut counts: Vec<u64> = events
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .filter(|e| e["type"] == "redacted")
        .map(|e| e["keys"].as_u64().expect("keys"))
        .collect();
    counts.sort_unstable();
    let mut want: Vec<u64> = [
        &p.user, &p.user, &p.user, &p.other, &p.other, &p.new, &p.new,
    ]
    .iter()
    .map(|pw| pw.len() as u64 + 1)
    .collect();
    want.sort_unstable();
    assert_eq!(counts, want, "{events}");
    assert!(shown.contains("got-") && shown.contains("su-7"), "{shown}");

    // A legacy charset: neither the text nor the originals hold it.
    users(&p);
    let legacy = dir.path().join("koi8.log");
    session(
        &[
            "-o",
            legacy.to_str().expect("UTF-8 path"),
            "--charset",
            "KOI8-R",
        ],
        &p,
        &sshd,
    );
    assert_none_in(
        &std::fs::read(&legacy).expect("recording"),
        &p,
        "the KOI8-R file",
    );
    let original = run_ok(Command::new(bin("termtape")).args([
        "cat",
        "--input",
        "--original",
        legacy.to_str().expect("UTF-8 path"),
    ]));
    assert_none_in(&original, &p, "the KOI8-R originals");
    assert_eq!(count(&original, &keys(&p.other)), 2);

    // The journal and syslog writers: every field of every entry since.
    for writer in ["journal", "syslog"] {
        users(&p);
        let since = now().saturating_sub(1);
        session(&["-w", writer], &p, &sshd);
        let journal = journal_since(since);
        assert_none_in(&journal, &p, &format!("the journal ({writer} writer)"));
        // The recording is there (the commands), with its marks: a field
        // of their own from the journal writer, in the message from syslog.
        assert!(count(&journal, &format!("su - {OTHER}")) >= 1, "{writer}");
        let field = match writer {
            "journal" => "TERMTAPE_X_REDACTED",
            _ => "\\\"redacted\\\":",
        };
        assert!(
            count(&journal, field) >= 1,
            "{writer}: the marks are in the journal"
        );
        // The journal reader puts the marks back: search finds each.
        if writer == "journal" {
            let found = termtape(&[
                "search",
                "--input",
                "--lax",
                "--since",
                &since.to_string(),
                "keys redacted",
                "journal",
            ]);
            assert_eq!(found.lines().count(), 7, "{found}");
        }
        // (Syslog entries may also hold the raw datagram, SYSLOG_RAW.)
        assert!(
            count(&journal, "\\\"keys\\\":") >= 7,
            "{writer}: every mark"
        );
    }
}

/// Input logged with redaction turned off says so in the recording, and
/// every reader of its input warns that passwords may be in it.
#[test]
fn input_logged_without_redaction_is_said_by_its_readers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("unredacted.log");
    let mut rec = Command::new(bin("termtape-rec"))
        .arg("-o")
        .arg(&log)
        .args(["--log-input", "--input-redaction", "none", "--"])
        .args(["sh", "-c", "read line; echo got-$line"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("termtape-rec");
    rec.stdin
        .take()
        .expect("stdin")
        .write_all(b"typed-words\n")
        .expect("type");
    assert!(rec.wait().expect("wait").success());
    let text = std::fs::read_to_string(&log).expect("log");
    let first = text.lines().next().expect("a message");
    assert!(first.contains(r#""input_redaction":"none""#), "{first}");
    for args in [
        &["cat", "--input"][..],
        &["search", "--input", "typed-words"],
    ] {
        let out = Command::new(bin("termtape"))
            .args(args)
            .arg(&log)
            .output()
            .expect("termtape");
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("typed-words"),
            "{args:?}"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("logged its input without redaction"),
            "{args:?}: {err}"
        );
    }
    // Output alone says nothing of it.
    let out = Command::new(bin("termtape"))
        .arg("cat")
        .arg(&log)
        .output()
        .expect("termtape");
    assert!(String::from_utf8_lossy(&out.stderr).is_empty());
}
