//! `termtape ls`: one line per recording in a source.

use std::collections::HashMap;
use std::io::BufRead;

use termtape_format::{Error, Reader, Stream, timing};

use crate::source::Filter;
use crate::time;

/// What a listing says of one recording.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Recording id (or host/session for old messages without one).
    pub rec: String,
    /// Recorded user.
    pub user: String,
    /// Host.
    pub host: String,
    /// Terminal type.
    pub term: String,
    /// Wall-clock start, milliseconds since the epoch, if the messages say.
    pub start: Option<u64>,
    /// Milliseconds from the first to the last recorded event.
    pub duration: u64,
    /// Number of messages.
    pub messages: u64,
    /// Output bytes recorded.
    pub output_bytes: u64,
    /// Input bytes recorded.
    pub input_bytes: u64,
}

/// Summarises every recording in `input`, in order of first appearance.
/// Damage is passed to `on_damage` and passed over; I/O errors end it.
pub fn list(
    input: impl BufRead,
    source: &str,
    filter: &Filter,
    mut on_damage: impl FnMut(&Error),
) -> Result<Vec<Summary>, Error> {
    let mut order: Vec<Summary> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut reader = Reader::new(input, Some(source.to_owned()), true);
    while let Some(item) = reader.next() {
        let msg = match item {
            Ok(msg) => msg,
            Err(e) if e.is_io() => return Err(e),
            Err(e) => {
                on_damage(&e);
                continue;
            }
        };
        if !filter.accepts_in_any(&msg) {
            continue;
        }
        let key = msg.recording_key();
        let i = *index.entry(key.clone()).or_insert_with(|| {
            order.push(Summary {
                rec: key,
                user: msg.user.clone(),
                host: msg.host.clone(),
                term: msg.term.clone(),
                start: msg.time.map(|t| t.saturating_sub(msg.pos)),
                ..Summary::default()
            });
            order.len() - 1
        });
        let summary = &mut order[i];
        summary.messages += 1;
        let delays: u64 = timing::parse(&msg.timing)
            .map(|records| {
                records
                    .iter()
                    .map(|r| {
                        if let timing::Record::Delay(ms) = r {
                            *ms
                        } else {
                            0
                        }
                    })
                    .sum()
            })
            .unwrap_or(0);
        summary.duration = summary.duration.max(msg.pos + delays);
        let at = termtape_format::Location {
            source: Some(source.to_owned()),
            line: reader.line(),
            id: Some(msg.id),
        };
        match (
            msg.bytes(Stream::Output, &at),
            msg.bytes(Stream::Input, &at),
        ) {
            (Ok(out), Ok(inp)) => {
                summary.output_bytes += out.len() as u64;
                summary.input_bytes += inp.len() as u64;
            }
            (Err(e), _) | (_, Err(e)) => on_damage(&e),
        }
    }
    Ok(order)
}

/// Formats summaries as an aligned table with a header line.
pub fn table(summaries: &[Summary]) -> String {
    let header = [
        "RECORDING",
        "USER",
        "HOST",
        "TERM",
        "START",
        "DURATION",
        "MESSAGES",
        "OUT BYTES",
        "IN BYTES",
    ];
    let rows: Vec<[String; 9]> = summaries
        .iter()
        .map(|s| {
            [
                s.rec.clone(),
                s.user.clone(),
                s.host.clone(),
                s.term.clone(),
                s.start.map_or_else(|| "-".to_owned(), time::local),
                time::duration(s.duration),
                s.messages.to_string(),
                s.output_bytes.to_string(),
                s.input_bytes.to_string(),
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            // Numbers align right, text left.
            if i >= 6 {
                l.push_str(&format!("{cell:>w$}"));
            } else {
                l.push_str(&format!("{cell:<w$}"));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}
