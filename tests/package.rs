//! The Debian package end to end: `scripts/build-deb` (the dev profile, to
//! keep CI's time: the package's contents and scripts are the same as a
//! release build's), `lintian`, `dpkg -i` on this machine, a real `su -
//! USER` login recorded through the installed files only, removal refused
//! while the user is recorded, `dpkg --purge`; then no set-id file, no user
//! shell and no /etc/shells line is left, and the recording stays.
//!
//! Other tests use /etc/termtape (its signing key) and a termtape-session
//! of their own: the package's steps run in a private mount namespace with
//! a tmpfs over /etc/termtape, so its conffile and the key it makes are
//! seen by nothing else, and the package goes to /usr/bin, where no other
//! test installs anything.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use termtape_tests::{bin, journal_sync, journald, require, run_ok};

const SESSION: &str = "/usr/bin/termtape-session";
const USER: &str = "ttpkg1";

/// A process holding a private mount namespace with a tmpfs over
/// /etc/termtape; commands run in it through nsenter.
struct Namespace {
    holder: Child,
}

impl Namespace {
    fn new() -> Namespace {
        std::fs::create_dir_all("/etc/termtape").expect("/etc/termtape");
        let holder = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg("mount -t tmpfs -o mode=0755 termtape-pkg /etc/termtape && exec sleep infinity")
            .spawn()
            .expect("unshare");
        let ns = Namespace { holder };
        // Ready once the tmpfs shows in the holder's mounts.
        let mounts = format!("/proc/{}/mountinfo", ns.holder.id());
        while !std::fs::read_to_string(&mounts)
            .unwrap_or_default()
            .contains(" /etc/termtape ")
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        ns
    }

    /// `program args…` inside the namespace.
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.args(["-t", &self.holder.id().to_string(), "-m", "--", program]);
        cmd
    }
}

