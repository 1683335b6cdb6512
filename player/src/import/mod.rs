//! `termtape import`: recordings made by other tools (asciinema's asciicast
//! v1, v2 and v3, ttyrec, util-linux `script`'s typescript and timing log)
//! into tlog's format, with keyframes, so that every termtape command reads
//! them.
//!
//! Each reader turns its input into the [`Event`]s of
//! [`crate::export`], which [`Tlog`] cuts into messages as tlog-rec does
//! ([`termtape_format::Encoder`]: invalid UTF-8 goes into the `bin`
//! fields, byte for byte) with keyframes where the recorder would take
//! them ([`termtape_keyframe::Rekeyer`]). Input is read as a stream:
//! memory is bounded by one event (an asciicast v1 file, a single JSON
//! document, up to [`MAX_V1_LEN`]). Damaged input stops the import with an
//! error naming the file and the line or byte offset.

pub mod asciicast;
pub mod script;
pub mod ttyrec;

use std::io::{self, BufRead, Write};
use std::time::Duration;

use termtape_format::{DEFAULT_PAYLOAD, Encoded, Encoder, Header, Location, Stream};
use termtape_keyframe::{Cadence, Rekeyer};

use crate::export::{Event, Meta, Sink};

pub use asciicast::MAX_V1_LEN;

/// The formats `termtape import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// asciicast v1, v2 or v3 (the version is read from the file).
    Asciicast,
    /// ttyrec frames.
    Ttyrec,
    /// A `script` typescript, with its timing log.
    Script,
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The input is damaged: where, and what.
    #[error("{file}:{place}: {what}")]
    Damaged {
        /// The file.
        file: String,
        /// `line N` or `offset N`.
        place: String,
        /// What is wrong.
        what: String,
    },
    /// The format could not be told from the content.
    #[error("{0}: not an asciicast, ttyrec or script typescript (give --format)")]
    Unknown(String),
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl ImportError {
    pub(crate) fn line(file: &str, line: u64, what: impl std::fmt::Display) -> ImportError {
        ImportError::Damaged {
            file: file.to_owned(),
            place: format!("line {line}"),
            what: what.to_string(),
        }
    }

    pub(crate) fn offset(file: &str, offset: u64, what: impl std::fmt::Display) -> ImportError {
        ImportError::Damaged {
            file: file.to_owned(),
            place: format!("offset {offset}"),
            what: what.to_string(),
        }
    }
}

/// Tells the format from the first bytes of `input` (which stay unread).
pub fn detect(input: &mut impl BufRead, name: &str) -> Result<Format, ImportError> {
    let head = input.fill_buf()?;
    let text = head.trim_ascii_start();
    if text.starts_with(b"{") {
        return Ok(Format::Asciicast);
    }
    if head.starts_with(b"Script started on ") {
        return Ok(Format::Script);
    }
    if head.len() >= 12 {
        let len = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
        if (len as usize) <= ttyrec::MAX_FRAME {
            return Ok(Format::Ttyrec);
        }
    }
    Err(ImportError::Unknown(name.to_owned()))
}

/// Who and where, for recordings whose format does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The recording id given to the import.
    pub rec: String,
    /// User name (the formats have none).
    pub user: String,
    /// Host name.
    pub host: String,
}

/// How long a message may span before it is cut, so that a player's
/// latency and a seek's replay stay short in a long idle recording.
const MESSAGE_SPAN: u64 = 10_000;

/// Writes events as a tlog recording, with keyframes.
pub struct Tlog<W: Write> {
    out: W,
    encoder: Option<Encoder>,
    rekeyer: Rekeyer,
    line: Vec<u8>,
    lines: u64,
    name: String,
}

impl<W: Write> Tlog<W> {
    /// A writer to `out`, named `name` in errors.
    pub fn new(out: W, name: &str) -> Tlog<W> {
        Tlog {
            out,
            encoder: None,
            rekeyer: Rekeyer::new(Cadence::default()),
            line: Vec::new(),
            lines: 0,
            name: name.to_owned(),
        }
    }

    /// Messages written so far.
    pub fn messages(&self) -> u64 {
        self.lines
    }

