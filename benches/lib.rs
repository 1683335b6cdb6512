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

/// Waits for child `pid` to end without reaping it, so that its
/// `/proc/PID/stat` (its own CPU times, apart from its children's) can
/// still be read. For the whole-process benchmarks.
#[allow(unsafe_code, reason = "waitid has no safe wrapper in std")]
pub fn wait_keeping_zombie(pid: u32) -> std::io::Result<()> {
    // SAFETY: a zeroed siginfo_t is a valid value for waitid to fill.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is live for the call; the PID is the caller's child.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Reaps child `pid`: its exit status (128+N if signal N killed it) and
/// `ru_maxrss` in KiB (its own or a reaped descendant's, the larger).
#[allow(unsafe_code, reason = "wait4 has no safe wrapper in std")]
pub fn reap_with_maxrss(pid: u32) -> std::io::Result<(i32, i64)> {
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: both out-pointers are live for the call.
    let rc = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    Ok((code, usage.ru_maxrss))
}

/// Sends `signal` to process `pid` (one the caller started).
#[allow(unsafe_code, reason = "kill has no safe wrapper in std")]
pub fn send_signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid as libc::pid_t, signal) };
}

/// Clock ticks per second, the unit of `/proc/PID/stat`'s times.
#[allow(unsafe_code, reason = "sysconf has no safe wrapper in std")]
pub fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}
