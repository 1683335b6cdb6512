//! One message of tlog's format 2.3: parse, validate, serialise, decode.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::{Error, Location, Result};
use crate::escape::escape_str_into;
use crate::timing::{self, Record, Stream};

/// The format version termtape writes.
pub const VERSION: &str = "2.3";

/// One JSON message: a slice of a recording, with the recording's identity.
///
/// Fields are tlog's, in tlog's order. Fields that tlog does not know (such as
/// termtape's keyframes) are kept in [`Message::extra`], verbatim and in order.
#[derive(Debug, Clone)]
pub struct Message {
    /// Format version, `"2.3"` when written by termtape or tlog.
    pub ver: String,
    /// Host name of the recorded machine.
    pub host: String,
    /// Recording id, unique per recording (optional in older versions).
    pub rec: Option<String>,
    /// Name of the recorded user.
    pub user: String,
    /// Terminal type (`TERM`) of the recorded user.
    pub term: String,
    /// Audit session id (1..=4294967295; 4294967295 means "unset").
    pub session: u32,
    /// Message number in the recording, from 1, going up by one.
    pub id: u64,
    /// Milliseconds from the recording's start to this message's start.
    pub pos: u64,
    /// Wall-clock time of the message's start, in milliseconds since the
    /// Unix epoch (`None` if absent).
    pub time: Option<u64>,
    /// The timing string (see [`crate::timing`]).
    pub timing: String,
    /// Input text.
    pub in_txt: String,
    /// Input bytes that are not valid UTF-8.
    pub in_bin: Vec<u8>,
    /// Output text.
    pub out_txt: String,
    /// Output bytes that are not valid UTF-8.
    pub out_bin: Vec<u8>,
    /// Fields unknown to tlog, as (name, raw JSON value), in their order.
    pub extra: Vec<(String, Box<RawValue>)>,
}

impl PartialEq for Message {
    fn eq(&self, other: &Self) -> bool {
        self.ver == other.ver
            && self.host == other.host
            && self.rec == other.rec
            && self.user == other.user
            && self.term == other.term
            && self.session == other.session
            && self.id == other.id
            && self.pos == other.pos
            && self.time == other.time
            && self.timing == other.timing
            && self.in_txt == other.in_txt
            && self.in_bin == other.in_bin
            && self.out_txt == other.out_txt
            && self.out_bin == other.out_bin
            && self.extra.len() == other.extra.len()
            && self
                .extra
                .iter()
                .zip(&other.extra)
                .all(|((ka, va), (kb, vb))| ka == kb && va.get() == vb.get())
    }
}

/// One thing that happened in a recording, as a message's timing tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// The window size at this point.
    Window {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
    /// Bytes of terminal I/O.
    Io {
        /// Input or output.
        stream: Stream,
        /// The bytes exactly as they were recorded.
        bytes: Vec<u8>,
    },
}

/// A [`Packet`] and when it happened, in milliseconds from the recording's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timed {
    /// Milliseconds from the recording's start.
    pub at: u64,
    /// What happened.
    pub packet: Packet,
}

impl Message {
    /// Parses one JSON message (one line of a file, without its newline) and
    /// validates it as tlog-play does. `at` locates it in error messages.
    pub fn parse(json: &str, at: &Location) -> Result<Message> {
        // Messages as recorders write them take the quick way; whatever it
        // does not take, or takes and finds invalid, goes the general way,
        // whose errors are the ones reported.
        if let Some(raw) = crate::fast::scan(json)
            && let Ok(msg) = raw.validate(at)
        {
            return Ok(msg);
        }
        Message::parse_general(json, at)
    }

