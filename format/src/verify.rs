//! Checking recordings against their chain and seals (see [`crate::chain`]):
//! one [`Verdict`] per recording, from its lines in the order a source
//! gives them. Bounded memory per recording (the last
//! [`RECENT`] heads, at most [`MAX_RANGES`] missing ranges), one pass.
//!
//! ```
//! use termtape_format::verify::{Verdict, Verifier};
//!
//! // A tlog recording has no chain.
//! let mut v = Verifier::new(None, None);
//! v.line(br#"{"ver":"2.3","rec":"r","id":1,"pos":0}"#, 1);
//! let reports = v.finish();
//! assert!(matches!(reports[0].verdict, Verdict::Unsigned { chained: false, .. }));
//! ```

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

use crate::chain::{self, GENESIS, Head, PublicKey, Seal, Signer, split_line};
use crate::extension;

/// Heads kept per recording, to tell a duplicated message from an
/// inserted one.
pub const RECENT: usize = 1024;
/// Missing id ranges kept per recording (more are counted, not kept).
pub const MAX_RANGES: usize = 64;
/// Checkpoints kept per recording: a seal a minute is a week of them
/// (more are counted in [`Report::seals`], not kept).
pub const MAX_CHECKPOINTS: usize = 10_000;

/// What the check of one recording found: the first problem that explains
/// the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Every message is chained and covered by a seal of the trusted key,
    /// and the last carries the end mark.
    Intact,
    /// Intact as far as it goes, but it ends without an end mark (the
    /// recorder was killed, or the recording is still being made).
    Incomplete {
        /// Messages after the last seal: chained, but not signed.
        unsealed: u64,
    },
    /// A message's content is not what was chained or sealed.
    Edited {
        /// The first message found changed.
        id: u64,
        /// What does not match.
        why: String,
    },
    /// Messages are missing that no rate-limit gap accounts for.
    Missing {
        /// The first missing id.
        from: u64,
        /// The last missing id.
        to: u64,
    },
    /// A message comes after ones that followed it.
    Reordered {
        /// The message out of place.
        id: u64,
    },
    /// A message is there twice.
    Duplicated {
        /// Its id.
        id: u64,
    },
    /// A message is there that the recorder did not write in this place.
    Inserted {
        /// Its id.
        id: u64,
        /// How it shows.
        why: String,
    },
    /// Sealed by a key other than the trusted one.
    OtherKey {
        /// The key that sealed it.
        key: String,
    },
    /// Not signed: no chain at all (tlog's recordings, termtape's from
    /// before chains), or a chain whose recorder had no key.
    Unsigned {
        /// Whether the messages are chained.
        chained: bool,
        /// What the recorder said about its key, if chained.
        reason: Option<String>,
    },
    /// Intact and complete, sealed by this key, but no trusted key was
    /// given to check it against (anyone can sign with a key of their own).
    Untrusted {
        /// The key that sealed it.
        key: String,
    },
    /// A line of it cannot be read.
    Damaged {
        /// The line (or journal entry) number.
        line: u64,
        /// Why.
        error: String,
    },
}

impl Verdict {
    /// Short words, as a listing shows them.
    pub fn short(&self) -> String {
        match self {
            Verdict::Intact => "intact".into(),
            Verdict::Incomplete { unsealed } => format!("no end mark ({unsealed} unsealed)"),
            Verdict::Edited { id, .. } => format!("EDITED at id {id}"),
            Verdict::Missing { from, to } if from == to => format!("MISSING id {from}"),
            Verdict::Missing { from, to } => format!("MISSING ids {from}-{to}"),
            Verdict::Reordered { id } => format!("REORDERED at id {id}"),
            Verdict::Duplicated { id } => format!("DUPLICATED id {id}"),
            Verdict::Inserted { id, .. } => format!("INSERTED at id {id}"),
            Verdict::OtherKey { .. } => "OTHER KEY".into(),
            Verdict::Unsigned { chained: false, .. } => "unsigned".into(),
            Verdict::Unsigned { chained: true, .. } => "chained, unsigned".into(),
            Verdict::Untrusted { .. } => "intact, key not checked".into(),
            Verdict::Damaged { line, .. } => format!("DAMAGED at line {line}"),
        }
    }

