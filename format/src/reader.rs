//! Reading a stream of messages, one per line, validating as tlog-play does.

use std::collections::HashMap;
use std::io::{self, BufRead};

use crate::error::{Error, Location, Result};
use crate::message::Message;

/// The longest line a reader takes as a message, in bytes (64 MiB): longer
/// lines are damage ([`Error::TooLong`]), passed over without being held.
///
/// No writer comes near it: tlog's messages are a few KiB, the journal's
/// under 4 KiB, and termtape's largest is a message carrying a keyframe of
/// the largest screen (1024x1024 cells; its recorder bounds a keyframe's
/// size well below this). It bounds what a hostile log (a line without a
/// newline, `/dev/zero`) can make a reader allocate for one line.
pub const MAX_LINE_LEN: usize = 64 << 20;

/// How [`read_line`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnd {
    /// The input was at its end: nothing was read.
    Eof,
    /// A line ending in a newline (kept in the buffer).
    Newline,
    /// A last line without a newline.
    Unterminated,
    /// The line goes on past the limit: the buffer is emptied, the bytes
    /// read are consumed, and [`skip_line`] passes over the rest (at least
    /// its newline, if it has one).
    TooLong,
}

/// Appends one line of `input` (with its newline) to `buf`, or stops with
/// [`LineEnd::TooLong`] once it would hold more than `max` bytes of it: the
/// bounded form of [`BufRead::read_until`]. An interrupted read is retried.
pub fn read_line(input: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<LineEnd> {
    let start = buf.len();
    loop {
        let (piece, found) = next_piece(input)?;
        if piece.is_empty() {
            return Ok(match buf.len() - start {
                0 => LineEnd::Eof,
                _ => LineEnd::Unterminated,
            });
        }
        let take = piece.len();
        if buf.len() - start + take > max {
            buf.truncate(start);
            // The newline stays, for skip_line to end the line at.
            input.consume(take - usize::from(found));
            return Ok(LineEnd::TooLong);
        }
        buf.extend_from_slice(piece);
        input.consume(take);
        if found {
            return Ok(LineEnd::Newline);
        }
    }
}

/// Passes over the rest of a line, holding none of it: the number of bytes
/// passed over (its newline included, if it has one).
pub fn skip_line(input: &mut impl BufRead) -> io::Result<u64> {
    let mut skipped = 0u64;
    loop {
        let (piece, found) = next_piece(input)?;
        let take = piece.len();
        input.consume(take);
        skipped += take as u64;
        if found || take == 0 {
            return Ok(skipped);
        }
    }
}

/// The buffered bytes of `input` up to its next newline (included), and
/// whether they end with it; empty at the end of the input.
fn next_piece(input: &mut impl BufRead) -> io::Result<(&[u8], bool)> {
    // Retried here, so that the borrow returned below is the only one.
    while let Err(e) = input.fill_buf() {
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    let available = input.fill_buf()?;
    Ok(match memchr::memchr(b'\n', available) {
        Some(i) => (&available[..=i], true),
        None => (available, false),
    })
}

/// Checks that each recording's messages follow each other: ids go up by
/// exactly one (lax: just go up) and `pos` never goes back. Recordings are
/// told apart by [`Message::recording_key`], so interleaved recordings in one
/// stream are each checked on their own. What it knows can be kept (it
/// serializes) and a reading resumed with it ([`Reader::resume`]).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Validator {
    lax: bool,
    last: HashMap<String, (u64, u64)>,
}

impl Validator {
    /// A validator; `lax` accepts id gaps, as tlog-play's `--lax` does.
    pub fn new(lax: bool) -> Self {
        Validator {
            lax,
            last: HashMap::new(),
        }
    }

    /// Checks `msg` against its recording's previous message and remembers
    /// it (even when it fails, so that one bad id is reported once).
    pub fn check(&mut self, msg: &Message, at: &Location) -> Result<()> {
        let key = msg.recording_key();
        let at = Location {
            id: Some(msg.id),
            ..at.clone()
        };
        let previous = self.last.insert(key.clone(), (msg.id, msg.pos));
        let Some((last_id, last_pos)) = previous else {
            return Ok(());
        };
        // Messages a rate limit dropped on purpose are announced by a `gap`
        // field on the next one written; their ids are not a loss.
        let dropped = msg.dropped_messages().unwrap_or(0);
        let expected = (!self.lax).then(|| last_id.saturating_add(1).saturating_add(dropped));
        let id_ok = match expected {
            Some(expected) => msg.id == expected,
            None => msg.id > last_id,
        };
        if !id_ok {
            return Err(Error::IdGap {
                at,
                rec: key,
                previous: last_id,
                found: msg.id,
                expected,
                dropped,
            });
        }
        if msg.pos < last_pos {
            return Err(Error::PosBackwards {
                at,
                rec: key,
                previous: last_pos,
                found: msg.pos,
            });
        }
        Ok(())
    }
}

/// Reads messages from lines of JSON, parsing and validating each.
///
/// Yields each message, or the error that stops it: a line that does not
/// parse, a missing field, an id gap, and so on, located by line and message
/// id. After an error the reader can go on: a line that did not parse is
/// skipped; a message that parsed but failed the sequence checks is yielded
/// right after its error, so a lax caller loses nothing it could read.
#[derive(Debug)]
pub struct Reader<R> {
    inner: Counted<R>,
    source: Option<String>,
    line: u64,
    buf: Vec<u8>,
    validator: Validator,
    stashed: Option<Message>,
    /// The rest of a line longer than [`MAX_LINE_LEN`] is still to be
    /// passed over.
    skipping: bool,
    done: bool,
    /// Where the last line read starts, in bytes from the stream's start
    /// (a resumed reader's count starts where the other's ended).
    line_start: u64,
}

/// A reader's input, counting the bytes consumed: where lines start.
#[derive(Debug)]
struct Counted<R> {
    inner: R,
    consumed: u64,
}

impl<R: BufRead> io::Read for Counted<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.consumed += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        self.inner.consume(n);
        self.consumed += n as u64;
    }
}

