//! The recorder's settings, from defaults, the configuration file and the
//! command line, merged once into a [`Config`].
//!
//! Precedence, lowest first: built-in defaults, the configuration file
//! ([`DEFAULT_CONFIG_PATH`], or the file named by the environment variable
//! [`CONFIG_ENV`]), command-line flags. [`Config::resolve`] does the merge;
//! the binary only reads the environment and maps its flags into [`Flags`].
//!
//! The file is TOML; every key is optional and unknown keys are errors:
//!
//! ```toml
//! latency = 10          # seconds a message may wait before it is written
//! payload = 2048        # bytes of recorded data per message
//! charset = "KOI8-R"    # the session's charset (default: the locale's)
//!
//! [writer]
//! kind = "file"         # file, journal or syslog
//! path = "/var/log/termtape/sessions.log"   # for kind = "file"
//! priority = "info"     # journal and syslog: the syslog priority
//! cockpit = false       # journal: appear on Cockpit's session-recording page
//! on_failure = "end"    # journal: no journald at the start, or not for
//!                       # spool_secs: "end" (refuse / end the session) or
//!                       # "continue" (run unrecorded / record into the spool file)
//! spool_dir = "/var/lib/termtape/spool"  # where entries journald did not take go
//! spool_bytes = 8388608   # entries held in memory for journald while output is shown
//! spool_secs = 30       # how long an entry waits for journald
//!
//! [session]
//! shell = "/bin/bash"   # the real shell termtape-session starts
//! notice = "\nATTENTION! Your session is being recorded!\n\n"
//!
//! [log]
//! input = false         # keystrokes
//! input_redaction = "echo-off"  # with input: leave out what the terminal
//!                       # hides (passwords); "none" records it all
//! output = true
//! window = true
//!
//! [keyframe]
//! bytes = 262144        # a keyframe after this much output (0: not by size)
//! secs = 60             # or after this long with output (0: not by time)
//!
//! [seal]
//! chain = true          # chain every message (see termtape_format::chain)
//! key = "/etc/termtape/signing.key"  # the Ed25519 key seals are signed with;
//!                       # unreadable: chained, unsigned, said on the first message
//! secs = 60             # a seal after this long with output (0: not by time)
//! messages = 1000       # or after this many messages (0: not by count)
//!
//! [audit]
//! watch = ["/etc", "/var/lib/secret"]  # files `termtape audit rules` watches
//! ```

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;
use termtape_charset::Charset;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use termtape_format::{MIN_PAYLOAD, Range};
use termtape_keyframe::Cadence;

use crate::pty::WindowSize;
use crate::relay::Settings;

/// Where the configuration file is read from by default.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/termtape/termtape.toml";

/// The environment variable that names another configuration file.
pub const CONFIG_ENV: &str = "TERMTAPE_CONFIG";

/// The default latency: the longest time recorded data waits before it is
/// written out in a message (tlog's default).
pub const DEFAULT_LATENCY: Duration = Duration::from_secs(10);

/// The default payload: the most bytes of recorded data in one message
/// (tlog's default, which the encoder owns).
pub use termtape_format::DEFAULT_PAYLOAD;

/// The largest payload accepted: a message of it stays far below the
/// longest line a reader takes, and its buffers are allocated at once.
pub const MAX_PAYLOAD: usize = 1 << 20;

/// `--latency`, `latency`.
pub const LATENCY: Range = Range::real(0.001, 86_400.0, "seconds");
/// `--payload`, `payload`.
pub const PAYLOAD: Range = Range::whole(MIN_PAYLOAD as u64, MAX_PAYLOAD as u64, "bytes");
/// `--limit-rate`, `--limit-burst`, `[limit] rate` and `burst` (1 TiB).
pub const LIMIT_BYTES: Range = Range::whole(0, 1 << 40, "bytes");
/// `--keyframe-bytes`, `[keyframe] bytes` (1 TiB; 0: not by size).
pub const KEYFRAME_BYTES: Range = Range::whole(0, 1 << 40, "bytes");
/// `--keyframe-secs`, `[keyframe] secs` (a year; 0: not by time).
pub const KEYFRAME_SECS: Range = Range::real(0.0, 31_536_000.0, "seconds");
/// `[seal] secs` (a year; 0: not by time).
pub const SEAL_SECS: Range = Range::real(0.0, 31_536_000.0, "seconds");
/// `[seal] messages` (0: not by count).
pub const SEAL_MESSAGES: Range = Range::whole(0, 1 << 40, "messages");
/// Where the recorder's private signing key is by default.
pub const DEFAULT_SEAL_KEY: &str = "/etc/termtape/signing.key";
/// `--cols`: the widest terminal a player's emulator keeps (its MAX_COLS).
pub const COLS: Range = Range::whole(1, 1024, "columns");
/// `--rows`: the tallest terminal a player's emulator keeps (its MAX_ROWS).
pub const ROWS: Range = Range::whole(1, 1024, "rows");
/// `[writer] spool_bytes`: held in memory, so at most 4 GiB.
pub const SPOOL_BYTES: Range = Range::whole(1, 1 << 32, "bytes");
/// `[writer] spool_secs`.
pub const SPOOL_SECS: Range = Range::real(0.001, 86_400.0, "seconds");

/// Everything the recorder needs to know, merged from all sources.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where the recording goes.
    pub writer: Writer,
    /// Whether to record what the user types (off by default: it captures
    /// passwords).
    pub log_input: bool,
    /// With input recorded: what is left out of it.
    pub input_redaction: crate::redact::InputRedaction,
    /// Whether to record what the command writes.
    pub log_output: bool,
    /// Whether to record window size changes.
    pub log_window: bool,
    /// The longest time recorded data waits before it is written.
    pub latency: Duration,
    /// The most bytes of recorded data per message.
    pub payload: usize,
    /// The session's charset; `None`: the recorded program's locale's (see
    /// [`crate::locale`]).
    pub charset: Option<Charset>,
    /// The terminal size when standard input is not a terminal.
    pub size: WindowSize,
    /// The program to record and its arguments.
    pub command: Vec<OsString>,
    /// The rate limit on recorded messages.
    pub limit: Limit,
    /// How often keyframes are taken.
    pub keyframe: Cadence,
    /// What the journal writer does when journald is missing or stays away.
    pub spool: crate::sink::Spool,
    /// The hash chain and its seals.
    pub seal: Seal,
}

