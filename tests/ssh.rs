//! Real SSH logins, the deployment: Debian's sshd started by the test on
//! 127.0.0.1 with its own configuration, host key and port (stopped by
//! PID), a user whose login shell is termtape-session logging in with a key
//! the test made, audited by a real auditd (tests/audit.rs). The recording
//! names the remote address, the terminal and the audit session that
//! sshd's pam_loginuid opened; `termtape commands` lists what ran in it, as
//! `ausearch --session N -i` does.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use termtape_tests::{bin, journal_sync, require, run_ok};

use crate::audit::{Auditd, attempt_names, commands_match_ausearch, file_events, json_lines};

/// An sshd of the test's own on 127.0.0.1, and a client key it accepts for
/// every user it lets in.
struct Sshd {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Sshd {
    fn start(user: &str) -> Sshd {
        require("/usr/sbin/sshd");
        require("ssh");
        require("ssh-keygen");
        let dir = tempfile::tempdir().expect("tempdir");
        // sshd reads the authorized keys as the user.
        run_ok(Command::new("chmod").arg("755").arg(dir.path()));
        let key = |name: &str| {
            run_ok(
                Command::new("ssh-keygen")
                    .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
                    .arg(dir.path().join(name)),
            );
        };
        key("host_key");
        key("client_key");
        std::fs::copy(
            dir.path().join("client_key.pub"),
            dir.path().join("authorized_keys"),
        )
        .expect("authorized_keys");
        // A port free a moment ago (sshd says if it is taken since).
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let d = dir.path().display();
        std::fs::write(
            dir.path().join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\n\
                 PidFile {d}/sshd.pid\nAuthorizedKeysFile {d}/authorized_keys\n\
                 StrictModes no\nUsePAM yes\nPubkeyAuthentication yes\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 AllowUsers {user}\nPrintMotd no\nPrintLastLog no\nLogLevel VERBOSE\n"
            ),
        )
        .expect("sshd_config");
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(dir.path().join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("sshd.err")).expect("sshd.err"))
            .spawn()
            .expect("sshd");
        let mut sshd = Sshd { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let ended = sshd.child.try_wait().expect("sshd").is_some();
            assert!(
                !ended && Instant::now() < deadline,
                "sshd did not listen on {port}: {}",
                sshd.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        sshd
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.err")).unwrap_or_default()
    }

    /// `ssh` to `user`@127.0.0.1 with the test's key, and `args` after.
    fn ssh(&self, user: &str, args: &[&str]) -> Command {
        let d = self.dir.path();
        let mut cmd = Command::new("ssh");
        cmd.arg("-i")
            .arg(d.join("client_key"))
            .args(["-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"])
            .args(["-o", "StrictHostKeyChecking=no", "-o"])
            .arg(format!(
                "UserKnownHostsFile={}",
                d.join("known_hosts").display()
            ))
            .args(["-o", "LogLevel=ERROR", "-p", &self.port.to_string()])
            .arg(format!("{user}@127.0.0.1"))
            .args(args);
        cmd
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // Stopped by the pid of the daemon started here, never by name.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Sets a numbered prompt, then types `lines` on a login's terminal, each
/// at the shell's prompt after the one before is done, a moment after the
/// prompt as a person would (so the screen at a command's start shows its
/// line, not the next); what the terminal showed, without carriage returns.
fn type_at_prompts(
    master: &mut std::fs::File,
    screen: &mut termtape_tests::pty::Reader,
    lines: &[String],
) -> String {
    // `\#` is the command's number: each prompt differs from the last.
    let set = r"PS1='[p\#]\$ '".to_owned();
    for line in std::iter::once(&set).chain(lines) {
        std::thread::sleep(Duration::from_millis(300));
        let from = screen.seen.len();
        master
            .write_all(format!("{line}\n").as_bytes())
            .expect("type");
        let prompted = |seen: &[u8]| {
            seen[from..]
                .windows(3)
                .any(|w| w[..2] == *b"[p" && w[2].is_ascii_digit())
        };
        let seen = screen.until(Duration::from_secs(60), prompted);
        assert!(
            prompted(seen),
            "no prompt after {line:?}:\n{}",
            String::from_utf8_lossy(&seen[from..])
        );
    }
    String::from_utf8_lossy(&screen.seen).replace('\r', "")
}

/// The session's audit events of a type, as `ausearch -i` shows them.
fn ausearch_type(log: &Path, ses: u64, kind: &str) -> String {
    let out = Command::new("ausearch")
        .arg("-if")
        .arg(log)
        .args(["--session", &ses.to_string(), "-m", kind])
        .output()
        .expect("ausearch");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An interactive SSH login (`ssh -tt` on a terminal) and a command over
/// SSH (`ssh user cmd`) of a user whose shell is termtape-session: each is
/// recorded with the remote address (127.0.0.1) and its audit session,
/// the one sshd's PAM opened (its USER_START record, from sshd, for
/// 127.0.0.1); `termtape commands` lists exactly what `ausearch --session
/// N -i` shows, with the commands typed.
#[test]
fn ssh_logins_are_recorded_with_their_address_and_audit_session() {
    let auditd = Auditd::start();
    let user = crate::session::user("ttssh1");
    let sshd = Sshd::start(user);
    let mut attempt = 0;
    let (since, inner_ses, tty, file, typed) = loop {
        attempt += 1;
        let (since, marker) = attempt_names("ssh", attempt);
        auditd.enable();
        // Interactive, on a terminal of the test's.
        let pty = termtape_tests::pty::Pair::open();
        let mut ssh = sshd
            .ssh(user, &["-tt"])
            .stdin(pty.slave())
            .stdout(pty.slave())
            .stderr(pty.slave())
            .spawn()
            .expect("ssh");
        let mut master = std::fs::File::from(pty.master.try_clone().expect("dup master"));
        let mut screen = pty.reader();
        screen.until(Duration::from_secs(30), |seen| {
            contains(seen, "being recorded")
        });
        let file = auditd.watched().join(format!("f-{marker}"));
        let typed = [
            "cat /etc/hostname".to_owned(),
            format!("touch {}", file.display()),
            "sudo -n true; echo sudo=$?".to_owned(),
            "/bin/ls / | wc -l".to_owned(),
            format!("echo ses=$(cat /proc/self/sessionid) tty=$(tty) -$((6*7))-{marker}"),
        ];
        let text = type_at_prompts(&mut master, &mut screen, &typed);
        let (ses, tty) = text
            .split("ses=")
            .filter_map(|s| s.split_once(&format!(" -42-{marker}")))
            .filter_map(|(s, _)| s.split_once(" tty="))
            .find_map(|(n, tty)| Some((n.parse::<u64>().ok()?, tty.to_owned())))
            .unwrap_or_else(|| panic!("the session id in {text}\nsshd: {}", sshd.log()));
        assert!(
            text.contains("sudo=1"),
            "sudo -n fails for the user: {text}"
        );
        master.write_all(b"exit\n").expect("type");
        let status = ssh.wait().expect("ssh");
        assert!(status.success(), "ssh -tt: {status}\n{}", sshd.log());
        // A command over SSH, without a terminal.
        let out = sshd
            .ssh(user, &[&format!("cat /etc/hostname; echo nontty-{marker}")])
            .stdin(Stdio::null())
            .output()
            .expect("ssh");
        assert!(
            contains(&out.stdout, &format!("nontty-{marker}")),
            "{out:?}\n{}",
            sshd.log()
        );
        auditd.all_logged(&marker);
        if auditd.never_off() {
            break (since, ses, tty, file, typed);
        }
        assert!(
            attempt < 3,
            "kernel auditing was turned off during each of 3 logins"
        );
    };
    assert!(inner_ses != u64::from(u32::MAX), "an audit session");

    // The audit session is the SSH login's: sshd's PAM started it, for
    // 127.0.0.1.
    let started = ausearch_type(&auditd.log(), inner_ses, "USER_START");
    assert!(
        started.contains("exe=\"/usr/sbin/sshd\"")
            && started.contains("addr=127.0.0.1")
            && started.contains(&format!("acct=\"{user}\"")),
        "USER_START of session {inner_ses}:\n{started}"
    );

    assert!(journal_sync());
    let listed = json_lines(Command::new(bin("termtape")).args([
        "ls", "--json", "--lax", "--since", &since, "--user", user, "journal",
    ]));
    assert_eq!(listed.len(), 2, "{listed:#?}");
    let tty_login = listed
        .iter()
        .find(|r| r["audit_session"] == inner_ses)
        .unwrap_or_else(|| panic!("session {inner_ses} in {listed:#?}"));
    assert_eq!(tty_login["remote"], "127.0.0.1", "{tty_login}");
    // The shell's terminal is the recording's own; the login's is the one
    // sshd opened (utmp, which sshd wrote, names the address).
    assert_eq!(tty_login["pty"], tty.as_str(), "{tty_login}");
    assert_eq!(tty_login["remote_from"], "utmp", "{tty_login}");
    let login_tty = tty_login["tty"].as_str().expect("the login's terminal");
    let line = login_tty.strip_prefix("/dev/").expect("a device");
    assert!(
        sshd.log().contains(&format!(
            "Starting session: shell on {line} for {user} from 127.0.0.1"
        )),
        "sshd's log names {line}:\n{}",
        sshd.log()
    );
    let rec = tty_login["rec"].as_str().expect("rec");
    let commands = commands_match_ausearch(&auditd.log(), rec, inner_ses);
    // Each typed line's programs, each listed, at a moment whose screen
    // shows that line and not yet the next one (typed at the next prompt).
    let file_text = file.display().to_string();
    let programs: [Vec<Vec<&str>>; 5] = [
        vec![vec!["cat", "/etc/hostname"]],
        vec![vec!["touch", &file_text]],
        vec![vec!["sudo", "-n", "true"]],
        vec![vec!["/bin/ls", "/"], vec!["wc", "-l"]],
        vec![vec!["cat", "/proc/self/sessionid"], vec!["tty"]],
    ];
    for (i, argvs) in programs.iter().enumerate() {
        for argv in argvs {
            let c = commands
                .iter()
                .find(|c| c["type"] == "command" && c["argv"] == serde_json::json!(argv))
                .unwrap_or_else(|| panic!("{argv:?} in {commands:#?}"));
            let n = c["n"].as_u64().expect("n").to_string();
            let shown = run_ok(
                Command::new(bin("termtape"))
                    .args(["screen", "--at", &format!("cmd:{n}"), "--audit-log"])
                    .arg(auditd.log())
                    .args(["--rec", rec, "journal"]),
            );
            let line = &typed[i];
            assert!(
                contains(&shown, line) && typed.get(i + 1).is_none_or(|l| !contains(&shown, l)),
                "the screen at cmd:{n} ({c}) shows {line:?} as the last line typed ({}):\n{}",
                commands[0],
                String::from_utf8_lossy(&shown)
            );
        }
    }
    let sudo = commands
        .iter()
        .find(|c| c["argv"] == serde_json::json!(["sudo", "-n", "true"]))
        .expect("sudo");
    assert_eq!(sudo["euid"], 0, "sudo runs setuid root");
    // `sudo -n` exits 1; its execve succeeded.
    assert_eq!(sudo["success"], true, "{sudo}");

    // The watched directory: the file the user created there.
    let created = file_events(&auditd.log(), rec, &file_text);
    assert_eq!(created[0]["success"], true, "{}", created[0]);

    // The command over SSH: its own recording and audit session, from the
    // same address (no terminal: sshd's environment names it).
    let other = listed
        .iter()
        .find(|r| r["audit_session"] != inner_ses)
        .expect("the command's recording");
    assert_eq!(other["remote"], "127.0.0.1", "{other}");
    assert_eq!(other["remote_from"], "env", "{other}");
    let ses = other["audit_session"].as_u64().expect("an audit session");
    let rec = other["rec"].as_str().expect("rec");
    let commands = commands_match_ausearch(&auditd.log(), rec, ses);
    assert!(
        commands
            .iter()
            .any(|c| c["argv"] == serde_json::json!(["cat", "/etc/hostname"])),
        "{} objects: {commands:?}\n{other}",
        commands.len()
    );
    let started = ausearch_type(&auditd.log(), ses, "USER_START");
    assert!(
        started.contains("exe=\"/usr/sbin/sshd\"") && started.contains("addr=127.0.0.1"),
        "{started}"
    );
    drop(sshd);
}