    /// [`Message::parse`] by serde_json alone: the reference the quick way
    /// must agree with.
    pub(crate) fn parse_general(json: &str, at: &Location) -> Result<Message> {
        let raw: RawMessage<'_> = serde_json::from_str(json).map_err(|source| {
            let at = Location {
                id: sniff_id(json),
                ..at.clone()
            };
            if source.is_eof() {
                Error::Truncated { at }
            } else {
                Error::Json { at, source }
            }
        })?;
        raw.validate(at)
    }

    /// The recording this message belongs to: `rec`, or, for old messages
    /// without it, host and session.
    pub fn recording_key(&self) -> String {
        match &self.rec {
            Some(rec) => rec.clone(),
            None => format!("{}/{}", self.host, self.session),
        }
    }

    /// The value of an extra (non-tlog) field, raw JSON.
    pub fn extra(&self, name: &str) -> Option<&RawValue> {
        self.extra
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_ref())
    }

    /// How many messages a rate limit dropped just before this one, as its
    /// `gap` field (`{"messages":N,"bytes":M}`) says.
    pub fn dropped_messages(&self) -> Option<u64> {
        let gap: serde_json::Value =
            serde_json::from_str(self.extra(crate::extension::GAP)?.get()).ok()?;
        gap.get("messages")?.as_u64()
    }

    /// Decodes the timing into packets, calling `f` for each in order.
    /// Times are absolute: the message's `pos` plus the delays before it.
    /// Text runs that directly follow each other in one stream at one
    /// instant come out as one packet.
    pub fn decode(&self, at: &Location, mut f: impl FnMut(Timed)) -> Result<()> {
        let records =
            timing::parse(&self.timing).map_err(|reason| self.timing_error(at, reason))?;
        let mut now = self.pos;
        let mut input = Cursor::new(&self.in_txt, &self.in_bin);
        let mut output = Cursor::new(&self.out_txt, &self.out_bin);
        let mut pending: Option<(Stream, Vec<u8>)> = None;
        fn emit(pending: &mut Option<(Stream, Vec<u8>)>, now: u64, f: &mut impl FnMut(Timed)) {
            if let Some((stream, bytes)) = pending.take() {
                f(Timed {
                    at: now,
                    packet: Packet::Io { stream, bytes },
                });
            }
        }
        for record in records {
            match record {
                Record::Delay(ms) => {
                    emit(&mut pending, now, &mut f);
                    now = now.saturating_add(ms);
                }
                Record::Window { cols, rows } => {
                    emit(&mut pending, now, &mut f);
                    f(Timed {
                        at: now,
                        packet: Packet::Window { cols, rows },
                    });
                }
                Record::Text { stream, chars } | Record::Binary { stream, chars, .. } => {
                    if pending.as_ref().is_some_and(|(s, _)| *s != stream) {
                        emit(&mut pending, now, &mut f);
                    }
                    let buf = &mut pending.get_or_insert_with(|| (stream, Vec::new())).1;
                    let cursor = if stream == Stream::Input {
                        &mut input
                    } else {
                        &mut output
                    };
                    let taken = match record {
                        Record::Binary { bytes, .. } => cursor.take_binary(chars, bytes, buf),
                        _ => cursor.take_text(chars, buf),
                    };
                    taken.map_err(|reason| self.timing_error(at, reason))?;
                }
            }
        }
        emit(&mut pending, now, &mut f);
        for (cursor, name) in [(&input, "in"), (&output, "out")] {
            if let Some(reason) = cursor.leftover(name) {
                return Err(self.timing_error(at, reason));
            }
        }
        Ok(())
    }

    /// The concatenated bytes of one stream, as recorded.
    pub fn bytes(&self, stream: Stream, at: &Location) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.decode(at, |t| {
            if let Packet::Io { stream: s, bytes } = t.packet
                && s == stream
            {
                out.extend_from_slice(&bytes);
            }
        })?;
        Ok(out)
    }

    fn timing_error(&self, at: &Location, reason: String) -> Error {
        Error::Timing {
            at: Location {
                id: Some(self.id),
                ..at.clone()
            },
            reason,
        }
    }

    /// Serialises the message as tlog does, followed by a newline.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"ver\":\"");
        escape_str_into(&self.ver, out);
        out.extend_from_slice(b"\",\"host\":\"");
        escape_str_into(&self.host, out);
        if let Some(rec) = &self.rec {
            out.extend_from_slice(b"\",\"rec\":\"");
            escape_str_into(rec, out);
        }
        out.extend_from_slice(b"\",\"user\":\"");
        escape_str_into(&self.user, out);
        out.extend_from_slice(b"\",\"term\":\"");
        escape_str_into(&self.term, out);
        out.extend_from_slice(b"\",\"session\":");
        push_u64(out, u64::from(self.session));
        out.extend_from_slice(b",\"id\":");
        push_u64(out, self.id);
        out.extend_from_slice(b",\"pos\":");
        push_u64(out, self.pos);
        if let Some(time) = self.time {
            out.extend_from_slice(b",\"time\":");
            push_time(out, time);
        }
        out.extend_from_slice(b",\"timing\":\"");
        escape_str_into(&self.timing, out);
        out.extend_from_slice(b"\",\"in_txt\":\"");
        escape_str_into(&self.in_txt, out);
        out.extend_from_slice(b"\",\"in_bin\":[");
        push_bin(out, &self.in_bin);
        out.extend_from_slice(b"],\"out_txt\":\"");
        escape_str_into(&self.out_txt, out);
        out.extend_from_slice(b"\",\"out_bin\":[");
        push_bin(out, &self.out_bin);
        out.push(b']');
        for (name, value) in &self.extra {
            out.push(b',');
            crate::extension::push_member(out, &crate::extension::Field::new(name, value.get()));
        }
        out.extend_from_slice(b"}\n");
    }

    /// The message as one line of JSON, with its newline.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(256 + self.out_txt.len() + self.in_txt.len());
        self.write_json(&mut out);
        String::from_utf8(out).expect("serialised from UTF-8 strings")
    }
}

pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Writes milliseconds since the epoch as tlog does: `secs.mmm`.
pub(crate) fn push_time(out: &mut Vec<u8>, ms: u64) {
    push_u64(out, ms / 1000);
    let frac = (ms % 1000) as u16;
    out.extend_from_slice(&[
        b'.',
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ]);
}

fn push_bin(out: &mut Vec<u8>, bin: &[u8]) {
    for (i, &b) in bin.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_u64(out, u64::from(b));
    }
}

/// Finds `"id":N` in a line that does not parse, so errors can name it.
pub(crate) fn sniff_id(json: &str) -> Option<u64> {
    let start = json.find("\"id\":")? + 5;
    let digits: String = json[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Walks a text field and its binary array as the timing consumes them.
struct Cursor<'a> {
    txt: &'a str,
    bin: &'a [u8],
    txt_at: usize,
    bin_at: usize,
}

impl<'a> Cursor<'a> {
    fn new(txt: &'a str, bin: &'a [u8]) -> Self {
        Cursor {
            txt,
            bin,
            txt_at: 0,
            bin_at: 0,
        }
    }

    /// Byte length of the next `chars` characters of the text.
    fn span(&self, chars: usize) -> std::result::Result<usize, String> {
        let rest = &self.txt[self.txt_at..];
        // ASCII fast path: one byte per character.
        if rest.len() >= chars && rest.as_bytes()[..chars].is_ascii() {
            return Ok(chars);
        }
        // Characters are counted by their first bytes (every byte but a
        // continuation byte, 10xxxxxx, starts one): the text is valid UTF-8.
        // Eight bytes at a time while the character wanted is further on.
        let bytes = rest.as_bytes();
        let (mut seen, mut from) = (0, 0);
        while let Some(block) = bytes.get(from..from + 8) {
            let mut lanes = [0; 8];
            lanes.copy_from_slice(block);
            let w = u64::from_le_bytes(lanes);
            let continuations = (w & !(w << 1) & 0x8080_8080_8080_8080).count_ones() as usize;
            let starts = 8 - continuations;
            if seen + starts > chars {
                break;
            }
            seen += starts;
            from += 8;
        }
        for (i, &b) in bytes.iter().enumerate().skip(from) {
            if b & 0xC0 != 0x80 {
                if seen == chars {
                    return Ok(i);
                }
                seen += 1;
            }
        }
        match seen == chars {
            true => Ok(rest.len()),
            false => Err(format!(
                "timing wants {chars} characters but only {seen} remain in the text"
            )),
        }
    }

    fn take_text(&mut self, chars: usize, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        let len = self.span(chars)?;
        out.extend_from_slice(&self.txt.as_bytes()[self.txt_at..self.txt_at + len]);
        self.txt_at += len;
        Ok(())
    }

    fn take_binary(
        &mut self,
        chars: usize,
        bytes: usize,
        out: &mut Vec<u8>,
    ) -> std::result::Result<(), String> {
        let len = self.span(chars)?;
        let end = self
            .bin_at
            .checked_add(bytes)
            .filter(|&e| e <= self.bin.len())
            .ok_or_else(|| {
                format!(
                    "timing wants {bytes} binary bytes but only {} remain",
                    self.bin.len() - self.bin_at
                )
            })?;
        out.extend_from_slice(&self.bin[self.bin_at..end]);
        self.bin_at = end;
        self.txt_at += len;
        Ok(())
    }

    fn leftover(&self, name: &str) -> Option<String> {
        let txt = self.txt.len() - self.txt_at;
        let bin = self.bin.len() - self.bin_at;
        (txt != 0 || bin != 0).then(|| {
            format!(
                "{txt} bytes of {name}_txt and {bin} of {name}_bin are not covered by the timing"
            )
        })
    }
}

/// tlog's fields: every other member of a message is an extension field
/// (see [`crate::extension`]).
pub(crate) const TLOG_FIELDS: [&str; 14] = [
    "ver", "host", "rec", "user", "term", "session", "id", "pos", "time", "timing", "in_txt",
    "in_bin", "out_txt", "out_bin",
];

/// The message as it comes out of JSON, before validation; the values
/// kept raw are JSON text as it stands in the line.
#[derive(Default)]
pub(crate) struct RawMessage<'a> {
    pub(crate) ver: Option<&'a str>,
    pub(crate) host: Option<String>,
    pub(crate) rec: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) term: Option<String>,
    pub(crate) session: Option<&'a str>,
    pub(crate) id: Option<&'a str>,
    pub(crate) pos: Option<&'a str>,
    pub(crate) time: Option<&'a str>,
    pub(crate) timing: Option<String>,
    pub(crate) in_txt: Option<String>,
    pub(crate) in_bin: Option<Vec<u8>>,
    pub(crate) out_txt: Option<String>,
    pub(crate) out_bin: Option<Vec<u8>>,
    pub(crate) extra: Vec<(String, Box<RawValue>)>,
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for RawMessage<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_map(RawVisitor(std::marker::PhantomData))
    }
}

