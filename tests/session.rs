//! termtape-session as a real user's login shell, installed setuid/setgid as
//! in production: logins through `su` (a command, and an interactive one on
//! a terminal) land in the journal with the right user, host and output; the
//! shell gets exactly the user's ids, groups and descriptors; the user can
//! neither signal the recorder nor write its output.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use termtape_tests::{bin, journal_sync, journald, require, run_ok, tlog_play_journal};

/// The installed copy of termtape-session and the test users, set up once.
pub(crate) struct Setup {
    pub(crate) session: PathBuf,
}

pub(crate) fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        require("su");
        require("useradd");
        journald();
        // A copy outside target/ (so rebuilding does not undo the install),
        // in a directory every user can traverse.
        let dir = Path::new("/usr/local/libexec/termtape-test");
        std::fs::create_dir_all(dir).expect("creating the install directory");
        let session = dir.join("termtape-session");
        let tmp = dir.join(format!("termtape-session.{}", std::process::id()));
        std::fs::copy(bin("termtape-session"), &tmp).expect("copying termtape-session");
        std::fs::rename(&tmp, &session).expect("installing termtape-session");
        run_ok(Command::new(&session).arg("--install"));
        Setup { session }
    })
}

/// Creates a user (once per name) and makes termtape-session their shell
/// with `users enable`.
pub(crate) fn user(name: &str) -> &'static str {
    let setup = setup();
    let exists = Command::new("getent")
        .args(["passwd", name])
        .output()
        .expect("getent")
        .status
        .success();
    if !exists {
        run_ok(Command::new("useradd").args(["--create-home", "--shell", "/bin/bash", name]));
    }
    run_ok(Command::new(&setup.session).args(["users", "enable", name]));
    Box::leak(name.to_owned().into_boxed_str())
}

/// The journal's recordings of `user`: (recording id, output bytes).
pub(crate) fn recordings_of(user: &str) -> Vec<(String, Vec<u8>)> {
    assert!(journal_sync());
    termtape_tests::listing(&["--lax", "--user", user, "journal"])
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .map(|rec| {
            let out = run_ok(Command::new(bin("termtape")).args(["cat", "journal", "--rec", rec]));
            (rec.to_owned(), out)
        })
        .collect()
}

pub(crate) fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn su_with_a_command_is_recorded_to_the_journal() {
    let user = user("ttsess1");
    let marker = format!("marker-{}", std::process::id());
    let done = Command::new("su")
        .args(["-", user, "-c", &format!("echo {marker}; hostname")])
        .stdin(Stdio::null())
        .output()
        .expect("su");
    assert!(done.status.success());
    let text = String::from_utf8_lossy(&done.stdout);
    assert!(
        text.contains(&marker),
        "the user saw the command's output: {text}"
    );
    let notice = String::from_utf8_lossy(&done.stderr);
    assert!(
        notice.contains("ATTENTION! Your session is being recorded!"),
        "the notice: {notice}"
    );
    let recs = recordings_of(user);
    let (rec, output) = recs
        .iter()
        .find(|(_, o)| contains(o, &marker))
        .expect("a recording holds the marker");
    // The journal entries name the user and the host; tlog-play reads them.
    let json = run_ok(Command::new("journalctl").args(["-o", "json", &format!("TLOG_REC={rec}")]));
    let host = String::from_utf8_lossy(&run_ok(&mut Command::new("hostname")))
        .trim()
        .to_owned();
    for line in String::from_utf8_lossy(&json).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        assert_eq!(v["TLOG_USER"], user);
        let message = v["MESSAGE"].as_str().expect("MESSAGE is not null");
        let m: serde_json::Value =
            serde_json::from_str(message).expect("MESSAGE is a tlog message");
        assert_eq!(m["user"], user);
        assert!(
            m["host"].as_str().is_some_and(|h| h.starts_with(&host)),
            "{} vs {host}",
            m["host"]
        );
    }
    assert!(contains(output, &host));
    let played = tlog_play_journal(rec);
    assert!(
        played.status.success(),
        "{}",
        String::from_utf8_lossy(&played.stderr)
    );
    assert!(
        contains(&played.stdout, &marker),
        "tlog-play plays the session"
    );
}

