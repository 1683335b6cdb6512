//! Listing a journal without reading every message (issue 14): `termtape
//! ls` gives, for termtape's recordings, tlog-rec's, a live one and one
//! into which a non-recorder uid forged entries (summary totals, an exit,
//! a recording of its own), what reading every message gives
//! (`--read-all`); the forgeries neither change nor add a recording.

use std::process::{Command, Stdio};

use termtape_tests::{bin, journal_sync, journald, require, run_ok, tlog_play_journal};

use crate::journal::{record_to_journal, recording_of};
use crate::trust::{FORGER, forge, forger};

/// `termtape ls --json ARGS`: its objects.
fn ls(args: &[&str]) -> Vec<serde_json::Value> {
    let out = run_ok(
        Command::new(bin("termtape"))
            .args(["ls", "--json"])
            .args(args),
    );
    String::from_utf8_lossy(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("ls --json line"))
        .collect()
}

/// The one object `ls` gives for `rec`, by the index and by reading all.
fn both(rec: &str) -> (serde_json::Value, serde_json::Value) {
    let quick = ls(&["journal", "--rec", rec]);
    let read = ls(&["--read-all", "journal", "--rec", rec]);
    assert_eq!(quick.len(), 1, "{quick:?}");
    assert_eq!(read.len(), 1, "{read:?}");
    (quick[0].clone(), read[0].clone())
}

/// The TERMTAPE_TOTALS of a recording's entries, in order.
fn totals(rec: &str) -> Vec<String> {
    let out = run_ok(Command::new("journalctl").args(["-o", "json", &format!("TLOG_REC={rec}")]));
    String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| {
            let e: serde_json::Value = serde_json::from_str(l).ok()?;
            e["TERMTAPE_TOTALS"].as_str().map(str::to_owned)
        })
        .collect()
}

