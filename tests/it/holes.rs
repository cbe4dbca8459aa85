//! The holes a security review found, each proved closed: name resolution
//! that privileges cannot be talked around, statements that may not escape
//! Enishi's rules, SQL text that is never rebuilt from tokens, and
//! savepoints that really roll back.

use tokio_postgres::error::SqlState;

use crate::server::{TestServer, failure, rows, values};

const SUPERUSER_PASSWORD: &str = "review-superuser-password";

async fn login(server: &TestServer, user: &str, password: &str) -> tokio_postgres::Client {
    let mut config = server.config();
    config.user(user).password(password);
    crate::server::connect(&config).await
}

fn one_column(rows: Vec<Vec<Option<String>>>) -> Vec<String> {
    rows.into_iter()
        .map(|r| r[0].clone().unwrap_or_default())
        .collect()
}

/// A server with a password (so roles log in) and a secret table no one else
/// was granted: `public.payroll`.
async fn with_payroll() -> (TestServer, tokio_postgres::Client) {
    let server = TestServer::start_with(&[("ENISHI_SUPERUSER_PASSWORD", SUPERUSER_PASSWORD)]);
    let admin = login(&server, "postgres", SUPERUSER_PASSWORD).await;
    admin
        .batch_execute(
            "CREATE TABLE payroll (name text, salary int);
             INSERT INTO payroll VALUES ('ceo', 1000000);
             CREATE SCHEMA other;
             CREATE USER app PASSWORD 'app';
             GRANT USAGE ON SCHEMA other TO app;",
        )
        .await
        .unwrap();
    (server, admin)
}

/// Bare names resolve through the session's search_path, and privileges are
/// checked on the relation the plan reads: changing search_path neither
/// reaches `public.payroll` nor dodges its grants.
#[tokio::test]
async fn search_path_decides_the_relation_and_privileges_follow_it() {
    let (server, admin) = with_payroll().await;
    let app = login(&server, "app", "app").await;
    app.batch_execute("SET search_path = other").await.unwrap();
    // `other` has no payroll: the bare name is not public's.
    for sql in [
        "SELECT * FROM payroll",
        "DELETE FROM payroll",
        "UPDATE payroll SET salary = 0",
        "INSERT INTO payroll VALUES ('x', 1)",
    ] {
        assert_eq!(failure(&app, sql).await, "42P01", "{sql}");
    }
    // With public on the path, the name finds public.payroll, which app may
    // not touch.
    app.batch_execute("SET search_path = other, public")
        .await
        .unwrap();
    for sql in [
        "SELECT * FROM payroll",
        "DELETE FROM payroll",
        "SELECT (SELECT max(salary) FROM payroll)",
        "WITH p AS (SELECT * FROM payroll) SELECT * FROM p",
    ] {
        assert_eq!(failure(&app, sql).await, "42501", "{sql}");
    }
    // A table of the same name earlier in the path is the one read, as \d
    // and pg_table_is_visible say.
    admin
        .batch_execute(
            "CREATE TABLE other.payroll (name text, salary int);
             INSERT INTO other.payroll VALUES ('intern', 10);
             GRANT SELECT ON other.payroll TO app;",
        )
        .await
        .unwrap();
    assert_eq!(
        one_column(values(&app, "SELECT name FROM payroll").await),
        vec!["intern"]
    );
    admin
        .batch_execute("SET search_path = other, public")
        .await
        .unwrap();
    assert_eq!(
        one_column(values(&admin, "SELECT name FROM payroll").await),
        vec!["intern"]
    );
    assert_eq!(
        one_column(values(&admin, "SELECT name FROM public.payroll").await),
        vec!["ceo"]
    );
    // The public table is untouched.
    admin.batch_execute("RESET search_path").await.unwrap();
    assert_eq!(
        one_column(values(&admin, "SELECT count(*) FROM payroll").await),
        vec!["1"]
    );
}