#[test]
fn interactive_su_on_a_terminal_is_recorded() {
    let user = user("ttsess2");
    let marker = format!("typed-{}", std::process::id());
    let pty = termtape_tests::pty::Pair::open();
    let mut child = Command::new("su")
        .args(["-", user])
        .stdin(pty.slave())
        .stdout(pty.slave())
        .stderr(pty.slave())
        .spawn()
        .expect("su");
    let mut master = std::fs::File::from(pty.master.try_clone().expect("dup master"));
    drop(pty);
    // Type once the shell is up; a login shell reads what is typed early too.
    master
        .write_all(format!("echo {marker}-$((6*7))\nexit 3\n").as_bytes())
        .expect("type");
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
        if contains(&seen, &format!("{marker}-42")) && child.try_wait().expect("wait").is_some() {
            break;
        }
    }
    let status = child.wait().expect("su");
    assert_eq!(
        status.code(),
        Some(3),
        "the shell's exit status comes back through su"
    );
    assert!(
        contains(&seen, &format!("{marker}-42")),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    let recs = recordings_of(user);
    assert!(
        recs.iter()
            .any(|(_, o)| contains(o, &format!("{marker}-42"))),
        "recorded"
    );
}

#[test]
fn the_shell_runs_with_exactly_the_users_ids_groups_and_descriptors() {
    let user = user("ttsess3");
    let want_uid = String::from_utf8_lossy(&run_ok(Command::new("id").args(["-u", user])))
        .trim()
        .to_owned();
    let want_gid = String::from_utf8_lossy(&run_ok(Command::new("id").args(["-g", user])))
        .trim()
        .to_owned();
    let script = "echo uids $(awk '/^Uid:/{print $2,$3,$4,$5}' /proc/self/status); \
                  echo gids $(awk '/^Gid:/{print $2,$3,$4,$5}' /proc/self/status); \
                  echo groups $(id -G); \
                  echo caps $(awk '/^CapEff:/{print $2}' /proc/self/status) $(awk '/^CapPrm:/{print $2}' /proc/self/status); \
                  ls /proc/$$/fd > /tmp/ttfds.$$; echo fds $(sort -n /tmp/ttfds.$$ | tr '\\n' ' '); rm /tmp/ttfds.$$";
    let out = run_ok(
        Command::new("su")
            .args(["-", user, "-c", script])
            .stdin(Stdio::null()),
    );
    let text = String::from_utf8_lossy(&out).replace('\r', "");
    let line = |key: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key} ")))
            .unwrap_or_else(|| panic!("no {key} in {text}"))
            .trim()
            .to_owned()
    };
    assert_eq!(
        line("uids"),
        format!("{want_uid} {want_uid} {want_uid} {want_uid}")
    );
    assert_eq!(
        line("gids"),
        format!("{want_gid} {want_gid} {want_gid} {want_gid}")
    );
    let want_groups = String::from_utf8_lossy(&run_ok(Command::new("id").args(["-G", user])))
        .trim()
        .to_owned();
    assert_eq!(line("groups"), want_groups);
    assert_eq!(line("caps"), "0000000000000000 0000000000000000");
    // Listed by `ls` while the shell waits for it, with no pipe of its own.
    assert_eq!(line("fds"), "0 1 2", "the shell has only its terminal open");
}

