//! Readers on hostile logs (issue 10): lines longer than a seek reads at
//! once, lines without end, FIFOs and devices as the log, and messages that
//! lie about ids and keyframes. Each command must end, with the right screen
//! or an error naming the place, in bounded memory.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use termtape_tests::{bin, corpus_dir, pty, require, run_ok};

/// Far beyond what any of these commands takes on a loaded machine: only a
/// hang reaches it.
const HANG: Duration = Duration::from_secs(300);

/// Kills `child` by its PID if it has not ended within [`HANG`]; `done`
/// stops the watch. Says whether it had to.
fn watchdog(child: &Child, what: &str) -> (mpsc::Sender<()>, Arc<AtomicBool>) {
    let (done, ended) = mpsc::channel::<()>();
    let fired = Arc::new(AtomicBool::new(false));
    let pid = child.id() as libc::pid_t;
    let flag = fired.clone();
    let what = what.to_owned();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = ended.recv_timeout(HANG) {
            eprintln!("{what} did not end: killing {pid}");
            flag.store(true, Ordering::SeqCst);
            // SAFETY: kill(2) on the PID of a child not yet waited for.
            #[allow(unsafe_code, reason = "std kills only through the Child")]
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    });
    (done, fired)
}

/// Runs `cmd` to its end (stdin closed, output captured), failing the test
/// if it hangs.
fn run_to_end(cmd: &mut Command) -> Output {
    let what = format!("{cmd:?}");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let (done, fired) = watchdog(&child, &what);
    let out = child.wait_with_output().expect("wait");
    let _ = done.send(());
    assert!(!fired.load(Ordering::SeqCst), "{what} hung");
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `termtape screen --at AT LOG`, asserting it ends and succeeds.
fn screen(log: &Path, at: &str) -> String {
    let out = run_to_end(
        Command::new(bin("termtape"))
            .args(["screen", "--at", at])
            .arg(log),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// The screen at `at` by replaying `log` from its start (read from a
/// pipe, where there is no seeking).
fn replayed(log: &Path, at: &str) -> String {
    let out = run_to_end(
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "cat \"$1\" | {} screen --at {at} -",
                bin("termtape").display()
            ))
            .arg("sh")
            .arg(log),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// Records `program` with termtape-rec into DIR/NAME, with `args`.
fn record(dir: &Path, name: &str, args: &[&str], program: &[&str]) -> PathBuf {
    let log = dir.join(name);
    run_ok(
        Command::new(bin("termtape-rec"))
            .arg("-o")
            .arg(&log)
            .args(args)
            .arg("--")
            .args(program)
            .stdin(Stdio::null()),
    );
    log
}

/// As in the issue: seq's output in messages of up to 400,000 bytes, in
/// DIR/pay.log.
fn big_messages(dir: &Path) -> PathBuf {
    record(
        dir,
        "pay.log",
        &["--payload", "400000"],
        &["seq", "1", "100000"],
    )
}

fn longest_line(log: &Path) -> usize {
    std::fs::read(log)
        .expect("read")
        .split(|&b| b == b'\n')
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0)
}

#[test]
fn a_seek_past_a_line_longer_than_its_scan_ends_with_the_screen() {
    // A seek near the start, whose backward scan met a line longer than its
    // 256 KiB reads.
    let dir = tempfile::tempdir().expect("tempdir");
    let log = big_messages(dir.path());
    assert!(longest_line(&log) > 256 * 1024);
    for at in ["0.001", "0.05", "end"] {
        assert_eq!(screen(&log, at), replayed(&log, at), "at {at}");
    }
    assert!(screen(&log, "end").contains("100000"));
}

#[test]
fn a_seek_past_a_keyframe_longer_than_its_scan_ends_with_the_screen() {
    // Colours in every cell of a big screen: keyframes of some 800 KB, once
    // the output has paid for them (half its bytes).
    let dir = tempfile::tempdir().expect("tempdir");
    let log = record(
        dir.path(),
        "colours.log",
        &["--cols", "250", "--rows", "80"],
        &[
            "awk",
            r#"BEGIN { for (i = 0; i < 120000; i++) printf "\033[38;2;%d;%d;%dm\033[48;2;%d;%d;%dm%c", i % 256, i * 7 % 256, i * 13 % 256, i * 3 % 256, i * 5 % 256, i * 11 % 256, 65 + i % 26; printf "END-OF-COLOURS" }"#,
        ],
    );
    assert!(longest_line(&log) > 256 * 1024, "{}", longest_line(&log));
    for at in ["0.001", "end"] {
        assert_eq!(screen(&log, at), replayed(&log, at), "at {at}");
    }
    // Raw playback from a moment draws that screen first, then goes on.
    let out = run_to_end(
        Command::new(bin("termtape"))
            .args(["play", "--raw", "--seek", "0.001", "--speed", "1000"])
            .arg(&log),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let end = b"END-OF-COLOURS";
    assert!(out.stdout.windows(end.len()).any(|w| w == end));
}

/// Reads what the terminal side writes, so that the player never blocks on
/// it; `seen` gets everything so far.
fn drain(master: std::fs::File) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut master = master;
        let mut buf = [0u8; 65536];
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Reads from `rx` into `seen` until it holds `want`; false if the output
/// ended (or [`HANG`] passed) first.
fn wait_for(rx: &mpsc::Receiver<Vec<u8>>, seen: &mut Vec<u8>, want: &[u8]) -> bool {
    while !seen.windows(want.len()).any(|w| w == want) {
        match rx.recv_timeout(HANG) {
            Ok(more) => seen.extend(more),
            Err(_) => return false,
        }
    }
    true
}

#[test]
fn end_in_the_interactive_player_shows_the_end_and_q_quits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = big_messages(dir.path());
    let pair = pty::Pair::open();
    let size = libc::winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads the winsize the pointer refers to.
    #[allow(unsafe_code, reason = "no safe wrapper for TIOCSWINSZ")]
    let rc = unsafe { libc::ioctl(pair.master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
    assert_eq!(rc, 0);
    // The pty is the player's controlling terminal (it opens /dev/tty).
    require("setsid");
    let mut child = Command::new("setsid")
        .arg("--ctty")
        .arg(bin("termtape"))
        .arg("play")
        .arg(&log)
        .env("TERM", "xterm-256color")
        .stdin(pair.slave())
        .stdout(pair.slave())
        .stderr(pair.slave())
        .spawn()
        .expect("termtape play");
    let (done, fired) = watchdog(&child, "termtape play");
    let master = std::fs::File::from(pair.master.try_clone().expect("dup"));
    let mut keys = std::fs::File::from(pair.master.try_clone().expect("dup"));
    let rx = drain(master);
    let mut seen = Vec::new();
    // The player is up when it has taken the alternate screen.
    assert!(wait_for(&rx, &mut seen, b"\x1b[?1049h"), "{}", text(&seen));
    // End (as xterm sends it) jumps to the last screen, whose last line is
    // seq's last number.
    seen.clear();
    keys.write_all(b"\x1bOF").expect("End");
    assert!(wait_for(&rx, &mut seen, b"100000"), "{}", text(&seen));
    keys.write_all(b"q").expect("q");
    let status = child.wait().expect("wait");
    let _ = done.send(());
    assert!(!fired.load(Ordering::SeqCst), "the player hung");
    assert!(status.success(), "{status}");
}

/// The corpus's first `n` lines.
fn corpus_lines(n: usize) -> Vec<String> {
    std::fs::read_to_string(corpus_dir().join("a_interactive.log"))
        .expect("corpus")
        .lines()
        .take(n)
        .map(str::to_owned)
        .collect()
}

/// `termtape ARGS -` with its address space limited to `limit` bytes, fed
/// `head`, then `long` bytes of `x` without a newline (a line, if `tail`
/// follows it), then `tail`.
fn fed_a_long_line(args: &[&str], limit: u64, head: &str, long: u64, tail: &str) -> Output {
    require("prlimit");
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--as={limit}"))
        .arg(bin("termtape"))
        .args(args)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("prlimit termtape");
    let (done, fired) = watchdog(&child, "termtape on a long line");
    let mut stdin = child.stdin.take().expect("stdin");
    let (head, tail) = (head.to_owned(), tail.to_owned());
    let writer = std::thread::spawn(move || {
        // The reader may stop early (strict): a closed pipe ends this.
        let _ = stdin.write_all(head.as_bytes());
        let chunk = vec![b'x'; 1 << 20];
        let mut left = long;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            if stdin.write_all(&chunk[..n]).is_err() {
                return;
            }
            left -= n as u64;
        }
        let _ = stdin.write_all(tail.as_bytes());
    });
    let out = child.wait_with_output().expect("wait");
    let _ = done.send(());
    writer.join().expect("writer");
    assert!(!fired.load(Ordering::SeqCst), "termtape hung");
    out
}

/// The address space a reader gets: the line limit (64 MiB) and a program's
/// own needs fit in it, a 300 MB line does not.
const LIMIT: u64 = 256 << 20;

#[test]
fn a_line_longer_than_a_message_may_be_is_named_and_passed_over_lax() {
    let l = corpus_lines(2);
    let head = format!("{}\n", l[0]);
    let tail = format!("\n{}\n", l[1]);
    let long = 300_000_000;
    // Lax: the long line is reported by place and passed over, holding no
    // more than the limit of it; the messages around it play.
    let out = fed_a_long_line(&["cat", "--lax"], LIMIT, &head, long, &tail);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("-:line 2: line longer than 64 MiB, the most a message may take"),
        "{err}"
    );
    let two = run_to_end(
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "head -n 2 \"$1\" | {} cat -",
                bin("termtape").display()
            ))
            .arg("sh")
            .arg(corpus_dir().join("a_interactive.log")),
    );
    assert!(two.status.success());
    assert_eq!(text(&out.stdout), text(&two.stdout));
    // ls passes damage over too, and says so.
    let out = fed_a_long_line(&["ls"], LIMIT, &head, long, &tail);
    let err = text(&out.stderr);
    assert!(err.contains("-:line 2: line longer than 64 MiB"), "{err}");
    assert!(
        text(&out.stdout).contains("94da6351ce7e46ac969d97ae9993622a"),
        "{}",
        text(&out.stdout)
    );
    // Strict: it stops there, with the same words.
    let out = fed_a_long_line(&["cat"], LIMIT, &head, long, &tail);
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("-:line 2: line longer than 64 MiB"), "{err}");
    assert!(!err.contains("memory"), "{err}");
    // `termtape keyframe - -` leaves it out of the copy, in the same memory,
    // and copies the messages around it.
    let out = fed_a_long_line(&["keyframe", "-"], LIMIT, &head, long, &tail);
    let err = text(&out.stderr);
    assert!(err.contains("-:line 2: line longer than 64 MiB"), "{err}");
    assert!(err.contains("left out of the copy"), "{err}");
    let copy = text(&out.stdout);
    assert_eq!(copy.lines().count(), 2, "the messages before and after it");
    assert!(
        copy.lines()
            .all(|l| l.contains("94da6351ce7e46ac969d97ae9993622a"))
    );
    assert!(copy.len() < 1 << 20);
}