/// DataFusion's own statements do not run: its `COPY … STORED AS` would write
/// any file as any login, under EXPLAIN ANALYZE too.
#[tokio::test]
async fn datafusion_statements_cannot_write_files_or_change_catalogs() {
    let (server, admin) = with_payroll().await;
    let app = login(&server, "app", "app").await;
    let dir = std::env::temp_dir().join(format!("enishi-holes-copy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("written.csv");
    let target = target.display();
    for client in [&app, &admin] {
        for sql in [
            format!("COPY (SELECT 1) TO '{target}' STORED AS CSV"),
            format!("EXPLAIN ANALYZE COPY (SELECT 1) TO '{target}' STORED AS CSV"),
            "CREATE DATABASE elsewhere".to_string(),
        ] {
            let code = failure(client, &sql).await;
            assert!(code == "0A000" || code == "42501", "{sql}: {code}");
        }
    }
    assert!(
        std::fs::read_dir(&dir).unwrap().next().is_none(),
        "a file was written"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// EXECUTE's arguments are plain values: a subquery there is refused, as
/// PostgreSQL refuses it, instead of running unchecked.
#[tokio::test]
async fn execute_arguments_cannot_read_tables() {
    let (server, _admin) = with_payroll().await;
    let app = login(&server, "app", "app").await;
    app.batch_execute("PREPARE p(int) AS SELECT $1")
        .await
        .unwrap();
    assert_eq!(
        failure(&app, "EXECUTE p((SELECT max(salary) FROM payroll))").await,
        "0A000"
    );
    assert_eq!(
        one_column(values(&app, "EXECUTE p(41 + 1)").await),
        vec!["42"]
    );
}

/// A password with a doubled quote stays a password: CREATE USER's rewrite
/// to CREATE ROLE edits the keyword, not the rest of the text.
#[tokio::test]
async fn a_quoted_password_cannot_make_a_superuser() {
    let server = TestServer::start_with(&[("ENISHI_SUPERUSER_PASSWORD", SUPERUSER_PASSWORD)]);
    let admin = login(&server, "postgres", SUPERUSER_PASSWORD).await;
    admin
        .batch_execute("CREATE USER app1 PASSWORD 'x'' SUPERUSER --'")
        .await
        .unwrap();
    assert_eq!(
        values(
            &admin,
            "SELECT rolsuper::text, rolcanlogin::text FROM pg_roles WHERE rolname = 'app1'"
        )
        .await,
        vec![vec![Some("false".into()), Some("true".into())]]
    );
    let app1 = login(&server, "app1", "x' SUPERUSER --").await;
    assert_eq!(failure(&app1, "CREATE SCHEMA mine").await, "42501");
}

/// PostgreSQL's rules for writes: an UPDATE or DELETE that reads the table
/// (WHERE, SET expressions) needs SELECT, as does INSERT … RETURNING; a
/// DEFAULT may not hold a subquery.
#[tokio::test]
async fn writes_that_read_need_select() {
    let (server, admin) = with_payroll().await;
    admin
        .batch_execute(
            "GRANT USAGE ON SCHEMA public TO app;
             GRANT INSERT, UPDATE, DELETE ON payroll TO app;",
        )
        .await
        .unwrap();
    let app = login(&server, "app", "app").await;
    for sql in [
        "UPDATE payroll SET salary = 1 WHERE name = 'ceo'",
        "UPDATE payroll SET salary = salary + 1",
        "DELETE FROM payroll WHERE salary > 100",
        "INSERT INTO payroll VALUES ('a', 1) RETURNING salary",
    ] {
        assert_eq!(failure(&app, sql).await, "42501", "{sql}");
    }
    // Blind writes need only their own privilege.
    app.batch_execute(
        "UPDATE payroll SET salary = 5; INSERT INTO payroll VALUES ('b', 2); DELETE FROM payroll",
    )
    .await
    .unwrap();
    assert_eq!(
        failure(&admin, "CREATE TABLE d (x int DEFAULT (SELECT 1))").await,
        "0A000"
    );
}

/// ROLLBACK TO SAVEPOINT discards what the transaction wrote after the
/// savepoint (INSERT, UPDATE, DELETE, COPY), and a failed statement is
/// recovered from by rolling back to the savepoint before it.
#[tokio::test]
async fn rollback_to_savepoint_discards_later_writes() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute("CREATE TABLE s (id int PRIMARY KEY, v text)")
        .await
        .unwrap();
    client
        .batch_execute(
            "BEGIN;
             INSERT INTO s VALUES (1, 'one');
             SAVEPOINT a;
             INSERT INTO s VALUES (2, 'two');
             ROLLBACK TO SAVEPOINT a;
             INSERT INTO s VALUES (3, 'three');
             COMMIT;",
        )
        .await
        .unwrap();
    assert_eq!(
        one_column(values(&client, "SELECT id FROM s ORDER BY id").await),
        vec!["1", "3"]
    );
    client
        .batch_execute(
            "BEGIN;
             SAVEPOINT a;
             UPDATE s SET v = 'changed';
             DELETE FROM s WHERE id = 1;
             ROLLBACK TO a;
             UPDATE s SET v = 'kept' WHERE id = 3;
             SAVEPOINT b;
             DELETE FROM s;
             ROLLBACK TO SAVEPOINT b;
             RELEASE a;
             COMMIT;",
        )
        .await
        .unwrap();
    assert_eq!(
        values(&client, "SELECT id::text, v FROM s ORDER BY id").await,
        vec![
            vec![Some("1".into()), Some("one".into())],
            vec![Some("3".into()), Some("kept".into())],
        ]
    );
    // Error recovery: the failed INSERT is undone with its savepoint and the
    // transaction goes on.
    client
        .batch_execute("BEGIN; INSERT INTO s VALUES (4, 'four'); SAVEPOINT before_dup")
        .await
        .unwrap();
    let e = client
        .batch_execute("INSERT INTO s VALUES (5, 'five'), (1, 'again')")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::UNIQUE_VIOLATION), "{e}");
    client
        .batch_execute("ROLLBACK TO SAVEPOINT before_dup; INSERT INTO s VALUES (6, 'six'); COMMIT")
        .await
        .unwrap();
    assert_eq!(
        one_column(values(&client, "SELECT id FROM s ORDER BY id").await),
        vec!["1", "3", "4", "6"]
    );
    // COPY inside the span is rolled back too.
    client.batch_execute("BEGIN; SAVEPOINT c").await.unwrap();
    {
        use futures::SinkExt;
        let sink = client.copy_in("COPY s FROM STDIN").await.unwrap();
        futures::pin_mut!(sink);
        sink.send(bytes::Bytes::from_static(b"7\tseven\n"))
            .await
            .unwrap();
        sink.finish().await.unwrap();
    }
    client.batch_execute("ROLLBACK TO c; COMMIT").await.unwrap();
    assert_eq!(
        one_column(values(&client, "SELECT count(*) FROM s").await),
        vec!["4"]
    );
}

/// pg_stat_activity shows another role's session without its statement (as
/// PostgreSQL does), and the statement text kept anywhere never holds a
/// password, however it is quoted.
#[tokio::test]
async fn session_text_is_kept_without_secrets_and_shown_only_to_its_role() {
    let dir = std::env::temp_dir().join(format!("enishi-holes-audit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let audit = dir.join("audit.log");
    let server = TestServer::start_with(&[
        ("ENISHI_SUPERUSER_PASSWORD", SUPERUSER_PASSWORD),
        ("ENISHI_ENABLE_AUDIT", "true"),
        ("ENISHI_AUDIT_LOG_PATH", audit.to_str().unwrap()),
    ]);
    let admin = login(&server, "postgres", SUPERUSER_PASSWORD).await;
    admin
        .batch_execute("CREATE USER app PASSWORD 'app'; CREATE USER other PASSWORD 'other'")
        .await
        .unwrap();
    for sql in [
        "ALTER ROLE other PASSWORD E'first\\'SECRET'",
        "ALTER ROLE other PASSWORD $x$second'SECRET$x$",
        "ALTER ROLE other PASSWORD /* c */ 'thirdSECRET'",
    ] {
        admin.batch_execute(sql).await.unwrap();
        let seen = values(
            &admin,
            "SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid() \
             OR query LIKE 'ALTER ROLE%'",
        )
        .await;
        assert!(!format!("{seen:?}").contains("SECRET"), "{sql}: {seen:?}");
    }
    let app = login(&server, "app", "app").await;
    let shown = values(
        &app,
        "SELECT usename, query, state FROM pg_stat_activity ORDER BY usename",
    )
    .await;
    for row in &shown {
        match row[0].as_deref() {
            Some("app") => assert!(row[1].as_deref().unwrap().contains("pg_stat_activity")),
            _ => {
                assert_eq!(
                    row[1].as_deref(),
                    Some("<insufficient privilege>"),
                    "{row:?}"
                );
                assert_eq!(row[2], None, "{row:?}");
            }
        }
    }
    assert!(shown.iter().any(|r| r[0].as_deref() == Some("postgres")));
    drop((app, admin));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::fs::read_to_string(&audit)
        .unwrap_or_default()
        .matches("ALTER ROLE")
        .count()
        < 3
    {
        assert!(std::time::Instant::now() < deadline, "audit records");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(!log.contains("SECRET"), "{log}");
    std::fs::remove_dir_all(&dir).ok();
}

/// An unconstrained `numeric` column never rounds silently: what it cannot
/// keep exactly (more than 10 digits after the point) is refused with 22003
/// — through INSERT, UPDATE, INSERT … SELECT and COPY — and what it keeps
/// reads back as stored.
#[tokio::test]
async fn unconstrained_numeric_refuses_what_it_would_round() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute("CREATE TABLE n (id int, x numeric, y numeric(10,2))")
        .await
        .unwrap();
    for sql in [
        "INSERT INTO n VALUES (1, 0.123456789012345, 1)",
        "INSERT INTO n (x, id) VALUES ('0.12345678901', 2)",
        "INSERT INTO n VALUES (3, 1e-11, 1)",
        "INSERT INTO n SELECT 4, 1 / 7.0, 1",
        "PREPARE ins(int, numeric, numeric) AS INSERT INTO n VALUES ($1, $2, $3); \
         EXECUTE ins(7, 0.123456789012345, 1)",
    ] {
        assert_eq!(failure(&client, sql).await, "22003", "{sql}");
    }
    // A constrained numeric rounds, as PostgreSQL's does.
    client
        .batch_execute("INSERT INTO n VALUES (5, 0.1234567891, 1.005)")
        .await
        .unwrap();
    assert_eq!(
        failure(&client, "UPDATE n SET x = 0.00000000001 WHERE id = 5").await,
        "22003"
    );
    {
        use futures::SinkExt;
        let sink = client.copy_in("COPY n FROM STDIN").await.unwrap();
        futures::pin_mut!(sink);
        sink.send(bytes::Bytes::from_static(b"6\t0.123456789012345\t1\n"))
            .await
            .unwrap();
        let e = sink.finish().await.unwrap_err();
        assert_eq!(e.code().map(|c| c.code()), Some("22003"), "{e}");
    }
    assert_eq!(
        values(&client, "SELECT x::text, y::text FROM n").await,
        vec![vec![Some("0.1234567891".into()), Some("1.01".into())]]
    );
}

/// Memory is bounded: with a small `performance.memory_limit`, an aggregate
/// far larger than it either finishes by spilling or fails with 53200, and
/// every other session keeps working meanwhile.
#[tokio::test]
async fn a_query_larger_than_the_memory_limit_spills_or_fails_alone() {
    let server = TestServer::start_with(&[("ENISHI_MEMORY_LIMIT", "16MiB")]);
    let big = server.connect().await;
    let other = server.connect().await;
    let query = big.simple_query(
        "SELECT count(*) FROM (SELECT x FROM generate_series(1, 3000000) t(x) GROUP BY x) g",
    );
    let probe = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let started = std::time::Instant::now();
        let answer = values(&other, "SELECT 41 + 1").await;
        (answer, started.elapsed())
    };
    let (result, (answer, waited)) = tokio::join!(
        tokio::time::timeout(std::time::Duration::from_secs(300), query),
        probe
    );
    assert_eq!(answer, vec![vec![Some("42".to_string())]]);
    assert!(
        waited < std::time::Duration::from_secs(10),
        "another session waited {waited:?}"
    );
    match result.expect("the big query ends") {
        Ok(messages) => assert_eq!(rows(&messages), vec![vec![Some("3000000".into())]]),
        Err(e) => assert_eq!(e.code().map(|c| c.code()), Some("53200"), "{e}"),
    }
    assert_eq!(one_column(values(&big, "SELECT 1").await), vec!["1"]);
}

/// Sends `chunks` as the data of `sql` (a COPY … FROM STDIN).
async fn copy_chunks(
    client: &tokio_postgres::Client,
    sql: &str,
    chunks: impl Iterator<Item = bytes::Bytes>,
) -> Result<u64, tokio_postgres::Error> {
    use futures::SinkExt;
    let sink = client.copy_in(sql).await?;
    futures::pin_mut!(sink);
    for chunk in chunks {
        sink.send(chunk).await?;
    }
    sink.finish().await
}

/// A long COPY record arriving in many small messages is read once, not
/// again from its start with every message: a 32 MiB value in 8 KiB
/// messages is stored whole, in time.
#[tokio::test]
async fn copy_reads_a_long_record_once_however_it_is_split() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute("CREATE TABLE blob (id int, body text)")
        .await
        .unwrap();
    const LEN: usize = 32 << 20;
    for (format, head, tail) in [("text", "1\t", "\n"), ("csv", "2,\"", "\"\n")] {
        let mut data = head.as_bytes().to_vec();
        data.resize(head.len() + LEN, b'x');
        data.extend_from_slice(tail.as_bytes());
        let data = bytes::Bytes::from(data);
        let chunks = (0..data.len())
            .step_by(8 << 10)
            .map(|at| data.slice(at..(at + (8 << 10)).min(data.len())));
        let started = std::time::Instant::now();
        let copied = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            copy_chunks(
                &client,
                &format!("COPY blob FROM STDIN WITH (FORMAT {format})"),
                chunks,
            ),
        )
        .await
        .unwrap_or_else(|_| panic!("{format}: a 32 MiB record took over a minute"))
        .unwrap();
        assert_eq!(copied, 1, "{format} in {:?}", started.elapsed());
    }
    assert_eq!(
        values(&client, "SELECT id, length(body) FROM blob ORDER BY id").await,
        vec![
            vec![Some("1".into()), Some(LEN.to_string())],
            vec![Some("2".into()), Some(LEN.to_string())],
        ]
    );
}

