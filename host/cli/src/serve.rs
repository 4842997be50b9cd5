//! `tessera serve`: loads the tenants, watches their content (hot reload,
//! so the server always renders the last good content), and serves the
//! render API on loopback until Ctrl-C or SIGTERM; requests in flight
//! finish first.

use crate::paths::{Context, samples_dir};
use anyhow::{Context as _, anyhow};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tessera_content::watch::WatchConfig;
use tessera_pipeline::{LoadedTenant, ReloadOutcome};
use tessera_server::{AppState, ServerLimits};

/// The command's settings.
pub struct ServeArgs {
    pub tenants: Vec<PathBuf>,
    pub addr: SocketAddr,
    pub slots: Option<usize>,
    pub max_body_kib: usize,
    pub preview: bool,
    pub studio: bool,
    pub behind_tls_proxy: bool,
}

/// `tessera studio hash-password`: one line from stdin, its argon2id PHC string on stdout.
pub fn hash_password() -> anyhow::Result<ExitCode> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(anyhow!("no password on stdin (pipe one in: `echo -n … | tessera studio hash-password`)"));
    }
    println!("{}", tessera_server::hash_password(password).map_err(|e| anyhow!(e))?);
    Ok(ExitCode::SUCCESS)
}

/// Runs the server.
pub fn run(ctx: &Context, args: ServeArgs) -> anyhow::Result<ExitCode> {
    if args.preview && !args.addr.ip().is_loopback() {
        return Err(anyhow!(
            "--preview shows every tenant's sample records and content without a token, so it is served on \
             loopback only (not {}); put an authenticating proxy in front for remote authors",
            args.addr
        ));
    }
    if args.studio && !args.addr.ip().is_loopback() && !args.behind_tls_proxy {
        return Err(anyhow!(
            "--studio signs users in with passwords, so off loopback ({}) it needs TLS: put a TLS-terminating \
             proxy in front and pass --behind-tls-proxy (its session cookie is then marked Secure)",
            args.addr
        ));
    }
    let runtime = ctx.runtime()?;
    let dirs = if args.tenants.is_empty() {
        let samples = samples_dir(None);
        vec![samples.join("acme-energy"), samples.join("northwind-telecom")]
    } else {
        args.tenants
    };
    let mut tenants = Vec::new();
    let mut watches = Vec::new();
    for dir in &dirs {
        let loaded = Arc::new(
            LoadedTenant::load(&runtime, dir, &ctx.plugin_roots)
                .with_context(|| format!("loading tenant {}", dir.display()))?,
        );
        let id = loaded.tenant.config.id.clone();
        watches.push(loaded.content.watch(WatchConfig::from_env(), move |outcome| match outcome {
            ReloadOutcome::Swapped { revision, took } => {
                tracing::info!(tenant = %id, %revision, ms = took.as_secs_f64() * 1e3, "content reloaded")
            }
            ReloadOutcome::Refused(failure) => {
                tracing::warn!(tenant = %id, error = %failure.message, "content reload refused; the last good content stays live")
            }
            ReloadOutcome::Unchanged | ReloadOutcome::Unsettled => {}
        })?);
        tenants.push(loaded);
    }
    let defaults = ServerLimits::default();
    let limits = ServerLimits {
        slots: args.slots.unwrap_or(defaults.slots),
        max_body_bytes: args.max_body_kib << 10,
        ..defaults
    };
    let mut state = AppState::new(tenants, limits).map_err(|e| anyhow!(e))?;
    if args.preview {
        state = state.with_preview();
    }
    if args.studio {
        let transport = if args.behind_tls_proxy {
            tessera_server::StudioTransport::BehindTlsProxy
        } else {
            tessera_server::StudioTransport::Loopback
        };
        state = state.with_studio(transport).map_err(|e| anyhow!(e))?;
    }
    let state = Arc::new(state);
    let io = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("tessera-http").build()?;
    io.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(args.addr).await.with_context(|| format!("binding {}", args.addr))?;
        let bound = listener.local_addr()?;
        eprintln!("tessera serve: http://{bound} ({} tenants; Ctrl-C stops)", dirs.len());
        if args.preview {
            eprintln!("tessera serve: preview at http://{bound}/preview");
        }
        if args.studio {
            eprintln!("tessera serve: studio at http://{bound}/studio");
        }
        tessera_server::serve(listener, state, shutdown_signal()).await?;
        eprintln!("tessera serve: stopped");
        anyhow::Ok(())
    })?;
    drop(watches);
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
