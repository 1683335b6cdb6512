//! A recording's running totals, as termtape's journal writer puts them on
//! every entry ([`crate::extension::JOURNAL_TOTALS`]): what a listing
//! needs of a recording without reading every message of it. The last
//! entry's totals are the recording's (so far, for a live one).
//!
//! The value is a JSON object with short names, versioned by `"v"`:
//! `{"v":1,"m":12,"o":3456,"i":7,"g":0,"gm":0,"gb":0,"l":0}`.
//!
//! ```
//! use termtape_format::Totals;
//!
//! let t = Totals { messages: 2, output_bytes: 10, ..Totals::default() };
//! assert_eq!(Totals::parse(t.field().as_bytes()), Some(t));
//! assert_eq!(Totals::parse(br#"{"v":2,"m":1}"#), None);
//! ```

use serde::{Deserialize, Serialize};

use crate::extension::{self, Extended};
use crate::{Location, Message, Stream};

/// The version of the totals' value this crate writes and reads.
pub const TOTALS_VERSION: u64 = 1;

/// What a recording's messages up to one of them hold in all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Messages written.
    pub messages: u64,
    /// Output bytes those messages hold.
    pub output_bytes: u64,
    /// Input bytes those messages hold.
    pub input_bytes: u64,
    /// Messages carrying a gap mark (a rate limit dropped messages before
    /// them).
    pub gaps: u64,
    /// Messages the gap marks say were dropped.
    pub gap_messages: u64,
    /// Bytes of log the gap marks say were dropped.
    pub gap_bytes: u64,
    /// Messages carrying nested-login events (marked in the journal with
    /// [`crate::extension::JOURNAL_LOGIN_MARK`], so a reader finds them by
    /// a match).
    pub logins: u64,
}

/// The field's value as written.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    v: u64,
    m: u64,
    o: u64,
    i: u64,
    g: u64,
    gm: u64,
    gb: u64,
    l: u64,
}

impl Totals {
    /// The journal field's value: the members as serde writes them, made by
    /// hand (the journal writer makes one for every entry).
    pub fn field(&self) -> String {
        let mut out = Vec::with_capacity(96);
        for (name, n) in [
            ("{\"v\":", TOTALS_VERSION),
            (",\"m\":", self.messages),
            (",\"o\":", self.output_bytes),
            (",\"i\":", self.input_bytes),
            (",\"g\":", self.gaps),
            (",\"gm\":", self.gap_messages),
            (",\"gb\":", self.gap_bytes),
            (",\"l\":", self.logins),
        ] {
            out.extend_from_slice(name.as_bytes());
            crate::message::push_u64(&mut out, n);
        }
        out.push(b'}');
        String::from_utf8(out).unwrap_or_default()
    }

    /// The totals a field's value gives; `None` if it is not one this crate
    /// writes (another version, not JSON, names missing or unknown).
    pub fn parse(value: &[u8]) -> Option<Totals> {
        let w: Wire = serde_json::from_slice(value).ok()?;
        (w.v == TOTALS_VERSION).then_some(Totals {
            messages: w.m,
            output_bytes: w.o,
            input_bytes: w.i,
            gaps: w.g,
            gap_messages: w.gm,
            gap_bytes: w.gb,
            logins: w.l,
        })
    }
}

/// Counts the messages a writer writes, for their [`Totals`].
#[derive(Debug, Clone, Default)]
pub struct Tally {
    totals: Totals,
    /// Where the last message counted ended in each stream.
    input_end: u64,
    output_end: u64,
}

impl Tally {
    /// Counts `message`, about to be written; returns the totals with it.
    ///
    /// A message's bytes are where its streams end less where the one
    /// counted before ended; after a gap (messages dropped, whose bytes the
    /// ends include) they are decoded from the message itself.
    pub fn add(&mut self, message: &Extended<'_>) -> &Totals {
        let m = &message.message;
        let gap = message
            .fields
            .iter()
            .find(|f| f.name == extension::GAP)
            .and_then(|f| gap_of(f.value));
        let (input, output) = match gap {
            None => (
                m.input_end.saturating_sub(self.input_end),
                m.output_end.saturating_sub(self.output_end),
            ),
            Some(_) => decoded(message.tlog()).unwrap_or((
                m.input_end.saturating_sub(self.input_end),
                m.output_end.saturating_sub(self.output_end),
            )),
        };
        self.input_end = m.input_end;
        self.output_end = m.output_end;
        let t = &mut self.totals;
        t.messages += 1;
        t.input_bytes += input;
        t.output_bytes += output;
        if let Some((messages, bytes)) = gap {
            t.gaps += 1;
            t.gap_messages += messages;
            t.gap_bytes += bytes;
        }
        if message.fields.iter().any(|f| f.name == extension::LOGIN) {
            t.logins += 1;
        }
        &self.totals
    }
}

