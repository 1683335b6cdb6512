//! `termtape-session` as a login shell: its arguments, the real shell it
//! starts, and whether this login is already being recorded.
//!
//! Login programs start a shell as `-NAME` (login), `NAME -c CMD` (a command,
//! as `su -c` and `ssh host CMD` do), with `-l`/`--login` and `-i`. The
//! session records the real shell started the same way.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The shell used when nothing names one.
pub const DEFAULT_SHELL: &str = "/bin/bash";

/// The environment variable naming the real shell.
pub const SHELL_ENV: &str = "TERMTAPE_SESSION_SHELL";

/// Where `termtape users enable` remembers each user's original shell.
pub const SHELLS_FILE: &str = "/var/lib/termtape/shells";

/// The notice shown before a recorded session starts, as tlog shows it.
pub const DEFAULT_NOTICE: &str = "\nATTENTION! Your session is being recorded!\n\n";

/// How the login program asked for the shell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginArgs {
    /// A login shell (`argv[0]` starting with `-`, or `-l`/`--login`).
    pub login: bool,
    /// `-i`: interactive.
    pub interactive: bool,
    /// `-c CMD`: the command string.
    pub command: Option<OsString>,
    /// Everything else, passed on to the shell (after `-c CMD`: `$0`, `$1`…).
    pub rest: Vec<OsString>,
}

/// Why a login shell's arguments cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArgsError {
    /// `-c` is the last argument.
    #[error("-c needs a command string")]
    MissingCommand,
}

impl LoginArgs {
    /// Parses a login shell's arguments, `argv[0]` included.
    pub fn parse(argv: &[OsString]) -> Result<LoginArgs, ArgsError> {
        let mut args = LoginArgs {
            login: argv.first().is_some_and(|a| a.as_bytes().starts_with(b"-")),
            ..LoginArgs::default()
        };
        let mut it = argv.iter().skip(1);
        while let Some(arg) = it.next() {
            let bytes = arg.as_bytes();
            match bytes {
                b"--" => {
                    args.rest.extend(it.by_ref().cloned());
                    break;
                }
                b"--login" => args.login = true,
                [b'-', flags @ ..]
                    if !flags.is_empty() && flags.iter().all(|f| b"lic".contains(f)) =>
                {
                    for f in flags {
                        match f {
                            b'l' => args.login = true,
                            b'i' => args.interactive = true,
                            _ => {
                                let cmd = it.next().ok_or(ArgsError::MissingCommand)?;
                                args.command = Some(cmd.clone());
                            }
                        }
                    }
                }
                _ => {
                    args.rest.push(arg.clone());
                    args.rest.extend(it.by_ref().cloned());
                    break;
                }
            }
        }
        Ok(args)
    }

    /// The real shell's command line and the `argv[0]` it should see.
    pub fn shell_command(&self, shell: &Path) -> (Vec<OsString>, Option<OsString>) {
        let mut command = vec![shell.as_os_str().to_owned()];
        if self.interactive {
            command.push("-i".into());
        }
        if let Some(cmd) = &self.command {
            command.push("-c".into());
            command.push(cmd.clone());
        }
        command.extend(self.rest.iter().cloned());
        let argv0 = self.login.then(|| {
            let name = shell.file_name().unwrap_or(shell.as_os_str());
            let mut dashed = OsString::from("-");
            dashed.push(name);
            dashed
        });
        (command, argv0)
    }
}

/// The shell to start: the configuration's (`[session] shell`: the
/// administrator's choice comes first), else `$TERMTAPE_SESSION_SHELL`
/// (`env`: pass `None` when privileged, where the user would choose it),
/// else the shell the user had before `termtape users enable`, else
/// [`DEFAULT_SHELL`]. Never this program itself, nor tlog-rec-session.
pub fn choose_shell(
    configured: Option<PathBuf>,
    env: Option<OsString>,
    remembered: Option<PathBuf>,
) -> PathBuf {
    let me = std::env::current_exe().ok();
    [configured, env.map(PathBuf::from), remembered]
        .into_iter()
        .flatten()
        .find(|p| {
            !p.as_os_str().is_empty() && me.as_deref() != Some(p.as_path()) && !is_session_binary(p)
        })
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SHELL))
}

/// termtape-session, or tlog-rec-session (which may be termtape-session:
/// `--take-over-tlog`): starting either as the real shell would loop.
fn is_session_binary(p: &Path) -> bool {
    p.file_name() == Some(OsStr::new("termtape-session")) || crate::tlog::is_session(p)
}

/// The shell remembered for `user` in a `user:shell` lines file.
pub fn remembered_shell(file: &Path, user: &str) -> Option<PathBuf> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let (u, shell) = l.split_once(':')?;
        (u == user).then(|| PathBuf::from(shell))
    })
}

/// The process names a recording `termtape-session` goes by (the kernel
/// keeps 15 bytes): its own, or tlog's when it poses for Cockpit.
pub const SESSION_NAMES: [&str; 2] = ["termtape-sessio", "tlog-rec-sessio"];

