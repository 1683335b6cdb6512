//! Where finished messages go. A [`Sink`] takes whole messages, one at a time,
//! each with its extension fields apart (see `termtape_format::extension`):
//! each writer puts them in the form it writes.

use std::io;

use termtape_format::extension::{Extended, Field, KEYFRAME};

mod chain;
mod file;
mod journal;
mod limit;
#[allow(unsafe_code, reason = "SIOCOUTQ is an ioctl")]
mod spool;
mod syslog;

pub use chain::Chained;
pub use file::FileSink;
pub use journal::{JournalSink, MAX_MESSAGE_LEN, SOCKET};
pub use limit::{Action, Clock, GapSignal, RateLimit, SystemClock, check_burst};
pub use spool::{DEFAULT_SPOOL_DIR, OnFailure, Spool, deliver, log_warning};
pub use syslog::{AUTHPRIV, SyslogSink};

/// A destination for finished messages.
pub trait Sink {
    /// Makes sure that `bytes` more bytes of messages can be written later
    /// without running out of space, or fails now. The recorder asks before
    /// it lets output through to the user, so that what the user saw can
    /// always be written, even on a full disk.
    fn reserve(&mut self, bytes: u64) -> io::Result<()>;
    /// Writes one message, whole, with its extension fields. An error
    /// means it was not stored (the recorder may hand it again, with the
    /// end mark), so a writer that stores it and must still end the
    /// session reports that from its next call instead.
    fn write(&mut self, message: &Extended<'_>) -> io::Result<()>;
    /// Makes everything written durable; the recording is over.
    fn finish(&mut self) -> io::Result<()>;
    /// The longest message, in its file form with its newline, that this
    /// writer takes whole (`None`: any). Whoever changes a message for
    /// the writer (the hash chain) makes it fit first (`fitted`), so
    /// that the writer need not change it after.
    fn max_len(&self) -> Option<usize> {
        None
    }
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn reserve(&mut self, bytes: u64) -> io::Result<()> {
        (**self).reserve(bytes)
    }
    fn write(&mut self, message: &Extended<'_>) -> io::Result<()> {
        (**self).write(message)
    }
    fn finish(&mut self) -> io::Result<()> {
        (**self).finish()
    }
    fn max_len(&self) -> Option<usize> {
        (**self).max_len()
    }
}

/// `message`'s fields without its keyframe, if with `added` bytes more it
/// is longer than `max`: a keyframe only speeds up seeking (readers seek
/// from an earlier one), so the message goes without it rather than not
/// at all. `None`: it fits, or has no keyframe to leave out.
fn fitted<'a>(message: &Extended<'a>, added: usize, max: Option<usize>) -> Option<Vec<Field<'a>>> {
    let max = max?;
    if message.file_len() + added <= max || !message.fields.iter().any(|f| f.name == KEYFRAME) {
        return None;
    }
    Some(
        message
            .fields
            .iter()
            .filter(|f| f.name != KEYFRAME)
            .copied()
            .collect(),
    )
}

/// `message` in its file form (see [`Extended::file_form`]), made in `buf`
/// if it has extension fields.
fn file_form<'b>(message: &'b Extended<'_>, buf: &'b mut Vec<u8>) -> io::Result<&'b [u8]> {
    message
        .file_form(buf)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// A writer that writes nothing: for a session that `on_failure =
/// "continue"` lets run without a writer.
#[derive(Debug, Default)]
pub struct Unrecorded;

impl Sink for Unrecorded {
    fn reserve(&mut self, _bytes: u64) -> io::Result<()> {
        Ok(())
    }
    fn write(&mut self, _message: &Extended<'_>) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Collects messages in memory, for tests.
#[cfg(test)]
#[derive(Clone, Default)]
pub(crate) struct Memory(pub(crate) std::rc::Rc<std::cell::RefCell<Vec<String>>>);

#[cfg(test)]
impl Sink for Memory {
    fn reserve(&mut self, _bytes: u64) -> io::Result<()> {
        Ok(())
    }
    fn write(&mut self, m: &Extended<'_>) -> io::Result<()> {
        let mut buf = Vec::new();
        let line = file_form(m, &mut buf)?;
        self.0
            .borrow_mut()
            .push(String::from_utf8_lossy(line).into_owned());
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}
