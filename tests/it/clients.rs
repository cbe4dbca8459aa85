//! Drivers as applications use them: psycopg 3 (server-side parameters,
//! binary results, prepared statements) and asyncpg (binary I/O for every type),
//! whose scripts assert what they read and exit non-zero on any difference;
//! node-postgres, SQLAlchemy with pandas, and pgjdbc, whose observations are
//! compared with PostgreSQL 15's; and pgbench, initializing and running its
//! built-in scripts.

use std::path::Path;
use std::process::Command;

use crate::server::TestServer;

fn run_python(script: &str, server: &TestServer) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(script);
    let output = Command::new("python3")
        .arg(&path)
        .arg(server.port.to_string())
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{script} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn psycopg3_binary_results_and_prepared_statements() {
    let server = TestServer::start();
    run_python("psycopg3_check.py", &server);
}

#[test]
fn psycopg3_copy_in_and_out() {
    let server = TestServer::start();
    run_python("psycopg_copy_check.py", &server);
}

#[test]
fn asyncpg_binary_io_for_every_type() {
    let server = TestServer::start();
    run_python("asyncpg_check.py", &server);
}

/// Runs a node-postgres script from `tests/clients/node` against `port`;
/// returns what it printed.
fn run_node(script: &str, port: u16) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/node");
    assert!(
        dir.join("node_modules/pg").exists(),
        "node-postgres is not installed: run scripts/test (npm ci in tests/clients/node)"
    );
    let output = Command::new("node")
        .arg(script)
        .arg(port.to_string())
        .current_dir(&dir)
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// node-postgres: parameters, named statements, row arrays, a multi-statement
/// query and errors. Enishi must give the client exactly what PostgreSQL 15
/// gives it: rows as decoded, field names, type OIDs and formats, command tags,
/// row counts and SQLSTATEs.
#[test]
fn node_postgres_observes_what_it_observes_on_postgresql() {
    let server = TestServer::start();
    let postgres = crate::oracle::Postgres::start();
    let expected = run_node("pg_check.js", postgres.port);
    let enishi = run_node("pg_check.js", server.port);
    assert_eq!(enishi, expected);
}

/// Runs a Python observation script against `port`; returns what it printed
/// (one JSON observation per line).
pub(crate) fn observe_python(script: &str, port: u16) -> String {
    observe_python_with(Path::new("python3"), script, port)
}

/// What `script` (in tests/clients) prints when run by `python` against `port`.
pub(crate) fn observe_python_with(python: &Path, script: &str, port: u16) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(script);
    let output = Command::new(python)
        .arg(&path)
        .arg(port.to_string())
        .output()
        .unwrap_or_else(|e| panic!("{} runs: {e}", python.display()));
    assert!(
        output.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// Compares two observation logs line by line, naming the first step that
/// differs (with the server-side messages the script wrote to stderr).
pub(crate) fn assert_same_observations(enishi: &str, postgres: &str) {
    for (ours, theirs) in enishi.lines().zip(postgres.lines()) {
        assert_eq!(
            ours, theirs,
            "Enishi (left) and PostgreSQL 15 (right) differ"
        );
    }
    assert_eq!(
        enishi.lines().count(),
        postgres.lines().count(),
        "different number of observations:\n{enishi}"
    );
}

/// SQLAlchemy 2's inspector (schemas, tables, views, columns with defaults
/// and comments, primary keys, foreign keys, indexes, unique and check
/// constraints, table comments, metadata reflection), Core statements with
/// parameters, and pandas' to_sql(if_exists='replace'), read_sql_table and
/// read_sql: over psycopg 3 and psycopg2, Enishi must give what PostgreSQL 15
/// gives.
#[test]
fn sqlalchemy_and_pandas_observe_what_they_observe_on_postgresql() {
    let server = TestServer::start();
    let postgres = crate::oracle::Postgres::start();
    let expected = observe_python("sqlalchemy_check.py", postgres.port);
    let enishi = observe_python("sqlalchemy_check.py", server.port);
    assert_same_observations(&enishi, &expected);
}

/// pgcli (from PyPI): its completion refresh as pgcli runs it (schemas,
/// tables, views, columns, foreign keys, functions, types, casing), the
/// completions it then offers (joins along foreign keys), and pgspecial's
/// `\d` family: Enishi must give what PostgreSQL 15 gives.
#[test]
fn pgcli_observes_what_it_observes_on_postgresql() {
    let server = TestServer::start();
    let postgres = crate::oracle::Postgres::start();
    let expected = observe_python("pgcli_check.py", postgres.port);
    let enishi = observe_python("pgcli_check.py", server.port);
    assert_same_observations(&enishi, &expected);
}

/// pgjdbc (Debian's libpostgresql-jdbc-java): DatabaseMetaData (schemas,
/// tables, columns, primary keys, indexes, types), ResultSetMetaData, named
/// statements with binary results past prepareThreshold, a portal read in
/// pieces with setFetchSize, and errors. Enishi must give what PostgreSQL 15
/// gives.
#[test]
fn pgjdbc_observes_what_it_observes_on_postgresql() {
    const DRIVER: &str = "/usr/share/java/postgresql.jar";
    assert!(
        Path::new(DRIVER).exists(),
        "pgjdbc is not installed: run scripts/test (apt libpostgresql-jdbc-java)"
    );
    let run = |port: u16| {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/jdbc/JdbcCheck.java");
        let output = Command::new("java")
            .args(["-cp", DRIVER])
            .arg(&script)
            .arg(port.to_string())
            .output()
            .expect("java runs");
        assert!(
            output.status.success(),
            "JdbcCheck failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 output")
    };
    let server = TestServer::start();
    let postgres = crate::oracle::Postgres::start();
    let expected = run(postgres.port);
    let enishi = run(server.port);
    assert_same_observations(&enishi, &expected);
}

/// The startup and schema-browsing statements of DBeaver, Metabase, Grafana,
/// pgAdmin and Superset (tests/clients/replays) run on Enishi with the result
/// shapes PostgreSQL 15 gives (column names; row counts where the rows are the
/// fixture's objects), or fail only where known_differences.txt says why.
#[test]
fn bi_tool_replays_get_postgresql_result_shapes() {
    let server = TestServer::start();
    let postgres = crate::oracle::Postgres::start();
    let expected = observe_python("replays/replay.py", postgres.port);
    let enishi = observe_python("replays/replay.py", server.port);
    let known: std::collections::BTreeMap<String, String> = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/replays/known_differences.txt"),
    )
    .expect("known_differences.txt")
    .lines()
    .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    .filter_map(|l| l.split_once(' '))
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(enishi.lines().count(), expected.lines().count());
    let (mut agree, mut unexpected, mut now_agree) = (0, Vec::new(), Vec::new());
    for (ours, theirs) in enishi.lines().zip(expected.lines()) {
        let seen: serde_json::Value = serde_json::from_str(theirs).expect("JSON");
        let key = format!(
            "{}:{}",
            seen["tool"].as_str().unwrap_or(""),
            seen["statement"]
        );
        match (ours == theirs, known.contains_key(&key)) {
            (true, false) => agree += 1,
            (true, true) => now_agree.push(key),
            (false, true) => {}
            (false, false) => unexpected.push(format!(
                "{key}\n  Enishi:     {ours}\n  PostgreSQL: {theirs}"
            )),
        }
    }
    println!(
        "BI tool replays: {agree} of {} statements as PostgreSQL 15 answers them",
        expected.lines().count()
    );
    assert!(
        unexpected.is_empty(),
        "differences not in known_differences.txt:\n{}",
        unexpected.join("\n")
    );
    assert!(
        now_agree.is_empty(),
        "listed as different but now agree: {now_agree:?}"
    );
}

