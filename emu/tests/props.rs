//! Property tests: snapshot/restore at any cut point, never panicking on any
//! input, and agreement with other emulators where they all follow xterm.

mod oracles;

use proptest::prelude::*;
use termtape_emu::Terminal;

/// One piece of an escape-heavy stream.
fn token() -> impl Strategy<Value = Vec<u8>> {
    let finals = b"@ABCDEFGHIJKLMPSTXZ`abdefghlmrsu".to_vec();
    let modes: Vec<u16> = vec![
        1, 4, 5, 6, 7, 9, 12, 20, 25, 47, 66, 1000, 1002, 1003, 1004, 1005, 1006, 1015, 1047, 1048,
        1049, 2004,
    ];
    let param =
        prop_oneof![8 => 0u32..12, 1 => 0u32..300, 1 => Just(65535u32), 1 => Just(4294967295u32)];
    prop_oneof![
        6 => "[ -~]{1,12}".prop_map(String::into_bytes),
        2 => prop::sample::select(vec!["中", "文", "😀", "e\u{301}", "\u{301}", "\u{308}", "é", "ß", "\u{200b}", "❤\u{fe0f}"]).prop_map(|s| s.as_bytes().to_vec()),
        4 => prop::sample::select(vec![b"\r".as_slice(), b"\n", b"\x08", b"\t", b"\x0e", b"\x0f", b"\x07", b"\x00", b"\x18", b"\x1b", b"\r\n"]).prop_map(<[u8]>::to_vec),
        6 => (prop::option::of(prop::sample::select(b"?>".to_vec())), prop::collection::vec((param.clone(), prop::bool::weighted(0.1)), 0..4), prop::option::of(prop::sample::select(b" !".to_vec())), prop::sample::select(finals))
            .prop_map(|(private, params, inter, fin)| {
                let mut s = b"\x1b[".to_vec();
                if let Some(p) = private {
                    s.push(p);
                }
                for (i, (v, colon)) in params.iter().enumerate() {
                    if i > 0 {
                        s.push(if *colon { b':' } else { b';' });
                    }
                    s.extend_from_slice(v.to_string().as_bytes());
                }
                if let Some(i) = inter {
                    s.push(i);
                }
                s.push(fin);
                s
            }),
        4 => (prop::sample::select(modes), any::<bool>()).prop_map(|(m, on)| format!("\x1b[?{m}{}", if on { 'h' } else { 'l' }).into_bytes()),
        3 => prop::collection::vec(prop_oneof![0u16..10, 21u16..30, 30u16..50, 90u16..108, Just(38), Just(48), Just(2), Just(5), 0u16..256], 0..6)
            .prop_map(|ps| format!("\x1b[{}m", ps.iter().map(u16::to_string).collect::<Vec<_>>().join(";")).into_bytes()),
        4 => prop::sample::select(vec![
            "\x1b7", "\x1b8", "\x1bD", "\x1bE", "\x1bH", "\x1bM", "\x1bc", "\x1b=", "\x1b>", "\x1bN", "\x1bO", "\x1bn", "\x1bo",
            "\x1b(0", "\x1b(B", "\x1b(A", "\x1b)0", "\x1b*0", "\x1b+0", "\x1b#8", "\x1b[!p", "\x1b[4h", "\x1b[4l", "\x1b[20h",
        ]).prop_map(|s| s.as_bytes().to_vec()),
        1 => ("[0-2]", "[ -~]{0,8}", any::<bool>()).prop_map(|(code, text, bel)| format!("\x1b]{code};{text}{}", if bel { "\x07" } else { "\x1b\\" }).into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 1..8),
    ]
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(token(), 0..60).prop_map(|ts| ts.concat())
}

