//! The JSON lines other programs (a web player) read: `ls --json`,
//! `search --json` and `events`, on files, standard input and a real
//! journald, with real recordings; the events from a moment, fed to a
//! terminal emulator, give the screen `termtape screen --at` shows.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use termtape_emu::Terminal;
use termtape_tests::{
    bin, journal_sync, journald, live_journal_recorder, run_ok, running_recording,
};

use crate::charset::{KOI8R, iconv, koi8r_recording};
use crate::journal::record_to_journal;

/// `termtape ARGS`, its output whatever its status.
fn termtape(args: &[&str], stdin: Stdio) -> Output {
    Command::new(bin("termtape"))
        .args(args)
        .stdin(stdin)
        .output()
        .expect("running termtape")
}

/// The JSON objects of a command's standard output, one per line.
fn objects(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8(stdout.to_vec())
        .expect("JSON lines are UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `termtape ARGS` that must succeed: its JSON objects.
fn json(args: &[&str]) -> Vec<Value> {
    objects(&run_ok(Command::new(bin("termtape")).args(args)))
}

/// Records `script` (under sh) into `log` with extra recorder options.
fn record(log: &Path, script: &str, extra: &[&str]) {
    let out = Command::new(bin("termtape"))
        .arg("rec")
        .arg("-o")
        .arg(log)
        .args(extra)
        .args(["--", "sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .expect("termtape rec");
    assert!(out.status.success(), "termtape rec: {out:?}");
}

/// The screen the events give at `at` ms: the keyframe restored, then
/// every event at or before it applied, as a web player would.
fn screen_from(events: &[Value], at: u64) -> String {
    let kf = &events[0];
    assert_eq!(kf["type"], "keyframe", "{kf}");
    let size = |v: &Value| v.as_u64().expect("a size") as u16;
    let mut term = Terminal::from_snapshot(
        size(&kf["cols"]),
        size(&kf["rows"]),
        kf["vt"].as_str().expect("vt"),
    );
    if let Some(tail) = kf["tail"].as_array() {
        let tail: Vec<u8> = tail
            .iter()
            .map(|b| b.as_u64().expect("byte") as u8)
            .collect();
        term.feed(&tail);
    }
    for e in &events[1..] {
        if e["at"].as_u64().expect("at") > at {
            break;
        }
        match e["type"].as_str().expect("type") {
            "output" => match e["text"].as_str() {
                Some(text) => term.feed(text.as_bytes()),
                None => {
                    let bytes: Vec<u8> = e["bytes"]
                        .as_array()
                        .expect("text or bytes")
                        .iter()
                        .map(|b| b.as_u64().expect("byte") as u8)
                        .collect();
                    term.feed(&bytes);
                }
            },
            "resize" => term.resize(size(&e["cols"]), size(&e["rows"])),
            _ => {}
        }
    }
    term.text()
}

/// `termtape screen --at T SOURCE ARGS`: the text it prints.
fn screen_at(at: &str, source: &[&str]) -> String {
    let mut args = vec!["screen", "--at", at];
    args.extend_from_slice(source);
    let text = String::from_utf8(run_ok(Command::new(bin("termtape")).args(&args))).expect("utf8");
    text.strip_suffix('\n').unwrap_or(&text).to_owned()
}

/// Checks that at each moment the events give `screen --at`'s screen;
/// returns how the first screen came (`from` of the keyframes).
fn events_agree_with_screen(
    source: &[&str],
    moments: &[&str],
    stdin: Option<&Path>,
) -> Vec<String> {
    let mut froms = Vec::new();
    for at in moments {
        let mut args = vec!["events", "--at", at];
        args.extend_from_slice(source);
        let input = match stdin {
            Some(path) => Stdio::from(std::fs::File::open(path).expect("open")),
            None => Stdio::null(),
        };
        let out = termtape(&args, input);
        assert!(out.status.success(), "events --at {at}: {out:?}");
        let events = objects(&out.stdout);
        assert!(events.iter().all(|e| e["v"] == 1), "every object has v: 1");
        let last = events.last().expect("objects");
        assert_eq!(last["type"], "end", "{last}");
        let ms = events[0]["seek"].as_u64().unwrap_or(u64::MAX);
        let want_source: Vec<&str> = match stdin {
            // screen reads the same file; events read it from stdin.
            Some(path) => vec![path.to_str().expect("path")],
            None => source.to_vec(),
        };
        assert_eq!(
            screen_from(&events, ms),
            screen_at(at, &want_source),
            "the screen at {at} from {source:?}"
        );
        froms.push(events[0]["from"].as_str().expect("from").to_owned());
    }
    froms
}

/// A script with output spread over about a second, in screenfuls.
const ROWS: &str = "i=0; while [ $i -lt 40 ]; do seq $((i*50)) $((i*50+49)) | sed 's/^/row /'; \
                    i=$((i+1)); sleep 0.02; done; echo the end";

#[test]
fn ls_json_tells_each_recording_with_a_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("s.log");
    record(&log, "echo hello", &["--log-input"]);
    let listed = json(&["ls", "--json", log.to_str().expect("path")]);
    assert_eq!(listed.len(), 1);
    let r = &listed[0];
    assert_eq!(r["v"], 1);
    for field in [
        "rec",
        "user",
        "host",
        "term",
        "start",
        "end",
        "duration",
        "messages",
        "output_bytes",
        "input_bytes",
        "gaps",
        "unverified",
        "logins",
        "tty",
        "pty",
        "remote",
        "remote_from",
        "command",
        "exit",
        "live",
    ] {
        assert!(r.get(field).is_some(), "{field} in {r}");
    }
    assert_eq!(
        r["end"].as_u64(),
        Some(r["start"].as_u64().expect("start") + r["duration"].as_u64().expect("duration"))
    );
    assert_eq!(r["exit"], serde_json::json!({"code": 0}));
    assert_eq!(r["live"], false, "its exit is recorded");
    assert_eq!(r["command"], serde_json::json!(["sh", "-c", "echo hello"]));
    assert!(r["output_bytes"].as_u64() >= Some(6), "{r}");

    // Without an exit (as tlog writes), a recording written just now is
    // live; a tlog recording of long ago is not.
    let text = std::fs::read_to_string(&log).expect("read");
    let stripped: Vec<String> = text
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).expect("json");
            v.as_object_mut().expect("object").remove("exit");
            v.to_string()
        })
        .collect();
    let open = dir.path().join("open.log");
    std::fs::write(&open, stripped.join("\n") + "\n").expect("write");
    let listed = json(&["ls", "--json", open.to_str().expect("path")]);
    assert_eq!(
        (listed[0]["live"].clone(), listed[0]["exit"].clone()),
        (Value::Bool(true), Value::Null)
    );
    let corpus = termtape_tests::corpus_dir();
    let old = std::fs::read_dir(&corpus)
        .expect("corpus")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "log"))
        .expect("a tlog recording in the corpus");
    for r in json(&["ls", "--json", old.to_str().expect("path")]) {
        assert_eq!(
            (r["v"].clone(), r["live"].clone()),
            (Value::from(1), Value::Bool(false)),
            "{r}"
        );
    }
}

