//! Archives: recordings compressed in the seekable zstd format, read in place.
//!
//! An archive (as `termtape archive` writes it) is a series of zstd frames
//! holding a recording's JSON lines, each frame beginning at a line (and, but
//! for frames cut for size, at a line carrying a keyframe), followed by the
//! seek table of the seekable format: a skippable frame listing each frame's
//! compressed and decompressed size. Any zstd decoder reads the lines back
//! (`zstd -dc`); a seek reads the table, the first line of a few frames,
//! and then only the frame holding the keyframe it starts from.
//!
//! Damage is found where it is and named by its byte offset in the archive:
//! a frame that does not decode or fails its checksum, a file cut short
//! inside a frame, a seek table that does not add up. Reading from the start
//! needs no seek table (a damaged one only makes seeking replay from the
//! start), and delivers every frame before the damage; of a frame cut short,
//! the whole lines decoded before the cut. Each frame is checked before any of
//! it is delivered, so that altered bytes are not shown as recorded; a frame
//! is held in memory whole, up to [`FRAME_CAP`].

use std::fs::File as FsFile;
use std::io::{self, BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use termtape_format::{Error, Location, MAX_LINE_LEN, Message};
use zstd::zstd_safe::{self, DCtx, InBuffer, OutBuffer, ResetDirective};

use super::{BUFFER, Filter, Keyed, KeyframeAt, Position, Source, SourceError};
use crate::recording::Query;

/// The magic number that starts a zstd frame (little-endian on disk).
pub const ZSTD_MAGIC: u32 = 0xFD2F_B528;
/// Skippable frames start with a magic number from this one to `+ 15`.
const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;
/// The skippable frame that holds the seekable format's seek table.
const SEEK_TABLE_MAGIC: u32 = 0x184D_2A5E;
/// The seekable format's last four bytes.
const SEEKABLE_MAGIC: u32 = 0x8F92_EAB1;
/// The seek table's footer: frame count, descriptor, magic.
const FOOTER: u64 = 9;

/// The most a frame may hold once decompressed: what `termtape archive`
/// writes at most (a frame of [`crate::archive::FRAME_MAX`] and one line of
/// [`MAX_LINE_LEN`]). A bigger frame is refused rather than held.
pub const FRAME_CAP: usize = crate::archive::FRAME_MAX + MAX_LINE_LEN;

/// The most frames a seek table may list (4 TiB of log in frames of
/// 1 MiB): its entries are held in memory.
const MAX_FRAMES: u64 = 1 << 22;

/// Whether the file at `path` starts as a zstd archive does (a zstd frame
/// or a skippable frame): told by content, not by name.
pub fn is_archive(path: &Path) -> bool {
    // Only a regular file is opened to look: opening a FIFO would wait for
    // its writer and then take what it writes from the reader that follows.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let Ok(mut file) = FsFile::open(path) else {
        return false;
    };
    let mut magic = [0u8; 4];
    file.read_exact(&mut magic).is_ok() && is_frame_magic(u32::from_le_bytes(magic))
}

fn is_frame_magic(magic: u32) -> bool {
    magic == ZSTD_MAGIC || magic & 0xFFFF_FFF0 == SKIPPABLE_MAGIC
}

/// Damage in an archive: where (a byte offset in the file) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The byte offset in the archive where the damage is.
    pub offset: u64,
    /// What is wrong there.
    pub what: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "archive damaged at byte offset {}: {}",
            self.offset, self.what
        )
    }
}

impl std::error::Error for Damage {}

impl Damage {
    fn new(offset: u64, what: impl Into<String>) -> Damage {
        Damage {
            offset,
            what: what.into(),
        }
    }

    fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }
}

/// One frame as the seek table lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    /// Where it starts in the archive.
    c_offset: u64,
    /// Its size there.
    c_size: u64,
    /// Where its data starts in the decompressed lines.
    d_offset: u64,
    /// Its decompressed size.
    d_size: u64,
}

/// The seek table, checked against the file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Table {
    frames: Vec<Entry>,
}