#[test]
fn the_user_cannot_signal_the_recorder_or_write_its_output() {
    let user = user("ttsess4");
    // The shell's parent is the recorder.
    let script = "echo recorder-uid $(awk '/^Uid:/{print $2}' /proc/$PPID/status); kill -TERM $PPID && echo KILLED || echo kill-refused; \
                  kill -STOP $PPID 2>/dev/null && echo STOPPED || echo stop-refused; \
                  cat /proc/$PPID/environ >/dev/null 2>&1 && echo READ-ENV || echo environ-refused";
    let out = run_ok(
        Command::new("su")
            .args(["-", user, "-c", script])
            .stdin(Stdio::null()),
    );
    let text = String::from_utf8_lossy(&out);
    let termtape_uid =
        String::from_utf8_lossy(&run_ok(Command::new("id").args(["-u", "termtape"])))
            .trim()
            .to_owned();
    assert!(
        text.contains(&format!("recorder-uid {termtape_uid}")),
        "the recorder runs as termtape: {text}"
    );
    assert!(
        text.contains("kill-refused") && !text.contains("KILLED"),
        "{text}"
    );
    assert!(text.contains("stop-refused"), "{text}");
    assert!(text.contains("environ-refused"), "{text}");
    // The file writer's directory is the recorder's alone.
    let probe = Command::new("su")
        .args([
            "-",
            user,
            "-c",
            "touch /var/log/termtape/forged 2>/dev/null && echo WROTE || echo write-refused",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("su");
    assert!(String::from_utf8_lossy(&probe.stdout).contains("write-refused"));
}

#[test]
fn a_nested_login_is_not_recorded_twice() {
    let setup = setup();
    let user = user("ttsess5");
    let marker = format!("nested-{}", std::process::id());
    let before = recordings_of(user).len();
    let script = format!("{} -c 'echo {marker}'", setup.session.display());
    let out = run_ok(
        Command::new("su")
            .args(["-", user, "-c", &script])
            .stdin(Stdio::null()),
    );
    assert!(contains(&out, &marker));
    let recs = recordings_of(user);
    assert_eq!(
        recs.len(),
        before + 1,
        "one recording for the outer login only"
    );
    assert_eq!(recs.iter().filter(|(_, o)| contains(o, &marker)).count(), 1);
}

#[test]
fn users_disable_gives_back_the_original_shell() {
    let setup = setup();
    let user = user("ttsess6");
    let shell = |u: &str| {
        String::from_utf8_lossy(&run_ok(Command::new("getent").args(["passwd", u])))
            .trim()
            .rsplit(':')
            .next()
            .map(str::to_owned)
    };
    assert_eq!(
        shell(user).as_deref(),
        Some(setup.session.to_str().expect("utf-8"))
    );
    run_ok(Command::new(&setup.session).args(["users", "disable", user]));
    assert_eq!(shell(user).as_deref(), Some("/bin/bash"));
    run_ok(Command::new(&setup.session).args(["users", "enable", user]));
}

/// Owner name and octal mode of a file, as `stat` prints them.
fn owner_and_mode(path: &Path) -> String {
    String::from_utf8_lossy(&run_ok(
        Command::new("stat").args(["-c", "%U %a"]).arg(path),
    ))
    .trim()
    .to_owned()
}

/// Waits up to 10 s for `path` to have `want` as owner and mode.
fn wait_for_owner_and_mode(path: &Path, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = owner_and_mode(path);
        if now == want || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The attack as it was done: `login` makes the user the owner of their
/// terminal; under termtape-session they redirect their shell to it. The
/// terminal is the recorder's for the session, so the redirection is
/// refused and what follows is recorded; the terminal is given back after.
#[test]
fn a_login_cannot_write_around_the_recorder_to_its_terminal() {
    require("login");
    let user = user("ttesc1");
    let pty = termtape_tests::pty::Pair::open();
    let tty = pty.slave_path();
    let marker = format!("esc-{}", std::process::id());
    let (mut login, mut master, mut screen) = log_in(&pty, &["-f", user]);
    let typed = format!(
        "stat -c 'tty-now %U %a' {tty}\nexec >{tty} 2>&1; echo {marker}-$((6*7)); id\n\
         (exec 3<{tty}) 2>/dev/null && echo READ-OPENED || echo read-refused-{marker}\nexit\n",
        tty = tty.display()
    );
    master.write_all(typed.as_bytes()).expect("type");
    let seen = screen
        .until(Duration::from_secs(60), |seen| {
            contains(seen, &format!("read-refused-{marker}")) || contains(seen, "READ-OPENED")
        })
        .to_vec();
    let status = login.wait().expect("login");
    let text = String::from_utf8_lossy(&seen);
    assert!(status.success(), "login: {status:?}: {text}");
    assert!(
        text.contains("tty-now termtape 600"),
        "the terminal is the recorder's during the session: {text}"
    );
    assert!(text.contains("Permission denied"), "{text}");
    assert!(text.contains(&format!("read-refused-{marker}")), "{text}");
    // Everything the user saw after the attempt is in the recording.
    let recs = recordings_of(user);
    let (_, output) = recs
        .iter()
        .find(|(_, o)| contains(o, &format!("{marker}-42")))
        .unwrap_or_else(|| panic!("the output after the attempt is recorded: {text}"));
    assert!(contains(output, "uid="), "id's output is recorded too");
    // login changes the terminal back itself; ours was given back first.
    drop(master);
    let _ = owner_and_mode(&tty);
}

/// Runs `login ARGS` on `pty` as its controlling terminal; returns it, the
/// master to type on and a reader of the screen, once the session has shown
/// its notice (login hangs the terminal up and flushes what was typed
/// before).
pub(crate) fn log_in(
    pty: &termtape_tests::pty::Pair,
    args: &[&str],
) -> (
    std::process::Child,
    std::fs::File,
    termtape_tests::pty::Reader,
) {
    let login = Command::new("setsid")
        .args(["--ctty", "login"])
        .args(args)
        .stdin(pty.slave())
        .stdout(pty.slave())
        .stderr(pty.slave())
        .spawn()
        .expect("login");
    let master = std::fs::File::from(pty.master.try_clone().expect("dup master"));
    let mut screen = pty.reader();
    screen.until(Duration::from_secs(30), |seen| {
        contains(seen, "being recorded")
    });
    std::thread::sleep(Duration::from_millis(500));
    (login, master, screen)
}

/// A process of the user's that opened the terminal before the session
/// started (waiting for the login to appear) loses it: the session hangs
/// the terminal up before the shell starts, and the guard gives the
/// terminal back, owner and mode, when the session ends.
#[test]
fn a_terminal_opened_before_the_session_is_revoked_and_given_back_after() {
    let setup = setup();
    let user = user("ttesc2");
    let pty = termtape_tests::pty::Pair::open();
    let tty = pty.slave_path();
    // As login and sshd leave it.
    run_ok(Command::new("chown").args([user, tty.to_str().expect("utf-8")]));
    run_ok(Command::new("chmod").args(["620", tty.to_str().expect("utf-8")]));
    let dir = tempfile::tempdir().expect("tempdir");
    run_ok(Command::new("chmod").arg("777").arg(dir.path()));
    let go = dir.path().join("go");
    let verdict = dir.path().join("verdict");
    let lurker_script = format!(
        "exec 3>{tty}; while [ ! -e {go} ]; do sleep 0.05; done; \
         if echo LEAK-THROUGH-AN-OLD-DESCRIPTOR >&3; then echo wrote; else echo refused; fi > {verdict}.tmp; \
         mv {verdict}.tmp {verdict}",
        tty = tty.display(),
        go = go.display(),
        verdict = verdict.display()
    );
    let mut lurker = Command::new("setpriv")
        .args(["--reuid", user, "--regid", user, "--init-groups"])
        .args(["bash", "-c", &lurker_script])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("setpriv");
    // Give the lurker time to open the terminal while it is the user's.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !lurker_has_tty(lurker.id(), &tty) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(lurker_has_tty(lurker.id(), &tty), "the lurker opened it");
    let script = format!(
        "stat -c 'tty-now %U %a' {tty}; touch {go}; while [ ! -e {verdict} ]; do sleep 0.05; done; echo session-done",
        tty = tty.display(),
        go = go.display(),
        verdict = verdict.display()
    );
    let mut session = Command::new("setsid")
        .arg("--ctty")
        .args(["setpriv", "--reuid", user, "--regid", user, "--init-groups"])
        .arg(&setup.session)
        .args(["-c", &script])
        .stdin(pty.slave())
        .stdout(pty.slave())
        .stderr(pty.slave())
        .spawn()
        .expect("session");
    let seen = pty
        .reader()
        .until(Duration::from_secs(60), |seen| {
            contains(seen, "session-done")
        })
        .to_vec();
    let text = String::from_utf8_lossy(&seen);
    assert!(session.wait().expect("session").success(), "{text}");
    lurker.wait().expect("lurker");
    assert!(text.contains("tty-now termtape 600"), "{text}");
    assert!(!text.contains("LEAK-THROUGH"), "{text}");
    assert_eq!(
        std::fs::read_to_string(&verdict).expect("verdict").trim(),
        "refused",
        "the descriptor opened before the session no longer reaches the terminal: {text}"
    );
    assert_eq!(
        wait_for_owner_and_mode(&tty, &format!("{user} 620")),
        format!("{user} 620"),
        "the terminal is given back as it was"
    );
}

/// Whether process `pid` has `tty` open.
fn lurker_has_tty(pid: u32, tty: &Path) -> bool {
    // The lurker is bash under setpriv (which execs it), so the pid is it.
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.flatten()
                .any(|e| std::fs::read_link(e.path()).is_ok_and(|t| t == tty))
        })
        .unwrap_or(false)
}

/// The administrator's `[session] shell` wins over the shell the user had
/// and over `$TERMTAPE_SESSION_SHELL` passed through `su`. The system
/// configuration is changed only in a mount namespace of this test's own.
#[test]
fn the_configured_shell_wins_over_the_users_choice() {
    require("unshare");
    let user = user("ttesc3");
    std::fs::create_dir_all("/etc/termtape").expect("/etc/termtape");
    let script = format!(
        "mount -t tmpfs termtape-test /etc/termtape && \
         printf '[session]\\nshell = \"/bin/rbash\"\\n' > /etc/termtape/termtape.toml && \
         TERMTAPE_SESSION_SHELL=/bin/bash su -w TERMTAPE_SESSION_SHELL - {user} \
           -c 'echo shell=$0; shopt -q restricted_shell && echo restricted-yes || echo restricted-no'"
    );
    let out = run_ok(
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null()),
    );
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("shell=-rbash"), "{text}");
    assert!(text.contains("restricted-yes"), "{text}");
}

