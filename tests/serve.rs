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

use serde_json::Value;
use termtape_tests::{bin, run_ok};

/// A running `termtape serve`, stopped by its PID when dropped.
struct Served {
    child: Child,
    addr: String,
    token: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `termtape serve` on a port the system chooses, and reads the URL
/// it prints: `http://ADDR/?token=HEX`.
fn serve(sources: &[&Path]) -> Served {
    let mut child = Command::new(bin("termtape"))
        .arg("serve")
        .args(sources)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting termtape serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("reading the URL");
    let rest = line
        .trim()
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("not a URL: {line:?}"));
    let (addr, token) = rest.split_once("/?token=").expect("a token in the URL");
    assert_eq!(token.len(), 32, "128 bits as hex: {token}");
    Served {
        addr: addr.to_owned(),
        token: token.to_owned(),
        child,
    }
}

/// An answer: status, headers (names lower-cased), body (de-chunked).
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> &str {
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
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(&raw)));
    let head = std::str::from_utf8(&raw[..split]).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
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
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap(), 16)
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
fn assert_guarded(answer: &Answer) {
    let csp = answer.header("content-security-policy").expect("a CSP");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
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
fn record(log: &Path) -> String {
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
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("markup.log");
    record(&log);
    let served = serve(&[&log]);

    let missing = get(&served, "/api/recordings", "");
    assert_eq!(missing.status, 403, "{}", missing.text());
    assert_guarded(&missing);
    assert!(missing.header("set-cookie").is_none());

    // Same length, one digit changed; and a prefix.
    let mut wrong = served.token.clone().into_bytes();
    wrong[31] = if wrong[31] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).unwrap();
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
    let good = get(&served, &format!("/?token={}", served.token), "");
    assert_eq!(good.status, 200, "{}", good.text());
    assert_guarded(&good);
    let cookie = good.header("set-cookie").expect("a cookie").to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap();
    let by_cookie = get(&served, "/api/sources", &format!("Cookie: {pair}\r\n"));
    assert_eq!(by_cookie.status, 200, "{}", by_cookie.text());
    let sources: Value = serde_json::from_slice(&by_cookie.body).unwrap();
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
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("markup.log");
    let rec = record(&log);
    let served = serve(&[&log]);

    let listed = authorised(&served, "/api/recordings");
    assert_eq!(listed.status, 200, "{}", listed.text());
    assert_guarded(&listed);
    assert_eq!(listed.header("content-type"), Some("application/json"));
    let recordings: Value = serde_json::from_slice(&listed.body).unwrap();
    let cli: Value = serde_json::from_slice(&run_ok(
        Command::new(bin("termtape"))
            .args(["ls", "--json"])
            .arg(&log),
    ))
    .unwrap();
    let mut served_object = recordings[0].clone();
    assert_eq!(served_object["rec"], rec.as_str());
    assert_eq!(served_object["source"], 0);
    served_object.as_object_mut().unwrap().remove("source");
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
    assert_eq!(events.text(), String::from_utf8(cli).unwrap());
    assert!(events.text().contains("<script>"), "{}", events.text());

    // Recorded markup: only inside JSON strings, as application/json.
    let found = authorised(&served, "/api/search?q=%3Cscript%3E");
    assert_eq!(found.status, 200, "{}", found.text());
    assert_eq!(found.header("content-type"), Some("application/json"));
    let finds: Value = serde_json::from_slice(&found.body).unwrap();
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
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("markup.log");
    record(&log);
    let served = serve(&[&log]);
    // Warm up: the workers have answered something.
    assert_eq!(authorised(&served, "/api/sources").status, 200);
    let before = rss_kb(served.child.id());
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
    let after = rss_kb(served.child.id());
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
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("markup.log");
    record(&log);
    let log = log.to_str().unwrap();
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
        if args[0] == "--listen" {
            assert!(err.contains("TLS is not built yet"), "{err}");
        }
    }
}
