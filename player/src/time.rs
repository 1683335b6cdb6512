//! Time as the command line gives it and listings show it: moments into a
//! recording (`--at 1:30`, `--seek 90s`), wall-clock times (`--since`,
//! `--until`, `--at "2026-11-26 15:29"`) in the local time zone or in UTC,
//! and the forms `ls`, `search` and the player print, which read back as
//! the same value.
//!
//! The calendar and time zones are jiff's: the local zone is `TZ` (a zone
//! name, a tzfile's path or a POSIX rule), else /etc/localtime, looked up
//! in the system's zone database (/usr/share/zoneinfo), as the C library,
//! `date` and `journalctl` read them; UTC when neither names a zone. Every
//! step is checked: a time that cannot be held is refused by name, never
//! wrapped or clamped.

use std::sync::OnceLock;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// Why a time given on the command line was refused; each says the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Not in a form the option takes.
    #[error("{text:?} is not a time ({expected})")]
    Malformed {
        /// The text given.
        text: String,
        /// The forms taken.
        expected: &'static str,
    },
    /// A date or time of day the calendar does not have (2026-02-29).
    #[error("{text:?} is not a date: {why}")]
    NoSuchDate {
        /// The text given.
        text: String,
        /// Which part is wrong.
        why: String,
    },
    /// A form the option takes, but earlier or later than can be held.
    #[error("{text:?} is out of range: {range}")]
    OutOfRange {
        /// The text given.
        text: String,
        /// What can be held.
        range: String,
    },
    /// A zone after the time that is neither UTC nor the local zone's name
    /// for that time.
    #[error(
        "{text:?} names the zone {zone}, but the local time zone calls that time {local} \
         (write a local time without a zone, or add UTC; TZ sets the local zone)"
    )]
    Zone {
        /// The text given.
        text: String,
        /// The zone it names.
        zone: String,
        /// What the local zone calls that time.
        local: String,
    },
}

impl Error {
    /// The same refusal, listing `forms` as what is taken (for a caller
    /// that takes more forms than the parser it used).
    pub fn expecting(self, forms: &'static str) -> Error {
        match self {
            Error::Malformed { text, .. } => Error::Malformed {
                text,
                expected: forms,
            },
            other => other,
        }
    }
}

/// The forms [`parse_clock`] takes, as its errors say.
const CLOCK_FORMS: &str = "seconds since the epoch, or YYYY-MM-DD[ HH:MM[:SS]] in local time, \
                           or followed by UTC or the local zone's name then (CET, JST), \
                           or RFC 3339 with an offset";

/// The forms [`parse_offset`] takes, as its errors say.
const OFFSET_FORMS: &str = "seconds, MM:SS, HH:MM:SS[.mmm] or 1h2m3.5s";

/// The first instant a date can name, which is also where milliseconds
/// since the epoch start.
const EPOCH: DateTime = DateTime::constant(1970, 1, 1, 0, 0, 0, 0);

/// The calendar's last millisecond, 9999-12-31 23:59:59.999 UTC, since
/// the epoch.
const LAST_MS: u64 = 253_402_300_799_999;

/// What [`parse_clock`] takes, for out-of-range errors.
const DATES: &str = "dates from 1970-01-01 00:00:00 UTC to 9999-12-31 23:59:59 (the calendar's \
                     last year), or up to 18446744073709551.615 seconds since the epoch";

/// The local time zone, found once: `TZ`, else /etc/localtime; UTC when
/// neither names a zone the system has (as the C library does).
fn local_zone() -> &'static TimeZone {
    static ZONE: OnceLock<TimeZone> = OnceLock::new();
    ZONE.get_or_init(|| TimeZone::try_system().unwrap_or(TimeZone::UTC))
}

/// `YYYY-MM-DD HH:MM:SS ZONE` in the local time zone for milliseconds since
/// the Unix epoch, ZONE being the zone's name then (CET, CEST, UTC, JST);
/// past what the calendar holds (year 9999), seconds since the epoch
/// (`SECS.mmm`). [`parse_clock`] reads either back.
pub fn local(ms: u64) -> String {
    local_in(ms, local_zone())
}

