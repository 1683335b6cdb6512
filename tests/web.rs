//! The web review page in a real headless Chromium (Debian's), driven by
//! `web/test/driver.mjs` (playwright-core over CDP), on both of its hosts:
//! `termtape serve` and Cockpit's own cockpit-ws with termtape's package
//! (no systemd, no login: `--local-session=cockpit-bridge`). What the page
//! shows is held against the CLI: the screen rows in the DOM against
//! `termtape screen --at T` for the T the page says it drew.
//!
//! One browser, one `termtape serve` and one cockpit-ws serve every test
//! of this module (each scenario runs in a fresh browser context); they
//! end when the test process exits. Set TERMTAPE_WEB_SHOTS=DIR to keep a
//! screenshot of every scenario there.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::LazyLock;

use serde_json::{Value, json};
use termtape_tests::browser::{Chromium, Cockpit, Served, dir_until_exit};
use termtape_tests::{
    bin, journal_sync, journald, live_journal_recorder, run_ok, running_recording,
};

use crate::charset::{KOI8R, ensure_locale};

/// Text the hostile recording shows; its script would set this global.
const PWNED: &str = "ttPwned";

/// The recordings every test reads, made once with the real recorder.
struct Recordings {
    /// Lines over ~3 s, a clear in the middle, a log entry sent meanwhile.
    plain: PathBuf,
    /// Cyrillic text written in KOI8-R by a program in a KOI8-R locale.
    koi8: PathBuf,
    /// Markup, OSC 52 (clipboard) and OSC 0 (title) in its output.
    hostile: PathBuf,
    /// Unique to this run: in plain's output and its log entry.
    marker: String,
}

impl Recordings {
    fn files(&self) -> [&Path; 3] {
        [&self.plain, &self.koi8, &self.hostile]
    }
}

/// Records `script` (under sh) into `log` in `dir`, with `env`.
fn record(dir: &Path, log: &Path, script: &str, env: &[(&str, &str)]) {
    let out = Command::new(bin("termtape"))
        .args(["rec", "-o"])
        .arg(log)
        .args(["--", "sh", "-c", script])
        .current_dir(dir)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .expect("termtape rec");
    assert!(out.status.success(), "termtape rec {script}: {out:?}");
}

static RECORDINGS: LazyLock<Recordings> = LazyLock::new(|| {
    journald();
    let dir = dir_until_exit();
    let marker = format!("web{}", std::process::id());
    let plain = dir.join("plain.log");
    record(
        &dir,
        &plain,
        &format!(
            "for i in $(seq 1 12); do echo \"line $i of the first screen\"; sleep 0.1; done; \
             logger -t termtape-web-test {marker}-log; sleep 0.3; \
             printf '\\033[2J\\033[H'; echo \"second screen {marker}-found\"; \
             for i in $(seq 1 12); do printf '\\033[1;32mgreen %s\\033[0m  ' $i; echo; sleep 0.1; done; \
             echo done"
        ),
        &[],
    );
    ensure_locale(&KOI8R);
    std::fs::write(dir.join("text.utf8"), format!("{}\n", KOI8R.text)).expect("text");
    let koi8 = dir.join("koi8.log");
    record(
        &dir,
        &koi8,
        &format!("iconv -f UTF-8 -t {} text.utf8", KOI8R.charset),
        &[("LANG", KOI8R.name), ("LC_ALL", KOI8R.name)],
    );
    let hostile = dir.join("hostile.log");
    record(
        &dir,
        &hostile,
        &format!(
            "stty -opost; printf '<script>window.{PWNED}=1</script><img src=x onerror=\"window.{PWNED}=2\">\\r\\n\
             \\033]52;c;dGVybXRhcGUtcHduZWQ=\\007\\033]0;pwned-title\\007\
             \\033]8;;javascript:window.{PWNED}=3\\007link\\033]8;;\\007 shown\\r\\n'"
        ),
        &[],
    );
    Recordings {
        plain,
        koi8,
        hostile,
        marker,
    }
});

pub(crate) static BROWSER: LazyLock<&'static Chromium> =
    LazyLock::new(|| Chromium::start().until_exit());

/// `termtape serve` of the three recordings (sources 0, 1, 2).
static SERVED: LazyLock<&'static Served> =
    LazyLock::new(|| Served::start(&RECORDINGS.files()).until_exit());

/// cockpit-ws with the package the binary installs.
static COCKPIT: LazyLock<&'static Cockpit> = LazyLock::new(|| Cockpit::start().until_exit());

