//! A file's sidecar index: the listing of a file of recordings (a central
//! syslog file holds every host's), kept beside it in `FILE.termtape-index`
//! so that `ls` and the web list do not read the whole file again.
//!
//! `termtape index FILE` writes it; where it is present, a listing takes
//! the recordings from it and reads only what was appended since, and
//! writes it again (where it may) to cover that too. An index that no
//! longer fits its file (another file now at the path, a file shorter than
//! what the index covered, or whose last 64 KiB covered changed: rotated,
//! truncated, rewritten) is built again from the whole file. It is used
//! for listings that select whole recordings (all, or by `--rec`, `--user`,
//! `--host`); a time window or a session's origin asks for messages, and
//! those are read from the file as before, as is any listing of a file in
//! whose covered part damage was found (so that the damage is reported).
//!
//! What an index does not catch: bytes changed inside the part it covers,
//! before its last 64 KiB, with the file's length kept. Logs are appended
//! to, never edited; a listing is not evidence, `termtape verify` is (it
//! always reads the file).

use std::fs;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use termtape_format::{Error, Reader, Validator};

use crate::list::{Lister, Summary};
use crate::source::Filter;

/// What an index file is called: its file's name with this after it.
pub const SUFFIX: &str = ".termtape-index";

/// The version of the index's form; an index of another is built again.
const VERSION: u64 = 1;

/// How much of the end of the covered part an index fingerprints.
const TAIL: u64 = 64 << 10;

/// An index larger than this is not read (built again instead): no honest
/// listing comes near it.
const MAX_INDEX: u64 = 256 << 20;

/// A file's index: what a listing of its first `len` bytes found, and
/// what reading on from there needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Index {
    termtape_index: u64,
    /// The file it is of: device and inode.
    dev: u64,
    ino: u64,
    /// Bytes covered (up to the end of a whole line) and their lines.
    len: u64,
    lines: u64,
    /// SHA-256 of the last [`TAIL`] bytes covered.
    tail: [u8; 32],
    /// What the reader's sequence checks knew at `len`.
    validator: Validator,
    lister: Lister,
}

/// The index file of `file`.
pub fn path_of(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(SUFFIX);
    PathBuf::from(name)
}

/// Whether a listing with `filter` selects whole recordings, as an index
/// holds them.
fn selects_recordings(filter: &Filter) -> bool {
    filter.since.is_none() && filter.until.is_none() && !filter.selects_origin() && !filter.follow
}

/// The recordings of `file` (named `name` in errors) that `filter`
/// selects, through its index, which is brought up to date (and written
/// again where it may be); `None` where the file has no index or `filter`
/// asks for more than whole recordings (the caller reads the file).
pub fn summaries(
    file: &Path,
    name: &str,
    filter: &Filter,
    on_damage: &mut dyn FnMut(&Error),
) -> Option<Result<Vec<Summary>, Error>> {
    if !selects_recordings(filter) {
        return None;
    }
    // Damage in what the index covers is not reported here: such a file
    // is read whole by the caller, which reports it. A last line still
    // being written is reported, once its reading is the listing's.
    let mut tail_damage = Vec::new();
    let up_to_date = match current(file, name, &mut |e| tail_damage.push(e))? {
        Ok(up_to_date) => up_to_date,
        Err(e) => return Some(Err(e)),
    };
    if up_to_date.index.lister.damaged > 0 {
        return None;
    }
    let listed = selected(up_to_date.lister, filter)?;
    for e in &tail_damage {
        on_damage(e);
    }
    Some(Ok(listed))
}

/// Where recording `rec`'s messages lie in `file` (`name` in errors), by
/// its index brought up to date: the start of its first message's line
/// and the end of its last one's. `None` without an index, or one that
/// found damage. A seek looks for the recording's keyframes there instead
/// of from the file's start; what it then reads is read from the file.
pub fn range_of(file: &Path, name: &str, rec: &str) -> Option<(u64, u64)> {
    let up_to_date = current(file, name, &mut |_| {})?.ok()?;
    if up_to_date.index.lister.damaged > 0 {
        return None;
    }
    up_to_date
        .lister
        .into_listed()
        .into_iter()
        .find(|l| l.named && l.summary.rec == rec)
        .map(|l| (l.first, l.end))
}

