//! The `termtape-rec` binary end to end: configuration errors, exit
//! statuses, and a log whose messages hold exactly what was shown.

use std::io::{BufReader, Read};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use termtape_format::{Location, Reader, Stream};

/// The binary, with a configuration file of our choosing (`config`) so the
/// machine's /etc/termtape/termtape.toml plays no part.
fn termtape_rec(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_termtape-rec"));
    cmd.env("TERMTAPE_CONFIG", config).stdin(Stdio::null());
    cmd
}

/// A temporary directory with an empty configuration file in it.
fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("termtape.toml");
    std::fs::write(&config, "").expect("write config");
    (dir, config)
}

/// The recorded output of every message in `log`, which must all be valid.
fn recorded_output(log: &Path) -> Vec<u8> {
    let file = std::fs::File::open(log).expect("open log");
    let mut out = Vec::new();
    for message in Reader::new(BufReader::new(file), None, false) {
        let message = message.expect("valid message");
        let at = Location {
            source: None,
            line: 0,
            id: Some(message.id),
        };
        out.extend(
            message
                .bytes(Stream::Output, &at)
                .expect("decodable message"),
        );
    }
    out
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run termtape-rec")
}

#[test]
fn records_output_exactly_and_exits_with_command_status() {
    let (dir, config) = setup();
    let log = dir.path().join("s.log");
    let out = run(termtape_rec(&config).arg("-o").arg(&log).args([
        "--",
        "sh",
        "-c",
        r"printf 'a\377\000b\033[31m\n'; exit 3",
    ]));
    assert_eq!(
        out.status.code(),
        Some(3),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"a\xff\0b\x1b[31m\r\n");
    assert_eq!(recorded_output(&log), out.stdout);
    assert_eq!(out.stderr, b"");
}

#[test]
fn sigkill_of_the_command_gives_137_and_a_complete_log() {
    let (dir, config) = setup();
    let log = dir.path().join("s.log");
    let out = run(termtape_rec(&config).arg("-o").arg(&log).args([
        "--",
        "sh",
        "-c",
        "seq 1 200000; kill -9 $$",
    ]));
    assert_eq!(out.status.code(), Some(137));
    assert!(out.stdout.ends_with(b"199999\r\n200000\r\n"));
    assert!(
        recorded_output(&log) == out.stdout,
        "the log differs from what was shown"
    );
}

#[test]
fn output_path_can_come_from_the_config_file() {
    let (dir, config) = setup();
    let log = dir.path().join("from-config.log");
    std::fs::write(
        &config,
        format!("[writer]\npath = {:?}\n", log.to_str().expect("utf-8 path")),
    )
    .expect("config");
    let out = run(termtape_rec(&config).args(["echo", "hi"]));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(recorded_output(&log), b"hi\r\n");
}

#[test]
fn missing_output_is_a_clear_error() {
    let (_dir, config) = setup();
    // `--` first: `true` is the command (a first word alone is the file).
    let out = run(termtape_rec(&config).args(["--", "true"]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "termtape-rec: no output file: pass -o FILE (or -w journal), or set `path` in the [writer] section of {}\n",
            config.display()
        )
    );
}

#[test]
fn config_error_names_file_line_and_key() {
    let (_dir, config) = setup();
    std::fs::write(&config, "[writer]\npath = \"x\"\n[log]\nimput = true\n").expect("config");
    let out = run(termtape_rec(&config).arg("true"));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "termtape-rec: invalid configuration file {}, line 4: unknown field `imput`",
            config.display()
        )),
        "{err}"
    );
}

#[test]
fn missing_command_is_recorded_with_status_127() {
    let (dir, config) = setup();
    let log = dir.path().join("s.log");
    let out = run(termtape_rec(&config)
        .arg("-o")
        .arg(&log)
        .arg("termtape-no-such-command"));
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        out.stdout,
        b"termtape-rec: termtape-no-such-command: command not found\r\n"
    );
    assert_eq!(recorded_output(&log), out.stdout);
}

#[test]
fn closed_output_pipe_ends_quietly_with_status_0() {
    let (dir, config) = setup();
    let log = dir.path().join("s.log");
    let mut child = termtape_rec(&config)
        .arg("-o")
        .arg(&log)
        .args(["--", "sh", "-c", "while :; do echo line; done"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start termtape-rec");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut first = [0; 4096];
    stdout.read_exact(&mut first).expect("some output");
    drop(stdout);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stderr, b"");
    assert!(recorded_output(&log).starts_with(&first));
}
