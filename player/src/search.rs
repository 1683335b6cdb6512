//! `termtape search`: where and when a text was on a recorded screen, or was
//! typed.
//!
//! The screen is searched as the user saw it: the output runs through the
//! emulator, and after each packet (each piece of output as it came) every
//! line shown, and every line that scrolled off with it, is looked at. A line is reported when it starts
//! to be shown, not again while it stays on the screen or scrolls up, so a
//! command's output is reported once however long it stays visible;
//! full-screen programs (editors, pagers) are searched the same way. Text in
//! a legacy charset was converted to UTF-8 when it was recorded, so it is
//! searched as UTF-8.
//!
//! Typed input is searched line by line: the keys of a line are put together
//! (backspace and ^U edit it, cursor and function keys are left out) and the
//! line is looked at when Enter ends it. What the shell made of the line
//! (history, completion) shows on the screen, which is searched too.

use std::collections::HashMap;
use std::io::BufRead;

use termtape_format::{Error, Location, Logins, Message, Packet, Reader, Stream};
use termtape_keyframe::Screen;

use crate::source::Filter;

/// The version of the JSON objects of `search --json` (their `"v"`):
/// raised when a field changes meaning or goes away; new fields may come
/// without it.
pub const JSON_VERSION: u64 = 1;

/// Lines a terminal keeps of what scrolls off within one packet: far more
/// than a packet's output can make.
const SCROLLBACK: usize = 10_000;

/// What to look for.
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    ignore_case: bool,
}

impl Pattern {
    /// A plain text, matched anywhere in a line; without regard to case if
    /// `ignore_case`.
    pub fn new(text: &str, ignore_case: bool) -> Pattern {
        Pattern {
            text: if ignore_case {
                text.to_lowercase()
            } else {
                text.to_owned()
            },
            ignore_case,
        }
    }

    /// Whether `line` holds the text.
    pub fn matches(&self, line: &str) -> bool {
        if self.ignore_case {
            line.to_lowercase().contains(&self.text)
        } else {
            line.contains(&self.text)
        }
    }
}

/// Where to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// What was on the screen.
    Screen,
    /// What was typed.
    Input,
}

/// A line found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The recording's id.
    pub rec: String,
    /// Its user.
    pub user: String,
    /// Its host.
    pub host: String,
    /// When the line was found: milliseconds from the recording's start
    /// (for `screen --at` and `play --seek`).
    pub at: u64,
    /// The same moment as a wall-clock time, milliseconds since the epoch,
    /// when the messages say.
    pub time: Option<u64>,
    /// The line, trailing blanks trimmed.
    pub line: String,
    /// For a journal entry from a sender that is not a recorder's account
    /// (read only when asked for): that sender.
    pub unverified: Option<String>,
    /// The user of the login nested in the session when the line was found
    /// (`su - bob` in alice's session: alice as bob), if any.
    pub nested: Option<String>,
}

impl Found {
    /// The find as a JSON object, for `termtape search --json` and
    /// `termtape serve`'s `/api/search`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "v": JSON_VERSION,
            "time": self.time,
            "rec": self.rec,
            "user": self.user,
            "host": self.host,
            "at": self.at,
            "line": self.line,
            "unverified": self.unverified,
            "as": self.nested,
        })
    }
}

