//! `termtape serve`: the real binary on a loopback port, asked by a small
//! HTTP client over a TcpStream. Every request needs the token; answers
//! carry the security headers; the API gives what the CLI gives; a request
//! cannot name a path; oversized requests are refused without the
//! server's memory growing; recorded markup comes back only inside JSON
//! strings.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use termtape_tests::browser::Served;
use termtape_tests::{bin, live_journal_recorder, run_ok, running_recording, web_dist};

/// An answer: status, headers (names lower-cased), body (de-chunked).
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a UTF-8 body")
    }
}

/// Sends `request` as it is and reads the whole answer (the server closes
/// the connection after each).
fn send(addr: &str, request: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).expect("connecting");
    stream.write_all(request).expect("sending");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("reading the answer");
    parse_answer(&raw)
}

/// An answer's bytes as they came: status line, headers, body.
pub(crate) fn parse_answer(raw: &[u8]) -> Answer {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..split]).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .expect("a status line")
        .split(' ')
        .nth(1)
        .expect("a status code")
        .parse()
        .expect("a numeric status");
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').expect("a header");
            (n.to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v == "chunked")
    {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size");
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).expect("UTF-8"), 16)
                .expect("a hex chunk size");
        data = &data[line_end + 2..];
        if size == 0 {
            assert_eq!(data, b"\r\n", "the last chunk ends the body");
            return out;
        }
        out.extend_from_slice(&data[..size]);
        assert_eq!(&data[size..size + 2], b"\r\n");
        data = &data[size + 2..];
    }
}

/// `GET target` with the given extra header lines.
fn get(served: &Served, target: &str, extra: &str) -> Answer {
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\n{extra}\r\n",
        served.addr
    );
    send(&served.addr, request.as_bytes())
}

/// `GET target` with the token in an Authorization header.
fn authorised(served: &Served, target: &str) -> Answer {
    get(
        served,
        target,
        &format!("Authorization: Bearer {}\r\n", served.token),
    )
}

/// The headers that keep a browser from running, framing or sniffing.
pub(crate) fn assert_guarded(answer: &Answer) {
    let csp = answer.header("content-security-policy").expect("a CSP");
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find_map(|d| d.strip_prefix(name).map(str::trim))
            .unwrap_or_else(|| panic!("no {name} in {csp}"))
    };
    assert_eq!(directive("default-src "), "'self'");
    assert_eq!(
        directive("script-src "),
        "'self'",
        "scripts: the server's files only"
    );
    // xterm.js's DOM renderer writes a <style> element: inline styles only.
    assert_eq!(directive("style-src "), "'self' 'unsafe-inline'");
    assert_eq!(directive("frame-ancestors "), "'none'");
    assert_eq!(directive("object-src "), "'none'");
    assert_eq!(answer.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(answer.header("x-frame-options"), Some("DENY"));
    assert_eq!(answer.header("cache-control"), Some("no-store"));
}

/// Asserts that every `<` of a JSON text is inside a string.
fn markup_only_in_strings(json: &str) {
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (_, false, '"') => in_string = !in_string,
            (false, _, '<') => panic!("markup outside a JSON string: {json}"),
            _ => {}
        }
    }
}