struct RawVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for RawVisitor<'a> {
    type Value = RawMessage<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tlog message (a JSON object)")
    }

    fn visit_map<M: MapAccess<'de>>(
        self,
        mut map: M,
    ) -> std::result::Result<Self::Value, M::Error> {
        let mut m = RawMessage::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            macro_rules! set {
                ($field:ident) => {{
                    if m.$field.is_some() {
                        return Err(duplicate(stringify!($field)));
                    }
                    m.$field = Some(map.next_value()?);
                }};
            }
            macro_rules! set_raw {
                ($field:ident) => {{
                    if m.$field.is_some() {
                        return Err(duplicate(stringify!($field)));
                    }
                    m.$field = Some(map.next_value::<&'de RawValue>()?.get());
                }};
            }
            fn duplicate<E: de::Error>(field: &str) -> E {
                E::custom(format!("duplicate field \"{field}\""))
            }
            match key.as_ref() {
                "ver" => set_raw!(ver),
                "host" => set!(host),
                "rec" => set!(rec),
                "user" => set!(user),
                "term" => set!(term),
                "session" => set_raw!(session),
                "id" => set_raw!(id),
                "pos" => set_raw!(pos),
                "time" => set_raw!(time),
                "timing" => set!(timing),
                "in_txt" => set!(in_txt),
                "in_bin" => set!(in_bin),
                "out_txt" => set!(out_txt),
                "out_bin" => set!(out_bin),
                _ => {
                    let value: Box<RawValue> = map.next_value()?;
                    m.extra.push((key.into_owned(), value));
                }
            }
        }
        Ok(m)
    }
}

