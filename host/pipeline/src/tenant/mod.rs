//! The tenant: its `tenant.toml` ([`config`]), where its plugins' packages
//! are found ([`store`]), and all of it — content, plugins, channels and
//! scenario — made ready to render ([`LoadedTenant`]).

pub mod config;
pub mod loaded;
pub mod store;

pub use config::{
    ApiConfig, BuiltIn, ChannelConfig, ContentConfig, FormatterOutput, JobDefaults, Markup, Outputs, PaymentConfig,
    StudioConfig, StudioRole, StudioUser, Tenant, TenantConfig, TenantError, VerifyConfig,
};
pub use loaded::LoadedTenant;
