//! `termtape-session`: a login shell that records the session.
//!
//! Set it as a user's login shell (`termtape users enable USER`); every login
//! of that user then runs the real shell under termtape's recorder, to the
//! journal by default. Installed setuid/setgid to the `termtape` user
//! (`termtape-session --install`), the recording process runs as that user,
//! and the shell with exactly the user's ids: the user can neither stop nor
//! alter the recording.

mod admin;
mod doctor;
mod migrate;

use std::ffi::OsString;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use rustix::fs::Uid;
use termtape_rec::config::{self, Config, FileConfig, Flags, WriterKind};
use termtape_rec::pty::{self, Credentials, WindowSize};
use termtape_rec::session::{self, LoginArgs};
use termtape_rec::{Recorder, identity, login_terminal, nested, relay};

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    // The administrative commands exit as termtape's do (2: trouble); a
    // login shell that cannot start the session, with 1, as a shell.
    let (result, trouble) = match argv.get(1).and_then(|a| a.to_str()) {
        Some("--install") => (admin::install().map(|()| ExitCode::SUCCESS), 2),
        Some("users") => (admin::users(&argv[2..]).map(|()| ExitCode::SUCCESS), 2),
        Some("keys") => (admin::keys(&argv[2..]).map(|()| ExitCode::SUCCESS), 2),
        Some("audit") => (admin::audit(&argv[2..]).map(|()| ExitCode::SUCCESS), 2),
        Some("config") => (migrate::config(&argv[2..]).map(|()| ExitCode::SUCCESS), 2),
        Some("--take-over-tlog") if argv.len() == 2 => (
            admin::as_root(migrate::take_over).map(|()| ExitCode::SUCCESS),
            2,
        ),
        Some("--give-back-tlog") if argv.len() == 2 => (
            admin::as_root(|_| migrate::give_back()).map(|()| ExitCode::SUCCESS),
            2,
        ),
        Some("doctor") => (
            doctor::doctor(&argv[2..]).map(|ok| {
                if ok {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }),
            2,
        ),
        Some("--help") if argv.len() == 2 => {
            print!("{}", admin::HELP);
            (Ok(ExitCode::SUCCESS), 0)
        }
        _ => (session(&argv), 1),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("termtape-session: {e:#}");
            ExitCode::from(trouble)
        }
    }
}

/// Runs the login: the real shell, recorded unless this login is already.
fn session(argv: &[OsString]) -> Result<ExitCode> {
    pty::ensure_stdio_open().context("checking standard descriptors")?;
    let args = LoginArgs::parse(argv).map_err(anyhow::Error::msg)?;
    let (real, effective) = (Credentials::real(), Credentials::effective());
    let privileged = real != effective;

    // The user must not choose the configuration of their own recording:
    // installed setuid, only the system file counts.
    let (config_path, required) = match std::env::var_os(config::CONFIG_ENV) {
        Some(path) if !privileged => (PathBuf::from(path), true),
        _ => (PathBuf::from(config::DEFAULT_CONFIG_PATH), false),
    };
    let file = FileConfig::load(&config_path, required)?;
    let user = identity::user_name().context("finding the user's name")?;
    // Installed setuid, the environment is the user's: it names no shell.
    let mut shell = session::choose_shell(
        file.session.shell.clone(),
        std::env::var_os(session::SHELL_ENV).filter(|_| !privileged),
        session::remembered_shell(std::path::Path::new(session::SHELLS_FILE), &user),
    );
    // Run as tlog-rec-session (--take-over-tlog, for SSSD's and Cockpit's
    // session recording), the real shell is chosen as tlog chooses it: the
    // one the program's name encodes, else TLOG_REC_SESSION_SHELL, which
    // SSSD sets to the user's own shell. Either way it runs as the user,
    // recorded.
    if let Some(name) = argv
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
    {
        let name = name.to_string_lossy();
        if name.trim_start_matches('-').starts_with("tlog-rec-session") {
            let tlog_choice = termtape_rec::tlog::shell_from_name(&name)
                .or_else(|| std::env::var_os(termtape_rec::tlog::SHELL_ENV).map(PathBuf::from));
            if let Some(chosen) = tlog_choice {
                shell = session::choose_shell(Some(chosen), None, Some(shell));
            }
        }
    }
    let (command, argv0) = args.shell_command(&shell);

    let note_to = match file.writer.kind {
        Some(WriterKind::Syslog) => nested::NoteTo::Syslog,
        _ => nested::NoteTo::Journal,
    };
    if let Some(outer) =
        session::recording_ancestor(effective.uid).context("looking for an enclosing session")?
    {
        // Already recorded by an enclosing session: say so there and in the
        // system log (while still the recorder's user), then run the shell.
        let kind = match (args.login, &args.command) {
            (true, _) => "login",
            (false, Some(_)) => "command",
            (false, None) => "shell",
        };
        let request = nested::Request {
            user: user.clone(),
            uid: real.uid,
            tty: nested::stdin_tty(),
            kind: kind.to_owned(),
        };
        nested::arrive(outer, &request, note_to).context("noting the nested login")?;
        login_terminal::drop_capabilities().context("dropping capabilities")?;
        if privileged {
            pty::become_user(real).context("taking the user's ids")?;
        }
        let mut cmd = std::process::Command::new(&command[0]);
        cmd.args(&command[1..]);
        if let Some(argv0) = argv0 {
            cmd.arg0(argv0);
        }
        let err = cmd.exec();
        bail!("cannot run {}: {err}", shell.display());
    }

    // The user must have no way to the login terminal but through the
    // recorder. Root cannot be kept from it, nor can an unprivileged
    // recorder take it: those only drop any capabilities.
    let _login_terminal = if privileged && real.uid != 0 {
        login_terminal::take(Uid::from_raw(real.uid), Uid::from_raw(effective.uid)).context(
            "cannot take the login terminal from the user, so the session is not started",
        )?
    } else {
        login_terminal::drop_capabilities().context("dropping capabilities")?;
        None
    };

    // Sessions go to the journal unless the configuration says otherwise.
    let flags = Flags {
        writer: file.writer.kind.is_none().then_some(WriterKind::Journal),
        command: command.clone(),
        ..Flags::default()
    };
    let config = Config::resolve(&file, &config_path, flags, None)?;
    let notice = file
        .session
        .notice
        .as_deref()
        .unwrap_or(session::DEFAULT_NOTICE);
    if !notice.is_empty() {
        let mut err = io::stderr().lock();
        let _ = err.write_all(notice.as_bytes());
        let _ = err.flush();
    }
    let mut recorder = Recorder::open(&config).context("cannot start recording")?;
    let origin = identity::origin(&command);
    let settings = relay::Settings {
        command,
        size: WindowSize::default(),
        argv0,
        run_as: privileged.then_some(real),
        // `who` and `who am i` inside the login see it, from where it came.
        utmp: Some(origin.remote.clone().unwrap_or_default()),
    };
    recorder.set_origin(origin);
    let (stdin, stdout) = (io::stdin(), io::stdout());
    // Logins nested in this session are marked in its recording.
    let name = nested::socket_name(std::process::id());
    let mut capture = nested::Nested::new(&mut recorder, &user, name, note_to);
    let exit = relay::run(&settings, stdin.as_fd(), stdout.as_fd(), &mut capture)?;
    Ok(ExitCode::from(u8::try_from(exit.code()).unwrap_or(1)))
}
