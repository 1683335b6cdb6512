//! Numbers read from text a person wrote (command-line options,
//! configuration keys), checked against the range a setting accepts.
//!
//! Both the recorder and the player check their numeric options through a
//! [`Range`], so that a huge, negative, fractional, infinite or non-numeric
//! value is refused with the accepted range named, before anything is
//! allocated or started from it.

use std::fmt;

/// The values a numeric setting accepts: `min` to `max` (both included), in
/// `unit`, whole numbers only when `whole`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// The smallest value accepted.
    pub min: f64,
    /// The largest value accepted.
    pub max: f64,
    /// What the value counts (`bytes`, `seconds`), for messages.
    pub unit: &'static str,
    /// Whether only whole numbers are accepted.
    pub whole: bool,
}

impl Range {
    /// Whole numbers from `min` to `max` (at most 2^53, so that they are
    /// exact as `f64`).
    pub const fn whole(min: u64, max: u64, unit: &'static str) -> Range {
        Range {
            min: min as f64,
            max: max as f64,
            unit,
            whole: true,
        }
    }

    /// Any finite number from `min` to `max`.
    pub const fn real(min: f64, max: f64, unit: &'static str) -> Range {
        Range {
            min,
            max,
            unit,
            whole: false,
        }
    }

    /// Checks a value already read as a number (as a TOML parser gives it).
    pub fn check(&self, v: f64) -> Result<f64, String> {
        if self.whole && v.is_finite() && v.fract() != 0.0 {
            return Err(format!("{} is not a whole number; {self}", Shown(v)));
        }
        if v.is_nan() || v < self.min || v > self.max {
            return Err(format!("{} is out of range; {self}", Shown(v)));
        }
        Ok(v)
    }

    /// Reads a number from `text` and checks it (decimal, as `f64` reads it:
    /// `0.5`, `1e3`; `inf` and `NaN` are out of range).
    pub fn parse(&self, text: &str) -> Result<f64, String> {
        if self.whole {
            return self.parse_whole(text).map(|n| n as f64);
        }
        let s = text.trim();
        let v: f64 = s
            .parse()
            .map_err(|_| format!("{s:?} is not a number; {self}"))?;
        if v.is_nan() || v < self.min || v > self.max {
            return Err(format!("{s} is out of range; {self}"));
        }
        Ok(v)
    }

    /// Reads a whole number from `text` (decimal digits only) and checks it.
    pub fn parse_whole(&self, text: &str) -> Result<u64, String> {
        let s = text.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            // A number that is not whole (-1, 2.5, 1e3) is told apart from
            // text that is no number at all.
            let what = if s.parse::<f64>().is_ok_and(f64::is_finite) {
                "a whole number"
            } else {
                "a number"
            };
            return Err(format!("{s:?} is not {what}; {self}"));
        }
        // Leading zeros aside, more than 20 digits is beyond any u64.
        let digits = s.trim_start_matches('0');
        let n = match digits.len() {
            0 => Some(0),
            1..=20 => digits.parse::<u128>().ok(),
            _ => None,
        };
        match n {
            Some(n) if n as f64 >= self.min && n as f64 <= self.max => {
                u64::try_from(n).map_err(|_| format!("{s} is out of range; {self}"))
            }
            _ => Err(format!("{s} is out of range; {self}")),
        }
    }
}

/// `must be a whole number of bytes from 64 to 1048576`.
impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.whole { "whole number" } else { "number" };
        let of = if self.unit.is_empty() { "" } else { " of " };
        write!(
            f,
            "must be a {kind}{of}{} from {} to {}",
            self.unit,
            Shown(self.min),
            Shown(self.max)
        )
    }
}

/// A number as a message shows it: 1e308 in exponent form, not 309 digits.
struct Shown(f64);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0.abs();
        if a.is_finite() && (a >= 1e16 || (a != 0.0 && a < 1e-6)) {
            write!(f, "{:e}", self.0)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BYTES: Range = Range::whole(64, 1 << 20, "bytes");
    const SECS: Range = Range::real(0.001, 86400.0, "seconds");

    #[test]
    fn the_message_names_the_range() {
        assert_eq!(
            BYTES.parse_whole("18446744073709551615").unwrap_err(),
            "18446744073709551615 is out of range; must be a whole number of bytes from 64 to 1048576"
        );
        assert_eq!(
            SECS.parse("1e308").unwrap_err(),
            "1e308 is out of range; must be a number of seconds from 0.001 to 86400"
        );
        assert_eq!(
            BYTES.parse_whole("-1").unwrap_err(),
            "\"-1\" is not a whole number; must be a whole number of bytes from 64 to 1048576"
        );
        assert_eq!(
            SECS.parse("soon").unwrap_err(),
            "\"soon\" is not a number; must be a number of seconds from 0.001 to 86400"
        );
        assert!(SECS.parse("NaN").is_err());
        assert!(SECS.parse("inf").is_err());
        assert!(SECS.check(f64::NAN).is_err());
        assert!(BYTES.check(100.5).is_err());
        assert_eq!(BYTES.check(100.0), Ok(100.0));
        assert_eq!(
            SECS.check(1e308).unwrap_err(),
            "1e308 is out of range; must be a number of seconds from 0.001 to 86400"
        );
        assert_eq!(
            Range::whole(0, 7, "").parse_whole("8").unwrap_err(),
            "8 is out of range; must be a whole number from 0 to 7"
        );
    }

    #[test]
    fn bounds_are_included() {
        assert_eq!(BYTES.parse_whole("64"), Ok(64));
        assert_eq!(BYTES.parse_whole("0001048576"), Ok(1 << 20));
        assert!(BYTES.parse_whole("63").is_err());
        assert!(BYTES.parse_whole("1048577").is_err());
        assert_eq!(Range::whole(0, 5, "x").parse_whole("000"), Ok(0));
        assert_eq!(SECS.parse("0.001"), Ok(0.001));
        assert_eq!(SECS.parse("86400"), Ok(86400.0));
        assert!(SECS.parse("0").is_err());
        assert_eq!(BYTES.parse("100"), Ok(100.0));
    }

    proptest! {
        #[test]
        fn a_value_is_accepted_exactly_when_in_range(text in ".{0,30}") {
            if let Ok(n) = BYTES.parse_whole(&text) {
                prop_assert!((64..=1 << 20).contains(&n));
            }
            if let Ok(v) = SECS.parse(&text) {
                prop_assert!((0.001..=86400.0).contains(&v));
            }
        }

        #[test]
        fn every_whole_number_is_judged(n in any::<u64>()) {
            let r = BYTES.parse_whole(&n.to_string());
            prop_assert_eq!(r.is_ok(), (64..=1 << 20).contains(&n));
        }
    }
}
