//! The seeking player on a reviewer's terminal (tmux), as a new user met it
//! (https://github.com/termtape/termtape/issues/11): a status line that hid
//! the last row, a journal that played only raw, and the keys.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use termtape_tests::{bin, read_messages, run_ok};

use crate::journal::record_to_journal;
use crate::keyframes::{Tmux, play_in_tmux, wait_for, wait_until};
use crate::reviewer::Reviewer;

/// Records `bash -c SCRIPT` at 80x24 to a file.
fn record(dir: &Path, script: &str) -> PathBuf {
    let log = dir.join("session.log");
    run_ok(
        Command::new(bin("termtape-rec"))
            .arg("-o")
            .arg(&log)
            .args(["--", "bash", "-c", script])
            .stdin(Stdio::null()),
    );
    let first = &read_messages(&log)[0];
    assert!(first.timing.starts_with("=80x24"), "{}", first.timing);
    log
}

const IMPORTANT: &str = "seq 1 100; printf 'prompt# rm -rf /important'";

fn keys(tmux: &Tmux, keys: &[&str]) {
    tmux.run(&[&["send-keys", "-t", "kf"][..], keys].concat());
}

/// The pane's last row.
fn last_row(pane: &str) -> String {
    pane.lines().last().unwrap_or_default().to_owned()
}

#[test]
fn issue_11_the_status_line_hides_no_row_without_saying_so() {
    termtape_tests::require("tmux");
    let dir = tempfile::tempdir().expect("tempdir");
    let log = record(dir.path(), IMPORTANT);
    // As tall as the recording, playing: the last row is the recording's.
    let tmux = play_in_tmux(dir.path(), &["--seek", "end"], &log, (80, 24));
    let pane = wait_for(&tmux, "prompt# rm -rf /important");
    assert_eq!(last_row(&pane), "prompt# rm -rf /important");
    // Paused: the status line shows, over that row, and says so.
    keys(&tmux, &["Space"]);
    let pane = wait_for(&tmux, "[row 24 under this line: s hides it]");
    assert!(!pane.contains("rm -rf"), "{pane}");
    // `s` hides it: the row is back.
    keys(&tmux, &["s"]);
    let pane = wait_until(&tmux, "the last row back", |p| {
        last_row(p) == "prompt# rm -rf /important"
    });
    assert!(!pane.contains("clipped"), "{pane}");
    keys(&tmux, &["q"]);
    wait_for(&tmux, "played 0");
    drop(tmux);

    // With a spare row, the status line takes it and hides nothing.
    let taller = dir.path().join("taller");
    std::fs::create_dir(&taller).expect("mkdir");
    let tmux = play_in_tmux(&taller, &["--seek", "end"], &log, (80, 25));
    let pane = wait_for(&tmux, "? help");
    let rows: Vec<&str> = pane.lines().collect();
    assert_eq!(rows[23].trim_end(), "prompt# rm -rf /important", "{pane}");
    assert!(!pane.contains("clipped"), "{pane}");
    keys(&tmux, &["q"]);
    wait_for(&tmux, "played 0");
}

#[test]
fn issue_11_the_journal_plays_in_the_seeking_player() {
    termtape_tests::require("tmux");
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = record_to_journal(
        "echo first-mark; sleep 0.3; echo second-mark; sleep 0.3; echo third-mark",
        &[],
    );
    let tmux = play_in_tmux(dir.path(), &["--rec", &rec], Path::new("journal"), (80, 25));
    // The seeking player's status line, with who recorded it.
    let pane = wait_for(&tmux, "? help");
    let user = run_ok(Command::new("id").arg("-un"));
    let user = String::from_utf8_lossy(&user).trim().to_owned();
    assert!(last_row(&pane).contains(&format!("{user}@")), "{pane}");
    keys(&tmux, &["Space", "End"]);
    wait_until(&tmux, "the end, paused", |p| {
        p.contains("third-mark") && last_row(p).starts_with(" || ")
    });
    // Back to the start through `g`: nothing printed yet.
    keys(&tmux, &["g", "0", "Enter"]);
    wait_until(&tmux, "the start", |p| {
        !p.contains("first-mark") && last_row(p).contains(" || 0:00:00.000 /")
    });
    // And to the second mark: shown, the third not yet.
    let second = second_mark_ms(&rec);
    keys(
        &tmux,
        &[
            "g",
            &format!("{}.{:03}", second / 1000, second % 1000),
            "Enter",
        ],
    );
    wait_until(&tmux, "the second mark only", |p| {
        p.contains("second-mark") && !p.contains("third-mark")
    });
    keys(&tmux, &["q"]);
    wait_for(&tmux, "played 0");
}