/// The JSON objects a termtape command prints, one per line.
fn json_lines(args: &[&str]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&run_ok(Command::new(bin("termtape")).args(args)))
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// `su - ttaud1` inside ttaud2's recorded session, as the attack was done,
/// through su's password prompt on a real terminal: the session is
/// recorded once (ttaud2's), and says so. The outer recording marks the
/// nested login with ttaud1's name at the moment it started (after the
/// password prompt, before its output) and its end; `ls` shows it, `search`
/// attributes the nested output to "ttaud2 as ttaud1"; the nested
/// termtape-session leaves a journal entry, sent as the termtape user and
/// not a tlog message, naming the outer recording. ttaud2 trying to add a
/// mark of their own through the recorder's socket is refused.
#[test]
fn a_nested_login_is_marked_in_the_outer_recording_and_noted() {
    require("chpasswd");
    let inner = user("ttaud1");
    let outer = user("ttaud2");
    let password = format!("Pw-{}-nested", std::process::id());
    let mut chpasswd = Command::new("chpasswd")
        .stdin(Stdio::piped())
        .spawn()
        .expect("chpasswd");
    chpasswd
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{inner}:{password}\n").as_bytes())
        .expect("chpasswd input");
    assert!(chpasswd.wait().expect("chpasswd").success());
    let marker = format!("nested-marker-{}", std::process::id());

    let pty = termtape_tests::pty::Pair::open();
    let mut su = Command::new("su")
        .args(["-", outer])
        .stdin(pty.slave())
        .stdout(pty.slave())
        .stderr(pty.slave())
        .spawn()
        .expect("su");
    let mut master = std::fs::File::from(pty.master.try_clone().expect("dup master"));
    let mut screen = pty.reader();
    drop(pty);
    screen.until(Duration::from_secs(30), |seen| {
        contains(seen, "being recorded")
    });
    // The recorded user forges a login through the recorder's socket (the
    // shell's parent is the recorder): refused, nothing is marked.
    // It claims its own uid, so only the check of who is connecting (not
    // of what they claim) refuses it.
    let dir = tempfile::tempdir().expect("tempdir");
    run_ok(Command::new("chmod").arg("755").arg(dir.path()));
    let forger = dir.path().join("forge.py");
    std::fs::write(
        &forger,
        "import os, socket, sys\n\
         s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n\
         s.connect(b'\\0termtape-session/' + sys.argv[1].encode())\n\
         s.settimeout(5)\n\
         req = '{\"user\":\"root\",\"uid\":%d,\"tty\":\"\",\"kind\":\"login\"}\\n' % os.getuid()\n\
         try:\n\
         \x20   s.sendall(req.encode())\n\
         \x20   a = s.recv(1024)\n\
         except OSError:\n\
         \x20   a = b''\n\
         print('forged-answer', len(a))\n",
    )
    .expect("writing the forger");
    run_ok(Command::new("chmod").arg("644").arg(&forger));
    let forge = format!("/usr/bin/python3 {} $PPID\n", forger.display());
    master.write_all(forge.as_bytes()).expect("type");
    screen.until(Duration::from_secs(30), |seen| {
        contains(seen, "forged-answer")
    });
    master
        .write_all(format!("su - {inner} -c 'echo {marker}-$((6*7))'\n").as_bytes())
        .expect("type");
    screen.until(Duration::from_secs(30), |seen| contains(seen, "assword:"));
    master
        .write_all(format!("{password}\n").as_bytes())
        .expect("type the password");
    screen.until(Duration::from_secs(30), |seen| {
        contains(seen, &format!("{marker}-42"))
    });
    master
        .write_all(b"echo back-$((2+3)); exit\n")
        .expect("type");
    let seen = screen
        .until(Duration::from_secs(30), |seen| contains(seen, "back-5"))
        .to_vec();
    let status = su.wait().expect("su");
    let text = String::from_utf8_lossy(&seen);
    assert!(status.success(), "{status:?}: {text}");
    assert!(text.contains("forged-answer 0"), "refused: {text}");
    assert!(text.contains(&format!("{marker}-42")), "{text}");

    // Recorded once, in ttaud2's recording.
    let (rec, _) = recordings_of(outer)
        .into_iter()
        .find(|(_, o)| contains(o, &format!("{marker}-42")))
        .unwrap_or_else(|| panic!("ttaud2's recording holds the nested output: {text}"));
    assert!(
        !recordings_of(inner)
            .iter()
            .any(|(_, o)| contains(o, &format!("{marker}-42"))),
        "not recorded a second time"
    );

    // The mark, through the journal and back: ttaud1, their uid, a login.
    let inner_uid: u64 = String::from_utf8_lossy(&run_ok(Command::new("id").args(["-u", inner])))
        .trim()
        .parse()
        .expect("uid");
    let listed = json_lines(&["ls", "--lax", "--json", "--user", outer, "journal"]);
    let listed = listed
        .iter()
        .find(|r| r["rec"] == rec.as_str())
        .unwrap_or_else(|| panic!("ls --json lists {rec}: {listed:?}"));
    let logins = listed["logins"].as_array().expect("logins");
    assert_eq!(logins.len(), 1, "only the real nested login: {logins:?}");
    assert_eq!(logins[0]["user"], inner);
    assert_eq!(logins[0]["uid"], inner_uid);
    assert_eq!(logins[0]["kind"], "login");
    let login_at = logins[0]["at"].as_u64().expect("at");
    let table = String::from_utf8_lossy(&run_ok(
        Command::new(bin("termtape")).args(["ls", "--lax", "--user", outer, "journal"]),
    ))
    .into_owned();
    assert!(
        table
            .lines()
            .next()
            .is_some_and(|h| h.contains("  NESTED  ")),
        "{table}"
    );
    let row = table
        .lines()
        .find(|l| l.starts_with(rec.as_str()))
        .unwrap_or_else(|| panic!("{rec} listed: {table}"));
    assert!(row.contains(&format!("  {inner}  ")), "{row}");

    // At the right moment: after su asked for the password, before the
    // nested command's output.
    let find = |what: &str| {
        json_lines(&["search", "--lax", "--json", "--rec", &rec, what, "journal"])
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("{what} found"))
    };
    let prompt = find("assword:");
    let output = find(&format!("{marker}-42"));
    assert!(
        prompt["at"].as_u64() <= Some(login_at) && Some(login_at) <= output["at"].as_u64(),
        "prompt {prompt}, login at {login_at}, output {output}; messages: {}",
        String::from_utf8_lossy(&run_ok(Command::new("journalctl").args([
            "-o",
            "cat",
            &format!("TLOG_REC={rec}")
        ])))
    );
    assert_eq!(output["user"], outer);
    assert_eq!(output["as"], inner, "{output}");
    assert_eq!(prompt["as"], serde_json::Value::Null, "{prompt}");
    let said = String::from_utf8_lossy(&run_ok(Command::new(bin("termtape")).args([
        "search",
        "--lax",
        "--rec",
        &rec,
        &format!("{marker}-42"),
        "journal",
    ])))
    .into_owned();
    assert!(said.contains(&format!("{outer} as {inner}@")), "{said}");

    // The nested login's end is marked too, after its output.
    let json = String::from_utf8_lossy(&run_ok(Command::new("journalctl").args([
        "-o",
        "json",
        &format!("TLOG_REC={rec}"),
    ])))
    .into_owned();
    let events: Vec<serde_json::Value> = json
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["TERMTAPE_X_LOGIN"].as_str().map(str::to_owned))
        .flat_map(|f| serde_json::from_str::<Vec<serde_json::Value>>(&f).expect("login field"))
        .collect();
    let end = events
        .iter()
        .find(|e| e["end"] == true)
        .unwrap_or_else(|| panic!("an end is marked: {events:?}"));
    assert_eq!(end["n"], 1);
    assert!(
        end["at"].as_u64() >= output["at"].as_u64(),
        "{end} {output}"
    );

    // The nested session's own entry: from the termtape user, pointing to
    // the outer recording, and no part of any recording.
    let termtape_uid =
        String::from_utf8_lossy(&run_ok(Command::new("id").args(["-u", "termtape"])))
            .trim()
            .to_owned();
    let notes = String::from_utf8_lossy(&run_ok(Command::new("journalctl").args([
        "-o",
        "json",
        "SYSLOG_IDENTIFIER=termtape-session",
        &format!("TERMTAPE_NESTED_IN={rec}"),
    ])))
    .into_owned();
    let notes: Vec<serde_json::Value> = notes
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    let note = &notes[0];
    assert_eq!(note["TERMTAPE_USER"], inner);
    assert_eq!(note["TERMTAPE_OUTER_USER"], outer);
    assert_eq!(note["_UID"], termtape_uid.as_str());
    assert!(note.get("TLOG_REC").is_none(), "{note}");
    let message = note["MESSAGE"].as_str().expect("MESSAGE");
    assert!(
        message.contains(&format!(
            "login of {inner} inside recording {rec} of {outer}"
        )),
        "{message}"
    );
}

