//! `termtape play` on a terminal: the recording's screen, drawn from the
//! emulator on whatever terminal the viewer has (termwiz's terminal I/O and
//! screen diffs, colours brought down to what the viewer's terminal shows),
//! with keyboard controls and a status line. Every jump, backward or
//! forward, goes through the keyframes ([`crate::seek`]).
//!
//! Keys: space pause/resume; `+`/`-` speed (1/16× to 16×); ←/→ 5 s; ↓/↑
//! 1 min; PgDn/PgUp 10 min; Home/End; `g`, a time and Enter to jump there;
//! `.` one message forward while paused; `q` quits.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use termtape_emu::{Color, Terminal as Emulator};
use termtape_format::{Message, Reader, Timed};
use termtape_keyframe::Screen;
use termwiz::caps::{Capabilities, ColorLevel, ProbeHints};
use termwiz::cell::{CellAttributes, Intensity, Underline};
use termwiz::color::{ColorAttribute, SrgbaTuple};
use termwiz::input::{InputEvent, KeyCode, KeyEvent, Modifiers};
use termwiz::surface::{Change, CursorVisibility, Position};
use termwiz::terminal::buffered::BufferedTerminal;
use termwiz::terminal::{Terminal, new_terminal};

use crate::gap::Gap;
use crate::recording::{Query, Selection};
use crate::search;
use crate::seek::{At, Method, screen_at};
use crate::source::Source;

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
}

