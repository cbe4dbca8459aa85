//! The wire protocol through tokio-postgres: start-up, simple and extended query,
//! SQLSTATEs, session isolation, prepared statements, binary results, portal
//! suspension, transactions, cancellation and timeouts.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{SimpleQueryMessage, error::DbError};

use crate::server::{TestServer, rows as simple_rows};

fn code(err: &tokio_postgres::Error) -> String {
    err.as_db_error()
        .map(|e: &DbError| e.code().code().to_string())
        .unwrap_or_else(|| format!("no db error: {err}"))
}

#[tokio::test]
async fn select_one_is_int4_and_versions_agree() {
    let server = TestServer::start();
    let client = server.connect().await;
    let row = client.query_one("select 1", &[]).await.unwrap();
    assert_eq!(row.columns()[0].type_(), &Type::INT4);
    assert_eq!(row.columns()[0].name(), "?column?");
    assert_eq!(row.get::<_, i32>(0), 1);

    let version: String = client
        .query_one("select version()", &[])
        .await
        .unwrap()
        .get(0);
    let shown: String = client
        .query_one("show server_version", &[])
        .await
        .unwrap()
        .get(0);
    let num: String = client
        .query_one("select current_setting('server_version_num')", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        version.starts_with(&format!("PostgreSQL {shown} ")),
        "{version} vs {shown}"
    );
    let (major, minor) = shown.split_once('.').unwrap();
    assert_eq!(num, format!("{major}{:04}", minor.parse::<u32>().unwrap()));
}

#[tokio::test]
async fn unknown_database_is_3d000() {
    let server = TestServer::start();
    let mut config = server.config();
    config.dbname("no_such_db");
    let err = config
        .connect(tokio_postgres::NoTls)
        .await
        .err()
        .expect("connect must fail");
    assert_eq!(code(&err), "3D000");
    // The server keeps serving others.
    let client = server.connect().await;
    client.simple_query("select 1").await.unwrap();
}

#[tokio::test]
async fn simple_protocol_runs_each_statement_and_stops_at_the_first_error() {
    let server = TestServer::start();
    let client = server.connect().await;
    let messages = client
        .simple_query("select 1 as a; select 'x' as b")
        .await
        .unwrap();
    assert_eq!(
        simple_rows(&messages),
        vec![vec![Some("1".to_string())], vec![Some("x".to_string())]]
    );

    client.simple_query("create table s (a int)").await.unwrap();
    let err = client
        .simple_query("insert into s values (1); select 1/0; insert into s values (2)")
        .await
        .unwrap_err();
    assert_eq!(code(&err), "22012");
    let rows = simple_rows(
        &client
            .simple_query("select a from s order by a")
            .await
            .unwrap(),
    );
    assert_eq!(
        rows,
        vec![vec![Some("1".to_string())]],
        "the statement after the error must not run"
    );

    // Empty queries answer EmptyQueryResponse (tokio-postgres reports it as a
    // completion of 0 rows), not an error.
    for empty in ["", ";", "-- only a comment"] {
        let messages = client.simple_query(empty).await.unwrap();
        assert!(
            matches!(
                messages.as_slice(),
                [SimpleQueryMessage::CommandComplete(0)]
            ),
            "{empty:?}: {messages:?}"
        );
    }
}