impl RawMessage<'_> {
    pub(crate) fn validate(self, at: &Location) -> Result<Message> {
        let id_raw = self.id;
        let id = id_raw.and_then(|s| s.parse::<u64>().ok());
        let at = Location { id, ..at.clone() };
        let missing = |field| Error::MissingField {
            at: at.clone(),
            field,
        };
        let invalid = |field, reason: &str| Error::InvalidField {
            at: at.clone(),
            field,
            reason: reason.to_owned(),
        };

        let ver_raw = self.ver.ok_or_else(|| missing("ver"))?;
        let ver: String = serde_json::from_str(ver_raw)
            .map_err(|_| invalid("ver", "must be a string such as \"2.3\""))?;
        check_version(&ver).map_err(|()| Error::Version {
            at: at.clone(),
            ver: ver.clone(),
        })?;
        let host = self.host.ok_or_else(|| missing("host"))?;
        let user = self.user.ok_or_else(|| missing("user"))?;
        let term = self.term.ok_or_else(|| missing("term"))?;
        let session = self
            .session
            .ok_or_else(|| missing("session"))?
            .parse::<u32>()
            .ok()
            .filter(|&s| s != 0)
            .ok_or_else(|| invalid("session", "must be an integer from 1 to 4294967295"))?;
        let id = match (id_raw, id) {
            (None, _) => return Err(missing("id")),
            (Some(_), None) => return Err(invalid("id", "must be a non-negative integer")),
            (Some(_), Some(id)) => id,
        };
        let pos = self
            .pos
            .ok_or_else(|| missing("pos"))?
            .parse::<u64>()
            .map_err(|_| invalid("pos", "must be a non-negative integer (milliseconds)"))?;
        let time = match self.time {
            None => None,
            Some(raw) => Some(parse_time(raw).ok_or_else(|| {
                invalid(
                    "time",
                    "must be a number with a fraction, such as 1795706950.773",
                )
            })?),
        };
        let timing = self.timing.ok_or_else(|| missing("timing"))?;
        let in_bin = self.in_bin.ok_or_else(|| missing("in_bin"))?;
        let out_bin = self.out_bin.ok_or_else(|| missing("out_bin"))?;
        Ok(Message {
            ver,
            host,
            rec: self.rec,
            user,
            term,
            session,
            id,
            pos,
            time,
            timing,
            in_txt: self.in_txt.unwrap_or_default(),
            in_bin,
            out_txt: self.out_txt.unwrap_or_default(),
            out_bin,
            extra: self.extra,
        })
    }
}

