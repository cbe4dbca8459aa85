//! The result cache, observed through a real client and the server's /metrics:
//! repeated queries are hits, any write to a table read makes them misses, and
//! what may not be cached is bypassed.

use crate::server::{TestServer, rows};

struct Counts {
    hits: f64,
    misses: f64,
    bypasses: f64,
}

fn counts(server: &TestServer) -> Counts {
    Counts {
        hits: server.metric("enishi_cache_hits_total").unwrap(),
        misses: server.metric("enishi_cache_misses_total").unwrap(),
        bypasses: server.metric("enishi_cache_bypasses_total").unwrap(),
    }
}

async fn answer(client: &tokio_postgres::Client, sql: &str) -> Vec<Vec<Option<String>>> {
    rows(&client.simple_query(sql).await.unwrap())
}

#[tokio::test]
async fn repeats_hit_and_writes_to_any_table_read_miss() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute(
            "create table a (k int, v int); create table b (k int, w text); create table other (x int);
             insert into a values (1, 10), (2, 20); insert into b values (1, 'one'), (2, 'two');",
        )
        .await
        .unwrap();
    let q = "select b.w, sum(a.v) from a join b on a.k = b.k group by b.w order by b.w";
    let first = answer(&client, q).await;
    assert_eq!(counts(&server).misses, 1.0);
    assert_eq!(answer(&client, q).await, first);
    assert_eq!(answer(&client, q).await, first);
    assert_eq!(counts(&server).hits, 2.0);

    // A write elsewhere changes nothing the query read: still a hit.
    client
        .batch_execute("insert into other values (1)")
        .await
        .unwrap();
    answer(&client, q).await;
    assert_eq!(counts(&server).hits, 3.0);

    // A write to either table read is a miss, with the new answer.
    client
        .batch_execute("insert into b values (3, 'three')")
        .await
        .unwrap();
    client
        .batch_execute("insert into a values (3, 30)")
        .await
        .unwrap();
    let after = answer(&client, q).await;
    assert_eq!(after.len(), 3);
    assert_eq!(counts(&server).misses, 2.0);
    client
        .batch_execute("update a set v = 11 where k = 1")
        .await
        .unwrap();
    let updated = answer(&client, q).await;
    assert_eq!(updated[0], vec![Some("one".into()), Some("11".into())]);
    assert_eq!(counts(&server).misses, 3.0);

    // Another session gets the same cached answer; DDL invalidates too.
    let other = server.connect().await;
    assert_eq!(answer(&other, q).await, updated);
    assert_eq!(counts(&server).hits, 4.0);
    client
        .batch_execute("drop table b; create table b (k int, w text)")
        .await
        .unwrap();
    assert!(answer(&client, q).await.is_empty());
    assert_eq!(counts(&server).misses, 4.0);
    assert_eq!(server.metric("enishi_cache_hit_ratio"), Some(0.5));
}

#[tokio::test]
async fn parameters_make_separate_entries() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute(
            "create table p (k int, v text); insert into p values (1, 'one'), (2, 'two')",
        )
        .await
        .unwrap();
    let statement = client
        .prepare("select v from p where k = $1")
        .await
        .unwrap();
    let value = |rows: Vec<tokio_postgres::Row>| rows[0].get::<_, String>(0);
    assert_eq!(
        value(client.query(&statement, &[&1i32]).await.unwrap()),
        "one"
    );
    assert_eq!(
        value(client.query(&statement, &[&2i32]).await.unwrap()),
        "two"
    );
    assert_eq!(counts(&server).misses, 2.0);
    assert_eq!(
        value(client.query(&statement, &[&1i32]).await.unwrap()),
        "one"
    );
    assert_eq!(
        value(client.query(&statement, &[&2i32]).await.unwrap()),
        "two"
    );
    assert_eq!(counts(&server).hits, 2.0);

    // Without parameters the extended protocol's Describe is answered from the
    // cached result too; the client still gets the right columns and rows.
    for _ in 0..2 {
        let rows = client
            .query("select k, v from p order by k", &[])
            .await
            .unwrap();
        let names: Vec<_> = rows[0].columns().iter().map(|c| c.name()).collect();
        assert_eq!(names, ["k", "v"]);
        assert_eq!(rows[1].get::<_, String>(1), "two");
    }
    assert_eq!(counts(&server).hits, 3.0);
}

#[tokio::test]
async fn volatile_catalog_and_writing_transactions_bypass() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute("create table v (k int); insert into v values (1), (2)")
        .await
        .unwrap();
    for sql in [
        "select k, random() from v",
        "select now(), count(*) from v",
        "select relname from pg_catalog.pg_class where relname = 'v'",
    ] {
        answer(&client, sql).await;
        answer(&client, sql).await;
    }
    let c = counts(&server);
    assert_eq!((c.hits, c.misses, c.bypasses), (0.0, 0.0, 6.0));

    // Inside a transaction that has written, reads see its own rows, uncached.
    answer(&client, "select count(*) from v").await;
    client
        .batch_execute("begin; insert into v values (3)")
        .await
        .unwrap();
    let inside = answer(&client, "select count(*) from v").await;
    assert_eq!(inside[0][0].as_deref(), Some("3"));
    assert_eq!(counts(&server).bypasses, 7.0);
    client.batch_execute("rollback").await.unwrap();
    let outside = answer(&client, "select count(*) from v").await;
    assert_eq!(outside[0][0].as_deref(), Some("2"));
    assert_eq!(counts(&server).hits, 1.0);

    // A session may turn the cache off.
    client
        .batch_execute("set enishi.result_cache = off")
        .await
        .unwrap();
    answer(&client, "select count(*) from v").await;
    assert_eq!(counts(&server).hits, 1.0);
    assert_eq!(counts(&server).bypasses, 8.0);
}

#[tokio::test]
async fn limits_hold_under_a_flood_of_distinct_queries() {
    let server = TestServer::start_with(&[("ENISHI_CACHE_SIZE", "10")]);
    let client = server.connect().await;
    client
        .batch_execute(
            "create table f (k int, s text);
             insert into f select v, repeat(md5(v::text), 4) from generate_series(1, 200000) as g(v);",
        )
        .await
        .unwrap();
    for i in 0..100 {
        answer(&client, &format!("select count(*) from f where k > {i}")).await;
    }
    assert!(server.metric("enishi_cache_entries").unwrap() <= 10.0);
    assert!(server.metric("enishi_cache_evictions_total").unwrap() >= 1.0);
    // A result larger than the per-entry limit (16 MiB) streams and is not kept.
    let all = client.simple_query("select * from f").await.unwrap();
    assert_eq!(rows(&all).len(), 200_000);
    assert_eq!(server.metric("enishi_cache_too_large_total"), Some(1.0));
    assert!(server.metric("enishi_cache_bytes").unwrap() < 16.0 * 1024.0 * 1024.0);
}
