//! Charset names: from what the C library and encoding_rs call them to the
//! encoding termtape decodes with.
//!
//! Names are matched the way glibc normalises charset names for `iconv`
//! (case and punctuation do not count: `koi8r`, `KOI8-R` and `koi8_r` are
//! one name), against a table of the names glibc's locales report through
//! `nl_langinfo(CODESET)` and their common aliases; anything else goes to
//! encoding_rs' label lookup (the WHATWG Encoding Standard's labels).
//!
//! Three decisions differ from the WHATWG labels, because a terminal is not
//! a web page:
//! - ASCII (`ANSI_X3.4-1968`, the codeset of the C and POSIX locales) is
//!   treated as UTF-8. ASCII is a subset of UTF-8, and programs run under
//!   `LANG=C` commonly write UTF-8 anyway (file names, messages); treating
//!   it as windows-1252, as WHATWG does, would garble those.
//! - ISO-8859-1, ISO-8859-9 and ISO-8859-11 (TIS-620) are decoded as
//!   themselves, with bytes 0x80–0x9F as the C1 controls U+0080–U+009F
//!   (0x9B is CSI on such a terminal), not as their windows-125x supersets
//!   that WHATWG substitutes.
//! - The "replacement" encoding (ISO-2022-KR, ISO-2022-CN, HZ-GB-2312 in
//!   WHATWG) is refused: it decodes any input to a single U+FFFD.

use std::fmt;
use std::sync::OnceLock;

use encoding_rs::Encoding;

use crate::{Error, Result};

/// A charset termtape can record in.
///
/// `Copy` and cheap: a tag and a static reference.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Charset(pub(crate) Kind);

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// UTF-8 (and ASCII): nothing to convert.
    Utf8,
    /// An encoding of encoding_rs.
    Whatwg(&'static Encoding),
    /// A single-byte ISO charset that encoding_rs only has as its
    /// windows-125x superset.
    Iso(Iso),
}

/// The ISO-8859 charsets decoded from a table of our own.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Iso {
    Latin1,
    Latin5,
    Thai,
}

impl Iso {
    fn name(self) -> &'static str {
        match self {
            Iso::Latin1 => "ISO-8859-1",
            Iso::Latin5 => "ISO-8859-9",
            Iso::Thai => "ISO-8859-11",
        }
    }

    /// The table: the windows-125x superset's characters for 0xA0–0xFF
    /// (where the two agree), C1 controls for 0x80–0x9F.
    pub(crate) fn table(self) -> &'static SingleByte {
        static TABLES: [OnceLock<SingleByte>; 3] =
            [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let (i, superset) = match self {
            Iso::Latin1 => (0, encoding_rs::WINDOWS_1252),
            Iso::Latin5 => (1, encoding_rs::WINDOWS_1254),
            Iso::Thai => (2, encoding_rs::WINDOWS_874),
        };
        TABLES[i].get_or_init(|| {
            SingleByte::new(|b| {
                if (0x80..0xa0).contains(&b) {
                    char::from(b)
                } else {
                    decode_byte(superset, b)
                }
            })
        })
    }
}

fn decode_byte(encoding: &'static Encoding, b: u8) -> char {
    let byte = [b];
    let (text, _) = encoding.decode_without_bom_handling(&byte);
    text.chars().next().unwrap_or('\u{fffd}')
}

/// A single-byte charset both ways: each byte is one character.
#[derive(Debug)]
pub(crate) struct SingleByte {
    /// Byte → character (U+FFFD for a byte the charset leaves undefined).
    pub(crate) decode: [char; 256],
    /// Character → byte for the upper half, by 256-character page of the
    /// BMP: (page, byte for each character of the page, 0 for none; no
    /// upper-half byte is 0).
    pages: Vec<(u32, [u8; 256])>,
}

