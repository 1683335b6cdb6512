//! A bounded JSON scanner: walks the members of one object, or checks one
//! value, by RFC 8259's grammar, without building anything.
//!
//! Iterative (nesting is a bit stack, not recursion), at most
//! [`MAX_DEPTH`] levels deep (as deep as serde_json turns JSON into
//! values: no field of termtape's is deeper), linear in its input, and it
//! allocates nothing: a hostile line costs one pass over its bytes.

use super::ParseError;

/// The deepest nesting of arrays and objects accepted: serde_json's
/// recursion limit (128) allows 127.
pub(crate) const MAX_DEPTH: usize = 127;

/// A position in a JSON text.
#[derive(Debug)]
pub(super) struct Scanner<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    pub(super) fn new(text: &'a [u8]) -> Scanner<'a> {
        Scanner { text, at: 0 }
    }

    pub(super) fn at(&self) -> usize {
        self.at
    }

    pub(super) fn slice(&self, from: usize) -> &'a [u8] {
        &self.text[from..self.at]
    }

    pub(super) fn error(&self, reason: &'static str) -> ParseError {
        ParseError {
            offset: self.at,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    pub(super) fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Consumes `byte` (after whitespace) if it is next.
    pub(super) fn eat(&mut self, byte: u8) -> bool {
        self.skip_ws();
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    pub(super) fn expect(&mut self, byte: u8, reason: &'static str) -> Result<(), ParseError> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    /// Whether only whitespace is left.
    pub(super) fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.at == self.text.len()
    }

    /// A member's name and its colon: the name as written, quotes included.
    pub(super) fn name(&mut self) -> Result<&'a [u8], ParseError> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a member name"));
        }
        let start = self.at;
        self.string()?;
        let name = self.slice(start);
        self.expect(b':', "expected ':' after a member name")?;
        Ok(name)
    }

    /// A string, its opening quote next: escapes checked, no raw control
    /// characters, UTF-8 throughout.
    fn string(&mut self) -> Result<(), ParseError> {
        self.at += 1;
        let start = self.at;
        loop {
            self.at += plain_run(&self.text[self.at..]);
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => break,
                Some(b'\\') => {
                    self.at += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.at += 1;
                        }
                        Some(b'u') => {
                            let hex = self.text.get(self.at + 1..self.at + 5);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return Err(self.error("\\u needs four hex digits"));
                            }
                            self.at += 5;
                        }
                        _ => return Err(self.error("invalid escape in a string")),
                    }
                }
                Some(0..0x20) => return Err(self.error("control character in a string")),
                Some(_) => self.at += 1,
            }
        }
        if std::str::from_utf8(&self.text[start..self.at]).is_err() {
            return Err(ParseError {
                offset: start,
                reason: "string is not UTF-8",
            });
        }
        self.at += 1;
        Ok(())
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        self.at - start
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<(), ParseError> {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error("expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err(self.error("expected a digit after '.'"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("expected a digit in the exponent"));
            }
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), ParseError> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(self.error("expected a value"))
        }
    }

    /// One value, whatever its nesting, up to [`MAX_DEPTH`] levels.
    pub(super) fn value(&mut self) -> Result<(), ParseError> {
        // Bit n is set if level n (from 0) is an object, clear if an array.
        let mut objects: u128 = 0;
        let mut depth = 0usize;
        loop {
            // A value is next.
            self.skip_ws();
            let mut opened = None;
            match self.peek() {
                Some(open @ (b'{' | b'[')) => {
                    if depth == MAX_DEPTH {
                        return Err(self.error("nested too deeply"));
                    }
                    self.at += 1;
                    let object = open == b'{';
                    if !self.eat(if object { b'}' } else { b']' }) {
                        opened = Some(object);
                    }
                }
                Some(b'"') => self.string()?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                _ => return Err(self.error("expected a value")),
            }
            if let Some(object) = opened {
                objects = (objects & !(1 << depth)) | (u128::from(object) << depth);
                depth += 1;
                if object {
                    self.name()?;
                }
                continue;
            }
            // A value ended: close what it ends, until a comma asks for
            // the next one.
            loop {
                if depth == 0 {
                    return Ok(());
                }
                let object = objects & (1 << (depth - 1)) != 0;
                if self.eat(b',') {
                    if object {
                        self.name()?;
                    }
                    break;
                }
                let close = if object { b'}' } else { b']' };
                if !self.eat(close) {
                    return Err(self.error(if object {
                        "expected ',' or '}'"
                    } else {
                        "expected ',' or ']'"
                    }));
                }
                depth -= 1;
            }
        }
    }
}

/// How many bytes at the start of `text` need no look in a string: none is
/// `"`, `\\` or a control character. Eight at a time (the scan's hot loop:
/// the text of every message).
fn plain_run(text: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Bytes of `x` that are zero, as their high bit (no false positives
    // before the first real one, which is all that is used).
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut at = 0;
    while let Some(chunk) = text.get(at..at + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        // Below 0x20: the top three bits clear (0x20 is 001x_xxxx).
        let control = zero(x & 0xE0E0_E0E0_E0E0_E0E0);
        let special =
            control | zero(x ^ (ONES * u64::from(b'"'))) | zero(x ^ (ONES * u64::from(b'\\')));
        if special != 0 {
            return at + (special.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + text[at..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(text.len() - at)
}

#[cfg(test)]
mod plain_run_tests {
    use super::plain_run;

    #[test]
    fn plain_run_stops_at_the_first_byte_that_needs_a_look() {
        let special = [b'"', b'\\', 0, 0x1f];
        for len in 0..20 {
            for at in 0..=len {
                for &b in &special {
                    let mut text = vec![b'a'; len];
                    text.extend_from_slice("é\u{7f}\u{20}".as_bytes());
                    let plain = text.len();
                    assert_eq!(plain_run(&text), plain);
                    if at < len {
                        text[at] = b;
                        assert_eq!(plain_run(&text), at, "{b} at {at} of {len}");
                    }
                }
            }
        }
        // Every byte value, alone after seven plain ones.
        for b in 0..=255u8 {
            let mut text = [b'x'; 9];
            text[7] = b;
            let stops = b == b'"' || b == b'\\' || b < 0x20;
            assert_eq!(plain_run(&text), if stops { 7 } else { 9 }, "{b}");
        }
    }
}