impl Table {
    /// Reads and checks the seek table at the end of `file` (`len` bytes).
    fn read(file: &mut FsFile, len: u64) -> Result<Table, Damage> {
        let io_damage = |offset, e: io::Error| Damage::new(offset, format!("cannot read: {e}"));
        if len < FOOTER {
            return Err(Damage::new(len, "no seek table: the file is too short"));
        }
        let mut footer = [0u8; FOOTER as usize];
        file.seek(SeekFrom::Start(len - FOOTER))
            .and_then(|_| file.read_exact(&mut footer))
            .map_err(|e| io_damage(len - FOOTER, e))?;
        let le32 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        if le32(&footer[5..9]) != SEEKABLE_MAGIC {
            return Err(Damage::new(
                len - 4,
                "no seek table at the end (cut short, or damaged; the frames before can \
                 still be read from the start)",
            ));
        }
        let count = u64::from(le32(&footer[0..4]));
        let descriptor = footer[4];
        if descriptor & 0x7C != 0 {
            return Err(Damage::new(
                len - 5,
                format!("seek table descriptor {descriptor:#04x} has reserved bits set"),
            ));
        }
        let entry_size = if descriptor & 0x80 != 0 { 12 } else { 8 };
        let table_size = 8 + count * entry_size + FOOTER;
        if count > MAX_FRAMES || table_size > len {
            return Err(Damage::new(
                len - FOOTER,
                format!("seek table lists {count} frames, more than the file can hold"),
            ));
        }
        let start = len - table_size;
        let mut table = vec![0u8; (table_size - FOOTER) as usize];
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut table))
            .map_err(|e| io_damage(start, e))?;
        if le32(&table[0..4]) != SEEK_TABLE_MAGIC || u64::from(le32(&table[4..8])) != table_size - 8
        {
            return Err(Damage::new(
                start,
                format!("the seek table's frame header does not match its footer ({count} frames)"),
            ));
        }
        let mut frames = Vec::with_capacity(count as usize);
        let (mut c_offset, mut d_offset) = (0u64, 0u64);
        for (i, raw) in table[8..].chunks_exact(entry_size as usize).enumerate() {
            let (c_size, d_size) = (u64::from(le32(&raw[0..4])), u64::from(le32(&raw[4..8])));
            if d_size > FRAME_CAP as u64 {
                return Err(Damage::new(
                    start + 8 + i as u64 * entry_size + 4,
                    format!(
                        "seek table entry {i}: a frame of {d_size} bytes, more than an archive holds"
                    ),
                ));
            }
            frames.push(Entry {
                c_offset,
                c_size,
                d_offset,
                d_size,
            });
            c_offset += c_size;
            d_offset += d_size;
        }
        if c_offset != start {
            return Err(Damage::new(
                start + 8,
                format!(
                    "the seek table's frame sizes add up to {c_offset} bytes, but its frames \
                     end at byte {start}"
                ),
            ));
        }
        Ok(Table { frames })
    }

    /// The frame holding decompressed offset `offset` (the last frame for
    /// the end).
    fn frame_at(&self, offset: u64) -> usize {
        self.frames
            .partition_point(|e| e.d_offset + e.d_size <= offset)
            .min(self.frames.len().saturating_sub(1))
    }

    /// The decompressed size of everything.
    fn len(&self) -> u64 {
        self.frames.last().map_or(0, |e| e.d_offset + e.d_size)
    }
}

/// What stops a frame early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Until {
    /// Its end.
    End,
    /// Its first newline (the first line, for a seek's bisection).
    Newline,
}

/// Frames read in order from an offset of an archive, one at a time.
struct Frames {
    file: FsFile,
    /// The file's length.
    len: u64,
    /// The offset of `input[start]` in the file.
    offset: u64,
    input: Vec<u8>,
    start: usize,
    dctx: DCtx<'static>,
}

/// A frame decoded, or the damage that ended it (and what of it was
/// decoded before, whole lines only).
type Decoded = Result<Vec<u8>, (Vec<u8>, Damage)>;

