//! Where recordings are read from.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;

/// A place holding recordings, as named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file of JSON lines, as tlog-rec's file writer and termtape-rec write.
    File(PathBuf),
    /// Standard input (`-`), JSON lines.
    Stdin,
}

impl Source {
    /// Parses a SOURCE argument: `-` is standard input, anything else a path.
    pub fn parse(spec: &str) -> io::Result<Source> {
        if spec == "-" {
            return Ok(Source::Stdin);
        }
        if (spec == "journal" || spec.starts_with("journal:"))
            && !std::path::Path::new(spec).exists()
        {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "reading recordings from the systemd journal is not available in this build; \
                 export them with `journalctl -o cat` into a file, or record with -o FILE",
            ));
        }
        Ok(Source::File(PathBuf::from(spec)))
    }

    /// The name used in messages.
    pub fn name(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::Stdin => "-".to_owned(),
        }
    }

    /// Opens the source for reading lines.
    pub fn open(&self) -> io::Result<Box<dyn BufRead>> {
        Ok(match self {
            Source::File(path) => Box::new(BufReader::with_capacity(
                256 * 1024,
                File::open(path)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?,
            )),
            Source::Stdin => Box::new(BufReader::with_capacity(256 * 1024, io::stdin())),
        })
    }
}
