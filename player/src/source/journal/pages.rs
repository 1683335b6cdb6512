//! Letting go of the journal file pages libsystemd has mapped, while the
//! journal stays open.
//!
//! libsystemd reads journal files through `mmap` windows of 8 MiB that it
//! keeps mapped (up to 64 of them) until the journal is closed, and every
//! page it touches counts in the process's RSS; the kernel maps the cached
//! pages around each one touched as well (fault-around, 64 KiB). A walk
//! over the journal's index of recording ids touches one small object in
//! every few pages of the files, so by its end the whole journal (hundreds
//! of megabytes on a central host) counts as resident, though hardly any
//! of it is used again. `MADV_DONTNEED` on those shared, read-only file
//! mappings drops the process's page-table entries and nothing else: the
//! pages stay in the page cache, the mappings stay valid, and a page
//! touched again is mapped again from the cache.

use std::io;

/// Drops the page-table entries of the journal files mapped in this
/// process (`*.journal`, `*.journal~`, shared and read-only). Done only
/// while the process has one thread: then no other code can unmap such a
/// range and map something else there between reading `/proc/self/maps`
/// and the `madvise` (dropping an anonymous mapping's pages would lose
/// them). Returns whether it was done; it is only ever a saving, so what
/// keeps it from being done (no /proc) is no error to the caller.
pub(super) fn release() -> bool {
    release_mapped().unwrap_or(false)
}

fn release_mapped() -> io::Result<bool> {
    if !single_threaded()? {
        return Ok(false);
    }
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    for (start, end) in maps.lines().filter_map(journal_mapping) {
        // SAFETY: the range is a whole shared, read-only mapping of a
        // journal file (checked just above, with no other thread running):
        // MADV_DONTNEED only unmaps its pages from this process's page
        // tables; its contents are the file's, read again on next access.
        let r =
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(true)
}

/// Whether this process runs one thread only.
fn single_threaded() -> io::Result<bool> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    Ok(status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .is_some_and(|n| n.trim() == "1"))
}

/// The address range of a `/proc/self/maps` line that maps a journal file
/// shared and read-only.
fn journal_mapping(line: &str) -> Option<(usize, usize)> {
    let mut parts = line.split_ascii_whitespace();
    let range = parts.next()?;
    let perms = parts.next()?;
    // offset, device, inode, then the path (which may hold spaces).
    let path = parts.nth(3)?;
    let path_at = line.find(path)?;
    let path = &line[path_at..];
    if perms != "r--s" || !(path.ends_with(".journal") || path.ends_with(".journal~")) {
        return None;
    }
    let (start, end) = range.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    (start < end).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_shared_read_only_journal_mappings_are_picked() {
        let line = |perms: &str, path: &str| {
            format!("7f0000000000-7f0000800000 {perms} 00800000 fe:00 1234   {path}")
        };
        let range = Some((0x7f00_0000_0000, 0x7f00_0080_0000));
        assert_eq!(
            journal_mapping(&line("r--s", "/var/log/journal/x/system.journal")),
            range
        );
        assert_eq!(
            journal_mapping(&line("r--s", "/srv/remote journals/r@1.journal~")),
            range
        );
        for (perms, path) in [
            ("rw-s", "/run/log/journal/x/system.journal"),
            ("r--p", "/run/log/journal/x/system.journal"),
            ("r--s", "/usr/lib/libsystemd.so.0"),
            ("r--s", "/tmp/a.journal (deleted)"),
        ] {
            assert_eq!(journal_mapping(&line(perms, path)), None, "{perms} {path}");
        }
        assert_eq!(journal_mapping("7f00-7f01 rw-p 00000000 00:00 0"), None);
    }

    #[test]
    fn released_pages_read_back_the_same() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.journal");
        let bytes: Vec<u8> = (0..64 * 4096u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).expect("write");
        let file = std::fs::File::open(&path).expect("open");
        let len = bytes.len();
        // SAFETY: a fresh shared, read-only mapping of a file of `len`
        // bytes, unmapped below; the slice is not used after that.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                std::os::fd::AsRawFd::as_raw_fd(&file),
                0,
            )
        };
        assert_ne!(map, libc::MAP_FAILED);
        // SAFETY: `map` is `len` readable bytes until the munmap below.
        let seen = unsafe { std::slice::from_raw_parts(map.cast::<u8>(), len) };
        assert_eq!(seen, bytes.as_slice());
        // The test harness runs threads: the release is refused then, and
        // nothing changes.
        assert_eq!(release(), single_threaded().expect("status"));
        assert_eq!(seen, bytes.as_slice());
        // SAFETY: the mapping made above, no longer used.
        assert_eq!(unsafe { libc::munmap(map, len) }, 0);
    }
}
