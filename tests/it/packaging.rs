//! The Dockerfile, the deployment files and the README's commands, checked
//! statically (no Docker engine, systemd, Prometheus or Grafana runs where the
//! tests run), and the Grafana dashboard's metric names against a live server.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use clap::CommandFactory;
use enishi::config::{Cli, Config};

use crate::server::TestServer;

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).expect(name)
}

#[test]
fn dockerfile_builds_the_server_and_runs_it_unprivileged() {
    let text = read("Dockerfile");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let froms: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "a build stage and a runtime stage");
    assert!(froms[0].contains(" AS build"));
    assert!(text.contains("cargo build --release --locked --bin enishi"));
    assert!(text.contains("COPY --from=build /src/target/release/enishi /usr/local/bin/enishi"));
    let user = lines
        .iter()
        .find(|l| l.starts_with("USER "))
        .expect("a USER line");
    assert!(!user.contains("root"), "runtime user must not be root");
    for needed in [
        "ENISHI_HOST=0.0.0.0",
        "ENISHI_STORAGE_PATH=/app/data",
        "EXPOSE 5432 8080 9090",
        "ENISHI_PORT=8080",
        "ENISHI_METRICS_PORT=9090",
        "/app/logs",
    ] {
        assert!(text.contains(needed), "Dockerfile lacks {needed}");
    }
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("ENTRYPOINT [\"/usr/local/bin/enishi\"]")
    );
    // Every file COPY'd from the context exists.
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("Cargo.lock")
            .exists(),
        "--locked needs Cargo.lock"
    );
}

#[test]
fn readme_gives_the_two_commands_and_ci_runs_the_test_one() {
    let readme = read("README.md");
    assert!(
        readme.contains("cargo run --bin enishi"),
        "README lacks the server command"
    );
    assert!(
        readme.contains("scripts/test"),
        "README lacks the test command"
    );
    assert!(
        read(".ci/run").contains("scripts/test"),
        ".ci/run must call the README's test command"
    );
}

// ---------------------------------------------------------------------------
// Deployment files: docker-compose.yml, config/enishi.service,
// config/logrotate.conf, config/prometheus.yml, config/grafana-dashboard.json.
// Each must agree with the server: its default ports, the variables it reads,
// its drain timeout, its metric names.
// ---------------------------------------------------------------------------

/// Every environment variable the server reads. Deployment files may set only these.
const SERVER_VARIABLES: &[&str] = &[
    "ENISHI_CONFIG",
    "ENISHI_HOST",
    "ENISHI_PG_PORT",
    "ENISHI_PORT",
    "ENISHI_STORAGE_PATH",
    "ENISHI_COMPRESSION",
    "ENISHI_MAX_SIZE_GB",
    "ENISHI_BLOOM_SIZE",
    "ENISHI_CACHE_SIZE",
    "ENISHI_PROBE_INTERVAL_MS",
    "ENISHI_METRICS_PORT",
    "ENISHI_LOG_DIR",
    "ENISHI_WORKERS",
    "ENISHI_MAX_CONNECTIONS",
    "ENISHI_MAX_STARTUP_CONNECTIONS",
    "ENISHI_AUTHENTICATION_TIMEOUT",
    "ENISHI_MAX_CONCURRENT_QUERIES",
    "ENISHI_MEMORY_LIMIT",
    "ENISHI_ADAPTIVE_OPTIMIZATION",
    "ENISHI_ENABLE_AUDIT",
    "ENISHI_AUDIT_LOG_PATH",
    "ENISHI_SESSION_TIMEOUT",
    "ENISHI_SUPERUSER_PASSWORD",
    "ENISHI_TRUST_LOOPBACK",
    "ENISHI_ADMIN_TOKEN",
    "ENISHI_TLS_CERT",
    "ENISHI_TLS_KEY",
    "ENISHI_REQUIRE_TLS",
];

/// The ports the server listens on by default: PostgreSQL, HTTP API, metrics.
fn default_ports() -> BTreeSet<u16> {
    let defaults = Config::default();
    BTreeSet::from([
        defaults.server.pg_port,
        defaults.server.port,
        defaults.monitoring.metrics_port,
    ])
}

