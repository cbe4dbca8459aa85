//! pgAdmin 4, headless, against Enishi and PostgreSQL 15: its browser tree's
//! HTTP API for a database, a schema, tables, columns, keys, indexes and a
//! view (the property dialogs' JSON and the generated SQL), observed by
//! `tests/clients/pgadmin_check.py` under pgAdmin's own Python environment,
//! which scripts/test installs from PyPI.
//!
//! Every request must answer as on PostgreSQL. The few values that still
//! differ are pinned in `tests/clients/pgadmin_known.tsv`, each with its
//! reason: a difference not listed there fails, and so does a listed one
//! that has gone (remove it from the file).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::server::TestServer;

fn pgadmin_python() -> PathBuf {
    match std::env::var_os("ENISHI_PGADMIN_PYTHON") {
        Some(python) => PathBuf::from(python),
        None => Path::new(&std::env::var("HOME").expect("HOME is set"))
            .join(".cache/enishi/pgadmin4/bin/python"),
    }
}

fn observe(port: u16) -> Vec<Value> {
    let python = pgadmin_python();
    assert!(
        python.exists(),
        "pgAdmin 4 is not installed at {}: run scripts/test",
        python.display()
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/pgadmin_check.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(port.to_string())
        .output()
        .expect("pgAdmin's python runs");
    assert!(
        output.status.success(),
        "pgadmin_check.py failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8 output")
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON observation per line"))
        .collect()
}

/// The paths at which two observations differ, each with both values.
fn differences(path: &str, ours: &Value, theirs: &Value, out: &mut Vec<(String, String)>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let missing = Value::String("<missing>".into());
                differences(
                    &format!("{path}.{key}"),
                    a.get(key).unwrap_or(&missing),
                    b.get(key).unwrap_or(&missing),
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                differences(&format!("{path}[{i}]"), x, y, out);
            }
        }
        _ if ours != theirs => out.push((
            path.to_string(),
            format!("Enishi {ours} / PostgreSQL {theirs}"),
        )),
        _ => {}
    }
}

#[test]
fn pgadmin_observes_what_it_observes_on_postgresql() {
    let server = TestServer::start();
    let postgres = crate::oracle::Postgres::start();
    let expected = observe(postgres.port);
    let enishi = observe(server.port);
    let steps = |o: &[Value]| o.iter().map(|v| v["step"].to_string()).collect::<Vec<_>>();
    assert_eq!(
        steps(&enishi),
        steps(&expected),
        "pgAdmin made other requests"
    );
    let known_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/pgadmin_known.tsv"),
    )
    .expect("the known differences");
    let known: BTreeSet<String> = known_text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut fields = l.split('\t');
            Some(format!("{}\t{}", fields.next()?, fields.next()?))
        })
        .collect();
    let mut found = Vec::new();
    for (ours, theirs) in enishi.iter().zip(&expected) {
        let step = ours["step"].as_str().unwrap_or_default();
        let mut out = Vec::new();
        differences("", ours, theirs, &mut out);
        found.extend(
            out.into_iter()
                .map(|(path, values)| (format!("{step}\t{path}"), values)),
        );
    }
    let unexpected: Vec<String> = found
        .iter()
        .filter(|(key, _)| !known.contains(key))
        .map(|(key, values)| format!("{key}: {values}"))
        .collect();
    assert!(
        unexpected.is_empty(),
        "pgAdmin sees differences not in pgadmin_known.tsv:\n{}",
        unexpected.join("\n")
    );
    let found: BTreeSet<&String> = found.iter().map(|(key, _)| key).collect();
    let gone: Vec<&String> = known.iter().filter(|key| !found.contains(key)).collect();
    assert!(
        gone.is_empty(),
        "these known differences are gone; remove them from pgadmin_known.tsv:\n{gone:?}"
    );
}