/// Searches every recording in `input` that `filter` lets through, in the
/// order of their messages, calling `on_found` for each line found and
/// `on_gap` for each place where a rate limit dropped messages (what they
/// held cannot be searched). Damage goes to `on_damage` and is passed
/// over; an I/O error ends the search.
#[allow(
    clippy::too_many_arguments,
    reason = "what to search, where, and three reports"
)]
pub fn search(
    input: impl BufRead,
    source: &str,
    filter: &Filter,
    pattern: &Pattern,
    place: Place,
    mut on_found: impl FnMut(Found) -> std::io::Result<()>,
    mut on_gap: impl FnMut(&crate::gap::Gap),
    mut on_damage: impl FnMut(&Error),
) -> Result<(), crate::recording::ReadError> {
    let mut hunts: HashMap<String, Hunt> = HashMap::new();
    let mut reader = Reader::new(input, Some(source.to_owned()), true);
    let mut sessions = crate::source::Sessions::default();
    while let Some(item) = reader.next() {
        let msg = match item {
            Ok(msg) => msg,
            Err(e) if e.is_io() => return Err(e.into()),
            Err(e) => {
                on_damage(&e);
                continue;
            }
        };
        let in_session = sessions.accepts(filter, &msg);
        if !in_session || !filter.accepts_in_any(&msg) {
            continue;
        }
        if let Some(gap) = crate::gap::Gap::of(&msg) {
            on_gap(&gap);
        }
        let at = Location {
            source: Some(source.to_owned()),
            line: reader.line(),
            id: Some(msg.id),
        };
        let mut packets = Vec::new();
        if let Err(e) = msg.decode(&at, |t| packets.push(t)) {
            on_damage(&e);
            continue;
        }
        let hunt = hunts
            .entry(msg.recording_key())
            .or_insert_with(|| Hunt::new(&msg, place));
        match msg.logins(&at) {
            Ok(events) => hunt.logins.add(events),
            Err(e) => on_damage(&e),
        }
        let mut found = Vec::new();
        // Redaction marks are typed lines of their own.
        let mut keys = Vec::new();
        if place == Place::Input {
            match hunt.marks.message(&msg, &at, &mut keys) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => on_damage(&e),
                Err(e) => return Err(crate::recording::ReadError::Output(e)),
            }
        }
        let mut last = msg.pos;
        for t in packets {
            last = t.at;
            match (&t.packet, place) {
                (
                    Packet::Io {
                        stream: Stream::Input,
                        ..
                    },
                    Place::Screen,
                ) => {}
                (_, Place::Screen) => {
                    hunt.screen.apply(&t.packet);
                    for line in hunt.newly_shown(pattern) {
                        found.push((t.at, line));
                    }
                }
                (
                    Packet::Io {
                        stream: Stream::Input,
                        bytes,
                    },
                    Place::Input,
                ) => {
                    keys.clear();
                    hunt.marks
                        .input(bytes, &mut keys)
                        .map_err(crate::recording::ReadError::Output)?;
                    for line in hunt.typed.keys(&keys) {
                        if pattern.matches(&line) {
                            found.push((t.at, line));
                        }
                    }
                }
                _ => {}
            }
        }
        keys.clear();
        hunt.marks
            .finish(&mut keys)
            .map_err(crate::recording::ReadError::Output)?;
        for line in hunt.typed.keys(&keys) {
            if pattern.matches(&line) {
                found.push((last, line));
            }
        }
        for (at, line) in found {
            on_found(Found {
                rec: hunt.rec.clone(),
                user: hunt.user.clone(),
                host: hunt.host.clone(),
                at,
                time: hunt.start.map(|s| s + at),
                line,
                unverified: hunt.unverified.clone(),
                nested: hunt
                    .logins
                    .active_at(at)
                    .map(|l| l.user.clone().unwrap_or_else(|| "?".to_owned())),
            })
            .map_err(crate::recording::ReadError::Output)?;
        }
    }
    Ok(())
}

/// The search in one recording.
struct Hunt {
    rec: String,
    user: String,
    host: String,
    unverified: Option<String>,
    /// Wall-clock start, ms since the epoch.
    start: Option<u64>,
    screen: Screen,
    /// The matching lines on the screen at the last look, with how many
    /// times each was there: on the primary screen and on the alternate
    /// one, each kept while the other is shown (a line is not new when a
    /// full-screen program leaves and the shell's screen comes back).
    shown: [HashMap<String, usize>; 2],
    typed: Typed,
    /// Redaction marks, spliced into what was typed.
    marks: crate::redaction::Marks,
    /// Logins nested in the session, from its `login` marks.
    logins: Logins,
    /// A row's text, read into one buffer.
    line: String,
}

