//! `termtape serve`: the web front end and its data API over HTTP/1.1,
//! for a browser on the reviewer's machine.
//!
//! `GET /` is the page (`serve.html`), `GET /NAME` the page's other files,
//! all embedded at build time ([`crate::web`]).
//! Each endpoint calls the library functions the CLI calls, in-process:
//! `GET /api/recordings` is `ls --json`, `GET /api/search` is
//! `search --json`, `GET /api/events` is `termtape events` (streamed with
//! chunked transfer encoding). A request names a source only by its index
//! among the SOURCE arguments the server was started with, never by a path.
//!
//! The server is small on purpose (std's `TcpListener`, no async runtime):
//! a fixed pool of [`WORKERS`] threads, a bounded queue of connections,
//! requests of at most [`MAX_HEAD`] bytes and [`MAX_HEADERS`] headers, no
//! bodies, read and write timeouts, one request per connection. Every
//! request carries a random token ([`Token`]), compared in constant time;
//! every response carries headers that keep a browser from running,
//! framing or sniffing what it gets. It listens on loopback, or on any
//! address with TLS ([`TlsFiles`], the system's OpenSSL: see `tls.rs`).

use std::collections::HashMap;
use std::io::{self, BufWriter, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use termtape_format::chain::PublicKey;
use termtape_format::verify::Report;

use crate::audit::{self, AuditSource, print::What};
use crate::events::{self, Span};
use crate::recording::{Damage, Query, ReadError, Selection, choose};
use crate::search::{self, Pattern, Place};
use crate::seek::At;
use crate::source::{self, Filter, KeepWaiting, Source};
use crate::visible::json_line;
use crate::{cat, list, logs, time, web};

mod tls;
pub use tls::TlsFiles;

/// Threads answering requests: a stream of events holds one for as long
/// as it runs.
pub const WORKERS: usize = 8;
/// Followed event streams at once (they last as long as a live
/// recording): the other workers stay free for listing and searching.
pub const MAX_FOLLOWS: usize = WORKERS / 2;
/// Connections accepted and waiting for a worker; past it a connection is
/// answered 503 at once.
const QUEUE: usize = 32;
/// The most bytes of a request's line and headers.
pub const MAX_HEAD: usize = 8 * 1024;
/// The most header lines in a request.
pub const MAX_HEADERS: usize = 64;
/// How long a read may wait for the client.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the whole head of a request may take (a client sending a byte
/// now and then).
const HEAD_DEADLINE: Duration = Duration::from_secs(20);
/// How long a write may wait for the client to read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// What is read and thrown away after answering a bad request, so the
/// answer is not lost to a reset: at most this much, for at most a second.
const DRAIN: usize = 1 << 20;

/// The headers every response carries.
///
/// Scripts come only from the server's own files (no inline script, no
/// eval). Styles may also be inline: xterm.js's DOM renderer puts its
/// colours and cell sizes in a `<style>` element it creates; a style
/// cannot run code, and every text the page shows from a recording goes
/// through xterm.js or `textContent`, never into markup.
const SECURITY_HEADERS: &str = "Content-Security-Policy: default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'\r\n\
     Referrer-Policy: no-referrer\r\n\
     X-Content-Type-Options: nosniff\r\n\
     X-Frame-Options: DENY\r\n\
     Cross-Origin-Resource-Policy: same-origin\r\n\
     Cache-Control: no-store\r\n";

/// Sent over TLS: a browser that saw it goes to this host only over
/// HTTPS for a year (every port of it; not for an address).
const HSTS: &str = "Strict-Transport-Security: max-age=31536000\r\n";

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// An address other than loopback without TLS.
    #[error(
        "{0} is not a loopback address: serving beyond this machine needs TLS: give \
         --tls-cert CERT.pem and --tls-key KEY.pem, or listen on 127.0.0.1 or ::1 and \
         reach it through an SSH tunnel"
    )]
    NotLoopback(SocketAddr),
    /// A certificate or key file that cannot be used.
    #[error("{option} {}: {problem}", file.display())]
    Tls {
        /// `--tls-cert` or `--tls-key`.
        option: &'static str,
        /// The file.
        file: std::path::PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A key that is not the certificate's.
    #[error(
        "--tls-key {}: not the private key of the certificate in --tls-cert {} (the first \
         certificate in that file must be the server's own)",
        key.display(),
        cert.display()
    )]
    KeyMismatch {
        /// The certificate file.
        cert: std::path::PathBuf,
        /// The key file.
        key: std::path::PathBuf,
    },
    /// OpenSSL could not set up a context.
    #[error("setting up TLS: {0}")]
    TlsSetup(String),
    /// A `--name` that is not a host name or address.
    #[error(
        "--name {0:?}: not a host name (letters, digits, '-' and '.') or an IP address; \
         give it without a port"
    )]
    Name(String),
    /// A source that cannot be served.
    #[error("{0}")]
    Source(String),
    /// No random token.
    #[error("getting a random token: {0}")]
    Random(io::Error),
    /// The address could not be bound.
    #[error("listening on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What the system said.
        #[source]
        source: io::Error,
    },
}

/// The access token: 128 random bits, written as 32 hex digits.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Token {
    /// A new token from the system's random source.
    pub fn random() -> io::Result<Token> {
        let mut bytes = [0u8; 16];
        let mut got = 0;
        while got < bytes.len() {
            got +=
                rustix::rand::getrandom(&mut bytes[got..], rustix::rand::GetRandomFlags::empty())?;
        }
        let mut hex = String::with_capacity(32);
        for b in bytes {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
        }
        Ok(Token(hex))
    }

    /// The token's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `given` is the token, in time independent of where they
    /// differ (the length, 32, is no secret).
    pub fn matches(&self, given: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), given.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
        std::hint::black_box(diff) == 0
    }
}

/// A server bound to its address, not yet answering.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
}

