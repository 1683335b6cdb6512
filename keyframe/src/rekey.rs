//! Adding keyframes to an existing recording.

use std::collections::HashMap;

use termtape_format::extension::{self, Field};
use termtape_format::{Location, Message, Packet, Stream, Timed};

use crate::cadence::{Cadence, MAX_SCREEN_CELLS, Schedule};
use crate::frame::{FIELD, Keyframe};
use crate::screen::Screen;

/// Adds keyframes to the messages of a stream, one line at a time, by the
/// same [`Schedule`] the recorder follows. Each recording in the stream
/// (told apart by [`Message::recording_key`]) has its own screen and
/// schedule, so interleaved recordings work.
///
/// A line gains a `kf` field before its closing brace and is otherwise left
/// byte for byte; a line that already has one is left as it is (and counts
/// as a keyframe); a line that does not parse or decode is left as it is,
/// and reported.
#[derive(Debug, Default)]
pub struct Rekeyer {
    cadence: Cadence,
    recordings: HashMap<String, State>,
    packets: Vec<Timed>,
    kf: Vec<u8>,
}

#[derive(Debug)]
struct State {
    screen: Screen,
    schedule: Schedule,
    output: u64,
}

impl Rekeyer {
    /// A rekeyer following `cadence`.
    pub fn new(cadence: Cadence) -> Rekeyer {
        Rekeyer {
            cadence,
            ..Rekeyer::default()
        }
    }

    /// Appends `line` (one message, without its newline) to `out`, with a
    /// keyframe if one is due, and a newline. `at` locates the line in
    /// errors. Returns whether a keyframe was added; on an error the line
    /// has been appended unchanged.
    pub fn line(
        &mut self,
        line: &str,
        at: &Location,
        out: &mut Vec<u8>,
    ) -> Result<bool, termtape_format::Error> {
        let result = self.keyframe_for(line, at);
        // (The keyframe is ASCII JSON, and `write_file_form` writes nothing
        // unless it succeeds.)
        let spliced = matches!(result, Ok(true))
            && std::str::from_utf8(&self.kf).is_ok_and(|kf| {
                let fields = [Field::new(FIELD, kf)];
                extension::write_file_form(out, line.as_bytes(), &[], &fields).is_ok()
            });
        if !spliced {
            out.extend_from_slice(line.as_bytes());
        }
        out.push(b'\n');
        result
    }

    /// Leaves the keyframe due for `line`'s message, if any, in `self.kf`,
    /// and applies the message to its recording's screen.
    fn keyframe_for(&mut self, line: &str, at: &Location) -> Result<bool, termtape_format::Error> {
        let msg = Message::parse(line, at)?;
        self.packets.clear();
        let packets = &mut self.packets;
        msg.decode(at, |t| packets.push(t))?;
        let cadence = self.cadence;
        let state = self
            .recordings
            .entry(msg.recording_key())
            .or_insert_with(|| State {
                screen: Screen::new(),
                schedule: Schedule::new(cadence),
                output: 0,
            });
        let added = if msg.extra(FIELD).is_some() {
            state.schedule.found(msg.pos, state.output);
            false
        } else if state.schedule.due(msg.pos, state.output) {
            let upcoming = match self.packets.first() {
                Some(Timed {
                    packet: Packet::Window { cols, rows },
                    ..
                }) => Some((*cols, *rows)),
                _ => None,
            };
            let term = state.screen.terminal(upcoming);
            // A screen larger than the recorder records (an old recording
            // of a huge window) is left to replay: its keyframes could be
            // longer than a reader takes.
            if u32::from(term.cols()) * u32::from(term.rows()) > MAX_SCREEN_CELLS {
                false
            } else {
                self.kf.clear();
                Keyframe::capture(&term).write_json(&mut self.kf);
                state.schedule.offer(msg.pos, state.output, self.kf.len())
            }
        } else {
            false
        };
        for t in &self.packets {
            if let Packet::Io {
                stream: Stream::Output,
                bytes,
            } = &t.packet
            {
                state.output += bytes.len() as u64;
            }
            if state.screen.apply(&t.packet) {
                state.schedule.resized();
            }
        }
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use termtape_format::{Encoded, Encoder, Header};

    fn header(rec: &str) -> Header {
        Header {
            host: "h".into(),
            rec: rec.into(),
            user: "u".into(),
            term: "xterm".into(),
            session: 1,
        }
    }

    fn lines(rec: &str, chunks: &[(u64, &[u8])]) -> Vec<String> {
        let mut enc = Encoder::new(&header(rec), 100, Duration::ZERO).expect("encoder");
        let mut out = Vec::new();
        let mut emit = |m: Encoded<'_>| -> Result<(), ()> {
            out.push(String::from_utf8_lossy(m.json).trim_end().to_owned());
            Ok(())
        };
        enc.window(Duration::ZERO, 20, 4, &mut emit).expect("ok");
        for (ms, bytes) in chunks {
            if bytes.is_empty() {
                enc.window(Duration::from_millis(*ms), 30, 5, &mut emit)
                    .expect("ok");
            } else {
                enc.io(Duration::from_millis(*ms), Stream::Output, bytes, &mut emit)
                    .expect("ok");
            }
        }
        enc.cut(&mut emit).expect("ok");
        enc.flush(&mut emit).expect("ok");
        out
    }