impl Hunt {
    fn new(msg: &Message, place: Place) -> Hunt {
        Hunt {
            rec: msg.recording_key(),
            user: msg.user.clone(),
            host: msg.host.clone(),
            unverified: crate::source::unverified_sender(msg),
            start: msg.time.map(|t| t.saturating_sub(msg.pos)),
            screen: if place == Place::Screen {
                Screen::with_scrolled_off(SCROLLBACK)
            } else {
                Screen::new()
            },
            shown: Default::default(),
            typed: Typed::default(),
            marks: crate::redaction::Marks::ending_with(b"\r"),
            logins: Logins::default(),
            line: String::new(),
        }
    }

    /// The matching lines shown now, or scrolled off since the last look,
    /// that were not on the screen then.
    ///
    /// Only matching lines are copied: every other line is read from a
    /// buffer lent by the emulator or reused here.
    fn newly_shown(&mut self, pattern: &Pattern) -> Vec<String> {
        let mut scrolled = Vec::new();
        self.screen.take_scrolled_off(|line| {
            if pattern.matches(line) {
                scrolled.push(line.to_owned());
            }
        });
        let term = self.screen.terminal(None);
        let mut now: HashMap<String, usize> = HashMap::new();
        let mut rows = Vec::new();
        for r in 0..term.rows() {
            term.row_text_into(r, &mut self.line);
            if pattern.matches(&self.line) {
                rows.push(self.line.clone());
            }
        }
        for line in &rows {
            *now.entry(line.clone()).or_default() += 1;
        }
        // A line shown before, and still shown or scrolled off since, is
        // not new: each one shown before accounts for one seen now.
        let screen = usize::from(term.is_alternate_screen());
        let mut before = std::mem::replace(&mut self.shown[screen], now);
        let mut new = Vec::new();
        for line in scrolled.into_iter().chain(rows) {
            match before.get_mut(&line) {
                Some(n) if *n > 0 => *n -= 1,
                _ => new.push(line),
            }
        }
        new
    }
}

/// A line being typed, put together from keys.
#[derive(Debug, Default)]
struct Typed {
    line: Vec<u8>,
    /// Inside an escape sequence (a cursor or function key): 1 after ESC,
    /// 2 inside its parameters.
    escape: u8,
}