/// What every worker reads.
#[derive(Debug)]
struct Shared {
    token: Token,
    /// The SOURCE arguments, as given: parsed again for each request.
    sources: Vec<String>,
    addr: SocketAddr,
    /// Followed event streams now.
    follows: AtomicUsize,
    /// Serving over TLS: the context and the names the server answers to.
    tls: Option<tls::Tls>,
    /// The recorders' public key verdicts are checked against (`None`: no
    /// key, and intact recordings are reported as not checked).
    trusted: Option<PublicKey>,
    /// Where the audit records of `/api/commands` and `/api/files` come
    /// from (`AuditSource::parse` forms; empty: auditd's log).
    audit_logs: Vec<String>,
    /// The verdicts of every recording of a file source, by source index,
    /// with the file's state they were checked on (see [`file_verdicts`]).
    verdicts: Mutex<HashMap<usize, CheckedFile>>,
}

impl Server {
    /// Checks the sources and binds `listen`: a loopback address, or with
    /// `tls` any address; port 0 lets the system choose. The certificate
    /// and key are read and checked here, before anything is bound.
    /// Verdicts (`verify=1`) are checked against `trusted`.
    pub fn bind(
        listen: SocketAddr,
        tls: Option<&TlsFiles>,
        sources: Vec<String>,
        trusted: Option<PublicKey>,
    ) -> Result<Server, ServeError> {
        if tls.is_none() && !listen.ip().is_loopback() {
            return Err(ServeError::NotLoopback(listen));
        }
        for spec in &sources {
            check_source(spec)?;
        }
        let tls = tls.map(tls::Tls::load).transpose()?;
        let token = Token::random().map_err(ServeError::Random)?;
        let listener = TcpListener::bind(listen).map_err(|source| ServeError::Bind {
            addr: listen,
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| ServeError::Bind {
            addr: listen,
            source,
        })?;
        Ok(Server {
            listener,
            addr,
            shared: Arc::new(Shared {
                token,
                sources,
                addr,
                follows: AtomicUsize::new(0),
                tls,
                trusted,
                audit_logs: Vec::new(),
                verdicts: Mutex::default(),
            }),
        })
    }

    /// Reads the audit records of `/api/commands` and `/api/files` from
    /// `logs` (files, `journal`, `journal:DIR`) instead of auditd's log and
    /// its rotated copies.
    pub fn with_audit_logs(mut self, logs: Vec<String>) -> Server {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.audit_logs = logs;
        }
        self
    }

    /// The address bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL to open, with the token, as Jupyter prints it.
    pub fn url(&self) -> String {
        format!(
            "{}?token={}",
            self.shared.base_url(),
            self.shared.token.as_str()
        )
    }

    /// What the operator should know about the certificate and key: one
    /// sentence each.
    pub fn warnings(&self) -> &[String] {
        self.shared.tls.as_ref().map_or(&[], |t| &t.warnings)
    }

    /// Answers requests until the process ends.
    pub fn run(self) -> io::Result<()> {
        let (tx, rx): (SyncSender<TcpStream>, Receiver<TcpStream>) = sync_channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..WORKERS {
            let rx = Arc::clone(&rx);
            let shared = Arc::clone(&self.shared);
            std::thread::Builder::new()
                .name(format!("serve-{n}"))
                .spawn(move || worker(&rx, &shared))?;
        }
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => match tx.try_send(stream) {
                    Ok(()) => {}
                    // A TLS client cannot be answered before a handshake,
                    // which only a worker does: closed.
                    Err(TrySendError::Full(_)) if self.shared.tls.is_some() => {}
                    Err(TrySendError::Full(mut stream)) => {
                        let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
                        let _ = stream.write_all(&head(
                            503,
                            "application/json",
                            "",
                            Framing::Length(0),
                            false,
                        ));
                    }
                    Err(TrySendError::Disconnected(_)) => {
                        return Err(io::Error::other("every worker thread ended"));
                    }
                },
                // Out of descriptors or a connection reset before it was
                // taken: wait a little rather than spin.
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Shared {
    /// `http://ADDR:PORT/`, or over TLS `https://NAME:PORT/` with the
    /// first name that is not a wildcard (the address if there is none).
    fn base_url(&self) -> String {
        let Some(tls) = &self.tls else {
            return format!("http://{}/", self.addr);
        };
        let port = self.addr.port();
        let host = tls
            .names
            .iter()
            .find(|n| !n.starts_with('*'))
            .cloned()
            .unwrap_or_else(|| tls::bracketed(self.addr.ip()));
        if port == 443 {
            format!("https://{host}/")
        } else {
            format!("https://{host}:{port}/")
        }
    }
}

/// Refuses what cannot be served: standard input (read once), a file that
/// is not there or not a file.
fn check_source(spec: &str) -> Result<(), ServeError> {
    if spec == "-" {
        return Err(ServeError::Source(
            "standard input (-) can be read only once: save it to a file to serve it".into(),
        ));
    }
    let parsed = source::parse(spec);
    if parsed.is_stream() {
        return Err(ServeError::Source(format!(
            "{spec} can be read only once (a pipe, FIFO or device): copy it to a file to serve it"
        )));
    }
    if spec == "journal" || spec.starts_with("journal:") {
        return Ok(());
    }
    match std::fs::metadata(spec) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(_) => Err(ServeError::Source(format!("{spec} is not a file"))),
        Err(e) => Err(ServeError::Source(format!("{spec}: {e}"))),
    }
}

fn worker(rx: &Mutex<Receiver<TcpStream>>, shared: &Shared) {
    loop {
        let next = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(stream) = next else { return };
        // Needed: the pool has 8 workers and no other way to replace one.
        // A panic is a bug; the panic hook has already printed it on stderr
        // when this returns, the client sees its connection close, and the
        // worker goes on serving others (the request's state is dropped with
        // it, nothing is shared but read-only sources), so a request that
        // trips a bug cannot take the server down eight times over.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            connection(stream, shared);
        }));
    }
}

/// A request's parts the server looks at.
#[derive(Debug, Default, PartialEq, Eq)]
struct Request {
    method: String,
    path: String,
    params: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    /// HTTP/1.1 (chunked responses) rather than 1.0.
    http11: bool,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An error answer: a status and a message, sent as JSON.
#[derive(Debug, PartialEq, Eq)]
struct Refusal {
    status: u16,
    message: String,
}

fn refuse(status: u16, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        message: message.into(),
    }
}