/// `users` says what is wrong with a name, lists who is recorded, and has
/// a help of its own (also through `termtape users`).
#[test]
fn users_names_missing_users_lists_the_recorded_and_helps() {
    let setup = setup();
    let user = user("ttesc4");
    // Remembered afresh, whatever an earlier run left.
    run_ok(Command::new(&setup.session).args(["users", "disable", user]));
    run_ok(Command::new(&setup.session).args(["users", "enable", user]));
    let out = Command::new(&setup.session)
        .args(["users", "enable", "nosuchuser-tt"])
        .output()
        .expect("users");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("no user named \"nosuchuser-tt\""), "{err}");
    let list = String::from_utf8_lossy(&run_ok(
        Command::new(&setup.session).args(["users", "list"]),
    ))
    .into_owned();
    let row = list
        .lines()
        .find(|l| l.split_whitespace().next() == Some(user))
        .unwrap_or_else(|| panic!("{user} listed: {list}"));
    assert!(row.contains("/bin/bash") && row.contains(user), "{row}");
    let help = run_ok(Command::new(bin("termtape")).args(["users", "--help"]));
    assert!(String::from_utf8_lossy(&help).contains("users list"));
}

/// The logins utmp holds now, as `who` reads them.
fn utmp_logins() -> Vec<termtape_rec::utmp::Entry> {
    termtape_rec::utmp::logins(&std::fs::read(termtape_rec::utmp::UTMP).expect("reading utmp"))
}

