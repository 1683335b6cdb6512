//! The original bytes of a session recorded in a legacy charset.
//!
//! termtape records such a session as UTF-8 text; each message carries
//! extra fields (ignored by tlog-play): `charset`, the charset's name, and,
//! where encoding the message's text back into the charset would not give
//! exactly what was written, `in_orig` / `out_orig`, the message's original
//! input / output bytes as base64 of a zstd frame. A message without a
//! `charset` field (a UTF-8 session, or one recorded by tlog) holds its
//! original bytes as they are.

use std::io;

use termtape_charset::Charset;
use termtape_format::extension::{CHARSET, IN_ORIG, OUT_ORIG};
use termtape_format::{Location, Message, Packet, Stream};

/// Why a message's original bytes cannot be given back.
#[derive(Debug, thiserror::Error)]
pub enum OriginalError {
    /// The message's text or timing does not decode.
    #[error(transparent)]
    Message(#[from] termtape_format::Error),
    /// A field of the message is not what it must be.
    #[error("{at}: {field}: {source}")]
    Field {
        /// The message.
        at: Location,
        /// The field.
        field: &'static str,
        /// Why.
        #[source]
        source: FieldError,
    },
    /// The text of a converted session is not UTF-8.
    #[error("{at}: text of a converted session is not UTF-8")]
    NotUtf8 {
        /// The message.
        at: Location,
    },
}

/// What is wrong with a field, as its parser said.
#[derive(Debug, thiserror::Error)]
pub enum FieldError {
    /// Not a JSON string.
    #[error("not a string: {0}")]
    NotAString(#[source] serde_json::Error),
    /// An unknown charset, or originals that do not unpack or encode.
    #[error(transparent)]
    Charset(#[from] termtape_charset::Error),
}

impl From<OriginalError> for io::Error {
    fn from(e: OriginalError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// The charset of a message of a legacy session, if it has one.
fn charset(msg: &Message, at: &Location) -> Result<Option<Charset>, OriginalError> {
    let Some(raw) = msg.extra(CHARSET) else {
        return Ok(None);
    };
    let field = |source| OriginalError::Field {
        at: at.clone(),
        field: CHARSET,
        source,
    };
    let name: String =
        serde_json::from_str(raw.get()).map_err(|e| field(FieldError::NotAString(e)))?;
    Charset::for_name(&name)
        .map(Some)
        .map_err(|e| field(e.into()))
}

/// Appends the original bytes of `stream` in `msg` to `out`.
pub fn append(
    msg: &Message,
    stream: Stream,
    at: &Location,
    out: &mut Vec<u8>,
) -> Result<(), OriginalError> {
    let text = msg.bytes(stream, at)?;
    let Some(charset) = charset(msg, at)? else {
        out.extend_from_slice(&text);
        return Ok(());
    };
    let text = String::from_utf8(text).map_err(|_| OriginalError::NotUtf8 { at: at.clone() })?;
    let field = match stream {
        Stream::Input => IN_ORIG,
        Stream::Output => OUT_ORIG,
    };
    let failed = |source| OriginalError::Field {
        at: at.clone(),
        field,
        source,
    };
    let packed: Option<String> = msg
        .extra(field)
        .map(|raw| serde_json::from_str(raw.get()))
        .transpose()
        .map_err(|e| failed(FieldError::NotAString(e)))?;
    termtape_charset::restore(charset, &text, packed.as_deref(), out).map_err(|e| failed(e.into()))
}

/// The original output bytes of `msg`, split by its output packets where
/// each packet's text encodes back to its share (so they can be played at
/// their times); otherwise all in the first piece. Returns the pieces, one
/// per output packet (at least one).
pub fn output_pieces(msg: &Message, at: &Location) -> Result<Vec<Vec<u8>>, OriginalError> {
    let mut whole = Vec::new();
    append(msg, Stream::Output, at, &mut whole)?;
    let mut texts = Vec::new();
    msg.decode(at, |t| {
        if let Packet::Io {
            stream: Stream::Output,
            bytes,
        } = t.packet
        {
            texts.push(bytes);
        }
    })?;
    let Some(charset) = charset(msg, at)? else {
        return Ok(if texts.is_empty() { vec![whole] } else { texts });
    };
    let mut pieces = Vec::with_capacity(texts.len());
    for text in &texts {
        let mut piece = Vec::new();
        match std::str::from_utf8(text) {
            Ok(text) if charset.encode(text, &mut piece) => pieces.push(piece),
            _ => return Ok(vec![whole]),
        }
    }
    if pieces.concat() == whole && !pieces.is_empty() {
        Ok(pieces)
    } else {
        Ok(vec![whole])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(extra: &str, timing: &str, out_txt: &str) -> Message {
        let line = format!(
            r#"{{"ver":"2.3","host":"h","rec":"r","user":"u","term":"t","session":1,"id":1,"pos":0,"time":1.0,"timing":"{timing}","in_txt":"","in_bin":[],"out_txt":"{out_txt}","out_bin":[]{extra}}}"#
        );
        Message::parse(&line, &Location::default()).expect("valid")
    }

    #[test]
    fn text_of_a_legacy_message_encodes_back_per_packet() {
        let msg = message(r#","charset":"KOI8-R""#, ">2+5>1", "да!");
        let mut out = Vec::new();
        append(&msg, Stream::Output, &Location::default(), &mut out).expect("restores");
        assert_eq!(out, b"\xc4\xc1!");
        let pieces = output_pieces(&msg, &Location::default()).expect("pieces");
        assert_eq!(pieces, vec![b"\xc4\xc1".to_vec(), b"!".to_vec()]);
    }

    #[test]
    fn kept_originals_are_unpacked_and_played_whole() {
        let mut packed = String::new();
        termtape_charset::Packer::new()
            .expect("packer")
            .pack(b"\x1b$BF|\x1b(B", &mut packed)
            .expect("pack");
        let extra = format!(r#","charset":"ISO-2022-JP","out_orig":"{packed}""#);
        let msg = message(&extra, ">1", "日");
        let pieces = output_pieces(&msg, &Location::default()).expect("pieces");
        assert_eq!(pieces, vec![b"\x1b$BF|\x1b(B".to_vec()]);
    }

    #[test]
    fn damage_is_reported_with_its_place() {
        let msg = message(r#","charset":"KOI8-R""#, ">1", "日");
        let at = Location {
            line: 3,
            ..Location::default()
        };
        let err = output_pieces(&msg, &at).expect_err("日 is not in KOI8-R");
        assert!(err.to_string().starts_with("line 3: out_orig:"), "{err}");
        let msg = message(r#","charset":"KOI9""#, ">1", "x");
        assert!(output_pieces(&msg, &at).is_err());
    }

    #[test]
    fn messages_without_charset_are_their_own_originals() {
        let msg = message("", ">2", "ok");
        let mut out = Vec::new();
        append(&msg, Stream::Output, &Location::default(), &mut out).expect("restores");
        assert_eq!(out, b"ok");
    }
}