/// A client's connection: plain TCP, or a TLS session over it.
enum Conn {
    Plain(TcpStream),
    Tls(Box<openssl::ssl::SslStream<tls::Timed>>),
}

impl Conn {
    /// The TCP stream under it.
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(tcp) => tcp,
            Conn::Tls(tls) => tls.get_ref().tcp(),
        }
    }

    fn is_tls(&self) -> bool {
        matches!(self, Conn::Tls(_))
    }

    /// Ends the answer: the write side shut (after TLS's close_notify),
    /// then what the client still sends (an oversized head, a body) read
    /// and dropped, a bounded amount, so closing does not reset the
    /// connection before the client reads the answer.
    fn close(&mut self) {
        match self {
            Conn::Plain(tcp) => {
                let _ = tcp.flush();
                let _ = tcp.shutdown(Shutdown::Write);
            }
            Conn::Tls(tls) => tls::close(tls),
        }
        let mut tcp = self.tcp();
        let _ = tcp.set_read_timeout(Some(Duration::from_secs(1)));
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        let mut drained = 0;
        while drained < DRAIN && start.elapsed() < Duration::from_secs(1) {
            match tcp.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.read(buf),
            Conn::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.write(data),
            Conn::Tls(tls) => tls.write(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(tcp) => tcp.flush(),
            Conn::Tls(tls) => tls.flush(),
        }
    }
}

fn connection(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let mut conn = match &shared.tls {
        None => Conn::Plain(stream),
        // The handshake and the head share one deadline.
        Some(tls) => match tls.accept(stream, Instant::now() + HEAD_DEADLINE) {
            tls::Accepted::Tls(session) => Conn::Tls(session),
            tls::Accepted::NotTls(tcp) => {
                let mut plain = Conn::Plain(tcp);
                let refusal = refuse(
                    400,
                    format!(
                        "this server speaks only HTTPS: open {} with the token termtape \
                         serve printed",
                        shared.base_url()
                    ),
                );
                if send_refusal(&mut plain, &refusal).is_ok() {
                    plain.close();
                }
                return;
            }
            tls::Accepted::Failed => return,
        },
    };
    let head = read_head(&mut conn);
    if let Conn::Tls(session) = &mut conn {
        session.get_mut().lift_deadline();
    }
    let answered = match head {
        Ok(head) => match parse_head(&head) {
            Ok(request) => answer(&mut conn, &request, shared),
            Err(refusal) => send_refusal(&mut conn, &refusal),
        },
        Err(refusal) => send_refusal(&mut conn, &refusal),
    };
    if answered.is_ok() {
        conn.close();
    }
}

/// Reads a request's line and headers, up to the blank line, into a buffer
/// of [`MAX_HEAD`] bytes.
fn read_head(stream: &mut impl Read) -> Result<Vec<u8>, Refusal> {
    let start = Instant::now();
    let mut buf = vec![0u8; MAX_HEAD];
    let mut len = 0;
    loop {
        if let Some(end) = head_end(&buf[..len]) {
            buf.truncate(end);
            return Ok(buf);
        }
        if len == MAX_HEAD {
            return Err(refuse(
                431,
                format!("the request's line and headers are longer than {MAX_HEAD} bytes"),
            ));
        }
        if start.elapsed() > HEAD_DEADLINE {
            return Err(refuse(408, "the request took too long"));
        }
        match stream.read(&mut buf[len..]) {
            Ok(0) => return Err(refuse(400, "the request ended before its headers did")),
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(refuse(408, "the request took too long")),
        }
    }
}

/// Where the head ends (after its blank line), if it does within `buf`.
fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Parses a request's head: `GET /path?query HTTP/1.1` and its headers.
fn parse_head(head: &[u8]) -> Result<Request, Refusal> {
    let text =
        std::str::from_utf8(head).map_err(|_| refuse(400, "the request's head is not UTF-8"))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let line = lines.next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refuse(400, "the request line is not METHOD TARGET VERSION"));
    };
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Err(refuse(505, "only HTTP/1.0 and HTTP/1.1 are served")),
    };
    let mut headers = Vec::new();
    for line in lines.take_while(|l| !l.is_empty()) {
        if headers.len() == MAX_HEADERS {
            return Err(refuse(431, format!("more than {MAX_HEADERS} header lines")));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(refuse(400, "a header line without a colon"));
        };
        if name.is_empty() || name.contains(|c: char| c.is_ascii_whitespace()) {
            return Err(refuse(400, "a header name with blanks"));
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut params: Vec<(String, String)> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (percent_decode(name)?, percent_decode(value)?);
        if params.iter().any(|(n, _)| *n == name) {
            return Err(refuse(400, format!("the parameter {name} is given twice")));
        }
        params.push((name, value));
    }
    Ok(Request {
        method: method.to_owned(),
        path: path.to_owned(),
        params,
        headers,
        http11,
    })
}

/// A query string's part decoded: `%XX` and `+` for a space.
fn percent_decode(s: &str) -> Result<String, Refusal> {
    let bad = || refuse(400, "a malformed %-escape in the query");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| refuse(400, "a query parameter is not UTF-8"))
}

/// How a response's body ends.
#[derive(Debug, Clone, Copy)]
enum Framing {
    /// After this many bytes.
    Length(usize),
    /// At its last, empty chunk (HTTP/1.1).
    Chunked,
    /// When the connection closes (HTTP/1.0 has no chunks).
    Close,
}

/// The status line and headers of a response; over TLS, with
/// `Strict-Transport-Security`.
fn head(status: u16, content_type: &str, extra: &str, framing: Framing, tls: bool) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Internal Server Error",
    };
    let framing = match framing {
        Framing::Length(n) => format!("Content-Length: {n}\r\n"),
        Framing::Chunked => "Transfer-Encoding: chunked\r\n".to_owned(),
        Framing::Close => String::new(),
    };
    let hsts = if tls { HSTS } else { "" };
    format!(
        "HTTP/1.1 {status} {reason}\r\n{SECURITY_HEADERS}{hsts}Content-Type: {content_type}\r\n\
         {extra}{framing}Connection: close\r\n\r\n"
    )
    .into_bytes()
}

