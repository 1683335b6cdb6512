//! tlog's JSON log format, version 2.3, as termtape reads and writes it.
//!
//! A recording is a sequence of *messages*, one JSON object each (one per
//! line in a file, one per entry in the journal). Each message carries the
//! recording's identity, its position in time, and a slice of terminal I/O:
//!
//! ```json
//! {"ver":"2.3","host":"vm","rec":"94da…-309a-6c87","user":"root","term":"xterm",
//!  "session":4294967295,"id":1,"pos":0,"time":1795706950.773,
//!  "timing":"=80x24+5>18","in_txt":"","in_bin":[],
//!  "out_txt":"\u001b[?2004hbash-5.2# ","out_bin":[]}
//! ```
//!
//! - [`timing`]: the `timing` string grammar (delays, window sizes, text and
//!   binary runs);
//! - [`Message`]: parse and validate one message as tlog-play does, keep
//!   unknown fields, serialise as tlog does, decode into [`Packet`]s;
//! - [`Encoder`]: cut terminal I/O into messages exactly as tlog-rec does;
//! - [`Login`]: the `login` field marking a login nested in the recorded
//!   session;
//! - [`Origin`] and [`Exit`]: the `origin` field of a recording's first
//!   message (login terminal, the recording's terminal, remote host,
//!   command, login uid, boot id) and the `exit` field of its last (how
//!   the command ended);
//! - [`Redaction`]: the `redacted` field marking keys typed while the
//!   terminal hid them (a password), left out of the recording;
//! - [`extension`]: termtape's fields beyond tlog's (keyframes, logins,
//!   origin and exit, gaps, charset originals): their names, their form in
//!   a file and in the journal, and a bounded scan that finds one in a line;
//! - [`chain`] and [`verify`]: the hash chain over every message termtape
//!   writes, its signed checkpoints (seals), and the check of a recording
//!   against them, one verdict per recording;
//! - [`Reader`]: a validating stream reader over lines, with tlog-play's
//!   checks (ids go up by one, `pos` never goes back) and a lax mode; a
//!   line longer than [`MAX_LINE_LEN`] (64 MiB) is damage, passed over
//!   without being held ([`read_line`] is the bounded line read).
//!
//! Round trip:
//!
//! ```
//! use std::time::Duration;
//! use termtape_format::{Encoder, Header, Location, Message, Stream};
//!
//! let header = Header { host: "vm".into(), rec: "r1".into(), user: "ann".into(),
//!                       term: "xterm".into(), session: 7 };
//! let mut enc = Encoder::new(&header, 2048, Duration::from_secs(1_700_000_000))?;
//! let mut lines = Vec::new();
//! let mut emit = |m: termtape_format::Encoded<'_>| -> Result<(), ()> {
//!     lines.push(String::from_utf8(m.json.to_vec()).unwrap());
//!     Ok(())
//! };
//! enc.window(Duration::ZERO, 80, 24, &mut emit).unwrap();
//! enc.io(Duration::from_millis(5), Stream::Output, b"hi \xff\r\n", &mut emit).unwrap();
//! enc.cut(&mut emit).unwrap();
//! enc.flush(&mut emit).unwrap();
//! assert_eq!(lines.len(), 1);
//! let msg = Message::parse(lines[0].trim_end(), &Location::default())?;
//! assert_eq!(msg.timing, "=80x24+5>3]1/1>2");
//! assert_eq!(msg.bytes(Stream::Output, &Location::default())?, b"hi \xff\r\n");
//! # Ok::<(), termtape_format::Error>(())
//! ```
//!
//! This crate does no I/O beyond `std::io::BufRead` and reads no clock.

pub mod chain;
mod chunk;
mod error;
mod escape;
pub mod extension;
mod fast;
mod login;
mod message;
mod origin;
mod range;
mod reader;
mod redaction;
pub mod timing;
mod totals;
mod utf8;
pub mod verify;

pub use chunk::{
    DEFAULT_PAYLOAD, Encoded, Encoder, Header, MAX_DEFERRED_MS, MIN_PAYLOAD, max_message_len,
};
pub use error::{Error, Location, Result};
pub use escape::escape_str_into;
pub use login::{LOGIN_FIELD, Login, Logins, MAX_LOGIN_EVENTS};
pub use message::{Message, Packet, Timed, VERSION};
pub use origin::{EXIT_FIELD, Exit, MAX_COMMAND_WORDS, ORIGIN_FIELD, Origin, UNSET_ID};
pub use range::Range;
pub use reader::{LineEnd, MAX_LINE_LEN, RawLine, Reader, Validator, read_line, skip_line};
pub use redaction::{INPUT_REDACTION_FIELD, MAX_REDACTIONS, REDACTED_FIELD, Redaction};
pub use timing::Stream;
pub use totals::{TOTALS_VERSION, Tally, Totals};
pub use utf8::Utf8Seq;
