//! Choosing a recording: a source holding two recordings, read without
//! `--rec`, is the same clear error in every command that reads one
//! recording (cat, play --raw, play on a terminal, screen), listing them
//! with who and when; `search` reads every recording, and `keyframe` copies
//! them all. Before, the answers differed: cat stopped at the second
//! recording's line, the seek showed the first recording's screen when it
//! met no line of the second, and the terminal player skipped them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use termtape_tests::{bin, read_messages, run_ok};

use crate::keyframes::{play_in_tmux, wait_for};

/// Records `sh -c SCRIPT` to `dir/NAME`; returns the log and its id.
fn record(dir: &Path, name: &str, script: &str) -> (PathBuf, String) {
    let log = dir.join(name);
    run_ok(
        Command::new(bin("termtape-rec"))
            .arg("-o")
            .arg(&log)
            .args(["--", "sh", "-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let rec = read_messages(&log)[0].rec.clone().expect("a recording id");
    (log, rec)
}

/// A file holding two recordings, one after the other, and their ids.
fn two_recordings(dir: &Path) -> (PathBuf, String, String) {
    let (a, rec_a) = record(dir, "a.log", "echo alpha-mark");
    let (b, rec_b) = record(dir, "b.log", "echo beta-mark");
    let both = dir.join("two.log");
    let mut text = std::fs::read(&a).expect("read a");
    text.extend(std::fs::read(&b).expect("read b"));
    std::fs::write(&both, text).expect("write");
    (both, rec_a, rec_b)
}

fn termtape(args: &[&str], log: &Path) -> Output {
    Command::new(bin("termtape"))
        .args(args)
        .arg(log)
        .stdin(Stdio::null())
        .output()
        .expect("run termtape")
}

/// The command failed, said why, and listed both recordings with who made
/// them; nothing of either was written.
fn lists_both(out: &Output, a: &str, b: &str, what: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{what}: {err}");
    assert!(
        err.contains("holds several recordings (2 of them)") && err.contains("--rec"),
        "{what}: {err}"
    );
    let user = run_ok(Command::new("id").arg("-un"));
    let user = String::from_utf8_lossy(&user).trim().to_owned();
    for rec in [a, b] {
        assert!(err.contains(&format!("{rec} ({user}@")), "{what}: {err}");
    }
    assert!(err.contains("started "), "{what}: {err}");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        !shown.contains("alpha-mark") && !shown.contains("beta-mark"),
        "{what}: {shown}"
    );
}

#[test]
fn cat_play_raw_and_screen_list_the_recordings_without_rec() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, a, b) = two_recordings(dir.path());
    lists_both(&termtape(&["cat"], &log), &a, &b, "cat");
    lists_both(&termtape(&["play", "--raw"], &log), &a, &b, "play --raw");
    // The moment is in the first recording, and the seek met no line of
    // the second: before, it showed the first recording's screen.
    lists_both(&termtape(&["screen", "--at", "0"], &log), &a, &b, "screen");
    lists_both(
        &termtape(&["screen", "--at", "end"], &log),
        &a,
        &b,
        "screen at the end",
    );
    lists_both(
        &termtape(&["play", "--raw", "--seek", "end"], &log),
        &a,
        &b,
        "play --raw --seek",
    );
    // Read once from standard input: the same error, at the second
    // recording (after the first one's bytes, which cannot be taken back).
    let piped = Command::new(bin("termtape"))
        .args(["cat", "-"])
        .stdin(std::fs::File::open(&log).expect("open"))
        .output()
        .expect("run termtape");
    let err = String::from_utf8_lossy(&piped.stderr);
    assert!(!piped.status.success(), "{err}");
    assert!(err.contains(&a) && err.contains(&b), "{err}");
    assert!(err.contains("choose one with --rec"), "{err}");
    // With --rec, each command reads the one asked for.
    for (rec, mark, other) in [
        (&a, "alpha-mark", "beta-mark"),
        (&b, "beta-mark", "alpha-mark"),
    ] {
        for args in [
            &["cat", "--rec", rec][..],
            &["play", "--raw", "--rec", rec],
            &["screen", "--at", "end", "--rec", rec],
        ] {
            let out = termtape(args, &log);
            let shown = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                shown.contains(mark) && !shown.contains(other),
                "{args:?}: {shown}"
            );
        }
    }
}

