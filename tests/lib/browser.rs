//! Real browsers and web servers for the web front end's end-to-end tests:
//! Debian's headless Chromium (driven by `web/test/driver.mjs` through
//! playwright-core over CDP), Cockpit's own web service with termtape's
//! package, and `termtape serve`. Each runs in its own process group and
//! is stopped by its PID when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{bin, require};

/// How long a browser, Cockpit or a scenario may take to come up or finish
/// before the test fails (generous: the machine is shared and noisy).
const START: Duration = Duration::from_secs(30);

/// Stops a child started in its own process group: SIGTERM to the group
/// (a browser's renderers and a cockpit-ws's bridge go with it), then
/// SIGKILL if it has not ended within 5 s, and waits for it.
#[allow(unsafe_code, reason = "kill(2) on a process group has no std wrapper")]
fn stop_group(child: &mut Child) {
    let group = -(child.id() as libc::pid_t);
    // SAFETY: kill only sends a signal; the group id is the child's own pid
    // (process_group(0)), which stays reserved until we wait for it.
    unsafe { libc::kill(group, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            // The leader is gone; its group may still hold children that
            // ignore SIGTERM for a moment.
            // SAFETY: as above; the group id is not reused while any of its
            // members lives, and signalling an empty group only fails.
            unsafe { libc::kill(group, libc::SIGKILL) };
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: as above.
    unsafe { libc::kill(group, libc::SIGKILL) };
    let _ = child.wait();
}

/// Components shared by a module's tests (kept until the test process
/// exits, when libtest has no more tests to run): their process groups and
/// directories, ended and removed by an atexit handler.
static KEPT: std::sync::Mutex<Vec<(libc::pid_t, Option<PathBuf>)>> =
    std::sync::Mutex::new(Vec::new());

#[allow(
    unsafe_code,
    reason = "kill(2), waitpid(2) and atexit(3) have no std wrapper"
)]
extern "C" fn end_kept() {
    let kept = std::mem::take(&mut *KEPT.lock().unwrap_or_else(|e| e.into_inner()));
    for (pid, dir) in kept.into_iter().rev() {
        if pid > 0 {
            // SAFETY: signals the group of a child of ours, never waited
            // for before (its Child was dropped unwaited), so the ids are
            // still ours; then reaps it. A null status pointer is allowed.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
        if let Some(dir) = dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Ends the process group `child` leads, and removes `dir`, when the test
/// process exits.
#[allow(unsafe_code, reason = "atexit(3) registers the cleanup")]
fn keep_until_exit(child: Child, dir: Option<PathBuf>) {
    static REGISTER: std::sync::Once = std::sync::Once::new();
    REGISTER.call_once(|| {
        // SAFETY: end_kept is an extern "C" fn without arguments.
        unsafe { libc::atexit(end_kept) };
    });
    KEPT.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((child.id() as libc::pid_t, dir));
    // Dropping a Child neither kills nor waits: end_kept does both.
    drop(child);
}

/// A temporary directory kept until the test process exits, for data
/// shared by a module's tests.
pub fn dir_until_exit() -> PathBuf {
    let dir = tempfile::tempdir().expect("tempdir").keep();
    KEPT.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((0, Some(dir.clone())));
    dir
}

/// The last `n` bytes of a log file, for failure messages.
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    String::from_utf8_lossy(&text[text.len().saturating_sub(n)..]).into_owned()
}

/// A headless Debian Chromium with a fresh profile, listening for CDP on a
/// loopback port it chose itself.
pub struct Chromium {
    child: Option<Child>,
    port: u16,
    /// Holds the profile and the browser's log; removed after the browser.
    dir: tempfile::TempDir,
}

impl Chromium {
    /// Starts the browser and waits (30 s at most) for the port it writes
    /// to `DevToolsActivePort` in its profile.
    pub fn start() -> Chromium {
        Chromium::start_with(&[])
    }

    /// [`Chromium::start`] with more command-line switches (a host
    /// resolver rule, the one certificate key a test trusts).
    pub fn start_with(switches: &[String]) -> Chromium {
        require("chromium");
        let dir = tempfile::tempdir().expect("tempdir for the browser");
        let profile = dir.path().join("profile");
        let log = std::fs::File::create(dir.path().join("chromium.log")).expect("browser log");
        let mut child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
                "--no-first-run",
                "--no-default-browser-check",
                "--window-size=1280,900",
                "--force-device-scale-factor=1",
                "--hide-scrollbars",
                "--lang=en-US",
                "--mute-audio",
                "--disable-extensions",
                "--disable-sync",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-default-apps",
                "--disable-background-timer-throttling",
                "--disable-renderer-backgrounding",
                "--disable-backgrounding-occluded-windows",
                "--password-store=basic",
                "--use-mock-keychain",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(switches)
            .arg("about:blank")
            // Times on the pages are local: the tests type and read UTC.
            .env("TZ", "UTC")
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("starting chromium");
        let active = profile.join("DevToolsActivePort");
        let deadline = Instant::now() + START;
        let port = loop {
            let first = std::fs::read_to_string(&active)
                .ok()
                .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u16>().ok()));
            if let Some(port) = first {
                break port;
            }
            let exited = child.try_wait().expect("polling chromium");
            if exited.is_some() || Instant::now() > deadline {
                stop_group(&mut child);
                panic!(
                    "chromium gave no DevToolsActivePort ({exited:?}); its log ends:\n{}",
                    tail(&dir.path().join("chromium.log"), 2000)
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        };
        Chromium {
            child: Some(child),
            port,
            dir,
        }
    }

    /// Keeps the browser for the other tests of this process: it is
    /// stopped, and its profile removed, when the process exits.
    pub fn until_exit(mut self) -> &'static Chromium {
        keep_until_exit(
            self.child.take().expect("running"),
            Some(self.dir.path().to_owned()),
        );
        Box::leak(Box::new(self))
    }

    /// The endpoint playwright's `connectOverCDP` takes.
    pub fn cdp_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The browser's own log (stdout and stderr), for failure messages.
    pub fn log_tail(&self) -> String {
        tail(&self.dir.path().join("chromium.log"), 3000)
    }

    /// Runs the scenario `name` of `web/test/driver.mjs` in this browser
    /// with `args` (the CDP endpoint is added) and returns the JSON object
    /// it prints; panics with its message when it fails or overruns
    /// `args.deadline_ms` plus 10 s.
    pub fn drive(&self, name: &str, mut args: Value) -> Value {
        args["cdp"] = Value::from(self.cdp_url());
        let limit = Duration::from_millis(args["deadline_ms"].as_u64().unwrap_or(60_000))
            + Duration::from_secs(10);
        let web = web_dir();
        assert!(
            web.join("node_modules/playwright-core").is_dir(),
            "{} has no node_modules/playwright-core: run scripts/web-build",
            web.display()
        );
        require("node");
        let mut child = Command::new("node")
            .arg(web.join("test/driver.mjs"))
            .arg(name)
            .arg(args.to_string())
            .current_dir(&web)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("starting node web/test/driver.mjs");
        let out = drain(child.stdout.take().expect("stdout"));
        let err = drain(child.stderr.take().expect("stderr"));
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = child.try_wait().expect("polling the driver") {
                break status;
            }
            if Instant::now() > deadline {
                stop_group(&mut child);
                panic!(
                    "driver scenario {name} overran {limit:?}; it wrote: {}",
                    String::from_utf8_lossy(&err.join().unwrap_or_default())
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = out.join().unwrap_or_default();
        let err = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
        assert!(
            status.success(),
            "driver scenario {name} failed ({status}): {err}\nstdout: {}",
            String::from_utf8_lossy(&out)
        );
        serde_json::from_slice(&out).unwrap_or_else(|e| {
            panic!(
                "driver scenario {name} printed no JSON ({e}): {}\nstderr: {err}",
                String::from_utf8_lossy(&out)
            )
        })
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            stop_group(child);
        }
    }
}

/// Reads a pipe to its end on a thread of its own.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// The repository's `web/` directory (the npm package of the front end).
pub fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .join("web")
}

/// A free loopback port, as the system hands one out. Another process may
/// take it before the caller binds it; callers retry.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `GET path` on a loopback port with nothing but a Host header: the
/// status, or None when nothing answers yet.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    line.split(' ').nth(1)?.parse().ok()
}

