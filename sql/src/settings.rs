//! Session settings: what `SET`, `SHOW`, `RESET` and `current_setting()` read and write.
//!
//! Each connection owns one [`Settings`]; nothing here is shared, so a `SET` can never
//! leak into another session. The known parameters, their defaults and whether the
//! server reports them to the client (PostgreSQL's `GUC_REPORT`) live in [`PARAMS`].
//! Values are stored in the canonical spelling `SHOW` prints. Names are
//! case-insensitive; names with a dot (`myapp.flag`) are free-form, as in PostgreSQL.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

mod view;
pub use view::SettingRow;

/// The PostgreSQL release Enishi presents itself as. Drivers parse it.
pub const SERVER_VERSION: &str = "15.18";
/// `server_version_num` for [`SERVER_VERSION`].
pub const SERVER_VERSION_NUM: &str = "150018";

/// How a parameter's value is checked and canonicalised.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    /// Milliseconds; accepts units (ms, s, min, h, d) and prints PostgreSQL's short form.
    Millis,
    /// An amount of memory kept in kilobytes; a bare number counts units of
    /// `block_kb` (1 for `work_mem`, 8 for the page-sized ones). Accepts B, kB,
    /// MB, GB and TB and prints the largest unit that holds it exactly.
    Memory {
        block_kb: i64,
    },
    /// A planner cost or fraction.
    Real,
    Encoding,
    DateStyle,
    IntervalStyle,
    TimeZone,
    Isolation,
    ReadOnly,
}

struct Param {
    name: &'static str,
    default: &'static str,
    kind: Kind,
    /// Sent to the client as ParameterStatus at start-up and whenever it changes.
    report: bool,
}

const fn p(name: &'static str, default: &'static str, kind: Kind, report: bool) -> Param {
    Param {
        name,
        default,
        kind,
        report,
    }
}

