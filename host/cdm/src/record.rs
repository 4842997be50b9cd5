//! CDM records: JSON validated against the CDM 1.1 JSON Schema
//! (`host/cdm/schema/cdm-1.1.schema.json`, the single source of truth for
//! validation and documentation).
//!
//! A violation names the JSON path, the schema rule and what the rule
//! expects — never the offending value, which may be personal data.
//! After the schema, an invoice's amounts must add up ([`crate::rules`]):
//! a record that breaks an amount rule is refused here too, naming the rule
//! and the amounts (amounts are not personal data; without them nobody could
//! find the error in the source system).

use serde_json::Value;
use std::sync::LazyLock;

/// The CDM 1.1 JSON Schema.
pub const CDM_SCHEMA: &str = include_str!("../schema/cdm-1.1.schema.json");

/// The schema compiled into Rust at build time: the check every record
/// takes. Only a record it refuses goes through [`VALIDATOR`], the runtime
/// validator, for the violations' paths and messages (the same crate, the
/// same schema: `the_compiled_and_the_runtime_validator_agree` checks both
/// on every sample and bad-input record and on mutations of them).
#[jsonschema::validator(path = "schema/cdm-1.1.schema.json", methods = { is_valid = true, validate = false, iter_errors = false })]
struct CompiledSchema;

static VALIDATOR: LazyLock<jsonschema::Validator> =
    LazyLock::new(|| jsonschema::validator_for(&SCHEMA).expect("the CDM schema is a valid JSON Schema"));

/// The CDM schema as a value, parsed once for the process.
static SCHEMA: LazyLock<Value> = LazyLock::new(|| serde_json::from_str(CDM_SCHEMA).expect("the CDM schema is JSON"));

/// Every property name the CDM schema defines, borrowed from [`SCHEMA`].
static PROPERTY_NAMES: LazyLock<ahash::AHashSet<&'static str>> = LazyLock::new(|| {
    fn collect(node: &'static Value, names: &mut ahash::AHashSet<&'static str>) {
        match node {
            Value::Object(members) => {
                if let Some(Value::Object(properties)) = members.get("properties") {
                    names.extend(properties.keys().map(String::as_str));
                }
                members.values().for_each(|child| collect(child, names));
            }
            Value::Array(items) => items.iter().for_each(|item| collect(item, names)),
            _ => {}
        }
    }
    let mut names = ahash::AHashSet::new();
    collect(&SCHEMA, &mut names);
    names
});

/// `name` as a `'static` string when the CDM schema defines a property of
/// that name: template values can then use it as a key without a copy of
/// their own for every record.
pub fn property_name(name: &str) -> Option<&'static str> {
    PROPERTY_NAMES.get(name).copied()
}

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
    /// The checked chain of amounts, for records that carry totals.
    pub chain: Option<std::sync::Arc<crate::rules::Chain>>,
    /// Where the value of the `production` member is in `json`, when the
    /// text has exactly one: [`Self::set_variant`] writes it anew there
    /// without reading the text again.
    production: Option<std::ops::Range<usize>>,
}

/// Why a record is not usable, with the JSON path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CdmError {
    /// JSON path of the field (`$.content.lines[2].net`).
    pub path: String,
    /// The schema rule violated (`required`, `pattern`, `type`, ...).
    pub rule: String,
    /// What is wrong.
    pub message: String,
}

fn err(path: &str, message: &str) -> CdmError {
    CdmError { path: path.into(), rule: "json".into(), message: message.into() }
}

/// A JSON pointer (`/content/lines/2/net`) as a JSON path (`$.content.lines[2].net`).
fn json_path(pointer: &str) -> String {
    let mut out = String::from("$");
    for part in pointer.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if part.bytes().all(|b| b.is_ascii_digit()) && !part.is_empty() {
            out.push_str(&format!("[{part}]"));
        } else {
            out.push('.');
            out.push_str(&part);
        }
    }
    out
}

