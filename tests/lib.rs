//! Helpers for termtape's end-to-end tests: the corpus, the built binaries,
//! real peers (tlog, journald) and pseudo-terminals to run them on.

use std::path::{Path, PathBuf};

use termtape_format::{Location, Message};

/// The directory of real tlog recordings (copied from the shared corpus).
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/tlog")
}

/// Reads a JSON-lines file of messages, panicking with the line on failure
/// (for fixtures that must be valid).
pub fn read_messages(path: &Path) -> Vec<Message> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let at = Location {
                source: Some(path.display().to_string()),
                line: i as u64 + 1,
                id: None,
            };
            Message::parse(l, &at).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

/// The MESSAGE values of a `journalctl -o json` dump, in order.
pub fn journal_json_messages(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("journalctl -o json line");
            v["MESSAGE"]
                .as_str()
                .expect("MESSAGE is a string")
                .to_owned()
        })
        .collect()
}
