//! COPY through real clients: psql's `\copy` (text, CSV, binary) compared byte
//! for byte with a PostgreSQL 15 server holding the same rows, round trips of
//! PostgreSQL's own output, tokio-postgres's COPY over the extended protocol,
//! psycopg's copy, and what happens to bad data and aborted copies.

use std::io::Write;
use std::process::{Command, Stdio};

use futures::{SinkExt, TryStreamExt};

use crate::oracle::Postgres;
use crate::server::{TestServer, rows};

const TABLE: &str = "create table c (
    id int not null, big bigint, small smallint, name text, code varchar(10), tag char(4),
    amount numeric(10,2), ratio float8, score real, ok boolean, day date,
    at timestamp, at_tz timestamptz, clock time, span interval, ident uuid,
    doc json, docb jsonb, raw bytea)";

const ROWS: &str = r#"insert into c values
    (1, 9000000000, -3, 'plain', 'abc', 'ab', 12.50, 1.5, -2.25, true, '2024-02-29',
     '2024-02-29 12:34:56.789', '2024-02-29 10:34:56+00', '13:14:15', '1 day 02:00:00',
     'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": 1, "a": [1, 2]}', '{"b": 1, "a": [1, 2]}', '\x00ff'),
    (2, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null),
    (3, 0, 0, E'tab\there\nnew line\\back\rcr', 'a,b', 'x"y', -0.01, -0.5, 0.1, false, '1999-12-31',
     '1999-12-31 23:59:59', '1999-12-31 23:59:59+00', '00:00:00', '-1 days +02:03:04',
     '00000000-0000-0000-0000-000000000000', '"s"', '[]', '\x'),
    (4, -1, 1, '', '"q"', '', 0, 0, 0, true, '2000-01-01', '2000-01-01 00:00:00',
     '2000-01-01 00:00:00+00', '23:59:59.999999', '3 mons', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
     'null', '{}', '\x5c2e'),
    (5, 5, 5, '\.', 'NULL', '\N', 1, 1e10, 1, false, '2024-01-01', '2024-01-01 00:00:00',
     '2024-01-01 00:00:00+00', '12:00:00', '0', '11111111-1111-1111-1111-111111111111',
     '1', '{"k": "v,\"w\""}', '\x')"#;

/// Runs psql with one `\copy` command; returns its stdout.
fn psql(port: u16, command: &str, stdin: &[u8]) -> (bool, Vec<u8>, String) {
    let mut child = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-X",
            "-q",
        ])
        .args(["-v", "ON_ERROR_STOP=1", "-c", command])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const FORMATS: &[&str] = &[
    "",
    "with (format text, header true)",
    "with (delimiter '|', null 'NULL')",
    "with (format csv)",
    "with (format csv, header true)",
    "with (format csv, force_quote *)",
    "with (format csv, delimiter ';', quote '''', escape '\\', null 'NA')",
    "with (format binary)",
];

#[tokio::test]
async fn copy_to_stdout_matches_postgresql_byte_for_byte() {
    let postgres = Postgres::start();
    let server = TestServer::start();
    for client in [postgres.connect().await, server.connect().await] {
        client.batch_execute(TABLE).await.unwrap();
        client.batch_execute(ROWS).await.unwrap();
    }
    for options in FORMATS {
        for source in [
            "(select * from c order by id)",
            "(select id, name, raw from c where id > 2 order by id)",
        ] {
            let command = format!("\\copy {source} to stdout {options}");
            let (ok, expected, err) = psql(postgres.port, &command, b"");
            assert!(ok, "PostgreSQL: {command}: {err}");
            let (ok, actual, err) = psql(server.port, &command, b"");
            assert!(ok, "{command}: {err}");
            if actual != expected {
                let at = actual
                    .iter()
                    .zip(&expected)
                    .position(|(a, b)| a != b)
                    .unwrap_or(actual.len().min(expected.len()));
                let window = |bytes: &[u8]| {
                    format!(
                        "{:02x?}",
                        &bytes[at.saturating_sub(8)..(at + 24).min(bytes.len())]
                    )
                };
                panic!(
                    "{command}: first difference at byte {at}\n ours: {}\n   pg: {}\n ours: {:?}\n   pg: {:?}",
                    window(&actual),
                    window(&expected),
                    String::from_utf8_lossy(&actual),
                    String::from_utf8_lossy(&expected)
                );
            }
        }
    }
}

