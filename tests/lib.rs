//! Helpers for termtape's end-to-end tests: the corpus, the built binaries,
//! real peers (tlog, journald) and pseudo-terminals to run them on.

use std::path::{Path, PathBuf};

use termtape_format::{Location, Message};

#[path = "lib/browser.rs"]
pub mod browser;

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

/// A built binary of the workspace (`termtape`, `termtape-rec`), building
/// the workspace's binaries once if they are not there yet.
pub fn bin(name: &str) -> PathBuf {
    static BUILD: std::sync::Once = std::sync::Once::new();
    // target/<profile>/deps/e2e-… → target/<profile>/
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory")
        .to_path_buf();
    let path = dir.join(name);
    // Always asked (a no-op when up to date), so a test never runs a stale
    // binary after `cargo test -p termtape-tests`.
    BUILD.call_once(|| {
        let profile = dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
        let mut cmd = std::process::Command::new(env!("CARGO"));
        cmd.args([
            "build",
            "--quiet",
            "--bins",
            "-p",
            "termtape-rec",
            "-p",
            "termtape-player",
        ]);
        if profile == "release" {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("running cargo build");
        assert!(status.success(), "building the binaries failed");
    });
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// Whether a program is on PATH (tests of real peers need them; CI installs
/// them through scripts/setup).
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
}

/// Fails loudly if a peer is missing: tests never pass by skipping.
pub fn require(program: &str) {
    assert!(
        have(program),
        "{program} is not installed: run scripts/setup (as root) first"
    );
}

/// Runs the real tlog-play on a file of messages with a pseudo-terminal as
/// its standard input (without one it spins) and returns what it wrote,
/// without the terminal reset it appends at the end.
pub fn tlog_play(log: &Path, extra: &[&str]) -> (Vec<u8>, std::process::ExitStatus, String) {
    require("tlog-play");
    let pty = pty::Pair::open();
    let out = std::process::Command::new("tlog-play")
        .arg("-i")
        .arg(log)
        .args(["--speed", "1000"])
        .args(extra)
        .stdin(pty.slave())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("running tlog-play");
    let mut bytes = out.stdout;
    for trailer in [&b"\x1b[0m\x1b[?25h\n\0"[..], b"\x1b[0m\x1b[?25h\n"] {
        if bytes.ends_with(trailer) {
            bytes.truncate(bytes.len() - trailer.len());
            break;
        }
    }
    (
        bytes,
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs a command, asserting success, and returns its standard output.
pub fn run_ok(cmd: &mut std::process::Command) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Pseudo-terminal pairs for peers that insist on a terminal.
pub mod pty {
    use std::os::fd::{FromRawFd, OwnedFd};

    /// Both ends of a pseudo-terminal.
    pub struct Pair {
        /// The controlling side.
        pub master: OwnedFd,
        slave: OwnedFd,
    }

    /// What a terminal showed, read by a thread of its own.
    pub struct Reader {
        rx: std::sync::mpsc::Receiver<Vec<u8>>,
        /// Everything read so far.
        pub seen: Vec<u8>,
    }

    impl Reader {
        /// Reads until `done` holds for everything read so far, the other
        /// side closes, or `limit` passes; returns everything read so far.
        pub fn until(
            &mut self,
            limit: std::time::Duration,
            mut done: impl FnMut(&[u8]) -> bool,
        ) -> &[u8] {
            let deadline = std::time::Instant::now() + limit;
            while !done(&self.seen) {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                match self.rx.recv_timeout(left) {
                    Ok(bytes) => self.seen.extend_from_slice(&bytes),
                    Err(_) => break,
                }
            }
            &self.seen
        }
    }

    impl Pair {
        /// Opens a new pair.
        #[allow(unsafe_code, reason = "openpty has no safe wrapper in std")]
        pub fn open() -> Pair {
            let (mut master, mut slave) = (-1, -1);
            // SAFETY: both out-pointers refer to live locals; name, termios
            // and window size may be null.
            let rc = unsafe {
                libc::openpty(
                    &mut master,
                    &mut slave,
                    std::ptr::null_mut(),
                    std::ptr::null(),
                    std::ptr::null(),
                )
            };
            assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
            // SAFETY: openpty succeeded, so both are open descriptors we own.
            unsafe {
                Pair {
                    master: OwnedFd::from_raw_fd(master),
                    slave: OwnedFd::from_raw_fd(slave),
                }
            }
        }

        /// A new handle on the terminal side, for a child's stdio.
        pub fn slave(&self) -> std::process::Stdio {
            std::process::Stdio::from(self.slave.try_clone().expect("dup"))
        }

        /// The terminal side's path, e.g. `/dev/pts/3`.
        pub fn slave_path(&self) -> std::path::PathBuf {
            use std::os::fd::AsRawFd;
            std::fs::read_link(format!("/proc/self/fd/{}", self.slave.as_raw_fd()))
                .expect("the slave's path")
        }

        /// A reader of everything the terminal shows, from now on.
        pub fn reader(&self) -> Reader {
            use std::io::Read;
            let mut master = std::fs::File::from(self.master.try_clone().expect("dup master"));
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    // A hangup of the terminal side (login and the session
                    // do one) makes reads fail until it is opened again:
                    // retry until the reader is gone.
                    let bytes = match master.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => buf[..n].to_vec(),
                        Err(_) => {
                            std::thread::sleep(std::time::Duration::from_millis(10));
                            Vec::new()
                        }
                    };
                    if tx.send(bytes).is_err() {
                        break;
                    }
                }
            });
            Reader {
                rx,
                seen: Vec::new(),
            }
        }
    }
}

