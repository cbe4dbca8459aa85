//! Two busy users at once, and two servers on one storage path: DDL that
//! races, DDL cut short by a crash, catalog changes one server makes and the
//! other must see, and views that would read themselves.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::server::{TestServer, rows};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("enishi-races-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn code(result: Result<(), tokio_postgres::Error>) -> String {
    match result {
        Ok(()) => "ok".into(),
        Err(e) => e
            .code()
            .map(|c| c.code().to_string())
            .unwrap_or_else(|| e.to_string()),
    }
}

async fn scalar(client: &tokio_postgres::Client, sql: &str) -> String {
    let rows = rows(
        &client
            .simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}")),
    );
    rows[0][0].clone().unwrap_or_default()
}

/// Retries `sql` on `client` until it succeeds (another server's catalog
/// change arrives within its probe interval).
async fn eventually_ok(client: &tokio_postgres::Client, sql: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match client.batch_execute(sql).await {
            Ok(()) => return,
            Err(e) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{sql} never succeeded: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Two sessions creating the same table at once: exactly one wins, the
/// other gets 42P07, and the winner's rows stay reachable.
#[tokio::test]
async fn concurrent_create_table_of_one_name_has_one_winner() {
    let server = TestServer::start();
    let (a, b) = (server.connect().await, server.connect().await);
    for i in 0..8 {
        let create = format!("CREATE TABLE race_{i} (id int)");
        let (ra, rb) = tokio::join!(a.batch_execute(&create), b.batch_execute(&create));
        let mut outcomes = [code(ra), code(rb)];
        outcomes.sort();
        assert_eq!(
            outcomes,
            ["42P07".to_string(), "ok".to_string()],
            "{create}"
        );
        a.batch_execute(&format!("INSERT INTO race_{i} VALUES (1)"))
            .await
            .unwrap();
        assert_eq!(
            scalar(&b, &format!("SELECT count(*) FROM race_{i}")).await,
            "1"
        );
    }
}

/// The newest catalog file of a data directory.
fn newest_catalog(data: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data.join("_catalog"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files.pop().unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A crash between writing a new table's files and committing the catalog
/// leaves files at the next table's location; later CREATE TABLEs go on.
#[tokio::test]
async fn create_table_after_a_crash_mid_create_goes_on() {
    let data = temp_dir("orphan");
    {
        let server = TestServer::start_in(&data, &[]);
        server
            .connect()
            .await
            .batch_execute("CREATE TABLE first (id int); INSERT INTO first VALUES (1)")
            .await
            .unwrap();
    }
    // What a SIGKILL after the new table's Delta log was written, before the
    // catalog named it, leaves behind: a table at the next id.
    let catalog: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(newest_catalog(&data)).unwrap()).unwrap();
    let next = catalog["next_table_id"].as_u64().unwrap();
    let first = catalog["schemas"]["public"]["tables"]["first"]["location"]
        .as_str()
        .unwrap();
    copy_dir(&data.join(first), &data.join(format!("tables/{next}")));

    let server = TestServer::start_in(&data, &[]);
    let client = server.connect().await;
    for name in ["second", "third"] {
        client
            .batch_execute(&format!(
                "CREATE TABLE {name} (id int); INSERT INTO {name} VALUES (2), (3)"
            ))
            .await
            .unwrap_or_else(|e| panic!("CREATE TABLE {name}: {e}"));
        assert_eq!(
            scalar(&client, &format!("SELECT count(*) FROM {name}")).await,
            "2"
        );
    }
    assert_eq!(scalar(&client, "SELECT count(*) FROM first").await, "1");
    drop(server);
    std::fs::remove_dir_all(&data).ok();
}

async fn create_tables(client: &tokio_postgres::Client, prefix: &str) {
    for i in 0..5 {
        client
            .batch_execute(&format!("CREATE TABLE shop.{prefix}{i} (id int)"))
            .await
            .unwrap_or_else(|e| panic!("{prefix}{i}: {e}"));
    }
}

const SUPERUSER_PASSWORD: &str = "two-servers-superuser";
const ADMIN_TOKEN: &str = "two-servers-admin";

/// Two servers on one storage path: DDL, roles, grants and capability tokens
/// made on one are seen by the other, DDL racing on both loses nothing, and
/// a name both create at once has one winner.
#[tokio::test]
async fn two_servers_on_one_path_see_each_others_catalog() {
    let data = temp_dir("two-servers");
    let env = two_server_env(Vec::new());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let a = TestServer::start_in(&data, &env);
    let b = TestServer::start_in(&data, &env);
    two_servers_share_a_catalog(&a, &b).await;
    drop((a, b));
    std::fs::remove_dir_all(&data).ok();
}

/// The same two servers on one S3 bucket (moto, a real process).
#[tokio::test]
async fn two_servers_on_one_bucket_see_each_others_catalog() {
    let s3 = crate::s3::S3Server::start("enishi-two-catalogs");
    let env = two_server_env(s3.env("shared"));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let a = TestServer::start_with(&env);
    let b = TestServer::start_with(&env);
    two_servers_share_a_catalog(&a, &b).await;
}

/// What both servers of a pair are started with, besides `storage`.
fn two_server_env(storage: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("ENISHI_SUPERUSER_PASSWORD", SUPERUSER_PASSWORD),
        ("ENISHI_ADMIN_TOKEN", ADMIN_TOKEN),
        ("ENISHI_PROBE_INTERVAL_MS", "200"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.extend(storage);
    env
}

async fn two_servers_share_a_catalog(a: &TestServer, b: &TestServer) {
    let login = |server: &TestServer, user: &str, password: &str| {
        let mut config = server.config();
        config.user(user).password(password);
        async move { crate::server::connect(&config).await }
    };
    let (ca, cb) = (
        login(a, "postgres", SUPERUSER_PASSWORD).await,
        login(b, "postgres", SUPERUSER_PASSWORD).await,
    );
    ca.batch_execute(
        "CREATE SCHEMA shop; CREATE TABLE shop.items (id int); INSERT INTO shop.items VALUES (1);
         CREATE USER clerk PASSWORD 'clerk'; GRANT USAGE ON SCHEMA shop TO clerk;
         GRANT SELECT ON shop.items TO clerk;",
    )
    .await
    .unwrap();
    // b learns of the schema, the table, the role and the grant.
    eventually_ok(&cb, "SELECT * FROM shop.items").await;
    let clerk = login(b, "clerk", "clerk").await;
    assert_eq!(scalar(&clerk, "SELECT count(*) FROM shop.items").await, "1");
    // DDL on b (whose catalog may be behind a's) commits, and a sees it.
    cb.batch_execute("CREATE TABLE shop.orders (id int); INSERT INTO shop.orders VALUES (7)")
        .await
        .unwrap();
    eventually_ok(&ca, "SELECT * FROM shop.orders").await;
    assert_eq!(scalar(&ca, "SELECT sum(id) FROM shop.orders").await, "7");
    // DDL racing on both servers: every table is there afterwards, on both.
    tokio::join!(create_tables(&ca, "a"), create_tables(&cb, "b"));
    for client in [&ca, &cb] {
        for name in ["a0", "a4", "b0", "b4"] {
            eventually_ok(client, &format!("SELECT * FROM shop.{name}")).await;
        }
        assert_eq!(
            scalar(
                client,
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'shop'"
            )
            .await,
            "12"
        );
    }
    // One name created on both at once: one winner.
    let (ra, rb) = tokio::join!(
        ca.batch_execute("CREATE TABLE shop.same (id int)"),
        cb.batch_execute("CREATE TABLE shop.same (id int)")
    );
    let mut outcomes = [code(ra), code(rb)];
    outcomes.sort();
    assert_eq!(outcomes, ["42P07".to_string(), "ok".to_string()]);
    // A capability token issued by a's admin API logs in on b.
    let body = serde_json::json!({
        "resource": "/shop/items",
        "permissions": ["read"],
        "expires_in": 600,
    })
    .to_string();
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let (status, response) = a.http_request(
        a.http_port,
        "POST",
        "/admin/capabilities",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &body,
    );
    assert_eq!(status, 201, "{response}");
    let token: serde_json::Value = serde_json::from_str(&response).unwrap();
    let token = token["token"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let reader = loop {
        let mut config = b.config();
        config.user("anyone").password(token.as_str());
        match config.connect(tokio_postgres::NoTls).await {
            Ok((client, connection)) => {
                tokio::spawn(connection);
                break client;
            }
            Err(e) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "token login on b: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert_eq!(
        scalar(&reader, "SELECT count(*) FROM shop.items").await,
        "1"
    );
}

/// A view replaced by a query that reads it (through another view) is
/// refused as PostgreSQL refuses it; a cycle already stored (written by an
/// older release) fails the query that reads it, and only that query.
#[tokio::test]
async fn views_cannot_read_themselves() {
    let data = temp_dir("view-cycle");
    {
        let server = TestServer::start_in(&data, &[]);
        let client = server.connect().await;
        client
            .batch_execute(
                "CREATE VIEW a AS SELECT 1 AS x;
                 CREATE VIEW b AS SELECT x FROM a;",
            )
            .await
            .unwrap();
        for replace in [
            "CREATE OR REPLACE VIEW a AS SELECT x FROM b",
            "CREATE OR REPLACE VIEW a AS SELECT x FROM a",
            "CREATE OR REPLACE VIEW a AS SELECT 1 AS x WHERE EXISTS (SELECT 1 FROM b)",
        ] {
            assert_eq!(
                code(client.batch_execute(replace).await),
                "42P17",
                "{replace}"
            );
        }
        assert_eq!(scalar(&client, "SELECT x FROM b").await, "1");
    }
    // Store the cycle behind the server's back, as an older release could.
    let newest = newest_catalog(&data);
    let mut catalog: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&newest).unwrap()).unwrap();
    catalog["schemas"]["public"]["views"]["a"]["sql"] = "SELECT x FROM b".into();
    std::fs::write(&newest, serde_json::to_vec_pretty(&catalog).unwrap()).unwrap();

    let server = TestServer::start_in(&data, &[]);
    let client = server.connect().await;
    let e = client.simple_query("SELECT * FROM a").await.unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("54001"), "{e}");
    // The server and the session go on.
    assert_eq!(scalar(&client, "SELECT 41 + 1").await, "42");
    drop(server);
    std::fs::remove_dir_all(&data).ok();
}

/// Nothing a client sends overflows the server's stack: long operator
/// chains and deep nesting are refused with PostgreSQL's 54001 or answered,
/// long AND/OR chains (as tools generate them) are answered, and the server
/// keeps serving.
#[tokio::test]
async fn deep_nesting_cannot_take_the_server_down() {
    let server = TestServer::start();
    let client = server.connect().await;
    let or_chain = format!(
        "SELECT count(*) FROM (VALUES (1), (2), (3)) v(x) WHERE {}",
        (0..1000)
            .map(|i| format!("(x = {i} AND x > 1)"))
            .collect::<Vec<_>>()
            .join(" OR ")
    );
    assert_eq!(scalar(&client, &or_chain).await, "2");
    assert_eq!(
        scalar(&client, &format!("SELECT 1{}", " + 1".repeat(500))).await,
        "501"
    );
    let refused = [
        format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000)),
        format!("SELECT 1{}", " + 1".repeat(50000)),
        format!("SELECT {}1{}", "(SELECT ".repeat(2000), ")".repeat(2000)),
        format!("SELECT 1{}", " UNION ALL SELECT 1".repeat(5000)),
        format!(
            "SELECT count(*) FROM pg_class WHERE {}",
            (0..20000)
                .map(|i| format!("oid = {i}"))
                .collect::<Vec<_>>()
                .join(" OR ")
        ),
    ];
    for sql in &refused {
        let e = client.simple_query(sql).await.unwrap_err();
        assert_eq!(e.code().map(|c| c.code()), Some("54001"), "{e}");
        assert_eq!(scalar(&client, "SELECT 41 + 1").await, "42");
    }
    let other = server.connect().await;
    assert_eq!(scalar(&other, "SELECT 1").await, "1");
}

/// Primary keys under concurrency: of two COMMITs adding one key, or a
/// COMMIT racing an autocommit INSERT of it, exactly one wins and the other
/// gets 23505.
#[tokio::test]
async fn one_key_added_by_racing_writers_is_added_once() {
    let server = TestServer::start();
    let (a, b) = (server.connect().await, server.connect().await);
    racing_key_writers(&a, &b, false).await;
}

/// The same on two servers sharing one storage path, and one S3 bucket: a
/// checked commit lands only on the version it checked. A COMMIT that loses
/// is checked again (23505); an autocommit INSERT or COPY that loses at its
/// commit cannot read its rows again, and fails with 40001 (retry it), unless
/// it saw the other's key first (23505).
#[tokio::test]
async fn one_key_added_on_two_servers_is_added_once() {
    let data = temp_dir("two-servers-keys");
    let env = [("ENISHI_PROBE_INTERVAL_MS", "0")];
    let a = TestServer::start_in(&data, &env);
    let b = TestServer::start_in(&data, &env);
    racing_key_writers(&a.connect().await, &b.connect().await, true).await;
    drop((a, b));
    std::fs::remove_dir_all(&data).ok();

    let s3 = crate::s3::S3Server::start("enishi-two-keys");
    let mut env = s3.env("keys");
    env.push(("ENISHI_PROBE_INTERVAL_MS".into(), "0".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (a, b) = (TestServer::start_with(&env), TestServer::start_with(&env));
    racing_key_writers(&a.connect().await, &b.connect().await, true).await;
}

/// Rounds of `a` and `b` adding one key at once; `b` may be on another
/// server (`two_servers`), whose autocommit INSERT may lose with 40001.
async fn racing_key_writers(
    a: &tokio_postgres::Client,
    b: &tokio_postgres::Client,
    two_servers: bool,
) {
    a.batch_execute("CREATE TABLE k (id int PRIMARY KEY, who text)")
        .await
        .unwrap();
    for round in 0..6 {
        let key = round * 10;
        a.batch_execute(&format!("BEGIN; INSERT INTO k VALUES ({key}, 'a')"))
            .await
            .unwrap();
        let other = if round % 2 == 0 {
            b.batch_execute(&format!("BEGIN; INSERT INTO k VALUES ({key}, 'b')"))
                .await
                .unwrap();
            "COMMIT".to_string()
        } else {
            format!("INSERT INTO k VALUES ({key}, 'b')")
        };
        let (ra, rb) = tokio::join!(a.batch_execute("COMMIT"), b.batch_execute(&other));
        let (ra, rb) = (code(ra), code(rb));
        let mut outcomes = [ra.clone(), rb.clone()];
        outcomes.sort();
        let lost_autocommit = two_servers && other.starts_with("INSERT") && rb == "40001";
        if !lost_autocommit {
            assert_eq!(
                outcomes,
                ["23505".to_string(), "ok".to_string()],
                "round {round}: {other}"
            );
        } else {
            assert_eq!(ra, "ok", "round {round}");
        }
        for client in [a, b] {
            eventually(
                client,
                &format!("SELECT count(*) FROM k WHERE id = {key}"),
                "1",
            )
            .await;
        }
    }
}

/// Waits (10 s at most) for `sql` to give `expected`, as a server sees
/// another's commit at its next look.
async fn eventually(client: &tokio_postgres::Client, sql: &str, expected: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = scalar(client, sql).await;
        if got == expected {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{sql}: {got}, not {expected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A test that hangs fails instead of stalling the run: past its deadline its
/// server is killed, and the statement it waited on ends with an error.
#[tokio::test]
async fn a_hung_test_fails_at_its_deadline() {
    let mut server = TestServer::start();
    let client = server.connect().await;
    server.set_deadline(Duration::from_secs(3));
    let started = std::time::Instant::now();
    let endless = client
        .simple_query("SELECT count(*) FROM generate_series(1, 100000000000) t(x) WHERE x < 0")
        .await;
    assert!(endless.is_err(), "the endless query finished");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the hung statement ended only after {:?}",
        started.elapsed()
    );
}
