//! Rate limits on a flooding session: `drop` keeps the recorder small and
//! the log within rate × time + burst, with the gaps marked; `delay` and
//! `pass` lose nothing.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use termtape_format::{Reader, Stream};
use termtape_tests::{assert_bytes_eq, bin};

struct Run {
    /// What the user was shown.
    shown: u64,
    /// The recorder's peak resident memory, in KiB.
    peak_kib: u64,
    /// Wall time of the whole recording, in seconds.
    secs: f64,
}

/// Records `script` with the given limit flags, watching the recorder's
/// peak memory (VmHWM) while it runs.
fn record(log: &Path, script: &str, limit: &[&str]) -> Run {
    let started = Instant::now();
    let mut child = Command::new(bin("termtape-rec"))
        .arg("-o")
        .arg(log)
        .args(limit)
        .args(["--", "sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("termtape-rec");
    let status_path = format!("/proc/{}/status", child.id());
    let mut out = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let mut n = 0u64;
        while let Ok(k) = out.read(&mut buf) {
            if k == 0 {
                break;
            }
            n += k as u64;
        }
        n
    });
    let mut peak_kib = 0;
    while child.try_wait().expect("wait").is_none() {
        if let Ok(status) = std::fs::read_to_string(&status_path) {
            let hwm = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
                .unwrap_or(0);
            peak_kib = peak_kib.max(hwm);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = child.wait().expect("wait");
    assert!(status.success(), "termtape-rec: {status}");
    Run {
        shown: reader.join().expect("reader"),
        peak_kib,
        secs: started.elapsed().as_secs_f64(),
    }
}

/// The log's recorded output; every message must read strictly.
fn recorded(log: &Path) -> (Vec<u8>, u64) {
    let text = std::fs::read(log).expect("log");
    let mut out = Vec::new();
    let mut dropped = 0;
    for msg in Reader::new(&text[..], Some(log.display().to_string()), false) {
        let msg = msg.unwrap_or_else(|e| panic!("{e}"));
        if let Some(n) = msg.dropped_messages() {
            dropped += n;
            // The screen after a gap cannot be replayed: it is restated,
            // unless the gap is at the end (a message with no data).
            assert!(
                msg.extra("kf").is_some() || msg.timing.is_empty(),
                "message {} after a gap has no keyframe",
                msg.id
            );
        }
        out.extend(
            msg.bytes(Stream::Output, &Default::default())
                .expect("decodes"),
        );
    }
    (out, dropped)
}

const FLOOD: &str = "head -c 100000000 /dev/zero | tr '\\0' x";

#[test]
fn drop_keeps_the_recorder_small_and_the_log_within_the_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("drop.log");
    let (rate, burst) = (1_000_000u64, 2_000_000u64);
    let run = record(
        &log,
        FLOOD,
        &[
            "--limit-action",
            "drop",
            "--limit-rate",
            &rate.to_string(),
            "--limit-burst",
            &burst.to_string(),
        ],
    );
    assert_eq!(run.shown, 100_000_000, "the user sees all the output");
    assert!(
        run.peak_kib < 50 * 1024,
        "recorder peak RSS {} KiB",
        run.peak_kib
    );
    let size = std::fs::metadata(&log).expect("log").len();
    let bound = burst as f64 + rate as f64 * run.secs;
    assert!(
        (size as f64) <= bound,
        "log {size} bytes > {bound} (rate × {:.1} s + burst)",
        run.secs
    );
    let (out, dropped) = recorded(&log);
    assert!(dropped > 0, "messages were dropped and the gaps marked");
    assert!(out.len() < 100_000_000 && out.iter().all(|&b| b == b'x'));
}

#[test]
fn delay_and_pass_lose_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = "i=0; while [ $i -lt 20000 ]; do echo \"line $i of a flood that must all be kept\"; i=$((i+1)); done";
    let expected: Vec<u8> = (0..20000)
        .flat_map(|i| format!("line {i} of a flood that must all be kept\r\n").into_bytes())
        .collect();
    for action in ["delay", "pass"] {
        let log = dir.path().join(format!("{action}.log"));
        // About 1 MB of output at 2 MB/s of messages: a second of delay.
        record(
            &log,
            script,
            &[
                "--limit-action",
                action,
                "--limit-rate",
                "2000000",
                "--limit-burst",
                "200000",
            ],
        );
        let (out, dropped) = recorded(&log);
        assert_eq!(dropped, 0, "{action}");
        assert_bytes_eq(&out, &expected, action);
    }
}

#[test]
fn a_session_ending_in_a_drop_says_so_in_its_last_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("end.log");
    // A burst of a few messages, then the flood goes on to the end.
    let run = record(
        &log,
        "head -c 3000000 /dev/zero | tr '\\0' x",
        // At one byte a second the bucket never refills to a message while
        // the flood lasts, however slowly a loaded machine runs it.
        &[
            "--limit-action",
            "drop",
            "--limit-burst",
            "4096",
            "--limit-rate",
            "1",
        ],
    );
    assert_eq!(run.shown, 3_000_000);
    let msgs = termtape_tests::read_messages(&log);
    let last = msgs.last().expect("messages");
    let gap = last.extra("gap").map(|g| g.get().to_owned());
    assert!(
        last.dropped_messages().is_some_and(|n| n > 0),
        "the last message {} marks no gap: {gap:?}",
        last.id
    );
    // It holds nothing but the mark, and follows the last dropped id.
    assert!(last.timing.is_empty() && last.out_txt.is_empty() && last.out_bin.is_empty());
    let before = &msgs[msgs.len() - 2];
    let n = last.dropped_messages().expect("gap");
    assert_eq!(
        last.id,
        before.id + n + 1,
        "ids {} then {}",
        before.id,
        last.id
    );
    // Every dropped message is counted.
    let (_, dropped) = recorded(&log);
    assert_eq!(dropped + msgs.len() as u64, last.id);
    // How the session ended survives the drop of the message it rode on.
    assert_eq!(
        last.extra(termtape_format::EXIT_FIELD).map(|e| e.get()),
        Some(r#"{"code":0}"#)
    );
}

#[test]
fn a_burst_smaller_than_one_message_is_refused_at_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("tiny.log");
    for action in ["drop", "delay"] {
        let out = Command::new(bin("termtape-rec"))
            .arg("-o")
            .arg(&log)
            .args(["--limit-action", action, "--limit-burst", "100"])
            .args(["--", "echo", "never-shown"])
            .stdin(Stdio::null())
            .output()
            .expect("termtape-rec");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{action}: {stderr}");
        assert!(
            stderr.contains("burst (100 bytes") && stderr.contains("smaller than one message"),
            "{action}: {stderr}"
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("never-shown"),
            "{action}: the command ran"
        );
        assert!(!log.exists(), "{action}: a log was created");
    }
    // A burst of one message is enough.
    let ok = Command::new(bin("termtape-rec"))
        .arg("-o")
        .arg(&log)
        .args(["--limit-action", "drop", "--limit-burst", "4096"])
        .args(["--", "echo", "shown"])
        .stdin(Stdio::null())
        .output()
        .expect("termtape-rec");
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("shown"));
}
