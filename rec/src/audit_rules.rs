//! The kernel audit rules that log what `termtape commands` and
//! `termtape files` show: every program run by a logged-in user, and
//! changes to the files the configuration watches (`[audit] watch`).
//!
//! ```text
//! -a always,exit -F arch=b64 -S execve,execveat -F auid>=1000 -F auid!=unset -k termtape-exec
//! -a always,exit -F arch=b32 -S execve,execveat -F auid>=1000 -F auid!=unset -k termtape-exec
//! -w /etc -p wa -k termtape-watch
//! ```
//!
//! `auid` is the login uid `pam_loginuid` sets at login: the daemons (no
//! login) and root's own logins are left out, as most audit setups do; both
//! architectures are ruled, or a 32-bit program would run unlogged.
//! Nothing here is needed on a host whose rules already log execve: the
//! reader joins any execve records by their session.

use std::path::{Path, PathBuf};

/// The rule key of the exec rules (the reader knows it as the player's
/// `audit::EXEC_KEY`).
pub const EXEC_KEY: &str = "termtape-exec";

/// The rule key of the file watches.
pub const WATCH_KEY: &str = "termtape-watch";

/// Where `--install` writes the rules, for auditd's augenrules to load at
/// boot.
pub const RULES_FILE: &str = "/etc/audit/rules.d/termtape.rules";

/// The lowest login uid whose programs are logged (Debian's UID_MIN).
pub const MIN_UID: u32 = 1000;

/// Why the rules cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A watched path that a rules file cannot hold or the kernel cannot
    /// watch.
    #[error("[audit] watch: {path:?}: {why}")]
    Watch {
        /// The path.
        path: PathBuf,
        /// Why not.
        why: &'static str,
    },
}

/// The rules, one per line, with a comment saying what made them.
pub fn rules(watch: &[PathBuf]) -> Result<String, Error> {
    let mut out = String::from(
        "## termtape: log what `termtape commands` and `termtape files` show\n\
         ## (made by `termtape audit rules`; [audit] watch in termtape.toml)\n",
    );
    for arch in ["b64", "b32"] {
        out.push_str(&format!(
            "-a always,exit -F arch={arch} -S execve,execveat -F auid>={MIN_UID} -F auid!=unset -k {EXEC_KEY}\n"
        ));
    }
    for path in watch {
        out.push_str(&format!("-w {} -p wa -k {WATCH_KEY}\n", checked(path)?));
    }
    Ok(out)
}

fn checked(path: &Path) -> Result<&str, Error> {
    let bad = |why| Error::Watch {
        path: path.to_owned(),
        why,
    };
    let text = path.to_str().ok_or_else(|| bad("not UTF-8"))?;
    if !path.is_absolute() {
        return Err(bad("not an absolute path"));
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad(
            "holds a space or a control character, which a rules file cannot",
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_log_execs_of_logins_and_watch_the_configured_paths() {
        let text =
            rules(&[PathBuf::from("/etc"), PathBuf::from("/var/lib/secret")]).expect("rules");
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                "-a always,exit -F arch=b64 -S execve,execveat -F auid>=1000 -F auid!=unset -k termtape-exec",
                "-a always,exit -F arch=b32 -S execve,execveat -F auid>=1000 -F auid!=unset -k termtape-exec",
                "-w /etc -p wa -k termtape-watch",
                "-w /var/lib/secret -p wa -k termtape-watch",
            ]
        );
        for bad in ["etc", "/a b", "/a\nb"] {
            assert!(rules(&[PathBuf::from(bad)]).is_err(), "{bad:?}");
        }
    }
}
