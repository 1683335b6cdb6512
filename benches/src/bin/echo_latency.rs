//! `echo_latency [N] -- CMD [ARGS…]`: the time from a keystroke to its echo
//! on the user's terminal, through CMD (a recorder relaying to `cat`, or
//! `script`, or nothing at all). Runs CMD on a fresh pseudo-terminal, types
//! N single keys one at a time, waits for each echo, and prints the
//! latencies' percentiles in microseconds.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let n: usize = args
        .first()
        .filter(|_| split > 0)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let command = &args[(split + 1).min(args.len())..];
    let Some((program, rest)) = command.split_first() else {
        eprintln!("usage: echo_latency [N] -- CMD [ARGS...]");
        std::process::exit(2);
    };
    let (master, slave) = termtape_benches::open_pty();
    let mut child = Command::new(program)
        .args(rest)
        .stdin(Stdio::from(slave.try_clone().expect("dup")))
        .stdout(Stdio::from(slave.try_clone().expect("dup")))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    drop(slave);
    let mut tty = std::fs::File::from(master);
    // Let the command start and settle.
    std::thread::sleep(Duration::from_millis(500));
    drain(&mut tty);
    let mut latencies = Vec::with_capacity(n);
    let mut buf = [0u8; 4096];
    for i in 0..n {
        let key = b'a' + (i % 26) as u8;
        let start = Instant::now();
        tty.write_all(&[key]).expect("type");
        // Wait until the key comes back (the echo; `cat` may print it again).
        'echo: loop {
            let k = tty.read(&mut buf).expect("read");
            if buf[..k].contains(&key) {
                break 'echo;
            }
        }
        latencies.push(start.elapsed());
        std::thread::sleep(Duration::from_millis(2));
        drain(&mut tty);
    }
    let _ = tty.write_all(b"\x04");
    let _ = child.kill();
    let _ = child.wait();
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize].as_micros();
    println!(
        "n={n} p50={}us p90={}us p99={}us max={}us",
        p(0.5),
        p(0.9),
        p(0.99),
        p(1.0)
    );
}

/// Reads whatever is pending without blocking for long.
fn drain(tty: &mut std::fs::File) {
    let fd = std::os::fd::AsFd::as_fd(tty);
    let mut pfd = [rustix_poll(fd)];
    while poll_ready(&mut pfd) {
        let mut buf = [0u8; 4096];
        if tty.read(&mut buf).unwrap_or(0) == 0 {
            break;
        }
    }
}

fn rustix_poll(fd: std::os::fd::BorrowedFd<'_>) -> libc::pollfd {
    libc::pollfd {
        fd: std::os::fd::AsRawFd::as_raw_fd(&fd),
        events: libc::POLLIN,
        revents: 0,
    }
}

#[allow(unsafe_code, reason = "poll has no safe wrapper in std")]
fn poll_ready(pfd: &mut [libc::pollfd; 1]) -> bool {
    // SAFETY: one valid pollfd, a 1 ms timeout.
    unsafe { libc::poll(pfd.as_mut_ptr(), 1, 1) > 0 }
}
