//! Configuration: one struct tree, defaults in one place.
//!
//! Precedence, lowest first: built-in defaults, the config file (`--config FILE`, or
//! `/etc/enishi/config.toml` when it exists), `ENISHI_*` environment variables, then
//! command-line flags. clap resolves the last two (a flag beats its variable); this
//! module lays the result over the file as TOML values, so every layer is checked by
//! the same deserializer and each key remembers where its value came from.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use serde::{Deserialize, Serialize};

mod cli;

pub use cli::{BackupArgs, Cli, Command, Origin};

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/enishi/config.toml";

/// Every key of the config file. `config/enishi.toml` lists them with their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub performance: PerformanceConfig,
    pub security: SecurityConfig,
    pub monitoring: MonitoringConfig,
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
    /// Threads that run connections and queries (0: one per CPU core).
    pub workers: usize,
    /// Most PostgreSQL connections logged in at once; more are refused with 53300.
    pub max_connections: u32,
    /// Most connections that have not logged in yet (TLS, start-up, password
    /// exchange); more are refused with 53300. Kept apart from
    /// `max_connections` so that sockets that never log in cannot take the
    /// places of sessions.
    pub max_startup_connections: u32,
    /// A connection that has not logged in this many seconds after it was
    /// accepted is closed (PostgreSQL's `authentication_timeout`).
    pub authentication_timeout_secs: u64,
    /// Default `statement_timeout` of every session, in seconds (0: none).
    pub timeout_secs: u64,
    /// On SIGTERM, how long open connections may finish before the server exits.
    pub drain_timeout_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 8080,
            pg_port: 5432,
            workers: 0,
            max_connections: 1000,
            max_startup_connections: 1000,
            authentication_timeout_secs: 60,
            timeout_secs: 0,
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
    /// Besides the storage root, where external tables and server-side COPY
    /// may read and write: directories or `s3://bucket/prefix` URLs.
    pub external_locations: Vec<String>,
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
            external_locations: Vec::new(),
            s3: S3Config::default(),
        }
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
    /// Statements executing at once; more wait for a turn (0: no limit).
    pub max_concurrent_queries: u32,
    /// Plan with table statistics and narrow scans at run time with filters
    /// learned from joins and top-k sorts.
    pub adaptive_optimization: bool,
    /// Memory all running queries may hold together: `auto` (half of the
    /// machine's or the container's memory) or a size such as `4GB`, `512MiB`
    /// or a number of bytes. Sorts, aggregates and joins spill to disk past
    /// it; what cannot spill fails with 53200.
    pub memory_limit: String,
}