/// Records a session whose output holds markup into `log`; its id.
pub(crate) fn record(log: &Path) -> String {
    let out = Command::new(bin("termtape"))
        .arg("rec")
        .arg("-o")
        .arg(log)
        .args([
            "--",
            "sh",
            "-c",
            "printf '<script>alert(1)</script>\\n'; sleep 0.3; echo after",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .expect("termtape rec");
    assert!(out.status.success(), "termtape rec: {out:?}");
    let listed = run_ok(
        Command::new(bin("termtape"))
            .args(["ls", "--json"])
            .arg(log),
    );
    let object: Value = serde_json::from_slice(&listed).expect("ls --json");
    object["rec"].as_str().expect("an id").to_owned()
}

/// The server's resident memory, kB.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn serve_needs_the_token_and_guards_every_answer() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = dir.path().join("markup.log");
    record(&log);
    let served = Served::start(&[&log]);

    let missing = get(&served, "/api/recordings", "");
    assert_eq!(missing.status, 403, "{}", missing.text());
    assert_guarded(&missing);
    assert!(missing.header("set-cookie").is_none());

    // Same length, one digit changed; and a prefix.
    let mut wrong = served.token.clone().into_bytes();
    wrong[31] = if wrong[31] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).expect("UTF-8");
    for bad in [wrong.as_str(), &served.token[..31], ""] {
        let answer = get(&served, &format!("/api/recordings?token={bad}"), "");
        assert_eq!(answer.status, 403, "token {bad:?}");
        let answer = get(
            &served,
            "/api/recordings",
            &format!(
                "Authorization: Bearer {bad}\r\nCookie: termtape-1={}\r\n",
                served.token
            ),
        );
        assert_eq!(answer.status, 403, "bearer {bad:?}");
    }

    // The token in the URL sets a cookie, which is enough afterwards.
    let good = get(&served, &format!("/api/sources?token={}", served.token), "");
    assert_eq!(good.status, 200, "{}", good.text());
    assert_guarded(&good);
    let cookie = good.header("set-cookie").expect("a cookie").to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().expect("the cookie's first part");
    let by_cookie = get(&served, "/api/sources", &format!("Cookie: {pair}\r\n"));
    assert_eq!(by_cookie.status, 200, "{}", by_cookie.text());
    let sources: Value = serde_json::from_slice(&by_cookie.body).expect("JSON");
    assert_eq!(sources["sources"][0]["source"], 0);

    // Another Host (a rebinding page), another method: refused.
    let rebound = send(
        &served.addr,
        format!(
            "GET /api/sources HTTP/1.1\r\nHost: evil.example:80\r\nAuthorization: Bearer {}\r\n\r\n",
            served.token
        )
        .as_bytes(),
    );
    assert_eq!(rebound.status, 403);
    let post = send(
        &served.addr,
        format!(
            "POST /api/sources HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Length: 0\r\n\r\n",
            served.addr, served.token
        )
        .as_bytes(),
    );
    assert_eq!(post.status, 405);
    assert_guarded(&post);
}

#[test]
fn serve_answers_as_the_cli_does() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = dir.path().join("markup.log");
    let rec = record(&log);
    let served = Served::start(&[&log]);

    let listed = authorised(&served, "/api/recordings");
    assert_eq!(listed.status, 200, "{}", listed.text());
    assert_guarded(&listed);
    assert_eq!(listed.header("content-type"), Some("application/json"));
    let recordings: Value = serde_json::from_slice(&listed.body).expect("JSON");
    let cli: Value = serde_json::from_slice(&run_ok(
        Command::new(bin("termtape"))
            .args(["ls", "--json"])
            .arg(&log),
    ))
    .expect("ls --json's JSON");
    let mut served_object = recordings[0].clone();
    assert_eq!(served_object["rec"], rec.as_str());
    assert_eq!(served_object["source"], 0);
    served_object
        .as_object_mut()
        .expect("a JSON object")
        .remove("source");
    assert_eq!(served_object, cli, "the ls --json object, plus source");
    let none = authorised(&served, "/api/recordings?user=nobody-at-all");
    assert_eq!(none.text().trim(), "[]");

    // The events from a moment, byte for byte as the CLI writes them.
    let events = authorised(&served, &format!("/api/events?source=0&rec={rec}&at=0.2"));
    assert_eq!(events.status, 200, "{}", events.text());
    assert_guarded(&events);
    let cli = run_ok(
        Command::new(bin("termtape"))
            .args(["events", "--at", "0.2", "--rec", &rec])
            .arg(&log),
    );
    assert_eq!(events.text(), String::from_utf8(cli).expect("UTF-8"));
    assert!(events.text().contains("<script>"), "{}", events.text());

    // Recorded markup: only inside JSON strings, as application/json.
    let found = authorised(&served, "/api/search?q=%3Cscript%3E");
    assert_eq!(found.status, 200, "{}", found.text());
    assert_eq!(found.header("content-type"), Some("application/json"));
    let finds: Value = serde_json::from_slice(&found.body).expect("JSON");
    assert_eq!(finds[0]["line"], "<script>alert(1)</script>");
    assert_eq!(finds[0]["rec"], rec.as_str());
    for body in [listed.text(), found.text()] {
        markup_only_in_strings(body);
    }
    for line in events.text().lines() {
        markup_only_in_strings(line);
    }

    // A source is a number among those given, nothing else; a page not
    // served is not found either.
    for source in [
        "..%2Fetc%2Fpasswd",
        "../etc/passwd",
        "%2Fetc%2Fpasswd",
        "5",
        "1",
        "-0",
        "+0",
        "0x0",
        "",
        "journal",
    ] {
        let answer = authorised(&served, &format!("/api/events?source={source}"));
        assert_eq!(answer.status, 404, "source={source}: {}", answer.text());
        assert_guarded(&answer);
        let error: Value = serde_json::from_slice(&answer.body).expect("a JSON error");
        assert!(error["error"].is_string(), "{error}");
    }
    for path in [
        "/etc/passwd",
        "/../etc/passwd",
        "/api/events/../../etc/passwd",
        "/api",
    ] {
        assert_eq!(authorised(&served, path).status, 404, "{path}");
    }
    let missing = authorised(&served, "/api/events?source=0&rec=no-such-recording");
    assert_eq!(missing.status, 404, "{}", missing.text());
}

