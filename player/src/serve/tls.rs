//! TLS for `termtape serve` beyond loopback: the certificate chain and key
//! read from PEM files at start, the handshake done by the worker that
//! took the connection, under the same deadline as a request's head.
//!
//! The library is the `openssl` crate over the system's libssl (Debian's
//! libssl3), not rustls: the reviewers this serves (government, medical,
//! financial sites) want the TLS their distribution patches, whose FIPS
//! provider and crypto policy (`openssl.cnf`) their auditors already
//! accept. It adds five small crates and builds in seconds (no C or
//! assembly of its own to compile, unlike ring or aws-lc), and it is
//! maintained with the system.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use openssl::asn1::Asn1Time;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{HandshakeError, SslAcceptor, SslMethod, SslOptions, SslStream, SslVersion};
use openssl::x509::X509;

use super::{READ_TIMEOUT, ServeError, WRITE_TIMEOUT};

/// Where the server's certificate chain and key are, and the names it is
/// reached by.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM: the server's certificate first, then the intermediates.
    pub cert: PathBuf,
    /// PEM: the certificate's private key, unencrypted.
    pub key: PathBuf,
    /// The host names (or addresses) browsers use to reach the server
    /// (`--name`); empty: the certificate's subject alternative names.
    pub names: Vec<String>,
}

/// A TLS context ready to accept, with the names the server answers to.
pub(super) struct Tls {
    acceptor: SslAcceptor,
    /// Host names and addresses, as a `Host` header writes them (an IPv6
    /// address in brackets); a name may be a wildcard `*.example.org`.
    pub(super) names: Vec<String>,
    /// What the operator should know (an expired certificate, a key others
    /// may read, a name the certificate does not cover).
    pub(super) warnings: Vec<String>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("names", &self.names).finish()
    }
}

/// A file's bytes, or what is wrong with it, naming the option and file.
fn read_pem(option: &'static str, file: &Path) -> Result<Vec<u8>, ServeError> {
    let bytes = std::fs::read(file).map_err(|e| tls_error(option, file, e.to_string()))?;
    if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(tls_error(
            option,
            file,
            "not a PEM file (no -----BEGIN line; a DER file converts with `openssl x509 \
             -inform der` or `openssl pkey -inform der`)",
        ));
    }
    Ok(bytes)
}

fn tls_error(option: &'static str, file: &Path, problem: impl Into<String>) -> ServeError {
    ServeError::Tls {
        option,
        file: file.to_owned(),
        problem: problem.into(),
    }
}

/// OpenSSL's reasons, without its numeric codes.
fn reasons(e: &openssl::error::ErrorStack) -> String {
    let all: Vec<String> = e
        .errors()
        .iter()
        .map(|e| e.reason().unwrap_or("unknown error").to_owned())
        .collect();
    if all.is_empty() {
        "OpenSSL gave no reason".to_owned()
    } else {
        all.join("; ")
    }
}

