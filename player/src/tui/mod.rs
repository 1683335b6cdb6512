//! `termtape play` on a terminal: the recording's screen, drawn from the
//! emulator on whatever terminal the viewer has (termwiz's terminal I/O and
//! screen diffs, colours brought down to what the viewer's terminal shows),
//! with keyboard controls and a status line. Every jump, backward or
//! forward, goes through the keyframes ([`crate::seek`]): in a file by its
//! byte offsets, in the journal (`journal`, `journal:DIR`) by journal
//! matches on the keyframe entries. Following the journal (`--follow`),
//! the end is looked for again while playback waits there.
//!
//! The status line never covers the recording unseen: it takes a spare row
//! when the viewer is taller than the recording; on a viewer just as tall
//! it shows while paused, typing or told something (`s` shows or hides
//! it), and says which rows it hides; on a smaller viewer it always shows,
//! saying what is clipped.
//!
//! Keys ([`HELP`], `?` on screen): space or `p` pause/resume; `+`/`-`
//! speed (1/16× to 16×); ←/→ 5 s back/forward; ↑/↓ 1 min back/forward and
//! PgUp/PgDn (`b`/`f`) 10 min back/forward, as in less; Home/End; `g`, a
//! moment as `--seek` takes it (`90`, `1:30`, `end`, `YYYY-MM-DD HH:MM[:SS]`
//! local or `… UTC`) and Enter; `.` one recorded event forward while
//! paused; `/` a text, `n`/`N` its next/previous find (highlighted on
//! screen); `c`/`C` the next/previous command run (from the audit
//! records, [`Commands`]); `s` status line; Ctrl-Z suspends; `q` quits.
//!
//! With commands, the status line names the last one started (its
//! arguments shortened, through [`crate::visible`] like the rest of the
//! line); without, it says nothing of them.

mod draw;

use std::collections::VecDeque;
use std::io::{self, BufRead};
use std::time::{Duration, Instant};

use termtape_emu::Terminal as Emulator;
use termtape_format::{
    Message, Packet, REDACTED_FIELD, Reader, Redaction, Stream, Timed, extension,
};
use termtape_keyframe::Screen;
use termwiz::caps::{Capabilities, ColorLevel, ProbeHints};
use termwiz::input::{InputEvent, KeyCode, KeyEvent, Modifiers};
use termwiz::terminal::buffered::BufferedTerminal;
use termwiz::terminal::{Terminal, new_terminal};

use crate::gap::Gap;
use crate::recording::{Choice, Chooser, Query, ReadError, choose};
use crate::search;
use crate::seek::{At, Method, screen_at};
use crate::source::{Source, SourceError};

pub use draw::HELP;

/// The slowest and fastest playback.
const SPEEDS: (f64, f64) = (1.0 / 16.0, 16.0);

/// How playback starts and goes.
#[derive(Clone, Copy, Debug)]
pub struct Playback {
    /// The moment to start at.
    pub start: At,
    /// Recording time per wall-clock time: 2.0 plays twice as fast.
    pub speed: f64,
    /// Pauses longer than this are cut to it.
    pub max_pause: Option<Duration>,
    /// Keep looking for what the recorder adds (the journal only).
    pub follow: bool,
}

/// The commands run in the recorded session (`termtape commands`), read
/// once when playback starts.
#[derive(Clone, Debug, Default)]
pub struct Commands {
    /// Where each command's mark is (ms from the recording's start: when
    /// it started, plus [`crate::audit::MARK_LAG_MS`] so the typed line is
    /// on screen), in order.
    pub at: Vec<u64>,
    /// Each command's line ([`crate::audit::command_line`]).
    pub lines: Vec<String>,
    /// Why there are none, if there are none (said when `c` is pressed).
    pub why: Option<String>,
}

/// Longest command line the status line shows, in characters.
const COMMAND_WIDTH: usize = 32;

impl Commands {
    /// The last command whose mark is at or before `now`: its number
    /// (from 1) and its line, shortened to [`COMMAND_WIDTH`].
    fn running(&self, now: u64) -> Option<(usize, String)> {
        let n = self.at.partition_point(|&a| a <= now);
        let line = self.lines.get(n.checked_sub(1)?)?;
        let short = if line.chars().count() > COMMAND_WIDTH {
            let cut: String = line.chars().take(COMMAND_WIDTH - 1).collect();
            format!("{cut}…")
        } else {
            line.clone()
        };
        Some((n, short))
    }
}

/// Why the player could not play.
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    /// A source that can be read only once.
    #[error("{name} can be read only once, and the player reads it again at each jump")]
    Stream {
        /// The source.
        name: String,
    },
    /// Choosing or reading the recording failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The source could not be opened.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Reading the source or using the terminal failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Plays the recording that `query` selects in `source` (a file or the
/// journal: a stream cannot be read twice, so it cannot be sought in) on
/// the terminal, as `playback` says, until the viewer quits. Without
/// `--rec`, a source holding several recordings is an error that lists
/// them, told before the terminal is taken over. `commands` gives the
/// commands of the recording with the id it is given, once, before the
/// terminal is taken over (its warnings read plainly).
pub fn play(
    source: &dyn Source,
    query: &Query,
    playback: Playback,
    commands: &dyn Fn(&str) -> Commands,
) -> Result<(), PlayError> {
    if source.is_stream() {
        return Err(PlayError::Stream {
            name: source.name(),
        });
    }
    if playback.follow && !source.follows() {
        return Err(SourceError::NoFollow.into());
    }
    let query = choose(source, query)?;
    let mut timeline = Timeline::open(source, &query, playback.follow)?;
    if let Some(rec) = &timeline.key {
        timeline.commands = commands(rec);
    }
    // Placed before the terminal is taken over, so that an error reads plainly.
    let playback = Playback {
        start: At::Ms(timeline.ms(playback.start)?),
        ..playback
    };
    let (caps, level) = capabilities().map_err(io::Error::other)?;
    let mut terminal = new_terminal(caps).map_err(io::Error::other)?;
    terminal.set_raw_mode().map_err(io::Error::other)?;
    terminal
        .enter_alternate_screen()
        .map_err(io::Error::other)?;
    let mut view = BufferedTerminal::new(terminal).map_err(io::Error::other)?;
    let result = run(&mut view, &mut timeline, level, playback);
    let _ = give_back(&mut view);
    Ok(result?)
}

