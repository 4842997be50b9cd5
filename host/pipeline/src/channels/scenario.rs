//! Scenarios (`scenario.toml` beside `tenant.toml`): which channels each
//! document goes to, and which A/B variant it gets.
//!
//! Channels: the record's `distribution.channels` (most preferred first),
//! or the scenario's `default` when the record names none. A channel that
//! cannot be used for this record (e-mail without an address, SMS without a
//! phone or after an opt-out, print without a postal address, a channel the
//! tenant does not define) is replaced by its `fallback`, and so on. With
//! `deliver = "first"` the first usable channel is sent, with `"all"` every
//! usable one; `always` channels (an archive copy, say) are added to every
//! document. A record with no usable channel is rejected, naming each
//! channel tried and why it could not be used.
//!
//! Variants: when the record has no `production.variant` of its own, the
//! variant is chosen from a hash of (customer reference, scenario id) by the
//! configured weights, so a customer stays in the same variant across runs
//! and channels, and changing one scenario's split does not move customers
//! of another. A variant may replace the template; every template sees the
//! variant as `variant`, so a template can also switch a fragment by it.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use tessera_cdm::CdmRecord;

/// `scenario.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Scenario id: part of the variant hash and of the report.
    pub id: String,
    /// Channel selection.
    pub channels: ChannelRules,
    /// Channel → the channel to try when it cannot be used.
    #[serde(default)]
    pub fallback: BTreeMap<String, String>,
    /// A/B variants (none: no variant).
    #[serde(default)]
    pub variants: Vec<Variant>,
}

/// How channels are chosen.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelRules {
    /// Preferences for records that state none, most preferred first.
    pub default: Vec<String>,
    /// Send the first usable channel, or every usable one.
    #[serde(default)]
    pub deliver: Deliver,
    /// Channels every document also gets.
    #[serde(default)]
    pub always: Vec<String>,
}

/// How many preferred channels to send.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Deliver {
    /// The first usable one.
    #[default]
    First,
    /// Every usable one.
    All,
}

/// One A/B variant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Variant id (in the manifest, report and usage).
    pub id: String,
    /// Relative weight (0 disables the variant).
    pub weight: u32,
    /// Template used instead of the record's, when set.
    #[serde(default)]
    pub template: Option<String>,
}

/// Why a scenario file is not usable: the file, the line and column of the
/// key at fault, and what is wrong.
pub type ScenarioError = tessera_runtime::FileDiagnostic;

/// The channels and variant chosen for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Channels to produce, in the order chosen.
    pub channels: Vec<String>,
    /// The A/B variant, if any.
    pub variant: Option<String>,
}

/// Why no channel could be used for a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no usable channel: {}", .tried.join("; "))]
pub struct NoChannel {
    /// Each channel tried, with why it could not be used.
    pub tried: Vec<String>,
}

impl Scenario {
    /// Reads and checks `scenario.toml`; `defined` are the tenant's channels.
    pub fn load(path: &Path, defined: &BTreeSet<String>) -> Result<Scenario, ScenarioError> {
        let file = tessera_runtime::TomlFile::<Scenario>::read(path)?;
        let scenario = &file.value;
        // Each channel named, with the key that names it (for the error's position).
        let mut named: Vec<([&str; 2], &String)> = Vec::new();
        named.extend(scenario.channels.default.iter().map(|c| (["channels", "default"], c)));
        named.extend(scenario.channels.always.iter().map(|c| (["channels", "always"], c)));
        for (from, to) in &scenario.fallback {
            named.extend([(["fallback", from.as_str()], from), (["fallback", from.as_str()], to)]);
        }
        for (key, channel) in named {
            if !defined.contains(channel) && !KNOWN_PREFERENCES.contains(&channel.as_str()) {
                let message = format!(
                    "channel `{channel}` is not defined in tenant.toml (defined: {})",
                    defined.iter().cloned().collect::<Vec<_>>().join(", ")
                );
                return Err(file.error_at(&key, message));
            }
        }
        for channel in &scenario.channels.always {
            if !defined.contains(channel) {
                let message = format!("`always` names channel `{channel}`, which tenant.toml does not define");
                return Err(file.error_at(&["channels", "always"], message));
            }
        }
        if !scenario.variants.is_empty() && scenario.variants.iter().all(|v| v.weight == 0) {
            return Err(file.error_at(&["variants"], "every variant has weight 0"));
        }
        let mut ids = BTreeSet::new();
        for v in &scenario.variants {
            if !ids.insert(&v.id) {
                return Err(file.error_at(&["variants"], format!("variant `{}` is defined twice", v.id)));
            }
        }
        let scenario = file.value;
        Ok(scenario)
    }

