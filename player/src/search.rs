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

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::sync::mpsc;

use termtape_format::{Error, Location, Logins, Message, Packet, Reader, Stream};
use termtape_keyframe::Screen;

use crate::source::Filter;

/// The version of the JSON objects of `search --json` (their `"v"`):
/// raised when a field changes meaning or goes away; new fields may come
/// without it.
pub const JSON_VERSION: u64 = 1;

/// Lines a terminal keeps of what scrolls off within one packet: far more
/// than a packet's output can make.
pub(crate) const SCROLLBACK: usize = 10_000;

/// What to look for.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The text (lower-cased when case is ignored), its searcher built
    /// once: most lines looked at are short, and building one per line
    /// cost more than the search.
    finder: memchr::memmem::Finder<'static>,
    ignore_case: bool,
}

impl Pattern {
    /// A plain text, matched anywhere in a line; without regard to case if
    /// `ignore_case`.
    pub fn new(text: &str, ignore_case: bool) -> Pattern {
        let text = if ignore_case {
            text.to_lowercase()
        } else {
            text.to_owned()
        };
        Pattern {
            finder: memchr::memmem::Finder::new(text.as_bytes()).into_owned(),
            ignore_case,
        }
    }

    /// Whether `line` holds the text.
    pub fn matches(&self, line: &str) -> bool {
        if self.ignore_case {
            self.finder.find(line.to_lowercase().as_bytes()).is_some()
        } else {
            self.finder.find(line.as_bytes()).is_some()
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
///
/// Recordings are searched on every core the process may use (see
/// [`search_in_threads`]); what the callbacks get, and in what order, is
/// the same as on one.
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
    on_found: impl FnMut(Found) -> std::io::Result<()>,
    on_gap: impl FnMut(&crate::gap::Gap),
    on_damage: impl FnMut(&Error),
) -> Result<(), crate::recording::ReadError> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    search_in_threads(
        threads, input, source, filter, pattern, place, on_found, on_gap, on_damage,
    )
}

/// Messages handed to the workers and not yet reported, per worker: what
/// a search holds at once whatever the number of recordings (a slow
/// recording holds the reports of the others back until its own are made).
/// (Tests read ahead only a little, so that the wait for reports is taken
/// often.)
const IN_FLIGHT: usize = if cfg!(test) { 2 } else { 128 };

/// [`search`] with `threads` threads searching (1: all in the calling
/// thread).
///
/// The calling thread reads the messages and makes every report; each
/// recording is searched by one worker (the recordings are shared out in
/// turn as they first appear), and its reports go back numbered by message,
/// so they are made in the order one thread makes them. At most
/// 128 messages a worker are read ahead of the reports.
#[allow(
    clippy::too_many_arguments,
    reason = "what to search, where, and three reports"
)]
pub fn search_in_threads(
    threads: usize,
    input: impl BufRead,
    source: &str,
    filter: &Filter,
    pattern: &Pattern,
    place: Place,
    on_found: impl FnMut(Found) -> std::io::Result<()>,
    on_gap: impl FnMut(&crate::gap::Gap),
    on_damage: impl FnMut(&Error),
) -> Result<(), crate::recording::ReadError> {
    let mut reports = Reports {
        next: 0,
        ready: BTreeMap::new(),
        on_found,
        on_gap,
        on_damage,
    };
    if threads <= 1 {
        let mut hunts = Hunts::default();
        return read(input, source, filter, |job| {
            let seq = job.seq;
            let events = hunts.message(job, pattern, place);
            reports.ready.insert(seq, events);
            reports.make()
        });
    }
    std::thread::scope(|scope| {
        let (done_tx, done_rx) = mpsc::channel::<(u64, Vec<Event>)>();
        let (workers, handles): (Vec<mpsc::Sender<Job>>, Vec<_>) = (0..threads)
            .map(|_| {
                let (tx, rx) = mpsc::channel::<Job>();
                let done = done_tx.clone();
                let handle = scope.spawn(move || {
                    let mut hunts = Hunts::default();
                    for job in rx {
                        let seq = job.seq;
                        let events = hunts.message(job, pattern, place);
                        if done.send((seq, events)).is_err() {
                            break;
                        }
                    }
                });
                (tx, handle)
            })
            .unzip();
        drop(done_tx);
        // Recording → its worker, given in turn as recordings appear.
        let mut owner: HashMap<String, usize> = HashMap::new();
        let mut sent = 0u64;
        let result = read(input, source, filter, |job| {
            let seq = job.seq;
            match job.work {
                Work::Done(events) => {
                    reports.ready.insert(seq, events);
                }
                Work::Message { .. } => {
                    let n = owner.len();
                    let key = job.key.clone();
                    let worker = *owner.entry(key).or_insert(n % threads);
                    // A worker ends only when its sender is dropped.
                    let _ = workers[worker].send(job);
                    sent = seq + 1;
                }
            }
            // Take what is done; wait while too much is read ahead.
            loop {
                while let Ok((seq, events)) = done_rx.try_recv() {
                    reports.ready.insert(seq, events);
                }
                reports.make()?;
                if sent.saturating_sub(reports.next) <= (IN_FLIGHT * threads) as u64 {
                    break;
                }
                match done_rx.recv_timeout(std::time::Duration::from_millis(100)) {
                    Ok((seq, events)) => {
                        reports.ready.insert(seq, events);
                    }
                    // A worker that ended early panicked: the scope's end
                    // passes its panic on; the report it owed never comes.
                    Err(_) if handles.iter().any(|h| h.is_finished()) => {
                        return Err(crate::recording::ReadError::Output(std::io::Error::other(
                            "a search thread failed",
                        )));
                    }
                    Err(_) => {}
                }
            }
            Ok(())
        });
        // What the workers still hold is reported before the end (or
        // before a read error), as one thread would have.
        drop(workers);
        if !matches!(result, Err(crate::recording::ReadError::Output(_))) {
            for (seq, events) in done_rx {
                reports.ready.insert(seq, events);
                reports.make()?;
            }
        }
        result
    })
}

