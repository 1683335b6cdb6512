//! The distinct values of a journal field, through
//! `sd_journal_query_unique`, which the `systemd` crate does not wrap: the
//! journal's own per-field index, so no entry is read.

use std::ffi::CString;
use std::io;

use foreign_types::ForeignTypeRef;
use libsystemd_sys::journal::{sd_journal_enumerate_unique, sd_journal_query_unique};
use systemd::journal::Journal;

/// Calls `each` with every distinct `FIELD=value` datum of `field` in the
/// journal (as stored: cut at the journal's data threshold). Matches do
/// not apply (libsystemd ignores them here).
pub(super) fn values(
    journal: &mut Journal,
    field: &str,
    mut each: impl FnMut(&[u8]),
) -> io::Result<()> {
    let name = CString::new(field).map_err(io::Error::other)?;
    let j = journal.as_ptr();
    // SAFETY: `j` is the open journal `journal` owns, borrowed mutably for
    // the whole call; `name` is a NUL-terminated string that outlives it.
    let r = unsafe { sd_journal_query_unique(j, name.as_ptr()) };
    if r < 0 {
        return Err(io::Error::from_raw_os_error(-r));
    }
    loop {
        let mut data: *const libc::c_void = std::ptr::null();
        let mut len: libc::size_t = 0;
        // SAFETY: as above; `data` and `len` are valid places for the
        // datum's address and length.
        let r = unsafe { sd_journal_enumerate_unique(j, &mut data, &mut len) };
        if r < 0 {
            return Err(io::Error::from_raw_os_error(-r));
        }
        if r == 0 || data.is_null() {
            return Ok(());
        }
        // SAFETY: libsystemd gives `len` readable bytes at `data`, valid
        // until the next call on the journal, which `journal`'s borrow
        // keeps from happening while `datum` lives.
        let datum = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) };
        each(datum);
    }
}
