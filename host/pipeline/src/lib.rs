//! # tessera-pipeline: from source records to documents
//!
//! The folders are the stages, in the order a record meets them:
//!
//! ```text
//! tenant/    tenant.toml, plugin packages, content, channels ─► LoadedTenant
//! source/    source file ─► translator plugin ─► CDM JSON (numbered, duplicates refused)
//!            (validation against the CDM is tessera_cdm's: schema + amount rules)
//! compose/   CDM record + brand label + templates + fragment plugins ─► HTML, text, Typst
//! truth/     the settlement every template and check reads (amount to pay, payee)
//! channels/  [channels] and scenario.toml ─► channels per record; composed document
//!            ─► e-mail, SMS, formatter plugins
//! verify/    every output against its record's figures (the self-check)
//! run/       the stages wired: produce in memory ─► write whole ─► commit in input order,
//!            checkpoints and resume; one record on demand
//! sink/      where outputs go: block sub-folders (`dir`) or one ZIP per block and channel (`zip`)
//! report/    manifest.jsonl, rejected.jsonl, report.json, usage.json, latency
//! flow.rs    what travels between the stages: numbered work and numbered results
//! remote.rs  what travels when shards are rendered elsewhere: shard tasks and their results
//! ```
//!
//! No two folders import each other: `run/` wires the stages, `tenant/`
//! assembles what they need (`LoadedTenant`), and the stages in between
//! know nothing of either.
//!
//! Every input record ends as its outputs or as a line of `rejected.jsonl`
//! naming the stage, the record (customer reference only) or its source
//! position, and a reason a person can act on; `report.json` checks
//! `records_in = delivered + rejected`.

mod channels;
mod compose;
mod error;
mod flow;
pub mod frame_buffer;
pub mod remote;
mod report;
mod run;
pub mod sink;
mod source;
pub mod spool;
mod tenant;
pub mod truth;
pub mod verify;

pub use channels::factur_x;
pub use channels::routing::{Channel, Maker, Routing, RoutingError};
pub use channels::scenario::{Choice, Scenario};
pub use compose::filters::{format_decimal, format_long_date, format_money};
pub use compose::library::Library;
pub use compose::live::{Canary, LiveContent, ReloadFailure, ReloadOutcome, ReloadStatus, WatchHandle};
pub use compose::{ComposeError, Composed, Composer, FragmentPlugins, Renditions};
pub use error::PipelineError;
pub use report::latency::{StageLatency, StageSummary};
pub use report::usage::{Meter, Usage, UsageRow, UsageTally, pages};
pub use report::{ManifestLine, PluginUse, Rejection, Report, SpoolPlace, Stage, Timings};
pub use run::batch::run_batch;
pub use run::checkpoint::{PROGRESS_FILE, RUN_FILES};
pub use run::job::{BatchJob, Progress, Remote};
pub use run::on_demand::{
    RenderError, RenderRequest, Rendered, RenderedOutput, SourceRequest, render_record, render_record_from,
    render_source, sample_records, translate_source,
};
pub use run::shard::{render_shard, render_shard_into};
pub use run::write::{sha256_hex, write_atomic};
pub use source::CHUNK_BYTES;
pub use source::encoding::SourceEncoding;
pub use source::shards::DEFAULT_SHARD_BYTES;
pub use tenant::store::{default_roots, describe as describe_roots, find_package};
pub use tenant::{
    ApiConfig, BuiltIn, ChannelConfig, ContentConfig, FormatterOutput, JobDefaults, LoadedTenant, Markup, Outputs,
    PaymentConfig, StudioConfig, StudioRole, StudioUser, Tenant, TenantConfig, TenantError, VerifyConfig,
};
pub use tessera_cdm::{CdmError, CdmRecord, parse_as_of};
