//! `termtape search` on real recordings: every find is a line that `termtape
//! screen --at` shows at the moment it gives; a full-screen program's text is
//! found, a line is found once however long it stays; typed lines; exit
//! status 1 when nothing is found.

use std::process::{Command, Output, Stdio};

use termtape_tests::{bin, run_ok};

fn search(args: &[&str]) -> Output {
    Command::new(bin("termtape"))
        .arg("search")
        .args(args)
        .output()
        .expect("running termtape search")
}

/// One find: (recording, moment, line).
fn finds(out: &Output) -> Vec<(String, String, String)> {
    assert!(
        out.status.success(),
        "search failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .expect("UTF-8")
        .lines()
        .map(|l| {
            // TIME  USER@HOST  REC  MOMENT  LINE (which may hold anything)
            let fields: Vec<&str> = l.splitn(5, "  ").collect();
            assert_eq!(fields.len(), 5, "{l}");
            (
                fields[2].to_owned(),
                fields[3].to_owned(),
                fields[4].to_owned(),
            )
        })
        .collect()
}

#[test]
fn finds_are_where_and_when_the_screen_showed_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("session.log");
    let script = "echo 'error: disk full'; sleep 0.3; \
                  printf '\\033[?1049h\\033[5;5Herror in a full-screen program'; sleep 0.5; \
                  printf '\\033[?1049l'; seq 1 40; sleep 0.3; echo 'error: again'";
    run_ok(
        Command::new(bin("termtape"))
            .arg("rec")
            .arg("-o")
            .arg(&log)
            .args(["--", "sh", "-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let log = log.to_str().expect("UTF-8 path");
    let found = finds(&search(&["error", log]));
    let lines: Vec<&str> = found.iter().map(|(_, _, l)| l.trim()).collect();
    // Once each: the first line stays on the screen, goes under the
    // full-screen program, comes back and scrolls off.
    assert_eq!(
        lines,
        [
            "error: disk full",
            "error in a full-screen program",
            "error: again"
        ],
        "{found:?}"
    );
    for (rec, at, line) in &found {
        let screen =
            run_ok(Command::new(bin("termtape")).args(["screen", "--rec", rec, "--at", at, log]));
        let screen = String::from_utf8(screen).expect("UTF-8");
        assert!(
            screen.lines().any(|l| l == line.as_str()),
            "{line:?} not on the screen at {at}:\n{screen}"
        );
    }
    // The same finds as JSON objects, for other tools.
    let json = search(&["--json", "error", log]);
    assert!(json.status.success());
    let objects: Vec<serde_json::Value> = String::from_utf8(json.stdout)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object per line"))
        .collect();
    assert_eq!(objects.len(), found.len());
    for (object, (rec, _, line)) in objects.iter().zip(&found) {
        assert_eq!(object["rec"], rec.as_str());
        assert_eq!(object["line"], line.as_str());
        assert!(object["time"].as_u64().is_some() && object["at"].as_u64().is_some());
    }
    // Case, and nothing found.
    assert_eq!(finds(&search(&["-i", "ERROR: DISK", log])).len(), 1);
    let none = search(&["no such text", log]);
    assert_eq!(none.status.code(), Some(1));
    assert!(none.stdout.is_empty());
}

#[test]
fn typed_lines_are_found_with_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("typed.log");
    let mut child = Command::new(bin("termtape"))
        .arg("rec")
        .arg("-o")
        .arg(&log)
        .args([
            "--log-input",
            "--",
            "sh",
            "-c",
            "while read -r l; do :; done",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("running termtape rec");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(b"ls\nrm -rf /tmp/old\nexit\n")
            .expect("typing");
    }
    assert!(child.wait().expect("termtape rec").success());
    let log = log.to_str().expect("UTF-8 path");
    let found = finds(&search(&["--input", "rm -rf", log]));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].2, "rm -rf /tmp/old");
}

/// Recordings interleaved line by line in one file, as a journal holds
/// concurrent sessions: `termtape search` on one core (taskset) and on
/// every core writes the same bytes.
#[test]
fn many_recordings_give_the_same_finds_on_one_core_and_on_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut recordings = Vec::new();
    for i in 0..5 {
        let log = dir.path().join(format!("{i}.log"));
        let script = format!(
            "seq 1 {}; printf '\\033[31merror {i}\\033[0m\\n'; seq 5 5 20000 | sed 's/^/ok /'",
            2000 + i * 1000
        );
        run_ok(
            Command::new(bin("termtape"))
                .arg("rec")
                .arg("-o")
                .arg(&log)
                .args(["--", "sh", "-c", &script])
                .stdin(Stdio::null())
                .stdout(Stdio::null()),
        );
        recordings.push(std::fs::read_to_string(&log).expect("log"));
    }
    // Round robin, a line of each in turn.
    let mut lines: Vec<_> = recordings.iter().map(|r| r.lines()).collect();
    let mut all = String::new();
    while lines.iter().any(|l| l.clone().next().is_some()) {
        for l in &mut lines {
            if let Some(line) = l.next() {
                all.push_str(line);
                all.push('\n');
            }
        }
    }
    let log = dir.path().join("all.log");
    std::fs::write(&log, all).expect("write");
    let log = log.to_str().expect("UTF-8 path");
    for args in [
        &["99", log][..],
        &["--json", "error", log],
        &["--input", "x", log],
    ] {
        let all_cores = Command::new(bin("termtape"))
            .arg("search")
            .args(args)
            .output()
            .expect("termtape search");
        let one_core = Command::new("taskset")
            .args(["-c", "0"])
            .arg(bin("termtape"))
            .arg("search")
            .args(args)
            .output()
            .expect("taskset termtape search");
        assert_eq!(all_cores.status.code(), one_core.status.code(), "{args:?}");
        assert!(all_cores.stdout == one_core.stdout, "{args:?}");
        assert_eq!(all_cores.stderr, one_core.stderr, "{args:?}");
        if args[0] == "99" {
            let found = finds(&all_cores);
            // Every recording's lines holding 99, in the order read.
            assert!(found.len() > 5 * 50, "{}", found.len());
            let recs: std::collections::HashSet<_> = found.iter().map(|f| &f.0).collect();
            assert_eq!(recs.len(), 5);
        }
    }
}