    /// A sentence for a person.
    pub fn describe(&self) -> String {
        match self {
            Verdict::Intact => "intact and complete: every message chained and sealed by the trusted key, ending with the end mark".into(),
            Verdict::Incomplete { unsealed } => format!(
                "intact as far as it goes, but ends without an end mark (recorder killed, or still recording): the last {unsealed} messages are after the last seal (chained, not signed)"
            ),
            Verdict::Edited { id, why } => format!("edited: message id {id}: {why}"),
            Verdict::Missing { from, to } => format!("messages missing: ids {from} to {to} (no rate-limit gap accounts for them)"),
            Verdict::Reordered { id } => format!("reordered: message id {id} comes after messages that followed it"),
            Verdict::Duplicated { id } => format!("duplicated: message id {id} is there twice"),
            Verdict::Inserted { id, why } => format!("inserted: message id {id}: {why}"),
            Verdict::OtherKey { key } => format!("signed by another key: {key}"),
            Verdict::Unsigned { chained: false, .. } => "unsigned: no chain (recorded by tlog, or by termtape before chains)".into(),
            Verdict::Unsigned { chained: true, reason } => format!(
                "chained but unsigned: {}",
                reason.as_deref().unwrap_or("no seal names a key")
            ),
            Verdict::Untrusted { key } => format!(
                "intact and complete as sealed by {key}, but no trusted key was given to check it against (--key)"
            ),
            Verdict::Damaged { line, error } => format!("damaged: line {line}: {error}"),
        }
    }

    /// Whether it is [`Verdict::Intact`].
    pub fn is_intact(&self) -> bool {
        matches!(self, Verdict::Intact)
    }
}

/// One recording's verdict and what was counted on the way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The recording's id.
    pub rec: String,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Messages read.
    pub messages: u64,
    /// Seals read.
    pub seals: u64,
    /// How the session ended, as its last `exit` field says.
    pub exit: Option<String>,
    /// The key its seals name (the first one).
    pub key: Option<String>,
    /// The seals that checked out, in order: where a reviewer can see the
    /// recording was vouched for (the first [`MAX_CHECKPOINTS`]).
    pub checkpoints: Vec<Checkpoint>,
}

/// A seal that checked out: its signature verifies and it names the
/// chain's head at its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    /// The sealed message's id.
    pub id: u64,
    /// The sealed message's `pos` (milliseconds into the recording).
    pub pos: u64,
    /// The end mark: the recording's last message.
    pub end: bool,
    /// The seal of a rate-limit gap (dropped output is attested there).
    pub gap: bool,
    /// The chain broke before it (see the verdict): this seal vouches
    /// only for what follows it.
    pub resumes: bool,
}

/// Checks the recordings of a stream of lines; see the module's text.
#[derive(Debug)]
pub struct Verifier {
    trusted: Option<PublicKey>,
    only: Option<String>,
    recs: Vec<Check>,
    index: HashMap<String, usize>,
    /// The recording of the last line read, for damage that names none.
    last: Option<usize>,
}

#[derive(Debug, Default)]
struct Check {
    rec: String,
    messages: u64,
    seals: u64,
    /// Whether the first message had a chain.
    chained: Option<bool>,
    /// `None` after the chain broke, until a good seal gives it back.
    head: Option<Head>,
    next_id: u64,
    /// Ids with the head after them, the latest last.
    recent: VecDeque<(u64, Head)>,
    /// Id ranges not seen (yet).
    missing: Vec<(u64, u64)>,
    /// Out of order, doubled or put in: the first.
    structure: Option<Verdict>,
    /// The chain's first break.
    edited: Option<Verdict>,
    other_key: Option<String>,
    key: Option<PublicKey>,
    unsigned: Option<String>,
    /// Messages since the last good seal.
    unsealed: u64,
    ended: bool,
    exit: Option<String>,
    damaged: Option<Verdict>,
    checkpoints: Vec<Checkpoint>,
}