impl SingleByte {
    fn new(decode_byte: impl Fn(u8) -> char) -> SingleByte {
        let mut decode = ['\u{fffd}'; 256];
        let mut pages: Vec<(u32, [u8; 256])> = Vec::new();
        for (b, slot) in (0..=255u8).zip(decode.iter_mut()) {
            let c = if b < 0x80 {
                char::from(b)
            } else {
                decode_byte(b)
            };
            *slot = c;
            if b < 0x80 || c == '\u{fffd}' {
                continue;
            }
            let (page, index) = (u32::from(c) >> 8, (u32::from(c) & 0xff) as usize);
            let i = match pages.iter().position(|(p, _)| *p == page) {
                Some(i) => i,
                None => {
                    pages.push((page, [0; 256]));
                    pages.len() - 1
                }
            };
            // The first byte of a character wins, should two decode to it.
            if pages[i].1[index] == 0 {
                pages[i].1[index] = b;
            }
        }
        // The most used page first: it is searched first.
        pages
            .sort_by_key(|(_, bytes)| std::cmp::Reverse(bytes.iter().filter(|&&b| b != 0).count()));
        SingleByte { decode, pages }
    }

    /// The byte of `c`, if the charset has it.
    #[inline]
    pub(crate) fn encode(&self, c: char) -> Option<u8> {
        self.encode_code(u32::from(c))
    }

    /// The byte of the character whose code point is `code`, if any.
    #[inline]
    pub(crate) fn encode_code(&self, code: u32) -> Option<u8> {
        if code < 0x80 {
            return u8::try_from(code).ok();
        }
        let (page, index) = (code >> 8, (code & 0xff) as usize);
        self.pages
            .iter()
            .find(|(p, _)| *p == page)
            .map(|(_, bytes)| bytes[index])
            .filter(|&b| b != 0)
    }
}