/// Every parameter Enishi knows. `session_authorization` and `is_superuser` get their
/// value from the login; `server_version` and friends are fixed.
const PARAMS: &[Param] = &[
    p("application_name", "", Kind::Text, true),
    p("bytea_output", "hex", Kind::Text, false),
    p("client_encoding", "UTF8", Kind::Encoding, true),
    p("client_min_messages", "notice", Kind::Text, false),
    p("DateStyle", "ISO, MDY", Kind::DateStyle, true),
    // Enishi's own: serve repeated queries from the result cache.
    p("enishi.result_cache", "on", Kind::Bool, false),
    // PostgreSQL's planner switches, which scripts and tools set (pg_dump's
    // output, regression suites): accepted and shown, without effect, as
    // DataFusion plans by its own rules.
    p("enable_bitmapscan", "on", Kind::Bool, false),
    p("enable_gathermerge", "on", Kind::Bool, false),
    p("enable_hashagg", "on", Kind::Bool, false),
    p("enable_hashjoin", "on", Kind::Bool, false),
    p("enable_incremental_sort", "on", Kind::Bool, false),
    p("enable_indexonlyscan", "on", Kind::Bool, false),
    p("enable_indexscan", "on", Kind::Bool, false),
    p("enable_material", "on", Kind::Bool, false),
    p("enable_memoize", "on", Kind::Bool, false),
    p("enable_mergejoin", "on", Kind::Bool, false),
    p("enable_nestloop", "on", Kind::Bool, false),
    p("enable_parallel_append", "on", Kind::Bool, false),
    p("enable_parallel_hash", "on", Kind::Bool, false),
    p("enable_partition_pruning", "on", Kind::Bool, false),
    p("enable_partitionwise_aggregate", "off", Kind::Bool, false),
    p("enable_partitionwise_join", "off", Kind::Bool, false),
    p("enable_seqscan", "on", Kind::Bool, false),
    p("enable_sort", "on", Kind::Bool, false),
    p("enable_tidscan", "on", Kind::Bool, false),
    p("enable_async_append", "on", Kind::Bool, false),
    // The planner's cost model and its memory budgets, likewise accepted and
    // shown; DataFusion's memory pool is the server's `memory_limit`.
    p("cpu_index_tuple_cost", "0.005", Kind::Real, false),
    p("cpu_operator_cost", "0.0025", Kind::Real, false),
    p("cpu_tuple_cost", "0.01", Kind::Real, false),
    p("cursor_tuple_fraction", "0.1", Kind::Real, false),
    p(
        "effective_cache_size",
        "4GB",
        Kind::Memory { block_kb: 8 },
        false,
    ),
    p("hash_mem_multiplier", "2", Kind::Real, false),
    p("jit_above_cost", "100000", Kind::Real, false),
    p("jit_inline_above_cost", "500000", Kind::Real, false),
    p("jit_optimize_above_cost", "500000", Kind::Real, false),
    p(
        "maintenance_work_mem",
        "64MB",
        Kind::Memory { block_kb: 1 },
        false,
    ),
    p(
        "max_parallel_workers",
        "8",
        Kind::Int { min: 0, max: 1024 },
        false,
    ),
    p(
        "max_parallel_workers_per_gather",
        "2",
        Kind::Int { min: 0, max: 1024 },
        false,
    ),
    p(
        "min_parallel_index_scan_size",
        "512kB",
        Kind::Memory { block_kb: 8 },
        false,
    ),
    p(
        "min_parallel_table_scan_size",
        "8MB",
        Kind::Memory { block_kb: 8 },
        false,
    ),
    p("parallel_leader_participation", "on", Kind::Bool, false),
    p("parallel_setup_cost", "1000", Kind::Real, false),
    p("parallel_tuple_cost", "0.1", Kind::Real, false),
    p("plan_cache_mode", "auto", Kind::Text, false),
    p("random_page_cost", "4", Kind::Real, false),
    p("seq_page_cost", "1", Kind::Real, false),
    p("temp_buffers", "8MB", Kind::Memory { block_kb: 8 }, false),
    p("work_mem", "4MB", Kind::Memory { block_kb: 1 }, false),
    // Autovacuum's parameters, at PostgreSQL's defaults and fixed: Enishi
    // compacts tables by its own maintenance (see the operations manual).
    p("autovacuum", "on", Kind::ReadOnly, false),
    p(
        "autovacuum_analyze_scale_factor",
        "0.1",
        Kind::ReadOnly,
        false,
    ),
    p("autovacuum_analyze_threshold", "50", Kind::ReadOnly, false),
    p(
        "autovacuum_freeze_max_age",
        "200000000",
        Kind::ReadOnly,
        false,
    ),
    p("autovacuum_max_workers", "3", Kind::ReadOnly, false),
    p(
        "autovacuum_multixact_freeze_max_age",
        "400000000",
        Kind::ReadOnly,
        false,
    ),
    p("autovacuum_naptime", "1min", Kind::ReadOnly, false),
    p("autovacuum_vacuum_cost_delay", "2ms", Kind::ReadOnly, false),
    p("autovacuum_vacuum_cost_limit", "-1", Kind::ReadOnly, false),
    p(
        "autovacuum_vacuum_insert_scale_factor",
        "0.2",
        Kind::ReadOnly,
        false,
    ),
    p(
        "autovacuum_vacuum_insert_threshold",
        "1000",
        Kind::ReadOnly,
        false,
    ),
    p(
        "autovacuum_vacuum_scale_factor",
        "0.2",
        Kind::ReadOnly,
        false,
    ),
    p("autovacuum_vacuum_threshold", "50", Kind::ReadOnly, false),
    p("autovacuum_work_mem", "-1", Kind::ReadOnly, false),
    p("vacuum_freeze_min_age", "50000000", Kind::ReadOnly, false),
    p(
        "vacuum_freeze_table_age",
        "150000000",
        Kind::ReadOnly,
        false,
    ),
    // Settings of the SQL dialect that have one meaning here.
    p("array_nulls", "on", Kind::Bool, false),
    p("backslash_quote", "safe_encoding", Kind::Text, false),
    p("check_function_bodies", "on", Kind::Bool, false),
    p(
        "default_statistics_target",
        "100",
        Kind::Int { min: 1, max: 10000 },
        false,
    ),
    p("default_table_access_method", "heap", Kind::Text, false),
    p("default_tablespace", "", Kind::Text, false),
    p("escape_string_warning", "on", Kind::Bool, false),
    p("row_security", "on", Kind::Bool, false),
    p("temp_tablespaces", "", Kind::Text, false),
    p("transform_null_equals", "off", Kind::Bool, false),
    p(
        "default_transaction_isolation",
        "read committed",
        Kind::Isolation,
        false,
    ),
    p("default_transaction_read_only", "off", Kind::Bool, true),
    p(
        "extra_float_digits",
        "1",
        Kind::Int { min: -15, max: 3 },
        false,
    ),
    p(
        "idle_in_transaction_session_timeout",
        "0",
        Kind::Millis,
        false,
    ),
    p(
        "from_collapse_limit",
        "8",
        Kind::Int {
            min: 1,
            max: i32::MAX as i64,
        },
        false,
    ),
    p("geqo", "on", Kind::Bool, false),
    p(
        "geqo_threshold",
        "12",
        Kind::Int {
            min: 2,
            max: i32::MAX as i64,
        },
        false,
    ),
    p("in_hot_standby", "off", Kind::ReadOnly, true),
    p("integer_datetimes", "on", Kind::ReadOnly, true),
    p("IntervalStyle", "postgres", Kind::IntervalStyle, true),
    p("is_superuser", "on", Kind::ReadOnly, true),
    p("jit", "on", Kind::Bool, false),
    p(
        "join_collapse_limit",
        "8",
        Kind::Int {
            min: 1,
            max: i32::MAX as i64,
        },
        false,
    ),
    p("lc_collate", "C.UTF-8", Kind::ReadOnly, false),
    p("lc_ctype", "C.UTF-8", Kind::ReadOnly, false),
    p("lc_messages", "C.UTF-8", Kind::Text, false),
    p("lc_monetary", "C.UTF-8", Kind::Text, false),
    p("lc_numeric", "C.UTF-8", Kind::Text, false),
    p("lc_time", "C.UTF-8", Kind::Text, false),
    p("lock_timeout", "0", Kind::Millis, false),
    p("max_identifier_length", "63", Kind::ReadOnly, false),
    p("search_path", "\"$user\", public", Kind::Text, false),
    p("server_encoding", "UTF8", Kind::ReadOnly, true),
    p("server_version", SERVER_VERSION, Kind::ReadOnly, true),
    p(
        "server_version_num",
        SERVER_VERSION_NUM,
        Kind::ReadOnly,
        false,
    ),
    p("session_authorization", "postgres", Kind::ReadOnly, true),
    p("standard_conforming_strings", "on", Kind::Bool, true),
    p("statement_timeout", "0", Kind::Millis, false),
    // Commits are durable before they are acknowledged whatever this says.
    p("synchronous_commit", "on", Kind::Text, false),
    p("TimeZone", "UTC", Kind::TimeZone, true),
    p(
        "transaction_isolation",
        "read committed",
        Kind::Isolation,
        false,
    ),
    p("transaction_read_only", "off", Kind::Bool, false),
];

