//! Tamper evidence: real recordings (termtape rec, signed with a key made by
//! `termtape keys generate`), tampered with as an attacker would, checked by
//! `termtape verify`, one verdict per kind of tampering; chained recordings
//! still play in the real tlog-play, from a file and from the journal.

use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use termtape_format::Encoded;
use termtape_format::chain::{self, Cadence, Chainer, SecretKey, with_links};
use termtape_format::extension::Extended;
use termtape_tests::{bin, journal_sync, journald, require, run_ok, tlog_play};

/// A key pair made by `termtape keys generate` in `dir`: (private, public).
pub(crate) fn keys(dir: &Path) -> (PathBuf, PathBuf) {
    let keys = dir.join("keys");
    let out = run_ok(
        Command::new(bin("termtape"))
            .args(["keys", "generate", "--dir"])
            .arg(&keys),
    );
    assert!(String::from_utf8_lossy(&out).contains("ed25519:"));
    (keys.join("signing.key"), keys.join("signing.pub"))
}

/// What the recorded command prints: many short lines.
const SCRIPT: &str = "for i in $(seq 1 400); do echo \"line $i of the session\"; done";

/// A recording of [`SCRIPT`] into `dir/NAME`, cut into many messages with
/// keyframes on several, sealed every 5 messages.
pub(crate) fn record(dir: &Path, name: &str, key: &Path) -> PathBuf {
    let log = dir.join(name);
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(&config, "[seal]\nmessages = 5\n").expect("config");
    run_ok(
        Command::new(bin("termtape-rec"))
            .env("TERMTAPE_CONFIG", &config)
            .args([
                "-q",
                "--payload",
                "256",
                "--keyframe-bytes",
                "1500",
                "--seal-key",
            ])
            .arg(key)
            .arg("-o")
            .arg(&log)
            .args(["--", "sh", "-c", SCRIPT])
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    log
}

/// `termtape verify --json --key PUB ARGS…`: each recording's object, and
/// the exit status.
pub(crate) fn verify(public: &Path, args: &[&str]) -> (Vec<Value>, i32) {
    let out = Command::new(bin("termtape"))
        .args(["verify", "--json", "--key"])
        .arg(public)
        .args(args)
        .output()
        .expect("termtape verify");
    let reports = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    (reports, out.status.code().expect("exited"))
}

/// The one verdict of the file `log`, with its object.
pub(crate) fn verdict_of(public: &Path, log: &Path) -> (String, Value) {
    let (reports, status) = verify(public, &[s(log)]);
    assert_eq!(reports.len(), 1, "{reports:?}");
    let report = reports.into_iter().next().expect("one");
    let verdict = report["verdict"].as_str().expect("verdict").to_owned();
    assert_eq!(
        status == 0,
        verdict == "intact",
        "exit 0 only when intact: {report}"
    );
    (verdict, report)
}

pub(crate) fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

fn lines(log: &Path) -> Vec<Vec<u8>> {
    std::fs::read(log)
        .expect("read")
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn write_lines(path: &Path, lines: &[Vec<u8>]) {
    std::fs::write(path, lines.concat()).expect("write");
}

/// The index of the first line holding `needle`, from `from` on.
fn line_with(lines: &[Vec<u8>], from: usize, needle: &str) -> usize {
    (from..lines.len())
        .find(|&i| find(&lines[i], needle).is_some())
        .unwrap_or_else(|| panic!("no line from {from} holds {needle}"))
}

fn find(hay: &[u8], needle: &str) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w == needle.as_bytes())
}

/// `line` with the first letter or digit after `after` changed to another.
pub(crate) fn flip_after(line: &[u8], after: &str) -> Vec<u8> {
    let start = find(line, after).expect("the field") + after.len();
    // Not a letter of an escape (\r, \u001b): changed, it would not be
    // JSON any more, and the verdict damage.
    let at = (start..line.len())
        .find(|&i| {
            line[i].is_ascii_alphanumeric() && !line[i.saturating_sub(5)..i].contains(&b'\\')
        })
        .expect("a letter or digit");
    let mut out = line.to_vec();
    out[at] = match out[at] {
        b'0'..=b'8' => out[at] + 1,
        b'9' => b'0',
        b'a' => b'b',
        _ => b'a',
    };
    assert_ne!(out, line);
    out
}

