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
use termtape_player::{Damage, Query, Selection, Source, cat, list, play};

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
            raw: _,
            original,
            speed,
            max_pause,
            follow,
            common,
        } => {
            let timing = play::Timing {
                speed,
                max_pause: max_pause.map(Duration::from_secs_f64),
            };
            with_recording(&common, follow, |reader, name, query, on_damage| {
                let mut out = io::stdout().lock();
                if original {
                    play::play_raw_original(reader, name, query, timing, &mut out, on_damage)
                } else {
                    play::play_raw(reader, name, query, timing, &mut out, on_damage)
                }
            })
        }
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

/// Opens the source named in `common` and runs `f` on it with the chosen
/// recording and damage policy; damage passed over is reported on stderr.
fn with_recording(
    common: &Common,
    follow: bool,
    f: impl FnOnce(Box<dyn io::BufRead>, &str, &Query, OnDamage<'_>) -> Result<(), ReadError>,
) -> Result<ExitCode> {
    let source = Source::parse(&common.source)?;
    let query = Query {
        selection: common.rec.clone().map_or(Selection::First, Selection::Rec),
        filter: filter(&common.select, common.rec.clone(), follow),
        damage: if common.lax {
            Damage::Skip
        } else {
            Damage::Stop
        },
    };
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
