//! The Dockerfile and the README's commands, checked statically (no Docker engine
//! runs where the tests run).

use std::path::Path;

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).expect(name)
}

#[test]
fn dockerfile_builds_the_server_and_runs_it_unprivileged() {
    let text = read("Dockerfile");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let froms: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "a build stage and a runtime stage");
    assert!(froms[0].contains(" AS build"));
    assert!(text.contains("cargo build --release --locked --bin enishi"));
    assert!(text.contains("COPY --from=build /src/target/release/enishi /usr/local/bin/enishi"));
    let user = lines
        .iter()
        .find(|l| l.starts_with("USER "))
        .expect("a USER line");
    assert!(!user.contains("root"), "runtime user must not be root");
    for needed in [
        "ENISHI_HOST=0.0.0.0",
        "ENISHI_STORAGE_PATH=/app/data",
        "EXPOSE 5432 8080 9090",
        "ENISHI_PORT=8080",
        "ENISHI_METRICS_PORT=9090",
        "/app/logs",
    ] {
        assert!(text.contains(needed), "Dockerfile lacks {needed}");
    }
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("ENTRYPOINT [\"/usr/local/bin/enishi\"]")
    );
    // Every file COPY'd from the context exists.
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("Cargo.lock")
            .exists(),
        "--locked needs Cargo.lock"
    );
}

#[test]
fn readme_gives_the_two_commands_and_ci_runs_the_test_one() {
    let readme = read("README.md");
    assert!(
        readme.contains("cargo run --bin enishi"),
        "README lacks the server command"
    );
    assert!(
        readme.contains("scripts/test"),
        "README lacks the test command"
    );
    assert!(
        read(".ci/run").contains("scripts/test"),
        ".ci/run must call the README's test command"
    );
}
