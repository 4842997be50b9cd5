//! The as-of date of a run: the day letters are dated and plugins' clocks
//! are frozen at, written `YYYY-MM-DD`.

/// A date that is not `YYYY-MM-DD`, or before 1970.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("as-of date `{0}` is not YYYY-MM-DD")]
pub struct AsOfError(pub String);

/// A `YYYY-MM-DD` date as seconds since the Unix epoch at 00:00 UTC.
pub fn parse_as_of(text: &str) -> Result<u64, AsOfError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format).map_err(|_| AsOfError(text.to_owned()))?;
    u64::try_from(date.midnight().assume_utc().unix_timestamp()).map_err(|_| AsOfError(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_days_and_refuses_the_rest() {
        assert_eq!(parse_as_of("2026-11-01"), Ok(1_793_491_200));
        assert_eq!(parse_as_of("1970-01-01"), Ok(0));
        assert!(parse_as_of("1969-12-31").is_err());
        assert!(parse_as_of("2026-13-01").is_err());
        assert!(parse_as_of("01.11.2026").is_err());
    }
}
