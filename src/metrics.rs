//! Prometheus metrics: the names the operations manual uses, and what an
//! operator needs besides. Counters the engine keeps as plain atomics (the
//! result cache's) and process figures (memory, CPU, storage) are read when
//! /metrics is scraped; everything else is recorded as it happens.

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use enishi_sql::Engine;
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    Opts, Registry, TextEncoder,
};

use crate::audit::Audit;

/// Query latency buckets, in seconds: from a cached answer to a long scan.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 300.0,
];

pub struct Metrics {
    registry: Registry,
    pub connections_active: IntGauge,
    pub connections_startup: IntGauge,
    pub connections_total: IntCounter,
    pub connections_rejected: IntCounter,
    pub auth_failures: IntCounter,
    pub permission_denied: IntCounter,
    pub connections_max: IntGauge,
    pub queries_in_flight: IntGauge,
    queries: IntCounter,
    queries_by_kind: IntCounterVec,
    query_duration: Histogram,
    plan_duration: HistogramVec,
    rows_returned: IntCounter,
    errors: IntCounterVec,
    pub limits: IntCounterVec,
    last_error: Gauge,
    memory: IntGauge,
    cpu: Gauge,
    storage_used: IntGauge,
    storage_total: IntGauge,
    storage_tables: IntGauge,
    storage_files: IntGauge,
    pub storage_up: IntGauge,
    pub storage_probe_failures: IntCounter,
    memory_pool: IntGauge,
    audit_queue_bytes: IntGauge,
    audit_write_errors: IntCounter,
    audit_up: IntGauge,
    pub audit_refusals: IntCounterVec,
    store_requests: IntCounterVec,
    store_bytes: IntCounterVec,
    cache: CacheMetrics,
    /// Serializes scrapes (counters are advanced by differences; CPU is a rate).
    scrape: Mutex<Scrape>,
}

struct Scrape {
    cpu_seconds: f64,
    at: Instant,
}

struct CacheMetrics {
    hit_ratio: Gauge,
    hits: IntCounter,
    misses: IntCounter,
    bypasses: IntCounter,
    evictions: IntCounter,
    too_large: IntCounter,
    entries: IntGauge,
    bytes: IntGauge,
}

