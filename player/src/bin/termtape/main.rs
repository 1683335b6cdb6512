//! `termtape`: play, inspect and list recordings; `termtape rec` records.

mod audit;
mod cli;
mod export;

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use termtape_format::Stream;
use termtape_player::gap::Gap;
use termtape_player::guard::{self, Guard};
use termtape_player::recording::{ReadError, choose};
use termtape_player::source::{self, Filter};
use termtape_player::visible::{Visible, json_line, visible};
use termtape_player::{Damage, Query, Selection, cat, list, play, seek};

use crate::cli::{Cli, Command, Common, Format, Select, Status};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(status) => status.into(),
        Err(e) if is_broken_pipe(&e) => Status::Done.into(),
        Err(e) => {
            // Errors quote recordings (ids, fields, charset names).
            note(chain(&e));
            status_of(&e).into()
        }
    }
}

/// The [`ReadError`] an `io::Error` carries, if it carries one.
fn read_error_inside(e: &io::Error) -> Option<&ReadError> {
    e.get_ref()?.downcast_ref::<ReadError>()
}

/// The exit status of an error: nothing found when no recording matched or
/// the one asked for is not there, else trouble.
fn status_of(e: &anyhow::Error) -> Status {
    let nothing_found = e.chain().any(|cause| {
        // The terminal player's errors hold their `ReadError` inside, where
        // `source()` does not lead (a transparent variant, an `io::Error`).
        use termtape_player::tui::PlayError;
        let read =
            cause
                .downcast_ref::<ReadError>()
                .or_else(|| match cause.downcast_ref::<PlayError>() {
                    Some(PlayError::Read(read)) => Some(read),
                    Some(PlayError::Io(e)) => read_error_inside(e),
                    _ => cause
                        .downcast_ref::<io::Error>()
                        .and_then(read_error_inside),
                });
        matches!(
            read,
            Some(ReadError::NoMatch { .. } | ReadError::NotFound { .. })
        )
    });
    if nothing_found {
        Status::NothingFound
    } else {
        Status::Trouble
    }
}

/// The note that damage was passed over, and the status it leaves: trouble
/// unless `--lax`.
pub(crate) fn damage_status(damaged: u64, lax: bool, done: Status) -> Status {
    match (damaged, lax) {
        (0, _) => done,
        (_, true) => {
            damage_total(damaged, "passed over");
            done
        }
        (_, false) => {
            note(format_args!(
                "{damaged} damaged message(s) passed over in all (--lax to exit as if not)"
            ));
            Status::Trouble
        }
    }
}

/// How many damage warnings a command writes before it only counts them:
/// a file that is not a recording at all would otherwise give one per line.
const DAMAGE_SHOWN: u64 = 5;

/// Warns of damaged message number `n` (counted from 1): the first
/// [`DAMAGE_SHOWN`] in full, then one line saying the rest are counted.
pub(crate) fn damage_note(n: u64, e: &termtape_format::Error, what: &str) {
    if n <= DAMAGE_SHOWN {
        note(format_args!("warning: {e} ({what})"));
    } else if n == DAMAGE_SHOWN + 1 {
        note(format_args!(
            "warning: more damaged messages {what}; only their number is told at the end"
        ));
    }
}

/// The closing line for `n` damaged messages, when some were not shown.
pub(crate) fn damage_total(n: u64, what: &str) {
    if n > DAMAGE_SHOWN {
        note(format_args!("{n} damaged message(s) {what} in all"));
    }
}

/// An error and its causes, `outer: inner`, each cause left out when the
/// text before already says it (many errors quote their source).
fn chain(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let said = cause.to_string();
        if text.contains(&said) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&said);
    }
    text
}

/// A line on stderr, after what is on stdout, with any control character
/// made visible (it may quote a recording).
pub(crate) fn note(message: impl std::fmt::Display) {
    let _ = io::stdout().flush();
    eprintln!("termtape: {}", visible(&message.to_string()));
}

/// Tells of a gap on stderr.
fn gap(gap: &Gap) {
    note(format_args!("gap: {gap}"));
}

/// Standard output for a recording's bytes: through a [`Guard`] on a
/// terminal, unless the viewer asked for every byte.
enum Output<W: Write> {
    Exact(W),
    Guarded(guard::Writer<W>),
}

impl<W: Write> Output<W> {
    fn new(inner: W, exact: bool, original: bool) -> Output<W> {
        use std::io::IsTerminal;
        if exact || !io::stdout().is_terminal() {
            return Output::Exact(inner);
        }
        let guard = if original {
            Guard::eight_bit()
        } else {
            Guard::new()
        };
        Output::Guarded(guard::Writer::new(guard, inner))
    }

