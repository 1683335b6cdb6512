//! termtape's recorder: runs a command under a new PTY, relays the user's
//! terminal to it both ways, and records what passes into tlog-compatible
//! JSON messages.
//!
//! Flow: [`pty`] (PTY and child process) → [`relay`] (the poll loop between
//! the user's terminal and the PTY, which hands every byte to a [`Capture`]
//! before it reaches the user) → [`recorder`] (the pure recorder: charset
//! conversion, the emulator keyframes follow, messages cut with
//! `termtape-format`) → [`sink`] (where messages go: a file, the journal,
//! syslog, through a rate limit).
//!
//! [`setup`] opens the recorder this process is configured for ([`config`]:
//! identity, writer, limits, locale); [`session`], [`login_terminal`],
//! [`utmp`] and [`nested`] are what a recorded login adds; [`audit_rules`]
//! the kernel audit rules that log its commands and watched files.
//!
//! This crate does not read recordings back; that is `termtape-player`.

pub mod audit_rules;
#[allow(
    unsafe_code,
    reason = "gethostname, getaddrinfo and getrandom are C library calls"
)]
pub mod identity;
mod keyframes;
pub mod keys;
#[allow(unsafe_code, reason = "setlocale and nl_langinfo are C library calls")]
pub mod locale;
#[allow(
    unsafe_code,
    reason = "vhangup, fork and the guard's system calls have no safe wrapper"
)]
pub mod login_terminal;
pub mod nested;
#[allow(
    unsafe_code,
    reason = "fork and the child's calls before exec, signal handlers and masks, and process-wide setresuid have no safe rustix form"
)]
pub mod pty;
pub mod recorder;
pub mod redact;
pub mod relay;
pub mod session;
pub mod setup;
pub mod sink;
pub mod tlog;
#[allow(
    unsafe_code,
    reason = "ptsname_r, setfsuid and the guard's fork and exec are C library calls"
)]
pub mod utmp;

pub mod config;

pub use config::Config;
pub use recorder::{Policy, Recorder};
pub use relay::Capture;
pub use sink::{FileSink, Sink};