/// What a schema rule expects, in words, without the value that broke it.
fn expectation(error: &jsonschema::ValidationError<'_>) -> (String, String) {
    use jsonschema::error::ValidationErrorKind as K;
    let rule = error.kind().keyword().to_owned();
    let text = match error.kind() {
        K::Required { property } => format!("missing required field {property}"),
        K::AdditionalProperties { unexpected } => format!("unknown field(s) {}", unexpected.join(", ")),
        K::Type { kind } => {
            format!("must be of type {kind:?}").replace("Single(", "").replace("Multiple(", "").replace(')', "")
        }
        K::Pattern { pattern } => format!("does not match the pattern {pattern}"),
        K::Enum { options } => format!("must be one of {options}"),
        K::Constant { expected_value } => format!("must be {expected_value}"),
        K::MinLength { limit } => format!("must be at least {limit} character(s) long"),
        K::MaxLength { limit } => format!("must be at most {limit} characters long"),
        K::MinItems { limit } => format!("must have at least {limit} item(s)"),
        K::MaxItems { limit } => format!("must have at most {limit} items"),
        K::Minimum { limit } => format!("must be at least {limit}"),
        K::UniqueItems => "items must be unique".to_owned(),
        K::AnyOf { .. } => {
            "matches none of the allowed shapes (a person needs last_name, a company needs company)".to_owned()
        }
        K::Format { format } => format!("is not a valid {format}"),
        _ => format!("violates the `{rule}` rule"),
    };
    (rule, text)
}

impl CdmRecord {
    /// Parses and checks a translator's JSON text.
    pub fn parse(json: &str) -> Result<CdmRecord, CdmError> {
        let (value, production) = parse_text(json)
            .map_err(|e| err("$", &format!("not JSON (line {}, column {}): {e}", e.line(), e.column())))?;
        if !value.is_object() {
            return Err(err("$", "a CDM record is a JSON object"));
        }
        match value.get("cdm").and_then(Value::as_str) {
            // 1.1 only adds optional fields: a 1.0 record is a valid 1.1 one.
            Some("1.0" | "1.1") => {}
            Some(other) => {
                return Err(CdmError {
                    rule: "const".into(),
                    ..err("$.cdm", &format!("version `{other}` is not supported (expected 1.1 or 1.0)"))
                });
            }
            None => {
                return Err(CdmError {
                    rule: "required".into(),
                    ..err("$.cdm", "missing: a CDM record states its version, \"1.1\"")
                });
            }
        }
        if let Some(violation) = Self::violation(&value) {
            return Err(violation);
        }
        let chain = crate::rules::check(&value["content"])
            .map_err(|b| CdmError { path: b.path, rule: b.rule.to_owned(), message: b.message })?
            .map(std::sync::Arc::new);
        // The schema guarantees both are non-blank strings, and the
        // document id a safe file name.
        let reference = |field: &str| value["reference"][field].as_str().unwrap_or_default().to_owned();
        let (customer_ref, document_id) = (reference("customer_ref"), reference("document_id"));
        Ok(CdmRecord { value, json: std::sync::Arc::from(json), customer_ref, document_id, chain, production })
    }

    /// The record with `production.variant` set (a scenario assigned it),
    /// in its value and in its JSON text, so that fragment plugins see it
    /// too (see [`Self::set_variant`]).
    pub fn with_variant(&self, variant: &str) -> CdmRecord {
        let mut record = self.clone();
        record.set_variant(variant);
        record
    }

    /// Sets `production.variant`, in the value and in the JSON text. Only
    /// the `production` member of the text is written anew, and the value
    /// is changed in place: a scenario with variants does this for every
    /// record, and writing the whole record again cost as much as parsing
    /// it (copying its value, a third of that).
    pub fn set_variant(&mut self, variant: &str) {
        if let Some(production) = self.value.get_mut("production").and_then(Value::as_object_mut) {
            production.insert("variant".into(), Value::String(variant.to_owned()));
        }
        let replacement = self.value["production"].to_string();
        // The place noted while parsing (kept up to date here); a record
        // without one (no `production`, or two) is written anew.
        self.json = match self.production.take().filter(|span| self.json.get(span.clone()).is_some()) {
            Some(span) => {
                let (text, span) = splice(&self.json, span, &replacement);
                self.production = Some(span);
                std::sync::Arc::from(text)
            }
            None => std::sync::Arc::from(self.value.to_string()),
        };
    }

    /// `reference.document_id` of a record's JSON text, read without building
    /// the record (the rest of the text is skipped, not kept): what the
    /// source stage needs, in input order, to refuse a second record with
    /// the same id before the workers validate anything.
    ///
    /// It is the id [`CdmRecord::parse`] will find: a repeated member keeps
    /// its last value, as in `serde_json::Value`. (Reading the text into
    /// structs refused repeated members, so a record that named two
    /// `reference`s escaped the check and was rendered under the second's
    /// id, over another record's output.)
    pub fn document_id_of(json: &str) -> Option<String> {
        // An array, a scalar or invalid text fails to read as a map: no id.
        let mut reader = serde_json::Deserializer::from_str(json);
        let id = serde::Deserializer::deserialize_map(&mut reader, head::Head).ok()?;
        reader.end().ok()?;
        id
    }