/// Gives the terminal back as it was: cursor shown, primary screen, cooked
/// mode, all written out before the player quits or stops.
fn give_back<T: Terminal>(view: &mut BufferedTerminal<T>) -> io::Result<()> {
    view.add_change(termwiz::surface::Change::CursorVisibility(
        termwiz::surface::CursorVisibility::Visible,
    ));
    view.flush().map_err(io::Error::other)?;
    let terminal = view.terminal();
    terminal.exit_alternate_screen().map_err(io::Error::other)?;
    terminal.set_cooked_mode().map_err(io::Error::other)?;
    terminal.flush().map_err(io::Error::other)
}

/// What the viewer's terminal can do, from TERM and its terminfo entry, and
/// the colours to draw with (`None`: none, as on a vt100).
///
/// termwiz writes terminfo padding (`$<5>`) literally; for a terminal whose
/// entry has padding in what is drawn with (vt100 and its kind), termwiz's
/// own ANSI sequences, which those terminals understand, are used instead.
fn capabilities() -> termwiz::Result<(Capabilities, Option<ColorLevel>)> {
    let caps = Capabilities::new_from_env()?;
    let Some(db) = caps.terminfo_db() else {
        return Ok((caps.clone(), Some(caps.color_level())));
    };
    let colours = match db.raw("colors") {
        Some(terminfo::Value::Number(n)) => *n,
        _ => 0,
    };
    let level = (colours >= 8).then(|| caps.color_level());
    let padded = [
        "cup", "clear", "el", "ed", "sgr0", "sgr", "smcup", "rmcup", "civis", "cnorm", "bold",
        "rev", "smul", "rmul",
    ]
    .iter()
    .any(|name| {
        matches!(db.raw(name), Some(terminfo::Value::String(s)) if s.windows(2).any(|w| w == b"$<"))
    });
    if !padded {
        return Ok((caps, level));
    }
    let hints = ProbeHints::new_from_env()
        .term(Some("xterm".to_owned()))
        .color_level(Some(ColorLevel::Sixteen));
    Ok((Capabilities::new_with_hints(hints)?, level))
}

/// Who made the recording and when it started, from its messages.
#[derive(Clone, Debug, Default)]
struct Origin {
    /// The wall-clock time of its start, ms since the epoch (`None`: its
    /// messages carry no time).
    start: Option<u64>,
    /// `user@host`, as recorded (shown through [`crate::visible`]).
    who: String,
    /// The sender of untrusted journal entries (`--unverified`).
    unverified: Option<String>,
}

/// The recording: where any moment is, and what follows it.
struct Timeline<'a> {
    source: &'a dyn Source,
    /// Chosen ([`choose`]): it names the recording.
    query: Query,
    /// Milliseconds from the start to the last packet.
    duration: u64,
    /// Whether the recording has keyframes; without, every jump replays it
    /// from the start.
    keyframed: bool,
    /// The recording's key (its id), to tell its finds from others' in a
    /// source that holds several.
    key: Option<String>,
    /// Where a rate limit dropped messages, in order.
    gaps: Vec<Gap>,
    /// Where keys typed at a password prompt were left out, in order.
    redactions: Vec<Redaction>,
    origin: Origin,
    /// Whether the end is looked for again (`--follow`).
    follow: bool,
    /// The recording's verdict against its hash chain and seals (with the
    /// default trusted key, see [`crate::verify`]); `None` while following.
    verdict: Option<termtape_format::verify::Verdict>,
    /// The commands run in it, from the audit records.
    commands: Commands,
}

/// How long after a gap (recording time, ms) the screen is marked.
const GAP_MARK: u64 = 5_000;

/// The packets after a moment, in order.
struct Forward {
    reader: Reader<Box<dyn BufRead>>,
    chooser: Chooser,
    after: u64,
    queue: VecDeque<(u64, Timed)>,
    /// Taken from the first message of the recording read.
    origin: Option<Origin>,
}

