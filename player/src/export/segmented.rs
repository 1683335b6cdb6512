//! asciinema-player's segmented format (3.17 and later, `{url, format:
//! "segmented"}`): a directory with `index.json` and segment files, so that
//! the player fetches only the segment it seeks into.
//!
//! The index: `{"version": 1, "duration": S, "term": {"cols", "rows"},
//! "segments": [{"start": S, "url": "NAME"}…], "markers": [[S, label]…]}`,
//! times in seconds, the first segment at 0 and each later one strictly
//! after the one before and before the end. A segment: `{"snapshot":
//! {"cols", "rows", "init"}, "events": [[S, code, data]…]}`, where `init`
//! is a termtape keyframe's VT sequences (the screen where the segment
//! starts, on a fresh terminal), and the events are asciicast's, with
//! times from the recording's start; a later segment's first event is at
//! its start, and the last segment's last event at the end. This is how
//! asciinema-player's loader (`src/driver/recording/segmented.js`) checks
//! them.
//!
//! A segment is cut at an event after [`SEGMENT_BYTES`] of output or
//! [`SEGMENT_MS`] in the one before: a seek replays at most that much.
//! Text is decoded from UTF-8 as for asciicast.

use std::io::{self, Write};
use std::path::PathBuf;

use serde_json::{Value, json};
use termtape_keyframe::{Keyframe, Screen};

use super::asciicast::Utf8Lossy;
use super::{Event, Meta, Sink, seconds};

/// Output bytes after which a new segment starts.
pub const SEGMENT_BYTES: usize = 256 * 1024;
/// Time after which a new segment starts, in milliseconds.
pub const SEGMENT_MS: u64 = 60_000;
/// Markers kept in the index.
const MAX_MARKERS: usize = 10_000;

/// Writes a segmented recording into a directory.
pub struct Segmented {
    dir: PathBuf,
    screen: Screen,
    size: (u16, u16),
    /// Segments written: (start, file name).
    segments: Vec<(u64, String)>,
    /// The current segment: its start, snapshot and events.
    start: u64,
    snapshot: Value,
    events: Vec<u8>,
    count: usize,
    bytes: usize,
    last: u64,
    markers: Vec<(u64, String)>,
    output: Utf8Lossy,
    input: Utf8Lossy,
}

impl Segmented {
    /// A writer into `dir` (which must exist).
    pub fn new(dir: PathBuf) -> Segmented {
        Segmented {
            dir,
            screen: Screen::new(),
            size: (80, 24),
            segments: Vec::new(),
            start: 0,
            snapshot: Value::Null,
            events: Vec::new(),
            count: 0,
            bytes: 0,
            last: 0,
            markers: Vec::new(),
            output: Utf8Lossy::default(),
            input: Utf8Lossy::default(),
        }
    }

    /// The screen now, as a segment's snapshot.
    fn snapshot(&self) -> Value {
        let kf = Keyframe::capture(&self.screen.terminal(None));
        json!({"cols": kf.cols, "rows": kf.rows, "init": kf.vt})
    }

    fn push(&mut self, at: u64, code: &str, data: &str) {
        if self.count > 0 {
            self.events.push(b',');
        }
        self.count += 1;
        let _ = write!(
            self.events,
            "[{}, \"{code}\", {}]",
            seconds(at),
            json!(data)
        );
        self.bytes += data.len();
    }

    /// Writes the current segment, if it has events.
    fn finish_segment(&mut self) -> io::Result<()> {
        if self.count == 0 {
            return Ok(());
        }
        let name = format!("{:06}.json", self.segments.len());
        let mut file = io::BufWriter::new(std::fs::File::create(self.dir.join(&name))?);
        write!(file, "{{\"snapshot\":{},\"events\":[", self.snapshot)?;
        file.write_all(&self.events)?;
        file.write_all(b"]}\n")?;
        file.flush()?;
        self.segments.push((self.start, name));
        self.events.clear();
        self.count = 0;
        self.bytes = 0;
        Ok(())
    }
}

impl Sink for Segmented {
    fn begin(&mut self, meta: &Meta) -> io::Result<()> {
        self.size = (meta.cols, meta.rows);
        self.screen.window(meta.cols, meta.rows);
        self.snapshot = self.snapshot();
        Ok(())
    }

    fn event(&mut self, at: u64, event: Event<'_>) -> io::Result<()> {
        let due = self.bytes >= SEGMENT_BYTES || at >= self.start + SEGMENT_MS;
        if due && at > self.start && at > self.last && !matches!(event, Event::Marker(_)) {
            self.finish_segment()?;
            self.start = at;
            self.snapshot = self.snapshot();
        }
        self.last = self.last.max(at);
        match event {
            Event::Output(bytes) => {
                self.screen.output(bytes);
                let text = self.output.feed(bytes);
                self.push(at, "o", &text);
            }
            Event::Input(bytes) => {
                let text = self.input.feed(bytes);
                self.push(at, "i", &text);
            }
            Event::Resize(cols, rows) => {
                self.screen.window(cols, rows);
                self.push(at, "r", &format!("{cols}x{rows}"));
            }
            Event::Marker(label) => {
                if self.markers.len() < MAX_MARKERS {
                    self.markers.push((at, label.to_owned()));
                }
            }
            Event::Exit(_) => {}
        }
        Ok(())
    }

    fn end(&mut self, at: u64) -> io::Result<()> {
        // The last event is at the end, which is after every segment's start.
        let duration = at.max(self.last).max(self.start + 1);
        // The player wants the last event at the duration; a character
        // begun and never finished is left out (see `asciicast`).
        self.push(duration, "o", "");
        self.finish_segment()?;
        let markers: Vec<Value> = self
            .markers
            .iter()
            .map(|(t, label)| json!([seconds(*t).parse::<f64>().unwrap_or(0.0), label]))
            .collect();
        let segments: Vec<Value> = self
            .segments
            .iter()
            .map(|(start, url)| {
                json!({"start": seconds(*start).parse::<f64>().unwrap_or(0.0), "url": url})
            })
            .collect();
        let index = json!({
            "version": 1,
            "duration": seconds(duration).parse::<f64>().unwrap_or(0.0),
            "term": {"cols": self.size.0, "rows": self.size.1},
            "segments": segments,
            "markers": markers,
        });
        let mut file = io::BufWriter::new(std::fs::File::create(self.dir.join("index.json"))?);
        writeln!(file, "{index}")?;
        file.flush()
    }
}
