//! `termtape keyframe`: a copy of a recording with keyframes added.

use std::io::{BufRead, Write};

use termtape_format::chain;
use termtape_format::{Error, LineEnd, Location};
use termtape_keyframe::{Cadence, Rekeyer};

/// What [`add_keyframes`] does with a hash-chained recording (see
/// `termtape_format::chain`), whose chain a keyframe added would break.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnChained {
    /// Stop at its first line ([`Refused`]): a copy that `termtape verify`
    /// calls edited would pass a valid recording off as tampered with, and
    /// signing again would need the recorder's key and vouch for the copy.
    #[default]
    Refuse,
    /// Copy it without its chain and seals: the copy verifies as unsigned,
    /// which is what it is (the original keeps its verdict).
    Drop,
}

/// Why [`add_keyframes`] stopped with [`OnChained::Refuse`]: the source,
/// line and recording of the first chained message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input}:line {line}: recording {rec} is hash-chained and sealed (its `chain` field): \
     keyframes added to it would make `termtape verify` report it edited, and termtape \
     cannot sign it again (that would vouch for a changed recording); its recorder wrote \
     keyframes already. With --drop-chain the copy leaves out the chain and seals, and \
     verifies as unsigned"
)]
pub struct Refused {
    /// The input's name.
    pub input: String,
    /// The line (from 1).
    pub line: u64,
    /// The recording's id (`?` if the line has none).
    pub rec: String,
}

/// What [`add_keyframes`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Added {
    /// Lines read and written.
    pub lines: u64,
    /// Keyframes added.
    pub keyframes: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Lines copied without their chain and seals ([`OnChained::Drop`]).
    pub unchained: u64,
}

/// Copies the messages of `input` (named `source` in errors) to `output`,
/// adding keyframes where `cadence` has them due (see
/// [`termtape_keyframe::Rekeyer`]): every line is written, with a `kf`
/// field or byte for byte as it was. Lines that do not parse go through
/// unchanged and are reported to `on_damage`; `on_progress` gets the bytes
/// read so far after each line. A chained message is refused or copied
/// without its chain, as `on_chained` says ([`Refused`] is the error,
/// in an `io::Error` of kind `InvalidData`).
pub fn add_keyframes(
    mut input: impl BufRead,
    source: &str,
    mut output: impl Write,
    cadence: Cadence,
    on_chained: OnChained,
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
        let unchained = match chain::unchained(body) {
            Ok(Some(_)) if on_chained == OnChained::Refuse => {
                let rec = termtape_format::extension::find(body, "rec")
                    .ok()
                    .flatten()
                    .and_then(|raw| serde_json::from_str::<String>(raw).ok())
                    .unwrap_or_else(|| "?".to_owned());
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    Refused {
                        input: source.to_owned(),
                        line: added.lines,
                        rec,
                    },
                ));
            }
            Ok(Some(line)) => {
                added.unchained += 1;
                Some(line)
            }
            // A line that does not split is left to the message parser,
            // which says what is wrong with it.
            Ok(None) | Err(_) => None,
        };
        let body = unchained.as_deref().map_or(body, str::as_bytes);
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
            OnChained::Refuse,
            |e| damaged.push(e.to_string()),
            |_| {},
        )
        .expect("copies");
        assert_eq!(
            added,
            Added {
                lines: 4,
                keyframes: 2,
                bytes: input.len() as u64,
                unchained: 0,
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

    #[test]
    fn a_chained_recording_is_refused_or_copied_without_its_chain() {
        let input = concat!(
            r#"{"ver":"2.3","host":"h","rec":"r-7","user":"u","term":"xterm","session":1,"id":1,"pos":0,"time":1.000,"timing":"=10x2>2","in_txt":"","in_bin":[],"out_txt":"hi","out_bin":[],"chain":"AAAAAAAAAAA","seal":{"v":1}}"#,
            "\n"
        );
        let copy = |on_chained| {
            let mut out = Vec::new();
            let cadence = Cadence {
                bytes: 1,
                interval: std::time::Duration::ZERO,
            };
            add_keyframes(
                input.as_bytes(),
                "in.log",
                &mut out,
                cadence,
                on_chained,
                |_| {},
                |_| {},
            )
            .map(|added| (added, String::from_utf8(out).expect("UTF-8")))
        };
        let err = copy(OnChained::Refuse).expect_err("refused");
        let refused = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<Refused>())
            .expect("a refusal");
        assert_eq!((refused.line, refused.rec.as_str()), (1, "r-7"));
        assert!(
            err.to_string()
                .starts_with("in.log:line 1: recording r-7 is hash-chained")
        );
        let (added, out) = copy(OnChained::Drop).expect("copied");
        assert_eq!((added.unchained, added.keyframes), (1, 1));
        assert!(!out.contains("chain") && !out.contains("seal"), "{out}");
        assert!(
            out.contains(r#""out_txt":"hi","out_bin":[],"kf":{"#),
            "{out}"
        );
    }
}