/// The recording's terminal (`pts/4`), from the output of
/// `echo inner-$(tty)-MARKER`.
fn inner_tty(text: &str, marker: &str) -> String {
    text.split("inner-/dev/")
        .nth(1)
        .and_then(|s| s.split(&format!("-{marker}")).next())
        .unwrap_or_else(|| panic!("the shell's terminal: {text}"))
        .to_owned()
}

/// The process named by the utmp entry of `user` on `line`, which must
/// be there and alive.
fn registered_pid(user: &str, line: &str) -> i32 {
    utmp_logins()
        .iter()
        .rev()
        .find(|e| {
            e.line == line && e.user == user && Path::new(&format!("/proc/{}", e.pid)).exists()
        })
        .unwrap_or_else(|| panic!("{line} is registered for {user}"))
        .pid
}

/// tlog's issue #280: inside a recorded login `who am i` said nothing, since
/// the shell's terminal is the recorder's, which nothing registered. Here a
/// login from a remote host (`login -h`, as telnetd and sshd pass it) sees
/// its own line, with the user, the recording's terminal and the host; the
/// line is gone after the logout; and the recording says where the session
/// came from (login terminal, its own terminal, the host as utmp has it)
/// and how it ended, which `ls --tty` selects it by.
#[test]
fn a_recorded_login_is_in_utmp_and_its_recording_says_where_from() {
    require("login");
    require("who");
    assert!(
        Path::new(termtape_rec::utmp::HELPER).exists(),
        "libutempter0 is installed (scripts/setup)"
    );
    let user = user("ttutmp1");
    let pty = termtape_tests::pty::Pair::open();
    let tty = pty.slave_path();
    let marker = format!("utmp-{}", std::process::id());
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        .to_string();
    let (mut login, mut master, mut screen) = log_in(&pty, &["-h", "203.0.113.9", "-f", user]);
    master
        .write_all(
            format!(
                "echo inner-$(tty)-{marker}; echo AM; who am i; echo ALL; who; \
                 echo who-done-$((6*7))-{marker}\n"
            )
            .as_bytes(),
        )
        .expect("type");
    let seen = screen
        .until(Duration::from_secs(60), |seen| {
            contains(seen, &format!("who-done-42-{marker}"))
        })
        .to_vec();
    let text = String::from_utf8_lossy(&seen).replace('\r', "");
    let inner = inner_tty(&text, &marker);
    assert!(inner.starts_with("pts/"), "{inner}");
    let am = text
        .split("\nAM\n")
        .nth(1)
        .and_then(|s| s.split("\nALL\n").next())
        .unwrap_or_else(|| panic!("who am i's output: {text}"));
    assert!(
        am.starts_with(user) && am.contains(&format!("{inner} ")) && am.contains("(203.0.113.9)"),
        "who am i names the user, the recording's terminal and the host: {am:?} in {text}"
    );
    let all = text.split("\nALL\n").nth(1).expect("who's output");
    assert!(
        all.lines()
            .any(|l| l.starts_with(user) && l.contains(&format!("{inner} "))),
        "who lists the session: {all}"
    );
    // The entry names the recorder's process; login's own entries of
    // earlier tests (Debian's login leaves them to init) name others.
    let registered = registered_pid(user, &inner);
    master.write_all(b"exit 4\n").expect("type");
    let _ = login.wait().expect("login");
    // Logged out: the line is gone (the guard ran the helper's del).
    assert!(
        !utmp_logins()
            .iter()
            .any(|e| e.line == inner && e.pid == registered),
        "{inner} is still in utmp after the logout"
    );

    // The recording: its origin, its exit, and the filter by terminal.
    assert!(journal_sync());
    let short = tty.to_str().expect("utf-8").trim_start_matches("/dev/");
    let listed = json_lines(&[
        "ls", "--json", "--lax", "--since", &since, "--user", user, "--tty", &inner, "journal",
    ]);
    assert_eq!(listed.len(), 1, "{listed:?}");
    let r = &listed[0];
    assert_eq!(r["tty"], tty.to_str().expect("utf-8"), "{r}");
    assert_eq!(r["pty"], format!("/dev/{inner}"), "{r}");
    assert_eq!(r["remote"], "203.0.113.9", "{r}");
    assert_eq!(r["remote_from"], "utmp", "{r}");
    assert_eq!(r["exit"], serde_json::json!({"code": 4}), "{r}");
    assert!(
        r["command"][0]
            .as_str()
            .is_some_and(|c| c.ends_with("bash")),
        "{r}"
    );
    let by_login_tty = json_lines(&[
        "ls", "--json", "--lax", "--since", &since, "--user", user, "--tty", short, "journal",
    ]);
    assert!(by_login_tty.iter().any(|x| x["rec"] == r["rec"]));
    let text_listing = termtape_tests::listing(&[
        "--lax", "--since", &since, "--user", user, "--tty", &inner, "journal",
    ]);
    let row = text_listing.lines().nth(1).expect("a row");
    assert!(
        row.contains(&format!("{short}>{inner}")) && row.contains("203.0.113.9"),
        "{text_listing}"
    );
}

