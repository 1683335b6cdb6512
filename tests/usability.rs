//! What a new user hit (issue 11): logins that wait on the network, bad
//! numbers, silent successes and unclear messages.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use termtape_tests::{bin, require, run_ok};

/// A network namespace of this test's own with a default route that goes
/// nowhere and a resolver behind it that never answers (as a host whose
/// DNS is down); `ip netns exec` puts `/etc/netns/NAME/*` over `/etc`.
struct DeadDns {
    name: String,
    veth: String,
}

impl DeadDns {
    fn new() -> DeadDns {
        require("ip");
        let tag = std::process::id() % 100_000;
        let dns = DeadDns {
            name: format!("ttdns{tag}"),
            veth: format!("ttdv{tag}"),
        };
        let peer = format!("ttdp{tag}");
        run_ok(Command::new("ip").args(["netns", "add", &dns.name]));
        run_ok(Command::new("ip").args([
            "link", "add", &dns.veth, "type", "veth", "peer", "name", &peer,
        ]));
        run_ok(Command::new("ip").args(["link", "set", &peer, "netns", &dns.name]));
        let inside = |args: &[&str]| {
            run_ok(Command::new("ip").args(["-n", &dns.name]).args(args));
        };
        inside(&["link", "set", "lo", "up"]);
        inside(&["link", "set", &peer, "up"]);
        inside(&["addr", "add", "10.99.0.2/24", "dev", &peer]);
        inside(&["route", "add", "default", "via", "10.99.0.1"]);
        let etc = Path::new("/etc/netns").join(&dns.name);
        std::fs::create_dir_all(&etc).expect("/etc/netns");
        // Unbounded, a lookup would take 5 tries of 30 s.
        std::fs::write(
            etc.join("resolv.conf"),
            "nameserver 10.99.0.1\noptions timeout:30 attempts:5\n",
        )
        .expect("resolv.conf");
        std::fs::write(etc.join("hosts"), "127.0.0.1 localhost\n").expect("hosts");
        dns
    }
}

impl Drop for DeadDns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.veth])
            .status();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(&self.name));
    }
}

/// A recorder (a login shell, too) starts without waiting for a resolver
/// that does not answer: the recording names the host by its plain name.
#[test]
fn a_dead_resolver_does_not_hold_up_the_recorder() {
    let dns = DeadDns::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("dns.log");
    let mut rec = Command::new("ip")
        .args(["netns", "exec", &dns.name])
        .arg(bin("termtape-rec"))
        .arg("-o")
        .arg(&log)
        .args(["--", "echo", "started"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("termtape-rec");
    // Not a timing test: an unbounded lookup takes 150 s here; the
    // watchdog only keeps a failure from hanging the suite.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = rec.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = rec.kill();
            let _ = rec.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let status = status.expect("the recorder waited on the resolver for over a minute");
    assert!(status.success());
    let first = std::fs::read_to_string(&log).expect("log");
    let host = String::from_utf8_lossy(&run_ok(&mut Command::new("hostname")))
        .trim()
        .to_owned();
    assert!(
        first.contains(&format!("\"host\":\"{host}\"")),
        "the plain host name: {first}"
    );
}

/// Dates that do not exist, and years no clock reaches, are errors that
/// name the value, never a panic or a silent wrong day.
#[test]
fn impossible_dates_are_refused_by_name() {
    for bad in ["2026-11-31", "2026-02-29", "9999999999-01-01 UTC"] {
        for args in [
            &["ls", "--since", bad][..],
            &["search", "x", "--until", bad],
            &["screen", "--at", bad],
        ] {
            let out = Command::new(bin("termtape"))
                .args(args)
                .arg("/dev/null")
                .output()
                .expect("termtape");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(
                err.contains(bad) && !err.contains("panicked"),
                "{args:?}: {err}"
            );
        }
    }
}

/// A filter that matches nothing, or a source that holds no recording, is
/// said so, with what was asked, and exits 1: no blank screen, no silent
/// success.
#[test]
fn a_filter_that_matches_nothing_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("s.log");
    run_ok(
        Command::new(bin("termtape-rec"))
            .arg("-o")
            .arg(&log)
            .args(["--", "echo", "hello"])
            .stdin(Stdio::null()),
    );
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, "").expect("empty");
    for (file, extra, said) in [
        (
            &log,
            &["--user", "nobody"][..],
            "no recording matches --user nobody",
        ),
        (&empty, &[][..], "no recording matches (it holds none)"),
    ] {
        for command in ["screen", "cat", "play", "ls"] {
            let out = Command::new(bin("termtape"))
                .arg(command)
                .args(extra)
                .arg(file)
                .stdin(Stdio::null())
                .output()
                .expect("termtape");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{command} {extra:?}: {err}");
            assert!(err.contains(said), "{command} {extra:?}: {err}");
            assert!(out.stdout.is_empty(), "{command}: nothing on stdout");
        }
    }
    // What does match still plays.
    let out = run_ok(
        Command::new(bin("termtape"))
            .args(["cat", "--user", "root"])
            .arg(&log),
    );
    assert!(String::from_utf8_lossy(&out).contains("hello"));
}

