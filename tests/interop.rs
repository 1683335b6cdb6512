//! termtape against the real tlog (Debian's package): recordings made by
//! either play in the other, byte for byte.

use std::path::Path;
use std::process::{Command, Stdio};

use termtape_tests::{
    bin, corpus_dir, journal_json_messages, read_messages, require, run_ok, through_pty, tlog_play,
};

/// Output no recorder may mangle: invalid UTF-8 of every kind, NUL, every
/// C0 control, DEL, C1 controls both as UTF-8 and as raw bytes, CJK, emoji
/// (with ZWJ and variation selectors) and combining marks.
fn nasty_output() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(
        b"invalid: \xff\xfe \xe2\x82| \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xf0\x9f\x8e end\n",
    );
    b.extend_from_slice(b"nul:\0 c0:");
    b.extend((1u8..0x20).filter(|&c| c != b'\n'));
    b.extend_from_slice(b" del:\x7f\n");
    b.extend_from_slice("c1 utf-8: \u{80}\u{85}\u{9b}\u{9f}\n".as_bytes());
    b.extend_from_slice(b"c1 raw: \x80\x85\x9b\x9f\n");
    b.extend_from_slice(
        "cjk: 日本語 中文 한국어; emoji: 🎉 👨‍👩‍👧 ❤️ 👍🏽; combining: e\u{301} a\u{308}\n".as_bytes(),
    );
    b.extend_from_slice(b"\x1b[1;31mred\x1b[0m \"quotes\" back\\slash tab\there\n");
    b
}

fn termtape_cat(log: &Path, extra: &[&str]) -> Vec<u8> {
    run_ok(
        Command::new(bin("termtape"))
            .arg("cat")
            .args(extra)
            .arg(log),
    )
}

#[test]
fn corpus_files_cat_to_what_tlog_play_plays() {
    for name in ["a_interactive.log", "b_binary.log", "f_nul_ctrl.log"] {
        let log = corpus_dir().join(name);
        let (played, status, stderr) = tlog_play(&log, &[]);
        assert!(status.success(), "tlog-play {name}: {stderr}");
        assert_eq!(termtape_cat(&log, &[]), played, "{name}");
    }
    // Facts recorded in the corpus README.
    let binary = termtape_cat(&corpus_dir().join("b_binary.log"), &[]);
    assert!(binary.starts_with(b"A\xff\xfeB\r\ntrunc:\xe2\x82|\r\nsplit:\xe2\x82\xac euro\r\n"));
    let nul = termtape_cat(&corpus_dir().join("f_nul_ctrl.log"), &[]);
    assert!(nul.starts_with(b"nul:\0:end"));
    assert!(nul.ends_with(b"over:\xf4\x90\x80\x80\r\n"));
    let input = termtape_cat(&corpus_dir().join("a_interactive.log"), &["--input"]);
    assert!(input.starts_with(b"PS1=\"\\$ \"; ls --color=always /usr/share/doc/tlog\r"));
}

#[test]
fn corpus_journal_messages_cat_to_what_tlog_play_plays() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("journal.log");
    let messages = journal_json_messages(&corpus_dir().join("e_journal.json"));
    std::fs::write(&log, messages.join("\n") + "\n").expect("write");
    let (played, status, stderr) = tlog_play(&log, &[]);
    assert!(status.success(), "tlog-play: {stderr}");
    let ours = termtape_cat(&log, &[]);
    assert_eq!(ours, played);
    assert!(
        ours.windows(2).any(|w| w == b"\xff\xfe"),
        "the recorded FF FE is there"
    );
}

fn record_with_termtape(dir: &Path, payload: &str) -> std::path::PathBuf {
    let data = dir.join("nasty.bin");
    std::fs::write(&data, nasty_output()).expect("write");
    let log = dir.join(format!("termtape-{payload}.log"));
    run_ok(
        Command::new(bin("termtape"))
            .args(["rec", "-o"])
            .arg(&log)
            .args(["--payload", payload, "--", "cat"])
            .arg(&data)
            .stdin(Stdio::null()),
    );
    log
}

#[test]
fn termtape_recordings_play_in_tlog_play() {
    let dir = tempfile::tempdir().expect("tempdir");
    let expected = through_pty(&nasty_output());
    for payload in ["2048", "100"] {
        let log = record_with_termtape(dir.path(), payload);
        assert_eq!(
            termtape_cat(&log, &[]),
            expected,
            "termtape cat, payload {payload}"
        );
        // termtape's session fields ride on the first and last messages,
        // and tlog-play passes over them.
        let messages = read_messages(&log);
        let at = termtape_format::Location::default();
        let origin = messages[0].origin(&at).expect("valid").expect("origin");
        assert_eq!(origin.command.expect("command")[0], "cat");
        assert!(origin.pty.is_some_and(|p| p.starts_with("/dev/pts/")));
        assert_eq!(
            messages.last().expect("messages").exit(&at).expect("valid"),
            Some(termtape_format::Exit::Code(0))
        );
        let (played, status, stderr) = tlog_play(&log, &[]);
        assert!(status.success(), "tlog-play, payload {payload}: {stderr}");
        assert_eq!(played, expected, "tlog-play, payload {payload}");
        if payload == "100" {
            assert!(
                read_messages(&log).len() > 5,
                "small payloads cut many messages"
            );
        }
    }
}

#[test]
fn tlog_rec_recordings_cat_in_termtape() {
    require("tlog-rec");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("nasty.bin");
    std::fs::write(&data, nasty_output()).expect("write");
    let log = dir.path().join("tlog.log");
    run_ok(
        Command::new("tlog-rec")
            .args(["-w", "file", "-o"])
            .arg(&log)
            .arg("cat")
            .arg(&data)
            .stdin(Stdio::null()),
    );
    // Without a terminal tlog-rec relays through pipes, not a PTY, so the
    // newlines stay bare.
    assert_eq!(termtape_cat(&log, &[]), nasty_output());
}

/// A fresh tlog-rec recording big enough to be cut many times by the
/// payload (the latency is an hour), re-encoded by termtape's encoder:
/// the same messages, with every cut in the same place.
#[test]
fn fresh_tlog_rec_recording_reencodes_identically() {
    require("tlog-rec");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("mixed.bin");
    let mut bytes = Vec::new();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for round in 0..60 {
        bytes.extend_from_slice(&nasty_output());
        // xorshift bytes: random invalid sequences, controls, everything.
        for _ in 0..(round % 7) * 50 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            bytes.push(seed as u8);
        }
    }
    std::fs::write(&data, &bytes).expect("write");
    let log = dir.path().join("tlog.log");
    run_ok(
        Command::new("tlog-rec")
            .args(["-w", "file", "--latency=3600", "-o"])
            .arg(&log)
            .arg("cat")
            .arg(&data)
            .stdin(Stdio::null()),
    );
    let original = read_messages(&log);
    assert!(original.len() > 20, "{} messages", original.len());
    let payload_cuts = crate::conformance::assert_same(&original, "fresh tlog-rec recording");
    assert_eq!(
        payload_cuts,
        original.len() - 1,
        "every cut is the payload's"
    );
}
