//! The syslog writer: one message per syslog record, as tlog's syslog
//! writer sends them (facility authpriv, priority info by default).

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

use termtape_format::extension::Extended;

use super::Sink;

/// syslog's authpriv facility (10), shifted as in a priority value.
pub const AUTHPRIV: u8 = 10 << 3;

/// Sends each message as a datagram to the local syslog socket (`/dev/log`),
/// in the traditional format: `<PRI>ident[pid]: message`. The receiving
/// daemon (journald's syslog socket, rsyslog) stamps the time and host.
#[derive(Debug)]
pub struct SyslogSink {
    socket: UnixDatagram,
    prefix: Vec<u8>,
    buf: Vec<u8>,
    /// A message with its extension fields.
    line: Vec<u8>,
}

impl SyslogSink {
    /// Connects to `path` (normally `/dev/log`); `facility_priority` is the
    /// sum of a facility such as [`AUTHPRIV`] and a priority (6: info).
    pub fn connect(path: &Path, facility_priority: u8, ident: &str) -> io::Result<SyslogSink> {
        let socket = UnixDatagram::unbound()?;
        socket.connect(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("connecting to syslog at {}: {e}", path.display()),
            )
        })?;
        let prefix = format!("<{facility_priority}>{ident}[{}]: ", std::process::id()).into_bytes();
        Ok(SyslogSink {
            socket,
            prefix,
            buf: Vec::with_capacity(8192),
            line: Vec::new(),
        })
    }
}

impl Sink for SyslogSink {
    fn reserve(&mut self, _bytes: u64) -> io::Result<()> {
        Ok(())
    }

    fn write(&mut self, message: &Extended<'_>) -> io::Result<()> {
        let json = super::file_form(message, &mut self.line)?;
        let json = json.strip_suffix(b"\n").unwrap_or(json);
        self.buf.clear();
        self.buf.extend_from_slice(&self.prefix);
        self.buf.extend_from_slice(json);
        self.socket
            .send(&self.buf)
            .map_err(|e| io::Error::new(e.kind(), format!("sending to syslog: {e}")))?;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}