/// `termtape keyframe` writes its copy no more readable than the input,
/// even over an existing, wider file.
#[test]
fn a_keyframed_copy_is_as_private_as_its_input() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("s.log");
    run_ok(
        Command::new(bin("termtape-rec"))
            .arg("-o")
            .arg(&log)
            .args(["--", "echo", "private"])
            .stdin(Stdio::null()),
    );
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let fresh = dir.path().join("fresh.log");
    let existing = dir.path().join("existing.log");
    std::fs::write(&existing, "old").expect("existing");
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    for out in [&fresh, &existing] {
        run_ok(
            Command::new(bin("termtape"))
                .args(["keyframe", "--drop-chain"])
                .arg(&log)
                .arg(out),
        );
        let mode = std::fs::metadata(out).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", out.display());
    }
}

/// A missing file or a directory is named once, in one line; a file that
/// is not a recording at all gives a few warnings and a count, not one
/// warning per line.
#[test]
fn unreadable_sources_are_named_once_and_junk_is_summarised() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nonexistent.log");
    for command in [
        &["cat"][..],
        &["screen"],
        &["ls"],
        &["search", "x"],
        &["play"],
    ] {
        for source in [&missing, &dir.path().to_path_buf()] {
            let out = Command::new(bin("termtape"))
                .args(command)
                .arg(source)
                .stdin(Stdio::null())
                .output()
                .expect("termtape");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_ne!(out.status.code(), Some(0), "{command:?} {err}");
            assert_eq!(err.lines().count(), 1, "{command:?}: {err}");
            let said = err.matches(&*source.display().to_string()).count();
            assert!(
                said >= 1 && !err.contains("os error 2): "),
                "{command:?}: {err}"
            );
            if source.is_dir() {
                assert!(err.contains("is a directory, not a recording"), "{err}");
            }
        }
    }
    let junk = dir.path().join("junk.dat");
    let bytes: Vec<u8> = (0..40_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&junk, bytes).expect("junk");
    let out = Command::new(bin("termtape"))
        .arg("ls")
        .arg(&junk)
        .output()
        .expect("termtape");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.lines().count() <= 9, "{err}");
    assert!(
        err.contains("damaged message(s) passed over in all"),
        "{err}"
    );
}

