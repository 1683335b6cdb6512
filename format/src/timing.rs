//! The `timing` string: what happened in a message, in order.
//!
//! Grammar (tlog's): a sequence of records, each a marker and a number:
//!
//! | record  | meaning                                                        |
//! |---------|----------------------------------------------------------------|
//! | `+N`    | N milliseconds passed                                          |
//! | `=WxH`  | the window is now W columns by H rows                          |
//! | `<N`    | N characters of input text (from `in_txt`)                     |
//! | `>N`    | N characters of output text (from `out_txt`)                   |
//! | `[N/M`  | N replacement characters in `in_txt` stand for M bytes of `in_bin` |
//! | `]N/M`  | the same for output (`out_txt`, `out_bin`)                     |
//!
//! Characters are Unicode scalar values, not bytes.

use std::fmt::Write as _;

/// One record of a timing string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// Time passed, in milliseconds.
    Delay(u64),
    /// The window size changed (or is restated at a message's start).
    Window {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
    /// A run of valid text characters.
    Text {
        /// Which stream.
        stream: Stream,
        /// Number of characters.
        chars: usize,
    },
    /// A run of invalid byte sequences: `chars` U+FFFD in the text stand for
    /// `bytes` bytes in the binary array.
    Binary {
        /// Which stream.
        stream: Stream,
        /// Number of replacement characters in the text.
        chars: usize,
        /// Number of bytes in the binary array.
        bytes: usize,
    },
}

/// Which direction of terminal I/O.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// What the user typed.
    Input,
    /// What the terminal showed.
    Output,
}

impl Record {
    /// Appends this record's textual form to `out`.
    pub fn write_to(&self, out: &mut String) {
        // Writing into a String cannot fail.
        let _ = match *self {
            Record::Delay(ms) => write!(out, "+{ms}"),
            Record::Window { cols, rows } => write!(out, "={cols}x{rows}"),
            Record::Text { stream, chars } => {
                let mark = if stream == Stream::Input { '<' } else { '>' };
                write!(out, "{mark}{chars}")
            }
            Record::Binary {
                stream,
                chars,
                bytes,
            } => {
                let mark = if stream == Stream::Input { '[' } else { ']' };
                write!(out, "{mark}{chars}/{bytes}")
            }
        };
    }
}

/// Parses a timing string into its records.
///
/// Returns a description of the first problem on malformed input.
pub fn parse(timing: &str) -> Result<Vec<Record>, String> {
    let mut records = Vec::new();
    let b = timing.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let marker = b[i];
        if !b"+=<>[]".contains(&marker) {
            // The marker starts a character (records end in ASCII digits),
            // which may be any: name it whole.
            let marker = timing[i..].chars().next().unwrap_or('?');
            return Err(format!("unknown record marker {marker:?} at offset {i}"));
        }
        i += 1;
        let first = number(b, &mut i)?;
        let record = match marker {
            b'+' => Record::Delay(first),
            b'=' => {
                expect(b, &mut i, b'x', marker)?;
                let rows = number(b, &mut i)?;
                let cols = u16::try_from(first)
                    .map_err(|_| format!("window width {first} is too large"))?;
                let rows = u16::try_from(rows)
                    .map_err(|_| format!("window height {rows} is too large"))?;
                Record::Window { cols, rows }
            }
            b'<' | b'>' => Record::Text {
                stream: if marker == b'<' {
                    Stream::Input
                } else {
                    Stream::Output
                },
                chars: to_usize(first)?,
            },
            b'[' | b']' => {
                expect(b, &mut i, b'/', marker)?;
                let bytes = number(b, &mut i)?;
                Record::Binary {
                    stream: if marker == b'[' {
                        Stream::Input
                    } else {
                        Stream::Output
                    },
                    chars: to_usize(first)?,
                    bytes: to_usize(bytes)?,
                }
            }
            // Checked above; an error rather than a panic all the same.
            _ => return Err(format!("unknown record marker at offset {}", i - 1)),
        };
        records.push(record);
    }
    Ok(records)
}

fn to_usize(n: u64) -> Result<usize, String> {
    usize::try_from(n).map_err(|_| format!("count {n} is too large"))
}

fn expect(b: &[u8], i: &mut usize, what: u8, marker: u8) -> Result<(), String> {
    if b.get(*i) == Some(&what) {
        *i += 1;
        Ok(())
    } else {
        Err(format!(
            "record '{}' lacks '{}' at offset {}",
            marker as char, what as char, *i
        ))
    }
}

fn number(b: &[u8], i: &mut usize) -> Result<u64, String> {
    let start = *i;
    let mut n: u64 = 0;
    while let Some(d) = b.get(*i).filter(|d| d.is_ascii_digit()) {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .ok_or_else(|| format!("number at offset {start} overflows"))?;
        *i += 1;
    }
    if *i == start {
        // `start` may fall inside a character (after a marker byte that
        // begins one): the bytes from there, not a slice of the string.
        let near: String = String::from_utf8_lossy(&b[start.min(b.len())..])
            .chars()
            .take(8)
            .collect();
        return Err(format!(
            "expected a number at offset {start} (near {near:?})"
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_beyond_ascii_are_errors_not_panics() {
        // Found by fuzz_read: a number expected inside a Cyrillic letter.
        let e = parse("=100x3ривет").expect_err("not a timing");
        assert!(e.contains("unknown record marker 'р' at offset 6"), "{e}");
        let e = parse(">1р5").expect_err("not a timing");
        assert!(e.contains("unknown record marker 'р' at offset 2"), "{e}");
        let e = parse("=1xр").expect_err("not a timing");
        assert!(
            e.contains("expected a number at offset 3 (near \"р\")"),
            "{e}"
        );
        for s in ["р", "=р", "+1🎉", "[1/р", "[р"] {
            assert!(parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn parses_every_record_kind() {
        let r = parse("=80x24+5>18<3]2/3[1/1+1005").expect("valid timing");
        assert_eq!(
            r,
            vec![
                Record::Window { cols: 80, rows: 24 },
                Record::Delay(5),
                Record::Text {
                    stream: Stream::Output,
                    chars: 18
                },
                Record::Text {
                    stream: Stream::Input,
                    chars: 3
                },
                Record::Binary {
                    stream: Stream::Output,
                    chars: 2,
                    bytes: 3
                },
                Record::Binary {
                    stream: Stream::Input,
                    chars: 1,
                    bytes: 1
                },
                Record::Delay(1005),
            ]
        );
        let mut s = String::new();
        for rec in &r {
            rec.write_to(&mut s);
        }
        assert_eq!(s, "=80x24+5>18<3]2/3[1/1+1005");
    }

    #[test]
    fn rejects_malformed_timing() {
        for bad in [
            "x",
            "+",
            ">a",
            "=80",
            "=80x",
            "]2",
            "]2/",
            "+99999999999999999999999",
            "=70000x1",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(parse(""), Ok(vec![]));
    }
}