/// Cockpit's web service with a session of its own bridge (no login, no
/// systemd), serving termtape's package from a temporary data directory so
/// nothing is installed system-wide.
pub struct Cockpit {
    child: Option<Child>,
    port: u16,
    data: tempfile::TempDir,
}

/// The cockpit-ws of Debian's cockpit-ws package.
const COCKPIT_WS: &str = "/usr/lib/cockpit/cockpit-ws";

impl Cockpit {
    /// Starts `cockpit-ws --local-session=cockpit-bridge` on a free
    /// loopback port with termtape's package installed by the binary under
    /// test (`termtape cockpit install --dir`, so the page is the one the
    /// binary embeds) in a data directory of its own, and the directory of
    /// the termtape binary first on the bridge's PATH; waits until the
    /// package's page answers.
    pub fn start() -> Cockpit {
        assert!(
            Path::new(COCKPIT_WS).is_file(),
            "{COCKPIT_WS} is missing: run scripts/setup (as root) first"
        );
        require("cockpit-bridge");
        let data = tempfile::tempdir().expect("tempdir for cockpit's data");
        let package = data.path().join("cockpit/termtape");
        let install = Command::new(bin("termtape"))
            .args(["cockpit", "install", "--dir"])
            .arg(&package)
            .output()
            .expect("running termtape cockpit install");
        assert!(
            install.status.success() && package.join("manifest.json").is_file(),
            "termtape cockpit install --dir {}: {:?}: {}",
            package.display(),
            install.status,
            String::from_utf8_lossy(&install.stderr)
        );
        let termtape = bin("termtape");
        let path = std::env::join_paths(
            std::iter::once(termtape.parent().expect("bin dir").to_path_buf()).chain(
                std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
            ),
        )
        .expect("PATH");
        let log_path = data.path().join("cockpit-ws.log");
        for _attempt in 0..5 {
            let port = free_port();
            let log = std::fs::File::create(&log_path).expect("cockpit log");
            let mut child = Command::new(COCKPIT_WS)
                .args(["--port", &port.to_string(), "--address", "127.0.0.1"])
                .arg("--local-session=cockpit-bridge")
                .env("PATH", &path)
                .env(
                    "XDG_DATA_DIRS",
                    format!("{}:/usr/share", data.path().display()),
                )
                .env("LANG", "C.UTF-8")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("dup log"))
                .stderr(log)
                .process_group(0)
                .spawn()
                .expect("starting cockpit-ws");
            let deadline = Instant::now() + START;
            let page = "/cockpit/@localhost/termtape/manifest.json";
            loop {
                if child.try_wait().expect("polling cockpit-ws").is_some() {
                    // Most likely another process took the port: try again.
                    break;
                }
                match http_status(port, page) {
                    Some(200) => {
                        return Cockpit {
                            child: Some(child),
                            port,
                            data,
                        };
                    }
                    Some(status) => {
                        stop_group(&mut child);
                        panic!(
                            "cockpit-ws answers {status} for {page}; its log:\n{}",
                            tail(&log_path, 2000)
                        );
                    }
                    None if Instant::now() > deadline => {
                        stop_group(&mut child);
                        panic!(
                            "cockpit-ws did not answer within {START:?}; its log:\n{}",
                            tail(&log_path, 2000)
                        );
                    }
                    None => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
        panic!(
            "cockpit-ws exited at start five times; its log:\n{}",
            tail(&log_path, 2000)
        );
    }

    /// Keeps cockpit-ws for the other tests of this process: it is stopped,
    /// and its data directory removed, when the process exits.
    pub fn until_exit(mut self) -> &'static Cockpit {
        keep_until_exit(
            self.child.take().expect("running"),
            Some(self.data.path().to_owned()),
        );
        Box::leak(Box::new(self))
    }

    /// The URL of a page of Cockpit's, e.g. `termtape/index.html`, opened
    /// on its own (outside Cockpit's shell).
    pub fn url(&self, page: &str) -> String {
        format!("http://127.0.0.1:{}/cockpit/@localhost/{page}", self.port)
    }
}

impl Drop for Cockpit {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            stop_group(child);
        }
    }
}

