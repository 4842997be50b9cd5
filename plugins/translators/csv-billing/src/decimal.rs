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
        // Digits only (checked above), at most 18 + 4 of them: read on 64
        // bits (WebAssembly has no 128-bit arithmetic, each `i128` step is
        // a call), widened only for the scale of an 18-digit number.
        let digits_of = |s: &str| s.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
        let int = digits_of(int_part);
        let frac = digits_of(frac_part) * 10u64.pow(4 - frac_part.len() as u32);
        let value = match int.checked_mul(SCALE as u64).and_then(|i| i.checked_add(frac)) {
            Some(v) => i128::from(v),
            None => i128::from(int) * SCALE + i128::from(frac),
        };
        Ok(Decimal(if negative { -value } else { value }))
    }

    /// `self × other`, rounded half away from zero to 4 decimals.
    pub fn mul(self, other: Decimal) -> Decimal {
        Decimal(div_round(product(self.0, other.0), SCALE))
    }

    /// `self × percent / 100`, rounded to 4 decimals.
    pub fn percent(self, percent: Decimal) -> Decimal {
        Decimal(div_round(product(self.0, percent.0), SCALE * 100))
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
    #[cfg(test)]
    pub fn money(self) -> String {
        let mut out = String::new();
        self.write_money(&mut out);
        out
    }

    /// Writes [`Self::money`]'s text to `out`.
    pub fn write_money(self, out: &mut String) {
        let cents = div_round(self.0, 100);
        if cents < 0 {
            out.push('-');
        }
        let (whole, c) = match u64::try_from(cents.unsigned_abs()) {
            Ok(abs) => (u128::from(abs / 100), (abs % 100) as u8),
            Err(_) => (cents.unsigned_abs() / 100, (cents.unsigned_abs() % 100) as u8),
        };
        write_digits(out, whole);
        out.push('.');
        out.push(char::from(b'0' + c / 10));
        out.push(char::from(b'0' + c % 10));
    }

    /// Shortest exact rendition (`2`, `0.2345`, `12.5`).
    #[cfg(test)]
    pub fn plain(self) -> String {
        let mut out = String::new();
        self.write_plain(&mut out);
        out
    }

    /// Writes [`Self::plain`]'s text to `out`.
    pub fn write_plain(self, out: &mut String) {
        if self.0 < 0 {
            out.push('-');
        }
        let (whole, mut frac) = match u64::try_from(self.0.unsigned_abs()) {
            Ok(abs) => (u128::from(abs / SCALE as u64), (abs % SCALE as u64) as u16),
            Err(_) => (self.0.unsigned_abs() / SCALE as u128, (self.0.unsigned_abs() % SCALE as u128) as u16),
        };
        write_digits(out, whole);
        if frac == 0 {
            return;
        }
        out.push('.');
        let mut unit = 1000;
        while frac > 0 {
            out.push(char::from(b'0' + (frac / unit) as u8));
            frac %= unit;
            unit /= 10;
        }
    }
}

/// `a × b`, on 64 bits when both fit (WebAssembly has no 128-bit
/// multiplication: every `i128` product is a call).
fn product(a: i128, b: i128) -> i128 {
    match (i64::try_from(a), i64::try_from(b)) {
        (Ok(a), Ok(b)) => a.checked_mul(b).map_or(a as i128 * b as i128, i128::from),
        _ => a * b,
    }
}

/// Rounded half away from zero; on 64 bits when the value fits.
fn div_round(value: i128, divisor: i128) -> i128 {
    if let (Ok(v), Ok(d)) = (i64::try_from(value), i64::try_from(divisor)) {
        let (q, r) = (v / d, v % d);
        return i128::from(if r.unsigned_abs() * 2 >= d.unsigned_abs() { q + v.signum() } else { q });
    }
    let q = value / divisor;
    let r = value % divisor;
    if r.abs() * 2 >= divisor { q + value.signum() } else { q }
}

/// Writes `n` in decimal digits, without the formatting machinery.
pub fn write_digits(out: &mut String, n: u128) {
    let Ok(mut n) = u64::try_from(n) else {
        out.push_str(&n.to_string());
        return;
    };
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[at..]).expect("ASCII digits"));
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
    fn writes_what_the_formatting_machinery_wrote() {
        for text in ["0", "-0.0001", "12.5", "0,2345", "-52.625", "999999999999999999.9999", "-999999999999999999.5"] {
            let v = d(text);
            let cents = div_round(v.0, 100);
            let sign = if cents < 0 { "-" } else { "" };
            assert_eq!(v.money(), format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100), "{text}");
            let (sign, abs) = (if v.0 < 0 { "-" } else { "" }, v.0.abs());
            let digits = format!("{:04}", abs % SCALE);
            let plain = match abs % SCALE {
                0 => format!("{sign}{}", abs / SCALE),
                _ => format!("{sign}{}.{}", abs / SCALE, digits.trim_end_matches('0')),
            };
            assert_eq!(v.plain(), plain, "{text}");
        }
        let big = d("999999999999999999.9999");
        assert_eq!(big.mul(big), Decimal(div_round(big.0 * big.0, SCALE)), "products beyond 64 bits");
    }

    #[test]
    fn parses_every_width_on_either_side_of_64_bits() {
        for (text, scaled) in [
            ("0,0001", 1i128),
            ("-12.5", -125_000),
            ("922337203685477.5807", i128::from(i64::MAX)),
            ("922337203685478", 9_223_372_036_854_780_000),
            ("1844674407370955.1615", i128::from(u64::MAX)),
            ("1844674407370955.1616", i128::from(u64::MAX) + 1),
            ("-999999999999999999.9999", -9_999_999_999_999_999_999_999),
        ] {
            assert_eq!(d(text).0, scaled, "{text}");
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
