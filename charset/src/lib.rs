//! Legacy charsets for termtape: a session's bytes in KOI8-R, ISO-8859-x,
//! Shift_JIS, EUC-JP, GB18030, Big5, … converted to UTF-8 as they stream,
//! with the original bytes kept so that nothing is lost.
//!
//! In the recorder's flow this sits between capture and the chunker:
//! `pty → capture → charset → chunk → sink`. Everything downstream (the
//! emulator, `out_txt`/`in_txt`, keyframes) sees UTF-8; each message also
//! carries what is needed to give back its original bytes.
//!
//! - [`Charset`]: a charset from its name, as the C library
//!   (`nl_langinfo(CODESET)`) or encoding_rs spell it; UTF-8 is the
//!   zero-cost case, where nothing is converted or kept.
//! - [`Decoder`]: streaming conversion to UTF-8 (encoding_rs), a character
//!   split across reads carried over, a stateful encoding's state kept,
//!   invalid bytes as U+FFFD.
//! - [`Transcoder`]: one direction of a session: converts, and gives each
//!   message its [`Original`], left out where encoding the message's text
//!   back gives exactly the same bytes (checked, not assumed).
//! - [`Packer`], [`unpack`], [`restore`]: originals as base64 of a zstd
//!   frame; a message's original bytes back from its text and field.
//!
//! ```
//! use termtape_charset::{Charset, Original, Transcoder, restore};
//!
//! let koi8 = Charset::for_name("koi8r")?;
//! let mut output = Transcoder::new(koi8);
//! let text = output.decode(b"\xf0\xd2\xc9\xd7\xc5\xd4\r\n").to_owned();
//! assert_eq!(text, "Привет\r\n");
//! // The message holding all of that text needs no original field:
//! assert_eq!(output.take(output.text_len()), Original::Same);
//! let mut bytes = Vec::new();
//! restore(koi8, &text, None, &mut bytes)?;
//! assert_eq!(bytes, b"\xf0\xd2\xc9\xd7\xc5\xd4\r\n");
//! # Ok::<(), termtape_charset::Error>(())
//! ```
//!
//! This crate does no I/O, reads no clock and no environment: finding the
//! locale's charset is the recorder's business.

mod charset;
mod decode;
mod error;
mod original;

pub use charset::Charset;
pub use decode::Decoder;
pub use error::{Error, Result};
pub use original::{MAX_ORIGINAL, Original, Packer, Transcoder, restore, unpack};
