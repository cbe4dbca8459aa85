//! PostgreSQL 15 as the oracle: the same queries over the simple protocol must give
//! the same column names and the same text, byte for byte, from Enishi and from a
//! real PostgreSQL server started for the test.

use std::path::PathBuf;
use std::process::Command;

use tokio_postgres::SimpleQueryMessage;

use crate::server::TestServer;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A throwaway PostgreSQL 15 cluster on a loopback port, run as the `postgres`
/// user when the tests run as root (PostgreSQL refuses to run as root).
pub struct Postgres {
    dir: PathBuf,
    pub port: u16,
}

fn as_cluster_owner(program: &str) -> Command {
    let path = format!("{PG_BIN}/{program}");
    if nix_is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", &path]);
        c
    } else {
        Command::new(path)
    }
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

impl Postgres {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("enishi-oracle-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if nix_is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap();
            assert!(status.success());
        }
        let data = dir.join("data");
        let out = as_cluster_owner("initdb")
            .args(["-D"])
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ])
            .output()
            .expect("PostgreSQL 15 is installed (the test script installs postgresql-15)");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c TimeZone=UTC",
            dir.display()
        );
        let out = as_cluster_owner("pg_ctl")
            .args(["-D"])
            .arg(&data)
            .args(["-o", &options, "-w", "-l"])
            .arg(dir.join("log"))
            .arg("start")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self { dir, port }
    }

    pub async fn connect(&self) -> tokio_postgres::Client {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user("postgres")
            .dbname("postgres");
        crate::server::connect(&config).await
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_cluster_owner("pg_ctl")
            .args(["-D"])
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Column names and rows of the last result of a simple query, as text.
async fn text_result(client: &tokio_postgres::Client, sql: &str) -> Result<Table, String> {
    let messages = client.simple_query(sql).await.map_err(|e| {
        e.as_db_error()
            .map(|d| d.code().code().to_string())
            .unwrap_or_else(|| e.to_string())
    })?;
    let mut columns = Vec::new();
    let mut rows = Vec::new();
    for message in messages {
        match message {
            SimpleQueryMessage::RowDescription(cols) => {
                columns = cols.iter().map(|c| c.name().to_string()).collect();
                rows.clear();
            }
            SimpleQueryMessage::Row(row) => {
                rows.push(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_string))
                        .collect(),
                );
            }
            _ => {}
        }
    }
    Ok((columns, rows))
}

const QUERIES: &[&str] = &[
    "select 1, -2, 2147483647, 9223372036854775807",
    "select 1.5::float8, 0.1::float8, 1e20::float8, 1e-5::float8, 123456789012345678::float8, 1e15::float8, 1e14::float8",
    "select 'Infinity'::float8, '-Infinity'::float8, 'NaN'::float8, (1/3::float8)",
    "select 0.5::real, 1e6::real, 3.14159::real, 100000::real",
    "select 2.50::numeric(5,2), 12345678.90::numeric(10,2), 0::numeric(4,1), 1.5",
    "select true, false, null::boolean, null::integer",
    "select 'x'::text, ''::text, 'ünïcode'::varchar(10)",
    "select '\\xdeadbeef'::bytea, ''::bytea, 'abc'::bytea",
    "select date '2024-02-29', date '0001-01-01', date '1999-12-31'",
    "select timestamp '2024-02-29 12:34:56.789', timestamp '2024-01-01 00:00:00', timestamp '2024-01-01 00:00:00.000001'",
    "select timestamptz '2024-06-01 12:00:00+00', timestamptz '2024-01-15 08:30:00.5-03:30'",
    "set timezone = 'Asia/Tokyo'; select timestamptz '2024-06-01 12:00:00+00'",
    "set timezone = 'Asia/Kolkata'; select timestamptz '2024-06-01 12:00:00+00'",
    "set timezone = 'America/New_York'; select timestamptz '2024-01-01 12:00:00+00', timestamptz '2024-07-01 12:00:00+00'",
    "select count(*), sum(x), min(x), max(x) from (values (1),(2),(4)) v(x)",
    "select x + 1, x * 2 as doubled, 'a' || 'b' from (values (1)) v(x)",
    "select 1 as a, 2 as a",
    "show timezone",
    "show datestyle",
    "show intervalstyle",
    "show client_encoding",
    "show standard_conforming_strings",
    // The oracle is whatever PostgreSQL 15 minor release the machine has:
    // compare the major version only.
    "select current_setting('server_version_num')::int / 100, split_part(current_setting('server_version'), '.', 1)",
    "show transaction isolation level",
    "select current_setting('integer_datetimes'), current_setting('server_encoding')",
];