/// [`local`] in zone `tz`.
fn local_in(ms: u64, tz: &TimeZone) -> String {
    let Some(ts) = i64::try_from(ms)
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
    else {
        // The calendar's last hours, which no zone can place (jiff keeps
        // a day's margin for offsets), in UTC; past them, seconds.
        return if ms <= LAST_MS {
            format!("{} UTC", utc(ms))
        } else {
            epoch_seconds(ms)
        };
    };
    let info = tz.to_offset_info(ts);
    format!(
        "{} {}",
        tz.to_datetime(ts).strftime("%Y-%m-%d %H:%M:%S"),
        info.abbreviation()
    )
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) for milliseconds since the Unix epoch;
/// past what the calendar holds, seconds since the epoch (`SECS.mmm`).
pub fn utc(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(|ms| EPOCH.checked_add(SignedDuration::from_millis(ms)).ok())
        .map_or_else(
            || epoch_seconds(ms),
            |dt| dt.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        )
}

/// `SECS.mmm` since the epoch.
fn epoch_seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// `H:MM:SS.mmm` for a duration in milliseconds; [`parse_offset`] reads it
/// back.
pub fn duration(ms: u64) -> String {
    let s = ms / 1000;
    format!(
        "{}:{:02}:{:02}.{:03}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        ms % 1000
    )
}

/// Parses a wall-clock time given on the command line (`--since`,
/// `--until`, a moment given by the clock) into milliseconds since the
/// epoch: seconds since the epoch (`1795706950.5`); a date and time
/// `YYYY-MM-DD[ HH:MM[:SS]]` (also with `T` between them) in the local
/// time zone, or in UTC when followed by ` UTC` or `Z`, or in the local
/// zone when followed by its name for that time (` CEST`, as [`local`]
/// writes it, which tells apart the two 02:30 of a night when clocks go
/// back); or RFC 3339 with an offset (`2026-11-26T15:29:10+09:00`).
///
/// Without a zone's name, a local time that clocks skip is placed after
/// the skip by its length, and one they repeat at its second occurrence, as
/// the C library's `mktime` places them (which termtape used before).
/// termtape writes the zone's name, so what it shows reads back exactly.
/// A second of 60 (a leap second) is the next minute's first.
pub fn parse_clock(s: &str) -> Result<u64, Error> {
    parse_clock_in(s, local_zone())
}

/// [`parse_clock`] with `tz` as the local zone.
fn parse_clock_in(s: &str, tz: &TimeZone) -> Result<u64, Error> {
    let text = s.trim();
    if let Some(ms) = parse_epoch(s, text) {
        return ms;
    }
    match wall_clock(s, text, tz) {
        Err(Error::Malformed { .. }) => match text.parse::<Timestamp>() {
            Ok(ts) => since_epoch(s, ts.as_millisecond()),
            Err(_) => Err(malformed(s, CLOCK_FORMS)),
        },
        other => other,
    }
}

/// Seconds since the epoch: `None` if `text` is not a number at or after
/// 0 (a negative number is no form the options take). Plain
/// decimals are read exactly; other forms Rust reads as a number (`1e9`,
/// `+5`, `.5`) as a float, to the millisecond below.
fn parse_epoch(s: &str, text: &str) -> Option<Result<u64, Error>> {
    let value: f64 = text.parse().ok().filter(|v: &f64| *v >= 0.0)?;
    let out_of_range = || Err(out_of_range(s, DATES));
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let ms = if !int.is_empty() && digits(int) && digits(frac) {
        let Ok(secs) = int.parse::<u64>() else {
            return Some(out_of_range());
        };
        let ms = frac
            .bytes()
            .take(3)
            .zip([100, 10, 1])
            .map(|(d, unit)| u64::from(d - b'0') * unit)
            .sum();
        secs.checked_mul(1000).and_then(|v| v.checked_add(ms))
    } else {
        // 2^64 is exact as a float; any float below it fits.
        let ms = (value * 1000.0).trunc();
        (ms < 18_446_744_073_709_551_616.0).then_some(ms as u64)
    };
    Some(ms.map_or_else(out_of_range, Ok))
}