/// Accepts what tlog-play accepts: `"2"`, `"2.3"`, `"2.99"`; major ≤ 2.
fn check_version(ver: &str) -> std::result::Result<(), ()> {
    let (major, minor) = match ver.split_once('.') {
        Some((major, minor)) => (major, Some(minor)),
        None => (ver, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(major) || minor.is_some_and(|m| !digits(m)) {
        return Err(());
    }
    match major.parse::<u32>() {
        Ok(m) if m <= 2 => Ok(()),
        _ => Err(()),
    }
}

/// Parses `secs.fraction` into milliseconds; an integer is rejected, as
/// tlog-play rejects it.
fn parse_time(raw: &str) -> Option<u64> {
    let (secs, frac) = raw.split_once('.')?;
    if secs.is_empty() || frac.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    let mut ms = 0u64;
    for (i, d) in frac.bytes().take(3).enumerate() {
        ms += u64::from(d - b'0') * [100, 10, 1][i];
    }
    secs.checked_mul(1000)?.checked_add(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// A span of characters is where counting characters one by one
        /// ends, or an error when there are too few.
        #[test]
        fn spans_count_characters(
            text in "[a-z\u{e9}\u{65e5}\u{1f600}\r\n]{0,40}",
            skip in 0usize..8,
            chars in 0usize..48,
        ) {
            let mut cursor = Cursor::new(&text, &[]);
            cursor.txt_at = text.char_indices().nth(skip).map_or(text.len(), |(i, _)| i);
            let rest = &text[cursor.txt_at..];
            let want = match rest.char_indices().nth(chars) {
                Some((len, _)) => Some(len),
                None => (rest.chars().count() == chars).then_some(rest.len()),
            };
            proptest::prop_assert_eq!(cursor.span(chars).ok(), want);
        }
    }

    const LINE: &str = r#"{"ver":"2.3","host":"vm","rec":"r1","user":"root","term":"xterm","session":4294967295,"id":1,"pos":0,"time":1795708038.041,"timing":"=0x0+5>3]2/2>1","in_txt":"","in_bin":[],"out_txt":"a\tb��\n","out_bin":[255,254]}"#;

    #[test]
    fn round_trips_a_tlog_line() {
        let m = Message::parse(LINE, &Location::default()).expect("valid");
        assert_eq!(m.time, Some(1_795_708_038_041));
        assert_eq!(m.to_json(), format!("{LINE}\n"));
        assert_eq!(
            m.bytes(Stream::Output, &Location::default())
                .expect("decodes"),
            b"a\tb\xff\xfe\n"
        );
    }

    #[test]
    fn keeps_unknown_fields_in_order() {
        let line = LINE.replace("}", r#","kf":{"v":1,"s":"x"},"z":[1, 2]}"#);
        let m = Message::parse(&line, &Location::default()).expect("valid");
        assert_eq!(m.extra("kf").map(RawValue::get), Some(r#"{"v":1,"s":"x"}"#));
        assert_eq!(m.to_json(), format!("{line}\n"));
    }

    #[test]
    fn versions_as_tlog_play_takes_them() {
        for ok in ["2", "2.3", "2.4", "2.99", "1"] {
            assert!(check_version(ok).is_ok(), "{ok}");
        }
        for bad in ["3", "3.0", "2.3.1", "", "2.", "x"] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
        let float = LINE.replace(r#""ver":"2.3""#, r#""ver":2.3"#);
        assert!(matches!(
            Message::parse(&float, &Location::default()),
            Err(Error::InvalidField { field: "ver", .. })
        ));
    }

    #[test]
    fn rejects_integer_time_and_bad_session() {
        let int_time = LINE.replace("1795708038.041", "1795708038");
        assert!(matches!(
            Message::parse(&int_time, &Location::default()),
            Err(Error::InvalidField { field: "time", .. })
        ));
        let zero = LINE.replace("4294967295", "0");
        assert!(matches!(
            Message::parse(&zero, &Location::default()),
            Err(Error::InvalidField {
                field: "session",
                ..
            })
        ));
    }

    #[test]
    fn missing_fields_are_named() {
        for field in [
            "ver", "host", "user", "term", "session", "id", "pos", "timing", "in_bin", "out_bin",
        ] {
            let v: serde_json::Value = serde_json::from_str(LINE).expect("json");
            let mut obj = v.as_object().expect("object").clone();
            obj.remove(field);
            let line = serde_json::to_string(&obj).expect("json");
            match Message::parse(&line, &Location::default()) {
                Err(Error::MissingField { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn truncated_line_is_reported_with_its_id() {
        let cut = &LINE[..LINE.len() - 10];
        match Message::parse(
            cut,
            &Location {
                line: 7,
                ..Location::default()
            },
        ) {
            Err(Error::Truncated { at }) => {
                assert_eq!(at.line, 7);
                assert_eq!(at.id, Some(1));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn timing_overrunning_text_is_an_error() {
        let bad = LINE.replace(r#">3]2/2>1"#, r#">30"#);
        let m = Message::parse(&bad, &Location::default()).expect("parses");
        assert!(matches!(
            m.bytes(Stream::Output, &Location::default()),
            Err(Error::Timing { .. })
        ));
    }
}
