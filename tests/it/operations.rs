//! The HTTP API operators use: health, readiness, status with the effective
//! configuration, and Prometheus metrics under the manual's names on both the
//! API port and the metrics port, moving when queries run and fail.

use crate::server::TestServer;

const MANUAL_METRICS: &[&str] = &[
    "enishi_query_duration_seconds_bucket",
    "enishi_query_duration_seconds_sum",
    "enishi_query_duration_seconds_count",
    "enishi_queries_per_second_total",
    "enishi_cache_hit_ratio",
    "enishi_memory_usage_bytes",
    "enishi_cpu_usage_percent",
    "enishi_storage_used_bytes",
    "enishi_storage_total_bytes",
    "enishi_error_count_total",
    "enishi_last_error_timestamp",
    "enishi_connections_active",
    "enishi_plan_duration_seconds",
];

#[tokio::test]
async fn health_ready_status_and_metrics() {
    let server = TestServer::start();
    let (code, body) = server.http_get("/health");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("healthy"), "{body}");
    assert_eq!(server.http_get("/ready").0, 200);
    let (code, body) = server.http_get("/status");
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    // Where the data lives is not shown to a caller without the admin token.
    assert_eq!(
        status["configuration"]["storage"]["path"].as_str(),
        Some("<redacted>")
    );
    assert_eq!(
        status["configuration"]["server"]["pg_port"].as_u64(),
        Some(server.port as u64)
    );

    let client = server.connect().await;
    let before = server.metric("enishi_queries_per_second_total").unwrap();
    client
        .batch_execute("create table m (x int); insert into m values (1), (2)")
        .await
        .unwrap();
    client.simple_query("select * from m").await.unwrap();
    assert!(client.simple_query("select nope from m").await.is_err());

    for port in [server.http_port, server.metrics_port] {
        let (code, text) = server.http_get_on(port, "/metrics");
        assert_eq!(code, 200);
        for name in MANUAL_METRICS {
            assert!(text.contains(name), "{name} missing on port {port}");
        }
    }
    let after = server.metric("enishi_queries_per_second_total").unwrap();
    assert_eq!(after - before, 3.0, "create, insert, select");
    assert!(server.metric("enishi_connections_active").unwrap() >= 1.0);
    assert!(server.metric("enishi_rows_returned_total").unwrap() >= 2.0);
    assert!(server.metric("enishi_last_error_timestamp").unwrap() > 1.7e9);
    assert!(server.metric("enishi_memory_usage_bytes").unwrap() > 1e6);
    // Object-store traffic: the insert wrote a data file and a log entry, the
    // select read them.
    let (_, text) = server.http_get("/metrics");
    for line in [
        "enishi_object_store_requests_total{operation=\"put\"}",
        "enishi_object_store_requests_total{operation=\"get\"}",
        "enishi_object_store_bytes_total{direction=\"read\"}",
        "enishi_object_store_bytes_total{direction=\"write\"}",
    ] {
        let value: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix(line)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{line} missing"));
        assert!(value > 0.0, "{line} {value}");
    }
    assert!(
        text.contains("enishi_error_count_total{class=\"42\"} 1"),
        "{text}"
    );
    // The metrics port serves nothing else.
    assert_eq!(server.http_get_on(server.metrics_port, "/status").0, 404);
}

#[tokio::test]
async fn sigterm_drains_then_exits() {
    let mut server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute("create table d (x int)")
        .await
        .unwrap();
    server.terminate();
    // /ready fails first; new clients are told the server is shutting down.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while server.http_get("/ready").0 != 503 {
        assert!(std::time::Instant::now() < deadline, "/ready never failed");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let refused = server
        .config()
        .connect(tokio_postgres::NoTls)
        .await
        .err()
        .expect("new connections are refused");
    assert_eq!(refused.code().map(|c| c.code()), Some("57P03"), "{refused}");
    // The open connection finishes its work; then the server exits cleanly.
    client
        .batch_execute("insert into d values (1)")
        .await
        .unwrap();
    drop(client);
    // (Let the client's connection task close its socket before blocking.)
    let mut status = None;
    for _ in 0..200 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        status = server.wait_exit(std::time::Duration::ZERO);
        if status.is_some() {
            break;
        }
    }
    let status = status.expect("the server exits once drained");
    assert!(status.success(), "{status}");
}

