//! Work per byte: whatever the bytes, no sequence costs more than a few
//! passes over the screen, so a stream's cost is bounded by its length times
//! the screen. The input is fed again and again, to 64 KiB, on a screen of up
//! to 80x32 with scrollback, so that a sequence whose cost grows with a
//! parameter (REP's count, say) adds up past the time limit scripts/fuzz
//! gives each input (libFuzzer's -timeout).
#![no_main]

use libfuzzer_sys::fuzz_target;
use termtape_emu::Terminal;

/// Bytes fed per input.
const FEED: usize = 64 << 10;

fuzz_target!(|data: &[u8]| {
    let [size, input @ ..] = data else {
        return;
    };
    if input.is_empty() {
        return;
    }
    let (cols, rows) = ((u16::from(size % 16) + 1) * 5, (u16::from(size / 16) + 1) * 2);
    let mut t = Terminal::with_scrollback(cols, rows, 1000);
    let mut fed = 0;
    while fed < FEED {
        t.feed(input);
        fed += input.len();
    }
    let cur = t.cursor();
    assert!(cur.row < t.rows() && cur.col < t.cols());
});