/// When `second-mark` was output in journal recording `rec`, ms.
fn second_mark_ms(rec: &str) -> u64 {
    let out = run_ok(Command::new(bin("termtape")).args([
        "search",
        "--json",
        "--rec",
        rec,
        "second-mark",
        "journal",
    ]));
    let line = String::from_utf8_lossy(&out)
        .lines()
        .next()
        .map(str::to_owned)
        .expect("found");
    let found: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    found["at"].as_u64().expect("at")
}

#[test]
fn issue_11_go_to_help_finds_and_the_status_line_as_a_user_met_them() {
    termtape_tests::require("tmux");
    let dir = tempfile::tempdir().expect("tempdir");
    let log = record(dir.path(), IMPORTANT);
    let tmux = play_in_tmux(dir.path(), &["--seek", "end"], &log, (100, 30));
    wait_for(&tmux, "prompt# rm -rf /important");
    keys(&tmux, &["Space"]);
    // The wall-clock time and who recorded where, beside the offset.
    let first = &read_messages(&log)[0];
    let who = format!("{}@{}", first.user, first.host);
    let pane = wait_for(&tmux, &who);
    let status = last_row(&pane);
    let secs = first.time.expect("time") / 1000;
    let day = run_ok(Command::new("date").args(["-d", &format!("@{secs}"), "+%Y-%m-%d "]));
    let day = String::from_utf8_lossy(&day)
        .trim_end_matches('\n')
        .to_owned();
    assert!(status.contains(&format!("  {day}")), "{day:?}: {status}");
    // What `g` does not take is said, and nothing moves.
    keys(&tmux, &["g", "-", "5", "Enter"]);
    let pane = wait_for(&tmux, "is not a time");
    assert!(pane.contains("prompt# rm -rf /important"), "{pane}");
    // The key help.
    keys(&tmux, &["?"]);
    let pane = wait_for(&tmux, "this help (any key closes it)");
    for key in [
        "PgUp b",
        "Ctrl-Z",
        "one recorded event forward",
        "YYYY-MM-DD",
    ] {
        assert!(pane.contains(key), "{key}: {pane}");
    }
    keys(&tmux, &["x"]);
    wait_until(&tmux, "the help closed", |p| !p.contains("this help"));
    // A find is highlighted on the screen: black on yellow.
    keys(&tmux, &["/", "important", "Enter"]);
    wait_for(&tmux, "[/important 1/1]");
    let coloured = tmux.run(&["capture-pane", "-e", "-p", "-t", "kf"]);
    let line = coloured
        .lines()
        .find(|l| l.contains("prompt#"))
        .expect("the prompt's row");
    let before = &line[..line.find("important").expect("the find")];
    let sgr = &before[before.rfind('\x1b').expect("an SGR before the find")..];
    assert!(sgr.contains("103") || sgr.contains("48;5;11"), "{line:?}");
    keys(&tmux, &["q"]);
    wait_for(&tmux, "played 0");
}

#[test]
fn issue_11_ctrl_z_suspends_the_player_and_fg_redraws_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = record(dir.path(), IMPORTANT);
    let reviewer = Reviewer::start(dir.path());
    reviewer.type_line(&format!(
        "{} play --seek end {}",
        bin("termtape").display(),
        log.display()
    ));
    reviewer.wait_for("? help");
    reviewer.run(&["send-keys", "-t", "r", "C-z"]);
    // The shell's own screen, with the job stopped.
    reviewer.wait_until("the job stopped", |p| {
        p.contains("Stopped") && !p.contains("? help")
    });
    reviewer.type_line("fg");
    reviewer.wait_for("? help");
    reviewer.run(&["send-keys", "-t", "r", "q"]);
    reviewer.wait_until("the player gone", |p| !p.contains("? help"));
    reviewer.type_line("echo shell-after-$((6*7))");
    reviewer.wait_for("shell-after-42");
}

#[test]
fn issue_11_the_seeking_player_follows_a_journal_recording_as_it_grows() {
    termtape_tests::require("tmux");
    termtape_tests::journald();
    let dir = tempfile::tempdir().expect("tempdir");
    let flag = dir.path().join("go-on");
    let script = format!(
        "echo follow-one; while [ ! -e {} ]; do sleep 0.1; done; echo follow-two",
        flag.display()
    );
    let mut recorder = Command::new(bin("termtape"))
        .args(["rec", "-w", "journal", "--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn recorder");
    // The recording's id, from its first entries (the recorder runs on).
    let rec = termtape_tests::running_recording(recorder.id(), "follow-one");
    let tmux = play_in_tmux(
        dir.path(),
        &["--follow", "--rec", &rec],
        Path::new("journal"),
        (80, 25),
    );
    wait_for(&tmux, "follow-one");
    wait_for(&tmux, "? help");
    std::fs::write(&flag, "").expect("flag");
    assert!(recorder.wait().expect("wait").success());
    wait_for(&tmux, "follow-two");
    keys(&tmux, &["q"]);
    wait_for(&tmux, "played 0");
}
