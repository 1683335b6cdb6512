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

/// The charset of a message of a legacy session, if it has one.
fn charset(msg: &Message, at: &Location) -> io::Result<Option<Charset>> {
    let Some(raw) = msg.extra(CHARSET) else {
        return Ok(None);
    };
    let name: String = serde_json::from_str(raw.get())
        .map_err(|e| invalid(at, format!("charset is not a string: {e}")))?;
    Charset::for_name(&name)
        .map(Some)
        .map_err(|e| invalid(at, e.to_string()))
}

fn invalid(at: &Location, what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{at}: {what}"))
}

/// Appends the original bytes of `stream` in `msg` to `out`.
pub fn append(msg: &Message, stream: Stream, at: &Location, out: &mut Vec<u8>) -> io::Result<()> {
    let text = msg
        .bytes(stream, at)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    let Some(charset) = charset(msg, at)? else {
        out.extend_from_slice(&text);
        return Ok(());
    };
    let text = String::from_utf8(text)
        .map_err(|_| invalid(at, "text of a converted session is not UTF-8".to_owned()))?;
    let field = match stream {
        Stream::Input => IN_ORIG,
        Stream::Output => OUT_ORIG,
    };
    let packed: Option<String> = msg
        .extra(field)
        .map(|raw| serde_json::from_str(raw.get()))
        .transpose()
        .map_err(|e| invalid(at, format!("{field} is not a string: {e}")))?;
    termtape_charset::restore(charset, &text, packed.as_deref(), out)
        .map_err(|e| invalid(at, format!("{field}: {e}")))
}

/// The original output bytes of `msg`, split by its output packets where
/// each packet's text encodes back to its share (so they can be played at
/// their times); otherwise all in the first piece. Returns the pieces, one
/// per output packet (at least one).
pub fn output_pieces(msg: &Message, at: &Location) -> io::Result<Vec<Vec<u8>>> {
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
    })
    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
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
