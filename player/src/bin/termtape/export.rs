//! `termtape export` and `termtape import`.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use termtape_player::export::{self, Cut, Sink};
use termtape_player::import::{self, Identity};
use termtape_player::seek::At;
use termtape_player::source;

use crate::cli::{Common, ExportFormat, ImportFormat, Status};
use crate::{damage_note, damage_status, damage_total, note, query};

/// Sources larger than this show progress on a terminal.
const PROGRESS_FROM: u64 = 16 << 20;

/// A progress line on stderr, when it is a terminal and the work is long.
struct Progress {
    shown: bool,
    what: &'static str,
}

impl Progress {
    fn new(what: &'static str, size: Option<u64>) -> Progress {
        Progress {
            shown: io::stderr().is_terminal() && size.is_some_and(|s| s > PROGRESS_FROM),
            what,
        }
    }

    fn tell(&self, text: std::fmt::Arguments<'_>) {
        if self.shown {
            eprint!("\r\x1b[Ktermtape {}: {text}", self.what);
        }
    }

    fn done(&self) {
        if self.shown {
            eprintln!();
        }
    }
}

/// Creates `path` for writing, as private as `mode` (a recording's copy is
/// as private as the recording).
fn create(path: &Path, mode: u32) -> Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the permissions of {}", path.display()))?;
    Ok(file)
}

/// The mode for copies of `meta`'s file (0600 for what is not a file).
fn mode_of(meta: Option<std::fs::Metadata>) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.map_or(0o600, |m| m.permissions().mode() & 0o666)
}

type Writer = Box<dyn Write>;

fn writer(output: Option<&Path>, mode: u32) -> Result<Writer> {
    Ok(match output {
        None => Box::new(io::BufWriter::with_capacity(
            256 * 1024,
            io::stdout().lock(),
        )),
        Some(path) => Box::new(io::BufWriter::with_capacity(
            256 * 1024,
            create(path, mode)?,
        )),
    })
}

/// `path` with `suffix` added to its name.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// `termtape export`.
pub(crate) fn export(
    format: ExportFormat,
    from: Option<At>,
    to: Option<At>,
    output: Option<&Path>,
    common: &Common,
) -> Result<Status> {
    let source = source::parse(&common.source);
    let query = query(common, false);
    let meta = source.metadata();
    let progress = Progress::new("export", meta.as_ref().map(std::fs::Metadata::len));
    let mode = mode_of(meta);
    let mut damaged = 0u64;
    let mut on_damage = |e: &termtape_format::Error| {
        damaged += 1;
        damage_note(damaged, e, "passed over");
    };
    let cut = Cut { from, to };
    let whole = matches!(from, None | Some(At::Ms(0))) && to.is_none();
    if format == ExportFormat::Tlog && whole {
        let mut out = writer(output, mode)?;
        let copied = export::tlog::copy(&*source, &query, &mut out, &mut on_damage, &mut |read| {
            progress.tell(format_args!("{} MB read", read >> 20))
        })?;
        progress.done();
        note(format_args!(
            "{} message(s) copied ({} chained, byte for byte), {} keyframe(s) added",
            copied.messages, copied.chained, copied.keyframes
        ));
        damage_total(damaged, "passed over");
        return Ok(damage_status(damaged, common.lax.lax, Status::Done));
    }
    let mut sink: Box<dyn Sink> = match format {
        ExportFormat::AsciicastV2 | ExportFormat::AsciicastV3 => {
            let version = match format {
                ExportFormat::AsciicastV2 => export::asciicast::Version::V2,
                _ => export::asciicast::Version::V3,
            };
            Box::new(export::asciicast::Asciicast::new(
                writer(output, mode)?,
                version,
            ))
        }
        ExportFormat::Txt => Box::new(export::txt::Txt::new(writer(output, mode)?)),
        ExportFormat::Ttyrec => Box::new(export::bytes::Ttyrec::new(writer(output, mode)?)),
        ExportFormat::Tlog => Box::new(import::Tlog::new(writer(output, mode)?, "the export")),
        ExportFormat::Script => {
            let Some(out) = output else {
                bail!("--format script writes three files: give -o OUT (OUT.timing, OUT.input)");
            };
            let input = beside(out, ".input");
            Box::new(export::bytes::Script::new(
                writer(Some(out), mode)?,
                writer(Some(&beside(out, ".timing")), mode)?,
                Box::new(move || {
                    create(&input, mode)
                        .map(|f| Box::new(io::BufWriter::new(f)) as Writer)
                        .map_err(io::Error::other)
                }),
            ))
        }
        ExportFormat::Segmented => {
            let Some(dir) = output else {
                bail!("--format segmented writes a directory: give -o DIR");
            };
            std::fs::create_dir_all(dir).with_context(|| format!("making {}", dir.display()))?;
            Box::new(export::segmented::Segmented::new(dir.to_owned()))
        }
    };
    export::export(
        &*source,
        &query,
        cut,
        &mut *sink,
        &mut on_damage,
        &mut |messages| progress.tell(format_args!("{messages} messages")),
    )?;
    progress.done();
    damage_total(damaged, "passed over");
    Ok(damage_status(damaged, common.lax.lax, Status::Done))
}

