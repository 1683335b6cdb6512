//! Opening a [`Recorder`] for this process: the recording's identity (host,
//! user, terminal, recording id), the policy the configuration asks for,
//! the configured writer with its rate limit, the wall clock's epoch and
//! the locale's charset. The recorder itself ([`crate::recorder`]) knows
//! none of these.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use termtape_format::Header;
use termtape_format::chain::{Chainer, SecretKey};

use crate::config::{Config, Writer};
use crate::identity;
use crate::recorder::{self, Policy, Recorder};
use crate::sink::{
    Action, Chained, FileSink, GapSignal, JournalSink, MAX_MESSAGE_LEN, OnFailure, RateLimit, Sink,
    SyslogSink, SystemClock, Unrecorded, check_burst,
};

/// Why the recorder could not be opened; nothing is recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The host, user or recording id could not be found out.
    #[error(transparent)]
    Identity(#[from] identity::Error),
    /// The header leaves no room for a payload in a journal message that
    /// Cockpit still reads.
    #[error("host, user, term and recording id are too long for journal messages")]
    HeaderTooLong,
    /// The rate limit's burst is smaller than one message.
    #[error(transparent)]
    Burst(std::io::Error),
    /// The process could not take the name Cockpit looks for.
    #[error("cannot take the name {0:?} that Cockpit looks for")]
    Name(&'static str, #[source] rustix::io::Errno),
    /// The configured writer could not be opened or reached.
    #[error(transparent)]
    Writer(std::io::Error),
    /// The locale names a charset termtape does not know.
    #[error("the locale's charset (choose one with --charset NAME)")]
    Locale(#[source] termtape_charset::Error),
    /// The recorder refused the policy or the charset.
    #[error(transparent)]
    Recorder(#[from] recorder::Error),
}

impl From<&Config> for Policy {
    fn from(c: &Config) -> Self {
        Policy {
            input: c.log_input,
            output: c.log_output,
            window: c.log_window,
            latency: c.latency,
            payload: c.payload,
            keyframes: Some(c.keyframe),
        }
    }
}

impl Recorder {
    /// The recorder `config` asks for: this process' identity, the
    /// configured writer, time counted from now.
    pub fn open(config: &Config) -> Result<Recorder, Error> {
        let header = identity::current()?;
        let mut policy = Policy::from(config);
        if let Writer::Journal { .. } = config.writer {
            policy.payload = policy.payload.min(journal_payload(&header)?);
        }
        // What the chain adds to each message, and to the one after a gap
        // (sealed): counted by the rate limit, which comes before it.
        let chain_added = match config.seal.chain {
            true => (
                termtape_format::chain::LINK_LEN,
                termtape_format::chain::SEAL_LEN,
            ),
            false => (0, 0),
        };
        // Before anything is opened: a burst no message fits in is refused.
        let limit = config.limit;
        if limit.action != Action::Pass {
            // The longest message without a keyframe, its newline included.
            let message = termtape_format::max_message_len(&header, policy.payload) as u64
                + 1
                + chain_added.0;
            check_burst(limit.burst, message).map_err(Error::Burst)?;
        }
        let sink = open_writer(config, &header)?;
        // The chain is made after the rate limit: over what is written.
        let sink: Box<dyn Sink> = match config.seal.chain {
            true => Box::new(Chained::new(
                sink,
                Chainer::new(read_key(&config.seal.key), config.seal.cadence),
            )),
            false => sink,
        };
        let gap = GapSignal::default();
        let sink: Box<dyn Sink> = match limit.action {
            Action::Pass => sink,
            action => Box::new(
                RateLimit::new(
                    sink,
                    limit.rate,
                    limit.burst,
                    action,
                    SystemClock::default(),
                )
                .signal_drops(gap.clone())
                .count_added(chain_added.0, chain_added.1),
            ),
        };
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut recorder = Recorder::new(&header, policy, epoch, sink)?;
        recorder.follow_gaps(gap);
        let charset = match config.charset {
            Some(charset) => charset,
            None => crate::locale::charset().map_err(Error::Locale)?,
        };
        recorder.set_charset(charset)?;
        recorder.set_input_redaction(config.input_redaction);
        Ok(recorder)
    }
}

/// The writer `config` names, for `header`'s recording.
fn open_writer(config: &Config, header: &Header) -> Result<Box<dyn Sink>, Error> {
    Ok(match &config.writer {
        Writer::File(path) => Box::new(FileSink::open(path).map_err(Error::Writer)?),
        Writer::Journal { priority, cockpit } => {
            // Cockpit lists journal entries whose sender is named
            // tlog-rec; journald takes the name from the process.
            let identifier = if *cockpit {
                // The login shell poses as tlog-rec-session, the
                // recorder of one command as tlog-rec.
                let comm = std::fs::read_to_string("/proc/self/comm").unwrap_or_default();
                let (name, identifier) = if comm.starts_with("termtape-sessio") {
                    (c"tlog-rec-sessio", "tlog-rec-session")
                } else {
                    (c"tlog-rec", "tlog-rec")
                };
                rustix::thread::set_name(name).map_err(|e| Error::Name(identifier, e))?;
                identifier
            } else {
                "termtape"
            };
            // Verified before the session starts: no journald, no
            // session, unless the site chose availability.
            match JournalSink::connect(
                header,
                *priority,
                identifier,
                *cockpit,
                config.spool.clone(),
            ) {
                Ok(sink) => Box::new(sink),
                Err(e) if config.spool.on_failure == OnFailure::Continue => {
                    let why = format!(
                        "recording {}: {e}; on_failure = \"continue\": this session is NOT \
                         recorded",
                        header.rec
                    );
                    eprintln!("termtape: warning: {why}");
                    crate::sink::log_warning(&why);
                    Box::new(Unrecorded)
                }
                Err(e) => return Err(Error::Writer(e)),
            }
        }
        Writer::Syslog { priority } => Box::new(
            SyslogSink::connect(
                Path::new("/dev/log"),
                crate::sink::AUTHPRIV + priority,
                "termtape",
            )
            .map_err(Error::Writer)?,
        ),
    })
}

/// The signing key at `path`, or why there is none: a recorder without
/// one records chained and unsigned, and its first message says why (it
/// never refuses a session for it).
fn read_key(path: &Path) -> Result<SecretKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::NotFound => " (make one with `termtape keys generate`)",
            _ => "",
        };
        format!("cannot read the signing key {}: {e}{hint}", path.display())
    })?;
    SecretKey::parse(&text).map_err(|e| format!("the signing key {}: {e}", path.display()))
}

/// The largest payload whose messages keep the journal's MESSAGE field
/// readable by Cockpit ([`MAX_MESSAGE_LEN`]).
fn journal_payload(header: &Header) -> Result<usize, Error> {
    let overhead = termtape_format::max_message_len(header, 0);
    MAX_MESSAGE_LEN
        .checked_sub(overhead)
        .filter(|&p| p >= termtape_format::MIN_PAYLOAD)
        .ok_or(Error::HeaderTooLong)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_too_long_for_journal_messages_is_refused() {
        let header = |host: String| Header {
            host,
            rec: "r".into(),
            user: "u".into(),
            term: "xterm".into(),
            session: 1,
        };
        let fits = journal_payload(&header("h".into())).expect("room");
        assert!(fits >= termtape_format::MIN_PAYLOAD);
        assert!(fits < MAX_MESSAGE_LEN);
        assert!(matches!(
            journal_payload(&header("h".repeat(MAX_MESSAGE_LEN))),
            Err(Error::HeaderTooLong)
        ));
    }
}