    /// Chooses channels and variant for `record`; `defined` are the
    /// tenant's channels.
    pub fn choose(&self, record: &CdmRecord, defined: &BTreeSet<String>) -> Result<Choice, NoChannel> {
        let stated: Vec<&str> = record
            .value
            .pointer("/distribution/channels")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|c| c.as_str()).collect())
            .unwrap_or_default();
        let preferences: Vec<&str> =
            if stated.is_empty() { self.channels.default.iter().map(String::as_str).collect() } else { stated };
        let mut chosen: Vec<String> = Vec::new();
        let mut tried = Vec::new();
        for preferred in preferences {
            let mut channel = preferred;
            let mut seen = BTreeSet::new();
            let usable = loop {
                if !seen.insert(channel) {
                    break None;
                }
                match unusable(channel, record, defined) {
                    None => break Some(channel),
                    Some(why) => {
                        let reason = format!("{channel} ({why})");
                        if !tried.contains(&reason) {
                            tried.push(reason);
                        }
                    }
                }
                match self.fallback.get(channel) {
                    Some(next) => channel = next,
                    None => break None,
                }
            };
            if let Some(channel) = usable
                && !chosen.iter().any(|c| c == channel)
            {
                chosen.push(channel.to_owned());
                if self.channels.deliver == Deliver::First {
                    break;
                }
            }
        }
        if chosen.is_empty() {
            return Err(NoChannel { tried });
        }
        for channel in &self.channels.always {
            if !chosen.contains(channel) {
                chosen.push(channel.clone());
            }
        }
        Ok(Choice { channels: chosen, variant: self.variant_for(record) })
    }

    /// The record's own variant, or the one its customer hashes to.
    pub fn variant_for(&self, record: &CdmRecord) -> Option<String> {
        if let Some(own) = record.str_at("production", "variant") {
            return Some(own.to_owned());
        }
        let total: u64 = self.variants.iter().map(|v| u64::from(v.weight)).sum();
        if total == 0 {
            return None;
        }
        let point = bucket(&record.customer_ref, &self.id) % total;
        let mut upto = 0;
        for v in &self.variants {
            upto += u64::from(v.weight);
            if point < upto {
                return Some(v.id.clone());
            }
        }
        None
    }

    /// The template a variant uses instead of the record's, if any.
    pub fn template_of(&self, variant: &str) -> Option<&str> {
        self.variants.iter().find(|v| v.id == variant).and_then(|v| v.template.as_deref())
    }
}

/// Preference names the CDM allows even when a tenant does not define them.
const KNOWN_PREFERENCES: &[&str] = &["email", "print", "sms", "archive"];

/// A stable 64-bit hash of (customer reference, scenario id).
fn bucket(customer_ref: &str, scenario: &str) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(customer_ref.as_bytes());
    hasher.update([0]);
    hasher.update(scenario.as_bytes());
    u64::from_be_bytes(hasher.finalize()[..8].try_into().expect("8 bytes"))
}

