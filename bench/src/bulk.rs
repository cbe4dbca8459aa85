//! Moving many rows: multi-row INSERT, `SELECT *` streamed to psql (text)
//! and to a binary client, and a table built by 1,000 single-row INSERTs
//! before and after compaction.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use futures::StreamExt;
use tokio_postgres::Client;
use tokio_postgres::types::{FromSql, Type};

use crate::servers::Result;

/// Inserts the first `rows` rows of a CSV file (with a header) into `table`
/// with INSERT statements of `per_statement` rows; returns rows/s.
pub async fn multi_row_insert(
    client: &Client,
    table: &str,
    csv: &Path,
    rows: usize,
    per_statement: usize,
) -> Result<f64> {
    let reader = BufReader::new(std::fs::File::open(csv)?);
    let lines: Vec<String> = reader
        .lines()
        .skip(1)
        .take(rows)
        .collect::<std::io::Result<_>>()?;
    let statements: Vec<String> = lines
        .chunks(per_statement)
        .map(|chunk| {
            let values: Vec<String> = chunk.iter().map(|line| values_row(line)).collect();
            format!("insert into {table} values {}", values.join(","))
        })
        .collect();
    let start = Instant::now();
    for statement in &statements {
        client.batch_execute(statement).await?;
    }
    Ok(lines.len() as f64 / start.elapsed().as_secs_f64())
}

/// One CSV line as a VALUES row of string literals, which both servers cast
/// to the columns' types.
fn values_row(line: &str) -> String {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    let literals: Vec<String> = fields
        .iter()
        .map(|f| format!("'{}'", f.replace('\'', "''")))
        .collect();
    format!("({})", literals.join(","))
}

/// Streams `sql` through psql's unaligned text output; returns (seconds,
/// bytes received).
pub fn stream_to_psql(port: u16, sql: &str) -> Result<(f64, u64)> {
    let start = Instant::now();
    let mut child = Command::new("psql")
        .args(["-X", "-A", "-t", "-h", "127.0.0.1", "-U", "postgres"])
        .args(["-p", &port.to_string(), "-v", "ON_ERROR_STOP=1", "-c", sql])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdout = child.stdout.take().ok_or("psql stdout")?;
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = stdout.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
    }
    if !child.wait()?.success() {
        return Err("psql failed".into());
    }
    Ok((start.elapsed().as_secs_f64(), bytes))
}

/// The size of a value in PostgreSQL's binary format, whatever its type.
struct BinarySize(usize);

impl<'a> FromSql<'a> for BinarySize {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Self(raw.len()))
    }

    fn from_sql_null(
        _: &Type,
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Self(0))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Streams `sql` to this client with binary results (the extended protocol);
/// returns (seconds, rows, bytes of values).
pub async fn stream_binary(client: &Client, sql: &str) -> Result<(f64, u64, u64)> {
    let start = Instant::now();
    let statement = client.prepare(sql).await?;
    let stream = client.query_raw(&statement, Vec::<i32>::new()).await?;
    futures::pin_mut!(stream);
    let (mut rows, mut bytes) = (0u64, 0u64);
    while let Some(row) = stream.next().await {
        let row = row?;
        for i in 0..row.len() {
            bytes += row.try_get::<_, BinarySize>(i)?.0 as u64;
        }
        rows += 1;
    }
    Ok((start.elapsed().as_secs_f64(), rows, bytes))
}

/// Builds `table` with `n` single-row INSERTs.
pub async fn single_row_inserts(client: &Client, table: &str, n: u64) -> Result<f64> {
    client
        .batch_execute(&format!(
            "create table {table} (id bigint, v double precision, s text)"
        ))
        .await?;
    let start = Instant::now();
    for i in 1..=n {
        client
            .batch_execute(&format!(
                "insert into {table} values ({i}, {}, 'row {}')",
                i as f64 * 1.5,
                i % 100
            ))
            .await?;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Whether Enishi's background maintenance has compacted a table under
/// `storage`: an OPTIMIZE commit in some table's log.
pub fn compacted(storage: &Path) -> bool {
    fn visit(dir: &Path) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return false;
        };
        entries.flatten().any(|entry| {
            let path = entry.path();
            if path.is_dir() {
                visit(&path)
            } else {
                path.extension().is_some_and(|e| e == "json")
                    && path.parent().is_some_and(|p| p.ends_with("_delta_log"))
                    && std::fs::read_to_string(&path).is_ok_and(|t| t.contains("\"OPTIMIZE\""))
            }
        })
    }
    visit(storage)
}

#[cfg(test)]
mod tests {
    use super::values_row;

    #[test]
    fn csv_lines_become_string_literals() {
        assert_eq!(
            values_row(r#"1,a b,"x, ""y"" z",it's"#),
            r#"('1','a b','x, "y" z','it''s')"#
        );
    }
}
