//! One audit record, as auditd writes it to audit.log: its type, time,
//! serial and fields, parsed without I/O and without trusting the line.
//!
//! ```text
//! [node=HOST ]type=EXECVE msg=audit(1764530000.123:4567): argc=2 a0="ls" a1=2F746D702F612062
//! ```
//!
//! Values come in four forms, which [`Record::text`] decodes: a string in
//! double quotes (`"ls"`, written so when it holds no space, quote, control
//! character or byte above 0x7e), a string in hexadecimal (`2F746D70…`,
//! written so otherwise), `(null)`, or a bare token (numbers, names). A
//! user-space record's `msg='…'` is in single quotes and may hold spaces.
//! In auditd's ENRICHED log format, a `\x1d` (GS) after the fields starts
//! auditd's interpretations (`AUID="alice" SYSCALL=execve`), kept apart in
//! [`Record::enriched`].

use std::ops::Range;

/// The longest record line accepted (the kernel's records are at most
/// 8970 bytes; auditd adds a node name and the enrichment). A longer line
/// is damage, reported and passed over.
pub const MAX_RECORD_LEN: usize = 64 * 1024;

/// At most this many fields in a record (damage beyond).
pub const MAX_FIELDS: usize = 1024;

/// What is wrong with a record line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The line does not start with `type=` (after an optional `node=`).
    #[error("no type= at the start")]
    NoType,
    /// No `msg=audit(SECONDS.MILLIS:SERIAL):` after the type.
    #[error("no msg=audit(SECONDS.MILLIS:SERIAL): after the type")]
    NoStamp,
    /// A field is not `key=value`, or a quote is not closed.
    #[error("malformed field at byte {0}")]
    Field(usize),
    /// More than [`MAX_FIELDS`] fields.
    #[error("more than {MAX_FIELDS} fields")]
    TooManyFields,
    /// The line is longer than [`MAX_RECORD_LEN`].
    #[error("longer than {MAX_RECORD_LEN} bytes")]
    TooLong,
    /// A value that must be a string is neither quoted nor hexadecimal.
    #[error("{0}= is neither a quoted nor a hex-encoded string")]
    BadString(String),
}

/// One parsed record. It owns its line; fields are ranges into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    line: String,
    node: Option<Range<usize>>,
    kind: Range<usize>,
    /// Milliseconds since the epoch, from `audit(SECONDS.MILLIS:…)`.
    pub time: u64,
    /// The event's serial number: records of one event share it.
    pub serial: u64,
    fields: Fields,
    enriched: Fields,
}

/// Fields as ranges of a record's line: key and value.
type Fields = Vec<(Range<usize>, Range<usize>)>;

/// The type, node, time and serial of a record line, read without
/// splitting its fields (cheap: for skipping records early).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The node name, if auditd writes one.
    pub node: Option<&'a str>,
    /// The record type: `SYSCALL`, `EXECVE`, `UNKNOWN[1330]`…
    pub kind: &'a str,
    /// Milliseconds since the epoch.
    pub time: u64,
    /// The event's serial.
    pub serial: u64,
    /// Where the fields start in the line.
    body: usize,
}

/// Reads a record line's header. Journald's form of a record (the
/// `MESSAGE` of an entry with `_TRANSPORT=audit`) is made into this one
/// by the journal reader.
pub fn header(line: &str) -> Result<Header<'_>, RecordError> {
    if line.len() > MAX_RECORD_LEN {
        return Err(RecordError::TooLong);
    }
    let mut rest = line;
    let mut node = None;
    if let Some(after) = rest.strip_prefix("node=") {
        let end = after.find(' ').ok_or(RecordError::NoType)?;
        node = Some(&after[..end]);
        rest = &after[end + 1..];
    }
    let after = rest.strip_prefix("type=").ok_or(RecordError::NoType)?;
    let end = after.find(' ').ok_or(RecordError::NoStamp)?;
    let kind = &after[..end];
    if kind.is_empty() {
        return Err(RecordError::NoType);
    }
    let stamp = after[end + 1..]
        .strip_prefix("msg=audit(")
        .ok_or(RecordError::NoStamp)?;
    let close = stamp.find("):").ok_or(RecordError::NoStamp)?;
    let (time, serial) = stamp[..close].split_once(':').ok_or(RecordError::NoStamp)?;
    let (secs, millis) = time.split_once('.').ok_or(RecordError::NoStamp)?;
    let number = |s: &str| -> Result<u64, RecordError> {
        if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RecordError::NoStamp);
        }
        s.parse().map_err(|_| RecordError::NoStamp)
    };
    let (secs, millis, serial) = (number(secs)?, number(millis)?, number(serial)?);
    if millis > 999 {
        return Err(RecordError::NoStamp);
    }
    let time = secs
        .checked_mul(1000)
        .and_then(|t| t.checked_add(millis))
        .ok_or(RecordError::NoStamp)?;
    let body = line.len() - stamp.len() + close + 2;
    Ok(Header {
        node,
        kind,
        time,
        serial,
        body,
    })
}

