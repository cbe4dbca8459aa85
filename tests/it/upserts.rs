//! Upserts and RETURNING under concurrency, and through the extended
//! protocol: what loaders and ORMs rely on.

use crate::server::TestServer;

/// Sessions racing to upsert one key each apply their change exactly once:
/// no lost update, no duplicate row, no error a PostgreSQL client would
/// not see.
#[tokio::test]
async fn concurrent_upserts_of_one_key_apply_each_once() {
    let server = TestServer::start();
    let setup = server.connect().await;
    setup
        .batch_execute(
            "CREATE TABLE counters (k int PRIMARY KEY, n int NOT NULL);
             CREATE TABLE seen (k int PRIMARY KEY, first text);",
        )
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for client_no in 0..4 {
        let client = server.connect().await;
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                client
                    .execute(
                        "INSERT INTO counters VALUES (1, 1) \
                         ON CONFLICT (k) DO UPDATE SET n = counters.n + 1",
                        &[],
                    )
                    .await
                    .unwrap_or_else(|e| panic!("upsert {i} of client {client_no}: {e}"));
                client
                    .execute(
                        "INSERT INTO seen VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        &[&(i % 5), &format!("client {client_no}")],
                    )
                    .await
                    .unwrap_or_else(|e| panic!("insert {i} of client {client_no}: {e}"));
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let row = setup
        .query_one("SELECT count(*), sum(n) FROM counters", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1, "one row for the key");
    assert_eq!(row.get::<_, i64>(1), 40, "every increment applied once");
    let row = setup
        .query_one("SELECT count(*), count(DISTINCT k) FROM seen", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 5);
    assert_eq!(row.get::<_, i64>(1), 5);
}

/// UPDATE/DELETE … RETURNING and INSERT … ON CONFLICT … RETURNING with
/// parameters: described (column types) and run as PostgreSQL would.
#[tokio::test]
async fn returning_lists_work_through_the_extended_protocol() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute(
            "CREATE TABLE items (id serial PRIMARY KEY, name text UNIQUE, qty int NOT NULL DEFAULT 0);
             INSERT INTO items (name, qty) VALUES ('a', 1), ('b', 2), ('c', 3);",
        )
        .await
        .unwrap();
    let update = client
        .prepare("UPDATE items SET qty = qty + $1 WHERE name = $2 RETURNING id, qty")
        .await
        .unwrap();
    let types: Vec<_> = update.columns().iter().map(|c| c.type_().name()).collect();
    assert_eq!(types, ["int4", "int4"]);
    let rows = client.query(&update, &[&10i32, &"b"]).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].get::<_, i32>(0), rows[0].get::<_, i32>(1)),
        (2, 12)
    );

    let upsert = "INSERT INTO items (name, qty) VALUES ($1, $2) \
                  ON CONFLICT (name) DO UPDATE SET qty = items.qty + excluded.qty \
                  RETURNING name, qty";
    let rows = client.query(upsert, &[&"a", &5i32]).await.unwrap();
    assert_eq!(rows[0].get::<_, i32>(1), 6);
    let rows = client.query(upsert, &[&"d", &7i32]).await.unwrap();
    assert_eq!(
        (rows[0].get::<_, &str>(0), rows[0].get::<_, i32>(1)),
        ("d", 7)
    );

    let deleted = client
        .query("DELETE FROM items WHERE qty > $1 RETURNING name", &[&6i32])
        .await
        .unwrap();
    let mut names: Vec<&str> = deleted.iter().map(|r| r.get(0)).collect();
    names.sort();
    assert_eq!(names, ["b", "d"]);
    // A RETURNING list that fails changes nothing.
    let err = client
        .execute("DELETE FROM items RETURNING nosuch", &[])
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::UNDEFINED_COLUMN)
    );
    let left = client
        .query_one("SELECT count(*) FROM items", &[])
        .await
        .unwrap();
    assert_eq!(left.get::<_, i64>(0), 2);
}

/// Concurrent MERGE statements that insert a key or increment it: as with
/// ON CONFLICT, each applies once (one row, every increment counted), each
/// one a transaction of its own that runs again when another committed first.
#[tokio::test]
async fn concurrent_merges_of_one_key_apply_each_once() {
    let server = TestServer::start();
    let setup = server.connect().await;
    setup
        .batch_execute("CREATE TABLE tallies (k int PRIMARY KEY, n int NOT NULL)")
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for client_no in 0..4 {
        let client = server.connect().await;
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let merged = client
                    .execute(
                        "MERGE INTO tallies t USING (VALUES ($1::int)) AS s(k) ON t.k = s.k \
                         WHEN MATCHED THEN UPDATE SET n = t.n + 1 \
                         WHEN NOT MATCHED THEN INSERT VALUES (s.k, 1)",
                        &[&1i32],
                    )
                    .await
                    .unwrap_or_else(|e| panic!("merge {i} of client {client_no}: {e}"));
                assert_eq!(merged, 1, "one row inserted or updated");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let row = setup
        .query_one("SELECT count(*), sum(n) FROM tallies", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1, "one row for the key");
    assert_eq!(row.get::<_, i64>(1), 40, "every increment applied once");
}