#[test]
fn an_untouched_recording_is_intact_and_plays_in_tlog_play() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, public) = keys(dir.path());
    let log = record(dir.path(), "a.log", &key);
    let (verdict, report) = verdict_of(&public, &log);
    assert_eq!(verdict, "intact", "{report}");
    assert_eq!(report["exit"], "0");
    assert!(report["seals"].as_u64().expect("seals") > 3, "{report}");
    // Keyframes ride on several messages, and are covered.
    let text = std::fs::read_to_string(&log).expect("read");
    assert!(text.matches("\"kf\":").count() > 2);
    // tlog-play passes over the chain and seals.
    let (played, status, stderr) = tlog_play(&log, &[]);
    assert!(status.success(), "tlog-play: {stderr}");
    let cat = run_ok(Command::new(bin("termtape")).arg("cat").arg(&log));
    assert_eq!(played, cat);
    assert!(find(&played, "line 400 of the session").is_some());
    // The text verdict, and without a trusted key: not checked, not 0.
    let out = Command::new(bin("termtape"))
        .args(["verify", "--key"])
        .arg(&public)
        .arg(&log)
        .output()
        .expect("verify");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact and complete"));
    let out = Command::new(bin("termtape"))
        .env("HOME", dir.path())
        .args([
            "verify",
            "--json",
            "--key",
            "ed25519:Y8T38fhzHD6GL8EMZAaN9AZm+Rp6dpiZEHCdG70FQiA=",
        ])
        .arg(&log)
        .output()
        .expect("verify");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"verdict\":\"other_key\""));
}

#[test]
fn every_kind_of_tampering_gets_its_verdict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, public) = keys(dir.path());
    let log = record(dir.path(), "orig.log", &key);
    let orig = lines(&log);
    assert!(orig.len() > 30, "{} messages", orig.len());
    let tampered = dir.path().join("tampered.log");
    let check = |lines: &[Vec<u8>], want: &str| -> Value {
        write_lines(&tampered, lines);
        let (verdict, report) = verdict_of(&public, &tampered);
        assert_eq!(verdict, want, "{report}");
        report
    };
    // A byte in out_txt, in timing, in a keyframe: edited, at that message.
    for (field, from) in [
        ("\"out_txt\":\"", 10),
        ("\"timing\":\"", 12),
        ("\"kf\":", 2),
    ] {
        let i = line_with(&orig, from, field);
        let mut edited = orig.clone();
        edited[i] = flip_after(&orig[i], field);
        let report = check(&edited, "edited");
        assert_eq!(report["id"], i as u64 + 1, "{field}: {report}");
    }
    // A message deleted.
    let mut deleted = orig.clone();
    deleted.remove(20);
    let report = check(&deleted, "missing");
    assert_eq!(
        (report["from"].as_u64(), report["to"].as_u64()),
        (Some(21), Some(21))
    );
    // Two swapped.
    let mut swapped = orig.clone();
    swapped.swap(15, 16);
    assert_eq!(check(&swapped, "reordered")["id"], 16);
    // One duplicated.
    let mut doubled = orig.clone();
    doubled.insert(9, orig[8].clone());
    assert_eq!(check(&doubled, "duplicated")["id"], 9);
    // One made up and put in with an id of its own.
    let mut inserted = orig.clone();
    inserted.insert(9, flip_after(&orig[8], "\"out_txt\":\""));
    assert_eq!(check(&inserted, "inserted")["id"], 9);
    // Truncated mid-line: damage; at a line end: no end mark, with the
    // messages after the last seal counted.
    let mut cut = orig[..25].to_vec();
    let half = cut[24].len() / 2;
    cut[24].truncate(half);
    check(&cut, "damaged");
    let report = check(&orig[..27], "incomplete");
    let sealed = orig[..27]
        .iter()
        .rposition(|l| find(l, "\"seal\":").is_some())
        .expect("a seal");
    assert_eq!(report["unsealed"], 26 - sealed as u64, "{report}");
    // Re-signed with another key: every message chained and sealed anew.
    let other = SecretKey::from_seed([9; 32]);
    let report = check(&resign(&orig, other), "other_key");
    assert_ne!(
        report["key"],
        std::fs::read_to_string(&public).expect("pub").trim()
    );
    // The end mark lifted from the last message onto an earlier seal.
    let mut early = orig[..sealed + 1].to_vec();
    let line = String::from_utf8(early[sealed].clone()).expect("utf-8");
    early[sealed] = line
        .replacen("\"v\":1,", "\"v\":1,\"end\":true,", 1)
        .into_bytes();
    check(&early, "edited");
}