impl Default for PerformanceConfig {
    fn default() -> Self {
        Self {
            query_cache_size: 10_000,
            query_cache_max_bytes: 256 << 20,
            query_cache_entry_max_bytes: 16 << 20,
            bloom_filter_size: 0,
            max_concurrent_queries: 0,
            adaptive_optimization: true,
            memory_limit: "auto".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Write one audit record per connection and statement.
    pub enable_audit: bool,
    /// Where audit records go (empty: `<log_dir>/audit.log`).
    pub audit_log_path: String,
    /// Bytes of audit records that may wait for the writer; past it, new
    /// statements are refused with 53000 until it catches up.
    pub audit_queue_max_bytes: u64,
    /// Most sessions (logged-in connections) at once; more are refused with 53300.
    pub max_sessions: u32,
    /// Close a session idle for this many seconds with 57P05 (0: never).
    pub session_timeout_secs: u64,
    /// The superuser's password (empty: none, and only loopback clients are
    /// let in, without a password).
    pub superuser_password: String,
    /// Let clients on this machine log in as any role without a password.
    /// Unset: on exactly when no superuser password is configured, for the
    /// zero-config local start.
    pub trust_loopback: Option<bool>,
    /// Bearer token of the admin HTTP API (empty: the admin API is off).
    pub admin_token: String,
    /// PEM certificate chain and private key for TLS on the pg port (both or neither).
    pub tls_cert_path: String,
    pub tls_key_path: String,
    /// Refuse clients that do not use TLS.
    pub require_tls: bool,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            enable_audit: false,
            audit_log_path: String::new(),
            audit_queue_max_bytes: 64 << 20,
            max_sessions: 1000,
            session_timeout_secs: 0,
            superuser_password: String::new(),
            trust_loopback: None,
            admin_token: String::new(),
            tls_cert_path: String::new(),
            tls_key_path: String::new(),
            require_tls: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitoringConfig {
    /// A second port serving only /metrics (0, or server.port, for none).
    pub metrics_port: u16,
    /// Serve Prometheus metrics at all (on server.port and metrics_port).
    pub enable_prometheus: bool,
    /// Log filter when `RUST_LOG` is not set.
    pub log_level: String,
    /// Directory for `enishi.log` (empty: log to stderr only).
    pub log_dir: String,
    /// Seconds between background probes of the object store; /ready fails
    /// while the last probe failed.
    pub health_check_interval_secs: u64,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        Self {
            metrics_port: 9090,
            enable_prometheus: true,
            log_level: "info".into(),
            log_dir: String::new(),
            health_check_interval_secs: 30,
        }
    }
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

impl SecurityConfig {
    /// Whether loopback clients log in without a password: `trust_loopback`,
    /// else exactly when no superuser password is configured.
    pub fn trusts_loopback(&self) -> bool {
        self.trust_loopback
            .unwrap_or(self.superuser_password.is_empty())
    }
}

impl StorageConfig {
    /// `max_size_gb` in bytes, if there is a limit.
    pub fn max_size_bytes(&self) -> Option<u64> {
        (self.max_size_gb > 0.0).then_some((self.max_size_gb * (1u64 << 30) as f64) as u64)
    }
}

/// The effective configuration and where each key's value came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// The config file read, if any.
    pub file: Option<PathBuf>,
    /// Dotted key (`server.port`) → origin, for every key that has a value.
    pub origins: BTreeMap<String, Origin>,
}

/// What replaces a value that is not shown.
const REDACTED: &str = "<redacted>";

impl Config {
    /// A copy fit to show operators: secrets (passwords, tokens, storage
    /// credentials) replaced.
    pub fn redacted(&self) -> Self {
        let mut shown = self.clone();
        let s3 = &mut shown.storage.s3;
        for credential in [&mut s3.access_key_id, &mut s3.secret_access_key] {
            if credential.is_some() {
                *credential = Some(REDACTED.into());
            }
        }
        for secret in [
            &mut shown.security.superuser_password,
            &mut shown.security.admin_token,
        ] {
            if !secret.is_empty() {
                *secret = REDACTED.into();
            }
        }
        shown
    }

    /// A copy fit to show anyone who can reach the HTTP port: also without
    /// where the data, logs and keys are, or the object store's endpoint.
    pub fn public(&self) -> Self {
        let mut shown = self.redacted();
        for path in [
            &mut shown.storage.path,
            &mut shown.security.audit_log_path,
            &mut shown.security.tls_cert_path,
            &mut shown.security.tls_key_path,
            &mut shown.monitoring.log_dir,
        ] {
            if !path.is_empty() {
                *path = REDACTED.into();
            }
        }
        for location in &mut shown.storage.external_locations {
            *location = REDACTED.into();
        }
        if shown.storage.s3.endpoint.is_some() {
            shown.storage.s3.endpoint = Some(REDACTED.into());
        }
        shown
    }

    /// The configuration as JSON for the admin (`/status` with the admin
    /// token), secrets replaced.
    pub fn redacted_json(&self) -> serde_json::Value {
        serde_json::to_value(self.redacted()).unwrap_or_default()
    }

    /// The configuration as JSON for `/status` without the admin token:
    /// neither secrets nor paths.
    pub fn public_json(&self) -> serde_json::Value {
        serde_json::to_value(self.public()).unwrap_or_default()
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
        Ok(Self::load_with_origins(cli)?.config)
    }

    /// Builds the effective configuration, remembering each value's origin.
    pub fn load_with_origins(cli: &Cli) -> Result<Loaded, ConfigError> {
        let file = match &cli.config {
            Some(path) => Some(path.clone()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_PATH)).filter(|p| p.exists()),
        };
        let mut origins = BTreeMap::new();
        let defaults = toml::Table::try_from(Config::default()).expect("defaults serialize");
        for key in leaf_keys(&defaults) {
            origins.insert(key, Origin::Default);
        }
        let mut table = toml::Table::new();
        if let Some(path) = &file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            // Parse the file alone first, so its errors name the file.
            Self::from_toml(&text, path)?;
            table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path: path.clone(),
                message: e.to_string(),
            })?;
            for key in leaf_keys(&table) {
                origins.insert(key, Origin::File(path.clone()));
            }
        }
        if cli.superuser_password.as_deref() == Some("") {
            return Err(ConfigError::Invalid(
                "security.superuser_password is given empty (--superuser-password or ENISHI_SUPERUSER_PASSWORD): \
                 set a password, or leave it unset to let only clients on this machine in"
                    .into(),
            ));
        }
        for (id, key, value) in cli.overrides()? {
            set_key(&mut table, key, value);
            let origin = cli
                .sources
                .get(id)
                .cloned()
                .unwrap_or_else(|| Origin::Flag(format!("--{}", id.replace('_', "-"))));
            origins.insert(key.to_string(), origin);
        }
        let config: Config = table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string().trim().to_string()))?;
        config.validate()?;
        Ok(Loaded {
            config,
            file,
            origins,
        })
    }

    /// Cross-field and range rules that types alone cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if let Err(why) = memory_limit_bytes(&self.performance.memory_limit) {
            return invalid(why);
        }
        if self.storage.path.is_empty() {
            return invalid("storage.path must not be empty".into());
        }
        if !(self.storage.max_size_gb >= 0.0 && self.storage.max_size_gb.is_finite()) {
            return invalid(format!(
                "storage.max_size_gb must be 0 (no limit) or a positive number, not {}",
                self.storage.max_size_gb
            ));
        }
        if self.server.max_connections == 0
            || self.server.max_startup_connections == 0
            || self.security.max_sessions == 0
        {
            return invalid(
                "server.max_connections, server.max_startup_connections and security.max_sessions must be at least 1".into(),
            );
        }
        let password = &self.security.superuser_password;
        if !password.is_empty() && password.trim().is_empty() {
            return invalid(
                "security.superuser_password is only blanks: set a real password, or leave it empty"
                    .into(),
            );
        }
        if self.security.audit_queue_max_bytes == 0 {
            return invalid("security.audit_queue_max_bytes must be at least 1".into());
        }
        if self.server.authentication_timeout_secs == 0 {
            return invalid("server.authentication_timeout_secs must be at least 1".into());
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.monitoring.log_level) {
            return invalid(format!(
                "monitoring.log_level {:?} is not a log filter: {e}",
                self.monitoring.log_level
            ));
        }
        if self.security.enable_audit && self.audit_log_path().is_none() {
            return invalid(
                "security.enable_audit needs security.audit_log_path or monitoring.log_dir".into(),
            );
        }
        Ok(())
    }

    /// The audit log's file: `security.audit_log_path`, else `<log_dir>/audit.log`.
    pub fn audit_log_path(&self) -> Option<PathBuf> {
        if !self.security.audit_log_path.is_empty() {
            Some(PathBuf::from(&self.security.audit_log_path))
        } else if !self.monitoring.log_dir.is_empty() {
            Some(Path::new(&self.monitoring.log_dir).join("audit.log"))
        } else {
            None
        }
    }
}