#[tokio::test]
async fn text_output_matches_postgresql() {
    let postgres = Postgres::start();
    let enishi = TestServer::start();
    let pg = postgres.connect().await;
    let us = enishi.connect().await;
    let mut mismatches = Vec::new();
    for sql in QUERIES {
        let expected = text_result(&pg, sql).await;
        let actual = text_result(&us, sql).await;
        if expected != actual {
            mismatches.push(format!(
                "{sql}\n  postgres: {expected:?}\n  enishi:   {actual:?}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} queries differ:\n{}",
        mismatches.len(),
        QUERIES.len(),
        mismatches.join("\n")
    );
}

// ---------------------------------------------------------------- differential corpus

/// A statement of `tests/oracle/corpus.sql`, named `section:N`.
struct CorpusStatement {
    name: String,
    sql: String,
}

fn oracle_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/oracle")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn corpus() -> Vec<CorpusStatement> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut n = 0;
    for line in oracle_file("corpus.sql").lines() {
        if let Some(name) = line.strip_prefix("-- section: ") {
            section = name.trim().to_string();
            n = 0;
        } else if !line.starts_with("--") && !line.trim().is_empty() {
            n += 1;
            out.push(CorpusStatement {
                name: format!("{section}:{n}"),
                sql: line.trim().to_string(),
            });
        }
    }
    out
}

/// The statements COMPATIBILITY.md explains: `name  reason` per line.
fn known_differences() -> std::collections::BTreeMap<String, String> {
    oracle_file("known_differences.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, reason) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            (name.to_string(), reason.trim().to_string())
        })
        .collect()
}

/// Column names and rows (None: NULL) of a result, as text.
type Table = (Vec<String>, Vec<Vec<Option<String>>>);

/// What a client sees of a statement: the result column types it is told
/// when it prepares the statement (PostgreSQL type names; none when it cannot
/// be prepared alone, e.g. several statements), then the columns and rows
/// (sorted unless the statement orders them), or the SQLSTATE of its error.
#[derive(Debug, Clone, PartialEq)]
struct Observed {
    types: Option<Vec<String>>,
    result: Result<Table, String>,
}

async fn observe(client: &tokio_postgres::Client, sql: &str) -> Observed {
    let types = match client.prepare(sql).await {
        Ok(statement) => Some(
            statement
                .columns()
                .iter()
                .map(|c| c.type_().name().to_string())
                .collect(),
        ),
        Err(_) => None,
    };
    let result = text_result(client, sql).await.map(|(columns, mut rows)| {
        if !sql.to_ascii_uppercase().contains("ORDER BY") {
            rows.sort();
        }
        (columns, rows)
    });
    Observed { types, result }
}

/// Enishi's output for each listed difference, as last recorded: a listed
/// statement whose output changes (for the worse, or for the better without
/// being recorded) fails the test. `ENISHI_RECORD_KNOWN=1` records them anew.
fn recorded_outputs() -> std::collections::BTreeMap<String, String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/known_outputs.json");
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn differential_corpus_agrees_with_postgresql() {
    let postgres = Postgres::start();
    let enishi = TestServer::start();
    let pg = postgres.connect().await;
    let us = enishi.connect().await;
    let fixture = oracle_file("fixture.sql");
    pg.batch_execute(&fixture)
        .await
        .expect("fixture on PostgreSQL");
    us.batch_execute(&fixture).await.expect("fixture on Enishi");

    let statements = corpus();
    assert!(
        statements.len() >= 500,
        "the corpus has {} statements",
        statements.len()
    );
    let known = known_differences();
    let recorded = recorded_outputs();
    let record = std::env::var("ENISHI_RECORD_KNOWN").is_ok_and(|v| v == "1");
    let mut outputs = std::collections::BTreeMap::new();
    let mut agreed = 0;
    let mut same_text = 0;
    let mut unexplained = Vec::new();
    let mut fixed = Vec::new();
    let mut changed = Vec::new();
    for statement in &statements {
        let expected = observe(&pg, &statement.sql).await;
        let actual = observe(&us, &statement.sql).await;
        let same = expected == actual;
        if same {
            agreed += 1;
        }
        if expected.result == actual.result {
            same_text += 1;
        }
        match (same, known.contains_key(&statement.name)) {
            (false, false) => unexplained.push(format!(
                "{} {}\n  postgres: {expected:?}\n  enishi:   {actual:?}",
                statement.name, statement.sql
            )),
            (true, true) => fixed.push(statement.name.clone()),
            (false, true) => {
                let now = format!("{actual:?}");
                if recorded.get(&statement.name) != Some(&now) {
                    changed.push(format!(
                        "{} {}\n  recorded: {:?}\n  now:      {now}",
                        statement.name,
                        statement.sql,
                        recorded.get(&statement.name)
                    ));
                }
                outputs.insert(statement.name.clone(), now);
            }
            (true, false) => {}
        }
    }
    let rate = 100.0 * agreed as f64 / statements.len() as f64;
    eprintln!(
        "differential corpus: {agreed} of {} statements agree with PostgreSQL 15 in result types and text ({rate:.1}%); {same_text} in text",
        statements.len()
    );
    if record {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/known_outputs.json");
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&outputs).unwrap() + "\n",
        )
        .unwrap();
        eprintln!(
            "recorded {} known outputs in {}",
            outputs.len(),
            path.display()
        );
    }
    assert!(
        unexplained.is_empty(),
        "{} statements differ from PostgreSQL and are not in tests/oracle/known_differences.txt:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "these now agree with PostgreSQL: remove them from known_differences.txt and COMPATIBILITY.md: {fixed:?}"
    );
    assert!(
        record || changed.is_empty(),
        "{} listed statements changed their output; if for the better, record it (ENISHI_RECORD_KNOWN=1):\n{}",
        changed.len(),
        changed.join("\n")
    );
}
