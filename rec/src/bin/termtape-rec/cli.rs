//! Command-line arguments of `termtape-rec`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser};
use termtape_format::Range;
use termtape_rec::config::{self, Flags, WriterKind};
use termtape_rec::redact::InputRedaction;
use termtape_rec::sink::Action;

/// The argv[0] `termtape rec` runs the recorder with, so that usage and
/// messages name the command the user typed. It changes nothing else: a
/// user who sets it gets only other wording.
pub const VIA_TERMTAPE: &str = "termtape rec";

/// The name usage and messages give the recorder: `termtape rec` when
/// `termtape` ran it (argv[0] [`VIA_TERMTAPE`]), else `termtape-rec`.
pub fn name(argv0: Option<&std::ffi::OsStr>) -> &'static str {
    match argv0 {
        Some(a) if a == VIA_TERMTAPE => VIA_TERMTAPE,
        _ => "termtape-rec",
    }
}

const USAGE: &str = "\
NAME [OPTIONS] FILE [[--] CMD [ARGS]...]
       NAME [OPTIONS] -o FILE [[--] CMD [ARGS]...]
       NAME [OPTIONS] [-w WRITER] [-- CMD [ARGS]...]";

const EXAMPLES: &str = "\
Examples:
  NAME session.log                      record your shell into session.log
  NAME -o build.log -- make -j4         record one command
  NAME build.log -- make -j4            the same
  NAME -o ci.log --cols 120 -- ./test.sh </dev/null
  NAME -w journal -- bash               record to systemd-journald

Without -o or -w, the first word is the FILE to record into, and the words
after it (after `--`, if given) the command. With -o or -w, a writer named
in the configuration file (`kind` or `path` in the [writer] section of
/etc/termtape/termtape.toml, or of the file $TERMTAPE_CONFIG names), or
after a leading `--`, all words are the command (as tlog-rec takes them),
recorded where -o, -w or the configuration says.

Exit status:
  the command's    what the recorded command exited with (128+N if signal N
                   killed it): a recorder runs a command, as env and script do
  126, 127         the command could not be run, or was not found (as a shell)
  2                bad usage: an unknown option, a value out of range
  1                the recorder failed (configuration, writer, terminal)";

/// Record a terminal session into a tlog-compatible log.
///
/// Runs CMD (default: $SHELL, else /bin/sh) under a new pseudo-terminal,
/// relays your terminal to it, and appends what it shows to the log.
/// Exits with CMD's status (128+N if signal N killed it).
#[derive(Debug, Parser)]
#[command(name = "termtape-rec", version)]
pub struct Args {
    /// Append the recording to FILE.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Where to write: file (with -o), journal or syslog [default: file].
    #[arg(short = 'w', long = "writer", value_name = "WRITER")]
    writer: Option<WriterKind>,
    /// With -w journal: name the recording process tlog-rec, so that
    /// Cockpit's session-recording page lists the recording.
    #[arg(long)]
    cockpit: bool,
    /// Also record what is typed (off by default). What the terminal hides
    /// (passwords) is left out unless --input-redaction none.
    #[arg(long)]
    log_input: bool,
    /// With --log-input: leave out keys typed while the terminal's echo is
    /// off (echo-off), or record them all (none: passwords too; the
    /// recording says so) [default: echo-off].
    #[arg(long, value_name = "WHAT")]
    input_redaction: Option<InputRedaction>,
    /// Do not record what the command writes.
    #[arg(long)]
    no_log_output: bool,
    /// Do not record window size changes.
    #[arg(long)]
    no_log_window: bool,
    /// Write recorded data out at least every SECS seconds [default: 10].
    #[arg(long, value_name = "SECS", value_parser = |s: &str| config::LATENCY.parse(s))]
    latency: Option<f64>,
    /// Put at most BYTES bytes of recorded data in one message [default: 2048].
    #[arg(long, value_name = "BYTES", value_parser = |s: &str| whole::<usize>(config::PAYLOAD, s))]
    payload: Option<usize>,
    /// The session's charset (KOI8-R, EUC-JP, GB18030, …): its text is
    /// recorded as UTF-8, with the original bytes kept [default: the
    /// charset of the locale in LC_ALL, LC_CTYPE or LANG].
    #[arg(long, value_name = "NAME")]
    charset: Option<String>,
    /// Rate limit: bytes of messages per second [default: 16384].
    #[arg(long, value_name = "BYTES", value_parser = |s: &str| config::LIMIT_BYTES.parse_whole(s))]
    limit_rate: Option<u64>,
    /// Rate limit: bytes of messages at once [default: 32768].
    #[arg(long, value_name = "BYTES", value_parser = |s: &str| config::LIMIT_BYTES.parse_whole(s))]
    limit_burst: Option<u64>,
    /// Beyond the rate limit: pass (no limit), delay the session, or drop
    /// messages (marking the gap) [default: pass].
    #[arg(long, value_name = "ACTION")]
    limit_action: Option<Action>,
    /// Log a keyframe (the whole screen, for instant seeking) after N bytes
    /// of output since the last one; 0: not by size [default: 262144].
    #[arg(long, value_name = "N", value_parser = |s: &str| config::KEYFRAME_BYTES.parse_whole(s))]
    keyframe_bytes: Option<u64>,
    /// Log a keyframe after S seconds with output since the last one; 0:
    /// not by time [default: 60].
    #[arg(long, value_name = "S", value_parser = |s: &str| config::KEYFRAME_SECS.parse(s))]
    keyframe_secs: Option<f64>,
    /// Write tlog's messages without the hash chain and its seals (nothing
    /// for `termtape verify` to check).
    #[arg(long)]
    no_chain: bool,
    /// The private key to sign the chain's seals with [default:
    /// /etc/termtape/signing.key]; unreadable, the recording is chained and
    /// unsigned, and its first message says why.
    #[arg(long, value_name = "PATH")]
    seal_key: Option<PathBuf>,
    /// Terminal width when standard input is not a terminal [default: 80].
    #[arg(long, value_name = "N", value_parser = |s: &str| whole::<u16>(config::COLS, s))]
    cols: Option<u16>,
    /// Terminal height when standard input is not a terminal [default: 24].
    #[arg(long, value_name = "N", value_parser = |s: &str| whole::<u16>(config::ROWS, s))]
    rows: Option<u16>,
    /// No notice on standard error when recording starts and ends.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// FILE (without -o and -w), then the command to record and its
    /// arguments. An unknown option before them is an error; after `--`,
    /// anything is a word.
    #[arg(value_name = "ARGS", trailing_var_arg = true)]
    command: Vec<OsString>,
    /// Whether `--` came before the first word (which is then the command).
    #[arg(skip)]
    escaped: bool,
}

