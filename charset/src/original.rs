//! The original bytes of each message, and their packing.
//!
//! A [`Transcoder`] converts one direction of a session to UTF-8 and keeps
//! the bytes it was given until a message takes them. Messages are cut by
//! the caller's encoder at character boundaries of the *text*; for each
//! message, [`Transcoder::take`] finds the *original* bytes that decode to
//! that text, the smallest prefix of the bytes not yet taken whose text
//! reaches the message's end. The originals of consecutive messages are
//! consecutive slices of the stream, so restoring every message's original,
//! in order, gives back the stream byte for byte, wherever the cuts fall:
//! - a character split across two messages' cuts cannot happen in the text
//!   (the encoder cuts between characters), but its *bytes* may straddle a
//!   read: the leading bytes, not yet text, stay for the next message;
//! - bytes that make no text (an ISO-2022-JP escape) go with the next
//!   message that has text, or with the stream's last message;
//! - one byte that completes two characters (some Big5 sequences decode to
//!   a letter and a combining mark) goes with the message holding the first.
//!
//! The original is left out ([`Original::Same`]) when encoding the message's
//! text back, with [`Charset::encode`], gives exactly the original: checked
//! for each message, never assumed, so a player that encodes the text gets
//! the original. It is kept otherwise: invalid bytes (U+FFFD in the text),
//! characters with two encodings, a stateful encoding's state at a cut, a
//! character's bytes straddling a cut.
//!
//! A kept original is packed as standard base64 (with padding) of one zstd
//! frame holding the bytes ([`Packer`], [`unpack`]).

use std::io::Read;

use base64::Engine;

use crate::charset::SingleByte;
use crate::{Charset, Decoder, Error, Result};

/// What a message needs to restore one direction's original bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Original<'a> {
    /// Encoding the message's text back gives the original.
    Same,
    /// The original bytes, when encoding the text back does not give them.
    Bytes(&'a [u8]),
}

/// One direction of a session: converts it to UTF-8 and apportions its
/// original bytes to messages.
#[derive(Debug)]
pub struct Transcoder {
    charset: Charset,
    decoder: Decoder,
    /// The tables of a single-byte charset, where byte and character
    /// offsets are one.
    single: Option<&'static SingleByte>,
    /// Decodes the original bytes again, behind `decoder`: it stands where
    /// the next message's original begins, so that it can find where that
    /// message's text ends in the bytes.
    shadow: Decoder,
    /// Original bytes not yet taken by a message.
    raw: Vec<u8>,
    /// How many bytes of `raw` the shadow has decoded.
    shadow_pos: usize,
    /// Text (UTF-8 bytes) the shadow has made since the stream began.
    shadow_len: u64,
    /// Text not yet taken by a message, and the stream offset it starts at.
    text: String,
    text_start: u64,
    scratch: String,
    encoded: Vec<u8>,
    taken: Vec<u8>,
}

impl Transcoder {
    /// A transcoder for a new stream in `charset`.
    pub fn new(charset: Charset) -> Transcoder {
        Transcoder {
            charset,
            decoder: charset.decoder(),
            single: charset.single_byte(),
            shadow: charset.decoder(),
            raw: Vec::new(),
            shadow_pos: 0,
            shadow_len: 0,
            text: String::new(),
            text_start: 0,
            scratch: String::new(),
            encoded: Vec::new(),
            taken: Vec::new(),
        }
    }

    /// The charset.
    pub fn charset(&self) -> Charset {
        self.charset
    }

    /// Converts the stream's next bytes; returns their text (which may be
    /// empty, e.g. for the first bytes of a character).
    pub fn decode(&mut self, bytes: &[u8]) -> &str {
        self.raw.extend_from_slice(bytes);
        let start = self.text.len();
        self.decoder.decode(bytes, &mut self.text);
        &self.text[start..]
    }

    /// Ends the stream; returns the text of a character left incomplete
    /// (U+FFFD), if any. Nothing may be decoded after this.
    pub fn finish(&mut self) -> &str {
        let start = self.text.len();
        self.decoder.finish(&mut self.text);
        &self.text[start..]
    }

    /// The length of all the text made so far, in UTF-8 bytes.
    pub fn text_len(&self) -> u64 {
        self.text_start + self.text.len() as u64
    }

