//! Exact decimals for the amount rules: a CDM amount (`"-1234.567891"`, at
//! most 15 integer and 6 fractional digits, as the schema allows) held as
//! an integer count of millionths. Sums and comparisons are exact; the only
//! rounding is the explicit half-away-from-zero rounding EN 16931 applies to
//! a VAT category's tax amount (BR-CO-17).
//!
//! Display text comes from [`Dec::canonical`]: trailing fractional zeros
//! dropped, then padded to the minimum a kind of value shows (two for
//! money) — the one shape every template filter formats from.

use std::fmt;

/// Millionths in one unit.
const SCALE: i128 = 1_000_000;

/// An exact decimal with up to six fractional digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dec(i128);

impl Dec {
    /// Zero.
    pub const ZERO: Dec = Dec(0);
    /// One unit (1.00 of a currency).
    pub const ONE: Dec = Dec(SCALE);

    /// Parses a CDM decimal string (`-?digits(.digits)?`, up to six
    /// fractional digits). Anything else is `None`.
    pub fn parse(text: &str) -> Option<Dec> {
        let t = text.trim();
        let (negative, digits) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() || int.len() > 18 || frac.len() > 6 {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) || (digits.contains('.') && frac.is_empty()) {
            return None;
        }
        // At most 18 and 6 ASCII digits (checked above): both fit a u64.
        let digits = |s: &str| s.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
        let mut fraction = digits(frac);
        for _ in frac.len()..6 {
            fraction *= 10;
        }
        let value = i128::from(digits(int)) * SCALE + i128::from(fraction);
        Some(Dec(if negative { -value } else { value }))
    }

    /// A whole number of units.
    pub fn units(n: i64) -> Dec {
        Dec(i128::from(n) * SCALE)
    }

    /// `self × rate / 100`, rounded half away from zero to two decimals:
    /// the VAT a base at a percentage rate gives.
    pub fn percent_rounded(self, rate: Dec) -> Dec {
        // base × rate in millionths² is base × rate / 100 in cents × 10^12:
        // cents = (B·10⁶)(R·10⁶) / 10¹². Amounts of 15 digits and rates of
        // 9 stay far inside i128 (10^38).
        let product = self.0 * rate.0;
        let cents = div_round_half_away(product, SCALE * SCALE);
        Dec(cents * 10_000)
    }

    /// The absolute value.
    pub fn abs(self) -> Dec {
        Dec(self.0.abs())
    }

    /// Below zero.
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Exactly zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The value with trailing fractional zeros dropped and at least
    /// `min_decimals` fractional digits: `25.00` → `25` (0), `12.5` →
    /// `12.50` (2), `0.274500` → `0.2745` (2).
    pub fn canonical(self, min_decimals: usize) -> String {
        let parts = self.parts(min_decimals);
        let mut out = String::with_capacity(24);
        if parts.negative {
            out.push('-');
        }
        out.push_str(parts.whole());
        if !parts.fraction().is_empty() {
            out.push('.');
            out.push_str(parts.fraction());
        }
        out
    }

    /// The digits of [`Dec::canonical`] without building its text: what a
    /// locale's formatting writes straight into its own string (a letter
    /// formats some seventy figures, so the intermediate strings counted).
    pub fn parts(self, min_decimals: usize) -> Parts {
        let negative = self.0 < 0;
        let magnitude = self.0.unsigned_abs();
        // Every CDM amount fits a u64 of millionths; u128 division is a
        // library call, so it is left to the rare value that needs it.
        let (mut whole, mut frac) = match u64::try_from(magnitude) {
            Ok(m) => (u128::from(m / SCALE as u64), (m % SCALE as u64) as u32),
            Err(_) => (magnitude / SCALE as u128, (magnitude % SCALE as u128) as u32),
        };
        let mut digits = [b'0'; WHOLE_DIGITS + 6];
        let mut at = WHOLE_DIGITS;
        loop {
            at -= 1;
            digits[at] = b'0' + (whole % 10) as u8;
            whole /= 10;
            if whole == 0 {
                break;
            }
        }
        for i in (0..6).rev() {
            digits[WHOLE_DIGITS + i] = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        let mut frac_len = 6;
        while frac_len > min_decimals.min(6) && digits[WHOLE_DIGITS + frac_len - 1] == b'0' {
            frac_len -= 1;
        }
        Parts { negative, digits, start: at, frac_len }
    }

    /// Money as the CDM writes it: at least two decimals.
    pub fn money(self) -> String {
        self.canonical(2)
    }
}

/// Room for the whole digits of any `Dec` (u128::MAX has 39).
const WHOLE_DIGITS: usize = 40;

/// A decimal's sign, whole digits and fractional digits, as
/// [`Dec::canonical`] writes them.
pub struct Parts {
    /// Below zero.
    pub negative: bool,
    /// Whole digits in `start..WHOLE_DIGITS`, then six fractional digits.
    digits: [u8; WHOLE_DIGITS + 6],
    start: usize,
    frac_len: usize,
}

impl Parts {
    /// The whole digits (`1234`; `0` for a value below one).
    pub fn whole(&self) -> &str {
        std::str::from_utf8(&self.digits[self.start..WHOLE_DIGITS]).expect("ASCII digits")
    }

