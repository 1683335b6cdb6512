//! Random values for every numeric option of both binaries, and for the
//! configuration file's numeric keys (issue 11): huge, negative, zero, NaN,
//! infinities, 1e308, fractions and words. Whatever the value, the program
//! refuses it with a message or takes it; it never panics (exit 101) nor
//! dies of a signal (an allocation abort), and a recorder that refuses has
//! run nothing and made no file.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use termtape_tests::{bin, run_ok};

/// Runs `cmd` to its end, killing it (by its pid) after a generous
/// minute: a hang is a failure too.
fn finish(cmd: &mut Command) -> (ExitStatus, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut err = String::new();
            use std::io::Read;
            let _ = child
                .stderr
                .take()
                .expect("stderr")
                .read_to_string(&mut err);
            return (status, err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still ran after a minute");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Neither a panic nor a signal.
fn survived(status: ExitStatus, err: &str, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        status.code() != Some(101) && status.signal().is_none(),
        "{what}: {status:?}: {err}"
    );
    prop_assert!(!err.contains("panicked"), "{what}: {err}");
    Ok(())
}

/// Text for a number: the edges, then random numbers and words.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "18446744073709551615",
            "18446744073709551616",
            "100000000000",
            "99999999999999999999999999999",
            "-1",
            "-0",
            "0",
            "1",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "infinity",
            "1e308",
            "-1e308",
            "1e-308",
            "4.9e-324",
            "0.0000001",
            "",
            " ",
            "abc",
            "0x10",
            "1_000",
            "1:00",
            "99:59:59.999",
            "2026-02-29",
            "end",
        ])
        .prop_map(str::to_owned),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| format!("{v:e}")),
        (0u32..5000).prop_map(|n| n.to_string()),
        "[ -~]{0,16}",
    ]
}

/// The recorder's numeric options.
const REC: &[&str] = &[
    "--latency",
    "--payload",
    "--limit-rate",
    "--limit-burst",
    "--keyframe-bytes",
    "--keyframe-secs",
    "--cols",
    "--rows",
];

/// The configuration file's numeric keys: section, key.
const KEYS: &[(&str, &str)] = &[
    ("", "latency"),
    ("", "payload"),
    ("[limit]", "rate"),
    ("[limit]", "burst"),
    ("[keyframe]", "bytes"),
    ("[keyframe]", "secs"),
    ("[writer]", "spool_bytes"),
    ("[writer]", "spool_secs"),
];

/// `termtape`'s numeric and time options, on each command having one
/// (LOG: a recording, OUT: a file to write).
const PLAYER: &[&[&str]] = &[
    &["play", "--raw", "--max-pause", "0", "--speed=", "LOG"],
    &["play", "--raw", "--speed", "1024", "--max-pause=", "LOG"],
    &[
        "play",
        "--raw",
        "--speed",
        "1024",
        "--max-pause",
        "0",
        "--seek=",
        "LOG",
    ],
    &["screen", "--at=", "LOG"],
    &["keyframe", "--keyframe-bytes=", "LOG", "OUT"],
    &["keyframe", "--keyframe-secs=", "LOG", "OUT"],
    &["ls", "--since=", "LOG"],
    &["cat", "--until=", "LOG"],
    &["ls", "--trust-uid=", "LOG"],
    &["search", "--since=", "hello", "LOG"],
    &["screen", "--until=", "LOG"],
];

/// A tiny recording for the player's options to read.
pub(crate) fn recording(dir: &Path) -> std::path::PathBuf {
    let log = dir.join("r.log");
    run_ok(
        Command::new(bin("termtape-rec"))
            .arg("-o")
            .arg(&log)
            .args(["--", "printf", "hello\\n"])
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    log
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    /// `termtape rec` and `termtape-rec`, each numeric option.
    #[test]
    fn recorder_options_refuse_or_run(option in prop::sample::select(REC), value in value(), via_termtape in any::<bool>()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = if via_termtape {
            let mut c = Command::new(bin("termtape"));
            c.arg("rec");
            c
        } else {
            Command::new(bin("termtape-rec"))
        };
        cmd.args(["-o", "p.log"])
            .arg(format!("{option}={value}"))
            .args(["--", "touch", "ran"])
            .env_remove("TERMTAPE_CONFIG")
            .current_dir(dir.path());
        let (status, err) = finish(&mut cmd);
        let what = format!("{option}={value:?}");
        survived(status, &err, &what)?;
        let ran = dir.path().join("ran").exists();
        prop_assert_eq!(status.success(), ran, "{}: {:?}: {}", what, status, err);
        if !ran {
            prop_assert!(err.contains(option), "{}: {}", what, err);
            prop_assert!(!dir.path().join("p.log").exists(), "{}", what);
        }
    }

    /// Each numeric key of the configuration file.
    #[test]
    fn configuration_keys_refuse_or_run(key in prop::sample::select(KEYS), value in value()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("t.toml");
        // The value as TOML would read it when it is a number, else quoted.
        let literal = match value.trim() {
            v if v.parse::<f64>().is_ok() && !v.is_empty() => v.to_lowercase(),
            v => format!("{v:?}"),
        };
        std::fs::write(&config, format!("# keys\n{}\n{} = {literal}\n", key.0, key.1)).expect("config");
        let (status, err) = finish(
            Command::new(bin("termtape-rec"))
                .args(["-o", "p.log", "--", "touch", "ran"])
                .env("TERMTAPE_CONFIG", &config)
                .current_dir(dir.path()),
        );
        let what = format!("{} {} = {literal}", key.0, key.1);
        survived(status, &err, &what)?;
        let ran = dir.path().join("ran").exists();
        prop_assert_eq!(status.success(), ran, "{}: {}", what, err);
        if !ran {
            prop_assert!(err.contains(&config.display().to_string()), "{}: {}", what, err);
            prop_assert!(err.contains("line 3"), "{}: {}", what, err);
            prop_assert!(!dir.path().join("p.log").exists(), "{}", what);
        }
    }

    /// `termtape`'s numeric and time options, on each command having one.
    #[test]
    fn player_options_refuse_or_run(which in 0..PLAYER.len(), value in value()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = recording(dir.path());
        let log = log.to_str().expect("path");
        let out = dir.path().join("k.log");
        let out = out.to_str().expect("path");
        // An argument ending in `=` takes the value; fast playback, so that
        // a slow speed or a long pause stays short.
        let args: Vec<String> = PLAYER[which]
            .iter()
            .map(|a| match *a {
                "LOG" => log.to_owned(),
                "OUT" => out.to_owned(),
                a if a.ends_with('=') => format!("{a}{value}"),
                a => a.to_owned(),
            })
            .collect();
        let (status, err) = finish(Command::new(bin("termtape")).args(&args).current_dir(dir.path()));
        survived(status, &err, &format!("{args:?}"))?;
        // A refusal is a usage error with a message (search also exits
        // with 1 when a --since past the recording finds nothing).
        if status.code() == Some(2) {
            prop_assert!(!err.trim().is_empty(), "{:?}: {:?}", args, status);
        }
    }
}
