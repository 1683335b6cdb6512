//! `ptydrive [--keys FILE] [--seed N] [--out FILE] [--err FILE] -- CMD [ARGS…]`:
//! runs CMD (a recorder, usually) with a fresh 80x24 pseudo-terminal as its
//! standard input and output, the way a user's terminal would be; reads and
//! counts everything it shows (optionally keeping it in `--out`), and types
//! the keys of `--keys` into it at a human pace. Prints one JSON line with
//! what it measured of CMD's own process (not its children): CPU seconds
//! from `/proc/PID/stat` read while CMD is a zombie (its children's time is
//! apart there), its peak RSS (`VmHWM`, sampled every 50 ms) and
//! `wait4`'s `ru_maxrss` (which is CMD's or a child's, whichever is
//! larger), the bytes shown and typed, and the exit status. Used by
//! benches/load.sh.
//!
//! The key file has one step a line:
//!
//! - `type TEXT`: types TEXT, one key at a time, 40–140 ms apart (a
//!   pseudo-random pace from `--seed`); `\r`, `\n`, `\t`, `\e` and `\\`
//!   are escapes;
//! - `wait TEXT`: waits until TEXT appears in the output (after what the
//!   previous `wait` matched), for at most 10 minutes;
//! - `sleep MS`: waits MS milliseconds.
//!
//! Markers are looked for from the start, each after the previous one's
//! match, so output that comes before its `wait` step is not missed.

use std::io::{Read, Write};
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A step of the key file.
enum Step {
    Type(Vec<u8>),
    Wait(usize),
    Sleep(Duration),
}

/// What the reader thread shares with the typing one.
#[derive(Default)]
struct Seen {
    /// Markers matched so far, in order.
    matched: usize,
    /// Set once the output has ended.
    ended: bool,
}

fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chars = text.bytes();
    while let Some(b) = chars.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match chars.next() {
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'e') => out.push(0x1b),
            Some(other) => out.push(other),
            None => out.push(b'\\'),
        }
    }
    out
}

/// The steps and the markers of the `wait` steps, in order.
fn parse(script: &str) -> Result<(Vec<Step>, Vec<Vec<u8>>), String> {
    let mut steps = Vec::new();
    let mut markers = Vec::new();
    for (n, line) in script.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (op, arg) = line.split_once(' ').unwrap_or((line, ""));
        match op {
            "type" => steps.push(Step::Type(unescape(arg))),
            "wait" => {
                markers.push(unescape(arg));
                steps.push(Step::Wait(markers.len()));
            }
            "sleep" => {
                let ms: u64 = arg
                    .parse()
                    .map_err(|_| format!("line {}: bad sleep {arg:?}", n + 1))?;
                steps.push(Step::Sleep(Duration::from_millis(ms)));
            }
            _ => return Err(format!("line {}: unknown step {op:?}", n + 1)),
        }
    }
    Ok((steps, markers))
}

/// The fields of `/proc/PID/stat` after the command name.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    Some(rest.split(' ').map(str::to_owned).collect())
}