impl Typed {
    /// Takes keys; returns the lines that Enter ended.
    fn keys(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        for &b in bytes {
            match (self.escape, b) {
                (1, b'[' | b'O') => self.escape = 2,
                (1, _) => self.escape = 0,
                (2, 0x40..=0x7E) => self.escape = 0,
                (2, _) => {}
                (_, 0x1B) => self.escape = 1,
                (_, b'\r' | b'\n') => {
                    if !self.line.is_empty() {
                        lines.push(String::from_utf8_lossy(&self.line).into_owned());
                        self.line.clear();
                    }
                }
                // Backspace and DEL: one character back (its UTF-8
                // continuation bytes with it).
                (_, 0x08 | 0x7F) => {
                    while let Some(b) = self.line.pop() {
                        if b & 0xC0 != 0x80 {
                            break;
                        }
                    }
                }
                // ^U: the line is dropped.
                (_, 0x15) => self.line.clear(),
                (_, 0x00..=0x1F) => {}
                _ => self.line.push(b),
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: u64, pos: u64, timing: &str, out: &str, inp: &str) -> String {
        format!(
            r#"{{"ver":"2.3","host":"h","rec":"r","user":"u","term":"xterm","session":1,"id":{id},"pos":{pos},"time":{}.000,"timing":"{timing}","in_txt":{},"in_bin":[],"out_txt":{},"out_bin":[]}}"#,
            1_800_000_000 + pos / 1000,
            serde_json::to_string(inp).expect("JSON string"),
            serde_json::to_string(out).expect("JSON string"),
        )
    }

    fn run(log: &str, text: &str, place: Place) -> Vec<(u64, String)> {
        let mut found = Vec::new();
        search(
            log.as_bytes(),
            "test",
            &Filter::default(),
            &Pattern::new(text, false),
            place,
            |f| {
                found.push((f.at, f.line));
                Ok(())
            },
            |_| {},
            |e| panic!("damage: {e}"),
        )
        .expect("search");
        found
    }

    #[test]
    fn a_line_is_found_once_while_it_stays_or_scrolls() {
        // "error one" shown at 0, still shown and scrolled up through the
        // next messages; "error two" at 2 s; then a screen of other lines
        // scrolls both off.
        let filler: String = (0..30).map(|i| format!("line {i}\r\n")).collect();
        let log = [
            message(1, 0, "=20x5>11", "error one\r\n", ""),
            message(2, 1000, ">3", "x\r\n", ""),
            message(3, 2000, ">11", "error two\r\n", ""),
            message(
                4,
                3000,
                &format!(">{}", filler.chars().count()),
                &filler,
                "",
            ),
        ]
        .join("\n");
        assert_eq!(
            run(&log, "error", Place::Screen),
            [(0, "error one".to_owned()), (2000, "error two".to_owned())]
        );
    }

    #[test]
    fn lines_scrolled_off_within_a_message_are_found() {
        let out: String = (0..50).map(|i| format!("row {i}\r\n")).collect();
        let log = message(1, 0, &format!("=20x5>{}", out.chars().count()), &out, "");
        assert_eq!(run(&log, "row 7", Place::Screen), [(0, "row 7".to_owned())]);
        assert_eq!(
            run(&log, "row 48", Place::Screen),
            [(0, "row 48".to_owned())]
        );
    }

    #[test]
    fn a_full_screen_program_shown_inside_one_message_is_found_when_shown() {
        // One message: a full-screen program draws "secret", 700 ms later
        // it is gone; then at 1 s a line.
        let draw = "\x1b[?1049h\x1b[2;2Hsecret";
        let out = format!("{draw}\x1b[?1049lsecret too");
        let timing = format!("=20x5>{}+700>8+300>10", draw.chars().count());
        let log = message(1, 0, &timing, &out, "");
        assert_eq!(
            run(&log, "secret", Place::Screen),
            [(0, " secret".to_owned()), (1000, "secret too".to_owned())]
        );
    }

    #[test]
    fn the_shell_screen_back_from_a_full_screen_program_is_not_new() {
        let log = [
            message(1, 0, "=20x5>9", "error\r\n$ ", ""),
            message(2, 1000, ">8", "\x1b[?1049h", ""),
            message(3, 2000, ">11", "\x1b[Herror vi", ""),
            message(4, 3000, ">8", "\x1b[?1049l", ""),
        ]
        .join("\n");
        assert_eq!(
            run(&log, "error", Place::Screen),
            [(0, "error".to_owned()), (2000, "error vi".to_owned())]
        );
    }

    #[test]
    fn the_same_line_shown_again_later_is_found_again() {
        let log = [
            message(1, 0, "=20x3>6", "ok\r\n\r\n", ""),
            message(2, 1000, ">4", "\x1b[2J", ""),
            message(3, 2000, ">4", "ok\r\n", ""),
        ]
        .join("\n");
        assert_eq!(
            run(&log, "ok", Place::Screen),
            [(0, "ok".to_owned()), (2000, "ok".to_owned())]
        );
    }

    #[test]
    fn typed_lines_are_put_together_from_keys() {
        let log = [
            message(1, 0, "=20x3<3", "", "rm "),
            message(2, 500, "<10", "", "-rf /tmpx\x7f"),
            message(3, 900, "<6+100<1", "", "\x1b[A\x1b[B\r"),
            message(4, 1500, "<4", "", "ls\x15\r"),
        ]
        .join("\n");
        assert_eq!(
            run(&log, "rm -rf", Place::Input),
            [(1000, "rm -rf /tmp".to_owned())]
        );
        assert!(run(&log, "ls", Place::Input).is_empty());
    }

    #[test]
    fn case_is_ignored_when_asked() {
        let p = Pattern::new("ERROR", true);
        assert!(p.matches("an error here"));
        assert!(!Pattern::new("ERROR", false).matches("an error here"));
    }
}
