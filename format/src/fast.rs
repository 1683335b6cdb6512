//! The quick way through a message as recorders write it: one object, no
//! whitespace, tlog's fields with plain numbers, escape-free keys.
//!
//! Reading a recording is mostly reading `out_txt`. serde_json's general
//! path goes through it a byte at a time behind a visitor; here a string's
//! plain stretches are found with `memchr` and copied whole, numbers and
//! `*_bin` arrays are read in place, and only extension fields (a keyframe,
//! the chain) go through serde_json, as raw values.
//!
//! [`scan`] takes only what it is sure of and gives `None` for anything
//! else (whitespace, a duplicate field, an escaped key, a lone surrogate, a
//! number with a sign, fraction or exponent where an integer goes, ...):
//! [`crate::Message::parse`] then takes the general way, so damaged input
//! is reported exactly as before. What it takes, it must take as serde_json
//! does; the tests below check that on random messages.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::message::RawMessage;

/// The message in `json`, unvalidated, if it is in the form the quick way
/// takes; `None` sends it the general way.
pub(crate) fn scan(json: &str) -> Option<RawMessage<'_>> {
    let mut s = Scanner { json, at: 0 };
    let mut m = RawMessage::default();
    s.eat(b'{')?;
    if s.peek()? == b'}' {
        s.at += 1;
        return s.done().then_some(m);
    }
    loop {
        let key = s.key()?;
        s.eat(b':')?;
        macro_rules! once {
            ($field:ident, $value:expr) => {{
                if m.$field.is_some() {
                    return None;
                }
                m.$field = Some($value);
            }};
        }
        match key {
            "ver" => once!(ver, s.raw_string()?),
            "host" => once!(host, s.string()?),
            "rec" => once!(rec, s.string()?),
            "user" => once!(user, s.string()?),
            "term" => once!(term, s.string()?),
            "session" => once!(session, s.integer()?),
            "id" => once!(id, s.integer()?),
            "pos" => once!(pos, s.integer()?),
            "time" => once!(time, s.time()?),
            "timing" => once!(timing, s.string()?),
            "in_txt" => once!(in_txt, s.string()?),
            "in_bin" => once!(in_bin, s.bytes()?),
            "out_txt" => once!(out_txt, s.string()?),
            "out_bin" => once!(out_bin, s.bytes()?),
            _ => {
                let value = s.raw_value()?;
                m.extra.push((key.to_owned(), value));
            }
        }
        match s.next()? {
            b',' => {}
            b'}' => return s.done().then_some(m),
            _ => return None,
        }
    }
}

/// The `rec` of the message in `json`, when its first members (at most
/// [`KEY_WITHIN`]) are plain strings and numbers and `rec` is among them, a
/// string without escapes; `None` for any other form. The members before
/// it are read in turn, so the one found is a member of the object and not
/// text inside a value; both ways refuse a second `rec` (however spelt),
/// so a line that parses has this one.
pub(crate) fn recording_key(json: &str) -> Option<&str> {
    let mut s = Scanner { json, at: 0 };
    s.eat(b'{')?;
    for _ in 0..KEY_WITHIN {
        let key = s.key()?;
        s.eat(b':')?;
        if key == "rec" {
            let rec = s.key()?;
            return matches!(s.peek()?, b',' | b'}').then_some(rec);
        }
        match s.peek()? {
            b'"' => {
                s.key()?;
            }
            // A number: where it ends is all that matters here.
            _ => {
                let len = s.bytes_()[s.at..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit() || **b == b'.')
                    .count();
                if len == 0 {
                    return None;
                }
                s.at += len;
            }
        }
        s.eat(b',')?;
    }
    None
}

/// How many members [`recording_key`] reads before giving up: tlog and
/// termtape write `rec` third.
const KEY_WITHIN: usize = 4;

/// The bytes that end a plain stretch of a string: its end, an escape, and
/// the control characters JSON does not allow in one.
static SPECIAL: [bool; 256] = {
    let mut special = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        special[b] = true;
        b += 1;
    }
    special[b'"' as usize] = true;
    special[b'\\' as usize] = true;
    special
};

/// The special bytes (see [`SPECIAL`]) among eight: the high bit of each
/// such byte's lane set, and the lowest set lane is the first special byte
/// (lanes above it may be set falsely, by a borrow).
#[inline]
fn special_bytes(block: [u8; 8]) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let w = u64::from_le_bytes(block);
    // A lane below `n` (n <= 0x80) borrows, and its high bit was clear.
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH;
    below(w, 0x20)
        | below(w ^ (ONES * u64::from(b'"')), 1)
        | below(w ^ (ONES * u64::from(b'\\')), 1)
}

