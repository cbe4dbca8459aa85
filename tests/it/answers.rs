//! Answers that were wrong and are now PostgreSQL's, each with the query
//! that showed it: rows lost under a correlated subquery, array literals
//! split at quoted commas, and subqueries DataFusion plans only in WHERE.

use crate::server::{TestServer, values};

fn column(rows: &[Vec<Option<String>>], i: usize) -> Vec<Option<String>> {
    rows.iter().map(|r| r[i].clone()).collect()
}

fn some(values: &[&str]) -> Vec<Option<String>> {
    values.iter().map(|v| Some(v.to_string())).collect()
}

/// A correlated subquery DataFusion cannot decorrelate runs row by row over
/// its input; when the planner split that input into more partitions than
/// it had when the subquery's node was made, only the first was read, and
/// rows vanished (pgAdmin's and Superset's column queries lost all or half
/// of a table's columns).
#[tokio::test]
async fn a_row_by_row_subquery_keeps_every_input_row() {
    let server = TestServer::start();
    let client = server.connect().await;
    // Rows in several files, so that the join's output comes in several
    // batches that the planner spreads over partitions.
    client
        .batch_execute(
            "CREATE TABLE emp (id int, dept int, name text);
             CREATE TABLE dept (id int, title text);
             INSERT INTO emp VALUES (1, 10, 'ann'), (2, 20, 'bob');
             INSERT INTO emp VALUES (3, 30, 'cy'), (4, 10, 'dee');
             INSERT INTO emp VALUES (5, NULL, 'eve');
             INSERT INTO dept VALUES (10, 'eng'), (20, 'ops');",
        )
        .await
        .unwrap();
    let rows = values(
        &client,
        "SELECT e.name, d.title,
                (SELECT count(*) FROM emp o WHERE o.dept = e.dept OR o.dept IS NULL) AS peers
         FROM emp e LEFT JOIN dept d ON d.id = e.dept
         ORDER BY e.name",
    )
    .await;
    assert_eq!(column(&rows, 0), some(&["ann", "bob", "cy", "dee", "eve"]));
    assert_eq!(column(&rows, 2), some(&["3", "2", "2", "3", "1"]));
}

/// `'{…}'::T[]` was split at every comma and trimmed of braces: a quoted
/// element with a comma became two, quotes stayed in the values, and NULL
/// or a date could not be read at all.
#[tokio::test]
async fn array_literals_read_as_postgresql_reads_them() {
    let server = TestServer::start();
    let client = server.connect().await;
    let rows = values(
        &client,
        r#"SELECT cardinality('{"a,b",c}'::text[]),
                  ('{"a,b",c}'::text[])[1],
                  ('{NULL,1}'::int[])[2],
                  ('{NULL,1}'::int[])[1] IS NULL,
                  ('{2024-02-29}'::date[])[1],
                  ('{" x ",\"q}'::text[])[2],
                  cardinality('{}'::int[])"#,
    )
    .await;
    assert_eq!(
        rows[0],
        some(&["2", "a,b", "1", "t", "2024-02-29", "\"q", "0"])
    );
    let err = client
        .simple_query("SELECT '{1,2'::int[]")
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("22P02"), "{err}");
}

/// `x IN (subquery)` outside WHERE's top-level conditions (in a select
/// list, a CASE, an ORDER BY) failed to plan; it is true on a match, else
/// NULL when x or a value is NULL, and false for no rows.
#[tokio::test]
async fn in_subqueries_answer_anywhere() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute(
            "CREATE TABLE t (a int, b text);
             INSERT INTO t VALUES (1, 'x'), (2, 'y'), (3, 'z'), (NULL, 'n');",
        )
        .await
        .unwrap();
    let rows = values(
        &client,
        "SELECT b,
                a IN (SELECT a FROM t o WHERE o.a <> 3),
                a NOT IN (SELECT 2 UNION SELECT NULL),
                5 IN (SELECT a FROM t WHERE false)
         FROM t ORDER BY b",
    )
    .await;
    let at = |i| column(&rows, i);
    assert_eq!(at(0), some(&["n", "x", "y", "z"]));
    assert_eq!(
        at(1),
        vec![None, Some("t".into()), Some("t".into()), Some("f".into())]
    );
    assert_eq!(at(2), vec![None, None, Some("f".into()), None]);
    assert_eq!(at(3), some(&["f", "f", "f", "f"]));
    let sorted = values(
        &client,
        "SELECT b FROM t ORDER BY CASE WHEN a IN (SELECT 2) THEN 0 ELSE 1 END, b LIMIT 2",
    )
    .await;
    assert_eq!(column(&sorted, 0), some(&["y", "n"]));
}