/// The hash chain over the messages and its signed checkpoints (see
/// `termtape_format::chain`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    /// Chain the messages (off: tlog's messages, nothing to verify).
    pub chain: bool,
    /// The private key seals are signed with.
    pub key: PathBuf,
    /// When seals are made besides the first message, gaps and the end.
    pub cadence: termtape_format::chain::Cadence,
}

impl Default for Seal {
    fn default() -> Self {
        Seal {
            chain: true,
            key: PathBuf::from(DEFAULT_SEAL_KEY),
            cadence: termtape_format::chain::Cadence::default(),
        }
    }
}

/// A rate limit on recorded messages (tlog's `limit`): `rate` bytes per
/// second with bursts of `burst` bytes, and what to do beyond it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Bytes of messages per second.
    pub rate: u64,
    /// Bytes of messages allowed at once.
    pub burst: u64,
    /// What happens to messages beyond the limit.
    pub action: crate::sink::Action,
}

impl Default for Limit {
    /// tlog's defaults: 16 KiB/s, bursts of 32 KiB, pass.
    fn default() -> Self {
        Limit {
            rate: 16384,
            burst: 32768,
            action: crate::sink::Action::Pass,
        }
    }
}

/// Where recordings are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writer {
    /// Appended to a file, one message per line.
    File(PathBuf),
    /// Sent to systemd-journald, one message per entry, with tlog's fields.
    Journal {
        /// Syslog priority of the entries (0–7; 6 is info).
        priority: u8,
        /// Make the recording process known as `tlog-rec`, so that Cockpit's
        /// session-recording page (which selects `_COMM=tlog-rec`) lists it.
        cockpit: bool,
    },
    /// Sent to the local syslog socket, facility authpriv, as tlog does.
    Syslog {
        /// Syslog priority of the records (0–7; 6 is info).
        priority: u8,
    },
}

/// A setting whose values are a closed set of names (`-w` and `[writer]
/// kind`, `--limit-action` and `[limit] action`, …): one type for the flag
/// and the file key, so that nothing matches a string twice.
pub trait Named: Sized + Copy + 'static {
    /// Every value, in the order help and messages list them.
    const ALL: &'static [Self];
    /// What one value is called in messages: "writer", "action".
    const WHAT: &'static str;
    /// Whether the file may write a name in any case (syslog priorities,
    /// as tlog reads them).
    const ANY_CASE: bool = false;

    /// The value's name, as flags and the file write it.
    fn name(self) -> &'static str;

    /// The value called `name`, if any.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| {
            if Self::ANY_CASE {
                v.name().eq_ignore_ascii_case(name)
            } else {
                v.name() == name
            }
        })
    }

    /// The names, for messages: `a, b or c`.
    fn names() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|v| v.name()).collect();
        match names.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

/// Implements [`Named`] for an enum (and, for the binaries, clap's
/// `ValueEnum`, so that a flag takes the same names the file does).
macro_rules! named {
    ($ty:ty, $what:literal, any_case: $any_case:literal, { $($variant:path => $name:literal),+ $(,)? }) => {
        impl Named for $ty {
            const ALL: &'static [Self] = &[$($variant),+];
            const WHAT: &'static str = $what;
            const ANY_CASE: bool = $any_case;

            fn name(self) -> &'static str {
                match self {
                    $($variant => $name),+
                }
            }
        }

        #[cfg(feature = "clap")]
        impl clap::ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                <Self as Named>::ALL
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(clap::builder::PossibleValue::new(Named::name(*self)))
            }
        }
    };
}

/// Which writer records: `-w`, `[writer] kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriterKind {
    /// Appended to a file (`-o FILE` or `[writer] path`).
    File,
    /// Sent to systemd-journald.
    Journal,
    /// Sent to the local syslog socket.
    Syslog,
}

named!(WriterKind, "writer", any_case: false, {
    WriterKind::File => "file",
    WriterKind::Journal => "journal",
    WriterKind::Syslog => "syslog",
});

named!(crate::sink::Action, "action", any_case: false, {
    crate::sink::Action::Pass => "pass",
    crate::sink::Action::Delay => "delay",
    crate::sink::Action::Drop => "drop",
});

named!(crate::redact::InputRedaction, "input redaction", any_case: false, {
    crate::redact::InputRedaction::EchoOff => "echo-off",
    crate::redact::InputRedaction::None => "none",
});

named!(crate::sink::OnFailure, "policy", any_case: false, {
    crate::sink::OnFailure::End => "end",
    crate::sink::OnFailure::Continue => "continue",
});

/// A syslog priority, as tlog and syslog(3) name them: `[writer] priority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Priority {
    /// 0: the system is unusable.
    Emerg,
    /// 1: action must be taken at once.
    Alert,
    /// 2: critical.
    Crit,
    /// 3: an error.
    Err,
    /// 4: a warning.
    Warning,
    /// 5: normal but significant.
    Notice,
    /// 6: informational (the default).
    Info,
    /// 7: debugging.
    Debug,
}

named!(Priority, "priority", any_case: true, {
    Priority::Emerg => "emerg",
    Priority::Alert => "alert",
    Priority::Crit => "crit",
    Priority::Err => "err",
    Priority::Warning => "warning",
    Priority::Notice => "notice",
    Priority::Info => "info",
    Priority::Debug => "debug",
});

