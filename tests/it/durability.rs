//! Durable tables: everything is there after a restart, with its declared types,
//! and an acknowledged write survives SIGKILL at any moment while a write in
//! flight is either wholly there or not at all.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::server::{TestServer, rows};

struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("enishi-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn tables_and_declared_types_survive_a_restart() {
    let dir = TempDir::new("restart");
    let describe = "select a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull \
                    from pg_catalog.pg_attribute a join pg_catalog.pg_class c on a.attrelid = c.oid \
                    where c.relname = 'kept' and a.attnum > 0 order by a.attnum";
    let query =
        "select id, name, price, at, ok, code, span, during, tag, doc from kept order by id";
    let (before_rows, before_types) = {
        let server = TestServer::start_in(&dir.0, &[]);
        let client = server.connect().await;
        client
            .batch_execute(
                "create schema sales;
                 create table kept (id integer not null, name varchar(20), price numeric(10,2),
                                    at timestamptz, ok boolean default true, code char(3),
                                    span time, during interval, tag uuid, doc jsonb);
                 insert into kept values (1, 'one', 1.50, '2024-01-01 00:00:00+00', true, 'x',
                                          '12:30:00.25', '1 mon 2 days 03:00:00',
                                          'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{\"b\":1,\"a\":2}'),
                                         (2, 'two', 2.25, null, false, null, null, null, null, null),
                                         (3, 'three', null, '2024-03-01 12:00:00+00', null,
                                          null, null, null, null, null);
                 update kept set name = 'TWO' where id = 2;
                 delete from kept where id = 3;
                 create table sales.orders as select id, price from kept;
                 create view sales.cheap as select id from sales.orders where price < 2;",
            )
            .await
            .unwrap();
        let r = rows(&client.simple_query(query).await.unwrap());
        let t = rows(&client.simple_query(describe).await.unwrap());
        (r, t)
    };
    assert_eq!(before_rows.len(), 2);
    assert_eq!(before_rows[1][1].as_deref(), Some("TWO"));

    let server = TestServer::start_in(&dir.0, &[]);
    let client = server.connect().await;
    assert_eq!(
        rows(&client.simple_query(query).await.unwrap()),
        before_rows
    );
    assert_eq!(
        rows(&client.simple_query(describe).await.unwrap()),
        before_types
    );
    assert_eq!(before_types[1][1].as_deref(), Some("character varying(20)"));
    assert_eq!(before_types[2][1].as_deref(), Some("numeric(10,2)"));
    assert_eq!(before_types[0][2].as_deref(), Some("t"));
    let declared: Vec<_> = before_types[5..]
        .iter()
        .map(|r| r[1].clone().unwrap())
        .collect();
    assert_eq!(
        declared,
        [
            "character(3)",
            "time without time zone",
            "interval",
            "uuid",
            "jsonb"
        ]
    );
    let first: Vec<_> = before_rows[0][5..]
        .iter()
        .map(|v| v.clone().unwrap())
        .collect();
    assert_eq!(
        first,
        [
            "x  ",
            "12:30:00.25",
            "1 mon 2 days 03:00:00",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            r#"{"a": 2, "b": 1}"#
        ]
    );
    let orders = rows(
        &client
            .simple_query("select count(*) from sales.orders")
            .await
            .unwrap(),
    );
    assert_eq!(orders[0][0].as_deref(), Some("2"));
    let cheap = rows(
        &client
            .simple_query("select id from sales.cheap")
            .await
            .unwrap(),
    );
    assert_eq!(
        cheap,
        vec![vec![Some("1".to_string())]],
        "views survive a restart"
    );
    // And it keeps working: writes after the restart.
    client
        .batch_execute("insert into kept values (4, 'four', 4, null, true, 'abc', '01:00', '1 day', null, '[]')")
        .await
        .unwrap();
    let count = rows(
        &client
            .simple_query("select count(*) from kept")
            .await
            .unwrap(),
    );
    assert_eq!(count[0][0].as_deref(), Some("3"));
    // Column defaults are stored with the table.
    client
        .batch_execute("insert into kept (id) values (5)")
        .await
        .unwrap();
    let ok = rows(
        &client
            .simple_query("select ok from kept where id = 5")
            .await
            .unwrap(),
    );
    assert_eq!(ok[0][0].as_deref(), Some("t"));
}

/// What the database holds, as a client that saw every acknowledgement
/// knows it: the ledger's rows (id → payload) and the tables created.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Model {
    ledger: std::collections::BTreeMap<i64, String>,
    tables: BTreeSet<String>,
}

/// One write of the crash loop and its effect on the model.
enum Write {
    Insert(Vec<i64>),
    Update(i64, String),
    Delete(i64),
    Copy(Vec<i64>),
    /// BEGIN; INSERT …; UPDATE …; COMMIT.
    Transaction(Vec<i64>, i64, String),
    CreateTable(String),
}

