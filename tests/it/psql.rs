//! psql as users run it: meta-commands read pg_catalog the way PostgreSQL 15's psql
//! does, and their output must show PostgreSQL type names; the whole flow of
//! `tests/clients/psql` must print what it prints against PostgreSQL 15.

use std::process::Command;

use crate::server::TestServer;

/// Runs psql against `server` with `args`; its stdout (it must succeed).
pub fn psql(server: &TestServer, args: &[&str]) -> String {
    let output = Command::new("psql")
        .args([
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            &server.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .args(args)
        .output()
        .expect("psql is installed (the test script installs postgresql-client)");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "psql {args:?} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

#[test]
fn select_one_prints_one() {
    let server = TestServer::start();
    let out = psql(&server, &["-c", "select 1"]);
    assert!(out.contains("?column?"), "{out}");
    assert_eq!(psql(&server, &["-Atc", "select 1"]).trim(), "1");
}

#[test]
fn describe_shows_declared_postgres_types() {
    let server = TestServer::start();
    psql(
        &server,
        &[
            "-c",
            "CREATE TABLE t (a integer, b varchar(20), c timestamptz, d numeric(10,2) not null)",
        ],
    );
    let out = psql(&server, &["-c", "\\d t"]);
    for expected in [
        "Table \"public.t\"",
        "integer",
        "character varying(20)",
        "timestamp with time zone",
        "numeric(10,2)",
        "not null",
    ] {
        assert!(out.contains(expected), "\\d t lacks {expected}:\n{out}");
    }
}

#[test]
fn meta_commands_list_databases_schemas_tables_and_functions() {
    let server = TestServer::start();
    psql(&server, &["-c", "CREATE TABLE listed (x int)"]);
    let out = psql(&server, &["-c", "\\l"]);
    assert!(out.contains("postgres"), "{out}");
    let out = psql(&server, &["-c", "\\dn"]);
    assert!(out.contains("public"), "{out}");
    let out = psql(&server, &["-c", "\\dt"]);
    assert!(out.contains("listed") && out.contains("table"), "{out}");
    let out = psql(&server, &["-c", "\\df"]);
    assert!(out.contains("List of functions"), "{out}");
}

#[test]
fn values_print_as_postgres_prints_them() {
    let server = TestServer::start();
    let out = psql(
        &server,
        &[
            "-At",
            "-F",
            "|",
            "-c",
            "select true, 1.5::float8, 1e20::float8, 2.50::numeric(5,2), '\\xdead'::bytea, \
         date '2024-01-02', timestamp '2024-01-02 03:04:05', \
         '2024-01-02 03:04:05+00'::timestamptz",
        ],
    );
    assert_eq!(
        out.trim(),
        "t|1.5|1e+20|2.50|\\xdead|2024-01-02|2024-01-02 03:04:05|2024-01-02 03:04:05+00"
    );
}

/// Runs `tests/clients/psql/run.sh` against `port`; its normalized output.
fn psql_flow(port: u16) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/psql");
    let out = std::env::temp_dir().join(format!(
        "enishi-psql-flow-{}-{port}.txt",
        std::process::id()
    ));
    let status = Command::new(dir.join("run.sh"))
        .arg(port.to_string())
        .arg(&out)
        .status()
        .expect("run.sh runs");
    assert!(status.success(), "run.sh failed");
    let text = std::fs::read_to_string(&out).expect("run.sh wrote its output");
    let _ = std::fs::remove_file(&out);
    text
}

/// psql's meta-commands (`\l \dn \dt \dv \d \d+ \df \dT \du`), `\x`,
/// `\gset`, `-c` with several statements and `\copy` both ways print the same
/// against Enishi as against PostgreSQL 15 (owners and sizes normalized).
#[test]
fn psql_flow_prints_what_it_prints_on_postgresql() {
    let server = TestServer::start();
    let postgres = crate::oracle::Postgres::start();
    let expected = psql_flow(postgres.port);
    let enishi = psql_flow(server.port);
    for (line, (ours, theirs)) in enishi.lines().zip(expected.lines()).enumerate() {
        assert_eq!(
            ours,
            theirs,
            "line {} differs: Enishi (left), PostgreSQL 15 (right)\n{enishi}",
            line + 1
        );
    }
    assert_eq!(enishi.lines().count(), expected.lines().count(), "{enishi}");
}
