//! Stopping the recorder with SIGTERM or SIGHUP in the middle of heavy
//! output: the recorder process must finish the capture, hang up the
//! command's session and exit with 128+signal, and the capture must hold
//! everything the user was shown.
//!
//! The recorder has to be a process of its own to be signalled, so this
//! test binary (harness = false) re-executes itself with `helper DIR` to be
//! one: it relays a busy shell loop, capturing into files in DIR.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use termtape_rec::Capture;
use termtape_rec::pty::WindowSize;
use termtape_rec::relay::{self, Settings};

/// The command under the recorder: endless output, and a trap that leaves
/// proof of the hangup in the file named by its first argument.
const BUSY: &str = r#"trap 'echo hup > "$0"; exit 0' HUP; while :; do echo 0123456789abcdefghijklmnopqrstuvwxyz; done"#;

/// Captures output to `DIR/captured` and notes `finish` in `DIR/finished`.
struct FileCapture {
    dir: PathBuf,
    captured: File,
}

impl Capture for FileCapture {
    fn window(&mut self, _: Duration, _: u16, _: u16) -> io::Result<()> {
        Ok(())
    }
    fn input(&mut self, _: Duration, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn output(&mut self, _: Duration, bytes: &[u8]) -> io::Result<()> {
        self.captured.write_all(bytes)
    }
    fn deadline(&self) -> Option<Duration> {
        None
    }
    fn tick(&mut self, _: Duration) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, _: Duration) -> io::Result<()> {
        self.captured.sync_all()?;
        File::create(self.dir.join("finished")).map(drop)
    }
}

/// The recorder process.
fn helper(dir: &Path) -> i32 {
    let captured = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("captured"))
        .expect("capture file");
    let mut capture = FileCapture {
        dir: dir.to_owned(),
        captured,
    };
    let marker = dir.join("hangup");
    let settings = Settings {
        command: vec![
            "sh".into(),
            "-c".into(),
            BUSY.into(),
            marker.into_os_string(),
        ],
        size: WindowSize::default(),
        argv0: None,
        run_as: None,
        utmp: None,
    };
    let (stdin, stdout) = (io::stdin(), io::stdout());
    match relay::run(&settings, stdin.as_fd(), stdout.as_fd(), &mut capture) {
        Ok(exit) => exit.code(),
        Err(e) => {
            eprintln!("helper: {e}");
            1
        }
    }
}

/// Runs a recorder, lets at least a megabyte through, sends it `signal`.
fn stop_mid_output(signal: libc::c_int) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut recorder = Command::new(std::env::current_exe().expect("own path"))
        .arg("helper")
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the recorder");
    let mut stdout = recorder.stdout.take().expect("piped stdout");
    let mut shown = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    while shown.len() < 1 << 20 {
        let n = stdout.read(&mut buf).expect("read the recorder's output");
        assert!(n > 0, "the recorder ended early");
        shown.extend_from_slice(&buf[..n]);
    }
    // kill(1): unsafe code is kept to `termtape_rec::pty`. The recorder is
    // our unreaped child, so its pid cannot have been reused.
    let sent = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(recorder.id().to_string())
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill failed");
    stdout.read_to_end(&mut shown).expect("read the rest");
    let status = recorder.wait().expect("wait for the recorder");
    assert_eq!(
        status.code(),
        Some(128 + signal),
        "recorder status {status:?}"
    );

    let captured = std::fs::read(dir.path().join("captured")).expect("captured output");
    assert!(
        dir.path().join("finished").exists(),
        "finish was not called"
    );
    assert!(
        captured.starts_with(&shown),
        "the user saw {} bytes the capture does not hold",
        shown.len()
    );

    // The command reacts to SIGHUP in its own time; wait for its proof.
    let marker = dir.path().join("hangup");
    let give_up = Instant::now() + Duration::from_secs(30);
    while !marker.exists() && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(10));
    }
    let proof = std::fs::read_to_string(&marker).expect("the command got no SIGHUP");
    assert_eq!(proof, "hup\n");
}

/// Each stop signal, and the test that sends it.
const CASES: [(&str, libc::c_int); 4] = [
    ("sigterm_mid_output", libc::SIGTERM),
    ("sighup_mid_output", libc::SIGHUP),
    ("sigint_mid_output", libc::SIGINT),
    ("sigquit_mid_output", libc::SIGQUIT),
];

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "helper") {
        let dir = PathBuf::from(args.get(2).expect("helper DIR"));
        std::process::exit(helper(&dir));
    }
    // libtest flags (--list, --format, filters) do not apply here; `--list`
    // must still answer so tools that enumerate tests work.
    if args.iter().any(|a| a == "--list") {
        for (name, _) in CASES {
            println!("{name}: test");
        }
        return;
    }
    for (name, signal) in CASES {
        print!("test {name} ... ");
        stop_mid_output(signal);
        println!("ok");
    }
}
