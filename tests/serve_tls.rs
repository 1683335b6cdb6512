//! `termtape serve` over TLS: the real binary with a certificate chain made
//! for the test by the `openssl` command (a throwaway root CA, an
//! intermediate, the server's certificate for `termtape.test` and
//! 10.253.0.1), asked by Debian's curl and `openssl s_client` trusting
//! only that root. The page and API answer as over plain HTTP; the token
//! and Host are checked as there; the cookie is Secure and HSTS is sent;
//! TLS 1.0 and 1.1 are refused; plain HTTP to the port, a silent client
//! and a half-sent ClientHello are dropped while others are answered; a
//! non-loopback address is bound (inside a network namespace the test
//! makes) only with TLS; bad certificate and key files are refused with
//! the file named.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use termtape_tests::browser::Served;
use termtape_tests::{bin, live_journal_recorder, require, run_ok, running_recording};

use crate::serve::{Answer, assert_guarded, parse_answer, record};

/// The name the server's certificate is for (resolved by curl's
/// `--resolve`, never by DNS).
const NAME: &str = "termtape.test";
/// Its address in the network namespace of the non-loopback test.
const NS_ADDR: &str = "10.253.0.1";

/// A certificate chain made for one test.
pub(crate) struct Pki {
    /// The root the clients trust.
    pub(crate) ca: PathBuf,
    /// The server's certificate, then the intermediate's.
    pub(crate) chain: PathBuf,
    /// The server's key.
    pub(crate) key: PathBuf,
    dir: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    run_ok(Command::new("openssl").current_dir(dir).args(args));
}

impl Pki {
    /// root CA → intermediate CA → server certificate for [`NAME`] and
    /// [`NS_ADDR`], EC P-256 keys, in `dir`.
    pub(crate) fn make(dir: &Path) -> Pki {
        require("openssl");
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        openssl(
            dir,
            &[
                &["req", "-x509"][..],
                &ec,
                &[
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=termtape test root",
                ],
            ]
            .concat(),
        );
        std::fs::write(
            dir.join("ext.cnf"),
            format!(
                "[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n\
                 [server]\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n\
                 subjectAltName=DNS:{NAME},IP:{NS_ADDR}\n"
            ),
        )
        .expect("writing the certificate request config");
        for (name, subject, signer, section) in [
            ("inter", "/CN=termtape test intermediate", "ca", "ca"),
            ("server", "/CN=termtape.test", "inter", "server"),
        ] {
            let (key, csr, pem) = (
                format!("{name}.key"),
                format!("{name}.csr"),
                format!("{name}.pem"),
            );
            openssl(
                dir,
                &[
                    &["req"][..],
                    &ec,
                    &["-keyout", &key, "-out", &csr, "-subj", subject],
                ]
                .concat(),
            );
            openssl(
                dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    &format!("{signer}.pem"),
                    "-CAkey",
                    &format!("{signer}.key"),
                    "-CAcreateserial",
                    "-days",
                    "2",
                    "-extfile",
                    "ext.cnf",
                    "-extensions",
                    section,
                    "-out",
                    &pem,
                ],
            );
        }
        let chain = [
            std::fs::read(dir.join("server.pem")).expect("reading a file"),
            std::fs::read(dir.join("inter.pem")).expect("reading a file"),
        ]
        .concat();
        std::fs::write(dir.join("chain.pem"), chain).expect("writing a test file");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .expect("setting permissions");
        Pki {
            ca: dir.join("ca.pem"),
            chain: dir.join("chain.pem"),
            key: dir.join("server.key"),
            dir: dir.to_owned(),
        }
    }

    /// The server key's SPKI SHA-256, base64: what Chromium's
    /// `--ignore-certificate-errors-spki-list` takes to trust this
    /// certificate alone.
    pub(crate) fn spki_hash(&self) -> String {
        let der = run_ok(
            Command::new("openssl")
                .args(["pkey", "-pubout", "-outform", "der", "-in"])
                .arg(&self.key),
        );
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("spki.der"), der).expect("writing a test file");
        let digest = run_ok(
            Command::new("openssl")
                .args(["dgst", "-sha256", "-binary"])
                .arg(dir.path().join("spki.der")),
        );
        std::fs::write(dir.path().join("digest"), digest).expect("writing a test file");
        let b64 = run_ok(
            Command::new("openssl")
                .args(["base64", "-A", "-in"])
                .arg(dir.path().join("digest")),
        );
        String::from_utf8(b64).expect("UTF-8").trim().to_owned()
    }

    /// `termtape serve --tls-cert … --tls-key …` with `args` then `sources`.
    pub(crate) fn serve(&self, args: &[&str], sources: &[&Path]) -> Command {
        let mut cmd = Command::new(bin("termtape"));
        cmd.arg("serve")
            .arg("--tls-cert")
            .arg(&self.chain)
            .arg("--tls-key")
            .arg(&self.key)
            .args(args)
            .args(sources);
        cmd
    }
}