/// The health check URL inside a container or on the host.
fn health_url() -> String {
    format!("http://localhost:{}/health", Config::default().server.port)
}

/// Each distinct word of `text` that starts with `prefix` and continues with
/// bytes `part` accepts (a match inside a longer word does not count).
fn words_with_prefix(text: &str, prefix: &str, part: fn(u8) -> bool) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let mut found = BTreeSet::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(prefix) {
        let start = from + at;
        let mut end = start + prefix.len();
        while end < bytes.len() && part(bytes[end]) {
            end += 1;
        }
        let inside_a_word =
            start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        if !inside_a_word {
            found.insert(text[start..end].to_string());
        }
        from = end;
    }
    found
}

/// The `ENISHI_*` variables a file names.
fn enishi_variables(text: &str) -> BTreeSet<String> {
    words_with_prefix(text, "ENISHI_", |b| {
        b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'
    })
}

fn assert_only_server_variables(file: &str) {
    let unknown: Vec<String> = enishi_variables(&read(file))
        .into_iter()
        .filter(|v| !SERVER_VARIABLES.contains(&v.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "{file} names variables the server does not read: {unknown:?}"
    );
}

/// Seconds in a duration such as `45`, `45s` or `2m`.
fn seconds(duration: &str) -> u64 {
    let duration = duration.trim();
    let parsed = if let Some(minutes) = duration.strip_suffix('m') {
        minutes.parse::<u64>().map(|m| m * 60)
    } else {
        duration.strip_suffix('s').unwrap_or(duration).parse()
    };
    parsed.unwrap_or_else(|_| panic!("not a duration in seconds or minutes: {duration}"))
}

#[test]
fn the_variable_list_holds_every_variable_the_flags_read() {
    fn variables(command: &clap::Command, out: &mut Vec<String>) {
        for arg in command.get_arguments() {
            if let Some(var) = arg.get_env() {
                out.push(var.to_string_lossy().into_owned());
            }
        }
        for sub in command.get_subcommands() {
            variables(sub, out);
        }
    }
    let mut read_by_flags = Vec::new();
    variables(&Cli::command(), &mut read_by_flags);
    assert!(read_by_flags.contains(&"ENISHI_STORAGE_PATH".to_string()));
    for var in read_by_flags {
        assert!(
            SERVER_VARIABLES.contains(&var.as_str()),
            "SERVER_VARIABLES lacks {var}, which the server reads"
        );
    }
}

// --- Dockerfile -------------------------------------------------------------

/// The arguments of the first `INSTRUCTION` line of a Dockerfile.
fn docker_instruction(text: &str, instruction: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(instruction)?.strip_prefix(' '))
        .map(|args| args.trim().to_string())
}

#[test]
fn dockerfile_logs_to_the_volume_checks_health_and_exposes_the_default_ports() {
    let text = read("Dockerfile");
    let defaults = Config::default();
    assert!(
        text.contains("ENISHI_LOG_DIR=/app/logs"),
        "Dockerfile lacks ENV ENISHI_LOG_DIR=/app/logs"
    );
    let healthcheck =
        docker_instruction(&text, "HEALTHCHECK").expect("Dockerfile lacks a HEALTHCHECK");
    let probe = format!("CMD curl -f {}", health_url());
    for needed in [
        "--interval=30s",
        "--timeout=10s",
        "--retries=3",
        probe.as_str(),
    ] {
        assert!(
            healthcheck.contains(needed),
            "HEALTHCHECK lacks {needed}: {healthcheck}"
        );
    }
    let exposed: BTreeSet<u16> = docker_instruction(&text, "EXPOSE")
        .expect("Dockerfile lacks EXPOSE")
        .split_whitespace()
        .map(|p| {
            p.trim_end_matches("/tcp")
                .parse()
                .unwrap_or_else(|_| panic!("EXPOSE: not a port: {p}"))
        })
        .collect();
    assert_eq!(
        exposed,
        default_ports(),
        "EXPOSE must list the default ports"
    );
    // The image's variables pin the same ports the code defaults to.
    for (var, port) in [
        ("ENISHI_PG_PORT", defaults.server.pg_port),
        ("ENISHI_PORT", defaults.server.port),
        ("ENISHI_METRICS_PORT", defaults.monitoring.metrics_port),
    ] {
        assert!(
            text.contains(&format!("{var}={port}")),
            "Dockerfile lacks ENV {var}={port}"
        );
    }
    assert_only_server_variables("Dockerfile");
}