impl Verifier {
    /// A verifier trusting `trusted` (`None`: seals are checked against
    /// the key they name, and the verdict says no key was trusted), for
    /// the recording `only` or all.
    pub fn new(trusted: Option<PublicKey>, only: Option<String>) -> Verifier {
        Verifier {
            trusted,
            only,
            recs: Vec::new(),
            index: HashMap::new(),
            last: None,
        }
    }

    fn check(&mut self, rec: &str) -> usize {
        if let Some(&i) = self.index.get(rec) {
            return i;
        }
        self.recs.push(Check {
            rec: rec.to_owned(),
            next_id: 1,
            head: Some(GENESIS),
            ..Check::default()
        });
        self.index.insert(rec.to_owned(), self.recs.len() - 1);
        self.recs.len() - 1
    }

    /// Damage at `line` that could not be put down to a recording: it goes
    /// to the recording read last, or to one of its own.
    pub fn damage(&mut self, line: u64, error: String) {
        let i = match self.last {
            Some(i) => i,
            None => self.check(""),
        };
        self.recs[i]
            .damaged
            .get_or_insert(Verdict::Damaged { line, error });
    }

    /// Reads one message line (`line`: its number, for damage).
    pub fn line(&mut self, text: &[u8], line: u64) {
        let split = match split_line(text) {
            Ok(split) => split,
            Err(e) => {
                // Damage belongs to the recording it names, if it names one.
                let rec = extension::find(text, "rec")
                    .ok()
                    .flatten()
                    .and_then(|r| serde_json::from_str::<String>(r).ok());
                if let Some(rec) = rec {
                    if self.only.as_ref().is_some_and(|o| *o != rec) {
                        return;
                    }
                    self.last = Some(self.check(&rec));
                }
                return self.damage(line, e.to_string());
            }
        };
        let rec = split
            .get("rec")
            .and_then(|r| serde_json::from_str::<String>(r).ok());
        let id = split.get("id").and_then(|v| v.parse::<u64>().ok());
        let (Some(rec), Some(id)) = (rec, id) else {
            return self.damage(line, "a message without a rec or id".into());
        };
        if self.only.as_ref().is_some_and(|o| *o != rec) {
            return;
        }
        let i = self.check(&rec);
        self.last = Some(i);
        let trusted = self.trusted;
        self.recs[i].message(split, id, trusted);
    }

    /// The verdicts, one per recording, in the order they were met.
    pub fn finish(self) -> Vec<Report> {
        let trusted = self.trusted;
        self.recs.into_iter().map(|c| c.report(trusted)).collect()
    }
}

impl Check {
    fn message(&mut self, split: chain::Split<'_>, id: u64, trusted: Option<PublicKey>) {
        self.messages += 1;
        let chained = *self.chained.get_or_insert(split.chain.is_some());
        if let Some(exit) = split.get(extension::EXIT) {
            self.exit = Some(match crate::Exit::parse_field(exit) {
                Ok(e) => e.describe(),
                Err(e) => e,
            });
        }
        if !chained {
            return;
        }
        if let Some(sender) = split.unverified {
            self.problem_structure(Verdict::Inserted {
                id,
                why: format!("from a sender the journal does not vouch for: {sender}"),
            });
            return;
        }
        if self.ended {
            self.problem_structure(Verdict::Inserted {
                id,
                why: "after the end mark".into(),
            });
            return;
        }
        let at = Checkpoint {
            id,
            pos: split.get("pos").and_then(|p| p.parse().ok()).unwrap_or(0),
            end: false,
            gap: split.get(extension::GAP).is_some(),
            resumes: false,
        };
        let mut members = split.members;
        if id < self.next_id {
            let verdict = self.out_of_place(id, &mut members);
            self.problem_structure(verdict);
            return;
        }
        if id > self.next_id {
            let dropped = split
                .seal
                .and(members.iter().find(|(n, _)| n == extension::GAP))
                .and_then(|(_, v)| gap_messages(v));
            // A rate limit's gap is sealed and says how many it dropped.
            if dropped != Some(id - self.next_id) {
                if self.missing.len() < MAX_RANGES {
                    self.missing.push((self.next_id, id - 1));
                } else {
                    self.problem_structure(Verdict::Missing {
                        from: self.next_id,
                        to: id - 1,
                    });
                }
            }
        }
        self.next_id = id + 1;
        self.unsealed += 1;
        match (self.head, split.chain) {
            (Some(prev), Some(tag)) => {
                let head = chain::link(&prev, &mut members);
                if chain::tag_field(&head) == tag {
                    self.head = Some(head);
                    if self.recent.len() == RECENT {
                        self.recent.pop_front();
                    }
                    self.recent.push_back((id, head));
                } else {
                    self.head = None;
                    self.problem_edited(id, "its content is not what the chain says".into());
                }
            }
            (Some(_), None) => {
                self.head = None;
                self.problem_edited(id, "its chain field is gone".into());
            }
            (None, _) => {}
        }
        if let Some(raw) = split.seal {
            self.seal(raw, at, trusted);
        }
    }

