//! `ontty CMD [ARGS…]`: runs a command with a fresh pseudo-terminal as its
//! standard input, the way a user's terminal would be, so recorders under
//! benchmark all run in their terminal mode; with `ONTTY_OUTPUT=tty` its
//! output goes to that terminal too (read and discarded here, as a fast
//! terminal emulator would). Exits with the command's status.

use std::process::{Command, ExitCode, Stdio};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((program, rest)) = args.split_first() else {
        eprintln!("usage: ontty CMD [ARGS...]");
        return ExitCode::from(2);
    };
    let (master, slave) = termtape_benches::open_pty();
    // With ONTTY_OUTPUT=tty the command's output goes to the terminal too,
    // read and discarded here as fast as a terminal emulator would take it.
    let to_tty = std::env::var_os("ONTTY_OUTPUT").is_some_and(|v| v == "tty");
    let mut cmd = Command::new(program);
    cmd.args(rest)
        .stdin(Stdio::from(slave.try_clone().expect("dup")));
    if to_tty {
        cmd.stdout(Stdio::from(slave.try_clone().expect("dup")));
        let mut reader = std::fs::File::from(master.try_clone().expect("dup"));
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 16];
            while matches!(std::io::Read::read(&mut reader, &mut buf), Ok(n) if n > 0) {}
        });
    }
    drop(slave);
    let status = cmd.status();
    drop(master);
    match status {
        Ok(s) => ExitCode::from(s.code().unwrap_or(1) as u8),
        Err(e) => {
            eprintln!("ontty: {program}: {e}");
            ExitCode::from(127)
        }
    }
}
