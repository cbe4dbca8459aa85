//! Sequences never hand out a value twice: not to racing sessions, not
//! across a crash, not to two servers sharing one storage path or bucket.

use std::collections::BTreeSet;

use crate::server::{TestServer, rows};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("enishi-seq-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Values `client` takes from sequence `s` and from the serial column of
/// table `t`: `rounds` single calls, then a multi-row call and a multi-row
/// INSERT.
async fn take(client: &tokio_postgres::Client, rounds: usize) -> Vec<i64> {
    let mut values = Vec::new();
    for _ in 0..rounds {
        let row = client.query_one("SELECT nextval('s')", &[]).await.unwrap();
        values.push(row.get::<_, i64>(0));
    }
    for row in client
        .query("SELECT nextval('s') FROM generate_series(1, 50)", &[])
        .await
        .unwrap()
    {
        values.push(row.get::<_, i64>(0));
    }
    // A commit that loses to the other server's (40001) is retried, as a
    // client would; the values it drew are skipped.
    let inserted = loop {
        let insert = "INSERT INTO t (v) SELECT 1 FROM generate_series(1, 20) RETURNING id";
        match client.query(insert, &[]).await {
            Ok(rows) => break rows,
            Err(e)
                if e.code()
                    == Some(&tokio_postgres::error::SqlState::T_R_SERIALIZATION_FAILURE) => {}
            Err(e) => panic!("{insert}: {e}"),
        }
    };
    for row in inserted {
        values.push(-i64::from(row.get::<_, i32>(0)));
    }
    values
}

fn assert_distinct(values: &[i64]) {
    let set: BTreeSet<i64> = values.iter().copied().collect();
    assert_eq!(set.len(), values.len(), "a value was handed out twice");
}

/// Retries `sql` until it succeeds (another server's catalog change arrives
/// at its next look).
async fn eventually_ok(client: &tokio_postgres::Client, sql: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while let Err(e) = client.batch_execute(sql).await {
        assert!(std::time::Instant::now() < deadline, "{sql}: {e}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Sessions of two servers taking values at once, then a crash of both and
/// a restart: every value is handed out once, and after the restart the
/// sequence goes on past every value handed out before.
async fn no_value_twice(a: TestServer, b: TestServer, restart: impl FnOnce() -> TestServer) {
    let setup = a.connect().await;
    setup
        .batch_execute("CREATE SEQUENCE s; CREATE TABLE t (id serial PRIMARY KEY, v int)")
        .await
        .unwrap();
    let clients = [
        a.connect().await,
        a.connect().await,
        b.connect().await,
        b.connect().await,
    ];
    // b sees the sequence at its next look at the catalog.
    for client in &clients {
        eventually_ok(client, "SELECT last_value FROM s; SELECT count(*) FROM t").await;
    }
    let taken = futures::future::join_all(clients.iter().map(|c| take(c, 40))).await;
    let all: Vec<i64> = taken.into_iter().flatten().collect();
    assert_eq!(all.len(), 4 * (40 + 50 + 20));
    assert_distinct(&all);
    drop(clients);
    drop((a, b)); // killed, as in a crash
    let server = restart();
    let client = server.connect().await;
    let after = take(&client, 5).await;
    let (seq_max, serial_max) = (
        all.iter().filter(|v| **v > 0).max().unwrap(),
        all.iter().filter(|v| **v < 0).min().unwrap(),
    );
    assert!(after.iter().filter(|v| **v > 0).all(|v| v > seq_max));
    assert!(after.iter().filter(|v| **v < 0).all(|v| v < serial_max));
    let count = rows(
        &client
            .simple_query("SELECT count(DISTINCT id) FROM t")
            .await
            .unwrap(),
    );
    assert_eq!(count[0][0].as_deref(), Some("100"));
}

#[tokio::test]
async fn two_servers_on_one_path_never_hand_out_a_value_twice() {
    let data = temp_dir("two-servers");
    let env = [("ENISHI_PROBE_INTERVAL_MS", "0")];
    let a = TestServer::start_in(&data, &env);
    let b = TestServer::start_in(&data, &env);
    no_value_twice(a, b, || TestServer::start_in(&data, &env)).await;
    std::fs::remove_dir_all(&data).ok();
}

/// The same on one S3 bucket (moto, a real process).
#[tokio::test]
async fn two_servers_on_one_bucket_never_hand_out_a_value_twice() {
    let s3 = crate::s3::S3Server::start("enishi-sequences");
    let mut env = s3.env("seq");
    env.push(("ENISHI_PROBE_INTERVAL_MS".into(), "0".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (a, b) = (TestServer::start_with(&env), TestServer::start_with(&env));
    no_value_twice(a, b, || TestServer::start_with(&env)).await;
}