/// Two `unnest((SELECT …))` in one select list read the same column (both
/// subqueries were named alike), so pgcli's foreign-key query paired a
/// referenced column with itself.
#[tokio::test]
async fn two_unnested_subqueries_stay_apart() {
    let server = TestServer::start();
    let client = server.connect().await;
    let rows = values(
        &client,
        "SELECT unnest((SELECT array_agg(x) FROM (VALUES (1), (2)) v(x))),
                unnest((SELECT array_agg(x * 10) FROM (VALUES (1), (2)) v(x)))",
    )
    .await;
    assert_eq!(column(&rows, 1), some(&["10", "20"]));
}

/// A UNION whose branch returns nothing (`… WHERE false`), beside a VALUES,
/// failed: the optimizer read the union's column names from the VALUES.
/// psql's `\d` of a table with foreign keys sends one.
#[tokio::test]
async fn a_union_with_an_empty_branch_keeps_its_names() {
    let server = TestServer::start();
    let client = server.connect().await;
    let rows = values(&client, "SELECT 1 AS x WHERE false UNION ALL VALUES (7)").await;
    assert_eq!(column(&rows, 0), some(&["7"]));
}

/// A derived table's or a CTE's unnamed columns are named as PostgreSQL
/// names them, so the query around them can name them (`count`, not
/// `count(*)`).
#[tokio::test]
async fn derived_columns_are_named_as_postgresql_names_them() {
    let server = TestServer::start();
    let client = server.connect().await;
    let rows = values(
        &client,
        "WITH w AS (SELECT upper('a'), 1 + 1) SELECT upper, \"?column?\" FROM w
         UNION ALL SELECT 'n', count FROM (SELECT count(*) FROM (VALUES (1)) v(x)) s
         ORDER BY 1",
    )
    .await;
    assert_eq!(column(&rows, 0), some(&["A", "n"]));
}

/// LIMIT and OFFSET of any expression that reads no column of the query
/// (a subquery, a volatile function) are evaluated first, as PostgreSQL
/// evaluates them (DataFusion refused them), and read like any query of the
/// session: a subquery over a table the role may not read fails with 42501.
#[tokio::test]
async fn limits_of_expressions_are_evaluated_first_and_checked() {
    let server =
        TestServer::start_with(&[("ENISHI_SUPERUSER_PASSWORD", "limits-superuser-password")]);
    let mut admin = server.config();
    admin.user("postgres").password("limits-superuser-password");
    let admin = crate::server::connect(&admin).await;
    admin
        .batch_execute(
            "CREATE TABLE secret (n int); INSERT INTO secret VALUES (1), (2), (3);
             CREATE TABLE nums (g int); INSERT INTO nums VALUES (1), (2), (3), (4), (5);
             CREATE USER reader PASSWORD 'reader';",
        )
        .await
        .unwrap();
    let rows = values(
        &admin,
        "SELECT g FROM nums ORDER BY g
         LIMIT (SELECT count(*) FROM secret) OFFSET (CASE WHEN random() < 2 THEN 1 END)",
    )
    .await;
    assert_eq!(column(&rows, 0), some(&["2", "3", "4"]));
    // Not answered from the result cache: the limit read `secret`.
    admin
        .batch_execute("INSERT INTO secret VALUES (4)")
        .await
        .unwrap();
    let rows = values(
        &admin,
        "SELECT g FROM nums ORDER BY g
         LIMIT (SELECT count(*) FROM secret) OFFSET (CASE WHEN random() < 2 THEN 1 END)",
    )
    .await;
    assert_eq!(column(&rows, 0), some(&["2", "3", "4", "5"]));
    let unlimited = values(&admin, "SELECT 1 LIMIT (CASE WHEN random() > 2 THEN 1 END)").await;
    assert_eq!(unlimited.len(), 1);
    let mut reader = server.config();
    reader.user("reader").password("reader");
    let reader = crate::server::connect(&reader).await;
    let err = reader
        .simple_query("SELECT 1 LIMIT (SELECT count(*) FROM secret)")
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("42501"), "{err}");
}
