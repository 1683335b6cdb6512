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
