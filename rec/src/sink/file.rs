//! The file writer: one message per line, appended.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use termtape_format::extension::Extended;

use super::Sink;

/// Appends messages to a file, one per line, each with a single `write`.
///
/// The file is opened for appending (so several recorders may share it,
/// whole lines interleaving) and created with mode 0600. There is no
/// buffering in the process: a message is in the file once `write`
/// returns. Space is reserved ahead of the end of the file with
/// `fallocate(FALLOC_FL_KEEP_SIZE)`, so a full disk is found when output
/// arrives, before it is shown, not when its message is written.
#[derive(Debug)]
pub struct FileSink {
    file: File,
    path: PathBuf,
    /// Current end of the file, as far as this writer knows.
    end: u64,
    /// Space is reserved up to this offset.
    reserved_to: u64,
    /// False once the filesystem said it cannot reserve space.
    can_reserve: bool,
    /// A message with its extension fields.
    line: Vec<u8>,
}

/// Space reserved at a time beyond the end of the file.
const RESERVE_STEP: u64 = 256 << 10;

impl FileSink {
    /// Opens (creating it if needed) `path` for appending.
    pub fn open(path: &Path) -> io::Result<FileSink> {
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| io::Error::new(e.kind(), format!("opening {}: {e}", path.display())))?;
        let end = file.metadata()?.len();
        Ok(FileSink {
            file,
            path: path.to_owned(),
            end,
            reserved_to: end,
            can_reserve: true,
            line: Vec::new(),
        })
    }

    fn context(&self, what: &str, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("{what} {}: {e}", self.path.display()))
    }
}

impl Sink for FileSink {
    fn reserve(&mut self, bytes: u64) -> io::Result<()> {
        if !self.can_reserve || self.end + bytes <= self.reserved_to {
            return Ok(());
        }
        let len = bytes.max(RESERVE_STEP);
        match rustix::fs::fallocate(
            &self.file,
            rustix::fs::FallocateFlags::KEEP_SIZE,
            self.end,
            len,
        ) {
            Ok(()) => {
                self.reserved_to = self.end + len;
                Ok(())
            }
            Err(e) if e == rustix::io::Errno::OPNOTSUPP || e == rustix::io::Errno::NOSYS => {
                // The filesystem cannot reserve: full-disk errors will show
                // when messages are written instead.
                self.can_reserve = false;
                Ok(())
            }
            Err(e) => Err(self.context("reserving space in", e.into())),
        }
    }

    fn write(&mut self, message: &Extended<'_>) -> io::Result<()> {
        let line = super::file_form(message, &mut self.line)?;
        // (`self.context` would borrow all of `self`, and `line` is in it.)
        let path = &self.path;
        self.file
            .write_all(line)
            .map_err(|e| io::Error::new(e.kind(), format!("writing to {}: {e}", path.display())))?;
        self.end += line.len() as u64;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.file
            .sync_data()
            .map_err(|e| self.context("syncing", e))?;
        // Give back what was reserved beyond the end of the recording, but
        // only if no other writer appended meanwhile: truncating would cut
        // their messages. (Another writer starting between the check and the
        // truncation is the one window left; files are per recording in
        // the common setup.)
        if self.reserved_to > self.end
            && self.file.metadata().map(|m| m.len()).ok() == Some(self.end)
        {
            let _ = self.file.set_len(self.end);
            self.reserved_to = self.end;
        }
        Ok(())
    }
}