    /// `reference.customer_ref` and `reference.document_id` of a record that
    /// failed validation, when they are usable identifiers — so that its
    /// rejection names it. Nothing else of the record is read.
    pub fn identifiers(json: &str) -> (Option<String>, Option<String>) {
        let Ok(value) = serde_json::from_str::<Value>(json) else {
            return (None, None);
        };
        let id = |field: &str| {
            value.get("reference")?.get(field)?.as_str().filter(|s| !s.is_empty() && s.len() <= 128).map(str::to_owned)
        };
        (id("customer_ref"), id("document_id"))
    }

    /// The first schema violation (and how many more there are).
    fn violation(value: &Value) -> Option<CdmError> {
        // The common case first: a valid record costs one pass of the
        // compiled schema, without collecting error locations.
        if CompiledSchema::is_valid(value) {
            return None;
        }
        let mut errors = VALIDATOR.iter_errors(value);
        let first = errors.next()?;
        let (rule, mut message) = expectation(&first);
        let mut path = json_path(first.instance_path().as_str());
        if let jsonschema::error::ValidationErrorKind::Required { property } = first.kind() {
            path = format!("{path}.{}", property.as_str().unwrap_or_default());
        }
        let more = errors.count();
        if more > 0 {
            message.push_str(&format!(" (and {more} more violation{})", if more == 1 { "" } else { "s" }));
        }
        Some(CdmError { path, rule, message })
    }

    /// A string at `area.field`, if set.
    pub fn str_at(&self, area: &str, field: &str) -> Option<&str> {
        self.value.get(area)?.get(field)?.as_str().filter(|s| !s.is_empty())
    }
}

/// The top level of a record's text, for [`CdmRecord::document_id_of`]:
/// only the `reference` members are read (each small), the others skipped.
mod head {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
    use serde_json::Value;
    use std::fmt;

    /// Visits the top-level object; its value is the last `reference`'s
    /// `document_id`, when that is a string.
    pub(super) struct Head;

    impl<'de> Visitor<'de> for Head {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut id = None;
            while let Some(is_reference) = map.next_key_seed(KeyIs("reference"))? {
                if is_reference {
                    let reference: Value = map.next_value()?;
                    id = reference.get("document_id").and_then(Value::as_str).map(str::to_owned);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(id)
        }
    }