fn find(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// One session's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Keyed by lower-case name; holds only values that differ from the defaults,
    /// plus the per-login ones.
    values: BTreeMap<String, String>,
    /// Defaults the server's configuration sets (e.g. `statement_timeout` from
    /// `server.timeout_secs`); `RESET` returns to these.
    server_defaults: BTreeMap<&'static str, String>,
    /// The session's schema of temporary tables, once it has one: looked in
    /// first for relations, and what `pg_temp` stands for in the path.
    temp_schema: Option<String>,
}

/// A changed reported parameter, to be sent to the client as ParameterStatus.
pub type Reported = (&'static str, String);

impl Settings {
    /// Settings for a new session of `user`.
    pub fn new(user: &str, superuser: bool) -> Self {
        let mut values = BTreeMap::new();
        values.insert("session_authorization".into(), user.to_string());
        values.insert(
            "is_superuser".into(),
            if superuser { "on" } else { "off" }.into(),
        );
        Self {
            values,
            server_defaults: BTreeMap::new(),
            temp_schema: None,
        }
    }

    /// Makes `value` the default of `name` for this session: what it starts
    /// with and what `RESET` restores.
    pub fn set_server_default(&mut self, name: &str, value: &str) -> Result<()> {
        let param = find(name).ok_or_else(|| unknown(name))?;
        let value = canonical(param, value)?;
        self.server_defaults.insert(param.name, value);
        Ok(())
    }

    /// The value a parameter has when no one has set it.
    fn default_of(&self, param: &Param) -> String {
        self.server_defaults
            .get(param.name)
            .cloned()
            .unwrap_or_else(|| param.default.to_string())
    }

    /// The value `SHOW name` prints, or 42704 for an unknown parameter.
    pub fn get(&self, name: &str) -> Result<String> {
        let key = name.to_ascii_lowercase();
        if let Some(v) = self.values.get(&key) {
            return Ok(v.clone());
        }
        match find(name) {
            Some(param) => Ok(self.default_of(param)),
            None => Err(unknown(name)),
        }
    }

    /// The name `SHOW` uses as its column heading (PostgreSQL's spelling).
    pub fn canonical_name(name: &str) -> String {
        find(name)
            .map(|p| p.name.to_string())
            .unwrap_or_else(|| name.to_ascii_lowercase())
    }

    /// Sets a parameter, returning the ParameterStatus to send if it is reported.
    pub fn set(&mut self, name: &str, value: &str) -> Result<Option<Reported>> {
        let key = name.to_ascii_lowercase();
        let Some(param) = find(name) else {
            if key.contains('.') {
                self.values.insert(key, value.to_string());
                return Ok(None);
            }
            return Err(unknown(name));
        };
        let value = canonical(param, value)?;
        let changed = self.get(param.name)? != value;
        self.values.insert(key, value.clone());
        Ok((param.report && changed).then_some((param.name, value)))
    }

    /// Restores a parameter's default (`RESET name`, `SET name TO DEFAULT`).
    pub fn reset(&mut self, name: &str) -> Result<Option<Reported>> {
        match find(name) {
            Some(param) if matches!(param.kind, Kind::ReadOnly) => Err(read_only(param.name)),
            Some(param) => self.set(param.name, &self.default_of(param)),
            None if name.contains('.') => {
                self.values.remove(&name.to_ascii_lowercase());
                Ok(None)
            }
            None => Err(unknown(name)),
        }
    }

    /// `RESET ALL`: every settable parameter back to its default.
    pub fn reset_all(&mut self) -> Vec<Reported> {
        let mut reported = Vec::new();
        for param in PARAMS.iter().filter(|p| !matches!(p.kind, Kind::ReadOnly)) {
            if let Ok(Some(r)) = self.set(param.name, &self.default_of(param)) {
                reported.push(r);
            }
        }
        self.values.retain(|k, _| !k.contains('.'));
        reported
    }

    /// The reported parameters and their values, for start-up.
    pub fn reported(&self) -> Vec<Reported> {
        PARAMS
            .iter()
            .filter(|p| p.report)
            .map(|p| (p.name, self.get(p.name).unwrap_or_default()))
            .collect()
    }

    /// Every parameter with its value, for `SHOW ALL` and `pg_settings`.
    pub fn all(&self) -> Vec<(String, String)> {
        PARAMS
            .iter()
            .map(|p| (p.name.to_string(), self.get(p.name).unwrap_or_default()))
            .collect()
    }

    /// The session time zone, as a name arrow understands.
    pub fn time_zone(&self) -> String {
        self.get("TimeZone").unwrap_or_else(|_| "UTC".into())
    }

    /// `statement_timeout` in milliseconds; 0 means none.
    pub fn statement_timeout_ms(&self) -> u64 {
        self.get("statement_timeout")
            .ok()
            .and_then(|v| parse_millis(&v))
            .unwrap_or(0)
    }

    /// `extra_float_digits`; values above 0 ask for shortest round-trip output.
    pub fn extra_float_digits(&self) -> i64 {
        self.get("extra_float_digits")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
    }

    /// The schemas of `search_path`, in order, `$user` read as the session
    /// user's name and `pg_temp` as the session's temporary schema (left out
    /// while it has none).
    pub fn search_path(&self) -> Vec<String> {
        let path = self.get("search_path").unwrap_or_default();
        let user = self.get("session_authorization").unwrap_or_default();
        path.split(',')
            .filter_map(|s| {
                let s = s.trim();
                // `$user` is the schema named as the session's user, if any.
                if s == "$user" || s == "\"$user\"" {
                    Some(user.clone())
                } else if s.trim_matches('"') == "pg_temp" {
                    self.temp_schema.clone()
                } else {
                    Some(s.trim_matches('"').to_string())
                }
            })
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// The schemas a bare relation name is looked up in, in order: the
    /// session's temporary schema and pg_catalog first unless the search_path
    /// places them, then the path.
    pub fn lookup_path(&self) -> Vec<String> {
        let mut path = self.search_path();
        if !path.iter().any(|s| s == "pg_catalog") {
            path.insert(0, "pg_catalog".to_string());
        }
        if let Some(temp) = &self.temp_schema
            && !path.contains(temp)
        {
            path.insert(0, temp.clone());
        }
        path
    }

    /// The session's temporary schema, once it has one.
    pub fn temp_schema(&self) -> Option<&str> {
        self.temp_schema.as_deref()
    }

    /// Records that the session's temporary schema exists.
    pub fn set_temp_schema(&mut self, name: &str) {
        self.temp_schema = Some(name.to_string());
    }
}

fn unknown(name: &str) -> Error {
    Error::UndefinedObject(format!("unrecognized configuration parameter \"{name}\""))
}

fn read_only(name: &str) -> Error {
    Error::ActiveTransaction(format!("parameter \"{name}\" cannot be changed"))
}

fn invalid(name: &str, value: &str) -> Error {
    Error::InvalidParameterValue(format!(
        "invalid value for parameter \"{name}\": \"{value}\""
    ))
}

fn canonical(param: &Param, value: &str) -> Result<String> {
    // Start-up packets may carry quoted values (asyncpg sends 'utf-8').
    let v = value.trim();
    let v = v
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .unwrap_or(v);
    match param.kind {
        Kind::Text => Ok(v.to_string()),
        Kind::ReadOnly => {
            if v == param.default {
                Ok(v.to_string())
            } else {
                Err(read_only(param.name))
            }
        }
        Kind::Bool => match v.to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" | "1" | "t" | "y" => Ok("on".into()),
            "off" | "false" | "no" | "0" | "f" | "n" => Ok("off".into()),
            _ => Err(Error::InvalidParameterValue(format!(
                "parameter \"{}\" requires a Boolean value",
                param.name
            ))),
        },
        Kind::Int { min, max } => match v.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n.to_string()),
            Ok(n) => Err(Error::InvalidParameterValue(format!(
                "{n} is outside the valid range for parameter \"{}\" ({min} .. {max})",
                param.name
            ))),
            Err(_) => Err(Error::InvalidParameterValue(format!(
                "invalid value for parameter \"{}\": \"{v}\"",
                param.name
            ))),
        },
        Kind::Millis => match parse_millis(v) {
            Some(ms) => Ok(format_millis(ms)),
            None => Err(invalid(param.name, v)),
        },
        Kind::Memory { block_kb } => match parse_kilobytes(v, block_kb) {
            Some(kb) => Ok(format_kilobytes(kb)),
            None => Err(invalid(param.name, v)),
        },
        Kind::Real => match v.parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => Ok(x.to_string()),
            _ => Err(invalid(param.name, v)),
        },
        Kind::Encoding => match v.to_ascii_uppercase().replace(['-', '_'], "").as_str() {
            "UTF8" | "UNICODE" => Ok("UTF8".into()),
            _ => Err(Error::FeatureNotSupported(format!(
                "conversion between {v} and UTF8 is not supported"
            ))),
        },
        Kind::DateStyle => date_style(v).ok_or_else(|| invalid(param.name, v)),
        Kind::IntervalStyle => crate::interval::Style::named(v)
            .map(|style| style.name().to_string())
            .ok_or_else(|| invalid(param.name, v)),
        Kind::TimeZone => time_zone(v).ok_or_else(|| invalid(param.name, v)),
        Kind::Isolation => match v.to_ascii_lowercase().as_str() {
            l @ ("read uncommitted" | "read committed" | "repeatable read" | "serializable") => {
                Ok(l.to_string())
            }
            _ => Err(invalid(param.name, v)),
        },
    }
}