    /// Runs `f` on the encoder with the callback that writes each finished
    /// message, with its keyframe if one is due.
    fn with(
        &mut self,
        f: impl FnOnce(&mut Encoder, &mut dyn FnMut(Encoded<'_>) -> io::Result<()>) -> io::Result<()>,
    ) -> io::Result<()> {
        let Tlog {
            out,
            encoder,
            rekeyer,
            line,
            lines,
            name,
        } = self;
        let Some(encoder) = encoder.as_mut() else {
            return Err(io::Error::other("an event before the recording began"));
        };
        let mut emit = |m: Encoded<'_>| -> io::Result<()> {
            *lines += 1;
            let json = m.json.strip_suffix(b"\n").unwrap_or(m.json);
            let text = std::str::from_utf8(json).map_err(io::Error::other)?;
            line.clear();
            let at = Location {
                source: Some(name.clone()),
                line: *lines,
                id: Some(m.id),
            };
            rekeyer.line(text, &at, line).map_err(io::Error::other)?;
            out.write_all(line)
        };
        f(encoder, &mut emit)
    }
}

impl<W: Write> Sink for Tlog<W> {
    fn begin(&mut self, meta: &Meta) -> io::Result<()> {
        let header = Header {
            host: meta.host.clone(),
            rec: meta.rec.clone(),
            user: meta.user.clone(),
            term: meta.term.clone(),
            session: termtape_format::UNSET_ID,
        };
        let epoch = Duration::from_millis(meta.start.unwrap_or(0));
        let encoder = Encoder::new(&header, DEFAULT_PAYLOAD, epoch).map_err(io::Error::other)?;
        self.encoder = Some(encoder);
        let (cols, rows) = (meta.cols, meta.rows);
        self.with(|enc, emit| enc.window(Duration::ZERO, cols, rows, &mut |m| emit(m)))
    }

    fn event(&mut self, at: u64, event: Event<'_>) -> io::Result<()> {
        let time = Duration::from_millis(at);
        self.with(|enc, emit| {
            let mut emit = |m: Encoded<'_>| emit(m);
            if enc
                .pending_since()
                .is_some_and(|since| at >= since.as_millis() as u64 + MESSAGE_SPAN)
            {
                enc.flush(&mut emit)?;
            }
            match event {
                Event::Output(bytes) => enc.io(time, Stream::Output, bytes, &mut emit),
                Event::Input(bytes) => enc.io(time, Stream::Input, bytes, &mut emit),
                Event::Resize(cols, rows) => enc.window(time, cols, rows, &mut emit),
                Event::Marker(_) | Event::Exit(_) => Ok(()),
            }
        })
    }

    fn end(&mut self, _at: u64) -> io::Result<()> {
        self.with(|enc, emit| {
            let mut emit = |m: Encoded<'_>| emit(m);
            enc.cut(&mut emit)?;
            enc.flush(&mut emit)
        })?;
        self.out.flush()
    }
}

/// Imports `input` (named `name` in errors) in `format` into `sink`.
/// `on_progress` gets the bytes read now and then.
pub fn import(
    format: Format,
    input: &mut dyn BufRead,
    name: &str,
    script: &script::Logs,
    identity: &Identity,
    sink: &mut dyn Sink,
    on_progress: &mut dyn FnMut(u64),
) -> Result<(), ImportError> {
    match format {
        Format::Asciicast => asciicast::import(input, name, identity, sink, on_progress),
        Format::Ttyrec => ttyrec::import(input, name, identity, sink, on_progress),
        Format::Script => script::import(input, name, script, identity, sink, on_progress),
    }
}

/// The [`Meta`] of an imported recording.
pub(crate) fn meta(
    identity: &Identity,
    term: Option<String>,
    start: Option<u64>,
    (cols, rows): (u16, u16),
) -> Meta {
    Meta {
        rec: identity.rec.clone(),
        user: identity.user.clone(),
        host: identity.host.clone(),
        term: term.unwrap_or_else(|| "xterm".to_owned()),
        start,
        cols: cols.max(1),
        rows: rows.max(1),
    }
}

/// Times that never go back: a time before the previous one is taken as
/// the previous one.
#[derive(Debug, Default)]
pub(crate) struct Clock(u64);

impl Clock {
    pub(crate) fn at(&mut self, ms: u64) -> u64 {
        self.0 = self.0.max(ms);
        self.0
    }
}

/// Seconds (a JSON or text number) as milliseconds, rounded; `None` if not
/// a finite non-negative number.
pub(crate) fn millis(seconds: f64) -> Option<u64> {
    (0.0..1e15)
        .contains(&seconds)
        .then(|| (seconds * 1000.0).round() as u64)
}