impl Frames {
    fn new(mut file: FsFile, offset: u64) -> io::Result<Frames> {
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(offset))?;
        Ok(Frames {
            file,
            len,
            offset,
            input: Vec::new(),
            start: 0,
            dctx: DCtx::create(),
        })
    }

    /// At least `want` bytes of input buffered, unless the file ends first;
    /// returns how many are.
    fn fill(&mut self, want: usize) -> io::Result<usize> {
        if self.input.len() - self.start >= want {
            return Ok(self.input.len() - self.start);
        }
        self.input.drain(..self.start);
        self.start = 0;
        let mut chunk = [0u8; 64 * 1024];
        while self.input.len() < want {
            let n = self.file.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            self.input.extend_from_slice(&chunk[..n]);
        }
        Ok(self.input.len())
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    /// Skips forward to `offset` in the file.
    fn skip(&mut self, offset: u64) -> io::Result<()> {
        let buffered = (self.input.len() - self.start) as u64;
        if offset - self.offset <= buffered {
            self.consume((offset - self.offset) as usize);
        } else {
            self.file.seek(SeekFrom::Start(offset))?;
            self.input.clear();
            self.start = 0;
            self.offset = offset;
        }
        Ok(())
    }

    /// The next frame holding data (skippable frames are passed over), or
    /// `None` at the end of the file.
    fn next_frame(&mut self, until: Until) -> io::Result<Option<Decoded>> {
        loop {
            let at = self.offset;
            let have = self.fill(8)?;
            if have == 0 {
                return Ok(None);
            }
            if have < 4 {
                return Ok(Some(Err((
                    Vec::new(),
                    cut(at, self.len, "a frame's start"),
                ))));
            }
            let bytes = &self.input[self.start..];
            let magic = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            if magic & 0xFFFF_FFF0 == SKIPPABLE_MAGIC {
                if have < 8 {
                    return Ok(Some(Err((
                        Vec::new(),
                        cut(at, self.len, "a skippable frame"),
                    ))));
                }
                let size = u64::from(u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]));
                if at + 8 + size > self.len {
                    return Ok(Some(Err((
                        Vec::new(),
                        cut(at, self.len, "a skippable frame"),
                    ))));
                }
                self.skip(at + 8 + size)?;
                continue;
            }
            if magic != ZSTD_MAGIC {
                return Ok(Some(Err((
                    Vec::new(),
                    Damage::new(
                        at,
                        format!("not the start of a zstd frame (magic number {magic:#010x})"),
                    ),
                ))));
            }
            return self.frame(until).map(Some);
        }
    }

    /// Decodes the zstd frame that starts at the current offset.
    fn frame(&mut self, until: Until) -> io::Result<Decoded> {
        let at = self.offset;
        let failed = |out: Vec<u8>, damage| Ok(Err((whole_lines(out), damage)));
        if let Err(code) = self.dctx.reset(ResetDirective::SessionOnly) {
            return failed(Vec::new(), Damage::new(at, zstd_safe::get_error_name(code)));
        }
        let mut out: Vec<u8> = Vec::new();
        loop {
            let available = self.fill(1)?;
            if out.capacity() - out.len() < 64 * 1024 {
                out.reserve(128 * 1024);
            }
            let before = out.len();
            let (hint, used) = {
                let mut input = InBuffer::around(&self.input[self.start..]);
                let mut output = OutBuffer::around_pos(&mut out, before);
                let hint = self.dctx.decompress_stream(&mut output, &mut input);
                (hint, input.pos())
            };
            self.consume(used);
            match hint {
                Err(code) => {
                    // Nothing of a frame that does not check is delivered.
                    let what = format!(
                        "the frame starting here does not decompress: {}",
                        zstd_safe::get_error_name(code)
                    );
                    return Ok(Err((Vec::new(), Damage::new(at, what))));
                }
                Ok(0) => return Ok(Ok(out)),
                Ok(_) => {}
            }
            if available == 0 && out.len() == before {
                return failed(out, cut(at, self.len, "the frame starting here"));
            }
            if out.len() > FRAME_CAP {
                return Ok(Err((
                    Vec::new(),
                    Damage::new(
                        at,
                        format!(
                            "the frame starting here holds more than {} MiB, more than an \
                             archive's frame (a plain zstd file? `zstd -dc FILE | termtape \
                             … -` reads it)",
                            FRAME_CAP >> 20
                        ),
                    ),
                )));
            }
            if until == Until::Newline && out[before..].contains(&b'\n') {
                return Ok(Ok(out));
            }
        }
    }
}

/// Cuts `out` after its last newline.
fn whole_lines(mut out: Vec<u8>) -> Vec<u8> {
    let end = out.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    out.truncate(end);
    out
}

fn cut(at: u64, len: u64, what: &str) -> Damage {
    Damage::new(
        at,
        format!("the file ends at byte {len}, inside {what} (cut short)"),
    )
}

