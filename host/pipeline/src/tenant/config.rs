//! `tenant.toml`: who the tenant is, where its content is, which plugins it
//! runs (pinned and granted, see [`PluginGrant`]) and its job defaults.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tessera_content::{ContentSource, RepoError, SourceMode};
use tessera_runtime::{FileDiagnostic, PluginGrant, TomlFile, is_id};

pub use crate::channels::config::{BuiltIn, ChannelConfig, FormatterOutput, Markup, Outputs};

/// A tenant's configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Tenant id (lower-case, `-`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Where the content is and how it is layered.
    #[serde(default)]
    pub content: ContentConfig,
    /// Label used when a record names none.
    pub default_label: String,
    /// Locale used when a record names none.
    #[serde(default = "default_locale")]
    pub default_locale: String,
    /// Defaults for runs.
    #[serde(default)]
    pub job: JobDefaults,
    /// Which outputs every document gets (when there is no `scenario.toml`).
    #[serde(default)]
    pub outputs: Outputs,
    /// Channels a scenario can send documents to, by name.
    #[serde(default)]
    pub channels: BTreeMap<String, ChannelConfig>,
    /// Plugins the tenant runs.
    #[serde(default)]
    pub plugins: Vec<PluginGrant>,
    /// The on-demand render API (`tessera serve`).
    #[serde(default)]
    pub api: ApiConfig,
    /// Who may edit and approve content in the studio.
    #[serde(default)]
    pub studio: StudioConfig,
    /// Which payee accounts documents may name.
    #[serde(default)]
    pub payment: PaymentConfig,
    /// What the self-check holds every output to.
    #[serde(default)]
    pub verify: VerifyConfig,
    /// Where a batch's outputs go.
    #[serde(default)]
    pub output: crate::sink::OutputConfig,
}

/// `[verify]`: the figures the self-check looks for in every output before
/// it is delivered (see `docs/cdm.md`, "The self-check").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyConfig {
    /// `document-number`, `amount`, `due-date`, `payee-account`: all four
    /// by default. An SMS is held to the number and the amount at most. A
    /// tenant whose letters deliberately leave a figure out (a "your bill
    /// is ready" notice) lists the ones they do show.
    #[serde(default = "all_facts")]
    pub facts: Vec<crate::verify::Fact>,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig { facts: all_facts() }
    }
}

fn all_facts() -> Vec<crate::verify::Fact> {
    crate::verify::ALL_FACTS.to_vec()
}

/// `[payment]`: the accounts this tenant's documents may ask customers to
/// pay into.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentConfig {
    /// IBANs (or domestic account numbers) allowed as the payee account;
    /// a document naming another one — its record's or its label's — is
    /// rejected. Empty: any account that passes its check, with a warning
    /// on documents whose record names an account other than the label's.
    #[serde(default)]
    pub allowed_ibans: Vec<String>,
    /// Reject a document whose record's IBAN fails the ISO 13616 check
    /// digits. Off by default: EN 16931 does not constrain the account, so
    /// such an IBAN is printed as written (never in a QR code) with an
    /// `iban-check-failed` warning.
    #[serde(default)]
    pub require_valid_iban: bool,
}

/// `[api]`: who may call the render server for this tenant.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// SHA-256 (hex) of each bearer token that may render for this tenant;
    /// the tokens themselves are never stored.
    #[serde(default)]
    pub token_sha256: Vec<String>,
}

/// `[studio]`: the people who edit this tenant's content in the browser
/// studio (`tessera serve --studio`) and who approve their changes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudioConfig {
    /// One entry per person.
    #[serde(default)]
    pub users: Vec<StudioUser>,
}

/// A studio user. Only hashes are stored: an argon2 password hash (PHC
/// string, `tessera studio hash-password` makes one) and/or the SHA-256 of
/// a personal token (for scripts), as for the API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudioUser {
    /// Login name, also the name in the audit trail (git author/approver).
    pub name: String,
    /// `author` (edits and submits) or `approver` (also approves other
    /// people's changes; never their own).
    pub role: StudioRole,
    /// `$argon2id$…` PHC string.
    #[serde(default)]
    pub password_argon2: Option<String>,
    /// Hex SHA-256 of a personal token.
    #[serde(default)]
    pub token_sha256: Option<String>,
}

/// What a studio user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StudioRole {
    /// Edits and submits changes.
    Author,
    /// Edits, submits, and approves or sends back other people's changes.
    Approver,
}

/// `[content]`: the content repository and the layers, all relative to the
/// tenant folder.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentConfig {
    /// The content repository: a git repository or a folder inside one
    /// (default: the tenant folder).
    #[serde(default = "default_repository")]
    pub repository: String,
    /// Layer folders, most general first (default: `["content"]`): e.g. a
    /// provider's base content, then the tenant's own.
    #[serde(default = "default_layers")]
    pub layers: Vec<String>,
    /// `worktree` (render what is on disk) or `published` (render the
    /// published ref).
    #[serde(default = "default_source")]
    pub source: String,
    /// The published ref.
    #[serde(default = "default_published_ref")]
    pub published_ref: String,
}