/// `termtape ARGS`: its exit status and standard error.
fn termtape(args: &[&str], dir: &Path) -> (std::process::ExitStatus, String, String) {
    let out = Command::new(bin("termtape"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("termtape");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A payload or latency out of range is refused, naming the option and
/// its range, before a file is made or the command run.
#[test]
fn numbers_out_of_range_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (option, value, range) in [
        ("--payload", "18446744073709551615", "from 64 to 1048576"),
        ("--payload", "100000000000", "from 64 to 1048576"),
        ("--latency", "1e308", "from 0.001 to 86400"),
        ("--latency", "0", "from 0.001 to 86400"),
    ] {
        let (status, _, err) = termtape(
            &["rec", "-o", "p.log", option, value, "--", "touch", "ran"],
            dir.path(),
        );
        assert_eq!(status.code(), Some(2), "{option} {value}: {err}");
        assert!(err.contains(option) && err.contains(range), "{err}");
        assert!(!dir.path().join("ran").exists(), "{option} {value} ran");
        assert!(!dir.path().join("p.log").exists(), "{option} {value}");
    }
    // A configuration key likewise, with its file and line.
    let config = dir.path().join("t.toml");
    std::fs::write(&config, "latency = 1\n\n[limit]\nburst = -1\n").expect("config");
    let out = Command::new(bin("termtape"))
        .args(["rec", "-o", "p.log", "--", "touch", "ran"])
        .env("TERMTAPE_CONFIG", &config)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("termtape rec");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "invalid configuration file {}, line 4: [limit] burst: -1 is out of range; \
             must be a whole number of bytes from 0 to 1099511627776",
            config.display()
        )),
        "{err}"
    );
    assert!(!dir.path().join("ran").exists());
}

/// An option the recorder does not know, before the command, is an error
/// naming it; after `--` a word starting with `-` is still the command.
#[test]
fn an_unknown_option_is_an_error_not_a_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (status, _, err) = termtape(&["rec", "-o", "x", "--bogus"], dir.path());
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("unexpected argument '--bogus'"), "{err}");
    assert!(!err.contains("command not found"), "{err}");
    assert!(!dir.path().join("x").exists());
    // After `--`, it is run (and is not found: 127, as a shell says).
    // (The recorded terminal, standard output here, says so.)
    let (status, shown, err) = termtape(&["rec", "-o", "x", "--", "--weird-cmd"], dir.path());
    assert_eq!(status.code(), Some(127), "{err}");
    assert!(shown.contains("--weird-cmd: command not found"), "{shown}");
}

/// `termtape rec --help` and its errors name `termtape rec`.
#[test]
fn rec_usage_names_the_command_typed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (status, help, _) = termtape(&["rec", "--help"], dir.path());
    assert!(status.success());
    assert!(
        help.contains("Usage: termtape rec [OPTIONS] FILE"),
        "{help}"
    );
    assert!(help.contains("termtape rec session.log"), "{help}");
    assert!(!help.contains("termtape-rec"), "{help}");
    let (_, _, err) = termtape(&["rec", "--bogus"], dir.path());
    assert!(err.contains("Usage: termtape rec"), "{err}");
    // Run by its own name, it keeps it.
    let out = Command::new(bin("termtape-rec"))
        .arg("--help")
        .output()
        .expect("termtape-rec");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: termtape-rec [OPTIONS]"));
}

/// `screen --at` past the end shows the last screen and says where the
/// recording ends; a moment inside it, or `end`, says nothing of the kind.
#[test]
fn screen_past_the_end_says_where_the_recording_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("s.log");
    run_ok(
        Command::new(bin("termtape"))
            .args(["rec", "-o"])
            .arg(&log)
            .args(["--", "sh", "-c", "echo first; sleep 0.2; echo last"])
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    // The recorder's first message carries a keyframe: the seek goes
    // through it; with --since the file is replayed from the start instead.
    assert!(
        std::fs::read_to_string(&log)
            .expect("log")
            .contains("\"kf\":")
    );
    let file = log.to_str().expect("path");
    for extra in [&[][..], &["--since", "1"][..]] {
        let mut args = vec!["screen", "--at", "99"];
        args.extend(extra);
        args.push(file);
        let (status, screen, err) = termtape(&args, dir.path());
        assert!(status.success(), "{err}");
        assert!(
            screen.contains("first") && screen.contains("last"),
            "{screen}"
        );
        assert!(
            err.contains("the recording ends at ")
                && err.contains(" s, before the moment asked for; the last screen is shown"),
            "{err}"
        );
        for at in ["0", "end"] {
            let (status, _, err) = termtape(&["screen", "--at", at, file], dir.path());
            assert!(status.success(), "{err}");
            assert!(!err.contains("the recording ends"), "{at}: {err}");
        }
    }
}