impl<'a> Timeline<'a> {
    /// The timeline of the recording `query` names (chosen: see [`choose`]).
    fn open(source: &'a dyn Source, query: &Query, follow: bool) -> io::Result<Timeline<'a>> {
        let mut timeline = Timeline {
            source,
            query: query.clone(),
            duration: 0,
            keyframed: true,
            key: None,
            gaps: Vec::new(),
            redactions: Vec::new(),
            origin: Origin::default(),
            follow,
            verdict: None,
            commands: Commands::default(),
        };
        timeline.query.filter.follow = false;
        timeline.refresh()?;
        (timeline.gaps, timeline.redactions) = timeline.find_marks()?;
        if !follow && let Some(rec) = &timeline.key {
            let filter = crate::source::Filter {
                rec: Some(rec.clone()),
                ..timeline.query.filter.clone()
            };
            let trusted = crate::verify::trusted_key(None).ok().flatten();
            timeline.verdict = crate::verify::verify_source(source, &filter, trusted)
                .map_err(SourceError::into_io)?
                .into_iter()
                .find(|r| r.rec == *rec)
                .map(|r| r.verdict);
        }
        Ok(timeline)
    }

    /// Reads the recording's end again (and who made it): its last packet's
    /// time, read forward from the last keyframe. True if it moved.
    fn refresh(&mut self) -> io::Result<bool> {
        let (_, mut forward, keyframed) = self.seek_with(u64::MAX, 0)?;
        self.keyframed = keyframed;
        let before = self.duration;
        while let Some((_, t)) = forward.next() {
            self.duration = self.duration.max(t.at);
        }
        if let Some(origin) = forward.origin.take() {
            self.origin = origin;
        }
        if self.key.is_none() {
            self.key = forward.chooser.key().map(str::to_owned);
        }
        Ok(self.duration > before)
    }

    /// The recording's gaps and redacted keys: only the lines that mention
    /// one are parsed.
    fn find_marks(&self) -> io::Result<(Vec<Gap>, Vec<Redaction>)> {
        let mut input = self.read_source()?;
        let mut chooser = Chooser::new(&self.query.selection);
        let mut line = Vec::new();
        let mut gaps = Vec::new();
        let mut redactions = Vec::new();
        loop {
            line.clear();
            // Bounded as every reader is: a hostile line longer than a
            // message may be is passed over without being held.
            match termtape_format::read_line(&mut input, &mut line, termtape_format::MAX_LINE_LEN)?
            {
                termtape_format::LineEnd::Eof => {
                    redactions.sort_by_key(|r: &Redaction| r.at);
                    return Ok((gaps, redactions));
                }
                termtape_format::LineEnd::TooLong => {
                    termtape_format::skip_line(&mut input)?;
                    continue;
                }
                termtape_format::LineEnd::Newline | termtape_format::LineEnd::Unterminated => {}
            }
            // A quick look first: most lines have neither field.
            let mentions = |name: &str| {
                let quoted = format!("\"{name}\":");
                line.windows(quoted.len()).any(|w| w == quoted.as_bytes())
            };
            if !mentions(extension::GAP) && !mentions(REDACTED_FIELD) {
                continue;
            }
            let Ok(text) = std::str::from_utf8(&line) else {
                continue;
            };
            let Ok(msg) = Message::parse(text.trim_end(), &Default::default()) else {
                continue;
            };
            let ours = chooser.offer(&msg) == Choice::Ours;
            if !ours {
                continue;
            }
            gaps.extend(Gap::of(&msg));
            // A malformed field is damage the other readers report; here
            // it only has no mark.
            redactions.extend(msg.redactions(&Default::default()).unwrap_or_default());
        }
    }

    /// The last redaction at or before `now`, if `now` is shortly after it.
    fn redaction_near(&self, now: u64) -> Option<&Redaction> {
        let i = self.redactions.partition_point(|r| r.at <= now);
        i.checked_sub(1)
            .map(|i| &self.redactions[i])
            .filter(|r| now < r.at.saturating_add(GAP_MARK))
    }

    /// The last gap at or before `now`, if `now` is shortly after it.
    fn gap_near(&self, now: u64) -> Option<&Gap> {
        let i = self.gaps.partition_point(|g| g.at <= now);
        i.checked_sub(1)
            .map(|i| &self.gaps[i])
            .filter(|g| now < g.at.saturating_add(GAP_MARK))
    }

    /// The moments at which lines holding `text` start to be shown (see
    /// [`crate::search`]), in order; case is ignored unless `text` has an
    /// upper-case letter, as in less and vim.
    fn find(&self, text: &str) -> io::Result<Vec<u64>> {
        let input = self.read_source()?;
        let mut moments = Vec::new();
        search::search(
            input,
            &self.source.name(),
            &self.query.filter,
            &search::Pattern::new(text, ignore_case(text)),
            search::Place::Screen,
            |found| {
                if self.key.as_ref().is_none_or(|k| *k == found.rec) {
                    moments.push(found.at);
                }
                Ok(())
            },
            |_| {},
            |_| {},
        )
        .map_err(io::Error::other)?;
        Ok(moments)
    }

    /// Milliseconds from the start to `at`.
    fn ms(&self, at: At) -> io::Result<u64> {
        Ok(match at {
            At::Ms(ms) => ms,
            At::End => self.duration,
            At::Clock(_) => match at
                .resolve(self.source, &self.query)
                .map_err(io::Error::other)?
            {
                At::Ms(ms) => ms,
                _ => self.duration,
            },
        })
    }

    /// The screen at `at` ms, and the packets after it.
    fn seek(&self, at: u64) -> io::Result<(Emulator, Forward)> {
        let (term, forward, _) = self.seek_with(at, at)?;
        Ok((term, forward))
    }

    /// The screen at `at` ms, the packets after `after` ms from the place it
    /// was found on, and whether a keyframe was that place.
    fn seek_with(&self, at: u64, after: u64) -> io::Result<(Emulator, Forward, bool)> {
        let (term, method) =
            screen_at(self.source, &self.query, At::Ms(at), |_| {}).map_err(io::Error::other)?;
        let (input, keyframed): (Box<dyn BufRead>, bool) = match method {
            // The packets after `after` are read from where the seek started.
            Method::Keyframe { position, .. } => (
                self.source
                    .open_at(&self.query.filter, &position)
                    .map_err(SourceError::into_io)?,
                true,
            ),
            Method::Replay(_) => (self.read_source()?, false),
        };
        Ok((term, self.forward(input, after), keyframed))
    }

    /// The recording's source, from its start.
    fn read_source(&self) -> io::Result<Box<dyn BufRead>> {
        self.source
            .open(&self.query.filter)
            .map_err(SourceError::into_io)
    }

    /// The packets of `input` after `after` ms.
    fn forward(&self, input: Box<dyn BufRead>, after: u64) -> Forward {
        Forward {
            reader: Reader::new(input, None, true),
            chooser: Chooser::new(&self.query.selection),
            after,
            queue: VecDeque::new(),
            origin: None,
        }
    }
}

/// Whether a search for `text` ignores case: unless it has an upper-case
/// letter, as in less and vim.
fn ignore_case(text: &str) -> bool {
    !text.chars().any(char::is_uppercase)
}

impl Forward {
    /// The next packet after the moment, with its message's id.
    fn next(&mut self) -> Option<(u64, Timed)> {
        loop {
            if let Some(p) = self.queue.pop_front() {
                return Some(p);
            }
            let msg = match self.reader.next()? {
                Ok(msg) => msg,
                Err(_) => continue,
            };
            if !self.ours(&msg) {
                continue;
            }
            if self.origin.is_none() {
                self.origin = Some(Origin {
                    start: msg.time.map(|t| t.saturating_sub(msg.pos)),
                    who: format!("{}@{}", msg.user, msg.host),
                    unverified: crate::source::unverified_sender(&msg),
                });
            }
            let (id, after, queue) = (msg.id, self.after, &mut self.queue);
            let _ = msg.decode(&Default::default(), |t| {
                if t.at > after {
                    queue.push_back((id, t));
                }
            });
        }
    }

