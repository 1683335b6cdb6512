//! Moving from tlog: `config import`, and `--take-over-tlog` /
//! `--give-back-tlog` (termtape-session under tlog-rec-session's path, for
//! SSSD's and Cockpit's session recording).

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use termtape_rec::tlog;

/// Help for `config`.
pub const CONFIG_HELP: &str = "\
Usage:
  termtape config import [FILE] [-o OUT] [--force]
      convert tlog's JSON configuration (default /etc/tlog/tlog-rec-session.conf) to
      termtape.toml, written to standard output or OUT (an existing OUT is kept unless
      --force); standard error names, key by key, what could not be carried over and why

Exit status: 0 converted (notes on stderr are not failures); 2 trouble: a file that
cannot be read or written, JSON that does not parse (line and column named), a value
of the wrong type.
";

/// `config import [FILE] [-o OUT] [--force]`.
pub fn config(args: &[OsString]) -> Result<()> {
    let usage = || anyhow::anyhow!("usage:\n{CONFIG_HELP}");
    let Some((action, rest)) = args.split_first() else {
        return Err(usage());
    };
    match action.to_str() {
        Some("import") => {}
        Some("--help" | "-h" | "help") => {
            print!("{CONFIG_HELP}");
            return Ok(());
        }
        _ => return Err(usage()),
    }
    let (mut input, mut output, mut force) = (None, None, false);
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        match arg.to_str() {
            Some("-o" | "--output") => output = Some(PathBuf::from(it.next().ok_or_else(usage)?)),
            Some("--force") => force = true,
            Some("--help" | "-h") => {
                print!("{CONFIG_HELP}");
                return Ok(());
            }
            Some(s) if s.starts_with('-') && s != "-" => return Err(usage()),
            _ if input.is_none() => input = Some(PathBuf::from(arg)),
            _ => return Err(usage()),
        }
    }
    // Installed setuid, this must read and write only what the caller may.
    let real = termtape_rec::pty::Credentials::real();
    termtape_rec::pty::become_user(real).context("taking back the caller's ids")?;
    let input = input.unwrap_or_else(|| PathBuf::from(tlog::SESSION_CONFIG));
    let text =
        std::fs::read_to_string(&input).with_context(|| format!("reading {}", input.display()))?;
    let value = tlog::parse(&text, &input)?;
    let import = tlog::import(&value, &input)?;
    match &output {
        None => std::io::stdout()
            .write_all(import.toml.as_bytes())
            .context("writing standard output")?,
        Some(out) => {
            let mut open = std::fs::OpenOptions::new();
            open.write(true);
            if force {
                open.create(true).truncate(true);
            } else {
                open.create_new(true);
            }
            let mut file = open.open(out).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    anyhow::anyhow!("{} exists; --force replaces it", out.display())
                } else {
                    anyhow::Error::new(e).context(format!("opening {}", out.display()))
                }
            })?;
            file.write_all(import.toml.as_bytes())
                .with_context(|| format!("writing {}", out.display()))?;
        }
    }
    for note in &import.notes {
        eprintln!("termtape: {}: {}: {}", input.display(), note.key, note.why);
    }
    if let Some(out) = &output {
        eprintln!(
            "termtape: wrote {} ({} note{})",
            out.display(),
            import.notes.len(),
            if import.notes.len() == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

/// The package whose name the diversion is made under: the termtape
/// package's prerm finds it and gives tlog's binary back on removal.
const DIVERT_PACKAGE: &str = "termtape";

/// Where dpkg keeps tlog's own tlog-rec-session while termtape has its path.
pub fn diverted_path() -> PathBuf {
    PathBuf::from(format!("{}.distrib", tlog::SESSION_PATH))
}

/// Who diverts tlog-rec-session's path: a package name, `LOCAL`, or `None`.
fn diverted_by() -> Result<Option<String>> {
    let out = Command::new("dpkg-divert")
        .args(["--listpackage", tlog::SESSION_PATH])
        .output()
        .context("running dpkg-divert")?;
    let name = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Ok((!name.is_empty()).then_some(name))
}

fn dpkg_divert(args: &[&str]) -> Result<()> {
    let out = Command::new("dpkg-divert")
        .args(args)
        .output()
        .context("running dpkg-divert")?;
    if !out.status.success() {
        bail!(
            "dpkg-divert {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// `--take-over-tlog`: tlog's tlog-rec-session is kept aside under a
/// dpkg diversion (so that tlog's upgrades go there too) and its path becomes a
/// link to this program. Users whose shell is tlog-rec-session, the ones
/// SSSD's `[session_recording]` and Cockpit make, are then recorded by
/// termtape.
pub fn take_over(exe: &Path) -> Result<()> {
    let path = Path::new(tlog::SESSION_PATH);
    match diverted_by()?.as_deref() {
        Some(DIVERT_PACKAGE) if std::fs::read_link(path).is_ok_and(|t| t == exe) => {
            println!("{}: already termtape's ({})", path.display(), exe.display());
            return Ok(());
        }
        Some(DIVERT_PACKAGE) | None => {}
        Some(other) => bail!(
            "{} is diverted by {other}, not termtape: left alone",
            path.display()
        ),
    }
    let aside = diverted_path();
    // tlog's binary is kept under the diverted name by a second link to
    // it, and the path then replaced at once: a login starting meanwhile
    // always finds one of the two (dpkg-divert --rename would leave the
    // path empty between its rename and ours).
    let had_tlog = path.symlink_metadata().is_ok() && !is_ours(path);
    if had_tlog {
        std::fs::hard_link(path, &aside)
            .with_context(|| format!("keeping tlog's {} as {}", path.display(), aside.display()))?;
    }
    let aside_text = aside.display().to_string();
    if let Err(e) = dpkg_divert(&[
        "--package",
        DIVERT_PACKAGE,
        "--divert",
        &aside_text,
        "--no-rename",
        "--add",
        tlog::SESSION_PATH,
    ]) {
        if had_tlog {
            let _ = std::fs::remove_file(&aside);
        }
        return Err(e);
    }
    replace_with_link(path, exe)?;
    println!(
        "{}: now termtape-session ({}); tlog's is kept as {} (--give-back-tlog returns it)",
        path.display(),
        exe.display(),
        aside.display()
    );
    Ok(())
}

/// `--give-back-tlog`: undoes `--take-over-tlog`, tlog's own binary back
/// under its name.
pub fn give_back() -> Result<()> {
    let path = Path::new(tlog::SESSION_PATH);
    match diverted_by()?.as_deref() {
        Some(DIVERT_PACKAGE) => {}
        None => {
            println!("{}: not taken over; nothing to give back", path.display());
            return Ok(());
        }
        Some(other) => bail!(
            "{} is diverted by {other}, not termtape: left alone",
            path.display()
        ),
    }
    if path.symlink_metadata().is_ok() && !is_ours(path) {
        bail!(
            "{} is not termtape's link to termtape-session: left alone",
            path.display()
        );
    }
    let aside = diverted_path();
    if aside.exists() {
        // tlog's binary back under its name in one step, replacing the link.
        let tmp = path.with_extension("termtape-new");
        let _ = std::fs::remove_file(&tmp);
        std::fs::hard_link(&aside, &tmp)
            .with_context(|| format!("linking {} to {}", tmp.display(), aside.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    } else if path.symlink_metadata().is_ok() {
        std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
    }
    dpkg_divert(&[
        "--package",
        DIVERT_PACKAGE,
        "--divert",
        &aside.display().to_string(),
        "--no-rename",
        "--remove",
        tlog::SESSION_PATH,
    ])?;
    if aside.exists() {
        std::fs::remove_file(&aside).with_context(|| format!("removing {}", aside.display()))?;
    }
    if path.exists() {
        println!("{}: tlog's again", path.display());
    } else {
        println!(
            "{}: removed termtape's link (tlog is not installed)",
            path.display()
        );
    }
    Ok(())
}

/// Whether `path` is a link to a termtape-session.
fn is_ours(path: &Path) -> bool {
    std::fs::read_link(path)
        .is_ok_and(|t| t.file_name() == Some(std::ffi::OsStr::new("termtape-session")))
}

/// Puts a link to `target` at `path` in one step.
fn replace_with_link(path: &Path, target: &Path) -> Result<()> {
    let tmp = path.with_extension("termtape-new");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)
        .with_context(|| format!("linking {} to {}", tmp.display(), target.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
}