#[test]
fn serve_refuses_oversized_requests_without_growing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = dir.path().join("markup.log");
    record(&log);
    let served = Served::start(&[&log]);
    // Warm up: the workers have answered something.
    assert_eq!(authorised(&served, "/api/sources").status, 200);
    let before = rss_kb(served.pid());
    let big = format!(
        "GET /api/sources HTTP/1.1\r\nHost: {}\r\nX-Filler: {}\r\n\r\n",
        served.addr,
        "a".repeat(1 << 20)
    );
    for _ in 0..40 {
        let answer = send(&served.addr, big.as_bytes());
        assert_eq!(answer.status, 431, "{}", answer.text());
        assert_guarded(&answer);
    }
    let many = format!(
        "GET /api/sources HTTP/1.1\r\nHost: {}\r\n{}\r\n",
        served.addr,
        "X-A: b\r\n".repeat(100)
    );
    assert_eq!(send(&served.addr, many.as_bytes()).status, 431);
    let after = rss_kb(served.pid());
    // 40 MiB were sent; what is kept is one 8 KiB head per worker.
    assert!(
        after < before + 8 * 1024,
        "the server grew from {before} kB to {after} kB"
    );
    // And it still answers.
    assert_eq!(authorised(&served, "/api/sources").status, 200);
}

#[test]
fn serve_refuses_what_it_cannot_serve_safely() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = dir.path().join("markup.log");
    record(&log);
    let log = log.to_str().expect("a UTF-8 path");
    let cases: [&[&str]; 5] = [
        &["--listen", "0.0.0.0:0", log],
        &["--listen", "[::]:0", log],
        &[
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            log,
        ],
        &["-"],
        &["/no/such/recording.log"],
    ];
    for args in cases {
        let out = Command::new(bin("termtape"))
            .arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("running termtape serve");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(out.stdout.is_empty(), "no URL for {args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        if args.contains(&"--tls-cert") {
            assert!(err.contains("--tls-cert c.pem"), "{err}");
        } else if args[0] == "--listen" {
            assert!(err.contains("not a loopback address"), "{err}");
            assert!(err.contains("--tls-cert"), "{err}");
        }
    }
}

/// The cookie a good token sets, as `name=value`.
fn cookie_of(answer: &Answer) -> String {
    let cookie = answer.header("set-cookie").expect("a cookie");
    cookie
        .split(';')
        .next()
        .expect("the cookie's first part")
        .to_owned()
}