/// Which server the page comes from.
#[derive(Clone, Copy, Debug)]
enum Host {
    Serve,
    Cockpit,
}

impl Host {
    /// The driver's arguments for a scenario on this host's page reading
    /// the three recordings: `extra` plus the URL (and for Cockpit the
    /// sources the reviewer chose, as the page keeps them).
    fn args(self, scenario: &str, extra: Value) -> Value {
        let mut args = extra;
        match self {
            Host::Serve => args["url"] = SERVED.url().into(),
            Host::Cockpit => {
                args["url"] = COCKPIT.url("termtape/index.html").into();
                if args.get("sources").is_none() {
                    let files: Vec<String> = RECORDINGS
                        .files()
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect();
                    args["sources"] = json!(files);
                }
            }
        }
        if let Some(dir) = std::env::var_os("TERMTAPE_WEB_SHOTS") {
            let shot = Path::new(&dir).join(format!("{self:?}-{scenario}.png").to_lowercase());
            args["screenshot"] = shot.display().to_string().into();
        }
        args
    }

    fn drive(self, scenario: &str, extra: Value) -> Value {
        let result = BROWSER.drive(scenario, self.args(scenario, extra));
        assert_eq!(
            result["page_errors"],
            json!([]),
            "{self:?}: the page threw while {scenario}"
        );
        result
    }
}

/// The recording id of a one-recording file.
fn rec_of(log: &Path) -> String {
    let out = run_ok(
        Command::new(bin("termtape"))
            .args(["ls", "--json"])
            .arg(log),
    );
    let v: Value = serde_json::from_slice(&out).expect("ls --json");
    v["rec"].as_str().expect("rec").to_owned()
}

