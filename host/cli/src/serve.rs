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
use tessera_pipeline::LoadedTenant;
use tessera_server::{AppState, ServerLimits};

/// The command's settings.
pub struct ServeArgs {
    pub tenants: Vec<PathBuf>,
    pub addr: SocketAddr,
    pub slots: Option<usize>,
    pub max_body_kib: usize,
}

/// Runs the server.
pub fn run(ctx: &Context, args: ServeArgs) -> anyhow::Result<ExitCode> {
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
        watches.push(loaded.content.watch(WatchConfig::from_env(), move |outcome| {
            tracing::info!(tenant = %id, ?outcome, "content reload");
        })?);
        tenants.push(loaded);
    }
    let defaults = ServerLimits::default();
    let limits = ServerLimits {
        slots: args.slots.unwrap_or(defaults.slots),
        max_body_bytes: args.max_body_kib << 10,
        ..defaults
    };
    let state = Arc::new(AppState::new(tenants, limits).map_err(|e| anyhow!(e))?);
    let io = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("tessera-http").build()?;
    io.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(args.addr).await.with_context(|| format!("binding {}", args.addr))?;
        eprintln!("tessera serve: http://{} ({} tenants; Ctrl-C stops)", listener.local_addr()?, dirs.len());
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
