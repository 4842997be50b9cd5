//! # tessera-pipeline: from source records to documents
//!
//! ```text
//! source ─► translator plugin ─► CDM record ─► check ─► compose (Tera + fragment plugins + label)
//!        ─► outputs: HTML, formatter plugins ─► files (atomic) + manifest.jsonl + report.json
//! ```
//!
//! Every input record ends as its outputs or as a line of `rejected.jsonl`
//! naming the stage, the record (customer reference only) or its source
//! position, and a reason a person can act on; `report.json` checks
//! `records_in = delivered + rejected`.

mod batch;
mod cdm;
mod channels;
mod checkpoint;
mod commit;
mod compose;
mod filters;
mod flow;
mod latency;
mod library;
mod live;
mod output;
mod produce;
mod render;
mod report;
mod scenario;
mod source;
mod store;
mod tally;
mod tenant;
pub mod truth;
mod typst;
mod usage;

pub use batch::{BatchJob, CHUNK_BYTES, LoadedTenant, PipelineError, Progress, parse_as_of, run_batch};
pub use cdm::{CdmError, CdmRecord};
pub use channels::routing::{Channel, Maker, Routing};
pub use checkpoint::{PROGRESS_FILE, RUN_FILES};
pub use compose::{ComposeError, Composed, Composer, FragmentPlugins, Renditions};
pub use filters::{format_decimal, format_long_date, format_money};
pub use latency::{Histogram, StageLatency, StageSummary};
pub use library::Library;
pub use live::{Canary, LiveContent, ReloadFailure, ReloadOutcome, ReloadStatus, WatchHandle};
pub use output::{sha256_hex, write_atomic};
pub use render::{
    RenderError, RenderRequest, Rendered, RenderedOutput, SourceRequest, render_record, render_source, sample_records,
    translate_source,
};
pub use report::{ManifestLine, PluginUse, Rejection, Report, Stage, Timings};
pub use scenario::{Choice, Scenario};
pub use store::{default_roots, describe as describe_roots, find_package};
pub use tenant::{
    ApiConfig, BuiltIn, ChannelConfig, ContentConfig, FormatterOutput, JobDefaults, Markup, Outputs, PaymentConfig,
    Tenant, TenantConfig, TenantError, VerifyConfig,
};
pub use usage::{Meter, Usage, UsageRow, UsageTally, pages};
