//! The local time zone, as the C library knows it (`TZ`, else
//! `/etc/localtime`): wall-clock times are shown and read in it, as `date`,
//! `ls -l` and `journalctl` do, so that "what was on the screen at 14:32"
//! means 14:32 where the question is asked.
#![allow(unsafe_code, reason = "localtime_r and mktime are C library calls")]

use std::ffi::CStr;

/// A wall-clock time in the local zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Local {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
    /// The zone's abbreviation then (CET, CEST, UTC, JST …).
    pub(crate) zone: String,
}

/// `secs` since the epoch as a local wall-clock time; `None` if the C
/// library cannot represent it.
pub(crate) fn local(secs: i64) -> Option<Local> {
    let t: libc::time_t = secs;
    // SAFETY: `tm` is plain data, for which all zeroes is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; localtime_r is the
    // reentrant form and writes only `tm`.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return None;
    }
    let zone = if tm.tm_zone.is_null() {
        String::new()
    } else {
        // SAFETY: glibc points tm_zone at a NUL-terminated abbreviation in
        // its static zone data, which lives as long as the process.
        unsafe { CStr::from_ptr(tm.tm_zone) }
            .to_string_lossy()
            .into_owned()
    };
    Some(Local {
        year: i64::from(tm.tm_year) + 1900,
        month: u32::try_from(tm.tm_mon + 1).ok()?,
        day: u32::try_from(tm.tm_mday).ok()?,
        hour: u32::try_from(tm.tm_hour).ok()?,
        minute: u32::try_from(tm.tm_min).ok()?,
        second: u32::try_from(tm.tm_sec).ok()?,
        zone,
    })
}

/// Seconds since the epoch of a local wall-clock time (a time that a
/// daylight-saving change skips or repeats is placed as the C library
/// places it); `None` if it cannot be represented.
pub(crate) fn from_local(year: i64, month: u32, day: u32, h: u32, m: u32, s: u32) -> Option<i64> {
    // SAFETY: as in `local`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_year = i32::try_from(year - 1900).ok()?;
    tm.tm_mon = i32::try_from(month).ok()? - 1;
    tm.tm_mday = i32::try_from(day).ok()?;
    tm.tm_hour = i32::try_from(h).ok()?;
    tm.tm_min = i32::try_from(m).ok()?;
    tm.tm_sec = i32::try_from(s).ok()?;
    // Whether daylight-saving time applies: the C library works it out.
    tm.tm_isdst = -1;
    // SAFETY: `tm` is valid and only read and normalised by mktime.
    let t = unsafe { libc::mktime(&mut tm) };
    // -1 is also 1969-12-31 23:59:59 UTC, before any recording.
    (t != -1).then_some(t)
}