/// Why `channel` cannot be used for `record`, or `None` when it can.
fn unusable(channel: &str, record: &CdmRecord, defined: &BTreeSet<String>) -> Option<&'static str> {
    if !defined.contains(channel) {
        return Some("not offered by this tenant");
    }
    let text =
        |pointer: &str| record.value.pointer(pointer).and_then(|v| v.as_str()).map(str::trim).filter(|s| !s.is_empty());
    match channel {
        "email" if text("/distribution/email").is_none() => Some("no e-mail address"),
        "sms" if record.value.pointer("/distribution/sms_opt_out").and_then(|v| v.as_bool()) == Some(true) => {
            Some("opted out of SMS")
        }
        "sms" if text("/distribution/phone").is_none() => Some("no phone number"),
        "print"
            if text("/address/city").is_none()
                || (text("/address/street").is_none()
                    && record
                        .value
                        .pointer("/address/lines")
                        .and_then(|v| v.as_array())
                        .is_none_or(|a| a.is_empty())) =>
        {
            Some("no postal address")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(customer: &str, distribution: serde_json::Value, address: serde_json::Value) -> CdmRecord {
        let value = json!({
            "cdm": "1.0",
            "reference": {"customer_ref": customer, "document_id": format!("D-{customer}"), "document_type": "letter"},
            "personal": {"last_name": "X"},
            "address": address,
            "production": {},
            "distribution": distribution,
            "content": {}
        });
        CdmRecord::parse(&value.to_string()).expect("valid test record")
    }

    fn scenario(text: &str) -> Scenario {
        toml::from_str(text).unwrap()
    }

    fn defined() -> BTreeSet<String> {
        ["email", "print", "sms", "archive", "html"].into_iter().map(String::from).collect()
    }

    const RULES: &str = r#"
        id = "billing"
        [channels]
        default = ["email", "print"]
        always = ["archive"]
        [fallback]
        email = "print"
        sms = "email"
    "#;

    fn home() -> serde_json::Value {
        json!({"street": "Keizersgracht 12", "postcode": "1015 CS", "city": "Amsterdam", "country": "NL"})
    }

    #[test]
    fn the_records_preference_wins_then_always() {
        let s = scenario(RULES);
        let r = record("C1", json!({"channels": ["sms"], "phone": "+31612345678"}), home());
        assert_eq!(s.choose(&r, &defined()).unwrap().channels, ["sms", "archive"]);
    }

    #[test]
    fn no_email_address_falls_back_to_print() {
        let s = scenario(RULES);
        let r = record("C2", json!({"channels": ["email"]}), home());
        assert_eq!(s.choose(&r, &defined()).unwrap().channels, ["print", "archive"]);
    }

    #[test]
    fn sms_opt_out_falls_back_to_email() {
        let s = scenario(RULES);
        let r = record(
            "C3",
            json!({"channels": ["sms"], "phone": "+31612345678", "sms_opt_out": true, "email": "a@b.nl"}),
            home(),
        );
        assert_eq!(s.choose(&r, &defined()).unwrap().channels, ["email", "archive"]);
    }

    #[test]
    fn chained_fallbacks_and_the_default_when_the_record_states_none() {
        let s = scenario(RULES);
        // SMS opted out → email: no address → print.
        let r = record("C4", json!({"channels": ["sms"], "phone": "+31612345678", "sms_opt_out": true}), home());
        assert_eq!(s.choose(&r, &defined()).unwrap().channels, ["print", "archive"]);
        let r = record("C5", json!({"email": "a@b.nl"}), home());
        assert_eq!(s.choose(&r, &defined()).unwrap().channels, ["email", "archive"]);
    }

    #[test]
    fn nothing_usable_is_a_reason_naming_each_channel() {
        let s = scenario(RULES);
        let r = record("C6", json!({"channels": ["email", "print"]}), json!({}));
        let err = s.choose(&r, &defined()).unwrap_err();
        assert_eq!(err.to_string(), "no usable channel: email (no e-mail address); print (no postal address)");
    }

    #[test]
    fn deliver_all_sends_every_usable_preference_once() {
        let s = scenario(&RULES.replace("always = [\"archive\"]", "deliver = \"all\""));
        let r = record("C7", json!({"channels": ["email", "print", "sms"], "email": "a@b.nl"}), home());
        // sms has no phone → email, already chosen.
        assert_eq!(s.choose(&r, &defined()).unwrap().channels, ["email", "print"]);
    }

    #[test]
    fn a_fallback_cycle_ends() {
        let s = scenario(&RULES.replace("sms = \"email\"", "sms = \"email\"\nprint = \"sms\""));
        let r = record("C8", json!({"channels": ["email"]}), json!({}));
        assert!(s.choose(&r, &defined()).is_err());
    }

    #[test]
    fn variants_are_stable_and_follow_the_weights() {
        let s = scenario(&format!(
            "{RULES}\n[[variants]]\nid = \"a\"\nweight = 70\n[[variants]]\nid = \"b\"\nweight = 30\ntemplate = \"invoice-b\"\n"
        ));
        let mut counts = BTreeMap::new();
        for i in 0..10_000 {
            let r = record(&format!("C-{i}"), json!({"email": "a@b.nl"}), home());
            let first = s.variant_for(&r).unwrap();
            assert_eq!(s.variant_for(&r).unwrap(), first, "the same customer always gets the same variant");
            *counts.entry(first).or_insert(0u32) += 1;
        }
        let a = f64::from(counts["a"]) / 10_000.0;
        assert!((a - 0.70).abs() < 0.02, "variant a got {a:.3} of the records, configured 0.70");
        assert_eq!(s.template_of("b"), Some("invoice-b"));
        assert_eq!(s.template_of("a"), None);
    }

    #[test]
    fn the_records_own_variant_is_kept() {
        let s = scenario(&format!("{RULES}\n[[variants]]\nid = \"a\"\nweight = 1\n"));
        let mut value = record("C9", json!({}), home()).value;
        value["production"]["variant"] = json!("upstream");
        let r = CdmRecord::parse(&value.to_string()).unwrap();
        assert_eq!(s.variant_for(&r).as_deref(), Some("upstream"));
    }
}
