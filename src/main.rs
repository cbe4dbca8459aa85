//! `enishi`: start the server.

use std::process::ExitCode;

use clap::Parser;
use enishi::config::{Cli, Config};
use enishi::lifecycle::{Lifecycle, Phase};
use enishi_sql::{CacheConfig, Engine, EngineConfig};
use enishi_storage::{Location, MaintenancePolicy, S3Options, Storage, StorageOptions};
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            EnvFilter::new("info,buoyant_kernel=warn,deltalake_core=warn,deltalake=warn")
        }))
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: journald and log files get plain text
        // (whose last field on query lines is the duration in milliseconds).
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let config = match Config::load(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("enishi: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("enishi: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if cli.verify_data {
        return match runtime.block_on(verify_data(&config)) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("enishi: {e}");
                ExitCode::from(2)
            }
        };
    }
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("enishi: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `enishi --verify-data`: checks the catalog and every table, prints one line
/// per table, and tells whether all are healthy. Safe while a server runs on
/// the same storage (it only reads).
async fn verify_data(config: &Config) -> Result<bool, Box<dyn std::error::Error>> {
    let location = Location::parse(&config.storage.path)?;
    let storage = Storage::open(&location, storage_options(config)).await?;
    let checks = storage.verify().await;
    let damaged = checks.iter().filter(|c| !c.problems.is_empty()).count();
    for check in &checks {
        if check.problems.is_empty() {
            println!("ok       {} ({} rows)", check.name, check.rows);
        } else {
            for problem in &check.problems {
                println!("DAMAGED  {}: {problem}", check.name);
            }
        }
    }
    println!(
        "{} tables checked in {location}: {} healthy, {damaged} damaged",
        checks.len(),
        checks.len() - damaged
    );
    Ok(damaged == 0)
}

fn storage_options(config: &Config) -> StorageOptions {
    let s3 = &config.storage.s3;
    StorageOptions {
        sync_writes: config.storage.sync_writes,
        s3: S3Options {
            endpoint: s3.endpoint.clone(),
            region: s3.region.clone(),
            access_key_id: s3.access_key_id.clone(),
            secret_access_key: s3.secret_access_key.clone(),
            allow_http: s3.allow_http,
        },
        compression: config.storage.compression,
        bloom_filter_bits: config.performance.bloom_filter_size,
        max_size_bytes: config.storage.max_size_bytes(),
        probe_interval: std::time::Duration::from_millis(config.storage.probe_interval_ms),
    }
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let options = storage_options(&config);
    let location = Location::parse(&config.storage.path)?;
    let storage = Arc::new(Storage::open(&location, options).await?);
    let performance = &config.performance;
    let engine_config = EngineConfig {
        cache: CacheConfig {
            max_entries: performance.query_cache_size,
            max_bytes: performance.query_cache_max_bytes,
            max_entry_bytes: performance.query_cache_entry_max_bytes,
        },
        ..EngineConfig::default()
    };
    let engine = Engine::new(storage.clone(), engine_config)?;
    spawn_maintenance(storage, &config);
    let addr = std::net::SocketAddr::new(config.server.host, config.server.pg_port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!(%addr, "accepting PostgreSQL clients");

    let bind = |port: u16| async move {
        let addr = std::net::SocketAddr::new(config.server.host, port);
        tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))
    };
    let http_listener = bind(config.server.port).await?;
    tracing::info!(port = config.server.port, "serving the HTTP API");
    let metrics_listener = match config.monitoring.metrics_port {
        port if port == 0 || port == config.server.port => None,
        port => {
            tracing::info!(port, "serving /metrics");
            Some(bind(port).await?)
        }
    };

    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let metrics = Arc::new(enishi::metrics::Metrics::new()?);
    let lifecycle = Arc::new(Lifecycle::default());
    let http_state = Arc::new(enishi::http::HttpState {
        engine: engine.clone(),
        lifecycle: lifecycle.clone(),
        metrics: metrics.clone(),
        started: std::time::Instant::now(),
        configuration: config.redacted_json(),
    });
    let mut http = vec![tokio::spawn(enishi::http::serve(
        http_listener,
        enishi::http::router(http_state.clone()),
        shutdown_rx.clone(),
    ))];
    if let Some(listener) = metrics_listener {
        http.push(tokio::spawn(enishi::http::serve(
            listener,
            enishi::http::metrics_router(http_state),
            shutdown_rx.clone(),
        )));
    }
    let server = tokio::spawn(enishi::pg::serve(
        listener,
        engine,
        metrics.clone(),
        lifecycle.clone(),
        shutdown_rx,
    ));
    lifecycle.set(Phase::Ready);
    shutdown_signal().await;
    // Drain: /ready fails and new clients are refused (57P03) while the open
    // connections finish, for up to server.drain_timeout_secs.
    lifecycle.set(Phase::Draining);
    let timeout = std::time::Duration::from_secs(config.server.drain_timeout_secs);
    tracing::info!(
        connections = metrics.connections_active.get(),
        timeout_secs = timeout.as_secs(),
        "shutting down: draining connections"
    );
    let deadline = std::time::Instant::now() + timeout;
    while metrics.connections_active.get() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tracing::info!(
        connections_left = metrics.connections_active.get(),
        "shutting down"
    );
    let _ = shutdown_tx.send(true);
    let _ = server.await;
    for task in http {
        let _ = task.await;
    }
    Ok(())
}

/// Background maintenance of every table, on its own schedule.
fn spawn_maintenance(storage: Arc<Storage>, config: &Config) {
    let interval = config.storage.maintenance_interval_secs;
    if interval == 0 {
        return;
    }
    let policy = MaintenancePolicy {
        compact_min_files: config.storage.compact_min_files.max(2),
        checkpoint_interval_commits: config.storage.checkpoint_interval_commits.max(1),
        vacuum_retention_hours: config.storage.vacuum_retention_hours,
    };
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(std::time::Duration::from_secs(interval));
        ticks.tick().await;
        loop {
            ticks.tick().await;
            storage.maintain_all(&policy).await;
        }
    });
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