/// Canonicalises a DateStyle such as `iso,dmy` to `ISO, DMY`. Only ISO output is
/// produced, which is what every driver asks for (pgjdbc refuses anything else).
fn date_style(v: &str) -> Option<String> {
    let mut output = "ISO";
    let mut order = "MDY";
    for word in v.split(',').map(|w| w.trim().to_ascii_uppercase()) {
        match word.as_str() {
            "ISO" => output = "ISO",
            "MDY" | "US" | "NONEURO" | "NONEUROPEAN" => order = "MDY",
            "DMY" | "EURO" | "EUROPEAN" => order = "DMY",
            "YMD" => order = "YMD",
            "DEFAULT" => {}
            _ => return None,
        }
    }
    Some(format!("{output}, {order}"))
}

/// Accepts IANA zone names (`Europe/Paris`), `UTC`, `Z` and numeric offsets
/// (`+09:00`), case-insensitively for the common spellings.
/// A TimeZone value as PostgreSQL takes it ([`Zone::setting`]), spelled
/// as PostgreSQL shows it.
fn time_zone(v: &str) -> Option<String> {
    let v = v.trim_matches('\'');
    if v.eq_ignore_ascii_case("utc") || v.eq_ignore_ascii_case("z") {
        return Some("UTC".to_string());
    }
    crate::zones::Zone::setting(v).map(|zone| zone.setting_text(v))
}

