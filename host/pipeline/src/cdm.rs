//! CDM records as the pipeline sees them: JSON, checked for the fields the
//! pipeline itself relies on. (The full CDM 1.0 JSON Schema validation
//! comes with the batch pipeline; this is the minimum any stage needs.)

use serde_json::Value;

/// A CDM record that passed the pipeline's checks.
#[derive(Debug, Clone)]
pub struct CdmRecord {
    /// The whole record.
    pub value: Value,
    /// The record's JSON text as the translator wrote it (what fragment
    /// plugins receive).
    pub json: std::sync::Arc<str>,
    /// `reference.customer_ref`: the only identifier logs and manifests carry.
    pub customer_ref: String,
    /// `reference.document_id`.
    pub document_id: String,
}

/// Why a record is not usable, with the JSON path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CdmError {
    /// JSON path of the field.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn err(path: &str, message: &str) -> CdmError {
    CdmError { path: path.into(), message: message.into() }
}

impl CdmRecord {
    /// Parses and checks a translator's JSON text.
    pub fn parse(json: &str) -> Result<CdmRecord, CdmError> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| err("$", &format!("not JSON (line {}, column {}): {e}", e.line(), e.column())))?;
        if !value.is_object() {
            return Err(err("$", "a CDM record is a JSON object"));
        }
        match value.get("cdm").and_then(Value::as_str) {
            Some("1.0") => {}
            Some(other) => {
                return Err(err("$.cdm", &format!("version `{other}` is not supported (expected 1.0)")));
            }
            None => {
                return Err(err("$.cdm", "missing: a CDM record states its version, \"1.0\""));
            }
        }
        for area in ["reference", "personal", "address", "production", "distribution", "content"] {
            if !value.get(area).is_some_and(Value::is_object) {
                return Err(err(&format!("$.{area}"), "missing or not an object"));
            }
        }
        let text = |field: &str| {
            value["reference"][field]
                .as_str()
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned)
                .ok_or_else(|| err(&format!("$.reference.{field}"), "missing or empty"))
        };
        let customer_ref = text("customer_ref")?;
        let document_id = text("document_id")?;
        if !document_id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            || document_id.starts_with('.')
        {
            return Err(err("$.reference.document_id", "may only contain letters, digits, `-`, `_` and `.`"));
        }
        Ok(CdmRecord { value, json: std::sync::Arc::from(json), customer_ref, document_id })
    }

    /// A string at `area.field`, if set.
    pub fn str_at(&self, area: &str, field: &str) -> Option<&str> {
        self.value.get(area)?.get(field)?.as_str().filter(|s| !s.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(reference: &str) -> String {
        format!(
            r#"{{"cdm":"1.0","reference":{reference},"personal":{{}},"address":{{}},"production":{{}},"distribution":{{}},"content":{{}}}}"#
        )
    }

    #[test]
    fn accepts_a_minimal_record() {
        let r = CdmRecord::parse(&record(r#"{"customer_ref":"C1","document_id":"INV-1"}"#)).unwrap();
        assert_eq!((r.customer_ref.as_str(), r.document_id.as_str()), ("C1", "INV-1"));
    }

    #[test]
    fn names_the_path_of_what_is_missing() {
        let e = CdmRecord::parse(&record(r#"{"customer_ref":"C1"}"#)).unwrap_err();
        assert_eq!(e.path, "$.reference.document_id");
        let e = CdmRecord::parse(r#"{"cdm":"2.0"}"#).unwrap_err();
        assert_eq!(e.path, "$.cdm");
    }

    #[test]
    fn document_ids_cannot_escape_the_output_folder() {
        let e = CdmRecord::parse(&record(r#"{"customer_ref":"C1","document_id":"../x"}"#)).unwrap_err();
        assert_eq!(e.path, "$.reference.document_id");
    }
}
