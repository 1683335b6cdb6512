//! Feeds arbitrary bytes, with resizes, and checks the emulator's invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;
use termtape_emu::Terminal;

fuzz_target!(|data: &[u8]| {
    let Some((&size, rest)) = data.split_first() else {
        return;
    };
    let mut t = Terminal::with_scrollback(u16::from(size % 40) + 1, u16::from(size / 40) + 1, 16);
    for (i, chunk) in rest.chunks(512).enumerate() {
        t.feed(chunk);
        if i % 3 == 2 {
            let (c, r) = (chunk[0], chunk[chunk.len() - 1]);
            t.resize(u16::from(c % 50) + 1, u16::from(r % 20) + 1);
        }
        let cur = t.cursor();
        assert!(cur.row < t.rows() && cur.col < t.cols());
        assert!(!cur.pending_wrap || cur.col == t.cols() - 1);
        for row in 0..t.rows() {
            for col in 0..t.cols() {
                let cell = t.cell(row, col).expect("in range");
                if cell.width() == 2 {
                    assert!(t.cell(row, col + 1).is_some_and(|n| n.is_continuation()));
                }
            }
        }
        assert!(t.scrollback_len() <= 16);
        assert!(t.heap_size() < 8 << 20);
    }
});