/// The configuration file's contents.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    /// `latency`: seconds.
    #[serde(deserialize_with = "file_latency")]
    pub latency: Option<f64>,
    /// `payload`: bytes.
    #[serde(deserialize_with = "file_payload")]
    pub payload: Option<usize>,
    /// `charset`: the session's charset, by name.
    pub charset: Option<String>,
    /// `[writer]`: where recordings go.
    pub writer: WriterSection,
    /// `[log]`: what is recorded.
    pub log: LogSection,
    /// `[session]`: termtape-session, the recording login shell.
    pub session: SessionSection,
    /// `[limit]`: the rate limit.
    pub limit: LimitSection,
    /// `[keyframe]`: how often keyframes are taken.
    pub keyframe: KeyframeSection,
    /// `[seal]`: the hash chain and its seals.
    pub seal: SealSection,
    /// `[audit]`: the kernel audit rules `termtape audit rules` makes.
    pub audit: AuditSection,
}

/// The `[audit]` section.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditSection {
    /// `watch`: files and directories whose changes the kernel logs
    /// (absolute paths; see [`crate::audit_rules`]).
    pub watch: Option<Vec<PathBuf>>,
}

/// The `[seal]` section.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SealSection {
    /// `chain`: chain every message.
    pub chain: Option<bool>,
    /// `key`: the private key seals are signed with.
    pub key: Option<PathBuf>,
    /// `secs`: a seal after this long with output (0: not by time).
    #[serde(deserialize_with = "file_seal_secs")]
    pub secs: Option<f64>,
    /// `messages`: a seal after this many messages (0: not by count).
    #[serde(deserialize_with = "file_seal_messages")]
    pub messages: Option<u64>,
}

/// The `[keyframe]` section.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeyframeSection {
    /// `bytes`: a keyframe after this many bytes of output (0: not by size).
    #[serde(deserialize_with = "file_keyframe_bytes")]
    pub bytes: Option<u64>,
    /// `secs`: a keyframe after this many seconds with output (0: not by time).
    #[serde(deserialize_with = "file_keyframe_secs")]
    pub secs: Option<f64>,
}

/// The `[limit]` section.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSection {
    /// `rate`: bytes of messages per second.
    #[serde(deserialize_with = "file_limit_rate")]
    pub rate: Option<u64>,
    /// `burst`: bytes of messages at once.
    #[serde(deserialize_with = "file_limit_burst")]
    pub burst: Option<u64>,
    /// `action`: `pass`, `delay` or `drop`.
    #[serde(deserialize_with = "file_limit_action")]
    pub action: Option<crate::sink::Action>,
}

/// The `[session]` section.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionSection {
    /// `shell`: the real shell to start (default /bin/bash).
    pub shell: Option<PathBuf>,
    /// `notice`: shown before the session starts ("" for none).
    pub notice: Option<String>,
}

/// The `[writer]` section.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WriterSection {
    /// `kind`: `file`, `journal` or `syslog`.
    #[serde(deserialize_with = "file_writer_kind")]
    pub kind: Option<WriterKind>,
    /// `path`: the file recordings are appended to.
    pub path: Option<PathBuf>,
    /// `priority`: syslog priority name for journal and syslog.
    #[serde(deserialize_with = "file_priority")]
    pub priority: Option<Priority>,
    /// `cockpit`: journal entries Cockpit lists.
    pub cockpit: Option<bool>,
    /// `on_failure`: `end` or `continue`.
    #[serde(deserialize_with = "file_on_failure")]
    pub on_failure: Option<crate::sink::OnFailure>,
    /// `spool_dir`: where entries journald did not take are saved.
    pub spool_dir: Option<PathBuf>,
    /// `spool_bytes`: entries held for journald while output is shown.
    #[serde(deserialize_with = "file_spool_bytes")]
    pub spool_bytes: Option<u64>,
    /// `spool_secs`: how long an entry waits for journald.
    #[serde(deserialize_with = "file_spool_secs")]
    pub spool_secs: Option<f64>,
}

/// The `[log]` section.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSection {
    /// `input`: record what the user types.
    pub input: Option<bool>,
    /// `input_redaction`: what is left out of the input.
    #[serde(deserialize_with = "file_input_redaction")]
    pub input_redaction: Option<crate::redact::InputRedaction>,
    /// `output`: record what the command writes.
    pub output: Option<bool>,
    /// `window`: record window sizes.
    pub window: Option<bool>,
}

/// What the command line says; `None` where it says nothing.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Flags {
    /// `-o FILE`.
    pub output: Option<PathBuf>,
    /// `-w file|journal|syslog`.
    pub writer: Option<WriterKind>,
    /// `--cockpit`.
    pub cockpit: Option<bool>,
    /// `--log-input`.
    pub log_input: Option<bool>,
    /// `--input-redaction echo-off|none`.
    pub input_redaction: Option<crate::redact::InputRedaction>,
    /// `--no-log-output`.
    pub log_output: Option<bool>,
    /// `--no-log-window`.
    pub log_window: Option<bool>,
    /// `--latency SECS`.
    pub latency: Option<f64>,
    /// `--payload BYTES`.
    pub payload: Option<usize>,
    /// `--charset NAME`.
    pub charset: Option<String>,
    /// `--limit-rate BYTES`.
    pub limit_rate: Option<u64>,
    /// `--limit-burst BYTES`.
    pub limit_burst: Option<u64>,
    /// `--limit-action pass|delay|drop`.
    pub limit_action: Option<crate::sink::Action>,
    /// `--cols N`.
    pub cols: Option<u16>,
    /// `--rows N`.
    pub rows: Option<u16>,
    /// `--keyframe-bytes N`.
    pub keyframe_bytes: Option<u64>,
    /// `--keyframe-secs S`.
    pub keyframe_secs: Option<f64>,
    /// `--no-chain`.
    pub chain: Option<bool>,
    /// `--seal-key PATH`.
    pub seal_key: Option<PathBuf>,
    /// `CMD [ARGS…]`; empty for the user's shell.
    pub command: Vec<OsString>,
}