// --- docker-compose.yml (no YAML parser among the dependencies: the file is
// read line by line, which its simple block style allows) --------------------

/// A line without its `# comment` (none of the values checked contain `#`).
fn uncomment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    line.find(" #").map_or(line, |i| &line[..i])
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn unquote(value: &str) -> &str {
    let value = value.trim();
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

/// The lines of a YAML file that hold something (no blanks, no comments).
fn yaml_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !uncomment(l).trim().is_empty())
        .collect()
}

/// The lines nested under the first `key:` line of `lines`.
fn yaml_block<'a>(lines: &[&'a str], key: &str) -> Vec<&'a str> {
    let header = format!("{key}:");
    let start = lines
        .iter()
        .position(|l| uncomment(l).trim() == header)
        .unwrap_or_else(|| panic!("no `{key}:` block"));
    let depth = indent(lines[start]);
    lines[start + 1..]
        .iter()
        .copied()
        .take_while(|l| indent(l) > depth)
        .collect()
}

/// The value of `key: value` at the top level of `lines`.
fn yaml_scalar(lines: &[&str], key: &str) -> Option<String> {
    let depth = lines.iter().map(|l| indent(l)).min()?;
    lines
        .iter()
        .filter(|l| indent(l) == depth)
        .find_map(|l| uncomment(l).trim().strip_prefix(key)?.strip_prefix(':'))
        .map(|value| unquote(value).to_string())
}

/// The items of a block sequence (`- item` lines).
fn yaml_list(lines: &[&str]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| uncomment(l).trim().strip_prefix("- "))
        .map(|item| unquote(item).to_string())
        .collect()
}

/// The items of a flow sequence: `["a", "b"]`.
fn yaml_flow_list(value: &str) -> Vec<String> {
    let inner = value
        .trim()
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or_else(|| panic!("not a [..] sequence: {value}"));
    inner
        .split(',')
        .map(|item| unquote(item).to_string())
        .collect()
}

#[test]
fn compose_file_publishes_the_ports_and_keeps_data_and_logs_on_the_host() {
    let text = read("docker-compose.yml");
    assert!(!text.contains('\t'), "YAML indentation must not use tabs");
    let lines = yaml_lines(&text);
    assert_eq!(yaml_scalar(&lines, "version").as_deref(), Some("3.8"));
    let service = yaml_block(&yaml_block(&lines, "services"), "enishi");
    for (key, value) in [
        ("image", "enishi/enishi:latest"),
        ("build", "."),
        ("restart", "unless-stopped"),
    ] {
        assert_eq!(
            yaml_scalar(&service, key).as_deref(),
            Some(value),
            "service enishi: {key}"
        );
    }

    let ports = yaml_list(&yaml_block(&service, "ports"));
    for port in default_ports() {
        let mapping = format!("{port}:{port}");
        assert!(
            ports.contains(&mapping),
            "compose does not publish {mapping}: {ports:?}"
        );
    }
    let volumes = yaml_list(&yaml_block(&service, "volumes"));
    for volume in ["./data:/app/data", "./logs:/app/logs"] {
        assert!(
            volumes.iter().any(|v| v == volume),
            "compose lacks volume {volume}: {volumes:?}"
        );
    }
    let environment = yaml_list(&yaml_block(&service, "environment"));
    let api_port = format!("ENISHI_PORT={}", Config::default().server.port);
    for setting in [
        "RUST_LOG=info",
        api_port.as_str(),
        "ENISHI_STORAGE_PATH=/app/data",
        "ENISHI_MAX_SIZE_GB=100",
        "ENISHI_LOG_DIR=/app/logs",
    ] {
        assert!(
            environment.iter().any(|e| e == setting),
            "compose lacks environment {setting}: {environment:?}"
        );
    }
    // The image listens on every interface, where the server refuses to start
    // without a password: compose must pass one (and fail loudly when unset).
    assert!(
        environment
            .iter()
            .any(|e| e.starts_with("ENISHI_SUPERUSER_PASSWORD=${ENISHI_SUPERUSER_PASSWORD:?")),
        "compose must require ENISHI_SUPERUSER_PASSWORD: {environment:?}"
    );

    let healthcheck = yaml_block(&service, "healthcheck");
    let test = yaml_scalar(&healthcheck, "test").expect("healthcheck lacks test");
    assert_eq!(
        yaml_flow_list(&test),
        ["CMD", "curl", "-f", health_url().as_str()],
        "healthcheck test"
    );
    for (key, value) in [("interval", "30s"), ("timeout", "10s"), ("retries", "3")] {
        assert_eq!(
            yaml_scalar(&healthcheck, key).as_deref(),
            Some(value),
            "healthcheck {key}"
        );
    }

    let grace =
        yaml_scalar(&service, "stop_grace_period").expect("compose lacks stop_grace_period");
    let drain = Config::default().server.drain_timeout_secs;
    assert!(
        seconds(&grace) > drain,
        "stop_grace_period {grace} must exceed the {drain} s drain"
    );
    assert_only_server_variables("docker-compose.yml");
}