/// COPY holds what it reads in the server's memory pool: a record larger
/// than `performance.memory_limit`, the primary keys of a COPY that
/// outgrow it, and a transaction's rows fail with 53200 — nothing of the
/// failed COPY is kept, and the session and every other one go on.
#[tokio::test]
async fn copy_buffers_and_key_sets_count_against_the_memory_pool() {
    let server = TestServer::start_with(&[("ENISHI_MEMORY_LIMIT", "16MiB")]);
    let client = server.connect().await;
    let other = server.connect().await;
    client
        .batch_execute(
            "CREATE TABLE blob (id int, body text);
             CREATE TABLE keyed (id bigint PRIMARY KEY);
             CREATE TABLE wide (a text, b text)",
        )
        .await
        .unwrap();
    let code = |r: Result<u64, tokio_postgres::Error>| match r {
        Ok(n) => format!("copied {n}"),
        Err(e) => e.code().map_or(e.to_string(), |c| c.code().to_string()),
    };

    // One 64 MiB line, never ended.
    let chunk = bytes::Bytes::from(vec![b'x'; 1 << 20]);
    let line =
        std::iter::once(bytes::Bytes::from_static(b"1\t")).chain(std::iter::repeat_n(chunk, 64));
    assert_eq!(
        code(copy_chunks(&client, "COPY blob FROM STDIN", line).await),
        "53200"
    );
    assert_eq!(
        one_column(values(&other, "SELECT 41 + 1").await),
        vec!["42"]
    );

    // Two million keys: more than 16 MiB to compare.
    let keys = (0..2_000_000u64)
        .collect::<Vec<_>>()
        .chunks(100_000)
        .map(|part| bytes::Bytes::from(part.iter().map(|k| format!("{k}\n")).collect::<String>()))
        .collect::<Vec<_>>();
    assert_eq!(
        code(copy_chunks(&client, "COPY keyed FROM STDIN", keys.clone().into_iter()).await),
        "53200"
    );
    assert_eq!(
        one_column(values(&client, "SELECT count(*) FROM keyed").await),
        vec!["0"]
    );
    // The same keys in parts the pool holds are all stored.
    for part in keys {
        assert_eq!(
            code(copy_chunks(&client, "COPY keyed FROM STDIN", std::iter::once(part)).await),
            "copied 100000"
        );
    }
    assert_eq!(
        one_column(values(&client, "SELECT count(*) FROM keyed").await),
        vec!["2000000"]
    );

    // A transaction holds its rows until COMMIT: 64 MiB of them do not fit.
    client.batch_execute("BEGIN").await.unwrap();
    let row = format!("{}\t{}\n", "a".repeat(500), "b".repeat(500));
    let rows = (0..64).map(|_| bytes::Bytes::from(row.repeat(1 << 10)));
    assert_eq!(
        code(copy_chunks(&client, "COPY wide FROM STDIN", rows).await),
        "53200"
    );
    client.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(
        one_column(values(&client, "SELECT count(*) FROM wide").await),
        vec!["0"]
    );
    assert_eq!(one_column(values(&client, "SELECT 1").await), vec!["1"]);
    assert_eq!(
        one_column(values(&other, "SELECT 41 + 1").await),
        vec!["42"]
    );
}

