//! Bank accounts on letters: ISO 13616 IBANs (check digits, mod 97),
//! ISO 9362 BICs, and how an account is written when a rejection or a
//! warning must name it without printing it (`NO93…947`). Brand labels
//! carry one (checked when a label is parsed); the pipeline checks the
//! accounts records name with the same functions.

/// The IBAN in its electronic form (no spaces, upper case), when `raw`
/// is one: two letters, two check digits, 11–30 letters or digits, and
/// the ISO 7064 mod-97 check holds.
pub fn iban(raw: &str) -> Result<String, IbanProblem> {
    let compact = compact(raw);
    let b = compact.as_bytes();
    let shaped = (15..=34).contains(&b.len())
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b[4..].iter().all(u8::is_ascii_alphanumeric);
    if !shaped {
        return Err(IbanProblem::Shape);
    }
    // Move the country and check digits to the end, letters become 10..35,
    // and the remainder of the whole number by 97 must be 1.
    let mut remainder: u32 = 0;
    for &c in b[4..].iter().chain(&b[..4]) {
        let value = if c.is_ascii_digit() { u32::from(c - b'0') } else { u32::from(c - b'A') + 10 };
        remainder = if value >= 10 { (remainder * 100 + value) % 97 } else { (remainder * 10 + value) % 97 };
    }
    if remainder != 1 {
        return Err(IbanProblem::CheckDigits);
    }
    Ok(compact)
}

/// An account number in its electronic form: no white space, upper case.
pub fn compact(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase()
}

/// Why a text is not an IBAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IbanProblem {
    /// Not two letters, two digits and 11–30 letters or digits.
    Shape,
    /// The ISO 13616 check digits do not match (a typo, or an altered account).
    CheckDigits,
}

/// Whether `raw` looks like an IBAN at all (a country code and two check
/// digits): such a value must pass the check, anything else is a domestic
/// account number.
pub fn looks_like_iban(raw: &str) -> bool {
    let compact: Vec<u8> = raw.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    compact.len() >= 15
        && compact[..2].iter().all(u8::is_ascii_alphabetic)
        && compact[2..4].iter().all(u8::is_ascii_digit)
}

/// A well-formed ISO 9362 BIC: 4 letters (bank), 2 letters (country),
/// 2 letters or digits (location), optionally 3 more (branch).
pub fn is_bic(raw: &str) -> bool {
    let b = raw.as_bytes();
    (b.len() == 8 || b.len() == 11)
        && b[..6].iter().all(u8::is_ascii_uppercase)
        && b[6..].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// The IBAN in groups of four, as it is printed: `NL91 ABNA 0417 1643 00`.
pub fn grouped(compact: &str) -> String {
    let mut out = String::with_capacity(compact.len() + compact.len() / 4);
    for (i, c) in compact.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// An account named without printing it: the first four and the last
/// three characters, the rest hidden (`NO93 **** *** 947`-like).
pub fn masked(account: &str) -> String {
    let compact: Vec<char> = account.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() <= 7 {
        return "*".repeat(compact.len());
    }
    let head: String = compact[..4].iter().collect();
    let tail: String = compact[compact.len() - 3..].iter().collect();
    format!("{head}…{tail} ({} characters)", compact.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_pass_the_mod_97_check() {
        assert_eq!(iban("NL91 ABNA 0417 1643 00").as_deref(), Ok("NL91ABNA0417164300"));
        assert_eq!(iban("no9386011117947").as_deref(), Ok("NO9386011117947"));
        assert_eq!(iban("DK5000400440116243").as_deref(), Ok("DK5000400440116243"));
        assert_eq!(iban("GB33BUKB20201555555555").as_deref(), Ok("GB33BUKB20201555555555"));
        assert_eq!(iban("NL91ABNA0417164301"), Err(IbanProblem::CheckDigits), "one digit changed");
        assert_eq!(iban("NO9486011117947"), Err(IbanProblem::CheckDigits));
        assert_eq!(iban("1234567890"), Err(IbanProblem::Shape));
        assert!(looks_like_iban("DK12 1234 5678 9012 34") && !looks_like_iban("12345678"));
    }

    #[test]
    fn bics_are_eight_or_eleven_characters() {
        assert!(is_bic("ABNANL2A") && is_bic("DEUTDEFF500"));
        for placeholder in ["BIC", "9999", "DKDKABCD", "abnanl2a", "ABNANL2", "DKDKABCDE"] {
            assert!(!is_bic(placeholder) || placeholder == "DKDKABCD", "{placeholder}");
        }
    }

    #[test]
    fn accounts_are_grouped_for_print_and_masked_for_reasons() {
        assert_eq!(grouped("NL91ABNA0417164300"), "NL91 ABNA 0417 1643 00");
        let m = masked("NO9386011117947");
        assert!(m.starts_with("NO93") && m.contains("947") && !m.contains("8601"), "{m}");
    }
}
