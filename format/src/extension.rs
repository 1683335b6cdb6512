//! termtape's extension fields: what a message carries beyond tlog's
//! fields, their names, and their two forms.
//!
//! - **File form** (files, syslog): members of the message's JSON object,
//!   after tlog's: `{…,"out_bin":[],"kf":{…},"login":[…]}`. tlog-play and
//!   Cockpit ignore members they do not know.
//! - **Journal form**: MESSAGE holds tlog's fields only, exactly as tlog
//!   writes them (Cockpit reads MESSAGE, and shows nothing of a field of
//!   4096 bytes or more); each extension field is an entry field of its
//!   own, [`JOURNAL_PREFIX`] and its name in capitals, holding the raw JSON
//!   value (`TERMTAPE_X_KF={…}`). An entry carrying a keyframe is marked
//!   [`JOURNAL_KEYFRAME_MARK`]`=1` besides, which journal matches select on
//!   (they match values, not a field being there).
//!
//! Writers receive a finished message with its fields apart
//! ([`Extended`]) and write the form they need; the journal reader turns
//! entry fields back ([`from_journal`]) and splices them with the function
//! that makes the file form ([`write_file_form`]). A reader that wants one
//! field of a line without parsing the message finds it with [`find`]: a
//! validating scan of the object's members, iterative, at most 127 levels
//! deep, that allocates nothing (but to decode a name written with
//! escapes).
//!
//! ```
//! use termtape_format::extension::{self, Field};
//!
//! let tlog = br#"{"ver":"2.3","id":1}"#;
//! let fields = [Field::new(extension::GAP, r#"{"messages":2,"bytes":90}"#)];
//! let mut line = Vec::new();
//! extension::write_file_form(&mut line, tlog, &[], &fields)?;
//! assert_eq!(line, br#"{"ver":"2.3","id":1,"gap":{"messages":2,"bytes":90}}"#);
//! assert_eq!(extension::find(&line, "gap")?, Some(r#"{"messages":2,"bytes":90}"#));
//!
//! let (name, value) = extension::from_journal(b"TERMTAPE_X_GAP", br#"{"messages":2}"#)
//!     .expect("an extension field")?;
//! assert_eq!((name.as_str(), value), ("gap", r#"{"messages":2}"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;

use crate::Encoded;
use crate::escape::escape_ascii;
use scan::Scanner;

mod scan;

/// A keyframe: the screen's state at the message's start (see
/// `termtape_keyframe`).
pub const KEYFRAME: &str = "kf";
/// Logins nested in the recorded session (see [`crate::Login`]).
pub const LOGIN: &str = "login";
/// Where the session came from, on a recording's first message (see
/// [`crate::Origin`]).
pub const ORIGIN: &str = "origin";
/// How the session ended, on a recording's last message (see
/// [`crate::Exit`]).
pub const EXIT: &str = "exit";
/// Messages a rate limit dropped before this one: `{"messages":N,"bytes":M}`.
pub const GAP: &str = "gap";
/// The legacy charset a session was converted from, a JSON string.
pub const CHARSET: &str = "charset";
/// A message's original input bytes, where its text does not give them back.
pub const IN_ORIG: &str = "in_orig";
/// A message's original output bytes, where its text does not give them back.
pub const OUT_ORIG: &str = "out_orig";
/// Set by the journal reader alone, first in the message of an entry from a
/// sender it does not trust: a JSON string naming the sender. Never read
/// from a journal field (a sender cannot vouch for itself).
pub const UNVERIFIED: &str = "termtape_unverified";