#[test]
fn search_json_carries_its_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("s.log");
    record(&log, "echo needle-in-json", &[]);
    let found = json(&[
        "search",
        "--json",
        "needle-in-json",
        log.to_str().expect("path"),
    ]);
    assert!(!found.is_empty());
    assert!(
        found
            .iter()
            .all(|f| f["v"] == 1 && f["line"].as_str().is_some_and(|l| l.contains("needle")))
    );
}

#[test]
fn events_from_a_moment_give_the_screen_there_from_a_file_and_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("rows.log");
    record(
        &log,
        ROWS,
        &["--keyframe-bytes", "4096", "--latency", "0.01"],
    );
    let path = log.to_str().expect("path");
    let moments = ["0", "0.3", "0.5", "0.77", "end", "999"];
    let froms = events_agree_with_screen(&[path], &moments, None);
    assert!(froms.iter().skip(1).all(|f| f == "keyframe"), "{froms:?}");
    // Standard input is read once: the screen is replayed up to the moment.
    let froms = events_agree_with_screen(&["-"], &moments, Some(&log));
    assert!(froms.iter().all(|f| f == "replay"), "{froms:?}");
    // --to stops there.
    let out = termtape(
        &["events", "--at", "0.3", "--to", "0.5", path],
        Stdio::null(),
    );
    let events = objects(&out.stdout);
    let end = events.last().expect("objects");
    assert_eq!(
        (end["type"].as_str(), end["reason"].as_str()),
        (Some("end"), Some("to"))
    );
    assert!(
        events.iter().all(|e| e["type"] == "keyframe"
            || e["type"] == "end"
            || e["at"].as_u64() <= Some(500))
    );
}

