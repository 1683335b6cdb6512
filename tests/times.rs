//! Times on the command line (`--since`, `--until`, `--at`, `--seek`):
//! out of range is refused by name in every command, the latest accepted
//! run, and what the listings print reads back, in the local zone however
//! TZ sets it (or does not).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use termtape_tests::{bin, journald, read_messages, run_ok};

/// A tiny recording, and its start in seconds since the epoch.
fn recording(dir: &Path) -> (PathBuf, u64) {
    let log = crate::numeric_args::recording(dir);
    let first = &read_messages(&log)[0];
    let start = first.time.expect("a time") - first.pos;
    (log, start / 1000)
}

/// `termtape ARGS` with the recording last, TZ as given (None: unset).
fn termtape(args: &[&str], log: &Path, tz: Option<&str>) -> Output {
    let mut cmd = Command::new(bin("termtape"));
    cmd.args(args).arg(log).stdin(Stdio::null());
    match tz {
        Some(tz) => cmd.env("TZ", tz),
        None => cmd.env_remove("TZ"),
    };
    cmd.output().expect("termtape")
}

/// Every command taking a wall-clock time, with the option it takes it by.
const CLOCK_OPTIONS: &[(&[&str], &str)] = &[
    (&["ls"], "--since"),
    (&["ls"], "--until"),
    (&["search", "hello"], "--since"),
    (&["search", "hello"], "--until"),
    (&["cat"], "--since"),
    (&["cat"], "--until"),
    (&["play", "--raw"], "--since"),
    (&["play", "--raw"], "--until"),
    (&["screen"], "--since"),
    (&["screen"], "--until"),
    (&["screen"], "--at"),
    (&["play", "--raw"], "--seek"),
];

/// Issue 12: a time past what can be held (a year past 9999, seconds past
/// 2^64 ms, a moment past 2^64 ms from the start) was wrapped or clamped;
/// each command now refuses it with a usage error naming the option, the
/// value and the range, and never panics.
#[test]
fn times_out_of_range_are_refused_by_name_in_every_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) = recording(dir.path());
    for (command, option) in CLOCK_OPTIONS {
        let moment = matches!(*option, "--at" | "--seek");
        let values: &[&str] = if moment {
            &[
                "9999999999-01-01 UTC",
                "10000-01-01",
                "99999999999999999999:00",
                "5124095576030:25:51.616",
                "9223372036854775807s",
            ]
        } else {
            &[
                "9999999999-01-01 UTC",
                "10000-01-01",
                "1e300",
                "18446744073709551.616",
                "1969-12-31 23:59:59 UTC",
            ]
        };
        for value in values {
            let mut args = command.to_vec();
            args.extend([*option, *value]);
            let out = termtape(&args, &log, Some("Asia/Tokyo"));
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(
                err.contains(option)
                    && err.contains(&format!("{value:?}"))
                    && err.contains("out of range")
                    && !err.contains("panicked"),
                "{args:?}: {err}"
            );
            assert!(out.stdout.is_empty(), "{args:?}");
        }
    }
}