/// The prefix of the journal fields holding extension fields.
pub const JOURNAL_PREFIX: &str = "TERMTAPE_X_";
/// The journal field marking entries that carry a keyframe, with value `1`.
pub const JOURNAL_KEYFRAME_MARK: &str = "TERMTAPE_KEYFRAME";
/// The journal field marking entries that carry nested-login events, with
/// value `1` (a listing finds them by a match, without reading the rest).
pub const JOURNAL_LOGIN_MARK: &str = "TERMTAPE_LOGIN";
/// The journal field on each entry of termtape's journal writer holding
/// the recording's [`crate::Totals`] up to and including that entry. Not an
/// extension field: the reader does not put it back into the message.
pub const JOURNAL_TOTALS: &str = "TERMTAPE_TOTALS";

/// One extension field: its name and its value, raw JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// The name (one of this module's constants, for termtape's writers).
    pub name: &'a str,
    /// The value, one JSON value as it is written.
    pub value: &'a str,
}

impl<'a> Field<'a> {
    /// The field `name` with the raw JSON `value`.
    pub const fn new(name: &'a str, value: &'a str) -> Field<'a> {
        Field { name, value }
    }
}

/// A finished message and the extension fields it carries, still apart:
/// what the recorder hands its writers, each of which writes the form it
/// needs.
#[derive(Debug, Clone, Copy)]
pub struct Extended<'a> {
    /// The message with tlog's fields only, as the encoder made it.
    pub message: Encoded<'a>,
    /// Its extension fields, in the order they are written.
    pub fields: &'a [Field<'a>],
}

impl<'a> Extended<'a> {
    /// A message without extension fields.
    pub fn plain(message: Encoded<'a>) -> Extended<'a> {
        Extended {
            message,
            fields: &[],
        }
    }

    /// tlog's JSON object without its newline: the journal's MESSAGE.
    pub fn tlog(&self) -> &'a [u8] {
        let json = self.message.json;
        json.strip_suffix(b"\n").unwrap_or(json)
    }

    /// The message in its file form, with its newline: the encoder's line
    /// itself if there are no extension fields, else the line with them
    /// spliced in, made in `buf`.
    pub fn file_form<'b>(&'b self, buf: &'b mut Vec<u8>) -> Result<&'b [u8], NotAnObject> {
        if self.fields.is_empty() {
            return Ok(self.message.json);
        }
        buf.clear();
        write_file_form(buf, self.message.json, &[], self.fields)?;
        buf.push(b'\n');
        Ok(buf)
    }

    /// The length of [`Extended::file_form`], without making it.
    pub fn file_len(&self) -> usize {
        if self.fields.is_empty() {
            return self.message.json.len();
        }
        let body = trim_end(self.message.json).len();
        body + self.fields.iter().map(member_len).sum::<usize>() + self.fields.len() + 1
    }

    /// The entry fields of the journal form besides MESSAGE (which is
    /// [`Extended::tlog`]): one per extension field, in order, then the
    /// keyframe mark if a keyframe is among them, and the login mark if
    /// nested-login events are.
    pub fn journal_fields(&self) -> impl Iterator<Item = JournalField<'a>> + 'a {
        let fields = self.fields;
        let mark = |field, mark: &'static str| {
            fields
                .iter()
                .any(|f| f.name == field)
                .then(|| JournalField {
                    name: mark.to_owned(),
                    value: "1",
                })
        };
        let marks = [
            mark(KEYFRAME, JOURNAL_KEYFRAME_MARK),
            mark(LOGIN, JOURNAL_LOGIN_MARK),
        ];
        fields
            .iter()
            .map(|f| JournalField {
                name: journal_name(f.name),
                value: f.value,
            })
            .chain(marks.into_iter().flatten())
    }
}

/// One journal entry field: its name and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalField<'a> {
    /// The field's name (`TERMTAPE_X_KF`).
    pub name: String,
    /// Its value.
    pub value: &'a str,
}

/// The journal field name of the extension field `name`: `kf` →
/// `TERMTAPE_X_KF`.
pub fn journal_name(name: &str) -> String {
    let mut out = String::with_capacity(JOURNAL_PREFIX.len() + name.len());
    out.push_str(JOURNAL_PREFIX);
    out.extend(name.chars().map(|c| c.to_ascii_uppercase()));
    out
}