/// A recorder killed with SIGKILL cannot remove its utmp entry itself: its
/// guard, whose pipe closes with it, does.
#[test]
fn a_killed_recorders_utmp_entry_is_removed_by_its_guard() {
    require("login");
    let user = user("ttutmp2");
    let pty = termtape_tests::pty::Pair::open();
    let marker = format!("kill-{}", std::process::id());
    let (mut login, mut master, mut screen) = log_in(&pty, &["-f", user]);
    master
        .write_all(format!("echo inner-$(tty)-{marker}-$((6*7))\n").as_bytes())
        .expect("type");
    let seen = screen
        .until(Duration::from_secs(60), |seen| {
            contains(seen, &format!("-{marker}-42"))
        })
        .to_vec();
    let text = String::from_utf8_lossy(&seen);
    let inner = inner_tty(&text, &marker);
    let registered = registered_pid(user, &inner);
    // The recorder: login's child.
    let recorder = std::fs::read_dir("/proc")
        .expect("procfs")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().nth(1))
                    == Some(&login.id().to_string())
            })
        })
        .expect("the recorder");
    assert_eq!(registered, recorder as i32, "the entry names the recorder");
    run_ok(Command::new("kill").args(["-KILL", &recorder.to_string()]));
    let deadline = Instant::now() + Duration::from_secs(30);
    let present = || {
        utmp_logins()
            .iter()
            .any(|e| e.line == inner && e.pid == registered)
    };
    while present() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !present(),
        "{inner} is still in utmp after the recorder was killed"
    );
    drop(master);
    let _ = login.wait();
}