impl Loaded {
    /// The effective configuration as TOML, each value followed by its origin
    /// (`enishi config`). Secrets are redacted.
    pub fn render(&self) -> String {
        let table = toml::Table::try_from(self.config.redacted()).expect("config serializes");
        let mut out = String::new();
        render_table(&table, "", &self.origins, &mut out);
        out
    }
}

/// The keys whose values differ between two configurations, with the old and
/// new values (secrets redacted), for logging a reload.
pub fn differences(old: &Config, new: &Config) -> Vec<(String, String, String)> {
    let flat = |c: &Config| -> BTreeMap<String, String> {
        let table = toml::Table::try_from(c.redacted()).expect("config serializes");
        let mut out = BTreeMap::new();
        flatten(&table, "", &mut out);
        out
    };
    let (old, new) = (flat(old), flat(new));
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| {
            let show = |m: &BTreeMap<String, String>| {
                m.get(k).cloned().unwrap_or_else(|| "(unset)".into())
            };
            (k.clone(), show(&old), show(&new))
        })
        .collect()
}

fn flatten(table: &toml::Table, prefix: &str, out: &mut BTreeMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(inner) => flatten(inner, &key, out),
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

fn render_table(
    table: &toml::Table,
    prefix: &str,
    origins: &BTreeMap<String, Origin>,
    out: &mut String,
) {
    if !prefix.is_empty() {
        out.push_str(&format!("\n[{prefix}]\n"));
    }
    let key_of = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    for (k, v) in table {
        if !v.is_table() {
            let key = key_of(k);
            let origin = origins.get(&key).cloned().unwrap_or(Origin::Default);
            out.push_str(&format!("{k} = {v}  # {origin}\n"));
        }
    }
    for (k, v) in table {
        if let toml::Value::Table(inner) = v {
            render_table(inner, &key_of(k), origins, out);
        }
    }
}

/// Dotted names of the non-table values in `table`.
fn leaf_keys(table: &toml::Table) -> Vec<String> {
    let mut keys = Vec::new();
    for (k, v) in table {
        match v {
            toml::Value::Table(inner) => {
                keys.extend(leaf_keys(inner).into_iter().map(|sub| format!("{k}.{sub}")))
            }
            _ => keys.push(k.clone()),
        }
    }
    keys
}

/// Sets `section.key` in `table`, creating the section.
fn set_key(table: &mut toml::Table, dotted: &str, value: toml::Value) {
    let (section, key) = dotted.split_once('.').expect("a section.key name");
    let entry = table
        .entry(section.to_string())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(inner) = entry {
        inner.insert(key.to_string(), value);
    }
}

/// The bytes `performance.memory_limit` stands for: `auto` is half of the
/// memory the server may use (the container's limit when there is one, else
/// the machine's); otherwise a number with an optional unit (`B`, `KB`,
/// `MB`, `GB`, `TB`, or `KiB` … `TiB`, case-insensitive).
pub fn memory_limit_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("auto") {
        return Ok(available_memory_bytes() / 2);
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| {
        format!("performance.memory_limit must be auto or a size such as 4GB, not {text:?}")
    })?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" | "k" => 1024.0,
        "mib" | "m" => 1024.0 * 1024.0,
        "gib" | "g" => 1024.0 * 1024.0 * 1024.0,
        "tib" | "t" => 1024.0f64.powi(4),
        other => {
            return Err(format!(
                "performance.memory_limit: unknown unit {other:?} (use B, KB, MB, GB, TB or KiB … TiB)"
            ));
        }
    };
    let bytes = number * scale;
    if bytes < (16u64 << 20) as f64 {
        return Err(format!(
            "performance.memory_limit must be at least 16MiB, not {text:?}"
        ));
    }
    Ok(bytes as u64)
}