#[test]
fn dev_zero_as_the_log_is_an_error_not_an_abort() {
    // (ls and search pass damage over: on a line without end they read on
    // for ever, in the same bounded memory, as grep does.)
    require("prlimit");
    for args in [&["cat"][..], &["screen"], &["play", "--raw"]] {
        let out = run_to_end(
            Command::new("prlimit")
                .arg(format!("--as={LIMIT}"))
                .arg(bin("termtape"))
                .args(args)
                .arg("/dev/zero"),
        );
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            err.contains("/dev/zero:line 1: line longer than 64 MiB"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("memory allocation"), "{args:?}: {err}");
    }
}

/// A FIFO at DIR/NAME, fed `log` once by a thread (which ends when the
/// reader has it all, or never opens it).
fn fifo_of(dir: &Path, name: &str, log: &Path) -> PathBuf {
    let fifo = dir.join(name);
    run_ok(Command::new("mkfifo").arg(&fifo));
    let (fifo2, log) = (fifo.clone(), log.to_owned());
    std::thread::spawn(move || {
        let bytes = std::fs::read(&log).expect("read");
        if let Ok(mut w) = std::fs::OpenOptions::new().write(true).open(&fifo2) {
            let _ = w.write_all(&bytes);
        }
    });
    fifo
}