/// A configuration problem, naming the file or flag and the key at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration file could not be read.
    #[error("cannot read configuration file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The configuration file is not valid TOML or has a wrong or unknown key.
    #[error("invalid configuration file {}{}: {message}", path.display(), line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The line of the problem, if known.
        line: Option<usize>,
        /// The parser's description, naming the key.
        message: String,
    },
    /// A value is out of range.
    #[error("{origin}: {reason}")]
    Invalid {
        /// Where the value came from: a flag (`--latency`) or a file and key.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Neither `-o` nor the configuration file says where to write.
    #[error(
        "no output file: pass -o FILE (or -w journal), or set `path` in the [writer] section of {}",
        config.display()
    )]
    NoOutput {
        /// The configuration file consulted.
        config: PathBuf,
    },
}

/// Reads a number for configuration key `key` and checks it against
/// `range`: the error names the key and the range, and the TOML parser
/// adds the line.
struct Bounded {
    key: &'static str,
    range: Range,
}

impl<'de> Visitor<'de> for Bounded {
    type Value = f64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: a number ({})", self.key, self.range)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        self.visit_f64(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        self.visit_f64(v as f64)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        self.range
            .check(v)
            .map_err(|e| E::custom(format!("{}: {e}", self.key)))
    }
}

/// A `deserialize_with` function for a numeric key of the file.
macro_rules! bounded_key {
    ($name:ident, $key:literal, $range:expr, $ty:ty) => {
        fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<$ty>, D::Error> {
            let v = d.deserialize_any(Bounded {
                key: $key,
                range: $range,
            })?;
            // In range, so it fits.
            Ok(Some(v as $ty))
        }
    };
}

bounded_key!(file_latency, "latency", LATENCY, f64);
bounded_key!(file_payload, "payload", PAYLOAD, usize);
bounded_key!(file_keyframe_bytes, "[keyframe] bytes", KEYFRAME_BYTES, u64);
bounded_key!(file_keyframe_secs, "[keyframe] secs", KEYFRAME_SECS, f64);
bounded_key!(file_seal_secs, "[seal] secs", SEAL_SECS, f64);
bounded_key!(file_seal_messages, "[seal] messages", SEAL_MESSAGES, u64);
bounded_key!(file_limit_rate, "[limit] rate", LIMIT_BYTES, u64);
bounded_key!(file_limit_burst, "[limit] burst", LIMIT_BYTES, u64);
bounded_key!(file_spool_bytes, "[writer] spool_bytes", SPOOL_BYTES, u64);
bounded_key!(file_spool_secs, "[writer] spool_secs", SPOOL_SECS, f64);

/// Reads a name for configuration key `key` from the closed set `T`: the
/// error names the key, the value and the names allowed, and the TOML
/// parser adds the line.
struct OneOf<T> {
    key: &'static str,
    named: std::marker::PhantomData<T>,
}

impl<T: Named> Visitor<'_> for OneOf<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: one of {}", self.key, T::names())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        T::from_name(v).ok_or_else(|| {
            E::custom(format!(
                "{}: unknown {} {v:?} (expected {})",
                self.key,
                T::WHAT,
                T::names()
            ))
        })
    }
}

/// A `deserialize_with` function for a key whose values are names.
macro_rules! named_key {
    ($name:ident, $key:literal, $ty:ty) => {
        fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<$ty>, D::Error> {
            d.deserialize_str(OneOf {
                key: $key,
                named: std::marker::PhantomData,
            })
            .map(Some)
        }
    };
}

named_key!(file_writer_kind, "[writer] kind", WriterKind);
named_key!(file_priority, "[writer] priority", Priority);
named_key!(
    file_on_failure,
    "[writer] on_failure",
    crate::sink::OnFailure
);
named_key!(file_limit_action, "[limit] action", crate::sink::Action);
named_key!(
    file_input_redaction,
    "[log] input_redaction",
    crate::redact::InputRedaction
);

/// Checks a value of a numeric setting from `origin` (a flag, or a file and
/// key) against its range.
fn bounded(v: f64, range: Range, origin: impl FnOnce() -> String) -> Result<f64, Error> {
    range.check(v).map_err(|reason| Error::Invalid {
        origin: origin(),
        reason,
    })
}

impl FileConfig {
    /// Parses the text of configuration file `path`.
    pub fn parse(text: &str, path: &Path) -> Result<FileConfig, Error> {
        toml::from_str(text).map_err(|e| Error::Parse {
            path: path.to_owned(),
            line: e.span().map(|span| {
                text.as_bytes()[..span.start.min(text.len())]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1
            }),
            message: e.message().to_owned(),
        })
    }

