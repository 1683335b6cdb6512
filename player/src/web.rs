//! The web front end, embedded at build time (player/build.rs reads
//! `web/dist/`, which scripts/web-build makes): `termtape serve` answers
//! its pages, and `termtape cockpit install` writes them as a Cockpit
//! package, so that both are the binary's own version.

use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[path = "web_name.rs"]
mod name;
pub use name::servable;

/// The files of `web/dist/` at build time, by name, sorted; empty when it
/// was not built.
pub static FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/web_files.rs"));

/// Where `termtape cockpit install` writes by default.
pub const COCKPIT_DIR: &str = "/usr/share/cockpit/termtape";

/// The file in an install directory that lists what the last install
/// wrote, so that the next removes only its own files gone since.
const INSTALLED: &str = ".termtape-files";

/// The embedded file `name`, if there is one.
pub fn file(name: &str) -> Option<&'static [u8]> {
    FILES
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| FILES[i].1)
}

/// Whether the front end was embedded (web/dist existed at build time).
pub fn built() -> bool {
    !FILES.is_empty()
}

/// The Content-Type of a file, by its extension.
pub fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map_or("", |(_, ext)| ext) {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Why the front end could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// Nothing to install.
    #[error(
        "this termtape was built without the web front end (web/dist did not exist): \
         run scripts/web-build, then build termtape again"
    )]
    NotBuilt,
    /// A file or the directory could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// What was being written.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
}

/// Writes every embedded file into `dir` (made 0755 if missing), each
/// 0644, through a temporary file renamed over the old one; removes the
/// files an earlier install wrote that this one does not have. Returns the
/// paths written and removed.
pub fn install(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), InstallError> {
    if !built() {
        return Err(InstallError::NotBuilt);
    }
    let at = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InstallError::Io { path, source }
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .map_err(at(dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).map_err(at(dir))?;
    let mut written = Vec::new();
    for (name, bytes) in FILES {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)
            .map_err(at(&tmp))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(at(&tmp))?;
        // An existing temporary file keeps its mode through open.
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).map_err(at(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(at(&path))?;
        written.push(path);
    }
    let list = dir.join(INSTALLED);
    let mut removed = Vec::new();
    if let Ok(before) = std::fs::read_to_string(&list) {
        for name in before.lines() {
            // Only names this module could have written: never a path.
            if file(name).is_none() && servable(name) {
                let path = dir.join(name);
                if std::fs::remove_file(&path).is_ok() {
                    removed.push(path);
                }
            }
        }
    }
    let names: String = FILES.iter().map(|(n, _)| format!("{n}\n")).collect();
    std::fs::write(&list, names).map_err(at(&list))?;
    std::fs::set_permissions(&list, std::fs::Permissions::from_mode(0o644)).map_err(at(&list))?;
    Ok((written, removed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_flat_and_plain() {
        for good in ["index.html", "termtape.js", "a-b_c.1.map", "0.css"] {
            assert!(servable(good), "{good}");
        }
        for bad in ["", ".hidden", "../x", "a/b", "A.js", "x y", "-x", "_x", "é"] {
            assert!(!servable(bad), "{bad}");
        }
        assert_eq!(
            content_type("termtape.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("x.woff2"), "font/woff2");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }

    #[test]
    fn the_table_is_sorted_and_servable() {
        assert!(FILES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(FILES.iter().all(|(n, _)| servable(n)));
        for (name, bytes) in FILES {
            assert_eq!(file(name), Some(*bytes));
        }
        assert_eq!(file("../Cargo.toml"), None);
    }
}