impl Tls {
    /// Reads and checks the chain and key, and builds the context: TLS 1.2
    /// and 1.3 only, Mozilla's "intermediate" ciphers (forward secret,
    /// AEAD), no renegotiation.
    pub(super) fn load(files: &TlsFiles) -> Result<Tls, ServeError> {
        let mut warnings = Vec::new();
        let cert_pem = read_pem("--tls-cert", &files.cert)?;
        let chain = X509::stack_from_pem(&cert_pem).map_err(|e| {
            tls_error(
                "--tls-cert",
                &files.cert,
                format!("a damaged certificate: {}", reasons(&e)),
            )
        })?;
        let Some((leaf, intermediates)) = chain.split_first() else {
            return Err(tls_error(
                "--tls-cert",
                &files.cert,
                "no certificate in it (no -----BEGIN CERTIFICATE----- block)",
            ));
        };
        let key = read_key(&files.key)?;
        let setup = |e: openssl::error::ErrorStack| ServeError::TlsSetup(reasons(&e));
        let mut builder =
            SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server()).map_err(setup)?;
        builder
            .set_min_proto_version(Some(SslVersion::TLS1_2))
            .map_err(setup)?;
        builder.set_options(SslOptions::NO_RENEGOTIATION);
        builder.set_certificate(leaf).map_err(|e| {
            tls_error(
                "--tls-cert",
                &files.cert,
                format!("its certificate is refused: {}", reasons(&e)),
            )
        })?;
        for cert in intermediates {
            builder.add_extra_chain_cert(cert.clone()).map_err(setup)?;
        }
        // OpenSSL would say "key values mismatch": say which files.
        let matches = leaf.public_key().is_ok_and(|public| public.public_eq(&key));
        if !matches {
            return Err(ServeError::KeyMismatch {
                cert: files.cert.clone(),
                key: files.key.clone(),
            });
        }
        builder.set_private_key(&key).map_err(|e| {
            tls_error(
                "--tls-key",
                &files.key,
                format!("the key is refused: {}", reasons(&e)),
            )
        })?;
        builder
            .check_private_key()
            .map_err(|_| ServeError::KeyMismatch {
                cert: files.cert.clone(),
                key: files.key.clone(),
            })?;
        let now = Asn1Time::days_from_now(0).map_err(setup)?;
        if leaf.not_after() < now {
            warnings.push(format!(
                "the certificate in {} expired on {}: browsers will refuse it",
                files.cert.display(),
                leaf.not_after()
            ));
        } else if leaf.not_before() > now {
            warnings.push(format!(
                "the certificate in {} is valid only from {}",
                files.cert.display(),
                leaf.not_before()
            ));
        }
        warnings.extend(key_mode_warning(&files.key));
        let sans = subject_alt_names(leaf);
        let names = if files.names.is_empty() {
            sans
        } else {
            let mut names = Vec::new();
            for given in &files.names {
                let name = host_name(given)?;
                if !sans.iter().any(|san| covers(san, &name)) {
                    warnings.push(format!(
                        "--name {given}: the certificate in {} does not name it (its names: \
                         {}); browsers will warn",
                        files.cert.display(),
                        if sans.is_empty() {
                            "none".to_owned()
                        } else {
                            sans.join(", ")
                        }
                    ));
                }
                names.push(name);
            }
            names
        };
        Ok(Tls {
            acceptor: builder.build(),
            names,
            warnings,
        })
    }

    /// Takes a connection through the handshake, reading and writing with
    /// the usual timeouts but never past `until`: a client that stalls
    /// holds the worker no longer than a slow request's head would.
    pub(super) fn accept(&self, tcp: TcpStream, until: Instant) -> Accepted {
        let mut timed = Timed {
            tcp,
            until: Some(until),
        };
        // A TLS connection starts with a handshake record (22); anything
        // else is most likely plain HTTP, answered in plain text.
        match timed.first_byte() {
            Ok(22) => {}
            Ok(_) => return Accepted::NotTls(timed.tcp),
            Err(_) => return Accepted::Failed,
        }
        let mut result = self.acceptor.accept(timed);
        loop {
            match result {
                Ok(stream) => return Accepted::Tls(Box::new(stream)),
                // A read timed out before the deadline: carry on.
                Err(HandshakeError::WouldBlock(mid)) if Instant::now() < until => {
                    result = mid.handshake();
                }
                Err(_) => return Accepted::Failed,
            }
        }
    }
}

/// What came of a connection's handshake.
pub(super) enum Accepted {
    /// A TLS session.
    Tls(Box<SslStream<Timed>>),
    /// Not TLS (a plain HTTP request, most likely).
    NotTls(TcpStream),
    /// Failed, timed out or went away: closed without an answer.
    Failed,
}

/// The unencrypted private key in `file`.
fn read_key(file: &Path) -> Result<PKey<Private>, ServeError> {
    let pem = read_pem("--tls-key", file)?;
    let mut asked = false;
    // A passphrase would be asked on the terminal: refused instead, as the
    // server starts unattended.
    PKey::private_key_from_pem_callback(&pem, |_| {
        asked = true;
        Ok(0)
    })
    .map_err(|e| {
        let problem = if asked {
            "the key is encrypted: give it unencrypted (`openssl pkey -in FILE -out NEW`), \
             readable only by the user running termtape serve"
                .to_owned()
        } else {
            format!(
                "no private key in it (a -----BEGIN PRIVATE KEY----- block): {}",
                reasons(&e)
            )
        };
        tls_error("--tls-key", file, problem)
    })
}

/// A warning when the key file may be read by others than its owner.
fn key_mode_warning(file: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(file).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "{} may be read by others (mode {:o}): chmod 600 it",
            file.display(),
            mode & 0o777
        )
    })
}

/// The DNS names and addresses a certificate is valid for, as `Host`
/// writes them.
fn subject_alt_names(cert: &X509) -> Vec<String> {
    let Some(sans) = cert.subject_alt_names() else {
        return Vec::new();
    };
    sans.iter()
        .filter_map(|name| {
            if let Some(dns) = name.dnsname() {
                return Some(dns.to_ascii_lowercase());
            }
            let ip = match name.ipaddress()? {
                &[a, b, c, d] => IpAddr::from([a, b, c, d]),
                bytes => IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?),
            };
            Some(bracketed(ip))
        })
        .collect()
}

/// An address as a URL's or `Host`'s host: IPv6 in brackets.
pub(super) fn bracketed(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// A `--name`: a DNS name (letters, digits, `-` and `.`) or an address.
fn host_name(given: &str) -> Result<String, ServeError> {
    let bare = given
        .strip_prefix('[')
        .and_then(|g| g.strip_suffix(']'))
        .unwrap_or(given);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(bracketed(ip));
    }
    let labels_ok = !given.is_empty()
        && given.len() <= 253
        && given.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if labels_ok {
        Ok(given.to_ascii_lowercase())
    } else {
        Err(ServeError::Name(given.to_owned()))
    }
}