#[tokio::test]
async fn errors_carry_postgres_sqlstates() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute("create table e (a int, b text); create table v (c varchar(3))")
        .await
        .unwrap();
    let cases = [
        ("selec 1", "42601"),
        ("select * from missing_table", "42P01"),
        ("select missing_column from e", "42703"),
        ("select no_such_function(1)", "42883"),
        ("create table e (x int)", "42P07"),
        ("select 1 where 'a'", "42804"),
        ("select 1/0", "22012"),
        ("select 'abc'::integer", "22P02"),
        ("select 99999999999::integer", "22003"),
        ("create table u (t time with time zone)", "0A000"),
        ("insert into v values ('abcd')", "22001"),
        ("set no_such_setting = 1", "42704"),
    ];
    for (sql, expected) in cases {
        let err = client.simple_query(sql).await.expect_err(sql);
        assert_eq!(code(&err), expected, "{sql}: {err}");
        // Extended protocol reports the same code.
        let err = client.query(sql, &[]).await.expect_err(sql);
        assert_eq!(code(&err), expected, "extended {sql}: {err}");
    }
    let err = client.simple_query("select 1 frm e").await.unwrap_err();
    let db = err.as_db_error().unwrap();
    assert_eq!(db.code(), &SqlState::SYNTAX_ERROR);
    assert!(
        matches!(db.position(), Some(tokio_postgres::error::ErrorPosition::Original(p)) if *p > 0)
    );
    // The connection survives every error.
    client.simple_query("select 1").await.unwrap();
}

#[tokio::test]
async fn settings_never_leak_between_sessions() {
    let server = TestServer::start();
    let a = server.connect().await;
    let b = server.connect().await;
    a.batch_execute("SET TimeZone = 'Asia/Tokyo'")
        .await
        .unwrap();
    let shown = |rows: Vec<SimpleQueryMessage>| simple_rows(&rows)[0][0].clone().unwrap();
    assert_eq!(
        shown(a.simple_query("show timezone").await.unwrap()),
        "Asia/Tokyo"
    );
    assert_eq!(shown(b.simple_query("show timezone").await.unwrap()), "UTC");
    let at = "select '2024-01-01 00:00:00+00'::timestamptz";
    assert_eq!(
        shown(a.simple_query(at).await.unwrap()),
        "2024-01-01 09:00:00+09"
    );
    assert_eq!(
        shown(b.simple_query(at).await.unwrap()),
        "2024-01-01 00:00:00+00"
    );
    a.batch_execute("RESET TimeZone").await.unwrap();
    assert_eq!(shown(a.simple_query("show timezone").await.unwrap()), "UTC");
}

#[tokio::test]
async fn prepared_statements_infer_and_bind_parameters() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute("create table p (id integer, name varchar(20), score double precision)")
        .await
        .unwrap();
    let insert = client
        .prepare("insert into p values ($1, $2, $3)")
        .await
        .unwrap();
    assert_eq!(insert.params(), &[Type::INT4, Type::VARCHAR, Type::FLOAT8]);
    for (id, name, score) in [(1, "a", 1.5), (2, "b", 2.5), (3, "c", 3.5)] {
        assert_eq!(
            client
                .execute(&insert, &[&id, &name, &score])
                .await
                .unwrap(),
            1
        );
    }
    let select = client
        .prepare("select name, score from p where id = $1")
        .await
        .unwrap();
    assert_eq!(select.params(), &[Type::INT4]);
    assert_eq!(select.columns()[0].type_(), &Type::VARCHAR);
    let row = client.query_one(&select, &[&2i32]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), "b");
    assert_eq!(row.get::<_, f64>(1), 2.5);
    // The same statement with new parameters.
    let row = client.query_one(&select, &[&3i32]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), "c");
}