    /// True if every original byte received has been taken by a message.
    pub fn is_drained(&self) -> bool {
        self.raw.is_empty()
    }

    /// Takes the original of the next message, whose text in this stream
    /// ends at `end` (an offset in the stream's text, as counted by
    /// [`Transcoder::text_len`]; not before the previous message's end,
    /// and at a character boundary).
    ///
    /// Once the stream is finished, the message whose text reaches the end
    /// of the stream takes every byte left.
    pub fn take(&mut self, end: u64) -> Original<'_> {
        let mut end = end.clamp(self.text_start, self.text_len());
        // The encoder cuts between characters; an offset inside one would
        // be a caller's mistake, taken back to the character's start.
        while !self
            .text
            .is_char_boundary(usize::try_from(end - self.text_start).unwrap_or(0))
        {
            end -= 1;
        }
        let last = self.decoder.is_finished() && end == self.text_len();
        let len = usize::try_from(end - self.text_start).unwrap_or(self.text.len());
        let text = &self.text[..len];
        let (cut, same) = match self.single {
            // One byte per character: no shadow decoding, and the check
            // compares as it counts.
            Some(table) => {
                let (mut cut, mut same) = same_single_byte(table, text, &self.raw);
                if last {
                    same &= cut == self.raw.len();
                    cut = self.raw.len();
                }
                self.shadow_pos = cut;
                (cut, same)
            }
            None => {
                let cut = self.original_end(end, last);
                self.encoded.clear();
                let text = &self.text[..len];
                let same =
                    self.charset.encode(text, &mut self.encoded) && self.encoded == self.raw[..cut];
                (cut, same)
            }
        };
        self.text.drain(..len);
        self.text_start = end;
        self.taken.clear();
        self.taken.extend_from_slice(&self.raw[..cut]);
        self.raw.drain(..cut);
        self.shadow_pos -= cut;
        if same {
            Original::Same
        } else {
            Original::Bytes(&self.taken)
        }
    }

    /// Moves the shadow decoder to where the text reaches `end` (or, for the
    /// stream's `last` message, to the end of the bytes); returns that
    /// position in `raw`.
    fn original_end(&mut self, end: u64, last: bool) -> usize {
        while (last || self.shadow_len < end) && self.shadow_pos < self.raw.len() {
            let need = usize::try_from(end.saturating_sub(self.shadow_len)).unwrap_or(usize::MAX);
            let mut n = (self.raw.len() - self.shadow_pos).min(need.max(1));
            if !last {
                // As many bytes as cannot make more text than is needed:
                // past the end, the shadow could not go back.
                while n > 1 {
                    let max = self.shadow.max_text(n);
                    if max <= need {
                        break;
                    }
                    n = (n - 1).min(n.saturating_mul(need) / max.max(1)).max(1);
                }
            } else {
                n = self.raw.len() - self.shadow_pos;
            }
            self.scratch.clear();
            let bytes = &self.raw[self.shadow_pos..self.shadow_pos + n];
            self.shadow_len += self.shadow.decode(bytes, &mut self.scratch) as u64;
            self.shadow_pos += n;
        }
        if last && !self.shadow.is_finished() {
            self.scratch.clear();
            self.shadow_len += self.shadow.finish(&mut self.scratch) as u64;
        }
        self.shadow_pos
    }
}

/// For a single-byte charset: how many bytes of `raw` the characters of
/// `text` stand for, and whether they are exactly `text` encoded.
fn same_single_byte(table: &SingleByte, text: &str, raw: &[u8]) -> (usize, bool) {
    let bytes = text.as_bytes();
    let (mut i, mut j) = (0, 0);
    while let Some(&lead) = bytes.get(i) {
        let (code, len) = match lead {
            0..0x80 => (u32::from(lead), 1),
            0xc0..0xe0 => (u32::from(lead & 0x1f), 2),
            0xe0..0xf0 => (u32::from(lead & 0x0f), 3),
            _ => (u32::from(lead & 0x07), 4),
        };
        // `text` is UTF-8: the continuation bytes are there.
        let code = bytes
            .iter()
            .skip(i + 1)
            .take(len - 1)
            .fold(code, |c, &b| (c << 6) | u32::from(b & 0x3f));
        if table
            .encode_code(code)
            .is_none_or(|b| raw.get(j) != Some(&b))
        {
            // A difference: count the rest of the characters.
            let rest = text.get(i..).map_or(0, |t| t.chars().count());
            return ((j + rest).min(raw.len()), false);
        }
        i += len;
        j += 1;
    }
    (j.min(raw.len()), true)
}