/// Names (normalised: ASCII letters and digits, lower case) that the C
/// library uses and encoding_rs' labels do not cover, or cover with an
/// encoding termtape decodes differently.
const NAMES: &[(&str, Kind)] = &[
    // UTF-8 and ASCII.
    ("utf8", Kind::Utf8),
    ("ansix341968", Kind::Utf8),
    ("ansix341986", Kind::Utf8),
    ("ascii", Kind::Utf8),
    ("usascii", Kind::Utf8),
    ("us", Kind::Utf8),
    ("iso646us", Kind::Utf8),
    ("iso646irv1991", Kind::Utf8),
    ("isoir6", Kind::Utf8),
    ("cp367", Kind::Utf8),
    ("ibm367", Kind::Utf8),
    ("csascii", Kind::Utf8),
    // ISO-8859-1, -9, -11 as themselves (see the module's documentation).
    ("iso88591", Kind::Iso(Iso::Latin1)),
    ("iso885911987", Kind::Iso(Iso::Latin1)),
    ("latin1", Kind::Iso(Iso::Latin1)),
    ("l1", Kind::Iso(Iso::Latin1)),
    ("cp819", Kind::Iso(Iso::Latin1)),
    ("ibm819", Kind::Iso(Iso::Latin1)),
    ("isoir100", Kind::Iso(Iso::Latin1)),
    ("csisolatin1", Kind::Iso(Iso::Latin1)),
    ("iso88599", Kind::Iso(Iso::Latin5)),
    ("iso885991989", Kind::Iso(Iso::Latin5)),
    ("latin5", Kind::Iso(Iso::Latin5)),
    ("l5", Kind::Iso(Iso::Latin5)),
    ("isoir148", Kind::Iso(Iso::Latin5)),
    ("csisolatin5", Kind::Iso(Iso::Latin5)),
    ("iso885911", Kind::Iso(Iso::Thai)),
    ("tis620", Kind::Iso(Iso::Thai)),
    ("tis6200", Kind::Iso(Iso::Thai)),
    ("tis62025291", Kind::Iso(Iso::Thai)),
    ("tis62025330", Kind::Iso(Iso::Thai)),
    // glibc's names for encodings encoding_rs has under other labels.
    ("koi8r", Kind::Whatwg(encoding_rs::KOI8_R)),
    ("koi8u", Kind::Whatwg(encoding_rs::KOI8_U)),
    ("koi8ru", Kind::Whatwg(encoding_rs::KOI8_U)),
    ("iso88592", Kind::Whatwg(encoding_rs::ISO_8859_2)),
    ("iso88593", Kind::Whatwg(encoding_rs::ISO_8859_3)),
    ("iso88594", Kind::Whatwg(encoding_rs::ISO_8859_4)),
    ("iso88595", Kind::Whatwg(encoding_rs::ISO_8859_5)),
    ("iso88596", Kind::Whatwg(encoding_rs::ISO_8859_6)),
    ("iso88597", Kind::Whatwg(encoding_rs::ISO_8859_7)),
    ("iso88598", Kind::Whatwg(encoding_rs::ISO_8859_8)),
    ("iso88598i", Kind::Whatwg(encoding_rs::ISO_8859_8_I)),
    ("iso885910", Kind::Whatwg(encoding_rs::ISO_8859_10)),
    ("iso885913", Kind::Whatwg(encoding_rs::ISO_8859_13)),
    ("iso885914", Kind::Whatwg(encoding_rs::ISO_8859_14)),
    ("iso885915", Kind::Whatwg(encoding_rs::ISO_8859_15)),
    ("latin9", Kind::Whatwg(encoding_rs::ISO_8859_15)),
    ("iso885916", Kind::Whatwg(encoding_rs::ISO_8859_16)),
    ("eucjp", Kind::Whatwg(encoding_rs::EUC_JP)),
    ("ujis", Kind::Whatwg(encoding_rs::EUC_JP)),
    ("sjis", Kind::Whatwg(encoding_rs::SHIFT_JIS)),
    ("shiftjis", Kind::Whatwg(encoding_rs::SHIFT_JIS)),
    ("mskanji", Kind::Whatwg(encoding_rs::SHIFT_JIS)),
    ("cp932", Kind::Whatwg(encoding_rs::SHIFT_JIS)),
    ("windows31j", Kind::Whatwg(encoding_rs::SHIFT_JIS)),
    ("iso2022jp", Kind::Whatwg(encoding_rs::ISO_2022_JP)),
    ("gb18030", Kind::Whatwg(encoding_rs::GB18030)),
    ("gbk", Kind::Whatwg(encoding_rs::GBK)),
    ("gb2312", Kind::Whatwg(encoding_rs::GBK)),
    ("euccn", Kind::Whatwg(encoding_rs::GBK)),
    ("cp936", Kind::Whatwg(encoding_rs::GBK)),
    ("big5", Kind::Whatwg(encoding_rs::BIG5)),
    ("big5hkscs", Kind::Whatwg(encoding_rs::BIG5)),
    ("cp950", Kind::Whatwg(encoding_rs::BIG5)),
    ("euckr", Kind::Whatwg(encoding_rs::EUC_KR)),
    ("cp949", Kind::Whatwg(encoding_rs::EUC_KR)),
    ("uhc", Kind::Whatwg(encoding_rs::EUC_KR)),
    ("cp866", Kind::Whatwg(encoding_rs::IBM866)),
    ("ibm866", Kind::Whatwg(encoding_rs::IBM866)),
    ("cp874", Kind::Whatwg(encoding_rs::WINDOWS_874)),
    ("windows874", Kind::Whatwg(encoding_rs::WINDOWS_874)),
    ("cp1250", Kind::Whatwg(encoding_rs::WINDOWS_1250)),
    ("cp1251", Kind::Whatwg(encoding_rs::WINDOWS_1251)),
    ("cp1252", Kind::Whatwg(encoding_rs::WINDOWS_1252)),
    ("cp1253", Kind::Whatwg(encoding_rs::WINDOWS_1253)),
    ("cp1254", Kind::Whatwg(encoding_rs::WINDOWS_1254)),
    ("cp1255", Kind::Whatwg(encoding_rs::WINDOWS_1255)),
    ("cp1256", Kind::Whatwg(encoding_rs::WINDOWS_1256)),
    ("cp1257", Kind::Whatwg(encoding_rs::WINDOWS_1257)),
    ("cp1258", Kind::Whatwg(encoding_rs::WINDOWS_1258)),
    ("windows1250", Kind::Whatwg(encoding_rs::WINDOWS_1250)),
    ("windows1251", Kind::Whatwg(encoding_rs::WINDOWS_1251)),
    ("windows1252", Kind::Whatwg(encoding_rs::WINDOWS_1252)),
    ("windows1253", Kind::Whatwg(encoding_rs::WINDOWS_1253)),
    ("windows1254", Kind::Whatwg(encoding_rs::WINDOWS_1254)),
    ("windows1255", Kind::Whatwg(encoding_rs::WINDOWS_1255)),
    ("windows1256", Kind::Whatwg(encoding_rs::WINDOWS_1256)),
    ("windows1257", Kind::Whatwg(encoding_rs::WINDOWS_1257)),
    ("windows1258", Kind::Whatwg(encoding_rs::WINDOWS_1258)),
    ("macintosh", Kind::Whatwg(encoding_rs::MACINTOSH)),
    ("macroman", Kind::Whatwg(encoding_rs::MACINTOSH)),
    ("maccyrillic", Kind::Whatwg(encoding_rs::X_MAC_CYRILLIC)),
    ("utf16le", Kind::Whatwg(encoding_rs::UTF_16LE)),
    ("utf16be", Kind::Whatwg(encoding_rs::UTF_16BE)),
];