/// `VmHWM` of `pid` in KiB, while it lives.
fn hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut keys, mut seed, mut out, mut err) = (None, 1u64, None, None);
    let mut command = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--keys" => keys = args.next(),
            "--seed" => seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(1),
            "--out" => out = args.next(),
            "--err" => err = args.next(),
            "--" => {
                command.extend(args.by_ref());
            }
            _ => {
                command.push(arg);
                command.extend(args.by_ref());
            }
        }
    }
    if command.is_empty() {
        eprintln!(
            "usage: ptydrive [--keys FILE] [--seed N] [--out FILE] [--err FILE] -- CMD [ARGS...]"
        );
        return ExitCode::from(2);
    }
    let (steps, markers) = match keys.map(std::fs::read_to_string).transpose() {
        Ok(Some(text)) => match parse(&text) {
            Ok(parsed) => parsed,
            Err(e) => {
                eprintln!("ptydrive: {e}");
                return ExitCode::from(2);
            }
        },
        Ok(None) => (Vec::new(), Vec::new()),
        Err(e) => {
            eprintln!("ptydrive: key file: {e}");
            return ExitCode::from(2);
        }
    };

    let (master, slave) = termtape_benches::open_pty();
    let stderr = match err {
        Some(path) => Stdio::from(std::fs::File::create(path).expect("--err file")),
        None => Stdio::inherit(),
    };
    let started = Instant::now();
    let child = Command::new(&command[0])
        .args(&command[1..])
        .stdin(Stdio::from(slave.try_clone().expect("dup")))
        .stdout(Stdio::from(slave.try_clone().expect("dup")))
        .stderr(stderr)
        .spawn();
    drop(slave);
    let child = match child {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ptydrive: {}: {e}", command[0]);
            return ExitCode::from(127);
        }
    };
    let pid = child.id();

    let seen = Arc::new((Mutex::new(Seen::default()), Condvar::new()));
    let reader = {
        let seen = Arc::clone(&seen);
        let mut file = std::fs::File::from(master.try_clone().expect("dup"));
        let mut copy =
            out.map(|p| std::io::BufWriter::new(std::fs::File::create(p).expect("--out file")));
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 16];
            // The output since the last match, cut to what a marker that
            // straddles two reads needs.
            let mut window: Vec<u8> = Vec::new();
            let mut next = 0;
            let mut total = 0u64;
            while let Ok(n) = file.read(&mut buf) {
                if n == 0 {
                    break;
                }
                total += n as u64;
                if let Some(c) = copy.as_mut() {
                    c.write_all(&buf[..n]).expect("writing --out");
                }
                if next < markers.len() {
                    window.extend_from_slice(&buf[..n]);
                    let mut found = 0;
                    while let Some(m) = markers.get(next) {
                        match window.windows(m.len()).position(|w| w == &m[..]) {
                            Some(at) => {
                                window.drain(..at + m.len());
                                next += 1;
                                found += 1;
                            }
                            None => {
                                let keep = m.len().saturating_sub(1).min(window.len());
                                window.drain(..window.len() - keep);
                                break;
                            }
                        }
                    }
                    if found > 0 {
                        let (lock, cv) = &*seen;
                        lock.lock().expect("lock").matched = next;
                        cv.notify_all();
                    }
                }
            }
            if let Some(c) = copy.as_mut() {
                c.flush().expect("writing --out");
            }
            let (lock, cv) = &*seen;
            lock.lock().expect("lock").ended = true;
            cv.notify_all();
            total
        })
    };

    let hwm = Arc::new(Mutex::new(0u64));
    let alive = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (hwm, alive) = (Arc::clone(&hwm), Arc::clone(&alive));
        std::thread::spawn(move || {
            while alive.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(kib) = hwm_kib(pid) {
                    let mut h = hwm.lock().expect("lock");
                    *h = (*h).max(kib);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };

    // Typing, at a pace from a small linear congruential generator.
    let mut typed = 0u64;
    let mut failed = None;
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut writer = std::fs::File::from(master.try_clone().expect("dup"));
    for step in &steps {
        match step {
            Step::Type(bytes) => {
                for b in bytes {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    std::thread::sleep(Duration::from_millis(40 + (state >> 33) % 101));
                    if writer.write_all(&[*b]).is_err() {
                        failed = Some("the terminal closed while typing");
                        break;
                    }
                    typed += 1;
                }
            }
            Step::Wait(k) => {
                let (lock, cv) = &*seen;
                let guard = lock.lock().expect("lock");
                let (guard, timeout) = cv
                    .wait_timeout_while(guard, Duration::from_secs(600), |s| {
                        s.matched < *k && !s.ended
                    })
                    .expect("lock");
                if guard.matched < *k {
                    failed = Some(if timeout.timed_out() {
                        "timed out waiting for a marker"
                    } else {
                        "the output ended before a marker"
                    });
                }
            }
            Step::Sleep(d) => std::thread::sleep(*d),
        }
        if failed.is_some() {
            break;
        }
    }
    if failed.is_some() {
        // Ours, by its PID: ends the recorder, which hangs up the session.
        termtape_benches::send_signal(pid, libc::SIGTERM);
    }

    // Wait without reaping, so that /proc still has the zombie's times.
    termtape_benches::wait_keeping_zombie(pid).expect("waitid");
    let wall = started.elapsed().as_secs_f64();
    alive.store(false, std::sync::atomic::Ordering::Relaxed);
    let fields = stat_fields(pid).unwrap_or_default();
    let tick = termtape_benches::clock_ticks();
    // After the command name: state is field 3, utime 14, stime 15,
    // cutime 16, cstime 17 (man 5 proc); here indexed from field 3.
    let secs = |i: usize| {
        fields
            .get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(-1.0, |t| t / tick)
    };
    let (utime, stime, cutime, cstime) = (secs(14), secs(15), secs(16), secs(17));
    let (code, maxrss) = termtape_benches::reap_with_maxrss(pid).expect("wait4");
    drop(writer);
    drop(master);
    let shown = reader.join().expect("reader");
    sampler.join().expect("sampler");
    let hwm = *hwm.lock().expect("lock");
    println!(
        "{{\"pid\":{pid},\"exit\":{code},\"wall\":{wall:.3},\"utime\":{utime},\"stime\":{stime},\
         \"cutime\":{cutime},\"cstime\":{cstime},\"hwm_kib\":{hwm},\"maxrss_kib\":{},\
         \"shown\":{shown},\"typed\":{typed},\"failed\":{}}}",
        maxrss,
        failed.map_or("null".to_owned(), |f| format!("\"{f}\""))
    );
    drop(child);
    match failed {
        Some(_) => ExitCode::from(1),
        None => ExitCode::from(code as u8),
    }
}