impl Record {
    /// Parses a whole record line (without its newline).
    pub fn parse(line: &str) -> Result<Record, RecordError> {
        let h = header(line)?;
        let offset = |s: &str| s.as_ptr() as usize - line.as_ptr() as usize;
        let node = h.node.map(|n| offset(n)..offset(n) + n.len());
        let kind = offset(h.kind)..offset(h.kind) + h.kind.len();
        let (raw, enriched_at) = match line[h.body..].find('\x1d') {
            Some(i) => (h.body..h.body + i, Some(h.body + i + 1)),
            None => (h.body..line.len(), None),
        };
        let fields = split_fields(line, raw)?;
        let enriched = match enriched_at {
            Some(at) => split_fields(line, at..line.len())?,
            None => Vec::new(),
        };
        Ok(Record {
            node,
            kind,
            time: h.time,
            serial: h.serial,
            fields,
            enriched,
            line: line.to_owned(),
        })
    }

    /// The record type: `SYSCALL`, `EXECVE`, `CWD`, `PATH`, `PROCTITLE`…
    pub fn kind(&self) -> &str {
        &self.line[self.kind.clone()]
    }

    /// The node name auditd wrote (`node=`), if any.
    pub fn node(&self) -> Option<&str> {
        self.node.clone().map(|r| &self.line[r])
    }

    /// The line the record was read from.
    pub fn line(&self) -> &str {
        &self.line
    }

    /// The fields, raw, in order: `("a1", "2F746D70")`.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields
            .iter()
            .map(|(k, v)| (&self.line[k.clone()], &self.line[v.clone()]))
    }

    /// The ENRICHED format's interpretations (`("AUID", "\"alice\"")`), raw.
    pub fn enriched(&self) -> impl Iterator<Item = (&str, &str)> {
        self.enriched
            .iter()
            .map(|(k, v)| (&self.line[k.clone()], &self.line[v.clone()]))
    }

    /// The raw value of the first field named `key`.
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.fields().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The field `key` as a number (decimal), if it is one.
    pub fn number(&self, key: &str) -> Option<u64> {
        self.raw(key).and_then(|v| v.parse().ok())
    }

    /// The field `key` as a number in hexadecimal (`arch=c000003e`, `a0=…`
    /// of a SYSCALL record).
    pub fn hex_number(&self, key: &str) -> Option<u64> {
        self.raw(key).and_then(|v| u64::from_str_radix(v, 16).ok())
    }

    /// An ENRICHED interpretation, its quotes taken off (`AUID` → `alice`).
    pub fn interpreted(&self, key: &str) -> Option<&str> {
        self.enriched()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| unquote(v).unwrap_or(v))
    }

    /// The string field `key`, decoded: `Ok(None)` if it is absent or
    /// `(null)`, an error if it is neither quoted nor hexadecimal.
    pub fn text(&self, key: &str) -> Result<Option<Vec<u8>>, RecordError> {
        match self.raw(key) {
            None => Ok(None),
            Some(v) => decode(v).map_err(|_| RecordError::BadString(key.to_owned())),
        }
    }
}

/// A value that should be a string is neither quoted nor hexadecimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("neither a quoted nor a hex-encoded string")]
pub struct NotAString;

/// A string value decoded: quoted, hexadecimal or `(null)` (→ `None`).
pub fn decode(value: &str) -> Result<Option<Vec<u8>>, NotAString> {
    if value == "(null)" {
        return Ok(None);
    }
    if let Some(inner) = unquote(value) {
        return Ok(Some(inner.as_bytes().to_vec()));
    }
    let bytes = value.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(2) {
        return Err(NotAString);
    }
    bytes
        .chunks_exact(2)
        .map(|pair| {
            let digit = |b: u8| (b as char).to_digit(16).ok_or(NotAString);
            Ok((digit(pair[0])? * 16 + digit(pair[1])?) as u8)
        })
        .collect::<Result<Vec<u8>, NotAString>>()
        .map(Some)
}

fn unquote(value: &str) -> Option<&str> {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
}