/// The signing key that `--install` made is the recorder's alone: the
/// recorded user cannot read it, and their session verifies against its
/// public half.
#[test]
fn the_recorded_user_cannot_read_the_signing_key_and_their_session_verifies() {
    let user = user("ttsesskey");
    let key = Path::new("/etc/termtape/signing.key");
    assert_eq!(owner_and_mode(key), "termtape 400");
    let marker = format!("sealed-{}", std::process::id());
    let script = format!(
        "echo {marker}; cat /etc/termtape/signing.key >/dev/null 2>&1 && echo KEY-READ || echo key-refused; \
         cp /etc/termtape/signing.key /tmp/stolen 2>/dev/null && echo KEY-COPIED || echo copy-refused"
    );
    let out = run_ok(
        Command::new("su")
            .args(["-", user, "-c", &script])
            .stdin(Stdio::null()),
    );
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("key-refused") && !text.contains("KEY-READ"),
        "{text}"
    );
    assert!(text.contains("copy-refused"), "{text}");
    let recs = recordings_of(user);
    let (rec, _) = recs
        .iter()
        .find(|(_, o)| contains(o, &marker))
        .expect("a recording holds the marker");
    let verdict = Command::new(bin("termtape"))
        .args(["verify", "--json", "--rec", rec, "journal"])
        .output()
        .expect("termtape verify");
    let report = String::from_utf8_lossy(&verdict.stdout);
    assert!(report.contains("\"verdict\":\"intact\""), "{report}");
    assert!(verdict.status.success());
}