/// Shell lines for a private mount namespace (as root) after which a
/// systemd-journald started there leaves the kernel's auditing as it is:
/// journald's `Audit=` defaults to turning it off at every start, and the
/// audit tests, running beside tests that start journalds of their own,
/// need it on. A tmpfs over the drop-in directory, with `Audit=` unset;
/// other drop-ins may be added after these lines.
pub const JOURNALD_LEAVES_AUDIT: &str = "\
mkdir -p /etc/systemd/journald.conf.d && mount -t tmpfs tmpfs /etc/systemd/journald.conf.d
printf '[Journal]\\nAudit=\\n' >/etc/systemd/journald.conf.d/00-audit.conf
";

/// Makes sure a systemd-journald runs: the machine's own if there is one,
/// else a standalone one started here (as a container without systemd
/// needs) and stopped by its PID when the test process exits.
pub fn journald() {
    static START: std::sync::Once = std::sync::Once::new();
    START.call_once(|| {
        let socket = Path::new("/run/systemd/journal/socket");
        if socket.exists() && journal_sync() {
            return;
        }
        std::fs::create_dir_all("/run/systemd/journal")
            .expect("creating /run/systemd/journal (tests run as root)");
        // Left running for the other tests of this process; stop_at_exit
        // ends it by its PID when the process exits.
        #[allow(
            clippy::zombie_processes,
            reason = "journald outlives every test; it is killed at exit"
        )]
        let child = std::process::Command::new("/lib/systemd/systemd-journald")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting /lib/systemd/systemd-journald");
        stop_at_exit(child.id());
        for _ in 0..200 {
            if socket.exists() && journal_sync() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("systemd-journald did not come up");
    });
}