/// An UPDATE or DELETE changes only the rows its WHERE selects. DataFusion
/// hands the table only simple filters on it: a WHERE the optimizer proved
/// false (`1 = 0`) or turned into a join (`IN (SELECT …)`, `EXISTS`) reached
/// the table as no condition, and every row was deleted or updated.
#[tokio::test]
async fn update_and_delete_never_touch_rows_their_where_excludes() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute(
            "CREATE TABLE kept (x int, y int);
             CREATE TABLE other (a int);
             INSERT INTO kept VALUES (1, 1), (2, 2), (3, 3);
             INSERT INTO other VALUES (2);",
        )
        .await
        .unwrap();
    let tag = |rows: Vec<tokio_postgres::SimpleQueryMessage>| {
        rows.into_iter()
            .find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::CommandComplete(n) => Some(n),
                _ => None,
            })
            .unwrap()
    };
    for sql in [
        "DELETE FROM kept WHERE 1 = 0",
        "DELETE FROM kept WHERE x = 1 AND false",
        "UPDATE kept SET y = 0 WHERE false",
        "UPDATE kept SET y = 0 WHERE x IN (SELECT 5)",
        "DELETE FROM kept WHERE x NOT IN (SELECT a FROM other UNION ALL SELECT NULL)",
        "DELETE FROM kept WHERE EXISTS (SELECT 1 FROM other WHERE a = 7)",
    ] {
        assert_eq!(tag(client.simple_query(sql).await.unwrap()), 0, "{sql}");
    }
    // A correlated condition is refused, not dropped.
    let correlated = "DELETE FROM kept WHERE EXISTS (SELECT 1 FROM other WHERE other.a = kept.x)";
    assert_eq!(failure(&client, correlated).await, "0A000");
    assert_eq!(
        one_column(values(&client, "SELECT x || ':' || y FROM kept ORDER BY x").await),
        ["1:1", "2:2", "3:3"]
    );
    // Uncorrelated subqueries are answered first and act as PostgreSQL's.
    assert_eq!(
        tag(client
            .simple_query("UPDATE kept SET y = 20 WHERE x IN (SELECT a FROM other)")
            .await
            .unwrap()),
        1
    );
    assert_eq!(
        failure(
            &client,
            "UPDATE kept SET y = 0 WHERE x = (SELECT x FROM kept)"
        )
        .await,
        "21000"
    );
    assert_eq!(
        tag(client
            .simple_query("DELETE FROM kept WHERE x = (SELECT max(a) FROM other)")
            .await
            .unwrap()),
        1
    );
    client
        .batch_execute("INSERT INTO kept VALUES (2, 2)")
        .await
        .unwrap();
    // Inside a transaction block too; and a plain WHERE still works.
    client
        .batch_execute(
            "BEGIN;
             DELETE FROM kept WHERE 1 = 0;
             DELETE FROM kept WHERE x = 1;
             UPDATE kept SET y = y + 10 WHERE x = 2;
             COMMIT;",
        )
        .await
        .unwrap();
    assert_eq!(
        one_column(values(&client, "SELECT x || ':' || y FROM kept ORDER BY x").await),
        ["2:12", "3:3"]
    );
    // A DELETE's table may be named through an alias.
    assert_eq!(
        tag(client
            .simple_query("DELETE FROM kept AS k WHERE k.x = 3")
            .await
            .unwrap()),
        1
    );
    assert_eq!(
        one_column(values(&client, "SELECT x || ':' || y FROM kept ORDER BY x").await),
        ["2:12"]
    );
}