#[test]
fn serve_answers_the_front_end_built_into_it() {
    let dist = web_dist();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = dir.path().join("markup.log");
    record(&log);
    let served = Served::start(&[&log]);

    // As a browser goes: the URL printed, then the page's own files with
    // the cookie the first answer set, and nothing else.
    let page = get(&served, &format!("/?token={}", served.token), "");
    assert_eq!(page.status, 200, "{}", page.text());
    assert_guarded(&page);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        page.body,
        std::fs::read(dist.join("serve.html")).expect("reading a file")
    );
    let cookie = format!("Cookie: {}\r\n", cookie_of(&page));
    let mut names: Vec<String> = std::fs::read_dir(&dist)
        .expect("listing a directory")
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .into_string()
                .expect("a UTF-8 file name")
        })
        .collect();
    names.sort();
    for want in [
        "index.html",
        "serve.html",
        "termtape.js",
        "termtape.css",
        "manifest.json",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    for name in &names {
        let answer = get(&served, &format!("/{name}"), &cookie);
        assert_eq!(answer.status, 200, "{name}: {}", answer.text());
        assert_guarded(&answer);
        let bytes = std::fs::read(dist.join(name)).expect("reading a file");
        assert!(
            answer.body == bytes,
            "{name}: the served bytes are not the file's"
        );
        let types = [
            ("html", "text/html; charset=utf-8"),
            ("js", "text/javascript; charset=utf-8"),
            ("css", "text/css; charset=utf-8"),
            ("json", "application/json"),
        ];
        let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
        if let Some((_, want)) = types.iter().find(|(e, _)| *e == ext) {
            assert_eq!(answer.header("content-type"), Some(*want), "{name}");
        }
        // Without the token, not even the page's files.
        let refused = get(&served, &format!("/{name}"), "");
        assert_eq!(refused.status, 403, "{name} without the token");
        assert!(refused.body.len() < 200, "{name}: only a JSON error");
    }
    for path in [
        "/Cargo.toml",
        "/.termtape-files",
        "/web/dist/serve.html",
        "/%2e%2e/Cargo.toml",
        "/serve.html/",
        "/SERVE.HTML",
        "/serve.html?x=1",
    ] {
        let answer = get(&served, path, &cookie);
        assert!(
            answer.status == 404 || answer.status == 400,
            "{path}: {}",
            answer.status
        );
    }
}

