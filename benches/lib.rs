//! Inputs shared by termtape's criterion benchmarks: synthetic terminal
//! output streams of the kinds a recorder sees.

/// `seq 1 N` as a terminal shows it (CR LF line ends), about `bytes` long.
pub fn seq_output(bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes + 16);
    let mut n = 1u64;
    while out.len() < bytes {
        out.extend_from_slice(n.to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        n += 1;
    }
    out
}

/// `ls -l --color=always`-like lines: SGR colours, names, mixed scripts.
pub fn colour_listing(bytes: usize) -> Vec<u8> {
    let names = [
        "README.md",
        "Cargo.toml",
        "src",
        "target",
        "日本語.txt",
        "Привет.log",
        "🎉.png",
    ];
    let colours = ["01;34", "01;32", "00", "01;35", "40;33;01"];
    let mut out = Vec::with_capacity(bytes + 256);
    let mut i = 0usize;
    while out.len() < bytes {
        let line = format!(
            "-rw-r--r-- 1 root root {:>8} Nov 26 14:{:02} \x1b[{}m{}\x1b[0m\r\n",
            i * 37 % 100_000,
            i % 60,
            colours[i % colours.len()],
            names[i % names.len()]
        );
        out.extend_from_slice(line.as_bytes());
        i += 1;
    }
    out
}

/// Random bytes (xorshift), most of them invalid UTF-8.
pub fn random_bytes(bytes: usize) -> Vec<u8> {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    (0..bytes)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// Opens a pseudo-terminal pair of 80x24: (master, slave). For the
/// whole-process benchmarks, which give recorders a terminal as a user has.
#[allow(unsafe_code, reason = "openpty has no safe wrapper in std")]
pub fn open_pty() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (-1, -1);
    let size = libc::winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: the out-pointers refer to live locals; name and termios may be
    // null; `size` lives across the call.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty succeeded: both descriptors are open and ours.
    unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(master),
            std::os::fd::OwnedFd::from_raw_fd(slave),
        )
    }
}

/// Records `output` as tlog messages (80x24, tlog's payload), in reads of
/// `read_size` bytes one millisecond apart, as a busy command produces them;
/// hands each finished message's JSON line to `emit`.
pub fn encode_output(output: &[u8], read_size: usize, mut emit: impl FnMut(&[u8])) {
    use std::time::Duration;
    use termtape_format::{DEFAULT_PAYLOAD, Encoded, Encoder, Header, Stream};
    let header = Header {
        host: "bench.example.com".into(),
        rec: "0123456789abcdef0123456789abcdef-1a2b-3c4d".into(),
        user: "root".into(),
        term: "xterm-256color".into(),
        session: 1,
    };
    let mut enc = Encoder::new(&header, DEFAULT_PAYLOAD, Duration::from_secs(1_700_000_000))
        .expect("tlog's payload is valid");
    let mut sink = |m: Encoded<'_>| -> Result<(), ()> {
        emit(m.json);
        Ok(())
    };
    let never = "the sink never fails";
    enc.window(Duration::ZERO, 80, 24, &mut sink).expect(never);
    for (i, chunk) in output.chunks(read_size).enumerate() {
        enc.io(
            Duration::from_millis(i as u64),
            Stream::Output,
            chunk,
            &mut sink,
        )
        .expect(never);
    }
    enc.cut(&mut sink).expect(never);
    enc.flush(&mut sink).expect(never);
}
