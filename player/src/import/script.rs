//! util-linux `script`'s typescript and timing log.
//!
//! The timing log comes in two forms: classic (`script -t`, output only:
//! `DELAY BYTES` lines) and advanced (`script -T` with more than output
//! logged: `O`/`I DELAY BYTES` for output and input, `S DELAY SIGWINCH
//! ROWS=R COLS=C` for a resize, `H 0.000000 NAME VALUE` for information:
//! `START_TIME`, `TERM`, `COLUMNS`, `LINES`). Delays are seconds since the
//! previous line. The typescript's first line (`Script started on …`,
//! with the size and terminal when `script` ran on one) is not output; its
//! bytes after it are, exactly as `script` logged them. Input is read from
//! its own log (`script -I`), or from the typescript itself when `script
//! -B` logged both into one file.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use super::{Clock, Identity, ImportError, meta, millis};
use crate::export::{Event, Sink};

/// Where the logs besides the typescript are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Logs {
    /// The timing log.
    pub timing: Option<PathBuf>,
    /// The input log, when input was logged apart.
    pub input: Option<PathBuf>,
}

/// The longest timing line or output entry read.
const MAX_ENTRY: u64 = 64 << 20;

/// What the typescript's first line and the timing's `H` lines say.
#[derive(Debug, Default)]
struct Info {
    start: Option<u64>,
    term: Option<String>,
    cols: Option<u16>,
    rows: Option<u16>,
    /// `-B`: input and output logged into one file.
    one_log: bool,
}

/// A `script` time: `2026-11-30 19:41:31+00:00`, ms since the epoch.
fn parse_time(s: &str) -> Option<u64> {
    let ts = jiff::fmt::strtime::parse("%Y-%m-%d %H:%M:%S%:z", s.trim())
        .ok()?
        .to_timestamp()
        .ok()?;
    u64::try_from(ts.as_millisecond()).ok()
}

/// `NAME="VALUE"` in the typescript's first line.
fn quoted<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!("{name}=\""))? + name.len() + 2;
    let len = line[start..].find('"')?;
    Some(&line[start..start + len])
}

