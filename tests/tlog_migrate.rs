//! Moving from tlog: `termtape config import` on the real tlog package's
//! configuration files, `termtape users migrate` of real users whose login
//! shell is the real /usr/bin/tlog-rec-session, and `termtape-session
//! --take-over-tlog` / `--give-back-tlog` (dpkg-divert) with the real
//! tlog binary, done in a private mount namespace whose /usr/bin and dpkg
//! database are overlays, so the machine's own stay as they are.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use termtape_rec::config::{FileConfig, WriterKind};
use termtape_tests::{bin, require, run_ok};

use crate::session::{contains, recordings_of, setup};

fn import(args: &[&str]) -> Output {
    Command::new(bin("termtape"))
        .args(["config", "import"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running termtape config import")
}

/// The settings a tlog file holds, read here without termtape's reader:
/// its lines that are `//` comments and `/* … */` on one line dropped, a
/// comma before `}` dropped,
/// then plain JSON.
fn tlog_settings(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("reading the tlog file");
    let mut json: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| match (l.find("/*"), l.find("*/")) {
            (Some(a), Some(b)) if a < b => format!("{}{}\n", &l[..a], &l[b + 2..]),
            _ => format!("{l}\n"),
        })
        .collect();
    while let Some(comma) = json
        .char_indices()
        .filter(|&(_, c)| c == ',')
        .map(|(i, _)| i)
        .find(|&i| json[i + 1..].trim_start().starts_with('}'))
    {
        json.remove(comma);
    }
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Checks that termtape's reading of `toml` gives what tlog's file says.
fn same_settings(tlog: &serde_json::Value, toml: &str, what: &str) {
    let c = FileConfig::parse(toml, Path::new("imported.toml"))
        .unwrap_or_else(|e| panic!("{what}: {e}\n{toml}"));
    let num = |k: &str| tlog.pointer(k).and_then(serde_json::Value::as_f64);
    let flag = |k: &str| tlog.pointer(k).and_then(serde_json::Value::as_bool);
    let text = |k: &str| tlog.pointer(k).and_then(serde_json::Value::as_str);
    assert_eq!(c.latency, num("/latency"), "{what}: latency");
    assert_eq!(c.payload.map(|p| p as f64), num("/payload"), "{what}");
    assert_eq!(c.log.input, flag("/log/input"), "{what}: log.input");
    assert_eq!(c.log.output, flag("/log/output"), "{what}: log.output");
    assert_eq!(c.log.window, flag("/log/window"), "{what}: log.window");
    assert_eq!(c.limit.rate.map(|v| v as f64), num("/limit/rate"), "{what}");
    assert_eq!(
        c.limit.burst.map(|v| v as f64),
        num("/limit/burst"),
        "{what}"
    );
    assert_eq!(
        c.limit.action.map(termtape_rec::config::Named::name),
        text("/limit/action"),
        "{what}: limit.action"
    );
    assert_eq!(
        c.writer.kind.map(termtape_rec::config::Named::name),
        text("/writer"),
        "{what}: writer"
    );
    let path = text("/file/path").filter(|p| !p.is_empty());
    assert_eq!(c.writer.path.as_deref(), path.map(Path::new), "{what}");
    let priority = match c.writer.kind {
        Some(WriterKind::Syslog) => text("/syslog/priority"),
        _ => text("/journal/priority"),
    };
    assert_eq!(
        c.writer.priority.map(termtape_rec::config::Named::name),
        priority,
        "{what}: priority"
    );
    assert_eq!(
        c.session.shell.as_deref(),
        text("/shell").map(Path::new),
        "{what}"
    );
    assert_eq!(c.session.notice.as_deref(), text("/notice"), "{what}");
}

#[test]
fn config_import_converts_the_tlog_packages_own_files() {
    let listed = run_ok(Command::new("dpkg").args(["-L", "tlog"]));
    let files: Vec<String> =
        String::from_utf8_lossy(&listed)
            .lines()
            .filter(|l| l.ends_with("tlog-rec-session.conf") || l.ends_with("tlog-rec.conf"))
            .chain(String::from_utf8_lossy(&listed).lines().filter(|l| {
                l.ends_with("rec-session.default.conf") || l.ends_with("rec.default.conf")
            }))
            .map(str::to_owned)
            .collect();
    assert!(
        files.iter().any(|f| f == "/etc/tlog/tlog-rec-session.conf")
            && files.iter().any(|f| f == "/etc/tlog/tlog-rec.conf")
            && files.len() == 4,
        "the tlog package's files: {files:?}"
    );
    for file in &files {
        let out = import(&[file]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{file}: {stderr}");
        same_settings(
            &tlog_settings(Path::new(file)),
            &String::from_utf8_lossy(&out.stdout),
            file,
        );
    }
    // With no FILE: tlog-rec-session's system file.
    let out = import(&[]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("/etc/tlog/tlog-rec-session.conf"));
}

#[test]
fn config_import_of_every_key_round_trips_and_names_what_it_cannot_map() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tlog = dir.path().join("tlog-rec-session.conf");
    std::fs::write(
        &tlog,
        r#"// every key tlog-rec-session reads
{
    "shell": "/bin/zsh",
    "notice": "\nRecorded, \"all\" of it\n\n",  /* tlog's notice */
    "latency": 7,
    "payload": 1024,
    "log": { "input": true, "output": true, "window": false },
    "limit": { "rate": 4096, "burst": 8192, "action": "delay" },
    "file": { "path": "/var/log/tlog/rec.log" },
    "syslog": { "facility": "local5", "priority": "notice" },
    "journal": { "priority": "warning", "augment": false },
    "writer": "file",
}
"#,
    )
    .expect("writing the tlog file");
    let out_file = dir.path().join("termtape.toml");
    let out_arg = out_file.to_str().expect("utf-8");
    let tlog_arg = tlog.to_str().expect("utf-8");
    let out = import(&[tlog_arg, "-o", out_arg]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let toml = std::fs::read_to_string(&out_file).expect("the output");
    same_settings(&tlog_settings(&tlog), &toml, "every key");
    // Resolved as the recorder resolves it.
    let file = FileConfig::parse(&toml, &out_file).expect("parses");
    let config = termtape_rec::Config::resolve(
        &file,
        &out_file,
        termtape_rec::config::Flags::default(),
        None,
    )
    .expect("resolves");
    assert_eq!(
        config.writer,
        termtape_rec::config::Writer::File("/var/log/tlog/rec.log".into())
    );
    assert_eq!(config.latency, std::time::Duration::from_secs(7));
    assert_eq!(config.limit.rate, 4096);
    // Key by key, what was not carried over.
    for key in [
        "syslog.facility",
        "journal.augment",
        "syslog.priority",
        "log.input",
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&format!("termtape: {tlog_arg}: {key}: "))),
            "{key} not named: {stderr}"
        );
    }
    // An existing output is kept unless --force.
    std::fs::write(&out_file, "kept").expect("write");
    let out = import(&[tlog_arg, "-o", out_arg]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&out_file).expect("read"), "kept");
    let out = import(&[tlog_arg, "-o", out_arg, "--force"]);
    assert!(out.status.success());
    assert_eq!(std::fs::read_to_string(&out_file).expect("read"), toml);
}

