//! TPC-H: generated data, its load into Enishi and PostgreSQL, and the 22
//! queries run on every engine, with a checksum of each answer so that a
//! speed is only compared between engines that gave the same answer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use bytes::Bytes;
use futures::{SinkExt, pin_mut};
use md5::{Digest, Md5};
use tokio::io::AsyncReadExt;
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::report::ms;
use crate::servers::Result;

pub const TABLES: &[&str] = &[
    "region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem",
];

/// Where the bench's SQL and scripts live in the source tree.
pub fn bench_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The generated data of one scale factor, as Parquet and as CSV (with a
/// header line), one file per table.
pub struct Data {
    pub parquet: PathBuf,
    pub csv: PathBuf,
}

/// Generates the data with `tpchgen-cli` unless an earlier run left it.
pub fn ensure_data(work: &Path, scale: &str) -> Result<Data> {
    let root = work.join(format!("tpch-sf{scale}"));
    let data = Data {
        parquet: root.join("parquet"),
        csv: root.join("csv"),
    };
    for (format, dir) in [("parquet", &data.parquet), ("csv", &data.csv)] {
        let done = dir.join(".complete");
        if done.exists() {
            continue;
        }
        eprintln!(
            "generating TPC-H SF{scale} as {format} in {}",
            dir.display()
        );
        let status = Command::new("tpchgen-cli")
            .args([
                format,
                "--scale-factor",
                scale,
                "--overwrite",
                "--output-dir",
            ])
            .arg(dir)
            .status()
            .map_err(|e| format!("tpchgen-cli ({e}): pip install tpchgen-cli"))?;
        if !status.success() {
            return Err(format!("tpchgen-cli {format} failed").into());
        }
        std::fs::write(done, "")?;
    }
    Ok(data)
}

/// The 22 queries, `q01` … `q22`, in order.
pub fn queries() -> Result<Vec<(String, String)>> {
    let dir = bench_dir().join("tpch/queries");
    let mut queries = Vec::new();
    for n in 1..=22 {
        let name = format!("q{n:02}");
        let text = std::fs::read_to_string(dir.join(format!("{name}.sql")))?;
        queries.push((name, text.trim().trim_end_matches(';').to_string()));
    }
    Ok(queries)
}

/// The tables' definitions, shared by Enishi and PostgreSQL.
pub fn schema_statements() -> Result<Vec<String>> {
    statements(&bench_dir().join("tpch/postgres_schema.sql"))
}

pub fn statements(file: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(file)?;
    let without_comments: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    Ok(without_comments
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}

/// Streams a CSV file into `table` with `COPY … FROM STDIN`; returns the rows
/// the server reports.
pub async fn copy_csv(client: &Client, table: &str, file: &Path) -> Result<u64> {
    let sink = client
        .copy_in(&format!(
            "COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)"
        ))
        .await?;
    pin_mut!(sink);
    let mut input = tokio::fs::File::open(file).await?;
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = input.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        sink.send(Bytes::copy_from_slice(&buffer[..n])).await?;
    }
    Ok(sink.finish().await?)
}

/// Loads every table from the CSV files; returns seconds and rows per table.
pub async fn load(client: &Client, data: &Data) -> Result<BTreeMap<String, (f64, u64)>> {
    for statement in schema_statements()? {
        client.batch_execute(&statement).await?;
    }
    let mut seconds = BTreeMap::new();
    for table in TABLES {
        let start = Instant::now();
        let rows = copy_csv(client, table, &data.csv.join(format!("{table}.csv"))).await?;
        seconds.insert(table.to_string(), (start.elapsed().as_secs_f64(), rows));
    }
    Ok(seconds)
}

/// What one engine did with one query.
#[derive(Clone, Debug, Default)]
pub struct QueryRun {
    pub cold_ms: f64,
    pub runs_ms: Vec<f64>,
    pub rows: usize,
    pub checksum: String,
    pub error: Option<String>,
}

/// One engine's whole TPC-H run.
#[derive(Debug, Default)]
pub struct EngineRun {
    pub engine: String,
    pub queries: BTreeMap<String, QueryRun>,
    pub peak_rss_kib: Option<u64>,
    pub load_s: Option<f64>,
}

/// Runs a query over the simple protocol (text results, as psql does) and
/// returns its time and rows.
pub async fn run_text(client: &Client, sql: &str) -> Result<(f64, Vec<Vec<Option<String>>>)> {
    let start = Instant::now();
    let messages = client.simple_query(sql).await?;
    let elapsed = ms(start.elapsed());
    let rows = messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_string))
                    .collect(),
            ),
            _ => None,
        })
        .collect();
    Ok((elapsed, rows))
}