/// Sends a whole JSON body.
fn send_json(stream: &mut Conn, status: u16, extra: &str, body: &Value) -> io::Result<()> {
    let mut body = json_line(body).into_bytes();
    body.push(b'\n');
    send(stream, status, "application/json", extra, &body)
}

/// Sends a whole response: `body`, of type `kind`.
fn send(stream: &mut Conn, status: u16, kind: &str, extra: &str, body: &[u8]) -> io::Result<()> {
    let mut out = head(
        status,
        kind,
        extra,
        Framing::Length(body.len()),
        stream.is_tls(),
    );
    out.extend_from_slice(body);
    stream.write_all(&out)
}

fn send_refusal(stream: &mut Conn, refusal: &Refusal) -> io::Result<()> {
    let extra = if refusal.status == 405 {
        "Allow: GET\r\n"
    } else {
        ""
    };
    send_json(
        stream,
        refusal.status,
        extra,
        &json!({"v": 1, "error": refusal.message}),
    )
}

/// The name of the cookie that carries the token: one per port, as
/// browsers keep cookies per host, not per port.
fn cookie_name(addr: SocketAddr) -> String {
    format!("termtape-{}", addr.port())
}

/// Checks the Host header (a page of another site pointed at this address
/// by DNS names it) and the token; the `Set-Cookie` header to send when
/// the token came in the URL or an `Authorization` header (over TLS,
/// `Secure`: never sent over plain HTTP).
fn authorise(request: &Request, shared: &Shared) -> Result<String, Refusal> {
    let port = shared.addr.port();
    let host_ok = request.header("host").is_some_and(|host| {
        host == shared.addr.to_string()
            || host == format!("localhost:{port}")
            || shared
                .tls
                .as_ref()
                .is_some_and(|tls| tls::host_is_one_of(host, &tls.names, port))
    });
    if !host_ok {
        return Err(refuse(403, "the Host header does not name this server"));
    }
    let token = &shared.token;
    let cookie = cookie_name(shared.addr);
    let in_cookie = request.header("cookie").is_some_and(|cookies| {
        cookies.split(';').any(|c| {
            c.trim()
                .split_once('=')
                .is_some_and(|(n, v)| n == cookie && token.matches(v))
        })
    });
    let in_url = request.param("token").is_some_and(|t| token.matches(t));
    let in_header = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .is_some_and(|t| token.matches(t.trim()));
    if in_cookie {
        Ok(String::new())
    } else if in_url || in_header {
        let secure = if shared.tls.is_some() { "; Secure" } else { "" };
        Ok(format!(
            "Set-Cookie: {cookie}={}; Path=/; HttpOnly; SameSite=Strict{secure}\r\n",
            token.as_str()
        ))
    } else {
        Err(refuse(
            403,
            "a valid token is needed: open the URL termtape serve printed",
        ))
    }
}

fn answer(stream: &mut Conn, request: &Request, shared: &Shared) -> io::Result<()> {
    let cookie = match authorise(request, shared) {
        Ok(cookie) => cookie,
        Err(refusal) => return send_refusal(stream, &refusal),
    };
    if request.method != "GET" {
        return send_refusal(stream, &refuse(405, "only GET is served"));
    }
    if request.header("content-length").is_some_and(|l| l != "0")
        || request.header("transfer-encoding").is_some()
    {
        return send_refusal(stream, &refuse(413, "requests carry no body"));
    }
    let result = match request.path.as_str() {
        "/api/sources" => send_json(stream, 200, &cookie, &sources(shared)).map_err(Into::into),
        "/api/recordings" => recordings(stream, request, shared, &cookie),
        "/api/search" => find(stream, request, shared, &cookie),
        "/api/events" => stream_events(stream, request, shared, &cookie),
        "/api/logs" => logs(stream, request, shared, &cookie),
        "/api/commands" => audit_events(stream, request, shared, What::Commands, &cookie),
        "/api/files" => audit_events(stream, request, shared, What::Files, &cookie),
        "/api/original" => original(stream, request, shared, &cookie),
        "/" => page(stream, request, "serve.html", &cookie),
        path => match path.strip_prefix('/').filter(|name| web::servable(name)) {
            Some(name) => page(stream, request, name, &cookie),
            None => Err(Answer::Refused(refuse(404, "no such page"))),
        },
    };
    match result {
        Ok(()) => Ok(()),
        Err(Answer::Refused(refusal)) => send_refusal(stream, &refusal),
        Err(Answer::Io(e)) => Err(e),
    }
}

/// `GET /` (serve.html) and `GET /NAME`: a file of the web front end, as
/// embedded at build time; 503 at `/` when it was not built.
fn page(stream: &mut Conn, request: &Request, name: &str, cookie: &str) -> Result<(), Answer> {
    only(request, &[])?;
    let Some(bytes) = web::file(name) else {
        if name == "serve.html" && !web::built() {
            let text = "the web front end was not built: run scripts/web-build, then build \
                        termtape again (the API under /api/ works without it)\n";
            let mut out = head(
                503,
                "text/plain; charset=utf-8",
                cookie,
                Framing::Length(text.len()),
                stream.is_tls(),
            );
            out.extend_from_slice(text.as_bytes());
            return Ok(stream.write_all(&out)?);
        }
        return Err(refuse(404, "no such page").into());
    };
    let mut out = head(
        200,
        web::content_type(name),
        cookie,
        Framing::Length(bytes.len()),
        stream.is_tls(),
    );
    out.extend_from_slice(bytes);
    Ok(stream.write_all(&out)?)
}

/// How answering a request failed: a refusal not yet sent, or the client.
#[derive(Debug)]
enum Answer {
    Refused(Refusal),
    Io(io::Error),
}

impl From<io::Error> for Answer {
    fn from(e: io::Error) -> Answer {
        Answer::Io(e)
    }
}

impl From<Refusal> for Answer {
    fn from(r: Refusal) -> Answer {
        Answer::Refused(r)
    }
}

