//! Keyframes end to end: recordings that carry them still play in the real
//! tlog-play byte for byte, `termtape screen` seeks through them, and
//! `termtape keyframe` adds them to recordings made without.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use termtape_tests::{assert_bytes_eq, bin, read_messages, run_ok, through_pty, tlog_play};

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

/// `termtape screen` on `log` with `args`: the screen and what it said on
/// standard error.
fn screen(log: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(bin("termtape"))
        .arg("screen")
        .args(args)
        .arg(log)
        .output()
        .expect("running termtape screen");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "termtape screen {args:?}: {stderr}");
    (String::from_utf8(out.stdout).expect("UTF-8"), stderr)
}

/// A copy of `log` without its keyframes.
fn strip_keyframes(log: &Path, to: &Path) {
    let text: String = read_messages(log)
        .into_iter()
        .map(|mut m| {
            m.extra.retain(|(name, _)| name != "kf");
            m.to_json()
        })
        .collect();
    std::fs::write(to, text).expect("write");
}

#[test]
fn screen_through_keyframes_equals_replay_from_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let parts: Vec<PathBuf> = (0..3)
        .map(|i| {
            let path = dir.path().join(format!("part{i}"));
            std::fs::write(&path, busy_output(200 + 100 * i)).expect("write");
            path
        })
        .collect();
    let script = format!(
        "cat {}; sleep 0.4; cat {}; printf '\\033[?1049h\\033[Hin the middle'; sleep 0.4; \
         printf '\\033[?1049l'; cat {}",
        parts[0].display(),
        parts[1].display(),
        parts[2].display()
    );
    let log = dir.path().join("three.log");
    run_ok(
        Command::new(bin("termtape-rec"))
            .arg("-o")
            .arg(&log)
            .args(["--keyframe-bytes", "3000", "--", "sh", "-c", &script])
            .stdin(Stdio::null()),
    );
    let plain = dir.path().join("plain.log");
    strip_keyframes(&log, &plain);
    for at in ["0", "0.2", "0:00.6", "00:00:00.600", "end", "99"] {
        let (seeked, hint) = screen(&log, &["--at", at]);
        // Past the end (99 s), the note that the last screen is shown.
        let past = hint.contains("the recording ends at ");
        assert_eq!(past, at == "99", "at {at}: {hint}");
        let hint: String = hint
            .lines()
            .filter(|l| !l.contains("the recording ends at "))
            .collect();
        assert_eq!(hint, "", "at {at}: no hint with keyframes");
        let (replayed, hint) = screen(&plain, &["--at", at]);
        assert!(hint.contains("termtape keyframe"), "at {at}: {hint}");
        assert_eq!(seeked, replayed, "at {at}");
        assert_eq!(seeked.lines().count(), 24, "one line per row");
        assert!(seeked.lines().all(|l| l == l.trim_end()), "trimmed");
        let (ansi, _) = screen(&log, &["--at", at, "--format", "ansi"]);
        let (ansi_plain, _) = screen(&plain, &["--at", at, "--format", "ansi"]);
        assert_eq!(ansi, ansi_plain, "ansi at {at}");
    }
    let (middle, _) = screen(&log, &["--at", "0.6"]);
    assert!(middle.starts_with("in the middle\n"), "{middle}");
    let (end, _) = screen(&log, &[]);
    assert!(end.contains("line 00399 ünïcödé 日本"), "{end}");
}