    /// A member's key, compared with one name without keeping it.
    struct KeyIs(&'static str);

    impl<'de> DeserializeSeed<'de> for KeyIs {
        type Value = bool;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for KeyIs {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a member name")
        }
        fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<bool, E> {
            Ok(key == self.0)
        }
    }
}

/// Where `part`, a slice of `json`, is in it.
fn span_in(json: &str, part: &str) -> Option<std::ops::Range<usize>> {
    // A raw value borrows from `json`: its place is its address's distance.
    let start = (part.as_ptr() as usize).checked_sub(json.as_ptr() as usize)?;
    let span = start..start + part.len();
    (json.get(span.clone()) == Some(part)).then_some(span)
}

/// `json` with `span` replaced by `replacement`, and where the replacement is.
fn splice(json: &str, span: std::ops::Range<usize>, replacement: &str) -> (String, std::ops::Range<usize>) {
    let mut out = String::with_capacity(json.len() + 32);
    out.push_str(&json[..span.start]);
    out.push_str(replacement);
    out.push_str(&json[span.end..]);
    (out, span.start..span.start + replacement.len())
}

/// A record's text as a value, and where its one `production` member's
/// value is (`None` when there is none or more than one). An object is read
/// member by member, `production` first as raw text (then parsed, a few
/// dozen bytes): one pass gives both. Anything else is parsed as is, for
/// the caller to refuse.
fn parse_text(json: &str) -> Result<(Value, Option<std::ops::Range<usize>>), serde_json::Error> {
    if !json.trim_start().starts_with('{') {
        return serde_json::from_str(json).map(|value| (value, None));
    }
    let mut reader = serde_json::Deserializer::from_str(json);
    let (members, production) = serde::de::DeserializeSeed::deserialize(Members { json }, &mut reader)?;
    reader.end()?;
    Ok((Value::Object(members), production))
}

/// The members of a record's top-level object ([`parse_text`]).
struct Members<'j> {
    json: &'j str,
}

impl<'de> serde::de::DeserializeSeed<'de> for Members<'de> {
    type Value = (serde_json::Map<String, Value>, Option<std::ops::Range<usize>>);
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Members<'de> {
    type Value = (serde_json::Map<String, Value>, Option<std::ops::Range<usize>>);
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        let mut members = serde_json::Map::new();
        let (mut production, mut seen) = (None, false);
        while let Some(key) = map.next_key::<String>()? {
            // A repeated member keeps the last value, as `serde_json::Value` does.
            if key == "production" {
                let raw: &'de serde_json::value::RawValue = map.next_value()?;
                production = if seen { None } else { span_in(self.json, raw.get()) };
                seen = true;
                members.insert(key, serde_json::from_str(raw.get()).map_err(A::Error::custom)?);
            } else {
                members.insert(key, map.next_value()?);
            }
        }
        Ok((members, production))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(reference: &str, content: &str) -> String {
        format!(
            r#"{{"cdm":"1.0","reference":{reference},"personal":{{"last_name":"Jansen","email":null}},"address":{{}},"production":{{}},"distribution":{{}},"content":{content}}}"#
        )
        .replace(r#","email":null"#, "")
    }

    const LETTER: &str = r#"{"customer_ref":"C1","document_id":"L-1","document_type":"letter"}"#;
    const INVOICE_REF: &str = r#"{"customer_ref":"C1","document_id":"INV-1","document_type":"invoice"}"#;
    const INVOICE: &str = r#"{"invoice":{"date":"2026-11-01","currency":"EUR"},"lines":[{"description":"Power","quantity":"1","net":"10.00"}],"totals":{"net":"10.00","vat":"2.10","gross":"12.10"}}"#;

    #[test]
    fn the_id_read_ahead_is_the_id_the_record_is_rendered_under() {
        // Regression: a record naming `reference` twice escaped the source
        // stage's duplicate check and was rendered under the second id.
        let twice = record(LETTER, "{}").replacen(
            r#""content":"#,
            r#""reference":{"customer_ref":"C1","document_id":"L-2","document_type":"letter"},"content":"#,
            1,
        );
        let inner_twice =
            record(LETTER, "{}").replace(r#""document_id":"L-1""#, r#""document_id":"L-1","document_id":"L-3""#);
        for (json, id) in [(record(LETTER, "{}"), "L-1"), (twice, "L-2"), (inner_twice, "L-3")] {
            assert_eq!(CdmRecord::document_id_of(&json).as_deref(), Some(id), "{json}");
            assert_eq!(CdmRecord::parse(&json).unwrap().document_id, id, "{json}");
        }
        for no_id in [
            r#"{"reference":{"document_id":7}}"#,
            r#"{"reference":null}"#,
            r#"{"reference":{"document_id":"A"},"reference":[]}"#,
            r#"{"cdm":"1.0"}"#,
            r#"[{"reference":{"document_id":"A"}}]"#,
            r#"{"reference":{"document_id":"A"}"#,
            r#"{"reference":{"document_id":"A"}} {}"#,
            "",
        ] {
            assert_eq!(CdmRecord::document_id_of(no_id), None, "{no_id}");
        }
        let escaped = r#"{"refer\u0065nce":{"document_id":"E-1"}}"#;
        assert_eq!(CdmRecord::document_id_of(escaped).as_deref(), Some("E-1"));
    }

    #[test]
    fn accepts_a_minimal_letter_and_an_invoice() {
        let r = CdmRecord::parse(&record(LETTER, "{}")).unwrap();
        assert_eq!((r.customer_ref.as_str(), r.document_id.as_str()), ("C1", "L-1"));
        CdmRecord::parse(&record(INVOICE_REF, INVOICE)).unwrap();
    }

    #[test]
    fn reads_cdm_1_1_e_invoice_fields_and_still_1_0_records() {
        let content = r#"{"invoice":{"date":"2026-11-01","currency":"EUR","type_code":"380"},
            "supplier":{"name":"ACME Energy B.V.","vat_id":"NL123456789B01","legal_id":"12345678","legal_id_scheme":"0106",
                "address":{"street":"Stationsplein 1","postcode":"1012 AB","city":"Amsterdam","country":"NL"}},
            "buyer":{"vat_id":"NL987654321B01"},
            "lines":[{"description":"Power","quantity":"1","unit_code":"KWH","vat_category":"S","vat_rate":"21","net":"10.00"}],
            "vat":[{"category":"S","rate":"21","base":"10.00","amount":"2.10"}],
            "totals":{"net":"10.00","vat":"2.10","gross":"12.10"},
            "payment":{"amount":"12.10","currency":"EUR","means_code":"58","iban":"NL91ABNA0417164300"}}"#;
        let v11 = record(INVOICE_REF, content).replace(r#""cdm":"1.0""#, r#""cdm":"1.1""#);
        CdmRecord::parse(&v11).unwrap();
        CdmRecord::parse(&record(INVOICE_REF, content)).unwrap();
        let bad_category = v11.replace(r#""vat_category":"S""#, r#""vat_category":"X""#);
        let e = CdmRecord::parse(&bad_category).unwrap_err();
        assert_eq!((e.path.as_str(), e.rule.as_str()), ("$.content.lines[0].vat_category", "enum"), "{e}");
        let bad_country = v11.replace(r#""country":"NL"}}"#, r#""country":"Netherlands"}}"#);
        let e = CdmRecord::parse(&bad_country).unwrap_err();
        assert_eq!(e.path, "$.content.supplier.address.country", "{e}");
    }

    #[test]
    fn the_1_0_schema_stays_frozen_and_1_1_only_adds() {
        // 1.0 is a published contract: it is never edited, and every
        // property it defines keeps its place in 1.1.
        let v10: Value = serde_json::from_str(include_str!("../schema/cdm-1.0.schema.json")).unwrap();
        assert_eq!(v10["properties"]["cdm"]["const"], "1.0");
        fn properties(node: &Value, at: String, out: &mut Vec<String>) {
            if let Some(map) = node.get("properties").and_then(Value::as_object) {
                for (name, child) in map {
                    out.push(format!("{at}/{name}"));
                    properties(child, format!("{at}/{name}"), out);
                }
            }
            if let Some(defs) = node.get("$defs").and_then(Value::as_object) {
                for (name, child) in defs {
                    properties(child, format!("{at}#{name}"), out);
                }
            }
        }
        let (mut old, mut new) = (Vec::new(), Vec::new());
        properties(&v10, String::new(), &mut old);
        properties(&SCHEMA, String::new(), &mut new);
        let missing: Vec<_> = old.iter().filter(|p| !new.contains(p)).collect();
        assert!(missing.is_empty(), "1.1 dropped {missing:?}");
        assert!(new.len() > old.len());
        // And constrains none of them more: each 1.0 property's rule is the
        // same in 1.1 but for its description (the version itself aside).
        fn without_descriptions(v: &Value) -> Value {
            match v {
                Value::Object(m) => Value::Object(
                    m.iter()
                        .filter(|(k, _)| *k != "description")
                        .map(|(k, v)| (k.clone(), without_descriptions(v)))
                        .collect(),
                ),
                Value::Array(a) => Value::Array(a.iter().map(without_descriptions).collect()),
                other => other.clone(),
            }
        }
        fn rules_of<'v>(schema: &'v Value, path: &str) -> Option<&'v Value> {
            let (def, props) = match path.split_once('#') {
                Some((_, rest)) => {
                    let (def, props) = rest.split_once('/').unwrap_or((rest, ""));
                    (Some(def), props)
                }
                None => (None, path.trim_start_matches('/')),
            };
            let mut node = match def {
                Some(def) => &schema["$defs"][def],
                None => schema,
            };
            for name in props.split('/').filter(|n| !n.is_empty()) {
                node = node.get("properties")?.get(name)?;
            }
            Some(node)
        }
        for path in old.iter().filter(|p| p.as_str() != "/cdm") {
            let (was, is) = (rules_of(&v10, path).unwrap(), rules_of(&SCHEMA, path).unwrap());
            let (was, is) = (without_descriptions(was), without_descriptions(is));
            // A property may gain sub-properties (typed optional fields), never lose or tighten a rule.
            if let (Value::Object(was), Value::Object(is)) = (&was, &is) {
                for (key, rule) in was.iter().filter(|(k, _)| k.as_str() != "properties") {
                    assert_eq!(Some(rule), is.get(key), "{path}: `{key}` differs in 1.1");
                }
                for key in is.keys().filter(|k| !was.contains_key(*k)) {
                    assert_eq!(key, "properties", "{path}: 1.1 adds the rule `{key}`");
                }
            }
        }
    }

    #[test]
    fn names_the_path_and_the_rule() {
        let e = CdmRecord::parse(&record(r#"{"customer_ref":"C1","document_type":"letter"}"#, "{}")).unwrap_err();
        assert_eq!((e.path.as_str(), e.rule.as_str()), ("$.reference.document_id", "required"), "{e}");
        let e = CdmRecord::parse(r#"{"cdm":"2.0"}"#).unwrap_err();
        assert_eq!(e.path, "$.cdm");
        let e = CdmRecord::parse(&record(INVOICE_REF, "{}")).unwrap_err();
        assert_eq!((e.path.as_str(), e.rule.as_str()), ("$.content.invoice", "required"), "{e}");
        assert!(e.message.contains("more violation"), "the others are counted: {e}");
    }

    #[test]
    fn amounts_are_decimal_strings_and_the_value_is_not_repeated() {
        let bad = INVOICE.replace(r#""net":"10.00"}]"#, r#""net":"10,00"}]"#);
        let e = CdmRecord::parse(&record(INVOICE_REF, &bad)).unwrap_err();
        assert_eq!((e.path.as_str(), e.rule.as_str()), ("$.content.lines[0].net", "pattern"), "{e}");
        assert!(!e.message.contains("10,00"), "{e}");
    }

    #[test]
    fn personal_data_never_appears_in_the_reason() {
        let json = record(LETTER, "{}").replace(r#""last_name":"Jansen""#, r#""last_name":"Jansen","email":"jansen@""#);
        let e = CdmRecord::parse(&json).unwrap_err();
        assert_eq!((e.path.as_str(), e.rule.as_str()), ("$.personal", "additionalProperties"), "{e}");
        assert!(e.message.contains("email") && !e.message.contains("jansen@"), "{e}");
        let json = record(LETTER, "{}").replace(r#""last_name":"Jansen""#, r#""first_name":"Anna""#);
        let e = CdmRecord::parse(&json).unwrap_err();
        assert_eq!((e.path.as_str(), e.rule.as_str()), ("$.personal", "anyOf"), "{e}");
        assert!(!e.message.contains("Anna"), "{e}");
    }

    #[test]
    fn document_ids_cannot_escape_the_output_folder() {
        let e =
            CdmRecord::parse(&record(r#"{"customer_ref":"C1","document_id":"../x","document_type":"letter"}"#, "{}"))
                .unwrap_err();
        assert_eq!((e.path.as_str(), e.rule.as_str()), ("$.reference.document_id", "pattern"));
    }

    #[test]
    fn a_blank_customer_reference_is_refused() {
        let e =
            CdmRecord::parse(&record(r#"{"customer_ref":"  ","document_id":"L-1","document_type":"letter"}"#, "{}"))
                .unwrap_err();
        assert_eq!((e.path.as_str(), e.rule.as_str()), ("$.reference.customer_ref", "pattern"), "{e}");
    }

    #[test]
    fn a_rejected_record_is_still_named_by_its_identifiers_only() {
        let json = record(INVOICE_REF, "{}");
        assert!(CdmRecord::parse(&json).is_err());
        assert_eq!(CdmRecord::identifiers(&json), (Some("C1".into()), Some("INV-1".into())));
        assert_eq!(CdmRecord::identifiers("{not json"), (None, None));
        assert_eq!(CdmRecord::identifiers(r#"{"reference":{"customer_ref":7}}"#), (None, None));
    }

    /// Every node of `value`, by its path of keys and indices.
    fn paths(value: &Value, at: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
        out.push(at.clone());
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    at.push(PathStep::Key(k.clone()));
                    paths(v, at, out);
                    at.pop();
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    at.push(PathStep::Index(i));
                    paths(v, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }

    #[derive(Clone)]
    enum PathStep {
        Key(String),
        Index(usize),
    }

    fn node_mut<'v>(value: &'v mut Value, path: &[PathStep]) -> &'v mut Value {
        path.iter().fold(value, |v, step| match step {
            PathStep::Key(k) => &mut v[k.as_str()],
            PathStep::Index(i) => &mut v[*i],
        })
    }

    /// The compiled schema is the check every record takes; the runtime one
    /// words the violations. They must agree on which records pass: on
    /// every record this repository has (the documented example, the tests'
    /// records, the plugin kit's and sample plugins' fixtures, the sample
    /// request) and on each of them with any one node replaced, emptied,
    /// removed or given a stranger beside it.
    #[test]
    fn the_compiled_and_the_runtime_validator_agree() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let doc = include_str!("../../../docs/cdm.md");
        let mut seeds: Vec<Value> = vec![
            serde_json::from_str(doc.split("```json\n").nth(1).and_then(|r| r.split("```").next()).unwrap()).unwrap(),
            serde_json::from_str(&record(LETTER, "{}")).unwrap(),
            serde_json::from_str(&record(INVOICE_REF, INVOICE)).unwrap(),
        ];
        for file in [
            "host/plugin-kit/templates/fixtures/fragment/greets-a-company/input.json",
            "plugins/fragments/amount-in-words/fixtures/english-invoice/input.json",
            "plugins/fragments/amount-in-words/fixtures/credit-note/input.json",
            "plugins/fragments/usage-chart/fixtures/energy-invoice/input.json",
            "samples/acme-energy/requests/render-invoice.json",
        ] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            let mut found = Vec::new();
            collect_records(&serde_json::from_str(&text).unwrap(), &mut found);
            assert!(!found.is_empty(), "{file} holds a CDM record");
            seeds.extend(found);
        }
        let replacements = [
            Value::Null,
            Value::from(""),
            Value::from(" "),
            Value::from("x"),
            Value::from("10,00"),
            Value::from("-1.5"),
            Value::from("2026-02-30"),
            Value::from("EUR"),
            Value::from("nl-BE"),
            Value::from("a@b.c"),
            Value::from(12),
            Value::from(-3.5),
            Value::from(true),
            serde_json::json!([]),
            serde_json::json!({}),
        ];
        let (mut checked, mut refused) = (0, 0);
        let mut agree = |value: &Value| {
            let compiled = CompiledSchema::is_valid(value);
            assert_eq!(compiled, VALIDATOR.is_valid(value), "the validators disagree on {value}");
            checked += 1;
            refused += usize::from(!compiled);
        };
        for seed in &seeds {
            agree(seed);
            let mut all = Vec::new();
            paths(seed, &mut Vec::new(), &mut all);
            for path in &all {
                for replacement in &replacements {
                    let mut changed = seed.clone();
                    *node_mut(&mut changed, path) = replacement.clone();
                    agree(&changed);
                }
                let mut stranger = seed.clone();
                if let Value::Object(map) = node_mut(&mut stranger, path) {
                    map.insert("zz_unknown".into(), Value::from(1));
                    agree(&stranger);
                }
                if let Some((PathStep::Key(key), parent)) = path.split_last() {
                    let mut removed = seed.clone();
                    if let Value::Object(map) = node_mut(&mut removed, parent) {
                        map.remove(key);
                    }
                    agree(&removed);
                }
            }
        }
        assert!(checked > 2_000 && refused > 500, "{checked} records checked, {refused} refused");
    }

    /// The CDM records in a fixture (the record itself, or a member of it).
    fn collect_records(value: &Value, out: &mut Vec<Value>) {
        if value.get("cdm").is_some() {
            out.push(value.clone());
            return;
        }
        match value {
            Value::Object(map) => map.values().for_each(|v| collect_records(v, out)),
            Value::Array(items) => items.iter().for_each(|v| collect_records(v, out)),
            _ => {}
        }
    }

    /// `json` with its `production` member's value replaced by `by`, at the
    /// place parsing noted, and where the replacement is.
    fn replace_production(json: &str, by: &str) -> Option<(String, std::ops::Range<usize>)> {
        parse_text(json).ok()?.1.map(|span| splice(json, span, by))
    }

    #[test]
    fn a_member_is_replaced_in_place_unless_it_is_repeated_or_missing() {
        let by = serde_json::json!({"variant": "b"}).to_string();
        let (text, span) =
            replace_production(r#"{"a": [1, {"production": 2}], "production" : {"x":"}"}, "z": null}"#, &by).unwrap();
        assert_eq!(text, r#"{"a": [1, {"production": 2}], "production" : {"variant":"b"}, "z": null}"#);
        assert_eq!(&text[span], by);
        assert_eq!(replace_production(r#"{"production":{},"production":{"x":1}}"#, &by), None);
        assert_eq!(replace_production(r#"{"a":1}"#, &by), None);
        assert_eq!(replace_production(r#"{"production":{}} x"#, &by), None, "not JSON");
    }

    #[test]
    fn the_documented_example_is_a_valid_record() {
        let doc = include_str!("../../../docs/cdm.md");
        let example = doc.split("```json\n").nth(1).and_then(|rest| rest.split("```").next()).unwrap();
        CdmRecord::parse(example).unwrap();
    }

    #[test]
    fn amounts_that_do_not_add_up_are_refused_naming_the_rule_and_the_amounts() {
        let bad = INVOICE.replace(r#""gross":"12.10""#, r#""gross":"12.20""#);
        let e = CdmRecord::parse(&record(INVOICE_REF, &bad)).unwrap_err();
        assert_eq!((e.path.as_str(), e.rule.as_str()), ("$.content.totals.gross", "BR-CO-15"), "{e}");
        assert!(e.message.contains("12.20") && e.message.contains("10.00"), "{e}");
        let good = CdmRecord::parse(&record(INVOICE_REF, INVOICE)).unwrap();
        assert_eq!(good.chain.unwrap().gross, crate::decimal::Dec::parse("12.10").unwrap());
    }

    #[test]
    fn a_variant_reaches_the_value_and_the_text_and_the_rest_of_the_text_is_kept() {
        let json = record(LETTER, "{}").replace(r#""production":{}"#, r#""production": {"label" : "acme"}"#);
        let json = json.replace(r#""address":{}"#, r#""address":  {"city":"Zoë"}"#);
        let r = CdmRecord::parse(&json).unwrap().with_variant("nudge");
        assert_eq!(r.str_at("production", "variant"), Some("nudge"));
        let text: Value = serde_json::from_str(&r.json).unwrap();
        assert_eq!(text, r.value, "the text says what the value says");
        assert!(r.json.contains(r#""address":  {"city":"Zoë"}"#), "untouched members keep their bytes: {}", r.json);
        // A key written with an escape is still the member: its value is replaced in place.
        let escaped = json.replace(r#""production""#, r#""produ\u0063tion""#);
        let r = CdmRecord::parse(&escaped).unwrap().with_variant("nudge");
        let text: Value = serde_json::from_str(&r.json).unwrap();
        assert_eq!(text["production"]["variant"], "nudge");
        // A repeated member: the last counts, and the text is written anew.
        let twice =
            json.replace(r#""production": {"label" : "acme"}"#, r#""production":{},"production": {"label" : "acme"}"#);
        let r = CdmRecord::parse(&twice).unwrap().with_variant("nudge");
        assert_eq!(r.str_at("production", "label"), Some("acme"));
        assert_eq!(serde_json::from_str::<Value>(&r.json).unwrap(), r.value);
    }

    #[test]
    fn the_member_found_while_parsing_is_where_the_text_has_it() {
        let json = record(LETTER, "{}").replace(r#""production":{}"#, r#""production": {"label" : "acme"}"#);
        let parsed = CdmRecord::parse(&json).unwrap();
        let replacement = r#"{"label":"acme","variant":"b"}"#;
        let written = r#"{"label" : "acme"}"#;
        let start = json.find(written).unwrap();
        let found = splice(&json, start..start + written.len(), replacement);
        assert_eq!(splice(&json, parsed.production.clone().unwrap(), replacement), found);
        // A second variant is written where the first went.
        let twice = parsed.with_variant("a").with_variant("b");
        assert_eq!(twice.json, parsed.with_variant("b").json);
        assert_eq!(twice.json.as_ref(), found.0);
        // Not an object: no member, and the refusal reads as before.
        assert_eq!(CdmRecord::parse("[1]").unwrap_err().message, "a CDM record is a JSON object");
    }

    #[test]
    fn json_paths_read_like_json_paths() {
        assert_eq!(json_path(""), "$");
        assert_eq!(json_path("/content/lines/12/net"), "$.content.lines[12].net");
        assert_eq!(json_path("/a~1b/c~0d"), "$.a/b.c~d");
    }
}

#[cfg(test)]
mod timing {
    use super::*;

    /// Native timing of a record's checks (run with `--ignored --nocapture`):
    /// the JSON parse, the schema walk and the amount rules, per record.
    #[test]
    #[ignore]
    fn parse_twenty_thousand_records() {
        // A record of one's own (`CDM_RECORD=file`), or the documented example.
        let doc = include_str!("../../../docs/cdm.md");
        let documented = doc.split("```json\n").nth(1).and_then(|rest| rest.split("```").next()).unwrap();
        let own = std::env::var("CDM_RECORD").ok().map(|path| std::fs::read_to_string(path).unwrap());
        let example = own.as_deref().unwrap_or(documented);
        let n = 20_000;
        let time = |what: &str, f: &dyn Fn()| {
            let started = std::time::Instant::now();
            for _ in 0..n {
                f();
            }
            eprintln!("{what}: {:.2} µs", started.elapsed().as_secs_f64() * 1e6 / n as f64);
        };
        let value: Value = serde_json::from_str(example).unwrap();
        time("serde_json parse", &|| drop(serde_json::from_str::<Value>(example).unwrap()));
        time("schema walk (runtime)", &|| assert!(VALIDATOR.is_valid(&value)));
        time("schema walk (compiled)", &|| assert!(CompiledSchema::is_valid(&value)));
        time("amount rules", &|| drop(crate::rules::check(&value["content"]).unwrap()));
        time("whole parse", &|| drop(CdmRecord::parse(example).unwrap()));
    }
}
