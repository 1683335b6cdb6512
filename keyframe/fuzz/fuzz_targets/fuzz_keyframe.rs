//! Keyframes: the one taken from a terminal fed anything restores it
//! exactly through its JSON; any `kf` value either fails to parse with an
//! error or restores a terminal whose own keyframe restores it again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use termtape_emu::Terminal;
use termtape_format::Location;
use termtape_keyframe::Keyframe;

fuzz_target!(|data: &[u8]| {
    let [mode, size, input @ ..] = data else {
        return;
    };
    if mode % 2 == 0 {
        let (cols, rows) = (u16::from(size % 30) + 1, u16::from(size / 30 % 10) + 1);
        let mut term = Terminal::new(cols, rows);
        term.feed(input);
        let json = Keyframe::capture(&term).to_json();
        let kf = Keyframe::parse(&json, &Location::default()).expect("own keyframes parse");
        assert_eq!(term.diff(&kf.restore()), None);
    } else if let Ok(text) = std::str::from_utf8(input)
        && let Ok(kf) = Keyframe::parse(text, &Location::default())
    {
        let restored = kf.restore();
        let again = Keyframe::capture(&restored).restore();
        assert_eq!(restored.diff(&again), None);
    }
});
