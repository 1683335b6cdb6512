//! Issue 14, "multi-host pipeline, for real": hosts are network namespaces
//! on a bridge, each with its own mount and UTS namespace (host name,
//! machine id, a tmpfs over the journal's directories), its own standalone
//! systemd-journald or rsyslogd, and termtape recordings made there (journal,
//! syslog and file writers, `termtape-session` logins). They ship to a
//! collector namespace with Debian's systemd-journal-upload →
//! systemd-journal-remote, or rsyslog over TCP; the central side reads
//! everything with `termtape` from outside. Every process is stopped by its
//! PID and every namespace deleted when a test ends, failed or not.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use termtape_tests::{assert_bytes_eq, bin, colourful, require, run_ok, through_pty};

/// The collector's address on the lab's bridge; host `i` is `10.213.0.(i+2)`.
const CENTRAL: &str = "10.213.0.1";
/// systemd-journal-remote's port (its default).
const REMOTE_PORT: u16 = 19532;
/// rsyslog's TCP port on the collector.
const SYSLOG_PORT: u16 = 10514;
/// How long anything the pipeline does may take before a test fails.
const PATIENCE: Duration = Duration::from_secs(60);

/// Network namespaces and the processes started in them, torn down in
/// reverse when dropped: processes stopped by PID, namespaces deleted.
struct Lab {
    dir: tempfile::TempDir,
    central: String,
    namespaces: Vec<String>,
    procs: Vec<(String, Child)>,
    hosts: Vec<Host>,
}

/// A host: a shell holding its namespaces open until its stdin closes.
struct Host {
    name: String,
    agent: Child,
    hold: Option<ChildStdin>,
}

impl Lab {
    /// A collector namespace with a bridge at [`CENTRAL`] and one host per
    /// name, each on a veth pair to the bridge.
    fn new(names: &[&str]) -> Lab {
        require("ip");
        require("nsenter");
        static N: AtomicU32 = AtomicU32::new(0);
        let tag = format!(
            "ttc{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let mut lab = Lab {
            dir: tempfile::tempdir().expect("tempdir"),
            central: format!("{tag}-c"),
            namespaces: Vec::new(),
            procs: Vec::new(),
            hosts: Vec::new(),
        };
        let c = lab.central.clone();
        lab.netns(&c);
        for args in [
            "link add br0 type bridge",
            &format!("addr add {CENTRAL}/24 dev br0"),
            "link set br0 up",
            "link set lo up",
        ] {
            ip(&c, args);
        }
        for (i, name) in names.iter().enumerate() {
            let ns = format!("{tag}-{i}");
            lab.netns(&ns);
            // Both ends are made inside the namespaces: the machine's own
            // interfaces and routes are never touched.
            ip(
                &ns,
                &format!("link add eth0 type veth peer name h{i} netns {c}"),
            );
            ip(&c, &format!("link set h{i} master br0"));
            ip(&c, &format!("link set h{i} up"));
            ip(&ns, &format!("addr add 10.213.0.{}/24 dev eth0", i + 2));
            ip(&ns, "link set eth0 up");
            ip(&ns, "link set lo up");
            let host = Host::start(&ns, name, &lab.dir.path().join(name));
            lab.hosts.push(host);
        }
        lab
    }

    fn netns(&mut self, ns: &str) {
        run_ok(Command::new("ip").args(["netns", "add", ns]));
        self.namespaces.push(ns.to_owned());
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Host `name`.
    fn host(&self, name: &str) -> &Host {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .expect("a host of the lab")
    }

    /// Starts `cmd`, kept to be stopped by PID when the lab goes.
    fn spawn(&mut self, what: &str, mut cmd: Command) -> u32 {
        let log = std::fs::File::create(self.path(&format!("{what}.log"))).expect("log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {what}: {e}"));
        let pid = child.id();
        self.procs.push((what.to_owned(), child));
        pid
    }

    /// What process `what` has written so far.
    fn log(&self, what: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{what}.log"))).unwrap_or_default()
    }