/// The same past the end of a recording in the journal.
#[test]
fn screen_past_the_end_of_a_journal_recording_says_so() {
    let rec = crate::journal::record_to_journal("echo only", &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let (status, screen, err) = termtape(
        &["screen", "--at", "1:00:00", "journal", "--rec", &rec],
        dir.path(),
    );
    assert!(status.success(), "{err}");
    assert!(screen.contains("only"), "{screen}");
    assert!(err.contains("the recording ends at "), "{err}");
    let (_, _, err) = termtape(&["screen", "journal", "--rec", &rec], dir.path());
    assert!(!err.contains("the recording ends"), "{err}");
}

/// Runs `termtape rec ARGS` on a terminal of its own (SHELL=/bin/sh, so
/// that a recorded shell reads `typed`, once its prompt shows); returns what
/// the terminal showed up to `last`, read before the terminal closes.
fn rec_on_a_terminal(args: &[&str], dir: &Path, typed: &[u8], last: &str) -> String {
    use std::io::Write;
    use termtape_tests::pty::Pair;
    let pair = Pair::open();
    let mut reader = pair.reader();
    let mut child = Command::new(bin("termtape"))
        .arg("rec")
        .args(args)
        .current_dir(dir)
        .env("SHELL", "/bin/sh")
        .env("PS1", "$ ")
        .stdin(pair.slave())
        .stdout(pair.slave())
        .stderr(pair.slave())
        .spawn()
        .expect("termtape rec");
    let mut master = std::fs::File::from(pair.master.try_clone().expect("dup"));
    if !typed.is_empty() {
        reader.until(Duration::from_secs(30), |seen| seen.ends_with(b"$ "));
        master.write_all(typed).expect("type");
    }
    let seen = reader.until(Duration::from_secs(30), |seen| {
        String::from_utf8_lossy(seen).contains(last)
    });
    let shown = String::from_utf8_lossy(seen).into_owned();
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status}");
    shown
}

/// `termtape rec FILE` records into FILE, telling a person at a terminal
/// where it goes, how to stop, and when it is saved; -q says nothing.
#[test]
fn rec_file_positional_with_start_and_stop_notices() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shown = rec_on_a_terminal(
        &["shell.log"],
        dir.path(),
        b"echo in-the-shell; exit\r",
        // The whole line: the name may come in a later write than "saved to".
        "saved to shell.log",
    );
    assert!(
        shown.contains("termtape: recording to shell.log; exit the shell to stop"),
        "{shown:?}"
    );
    assert!(
        shown.contains("termtape: recording saved to shell.log"),
        "{shown:?}"
    );
    let listed = termtape_tests::listing(&[dir.path().join("shell.log").to_str().expect("path")]);
    assert_eq!(
        listed.lines().count(),
        2,
        "a heading and one recording: {listed}"
    );

    let shown = rec_on_a_terminal(
        &["cmd.log", "--", "echo", "hello"],
        dir.path(),
        b"",
        "saved to cmd.log",
    );
    assert!(
        shown.contains("termtape: recording to cmd.log\r\n"),
        "{shown:?}"
    );
    assert!(shown.contains("hello"));
    assert!(
        shown.contains("termtape: recording saved to cmd.log"),
        "{shown:?}"
    );
    let out = run_ok(
        Command::new(bin("termtape"))
            .arg("cat")
            .arg(dir.path().join("cmd.log")),
    );
    assert_eq!(String::from_utf8_lossy(&out), "hello\r\n");

    let shown = rec_on_a_terminal(
        &["-q", "quiet.log", "echo", "hush"],
        dir.path(),
        b"",
        "hush",
    );
    assert!(
        shown.contains("hush") && !shown.contains("recording"),
        "{shown:?}"
    );
    assert!(dir.path().join("quiet.log").exists());
    // Off a terminal: no notice either.
    let (status, _, err) = termtape(&["rec", "piped.log", "--", "true"], dir.path());
    assert!(status.success() && err.is_empty(), "{err}");
    assert!(dir.path().join("piped.log").exists());
}