#[tokio::test]
async fn binary_results_decode_for_every_type() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute(
            "create table b (i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,
                t text, v varchar(10), bo boolean, d date, ts timestamp, tz timestamptz, by bytea);
             insert into b values (-2, 4, 8000000000, 1.5, -2.25, 'text', 'var', true,
                '2024-02-29', '2024-02-29 12:34:56.789', '2024-02-29 12:34:56+02', '\\x00ff')",
        )
        .await
        .unwrap();
    let row = client.query_one("select * from b", &[]).await.unwrap();
    let types: Vec<Type> = row.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(
        types,
        vec![
            Type::INT2,
            Type::INT4,
            Type::INT8,
            Type::FLOAT4,
            Type::FLOAT8,
            Type::TEXT,
            Type::VARCHAR,
            Type::BOOL,
            Type::DATE,
            Type::TIMESTAMP,
            Type::TIMESTAMPTZ,
            Type::BYTEA
        ]
    );
    assert_eq!(row.get::<_, i16>(0), -2);
    assert_eq!(row.get::<_, i32>(1), 4);
    assert_eq!(row.get::<_, i64>(2), 8_000_000_000);
    assert_eq!(row.get::<_, f32>(3), 1.5);
    assert_eq!(row.get::<_, f64>(4), -2.25);
    assert_eq!(row.get::<_, String>(5), "text");
    assert_eq!(row.get::<_, String>(6), "var");
    assert!(row.get::<_, bool>(7));
    assert_eq!(
        row.get::<_, NaiveDate>(8),
        NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
    );
    let ts: NaiveDateTime = row.get(9);
    assert_eq!(ts.to_string(), "2024-02-29 12:34:56.789");
    let tz: DateTime<Utc> = row.get(10);
    assert_eq!(tz.to_rfc3339(), "2024-02-29T10:34:56+00:00");
    assert_eq!(row.get::<_, Vec<u8>>(11), vec![0x00, 0xff]);
}

#[tokio::test]
async fn row_description_names_the_source_table_and_column() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute("create table r (x int, y text)")
        .await
        .unwrap();
    let stmt = client.prepare("select y, x, x + 1 from r").await.unwrap();
    let oid: u32 = client
        .query_one(
            "select oid::int8 from pg_catalog.pg_class where relname = 'r'",
            &[],
        )
        .await
        .unwrap()
        .get::<_, i64>(0) as u32;
    let columns = stmt.columns();
    assert_eq!(columns[0].table_oid(), Some(oid));
    assert_eq!(columns[0].column_id(), Some(2));
    assert_eq!(columns[1].column_id(), Some(1));
    assert_eq!(columns[2].table_oid(), None);
}

#[tokio::test]
async fn execute_with_max_rows_suspends_and_resumes_the_portal() {
    let server = TestServer::start();
    let mut client = server.connect().await;
    client
        .batch_execute("create table g (n int); insert into g values (1),(2),(3),(4),(5)")
        .await
        .unwrap();
    let tx = client.transaction().await.unwrap();
    let stmt = tx.prepare("select n from g order by n").await.unwrap();
    let portal = tx.bind(&stmt, &[]).await.unwrap();
    let mut seen = Vec::new();
    loop {
        let rows = tx.query_portal(&portal, 2).await.unwrap();
        if rows.is_empty() {
            break;
        }
        assert!(rows.len() <= 2);
        seen.extend(rows.iter().map(|r| r.get::<_, i32>(0)));
    }
    assert_eq!(seen, vec![1, 2, 3, 4, 5]);
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn failed_transaction_rejects_statements_until_rollback() {
    let server = TestServer::start();
    let client = server.connect().await;
    client.batch_execute("begin").await.unwrap();
    assert_eq!(
        code(&client.simple_query("select 1/0").await.unwrap_err()),
        "22012"
    );
    assert_eq!(
        code(&client.simple_query("select 1").await.unwrap_err()),
        "25P02"
    );
    assert_eq!(
        code(&client.query("select 1", &[]).await.unwrap_err()),
        "25P02"
    );
    client.batch_execute("rollback").await.unwrap();
    client.simple_query("select 1").await.unwrap();

    // A savepoint recovers the block.
    client.batch_execute("begin; savepoint s1").await.unwrap();
    client
        .simple_query("select * from nowhere")
        .await
        .unwrap_err();
    client
        .batch_execute("rollback to savepoint s1")
        .await
        .unwrap();
    client.simple_query("select 1").await.unwrap();
    client.batch_execute("commit").await.unwrap();

    // SET inside a rolled-back block is undone.
    client
        .batch_execute("begin; set extra_float_digits = 3; rollback")
        .await
        .unwrap();
    let rows = simple_rows(
        &client
            .simple_query("show extra_float_digits")
            .await
            .unwrap(),
    );
    assert_eq!(rows[0][0].as_deref(), Some("1"));
}

#[tokio::test]
async fn transaction_status_follows_the_session() {
    let server = TestServer::start();
    let mut client = server.connect().await;
    // tokio-postgres' Transaction issues BEGIN/COMMIT and checks them.
    let tx = client.transaction().await.unwrap();
    tx.simple_query("select 1").await.unwrap();
    tx.commit().await.unwrap();
    let tx = client.transaction().await.unwrap();
    tx.rollback().await.unwrap();
    client.simple_query("select 1").await.unwrap();
}

#[tokio::test]
async fn statement_timeout_and_cancel_stop_a_query_with_57014() {
    let server = TestServer::start();
    let client = server.connect().await;
    let slow = "select count(*) from generate_series(1, 5000000000)";
    client
        .batch_execute("set statement_timeout = '200ms'")
        .await
        .unwrap();
    let err = client.simple_query(slow).await.unwrap_err();
    assert_eq!(code(&err), "57014");
    client
        .batch_execute("set statement_timeout = 0")
        .await
        .unwrap();

    let token = client.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        token.cancel_query(tokio_postgres::NoTls).await.unwrap();
    });
    let err = client.simple_query(slow).await.unwrap_err();
    assert_eq!(code(&err), "57014");
    canceller.await.unwrap();
    client.simple_query("select 1").await.unwrap();
}

