//! Small queries: `SELECT 1` latency in each protocol mode, pgbench's
//! throughput for point lookups and a small aggregate with 8 clients, and
//! the latency of result-cache hits.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use tokio_postgres::Client;

use crate::report::{ms, percentile};
use crate::servers::Result;

pub const POINT_ROWS: u64 = 1_000_000;

/// The 1,000,000-row table the pgbench scripts read, keyed by `k`. PostgreSQL
/// gets the primary key a DBA would declare.
pub async fn create_point_table(client: &Client, postgres: bool) -> Result<()> {
    client
        .batch_execute("create table pt (k bigint not null, v bigint, s text)")
        .await?;
    let source = if postgres {
        format!("generate_series(1, {POINT_ROWS}) as g(value)")
    } else {
        format!("generate_series(1, {POINT_ROWS})")
    };
    client
        .batch_execute(&format!(
            "insert into pt select value, value * 7, concat('row ', value) from {source}"
        ))
        .await?;
    if postgres {
        client
            .batch_execute("alter table pt add primary key (k); analyze pt")
            .await?;
    }
    Ok(())
}

pub const SCRIPTS: &[(&str, &str)] = &[
    ("select 1", "select 1;\n"),
    (
        "point lookup",
        "\\set k random(1, 1000000)\nselect v, s from pt where k = :k;\n",
    ),
    (
        "small aggregate (1,000 keys)",
        "\\set k random(1, 999000)\nselect count(*), sum(v) from pt where k between :k and :k + 999;\n",
    ),
];

/// What one pgbench run measured.
pub struct Pgbench {
    pub tps: f64,
    pub latency_ms: f64,
    pub failed: Option<String>,
}

/// Runs a pgbench script for `seconds` with 8 clients on 2 threads.
pub fn pgbench(port: u16, script: &str, mode: &str, seconds: u32, work: &Path) -> Pgbench {
    let file = work.join("pgbench.sql");
    if let Err(e) = std::fs::write(&file, script) {
        return Pgbench::failed(e.to_string());
    }
    let output = Command::new("pgbench")
        .args([
            "-n",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-c",
            "8",
            "-j",
            "2",
        ])
        .args([
            "-p",
            &port.to_string(),
            "-M",
            mode,
            "-T",
            &seconds.to_string(),
        ])
        .arg("-f")
        .arg(&file)
        .arg("postgres")
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) => return Pgbench::failed(format!("pgbench: {e}")),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let figure = |prefix: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    match (figure("tps = "), figure("latency average = ")) {
        (Some(tps), Some(latency_ms)) if output.status.success() => Pgbench {
            tps,
            latency_ms,
            failed: None,
        },
        _ => Pgbench::failed(
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or("pgbench failed")
                .to_string(),
        ),
    }
}

impl Pgbench {
    fn failed(reason: String) -> Self {
        Self {
            tps: f64::NAN,
            latency_ms: f64::NAN,
            failed: Some(reason),
        }
    }
}

/// Latency percentiles (p50, p99) of `select 1` over one connection, in the
/// simple protocol and as a prepared statement.
pub async fn select_one(client: &Client, repeats: usize) -> Result<[(f64, f64); 2]> {
    let mut simple = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let start = Instant::now();
        client.simple_query("select 1").await?;
        simple.push(ms(start.elapsed()));
    }
    let statement = client.prepare("select 1").await?;
    let mut prepared = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let start = Instant::now();
        client.query(&statement, &[]).await?;
        prepared.push(ms(start.elapsed()));
    }
    Ok([
        (percentile(&simple, 50.0), percentile(&simple, 99.0)),
        (percentile(&prepared, 50.0), percentile(&prepared, 99.0)),
    ])
}

/// The first run of `sql` and the p50/p99 of `repeats` more, in ms.
pub async fn repeated(client: &Client, sql: &str, repeats: usize) -> Result<(f64, f64, f64)> {
    let start = Instant::now();
    client.simple_query(sql).await?;
    let first = ms(start.elapsed());
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let start = Instant::now();
        client.simple_query(sql).await?;
        times.push(ms(start.elapsed()));
    }
    Ok((first, percentile(&times, 50.0), percentile(&times, 99.0)))
}