/// A running `termtape serve`, stopped by its PID when dropped.
pub struct Served {
    child: Option<Child>,
    /// `HOST:PORT` of the URL it printed (over TLS, the certificate's
    /// name, which may not resolve: connect to [`Served::port`] on the
    /// address it listens on).
    pub addr: String,
    /// The access token it printed.
    pub token: String,
    /// Whether it serves HTTPS.
    pub https: bool,
}

impl Served {
    /// Starts `termtape serve SOURCES…` on a port the system chooses, and
    /// reads the URL it prints: `http://ADDR/?token=HEX`.
    pub fn start(sources: &[&Path]) -> Served {
        let mut cmd = Command::new(bin("termtape"));
        cmd.arg("serve").args(sources);
        Served::spawn(cmd)
    }

    /// Starts `cmd` (a `termtape serve`, maybe run through nsenter or with
    /// TLS options) in its own process group and reads the URL it prints:
    /// `http://ADDR/?token=HEX` or `https://NAME:PORT/?token=HEX`.
    pub fn spawn(mut cmd: Command) -> Served {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("starting termtape serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("reading the URL");
        let (https, rest) = match line.trim().strip_prefix("https://") {
            Some(rest) => (true, rest),
            None => (
                false,
                line.trim()
                    .strip_prefix("http://")
                    .unwrap_or_else(|| panic!("not a URL: {line:?}")),
            ),
        };
        let (addr, token) = rest.split_once("/?token=").expect("a token in the URL");
        assert_eq!(token.len(), 32, "128 bits as hex: {token}");
        Served {
            addr: addr.to_owned(),
            token: token.to_owned(),
            https,
            child: Some(child),
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        let (_, port) = self.addr.rsplit_once(':').expect("a port in the URL");
        port.parse().expect("a port number")
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Keeps the server for the other tests of this process: it is
    /// stopped when the process exits.
    pub fn until_exit(mut self) -> &'static Served {
        keep_until_exit(self.child.take().expect("running"), None);
        Box::leak(Box::new(self))
    }

    /// The URL a reviewer opens: the page, with the token.
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}/?token={}", self.addr, self.token)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            stop_group(child);
        }
    }
}
