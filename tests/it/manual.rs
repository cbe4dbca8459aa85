//! The operations manual's procedures, run as written against a real server:
//! its log files and log analysis recipe, SIGHUP, the configuration command,
//! readiness when storage fails, the audit log, connection and session limits,
//! and its backups (cold tar, rsync --link-dest, and the online `enishi backup`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::server::{TestServer, rows};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("enishi-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs a shell script; returns (success, stdout + stderr).
fn sh(script: &str) -> (bool, String) {
    let output = Command::new("bash")
        .args(["-c", script])
        .output()
        .expect("bash");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// Waits until `check` holds, up to `secs` seconds.
pub(crate) async fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The manual's "Log Analysis" recipe, verbatim but for the file's path.
const LATENCY_RECIPE: &str = r#"grep "query" LOGFILE | \
    awk '{print $NF}' | \
    sort -n | \
    awk '
        BEGIN { sum=0; count=0; p95_idx=int(0.95*NR) }
        { sum+=$1; count++; latencies[count]=$1 }
        END {
            if (count > 0) {
                print "Average latency:", sum/count "ms"
                print "P95 latency:", latencies[int(0.95*count)] "ms"
            }
        }
    '"#;

#[tokio::test]
async fn log_file_feeds_the_latency_recipe_and_reopens_on_sighup() {
    let logs = temp_dir("logs");
    let log_dir = logs.to_str().unwrap();
    let server = TestServer::start_with(&[("ENISHI_LOG_DIR", log_dir), ("RUST_LOG", "info")]);
    let client = server.connect().await;
    client
        .batch_execute("create table l (x int); insert into l values (1), (2), (3)")
        .await
        .unwrap();
    for _ in 0..20 {
        client.simple_query("select sum(x) from l").await.unwrap();
    }
    let log = logs.join("enishi.log");
    eventually(10, "query lines in enishi.log", || {
        read(&log).matches("query SELECT").count() >= 20
    })
    .await;

    // Every line the recipe picks ends in a duration, so its figures are sound.
    let text = read(&log);
    let picked: Vec<&str> = text.lines().filter(|l| l.contains("query")).collect();
    assert!(picked.len() >= 22, "{text}");
    for line in &picked {
        let last = line.split_whitespace().last().unwrap();
        assert!(last.parse::<f64>().is_ok(), "not a duration: {line}");
    }
    let (ok, out) = sh(&LATENCY_RECIPE.replace("LOGFILE", log.to_str().unwrap()));
    assert!(ok, "{out}");
    let figure = |label: &str| -> f64 {
        let line = out.lines().find(|l| l.starts_with(label)).expect(label);
        let value = line[label.len()..].trim().trim_end_matches("ms");
        value.parse().unwrap_or_else(|_| panic!("{line}"))
    };
    let (average, p95) = (figure("Average latency:"), figure("P95 latency:"));
    assert!(average > 0.0 && p95 >= 0.0, "{out}");

    // logrotate moves the file away, then `systemctl reload` sends SIGHUP.
    let rotated = logs.join("enishi.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    server.signal("HUP");
    eventually(10, "a new enishi.log", || log.exists()).await;
    client
        .simple_query("select 42 as after_rotation")
        .await
        .unwrap();
    eventually(10, "the query in the new file", || {
        read(&log).contains("query SELECT")
    })
    .await;
    assert!(read(&log).contains("log file reopened"), "{}", read(&log));
    let old = read(&rotated);
    assert!(old.matches("query SELECT").count() >= 20);
    assert!(
        !old.contains("log file reopened"),
        "nothing new goes to the moved file"
    );
    std::fs::remove_dir_all(&logs).ok();
}

#[test]
fn config_command_prints_each_value_with_its_origin() {
    let dir = temp_dir("config-cmd");
    let file = dir.join("enishi.toml");
    std::fs::write(
        &file,
        "[server]\nport = 8181\n[storage.s3]\nsecret_access_key = \"hunter2\"\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_enishi"))
        .args(["config", "--pg-port", "6543"])
        .env("ENISHI_CONFIG", &file)
        .env("ENISHI_MAX_CONNECTIONS", "77")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains(&format!("port = 8181  # file {}", file.display())),
        "{text}"
    );
    assert!(text.contains("pg_port = 6543  # flag --pg-port"), "{text}");
    assert!(
        text.contains("max_connections = 77  # env ENISHI_MAX_CONNECTIONS"),
        "{text}"
    );
    assert!(
        text.contains("drain_timeout_secs = 30  # default"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "secrets are redacted: {text}");

    // An unknown key is refused, naming it and the keys that exist.
    std::fs::write(&file, "[server]\nworkerz = 4\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_enishi"))
        .arg("config")
        .env("ENISHI_CONFIG", &file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("workerz") && err.contains("workers"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn ready_fails_while_the_storage_probe_fails() {
    let dir = temp_dir("probe");
    let config = dir.join("enishi.toml");
    std::fs::write(&config, "[monitoring]\nhealth_check_interval_secs = 1\n").unwrap();
    let data = dir.join("data");
    let server = TestServer::start_in(&data, &[("ENISHI_CONFIG", config.to_str().unwrap())]);
    server
        .connect()
        .await
        .batch_execute("create table p (x int); insert into p values (1)")
        .await
        .unwrap();
    eventually(10, "/ready", || server.http_get("/ready").0 == 200).await;
    assert_eq!(server.metric("enishi_storage_up"), Some(1.0));
    assert_eq!(server.metric("enishi_storage_files"), Some(1.0));

    // The storage goes away (an unmounted volume): readiness fails, liveness not.
    let moved = dir.join("data-moved");
    std::fs::rename(&data, &moved).unwrap();
    eventually(10, "/ready to fail", || server.http_get("/ready").0 == 503).await;
    let (_, body) = server.http_get("/ready");
    assert!(body.contains("storage_unavailable"), "{body}");
    assert_eq!(server.http_get("/health").0, 200);
    assert_eq!(server.metric("enishi_storage_up"), Some(0.0));
    assert!(
        server
            .metric("enishi_storage_probe_failures_total")
            .unwrap()
            >= 1.0
    );

    std::fs::rename(&moved, &data).unwrap();
    eventually(10, "/ready to recover", || {
        server.http_get("/ready").0 == 200
    })
    .await;
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn audit_log_records_logins_statements_and_refusals() {
    let dir = temp_dir("audit");
    let audit = dir.join("audit.log");
    let server = TestServer::start_with(&[
        ("ENISHI_ENABLE_AUDIT", "true"),
        ("ENISHI_AUDIT_LOG_PATH", audit.to_str().unwrap()),
    ]);
    let client = server.connect().await;
    client.simple_query("SELECT 1 AS one").await.unwrap();
    assert!(client.simple_query("SELECT nope").await.is_err());
    let mut config = server.config();
    config.user("mallory");
    assert!(config.connect(tokio_postgres::NoTls).await.is_err());
    drop(client);
    eventually(10, "a logout record", || {
        read(&audit).contains("event=logout")
    })
    .await;

    // The manual's search: grep "user_id=…" audit.log.
    let (_, found) = sh(&format!("grep \"user_id=postgres\" {}", audit.display()));
    let lines: Vec<&str> = found.lines().collect();
    assert!(lines[0].contains("event=login "), "{found}");
    assert!(
        lines.iter().any(|l| l.contains("event=statement")
            && l.contains("outcome=ok")
            && l.contains("statement=\"SELECT 1 AS one\"")),
        "{found}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("outcome=error") && l.contains("sqlstate=42703")),
        "{found}"
    );
    let (_, refused) = sh(&format!("grep \"user_id=mallory\" {}", audit.display()));
    assert!(
        refused.contains("event=login_refused") && refused.contains("sqlstate=28000"),
        "{refused}"
    );
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn connections_past_the_limit_are_refused_with_53300() {
    let server = TestServer::start_with(&[("ENISHI_MAX_CONNECTIONS", "2")]);
    // The start-up probe's own connection may not have been counted out yet.
    let connect = || async {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match server.config().connect(tokio_postgres::NoTls).await {
                Ok((client, connection)) => {
                    tokio::spawn(connection);
                    return client;
                }
                Err(e) => assert!(Instant::now() < deadline, "cannot connect: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let first = connect().await;
    let second = connect().await;
    let err = server
        .config()
        .connect(tokio_postgres::NoTls)
        .await
        .err()
        .expect("a third connection is refused");
    assert_eq!(err.code().map(|c| c.code()), Some("53300"), "{err}");
    assert_eq!(server.metric("enishi_connections_max"), Some(2.0));
    assert!(server.metric("enishi_connections_rejected_total").unwrap() >= 1.0);
    assert!(
        server
            .metric("enishi_limit_refusals_total{limit=\"max_connections\"}")
            .is_some_and(|n| n >= 1.0)
    );
    first.simple_query("select 1").await.unwrap();
    drop(first);
    // Once one closes, there is room again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match server.config().connect(tokio_postgres::NoTls).await {
            Ok(_) => break,
            Err(e) => assert!(Instant::now() < deadline, "no room after a close: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.simple_query("select 1").await.unwrap();
}

#[tokio::test]
async fn idle_sessions_are_closed_with_57p05() {
    let server = TestServer::start_with(&[("ENISHI_SESSION_TIMEOUT", "1")]);
    let (client, connection) = server
        .config()
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap();
    let ended = tokio::spawn(connection);
    // Activity keeps a session open past the timeout.
    for _ in 0..6 {
        client.simple_query("select 1").await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    // Idle for longer than the timeout: the server says why and closes.
    let outcome = tokio::time::timeout(Duration::from_secs(10), ended)
        .await
        .expect("the server closes an idle session")
        .unwrap();
    let err = outcome.expect_err("closed with an error");
    assert_eq!(err.code().map(|c| c.code()), Some("57P05"), "{err}");
    assert!(client.simple_query("select 1").await.is_err());
    assert_eq!(
        server.metric("enishi_limit_refusals_total{limit=\"idle_session_timeout\"}"),
        Some(1.0)
    );
}

#[tokio::test]
async fn statements_past_max_concurrent_queries_wait_for_a_turn() {
    let server = TestServer::start_with(&[("ENISHI_MAX_CONCURRENT_QUERIES", "1")]);
    let long = server.connect().await;
    let cancel = long.cancel_token();
    let running = tokio::spawn(async move {
        long.simple_query("select count(*) from generate_series(1, 2000000000) a")
            .await
    });
    eventually(20, "the long query to run", || {
        server.metric("enishi_queries_in_flight") == Some(1.0)
    })
    .await;
    // The only turn is taken: a second statement waits, here until its timeout.
    let mut config = server.config();
    config.options("-c statement_timeout=300");
    let other = crate::server::connect(&config).await;
    let err = other.simple_query("select 1").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("57014"), "{err}");
    cancel.cancel_query(tokio_postgres::NoTls).await.unwrap();
    assert!(running.await.unwrap().is_err());
    eventually(10, "the turn to come back", || {
        server.metric("enishi_queries_in_flight") == Some(0.0)
    })
    .await;
    let answer = other.simple_query("select 1").await.unwrap();
    assert_eq!(rows(&answer), vec![vec![Some("1".to_string())]]);
}

// ---------------------------------------------------------------- backups

const BACKUP_TABLES: &str = "
    create table accounts (id int, owner text, balance numeric(12,2));
    insert into accounts values (1, 'ada', 10.50), (2, 'grace', 20.25), (3, 'edsger', 0);
    create table events (at timestamp, account int, note text);
    insert into events values ('2026-01-01 10:00:00', 1, 'open'), ('2026-01-02 11:30:00', 2, 'deposit');
    create view rich as select owner from accounts where balance > 10;
    update accounts set balance = balance + 1 where id = 3;
    delete from events where account = 2;";

/// What a restored database must answer exactly like the original.
async fn snapshot(server: &TestServer) -> Vec<Vec<Vec<Option<String>>>> {
    let client = server.connect().await;
    let mut out = Vec::new();
    for query in [
        "select * from accounts order by id",
        "select * from events order by at",
        "select * from rich order by owner",
        "select table_name from information_schema.tables where table_schema = 'public' order by 1",
    ] {
        out.push(rows(&client.simple_query(query).await.unwrap()));
    }
    out
}

#[tokio::test]
async fn cold_backup_with_tar_restores_an_identical_database() {
    let dir = temp_dir("cold-backup");
    let data = dir.join("var/lib/enishi/data");
    let before = {
        let server = TestServer::start_in(&data, &[]);
        server
            .connect()
            .await
            .batch_execute(BACKUP_TABLES)
            .await
            .unwrap();
        let before = snapshot(&server).await;
        // "Stop service for consistent backup".
        let mut server = server;
        server.terminate();
        // (Polled, so the dropped clients' tasks can close their sockets.)
        eventually(30, "the server to stop", || {
            server.wait_exit(Duration::ZERO).is_some()
        })
        .await;
        before
    };
    // The manual's tar command, then its restore (`tar -xzf … -C /`) into a new root.
    let backup = dir.join("enishi_backup.tar.gz");
    let (ok, out) = sh(&format!(
        "tar -czf {} --exclude='*.tmp' --exclude='*.log' {}",
        backup.display(),
        data.display()
    ));
    assert!(ok, "{out}");
    let (ok, out) = sh(&format!("tar -tzf {} > /dev/null", backup.display()));
    assert!(ok, "the manual's backup verification: {out}");
    let root = dir.join("restore");
    std::fs::create_dir_all(&root).unwrap();
    let (ok, out) = sh(&format!(
        "tar -xzf {} -C {}",
        backup.display(),
        root.display()
    ));
    assert!(ok, "{out}");
    let restored = root.join(data.strip_prefix("/").unwrap());
    let verify = Command::new(env!("CARGO_BIN_EXE_enishi"))
        .arg("--verify-data")
        .env("ENISHI_STORAGE_PATH", &restored)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{verify:?}");
    let server = TestServer::start_in(&restored, &[]);
    assert_eq!(snapshot(&server).await, before);
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn rsync_link_dest_incremental_backup_restores_and_shares_unchanged_files() {
    let dir = temp_dir("rsync-backup");
    let data = dir.join("data");
    let server = TestServer::start_in(&data, &[]);
    let client = server.connect().await;
    client.batch_execute(BACKUP_TABLES).await.unwrap();
    let backups = dir.join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    let rsync = |name: &str, link_dest: Option<&Path>| {
        let link = link_dest
            .map(|p| format!("--link-dest=\"{}\"", p.display()))
            .unwrap_or_default();
        sh(&format!(
            "rsync -av {link} {}/ \"{}/\"",
            data.display(),
            backups.join(name).display()
        ))
    };
    let (ok, out) = rsync("incremental_1", None);
    assert!(ok, "{out}");
    client
        .batch_execute("insert into events values ('2026-02-01 09:00:00', 3, 'late')")
        .await
        .unwrap();
    let before = snapshot(&server).await;
    let first = backups.join("incremental_1");
    let (ok, out) = rsync("incremental_2", Some(&first));
    assert!(ok, "{out}");
    drop(client);
    drop(server);

    // Files that did not change are hard links into the previous backup.
    use std::os::unix::fs::MetadataExt;
    let second = backups.join("incremental_2");
    let table_dir = first.join("tables/1");
    let shared = std::fs::read_dir(&table_dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "parquet"))
        .filter(|e| {
            let twin = second.join("tables/1").join(e.file_name());
            std::fs::metadata(twin).is_ok_and(|m| m.ino() == e.metadata().unwrap().ino())
        })
        .count();
    assert!(shared >= 1, "unchanged data files are shared");

    let restored = TestServer::start_in(&second, &[]);
    assert_eq!(snapshot(&restored).await, before);
    drop(restored);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn online_backup_copies_a_consistent_snapshot_while_writes_go_on() {
    let dir = temp_dir("online-backup");
    let data = dir.join("data");
    let server = TestServer::start_in(&data, &[]);
    let client = server.connect().await;
    client.batch_execute(BACKUP_TABLES).await.unwrap();
    client
        .batch_execute("create table ledger (batch int, n int)")
        .await
        .unwrap();
    // A writer appends batches of ten rows while the backup runs.
    let writer = server.connect().await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writing = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut batch = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                batch += 1;
                writer
                    .batch_execute(&format!(
                        "insert into ledger select {batch}, n from generate_series(1, 10) t(n)"
                    ))
                    .await
                    .unwrap();
            }
            batch
        })
    };
    // Start the backup once some batches are committed, so it has some to copy.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let counted = rows(
            &client
                .simple_query("select count(*) from ledger")
                .await
                .unwrap(),
        );
        if counted[0][0].as_deref().unwrap_or("0") != "0" {
            break;
        }
        assert!(Instant::now() < deadline, "no batch committed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let target = dir.join("backup");
    let output = tokio::task::spawn_blocking({
        let data = data.clone();
        let target = target.clone();
        move || {
            Command::new(env!("CARGO_BIN_EXE_enishi"))
                .args(["backup", "--to", target.to_str().unwrap()])
                .env("ENISHI_STORAGE_PATH", &data)
                .env("RUST_LOG", "warn")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let batches = writing.await.unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}");
    assert!(
        report.contains("copied   public.ledger at version"),
        "{report}"
    );
    assert!(report.contains("0 damaged"), "{report}");

    let tables_before = snapshot(&server).await;
    drop(client);
    drop(server);
    let restored = TestServer::start_in(&target, &[]);
    // Tables nobody wrote during the backup are identical.
    assert_eq!(snapshot(&restored).await, tables_before);
    // The ledger holds whole batches only: a committed prefix of the writes.
    let client = restored.connect().await;
    let counts = rows(
        &client
            .simple_query("select count(*), count(distinct batch), max(batch) from ledger")
            .await
            .unwrap(),
    );
    let count: i64 = counts[0][0].as_deref().unwrap().parse().unwrap();
    let distinct: i64 = counts[0][1].as_deref().unwrap_or("0").parse().unwrap();
    assert_eq!(count, distinct * 10, "{counts:?}");
    assert!(
        distinct >= 1,
        "the backup holds the batches committed before it began"
    );
    assert_eq!(counts[0][2].as_deref().unwrap(), distinct.to_string());
    assert!(distinct <= batches as i64);
    drop(restored);

    // A backup never writes over existing data.
    let again = Command::new(env!("CARGO_BIN_EXE_enishi"))
        .args(["backup", "--to", target.to_str().unwrap()])
        .env("ENISHI_STORAGE_PATH", &data)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn manual_monitoring_commands_run_verbatim() {
    let server = TestServer::start();
    server
        .connect()
        .await
        .batch_execute("create table mon (x int); insert into mon values (1); select * from mon")
        .await
        .unwrap();
    let api = format!("http://localhost:{}", server.http_port);
    for (command, expect) in [
        (format!("curl -s {api}/health | jq"), "\"healthy\""),
        (format!("curl -s {api}/ready | jq"), "\"ready\""),
        (format!("curl -s {api}/status | jq"), "\"uptime_seconds\""),
        (
            format!("curl -s {api}/status | jq .configuration"),
            "\"query_cache_size\"",
        ),
        (
            format!("curl -s {api}/metrics | grep memory"),
            "enishi_memory_usage_bytes",
        ),
        (
            format!("curl -s {api}/metrics | grep cache_hit"),
            "enishi_cache_hit_ratio",
        ),
        (
            format!("curl -s {api}/metrics | grep query_duration"),
            "enishi_query_duration_seconds_bucket",
        ),
        (
            format!("curl -s {api}/metrics | grep plan"),
            "enishi_plan_duration_seconds",
        ),
        (
            format!("curl -s {api}/metrics | grep storage"),
            "enishi_storage_used_bytes",
        ),
        (
            format!("curl -s {api}/metrics | grep connections"),
            "enishi_connections_active",
        ),
        (
            format!(
                "curl -s http://localhost:{}/metrics | grep queries_per_second",
                server.metrics_port
            ),
            "enishi_queries_per_second_total",
        ),
    ] {
        let (ok, out) = sh(&command);
        assert!(ok && out.contains(expect), "{command}:\n{out}");
    }
}

#[tokio::test]
async fn sighup_applies_a_new_log_level_and_names_what_needs_a_restart() {
    let dir = temp_dir("reload");
    let config = dir.join("enishi.toml");
    let write_config = |level: &str, cache: u32| {
        std::fs::write(
            &config,
            format!(
                "[monitoring]\nlog_level = \"{level}\"\n[performance]\nquery_cache_size = {cache}\n"
            ),
        )
        .unwrap()
    };
    write_config("warn", 100);
    let logs = dir.join("logs");
    let server = TestServer::start_with(&[
        ("ENISHI_CONFIG", config.to_str().unwrap()),
        ("ENISHI_LOG_DIR", logs.to_str().unwrap()),
        // No RUST_LOG: monitoring.log_level decides.
        ("RUST_LOG", ""),
    ]);
    let log = logs.join("enishi.log");
    let client = server.connect().await;
    client.simple_query("select 1").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !read(&log).contains("query SELECT"),
        "INFO lines at warn: {}",
        read(&log)
    );

    write_config("info", 200);
    server.signal("HUP");
    eventually(10, "the reload to be logged", || {
        let text = read(&log);
        text.contains("log level changed") && text.contains("performance.query_cache_size")
    })
    .await;
    assert!(
        read(&log).contains("takes effect after a restart"),
        "{}",
        read(&log)
    );
    client.simple_query("select 2").await.unwrap();
    eventually(10, "query lines at info", || {
        read(&log).contains("query SELECT")
    })
    .await;
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn prometheus_off_serves_no_metrics() {
    let dir = temp_dir("no-prometheus");
    let config = dir.join("enishi.toml");
    std::fs::write(&config, "[monitoring]\nenable_prometheus = false\n").unwrap();
    let server = TestServer::start_with(&[("ENISHI_CONFIG", config.to_str().unwrap())]);
    assert_eq!(server.http_get("/health").0, 200);
    assert_eq!(server.http_get("/metrics").0, 404);
    assert!(std::net::TcpStream::connect(("127.0.0.1", server.metrics_port)).is_err());
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}