/// `termtape screen --at T SOURCE [--rec ID]`, as rows.
fn screen_at(source: &str, rec: &str, ms: u64) -> Vec<String> {
    let out = run_ok(Command::new(bin("termtape")).args([
        "screen",
        "--at",
        &format!("{}.{:03}", ms / 1000, ms % 1000),
        "--rec",
        rec,
        source,
    ]));
    String::from_utf8(out)
        .expect("UTF-8 screen")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A screen the driver read: the test hook's rows, which must equal the
/// DOM's, and equal the CLI's screen at the moment drawn, row by row.
#[track_caller]
fn assert_screen(host: Host, screen: &Value, source: &Path, rec: &str) -> Vec<String> {
    let rows: Vec<String> = serde_json::from_value(screen["hook"].clone()).expect("rows");
    assert_eq!(
        screen["hook"], screen["dom"],
        "{host:?}: hook and DOM differ"
    );
    let at = screen["drawn"].as_u64().expect("drawn ms");
    let want = screen_at(source.to_str().expect("path"), rec, at);
    assert_eq!(
        rows.len(),
        want.len(),
        "{host:?}: rows at {at} ms: {rows:#?}"
    );
    for (i, (got, want)) in rows.iter().zip(&want).enumerate() {
        assert_eq!(got, want, "{host:?}: row {i} at {at} ms");
    }
    rows
}

fn list_filter_open(host: Host) {
    let r = &*RECORDINGS;
    let recs: Vec<String> = r.files().iter().map(|p| rec_of(p)).collect();
    // Each filter's rows are read once the list's status changes, waiting
    // up to 20 s: under Cockpit each change spawns commands through the
    // bridge, slow on a loaded 2-core machine. (A cleared text filter that
    // went on showing its one row was the page applying a search that
    // ended after the filter changed; the page now drops such a search.)
    let result = host.drive(
        "list",
        json!({"filter_wait_ms": 20000, "filters": [
            ["user", "nobody-here"],
            ["user", ""],
            ["text", format!("{}-found", r.marker)],
            ["text", ""],
            ["until", "2001-01-01 00:00"],
        ]}),
    );
    let listed: Vec<&str> = result["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row["rec"].as_str().expect("rec"))
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    let mut want: Vec<&str> = recs.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(sorted, want, "{host:?}: {result}");
    assert!(
        result["status"].as_str().expect("status").starts_with('3'),
        "{host:?}: {}",
        result["status"]
    );
    let user = whoami();
    for row in result["rows"].as_array().expect("rows") {
        assert_eq!(row["user"], user.as_str(), "{host:?}: {row}");
        assert_ne!(row["live"], "live", "{host:?}: {row}");
    }
    let bars = result["bars"].as_array().expect("bars");
    assert_eq!(bars.len(), 3, "{host:?}: one timeline bar each: {bars:?}");
    let counts: Vec<usize> = result["filtered"]
        .as_array()
        .expect("filtered")
        .iter()
        .map(|f| f["rows"].as_array().expect("rows").len())
        .collect();
    assert_eq!(counts, [0, 3, 1, 3, 0], "{host:?}: {}", result["filtered"]);
    assert_eq!(
        result["filtered"][2]["rows"][0]["rec"],
        rec_of(&r.plain).as_str(),
        "{host:?}: the text filter keeps the recording showing it"
    );
    // Clicking a row opens the player at 0.
    let plain = rec_of(&r.plain);
    let opened = host.drive("open", json!({"rec": plain}));
    assert!(
        opened["hash"]
            .as_str()
            .expect("hash")
            .starts_with("#/play?"),
        "{host:?}: {opened}"
    );
    assert_eq!(opened["screen"]["drawn"], 0, "{host:?}: {opened}");
    assert_screen(host, &opened["screen"], &r.plain, &plain);
}

fn whoami() -> String {
    String::from_utf8(run_ok(Command::new("id").arg("-un")))
        .expect("user name")
        .trim()
        .to_owned()
}

fn seek_forward_and_back(host: Host) {
    let r = &*RECORDINGS;
    let rec = rec_of(&r.plain);
    let result = host.drive(
        "play",
        json!({"source": 0, "rec": rec, "at": 0, "steps": [
            {"progress": 0.8},
            {"progress": 0.25},
            {"progress": 0.6},
            {"key": "Home"},
            {"key": "End"},
        ]}),
    );
    assert_screen(host, &result["first"], &r.plain, &rec);
    let mut seen = Vec::new();
    for step in result["steps"].as_array().expect("steps") {
        assert!(
            step["state"] == "paused" || step["state"] == "ended",
            "{host:?}: a seek keeps a paused player still: {step}"
        );
        seen.push((
            step["drawn"].as_u64().expect("drawn"),
            assert_screen(host, step, &r.plain, &rec),
        ));
    }
    let at: Vec<u64> = seen.iter().map(|(at, _)| *at).collect();
    assert!(
        at[0] > at[1] && at[1] < at[2] && at[3] == 0 && at[4] > at[0],
        "{host:?}: forward, back, forward, start, end: {at:?}"
    );
    // The seeks land on different screens: the first and the second page.
    assert_ne!(seen[0].1, seen[1].1, "{host:?}");
    // The player shows the hash chain's verdict as `ls --verify` gives it.
    let listed: Value = serde_json::from_slice(&run_ok(
        Command::new(bin("termtape"))
            .args(["ls", "--json", "--verify", "--rec", &rec])
            .arg(&r.plain),
    ))
    .expect("ls --json --verify");
    assert_eq!(
        result["verdict"]["verdict"], listed["verify"]["verdict"],
        "{host:?}: {result}"
    );
    assert_eq!(
        result["verdict"]["text"], listed["verify"]["text"],
        "{host:?}"
    );
    assert!(
        seen[4].1.iter().any(|row| row == "done"),
        "{host:?}: {:?}",
        seen[4].1
    );
}

fn search_hit_opens_the_moment(host: Host) {
    let r = &*RECORDINGS;
    let rec = rec_of(&r.plain);
    let text = format!("{}-found", r.marker);
    let result = host.drive("search", json!({"q": text, "click": 0}));
    let hits = result["hits"].as_array().expect("hits");
    assert_eq!(hits.len(), 1, "{host:?}: {hits:?}");
    assert_eq!(hits[0]["rec"], rec.as_str(), "{host:?}");
    assert!(
        hits[0]["text"].as_str().expect("text").contains(&text),
        "{host:?}: the hit shows the line: {}",
        hits[0]
    );
    let at = hits[0]["at"].as_u64().expect("at");
    assert_eq!(result["screen"]["drawn"], at, "{host:?}: {result}");
    let rows = assert_screen(host, &result["screen"], &r.plain, &rec);
    assert!(
        rows.iter().any(|row| row.contains(&text)),
        "{host:?}: {rows:?}"
    );
    assert!(!result["highlight"].is_null(), "{host:?}: no highlight");
}

fn koi8r_shows_as_utf8(host: Host) {
    let r = &*RECORDINGS;
    let rec = rec_of(&r.koi8);
    let result = host.drive(
        "play",
        json!({"source": 1, "rec": rec, "at": 0, "steps": [{"key": "End"}]}),
    );
    let rows = assert_screen(host, &result["steps"][0], &r.koi8, &rec);
    assert!(
        rows.iter().any(|row| row.contains(KOI8R.text)),
        "{host:?}: {rows:?}"
    );
}

fn hostile_output_stays_text(host: Host) {
    let r = &*RECORDINGS;
    let rec = rec_of(&r.hostile);
    let result = host.drive(
        "hostile",
        json!({"source": 2, "rec": rec, "at": 60_000, "global": PWNED, "link_row": 1}),
    );
    let rows = assert_screen(host, &result["screen"], &r.hostile, &rec);
    assert!(
        rows[0].starts_with(&format!("<script>window.{PWNED}=1</script><img")),
        "{host:?}: the markup is shown as text: {rows:?}"
    );
    assert!(rows[1].contains("link shown"), "{host:?}: {rows:?}");
    assert_eq!(result["global"], "undefined", "{host:?}: {result}");
    assert_eq!(result["title_after"], result["title_before"], "{host:?}");
    assert_eq!(result["clipboard"], "termtape-sentinel", "{host:?}");
    assert_eq!(
        result["scripts_after"], result["scripts_before"],
        "{host:?}"
    );
    // Clicking the recorded javascript: hyperlink neither asks (a confirm
    // dialog) nor opens anything.
    assert_eq!(result["dialogs"], json!([]), "{host:?}");
    assert_eq!(result["opened"], json!([]), "{host:?}");
}

fn logs_beside_playback(host: Host) {
    let r = &*RECORDINGS;
    let rec = rec_of(&r.plain);
    let entries = host.drive("logs", json!({"source": 0, "rec": rec}))["entries"].clone();
    let ours = entries
        .as_array()
        .expect("entries")
        .iter()
        .position(|e| e["text"].as_str().is_some_and(|t| t.contains(&r.marker)))
        .unwrap_or_else(|| panic!("{host:?}: no entry of ours in {entries}"));
    let at = entries[ours]["at"].as_u64().expect("at");
    let result = host.drive("logs", json!({"source": 0, "rec": rec, "click": ours}));
    assert_eq!(result["screen"]["drawn"], at, "{host:?}: {result}");
    let rows = assert_screen(host, &result["screen"], &r.plain, &rec);
    // The entry was sent after the first screen's twelve lines.
    assert!(
        rows.iter().any(|row| row == "line 12 of the first screen"),
        "{host:?}: {rows:?}"
    );
}

fn live_follow(host: Host) {
    journald();
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = format!("webLive{}{host:?}", std::process::id());
    let go = dir.path().join("go");
    // Waits (60 s at most) for the browser to create `go`.
    let script = format!(
        "echo {marker}-first; i=0; while [ ! -e {go} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; \
         echo {marker}-then; sleep 1",
        go = go.display()
    );
    let mut recorder = live_journal_recorder(&script);
    let rec = running_recording(recorder.id(), &format!("{marker}-first"));
    let served;
    let mut args = json!({
        "source": 0, "rec": rec, "first": format!("{marker}-first"),
        "then": format!("{marker}-then"), "go": go.display().to_string(),
        "wait_ms": 90_000, "deadline_ms": 240_000,
    });
    let args = match host {
        Host::Serve => {
            served = Served::start(&[Path::new("journal")]);
            args["url"] = served.url().into();
            BROWSER.drive("live", args)
        }
        Host::Cockpit => {
            args["sources"] = json!(["journal"]);
            host.drive("live", args)
        }
    };
    // Whatever the page did, the recorder ends by itself within 60 s.
    let status = recorder.wait().expect("recorder");
    assert!(status.success());
    assert!(journal_sync());
    assert!(
        args["live_shown"].as_bool().expect("live_shown"),
        "{host:?}: {args}"
    );
    let before = args["before"].to_string();
    assert!(
        !before.contains(&format!("{marker}-then")),
        "{host:?}: {before}"
    );
}

/// Asserts the statuses `browser` gets opening `urls` one after the other.
fn assert_statuses(browser: &Chromium, urls: &[String], want: &[u16]) {
    let result = browser.drive("status", json!({ "urls": urls }));
    let statuses: Vec<u64> = result["answers"]
        .as_array()
        .expect("answers")
        .iter()
        .map(|a| a["status"].as_u64().unwrap_or(0))
        .collect();
    let want: Vec<u64> = want.iter().map(|&s| s.into()).collect();
    assert_eq!(statuses, want, "{result}\n{}", browser.log_tail());
}

fn token_and_paths_from_the_browser() {
    let s = &*SERVED;
    let base = format!("http://{}", s.addr);
    assert_statuses(
        &BROWSER,
        &[
            format!("{base}/"),
            format!("{base}/?token={}", "0".repeat(32)),
            format!("{base}/api/sources"),
            s.url(),
            format!("{base}/api/sources"),
            format!("{base}/etc/passwd"),
            format!("{base}/%2e%2e/%2e%2e/etc/passwd"),
            format!("{base}/api/recordings?source=..%2F..%2Fetc%2Fpasswd"),
            format!("{base}/api/recordings?source=3"),
        ],
        &[403, 403, 403, 200, 200, 404, 404, 404, 404],
    );
}

/// One test per host for each scenario.
macro_rules! on_both_hosts {
    ($($name:ident),* $(,)?) => {
        mod on_serve {
            $( #[test] fn $name() { super::$name(super::Host::Serve) } )*
        }
        mod on_cockpit {
            $( #[test] fn $name() { super::$name(super::Host::Cockpit) } )*
        }
    };
}

on_both_hosts!(
    list_filter_open,
    seek_forward_and_back,
    search_hit_opens_the_moment,
    koi8r_shows_as_utf8,
    hostile_output_stays_text,
    logs_beside_playback,
    live_follow,
);

/// Under Cockpit, a file of several recordings (as a central rsyslog file
/// is): the page takes their verdicts in one read of the file, and each
/// row shows its own recording's, as `ls --json --verify` gives it.
#[test]
fn cockpit_rows_of_a_file_of_recordings_show_their_own_verdicts() {
    let dir = dir_until_exit();
    let (key, _) = crate::chain::keys(&dir);
    let first = crate::chain::record(&dir, "first.log", &key);
    let second = crate::chain::record(&dir, "second.log", &key);
    let text = std::fs::read(&second).expect("second log");
    let mut lines: Vec<Vec<u8>> = text
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    let middle = lines.len() / 2;
    lines[middle] = crate::chain::flip_after(&lines[middle], "\"out_txt\":\"");
    let tlog =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/tlog/a_interactive.log"))
            .expect("tlog's recording");
    let central = dir.join("central.log");
    let mut all = std::fs::read(&first).expect("first log");
    all.extend(lines.concat());
    all.extend(tlog);
    std::fs::write(&central, all).expect("central file");
    // The verdicts as the page's command gives them (no --key: the
    // machine's default key, as under Cockpit).
    let out = run_ok(
        Command::new(bin("termtape"))
            .args(["ls", "--json", "--lax", "--verify"])
            .arg(&central),
    );
    let want: Vec<Value> = String::from_utf8_lossy(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("ls --json line"))
        .collect();
    assert_eq!(want.len(), 3, "{want:?}");
    let verdicts: std::collections::HashSet<String> = want
        .iter()
        .map(|r| r["verify"]["text"].to_string())
        .collect();
    assert_eq!(verdicts.len(), 3, "three different verdicts: {verdicts:?}");
    let list = Host::Cockpit.drive(
        "verdicts",
        json!({"sources": [central.display().to_string()]}),
    );
    let rows = list["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 3, "{list}");
    for row in rows {
        let rec = row["rec"].as_str().expect("rec");
        let want = want
            .iter()
            .find(|r| r["rec"] == rec)
            .unwrap_or_else(|| panic!("{rec} listed: {list}"));
        assert_eq!(row["verdict"], want["verify"]["verdict"], "{row}");
        assert_eq!(row["text"], want["verify"]["text"], "{row}");
    }
}

/// A recording made by the real tlog-rec has no keyframes: the page still
/// seeks in it (the server replays from its start) and says how to make
/// seeking instant.
#[test]
fn a_recording_without_keyframes_plays_and_says_so() {
    let dir = dir_until_exit();
    let log = dir.join("tlog.log");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/tlog/a_interactive.log"),
        &log,
    )
    .expect("copy tlog's recording");
    let rec = rec_of(&log);
    let served = Served::start(&[&log]);
    let result = BROWSER.drive(
        "play",
        json!({"url": served.url(), "source": 0, "rec": rec, "at": 0, "steps": [
            {"progress": 0.7},
            {"progress": 0.3},
            {"key": "End"},
        ]}),
    );
    assert_eq!(result["page_errors"], json!([]), "{result}");
    assert_screen(Host::Serve, &result["first"], &log, &rec);
    let mut drawn = Vec::new();
    for step in result["steps"].as_array().expect("steps") {
        assert_screen(Host::Serve, step, &log, &rec);
        drawn.push(step["drawn"].as_u64().expect("drawn"));
    }
    assert!(
        drawn[0] > drawn[1] && drawn[2] > drawn[0],
        "forward, back, end: {drawn:?}"
    );
    assert!(
        result["message"]
            .as_str()
            .is_some_and(|m| m.contains("no keyframes") && m.contains("termtape keyframe")),
        "the page says why seeking replays: {result}"
    );
    // tlog chains nothing: the page says so, and does not call it intact.
    assert_eq!(result["verdict"]["verdict"], "unsigned", "{result}");
    assert!(
        result["verdict"]["shown"]
            .as_str()
            .is_some_and(|s| s.starts_with('✗')),
        "{result}"
    );
}

#[test]
fn serve_answers_403_without_the_token_and_404_outside_its_sources() {
    token_and_paths_from_the_browser();
}

/// The page over HTTPS: a browser of its own that reaches the
/// certificate's name at 127.0.0.1 and trusts that one certificate's key
/// (no other certificate error is passed over); the token sets a Secure
/// cookie the page's loads carry, and the list is the same as over HTTP.
#[test]
fn serve_over_tls_lists_in_a_browser() {
    use crate::serve_tls::Pki;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let pki = Pki::make(dir.path());
    let files = RECORDINGS.files();
    let served = Served::spawn(pki.serve(&["--listen", "127.0.0.1:0"], &files));
    assert!(served.https, "{}", served.url());
    let host = served
        .addr
        .rsplit_once(':')
        .expect("ADDR:PORT")
        .0
        .to_owned();
    let browser = Chromium::start_with(&[
        format!("--host-resolver-rules=MAP {host} 127.0.0.1"),
        format!("--ignore-certificate-errors-spki-list={}", pki.spki_hash()),
    ]);
    let base = format!("https://{}", served.addr);
    // Plain HTTP to the port, before any HTTPS answer: 400 (told to use
    // https). No token 403; the token 200; then its Secure cookie alone
    // 200. Plain HTTP again: the browser keeps the HSTS it was sent and
    // goes to https itself, where the cookie lets it in.
    assert_statuses(
        &browser,
        &[
            format!("http://{}/api/sources", served.addr),
            format!("{base}/api/sources"),
            served.url(),
            format!("{base}/api/sources"),
            format!("http://{}/api/sources", served.addr),
        ],
        &[400, 403, 200, 200, 200],
    );
    let mut args = json!({"filters": []});
    args["url"] = served.url().into();
    let listed = browser.drive("list", args);
    let mut rows: Vec<&str> = listed["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row["rec"].as_str().expect("rec"))
        .collect();
    rows.sort();
    let mut want: Vec<String> = files.iter().map(|p| rec_of(p)).collect();
    want.sort();
    assert_eq!(rows, want, "{listed}");
}

/// A signed recording (sealed every 2 messages, lines 50 ms apart) and a
/// copy with a byte of its output changed after a seal, served with their
/// key: the list shows each one's verdict as `termtape verify` gives it,
/// and the player marks the seals that checked out where they are.
#[test]
fn the_list_and_the_player_show_verdicts_and_checkpoints() {
    let dir = dir_until_exit();
    let (key, public) = crate::chain::keys(&dir);
    let config = dir.join("seal.toml");
    std::fs::write(&config, "[seal]\nmessages = 2\n").expect("config");
    let signed = dir.join("signed.log");
    run_ok(
        Command::new(bin("termtape-rec"))
            .env("TERMTAPE_CONFIG", &config)
            .args(["-q", "--payload", "200", "--seal-key"])
            .arg(&key)
            .arg("-o")
            .arg(&signed)
            .args([
                "--",
                "sh",
                "-c",
                "for i in $(seq 1 40); do echo \"line $i of a signed session\"; sleep 0.05; done",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let text = std::fs::read(&signed).expect("signed log");
    let mut lines: Vec<Vec<u8>> = text
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    assert!(lines.len() >= 6, "enough messages: {}", lines.len());
    let middle = lines.len() / 2;
    lines[middle] = crate::chain::flip_after(&lines[middle], "\"out_txt\":\"");
    let edited = dir.join("edited.log");
    std::fs::write(&edited, lines.concat()).expect("edited log");

    let verified = |log: &Path| -> Value {
        let out = Command::new(bin("termtape"))
            .args(["verify", "--json", "--key"])
            .arg(&public)
            .arg(log)
            .output()
            .expect("termtape verify");
        serde_json::from_slice(&out.stdout).expect("verify --json")
    };
    let want = [verified(&signed), verified(&edited)];
    assert_eq!(want[0]["verdict"], "intact", "{}", want[0]);
    assert_eq!(want[1]["verdict"], "edited", "{}", want[1]);

    let mut cmd = Command::new(bin("termtape"));
    cmd.args(["serve", "--key"])
        .arg(&public)
        .args([&signed, &edited]);
    let served = Served::spawn(cmd);
    let list = BROWSER.drive("verdicts", json!({"url": served.url()}));
    assert_eq!(list["page_errors"], json!([]), "{list}");
    let rows = list["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{list}");
    for row in rows {
        let n: usize = row["source"]
            .as_str()
            .expect("source")
            .parse()
            .expect("index");
        assert_eq!(row["verdict"], want[n]["verdict"], "{row}");
        assert_eq!(row["text"], want[n]["text"], "{row}");
    }

    for (n, want) in want.iter().enumerate() {
        let rec = want["rec"].as_str().expect("rec");
        let played = BROWSER.drive(
            "play",
            json!({"url": served.url(), "source": n, "rec": rec, "at": 0}),
        );
        assert_eq!(played["page_errors"], json!([]), "{played}");
        assert_eq!(played["verdict"]["verdict"], want["verdict"], "{played}");
        // One marker per checkpoint, at its position; after the edit, the
        // seal that takes the chain up again says so.
        let mut marked: Vec<(String, u64)> = played["checkpoints"]
            .as_array()
            .expect("checkpoints")
            .iter()
            .map(|m| {
                (
                    m["kind"].as_str().expect("kind").to_owned(),
                    m["at"].as_u64().expect("at"),
                )
            })
            .collect();
        marked.sort();
        let mut expected: Vec<(String, u64)> = want["checkpoints"]
            .as_array()
            .expect("checkpoints")
            .iter()
            .map(|c| {
                let kind = if c["resumes"] == true {
                    "seal-resumes"
                } else {
                    "seal"
                };
                (kind.to_owned(), c["pos"].as_u64().expect("pos"))
            })
            .collect();
        expected.sort();
        expected.dedup();
        assert!(expected.len() >= 3, "several checkpoints: {want}");
        assert_eq!(marked, expected, "{played}");
    }
    assert!(
        want[1]["checkpoints"]
            .as_array()
            .expect("checkpoints")
            .iter()
            .any(|c| c["resumes"] == true),
        "a seal after the edit takes the chain up again: {}",
        want[1]
    );
}

/// Hex of `bytes`, as auditd writes an argument holding a space, a quote or
/// a control character.
fn audit_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A recording made in an audit session of its own, and audit records of
/// that session in its time (written here in auditd 3.0.9's form: the
/// parser is checked against a real auditd in tests/audit.rs; this test
/// holds the page against the CLI): the player lists the commands beside
/// the screen as `termtape commands --json` gives them, marks them on the
/// progress bar, shows a hostile argument as inert text, and a click shows
/// the screen as the command started.
#[test]
fn the_player_lists_the_audit_sessions_commands() {
    let dir = dir_until_exit();
    let log = dir.join("audited.log");
    // A fresh loginuid opens a new audit session for what runs below.
    let script = format!(
        "echo 0 > /proc/self/loginuid && exec {} rec -o {} -- sh -c \
         'for i in 1 2 3 4; do echo \"step $i\"; sleep 0.3; done'",
        bin("termtape").display(),
        log.display()
    );
    run_ok(
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let listed: Value = serde_json::from_slice(&run_ok(
        Command::new(bin("termtape"))
            .args(["ls", "--json"])
            .arg(&log),
    ))
    .expect("ls --json");
    let ses = listed["audit_session"]
        .as_u64()
        .unwrap_or_else(|| panic!("an audit session: {listed}"));
    let start = listed["start"].as_u64().expect("start");
    let rec = listed["rec"].as_str().expect("rec").to_owned();
    let hostile =
        format!("<img src=x onerror=\"window.{PWNED}=7\">\x1b]0;title\x07\u{202e}gpj.exe");
    let argvs: [Vec<&str>; 3] = [
        vec!["/bin/echo", "step 1"],
        vec!["ls", "-l", "/tmp"],
        vec!["printf", hostile.as_str()],
    ];
    let mut audit = String::new();
    for (k, argv) in argvs.iter().enumerate() {
        let time = start + 300 * k as u64 + 120;
        let head = format!("msg=audit({}.{:03}:{})", time / 1000, time % 1000, 7000 + k);
        let args: Vec<String> = argv
            .iter()
            .enumerate()
            .map(
                |(i, a)| match a.bytes().all(|b| b.is_ascii_graphic() && b != b'"') {
                    true => format!("a{i}=\"{a}\""),
                    false => format!("a{i}={}", audit_hex(a.as_bytes())),
                },
            )
            .collect();
        let title = audit_hex(argv.join("\0").as_bytes());
        audit.push_str(&format!(
            "type=SYSCALL {head}: arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=0 items=1 ppid=4000 pid={pid} auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses={ses} comm=\"x\" exe=\"/usr/bin/x\" key=\"termtape-exec\"\n\
             type=EXECVE {head}: argc={argc} {args}\n\
             type=CWD {head}: cwd=\"/tmp\"\n\
             type=PROCTITLE {head}: proctitle={title}\n",
            pid = 4001 + k,
            argc = argv.len(),
            args = args.join(" "),
        ));
    }
    let audit_log = dir.join("audit.log");
    std::fs::write(&audit_log, audit).expect("audit log");

    let oracle: Vec<Value> = String::from_utf8(run_ok(
        Command::new(bin("termtape"))
            .args(["commands", "--json", "--audit-log"])
            .arg(&audit_log)
            .arg(&log),
    ))
    .expect("UTF-8")
    .lines()
    .map(|l| serde_json::from_str(l).expect("a JSON line"))
    .filter(|o: &Value| o["type"] == "command")
    .collect();
    assert_eq!(oracle.len(), 3, "{oracle:?}");

    let mut cmd = Command::new(bin("termtape"));
    cmd.args(["serve", "--audit-log"]).arg(&audit_log).arg(&log);
    let served = Served::spawn(cmd);
    let result = BROWSER.drive(
        "audit",
        json!({"url": served.url(), "source": 0, "rec": rec, "count": 3, "click": 1, "pwned": PWNED}),
    );
    assert_eq!(result["page_errors"], json!([]), "{result}");
    assert_eq!(
        result["pwned"],
        Value::Null,
        "the argument ran as markup: {result}"
    );
    let items = result["items"].as_array().expect("items");
    assert_eq!(items.len(), 3, "{result}");
    for (item, want) in items.iter().zip(&oracle) {
        assert_eq!(item["kind"], "command", "{item}");
        assert_eq!(item["n"], want["n"], "{item}");
        assert_eq!(item["at"], want["at"], "{item}");
        let argv: Vec<Vec<u8>> = want["argv"]
            .as_array()
            .expect("argv")
            .iter()
            .map(|a| a.as_str().expect("UTF-8 argument").as_bytes().to_vec())
            .collect();
        let line = termtape_player::audit::command_line(&argv);
        let text = item["text"].as_str().expect("text");
        assert!(
            text.ends_with(&line),
            "the page shows {text:?}, the CLI {line:?}"
        );
    }
    assert!(
        items[2]["text"]
            .as_str()
            .is_some_and(|t| t.contains("\\e]0;title\\x07") && t.contains("\\u{202e}")),
        "controls shown visibly: {}",
        items[2]
    );
    let mut marked: Vec<u64> = result["markers"]
        .as_array()
        .expect("markers")
        .iter()
        .map(|m| m["at"].as_u64().expect("at"))
        .collect();
    marked.sort_unstable();
    let wanted: Vec<u64> = oracle
        .iter()
        .map(|c| c["at"].as_u64().expect("at"))
        .collect();
    assert_eq!(marked, wanted, "{result}");
    // The click on the second command: the screen 50 ms after it, as
    // `screen --at cmd:2` shows it, and that command highlighted.
    let at = oracle[1]["at"].as_u64().expect("at");
    assert_eq!(
        result["screen"]["drawn"].as_u64(),
        Some(at + 50),
        "{result}"
    );
    assert_screen(Host::Serve, &result["screen"], &log, &rec);
    assert_eq!(result["current"], 2, "{result}");
    let cmd_screen = run_ok(
        Command::new(bin("termtape"))
            .args(["screen", "--at", "cmd:2", "--audit-log"])
            .arg(&audit_log)
            .arg(&log),
    );
    let rows: Vec<String> = serde_json::from_value(result["screen"]["hook"].clone()).expect("rows");
    let cli: Vec<String> = String::from_utf8(cmd_screen)
        .expect("UTF-8")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(rows, cli, "the page and screen --at cmd:2");
}
