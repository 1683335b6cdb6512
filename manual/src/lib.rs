//! termtape's manual: man pages and shell completions.
//!
//! The pages of `termtape` (one per subcommand) and `termtape-rec`, and the
//! bash, zsh and fish completions, are made from the very clap definitions
//! the binaries parse their arguments with (their `cli.rs`, included here),
//! so they say what `--help` says. `termtape-session(8)` (its command line
//! is parsed by hand) and `termtape.toml(5)` are written by hand, in
//! `man/`; a test checks the latter against the configuration parser.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::CommandFactory;

// The binaries' own command-line modules: their parsing helpers are not
// used here, only the definitions (their docs are checked in their crates,
// where `argv[0]` is not taken for a link).
#[allow(dead_code, rustdoc::broken_intra_doc_links)]
#[path = "../../player/src/bin/termtape/cli.rs"]
mod termtape_cli;

#[allow(dead_code, rustdoc::broken_intra_doc_links)]
#[path = "../../rec/src/bin/termtape-rec/cli.rs"]
mod rec_cli;

/// `termtape-session(8)`, written by hand (its command line is too).
pub const SESSION_PAGE: &str = include_str!("../man/termtape-session.8");

/// `termtape.toml(5)`, written by hand from the configuration's keys.
pub const CONFIG_PAGE: &str = include_str!("../man/termtape.toml.5");

/// The configuration file the package installs: every key, commented out,
/// with its default.
pub const DEFAULT_CONFIG: &str = include_str!("../termtape.toml");

/// The `termtape` command as it parses its arguments.
pub fn termtape() -> clap::Command {
    termtape_cli::Cli::command()
}

/// The `termtape-rec` command as it parses its arguments.
pub fn termtape_rec() -> clap::Command {
    rec_cli::command("termtape-rec")
}

/// One man page: its file name (`termtape-ls.1`) and roff text.
#[derive(Debug, Clone)]
pub struct Page {
    /// The file name, `NAME.SECTION`.
    pub name: String,
    /// The page's roff source.
    pub text: String,
}

impl Page {
    /// The page's section: the part of its name after the last dot.
    pub fn section(&self) -> &str {
        self.name.rsplit('.').next().unwrap_or_default()
    }
}

/// Subcommands of `termtape` that only hand their arguments to another
/// program, and the page that documents them there. `termtape rec` is
/// `termtape-rec` (whose page has that name already); `users` and `keys`
/// are termtape-session's.
const HANDED_ON: &[(&str, &str)] = &[
    ("rec", "termtape-rec(1)"),
    ("users", "termtape-session(8)"),
    ("keys", "termtape-session(8)"),
    ("doctor", "termtape-session(8)"),
    ("config", "termtape-session(8)"),
];

/// Every man page: termtape(1), one per subcommand (termtape-ls(1) …),
/// termtape-rec(1), termtape-session(8) and termtape.toml(5).
pub fn pages() -> Result<Vec<Page>> {
    let mut pages = Vec::new();
    let mut termtape = termtape().disable_help_subcommand(true);
    termtape.build();
    let subcommands: Vec<String> = termtape
        .get_subcommands()
        .map(|s| format!("termtape-{}(1)", s.get_name()))
        .filter(|name| name != "termtape-rec(1)")
        .collect();
    let mut top_see_also = vec!["termtape-rec(1)".to_owned()];
    top_see_also.extend(subcommands);
    top_see_also.extend([
        "termtape-session(8)".to_owned(),
        "termtape.toml(5)".to_owned(),
    ]);
    pages.push(render(termtape.clone(), &top_see_also)?);
    generate_subcommands(&termtape, &mut pages)?;
    pages.push(render(
        termtape_rec(),
        &["termtape(1)", "termtape-session(8)", "termtape.toml(5)"].map(str::to_owned),
    )?);
    pages.push(Page {
        name: "termtape-session.8".to_owned(),
        text: SESSION_PAGE.to_owned(),
    });
    pages.push(Page {
        name: "termtape.toml.5".to_owned(),
        text: CONFIG_PAGE.to_owned(),
    });
    Ok(pages)
}

