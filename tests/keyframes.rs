//! Keyframes end to end: recordings that carry them still play in the real
//! tlog-play byte for byte, `termtape screen` seeks through them, and
//! `termtape keyframe` adds them to recordings made without.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use termtape_tests::{assert_bytes_eq, bin, read_messages, run_ok, tlog_play};

/// Output of a busy session: coloured lines, a full-screen program on the
/// alternate screen with a scroll region, back to the shell.
fn busy_output(lines: usize) -> Vec<u8> {
    let mut b = Vec::new();
    for i in 0..lines {
        b.extend_from_slice(
            format!("\x1b[3{}mline {i:05} ünïcödé 日本\x1b[0m\n", i % 8).as_bytes(),
        );
        if i % 97 == 50 {
            b.extend_from_slice(b"\x1b[?1049h\x1b[H\x1b[2J\x1b[2;20r");
            for j in 0..40 {
                b.extend_from_slice(
                    format!("\x1b[{};1Hfull screen {i} row {j}", j % 24 + 1).as_bytes(),
                );
            }
            b.extend_from_slice(b"\x1b[r\x1b[?1049l");
        }
    }
    b
}

/// What a PTY in its default mode shows for `bytes` (ONLCR).
fn through_pty(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8);
    for &b in bytes {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// Records `cat FILE` of `data` with termtape-rec and `flags`.
fn record(dir: &Path, name: &str, data: &[u8], flags: &[&str]) -> PathBuf {
    let input = dir.join(format!("{name}.bin"));
    std::fs::write(&input, data).expect("write");
    let log = dir.join(format!("{name}.log"));
    run_ok(
        Command::new(bin("termtape-rec"))
            .arg("-o")
            .arg(&log)
            .args(flags)
            .args(["--", "cat"])
            .arg(&input)
            .stdin(Stdio::null()),
    );
    log
}

#[test]
fn recordings_with_keyframes_play_in_tlog_play_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = busy_output(600);
    let log = record(dir.path(), "busy", &data, &["--keyframe-bytes", "4000"]);
    let msgs = read_messages(&log);
    let with = msgs.iter().filter(|m| m.extra("kf").is_some()).count();
    assert!(
        with >= 6,
        "{with} keyframes in {} messages of {} bytes of output",
        msgs.len(),
        data.len()
    );
    assert!(msgs[0].extra("kf").is_some(), "the first message has one");
    let expected = through_pty(&data);
    let (played, status, stderr) = tlog_play(&log, &[]);
    assert!(status.success(), "tlog-play: {stderr}");
    assert_bytes_eq(&played, &expected, "tlog-play");
    let cat = run_ok(Command::new(bin("termtape")).arg("cat").arg(&log));
    assert_bytes_eq(&cat, &expected, "termtape cat");
}