fn parse_millis(v: &str) -> Option<u64> {
    let v = v.trim().trim_matches('\'').trim();
    let split = v
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "ms" => 1.0,
        "s" => 1000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return None,
    };
    let ms = number * factor;
    (ms >= 0.0 && ms < i32::MAX as f64).then_some(ms.round() as u64)
}

/// An amount of memory in kilobytes, from PostgreSQL's spelling (`64kB`,
/// `4MB`, or a bare count of `block_kb` blocks).
fn parse_kilobytes(v: &str, block_kb: i64) -> Option<i64> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let number: i64 = number.parse().ok()?;
    let kb = match unit.trim() {
        "" => number.checked_mul(block_kb)?,
        "B" => (number + 1023) / 1024,
        "kB" => number,
        "MB" => number.checked_mul(1024)?,
        "GB" => number.checked_mul(1024 * 1024)?,
        "TB" => number.checked_mul(1024 * 1024 * 1024)?,
        _ => return None,
    };
    (kb <= i32::MAX as i64 * block_kb).then_some(kb)
}

fn format_kilobytes(kb: i64) -> String {
    const UNITS: [(i64, &str); 3] = [
        (1024 * 1024 * 1024, "TB"),
        (1024 * 1024, "GB"),
        (1024, "MB"),
    ];
    if kb == 0 {
        return "0".into();
    }
    UNITS
        .iter()
        .find(|(size, _)| kb % size == 0)
        .map(|(size, unit)| format!("{}{unit}", kb / size))
        .unwrap_or_else(|| format!("{kb}kB"))
}

