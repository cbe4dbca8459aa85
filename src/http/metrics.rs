//! Prometheus metrics. Values kept elsewhere as plain counters (the result
//! cache's) are copied into the registry when it is scraped.

use std::sync::Mutex;
use std::sync::atomic::Ordering;

use enishi_sql::Engine;
use prometheus::{Encoder, Gauge, IntCounter, IntGauge, Opts, Registry, TextEncoder};

pub struct Metrics {
    registry: Registry,
    cache: CacheMetrics,
    /// Serializes scrapes (counters are advanced by the difference).
    scrape: Mutex<()>,
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
        let counter = |name: &str, help: &str| -> prometheus::Result<IntCounter> {
            let c = IntCounter::with_opts(Opts::new(name, help))?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let gauge = |name: &str, help: &str| -> prometheus::Result<IntGauge> {
            let g = IntGauge::with_opts(Opts::new(name, help))?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let hit_ratio = Gauge::with_opts(Opts::new(
            "enishi_cache_hit_ratio",
            "Result cache hits over lookups since start",
        ))?;
        registry.register(Box::new(hit_ratio.clone()))?;
        let cache = CacheMetrics {
            hit_ratio,
            hits: counter(
                "enishi_cache_hits_total",
                "Queries answered from the result cache",
            )?,
            misses: counter(
                "enishi_cache_misses_total",
                "Cacheable queries not found in the result cache",
            )?,
            bypasses: counter(
                "enishi_cache_bypasses_total",
                "Queries that may not be cached (volatile functions, catalog tables, writing transactions)",
            )?,
            evictions: counter(
                "enishi_cache_evictions_total",
                "Results evicted from the result cache to respect its limits",
            )?,
            too_large: counter(
                "enishi_cache_too_large_total",
                "Results not cached because they exceeded the per-entry limit",
            )?,
            entries: gauge("enishi_cache_entries", "Results held by the result cache")?,
            bytes: gauge("enishi_cache_bytes", "Bytes held by the result cache")?,
        };
        Ok(Self {
            registry,
            cache,
            scrape: Mutex::new(()),
        })
    }

    /// The text exposition of every metric, current as of now.
    pub fn render(&self, engine: &Engine) -> prometheus::Result<String> {
        {
            let _scrape = self.scrape.lock().expect("scrape lock");
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
        }
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8(out).unwrap_or_default())
    }
}