/// Reads the messages of `input` that `filter` lets through, numbering
/// what each gives to report (damage, a gap, a message to search) in
/// order, and hands each to `each`.
fn read(
    input: impl BufRead,
    source: &str,
    filter: &Filter,
    mut each: impl FnMut(Job) -> Result<(), crate::recording::ReadError>,
) -> Result<(), crate::recording::ReadError> {
    let mut reader = Reader::new(input, Some(source.to_owned()), true);
    let mut sessions = crate::source::Sessions::default();
    let mut seq = 0u64;
    while let Some(item) = reader.next() {
        let msg = match item {
            Ok(msg) => msg,
            Err(e) if e.is_io() => return Err(e.into()),
            Err(e) => {
                seq += 1;
                each(Job {
                    seq: seq - 1,
                    key: String::new(),
                    work: Work::Done(vec![Event::Damage(e)]),
                })?;
                continue;
            }
        };
        let in_session = sessions.accepts(filter, &msg);
        if !in_session || !filter.accepts_in_any(&msg) {
            continue;
        }
        let gap = crate::gap::Gap::of(&msg);
        let at = Location {
            source: Some(source.to_owned()),
            line: reader.line(),
            id: Some(msg.id),
        };
        seq += 1;
        each(Job {
            seq: seq - 1,
            key: msg.recording_key(),
            work: Work::Message {
                msg: Box::new(msg),
                at,
                gap,
            },
        })?;
    }
    Ok(())
}

/// Something read, numbered in reading order.
struct Job {
    seq: u64,
    /// The recording of a message.
    key: String,
    work: Work,
}

/// What a [`Job`] is.
enum Work {
    /// A message to search (after the gap before it, if any).
    Message {
        msg: Box<Message>,
        at: Location,
        gap: Option<crate::gap::Gap>,
    },
    /// Reports made already (damage that stopped a message being read).
    Done(Vec<Event>),
}

/// A report, made by the thread that reads.
enum Event {
    Found(Found),
    Gap(crate::gap::Gap),
    Damage(Error),
    /// A recording's input was logged without redaction (warned once).
    Unredacted(String),
    /// The search ends with this error.
    Fail(std::io::Error),
}

/// The reports of the jobs done, made in the order of the jobs.
struct Reports<F, G, D> {
    /// The next job to report.
    next: u64,
    /// Jobs done, waiting for those before them.
    ready: BTreeMap<u64, Vec<Event>>,
    on_found: F,
    on_gap: G,
    on_damage: D,
}

impl<F, G, D> Reports<F, G, D>
where
    F: FnMut(Found) -> std::io::Result<()>,
    G: FnMut(&crate::gap::Gap),
    D: FnMut(&Error),
{
    /// Reports every job done whose turn it is.
    fn make(&mut self) -> Result<(), crate::recording::ReadError> {
        while let Some(events) = self.ready.remove(&self.next) {
            self.next += 1;
            for event in events {
                match event {
                    Event::Found(found) => {
                        (self.on_found)(found).map_err(crate::recording::ReadError::Output)?
                    }
                    Event::Gap(gap) => (self.on_gap)(&gap),
                    Event::Damage(e) => (self.on_damage)(&e),
                    Event::Unredacted(rec) => crate::redaction::warn_unredacted(&rec),
                    Event::Fail(e) => return Err(crate::recording::ReadError::Output(e)),
                }
            }
        }
        Ok(())
    }
}

/// The recordings one thread searches.
#[derive(Default)]
struct Hunts {
    hunts: HashMap<String, Hunt>,
}

