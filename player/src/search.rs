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

use termtape_format::{Error, Location, Logins, Message, Packet, Reader, Stream, Validator};
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

/// Lines sent to a worker at once (when no report waits for them).
const BATCH: usize = if cfg!(test) { 3 } else { 16 };

/// Lines a worker holds, not reported, past which the reading thread
/// parses that worker's lines itself. (Tests take both ways often.)
const BEHIND: usize = if cfg!(test) { 1 } else { 2 * BATCH };

/// [`search`] with `threads` threads searching (1: all in the calling
/// thread).
///
/// The calling thread reads the lines and makes every report; each
/// recording is checked and searched by one worker (the recordings are
/// shared out in turn as they first appear; a line's recording is told
/// from its first members, or, in another form, by parsing it in the
/// calling thread), which parses its lines too, unless it is behind: then
/// the calling thread parses them. The reports go back numbered by line,
/// so they are made in the order one thread makes them. At most 128 lines
/// a worker are read ahead of the reports.
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
        let mut worker = Worker::new();
        return read(input, source, filter, |job| {
            let seq = job.seq;
            let events = worker.job(job, source, filter, pattern, place);
            reports.ready.insert(seq, events);
            reports.make()
        });
    }
    std::thread::scope(|scope| {
        let (done_tx, done_rx) = mpsc::channel::<(usize, Vec<(u64, Vec<Event>)>)>();
        let (workers, handles): (Vec<mpsc::Sender<Vec<Job>>>, Vec<_>) = (0..threads)
            .map(|n| {
                let (tx, rx) = mpsc::channel::<Vec<Job>>();
                let done = done_tx.clone();
                let handle = scope.spawn(move || {
                    let mut worker = Worker::new();
                    for jobs in rx {
                        let events = jobs
                            .into_iter()
                            .map(|job| (job.seq, worker.job(job, source, filter, pattern, place)))
                            .collect();
                        if done.send((n, events)).is_err() {
                            break;
                        }
                    }
                });
                (tx, handle)
            })
            .unzip();
        drop(done_tx);
        // Recording → its worker, given in turn as recordings appear.
        let owner: std::cell::RefCell<HashMap<String, usize>> = Default::default();
        // Lines each worker has and has not reported.
        let queued: Vec<std::cell::Cell<usize>> =
            (0..threads).map(|_| Default::default()).collect();
        let take = |ready: &mut BTreeMap<u64, Vec<Event>>, (worker, done): (usize, Vec<_>)| {
            queued[worker].set(queued[worker].get() - done.len());
            ready.extend(done);
        };
        let mut sent = 0u64;
        // Lines go to a worker, and their reports come back, in batches:
        // a wake-up for each line cost more than the line.
        let mut batches: Vec<Vec<Job>> = (0..threads).map(|_| Vec::new()).collect();
        let flush = |batches: &mut Vec<Vec<Job>>| {
            for (batch, worker) in batches.iter_mut().zip(&workers) {
                if !batch.is_empty() {
                    // A worker ends only when its sender is dropped.
                    let _ = worker.send(std::mem::take(batch));
                }
            }
        };
        // A worker behind the reading thread: this thread parses its
        // lines, instead of waiting (recordings one after the other, or
        // one faster than the others).
        let behind = |key: &str| {
            owner
                .borrow()
                .get(key)
                .is_some_and(|&worker| queued[worker].get() > BEHIND)
        };
        let result = read_lines(input, source, behind, |job, key| {
            let seq = job.seq;
            match job.work {
                Work::Done(events) => {
                    reports.ready.insert(seq, events);
                }
                work => {
                    let mut owner = owner.borrow_mut();
                    let worker = match owner.get(key) {
                        Some(&worker) => worker,
                        None => {
                            let worker = owner.len() % threads;
                            owner.insert(key.to_owned(), worker);
                            worker
                        }
                    };
                    queued[worker].set(queued[worker].get() + 1);
                    batches[worker].push(Job { seq, work });
                    if batches[worker].len() >= BATCH {
                        // A worker ends only when its sender is dropped.
                        let _ = workers[worker].send(std::mem::take(&mut batches[worker]));
                    }
                    sent = seq + 1;
                }
            }
            // Take what is done; wait while too much is read ahead.
            loop {
                while let Ok(done) = done_rx.try_recv() {
                    take(&mut reports.ready, done);
                }
                reports.make()?;
                if sent.saturating_sub(reports.next) <= (IN_FLIGHT * threads) as u64 {
                    break;
                }
                // What is waited for may be in a batch not sent yet.
                flush(&mut batches);
                match done_rx.recv_timeout(std::time::Duration::from_millis(100)) {
                    Ok(done) => take(&mut reports.ready, done),
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
        flush(&mut batches);
        drop(workers);
        if !matches!(result, Err(crate::recording::ReadError::Output(_))) {
            for done in done_rx {
                take(&mut reports.ready, done);
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
                    work: Work::Done(vec![Event::Damage(e)]),
                })?;
                continue;
            }
        };
        let Some((at, gap)) = admit(&mut sessions, filter, &msg, reader.line(), source) else {
            continue;
        };
        seq += 1;
        each(Job {
            seq: seq - 1,
            work: Work::Message {
                msg: Box::new(msg),
                at,
                gap,
            },
        })?;
    }
    Ok(())
}

/// Whether `msg` (read at `line`) is searched: it is, if `filter` lets
/// its recording (see [`crate::source::Sessions`]) and it through. If so,
/// where it is, and the gap before it.
fn admit(
    sessions: &mut crate::source::Sessions,
    filter: &Filter,
    msg: &Message,
    line: u64,
    source: &str,
) -> Option<(Location, Option<crate::gap::Gap>)> {
    let in_session = sessions.accepts(filter, msg);
    if !in_session || !filter.accepts_in_any(msg) {
        return None;
    }
    let at = Location {
        source: Some(source.to_owned()),
        line,
        id: Some(msg.id),
    };
    Some((at, crate::gap::Gap::of(msg)))
}

/// Reads the lines of `input`, numbering them in order, and hands each to
/// `each` with its recording (empty for damage, reported already): a
/// line whose recording is told without parsing it goes as it is, unless
/// `parse_here` says otherwise; any other is parsed here, so that damage
/// is reported as [`Reader`] reports it. What a message's recording decides (the checks of its sequence,
/// its origin) is left to the one who takes all of that recording's lines.
fn read_lines(
    input: impl BufRead,
    source: &str,
    parse_here: impl Fn(&str) -> bool,
    mut each: impl FnMut(Job, &str) -> Result<(), crate::recording::ReadError>,
) -> Result<(), crate::recording::ReadError> {
    let mut reader = Reader::new(input, Some(source.to_owned()), true);
    let mut seq = 0u64;
    while let Some(item) = reader.next_line() {
        let (key, work) = match item {
            Err(e) if e.is_io() => return Err(e.into()),
            Err(e) => (None, Work::Done(vec![Event::Damage(e)])),
            Ok(line) => match line.recording_key() {
                Some(key) if !parse_here(key) => (
                    Some(key.to_owned()),
                    Work::Line {
                        text: line.text.to_owned(),
                        at: line.at,
                        complete: line.complete,
                    },
                ),
                _ => match line.parse() {
                    Ok(msg) => (
                        Some(msg.recording_key()),
                        Work::Parsed {
                            msg: Box::new(msg),
                            at: line.at,
                        },
                    ),
                    Err(e) => (None, Work::Done(vec![Event::Damage(e)])),
                },
            },
        };
        seq += 1;
        each(
            Job { seq: seq - 1, work },
            key.as_deref().unwrap_or_default(),
        )?;
    }
    Ok(())
}

/// Something read, numbered in reading order.
struct Job {
    seq: u64,
    work: Work,
}

/// What a [`Job`] is.
enum Work {
    /// A message to search (after the gap before it, if any), its
    /// recording's checks passed.
    Message {
        msg: Box<Message>,
        at: Location,
        gap: Option<crate::gap::Gap>,
    },
    /// A line to parse (`complete`: ended by a newline), check and search.
    Line {
        text: String,
        at: Location,
        complete: bool,
    },
    /// A message parsed, to check and search.
    Parsed { msg: Box<Message>, at: Location },
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

/// What one thread keeps of the recordings it searches: each recording's
/// lines all go to one thread, so what it decides from them is decided as
/// one thread reading them all would.
struct Worker {
    hunts: Hunts,
    /// The checks of each recording's sequence, as [`Reader`] makes them.
    validator: Validator,
    sessions: crate::source::Sessions,
}

impl Worker {
    fn new() -> Worker {
        Worker {
            hunts: Hunts::default(),
            // As the search's reader: ids need only go up.
            validator: Validator::new(true),
            sessions: crate::source::Sessions::default(),
        }
    }

    /// Parses, checks and searches a job's line or message: its reports,
    /// in order.
    fn job(
        &mut self,
        job: Job,
        source: &str,
        filter: &Filter,
        pattern: &Pattern,
        place: Place,
    ) -> Vec<Event> {
        let (msg, at) = match job.work {
            Work::Done(events) => return events,
            Work::Message { msg, at, gap } => {
                return self.hunts.message(Vec::new(), msg, at, gap, pattern, place);
            }
            Work::Parsed { msg, at } => (msg, at),
            Work::Line { text, at, complete } => {
                let line = termtape_format::RawLine {
                    text: &text,
                    at,
                    complete,
                };
                match line.parse() {
                    Ok(msg) => (Box::new(msg), line.at),
                    Err(e) => return vec![Event::Damage(e)],
                }
            }
        };
        let mut events = Vec::new();
        // Reported, and the message searched all the same, as by the
        // reader of one thread.
        if let Err(e) = self.validator.check(&msg, &at) {
            events.push(Event::Damage(e));
        }
        match admit(&mut self.sessions, filter, &msg, at.line, source) {
            Some((at, gap)) => self.hunts.message(events, msg, at, gap, pattern, place),
            None => events,
        }
    }
}

/// The recordings one thread searches.
#[derive(Default)]
struct Hunts {
    hunts: HashMap<String, Hunt>,
}

impl Hunts {
    /// Searches a message, after `events` and the gap before it: the
    /// reports, in order.
    fn message(
        &mut self,
        mut events: Vec<Event>,
        msg: Box<Message>,
        at: Location,
        gap: Option<crate::gap::Gap>,
        pattern: &Pattern,
        place: Place,
    ) -> Vec<Event> {
        events.extend(gap.map(Event::Gap));
        let mut packets = Vec::new();
        if let Err(e) = msg.decode(&at, |t| packets.push(t)) {
            events.push(Event::Damage(e));
            return events;
        }
        let hunt = self
            .hunts
            .entry(msg.recording_key())
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
    fn reports(
        log: &[u8],
        filter: &Filter,
        text: &str,
        place: Place,
        threads: usize,
    ) -> Vec<String> {
        let reports = std::cell::RefCell::new(Vec::new());
        search_in_threads(
            threads,
            log,
            "test",
            filter,
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
    /// line that is not JSON, one that is not UTF-8, a timing that does not
    /// match its text, an id that does not go up, a recording whose first
    /// message is lost, a last line cut short) and gaps among them, of two
    /// users, their sessions running two commands, some lines in forms
    /// told apart only by parsing them (spaces, no `rec`): far more lines
    /// than are read ahead.
    fn many_recordings(seed: u64) -> Vec<u8> {
        let mut rng = seed;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let recs = 13;
        let mut ids = vec![0u64; recs];
        let mut lines: Vec<Vec<u8>> = Vec::new();
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
                0 => lines.push(b"{not json".to_vec()),
                1 => timing += ">5",
                2 => lines.push(
                    format!(r#"{{"ver":"2.3","host":"h","rec":"{rec}","#)
                        .into_bytes()
                        .into_iter()
                        .chain(*b"\xff\"}")
                        .collect(),
                ),
                3 => lines.push(b"   ".to_vec()),
                _ => {}
            }
            let mut extra = String::new();
            if next(40) == 0 {
                extra += r#","gap":{"messages":2,"bytes":10}"#;
            }
            // Each session's command, on its first message; that of
            // rec-5 is lost.
            if id == 1 && r != 5 {
                extra += match r % 3 {
                    0 => r#","origin":{"command":["sh","-c","x"]}"#,
                    _ => r#","origin":{"command":["bash","-l"]}"#,
                };
            }
            let mut line = message_of(&rec, id, pos, &timing, &out, inp, &extra);
            if r.is_multiple_of(4) {
                line = line.replace(r#""user":"u""#, r#""user":"v""#);
            }
            // Old messages, without `rec`: host and session tell theirs.
            if r == recs - 2 {
                line = line
                    .replace(&format!(r#""rec":"{rec}","#), "")
                    .replace(r#""session":1"#, r#""session":7"#);
            }
            if next(8) == 0 {
                line = line.replacen('{', "{ ", 1);
            }
            if id == 1 && r == 5 {
                line = line.replacen(r#""ver":"2.3","#, "", 1);
            }
            // Now and then an id again: damage, and the message searched.
            if next(60) == 0 {
                lines.push(line.clone().into_bytes());
            }
            lines.push(line.into_bytes());
        }
        let cut = message_of("rec-3", ids[3] + 1, ids[3] * 100 + 100, ">1", "x", "", "");
        lines.push(cut.as_bytes()[..60].to_vec());
        lines.join(&b'\n')
    }

    #[test]
    fn many_recordings_are_reported_alike_on_one_thread_and_on_many() {
        let some = Filter {
            user: Some("u".into()),
            command: Some("bash".into()),
            ..Filter::default()
        };
        for seed in [1, 0x9e37_79b9] {
            let log = many_recordings(seed);
            for place in [Place::Screen, Place::Input] {
                let all = reports(&log, &Filter::default(), "error", place, 1);
                for filter in [Filter::default(), some.clone()] {
                    let one = reports(&log, &filter, "error", place, 1);
                    let count = |kind| one.iter().filter(|r| r.starts_with(kind)).count();
                    assert!(count("found") > 50, "{}", count("found"));
                    assert!(count("gap") > 0);
                    for damage in [
                        "invalid JSON",
                        "not UTF-8",
                        "follows",
                        "truncated",
                        "missing field",
                    ] {
                        assert!(
                            one.iter()
                                .any(|r| r.starts_with("damage") && r.contains(damage)),
                            "{damage}: {one:#?}"
                        );
                    }
                    assert!(one.iter().any(|r| r.contains(r#"rec: "h/7""#)));
                    if filter.command.is_some() {
                        assert!(count("found") < all.len() / 2);
                        assert!(!one.iter().any(|r| r.contains(r#"rec: "rec-5""#)));
                    }
                    for threads in [2, 3, 8] {
                        assert!(
                            one == reports(&log, &filter, "error", place, threads),
                            "{place:?} on {threads} threads, seed {seed}, {filter:?}"
                        );
                    }
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
            &log[..],
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
