//! The harness on a small TPC-H (SF 0.01): Enishi, DataFusion and DuckDB must
//! each give PostgreSQL's answer to all 22 queries (`--check`). Needs the
//! Enishi server built next to this test (`cargo test --workspace` builds it)
//! and what `scripts/test` installs: PostgreSQL 15, tpchgen-cli, DuckDB and
//! DataFusion's Python bindings.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn every_engine_gives_postgresqls_tpch_answers() {
    // target/<profile>/deps/<this test> → target/<profile>/enishi
    let profile_dir: PathBuf = std::env::current_exe()
        .expect("test path")
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target directory")
        .to_path_buf();
    let server = profile_dir.join("enishi");
    assert!(
        server.exists(),
        "{} is missing: run `cargo test --workspace` (or build the enishi binary first)",
        server.display()
    );
    let work = std::env::temp_dir().join(format!("enishi-bench-test-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_enishi-bench"))
        .args([
            "--scale",
            "0.01",
            "--runs",
            "1",
            "--workloads",
            "tpch",
            "--check",
        ])
        .arg("--enishi")
        .arg(&server)
        .arg("--work")
        .arg(&work)
        .output()
        .expect("run enishi-bench");
    let _ = std::fs::remove_dir_all(&work);
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}\n{}",
        report,
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        report.lines().filter(|l| l.ends_with("| same |")).count(),
        22,
        "{report}"
    );
}