// --- config/enishi.service --------------------------------------------------

/// One `Key=value` line of a systemd unit, with its `[Section]`.
struct UnitSetting {
    section: String,
    key: String,
    value: String,
}

fn unit_settings(text: &str) -> Vec<UnitSetting> {
    let mut section = String::new();
    let mut settings = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("enishi.service: not Key=value: {line}"));
        settings.push(UnitSetting {
            section: section.clone(),
            key: key.trim().to_string(),
            value: value.trim().to_string(),
        });
    }
    settings
}

/// The (last) value of `key` in `[section]`.
fn unit_value<'a>(settings: &'a [UnitSetting], section: &str, key: &str) -> Option<&'a str> {
    settings
        .iter()
        .rev()
        .find(|s| s.section == section && s.key == key)
        .map(|s| s.value.as_str())
}

/// The variables the unit's `Environment=` lines set.
fn unit_environment(settings: &[UnitSetting]) -> BTreeMap<String, String> {
    settings
        .iter()
        .filter(|s| s.section == "Service" && s.key == "Environment")
        .flat_map(|s| s.value.split_whitespace())
        .map(|assignment| {
            let (name, value) = unquote(assignment)
                .split_once('=')
                .unwrap_or_else(|| panic!("Environment: not NAME=value: {assignment}"));
            (name.to_string(), value.to_string())
        })
        .collect()
}

#[test]
fn systemd_unit_runs_the_server_unprivileged_reloads_it_and_lets_it_drain() {
    let settings = unit_settings(&read("config/enishi.service"));
    let sections: BTreeSet<&str> = settings.iter().map(|s| s.section.as_str()).collect();
    assert_eq!(
        sections,
        BTreeSet::from(["Unit", "Service", "Install"]),
        "enishi.service sections"
    );
    // The operations manual's unit.
    for (section, key, value) in [
        ("Unit", "After", "network.target"),
        ("Service", "User", "enishi"),
        ("Service", "Group", "enishi"),
        ("Service", "ExecStart", "/usr/local/bin/enishi"),
        ("Service", "Restart", "always"),
        ("Service", "RestartSec", "5"),
        ("Service", "StandardOutput", "journal"),
        ("Service", "StandardError", "journal"),
        ("Service", "LimitNOFILE", "65536"),
        ("Service", "KillSignal", "SIGTERM"),
        ("Service", "ProtectSystem", "strict"),
        ("Install", "WantedBy", "multi-user.target"),
    ] {
        assert_eq!(
            unit_value(&settings, section, key),
            Some(value),
            "enishi.service [{section}] {key}"
        );
    }

    // `systemctl reload` (logrotate's postrotate) sends SIGHUP to the server.
    let reload =
        unit_value(&settings, "Service", "ExecReload").expect("enishi.service lacks ExecReload");
    assert!(
        reload.contains("kill")
            && (reload.contains("-HUP") || reload.contains("-s HUP"))
            && reload.contains("$MAINPID"),
        "ExecReload must send SIGHUP to $MAINPID: {reload}"
    );

    let stop = unit_value(&settings, "Service", "TimeoutStopSec")
        .expect("enishi.service lacks TimeoutStopSec");
    let drain = Config::default().server.drain_timeout_secs;
    assert!(
        seconds(stop) > drain,
        "TimeoutStopSec={stop} must exceed the {drain} s drain"
    );

    // With ProtectSystem=strict the server may write only under ReadWritePaths.
    let environment = unit_environment(&settings);
    let writable: Vec<&str> = unit_value(&settings, "Service", "ReadWritePaths")
        .expect("enishi.service lacks ReadWritePaths")
        .split_whitespace()
        .map(|p| p.trim_start_matches('-'))
        .collect();
    for var in ["ENISHI_STORAGE_PATH", "ENISHI_LOG_DIR"] {
        let dir = environment
            .get(var)
            .unwrap_or_else(|| panic!("enishi.service lacks Environment={var}=..."));
        assert!(
            writable.iter().any(|w| Path::new(dir).starts_with(w)),
            "{var}={dir} is not under ReadWritePaths {writable:?}"
        );
    }
    assert_only_server_variables("config/enishi.service");
}

