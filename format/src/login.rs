//! The `login` field: logins that happened inside a recorded session.
//!
//! A login nested in a recorded session (`su - bob` in alice's session) is
//! not recorded a second time: the outer recording already holds everything
//! shown. Instead the outer recorder marks it, on the next message it
//! writes, with a `login` field: an array of events, each stamped with its
//! own time (`at`, milliseconds from the recording's start, as `pos`), so
//! the moment is exact even when the message carrying it starts earlier or
//! later.
//!
//! ```json
//! "login":[{"n":1,"at":5120,"user":"bob","uid":1002,"tty":"/dev/pts/3","kind":"login"}]
//! "login":[{"n":1,"at":9344,"end":true}]
//! ```
//!
//! A start names the nested login's user (its real uid as the kernel gave
//! it, and the name that uid had), the terminal it was started on and how
//! (`login`, `command` for `su -c`, `shell` otherwise). An end (`"end":true`)
//! says that the process started by that login (the nested shell) exited;
//! it is stamped with the first output read after the exit was seen, so
//! everything that process showed is at or before its end (that read may
//! hold the outer shell's next prompt too).
//! `n` numbers the nested logins of one recording from 1 and pairs an end
//! with its start.

use serde::{Deserialize, Serialize};

/// The name of the extra field.
pub const LOGIN_FIELD: &str = crate::extension::LOGIN;

/// At most this many events are read from one message's field.
pub const MAX_LOGIN_EVENTS: usize = 64;

/// One event of a nested login.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    /// Which nested login of the recording, from 1.
    pub n: u32,
    /// Milliseconds from the recording's start.
    pub at: u64,
    /// The nested login's user name (starts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Its real uid (starts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// The terminal it was started on (starts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<String>,
    /// `login`, `command` or `shell` (starts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// True when the nested login ended.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub end: bool,
}

impl Login {
    /// The events of a `login` field's raw JSON value; a value that is not
    /// an array of events is an error naming why. At most
    /// [`MAX_LOGIN_EVENTS`] are kept.
    pub fn parse_field(raw: &str) -> Result<Vec<Login>, String> {
        let mut events: Vec<Login> =
            serde_json::from_str(raw).map_err(|e| format!("bad login field: {e}"))?;
        events.truncate(MAX_LOGIN_EVENTS);
        Ok(events)
    }

    /// The field's raw JSON value for `events`.
    pub fn field(events: &[Login]) -> String {
        serde_json::to_string(events).expect("plain structs serialise")
    }
}

impl crate::Message {
    /// The nested-login events this message carries (its `login` field),
    /// none if it has no such field; a malformed field is an error at `at`.
    pub fn logins(&self, at: &crate::Location) -> crate::Result<Vec<Login>> {
        match self.extra(LOGIN_FIELD) {
            None => Ok(Vec::new()),
            Some(raw) => {
                Login::parse_field(raw.get()).map_err(|reason| crate::Error::InvalidField {
                    at: at.clone(),
                    field: LOGIN_FIELD,
                    reason,
                })
            }
        }
    }
}

/// Who is logged in at a moment of a recording, from its `login` events.
#[derive(Debug, Clone, Default)]
pub struct Logins {
    /// Started logins, in order: (event, when it ended if known).
    started: Vec<(Login, Option<u64>)>,
}

impl Logins {
    /// Takes the events of one message (in message order).
    pub fn add(&mut self, events: Vec<Login>) {
        for e in events {
            if e.end {
                if let Some((_, end)) = self.started.iter_mut().find(|(s, _)| s.n == e.n) {
                    *end = Some(e.at);
                }
            } else if self.started.len() < 4096 {
                self.started.push((e, None));
            }
        }
    }

    /// The innermost nested login active at `at` ms: the latest one started
    /// at or before it and ending at or after it.
    pub fn active_at(&self, at: u64) -> Option<&Login> {
        self.started
            .iter()
            .rev()
            .find(|(s, end)| s.at <= at && end.is_none_or(|e| e >= at))
            .map(|(s, _)| s)
    }

    /// Every start, in order.
    pub fn starts(&self) -> impl Iterator<Item = &Login> {
        self.started.iter().map(|(s, _)| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_ends_pair_with_starts() {
        let start = Login {
            n: 1,
            at: 5120,
            user: Some("bob".into()),
            uid: Some(1002),
            tty: Some("/dev/pts/3".into()),
            kind: Some("login".into()),
            end: false,
        };
        let end = Login {
            n: 1,
            at: 9000,
            end: true,
            ..Login::default()
        };
        let raw = Login::field(std::slice::from_ref(&start));
        assert_eq!(
            raw,
            r#"[{"n":1,"at":5120,"user":"bob","uid":1002,"tty":"/dev/pts/3","kind":"login"}]"#
        );
        assert_eq!(
            Login::field(std::slice::from_ref(&end)),
            r#"[{"n":1,"at":9000,"end":true}]"#
        );
        let mut logins = Logins::default();
        logins.add(Login::parse_field(&raw).expect("valid"));
        assert_eq!(logins.active_at(5000), None);
        assert_eq!(
            logins.active_at(5120).and_then(|l| l.user.as_deref()),
            Some("bob")
        );
        logins.add(vec![end]);
        assert_eq!(logins.active_at(9000).map(|l| l.n), Some(1));
        assert_eq!(logins.active_at(9001), None);
        assert!(Login::parse_field(r#"{"n":1}"#).is_err());
        assert!(
            Login::parse_field(r#"[{"at":1}]"#).is_err(),
            "n is required"
        );
    }
}