#[test]
fn config_import_of_bad_json_names_line_and_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tlog = dir.path().join("broken.conf");
    std::fs::write(&tlog, "{\n    \"latency\": 10,\n    \"payload\" 2048\n}\n").expect("write");
    let out = import(&[tlog.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}, line 3, column 15: ", tlog.display())),
        "{stderr}"
    );
}

/// A user (made once) whose login shell is `shell`.
fn user_with_shell(name: &str, shell: &str) {
    let _ = Command::new("userdel").args(["--remove", name]).output();
    run_ok(Command::new("useradd").args(["--create-home", "--shell", shell, name]));
}

fn login_shell(user: &str) -> String {
    String::from_utf8_lossy(&run_ok(Command::new("getent").args(["passwd", user])))
        .trim()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn doctor_tlog_users(session: &Path) -> String {
    let out = Command::new(session)
        .args(["doctor", "--json"])
        .output()
        .expect("doctor");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("\"tlog-users\""))
        .collect()
}

/// `users migrate` moves the real tlog-rec-session's users, keeping the
/// shell tlog starts for each: the configuration's (here, in a private
/// mount namespace, /etc/tlog says /bin/dash) or the one a
/// `tlog-rec-session-shell-…` link's name encodes (rbash). Then `su -` is
/// recorded by termtape and runs that shell.
#[test]
fn users_migrate_moves_tlog_users_keeping_their_shells() {
    require("unshare");
    require("tlog-rec-session");
    let setup = setup();
    let session = setup.session.to_str().expect("utf-8");
    let link = Path::new("/usr/local/bin/tlog-rec-session-shell-bin-rbash");
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink("/usr/bin/tlog-rec-session", link).expect("link");
    user_with_shell("ttmig1", "/usr/bin/tlog-rec-session");
    user_with_shell("ttmig2", link.to_str().expect("utf-8"));
    user_with_shell("ttmig3", "/bin/bash");
    let before = doctor_tlog_users(&setup.session);
    assert!(
        before.contains("ttmig1") && before.contains("ttmig2"),
        "doctor names them: {before}"
    );

    let script = format!(
        "mount -t tmpfs termtape-test /etc/tlog && \
         printf '// mine\\n{{ \"shell\": \"/bin/dash\", }}\\n' > /etc/tlog/tlog-rec-session.conf && \
         {session} users migrate ttmig1 ttmig2 ttmig3"
    );
    let out = run_ok(Command::new("unshare").args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        &script,
    ]));
    let said = String::from_utf8_lossy(&out);
    assert!(said.contains("ttmig1: recorded by tlog"), "{said}");
    assert!(said.contains("ttmig3: not on tlog-rec-session"), "{said}");
    assert_eq!(login_shell("ttmig1"), session);
    assert_eq!(login_shell("ttmig2"), session);
    assert_eq!(login_shell("ttmig3"), "/bin/bash", "left alone");

    for (user, shell) in [("ttmig1", "-dash"), ("ttmig2", "-rbash")] {
        let marker = format!("migrated-{user}-{}", std::process::id());
        let done = Command::new("su")
            .args(["-", user, "-c", &format!("echo {marker}; echo shell=$0")])
            .stdin(Stdio::null())
            .output()
            .expect("su");
        let text = String::from_utf8_lossy(&done.stdout);
        assert!(done.status.success(), "{text}");
        assert!(text.contains(&format!("shell={shell}")), "{user}: {text}");
        assert!(
            recordings_of(user)
                .iter()
                .any(|(_, out)| contains(out, &marker)),
            "{user}'s login is recorded by termtape"
        );
    }
    let after = doctor_tlog_users(&setup.session);
    assert!(
        !after.contains("ttmig1") && !after.contains("ttmig2"),
        "doctor no longer names them: {after}"
    );
    // With nobody named, every tlog user is moved; there is none left of ours.
    let out = run_ok(Command::new(&setup.session).args(["users", "migrate"]));
    assert!(!String::from_utf8_lossy(&out).contains("ttmig"));
    for user in ["ttmig1", "ttmig2", "ttmig3"] {
        let _ = Command::new("userdel").args(["--remove", user]).output();
    }
    let _ = std::fs::remove_file(link);
}