/// The extension field a journal entry field carries back: its name in
/// lower case and its value, checked to be one JSON value. `None` for a
/// field that is not one ([`JOURNAL_PREFIX`] and capitals, digits and `_`,
/// as journald allows them), and for [`UNVERIFIED`], which only a reader
/// sets; an error for a value that is not JSON or a name that is tlog's
/// (spliced in, either would change what the message says).
pub fn from_journal<'a>(
    name: &[u8],
    value: &'a [u8],
) -> Option<Result<(String, &'a str), BadField>> {
    let rest = name.strip_prefix(JOURNAL_PREFIX.as_bytes())?;
    if rest.is_empty()
        || !rest
            .iter()
            .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return None;
    }
    let field = String::from_utf8(rest.to_ascii_lowercase()).ok()?;
    if field == UNVERIFIED {
        return None;
    }
    let journal = || String::from_utf8_lossy(name).into_owned();
    if crate::message::TLOG_FIELDS.contains(&field.as_str()) {
        return Some(Err(BadField::TlogName { name: journal() }));
    }
    Some(match check_value(value) {
        Ok(value) => Ok((field, value)),
        Err(error) => Err(BadField::NotJson {
            name: journal(),
            error,
        }),
    })
}

/// Why a journal field cannot go back into its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BadField {
    /// It would be one of tlog's fields.
    #[error("journal field {name} names one of tlog's fields")]
    TlogName {
        /// The journal field's name.
        name: String,
    },
    /// Its value is not one JSON value.
    #[error("journal field {name} is not one JSON value: {error}")]
    NotJson {
        /// The journal field's name.
        name: String,
        /// Where and why.
        #[source]
        error: ParseError,
    },
}

/// A message that has no JSON object with members to put fields in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the message is not a JSON object with members")]
pub struct NotAnObject;

/// Where and why a scan of JSON text stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at byte {offset}")]
pub struct ParseError {
    /// Bytes from the start of the text.
    pub offset: usize,
    /// What was wrong there.
    pub reason: &'static str,
}

/// Writes a message in its file form to `out`: `tlog`, a JSON object (as
/// the journal's MESSAGE or the encoder's line; whitespace around it is
/// allowed, and the whitespace after it dropped), with `first` put before its
/// members and `last` after them; no newline. `first` is for a reader's
/// own marks, which must come before any member of the same name (readers
/// take a name's first occurrence).
///
/// Only the object's braces are checked (the message is parsed by whoever
/// reads the result); the fields' values are written as they are.
pub fn write_file_form(
    out: &mut Vec<u8>,
    tlog: &[u8],
    first: &[Field<'_>],
    last: &[Field<'_>],
) -> Result<(), NotAnObject> {
    let open = tlog
        .iter()
        .position(|b| !is_ws(b))
        .filter(|&i| tlog[i] == b'{')
        .ok_or(NotAnObject)?;
    let close = trim_end(tlog).len() - 1;
    if tlog[close] != b'}' || tlog[open + 1..close].iter().all(is_ws) {
        return Err(NotAnObject);
    }
    let added: usize = first.iter().chain(last).map(member_len).sum();
    out.reserve(tlog.len() + added + first.len() + last.len());
    out.extend_from_slice(&tlog[..=open]);
    for field in first {
        push_member(out, field);
        out.push(b',');
    }
    out.extend_from_slice(&tlog[open + 1..close]);
    for field in last {
        out.push(b',');
        push_member(out, field);
    }
    out.push(b'}');
    Ok(())
}

/// Appends `"name":value`, the name escaped as tlog escapes strings.
pub(crate) fn push_member(out: &mut Vec<u8>, field: &Field<'_>) {
    out.push(b'"');
    crate::escape::escape_str_into(field.name, out);
    out.extend_from_slice(b"\":");
    out.extend_from_slice(field.value.as_bytes());
}

/// The length [`push_member`] writes.
fn member_len(field: &Field<'_>) -> usize {
    let name: usize = field
        .name
        .bytes()
        .map(|b| match b {
            0..0x80 => escape_ascii(b).map_or(1, <[u8]>::len),
            _ => 1,
        })
        .sum();
    name + field.value.len() + 3
}

fn is_ws(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn trim_end(text: &[u8]) -> &[u8] {
    let end = text.iter().rposition(|b| !is_ws(b)).map_or(0, |i| i + 1);
    &text[..end]
}

/// The raw value of the first member named `name` of the JSON object
/// `json` (a message line), or `None` if it has none. The text is checked
/// up to that member (what follows it is not read); an error says where
/// it is not JSON, or not an object.
pub fn find<'a>(json: &'a [u8], name: &str) -> Result<Option<&'a str>, ParseError> {
    for member in members(json) {
        let member = member?;
        if member.is(name) {
            return Ok(Some(member.value));
        }
    }
    Ok(None)
}

/// `value`, checked to be one JSON value (whitespace around it allowed).
pub fn check_value(value: &[u8]) -> Result<&str, ParseError> {
    let mut scan = Scanner::new(value);
    scan.value()?;
    if !scan.at_end() {
        return Err(scan.error("text after the value"));
    }
    as_str(value)
}

/// The members of the JSON object `json`, in order, read as far as the
/// iteration goes; after an error, the iteration ends.
pub fn members(json: &[u8]) -> Members<'_> {
    Members {
        scan: Scanner::new(json),
        state: State::Start,
    }
}