/// pgbench's initialization empties its tables and fills them again in one
/// transaction. Rows inserted after a DELETE or TRUNCATE in the same
/// transaction, into a table with a `char(n)` column, carried a schema the
/// transaction's copy of the table refused: an internal error.
#[tokio::test]
async fn rows_inserted_after_a_truncate_in_a_transaction_are_kept() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute(
            "CREATE TABLE branches (bid int NOT NULL, balance int, filler char(88));
             INSERT INTO branches (bid, balance) VALUES (9, 9);
             BEGIN;
             INSERT INTO branches (bid, balance) VALUES (8, 8);
             TRUNCATE TABLE branches;
             INSERT INTO branches (bid, balance) VALUES (1, 0);
             INSERT INTO branches VALUES (2, 0, 'x');
             COMMIT;",
        )
        .await
        .unwrap();
    assert_eq!(
        one_column(
            values(
                &client,
                "SELECT bid || ':' || coalesce(trim(filler), '-') FROM branches ORDER BY bid"
            )
            .await
        ),
        ["1:-", "2:x"]
    );
}

/// A table created inside a transaction block is gone after ROLLBACK, and
/// after a COMMIT of a block that failed, as in PostgreSQL; the name is free
/// to create again. A table created in a committed block stays.
#[tokio::test]
async fn tables_created_in_a_rolled_back_transaction_are_dropped() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute(
            "BEGIN;
             CREATE TEMP TABLE scratch (x int);
             INSERT INTO scratch VALUES (1);
             CREATE TABLE made (x int);
             ROLLBACK;",
        )
        .await
        .unwrap();
    for name in ["scratch", "made"] {
        let err = client
            .simple_query(&format!("SELECT * FROM {name}"))
            .await
            .unwrap_err();
        assert_eq!(err.code().unwrap().code(), "42P01", "{name}");
    }
    client
        .batch_execute("BEGIN; CREATE TABLE made (x int)")
        .await
        .unwrap();
    client.simple_query("SELECT 1/0").await.unwrap_err();
    client.batch_execute("COMMIT").await.unwrap();
    let err = client.simple_query("SELECT * FROM made").await.unwrap_err();
    assert_eq!(err.code().unwrap().code(), "42P01");
    client
        .batch_execute("BEGIN; CREATE TABLE made (x int); INSERT INTO made VALUES (7); COMMIT")
        .await
        .unwrap();
    assert_eq!(
        one_column(values(&client, "SELECT x FROM made").await),
        ["7"]
    );
}