/// The journal entries of `user`'s recordings whose message holds `marker`.
fn entries_with(user: &str, marker: &str) -> Vec<serde_json::Value> {
    let json = run_ok(Command::new("journalctl").args([
        "-o".to_owned(),
        "json".to_owned(),
        format!("TLOG_USER={user}"),
    ]));
    String::from_utf8_lossy(&json)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["MESSAGE"].as_str().is_some_and(|m| m.contains(marker)))
        .collect()
}

/// The uids that sent a recording's journal entries.
fn senders(rec: &str) -> Vec<String> {
    let json = run_ok(Command::new("journalctl").args(["-o", "json", &format!("TLOG_REC={rec}")]));
    let mut uids: Vec<String> = String::from_utf8_lossy(&json)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["_UID"].as_str().map(str::to_owned))
        .collect();
    uids.sort();
    uids.dedup();
    uids
}

/// `--take-over-tlog` makes /usr/bin/tlog-rec-session termtape-session
/// (users SSSD or Cockpit put on tlog are then recorded by termtape, with
/// the shell a `-shell-` name encodes), and `--give-back-tlog` restores
/// tlog's binary byte for byte. /usr/bin and /var/lib/dpkg are overlays in
/// a private mount namespace: the machine's own are untouched.
#[test]
fn take_over_tlog_records_its_users_and_give_back_restores_it() {
    require("unshare");
    require("dpkg-divert");
    require("tlog-rec-session");
    let setup = setup();
    let session = setup.session.to_str().expect("utf-8");
    user_with_shell("ttdiv1", "/usr/bin/tlog-rec-session");
    user_with_shell("ttdiv2", "/usr/bin/tlog-rec-session-shell-bin-rbash");
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path().display();
    let pid = std::process::id();
    let script = format!(
        "set -e
         for x in bin dpkg; do mkdir -p {d}/$x.up {d}/$x.work; done
         mount -t overlay overlay -o lowerdir=/usr/bin,upperdir={d}/bin.up,workdir={d}/bin.work /usr/bin
         mount -t overlay overlay -o lowerdir=/var/lib/dpkg,upperdir={d}/dpkg.up,workdir={d}/dpkg.work /var/lib/dpkg
         before=$(sha256sum < /usr/bin/tlog-rec-session)
         {session} --take-over-tlog
         {session} --take-over-tlog
         echo link=$(readlink /usr/bin/tlog-rec-session)
         echo diversion=$(dpkg-divert --listpackage /usr/bin/tlog-rec-session)
         test \"$(sha256sum < /usr/bin/tlog-rec-session.distrib)\" = \"$before\" && echo kept-aside
         ln -s tlog-rec-session /usr/bin/tlog-rec-session-shell-bin-rbash
         su - ttdiv1 -c 'echo taken-1-{pid}; echo shell=$0' </dev/null
         su - ttdiv2 -c 'echo taken-2-{pid}; echo shell=$0' </dev/null
         {session} --give-back-tlog
         test ! -L /usr/bin/tlog-rec-session && test ! -e /usr/bin/tlog-rec-session.distrib
         test \"$(sha256sum < /usr/bin/tlog-rec-session)\" = \"$before\" && echo restored
         echo diversion-after=$(dpkg-divert --listpackage /usr/bin/tlog-rec-session)
         su - ttdiv1 -c 'echo given-back-{pid}' </dev/null"
    );
    let (text, _) = in_mount_namespace(&script);
    assert!(text.contains(&format!("link={session}")), "{text}");
    assert!(text.contains("diversion=termtape"), "{text}");
    assert!(text.contains("already termtape's"), "idempotent: {text}");
    assert!(
        text.contains("kept-aside") && text.contains("restored"),
        "{text}"
    );
    assert!(
        text.contains("diversion-after=\n"),
        "no diversion left: {text}"
    );
    assert!(text.contains("shell=-bash"), "{text}");
    assert!(text.contains("shell=-rbash"), "the name's shell: {text}");
    assert!(text.contains(&format!("given-back-{pid}")), "{text}");

    let termtape_uid =
        String::from_utf8_lossy(&run_ok(Command::new("id").args(["-u", "termtape"])))
            .trim()
            .to_owned();
    for (user, marker) in [("ttdiv1", "taken-1"), ("ttdiv2", "taken-2")] {
        let marker = format!("{marker}-{pid}");
        let recs = recordings_of(user);
        let (rec, _) = recs
            .iter()
            .find(|(_, o)| contains(o, &marker))
            .unwrap_or_else(|| panic!("{user}'s login is recorded"));
        assert_eq!(
            senders(rec),
            std::slice::from_ref(&termtape_uid),
            "by termtape"
        );
    }
    // Given back, tlog's own binary records again: as the user (it is not
    // set-id in Debian), so read from the journal directly.
    let marker = format!("given-back-{pid}");
    let by_tlog = entries_with("ttdiv1", &marker);
    assert!(!by_tlog.is_empty(), "tlog recorded the login");
    assert!(
        by_tlog
            .iter()
            .all(|v| v["_UID"].as_str() != Some(&termtape_uid)),
        "by tlog, not termtape"
    );
    for user in ["ttdiv1", "ttdiv2"] {
        let _ = Command::new("userdel").args(["--remove", user]).output();
    }
}

