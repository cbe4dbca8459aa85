//! `enishi`: start the server.

use std::process::ExitCode;

use std::sync::Arc;
use std::time::Duration;

use enishi::audit::Audit;
use enishi::config::{Cli, Command, Config};
use enishi::lifecycle::{Lifecycle, Phase};
use enishi::logging::Logging;
use enishi::metrics::Metrics;
use enishi_sql::{CacheConfig, Engine, EngineConfig};
use enishi_storage::{Location, MaintenancePolicy, S3Options, Storage, StorageOptions};

fn main() -> ExitCode {
    let cli = Cli::parse_with_sources();
    let loaded = match Config::load_with_origins(&cli) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("enishi: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(Command::Config) = &cli.command {
        print!("{}", loaded.render());
        return ExitCode::SUCCESS;
    }
    let config = loaded.config;
    let logging = match Logging::init(&config) {
        Ok(logging) => logging,
        Err(e) => {
            eprintln!(
                "enishi: cannot open the log file in {}: {e}",
                config.monitoring.log_dir
            );
            return ExitCode::from(2);
        }
    };
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if config.server.workers > 0 {
        runtime.worker_threads(config.server.workers);
    }
    // Planning nests deeply (views, external tables, DataFusion's optimizer,
    // expression trees as deep as statement::MAX_OPERATORS allows). The stack
    // is reserved, not committed: only what a thread touches costs memory.
    runtime.thread_stack_size(256 << 20);
    let runtime = match runtime.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("enishi: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = if cli.verify_data {
        runtime.block_on(verify_data(&config))
    } else if let Some(Command::Backup(args)) = &cli.command {
        runtime.block_on(backup(&config, &args.to))
    } else {
        runtime.block_on(run(cli, config, logging)).map(|()| true)
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("enishi: {e}");
            ExitCode::from(2)
        }
    }
}