/// The status for an error of the library.
fn read_refusal(e: &ReadError) -> Refusal {
    let status = match e {
        ReadError::NoMatch { .. } | ReadError::NotFound { .. } => 404,
        ReadError::Several { .. } | ReadError::Clock { .. } => 400,
        _ => 500,
    };
    refuse(status, e.to_string())
}

/// The sources, by index (`/` and `/api/sources`).
fn sources(shared: &Shared) -> Value {
    let list: Vec<Value> = shared
        .sources
        .iter()
        .enumerate()
        .map(|(n, spec)| json!({"source": n, "name": spec}))
        .collect();
    json!({"v": 1, "sources": list})
}

/// Only these parameters (and the token) may be given.
fn only(request: &Request, allowed: &[&str]) -> Result<(), Refusal> {
    match request
        .params
        .iter()
        .find(|(n, _)| n != "token" && !allowed.contains(&n.as_str()))
    {
        Some((name, _)) => Err(refuse(400, format!("unknown parameter {name}"))),
        None => Ok(()),
    }
}

/// The source a request names by its index: only digits, below the number
/// of sources; anything else (a path) is not found.
fn source_index(given: &str, shared: &Shared) -> Result<usize, Refusal> {
    given
        .parse::<usize>()
        .ok()
        .filter(|n| given.bytes().all(|b| b.is_ascii_digit()) && *n < shared.sources.len())
        .ok_or_else(|| {
            refuse(
                404,
                format!(
                    "no such source: sources are numbered 0 to {}",
                    shared.sources.len() - 1
                ),
            )
        })
}

/// The sources a listing or search reads: the one `source` names, or all.
fn chosen_sources(request: &Request, shared: &Shared) -> Result<Vec<usize>, Refusal> {
    match request.param("source") {
        Some(given) => Ok(vec![source_index(given, shared)?]),
        None => Ok((0..shared.sources.len()).collect()),
    }
}

/// The filter the parameters ask for, as the CLI's options.
fn filter(request: &Request) -> Result<Filter, Refusal> {
    let clock = |name: &str| {
        request
            .param(name)
            .map(|v| time::parse_clock(v).map_err(|e| refuse(400, format!("{name}: {e}"))))
            .transpose()
    };
    let text = |name: &str| request.param(name).map(str::to_owned);
    Ok(Filter {
        rec: text("rec"),
        user: text("user"),
        host: text("host"),
        tty: text("tty"),
        command: text("command"),
        since: clock("since")?,
        until: clock("until")?,
        ..Filter::default()
    })
}

/// A flag parameter: `1` or `true`.
fn flag(request: &Request, name: &str) -> bool {
    matches!(request.param(name), Some("1" | "true"))
}

/// The parameters that select recordings, as the CLI's options.
const FILTERS: [&str; 8] = [
    "source", "rec", "user", "host", "tty", "command", "since", "until",
];

/// `GET /api/recordings`: `termtape ls --json`'s objects, each with the
/// index of its source, as a JSON array; damaged messages are passed over
/// and counted in `X-Termtape-Damaged`.
fn recordings(
    stream: &mut Conn,
    request: &Request,
    shared: &Shared,
    cookie: &str,
) -> Result<(), Answer> {
    let mut allowed = FILTERS.to_vec();
    allowed.push("verify");
    only(request, &allowed)?;
    let filter = filter(request)?;
    // `verify=1`: as `ls --json --verify`, against the key serve was
    // given (a full read of each recording, so the page asks it for one
    // recording at a time).
    let trusted = flag(request, "verify").then_some(shared.trusted);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut all = Vec::new();
    let mut damaged = 0u64;
    for n in chosen_sources(request, shared)? {
        let source = source::parse(&shared.sources[n]);
        let summaries = list::summaries(&*source, &filter, now, false, &mut |_| damaged += 1)
            .map_err(|e| refuse(500, e.to_string()))?;
        let reports = match &trusted {
            Some(key) => Some(match file_verdicts(shared, n, &*source, *key) {
                Some(all) => all,
                None => Arc::new(
                    crate::verify::verify_source(&*source, &filter, *key)
                        .map_err(|e| refuse(500, e.to_string()))?,
                ),
            }),
            None => None,
        };
        all.extend(summaries.iter().map(|s| {
            let mut object = s.to_json();
            object["source"] = json!(n);
            if let Some(reports) = &reports {
                object["verify"] = reports
                    .iter()
                    .find(|r| r.rec == s.rec)
                    .map_or(Value::Null, crate::verify::report_json);
            }
            object
        }));
    }
    let extra = format!("{cookie}X-Termtape-Damaged: {damaged}\r\n");
    Ok(send_json(stream, 200, &extra, &Value::Array(all))?)
}

/// What identifies a file's content for [`file_verdicts`]: device, inode,
/// size, and the times of its last change, in nanoseconds.
type FileState = (u64, u64, u64, i128, i128);

/// A file source's state and the verdicts of its recordings checked on it.
type CheckedFile = (FileState, Arc<Vec<Report>>);

fn file_state(meta: &std::fs::Metadata) -> FileState {
    use std::os::unix::fs::MetadataExt;
    let ns = |secs: i64, nsecs: i64| i128::from(secs) * 1_000_000_000 + i128::from(nsecs);
    (
        meta.dev(),
        meta.ino(),
        meta.len(),
        ns(meta.mtime(), meta.mtime_nsec()),
        ns(meta.ctime(), meta.ctime_nsec()),
    )
}

/// A file changed this recently is not taken as unchanged by its state: the
/// kernel stamps changes with a clock that advances in ticks of a few
/// milliseconds, so two writes in one tick leave the same times.
const SETTLED: Duration = Duration::from_secs(2);