fn check_invariants(t: &Terminal) {
    let c = t.cursor();
    assert!(
        c.row < t.rows() && c.col < t.cols(),
        "cursor {c:?} outside {}x{}",
        t.cols(),
        t.rows()
    );
    assert!(
        !c.pending_wrap || c.col == t.cols() - 1,
        "pending wrap away from the last column"
    );
    for r in 0..t.rows() {
        for col in 0..t.cols() {
            let cell = t.cell(r, col).expect("in range");
            if cell.width() == 2 {
                assert!(
                    t.cell(r, col + 1).is_some_and(|n| n.is_continuation()),
                    "wide without continuation at {r},{col}"
                );
            }
            if cell.is_continuation() {
                assert!(
                    col > 0 && t.cell(r, col - 1).is_some_and(|p| p.width() == 2),
                    "orphan continuation at {r},{col}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Restoring the snapshot at any cut and feeding the rest equals feeding everything.
    #[test]
    fn snapshot_at_any_cut_point_restores_exactly(cols in 1u16..14, rows in 1u16..7, input in stream(), cut in any::<prop::sample::Index>()) {
        let cut = cut.index(input.len() + 1);
        let mut whole = Terminal::new(cols, rows);
        whole.feed(&input);

        let mut head = Terminal::new(cols, rows);
        head.feed(&input[..cut]);
        let mut restored = Terminal::from_snapshot(cols, rows, head.snapshot_bytes());
        prop_assert_eq!(head.diff(&restored), None, "snapshot {:?}", head.snapshot());
        restored.feed(&input[cut..]);
        prop_assert_eq!(whole.diff(&restored), None, "cut at {} of {:?}", cut, String::from_utf8_lossy(&input));

        // Cloning mid-stream is exact too.
        let mut cloned = head.clone();
        cloned.feed(&input[cut..]);
        prop_assert_eq!(whole.diff(&cloned), None);
    }

    /// The String form is exact whenever no UTF-8 character is cut in half.
    #[test]
    fn string_snapshot_restores_between_characters(cols in 1u16..14, rows in 1u16..7, input in stream()) {
        let mut t = Terminal::new(cols, rows);
        t.feed(&input);
        t.feed(b"\x18");
        let snap = t.snapshot();
        let restored = Terminal::from_snapshot(cols, rows, &snap);
        prop_assert_eq!(t.diff(&restored), None);
        // And it does not grow when taken again from the restored copy.
        prop_assert_eq!(restored.snapshot(), snap);
    }

    #[test]
    fn random_bytes_never_panic(cols in 1u16..30, rows in 1u16..10, input in prop::collection::vec(any::<u8>(), 0..4096)) {
        let mut t = Terminal::new(cols, rows);
        t.feed(&input);
        check_invariants(&t);
    }

    #[test]
    fn escape_streams_with_resizes_never_panic(sizes in prop::collection::vec((1u16..20, 1u16..8), 1..4), chunks in prop::collection::vec(stream(), 1..4)) {
        let mut t = Terminal::with_scrollback(10, 4, 5);
        for ((cols, rows), chunk) in sizes.iter().zip(&chunks) {
            t.feed(chunk);
            check_invariants(&t);
            t.resize(*cols, *rows);
            check_invariants(&t);
        }
        prop_assert!(t.scrollback_len() <= 5);
    }

    #[test]
    fn scrolled_off_lines_are_what_a_scrollback_keeps(limit in 1usize..8, sizes in prop::collection::vec((1u16..20, 1u16..8), 1..8), chunks in prop::collection::vec(prop_oneof![
        3 => stream(),
        // What changes the lines kept, often enough to meet.
        2 => prop::sample::select(vec!["x\n\n\ny\n\n", "\x1b[3J", "\x1bc", "\x1b[2;3r", "\x1b[r", "\x1b[?1049h", "\x1b[?1049l", "\x1b[2S"]).prop_map(|s| s.as_bytes().to_vec()),
    ], 1..8)) {
        // RIS, ED 3, regions, the alternate screen and resizes included.
        let mut kept = Terminal::with_scrollback(10, 4, limit);
        let mut read = Terminal::with_scrolled_off(10, 4, limit);
        for ((cols, rows), chunk) in sizes.iter().zip(&chunks) {
            kept.feed(chunk);
            read.feed(chunk);
            kept.resize(*cols, *rows);
            read.resize(*cols, *rows);
        }
        prop_assert_eq!(read.snapshot(), kept.snapshot());
        let want: Vec<String> = (0..kept.scrollback_len()).filter_map(|i| kept.scrollback_text(i)).collect();
        let mut got = Vec::new();
        read.take_scrolled_off(|l| got.push(l.to_owned()));
        prop_assert_eq!(got, want);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// REP of any count leaves the state that printing the character that
    /// many times leaves (whatever came before: regions, origin, insert mode,
    /// charsets, wide characters, a cursor below the region), although it
    /// stops repeating where the screen stops changing.
    #[test]
    fn rep_equals_printing_the_character_again(
        // From 2 columns: a wide character that does not fit is not
        // repeated by REP, and printed again only to not fit again.
        cols in 2u16..12,
        rows in 1u16..7,
        before in stream(),
        setup in prop::sample::select(vec!["", "\x1b[2;3r", "\x1b[2;3r\x1b[6;1H", "\x1b[4h", "\x1b[?7l", "\x1b[?6h\x1b[2;4r", "\x1b(0", "\x1b[41m", "\x1b[?1049h\x1b[1;2r\x1b[3;5H"]),
        ch in prop::sample::select(vec!["A", "q", "中", "\u{1F600}", "#", "é"]),
        n in prop_oneof![1usize..40, 40usize..400, Just(65535usize)],
    ) {
        let mut by_rep = Terminal::new(cols, rows);
        by_rep.feed(&before);
        // Back to the ground state, whatever `before` left half-read.
        by_rep.feed(b"\x18");
        by_rep.feed(setup.as_bytes());
        by_rep.feed(ch.as_bytes());
        let mut by_text = by_rep.clone();
        by_rep.feed(format!("\x1b[{n}b").as_bytes());
        by_text.feed(ch.repeat(n).as_bytes());
        prop_assert_eq!(by_rep.diff(&by_text), None, "{} x{} after {:?}", ch, n, String::from_utf8_lossy(&before));
    }
}

/// Tokens of streams made only of what xterm, avt, vt100 and alacritty
/// implement the same way; `true` marks printable text.
///
/// Both oracles depart from xterm in what follows a pending wrap (the cursor
/// in the last column after writing it): they keep the wrap flag across ED, EL,
/// ECH, ICH and IL (xterm resets it in each), and vt100 moves BS and CUU, CUD,
/// CUF, CUB relative to one column past the margin (xterm: from the last
/// column). So the test returns the carriage before any control when a wrap is
/// pending; everything else is compared as is.
fn common_tokens() -> impl Strategy<Value = Vec<(bool, Vec<u8>)>> {
    let tok = prop_oneof![
        6 => "[ -~]{1,10}".prop_map(|s| (true, s.into_bytes())),
        3 => prop::sample::select(vec![b"\r".as_slice(), b"\n", b"\r\n", b"\x08"]).prop_map(|s| (false, s.to_vec())),
        4 => (1u16..10, 1u16..14).prop_map(|(r, c)| (false, format!("\x1b[{r};{c}H").into_bytes())),
        4 => (0u16..6, prop::sample::select(b"ABCDJKX@PLM".to_vec())).prop_map(|(n, f)| {
            let n = if matches!(f, b'J' | b'K') { n % 3 } else { n };
            (false, format!("\x1b[{n}{}", f as char).into_bytes())
        }),
        2 => (0u16..8).prop_map(|c| (false, format!("\x1b[3{c}m").into_bytes())),
    ];
    prop::collection::vec(tok, 0..50)
}

/// Feeds the tokens to a termtape terminal and returns the bytes actually fed.
fn feed_common(t: &mut Terminal, tokens: &[(bool, Vec<u8>)]) -> Vec<u8> {
    feed_rewritten(t, tokens, |_, bytes| bytes.to_vec())
}

/// [`feed_common`], each token first rewritten for the state it meets.
fn feed_rewritten(
    t: &mut Terminal,
    tokens: &[(bool, Vec<u8>)],
    rewrite: impl Fn(&Terminal, &[u8]) -> Vec<u8>,
) -> Vec<u8> {
    let mut fed = Vec::new();
    for (text, bytes) in tokens {
        if !text && t.cursor().pending_wrap {
            t.feed(b"\r");
            fed.push(b'\r');
        }
        let bytes = rewrite(t, bytes);
        t.feed(&bytes);
        fed.extend_from_slice(&bytes);
    }
    fed
}

/// A DCH whose count goes past the right margin, with the count brought
/// within it (alacritty then clears from the start of the line: see
/// golden.rs, `ORACLES_DEPART`); any other token as it is.
fn dch_within_margin(t: &Terminal, bytes: &[u8]) -> Vec<u8> {
    match bytes {
        [0x1b, b'[', count @ .., b'P'] => {
            let count: u16 = std::str::from_utf8(count)
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            let room = t.cols() - t.cursor().col;
            format!("\x1b[{}P", count.clamp(1, room)).into_bytes()
        }
        _ => bytes.to_vec(),
    }
}

fn screen_of(t: &Terminal) -> Vec<String> {
    (0..t.rows()).map(|r| t.row_text(r)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_avt(cols in 2u16..14, rows in 2u16..7, tokens in common_tokens()) {
        let mut ours = Terminal::new(cols, rows);
        let input = feed_common(&mut ours, &tokens);
        let (theirs, (row, col)) = oracles::avt_shows(cols, rows, &input);
        prop_assert_eq!(screen_of(&ours), theirs);
        // avt shows a pending wrap as the column past the margin.
        prop_assert_eq!((ours.cursor().row, ours.cursor().col), (row, col.min(cols - 1)));
    }

    #[test]
    fn agrees_with_alacritty(cols in 2u16..14, rows in 2u16..7, tokens in common_tokens()) {
        // alacritty's ED 1 leaves the first row when the cursor is on the
        // second (see golden.rs, `ORACLES_DEPART`): not sent to it.
        let tokens: Vec<_> = tokens.into_iter().filter(|(_, b)| b != b"\x1b[1J").collect();
        let mut ours = Terminal::new(cols, rows);
        let input = feed_rewritten(&mut ours, &tokens, dch_within_margin);
        let theirs = oracles::alacritty_shows(cols, rows, &input);
        prop_assert_eq!(Some((screen_of(&ours), (ours.cursor().row, ours.cursor().col))), theirs);
    }

    #[test]
    fn agrees_with_vt100(cols in 2u16..14, rows in 2u16..7, tokens in common_tokens()) {
        let mut ours = Terminal::new(cols, rows);
        let input = feed_common(&mut ours, &tokens);
        let nz = |v: u16| std::num::NonZeroU16::new(v).expect("sizes start at 2");
        let mut vt = vt100::Parser::new(nz(rows), nz(cols), 0);
        vt.process(&input);
        let theirs: Vec<String> = vt.screen().rows(0, cols).map(|l| l.trim_end().to_string()).collect();
        prop_assert_eq!(screen_of(&ours), theirs);
        let (r, c) = vt.screen().cursor_position();
        prop_assert_eq!((ours.cursor().row, ours.cursor().col), (r, c.min(cols - 1)));
    }
}
