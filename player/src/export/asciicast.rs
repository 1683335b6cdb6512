//! asciinema's asciicast v2 and v3.
//!
//! v2: a header object (`version`, `width`, `height`, `timestamp`, `title`,
//! `env.TERM`), then one `[time, code, data]` array per line, `time` in
//! seconds from the start. v3: the header holds the size and type under
//! `term`, and `time` is the interval since the previous event; the exit
//! status is an `x` event. Codes: `o` output, `i` input, `r` resize
//! (`COLSxROWS`), `m` marker.
//!
//! asciicast holds text, not bytes: output and input are decoded as UTF-8
//! as asciinema itself decodes what it records, each stream on its own,
//! a character split between two events joined in the later one, and each
//! invalid sequence (its maximal part, as Unicode recommends) replaced by
//! U+FFFD; a character begun and not finished when the recording ends is
//! left out, as asciinema leaves it. A recording in a legacy charset holds
//! UTF-8 already (converted when it was recorded).

use std::io::{self, Write};

use serde_json::json;

use super::{Event, Meta, Sink, seconds};

/// Which asciicast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Times from the start.
    V2,
    /// Intervals, `term` object, exit events.
    V3,
}

/// Writes asciicast to `W`.
#[derive(Debug)]
pub struct Asciicast<W> {
    out: W,
    version: Version,
    previous: u64,
    output: Utf8Lossy,
    input: Utf8Lossy,
}

impl<W: Write> Asciicast<W> {
    /// A writer of `version` to `out`.
    pub fn new(out: W, version: Version) -> Asciicast<W> {
        Asciicast {
            out,
            version,
            previous: 0,
            output: Utf8Lossy::default(),
            input: Utf8Lossy::default(),
        }
    }

    fn line(&mut self, at: u64, code: &str, data: &str) -> io::Result<()> {
        let time = match self.version {
            Version::V2 => seconds(at),
            Version::V3 => seconds(at.saturating_sub(self.previous)),
        };
        self.previous = at;
        writeln!(self.out, "[{time}, \"{code}\", {}]", json!(data))
    }
}

impl<W: Write> Sink for Asciicast<W> {
    fn begin(&mut self, meta: &Meta) -> io::Result<()> {
        let mut header = match self.version {
            Version::V2 => json!({
                "version": 2,
                "width": meta.cols,
                "height": meta.rows,
            }),
            Version::V3 => json!({
                "version": 3,
                "term": {"cols": meta.cols, "rows": meta.rows, "type": meta.term},
            }),
        };
        if let Some(start) = meta.start {
            header["timestamp"] = json!(start / 1000);
        }
        header["title"] = json!(meta.title());
        header["env"] = json!({"TERM": meta.term});
        writeln!(self.out, "{header}")
    }

    fn event(&mut self, at: u64, event: Event<'_>) -> io::Result<()> {
        match event {
            Event::Output(bytes) => {
                let text = self.output.feed(bytes);
                if !text.is_empty() {
                    self.line(at, "o", &text)?;
                }
            }
            Event::Input(bytes) => {
                let text = self.input.feed(bytes);
                if !text.is_empty() {
                    self.line(at, "i", &text)?;
                }
            }
            Event::Resize(cols, rows) => self.line(at, "r", &format!("{cols}x{rows}"))?,
            Event::Marker(label) => self.line(at, "m", label)?,
            Event::Exit(code) if self.version == Version::V3 => {
                self.line(at, "x", &code.to_string())?
            }
            Event::Exit(_) => {}
        }
        Ok(())
    }

    fn end(&mut self, _at: u64) -> io::Result<()> {
        // A character begun and never finished at the very end is left
        // out: asciinema's own decoder is never told its stream ended, and
        // a terminal shows nothing for it, waiting for the rest.
        self.out.flush()
    }
}

/// UTF-8 decoding across events: a character split between two pieces
/// comes whole with the later one; invalid bytes become U+FFFD.
#[derive(Debug, Default)]
pub struct Utf8Lossy {
    /// The bytes of a character begun but not finished.
    pending: Vec<u8>,
}

impl Utf8Lossy {
    /// The text of `bytes` after what was pending; an incomplete character
    /// at the end waits for the next call.
    pub fn feed(&mut self, bytes: &[u8]) -> String {
        let mut all = std::mem::take(&mut self.pending);
        all.extend_from_slice(bytes);
        let mut text = String::with_capacity(all.len());
        let mut rest = &all[..];
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    text.push_str(valid);
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    text.push_str(std::str::from_utf8(valid).expect("checked valid"));
                    match e.error_len() {
                        Some(n) => {
                            text.push('\u{fffd}');
                            rest = &after[n..];
                        }
                        None => {
                            // Incomplete at the end: wait for more.
                            self.pending = after.to_vec();
                            break;
                        }
                    }
                }
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_split_between_events_are_joined_and_invalid_bytes_replaced() {
        let mut d = Utf8Lossy::default();
        assert_eq!(d.feed(b"a\xc5"), "a");
        assert_eq!(d.feed(b"\xbc!"), "\u{17c}!");
        assert_eq!(d.feed(b"\x80\x81"), "\u{fffd}\u{fffd}");
        assert_eq!(
            d.feed(b"\x83#\xf0\x90\x80\xc0!"),
            "\u{fffd}#\u{fffd}\u{fffd}!"
        );
        // Begun, not finished: nothing yet.
        assert_eq!(d.feed(b"\xe2\x82"), "");
        assert_eq!(d.feed(b"\xac"), "\u{20ac}");
    }

    #[test]
    fn v2_and_v3_lines() {
        let meta = Meta {
            rec: "r".into(),
            user: "u".into(),
            host: "h".into(),
            term: "xterm".into(),
            start: Some(1_700_000_000_500),
            cols: 80,
            rows: 24,
        };
        let write = |version| {
            let mut out = Vec::new();
            let mut cast = Asciicast::new(&mut out, version);
            cast.begin(&meta).unwrap();
            cast.event(0, Event::Output(b"hi")).unwrap();
            cast.event(1500, Event::Resize(100, 30)).unwrap();
            cast.event(2250, Event::Input(b"\x1b")).unwrap();
            cast.event(2250, Event::Exit(3)).unwrap();
            cast.end(2250).unwrap();
            String::from_utf8(out).unwrap()
        };
        let v2 = write(Version::V2);
        let lines: Vec<&str> = v2.lines().collect();
        let header: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(header["version"], 2);
        assert_eq!(
            (header["width"].as_u64(), header["height"].as_u64()),
            (Some(80), Some(24))
        );
        assert_eq!(header["timestamp"], 1_700_000_000);
        assert_eq!(header["env"]["TERM"], "xterm");
        assert_eq!(
            &lines[1..],
            [
                r#"[0.000, "o", "hi"]"#,
                r#"[1.500, "r", "100x30"]"#,
                r#"[2.250, "i", "\u001b"]"#
            ]
        );
        let v3 = write(Version::V3);
        let lines: Vec<&str> = v3.lines().collect();
        let header: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(header["term"]["cols"], 80);
        assert_eq!(
            &lines[1..],
            [
                r#"[0.000, "o", "hi"]"#,
                r#"[1.500, "r", "100x30"]"#,
                r#"[0.750, "i", "\u001b"]"#,
                r#"[0.000, "x", "3"]"#
            ]
        );
    }
}