// --- config/logrotate.conf --------------------------------------------------

#[test]
fn logrotate_rotates_the_units_log_directory_and_reloads_the_server() {
    let text = read("config/logrotate.conf");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let pattern = lines
        .first()
        .and_then(|l| l.strip_suffix('{'))
        .map(str::trim)
        .expect("logrotate.conf starts with `<pattern> {`");
    assert_eq!(lines.last(), Some(&"}"), "logrotate.conf: unclosed stanza");
    // It rotates the directory the systemd unit logs to.
    let unit = unit_settings(&read("config/enishi.service"));
    let log_dir = unit_environment(&unit)
        .remove("ENISHI_LOG_DIR")
        .expect("enishi.service sets ENISHI_LOG_DIR");
    assert_eq!(pattern, format!("{log_dir}/*.log"));
    for directive in [
        "daily",
        "rotate 30",
        "compress",
        "delaycompress",
        "missingok",
        "notifempty",
        "create 644 enishi enishi",
    ] {
        assert!(
            lines.contains(&directive),
            "logrotate.conf lacks `{directive}`"
        );
    }
    // postrotate: the reload that makes the server reopen its log files.
    let post = lines
        .iter()
        .position(|l| *l == "postrotate")
        .expect("logrotate.conf lacks postrotate");
    assert_eq!(
        lines.get(post + 1..post + 3),
        Some(&["systemctl reload enishi", "endscript"][..]),
        "postrotate must run `systemctl reload enishi`"
    );
    assert!(
        unit_value(&unit, "Service", "ExecReload").is_some(),
        "`systemctl reload enishi` needs ExecReload in enishi.service"
    );
}

// --- config/prometheus.yml --------------------------------------------------

#[test]
fn prometheus_scrapes_the_metrics_port() {
    let text = read("config/prometheus.yml");
    assert!(!text.contains('\t'), "YAML indentation must not use tabs");
    let lines = yaml_lines(&text);
    assert_eq!(
        yaml_scalar(&yaml_block(&lines, "global"), "scrape_interval").as_deref(),
        Some("15s")
    );
    let jobs = yaml_block(&lines, "scrape_configs");
    // Settings of the (single) job, whichever line of its `- ` item they are on.
    let setting = |key: &str| -> Option<String> {
        jobs.iter().find_map(|l| {
            let line = uncomment(l).trim();
            let line = line.strip_prefix("- ").unwrap_or(line);
            line.strip_prefix(key)?
                .strip_prefix(':')
                .map(|v| unquote(v).to_string())
        })
    };
    assert_eq!(setting("job_name").as_deref(), Some("enishi"));
    assert_eq!(setting("metrics_path").as_deref(), Some("/metrics"));
    let targets = setting("targets").expect("prometheus.yml lacks targets");
    let metrics = format!("localhost:{}", Config::default().monitoring.metrics_port);
    assert_eq!(
        yaml_flow_list(&targets),
        [metrics.as_str()],
        "scrape targets"
    );
}

// --- config/grafana-dashboard.json ------------------------------------------