/// Every encoding of encoding_rs that decodes text (all but "replacement").
const WHATWG: &[&Encoding] = &[
    encoding_rs::BIG5,
    encoding_rs::EUC_JP,
    encoding_rs::EUC_KR,
    encoding_rs::GB18030,
    encoding_rs::GBK,
    encoding_rs::IBM866,
    encoding_rs::ISO_2022_JP,
    encoding_rs::ISO_8859_10,
    encoding_rs::ISO_8859_13,
    encoding_rs::ISO_8859_14,
    encoding_rs::ISO_8859_15,
    encoding_rs::ISO_8859_16,
    encoding_rs::ISO_8859_2,
    encoding_rs::ISO_8859_3,
    encoding_rs::ISO_8859_4,
    encoding_rs::ISO_8859_5,
    encoding_rs::ISO_8859_6,
    encoding_rs::ISO_8859_7,
    encoding_rs::ISO_8859_8,
    encoding_rs::ISO_8859_8_I,
    encoding_rs::KOI8_R,
    encoding_rs::KOI8_U,
    encoding_rs::MACINTOSH,
    encoding_rs::SHIFT_JIS,
    encoding_rs::UTF_16BE,
    encoding_rs::UTF_16LE,
    encoding_rs::UTF_8,
    encoding_rs::WINDOWS_1250,
    encoding_rs::WINDOWS_1251,
    encoding_rs::WINDOWS_1252,
    encoding_rs::WINDOWS_1253,
    encoding_rs::WINDOWS_1254,
    encoding_rs::WINDOWS_1255,
    encoding_rs::WINDOWS_1256,
    encoding_rs::WINDOWS_1257,
    encoding_rs::WINDOWS_1258,
    encoding_rs::WINDOWS_874,
    encoding_rs::X_MAC_CYRILLIC,
    encoding_rs::X_USER_DEFINED,
];

impl Charset {
    /// UTF-8: recorded as it is, at no cost.
    pub const UTF_8: Charset = Charset(Kind::Utf8);

    /// The charset `name` stands for, in any of the spellings the C library
    /// or encoding_rs accept (case and punctuation aside).
    pub fn for_name(name: &str) -> Result<Charset> {
        let key: String = name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if let Some((_, kind)) = NAMES.iter().find(|(n, _)| *n == key) {
            return Ok(Charset(*kind));
        }
        match Encoding::for_label(name.trim().as_bytes()) {
            Some(e) if e == encoding_rs::REPLACEMENT => Err(Error::UnsupportedCharset {
                name: name.to_owned(),
            }),
            Some(e) if e == encoding_rs::UTF_8 => Ok(Charset::UTF_8),
            Some(e) => Ok(Charset(Kind::Whatwg(e))),
            None => Err(Error::UnknownCharset {
                name: name.to_owned(),
            }),
        }
    }

