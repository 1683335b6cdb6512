//! Sessions in legacy charsets: real locales (Debian's `locales`), real
//! programs (`date`, `ls`, `iconv`, typed input), recorded with `termtape
//! rec`; the text is the right UTF-8, `cat --original` is byte-exact, and
//! the real tlog-play shows a KOI8-R recording as readable UTF-8.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use termtape_tests::{assert_bytes_eq, bin, read_messages, require, run_ok, tlog_play};

/// A locale, its charset as iconv names it, and text in its language.
pub(crate) struct Locale {
    pub(crate) name: &'static str,
    source: &'static str,
    pub(crate) charset: &'static str,
    pub(crate) text: &'static str,
    file: &'static str,
    /// The text of byte 0xFF: a letter in KOI8-R, invalid elsewhere.
    ff: &'static str,
}

pub(crate) const KOI8R: Locale = Locale {
    name: "ru_RU.KOI8-R",
    source: "ru_RU",
    charset: "KOI8-R",
    text: "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    file: "Привет.txt",
    ff: "Ъ",
};
const EUCJP: Locale = Locale {
    name: "ja_JP.EUC-JP",
    source: "ja_JP",
    charset: "EUC-JP",
    text: "いろはにほへと ちりぬるを 日本語のテキスト",
    file: "日本語.txt",
    ff: "\u{fffd}",
};
const GB18030: Locale = Locale {
    name: "zh_CN.GB18030",
    source: "zh_CN",
    charset: "GB18030",
    text: "我能吞下玻璃而不伤身体。中文文本",
    file: "中文.txt",
    ff: "\u{fffd}",
};

/// Generates the locale if the system lacks it (as root, which tests and
/// CI are; scripts/setup installs Debian's `locales`).
pub(crate) fn ensure_locale(l: &Locale) {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    require("localedef");
    let have = run_ok(Command::new("locale").arg("-a"));
    let wanted = l.name.to_lowercase().replace('-', "");
    if String::from_utf8_lossy(&have)
        .lines()
        .any(|n| n.to_lowercase().replace('-', "") == wanted)
    {
        return;
    }
    let out = Command::new("localedef")
        .args(["-i", l.source, "-f", l.charset, l.name])
        .output()
        .expect("running localedef");
    // localedef exits 1 for mere warnings; the locale must exist after.
    let have = run_ok(Command::new("locale").arg("-a"));
    assert!(
        String::from_utf8_lossy(&have)
            .lines()
            .any(|n| n.to_lowercase().replace('-', "") == wanted),
        "cannot generate locale {} (install Debian's locales: scripts/setup): {}",
        l.name,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `text` in `charset`, by iconv.
pub(crate) fn iconv(text: &[u8], from: &str, to: &str) -> Vec<u8> {
    require("iconv");
    let mut child = Command::new("iconv")
        .args(["-f", from, "-t", to])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("running iconv");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(text).expect("writing to iconv");
    }
    let out = child.wait_with_output().expect("iconv output");
    assert!(out.status.success(), "iconv -f {from} -t {to} failed");
    out.stdout
}

/// Runs `script` under `sh` in `dir` with the locale set, recorded by
/// `termtape rec` into `log`, with `input` on standard input.
fn record(l: &Locale, dir: &Path, log: &Path, script: &str, input: &[u8], extra: &[&str]) {
    let mut child = Command::new(bin("termtape"))
        .arg("rec")
        .arg("-o")
        .arg(log)
        .args(extra)
        .args(["--", "sh", "-c", script])
        .current_dir(dir)
        .env("LANG", l.name)
        .env("LC_ALL", l.name)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running termtape rec");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input).expect("typing");
    }
    let out = child.wait_with_output().expect("termtape rec");
    assert!(
        out.status.success(),
        "termtape rec failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn cat(log: &Path, args: &[&str]) -> Vec<u8> {
    run_ok(Command::new(bin("termtape")).arg("cat").args(args).arg(log))
}

/// Runs `script` directly (no PTY, no recorder), as the expected output.
fn direct(l: &Locale, dir: &Path, script: &str) -> Vec<u8> {
    run_ok(
        Command::new("sh")
            .args(["-c", script])
            .current_dir(dir)
            .env("LANG", l.name)
            .env("LC_ALL", l.name),
    )
}

/// Records real programs' output under `l`, and checks the text and the
/// originals; returns the log and the UTF-8 text expected in it.
fn programs_in(l: &Locale, tmp: &Path) -> (std::path::PathBuf, String) {
    ensure_locale(l);
    let dir = tmp.join("work");
    std::fs::create_dir_all(&dir).expect("mkdir");
    // A file whose name is in the charset, and text converted by iconv.
    let name = iconv(l.file.as_bytes(), "UTF-8", l.charset);
    let name = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&name);
    std::fs::write(dir.join(name), b"x").expect("file");
    std::fs::write(dir.join("text.utf8"), format!("{}\n", l.text)).expect("text");
    // No output post-processing (so the PTY adds no CR): what the programs
    // write is exactly what is recorded.
    let programs = format!(
        "date +%B; ls -l -N --time-style=+; iconv -f UTF-8 -t {} text.utf8; printf 'bad: \\377\\n'",
        l.charset
    );
    let log = tmp.join("session.log");
    record(l, &dir, &log, &format!("stty -opost; {programs}"), b"", &[]);
    let expected = direct(l, &dir, &programs);

    // The original bytes, exactly.
    assert_bytes_eq(&cat(&log, &["--original"]), &expected, "cat --original");
    // The text: UTF-8, as iconv converts the same bytes (an invalid byte
    // is U+FFFD in the text).
    let text = String::from_utf8(cat(&log, &[])).expect("recorded text is UTF-8");
    assert!(text.contains(l.text), "{text}");
    assert!(text.contains(l.file), "{text}");
    let month = iconv(&direct(l, &dir, "date +%B"), l.charset, "UTF-8");
    let month = String::from_utf8(month).expect("UTF-8");
    assert!(text.contains(month.trim()), "{month} in {text}");
    assert!(text.contains(&format!("bad: {}\n", l.ff)), "{text}");
    for msg in read_messages(&log) {
        let charset: String =
            serde_json::from_str(msg.extra("charset").expect("charset field").get())
                .expect("string");
        assert!(
            charset.eq_ignore_ascii_case(l.charset),
            "{charset} for {}",
            l.charset
        );
        assert!(msg.out_bin.is_empty(), "no invalid UTF-8 in converted text");
    }
    (log, l.text.to_owned())
}