/// `file`'s index, read and brought up to date (and written again where
/// it may be, if that changed it); damage after what it covers (a last
/// line still being written) goes to `on_tail_damage`. `None` when the
/// file has no index.
fn current(
    file: &Path,
    name: &str,
    on_tail_damage: &mut dyn FnMut(Error),
) -> Option<Result<UpToDate, Error>> {
    let index_path = path_of(file);
    let old = trusted_index(&index_path, file)?;
    let (up_to_date, changed) =
        match brought_up_to_date(file, name, old, &mut |_| {}, on_tail_damage) {
            Ok(up_to_date) => up_to_date,
            Err(e) => return Some(Err(e)),
        };
    if changed {
        // An index that cannot be written (a reviewer without write access
        // to the log's directory) still serves this reading.
        let _ = write(&index_path, &up_to_date.index, file);
    }
    Some(Ok(up_to_date))
}

/// An index of a file, and the listing of the whole file as read now: the
/// index's, and what a last line without its newline (still being
/// written) adds, which the index does not cover.
struct UpToDate {
    index: Index,
    lister: Lister,
}

/// Builds `file`'s index (`name` in errors) from `old` and what was
/// appended since, or from the whole file when `old` does not fit it; true
/// when the index changed.
fn brought_up_to_date(
    file: &Path,
    name: &str,
    old: Option<Index>,
    on_damage: &mut dyn FnMut(Error),
    on_tail_damage: &mut dyn FnMut(Error),
) -> Result<(UpToDate, bool), Error> {
    let io_error = |e: io::Error| Error::io(name, e);
    let mut data = fs::File::open(file).map_err(io_error)?;
    let meta = data.metadata().map_err(io_error)?;
    let len = meta.len();
    let fits = |old: &Index| {
        old.termtape_index == VERSION
            && (old.dev, old.ino) == (meta.dev(), meta.ino())
            && old.len <= len
            && tail_hash(&mut data, old.len).is_ok_and(|tail| tail == old.tail)
    };
    let old = old.filter(fits);
    let start = old.clone().unwrap_or_else(|| Index {
        termtape_index: VERSION,
        dev: meta.dev(),
        ino: meta.ino(),
        len: 0,
        lines: 0,
        tail: [0; 32],
        validator: Validator::new(true),
        lister: Lister::default(),
    });
    // The index covers whole lines only: the last one may be half written.
    let whole = last_line_end(&mut data, start.len, len).map_err(io_error)?;
    let mut index = start;
    if whole > index.len || old.is_none() {
        (index.lines, index.validator) = read_on(&mut data, name, &mut index, whole, on_damage)?;
        index.len = whole;
        index.tail = tail_hash(&mut data, whole).map_err(io_error)?;
    }
    let changed = Some(&index) != old.as_ref();
    let mut whole_file = index.clone();
    if len > whole {
        read_on(&mut data, name, &mut whole_file, len, on_tail_damage)?;
    }
    Ok((
        UpToDate {
            index,
            lister: whole_file.lister,
        },
        changed,
    ))
}

/// Lists on what `data` (named `name`) holds from where `index` ends to
/// `to`, into its lister, as one reader of the whole file would; gives the
/// reader's line count and sequence checks there.
fn read_on(
    data: &mut fs::File,
    name: &str,
    index: &mut Index,
    to: u64,
    on_damage: &mut dyn FnMut(Error),
) -> Result<(u64, Validator), Error> {
    data.seek(SeekFrom::Start(index.len))
        .map_err(|e| Error::io(name, e))?;
    let input = BufReader::new(data.take(to - index.len));
    let mut reader = Reader::resume(
        input,
        Some(name.to_owned()),
        index.len,
        index.lines,
        index.validator.clone(),
    );
    index
        .lister
        .read(&mut reader, name, &Filter::default(), on_damage)?;
    Ok((reader.line(), reader.validator().clone()))
}

/// The recordings of `lister` that `filter` selects, as reading the file
/// with it would have; `None` when that cannot be told from whole
/// recordings (a recording whose messages name several users or hosts,
/// under `--user` or `--host`).
fn selected(lister: Lister, filter: &Filter) -> Option<Vec<Summary>> {
    let mut out = Vec::new();
    for listed in lister.into_listed() {
        if let Some(rec) = &filter.rec
            && !(listed.named && listed.summary.rec == *rec)
        {
            continue;
        }
        if filter.user.is_some() || filter.host.is_some() {
            if !listed.uniform {
                return None;
            }
            if !filter.accepts_who(&listed.summary.user, &listed.summary.host) {
                continue;
            }
        }
        out.push(listed.summary);
    }
    Some(out)
}