/// A whole number in `range`, as the option's type (the range fits it).
fn whole<T: TryFrom<u64>>(range: Range, s: &str) -> Result<T, String> {
    let n = range.parse_whole(s)?;
    T::try_from(n).map_err(|_| format!("{s} is out of range; {range}"))
}

/// Whether `argv` has a `--` before its first word, as clap reads it:
/// options that take a value in the next argument skip that argument.
fn escaped(cmd: &clap::Command, argv: &[OsString]) -> bool {
    let takes_value = |a: &clap::Arg| a.get_action().takes_values();
    let mut words = argv.iter().skip(1);
    while let Some(word) = words.next() {
        let Some(word) = word.to_str() else {
            return false;
        };
        if word == "--" {
            return true;
        }
        if !word.starts_with('-') || word == "-" {
            return false;
        }
        let next_is_value = match word.strip_prefix("--") {
            Some(long) => {
                !long.contains('=')
                    && cmd
                        .get_arguments()
                        .any(|a| a.get_long() == Some(long) && takes_value(a))
            }
            // `-qo FILE`: a short option taking a value, last in the group.
            None => {
                let letters: Vec<char> = word[1..].chars().collect();
                let mut next = false;
                for (i, c) in letters.iter().enumerate() {
                    match cmd.get_arguments().find(|a| a.get_short() == Some(*c)) {
                        Some(a) if takes_value(a) => {
                            next = i + 1 == letters.len();
                            break;
                        }
                        Some(_) => {}
                        None => break,
                    }
                }
                next
            }
        };
        if next_is_value {
            words.next();
        }
    }
    false
}

/// The command line of the recorder called `name` (see [`name`]), with its
/// usage and examples: what `--help` shows and the man page says.
pub fn command(name: &'static str) -> clap::Command {
    Args::command()
        .name(name)
        .bin_name(name)
        .override_usage(USAGE.replace("NAME", name))
        .after_help(EXAMPLES.replace("NAME", name))
}

/// Parses `argv` for the recorder called `name` (see [`name`]).
pub fn try_parse(name: &'static str, argv: Vec<OsString>) -> Result<Args, clap::Error> {
    let cmd = command(name);
    let escaped = escaped(&cmd, &argv);
    let matches = cmd.try_get_matches_from(argv)?;
    let mut args = Args::from_arg_matches(&matches)?;
    args.escaped = escaped;
    Ok(args)
}

