//! Recording to and playing from the systemd journal, with a real journald:
//! termtape's journal writer read by termtape, by `journalctl -o json` (as
//! Cockpit reads it) and by the real tlog-play; tlog-rec's journal entries
//! read by termtape.

use std::process::{Command, Stdio};

use termtape_tests::{
    assert_bytes_eq, bin, journal_sync, journald, require, run_ok, tlog_play_journal,
};

/// Records `script` with `termtape rec -w journal`; returns the recording id.
pub(crate) fn record_to_journal(script: &str, extra: &[&str]) -> String {
    journald();
    let mut cmd = Command::new(bin("termtape"));
    cmd.args(["rec", "-w", "journal"])
        .args(extra)
        .args(["--", "sh", "-c", script]);
    recording_of(cmd)
}

/// Runs a recorder to its end and finds its recording by the recorder's
/// process id, which journald stamps on each entry (tests run in parallel,
/// so "the newest recording" would not do).
pub(crate) fn recording_of(mut recorder: Command) -> String {
    let child = recorder
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn recorder");
    let pid = child.id();
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "recorder failed: {}", out.status);
    assert!(journal_sync());
    let json = run_ok(Command::new("journalctl").args(["-o", "json", &format!("_PID={pid}")]));
    // Pids are reused: of the entries with this pid, the newest recording's
    // (an older process with the same pid may have written anything).
    String::from_utf8_lossy(&json)
        .lines()
        .rev()
        .find_map(|l| {
            let entry: serde_json::Value = serde_json::from_str(l).expect("json");
            entry["TLOG_REC"].as_str().map(str::to_owned)
        })
        .expect("the recorder's entries")
}

/// The journal's entries of recording `rec` as `journalctl -o json` shows
/// them, without `--all`, as Cockpit reads them.
fn journal_json(rec: &str) -> Vec<serde_json::Value> {
    let out = run_ok(Command::new("journalctl").args(["-o", "json", &format!("TLOG_REC={rec}")]));
    String::from_utf8_lossy(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("journalctl -o json line"))
        .collect()
}

#[test]
fn journal_recordings_carry_tlogs_fields_and_play_everywhere() {
    // Enough output for several messages, at a payload the writer must
    // shrink so that MESSAGE stays readable by Cockpit.
    let script =
        "i=0; while [ $i -lt 300 ]; do echo \"line $i: héllo wörld 日本語 🎉\"; i=$((i+1)); done";
    let rec = record_to_journal(script, &["--payload", "8000"]);
    let entries = journal_json(&rec);
    assert!(entries.len() > 3, "{} entries", entries.len());
    for (i, e) in entries.iter().enumerate() {
        let message = e["MESSAGE"]
            .as_str()
            .expect("MESSAGE is not null without --all");
        assert!(message.len() < 4088, "MESSAGE of {} bytes", message.len());
        assert_eq!(e["TLOG_REC"], rec.as_str());
        assert_eq!(e["TLOG_ID"], (i + 1).to_string().as_str());
        assert_eq!(e["TLOG_USER"], "root");
        assert!(
            e["TLOG_SESSION"]
                .as_str()
                .is_some_and(|s| s.parse::<u32>().is_ok())
        );
        assert_eq!(e["SYSLOG_IDENTIFIER"], "termtape");
        assert_eq!(e["PRIORITY"], "6");
    }
    let expected: Vec<u8> = (0..300)
        .flat_map(|i| format!("line {i}: héllo wörld 日本語 🎉\r\n").into_bytes())
        .collect();
    let ours = run_ok(Command::new(bin("termtape")).args(["cat", "journal", "--rec", &rec]));
    assert_bytes_eq(&ours, &expected, "termtape cat journal");

    let played = tlog_play_journal(&rec);
    assert!(
        played.status.success(),
        "{}",
        String::from_utf8_lossy(&played.stderr)
    );
    assert!(
        played.stdout.starts_with(&expected),
        "tlog-play plays the journal recording"
    );
}

