//! `termtape cat`: a recording's bytes, all at once.

use std::io::{BufRead, Write};

use termtape_format::{Error, Location, Packet, Redaction, Stream};

use crate::gap::Gap;
use crate::recording::{Query, ReadError, read_packets};
use crate::redaction::Marks;

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
    // Input shows where keys were redacted.
    let mut marks = Marks::default();
    let on_damage = std::cell::RefCell::new(on_damage);
    read_packets(
        input,
        source,
        query,
        |msg, t| {
            if current != Some(msg.id) {
                current = Some(msg.id);
                if stream == Stream::Input {
                    let at = Location {
                        source: Some(source.to_owned()),
                        line: 0,
                        id: Some(msg.id),
                    };
                    if let Err(e) = marks.message(msg, &at, out)? {
                        (on_damage.borrow_mut())(&e);
                    }
                }
                if let Some(gap) = Gap::of(msg) {
                    out.flush()?;
                    on_gap(&gap);
                }
            }
            match t.packet {
                Packet::Io {
                    stream: Stream::Input,
                    bytes,
                } if stream == Stream::Input => marks.input(&bytes, out),
                Packet::Io { stream: s, bytes } if s == stream => out.write_all(&bytes),
                _ => Ok(()),
            }
        },
        |e| (on_damage.borrow_mut())(e),
    )?;
    marks.finish(out).map_err(ReadError::Output)?;
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
            if stream != Stream::Input {
                return out.write_all(&bytes);
            }
            // Originals are whole messages: a mark goes before the
            // message's input if it was there, else after it.
            let marks = msg.redactions(&at).unwrap_or_default();
            let (first, last): (Vec<&Redaction>, Vec<&Redaction>) =
                marks.iter().partition(|m| m.offset == 0);
            for m in first {
                out.write_all(m.label().as_bytes())?;
            }
            out.write_all(&bytes)?;
            for m in last {
                out.write_all(m.label().as_bytes())?;
            }
            Ok(())
        },
        on_damage,
    )?;
    out.flush().map_err(ReadError::Output)
}
