//! The order of letters in spools: by the channel's sort keys, then by
//! input order, so the same letters always make the same spools whatever
//! the thread count or shard size that rendered them.

use crate::spool::SpoolLetter;
use serde_json::Value;

/// The values of `keys` (CDM paths such as `address.postcode`) in `record`,
/// as text: a string as it is, a number or boolean as JSON writes it, and
/// an empty string for a missing value or null (missing values sort first).
pub fn sort_key(record: &Value, keys: &[String]) -> Vec<String> {
    keys.iter()
        .map(|key| {
            let value = key.split('.').try_fold(record, |node, step| node.get(step));
            match value {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            }
        })
        .collect()
}

/// Sorts letters by their keys, ties in input order.
pub fn order_letters(letters: &mut [SpoolLetter]) {
    letters.sort_by(|a, b| a.sort_key.cmp(&b.sort_key).then(a.seq.cmp(&b.seq)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_by_path_and_missing_ones_are_empty() {
        let record = serde_json::json!({"address": {"country": "NL", "postcode": "1000 AA"}, "n": 7, "z": null});
        let keys = ["address.country", "address.postcode", "n", "z", "address.city"].map(String::from);
        assert_eq!(sort_key(&record, &keys), ["NL", "1000 AA", "7", "", ""]);
    }
}
