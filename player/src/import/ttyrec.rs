//! ttyrec: frames of output, each a header of three little-endian 32-bit
//! numbers (seconds, microseconds, length) and that many bytes, kept
//! exactly (bytes that are not UTF-8 go into tlog's `out_bin`).
//!
//! ttyrec has no size: a frame that holds only xterm's resize sequence
//! `ESC [ 8 ; ROWS ; COLS t` (as `termtape export --format ttyrec` writes
//! sizes) is read as a resize; without one the size is 80x24.

use std::io::BufRead;

use super::{Clock, Identity, ImportError, meta};
use crate::export::{Event, Sink};

/// The longest frame read: longer is damage (ttyrec writes frames of a
/// read(2) of a terminal, a few KiB).
pub const MAX_FRAME: usize = 16 << 20;

/// One frame's header.
struct Frame {
    /// Wall-clock time, ms since the epoch.
    time: u64,
    len: usize,
}

/// Reads a frame's header at `offset`; `None` at a clean end.
fn header(input: &mut dyn BufRead, name: &str, offset: u64) -> Result<Option<Frame>, ImportError> {
    let mut head = [0u8; 12];
    let mut got = 0;
    while got < head.len() {
        match input.read(&mut head[got..])? {
            0 if got == 0 => return Ok(None),
            0 => {
                return Err(ImportError::offset(
                    name,
                    offset,
                    format!("a frame header cut short ({got} of 12 bytes)"),
                ));
            }
            n => got += n,
        }
    }
    let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let (secs, usecs, len) = (word(0), word(4), word(8) as usize);
    if len > MAX_FRAME {
        return Err(ImportError::offset(
            name,
            offset,
            format!("a frame of {len} bytes (more than {MAX_FRAME}): not ttyrec, or damaged"),
        ));
    }
    if usecs >= 1_000_000 {
        return Err(ImportError::offset(
            name,
            offset,
            format!("a frame time with {usecs} microseconds: not ttyrec, or damaged"),
        ));
    }
    Ok(Some(Frame {
        time: u64::from(secs) * 1000 + u64::from(usecs) / 1000,
        len,
    }))
}

/// A frame that is xterm's resize sequence and nothing else: its size.
fn resize(data: &[u8]) -> Option<(u16, u16)> {
    let body = data.strip_prefix(b"\x1b[8;")?.strip_suffix(b"t")?;
    let text = std::str::from_utf8(body).ok()?;
    let (rows, cols) = text.split_once(';')?;
    let (rows, cols) = (rows.parse::<u16>().ok()?, cols.parse::<u16>().ok()?);
    (rows > 0 && cols > 0).then_some((cols, rows))
}

pub(super) fn import(
    input: &mut dyn BufRead,
    name: &str,
    identity: &Identity,
    sink: &mut dyn Sink,
    on_progress: &mut dyn FnMut(u64),
) -> Result<(), ImportError> {
    let mut offset = 0u64;
    let mut data = Vec::new();
    let mut start = None;
    let (mut clock, mut frames) = (Clock::default(), 0u64);
    let mut last = 0;
    while let Some(frame) = header(input, name, offset)? {
        data.resize(frame.len, 0);
        input.read_exact(&mut data).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => ImportError::offset(
                name,
                offset,
                format!("a frame of {} bytes cut short", frame.len),
            ),
            _ => e.into(),
        })?;
        offset += 12 + frame.len as u64;
        frames += 1;
        if frames.is_multiple_of(4096) {
            on_progress(offset);
        }
        let zero = *start.get_or_insert(frame.time);
        let at = clock.at(frame.time.saturating_sub(zero));
        last = at;
        match (resize(&data), frames) {
            (Some(size), 1) => sink.begin(&meta(identity, None, Some(zero), size))?,
            (None, 1) => {
                sink.begin(&meta(identity, None, Some(zero), (80, 24)))?;
                sink.event(at, Event::Output(&data))?;
            }
            (Some((cols, rows)), _) => sink.event(at, Event::Resize(cols, rows))?,
            (None, _) => sink.event(at, Event::Output(&data))?,
        }
    }
    if frames == 0 {
        sink.begin(&meta(identity, None, None, (80, 24)))?;
    }
    sink.end(last)?;
    Ok(())
}