/// Plays the recording in file `path` on the terminal, as `playback` says,
/// until the viewer quits.
pub fn play(path: &Path, query: &Query, playback: Playback) -> io::Result<()> {
    let mut timeline = Timeline::open(path, query)?;
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
    let terminal = view.terminal();
    let _ = terminal.exit_alternate_screen();
    let _ = terminal.set_cooked_mode();
    result
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

/// The recording: where any moment is, and what follows it.
struct Timeline {
    path: PathBuf,
    query: Query,
    /// Milliseconds from the start to the last packet.
    duration: u64,
    /// Whether the recording has keyframes; without, every jump replays it
    /// from the start.
    keyframed: bool,
    /// The recording's key (its id), to tell its finds from others' in a
    /// file that holds several.
    key: Option<String>,
    /// Where a rate limit dropped messages, in order.
    gaps: Vec<Gap>,
}

/// How long after a gap (recording time, ms) the screen is marked.
const GAP_MARK: u64 = 5_000;

/// The packets after a moment, in order.
struct Forward {
    reader: Reader<BufReader<File>>,
    key: Option<String>,
    selection: Selection,
    after: u64,
    queue: VecDeque<(u64, Timed)>,
}

impl Timeline {
    fn open(path: &Path, query: &Query) -> io::Result<Timeline> {
        let mut timeline = Timeline {
            path: path.to_owned(),
            query: query.clone(),
            duration: 0,
            keyframed: true,
            key: None,
            gaps: Vec::new(),
        };
        // The last packet's time: read forward from the last keyframe.
        let (_, mut forward, keyframed) = timeline.seek_with(u64::MAX, 0)?;
        timeline.keyframed = keyframed;
        while let Some((_, t)) = forward.next() {
            timeline.duration = t.at;
        }
        timeline.key = forward.key;
        timeline.gaps = timeline.find_gaps()?;
        Ok(timeline)
    }

    /// The recording's gaps: only the lines that mention one are parsed.
    fn find_gaps(&self) -> io::Result<Vec<Gap>> {
        let mut file = BufReader::with_capacity(256 * 1024, File::open(&self.path)?);
        let mut line = Vec::new();
        let mut gaps = Vec::new();
        loop {
            line.clear();
            if file.read_until(b'\n', &mut line)? == 0 {
                return Ok(gaps);
            }
            if !line.windows(6).any(|w| w == b"\"gap\":") {
                continue;
            }
            let Ok(text) = std::str::from_utf8(&line) else {
                continue;
            };
            let Ok(msg) = Message::parse(text.trim_end(), &Default::default()) else {
                continue;
            };
            let ours = match (&self.key, &self.query.selection) {
                (Some(key), _) => msg.recording_key() == *key,
                (None, Selection::Rec(id)) => msg.rec.as_deref() == Some(id),
                (None, Selection::First) => true,
            };
            if let Some(gap) = Gap::of(&msg).filter(|_| ours) {
                gaps.push(gap);
            }
        }
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
        let file = BufReader::with_capacity(256 * 1024, File::open(&self.path)?);
        let ignore_case = !text.chars().any(char::is_uppercase);
        let mut moments = Vec::new();
        search::search(
            file,
            &self.path.display().to_string(),
            &self.query.filter,
            &search::Pattern::new(text, ignore_case),
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
            At::Clock(_) => {
                let source = Source::File(self.path.clone());
                match at.resolve(&source, &self.query).map_err(io::Error::other)? {
                    At::Ms(ms) => ms,
                    _ => self.duration,
                }
            }
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
        let source = Source::File(self.path.clone());
        let (term, method) =
            screen_at(&source, &self.query, At::Ms(at), |_| {}).map_err(io::Error::other)?;
        let (offset, keyframed) = match method {
            Method::Keyframe { offset, .. } => (offset, true),
            Method::Replay(_) => (0, false),
            Method::JournalKeyframe { .. } => (0, true),
        };
        let mut file = File::open(&self.path)?;
        file.seek(SeekFrom::Start(offset))?;
        let forward = Forward {
            reader: Reader::new(BufReader::new(file), None, true),
            key: None,
            selection: self.query.selection.clone(),
            after,
            queue: VecDeque::new(),
        };
        Ok((term, forward, keyframed))
    }
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
            let (id, after, queue) = (msg.id, self.after, &mut self.queue);
            let _ = msg.decode(&Default::default(), |t| {
                if t.at > after {
                    queue.push_back((id, t));
                }
            });
        }
    }

    fn ours(&mut self, msg: &Message) -> bool {
        let key = msg.recording_key();
        match (&self.key, &self.selection) {
            (Some(k), _) => *k == key,
            (None, Selection::Rec(id)) if key != *id && msg.rec.as_deref() != Some(id) => false,
            (None, _) => {
                self.key = Some(key);
                true
            }
        }
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
        })
    }

    /// Jumps to `at` ms, keeping speed, pause and the pause limit.
    fn jump(&mut self, timeline: &Timeline, at: u64) -> io::Result<()> {
        let (speed, paused, finds) = (self.speed, self.paused, self.finds.take());
        *self = State::new(timeline, at, speed, self.max_pause)?;
        self.paused = paused;
        self.finds = finds;
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

    /// Applies the next message's packets (while paused).
    fn step(&mut self) {
        let Some((id, _)) = self.pending.as_ref() else {
            return;
        };
        let id = *id;
        while let Some((i, t)) = self.pending.take() {
            if i != id {
                self.pending = Some((i, t));
                break;
            }
            self.screen.apply(&t.packet);
            self.now = self.now.max(t.at);
            self.last_at = t.at;
            self.pending = self.forward.next();
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
}

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
    loop {
        if state.advance(timeline.duration) {
            dirty = true;
        }
        if dirty || !state.paused {
            draw(view, &state, timeline, level)?;
            dirty = false;
        }
        let event = view
            .terminal()
            .poll_input(Some(state.wait()))
            .map_err(io::Error::other)?;
        let Some(event) = event else { continue };
        dirty = true;
        let mut go_on = true;
        match event {
            InputEvent::Resized { cols, rows } => {
                view.resize(cols, rows);
                view.repaint().map_err(io::Error::other)?;
            }
            InputEvent::Key(key) => go_on = handle(key, &mut state, timeline)?,
            _ => {}
        }
        if !go_on {
            return Ok(());
        }
    }
}

/// Acts on a key; false to quit.
fn handle(key: KeyEvent, state: &mut State, timeline: &Timeline) -> io::Result<bool> {
    if let Some(prompt) = &mut state.prompt {
        match (key.key, &*prompt) {
            (KeyCode::Enter, _) => match state.prompt.take() {
                Some(Prompt::Time(typed)) => {
                    if let Ok(at) = At::parse(&typed) {
                        state.jump(timeline, timeline.ms(at)?)?;
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
            (KeyCode::Escape, _) => state.prompt = None,
            (KeyCode::Backspace, _) => {
                prompt.typed().pop();
            }
            (KeyCode::Char(c), Prompt::Time(_))
                if c.is_ascii_digit() || matches!(c, ':' | '.' | 'e' | 'n' | 'd') =>
            {
                prompt.typed().push(c);
            }
            (KeyCode::Char(c), Prompt::Text(_)) if !c.is_control() => prompt.typed().push(c),
            _ => {}
        }
        return Ok(true);
    }
    let now = state.clock();
    let back = |ms: u64| now.saturating_sub(ms);
    let ahead = |ms: u64| now.saturating_add(ms);
    match key.key {
        KeyCode::Char('q') | KeyCode::Char('Q') => return Ok(false),
        KeyCode::Char('c') if key.modifiers.contains(Modifiers::CTRL) => return Ok(false),
        KeyCode::Char(' ') => {
            state.now = now;
            state.anchor = Instant::now();
            state.paused = !state.paused;
        }
        KeyCode::Char('+') | KeyCode::Char('=') => {
            state.now = now;
            state.anchor = Instant::now();
            state.speed = (state.speed * 2.0).min(SPEEDS.1);
        }
        KeyCode::Char('-') => {
            state.now = now;
            state.anchor = Instant::now();
            state.speed = (state.speed / 2.0).max(SPEEDS.0);
        }
        KeyCode::Char('.') if state.paused => state.step(),
        KeyCode::Char('g') => state.prompt = Some(Prompt::Time(String::new())),
        KeyCode::Char('/') => state.prompt = Some(Prompt::Text(String::new())),
        KeyCode::Char(c @ ('n' | 'N')) => {
            let next = state.finds.as_ref().and_then(|f| f.next(now, c == 'n'));
            if let Some((_, at)) = next {
                state.jump(timeline, at)?;
            }
        }
        KeyCode::LeftArrow => state.jump(timeline, back(5_000))?,
        KeyCode::RightArrow => state.jump(timeline, ahead(5_000))?,
        KeyCode::DownArrow => state.jump(timeline, back(60_000))?,
        KeyCode::UpArrow => state.jump(timeline, ahead(60_000))?,
        KeyCode::PageDown => state.jump(timeline, back(600_000))?,
        KeyCode::PageUp => state.jump(timeline, ahead(600_000))?,
        KeyCode::Home => state.jump(timeline, 0)?,
        KeyCode::End => state.jump(timeline, timeline.duration)?,
        _ => {}
    }
    Ok(true)
}

/// Draws the screen and the status line.
fn draw<T: Terminal>(
    view: &mut BufferedTerminal<T>,
    state: &State,
    timeline: &Timeline,
    level: Option<ColorLevel>,
) -> io::Result<()> {
    let duration = timeline.duration;
    let (view_cols, view_rows) = view.dimensions();
    let term = state.screen.terminal(None);
    // The status line takes the last row; on a viewer exactly as tall as
    // the recording it covers the recording's last row.
    let clipped = view_rows < usize::from(term.rows()) || view_cols < usize::from(term.cols());
    let rows = usize::from(term.rows()).min(view_rows.saturating_sub(1));
    let cols = usize::from(term.cols()).min(view_cols);
    view.add_change(Change::CursorVisibility(CursorVisibility::Hidden));
    view.add_change(Change::AllAttributes(CellAttributes::default()));
    view.add_change(Change::ClearScreen(ColorAttribute::Default));
    for row in 0..rows {
        view.add_change(Change::CursorPosition {
            x: Position::Absolute(0),
            y: Position::Absolute(row),
        });
        let mut col = 0;
        while col < cols {
            let Some(cell) = term.cell(row as u16, col as u16) else {
                break;
            };
            let width = usize::from(cell.width().max(1));
            if cell.is_continuation() {
                col += 1;
                continue;
            }
            if col + width > cols {
                break;
            }
            view.add_change(Change::AllAttributes(attributes(cell.pen(), level)));
            let text = term.cell_text(row as u16, col as u16);
            view.add_change(Change::Text(if text.is_empty() {
                " ".to_owned()
            } else {
                text
            }));
            col += width;
        }
    }
    let mut status = format!(
        " {} {} / {}  {}x",
        if state.paused { "||" } else { ">" },
        crate::time::duration(state.now.min(duration)),
        crate::time::duration(duration),
        speed_label(state.speed),
    );
    if clipped {
        status.push_str(&format!("  [clipped {}x{}]", term.cols(), term.rows()));
    }
    let near = timeline.gap_near(state.now);
    if let Some(gap) = near {
        status.push_str(&format!(
            "  [GAP at {}: {} message(s) dropped by the rate limit]",
            crate::time::duration(gap.at),
            gap.messages
        ));
    } else if !timeline.gaps.is_empty() {
        let dropped: u64 = timeline.gaps.iter().map(|g| g.messages).sum();
        status.push_str(&format!(
            "  [{} gap(s), {dropped} message(s) dropped]",
            timeline.gaps.len()
        ));
    }
    if !timeline.keyframed {
        status.push_str(
            "  [no keyframes: jumps replay from the start; `termtape keyframe` adds them]",
        );
    }
    if let Some(finds) = &state.finds {
        // Which find the screen is at: the last at or before now.
        let shown = finds.at.partition_point(|&a| a <= state.now);
        if finds.at.is_empty() {
            status.push_str(&format!("  [/{}: not found]", finds.text));
        } else {
            status.push_str(&format!("  [/{} {shown}/{}]", finds.text, finds.at.len()));
        }
    }
    match &state.prompt {
        Some(Prompt::Time(typed)) => {
            status = format!(" go to (seconds, MM:SS, HH:MM:SS or end): {typed}");
        }
        Some(Prompt::Text(typed)) => status = format!(" find: {typed}"),
        None => status.push_str(
            "  space pause, +/- speed, arrows PgUp PgDn Home End jump, g go to, / find, n N next, q quit",
        ),
    }
    // The marker: on the screen's top right, for a while after a gap.
    if let Some(gap) = near {
        let mark = format!(" ▲ {} message(s) lost here (rate limit) ", gap.messages);
        let width = mark.chars().count();
        if width <= view_cols {
            let mut red = CellAttributes::default();
            red.set_reverse(true);
            red.set_foreground(color(Color::Indexed(1), level));
            view.add_change(Change::CursorPosition {
                x: Position::Absolute(view_cols - width),
                y: Position::Absolute(0),
            });
            view.add_change(Change::AllAttributes(red));
            view.add_change(Change::Text(mark));
        }
    }
    let status: String = status.chars().take(view_cols).collect();
    let mut reverse = CellAttributes::default();
    reverse.set_reverse(true);
    view.add_change(Change::CursorPosition {
        x: Position::Absolute(0),
        y: Position::Absolute(view_rows.saturating_sub(1)),
    });
    view.add_change(Change::AllAttributes(reverse));
    view.add_change(Change::Text(format!("{status:<view_cols$}")));
    view.add_change(Change::AllAttributes(CellAttributes::default()));
    view.flush().map_err(io::Error::other)
}

fn speed_label(speed: f64) -> String {
    if speed >= 1.0 {
        format!("{speed}")
    } else {
        format!("1/{}", (1.0 / speed).round())
    }
}

/// A cell's rendition as termwiz attributes, its colours brought down to
/// what the viewer's terminal shows.
fn attributes(pen: termtape_emu::Pen, level: Option<ColorLevel>) -> CellAttributes {
    let mut a = CellAttributes::default();
    a.set_foreground(color(pen.fg(), level));
    a.set_background(color(pen.bg(), level));
    a.set_intensity(if pen.bold() {
        Intensity::Bold
    } else if pen.faint() {
        Intensity::Half
    } else {
        Intensity::Normal
    });
    a.set_italic(pen.italic());
    a.set_reverse(pen.inverse());
    a.set_invisible(pen.hidden());
    a.set_strikethrough(pen.strike());
    a.set_underline(if pen.underline() == termtape_emu::Underline::None {
        Underline::None
    } else {
        Underline::Single
    });
    a
}

/// The xterm palette's RGB value of colour `i` (0–255).
fn palette(i: u8) -> (u8, u8, u8) {
    const BASE: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    match i {
        0..=15 => BASE[usize::from(i)],
        16..=231 => {
            let i = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(i / 36), level(i / 6 % 6), level(i % 6))
        }
        _ => {
            let v = 8 + (i - 232) * 10;
            (v, v, v)
        }
    }
}

/// The palette colour nearest to `rgb` among the first `n`.
fn nearest(rgb: (u8, u8, u8), n: u16) -> u8 {
    let distance = |c: (u8, u8, u8)| {
        let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2);
        d(c.0, rgb.0) + d(c.1, rgb.1) + d(c.2, rgb.2)
    };
    (0..n)
        .map(|i| i as u8)
        .min_by_key(|&i| distance(palette(i)))
        .unwrap_or(0)
}

fn color(c: Color, level: Option<ColorLevel>) -> ColorAttribute {
    let Some(level) = level else {
        // A terminal without colours: attributes only.
        return ColorAttribute::Default;
    };
    match (c, level) {
        (Color::Default, _) => ColorAttribute::Default,
        (Color::Indexed(i), ColorLevel::Sixteen) if i >= 16 => {
            ColorAttribute::PaletteIndex(nearest(palette(i), 16))
        }
        (Color::Indexed(i), _) => ColorAttribute::PaletteIndex(i),
        (Color::Rgb(r, g, b), ColorLevel::TrueColor) => {
            ColorAttribute::TrueColorWithPaletteFallback(
                SrgbaTuple(
                    f32::from(r) / 255.0,
                    f32::from(g) / 255.0,
                    f32::from(b) / 255.0,
                    1.0,
                ),
                nearest((r, g, b), 256),
            )
        }
        (Color::Rgb(r, g, b), ColorLevel::TwoFiftySix) => {
            ColorAttribute::PaletteIndex(nearest((r, g, b), 256))
        }
        (Color::Rgb(r, g, b), ColorLevel::Sixteen) => {
            ColorAttribute::PaletteIndex(nearest((r, g, b), 16))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_come_down_to_what_the_terminal_shows() {
        assert_eq!(palette(196), (255, 0, 0));
        assert_eq!(nearest((255, 0, 0), 16), 9);
        assert_eq!(nearest((96, 134, 176), 256), 67);
        assert_eq!(
            color(Color::Indexed(196), Some(ColorLevel::Sixteen)),
            ColorAttribute::PaletteIndex(9)
        );
        assert_eq!(
            color(Color::Rgb(0, 0, 0), Some(ColorLevel::TwoFiftySix)),
            ColorAttribute::PaletteIndex(0)
        );
        assert_eq!(
            color(Color::Indexed(100), Some(ColorLevel::TwoFiftySix)),
            ColorAttribute::PaletteIndex(100)
        );
        assert_eq!(color(Color::Rgb(1, 2, 3), None), ColorAttribute::Default);
        assert_eq!(speed_label(0.0625), "1/16");
        assert_eq!(speed_label(4.0), "4");
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

    /// "a", an hour's pause, "b": a recording without keyframes.
    fn hour_pause() -> (tempfile::TempDir, Timeline) {
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
        let timeline = Timeline::open(&path, &Query::default()).expect("open the recording");
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
        let timeline = Timeline::open(&path, &Query::default()).expect("open the recording");
        assert_eq!(timeline.gaps.len(), 1);
        assert_eq!(timeline.gap_near(9_999), None);
        assert_eq!(timeline.gap_near(10_000).map(|g| g.messages), Some(2));
        assert_eq!(timeline.gap_near(14_999).map(|g| g.id), Some(4));
        assert_eq!(timeline.gap_near(15_000), None);
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
