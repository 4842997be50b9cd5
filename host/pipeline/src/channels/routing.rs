//! A tenant's channels resolved for production: what each channel is made
//! with, and which channels a record goes to (its scenario, or the fixed
//! `[outputs]` every document gets when the tenant has no scenario).

use crate::channels::config::{BuiltIn, ChannelConfig, Markup, Outputs};
use crate::channels::scenario::{Choice, NoChannel, Scenario};
use crate::compose::Renditions;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tessera_cdm::CdmRecord;
use tessera_runtime::{Kind, Plugin};

/// SMS segments allowed when a channel does not say.
pub const DEFAULT_MAX_SEGMENTS: u32 = 3;

/// How one channel's output is made.
#[derive(Clone)]
pub enum Maker {
    /// A built-in format.
    BuiltIn {
        /// Which.
        format: BuiltIn,
        /// For SMS: the most segments a message may take.
        max_segments: u32,
    },
    /// A formatter plugin.
    Plugin {
        /// The plugin.
        plugin: Arc<Plugin>,
        /// The markup its template renders, if any.
        markup: Option<Markup>,
    },
}

/// One channel.
#[derive(Clone)]
pub struct Channel {
    /// Channel name (manifest, report, usage).
    pub name: String,
    /// How its output is made.
    pub maker: Maker,
    /// Metadata for its formatter: `[outputs.metadata]` then the channel's own.
    pub metadata: Vec<(String, String)>,
    /// Whether its files are named `<id>.<ext>` (fixed outputs) rather than
    /// `<id>.<channel>.<ext>` (scenario channels, where print and archive may
    /// both be PDF).
    pub short_name: bool,
    /// Its letters go into print spools made at the end of the run.
    pub spool: Option<crate::spool::SpoolSettings>,
    /// Its formatter also receives the CDM record (the `cdm` metadata entry).
    pub with_record: bool,
    /// The formatter whose CII XML makes this channel's PDFs Factur-X invoices.
    pub factur_x: Option<Arc<Plugin>>,
}

impl Channel {
    /// The renditions this channel needs composed.
    pub fn renditions(&self) -> Renditions {
        match &self.maker {
            Maker::BuiltIn { format: BuiltIn::Html, .. } => Renditions::HTML_ONLY,
            Maker::BuiltIn { format: BuiltIn::Text, .. } => Renditions { text: true, ..Renditions::HTML_ONLY },
            Maker::BuiltIn { format: BuiltIn::Email, .. } => Renditions::ALL,
            Maker::BuiltIn { format: BuiltIn::Sms, .. } => Renditions { sms: true, ..Renditions::HTML_ONLY },
            Maker::Plugin { markup: Some(language), .. } => Renditions::ALL.with_markup(*language),
            Maker::Plugin { markup: None, .. } => Renditions::ALL,
        }
    }
}

/// Why a tenant's channels cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    /// A channel is made by a plugin the tenant does not grant.
    #[error("channel `{channel}` needs plugin `{plugin}`, which is not granted")]
    NotGranted {
        /// The channel.
        channel: String,
        /// The plugin it names.
        plugin: String,
    },
    /// A channel is made by a plugin that is not a formatter.
    #[error("channel `{channel}`: plugin `{plugin}` is a {kind}, not a formatter")]
    NotAFormatter {
        /// The channel.
        channel: String,
        /// The plugin it names.
        plugin: String,
        /// What the plugin is.
        kind: Kind,
    },
    /// A channel says neither how nor by what it is made.
    #[error("channel `{0}` has neither format nor plugin")]
    Unmade(String),
    /// A spooled channel that is not typeset from Typst markup, or whose
    /// spool settings cannot work.
    #[error("channel `{channel}`: {problem}")]
    Spool {
        /// The channel.
        channel: String,
        /// What is wrong with its `spool` settings.
        problem: String,
    },
    /// A `factur_x` option on a channel that cannot carry it.
    #[error("channel `{channel}`: {problem}")]
    FacturX {
        /// The channel.
        channel: String,
        /// What is wrong.
        problem: String,
    },
}

/// Every channel of a tenant and how records are routed to them.
pub struct Routing {
    channels: BTreeMap<String, Channel>,
    /// The channel names, kept for routing every record without rebuilding them.
    names: BTreeSet<String>,
    /// The tenant's scenario; without one, every document gets `fixed`.
    scenario: Option<Scenario>,
    fixed: Vec<String>,
}