/// The zstd level: cheap, since originals are packed while recording.
const LEVEL: i32 = 3;

/// The most bytes an original may unpack to: far more than any message
/// holds, so a damaged or hostile field cannot make the player allocate
/// without bound.
pub const MAX_ORIGINAL: u64 = 64 << 20;

/// Packs originals: zstd, then base64. Keeps its compression context from
/// one message to the next.
pub struct Packer {
    compressor: zstd::bulk::Compressor<'static>,
    frame: Vec<u8>,
}

impl Packer {
    /// A packer.
    pub fn new() -> Result<Packer> {
        Ok(Packer {
            compressor: zstd::bulk::Compressor::new(LEVEL).map_err(Error::Zstd)?,
            frame: Vec::new(),
        })
    }

    /// Appends the packed `bytes` (base64 of a zstd frame) to `out`.
    pub fn pack(&mut self, bytes: &[u8], out: &mut String) -> Result<()> {
        self.frame.clear();
        self.frame
            .reserve(zstd::zstd_safe::compress_bound(bytes.len()));
        self.compressor
            .compress_to_buffer(bytes, &mut self.frame)
            .map_err(Error::Zstd)?;
        base64::engine::general_purpose::STANDARD.encode_string(&self.frame, out);
        Ok(())
    }
}

impl std::fmt::Debug for Packer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packer").field("level", &LEVEL).finish()
    }
}

/// Appends the bytes of a packed original (as [`Packer::pack`] wrote it) to
/// `out`.
pub fn unpack(packed: &str, out: &mut Vec<u8>) -> Result<()> {
    let frame = base64::engine::general_purpose::STANDARD
        .decode(packed)
        .map_err(Error::Base64)?;
    let decoder = zstd::stream::read::Decoder::with_buffer(&frame[..]).map_err(Error::Zstd)?;
    let start = out.len();
    decoder
        .take(MAX_ORIGINAL + 1)
        .read_to_end(out)
        .map_err(Error::Zstd)?;
    let size = (out.len() - start) as u64;
    if size > MAX_ORIGINAL {
        out.truncate(start);
        return Err(Error::TooLarge {
            size,
            limit: MAX_ORIGINAL,
        });
    }
    Ok(())
}