    /// A command run in the collector's network namespace.
    fn central_cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/run/netns/{}", self.central))
            .arg(program);
        cmd
    }

    /// Waits until process `pid` (of `what`) listens on TCP `port`.
    fn wait_listening(&self, what: &str, pid: u32, port: u16) {
        let want = format!(":{port:04X} ");
        wait_for(&format!("{what} listening on port {port}"), || {
            let tcp = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).unwrap_or_default();
            let up = tcp.lines().any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() > 3 && format!("{} ", f[1]).ends_with(&want) && f[3] == "0A"
            });
            up.then_some(()).ok_or_else(|| self.log(what))
        });
    }

    /// Starts a standalone systemd-journald on `host`.
    fn journald(&mut self, host: &str) {
        let cmd = self.host(host).cmd("/lib/systemd/systemd-journald");
        self.spawn(&format!("journald-{host}"), cmd);
        let socket = self.host(host).root().join("run/systemd/journal/socket");
        wait_for(&format!("journald on {host}"), || {
            socket.exists().then_some(()).ok_or(())
        });
    }

    /// Starts systemd-journal-remote on the collector, writing to `out/`.
    fn journal_remote(&mut self) -> PathBuf {
        let out = self.path("out");
        std::fs::create_dir(&out).expect("output directory");
        let mut cmd = self.central_cmd("/lib/systemd/systemd-journal-remote");
        cmd.arg(format!("--listen-http={CENTRAL}:{REMOTE_PORT}"))
            .arg(format!("--output={}/", out.display()));
        let pid = self.spawn("journal-remote", cmd);
        self.wait_listening("journal-remote", pid, REMOTE_PORT);
        out
    }

    /// Starts systemd-journal-upload on `host`, shipping its journal to the
    /// collector.
    fn journal_upload(&mut self, host: &str) {
        let mut cmd = self.host(host).cmd("/lib/systemd/systemd-journal-upload");
        cmd.arg(format!("--url=http://{CENTRAL}:{REMOTE_PORT}"))
            .arg(format!(
                "--save-state={}",
                self.path(&format!("upload-{host}.state")).display()
            ));
        self.spawn(&format!("journal-upload-{host}"), cmd);
    }

    /// Starts rsyslogd with `config` (written to a file of its own): on
    /// `host`, or on the collector for `None`.
    fn rsyslogd(&mut self, host: Option<&str>, config: &str) -> u32 {
        let what = format!("rsyslogd-{}", host.unwrap_or("central"));
        let conf = self.path(&format!("{what}.conf"));
        std::fs::write(&conf, config).expect("rsyslog config");
        let mut cmd = match host {
            Some(h) => self.host(h).cmd("rsyslogd"),
            None => self.central_cmd("rsyslogd"),
        };
        cmd.arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(self.path(&format!("{what}.pid")));
        self.spawn(&what, cmd)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (what, child) in self.procs.iter_mut().rev() {
            stop(what, child);
        }
        for host in &mut self.hosts {
            host.hold.take();
            stop(&host.name, &mut host.agent);
        }
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Stops a child by its PID: SIGTERM, then SIGKILL after 5 s.
fn stop(what: &str, child: &mut Child) {
    if child.try_wait().is_ok_and(|s| s.is_some()) {
        return;
    }
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if child.try_wait().is_ok_and(|s| s.is_some()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("{what} did not stop on SIGTERM: killing it");
    let _ = child.kill();
    let _ = child.wait();
}

fn ip(ns: &str, args: &str) {
    run_ok(Command::new("ip").arg("-n").arg(ns).args(args.split(' ')));
}

/// Polls `check` until it gives a value, failing after [`PATIENCE`] with
/// what the last try said.
fn wait_for<T, E: std::fmt::Debug>(what: &str, mut check: impl FnMut() -> Result<T, E>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match check() {
            Ok(v) => return v,
            Err(e) if Instant::now() > deadline => panic!("no {what} after {PATIENCE:?}: {e:?}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

impl Host {
    /// The namespaces of host `name` (its network namespace is `netns`):
    /// its own host name and machine id, tmpfs over the journal's
    /// directories (and so over `/dev/log`'s target).
    fn start(netns: &str, name: &str, dir: &Path) -> Host {
        std::fs::create_dir_all(dir).expect("host directory");
        let machine_id: String = {
            let mut bytes = [0u8; 16];
            std::fs::File::open("/dev/urandom")
                .and_then(|mut f| f.read_exact(&mut bytes))
                .expect("/dev/urandom");
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        };
        std::fs::write(dir.join("machine-id"), format!("{machine_id}\n")).expect("machine id");
        let script = format!(
            r#"set -e
{audit}mount -t tmpfs tmpfs /run/systemd/journal
mount -t tmpfs tmpfs /run/log
if [ -d /var/log/journal ]; then mount -t tmpfs tmpfs /var/log/journal; fi
mount --bind {dir}/machine-id /etc/machine-id
hostname {name}
echo ready
read _ || true
"#,
            audit = termtape_tests::JOURNALD_LEAVES_AUDIT,
            dir = dir.display()
        );
        // nsenter rather than `ip netns exec`, which mounts a fresh /sys
        // without the cgroup file system journald needs.
        let mut agent = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{netns}"))
            .args(["unshare", "--mount", "--uts", "--propagation", "private"])
            .args(["sh", "-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting a host");
        let mut line = String::new();
        BufReader::new(agent.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("reading the host's start");
        if line.trim() != "ready" {
            let mut err = String::new();
            let _ = agent
                .stderr
                .take()
                .expect("stderr")
                .read_to_string(&mut err);
            panic!("host {name} did not start: {err}");
        }
        let hold = agent.stdin.take();
        Host {
            name: name.to_owned(),
            agent,
            hold,
        }
    }

    /// A command run in the host's namespaces.
    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.args(["-t", &self.agent.id().to_string(), "-m", "-u", "-n"])
            .arg(program);
        cmd
    }

    /// The host's file system as its processes see it.
    fn root(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root", self.agent.id()))
    }

    /// Runs `termtape rec ARGS` on the host to its end, successfully.
    fn record(&self, args: &[&str]) {
        let mut cmd = self.cmd(bin("termtape"));
        cmd.arg("rec").args(args).stdin(Stdio::null());
        run_ok(&mut cmd);
    }

    /// The same as the unprivileged user `nobody`.
    fn record_as_nobody(&self, args: &[&str]) {
        let mut cmd = self.cmd("setpriv");
        cmd.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .arg(bin("termtape"))
            .arg("rec")
            .args(args)
            .stdin(Stdio::null());
        run_ok(&mut cmd);
    }
}

/// `termtape ls --json ARGS` as the collector's reviewer: the recordings
/// and what it said on stderr.
fn recordings(args: &[&str]) -> (Vec<serde_json::Value>, String) {
    let out = Command::new(bin("termtape"))
        .args(["ls", "--json"])
        .args(args)
        .output()
        .expect("termtape ls");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success() || err.contains("no recording matches"),
        "termtape ls {args:?}: {err}"
    );
    let list = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("ls --json line"))
        .collect();
    (list, err)
}

/// How many recordings of `list` have arrived whole (their exit recorded).
fn whole(list: &[serde_json::Value]) -> usize {
    list.iter().filter(|r| !r["exit"].is_null()).count()
}

/// `termtape ARGS`, which must succeed: its standard output.
fn termtape(args: &[&str]) -> Vec<u8> {
    run_ok(Command::new(bin("termtape")).args(args))
}

/// The recording whose output shows `marker`, among `list` (from `source`).
fn find<'a>(list: &'a [serde_json::Value], source: &str, marker: &str) -> &'a serde_json::Value {
    list.iter()
        .find(|r| {
            let rec = r["rec"].as_str().expect("rec");
            String::from_utf8_lossy(&termtape(&["cat", "--lax", source, "--rec", rec]))
                .contains(marker)
        })
        .unwrap_or_else(|| panic!("no recording in {source} shows {marker:?}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn journal_remote_collects_every_hosts_recordings_and_keeps_the_trust_model() {
    require("su");
    require("setpriv");
    let user = crate::session::user("ttcentral");
    let mut lab = Lab::new(&["hosta", "hostb"]);
    let out = lab.journal_remote();
    for h in ["hosta", "hostb"] {
        lab.journald(h);
        lab.journal_upload(h);
    }
    let (a, b) = (lab.host("hosta"), lab.host("hostb"));
    a.record(&[
        "-w",
        "journal",
        "--",
        "sh",
        "-c",
        "echo central-a-journal; printf 'h\\303\\251llo \\342\\202\\254\\n'",
    ]);
    // A login: termtape-session as the user's shell, recording as termtape.
    let login = run_ok(
        a.cmd("su")
            .args(["-", user, "-c", "echo central-a-login; hostname"])
            .stdin(Stdio::null()),
    );
    let shown = text(&login);
    assert!(
        shown.contains("central-a-login") && shown.contains("hosta"),
        "{shown}"
    );
    b.record(&["-w", "journal", "--", "echo", "central-b-journal"]);
    // An unprivileged user's recorder: entries with its uid, untrusted.
    b.record_as_nobody(&["-w", "journal", "--", "echo", "central-b-nobody"]);
    let nobody = run_ok(Command::new("id").args(["-u", "nobody"]));
    let nobody = text(&nobody).trim().to_owned();

    let source = format!("journal:{}", out.display());
    let (list, notice) = wait_for("the three recordings at the collector", || {
        let (list, err) = recordings(&[&source]);
        // Whole: each with its exit, in its last message; and nobody's
        // recording shipped too (it may arrive after the others), so that
        // the notice about it can be checked.
        let n = whole(&list);
        (n >= 3 && err.contains(&format!("uid {nobody}")))
            .then_some((list, err))
            .ok_or(n)
    });
    assert_eq!(list.len(), 3, "{list:?}");
    let a_journal = find(&list, &source, "central-a-journal");
    let a_login = find(&list, &source, "central-a-login");
    let b_journal = find(&list, &source, "central-b-journal");
    let hosts: Vec<(&str, &str)> = [a_journal, a_login, b_journal]
        .iter()
        .map(|r| {
            (
                r["host"].as_str().expect("a JSON string"),
                r["user"].as_str().expect("a JSON string"),
            )
        })
        .collect();
    assert_eq!(
        hosts,
        [("hosta", "root"), ("hosta", user), ("hostb", "root")]
    );
    for r in &list {
        assert!(r["unverified"].is_null(), "{r}");
        assert_eq!(r["exit"], serde_json::json!({"code": 0}), "{r}");
    }
    assert!(
        notice.contains(&format!("uid {nobody}")),
        "the untrusted sender is named: {notice}"
    );

    // Filters by host.
    let (only_a, _) = recordings(&["--host", "hosta", &source]);
    let mut only_a: Vec<&str> = only_a
        .iter()
        .map(|r| r["rec"].as_str().expect("a JSON string"))
        .collect();
    only_a.sort_unstable();
    let mut want = vec![
        a_journal["rec"].as_str().expect("a JSON string"),
        a_login["rec"].as_str().expect("a JSON string"),
    ];
    want.sort_unstable();
    assert_eq!(only_a, want);
    let (only_b, _) = recordings(&["--host", "hostb", &source]);
    assert_eq!(only_b.len(), 1);
    assert_eq!(only_b[0]["rec"], b_journal["rec"]);

    // Plays, shows and searches what each host recorded.
    let rec_a = a_journal["rec"].as_str().expect("a JSON string");
    assert_bytes_eq(
        &termtape(&["cat", &source, "--rec", rec_a]),
        "central-a-journal\r\nhéllo €\r\n".as_bytes(),
        "cat of hosta's recording",
    );
    let screen = text(&termtape(&["screen", &source, "--rec", rec_a]));
    assert!(
        screen.starts_with("central-a-journal\nhéllo €\n"),
        "{screen}"
    );
    let rec_login = a_login["rec"].as_str().expect("a JSON string");
    let screen = text(&termtape(&["screen", &source, "--rec", rec_login]));
    assert!(screen.contains("central-a-login"), "{screen}");
    assert!(screen.contains("hosta"), "{screen}");
    let found = text(&termtape(&["search", "--json", "central-", &source]));
    let mut found: Vec<(String, String)> = found
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("search --json");
            (v["host"].to_string(), v["line"].to_string())
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            (r#""hosta""#, r#""central-a-journal""#),
            (r#""hosta""#, r#""central-a-login""#),
            (r#""hostb""#, r#""central-b-journal""#)
        ]
        .map(|(h, l)| (h.to_owned(), l.to_owned()))
    );

    // The untrusted uid stays untrusted centrally: shown only when asked,
    // marked; trusted only when the reviewer names its uid.
    let (all, _) = recordings(&["--unverified", &source]);
    let marked: Vec<&serde_json::Value> =
        all.iter().filter(|r| !r["unverified"].is_null()).collect();
    assert_eq!(marked.len(), 1, "{all:?}");
    assert_eq!(marked[0]["host"], "hostb");
    assert!(
        marked[0]["unverified"]
            .as_str()
            .is_some_and(|s| s.starts_with(&format!("uid {nobody}"))),
        "{}",
        marked[0]
    );
    let (trusting, _) = recordings(&["--trust-uid", &nobody, "--host", "hostb", &source]);
    assert_eq!(trusting.len(), 2, "{trusting:?}");
    assert!(trusting.iter().all(|r| r["unverified"].is_null()));
    // Trusted on one host only (journald's _HOSTNAME): on hostb it is
    // trusted, named for hosta it is not, by the index and by reading.
    let nobody_rec = marked[0]["rec"].as_str().expect("a JSON string");
    for read_all in [&[][..], &["--read-all"]] {
        let on = |host: &str| {
            let trust = format!("{host}:{nobody}");
            let mut args = read_all.to_vec();
            args.extend(["--trust-uid", &trust, "--host", "hostb", &source]);
            recordings(&args)
        };
        let (on_b, _) = on("hostb");
        assert_eq!(on_b.len(), 2, "{on_b:?}");
        assert!(on_b.iter().all(|r| r["unverified"].is_null()), "{on_b:?}");
        let (on_a, err) = on("hosta");
        assert_eq!(on_a.len(), 1, "{on_a:?}");
        assert!(on_a.iter().all(|r| r["rec"] != nobody_rec), "{on_a:?}");
        assert!(err.contains(&format!("uid {nobody}")), "{err}");
    }
    let cat = |trust: &str| {
        Command::new(bin("termtape"))
            .args(["cat", "--trust-uid", trust, "--rec", nobody_rec, &source])
            .output()
            .expect("termtape cat")
    };
    let trusted = cat(&format!("hostb:{nobody}"));
    assert!(trusted.status.success(), "{trusted:?}");
    assert!(!trusted.stdout.is_empty());
    let untrusted = cat(&format!("hosta:{nobody}"));
    assert!(untrusted.stdout.is_empty(), "{untrusted:?}");

    // nobody on hostb claims hosta's recording: dropped centrally, with a
    // warning, whatever the reader asks for.
    let forged = serde_json::json!({
        "ver": "2.3", "host": "hosta", "rec": rec_a, "user": "root", "term": "xterm",
        "session": 1, "id": 3, "pos": 10, "time": 1_700_000_000.0,
        "timing": ">8", "in_txt": "", "in_bin": [], "out_txt": "FORGED\r\n", "out_bin": [],
    });
    let entry = format!(
        "SYSLOG_IDENTIFIER=termtape\nTLOG_REC={rec_a}\nTLOG_USER=root\nTLOG_ID=3\nMESSAGE={forged}\n"
    );
    let mut logger = b
        .cmd("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .args(["logger", "--journald"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("logger");
    std::io::Write::write_all(&mut logger.stdin.take().expect("stdin"), entry.as_bytes())
        .expect("write the entry");
    assert!(logger.wait().expect("logger").success());
    let forged_seen = || {
        let out = Command::new(bin("termtape"))
            .args(["cat", "--unverified", &source, "--rec", rec_a])
            .output()
            .expect("termtape cat");
        let err = text(&out.stderr);
        err.contains("dropped").then_some(out).ok_or(err)
    };
    let out = wait_for("the forged entry at the collector", forged_seen);
    assert_bytes_eq(
        &out.stdout,
        "central-a-journal\r\nhéllo €\r\n".as_bytes(),
        "the real recording, without the forged entry",
    );
    let err = text(&out.stderr);
    assert!(err.contains(&format!("uid {nobody}")), "{err}");
}

#[test]
fn a_recording_still_being_written_on_a_host_is_followed_centrally() {
    let mut lab = Lab::new(&["hostf"]);
    let out = lab.journal_remote();
    lab.journald("hostf");
    lab.journal_upload("hostf");
    let mut recorder = lab.host("hostf").cmd(bin("termtape"));
    recorder.args([
        "rec",
        "-w",
        "journal",
        "--latency",
        "0.2",
        "--",
        "sh",
        "-c",
        // Ends when told to (a file appears), so that no timing decides
        // whether the reader caught it live.
        &format!(
            "echo follow-first; while [ ! -e {go} ]; do sleep 0.05; done; echo follow-second",
            go = lab.path("go").display()
        ),
    ]);
    lab.spawn("recorder", recorder);
    let source = format!("journal:{}", out.display());
    let live = wait_for("the live recording at the collector", || {
        let (list, _) = recordings(&[&source]);
        list.into_iter().next().ok_or(())
    });
    assert_eq!(live["live"], true, "{live}");
    assert!(live["exit"].is_null(), "{live}");
    let rec = live["rec"].as_str().expect("rec").to_owned();
    let mut events = Follower::start(&["events", "--follow", &source, "--rec", &rec]);
    let mut play = Follower::start(&["play", "--follow", "--speed", "100", &source, "--rec", &rec]);
    for reader in [&mut events, &mut play] {
        reader.until("follow-first");
        assert!(!reader.seen.contains("follow-second"), "{}", reader.seen);
    }
    std::fs::write(lab.path("go"), "").expect("go");
    play.until("follow-second");
    events.until("follow-second");
    // The recording's end reaches the collector, and `events` stops there
    // (`play --follow` plays on until stopped, and is, by its PID).
    events.until(r#""type":"exit""#);
    let ended = wait_for("events --follow to end with the recording", || {
        events.child.try_wait().expect("try_wait").ok_or(())
    });
    assert!(ended.success(), "{ended}: {}", events.seen);
    let (list, _) = recordings(&[&source]);
    assert_eq!(list[0]["live"], false, "{}", list[0]);
}

/// A `termtape` reader running on the collector, its output read by a
/// thread of its own; stopped by its PID when dropped.
struct Follower {
    child: Child,
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    seen: String,
}

impl Follower {
    fn start(args: &[&str]) -> Follower {
        let mut child = Command::new(bin("termtape"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("termtape");
        let mut stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut buf) {
                if tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Follower {
            child,
            rx,
            seen: String::new(),
        }
    }

    /// Reads until the output shows `want`, failing after [`PATIENCE`].
    fn until(&mut self, want: &str) {
        let deadline = Instant::now() + PATIENCE;
        while !self.seen.contains(want) {
            match self
                .rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(bytes) => self.seen.push_str(&String::from_utf8_lossy(&bytes)),
                Err(e) => panic!("no {want:?} in what it showed ({e}): {}", self.seen),
            }
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        stop("a follower", &mut self.child);
    }
}

/// The collector's rsyslog: TCP in, each recorder's message (tlog's JSON
/// line, what follows `termtape[PID]: `) written as a line of its own.
fn central_rsyslog(workdir: &Path, file: &Path) -> String {
    format!(
        r#"$MaxMessageSize 256k
global(workDirectory="{work}")
module(load="imtcp")
template(name="termtape" type="list") {{ property(name="$.line") constant(value="\n") }}
ruleset(name="recordings") {{
  set $.line = ltrim($msg);
  action(type="omfile" file="{file}" template="termtape")
}}
input(type="imtcp" address="{CENTRAL}" port="{SYSLOG_PORT}" ruleset="recordings")
"#,
        work = workdir.display(),
        file = file.display()
    )
}

/// A host's rsyslog: the recorders' messages from the local socket (only
/// those sent by root, uid 0: the kernel's credentials, not what the
/// message claims), and the lines of file-writer recordings under
/// `recordings`, forwarded over TCP with a queue that waits for the
/// collector.
fn host_rsyslog(workdir: &Path, recordings: &Path) -> String {
    format!(
        r#"$MaxMessageSize 256k
global(workDirectory="{work}")
module(load="imuxsock" SysSock.Name="/run/systemd/journal/dev-log" SysSock.Annotate="on" SysSock.ParseTrusted="on" SysSock.RateLimit.Interval="0")
module(load="imfile")
input(type="imfile" File="{recordings}/*.log" Tag="termtape-file" Facility="authpriv")
if ($inputname == "imfile") or ($programname == "termtape" and $syslogfacility-text == "authpriv" and $!uid == "0") then {{
  action(type="omfwd" target="{CENTRAL}" port="{SYSLOG_PORT}" protocol="tcp" template="RSYSLOG_SyslogProtocol23Format"
         queue.type="LinkedList" queue.filename="termtape-fwd" queue.saveOnShutdown="on" action.resumeRetryCount="-1")
}}
"#,
        work = workdir.display(),
        recordings = recordings.display()
    )
}

#[test]
fn rsyslog_collects_syslog_and_file_writer_recordings_from_every_host() {
    require("rsyslogd");
    require("setpriv");
    require("logger");
    // termtape's syslog writer sends to /dev/log, which on this kind of
    // machine points into /run/systemd/journal (a tmpfs of its own on each
    // host, where the host's rsyslogd listens). A container without
    // systemd may lack it: made as DESIGN's journald setup makes it.
    if std::fs::symlink_metadata("/dev/log").is_err() {
        std::os::unix::fs::symlink("/run/systemd/journal/dev-log", "/dev/log")
            .expect("linking /dev/log");
    }
    assert_eq!(
        std::fs::read_link("/dev/log").ok(),
        Some(PathBuf::from("/run/systemd/journal/dev-log")),
        "/dev/log must be a link to /run/systemd/journal/dev-log (see DESIGN: journald)"
    );
    let mut lab = Lab::new(&["hosts", "hostt"]);
    let central_file = lab.path("central/recordings.log");
    std::fs::create_dir_all(lab.path("central")).expect("dir");
    let config = central_rsyslog(&lab.path("central"), &central_file);
    let pid = lab.rsyslogd(None, &config);
    lab.wait_listening("rsyslogd-central", pid, SYSLOG_PORT);
    for h in ["hosts", "hostt"] {
        let (work, files) = (lab.path(h), lab.path(&format!("{h}/recordings")));
        std::fs::create_dir_all(&files).expect("dir");
        let pid = lab.rsyslogd(Some(h), &host_rsyslog(&work, &files));
        let socket = lab.host(h).root().join("run/systemd/journal/dev-log");
        wait_for(&format!("rsyslogd on {h}"), || {
            socket
                .exists()
                .then_some(())
                .ok_or_else(|| (pid, lab.log(&format!("rsyslogd-{h}"))))
        });
    }
    let (s, t) = (lab.host("hosts"), lab.host("hostt"));
    s.record(&[
        "-w",
        "syslog",
        "--",
        "sh",
        "-c",
        "echo central-s-syslog; printf 'del\\177 \\303\\274\\n'",
    ]);
    let file_rec = lab.path("hosts/recordings/session.log");
    s.record(&[
        "-o",
        file_rec.to_str().expect("a UTF-8 path"),
        "--",
        "echo",
        "central-s-file",
    ]);
    // A keyframe of ~196 KB: a message near what one datagram holds (the
    // socket's send buffer, 212,992 bytes here), far over rsyslog's default
    // of 8 KB; and one over it, which goes without its keyframe.
    let near = colourful(12_000);
    std::fs::write(lab.path("near.out"), &near).expect("write");
    let over = colourful(14_400);
    std::fs::write(lab.path("over.out"), &over).expect("write");
    for (cols, rows, file) in [("200", "60", "near.out"), ("240", "60", "over.out")] {
        s.record(&[
            "-w",
            "syslog",
            "--cols",
            cols,
            "--rows",
            rows,
            "--keyframe-bytes",
            "1000",
            "--",
            "cat",
            lab.path(file).to_str().expect("a UTF-8 path"),
        ]);
    }
    t.record(&["-w", "syslog", "--", "echo", "central-t-syslog"]);
    t.record_as_nobody(&["-w", "syslog", "--", "echo", "central-t-nobody"]);
    // nobody forges a recorder's message: its uid is the kernel's.
    run_ok(
        t.cmd("setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
            .args(["logger", "-p", "authpriv.info", "-t", "termtape"])
            .arg(r#"{"ver":"2.3","host":"hostt","rec":"forged","user":"root","term":"xterm","session":1,"id":1,"pos":0,"time":1700000000.0,"timing":">16","in_txt":"","in_bin":[],"out_txt":"central-forged\r\n","out_bin":[]}"#),
    );

    let source = central_file.to_str().expect("a UTF-8 path").to_owned();
    let list = wait_for("the five recordings at the collector", || {
        let (list, err) = recordings(&["--lax", &source]);
        let n = whole(&list);
        (n >= 5).then_some(list).ok_or((n, err))
    });
    assert_eq!(list.len(), 5, "{list:?}");
    let received = std::fs::read_to_string(&central_file).expect("central file");
    for absent in ["central-t-nobody", "central-forged"] {
        assert!(!received.contains(absent), "{absent} reached the collector");
    }
    // Every line is whole: the strict reader takes them all.
    let (strict, err) = recordings(&[&source]);
    assert_eq!(strict.len(), 5, "{err}");
    let longest = received.lines().map(str::len).max().unwrap_or(0);
    assert!(
        (180_000..212_992).contains(&longest),
        "the longest message is {longest} bytes"
    );

    let rec = |marker: &str| {
        find(&list, &source, marker)["rec"]
            .as_str()
            .expect("a recording id")
            .to_owned()
    };
    let syslog_rec = rec("central-s-syslog");
    assert_bytes_eq(
        &termtape(&["cat", &source, "--rec", &syslog_rec]),
        "central-s-syslog\r\ndel\x7f ü\r\n".as_bytes(),
        "cat of the syslog recording",
    );
    // The file writer's lines arrive as they were written.
    let file_lines = std::fs::read_to_string(&file_rec).expect("host's file");
    let file_id = rec("central-s-file");
    let central_lines: String = received
        .lines()
        .filter(|l| l.contains(&file_id))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_bytes_eq(
        central_lines.as_bytes(),
        file_lines.as_bytes(),
        "file writer's lines",
    );
    for (bytes, marker) in [(&near, "near"), (&over, "over")] {
        let id = list
            .iter()
            .map(|r| r["rec"].as_str().expect("a JSON string"))
            .find(|id| termtape(&["cat", &source, "--rec", id]) == through_pty(bytes))
            .unwrap_or_else(|| panic!("the {marker} recording plays back exactly"));
        let screen = text(&termtape(&["screen", &source, "--rec", id]));
        assert!(screen.contains("colourful-done"), "{marker}: {screen}");
        let longest_of_it = received
            .lines()
            .filter(|l| l.contains(id))
            .map(str::len)
            .max();
        assert_eq!(longest_of_it == Some(longest), marker == "near", "{marker}");
    }
    let (only_t, _) = recordings(&["--host", "hostt", &source]);
    assert_eq!(only_t.len(), 1, "{only_t:?}");
    assert_eq!(only_t[0]["host"], "hostt");
    let found = text(&termtape(&["search", "central-", &source]));
    assert_eq!(found.lines().count(), 3, "{found}");
    for marker in ["central-s-syslog", "central-s-file", "central-t-syslog"] {
        assert!(found.contains(marker), "{found}");
    }
}