#[test]
fn listing_by_the_index_matches_reading_every_message() {
    journald();
    forger();
    let dir = tempfile::tempdir().expect("tempdir");
    // termtape's writer: several messages, a nested-login-free session
    // with an exit status; and one with a rate limit that drops messages.
    let ours = record_to_journal(
        "for i in $(seq 1 300); do echo \"line $i: héllo\"; done",
        &["--latency", "0.05", "--payload", "1024"],
    );
    let limited = record_to_journal(
        "seq 1 20000",
        &[
            "--payload",
            "2048",
            "--limit-rate",
            "4096",
            "--limit-burst",
            "8192",
            "--limit-action",
            "drop",
        ],
    );
    let every = totals(&ours);
    assert!(every.len() > 3, "every entry carries totals: {every:?}");
    // tlog-rec's, without totals: read whole.
    require("tlog-rec");
    let mut tlog = Command::new("tlog-rec");
    tlog.args(["-w", "journal", "sh", "-c", "echo from tlog; seq 1 50"]);
    let theirs = recording_of(tlog);
    assert!(totals(&theirs).is_empty());

    // tlog-play still plays a recording whose entries carry the totals
    // (before the forgeries below, which it would read as its messages).
    let played = tlog_play_journal(&ours);
    assert!(
        played.status.success(),
        "{}",
        String::from_utf8_lossy(&played.stderr)
    );
    assert!(String::from_utf8_lossy(&played.stdout).contains("line 300: héllo"));

    // A live one: its first message written, its recorder still running.
    let mut live = Command::new(bin("termtape"))
        .args(["rec", "-w", "journal", "--latency", "0.1", "--"])
        .args([
            "sh",
            "-c",
            &format!("echo live-index-{}; sleep 60", std::process::id()),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn recorder");
    let marker = format!("live-index-{}", std::process::id());
    let live_rec = termtape_tests::running_recording(live.id(), &marker);

    // A local user forges: totals and an exit into the real recordings,
    // and a recording of its own with totals.
    let message = |rec: &str, id: u64| {
        serde_json::json!({
            "ver": "2.3", "host": "vm", "rec": rec, "user": "root", "term": "xterm",
            "session": 1, "id": id, "pos": 999_000, "time": 1_795_708_038.041,
            "timing": ">4", "in_txt": "", "in_bin": [], "out_txt": "lie\n", "out_bin": []
        })
        .to_string()
    };
    let fake = format!("forged-index-{}", std::process::id());
    let huge = r#"{"v":1,"m":1,"o":999999999,"i":0,"g":0,"gm":0,"gb":0,"l":0}"#;
    for rec in [&ours, &live_rec, &fake] {
        forge(
            dir.path(),
            &[
                "SYSLOG_IDENTIFIER=termtape".to_owned(),
                "TLOG_USER=root".to_owned(),
                format!("TLOG_REC={rec}"),
                "TLOG_ID=99".to_owned(),
                format!("MESSAGE={}", message(rec, 99)),
                format!("TERMTAPE_TOTALS={huge}"),
                r#"TERMTAPE_X_EXIT={"code":0}"#.to_owned(),
            ],
        );
    }
    assert!(journal_sync());

    for rec in [&ours, &limited, &theirs, &live_rec] {
        let (quick, read) = both(rec);
        assert_eq!(quick, read, "{rec}");
    }
    let (quick, _) = both(&ours);
    assert_eq!(quick["exit"], serde_json::json!({"code": 0}), "{quick}");
    assert_ne!(quick["output_bytes"], 999_999_999, "{quick}");
    let (limited_quick, _) = both(&limited);
    assert!(
        limited_quick["gaps"]["count"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "the rate limit dropped messages: {limited_quick}"
    );
    let (live_quick, _) = both(&live_rec);
    assert_eq!(live_quick["live"], true, "{live_quick}");
    assert_eq!(live_quick["exit"], serde_json::Value::Null, "{live_quick}");

    // Every recording of the journal: the forged one is left out, its
    // sender named; asked for, it is listed, marked, as reading lists it.
    let out = Command::new(bin("termtape"))
        .args(["ls", "--json", "journal", "--user", "root"])
        .output()
        .expect("ls");
    assert!(out.status.success());
    let listed = String::from_utf8_lossy(&out.stdout);
    for rec in [&ours, &limited, &live_rec] {
        assert!(listed.contains(rec.as_str()), "{rec} listed");
    }
    assert!(!listed.contains(&fake), "{listed}");
    let uid = String::from_utf8_lossy(&run_ok(Command::new("id").args(["-u", FORGER])))
        .trim()
        .to_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("uid {uid} (python3")), "{err}");
    let quick = ls(&["--unverified", "journal", "--rec", &fake]);
    let read = ls(&["--unverified", "--read-all", "journal", "--rec", &fake]);
    assert_eq!(quick, read);
    assert!(
        quick[0]["unverified"]
            .as_str()
            .is_some_and(|s| s.starts_with(&format!("uid {uid}"))),
        "{quick:?}"
    );

    live.kill().expect("stop the live recorder");
    live.wait().expect("reap");
}

/// A recording made by termtape-rec into `log`, of `script`.
fn record_file(log: &std::path::Path, script: &str) {
    run_ok(
        Command::new(bin("termtape-rec"))
            .args(["-q", "--payload", "512", "--keyframe-bytes", "1500", "-o"])
            .arg(log)
            .args(["--", "sh", "-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
}

#[test]
fn a_files_sidecar_index_lists_as_reading_every_message_as_the_file_grows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let central = dir.path().join("central.log");
    let mut all = Vec::new();
    for i in 0..3 {
        let log = dir.path().join(format!("{i}.log"));
        record_file(
            &log,
            &format!("for i in $(seq 1 200); do echo \"host {i} line $i\"; done"),
        );
        all.extend(std::fs::read(&log).expect("log"));
    }
    std::fs::write(&central, &all).expect("central file");
    let name = central.display().to_string();
    let out = Command::new(bin("termtape"))
        .arg("index")
        .arg(&central)
        .output()
        .expect("termtape index");
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("3 recordings indexed"), "{said}");
    let index = dir.path().join("central.log.termtape-index");
    let indexed_len = std::fs::metadata(&index).expect("index").len();
    let same = || {
        let quick = ls(&[&name]);
        let read = ls(&["--read-all", &name]);
        assert_eq!(quick, read);
        quick
    };
    assert_eq!(same().len(), 3);
    // Another host's recording appended: listed, and the index covers it.
    let fourth = dir.path().join("3.log");
    record_file(&fourth, "echo 'a fourth host'");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&central)
        .expect("open");
    std::io::Write::write_all(&mut file, &std::fs::read(&fourth).expect("log")).expect("appended");
    assert_eq!(same().len(), 4);
    assert!(std::fs::metadata(&index).expect("index").len() > indexed_len);
    // By recording, and a recording the index does not know of.
    let rec = same()[2]["rec"].as_str().expect("rec").to_owned();
    assert_eq!(
        ls(&[&name, "--rec", &rec]),
        ls(&["--read-all", &name, "--rec", &rec])
    );
    // A screen of each recording, at moments in it, as without the
    // index: the seek looks for keyframes where the index says.
    let screens = || -> Vec<Vec<u8>> {
        let mut all = Vec::new();
        for r in same() {
            let rec = r["rec"].as_str().expect("rec").to_owned();
            for at in ["0", "0.05", "0.1", "10"] {
                all.push(run_ok(
                    Command::new(bin("termtape"))
                        .args(["screen", "--at", at, "--rec", &rec])
                        .arg(&central),
                ));
            }
        }
        all
    };
    let with_index = screens();
    let aside = dir.path().join("aside");
    std::fs::rename(&index, &aside).expect("index put aside");
    assert_eq!(with_index, screens());
    std::fs::rename(&aside, &index).expect("index back");
    // An index that puts a recording's start at a later keyframe of it
    // (its file changed in place): the seek sees it is not the start and
    // looks at the whole file; the screens stay right.
    let text = std::fs::read_to_string(&central).expect("central");
    let first_rec = same()[0]["rec"].as_str().expect("rec").to_owned();
    let mut offset = 0;
    let mut later = None;
    for line in text.split_inclusive('\n') {
        if line.contains(&format!("\"rec\":\"{first_rec}\""))
            && line.contains("\"kf\":")
            && !line.contains("\"id\":1,")
        {
            later = Some(offset);
            break;
        }
        offset += line.len();
    }
    let later = later.expect("a later keyframe of the first recording");
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&index).expect("index")).expect("index JSON");
    value["lister"]["listed"][0]["first"] = later.into();
    std::fs::write(&index, value.to_string()).expect("index written");
    assert_eq!(with_index, screens());
    // Not for an index or a directory.
    // Nor for the journal, which journald indexes.
    let journal = format!("journal:{}", dir.path().display());
    for bad in [
        index.display().to_string(),
        dir.path().display().to_string(),
        journal,
    ] {
        let out = Command::new(bin("termtape"))
            .args(["index", &bad])
            .output()
            .expect("termtape index");
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains(&bad), "{said}");
    }
}