impl<R: BufRead> Reader<R> {
    /// A reader over `inner`; `source` names it in errors (a path, `-`).
    pub fn new(inner: R, source: Option<String>, lax: bool) -> Self {
        Reader {
            inner: Counted { inner, consumed: 0 },
            source,
            line: 0,
            buf: Vec::with_capacity(8192),
            validator: Validator::new(lax),
            stashed: None,
            skipping: false,
            done: false,
            line_start: 0,
        }
    }

    /// A reader of what follows a stream another reader read to its end
    /// (a file that grew): `offset` bytes in `line` lines came before
    /// `inner`'s first, and `validator` is what the other reader's checks
    /// knew there ([`Reader::validator`]), so that line numbers, offsets and
    /// sequence checks go on as if one reader had read it all.
    pub fn resume(
        inner: R,
        source: Option<String>,
        offset: u64,
        line: u64,
        validator: Validator,
    ) -> Self {
        let mut reader = Reader {
            line,
            validator,
            line_start: offset,
            ..Reader::new(inner, source, true)
        };
        reader.inner.consumed = offset;
        reader
    }

    /// Where the last line read starts, in bytes from the stream's start.
    pub fn line_start(&self) -> u64 {
        self.line_start
    }

    /// Bytes read so far: where the next line starts.
    pub fn offset(&self) -> u64 {
        self.inner.consumed
    }

    /// What the sequence checks know so far: each recording's last id and
    /// position (see [`Reader::resume`]).
    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// The line number of the last line read.
    pub fn line(&self) -> u64 {
        self.line
    }

    fn location(&self) -> Location {
        Location {
            source: self.source.clone(),
            line: self.line,
            id: None,
        }
    }

