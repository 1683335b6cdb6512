//! The recorder stopped hard: the command killed, the recorder sent SIGTERM
//! or SIGHUP in the middle of heavy output. Every line of the log must be a
//! complete, valid message, and every byte the user saw must be in it.

use std::io::Read;
use std::process::{Child, Command, Stdio};

use termtape_format::{Reader, Stream};
use termtape_tests::bin;

/// Starts `termtape rec` on a command that writes without pause; returns the
/// recorder and the log path. The test's pipe plays the user's terminal.
fn start_heavy(dir: &std::path::Path, script: &str) -> (Child, std::path::PathBuf) {
    let log = dir.join("heavy.log");
    let child = Command::new(bin("termtape-rec"))
        .arg("-o")
        .arg(&log)
        .args(["--", "sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn termtape-rec");
    (child, log)
}

/// Reads what the user saw until at least `bytes` arrived.
fn read_at_least(child: &mut Child, bytes: usize) -> Vec<u8> {
    let out = child.stdout.as_mut().expect("stdout");
    let mut seen = vec![0u8; 0];
    let mut buf = [0u8; 65536];
    while seen.len() < bytes {
        let n = out.read(&mut buf).expect("read");
        assert!(n > 0, "output ended after {} bytes", seen.len());
        seen.extend_from_slice(&buf[..n]);
    }
    seen
}

/// Recorded output of a log whose every line must be valid.
fn recorded_output(log: &std::path::Path) -> Vec<u8> {
    let text = std::fs::read(log).expect("log");
    assert!(text.ends_with(b"\n"), "the last line is complete");
    let mut out = Vec::new();
    for msg in Reader::new(&text[..], Some(log.display().to_string()), false) {
        let msg = msg.unwrap_or_else(|e| panic!("{e}"));
        out.extend(
            msg.bytes(Stream::Output, &Default::default())
                .expect("decodes"),
        );
    }
    out
}

fn signal(pid: u32, sig: libc::c_int) {
    // kill(1) keeps unsafe code out of the tests.
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(status.success());
}

fn stop_recorder_midway(sig: libc::c_int) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, log) = start_heavy(dir.path(), "trap '' HUP; seq 1 100000000");
    let mut seen = read_at_least(&mut child, 2 << 20);
    signal(child.id(), sig);
    child
        .stdout
        .as_mut()
        .expect("stdout")
        .read_to_end(&mut seen)
        .expect("read rest");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(128 + sig), "exit status");
    let recorded = recorded_output(&log);
    assert!(
        recorded.len() >= seen.len(),
        "recorded {} < seen {}",
        recorded.len(),
        seen.len()
    );
    assert_eq!(
        &recorded[..seen.len()],
        &seen[..],
        "everything seen is recorded, in order"
    );
}

#[test]
fn sigterm_of_the_recorder_keeps_everything_seen() {
    stop_recorder_midway(libc::SIGTERM);
}

#[test]
fn sighup_of_the_recorder_keeps_everything_seen() {
    stop_recorder_midway(libc::SIGHUP);
}

#[test]
fn sigkill_of_the_command_keeps_everything_seen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("pid");
    let script = format!("echo $$ > {}; exec seq 1 100000000", pid_file.display());
    let (mut child, log) = start_heavy(dir.path(), &script);
    let mut seen = read_at_least(&mut child, 2 << 20);
    let pid = std::fs::read_to_string(&pid_file).expect("pid file");
    signal(pid.trim().parse().expect("pid"), libc::SIGKILL);
    child
        .stdout
        .as_mut()
        .expect("stdout")
        .read_to_end(&mut seen)
        .expect("read rest");
    let status = child.wait().expect("wait");
    assert_eq!(
        status.code(),
        Some(128 + libc::SIGKILL),
        "the command's status"
    );
    assert_eq!(
        recorded_output(&log),
        seen,
        "the log holds exactly what was shown"
    );
}
