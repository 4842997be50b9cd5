//! Exact decimals at six places (the CDM's precision), for summing line
//! amounts and writing them back: EN 16931 wants money with at most two
//! decimals, and a CDM amount that has more is refused, never rounded
//! silently (the sum would then differ from the letter's).

use std::fmt;

const SCALE: i128 = 1_000_000;

/// A decimal number, `value / 10^6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Amount(i128);

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(0);

    /// Parses `-12.345`; `None` for anything else (no exponent, no `+`, at most
    /// six decimals).
    pub fn parse(text: &str) -> Option<Amount> {
        let text = text.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() || int.len() > 18 || frac.len() > 6 {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut value: i128 = int.parse().ok()?;
        let mut frac_value: i128 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
        for _ in frac.len()..6 {
            frac_value *= 10;
        }
        value = value * SCALE + frac_value;
        Some(Amount(if negative { -value } else { value }))
    }

    /// Whether it is below zero.
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Whether it is zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Without its sign.
    pub fn abs(self) -> Amount {
        Amount(self.0.abs())
    }

    /// The same with the other sign.
    pub fn negated(self) -> Amount {
        Amount(-self.0)
    }

    /// Whether it has no more than `places` decimals.
    pub fn fits(self, places: u32) -> bool {
        self.0 % 10i128.pow(6 - places.min(6)) == 0
    }

    /// `self × rate / 100`, rounded half away from zero to cents.
    pub fn percent_rounded(self, rate: Amount) -> Amount {
        // value and rate are both scaled by 10^6: the product by 10^12, and
        // the percentage by 10^14; cents are 10^4 of the result's scale.
        let product = self.0 * rate.0; // scaled 10^12, ×100 for percent
        let unit: i128 = 100 * SCALE * 10_000; // one cent of the product, as a percentage
        let cents = (product.abs() + unit / 2) / unit;
        Amount(product.signum() * cents * 10_000)
    }

    /// Written with at least `min` and at most six decimals, trailing zeros
    /// beyond `min` dropped: `12.5` → `12.50` (min 2), `0.2745` (min 0).
    pub fn to_string_min(self, min: usize) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.abs();
        let mut frac = format!("{:06}", abs % SCALE);
        while frac.len() > min && frac.ends_with('0') {
            frac.pop();
        }
        if frac.is_empty() { format!("{sign}{}", abs / SCALE) } else { format!("{sign}{}.{frac}", abs / SCALE) }
    }
}

impl std::ops::Add for Amount {
    type Output = Amount;
    fn add(self, other: Amount) -> Amount {
        Amount(self.0 + other.0)
    }
}

impl std::ops::Sub for Amount {
    type Output = Amount;
    fn sub(self, other: Amount) -> Amount {
        Amount(self.0 - other.0)
    }
}

impl std::ops::AddAssign for Amount {
    fn add_assign(&mut self, other: Amount) {
        self.0 += other.0;
    }
}

impl std::iter::Sum for Amount {
    fn sum<I: Iterator<Item = Amount>>(iter: I) -> Amount {
        iter.fold(Amount::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_min(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sums_and_writes_exactly() {
        let a = Amount::parse("58.30").unwrap();
        let b = Amount::parse("0.2745").unwrap();
        assert_eq!((a + b).to_string_min(2), "58.5745");
        assert_eq!(a.to_string_min(2), "58.30");
        assert_eq!(Amount::parse("-19.9").unwrap().to_string_min(2), "-19.90");
        assert_eq!(Amount::parse("21").unwrap().to_string_min(0), "21");
        assert!(a.fits(2) && !b.fits(2) && b.fits(4));
        for bad in ["", "1e5", "+1", "1,5", "1.1234567", "-", "."] {
            assert_eq!(Amount::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn percentages_round_half_away_from_zero_to_cents() {
        let pct = |base: &str, rate: &str| {
            Amount::parse(base).unwrap().percent_rounded(Amount::parse(rate).unwrap()).to_string_min(2)
        };
        assert_eq!(pct("58.30", "21"), "12.24");
        assert_eq!(pct("0.50", "5"), "0.03"); // 0.025 → 0.03
        assert_eq!(pct("-0.50", "5"), "-0.03");
        assert_eq!(pct("183.23", "6"), "10.99");
        assert_eq!(pct("100", "0"), "0.00");
    }
}
