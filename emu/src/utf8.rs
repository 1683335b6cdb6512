//! UTF-8, defined once for the emulator: which bytes start a character and
//! how many bytes it takes, which second bytes each lead byte allows
//! (Unicode's Table 3-7: no overlong forms, no surrogates, nothing past
//! U+10FFFF), and the decoder built on them. Malformed input becomes U+FFFD
//! by maximal subparts, as with `String::from_utf8_lossy`.
//!
//! Three readers share it: the parser a byte at a time, for a character cut
//! by the end of one `feed` ([`char_len`], [`continues`]); the text path a
//! character at a time ([`decode`]); and the fast print loop, whose byte
//! table is built from [`char_len`] and [`second_byte`] at compile time.

/// How many bytes a character starting with `lead` takes: 1 (ASCII) to 4,
/// or 0 when `lead` cannot start one (a continuation byte, C0, C1, F5–FF).
#[inline(always)]
pub(crate) const fn char_len(lead: u8) -> u8 {
    match lead {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 0,
    }
}

/// The bytes that may follow `lead` (which starts a character of two to
/// four bytes), as an inclusive range; any later byte is 0x80..=0xBF.
#[inline(always)]
pub(crate) const fn second_byte(lead: u8) -> (u8, u8) {
    match lead {
        0xE0 => (0xA0, 0xBF),
        0xED => (0x80, 0x9F),
        0xF0 => (0x90, 0xBF),
        0xF4 => (0x80, 0x8F),
        _ => (0x80, 0xBF),
    }
}

/// Whether `b` may follow the `have` bytes (at least one) already taken of a
/// character that starts with `lead`.
#[inline]
pub(crate) const fn continues(lead: u8, have: usize, b: u8) -> bool {
    let (lo, hi) = if have == 1 {
        second_byte(lead)
    } else {
        (0x80, 0xBF)
    };
    lo <= b && b <= hi
}

/// One step of UTF-8 decoding.
pub(crate) enum Decoded {
    /// A character and the bytes it took.
    Char(char, usize),
    /// A maximal subpart of this many bytes that cannot be completed.
    Invalid(usize),
    /// A valid prefix of a character that the input ends in the middle of.
    Incomplete,
}

/// Decodes the character at the start of `b` (whose first byte is not ASCII),
/// replacing malformed input by maximal subparts as `String::from_utf8_lossy` does.
///
/// A decision tree on the lead byte, the commonest cases first: a byte that
/// cannot start a character (most of random or mis-encoded input), then two-
/// and three-byte characters (Latin, Greek, Cyrillic, CJK, Hangul, U+FFFD).
#[inline(always)]
pub(crate) fn decode(b: &[u8]) -> Decoded {
    let lead = b[0];
    // Three-byte characters (CJK, Hangul, kana, U+FFFD) straight away when
    // well formed: an encoding below U+0800 is overlong and a surrogate is no
    // `char`, which is every rule for them.
    if let [0xE0..=0xEF, b1, b2, ..] = *b
        && b1 & 0xC0 == 0x80
        && b2 & 0xC0 == 0x80
    {
        let u = u32::from(lead & 0x0F) << 12 | u32::from(b1 & 0x3F) << 6 | u32::from(b2 & 0x3F);
        if u >= 0x800
            && let Some(c) = char::from_u32(u)
        {
            return Decoded::Char(c, 3);
        }
    }
    if !(0xC2..=0xF4).contains(&lead) {
        return Decoded::Invalid(1);
    }
    let Some(&b1) = b.get(1) else {
        return Decoded::Incomplete;
    };
    if lead < 0xE0 {
        if b1 & 0xC0 != 0x80 {
            return Decoded::Invalid(1);
        }
        let u = u32::from(lead & 0x1F) << 6 | u32::from(b1 & 0x3F);
        return Decoded::Char(char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER), 2);
    }
    let (lo, hi) = second_byte(lead);
    if !(lo..=hi).contains(&b1) {
        return Decoded::Invalid(1);
    }
    let Some(&b2) = b.get(2) else {
        return Decoded::Incomplete;
    };
    if b2 & 0xC0 != 0x80 {
        return Decoded::Invalid(2);
    }
    if lead < 0xF0 {
        let u = u32::from(lead & 0x0F) << 12 | u32::from(b1 & 0x3F) << 6 | u32::from(b2 & 0x3F);
        return Decoded::Char(char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER), 3);
    }
    let Some(&b3) = b.get(3) else {
        return Decoded::Incomplete;
    };
    if b3 & 0xC0 != 0x80 {
        return Decoded::Invalid(3);
    }
    let u = u32::from(lead & 0x07) << 18
        | u32::from(b1 & 0x3F) << 12
        | u32::from(b2 & 0x3F) << 6
        | u32::from(b3 & 0x3F);
    Decoded::Char(char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER), 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes all of `bytes` the way the text path does (an incomplete
    /// character at the end is one U+FFFD, as in `from_utf8_lossy`).
    fn lossy(mut bytes: &[u8]) -> String {
        let mut out = String::new();
        while let Some(&b) = bytes.first() {
            if b < 0x80 {
                out.push(b as char);
                bytes = &bytes[1..];
                continue;
            }
            match decode(bytes) {
                Decoded::Char(c, k) => {
                    out.push(c);
                    bytes = &bytes[k..];
                }
                Decoded::Invalid(k) => {
                    out.push(char::REPLACEMENT_CHARACTER);
                    bytes = &bytes[k..];
                }
                Decoded::Incomplete => {
                    out.push(char::REPLACEMENT_CHARACTER);
                    break;
                }
            }
        }
        out
    }

    #[test]
    fn decoding_matches_std_lossy_decoding() {
        // Every one- and two-byte input, and three-byte ones around each
        // lead byte's second-byte range.
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for a in 0..=255u8 {
            cases.push(vec![a]);
            for b in 0..=255u8 {
                cases.push(vec![a, b]);
            }
            let (lo, hi) = second_byte(a);
            for b in [lo.wrapping_sub(1), lo, hi, hi.wrapping_add(1), 0x41] {
                for c in [0x7F, 0x80, 0xBF, 0xC0, 0x41] {
                    cases.push(vec![a, b, c]);
                    cases.push(vec![a, b, c, 0x80]);
                    cases.push(vec![a, b, c, 0xC0]);
                }
            }
        }
        for case in cases {
            assert_eq!(lossy(&case), String::from_utf8_lossy(&case), "{case:x?}");
        }
    }

    #[test]
    fn byte_at_a_time_agrees_with_the_table() {
        // `char_len` and `continues` accept exactly the well-formed sequences.
        for lead in 0..=255u8 {
            for b in 0..=255u8 {
                let two = [lead, b, 0x80, 0x80];
                let n = char_len(lead) as usize;
                let ok = n >= 2 && continues(lead, 1, b);
                let std_ok = n >= 2 && std::str::from_utf8(&two[..n]).is_ok();
                assert_eq!(ok, std_ok, "{lead:x} {b:x}");
            }
        }
    }
}
