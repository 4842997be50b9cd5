//! Fixed-point decimals for money and quantities.
//!
//! Billing exports carry prices with up to four decimals (energy tariffs per
//! kWh) and use either `.` or `,` as the decimal separator; floating point
//! would lose cents on large invoices, so everything is an `i128` scaled by
//! 10^4 and rounded half away from zero only when a money amount is shown.

/// A decimal number scaled by 10^4.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Decimal(i128);

const SCALE: i128 = 10_000;

impl Decimal {
    /// Parses `12`, `-3.5`, `0,2345`, `+1234.50`. At most four decimals;
    /// no thousands separators (they are ambiguous between `.` and `,`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("empty number".into());
        }
        let (negative, digits) = match t.as_bytes()[0] {
            b'-' => (true, &t[1..]),
            b'+' => (false, &t[1..]),
            _ => (false, t),
        };
        let (int_part, frac_part) = match digits.find(['.', ',']) {
            Some(i) => (&digits[..i], &digits[i + 1..]),
            None => (digits, ""),
        };
        let valid = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty() && frac_part.is_empty() || !valid(int_part) || !valid(frac_part) {
            return Err(format!("`{t}` is not a number"));
        }
        if frac_part.len() > 4 {
            return Err(format!("`{t}` has more than 4 decimals"));
        }
        if int_part.len() > 18 {
            return Err(format!("`{t}` is too large"));
        }
        let int: i128 =
            if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| format!("`{t}` is not a number"))? };
        let mut frac: i128 =
            if frac_part.is_empty() { 0 } else { frac_part.parse().map_err(|_| format!("`{t}` is not a number"))? };
        for _ in frac_part.len()..4 {
            frac *= 10;
        }
        let value = int * SCALE + frac;
        Ok(Decimal(if negative { -value } else { value }))
    }

    /// `self × other`, rounded half away from zero to 4 decimals.
    pub fn mul(self, other: Decimal) -> Decimal {
        Decimal(div_round(self.0 * other.0, SCALE))
    }

    /// `self × percent / 100`, rounded to 4 decimals.
    pub fn percent(self, percent: Decimal) -> Decimal {
        Decimal(div_round(self.0 * percent.0, SCALE * 100))
    }

    /// Rounded half away from zero to cents.
    pub fn round_cents(self) -> Decimal {
        Decimal(div_round(self.0, 100) * 100)
    }

    /// The sum of two decimals.
    pub fn add(self, other: Decimal) -> Decimal {
        Decimal(self.0 + other.0)
    }

    /// Is the value below zero?
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Money: always two decimals, `.` separator (`1234.50`).
    pub fn money(self) -> String {
        let cents = div_round(self.0, 100);
        let sign = if cents < 0 { "-" } else { "" };
        let abs = cents.abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    /// Shortest exact rendition (`2`, `0.2345`, `12.5`).
    pub fn plain(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.abs();
        let int = abs / SCALE;
        let frac = abs % SCALE;
        if frac == 0 {
            return format!("{sign}{int}");
        }
        let digits = format!("{frac:04}");
        format!("{sign}{int}.{}", digits.trim_end_matches('0'))
    }
}

fn div_round(value: i128, divisor: i128) -> i128 {
    let q = value / divisor;
    let r = value % divisor;
    if r.abs() * 2 >= divisor { q + value.signum() } else { q }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn parses_both_decimal_separators_and_signs() {
        assert_eq!(d("0,2745"), d("0.2745"));
        assert_eq!(d("-52,62").money(), "-52.62");
        assert_eq!(d("+7").plain(), "7");
        assert_eq!(d(".5").plain(), "0.5");
        for bad in ["", "1.2.3", "1,000.00", "abc", "1.23456", "-"] {
            assert!(Decimal::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rounds_half_away_from_zero_to_cents() {
        assert_eq!(d("212.4").mul(d("0.2745")).money(), "58.30"); // 58.3038
        assert_eq!(d("0.125").round_cents().money(), "0.13");
        assert_eq!(d("-0.125").round_cents().money(), "-0.13");
        assert_eq!(d("189.23").percent(d("21")).round_cents().money(), "39.74"); // 39.7383
        assert_eq!(d("99.70").percent(d("13.5")).round_cents().money(), "13.46"); // 13.4595
    }
}
