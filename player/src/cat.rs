//! `termtape cat`: a recording's bytes, all at once.

use std::io::{BufRead, Write};

use termtape_format::{Error, Location, Packet, Stream};

use crate::gap::Gap;
use crate::recording::{Query, ReadError, read_packets};

/// Writes every byte of `stream` recorded in the selected recording to `out`,
/// exactly as it was recorded. `on_gap` is told of each place where a rate
/// limit dropped messages, after what came before it was written.
pub fn cat(
    input: impl BufRead,
    source: &str,
    query: &Query,
    stream: Stream,
    out: &mut impl Write,
    mut on_gap: impl FnMut(&Gap),
    on_damage: impl FnMut(&Error),
) -> Result<(), ReadError> {
    let mut current = None;
    read_packets(
        input,
        source,
        query,
        |msg, t| {
            if current != Some(msg.id) {
                current = Some(msg.id);
                if let Some(gap) = Gap::of(msg) {
                    out.flush()?;
                    on_gap(&gap);
                }
            }
            match t.packet {
                Packet::Io { stream: s, bytes } if s == stream => out.write_all(&bytes),
                _ => Ok(()),
            }
        },
        on_damage,
    )?;
    out.flush().map_err(ReadError::Output)
}

/// As [`cat`], but writes the original bytes of a session recorded in a
/// legacy charset, byte for byte as they were before conversion (see
/// [`crate::original`]); other recordings come out as with [`cat`].
pub fn cat_original(
    input: impl BufRead,
    source: &str,
    query: &Query,
    stream: Stream,
    out: &mut impl Write,
    mut on_gap: impl FnMut(&Gap),
    on_damage: impl FnMut(&Error),
) -> Result<(), ReadError> {
    let mut current = None;
    let mut bytes = Vec::new();
    read_packets(
        input,
        source,
        query,
        |msg, _| {
            if current == Some(msg.id) {
                return Ok(());
            }
            current = Some(msg.id);
            if let Some(gap) = Gap::of(msg) {
                out.flush()?;
                on_gap(&gap);
            }
            let at = Location {
                source: Some(source.to_owned()),
                line: 0,
                id: Some(msg.id),
            };
            bytes.clear();
            crate::original::append(msg, stream, &at, &mut bytes)?;
            out.write_all(&bytes)
        },
        on_damage,
    )?;
    out.flush().map_err(ReadError::Output)
}