/// Runs pgbench against the server with `args`; its output.
fn pgbench(server: &TestServer, args: &[&str]) -> String {
    let port = server.port.to_string();
    // PostgreSQL 15's own, which scripts/test installs.
    let binary = Path::new("/usr/lib/postgresql/15/bin/pgbench");
    let output = Command::new(if binary.exists() {
        binary
    } else {
        Path::new("pgbench")
    })
    .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres"])
    .args(args)
    .arg("postgres")
    .output()
    .expect("pgbench runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "pgbench {args:?} failed:\n{text}");
    text
}

/// `pgbench -i` as users run it, client- and server-side generation (its
/// TRUNCATE and COPY … WITH (FREEZE ON) in one transaction, then ALTER TABLE
/// … ADD PRIMARY KEY), and each built-in script run to completion by one
/// client without a failed transaction.
#[tokio::test(flavor = "multi_thread")]
async fn pgbench_initializes_and_runs_its_builtin_scripts() {
    let server = TestServer::start();
    for steps in ["dtgvp", "dtGvp"] {
        let out = pgbench(&server, &["-i", "-I", steps, "-s", "1"]);
        assert!(out.contains("done in"), "{out}");
    }
    for script in ["tpcb-like", "simple-update", "select-only"] {
        let out = pgbench(&server, &["-b", script, "-c", "1", "-t", "10"]);
        assert!(
            out.contains("number of transactions actually processed: 10/10"),
            "{script}: {out}"
        );
    }
    let client = server.connect().await;
    let count: i64 = client
        .query_one("SELECT count(*) FROM pgbench_accounts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 100_000);
    // The key ADD PRIMARY KEY declared holds from then on.
    let duplicate = client
        .execute(
            "INSERT INTO pgbench_branches (bid, bbalance) VALUES (1, 0)",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(duplicate.code().unwrap().code(), "23505");
    let second = client
        .execute(
            "ALTER TABLE pgbench_branches ADD PRIMARY KEY (bbalance)",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(second.code().unwrap().code(), "42P16");
    client
        .batch_execute("CREATE TABLE twice (k int); INSERT INTO twice VALUES (1), (1)")
        .await
        .unwrap();
    let repeated = client
        .execute("ALTER TABLE twice ADD PRIMARY KEY (k)", &[])
        .await
        .unwrap_err();
    assert_eq!(repeated.code().unwrap().code(), "23505");
}
