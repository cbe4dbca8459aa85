//! Python drivers as applications use them: psycopg 3 (server-side parameters,
//! binary results, prepared statements) and asyncpg (binary I/O for every type).
//! Each script asserts what it reads and exits non-zero on any difference.

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