#[test]
fn a_fifo_as_the_log_is_read_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = record(
        dir.path(),
        "pay.log",
        &["--payload", "4000", "--keyframe-bytes", "20000"],
        &["seq", "1", "30000"],
    );
    for at in ["0.001", "end"] {
        let fifo = fifo_of(dir.path(), &format!("fifo-{at}"), &log);
        assert_eq!(screen(&fifo, at), screen(&log, at), "at {at}");
    }
    // A wall-clock moment is placed in the one reading too.
    let first: serde_json::Value = serde_json::from_str(lines_of(&log)[0].as_str()).expect("json");
    let secs = first["time"].as_f64().expect("time") as i64 + 3600;
    let clock = format!("{} UTC", utc(secs));
    let fifo = fifo_of(dir.path(), "fifo-clock", &log);
    assert_eq!(screen(&fifo, &clock), screen(&log, "end"));
    // Playing from a moment reads a source twice: refused, by name.
    let fifo = fifo_of(dir.path(), "fifo-play", &log);
    let out = run_to_end(
        Command::new(bin("termtape"))
            .args(["play", "--raw", "--seek", "1"])
            .arg(&fifo),
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("fifo-play") && err.contains("can be read once"),
        "{err}"
    );
    // The feeding thread is still blocked on opening that FIFO: let it go.
    drop(std::fs::File::open(&fifo));
}

