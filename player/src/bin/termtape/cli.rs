//! The command line of `termtape`.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use termtape_format::Range;
use termtape_player::source::TrustedUid;

/// termtape: record terminal sessions in tlog's format, and play, inspect
/// and list them.
#[derive(Debug, Parser)]
#[command(name = "termtape", version, after_help = format!("{EXAMPLES}\n\n{EXIT_STATUS}"))]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "\
Examples:
  termtape rec session.log                  record your shell into session.log
  termtape rec -o ls.log -- ls -l /         record one command
  termtape ls session.log                   list the recordings in a file
  termtape cat session.log                  print what was shown, at once
  termtape play --speed 4 session.log       replay it, four times as fast
  termtape screen --at 1:30 session.log     the screen as it was 90 s in
  termtape search 'rm -rf' journal          when it was on anyone's screen
  termtape search --input sudo session.log  when it was typed
  termtape events --at 1:30 session.log     the screen at 90 s, then what follows, as JSON
  termtape keyframe old.log new.log         add keyframes to a tlog recording
  termtape archive -o /srv/tape journal     every recording into its own archive
  termtape screen --at 1:30 /srv/tape/ID.tlog.zst   archives read in place
  termtape cat --rec ID --lax big.log       one recording, past any damage
  termtape ls journal --user alice          alice's recordings in the journal
  termtape play --follow journal --rec ID   watch a live session
  termtape commands journal --rec ID        the commands run in it (audit log)
  termtape screen --at cmd:3 --rec ID journal  the screen when command 3 started
  termtape audit rules --install            make the kernel log them";

/// The exit statuses of the commands that read recordings: grep's and
/// diff's table, so that `termtape search … || …` and `if termtape ls …`
/// read as they do with those.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0: done.
    Done = 0,
    /// 1: nothing found: no recording matches, the id asked for is not in
    /// the source, or a search finds nothing.
    NothingFound = 1,
    /// 2: trouble: damaged messages (without `--lax`), a source that
    /// cannot be read, bad usage, any other error.
    Trouble = 2,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(status as u8)
    }
}

/// [`Status`], for `--help`; README's "Exit status" says the same.
pub const EXIT_STATUS: &str = "\
Exit status (ls, cat, play, screen, search, events, logs, keyframe, unarchive; rec
and users exit as termtape-rec and termtape-session do):
  0  done (with --lax, also when damaged messages were passed over)
  1  nothing found: no recording matches the source and options, the --rec
     ID is not in it, or search finds no line
  2  trouble: damaged messages (unless --lax), a source that cannot be read,
     bad usage, or any other error
Without --lax, cat, play, screen and events stop at the first damaged
message (what follows might not be what was shown); ls, search and keyframe
read on to the end. Damage is reported on standard error either way. A closed pipe
(termtape cat … | head) is not trouble.";

/// `verify`'s exit status and trust, for `--help`; README's "Tamper
/// evidence" says more.
pub const VERIFY_HELP: &str = "\
A verdict proves that these messages were written, in this order, by a recorder
holding the key, and nothing changed since; not that root on the recorded host
did not read the key. Keep the public key off the host; journal entries from
senders that are not a recorder's account are left out (as ls leaves them out).

Exit status: 0 every recording selected is intact and complete; 1 one is not
(or none was found); 2 trouble: a source or the key that cannot be read.";

/// `archive`'s notes, for `--help`; README's "Archives" says more.
pub const ARCHIVE_HELP: &str = "\
Every recording that has a message selected by --rec, --user, --host,
--since, --until, --tty or --command is archived whole, as DIR/ID.tlog.zst
(characters other than letters, digits, - _ . written %XX). Its lines go
byte for byte; a recording without keyframes (made by tlog) gets them, as
termtape keyframe adds them. An archive of an archive is refused.

Exit status: 0 done; 1 no recording matches; 2 trouble: an archive was
already there (left alone; --force replaces it), damaged messages passed
over (unless --lax), or any other error.";