/// `enishi --verify-data` over a storage directory: its report and exit code.
fn verify_data(dir: &std::path::Path) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_enishi"))
        .arg("--verify-data")
        .env("ENISHI_STORAGE_PATH", dir)
        .env("RUST_LOG", "error")
        .output()
        .expect("run enishi --verify-data");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test]
async fn verify_data_passes_healthy_tables_and_names_a_damaged_one() {
    let dir = std::env::temp_dir().join(format!("enishi-verify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let server = TestServer::start_in(&dir, &[]);
        server
            .connect()
            .await
            .batch_execute(
                "create table good (x int); insert into good values (1), (2), (3);
                 create table bad (x int); insert into bad values (4), (5);",
            )
            .await
            .unwrap();
    }
    let (ok, report) = verify_data(&dir);
    assert!(ok, "{report}");
    assert!(report.contains("ok       public.good (3 rows)"), "{report}");
    assert!(report.contains("ok       public.bad (2 rows)"), "{report}");

    // Damage the end of one of `bad`'s data files (its Parquet footer).
    let table_dir = dir.join("tables/2");
    let file = std::fs::read_dir(&table_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .expect("a data file");
    let mut bytes = std::fs::read(&file).unwrap();
    let len = bytes.len();
    bytes[len - 6..].fill(0);
    std::fs::write(&file, bytes).unwrap();

    let (ok, report) = verify_data(&dir);
    assert!(!ok, "{report}");
    assert!(report.contains("DAMAGED  public.bad"), "{report}");
    assert!(report.contains("ok       public.good"), "{report}");
    std::fs::remove_dir_all(&dir).ok();
}

/// pg_stat_activity lists each connected session with what it runs, and
/// pg_stat_database counts sessions and ended transactions, as dashboards
/// (pgAdmin's) read them.
#[tokio::test]
async fn statistics_views_show_sessions_and_transactions() {
    let server = TestServer::start();
    let watcher = server.connect().await;
    let worker = server.connect().await;
    worker
        .batch_execute("set application_name = 'loader'; create table t (a int); begin; insert into t values (1)")
        .await
        .unwrap();
    let rows = watcher
        .query(
            "select application_name, state, query, client_addr, xact_start is not null \
             from pg_stat_activity where datname = current_database() order by state",
            &[],
        )
        .await
        .unwrap();
    let seen: Vec<(String, String, String, String, bool)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].1, "active");
    assert!(seen[0].2.contains("pg_stat_activity"), "{seen:?}");
    assert_eq!(
        (seen[1].0.as_str(), seen[1].1.as_str(), seen[1].2.as_str()),
        (
            "loader",
            "idle in transaction",
            // The whole text the client sent, as PostgreSQL shows it.
            "set application_name = 'loader'; create table t (a int); begin; insert into t values (1)"
        )
    );
    assert_eq!(seen[1].3, "127.0.0.1");
    assert!(seen[1].4, "a transaction is open: {seen:?}");

    let (backends, commits, rollbacks, sessions) = database_counts(&watcher).await;
    assert_eq!((backends, sessions), (2, 2));
    worker.batch_execute("rollback").await.unwrap();
    worker.batch_execute("select 1").await.unwrap();
    let after = database_counts(&watcher).await;
    // The rollback, and the select and the count before this one, each ended
    // a transaction.
    assert_eq!((after.1, after.2), (commits + 2, rollbacks + 1));

    let tables: i64 = watcher
        .query_one(
            "select count(*) from pg_stat_user_tables s join pg_statio_user_tables io \
             on io.relid = s.relid where s.relname = 't' and s.seq_scan = 0",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 1);
    drop(worker);
    for _ in 0..50 {
        if database_counts(&watcher).await.0 == 1 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("a closed session stays in pg_stat_activity");
}

/// numbackends, xact_commit, xact_rollback and sessions of the database.
async fn database_counts(client: &tokio_postgres::Client) -> (i32, i64, i64, i64) {
    let row = client
        .query_one(
            "select numbackends, xact_commit, xact_rollback, sessions \
             from pg_stat_database where datname = current_database()",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2), row.get(3))
}