#[test]
fn events_from_the_journal_through_its_keyframe_entries() {
    let rec = record_to_journal(ROWS, &["--keyframe-bytes", "4096", "--latency", "0.01"]);
    let source = ["journal", "--rec", rec.as_str()];
    let froms = events_agree_with_screen(&source, &["0", "0.4", "0.8", "end"], None);
    assert!(froms.iter().skip(1).all(|f| f == "keyframe"), "{froms:?}");
    // The listing has it, ended.
    let listed = json(&["ls", "--json", "journal", "--rec", &rec]);
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0]["v"].clone(), listed[0]["live"].clone()),
        (Value::from(1), Value::Bool(false))
    );
    assert!(listed[0]["exit"].is_object(), "{}", listed[0]);
}

#[test]
fn events_of_a_koi8r_session_are_its_utf8_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = koi8r_recording(dir.path());
    // The recording really holds KOI8-R bytes as their original.
    let original = run_ok(
        Command::new(bin("termtape"))
            .args(["cat", "--original"])
            .arg(&log),
    );
    let koi8 = iconv(KOI8R.text.as_bytes(), "UTF-8", KOI8R.charset);
    assert!(original.windows(koi8.len()).any(|w| w == koi8.as_slice()));
    let events = json(&["events", log.to_str().expect("path")]);
    let text: String = events
        .iter()
        .filter(|e| e["type"] == "output")
        .map(|e| e["text"].as_str().expect("UTF-8 text, not bytes"))
        .collect();
    assert!(text.contains(KOI8R.text), "{text}");
}

#[test]
fn hostile_output_is_carried_intact_inside_json_strings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("hostile.log");
    let hostile =
        "<script>alert(1)</script>\x1b]52;c;Y3VybCBldmlsfHNo\x07\x1b]0;pwned-title\x07\u{9b}6n";
    record(
        &log,
        "stty -opost; printf '<script>alert(1)</script>\\033]52;c;Y3VybCBldmlsfHNo\\007\\033]0;pwned-title\\007\\302\\2336n'",
        &[],
    );
    let out = termtape(&["events", log.to_str().expect("path")], Stdio::null());
    assert!(out.status.success(), "{out:?}");
    // Nothing raw: no ESC, BEL or C1 byte reaches whoever reads the lines.
    let raw = String::from_utf8(out.stdout.clone()).expect("utf8");
    assert!(!raw.contains(['\x1b', '\x07', '\u{9b}']), "{raw}");
    let text: String = objects(&out.stdout)
        .iter()
        .filter(|e| e["type"] == "output")
        .map(|e| e["text"].as_str().expect("text").to_owned())
        .collect();
    assert!(text.contains(hostile), "exactly as recorded: {text:?}");
    // A screen replayed to the end restates the title the recording set,
    // escaped too.
    let input = Stdio::from(std::fs::File::open(&log).expect("open"));
    let out = termtape(&["events", "--at", "end", "-"], input);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(['\x1b', '\x07']));
    let events = objects(&out.stdout);
    assert_eq!(events[0]["from"], "replay");
    let vt = events[0]["vt"].as_str().expect("vt");
    assert!(vt.contains("\x1b]0;pwned-title\x07"), "{vt:?}");
}

