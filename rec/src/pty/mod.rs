//! Pseudo-terminals, the user's terminal mode, signals, and the recorded
//! child process: the kernel interfaces the relay loop ([`crate::relay`])
//! builds on, each job in its own module.
//!
//! - `fd`: reading, writing and polling descriptors, and keeping new ones
//!   clear of standard input, output and error;
//! - `termios`: [`WindowSize`] and [`RawMode`], the user's terminal in raw
//!   mode, restored on drop;
//! - `master`: [`Pty`], a new pseudo-terminal pair and its window size;
//! - `spawn`: [`Pty::spawn`], which starts the command with the slave as
//!   its controlling terminal (fork, then exec in the child);
//! - `child`: [`Child`], the recorded process, its status ([`ExitStatus`])
//!   and hangup, and the process' ids ([`Credentials`]);
//! - `signals`: [`Signals`], a self-pipe that turns asynchronous signals
//!   into bytes the relay can `poll()` for, and the detaching of guard
//!   processes.
//!
//! System calls go through `rustix` wherever it has a safe call. `libc`
//! remains, in `unsafe` blocks that each say why, only where rustix offers
//! nothing to a program running on std: fork and what the child does
//! before exec, signal handlers, dispositions and masks, and the
//! process-wide `setresuid`/`setresgid` (rustix has only the per-thread
//! system calls; the C library applies them to every thread).

mod child;
mod fd;
mod master;
mod signals;
mod spawn;
mod termios;

pub use child::{Child, Credentials, ExitStatus, become_user, settle_ids};
pub use fd::ensure_stdio_open;
pub(crate) use fd::{poll, poll_write_or_signal, read, write};
pub use master::Pty;
pub(crate) use signals::detach_guard;
pub use signals::{HANDLED_SIGNALS, SignalSet, Signals};
pub use termios::{RawMode, WindowSize, is_terminal, window_size};