/// The zone a wall-clock time is in, as written after it.
enum Zone<'a> {
    /// None written: the local zone, a skipped or repeated time placed as
    /// `mktime` places it.
    Local,
    /// ` UTC` or `Z`.
    Utc,
    /// The local zone's name for the time (CET, +09).
    Named(&'a str),
}

/// Splits the zone off the end of `text`.
fn split_zone(text: &str) -> (&str, Zone<'_>) {
    if let Some(t) = text.strip_suffix(" UTC").or_else(|| text.strip_suffix('Z')) {
        return (t, Zone::Utc);
    }
    // A zone's name: letters (CEST), or a sign and digits (+0530).
    let is_zone = |z: &str| {
        let mut bytes = z.bytes();
        match bytes.next() {
            Some(b) if b.is_ascii_alphabetic() => z.bytes().all(|b| b.is_ascii_alphanumeric()),
            Some(b'+' | b'-') => z.len() > 1 && bytes.all(|b| b.is_ascii_digit()),
            _ => false,
        }
    };
    match text.rsplit_once(' ') {
        Some((t, zone)) if !t.is_empty() && is_zone(zone) => (t, Zone::Named(zone)),
        _ => (text, Zone::Local),
    }
}

/// `YYYY-MM-DD[ HH:MM[:SS]][ ZONE]` as milliseconds since the epoch.
fn wall_clock(s: &str, text: &str, tz: &TimeZone) -> Result<u64, Error> {
    let bad = || malformed(s, CLOCK_FORMS);
    let (text, zone) = split_zone(text);
    let (date, time) = text.split_once([' ', 'T']).unwrap_or((text, "00:00:00"));
    let numbers = |part: &str, sep: char| -> Option<Vec<u64>> {
        part.split(sep).map(|n| n.parse().ok()).collect()
    };
    let d = numbers(date, '-')
        .filter(|d| d.len() == 3)
        .ok_or_else(bad)?;
    let t = numbers(time, ':')
        .filter(|t| t.len() == 2 || t.len() == 3)
        .ok_or_else(bad)?;
    // Years of four digits, as date(1) and journalctl take them.
    let year = i16::try_from(d[0])
        .ok()
        .filter(|y| (1..=9999).contains(y))
        .ok_or_else(|| out_of_range(s, DATES))?;
    let field = |value: u64, what: &str| {
        i8::try_from(value).map_err(|_| Error::NoSuchDate {
            text: s.to_owned(),
            why: format!("{what} {value} is out of range"),
        })
    };
    let second = t.get(2).copied().unwrap_or(0);
    // A leap second is the next minute's first (as mktime counts it).
    let leap = i64::from(second == 60);
    let dt = DateTime::new(
        year,
        field(d[1], "month")?,
        field(d[2], "day")?,
        field(t[0], "hour")?,
        field(t[1], "minute")?,
        field(second - leap as u64, "second")?,
        0,
    )
    .map_err(|e| Error::NoSuchDate {
        text: s.to_owned(),
        why: e.to_string(),
    })?;
    let ms = match zone {
        Zone::Utc => i64::try_from(dt.duration_since(EPOCH).as_millis())
            .map_err(|_| out_of_range(s, DATES))?,
        // Later: after a skip, and the second of a repeat, as mktime.
        Zone::Local => tz
            .to_ambiguous_timestamp(dt)
            .later()
            .map_err(|_| out_of_range(s, DATES))?
            .as_millisecond(),
        Zone::Named(name) => named(s, dt, name, tz)?,
    };
    since_epoch(s, ms.checked_add(leap * 1000).unwrap_or(-1))
}

/// The instant of `dt` in the local zone `tz` at which the zone's name is
/// `name`: of the two 02:30 of a night when clocks go back, the CEST one or
/// the CET one.
fn named(s: &str, dt: DateTime, name: &str, tz: &TimeZone) -> Result<i64, Error> {
    let ambiguous = tz.to_ambiguous_timestamp(dt);
    let candidates = [ambiguous.earlier(), ambiguous.later()];
    let mut says = None;
    for ts in candidates.into_iter().flatten() {
        let local = tz.to_offset_info(ts).abbreviation().to_owned();
        if local == name {
            return Ok(ts.as_millisecond());
        }
        says.get_or_insert(local);
    }
    match says {
        Some(local) => Err(Error::Zone {
            text: s.to_owned(),
            zone: name.to_owned(),
            local,
        }),
        None => Err(out_of_range(s, DATES)),
    }
}