#[test]
fn a_damaged_log_is_named_with_its_line_and_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("rows.log");
    record(
        &log,
        ROWS,
        &["--keyframe-bytes", "4096", "--latency", "0.01"],
    );
    let text = std::fs::read_to_string(&log).expect("read");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let n = lines.len();
    assert!(n > 20, "{n} lines");
    // A line near the end cut short (as a full disk leaves it), after the
    // keyframe a seek to the middle starts from.
    let bad = n - 3;
    let half = lines[bad - 1].len() / 2;
    lines[bad - 1].truncate(half);
    let damaged = dir.path().join("damaged.log");
    std::fs::write(&damaged, lines.join("\n") + "\n").expect("write");
    let path = damaged.to_str().expect("path");
    for at in ["0", "0.6"] {
        let out = termtape(&["events", "--at", at, path], Stdio::null());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--at {at}: {stderr}");
        assert!(
            stderr.contains(&format!("{path}:line {bad}")),
            "--at {at}: {stderr}"
        );
        // What came before the damage was sent.
        assert_eq!(objects(&out.stdout)[0]["type"], "keyframe");
    }
    // --lax passes over it and says so.
    let out = termtape(&["events", "--lax", path], Stdio::null());
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("line {bad}")));
}

/// Lines of a child's standard output, read on another thread so that a
/// test reads them with a deadline and never hangs.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Stops a child by its pid (if it still runs) and reaps it.
fn stop(child: &mut Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

/// Waits (20 s at most) for a child to exit by itself.
fn exits_by_itself(child: &mut Child) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    stop(child);
    None
}

#[test]
fn a_live_journal_recording_is_listed_live_and_followed_to_its_end() {
    journald();
    let marker = format!("live-events-{}", std::process::id());
    let script = format!("echo {marker}-first; sleep 3; echo {marker}-second");
    let mut recorder = live_journal_recorder(&script);
    let rec = running_recording(recorder.id(), &format!("{marker}-first"));
    let listed = json(&["ls", "--json", "journal", "--rec", &rec]);
    assert_eq!(listed[0]["live"], true, "{}", listed[0]);
    let mut events = Command::new(bin("termtape"))
        .args(["events", "--follow", "journal", "--rec", &rec])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("events");
    let rx = lines_of(&mut events);
    let mut seen: Vec<Value> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.last().is_none_or(|e| e["type"] != "end") {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(serde_json::from_str(&line).expect("json")),
            Err(e) => {
                stop(&mut events);
                panic!("no end of the followed recording ({e}); seen: {seen:?}");
            }
        }
    }
    let text: String = seen
        .iter()
        .filter(|e| e["type"] == "output")
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert!(text.contains(&format!("{marker}-second")), "{text}");
    assert!(seen.iter().any(|e| e["type"] == "exit"), "{seen:?}");
    let status = exits_by_itself(&mut events).expect("events ends with the recording");
    assert!(status.success());
    assert!(recorder.wait().expect("recorder").success());
    assert!(journal_sync());
    let listed = json(&["ls", "--json", "journal", "--rec", &rec]);
    assert_eq!(listed[0]["live"], false, "{}", listed[0]);
}

#[test]
fn a_followed_recording_ends_when_its_reader_goes_away() {
    journald();
    let marker = format!("reader-gone-{}", std::process::id());
    let script = format!("echo {marker}; sleep 30");
    let mut recorder = live_journal_recorder(&script);
    let rec = running_recording(recorder.id(), &marker);
    let mut events = Command::new(bin("termtape"))
        .args(["events", "--follow", "journal", "--rec", &rec])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("events");
    // The first line, read on another thread (with a deadline here), which
    // hands the pipe back so that this test can close it.
    let mut out = events.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while let Ok(1) = std::io::Read::read(&mut out, &mut byte) {
            if byte[0] == b'\n' {
                break;
            }
            line.push(byte[0]);
        }
        let _ = tx.send((line, out));
    });
    let Ok((first, out)) = rx.recv_timeout(Duration::from_secs(30)) else {
        stop(&mut events);
        stop(&mut recorder);
        panic!("no first line from events --follow");
    };
    assert!(String::from_utf8_lossy(&first).contains("\"keyframe\""));
    // The reader goes away while the recording is idle: nothing is being
    // written that would fail, and still the follower ends, cleanly.
    drop(out);
    let status = exits_by_itself(&mut events);
    stop(&mut recorder);
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}