#[test]
fn keyframe_command_makes_tlog_recordings_seekable_and_changes_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let original = termtape_tests::corpus_dir().join("a_interactive.log");
    let keyed = dir.path().join("keyed.log");
    run_ok(
        Command::new(bin("termtape"))
            .args(["keyframe", "--keyframe-bytes", "500"])
            .arg(&original)
            .arg(&keyed),
    );
    let before = std::fs::read_to_string(&original).expect("read");
    let after = std::fs::read_to_string(&keyed).expect("read");
    let (before, after): (Vec<&str>, Vec<&str>) =
        (before.lines().collect(), after.lines().collect());
    assert_eq!(before.len(), after.len());
    let mut added = 0;
    for (b, a) in before.iter().zip(&after) {
        if a != b {
            added += 1;
            let prefix = &b[..b.len() - 1];
            assert!(
                a.starts_with(prefix) && a[prefix.len()..].starts_with(",\"kf\":{\"v\":1,"),
                "only a kf field is added:\n{b}\n{a}"
            );
        }
    }
    assert!(added >= 2, "{added} keyframes");
    let (played, status, stderr) = tlog_play(&original, &[]);
    assert!(status.success(), "tlog-play: {stderr}");
    let (played_keyed, status, stderr) = tlog_play(&keyed, &[]);
    assert!(status.success(), "tlog-play: {stderr}");
    assert_bytes_eq(&played_keyed, &played, "tlog-play with keyframes added");
    for at in ["1", "3.5", "end"] {
        let (plain, hint) = screen(&original, &["--at", at]);
        assert!(hint.contains("has no keyframes"), "{hint}");
        let (seeked, hint) = screen(&keyed, &["--at", at]);
        assert_eq!(hint, "");
        assert_eq!(seeked, plain, "at {at}");
    }
}

/// A tmux server of its own (its socket in a temporary directory), stopped
/// when dropped.
pub(crate) struct Tmux {
    pub(crate) socket: PathBuf,
}

impl Tmux {
    pub(crate) fn cmd(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S").arg(&self.socket);
        cmd
    }

    /// `new-session` of an 80x24 pane named `kf` with the configuration
    /// `conf` (see [`Tmux::quiet_conf`]) and TERM=xterm-256color; the
    /// caller adds its environment and command.
    pub(crate) fn pane(&self, conf: &Path) -> Command {
        let mut cmd = self.cmd();
        cmd.arg("-f")
            .arg(conf)
            .args(["new-session", "-d", "-s", "kf", "-x", "80", "-y", "24"])
            .env("TERM", "xterm-256color");
        cmd
    }

    /// A tmux configuration in `dir` without a status line (the pane's
    /// rows are all the program's); its path.
    pub(crate) fn quiet_conf(dir: &Path) -> PathBuf {
        let conf = dir.join("tmux.conf");
        std::fs::write(&conf, "set -g status off\n").expect("write");
        conf
    }

    pub(crate) fn run(&self, args: &[&str]) -> String {
        String::from_utf8(run_ok(self.cmd().args(args))).expect("UTF-8")
    }

    /// The pane's text, rows trimmed on the right, trailing empty rows
    /// dropped.
    pub(crate) fn capture(&self) -> String {
        normalise(&self.run(&["capture-pane", "-p", "-t", "kf"]))
    }