/// A member of a JSON object, as [`members`] finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member<'a> {
    /// The name as written, quotes and escapes included.
    raw_name: &'a [u8],
    /// The value, raw JSON.
    pub value: &'a str,
}

impl<'a> Member<'a> {
    /// Whether the member's name, escapes decoded, is `name`.
    pub fn is(&self, name: &str) -> bool {
        let inner = &self.raw_name[1..self.raw_name.len() - 1];
        if !inner.contains(&b'\\') {
            return inner == name.as_bytes();
        }
        serde_json::from_slice::<String>(self.raw_name).is_ok_and(|n| n == name)
    }

    /// The member's name, escapes decoded (a name with an unpaired
    /// surrogate escape, which no string holds, as it is written).
    pub fn name(&self) -> Cow<'a, str> {
        let inner = &self.raw_name[1..self.raw_name.len() - 1];
        if !inner.contains(&b'\\') {
            return String::from_utf8_lossy(inner);
        }
        match serde_json::from_slice::<String>(self.raw_name) {
            Ok(name) => Cow::Owned(name),
            Err(_) => String::from_utf8_lossy(inner),
        }
    }
}

/// An iterator over an object's members: see [`members`].
#[derive(Debug)]
pub struct Members<'a> {
    scan: Scanner<'a>,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Next,
    Done,
}

impl<'a> Members<'a> {
    fn member(&mut self) -> Result<Option<Member<'a>>, ParseError> {
        match self.state {
            State::Done => return Ok(None),
            State::Start => {
                self.scan.expect(b'{', "not a JSON object")?;
                if self.scan.eat(b'}') {
                    return self.end();
                }
            }
            State::Next => {
                if self.scan.eat(b'}') {
                    return self.end();
                }
                self.scan.expect(b',', "expected ',' or '}'")?;
            }
        }
        let raw_name = self.scan.name()?;
        self.scan.skip_ws();
        let start = self.scan.at();
        self.scan.value()?;
        self.state = State::Next;
        Ok(Some(Member {
            raw_name,
            value: as_str(self.scan.slice(start))?,
        }))
    }

    fn end(&mut self) -> Result<Option<Member<'a>>, ParseError> {
        self.state = State::Done;
        if self.scan.at_end() {
            Ok(None)
        } else {
            Err(self.scan.error("text after the object"))
        }
    }
}

