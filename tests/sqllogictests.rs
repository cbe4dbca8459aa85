//! Runs every `.slt` file under `sqllogictest/` against a fresh Enishi server, once
//! over the simple query protocol and once over the extended protocol. A failing
//! record is reported and the run goes on; the process fails if any record failed.
//!
//! Over the extended protocol the column types a record declares (`query IRT`)
//! are checked against the types the server describes: I for int2/int4/int8,
//! R for float4/float8/numeric, T for text, varchar, char and name (other types
//! are not checked).
//!
//! `cargo test --test sqllogictests -- FILTER` runs only files whose path contains
//! FILTER. Records can be limited to one protocol with `onlyif simple` /
//! `onlyif extended` (e.g. types the extended test client cannot decode).

#[path = "support/s3.rs"]
mod s3;
#[path = "support/server.rs"]
mod server;

use std::path::{Path, PathBuf};

use sqllogictest::{DBOutput, DefaultColumnType, Record, Runner};
use sqllogictest_engines::postgres::{PostgresExtended, PostgresSimple};

use s3::S3Server;
use server::TestServer;

fn slt_files(root: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(root)
        .expect("sqllogictest dir")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            slt_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "slt") {
            out.push(path);
        }
    }
}

/// The extended-protocol engine, reporting each result column's type as the
/// server describes it (the engine itself reports none).
struct Typed(PostgresExtended);

fn column_type(ty: &tokio_postgres::types::Type) -> DefaultColumnType {
    use tokio_postgres::types::Type;
    match *ty {
        Type::INT2 | Type::INT4 | Type::INT8 => DefaultColumnType::Integer,
        Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC => DefaultColumnType::FloatingPoint,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => DefaultColumnType::Text,
        _ => DefaultColumnType::Any,
    }
}

#[async_trait::async_trait]
impl sqllogictest::AsyncDB for Typed {
    type Error = <PostgresExtended as sqllogictest::AsyncDB>::Error;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, Self::Error> {
        let output = self.0.run(sql).await?;
        let DBOutput::Rows { types, rows } = output else {
            return Ok(output);
        };
        // Described again (Parse/Describe only: nothing runs twice).
        let types = match self.0.client().prepare(sql).await {
            Ok(statement) if statement.columns().len() == types.len() => statement
                .columns()
                .iter()
                .map(|c| column_type(c.type_()))
                .collect(),
            _ => types,
        };
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {
        self.0.shutdown().await
    }

    fn engine_name(&self) -> &str {
        self.0.engine_name()
    }

    fn error_sql_state(err: &Self::Error) -> Option<String> {
        PostgresExtended::error_sql_state(err)
    }
}

/// Declared and described column types agree where both are known.
#[allow(clippy::ptr_arg)] // the runner's validator signature takes `&Vec`
fn types_agree(actual: &Vec<DefaultColumnType>, expected: &Vec<DefaultColumnType>) -> bool {
    actual.len() == expected.len()
        && actual
            .iter()
            .zip(expected)
            .all(|(a, e)| *a == DefaultColumnType::Any || *e == DefaultColumnType::Any || a == e)
}

/// Runs one file in one protocol; returns the failures as printable text.
async fn run_file<D, M>(path: &Path, mut runner: Runner<D, M>, label: &str) -> Vec<String>
where
    D: sqllogictest::AsyncDB<ColumnType = DefaultColumnType>,
    M: sqllogictest::MakeConnection<Conn = D>,
{
    runner.add_label(label);
    let records = match sqllogictest::parse_file::<DefaultColumnType>(path) {
        Ok(r) => r,
        Err(e) => return vec![format!("{}: cannot parse: {e}", path.display())],
    };
    let mut failures = Vec::new();
    for record in records {
        if matches!(record, Record::Halt { .. }) {
            break;
        }
        if let Err(e) = runner.run_async(record).await {
            failures.push(format!("[{label}] {e}"));
        }
    }
    failures
}

fn relative(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string()
}

/// Runs one file against `server` over the protocol `label` names.
async fn run_on(server: &TestServer, file: &Path, label: &str) -> Vec<String> {
    let config = server.config();
    if label == "simple" {
        let runner = Runner::new(move || {
            let config = config.clone();
            async move { PostgresSimple::connect(config).await }
        });
        run_file(file, runner, label).await
    } else {
        let mut runner = Runner::new(move || {
            let config = config.clone();
            async move { PostgresExtended::connect(config).await.map(Typed) }
        });
        runner.with_column_validator(types_agree);
        run_file(file, runner, label).await
    }
}

#[tokio::main]
async fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sqllogictest");
    let mut files = Vec::new();
    slt_files(&root, &mut files);
    files.retain(|f| {
        filter
            .as_ref()
            .is_none_or(|needle| f.to_string_lossy().contains(needle))
    });

    // The storage suite runs a second time with its data in S3 (moto).
    let on_s3 = |name: &str| name.starts_with("storage/") || name.starts_with("types/");
    let s3 = files
        .iter()
        .any(|f| on_s3(&relative(&root, f)))
        .then(|| S3Server::start("enishi-slt"));

    let (mut passed, mut failed) = (0usize, 0usize);
    let mut run = 0;
    for file in &files {
        let name = relative(&root, file);
        let mut backends = vec![None];
        if on_s3(&name) {
            backends.push(s3.as_ref());
        }
        for backend in backends {
            for label in ["simple", "extended"] {
                run += 1;
                let (server, place) = match backend {
                    None => (TestServer::start(), ""),
                    Some(s3) => {
                        let env = s3.env(&format!("run-{}-{run}", std::process::id()));
                        let env: Vec<(&str, &str)> =
                            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                        (TestServer::start_with(&env), ", s3")
                    }
                };
                let failures = run_on(&server, file, label).await;
                if failures.is_empty() {
                    passed += 1;
                    println!("ok     {name} [{label}{place}]");
                } else {
                    failed += 1;
                    println!(
                        "FAILED {name} [{label}{place}]: {} record(s)",
                        failures.len()
                    );
                    for failure in failures {
                        println!("{failure}\n");
                    }
                }
            }
        }
    }
    println!("\nsqllogictest: {passed} passed, {failed} failed");
    // Stop moto now: process::exit below skips destructors.
    drop(s3);
    if failed > 0 {
        std::process::exit(1);
    }
}
