//! Property: for random sessions (output with resizes and full-screen
//! programs on the alternate screen) recorded by the real recorder, the
//! screen at a random moment found through the keyframes equals the screen
//! from replaying the recording from its start, cell by cell.

use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use termtape_format::{Header, Location, Reader};
use termtape_keyframe::{Cadence, Screen};
use termtape_player::seek::{At, Method, screen_at};
use termtape_player::source::File;
use termtape_player::{Query, Selection};
use termtape_rec::{Capture, FileSink, Policy, Recorder};

/// Pieces of output a session is made of.
const PIECES: &[&[u8]] = &[
    b"plain text ",
    b"\r\n",
    b"\n\n\n",
    "ünïcödé 日本語 ".as_bytes(),
    b"\xe2\x82",
    b"\xac",
    b"\xff\xfe",
    b"\x1b[31;1mred\x1b[0m",
    b"\x1b[?1049h",
    b"\x1b[?1049l",
    b"\x1b[H\x1b[2J",
    b"\x1b[5;12r",
    b"\x1b[r",
    b"\x1b[10;30H",
    b"\x1b7",
    b"\x1b8",
    b"\x1b[?25l",
    b"\x1b[?25h",
    b"\x1b]0;a title\x07",
    b"\x1b(0lqqk\x1b(B",
    b"\t|\t|",
    b"\x1b[3L",
    b"\x1b[2M",
    b"\x1b[K",
    b"\x1b[",
    b"1;4m",
];

#[derive(Debug, Clone)]
pub(crate) enum Event {
    /// Output: these pieces, the first `repeat` times (bulk).
    Output(Vec<usize>, usize),
    /// The terminal is resized.
    Window(u16, u16),
    /// Time passes, in milliseconds.
    Wait(u64),
}

pub(crate) fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        6 => (prop::collection::vec(0..PIECES.len(), 1..12), prop_oneof![3 => Just(1usize), 1 => 1usize..3000])
            .prop_map(|(p, r)| Event::Output(p, r)),
        1 => (1u16..140, 1u16..50).prop_map(|(c, r)| Event::Window(c, r)),
        2 => (0u64..3_000).prop_map(Event::Wait),
    ]
}

/// Records `events` into `log`; returns the last time, in ms.
pub(crate) fn record(log: &Path, events: &[Event], payload: usize, cadence: Cadence) -> u64 {
    record_with(log, events, payload, Some(cadence))
}

/// As [`record`], with keyframes by `keyframes`, or none (as tlog records).
pub(crate) fn record_with(
    log: &Path,
    events: &[Event],
    payload: usize,
    keyframes: Option<Cadence>,
) -> u64 {
    let header = Header {
        host: "host".into(),
        rec: "rec-1".into(),
        user: "user".into(),
        term: "xterm".into(),
        session: 1,
    };
    let policy = Policy {
        input: false,
        output: true,
        window: true,
        latency: Duration::from_secs(10),
        payload,
        keyframes,
    };
    let sink = FileSink::open(log).expect("log");
    let mut rec = Recorder::new(
        &header,
        policy,
        Duration::from_secs(1_700_000_000),
        Box::new(sink),
    )
    .expect("recorder");
    let mut now = 0u64;
    rec.window(Duration::ZERO, 80, 24).expect("window");
    for e in events {
        let at = Duration::from_millis(now);
        match e {
            Event::Output(pieces, repeat) => {
                let mut bytes = Vec::new();
                for _ in 0..*repeat {
                    bytes.extend_from_slice(PIECES[pieces[0]]);
                }
                for &p in &pieces[1..] {
                    bytes.extend_from_slice(PIECES[p]);
                }
                rec.output(at, &bytes).expect("output");
            }
            Event::Window(cols, rows) => rec.window(at, *cols, *rows).expect("window"),
            Event::Wait(ms) => {
                now += ms;
                rec.tick(Duration::from_millis(now)).expect("tick");
            }
        }
    }
    rec.finish(Duration::from_millis(now)).expect("finish");
    now
}