impl Hunts {
    /// Searches a job's message: its reports, in order.
    fn message(&mut self, job: Job, pattern: &Pattern, place: Place) -> Vec<Event> {
        let (msg, at, gap) = match job.work {
            Work::Message { msg, at, gap } => (msg, at, gap),
            Work::Done(events) => return events,
        };
        let mut events: Vec<Event> = gap.into_iter().map(Event::Gap).collect();
        let mut packets = Vec::new();
        if let Err(e) = msg.decode(&at, |t| packets.push(t)) {
            events.push(Event::Damage(e));
            return events;
        }
        let hunt = self
            .hunts
            .entry(job.key)
            .or_insert_with(|| Hunt::new(&msg, place));
        match msg.logins(&at) {
            Ok(events_) => hunt.logins.add(events_),
            Err(e) => events.push(Event::Damage(e)),
        }
        let mut found = Vec::new();
        // Redaction marks are typed lines of their own.
        let mut keys = Vec::new();
        if place == Place::Input {
            if msg.unredacted_input() && !hunt.warned {
                hunt.warned = true;
                events.push(Event::Unredacted(msg.recording_key()));
            }
            match hunt.marks.message(&msg, &at, &mut keys) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => events.push(Event::Damage(e)),
                Err(e) => {
                    events.push(Event::Fail(e));
                    return events;
                }
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
                    let existed = !hunt.screen.is_empty();
                    let resized = hunt.screen.apply(&t.packet);
                    // A size restated (as messages do) changes nothing:
                    // nothing new to look at.
                    if existed && !resized && matches!(t.packet, Packet::Window { .. }) {
                        continue;
                    }
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
                    if let Err(e) = hunt.marks.input(bytes, &mut keys) {
                        events.push(Event::Fail(e));
                        return events;
                    }
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
        if let Err(e) = hunt.marks.finish(&mut keys) {
            events.push(Event::Fail(e));
            return events;
        }
        for line in hunt.typed.keys(&keys) {
            if pattern.matches(&line) {
                found.push((last, line));
            }
        }
        events.extend(found.into_iter().map(|(at, line)| {
            Event::Found(Found {
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
        }));
        events
    }
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
    /// Whether the input logged without redaction was warned of.
    warned: bool,
    /// Logins nested in the session, from its `login` marks.
    logins: Logins,
    /// The rows read at a look.
    rows: RowsBuf,
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
            marks: crate::redaction::Marks::ending_with(b"\r").without_warning(),
            warned: false,
            logins: Logins::default(),
            rows: RowsBuf::default(),
        }
    }

    /// The matching lines shown now, or scrolled off since the last look,
    /// that were not on the screen then.
    fn newly_shown(&mut self, pattern: &Pattern) -> Vec<String> {
        newly_shown(&mut self.screen, &mut self.shown, &mut self.rows, pattern)
    }
}

/// The matching lines shown on `screen` now, or scrolled off since the
/// last look, that were not on it then (`shown`: the lines at the last
/// look, on the primary and the alternate screen; `buf`: buffers reused
/// from one look to the next).
///
/// Only matching lines are copied: every other line is read from a
/// buffer lent by the emulator or reused here, and searched with many
/// others at once.
pub(crate) fn newly_shown(
    screen: &mut Screen,
    shown: &mut [HashMap<String, usize>; 2],
    buf: &mut RowsBuf,
    pattern: &Pattern,
) -> Vec<String> {
    let mut scrolled = Vec::new();
    let mut take = |l: &str| scrolled.push(l.to_owned());
    match pattern.ignore_case {
        // Lower-casing may change lengths: each line is looked at alone.
        true => screen.take_scrolled_off(|l| {
            if pattern.matches(l) {
                take(l);
            }
        }),
        // Many lines at once, with one search.
        false => {
            screen.take_scrolled_off_matching(|text| pattern.finder.find(text.as_bytes()), take)
        }
    }
    let mut now: HashMap<String, usize> = HashMap::new();
    let mut rows = Vec::new();
    let mut take = |l: &str| rows.push(l.to_owned());
    match pattern.ignore_case {
        true => screen.rows_matching(
            &mut buf.text,
            &mut buf.ends,
            |_| Some(0),
            |l| {
                if pattern.matches(l) {
                    take(l);
                }
            },
        ),
        false => screen.rows_matching(
            &mut buf.text,
            &mut buf.ends,
            |text| pattern.finder.find(text.as_bytes()),
            take,
        ),
    }
    for l in &rows {
        *now.entry(l.clone()).or_default() += 1;
    }
    // A line shown before, and still shown or scrolled off since, is
    // not new: each one shown before accounts for one seen now.
    let alternate = usize::from(screen.terminal(None).is_alternate_screen());
    let mut before = std::mem::replace(&mut shown[alternate], now);
    let mut new = Vec::new();
    for l in scrolled.into_iter().chain(rows) {
        match before.get_mut(&l) {
            Some(n) if *n > 0 => *n -= 1,
            _ => new.push(l),
        }
    }
    new
}

/// The screen's rows read at a look, kept to be reused at the next.
#[derive(Debug, Default)]
pub(crate) struct RowsBuf {
    /// The rows' text, one after the other.
    text: String,
    /// Where each row ends in `text`.
    ends: Vec<usize>,
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
        message_of("r", id, pos, timing, out, inp, "")
    }