struct Scanner<'a> {
    json: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    fn bytes_(&self) -> &'a [u8] {
        self.json.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes_().get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn eat(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    fn done(&self) -> bool {
        self.at == self.json.len()
    }

    /// A key without escapes or control characters.
    fn key(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let len = memchr::memchr2(b'"', b'\\', &self.bytes_()[start..])?;
        let key = &self.json[start..start + len];
        if self.bytes_()[start + len] != b'"' || key.bytes().any(|b| b < 0x20) {
            return None;
        }
        self.at = start + len + 1;
        Some(key)
    }

    /// A string without escapes or control characters, quotes included.
    fn raw_string(&mut self) -> Option<&'a str> {
        let start = self.at;
        self.key()?;
        Some(&self.json[start..self.at])
    }

    /// A string, unescaped.
    fn string(&mut self) -> Option<String> {
        self.eat(b'"')?;
        let bytes = self.bytes_();
        let start = self.at;
        // Most strings (names, the timing) have no escape: one copy.
        let plain = bytes[start..]
            .iter()
            .position(|&b| SPECIAL[usize::from(b)])?;
        if bytes[start + plain] == b'"' {
            self.at = start + plain + 1;
            return Some(self.json[start..start + plain].to_owned());
        }
        // Recorded output has an escape every few bytes (`\r\n` ends each
        // line of `seq`): eight bytes are looked at and copied at once, the
        // copy then cut back to the first special byte, so no stretch costs
        // a call. Escapes are at least two bytes for one, so up to the first
        // quote is room enough unless a quote is escaped.
        let room = memchr::memchr(b'"', &bytes[start..]).unwrap_or(0);
        let mut out = Vec::with_capacity(room + 8);
        out.extend_from_slice(&bytes[start..start + plain]);
        let mut at = start + plain;
        loop {
            if let Some(block) = bytes
                .get(at..at + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
            {
                let len = out.len();
                // An array, so that the copy is one store and not a call.
                out.extend_from_slice(&block);
                let special = special_bytes(block);
                if special == 0 {
                    at += 8;
                    continue;
                }
                let plain = special.trailing_zeros() as usize / 8;
                out.truncate(len + plain);
                at += plain;
            }
            let b = *bytes.get(at)?;
            at += 1;
            if !SPECIAL[usize::from(b)] {
                out.push(b);
                continue;
            }
            match b {
                b'"' => break,
                b'\\' => {}
                // serde_json refuses control characters inside strings.
                _ => return None,
            }
            let unescaped = match *bytes.get(at)? {
                b'"' => b'"',
                b'\\' => b'\\',
                b'/' => b'/',
                b'b' => 0x08,
                b'f' => 0x0C,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'u' => {
                    self.at = at + 1;
                    let c = self.unicode()?;
                    at = self.at;
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    continue;
                }
                _ => return None,
            };
            at += 1;
            out.push(unescaped);
            // A line's end, in one step.
            if unescaped == b'\r' && bytes.get(at..at + 2) == Some(b"\\n") {
                at += 2;
                out.push(b'\n');
            }
        }
        self.at = at;
        // Whole characters of valid UTF-8 (the input's, cut at ASCII bytes,
        // and those of escapes) were copied: this check always passes.
        String::from_utf8(out).ok()
    }

    /// The character of a `\u` escape (its `\u` read): a surrogate pair
    /// makes one; a lone surrogate goes the general way.
    fn unicode(&mut self) -> Option<char> {
        let high = self.hex4()?;
        if !(0xD800..0xE000).contains(&high) {
            return char::from_u32(high);
        }
        if high >= 0xDC00 || self.next()? != b'\\' || self.next()? != b'u' {
            return None;
        }
        let low = self.hex4()?;
        if !(0xDC00..0xE000).contains(&low) {
            return None;
        }
        char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes_().get(self.at..self.at + 4)?;
        let mut n = 0;
        for &d in digits {
            n = n << 4 | char::from(d).to_digit(16)?;
        }
        self.at += 4;
        Some(n)
    }

    /// Digits as JSON writes an integer: no sign, no leading zero.
    fn digits(&mut self) -> Option<&'a str> {
        let start = self.at;
        let len = self.bytes_()[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if len == 0 || (len > 1 && self.bytes_()[start] == b'0') {
            return None;
        }
        self.at += len;
        Some(&self.json[start..self.at])
    }

    /// An integer, as raw JSON, followed by the end of its member.
    fn integer(&mut self) -> Option<&'a str> {
        let digits = self.digits()?;
        matches!(self.peek()?, b',' | b'}').then_some(digits)
    }

    /// `secs.fraction`, as raw JSON.
    fn time(&mut self) -> Option<&'a str> {
        let start = self.at;
        self.digits()?;
        self.eat(b'.')?;
        let frac = self.bytes_()[self.at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        self.at += frac;
        (frac > 0 && matches!(self.peek()?, b',' | b'}')).then(|| &self.json[start..self.at])
    }

    /// An array of integers 0 to 255.
    fn bytes(&mut self) -> Option<Vec<u8>> {
        self.eat(b'[')?;
        let mut out = Vec::new();
        if self.peek()? == b']' {
            self.at += 1;
            return Some(out);
        }
        loop {
            out.push(self.digits()?.parse::<u8>().ok()?);
            match self.next()? {
                b',' => {}
                b']' => return Some(out),
                _ => return None,
            }
        }
    }

    /// Any JSON value, kept as it is written (serde_json checks it).
    fn raw_value(&mut self) -> Option<Box<RawValue>> {
        let rest = &self.json[self.at..];
        if rest.as_bytes().first()?.is_ascii_whitespace() {
            return None;
        }
        let mut de = serde_json::Deserializer::from_str(rest);
        let value = <&RawValue>::deserialize(&mut de).ok()?;
        let text = value.get();
        // Where the value ends: it is a slice of `rest`, from its start.
        let start = text.as_ptr() as usize - rest.as_ptr() as usize;
        if start != 0 {
            return None;
        }
        self.at += text.len();
        Some(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{SPECIAL, special_bytes};
    use crate::error::Location;
    use crate::message::Message;

    /// Both ways' verdicts on `json`, as text: they must agree.
    fn both(json: &str) -> (String, String) {
        let show = |r: crate::Result<Message>| match r {
            Ok(m) => format!("ok {}", m.to_json()),
            Err(e) => format!("error {e}"),
        };
        let at = Location {
            source: Some("f".into()),
            line: 3,
            id: None,
        };
        (
            show(Message::parse(json, &at)),
            show(Message::parse_general(json, &at)),
        )
    }

    const LINE: &str = r#"{"ver":"2.3","host":"vm","rec":"r1","user":"root","term":"xterm","session":4294967295,"id":1,"pos":0,"time":1795708038.041,"timing":"=0x0+5>3]2/2>1","in_txt":"","in_bin":[],"out_txt":"a\tb��\n","out_bin":[255,254],"chain":"abc"}"#;

    #[test]
    fn a_recorder_s_message_takes_the_quick_way() {
        let raw = super::scan(LINE).expect("quick");
        assert_eq!(raw.out_txt.as_deref(), Some("a\tb��\n"));
        assert_eq!(raw.out_bin.as_deref(), Some(&[255, 254][..]));
        assert_eq!(raw.time, Some("1795708038.041"));
        assert_eq!(raw.extra[0].0, "chain");
        let (quick, general) = both(LINE);
        assert_eq!(quick, general);
        assert!(quick.starts_with("ok "));
    }

    #[test]
    fn what_the_quick_way_leaves_goes_the_general_way() {
        for (from, to) in [
            (r#""id":1"#, r#""id": 1"#),
            (r#""id":1"#, r#""id":01"#),
            (r#""id":1"#, r#""id":-1"#),
            (r#""id":1"#, r#""id":1.0"#),
            (r#""id":1"#, r#""id":1e0"#),
            (r#""id":1"#, r#""id":99999999999999999999999"#),
            (r#""pos":0"#, r#""pos":0,"pos":0"#),
            (r#""rec":"r1""#, r#""r\u0065c":"r1""#),
            (r#""rec":"r1""#, r#""rec":"r\ud800""#),
            (r#""rec":"r1""#, r#""rec":"r\ud83d\ude00""#),
            (r#""rec":"r1""#, r#""rec":"r\x""#),
            (r#""rec":"r1""#, "\"rec\":\"r\u{1}\""),
            (r#""rec":"r1""#, r#""rec":null"#),
            (r#"[255,254]"#, r#"[256]"#),
            (r#"[255,254]"#, r#"[255,]"#),
            (r#"[255,254]"#, r#"[ 255]"#),
            (r#""chain":"abc""#, r#""chain":{"a":[1,2,{"b":null}]}"#),
            (r#""chain":"abc""#, r#""chain":{"a":[1,2,"#),
            (r#""chain":"abc""#, r#""chain":tru"#),
            (r#""time":1795708038.041"#, r#""time":1795708038"#),
            (r#""time":1795708038.041"#, r#""time":1795708038.0e1"#),
            (r#""ver":"2.3""#, r#""ver":"\u0032.3""#),
            (r#""ver":"2.3""#, r#""ver":"3.0""#),
            (r#""session":4294967295"#, r#""session":4294967296"#),
            (r#""session":4294967295"#, r#""session":0"#),
            ("}", "} "),
            ("}", "}x"),
            ("}", ""),
        ] {
            let json = LINE.replacen(from, to, 1);
            assert_ne!(json, LINE, "{from}");
            let (quick, general) = both(&json);
            assert_eq!(quick, general, "{json}");
        }
        assert_eq!(both("{}").0, both("{}").1);
        assert_eq!(both("").0, both("").1);
    }

    /// A random JSON string body: plain text (any scripts), every kind of
    /// escape, now and then something invalid.
    fn string_body() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            4 => "[a-z0-9 ]{0,12}",
            2 => "[\u{80}-\u{10ffff}]{0,3}",
            2 => prop::sample::select(vec![
                "\\n", "\\r", "\\t", "\\b", "\\f", "\\/", "\\\\", "\\\"", "\\u001b", "\\u00e9",
                "\\u20ac", "\\ud83d\\ude00", "\\u007f",
            ])
            .prop_map(str::to_owned),
            1 => prop::sample::select(vec![
                "\\ud800", "\\udc00x", "\\ud83d\\u0041", "\\x", "\\u12", "\\u12g4", "\u{1}",
                "\u{1f}", "\\",
            ])
            .prop_map(str::to_owned),
        ];
        prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
    }

    /// A random `*_bin` array, now and then out of range or malformed.
    fn bin() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => prop::collection::vec(any::<u8>(), 0..8).prop_map(|v| {
                let v: Vec<String> = v.iter().map(u8::to_string).collect();
                format!("[{}]", v.join(","))
            }),
            1 => prop::sample::select(vec!["[256]", "[-1]", "[1,]", "[01]", "[ 1 ]", "[1.0]", "{}"])
                .prop_map(str::to_owned),
        ]
    }

    /// A random number where an integer goes, now and then not one.
    fn integer() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => any::<u64>().prop_map(|n| n.to_string()),
            2 => (0u32..5).prop_map(|n| n.to_string()),
            1 => prop::sample::select(vec![
                "-1", "1.5", "1e3", "00", "18446744073709551616", "\"1\"", "null",
            ])
            .prop_map(str::to_owned),
        ]
    }

    fn message() -> impl Strategy<Value = String> {
        let fields = (
            string_body(),
            string_body(),
            integer(),
            integer(),
            integer(),
            prop_oneof![
                4 => (0u64..1 << 40, 0u32..1000).prop_map(|(s, f)| format!("{s}.{f:03}")),
                1 => prop::sample::select(vec!["12", "1.", ".5", "1.5e3", "-1.5"]).prop_map(str::to_owned),
            ],
            string_body(),
            string_body(),
            bin(),
            bin(),
            prop::collection::vec(
                (
                    "[a-z_]{1,8}",
                    prop::sample::select(vec![
                        "1",
                        "\"x\"",
                        "{\"v\":1,\"s\":\"\\u001b[0m\"}",
                        "[1,[2,[3]]]",
                        "null",
                        "true",
                        "-1.5e3",
                        "{\"a\":",
                        "{\"a\" : 1}",
                    ]),
                ),
                0..3,
            ),
        );
        (fields, any::<u8>(), any::<bool>()).prop_map(
            |(
                (host, rec, session, id, pos, time, in_txt, out_txt, in_bin, out_bin, extra),
                order,
                drop,
            )| {
                let mut members = vec![
                    r#""ver":"2.3""#.to_owned(),
                    format!(r#""host":"{host}""#),
                    format!(r#""rec":"{rec}""#),
                    r#""user":"u""#.to_owned(),
                    r#""term":"xterm""#.to_owned(),
                    format!(r#""session":{session}"#),
                    format!(r#""id":{id}"#),
                    format!(r#""pos":{pos}"#),
                    format!(r#""time":{time}"#),
                    r#""timing":">1""#.to_owned(),
                    format!(r#""in_txt":"{in_txt}""#),
                    format!(r#""in_bin":{in_bin}"#),
                    format!(r#""out_txt":"{out_txt}""#),
                    format!(r#""out_bin":{out_bin}"#),
                ];
                members.extend(extra.iter().map(|(k, v)| format!(r#""{k}":{v}"#)));
                // Now and then a field missing, or two swapped.
                if drop {
                    members.remove(usize::from(order) % members.len());
                } else if order % 4 == 0 {
                    let n = members.len();
                    let i = usize::from(order) % n;
                    members.swap(i, (i + 1) % n);
                }
                format!("{{{}}}", members.join(","))
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Eight bytes looked at at once give the first special byte among
        /// them.
        #[test]
        fn eight_bytes_at_once_find_the_first_special_byte(
            block in prop::collection::vec(
                prop_oneof![any::<u8>(), Just(b'"'), Just(b'\\'), 0u8..0x20],
                8,
            ),
        ) {
            let first = block.iter().position(|&b| SPECIAL[usize::from(b)]);
            let special = special_bytes(block.clone().try_into().expect("eight bytes"));
            prop_assert_eq!(first, (special != 0).then(|| special.trailing_zeros() as usize / 8));
        }

        /// The quick way and the general way give the same message, or the
        /// same error, for random messages.
        #[test]
        fn the_quick_way_agrees_with_serde_json(json in message()) {
            let (quick, general) = both(&json);
            prop_assert_eq!(quick, general);
        }

        /// A recording told without parsing is the one parsing gives, for
        /// random messages, some cut short, some with a second `rec`.
        #[test]
        fn a_recording_told_quickly_is_the_parsed_ones(
            json in message(),
            cut in any::<prop::sample::Index>(),
            how in 0u8..4,
        ) {
            let json = match how {
                0 if json.is_char_boundary(cut.index(json.len().max(1))) => {
                    json[..cut.index(json.len().max(1))].to_owned()
                }
                1 if json.ends_with('}') => {
                    format!(r#"{},"r\u0065c":"other"}}"#, &json[..json.len() - 1])
                }
                2 if json.ends_with('}') => {
                    format!(r#"{},"rec":"other"}}"#, &json[..json.len() - 1])
                }
                _ => json,
            };
            let at = Location { source: None, line: 1, id: None };
            if let (Some(key), Ok(msg)) = (super::recording_key(&json), Message::parse(&json, &at)) {
                prop_assert_eq!(key, msg.recording_key());
            }
        }

        /// Also for any line cut short or with a byte changed.
        #[test]
        fn damaged_messages_are_reported_alike(json in message(), cut in any::<prop::sample::Index>(), b in 0x20u8..0x7f) {
            let at = cut.index(json.len().max(1));
            if json.is_char_boundary(at) {
                let (quick, general) = both(&json[..at]);
                prop_assert_eq!(quick, general);
                let mut changed = json.clone();
                if changed.is_char_boundary(at + 1) && at < changed.len() {
                    changed.replace_range(at..at + 1, &char::from(b).to_string());
                    let (quick, general) = both(&changed);
                    prop_assert_eq!(quick, general);
                }
            }
        }
    }

    /// The quick way is taken by the messages the encoder writes, whatever
    /// the bytes (invalid UTF-8 goes to `*_bin`, controls are escaped).
    #[test]
    fn encoder_output_takes_the_quick_way() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut bytes = Vec::new();
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            bytes.push(match seed % 4 {
                0 => seed as u8,
                1 => b"\r\n\x1b[m\"\\"[(seed >> 8) as usize % 7],
                _ => b'a' + (seed >> 8) as u8 % 26,
            });
        }
        bytes.extend_from_slice("é€😀".as_bytes());
        let header = crate::Header {
            host: "h".into(),
            rec: "r".into(),
            user: "u".into(),
            term: "t".into(),
            session: 1,
        };
        let mut enc =
            crate::Encoder::new(&header, 2048, std::time::Duration::from_secs(1)).expect("enc");
        let mut lines = Vec::new();
        let mut emit = |m: crate::Encoded<'_>| -> Result<(), ()> {
            lines.push(String::from_utf8(m.json.to_vec()).expect("utf-8"));
            Ok(())
        };
        for (i, chunk) in bytes.chunks(333).enumerate() {
            enc.io(
                std::time::Duration::from_millis(i as u64),
                crate::Stream::Output,
                chunk,
                &mut emit,
            )
            .expect("io");
        }
        enc.cut(&mut emit).expect("cut");
        enc.flush(&mut emit).expect("flush");
        assert!(lines.len() > 5);
        for line in &lines {
            let line = line.trim_end();
            assert!(super::scan(line).is_some(), "{line}");
            assert_eq!(super::recording_key(line), Some("r"), "{line}");
            let (quick, general) = both(line);
            assert_eq!(quick, general);
        }
    }
}
