//! Temporary tables and views: each session's own, found before every other
//! relation of the same name, invisible to other sessions and gone when the
//! session ends (or the server restarts).

use crate::server::{TestServer, failure, values};

async fn one(client: &tokio_postgres::Client, sql: &str) -> String {
    values(client, sql).await[0][0].clone().unwrap_or_default()
}

#[tokio::test]
async fn a_temporary_table_shadows_a_permanent_one_for_its_session_only() {
    let server = TestServer::start();
    let a = server.connect().await;
    let b = server.connect().await;
    a.batch_execute(
        "CREATE TABLE items (v text);
         INSERT INTO items VALUES ('permanent');
         CREATE TEMP TABLE items (v text);
         INSERT INTO items VALUES ('temporary');",
    )
    .await
    .unwrap();
    // The bare name is the session's temporary table; public's is still there.
    assert_eq!(one(&a, "SELECT v FROM items").await, "temporary");
    assert_eq!(one(&a, "SELECT v FROM public.items").await, "permanent");
    assert_eq!(one(&a, "SELECT v FROM pg_temp.items").await, "temporary");
    // The same query text in another session reads the permanent table (the
    // result cache must not serve one session's answer to the other).
    assert_eq!(one(&b, "SELECT v FROM items").await, "permanent");
    assert_eq!(one(&a, "SELECT v FROM items").await, "temporary");
    assert_eq!(failure(&b, "SELECT v FROM pg_temp.items").await, "42P01");
    // The catalog says what PostgreSQL says.
    let catalog = values(
        &a,
        "SELECT n.nspname LIKE 'pg_temp_%', c.relpersistence, \
                pg_table_is_visible(c.oid), c.relnamespace = pg_my_temp_schema() \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relname = 'items' ORDER BY 2",
    )
    .await;
    assert_eq!(
        catalog,
        [
            ["f", "p", "f", "f"].map(|s| Some(s.to_string())),
            ["t", "t", "t", "t"].map(|s| Some(s.to_string())),
        ]
    );
    assert!(
        one(&a, "SELECT current_schemas(true)::text")
            .await
            .starts_with("{pg_temp_")
    );
    assert_eq!(one(&b, "SELECT pg_my_temp_schema()").await, "0");
    // DML and DROP reach the temporary table first.
    a.batch_execute("UPDATE items SET v = 'changed'; DELETE FROM items WHERE false")
        .await
        .unwrap();
    assert_eq!(one(&a, "SELECT v FROM public.items").await, "permanent");
    a.batch_execute("DROP TABLE items").await.unwrap();
    assert_eq!(one(&a, "SELECT v FROM items").await, "permanent");
}

#[tokio::test]
async fn temporary_relations_end_with_their_session() {
    let server = TestServer::start();
    let a = server.connect().await;
    a.batch_execute(
        "CREATE TEMPORARY TABLE scratch (n int);
         INSERT INTO scratch VALUES (1), (2);
         BEGIN; CREATE TEMP TABLE later (n int); ROLLBACK;
         CREATE VIEW doubled AS SELECT n * 2 AS n FROM scratch;
         CREATE TABLE pg_temp.qualified (n int);",
    )
    .await
    .unwrap();
    // A view of a temporary table is temporary too; so is a table named in
    // pg_temp.
    let persistence = values(
        &a,
        "SELECT relname, relpersistence FROM pg_class \
         WHERE relname IN ('scratch', 'doubled', 'qualified') ORDER BY 1",
    )
    .await;
    assert_eq!(
        persistence,
        [["doubled", "t"], ["qualified", "t"], ["scratch", "t"]]
            .map(|r| r.map(|s| Some(s.to_string())))
    );
    assert_eq!(one(&a, "SELECT sum(n) FROM doubled").await, "6");
    // A temporary relation cannot go into a permanent schema, and a user
    // schema cannot take the reserved prefix.
    assert_eq!(
        failure(&a, "CREATE TEMP TABLE public.t (n int)").await,
        "42P16"
    );
    assert_eq!(failure(&a, "CREATE SCHEMA pg_mine").await, "42939");
    drop(a);
    // Gone once the session is: nothing of it is listed or readable.
    let b = server.connect().await;
    let mut left = String::from("?");
    for _ in 0..50 {
        left = one(
            &b,
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pg_temp_%'",
        )
        .await;
        if left == "0" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, "0");
    assert_eq!(failure(&b, "SELECT * FROM scratch").await, "42P01");
}
