//! Reading every entry of a directory of journal files directly, without
//! libsystemd, for a reading of a whole central journal (`search`, `cat`,
//! `export` of `journal:DIR`).
//!
//! libsystemd decompresses each compressed field with a new zstd context,
//! and making one asks the CPU what it supports (`cpuid`), which in a
//! virtual machine traps to the hypervisor: on this project's test machine
//! that was a third of a search's time over a journal. This reader keeps
//! one context. It reads the files as systemd's journal file format
//! documents them (systemd.io/JOURNAL_FILE_FORMAT), through `pread` into a
//! few cached windows (a file that shrinks under an `mmap` would kill the
//! reader with SIGBUS), and gives the entries of every file in the order
//! libsystemd gives them.
//!
//! It is used only where it reads what libsystemd would: a directory
//! whose files all open, carry the right signature and use no compression
//! but zstd, read from the start or a time, without matches by field
//! (those libsystemd answers from its indexes, without reading every
//! entry). Anything else goes through libsystemd. Entries appended after
//! the reader opened a file are not read, as a reading that does not
//! follow stops at the end of what was there.
//!
//! A file found damaged while reading (an offset out of the file, an
//! object of the wrong type) is read up to the damage and then left, with
//! a warning naming it and the offset; a field that cannot be read is left
//! out of its entry with a warning. libsystemd leaves such a file silently,
//! and a file cut short (a copy that did not finish) it leaves out whole;
//! here what was recorded before the cut is still read.

use std::cmp::Ordering;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::notice;

/// The journal file signature.
const SIGNATURE: &[u8; 8] = b"LPKSHHRH";

/// Incompatible header flags: compressed with xz, lz4 or zstd, keyed
/// hashes, compact (32-bit) offsets.
const INCOMPATIBLE_XZ: u32 = 1 << 0;
const INCOMPATIBLE_LZ4: u32 = 1 << 1;
const INCOMPATIBLE_KEYED_HASH: u32 = 1 << 2;
const INCOMPATIBLE_ZSTD: u32 = 1 << 3;
const INCOMPATIBLE_COMPACT: u32 = 1 << 4;
/// What this reader reads: no xz or lz4, and nothing newer than it knows.
const INCOMPATIBLE_READ: u32 = INCOMPATIBLE_KEYED_HASH | INCOMPATIBLE_ZSTD | INCOMPATIBLE_COMPACT;

/// Object types and flags.
const OBJECT_DATA: u8 = 1;
const OBJECT_ENTRY: u8 = 3;
const OBJECT_ENTRY_ARRAY: u8 = 6;
const COMPRESSED_ZSTD: u8 = 1 << 2;
const COMPRESSED_ANY: u8 = 0b111;

/// The header's fields this reader needs end with `entry_array_offset`,
/// and every journal file's header has them.
const HEADER_MIN: u64 = 184;
/// An object header: type, flags, reserved, size.
const OBJECT_HEADER: u64 = 16;
/// Where an entry's items start, after seqnum, realtime, monotonic, boot
/// id and xor hash.
const ENTRY_ITEMS: u64 = 64;
/// Where an entry array's items start, after the next array's offset.
const ARRAY_ITEMS: u64 = 24;

/// How many windows (bytes read from a file at once) a file keeps: data
/// objects shared by many entries (`_HOSTNAME`, `TLOG_REC`) lie behind the
/// entries that use them. A window is 1 MiB, or less when there are so many
/// files that their windows together would pass [`WINDOWS_BUDGET`] (a
/// central directory holds a file or more per host, all read at once).
const WINDOWS: usize = 8;
const MAX_WINDOW: u64 = 1 << 20;
const MIN_WINDOW: u64 = 16 << 10;
const WINDOWS_BUDGET: u64 = 64 << 20;

/// The largest field value read: as large as libsystemd reads (768 MiB)
/// would let one forged field take that much memory; no recorder writes a
/// field near this.
const MAX_FIELD: u64 = 64 << 20;
/// The largest data object (a field compresses to at most a little more
/// than itself) and entry object (a million fields) read.
const MAX_DATA: u64 = MAX_FIELD + (1 << 20);
const MAX_ENTRY: u64 = 16 << 20;
/// The most of an entry's field values read: an entry can name one
/// compressed field of [`MAX_FIELD`] bytes many times over.
const MAX_ENTRY_VALUES: u64 = 256 << 20;
/// A buffer grown past this for one large object is let go after it.
const KEEP_BUFFER: usize = 1 << 20;

/// The entries of a directory's journal files, in libsystemd's order.
pub(super) struct JournalFiles {
    files: Vec<File>,
    /// The entry given last: its file and head.
    current: Option<(usize, EntryHead)>,
    zstd: zstd::bulk::Decompressor<'static>,
    /// A decompressed field.
    value: Vec<u8>,
    /// The current entry's data object offsets.
    items: Vec<u64>,
    /// Fields left out for damage, for a warning the first time.
    bad_fields: u64,
}

/// The fixed part of an entry: what orders it among entries of other
/// files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EntryHead {
    offset: u64,
    seqnum: u64,
    realtime: u64,
    monotonic: u64,
    boot_id: [u8; 16],
    xor_hash: u64,
}