impl Routing {
    /// Resolves the tenant's `[outputs]`, `[channels]` and scenario.
    pub fn new(
        outputs: &Outputs,
        configured: &BTreeMap<String, ChannelConfig>,
        plugins: &std::collections::HashMap<String, Arc<Plugin>>,
        scenario: Option<Scenario>,
    ) -> Result<Routing, RoutingError> {
        let base: Vec<(String, String)> = outputs.metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let formatter = |id: &str, channel: &str| -> Result<Arc<Plugin>, RoutingError> {
            let p = plugins
                .get(id)
                .ok_or_else(|| RoutingError::NotGranted { channel: channel.to_owned(), plugin: id.to_owned() })?;
            if p.kind() != Kind::Formatter {
                return Err(RoutingError::NotAFormatter {
                    channel: channel.to_owned(),
                    plugin: id.to_owned(),
                    kind: p.kind(),
                });
            }
            Ok(Arc::clone(p))
        };
        let mut channels = BTreeMap::new();
        let mut fixed = Vec::new();
        if outputs.html {
            fixed.push("html".to_owned());
            channels.insert(
                "html".to_owned(),
                Channel {
                    name: "html".into(),
                    maker: Maker::BuiltIn { format: BuiltIn::Html, max_segments: 0 },
                    metadata: base.clone(),
                    short_name: true,
                    spool: None,
                    with_record: false,
                    factur_x: None,
                },
            );
        }
        for f in &outputs.formatters {
            fixed.push(f.channel.clone());
            let maker = Maker::Plugin { plugin: formatter(&f.plugin, &f.channel)?, markup: None };
            channels.insert(
                f.channel.clone(),
                Channel {
                    name: f.channel.clone(),
                    maker,
                    metadata: base.clone(),
                    short_name: true,
                    spool: None,
                    with_record: false,
                    factur_x: None,
                },
            );
        }
        for (name, c) in configured {
            let maker = match (&c.format, &c.plugin) {
                (Some(format), _) => {
                    Maker::BuiltIn { format: *format, max_segments: c.max_segments.unwrap_or(DEFAULT_MAX_SEGMENTS) }
                }
                (None, Some(id)) => Maker::Plugin { plugin: formatter(id, name)?, markup: c.markup },
                (None, None) => return Err(RoutingError::Unmade(name.clone())),
            };
            let mut metadata = base.clone();
            metadata.extend(c.metadata.iter().map(|(k, v)| (k.clone(), v.clone())));
            if let Some(spool) = &c.spool {
                let problem =
                    |problem: &str| RoutingError::Spool { channel: name.clone(), problem: problem.to_owned() };
                if !matches!(maker, Maker::Plugin { markup: Some(_), .. }) {
                    return Err(problem(
                        "spools are made from print markup: give it `plugin` and `markup = \"typst\"` or `\"layout\"`",
                    ));
                }
                if spool.letters == 0 {
                    return Err(problem("`spool.letters` must be at least 1"));
                }
                if let Some(key) = spool.sort.iter().find(|k| k.is_empty() || k.split('.').any(str::is_empty)) {
                    return Err(problem(&format!(
                        "`spool.sort` key `{key}` is not a CDM path like `address.postcode`"
                    )));
                }
                if let Some(zone) = spool.marks.as_ref().and_then(|m| m.problem()) {
                    return Err(problem(&zone));
                }
            }
            let factur_x = match &c.factur_x {
                Some(id) if c.spool.is_some() || !matches!(maker, Maker::Plugin { .. }) => {
                    return Err(RoutingError::FacturX {
                        channel: name.clone(),
                        problem: format!(
                            "`factur_x = \"{id}\"` needs a channel whose plugin makes one PDF/A per letter (not a spool, not a built-in format)"
                        ),
                    });
                }
                Some(id) => Some(formatter(id, name)?),
                None => None,
            };
            // A channel defined in [channels] replaces a fixed output of the same name.
            channels.insert(
                name.clone(),
                Channel {
                    name: name.clone(),
                    maker,
                    metadata,
                    short_name: scenario.is_none(),
                    spool: c.spool.clone(),
                    with_record: c.cdm,
                    factur_x,
                },
            );
        }
        let names = channels.keys().cloned().collect();
        Ok(Routing { channels, names, scenario, fixed })
    }

    /// The names of every channel.
    pub fn names(&self) -> &BTreeSet<String> {
        &self.names
    }

    /// A channel by name.
    pub fn channel(&self, name: &str) -> Option<&Channel> {
        self.channels.get(name)
    }

    /// The scenario, if the tenant has one.
    pub fn scenario(&self) -> Option<&Scenario> {
        self.scenario.as_ref()
    }

    /// The channels and variant for a record; `only` (the operator's
    /// `--channels`) replaces the scenario's choice of channels.
    pub fn route(&self, record: &CdmRecord, only: Option<&[String]>) -> Result<Choice, NoChannel> {
        let variant = self.scenario.as_ref().and_then(|s| s.variant_for(record));
        if let Some(only) = only {
            return Ok(Choice { channels: only.to_vec(), variant });
        }
        match &self.scenario {
            Some(s) => s.choose(record, &self.names),
            None => Ok(Choice { channels: self.fixed.clone(), variant }),
        }
    }
}