    #[test]
    fn keyframes_hold_the_state_before_their_message() {
        let text: Vec<u8> = (0..40)
            .flat_map(|i| format!("line {i}\r\n").into_bytes())
            .collect();
        let input = lines(
            "a",
            &[
                (0, &text),
                (10, b""),
                (20, b"\x1b[?1049h\x1b[2Jalt"),
                (30, &text),
            ],
        );
        let mut rekeyer = Rekeyer::new(Cadence {
            bytes: 300,
            interval: Duration::ZERO,
        });
        let mut out = Vec::new();
        let mut added = 0;
        for (i, line) in input.iter().enumerate() {
            let at = Location {
                source: None,
                line: i as u64 + 1,
                id: None,
            };
            added += usize::from(rekeyer.line(line, &at, &mut out).expect("valid"));
        }
        let out = String::from_utf8(out).expect("UTF-8");
        let msgs: Vec<Message> = out
            .lines()
            .map(|l| Message::parse(l, &Location::default()).expect("valid"))
            .collect();
        assert_eq!(msgs.len(), input.len());
        assert!(added >= 3, "{added} keyframes in {} messages", msgs.len());
        // Everything but the keyframes is unchanged.
        for (line, msg) in input.iter().zip(&msgs) {
            let mut plain = msg.clone();
            plain.extra.clear();
            assert_eq!(plain.to_json().trim_end(), line);
        }
        // Each keyframe equals the replay of the messages before it.
        let mut replay = Screen::new();
        for msg in &msgs {
            if let Some(kf) = msg.extra(FIELD) {
                let kf = Keyframe::parse(kf.get(), &Location::default()).expect("keyframe");
                let first = first_window(msg);
                assert_eq!(kf.restore(), *replay.terminal(first), "message {}", msg.id);
            }
            msg.decode(&Location::default(), |t| {
                replay.apply(&t.packet);
            })
            .expect("decodes");
        }
        // And running the output through again adds nothing.
        let mut again = Vec::new();
        let mut rekeyer = Rekeyer::new(Cadence {
            bytes: 300,
            interval: Duration::ZERO,
        });
        for line in out.lines() {
            let added = rekeyer
                .line(line, &Location::default(), &mut again)
                .expect("valid");
            assert!(!added, "{line}");
        }
        assert_eq!(String::from_utf8(again).expect("UTF-8"), out);
    }

    /// The size a message's first packet sets, if it is a window packet.
    fn first_window(msg: &Message) -> Option<(u16, u16)> {
        let mut first = None;
        let mut seen = false;
        msg.decode(&Location::default(), |t| {
            if !seen {
                seen = true;
                if let Packet::Window { cols, rows } = t.packet {
                    first = Some((cols, rows));
                }
            }
        })
        .expect("decodes");
        first
    }

    #[test]
    fn screens_larger_than_the_recorder_records_get_no_keyframes() {
        let mut enc = Encoder::new(&header("big"), 100, Duration::ZERO).expect("encoder");
        let mut input = Vec::new();
        let mut emit = |m: Encoded<'_>| -> Result<(), ()> {
            input.push(String::from_utf8_lossy(m.json).trim_end().to_owned());
            Ok(())
        };
        enc.window(Duration::ZERO, 1024, 1024, &mut emit)
            .expect("ok");
        enc.io(Duration::ZERO, Stream::Output, &[b'x'; 2000], &mut emit)
            .expect("ok");
        enc.window(Duration::from_millis(5), 80, 24, &mut emit)
            .expect("ok");
        enc.io(
            Duration::from_millis(5),
            Stream::Output,
            &[b'y'; 2000],
            &mut emit,
        )
        .expect("ok");
        enc.cut(&mut emit).expect("ok");
        enc.flush(&mut emit).expect("ok");
        let mut rekeyer = Rekeyer::new(Cadence {
            bytes: 100,
            interval: Duration::ZERO,
        });
        let mut out = Vec::new();
        let added: Vec<bool> = input
            .iter()
            .map(|l| {
                rekeyer
                    .line(l, &Location::default(), &mut out)
                    .expect("valid")
            })
            .collect();
        // None while the screen is 1024x1024; some once it is 80x24.
        let big = input.iter().take_while(|l| !l.contains("=80x24")).count();
        assert!(big > 1 && big < input.len(), "{input:?}");
        assert!(added[..big].iter().all(|a| !a), "{added:?}");
        assert!(added[big..].iter().any(|&a| a), "{added:?}");
    }

    #[test]
    fn damaged_lines_pass_unchanged() {
        let mut rekeyer = Rekeyer::new(Cadence::default());
        let mut out = Vec::new();
        let at = Location {
            source: Some("in.log".into()),
            line: 4,
            id: None,
        };
        let e = rekeyer.line("{\"ver\":", &at, &mut out).unwrap_err();
        assert!(e.to_string().starts_with("in.log:line 4"), "{e}");
        assert_eq!(out, b"{\"ver\":\n");
    }
}