fn lines_of(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .expect("read")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `YYYY-MM-DD HH:MM:SS` of `secs` since the epoch, in UTC.
fn utc(secs: i64) -> String {
    let out = run_ok(Command::new("date").args(["-u", "-d", &format!("@{secs}"), "+%F %T"]));
    text(&out).trim().to_owned()
}

/// `termtape ARGS LOG` on `content` written to a file.
fn on_file(content: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("damaged.log");
    std::fs::write(&log, content).expect("write");
    run_to_end(Command::new(bin("termtape")).args(args).arg(&log))
}

#[test]
fn ls_names_the_line_of_damage() {
    let mut l = corpus_lines(4);
    // Message 3's text no longer matches its timing: ls reads the sizes.
    l[2] = l[2].replacen("\"out_txt\":\"", "\"out_txt\":\"XYZ", 1);
    let out = on_file(&(l.join("\n") + "\n"), &["ls"]);
    let err = text(&out.stderr);
    assert!(err.contains("damaged.log:line 3 (message id 3)"), "{err}");
    assert!(!err.contains("line 0"), "{err}");
}

#[test]
fn an_id_against_a_marked_gap_says_what_was_expected_and_found() {
    let mut l = corpus_lines(5);
    l[4] = l[4].replacen(
        "\"id\":5,",
        "\"id\":5,\"gap\":{\"messages\":1000,\"bytes\":4096},",
        1,
    );
    assert!(l[4].contains("\"gap\""), "{}", l[4]);
    let out = on_file(&(l.join("\n") + "\n"), &["cat"]);
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("damaged.log:line 5 (message id 5): message id 5 follows 4")
            && err.contains("(expected 1005: 1000 message(s) dropped by a rate limit before it)"),
        "{err}"
    );
}

#[test]
fn an_unusable_keyframe_is_named_and_an_earlier_one_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = record(
        dir.path(),
        "kf.log",
        &["--payload", "300", "--keyframe-bytes", "2000"],
        &["seq", "1", "3000"],
    );
    let lines = lines_of(&log);
    let keyframed: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains(",\"kf\":{"))
        .collect();
    assert!(keyframed.len() >= 3, "{}", keyframed.len());
    let last = *keyframed.last().expect("a keyframe");
    let id = serde_json::from_str::<serde_json::Value>(&lines[last]).expect("json")["id"]
        .as_u64()
        .expect("id");
    let want = screen(&log, "end");
    for (what, from, to) in [
        (
            "keyframe version 99 is not supported",
            "\"kf\":{\"v\":1",
            "\"kf\":{\"v\":99",
        ),
        ("invalid keyframe", "\"vt\":\"", "\"vt\":7,\"was\":\""),
    ] {
        let mut changed = lines.clone();
        changed[last] = changed[last].replacen(from, to, 1);
        assert_ne!(changed[last], lines[last]);
        let bad = dir.path().join("bad.log");
        std::fs::write(&bad, changed.join("\n") + "\n").expect("write");
        let out = run_to_end(
            Command::new(bin("termtape"))
                .args(["screen", "--at", "end"])
                .arg(&bad),
        );
        let err = text(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert_eq!(text(&out.stdout), want, "{what}");
        assert_eq!(err.lines().count(), 1, "once: {err}");
        assert!(
            err.contains(&format!(
                "bad.log (message id {id}): invalid \"kf\": {what}"
            )) && err.contains("goes from an earlier keyframe or the start"),
            "{err}"
        );
    }
}