/// Memory this process may use: a cgroup (container, systemd) limit when set,
/// else the machine's total.
fn available_memory_bytes() -> u64 {
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok());
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .map(|kib| kib * 1024)
        });
    match (cgroup, total) {
        (Some(c), Some(t)) => c.min(t),
        (Some(c), None) => c,
        (None, Some(t)) => t,
        (None, None) => 8 << 30,
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
    fn manual_example_file_is_accepted() {
        // The operations manual's /etc/enishi/config.toml, verbatim.
        let text = r#"
[server]
port = 8080
host = "0.0.0.0"
workers = 8
max_connections = 10000
timeout_secs = 30

[storage]
path = "/var/lib/enishi/data"
max_size_gb = 500
compression = true
sync_writes = false

[performance]
query_cache_size = 10000000
bloom_filter_size = 100000000
max_concurrent_queries = 1000
adaptive_optimization = true

[security]
enable_audit = true
audit_log_path = "/var/log/enishi/audit.log"
max_sessions = 10000
session_timeout_secs = 3600

[monitoring]
metrics_port = 9090
enable_prometheus = true
log_level = "info"
health_check_interval_secs = 30
"#;
        let config = Config::from_toml(text, Path::new("manual.toml")).unwrap();
        config.validate().unwrap();
        assert_eq!(config.server.workers, 8);
        assert_eq!(config.storage.max_size_gb, 500.0);
        assert_eq!(config.security.session_timeout_secs, 3600);
    }

    #[test]
    fn unknown_keys_are_rejected_by_name() {
        let err = Config::from_toml("[server]\npg_prot = 1\n", Path::new("x.toml")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("pg_prot"), "{text}");
        assert!(text.contains("pg_port"), "hint lists valid keys: {text}");
    }

    #[test]
    fn flags_override_the_file_and_origins_say_so() {
        let dir = std::env::temp_dir().join(format!("enishi-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(&file, "[server]\npg_port = 7000\nhost = \"0.0.0.0\"\n").unwrap();
        let mut cli = Cli {
            config: Some(file.clone()),
            pg_port: Some(7001),
            log_dir: Some("/tmp/logs".into()),
            ..Cli::default()
        };
        cli.sources
            .insert("log_dir".into(), Origin::Env("ENISHI_LOG_DIR".into()));
        let loaded = Config::load_with_origins(&cli).unwrap();
        assert_eq!(loaded.config.server.pg_port, 7001);
        assert_eq!(loaded.config.server.host.to_string(), "0.0.0.0");
        assert_eq!(loaded.config.monitoring.log_dir, "/tmp/logs");
        let origin = |k: &str| loaded.origins[k].to_string();
        assert_eq!(origin("server.pg_port"), "flag --pg-port");
        assert_eq!(origin("server.host"), format!("file {}", file.display()));
        assert_eq!(origin("monitoring.log_dir"), "env ENISHI_LOG_DIR");
        assert_eq!(origin("server.port"), "default");
        let text = loaded.render();
        assert!(text.contains("pg_port = 7001  # flag --pg-port"), "{text}");
        assert!(text.contains("[monitoring]"), "{text}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn secrets_are_redacted() {
        let mut config = Config::default();
        config.storage.s3.secret_access_key = Some("hunter2".into());
        config.storage.s3.access_key_id = Some("hunter2".into());
        config.security.superuser_password = "hunter2".into();
        config.security.admin_token = "hunter2".into();
        let loaded = Loaded {
            config: config.clone(),
            file: None,
            origins: BTreeMap::new(),
        };
        assert!(!loaded.render().contains("hunter2"));
        assert!(!config.redacted_json().to_string().contains("hunter2"));
        // The public view hides paths too.
        config.storage.path = "/srv/secret-place".into();
        config.monitoring.log_dir = "/srv/secret-place/logs".into();
        config.storage.external_locations = vec!["/srv/secret-place/lake".into()];
        let public = config.public_json().to_string();
        assert!(!public.contains("secret-place") && !public.contains("hunter2"));
        assert!(config.redacted_json().to_string().contains("secret-place"));
    }

    #[test]
    fn bad_values_are_rejected() {
        let cli = Cli {
            max_connections: Some(0),
            ..Cli::default()
        };
        assert!(Config::load(&cli).is_err());
        let cli = Cli {
            enable_audit: Some(true),
            ..Cli::default()
        };
        let err = Config::load(&cli).unwrap_err().to_string();
        assert!(err.contains("audit_log_path"), "{err}");
    }
}
