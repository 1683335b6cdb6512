//! Tamper evidence where recordings are made or changed besides the file
//! writer (issue 15): the syslog writer leaving a keyframe out of a
//! datagram, `termtape keyframe` on a chained recording, a writer that
//! fails mid-session, and journald's Forward Secure Sealing over termtape
//! recordings. Each uses real components: a real datagram socket, a full
//! tmpfs, a private journald in its own mount namespace (never the
//! machine's).

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use termtape_tests::{bin, colourful, run_ok, through_pty};

use crate::chain::{keys, s, verdict_of};

/// Runs the shell `script` in `dir` in a private mount namespace (mounts
/// made there vanish with it), with `env`; exit status 90 means a mount
/// failed.
fn in_namespace(script: &str, env: &[(&str, &Path)], dir: &Path) -> Output {
    let mut cmd = Command::new("unshare");
    cmd.current_dir(dir);
    cmd.args(["--mount", "--propagation", "private", "sh", "-c", script]);
    for (name, value) in env {
        cmd.env(name, value);
    }
    let out = cmd.stdin(Stdio::null()).output().expect("running unshare");
    assert_ne!(
        out.status.code(),
        Some(90),
        "mounting: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Datagrams received on a socket, as lines, until told to stop.
struct Syslog {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<String>>,
}

impl Syslog {
    fn bind(path: &Path) -> Syslog {
        let socket = UnixDatagram::bind(path).expect("binding the syslog socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 20];
            let mut got = Vec::new();
            loop {
                match socket.recv(&mut buf) {
                    Ok(n) => got.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
                    Err(_) if stopped.load(Ordering::SeqCst) => return got,
                    Err(_) => {}
                }
            }
        });
        Syslog { stop, thread }
    }

    /// The messages received (each datagram without its `<PRI>ident[pid]: `).
    fn messages(self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        let got = self.thread.join().expect("the receiving thread");
        got.iter()
            .map(|d| {
                let at = d.find("]: ").expect("a syslog prefix") + 3;
                d[at..].to_owned()
            })
            .collect()
    }
}

#[test]
fn a_keyframe_too_big_for_a_syslog_datagram_is_left_out_before_the_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, public) = keys(dir.path());
    assert_eq!(
        std::fs::read_link("/dev/log").ok().as_deref(),
        Some(Path::new("/run/systemd/journal/dev-log")),
        "/dev/log must be a link to /run/systemd/journal/dev-log (see DESIGN: journald)"
    );
    // A screen whose keyframe (about 16 bytes a cell) is more than a
    // datagram holds (the send buffer less 32 bytes).
    let over = colourful(14_400);
    let out_file = dir.path().join("over.out");
    std::fs::write(&out_file, &over).expect("write");
    let sndbuf: usize = std::fs::read_to_string("/proc/sys/net/core/wmem_default")
        .expect("wmem_default")
        .trim()
        .parse()
        .expect("a number");
    let args = |writer: &[&str]| {
        let mut args: Vec<String> = [
            "-q",
            "--cols",
            "240",
            "--rows",
            "60",
            "--keyframe-bytes",
            "1000",
            "--seal-key",
            s(&key),
        ]
        .iter()
        .chain(writer)
        .chain(&["--", "cat", s(&out_file)])
        .map(|a| a.to_string())
        .collect();
        args.insert(0, bin("termtape-rec").to_string_lossy().into_owned());
        args
    };
    // The same session to a file: a message there is longer than any
    // datagram (so the syslog writer must leave a keyframe out).
    let file = dir.path().join("file.log");
    run_ok(
        Command::new(bin("termtape-rec"))
            .args(&args(&["-o", s(&file)])[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let longest = |lines: &mut dyn Iterator<Item = usize>| lines.max().unwrap_or(0);
    let file_text = std::fs::read_to_string(&file).expect("the file recording");
    assert!(
        longest(&mut file_text.lines().map(str::len)) > sndbuf,
        "no message of the file recording is longer than a datagram"
    );

    // To syslog: the recorder in a namespace where /dev/log is this test's
    // socket.
    let socket = dir.path().join("dev-log");
    let syslog = Syslog::bind(&socket);
    let command: Vec<String> = args(&["-w", "syslog"])
        .iter()
        .map(|a| format!("'{a}'"))
        .collect();
    let script = format!(
        "mount -t tmpfs tmpfs /run/systemd/journal || exit 90
         touch /run/systemd/journal/dev-log
         mount --bind \"$SOCKET\" /run/systemd/journal/dev-log || exit 90
         exec {} >/dev/null",
        command.join(" ")
    );
    let out = in_namespace(&script, &[("SOCKET", &socket)], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let messages = syslog.messages();
    assert!(
        longest(&mut messages.iter().map(String::len)) < sndbuf - 32,
        "every message fits a datagram"
    );
    let log = dir.path().join("syslog.log");
    std::fs::write(&log, messages.join("\n") + "\n").expect("write");
    let (verdict, report) = verdict_of(&public, &log);
    assert_eq!(verdict, "intact", "{report}");
    assert_eq!(
        run_ok(Command::new(bin("termtape")).args(["cat", s(&log)])),
        through_pty(&over),
        "the syslog recording plays back exactly"
    );
}

#[test]
fn keyframe_refuses_a_chained_recording_and_drops_its_chain_only_when_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, public) = keys(dir.path());
    let log = crate::chain::record(dir.path(), "chained.log", &key);
    let rec = termtape_tests::read_messages(&log)[0]
        .rec
        .clone()
        .expect("a recording id");
    let copy = dir.path().join("copy.log");
    let keyframe = |extra: &[&str]| {
        Command::new(bin("termtape"))
            .arg("keyframe")
            .args(extra)
            .args(["--keyframe-bytes", "500", s(&log), s(&copy)])
            .output()
            .expect("termtape keyframe")
    };
    let out = keyframe(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "trouble: {err}");
    assert!(
        err.contains(&format!(
            "{}:line 1: recording {rec} is hash-chained",
            s(&log)
        )) && err.contains("--drop-chain")
            && err.contains("nothing written"),
        "{err}"
    );
    assert!(!copy.exists(), "a refused copy is not left behind");

    let out = keyframe(&["--drop-chain"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("verifies as unsigned"), "{err}");
    let (verdict, report) = verdict_of(&public, &copy);
    assert_eq!(verdict, "unsigned", "{report}");
    let (verdict, report) = verdict_of(&public, &log);
    assert_eq!(
        verdict, "intact",
        "the original keeps its verdict: {report}"
    );
    let cat = |path: &Path| run_ok(Command::new(bin("termtape")).args(["cat", s(path)]));
    assert_eq!(cat(&copy), cat(&log), "the copy plays as the original");
    let copied = std::fs::read_to_string(&copy).expect("the copy");
    assert!(
        !copied.contains("\"chain\":") && !copied.contains("\"seal\":"),
        "{copied}"
    );
}

/// The verdict and report of each recording in `source` (run in `dir`).
fn verdicts(public: &Path, source: &str) -> Vec<serde_json::Value> {
    let (reports, _) = crate::chain::verify(public, &[source]);
    reports
}

#[test]
fn a_full_disk_ends_the_session_with_writer_failed_in_a_recording_that_verifies_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, public) = keys(dir.path());
    // The recording goes to a tmpfs of 1 MiB, which `seq` fills; both the
    // recording and what was shown are copied out before the namespace
    // (and its tmpfs) goes.
    let out = in_namespace(
        r#"
mkdir -p small && mount -t tmpfs -o size=1m tmpfs small || exit 90
"$REC" -q --seal-key "$KEY" -o small/full.log -- seq 1 1000000 </dev/null >shown.txt 2>rec.err
echo "rec rc=$?"
cp small/full.log full.log
"#,
        &[("REC", &bin("termtape-rec")), ("KEY", &key)],
        dir.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rec_err = std::fs::read_to_string(dir.path().join("rec.err")).unwrap_or_default();
    assert!(
        stdout.contains("rec rc=1"),
        "the session ended: {stdout} {rec_err}"
    );
    assert!(rec_err.contains("No space left on device"), "{rec_err}");
    let log = dir.path().join("full.log");
    let reports = verdicts(&public, s(&log));
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0]["verdict"], "intact", "{}", reports[0]);
    assert_eq!(
        reports[0]["exit"], "writer failed: No space left on device",
        "{}",
        reports[0]
    );
    // Everything shown is in the recording (what the disk could not take
    // was not shown).
    let shown = std::fs::read(dir.path().join("shown.txt")).expect("shown");
    let recorded = run_ok(Command::new(bin("termtape")).args(["cat", s(&log)]));
    assert!(shown.len() > 100_000, "{} bytes shown", shown.len());
    assert!(
        recorded == shown,
        "what was shown ({} bytes) was recorded ({} bytes)",
        shown.len(),
        recorded.len()
    );
}