/// Parses the process's arguments; exits with usage on error.
pub fn parse() -> (&'static str, Args) {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let name = name(argv.first().map(OsString::as_os_str));
    match try_parse(name, argv) {
        Ok(args) => (name, args),
        Err(e) => e.exit(),
    }
}

impl Args {
    /// The flags as the library's [`Flags`]: `None` where nothing was said.
    pub fn into_flags(self, configured: bool) -> Flags {
        let (output, command) = self.output_and_command(configured);
        Flags {
            output,
            writer: self.writer,
            cockpit: self.cockpit.then_some(true),
            log_input: self.log_input.then_some(true),
            input_redaction: self.input_redaction,
            log_output: self.no_log_output.then_some(false),
            log_window: self.no_log_window.then_some(false),
            latency: self.latency,
            payload: self.payload,
            charset: self.charset,
            limit_rate: self.limit_rate,
            limit_burst: self.limit_burst,
            limit_action: self.limit_action,
            cols: self.cols,
            rows: self.rows,
            keyframe_bytes: self.keyframe_bytes,
            keyframe_secs: self.keyframe_secs,
            chain: self.no_chain.then_some(false),
            seal_key: self.seal_key.clone(),
            command,
        }
    }

    /// Whether to leave out the start and stop notices.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Whether a command was named (else the shell is recorded).
    /// `configured`: as for [`Args::into_flags`].
    pub fn names_a_command(&self, configured: bool) -> bool {
        !self.output_and_command(configured).1.is_empty()
    }

