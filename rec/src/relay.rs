//! The relay loop between the user's terminal and the recorded command's PTY.

use std::io;
use std::time::Duration;

/// Receives everything the relay sees, in order, each item stamped with the
/// time elapsed since the recording started (a monotonic clock).
///
/// The relay calls [`Capture::output`] *before* it writes those bytes to the
/// user's terminal, so nothing is shown that was not first handed to the
/// recorder (tlog does the same).
pub trait Capture {
    /// The terminal size changed (also called once at the start).
    fn window(&mut self, at: Duration, cols: u16, rows: u16) -> io::Result<()>;
    /// Bytes the user typed, about to be written to the command.
    fn input(&mut self, at: Duration, bytes: &[u8]) -> io::Result<()>;
    /// Bytes the command wrote, about to be shown to the user.
    fn output(&mut self, at: Duration, bytes: &[u8]) -> io::Result<()>;
    /// When the capture next wants [`Capture::tick`] called (a latency
    /// deadline), or `None` if it has nothing pending.
    fn deadline(&self) -> Option<Duration>;
    /// Called at or after [`Capture::deadline`]; flushes what is due.
    fn tick(&mut self, now: Duration) -> io::Result<()>;
    /// The session ended (or the recorder is being stopped): write out
    /// everything still buffered.
    fn finish(&mut self, at: Duration) -> io::Result<()>;
}
