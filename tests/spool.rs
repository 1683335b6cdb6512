//! Issue 10, "what was shown and then lost" and "a busy journald cuts
//! recordings short": the journal writer against a real journald that is
//! missing, killed and restarted by PID at random moments, stopped, or
//! flooded while signals arrive. Each test runs its own journald in a
//! private mount namespace (tmpfs over /run/systemd/journal and the journal
//! directories), never the machine's.

use std::path::Path;
use std::process::{Command, Output};

use termtape_tests::bin;

/// Runs `body` under `sh` in a private mount namespace with its own
/// journald (`start_journald` starts one and sets `$J` to its PID) and the
/// binaries in `$REC` and `$TT`.
pub(crate) fn in_private_journal(body: &str, dir: &Path) -> Output {
    let prelude = termtape_tests::JOURNALD_LEAVES_AUDIT.to_owned()
        + r#"
mount -t tmpfs tmpfs /run/systemd/journal || exit 90
mount -t tmpfs tmpfs /run/log || exit 90
if [ -d /var/log/journal ]; then mount -t tmpfs tmpfs /var/log/journal || exit 90; fi
start_journald() {
    # A journald killed by SIGKILL leaves its socket behind; the new one
    # binds afresh, and is ready when the socket is there again.
    rm -f /run/systemd/journal/socket
    /lib/systemd/systemd-journald >/dev/null 2>&1 &
    J=$!
    i=0
    while [ ! -S /run/systemd/journal/socket ] && [ $i -lt 400 ]; do sleep 0.01; i=$((i+1)); done
}
stop_journald() { kill -9 "$J"; wait "$J" 2>/dev/null; }
# Whatever the body does, the journald it left running is stopped by its
# PID when the script ends (else it would outlive the test).
J=
trap 'if [ -n "$J" ]; then kill -9 "$J" 2>/dev/null; wait "$J" 2>/dev/null; fi' EXIT
"#;
    let script = dir.join("script.sh");
    std::fs::write(&script, format!("{prelude}\n{body}\n")).expect("write script");
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh"])
        .arg(&script)
        .env("REC", bin("termtape-rec"))
        .env("TT", bin("termtape"))
        .current_dir(dir)
        .output()
        .expect("running unshare");
    assert_ne!(
        out.status.code(),
        Some(90),
        "mounting: {}",
        text(&out.stderr)
    );
    out
}

/// `dir/bounded.toml`: journald may stay away 1 s, and the spool files go
/// to `dir/spool`.
pub(crate) fn bounded_config(dir: &Path) {
    std::fs::write(
        dir.join("bounded.toml"),
        format!(
            "[writer]\nspool_secs = 1\nspool_dir = \"{}\"\n",
            dir.join("spool").display()
        ),
    )
    .expect("config");
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Random delays in hundredths of a second (2..=40), from the kernel.
fn random_delays(n: usize) -> Vec<String> {
    let mut bytes = vec![0u8; n];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("/dev/urandom");
    bytes
        .iter()
        .map(|b| format!("0.{:02}", 2 + u32::from(*b) % 39))
        .collect()
}

/// Every line of `shown` (what the recorder showed) is in `recorded`.
fn assert_all_recorded(shown: &str, recorded: &str, context: &str) {
    let shown: Vec<&str> = shown.lines().filter(|l| l.starts_with("line-")).collect();
    assert!(!shown.is_empty(), "nothing was shown: {context}");
    let recorded: std::collections::HashSet<&str> =
        recorded.lines().map(|l| l.trim_end_matches('\r')).collect();
    let lost: Vec<&&str> = shown.iter().filter(|l| !recorded.contains(**l)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} shown lines are not in the journal, first {:?}: {context}",
        lost.len(),
        shown.len(),
        lost.first()
    );
}

#[test]
fn issue_10_no_journald_no_session_unless_continue_is_chosen() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("continue.toml"),
        "[writer]\non_failure = \"continue\"\n",
    )
    .expect("config");
    let out = in_private_journal(
        r#"
"$REC" -w journal -- echo SHOWN-X </dev/null; echo "end rc=$?"
TERMTAPE_CONFIG=continue.toml "$REC" -w journal -- echo SHOWN-Y </dev/null; echo "continue rc=$?"
"#,
        dir.path(),
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!stdout.contains("SHOWN-X"), "{stdout}");
    assert!(stdout.contains("end rc=1"), "{stdout}");
    assert!(stderr.contains("no journald to record to"), "{stderr}");
    assert!(stdout.contains("SHOWN-Y"), "{stdout}");
    assert!(stdout.contains("continue rc=0"), "{stdout}");
    assert!(stderr.contains("this session is NOT recorded"), "{stderr}");
}

