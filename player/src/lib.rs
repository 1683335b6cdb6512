//! termtape's player: reads recordings in tlog's format and gives back what
//! was on the terminal.
//!
//! Flow: [`source`] (a file or standard input, as lines of JSON) →
//! [`recording`] (the messages of one recording, validated, decoded into
//! packets) → the commands: [`cat`] (the bytes at once), [`play`] (the
//! bytes timed as recorded), [`list`] (a summary of every recording in a
//! source), [`search`] (when a text was on the screen or typed, in every
//! recording of a source), [`seek`] (the screen at a moment, from the
//! nearest keyframe) and [`keyframe`] (a copy of a recording with keyframes
//! added); [`tui`] plays a recording on the viewer's terminal with keyboard
//! controls. [`time`] reads the moments and wall-clock times the commands
//! take and writes those they show (in the local zone, through jiff).
//!
//! Nothing from a recording reaches the reviewer's terminal raw: fields are
//! printed through [`visible`], and raw playback goes through [`guard`],
//! which leaves out what would make the terminal answer or act outside the
//! screen.
//!
//! This crate does not record; that is `termtape-rec`.

pub mod cat;
pub mod console;
pub mod gap;
pub mod guard;
pub mod keyframe;
pub mod list;
pub mod original;
pub mod play;
pub mod recording;
pub mod search;
pub mod seek;
pub mod source;
pub mod time;
pub mod tui;
pub mod visible;

pub use recording::{Damage, Query, Selection};
pub use source::Source;
pub use time::{duration, local, utc};