#[tokio::test]
async fn postgresql_output_round_trips_through_copy_from() {
    let postgres = Postgres::start();
    let server = TestServer::start();
    let pg = postgres.connect().await;
    pg.batch_execute(TABLE).await.unwrap();
    pg.batch_execute(ROWS).await.unwrap();
    let ours = server.connect().await;
    // (FORCE_QUOTE is for COPY TO only.)
    for options in FORMATS.iter().filter(|o| !o.contains("force_quote")) {
        ours.batch_execute("drop table if exists c").await.unwrap();
        ours.batch_execute(TABLE).await.unwrap();
        let out = format!("\\copy (select * from c order by id) to stdout {options}");
        let (ok, data, err) = psql(postgres.port, &out, b"");
        assert!(ok, "{err}");
        let load = format!("\\copy c from stdin {options}");
        let (ok, _, err) = psql(server.port, &load, &data);
        assert!(ok, "{load}: {err}");
        let (ok, again, err) = psql(server.port, &out, b"");
        assert!(ok, "{err}");
        assert!(
            again == data,
            "{options}:\n ours: {:?}\n   pg: {:?}",
            String::from_utf8_lossy(&again),
            String::from_utf8_lossy(&data)
        );
    }
}

#[tokio::test]
async fn bad_rows_fail_the_whole_copy_and_name_the_line() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute(
            "create table b (id int not null, name text); insert into b values (0, 'kept')",
        )
        .await
        .unwrap();
    let cases: &[(&str, &[u8], &str, &str)] = &[
        (
            "",
            b"1\tone\nx\ttwo\n",
            "22P02",
            "COPY b, line 2, column id: \"x\"",
        ),
        ("", b"1\tone\n2\n", "22P04", "COPY b, line 2: \"2\""),
        ("", b"1\tone\t1\n", "22P04", "COPY b, line 1: \"1\tone\t1\""),
        (
            "with (format csv)",
            b"1,one\n,two\n",
            "23502",
            "COPY b, line 2, column id",
        ),
    ];
    for (options, data, code, context) in cases {
        let (ok, _, err) = psql(server.port, &format!("\\copy b from stdin {options}"), data);
        assert!(!ok, "{err}");
        // psql prints the SQLSTATE only when asked; the message and CONTEXT it always shows.
        if !context.is_empty() {
            assert!(
                err.contains(&format!("CONTEXT:  {context}")),
                "{code}: {err}"
            );
        }
        let count = rows(&client.simple_query("select count(*) from b").await.unwrap());
        assert_eq!(
            count[0][0].as_deref(),
            Some("1"),
            "nothing of a failed COPY is kept"
        );
    }
    // The SQLSTATEs, through a driver.
    for (data, code) in [
        (&b"1\tone\nx\ttwo\n"[..], "22P02"),
        (b"\\N\tnull id\n", "23502"),
    ] {
        let sink = client.copy_in("copy b from stdin").await.unwrap();
        futures::pin_mut!(sink);
        sink.send(bytes::Bytes::from_static(data)).await.unwrap();
        let err = sink.finish().await.unwrap_err();
        assert_eq!(err.code().map(|c| c.code()), Some(code), "{err}");
    }
    // The connection goes on serving.
    let count = rows(&client.simple_query("select count(*) from b").await.unwrap());
    assert_eq!(count[0][0].as_deref(), Some("1"));
}

#[tokio::test]
async fn driver_copy_in_and_out_over_the_extended_protocol() {
    let server = TestServer::start();
    let client = server.connect().await;
    client
        .batch_execute("create table d (id int, name text)")
        .await
        .unwrap();
    let sink = client
        .copy_in("COPY d (id, name) FROM STDIN WITH (FORMAT csv)")
        .await
        .unwrap();
    futures::pin_mut!(sink);
    // Messages split rows anywhere, even inside a quoted value.
    for chunk in ["1,one\n2,\"t", "wo, and\nmore\"\n3,", "\n"] {
        sink.send(bytes::Bytes::from(chunk)).await.unwrap();
    }
    assert_eq!(sink.finish().await.unwrap(), 3);
    let out = client
        .copy_out("COPY (SELECT * FROM d ORDER BY id) TO STDOUT")
        .await
        .unwrap();
    let chunks: Vec<bytes::Bytes> = out.try_collect().await.unwrap();
    let text: Vec<u8> = chunks.concat();
    assert_eq!(
        String::from_utf8(text).unwrap(),
        "1\tone\n2\ttwo, and\\nmore\n3\t\\N\n"
    );

    // A table of text columns only (no conversion needed), columns reordered.
    client
        .batch_execute("create table words (a text, b text)")
        .await
        .unwrap();
    let sink = client
        .copy_in("COPY words (b, a) FROM STDIN")
        .await
        .unwrap();
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(b"second\tfirst\n\\N\tonly a\n"))
        .await
        .unwrap();
    assert_eq!(sink.finish().await.unwrap(), 2);
    let words = rows(
        &client
            .simple_query("select a, b from words order by a")
            .await
            .unwrap(),
    );
    assert_eq!(
        words,
        vec![
            vec![Some("first".into()), Some("second".into())],
            vec![Some("only a".into()), None],
        ]
    );

    // A client that gives up (CopyFail) leaves nothing behind.
    {
        let sink = client.copy_in("COPY d FROM STDIN").await.unwrap();
        futures::pin_mut!(sink);
        sink.send(bytes::Bytes::from_static(b"9\tnine\n"))
            .await
            .unwrap();
        // Dropped without finish(): tokio-postgres sends CopyFail.
    }
    let count = rows(&client.simple_query("select count(*) from d").await.unwrap());
    assert_eq!(count[0][0].as_deref(), Some("3"));

    // Inside a transaction block, COPY's rows go with the transaction.
    client.batch_execute("begin").await.unwrap();
    let sink = client.copy_in("COPY d FROM STDIN").await.unwrap();
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(b"10\tten\n"))
        .await
        .unwrap();
    sink.finish().await.unwrap();
    let count = rows(&client.simple_query("select count(*) from d").await.unwrap());
    assert_eq!(count[0][0].as_deref(), Some("4"));
    client.batch_execute("rollback").await.unwrap();
    let count = rows(&client.simple_query("select count(*) from d").await.unwrap());
    assert_eq!(count[0][0].as_deref(), Some("3"));
}