/// One journal file being read.
struct File {
    path: PathBuf,
    file: fs::File,
    /// Where the file's objects end (header and arena), as its header
    /// said on opening.
    end: u64,
    header_size: u64,
    compact: bool,
    seqnum_id: [u8; 16],
    /// Entries the header counted on opening, and those given so far.
    n_entries: u64,
    given: u64,
    /// The entry array being read, its item count, and the next item.
    array: u64,
    array_items: u64,
    array_at: u64,
    /// The entry at the cursor; `None` past the last or after damage.
    head: Option<EntryHead>,
    windows: Vec<Window>,
    /// The size of a window.
    window: u64,
    /// A read too large for a window.
    large: Vec<u8>,
    uses: u64,
}

struct Window {
    start: u64,
    bytes: Vec<u8>,
    used: u64,
}

/// Damage found in a file: what, at which offset.
#[derive(Debug)]
struct Damage {
    offset: u64,
    what: String,
}

fn damage(offset: u64, what: impl Into<String>) -> Damage {
    Damage {
        offset,
        what: what.into(),
    }
}

fn le64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"))
}

fn le32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

fn id128(bytes: &[u8], at: usize) -> [u8; 16] {
    bytes[at..at + 16].try_into().expect("sixteen bytes")
}

/// Whether libsystemd reads a directory entry of this name as a journal
/// file.
fn is_journal_name(name: &str) -> bool {
    name.ends_with(".journal") || name.ends_with(".journal~")
}

/// Whether a subdirectory is a machine's, which libsystemd reads too: a
/// 128-bit id, as 32 hex digits or in the UUID form (not one with a
/// journal namespace's suffix, which libsystemd leaves out too).
fn is_machine_dir(name: &str) -> bool {
    let dashes = [8, 13, 18, 23];
    match name.len() {
        32 => name.bytes().all(|b| b.is_ascii_hexdigit()),
        36 => name
            .bytes()
            .enumerate()
            .all(|(i, b)| match dashes.contains(&i) {
                true => b == b'-',
                false => b.is_ascii_hexdigit(),
            }),
        _ => false,
    }
}

/// The journal files libsystemd would read in `dir`: those in it, and
/// those in its machine-id subdirectories.
fn journal_paths(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = entry.path();
        let meta = fs::metadata(&path)?;
        if meta.is_file() && is_journal_name(name) {
            paths.push(path);
        } else if meta.is_dir() && is_machine_dir(name) {
            for sub in fs::read_dir(&path)? {
                let sub = sub?;
                let sub_path = sub.path();
                if sub.file_name().to_str().is_some_and(is_journal_name)
                    && fs::metadata(&sub_path)?.is_file()
                {
                    paths.push(sub_path);
                }
            }
        }
    }
    // Files read in a stable order; entries are ordered by their own
    // fields, so this only decides between identical entries.
    paths.sort();
    Ok(paths)
}

impl JournalFiles {
    /// The journal files in `dir`, positioned before their first entry at
    /// or after `since_usec`; `None` if one of them is not for this reader
    /// (it cannot be opened, is not a journal file, or is compressed with
    /// xz or lz4), so that libsystemd reads the directory.
    pub(super) fn open(dir: &Path, since_usec: Option<u64>) -> io::Result<Option<JournalFiles>> {
        let paths = journal_paths(dir)?;
        let window = window_for(paths.len());
        JournalFiles::open_files(paths, since_usec, window)
    }

    /// As [`JournalFiles::open`], the files `paths`, with windows of
    /// `window` bytes.
    fn open_files(
        paths: Vec<PathBuf>,
        since_usec: Option<u64>,
        window: u64,
    ) -> io::Result<Option<JournalFiles>> {
        let mut files = Vec::new();
        for path in paths {
            match File::open(path, window)? {
                Some(file) => files.push(file),
                None => return Ok(None),
            }
        }
        let mut reader = JournalFiles {
            files,
            current: None,
            zstd: zstd::bulk::Decompressor::new()?,
            value: Vec::new(),
            items: Vec::new(),
            bad_fields: 0,
        };
        for file in &mut reader.files {
            file.advance();
            if let Some(since) = since_usec {
                while file.head.is_some_and(|h| h.realtime < since) {
                    file.advance();
                }
            }
        }
        Ok(Some(reader))
    }

    /// Moves to the next entry; false past the last.
    pub(super) fn next(&mut self) -> bool {
        // As libsystemd does: every file moves past the entry given last
        // (and past entries it orders before that), then the first of the
        // files' entries is given.
        if let Some((at, last)) = self.current {
            let last_id = self.files[at].seqnum_id;
            for (i, file) in self.files.iter_mut().enumerate() {
                while let Some(head) = file.head {
                    let same = i == at && head.offset == last.offset;
                    if !same
                        && order((&file.seqnum_id, &head), (&last_id, &last)) == Ordering::Greater
                    {
                        break;
                    }
                    file.advance();
                }
            }
        }
        let mut first: Option<usize> = None;
        for (i, file) in self.files.iter().enumerate() {
            let Some(head) = file.head else { continue };
            let earlier = first.is_none_or(|f| {
                let other = &self.files[f];
                let other_head = other.head.expect("a file with an entry");
                order((&file.seqnum_id, &head), (&other.seqnum_id, &other_head)) == Ordering::Less
            });
            if earlier {
                first = Some(i);
            }
        }
        self.current = first.map(|i| (i, self.files[i].head.expect("chosen for its entry")));
        self.current.is_some()
    }