/// `lines`, chained and sealed anew with `key`, as a forger holding
/// another key would.
fn resign(lines: &[Vec<u8>], key: SecretKey) -> Vec<Vec<u8>> {
    let mut chainer = Chainer::new(Ok(key), Cadence::default());
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let split = chain::split_line(line.trim_ascii_end()).expect("valid");
            let body: Vec<String> = split
                .members
                .iter()
                .map(|(n, v): &(Cow<'_, str>, &str)| {
                    format!("{}:{v}", serde_json::to_string(n).expect("name"))
                })
                .collect();
            let json = format!("{{{}}}\n", body.join(","));
            let pos = split.get("pos").and_then(|p| p.parse().ok()).unwrap_or(0);
            let m = Extended::plain(Encoded {
                id: i as u64 + 1,
                pos,
                time: 0,
                json: json.as_bytes(),
                input_end: 0,
                output_end: 0,
            });
            let links = chainer.link(&m, i + 1 == lines.len()).expect("valid");
            let fields = with_links(&[], &links);
            let mut buf = Vec::new();
            Extended {
                message: m.message,
                fields: &fields,
            }
            .file_form(&mut buf)
            .expect("an object")
            .to_vec()
        })
        .collect()
}

#[test]
fn a_killed_recorder_leaves_an_intact_recording_without_its_end_mark() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, public) = keys(dir.path());
    let log = dir.path().join("killed.log");
    let mut child = Command::new(bin("termtape-rec"))
        .args(["-q", "--latency", "0.05", "--payload", "256", "--seal-key"])
        .arg(&key)
        .arg("-o")
        .arg(&log)
        .args(["--", "sh", "-c", "seq 1 3000; echo all-out; sleep 60"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("termtape-rec");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read(&log).is_ok_and(|b| find(&b, "all-out").is_some()) {
        assert!(Instant::now() < deadline, "the output was not recorded");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let (verdict, report) = verdict_of(&public, &log);
    assert_eq!(verdict, "incomplete", "{report}");
    assert!(report["unsealed"].as_u64().is_some());
    assert_eq!(report["exit"], Value::Null);
}

#[test]
fn tlog_rec_recordings_are_unsigned() {
    require("tlog-rec");
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, public) = keys(dir.path());
    let log = dir.path().join("tlog.log");
    run_ok(
        Command::new("tlog-rec")
            .args(["-w", "file", "-o"])
            .arg(&log)
            .args(["sh", "-c", "echo hello"])
            .stdin(Stdio::null()),
    );
    let (verdict, report) = verdict_of(&public, &log);
    assert_eq!(verdict, "unsigned", "{report}");
    assert_eq!(report["chained"], false);
}

#[test]
fn a_recorder_without_its_key_records_chained_and_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, public) = keys(dir.path());
    let log = dir.path().join("nokey.log");
    run_ok(
        Command::new(bin("termtape-rec"))
            .args(["-q", "--seal-key"])
            .arg(dir.path().join("missing.key"))
            .arg("-o")
            .arg(&log)
            .args(["--", "echo", "hi"])
            .stdin(Stdio::null()),
    );
    let (verdict, report) = verdict_of(&public, &log);
    assert_eq!(verdict, "unsigned", "{report}");
    assert_eq!(report["chained"], true);
    assert!(
        report["reason"]
            .as_str()
            .is_some_and(|r| r.contains("missing.key")),
        "{report}"
    );
    // --no-chain: tlog's messages only.
    let plain = dir.path().join("plain.log");
    run_ok(
        Command::new(bin("termtape-rec"))
            .args(["-q", "--no-chain", "-o"])
            .arg(&plain)
            .args(["--", "echo", "hi"])
            .stdin(Stdio::null()),
    );
    assert!(
        !std::fs::read_to_string(&plain)
            .expect("read")
            .contains("\"chain\"")
    );
}