    /// The next line that is not blank, not yet parsed: for a caller that
    /// parses (and checks with a [`Validator`]) elsewhere, in the order
    /// [`Reader::next`] would. The errors are those [`Reader::next`] gives
    /// before parsing: an I/O error (after which there is nothing more), a
    /// line over [`MAX_LINE_LEN`], a line that is not UTF-8. A reader used
    /// this way is not to be used as an iterator too.
    pub fn next_line(&mut self) -> Option<Result<RawLine<'_>>> {
        if self.done {
            return None;
        }
        loop {
            self.buf.clear();
            let start = self.inner.consumed;
            let read = if std::mem::take(&mut self.skipping) {
                skip_line(&mut self.inner).map(|_| None)
            } else {
                read_line(&mut self.inner, &mut self.buf, MAX_LINE_LEN).map(Some)
            };
            let end = match read {
                // The rest of a long line is passed over; the next is read.
                Ok(None) => continue,
                Ok(Some(LineEnd::Eof)) => {
                    self.done = true;
                    return None;
                }
                Ok(Some(end)) => end,
                Err(source) => {
                    self.done = true;
                    return Some(Err(Error::Io {
                        at: self.location(),
                        source,
                    }));
                }
            };
            if self.buf.capacity() > MAX_LINE_LEN / 16 && self.buf.len() < MAX_LINE_LEN / 64 {
                // One long line does not keep its memory for the rest.
                self.buf.shrink_to(8192);
            }
            self.line += 1;
            self.line_start = start;
            if end == LineEnd::TooLong {
                self.skipping = true;
                return Some(Err(Error::TooLong {
                    at: self.location(),
                }));
            }
            if trim_line(&self.buf).iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let at = self.location();
            return Some(match std::str::from_utf8(trim_line(&self.buf)) {
                Ok(text) => Ok(RawLine {
                    text,
                    at,
                    complete: end == LineEnd::Newline,
                }),
                Err(e) => {
                    let reason = format!(
                        "the line is not UTF-8 (bad byte at offset {})",
                        e.valid_up_to()
                    );
                    Err(Error::InvalidField {
                        at,
                        field: "line",
                        reason,
                    })
                }
            });
        }
    }

    fn read_one(&mut self) -> Option<Result<Message>> {
        let (msg, at) = match self.next_line()? {
            Ok(line) => match line.parse() {
                Ok(msg) => (msg, line.at),
                Err(e) => return Some(Err(e)),
            },
            Err(e) => return Some(Err(e)),
        };
        if let Err(e) = self.validator.check(&msg, &at) {
            self.stashed = Some(msg);
            return Some(Err(e));
        }
        Some(Ok(msg))
    }
}

/// A line of messages read, not yet parsed (see [`Reader::next_line`]).
#[derive(Debug)]
pub struct RawLine<'a> {
    /// The line, without its line end.
    pub text: &'a str,
    /// Where it is: its source and line number.
    pub at: Location,
    /// Whether it ends in a newline (a last line without one may be a
    /// truncated write).
    pub complete: bool,
}

impl RawLine<'_> {
    /// The line's message, parsed as [`Reader::next`] parses it (but not
    /// checked against the messages before it: see [`Validator`]).
    pub fn parse(&self) -> Result<Message> {
        parse_line(self.text, &self.at, self.complete)
    }

    /// The recording its message is of, if the line is a message — what
    /// [`Message::recording_key`] gives — when that can be told from the
    /// line's first members, as recorders write them, without parsing it;
    /// `None` for any other form. A line that parses has one `rec` member
    /// at most, so the one found is the one [`RawLine::parse`] takes.
    pub fn recording_key(&self) -> Option<&str> {
        crate::fast::recording_key(self.text)
    }
}

/// The message of a line (`complete`: ended by a newline), parsed as
/// [`Reader::next`] parses it.
fn parse_line(text: &str, at: &Location, complete: bool) -> Result<Message> {
    Message::parse(text, at).map_err(|e| match e {
        // A damaged last line is a truncated write, whatever the parser's
        // complaint.
        Error::Json { at, .. } if !complete => Error::Truncated { at },
        e => e,
    })
}

