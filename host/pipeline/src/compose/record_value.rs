//! The record as a template value: serialised into Tera's values with the
//! CDM schema's own property names as map keys.
//!
//! Tera keys a map it builds from a map by a fresh copy of each key, and a
//! record has some eighty of them: a copy, its allocation and its release
//! per key per document. A struct's field names are `'static` and shared,
//! so an object whose keys the schema all defines (nearly every object of
//! every record) is written as a struct; any other object (free-form
//! extensions) as the map it is. The value the templates see is the same.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, SerializeStruct, Serializer};
use serde_json::Value;

/// A record's value, serialised as described in the module documentation.
pub(crate) struct RecordValue<'a>(pub &'a Value);

/// Objects with more members than this are written as maps (no CDM object
/// comes near it).
const MOST_FIELDS: usize = 64;

impl Serialize for RecordValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(members) => {
                let mut names = [""; MOST_FIELDS];
                let known = members.len() <= MOST_FIELDS
                    && members
                        .keys()
                        .zip(names.iter_mut())
                        .all(|(key, name)| tessera_cdm::property_name(key).map(|known| *name = known).is_some());
                if known {
                    let mut fields = serializer.serialize_struct("record", members.len())?;
                    for (name, value) in names.iter().zip(members.values()) {
                        fields.serialize_field(name, &RecordValue(value))?;
                    }
                    fields.end()
                } else {
                    let mut map = serializer.serialize_map(Some(members.len()))?;
                    for (key, value) in members {
                        map.serialize_entry(key, &RecordValue(value))?;
                    }
                    map.end()
                }
            }
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&RecordValue(item))?;
                }
                seq.end()
            }
            other => other.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RecordValue;

    #[test]
    fn the_templates_see_the_same_value_whatever_the_keys() {
        let record: serde_json::Value = serde_json::from_str(
            r#"{"cdm": "1.0", "reference": {"customer_ref": "C-1", "document_id": "INV-1", "document_type": "invoice"},
                "content": {"lines": [{"description": "Gas", "net": "1.50", "quantity": "2"}],
                            "extensions": {"not-in-the-schema": {"nested": [1, 2.5, null, true]}}},
                "unknown_top_level": "kept as a map member"}"#,
        )
        .unwrap();
        let plain = tera::Value::from_serializable(&record);
        let keyed = tera::Value::from_serializable(&RecordValue(&record));
        assert_eq!(plain, keyed);
        assert!(tessera_cdm::property_name("document_id").is_some());
        assert!(tessera_cdm::property_name("not-in-the-schema").is_none());
        let mut tera = tera::Tera::new();
        tera.add_raw_template(
            "t",
            r#"{{ record.reference.document_id }} {{ record.content.lines[0].net }} {{ record.content.extensions["not-in-the-schema"].nested[1] }} {{ record.unknown_top_level }}"#,
        )
        .unwrap();
        let mut context = tera::Context::new();
        context.insert_value("record", keyed);
        assert_eq!(tera.render("t", &context).unwrap(), "INV-1 1.50 2.5 kept as a map member");
    }
}
