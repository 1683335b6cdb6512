//! The `origin` and `exit` fields: where a recorded session came from and
//! how it ended, as sudoreplay shows a session's terminal, host and command.
//!
//! The first message of a recording carries `origin`; the last carries
//! `exit` (the status is known only then). tlog-play and Cockpit ignore
//! both, as they ignore every field they do not know; in the journal they
//! are the fields `TERMTAPE_X_ORIGIN` and `TERMTAPE_X_EXIT` of their entry.
//!
//! ```json
//! "origin":{"tty":"/dev/pts/1","pty":"/dev/pts/4","remote":"192.0.2.7","remote_from":"utmp","command":["bash","-c","make"],
//!           "loginuid":1000,"boot_id":"d3be1a10-5f6e-408b-a78b-6363d7edddd9"}
//! "exit":{"code":0}
//! ```
//!
//! - `tty`: the terminal the session was started on (the login terminal),
//!   absent if it was not started on one;
//! - `pty`: the recording's own terminal, which the recorded command ran on
//!   (what `tty` prints inside the session);
//! - `remote`: the remote host of the login, and `remote_from` where it was
//!   read: `utmp` (the login terminal's utmp entry, written by sshd or
//!   login; a user cannot write it) or `env` (`$SSH_CONNECTION` or
//!   `$SSH_CLIENT` as the recorder found them: the user can set those);
//! - `command`: the recorded command and its arguments (for a login, the
//!   shell as it was started);
//! - `loginuid`: the kernel's login uid of the recorded session
//!   (`/proc/self/loginuid`; [`UNSET_ID`] when the login set none), the
//!   `auid` of its audit records;
//! - `boot_id`: the kernel's boot id when it was recorded: audit session
//!   ids (tlog's `session` field, the `ses` of audit records) start again
//!   at every boot, so a session is named by the boot and the id together.
//!
//! `exit` holds one of `code` (the command exited with it), `signal` (a
//! signal killed the command) or `stopped` (the recorder was stopped by that
//! signal and hung the command up).

use serde::{Deserialize, Serialize};

/// The name of the first message's field.
pub const ORIGIN_FIELD: &str = crate::extension::ORIGIN;

/// The name of the last message's field.
pub const EXIT_FIELD: &str = crate::extension::EXIT;

/// The value the kernel gives an audit session id or a login uid that was
/// never set (`(u32)-1`): a login without `pam_loginuid`, a daemon.
pub const UNSET_ID: u32 = u32::MAX;

/// At most this many words of a command are read from a recording.
pub const MAX_COMMAND_WORDS: usize = 256;

/// Where a recorded session came from (the `origin` field).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The login terminal, e.g. `/dev/pts/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<String>,
    /// The recording's own terminal, e.g. `/dev/pts/4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pty: Option<String>,
    /// The remote host of the login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    /// Where `remote` was read: `utmp` or `env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_from: Option<String>,
    /// The recorded command and its arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// The login uid of the recorded session ([`UNSET_ID`]: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loginuid: Option<u32>,
    /// The kernel's boot id (`/proc/sys/kernel/random/boot_id`) when it was
    /// recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
}

impl Origin {
    /// The field's raw JSON value.
    pub fn field(&self) -> String {
        serde_json::to_string(self).expect("plain structs serialise")
    }

    /// An `origin` field's raw JSON value; anything else is an error naming
    /// why. A command is cut to [`MAX_COMMAND_WORDS`] words.
    pub fn parse_field(raw: &str) -> Result<Origin, String> {
        let mut origin: Origin =
            serde_json::from_str(raw).map_err(|e| format!("bad origin field: {e}"))?;
        if let Some(command) = &mut origin.command {
            command.truncate(MAX_COMMAND_WORDS);
        }
        Ok(origin)
    }

    /// The command as one line, words separated by spaces (a word holding a
    /// space or nothing is quoted), for listing and matching.
    pub fn command_line(&self) -> Option<String> {
        let words = self.command.as_ref()?;
        let quoted: Vec<String> = words
            .iter()
            .map(|w| {
                if w.is_empty() || w.contains([' ', '\t', '\'', '"']) {
                    format!("'{}'", w.replace('\'', r"'\''"))
                } else {
                    w.clone()
                }
            })
            .collect();
        Some(quoted.join(" "))
    }
}

/// How a recorded session ended (the `exit` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Exit {
    /// The command exited with this status.
    Code(i32),
    /// A signal killed the command.
    Signal(i32),
    /// The recorder was stopped by this signal and hung the command up.
    Stopped(i32),
    /// The recording's writer failed (this `errno`, 0 if it gave none: a
    /// full disk, journald gone past the spool's bounds, the syslog socket
    /// gone): the recorder hung the command up, as an unrecorded session
    /// must not go on.
    #[serde(rename = "writer_failed")]
    WriterFailed(i32),
}

