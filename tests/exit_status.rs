//! One exit-status table for every command that reads recordings, as grep
//! and diff have it: 0 done, 1 nothing found, 2 trouble (damage without
//! `--lax`, a source that cannot be read, bad usage). `--lax` means the same
//! everywhere: damage is passed over, reported, and leaves the status as if
//! there were none.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use termtape_tests::{bin, corpus_dir};

/// A recording, a damaged copy, and a path that does not exist.
struct Files {
    dir: tempfile::TempDir,
    good: PathBuf,
    damaged: PathBuf,
    missing: PathBuf,
}

fn files() -> Files {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.log");
    std::fs::copy(corpus_dir().join("a_interactive.log"), &good).expect("copy");
    // Line 2 no longer JSON: damage, as tests/damage.rs makes it.
    let text = std::fs::read_to_string(&good).expect("read");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[1] = lines[1].replace("\"timing\":", "\"timing\" ");
    let damaged = dir.path().join("damaged.log");
    std::fs::write(&damaged, lines.join("\n") + "\n").expect("write");
    let missing = dir.path().join("missing.log");
    Files {
        dir,
        good,
        damaged,
        missing,
    }
}

/// The commands that read a source, each as its words before the source
/// (play without pauses, so that it ends at once).
const READERS: [&[&str]; 5] = [
    &["ls"],
    &["cat"],
    &["play", "--max-pause", "0"],
    &["screen"],
    &["search", "bold green"],
];

/// `termtape ARGS… SOURCE` (with `keyframe`: SOURCE and a copy): the exit
/// status and standard error.
fn status(args: &[&str], extra: &[&str], source: &Path, out_dir: &Path) -> (i32, String) {
    let mut cmd = Command::new(bin("termtape"));
    cmd.args(args).args(extra).arg(source);
    if args[0] == "keyframe" {
        cmd.arg(out_dir.join("copy.log"));
    }
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("termtape");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (
        out.status.code().expect("an exit status, not a signal"),
        err,
    )
}

/// Every reading command and keyframe.
fn all() -> Vec<&'static [&'static str]> {
    let mut all = READERS.to_vec();
    all.push(&["keyframe"]);
    all
}

#[test]
fn success_exits_0_everywhere() {
    let f = files();
    for args in all() {
        let (code, err) = status(args, &[], &f.good, f.dir.path());
        assert_eq!(code, 0, "{args:?}: {err}");
    }
}

#[test]
fn nothing_found_exits_1_everywhere() {
    let f = files();
    for args in READERS {
        for extra in [&["--user", "nobody-at-all"][..], &["--rec", "no-such-id"]] {
            let (code, err) = status(args, extra, &f.good, f.dir.path());
            assert_eq!(code, 1, "{args:?} {extra:?}: {err}");
            assert!(
                err.contains("no recording") || args[0] == "search",
                "{args:?} {extra:?}: {err}"
            );
        }
    }
    let (code, err) = status(&["search", "no such text"], &[], &f.good, f.dir.path());
    assert_eq!(code, 1, "{err}");
}

/// The terminal player (stdin and stdout a terminal) exits as raw playback
/// does: it says why before it takes the terminal over.
#[test]
fn the_terminal_player_exits_by_the_same_table() {
    let f = files();
    for (extra, source, expected) in [
        (&["--user", "nobody-at-all"][..], &f.good, 1),
        (&["--rec", "no-such-id"], &f.good, 1),
        (&[], &f.missing, 2),
    ] {
        let pair = termtape_tests::pty::Pair::open();
        let mut reader = pair.reader();
        let mut child = Command::new(bin("termtape"))
            .arg("play")
            .args(extra)
            .arg(source)
            .env("TERM", "xterm")
            .stdin(pair.slave())
            .stdout(pair.slave())
            .stderr(pair.slave())
            .spawn()
            .expect("termtape play");
        let status = child.wait().expect("wait");
        let shown = reader.until(std::time::Duration::from_secs(2), |seen| {
            seen.ends_with(b"\n")
        });
        let shown = String::from_utf8_lossy(shown).into_owned();
        assert_eq!(status.code(), Some(expected), "{extra:?}: {shown}");
    }
}

#[test]
fn damage_exits_2_without_lax_and_is_passed_over_with_it() {
    let f = files();
    for args in all() {
        let (code, err) = status(args, &[], &f.damaged, f.dir.path());
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.contains("line 2"),
            "{args:?}: the damage is named: {err}"
        );
        let (code, err) = status(args, &["--lax"], &f.damaged, f.dir.path());
        assert_eq!(code, 0, "{args:?} --lax: {err}");
        assert!(
            err.contains("line 2"),
            "{args:?} --lax: still reported: {err}"
        );
    }
    // Damage is trouble even when nothing is found; with --lax, nothing
    // found is what remains.
    for args in [
        &["ls", "--user", "nobody-at-all"][..],
        &["search", "no such text"],
    ] {
        let (code, err) = status(args, &[], &f.damaged, f.dir.path());
        assert_eq!(code, 2, "{args:?}: {err}");
        let (code, err) = status(args, &["--lax"], &f.damaged, f.dir.path());
        assert_eq!(code, 1, "{args:?} --lax: {err}");
    }
}

#[test]
fn bad_usage_exits_2_everywhere() {
    let f = files();
    for args in all() {
        let (code, err) = status(args, &["--bogus"], &f.good, f.dir.path());
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("'--bogus'"), "{args:?}: {err}");
    }
    // A closed set: the choices are named.
    let (code, err) = status(&["screen", "--format", "jpeg"], &[], &f.good, f.dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("[possible values: text, ansi, svg, html, png]"),
        "{err}"
    );
}

#[test]
fn an_unreadable_source_exits_2_everywhere() {
    let f = files();
    for args in all() {
        for source in [&f.missing, &f.dir.path().to_path_buf()] {
            let (code, err) = status(args, &[], source, f.dir.path());
            assert_eq!(code, 2, "{args:?} {}: {err}", source.display());
            assert!(
                err.contains(&*source.display().to_string()),
                "{args:?}: the source is named: {err}"
            );
        }
    }
}

/// The table is in every command's `--help`, and in the recorder's and the
/// login shell's (whose statuses are the recorded command's).
#[test]
fn every_help_says_the_exit_status() {
    let help = |program: &str, args: &[&str]| {
        let out = Command::new(bin(program))
            .args(args)
            .output()
            .expect("help");
        assert!(out.status.success(), "{program} {args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mut commands: Vec<Vec<&str>> = vec![vec!["--help"]];
    for args in all() {
        commands.push(vec![args[0], "--help"]);
    }
    for args in commands {
        let text = help("termtape", &args);
        assert!(
            text.contains("Exit status")
                && text.contains("1  nothing found")
                && text.contains("2  trouble"),
            "termtape {args:?}: {text}"
        );
        if args.len() > 1 {
            assert!(text.contains("--lax"), "termtape {args:?}: {text}");
        }
    }
    for (program, args) in [
        ("termtape", &["rec", "--help"][..]),
        ("termtape-rec", &["--help"]),
        ("termtape-session", &["--help"]),
        ("termtape", &["users", "--help"]),
    ] {
        let text = help(program, args);
        assert!(text.contains("Exit status"), "{program} {args:?}: {text}");
    }
}
