//! Streaming conversion of one direction's bytes to UTF-8.

use encoding_rs::CoderResult;

use crate::charset::{Charset, Kind};

/// Converts a stream of bytes in a charset to UTF-8, a piece at a time.
///
/// A character whose bytes are split across calls comes out whole once its
/// last byte arrives; a stateful encoding (ISO-2022-JP) keeps its state from
/// call to call. Bytes that are invalid in the charset become U+FFFD. The
/// text is the same however the stream is cut.
pub struct Decoder {
    inner: Inner,
    finished: bool,
}

enum Inner {
    Whatwg(encoding_rs::Decoder),
    Table(&'static [char; 256]),
}

impl Charset {
    /// A decoder for a new stream in this charset. (For UTF-8 it replaces
    /// invalid bytes by U+FFFD too; the recorder does not use it, since the
    /// format keeps invalid UTF-8 as it is.)
    pub fn decoder(self) -> Decoder {
        let inner = match self.0 {
            Kind::Utf8 => Inner::Whatwg(encoding_rs::UTF_8.new_decoder_without_bom_handling()),
            // No BOM sniffing: a terminal stream has no BOM, and a BOM
            // sniffed away would leave bytes without text.
            Kind::Whatwg(e) => Inner::Whatwg(e.new_decoder_without_bom_handling()),
            Kind::Iso(iso) => Inner::Table(&iso.table().decode),
        };
        Decoder {
            inner,
            finished: false,
        }
    }
}

impl Decoder {
    /// Appends the text of `bytes`, the stream's next bytes, to `out`; the
    /// bytes of a character not yet complete wait inside the decoder.
    /// Returns how many bytes of text were appended.
    pub fn decode(&mut self, bytes: &[u8], out: &mut String) -> usize {
        self.convert(bytes, out, false)
    }

    /// Ends the stream: appends U+FFFD for a character left incomplete.
    /// Returns how many bytes of text were appended. Later calls to
    /// [`Decoder::decode`] and `finish` append nothing.
    pub fn finish(&mut self, out: &mut String) -> usize {
        self.convert(&[], out, true)
    }

    /// True once [`Decoder::finish`] was called.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The most text (UTF-8 bytes) that `n` more bytes can produce, given
    /// what the decoder holds.
    pub(crate) fn max_text(&self, n: usize) -> usize {
        match &self.inner {
            Inner::Whatwg(d) => d.max_utf8_buffer_length(n).unwrap_or(usize::MAX),
            Inner::Table(_) => n.saturating_mul(3),
        }
    }

    fn convert(&mut self, mut bytes: &[u8], out: &mut String, last: bool) -> usize {
        if self.finished {
            return 0;
        }
        self.finished = last;
        let start = out.len();
        match &mut self.inner {
            Inner::Whatwg(d) => loop {
                // encoding_rs writes only into spare capacity.
                out.reserve(d.max_utf8_buffer_length(bytes.len()).unwrap_or(bytes.len()));
                let (result, read, _) = d.decode_to_string(bytes, out, last);
                bytes = &bytes[read..];
                if result == CoderResult::InputEmpty {
                    break;
                }
            },
            Inner::Table(table) => {
                out.reserve(bytes.len());
                while !bytes.is_empty() {
                    let ascii = bytes.iter().position(|&b| b >= 0x80).unwrap_or(bytes.len());
                    if let Ok(run) = std::str::from_utf8(&bytes[..ascii]) {
                        out.push_str(run);
                    }
                    bytes = &bytes[ascii..];
                    let upper = bytes.iter().position(|&b| b < 0x80).unwrap_or(bytes.len());
                    out.extend(bytes[..upper].iter().map(|&b| table[usize::from(b)]));
                    bytes = &bytes[upper..];
                }
            }
        }
        out.len() - start
    }
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let encoding = match &self.inner {
            Inner::Whatwg(d) => d.encoding().name(),
            Inner::Table(_) => "table",
        };
        f.debug_struct("Decoder")
            .field("encoding", &encoding)
            .field("finished", &self.finished)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(charset: &str, pieces: &[&[u8]]) -> String {
        let mut d = Charset::for_name(charset).expect("known").decoder();
        let mut out = String::new();
        for p in pieces {
            d.decode(p, &mut out);
        }
        d.finish(&mut out);
        out
    }

    #[test]
    fn koi8r_decodes_to_cyrillic() {
        assert_eq!(
            decode_in_pieces("KOI8-R", &[b"\xf0\xd2\xc9\xd7\xc5\xd4, \xcd\xc9\xd2!"]),
            "Привет, мир!"
        );
    }

    #[test]
    fn a_character_split_across_calls_comes_out_whole() {
        // 日本 in EUC-JP, cut inside each character.
        assert_eq!(
            decode_in_pieces("EUC-JP", &[b"\xc6", b"\xfc\xcb", b"\xdc"]),
            "日本"
        );
        // 中 in GB18030's four-byte form (U+10000 = 0x90 0x30 0x81 0x30).
        assert_eq!(
            decode_in_pieces("GB18030", &[b"\x90", b"\x30", b"\x81", b"\x30"]),
            "\u{10000}"
        );
    }

    #[test]
    fn iso2022jp_keeps_its_state_across_calls() {
        assert_eq!(
            decode_in_pieces("ISO-2022-JP", &[b"\x1b$B", b"F|", b"K\\\x1b(", b"Bok"]),
            "日本ok"
        );
    }

    #[test]
    fn invalid_bytes_and_a_truncated_end_become_replacement_characters() {
        assert_eq!(
            decode_in_pieces("Shift_JIS", &[b"a\xa0b\x82"]),
            "a\u{fffd}b\u{fffd}"
        );
    }

    #[test]
    fn latin1_table_decoding_keeps_c1() {
        assert_eq!(
            decode_in_pieces("ISO-8859-1", &[b"caf\xe9 \x9b1m"]),
            "café \u{9b}1m"
        );
    }

    #[test]
    fn finish_is_final() {
        let mut d = Charset::for_name("EUC-KR").expect("known").decoder();
        let mut out = String::new();
        d.finish(&mut out);
        assert!(d.is_finished());
        assert_eq!(d.decode(b"abc", &mut out), 0);
        assert_eq!(d.finish(&mut out), 0);
        assert_eq!(out, "");
    }
}