#[test]
fn cockpit_install_writes_the_same_files() {
    use std::os::unix::fs::PermissionsExt;
    let dist = web_dist();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let package = dir.path().join("cockpit").join("termtape");
    // An earlier install's file, gone from this build, and a file of
    // someone else's in the same directory.
    std::fs::create_dir_all(&package).expect("creating a directory");
    std::fs::write(package.join("old-chunk.js"), "old").expect("writing a test file");
    std::fs::write(package.join(".termtape-files"), "old-chunk.js\n../escape\n")
        .expect("writing a test file");
    std::fs::write(package.join("notes.txt"), "mine").expect("writing a test file");
    std::fs::write(dir.path().join("cockpit").join("escape"), "outside")
        .expect("writing a test file");
    std::fs::set_permissions(&package, std::fs::Permissions::from_mode(0o700))
        .expect("setting permissions");
    std::fs::write(package.join("termtape.js"), "stale").expect("writing a test file");
    std::fs::set_permissions(
        package.join("termtape.js"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("setting permissions");

    let out = run_ok(
        Command::new(bin("termtape"))
            .args(["cockpit", "install", "--dir"])
            .arg(&package),
    );
    let said = String::from_utf8(out).expect("UTF-8");
    for entry in std::fs::read_dir(&dist).expect("listing a directory") {
        let entry = entry.expect("a directory entry");
        let installed = package.join(entry.file_name());
        assert!(
            std::fs::read(&installed).expect("reading a file")
                == std::fs::read(entry.path()).expect("reading a file"),
            "{}",
            installed.display()
        );
        let mode = std::fs::metadata(&installed)
            .expect("a file's metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o644, "{}", installed.display());
        assert!(said.contains(&installed.display().to_string()), "{said}");
    }
    let mode = std::fs::metadata(&package)
        .expect("a file's metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o755);
    assert!(
        !package.join("old-chunk.js").exists(),
        "the old file is removed"
    );
    assert!(said.contains("old-chunk.js"), "{said}");
    assert!(package.join("notes.txt").exists(), "other files are kept");
    assert!(dir.path().join("cockpit").join("escape").exists());
    // Again, over itself: the same files.
    run_ok(
        Command::new(bin("termtape"))
            .args(["cockpit", "install", "--dir"])
            .arg(&package),
    );
    assert!(
        std::fs::read(package.join("index.html")).expect("reading a file")
            == std::fs::read(dist.join("index.html")).expect("reading a file")
    );
}

/// A streamed answer read as it comes: asked over HTTP/1.0, so its body
/// is the JSON lines themselves, ended by the server closing.
struct Stream {
    status: u16,
    reader: BufReader<TcpStream>,
}

impl Stream {
    /// Sends `GET target` with the token and reads the head.
    fn open(served: &Served, target: &str) -> Stream {
        let mut stream = TcpStream::connect(&served.addr).expect("connecting");
        write!(
            stream,
            "GET {target} HTTP/1.0\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\r\n",
            served.addr, served.token
        )
        .expect("sending");
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .expect("setting a read timeout");
        let mut reader = BufReader::new(stream);
        let deadline = Instant::now() + Duration::from_secs(30);
        let status_line = Stream::read_line(&mut reader, deadline).expect("a status line");
        let status = status_line
            .split(' ')
            .nth(1)
            .expect("a status code")
            .parse()
            .expect("a number");
        while Stream::read_line(&mut reader, deadline).is_some_and(|l| !l.trim().is_empty()) {}
        Stream { status, reader }
    }

    fn read_line(reader: &mut BufReader<TcpStream>, deadline: Instant) -> Option<String> {
        let mut line = Vec::new();
        while Instant::now() < deadline {
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => return None,
                Ok(_) if line.ends_with(b"\n") => {
                    return Some(String::from_utf8(line).expect("UTF-8"));
                }
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("reading the stream: {e}"),
            }
        }
        None
    }

    /// The next JSON object, waiting until `deadline`.
    fn next(&mut self, deadline: Instant) -> Option<Value> {
        Stream::read_line(&mut self.reader, deadline)
            .map(|l| serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}: {l}")))
    }
}

/// Opens `n` follows of `target` that all get their first screen, trying
/// again (for 30 s at most) while the server still holds places of
/// clients gone.
fn follows(served: &Served, target: &str, n: usize) -> Vec<Stream> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut open: Vec<Stream> = Vec::new();
    while open.len() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} follows were let in",
            open.len()
        );
        let mut stream = Stream::open(served, target);
        match stream.status {
            200 => {
                let first = stream.next(deadline).expect("a first object");
                assert_eq!(first["type"], "keyframe", "{first}");
                open.push(stream);
            }
            503 => std::thread::sleep(Duration::from_millis(200)),
            other => panic!("follow answered {other}"),
        }
    }
    open
}