    fn ours(&mut self, msg: &Message) -> bool {
        self.chooser.offer(msg) == Choice::Ours
    }
}

/// The playback state.
struct State {
    screen: Screen,
    forward: Forward,
    pending: Option<(u64, Timed)>,
    /// Recording time shown, ms.
    now: u64,
    /// The wall-clock instant at which recording time `now` was reached.
    anchor: Instant,
    speed: f64,
    paused: bool,
    /// Pauses longer than this many ms are cut to it.
    max_pause: Option<u64>,
    /// Recording time of the last packet shown (or of the jump), ms: where
    /// the pause before the next one started.
    last_at: u64,
    /// A time being typed after `g`, or a text after `/`.
    prompt: Option<Prompt>,
    /// The last search and its finds.
    finds: Option<Finds>,
    /// What the status line tells until the next key (an error).
    message: Option<String>,
    /// The key help is shown over the screen.
    help: bool,
    /// The viewer's choice with `s`: status line shown or hidden (`None`:
    /// shown on a spare row or while paused).
    status: Option<bool>,
    /// Whether the status line was shown when last drawn.
    shown: bool,
}

/// What is being typed on the status line.
enum Prompt {
    /// A moment to go to (`g`).
    Time(String),
    /// A text to find (`/`).
    Text(String),
}

impl Prompt {
    fn typed(&mut self) -> &mut String {
        match self {
            Prompt::Time(s) | Prompt::Text(s) => s,
        }
    }
}

/// A search's text and the moments it was found at, in order.
#[derive(Clone)]
struct Finds {
    text: String,
    at: Vec<u64>,
}

impl Finds {
    /// The first find after `now` (`forward`) or before it; with its
    /// place in the list (from 1).
    fn next(&self, now: u64, forward: bool) -> Option<(usize, u64)> {
        if forward {
            let i = self.at.partition_point(|&a| a <= now);
            self.at.get(i).map(|&a| (i + 1, a))
        } else {
            let i = self.at.partition_point(|&a| a < now);
            i.checked_sub(1).map(|i| (i + 1, self.at[i]))
        }
    }
}

impl State {
    fn new(timeline: &Timeline, at: u64, speed: f64, max_pause: Option<u64>) -> io::Result<State> {
        let at = at.min(timeline.duration);
        let (term, mut forward) = timeline.seek(at)?;
        let pending = forward.next();
        Ok(State {
            screen: Screen::from_terminal(term),
            forward,
            pending,
            now: at,
            anchor: Instant::now(),
            speed,
            paused: false,
            max_pause,
            last_at: at,
            prompt: None,
            finds: None,
            message: None,
            help: false,
            status: None,
            shown: false,
        })
    }

    /// Jumps to `at` ms, keeping speed, pause, the pause limit, the search
    /// and the status line's choice.
    fn jump(&mut self, timeline: &Timeline, at: u64) -> io::Result<()> {
        let mut next = State::new(timeline, at, self.speed, self.max_pause)?;
        next.paused = self.paused;
        next.finds = self.finds.take();
        next.message = self.message.take();
        next.status = self.status;
        next.shown = self.shown;
        *self = next;
        Ok(())
    }

    /// Recording time now, by the wall clock.
    fn clock(&self) -> u64 {
        if self.paused {
            return self.now;
        }
        let played = self.anchor.elapsed().as_secs_f64() * self.speed * 1000.0;
        self.now.saturating_add(played as u64)
    }

    /// Applies the packets due; true if any was.
    fn advance(&mut self, duration: u64) -> bool {
        let mut any = false;
        loop {
            let clock = self.clock().min(duration);
            while let Some((_, t)) = self.pending.as_ref() {
                if t.at > clock {
                    break;
                }
                self.screen.apply(&t.packet);
                self.last_at = t.at;
                any = true;
                self.pending = self.forward.next();
            }
            if !self.paused {
                self.now = clock;
                self.anchor = Instant::now();
            }
            // A pause that has lasted the limit: on to the next packet.
            match (&self.pending, self.max_pause) {
                (Some((_, t)), Some(max)) if !self.paused && clock >= self.last_at + max => {
                    self.now = t.at;
                }
                _ => return any,
            }
        }
    }

    /// Applies the next recorded event that shows (output or a resize; the
    /// keys typed before it go with it), while paused.
    fn step(&mut self) {
        while let Some((_, t)) = self.pending.take() {
            self.screen.apply(&t.packet);
            self.now = self.now.max(t.at);
            self.last_at = t.at;
            self.pending = self.forward.next();
            let input = matches!(
                t.packet,
                Packet::Io {
                    stream: Stream::Input,
                    ..
                }
            );
            if !input {
                break;
            }
        }
    }

