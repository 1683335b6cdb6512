//! The recorder's signing key pair (see `termtape_format::chain`): made by
//! `termtape keys generate` and `termtape-session --install`, read by the
//! recorder ([`crate::setup`]).
//!
//! The private key ([`PRIVATE_FILE`]) is mode 0400, owned by the account
//! the recorder runs as, so that the recorded users (and anyone else but
//! root) cannot read it; the public key ([`PUBLIC_FILE`]) is mode 0644,
//! for `termtape verify` here, and to be copied off the host.

use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use termtape_format::chain::{PublicKey, SecretKey};

/// Where the key pair is kept by default.
pub const DEFAULT_DIR: &str = "/etc/termtape";
/// The private key's file name.
pub const PRIVATE_FILE: &str = "signing.key";
/// The public key's file name.
pub const PUBLIC_FILE: &str = "signing.pub";

/// Makes a key pair in `dir` (created 0755 if missing): the private key
/// 0400, owned by `owner` (uid, gid) if given, the public key 0644. An
/// existing private key is kept (its public half written again) unless
/// `replace`. Returns the public key and whether a new pair was made.
pub fn generate(
    dir: &Path,
    owner: Option<(u32, u32)>,
    replace: bool,
) -> io::Result<(PublicKey, bool)> {
    std::fs::create_dir_all(dir)?;
    let private = dir.join(PRIVATE_FILE);
    let (key, made) = match std::fs::read_to_string(&private) {
        Ok(text) if !replace => {
            let key = SecretKey::parse(&text).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e} (--force replaces it)", private.display()),
                )
            })?;
            // Kept, but only its owner reads it, whatever it was before.
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(&private, Some(uid), Some(gid))?;
            }
            std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o400))?;
            (key, false)
        }
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(io::Error::new(
                e.kind(),
                format!("{}: {e}", private.display()),
            ));
        }
        _ => {
            let mut seed = [0u8; 32];
            crate::identity::random_fill(&mut seed).map_err(io::Error::from)?;
            let key = SecretKey::from_seed(seed);
            write_new(&private, key.file_text().as_bytes(), 0o400, owner)?;
            (key, true)
        }
    };
    let public = key.public();
    write_new(
        &dir.join(PUBLIC_FILE),
        format!("{public}\n").as_bytes(),
        0o644,
        None,
    )?;
    Ok((public, made))
}

/// Writes `bytes` to `path` through a new file of `mode` (and `owner`)
/// renamed over it, so that no reader ever sees a partial key, nor the
/// key with a wider mode.
fn write_new(path: &Path, bytes: &[u8], mode: u32, owner: Option<(u32, u32)>) -> io::Result<()> {
    let tmp = PathBuf::from(format!("{}.new{}", path.display(), std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::fchown(&file, Some(uid), Some(gid))?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_is_made_once_with_its_modes_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (public, made) = generate(dir.path(), None, false).expect("made");
        assert!(made);
        let mode = |f: &str| {
            std::fs::metadata(dir.path().join(f))
                .expect("there")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!((mode(PRIVATE_FILE), mode(PUBLIC_FILE)), (0o400, 0o644));
        let written = std::fs::read_to_string(dir.path().join(PUBLIC_FILE)).expect("read");
        assert_eq!(PublicKey::parse(&written), Ok(public));
        assert_eq!(
            generate(dir.path(), None, false).expect("kept"),
            (public, false)
        );
        let (other, made) = generate(dir.path(), None, true).expect("replaced");
        assert!(made && other != public);
    }
}