    /// When journald received the current entry, µs since the epoch.
    pub(super) fn realtime(&self) -> u64 {
        self.current.map_or(0, |(_, head)| head.realtime)
    }

    /// Gives `each` the name and value of every field of the current entry,
    /// in the order they are stored (libsystemd's order).
    pub(super) fn fields(&mut self, mut each: impl FnMut(&[u8], &[u8])) {
        let Some((at, head)) = self.current else {
            return;
        };
        let file = &mut self.files[at];
        if let Err(d) = file.entry_items(head.offset, &mut self.items) {
            bad_field(&mut self.bad_fields, &file.path, &d);
            return;
        }
        let mut taken = 0;
        for &offset in &self.items {
            if taken > MAX_ENTRY_VALUES {
                let d = damage(head.offset, "an entry of more than 256 MiB of fields");
                bad_field(&mut self.bad_fields, &file.path, &d);
                break;
            }
            let payload = match file.field(offset, &mut self.zstd, &mut self.value) {
                Ok(Some(payload)) => payload,
                // Compressed: decompressed into `value`.
                Ok(None) => &self.value[..],
                Err(d) => {
                    bad_field(&mut self.bad_fields, &file.path, &d);
                    continue;
                }
            };
            taken += payload.len() as u64;
            if let Some(eq) = payload.iter().position(|&b| b == b'=') {
                each(&payload[..eq], &payload[eq + 1..]);
            }
        }
        file.shrink();
        if self.value.capacity() > KEEP_BUFFER {
            self.value = Vec::new();
        }
    }
}

/// The size of a window when `files` files are read together: a power of
/// two, so that windows never straddle one another.
fn window_for(files: usize) -> u64 {
    let share = WINDOWS_BUDGET / (WINDOWS as u64 * files.max(1) as u64);
    let window = share.clamp(MIN_WINDOW, MAX_WINDOW);
    1 << (63 - window.leading_zeros())
}

/// Warns of a field left out, the first time.
fn bad_field(count: &mut u64, path: &Path, d: &Damage) {
    *count += 1;
    if *count == 1 {
        notice(&format!(
            "journal file {}: damaged at offset {}: {}; that field is left out of its entry",
            path.display(),
            d.offset,
            d.what
        ));
    }
}