/// The messages and bytes a gap mark says were dropped, as readers take it
/// (`messages` must be there, `bytes` may not).
fn gap_of(value: &str) -> Option<(u64, u64)> {
    let gap: serde_json::Value = serde_json::from_str(value).ok()?;
    let number = |field| gap.get(field).and_then(serde_json::Value::as_u64);
    Some((number("messages")?, number("bytes").unwrap_or(0)))
}

/// The input and output bytes a message (tlog's fields) holds.
fn decoded(tlog: &[u8]) -> Option<(u64, u64)> {
    let text = std::str::from_utf8(tlog).ok()?;
    let at = Location::default();
    let msg = Message::parse(text.trim_end(), &at).ok()?;
    Some((
        msg.bytes(Stream::Input, &at).ok()?.len() as u64,
        msg.bytes(Stream::Output, &at).ok()?.len() as u64,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Encoded;
    use crate::extension::Field;

    #[test]
    fn the_field_is_what_serde_writes_of_the_wire_form() {
        for n in [0, 1, 9, 10, 4_294_967_295, u64::MAX - 1, u64::MAX] {
            let t = Totals {
                messages: n,
                output_bytes: n / 3,
                input_bytes: n / 7,
                gaps: n % 11,
                gap_messages: n / 2,
                gap_bytes: n,
                logins: n % 5,
            };
            let wire = Wire {
                v: TOTALS_VERSION,
                m: t.messages,
                o: t.output_bytes,
                i: t.input_bytes,
                g: t.gaps,
                gm: t.gap_messages,
                gb: t.gap_bytes,
                l: t.logins,
            };
            assert_eq!(t.field(), serde_json::to_string(&wire).expect("serialises"));
            assert_eq!(Totals::parse(t.field().as_bytes()), Some(t));
        }
    }

    fn message(json: &str, input_end: u64, output_end: u64) -> Encoded<'_> {
        Encoded {
            id: 1,
            pos: 0,
            time: 0,
            json: json.as_bytes(),
            input_end,
            output_end,
        }
    }

    #[test]
    fn counts_by_the_stream_ends_and_decodes_after_a_gap() {
        let one = r#"{"ver":"2.3","host":"h","rec":"r","user":"u","term":"t","session":1,"id":1,"pos":0,"timing":">3<1","in_txt":"x","in_bin":[],"out_txt":"abc","out_bin":[]}"#;
        let mut tally = Tally::default();
        tally.add(&Extended::plain(message(one, 1, 3)));
        // Two messages dropped (their bytes are in the ends), then one of
        // 3 output bytes with the gap mark and a login.
        let gap = [
            Field::new(extension::GAP, r#"{"messages":2,"bytes":500}"#),
            Field::new(extension::LOGIN, r#"[{"n":1,"at":0}]"#),
        ];
        let t = *tally.add(&Extended {
            message: message(&one.replace("\"id\":1", "\"id\":4"), 9, 40),
            fields: &gap,
        });
        assert_eq!(
            (t.messages, t.output_bytes, t.input_bytes),
            (2, 6, 2),
            "{t:?}"
        );
        assert_eq!(
            (t.gaps, t.gap_messages, t.gap_bytes, t.logins),
            (1, 2, 500, 1)
        );
        // After it, the ends count again.
        let t = *tally.add(&Extended::plain(message(one, 9, 45)));
        assert_eq!((t.messages, t.output_bytes, t.input_bytes), (3, 11, 2));
        assert_eq!(Totals::parse(t.field().as_bytes()), Some(t));
    }

    #[test]
    fn other_versions_and_names_are_not_totals() {
        for bad in [
            &br#"{"v":1,"m":1,"x":2}"#[..],
            br#"{"m":1}"#,
            b"nonsense",
            br#"{"v":1,"m":-1}"#,
        ] {
            assert_eq!(Totals::parse(bad), None, "{bad:?}");
        }
    }
}
