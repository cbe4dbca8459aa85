//! Configuration: one struct tree, defaults in one place.
//!
//! Precedence, lowest first: built-in defaults, the config file (`--config FILE`, or
//! `/etc/enishi/config.toml` when it exists), `ENISHI_*` environment variables, then
//! command-line flags. clap resolves the last two (a flag beats its variable); this
//! module layers the result over the file.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::Parser;
use serde::{Deserialize, Serialize};

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/enishi/config.toml";

/// Every key of the config file. `config/enishi.toml` lists them with their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub performance: PerformanceConfig,
    pub monitoring: MonitoringConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitoringConfig {
    /// A second port serving only /metrics (0, or server.port, for none).
    pub metrics_port: u16,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        Self { metrics_port: 9090 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PerformanceConfig {
    /// Most results kept by the result cache (0 turns it off).
    pub query_cache_size: u64,
    /// Most bytes of results kept by the result cache.
    pub query_cache_max_bytes: u64,
    /// Results larger than this are streamed and not cached.
    pub query_cache_entry_max_bytes: u64,
    /// Largest Parquet bloom filter per column and row group, in bits (0: none).
    pub bloom_filter_size: u64,
}

impl Default for PerformanceConfig {
    fn default() -> Self {
        Self {
            query_cache_size: 10_000,
            query_cache_max_bytes: 256 << 20,
            query_cache_entry_max_bytes: 16 << 20,
            bloom_filter_size: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the listeners bind to.
    pub host: IpAddr,
    /// Port of the HTTP API (health, readiness, status, metrics).
    pub port: u16,
    /// Port of the PostgreSQL wire protocol.
    pub pg_port: u16,
    /// On SIGTERM, how long open connections may finish before the server exits.
    pub drain_timeout_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 8080,
            pg_port: 5432,
            drain_timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Directory that holds the data, or an `s3://bucket/prefix` URL.
    pub path: String,
    /// fsync data files and log entries before a write is acknowledged.
    pub sync_writes: bool,
    /// ZSTD-compress data files (false: uncompressed).
    pub compression: bool,
    /// Writes that would take the stored data past this many GiB fail (0: no limit).
    pub max_size_gb: f64,
    /// How often (ms) a table looks for commits made by other servers sharing
    /// the storage (0: before every query that reads it).
    pub probe_interval_ms: u64,
    /// Seconds between background maintenance passes (0 disables them).
    pub maintenance_interval_secs: u64,
    /// Compact a table's small files once it has this many data files.
    pub compact_min_files: usize,
    /// Checkpoint a table's log after this many commits.
    pub checkpoint_interval_commits: u64,
    /// Remove files no table version needs once they are this old.
    pub vacuum_retention_hours: u64,
    /// How to reach S3 when `path` is an `s3://` URL.
    pub s3: S3Config,
}

/// S3 connection settings; unset keys come from the `AWS_*` environment variables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct S3Config {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub allow_http: Option<bool>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            path: "./data".into(),
            sync_writes: true,
            compression: true,
            max_size_gb: 0.0,
            probe_interval_ms: 1000,
            maintenance_interval_secs: 30,
            compact_min_files: 16,
            checkpoint_interval_commits: 10,
            vacuum_retention_hours: 168,
            s3: S3Config::default(),
        }
    }
}

/// Command-line flags; each also reads its `ENISHI_*` variable.
#[derive(Debug, Parser, Default)]
#[command(
    name = "enishi",
    version,
    about = "A PostgreSQL wire-protocol compatible analytical SQL database"
)]
pub struct Cli {
    /// Config file (TOML). Default: /etc/enishi/config.toml when it exists.
    #[arg(long, value_name = "FILE", env = "ENISHI_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "ENISHI_HOST")]
    pub host: Option<IpAddr>,
    /// Port for PostgreSQL clients.
    #[arg(long, env = "ENISHI_PG_PORT")]
    pub pg_port: Option<u16>,
    /// Port of the HTTP API (/health, /ready, /status, /metrics).
    #[arg(long, env = "ENISHI_PORT")]
    pub port: Option<u16>,
    /// Directory that holds the data, or an s3://bucket/prefix URL.
    #[arg(long, value_name = "DIR|URL", env = "ENISHI_STORAGE_PATH")]
    pub storage_path: Option<String>,
    /// ZSTD-compress data files (true/false).
    #[arg(long, value_name = "BOOL", env = "ENISHI_COMPRESSION")]
    pub compression: Option<bool>,
    /// Refuse writes past this many GiB of data (0: no limit).
    #[arg(long, value_name = "GB", env = "ENISHI_MAX_SIZE_GB")]
    pub max_size_gb: Option<f64>,
    /// Largest Parquet bloom filter per column and row group, in bits (0: none).
    #[arg(long, value_name = "BITS", env = "ENISHI_BLOOM_SIZE")]
    pub bloom_filter_size: Option<u64>,
    /// Most results kept by the result cache (0 turns it off).
    #[arg(long, value_name = "ENTRIES", env = "ENISHI_CACHE_SIZE")]
    pub query_cache_size: Option<u64>,
    /// How often (ms) tables look for other servers' commits.
    #[arg(long, value_name = "MS", env = "ENISHI_PROBE_INTERVAL_MS")]
    pub probe_interval_ms: Option<u64>,
    /// A second port serving only /metrics (0: none).
    #[arg(long, env = "ENISHI_METRICS_PORT")]
    pub metrics_port: Option<u16>,
    /// Check the catalog and every table (log, data files, Parquet footers, row
    /// counts), print a report and exit: 0 when healthy, 1 when damaged.
    #[arg(long)]
    pub verify_data: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl StorageConfig {
    /// `max_size_gb` in bytes, if there is a limit.
    pub fn max_size_bytes(&self) -> Option<u64> {
        (self.max_size_gb > 0.0).then_some((self.max_size_gb * (1u64 << 30) as f64) as u64)
    }
}

impl Config {
    /// The configuration as JSON for operators (`/status`), secrets replaced.
    pub fn redacted_json(&self) -> serde_json::Value {
        let mut shown = self.clone();
        if shown.storage.s3.secret_access_key.is_some() {
            shown.storage.s3.secret_access_key = Some("<redacted>".into());
        }
        serde_json::to_value(&shown).unwrap_or_default()
    }