/// `WHERE a = 1 AND NULL` kept every row with a = 1: the table scan was
/// told its constant part (`NULL`) was applied exactly, and dropped it.
#[tokio::test]
async fn a_constant_null_condition_filters_out_every_row() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute("CREATE TABLE f (a int, b int); INSERT INTO f VALUES (1, 1), (2, NULL)")
        .await
        .unwrap();
    for sql in [
        "SELECT count(*) FROM f WHERE a = 1 AND NULL",
        "SELECT count(*) FROM f WHERE NULL",
        "SELECT count(*) FROM f WHERE a = 1 AND b = NULL",
    ] {
        assert_eq!(one_column(values(&client, sql).await), ["0"], "{sql}");
    }
}

/// EXPLAIN plans the statement as running it would: with the same rewrites
/// (set-returning functions in FROM, `ORDER BY … USING`, PostgreSQL's
/// function names), where it planned the statement as parsed and refused
/// what the statement itself runs.
#[tokio::test]
async fn explain_plans_what_the_statement_runs() {
    let server = TestServer::start();
    let client = server.connect().await;
    for sql in [
        "SELECT r FROM (VALUES ('a,b')) x(s), LATERAL regexp_split_to_table(s, ',') r",
        "SELECT x FROM (VALUES (1), (2)) v(x) ORDER BY x USING >",
        "SELECT g FROM generate_series(1, 3) g",
    ] {
        client.simple_query(sql).await.unwrap();
        let plan = client
            .simple_query(&format!("EXPLAIN {sql}"))
            .await
            .unwrap_or_else(|e| panic!("EXPLAIN {sql}: {e}"));
        assert!(!plan.is_empty(), "{sql}");
    }
}