    /// The fractional digits shown (may be empty).
    pub fn fraction(&self) -> &str {
        std::str::from_utf8(&self.digits[WHOLE_DIGITS..WHOLE_DIGITS + self.frac_len]).expect("ASCII digits")
    }
}

fn div_round_half_away(n: i128, d: i128) -> i128 {
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d { q + n.signum() } else { q }
}

impl std::ops::Add for Dec {
    type Output = Dec;
    fn add(self, other: Dec) -> Dec {
        Dec(self.0 + other.0)
    }
}

impl std::ops::Sub for Dec {
    type Output = Dec;
    fn sub(self, other: Dec) -> Dec {
        Dec(self.0 - other.0)
    }
}

impl std::ops::AddAssign for Dec {
    fn add_assign(&mut self, other: Dec) {
        self.0 += other.0;
    }
}

impl std::ops::SubAssign for Dec {
    fn sub_assign(&mut self, other: Dec) {
        self.0 -= other.0;
    }
}

impl std::ops::Neg for Dec {
    type Output = Dec;
    fn neg(self) -> Dec {
        Dec(-self.0)
    }
}

impl std::iter::Sum for Dec {
    fn sum<I: Iterator<Item = Dec>>(iter: I) -> Dec {
        iter.fold(Dec::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Dec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.money())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        Dec::parse(s).unwrap()
    }

    #[test]
    fn parses_cdm_decimals_only() {
        assert_eq!(d("12.5"), d("12.500000"));
        assert_eq!(d("-0.01") + d("0.01"), Dec::ZERO);
        for bad in ["", "-", "1.", ".5", "1,5", "1e3", "+1", "1.1234567", "12a"] {
            assert_eq!(Dec::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn canonical_text_is_what_decimal_arithmetic_in_128_bits_writes() {
        fn reference(d: Dec, min_decimals: usize) -> String {
            let magnitude = d.0.unsigned_abs();
            let whole = magnitude / SCALE as u128;
            let mut frac = format!("{:06}", magnitude % SCALE as u128);
            while frac.len() > min_decimals.min(6) && frac.ends_with('0') {
                frac.pop();
            }
            let sign = if d.0 < 0 { "-" } else { "" };
            if frac.is_empty() { format!("{sign}{whole}") } else { format!("{sign}{whole}.{frac}") }
        }
        let edges = [0i128, 1, 999_999, 1_000_000, 1_234_567_890, i128::from(u64::MAX), i128::from(u64::MAX) + 1];
        for v in edges.into_iter().chain([i128::MAX / 3, 10i128.pow(24) + 500_000]).flat_map(|v| [v, -v]) {
            for min in [0, 2, 6, 9] {
                assert_eq!(Dec(v).canonical(min), reference(Dec(v), min), "{v} with {min}");
            }
        }
        for text in ["0", "-0", "000123.450", "999999999999999999.999999", "-18446744073709.551616", "1.000001"] {
            let d = d(text);
            assert_eq!(d.canonical(2), reference(d, 2), "{text}");
        }
    }

    #[test]
    fn canonical_text_drops_trailing_zeros_down_to_the_minimum() {
        assert_eq!(d("25.00").canonical(0), "25");
        assert_eq!(d("25").canonical(0), "25");
        assert_eq!(d("12.50").canonical(0), "12.5");
        assert_eq!(d("0.274500").money(), "0.2745");
        assert_eq!(d("7").money(), "7.00");
        assert_eq!(d("-801.780").money(), "-801.78");
        assert_eq!(d("-0.5").canonical(0), "-0.5");
    }

    #[test]
    fn vat_rounds_half_away_from_zero_to_cents() {
        assert_eq!(d("100.00").percent_rounded(d("21")), d("21.00"));
        assert_eq!(d("0.10").percent_rounded(d("25")), d("0.03"), "0.025 rounds up");
        assert_eq!(d("-0.10").percent_rounded(d("25")), d("-0.03"), "and away from zero below it");
        assert_eq!(d("1234.56").percent_rounded(d("12.5")), d("154.32"));
        assert_eq!(d("99.99").percent_rounded(d("0")), Dec::ZERO);
    }
}