/// The decompressed lines of an archive from a frame on, as a reader: the
/// frames' data in order, then the damage met, if any, as an error.
struct Lines {
    frames: Frames,
    /// The current frame's data, and how much of it was read.
    data: Vec<u8>,
    pos: usize,
    /// Damage met after `data`, returned once it is read.
    damage: Option<Damage>,
    done: bool,
}

impl Read for Lines {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.data.len() {
            if let Some(damage) = self.damage.take() {
                self.done = true;
                return Err(damage.into_io());
            }
            if self.done {
                return Ok(0);
            }
            match self.frames.next_frame(Until::End)? {
                None => self.done = true,
                Some(Ok(data)) => (self.data, self.pos) = (data, 0),
                Some(Err((data, damage))) => {
                    (self.data, self.pos) = (data, 0);
                    self.damage = Some(damage);
                }
            }
        }
        let n = buf.len().min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// An archive file: a recording in seekable zstd, as `termtape archive` writes it.
#[derive(Debug)]
pub struct Archive {
    path: PathBuf,
    table: OnceLock<Result<Table, Damage>>,
    /// The last frame decoded whole, for the seek's second look at it.
    cache: Mutex<Option<(usize, Arc<[u8]>)>>,
}

impl Archive {
    /// The archive at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Archive {
        Archive {
            path: path.into(),
            table: OnceLock::new(),
            cache: Mutex::new(None),
        }
    }

    fn open_file(&self) -> Result<FsFile, SourceError> {
        FsFile::open(&self.path).map_err(|source| SourceError::Io {
            name: self.name(),
            source,
        })
    }

    /// The seek table, read once; its damage.
    fn table(&self) -> Result<&Table, Damage> {
        self.table
            .get_or_init(|| {
                let mut file = FsFile::open(&self.path)
                    .map_err(|e| Damage::new(0, format!("cannot open: {e}")))?;
                let len = file
                    .metadata()
                    .map_err(|e| Damage::new(0, format!("cannot read: {e}")))?
                    .len();
                Table::read(&mut file, len)
            })
            .as_ref()
            .map_err(Damage::clone)
    }

    /// Checks the seek table: the damage, if any, as reading it found it.
    pub fn check_table(&self) -> Result<(), Damage> {
        self.table().map(|_| ())
    }

    /// Frame `k` decoded whole (or up to its first newline), checked
    /// against the seek table.
    fn decode(&self, table: &Table, k: usize, until: Until) -> io::Result<Arc<[u8]>> {
        if until == Until::End
            && let Some((cached, data)) = &*self.cache.lock().expect("the cache is not poisoned")
            && *cached == k
        {
            return Ok(data.clone());
        }
        let entry = table.frames[k];
        let mut frames = Frames::new(FsFile::open(&self.path)?, entry.c_offset)?;
        let data = match frames.frame(until)? {
            Ok(data) => data,
            Err((_, damage)) => return Err(damage.into_io()),
        };
        let end = entry.c_offset + entry.c_size;
        let complete = until == Until::End;
        if (complete && (data.len() as u64 != entry.d_size || frames.offset != end))
            || data.len() as u64 > entry.d_size
        {
            return Err(Damage::new(
                entry.c_offset,
                format!(
                    "frame {k} does not match the seek table (it lists {} bytes in {} \
                     compressed)",
                    entry.d_size, entry.c_size
                ),
            )
            .into_io());
        }
        let data: Arc<[u8]> = data.into();
        if complete {
            *self.cache.lock().expect("the cache is not poisoned") = Some((k, data.clone()));
        }
        Ok(data)
    }

    /// The first line of frame `k`, without its newline.
    fn head(&self, table: &Table, k: usize) -> io::Result<Vec<u8>> {
        let data = self.decode(table, k, Until::Newline)?;
        let end = data.iter().position(|&b| b == b'\n').ok_or_else(|| {
            Damage::new(
                table.frames[k].c_offset,
                format!("frame {k} holds no whole line"),
            )
            .into_io()
        })?;
        Ok(data[..end].to_vec())
    }

    /// The message on the first line of `data`, if it parses.
    fn parse_head(&self, data: &[u8]) -> Option<Message> {
        let end = data.iter().position(|&b| b == b'\n')?;
        let text = std::str::from_utf8(&data[..end]).ok()?;
        let at = Location {
            source: Some(self.name()),
            ..Location::default()
        };
        Message::parse(text.trim_end(), &at).ok()
    }