#[test]
fn archives_verify_as_their_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, public) = keys(dir.path());
    let log = record(dir.path(), "a.log", &key);
    let out = dir.path().join("archived");
    run_ok(Command::new(bin("termtape")).args(["archive", "-o", s(&out), s(&log)]));
    let zst = std::fs::read_dir(&out)
        .expect("dir")
        .next()
        .expect("an archive")
        .expect("entry")
        .path();
    let (verdict, report) = verdict_of(&public, &zst);
    assert_eq!(verdict, "intact", "{report}");
}

/// Records `script` to the journal with `key`: the recording's id.
pub(crate) fn record_to_journal(key: &Path, script: &str) -> String {
    journald();
    let child = Command::new(bin("termtape-rec"))
        .args([
            "-q",
            "-w",
            "journal",
            "--payload",
            "256",
            "--keyframe-bytes",
            "1500",
            "--seal-key",
        ])
        .arg(key)
        .args(["--", "sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("termtape-rec");
    let pid = child.id();
    let out = child.wait_with_output().expect("recorded");
    assert!(out.status.success());
    assert!(journal_sync());
    let json = run_ok(Command::new("journalctl").args(["-o", "json", &format!("_PID={pid}")]));
    String::from_utf8_lossy(&json)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|e| e["TLOG_REC"].as_str().map(str::to_owned))
        .next_back()
        .expect("the recording's entries")
}

/// The entries of a journal export (`journalctl -o export`), each whole.
fn export_entries(export: &[u8]) -> Vec<Vec<u8>> {
    let mut entries = Vec::new();
    let mut entry = Vec::new();
    let mut at = 0;
    while at < export.len() {
        let end = at
            + export[at..]
                .iter()
                .position(|&b| b == b'\n')
                .expect("a line");
        let line = &export[at..end];
        if line.is_empty() {
            entry.push(b'\n');
            entries.push(std::mem::take(&mut entry));
            at = end + 1;
            continue;
        }
        let mut next = end + 1;
        if !line.contains(&b'=') {
            // A binary field: a little-endian length, the bytes, a newline.
            let len = u64::from_le_bytes(export[next..next + 8].try_into().expect("8 bytes"));
            next += 8 + len as usize + 1;
        }
        entry.extend_from_slice(&export[at..next]);
        at = next;
    }
    entries
}

/// Imports `export` into a journal file in `dir` with systemd-journal-remote.
pub(crate) fn import(export: &[u8], dir: &Path) {
    std::fs::create_dir_all(dir).expect("dir");
    let mut child = Command::new("/lib/systemd/systemd-journal-remote")
        .arg(format!("--output={}/remote.journal", dir.display()))
        .arg("-")
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("systemd-journal-remote");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(export)
        .expect("written");
    assert!(child.wait().expect("done").success());
}

#[test]
fn journal_recordings_verify_there_and_in_an_export_and_play_in_tlog_play() {
    require("/lib/systemd/systemd-journal-remote");
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, public) = keys(dir.path());
    let marker = format!("journal-chain-{}", std::process::id());
    let rec = record_to_journal(&key, &format!("echo {marker}; {SCRIPT}"));
    let (reports, status) = verify(&public, &["--rec", &rec, "journal"]);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["verdict"], "intact", "{:?}", reports[0]);
    assert_eq!(status, 0);
    // Cockpit's and tlog-play's MESSAGE holds tlog's fields only.
    let played = termtape_tests::tlog_play_journal(&rec);
    assert!(
        played.status.success(),
        "{}",
        String::from_utf8_lossy(&played.stderr)
    );
    assert!(find(&played.stdout, &marker).is_some());
    assert!(find(&played.stdout, "line 400 of the session").is_some());
    // Exported and imported whole: intact; with an entry left out: missing.
    let export =
        run_ok(Command::new("journalctl").args(["-o", "export", &format!("TLOG_REC={rec}")]));
    let entries = export_entries(&export);
    assert!(entries.len() > 20, "{} entries", entries.len());
    let whole = dir.path().join("whole");
    import(&entries.concat(), &whole);
    let (reports, _) = verify(
        &public,
        &["--rec", &rec, &format!("journal:{}", whole.display())],
    );
    assert_eq!(reports[0]["verdict"], "intact", "{:?}", reports[0]);
    let mut cut = entries.clone();
    cut.remove(12);
    let less = dir.path().join("less");
    import(&cut.concat(), &less);
    let (reports, status) = verify(
        &public,
        &["--rec", &rec, &format!("journal:{}", less.display())],
    );
    assert_eq!(reports[0]["verdict"], "missing", "{:?}", reports[0]);
    assert_eq!(reports[0]["from"], 13);
    assert_eq!(status, 1);
}