fn dashboard() -> serde_json::Value {
    serde_json::from_str(&read("config/grafana-dashboard.json"))
        .expect("config/grafana-dashboard.json is not valid JSON")
}

/// A metric's name without the series suffixes of histograms and summaries.
fn metric_family(name: &str) -> &str {
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(name)
}

/// The metric families the dashboard's queries (panel targets and template
/// variables) use.
fn dashboard_metrics(dashboard: &serde_json::Value) -> BTreeSet<String> {
    fn walk(value: &serde_json::Value, out: &mut BTreeSet<String>) {
        match value {
            serde_json::Value::Object(fields) => {
                for (key, field) in fields {
                    let is_query = ["expr", "query", "definition"].contains(&key.as_str());
                    if let Some(query) = field.as_str().filter(|_| is_query) {
                        let names = words_with_prefix(query, "enishi_", |b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'
                        });
                        out.extend(names.iter().map(|n| metric_family(n).to_string()));
                    }
                    walk(field, out);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|item| walk(item, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(dashboard, &mut out);
    out
}

#[test]
fn grafana_dashboard_is_importable() {
    let dashboard = dashboard();
    for key in ["title", "uid", "schemaVersion", "panels"] {
        assert!(
            dashboard.get(key).is_some(),
            "dashboard lacks top-level {key}"
        );
    }
    let panels = dashboard["panels"].as_array().expect("panels is a list");
    assert!(!panels.is_empty(), "dashboard has no panels");
    let mut ids = BTreeSet::new();
    let mut cells = BTreeSet::new();
    for panel in panels {
        let title = panel["title"].as_str().expect("a panel without a title");
        assert!(
            ids.insert(panel["id"].as_u64().expect("panel id")),
            "panel {title}: duplicate id"
        );
        let grid = |k: &str| {
            panel["gridPos"][k]
                .as_u64()
                .unwrap_or_else(|| panic!("panel {title} lacks gridPos.{k}"))
        };
        let (x, y, w, h) = (grid("x"), grid("y"), grid("w"), grid("h"));
        assert!(
            w > 0 && h > 0 && x + w <= 24,
            "panel {title}: gridPos out of the 24 columns"
        );
        for cx in x..x + w {
            for cy in y..y + h {
                assert!(cells.insert((cx, cy)), "panel {title} overlaps another");
            }
        }
        let targets = panel["targets"].as_array().expect("panel targets");
        assert!(!targets.is_empty(), "panel {title} has no queries");
        for target in targets {
            assert!(
                target["expr"]
                    .as_str()
                    .is_some_and(|e| e.contains("enishi_")),
                "panel {title}: a target without an enishi_ expression"
            );
            assert!(
                target["refId"].is_string(),
                "panel {title}: a target without refId"
            );
        }
    }
    let charted = dashboard_metrics(&dashboard);
    for needed in [
        "enishi_query_duration_seconds",
        "enishi_queries_per_second_total",
        "enishi_error_count_total",
        "enishi_cache_hit_ratio",
        "enishi_memory_usage_bytes",
        "enishi_cpu_usage_percent",
        "enishi_storage_used_bytes",
        "enishi_connections_active",
    ] {
        assert!(
            charted.contains(needed),
            "dashboard does not chart {needed}"
        );
    }
}

/// The metric families in a Prometheus text exposition.
fn scraped_metrics(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(|name| metric_family(name).to_string())
        .collect()
}

#[tokio::test]
async fn grafana_dashboard_charts_only_metrics_the_server_exports() {
    let charted = dashboard_metrics(&dashboard());
    let server = TestServer::start();
    let client = server.connect().await;
    // Labelled series (by kind, outcome, SQLSTATE class) appear once observed.
    client
        .batch_execute("create table g (x int); insert into g values (1), (2)")
        .await
        .unwrap();
    client.simple_query("select * from g").await.unwrap();
    assert!(client.simple_query("select nope from g").await.is_err());
    // Prometheus scrapes the metrics port (config/prometheus.yml).
    let (code, exposition) = server.http_get_on(server.metrics_port, "/metrics");
    assert_eq!(code, 200, "{exposition}");
    let exported = scraped_metrics(&exposition);
    let missing: Vec<&String> = charted.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "the dashboard charts metrics the server does not export: {missing:?}"
    );
}