/// The latest values accepted run as any other: nothing is that late, and
/// the end of a recording is before any moment that far in.
#[test]
fn the_latest_times_accepted_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, _) = recording(dir.path());
    for since in ["9999-12-31 23:59:59 UTC", "18446744073709551.615"] {
        let out = termtape(&["ls", "--since", since], &log, Some("UTC"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{since}: {err}");
        assert!(err.contains("no recording matches --since"), "{err}");
    }
    for at in ["5124095576030:25:51.615", "18446744073709551.615"] {
        let out = termtape(&["screen", "--at", at], &log, None);
        assert!(out.status.success(), "{at}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), "hello");
    }
    // The journal takes them too (journald's microseconds are at most
    // 2^64 - 1: the time is clamped there, past every entry).
    journald();
    let out = Command::new(bin("termtape"))
        .args(["ls", "--since", "18446744073709551.615", "journal"])
        .output()
        .expect("termtape");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// The local zone is TZ's however it is written (a zone's name, with a
/// colon, a tzfile's path, a POSIX rule), else /etc/localtime: termtape
/// shows a time as `date` does, and that text, the zone's name included,
/// given back to `--since`, `--until` and `--at`, is the same second.
#[test]
fn listed_times_read_back_in_the_local_zone_however_tz_is_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, start) = recording(dir.path());
    for tz in [
        None,
        Some(""),
        Some("UTC"),
        Some("Asia/Tokyo"),
        Some(":Asia/Tokyo"),
        Some("/usr/share/zoneinfo/Asia/Tokyo"),
        Some("JST-9"),
        Some("America/Sao_Paulo"),
        Some("EST5EDT,M3.2.0,M11.1.0"),
        Some("Europe/Berlin"),
    ] {
        let date = |secs: u64| {
            let mut date = Command::new("date");
            match tz {
                Some(tz) => date.env("TZ", tz),
                None => date.env_remove("TZ"),
            };
            let out = run_ok(date.arg("-d").arg(format!("@{secs}")).arg("+%F %T %Z"));
            String::from_utf8(out).expect("UTF-8").trim().to_owned()
        };
        let shown = date(start);
        let listed = termtape(&["ls"], &log, tz);
        let listing = String::from_utf8_lossy(&listed.stdout);
        assert!(listing.contains(&shown), "TZ={tz:?}: {shown}: {listing}");
        // The start as listed selects the recording; a second before
        // it, as --until, does not.
        let since = termtape(&["ls", "--since", &shown], &log, tz);
        assert!(since.status.success(), "TZ={tz:?} --since {shown:?}");
        let until = termtape(&["ls", "--until", &format!("{}", start - 1)], &log, tz);
        assert_eq!(until.status.code(), Some(1), "TZ={tz:?}");
        let err = String::from_utf8_lossy(&until.stderr);
        // What did not match is said as the listings say it, and reads
        // back the same.
        let said = err
            .split("--until \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("TZ={tz:?}: {err}"));
        let again = termtape(&["ls", "--until", said], &log, tz);
        assert!(
            String::from_utf8_lossy(&again.stderr).contains(&format!("--until \"{said}\"")),
            "TZ={tz:?}: {said}"
        );
        // The start's second is before the start's millisecond; the
        // next is in the recording or after its end.
        let later = date(start + 1);
        let at = termtape(&["screen", "--at", &later], &log, tz);
        assert!(at.status.success(), "TZ={tz:?} --at {later:?}");
        assert_eq!(String::from_utf8_lossy(&at.stdout).trim_end(), "hello");
    }
    // A zone that is not the local one's name then is refused by name.
    let out = termtape(
        &["ls", "--since", "2026-07-01 12:00 JST"],
        &log,
        Some("UTC"),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--since") && err.contains("JST"), "{err}");
}

/// TZ unset: the zone is /etc/localtime's, whether a link into the zone
/// database (the machine's own, in the test above), a copy of a tzfile
/// (here Tokyo's, bound over it in a private mount namespace) or nothing
/// usable (an empty file: UTC, as the C library takes it); termtape shows
/// what `date` shows, run in the same namespace.
#[test]
fn without_tz_the_zone_is_etc_localtime_however_it_is_made() {
    termtape_tests::require("unshare");
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, start) = recording(dir.path());
    for (over, zone) in [
        ("/usr/share/zoneinfo/Asia/Tokyo", "JST"),
        ("/dev/null", "UTC"),
    ] {
        let script = r#"mount --bind "$1" /etc/localtime || exit 99
            date -d "@$2" '+%F %T %Z' && "$3" ls "$4""#;
        let out = Command::new("unshare")
            .args([
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                "sh",
                over,
            ])
            .arg(start.to_string())
            .arg(bin("termtape"))
            .arg(&log)
            .env_remove("TZ")
            .output()
            .expect("unshare");
        assert!(out.status.success(), "{over}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let (shown, listing) = text.split_once('\n').expect("date, then ls");
        assert!(shown.ends_with(zone), "{over}: {shown}");
        assert!(listing.contains(shown), "{over}: {shown}: {listing}");
    }
}