#[test]
fn serve_follows_a_live_recording_and_frees_what_a_gone_client_held() {
    use termtape_player::serve::MAX_FOLLOWS;
    let marker = format!("serve-follow-{}", std::process::id());
    let script = format!("echo {marker}-first; sleep 2; echo {marker}-second; sleep 120");
    let mut recorder = live_journal_recorder(&script);
    let stop_recorder = |recorder: &mut Child| {
        let _ = recorder.kill();
        let _ = recorder.wait();
    };
    let rec = running_recording(recorder.id(), &format!("{marker}-first"));
    let served = Served::start(&[Path::new("journal")]);
    let target = format!("/api/events?source=0&rec={rec}&follow=1");

    // What is recorded after the stream began comes through it.
    let mut stream = follows(&served, &target, 1).remove(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut text = String::new();
    while !text.contains(&format!("{marker}-second")) {
        let Some(object) = stream.next(deadline) else {
            stop_recorder(&mut recorder);
            panic!("the stream did not bring the second line: {text:?}");
        };
        assert_ne!(object["type"], "end", "the live recording ended: {object}");
        if object["type"] == "output" {
            text.push_str(object["text"].as_str().unwrap_or_default());
        }
    }
    // The client goes away while the recording is idle; then as many
    // clients as may follow at once come and go, twice: every place is
    // given back each time.
    drop(stream);
    for _ in 0..2 {
        let held = follows(&served, &target, MAX_FOLLOWS);
        let refused = authorised(&served, &target);
        assert_eq!(refused.status, 503, "{}", refused.text());
        let error: Value = serde_json::from_slice(&refused.body).expect("a JSON error");
        assert!(error["error"].is_string(), "{error}");
        // The other workers still list and search.
        assert_eq!(authorised(&served, "/api/sources").status, 200);
        let listed = authorised(&served, &format!("/api/recordings?source=0&rec={rec}"));
        assert_eq!(listed.status, 200, "{}", listed.text());
        drop(held);
    }
    // A file does not grow: not followed.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = dir.path().join("markup.log");
    let file_rec = record(&log);
    let file_served = Served::start(&[&log]);
    let answer = authorised(
        &file_served,
        &format!("/api/events?source=0&rec={file_rec}&follow=1"),
    );
    assert_eq!(answer.status, 400, "{}", answer.text());
    stop_recorder(&mut recorder);
}

/// The objects of JSON lines.
fn lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Writes `message` to the journal through logger (syslog), tagged `tag`,
/// and waits until journald has it.
fn log_line(tag: &str, message: &str) {
    run_ok(Command::new("logger").args(["-t", tag, message]));
    assert!(termtape_tests::journal_sync());
}

#[test]
fn logs_are_the_hosts_journal_entries_while_the_recording_ran() {
    termtape_tests::journald();
    let tag = format!("tt-logs-{}", std::process::id());
    log_line(&tag, &format!("{tag} before"));
    // Inside: two entries, each in the journal before the next output (so
    // before the recording's end), and the recording's own entry showing
    // "own", waited for before the last output.
    let script = format!(
        "logger -t {tag} '{tag} inside <b>1</b>'; journalctl --sync; echo {tag} own; \
         until journalctl -q -o cat SYSLOG_IDENTIFIER=termtape --since -5min | grep -q '{tag} own'; \
         do sleep 0.1; done; \
         logger -t {tag} '{tag} inside 2'; journalctl --sync; echo done"
    );
    let status = live_journal_recorder(&script).wait().expect("termtape rec");
    assert!(status.success(), "termtape rec: {status}");
    log_line(&tag, &format!("{tag} after"));
    let recorded = run_ok(Command::new("journalctl").args([
        "-o",
        "json",
        "SYSLOG_IDENTIFIER=termtape",
        "--since",
        "-5min",
    ]));
    let rec = lines(&recorded)
        .iter()
        .rev()
        .find(|e| {
            e["MESSAGE"]
                .as_str()
                .is_some_and(|m| m.contains(&format!("{tag} own")))
        })
        .and_then(|e| e["TLOG_REC"].as_str().map(str::to_owned))
        .expect("the recording's entries");
    let listed = lines(&run_ok(
        Command::new(bin("termtape")).args(["ls", "--json", "journal", "--rec", &rec]),
    ));
    let start = listed[0]["start"].as_u64().expect("a start");

    let cli = run_ok(Command::new(bin("termtape")).args(["logs", "--rec", &rec, "journal"]));
    let objects = lines(&cli);
    let ours: Vec<&Value> = objects
        .iter()
        .filter(|o| o["message"].as_str().is_some_and(|m| m.contains(&tag)))
        .collect();
    let messages: Vec<&str> = ours
        .iter()
        .map(|o| o["message"].as_str().expect("a message"))
        .collect();
    assert_eq!(
        messages,
        [format!("{tag} inside <b>1</b>"), format!("{tag} inside 2")],
        "only the entries inside the window, not the recording's own: {objects:?}"
    );
    let journal = lines(&run_ok(Command::new("journalctl").args([
        "-o",
        "json",
        &format!("SYSLOG_IDENTIFIER={tag}"),
    ])));
    for object in &ours {
        let entry = journal
            .iter()
            .find(|e| e["MESSAGE"] == object["message"])
            .expect("the entry in journalctl");
        // The time the sender's message reached journald's socket, as
        // logs gives it (journald's receive time when that is missing).
        let field = |name: &str| -> Option<u64> { entry[name].as_str()?.parse().ok() };
        let received = field("__REALTIME_TIMESTAMP").expect("a receive time");
        let usec = field("_SOURCE_REALTIME_TIMESTAMP")
            .filter(|sent| *sent <= received)
            .unwrap_or(received);
        assert_eq!(object["time"], usec / 1000, "{object}");
        assert_eq!(object["at"], usec / 1000 - start, "{object}");
        assert_eq!(object["identifier"], tag.as_str());
        assert_eq!(object["v"], 1);
        assert!(
            object["pid"].is_u64() && object["priority"].is_u64(),
            "{object}"
        );
        assert_eq!(object["host"], listed[0]["host"]);
    }
    let end = objects.last().expect("a last object");
    assert_eq!(end["type"], "end");
    assert_eq!(end["count"], objects.len() as u64 - 1);
    assert_eq!(end["truncated"], false);
    // Every message is a JSON string: markup stays data.
    for line in String::from_utf8_lossy(&cli).lines() {
        markup_only_in_strings(line);
    }

    // At most --max, the cut told.
    let one = lines(&run_ok(
        Command::new(bin("termtape")).args(["logs", "--max", "1", "--rec", &rec, "journal"]),
    ));
    assert_eq!(one.len(), 2, "{one:?}");
    assert_eq!(
        (one[1]["count"].clone(), one[1]["truncated"].clone()),
        (1.into(), true.into())
    );

    // The same through serve, byte for byte.
    let served = Served::start(&[Path::new("journal")]);
    let answer = authorised(&served, &format!("/api/logs?source=0&rec={rec}"));
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.header("content-type"), Some("application/x-ndjson"));
    assert_eq!(answer.text(), String::from_utf8(cli).expect("UTF-8"));
    for bad in ["max=0", "max=-1", "max=1000001", "max=x"] {
        let answer = authorised(&served, &format!("/api/logs?source=0&rec={rec}&{bad}"));
        assert_eq!(answer.status, 400, "{bad}");
    }
    let missing = authorised(&served, "/api/logs?source=0&rec=no-such-recording");
    assert_eq!(missing.status, 404, "{}", missing.text());
}