/// Whether certificate name `san` (maybe `*.example.org`) covers `name`.
pub(super) fn covers(san: &str, name: &str) -> bool {
    match san.strip_prefix("*.") {
        Some(suffix) => name.split_once('.').is_some_and(|(label, rest)| {
            !label.is_empty() && !name.starts_with('[') && rest.eq_ignore_ascii_case(suffix)
        }),
        None => san.eq_ignore_ascii_case(name),
    }
}

/// Whether a `Host` header names one of `names` on `port` (on 443, the
/// default for https, browsers leave the port out).
pub(super) fn host_is_one_of(host: &str, names: &[String], port: u16) -> bool {
    let (name, given_port) = if host.starts_with('[') {
        match host.split_once(']') {
            Some((v6, rest)) => (&host[..v6.len() + 1], rest.strip_prefix(':')),
            None => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, p)) => (name, Some(p)),
            None => (host, None),
        }
    };
    let port_ok = match given_port {
        Some(p) => p == port.to_string(),
        None => port == 443,
    };
    port_ok && names.iter().any(|n| covers(n, name))
}

/// A connection's TCP stream that, until its deadline is lifted, reads and
/// writes with timeouts cut to what is left before it (the handshake and
/// the request's head), then with the server's usual ones.
#[derive(Debug)]
pub(super) struct Timed {
    tcp: TcpStream,
    until: Option<Instant>,
}

impl Timed {
    /// The time left, as a timeout no longer than `usual`; an error once
    /// the deadline is past.
    fn left(&self, usual: Duration) -> io::Result<Option<Duration>> {
        let Some(until) = self.until else {
            return Ok(None);
        };
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the handshake and request took too long",
            ));
        }
        Ok(Some(left.min(usual)))
    }

    /// The first byte the client sent, left unread.
    fn first_byte(&mut self) -> io::Result<u8> {
        let mut byte = [0u8];
        loop {
            if let Some(left) = self.left(READ_TIMEOUT)? {
                self.tcp.set_read_timeout(Some(left))?;
            }
            match self.tcp.peek(&mut byte) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => return Ok(byte[0]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Back to the usual timeouts.
    pub(super) fn lift_deadline(&mut self) {
        if self.until.take().is_some() {
            let _ = self.tcp.set_read_timeout(Some(READ_TIMEOUT));
            let _ = self.tcp.set_write_timeout(Some(WRITE_TIMEOUT));
        }
    }

    /// The TCP stream.
    pub(super) fn tcp(&self) -> &TcpStream {
        &self.tcp
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(left) = self.left(READ_TIMEOUT)? {
            self.tcp.set_read_timeout(Some(left))?;
        }
        self.tcp.read(buf)
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(left) = self.left(WRITE_TIMEOUT)? {
            self.tcp.set_write_timeout(Some(left))?;
        }
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// Ends a TLS session: its close_notify, then the TCP write side.
pub(super) fn close(stream: &mut SslStream<Timed>) {
    let _ = stream.flush();
    let _ = stream.shutdown();
    let _ = stream.get_ref().tcp.shutdown(Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_match_as_browsers_send_them() {
        let names = vec![
            "review.example.org".to_owned(),
            "*.corp.example".to_owned(),
            "10.1.2.3".to_owned(),
            "[fd00::1]".to_owned(),
        ];
        let ok = |host| host_is_one_of(host, &names, 8443);
        assert!(ok("review.example.org:8443"));
        assert!(ok("Review.Example.ORG:8443"));
        assert!(ok("a.corp.example:8443"));
        assert!(ok("10.1.2.3:8443"));
        assert!(ok("[fd00::1]:8443"));
        assert!(!ok("review.example.org:8444"));
        assert!(!ok("review.example.org"), "no port means 443");
        assert!(!ok("a.b.corp.example:8443"), "a wildcard is one label");
        assert!(!ok("corp.example:8443"));
        assert!(!ok("evil.example:8443"));
        assert!(!ok("[fd00::1:8443"));
        assert!(!ok("review.example.org.evil.example:8443"));
        assert!(host_is_one_of("review.example.org", &names, 443));
        assert!(host_is_one_of("review.example.org:443", &names, 443));
    }

    #[test]
    fn names_given_are_host_names_or_addresses() {
        assert_eq!(
            host_name("Review.Example.org").expect("a valid host name"),
            "review.example.org"
        );
        assert_eq!(
            host_name("10.0.0.1").expect("a valid host name"),
            "10.0.0.1"
        );
        assert_eq!(
            host_name("fd00::1").expect("a valid host name"),
            "[fd00::1]"
        );
        assert_eq!(
            host_name("[fd00::1]").expect("a valid host name"),
            "[fd00::1]"
        );
        for bad in [
            "",
            "a b",
            "a:80",
            "a/b",
            "*.example.org",
            "-a.example",
            "a..b",
        ] {
            assert!(host_name(bad).is_err(), "{bad:?}");
        }
    }
}