    /// The output file and the command: a first word is FILE when neither
    /// -o nor -w is given, the configuration file names no writer
    /// (`configured`: its `[writer]` has `kind` or `path`, as tlog-rec's
    /// `termtape-rec CMD` with a configured log) and no `--` comes before it.
    fn output_and_command(&self, configured: bool) -> (Option<PathBuf>, Vec<OsString>) {
        if self.output.is_some() || self.writer.is_some() || self.escaped || configured {
            return (self.output.clone(), self.command.clone());
        }
        let Some((file, rest)) = self.command.split_first() else {
            return (None, Vec::new());
        };
        let rest = match rest.split_first() {
            Some((dashes, after)) if dashes == "--" => after,
            _ => rest,
        };
        (Some(PathBuf::from(file)), rest.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &'static str, args: &[&str]) -> Result<Args, clap::Error> {
        try_parse(
            name,
            std::iter::once("termtape-rec")
                .chain(args.iter().copied())
                .map(OsString::from)
                .collect(),
        )
    }

    fn flags(args: &[&str]) -> Flags {
        parse("termtape-rec", args)
            .expect("valid arguments")
            .into_flags(false)
    }

    #[test]
    fn command_arguments_pass_through_with_or_without_double_dash() {
        let f = flags(&["-o", "f", "ls", "-l", "--color"]);
        assert_eq!(f.output, Some(PathBuf::from("f")));
        assert_eq!(f.command, ["ls", "-l", "--color"].map(OsString::from));
        let f = flags(&["-o", "f", "--", "-weird", "-o"]);
        assert_eq!(f.output, Some(PathBuf::from("f")));
        assert_eq!(f.command, ["-weird", "-o"].map(OsString::from));
        let f = flags(&["--", "-weird", "-o"]);
        assert_eq!(f.output, None);
        assert_eq!(f.command, ["-weird", "-o"].map(OsString::from));
    }

    #[test]
    fn an_unknown_option_before_the_command_is_an_error_naming_it() {
        let err = parse("termtape-rec", &["-o", "x", "--bogus"]).expect_err("unknown");
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
        assert!(err.to_string().contains("'--bogus'"), "{err}");
        let err = parse("termtape-rec", &["-x", "-o", "f"]).expect_err("unknown");
        assert!(err.to_string().contains("'-x'"), "{err}");
    }

    #[test]
    fn a_first_word_is_the_file_without_o_or_w() {
        let f = flags(&["s.log"]);
        assert_eq!(f.output, Some(PathBuf::from("s.log")));
        assert!(f.command.is_empty());
        let f = flags(&["s.log", "make", "-j4"]);
        assert_eq!(f.output, Some(PathBuf::from("s.log")));
        assert_eq!(f.command, ["make", "-j4"].map(OsString::from));
        let f = flags(&["-q", "s.log", "--", "make", "--", "x"]);
        assert_eq!(f.output, Some(PathBuf::from("s.log")));
        assert_eq!(f.command, ["make", "--", "x"].map(OsString::from));
        // With -w, or after a leading `--` (even past options taking values), a command.
        let f = flags(&["-w", "journal", "bash"]);
        assert_eq!((f.output, f.command), (None, vec![OsString::from("bash")]));
        let f = flags(&["--latency", "1", "-qw", "file", "bash"]);
        assert_eq!((f.output, f.command), (None, vec![OsString::from("bash")]));
        let f = flags(&["--cols=80", "--", "s.log"]);
        assert_eq!((f.output, f.command), (None, vec![OsString::from("s.log")]));
        assert!(parse("termtape-rec", &["--rows", "--", "s.log"]).is_err());
        // A writer in the configuration file: every word is the command.
        let f = parse("termtape-rec", &["echo", "hi"])
            .expect("valid")
            .into_flags(true);
        assert_eq!(
            (f.output, f.command),
            (None, vec![OsString::from("echo"), "hi".into()])
        );
    }

    #[test]
    fn usage_names_the_command_the_user_typed() {
        assert_eq!(name(Some("termtape rec".as_ref())), "termtape rec");
        assert_eq!(name(Some("/usr/bin/termtape-rec".as_ref())), "termtape-rec");
        assert_eq!(name(None), "termtape-rec");
        let help = parse("termtape rec", &["--help"])
            .expect_err("help")
            .to_string();
        assert!(
            help.contains("Usage: termtape rec [OPTIONS] FILE"),
            "{help}"
        );
        assert!(!help.contains("termtape-rec"), "{help}");
    }

    #[test]
    fn switches_say_only_what_was_given() {
        let f = flags(&[]);
        assert_eq!(f, Flags::default());
        let f = flags(&[
            "--log-input",
            "--no-log-output",
            "--no-log-window",
            "--latency",
            "0.5",
            "--payload",
            "100",
            "--charset",
            "KOI8-R",
            "--cols",
            "120",
            "--rows",
            "40",
            "--keyframe-bytes",
            "1000",
            "--keyframe-secs",
            "2.5",
        ]);
        assert_eq!(f.log_input, Some(true));
        assert_eq!(f.log_output, Some(false));
        assert_eq!(f.log_window, Some(false));
        assert_eq!(f.latency, Some(0.5));
        assert_eq!(f.payload, Some(100));
        assert_eq!(f.charset.as_deref(), Some("KOI8-R"));
        assert_eq!((f.cols, f.rows), (Some(120), Some(40)));
        assert_eq!((f.keyframe_bytes, f.keyframe_secs), (Some(1000), Some(2.5)));
    }

    #[test]
    fn closed_sets_are_typed_and_list_their_names() {
        let f = flags(&["-w", "syslog", "--limit-action", "drop", "bash"]);
        assert_eq!(f.writer, Some(WriterKind::Syslog));
        assert_eq!(f.limit_action, Some(Action::Drop));
        for (option, value, names) in [
            ("-w", "tape", "[possible values: file, journal, syslog]"),
            (
                "--limit-action",
                "slow",
                "[possible values: pass, delay, drop]",
            ),
        ] {
            let err = parse("termtape-rec", &[option, value, "bash"]).expect_err(value);
            assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
            let said = err.to_string();
            assert!(said.contains(value) && said.contains(names), "{said}");
        }
        let help = parse("termtape-rec", &["--help"])
            .expect_err("help")
            .to_string();
        assert!(
            help.contains("[possible values: file, journal, syslog]")
                && help.contains("Exit status:"),
            "{help}"
        );
    }

    #[test]
    fn bad_numbers_are_rejected_with_the_range() {
        for (option, value, range) in [
            ("--cols", "wide", "from 1 to 1024"),
            ("--rows", "0", "from 1 to 1024"),
            ("--payload", "18446744073709551615", "from 64 to 1048576"),
            ("--payload", "100000000000", "from 64 to 1048576"),
            ("--latency", "1e308", "from 0.001 to 86400"),
            ("--latency", "NaN", "from 0.001 to 86400"),
            ("--keyframe-secs", "inf", "from 0 to 31536000"),
            (
                "--keyframe-bytes",
                "99999999999999999999999",
                "from 0 to 1099511627776",
            ),
            ("--limit-rate", "1.5", "from 0 to 1099511627776"),
        ] {
            let err = parse("termtape-rec", &["-o", "f", &format!("{option}={value}")])
                .expect_err(option)
                .to_string();
            assert!(err.contains(option) && err.contains(range), "{err}");
        }
    }
}
