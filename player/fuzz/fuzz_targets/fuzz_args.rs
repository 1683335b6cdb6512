//! The command line's numeric and time arguments: any text, read as every
//! kind of number a termtape option takes (whole and real, within ranges
//! the input also picks) and as a moment (`--at`, `--seek`) or a time
//! (`--since`, `--until`), without a panic; a number accepted is in its
//! range, and a moment read back from its milliseconds is the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use termtape_format::Range;
use termtape_player::seek::At;
use termtape_player::time::{duration, local, parse_clock, parse_offset};

fuzz_target!(|data: &[u8]| {
    let (bounds, text) = data.split_at(data.len().min(2));
    let text = String::from_utf8_lossy(text);
    // The ranges the options use, and one the input makes up.
    let made_up = match bounds {
        [a, b] => {
            let (a, b) = (u64::from(*a).pow(3), u64::from(*b).pow(5));
            Range::whole(a.min(b), a.max(b), "bytes")
        }
        _ => Range::whole(0, 0, ""),
    };
    for range in [
        made_up,
        Range::whole(64, 1 << 20, "bytes"),
        Range::whole(0, 1 << 40, "bytes"),
        Range::whole(0, u64::from(u32::MAX) - 1, ""),
        Range::real(0.001, 86_400.0, "seconds"),
        Range::real(0.0, 31_536_000.0, "seconds"),
        Range::real(1.0 / 1024.0, 1024.0, "times the recorded speed"),
    ] {
        if let Ok(n) = range.parse_whole(&text) {
            assert!(n as f64 >= range.min && n as f64 <= range.max, "{n} outside {range}");
        }
        if let Ok(v) = range.parse(&text) {
            assert!(v >= range.min && v <= range.max, "{v} outside {range}");
            assert!(range.check(v).is_ok());
        }
        if let Ok(v) = text.trim().parse::<f64>() {
            let _ = range.check(v);
        }
    }
    if let Ok(At::Ms(ms)) = At::parse(&text) {
        let again = format!("{}.{:03}", ms / 1000, ms % 1000);
        assert_eq!(At::parse(&again), Ok(At::Ms(ms)), "{text:?}");
    }
    if let Ok(ms) = parse_clock(&text) {
        // What the listings print of it reads back as what they print.
        let shown = local(ms);
        assert_eq!(parse_clock(&shown).map(local), Ok(shown), "{text:?}");
    }
    if let Ok(ms) = parse_offset(&text) {
        assert_eq!(parse_offset(&duration(ms)), Ok(ms), "{text:?}");
    }
});