/// The screen at `until` ms by replaying `log` from its start.
pub(crate) fn replay(log: &Path, until: u64) -> termtape_emu::Terminal {
    let file = std::io::BufReader::new(std::fs::File::open(log).expect("open"));
    let mut screen = Screen::new();
    for msg in Reader::new(file, None, false) {
        let msg = msg.expect("valid");
        msg.decode(&Location::default(), |t| {
            if t.at <= until {
                screen.apply(&t.packet);
            }
        })
        .expect("decodes");
    }
    screen.into_terminal()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn screen_at_through_keyframes_equals_replay(
        events in prop::collection::vec(event(), 1..120),
        payload in 100usize..2048,
        kf_bytes in 200u64..20_000,
        kf_secs in prop_oneof![Just(0u64), 1u64..10],
        moments in prop::collection::vec(0.0f64..1.1, 1..6),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("session.log");
        let cadence = Cadence { bytes: kf_bytes, interval: Duration::from_secs(kf_secs) };
        let last = record(&log, &events, payload, cadence);
        let source = File::new(log.clone());
        let mut ats: Vec<At> = moments.iter().map(|f| At::Ms((f * last as f64) as u64)).collect();
        ats.push(At::End);
        for at in ats {
            let (term, method) = screen_at(&source, &Query::default(), at, |e| panic!("{e}"))
                .expect("seeks");
            prop_assert!(matches!(method, Method::Keyframe { .. }), "{at:?}: {method:?}");
            let until = match at { At::Ms(ms) => ms, At::End => u64::MAX, At::Clock(_) => unreachable!("not generated") };
            let expected = replay(&log, until);
            prop_assert_eq!(term.diff(&expected), None, "{:?} via {:?}", at, method);
        }
    }
}

#[test]
fn files_with_several_recordings_seek_in_the_one_chosen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    let events = [
        Event::Output(vec![0, 1, 3], 3000),
        Event::Wait(500),
        Event::Output(vec![8, 10, 7], 1),
        Event::Wait(500),
        Event::Output(vec![3, 1, 0], 2000),
    ];
    let cadence = Cadence {
        bytes: 5000,
        interval: Duration::ZERO,
    };
    record(&a, &events, 500, cadence);
    record(&b, &events[..1], 500, cadence);
    // The two recordings' lines interleaved, as several recorders appending
    // to one file write them; the second gets its own id.
    let a_text = std::fs::read_to_string(&a).expect("read");
    let b_text = std::fs::read_to_string(&b)
        .expect("read")
        .replace("\"rec-1\"", "\"rec-2\"");
    let (mut a_lines, mut b_lines) = (a_text.lines(), b_text.lines());
    let mut both = String::new();
    loop {
        let (x, y) = (a_lines.next(), b_lines.next());
        if x.is_none() && y.is_none() {
            break;
        }
        for line in [x, y].into_iter().flatten() {
            both.push_str(line);
            both.push('\n');
        }
    }
    let path = dir.path().join("both.log");
    std::fs::write(&path, both).expect("write");
    assert!(std::fs::metadata(&path).expect("size").len() > 200_000);
    let chosen = |rec: &str| Query {
        selection: Selection::Rec(rec.into()),
        filter: termtape_player::source::Filter {
            rec: Some(rec.into()),
            ..Default::default()
        },
        ..Query::default()
    };
    let source = File::new(path.clone());
    for at in [At::Ms(0), At::Ms(500), At::Ms(700), At::End] {
        let until = match at {
            At::Ms(ms) => ms,
            At::End => u64::MAX,
            At::Clock(_) => unreachable!("not in the list"),
        };
        let (term, method) =
            screen_at(&source, &chosen("rec-1"), at, |e| panic!("{e}")).expect("seeks");
        assert!(
            matches!(method, Method::Keyframe { .. }),
            "{at:?}: {method:?}"
        );
        assert_eq!(term.diff(&replay(&a, until)), None, "rec-1 at {at:?}");
        let (term, method) =
            screen_at(&source, &chosen("rec-2"), at, |e| panic!("{e}")).expect("seeks");
        assert!(
            matches!(method, Method::Keyframe { .. }),
            "{at:?}: {method:?}"
        );
        assert_eq!(term.diff(&replay(&b, until)), None, "rec-2 at {at:?}");
    }
    let (term, _) =
        screen_at(&source, &chosen("rec-1"), At::Ms(700), |e| panic!("{e}")).expect("seeks");
    assert!(term.text().contains("red"), "{}", term.text());
    // Without --rec, a seek that meets another recording's lines replays,
    // and the replay says there are several: here the second recording's
    // lines come after the first's.
    let appended = dir.path().join("appended.log");
    std::fs::write(&appended, a_text.clone() + &b_text).expect("write");
    let e = screen_at(&File::new(appended), &Query::default(), At::End, |e| {
        panic!("{e}")
    })
    .expect_err("several recordings");
    assert!(e.to_string().contains("choose one with --rec"), "{e}");
}