#[test]
fn issue_10_journald_killed_and_restarted_at_random_moments_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let delays = random_delays(12);
    let out = in_private_journal(
        &format!(
            r#"
start_journald
"$REC" -w journal --latency 0.05 -- sh -c 'i=1; while [ $i -le 1500 ]; do echo line-$i; i=$((i+1)); if [ $((i % 10)) = 0 ]; then sleep 0.01; fi; done' </dev/null >shown.txt 2>rec.err &
R=$!
for d in {delays}; do
    sleep $d; stop_journald; sleep $d; start_journald
done
wait $R; echo "rec rc=$?"
ID=$("$TT" ls --lax journal | awk 'NR==2 {{print $1}}')
"$TT" cat --lax journal --rec "$ID" >recorded.txt; echo "cat rc=$?"
"#,
            delays = delays.join(" ")
        ),
        dir.path(),
    );
    let stdout = text(&out.stdout);
    let context = format!(
        "delays {delays:?}; {stdout}; {}; rec: {}",
        text(&out.stderr),
        std::fs::read_to_string(dir.path().join("rec.err")).unwrap_or_default()
    );
    assert!(stdout.contains("rec rc=0"), "{context}");
    assert!(stdout.contains("cat rc=0"), "{context}");
    let shown = std::fs::read_to_string(dir.path().join("shown.txt")).expect("shown");
    assert_eq!(shown.lines().count(), 1500, "{context}");
    let recorded = std::fs::read_to_string(dir.path().join("recorded.txt")).expect("recorded");
    assert_all_recorded(&shown, &recorded, &context);
}

#[test]
fn issue_10_journald_gone_past_the_bound_ends_the_session_and_the_spool_is_delivered() {
    let dir = tempfile::tempdir().expect("tempdir");
    bounded_config(dir.path());
    let out = in_private_journal(
        r#"
start_journald
TERMTAPE_CONFIG=bounded.toml "$REC" -w journal --latency 0.05 -- sh -c 'i=1; while true; do echo line-$i; i=$((i+1)); sleep 0.01; done' </dev/null >shown.txt 2>rec.err &
R=$!
sleep 0.5; stop_journald
wait $R; echo "rec rc=$?"
ls -l spool | grep -c '^-rw-------' | sed 's/^/spool files: /'
start_journald
TERMTAPE_CONFIG=bounded.toml "$REC" -w journal -- true </dev/null; echo "deliver rc=$?"
ls spool | wc -l | sed 's/^/left: /'
for id in $("$TT" ls --lax journal | awk 'NR>1 {print $1}'); do "$TT" cat --lax journal --rec "$id"; done >recorded.txt
"#,
        dir.path(),
    );
    let stdout = text(&out.stdout);
    let rec_err = std::fs::read_to_string(dir.path().join("rec.err")).unwrap_or_default();
    let context = format!("{stdout}; {}; rec: {rec_err}", text(&out.stderr));
    assert!(stdout.contains("rec rc=1"), "the session ended: {context}");
    assert!(
        rec_err.contains("journald has not taken the recording"),
        "{context}"
    );
    assert!(stdout.contains("spool files: 1"), "{context}");
    assert!(stdout.contains("deliver rc=0"), "{context}");
    assert!(stdout.contains("left: 0"), "{context}");
    let shown = std::fs::read_to_string(dir.path().join("shown.txt")).expect("shown");
    let recorded = std::fs::read_to_string(dir.path().join("recorded.txt")).expect("recorded");
    assert_all_recorded(&shown, &recorded, &context);
}

#[test]
fn issue_10_a_busy_journald_and_signal_storms_never_end_a_recording() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = in_private_journal(
        r#"
start_journald
# Load: writers flooding journald.
for w in 1 2 3; do (i=0; while [ $i -lt 3000 ]; do logger --journald <<X
MESSAGE=load $w $i
X
i=$((i+1)); done) & done
"$REC" -w journal --latency 0.01 --payload 256 -- sh -c 'i=1; while [ $i -le 3000 ]; do echo line-$i; i=$((i+1)); done' </dev/null >shown.txt 2>rec.err &
R=$!
# Storms of SIGWINCH at the recorder, while journald is stopped now and
# then so that its queue fills and sends must wait.
n=0
while kill -0 $R 2>/dev/null && [ $n -lt 40 ]; do
    kill -STOP $J
    k=0; while [ $k -lt 50 ]; do kill -WINCH $R 2>/dev/null; k=$((k+1)); done
    sleep 0.05
    kill -CONT $J
    sleep 0.02
    n=$((n+1))
done
kill -CONT $J
wait $R; echo "rec rc=$?"
"$TT" cat --lax journal --rec "$("$TT" ls --lax journal | awk 'NR==2 {print $1}')" >recorded.txt
"#,
        dir.path(),
    );
    let stdout = text(&out.stdout);
    let rec_err = std::fs::read_to_string(dir.path().join("rec.err")).unwrap_or_default();
    let context = format!("{stdout}; {}; rec: {rec_err}", text(&out.stderr));
    assert!(stdout.contains("rec rc=0"), "{context}");
    let shown = std::fs::read_to_string(dir.path().join("shown.txt")).expect("shown");
    assert_eq!(shown.lines().count(), 3000, "{context}");
    let recorded = std::fs::read_to_string(dir.path().join("recorded.txt")).expect("recorded");
    assert_all_recorded(&shown, &recorded, &context);
}