    fn message_of(
        rec: &str,
        id: u64,
        pos: u64,
        timing: &str,
        out: &str,
        inp: &str,
        extra: &str,
    ) -> String {
        format!(
            r#"{{"ver":"2.3","host":"h","rec":"{rec}","user":"u","term":"xterm","session":1,"id":{id},"pos":{pos},"time":{}.000,"timing":"{timing}","in_txt":{},"in_bin":[],"out_txt":{},"out_bin":[]{extra}}}"#,
            1_800_000_000 + pos / 1000,
            serde_json::to_string(inp).expect("JSON string"),
            serde_json::to_string(out).expect("JSON string"),
        )
    }

    /// Everything a search reports, in order, as text.
    fn reports(log: &str, text: &str, place: Place, threads: usize) -> Vec<String> {
        let reports = std::cell::RefCell::new(Vec::new());
        search_in_threads(
            threads,
            log.as_bytes(),
            "test",
            &Filter::default(),
            &Pattern::new(text, false),
            place,
            |f| {
                reports.borrow_mut().push(format!("found {f:?}"));
                Ok(())
            },
            |g| reports.borrow_mut().push(format!("gap {g:?}")),
            |e| reports.borrow_mut().push(format!("damage {e}")),
        )
        .expect("search");
        reports.into_inner()
    }

    /// Many recordings' messages interleaved at random, with damage (a
    /// line that is not JSON, a timing that does not match its text) and
    /// gaps among them: far more messages than are read ahead.
    fn many_recordings(seed: u64) -> String {
        let mut rng = seed;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let recs = 13;
        let mut ids = vec![0u64; recs];
        let mut lines = Vec::new();
        for _ in 0..3000 {
            let r = next(recs as u64) as usize;
            ids[r] += 1;
            let (id, pos) = (ids[r], ids[r] * 100);
            let rec = format!("rec-{r}");
            let out: String = (0..next(40))
                .map(|k| match next(9) {
                    0 => format!("error {r} {id} {k}\r\n"),
                    1 => "\x1b[?1049h\x1b[Herror alt\x1b[?1049l".to_owned(),
                    2 => "\x1b[2J\x1b[H".to_owned(),
                    _ => format!("{}\r\n", next(1000)),
                })
                .collect();
            let inp = if next(3) == 0 { "ls error\r" } else { "" };
            let mut timing = if id == 1 {
                "=20x5".to_owned()
            } else {
                String::new()
            };
            if !out.is_empty() {
                timing += &format!(">{}", out.chars().count());
            }
            if !inp.is_empty() {
                timing += &format!("+10<{}", inp.len());
            }
            match next(50) {
                0 => lines.push("{not json".to_owned()),
                1 => timing += ">5",
                _ => {}
            }
            let extra = if next(40) == 0 {
                r#","gap":{"messages":2,"bytes":10}"#
            } else {
                ""
            };
            lines.push(message_of(&rec, id, pos, &timing, &out, inp, extra));
        }
        lines.join("\n")
    }

    #[test]
    fn many_recordings_are_reported_alike_on_one_thread_and_on_many() {
        for seed in [1, 0x9e37_79b9] {
            let log = many_recordings(seed);
            for place in [Place::Screen, Place::Input] {
                let one = reports(&log, "error", place, 1);
                assert!(one.iter().filter(|r| r.starts_with("found")).count() > 100);
                assert!(one.iter().any(|r| r.starts_with("gap")));
                assert!(one.iter().any(|r| r.starts_with("damage")));
                for threads in [2, 3, 8] {
                    assert!(
                        one == reports(&log, "error", place, threads),
                        "{place:?} on {threads} threads, seed {seed}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_failing_report_ends_the_search_on_many_threads() {
        let log = many_recordings(7);
        let mut calls = 0;
        let result = search_in_threads(
            4,
            log.as_bytes(),
            "test",
            &Filter::default(),
            &Pattern::new("error", false),
            Place::Screen,
            |_| {
                calls += 1;
                if calls == 5 {
                    Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
                } else {
                    Ok(())
                }
            },
            |_| {},
            |_| {},
        );
        assert!(matches!(
            result,
            Err(crate::recording::ReadError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe
        ));
        assert_eq!(calls, 5);
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