/// A transaction's own inserted rows vanished from its reads (until COMMIT)
/// when an INSERT cast a value to another text type (`'x'::varchar` into a
/// text column): the held rows kept the cast's field metadata, and the scan
/// of them was dropped instead of failing.
#[tokio::test]
async fn a_transaction_reads_rows_it_inserted_with_casts() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute(
            "CREATE TABLE held (a text, b varchar(5));
             BEGIN;
             INSERT INTO held VALUES ('x'::varchar, 'y');
             INSERT INTO held VALUES ('z', 'w'::text);",
        )
        .await
        .unwrap();
    let rows = values(&client, "SELECT a, b FROM held ORDER BY a").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    client.batch_execute("COMMIT").await.unwrap();
}

/// A correlated scalar subquery of no table (`(SELECT 5 WHERE y = y)`) was
/// answered NULL: the rule that reads undecorrelatable catalog subqueries
/// as NULL took "scans no table but the catalog's" to include scanning none.
#[tokio::test]
async fn a_correlated_subquery_of_no_table_is_answered() {
    let server = TestServer::start();
    let client = server.connect().await;
    for (sql, expected) in [
        (
            "SELECT (SELECT 5 WHERE y = y) FROM (VALUES (1), (2)) v(y)",
            ["5", "5"],
        ),
        (
            "SELECT (SELECT y * 10 WHERE y > 0) FROM (VALUES (1), (2)) v(y) ORDER BY 1",
            ["10", "20"],
        ),
    ] {
        assert_eq!(one_column(values(&client, sql).await), expected, "{sql}");
    }
}
