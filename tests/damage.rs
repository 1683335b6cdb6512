//! Damaged recordings: play up to the damage, then say what and where, with
//! a non-zero exit; `--lax` goes on past it.

use std::process::Command;

use termtape_tests::{bin, corpus_dir};

fn lines() -> Vec<String> {
    std::fs::read_to_string(corpus_dir().join("a_interactive.log"))
        .expect("corpus")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn cat(content: &str, extra: &[&str]) -> (Vec<u8>, bool, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("damaged.log");
    std::fs::write(&log, content).expect("write");
    let out = Command::new(bin("termtape"))
        .arg("cat")
        .args(extra)
        .arg(&log)
        .output()
        .expect("termtape");
    (
        out.stdout,
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn output_of(lines: &[String]) -> Vec<u8> {
    cat(&(lines.join("\n") + "\n"), &[]).0
}

#[test]
fn truncated_last_line_plays_up_to_it_then_fails() {
    let l = lines();
    let content = format!("{}\n{}\n{}", l[0], l[1], &l[2][..l[2].len() / 2]);
    let (out, ok, err) = cat(&content, &[]);
    assert!(!ok);
    assert_eq!(out, output_of(&l[..2]));
    assert!(
        err.contains("damaged.log:line 3 (message id 3): truncated message"),
        "{err}"
    );
}

#[test]
fn bad_json_stops_strict_and_is_passed_over_lax() {
    let mut l = lines();
    l[1] = l[1].replace("\"timing\":", "\"timing\" ");
    let content = l.join("\n") + "\n";
    let (out, ok, err) = cat(&content, &[]);
    assert!(!ok);
    assert!(err.contains("line 2 (message id 2): invalid JSON"), "{err}");
    assert_eq!(out, output_of(&lines()[..1]));
    // Lax: message 2 is lost, the rest plays; the gap it leaves is reported too.
    let (out, ok, err) = cat(&content, &["--lax"]);
    assert!(ok, "{err}");
    assert!(err.contains("line 2"), "{err}");
    let good = lines();
    let mut expected = output_of(&good[..1]);
    expected.extend(output_of(&good[2..]).iter());
    assert_eq!(out, expected);
}

#[test]
fn id_gap_is_named() {
    let mut l = lines();
    l.remove(2);
    let (out, ok, err) = cat(&(l.join("\n") + "\n"), &[]);
    assert!(!ok);
    assert!(
        err.contains("line 3 (message id 4): message id 4 follows 2"),
        "{err}"
    );
    assert_eq!(out, output_of(&l[..2]));
    let (_, ok, err) = cat(&(l.join("\n") + "\n"), &["--lax"]);
    assert!(ok, "{err}");
}

#[test]
fn several_recordings_need_a_choice() {
    let a = std::fs::read_to_string(corpus_dir().join("a_interactive.log")).expect("corpus");
    let b = std::fs::read_to_string(corpus_dir().join("f_nul_ctrl.log")).expect("corpus");
    let (_, ok, err) = cat(&(a.clone() + &b), &[]);
    assert!(!ok);
    assert!(
        err.contains("several recordings") && err.contains("--rec"),
        "{err}"
    );
    let (out, ok, err) = cat(
        &(a + &b),
        &["--rec", "94da6351ce7e46ac969d97ae9993622a-67c9-21540"],
    );
    assert!(ok, "{err}");
    assert!(out.starts_with(b"nul:\0:end"));
    let (_, ok, err) = cat(&b, &["--rec", "nope"]);
    assert!(!ok && err.contains("no recording with id nope"), "{err}");
}

#[test]
fn a_timing_with_a_letter_beyond_ascii_is_named_not_a_crash() {
    // Found by scripts/fuzz (fuzz_read): the timing parser once sliced a
    // Cyrillic letter in two and panicked.
    let mut l = lines();
    let timing = l[2]
        .split("\"timing\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a timing")
        .to_owned();
    l[2] = l[2].replace(&timing, &format!("{timing}р"));
    let (out, ok, err) = cat(&(l.join("\n") + "\n"), &[]);
    assert!(!ok);
    assert!(
        err.contains("damaged.log:line 3 (message id 3)")
            && err.contains("unknown record marker 'р'"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out, output_of(&lines()[..2]));
}