/// curl trusting only the test's root, `NAME` resolved to 127.0.0.1,
/// with these header lines.
fn curl(pki: &Pki, served: &Served, target: &str, headers: &[&str]) -> Answer {
    let out = curl_output(pki, served, "127.0.0.1", target, headers);
    assert!(
        out.status.success(),
        "curl {target}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_answer(&out.stdout)
}

/// curl's output for `https://ADDR/TARGET` (the URL's name mapped to `ip`),
/// the head and the body as sent (`--raw`: chunks left as they came).
fn curl_output(pki: &Pki, served: &Served, ip: &str, target: &str, headers: &[&str]) -> Output {
    require("curl");
    let port = served.port();
    let host = served.addr.rsplit_once(':').expect("ADDR:PORT").0;
    Command::new("curl")
        .args(["-sS", "-i", "--raw", "--max-time", "120", "--cacert"])
        .arg(&pki.ca)
        .arg("--resolve")
        .arg(format!("{host}:{port}:{ip}"))
        .args(headers.iter().flat_map(|h| ["-H", h]))
        .arg(format!("https://{}{target}", served.addr))
        .output()
        .expect("running curl")
}

/// The token as an Authorization header, for curl.
fn bearer(served: &Served) -> String {
    format!("Authorization: Bearer {}", served.token)
}

/// `openssl s_client` to 127.0.0.1:PORT with `args`: what it printed.
fn s_client(served: &Served, pki: &Pki, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .arg("s_client")
        .arg("-connect")
        .arg(format!("127.0.0.1:{}", served.port()))
        .args(["-servername", NAME, "-CAfile"])
        .arg(&pki.ca)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running openssl s_client");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A plain request's answer over a TcpStream (for the plain server).
fn plain_get(served: &Served, target: &str) -> Answer {
    let mut stream = TcpStream::connect(&served.addr).expect("connecting");
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\r\n",
        served.addr, served.token
    )
    .expect("writing the request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("reading the answer");
    parse_answer(&raw)
}

#[test]
fn tls_serve_answers_as_plain_http_and_guards_every_answer() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let pki = Pki::make(dir.path());
    let log = dir.path().join("markup.log");
    let rec = record(&log);
    // No --name: the names are the certificate's; the URL its first.
    let served = Served::spawn(pki.serve(&["--listen", "127.0.0.1:0"], &[&log]));
    assert!(served.https, "an https URL");
    assert_eq!(served.addr, format!("{NAME}:{}", served.port()));
    let plain = Served::start(&[&log]);

    // The page, the files and the API give what plain HTTP gives, byte for
    // byte (streams de-chunked).
    let page = curl(&pki, &served, &format!("/?token={}", served.token), &[]);
    assert_eq!(page.status, 200, "{}", page.text());
    assert_guarded(&page);
    assert_eq!(
        page.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    let cookie = page.header("set-cookie").expect("a cookie");
    for part in ["HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(cookie.split("; ").any(|p| p == part), "{part}: {cookie}");
    }
    let plain_cookie = plain_get(&plain, "/api/sources");
    assert!(
        !plain_cookie
            .header("set-cookie")
            .expect("the header")
            .contains("Secure"),
        "plain HTTP's cookie is not Secure (a browser would drop it)"
    );
    assert!(plain_cookie.header("strict-transport-security").is_none());
    for target in [
        "/".to_owned(),
        "/termtape.js".to_owned(),
        "/api/sources".to_owned(),
        "/api/recordings".to_owned(),
        "/api/search?q=after".to_owned(),
        format!("/api/events?source=0&rec={rec}"),
        format!("/api/original?source=0&rec={rec}"),
    ] {
        let tls = curl(&pki, &served, &target, &[&bearer(&served)]);
        let http = plain_get(&plain, &target);
        assert_eq!(tls.status, 200, "{target}: {}", tls.text());
        assert_eq!(tls.status, http.status, "{target}");
        assert_eq!(tls.body, http.body, "{target}");
        assert_eq!(
            tls.header("transfer-encoding"),
            http.header("transfer-encoding"),
            "{target}: framed alike"
        );
        assert_guarded(&tls);
        assert!(tls.header("strict-transport-security").is_some());
    }
    let events: Vec<Value> = String::from_utf8_lossy(
        &curl(
            &pki,
            &served,
            &format!("/api/events?source=0&rec={rec}"),
            &[&bearer(&served)],
        )
        .body,
    )
    .lines()
    .map(|l| serde_json::from_str(l).expect("a JSON line"))
    .collect();
    assert_eq!(events[0]["type"], "keyframe");

    // The cookie alone lets in; no token, a wrong one, another Host: 403.
    let pair = cookie.split(';').next().expect("the cookie's first part");
    let by_cookie = curl(&pki, &served, "/api/sources", &[&format!("Cookie: {pair}")]);
    assert_eq!(by_cookie.status, 200, "{}", by_cookie.text());
    let missing = curl(&pki, &served, "/api/sources", &[]);
    assert_eq!(missing.status, 403);
    assert_guarded(&missing);
    assert!(missing.header("set-cookie").is_none());
    let mut wrong = served.token.clone().into_bytes();
    wrong[0] = if wrong[0] == b'a' { b'b' } else { b'a' };
    let wrong = String::from_utf8(wrong).expect("UTF-8");
    let answer = curl(&pki, &served, &format!("/api/sources?token={wrong}"), &[]);
    assert_eq!(answer.status, 403);
    let rebound = curl(
        &pki,
        &served,
        "/api/sources",
        &[&bearer(&served), "Host: evil.example"],
    );
    assert_eq!(rebound.status, 403, "{}", rebound.text());
    // The address it listens on is a name of it too.
    let by_addr = curl(
        &pki,
        &served,
        "/api/sources",
        &[
            &bearer(&served),
            &format!("Host: 127.0.0.1:{}", served.port()),
        ],
    );
    assert_eq!(by_addr.status, 200, "{}", by_addr.text());

    // Plain HTTP to the TLS port: a plain answer saying where to go, no
    // data, and the server goes on serving.
    let mut tcp =
        TcpStream::connect(("127.0.0.1", served.port())).expect("connecting to the server");
    write!(
        tcp,
        "GET /api/sources?token={} HTTP/1.1\r\nHost: {}\r\n\r\n",
        served.token, served.addr
    )
    .expect("writing the request");
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).expect("reading the answer");
    let refused = parse_answer(&raw);
    assert_eq!(refused.status, 400);
    assert!(
        refused
            .text()
            .contains(&format!("https://{}/", served.addr)),
        "{}",
        refused.text()
    );
    assert!(!refused.text().contains("sources\""), "{}", refused.text());
    assert_eq!(
        curl(&pki, &served, "/api/sources", &[&bearer(&served)]).status,
        200
    );

    // TLS 1.0 and 1.1 are refused by the server (its protocol_version
    // alert, though the client offers them at security level 0); 1.2 and
    // 1.3 are spoken, the chain verified up to the root through the
    // intermediate the server sends.
    for old in ["-tls1", "-tls1_1"] {
        let said = s_client(&served, &pki, &[old, "-cipher", "DEFAULT@SECLEVEL=0"]);
        assert!(said.contains("alert protocol version"), "{old}: {said}");
    }
    for new in ["-tls1_2", "-tls1_3"] {
        let said = s_client(&served, &pki, &[new, "-verify_return_error"]);
        assert!(said.contains("Verify return code: 0 (ok)"), "{new}: {said}");
        assert!(
            said.contains("CONNECTION ESTABLISHED") || said.contains("New, TLSv1."),
            "{new}: {said}"
        );
    }
}

/// A streamed follow over TLS, read by curl: its status and the first line.
struct Follow {
    curl: Child,
    lines: BufReader<std::process::ChildStdout>,
}

impl Follow {
    fn open(pki: &Pki, served: &Served, target: &str) -> (u16, Option<Follow>) {
        let mut curl = Command::new("curl")
            .args(["-sS", "-i", "-N", "--http1.1", "--cacert"])
            .arg(&pki.ca)
            .arg("--resolve")
            .arg(format!("{NAME}:{}:127.0.0.1", served.port()))
            .arg("-H")
            .arg(bearer(served))
            .arg(format!("https://{}{target}", served.addr))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting curl");
        let mut lines = BufReader::new(curl.stdout.take().expect("the child's stdout"));
        let mut line = String::new();
        lines.read_line(&mut line).expect("reading a line");
        let status: u16 = line.split(' ').nth(1).map_or(0, |s| s.parse().unwrap_or(0));
        while {
            line.clear();
            lines.read_line(&mut line).expect("reading a line") > 0 && !line.trim().is_empty()
        } {}
        let mut follow = Follow { curl, lines };
        if status != 200 {
            follow.close();
            return (status, None);
        }
        (status, Some(follow))
    }

    fn next(&mut self) -> Value {
        let mut line = String::new();
        self.lines.read_line(&mut line).expect("a line");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    }

    /// The client goes away: curl killed by its PID.
    fn close(&mut self) {
        let _ = self.curl.kill();
        let _ = self.curl.wait();
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        self.close();
    }
}

#[test]
fn tls_serve_follows_and_frees_what_a_gone_client_held() {
    use termtape_player::serve::MAX_FOLLOWS;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let pki = Pki::make(dir.path());
    let marker = format!("serve-tls-follow-{}", std::process::id());
    let mut recorder = live_journal_recorder(&format!(
        "echo {marker}-first; sleep 2; echo {marker}-second; sleep 120"
    ));
    let rec = running_recording(recorder.id(), &format!("{marker}-first"));
    let served = Served::spawn(pki.serve(&["--name", NAME], &[Path::new("journal")]));
    let target = format!("/api/events?source=0&rec={rec}&follow=1");
    let follows = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut open = Vec::new();
        while open.len() < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} let in",
                open.len()
            );
            match Follow::open(&pki, &served, &target) {
                (200, Some(mut follow)) => {
                    assert_eq!(follow.next()["type"], "keyframe");
                    open.push(follow);
                }
                (503, _) => std::thread::sleep(Duration::from_millis(200)),
                (other, _) => panic!("follow answered {other}"),
            }
        }
        open
    };
    // What is recorded after the stream began comes through it, chunked
    // inside TLS records.
    let mut first = follows(1).remove(0);
    let mut text = String::new();
    while !text.contains(&format!("{marker}-second")) {
        let object = first.next();
        assert_ne!(object["type"], "end", "{object}");
        text.push_str(object["text"].as_str().unwrap_or_default());
    }
    // Clients go away while the recording is idle: nothing written fails,
    // the server sees the hangup under TLS and gives the places back.
    drop(first);
    for _ in 0..2 {
        let held = follows(MAX_FOLLOWS);
        assert_eq!(Follow::open(&pki, &served, &target).0, 503);
        assert_eq!(
            curl(&pki, &served, "/api/sources", &[&bearer(&served)]).status,
            200
        );
        drop(held);
    }
    let _ = recorder.kill();
    let _ = recorder.wait();
}