/// A primary key stays unique however rows arrive: COPY repeating a key (in
/// its own rows or against the table's) fails with 23505 and loads nothing,
/// and so do an INSERT in a transaction repeating one of the transaction's
/// own keys and an UPDATE there that repeats one; the transaction can roll
/// back and go on. A COMMIT fails when another session committed one of its
/// keys first.
#[tokio::test]
async fn primary_keys_stay_unique_through_copy_and_transactions() {
    let server = TestServer::start();
    let mut client = server.connect().await;
    client
        .batch_execute("create table k (id int primary key, v text); insert into k values (1, 'a')")
        .await
        .unwrap();
    for data in [&b"2\tb\n2\tc\n"[..], b"3\tc\n1\tagain\n"] {
        let sink = client.copy_in("copy k from stdin").await.unwrap();
        futures::pin_mut!(sink);
        sink.send(bytes::Bytes::from_static(data)).await.unwrap();
        let err = sink.finish().await.unwrap_err();
        let db = err.as_db_error().expect("a server error");
        assert_eq!(db.code().code(), "23505", "{err}");
        assert_eq!(
            db.message(),
            "duplicate key value violates unique constraint \"k_pkey\""
        );
    }
    let count = rows(&client.simple_query("select count(*) from k").await.unwrap());
    assert_eq!(
        count[0][0].as_deref(),
        Some("1"),
        "a failed COPY loads nothing"
    );

    let tx = client.transaction().await.unwrap();
    tx.execute("insert into k values (5, 'e')", &[])
        .await
        .unwrap();
    let err = tx
        .execute("insert into k values (5, 'f')", &[])
        .await
        .unwrap_err();
    let db = err.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "23505");
    assert_eq!(db.detail(), Some("Key (id)=(5) already exists."));
    tx.rollback().await.unwrap();
    let tx = client.transaction().await.unwrap();
    tx.execute("insert into k values (5, 'e')", &[])
        .await
        .unwrap();
    tx.execute("update k set v = 'ee' where id = 5", &[])
        .await
        .unwrap();
    let err = tx
        .execute("insert into k values (1, 'dup')", &[])
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("23505"), "{err}");
    tx.rollback().await.unwrap();
    // An UPDATE of the key inside a transaction is checked too.
    let tx = client.transaction().await.unwrap();
    tx.execute("insert into k values (6, 'f')", &[])
        .await
        .unwrap();
    tx.execute("update k set id = 7 where id = 6", &[])
        .await
        .unwrap();
    let err = tx
        .execute("update k set id = 1 where id = 7", &[])
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("23505"), "{err}");
    tx.rollback().await.unwrap();
    let kept = rows(
        &client
            .simple_query("select id, v from k order by id")
            .await
            .unwrap(),
    );
    assert_eq!(kept, vec![vec![Some("1".into()), Some("a".into())]]);
    // A key another session commits first fails this one's COMMIT.
    let other = server.connect().await;
    let tx = client.transaction().await.unwrap();
    tx.execute("insert into k values (8, 'mine')", &[])
        .await
        .unwrap();
    other
        .batch_execute("insert into k values (8, 'theirs')")
        .await
        .unwrap();
    let err = tx.commit().await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("23505"), "{err}");
    let kept = rows(
        &other
            .simple_query("select v from k where id = 8")
            .await
            .unwrap(),
    );
    assert_eq!(kept, vec![vec![Some("theirs".into())]]);
}