/// Pages for `parent`'s subcommands, and theirs (termtape-cockpit-install).
fn generate_subcommands(parent: &clap::Command, pages: &mut Vec<Page>) -> Result<()> {
    for sub in parent.get_subcommands().filter(|s| !s.is_hide_set()) {
        let handed_on = HANDED_ON
            .iter()
            .find(|(name, _)| *name == sub.get_name() && parent.get_name() == "termtape");
        if let Some(("rec", _)) = handed_on {
            continue;
        }
        let mut see_also = vec!["termtape(1)".to_owned()];
        if let Some((_, page)) = handed_on {
            see_also.push((*page).to_owned());
        }
        pages.push(render(sub.clone(), &see_also)?);
        generate_subcommands(sub, pages)?;
    }
    Ok(())
}

/// Renders `cmd`'s page with clap_mangen, and a SEE ALSO section.
fn render(cmd: clap::Command, see_also: &[String]) -> Result<Page> {
    let version = cmd
        .get_version()
        .map(str::to_owned)
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned());
    let man = clap_mangen::Man::new(cmd)
        .source(format!("termtape {version}"))
        .manual("termtape manual");
    let mut text = Vec::new();
    man.render(&mut text)?;
    let mut text = String::from_utf8(text).context("clap_mangen wrote something not UTF-8")?;
    text.push_str(".SH \"SEE ALSO\"\n");
    let refs: Vec<String> = see_also
        .iter()
        .map(|r| {
            let (name, section) = r.trim_end_matches(')').split_once('(').unwrap_or((r, ""));
            format!(".BR {name} ({section})")
        })
        .collect();
    // Comma-separated, as man-pages(7) asks.
    let last = refs.len().saturating_sub(1);
    for (i, r) in refs.iter().enumerate() {
        text.push_str(r);
        text.push_str(if i < last { ",\n" } else { "\n" });
    }
    Ok(Page {
        name: man.get_filename(),
        text,
    })
}

/// The shells completions are written for, and each one's file name for a
/// command `bin` under the package's completion directories.
pub const SHELLS: &[(clap_complete::Shell, &str)] = &[
    (clap_complete::Shell::Bash, "bash"),
    (clap_complete::Shell::Zsh, "zsh"),
    (clap_complete::Shell::Fish, "fish"),
];

/// Where a shell's completion for `bin` goes, relative to `/usr/share`.
pub fn completion_path(shell: clap_complete::Shell, bin: &str) -> PathBuf {
    match shell {
        clap_complete::Shell::Bash => Path::new("bash-completion/completions").join(bin),
        clap_complete::Shell::Zsh => Path::new("zsh/vendor-completions").join(format!("_{bin}")),
        clap_complete::Shell::Fish => {
            Path::new("fish/vendor_completions.d").join(format!("{bin}.fish"))
        }
        _ => Path::new(shell.to_string().as_str()).join(bin),
    }
}

/// The completion script of `cmd` (named `bin`) for `shell`.
pub fn completion(shell: clap_complete::Shell, mut cmd: clap::Command, bin: &str) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, bin, &mut out);
    out
}