#[test]
fn the_player_on_a_terminal_lists_the_recordings_without_rec() {
    termtape_tests::require("tmux");
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, a, b) = two_recordings(dir.path());
    // Told before the terminal is taken over (before, it played the first
    // and passed over the second's messages silently).
    let tmux = play_in_tmux(dir.path(), &[], &log, (200, 30));
    // A choice to make is trouble (2), as in every command.
    let pane = wait_for(&tmux, "played 2");
    assert!(pane.contains("holds several recordings"), "{pane}");
    assert!(pane.contains(&a) && pane.contains(&b), "{pane}");
    drop(tmux);
    // With --rec, it plays.
    let chosen = dir.path().join("chosen");
    std::fs::create_dir(&chosen).expect("mkdir");
    let tmux = play_in_tmux(&chosen, &["--rec", &b, "--seek", "end"], &log, (80, 25));
    let pane = wait_for(&tmux, "beta-mark");
    assert!(!pane.contains("alpha-mark"), "{pane}");
    tmux.run(&["send-keys", "-t", "kf", "q"]);
    wait_for(&tmux, "played 0");
}

#[test]
fn search_reads_every_recording_and_keyframe_copies_them_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, a, b) = two_recordings(dir.path());
    // search: every recording without --rec, the one asked for with it.
    let out = termtape(&["search", "--json", "mark"], &log);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON");
            v["rec"].as_str().expect("rec").to_owned()
        })
        .collect();
    assert_eq!(found, [a.clone(), b.clone()]);
    let out = termtape(&["search", "--json", "--rec", &b, "mark"], &log);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains(&b) && !text.contains(&a),
        "{text}"
    );
    // keyframe: a copy of the whole source, keyframes in each recording;
    // each is then read from it with --rec.
    let copy = dir.path().join("copy.log");
    // (termtape's recordings are chained: the copy goes without.)
    let out = Command::new(bin("termtape"))
        .args(["keyframe", "--drop-chain"])
        .arg(&log)
        .arg(&copy)
        .output()
        .expect("run termtape");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let messages = read_messages(&copy);
    for rec in [&a, &b] {
        assert!(
            messages
                .iter()
                .any(|m| m.rec.as_ref() == Some(rec) && m.extra("kf").is_some()),
            "no keyframe in {rec}"
        );
    }
    for (rec, mark) in [(&a, "alpha-mark"), (&b, "beta-mark")] {
        let out = termtape(&["screen", "--at", "end", "--rec", rec], &copy);
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), mark);
    }
    lists_both(
        &termtape(&["screen", "--at", "0"], &copy),
        &a,
        &b,
        "screen of the copy",
    );
}

/// A long recording and a short one: told from a sample of the file, so a
/// seek stays instant, and still refused without --rec whether the short
/// one comes last or where the seek reads.
#[test]
fn a_short_second_recording_in_a_long_file_needs_a_choice_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = "i=0; while [ $i -lt 40000 ]; do echo \"long row $i\"; i=$((i+1)); done";
    let (long, rec_long) = record(dir.path(), "long.log", script);
    let (short, rec_short) = record(dir.path(), "short.log", "echo short-mark");
    let long_text = std::fs::read(&long).expect("read");
    let short_text = std::fs::read(&short).expect("read");
    // Last: the sample's last line is the short one's.
    let last = dir.path().join("last.log");
    std::fs::write(&last, [&long_text[..], &short_text[..]].concat()).expect("write");
    lists_both(
        &termtape(&["screen", "--at", "end"], &last),
        &rec_long,
        &rec_short,
        "short one last",
    );
    // In the middle, just before the end the seek goes to: the seek reads it.
    let cut = long_text.len() - 3000;
    let cut = cut
        + long_text[cut..]
            .iter()
            .position(|&b| b == b'\n')
            .expect("a line")
        + 1;
    let middle = dir.path().join("middle.log");
    std::fs::write(
        &middle,
        [&long_text[..cut], &short_text[..], &long_text[cut..]].concat(),
    )
    .expect("write");
    lists_both(
        &termtape(&["screen", "--at", "end"], &middle),
        &rec_long,
        &rec_short,
        "short one in the middle",
    );
    // One recording: chosen from the sample, and the seek shows its end.
    let out = termtape(&["screen", "--at", "end"], &long);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("long row 39999"));
}
