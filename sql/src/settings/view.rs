//! `pg_settings` (and `pg_show_all_settings()`, the function PostgreSQL
//! defines it over): every parameter with the session's value, as
//! PostgreSQL lists it. A value with a unit is given as a number of that
//! unit (`work_mem` is `4096` of `kB` where SHOW says `4MB`).

use super::*;

/// One row of pg_settings.
pub struct SettingRow {
    pub name: &'static str,
    pub setting: String,
    pub unit: Option<&'static str>,
    pub vartype: &'static str,
    /// `internal` for those that cannot be changed, `user` for the others.
    pub context: &'static str,
    /// `default`, or `session` once SET.
    pub source: &'static str,
    pub min_val: Option<String>,
    pub max_val: Option<String>,
    pub enumvals: Option<Vec<&'static str>>,
    pub boot_val: String,
    pub reset_val: String,
}

/// A value in its parameter's base unit, with that unit.
fn in_unit(param: &Param, value: &str) -> (String, Option<&'static str>) {
    let millis = |v: &str| parse_millis(v).map(|ms| ms.to_string());
    match (param.kind, param.name) {
        (Kind::Millis, _) | (_, "autovacuum_vacuum_cost_delay") => (
            millis(value).unwrap_or_else(|| value.to_string()),
            Some("ms"),
        ),
        (_, "autovacuum_naptime") => (
            parse_millis(value).map_or_else(|| value.to_string(), |ms| (ms / 1000).to_string()),
            Some("s"),
        ),
        (_, "autovacuum_work_mem") => (value.to_string(), Some("kB")),
        (Kind::Memory { block_kb }, _) => (
            parse_kilobytes(value, block_kb)
                .map_or_else(|| value.to_string(), |kb| (kb / block_kb).to_string()),
            Some(if block_kb == 1 { "kB" } else { "8kB" }),
        ),
        _ => (value.to_string(), None),
    }
}

fn vartype(param: &Param) -> &'static str {
    match param.kind {
        Kind::Bool => "bool",
        Kind::Int { .. } | Kind::Millis | Kind::Memory { .. } => "integer",
        Kind::Real => "real",
        Kind::Isolation => "enum",
        Kind::ReadOnly => match param.default {
            "on" | "off" => "bool",
            v if v.parse::<i64>().is_ok() => "integer",
            v if v.parse::<f64>().is_ok() => "real",
            _ if param.name == "autovacuum_naptime" => "integer",
            _ if param.name == "autovacuum_vacuum_cost_delay" => "real",
            _ => "string",
        },
        _ => "string",
    }
}

impl Settings {
    /// The rows of pg_settings for this session.
    pub fn rows(&self) -> Vec<SettingRow> {
        PARAMS
            .iter()
            .map(|param| {
                let current = self.get(param.name).unwrap_or_default();
                let reset = self.default_of(param);
                let (setting, unit) = in_unit(param, &current);
                let (min_val, max_val) = match param.kind {
                    Kind::Int { min, max } => (Some(min.to_string()), Some(max.to_string())),
                    _ => (None, None),
                };
                SettingRow {
                    name: param.name,
                    setting,
                    unit,
                    vartype: vartype(param),
                    context: match param.kind {
                        Kind::ReadOnly => "internal",
                        _ => "user",
                    },
                    source: match self.values.contains_key(&param.name.to_ascii_lowercase()) {
                        true => "session",
                        false => "default",
                    },
                    min_val,
                    max_val,
                    enumvals: matches!(param.kind, Kind::Isolation).then(|| {
                        vec![
                            "serializable",
                            "repeatable read",
                            "read committed",
                            "read uncommitted",
                        ]
                    }),
                    boot_val: in_unit(param, param.default).0,
                    reset_val: in_unit(param, &reset).0,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_with_units_are_counts_of_their_unit() {
        let settings = Settings::new("postgres", true);
        let rows = settings.rows();
        let row = |name: &str| rows.iter().find(|r| r.name == name).unwrap();
        assert_eq!(
            (row("work_mem").setting.as_str(), row("work_mem").unit),
            ("4096", Some("kB"))
        );
        assert_eq!(row("temp_buffers").setting, "1024");
        assert_eq!(row("statement_timeout").unit, Some("ms"));
        assert_eq!(row("autovacuum_naptime").setting, "60");
        assert_eq!(row("default_table_access_method").setting, "heap");
        assert_eq!(row("server_version").context, "internal");
    }
}
