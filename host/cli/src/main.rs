//! `tessera`: the command-line entry point. Parses arguments, sets up
//! logging and the plugin runtime, and hands over to one module per command.
//! This is the only place `anyhow` is used: errors are printed for people.

// The command docs below are clap's `--help` text, read in a terminal, so
// `<tenant>` there is a placeholder, not an HTML tag.
#![allow(rustdoc::invalid_html_tags)]

mod bench;
mod bench_approve;
mod bench_batch;
mod bench_cluster;
mod bench_einvoice;
mod bench_fixture;
mod bench_pdf;
mod bench_reload;
mod bench_serve;
mod bench_spool;
mod commands;
mod content;
mod memory;
mod operator;
mod paths;
mod plugin_check;
mod plugin_kit;
mod serve;
mod worker;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use tessera_pipeline::SourceEncoding;
use tessera_pipeline::sink::SinkKind;

/// mimalloc instead of glibc's malloc: per document the host makes and
/// drops thousands of small strings and maps on several threads, where
/// glibc's arenas spent ~17% of a batch's CPU (perf, `bench batch`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// tessera — an open composition host for customer communications.
#[derive(Parser)]
#[command(name = "tessera", version, about)]
struct Cli {
    /// Folder with compiled components (default: $TESSERA_CACHE_DIR, else ~/.cache/tessera).
    #[arg(long, global = true)]
    cache_dir: Option<PathBuf>,
    /// Plugin folder to search first (repeatable); the built sample plugins are always searched last.
    #[arg(long = "plugins", global = true)]
    plugin_dirs: Vec<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render every sample tenant's sample input into out/demo/<tenant>/.
    Demo {
        /// Output folder.
        #[arg(long, default_value = "out/demo")]
        out: PathBuf,
        /// Folder of sample tenants.
        #[arg(long)]
        samples: Option<PathBuf>,
    },
    /// Render one source file for one tenant.
    Batch {
        /// Tenant folder (with tenant.toml).
        #[arg(long)]
        tenant: PathBuf,
        /// Source file.
        #[arg(long)]
        input: PathBuf,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Translator plugin id (default: the tenant's job.translator).
        #[arg(long)]
        translator: Option<String>,
        /// As-of date YYYY-MM-DD (default: the tenant's job.as_of, else today).
        #[arg(long)]
        as_of: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Render from the published ref instead of the tenant's configured source.
        #[arg(long)]
        published: bool,
        /// After the run, keep watching the content and render again on
        /// every change (a broken change is reported; the last good content stays).
        #[arg(long)]
        watch: bool,
        /// Finish the run interrupted in --out (same input, tenant, translator
        /// and date): its output folder ends as an uninterrupted run's would.
        #[arg(long)]
        resume: bool,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// KiB per shard when the translator can cut the source (default
        /// 4096); 0 translates the source whole, on one thread.
        #[arg(long)]
        shard_kib: Option<u64>,
        /// Where the outputs go (default: `[output]` of tenant.toml, else
        /// `dir`): `dir` writes block sub-folders, `zip` one ZIP per block
        /// of documents and channel.
        #[arg(long, value_enum)]
        sink: Option<SinkArg>,
        /// Records per block: per sub-folder (`dir`) or per container
        /// (`zip`); default `[output]`'s `documents_per_block`, else 1,000.
        #[arg(long)]
        documents_per_block: Option<u64>,
        /// The source's character encoding: utf-8, windows-1252 or
        /// iso-8859-15 (default: `[job] encoding` of tenant.toml, else utf-8).
        #[arg(long, value_parser = parse_encoding)]
        encoding: Option<SourceEncoding>,
        /// Send every record to exactly these channels (comma-separated),
        /// instead of what the tenant's scenario chooses.
        #[arg(long, value_delimiter = ',')]
        channels: Option<Vec<String>>,
        /// Render the shards on the workers of this NATS JetStream server
        /// (`nats://host:4222`) instead of on this machine; this process
        /// cuts the source and commits the results.
        #[arg(long)]
        cluster: Option<String>,
        /// Cluster runs: shards out at a time (default 16).
        #[arg(long, default_value_t = 16)]
        in_flight: usize,
        /// Cluster runs: seconds a worker may hold a shard without news
        /// before it goes to another (the workers' setting must be the same).
        #[arg(long, default_value_t = 30)]
        ack_wait_secs: u64,
        /// Cluster runs: deliveries of one shard before it is given up and
        /// its records rejected (a shard every worker dies on).
        #[arg(long, default_value_t = 5)]
        max_deliver: i64,
    },
    /// Render shards of cluster runs (`batch --cluster`) for these tenants,
    /// until SIGTERM or Ctrl-C (the shards in hand are finished first).
    Worker {
        /// The NATS JetStream server (`nats://host:4222`).
        #[arg(long)]
        nats: String,
        /// Tenant folder (with tenant.toml); repeatable.
        #[arg(long = "tenant", required = true)]
        tenants: Vec<PathBuf>,
        /// Render from the published ref instead of each tenant's configured source.
        #[arg(long, conflicts_with = "revision")]
        published: bool,
        /// Render from this content revision (a commit id, a tag,
        /// `published~1`, ...), fixed whatever the refs do: shards of runs
        /// pinned to another revision are refused.
        #[arg(long)]
        revision: Option<String>,
        /// Serve the worker's counters at `GET /metrics` on this address
        /// (`127.0.0.1:9464`; port 0 picks one and prints it).
        #[arg(long)]
        metrics_addr: Option<std::net::SocketAddr>,
        /// Shards rendered at once (default: one per core).
        #[arg(long)]
        slots: Option<usize>,
        /// Seconds a worker may hold a shard without news before it goes
        /// to another (the coordinator's setting must be the same).
        #[arg(long, default_value_t = 30)]
        ack_wait_secs: u64,
        /// Deliveries of one shard before it is given up (the coordinator's
        /// setting must be the same).
        #[arg(long, default_value_t = 5)]
        max_deliver: i64,
    },
    /// Author commands over a tenant's content repository.
    Content {
        /// Tenant folder (with tenant.toml).
        #[arg(long, default_value = "samples/acme-energy")]
        tenant: PathBuf,
        #[command(subcommand)]
        command: content::ContentCommand,
    },
    /// Work with plugin packages.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Benchmarks (human output; one JSON object with --json).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Content studio helpers.
    #[command(subcommand)]
    Studio(StudioCommand),
    /// Serve the on-demand render API (loopback by default).
    Serve {
        /// Tenant folder (repeat for several; default: the sample tenants).
        #[arg(long)]
        tenant: Vec<PathBuf>,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8787")]
        addr: std::net::SocketAddr,
        /// Renders that may run at once (default: 4 per core); more get 503.
        #[arg(long)]
        slots: Option<usize>,
        /// Largest request body in KiB.
        #[arg(long, default_value_t = 1024)]
        max_body_kib: usize,
        /// Also serve the content authors' live preview at /preview (it
        /// has no token, so only on a loopback address).
        #[arg(long)]
        preview: bool,
        /// Also serve the content studio at /studio (sign-in per tenant
        /// user from `[studio]` in tenant.toml); on loopback unless
        /// --behind-tls-proxy says a proxy in front terminates TLS.
        #[arg(long)]
        studio: bool,
        /// A proxy in front terminates TLS: the studio may listen on a
        /// non-loopback address and marks its cookie `Secure`.
        #[arg(long)]
        behind_tls_proxy: bool,
        /// Log format on stderr: `text`, or `json` (one object per line,
        /// for log shippers).
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
    },
}

#[derive(Subcommand)]
enum StudioCommand {
    /// Read a password from stdin and print its argon2id hash for a
    /// `[[studio.users]]` entry's `password_argon2`.
    HashPassword,
}

#[derive(Subcommand)]
enum PluginCommand {
    /// List packaged plugins with their digests (for pinning in tenant.toml).
    List,
    /// Check a component before it runs: world and version it exports
    /// (against its plugin.toml), each import and what the sandbox does
    /// with it, size and sha256. Exits 1 when the host would refuse it.
    Check {
        /// A package folder (with plugin.toml) or a component file.
        path: PathBuf,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Create a plugin project that builds and passes its own fixtures.
    New {
        /// The project folder to create; its name is the plugin id.
        path: PathBuf,
        /// What the plugin is.
        #[arg(long, value_enum)]
        kind: PluginKind,
        /// What it is written in.
        #[arg(long, value_enum, default_value_t = PluginLang::Rust)]
        lang: PluginLang,
    },
    /// Build a plugin project into dist/<id>-<version>/ (component + plugin.toml with its sha256).
    Build {
        /// The project folder.
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Put the package here instead of the project's dist/.
        #[arg(long)]
        out: Option<PathBuf>,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Build a plugin project and run its fixtures in the sandbox: pass/fail
    /// with a diff, and fuel, memory, time and output against each limit.
    Test {
        /// The project folder.
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Put the package here instead of the project's dist/.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Run with this tenant's grant and caps for the plugin (a tenant folder).
        #[arg(long)]
        tenant: Option<PathBuf>,
        /// The job date the plugin sees (fixtures stay reproducible).
        #[arg(long, default_value = "2026-01-01")]
        as_of: String,
        /// Test the package already in dist/ instead of building first.
        #[arg(long)]
        no_build: bool,
        /// Write what the plugin produced as each fixture's expected files.
        #[arg(long)]
        bless: bool,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// How the server logs.
/// `--encoding`: a source encoding by name.
fn parse_encoding(name: &str) -> Result<SourceEncoding, String> {
    SourceEncoding::parse(name).ok_or_else(|| format!("`{name}` is not utf-8, windows-1252 or iso-8859-15"))
}

/// `--sink`: where a batch's outputs go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum SinkArg {
    /// Block sub-folders of the output folder.
    Dir,
    /// One ZIP per block of documents and channel.
    Zip,
}

impl From<SinkArg> for SinkKind {
    fn from(s: SinkArg) -> SinkKind {
        match s {
            SinkArg::Dir => SinkKind::Dir,
            SinkArg::Zip => SinkKind::Zip,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The three kinds of plugin, as `plugin new --kind` names them.
#[derive(Clone, Copy, ValueEnum)]
enum PluginKind {
    /// Source data to CDM records.
    Translator,
    /// A computed content block.
    Fragment,
    /// A custom output format.
    Formatter,
}

impl From<PluginKind> for tessera_runtime::Kind {
    fn from(kind: PluginKind) -> Self {
        match kind {
            PluginKind::Translator => tessera_runtime::Kind::Translator,
            PluginKind::Fragment => tessera_runtime::Kind::Fragment,
            PluginKind::Formatter => tessera_runtime::Kind::Formatter,
        }
    }
}

/// The languages the plugin kit builds.
#[derive(Clone, Copy, ValueEnum)]
enum PluginLang {
    /// Rust (cargo, wasm32-wasip2).
    Rust,
    /// Python (componentize-py).
    #[value(alias = "py")]
    Python,
    /// JavaScript (jco componentize).
    #[value(alias = "javascript")]
    Js,
}

impl From<PluginLang> for tessera_plugin_kit::Lang {
    fn from(lang: PluginLang) -> Self {
        match lang {
            PluginLang::Rust => tessera_plugin_kit::Lang::Rust,
            PluginLang::Python => tessera_plugin_kit::Lang::Python,
            PluginLang::Js => tessera_plugin_kit::Lang::Js,
        }
    }
}

/// The workers' consumer settings from the command line.
fn cluster_settings(ack_wait_secs: u64, max_deliver: i64) -> tessera_cluster::layout::Settings {
    tessera_cluster::layout::Settings {
        ack_wait: std::time::Duration::from_secs(ack_wait_secs.max(1)),
        max_deliver: max_deliver.max(1),
        ..Default::default()
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A server logs each request (tenant, outcome, timing: never record
    // data); the other commands only warn unless TESSERA_LOG says more.
    let (default_filter, json) = match &cli.command {
        Command::Serve { log_format, .. } => ("warn,tessera_server=info,tessera=info", *log_format == LogFormat::Json),
        _ => ("warn", false),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(colour).with_writer(std::io::stderr);
    if json {
        logs.json().flatten_event(true).init();
    } else {
        logs.init();
    }
    let ctx = paths::Context::new(cli.cache_dir, cli.plugin_dirs);
    let result = match cli.command {
        Command::Demo { out, samples } => commands::demo(&ctx, &out, samples.as_deref()),
        Command::Batch {
            tenant,
            input,
            out,
            translator,
            as_of,
            json,
            published,
            watch,
            resume,
            threads,
            shard_kib,
            sink,
            documents_per_block,
            encoding,
            channels,
            cluster,
            in_flight,
            ack_wait_secs,
            max_deliver,
        } => commands::batch(
            &ctx,
            &commands::BatchArgs {
                tenant: &tenant,
                input: &input,
                out: &out,
                translator: translator.as_deref(),
                as_of: as_of.as_deref(),
                json,
                published,
                watch,
                resume,
                threads,
                shard_bytes: shard_kib.map(|k| k * 1024),
                sink: sink.map(SinkKind::from),
                documents_per_block,
                encoding,
                channels,
                cluster: cluster.as_deref(),
                in_flight,
                cluster_settings: cluster_settings(ack_wait_secs, max_deliver),
            },
        ),
        Command::Worker { nats, tenants, published, revision, metrics_addr, slots, ack_wait_secs, max_deliver } => {
            let content = match revision {
                Some(rev) => crate::worker::WorkerContent::Revision(rev),
                None if published => crate::worker::WorkerContent::Published,
                None => crate::worker::WorkerContent::Configured,
            };
            crate::worker::run(
                &ctx,
                crate::worker::WorkerArgs {
                    url: &nats,
                    tenant_dirs: &tenants,
                    content,
                    metrics_addr,
                    slots,
                    settings: cluster_settings(ack_wait_secs, max_deliver),
                },
            )
        }
        Command::Content { tenant, command } => content::run(&tenant, command),
        Command::Plugin(PluginCommand::List) => commands::plugin_list(&ctx),
        Command::Plugin(PluginCommand::Check { path, json }) => plugin_check::run(&ctx, &path, json),
        Command::Plugin(PluginCommand::New { path, kind, lang }) => plugin_kit::new(&path, kind.into(), lang.into()),
        Command::Plugin(PluginCommand::Build { path, out, json }) => plugin_kit::build(&path, out.as_deref(), json),
        Command::Plugin(PluginCommand::Test { path, out, tenant, as_of, no_build, bless, json }) => plugin_kit::test(
            &ctx,
            plugin_kit::TestArgs { path: &path, out: out.as_deref(), tenant, as_of, no_build, bless, json },
        ),
        Command::Bench(b) => bench::run(&ctx, b),
        Command::Serve { tenant, addr, slots, max_body_kib, preview, studio, behind_tls_proxy, log_format: _ } => {
            let args =
                serve::ServeArgs { tenants: tenant, addr, slots, max_body_kib, preview, studio, behind_tls_proxy };
            serve::run(&ctx, args)
        }
        Command::Studio(StudioCommand::HashPassword) => serve::hash_password(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