impl Metrics {
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        macro_rules! register {
            ($metric:expr) => {{
                let metric = $metric;
                registry.register(Box::new(metric.clone()))?;
                metric
            }};
        }
        let counter = |name: &str, help: &str| IntCounter::with_opts(Opts::new(name, help));
        let gauge = |name: &str, help: &str| IntGauge::with_opts(Opts::new(name, help));
        Ok(Self {
            connections_active: register!(gauge(
                "enishi_connections_active",
                "PostgreSQL client connections open now"
            )?),
            connections_startup: register!(gauge(
                "enishi_connections_startup",
                "Connections that have not logged in yet (TLS handshake, start-up, password exchange)"
            )?),
            connections_total: register!(counter(
                "enishi_connections_total",
                "PostgreSQL client connections accepted since start"
            )?),
            connections_rejected: register!(counter(
                "enishi_connections_rejected_total",
                "Connections refused at start-up (unknown database or role, too many clients, shutting down)"
            )?),
            auth_failures: register!(counter(
                "enishi_auth_failures_total",
                "Logins refused for a wrong password or token (28P01)"
            )?),
            permission_denied: register!(counter(
                "enishi_permission_denied_total",
                "Statements refused for lack of privilege (42501)"
            )?),
            connections_max: register!(gauge(
                "enishi_connections_max",
                "Most connections logged in at once (server.max_connections or security.max_sessions, the lower)"
            )?),
            queries_in_flight: register!(gauge(
                "enishi_queries_in_flight",
                "Statements executing now (rows still streaming count)"
            )?),
            queries: register!(counter(
                "enishi_queries_per_second_total",
                "Statements completed since start (its rate is queries per second)"
            )?),
            queries_by_kind: register!(IntCounterVec::new(
                Opts::new("enishi_queries_total", "Statements completed, by command"),
                &["kind"]
            )?),
            query_duration: register!(Histogram::with_opts(
                HistogramOpts::new(
                    "enishi_query_duration_seconds",
                    "Time from receiving a statement to its last row sent"
                )
                .buckets(LATENCY_BUCKETS.to_vec())
            )?),
            plan_duration: register!(HistogramVec::new(
                HistogramOpts::new(
                    "enishi_plan_duration_seconds",
                    "Time to parse, plan and start a statement (before rows stream), by outcome"
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                &["outcome"]
            )?),
            rows_returned: register!(counter(
                "enishi_rows_returned_total",
                "Rows sent to clients"
            )?),
            errors: register!(IntCounterVec::new(
                Opts::new(
                    "enishi_error_count_total",
                    "Statements that failed, by SQLSTATE class (first two characters)"
                ),
                &["class"]
            )?),
            limits: register!(IntCounterVec::new(
                Opts::new(
                    "enishi_limit_refusals_total",
                    "Connections refused or closed by a limit: max_connections, max_sessions and max_startup_connections (53300), idle_session_timeout (57P05), authentication_timeout and startup_bytes (closed before login)"
                ),
                &["limit"]
            )?),
            last_error: register!(Gauge::with_opts(Opts::new(
                "enishi_last_error_timestamp",
                "Unix time of the last failed statement (0: none yet)"
            ))?),
            memory: register!(gauge(
                "enishi_memory_usage_bytes",
                "Resident memory of the server process"
            )?),
            cpu: register!(Gauge::with_opts(Opts::new(
                "enishi_cpu_usage_percent",
                "CPU used by the server process since the previous scrape, in percent of one core"
            ))?),
            storage_used: register!(gauge(
                "enishi_storage_used_bytes",
                "Bytes of table data in the current versions of the tables (refreshed by the storage probe)"
            )?),
            storage_total: register!(gauge(
                "enishi_storage_total_bytes",
                "The storage limit (storage.max_size_gb) in bytes; 0 when unlimited"
            )?),
            storage_tables: register!(gauge("enishi_storage_tables", "Tables in the catalog")?),
            storage_files: register!(gauge(
                "enishi_storage_files",
                "Data files in the current versions of the tables (refreshed by the storage probe)"
            )?),
            storage_up: register!(gauge(
                "enishi_storage_up",
                "1 when the last background probe of the object store succeeded, else 0"
            )?),
            storage_probe_failures: register!(counter(
                "enishi_storage_probe_failures_total",
                "Background probes of the object store that failed"
            )?),
            store_requests: register!(IntCounterVec::new(
                Opts::new(
                    "enishi_object_store_requests_total",
                    "Requests to the object store (disk or S3), by operation"
                ),
                &["operation"]
            )?),
            store_bytes: register!(IntCounterVec::new(
                Opts::new(
                    "enishi_object_store_bytes_total",
                    "Bytes read from and written to the object store"
                ),
                &["direction"]
            )?),
            memory_pool: register!(gauge(
                "enishi_memory_pool_reserved_bytes",
                "Memory reserved by running queries (sorts, joins, aggregations)"
            )?),
            audit_queue_bytes: register!(gauge(
                "enishi_audit_queue_bytes",
                "Bytes of audit records waiting for the audit writer"
            )?),
            audit_write_errors: register!(counter(
                "enishi_audit_write_errors_total",
                "Failed writes to the audit log (each is retried)"
            )?),
            audit_up: register!(gauge(
                "enishi_audit_up",
                "0 while writes to the audit log fail, else 1 (also when auditing is off)"
            )?),
            audit_refusals: register!(IntCounterVec::new(
                Opts::new(
                    "enishi_audit_refusals_total",
                    "Statements refused because the audit log could not take their records: queue_full (53000), write_failed (58030)"
                ),
                &["reason"]
            )?),
            cache: CacheMetrics {
                hit_ratio: register!(Gauge::with_opts(Opts::new(
                    "enishi_cache_hit_ratio",
                    "Result cache hits over lookups since start"
                ))?),
                hits: register!(counter(
                    "enishi_cache_hits_total",
                    "Queries answered from the result cache"
                )?),
                misses: register!(counter(
                    "enishi_cache_misses_total",
                    "Cacheable queries not found in the result cache"
                )?),
                bypasses: register!(counter(
                    "enishi_cache_bypasses_total",
                    "Queries that may not be cached (volatile functions, catalog tables, writing transactions)"
                )?),
                evictions: register!(counter(
                    "enishi_cache_evictions_total",
                    "Results evicted from the result cache to respect its limits"
                )?),
                too_large: register!(counter(
                    "enishi_cache_too_large_total",
                    "Results not cached because they exceeded the per-entry limit"
                )?),
                entries: register!(gauge(
                    "enishi_cache_entries",
                    "Results held by the result cache"
                )?),
                bytes: register!(gauge(
                    "enishi_cache_bytes",
                    "Bytes held by the result cache"
                )?),
            },
            scrape: Mutex::new(Scrape {
                cpu_seconds: process_cpu_seconds().unwrap_or(0.0),
                at: Instant::now(),
            }),
            registry,
        })
    }