/// Milliseconds since the epoch as a time the options take: not before it.
fn since_epoch(s: &str, ms: i64) -> Result<u64, Error> {
    u64::try_from(ms).map_err(|_| out_of_range(s, DATES))
}

/// Parses a moment into a recording, from its start, into milliseconds:
/// seconds (`90`, `90.5`), `MM:SS`, `HH:MM:SS[.mmm]` (hours unbounded;
/// minutes and seconds below a larger unit stay below 60), or with units
/// (`90s`, `1m30s`, `1h 2m 3.5s`, `PT90S`: jiff's forms, hours at most).
/// Digits after the third decimal are dropped.
pub fn parse_offset(s: &str) -> Result<u64, Error> {
    let text = s.trim();
    let bad = || malformed(s, OFFSET_FORMS);
    if text.bytes().any(|b| b.is_ascii_alphabetic()) {
        let span: SignedDuration = text.parse().map_err(|_| bad())?;
        if span.is_negative() {
            return Err(bad());
        }
        return u64::try_from(span.as_millis()).map_err(|_| out_of_range(s, &offset_range()));
    }
    let number = |p: &str| -> Option<u64> {
        (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
    };
    let parts: Vec<&str> = text.split(':').collect();
    let (last, whole) = parts.split_last().ok_or_else(bad)?;
    if whole.len() > 2 {
        return Err(bad());
    }
    let (int, frac) = match last.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (*last, None),
    };
    let too_long = || out_of_range(s, &offset_range());
    // All digits, but too many for a number: too long, not malformed.
    let number_or_long = |p: &str| match number(p) {
        Some(n) => Ok(n),
        None if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => Err(too_long()),
        None => Err(bad()),
    };
    let mut secs = number_or_long(int)?;
    let mut scale = 1u64;
    // Seconds and minutes below a larger unit stay below 60.
    let mut lower = secs;
    for part in whole.iter().rev() {
        let n = number_or_long(part)?;
        if lower >= 60 {
            return Err(bad());
        }
        lower = n;
        scale *= 60;
        secs = n
            .checked_mul(scale)
            .and_then(|v| v.checked_add(secs))
            .ok_or_else(too_long)?;
    }
    let mut ms = 0u64;
    if let Some(frac) = frac {
        number(frac).ok_or_else(bad)?;
        for (d, unit) in frac.bytes().take(3).zip([100, 10, 1]) {
            ms += u64::from(d - b'0') * unit;
        }
    }
    secs.checked_mul(1000)
        .and_then(|v| v.checked_add(ms))
        .ok_or_else(too_long)
}

/// What [`parse_offset`] takes, for out-of-range errors.
fn offset_range() -> String {
    format!("at most {} from the start", duration(u64::MAX))
}

fn malformed(s: &str, expected: &'static str) -> Error {
    Error::Malformed {
        text: s.to_owned(),
        expected,
    }
}