    /// Ends the output; says what was left out, if anything.
    fn finish(self) -> io::Result<()> {
        match self {
            Output::Exact(mut w) => w.flush(),
            Output::Guarded(w) => {
                let dropped = w.finish()?.dropped();
                if dropped > 0 {
                    note(format_args!(
                        "{dropped} sequence(s) that would make your terminal answer or act \
                         outside the screen (title, clipboard, queries, mouse reporting…) \
                         were left out; --exact writes them"
                    ));
                }
                Ok(())
            }
        }
    }
}

impl<W: Write> Write for Output<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Output::Exact(w) => w.write(data),
            Output::Guarded(w) => w.write(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Exact(w) => w.flush(),
            Output::Guarded(w) => w.flush(),
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

/// `termtape-session ACTION ARGS…`, in place of this process: the
/// administrative commands live there, beside rec's configuration code
/// (player never depends on rec).
fn session_command(action: &str, args: Vec<std::ffi::OsString>) -> Result<Status> {
    let mut all = vec![std::ffi::OsString::from(action)];
    all.extend(args);
    exec_beside("termtape-session", None, all)
}

fn run(cli: Cli) -> Result<Status> {
    match cli.command {
        // termtape-rec names itself `termtape rec` for this argv[0].
        Command::Rec { args } => exec_beside("termtape-rec", Some("termtape rec"), args),
        Command::Users { args } => session_command("users", args),
        Command::Cat {
            input,
            original,
            exact,
            common,
        } => {
            let stream = if input { Stream::Input } else { Stream::Output };
            let mut out = Output::new(
                io::BufWriter::with_capacity(256 * 1024, io::stdout().lock()),
                exact,
                original,
            );
            let code = with_recording(&common, false, |reader, name, query, on_damage| {
                if original {
                    cat::cat_original(reader, name, query, stream, &mut out, gap, on_damage)
                } else {
                    cat::cat(reader, name, query, stream, &mut out, gap, on_damage)
                }
            })?;
            out.finish()?;
            Ok(code)
        }
        Command::Play {
            raw,
            seek: start,
            original,
            exact,
            speed,
            max_pause,
            follow,
            audit: logs,
            common,
        } => {
            use std::io::IsTerminal;
            let source = source::parse(&common.source);
            // The seeking player takes files and the journal, followed or
            // not. A pipe, FIFO or device is read once, and the player
            // reads again at every jump: it is played as it comes, and
            // this says so.
            let terminal = io::stdin().is_terminal() && io::stdout().is_terminal();
            if io::stdout().is_terminal() && !raw && !original && source.is_stream() {
                note(format_args!(
                    "{} can be read only once: played as it comes, without seeking                      (save it to a file for the seeking player)",
                    source.name()
                ));
            }
            if terminal && !raw && !original && !source.is_stream() {
                termtape_player::tui::play(
                    &*source,
                    &query(&common, false),
                    termtape_player::tui::Playback {
                        start: start.unwrap_or(seek::At::Ms(0)),
                        speed,
                        max_pause: max_pause.map(Duration::from_secs_f64),
                        follow,
                    },
                    &|rec| audit::play_commands(&common, &logs, rec),
                )
                .with_context(|| format!("playing {}", source.name()))?;
                return Ok(Status::Done);
            }
            let mut snapshot = None;
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
                let query = choose(&*source, &query(&common, false))?;
                let at = at.resolve(&*source, &query)?;
                // Damage is reported by the playing below; an unusable
                // keyframe only here.
                let (term, _) = seek::screen_at(&*source, &query, at, |e| {
                    if let termtape_format::Error::InvalidField { field: "kf", .. } = e {
                        eprintln!("termtape: warning: {e}");
                    }
                })?;
                // The snapshot restates the recorded title too: it goes
                // through the guard like the rest.
                snapshot = Some(term.snapshot_bytes());
                timing.after = Some(match at {
                    seek::At::Ms(ms) => ms,
                    _ => u64::MAX,
                });
            }
            // On a terminal, the player takes its input: keys control
            // playback, and neither they nor the terminal's answers reach
            // the shell afterwards.
            let mut console = if io::stdout().is_terminal() {
                termtape_player::console::Console::open().context("taking the terminal's input")?
            } else {
                None
            };
            let mut no_keys = play::NoKeys;
            let keys: &mut dyn play::Keys = match console.as_mut() {
                Some(console) => console,
                None => &mut no_keys,
            };
            let mut out = Output::new(io::stdout().lock(), exact, original);
            if let Some(bytes) = snapshot {
                out.write_all(&bytes)?;
                out.flush()?;
            }
            let code = with_recording(&common, follow, |reader, name, query, on_damage| {
                let reports = play::Reports {
                    on_gap: &mut gap,
                    on_damage,
                };
                if original {
                    play::play_raw_original(reader, name, query, timing, &mut out, keys, reports)
                } else {
                    play::play_raw(reader, name, query, timing, &mut out, keys, reports)
                }
            });
            let finished = out.finish();
            if let Some(console) = console.as_mut() {
                console.finish();
            }
            finished?;
            code
        }
        Command::Screen {
            at,
            audit,
            format,
            no_caption,
            common,
        } => {
            let at = match at {
                cli::Moment::At(at) => at,
                cli::Moment::Command(n) => audit::command_start(&common, &audit, n)?,
            };
            screen(&common, at, format, !no_caption)
        }
        Command::Commands {
            json,
            audit,
            common,
        } => audit::list_audit(
            &common,
            &audit,
            &[],
            termtape_player::audit::print::What::Commands,
            json,
        ),
        Command::Files {
            json,
            keys,
            audit,
            common,
        } => audit::list_audit(
            &common,
            &audit,
            &keys,
            termtape_player::audit::print::What::Files,
            json,
        ),
        Command::Audit { args } => session_command("audit", args),
        Command::Export {
            format,
            from,
            to,
            output,
            common,
        } => export::export(format, from, to, output.as_deref(), &common),
        Command::Import {
            format,
            timing,
            input_log,
            user,
            host,
            input,
            output,
        } => export::import(export::Import {
            format,
            timing,
            input_log,
            user,
            host,
            input,
            output,
        }),
        Command::Keyframe {
            keyframe_bytes,
            keyframe_secs,
            drop_chain,
            lax,
            input,
            output,
        } => keyframe(
            keyframe_bytes,
            keyframe_secs,
            drop_chain,
            lax.lax,
            &input,
            &output,
        ),
        Command::Archive {
            output,
            force,
            level,
            rec,
            lax,
            select,
            sources,
        } => archive(&sources, &output, force, level, rec, lax.lax, &select),
        Command::Unarchive {
            output,
            force,
            archive,
        } => unarchive(&archive, output.as_deref(), force),
        Command::Index { files } => index(&files),
        Command::Search {
            ignore_case,
            json,
            text,
            ran: true,
            audit,
            common,
            ..
        } => audit::search_ran(&common, &audit, &text, ignore_case, json),
        Command::Search {
            input,
            ignore_case,
            json,
            text,
            common,
            ..
        } => search(&text, ignore_case, input, json, &common),
        Command::Events {
            at,
            to,
            follow,
            common,
        } => events(&common, at, to, follow),
        Command::Serve {
            listen,
            tls_cert,
            tls_key,
            names,
            key,
            audit_logs,
            sources,
        } => {
            use termtape_player::serve::{Server, TlsFiles};
            let trusted =
                termtape_player::verify::trusted_key(key.as_deref()).map_err(anyhow::Error::msg)?;
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(TlsFiles { cert, key, names }),
                // clap requires both or neither.
                _ => None,
            };
            let server =
                Server::bind(listen, tls.as_ref(), sources, trusted)?.with_audit_logs(audit_logs);
            for warning in server.warnings() {
                note(format_args!("warning: {warning}"));
            }
            // The URL on a line of its own (scripts read it), then serve.
            let mut out = io::stdout().lock();
            writeln!(out, "{}", server.url())?;
            out.flush()?;
            drop(out);
            note(format_args!(
                "serving on {} until stopped (Ctrl-C); open the URL above",
                server.addr()
            ));
            server.run().context("serving")?;
            Ok(Status::Done)
        }
        Command::Logs {
            max,
            journal,
            common,
        } => logs(&common, max, journal.as_deref()),
        Command::Cockpit {
            action: cli::Cockpit::Install { dir },
        } => {
            let (written, removed) = termtape_player::web::install(&dir)?;
            let mut out = io::stdout().lock();
            for path in &written {
                writeln!(out, "wrote {}", path.display())?;
            }
            for path in &removed {
                writeln!(out, "removed {} (an earlier install's)", path.display())?;
            }
            out.flush()?;
            note(format_args!(
                "installed the termtape page in {}; Cockpit reads packages when a session \
                 starts: log out of Cockpit and back in, or `systemctl try-restart cockpit`, \
                 then reload the page",
                dir.display()
            ));
            Ok(Status::Done)
        }
        Command::Keys { args } => session_command("keys", args),
        Command::Config { args } => session_command("config", args),
        Command::Doctor { args } => session_command("doctor", args),
        Command::Verify {
            key,
            rec,
            json,
            trust_uid,
            sources,
        } => verify(key.as_deref(), rec, json, trust_uid, &sources),
        Command::Ls {
            json,
            read_all,
            verify,
            key,
            common,
        } => {
            let source = source::parse(&common.source);
            let filter = filter(&common.select, common.rec.clone(), false);
            let mut damaged = 0u64;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            let summaries = list::summaries(&*source, &filter, now, read_all, &mut |e| {
                damaged += 1;
                damage_note(damaged, e, "passed over");
            })?;
            if summaries.is_empty() {
                let asked = filter.describe();
                note(format_args!(
                    "{}: no recording matches{}",
                    source.name(),
                    if asked.is_empty() {
                        " (it holds none)".to_owned()
                    } else {
                        format!(" {asked}")
                    }
                ));
                return Ok(damage_status(damaged, common.lax.lax, Status::NothingFound));
            }
            let reports = match verify {
                true => {
                    let trusted = termtape_player::verify::trusted_key(key.as_deref())
                        .map_err(anyhow::Error::msg)?;
                    Some(termtape_player::verify::verify_source(
                        &*source, &filter, trusted,
                    )?)
                }
                false => None,
            };
            let report_of = |rec: &str| {
                reports
                    .as_ref()
                    .and_then(|r| r.iter().find(|r| r.rec == rec))
            };
            let mut out = io::BufWriter::new(io::stdout().lock());
            if json {
                for summary in &summaries {
                    let mut value = summary.to_json();
                    if let (true, Some(object)) = (verify, value.as_object_mut()) {
                        let verdict = report_of(&summary.rec).map_or(
                            serde_json::Value::Null,
                            termtape_player::verify::report_json,
                        );
                        object.insert("verify".into(), verdict);
                    }
                    writeln!(out, "{}", json_line(&value))?;
                }
            } else if verify {
                let verdicts: Vec<String> = summaries
                    .iter()
                    .map(|s| report_of(&s.rec).map_or("-".to_owned(), |r| r.verdict.short()))
                    .collect();
                out.write_all(list::table_verified(&summaries, &verdicts).as_bytes())?;
            } else {
                out.write_all(list::table(&summaries).as_bytes())?;
            }
            out.flush()?;
            Ok(damage_status(damaged, common.lax.lax, Status::Done))
        }
    }
}