    /// A message whose id is below the next one expected.
    fn out_of_place(
        &mut self,
        id: u64,
        members: &mut [(std::borrow::Cow<'_, str>, &str)],
    ) -> Verdict {
        if let Some(k) = self.missing.iter().position(|&(a, b)| a <= id && id <= b) {
            let (a, b) = self.missing.remove(k);
            if a < id {
                self.missing.push((a, id - 1));
            }
            if id < b {
                self.missing.push((id + 1, b));
            }
            return Verdict::Reordered { id };
        }
        let before = match id {
            1 => Some(GENESIS),
            _ => self.recent.iter().find(|r| r.0 == id - 1).map(|r| r.1),
        };
        let after = self.recent.iter().find(|r| r.0 == id).map(|r| r.1);
        match (before, after) {
            (Some(before), Some(after)) if chain::link(&before, members) == after => {
                Verdict::Duplicated { id }
            }
            _ => Verdict::Inserted {
                id,
                why: "a second message with this id".into(),
            },
        }
    }

    fn seal(&mut self, raw: &str, at: Checkpoint, trusted: Option<PublicKey>) {
        let id = at.id;
        self.seals += 1;
        let seal = match Seal::parse(raw) {
            Ok(seal) => seal,
            Err(e) => return self.problem_edited(id, e),
        };
        let key = match &seal.signer {
            Signer::Signed { key, .. } => *key,
            Signer::Unsigned(reason) => {
                self.unsigned.get_or_insert_with(|| reason.clone());
                // Not vouched for by anyone: no checkpoint.
                self.sealed(&seal, id);
                return;
            }
        };
        let first = *self.key.get_or_insert(key);
        if trusted.is_some_and(|t| t != key) || first != key {
            self.other_key.get_or_insert_with(|| key.to_string());
            return;
        }
        if !seal.verifies(&key) {
            return self.problem_edited(id, "its seal's signature does not verify".into());
        }
        let resumes = self.head.is_none();
        if resumes {
            // Back on the chain after a break: the seal vouches for it.
            self.head = Some(seal.head);
        }
        if self.sealed(&seal, id) && self.checkpoints.len() < MAX_CHECKPOINTS {
            self.checkpoints.push(Checkpoint {
                end: seal.end,
                resumes,
                ..at
            });
        }
    }

    /// Whether `seal` names the chain's head (else the message is edited).
    fn sealed(&mut self, seal: &Seal, id: u64) -> bool {
        if self.head != Some(seal.head) {
            self.problem_edited(id, "its seal names another chain head".into());
            return false;
        }
        self.unsealed = 0;
        self.ended = seal.end;
        true
    }

    fn problem_structure(&mut self, verdict: Verdict) {
        self.structure.get_or_insert(verdict);
    }

    fn problem_edited(&mut self, id: u64, why: String) {
        self.edited.get_or_insert(Verdict::Edited { id, why });
    }

    fn report(self, trusted: Option<PublicKey>) -> Report {
        let missing = self
            .missing
            .first()
            .map(|&(from, to)| Verdict::Missing { from, to });
        let verdict = if let Some(d) = self.damaged {
            d
        } else if self.chained != Some(true) {
            Verdict::Unsigned {
                chained: false,
                reason: None,
            }
        } else if let Some(v) = self.structure.or(missing).or(self.edited) {
            v
        } else if let Some(key) = self.other_key {
            Verdict::OtherKey { key }
        } else if self.key.is_none() {
            Verdict::Unsigned {
                chained: true,
                reason: self.unsigned,
            }
        } else if !self.ended {
            Verdict::Incomplete {
                unsealed: self.unsealed,
            }
        } else if trusted.is_none() {
            Verdict::Untrusted {
                key: self.key.map(|k| k.to_string()).unwrap_or_default(),
            }
        } else {
            Verdict::Intact
        };
        Report {
            rec: self.rec,
            verdict,
            messages: self.messages,
            seals: self.seals,
            exit: self.exit,
            key: self.key.map(|k| k.to_string()),
            checkpoints: self.checkpoints,
        }
    }
}

/// The number of messages a gap mark says were dropped.
fn gap_messages(raw: &str) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Gap {
        messages: u64,
    }
    serde_json::from_str::<Gap>(raw).ok().map(|g| g.messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{Cadence, Chainer, SecretKey, with_links};
    use crate::extension::{Extended, Field};
    use crate::{Encoded, Exit};

    fn key(n: u8) -> SecretKey {
        SecretKey::from_seed([n; 32])
    }

    /// A recording of `n` messages, sealed every 4 and at the end, as lines.
    fn recording(n: u64, signer: Result<SecretKey, String>) -> Vec<Vec<u8>> {
        let mut chainer = Chainer::new(signer, Cadence { ms: 0, messages: 4 });
        (1..=n)
            .map(|id| {
                let json = format!(
                    "{{\"ver\":\"2.3\",\"rec\":\"r\",\"id\":{id},\"pos\":{},\"timing\":\">6\",\"out_txt\":\"line {id}\"}}\n",
                    id * 10
                );
                let exit = Exit::Code(0).field();
                let fields = match id == n {
                    true => vec![Field::new(extension::EXIT, &exit)],
                    false => vec![],
                };
                let m = Extended {
                    message: Encoded {
                        id,
                        pos: id * 10,
                        time: 0,
                        json: json.as_bytes(),
                        input_end: 0,
                        output_end: 0,
                    },
                    fields: &fields,
                };
                let links = chainer.link(&m, id == n).expect("valid");
                let all = with_links(&fields, &links);
                let mut buf = Vec::new();
                Extended {
                    message: m.message,
                    fields: &all,
                }
                .file_form(&mut buf)
                .expect("an object")
                .to_vec()
            })
            .collect()
    }

    fn verdict(lines: &[Vec<u8>], trusted: Option<PublicKey>) -> Verdict {
        let mut v = Verifier::new(trusted, None);
        for (i, line) in lines.iter().enumerate() {
            v.line(line.trim_ascii_end(), i as u64 + 1);
        }
        let mut reports = v.finish();
        assert_eq!(reports.len(), 1);
        reports.remove(0).verdict
    }

    #[test]
    fn the_seals_that_check_out_are_checkpoints() {
        let lines = recording(10, Ok(key(1)));
        let report = |lines: &[Vec<u8>]| {
            let mut v = Verifier::new(Some(key(1).public()), None);
            for (i, line) in lines.iter().enumerate() {
                v.line(line.trim_ascii_end(), i as u64 + 1);
            }
            v.finish().remove(0)
        };
        let at = |r: &Report| -> Vec<(u64, u64, bool, bool)> {
            let c = r.checkpoints.iter();
            c.map(|c| (c.id, c.pos, c.end, c.resumes)).collect()
        };
        // Seals: 1, 5, 9 and 10 (the end); `pos` is ten times the id here.
        let whole = report(&lines);
        assert_eq!(
            at(&whole),
            [
                (1, 10, false, false),
                (5, 50, false, false),
                (9, 90, false, false),
                (10, 100, true, false)
            ]
        );
        // A message edited before the seal at 9: that seal vouches only
        // for what follows it.
        let mut edited = lines.clone();
        edited[6] = edit(&edited[6], "line 7", "line 8");
        let edited = report(&edited);
        assert!(matches!(edited.verdict, Verdict::Edited { id: 7, .. }));
        assert_eq!(
            at(&edited),
            [
                (1, 10, false, false),
                (5, 50, false, false),
                (9, 90, false, true),
                (10, 100, true, false)
            ]
        );
        let unsigned = report(&recording(3, Err("no key".into())));
        assert!(unsigned.checkpoints.is_empty());
    }

    fn edit(line: &[u8], from: &str, to: &str) -> Vec<u8> {
        let text = String::from_utf8(line.to_vec()).expect("utf-8");
        assert!(text.contains(from), "{text}");
        text.replacen(from, to, 1).into_bytes()
    }

    #[test]
    fn every_kind_of_tampering_has_its_verdict() {
        let k = Some(key(1).public());
        let lines = recording(10, Ok(key(1)));
        assert_eq!(verdict(&lines, k), Verdict::Intact);
        assert!(matches!(verdict(&lines, None), Verdict::Untrusted { .. }));
        let mut edited = lines.clone();
        edited[4] = edit(&edited[4], "line 5", "line 6");
        assert!(matches!(verdict(&edited, k), Verdict::Edited { id: 5, .. }));
        let mut missing = lines.clone();
        missing.remove(5);
        assert_eq!(verdict(&missing, k), Verdict::Missing { from: 6, to: 6 });
        let mut swapped = lines.clone();
        swapped.swap(5, 6);
        assert_eq!(verdict(&swapped, k), Verdict::Reordered { id: 6 });
        let mut doubled = lines.clone();
        doubled.insert(3, lines[2].clone());
        assert_eq!(verdict(&doubled, k), Verdict::Duplicated { id: 3 });
        let mut put_in = lines.clone();
        put_in.insert(3, edit(&lines[2], "line 3", "line X"));
        assert!(matches!(
            verdict(&put_in, k),
            Verdict::Inserted { id: 3, .. }
        ));
        // Cut after a seal (message 8), and after an unsealed message.
        // Seals: 1, 5, 9 and 10 (the end).
        assert_eq!(verdict(&lines[..9], k), Verdict::Incomplete { unsealed: 0 });
        assert_eq!(verdict(&lines[..7], k), Verdict::Incomplete { unsealed: 2 });
        let other = recording(10, Ok(key(2)));
        assert!(matches!(verdict(&other, k), Verdict::OtherKey { .. }));
        let unsigned = recording(3, Err("no key".into()));
        assert_eq!(
            verdict(&unsigned, k),
            Verdict::Unsigned {
                chained: true,
                reason: Some("no key".into())
            }
        );
        let tlog = [b"{\"rec\":\"r\",\"id\":1}".to_vec()];
        assert!(matches!(
            verdict(&tlog, k),
            Verdict::Unsigned { chained: false, .. }
        ));
        let mut cut = lines.clone();
        cut[9].truncate(40);
        assert!(matches!(
            verdict(&cut, k),
            Verdict::Damaged { line: 10, .. }
        ));
        // The end mark cannot be moved to an earlier seal.
        let mut early = lines[..9].to_vec();
        early[8] = edit(&early[8], "\"v\":1,", "\"v\":1,\"end\":true,");
        assert!(matches!(verdict(&early, k), Verdict::Edited { id: 9, .. }));
    }

    #[test]
    fn a_rate_limit_gap_is_not_missing_messages() {
        let mut chainer = Chainer::new(Ok(key(1)), Cadence::default());
        let mut lines = Vec::new();
        for (id, gap) in [(1u64, None), (4, Some(r#"{"messages":2,"bytes":9}"#))] {
            let json = format!("{{\"rec\":\"r\",\"id\":{id}}}\n");
            let fields: Vec<Field<'_>> = gap
                .map(|g| Field::new(extension::GAP, g))
                .into_iter()
                .collect();
            let m = Extended {
                message: Encoded {
                    id,
                    pos: 0,
                    time: 0,
                    json: json.as_bytes(),
                    input_end: 0,
                    output_end: 0,
                },
                fields: &fields,
            };
            let links = chainer.link(&m, id == 4).expect("valid");
            let all = with_links(&fields, &links);
            let mut buf = Vec::new();
            lines.push(
                Extended {
                    message: m.message,
                    fields: &all,
                }
                .file_form(&mut buf)
                .expect("object")
                .to_vec(),
            );
        }
        assert_eq!(verdict(&lines, Some(key(1).public())), Verdict::Intact);
        let forged = vec![
            lines[0].clone(),
            edit(&lines[1], "\"messages\":2", "\"messages\":3"),
        ];
        assert!(!verdict(&forged, Some(key(1).public())).is_intact());
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::tests_support::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Any single byte of a chained recording changed (but the last
        /// newline, after which there is nothing to change) is found.
        #[test]
        fn any_single_byte_edit_is_detected(at in any::<prop::sample::Index>(), to in any::<u8>()) {
            let text = signed_text();
            let at = at.index(text.len() - 1);
            prop_assume!(text[at] != to);
            let mut edited = text.clone();
            edited[at] = to;
            let v = verdict_of(&edited);
            prop_assert!(!v.is_intact(), "byte {} to {:?}: {:?}", at, to as char, v);
        }
    }
}

#[cfg(test)]
mod tests_support {
    use super::*;
    use crate::chain::{Cadence, Chainer, SecretKey, with_links};
    use crate::extension::{Extended, Field};
    use crate::{Encoded, Exit};

    /// A small signed recording: a keyframe, a window, escapes, an exit.
    pub fn signed_text() -> Vec<u8> {
        let mut chainer = Chainer::new(
            Ok(SecretKey::from_seed([1; 32])),
            Cadence { ms: 0, messages: 2 },
        );
        let mut out = Vec::new();
        for id in 1..=3u64 {
            let json = format!(
                "{{\"ver\":\"2.3\",\"rec\":\"r\",\"id\":{id},\"pos\":{},\"time\":1.5,\"timing\":\"=80x24+1>7\",\"in_txt\":\"\",\"in_bin\":[],\"out_txt\":\"\\u001b[1m{id}\\r\\n\",\"out_bin\":[255]}}\n",
                id * 7
            );
            let exit = Exit::Signal(9).field();
            let mut fields = vec![Field::new(extension::KEYFRAME, r#"{"v":1,"s":"\u001b[H"}"#)];
            if id == 3 {
                fields.push(Field::new(extension::EXIT, &exit));
            }
            let m = Extended {
                message: Encoded {
                    id,
                    pos: id * 7,
                    time: 0,
                    json: json.as_bytes(),
                    input_end: 0,
                    output_end: 0,
                },
                fields: &fields,
            };
            let links = chainer.link(&m, id == 3).expect("valid");
            let all = with_links(&fields, &links);
            let mut buf = Vec::new();
            out.extend_from_slice(
                Extended {
                    message: m.message,
                    fields: &all,
                }
                .file_form(&mut buf)
                .expect("object"),
            );
        }
        out
    }

    /// The verdict of the text's one recording, or the first one's; a
    /// text whose lines give no recording at all is damage.
    pub fn verdict_of(text: &[u8]) -> Verdict {
        let mut v = Verifier::new(Some(SecretKey::from_seed([1; 32]).public()), None);
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            if !line.is_empty() {
                v.line(line, i as u64 + 1);
            }
        }
        let reports = v.finish();
        // An edit of `rec` makes two recordings: both must say so.
        match reports.iter().find(|r| !r.verdict.is_intact()) {
            Some(r) => r.verdict.clone(),
            None => reports.first().map_or(
                Verdict::Damaged {
                    line: 0,
                    error: "nothing".into(),
                },
                |r| r.verdict.clone(),
            ),
        }
    }
}
