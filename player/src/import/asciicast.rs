//! asciicast v1 (one JSON document: a header with `stdout`, an array of
//! `[delay, text]`), v2 (a header line, then `[time, code, data]` lines,
//! times from the start) and v3 (the same with intervals and `term`).
//!
//! asciicast holds text: it has no bytes that are not UTF-8 to keep (a
//! JSON string cannot carry them; asciinema writes U+FFFD for them when it
//! records). Markers (`m`) and the exit (`x`) have no place in tlog's
//! format and are left out; codes asciinema does not define are passed
//! over, as asciinema's player does.

use std::io::{BufRead, Read};

use serde_json::Value;

use super::{Clock, Identity, ImportError, meta, millis};
use crate::export::{Event, Sink};

/// The largest asciicast v1 file read: it is one JSON document, read
/// whole.
pub const MAX_V1_LEN: u64 = 256 << 20;

/// The longest event line read (as for tlog lines).
const MAX_LINE: usize = termtape_format::MAX_LINE_LEN;

pub(super) fn import(
    input: &mut dyn BufRead,
    name: &str,
    identity: &Identity,
    sink: &mut dyn Sink,
    on_progress: &mut dyn FnMut(u64),
) -> Result<(), ImportError> {
    let mut line = Vec::new();
    let mut read = read_line(input, &mut line, name, 1)?;
    let first = String::from_utf8_lossy(&line).into_owned();
    let header: Value = match serde_json::from_str(first.trim()) {
        Ok(header) => header,
        // A v1 document spread over several lines.
        Err(_) => return v1(input, line, name, identity, sink),
    };
    let version = header["version"].as_u64();
    if version == Some(1) {
        return v1(input, line, name, identity, sink);
    }
    let v3 = match version {
        Some(2) => false,
        Some(3) => true,
        _ => {
            return Err(ImportError::line(
                name,
                1,
                format!("not an asciicast header (version {})", header["version"]),
            ));
        }
    };
    let size = |v: &Value| v.as_u64().map(|n| n.clamp(1, u64::from(u16::MAX)) as u16);
    let (cols, rows, term) = if v3 {
        let term = &header["term"];
        (
            size(&term["cols"]),
            size(&term["rows"]),
            term["type"].as_str(),
        )
    } else {
        (size(&header["width"]), size(&header["height"]), None)
    };
    let (Some(cols), Some(rows)) = (cols, rows) else {
        return Err(ImportError::line(
            name,
            1,
            "the header has no terminal size",
        ));
    };
    let term = term.or(header["env"]["TERM"].as_str()).map(str::to_owned);
    let start = header["timestamp"].as_f64().and_then(millis);
    sink.begin(&meta(identity, term, start, (cols, rows)))?;
    let (mut clock, mut previous, mut n) = (Clock::default(), 0u64, 1u64);
    loop {
        n += 1;
        line.clear();
        let got = read_line(input, &mut line, name, n)?;
        if got == 0 {
            break;
        }
        read += got;
        if n.is_multiple_of(4096) {
            on_progress(read);
        }
        let text = std::str::from_utf8(&line)
            .map_err(|e| ImportError::line(name, n, format!("not UTF-8: {e}")))?
            .trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let event: (f64, String, Value) = serde_json::from_str(text)
            .map_err(|e| ImportError::line(name, n, format!("not an asciicast event: {e}")))?;
        let time = millis(event.0)
            .ok_or_else(|| ImportError::line(name, n, format!("bad time {}", event.0)))?;
        let at = clock.at(if v3 { previous + time } else { time });
        previous = at;
        let data = || {
            event.2.as_str().ok_or_else(|| {
                ImportError::line(
                    name,
                    n,
                    format!("the {} event's data is not a string", event.1),
                )
            })
        };
        match event.1.as_str() {
            "o" => sink.event(at, Event::Output(data()?.as_bytes()))?,
            "i" => sink.event(at, Event::Input(data()?.as_bytes()))?,
            "r" => {
                let (cols, rows) = parse_size(data()?)
                    .ok_or_else(|| ImportError::line(name, n, "bad resize: not COLSxROWS"))?;
                sink.event(at, Event::Resize(cols, rows))?;
            }
            _ => {}
        }
    }
    sink.end(previous)?;
    Ok(())
}

/// `COLSxROWS`.
pub(crate) fn parse_size(s: &str) -> Option<(u16, u16)> {
    let (cols, rows) = s.split_once('x')?;
    let (cols, rows) = (
        cols.trim().parse::<u16>().ok()?,
        rows.trim().parse::<u16>().ok()?,
    );
    (cols > 0 && rows > 0).then_some((cols, rows))
}

/// Reads one line into `line` (with its newline); 0 at the end.
fn read_line(
    input: &mut dyn BufRead,
    line: &mut Vec<u8>,
    name: &str,
    n: u64,
) -> Result<u64, ImportError> {
    let mut input = input;
    match termtape_format::read_line(&mut input, line, MAX_LINE)? {
        termtape_format::LineEnd::TooLong => Err(ImportError::line(
            name,
            n,
            format!("a line longer than {MAX_LINE} bytes"),
        )),
        _ => Ok(line.len() as u64),
    }
}

/// asciicast v1: one JSON object, `stdout` holding `[delay, text]` pairs.
fn v1(
    input: &mut dyn BufRead,
    first: Vec<u8>,
    name: &str,
    identity: &Identity,
    sink: &mut dyn Sink,
) -> Result<(), ImportError> {
    let mut all = first;
    input.take(MAX_V1_LEN + 1).read_to_end(&mut all)?;
    if all.len() as u64 > MAX_V1_LEN {
        return Err(ImportError::offset(
            name,
            MAX_V1_LEN,
            format!("an asciicast v1 file (one JSON document) longer than {MAX_V1_LEN} bytes"),
        ));
    }
    let doc: Value = serde_json::from_slice(&all).map_err(|e| {
        ImportError::line(name, e.line() as u64, format!("not asciicast JSON: {e}"))
    })?;
    if doc["version"].as_u64() != Some(1) {
        return Err(ImportError::line(
            name,
            1,
            format!("not an asciicast header (version {})", doc["version"]),
        ));
    }
    let size = |v: &Value| v.as_u64().map_or(0, |n| n.min(u64::from(u16::MAX)) as u16);
    let term = doc["env"]["TERM"].as_str().map(str::to_owned);
    sink.begin(&meta(
        identity,
        term,
        None,
        (size(&doc["width"]), size(&doc["height"])),
    ))?;
    let mut at = 0u64;
    for (i, frame) in doc["stdout"].as_array().into_iter().flatten().enumerate() {
        let (Some(delay), Some(text)) = (frame[0].as_f64().and_then(millis), frame[1].as_str())
        else {
            return Err(ImportError::line(
                name,
                1,
                format!("stdout frame {i} is not [delay, text]"),
            ));
        };
        at += delay;
        sink.event(at, Event::Output(text.as_bytes()))?;
    }
    sink.end(at)?;
    Ok(())
}
