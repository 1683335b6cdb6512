//! Descriptors: reading, writing and polling them, and keeping the ones this
//! process opens clear of standard input, output and error.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fs::{Mode, OFlags};

/// Reads once from `fd` into `buf`.
pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    Ok(rustix::io::read(fd, buf)?)
}

/// Writes once from `buf` to `fd`, returning how much was written.
pub(crate) fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    Ok(rustix::io::write(fd, buf)?)
}

/// What [`poll`] found ready: `revents` of each descriptor (0 if it was not
/// polled), and whether the signal pipe is readable.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Ready {
    pub(crate) signal: bool,
    pub(crate) master: libc::c_short,
    pub(crate) input: libc::c_short,
}

/// Waits until the signal pipe is readable, `master` has one of its
/// `events`, `input` is readable, or `timeout` milliseconds (-1: no limit)
/// pass. An interrupted wait returns nothing ready.
pub(crate) fn poll(
    signal: BorrowedFd<'_>,
    master: Option<(BorrowedFd<'_>, libc::c_short)>,
    input: Option<BorrowedFd<'_>>,
    timeout: libc::c_int,
) -> io::Result<Ready> {
    // Only the descriptors given are polled; the unused entries stay out
    // of the slice passed to poll(2).
    let unused = PollFd::from_borrowed_fd(signal, PollFlags::empty());
    let mut fds = [
        PollFd::from_borrowed_fd(signal, PollFlags::IN),
        unused.clone(),
        unused,
    ];
    let mut polled = 1;
    let mut at = |fd, events| {
        fds[polled] = PollFd::from_borrowed_fd(fd, events);
        polled += 1;
        polled - 1
    };
    let master_at = master.map(|(fd, events)| at(fd, PollFlags::from_bits_retain(events as u16)));
    let input_at = input.map(|fd| at(fd, PollFlags::IN));
    let timeout = u64::try_from(timeout).ok().map(|ms| Timespec {
        tv_sec: (ms / 1000) as _,
        tv_nsec: ((ms % 1000) * 1_000_000) as _,
    });
    match rustix::event::poll(&mut fds[..polled], timeout.as_ref()) {
        Ok(_) => {}
        Err(rustix::io::Errno::INTR) => return Ok(Ready::default()),
        Err(e) => return Err(e.into()),
    }
    let revents = |at: Option<usize>| at.map_or(0, |i| fds[i].revents().bits() as libc::c_short);
    Ok(Ready {
        signal: !fds[0].revents().is_empty(),
        master: revents(master_at),
        input: revents(input_at),
    })
}

/// Waits until `fd` can be written to or the signal pipe is readable.
pub(crate) fn poll_write_or_signal(
    fd: BorrowedFd<'_>,
    signal: BorrowedFd<'_>,
) -> io::Result<Ready> {
    poll(signal, Some((fd, libc::POLLOUT)), None, -1)
}

/// Makes sure descriptors 0, 1 and 2 are open (on `/dev/null` if they were
/// closed), so that no descriptor this process opens later is mistaken for
/// standard input, output or error — by us or by the recorded command.
pub fn ensure_stdio_open() -> io::Result<()> {
    loop {
        // open(2) returns the lowest free descriptor: below 3, it fills a
        // closed standard descriptor, where it stays (and survives exec).
        let null = rustix::fs::open(c"/dev/null", OFlags::RDWR, Mode::empty())?;
        if null.as_raw_fd() > 2 {
            return Ok(());
        }
        let _stays_open = null.into_raw_fd();
    }
}

/// Moves `fd` above the standard descriptors (0, 1, 2) if it landed there,
/// keeping it close-on-exec.
pub(super) fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    Ok(rustix::io::fcntl_dupfd_cloexec(&fd, 3)?)
}

/// Sets or clears `O_NONBLOCK` on a descriptor.
pub(super) fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    let mut flags = rustix::fs::fcntl_getfl(fd)?;
    flags.set(OFlags::NONBLOCK, on);
    rustix::fs::fcntl_setfl(fd, flags)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn poll_reports_the_descriptors_given_and_only_those() {
        let (signal_read, signal_write) = rustix::pipe::pipe().expect("pipe");
        let (input_read, input_write) = rustix::pipe::pipe().expect("pipe");
        // Nothing ready: the timeout passes.
        let ready = poll(signal_read.as_fd(), None, Some(input_read.as_fd()), 0).expect("poll");
        assert!(!ready.signal);
        assert_eq!(ready.input, 0);
        write(input_write.as_fd(), b"x").expect("write");
        let ready = poll(signal_read.as_fd(), None, Some(input_read.as_fd()), -1).expect("poll");
        assert!(!ready.signal);
        assert_ne!(ready.input & libc::POLLIN, 0);
        // A master polled for writing, the input left out.
        write(signal_write.as_fd(), b"s").expect("write");
        let ready = poll_write_or_signal(input_write.as_fd(), signal_read.as_fd()).expect("poll");
        assert!(ready.signal);
        assert_ne!(ready.master & libc::POLLOUT, 0);
        assert_eq!(ready.input, 0);
        let mut buf = [0u8; 4];
        assert_eq!(read(input_read.as_fd(), &mut buf).expect("read"), 1);
    }
}