impl Exit {
    /// The field's raw JSON value.
    pub fn field(&self) -> String {
        serde_json::to_string(self).expect("plain enums serialise")
    }

    /// An `exit` field's raw JSON value; anything else is an error.
    pub fn parse_field(raw: &str) -> Result<Exit, String> {
        serde_json::from_str(raw).map_err(|e| format!("bad exit field: {e}"))
    }

    /// Short text, as a listing shows it: `0`, `signal 9`, `stopped by 15`.
    pub fn describe(&self) -> String {
        match self {
            Exit::Code(code) => code.to_string(),
            Exit::Signal(sig) => format!("signal {sig}"),
            Exit::Stopped(sig) => format!("stopped by {sig}"),
            Exit::WriterFailed(0) => "writer failed".to_owned(),
            Exit::WriterFailed(errno) => {
                let text = std::io::Error::from_raw_os_error(*errno).to_string();
                let text = text.split(" (os error").next().unwrap_or_default();
                format!("writer failed: {text}")
            }
        }
    }
}

impl crate::Message {
    /// The session's origin, if this message carries it (the first one of
    /// a termtape recording); a malformed field is an error at `at`.
    pub fn origin(&self, at: &crate::Location) -> crate::Result<Option<Origin>> {
        self.extra(ORIGIN_FIELD)
            .map(|raw| {
                Origin::parse_field(raw.get()).map_err(|reason| crate::Error::InvalidField {
                    at: at.clone(),
                    field: ORIGIN_FIELD,
                    reason,
                })
            })
            .transpose()
    }

    /// How the session ended, if this message says (the last one of a
    /// termtape recording); a malformed field is an error at `at`.
    pub fn exit(&self, at: &crate::Location) -> crate::Result<Option<Exit>> {
        self.extra(EXIT_FIELD)
            .map(|raw| {
                Exit::parse_field(raw.get()).map_err(|reason| crate::Error::InvalidField {
                    at: at.clone(),
                    field: EXIT_FIELD,
                    reason,
                })
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_bad_ones_are_errors() {
        let origin = Origin {
            tty: Some("/dev/pts/1".into()),
            pty: Some("/dev/pts/4".into()),
            remote: Some("192.0.2.7".into()),
            remote_from: Some("utmp".into()),
            command: Some(vec!["bash".into(), "-c".into(), "make all".into()]),
            loginuid: Some(1000),
            boot_id: Some("d3be1a10-5f6e-408b-a78b-6363d7edddd9".into()),
        };
        let raw = origin.field();
        assert_eq!(
            raw,
            r#"{"tty":"/dev/pts/1","pty":"/dev/pts/4","remote":"192.0.2.7","remote_from":"utmp","command":["bash","-c","make all"],"loginuid":1000,"boot_id":"d3be1a10-5f6e-408b-a78b-6363d7edddd9"}"#
        );
        assert_eq!(Origin::parse_field(&raw), Ok(origin.clone()));
        assert_eq!(origin.command_line().as_deref(), Some("bash -c 'make all'"));
        assert_eq!(Origin::default().field(), "{}");
        assert!(Origin::parse_field(r#"{"tty":7}"#).is_err());
        assert!(Origin::parse_field(r#""pts/1""#).is_err());
        let long = format!(r#"{{"command":[{}"x"]}}"#, r#""a","#.repeat(1000));
        assert_eq!(
            Origin::parse_field(&long)
                .expect("valid")
                .command
                .map(|c| c.len()),
            Some(MAX_COMMAND_WORDS)
        );

        for (exit, raw) in [
            (Exit::Code(3), r#"{"code":3}"#),
            (Exit::Signal(9), r#"{"signal":9}"#),
            (Exit::Stopped(15), r#"{"stopped":15}"#),
            (Exit::WriterFailed(28), r#"{"writer_failed":28}"#),
        ] {
            assert_eq!(exit.field(), raw);
            assert_eq!(Exit::parse_field(raw), Ok(exit));
        }
        assert_eq!(Exit::Signal(9).describe(), "signal 9");
        assert_eq!(
            Exit::WriterFailed(28).describe(),
            "writer failed: No space left on device"
        );
        assert_eq!(Exit::WriterFailed(0).describe(), "writer failed");
        assert!(Exit::parse_field(r#"{"code":"x"}"#).is_err());
        assert!(Exit::parse_field(r#"{"code":1,"signal":2}"#).is_err());
    }
}