    /// Parses a config file's text. Unknown keys are rejected, naming the key and the
    /// keys that are allowed there.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim().to_string(),
        })
    }

    /// Builds the effective configuration from the layers above.
    pub fn load(cli: &Cli) -> Result<Self, ConfigError> {
        let file = match &cli.config {
            Some(path) => Some(path.clone()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_PATH)).filter(|p| p.exists()),
        };
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                Self::from_toml(&text, &path)?
            }
            None => Self::default(),
        };
        if let Some(host) = cli.host {
            config.server.host = host;
        }
        if let Some(port) = cli.pg_port {
            config.server.pg_port = port;
        }
        if let Some(port) = cli.port {
            config.server.port = port;
        }
        if let Some(path) = &cli.storage_path {
            config.storage.path = path.clone();
        }
        if let Some(compression) = cli.compression {
            config.storage.compression = compression;
        }
        if let Some(gb) = cli.max_size_gb {
            config.storage.max_size_gb = gb;
        }
        if let Some(bits) = cli.bloom_filter_size {
            config.performance.bloom_filter_size = bits;
        }
        if let Some(entries) = cli.query_cache_size {
            config.performance.query_cache_size = entries;
        }
        if let Some(ms) = cli.probe_interval_ms {
            config.storage.probe_interval_ms = ms;
        }
        if let Some(port) = cli.metrics_port {
            config.monitoring.metrics_port = port;
        }
        config.validate()?;
        Ok(config)
    }

    /// Cross-field and range rules that types alone cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.storage.path.is_empty() {
            return Err(ConfigError::Invalid(
                "storage.path must not be empty".into(),
            ));
        }
        if !(self.storage.max_size_gb >= 0.0 && self.storage.max_size_gb.is_finite()) {
            return Err(ConfigError::Invalid(format!(
                "storage.max_size_gb must be 0 (no limit) or a positive number, not {}",
                self.storage.max_size_gb
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_file_lists_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/enishi.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(Config::from_toml(&text, &path).unwrap(), Config::default());
        // Every key the code knows appears in the file, so the file documents them all.
        let full = toml::to_string(&Config::default()).unwrap();
        let file_keys: toml::Table = toml::from_str(&text).unwrap();
        let code_keys: toml::Table = toml::from_str(&full).unwrap();
        assert_eq!(file_keys, code_keys);
    }

    #[test]
    fn unknown_keys_are_rejected_by_name() {
        let err = Config::from_toml("[server]\npg_prot = 1\n", Path::new("x.toml")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("pg_prot"), "{text}");
        assert!(text.contains("pg_port"), "hint lists valid keys: {text}");
    }

    #[test]
    fn flags_override_the_file() {
        let dir = std::env::temp_dir().join(format!("enishi-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(&file, "[server]\npg_port = 7000\nhost = \"0.0.0.0\"\n").unwrap();
        let cli = Cli {
            config: Some(file.clone()),
            pg_port: Some(7001),
            ..Cli::default()
        };
        let config = Config::load(&cli).unwrap();
        assert_eq!(config.server.pg_port, 7001);
        assert_eq!(config.server.host.to_string(), "0.0.0.0");
        std::fs::remove_dir_all(&dir).ok();
    }
}