/// Runs every query once (cold) and then `runs` more times over one
/// connection, recording times and the answer's checksum.
pub async fn run_queries(
    client: &Client,
    queries: &[(String, String)],
    runs: usize,
    engine: &str,
) -> EngineRun {
    let mut result = EngineRun {
        engine: engine.to_string(),
        ..Default::default()
    };
    for (name, sql) in queries {
        let mut run = QueryRun::default();
        match run_text(client, sql).await {
            Ok((elapsed, rows)) => {
                run.cold_ms = elapsed;
                run.rows = rows.len();
                run.checksum = checksum(&rows);
                for _ in 0..runs {
                    match run_text(client, sql).await {
                        Ok((elapsed, _)) => run.runs_ms.push(elapsed),
                        Err(e) => run.error = Some(e.to_string()),
                    }
                }
            }
            Err(e) => run.error = Some(error_text(&*e)),
        }
        eprintln!(
            "  {engine} {name}: cold {:.0} ms, runs {:?}{}",
            run.cold_ms,
            run.runs_ms.iter().map(|v| v.round()).collect::<Vec<_>>(),
            run.error
                .as_deref()
                .map(|e| format!(" ERROR {e}"))
                .unwrap_or_default()
        );
        result.queries.insert(name.clone(), run);
    }
    result
}

/// A server error's message, not just "db error".
pub fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    match e.downcast_ref::<tokio_postgres::Error>() {
        Some(pg) => pg
            .as_db_error()
            .map(|db| format!("{}: {}", db.code().code(), db.message()))
            .unwrap_or_else(|| pg.to_string()),
        None => e.to_string(),
    }
}

/// The checksum of an answer, the same rule as `tpch/runner.py`: each
/// value rendered as text (NULL as empty), numbers rounded half away from
/// zero to two decimals, values joined by `|`, rows by `\n`, in the order
/// returned; the MD5 of that, in hex.
pub fn checksum(rows: &[Vec<Option<String>>]) -> String {
    let text = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|v| v.as_deref().map(normalize).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut md5 = Md5::new();
    md5.update(text.as_bytes());
    format!("{:x}", md5.finalize())
}

/// A number to two decimals, exactly from its decimal text; other text as is.
pub fn normalize(value: &str) -> String {
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !digits.ends_with('.');
    if !plain {
        if value.contains(['e', 'E'])
            && let Ok(f) = value.parse::<f64>()
            && f.is_finite()
        {
            return normalize(&format!("{f:.6}"));
        }
        return value.to_string();
    }
    let cents = |s: &str| -> Option<u128> {
        let mut frac = frac.bytes().chain(std::iter::repeat(b'0'));
        let tenths = frac.next()? - b'0';
        let hundredths = frac.next()? - b'0';
        let next = frac.next()? - b'0';
        let whole: u128 = s.parse().ok()?;
        let cents = whole * 100 + u128::from(tenths) * 10 + u128::from(hundredths);
        Some(cents + u128::from(next >= 5))
    };
    let Some(cents) = cents(int) else {
        return value.to_string();
    };
    let sign = if negative && cents != 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

/// Runs an in-process engine (DuckDB or DataFusion, through
/// `tpch/runner.py`) in a process of its own, and reads its JSON lines.
pub fn run_external(mut command: Command, engine: &str) -> EngineRun {
    let mut result = EngineRun {
        engine: engine.to_string(),
        ..Default::default()
    };
    let output = match command.output() {
        Ok(output) => output,
        Err(e) => {
            eprintln!("  {engine}: cannot run ({e})");
            return result;
        }
    };
    if !output.status.success() {
        eprintln!(
            "  {engine} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if let Some(rss) = value["peak_rss_kb"].as_u64() {
            result.peak_rss_kib = Some(rss);
        }
        if let Some(load) = value["load_s"].as_f64() {
            result.load_s = Some(load);
        }
        let Some(query) = value["query"].as_str() else {
            continue;
        };
        let run = QueryRun {
            cold_ms: value["cold_ms"].as_f64().unwrap_or(f64::NAN),
            runs_ms: value["runs_ms"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
                .unwrap_or_default(),
            rows: value["rows"].as_u64().unwrap_or(0) as usize,
            checksum: value["checksum"].as_str().unwrap_or("").to_string(),
            error: value["error"].as_str().map(str::to_string),
        };
        eprintln!(
            "  {engine} {query}: cold {:.0} ms, runs {:?}",
            run.cold_ms,
            run.runs_ms.iter().map(|v| v.round()).collect::<Vec<_>>()
        );
        result.queries.insert(query.to_string(), run);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn numbers_round_half_away_from_zero_to_two_decimals() {
        assert_eq!(normalize("1.005"), "1.01");
        assert_eq!(normalize("-1.005"), "-1.01");
        assert_eq!(normalize("-0.001"), "0.00");
        assert_eq!(normalize("42"), "42.00");
        assert_eq!(normalize("3.14159"), "3.14");
        assert_eq!(normalize("1.5e-05"), "0.00");
        assert_eq!(normalize("2.5e3"), "2500.00");
        assert_eq!(normalize("1995-03-15"), "1995-03-15");
        assert_eq!(normalize("25-989-741-2988"), "25-989-741-2988");
        assert_eq!(normalize("BRAZIL"), "BRAZIL");
        assert_eq!(normalize("1."), "1.");
    }
}