/// `enishi backup --to DIR`: copies every table, each at one committed version,
/// into DIR (or an s3:// URL) while servers go on running, then checks the copy
/// as `--verify-data` would. True when the copy is complete and healthy.
async fn backup(config: &Config, to: &std::path::Path) -> Result<bool, Box<dyn std::error::Error>> {
    let source = Location::parse(&config.storage.path)?;
    let target = Location::parse(&to.to_string_lossy())?;
    let options = storage_options(config);
    let storage = Storage::open(&source, options.clone()).await?;
    let report = storage.backup_to(&target, &options).await?;
    for (table, version) in &report.tables {
        match version {
            Some(v) => println!("copied   {table} at version {v}"),
            None => println!("copied   {table} (empty)"),
        }
    }
    println!(
        "backup of {source} in {target}: catalog version {}, {} tables, {} files, {} bytes",
        report.catalog_version,
        report.tables.len(),
        report.files,
        report.bytes
    );
    let copy = Storage::open(&target, options).await?;
    let checks = copy.verify().await;
    let damaged: Vec<_> = checks.iter().filter(|c| !c.problems.is_empty()).collect();
    for check in &damaged {
        for problem in &check.problems {
            println!("DAMAGED  {}: {problem}", check.name);
        }
    }
    println!(
        "verified the backup: {} tables healthy, {} damaged; restore by starting enishi with --storage-path {target}",
        checks.len() - damaged.len(),
        damaged.len()
    );
    Ok(damaged.is_empty())
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

async fn run(cli: Cli, config: Config, logging: Logging) -> Result<(), Box<dyn std::error::Error>> {
    // Who may connect is settled first: a server that would be open to the
    // network without a password, or TLS files that do not load, never starts.
    let auth = enishi::pg::auth::Auth::from_config(&config.security, config.server.host)?;
    if auth.trusts_loopback() {
        tracing::warn!(
            "security.trust_loopback is on: clients on this machine log in as any role WITHOUT a password"
        );
    } else if !auth.superuser_password() {
        tracing::warn!(
            "security.trust_loopback is off and no superuser password is set: only roles with passwords and capability tokens can log in"
        );
    }
    let options = storage_options(&config);
    let location = Location::parse(&config.storage.path)?;
    let storage = Arc::new(Storage::open(&location, options).await?);
    let performance = &config.performance;
    let mut session_defaults = Vec::new();
    if config.server.timeout_secs > 0 {
        session_defaults.push((
            "statement_timeout".to_string(),
            format!("{}s", config.server.timeout_secs),
        ));
    }
    let engine_config = EngineConfig {
        cache: CacheConfig {
            max_entries: performance.query_cache_size,
            max_bytes: performance.query_cache_max_bytes,
            max_entry_bytes: performance.query_cache_entry_max_bytes,
        },
        target_partitions: config.server.workers,
        adaptive_optimization: performance.adaptive_optimization,
        session_defaults,
        external_locations: config.storage.external_locations.clone(),
        memory_limit_bytes: enishi::config::memory_limit_bytes(&performance.memory_limit)
            .unwrap_or_default() as usize,
    };
    let engine = Engine::new(storage.clone(), engine_config)?;
    // No session survives a restart, so neither do temporary tables.
    engine.drop_temp_schemas().await?;
    spawn_maintenance(storage.clone(), &config);
    let audit = match config
        .audit_log_path()
        .filter(|_| config.security.enable_audit)
    {
        Some(path) => Some(
            Audit::open(&path, config.security.audit_queue_max_bytes)
                .map_err(|e| format!("cannot open the audit log {}: {e}", path.display()))?,
        ),
        None => None,
    };
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
    let prometheus = config.monitoring.enable_prometheus;
    let metrics_listener = match config.monitoring.metrics_port {
        _ if !prometheus => None,
        port if port == 0 || port == config.server.port => None,
        port => {
            tracing::info!(port, "serving /metrics");
            Some(bind(port).await?)
        }
    };

    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let metrics = Arc::new(Metrics::new()?);
    metrics.connections_max.set(i64::from(
        config
            .server
            .max_connections
            .min(config.security.max_sessions),
    ));
    let lifecycle = Arc::new(Lifecycle::default());
    spawn_storage_probe(storage, lifecycle.clone(), metrics.clone(), &config);
    let http_state = Arc::new(enishi::http::HttpState {
        engine: engine.clone(),
        lifecycle: lifecycle.clone(),
        metrics: metrics.clone(),
        started: std::time::Instant::now(),
        configuration: config.public_json(),
        configuration_admin: config.redacted_json(),
        admin_token: config.security.admin_token.clone(),
        audit: audit.clone(),
    });
    let mut http = vec![tokio::spawn(enishi::http::serve(
        http_listener,
        enishi::http::router(http_state.clone(), prometheus),
        shutdown_rx.clone(),
    ))];
    if let Some(listener) = metrics_listener {
        http.push(tokio::spawn(enishi::http::serve(
            listener,
            enishi::http::metrics_router(http_state),
            shutdown_rx.clone(),
        )));
    }
    let limits = enishi::pg::Limits {
        max_connections: config.server.max_connections,
        max_startup_connections: config.server.max_startup_connections,
        authentication_timeout: Duration::from_secs(config.server.authentication_timeout_secs),
        max_sessions: config.security.max_sessions,
        session_timeout: (config.security.session_timeout_secs > 0)
            .then(|| Duration::from_secs(config.security.session_timeout_secs)),
        queries: (performance.max_concurrent_queries > 0).then(|| {
            Arc::new(tokio::sync::Semaphore::new(
                performance.max_concurrent_queries as usize,
            ))
        }),
    };
    let frontend = enishi::pg::Frontend {
        engine,
        metrics: metrics.clone(),
        lifecycle: lifecycle.clone(),
        limits,
        audit: audit.clone(),
        auth,
    };
    let server = tokio::spawn(enishi::pg::serve(listener, frontend, shutdown_rx));
    lifecycle.set(Phase::Ready);
    tokio::spawn(reload_on_hangup(
        cli,
        config.clone(),
        logging,
        audit.clone(),
    ));
    shutdown_signal().await;
    // Drain: /ready fails and new clients are refused (57P03) while the open
    // connections finish, for up to server.drain_timeout_secs.
    lifecycle.set(Phase::Draining);
    let timeout = Duration::from_secs(config.server.drain_timeout_secs);
    tracing::info!(
        connections = metrics.connections_active.get(),
        timeout_secs = timeout.as_secs(),
        "shutting down: draining connections"
    );
    let deadline = std::time::Instant::now() + timeout;
    // Connections that have not logged in have no work to finish: a start-up
    // packet now is refused with 57P03, and a silent socket is not waited for.
    let working = || metrics.connections_active.get() - metrics.connections_startup.get();
    while working() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tracing::info!(connections_left = working(), "shutting down");
    let _ = shutdown_tx.send(true);
    let _ = server.await;
    for task in http {
        let _ = task.await;
    }
    // Every record queued so far reaches the file before the process exits.
    if let Some(audit) = audit {
        let _ = tokio::task::spawn_blocking(move || {
            audit.close(enishi::audit::CLOSE_TIMEOUT);
        })
        .await;
    }
    Ok(())
}

/// SIGHUP (`systemctl reload`, logrotate's postrotate): reopens the log and
/// audit files, rereads the configuration, applies what can change while
/// running (the log level) and logs every other change as needing a restart.
async fn reload_on_hangup(
    cli: Cli,
    mut current: Config,
    logging: Logging,
    audit: Option<Arc<Audit>>,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot handle SIGHUP");
            return;
        }
    };
    while hangups.recv().await.is_some() {
        tracing::info!("SIGHUP: reopening logs and rereading the configuration");
        if let Some(audit) = &audit {
            audit.reopen();
        }
        let next = match Config::load(&cli) {
            Ok(next) => next,
            Err(e) => {
                logging.reload(&current, &current);
                tracing::error!(error = %e, "configuration not reloaded; keeping the running one");
                continue;
            }
        };
        logging.reload(&current, &next);
        for (key, old, new) in enishi::config::differences(&current, &next) {
            if key == "monitoring.log_level" {
                continue;
            }
            tracing::warn!(%key, %old, %new, "configuration changed; takes effect after a restart");
        }
        current = next;
    }
}

/// Probes the object store every `monitoring.health_check_interval_secs`;
/// /ready fails while the last probe failed. The probe also refreshes the
/// storage figures /metrics reports.
fn spawn_storage_probe(
    storage: Arc<Storage>,
    lifecycle: Arc<Lifecycle>,
    metrics: Arc<Metrics>,
    config: &Config,
) {
    let interval = Duration::from_secs(config.monitoring.health_check_interval_secs.max(1));
    // A probe that hangs (an unreachable endpoint retrying) counts as failed.
    let limit = interval.max(Duration::from_secs(5));
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        loop {
            ticks.tick().await;
            let outcome = match tokio::time::timeout(limit, storage.probe()).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("no answer within {} s", limit.as_secs())),
            };
            match &outcome {
                Ok(()) => {
                    if lifecycle.storage_error().is_some() {
                        tracing::info!("storage answers again");
                    }
                    metrics.storage_up.set(1);
                }
                Err(e) => {
                    tracing::error!(error = %e, "storage probe failed");
                    metrics.storage_up.set(0);
                    metrics.storage_probe_failures.inc();
                }
            }
            lifecycle.set_storage(outcome);
        }
    });
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