#[test]
fn cockpit_option_names_the_recorder_tlog_rec() {
    let rec = record_to_journal("echo for cockpit", &["--cockpit"]);
    let entries = journal_json(&rec);
    assert!(!entries.is_empty());
    for e in &entries {
        assert_eq!(e["_COMM"], "tlog-rec", "Cockpit selects _COMM=tlog-rec");
        assert_eq!(e["SYSLOG_IDENTIFIER"], "tlog-rec");
    }
}

#[test]
fn tlog_rec_journal_recordings_cat_in_termtape() {
    journald();
    require("tlog-rec");
    let mut cmd = Command::new("tlog-rec");
    cmd.args([
        "-w",
        "journal",
        "sh",
        "-c",
        "printf 'from tlog: \\377\\376 ünï 🎉\\n'",
    ]);
    let rec = recording_of(cmd);
    let out = run_ok(Command::new(bin("termtape")).args(["cat", "journal", "--rec", &rec]));
    // Without a terminal tlog-rec relays through pipes: newlines stay bare.
    let mut expected = b"from tlog: \xff\xfe ".to_vec();
    expected.extend_from_slice("ünï 🎉\n".as_bytes());
    assert_bytes_eq(
        &out,
        &expected,
        "termtape cat of tlog-rec's journal recording",
    );
}

#[test]
fn journal_filters_and_directories() {
    let rec = record_to_journal("echo filtered", &[]);
    let listed = termtape_tests::listing;
    assert!(listed(&["--lax", "--user", "root", "journal"]).contains(&rec));
    assert!(!listed(&["--lax", "--user", "nobody-here", "journal"]).contains(&rec));
    assert!(!listed(&["--lax", "--until", "2000-01-01", "journal"]).contains(&rec));
    assert!(listed(&["--lax", "--since", "2000-01-01", "journal"]).contains(&rec));
    // The files journald writes, read as a directory (as on a central host
    // fed by systemd-journal-remote).
    let dir = ["/run/log/journal", "/var/log/journal"]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .expect("a journal directory");
    let spec = format!("journal:{}", dir.display());
    let out = run_ok(Command::new(bin("termtape")).args(["cat", &spec, "--rec", &rec]));
    assert_eq!(out, b"filtered\r\n");
}

#[test]
fn termtape_fields_travel_in_their_own_journal_fields() {
    // A KOI8-R session: every message carries its charset, a field tlog
    // does not know. MESSAGE must hold tlog's fields only; the reader puts
    // the rest back.
    let rec = record_to_journal(
        "printf '\\360\\322\\311\\327\\305\\324\\n'",
        &["--charset", "KOI8-R"],
    );
    let entries = journal_json(&rec);
    assert!(!entries.is_empty());
    for e in &entries {
        let message = e["MESSAGE"].as_str().expect("MESSAGE");
        let m: serde_json::Value = serde_json::from_str(message).expect("tlog message");
        assert!(
            m.get("charset").is_none(),
            "MESSAGE holds tlog's fields only: {message}"
        );
        assert_eq!(e["TERMTAPE_X_CHARSET"], "\"KOI8-R\"");
    }
    let text = run_ok(Command::new(bin("termtape")).args(["cat", "journal", "--rec", &rec]));
    assert_bytes_eq(&text, "Привет\r\n".as_bytes(), "UTF-8 text");
    let original =
        run_ok(Command::new(bin("termtape")).args(["cat", "--original", "journal", "--rec", &rec]));
    assert_bytes_eq(
        &original,
        b"\xf0\xd2\xc9\xd7\xc5\xd4\r\n",
        "the KOI8-R bytes",
    );
}

