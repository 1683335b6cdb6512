//! `termtape`: play, inspect and list recordings; `termtape rec` records.

mod cli;

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use termtape_format::Stream;
use termtape_player::recording::ReadError;
use termtape_player::source::Filter;
use termtape_player::{Damage, Query, Selection, Source, cat, list, play, seek};

use crate::cli::{Cli, Command, Common, Select};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = io::stdout().flush();
            eprintln!("termtape: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<ReadError>()
                .and_then(ReadError::output_error)
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Rec { args } => exec_beside("termtape-rec", args),
        Command::Users { args } => {
            let mut all = vec!["users".into()];
            all.extend(args);
            exec_beside("termtape-session", all)
        }
        Command::Cat {
            input,
            original,
            common,
        } => {
            let stream = if input { Stream::Input } else { Stream::Output };
            with_recording(&common, false, |reader, name, query, on_damage| {
                let mut out = io::BufWriter::with_capacity(256 * 1024, io::stdout().lock());
                if original {
                    cat::cat_original(reader, name, query, stream, &mut out, on_damage)
                } else {
                    cat::cat(reader, name, query, stream, &mut out, on_damage)
                }
            })
        }
        Command::Play {
            raw,
            seek: start,
            original,
            speed,
            max_pause,
            follow,
            common,
        } => {
            use std::io::IsTerminal;
            let source = Source::parse(&common.source)?;
            if let Source::File(path) = &source
                && !source.is_stream()
                && !raw
                && !original
                && !follow
                && io::stdin().is_terminal()
                && io::stdout().is_terminal()
            {
                termtape_player::tui::play(
                    path,
                    &query(&common, false),
                    termtape_player::tui::Playback {
                        start: start.unwrap_or(seek::At::Ms(0)),
                        speed,
                        max_pause: max_pause.map(Duration::from_secs_f64),
                    },
                )
                .with_context(|| format!("playing {}", source.name()))?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut timing = play::Timing {
                speed,
                max_pause: max_pause.map(Duration::from_secs_f64),
                after: None,
            };
            if let Some(at) = start {
                // The screen at that moment, as the VT sequences that draw it
                // on a reset terminal, then what came after, timed.
                if original {
                    bail!(
                        "--seek draws the screen from the converted text; \
                         play the original bytes from the start"
                    );
                }
                if source.is_stream() {
                    bail!(
                        "--seek reads {} twice (the screen at the moment, then what follows), \
                         and a pipe, FIFO or device can be read once: play it from the start, \
                         or copy it to a file first",
                        source.name()
                    );
                }
                let query = query(&common, false);
                let at = at.resolve(&source, &query)?;
                // Damage is reported by the playing below; an unusable
                // keyframe only here.
                let (term, _) = seek::screen_at(&source, &query, at, |e| {
                    if let termtape_format::Error::InvalidField { field: "kf", .. } = e {
                        eprintln!("termtape: warning: {e}");
                    }
                })?;
                let mut out = io::stdout().lock();
                out.write_all(&term.snapshot_bytes())?;
                out.flush()?;
                timing.after = Some(match at {
                    seek::At::Ms(ms) => ms,
                    _ => u64::MAX,
                });
            }
            with_recording(&common, follow, |reader, name, query, on_damage| {
                let mut out = io::stdout().lock();
                if original {
                    play::play_raw_original(reader, name, query, timing, &mut out, on_damage)
                } else {
                    play::play_raw(reader, name, query, timing, &mut out, on_damage)
                }
            })
        }
        Command::Screen { at, format, common } => screen(&common, at, &format),
        Command::Keyframe {
            keyframe_bytes,
            keyframe_secs,
            input,
            output,
        } => keyframe(keyframe_bytes, keyframe_secs, &input, &output),
        Command::Search {
            input,
            ignore_case,
            json,
            lax,
            rec,
            select,
            text,
            source,
        } => search(&text, ignore_case, input, json, lax, rec, &select, &source),
        Command::Ls {
            lax,
            select,
            source,
        } => {
            let source = Source::parse(&source)?;
            let filter = filter(&select, None, false);
            let mut damaged = 0u64;
            let summaries = list::list(source.open(&filter)?, &source.name(), &filter, |e| {
                damaged += 1;
                eprintln!("termtape: warning: {e}");
            })?;
            io::stdout()
                .lock()
                .write_all(list::table(&summaries).as_bytes())?;
            if damaged > 0 && !lax {
                eprintln!(
                    "termtape: {damaged} damaged message(s) passed over (--lax to exit with 0)"
                );
                return Ok(ExitCode::FAILURE);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

type OnDamage<'a> = &'a mut dyn FnMut(&termtape_format::Error);

/// `termtape search`: each find on a line of its own.
#[allow(clippy::too_many_arguments, reason = "one per command-line option")]
fn search(
    text: &str,
    ignore_case: bool,
    input: bool,
    json: bool,
    lax: bool,
    rec: Option<String>,
    select: &Select,
    source: &str,
) -> Result<ExitCode> {
    use termtape_player::search::{self, Pattern, Place};
    let source = Source::parse(source)?;
    let filter = filter(select, rec, false);
    let place = if input { Place::Input } else { Place::Screen };
    let mut out = io::BufWriter::new(io::stdout().lock());
    let (mut found, mut damaged) = (0u64, 0u64);
    search::search(
        source.open(&filter)?,
        &source.name(),
        &filter,
        &Pattern::new(text, ignore_case),
        place,
        |f| {
            found += 1;
            if json {
                let object = serde_json::json!({
                    "time": f.time,
                    "rec": f.rec,
                    "user": f.user,
                    "host": f.host,
                    "at": f.at,
                    "line": f.line,
                });
                return writeln!(out, "{object}");
            }
            // The wall-clock time first (what an auditor asks about), then
            // where to look again: the recording and the moment in it.
            let time = f
                .time
                .map_or_else(|| "-".to_owned(), termtape_player::local);
            writeln!(
                out,
                "{time}  {}@{}  {}  {}  {}",
                f.user,
                f.host,
                f.rec,
                termtape_player::duration(f.at),
                f.line
            )
        },
        |e| {
            damaged += 1;
            eprintln!("termtape: warning: {e} (passed over)");
        },
    )?;
    out.flush()?;
    if damaged > 0 && !lax {
        eprintln!("termtape: {damaged} damaged message(s) passed over (--lax to exit as if not)");
        return Ok(ExitCode::from(2));
    }
    Ok(if found > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `termtape screen`: the screen at a moment, through the keyframes.
fn screen(common: &Common, at: seek::At, format: &str) -> Result<ExitCode> {
    let source = Source::parse(&common.source)?;
    let query = query(common, false);
    let mut report = |e: &termtape_format::Error| {
        eprintln!("termtape: warning: {e} (passed over)");
    };
    let (term, method) = seek::screen_at(&source, &query, at, &mut report)?;
    match method {
        seek::Method::Replay(seek::Reason::NoKeyframes) => eprintln!(
            "termtape: {} has no keyframes, so it was replayed from the start; \
             `termtape keyframe IN OUT` adds them and makes seeking instant",
            source.name()
        ),
        seek::Method::Replay(seek::Reason::NotAlone) if matches!(source, Source::File(_)) => {
            eprintln!(
                "termtape: {} holds several recordings (or messages were selected), \
                 so it was replayed from the start",
                source.name()
            )
        }
        _ => {}
    }
    let mut text = if format == "ansi" {
        term.to_ansi()
    } else {
        term.text()
    };
    text.push('\n');
    io::stdout().lock().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// `termtape keyframe`: a copy of a recording with keyframes added.
fn keyframe(bytes: Option<u64>, secs: Option<f64>, input: &str, output: &str) -> Result<ExitCode> {
    use std::io::IsTerminal;
    let default = termtape_keyframe::Cadence::default();
    let cadence = termtape_keyframe::Cadence {
        bytes: bytes.unwrap_or(default.bytes),
        interval: secs.map_or(default.interval, Duration::from_secs_f64),
    };
    if input != "-" && output != "-" {
        let same = std::fs::canonicalize(input)
            .ok()
            .is_some_and(|a| std::fs::canonicalize(output).is_ok_and(|b| a == b));
        if same {
            bail!("{output} is the input: write the copy to another file");
        }
    }
    let (reader, size): (Box<dyn io::BufRead>, Option<u64>) = if input == "-" {
        (
            Box::new(io::BufReader::with_capacity(256 * 1024, io::stdin())),
            None,
        )
    } else {
        let file = std::fs::File::open(input).with_context(|| format!("opening {input}"))?;
        let size = file.metadata().ok().map(|m| m.len());
        (
            Box::new(io::BufReader::with_capacity(256 * 1024, file)),
            size,
        )
    };
    let writer: Box<dyn Write> = if output == "-" {
        Box::new(io::BufWriter::with_capacity(
            256 * 1024,
            io::stdout().lock(),
        ))
    } else {
        let file = std::fs::File::create(output).with_context(|| format!("creating {output}"))?;
        Box::new(io::BufWriter::with_capacity(256 * 1024, file))
    };
    // A progress line on a terminal, for long runs.
    let progress = io::stderr().is_terminal() && size.is_some_and(|s| s > 16 << 20);
    let total = size.unwrap_or(0).max(1);
    let mut shown = 0u64;
    let mut damaged = 0u64;
    let added = termtape_player::keyframe::add_keyframes(
        reader,
        input,
        writer,
        cadence,
        |e| {
            damaged += 1;
            eprintln!("termtape: warning: {e} (copied unchanged)");
        },
        |read| {
            let percent = read * 100 / total;
            if progress && percent > shown {
                shown = percent;
                eprint!("\rtermtape keyframe: {percent:3}%");
            }
        },
    )
    .with_context(|| format!("copying {input} to {output}"))?;
    if progress {
        eprintln!();
    }
    eprintln!(
        "termtape: {} keyframe(s) added to {} line(s)",
        added.keyframes, added.lines
    );
    Ok(if damaged > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Opens the source named in `common` and runs `f` on it with the chosen
/// recording and damage policy; damage passed over is reported on stderr.
fn with_recording(
    common: &Common,
    follow: bool,
    f: impl FnOnce(Box<dyn io::BufRead>, &str, &Query, OnDamage<'_>) -> Result<(), ReadError>,
) -> Result<ExitCode> {
    let source = Source::parse(&common.source)?;
    let query = query(common, follow);
    let mut damaged = 0u64;
    let mut report = |e: &termtape_format::Error| {
        damaged += 1;
        let _ = io::stdout().flush();
        eprintln!("termtape: warning: {e} (passed over)");
    };
    f(
        source.open(&query.filter)?,
        &source.name(),
        &query,
        &mut report,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// What to read, as the options say.
fn query(common: &Common, follow: bool) -> Query {
    Query {
        selection: common.rec.clone().map_or(Selection::First, Selection::Rec),
        filter: filter(&common.select, common.rec.clone(), follow),
        damage: if common.lax {
            Damage::Skip
        } else {
            Damage::Stop
        },
    }
}

/// The source filter the options ask for.
fn filter(select: &Select, rec: Option<String>, follow: bool) -> Filter {
    Filter {
        rec,
        user: select.user.clone(),
        host: select.host.clone(),
        since: select.since,
        until: select.until,
        follow,
    }
}

/// Runs `program` (termtape-rec, termtape-session) from the directory of
/// this executable, as cargo and git run their external subcommands.
fn exec_beside(program: &str, args: Vec<std::ffi::OsString>) -> Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    let me = std::env::current_exe().context("finding termtape's own path")?;
    let recorder = me.with_file_name(program);
    if !recorder.exists() {
        bail!(
            "{program} is not installed beside {} (looked for {})",
            me.display(),
            recorder.display()
        );
    }
    let err = std::process::Command::new(&recorder).args(args).exec();
    Err(err).with_context(|| format!("running {}", recorder.display()))
}
