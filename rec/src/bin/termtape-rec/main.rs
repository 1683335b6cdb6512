//! `termtape-rec`: records a command's terminal session into a
//! tlog-compatible log. The work is in the `termtape_rec` library; this
//! reads the configuration, starts the recorder and maps the outcome to an
//! exit status.

mod cli;

use std::io::{self, IsTerminal};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use termtape_rec::Recorder;
use termtape_rec::config::{self, Config, FileConfig, Writer};
use termtape_rec::{pty, relay};

fn main() -> ExitCode {
    let (name, args) = cli::parse();
    match run(name, args) {
        Ok(code) => ExitCode::from(code),
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{name}: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Records; returns the exit status. `name` is how the user called us.
fn run(name: &str, args: cli::Args) -> anyhow::Result<u8> {
    let quiet = args.quiet();
    // Before anything else opens a descriptor that could land on 0, 1 or 2.
    pty::ensure_stdio_open().context("cannot open standard input, output and error")?;
    let (config_path, required) = match std::env::var_os(config::CONFIG_ENV) {
        Some(path) if !path.is_empty() => (PathBuf::from(path), true),
        _ => (PathBuf::from(config::DEFAULT_CONFIG_PATH), false),
    };
    let file = FileConfig::load(&config_path, required)?;
    // A configured writer makes every word the command, as with -o.
    let configured = file.writer.kind.is_some() || file.writer.path.is_some();
    let names_a_command = args.names_a_command(configured);
    let config = Config::resolve(
        &file,
        &config_path,
        args.into_flags(configured),
        std::env::var_os("SHELL"),
    )?;

    // The recorder builds tlog messages from what the relay captures and
    // hands them to the configured writer.
    let mut recorder = Recorder::open(&config).with_context(|| match &config.writer {
        Writer::File(path) => format!("cannot record to {}", path.display()),
        Writer::Journal { .. } => "cannot record to the journal".to_owned(),
        Writer::Syslog { .. } => "cannot record to syslog".to_owned(),
    })?;
    recorder.set_origin(termtape_rec::identity::origin(&config.command));

    let (stdin, stdout) = (io::stdin(), io::stdout());
    // A person at a terminal recording into a file is told where it goes
    // and how to stop (a shell recorded looks like any other shell).
    let notice = match &config.writer {
        Writer::File(path) if !quiet && stdin.is_terminal() && io::stderr().is_terminal() => {
            Some(path.display().to_string())
        }
        _ => None,
    };
    if let Some(path) = &notice {
        let how = if names_a_command {
            ""
        } else {
            "; exit the shell to stop"
        };
        eprintln!("{}: recording to {path}{how}", program(name));
    }
    let exit = relay::run(
        &config.relay_settings(),
        stdin.as_fd(),
        stdout.as_fd(),
        &mut recorder,
    )?;
    if let Some(path) = &notice {
        eprintln!("{}: recording saved to {path}", program(name));
    }
    Ok(u8::try_from(exit.code()).unwrap_or(u8::MAX))
}

/// The program the user ran: `termtape` for `termtape rec`.
fn program(name: &str) -> &str {
    name.split(' ').next().unwrap_or(name)
}

/// Whether the error comes from writing to a closed pipe (`termtape-rec …
/// | head`): not worth a message, as for any Unix filter.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<io::Error>())
        .any(|e| e.kind() == io::ErrorKind::BrokenPipe)
}
