//! The command line: flags and subcommands, each setting's flag and
//! `ENISHI_*` variable, and which of them the user actually gave.

use super::*;

/// Command-line flags; each setting also reads its `ENISHI_*` variable.
#[derive(Debug, Parser, Default)]
#[command(
    name = "enishi",
    version,
    about = "A PostgreSQL wire-protocol compatible analytical SQL database"
)]
pub struct Cli {
    /// Config file (TOML). Default: /etc/enishi/config.toml when it exists.
    #[arg(long, global = true, value_name = "FILE", env = "ENISHI_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, global = true, env = "ENISHI_HOST")]
    pub host: Option<IpAddr>,
    /// Port for PostgreSQL clients.
    #[arg(long, global = true, env = "ENISHI_PG_PORT")]
    pub pg_port: Option<u16>,
    /// Port of the HTTP API (/health, /ready, /status, /metrics).
    #[arg(long, global = true, env = "ENISHI_PORT")]
    pub port: Option<u16>,
    /// Threads that run connections and queries (0: one per CPU core).
    #[arg(long, global = true, value_name = "N", env = "ENISHI_WORKERS")]
    pub workers: Option<usize>,
    /// Most PostgreSQL connections logged in at once.
    #[arg(long, global = true, value_name = "N", env = "ENISHI_MAX_CONNECTIONS")]
    pub max_connections: Option<u32>,
    /// Most connections that have not logged in yet.
    #[arg(
        long,
        global = true,
        value_name = "N",
        env = "ENISHI_MAX_STARTUP_CONNECTIONS"
    )]
    pub max_startup_connections: Option<u32>,
    /// Close connections that have not logged in after this many seconds.
    #[arg(
        long,
        global = true,
        value_name = "SECS",
        env = "ENISHI_AUTHENTICATION_TIMEOUT"
    )]
    pub authentication_timeout_secs: Option<u64>,
    /// Directory that holds the data, or an s3://bucket/prefix URL.
    #[arg(
        long,
        global = true,
        value_name = "DIR|URL",
        env = "ENISHI_STORAGE_PATH"
    )]
    pub storage_path: Option<String>,
    /// ZSTD-compress data files (true/false).
    #[arg(long, global = true, value_name = "BOOL", env = "ENISHI_COMPRESSION")]
    pub compression: Option<bool>,
    /// Refuse writes past this many GiB of data (0: no limit).
    #[arg(long, global = true, value_name = "GB", env = "ENISHI_MAX_SIZE_GB")]
    pub max_size_gb: Option<f64>,
    /// How often (ms) tables look for other servers' commits.
    #[arg(
        long,
        global = true,
        value_name = "MS",
        env = "ENISHI_PROBE_INTERVAL_MS"
    )]
    pub probe_interval_ms: Option<u64>,
    /// Most results kept by the result cache (0 turns it off).
    #[arg(long, global = true, value_name = "ENTRIES", env = "ENISHI_CACHE_SIZE")]
    pub query_cache_size: Option<u64>,
    /// Largest Parquet bloom filter per column and row group, in bits (0: none).
    #[arg(long, global = true, value_name = "BITS", env = "ENISHI_BLOOM_SIZE")]
    pub bloom_filter_size: Option<u64>,
    /// Statements executing at once; more wait (0: no limit).
    #[arg(
        long,
        global = true,
        value_name = "N",
        env = "ENISHI_MAX_CONCURRENT_QUERIES"
    )]
    pub max_concurrent_queries: Option<u32>,
    /// Memory all running queries may hold: `auto` or a size (`4GB`).
    #[arg(long, global = true, value_name = "SIZE", env = "ENISHI_MEMORY_LIMIT")]
    pub memory_limit: Option<String>,
    /// Plan with statistics and filter scans at run time (true/false).
    #[arg(
        long,
        global = true,
        value_name = "BOOL",
        env = "ENISHI_ADAPTIVE_OPTIMIZATION"
    )]
    pub adaptive_optimization: Option<bool>,
    /// Write an audit record per connection and statement (true/false).
    #[arg(long, global = true, value_name = "BOOL", env = "ENISHI_ENABLE_AUDIT")]
    pub enable_audit: Option<bool>,
    /// File the audit records go to.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "ENISHI_AUDIT_LOG_PATH"
    )]
    pub audit_log_path: Option<String>,
    /// Close sessions idle for this many seconds (0: never).
    #[arg(
        long,
        global = true,
        value_name = "SECS",
        env = "ENISHI_SESSION_TIMEOUT"
    )]
    pub session_timeout_secs: Option<u64>,
    /// The superuser's password (better given by the variable than the flag).
    #[arg(
        long,
        global = true,
        value_name = "PASSWORD",
        env = "ENISHI_SUPERUSER_PASSWORD",
        hide_env_values = true
    )]
    pub superuser_password: Option<String>,
    /// Let loopback clients log in without a password (true/false; default:
    /// only when no superuser password is set).
    #[arg(
        long,
        global = true,
        value_name = "BOOL",
        env = "ENISHI_TRUST_LOOPBACK"
    )]
    pub trust_loopback: Option<bool>,
    /// Bearer token that authenticates calls to the admin HTTP API.
    #[arg(
        long,
        global = true,
        value_name = "TOKEN",
        env = "ENISHI_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,
    /// PEM certificate chain for TLS on the pg port.
    #[arg(long, global = true, value_name = "FILE", env = "ENISHI_TLS_CERT")]
    pub tls_cert_path: Option<String>,
    /// PEM private key for TLS on the pg port.
    #[arg(long, global = true, value_name = "FILE", env = "ENISHI_TLS_KEY")]
    pub tls_key_path: Option<String>,
    /// Refuse pg clients that do not use TLS (true/false).
    #[arg(long, global = true, value_name = "BOOL", env = "ENISHI_REQUIRE_TLS")]
    pub require_tls: Option<bool>,
    /// A second port serving only /metrics (0: none).
    #[arg(long, global = true, env = "ENISHI_METRICS_PORT")]
    pub metrics_port: Option<u16>,
    /// Directory for enishi.log (empty: stderr only).
    #[arg(long, global = true, value_name = "DIR", env = "ENISHI_LOG_DIR")]
    pub log_dir: Option<String>,
    /// Check the catalog and every table (log, data files, Parquet footers, row
    /// counts), print a report and exit: 0 when healthy, 1 when damaged.
    #[arg(long, global = true)]
    pub verify_data: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Where each flag's value came from (flag or variable), by argument id.
    #[arg(skip)]
    pub sources: BTreeMap<String, Origin>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run the server (what `enishi` without a command does).
    Serve,
    /// Print the effective configuration, each value with where it came from.
    Config,
    /// Copy a consistent snapshot of every table into DIR, while the server runs.
    /// Restore by starting a server with DIR as its storage path.
    Backup(BackupArgs),
}

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// An empty or new directory.
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
}

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Env(String),
    Flag(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => write!(f, "default"),
            Origin::File(path) => write!(f, "file {}", path.display()),
            Origin::Env(var) => write!(f, "env {var}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

impl Cli {
    /// Parses the process's arguments, remembering which came from a variable.
    pub fn parse_with_sources() -> Self {
        let command = Self::command();
        let matches = command.clone().get_matches();
        let mut cli = Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            let origin = match matches.value_source(id) {
                Some(clap::parser::ValueSource::EnvVariable) => Origin::Env(
                    arg.get_env()
                        .map(|v| v.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                ),
                Some(clap::parser::ValueSource::CommandLine) => {
                    Origin::Flag(format!("--{}", arg.get_long().unwrap_or(id)))
                }
                _ => continue,
            };
            cli.sources.insert(id.to_string(), origin);
        }
        cli
    }

    /// The settings given as flags or variables: (argument id, config key, value).
    pub(super) fn overrides(
        &self,
    ) -> Result<Vec<(&'static str, &'static str, toml::Value)>, ConfigError> {
        let mut out = Vec::new();
        macro_rules! layer {
            ($($field:ident => $key:literal),* $(,)?) => {$(
                if let Some(value) = &self.$field {
                    let value = toml::Value::try_from(value).map_err(|e| {
                        ConfigError::Invalid(format!("{}: {e}", $key))
                    })?;
                    out.push((stringify!($field), $key, value));
                }
            )*};
        }
        layer!(
            host => "server.host",
            pg_port => "server.pg_port",
            port => "server.port",
            workers => "server.workers",
            max_connections => "server.max_connections",
            max_startup_connections => "server.max_startup_connections",
            authentication_timeout_secs => "server.authentication_timeout_secs",
            storage_path => "storage.path",
            compression => "storage.compression",
            max_size_gb => "storage.max_size_gb",
            probe_interval_ms => "storage.probe_interval_ms",
            query_cache_size => "performance.query_cache_size",
            bloom_filter_size => "performance.bloom_filter_size",
            max_concurrent_queries => "performance.max_concurrent_queries",
            memory_limit => "performance.memory_limit",
            adaptive_optimization => "performance.adaptive_optimization",
            enable_audit => "security.enable_audit",
            audit_log_path => "security.audit_log_path",
            session_timeout_secs => "security.session_timeout_secs",
            superuser_password => "security.superuser_password",
            trust_loopback => "security.trust_loopback",
            admin_token => "security.admin_token",
            tls_cert_path => "security.tls_cert_path",
            tls_key_path => "security.tls_key_path",
            require_tls => "security.require_tls",
            metrics_port => "monitoring.metrics_port",
            log_dir => "monitoring.log_dir",
        );
        Ok(out)
    }
}