fn trim_line(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && (line[end - 1] == b'\n' || line[end - 1] == b'\r') {
        end -= 1;
    }
    &line[..end]
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Message>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(msg) = self.stashed.take() {
            return Some(Ok(msg));
        }
        if self.done {
            return None;
        }
        self.read_one().map(|r| {
            r.map_err(|mut e| {
                if let Some(loc) = e.location_mut()
                    && loc.source.is_none()
                {
                    loc.source.clone_from(&self.source);
                }
                e
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn line(rec: &str, id: u64, pos: u64) -> String {
        format!(
            r#"{{"ver":"2.3","host":"h","rec":"{rec}","user":"u","term":"t","session":1,"id":{id},"pos":{pos},"time":1.000,"timing":">1","in_txt":"","in_bin":[],"out_txt":"x","out_bin":[]}}"#
        )
    }

    fn read(input: &str, lax: bool) -> Vec<std::result::Result<u64, String>> {
        Reader::new(input.as_bytes(), Some("f".into()), lax)
            .map(|r| r.map(|m| m.id).map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn each_message_s_line_is_placed_by_bytes_and_a_resumed_reader_goes_on() {
        // Blank lines, CRLF, a line too long and a line that does not
        // parse in between: each message's line starts where its bytes do.
        let long = format!("{}\n", "x".repeat(MAX_LINE_LEN + 10));
        let parts = [
            format!("{}\n", line("a", 1, 0)),
            "\n  \n".to_owned(),
            format!("{}\r\n", line("a", 2, 1)),
            long,
            "not json\n".to_owned(),
            format!("{}\n", line("a", 3, 2)),
            line("a", 4, 3),
        ];
        let text = parts.concat();
        let starts: Vec<u64> = [0, 2, 5, 6]
            .iter()
            .map(|&i| parts[..i].iter().map(|p| p.len() as u64).sum())
            .collect();
        let mut reader = Reader::new(text.as_bytes(), Some("f".into()), true);
        let mut found = Vec::new();
        while let Some(item) = reader.next() {
            if let Ok(msg) = item {
                found.push((msg.id, reader.line_start(), reader.line()));
            }
        }
        let want: Vec<(u64, u64, u64)> = [(1, 1), (2, 4), (3, 7), (4, 8)]
            .iter()
            .zip(&starts)
            .map(|(&(id, line), &start)| (id, start, line))
            .collect();
        assert_eq!(found, want);
        assert_eq!(reader.offset(), text.len() as u64);
        // Resumed after the fourth part: the same places, lines and checks
        // (id 3 again goes back).
        let cut: usize = parts[..4].iter().map(String::len).sum();
        let mut first = Reader::new(&text.as_bytes()[..cut], Some("f".into()), true);
        for _ in first.by_ref() {}
        let rest = format!("not json\n{}\n{}", line("a", 2, 2), line("a", 4, 3));
        let mut resumed = Reader::resume(
            rest.as_bytes(),
            Some("f".into()),
            first.offset(),
            first.line(),
            first.validator().clone(),
        );
        let mut seen = Vec::new();
        while let Some(item) = resumed.next() {
            seen.push(match item {
                Ok(msg) => format!(
                    "{} at {} line {}",
                    msg.id,
                    resumed.line_start(),
                    resumed.line()
                ),
                Err(e) => e.to_string(),
            });
        }
        assert_eq!(seen.len(), 4, "{seen:?}");
        assert!(seen[0].starts_with("f:line 6"), "{seen:?}");
        assert!(
            seen[1].contains("line 7") && seen[1].contains("id 2"),
            "{seen:?}"
        );
        assert_eq!(seen[2], format!("2 at {} line 7", cut + 9));
    }

    #[test]
    fn interleaved_recordings_validate_separately() {
        let s = [
            line("a", 1, 0),
            line("b", 1, 0),
            line("a", 2, 5),
            line("b", 2, 9),
        ]
        .join("\n");
        assert_eq!(read(&s, false), vec![Ok(1), Ok(1), Ok(2), Ok(2)]);
    }

    #[test]
    fn id_gap_names_line_and_id_then_yields_the_message() {
        let s = [line("a", 1, 0), line("a", 3, 5)].join("\n") + "\n";
        let r = read(&s, false);
        assert_eq!(r[0], Ok(1));
        let err = r[1].as_ref().expect_err("gap");
        assert!(err.contains("f:line 2 (message id 3)"), "{err}");
        assert!(err.contains("expected 2"), "{err}");
        assert_eq!(r[2], Ok(3));
        assert_eq!(read(&s, true), vec![Ok(1), Ok(3)]);
    }

    #[test]
    fn pos_going_back_is_an_error() {
        let s = [line("a", 1, 10), line("a", 2, 5)].join("\n");
        assert!(
            read(&s, false)[1]
                .as_ref()
                .expect_err("pos")
                .contains("goes back")
        );
    }

    #[test]
    fn truncated_last_line_is_reported() {
        let full = line("a", 1, 0);
        let s = format!("{full}\n{}", &line("a", 2, 5)[..40]);
        let r = read(&s, false);
        assert_eq!(r[0], Ok(1));
        let err = r[1].as_ref().expect_err("truncated");
        assert!(err.contains("line 2") && err.contains("truncated"), "{err}");
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn garbage_line_is_skipped_after_its_error() {
        let s = [line("a", 1, 0), "not json".into(), line("a", 2, 5)].join("\n");
        let r = read(&s, false);
        assert!(
            r[1].as_ref()
                .expect_err("json")
                .contains("line 2: invalid JSON")
        );
        assert_eq!(r[2], Ok(2));
    }

    #[test]
    fn an_id_against_a_marked_gap_says_what_was_expected() {
        let marked = line("a", 5, 9).replace("}", r#","gap":{"messages":1000,"bytes":700}}"#);
        let s = [line("a", 4, 0), marked].join("\n");
        let err = read(&s, false)[1].clone().expect_err("gap");
        assert!(
            err.contains(
                "message id 5 follows 4 in recording \"a\" (expected 1005: 1000 message(s) dropped"
            ),
            "{err}"
        );
        let s = [line("a", u64::MAX, 0), line("a", 3, 5)].join("\n");
        let err = read(&s, false)[1].clone().expect_err("gap");
        assert!(err.contains(&format!("(expected {})", u64::MAX)), "{err}");
        let s = [line("a", 7, 0), line("a", 3, 5)].join("\n");
        let err = read(&s, true)[1].clone().expect_err("back");
        assert!(
            err.contains("id 3 follows 7 in recording \"a\" (expected an id above 7)"),
            "{err}"
        );
    }

    #[test]
    fn a_line_over_the_limit_is_damage_held_to_the_limit_and_passed_over() {
        let (a, b) = (line("a", 1, 0), line("a", 2, 5));
        // A reader over a long line of `x` produced a few bytes at a time,
        // never held whole.
        let long = std::io::repeat(b'x').take(MAX_LINE_LEN as u64 + 10);
        let input = a.as_bytes().chain(&b"\n"[..]).chain(long).chain(&b"\n"[..]);
        let input = input.chain(b.as_bytes()).chain(&b"\n"[..]);
        let mut reader = Reader::new(std::io::BufReader::new(input), Some("f".into()), true);
        assert_eq!(reader.next().expect("1").expect("ok").id, 1);
        let err = reader.next().expect("2").expect_err("long").to_string();
        assert!(
            err.starts_with("f:line 2: line longer than 64 MiB"),
            "{err}"
        );
        assert!(
            reader.buf.capacity() <= MAX_LINE_LEN,
            "{}",
            reader.buf.capacity()
        );
        assert_eq!(reader.next().expect("3").expect("ok").id, 2);
        assert_eq!(reader.line(), 3);
        assert!(reader.next().is_none());
    }

    #[test]
    fn read_line_stops_at_the_limit_and_skip_line_passes_the_rest() {
        let mut input = &b"abcdef\nxy\nlast"[..];
        let mut buf = Vec::new();
        assert_eq!(
            read_line(&mut input, &mut buf, 4).expect("read"),
            LineEnd::TooLong
        );
        assert!(buf.is_empty());
        assert_eq!(skip_line(&mut input).expect("skip"), 1);
        assert_eq!(input, b"xy\nlast");
        assert_eq!(
            read_line(&mut input, &mut buf, 4).expect("read"),
            LineEnd::Newline
        );
        assert_eq!(buf, b"xy\n");
        buf.clear();
        assert_eq!(
            read_line(&mut input, &mut buf, 4).expect("read"),
            LineEnd::Unterminated
        );
        assert_eq!(buf, b"last");
        buf.clear();
        assert_eq!(
            read_line(&mut input, &mut buf, 4).expect("read"),
            LineEnd::Eof
        );
        let mut input = &b"0123456789\nz"[..];
        let mut reader = std::io::BufReader::with_capacity(3, &mut input);
        assert_eq!(
            read_line(&mut reader, &mut buf, 5).expect("read"),
            LineEnd::TooLong
        );
        // "012" and "345" read, over the limit: "6789\n" is left.
        assert_eq!(skip_line(&mut reader).expect("skip"), 5);
        assert_eq!(
            read_line(&mut reader, &mut buf, 5).expect("read"),
            LineEnd::Unterminated
        );
        assert_eq!(buf, b"z");
    }

    #[test]
    fn an_unknown_line_is_left_out_of_the_place() {
        let at = |source: Option<&str>, line, id| Location {
            source: source.map(str::to_owned),
            line,
            id,
        };
        assert_eq!(at(Some("f"), 0, Some(3)).to_string(), "f (message id 3)");
        assert_eq!(
            at(Some("f"), 2, Some(3)).to_string(),
            "f:line 2 (message id 3)"
        );
        assert_eq!(at(None, 0, Some(3)).to_string(), "message id 3");
        assert_eq!(at(None, 4, None).to_string(), "line 4");
    }

    #[test]
    fn a_marked_gap_is_not_damage() {
        let marked = line("a", 5, 9).replace("}", r#","gap":{"messages":3,"bytes":700}}"#);
        let s = [line("a", 1, 0), marked].join("\n");
        assert_eq!(read(&s, false), vec![Ok(1), Ok(5)]);
    }
}