fn format_millis(ms: u64) -> String {
    match ms {
        0 => "0".into(),
        ms if ms % 86_400_000 == 0 => format!("{}d", ms / 86_400_000),
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}min", ms / 60_000),
        ms if ms % 1000 == 0 => format!("{}s", ms / 1000),
        ms => format!("{ms}ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_show_use_canonical_forms() {
        let mut s = Settings::new("postgres", true);
        assert_eq!(s.set("statement_timeout", "5000").unwrap(), None);
        assert_eq!(s.get("STATEMENT_TIMEOUT").unwrap(), "5s");
        assert_eq!(s.statement_timeout_ms(), 5000);
        let reported = s.set("datestyle", "iso, dmy").unwrap();
        assert_eq!(reported, Some(("DateStyle", "ISO, DMY".to_string())));
        assert_eq!(
            s.set("timezone", "Asia/Tokyo").unwrap(),
            Some(("TimeZone", "Asia/Tokyo".into()))
        );
        assert!(s.set("timezone", "Mars/Olympus").is_err());
        assert!(matches!(
            s.set("no_such_thing", "1"),
            Err(Error::UndefinedObject(_))
        ));
        assert!(s.set("myapp.flag", "x").is_ok());
        assert_eq!(s.set("client_encoding", "'utf-8'").unwrap(), None);
        assert_eq!(s.get("client_encoding").unwrap(), "UTF8");
        assert_eq!(s.get("myapp.flag").unwrap(), "x");
    }

    #[test]
    fn memory_and_cost_settings_read_and_print_postgres_units() {
        let mut s = Settings::new("postgres", true);
        assert_eq!(s.get("work_mem").unwrap(), "4MB");
        s.set("work_mem", "64kB").unwrap();
        assert_eq!(s.get("work_mem").unwrap(), "64kB");
        s.set("work_mem", "65536").unwrap();
        assert_eq!(s.get("work_mem").unwrap(), "64MB");
        s.set("min_parallel_table_scan_size", "0").unwrap();
        assert_eq!(s.get("min_parallel_table_scan_size").unwrap(), "0");
        s.set("min_parallel_table_scan_size", "1024").unwrap();
        assert_eq!(s.get("min_parallel_table_scan_size").unwrap(), "8MB");
        assert!(s.set("work_mem", "lots").is_err());
        s.set("parallel_tuple_cost", "0").unwrap();
        assert_eq!(s.get("parallel_tuple_cost").unwrap(), "0");
        assert_eq!(s.get("random_page_cost").unwrap(), "4");
        assert!(s.set("jit_above_cost", "-5").is_err());
    }

    #[test]
    fn reset_restores_defaults() {
        let mut s = Settings::new("postgres", true);
        s.set("extra_float_digits", "3").unwrap();
        s.reset("extra_float_digits").unwrap();
        assert_eq!(s.get("extra_float_digits").unwrap(), "1");
        s.set("TimeZone", "Europe/Paris").unwrap();
        let reported = s.reset_all();
        assert_eq!(reported, vec![("TimeZone", "UTC".to_string())]);
        assert!(s.set("server_version", "1").is_err());
    }

    #[test]
    fn server_defaults_are_what_reset_restores() {
        let mut s = Settings::new("postgres", true);
        s.set_server_default("statement_timeout", "30s").unwrap();
        assert_eq!(s.statement_timeout_ms(), 30_000);
        s.set("statement_timeout", "0").unwrap();
        assert_eq!(s.statement_timeout_ms(), 0);
        s.reset("statement_timeout").unwrap();
        assert_eq!(s.get("statement_timeout").unwrap(), "30s");
        assert!(s.set_server_default("statement_timeout", "soon").is_err());
    }

    #[test]
    fn reported_includes_startup_set() {
        let s = Settings::new("alice", false);
        let names: Vec<_> = s.reported().into_iter().map(|(n, _)| n).collect();
        for n in [
            "application_name",
            "client_encoding",
            "DateStyle",
            "TimeZone",
            "server_version",
            "integer_datetimes",
            "standard_conforming_strings",
            "is_superuser",
            "session_authorization",
        ] {
            assert!(names.contains(&n), "{n}");
        }
        assert_eq!(s.get("session_authorization").unwrap(), "alice");
    }
}
