//! termtape's keyframes: the terminal's whole state, logged now and then in
//! the recording, so that a player can start at any moment without replaying
//! from the start.
//!
//! A keyframe rides on a message as an extra field named `kf`, which tlog-play
//! and Cockpit ignore. It holds the emulator's state at the *start* of that
//! message, before any of its packets:
//!
//! ```json
//! {"ver":"2.3", … ,"out_txt":"…","out_bin":[],"kf":{"v":1,"cols":80,"rows":24,"vt":"\u001b[H…"}}
//! ```
//!
//! - `v`: the keyframe format's version (this crate writes and reads 1);
//! - `cols`, `rows`: the screen size;
//! - `vt`: [`termtape_emu::Terminal::snapshot`], VT escape sequences that
//!   recreate the state on a freshly reset terminal of that size;
//! - `tail` (only when not empty): bytes of an incomplete UTF-8 character
//!   the terminal was in the middle of, as a JSON array of numbers.
//!
//! The crate's parts, in the order of the flow:
//! - [`Keyframe`]: encoding and decoding of the `kf` value, capture from and
//!   restore into a [`termtape_emu::Terminal`];
//! - [`Cadence`] and [`Schedule`]: when a keyframe is due (the first message,
//!   then the first message after 256 KiB of output or 60 s with output, and
//!   the first after each resize), and the budget that bounds keyframes by
//!   the output they cover (at most 4 KiB plus half the output, none over
//!   16 MiB) and the largest screen the recorder records ([`clamp_size`]);
//! - [`Screen`]: a recording's screen as its packets build it, the one rule
//!   shared by the recorder (which takes keyframes) and the player (which
//!   replays from them), so that both agree cell for cell;
//! - [`Rekeyer`]: adds keyframes to the messages of an existing recording
//!   (`termtape keyframe`), leaving everything else byte for byte.
//!
//! It does no I/O and reads no clock: times are messages' `pos`.
//!
//! ```
//! use termtape_keyframe::{Keyframe, Screen};
//!
//! let mut screen = Screen::new();
//! screen.window(20, 3);
//! screen.output(b"\x1b[1mhello\x1b[m\r\n$ ");
//! let json = Keyframe::capture(screen.terminal(None).as_ref()).to_json();
//! let restored = Keyframe::parse(&json, &Default::default())?.restore();
//! assert_eq!(restored.row_text(0), "hello");
//! assert_eq!(&restored, screen.terminal(None).as_ref());
//! # Ok::<(), termtape_keyframe::Error>(())
//! ```

mod cadence;
mod error;
mod frame;
mod rekey;
mod screen;

pub use cadence::{
    Cadence, DEFAULT_BYTES, DEFAULT_INTERVAL, FIRST_CREDIT, MAX_KEYFRAME_LEN, MAX_SCREEN_CELLS,
    OUTPUT_PER_BYTE, Schedule, clamp_size,
};
pub use error::{Error, Result};
pub use frame::{FIELD, Keyframe, VERSION};
pub use rekey::Rekeyer;
pub use screen::{DEFAULT_SIZE, Screen};
