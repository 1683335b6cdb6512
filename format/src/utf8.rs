//! An incremental UTF-8 sequence recogniser following Unicode's Table 3-7
//! (well-formed UTF-8 byte sequences), as tlog splits text from binary.
//!
//! Bytes are added one at a time. A sequence *ends* either complete (a valid
//! character) or broken: the next byte cannot continue it, and that byte is
//! not taken. A broken non-empty sequence is a "maximal subpart" and becomes
//! one U+FFFD; a byte that cannot start a sequence is one U+FFFD by itself.

/// The state of one UTF-8 sequence being recognised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Utf8Seq {
    buf: [u8; 4],
    len: u8,
    /// Total length the sequence will have, from its first byte.
    want: u8,
    ended: bool,
}

impl Utf8Seq {
    /// Offers `b` to the sequence. Returns true if the byte was taken; false
    /// if it cannot continue (or start) a sequence, which ends it.
    #[inline]
    pub fn add(&mut self, b: u8) -> bool {
        debug_assert!(!self.ended);
        if self.len == 0 {
            let want = match b {
                0x00..=0x7f => 1,
                0xc2..=0xdf => 2,
                0xe0..=0xef => 3,
                0xf0..=0xf4 => 4,
                _ => {
                    self.ended = true;
                    return false;
                }
            };
            self.buf[0] = b;
            self.len = 1;
            self.want = want;
            self.ended = want == 1;
            return true;
        }
        let (lo, hi) = if self.len == 1 {
            match self.buf[0] {
                0xe0 => (0xa0, 0xbf),
                0xed => (0x80, 0x9f),
                0xf0 => (0x90, 0xbf),
                0xf4 => (0x80, 0x8f),
                _ => (0x80, 0xbf),
            }
        } else {
            (0x80, 0xbf)
        };
        if b < lo || b > hi {
            self.ended = true;
            return false;
        }
        self.buf[self.len as usize] = b;
        self.len += 1;
        self.ended = self.len == self.want;
        true
    }

    /// True once the sequence is complete or broken.
    #[inline]
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// True if no byte has been taken.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True if the sequence ended as a whole, valid character.
    #[inline]
    pub fn is_complete(&self) -> bool {
        self.ended && self.len != 0 && self.len == self.want
    }

    /// The bytes taken so far.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits bytes into (valid?, bytes) sequences the way the encoder does.
    fn split(mut input: &[u8]) -> Vec<(bool, Vec<u8>)> {
        let mut out = Vec::new();
        while !input.is_empty() {
            let mut seq = Utf8Seq::default();
            while !input.is_empty() && !seq.is_ended() {
                if seq.add(input[0]) {
                    input = &input[1..];
                }
            }
            if seq.is_empty() {
                out.push((false, vec![input[0]]));
                input = &input[1..];
            } else {
                out.push((seq.is_complete(), seq.bytes().to_vec()));
            }
        }
        out
    }

    #[test]
    fn maximal_subparts_match_std_lossy_decoding() {
        let cases: &[&[u8]] = &[
            b"\xff\xfe",
            b"\xe2\x82|",
            b"\xc0\xaf",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"\xf0\x9f\x8e\x89ok",
            b"\xe0\x80\x80",
            b"\xf0\x8f\xbf\xbf",
        ];
        for case in cases {
            let replacements = split(case).iter().filter(|(valid, _)| !valid).count();
            let std = String::from_utf8_lossy(case).matches('\u{fffd}').count();
            assert_eq!(replacements, std, "{case:x?}");
        }
    }

    #[test]
    fn complete_characters_are_valid() {
        assert_eq!(
            split("é€🎉a".as_bytes()).iter().filter(|(v, _)| *v).count(),
            4
        );
    }
}