/// libsystemd's order of two entries of files whose sequence number ids
/// are given: by sequence number from the same writer, else by monotonic
/// time in the same boot, else by wall time, and last by content hash.
fn order(a: (&[u8; 16], &EntryHead), b: (&[u8; 16], &EntryHead)) -> Ordering {
    let ((a_id, a), (b_id, b)) = (a, b);
    if a_id == b_id {
        match a.seqnum.cmp(&b.seqnum) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    if a.boot_id == b.boot_id {
        match a.monotonic.cmp(&b.monotonic) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    a.realtime
        .cmp(&b.realtime)
        .then(a.xor_hash.cmp(&b.xor_hash))
}

impl File {
    /// Opens a journal file; `None` if this reader does not read it.
    fn open(path: PathBuf, window: u64) -> io::Result<Option<File>> {
        let Ok(file) = fs::File::open(&path) else {
            return Ok(None);
        };
        let len = file.metadata()?.len();
        let mut header = [0u8; HEADER_MIN as usize];
        if len < HEADER_MIN || file.read_exact_at(&mut header, 0).is_err() {
            return Ok(None);
        }
        let incompatible = le32(&header, 12);
        let header_size = le64(&header, 88);
        let arena_size = le64(&header, 96);
        if &header[..8] != SIGNATURE
            || incompatible & !INCOMPATIBLE_READ != 0
            || incompatible & (INCOMPATIBLE_XZ | INCOMPATIBLE_LZ4) != 0
            || header_size < HEADER_MIN
        {
            return Ok(None);
        }
        Ok(Some(File {
            path,
            file,
            end: header_size.saturating_add(arena_size).min(len),
            header_size,
            compact: incompatible & INCOMPATIBLE_COMPACT != 0,
            seqnum_id: id128(&header, 72),
            n_entries: le64(&header, 152),
            given: 0,
            array: le64(&header, 176),
            array_items: 0,
            array_at: 0,
            head: None,
            windows: Vec::new(),
            window,
            large: Vec::new(),
            uses: 0,
        }))
    }

    /// Moves the cursor to the file's next entry: `head` is `None` past
    /// the last, or after damage (warned of).
    fn advance(&mut self) {
        self.head = match self.next_entry() {
            Ok(head) => head,
            Err(d) => {
                notice(&format!(
                    "journal file {}: damaged at offset {}: {}; read up to there",
                    self.path.display(),
                    d.offset,
                    d.what
                ));
                None
            }
        };
        if self.head.is_none() {
            // Nothing more from this file, damaged or not.
            self.n_entries = self.given;
        }
    }

    fn next_entry(&mut self) -> Result<Option<EntryHead>, Damage> {
        if self.given >= self.n_entries {
            return Ok(None);
        }
        let item = if self.compact { 4 } else { 8 };
        loop {
            if self.array == 0 {
                return Ok(None);
            }
            if self.array_items == 0 {
                // Read an item at a time: an array can hold millions.
                let size =
                    self.object_size(self.array, OBJECT_ENTRY_ARRAY, ARRAY_ITEMS, u64::MAX)?;
                self.array_items = (size - ARRAY_ITEMS) / item;
                self.array_at = 0;
            }
            if self.array_at < self.array_items {
                let at = self.array + ARRAY_ITEMS + self.array_at * item;
                let bytes = self.bytes(at, item)?;
                let offset = match item {
                    4 => u64::from(le32(bytes, 0)),
                    _ => le64(bytes, 0),
                };
                self.array_at += 1;
                // Items past the last entry are zero.
                if offset == 0 {
                    return Ok(None);
                }
                self.given += 1;
                return self.entry_head(offset).map(Some);
            }
            let next = le64(self.bytes(self.array + OBJECT_HEADER, 8)?, 0);
            if next != 0 && next <= self.array {
                return Err(damage(self.array, "an entry array links back"));
            }
            self.array = next;
            self.array_items = 0;
        }
    }

    fn entry_head(&mut self, offset: u64) -> Result<EntryHead, Damage> {
        self.object_size(offset, OBJECT_ENTRY, ENTRY_ITEMS, MAX_ENTRY)?;
        let object = self.bytes(offset, ENTRY_ITEMS)?;
        Ok(EntryHead {
            offset,
            seqnum: le64(object, 16),
            realtime: le64(object, 24),
            monotonic: le64(object, 32),
            boot_id: id128(object, 40),
            xor_hash: le64(object, 56),
        })
    }

    /// The data object offsets of the entry at `offset`, into `items`.
    fn entry_items(&mut self, offset: u64, items: &mut Vec<u64>) -> Result<(), Damage> {
        let compact = self.compact;
        let size = self.object_size(offset, OBJECT_ENTRY, ENTRY_ITEMS, MAX_ENTRY)?;
        let object = self.bytes(offset, size)?;
        items.clear();
        let item = if compact { 4 } else { 16 };
        for bytes in object[ENTRY_ITEMS as usize..].chunks_exact(item) {
            items.push(match compact {
                true => u64::from(le32(bytes, 0)),
                false => le64(bytes, 0),
            });
        }
        Ok(())
    }

    /// The payload (`NAME=value`) of the data object at `offset`; `None`
    /// when it was compressed and is now in `value`.
    fn field<'a>(
        &'a mut self,
        offset: u64,
        zstd: &mut zstd::bulk::Decompressor<'static>,
        value: &mut Vec<u8>,
    ) -> Result<Option<&'a [u8]>, Damage> {
        let payload_at = if self.compact { 72 } else { 64 };
        let size = self.object_size(offset, OBJECT_DATA, payload_at, MAX_DATA)?;
        let object = self.bytes(offset, size)?;
        let flags = object[1];
        let payload = &object[payload_at as usize..];
        if flags & COMPRESSED_ANY == 0 {
            return Ok(Some(payload));
        }
        if flags & COMPRESSED_ANY != COMPRESSED_ZSTD {
            return Err(damage(offset, "a field compressed other than with zstd"));
        }
        let too_large = |size: u64| {
            damage(
                offset,
                format!("a field of {size} bytes or more, more than this reader takes"),
            )
        };
        value.clear();
        let size = match zstd::zstd_safe::get_frame_content_size(payload) {
            Ok(Some(size)) if size <= MAX_FIELD => size,
            Ok(Some(size)) => return Err(too_large(size)),
            Ok(None) => {
                // journald writes the size; another writer may not: the
                // field is decompressed as a stream, up to the bound.
                let decoder = zstd::stream::read::Decoder::with_buffer(payload)
                    .map_err(|e| damage(offset, format!("a compressed field that is not: {e}")))?;
                decoder
                    .take(MAX_FIELD + 1)
                    .read_to_end(value)
                    .map_err(|e| damage(offset, format!("a compressed field that is not: {e}")))?;
                return match value.len() as u64 > MAX_FIELD {
                    true => Err(too_large(MAX_FIELD + 1)),
                    false => Ok(None),
                };
            }
            Err(_) => return Err(damage(offset, "a compressed field that is not")),
        };
        value.reserve(size as usize);
        match zstd.decompress_to_buffer(payload, value) {
            Ok(n) if n as u64 == size => Ok(None),
            Ok(_) => Err(damage(
                offset,
                "a compressed field of another size than it says",
            )),
            Err(e) => Err(damage(
                offset,
                format!("a compressed field that is not: {e}"),
            )),
        }
    }

    /// The size of the object at `offset`, checked to be of type `kind`,
    /// of at least `min` and at most `max` bytes, and within the file.
    fn object_size(&mut self, offset: u64, kind: u8, min: u64, max: u64) -> Result<u64, Damage> {
        if !offset.is_multiple_of(8) || offset < self.header_size {
            return Err(damage(offset, "an object offset out of place"));
        }
        let header = self.bytes(offset, OBJECT_HEADER)?;
        let (found, size) = (header[0], le64(header, 8));
        if found != kind {
            return Err(damage(
                offset,
                format!("an object of type {found} where type {kind} belongs"),
            ));
        }
        if size < min {
            return Err(damage(
                offset,
                format!("an object of {size} bytes, too short"),
            ));
        }
        if size > max || offset.checked_add(size).is_none_or(|past| past > self.end) {
            return Err(damage(
                offset,
                format!("an object of {size} bytes, more than there is or this reader takes"),
            ));
        }
        Ok(size)
    }

    /// Lets go of a buffer grown for one large object.
    fn shrink(&mut self) {
        if self.large.capacity() > KEEP_BUFFER {
            self.large = Vec::new();
        }
    }

    /// `len` bytes of the file at `offset`, all within its objects.
    fn bytes(&mut self, offset: u64, len: u64) -> Result<&[u8], Damage> {
        let past = offset
            .checked_add(len)
            .filter(|&past| past <= self.end)
            .ok_or_else(|| damage(offset, format!("{len} bytes past the end of the file")))?;
        self.uses += 1;
        let start = offset - offset % self.window;
        if past > start + self.window {
            // Larger than what is left of a window: read on its own.
            self.large.resize(len as usize, 0);
            self.file
                .read_exact_at(&mut self.large, offset)
                .map_err(|e| damage(offset, format!("cannot be read: {e}")))?;
            return Ok(&self.large);
        }
        let i = match self.windows.iter().position(|w| w.start == start) {
            Some(i) => i,
            None => self.load(start).map_err(|e| damage(offset, e))?,
        };
        let window = &mut self.windows[i];
        window.used = self.uses;
        let from = (offset - start) as usize;
        Ok(&window.bytes[from..from + len as usize])
    }

    /// Reads the window at `start` in place of the least recently used.
    fn load(&mut self, start: u64) -> Result<usize, String> {
        let len = self.window.min(self.end - start) as usize;
        let i = if self.windows.len() < WINDOWS {
            self.windows.push(Window {
                start,
                bytes: Vec::new(),
                used: 0,
            });
            self.windows.len() - 1
        } else {
            (0..self.windows.len())
                .min_by_key(|&i| self.windows[i].used)
                .expect("windows are kept")
        };
        let window = &mut self.windows[i];
        window.bytes.resize(len, 0);
        if let Err(e) = self.file.read_exact_at(&mut window.bytes, start) {
            // Never found again: starts are multiples of the window.
            window.start = u64::MAX;
            return Err(format!("cannot be read: {e}"));
        }
        window.start = start;
        Ok(i)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};

    use super::super::{Entries, JournalLines, open_journal};
    use super::*;
    use crate::source::{Filter, Trust};

    const REMOTE: &str = "/lib/systemd/systemd-journal-remote";

    /// One field of an export stream (binary form when the value has a
    /// newline).
    fn field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
        if value.contains(&b'\n') {
            out.extend_from_slice(name.as_bytes());
            out.push(b'\n');
            out.extend_from_slice(&(value.len() as u64).to_le_bytes());
            out.extend_from_slice(value);
        } else {
            out.extend_from_slice(name.as_bytes());
            out.push(b'=');
            out.extend_from_slice(value);
        }
        out.push(b'\n');
    }

    /// Entries of recordings, other programs and forgers, receive times
    /// `first_usec` + 1 ms steps, for one host's journal; with `jump`, the
    /// host's clock is set back 25 ms a third of the way through.
    fn export(host: &str, first_usec: u64, boot: &str, n: u64, jump: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..n {
            let monotonic = first_usec + i * 1000;
            let usec = match jump && i >= n / 3 {
                true => monotonic - 25_000,
                false => monotonic,
            };
            let rec = format!("{host}-rec-{}", i % 3);
            // Long ones are compressed (journald's threshold is 512 bytes).
            let text: String = (0..(i % 5) * 400)
                .map(|k| char::from(b'a' + ((i + k) % 26) as u8))
                .collect();
            let message = format!(
                r#"{{"ver":"2.3","host":"{host}","rec":"{rec}","user":"u","term":"xterm","session":1,"id":{i},"pos":{i},"timing":"=80x24>5","in_txt":"","in_bin":[],"out_txt":"line {i} {text}\r\n","out_bin":[]}}"#
            );
            let (uid, ident, comm) = match i % 7 {
                // A forger claiming a recording, another program, a
                // sender with a recording of its own.
                3 => ("1000", "termtape", "python3"),
                5 => ("0", "sshd", "sshd"),
                6 => ("1001", "termtape", "sh\x1b]2;x\x07"),
                _ => ("0", "termtape-session", "termtape-session"),
            };
            let rec = if i % 7 == 6 {
                format!("{host}-own")
            } else {
                rec
            };
            field(
                &mut out,
                "__REALTIME_TIMESTAMP",
                usec.to_string().as_bytes(),
            );
            field(
                &mut out,
                "__MONOTONIC_TIMESTAMP",
                (monotonic / 7).to_string().as_bytes(),
            );
            field(&mut out, "_BOOT_ID", boot.as_bytes());
            field(&mut out, "_HOSTNAME", host.as_bytes());
            field(&mut out, "_UID", uid.as_bytes());
            field(&mut out, "_COMM", comm.as_bytes());
            field(&mut out, "SYSLOG_IDENTIFIER", ident.as_bytes());
            field(&mut out, "TLOG_REC", rec.as_bytes());
            field(&mut out, "TLOG_ID", i.to_string().as_bytes());
            if i % 4 == 1 {
                field(
                    &mut out,
                    "TERMTAPE_X_NOTE",
                    format!("\"note {i}\"").as_bytes(),
                );
            }
            if i % 11 == 2 {
                field(&mut out, "TERMTAPE_X_BAD", b"not json");
            }
            let message = match i % 13 {
                // A message with a newline travels as a binary field.
                4 => message.replace("\"id\"", "\n\"id\""),
                _ => message,
            };
            field(&mut out, "MESSAGE", message.as_bytes());
            out.push(b'\n');
        }
        out
    }

    /// Writes `export` into the journal file `path` with journal-remote,
    /// in the compact form or not.
    fn import(export: &[u8], path: &Path, compact: bool) {
        let mut child = Command::new(REMOTE)
            .env("SYSTEMD_JOURNAL_COMPACT", if compact { "1" } else { "0" })
            .arg(format!("--output={}", path.display()))
            .arg("-")
            .stdin(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{REMOTE} (Debian: systemd-journal-remote): {e}"));
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(export).expect("written");
        drop(stdin);
        assert!(child.wait().expect("journal-remote ran").success());
    }

    /// A directory of three journal files: two hosts of one boot (one file
    /// compact, one not, one host's clock set back) whose entries
    /// interleave in time, and a third, of another boot, in a machine
    /// subdirectory.
    fn journal_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let boot_a = "0123456789abcdef0123456789abcdef";
        let boot_b = "fedcba9876543210fedcba9876543210";
        let t = 1_700_000_000_000_000;
        import(
            &export("hosta", t, boot_a, 60, true),
            &dir.path().join("a.journal"),
            true,
        );
        import(
            &export("hostb", t + 500, boot_a, 60, false),
            &dir.path().join("b.journal"),
            false,
        );
        let machine = dir.path().join("00112233445566778899aabbccddeeff");
        fs::create_dir(&machine).expect("machine dir");
        import(
            &export("hostc", t + 20_250, boot_b, 30, false),
            &machine.join("system.journal"),
            true,
        );
        dir
    }

    fn read_all(mut lines: impl Read) -> Vec<u8> {
        let mut out = Vec::new();
        lines.read_to_end(&mut out).expect("read");
        out
    }

    /// The reading of `dir` through libsystemd and directly.
    fn both(dir: &Path, filter: &Filter) -> (Vec<u8>, Vec<u8>) {
        let library = JournalLines::reading(
            open_journal(Some(dir)).expect("opened"),
            Some(dir),
            filter,
            None,
            true,
        )
        .expect("libsystemd reads");
        assert!(matches!(library.entries, Entries::Library(_)));
        let direct = JournalLines::open(Some(dir), filter).expect("read directly");
        assert!(
            matches!(direct.entries, Entries::Files(_)),
            "not read directly"
        );
        (read_all(library), read_all(direct))
    }

    #[test]
    fn a_directory_read_directly_gives_what_libsystemd_gives() {
        let dir = journal_dir();
        let t_ms = 1_700_000_000_000;
        let filters = [
            Filter::default(),
            Filter {
                trust: Trust {
                    unverified: true,
                    ..Trust::default()
                },
                ..Filter::default()
            },
            Filter {
                since: Some(t_ms + 17),
                until: Some(t_ms + 41),
                ..Filter::default()
            },
            Filter {
                since: Some(t_ms + 30),
                ..Filter::default()
            },
        ];
        for filter in filters {
            let (library, direct) = both(dir.path(), &filter);
            let lines = library.iter().filter(|&&b| b == b'\n').count();
            assert!(lines > 10, "{lines} lines for {filter:?}");
            assert!(
                library == direct,
                "{filter:?}:\nlibsystemd:\n{}\ndirect:\n{}",
                String::from_utf8_lossy(&library),
                String::from_utf8_lossy(&direct)
            );
        }
    }

    #[test]
    fn a_matched_or_followed_reading_stays_with_libsystemd() {
        let dir = journal_dir();
        for filter in [
            Filter {
                rec: Some("hosta-rec-1".to_owned()),
                ..Filter::default()
            },
            Filter {
                host: Some("hostb".to_owned()),
                ..Filter::default()
            },
            Filter {
                user: Some("u".to_owned()),
                ..Filter::default()
            },
        ] {
            let lines = JournalLines::open(Some(dir.path()), &filter).expect("opened");
            assert!(matches!(lines.entries, Entries::Library(_)), "{filter:?}");
        }
    }

    #[test]
    fn a_directory_with_a_file_this_reader_does_not_read_goes_to_libsystemd() {
        let dir = journal_dir();
        // Not a journal file, under a journal file's name.
        fs::write(dir.path().join("z.journal"), b"not a journal").expect("written");
        let lines = JournalLines::open(Some(dir.path()), &Filter::default()).expect("opened");
        assert!(matches!(lines.entries, Entries::Library(_)));
    }

    /// Every entry's receive time and message, in the order libsystemd
    /// gives them, without matches.
    fn library_entries(dir: &Path) -> Vec<(u64, Vec<u8>)> {
        let mut journal = open_journal(Some(dir)).expect("opened");
        let mut entries = Vec::new();
        while journal.next().expect("next") > 0 {
            let usec = journal.timestamp_usec().expect("time");
            let message = journal.get_data("MESSAGE").expect("data");
            let message = message.and_then(|m| m.value().map(<[u8]>::to_vec));
            entries.push((usec, message.unwrap_or_default()));
        }
        entries
    }

    /// The same, read directly with windows of `window` bytes.
    fn direct_entries(dir: &Path, window: u64) -> Vec<(u64, Vec<u8>)> {
        let paths = journal_paths(dir).expect("listed");
        let mut files = JournalFiles::open_files(paths, None, window)
            .expect("opened")
            .expect("for this reader");
        let mut entries = Vec::new();
        while files.next() {
            let mut message = Vec::new();
            files.fields(|name, value| {
                if name == b"MESSAGE" && message.is_empty() {
                    message = value.to_vec();
                }
            });
            entries.push((files.realtime(), message));
        }
        entries
    }

    #[test]
    fn entries_of_one_writer_go_by_sequence_number_and_a_copy_is_read_once() {
        let dir = journal_dir();
        let library = library_entries(dir.path());
        // Windows as large as the reader takes and as small (as for
        // thousands of files), where objects straddle them.
        for window in [MAX_WINDOW, MIN_WINDOW] {
            assert_eq!(library, direct_entries(dir.path(), window));
        }
        // Two files of one writer (as journald rotates them: the same
        // sequence number id), the second's entries starting ten in, so
        // that sequence numbers order them otherwise than time; and a
        // copy of the first.
        let one = tempfile::tempdir().expect("tempdir");
        let boot = "0123456789abcdef0123456789abcdef";
        let t = 1_700_000_000_000_000;
        let (a, b) = (one.path().join("a.journal"), one.path().join("b.journal"));
        import(&export("hosta", t, boot, 40, true), &a, true);
        import(&export("hostb", t + 10_500, boot, 40, false), &b, false);
        let a_bytes = fs::read(&a).expect("read");
        let mut b_bytes = fs::read(&b).expect("read");
        b_bytes[72..88].copy_from_slice(&a_bytes[72..88]);
        fs::write(&b, &b_bytes).expect("written");
        fs::write(one.path().join("a-copy.journal"), &a_bytes).expect("written");
        let library = library_entries(one.path());
        assert_eq!(library.len(), 80, "the copy's entries are given once");
        assert_eq!(library, direct_entries(one.path(), window_for(3)));
        let (library, direct) = both(one.path(), &Filter::default());
        assert!(library == direct);
    }

    /// A file holding one entry whose one field is the data object given
    /// (flags, payload), in the regular (not compact) form.
    fn one_field_file(flags: u8, payload: &[u8]) -> Vec<u8> {
        repeated_field_file(flags, payload, 1)
    }

    /// The same, the entry naming its field `times` times.
    fn repeated_field_file(flags: u8, payload: &[u8], times: u64) -> Vec<u8> {
        let header_size = 272_u64;
        let align = |n: u64| n.div_ceil(8) * 8;
        let data_at = header_size;
        let data_size = 64 + payload.len() as u64;
        let entry_at = align(data_at + data_size);
        let entry_size = 64 + 16 * times;
        let array_at = entry_at + entry_size;
        let array_size = 24 + 8;
        let end = array_at + array_size;
        let mut f = vec![0u8; end as usize];
        f[..8].copy_from_slice(SIGNATURE);
        f[12..16].copy_from_slice(&INCOMPATIBLE_ZSTD.to_le_bytes());
        let put = |f: &mut Vec<u8>, at: u64, v: u64| {
            f[at as usize..at as usize + 8].copy_from_slice(&v.to_le_bytes());
        };
        put(&mut f, 88, header_size);
        put(&mut f, 96, end - header_size);
        put(&mut f, 152, 1);
        put(&mut f, 176, array_at);
        f[data_at as usize] = OBJECT_DATA;
        f[data_at as usize + 1] = flags;
        put(&mut f, data_at + 8, data_size);
        f[(data_at + 64) as usize..(data_at + data_size) as usize].copy_from_slice(payload);
        f[entry_at as usize] = OBJECT_ENTRY;
        put(&mut f, entry_at + 8, entry_size);
        put(&mut f, entry_at + 24, 1_700_000_000_000_000);
        for i in 0..times {
            put(&mut f, entry_at + 64 + 16 * i, data_at);
        }
        f[array_at as usize] = OBJECT_ENTRY_ARRAY;
        put(&mut f, array_at + 8, array_size);
        put(&mut f, array_at + 24, entry_at);
        f
    }

    /// The fields of the one entry of `file`, read directly.
    fn fields_of(file: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("x.journal"), file).expect("written");
        let mut files = JournalFiles::open(dir.path(), None)
            .expect("opened")
            .expect("read");
        assert!(files.next());
        let mut fields = Vec::new();
        files.fields(|n, v| fields.push((n.to_vec(), v.to_vec())));
        assert!(!files.next());
        fields
    }

    #[test]
    fn compressed_fields_with_and_without_their_size_are_read_and_bounded() {
        let value = b"MESSAGE="
            .iter()
            .chain(&[b'x'; 5000])
            .copied()
            .collect::<Vec<u8>>();
        let with_size = zstd::bulk::compress(&value, 3).expect("compressed");
        // The same frame written as a stream: no size in its header.
        let mut without_size = Vec::new();
        let mut encoder = zstd::stream::write::Encoder::new(&mut without_size, 3).expect("encoder");
        std::io::Write::write_all(&mut encoder, &value).expect("written");
        encoder.finish().expect("finished");
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&without_size).ok(),
            Some(None)
        );
        let want = vec![(b"MESSAGE".to_vec(), vec![b'x'; 5000])];
        for payload in [&with_size, &without_size] {
            assert_eq!(fields_of(&one_field_file(COMPRESSED_ZSTD, payload)), want);
        }
        assert_eq!(
            fields_of(&one_field_file(0, &value)),
            want,
            "not compressed"
        );
        // Past the bound, with its size said or not: left out.
        let huge = vec![b'y'; MAX_FIELD as usize + 10];
        let bomb = zstd::bulk::compress(&huge, 3).expect("compressed");
        let mut streamed = Vec::new();
        let mut encoder = zstd::stream::write::Encoder::new(&mut streamed, 3).expect("encoder");
        std::io::Write::write_all(&mut encoder, &huge).expect("written");
        encoder.finish().expect("finished");
        for payload in [&bomb, &streamed] {
            assert_eq!(fields_of(&one_field_file(COMPRESSED_ZSTD, payload)), vec![]);
        }
        // One large field named again and again: read up to the entry's
        // bound, then left out.
        let mut large = b"BIG=".to_vec();
        large.resize(40 << 20, b'z');
        let large = zstd::bulk::compress(&large, 3).expect("compressed");
        let fields = fields_of(&repeated_field_file(COMPRESSED_ZSTD, &large, 10));
        assert_eq!(fields.len(), 7, "7 × 40 MiB, then past 256 MiB");
        // Compressed otherwise, or not zstd at all: left out.
        assert_eq!(fields_of(&one_field_file(1, &with_size)), vec![]);
        assert_eq!(
            fields_of(&one_field_file(COMPRESSED_ZSTD, b"not zstd")),
            vec![]
        );
    }

    #[test]
    fn machine_directories_are_those_libsystemd_reads() {
        for name in [
            "00112233445566778899aabbccddeeff",
            "00112233-4455-6677-8899-AABBCCDDEEFF",
        ] {
            assert!(is_machine_dir(name), "{name}");
        }
        for name in [
            "00112233445566778899aabbccddeef",
            "00112233445566778899aabbccddeeff.ns",
            "00112233-4455-6677-8899aabbccddeeff",
            "0011223344556677-8899-aabbccddeeff",
            "remote",
            "0011223g445566778899aabbccddeeff",
        ] {
            assert!(!is_machine_dir(name), "{name}");
        }
    }

    #[test]
    fn windows_shrink_with_the_number_of_files_within_bounds() {
        assert_eq!(window_for(0), MAX_WINDOW);
        assert_eq!(window_for(8), MAX_WINDOW);
        assert_eq!(window_for(9), 512 << 10);
        assert_eq!(window_for(100), 64 << 10);
        assert_eq!(window_for(100_000), MIN_WINDOW);
        for n in 1..3000_u64 {
            let w = window_for(n as usize);
            assert!(w.is_power_of_two());
            let floor = MIN_WINDOW * WINDOWS as u64 * n;
            assert!(
                w * WINDOWS as u64 * n <= WINDOWS_BUDGET.max(floor),
                "{n} files"
            );
        }
    }

    /// The messages of a reading, as a set of lines.
    fn lines_of(read: &[u8]) -> Vec<&[u8]> {
        read.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect()
    }

    #[test]
    fn a_damaged_file_is_read_up_to_the_damage_without_a_panic() {
        let dir = journal_dir();
        let read =
            |dir: &Path| read_all(JournalLines::open(Some(dir), &Filter::default()).expect("read"));
        let intact = read(dir.path());
        // What the other files hold, which damage to one must not lose.
        let others: Vec<&[u8]> = lines_of(&intact)
            .into_iter()
            .filter(|l| !String::from_utf8_lossy(l).contains(r#""host":"hosta""#))
            .collect();
        assert!(others.len() > 30);
        let path = dir.path().join("a.journal");
        let original = fs::read(&path).expect("read");
        let header_size = le64(&original, 88) as usize;
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // Cut anywhere in the objects, or bytes flipped anywhere: each
        // reading ends, without a panic, with every entry of the other
        // files.
        for round in 0..80 {
            let mut bytes = original.clone();
            let at = header_size + (next() as usize) % (bytes.len() - header_size);
            if round % 2 == 0 {
                bytes.truncate(at);
            } else {
                for k in 0..4 {
                    let i = (at + k * 8) % bytes.len();
                    bytes[i.max(header_size)] ^= 1 << (next() % 8);
                }
            }
            fs::write(&path, &bytes).expect("written");
            let Some(mut files) = JournalFiles::open(dir.path(), None).expect("opened") else {
                continue;
            };
            let mut n = 0;
            while files.next() {
                files.fields(|_, _| {});
                n += 1;
                assert!(n <= 150, "round {round}: more entries than were written");
            }
            let damaged = read(dir.path());
            let damaged = lines_of(&damaged);
            for line in &others {
                assert!(
                    damaged.contains(line),
                    "round {round}: lost {}",
                    String::from_utf8_lossy(line)
                );
            }
        }
        fs::write(&path, &original).expect("written");
    }
}