/// The verdicts of every recording of file source `n`, all checked in one
/// read and kept while the file stays as it was: the page asks for one
/// recording's verdict at a time, and a file holding many recordings (a
/// central syslog file) would otherwise be read whole once per row. `None`
/// for a source that is not a file, or a file that could not be checked
/// this way (the caller then checks the one recording as before).
fn file_verdicts(
    shared: &Shared,
    n: usize,
    source: &dyn Source,
    key: Option<PublicKey>,
) -> Option<Arc<Vec<Report>>> {
    let before = source.metadata()?;
    let state = file_state(&before);
    let cache = || {
        shared
            .verdicts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    };
    if let Some((known, reports)) = cache().get(&n)
        && *known == state
    {
        return Some(Arc::clone(reports));
    }
    let all = Arc::new(crate::verify::verify_source(source, &Filter::default(), key).ok()?);
    // Kept only if the file did not change while it was read and had
    // settled before: a later request must not be answered from a check of
    // other bytes.
    let settled = before
        .modified()
        .ok()
        .and_then(|m| m.elapsed().ok())
        .is_some_and(|age| age >= SETTLED);
    if settled
        && source
            .metadata()
            .is_some_and(|after| file_state(&after) == state)
    {
        cache().insert(n, (state, Arc::clone(&all)));
    }
    Some(all)
}

/// A response body sent in chunks, its head sent before the first.
struct Streamed<'a> {
    stream: &'a mut Conn,
    head: Option<Vec<u8>>,
    chunked: bool,
}

impl Streamed<'_> {
    fn start(&mut self) -> io::Result<()> {
        if let Some(head) = self.head.take() {
            self.stream.write_all(&head)?;
        }
        Ok(())
    }

    fn started(&self) -> bool {
        self.head.is_none()
    }

    /// Ends the body; starts it first if nothing was sent.
    fn finish(mut self) -> io::Result<()> {
        self.start()?;
        if self.chunked {
            self.stream.write_all(b"0\r\n\r\n")?;
        }
        Ok(())
    }
}

impl Write for Streamed<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        self.start()?;
        let out = &mut *self.stream;
        if self.chunked {
            write!(out, "{:x}\r\n", data.len())?;
            out.write_all(data)?;
            out.write_all(b"\r\n")?;
        } else {
            out.write_all(data)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// A buffered streamed body: its head is sent with the first chunk, so an
/// error before any object can still be answered with its own status.
fn streamed<'a>(
    stream: &'a mut Conn,
    request: &Request,
    content_type: &str,
    cookie: &str,
) -> BufWriter<Streamed<'a>> {
    let framing = if request.http11 {
        Framing::Chunked
    } else {
        Framing::Close
    };
    let head = head(200, content_type, cookie, framing, stream.is_tls());
    BufWriter::with_capacity(
        64 * 1024,
        Streamed {
            stream,
            head: Some(head),
            chunked: request.http11,
        },
    )
}

/// Ends a streamed body.
fn finish(out: BufWriter<Streamed<'_>>) -> Result<(), Answer> {
    let streamed = out.into_inner().map_err(|e| e.into_error())?;
    Ok(streamed.finish()?)
}

/// Whether nothing of a streamed body was sent or buffered yet: an error
/// then still gets its own status.
fn nothing_sent(out: &BufWriter<Streamed<'_>>) -> bool {
    out.buffer().is_empty() && !out.get_ref().started()
}

/// `GET /api/search?q=TEXT`: `termtape search --json`'s objects, each with
/// the index of its source, streamed as a JSON array (one element a line);
/// an error after the first find is the array's last element, an object
/// with `error`.
fn find(stream: &mut Conn, request: &Request, shared: &Shared, cookie: &str) -> Result<(), Answer> {
    only(
        request,
        &[&FILTERS[..], &["q", "ignore_case", "input"]].concat(),
    )?;
    let Some(text) = request.param("q").filter(|q| !q.is_empty()) else {
        return Err(refuse(400, "q: the text to find is missing").into());
    };
    let pattern = Pattern::new(text, flag(request, "ignore_case"));
    let place = if flag(request, "input") {
        Place::Input
    } else {
        Place::Screen
    };
    let filter = filter(request)?;
    let chosen = chosen_sources(request, shared)?;
    let mut out = streamed(stream, request, "application/json", cookie);
    let mut first = true;
    let mut error = None;
    for n in chosen {
        let source = source::parse(&shared.sources[n]);
        let input = match source.open(&filter) {
            Ok(input) => input,
            Err(e) => {
                error = Some(refuse(500, e.to_string()));
                break;
            }
        };
        let result = search::search(
            input,
            &source.name(),
            &filter,
            &pattern,
            place,
            |f| {
                let mut object = f.to_json();
                object["source"] = json!(n);
                let sep = if std::mem::take(&mut first) {
                    "[\n"
                } else {
                    ",\n"
                };
                write!(out, "{sep}{}", json_line(&object))
            },
            |_| {},
            |_| {},
        );
        match result {
            Ok(()) => {}
            // The client went away.
            Err(ReadError::Output(e)) => return Err(e.into()),
            Err(e) => {
                error = Some(read_refusal(&e));
                break;
            }
        }
    }
    match error {
        Some(refusal) if first => Err(refusal.into()),
        Some(refusal) => {
            let last = json!({"v": 1, "error": refusal.message});
            write!(out, ",\n{}\n]\n", json_line(&last))?;
            finish(out)
        }
        None => {
            out.write_all(if first { b"[]\n" } else { b"\n]\n" })?;
            finish(out)
        }
    }
}

/// The recording a request names: its source's index and the query.
fn recording_query(request: &Request, shared: &Shared) -> Result<(usize, Query), Refusal> {
    let Some(given) = request.param("source") else {
        return Err(refuse(404, "source: which source (0, 1, …) is missing"));
    };
    let n = source_index(given, shared)?;
    let rec = request.param("rec").map(str::to_owned);
    let query = Query {
        selection: rec.clone().map_or(Selection::First, Selection::Rec),
        filter: Filter {
            rec,
            ..Filter::default()
        },
        damage: if flag(request, "lax") {
            Damage::Skip
        } else {
            Damage::Stop
        },
    };
    Ok((n, query))
}