/// Records typed input in the charset and checks it both ways.
fn typing_in(l: &Locale, tmp: &Path) {
    ensure_locale(l);
    let typed = iconv(format!("{}\n", l.file).as_bytes(), "UTF-8", l.charset);
    let log = tmp.join(format!("typed-{}.log", l.charset));
    record(
        l,
        tmp,
        &log,
        "read -r line; printf '%s\\n' \"$line\" > /dev/null",
        &typed,
        &["--log-input"],
    );
    assert_bytes_eq(
        &cat(&log, &["--input", "--original"]),
        &typed,
        "cat --input --original",
    );
    let text = String::from_utf8(cat(&log, &["--input"])).expect("UTF-8");
    assert_eq!(text, format!("{}\n", l.file));
}

#[test]
fn koi8r_session_text_is_utf8_and_originals_are_exact() {
    let tmp = tempfile::tempdir().expect("tempdir");
    programs_in(&KOI8R, tmp.path());
}

#[test]
fn eucjp_session_text_is_utf8_and_originals_are_exact() {
    let tmp = tempfile::tempdir().expect("tempdir");
    programs_in(&EUCJP, tmp.path());
}

#[test]
fn gb18030_session_text_is_utf8_and_originals_are_exact() {
    let tmp = tempfile::tempdir().expect("tempdir");
    programs_in(&GB18030, tmp.path());
}

#[test]
fn typed_input_in_legacy_charsets_is_recorded_both_ways() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for l in [&KOI8R, &EUCJP, &GB18030] {
        typing_in(l, tmp.path());
    }
}

#[test]
fn koi8r_recording_plays_in_tlog_play_as_utf8() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (log, text) = programs_in(&KOI8R, tmp.path());
    let (shown, status, stderr) = tlog_play(&log, &[]);
    assert!(status.success(), "tlog-play failed: {stderr}");
    let shown = String::from_utf8_lossy(&shown);
    assert!(shown.contains(&text), "tlog-play showed: {shown}");
}

#[test]
fn unknown_charset_is_an_error_before_the_session_starts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let marker = tmp.path().join("ran");
    let out = Command::new(bin("termtape"))
        .arg("rec")
        .arg("-o")
        .arg(tmp.path().join("x.log"))
        .args(["--charset", "KOI9-Q", "--", "touch"])
        .arg(&marker)
        .stdin(Stdio::null())
        .output()
        .expect("termtape rec");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown charset \"KOI9-Q\""), "{err}");
    assert!(!marker.exists(), "the command must not run");
}

#[test]
fn legacy_charset_sessions_are_searched_as_utf8() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for l in [&KOI8R, &GB18030] {
        let dir = tmp.path().join(l.charset);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let (log, text) = programs_in(l, &dir);
        // Part of the text, in UTF-8, finds the line it was shown on.
        let part: String = text.chars().skip(4).take(8).collect();
        let found = String::from_utf8(run_ok(
            Command::new(bin("termtape"))
                .args(["search", &part])
                .arg(&log),
        ))
        .expect("UTF-8");
        assert_eq!(found.lines().count(), 1, "{found}");
        assert!(found.trim_end().ends_with(&text), "{found}");
        // Typed text too.
        typing_in(l, &dir);
        let typed = dir.join(format!("typed-{}.log", l.charset));
        let found = String::from_utf8(run_ok(
            Command::new(bin("termtape"))
                .args(["search", "--input", l.file])
                .arg(&typed),
        ))
        .expect("UTF-8");
        assert!(found.trim_end().ends_with(l.file), "{found}");
    }
}

/// Records `iconv` writing [`KOI8R`]'s text in KOI8-R under its locale
/// into `dir/koi8.log`; its path.
pub(crate) fn koi8r_recording(dir: &Path) -> std::path::PathBuf {
    ensure_locale(&KOI8R);
    std::fs::write(dir.join("text.utf8"), format!("{}\n", KOI8R.text)).expect("text");
    let log = dir.join("koi8.log");
    let script = format!("iconv -f UTF-8 -t {} text.utf8", KOI8R.charset);
    let out = Command::new(bin("termtape"))
        .args(["rec", "-o"])
        .arg(&log)
        .args(["--", "sh", "-c", &script])
        .current_dir(dir)
        .env("LANG", KOI8R.name)
        .env("LC_ALL", KOI8R.name)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .expect("termtape rec");
    assert!(out.status.success(), "{out:?}");
    log
}