#[tokio::test]
async fn sql_prepare_execute_and_cursors() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute("create table c (n int); insert into c values (1),(2),(3)")
        .await
        .unwrap();
    client
        .batch_execute("prepare q(int) as select n from c where n > $1 order by n")
        .await
        .unwrap();
    let rows = simple_rows(&client.simple_query("execute q(1)").await.unwrap());
    assert_eq!(rows, vec![vec![Some("2".into())], vec![Some("3".into())]]);
    client.batch_execute("deallocate q").await.unwrap();
    assert_eq!(
        code(&client.simple_query("execute q(1)").await.unwrap_err()),
        "26000"
    );

    client
        .batch_execute("begin; declare cur cursor for select n from c order by n")
        .await
        .unwrap();
    let rows = simple_rows(&client.simple_query("fetch 2 from cur").await.unwrap());
    assert_eq!(rows.len(), 2);
    let rows = simple_rows(&client.simple_query("fetch next from cur").await.unwrap());
    assert_eq!(rows, vec![vec![Some("3".into())]]);
    assert!(simple_rows(&client.simple_query("fetch all from cur").await.unwrap()).is_empty());
    client.batch_execute("close cur; commit").await.unwrap();
    client.batch_execute("discard all").await.unwrap();
}

#[tokio::test]
async fn insert_returning_with_parameters_and_its_command_tag() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute("create table r (id int not null, note text default 'none')")
        .await
        .unwrap();
    let statement = client
        .prepare("insert into r (id) values ($1) returning id, note")
        .await
        .unwrap();
    // Described before execution: the RETURNING columns and the parameter type.
    assert_eq!(statement.params(), &[tokio_postgres::types::Type::INT4]);
    let names: Vec<_> = statement.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["id", "note"]);
    let rows = client.query(&statement, &[&7i32]).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].get::<_, i32>(0), rows[0].get::<_, String>(1)),
        (7, "none".to_string())
    );
    // The simple protocol reports PostgreSQL's tag for it.
    let messages = client
        .simple_query("insert into r values (8, 'x'), (9, 'y') returning id")
        .await
        .unwrap();
    let complete = messages.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::CommandComplete(n) => Some(*n),
        _ => None,
    });
    assert_eq!(complete, Some(2));
    let count = simple_rows(&client.simple_query("select count(*) from r").await.unwrap());
    assert_eq!(count, vec![vec![Some("3".into())]]);
}