    /// Time until the next packet is due, for the input wait.
    fn wait(&self) -> Duration {
        match (&self.pending, self.paused) {
            (Some((_, t)), false) => {
                let due = self
                    .max_pause
                    .map_or(t.at, |max| t.at.min(self.last_at + max));
                let ms = due.saturating_sub(self.clock()) as f64 / self.speed;
                Duration::from_secs_f64(ms / 1000.0).min(Duration::from_millis(250))
            }
            _ => Duration::from_millis(250),
        }
    }

    /// Starts again from the moment now (the clock keeps going).
    fn mark(&mut self) {
        self.now = self.clock();
        self.anchor = Instant::now();
    }
}

/// How often the end is looked for again when following the journal.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

fn run<T: Terminal>(
    view: &mut BufferedTerminal<T>,
    timeline: &mut Timeline,
    level: Option<ColorLevel>,
    playback: Playback,
) -> io::Result<()> {
    let start = timeline.ms(playback.start)?;
    let max_pause = playback.max_pause.map(|d| d.as_millis() as u64);
    let speed = playback.speed.clamp(SPEEDS.0, SPEEDS.1);
    let mut state = State::new(timeline, start, speed, max_pause)?;
    state.advance(timeline.duration);
    let mut dirty = true;
    let mut looked = Instant::now();
    loop {
        if state.advance(timeline.duration) {
            dirty = true;
        }
        // Following: at the end, what the recorder has added since.
        if timeline.follow
            && state.pending.is_none()
            && state.clock() >= timeline.duration
            && looked.elapsed() >= FOLLOW_EVERY
        {
            looked = Instant::now();
            if timeline.refresh()? {
                let now = state.now;
                state.jump(timeline, now)?;
                dirty = true;
            }
        }
        if dirty || !state.paused {
            state.shown = draw::draw(view, &state, timeline, level)?;
            dirty = false;
        }
        let event = view
            .terminal()
            .poll_input(Some(state.wait()))
            .map_err(io::Error::other)?;
        let Some(event) = event else { continue };
        dirty = true;
        match event {
            InputEvent::Resized { cols, rows } => {
                view.resize(cols, rows);
                view.repaint().map_err(io::Error::other)?;
            }
            InputEvent::Key(key) => match handle(key, &mut state, timeline)? {
                Action::Go => {}
                Action::Quit => return Ok(()),
                Action::Suspend => suspend(view)?,
            },
            _ => {}
        }
    }
}

/// Gives the terminal back and stops, as Ctrl-Z does to any program
/// (SIGTSTP, which raw mode keeps the terminal from sending); takes it
/// again and redraws when the shell resumes the player.
fn suspend<T: Terminal>(view: &mut BufferedTerminal<T>) -> io::Result<()> {
    give_back(view)?;
    signal_hook::low_level::raise(signal_hook::consts::SIGTSTP)?;
    // Resumed (SIGCONT): the terminal may have changed size meanwhile.
    let terminal = view.terminal();
    terminal.set_raw_mode().map_err(io::Error::other)?;
    terminal
        .enter_alternate_screen()
        .map_err(io::Error::other)?;
    let size = terminal.get_screen_size().map_err(io::Error::other)?;
    view.resize(size.cols, size.rows);
    view.repaint().map_err(io::Error::other)
}

/// What a key asks of the loop.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    Go,
    Quit,
    /// Ctrl-Z.
    Suspend,
}

/// Acts on a key.
fn handle(key: KeyEvent, state: &mut State, timeline: &mut Timeline) -> io::Result<Action> {
    let ctrl = key.modifiers.contains(Modifiers::CTRL);
    if ctrl && key.key == KeyCode::Char('c') {
        return Ok(Action::Quit);
    }
    if ctrl && key.key == KeyCode::Char('z') {
        return Ok(Action::Suspend);
    }
    // A message or the help stays until the next key.
    state.message = None;
    if state.help {
        state.help = false;
        return Ok(Action::Go);
    }
    if state.prompt.is_some() {
        prompt_key(key, state, timeline)?;
        return Ok(Action::Go);
    }
    let now = state.clock();
    let back = |ms: u64| now.saturating_sub(ms);
    let ahead = |ms: u64| now.saturating_add(ms);
    match key.key {
        KeyCode::Char('q' | 'Q') => return Ok(Action::Quit),
        KeyCode::Char(' ' | 'p') => {
            state.mark();
            state.paused = !state.paused;
        }
        KeyCode::Char('+' | '=') => {
            state.mark();
            state.speed = (state.speed * 2.0).min(SPEEDS.1);
        }
        KeyCode::Char('-') => {
            state.mark();
            state.speed = (state.speed / 2.0).max(SPEEDS.0);
        }
        KeyCode::Char('.') if state.paused => state.step(),
        KeyCode::Char('.') => state.message = Some("`.` steps while paused".to_owned()),
        KeyCode::Char('g') => state.prompt = Some(Prompt::Time(String::new())),
        KeyCode::Char('/') => state.prompt = Some(Prompt::Text(String::new())),
        KeyCode::Char('?') | KeyCode::Char('h') => state.help = true,
        KeyCode::Char('s') => state.status = Some(!state.shown),
        KeyCode::Char(c @ ('n' | 'N')) => match &state.finds {
            None => state.message = Some("no search yet: / and a text".to_owned()),
            Some(finds) => match finds.next(now, c == 'n') {
                Some((_, at)) => state.jump(timeline, at)?,
                None => {
                    state.message = Some(format!(
                        "no {} find of {}",
                        if c == 'n' { "later" } else { "earlier" },
                        finds.text
                    ));
                }
            },
        },
        KeyCode::Char(c @ ('c' | 'C')) => {
            let commands = &timeline.commands;
            let marks = Finds {
                text: String::new(),
                at: commands.at.clone(),
            };
            match marks.next(now, c == 'c') {
                Some((_, at)) => state.jump(timeline, at)?,
                None if commands.at.is_empty() => {
                    state.message = Some(format!(
                        "no commands to go to: {}",
                        commands
                            .why
                            .as_deref()
                            .unwrap_or("no audit records were read")
                    ));
                }
                None => {
                    state.message = Some(format!(
                        "no {} command",
                        if c == 'c' { "later" } else { "earlier" }
                    ));
                }
            }
        }
        KeyCode::LeftArrow => state.jump(timeline, back(5_000))?,
        KeyCode::RightArrow => state.jump(timeline, ahead(5_000))?,
        // As in less: up and page up go back, down and page down on.
        KeyCode::UpArrow => state.jump(timeline, back(60_000))?,
        KeyCode::DownArrow => state.jump(timeline, ahead(60_000))?,
        KeyCode::PageUp | KeyCode::Char('b') => state.jump(timeline, back(600_000))?,
        KeyCode::PageDown | KeyCode::Char('f') => state.jump(timeline, ahead(600_000))?,
        KeyCode::Home => state.jump(timeline, 0)?,
        KeyCode::End => {
            if timeline.follow {
                timeline.refresh()?;
            }
            state.jump(timeline, timeline.duration)?;
        }
        _ => {}
    }
    Ok(Action::Go)
}

