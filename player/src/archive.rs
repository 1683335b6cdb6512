//! `termtape archive`: recordings into seekable zstd archives, one file per
//! recording; `termtape unarchive`: an archive's JSON lines back.
//!
//! An archive holds a recording's JSON lines, byte for byte as the source
//! gave them (a recording without keyframes, such as one made by tlog, gets
//! them added as `termtape keyframe` adds them), compressed in the seekable
//! zstd format: independent zstd frames, each with its checksum, and the
//! seek table at the end. A frame starts at a line, and a new one at a
//! keyframe once the frame holds [`FRAME_MIN`] bytes (or at any line once it
//! holds [`FRAME_MAX`]), so that a seek decompresses one frame of about a
//! megabyte and replays from a keyframe at its start or within it. The
//! archive is read in place by every command (see
//! [`crate::source::Archive`]), and by any zstd reader.

use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use termtape_format::extension;
use termtape_format::{Error, LineEnd, Location, MAX_LINE_LEN, Message};
use termtape_keyframe::{Cadence, FIELD, Rekeyer};

use crate::source::{Filter, Source};

/// A frame is ended at a keyframe once it holds this many bytes of lines.
pub const FRAME_MIN: usize = 1 << 20;
/// A frame is ended at any line once it holds this many bytes.
pub const FRAME_MAX: usize = 8 << 20;
/// The zstd level `termtape archive` compresses at by default (on
/// recordings, higher levels gain little for their time; see README).
pub const LEVEL: i32 = 9;

/// How an archive is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The zstd level.
    pub level: i32,
    /// A frame is ended at a keyframe once it holds this many bytes.
    pub frame_min: usize,
    /// A frame is ended at any line once it holds this many bytes (at most
    /// [`FRAME_MAX`]: readers refuse bigger frames).
    pub frame_max: usize,
    /// When to add keyframes to a recording that has none.
    pub cadence: Cadence,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            level: LEVEL,
            frame_min: FRAME_MIN,
            frame_max: FRAME_MAX,
            cadence: Cadence::default(),
        }
    }
}

/// Writes lines into a seekable zstd archive, a frame starting at a
/// keyframe (see the [module](self) documentation).
pub struct Writer<W: Write> {
    encoder: zeekstd::Encoder<'static, W>,
    /// Bytes of lines in the current frame.
    in_frame: usize,
    frame_min: usize,
    frame_max: usize,
}

impl<W: Write> std::fmt::Debug for Writer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("in_frame", &self.in_frame)
            .finish_non_exhaustive()
    }
}

fn zstd_error(e: zeekstd::Error) -> io::Error {
    io::Error::other(format!("compressing: {e}"))
}

impl<W: Write> Writer<W> {
    /// An archive written to `out`, as `options` say.
    pub fn new(out: W, options: &Options) -> io::Result<Writer<W>> {
        let encoder = zeekstd::EncodeOptions::new()
            .checksum_flag(true)
            .compression_level(options.level)
            // The frames are ended here, at keyframes: the crate's own
            // limit only ever applies to a frame past any this writer makes.
            .frame_size_policy(zeekstd::FrameSizePolicy::Uncompressed(
                zeekstd::SEEKABLE_MAX_FRAME_SIZE as u32,
            ))
            .into_encoder(out)
            .map_err(zstd_error)?;
        Ok(Writer {
            encoder,
            in_frame: 0,
            frame_min: options.frame_min,
            frame_max: options.frame_max.min(FRAME_MAX),
        })
    }

    /// Adds `line` (with its newline); `keyframe` says it carries one.
    pub fn line(&mut self, line: &[u8], keyframe: bool) -> io::Result<()> {
        if self.in_frame > 0
            && ((keyframe && self.in_frame >= self.frame_min) || self.in_frame >= self.frame_max)
        {
            self.encoder.end_frame().map_err(zstd_error)?;
            self.in_frame = 0;
        }
        let mut done = 0;
        while done < line.len() {
            done += self.encoder.compress(&line[done..]).map_err(zstd_error)?;
        }
        self.in_frame += line.len();
        Ok(())
    }

    /// Ends the last frame and writes the seek table; returns the bytes
    /// written in all.
    pub fn finish(self) -> io::Result<u64> {
        self.encoder.finish().map_err(zstd_error)
    }
}