impl Drop for Namespace {
    /// Puts the machine back as it was, whatever the test got to: the test
    /// user's shell given back, the package purged (inside the namespace:
    /// the key it made is there), the user removed.
    fn drop(&mut self) {
        let _ = Command::new("usermod")
            .args(["--shell", "/bin/bash", USER])
            .output();
        let _ = dpkg(self.command("dpkg").args(["--purge", "termtape"]));
        let _ = Command::new("userdel")
            .args(["--remove", USER])
            .stderr(Stdio::null())
            .output();
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// Runs a dpkg command, waiting while another dpkg or apt holds the lock.
fn dpkg(cmd: &mut Command) -> Output {
    loop {
        let out = cmd.output().expect("running dpkg");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || !stderr.contains("lock") {
            return out;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn passwd_shell(user: &str) -> String {
    let entry = run_ok(Command::new("getent").args(["passwd", user]));
    String::from_utf8_lossy(&entry)
        .trim_end()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn etc_shells_lists_session() -> bool {
    std::fs::read_to_string("/etc/shells")
        .unwrap_or_default()
        .lines()
        .any(|l| l.trim() == SESSION)
}

/// `su - USER` on a terminal inside the namespace: types a command and
/// exit, returns what the terminal showed.
fn login(ns: &Namespace, typed: &str, expect: &str) -> String {
    let pty = termtape_tests::pty::Pair::open();
    let mut reader = pty.reader();
    let mut child = ns
        .command("su")
        .args(["-", USER])
        .stdin(pty.slave())
        .stdout(pty.slave())
        .stderr(pty.slave())
        .spawn()
        .expect("su");
    let mut master = std::fs::File::from(pty.master.try_clone().expect("dup master"));
    master.write_all(typed.as_bytes()).expect("type");
    // A bound on a hang only; the result does not depend on it.
    reader.until(Duration::from_secs(60), |seen| {
        String::from_utf8_lossy(seen).contains(expect)
    });
    let status = child.wait().expect("su");
    let seen = String::from_utf8_lossy(&reader.seen).into_owned();
    assert!(status.success(), "su: {status}: {seen}");
    seen
}

#[test]
fn the_package_installs_records_a_login_and_purges_clean() {
    for program in [
        "dpkg-deb", "lintian", "su", "useradd", "unshare", "nsenter", "getcap",
    ] {
        require(program);
    }
    journald();
    let out_dir = tempfile::tempdir().expect("temporary directory");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let built = run_ok(
        Command::new(root.join("scripts/build-deb"))
            .args(["--profile", "dev", "--out"])
            .arg(out_dir.path()),
    );
    let deb = String::from_utf8(built).expect("a path");
    let deb = deb.trim();
    assert!(deb.ends_with(".deb"), "{deb}");

    // No lintian error nor warning (those kept are overridden, with why).
    let lint = Command::new("lintian")
        .args(["--fail-on", "error,warning", deb])
        .output()
        .expect("lintian");
    assert!(lint.status.success(), "lintian: {}", text(&lint));

    let ns = Namespace::new();
    let installed = dpkg(ns.command("dpkg").args(["-i", deb]));
    assert!(installed.status.success(), "dpkg -i: {}", text(&installed));

    // What postinst did.
    let meta = std::fs::metadata(SESSION).expect("termtape-session installed");
    let owner = run_ok(Command::new("stat").args(["-c", "%U:%G %a", SESSION]));
    assert_eq!(
        String::from_utf8_lossy(&owner).trim(),
        "termtape:termtape 6755"
    );
    assert!(meta.is_file());
    let caps = String::from_utf8_lossy(&run_ok(Command::new("getcap").arg(SESSION))).into_owned();
    assert!(
        caps.contains("cap_chown,cap_sys_tty_config=p"),
        "capabilities: {caps}"
    );
    let over = run_ok(Command::new("dpkg-statoverride").args(["--list", SESSION]));
    assert_eq!(
        String::from_utf8_lossy(&over).trim(),
        format!("termtape termtape 6755 {SESSION}")
    );
    assert!(etc_shells_lists_session(), "add-shell");
    let key = run_ok(
        ns.command("stat")
            .args(["-c", "%U %a", "/etc/termtape/signing.key"]),
    );
    assert_eq!(String::from_utf8_lossy(&key).trim(), "termtape 400");
    run_ok(
        ns.command("test")
            .args(["-f", "/etc/termtape/termtape.toml"]),
    );
    let page = run_ok(Command::new("man").args(["-w", "termtape-session"]));
    assert_eq!(
        String::from_utf8_lossy(&page).trim(),
        "/usr/share/man/man8/termtape-session.8.gz"
    );
    // bash-completion finds the completion where the package put it.
    let complete = run_ok(Command::new("bash").args([
        "-c",
        "source /usr/share/bash-completion/bash_completion && \
         _completion_loader termtape; complete -p termtape",
    ]));
    assert!(
        String::from_utf8_lossy(&complete).contains(" termtape\n"),
        "{}",
        String::from_utf8_lossy(&complete)
    );

    // A test user, recorded through the installed termtape only.
    if !Command::new("getent")
        .args(["passwd", USER])
        .output()
        .expect("getent")
        .status
        .success()
    {
        run_ok(Command::new("useradd").args(["--create-home", "--shell", "/bin/bash", USER]));
    }
    run_ok(
        ns.command("/usr/bin/termtape")
            .args(["users", "enable", USER]),
    );
    assert_eq!(passwd_shell(USER), SESSION);
    let marker = format!("pkg-{}", std::process::id());
    let seen = login(
        &ns,
        &format!("echo {marker}-$((6*7))\nexit\n"),
        &format!("{marker}-42"),
    );
    assert!(
        seen.contains("ATTENTION! Your session is being recorded!"),
        "{seen}"
    );
    assert!(journal_sync());
    let listing = run_ok(
        ns.command("/usr/bin/termtape")
            .args(["ls", "--lax", "--user", USER, "journal"]),
    );
    let recs: Vec<String> = String::from_utf8_lossy(&listing)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    let shown = |termtape: &Path, rec: &str| {
        let out = run_ok(
            ns.command(termtape.to_str().expect("UTF-8 path"))
                .args(["cat", "journal", "--rec", rec]),
        );
        String::from_utf8_lossy(&out).contains(&format!("{marker}-42"))
    };
    let rec = recs
        .iter()
        .find(|rec| shown(Path::new("/usr/bin/termtape"), rec))
        .unwrap_or_else(|| panic!("a recording of the login among {recs:?}"))
        .clone();
    // Signed with the key the package made.
    let verifies = |termtape: &Path| {
        let out = run_ok(ns.command(termtape.to_str().expect("UTF-8 path")).args([
            "verify",
            "--json",
            "--key",
            "/etc/termtape/signing.pub",
            "--rec",
            &rec,
            "journal",
        ]));
        String::from_utf8_lossy(&out).contains("\"ok\":true")
    };
    assert!(verifies(Path::new("/usr/bin/termtape")), "not intact");

    // Removal is refused while the user's shell is termtape-session.
    let refused = dpkg(ns.command("dpkg").args(["--remove", "termtape"]));
    assert!(!refused.status.success(), "removed under a recorded user");
    assert!(text(&refused).contains(USER), "{}", text(&refused));
    assert!(Path::new(SESSION).exists());
    assert_eq!(passwd_shell(USER), SESSION);

    run_ok(
        ns.command("/usr/bin/termtape")
            .args(["users", "disable", USER]),
    );
    assert_eq!(passwd_shell(USER), "/bin/bash");
    let purged = dpkg(ns.command("dpkg").args(["--purge", "termtape"]));
    assert!(purged.status.success(), "dpkg --purge: {}", text(&purged));

    // Nothing set-id of the package's is left (/usr/local holds other
    // tests' own copy), nor an override, a shell or an /etc/shells line.
    assert!(!Path::new(SESSION).exists());
    let setid = run_ok(Command::new("find").args([
        "/usr",
        "-path",
        "/usr/local",
        "-prune",
        "-o",
        "-perm",
        "/6000",
        "-user",
        "termtape",
        "-print",
    ]));
    assert!(setid.is_empty(), "{}", String::from_utf8_lossy(&setid));
    let over = Command::new("dpkg-statoverride")
        .args(["--list", SESSION])
        .output()
        .expect("dpkg-statoverride");
    assert!(!over.status.success(), "override left: {}", text(&over));
    let passwd =
        String::from_utf8_lossy(&run_ok(Command::new("getent").arg("passwd"))).into_owned();
    assert!(
        !passwd.lines().any(|l| l.ends_with(&format!(":{SESSION}"))),
        "a user's shell is still {SESSION}"
    );
    assert!(!etc_shells_lists_session(), "/etc/shells still lists it");
    // The private key the package made is gone, its public key stays (it
    // verifies what stays), the conffile is purged.
    run_ok(
        ns.command("test")
            .args(["!", "-e", "/etc/termtape/signing.key"]),
    );
    run_ok(ns.command("test").args(["-f", "/etc/termtape/signing.pub"]));
    run_ok(
        ns.command("test")
            .args(["!", "-e", "/etc/termtape/termtape.toml"]),
    );
    // The recording stays, and still verifies.
    assert!(shown(&bin("termtape"), &rec), "the recording is gone");
    assert!(verifies(&bin("termtape")), "not intact after the purge");
}