    /// A statement was parsed, planned and started (or failed doing so).
    pub fn planned(&self, elapsed: Duration, ok: bool) {
        let outcome = if ok { "ok" } else { "error" };
        self.plan_duration
            .with_label_values(&[outcome])
            .observe(elapsed.as_secs_f64());
    }

    /// A statement completed: its command, the rows it sent, its duration.
    pub fn query_completed(&self, kind: &str, rows: u64, elapsed: Duration) {
        self.queries.inc();
        self.queries_by_kind.with_label_values(&[kind]).inc();
        self.rows_returned.inc_by(rows);
        self.query_duration.observe(elapsed.as_secs_f64());
    }

    /// A statement failed with `sqlstate`.
    pub fn query_failed(&self, sqlstate: &str) {
        let class = sqlstate.get(..2).unwrap_or("XX");
        self.errors.with_label_values(&[class]).inc();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        self.last_error.set(now);
    }

    /// The text exposition of every metric, current as of now.
    pub fn render(&self, engine: &Engine, audit: Option<&Audit>) -> prometheus::Result<String> {
        {
            let mut scrape = self.scrape.lock().expect("scrape lock");
            let cache = engine.cache();
            let stats = &cache.stats;
            let advance = |counter: &IntCounter, value: u64| {
                counter.inc_by(value.saturating_sub(counter.get()));
            };
            advance(&self.cache.hits, stats.hits.load(Ordering::Relaxed));
            advance(&self.cache.misses, stats.misses.load(Ordering::Relaxed));
            advance(&self.cache.bypasses, stats.bypasses.load(Ordering::Relaxed));
            advance(
                &self.cache.evictions,
                stats.evictions.load(Ordering::Relaxed),
            );
            advance(
                &self.cache.too_large,
                stats.too_large.load(Ordering::Relaxed),
            );
            self.cache.hit_ratio.set(stats.hit_ratio());
            let (entries, bytes) = cache.usage();
            self.cache.entries.set(entries as i64);
            self.cache.bytes.set(bytes as i64);

            let storage = engine.storage();
            self.storage_used.set(storage.used_bytes() as i64);
            self.storage_total
                .set(storage.max_size_bytes().unwrap_or(0) as i64);
            self.storage_tables.set(storage.table_count() as i64);
            self.storage_files.set(storage.used_files() as i64);
            let store = storage.store_stats();
            let operations = enishi_storage::counted::OPERATIONS;
            for (operation, count) in operations.iter().zip(store.requests()) {
                advance(&self.store_requests.with_label_values(&[operation]), count);
            }
            advance(
                &self.store_bytes.with_label_values(&["read"]),
                store.bytes_read.load(Ordering::Relaxed),
            );
            advance(
                &self.store_bytes.with_label_values(&["write"]),
                store.bytes_written.load(Ordering::Relaxed),
            );
            self.memory_pool.set(engine.memory_reserved() as i64);
            match audit.map(Audit::stats) {
                Some(audit) => {
                    self.audit_queue_bytes.set(audit.queue_bytes as i64);
                    advance(&self.audit_write_errors, audit.write_errors);
                    self.audit_up.set(i64::from(audit.writable));
                }
                None => self.audit_up.set(1),
            }
            if let Some(rss) = resident_bytes() {
                self.memory.set(rss as i64);
            }
            if let Some(cpu) = process_cpu_seconds() {
                let wall = scrape.at.elapsed().as_secs_f64();
                if wall > 0.0 {
                    self.cpu
                        .set(100.0 * (cpu - scrape.cpu_seconds).max(0.0) / wall);
                }
                scrape.cpu_seconds = cpu;
                scrape.at = Instant::now();
            }
        }
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8(out).unwrap_or_default())
    }
}

/// Resident set size, from /proc (Linux).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// User + system CPU seconds of this process, from /proc (Linux).
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start at ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}