    /// The charset's name, as written in recordings (`KOI8-R`, `EUC-JP`,
    /// `Shift_JIS`, `gb18030`, `windows-1251`, `ISO-8859-1`, `UTF-8`, …).
    /// [`Charset::for_name`] gives the charset back from it.
    pub fn name(self) -> &'static str {
        match self.0 {
            Kind::Utf8 => "UTF-8",
            Kind::Whatwg(e) => e.name(),
            Kind::Iso(iso) => iso.name(),
        }
    }

    /// True for UTF-8, which needs no conversion and no originals.
    pub fn is_utf8(self) -> bool {
        self.0 == Kind::Utf8
    }

    /// Every charset termtape decodes, each once (for tests).
    pub fn all() -> impl Iterator<Item = Charset> {
        WHATWG
            .iter()
            .map(|e| {
                if *e == encoding_rs::UTF_8 {
                    Charset::UTF_8
                } else {
                    Charset(Kind::Whatwg(e))
                }
            })
            .chain([Iso::Latin1, Iso::Latin5, Iso::Thai].map(|i| Charset(Kind::Iso(i))))
    }

    /// The tables of a charset of one byte per character (KOI8-R, the
    /// ISO-8859 and windows-125x families, …).
    pub(crate) fn single_byte(self) -> Option<&'static SingleByte> {
        static TABLES: [OnceLock<SingleByte>; WHATWG.len()] =
            [const { OnceLock::new() }; WHATWG.len()];
        match self.0 {
            Kind::Utf8 => None,
            Kind::Iso(iso) => Some(iso.table()),
            Kind::Whatwg(e) if e.is_single_byte() => {
                let i = WHATWG.iter().position(|w| *w == e)?;
                Some(TABLES[i].get_or_init(|| SingleByte::new(|b| decode_byte(e, b))))
            }
            Kind::Whatwg(_) => None,
        }
    }

    /// Appends `text` encoded in this charset to `out`, as the player
    /// re-creates an original that the recorder left out. Returns false
    /// (with `out` as it was) if a character has no encoding here.
    ///
    /// Stateful encodings (ISO-2022-JP) start from their initial state and
    /// end by returning to it, as if `text` were a whole stream.
    pub fn encode(self, text: &str, out: &mut Vec<u8>) -> bool {
        if let Some(table) = self.single_byte() {
            let start = out.len();
            out.reserve(text.len());
            for c in text.chars() {
                match table.encode(c) {
                    Some(b) => out.push(b),
                    None => {
                        out.truncate(start);
                        return false;
                    }
                }
            }
            return true;
        }
        match self.0 {
            Kind::Utf8 => {
                out.extend_from_slice(text.as_bytes());
                true
            }
            // Single-byte, encoded above.
            Kind::Iso(_) => false,
            Kind::Whatwg(e) => {
                let mut encoder = e.new_encoder();
                let start = out.len();
                let Some(room) =
                    encoder.max_buffer_length_from_utf8_without_replacement(text.len())
                else {
                    return false;
                };
                out.reserve(room);
                let (result, _) =
                    encoder.encode_from_utf8_to_vec_without_replacement(text, out, true);
                if result == encoding_rs::EncoderResult::InputEmpty {
                    true
                } else {
                    out.truncate(start);
                    false
                }
            }
        }
    }
}

impl fmt::Debug for Charset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Charset({})", self.name())
    }
}

impl fmt::Display for Charset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Charset {
    type Err = Error;