/// Asks journald to write out everything it received (`journalctl --sync`).
pub fn journal_sync() -> bool {
    std::process::Command::new("journalctl")
        .arg("--sync")
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The id of the recording that the recorder with process id `pid`, still
/// running, writes to the journal: waits (20 s at most) for its entry whose
/// message shows `marker`. Pids are reused (pid_max is 32768 and a test run
/// starts many processes), so the first entry stamped with `pid` may be an
/// older process's; the marker, unique to the test, says which is ours.
pub fn running_recording(pid: u32, marker: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        assert!(journal_sync());
        let json = run_ok(std::process::Command::new("journalctl").args([
            "-o",
            "json",
            &format!("_PID={pid}"),
        ]));
        let found = String::from_utf8_lossy(&json).lines().find_map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line).expect("journalctl json");
            let shows = entry["MESSAGE"]
                .as_str()
                .is_some_and(|m| m.contains(marker));
            shows
                .then(|| entry["TLOG_REC"].as_str().map(str::to_owned))
                .flatten()
        });
        if let Some(rec) = found {
            return rec;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no entry of process {pid} showing {marker:?} in the journal"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

static JOURNALD_PID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn stop_journald() {
    let pid = JOURNALD_PID.load(std::sync::atomic::Ordering::SeqCst);
    if pid > 0 {
        // kill(1) rather than libc::kill keeps this free of unsafe code.
        let _ = std::process::Command::new("kill")
            .arg(pid.to_string())
            .status();
    }
}

#[allow(unsafe_code, reason = "atexit registers the journald cleanup")]
fn stop_at_exit(pid: u32) {
    JOURNALD_PID.store(pid as i32, std::sync::atomic::Ordering::SeqCst);
    // SAFETY: stop_journald is an extern "C" fn without arguments that only
    // reads an atomic and runs kill(1).
    unsafe {
        libc::atexit(stop_journald);
    }
}

/// Asserts two byte strings are equal; on failure shows where they first
/// differ, with a little context, rather than both in full.
#[track_caller]
pub fn assert_bytes_eq(got: &[u8], want: &[u8], what: &str) {
    if got == want {
        return;
    }
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let show = |b: &[u8]| {
        let from = at.saturating_sub(20);
        String::from_utf8_lossy(&b[from.min(b.len())..(at + 40).min(b.len())])
            .escape_debug()
            .to_string()
    };
    panic!(
        "{what}: {} bytes, expected {}; first difference at byte {at}:\n  got:  {}\n  want: {}",
        got.len(),
        want.len(),
        show(got),
        show(want)
    );
}

/// Runs the real tlog-play on recording `rec` in the journal, with a
/// pseudo-terminal as its standard input.
pub fn tlog_play_journal(rec: &str) -> std::process::Output {
    require("tlog-play");
    let pty = pty::Pair::open();
    std::process::Command::new("tlog-play")
        .args(["-r", "journal", "-M", &format!("TLOG_REC={rec}")])
        .stdin(pty.slave())
        .output()
        .expect("running tlog-play")
}

/// What a PTY in its default mode shows for `bytes`: each newline becomes
/// CR LF (ONLCR); nothing else changes.
pub fn through_pty(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8);
    for &b in bytes {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// `termtape ls ARGS`: its table, or nothing when no recording matches
/// (which `ls` tells with exit status 1); any other failure panics.
pub fn listing(args: &[&str]) -> String {
    let out = std::process::Command::new(bin("termtape"))
        .arg("ls")
        .args(args)
        .output()
        .expect("running termtape ls");
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => String::from_utf8_lossy(&out.stdout).into_owned(),
        Some(1) if stderr.contains("no recording matches") => String::new(),
        _ => panic!("termtape ls {args:?}: {:?}: {stderr}", out.status),
    }
}

/// The built web front end (`web/dist/` at the workspace root), which the
/// player embeds; fails loudly if it is missing (CI runs scripts/web-build
/// before cargo).
pub fn web_dist() -> PathBuf {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist");
    assert!(
        dist.join("serve.html").is_file(),
        "{} has no serve.html: run scripts/web-build first",
        dist.display()
    );
    dist
}

/// Starts `termtape rec -w journal --latency 0.2 -- sh -c SCRIPT`: a live
/// recording in the journal, its entries written within 0.2 s; the caller
/// stops it by its PID.
pub fn live_journal_recorder(script: &str) -> std::process::Child {
    journald();
    std::process::Command::new(bin("termtape"))
        .args(["rec", "-w", "journal", "--latency", "0.2", "--", "sh", "-c"])
        .arg(script)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("starting termtape rec -w journal")
}

/// Output that fills `cells` cells of the screen, each in its own colours:
/// a keyframe of about 16 bytes per cell.
pub fn colourful(cells: usize) -> Vec<u8> {
    let mut out = Vec::new();
    // Drawn three times: keyframes are paid for by output (two bytes of
    // output for each byte of keyframe).
    for i in 0..3 * cells {
        if i % cells == 0 {
            out.extend_from_slice(b"\x1b[H");
        }
        out.extend_from_slice(
            format!(
                "\x1b[38;5;{};48;5;{}m{}",
                i % 256,
                (i / 256) % 256,
                char::from(b'A' + (i % 26) as u8)
            )
            .as_bytes(),
        );
    }
    out.extend_from_slice(b"\x1b[0m\r\ncolourful-done\n");
    out
}
