//! Snapshot/restore equivalence: restoring the snapshot taken at a cut point
//! and feeding the rest gives the state that feeding everything gives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use termtape_emu::Terminal;

fuzz_target!(|data: &[u8]| {
    let [size, cut_hi, cut_lo, input @ ..] = data else {
        return;
    };
    let (cols, rows) = (u16::from(size % 30) + 1, u16::from(size / 30 % 10) + 1);
    let cut = (usize::from(*cut_hi) << 8 | usize::from(*cut_lo)).min(input.len());
    let mut whole = Terminal::new(cols, rows);
    whole.feed(input);
    let mut head = Terminal::new(cols, rows);
    head.feed(&input[..cut]);
    let mut restored = Terminal::from_snapshot(cols, rows, head.snapshot_bytes());
    assert_eq!(head.diff(&restored), None);
    restored.feed(&input[cut..]);
    assert_eq!(whole.diff(&restored), None);
});
