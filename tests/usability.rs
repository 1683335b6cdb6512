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
                .arg("keyframe")
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