#[test]
fn journald_gone_ends_the_session_with_writer_failed_once_the_spool_is_delivered() {
    let dir = tempfile::tempdir().expect("tempdir");
    keys(dir.path());
    crate::spool::bounded_config(dir.path());
    let out = crate::spool::in_private_journal(
        r#"
start_journald
TERMTAPE_CONFIG=bounded.toml "$REC" -w journal --seal-key keys/signing.key --latency 0.05 -- sh -c 'i=1; while true; do echo line-$i; i=$((i+1)); sleep 0.01; done' </dev/null >shown.txt 2>rec.err &
R=$!
sleep 0.5; stop_journald
wait $R; echo "rec rc=$?"
start_journald
TERMTAPE_CONFIG=bounded.toml "$REC" -w journal --no-chain -- true </dev/null; echo "deliver rc=$?"
"$TT" verify --json --key keys/signing.pub journal >verify.json; echo "verify rc=$?"
"#,
        dir.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rec_err = std::fs::read_to_string(dir.path().join("rec.err")).unwrap_or_default();
    let context = format!("{stdout}; rec: {rec_err}");
    assert!(stdout.contains("rec rc=1"), "the session ended: {context}");
    assert!(stdout.contains("deliver rc=0"), "{context}");
    let reports: Vec<serde_json::Value> = std::fs::read_to_string(dir.path().join("verify.json"))
        .expect("verify's output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let chained: Vec<&serde_json::Value> = reports
        .iter()
        .filter(|r| r["verdict"] != "unsigned")
        .collect();
    assert_eq!(chained.len(), 1, "{reports:?}; {context}");
    assert_eq!(chained[0]["verdict"], "intact", "{}; {context}", chained[0]);
    assert_eq!(chained[0]["exit"], "writer failed", "{}", chained[0]);
}

/// A recording made by the recorder of before the links were hashed from
/// the writer's layout (kept in tests/data/chain, with its public key)
/// still verifies, by the same chain.
#[test]
fn a_recording_chained_by_an_earlier_recorder_still_verifies() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/chain");
    let (verdict, report) = verdict_of(&data.join("v1.pub"), &data.join("v1.log"));
    assert_eq!(verdict, "intact", "{report}");
    assert_eq!(report["exit"], "3", "{report}");
}

/// `journalctl --verify` with the verification key, on the journal
/// directory `dir`: whether it passed, and what it said.
fn journalctl_verify(key: &str, dir: &Path) -> (bool, String) {
    let out = Command::new("journalctl")
        .args(["--verify", &format!("--verify-key={key}"), "-D"])
        .arg(dir)
        .output()
        .expect("journalctl --verify");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

#[test]
fn a_byte_flipped_in_a_sealed_journal_fails_journalctl_verify_and_termtape_verify() {
    termtape_tests::require("journalctl");
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, public) = keys(dir.path());
    // A journald of its own, persistent, sealing (Forward Secure Sealing
    // with a key made for it by `journalctl --setup-keys`), uncompressed
    // (so that the test finds the bytes to flip), not importing the
    // kernel's older messages (entries older than a seal fail the check);
    // termtape recordings made fresh into it; stopped by its PID, which
    // writes the final seal; its directory copied out.
    let out = in_namespace(
        r#"
mount -t tmpfs tmpfs /run/systemd/journal || exit 90
mount -t tmpfs tmpfs /run/log || exit 90
mkdir -p /var/log/journal && mount -t tmpfs tmpfs /var/log/journal || exit 90
mkdir -p /etc/systemd/journald.conf.d && mount -t tmpfs tmpfs /etc/systemd/journald.conf.d || exit 90
printf '[Journal]\nStorage=persistent\nSeal=yes\nCompress=no\nReadKMsg=no\nAudit=\n' >/etc/systemd/journald.conf.d/fss.conf
M=/var/log/journal/$(cat /etc/machine-id)
mkdir -p "$M"
journalctl --setup-keys --interval=10s >fss.key 2>setup.err; echo "setup rc=$?"
touch /run/systemd/journal/flushed
/lib/systemd/systemd-journald >/dev/null 2>&1 &
J=$!
i=0; while [ ! -S /run/systemd/journal/socket ] && [ $i -lt 400 ]; do sleep 0.01; i=$((i+1)); done
for n in one two; do
  "$REC" -q -w journal --seal-key "$KEY" -- sh -c "echo fss-marker-$n; seq 1 300" </dev/null >/dev/null; echo "rec $n rc=$?"
done
kill -TERM "$J"; wait "$J"
cp -r "$M" journal
"#,
        &[("REC", &bin("termtape-rec")), ("KEY", &key)],
        dir.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let context = format!("{stdout} {}", String::from_utf8_lossy(&out.stderr));
    for said in ["setup rc=0", "rec one rc=0", "rec two rc=0"] {
        assert!(stdout.contains(said), "{said}: {context}");
    }
    let fss_key = std::fs::read_to_string(dir.path().join("fss.key")).expect("the key");
    let fss_key = fss_key.trim();
    let journal = dir.path().join("journal");
    let source = format!("journal:{}", s(&journal));
    let verdicts_of = || -> Vec<(String, String)> {
        let (reports, _) = crate::chain::verify(&public, &[&source]);
        reports
            .iter()
            .map(|r| {
                (
                    r["verdict"].as_str().unwrap_or_default().to_owned(),
                    r["text"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };

    let (passed, said) = journalctl_verify(fss_key, &journal);
    assert!(
        passed && said.contains("PASS"),
        "sealed and untouched: {said}"
    );
    let before = verdicts_of();
    assert_eq!(before.len(), 2, "{before:?}");
    assert!(before.iter().all(|(v, _)| v == "intact"), "{before:?}");

    // One letter of the first recording's output, in its entry's MESSAGE.
    let file = std::fs::read_dir(&journal)
        .expect("the journal")
        .map(|e| e.expect("an entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "journal"))
        .expect("a journal file");
    let mut bytes = std::fs::read(&file).expect("read");
    // (As JSON text, in MESSAGE: the command line, in other fields, has
    // no line end after it.)
    let marker = br"fss-marker-one\r\n";
    let at = bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("the marker, uncompressed");
    assert_eq!(
        bytes[at + 1..]
            .windows(marker.len())
            .filter(|w| *w == marker)
            .count(),
        0,
        "the marker once"
    );
    bytes[at + "fss-marker-on".len()] = b'x';
    std::fs::write(&file, &bytes).expect("write");

    let (passed, said) = journalctl_verify(fss_key, &journal);
    assert!(!passed && said.contains("FAIL"), "flipped: {said}");
    let after = verdicts_of();
    assert!(
        after.iter().any(|(v, _)| v == "edited"),
        "termtape verify sees the edit: {after:?}"
    );
    assert!(
        after.iter().any(|(v, _)| v == "intact"),
        "the other recording is untouched: {after:?}"
    );
}
