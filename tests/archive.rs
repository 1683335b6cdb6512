//! Archives (`termtape archive`, seekable zstd): read in place by every
//! command as their source reads, given back byte for byte, read by
//! independent readers (`zstd -t`, Python's pyzstd `SeekableZstdFile`,
//! tlog-play after `unarchive`), and damage named by its byte offset.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use proptest::prelude::*;
use termtape_format::Stream;
use termtape_keyframe::Cadence;
use termtape_player::archive::{Options, archive};
use termtape_player::keyframe::OnChained;
use termtape_player::seek::{At, Method, screen_at};
use termtape_player::source::{Archive, File, Filter, Source};
use termtape_player::{Query, cat};
use termtape_tests::{assert_bytes_eq, bin, require, run_ok, tlog_play};

use crate::seek::{Event, event, record, record_with, replay};

/// `source`'s recording's output, as `termtape cat` writes it.
pub(crate) fn cat_of(source: &dyn Source) -> Vec<u8> {
    let mut out = Vec::new();
    cat::cat(
        source.open(&Filter::default()).expect("opens"),
        &source.name(),
        &Query::default(),
        Stream::Output,
        &mut out,
        |_| {},
        |e| panic!("{e}"),
    )
    .expect("cat");
    out
}

/// The decompressed lines of the archive at `path`.
fn lines_of(path: &Path) -> Vec<u8> {
    let mut lines = Vec::new();
    Archive::new(path)
        .open(&Filter::default())
        .expect("opens")
        .read_to_end(&mut lines)
        .expect("reads");
    lines
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn archives_read_as_their_source_and_give_it_back(
        events in prop::collection::vec(event(), 1..100),
        payload in 100usize..2048,
        kf_bytes in 200u64..20_000,
        keyed in any::<bool>(),
        frame_min in 1usize..30_000,
        frame_extra in 0usize..60_000,
        moments in prop::collection::vec(0.0f64..1.1, 1..5),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("session.log");
        let cadence = Cadence { bytes: kf_bytes, interval: Duration::ZERO };
        // Without keyframes, as tlog records: the archive adds them.
        let last = record_with(&log, &events, payload, keyed.then_some(cadence));
        let zst = dir.path().join("session.zst");
        let options = Options {
            level: 3,
            frame_min,
            frame_max: frame_min + frame_extra,
            cadence,
        };
        archive(
            std::io::BufReader::new(std::fs::File::open(&log).expect("log")),
            "session.log",
            "rec-1",
            std::fs::File::create(&zst).expect("archive"),
            &options,
            |e| panic!("{e}"),
        )
        .expect("archives");
        // Byte for byte: the log as it was, or with keyframes added as
        // `termtape keyframe` adds them.
        let source_bytes = std::fs::read(&log).expect("log");
        let want = if keyed {
            source_bytes
        } else {
            let mut keyed = Vec::new();
            termtape_player::keyframe::add_keyframes(
                source_bytes.as_slice(), "session.log", &mut keyed, cadence, OnChained::Refuse,
                |e| panic!("{e}"), |_| {},
            ).expect("rekeys");
            keyed
        };
        prop_assert!(lines_of(&zst) == want, "the archive's lines differ from the source's");
        let archived = Archive::new(&zst);
        prop_assert!(cat_of(&archived) == cat_of(&File::new(&log)), "cat differs");
        let mut ats: Vec<At> = moments.iter().map(|f| At::Ms((f * last as f64) as u64)).collect();
        ats.push(At::End);
        for at in ats {
            let (term, method) = screen_at(&archived, &Query::default(), at, |e| panic!("{e}"))
                .expect("seeks");
            prop_assert!(matches!(method, Method::Keyframe { .. }), "{at:?}: {method:?}");
            let until = match at { At::Ms(ms) => ms, _ => u64::MAX };
            prop_assert_eq!(term.diff(&replay(&log, until)), None, "{:?} via {:?}", at, method);
        }
    }
}

/// A recording of several megabytes (several frames of the default size),
/// with keyframes, in `dir`.
fn big_recording(dir: &Path) -> PathBuf {
    let log = dir.join("big.log");
    let mut events = Vec::new();
    for i in 0..160 {
        events.push(Event::Output(vec![0, 1, 3, 7], 3000));
        if i % 20 == 0 {
            // A full-screen program now and then.
            events.push(Event::Output(vec![8, 10, 13, 7, 9], 1));
        }
        events.push(Event::Wait(250));
    }
    let cadence = Cadence {
        bytes: 256 * 1024,
        interval: Duration::from_secs(60),
    };
    record(&log, &events, 4096, cadence);
    assert!(std::fs::metadata(&log).expect("log").len() > 3 << 20);
    log
}