#[test]
fn the_original_bytes_download_as_cat_original_gives_them() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = crate::charset::koi8r_recording(dir.path());
    let listed = lines(&run_ok(
        Command::new(bin("termtape"))
            .arg("ls")
            .arg("--json")
            .arg(&log),
    ));
    let rec = listed[0]["rec"].as_str().expect("a JSON string").to_owned();
    let served = Served::start(&[&log]);
    for (input, param, suffix) in [(false, "", "out"), (true, "&input=1", "in")] {
        let mut cat = Command::new(bin("termtape"));
        cat.args(["cat", "--original"]);
        if input {
            cat.arg("--input");
        }
        let want = run_ok(cat.arg(&log));
        let answer = authorised(&served, &format!("/api/original?source=0&rec={rec}{param}"));
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_guarded(&answer);
        assert_eq!(
            answer.header("content-type"),
            Some("application/octet-stream")
        );
        assert_eq!(
            answer.header("content-disposition"),
            Some(format!("attachment; filename=\"{rec}.{suffix}.bin\"").as_str())
        );
        assert!(answer.body == want, "the bytes of cat --original{param}");
    }
    // The output really is KOI8-R, not its UTF-8 text.
    let body = authorised(&served, &format!("/api/original?source=0&rec={rec}")).body;
    let koi8 = crate::charset::iconv(
        crate::charset::KOI8R.text.as_bytes(),
        "UTF-8",
        crate::charset::KOI8R.charset,
    );
    assert!(body.windows(koi8.len()).any(|w| w == koi8.as_slice()));
    // Without a recording's id in a source of one, the same; an unknown id
    // is not found.
    assert_eq!(authorised(&served, "/api/original?source=0").body, body);
    let missing = authorised(&served, "/api/original?source=0&rec=nope");
    assert_eq!(missing.status, 404, "{}", missing.text());
}

