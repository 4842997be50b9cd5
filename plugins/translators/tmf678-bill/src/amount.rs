//! Money without floats: TMF678 sends amounts as JSON numbers; they become
//! fixed-point values with six decimals, summed exactly and written back as
//! decimal strings.

use serde_json::Value;

const SCALE: i128 = 1_000_000;

/// A decimal with six fixed decimals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(i128);

impl Amount {
    /// Parses `12`, `-0.5`, `40.25` (a JSON number's text or a string).
    pub fn parse(text: &str) -> Option<Amount> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() || int.len() > 15 || frac.len() > 6 {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut value: i128 = int.parse().ok()?;
        let mut frac_value: i128 = 0;
        for (i, b) in frac.bytes().enumerate() {
            frac_value += i128::from(b - b'0') * 10i128.pow(5 - i as u32);
        }
        value = value * SCALE + frac_value;
        Some(Amount(if negative { -value } else { value }))
    }

    /// A JSON number or numeric string.
    pub fn from_json(value: &Value) -> Option<Amount> {
        match value {
            Value::Number(n) => Amount::parse(&n.to_string()),
            Value::String(s) => Amount::parse(s.trim()),
            _ => None,
        }
    }

    /// A fraction (0.25) as a percentage (25).
    pub fn percent(self) -> Amount {
        Amount(self.0 * 100)
    }

    /// `self / rate` where rate is a fraction (tax 10 at 0.25 → base 40),
    /// rounded half away from zero to cents; `None` for a zero rate.
    pub fn divide_by_fraction(self, rate: Amount) -> Option<Amount> {
        if rate.0 == 0 {
            return None;
        }
        let exact = self.0 * SCALE;
        let cents = SCALE / 100;
        let q = exact / rate.0;
        let rounded = (q + q.signum() * cents / 2) / cents * cents;
        Some(Amount(rounded))
    }

    /// Negative?
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Money: at least two decimals, no trailing zeros beyond them.
    pub fn money(self) -> String {
        self.text(2)
    }

    /// A rate or quantity: as few decimals as needed.
    pub fn plain(self) -> String {
        self.text(0)
    }

    fn text(self, min_decimals: usize) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.abs();
        let mut frac = format!("{:06}", abs % SCALE);
        while frac.len() > min_decimals && frac.ends_with('0') {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_exactly() {
        assert_eq!(Amount::parse("40").unwrap().money(), "40.00");
        assert_eq!(Amount::parse("0.04").unwrap().money(), "0.04");
        assert_eq!(Amount::parse("-12.5").unwrap().money(), "-12.50");
        assert_eq!(Amount::parse("0.123456").unwrap().plain(), "0.123456");
        assert_eq!(Amount::parse("1e-5"), None);
        assert_eq!(Amount::parse("1.2345678"), None);
        let sum = ["0.1", "0.2", "0.3"].iter().fold(Amount::default(), |a, s| a + Amount::parse(s).unwrap());
        assert_eq!(sum.money(), "0.60", "no float drift");
    }

    #[test]
    fn rates_and_bases() {
        assert_eq!(Amount::parse("0.25").unwrap().percent().plain(), "25");
        assert_eq!(Amount::parse("0.2").unwrap().percent().plain(), "20");
        let base = Amount::parse("10").unwrap().divide_by_fraction(Amount::parse("0.25").unwrap()).unwrap();
        assert_eq!(base.money(), "40.00");
        let base = Amount::parse("0.01").unwrap().divide_by_fraction(Amount::parse("0.21").unwrap()).unwrap();
        assert_eq!(base.money(), "0.05");
        assert_eq!(Amount::parse("1").unwrap().divide_by_fraction(Amount::default()), None);
    }
}