/// Splits `line[range]` into `key=value` fields separated by spaces; a
/// value may be in double or single quotes (then it may hold spaces).
fn split_fields(line: &str, range: Range<usize>) -> Result<Fields, RecordError> {
    let bytes = line.as_bytes();
    let mut fields = Vec::new();
    let mut i = range.start;
    let end = range.end;
    loop {
        while i < end && bytes[i] == b' ' {
            i += 1;
        }
        if i >= end {
            return Ok(fields);
        }
        let key_start = i;
        while i < end && bytes[i] != b'=' && bytes[i] != b' ' {
            i += 1;
        }
        if i >= end || bytes[i] != b'=' || i == key_start {
            return Err(RecordError::Field(key_start));
        }
        let key = key_start..i;
        i += 1;
        let value_start = i;
        match bytes.get(i) {
            Some(&q @ (b'"' | b'\'')) if i < end => {
                // A quoted value runs to its closing quote followed by a
                // space or the end (user-space messages nest quotes).
                let mut j = i + 1;
                loop {
                    match bytes[j..end].iter().position(|&b| b == q) {
                        Some(p) => {
                            j += p + 1;
                            if j >= end || bytes[j] == b' ' {
                                break;
                            }
                        }
                        None => return Err(RecordError::Field(key_start)),
                    }
                }
                i = j;
            }
            _ => {
                while i < end && bytes[i] != b' ' {
                    i += 1;
                }
            }
        }
        if fields.len() == MAX_FIELDS {
            return Err(RecordError::TooManyFields);
        }
        fields.push((key, value_start..i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_syscall_record_with_enrichment() {
        let line = "type=SYSCALL msg=audit(1764530000.123:4567): arch=c000003e syscall=59 \
                    success=yes exit=0 ppid=10 pid=11 auid=1000 uid=1000 euid=1000 ses=5 \
                    comm=\"cat\" exe=\"/usr/bin/cat\" key=(null)\x1dARCH=x86_64 SYSCALL=execve \
                    AUID=\"alice\"";
        let r = Record::parse(line).expect("parses");
        assert_eq!(r.kind(), "SYSCALL");
        assert_eq!((r.time, r.serial), (1_764_530_000_123, 4567));
        assert_eq!(r.number("ses"), Some(5));
        assert_eq!(r.hex_number("arch"), Some(0xc000003e));
        assert_eq!(r.text("exe"), Ok(Some(b"/usr/bin/cat".to_vec())));
        assert_eq!(r.text("key"), Ok(None));
        assert_eq!(r.interpreted("AUID"), Some("alice"));
        assert_eq!(r.interpreted("SYSCALL"), Some("execve"));
        assert_eq!(r.raw("AUID"), None, "enrichment is kept apart");
    }

    #[test]
    fn hex_values_nodes_and_user_messages() {
        let r = Record::parse(
            "node=vm type=EXECVE msg=audit(1.005:7): argc=2 a0=\"echo\" a1=6120622763",
        )
        .expect("parses");
        assert_eq!(r.node(), Some("vm"));
        assert_eq!(r.time, 1005);
        assert_eq!(r.text("a1"), Ok(Some(b"a b'c".to_vec())));
        let r = Record::parse(
            "type=USER_START msg=audit(2.000:9): pid=1 uid=0 auid=0 ses=3 \
             msg='op=PAM:session_open acct=\"root\" exe=\"/usr/bin/su\" res=success'",
        )
        .expect("parses");
        assert!(r.raw("msg").is_some_and(|m| m.contains("res=success")));
        assert_eq!(r.number("ses"), Some(3));
    }

    #[test]
    fn damage_is_an_error_naming_it() {
        for (line, want) in [
            ("", RecordError::NoType),
            ("garbage", RecordError::NoType),
            ("type=SYSCALL", RecordError::NoStamp),
            ("type=SYSCALL msg=audit(12:3): a=1", RecordError::NoStamp),
            (
                "type=SYSCALL msg=audit(1.2345:3): a=1",
                RecordError::NoStamp,
            ),
            ("type=SYSCALL msg=audit(1.2:x): a=1", RecordError::NoStamp),
            (
                "type=SYSCALL msg=audit(99999999999999999999.1:1): a",
                RecordError::NoStamp,
            ),
            (
                "type=SYSCALL msg=audit(1.2:3): a=\"open",
                RecordError::Field(31),
            ),
            (
                "type=SYSCALL msg=audit(1.2:3): novalue",
                RecordError::Field(31),
            ),
        ] {
            assert_eq!(Record::parse(line), Err(want), "{line:?}");
        }
        let r = Record::parse("type=CWD msg=audit(1.2:3): cwd=2F7").expect("fields split");
        assert_eq!(r.text("cwd"), Err(RecordError::BadString("cwd".into())));
        let long = format!("type=X msg=audit(1.2:3): a={}", "b".repeat(MAX_RECORD_LEN));
        assert_eq!(Record::parse(&long), Err(RecordError::TooLong));
        let many = format!("type=X msg=audit(1.2:3):{}", " a=1".repeat(MAX_FIELDS + 1));
        assert_eq!(Record::parse(&many), Err(RecordError::TooManyFields));
    }

    proptest! {
        #[test]
        fn any_line_parses_or_is_an_error(line in "\\PC{0,200}") {
            let _ = Record::parse(&line).map(|r| {
                for (k, _) in r.fields() {
                    let _ = r.text(k);
                }
            });
        }

        #[test]
        fn any_tail_after_a_good_header(tail in "[ -~\\x1d'\"=]{0,300}") {
            let line = format!("type=EXECVE msg=audit(1.2:3): {tail}");
            if let Ok(r) = Record::parse(&line) {
                prop_assert!(r.fields().count() <= MAX_FIELDS);
                for (k, _) in r.fields() {
                    let _ = r.text(k);
                }
            }
        }

        #[test]
        fn hex_round_trips(bytes in proptest::collection::vec(any::<u8>(), 1..64)) {
            let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
            prop_assert_eq!(decode(&hex), Ok(Some(bytes)));
        }
    }
}