/// `GET /api/logs?source=N&rec=ID[&max=N]`: `termtape logs`' JSON lines:
/// the journal entries of the recording's host in its window.
fn logs(stream: &mut Conn, request: &Request, shared: &Shared, cookie: &str) -> Result<(), Answer> {
    only(request, &["source", "rec", "max"])?;
    let (n, query) = recording_query(request, shared)?;
    let max = match request.param("max") {
        None => logs::DEFAULT_MAX,
        Some(given) => given
            .parse::<u64>()
            .ok()
            .filter(|m| {
                (1..=logs::MAX_MAX).contains(m) && given.bytes().all(|b| b.is_ascii_digit())
            })
            .ok_or_else(|| refuse(400, format!("max: a number from 1 to {}", logs::MAX_MAX)))?,
    };
    let spec = &shared.sources[n];
    let dir = logs::journal_for(spec, None).map_err(|e| refuse(500, e))?;
    let source = source::parse(spec);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let window = logs::window(&*source, &query, now, &mut |_| {}).map_err(|e| read_refusal(&e))?;
    let mut out = streamed(stream, request, "application/x-ndjson", cookie);
    let result = logs::logs(&window, dir.as_deref(), &query.filter, max, &mut |object| {
        writeln!(out, "{}", json_line(object))
    });
    end_lines(out, result.map(|_| ()))
}

/// `GET /api/commands?source=N&rec=ID` and `/api/files`: `termtape
/// commands --json` and `termtape files --json` of the recording: the
/// programs run and the watched files touched in its audit session, from
/// the audit records serve reads (`--audit-log`). Malformed records are
/// passed over and counted in `X-Termtape-Damaged`.
fn audit_events(
    stream: &mut Conn,
    request: &Request,
    shared: &Shared,
    what: What,
    cookie: &str,
) -> Result<(), Answer> {
    only(request, &["source", "rec"])?;
    let (n, query) = recording_query(request, shared)?;
    if query.filter.rec.is_none() {
        return Err(refuse(400, "rec: which recording is missing").into());
    }
    let source = source::parse(&shared.sources[n]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut damaged = 0u64;
    let summaries = list::summaries(&*source, &query.filter, now, false, &mut |_| damaged += 1)
        .map_err(|e| refuse(500, e.to_string()))?;
    let logs: Vec<AuditSource> = match shared.audit_logs.is_empty() {
        true => AuditSource::defaults(),
        false => shared
            .audit_logs
            .iter()
            .map(|s| AuditSource::parse(s))
            .collect(),
    };
    let timelines = audit::timelines(
        summaries,
        &logs,
        now,
        &|key| key == audit::WATCH_KEY.as_bytes(),
        &mut |_| damaged += 1,
    )
    .map_err(|e| refuse(500, format!("reading the audit records: {e}")))?;
    let mut body = Vec::new();
    audit::print::write(&mut body, &timelines, what, true)?;
    let extra = format!("{cookie}X-Termtape-Damaged: {damaged}\r\n");
    Ok(send(stream, 200, "application/x-ndjson", &extra, &body)?)
}

/// `GET /api/original?source=N&rec=ID[&input=1]`: `termtape cat
/// --original`'s bytes (a legacy-charset session's as they were before
/// conversion), as a download named after the recording. An error after
/// the first bytes cuts the body short (no last chunk), so the download
/// fails rather than ending quietly incomplete.
fn original(
    stream: &mut Conn,
    request: &Request,
    shared: &Shared,
    cookie: &str,
) -> Result<(), Answer> {
    only(request, &["source", "rec", "input", "lax"])?;
    let (n, query) = recording_query(request, shared)?;
    let source = source::parse(&shared.sources[n]);
    let query = choose(&*source, &query).map_err(|e| read_refusal(&e))?;
    let (kind, suffix) = if flag(request, "input") {
        (termtape_format::Stream::Input, "in")
    } else {
        (termtape_format::Stream::Output, "out")
    };
    let rec = match &query.selection {
        Selection::Rec(id) | Selection::Only(id) => id.as_str(),
        Selection::First => "",
    };
    let extra = format!(
        "{cookie}Content-Disposition: attachment; filename=\"{}.{suffix}.bin\"\r\n",
        download_name(rec)
    );
    let input = source
        .open(&query.filter)
        .map_err(|e| refuse(500, e.to_string()))?;
    let mut out = streamed(stream, request, "application/octet-stream", &extra);
    match cat::cat_original(
        input,
        &source.name(),
        &query,
        kind,
        &mut out,
        |_| {},
        |_| {},
    ) {
        Ok(()) => finish(out),
        Err(ReadError::Output(e)) => Err(e.into()),
        Err(e) if nothing_sent(&out) => Err(read_refusal(&e).into()),
        Err(e) => Err(io::Error::other(e.to_string()).into()),
    }
}

/// A file name for a download of recording `rec`: only its letters,
/// digits, `-` and `_` (ids are hex and dashes; anything else a recorder
/// wrote is left out), `recording` if none is left.
fn download_name(rec: &str) -> String {
    let name: String = rec
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(128)
        .collect();
    if name.is_empty() {
        "recording".to_owned()
    } else {
        name
    }
}

/// Ends a stream of JSON lines: an error before anything was sent gets
/// its own status; after, it is a last object of type `error`.
fn end_lines(
    mut out: BufWriter<Streamed<'_>>,
    result: Result<(), ReadError>,
) -> Result<(), Answer> {
    match result {
        Ok(()) => finish(out),
        Err(ReadError::Output(e)) => Err(e.into()),
        Err(e) if nothing_sent(&out) => Err(read_refusal(&e).into()),
        Err(e) => {
            let last = json!({
                "v": events::JSON_VERSION,
                "type": "error",
                "message": read_refusal(&e).message,
            });
            writeln!(out, "{}", json_line(&last))?;
            finish(out)
        }
    }
}

/// A place among the [`MAX_FOLLOWS`] followed streams, given back when
/// dropped.
struct FollowSlot<'a>(&'a AtomicUsize);

impl FollowSlot<'_> {
    /// Takes a place, or refuses (503) when every one is taken.
    fn take(shared: &Shared) -> Result<FollowSlot<'_>, Refusal> {
        shared
            .follows
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < MAX_FOLLOWS).then_some(n + 1)
            })
            .map_err(|_| {
                refuse(
                    503,
                    format!(
                        "{MAX_FOLLOWS} live recordings are being followed already: close one, \
                         or ask again without follow=1"
                    ),
                )
            })?;
        Ok(FollowSlot(&shared.follows))
    }
}