/// `termtape import`'s options.
pub(crate) struct Import {
    pub(crate) format: Option<ImportFormat>,
    pub(crate) timing: Option<PathBuf>,
    pub(crate) input_log: Option<PathBuf>,
    pub(crate) user: String,
    pub(crate) host: String,
    pub(crate) input: String,
    pub(crate) output: String,
}

/// `termtape import`.
pub(crate) fn import(options: Import) -> Result<Status> {
    let name = options.input.clone();
    let (mut input, meta): (Box<dyn BufRead>, _) = if name == "-" {
        (Box::new(io::BufReader::new(io::stdin())), None)
    } else {
        let file = std::fs::File::open(&name).with_context(|| format!("opening {name}"))?;
        let meta = file.metadata().ok();
        (
            Box::new(io::BufReader::with_capacity(256 * 1024, file)),
            meta,
        )
    };
    let progress = Progress::new("import", meta.as_ref().map(std::fs::Metadata::len));
    let mode = mode_of(meta);
    let format = match options.format {
        Some(ImportFormat::Asciicast) => import::Format::Asciicast,
        Some(ImportFormat::Ttyrec) => import::Format::Ttyrec,
        Some(ImportFormat::Script) => import::Format::Script,
        None => import::detect(&mut input, &name)?,
    };
    let found = |path: PathBuf| path.exists().then_some(path);
    let logs = import::script::Logs {
        timing: options
            .timing
            .or_else(|| found(beside(Path::new(&name), ".timing"))),
        input: options
            .input_log
            .or_else(|| found(beside(Path::new(&name), ".input"))),
    };
    let identity = Identity {
        rec: new_rec_id(),
        user: options.user,
        host: options.host,
    };
    let out: Writer = if options.output == "-" {
        writer(None, mode)?
    } else {
        if Path::new(&options.output) == Path::new(&name) {
            bail!(
                "{} is the input: write the recording to another file",
                options.output
            );
        }
        writer(Some(Path::new(&options.output)), mode)?
    };
    let mut sink = import::Tlog::new(out, &options.output);
    import::import(
        format,
        &mut input,
        &name,
        &logs,
        &identity,
        &mut sink,
        &mut |read| progress.tell(format_args!("{} MB read", read >> 20)),
    )
    .with_context(|| format!("importing {name}"))?;
    progress.done();
    note(format_args!(
        "{name}: recording {} written to {}, {} message(s)",
        identity.rec,
        options.output,
        sink.messages()
    ));
    Ok(Status::Done)
}

/// A new recording id: the time and this process, as the recorder's ids
/// are unique per host.
fn new_rec_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "import-{:x}-{:x}-{:x}",
        now.as_secs(),
        now.subsec_nanos(),
        std::process::id()
    )
}