/// Writes everything under `root` as it goes under `/usr/share`:
/// `man/manN/PAGE` and the completions' directories. Returns the files
/// written.
pub fn write_all(root: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut put = |rel: PathBuf, bytes: &[u8]| -> Result<()> {
        let path = root.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut f =
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
        Ok(())
    };
    for page in pages()? {
        let rel = Path::new("man")
            .join(format!("man{}", page.section()))
            .join(&page.name);
        put(rel, page.text.as_bytes())?;
    }
    for &(shell, _) in SHELLS {
        put(
            completion_path(shell, "termtape"),
            &completion(shell, termtape(), "termtape"),
        )?;
        put(
            completion_path(shell, "termtape-rec"),
            &completion(shell, termtape_rec(), "termtape-rec"),
        )?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::process::Command;

    use termtape_rec::config::{Config, FileConfig, Flags, WriterKind};

    use super::*;

    /// The backquoted names in a serde "unknown field `x`, expected one of
    /// `a`, `b`" message, after "expected".
    fn expected_fields(message: &str) -> Option<Vec<String>> {
        let (_, expected) = message.split_once("expected")?;
        Some(
            expected
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect(),
        )
    }

    /// Every key the configuration parser accepts, as `table.key` (top-level
    /// keys as `key`), found by asking the parser itself: an unknown key in
    /// a table is refused with the list of the table's keys.
    fn parser_keys() -> BTreeSet<String> {
        const PROBE: &str = "termtape_manual_probe";
        let path = Path::new("probe.toml");
        let refusal = |text: &str| match FileConfig::parse(text, path) {
            Err(termtape_rec::config::Error::Parse { message, .. }) => message,
            other => panic!("{text:?}: expected a refusal, got {other:?}"),
        };
        let top = refusal(&format!("{PROBE} = 1\n"));
        let top = expected_fields(&top).unwrap_or_else(|| panic!("no key list in {top:?}"));
        assert!(top.len() > 3, "too few top-level keys: {top:?}");
        let mut keys = BTreeSet::new();
        for key in top {
            let message = refusal(&format!("[{key}]\n{PROBE} = 1\n"));
            if message.contains("unknown field") {
                let fields = expected_fields(&message)
                    .unwrap_or_else(|| panic!("no key list in {message:?}"));
                keys.extend(fields.into_iter().map(|f| format!("{key}.{f}")));
            } else {
                // A scalar: a table in its place is a type error.
                keys.insert(key);
            }
        }
        keys
    }

    /// The keys termtape.toml(5) documents: `.B key` after `.TP`, under
    /// `.SS "[table]"` (or "Top level").
    fn documented_keys(page: &str) -> BTreeSet<String> {
        let mut keys = BTreeSet::new();
        let mut table = String::new();
        let mut after_tp = false;
        let mut in_description = false;
        for line in page.lines() {
            if let Some(heading) = line.strip_prefix(".SH ") {
                in_description = heading == "DESCRIPTION";
                table.clear();
            } else if let Some(heading) = line.strip_prefix(".SS ") {
                table = heading
                    .trim_matches('"')
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned();
                if table == "Top level" {
                    table.clear();
                }
            } else if let (true, true, Some(key)) =
                (in_description, after_tp, line.strip_prefix(".B "))
            {
                keys.insert(if table.is_empty() {
                    key.to_owned()
                } else {
                    format!("{table}.{key}")
                });
            }
            after_tp = line == ".TP";
        }
        keys
    }

    /// A setting commented out (`#key = value`; prose is `# text`).
    fn commented_setting(line: &str) -> Option<&str> {
        line.strip_prefix('#')
            .filter(|l| !l.starts_with([' ', '#']) && !l.is_empty())
    }

    /// The keys the default configuration file shows, commented out.
    fn commented_keys(config: &str) -> BTreeSet<String> {
        let mut keys = BTreeSet::new();
        let mut table = String::new();
        for line in config.lines() {
            if let Some(t) = line.strip_prefix('[') {
                table = t.trim_end_matches(']').to_owned();
            } else if let Some((key, _)) = commented_setting(line).and_then(|l| l.split_once(" = "))
            {
                keys.insert(if table.is_empty() {
                    key.to_owned()
                } else {
                    format!("{table}.{key}")
                });
            }
        }
        keys
    }

    #[test]
    fn every_key_the_parser_knows_is_documented_and_no_other() {
        let known = parser_keys();
        // Sanity: keys of several tables were found.
        for key in ["latency", "writer.kind", "log.input", "seal.key"] {
            assert!(known.contains(key), "{key} missing from {known:?}");
        }
        assert_eq!(documented_keys(CONFIG_PAGE), known, "termtape.toml(5)");
        assert_eq!(
            commented_keys(DEFAULT_CONFIG),
            known,
            "manual/termtape.toml"
        );
    }

    #[test]
    fn the_default_configuration_file_shows_the_real_defaults() {
        let path = Path::new("termtape.toml");
        // As installed, every key commented out: an empty configuration.
        assert_eq!(
            FileConfig::parse(DEFAULT_CONFIG, path).expect("the file as installed"),
            FileConfig::default()
        );
        // Uncommented, each value is the default: the same settings as
        // saying nothing, but for the two whose default depends on the
        // program (writer kind) or the locale (charset).
        let uncommented: String = DEFAULT_CONFIG
            .lines()
            .map(|l| commented_setting(l).unwrap_or(l))
            .map(|l| format!("{l}\n"))
            .collect();
        let all = FileConfig::parse(&uncommented, path).expect("the file uncommented");
        let mut minimal = FileConfig::default();
        minimal.writer.kind = Some(WriterKind::Journal);
        minimal.charset = Some("UTF-8".to_owned());
        let resolve = |file: &FileConfig| {
            Config::resolve(file, path, Flags::default(), None).expect("resolving")
        };
        assert_eq!(resolve(&all), resolve(&minimal));
        assert_eq!(
            all.session.notice.as_deref(),
            Some(termtape_rec::session::DEFAULT_NOTICE)
        );
        assert_eq!(
            all.session.shell.as_deref(),
            Some(Path::new(termtape_rec::session::DEFAULT_SHELL))
        );
    }

    #[test]
    fn a_page_for_the_command_each_subcommand_and_each_program() {
        let names: BTreeSet<String> = pages()
            .expect("pages")
            .into_iter()
            .map(|p| p.name)
            .collect();
        let mut expected: BTreeSet<String> = [
            "termtape.1",
            "termtape-rec.1",
            "termtape-session.8",
            "termtape.toml.5",
            "termtape-cockpit-install.1",
        ]
        .map(str::to_owned)
        .into();
        for sub in termtape().get_subcommands() {
            if sub.get_name() != "rec" {
                expected.insert(format!("termtape-{}.1", sub.get_name()));
            }
        }
        assert_eq!(names, expected);
    }

    #[test]
    fn the_ls_page_says_what_ls_help_says() {
        let page = pages()
            .expect("pages")
            .into_iter()
            .find(|p| p.name == "termtape-ls.1")
            .expect("termtape-ls.1");
        let mut help = Vec::new();
        let mut ls = termtape();
        ls.build();
        ls.find_subcommand_mut("ls")
            .expect("ls")
            .write_long_help(&mut help)
            .expect("help");
        let help = String::from_utf8(help).expect("UTF-8");
        for arg in termtape()
            .find_subcommand("ls")
            .expect("ls")
            .get_arguments()
        {
            if let Some(long) = arg.get_long() {
                assert!(help.contains(&format!("--{long}")), "--{long} in --help");
                assert!(
                    page.text
                        .contains(&format!("\\-\\-{}", long.replace('-', "\\-"))),
                    "--{long} in termtape-ls.1"
                );
            }
        }
    }

    #[test]
    fn every_page_renders_without_warnings() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let written = write_all(dir.path()).expect("writing the manual");
        let pages: Vec<&PathBuf> = written
            .iter()
            .filter(|p| p.starts_with(dir.path().join("man")))
            .collect();
        assert!(pages.len() > 15, "{pages:?}");
        for page in pages {
            let out = Command::new("man")
                .args(["--warnings", "-l"])
                .arg(page)
                .env("MANWIDTH", "80")
                .env("LC_ALL", "C.UTF-8")
                .env("MANPAGER", "cat")
                .output()
                .expect("running man");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && stderr.is_empty(),
                "{}: {}",
                page.display(),
                stderr
            );
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("NAME"), "{}: {text}", page.display());
            assert!(text.contains("SEE ALSO"), "{}: {text}", page.display());
        }
    }

    #[test]
    fn bash_loads_the_completions() {
        let dir = tempfile::tempdir().expect("temporary directory");
        write_all(dir.path()).expect("writing the manual");
        for bin in ["termtape", "termtape-rec"] {
            let script = dir
                .path()
                .join(completion_path(clap_complete::Shell::Bash, bin));
            let out = Command::new("bash")
                .arg("--norc")
                .arg("-c")
                .arg(format!(
                    "source \"$1\" && complete -p {bin} && _{} {bin} '' {bin} && echo ok",
                    bin.replace('-', "__")
                ))
                .arg("bash")
                .arg(&script)
                .output()
                .expect("running bash");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && stdout.contains(&format!(" {bin}\n")),
                "{bin}: {stdout} {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
