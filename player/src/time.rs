//! Formatting of wall-clock times and durations for listings.

use crate::zone;

/// `YYYY-MM-DD HH:MM:SS ZONE` in the local time zone (the C library's: `TZ`,
/// else `/etc/localtime`) for milliseconds since the Unix epoch; UTC if the
/// C library cannot say.
pub fn local(ms: u64) -> String {
    match i64::try_from(ms / 1000).ok().and_then(zone::local) {
        Some(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {}",
            t.year, t.month, t.day, t.hour, t.minute, t.second, t.zone
        ),
        None => format!("{} UTC", utc(ms)),
    }
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) for milliseconds since the Unix epoch.
pub fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// `H:MM:SS.mmm` for a duration in milliseconds.
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

/// The proleptic Gregorian date of a day number counted from 1970-01-01,
/// by the era/day-of-era method (400-year eras of 146097 days).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // March = 0
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00");
        // The corpus' a_interactive.log starts at 1795706950.773.
        assert_eq!(utc(1_795_706_950_773), "2026-11-26 15:29:10");
        assert_eq!(duration(3_723_004), "1:02:03.004");
    }
}