impl<'a> Iterator for Members<'a> {
    type Item = Result<Member<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        let result = self.member();
        if result.is_err() {
            self.state = State::Done;
        }
        result.transpose()
    }
}

/// Text the scanner checked: its strings are UTF-8 and the rest ASCII.
fn as_str(text: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(text).map_err(|e| ParseError {
        offset: e.valid_up_to(),
        reason: "not UTF-8",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Location, Message};

    const TLOG: &str = r#"{"ver":"2.3","host":"h","rec":"r","user":"u","term":"t","session":1,"id":1,"pos":0,"timing":">2","in_txt":"","in_bin":[],"out_txt":"]}","out_bin":[1,2]}"#;

    fn encoded(json: &[u8]) -> Encoded<'_> {
        Encoded {
            id: 1,
            pos: 0,
            time: 0,
            json,
            input_end: 0,
            output_end: 0,
        }
    }

    #[test]
    fn the_file_form_puts_fields_after_tlog_s_and_its_length_is_known() {
        let line = format!("{TLOG}\n");
        let fields = [
            Field::new(CHARSET, r#""KOI8-R""#),
            Field::new(KEYFRAME, r#"{"v":1}"#),
            Field::new("odd\"name", "[]"),
        ];
        let m = Extended {
            message: encoded(line.as_bytes()),
            fields: &fields,
        };
        let mut buf = Vec::new();
        let form = m.file_form(&mut buf).expect("an object").to_vec();
        let expected = format!(
            "{},\"charset\":\"KOI8-R\",\"kf\":{{\"v\":1}},\"odd\\\"name\":[]}}\n",
            &TLOG[..TLOG.len() - 1]
        );
        assert_eq!(String::from_utf8(form.clone()).expect("utf-8"), expected);
        assert_eq!(m.file_len(), form.len());
        let plain = Extended::plain(encoded(line.as_bytes()));
        assert_eq!(plain.file_form(&mut buf).expect("as is"), line.as_bytes());
        assert_eq!(plain.file_len(), line.len());
        assert_eq!(plain.tlog(), TLOG.as_bytes());
    }

    #[test]
    fn the_journal_form_round_trips_to_the_file_form() {
        let line = format!("{TLOG}\n");
        let fields = [
            Field::new(CHARSET, r#""KOI8-R""#),
            Field::new(KEYFRAME, r#"{"v":1,"s":"a\nb"}"#),
            Field::new(LOGIN, r#"[{"n":1,"at":5,"end":true}]"#),
        ];
        let m = Extended {
            message: encoded(line.as_bytes()),
            fields: &fields,
        };
        let journal: Vec<JournalField<'_>> = m.journal_fields().collect();
        let names: Vec<&str> = journal.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "TERMTAPE_X_CHARSET",
                "TERMTAPE_X_KF",
                "TERMTAPE_X_LOGIN",
                "TERMTAPE_KEYFRAME",
                "TERMTAPE_LOGIN"
            ]
        );
        assert_eq!((journal[3].value, journal[4].value), ("1", "1"));
        let back: Vec<(String, &str)> = journal
            .iter()
            .filter_map(|f| from_journal(f.name.as_bytes(), f.value.as_bytes()))
            .collect::<Result<_, _>>()
            .expect("all valid");
        let back: Vec<Field<'_>> = back.iter().map(|(n, v)| Field::new(n, v)).collect();
        let mut line_back = Vec::new();
        write_file_form(&mut line_back, m.tlog(), &[], &back).expect("an object");
        line_back.push(b'\n');
        let mut buf = Vec::new();
        assert_eq!(line_back, m.file_form(&mut buf).expect("an object"));
        // No keyframe, no mark.
        let m = Extended {
            message: encoded(line.as_bytes()),
            fields: &fields[..1],
        };
        assert_eq!(m.journal_fields().count(), 1);
    }

    #[test]
    fn every_name_is_a_journal_field_name_and_none_is_tlog_s() {
        for name in [
            KEYFRAME, LOGIN, ORIGIN, EXIT, GAP, CHARSET, IN_ORIG, OUT_ORIG,
        ] {
            let journal = journal_name(name);
            // journald: capitals, digits and '_', not starting with '_', at
            // most 64 bytes.
            assert!(journal.len() <= 64, "{journal}");
            assert!(
                journal
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{journal}"
            );
            assert!(!crate::message::TLOG_FIELDS.contains(&name));
            let (back, _) = from_journal(journal.as_bytes(), b"1")
                .expect("ours")
                .expect("valid");
            assert_eq!(back, name);
        }
    }

    #[test]
    fn tlog_fields_are_the_ones_the_parser_knows() {
        for name in crate::message::TLOG_FIELDS {
            let line = format!(r#"{},"{name}":1}}"#, &TLOG[..TLOG.len() - 1]);
            let parsed = Message::parse(&line, &Location::default());
            // A second `name` is a duplicate of a tlog field, or (for `time`,
            // absent above) a tlog field with its own checks: never an extra.
            assert!(
                parsed.map_or(true, |m| m.extra.is_empty()),
                "{name} read as an extension field"
            );
        }
    }

    #[test]
    fn hostile_journal_fields_are_refused_or_passed_over() {
        // Not extension fields at all.
        for name in [
            &b"MESSAGE"[..],
            b"TLOG_REC",
            b"TERMTAPE_KEYFRAME",
            b"TERMTAPE_X_",
            b"TERMTAPE_X_kf",
            b"TERMTAPE_X_K\"F",
            b"TERMTAPE_X_TERMTAPE_UNVERIFIED",
        ] {
            assert!(from_journal(name, b"1").is_none(), "{name:?}");
        }
        // Unknown fields travel back, as every field tlog does not know.
        assert_eq!(
            from_journal(b"TERMTAPE_X_FUTURE_2", b"[1]"),
            Some(Ok(("future_2".to_owned(), "[1]")))
        );
        // A name of tlog's would change the message.
        assert!(matches!(
            from_journal(b"TERMTAPE_X_REC", br#""other""#),
            Some(Err(BadField::TlogName { .. }))
        ));
        // Values that are not one JSON value, or that would smuggle members.
        for value in [
            &b""[..],
            b"1,\"rec\":\"x\"",
            b"{\"a\":1",
            b"\"\\u12\"",
            b"\"a\x01\"",
            b"\"\xff\"",
            b"01",
            b"1.",
            b"tru",
            b"[1,]",
            b"{\"a\" 1}",
            b"1 2",
        ] {
            assert!(
                matches!(
                    from_journal(b"TERMTAPE_X_KF", value),
                    Some(Err(BadField::NotJson { .. }))
                ),
                "{value:?}"
            );
        }
    }

    #[test]
    fn huge_and_deep_values_are_bounded() {
        let huge = format!("\"{}\"", "é".repeat(5 << 20));
        assert_eq!(check_value(huge.as_bytes()), Ok(huge.as_str()));
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(check_value(deep(scan::MAX_DEPTH).as_bytes()).is_ok());
        let too_deep = check_value(deep(scan::MAX_DEPTH + 1).as_bytes()).expect_err("too deep");
        assert_eq!(too_deep.reason, "nested too deeply");
        // A million openings: an error, not a stack overflow.
        assert!(check_value("[{\"a\":".repeat(1_000_000).as_bytes()).is_err());
        // As deep as serde_json makes values, and no deeper.
        for n in [scan::MAX_DEPTH, scan::MAX_DEPTH + 1] {
            let object = format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
            for text in [deep(n), object] {
                assert_eq!(
                    serde_json::from_str::<serde_json::Value>(&text).is_ok(),
                    check_value(text.as_bytes()).is_ok(),
                    "{n} levels"
                );
            }
        }
    }

    #[test]
    fn find_reads_top_level_members_only_and_takes_the_first() {
        let line = br#"{"a":{"kf":1},"s":"\"kf\":{","k\u0066":{"v":1},"kf":2}"#;
        assert_eq!(find(line, "kf"), Ok(Some(r#"{"v":1}"#)));
        assert_eq!(find(line, "v"), Ok(None));
        assert_eq!(find(line, "s"), Ok(Some(r#""\"kf\":{""#)));
        let names: Vec<String> = members(line)
            .map(|m| m.expect("valid").name().into_owned())
            .collect();
        assert_eq!(names, ["a", "s", "kf", "kf"]);
        assert_eq!(
            find(TLOG.as_bytes(), "pos").map(|v| v.map(str::to_owned)),
            Ok(Some("0".to_owned()))
        );
        assert_eq!(find(b" { } ", "kf"), Ok(None));
    }

    #[test]
    fn find_refuses_what_is_not_an_object() {
        for bad in [
            &b""[..],
            b"[1]",
            b"\"kf\"",
            b"1",
            b"{\"kf\"}",
            b"{\"kf\":}",
            b"{\"a\":1,}",
            b"{\"a\":1 \"kf\":2}",
            b"{\"a\":1",
            b"{kf:1}",
            b"{\"a\":\"\xfe\",\"kf\":1}",
        ] {
            assert!(find(bad, "kf").is_err(), "{bad:?}");
        }
        // The object must be all there is.
        let after: Vec<_> = members(b"{\"a\":1} x").collect();
        assert_eq!(after.len(), 2);
        assert!(after[1].is_err());
    }

    #[test]
    fn the_file_form_needs_an_object_with_members() {
        let mark = [Field::new(UNVERIFIED, r#""uid 1007""#)];
        for bad in [
            &b"[1]"[..],
            b"{}",
            b"  { } ",
            b"",
            b"{",
            b"}",
            b"x{\"a\":1}",
        ] {
            assert_eq!(
                write_file_form(&mut Vec::new(), bad, &mark, &mark),
                Err(NotAnObject),
                "{bad:?}"
            );
        }
        let mut out = Vec::new();
        write_file_form(&mut out, b" {\"a\":1}\n", &mark, &[Field::new(GAP, "2")])
            .expect("an object");
        assert_eq!(
            out,
            br#" {"termtape_unverified":"uid 1007","a":1,"gap":2}"#.to_vec()
        );
    }
}

#[cfg(test)]
mod proptests {
    use std::time::Duration;

    use proptest::prelude::*;
    use serde_json::value::RawValue;

    use super::*;
    use crate::{Encoder, Header, Location, Message, Stream};

    /// Text made of JSON's pieces, valid or not.
    fn jsonish() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("{"),
                Just("}"),
                Just("["),
                Just("]"),
                Just(","),
                Just(":"),
                Just("\""),
                Just("\\"),
                Just("\\u00e9"),
                Just("\\ud800"),
                Just("\\x"),
                Just("0"),
                Just("-1.5e3"),
                Just("01"),
                Just("."),
                Just("e"),
                Just("true"),
                Just("nul"),
                Just(" "),
                Just("\n"),
                Just("\u{1}"),
                Just("a"),
                Just("é"),
            ],
            0..40,
        )
        .prop_map(|parts| parts.concat())
    }

    /// Any JSON value, a few levels deep.
    fn value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[a-z\"\\\n\u{1}é😀]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("[a-z\"]{0,3}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// An extension field: never one of tlog's names (no writer uses
    /// them, and the journal reader refuses them).
    fn field() -> impl Strategy<Value = (String, String)> {
        (
            "[a-z][a-z_0-9]{0,10}".prop_filter("one of tlog's fields", |n| {
                !crate::message::TLOG_FIELDS.contains(&n.as_str())
            }),
            value().prop_map(|v| v.to_string()),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// The scanner accepts a value exactly when serde_json's raw value
        /// does (as [`Message::parse`] keeps extension fields).
        #[test]
        fn check_value_agrees_with_serde_json(text in jsonish()) {
            let serde = serde_json::from_str::<Box<RawValue>>(&text).is_ok();
            prop_assert_eq!(check_value(text.as_bytes()).is_ok(), serde, "{:?}", text);
        }

        /// Members of any object are found as serde_json reads them.
        #[test]
        fn members_are_serde_json_s(map in proptest::collection::btree_map("[a-z\"\\\\é]{0,4}", value(), 0..6)) {
            let object: serde_json::Map<String, serde_json::Value> = map.clone().into_iter().collect();
            let text = serde_json::Value::Object(object).to_string();
            let found: Vec<(String, String)> = members(text.as_bytes())
                .map(|m| {
                    let m = m.expect("valid");
                    (m.name().into_owned(), m.value.to_owned())
                })
                .collect();
            let expected: Vec<(String, String)> = map.into_iter().map(|(k, v)| (k, v.to_string())).collect();
            prop_assert_eq!(found, expected);
        }

        /// Whatever the message and its fields: the file form parses into
        /// tlog's message and the fields, in order; its tlog part is the
        /// encoder's line exactly (the journal's MESSAGE); the journal form
        /// comes back to the same file form; and the length is known ahead.
        #[test]
        fn file_and_journal_forms_round_trip(out in proptest::collection::vec(any::<u8>(), 1..300), fields in proptest::collection::vec(field(), 0..5)) {
            let header = Header { host: "h".into(), rec: "r".into(), user: "u".into(), term: "t".into(), session: 5 };
            let mut enc = Encoder::new(&header, 4096, Duration::from_secs(1)).expect("payload");
            let mut lines = Vec::new();
            let mut emit = |e: Encoded<'_>| -> Result<(), ()> { lines.push(e.json.to_vec()); Ok(()) };
            enc.io(Duration::from_millis(3), Stream::Output, &out, &mut emit).expect("emit");
            enc.cut(&mut emit).expect("emit");
            enc.flush(&mut emit).expect("emit");
            let fields: Vec<Field<'_>> = fields.iter().map(|(n, v)| Field::new(n, v)).collect();
            for line in &lines {
                let m = Extended { message: encoded_line(line), fields: &fields };
                let mut buf = Vec::new();
                let form = m.file_form(&mut buf).expect("an object").to_vec();
                prop_assert_eq!(form.len(), m.file_len());
                let text = std::str::from_utf8(&form).expect("utf-8");
                let mut msg = Message::parse(text.trim_end(), &Location::default()).expect("valid");
                let extra: Vec<(String, String)> = msg.extra.drain(..).map(|(n, v)| (n, v.get().to_owned())).collect();
                let given: Vec<(String, String)> = fields.iter().map(|f| (f.name.to_owned(), f.value.to_owned())).collect();
                prop_assert_eq!(extra, given);
                prop_assert_eq!(msg.to_json().into_bytes(), line.clone());
                for f in &fields {
                    prop_assert_eq!(find(&form, f.name).expect("valid").is_some(), true);
                }
                let back: Vec<(String, &str)> = m
                    .journal_fields()
                    .filter_map(|f| from_journal(f.name.as_bytes(), f.value.as_bytes()))
                    .collect::<Result<_, _>>()
                    .expect("valid");
                let back: Vec<Field<'_>> = back.iter().map(|(n, v)| Field::new(n, v)).collect();
                let mut again = Vec::new();
                if !fields.is_empty() {
                    write_file_form(&mut again, m.tlog(), &[], &back).expect("an object");
                    again.push(b'\n');
                    prop_assert_eq!(again, form);
                }
            }
        }
    }

    fn encoded_line(json: &[u8]) -> Encoded<'_> {
        Encoded {
            id: 1,
            pos: 0,
            time: 0,
            json,
            input_end: 0,
            output_end: 0,
        }
    }
}
