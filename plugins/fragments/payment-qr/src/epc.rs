//! The EPC069-12 payload ("GiroCode", SEPA credit transfer QR), version 002.
//!
//! The payload is a fixed sequence of LF-separated fields; the standard caps
//! each field's length and the whole payload at 331 bytes, and requires QR
//! error correction level M. IBANs and RF creditor references are checked
//! with their ISO 7064 mod-97 check digits, so a typo in a label or a source
//! system never reaches a customer as a QR code that pays the wrong account.

/// What goes into the QR code.
pub struct Transfer<'a> {
    /// Creditor (beneficiary) name, at most 70 characters.
    pub name: &'a str,
    /// Creditor IBAN (spaces allowed).
    pub iban: &'a str,
    /// Creditor BIC, optional in version 002.
    pub bic: Option<&'a str>,
    /// Amount in euro, `123.45`.
    pub amount: &'a str,
    /// A creditor reference (`RF…`, structured) or free remittance text.
    pub reference: &'a str,
}

/// A field that cannot go into the payload.
pub struct Invalid {
    /// Which field.
    pub field: &'static str,
    /// Why.
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> Invalid {
    Invalid { field, message: message.into() }
}

/// The payload text, checked.
pub fn payload(t: &Transfer<'_>) -> Result<String, Invalid> {
    let iban = normalise_iban(t.iban).map_err(|m| invalid("iban", m))?;
    let name = t.name.trim();
    if name.is_empty() || name.chars().count() > 70 {
        return Err(invalid("name", "creditor name must have 1 to 70 characters"));
    }
    let bic = t.bic.map(str::trim).unwrap_or("");
    let bic_length_ok = bic.is_empty() || bic.len() == 8 || bic.len() == 11;
    if !bic_length_ok || !bic.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid("bic", "a BIC has 8 or 11 letters and digits"));
    }
    let amount = check_amount(t.amount).map_err(|m| invalid("amount", m))?;
    let reference = t.reference.trim();
    let (structured, unstructured) = if is_creditor_reference(reference) {
        (reference.replace(' ', ""), String::new())
    } else {
        if reference.chars().count() > 140 {
            return Err(invalid("reference", "remittance text is longer than 140 characters"));
        }
        (String::new(), reference.to_owned())
    };
    let fields = ["BCD", "002", "1", "SCT", bic, name, &iban, &format!("EUR{amount}"), "", &structured, &unstructured];
    let text = fields.join("\n").trim_end_matches('\n').to_owned();
    if text.len() > 331 {
        return Err(invalid("reference", "the payload is longer than the 331 bytes EPC069-12 allows"));
    }
    Ok(text)
}

/// Upper case, no spaces, valid country code, length and check digits.
pub fn normalise_iban(raw: &str) -> Result<String, String> {
    let iban: String = raw.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    if !(15..=34).contains(&iban.len()) || !iban.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("an IBAN has 15 to 34 letters and digits".into());
    }
    let b = iban.as_bytes();
    if !(b[0].is_ascii_alphabetic() && b[1].is_ascii_alphabetic() && b[2].is_ascii_digit() && b[3].is_ascii_digit()) {
        return Err("an IBAN starts with a country code and two check digits".into());
    }
    if mod97(&iban) != 1 {
        return Err("the IBAN's check digits are wrong (a typo?)".into());
    }
    Ok(iban)
}

/// ISO 11649: `RF`, two check digits, 1–21 letters or digits, mod 97 = 1.
fn is_creditor_reference(text: &str) -> bool {
    let r: String = text.chars().filter(|c| *c != ' ').collect::<String>().to_ascii_uppercase();
    r.len() >= 5
        && r.len() <= 25
        && r.starts_with("RF")
        && r.bytes().all(|b| b.is_ascii_alphanumeric())
        && mod97(&r) == 1
}

/// ISO 7064 MOD 97-10 over the text with its first four characters moved to the end.
fn mod97(code: &str) -> u32 {
    let rearranged = code[4..].bytes().chain(code[..4].bytes());
    let mut rest: u32 = 0;
    for b in rearranged {
        let value = if b.is_ascii_digit() { (b - b'0') as u32 } else { (b.to_ascii_uppercase() - b'A') as u32 + 10 };
        rest = if value >= 10 { (rest * 100 + value) % 97 } else { (rest * 10 + value) % 97 };
    }
    rest
}

/// `0.01` ..= `999999999.99`, at most two decimals, `.` separator.
fn check_amount(text: &str) -> Result<String, String> {
    let t = text.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let ok = !int.is_empty()
        && int.len() <= 9
        && frac.len() <= 2
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return Err(format!("`{t}` is not an amount between 0.01 and 999999999.99"));
    }
    let cents: u64 = format!("{int}{frac:0<2}").parse().map_err(|_| "not a number".to_owned())?;
    if cents == 0 {
        return Err("the amount must be at least 0.01".into());
    }
    Ok(format!("{}.{:02}", cents / 100, cents % 100))
}