/// What an archive was made of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Archived {
    /// Lines written.
    pub lines: u64,
    /// Keyframes added (for a recording that had none).
    pub keyframes_added: u64,
    /// The recording is chained and its first message carries no keyframe:
    /// it was archived as it is, since added keyframes would break its chain
    /// (seeking in it replays from its start).
    pub chained_without_keyframes: bool,
    /// Bytes of lines written.
    pub bytes: u64,
    /// Bytes of archive written.
    pub compressed: u64,
}

/// Writes the lines of recording `rec` read from `input` (named `name`)
/// into `out` as an archive. Lines of other recordings are passed over;
/// damaged lines (that do not parse) are passed over and told to
/// `on_damage`. The lines go byte for byte, unless the recording's first
/// message carries no keyframe and no hash chain: then keyframes are added
/// by [`Options::cadence`]. A chained recording is never changed: a line
/// with a keyframe added would no longer match its link, and the archive
/// would verify as edited.
pub fn archive(
    mut input: impl BufRead,
    name: &str,
    rec: &str,
    out: impl Write,
    options: &Options,
    mut on_damage: impl FnMut(&Error),
) -> io::Result<Archived> {
    let mut writer = Writer::new(out, options)?;
    let mut done = Archived::default();
    let mut rekeyer: Option<Rekeyer> = None;
    let mut first = true;
    let (mut line, mut keyed) = (Vec::new(), Vec::new());
    let mut number = 0u64;
    loop {
        line.clear();
        let at = |number| Location {
            source: Some(name.to_owned()),
            line: number,
            id: None,
        };
        match termtape_format::read_line(&mut input, &mut line, MAX_LINE_LEN)? {
            LineEnd::Eof => break,
            LineEnd::TooLong => {
                number += 1;
                termtape_format::skip_line(&mut input)?;
                on_damage(&Error::TooLong { at: at(number) });
                continue;
            }
            LineEnd::Newline | LineEnd::Unterminated => number += 1,
        }
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        if body.trim_ascii().is_empty() {
            continue;
        }
        let parsed = std::str::from_utf8(body)
            .map_err(|e| Error::InvalidField {
                at: at(number),
                field: "line",
                reason: format!(
                    "the line is not UTF-8 (bad byte at offset {})",
                    e.valid_up_to()
                ),
            })
            .and_then(|text| Message::parse(text.trim_end(), &at(number)).map(|m| (text, m)));
        let (text, msg) = match parsed {
            Ok(parsed) => parsed,
            Err(e) => {
                on_damage(&e);
                continue;
            }
        };
        if msg.recording_key() != rec && msg.rec.as_deref() != Some(rec) {
            continue;
        }
        let has_keyframe = msg.extra(FIELD).is_some();
        if first && !has_keyframe {
            match msg.extra(termtape_format::chain::CHAIN) {
                Some(_) => done.chained_without_keyframes = true,
                None => rekeyer = Some(Rekeyer::new(options.cadence)),
            }
        }
        first = false;
        keyed.clear();
        let keyframe = match &mut rekeyer {
            None => {
                keyed.extend_from_slice(body);
                keyed.push(b'\n');
                has_keyframe
            }
            Some(rekeyer) => match rekeyer.line(text, &at(number), &mut keyed) {
                Ok(added) => {
                    done.keyframes_added += u64::from(added && !has_keyframe);
                    added
                }
                Err(e) => {
                    on_damage(&e);
                    extension::find(&keyed, FIELD).is_ok_and(|kf| kf.is_some())
                }
            },
        };
        writer.line(&keyed, keyframe)?;
        done.lines += 1;
        done.bytes += keyed.len() as u64;
    }
    done.compressed = writer.finish()?;
    Ok(done)
}

/// The file name of recording `rec`'s archive: the id with anything but
/// letters, digits, `-`, `_` and `.` written as `%XX` (ids come from the
/// recording), and `.tlog.zst`.
pub fn file_name(rec: &str) -> String {
    let mut name = String::new();
    for b in rec.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => name.push(b as char),
            // A leading dot would hide the file, `..` climb out of DIR.
            b'.' if !name.is_empty() => name.push('.'),
            _ => name.push_str(&format!("%{b:02X}")),
        }
    }
    if name.is_empty() {
        // `%` alone never comes from an escape.
        name.push('%');
    }
    name.push_str(".tlog.zst");
    name
}

/// What [`archive_into`] did with one recording.
#[derive(Debug)]
pub enum Outcome {
    /// Written to this path.
    Written(PathBuf, Archived),
    /// Left alone: an archive of it is there already.
    Exists(PathBuf),
}