/// Whether the server closed `stream` (EOF or reset) before `limit`.
fn closed_by_server(stream: &mut TcpStream, limit: Duration) -> bool {
    stream
        .set_read_timeout(Some(limit))
        .expect("setting a read timeout");
    let mut buf = [0u8; 256];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            // An alert, if the server sent one: read on to the close.
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn tls_serve_drops_stalled_handshakes_within_the_deadline() {
    use termtape_player::serve::WORKERS;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let pki = Pki::make(dir.path());
    let log = dir.path().join("markup.log");
    record(&log);
    let served = Served::spawn(pki.serve(&[], &[&log]));
    let addr = ("127.0.0.1", served.port());
    // A client that connects and says nothing; one that sends the start
    // of a ClientHello (a handshake record of 512 bytes, 16 of them sent).
    let stall = |n: usize| -> Vec<TcpStream> {
        (0..n)
            .map(|i| {
                let mut tcp = TcpStream::connect(addr).expect("connecting to the server");
                if i % 2 == 1 {
                    tcp.write_all(&[
                        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0, 0, 0,
                        0, 0,
                    ])
                    .expect("sending half a ClientHello");
                }
                tcp
            })
            .collect()
    };
    let started = Instant::now();
    let mut stalled = stall(2);
    // While they hold two workers, the others answer.
    for _ in 0..3 {
        assert_eq!(
            curl(&pki, &served, "/api/recordings", &[&bearer(&served)]).status,
            200
        );
    }
    // Every worker held: a request waits in the queue until the stalled
    // ones are dropped at the deadline (20 s), then is answered.
    stalled.extend(stall(WORKERS - 2));
    let answered = curl(&pki, &served, "/api/sources", &[&bearer(&served)]);
    assert_eq!(answered.status, 200, "{}", answered.text());
    for (i, tcp) in stalled.iter_mut().enumerate() {
        assert!(
            closed_by_server(tcp, Duration::from_secs(120)),
            "stalled client {i} was still held after 120 s"
        );
    }
    eprintln!(
        "{} stalled handshakes dropped, the queued request answered, {:.1} s after the first",
        WORKERS,
        started.elapsed().as_secs_f64()
    );
}

/// A network namespace with an interface (one end of a veth pair, both
/// ends inside) holding [`NS_ADDR`], not a loopback address; deleted when
/// dropped.
struct Netns(String);

impl Netns {
    fn new() -> Netns {
        require("ip");
        require("nsenter");
        let name = format!("tt-tls-{}", std::process::id());
        run_ok(Command::new("ip").args(["netns", "add", &name]));
        let ns = Netns(name);
        for args in [
            "link set lo up",
            "link add tt0 type veth peer name tt1",
            &format!("addr add {NS_ADDR}/24 dev tt0"),
            "link set tt0 up",
            "link set tt1 up",
        ] {
            run_ok(Command::new("ip").args(["-n", &ns.0]).args(args.split(' ')));
        }
        ns
    }

    /// `program` run in the namespace.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/run/netns/{}", self.0)).arg(program);
        cmd
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn tls_serve_binds_a_non_loopback_address_only_with_tls() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let pki = Pki::make(dir.path());
    let log = dir.path().join("markup.log");
    record(&log);
    let ns = Netns::new();
    let listen = format!("{NS_ADDR}:0");
    // Without TLS: refused, nothing bound.
    let refused = ns
        .command(bin("termtape"))
        .args(["serve", "--listen", &listen])
        .arg(&log)
        .stdin(Stdio::null())
        .output()
        .expect("running the command");
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(refused.stdout.is_empty());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("not a loopback address"), "{err}");
    // With it: served on the interface's address, reached by that address
    // (the certificate names it), from inside the namespace.
    let mut cmd = ns.command(bin("termtape"));
    cmd.args([
        "serve",
        "--listen",
        &listen,
        "--name",
        NS_ADDR,
        "--tls-cert",
    ])
    .arg(&pki.chain)
    .arg("--tls-key")
    .arg(&pki.key)
    .arg(&log);
    let served = Served::spawn(cmd);
    assert_eq!(served.addr, format!("{NS_ADDR}:{}", served.port()));
    let out = ns
        .command("curl")
        .args(["-sS", "-i", "--raw", "--max-time", "60", "--cacert"])
        .arg(&pki.ca)
        .arg("-H")
        .arg(bearer(&served))
        .arg(format!("https://{}/api/recordings", served.addr))
        .output()
        .expect("running the command");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer = parse_answer(&out.stdout);
    assert_eq!(answer.status, 200, "{}", answer.text());
    let listed: Value = serde_json::from_slice(&answer.body).expect("JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    // The name the operator gave is the only one: the certificate's DNS
    // name, not given, is another Host.
    let other = ns
        .command("curl")
        .args(["-sS", "-i", "--raw", "--max-time", "60", "--cacert"])
        .arg(&pki.ca)
        .arg("--resolve")
        .arg(format!("{NAME}:{}:{NS_ADDR}", served.port()))
        .arg("-H")
        .arg(bearer(&served))
        .arg(format!("https://{NAME}:{}/api/sources", served.port()))
        .output()
        .expect("running the command");
    assert_eq!(parse_answer(&other.stdout).status, 403);
    drop(served);
}

/// `termtape serve` with these TLS files: its exit code and what it said.
fn refused_with(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let out = Command::new(bin("termtape"))
        .arg("serve")
        .args(args)
        .arg("journal")
        .stdin(Stdio::null())
        .output()
        .expect("running the command");
    assert!(out.stdout.is_empty(), "no URL: {out:?}");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn tls_serve_refuses_bad_certificate_and_key_files_naming_them() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let pki = Pki::make(dir.path());
    let d = |name: &str| pki.dir.join(name);
    std::fs::write(d("junk.pem"), "not a certificate\n").expect("writing a test file");
    std::fs::write(d("empty.pem"), "").expect("writing a test file");
    openssl(
        &pki.dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-aes-256-cbc",
            "-pass",
            "pass:secret",
            "-out",
            "encrypted.key",
        ],
    );
    openssl(
        &pki.dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "other.key",
        ],
    );
    let (cert, key) = (pki.chain.clone(), pki.key.clone());
    // (certificate file, key file, --name, the file named, why)
    let cases = [
        (
            d("missing.pem"),
            key.clone(),
            None,
            d("missing.pem"),
            "No such file",
        ),
        (
            pki.dir.clone(),
            key.clone(),
            None,
            pki.dir.clone(),
            "directory",
        ),
        (
            d("junk.pem"),
            key.clone(),
            None,
            d("junk.pem"),
            "not a PEM file",
        ),
        (
            d("empty.pem"),
            key.clone(),
            None,
            d("empty.pem"),
            "not a PEM file",
        ),
        (
            key.clone(),
            key.clone(),
            None,
            key.clone(),
            "no certificate in it",
        ),
        (
            cert.clone(),
            cert.clone(),
            None,
            cert.clone(),
            "no private key in it",
        ),
        (
            cert.clone(),
            d("encrypted.key"),
            None,
            d("encrypted.key"),
            "encrypted",
        ),
        (
            cert.clone(),
            d("other.key"),
            None,
            d("other.key"),
            "not the private key of the certificate",
        ),
        (
            cert.clone(),
            key.clone(),
            Some("a b"),
            "a b".into(),
            "not a host name",
        ),
    ];
    for (cert_file, key_file, name, file, why) in cases {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "--tls-cert".as_ref(),
            cert_file.as_os_str(),
            "--tls-key".as_ref(),
            key_file.as_os_str(),
        ];
        if let Some(name) = name {
            args.extend([std::ffi::OsStr::new("--name"), std::ffi::OsStr::new(name)]);
        }
        let (code, said) = refused_with(&args);
        assert_eq!(code, Some(2), "{args:?}: {said}");
        assert!(
            said.contains(&*file.to_string_lossy()),
            "{args:?} names {file:?}: {said}"
        );
        assert!(said.contains(why), "{args:?}: {why:?} in {said}");
        assert!(!said.contains("panicked"), "{said}");
    }
    // One of the pair alone: a usage error.
    let (code, said) = refused_with(&["--tls-cert".as_ref(), cert.as_os_str()]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("--tls-key"), "{said}");
    // A key others may read is served, with a warning.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pki.key, std::fs::Permissions::from_mode(0o644))
        .expect("setting permissions");
    let mut child = pki
        .serve(&["--name", "elsewhere.example"], &[Path::new("journal")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting termtape serve");
    let mut url = String::new();
    BufReader::new(child.stdout.take().expect("the child's stdout"))
        .read_line(&mut url)
        .expect("reading the URL");
    let _ = child.kill();
    let out = child
        .wait_with_output()
        .expect("the value this test just made");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(url.starts_with("https://elsewhere.example:"), "{url}");
    assert!(said.contains("may be read by others (mode 644)"), "{said}");
    assert!(
        said.contains("--name elsewhere.example: the certificate"),
        "{said}"
    );
}