fn out_of_range(s: &str, range: &str) -> Error {
    Error::OutOfRange {
        text: s.to_owned(),
        range: range.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn formats_known_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00");
        // The corpus' a_interactive.log starts at 1795706950.773.
        assert_eq!(utc(1_795_706_950_773), "2026-11-26 15:29:10");
        assert_eq!(duration(3_723_004), "1:02:03.004");
        // The calendar's last second, and past it.
        assert_eq!(utc(253_402_300_799_999), "9999-12-31 23:59:59");
        assert_eq!(utc(253_402_300_800_000), "253402300800.000");
        assert_eq!(utc(u64::MAX), "18446744073709551.615");
        assert_eq!(local_in(0, &TimeZone::UTC), "1970-01-01 00:00:00 UTC");
        assert_eq!(local_in(u64::MAX, &TimeZone::UTC), "18446744073709551.615");
        let tokyo = zone("Asia/Tokyo");
        assert_eq!(local_in(LAST_MS, &tokyo), "9999-12-31 23:59:59 UTC");
        assert_eq!(local_in(LAST_MS + 1, &tokyo), "253402300800.000");
    }

    #[test]
    fn dates_that_do_not_exist_are_refused() {
        for bad in [
            "2026-11-31",
            "2026-02-29",
            "1900-02-29",
            "2026-04-31 UTC",
            "9999999999-01-01 UTC",
            "18446744073709551615-01-01",
            "0-01-01 UTC",
        ] {
            assert!(parse_clock(bad).is_err(), "{bad} accepted");
        }
        for good in [
            "2024-02-29 UTC",
            "2000-02-29 UTC",
            "2026-11-30 23:59:60 UTC",
        ] {
            assert!(parse_clock(good).is_ok(), "{good} refused");
        }
        assert_eq!(parse_clock("1970-01-02 UTC"), Ok(86_400_000));
    }

    #[test]
    fn parses_times() {
        assert_eq!(parse_clock("1795706950.773"), Ok(1_795_706_950_773));
        assert_eq!(
            parse_clock("2026-11-26 15:29:10 UTC"),
            Ok(1_795_706_950_000)
        );
        assert_eq!(parse_clock("2026-11-26T15:29Z"), Ok(1_795_706_940_000));
        assert_eq!(parse_clock("2000-02-29 00:00 UTC"), Ok(951_782_400_000));
        // Local time is the system's; whatever the zone, it is what
        // formatting the result in it gives back.
        let local = parse_clock("2026-11-26 15:29:10").expect("a local time");
        assert_eq!(
            super::local(local)
                .rsplit_once(' ')
                .map(|(t, _)| t.to_owned()),
            Some("2026-11-26 15:29:10".to_owned())
        );
        assert!(parse_clock("yesterday").is_err());
        // A negative number is no form taken (the player's `g` says so).
        assert!(matches!(parse_clock("-5"), Err(Error::Malformed { .. })));
        assert!(parse_clock("2026-13-01").is_err());
    }

    #[test]
    fn out_of_range_is_said_so_not_wrapped() {
        let range = |s: &str| matches!(parse_clock(s), Err(Error::OutOfRange { .. }));
        for s in [
            "9999999999-01-01 UTC",
            "1e300",
            "inf",
            "18446744073709551.616",
            "18446744073709552000",
            "1969-12-31 23:59:59 UTC",
            "1969-12-31T23:59:59Z",
        ] {
            assert!(range(s), "{s}: {:?}", parse_clock(s));
        }
        assert_eq!(parse_clock("18446744073709551.615"), Ok(u64::MAX));
        assert_eq!(
            parse_clock("9999-12-31 23:59:59 UTC"),
            Ok(253_402_300_799_000)
        );
        let err = parse_clock("9999999999-01-01 UTC").expect_err("out of range");
        assert!(
            err.to_string().contains("\"9999999999-01-01 UTC\""),
            "{err}"
        );
        let offset = |s: &str| matches!(parse_offset(s), Err(Error::OutOfRange { .. }));
        for s in [
            "18446744073709551616",
            "99999999999999999999:00",
            "5124095576030:25:51.616",
            "9223372036854775807s",
        ] {
            assert!(offset(s), "{s}: {:?}", parse_offset(s));
        }
        assert_eq!(parse_offset("5124095576030:25:51.615"), Ok(u64::MAX));
    }

    #[test]
    fn reads_offsets_with_units_and_rfc_3339() {
        assert_eq!(parse_offset("90s"), Ok(90_000));
        assert_eq!(parse_offset("1m30s"), Ok(90_000));
        assert_eq!(parse_offset("1h 2m 3.5s"), Ok(3_723_500));
        assert_eq!(parse_offset("PT90S"), Ok(90_000));
        for bad in ["1 day", "-1s", "1s ago", "1e3", "x"] {
            assert!(parse_offset(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_clock("2026-11-27T00:29:10+09:00"),
            Ok(1_795_706_950_000)
        );
        assert_eq!(
            parse_clock("2026-11-26T15:29:10.773Z"),
            Ok(1_795_706_950_773)
        );
    }

    /// A zone that changes its clocks, from the system's database.
    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).expect("tzdata is missing (scripts/setup installs it)")
    }

    #[test]
    fn the_local_zone_s_name_tells_a_repeated_hour_apart() {
        let berlin = zone("Europe/Berlin");
        // 2026-10-25: 03:00 CEST goes back to 02:00 CET.
        let cest = parse_clock_in("2026-10-25 02:30:00 CEST", &berlin).expect("CEST");
        let cet = parse_clock_in("2026-10-25 02:30:00 CET", &berlin).expect("CET");
        assert_eq!(cet - cest, 3_600_000);
        // Unnamed: the second, as glibc's mktime placed it.
        assert_eq!(parse_clock_in("2026-10-25 02:30", &berlin), Ok(cet));
        assert_eq!(local_in(cet, &berlin), "2026-10-25 02:30:00 CET");
        // A skipped time moves on by the skip.
        assert_eq!(
            local_in(
                parse_clock_in("2026-03-29 02:30", &berlin).expect("gap"),
                &berlin
            ),
            "2026-03-29 03:30:00 CEST"
        );
        let err = parse_clock_in("2026-07-01 12:00 JST", &berlin).expect_err("not Berlin's");
        assert!(
            matches!(&err, Error::Zone { local, .. } if local == "CEST"),
            "{err}"
        );
        assert_eq!(
            parse_clock_in("2026-07-01 12:00 UTC", &berlin),
            parse_clock_in("2026-07-01 12:00 UTC", &TimeZone::UTC)
        );
    }

    /// The zones the round trip runs in: none, one without daylight saving,
    /// two with (one by half an hour), one with numeric names (-03).
    const ZONES: &[&str] = &[
        "UTC",
        "Asia/Tokyo",
        "Europe/Berlin",
        "Australia/Lord_Howe",
        "America/Sao_Paulo",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        /// Any text: an answer, never a panic.
        #[test]
        fn any_text_is_parsed_or_refused(s in any::<String>(), tz in prop::sample::select(ZONES)) {
            let _ = parse_clock_in(&s, &zone(tz));
            let _ = parse_offset(&s);
        }

        /// Text made of the characters the forms use: an answer, never a
        /// panic; an error says the text.
        #[test]
        fn near_miss_text_is_parsed_or_refused(s in "[0-9 :.TZUCESTJhms+-]{0,30}") {
            for result in [parse_clock(&s), parse_offset(&s)] {
                if let Err(e) = result {
                    prop_assert!(e.to_string().contains(&format!("{s:?}")), "{}", e);
                }
            }
        }

        /// What the listings print reads back as the same value: local
        /// time to the second (in zones with and without daylight saving),
        /// UTC, seconds since the epoch, and durations to the millisecond.
        #[test]
        fn formatted_times_read_back(
            ms in 0u64..=LAST_MS,
            huge in any::<u64>(),
            tz in prop::sample::select(ZONES),
        ) {
            let tz = zone(tz);
            let second = ms / 1000 * 1000;
            // Before 1980 some zones' names were the same on both sides of
            // a change; every one here tells them apart since.
            if second >= 315_532_800_000 {
                prop_assert_eq!(parse_clock_in(&local_in(second, &tz), &tz), Ok(second));
            }
            prop_assert_eq!(parse_clock_in(&format!("{} UTC", utc(second)), &tz), Ok(second));
            prop_assert_eq!(parse_clock_in(&epoch_seconds(huge), &tz), Ok(huge));
            // In any zone and at any time, even where a zone's name was
            // the same on both sides of a change: printed, read, printed
            // again is the same text.
            for t in [ms, huge] {
                let shown = local_in(t, &tz);
                prop_assert_eq!(parse_clock_in(&shown, &tz).map(|t| local_in(t, &tz)), Ok(shown));
            }
            prop_assert_eq!(parse_offset(&duration(huge)), Ok(huge));
            prop_assert_eq!(parse_offset(&duration(ms)), Ok(ms));
        }
    }
}