#[test]
fn screen_at_a_wall_clock_time() {
    use std::process::{Command, Stdio};
    use termtape_tests::{bin, read_messages, run_ok};

    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("clock.log");
    run_ok(
        Command::new(bin("termtape"))
            .arg("rec")
            .arg("-o")
            .arg(&log)
            .args(["--", "sh", "-c", "echo first; sleep 2.2; echo second"])
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let first = &read_messages(&log)[0];
    let start = first.time.expect("a time") - first.pos;
    // Times are read and shown in the local zone: Tokyo's (UTC+9, no
    // daylight saving) here, for termtape and for date(1) alike; and in
    // UTC when they say so.
    let tz = "Asia/Tokyo";
    assert!(
        Path::new("/usr/share/zoneinfo").join(tz).exists(),
        "tzdata is missing (scripts/setup installs it)"
    );
    let clock = |secs: u64, utc: bool| {
        let mut date = Command::new("date");
        date.env("TZ", tz).arg("-d").arg(format!("@{secs}"));
        if utc {
            date.arg("-u");
        }
        let out = run_ok(date.arg("+%Y-%m-%d %H:%M:%S"));
        let text = String::from_utf8(out).expect("UTF-8").trim().to_owned();
        if utc { format!("{text} UTC") } else { text }
    };
    let screen = |at: &str| {
        Command::new(bin("termtape"))
            .env("TZ", tz)
            .args(["screen", "--at", at])
            .arg(&log)
            .output()
            .expect("termtape screen")
    };
    // 2 s after the start's second is 1 to 2 s in: before "second" (2.2 s);
    // 5 s after it is 4 to 5 s in, after.
    for utc in [false, true] {
        let at = screen(&clock(start / 1000 + 2, utc));
        assert!(
            at.status.success(),
            "{}",
            String::from_utf8_lossy(&at.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&at.stdout).trim_end(), "first");
        let at = screen(&clock(start / 1000 + 5, utc));
        assert_eq!(
            String::from_utf8_lossy(&at.stdout).trim_end(),
            "first\nsecond"
        );
    }
    // Before the start: said so, with the start in local time.
    let before = screen(&clock(start / 1000 - 60, false));
    assert!(!before.status.success());
    let err = String::from_utf8_lossy(&before.stderr);
    assert!(
        err.contains("is before the recording started")
            && err.contains(&format!("{} JST", clock(start / 1000, false))),
        "{err}"
    );
    // `ls` shows the start in the same zone.
    let listed = run_ok(
        Command::new(bin("termtape"))
            .env("TZ", tz)
            .arg("ls")
            .arg(&log),
    );
    let listed = String::from_utf8(listed).expect("UTF-8");
    assert!(
        listed.contains(&format!("{} JST", clock(start / 1000, false))),
        "{listed}"
    );
}

#[test]
fn raw_play_from_a_moment_draws_that_screen_then_what_follows() {
    use std::process::{Command, Stdio};
    use termtape_tests::{bin, run_ok};

    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("raw.log");
    run_ok(
        Command::new(bin("termtape"))
            .arg("rec")
            .arg("-o")
            .arg(&log)
            .args([
                "--",
                "sh",
                "-c",
                "printf '\\033[1;31mfirst\\033[0m\\n'; sleep 0.4; echo second",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let out = run_ok(
        Command::new(bin("termtape"))
            .args(["play", "--raw", "--seek", "0.2", "--speed", "16"])
            .arg(&log),
    );
    // The screen at 0.2 s as sequences for a reset terminal, then only the
    // later bytes.
    assert!(
        out.starts_with(b"\x1bc"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    assert!(
        out.ends_with(b"second\r\n"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(String::from_utf8_lossy(&out).matches("first").count(), 1);
    // Played on a terminal, it ends on the recording's last screen.
    let mut term = termtape_emu::Terminal::new(80, 24);
    term.feed(&out);
    let (last, _) = screen_at(&File::new(log.clone()), &Query::default(), At::End, |e| {
        panic!("{e}")
    })
    .expect("seeks");
    assert_eq!(term.diff(&last), None);
}