/// SSSD's `[session_recording]` with termtape taking over tlog's path: in a
/// private mount namespace over overlays of /usr, /etc, /var/lib and
/// /var/log, Debian's sssd-common (downloaded by scripts/setup, installed
/// only there) serves the local users (`id_provider = files`) with
/// `scope = some, users = U`: `getent passwd U` shows tlog-rec-session,
/// and `su - U` is recorded by termtape, running the shell SSSD's PAM
/// module passes in TLOG_REC_SESSION_SHELL (U's own, /bin/dash).
#[test]
fn sssd_session_recording_users_are_recorded_by_termtape_after_take_over() {
    require("unshare");
    require("dpkg-divert");
    let debs = Path::new("/var/cache/termtape-test/sssd");
    let have_debs = std::fs::read_dir(debs).is_ok_and(|d| {
        d.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("sssd-common_"))
    });
    assert!(
        have_debs,
        "{} holds no sssd-common (scripts/setup)",
        debs.display()
    );
    let setup = setup();
    let session = setup.session.to_str().expect("utf-8");
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path().display();
    let pid = std::process::id();
    let script = format!(
        "set -e
         for x in usr etc varlib varlog; do mkdir -p {d}/$x.up {d}/$x.work; done
         mount -t overlay overlay -o lowerdir=/usr,upperdir={d}/usr.up,workdir={d}/usr.work /usr
         mount -t overlay overlay -o lowerdir=/etc,upperdir={d}/etc.up,workdir={d}/etc.work /etc
         mount -t overlay overlay -o lowerdir=/var/lib,upperdir={d}/varlib.up,workdir={d}/varlib.work /var/lib
         mount -t overlay overlay -o lowerdir=/var/log,upperdir={d}/varlog.up,workdir={d}/varlog.work /var/log
         dpkg -i {debs}/*.deb > {d}/dpkg.log 2>&1 || {{ tail {d}/dpkg.log; exit 1; }}
         useradd --create-home --shell /bin/dash ttsssd1
         printf '[sssd]\\nservices = nss, pam\\ndomains = local\\n\\n[domain/local]\\nid_provider = files\\n\\n[session_recording]\\nscope = some\\nusers = ttsssd1\\n' > /etc/sssd/sssd.conf
         chmod 600 /etc/sssd/sssd.conf
         sed -i 's/^passwd:.*/passwd: sss files/' /etc/nsswitch.conf
         # A pid file left by an sssd that is gone would stop this one.
         if [ -e /run/sssd.pid ] && ! kill -0 \"$(cat /run/sssd.pid)\" 2>/dev/null; then rm /run/sssd.pid; fi
         /usr/sbin/sssd -i --logger=stderr -d 1 > {d}/sssd.log 2>&1 &
         sssd=$!
         for i in $(seq 100); do getent passwd ttsssd1 | grep -q tlog-rec-session && break; sleep 0.2; done
         echo getent=$(getent passwd ttsssd1)
         {session} --take-over-tlog
         su - ttsssd1 -c 'echo sssd-{pid}; echo shell=$0' </dev/null || echo su-failed
         {session} --give-back-tlog
         kill $sssd; wait $sssd || true
         cat {d}/sssd.log >&2",
        debs = debs.display()
    );
    let (text, stderr) = in_mount_namespace(&script);
    assert!(
        text.contains("getent=ttsssd1:x:") && text.contains(":/usr/bin/tlog-rec-session\n"),
        "SSSD gives the recorded user tlog-rec-session: {text}"
    );
    assert!(
        text.contains("shell=-dash"),
        "SSSD's shell runs: {text}\n{stderr}"
    );
    // The user existed only in the namespace: find the recording by its
    // marker in the journal, and check its sender is termtape.
    let marker = format!("sssd-{pid}");
    let entries = entries_with("ttsssd1", &marker);
    let termtape_uid =
        String::from_utf8_lossy(&run_ok(Command::new("id").args(["-u", "termtape"])))
            .trim()
            .to_owned();
    assert!(!entries.is_empty(), "the login is in the journal");
    assert!(
        entries
            .iter()
            .all(|v| v["_UID"].as_str() == Some(termtape_uid.as_str())),
        "recorded by termtape"
    );
}

/// Runs `script` under sh in a private mount namespace; its standard
/// output and error, once it exited 0 (else the test fails with both).
fn in_mount_namespace(script: &str) -> (String, String) {
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .stdin(Stdio::null())
        .output()
        .expect("unshare");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{text}\n{stderr}");
    (text, stderr)
}