/// The recorder of the session this process runs in, if it is already
/// being recorded: the nearest ancestor that is a recording
/// `termtape-session` running as `owner` (the recorder's own user, which the
/// recorded user cannot take on; a user who names a process of their own so
/// cannot fake one). Returns its process id.
///
/// This holds whatever the audit session id: unlike tlog's per-audit-session
/// lock, a login whose audit session id is unset is recorded even while
/// another login of the same machine is.
pub fn recording_ancestor(owner: u32) -> io::Result<Option<u32>> {
    let mut pid = parent_of("self")?;
    let mut hops = 0;
    while pid > 1 && hops < 4096 {
        let dir = format!("{pid}");
        let comm = std::fs::read_to_string(format!("/proc/{dir}/comm")).unwrap_or_default();
        if SESSION_NAMES.contains(&comm.trim_end()) && real_uid_of(&dir)? == Some(owner) {
            return Ok(Some(pid));
        }
        pid = parent_of(&dir)?;
        hops += 1;
    }
    Ok(None)
}

fn parent_of(pid: &str) -> io::Result<u32> {
    let stat = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s,
        // The process ended meanwhile: the chain ends here.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    // Field 4, counted after the command name's closing parenthesis.
    Ok(stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().nth(1))
        .and_then(|p| p.parse().ok())
        .unwrap_or(0))
}

/// The real uid of process `pid` (a number, or `self`), if it still runs.
pub(crate) fn real_uid_of(pid: &str) -> io::Result<Option<u32>> {
    let status = match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        .and_then(|uid| uid.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> LoginArgs {
        LoginArgs::parse(&args.iter().map(OsString::from).collect::<Vec<_>>()).expect("valid")
    }

    #[test]
    fn login_shell_forms() {
        assert_eq!(
            parse(&["-termtape-session"]),
            LoginArgs {
                login: true,
                ..LoginArgs::default()
            }
        );
        let su_c = parse(&["-termtape-session", "-c", "echo hi; id"]);
        assert!(su_c.login);
        assert_eq!(su_c.command, Some("echo hi; id".into()));
        let ssh = parse(&["termtape-session", "-c", "ls -l", "zero", "one"]);
        assert!(!ssh.login);
        assert_eq!(
            ssh.rest,
            vec![OsString::from("zero"), OsString::from("one")]
        );
        let combined = parse(&["termtape-session", "-lic", "date"]);
        assert!(combined.login && combined.interactive);
        assert_eq!(combined.command, Some("date".into()));
        assert_eq!(
            LoginArgs::parse(&[OsString::from("x"), OsString::from("-c")]),
            Err(ArgsError::MissingCommand)
        );
        assert_eq!(
            parse(&["termtape-session", "script.sh", "-c"]).rest.len(),
            2
        );
    }

    #[test]
    fn the_real_shell_is_started_the_same_way() {
        let (cmd, argv0) =
            parse(&["-termtape-session", "-c", "id"]).shell_command(Path::new("/bin/bash"));
        assert_eq!(
            cmd,
            vec![OsString::from("/bin/bash"), "-c".into(), "id".into()]
        );
        assert_eq!(argv0, Some(OsString::from("-bash")));
        let (cmd, argv0) = parse(&["termtape-session", "-i"]).shell_command(Path::new("/bin/zsh"));
        assert_eq!(cmd, vec![OsString::from("/bin/zsh"), "-i".into()]);
        assert_eq!(argv0, None);
    }

    #[test]
    fn shell_choice_order_and_no_loops() {
        let some = |s: &str| Some(PathBuf::from(s));
        // The administrator's configuration wins over the user's choices.
        assert_eq!(
            choose_shell(
                some("/bin/rbash"),
                Some("/bin/zsh".into()),
                some("/bin/dash")
            ),
            PathBuf::from("/bin/rbash")
        );
        assert_eq!(
            choose_shell(None, Some("/bin/zsh".into()), some("/bin/dash")),
            PathBuf::from("/bin/zsh")
        );
        assert_eq!(
            choose_shell(None, None, some("/bin/dash")),
            PathBuf::from("/bin/dash")
        );
        assert_eq!(
            choose_shell(some("/usr/bin/termtape-session"), None, some("/bin/sh")),
            PathBuf::from("/bin/sh")
        );
        assert_eq!(
            choose_shell(None, None, some("/usr/bin/termtape-session")),
            PathBuf::from(DEFAULT_SHELL)
        );
    }

    #[test]
    fn remembered_shells_are_read_per_user() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("shells");
        std::fs::write(&file, "ann:/bin/zsh\nbob:/bin/dash\n").expect("write");
        assert_eq!(
            remembered_shell(&file, "bob"),
            Some(PathBuf::from("/bin/dash"))
        );
        assert_eq!(remembered_shell(&file, "cy"), None);
    }

    #[test]
    fn a_plain_test_process_is_not_inside_a_recorded_session() {
        let uid = real_uid_of("self").expect("procfs").expect("uid");
        assert_eq!(recording_ancestor(uid).expect("procfs"), None);
    }
}