/// Acts on a key while a moment or a text is typed.
fn prompt_key(key: KeyEvent, state: &mut State, timeline: &Timeline) -> io::Result<()> {
    let Some(prompt) = &mut state.prompt else {
        return Ok(());
    };
    match key.key {
        KeyCode::Enter => match state.prompt.take() {
            Some(Prompt::Time(typed)) => {
                // The forms `--seek` takes; what is not one is said.
                let at = At::parse(&typed).map_err(|e| e.to_string()).and_then(|at| {
                    timeline
                        .ms(at)
                        .map_err(|e| format!("{}: {e}", crate::visible::visible(&typed)))
                });
                match at {
                    Ok(ms) => state.jump(timeline, ms)?,
                    Err(e) => state.message = Some(e),
                }
            }
            Some(Prompt::Text(text)) if !text.is_empty() => {
                let finds = Finds {
                    at: timeline.find(&text)?,
                    text,
                };
                // From where the viewer is; else from the start.
                let first = finds
                    .next(state.clock(), true)
                    .or_else(|| finds.next(0, true));
                state.finds = Some(finds);
                if let Some((_, at)) = first {
                    state.jump(timeline, at)?;
                }
            }
            _ => {}
        },
        KeyCode::Escape => state.prompt = None,
        KeyCode::Backspace => {
            prompt.typed().pop();
        }
        KeyCode::Char(c) if !c.is_control() && prompt.typed().len() < 200 => {
            prompt.typed().push(c);
        }
        _ => {}
    }
    Ok(())
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_running_command_is_the_last_started_shortened() {
        let commands = Commands {
            at: vec![100, 200, 200],
            lines: vec![
                "cat /etc/hostname".to_owned(),
                "/bin/echo a".to_owned(),
                format!("touch /tmp/{}", "x".repeat(40)),
            ],
            why: None,
        };
        assert_eq!(commands.running(99), None);
        assert_eq!(
            commands.running(150),
            Some((1, "cat /etc/hostname".to_owned()))
        );
        // Started in the same ms: the last is named, cut to 32 characters.
        let (n, line) = commands.running(200).expect("one");
        assert_eq!(n, 3);
        assert_eq!(line, format!("touch /tmp/{}…", "x".repeat(20)));
        assert_eq!(line.chars().count(), COMMAND_WIDTH);
    }

    #[test]
    fn finds_step_forward_and_back_from_now() {
        let finds = Finds {
            text: "x".to_owned(),
            at: vec![100, 200, 300],
        };
        assert_eq!(finds.next(0, true), Some((1, 100)));
        assert_eq!(finds.next(100, true), Some((2, 200)));
        assert_eq!(finds.next(300, true), None);
        assert_eq!(finds.next(300, false), Some((2, 200)));
        assert_eq!(finds.next(250, false), Some((2, 200)));
        assert_eq!(finds.next(100, false), None);
    }

    /// The file at `path`, as a source that lives as long as the test.
    fn leaked(path: &std::path::Path) -> &'static dyn Source {
        Box::leak(Box::new(crate::source::File::new(path)))
    }

    /// "a", an hour's pause, "b": a recording without keyframes.
    fn hour_pause() -> (tempfile::TempDir, Timeline<'static>) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("pause.log");
        std::fs::write(
            &path,
            concat!(
                r#"{"ver":"2.3","host":"h","rec":"r","user":"u","term":"xterm","session":1,"id":1,"pos":0,"#,
                r#""timing":"=10x2>1+3600000>1","in_txt":"","in_bin":[],"out_txt":"ab","out_bin":[]}"#,
                "\n"
            ),
        )
        .expect("write the recording");
        let timeline =
            Timeline::open(leaked(&path), &Query::default(), false).expect("open the recording");
        (dir, timeline)
    }

    #[test]
    fn gaps_are_found_and_marked_for_a_while_after() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("gaps.log");
        let line = |id: u64, pos: u64, extra: &str| {
            format!(
                r#"{{"ver":"2.3","host":"h","rec":"r","user":"u","term":"xterm","session":1,"id":{id},"pos":{pos},"timing":"=10x2>1","in_txt":"","in_bin":[],"out_txt":"a","out_bin":[]{extra}}}"#
            )
        };
        let log = [
            line(1, 0, ""),
            line(4, 10_000, r#","gap":{"messages":2,"bytes":300}"#),
            line(5, 20_000, ""),
        ]
        .join("\n");
        std::fs::write(&path, log).expect("write the recording");
        let timeline =
            Timeline::open(leaked(&path), &Query::default(), false).expect("open the recording");
        assert_eq!(timeline.gaps.len(), 1);
        assert_eq!(timeline.gap_near(9_999), None);
        assert_eq!(timeline.gap_near(10_000).map(|g| g.messages), Some(2));
        assert_eq!(timeline.gap_near(14_999).map(|g| g.id), Some(4));
        assert_eq!(timeline.gap_near(15_000), None);
    }

    #[test]
    fn redacted_keys_are_found_and_marked_for_a_while_after() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("redacted.log");
        let line = |id: u64, pos: u64, extra: &str| {
            format!(
                r#"{{"ver":"2.3","host":"h","rec":"r","user":"u","term":"xterm","session":1,"id":{id},"pos":{pos},"timing":"=10x2>1","in_txt":"","in_bin":[],"out_txt":"a","out_bin":[]{extra}}}"#
            )
        };
        let log = [
            line(1, 0, ""),
            // Two marks in one message, the later first.
            line(
                2,
                10_000,
                r#","redacted":[{"at":12000,"in":3,"keys":4},{"at":10500,"in":0,"keys":9}]"#,
            ),
            line(3, 20_000, ""),
        ]
        .join("\n");
        std::fs::write(&path, log).expect("write the recording");
        let timeline =
            Timeline::open(leaked(&path), &Query::default(), false).expect("open the recording");
        assert_eq!(timeline.redactions.len(), 2);
        assert_eq!(timeline.redaction_near(10_499), None);
        assert_eq!(timeline.redaction_near(10_500).map(|r| r.keys), Some(9));
        assert_eq!(timeline.redaction_near(12_000).map(|r| r.keys), Some(4));
        assert_eq!(timeline.redaction_near(17_000), None);
    }

    /// A recording of "a", "b", "c" output at 0, 10 and 20 s (with a key
    /// typed before "c"), which started at 2027-01-15 08:00:00 UTC, by
    /// alice on vm.
    fn three_events() -> (tempfile::TempDir, Timeline<'static>) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("three.log");
        std::fs::write(
            &path,
            concat!(
                r#"{"ver":"2.3","host":"vm","rec":"r","user":"alice","term":"xterm","session":1,"id":1,"pos":0,"time":1800000000.000,"#,
                r#""timing":"=10x2>1+10000>1+9000<1+1000>1","in_txt":"x","in_bin":[],"out_txt":"abc","out_bin":[]}"#,
                "\n"
            ),
        )
        .expect("write the recording");
        let timeline =
            Timeline::open(leaked(&path), &Query::default(), false).expect("open the recording");
        (dir, timeline)
    }

    fn press(state: &mut State, timeline: &mut Timeline, keys: &[KeyCode]) -> Action {
        let mut action = Action::Go;
        for key in keys {
            let key = KeyEvent {
                key: *key,
                modifiers: Modifiers::NONE,
            };
            action = handle(key, state, timeline).expect("key");
        }
        action
    }

    fn typed(text: &str) -> Vec<KeyCode> {
        let mut keys = vec![KeyCode::Char('g')];
        keys.extend(text.chars().map(KeyCode::Char));
        keys.push(KeyCode::Enter);
        keys
    }

    fn shown(state: &State) -> String {
        state.screen.terminal(None).row_text(0)
    }

    #[test]
    fn go_to_takes_what_seek_takes_and_tells_what_it_does_not() {
        let (_dir, mut timeline) = three_events();
        assert_eq!(timeline.duration, 20_000);
        assert_eq!(timeline.origin.who, "alice@vm");
        assert_eq!(timeline.origin.start, Some(1_800_000_000_000));
        let mut state = State::new(&timeline, 0, 1.0, None).expect("start");
        state.paused = true;
        press(&mut state, &mut timeline, &typed("0:10"));
        assert_eq!((state.now, shown(&state).as_str()), (10_000, "ab"));
        assert_eq!(state.message, None);
        // Not a moment: said, and nothing moves (before, `-` was dropped
        // and this went to 5 s).
        press(&mut state, &mut timeline, &typed("-5"));
        assert_eq!(state.now, 10_000);
        let told = state.message.clone().expect("an error is shown");
        assert!(told.contains("-5"), "{told}");
        // The next key clears it.
        press(&mut state, &mut timeline, &[KeyCode::Char('p')]);
        assert_eq!(state.message, None);
        state.paused = true;
        // A wall-clock moment, as --seek takes it (before: the end).
        press(&mut state, &mut timeline, &typed("2027-01-15 08:00:05 UTC"));
        assert_eq!((state.now, shown(&state).as_str()), (5_000, "a"));
        press(&mut state, &mut timeline, &typed("2027-01-15 07:59 UTC"));
        let told = state.message.clone().expect("before the start is told");
        assert!(told.contains("before the recording started"), "{told}");
        assert_eq!(state.now, 5_000);
        press(&mut state, &mut timeline, &typed("end"));
        assert_eq!((state.now, shown(&state).as_str()), (20_000, "abc"));
        press(&mut state, &mut timeline, &typed("1:70"));
        assert!(state.message.is_some());
    }

    #[test]
    fn a_step_is_one_recorded_event_and_arrows_go_as_in_less() {
        let (_dir, mut timeline) = three_events();
        let mut state = State::new(&timeline, 0, 1.0, None).expect("start");
        state.paused = true;
        state.advance(timeline.duration);
        assert_eq!(shown(&state), "a");
        // `.` while playing only says it steps while paused.
        state.paused = false;
        press(&mut state, &mut timeline, &[KeyCode::Char('.')]);
        assert!(state.message.is_some());
        state.paused = true;
        press(&mut state, &mut timeline, &[KeyCode::Char('.')]);
        assert_eq!((state.now, shown(&state).as_str()), (10_000, "ab"));
        // The key typed at 19 s shows nothing: the step goes on to "c".
        press(&mut state, &mut timeline, &[KeyCode::Char('.')]);
        assert_eq!((state.now, shown(&state).as_str()), (20_000, "abc"));
        // Up and PgUp go back, Down and PgDn on.
        press(&mut state, &mut timeline, &[KeyCode::UpArrow]);
        assert_eq!(state.now, 0);
        press(&mut state, &mut timeline, &[KeyCode::DownArrow]);
        assert_eq!(state.now, 20_000);
        press(&mut state, &mut timeline, &[KeyCode::PageUp]);
        assert_eq!(state.now, 0);
        press(&mut state, &mut timeline, &[KeyCode::Char('f')]);
        assert_eq!(state.now, 20_000);
        press(&mut state, &mut timeline, &[KeyCode::Char('b')]);
        assert_eq!(state.now, 0);
        press(&mut state, &mut timeline, &[KeyCode::PageDown]);
        assert_eq!(state.now, 20_000);
        press(&mut state, &mut timeline, &[KeyCode::LeftArrow]);
        assert_eq!(state.now, 15_000);
    }

    #[test]
    fn help_status_suspend_and_quit_keys() {
        let (_dir, mut timeline) = three_events();
        let mut state = State::new(&timeline, 0, 1.0, None).expect("start");
        press(&mut state, &mut timeline, &[KeyCode::Char('?')]);
        assert!(state.help);
        // Any key closes the help, and does nothing else.
        assert_eq!(
            press(&mut state, &mut timeline, &[KeyCode::Char('q')]),
            Action::Go
        );
        assert!(!state.help);
        state.shown = false;
        press(&mut state, &mut timeline, &[KeyCode::Char('s')]);
        assert_eq!(state.status, Some(true));
        state.shown = true;
        press(&mut state, &mut timeline, &[KeyCode::Char('s')]);
        assert_eq!(state.status, Some(false));
        let ctrl = |c| KeyEvent {
            key: KeyCode::Char(c),
            modifiers: Modifiers::CTRL,
        };
        assert_eq!(
            handle(ctrl('z'), &mut state, &mut timeline).expect("key"),
            Action::Suspend
        );
        assert_eq!(
            handle(ctrl('c'), &mut state, &mut timeline).expect("key"),
            Action::Quit
        );
        assert_eq!(
            press(&mut state, &mut timeline, &[KeyCode::Char('q')]),
            Action::Quit
        );
        // n without a search says so.
        press(&mut state, &mut timeline, &[KeyCode::Char('n')]);
        assert!(state.message.is_some());
    }

    #[test]
    fn the_status_line_covers_no_row_unsaid() {
        let (_dir, timeline) = three_events();
        let mut state = State::new(&timeline, 0, 1.0, None).expect("start");
        let layout = |state: &State, view| draw::Layout::new((80, 24), view, state);
        // As tall as the recording, playing: every row, no status line.
        assert_eq!(
            layout(&state, (80, 24)),
            draw::Layout {
                rows: 24,
                cols: 80,
                status: false
            }
        );
        // A spare row: the status line takes it.
        assert_eq!(
            layout(&state, (80, 25)),
            draw::Layout {
                rows: 24,
                cols: 80,
                status: true
            }
        );
        // Paused (or typing, or told something): shown, over the last row,
        // which is counted as clipped.
        state.paused = true;
        assert_eq!(
            layout(&state, (80, 24)),
            draw::Layout {
                rows: 23,
                cols: 80,
                status: true
            }
        );
        state.status = Some(false);
        assert!(!layout(&state, (80, 24)).status);
        state.prompt = Some(Prompt::Time(String::new()));
        assert!(layout(&state, (80, 24)).status);
        // A smaller viewer: always told.
        state.prompt = None;
        assert_eq!(
            layout(&state, (60, 15)),
            draw::Layout {
                rows: 14,
                cols: 60,
                status: true
            }
        );
    }

    /// Lets `ms` of wall-clock time pass for the playback clock.
    fn elapse(state: &mut State, ms: u64) {
        state.anchor -= Duration::from_millis(ms);
    }

    #[test]
    fn a_pause_longer_than_the_limit_is_cut_to_it() {
        let (_dir, timeline) = hour_pause();
        assert_eq!(timeline.duration, 3_600_000);
        assert!(!timeline.keyframed);

        let mut state = State::new(&timeline, 0, 1.0, Some(100)).expect("start");
        state.advance(timeline.duration);
        assert_eq!(state.screen.terminal(None).row_text(0), "a");
        // Until the limit, the pause is played as recorded; the next packet
        // is due at the limit.
        elapse(&mut state, 60);
        state.advance(timeline.duration);
        assert_eq!(state.screen.terminal(None).row_text(0), "a");
        assert!(state.wait() <= Duration::from_millis(40));
        elapse(&mut state, 50);
        state.advance(timeline.duration);
        assert_eq!(state.screen.terminal(None).row_text(0), "ab");
        assert!(state.now >= 3_600_000);

        // Without a limit the hour is waited for.
        let mut state = State::new(&timeline, 0, 1.0, None).expect("start");
        elapse(&mut state, 60_000);
        state.advance(timeline.duration);
        assert_eq!(state.screen.terminal(None).row_text(0), "a");
        assert_eq!(state.wait(), Duration::from_millis(250));

        // Paused, the limit does not play on.
        let mut state = State::new(&timeline, 0, 1.0, Some(100)).expect("start");
        state.advance(timeline.duration);
        state.paused = true;
        elapse(&mut state, 1_000);
        state.advance(timeline.duration);
        assert_eq!(state.screen.terminal(None).row_text(0), "a");
    }
}