/// Appends a message's original bytes in one direction to `out`: unpacked
/// from `packed` if the message has it, else its `text` encoded back.
pub fn restore(
    charset: Charset,
    text: &str,
    packed: Option<&str>,
    out: &mut Vec<u8>,
) -> Result<()> {
    match packed {
        Some(packed) => unpack(packed, out),
        None if charset.encode(text, out) => Ok(()),
        None => Err(Error::NotReproducible {
            charset: charset.name(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charset(name: &str) -> Charset {
        Charset::for_name(name).expect("known")
    }

    /// Packs an original as a recorder would, and restores it.
    fn round_trip(c: Charset, text: &str, original: Original<'_>) -> Vec<u8> {
        let packed = match original {
            Original::Same => None,
            Original::Bytes(b) => {
                let mut s = String::new();
                Packer::new()
                    .expect("packer")
                    .pack(b, &mut s)
                    .expect("pack");
                Some(s)
            }
        };
        let mut out = Vec::new();
        restore(c, text, packed.as_deref(), &mut out).expect("restores");
        out
    }

    #[test]
    fn plain_koi8r_text_needs_no_original() {
        let mut t = Transcoder::new(charset("KOI8-R"));
        let text = t.decode(b"\xf0\xd2\xc9\xd7\xc5\xd4\r\n").to_owned();
        assert_eq!(text, "Привет\r\n");
        assert_eq!(t.take(t.text_len()), Original::Same);
        assert!(t.is_drained());
    }

    #[test]
    fn invalid_bytes_keep_their_original() {
        let mut t = Transcoder::new(charset("EUC-KR"));
        let text = t.decode(b"ok\xff").to_owned();
        assert_eq!(text, "ok\u{fffd}");
        let end = t.text_len();
        let original = t.take(end);
        assert_eq!(original, Original::Bytes(b"ok\xff"));
        assert_eq!(round_trip(charset("EUC-KR"), &text, original), b"ok\xff");
    }

    #[test]
    fn a_cut_inside_a_read_splits_the_original_at_the_character() {
        // Two messages: "日" and "本ok", from one read in EUC-JP.
        let c = charset("EUC-JP");
        let mut t = Transcoder::new(c);
        t.decode(b"\xc6\xfc\xcb\xdcok");
        assert_eq!(t.take(3), Original::Same);
        assert_eq!(t.take(8), Original::Same);
        assert!(t.is_drained());
    }

    #[test]
    fn leading_bytes_of_an_unfinished_character_wait_for_the_next_message() {
        let c = charset("Shift_JIS");
        let mut t = Transcoder::new(c);
        assert_eq!(t.decode(b"a\x93"), "a");
        assert_eq!(t.take(1), Original::Same);
        assert_eq!(t.decode(b"\xfa"), "日");
        assert_eq!(t.take(4), Original::Same);
        assert!(t.is_drained());
    }

    #[test]
    fn iso2022jp_state_at_a_cut_keeps_the_originals() {
        let c = charset("ISO-2022-JP");
        let mut t = Transcoder::new(c);
        let bytes = b"\x1b$BF|K\\\x1b(B";
        assert_eq!(t.decode(bytes), "日本");
        assert_eq!(t.finish(), "");
        // A cut between the two characters: neither half is a whole stream.
        let first = t.take(3);
        assert_eq!(first, Original::Bytes(b"\x1b$BF|"));
        let first = first_bytes(first);
        let second = t.take(6);
        assert_eq!(second, Original::Bytes(b"K\\\x1b(B"));
        let mut all = round_trip(c, "日", Original::Bytes(&first));
        all.extend(round_trip(c, "本", second));
        assert_eq!(all, bytes);
    }

    fn first_bytes(o: Original<'_>) -> Vec<u8> {
        match o {
            Original::Same => Vec::new(),
            Original::Bytes(b) => b.to_vec(),
        }
    }

    #[test]
    fn the_last_message_takes_trailing_bytes_without_text() {
        let c = charset("ISO-2022-JP");
        let mut t = Transcoder::new(c);
        assert_eq!(t.decode(b"ab\x1b(J"), "ab");
        assert_eq!(t.finish(), "");
        let end = t.text_len();
        assert_eq!(t.take(end), Original::Bytes(b"ab\x1b(J"));
        assert!(t.is_drained());
    }

    #[test]
    fn a_pending_character_at_the_end_becomes_replacement_and_is_kept() {
        let mut t = Transcoder::new(charset("GB18030"));
        assert_eq!(t.decode(b"x\x81"), "x");
        assert_eq!(t.finish(), "\u{fffd}");
        assert_eq!(t.take(4), Original::Bytes(b"x\x81"));
    }

    #[test]
    fn an_end_inside_a_character_moves_back_to_its_start() {
        let c = charset("KOI8-R");
        let mut t = Transcoder::new(c);
        t.decode(b"\xf0\xd2");
        assert_eq!(t.take(3), Original::Same);
        assert_eq!(t.text_len(), 4);
        assert_eq!(t.take(4), Original::Same);
        assert!(t.is_drained());
    }

    #[test]
    fn unpack_rejects_damage() {
        let mut out = Vec::new();
        assert!(matches!(
            unpack("not base64!", &mut out),
            Err(Error::Base64(_))
        ));
        assert!(matches!(unpack("AAAA", &mut out), Err(Error::Zstd(_))));
        let err = restore(charset("KOI8-R"), "日本", None, &mut out).expect_err("no encoding");
        assert!(err.to_string().contains("KOI8-R"), "{err}");
    }

    #[test]
    fn packing_compresses_repetitive_originals() {
        let bytes = b"\xff\xfe".repeat(1000);
        let mut packed = String::new();
        let mut p = Packer::new().expect("packer");
        p.pack(&bytes, &mut packed).expect("pack");
        assert!(packed.len() < 100, "{}", packed.len());
        let mut out = Vec::new();
        unpack(&packed, &mut out).expect("unpacks");
        assert_eq!(out, bytes);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn charset() -> impl Strategy<Value = Charset> {
        let all: Vec<Charset> = Charset::all().collect();
        proptest::sample::select(all)
    }

    /// Text in many scripts, encoded in the charset (characters it lacks
    /// become encoding_rs' numeric references), with arbitrary bytes mixed
    /// in; or arbitrary bytes alone.
    fn stream(charset: Charset) -> impl Strategy<Value = Vec<u8>> {
        let text =
            "[a-z \\r\\n\\u{1b}\\[é€ПриветмΩ日本語の中文한국어¥\\\\~\u{80}\u{9b}\u{ff}]{0,120}";
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            (
                text,
                proptest::collection::vec(
                    (
                        any::<prop::sample::Index>(),
                        proptest::collection::vec(any::<u8>(), 1..4)
                    ),
                    0..4
                )
            )
                .prop_map(move |(text, noise)| {
                    let mut bytes = Vec::new();
                    if !charset.encode(&text, &mut bytes) {
                        let encoding = match charset.0 {
                            crate::charset::Kind::Whatwg(e) => e,
                            _ => encoding_rs::WINDOWS_1252,
                        };
                        bytes = encoding.encode(&text).0.into_owned();
                    }
                    for (at, junk) in noise {
                        let at = at.index(bytes.len() + 1);
                        bytes.splice(at..at, junk);
                    }
                    bytes
                }),
        ]
    }

    /// The stream's text in one go.
    fn one_shot(charset: Charset, bytes: &[u8]) -> String {
        match charset.0 {
            crate::charset::Kind::Iso(iso) => bytes
                .iter()
                .map(|&b| iso.table().decode[usize::from(b)])
                .collect(),
            crate::charset::Kind::Whatwg(e) => e.decode_without_bom_handling(bytes).0.into_owned(),
            crate::charset::Kind::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
        }
    }

    /// A session: a charset, its bytes, where reads cut them, and where
    /// messages end after each read (fractions of the text not yet taken).
    type Session = (Charset, Vec<u8>, Vec<(usize, Vec<u8>)>);

    fn session() -> impl Strategy<Value = Session> {
        charset().prop_flat_map(|c| {
            (
                Just(c),
                stream(c),
                proptest::collection::vec(
                    (0..40usize, proptest::collection::vec(any::<u8>(), 0..3)),
                    1..30,
                ),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Whatever the charset, the bytes and the cuts of reads and of
        /// messages: the messages' originals, restored as a player does,
        /// give back the stream, and their texts are its one-shot decoding.
        #[test]
        fn originals_restore_the_stream_and_text_is_the_one_shot_decoding(
            (charset, bytes, cuts) in session()
        ) {
            let mut t = Transcoder::new(charset);
            let mut packer = Packer::new().expect("packer");
            let mut text = String::new();
            let (mut restored, mut texts) = (Vec::new(), String::new());
            let mut taken = 0usize;
            let mut message = |t: &mut Transcoder, text: &str, taken: &mut usize, end: usize| {
                let msg_text = &text[*taken..end];
                let packed = match t.take(end as u64) {
                    Original::Same => None,
                    Original::Bytes(b) => {
                        let mut s = String::new();
                        packer.pack(b, &mut s).expect("pack");
                        Some(s)
                    }
                };
                restore(charset, msg_text, packed.as_deref(), &mut restored).expect("restores");
                texts.push_str(msg_text);
                *taken = end;
            };
            let mut rest = &bytes[..];
            for (read, ends) in &cuts {
                let (now, later) = rest.split_at((*read).min(rest.len()));
                rest = later;
                text.push_str(t.decode(now));
                prop_assert_eq!(t.text_len(), text.len() as u64);
                let mut ends: Vec<u8> = ends.clone();
                ends.sort_unstable();
                let from = taken;
                for f in ends {
                    let mut end = from + (text.len() - from) * usize::from(f) / 255;
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    if end >= taken {
                        message(&mut t, &text, &mut taken, end);
                    }
                }
            }
            text.push_str(t.decode(rest));
            text.push_str(t.finish());
            let end = text.len();
            message(&mut t, &text, &mut taken, end);
            prop_assert!(t.is_drained());
            prop_assert_eq!(&texts, &text);
            prop_assert_eq!(text, one_shot(charset, &bytes));
            prop_assert_eq!(restored, bytes);
        }
    }
}