impl Write {
    fn apply(&self, model: &mut Model) {
        match self {
            Write::Insert(ids) | Write::Copy(ids) => {
                for id in ids {
                    model.ledger.insert(*id, format!("row {id}"));
                }
            }
            Write::Update(id, payload) => {
                if let Some(p) = model.ledger.get_mut(id) {
                    *p = payload.clone();
                }
            }
            Write::Delete(id) => {
                model.ledger.remove(id);
            }
            Write::Transaction(ids, updated, payload) => {
                for id in ids {
                    model.ledger.insert(*id, format!("row {id}"));
                }
                if let Some(p) = model.ledger.get_mut(updated) {
                    *p = payload.clone();
                }
            }
            Write::CreateTable(name) => {
                model.tables.insert(name.clone());
            }
        }
    }
}

/// Runs one write; Ok(false) when the connection died (the server was
/// killed). Any other failure fails the test.
async fn run_write(client: &tokio_postgres::Client, write: &Write) -> Result<bool, String> {
    let values = |ids: &[i64]| {
        ids.iter()
            .map(|id| format!("({id}, 'row {id}')"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let result = match write {
        Write::Insert(ids) => {
            client
                .batch_execute(&format!("insert into ledger values {}", values(ids)))
                .await
        }
        Write::Update(id, payload) => {
            client
                .batch_execute(&format!(
                    "update ledger set payload = '{payload}' where id = {id}"
                ))
                .await
        }
        Write::Delete(id) => {
            client
                .batch_execute(&format!("delete from ledger where id = {id}"))
                .await
        }
        Write::Copy(ids) => {
            use futures::SinkExt;
            match client.copy_in("copy ledger from stdin").await {
                Ok(sink) => {
                    let data: String = ids.iter().map(|id| format!("{id}\trow {id}\n")).collect();
                    futures::pin_mut!(sink);
                    match sink.send(bytes::Bytes::from(data)).await {
                        Ok(()) => sink.finish().await.map(|_| ()),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            }
        }
        Write::Transaction(ids, id, payload) => {
            client
                .batch_execute(&format!(
                    "begin; insert into ledger values {}; \
                     update ledger set payload = '{payload}' where id = {id}; commit",
                    values(ids)
                ))
                .await
        }
        Write::CreateTable(name) => {
            client
                .batch_execute(&format!("create table {name} (id int)"))
                .await
        }
    };
    match result {
        Ok(()) => Ok(true),
        // The killed server: the connection is gone, no SQLSTATE.
        Err(e) if e.code().is_none() => Ok(false),
        Err(e) => Err(format!("{e:?}")),
    }
}

/// The model as the server holds it now.
async fn observed(client: &tokio_postgres::Client) -> Model {
    let ledger = rows(
        &client
            .simple_query("select id, payload from ledger")
            .await
            .unwrap(),
    )
    .into_iter()
    .map(|r| {
        (
            r[0].as_deref().unwrap().parse().unwrap(),
            r[1].clone().unwrap(),
        )
    })
    .collect::<std::collections::BTreeMap<i64, String>>();
    let tables = rows(
        &client
            .simple_query(
                "select table_name from information_schema.tables \
                 where table_schema = 'public' and table_name like 'made_%'",
            )
            .await
            .unwrap(),
    )
    .into_iter()
    .map(|r| r[0].clone().unwrap())
    .collect();
    Model { ledger, tables }
}

/// SIGKILL at varying moments of a mixed workload (multi-row INSERT,
/// UPDATE, DELETE, COPY, explicit transactions, CREATE TABLE), with
/// background maintenance every second: after each restart the database
/// holds exactly what was acknowledged, with the write in flight at the kill
/// either wholly there or not at all. Any error but the killed connection
/// fails the test.
#[tokio::test]
async fn acknowledged_writes_survive_sigkill() {
    let dir = TempDir::new("crash");
    std::fs::create_dir_all(&dir.0).unwrap();
    let config = dir.0.join("maintenance.toml");
    std::fs::write(
        &config,
        "[storage]\nmaintenance_interval_secs = 1\ncompact_min_files = 4\ncheckpoint_interval_commits = 5\n",
    )
    .unwrap();
    let data = dir.0.join("data");
    let env = [("ENISHI_CONFIG", config.to_str().unwrap())];
    {
        let server = TestServer::start_in(&data, &env);
        server
            .connect()
            .await
            .batch_execute("create table ledger (id bigint primary key, payload text)")
            .await
            .unwrap();
    }
    let mut model = Model::default();
    let mut in_flight: Option<Write> = None;
    let mut acknowledged_writes = 0;
    let rounds = 16;
    for round in 0..rounds {
        let mut server = TestServer::start_in(&data, &env);
        let client = server.connect().await;
        let seen = observed(&client).await;
        if seen != model {
            let mut with = model.clone();
            in_flight
                .as_ref()
                .expect("a difference needs a write in flight")
                .apply(&mut with);
            assert_eq!(seen, with, "round {round}: not what was acknowledged");
            model = with;
        }
        // Write until killed at a moment that varies by round.
        let base = (round as i64 + 1) * 1_000_000;
        let existing: Vec<i64> = model.ledger.keys().copied().collect();
        let writer = tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0i64.. {
                let id = base + i * 10;
                let old = existing
                    .get((i as usize * 7) % existing.len().max(1))
                    .copied();
                let write = match (i % 6, old) {
                    (1, Some(old)) => Write::Update(old, format!("updated in round {round}")),
                    (2, Some(old)) if i % 12 == 2 => Write::Delete(old),
                    (3, _) => Write::Copy(vec![id, id + 1, id + 2]),
                    (4, _) => Write::Transaction(
                        vec![id, id + 1],
                        id,
                        format!("changed in a transaction of round {round}"),
                    ),
                    (5, _) if i % 18 == 5 => Write::CreateTable(format!("made_{round}_{i}")),
                    _ => Write::Insert(vec![id, id + 1, id + 2, id + 3]),
                };
                match run_write(&client, &write).await {
                    Ok(true) => acked.push(write),
                    // Killed: this write was in flight.
                    Ok(false) => return Ok((acked, Some(write))),
                    Err(e) => return Err(e),
                }
            }
            Ok((acked, None))
        });
        tokio::time::sleep(Duration::from_millis(300 + (round as u64 * 53) % 700)).await;
        server.kill();
        let (acked, last) = tokio::time::timeout(Duration::from_secs(30), writer)
            .await
            .expect("the writer stops when the server dies")
            .unwrap()
            .unwrap_or_else(|e| panic!("round {round}: a write failed: {e}"));
        acknowledged_writes += acked.len();
        for write in &acked {
            write.apply(&mut model);
        }
        in_flight = last;
    }
    let server = TestServer::start_in(&data, &env);
    let client = server.connect().await;
    let seen = observed(&client).await;
    if seen != model {
        let mut with = model.clone();
        in_flight.expect("a write in flight").apply(&mut with);
        assert_eq!(seen, with);
    }
    assert!(
        acknowledged_writes >= rounds,
        "the test must have written in most rounds ({acknowledged_writes} writes)"
    );
}

#[tokio::test]
async fn an_independent_delta_reader_reads_our_tables() {
    let dir = TempDir::new("interop");
    {
        let server = TestServer::start_in(&dir.0, &[]);
        let client = server.connect().await;
        client
            .batch_execute(
                "create table interop (id integer, name varchar(10), price numeric(6,2));
                 insert into interop values (1, 'one', 1.50), (2, 'two', null);
                 insert into interop values (3, 'three', 3.25);",
            )
            .await
            .unwrap();
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients/delta_reader_check.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .arg(&dir.0)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "delta_reader_check.py failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn background_maintenance_compacts_and_checkpoints() {
    let dir = TempDir::new("maintenance");
    std::fs::create_dir_all(&dir.0).unwrap();
    let config = dir.0.join("enishi.toml");
    std::fs::write(
        &config,
        "[storage]\nmaintenance_interval_secs = 1\ncompact_min_files = 4\ncheckpoint_interval_commits = 5\n",
    )
    .unwrap();
    let data = dir.0.join("data");
    let server = TestServer::start_in(&data, &[("ENISHI_CONFIG", config.to_str().unwrap())]);
    let client = server.connect().await;
    client
        .batch_execute("create table small (n int)")
        .await
        .unwrap();
    for n in 0..12 {
        client
            .batch_execute(&format!("insert into small values ({n})"))
            .await
            .unwrap();
    }
    let log = data.join("tables/1/_delta_log");
    let mut compacted = false;
    let mut checkpointed = false;
    for _ in 0..100 {
        for entry in std::fs::read_dir(&log).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.ends_with(".checkpoint.parquet") {
                checkpointed = true;
            }
            if name.ends_with(".json")
                && std::fs::read_to_string(entry.path())
                    .unwrap_or_default()
                    .contains("\"OPTIMIZE\"")
            {
                compacted = true;
            }
        }
        if compacted && checkpointed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(compacted, "no OPTIMIZE commit appeared");
    assert!(checkpointed, "no checkpoint appeared");
    let sum = rows(
        &client
            .simple_query("select count(*), sum(n) from small")
            .await
            .unwrap(),
    );
    assert_eq!(sum[0], vec![Some("12".to_string()), Some("66".to_string())]);
}
