//! termtape's player: reads recordings in tlog's format and gives back what
//! was on the terminal.
//!
//! Flow: [`source`] (a file, standard input or the journal, as lines of
//! JSON, through the [`Source`] trait) → [`recording`] (which recording:
//! [`recording::choose`]; its messages, validated, decoded into packets) → the commands: [`cat`] (the bytes at once), [`play`] (the
//! bytes timed as recorded), [`list`] (a summary of every recording in a
//! source), [`search`] (when a text was on the screen or typed, in every
//! recording of a source), [`seek`] (the screen at a moment, from the
//! nearest keyframe), [`events`] (a recording from a moment on, as JSON
//! lines for other programs), [`export`] and [`import`] (a recording in
//! and out of asciinema's, ttyrec's and `script`'s formats), [`keyframe`] (a copy of a recording with keyframes
//! added) and [`archive`] (recordings into seekable zstd archives, which
//! [`source::Archive`] reads in place); [`audit`] places the commands run
//! and the watched files touched in a recorded session, from the kernel's
//! audit records, in the recording's time; `tui` plays a recording on the viewer's terminal with keyboard
//! controls, and `console` takes the viewer's keys during raw playback
//! (both with the `tui` feature, on by default: without it the crate has
//! no terminal dependency). `serve` answers the same over HTTP on loopback
//! (the `serve` feature), with the web front end [`web`] embeds. [`time`] reads the moments and wall-clock times
//! the commands take and writes those they show (in the local zone, through
//! jiff).
//!
//! Nothing from a recording reaches the reviewer's terminal raw: fields are
//! printed through [`visible`], and raw playback goes through [`guard`],
//! which leaves out what would make the terminal answer or act outside the
//! screen.
//!
//! This crate does not record; that is `termtape-rec`.

pub mod archive;
pub mod audit;
pub mod cat;
#[cfg(feature = "tui")]
pub mod console;
pub mod events;
pub mod export;
pub mod file_index;
pub mod gap;
pub mod guard;
pub mod import;
pub mod keyframe;
pub mod list;
pub mod logs;
pub mod original;
pub mod picture;
pub mod play;
pub mod recording;
pub mod redaction;
pub mod search;
pub mod seek;
#[cfg(feature = "serve")]
pub mod serve;
pub mod source;
pub mod time;
#[cfg(feature = "tui")]
pub mod tui;
pub mod verify;
pub mod visible;
pub mod web;

pub use recording::{Damage, Query, Selection};
pub use source::Source;
pub use time::{duration, local, utc};