#[test]
fn follow_plays_a_session_while_it_is_recorded() {
    journald();
    let marker = format!("follow-{}", std::process::id());
    let script = format!("echo {marker}-first; sleep 2; echo {marker}-second");
    let mut recorder = termtape_tests::live_journal_recorder(&script);
    // The recording's id, from its first entry, while it still runs.
    let rec = termtape_tests::running_recording(recorder.id(), &format!("{marker}-first"));
    let mut player = Command::new(bin("termtape"))
        .args([
            "play", "--follow", "--speed", "100", "journal", "--rec", &rec,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("player");
    // Read on another thread, so that a player that stops showing the
    // session fails the test instead of hanging it.
    let mut out = player.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = std::io::Read::read(&mut out, &mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let second = format!("{marker}-second");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !String::from_utf8_lossy(&seen).contains(&second) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(bytes) => seen.extend_from_slice(&bytes),
            Err(e) => {
                let _ = Command::new("kill").arg(player.id().to_string()).status();
                let _ = player.wait();
                panic!(
                    "the player showed no {second:?} ({e}); it showed: {:?}",
                    String::from_utf8_lossy(&seen)
                );
            }
        }
    }
    assert!(String::from_utf8_lossy(&seen).contains(&format!("{marker}-first")));
    // --follow plays on until stopped.
    let _ = Command::new("kill").arg(player.id().to_string()).status();
    let _ = player.wait();
    assert!(recorder.wait().expect("recorder").success());
}

#[test]
fn screen_seeks_in_the_journal_through_keyframe_entries() {
    let script =
        "i=0; while [ $i -lt 3000 ]; do echo \"row $i of a long session\"; i=$((i+1)); done";
    let rec = record_to_journal(script, &["--keyframe-bytes", "8192"]);
    // The recording has keyframe entries a journal match can find.
    let marked = run_ok(Command::new("journalctl").args([
        "-o",
        "cat",
        &format!("TLOG_REC={rec}"),
        "TERMTAPE_KEYFRAME=1",
    ]));
    assert!(
        String::from_utf8_lossy(&marked).lines().count() > 5,
        "keyframe entries"
    );
    // The same messages without termtape's fields (MESSAGE alone): a file
    // with no keyframes, which `screen` replays from the start.
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("plain.log");
    let messages =
        run_ok(Command::new("journalctl").args(["-o", "cat", &format!("TLOG_REC={rec}")]));
    std::fs::write(&plain, &messages).expect("write");
    for at in ["0.05", "end"] {
        let seeked = run_ok(
            Command::new(bin("termtape")).args(["screen", "--at", at, "journal", "--rec", &rec]),
        );
        let replayed = Command::new(bin("termtape"))
            .args(["screen", "--at", at])
            .arg(&plain)
            .output()
            .expect("termtape screen");
        assert!(replayed.status.success());
        assert_bytes_eq(&seeked, &replayed.stdout, &format!("screen at {at}"));
    }
    let end = run_ok(Command::new(bin("termtape")).args(["screen", "journal", "--rec", &rec]));
    assert!(String::from_utf8_lossy(&end).contains("row 2999 of a long session"));
}

#[test]
fn search_finds_text_across_the_journals_recordings() {
    journald();
    require("tlog-rec");
    let marker = format!("needle-{}", std::process::id());
    let ours = record_to_journal(&format!("echo 'ours {marker}'"), &[]);
    let mut cmd = Command::new("tlog-rec");
    cmd.args([
        "-w",
        "journal",
        "sh",
        "-c",
        &format!("echo 'theirs {marker}'"),
    ]);
    let theirs = recording_of(cmd);
    let out = run_ok(Command::new(bin("termtape")).args(["search", &marker, "journal"]));
    let out = String::from_utf8(out).expect("UTF-8");
    let mut found: Vec<(&str, &str)> = out
        .lines()
        .map(|l| {
            let fields: Vec<&str> = l.splitn(5, "  ").collect();
            (fields[2], fields[4].trim())
        })
        .collect();
    found.sort();
    let mut want = [
        (ours.as_str(), format!("ours {marker}")),
        (theirs.as_str(), format!("theirs {marker}")),
    ];
    want.sort();
    let want: Vec<(&str, &str)> = want.iter().map(|(r, l)| (*r, l.as_str())).collect();
    assert_eq!(found, want, "{out}");
}

#[test]
fn termtape_fields_that_cannot_go_back_are_left_out_with_a_warning() {
    // A recorder's entry (root's: trusted) whose termtape fields are
    // damaged or hostile: a value that would smuggle a second `rec` into
    // the message, a name that is one of tlog's. Spliced back as they are,
    // either would change what the message says (or make it unreadable);
    // the reader leaves them out, says so once with a total, and plays the
    // message. An unknown field with a JSON value travels back.
    journald();
    let rec = format!("badfields-{}", std::process::id());
    let message = serde_json::json!({
        "ver": "2.3", "host": "h", "rec": rec, "user": "root", "term": "xterm",
        "session": 1, "id": 1, "pos": 0, "time": 1_700_000_000.0,
        "timing": ">6", "in_txt": "", "in_bin": [], "out_txt": "hello\n", "out_bin": [],
    });
    let entry = [
        "SYSLOG_IDENTIFIER=termtape".to_owned(),
        format!("TLOG_REC={rec}"),
        "TLOG_USER=root".to_owned(),
        "TLOG_ID=1".to_owned(),
        format!("MESSAGE={message}"),
        r#"TERMTAPE_X_KF=1,"rec":"other""#.to_owned(),
        r#"TERMTAPE_X_REC="other""#.to_owned(),
        "TERMTAPE_X_FUTURE=[1,2]".to_owned(),
    ]
    .join("\n");
    let mut logger = Command::new("logger")
        .arg("--journald")
        .stdin(Stdio::piped())
        .spawn()
        .expect("logger");
    std::io::Write::write_all(&mut logger.stdin.take().expect("stdin"), entry.as_bytes())
        .expect("write the entry");
    assert!(logger.wait().expect("logger").success());
    assert!(journal_sync());
    let out = Command::new(bin("termtape"))
        .args(["cat", "journal", "--rec", &rec])
        .output()
        .expect("termtape cat");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_bytes_eq(&out.stdout, b"hello\n", "the message plays");
    assert!(
        err.contains(&format!(
            "recording {rec} (TLOG_ID 1): journal field TERMTAPE_X_KF is not one JSON value"
        )),
        "{err}"
    );
    assert!(err.contains("2 fields left out"), "{err}");
    assert!(!err.contains("FUTURE"), "{err}");
}

#[test]
fn a_cut_central_journal_file_is_searched_up_to_the_cut_and_named() {
    journald();
    require("/lib/systemd/systemd-journal-remote");
    // Not "needle-PID": search_finds_text_across_the_journals_recordings
    // looks for that in the same journal.
    let marker = format!("cut-mark-{}", std::process::id());
    let rec = record_to_journal(&format!("echo 'before {marker}'; seq 1 40000"), &[]);
    let export =
        run_ok(Command::new("journalctl").args(["-o", "export", &format!("TLOG_REC={rec}")]));
    let dir = tempfile::tempdir().expect("tempdir");
    crate::chain::import(&export, dir.path());
    let file = dir.path().join("remote.journal");
    let search = || {
        Command::new(bin("termtape"))
            .args(["search", &marker])
            .arg(format!("journal:{}", dir.path().display()))
            .output()
            .expect("termtape search")
    };
    let whole = search();
    assert!(whole.status.success());
    assert!(String::from_utf8_lossy(&whole.stdout).contains(&format!("before {marker}")));
    assert!(
        whole.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&whole.stderr)
    );
    // Cut two thirds into the objects: the entries past the cut are gone,
    // the reading says where, and what came before is still found.
    let bytes = std::fs::read(&file).expect("read");
    let le64 = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    // Entries come after the hash tables, and end with the tail object
    // (the arena runs on to the file's preallocated end).
    let first = le64(104) + le64(112);
    let cut = (first + (le64(136) - first) * 2 / 3) as usize;
    std::fs::write(&file, &bytes[..cut]).expect("cut");
    let damaged = search();
    let stderr = String::from_utf8_lossy(&damaged.stderr);
    assert!(damaged.status.success(), "{stderr}");
    assert!(
        String::from_utf8_lossy(&damaged.stdout).contains(&format!("before {marker}")),
        "{stderr}"
    );
    let named = format!("journal file {}: damaged at offset ", file.display());
    assert!(stderr.contains(&named), "{stderr}");
    assert!(stderr.contains("past the end of the file"), "{stderr}");
}
