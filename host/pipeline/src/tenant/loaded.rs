//! A tenant made ready to render: `tenant.toml` read, its content compiled
//! and live, every plugin it grants found, checked and loaded, its channels
//! and scenario resolved. Anything refused stops here, before a single
//! document is rendered.

use crate::channels::routing::Routing;
use crate::channels::scenario::Scenario;
use crate::compose::FragmentPlugins;
use crate::compose::live::LiveContent;
use crate::error::PipelineError;
use crate::tenant::{Tenant, store};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tessera_content::SourceMode;
use tessera_runtime::{Kind, LoadRequest, Plugin, Runtime};

/// A tenant with its content compiled and its plugins loaded.
pub struct LoadedTenant {
    /// The tenant.
    pub tenant: Tenant,
    /// Its content, live (hot reload swaps it).
    pub content: Arc<LiveContent>,
    /// Every plugin it grants, by id.
    pub plugins: HashMap<String, Arc<Plugin>>,
    /// Its fragment plugins.
    pub fragments: Arc<FragmentPlugins>,
    /// Its channels and scenario.
    pub routing: Arc<Routing>,
    /// The payee accounts its documents may name (`[payment]`).
    pub payment: Arc<crate::truth::PaymentPolicy>,
}

impl LoadedTenant {
    /// Loads `tenant.toml`, the content and every granted plugin; any
    /// refusal stops here, before a single document is rendered.
    pub fn load(runtime: &Runtime, tenant_dir: &Path, plugin_roots: &[PathBuf]) -> Result<LoadedTenant, PipelineError> {
        Self::load_from(runtime, tenant_dir, plugin_roots, None)
    }

    /// Like [`Self::load`], with the content read in `mode` instead of the
    /// tenant's configured one.
    pub fn load_from(
        runtime: &Runtime,
        tenant_dir: &Path,
        plugin_roots: &[PathBuf],
        mode: Option<SourceMode>,
    ) -> Result<LoadedTenant, PipelineError> {
        let tenant = Tenant::load(tenant_dir)?;
        let id = tenant.config.id.clone();
        let content = tenant
            .content_source(mode)
            .and_then(LiveContent::load)
            .map_err(|error| PipelineError::Content { tenant: id.clone(), error: Box::new(error) })?;
        if content.current().label(&tenant.config.default_label).is_none() {
            return Err(PipelineError::Config {
                tenant: id,
                message: format!("default_label `{}` is not in any layer's labels/", tenant.config.default_label),
            });
        }
        // Plugins read assets through their grant from the tenant's own
        // assets folder on disk.
        let assets = tenant.content_dir().join("assets");
        let mut plugins = HashMap::new();
        for grant in &tenant.config.plugins {
            let dir = store::find_package(plugin_roots, &grant.id, &grant.version).ok_or_else(|| {
                PipelineError::PluginNotFound {
                    tenant: id.clone(),
                    id: grant.id.clone(),
                    version: grant.version.clone(),
                    searched: store::describe(plugin_roots),
                }
            })?;
            let plugin = runtime
                .load(LoadRequest { tenant: &id, package_dir: &dir, grant, assets_root: Some(&assets) })
                .map_err(|error| PipelineError::Load { tenant: id.clone(), error: Box::new(error) })?;
            plugins.insert(grant.id.clone(), Arc::new(plugin));
        }
        let fragments: FragmentPlugins = plugins
            .iter()
            .filter(|(_, p)| p.kind() == Kind::Fragment)
            .map(|(k, p)| (k.clone(), Arc::clone(p)))
            .collect();
        let scenario = match tenant.scenario_path() {
            Some(path) => Some(Scenario::load(&path, &channel_names(&tenant.config))?),
            None => None,
        };
        let routing = Routing::new(&tenant.config.outputs, &tenant.config.channels, &plugins, scenario)
            .map_err(|error| PipelineError::Routing { tenant: id.clone(), error })?;
        let payment = crate::truth::PaymentPolicy::from_list(
            &tenant.config.payment.allowed_ibans,
            tenant.config.payment.require_valid_iban,
        )
        .map_err(|error| PipelineError::Payment { tenant: id.clone(), error })?;
        Ok(LoadedTenant {
            payment: Arc::new(payment),
            tenant,
            content: Arc::new(content),
            plugins,
            fragments: Arc::new(fragments),
            routing: Arc::new(routing),
        })
    }

    /// The as-of date of a job: `explicit`, else the tenant's `job.as_of`,
    /// else today (UTC).
    pub(crate) fn as_of(&self, explicit: Option<&str>) -> String {
        explicit.map(str::to_owned).or_else(|| self.tenant.config.job.as_of.clone()).unwrap_or_else(today)
    }

    pub(crate) fn plugin_of_kind(&self, id: &str, kind: Kind) -> Result<&Arc<Plugin>, PipelineError> {
        let tenant = self.tenant.config.id.clone();
        let plugin = self.plugins.get(id).ok_or_else(|| PipelineError::Config {
            tenant: tenant.clone(),
            message: format!("plugin `{id}` is not granted"),
        })?;
        if plugin.kind() != kind {
            return Err(PipelineError::Config {
                tenant,
                message: format!("plugin `{id}` is a {}, not a {kind}", plugin.kind()),
            });
        }
        Ok(plugin)
    }
}

/// Every channel name a tenant defines: its fixed outputs and `[channels]`.
fn channel_names(cfg: &crate::tenant::TenantConfig) -> std::collections::BTreeSet<String> {
    let mut names: std::collections::BTreeSet<String> = cfg.channels.keys().cloned().collect();
    if cfg.outputs.html {
        names.insert("html".into());
    }
    names.extend(cfg.outputs.formatters.iter().map(|f| f.channel.clone()));
    names
}

/// Today's date (UTC), `YYYY-MM-DD`.
fn today() -> String {
    let now = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", now.year(), u8::from(now.month()), now.day())
}
