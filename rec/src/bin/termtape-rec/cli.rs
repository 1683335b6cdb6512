//! Command-line arguments of `termtape-rec`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;
use termtape_rec::config::Flags;

/// Record a terminal session into a tlog-compatible log.
///
/// Runs CMD (default: $SHELL, else /bin/sh) under a new pseudo-terminal,
/// relays your terminal to it, and appends what it shows to the log.
/// Exits with CMD's status (128+N if signal N killed it).
#[derive(Debug, Parser)]
#[command(
    name = "termtape-rec",
    version,
    after_help = "\
Examples:
  termtape-rec -o session.log                 record your shell
  termtape-rec -o build.log -- make -j4       record one command
  termtape-rec -o ci.log --cols 120 -- ./test.sh </dev/null

Without -o, the file named by `path` in the [writer] section of
/etc/termtape/termtape.toml (or of the file named by $TERMTAPE_CONFIG)."
)]
pub struct Args {
    /// Append the recording to FILE.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Where to write: file (with -o), journal or syslog [default: file].
    #[arg(short = 'w', long = "writer", value_name = "WRITER", value_parser = ["file", "journal", "syslog"])]
    writer: Option<String>,
    /// With -w journal: name the recording process tlog-rec, so that
    /// Cockpit's session-recording page lists the recording.
    #[arg(long)]
    cockpit: bool,
    /// Also record what is typed (off by default: it captures passwords).
    #[arg(long)]
    log_input: bool,
    /// Do not record what the command writes.
    #[arg(long)]
    no_log_output: bool,
    /// Do not record window size changes.
    #[arg(long)]
    no_log_window: bool,
    /// Write recorded data out at least every SECS seconds [default: 10].
    #[arg(long, value_name = "SECS")]
    latency: Option<f64>,
    /// Put at most BYTES bytes of recorded data in one message [default: 2048].
    #[arg(long, value_name = "BYTES")]
    payload: Option<usize>,
    /// The session's charset (KOI8-R, EUC-JP, GB18030, …): its text is
    /// recorded as UTF-8, with the original bytes kept [default: the
    /// charset of the locale in LC_ALL, LC_CTYPE or LANG].
    #[arg(long, value_name = "NAME")]
    charset: Option<String>,
    /// Rate limit: bytes of messages per second [default: 16384].
    #[arg(long, value_name = "BYTES")]
    limit_rate: Option<u64>,
    /// Rate limit: bytes of messages at once [default: 32768].
    #[arg(long, value_name = "BYTES")]
    limit_burst: Option<u64>,
    /// Beyond the rate limit: pass (no limit), delay the session, or drop
    /// messages (marking the gap) [default: pass].
    #[arg(long, value_name = "ACTION", value_parser = ["pass", "delay", "drop"])]
    limit_action: Option<String>,
    /// Log a keyframe (the whole screen, for instant seeking) after N bytes
    /// of output since the last one; 0: not by size [default: 262144].
    #[arg(long, value_name = "N")]
    keyframe_bytes: Option<u64>,
    /// Log a keyframe after S seconds with output since the last one; 0:
    /// not by time [default: 60].
    #[arg(long, value_name = "S")]
    keyframe_secs: Option<f64>,
    /// Terminal width when standard input is not a terminal [default: 80].
    #[arg(long, value_name = "N")]
    cols: Option<u16>,
    /// Terminal height when standard input is not a terminal [default: 24].
    #[arg(long, value_name = "N")]
    rows: Option<u16>,
    /// The command to record, and its arguments.
    #[arg(
        value_name = "CMD",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    command: Vec<OsString>,
}

impl Args {
    /// The flags as the library's [`Flags`]: `None` where nothing was said.
    pub fn into_flags(self) -> Flags {
        Flags {
            output: self.output,
            writer: self.writer,
            cockpit: self.cockpit.then_some(true),
            log_input: self.log_input.then_some(true),
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
            command: self.command,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> Flags {
        Args::try_parse_from(std::iter::once("termtape-rec").chain(args.iter().copied()))
            .expect("valid arguments")
            .into_flags()
    }

    #[test]
    fn command_arguments_pass_through_with_or_without_double_dash() {
        let f = flags(&["-o", "f", "ls", "-l", "--color"]);
        assert_eq!(f.output, Some(PathBuf::from("f")));
        assert_eq!(f.command, ["ls", "-l", "--color"].map(OsString::from));
        let f = flags(&["--", "-weird", "-o"]);
        assert_eq!(f.output, None);
        assert_eq!(f.command, ["-weird", "-o"].map(OsString::from));
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
    fn bad_numbers_are_rejected() {
        assert!(Args::try_parse_from(["termtape-rec", "--cols", "wide"]).is_err());
        assert!(Args::try_parse_from(["termtape-rec", "--payload", "-1"]).is_err());
    }
}