/// `events`' objects, for `--help`; README's "JSON output" says the same.
pub const EVENTS_JSON: &str = "\
Output: one JSON object per line, each with \"v\": 1 (raised only when a field
changes meaning or goes away; new fields and types may come, pass over what
you do not know) and \"type\". Times: at, ms from the recording's start;
time, ms since the epoch (null if the recording does not say).
  keyframe  first, once: cols, rows, vt (the VT sequences that draw the
            screen on a fresh terminal of that size), tail (bytes of an
            unfinished character, only if any), at, time, seek (the moment
            asked for, ms), from: \"keyframe\" (a stored keyframe at or
            before the moment) or \"replay\" (the screen at the moment,
            replayed from the start), why: null, or for a replay
            no_keyframes, stream, selected or damage
  output    text (UTF-8, exactly as recorded; a legacy charset as its
  input     UTF-8) or bytes (an array of byte values, when not UTF-8)
  resize    cols, rows (only when the size changes)
  gap       messages, bytes: what a rate limit dropped before this moment
  login     n, user, uid, tty, kind, or end: true: a nested login
  redacted  keys: keys typed at a password prompt, left out by the recorder
  exit      exit: how the session ended ({\"code\":N}, {\"signal\":N} ...)
  end       last, once: at, reason: exit, to (past --to) or eof
Applying the events whose at is at or before the moment to the keyframe's
screen gives the screen at the moment (termtape screen --at).";

/// `logs`' objects, for `--help`; README's "JSON output" says the same.
pub const LOGS_JSON: &str = "\
Output: one JSON object per line, each with \"v\": 1 and \"type\", oldest first:
  log  time (ms since the epoch, when the sender's message reached journald's
       socket), at (ms from the recording's start), priority (0-7 or null),
       identifier
       (SYSLOG_IDENTIFIER), unit (_SYSTEMD_UNIT), pid, host (null when the
       entry lacks the field), message (UTF-8, bytes that are not as U+FFFD;
       at most 64 KiB)
  end  last, once: count, truncated (true when the window held more than --max)
The window: the recording's start to its end (a live recording: to now);
the entries: those of the host the recording names (_HOSTNAME), without
recordings' own entries (TLOG_REC, from a recorder's account).";

/// `serve`'s endpoints, for `--help`; README's "termtape serve" says more.
pub const SERVE_HELP: &str = "\
Endpoints (GET; every request carries the token: ?token=, an Authorization:
Bearer header, or the cookie set after the first good one; else 403):
  /api/sources     the sources, by number
  /api/recordings  ls --json's objects as a JSON array, each with source;
                   filters: source, rec, user, host, tty, command, since, until
  /api/search      search --json's finds as a JSON array: q (the text),
                   ignore_case=1, input=1, and the same filters
  /api/events      events' JSON lines, streamed: source (a number), rec, at, to,
                   lax=1, follow=1 (a live journal recording, as it is recorded)
  /api/logs        logs' JSON lines: source, rec, max
  /api/original    cat --original's bytes, as a download: source, rec, input=1
  /, /NAME         the web front end built into this binary
Anything else is 404; errors are JSON objects with \"error\" (or, inside a
stream already started, a last object with it). Exits only when killed.