/// Archives recording `rec` of `source` into `dir` (see [`file_name`]).
/// Without `force`, an existing archive is left alone; the new one is
/// written beside it under a temporary name and put in place whole, so an
/// interrupted run leaves no partial archive under the final name. The
/// archive's permissions are the source file's (`0600` for the journal),
/// never wider.
pub fn archive_into(
    source: &dyn Source,
    trust: &crate::source::Trust,
    rec: &str,
    (dir, force): (&Path, bool),
    options: &Options,
    on_damage: impl FnMut(&Error),
) -> io::Result<Outcome> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let path = dir.join(file_name(rec));
    if !force && fs::symlink_metadata(&path).is_ok() {
        return Ok(Outcome::Exists(path));
    }
    let mode = source
        .metadata()
        .map_or(0o600, |m| m.permissions().mode() & 0o666);
    let partial = dir.join(format!(
        ".{}.partial-{}",
        file_name(rec),
        std::process::id()
    ));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&partial)
        .map_err(|e| io::Error::new(e.kind(), format!("creating {}: {e}", partial.display())))?;
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    let filter = Filter {
        rec: Some(rec.to_owned()),
        trust: trust.clone(),
        ..Filter::default()
    };
    let written = source
        .open(&filter)
        .map_err(crate::source::SourceError::into_io)
        .and_then(|input| {
            let mut out = io::BufWriter::with_capacity(256 * 1024, file);
            let done = archive(input, &source.name(), rec, &mut out, options, on_damage)?;
            out.into_inner()
                .map_err(io::IntoInnerError::into_error)?
                .sync_all()?;
            Ok(done)
        })
        .and_then(|done| {
            if force {
                fs::rename(&partial, &path)?;
            } else {
                // Linking fails if the name was taken meanwhile: nothing is
                // overwritten.
                fs::hard_link(&partial, &path)?;
                fs::remove_file(&partial)?;
            }
            Ok(done)
        });
    match written {
        Ok(done) => Ok(Outcome::Written(path, done)),
        Err(e) => {
            let _ = fs::remove_file(&partial);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recording of `n` messages of output without keyframes; with
    /// `chain`, each carries a `chain` member as a chained one does.
    fn unkeyed(n: u64, chain: bool) -> String {
        let mut log = String::new();
        for id in 1..=n {
            let link = if chain {
                r#","chain":"AAAAAAAAAAA""#
            } else {
                ""
            };
            log.push_str(&format!(
                concat!(
                    r#"{{"ver":"2.3","host":"h","rec":"r","user":"u","term":"xterm","#,
                    r#""session":1,"id":{},"pos":{},"timing":"=80x24+0>6","#,
                    r#""in_txt":"","in_bin":[],"out_txt":"line\r\n","out_bin":[]{}}}"#,
                    "\n"
                ),
                id,
                id * 100,
                link
            ));
        }
        log
    }

    fn archived(log: &str) -> (Archived, Vec<u8>) {
        let mut out = Vec::new();
        // The first message is always given a keyframe, if any are added.
        let options = Options::default();
        let done = archive(log.as_bytes(), "test", "r", &mut out, &options, |e| {
            panic!("{e}")
        })
        .expect("archived");
        (done, zstd::decode_all(&out[..]).expect("zstd reads it"))
    }

    #[test]
    fn a_chained_recording_is_archived_unchanged_and_an_unchained_one_keyed() {
        let (done, lines) = archived(&unkeyed(30, false));
        assert!(done.keyframes_added > 0, "{done:?}");
        assert!(!done.chained_without_keyframes);
        assert_ne!(lines, unkeyed(30, false).as_bytes());

        let chained = unkeyed(30, true);
        let (done, lines) = archived(&chained);
        assert_eq!(done.keyframes_added, 0);
        assert!(done.chained_without_keyframes);
        assert_eq!(String::from_utf8(lines).expect("UTF-8"), chained);
    }

    #[test]
    fn file_names_cannot_leave_the_directory_or_hide() {
        assert_eq!(file_name("a1-b_2.c"), "a1-b_2.c.tlog.zst");
        assert_eq!(file_name("../x"), "%2E.%2Fx.tlog.zst");
        assert_eq!(file_name(".."), "%2E..tlog.zst");
        assert_eq!(file_name("host/12"), "host%2F12.tlog.zst");
        assert_eq!(file_name(""), "%.tlog.zst");
    }
}