pub(super) fn import(
    input: &mut dyn BufRead,
    name: &str,
    logs: &Logs,
    identity: &Identity,
    sink: &mut dyn Sink,
    on_progress: &mut dyn FnMut(u64),
) -> Result<(), ImportError> {
    let Some(timing_path) = &logs.timing else {
        return Err(ImportError::Damaged {
            file: name.to_owned(),
            place: "line 1".to_owned(),
            what: "a typescript needs its timing log (--timing FILE; FILE.timing is looked \
                   for beside it)"
                .to_owned(),
        });
    };
    let timing_name = timing_path.display().to_string();
    let mut timing = BufReader::new(File::open(timing_path)?);
    // The typescript's first line.
    let mut first = Vec::new();
    (&mut *input)
        .take(64 * 1024)
        .read_until(b'\n', &mut first)?;
    let mut info = Info::default();
    let mut output_offset = first.len() as u64;
    let first = String::from_utf8_lossy(&first).into_owned();
    if let Some(rest) = first.strip_prefix("Script started on ") {
        info.start = rest.split(" [").next().and_then(parse_time);
        info.term = quoted(rest, "TERM").map(str::to_owned);
        info.cols = quoted(rest, "COLUMNS").and_then(|c| c.parse().ok());
        info.rows = quoted(rest, "LINES").and_then(|c| c.parse().ok());
    } else {
        return Err(ImportError::line(
            name,
            1,
            "not a typescript (its first line is not `Script started on …`)",
        ));
    }
    // The timing's header lines first: the size comes before any output.
    let mut entries = Vec::new();
    let mut line = String::new();
    let mut n = 0u64;
    let mut input_log = None::<PathBuf>;
    let mut output_log = None::<String>;
    loop {
        line.clear();
        let got = (&mut timing).take(MAX_ENTRY).read_line(&mut line)?;
        if got == 0 {
            break;
        }
        n += 1;
        let text = line.trim_end_matches('\n');
        let Some(rest) = text.strip_prefix("H ") else {
            entries.push((n, text.to_owned()));
            break;
        };
        let mut words = rest.splitn(3, ' ');
        let (_, key, value) = (
            words.next(),
            words.next().unwrap_or(""),
            words.next().unwrap_or(""),
        );
        match key {
            "START_TIME" => info.start = parse_time(value).or(info.start),
            "TERM" => info.term = Some(value.to_owned()),
            "COLUMNS" => info.cols = value.parse().ok().or(info.cols),
            "LINES" => info.rows = value.parse().ok().or(info.rows),
            "OUTPUT_LOG" => output_log = Some(value.to_owned()),
            "INPUT_LOG" => input_log = Some(PathBuf::from(value)),
            _ => {}
        }
    }
    info.one_log =
        matches!((&output_log, &input_log), (Some(o), Some(i)) if std::path::Path::new(o) == i);
    let size = (info.cols.unwrap_or(80), info.rows.unwrap_or(24));
    sink.begin(&meta(identity, info.term.clone(), info.start, size))?;
    let mut inputs: Option<Box<dyn Read>> = None;
    let (mut clock, mut at) = (Clock::default(), 0u64);
    let mut data = Vec::new();
    let mut pending = entries.pop();
    loop {
        let (n, text) = match pending.take() {
            Some(entry) => entry,
            None => {
                line.clear();
                if (&mut timing).take(MAX_ENTRY).read_line(&mut line)? == 0 {
                    break;
                }
                n += 1;
                (n, line.trim_end_matches('\n').to_owned())
            }
        };
        if text.is_empty() {
            continue;
        }
        let bad = |what: &str| ImportError::line(&timing_name, n, format!("{what}: {text:?}"));
        let mut words = text.split_ascii_whitespace();
        let first = words.next().unwrap_or("");
        let (kind, delay) = match first {
            "O" | "I" | "S" | "H" => (first, words.next().unwrap_or("")),
            _ => ("O", first),
        };
        let delay = delay
            .parse::<f64>()
            .ok()
            .and_then(millis)
            .ok_or_else(|| bad("not a timing entry (bad delay)"))?;
        at = clock.at(at + delay);
        match kind {
            "O" | "I" => {
                let len: u64 = words
                    .next()
                    .and_then(|w| w.parse().ok())
                    .filter(|&l| l <= MAX_ENTRY)
                    .ok_or_else(|| bad("not a timing entry (bad length)"))?;
                data.clear();
                let from_typescript = kind == "O" || info.one_log;
                let got = if from_typescript {
                    (&mut *input).take(len).read_to_end(&mut data)?
                } else {
                    if inputs.is_none() {
                        let path = logs.input.clone().or(input_log.clone()).ok_or_else(|| {
                            bad("input entries, but no input log (--input-log FILE)")
                        })?;
                        let mut file = BufReader::new(File::open(&path).map_err(|e| {
                            bad(&format!(
                                "cannot open the input log {}: {e}",
                                path.display()
                            ))
                        })?);
                        // An input log of its own starts with its own header line.
                        let mut header = Vec::new();
                        (&mut file).take(64 * 1024).read_until(b'\n', &mut header)?;
                        inputs = Some(Box::new(file));
                    }
                    let log = inputs.as_mut().expect("opened");
                    log.take(len).read_to_end(&mut data)?
                };
                if (got as u64) < len {
                    return Err(ImportError::offset(
                        if from_typescript {
                            name
                        } else {
                            "the input log"
                        },
                        output_offset,
                        format!(
                            "the log ends {} byte(s) before timing line {n} says",
                            len - got as u64
                        ),
                    ));
                }
                if from_typescript {
                    output_offset += len;
                }
                if n.is_multiple_of(4096) {
                    on_progress(output_offset);
                }
                let event = if kind == "O" {
                    Event::Output(&data)
                } else {
                    Event::Input(&data)
                };
                sink.event(at, event)?;
            }
            "S" if words.next() == Some("SIGWINCH") => {
                let mut size = (None, None);
                for word in words {
                    if let Some(r) = word.strip_prefix("ROWS=") {
                        size.1 = r.parse::<u16>().ok();
                    } else if let Some(c) = word.strip_prefix("COLS=") {
                        size.0 = c.parse::<u16>().ok();
                    }
                }
                match size {
                    (Some(cols), Some(rows)) if cols > 0 && rows > 0 => {
                        sink.event(at, Event::Resize(cols, rows))?
                    }
                    _ => return Err(bad("a SIGWINCH without ROWS= and COLS=")),
                }
            }
            _ => {}
        }
    }
    sink.end(at)?;
    Ok(())
}
