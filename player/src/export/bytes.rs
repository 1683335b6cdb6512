//! The formats that keep bytes as they were: util-linux `script`'s
//! typescript with its timing log, and ttyrec.
//!
//! **script**: the typescript is the output, between the header and footer
//! lines `script` writes (`Script started on …` and `Script done on …`,
//! which `scriptreplay` passes over); the timing log is `script`'s
//! advanced ("multi-stream") form, as `script -T` writes it when it logs
//! more than output: `H` lines (information: start time, terminal, size),
//! then `O DELAY BYTES` and `I DELAY BYTES` for output and input,
//! `S DELAY SIGWINCH ROWS=R COLS=C` for a resize, each delay in seconds
//! since the previous line. Input goes to a log of its own. Replay with
//! `scriptreplay -T OUT.timing -O OUT [-I OUT.input]`.
//!
//! **ttyrec**: frames of output, each a header of three little-endian
//! 32-bit numbers (wall-clock seconds, microseconds, length) and the bytes.
//! ttyrec has no size: the size at the start and each resize are written
//! as frames of their own holding xterm's resize sequence `ESC [ 8 ; R ; C
//! t`, which players that follow it apply, and which `termtape import`
//! reads back as a resize. Input is not part of ttyrec.

use std::io::{self, Write};

use super::{Event, Meta, Sink, seconds};

/// The ISO 8601 time `script` writes in its header and footer.
fn iso(ms: Option<u64>) -> String {
    let Some(ms) = ms else {
        return "an unknown date".to_owned();
    };
    let ts = jiff::Timestamp::from_millisecond(ms as i64).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ts.strftime("%Y-%m-%d %H:%M:%S+00:00").to_string()
}

/// A typescript and its timing log.
pub struct Script<W> {
    typescript: W,
    timing: W,
    /// The input log, opened at the first input.
    input: Option<W>,
    open_input: Box<dyn FnMut() -> io::Result<W>>,
    /// Time of the previous timing line.
    previous: u64,
    start: Option<u64>,
    exit: Option<i32>,
    /// The `Script started on …` line, which every log starts with.
    started: String,
}

impl<W: Write> Script<W> {
    /// Writes the output to `typescript`, the timing to `timing`, and input
    /// (if any) to what `open_input` gives at the first input.
    pub fn new(
        typescript: W,
        timing: W,
        open_input: Box<dyn FnMut() -> io::Result<W>>,
    ) -> Script<W> {
        Script {
            typescript,
            timing,
            input: None,
            open_input,
            previous: 0,
            start: None,
            exit: None,
            started: String::new(),
        }
    }

    fn delay(&mut self, at: u64) -> String {
        let delay = at.saturating_sub(self.previous);
        self.previous = self.previous.max(at);
        format!("{}000", seconds(delay))
    }
}

impl<W: Write> Sink for Script<W> {
    fn begin(&mut self, meta: &Meta) -> io::Result<()> {
        self.start = meta.start;
        self.started = format!(
            "Script started on {} [TERM=\"{}\" COLUMNS=\"{}\" LINES=\"{}\"]\n",
            iso(meta.start),
            meta.term.replace(['"', '\n'], ""),
            meta.cols,
            meta.rows
        );
        self.typescript.write_all(self.started.as_bytes())?;
        for (name, value) in [
            ("START_TIME", iso(meta.start)),
            ("TERM", meta.term.replace('\n', " ")),
            ("COLUMNS", meta.cols.to_string()),
            ("LINES", meta.rows.to_string()),
        ] {
            writeln!(self.timing, "H 0.000000 {name} {value}")?;
        }
        Ok(())
    }

    fn event(&mut self, at: u64, event: Event<'_>) -> io::Result<()> {
        match event {
            Event::Output(bytes) => {
                let delay = self.delay(at);
                writeln!(self.timing, "O {delay} {}", bytes.len())?;
                self.typescript.write_all(bytes)
            }
            Event::Input(bytes) => {
                let delay = self.delay(at);
                writeln!(self.timing, "I {delay} {}", bytes.len())?;
                if self.input.is_none() {
                    let mut input = (self.open_input)()?;
                    input.write_all(self.started.as_bytes())?;
                    self.input = Some(input);
                }
                self.input.as_mut().expect("opened").write_all(bytes)
            }
            Event::Resize(cols, rows) => {
                let delay = self.delay(at);
                writeln!(self.timing, "S {delay} SIGWINCH ROWS={rows} COLS={cols}")
            }
            Event::Marker(_) => Ok(()),
            Event::Exit(code) => {
                self.exit = Some(code);
                Ok(())
            }
        }
    }

    fn end(&mut self, at: u64) -> io::Result<()> {
        let done = iso(self.start.map(|s| s + at));
        match self.exit {
            Some(code) => writeln!(
                self.typescript,
                "\nScript done on {done} [COMMAND_EXIT_CODE=\"{code}\"]"
            )?,
            None => writeln!(self.typescript, "\nScript done on {done}")?,
        }
        writeln!(self.timing, "H 0.000000 DURATION {}000", seconds(at))?;
        if let Some(code) = self.exit {
            writeln!(self.timing, "H 0.000000 EXIT_CODE {code}")?;
        }
        self.typescript.flush()?;
        self.timing.flush()?;
        if let Some(input) = self.input.as_mut() {
            input.flush()?;
        }
        Ok(())
    }
}

/// The largest ttyrec frame written: output is cut into frames this long.
const TTYREC_FRAME: usize = 64 * 1024;

/// ttyrec frames.
#[derive(Debug)]
pub struct Ttyrec<W> {
    out: W,
    start: u64,
}

impl<W: Write> Ttyrec<W> {
    /// A writer of frames to `out`.
    pub fn new(out: W) -> Ttyrec<W> {
        Ttyrec { out, start: 0 }
    }

    fn frame(&mut self, at: u64, bytes: &[u8]) -> io::Result<()> {
        let time = self.start + at;
        let secs = u32::try_from(time / 1000).unwrap_or(u32::MAX);
        let usecs = (time % 1000) as u32 * 1000;
        for chunk in bytes.chunks(TTYREC_FRAME) {
            self.out.write_all(&secs.to_le_bytes())?;
            self.out.write_all(&usecs.to_le_bytes())?;
            self.out.write_all(&(chunk.len() as u32).to_le_bytes())?;
            self.out.write_all(chunk)?;
        }
        Ok(())
    }
}

/// xterm's "resize the window" sequence, which ttyrec carries sizes as.
pub fn resize_sequence(cols: u16, rows: u16) -> String {
    format!("\x1b[8;{rows};{cols}t")
}

impl<W: Write> Sink for Ttyrec<W> {
    fn begin(&mut self, meta: &Meta) -> io::Result<()> {
        self.start = meta.start.unwrap_or(0);
        self.frame(0, resize_sequence(meta.cols, meta.rows).as_bytes())
    }

    fn event(&mut self, at: u64, event: Event<'_>) -> io::Result<()> {
        match event {
            Event::Output(bytes) => self.frame(at, bytes),
            Event::Resize(cols, rows) => self.frame(at, resize_sequence(cols, rows).as_bytes()),
            Event::Input(_) | Event::Marker(_) | Event::Exit(_) => Ok(()),
        }
    }

    fn end(&mut self, _at: u64) -> io::Result<()> {
        self.out.flush()
    }
}