/// Where the last whole line of `file` between `from` and `len` ends (its
/// newline's next byte), or `from` when there is none.
fn last_line_end(file: &mut fs::File, from: u64, len: u64) -> io::Result<u64> {
    let mut end = len;
    let mut chunk = vec![0u8; 64 << 10];
    while end > from {
        let size = (end - from).min(chunk.len() as u64) as usize;
        let at = end - size as u64;
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(&mut chunk[..size])?;
        if let Some(i) = memchr::memrchr(b'\n', &chunk[..size]) {
            return Ok(at + i as u64 + 1);
        }
        end = at;
    }
    Ok(from)
}

/// SHA-256 of the [`TAIL`] bytes of `file` before `end`.
fn tail_hash(file: &mut fs::File, end: u64) -> io::Result<[u8; 32]> {
    let start = end.saturating_sub(TAIL);
    let mut bytes = vec![0u8; (end - start) as usize];
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut bytes)?;
    Ok(Sha256::digest(&bytes).into())
}

/// Writes `index` to `path` whole or not at all: a temporary file beside
/// it, renamed over it.
fn write(path: &Path, index: &Index, file: &Path) -> io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    // As private as the file it lists; made anew, never through a link
    // someone left at its name.
    let mode = fs::metadata(file).map_or(0o600, |m| m.permissions().mode() & 0o644);
    let written = (|| {
        let created = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        let mut out = io::BufWriter::new(created);
        serde_json::to_writer(&mut out, index)?;
        out.write_all(b"\n")?;
        out.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Whether an index file may say what its file holds: a regular file (not
/// a link), owned by the file's owner or root, that no one else may write.
/// In a directory others may write in (`/tmp`), anyone could put an index
/// beside a file they cannot change, and have listings of it lie.
fn trusted(index: &fs::Metadata, file: &fs::Metadata) -> bool {
    index.file_type().is_file()
        && (index.uid() == file.uid() || index.uid() == 0)
        && index.mode() & 0o022 == 0
}

/// Whether `file` has a trusted index at `path` (`None`: none, or one not
/// to trust), and the index, if it reads as one (one that does not is
/// built again).
fn trusted_index(path: &Path, file: &Path) -> Option<Option<Index>> {
    let meta = fs::symlink_metadata(path).ok()?;
    if !trusted(&meta, &fs::metadata(file).ok()?) {
        return None;
    }
    if meta.len() > MAX_INDEX {
        return Some(None);
    }
    Some(
        fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok()),
    )
}

/// `termtape index FILE`: writes (or brings up to date) `file`'s index;
/// damage found is passed to `on_damage`. Gives the index's path and how
/// many recordings it lists.
pub fn build(
    file: &Path,
    name: &str,
    on_damage: &mut dyn FnMut(Error),
) -> Result<(PathBuf, usize), Error> {
    let index_path = path_of(file);
    // One this reader would not trust is replaced (where it may be).
    let old = trusted_index(&index_path, file).flatten();
    let mut tail_damage = 0;
    let (index, _) = brought_up_to_date(file, name, old, on_damage, &mut |_| tail_damage += 1)?;
    write(&index_path, &index.index, file)
        .map_err(|e| Error::io(&index_path.display().to_string(), e))?;
    Ok((index_path, index.index.lister.len()))
}

/// Whether `path` is an index (not a file of recordings).
pub fn is_index(path: &Path) -> bool {
    path.as_os_str()
        .as_encoded_bytes()
        .ends_with(SUFFIX.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message of recording `rec` (user `user`), `id` in it, with some
    /// output, an exit on `last`.
    fn message(rec: &str, user: &str, id: u64, last: bool) -> String {
        let exit = if last { r#","exit":{"code":0}"# } else { "" };
        format!(
            r#"{{"ver":"2.3","host":"h","rec":"{rec}","user":"{user}","term":"xterm","session":1,"id":{id},"pos":{},"time":{}.{:03},"timing":"=80x24>{}","in_txt":"","in_bin":[],"out_txt":"line {id}\r\n","out_bin":[]{exit}}}"#,
            id * 10,
            1_700_000_000 + id / 100,
            id * 10 % 1000,
            format!("line {id}\r\n").len(),
        ) + "\n"
    }

    /// `n` messages of three interleaved recordings, from message `from`.
    fn messages(from: u64, n: u64) -> String {
        (from..from + n)
            .map(|i| {
                let rec = ["a", "b", "c"][(i % 3) as usize];
                message(rec, "u", i / 3 + 1, false)
            })
            .collect()
    }

    /// The listing of `file` read whole, as without an index.
    fn read_whole(file: &Path, filter: &Filter) -> Vec<Summary> {
        let input = io::BufReader::new(fs::File::open(file).expect("open"));
        crate::list::list(input, "f", filter, |_| {}).expect("listed")
    }

    fn indexed(file: &Path, filter: &Filter) -> Option<Vec<Summary>> {
        summaries(file, "f", filter, &mut |_| {}).map(|r| r.expect("listed"))
    }

    /// Asserts that `file` lists through its index as read whole.
    fn lists_as_whole(file: &Path, filter: &Filter) {
        assert_eq!(indexed(file, filter), Some(read_whole(file, filter)));
    }

    /// A central file of `n` messages of three recordings, in a new
    /// directory.
    fn central(n: u64) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("central.log");
        fs::write(&file, messages(0, n)).expect("written");
        (dir, file)
    }

    fn append(file: &Path, text: &str) {
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(file)
            .expect("open");
        f.write_all(text.as_bytes()).expect("appended");
    }

    #[test]
    fn an_index_lists_as_reading_the_whole_file_as_the_file_grows() {
        let (_dir, file) = central(30);
        assert_eq!(indexed(&file, &Filter::default()), None, "no index yet");
        let (path, n) = build(&file, "f", &mut |e| panic!("{e}")).expect("built");
        assert_eq!((path.clone(), n), (path_of(&file), 3));
        let covered = |path: &Path| -> u64 {
            serde_json::from_slice::<Index>(&fs::read(path).expect("index"))
                .expect("an index")
                .len
        };
        assert_eq!(covered(&path), fs::metadata(&file).expect("meta").len());
        let filters = [
            Filter::default(),
            Filter {
                rec: Some("b".to_owned()),
                ..Filter::default()
            },
            Filter {
                user: Some("u".to_owned()),
                ..Filter::default()
            },
            Filter {
                user: Some("v".to_owned()),
                ..Filter::default()
            },
        ];
        for filter in &filters {
            lists_as_whole(&file, filter);
        }
        // Appended: a recording goes on, one ends, a new one starts, and a
        // last line is still being written (no newline yet).
        append(&file, &messages(30, 10));
        append(&file, &message("b", "u", 14, true));
        append(&file, &message("d", "u", 1, false));
        let half = message("d", "u", 2, false);
        append(&file, &half[..half.len() / 2]);
        let before = covered(&path);
        for filter in &filters {
            lists_as_whole(&file, filter);
        }
        // The half line is reported, as reading the file whole reports it.
        let mut reported = Vec::new();
        summaries(&file, "f", &Filter::default(), &mut |e| {
            reported.push(e.to_string())
        });
        let mut whole = Vec::new();
        let input = io::BufReader::new(fs::File::open(&file).expect("open"));
        crate::list::list(input, "f", &Filter::default(), |e| {
            whole.push(e.to_string())
        })
        .expect("listed");
        assert_eq!(reported.len(), 1, "{reported:?}");
        assert_eq!(reported, whole);
        let b = indexed(&file, &Filter::default()).expect("indexed");
        assert!(b.iter().any(|s| s.rec == "b" && s.exit.is_some()), "{b:?}");
        let whole_lines = fs::metadata(&file).expect("meta").len() - (half.len() / 2) as u64;
        assert!(covered(&path) > before, "the index was brought up to date");
        assert_eq!(covered(&path), whole_lines, "up to the last whole line");
        // The line is finished: counted once.
        append(&file, &half[half.len() / 2..]);
        let listed = indexed(&file, &Filter::default()).expect("indexed");
        assert_eq!(listed, read_whole(&file, &Filter::default()));
        let d = listed.iter().find(|s| s.rec == "d").expect("d listed");
        assert_eq!(d.messages, 2);
        // A time window or an origin asks for messages: not the index's.
        let since = Filter {
            since: Some(1_700_000_000_000),
            ..Filter::default()
        };
        assert_eq!(indexed(&file, &since), None);
    }

    #[test]
    fn an_index_that_no_longer_fits_its_file_is_built_again() {
        let (dir, file) = central(30);
        build(&file, "f", &mut |e| panic!("{e}")).expect("built");
        // Rotated: a new, shorter file at the path.
        fs::write(dir.path().join("new.log"), messages(100, 6)).expect("written");
        fs::rename(dir.path().join("new.log"), &file).expect("renamed");
        lists_as_whole(&file, &Filter::default());
        // Rewritten in place, longer, its covered tail changed.
        build(&file, "f", &mut |e| panic!("{e}")).expect("built");
        let mut text = messages(100, 6).replace(r#""rec":"a""#, r#""rec":"x""#);
        text.push_str(&messages(106, 9));
        fs::write(&file, text).expect("rewritten");
        lists_as_whole(&file, &Filter::default());
        // A damaged or foreign index is built again too.
        for junk in [&b"not json"[..], b"{\"termtape_index\":99}", b""] {
            fs::write(path_of(&file), junk).expect("written");
            lists_as_whole(&file, &Filter::default());
        }
    }

    #[test]
    fn an_index_others_could_have_written_is_not_used() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, file) = central(9);
        let (index, _) = build(&file, "f", &mut |e| panic!("{e}")).expect("built");
        assert!(indexed(&file, &Filter::default()).is_some());
        let mode = fs::metadata(&index).expect("index").permissions().mode();
        assert_eq!(mode & 0o022, 0, "written private: {mode:o}");
        // Writable by others; owned by another user; a link.
        fs::set_permissions(&index, fs::Permissions::from_mode(0o666)).expect("chmod");
        assert_eq!(indexed(&file, &Filter::default()), None);
        fs::set_permissions(&index, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(indexed(&file, &Filter::default()).is_some());
        std::os::unix::fs::chown(&index, Some(4242), None).expect("chown");
        assert_eq!(indexed(&file, &Filter::default()), None);
        let real = dir.path().join("real-index");
        fs::rename(&index, &real).expect("moved");
        std::os::unix::fs::chown(&real, Some(0), None).expect("chown");
        std::os::unix::fs::symlink(&real, &index).expect("symlink");
        assert_eq!(indexed(&file, &Filter::default()), None);
        // `termtape index` puts a new one in its place.
        fs::remove_file(&index).expect("removed");
        build(&file, "f", &mut |e| panic!("{e}")).expect("built");
        assert!(indexed(&file, &Filter::default()).is_some());
    }

    #[test]
    fn damage_and_mixed_users_are_left_to_reading_the_whole_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("central.log");
        let mut text = messages(0, 9);
        text.push_str("{\"not\": \"a message\"}\n");
        fs::write(&file, &text).expect("written");
        let mut damaged = 0;
        build(&file, "f", &mut |_| damaged += 1).expect("built");
        assert_eq!(damaged, 1);
        assert_eq!(
            indexed(&file, &Filter::default()),
            None,
            "so that it is reported"
        );
        // A recording whose messages name two users: `--user` reads them.
        fs::write(&file, messages(0, 9) + &message("a", "w", 4, false)).expect("written");
        build(&file, "f", &mut |e| panic!("{e}")).expect("built");
        let user = Filter {
            user: Some("w".to_owned()),
            ..Filter::default()
        };
        assert_eq!(indexed(&file, &user), None);
        lists_as_whole(&file, &Filter::default());
    }

    #[test]
    fn line_numbers_and_sequence_checks_go_on_past_what_the_index_covers() {
        let (_dir, file) = central(9);
        build(&file, "f", &mut |e| panic!("{e}")).expect("built");
        // Recording a's next id is 4: 3 again goes back.
        append(&file, &message("a", "u", 3, false));
        let mut found = Vec::new();
        build(&file, "f", &mut |e| found.push(e.to_string())).expect("built");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("line 10"), "{found:?}");
    }
}