    fn from_str(s: &str) -> Result<Charset> {
        Charset::for_name(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_library_names_resolve_whatever_the_spelling() {
        for (name, expect) in [
            ("KOI8-R", "KOI8-R"),
            ("koi8r", "KOI8-R"),
            ("koi8_r", "KOI8-R"),
            ("ISO-8859-5", "ISO-8859-5"),
            ("ISO_8859-5", "ISO-8859-5"),
            ("iso88595", "ISO-8859-5"),
            ("SHIFT_JIS", "Shift_JIS"),
            ("SJIS", "Shift_JIS"),
            ("EUC-JP", "EUC-JP"),
            ("eucJP", "EUC-JP"),
            ("GB18030", "gb18030"),
            ("GBK", "GBK"),
            ("GB2312", "GBK"),
            ("BIG5", "Big5"),
            ("BIG5-HKSCS", "Big5"),
            ("EUC-KR", "EUC-KR"),
            ("euckr", "EUC-KR"),
            ("CP1251", "windows-1251"),
            ("windows-1251", "windows-1251"),
            ("ISO-2022-JP", "ISO-2022-JP"),
            ("ISO-8859-1", "ISO-8859-1"),
            ("latin1", "ISO-8859-1"),
            ("ISO-8859-9", "ISO-8859-9"),
            ("TIS-620", "ISO-8859-11"),
            ("ISO-8859-15", "ISO-8859-15"),
            ("CP866", "IBM866"),
            ("x-mac-cyrillic", "x-mac-cyrillic"),
            ("csKOI8R", "KOI8-R"),
            (" utf-8 ", "UTF-8"),
            ("UTF8", "UTF-8"),
        ] {
            let got = Charset::for_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(got.name(), expect, "{name}");
        }
    }

    #[test]
    fn ascii_is_treated_as_utf8() {
        for name in ["ANSI_X3.4-1968", "ASCII", "US-ASCII", "ansi_x3.4-1968"] {
            assert!(Charset::for_name(name).expect("known").is_utf8(), "{name}");
        }
    }

    #[test]
    fn unknown_names_are_errors_naming_them() {
        let err = Charset::for_name("KOI9-Q").expect_err("unknown");
        assert!(matches!(err, Error::UnknownCharset { ref name } if name == "KOI9-Q"));
        assert!(err.to_string().contains("\"KOI9-Q\""), "{err}");
        let err = Charset::for_name("ISO-2022-KR").expect_err("replacement");
        assert!(matches!(err, Error::UnsupportedCharset { .. }));
        assert!(err.to_string().contains("ISO-2022-KR"), "{err}");
    }

    #[test]
    fn every_name_written_reads_back() {
        for charset in Charset::all() {
            assert_eq!(Charset::for_name(charset.name()).expect("known"), charset);
        }
        assert_eq!(Charset::all().count(), 42);
    }

    #[test]
    fn latin1_keeps_c1_controls_and_encodes_back() {
        let table = &Iso::Latin1.table().decode;
        assert_eq!(table[0x9b], '\u{9b}');
        assert_eq!(table[0xe9], 'é');
        let latin5 = &Iso::Latin5.table().decode;
        assert_eq!(latin5[0xf0], 'ğ');
        assert_eq!(latin5[0x80], '\u{80}');
        let mut out = Vec::new();
        let latin1 = Charset::for_name("latin1").expect("known");
        assert!(latin1.encode("café\u{9b}", &mut out));
        assert_eq!(out, b"caf\xe9\x9b");
        assert!(!latin1.encode("€", &mut out));
        assert_eq!(out, b"caf\xe9\x9b");
    }

    #[test]
    fn encode_refuses_unmappable_and_closes_iso2022jp() {
        let koi8 = Charset::for_name("KOI8-R").expect("known");
        let mut out = Vec::new();
        assert!(koi8.encode("Привет", &mut out));
        assert_eq!(out, b"\xf0\xd2\xc9\xd7\xc5\xd4");
        assert!(!koi8.encode("日本", &mut out));
        let jis = Charset::for_name("ISO-2022-JP").expect("known");
        let mut out = Vec::new();
        assert!(jis.encode("日本", &mut out));
        assert_eq!(out, b"\x1b$BF|K\\\x1b(B");
    }
}