    /// The frames holding data.
    fn data_frames(table: &Table) -> Vec<usize> {
        (0..table.frames.len())
            .filter(|&k| table.frames[k].d_size > 0)
            .collect()
    }
}

impl Source for Archive {
    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn is_stream(&self) -> bool {
        false
    }

    fn metadata(&self) -> Option<std::fs::Metadata> {
        std::fs::metadata(&self.path).ok()
    }

    /// The first lines of the first, the last and a few frames between;
    /// without a seek table, the first line of the first frame.
    fn sample(&self) -> Option<Vec<Message>> {
        let Ok(table) = self.table() else {
            let file = FsFile::open(&self.path).ok()?;
            let data = match Frames::new(file, 0)
                .ok()?
                .next_frame(Until::Newline)
                .ok()??
            {
                Ok(data) | Err((data, _)) => data,
            };
            return Some(vec![self.parse_head(&data)?]);
        };
        let frames = Archive::data_frames(table);
        let n = frames.len();
        let mut picks: Vec<usize> = (0..8).map(|i| i * n.saturating_sub(1) / 7).collect();
        picks.dedup();
        picks
            .into_iter()
            .filter(|&i| i < n)
            .map(|i| {
                let data = self.decode(table, frames[i], Until::Newline).ok()?;
                self.parse_head(&data)
            })
            .collect()
    }

    fn open(&self, filter: &Filter) -> Result<Box<dyn BufRead>, SourceError> {
        if filter.follow {
            return Err(SourceError::NoFollow);
        }
        let io_error = |source| SourceError::Io {
            name: self.name(),
            source,
        };
        let frames = Frames::new(self.open_file()?, 0).map_err(io_error)?;
        Ok(Box::new(BufReader::with_capacity(
            BUFFER,
            Lines {
                frames,
                data: Vec::new(),
                pos: 0,
                damage: None,
                done: false,
            },
        )))
    }

    fn open_at(&self, filter: &Filter, at: &Position) -> Result<Box<dyn BufRead>, SourceError> {
        let Position::Offset(offset) = *at else {
            return Err(SourceError::NoPlaces { name: self.name() });
        };
        if filter.follow {
            return Err(SourceError::NoFollow);
        }
        let io_error = |source| SourceError::Io {
            name: self.name(),
            source,
        };
        let table = self.table().map_err(|d| io_error(d.into_io()))?;
        if table.frames.is_empty() || offset > table.len() {
            return Err(SourceError::NoPlaces { name: self.name() });
        }
        let k = table.frame_at(offset);
        let entry = table.frames[k];
        let data = self.decode(table, k, Until::End).map_err(io_error)?;
        let skip = (offset - entry.d_offset) as usize;
        let mut first = Cursor::new(data);
        first.set_position(skip as u64);
        let rest = Lines {
            frames: Frames::new(self.open_file()?, entry.c_offset + entry.c_size)
                .map_err(io_error)?,
            data: Vec::new(),
            pos: 0,
            damage: None,
            done: false,
        };
        Ok(Box::new(BufReader::with_capacity(
            BUFFER,
            first.chain(rest),
        )))
    }

    fn keyframe_before(
        &self,
        query: &Query,
        until: u64,
        on_damage: &mut dyn FnMut(&Error),
    ) -> Result<Keyed, SourceError> {
        let table = match self.table() {
            Ok(table) => table,
            Err(damage) => {
                on_damage(&Error::io(
                    &self.name(),
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{damage}; seeking replays from the start instead"),
                    ),
                ));
                return Ok(Keyed::Replay(crate::seek::Reason::Damage));
            }
        };
        let frames = Archive::data_frames(table);
        let found = crate::seek::keyframe_in_frames(
            &ArchiveFrames {
                archive: self,
                table,
                frames: &frames,
            },
            &self.name(),
            query,
            until,
            on_damage,
        );
        Ok(match found {
            Ok(offset) => Keyed::At(KeyframeAt {
                position: Position::Offset(offset),
            }),
            Err(reason) => Keyed::Replay(reason),
        })
    }
}

/// An archive's frames that hold data, for the seek.
struct ArchiveFrames<'a> {
    archive: &'a Archive,
    table: &'a Table,
    frames: &'a [usize],
}

