//! `termtape cat`: a recording's bytes, all at once.

use std::io::{BufRead, Write};

use termtape_format::{Error, Packet, Stream};

use crate::recording::{Query, ReadError, read_packets};

/// Writes every byte of `stream` recorded in the selected recording to `out`,
/// exactly as it was recorded.
pub fn cat(
    input: impl BufRead,
    source: &str,
    query: &Query,
    stream: Stream,
    out: &mut impl Write,
    on_damage: impl FnMut(&Error),
) -> Result<(), ReadError> {
    read_packets(
        input,
        source,
        query,
        |_, t| match t.packet {
            Packet::Io { stream: s, bytes } if s == stream => out.write_all(&bytes),
            _ => Ok(()),
        },
        on_damage,
    )?;
    out.flush().map_err(ReadError::Output)
}