    /// Reads configuration file `path`. A missing file is an empty
    /// configuration unless `required` (a file the user named explicitly).
    pub fn load(path: &Path, required: bool) -> Result<FileConfig, Error> {
        match std::fs::read_to_string(path) {
            Ok(text) => FileConfig::parse(&text, path),
            Err(e) if e.kind() == io::ErrorKind::NotFound && !required => Ok(FileConfig::default()),
            Err(source) => Err(Error::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }
}

/// Names a charset.
fn charset(name: &str, origin: impl FnOnce() -> String) -> Result<Charset, Error> {
    Charset::for_name(name).map_err(|e| Error::Invalid {
        origin: origin(),
        reason: e.to_string(),
    })
}

/// Checks a latency in seconds.
fn latency(secs: f64, origin: impl FnOnce() -> String) -> Result<Duration, Error> {
    bounded(secs, LATENCY, origin).map(Duration::from_secs_f64)
}

/// Checks a payload size.
fn payload(bytes: usize, origin: impl FnOnce() -> String) -> Result<usize, Error> {
    bounded(bytes as f64, PAYLOAD, origin).map(|_| bytes)
}

/// Checks a window dimension.
fn dimension(n: u16, range: Range, flag: &str) -> Result<u16, Error> {
    bounded(f64::from(n), range, || flag.to_owned()).map(|_| n)
}

/// The writer from `-w`/`-o`/`--cockpit` and the `[writer]` section.
fn writer(file: &FileConfig, file_path: &Path, flags: &Flags) -> Result<Writer, Error> {
    // `-o FILE` alone means the file writer.
    let kind = flags
        .writer
        .or(file.writer.kind)
        .unwrap_or(WriterKind::File);
    let priority = file.writer.priority.unwrap_or(Priority::Info) as u8;
    match kind {
        WriterKind::File => flags
            .output
            .clone()
            .or_else(|| file.writer.path.clone())
            .filter(|p| !p.as_os_str().is_empty())
            .map(Writer::File)
            .ok_or_else(|| Error::NoOutput {
                config: file_path.to_owned(),
            }),
        WriterKind::Journal => Ok(Writer::Journal {
            priority,
            cockpit: flags.cockpit.or(file.writer.cockpit).unwrap_or(false),
        }),
        WriterKind::Syslog => Ok(Writer::Syslog { priority }),
    }
}

impl Config {
    /// What the relay needs: the command and the fallback size.
    pub fn relay_settings(&self) -> Settings {
        Settings {
            command: self.command.clone(),
            size: self.size,
            argv0: None,
            run_as: None,
            utmp: None,
        }
    }

    /// Merges defaults < `file` (read from `file_path`) < `flags`. `shell`
    /// is the value of `$SHELL`, run when `flags` names no command
    /// (`/bin/sh` if it is unset or empty).
    pub fn resolve(
        file: &FileConfig,
        file_path: &Path,
        flags: Flags,
        shell: Option<OsString>,
    ) -> Result<Config, Error> {
        let in_file = |key: &str| format!("{}: {key}", file_path.display());
        let latency = match (flags.latency, file.latency) {
            (Some(secs), _) => latency(secs, || "--latency".to_owned())?,
            (None, Some(secs)) => latency(secs, || in_file("latency"))?,
            (None, None) => DEFAULT_LATENCY,
        };
        let payload = match (flags.payload, file.payload) {
            (Some(bytes), _) => payload(bytes, || "--payload".to_owned())?,
            (None, Some(bytes)) => payload(bytes, || in_file("payload"))?,
            (None, None) => DEFAULT_PAYLOAD,
        };
        let charset = match (&flags.charset, &file.charset) {
            (Some(name), _) => Some(charset(name, || "--charset".to_owned())?),
            (None, Some(name)) => Some(charset(name, || in_file("charset"))?),
            (None, None) => None,
        };
        let default = WindowSize::default();
        let size = WindowSize {
            cols: dimension(flags.cols.unwrap_or(default.cols), COLS, "--cols")?,
            rows: dimension(flags.rows.unwrap_or(default.rows), ROWS, "--rows")?,
        };
        let writer = writer(file, file_path, &flags)?;
        let limit = limit(file, file_path, &flags)?;
        let keyframe = keyframe(file, file_path, &flags)?;
        let spool = spool(file, file_path)?;
        let seal = seal(file, file_path, &flags)?;
        let command = if flags.command.is_empty() {
            vec![
                shell
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "/bin/sh".into()),
            ]
        } else {
            flags.command
        };
        Ok(Config {
            writer,
            log_input: flags.log_input.or(file.log.input).unwrap_or(false),
            input_redaction: flags
                .input_redaction
                .or(file.log.input_redaction)
                .unwrap_or_default(),
            log_output: flags.log_output.or(file.log.output).unwrap_or(true),
            log_window: flags.log_window.or(file.log.window).unwrap_or(true),
            latency,
            payload,
            charset,
            size,
            command,
            limit,
            keyframe,
            spool,
            seal,
        })
    }
}

/// The chain and its seals from the flags and the `[seal]` section.
fn seal(file: &FileConfig, file_path: &Path, flags: &Flags) -> Result<Seal, Error> {
    let default = Seal::default();
    let in_file = |key: &str| format!("{}: [seal] {key}", file_path.display());
    let secs = match file.seal.secs {
        Some(secs) => bounded(secs, SEAL_SECS, || in_file("secs"))?,
        None => default.cadence.ms as f64 / 1000.0,
    };
    let messages = match file.seal.messages {
        Some(n) => bounded(n as f64, SEAL_MESSAGES, || in_file("messages"))? as u64,
        None => default.cadence.messages,
    };
    Ok(Seal {
        chain: flags.chain.or(file.seal.chain).unwrap_or(default.chain),
        key: flags
            .seal_key
            .clone()
            .or_else(|| file.seal.key.clone())
            .unwrap_or(default.key),
        cadence: termtape_format::chain::Cadence {
            ms: (secs * 1000.0).round() as u64,
            messages,
        },
    })
}

/// The journal writer's failure policy from the `[writer]` section.
fn spool(file: &FileConfig, file_path: &Path) -> Result<crate::sink::Spool, Error> {
    use crate::sink::{OnFailure, Spool};
    let in_file = |key: &str| format!("{}: [writer] {key}", file_path.display());
    let default = Spool::default();
    let on_failure = file.writer.on_failure.unwrap_or(OnFailure::End);
    let max_time = match file.writer.spool_secs {
        None => default.max_time,
        Some(secs) => Duration::from_secs_f64(bounded(secs, SPOOL_SECS, || in_file("spool_secs"))?),
    };
    let max_bytes = match file.writer.spool_bytes {
        Some(bytes) => bounded(bytes as f64, SPOOL_BYTES, || in_file("spool_bytes"))? as u64,
        None => default.max_bytes,
    };
    Ok(Spool {
        on_failure,
        dir: file.writer.spool_dir.clone().unwrap_or(default.dir),
        max_bytes,
        max_time,
    })
}

/// The keyframe cadence from the flags and the `[keyframe]` section.
fn keyframe(file: &FileConfig, file_path: &Path, flags: &Flags) -> Result<Cadence, Error> {
    let default = Cadence::default();
    let in_file = |key: &str| format!("{}: [keyframe] {key}", file_path.display());
    let bytes = match (flags.keyframe_bytes, file.keyframe.bytes) {
        (Some(n), _) => bounded(n as f64, KEYFRAME_BYTES, || "--keyframe-bytes".to_owned())?,
        (None, Some(n)) => bounded(n as f64, KEYFRAME_BYTES, || in_file("bytes"))?,
        (None, None) => default.bytes as f64,
    } as u64;
    let interval = match (flags.keyframe_secs, file.keyframe.secs) {
        (Some(secs), _) => bounded(secs, KEYFRAME_SECS, || "--keyframe-secs".to_owned())?,
        (None, Some(secs)) => bounded(secs, KEYFRAME_SECS, || in_file("secs"))?,
        (None, None) => default.interval.as_secs_f64(),
    };
    let interval = Duration::from_secs_f64(interval);
    Ok(Cadence { bytes, interval })
}

/// The rate limit from the flags and the `[limit]` section.
fn limit(file: &FileConfig, file_path: &Path, flags: &Flags) -> Result<Limit, Error> {
    use crate::sink::Action;
    let default = Limit::default();
    let action = flags
        .limit_action
        .or(file.limit.action)
        .unwrap_or(default.action);
    let in_file = |key: &str| format!("{}: [limit] {key}", file_path.display());
    let rate = match (flags.limit_rate, file.limit.rate) {
        (Some(n), _) => bounded(n as f64, LIMIT_BYTES, || "--limit-rate".to_owned())? as u64,
        (None, Some(n)) => bounded(n as f64, LIMIT_BYTES, || in_file("rate"))? as u64,
        (None, None) => default.rate,
    };
    let burst = match (flags.limit_burst, file.limit.burst) {
        (Some(n), _) => bounded(n as f64, LIMIT_BYTES, || "--limit-burst".to_owned())? as u64,
        (None, Some(n)) => bounded(n as f64, LIMIT_BYTES, || in_file("burst"))? as u64,
        (None, None) => default.burst,
    };
    if action != Action::Pass && (rate == 0 || burst == 0) {
        return Err(Error::Invalid {
            origin: "limit".to_owned(),
            reason: "rate and burst must be positive numbers of bytes".to_owned(),
        });
    }
    Ok(Limit {
        rate,
        burst,
        action,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path() -> PathBuf {
        PathBuf::from("/etc/termtape/termtape.toml")
    }

    fn with_output() -> Flags {
        Flags {
            output: Some("out.log".into()),
            ..Flags::default()
        }
    }

    #[test]
    fn input_redaction_is_read_from_the_file_and_the_flag_wins() {
        use crate::redact::InputRedaction;
        let file: FileConfig =
            toml::from_str("[log]\ninput = true\ninput_redaction = \"none\"\n").expect("parses");
        let c = Config::resolve(&file, &path(), with_output(), None).expect("config");
        assert_eq!(c.input_redaction, InputRedaction::None);
        let flags = Flags {
            input_redaction: Some(InputRedaction::EchoOff),
            ..with_output()
        };
        let c = Config::resolve(&file, &path(), flags, None).expect("config");
        assert_eq!(c.input_redaction, InputRedaction::EchoOff);
        let err = toml::from_str::<FileConfig>("[log]\ninput_redaction = \"off\"\n")
            .expect_err("unknown name");
        assert!(
            err.to_string().contains(
                "[log] input_redaction: unknown input redaction \"off\" (expected echo-off or none)"
            ),
            "{err}"
        );
    }

    #[test]
    fn defaults_apply_when_nothing_is_said() {
        let c =
            Config::resolve(&FileConfig::default(), &path(), with_output(), None).expect("config");
        assert_eq!(
            c,
            Config {
                writer: Writer::File("out.log".into()),
                log_input: false,
                input_redaction: crate::redact::InputRedaction::EchoOff,
                log_output: true,
                log_window: true,
                latency: Duration::from_secs(10),
                payload: 2048,
                charset: None,
                size: WindowSize { cols: 80, rows: 24 },
                command: vec!["/bin/sh".into()],
                limit: Limit::default(),
                keyframe: Cadence::default(),
                spool: crate::sink::Spool::default(),
                seal: Seal::default(),
            }
        );
    }

    #[test]
    fn shell_is_the_default_command_and_flags_name_others() {
        let c = Config::resolve(
            &FileConfig::default(),
            &path(),
            with_output(),
            Some("/bin/zsh".into()),
        )
        .expect("config");
        assert_eq!(c.command, vec![OsString::from("/bin/zsh")]);
        let c = Config::resolve(
            &FileConfig::default(),
            &path(),
            with_output(),
            Some("".into()),
        )
        .expect("config");
        assert_eq!(c.command, vec![OsString::from("/bin/sh")]);
        let flags = Flags {
            command: vec!["ls".into(), "-l".into()],
            ..with_output()
        };
        let c = Config::resolve(
            &FileConfig::default(),
            &path(),
            flags,
            Some("/bin/zsh".into()),
        )
        .expect("config");
        assert_eq!(c.command, vec![OsString::from("ls"), OsString::from("-l")]);
    }

    #[test]
    fn file_overrides_defaults_and_flags_override_file() {
        let file = FileConfig::parse(
            "latency = 2.5\npayload = 512\n[writer]\npath = \"/var/log/t.log\"\n[log]\ninput = true\noutput = false\nwindow = false\n",
            &path(),
        )
        .expect("parse");
        let c = Config::resolve(&file, &path(), Flags::default(), None).expect("config");
        assert_eq!(c.writer, Writer::File("/var/log/t.log".into()));
        assert_eq!(c.latency, Duration::from_millis(2500));
        assert_eq!(c.payload, 512);
        assert!(c.log_input && !c.log_output && !c.log_window);

        let flags = Flags {
            output: Some("mine.log".into()),
            latency: Some(1.0),
            payload: Some(4096),
            log_output: Some(true),
            cols: Some(132),
            rows: Some(43),
            ..Flags::default()
        };
        let c = Config::resolve(&file, &path(), flags, None).expect("config");
        assert_eq!(c.writer, Writer::File("mine.log".into()));
        assert_eq!(c.latency, Duration::from_secs(1));
        assert_eq!(c.payload, 4096);
        assert!(c.log_output);
        assert_eq!(
            c.size,
            WindowSize {
                cols: 132,
                rows: 43
            }
        );
    }

    #[test]
    fn missing_output_is_a_clear_error() {
        let err = Config::resolve(&FileConfig::default(), &path(), Flags::default(), None)
            .expect_err("no output");
        assert_eq!(
            err.to_string(),
            "no output file: pass -o FILE (or -w journal), or set `path` in the [writer] section of /etc/termtape/termtape.toml"
        );
    }

    #[test]
    fn unknown_key_error_names_file_line_and_key() {
        let err = FileConfig::parse("[writer]\npth = \"x\"\n", &path()).expect_err("unknown key");
        let text = err.to_string();
        assert!(
            text.starts_with("invalid configuration file /etc/termtape/termtape.toml, line 2: "),
            "{text}"
        );
        assert!(text.contains("unknown field `pth`"), "{text}");
    }

    #[test]
    fn wrong_type_error_names_the_key() {
        let err = FileConfig::parse("payload = \"big\"\n", &path()).expect_err("wrong type");
        let text = err.to_string();
        assert!(text.contains("line 1"), "{text}");
        assert!(
            text.contains("string") || text.contains("integer"),
            "{text}"
        );
    }

    #[test]
    fn out_of_range_values_name_their_origin() {
        let flags = Flags {
            latency: Some(0.0),
            ..with_output()
        };
        let err = Config::resolve(&FileConfig::default(), &path(), flags, None)
            .expect_err("zero latency");
        assert_eq!(
            err.to_string(),
            "--latency: 0 is out of range; must be a number of seconds from 0.001 to 86400"
        );
        let flags = Flags {
            payload: Some(usize::MAX),
            ..with_output()
        };
        let err = Config::resolve(&FileConfig::default(), &path(), flags, None)
            .expect_err("huge payload");
        assert_eq!(
            err.to_string(),
            "--payload: 1.8446744073709552e19 is out of range; must be a whole number of bytes from 64 to 1048576"
        );
        let flags = Flags {
            cols: Some(0),
            ..with_output()
        };
        let err =
            Config::resolve(&FileConfig::default(), &path(), flags, None).expect_err("zero cols");
        assert_eq!(
            err.to_string(),
            "--cols: 0 is out of range; must be a whole number of columns from 1 to 1024"
        );
    }

    #[test]
    fn out_of_range_keys_name_file_line_key_and_range() {
        let cases = [
            (
                "latency = -1\n",
                1,
                "latency: -1 is out of range; must be a number of seconds from 0.001 to 86400",
            ),
            (
                "\npayload = 63\n",
                2,
                "payload: 63 is out of range; must be a whole number of bytes from 64 to 1048576",
            ),
            (
                "payload = 100.5\n",
                1,
                "payload: 100.5 is not a whole number",
            ),
            ("latency = nan\n", 1, "latency: NaN is out of range"),
            ("latency = inf\n", 1, "latency: inf is out of range"),
            ("latency = 1e308\n", 1, "latency: 1e308 is out of range"),
            (
                "[keyframe]\nsecs = -0.5\n",
                2,
                "[keyframe] secs: -0.5 is out of range",
            ),
            (
                "[keyframe]\n\nbytes = 9223372036854775807\n",
                3,
                "[keyframe] bytes: 9.223372036854776e18 is out of range",
            ),
            (
                "[limit]\nrate = -5\n",
                2,
                "[limit] rate: -5 is out of range",
            ),
            (
                "[limit]\nburst = 2e12\n",
                2,
                "[limit] burst: 2000000000000 is out of range",
            ),
            (
                "[writer]\nspool_bytes = 0\n",
                2,
                "[writer] spool_bytes: 0 is out of range",
            ),
            (
                "[writer]\nspool_secs = 0\n",
                2,
                "[writer] spool_secs: 0 is out of range",
            ),
            (
                "payload = \"big\"\n",
                1,
                "expected payload: a number (must be a whole number of bytes from 64 to 1048576)",
            ),
        ];
        for (text, line, message) in cases {
            let err = FileConfig::parse(text, &path()).expect_err(text);
            let said = err.to_string();
            let head =
                format!("invalid configuration file /etc/termtape/termtape.toml, line {line}: ");
            assert!(said.starts_with(&head), "{text:?}: {said}");
            assert!(said.contains(message), "{text:?}: {said}");
        }
        let file = FileConfig::parse(
            "latency = 86400\npayload = 1048576\n[keyframe]\nsecs = 0\nbytes = 0\n",
            &path(),
        )
        .expect("the bounds are accepted");
        let c = Config::resolve(&file, &path(), with_output(), None).expect("config");
        assert_eq!(c.latency, Duration::from_secs(86400));
        assert_eq!(c.payload, 1 << 20);
    }

    #[test]
    fn missing_file_is_empty_unless_required() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("none.toml");
        assert_eq!(
            FileConfig::load(&missing, false).expect("optional"),
            FileConfig::default()
        );
        let err = FileConfig::load(&missing, true).expect_err("required");
        assert!(
            err.to_string()
                .starts_with("cannot read configuration file "),
            "{err}"
        );

        let present = dir.path().join("t.toml");
        std::fs::write(&present, "[writer]\npath = \"/x\"\n").expect("write");
        let file = FileConfig::load(&present, true).expect("load");
        assert_eq!(file.writer.path, Some(PathBuf::from("/x")));
    }

    #[test]
    fn writers_come_from_flags_or_the_file() {
        let flags = Flags {
            writer: Some(WriterKind::Journal),
            cockpit: Some(true),
            ..Flags::default()
        };
        let c = Config::resolve(&FileConfig::default(), &path(), flags, None).expect("config");
        assert_eq!(
            c.writer,
            Writer::Journal {
                priority: 6,
                cockpit: true
            }
        );
        let file = FileConfig::parse(
            "[writer]\nkind = \"syslog\"\npriority = \"notice\"\n",
            &path(),
        )
        .expect("parse");
        let c = Config::resolve(&file, &path(), Flags::default(), None).expect("config");
        assert_eq!(c.writer, Writer::Syslog { priority: 5 });
        // An unknown name is refused as the file is read, with its line.
        let err =
            FileConfig::parse("[writer]\nkind = \"tape\"\n", &path()).expect_err("bad writer");
        assert_eq!(
            err.to_string(),
            "invalid configuration file /etc/termtape/termtape.toml, line 2: \
             [writer] kind: unknown writer \"tape\" (expected file, journal or syslog)"
        );
        let err = FileConfig::parse(
            "[writer]\nkind = \"journal\"\npriority = \"loud\"\n",
            &path(),
        )
        .expect_err("bad priority");
        assert!(
            err.to_string().starts_with(
                "invalid configuration file /etc/termtape/termtape.toml, line 3: \
                 [writer] priority: unknown priority \"loud\" (expected emerg, alert,"
            ),
            "{err}"
        );
        // Priorities in any case, as tlog reads them.
        let file = FileConfig::parse("[writer]\nkind = \"syslog\"\npriority = \"ERR\"\n", &path())
            .expect("parse");
        let c = Config::resolve(&file, &path(), Flags::default(), None).expect("config");
        assert_eq!(c.writer, Writer::Syslog { priority: 3 });
    }

    #[test]
    fn closed_sets_name_the_key_and_the_choices() {
        for (text, line, message) in [
            (
                "[writer]\non_failure = \"retry\"\n",
                2,
                "[writer] on_failure: unknown policy \"retry\" (expected end or continue)",
            ),
            (
                "[writer]\nkind = \"File\"\n",
                2,
                "[writer] kind: unknown writer \"File\" (expected file, journal or syslog)",
            ),
            (
                "[limit]\n\naction = 3\n",
                3,
                "expected [limit] action: one of pass, delay or drop",
            ),
        ] {
            let said = FileConfig::parse(text, &path())
                .expect_err(text)
                .to_string();
            let head =
                format!("invalid configuration file /etc/termtape/termtape.toml, line {line}: ");
            assert!(said.starts_with(&head), "{text:?}: {said}");
            assert!(said.contains(message), "{text:?}: {said}");
        }
        let file = FileConfig::parse(
            "[writer]\non_failure = \"continue\"\n[limit]\naction = \"delay\"\nrate = 1\n",
            &path(),
        )
        .expect("parse");
        let c = Config::resolve(&file, &path(), with_output(), None).expect("config");
        assert_eq!(c.spool.on_failure, crate::sink::OnFailure::Continue);
        assert_eq!(c.limit.action, crate::sink::Action::Delay);
    }

    #[test]
    fn charset_comes_from_flags_or_file_and_unknown_names_fail() {
        let c =
            Config::resolve(&FileConfig::default(), &path(), with_output(), None).expect("config");
        assert_eq!(c.charset, None, "the locale's, found when recording starts");
        let file = FileConfig::parse("charset = \"koi8r\"\n", &path()).expect("parse");
        let c = Config::resolve(&file, &path(), with_output(), None).expect("config");
        assert_eq!(c.charset.map(Charset::name), Some("KOI8-R"));
        let flags = Flags {
            charset: Some("EUC-JP".into()),
            ..with_output()
        };
        let c = Config::resolve(&file, &path(), flags, None).expect("config");
        assert_eq!(c.charset.map(Charset::name), Some("EUC-JP"));
        let flags = Flags {
            charset: Some("KOI9".into()),
            ..with_output()
        };
        let err = Config::resolve(&file, &path(), flags, None).expect_err("unknown");
        assert!(
            err.to_string()
                .starts_with("--charset: unknown charset \"KOI9\""),
            "{err}"
        );
        let file = FileConfig::parse("charset = \"nope\"\n", &path()).expect("parse");
        let err = Config::resolve(&file, &path(), with_output(), None).expect_err("unknown");
        assert!(
            err.to_string()
                .starts_with("/etc/termtape/termtape.toml: charset: unknown charset \"nope\""),
            "{err}"
        );
    }

    #[test]
    fn limits_come_from_flags_or_the_file() {
        use crate::sink::Action;
        let file = FileConfig::parse(
            "[limit]\nrate = 1000\nburst = 5000\naction = \"drop\"\n",
            &path(),
        )
        .expect("parse");
        let c = Config::resolve(&file, &path(), with_output(), None).expect("config");
        assert_eq!(
            c.limit,
            Limit {
                rate: 1000,
                burst: 5000,
                action: Action::Drop
            }
        );
        let flags = Flags {
            limit_action: Some(Action::Delay),
            limit_rate: Some(7),
            ..with_output()
        };
        let c = Config::resolve(&file, &path(), flags, None).expect("config");
        assert_eq!(
            c.limit,
            Limit {
                rate: 7,
                burst: 5000,
                action: Action::Delay
            }
        );
        let err =
            FileConfig::parse("[limit]\naction = \"slow\"\n", &path()).expect_err("bad action");
        assert_eq!(
            err.to_string(),
            "invalid configuration file /etc/termtape/termtape.toml, line 2: \
             [limit] action: unknown action \"slow\" (expected pass, delay or drop)"
        );
    }
}