impl crate::seek::Frames for ArchiveFrames<'_> {
    fn count(&self) -> usize {
        self.frames.len()
    }

    fn start(&self, i: usize) -> u64 {
        self.table.frames[self.frames[i]].d_offset
    }

    fn head(&self, i: usize) -> io::Result<Vec<u8>> {
        self.archive.head(self.table, self.frames[i])
    }

    fn data(&self, i: usize) -> io::Result<Arc<[u8]>> {
        self.archive.decode(self.table, self.frames[i], Until::End)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{Options, Writer};

    /// An archive of `lines` (each a keyframe line when it starts with
    /// `K`), with frames of at least `frame_min` bytes.
    fn archive_of(lines: &[&str], frame_min: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let options = Options {
            frame_min,
            ..Options::default()
        };
        let mut writer = Writer::new(&mut out, &options).expect("writer");
        for line in lines {
            writer
                .line(format!("{line}\n").as_bytes(), line.starts_with('K'))
                .expect("line");
        }
        writer.finish().expect("finish");
        out
    }

    fn read_all(bytes: &[u8]) -> (Vec<u8>, Option<String>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.zst");
        std::fs::write(&path, bytes).expect("write");
        let mut out = Vec::new();
        let result = Archive::new(&path)
            .open(&Filter::default())
            .expect("opens")
            .read_to_end(&mut out);
        (out, result.err().map(|e| e.to_string()))
    }

    #[test]
    fn frames_start_at_keyframes_once_big_enough() {
        let lines = ["K1", "a", "K2", "b", "K3", "K4"];
        let bytes = archive_of(&lines, 6);
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.zst");
        std::fs::write(&path, &bytes).expect("write");
        let archive = Archive::new(&path);
        let table = archive.table().expect("a seek table");
        let starts: Vec<String> = (0..table.frames.len())
            .filter(|&k| table.frames[k].d_size > 0)
            .map(|k| String::from_utf8(archive.head(table, k).expect("head")).expect("text"))
            .collect();
        assert_eq!(starts, ["K1", "K3"]);
        assert_eq!(read_all(&bytes), (b"K1\na\nK2\nb\nK3\nK4\n".to_vec(), None));
    }

    #[test]
    fn a_plain_zstd_file_reads_from_the_start_without_seek_table() {
        let mut buf = vec![0u8; 64];
        let n = zstd_safe::compress(&mut buf[..], b"x\ny\n", 3).expect("compress");
        buf.truncate(n);
        assert_eq!(read_all(&buf), (b"x\ny\n".to_vec(), None));
    }

    #[test]
    fn damage_is_named_by_offset() {
        let bytes = archive_of(&["K1", "a", "K2"], 1);
        // Cut 14 bytes before the seek table, inside the last frame: the
        // frames before are read.
        let frames = u32::from_le_bytes(bytes[bytes.len() - 9..][..4].try_into().expect("4"));
        let table = 8 + 8 * frames as usize + 9;
        let (out, err) = read_all(&bytes[..bytes.len() - table - 9 - 5]);
        assert_eq!(out, b"K1\na\n");
        let err = err.expect("damage");
        assert!(
            err.contains("byte offset") && err.contains("cut short"),
            "{err}"
        );
        // Bytes after the last frame that are no frame.
        let mut junk = bytes.clone();
        junk.extend_from_slice(b"{}\n");
        let (out, err) = read_all(&junk);
        assert_eq!(out, b"K1\na\nK2\n");
        let err = err.expect("damage");
        assert!(
            err.contains(&format!("byte offset {}", bytes.len())),
            "{err}"
        );
    }

    #[test]
    fn a_seek_table_that_does_not_fit_is_refused_unread() {
        // A footer claiming 2^32-1 frames, in a file of 30 bytes.
        let mut bytes = vec![0x50, 0x2A, 0x4D, 0x18, 0, 0, 0, 0];
        bytes.extend_from_slice(&[0; 13]);
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        bytes.push(0);
        bytes.extend_from_slice(&SEEKABLE_MAGIC.to_le_bytes());
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.zst");
        std::fs::write(&path, &bytes).expect("write");
        let damage = Archive::new(&path).check_table().expect_err("refused");
        assert_eq!(damage.offset, bytes.len() as u64 - 9);
        assert!(damage.what.contains("4294967295 frames"), "{damage}");
    }
}