Beyond this machine (HTTPS: TLS 1.2 and 1.3, the system's OpenSSL):
  termtape serve --listen 0.0.0.0:8443 --tls-cert CERT.pem --tls-key KEY.pem \\
      [--name review.example.org] journal
prints https://NAME:8443/?token=…; give the token only to reviewers: it is
what lets a browser in (with --name, or the certificate's names, as Host).
A bad certificate or key file: exit 2, naming the file.";

/// `commands --json` and `files --json` objects, for `--help`; README's
/// "JSON output" says the same.
pub const COMMANDS_HELP: &str = "\
Audit records come from /var/log/audit/audit.log and its rotated copies
(audit.log.1 ...), or --audit-log FILE (repeatable; journal or journal:DIR for
the journal's audit entries). A recording's commands are the programs run
(execve) in its audit session (tlog's session field, the records' ses=) from its
start to its end; `termtape audit rules` prints rules that make the kernel log
them. Malformed records are reported with file and line (exit 2 without --lax).

--json: one object per line, each with \"v\": 1 and \"type\":
  recording  rec, user, host, session (null: the login had none), loginuid,
             boot_id, start, end (ms since the epoch), commands, files
             (counts), why (null, or why it has none)
  command    rec, n (from 1, as screen --at cmd:N), time (ms since the
             epoch), at (ms from the recording's start), pid, ppid, uid,
             euid, auid, ses, tty, success, exit, syscall, exe, comm, cwd,
             argv (strings; bytes that are not UTF-8 as U+FFFD), argc,
             incomplete, serial, place (FILE:LINE of its first record)
  file       rec, n, time, at, path, paths ([{name, nametype}]), operation
             (the system call), success, exit, pid, ppid, uid, euid, auid,
             ses, tty, exe, comm, cwd, serial, place
  end        last, once: recordings, count
Exit status: 0 some found; 1 none (or no recording matches); 2 trouble.";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Record a command (default: your shell) under a new PTY; runs termtape-rec.
    #[command(disable_help_flag = true)]
    Rec {
        /// Arguments for termtape-rec (see `termtape rec --help`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Make termtape-session the login shell of users (or @groups), or give
    /// them back their own, or move them from tlog-rec-session; runs
    /// termtape-session users (as root).
    #[command(disable_help_flag = true)]
    Users {
        /// enable|disable USER|@GROUP... | migrate USER|@GROUP... (none: all on tlog) | list
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Write a recording's output (or input) bytes at once, exactly as recorded.
    #[command(after_help = EXIT_STATUS)]
    Cat {
        /// Write the recorded input (keystrokes) instead of the output.
        #[arg(long)]
        input: bool,
        /// Write the bytes as they were before charset conversion (for a
        /// session recorded in a legacy charset such as KOI8-R).
        #[arg(long)]
        original: bool,
        /// Write every byte even to a terminal. By default, on a terminal,
        /// what would make it answer or act outside the screen (queries,
        /// title, clipboard, mouse reporting) is left out; off a terminal
        /// the bytes are always exact.
        #[arg(long)]
        exact: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Replay a recording's output, timed as recorded.
    #[command(after_help = EXIT_STATUS)]
    Play {
        /// Write the recorded bytes as they were, timed, instead of drawing
        /// the screen with keyboard controls (the mode off a terminal, and
        /// for standard input, the journal and --follow).
        #[arg(long)]
        raw: bool,
        /// Start at this moment: seconds (90, 90.5), MM:SS, HH:MM:SS[.mmm],
        /// end, or a wall-clock time "YYYY-MM-DD HH:MM:SS" (local time;
        /// add " UTC" for UTC). With
        /// --raw: the screen at that moment as VT sequences, then the bytes
        /// after it.
        #[arg(long, value_name = "T", value_parser = parse_at)]
        seek: Option<termtape_player::seek::At>,
        /// With --raw: the bytes as they were before charset conversion,
        /// for a viewer whose terminal uses the recorded charset.
        #[arg(long)]
        original: bool,
        /// With --raw: write every byte even to a terminal. By default, on
        /// a terminal, what would make it answer or act outside the screen
        /// (queries, title, clipboard, mouse reporting) is left out; off a
        /// terminal the bytes are always exact. Either way, on a terminal,
        /// keys typed (and the terminal's answers) are taken by the player:
        /// q or Ctrl-C quits, space pauses, + and - change the speed.
        #[arg(long)]
        exact: bool,
        /// Playback speed: 2 plays twice as fast, 0.5 at half speed.
        #[arg(long, default_value_t = 1.0, value_parser = |s: &str| SPEED.parse(s))]
        speed: f64,
        /// Shorten pauses longer than this many seconds to it.
        #[arg(long, value_name = "SECS", value_parser = |s: &str| MAX_PAUSE.parse(s))]
        max_pause: Option<f64>,
        /// Keep playing as new messages arrive (a live session in the journal).
        #[arg(long)]
        follow: bool,
        /// The seeking player reads the commands run in the session from
        /// these audit records when it starts (`c`/`C` go to the
        /// next/previous one; the status line names the last started).
        #[command(flatten)]
        audit: AuditLogs,
        #[command(flatten)]
        common: Common,
    },
    /// Print the screen as it was at a moment (default: the end).
    #[command(after_help = EXIT_STATUS)]
    Screen {
        /// The moment: seconds (90, 90.5), MM:SS, HH:MM:SS[.mmm] from the
        /// start, end, a wall-clock time "YYYY-MM-DD HH:MM:SS" (local
        /// time; add " UTC" for UTC), or cmd:N: 50 ms after the Nth
        /// command of `termtape commands` started (the recorder stamps the
        /// echoed command line a little after the kernel stamps the start).
        #[arg(long, value_name = "T", default_value = "end", value_parser = parse_moment)]
        at: Moment,
        #[command(flatten)]
        audit: AuditLogs,
        /// text: one line per row, trailing spaces trimmed; ansi: with colours
        /// and attributes as SGR sequences; svg, html, png: a picture of the
        /// screen for a report (self-contained; png not to a terminal).
        #[arg(long, value_name = "FORMAT", value_enum, default_value_t = Format::Text)]
        format: Format,
        /// svg, html, png: no caption line (user@host, recording, wall-clock
        /// time and offset) under the screen.
        #[arg(long)]
        no_caption: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Write one recording, or a cut of it, in another program's format:
    /// asciinema's asciicast v2/v3, a script typescript and timing log,
    /// ttyrec, the screen's text, asciinema-player's segmented format, or
    /// a tlog file of its own.
    #[command(after_help = EXPORT_HELP)]
    Export {
        /// The format to write.
        #[arg(long, value_name = "FORMAT", value_enum)]
        format: ExportFormat,
        /// Start at the screen at this moment (same forms as screen --at).
        #[arg(long, value_name = "T", value_parser = parse_at)]
        from: Option<termtape_player::seek::At>,
        /// Stop after this moment.
        #[arg(long, value_name = "T", value_parser = parse_at)]
        to: Option<termtape_player::seek::At>,
        /// Where to write (default: standard output); script writes
        /// OUT.timing (and OUT.input) beside it, segmented a directory.
        #[arg(short = 'o', long = "output", value_name = "OUT")]
        output: Option<std::path::PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Turn a recording made by asciinema (asciicast v1/v2/v3), ttyrec or
    /// script into a tlog-format recording with keyframes.
    #[command(after_help = EXIT_STATUS)]
    Import {
        /// The input's format [default: told from its content].
        #[arg(long, value_name = "FORMAT", value_enum)]
        format: Option<ImportFormat>,
        /// script: the timing log [default: IN.timing].
        #[arg(long, value_name = "FILE")]
        timing: Option<std::path::PathBuf>,
        /// script: the input log, when input was logged apart (script -I)
        /// [default: the timing log's INPUT_LOG, or IN.input].
        #[arg(long, value_name = "FILE")]
        input_log: Option<std::path::PathBuf>,
        /// The recorded user's name (the formats have none).
        #[arg(long, value_name = "NAME", default_value = "unknown")]
        user: String,
        /// The recorded host's name.
        #[arg(long, value_name = "NAME", default_value = "unknown")]
        host: String,
        /// The file to read, or - for standard input.
        input: String,
        /// The file to write, or - for standard output.
        output: String,
    },
    /// Copy a recording (such as one made by tlog) with keyframes added, so
    /// that seeking in it is instant; everything else stays byte for byte.
    /// A hash-chained recording (termtape's, see verify) is refused: the
    /// copy would verify as edited.
    #[command(after_help = EXIT_STATUS)]
    Keyframe {
        /// A keyframe after N bytes of output since the last one; 0: not by
        /// size [default: 262144].
        #[arg(long, value_name = "N", value_parser = |s: &str| KEYFRAME_BYTES.parse_whole(s))]
        keyframe_bytes: Option<u64>,
        /// A keyframe after S seconds with output since the last one; 0: not
        /// by time [default: 60].
        #[arg(long, value_name = "S", value_parser = |s: &str| KEYFRAME_SECS.parse(s))]
        keyframe_secs: Option<f64>,
        /// Copy a hash-chained recording too, without its chain and seals:
        /// the copy verifies as unsigned (the original keeps its verdict).
        #[arg(long)]
        drop_chain: bool,
        #[command(flatten)]
        lax: Lax,
        /// The recording to read: a file, or - for standard input.
        input: String,
        /// The file to write (not the input), or - for standard output.
        output: String,
    },
    /// Copy recordings into archives: one file per recording in DIR, named
    /// by its id, compressed in the seekable zstd format that every
    /// termtape command reads in place (and seeks in as fast) and any zstd
    /// tool decompresses. The source is only read, never changed.
    #[command(after_help = ARCHIVE_HELP)]
    Archive {
        /// The directory to write the archives in (made if missing).
        #[arg(short = 'o', long = "output", value_name = "DIR")]
        output: std::path::PathBuf,
        /// Replace an archive already in DIR (by default it is left alone
        /// and the exit status is 2).
        #[arg(long)]
        force: bool,
        /// The zstd compression level, 1 to 19.
        #[arg(long, value_name = "N", default_value_t = termtape_player::archive::LEVEL,
              value_parser = |s: &str| LEVEL.parse_whole(s).map(|n| n as i32))]
        level: i32,
        /// Only the recording with this id.
        #[arg(long = "rec", value_name = "ID")]
        rec: Option<String>,
        #[command(flatten)]
        lax: Lax,
        #[command(flatten)]
        select: Select,
        /// Where to read: files, journal, or journal:DIR.
        #[arg(required = true, value_name = "SOURCE")]
        sources: Vec<String>,
    },
    /// Write (or bring up to date) the sidecar index of files of
    /// recordings, FILE.termtape-index beside each: then ls and the web
    /// list take the recordings from it and read only what was appended
    /// since (writing it again where they may). Meant for a central file
    /// holding every host's recordings; delete the index to stop.
    #[command(after_help = EXIT_STATUS)]
    Index {
        /// The files of recordings (JSON lines).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<std::path::PathBuf>,
    },
    /// Write an archive's JSON lines back, byte for byte as archived (for
    /// tlog-play, or any tool of tlog's format).
    #[command(after_help = EXIT_STATUS)]
    Unarchive {
        /// Write to this file instead of standard output (not over an
        /// existing one, unless --force).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<std::path::PathBuf>,
        /// Replace the output file if it exists.
        #[arg(long)]
        force: bool,
        /// The archive.
        archive: String,
    },
    /// Find when a text was on the screen (or was typed), in every
    /// recording of a source: one line per find, with the wall-clock time,
    /// the recording and the moment in it (for `screen --at`).
    #[command(after_help = EXIT_STATUS)]
    Search {
        /// Search what was typed, line by line, instead of the screen.
        #[arg(long)]
        input: bool,
        /// Match upper and lower case alike.
        #[arg(short = 'i', long)]
        ignore_case: bool,
        /// One JSON object per find (v: 1; time, ms since the epoch; rec,
        /// user, host, at: ms from the recording's start; line; unverified;
        /// as: the user of a login nested in the session then, or null),
        /// for other tools.
        #[arg(long)]
        json: bool,
        /// The text to find (plain text, anywhere in a line); with --ran,
        /// the pattern of a command.
        text: String,
        /// `search --ran PATTERN SOURCE`: instead of a text on screen, the
        /// commands matching PATTERN that ran in the recordings' audit
        /// sessions (plain text, anywhere in a command's arguments joined by
        /// spaces or in its executable's path; -i ignores case; audit
        /// records as for `commands`). One line per command: time,
        /// user@host, recording, offset, cmd:N (for `screen --at`) and the
        /// command line; --json: `commands --json`'s objects for them. Not
        /// --command, which already selects recordings by their own
        /// command line.
        #[arg(long, conflicts_with = "input")]
        ran: bool,
        #[command(flatten)]
        audit: AuditLogs,
        #[command(flatten)]
        common: Common,
    },
    /// Write a recording from a moment on as JSON lines, for other programs
    /// (a web player): the screen at or before the moment, then every
    /// event after it, with their times.
    #[command(after_help = format!("{EVENTS_JSON}\n\n{EXIT_STATUS}"))]
    Events {
        /// The moment: seconds (90, 90.5), MM:SS, HH:MM:SS[.mmm] from the
        /// start, end, or a wall-clock time "YYYY-MM-DD HH:MM:SS" (local
        /// time; add " UTC" for UTC).
        #[arg(long, value_name = "T", default_value = "0", value_parser = parse_at)]
        at: termtape_player::seek::At,
        /// Stop after this moment (same forms as --at; --until selects
        /// messages by wall-clock time, as for every command).
        #[arg(long = "to", value_name = "T", value_parser = parse_at)]
        to: Option<termtape_player::seek::At>,
        /// Keep sending as new messages arrive (a live recording in the
        /// journal), until the recording ends or the reader goes away.
        #[arg(long)]
        follow: bool,
        #[command(flatten)]
        common: Common,
    },
    /// The journal entries of a recording's host while it was recorded, as
    /// JSON lines (for a log pane beside playback); its own entries left out.
    #[command(after_help = format!("{LOGS_JSON}\n\n{EXIT_STATUS}"))]
    Logs {
        /// Send at most N entries (the first N of the window).
        #[arg(long, value_name = "N", default_value_t = termtape_player::logs::DEFAULT_MAX,
              value_parser = |s: &str| LOGS_MAX.parse_whole(s))]
        max: u64,
        /// The journal to read the logs from, for a recording in a file:
        /// journal (this machine's, the default) or journal:DIR. A
        /// recording in the journal takes its logs from the same journal.
        #[arg(long, value_name = "SRC")]
        journal: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Serve the web review page and its data API (ls, search, events as
    /// JSON) for a browser: over HTTP on loopback, or over HTTPS on any
    /// address; prints the URL to open, with a random access token every
    /// request must carry.
    #[command(after_help = SERVE_HELP)]
    Serve {
        /// The address to listen on: loopback (127.0.0.1 or ::1), or with
        /// --tls-cert/--tls-key any (0.0.0.0, an interface's address); port
        /// 0 lets the system choose one (the URL printed says which).
        #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
        /// Serve HTTPS with this certificate chain (PEM: the server's
        /// certificate first, then its intermediates).
        #[arg(long, value_name = "CERT.pem", requires = "tls_key")]
        tls_cert: Option<std::path::PathBuf>,
        /// The certificate's private key (PEM, unencrypted), with --tls-cert.
        #[arg(long, value_name = "KEY.pem", requires = "tls_cert")]
        tls_key: Option<std::path::PathBuf>,
        /// A name browsers reach the server by (as in the URL; repeat for
        /// more), with --tls-cert. Requests naming another Host are refused.
        /// Default: the certificate's DNS names and addresses.
        #[arg(long = "name", value_name = "HOST", requires = "tls_cert")]
        names: Vec<String>,
        /// The recorders' public key the page's verdicts are checked
        /// against: a file as `termtape keys generate` writes it, or the
        /// key itself (ed25519:…) [default: /etc/termtape/signing.pub, if
        /// there is one].
        #[arg(long, value_name = "PUBKEY")]
        key: Option<String>,
        /// An audit log the page's commands and files come from
        /// (repeatable), or journal / journal:DIR for the journal's audit
        /// entries [default: /var/log/audit/audit.log and its rotated
        /// copies].
        #[arg(long = "audit-log", value_name = "FILE")]
        audit_logs: Vec<String>,
        /// The sources to serve (files, journal, journal:DIR), numbered from
        /// 0 in this order: requests name them by number only.
        #[arg(required = true, value_name = "SOURCE")]
        sources: Vec<String>,
    },
    /// The Cockpit page: `termtape cockpit install` writes the web front
    /// end built into this binary as a Cockpit package.
    Cockpit {
        /// What to do.
        #[command(subcommand)]
        action: Cockpit,
    },
    /// Check recordings against their hash chain and signed seals: one
    /// verdict each (intact, no end mark, edited, missing, reordered,
    /// duplicated, inserted, other key, unsigned, damaged).
    #[command(after_help = VERIFY_HELP)]
    Verify {
        /// The recorder's public key: a file as `termtape keys generate`
        /// writes it, or the key itself (ed25519:…) [default:
        /// /etc/termtape/signing.pub, if there is one].
        #[arg(long, value_name = "PUBKEY")]
        key: Option<String>,
        /// Only the recording with this id.
        #[arg(long = "rec", value_name = "ID")]
        rec: Option<String>,
        /// One JSON object per recording (v: 1, source, rec, verdict, ok,
        /// text, messages, seals, exit, key, and the verdict's own: id, why,
        /// from, to, unsealed, line, error).
        #[arg(long)]
        json: bool,
        /// Journal: trust entries sent by this uid too, on every host or
        /// only on HOST (journald's _HOSTNAME) (repeatable).
        #[arg(long = "trust-uid", value_name = "[HOST:]UID", value_parser = trust_uid)]
        trust_uid: Vec<TrustedUid>,
        /// Where to read: files, - for standard input, journal, journal:DIR,
        /// archives.
        #[arg(required = true)]
        sources: Vec<String>,
    },
    /// Make or show the key pair the recorder signs seals with; runs
    /// termtape-session keys.
    #[command(disable_help_flag = true)]
    Keys {
        /// generate [--dir DIR] [--force] | show [--dir DIR]
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// The commands run in recorded sessions, from the kernel's audit
    /// records: per recording, each program run in its audit session while
    /// it was recorded, with its time and offset, ids, directory, arguments
    /// and result.
    #[command(after_help = COMMANDS_HELP)]
    Commands {
        /// JSON lines (see below), for other tools and the web page.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        audit: AuditLogs,
        #[command(flatten)]
        common: Common,
    },
    /// The watched files touched in recorded sessions (audit records of
    /// watch rules: `[audit] watch` in termtape.toml, `termtape audit
    /// rules`): path, operation, result, program.
    #[command(after_help = COMMANDS_HELP)]
    Files {
        /// JSON lines (see below).
        #[arg(long)]
        json: bool,
        /// The audit rule keys whose events count (repeatable) [default:
        /// termtape-watch].
        #[arg(long = "key", value_name = "KEY")]
        keys: Vec<String>,
        #[command(flatten)]
        audit: AuditLogs,
        #[command(flatten)]
        common: Common,
    },
    /// The kernel audit rules that log what `termtape commands` and
    /// `termtape files` show: `termtape audit rules [--install]`; runs
    /// termtape-session audit.
    #[command(disable_help_flag = true)]
    Audit {
        /// rules [--install] [--rules-file FILE]
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Convert tlog's configuration to termtape.toml: `termtape config import
    /// [FILE] [-o OUT] [--force]`, saying key by key what could not be
    /// carried over; runs termtape-session config.
    #[command(disable_help_flag = true)]
    Config {
        /// import FILE -o OUT --force (each optional)
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Check the installation (set-id bits, user, writer, shells, key …),
    /// each problem with its fix; runs termtape-session doctor.
    #[command(disable_help_flag = true)]
    Doctor {
        /// [--json] [--root DIR]
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// List the recordings in a source: id, user, host, start, duration,
    /// size, and the gaps a rate limit left (how many, bytes of log
    /// dropped).
    #[command(after_help = EXIT_STATUS)]
    Ls {
        /// One JSON object per recording (v: 1, rec, user, host, term,
        /// start and end: ms since the epoch, duration: ms, messages,
        /// output_bytes, input_bytes, gaps: {count, messages, bytes},
        /// unverified, logins: the logins nested in it: user, uid, tty,
        /// kind, at: ms from its start; tty, pty, remote, remote_from,
        /// command, exit, live), for other tools; see README's "JSON
        /// output". live: no exit recorded, and the journal says its
        /// recorder still runs (entries of this machine), or else its last
        /// event is less than 10 minutes old.
        #[arg(long)]
        json: bool,
        /// Read every message of every recording, as `ls` does for files,
        /// instead of the journal's index and each recording's first and
        /// last entries (the same figures, unless journald lost entries:
        /// then the totals termtape's recorder logged and what is left
        /// differ, and this says what is left).
        #[arg(long)]
        read_all: bool,
        /// Check each recording against its hash chain and seals (reads
        /// every message): a VERIFY column, or a verify object (verdict,
        /// ok, text, and the verdict's own fields) in --json.
        #[arg(long)]
        verify: bool,
        /// With --verify: the recorder's public key (a file, or
        /// ed25519:…) [default: /etc/termtape/signing.pub].
        #[arg(long, value_name = "PUBKEY", requires = "verify")]
        key: Option<String>,
        #[command(flatten)]
        common: Common,
    },
}

/// `termtape cockpit`'s actions.
#[derive(Debug, Subcommand)]
pub enum Cockpit {
    /// Write the web front end built into this binary as a Cockpit package
    /// (files 0644, directory 0755), replacing an earlier install's files.
    Install {
        /// The package directory (Cockpit looks in
        /// /usr/share/cockpit/NAME and ~/.local/share/cockpit/NAME).
        #[arg(long, value_name = "DIR", default_value = termtape_player::web::COCKPIT_DIR)]
        dir: std::path::PathBuf,
    },
}

/// `screen --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line per row, trailing spaces trimmed.
    Text,
    /// With colours and attributes as SGR sequences.
    Ansi,
    /// An SVG image (self-contained, text as text).
    Svg,
    /// An HTML page (self-contained, no script).
    Html,
    /// A PNG image (DejaVu Sans Mono; CJK and emoji from fallback fonts).
    Png,
}

/// Where to read and what: the options of every command that reads a
/// source (ls, cat, play, screen, search).
#[derive(Debug, Args)]
pub struct Common {
    /// Only the recording with this id (as `termtape ls` shows it); cat,
    /// play and screen need it when a source holds several.
    #[arg(long = "rec", value_name = "ID")]
    pub rec: Option<String>,
    #[command(flatten)]
    pub lax: Lax,
    #[command(flatten)]
    pub select: Select,
    /// Where to read: a file, - for standard input, journal, or journal:DIR.
    pub source: String,
}

/// Where audit records are read.
#[derive(Debug, Args)]
pub struct AuditLogs {
    /// An audit log to read (repeatable), or journal / journal:DIR for the
    /// journal's audit entries [default: /var/log/audit/audit.log and its
    /// rotated copies].
    #[arg(long = "audit-log", value_name = "FILE")]
    pub audit_log: Vec<String>,
}

/// What damage does: the same `--lax` for every command.
#[derive(Debug, Args)]
pub struct Lax {
    /// Pass over damaged messages (each still reported on standard error)
    /// and exit as if there were none. Without it, damage exits with 2, and
    /// cat, play and screen stop at the first damaged message.
    #[arg(long)]
    pub lax: bool,
}

/// Which recordings to consider.
#[derive(Debug, Args)]
pub struct Select {
    /// Only recordings of this user.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Only recordings made on this host.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Only sessions on this terminal: the one logged in on or the
    /// recording's own (`/dev/pts/1` or `pts/1`), as the recording's first
    /// message says.
    #[arg(long, value_name = "TTY")]
    pub tty: Option<String>,
    /// Only sessions whose command line contains this text (for a login,
    /// the shell as started).
    #[arg(long, value_name = "TEXT")]
    pub command: Option<String>,
    /// Only messages from this time on: seconds since the epoch, or
    /// `YYYY-MM-DD[ HH:MM[:SS]]` in local time (add ` UTC` for UTC).
    #[arg(long, value_name = "TIME", value_parser = termtape_player::time::parse_clock)]
    pub since: Option<u64>,
    /// Only messages up to this time (same forms as --since).
    #[arg(long, value_name = "TIME", value_parser = termtape_player::time::parse_clock)]
    pub until: Option<u64>,
    /// Journal: also show entries whose sender (journald's _UID) is not a
    /// recorder's account (root, termtape, tlog), marked UNVERIFIED: anyone
    /// can write such entries.
    #[arg(long)]
    pub unverified: bool,
    /// Journal: trust entries sent by this uid too (repeatable), e.g. the
    /// termtape user's uid on the hosts that wrote a journal:DIR; HOST:UID
    /// trusts it only in entries from HOST (journald's _HOSTNAME).
    #[arg(long = "trust-uid", value_name = "[HOST:]UID", value_parser = trust_uid)]
    pub trust_uid: Vec<TrustedUid>,
}

/// `--speed`: as `+` and `-` reach in the player.
const SPEED: Range = Range::real(1.0 / 1024.0, 1024.0, "times the recorded speed");
/// `--max-pause` (a year).
const MAX_PAUSE: Range = Range::real(0.0, 31_536_000.0, "seconds");
/// `logs --max`.
const LOGS_MAX: Range = Range::whole(1, termtape_player::logs::MAX_MAX, "entries");
/// `keyframe --keyframe-bytes`, as the recorder's (1 TiB; 0: not by size).
const KEYFRAME_BYTES: Range = Range::whole(0, 1 << 40, "bytes");
/// `keyframe --keyframe-secs`, as the recorder's (a year; 0: not by time).
const KEYFRAME_SECS: Range = Range::real(0.0, 31_536_000.0, "seconds");
/// `archive --level`: zstd's levels (20 and up need more memory to read).
const LEVEL: Range = Range::whole(1, 19, "");
/// `--trust-uid`: a uid_t other than -1 (which means no user).
const UID: Range = Range::whole(0, u32::MAX as u64 - 1, "");

fn trust_uid(s: &str) -> Result<TrustedUid, String> {
    let (host, uid) = match s.rsplit_once(':') {
        None => (None, s),
        Some(("", _)) => return Err("HOST:UID needs a host name before the colon".to_owned()),
        Some((host, uid)) => (Some(host.to_owned()), uid),
    };
    let uid = UID.parse_whole(uid)? as u32;
    Ok(TrustedUid { host, uid })
}

/// A moment: as [`termtape_player::seek::At`] takes it, or a command's
/// start (`cmd:N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// A moment in time.
    At(termtape_player::seek::At),
    /// When the Nth command (from 1) started.
    Command(usize),
}

fn parse_moment(s: &str) -> Result<Moment, String> {
    match s.trim().strip_prefix("cmd:") {
        Some(n) => match n.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(Moment::Command(n)),
            _ => Err(format!("{n:?}: cmd:N takes a command's number, from 1")),
        },
        None => parse_at(s).map(Moment::At).map_err(|e| e.to_string()),
    }
}

/// `export --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// asciinema's asciicast v2.
    #[value(name = "asciicast-v2")]
    AsciicastV2,
    /// asciicast v3.
    #[value(name = "asciicast-v3")]
    AsciicastV3,
    /// util-linux script's typescript and advanced timing log.
    Script,
    /// ttyrec frames.
    Ttyrec,
    /// The screen's text as it scrolled, each line once.
    Txt,
    /// asciinema-player's segmented format (a directory).
    Segmented,
    /// A tlog file of the recording alone, with keyframes.
    Tlog,
}

/// `import --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    /// asciicast v1, v2 or v3.
    Asciicast,
    /// ttyrec frames.
    Ttyrec,
    /// A script typescript with its timing log.
    Script,
}

/// `export --help`'s notes.
pub const EXPORT_HELP: &str = "\
Replay what was exported:
  asciinema play OUT.cast
  scriptreplay -T OUT.timing -O OUT [-I OUT.input]
  ttyplay OUT.ttyrec
  tlog-play -i OUT.log
A whole tlog export copies the messages as they are, so a sealed recording
still verifies (termtape verify); a cut is written anew and carries no seal.
asciicast and segmented hold text: bytes that are not UTF-8 become U+FFFD,
as asciinema records them.";

fn parse_at(s: &str) -> Result<termtape_player::seek::At, termtape_player::time::Error> {
    termtape_player::seek::At::parse(s)
}