    /// Waits until the pane shows `text` and then stays unchanged for a
    /// while (the program has finished drawing); returns it.
    pub(crate) fn settle(&self, text: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut last = String::new();
        let mut stable = 0;
        loop {
            let now = self.capture();
            if now == last && now.contains(text) {
                stable += 1;
                if stable == 8 {
                    return now;
                }
            } else {
                stable = 0;
            }
            last = now;
            assert!(
                std::time::Instant::now() < deadline,
                "the pane never showed {text:?}:\n{last}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").stderr(Stdio::null()).status();
    }
}

pub(crate) fn normalise(screen: &str) -> String {
    let mut lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
    while lines.last() == Some(&"") {
        lines.pop();
    }
    lines.join("\n")
}

/// Moments at which the recording's output had paused (for 700 ms or
/// more): 150 ms into each pause. `Tmux::settle` waits for 800 ms of an
/// unchanged screen after each step, so each step ends in such a pause;
/// a shorter threshold also caught a loaded machine's stalls mid-redraw.
fn pauses(log: &Path) -> Vec<f64> {
    let mut times = Vec::new();
    for msg in read_messages(log) {
        msg.decode(&termtape_format::Location::default(), |t| {
            if matches!(
                t.packet,
                termtape_format::Packet::Io {
                    stream: termtape_format::Stream::Output,
                    ..
                }
            ) {
                times.push(t.at);
            }
        })
        .expect("decodes");
    }
    times
        .windows(2)
        .filter(|w| w[1] - w[0] >= 700)
        .map(|w| (w[0] + 150) as f64 / 1000.0)
        .collect()
}

/// Runs `program` under termtape-rec in an 80x24 tmux pane, waits for
/// `first`, then takes each step (keys to send, or `["resize", W, H]`) and
/// waits for its text; quits with `quit`. Checks that `termtape screen
/// --at` each pause in the recording equals what tmux showed then, and
/// returns the recording.
fn compare_with_tmux(
    dir: &Path,
    program: &str,
    first: &str,
    steps: &[(&[&str], &str)],
    quit: &[&str],
) -> PathBuf {
    termtape_tests::require("tmux");
    let conf = Tmux::quiet_conf(dir);
    let log = dir.join("program.log");
    let tmux = Tmux {
        socket: dir.join("tmux.sock"),
    };
    let command = format!(
        "{} -o {} --keyframe-bytes 2000 -- {program}",
        bin("termtape-rec").display(),
        log.display(),
    );
    run_ok(
        tmux.pane(&conf)
            .env("LANG", "C.UTF-8")
            .env("LESS", "")
            .arg(&command),
    );
    // Sizes change only when told (there is no client to follow).
    tmux.run(&["set", "-g", "window-size", "manual"]);
    let mut shown = vec![tmux.settle(first)];
    for (keys, expect) in steps {
        match keys {
            ["resize", x, y] => tmux.run(&["resize-window", "-t", "kf", "-x", x, "-y", y]),
            _ => tmux.run(&[&["send-keys", "-t", "kf"][..], keys].concat()),
        };
        let screen = tmux.settle(expect);
        assert_ne!(Some(&screen), shown.last(), "{keys:?} changed the screen");
        shown.push(screen);
    }
    tmux.run(&[&["send-keys", "-t", "kf"][..], quit].concat());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while tmux
        .cmd()
        .args(["has-session", "-t", "kf"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{program} did not quit"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let msgs = read_messages(&log);
    let keyframes = msgs.iter().filter(|m| m.extra("kf").is_some()).count();
    assert!(
        keyframes >= 3,
        "{keyframes} keyframes in {} messages",
        msgs.len()
    );
    let moments = pauses(&log);
    assert_eq!(
        moments.len(),
        shown.len(),
        "a pause after each screen: {moments:?}"
    );
    for (at, expected) in moments.iter().zip(&shown) {
        let (screen, hint) = screen(&log, &["--at", &format!("{at:.3}")]);
        assert_eq!(hint, "");
        assert_eq!(normalise(&screen), *expected, "at {at} s");
    }
    log
}

/// 3000 numbered lines of text, some with non-ASCII letters.
fn numbered_text(dir: &Path) -> PathBuf {
    let text = dir.join("text.txt");
    let body: String = (1..=3000)
        .map(|i| format!("{i:04} the quick brown fox {} jumps\n", "ü".repeat(i % 13)))
        .collect();
    std::fs::write(&text, body).expect("write");
    text
}

#[test]
fn less_recorded_under_tmux_shows_at_each_moment_what_tmux_showed() {
    termtape_tests::require("less");
    let dir = tempfile::tempdir().expect("tempdir");
    let text = numbered_text(dir.path());
    let log = compare_with_tmux(
        dir.path(),
        &format!("less {}", text.display()),
        "0001 the quick",
        &[
            (&["Space"], "0024 the quick"),
            (&["Space", "Space"], "0070 the quick"),
            (&["/2345", "Enter"], "2345 the quick"),
            (&["G"], "3000 the quick"),
            (&["resize", "100", "30"], "3000 the quick"),
            (&["g"], "0001 the quick"),
            (&["resize", "60", "12"], "0001 the quick"),
            (&["Space"], "0012 the quick"),
        ],
        &["q"],
    );
    // At the end less has gone, and the primary screen is back.
    let (end, _) = screen(&log, &[]);
    assert!(!end.contains("0001 the quick"), "{end}");
}

#[test]
fn vim_recorded_under_tmux_shows_at_each_moment_what_tmux_showed() {
    termtape_tests::require("vim");
    let dir = tempfile::tempdir().expect("tempdir");
    let text = numbered_text(dir.path());
    compare_with_tmux(
        dir.path(),
        &format!("vim -u NONE -i NONE -N -n {}", text.display()),
        "0001 the quick",
        &[
            (&["1500G"], "1500 the quick"),
            (&["o", "a new line, typed", "Escape"], "a new line, typed"),
            (&[":%s/quick/slow/g", "Enter"], "the slow brown"),
            (&["resize", "90", "20"], "3000 the slow"),
            (&["dd", "dd"], "2998 the slow"),
            (&["gg"], "0001 the slow"),
        ],
        &[":q!", "Enter"],
    );
}

/// Waits until tmux's pane "kf" shows `text`; returns the pane.
pub(crate) fn wait_for(tmux: &Tmux, text: &str) -> String {
    wait_until(tmux, text, |pane| pane.contains(text))
}

/// Waits until tmux's pane "kf" shows what `what` describes; returns the
/// pane.
pub(crate) fn wait_until(tmux: &Tmux, what: &str, shown: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let pane = String::from_utf8(run_ok(tmux.cmd().args(["capture-pane", "-p", "-t", "kf"])))
            .expect("UTF-8");
        if shown(&pane) {
            return pane;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the pane never showed {what}:\n{pane}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// `termtape play ARGS LOG` in a detached tmux session "kf" of `size`
/// (TERM xterm-256color, no status bar), which shows `played STATUS` when
/// the player exits.
pub(crate) fn play_in_tmux(dir: &Path, args: &[&str], log: &Path, size: (u16, u16)) -> Tmux {
    let conf = Tmux::quiet_conf(dir);
    let tmux = Tmux {
        socket: dir.join("tmux.sock"),
    };
    run_ok(
        tmux.cmd()
            .arg("-f")
            .arg(&conf)
            .args(["new-session", "-d", "-s", "kf"])
            .args(["-x", &size.0.to_string(), "-y", &size.1.to_string()])
            .env("TERM", "xterm-256color")
            .arg(format!(
                "{} play {} {}; echo played $?; sleep 30",
                bin("termtape").display(),
                args.join(" "),
                log.display()
            )),
    );
    tmux.run(&["set", "-g", "window-size", "manual"]);
    tmux
}

#[test]
fn play_on_a_terminal_draws_the_screen_and_jumps_through_keyframes() {
    termtape_tests::require("tmux");
    let dir = tempfile::tempdir().expect("tempdir");
    let script = "for i in $(seq 1 60); do printf '\\033[3%dmline %d\\033[0m\\n' $((i % 8)) $i; \
                  sleep 0.02; done; printf '\\033[?1049h\\033[2J\\033[5;5Hfull screen'; sleep 0.5; \
                  printf '\\033[?1049l'; echo done";
    let log = dir.path().join("play.log");
    run_ok(
        Command::new(bin("termtape-rec"))
            .arg("-o")
            .arg(&log)
            .args(["--keyframe-bytes", "300", "--", "sh", "-c", script])
            .stdin(Stdio::null()),
    );
    // A viewer smaller than the recording: 60x15 against 80x24.
    let tmux = play_in_tmux(dir.path(), &[], &log, (60, 15));
    wait_for(&tmux, "[clipped 80x24 to 60x14]");
    // Paused, then to a moment: the pane shows that moment's screen.
    tmux.run(&["send-keys", "-t", "kf", "Space"]);
    wait_for(&tmux, " || ");
    for (keys, at) in [
        (&["g", "0.5", "Enter"][..], "0.5"),
        (&["End"][..], "end"),
        (&["g", "0:00.2", "Enter"][..], "0.2"),
        (&["Home"][..], "0"),
        (&["Right"][..], "5"),
    ] {
        tmux.run(&[&["send-keys", "-t", "kf"][..], keys].concat());
        let (screen, _) = screen(&log, &["--at", at]);
        let expected: Vec<String> = screen
            .lines()
            .take(14)
            .map(|l| l.chars().take(60).collect::<String>().trim_end().to_owned())
            .collect();
        let expected = normalise(&expected.join("\n"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let pane = tmux.capture();
            let top: Vec<&str> = pane.lines().take(14).collect();
            if normalise(&top.join("\n")) == expected && pane.contains(" || ") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{keys:?}: the pane\n{pane}\nnever showed\n{expected}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    // Resumed, it plays to the end (the status line's times meet), then q
    // quits.
    tmux.run(&["send-keys", "-t", "kf", "Home", "Space", "+", "+"]);
    wait_for(&tmux, " > ");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let pane = tmux.capture();
        let status = pane.lines().last().unwrap_or_default().to_owned();
        let times: Vec<&str> = status.split_whitespace().skip(1).take(3).collect();
        if times.len() == 3 && times[0] == times[2] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never reached the end: {status}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    tmux.run(&["send-keys", "-t", "kf", "q"]);
    wait_for(&tmux, "played 0");
}

#[test]
fn play_on_a_terminal_cuts_long_pauses_and_says_when_keyframes_are_missing() {
    termtape_tests::require("tmux");
    let dir = tempfile::tempdir().expect("tempdir");
    // tlog's format, as tlog writes it (no keyframes): "first", an hour's
    // pause, "last".
    let log = dir.path().join("pause.log");
    std::fs::write(
        &log,
        concat!(
            r#"{"ver":"2.3","host":"h","rec":"r","user":"u","term":"xterm","session":1,"id":1,"pos":0,"#,
            r#""timing":"=80x24>7+3600000>4","in_txt":"","in_bin":[],"out_txt":"first\r\nlast","out_bin":[]}"#,
            "\n"
        ),
    )
    .expect("write");
    let tmux = play_in_tmux(dir.path(), &["--max-pause", "0.2"], &log, (160, 30));
    wait_for(&tmux, "[no keyframes: jumps replay from the start");
    // The hour is cut to 0.2 s: the end is reached at once.
    let pane = wait_for(&tmux, "1:00:00.000 / 1:00:00.000");
    assert!(pane.contains("first") && pane.contains("last"), "{pane}");
    tmux.run(&["send-keys", "-t", "kf", "q"]);
    wait_for(&tmux, "played 0");
}

#[test]
fn play_on_a_terminal_finds_text_and_steps_through_the_finds() {
    termtape_tests::require("tmux");
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("find.log");
    let script = "echo alpha; sleep 0.3; echo 'Needle one'; sleep 0.3; seq 1 60; sleep 0.3; \
                  echo 'needle two'; sleep 0.3; echo end";
    run_ok(
        Command::new(bin("termtape-rec"))
            .arg("-o")
            .arg(&log)
            .args(["--", "sh", "-c", script])
            .stdin(Stdio::null()),
    );
    let tmux = play_in_tmux(dir.path(), &[], &log, (160, 30));
    wait_for(&tmux, " > ");
    // Paused at the start, then a search: lower case matches both.
    tmux.run(&["send-keys", "-t", "kf", "Space", "Home", "/"]);
    wait_for(&tmux, " find:");
    tmux.run(&["send-keys", "-t", "kf", "-l", "needle"]);
    tmux.run(&["send-keys", "-t", "kf", "Enter"]);
    let pane = wait_for(&tmux, "[/needle 1/2]");
    assert!(
        pane.contains("Needle one") && !pane.contains("needle two"),
        "{pane}"
    );
    tmux.run(&["send-keys", "-t", "kf", "n"]);
    let pane = wait_for(&tmux, "[/needle 2/2]");
    assert!(pane.contains("needle two"), "{pane}");
    tmux.run(&["send-keys", "-t", "kf", "N"]);
    wait_for(&tmux, "[/needle 1/2]");
    // Upper case is matched as typed.
    tmux.run(&["send-keys", "-t", "kf", "/"]);
    wait_for(&tmux, " find:");
    tmux.run(&["send-keys", "-t", "kf", "-l", "Needle"]);
    tmux.run(&["send-keys", "-t", "kf", "Enter"]);
    wait_for(&tmux, "[/Needle 1/1]");
    tmux.run(&["send-keys", "-t", "kf", "/"]);
    wait_for(&tmux, " find:");
    tmux.run(&["send-keys", "-t", "kf", "-l", "haystack"]);
    tmux.run(&["send-keys", "-t", "kf", "Enter"]);
    wait_for(&tmux, "[/haystack: not found]");
    tmux.run(&["send-keys", "-t", "kf", "q"]);
    wait_for(&tmux, "played 0");
}

/// Keyframe bytes written up to each message, against the output before it:
/// the budget README states. Returns how many keyframes there are.
fn assert_keyframe_budget(log: &Path) -> usize {
    use termtape_keyframe::{FIRST_CREDIT, MAX_KEYFRAME_LEN, OUTPUT_PER_BYTE};
    let (mut output, mut spent, mut count) = (0u64, 0u64, 0);
    for msg in read_messages(log) {
        if let Some(kf) = msg.extra("kf") {
            let len = kf.get().len();
            assert!(len <= MAX_KEYFRAME_LEN, "message {}: {len} bytes", msg.id);
            spent += len as u64;
            count += 1;
            assert!(
                spent <= FIRST_CREDIT + output / OUTPUT_PER_BYTE,
                "{spent} keyframe bytes by message {} after {output} bytes of output",
                msg.id
            );
        }
        output += msg
            .bytes(termtape_format::Stream::Output, &Default::default())
            .expect("decodes")
            .len() as u64;
    }
    count
}

/// The attack of a window resized again and again, as large as a terminal
/// allows, with a little colourful output in between: the command's
/// terminal is never larger than the recorder records, the recorded size is
/// the one the command sees, and the keyframes stay within their budget.
#[test]
fn resizes_of_a_huge_window_are_clamped_and_keyframes_stay_within_budget() {
    termtape_tests::require("tmux");
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let conf = Tmux::quiet_conf(dir);
    // About 2 KB of per-cell colours.
    let chunk: String = (0..60u32)
        .map(|i| format!("\x1b[38;2;{};{};9m\x1b[48;5;{}m#", i * 4, 255 - i, i + 16))
        .collect::<String>()
        + "\x1b[0m\r\n";
    std::fs::write(dir.join("chunk"), &chunk).expect("write");
    let stop = dir.join("stop");
    let script = format!(
        "i=0; while [ ! -e {stop} ] && [ $i -lt 3000 ]; do stty size; cat {chunk}; i=$((i+1)); sleep 0.01; done; stty size",
        stop = stop.display(),
        chunk = dir.join("chunk").display(),
    );
    let log = dir.join("huge.log");
    let tmux = Tmux {
        socket: dir.join("tmux.sock"),
    };
    let command = format!(
        "{} -o {} --keyframe-bytes 1 -- sh -c '{script}'",
        bin("termtape-rec").display(),
        log.display(),
    );
    run_ok(tmux.pane(&conf).env("LANG", "C.UTF-8").arg(&command));
    tmux.run(&["set", "-g", "window-size", "manual"]);
    for i in 0..40u32 {
        let (x, y) = match i % 3 {
            0 => (1000, 1000),
            1 => (300, 250),
            _ => (81 + i, 25 + i),
        };
        tmux.run(&[
            "resize-window",
            "-t",
            "kf",
            "-x",
            &x.to_string(),
            "-y",
            &y.to_string(),
        ]);
        std::thread::sleep(std::time::Duration::from_millis(60));
    }
    std::fs::write(&stop, "").expect("write");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while tmux
        .cmd()
        .args(["has-session", "-t", "kf"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the session did not end"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let msgs = read_messages(&log);
    let mut sizes = Vec::new();
    let mut output = Vec::new();
    for msg in &msgs {
        msg.decode(&Default::default(), |t| match t.packet {
            termtape_format::Packet::Window { cols, rows } => sizes.push((cols, rows)),
            termtape_format::Packet::Io {
                stream: termtape_format::Stream::Output,
                bytes,
            } => output.extend_from_slice(&bytes),
            _ => {}
        })
        .expect("decodes");
    }
    for &(cols, rows) in &sizes {
        assert!(
            cols <= 1024
                && u32::from(cols) * u32::from(rows) <= termtape_keyframe::MAX_SCREEN_CELLS,
            "recorded {cols}x{rows}"
        );
    }
    // 1000x1000 became 1000x65 and 300x250 300x218 (65,536 cells at most),
    // and the command saw it.
    assert!(sizes.contains(&(1000, 65)), "sizes {sizes:?}");
    assert!(sizes.contains(&(300, 218)), "sizes {sizes:?}");
    let text = String::from_utf8_lossy(&output);
    assert!(
        text.contains("65 1000\r\n"),
        "the command never saw 1000x65"
    );
    assert!(
        text.contains("218 300\r\n"),
        "the command never saw 300x218"
    );
    assert!(!text.contains("1000 1000"), "the command saw 1000x1000");
    let keyframes = assert_keyframe_budget(&log);
    assert!(keyframes >= 2, "{keyframes} keyframes");
}
