//! `termtape keyframe`: a copy of a recording with keyframes added.

use std::io::{BufRead, Write};

use termtape_format::{Error, LineEnd, Location};
use termtape_keyframe::{Cadence, Rekeyer};

/// What [`add_keyframes`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Added {
    /// Lines read and written.
    pub lines: u64,
    /// Keyframes added.
    pub keyframes: u64,
    /// Bytes read.
    pub bytes: u64,
}

/// Copies the messages of `input` (named `source` in errors) to `output`,
/// adding keyframes where `cadence` has them due (see
/// [`termtape_keyframe::Rekeyer`]): every line is written, with a `kf`
/// field or byte for byte as it was. Lines that do not parse go through
/// unchanged and are reported to `on_damage`; `on_progress` gets the bytes
/// read so far after each line.
pub fn add_keyframes(
    mut input: impl BufRead,
    source: &str,
    mut output: impl Write,
    cadence: Cadence,
    mut on_damage: impl FnMut(&Error),
    mut on_progress: impl FnMut(u64),
) -> std::io::Result<Added> {
    let mut rekeyer = Rekeyer::new(cadence);
    let mut added = Added::default();
    let mut line = Vec::new();
    let mut out = Vec::new();
    loop {
        line.clear();
        match termtape_format::read_line(&mut input, &mut line, termtape_format::MAX_LINE_LEN)? {
            LineEnd::Eof => break,
            LineEnd::TooLong => {
                // No writer makes such a line; holding it would take
                // memory without bound. It is left out of the copy.
                added.lines += 1;
                added.bytes += termtape_format::skip_line(&mut input)?;
                on_damage(&Error::TooLong {
                    at: Location {
                        source: Some(source.to_owned()),
                        line: added.lines,
                        id: None,
                    },
                });
                continue;
            }
            LineEnd::Newline | LineEnd::Unterminated => {}
        }
        added.bytes += line.len() as u64;
        added.lines += 1;
        let newline = line.last() == Some(&b'\n');
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        let at = Location {
            source: Some(source.to_owned()),
            line: added.lines,
            id: None,
        };
        out.clear();
        match std::str::from_utf8(body) {
            Ok(text) if !text.trim().is_empty() => match rekeyer.line(text, &at, &mut out) {
                Ok(true) => added.keyframes += 1,
                Ok(false) => {}
                Err(e) => on_damage(&e),
            },
            // Blank lines and lines that are not UTF-8 go through as they are.
            _ => {
                out.extend_from_slice(body);
                out.push(b'\n');
            }
        }
        if !newline {
            // The input's last line had no newline: neither has the copy.
            out.pop();
        }
        output.write_all(&out)?;
        on_progress(added.bytes);
    }
    output.flush()?;
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_pass_through_with_keyframes_added() {
        let input = concat!(
            r#"{"ver":"2.3","host":"h","rec":"r","user":"u","term":"xterm","session":1,"id":1,"pos":0,"time":1.000,"timing":"=10x2>2","in_txt":"","in_bin":[],"out_txt":"hi","out_bin":[]}"#,
            "\n\nnot json\n",
            r#"{"ver":"2.3","host":"h","rec":"r","user":"u","term":"xterm","session":1,"id":2,"pos":5,"time":1.005,"timing":"=10x2>1","in_txt":"","in_bin":[],"out_txt":"!","out_bin":[]}"#,
        );
        let mut out = Vec::new();
        let mut damaged = Vec::new();
        let added = add_keyframes(
            input.as_bytes(),
            "in.log",
            &mut out,
            Cadence {
                bytes: 1,
                interval: std::time::Duration::ZERO,
            },
            |e| damaged.push(e.to_string()),
            |_| {},
        )
        .expect("copies");
        assert_eq!(
            added,
            Added {
                lines: 4,
                keyframes: 2,
                bytes: input.len() as u64
            }
        );
        assert_eq!(damaged.len(), 1);
        assert!(damaged[0].starts_with("in.log:line 3"), "{}", damaged[0]);
        let out = String::from_utf8(out).expect("UTF-8");
        let lines: Vec<&str> = out.split('\n').collect();
        assert_eq!(lines.len(), 4, "no newline added at the end");
        let first = input.lines().next().expect("a line");
        let blank = termtape_keyframe::Keyframe::capture(&termtape_emu::Terminal::new(10, 2));
        assert_eq!(
            lines[0],
            format!("{},\"kf\":{}}}", &first[..first.len() - 1], blank.to_json())
        );
        assert_eq!(lines[1], "");
        assert_eq!(lines[2], "not json");
        assert!(
            lines[3].contains(r#""out_txt":"!","out_bin":[],"kf":{"v":1,"#),
            "{}",
            lines[3]
        );
        assert!(
            lines[3].contains(r#"hi"#),
            "the keyframe holds the screen before: {}",
            lines[3]
        );
    }
}
