//! `termtape cat`: a recording's bytes, all at once.

use std::io::{BufRead, Write};

use termtape_format::{Error, Packet, Stream};

use crate::recording::{Damage, ReadError, Selection, read_packets};

/// Writes every byte of `stream` recorded in the selected recording to `out`,
/// exactly as it was recorded.
pub fn cat(
    input: impl BufRead,
    source: &str,
    selection: &Selection,
    stream: Stream,
    damage: Damage,
    out: &mut impl Write,
    on_damage: impl FnMut(&Error),
) -> Result<(), ReadError> {
    read_packets(
        input,
        source,
        selection,
        damage,
        |_, t| match t.packet {
            Packet::Io { stream: s, bytes } if s == stream => out.write_all(&bytes),
            _ => Ok(()),
        },
        on_damage,
    )?;
    out.flush().map_err(ReadError::Output)
}