/// A file holding several signed recordings, as a central syslog file
/// does: the verdict `/api/recordings?verify=1&rec=R` gives for each (the
/// page asks for one at a time, and the server checks the whole file once
/// and keeps the verdicts while the file stays as it was) is the one
/// `termtape verify` gives; once the file is changed (one recording's output
/// edited), the new verdict is given, not one kept from before.
#[test]
fn verdicts_of_a_file_of_many_recordings_follow_the_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (key, public) = crate::chain::keys(dir.path());
    let log = dir.path().join("many.log");
    for i in 0..3 {
        run_ok(
            Command::new(bin("termtape-rec"))
                .args(["-q", "--seal-key"])
                .arg(&key)
                .arg("-o")
                .arg(&log)
                .args(["--", "sh", "-c"])
                .arg(format!("echo recording number {i}; sleep 0.1"))
                .stdin(Stdio::null()),
        );
    }
    let verified = || -> Vec<Value> {
        let out = Command::new(bin("termtape"))
            .args(["verify", "--json", "--key"])
            .arg(&public)
            .arg(&log)
            .output()
            .expect("termtape verify");
        out.stdout
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).expect("verify --json"))
            .collect()
    };
    let mut cmd = Command::new(bin("termtape"));
    cmd.args(["serve", "--key"]).arg(&public).arg(&log);
    let served = Served::spawn(cmd);
    let served_verdicts = |want: &[Value]| {
        for want in want {
            let rec = want["rec"].as_str().expect("rec");
            let answer = authorised(
                &served,
                &format!("/api/recordings?source=0&rec={rec}&verify=1"),
            );
            assert_eq!(answer.status, 200, "{}", answer.text());
            let listed: Value = serde_json::from_slice(&answer.body).expect("JSON");
            let verdict = &listed[0]["verify"];
            assert_eq!(verdict["verdict"], want["verdict"], "{rec}: {verdict}");
            assert_eq!(verdict["text"], want["text"], "{rec}: {verdict}");
        }
    };

    let before = verified();
    assert_eq!(before.len(), 3, "{before:?}");
    assert!(
        before.iter().all(|v| v["verdict"] == "intact"),
        "{before:?}"
    );
    served_verdicts(&before);
    // Once the file has settled, its verdicts are kept: asked again, they
    // are the same.
    std::thread::sleep(Duration::from_millis(2100));
    served_verdicts(&before);
    served_verdicts(&before);

    // The second recording's output edited, the file replaced by the copy.
    let second = before[1]["rec"].as_str().expect("rec");
    let text = std::fs::read(&log).expect("the log");
    let mut edited = Vec::new();
    let mut flipped = false;
    for line in text.split_inclusive(|&b| b == b'\n') {
        let mine = String::from_utf8_lossy(line).contains(second);
        if mine && !flipped && String::from_utf8_lossy(line).contains("recording number") {
            edited.extend(crate::chain::flip_after(line, "\"out_txt\":\""));
            flipped = true;
        } else {
            edited.extend_from_slice(line);
        }
    }
    assert!(flipped, "a line of {second} holds its output");
    let copy = dir.path().join("many.log.new");
    std::fs::write(&copy, &edited).expect("the edited copy");
    std::fs::rename(&copy, &log).expect("replacing the log");
    let after = verified();
    assert_eq!(after[1]["verdict"], "edited", "{after:?}");
    assert_eq!(after[0]["verdict"], "intact", "{after:?}");
    served_verdicts(&after);
}