impl Drop for FollowSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether the client of `stream` is still there, asked while a followed
/// recording is idle and nothing is written that would fail: not once it
/// closed the connection or shut down its side of it (a client that
/// half-closes after its request is taken as gone).
fn client_present(stream: &TcpStream) -> io::Result<KeepWaiting> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let peer = stream.try_clone()?;
    Ok(KeepWaiting::new(move || {
        let mut fds = [PollFd::new(&peer, PollFlags::RDHUP)];
        let now = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        match poll(&mut fds, Some(&now)) {
            Ok(_) => !fds[0]
                .revents()
                .intersects(PollFlags::RDHUP | PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL),
            Err(rustix::io::Errno::INTR) => true,
            Err(_) => false,
        }
    }))
}

/// `GET /api/events?source=N&rec=ID&at=T&to=T[&follow=1]`: `termtape
/// events`' JSON lines, streamed; an error after the first object is a
/// last object of type `error`. With `follow=1` (a journal source), a live
/// recording is sent as it is recorded, until it ends or the client goes
/// away; at most [`MAX_FOLLOWS`] at once.
fn stream_events(
    stream: &mut Conn,
    request: &Request,
    shared: &Shared,
    cookie: &str,
) -> Result<(), Answer> {
    only(request, &["source", "rec", "at", "to", "lax", "follow"])?;
    let (n, mut query) = recording_query(request, shared)?;
    let source = source::parse(&shared.sources[n]);
    let follow = flag(request, "follow");
    if follow && !source.follows() {
        return Err(refuse(
            400,
            format!(
                "follow=1: {} does not grow; only a journal source is followed",
                source.name()
            ),
        )
        .into());
    }
    let _slot = follow.then(|| FollowSlot::take(shared)).transpose()?;
    let moment = |name: &str, default: Option<At>| match request.param(name) {
        Some(v) => At::parse(v)
            .map(Some)
            .map_err(|e| refuse(400, format!("{name}: {e}"))),
        None => Ok(default),
    };
    let span = Span {
        at: moment("at", Some(At::Ms(0)))?.unwrap_or(At::Ms(0)),
        until: moment("to", None)?,
    };
    if follow {
        query.filter.follow = true;
        query.filter.keep_waiting = client_present(stream.tcp())?;
    }
    let mut out = streamed(stream, request, "application/x-ndjson", cookie);
    let result = events::events(
        &*source,
        &query,
        span,
        &mut |object| {
            writeln!(out, "{}", json_line(object))?;
            // The first screen is sent at once, as the CLI flushes it; a
            // followed recording's events as they come.
            if follow || object["type"] == "keyframe" {
                out.flush()?;
            }
            Ok(())
        },
        &mut |_| {},
    );
    match result {
        // The follow ended because the client went away.
        Err(_) if follow && !query.filter.keep_waiting.keep() => {
            Err(io::Error::from(io::ErrorKind::ConnectionAborted).into())
        }
        result => end_lines(out, result.map(|_| ())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_head_is_parsed() {
        let r = parse_head(b"GET /api/search?q=a+b%3Cc&source=0 HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("a well-formed request");
        assert_eq!(r.path, "/api/search");
        assert_eq!(r.param("q"), Some("a b<c"));
        assert_eq!(r.param("source"), Some("0"));
        assert_eq!(r.header("HOST"), Some("x"));
        assert!(r.http11);
    }

    #[test]
    fn malformed_heads_are_refused() {
        let status = |head: &[u8]| parse_head(head).unwrap_err().status;
        assert_eq!(status(b"GET /\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/2\r\n\r\n"), 505);
        assert_eq!(status(b"GET /?a=%zz HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET /?a=%e2 HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET /?a=1&a=2 HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET / HTTP/1.1\r\nno colon\r\n\r\n"), 400);
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "a: b\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(status(many.as_bytes()), 431);
    }

    #[test]
    fn a_head_is_read_only_up_to_its_bound() {
        let long = vec![b'a'; MAX_HEAD * 4];
        assert_eq!(read_head(&mut &long[..]).unwrap_err().status, 431);
        let short = b"GET / HTTP/1.1\r\n\r\nbody";
        assert_eq!(
            read_head(&mut &short[..]).expect("a short head is read"),
            b"GET / HTTP/1.1\r\n\r\n"
        );
    }

    #[test]
    fn tokens_are_random_hex_and_compared_whole() {
        let (a, b) = (
            Token::random().expect("random bytes"),
            Token::random().expect("random bytes"),
        );
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.as_str(), b.as_str());
        assert!(a.matches(a.as_str()));
        assert!(!a.matches(b.as_str()));
        assert!(!a.matches(&a.as_str()[..31]));
        assert!(!a.matches(""));
    }

    #[test]
    fn a_download_is_named_only_by_plain_characters() {
        assert_eq!(download_name("ab12-cd_EF"), "ab12-cd_EF");
        assert_eq!(
            download_name("a\"b\r\nSet-Cookie: x=1;/../c"),
            "abSet-Cookiex1c"
        );
        assert_eq!(download_name("../\"\\"), "recording");
        assert_eq!(download_name(""), "recording");
        assert_eq!(download_name(&"a".repeat(1000)).len(), 128);
    }

    #[test]
    fn only_loopback_is_bound_without_tls() {
        for addr in ["0.0.0.0:0", "[::]:0", "10.0.0.1:0", "[::ffff:127.0.0.1]:0"] {
            let refused = Server::bind(addr.parse().expect("an address"), None, vec![], None);
            assert!(
                matches!(refused, Err(ServeError::NotLoopback(_))),
                "{addr}: {refused:?}"
            );
        }
        let missing = TlsFiles {
            cert: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
            names: vec![],
        };
        let refused = Server::bind(
            "0.0.0.0:0".parse().expect("an address"),
            Some(&missing),
            vec![],
            None,
        );
        assert!(
            matches!(
                refused,
                Err(ServeError::Tls {
                    option: "--tls-cert",
                    ..
                })
            ),
            "{refused:?}"
        );
    }
}