impl Default for ContentConfig {
    fn default() -> Self {
        ContentConfig {
            repository: default_repository(),
            layers: default_layers(),
            source: default_source(),
            published_ref: default_published_ref(),
        }
    }
}

fn default_repository() -> String {
    ".".into()
}

fn default_layers() -> Vec<String> {
    vec!["content".into()]
}

fn default_source() -> String {
    "worktree".into()
}

fn default_published_ref() -> String {
    tessera_content::DEFAULT_PUBLISHED_REF.into()
}

fn default_locale() -> String {
    "en".into()
}

/// Defaults for `tessera batch` and `tessera demo`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobDefaults {
    /// The as-of date of runs, `YYYY-MM-DD`.
    pub as_of: Option<String>,
    /// Sample input, relative to the tenant folder.
    pub input: Option<String>,
    /// Translator plugin id, when the file type does not decide.
    pub translator: Option<String>,
    /// Translator per file type (`csv`, `json`, `xml`): the input's
    /// extension, else its first non-blank byte (`{`/`[` → json, `<` → xml).
    #[serde(default)]
    pub translators: std::collections::BTreeMap<String, String>,
    /// The character encoding of sources: `utf-8` (default),
    /// `windows-1252` or `iso-8859-15`.
    #[serde(default)]
    pub encoding: crate::source::encoding::SourceEncoding,
}

/// A tenant folder with its configuration.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The tenant folder.
    pub dir: PathBuf,
    /// Its `tenant.toml`.
    pub config: TenantConfig,
}

/// A `tenant.toml` that cannot be used: the file, the line and column of
/// the key at fault, and what is wrong.
pub type TenantError = FileDiagnostic;

impl Tenant {
    /// Reads `<dir>/tenant.toml`.
    pub fn load(dir: &Path) -> Result<Tenant, TenantError> {
        let file = TomlFile::<TenantConfig>::read(&dir.join("tenant.toml"))?;
        let config = &file.value;
        if !is_id(&config.id) {
            return Err(
                file.error_at(&["id"], format!("id `{}` must be lower-case letters, digits and `-`", config.id))
            );
        }
        for f in &config.outputs.formatters {
            if !config.plugins.iter().any(|p| p.id == f.plugin) {
                let message = format!("outputs.formatters names plugin `{}`, which is not in [[plugins]]", f.plugin);
                return Err(file.error_at(&["outputs", "formatters"], message));
            }
        }
        for (name, channel) in &config.channels {
            let at = |key: &str, message: String| file.error_at(&["channels", name.as_str(), key], message);
            if !is_id(name) {
                let message = format!("channel name `{name}` must be lower-case letters, digits and `-`");
                return Err(file.error_at(&["channels", name.as_str()], message));
            }
            match (&channel.format, &channel.plugin) {
                (Some(_), Some(_)) | (None, None) => {
                    let message = format!("channels.{name} needs exactly one of `format` or `plugin`");
                    return Err(file.error_at(&["channels", name.as_str()], message));
                }
                (None, Some(plugin)) if !config.plugins.iter().any(|p| &p.id == plugin) => {
                    let message = format!("channels.{name} names plugin `{plugin}`, which is not in [[plugins]]");
                    return Err(at("plugin", message));
                }
                (Some(_), None) if channel.markup.is_some() => {
                    return Err(at("markup", format!("channels.{name}: `markup` is for formatter plugins")));
                }
                _ => {}
            }
            if channel.max_segments == Some(0) {
                return Err(at("max_segments", format!("channels.{name}: max_segments must be at least 1")));
            }
        }
        if !["worktree", "published"].contains(&config.content.source.as_str()) {
            let message = format!("content.source `{}` must be `worktree` or `published`", config.content.source);
            return Err(file.error_at(&["content", "source"], message));
        }
        if config.content.layers.is_empty() {
            return Err(file.error_at(&["content", "layers"], "content.layers must name at least one folder"));
        }
        let config = file.value;
        Ok(Tenant { dir: dir.to_path_buf(), config })
    }

    /// The tenant's own content folder (the most specific layer).
    pub fn content_dir(&self) -> PathBuf {
        self.dir.join(self.config.content.layers.last().map_or("content", String::as_str))
    }

    /// The content source as configured, or in `mode` when given.
    pub fn content_source(&self, mode: Option<SourceMode>) -> Result<ContentSource, RepoError> {
        let c = &self.config.content;
        let mode = mode.unwrap_or_else(|| match c.source.as_str() {
            "published" => SourceMode::Published(c.published_ref.clone()),
            _ => SourceMode::WorkTree,
        });
        let layers: Vec<PathBuf> = c.layers.iter().map(|l| self.dir.join(l)).collect();
        ContentSource::new(&self.dir.join(&c.repository), &layers, mode, &self.config.default_locale)
    }

    /// The `scenario.toml` beside `tenant.toml`, if there is one.
    pub fn scenario_path(&self) -> Option<PathBuf> {
        Some(self.dir.join("scenario.toml")).filter(|p| p.is_file())
    }

    /// The grant for a plugin id.
    pub fn grant(&self, id: &str) -> Option<&PluginGrant> {
        self.config.plugins.iter().find(|p| p.id == id)
    }
}