/// A verdict as `verify --json` and `ls --json --verify` give it: the
/// report's fields, with `ok` and `text`.
/// `termtape verify`: a verdict per recording of each source.
fn verify(
    key: Option<&str>,
    rec: Option<String>,
    json: bool,
    trust_uid: Vec<termtape_player::source::TrustedUid>,
    sources: &[String],
) -> Result<Status> {
    let trusted = termtape_player::verify::trusted_key(key).map_err(anyhow::Error::msg)?;
    if trusted.is_none() && !json {
        note(
            "no trusted key (--key, or /etc/termtape/signing.pub): seals are checked against the key they name, which proves nothing about who made them",
        );
    }
    let filter = Filter {
        rec: rec.clone(),
        trust: termtape_player::source::Trust {
            uids: trust_uid,
            unverified: false,
        },
        ..Filter::default()
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    let (mut all_ok, mut found) = (true, false);
    for spec in sources {
        let source = source::parse(spec);
        let reports = termtape_player::verify::verify_source(&*source, &filter, trusted)?;
        for report in &reports {
            found = true;
            all_ok &= report.verdict.is_intact();
            if json {
                let mut value = termtape_player::verify::report_json(report);
                if let Some(object) = value.as_object_mut() {
                    object.insert("v".into(), 1.into());
                    object.insert("source".into(), source.name().into());
                }
                writeln!(out, "{}", json_line(&value))?;
            } else {
                let exit = report
                    .exit
                    .as_ref()
                    .map(|e| format!(" (exit {e})"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{} {}: {}{exit}",
                    visible(&source.name()),
                    visible(&report.rec),
                    visible(&report.verdict.describe())
                )?;
            }
        }
    }
    out.flush()?;
    if !found {
        note(format_args!(
            "no recording found{}",
            rec.map(|r| format!(" with id {r}")).unwrap_or_default()
        ));
    }
    Ok(if found && all_ok {
        Status::Done
    } else {
        Status::NothingFound
    })
}

type OnDamage<'a> = &'a mut dyn FnMut(&termtape_format::Error);

/// `termtape search`: each find on a line of its own.
fn search(
    text: &str,
    ignore_case: bool,
    input: bool,
    json: bool,
    common: &Common,
) -> Result<Status> {
    use termtape_player::search::{self, Pattern, Place};
    let source = source::parse(&common.source);
    let filter = filter(&common.select, common.rec.clone(), false);
    let place = if input { Place::Input } else { Place::Screen };
    // Notes on stderr come after the finds before them.
    let out = std::cell::RefCell::new(io::BufWriter::new(io::stdout().lock()));
    let (mut found, mut damaged) = (0u64, 0u64);
    search::search(
        source.open(&filter)?,
        &source.name(),
        &filter,
        &Pattern::new(text, ignore_case),
        place,
        |f| {
            found += 1;
            let mut out = out.borrow_mut();
            if json {
                return writeln!(out, "{}", json_line(&f.to_json()));
            }
            // The wall-clock time first (what an auditor asks about), then
            // where to look again: the recording and the moment in it.
            let time = f
                .time
                .map_or_else(|| "-".to_owned(), termtape_player::local);
            let mark = f
                .unverified
                .as_ref()
                .map_or_else(String::new, |s| format!("UNVERIFIED (sent by {s})  "));
            // Inside a nested login: `alice as bob@host`.
            let user = match &f.nested {
                Some(nested) => format!("{} as {nested}", f.user),
                None => f.user.clone(),
            };
            writeln!(
                out,
                "{time}  {}{}@{}  {}  {}  {}",
                Visible(&mark),
                Visible(&user),
                Visible(&f.host),
                Visible(&f.rec),
                termtape_player::duration(f.at),
                Visible(&f.line)
            )
        },
        |g| {
            let _ = out.borrow_mut().flush();
            gap(g);
        },
        |e| {
            damaged += 1;
            let _ = out.borrow_mut().flush();
            damage_note(damaged, e, "passed over");
        },
    )?;
    out.borrow_mut().flush()?;
    let done = if found > 0 {
        Status::Done
    } else {
        Status::NothingFound
    };
    Ok(damage_status(damaged, common.lax.lax, done))
}

/// `termtape events`: a recording from a moment on, as JSON lines.
fn events(common: &Common, at: seek::At, until: Option<seek::At>, follow: bool) -> Result<Status> {
    let source = source::parse(&common.source);
    if follow && !source.follows() {
        return Err(source::SourceError::NoFollow.into());
    }
    if follow {
        end_when_stdout_closes();
    }
    let mut out = io::BufWriter::with_capacity(256 * 1024, io::stdout().lock());
    let mut damaged = 0u64;
    let span = termtape_player::events::Span { at, until };
    termtape_player::events::events(
        &*source,
        &query(common, follow),
        span,
        &mut |object| {
            writeln!(out, "{}", json_line(object))?;
            // A reader waits for the first screen, and a followed
            // recording's events as they come.
            if follow || object["type"] == "keyframe" {
                out.flush()?;
            }
            Ok(())
        },
        &mut |e| {
            damaged += 1;
            damage_note(damaged, e, "passed over");
        },
    )?;
    out.flush()?;
    Ok(damage_status(damaged, common.lax.lax, Status::Done))
}

/// `termtape logs`: the journal entries of the recording's host in its
/// window, as JSON lines.
fn logs(common: &Common, max: u64, journal: Option<&str>) -> Result<Status> {
    use termtape_player::logs;
    let source = source::parse(&common.source);
    let dir = logs::journal_for(&common.source, journal).map_err(anyhow::Error::msg)?;
    let query = query(common, false);
    let mut damaged = 0u64;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let window = logs::window(&*source, &query, now, &mut |e| {
        damaged += 1;
        damage_note(damaged, e, "passed over");
    })?;
    let mut out = io::BufWriter::with_capacity(256 * 1024, io::stdout().lock());
    logs::logs(&window, dir.as_deref(), &query.filter, max, &mut |object| {
        writeln!(out, "{}", json_line(object))
    })?;
    out.flush()?;
    Ok(damage_status(damaged, common.lax.lax, Status::Done))
}

/// Ends the process (status 0, as for a closed pipe) when whoever reads
/// standard output goes away, even while a followed recording is idle and
/// nothing is written that would fail.
fn end_when_stdout_closes() {
    use rustix::event::{PollFd, PollFlags, poll};
    std::thread::spawn(|| {
        let stdout = io::stdout();
        // No events asked for: poll returns only on an error or a hangup
        // (a pipe or socket whose reader closed it); a file never does.
        let mut fds = [PollFd::new(&stdout, PollFlags::empty())];
        loop {
            match poll(&mut fds, None) {
                Ok(_)
                    if fds[0]
                        .revents()
                        .intersects(PollFlags::ERR | PollFlags::HUP | PollFlags::NVAL) =>
                {
                    std::process::exit(0)
                }
                Ok(_) | Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return,
            }
        }
    });
}

/// `termtape screen`: the screen at a moment, through the keyframes.
fn screen(common: &Common, at: seek::At, format: Format, captioned: bool) -> Result<Status> {
    let source = source::parse(&common.source);
    let query = query(common, false);
    let mut report = |e: &termtape_format::Error| {
        note(format_args!("warning: {e} (passed over)"));
    };
    let seek::Sought {
        term,
        method,
        ended,
    } = seek::screen_until(&*source, &query, at, &mut report)?;
    if let Some(end) = ended {
        note(format_args!(
            "the recording ends at {}.{:03} s, before the moment asked for; \
             the last screen is shown",
            end / 1000,
            end % 1000
        ));
    }
    match method {
        seek::Method::Replay(seek::Reason::NoKeyframes) => note(format_args!(
            "{} has no keyframes, so it was replayed from the start; \
             `termtape keyframe IN OUT` adds them and makes seeking instant",
            source.name()
        )),
        seek::Method::Replay(seek::Reason::NotAlone) => note(format_args!(
            "messages of {} were selected (by user, host, time, terminal or command), \
             so it was replayed from the start",
            source.name()
        )),
        _ => {}
    }
    let mut text = match format {
        Format::Ansi => term.to_ansi(),
        Format::Text => term.text(),
        Format::Svg | Format::Html | Format::Png => {
            let caption = match captioned {
                true => screen_caption(&*source, &query, at, ended)?,
                false => None,
            };
            let picture = termtape_player::picture::Picture::of(&term, caption);
            let bytes = match format {
                Format::Svg => termtape_player::picture::svg::render(&picture).into_bytes(),
                Format::Html => termtape_player::picture::html::render(&picture).into_bytes(),
                _ => {
                    if std::io::IsTerminal::is_terminal(&io::stdout()) {
                        bail!(
                            "a PNG image is not for a terminal: redirect it to a file (> screen.png)"
                        );
                    }
                    let fonts =
                        termtape_player::picture::png::Fonts::load().map_err(anyhow::Error::msg)?;
                    termtape_player::picture::png::render(&picture, &fonts)
                        .map_err(|e| anyhow::anyhow!("drawing the PNG: {e}"))?
                }
            };
            io::stdout().lock().write_all(&bytes)?;
            return Ok(Status::Done);
        }
    };
    text.push('\n');
    io::stdout().lock().write_all(text.as_bytes())?;
    Ok(Status::Done)
}

/// The caption of a screenshot: whose screen, which recording, when. A
/// stream cannot be read a second time for it: no caption then.
fn screen_caption(
    source: &dyn source::Source,
    query: &termtape_player::recording::Query,
    at: seek::At,
    ended: Option<u64>,
) -> Result<Option<String>> {
    if source.is_stream() {
        note("no caption: a stream cannot be read a second time for the recording's details");
        return Ok(None);
    }
    let chosen = termtape_player::recording::choose(source, query)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let summaries = list::summaries(source, &chosen.filter, now, false, &mut |_| {})?;
    let Some(s) = summaries.first() else {
        return Ok(None);
    };
    let offset = match (at.resolve(source, &chosen)?, ended) {
        (_, Some(end)) => end,
        (seek::At::Ms(ms), None) => ms.min(s.duration),
        _ => s.duration,
    };
    Ok(Some(termtape_player::picture::caption(
        &s.user,
        &s.host,
        &s.rec,
        s.start.map(|start| start + offset),
        offset,
    )))
}

/// `termtape keyframe`: a copy of a recording with keyframes added.
fn keyframe(
    bytes: Option<u64>,
    secs: Option<f64>,
    drop_chain: bool,
    lax: bool,
    input: &str,
    output: &str,
) -> Result<Status> {
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
    // A copy of a recording is as private as the recording: the input's
    // permissions (the recorder's 0600 for standard input), never wider.
    let source = source::parse(input);
    let reader = source.open(&Filter::default())?;
    let meta = source.metadata();
    let size = meta.as_ref().map(std::fs::Metadata::len);
    let mode = meta.map_or(0o600, |meta| {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o666
    });
    let writer: Box<dyn Write> = if output == "-" {
        Box::new(io::BufWriter::with_capacity(
            256 * 1024,
            io::stdout().lock(),
        ))
    } else {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(output)
            .with_context(|| format!("creating {output}"))?;
        // An existing file keeps its mode through open: narrow it too.
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting the permissions of {output}"))?;
        Box::new(io::BufWriter::with_capacity(256 * 1024, file))
    };
    // A progress line on a terminal, for long runs.
    let progress = io::stderr().is_terminal() && size.is_some_and(|s| s > 16 << 20);
    let total = size.unwrap_or(0).max(1);
    let mut shown = 0u64;
    let mut damaged = 0u64;
    let on_chained = match drop_chain {
        true => termtape_player::keyframe::OnChained::Drop,
        false => termtape_player::keyframe::OnChained::Refuse,
    };
    let added = termtape_player::keyframe::add_keyframes(
        reader,
        &source.name(),
        writer,
        cadence,
        on_chained,
        |e| {
            damaged += 1;
            let what = match e {
                termtape_format::Error::TooLong { .. } => "left out of the copy",
                _ => "copied unchanged",
            };
            damage_note(damaged, e, what);
        },
        |read| {
            let percent = read * 100 / total;
            if progress && percent > shown {
                shown = percent;
                eprint!("\rtermtape keyframe: {percent:3}%");
            }
        },
    );
    if progress {
        eprintln!();
    }
    let added = match added {
        Err(e) if is_refusal(&e) => {
            // No copy is left behind: what was written of it is not one.
            if output != "-" {
                let _ = std::fs::remove_file(output);
            }
            bail!("{e}; nothing written");
        }
        added => added.with_context(|| format!("copying {input} to {output}"))?,
    };
    if added.unchained > 0 {
        note(format_args!(
            "{} line(s) copied without their chain and seals: {output} verifies as unsigned",
            added.unchained
        ));
    }
    damage_total(damaged, "copied unchanged");
    eprintln!(
        "termtape: {} keyframe(s) added to {} line(s)",
        added.keyframes, added.lines
    );
    if damaged > 0 && !lax {
        note(format_args!(
            "{damaged} damaged message(s) in {input} (--lax to exit as if not)"
        ));
        return Ok(Status::Trouble);
    }
    Ok(Status::Done)
}

/// Whether `e` is `termtape keyframe` refusing a chained recording.
fn is_refusal(e: &io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.is::<termtape_player::keyframe::Refused>())
}

/// `termtape archive`: each selected recording into its own archive.
fn archive(
    sources: &[String],
    dir: &std::path::Path,
    force: bool,
    level: i32,
    rec: Option<String>,
    lax: bool,
    select: &Select,
) -> Result<Status> {
    use termtape_player::archive::{Outcome, archive_into};
    // Refused before anything is written.
    for spec in sources {
        if spec == "-" {
            bail!(
                "standard input can be read only once, and archiving reads a source twice \
                 (to list its recordings, then each one): save it to a file first"
            );
        }
        if source::is_archive(std::path::Path::new(spec)) {
            bail!(
                "{spec} is already an archive (`termtape unarchive {spec}` gives its lines back)"
            );
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("making {}", dir.display()))?;
    let filter = filter(select, rec, false);
    let (mut damaged, mut found, mut refused) = (0u64, 0u64, 0u64);
    for spec in sources {
        let source = source::parse(spec);
        let summaries = list::list(source.open(&filter)?, &source.name(), &filter, |e| {
            damaged += 1;
            damage_note(damaged, e, "passed over");
        })?;
        for summary in summaries {
            found += 1;
            let outcome = archive_into(
                &*source,
                &filter.trust,
                &summary.rec,
                (dir, force),
                &termtape_player::archive::Options {
                    level,
                    ..Default::default()
                },
                |e| {
                    damaged += 1;
                    damage_note(damaged, e, "left out of the archive");
                },
            )
            .with_context(|| format!("archiving {} of {}", summary.rec, source.name()))?;
            match outcome {
                Outcome::Written(path, done) => {
                    let added = match (done.keyframes_added, done.chained_without_keyframes) {
                        (_, true) => ", chained and without keyframes: archived unchanged \
                                     (keyframes added would break its chain), so seeking \
                                     replays it from its start"
                            .to_owned(),
                        (0, false) => String::new(),
                        (n, false) => format!(", {n} keyframe(s) added"),
                    };
                    note(format_args!(
                        "{}: recording {} of {}, {} line(s), {} bytes in {} ({:.3}){added}",
                        path.display(),
                        summary.rec,
                        source.name(),
                        done.lines,
                        done.bytes,
                        done.compressed,
                        done.compressed as f64 / done.bytes.max(1) as f64,
                    ));
                }
                Outcome::Exists(path) => {
                    refused += 1;
                    note(format_args!(
                        "{} exists: recording {} not archived again (--force replaces it)",
                        path.display(),
                        summary.rec
                    ));
                }
            }
        }
    }
    if found == 0 {
        let asked = filter.describe();
        note(format_args!(
            "no recording matches{}",
            if asked.is_empty() {
                " (the sources hold none)".to_owned()
            } else {
                format!(" {asked}")
            }
        ));
        return Ok(damage_status(damaged, lax, Status::NothingFound));
    }
    let status = damage_status(damaged, lax, Status::Done);
    Ok(if refused > 0 { Status::Trouble } else { status })
}

/// `termtape index`: each file's sidecar index written or brought up to
/// date; the damage found is reported (a file with damage is still listed
/// by reading it whole).
fn index(files: &[std::path::PathBuf]) -> Result<Status> {
    let mut status = Status::Done;
    for file in files {
        let name = file.display().to_string();
        if name == "journal" || name.starts_with("journal:") {
            bail!(
                "{name}: the journal is listed from journald's own index; termtape index is \
                 for files of recordings"
            );
        }
        if termtape_player::file_index::is_index(file) {
            bail!("{name} is an index itself: name the file of recordings");
        }
        if std::fs::metadata(file).is_ok_and(|m| !m.is_file()) {
            bail!("{name} is not a regular file: only a file of recordings has an index");
        }
        let mut damaged = 0u64;
        let (path, recordings) = termtape_player::file_index::build(file, &name, &mut |e| {
            damaged += 1;
            if damaged == 1 {
                note(format_args!("{e}"));
            }
        })?;
        note(format_args!(
            "{}: {recordings} recording{} indexed",
            path.display(),
            if recordings == 1 { "" } else { "s" }
        ));
        if damaged > 0 {
            note(format_args!(
                "{name}: {damaged} damaged message{} passed over; listings of it read it whole, \
                 to report {}",
                if damaged == 1 { "" } else { "s" },
                if damaged == 1 { "it" } else { "them" }
            ));
            status = Status::Trouble;
        }
    }
    Ok(status)
}

/// `termtape unarchive`: an archive's lines, byte for byte.
fn unarchive(archive: &str, output: Option<&std::path::Path>, force: bool) -> Result<Status> {
    use termtape_player::Source;
    let path = std::path::Path::new(archive);
    if !source::is_archive(path) {
        bail!("{archive} is not an archive (it does not start with a zstd frame)");
    }
    let source = source::Archive::new(path);
    let mut reader = source.open(&Filter::default())?;
    let mut out: Box<dyn Write> = match output {
        None => Box::new(io::BufWriter::with_capacity(
            256 * 1024,
            io::stdout().lock(),
        )),
        Some(file) => {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            // As private as the archive.
            let mode = source
                .metadata()
                .map_or(0o600, |m| m.permissions().mode() & 0o666);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).mode(mode);
            if force {
                options.create(true).truncate(true);
            } else {
                options.create_new(true);
            }
            let created = options
                .open(file)
                .with_context(|| format!("creating {} (--force replaces it)", file.display()))?;
            Box::new(io::BufWriter::with_capacity(256 * 1024, created))
        }
    };
    let copied = io::copy(&mut reader, &mut out).and_then(|_| out.flush());
    copied.with_context(|| format!("unarchiving {archive}"))?;
    // The lines are whole without the seek table, but the archive is not.
    if let Err(damage) = source.check_table() {
        note(format_args!(
            "{archive}: {damage} (the lines are all there; seeking in the archive replays \
             from the start)"
        ));
        return Ok(Status::Trouble);
    }
    Ok(Status::Done)
}

/// Opens the source named in `common` and runs `f` on it with the chosen
/// recording and damage policy; damage passed over is reported on stderr.
fn with_recording(
    common: &Common,
    follow: bool,
    f: impl FnOnce(Box<dyn io::BufRead>, &str, &Query, OnDamage<'_>) -> Result<(), ReadError>,
) -> Result<Status> {
    let source = source::parse(&common.source);
    let query = choose(&*source, &query(common, follow))?;
    let mut damaged = 0u64;
    let mut report = |e: &termtape_format::Error| {
        damaged += 1;
        damage_note(damaged, e, "passed over");
    };
    let result = f(
        source.open(&query.filter)?,
        &source.name(),
        &query,
        &mut report,
    );
    damage_total(damaged, "passed over");
    result?;
    Ok(Status::Done)
}

/// What to read, as the options say.
pub(crate) fn query(common: &Common, follow: bool) -> Query {
    Query {
        selection: common.rec.clone().map_or(Selection::First, Selection::Rec),
        filter: filter(&common.select, common.rec.clone(), follow),
        damage: if common.lax.lax {
            Damage::Skip
        } else {
            Damage::Stop
        },
    }
}

/// The source filter the options ask for.
pub(crate) fn filter(select: &Select, rec: Option<String>, follow: bool) -> Filter {
    Filter {
        rec,
        user: select.user.clone(),
        host: select.host.clone(),
        tty: select.tty.clone(),
        command: select.command.clone(),
        since: select.since,
        until: select.until,
        follow,
        keep_waiting: Default::default(),
        trust: termtape_player::source::Trust {
            uids: select.trust_uid.clone(),
            unverified: select.unverified,
        },
    }
}

/// Runs `program` (termtape-rec, termtape-session) from the directory of
/// this executable, as cargo and git run their external subcommands;
/// `arg0`, if given, is its `argv[0]`. It exits as that program does; if
/// it cannot be run, the error is trouble, as for any other command.
fn exec_beside(program: &str, arg0: Option<&str>, args: Vec<std::ffi::OsString>) -> Result<Status> {
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
    let mut command = std::process::Command::new(&recorder);
    if let Some(arg0) = arg0 {
        command.arg0(arg0);
    }
    let err = command.args(args).exec();
    Err(err).with_context(|| format!("running {}", recorder.display()))
}