fn termtape(args: &[&str]) -> Output {
    Command::new(bin("termtape"))
        .args(args)
        .output()
        .expect("running termtape")
}

fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// The one archive in `dir`.
fn archive_in(dir: &Path) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

/// A Python with pyzstd, in a virtual environment under target/ (made once).
fn pyzstd_python() -> PathBuf {
    require("python3");
    let venv = bin("termtape")
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("pyzstd-venv");
    let python = venv.join("bin/python3");
    let has = |python: &Path| {
        Command::new(python)
            .args(["-c", "import pyzstd"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !has(&python) {
        run_ok(Command::new("python3").args(["-m", "venv", s(&venv)]));
        run_ok(Command::new(venv.join("bin/pip")).args(["install", "--quiet", "pyzstd"]));
    }
    assert!(
        has(&python),
        "pyzstd did not install into {}",
        venv.display()
    );
    python
}

#[test]
fn archives_are_read_by_every_command_and_by_independent_readers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = big_recording(dir.path());
    let out = dir.path().join("out");
    let made = termtape(&["archive", "-o", s(&out), s(&log)]);
    assert!(made.status.success(), "{made:?}");
    let zst = archive_in(&out);
    assert_eq!(
        zst.file_name().and_then(|n| n.to_str()),
        Some("rec-1.tlog.zst")
    );
    let size = |p: &Path| std::fs::metadata(p).expect("size").len();
    assert!(size(&zst) * 10 < size(&log), "compressed to {}", size(&zst));
    let log_bytes = std::fs::read(&log).expect("log");

    // zstd itself checks every frame and decompresses the lines.
    require("zstd");
    run_ok(Command::new("zstd").args(["-q", "-t", s(&zst)]));
    let plain = run_ok(Command::new("zstd").args(["-q", "-d", "-c", s(&zst)]));
    assert_bytes_eq(&plain, &log_bytes, "zstd -dc of the archive");

    // pyzstd's SeekableZstdFile reads the seek table and seeks by it.
    let python = pyzstd_python();
    let script = r#"
import sys, pyzstd
path, log = sys.argv[1], open(sys.argv[2], 'rb').read()
with pyzstd.SeekableZstdFile(path, 'r') as f:
    assert f.read() == log, 'whole'
    for at in (0, len(log) // 3, len(log) // 2, len(log) - 100):
        f.seek(at)
        assert f.read(5000) == log[at:at + 5000], at
print('ok')
"#;
    let said = run_ok(Command::new(python).args(["-c", script, s(&zst), s(&log)]));
    assert_eq!(String::from_utf8_lossy(&said).trim(), "ok");

    // Byte for byte back, and the real tlog-play plays that.
    let back = dir.path().join("back.log");
    run_ok(Command::new(bin("termtape")).args(["unarchive", s(&zst), "-o", s(&back)]));
    assert_bytes_eq(
        &std::fs::read(&back).expect("back"),
        &log_bytes,
        "unarchive",
    );
    let again = termtape(&["unarchive", s(&zst), "-o", s(&back)]);
    assert_eq!(again.status.code(), Some(2), "{again:?}");
    let (played, status, err) = tlog_play(&back, &[]);
    assert!(status.success(), "tlog-play: {err}");
    let ours = run_ok(Command::new(bin("termtape")).args(["cat", s(&log)]));
    assert_bytes_eq(&played, &ours, "tlog-play of the unarchived log");

    // Every command reads the archive as it reads the log.
    for args in [
        &["cat"][..],
        &["screen", "--at", "10"],
        &["screen", "--at", "end", "--format", "ansi"],
        &["search", "red"],
        &["events", "--at", "20", "--to", "21"],
        &["ls", "--json"],
    ] {
        let run = |source: &Path| {
            let mut all = args.to_vec();
            all.push(s(source));
            let out = termtape(&all);
            assert!(out.status.success(), "{all:?}: {out:?}");
            out.stdout
        };
        let (a, b) = (run(&zst), run(&log));
        assert_bytes_eq(&a, &b, &format!("termtape {args:?}"));
    }
}

/// Runs `termtape args… path`: status, stdout, stderr.
fn on(args: &[&str], path: &Path) -> (Option<i32>, Vec<u8>, String) {
    let mut all = args.to_vec();
    all.push(s(path));
    let out = termtape(&all);
    (
        out.status.code(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn damaged_archives_are_named_by_offset_and_read_up_to_the_damage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = big_recording(dir.path());
    let out = dir.path().join("out");
    run_ok(Command::new(bin("termtape")).args(["archive", "-o", s(&out), s(&log)]));
    let zst = archive_in(&out);
    let good = std::fs::read(&zst).expect("archive");
    let full = run_ok(Command::new(bin("termtape")).args(["cat", s(&log)]));
    let late_screen = run_ok(Command::new(bin("termtape")).args(["screen", "--at", "35", s(&log)]));
    let early_screen = run_ok(Command::new(bin("termtape")).args(["screen", "--at", "3", s(&log)]));
    let len = good.len();
    let damaged = |name: &str, bytes: Vec<u8>| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    };
    let le32 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let frames = le32(&good[len - 9..]);
    // Where the seek table's entries start.
    let table = len - 9 - 8 * frames;

    // Cut inside a frame: the whole lines before the cut are played, and
    // the error names the file and where the cut frame starts.
    let cut = damaged("cut.zst", good[..len / 2].to_vec());
    let (code, stdout, stderr) = on(&["cat"], &cut);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("cut.zst")
            && stderr.contains("byte offset")
            && stderr.contains("cut short"),
        "{stderr}"
    );
    assert!(
        stdout.len() > full.len() / 4 && full.starts_with(&stdout),
        "{} of {}",
        stdout.len(),
        full.len()
    );
    // A moment before the cut is shown (replayed: the seek table is gone).
    let (code, screen, stderr) = on(&["screen", "--at", "3"], &cut);
    assert_eq!(code, Some(0), "{stderr}");
    assert_bytes_eq(&screen, &early_screen, "screen before the cut");
    assert!(stderr.contains("no seek table"), "{stderr}");
    let (code, _, stderr) = on(&["unarchive"], &cut);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("byte offset"), "{stderr}");

    // A flipped byte in the seek table: the lines are all there, seeking
    // tells the damage and replays.
    let mut flipped = good.clone();
    flipped[table + 1] ^= 0x40; // the first frame's compressed size
    let flipped = damaged("flipped.zst", flipped);
    let (code, stdout, stderr) = on(&["cat"], &flipped);
    assert_eq!(code, Some(0), "{stderr}");
    assert_bytes_eq(&stdout, &full, "cat with a damaged seek table");
    let (code, screen, stderr) = on(&["screen", "--at", "35"], &flipped);
    assert_eq!(code, Some(0), "{stderr}");
    assert_bytes_eq(&screen, &late_screen, "screen with a damaged seek table");
    assert!(
        stderr.contains("flipped.zst") && stderr.contains(&format!("byte offset {table}")),
        "{stderr}"
    );
    let (code, _, stderr) = on(&["unarchive"], &flipped);
    assert_eq!(code, Some(2), "{stderr}");
    // The frame count and the footer's magic too.
    for at in [len - 9, len - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        let bad = damaged("footer.zst", bad);
        let (code, screen, stderr) = on(&["screen", "--at", "35"], &bad);
        assert_eq!(code, Some(0), "{stderr}");
        assert_bytes_eq(&screen, &late_screen, "screen with a damaged footer");
        assert!(stderr.contains("byte offset"), "{at}: {stderr}");
    }

    // A corrupted frame: everything before it is played; the error names
    // the frame's offset. A seek past it does not need it.
    let mut corrupt = good.clone();
    let at = len / 3;
    for b in &mut corrupt[at..at + 4] {
        *b ^= 0x55;
    }
    let corrupt = damaged("corrupt.zst", corrupt);
    let (code, stdout, stderr) = on(&["cat"], &corrupt);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("corrupt.zst") && stderr.contains("byte offset"),
        "{stderr}"
    );
    assert!(
        !stdout.is_empty() && full.starts_with(&stdout),
        "{} of {}",
        stdout.len(),
        full.len()
    );
    let (code, screen, stderr) = on(&["screen", "--at", "3"], &corrupt);
    assert_eq!(code, Some(0), "{stderr}");
    assert_bytes_eq(&screen, &early_screen, "screen before a corrupt frame");
    for code in [
        on(&["screen", "--at", "35"], &corrupt).0,
        on(&["ls"], &corrupt).0,
        on(&["unarchive"], &corrupt).0,
    ] {
        // Told, never a panic (101).
        assert!(matches!(code, Some(0..=2)), "{code:?}");
    }
}

#[test]
fn archives_are_not_archived_again_nor_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("s.log");
    record(
        &log,
        &[Event::Output(vec![0, 1], 500)],
        1024,
        Cadence::default(),
    );
    let out = dir.path().join("out");
    run_ok(Command::new(bin("termtape")).args(["archive", "-o", s(&out), s(&log)]));
    let zst = archive_in(&out);
    let before = std::fs::read(&zst).expect("archive");
    let again = termtape(&["archive", "--level", "1", "-o", s(&out), s(&log)]);
    assert_eq!(again.status.code(), Some(2), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(std::fs::read(&zst).expect("archive"), before, "left alone");
    let forced = termtape(&["archive", "--force", "--level", "1", "-o", s(&out), s(&log)]);
    assert!(forced.status.success(), "{forced:?}");
    assert_eq!(archive_in(&out), zst, "no partial file left");
    // An archive of an archive, whatever its name.
    let renamed = dir.path().join("looks-like.log");
    std::fs::copy(&zst, &renamed).expect("copy");
    let nested = termtape(&["archive", "-o", s(&dir.path().join("o2")), s(&renamed)]);
    assert_eq!(nested.status.code(), Some(2), "{nested:?}");
    assert!(String::from_utf8_lossy(&nested.stderr).contains("already an archive"));
    // Selection: nothing of another user.
    let none = termtape(&["archive", "--user", "nobody-here", "-o", s(&out), s(&log)]);
    assert_eq!(none.status.code(), Some(1), "{none:?}");
}

/// A recording in the journal (the shared journald, termtape's journal
/// writer with keyframes, a full-screen program's escapes) archived with
/// `--rec`: every command reads the archive as it reads the journal, and
/// `unarchive` gives back the lines the journal source gives.
#[test]
fn journal_recordings_archive_as_the_journal_reads_them() {
    let script = "printf '\\033[?1049h\\033[2J\\033[Hjournal-archive full screen\\n'; \
                  seq 1 3000; printf '\\033[?1049l\\033[31mred\\033[0m\\n'; sleep 0.3; \
                  seq 1 2000 | tr 0-9 a-j; echo journal-archive-end";
    let rec = crate::journal::record_to_journal(
        script,
        &["--latency", "0.1", "--keyframe-bytes", "8192"],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let made = termtape(&["archive", "-o", s(&out), "--rec", &rec, "journal"]);
    assert!(made.status.success(), "{made:?}");
    let zst = archive_in(&out);

    // The lines, byte for byte as the journal source gives them.
    let mut lines = Vec::new();
    termtape_player::source::Journal::new(None)
        .open(&Filter {
            rec: Some(rec.clone()),
            ..Filter::default()
        })
        .expect("opens the journal")
        .read_to_end(&mut lines)
        .expect("reads the journal");
    let key = format!("\"{}\":", termtape_keyframe::FIELD);
    assert!(
        String::from_utf8_lossy(&lines).matches(&key).count() >= 2,
        "fewer than two keyframes recorded"
    );
    assert_bytes_eq(&lines_of(&zst), &lines, "the archive's lines");
    let back = dir.path().join("back.log");
    run_ok(Command::new(bin("termtape")).args(["unarchive", s(&zst), "-o", s(&back)]));
    assert_bytes_eq(&std::fs::read(&back).expect("back"), &lines, "unarchive");
    let (played, status, err) = tlog_play(&back, &[]);
    assert!(status.success(), "tlog-play: {err}");
    // As the file test checks it: `tlog-play -r journal` of this recording
    // gave 12 bytes more at the end (ESC[0m ESC[?25h, a newline, a NUL).
    let ours = run_ok(Command::new(bin("termtape")).args(["cat", "--rec", &rec, "journal"]));
    assert_bytes_eq(&played, &ours, "tlog-play of the unarchived log");

    let end = {
        let ls = run_ok(Command::new(bin("termtape")).args(["ls", "--json", s(&zst)]));
        let v: serde_json::Value = serde_json::from_slice(&ls).expect("ls --json");
        v["duration"].as_u64().expect("a duration")
    };
    assert!(end >= 300, "{end} ms");
    let (third, half) = (
        format!("{}", end / 3000),
        format!("{:.3}", end as f64 / 2000.0),
    );
    for args in [
        &["cat"][..],
        &["screen", "--at", &third],
        &["screen", "--at", &half],
        &["screen", "--at", "end", "--format", "ansi"],
        &["search", "journal-archive"],
    ] {
        let mut on_journal = args.to_vec();
        on_journal.extend(["--rec", &rec, "journal"]);
        let mut on_zst = args.to_vec();
        on_zst.push(s(&zst));
        let (a, b) = (termtape(&on_zst), termtape(&on_journal));
        assert!(a.status.success() && b.status.success(), "{a:?} {b:?}");
        assert_bytes_eq(&a.stdout, &b.stdout, &format!("termtape {args:?}"));
    }
}