#[test]
fn ls_and_play_show_the_verdict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, public) = keys(dir.path());
    let log = record(dir.path(), "a.log", &key);
    let mut lines = lines(&log);
    lines.remove(5);
    let cut = dir.path().join("cut.log");
    write_lines(&cut, &lines);
    for (file, want) in [(&log, "intact"), (&cut, "MISSING id 6")] {
        let out = run_ok(
            Command::new(bin("termtape"))
                .args(["ls", "--verify", "--key"])
                .arg(&public)
                .arg(file),
        );
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.lines().next().is_some_and(|h| h.contains("VERIFY")),
            "{text}"
        );
        assert!(text.contains(want), "{text}");
        let out = run_ok(
            Command::new(bin("termtape"))
                .args(["ls", "--json", "--verify", "--key"])
                .arg(&public)
                .arg(file),
        );
        let v: Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(v["verify"]["ok"], file == &log, "{v}");
        assert!(v["verify"]["verdict"].is_string(), "{v}");
    }
    // The player's status line says it too.
    require("tmux");
    let tmux = crate::keyframes::play_in_tmux(dir.path(), &["--seek", "end"], &cut, (160, 30));
    crate::keyframes::wait_for(&tmux, "[MISSING id 6]");
    tmux.run(&["send-keys", "-t", "kf", "q"]);
    crate::keyframes::wait_for(&tmux, "played 0");
}

#[test]
fn a_recording_with_rate_limit_gaps_is_intact_and_its_gaps_are_sealed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, public) = keys(dir.path());
    let log = dir.path().join("dropped.log");
    run_ok(
        Command::new(bin("termtape-rec"))
            .args([
                "-q",
                "--limit-action",
                "drop",
                "--limit-rate",
                "3000",
                "--limit-burst",
                "6000",
            ])
            .args(["--seal-key"])
            .arg(&key)
            .arg("-o")
            .arg(&log)
            .args(["--", "sh", "-c", "seq 1 100000"])
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let text = std::fs::read_to_string(&log).expect("read");
    let gaps: Vec<&str> = text.lines().filter(|l| l.contains("\"gap\":")).collect();
    assert!(!gaps.is_empty(), "the limit dropped messages");
    assert!(
        gaps.iter().all(|l| l.contains("\"seal\":")),
        "every gap is sealed"
    );
    let (verdict, report) = verdict_of(&public, &log);
    assert_eq!(verdict, "intact", "{report}");
    // A gap mark that lies about how much was dropped is caught.
    let forged = text.replacen("{\"messages\":", "{\"messages\":1", 1);
    let forged_log = dir.path().join("forged.log");
    std::fs::write(&forged_log, forged).expect("write");
    let (verdict, report) = verdict_of(&public, &forged_log);
    assert_ne!(verdict, "intact", "{report}");
}
