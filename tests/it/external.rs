//! Data in place: external tables over Parquet, CSV, JSON files and a Delta
//! table written by other tools, joined with native tables, listed by psql,
//! kept across restarts, and confined to permitted locations.

use std::path::Path;
use std::process::Command;

use crate::server::{TestServer, rows};

/// Writes the test's files with pyarrow and deltalake (Python), as another
/// tool would.
fn write_files(dir: &Path) {
    let script = r#"
import sys, os, pyarrow as pa, pyarrow.parquet as pq
from deltalake import write_deltalake
d = sys.argv[1]
os.makedirs(f"{d}/trips", exist_ok=True)
pq.write_table(pa.table({"trip": [1, 2, 3], "city_id": [10, 20, 10], "km": [1.5, 20.0, 3.25]}),
               f"{d}/trips/part-0.parquet")
pq.write_table(pa.table({"trip": [4], "city_id": [30], "km": [7.0]}), f"{d}/trips/part-1.parquet")
os.makedirs(f"{d}/csv", exist_ok=True)
open(f"{d}/csv/people.csv", "w").write("id,name\n1,ada\n2,grace\n")
os.makedirs(f"{d}/json", exist_ok=True)
open(f"{d}/json/events.json", "w").write('{"id": 1, "kind": "open"}\n{"id": 2, "kind": "close"}\n')
write_deltalake(f"{d}/delta", pa.table({"k": [1, 2], "v": ["one", "two"]}))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(dir)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn external_tables_are_queryable_joinable_listed_and_persistent() {
    let base = std::env::temp_dir().join(format!("enishi-external-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let lake = base.join("lake");
    let data = base.join("data");
    std::fs::create_dir_all(&lake).unwrap();
    write_files(&lake);
    let config = base.join("enishi.toml");
    std::fs::write(
        &config,
        format!("[storage]\nexternal_locations = [\"{}\"]\n", lake.display()),
    )
    .unwrap();
    let env = [("ENISHI_CONFIG", config.to_str().unwrap())];
    let lake = lake.display().to_string();
    {
        let server = TestServer::start_in(&data, &env);
        let client = server.connect().await;
        client
            .batch_execute(&format!(
                "create table cities (id int, name text);
                 insert into cities values (10, 'Kyoto'), (20, 'Osaka');
                 create external table trips stored as parquet location '{lake}/trips/';
                 create external table people (id int, name text) stored as csv
                     location '{lake}/csv/people.csv' options ('format.has_header' 'true');
                 create external table events stored as json location '{lake}/json/events.json';
                 create external table kv stored as deltatable location '{lake}/delta';"
            ))
            .await
            .unwrap();
        let joined = rows(
            &client
                .simple_query(
                    "select c.name, count(*), sum(t.km) from trips t join cities c on c.id = t.city_id
                     group by c.name order by c.name",
                )
                .await
                .unwrap(),
        );
        assert_eq!(
            joined,
            vec![
                vec![Some("Kyoto".into()), Some("2".into()), Some("4.75".into())],
                vec![Some("Osaka".into()), Some("1".into()), Some("20".into())],
            ]
        );
        let people = rows(
            &client
                .simple_query("select name from people order by id")
                .await
                .unwrap(),
        );
        assert_eq!(
            people,
            vec![vec![Some("ada".into())], vec![Some("grace".into())]]
        );
        let events = rows(
            &client
                .simple_query("select kind from events order by id")
                .await
                .unwrap(),
        );
        assert_eq!(
            events,
            vec![vec![Some("open".into())], vec![Some("close".into())]]
        );
        let kv = rows(
            &client
                .simple_query("select v from kv order by k")
                .await
                .unwrap(),
        );
        assert_eq!(kv, vec![vec![Some("one".into())], vec![Some("two".into())]]);

        // psql lists them with the native tables.
        let listing = crate::psql::psql(&server, &["-c", "\\d"]);
        for name in ["cities", "trips", "people", "events", "kv"] {
            assert!(
                listing.contains(name),
                "{name} missing from \\d:\n{listing}"
            );
        }
        let columns = crate::psql::psql(&server, &["-c", "\\d trips"]);
        assert!(
            columns.contains("city_id") && columns.contains("bigint"),
            "{columns}"
        );

        // Outside the permitted locations: refused, and no server file is read.
        for location in ["/etc/passwd", "/etc/", "http://example.com/x.parquet"] {
            let err = client
                .batch_execute(&format!(
                    "create external table nope stored as csv location '{location}'"
                ))
                .await
                .unwrap_err();
            assert_eq!(
                err.code().map(|c| c.code()),
                Some("42501"),
                "{location}: {err}"
            );
        }
        let err = client
            .batch_execute(&format!(
                "create external table missing stored as parquet location '{lake}/nothing/'"
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code().map(|c| c.code()), Some("58P01"), "{err}");
        let err = client
            .batch_execute(&format!(
                "create external table trips stored as parquet location '{lake}/trips/'"
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code().map(|c| c.code()), Some("42P07"), "{err}");
    }
    // After a restart the definitions are still there; DROP forgets the table
    // and leaves its files.
    let server = TestServer::start_in(&data, &env);
    let client = server.connect().await;
    let count = rows(
        &client
            .simple_query("select count(*) from trips")
            .await
            .unwrap(),
    );
    assert_eq!(count[0][0].as_deref(), Some("4"));
    client.batch_execute("drop table trips").await.unwrap();
    assert!(client.simple_query("select * from trips").await.is_err());
    assert!(Path::new(&lake).join("trips/part-0.parquet").exists());
    drop(server);
    std::fs::remove_dir_all(&base).ok();
}

#[tokio::test]
async fn server_side_copy_writes_and_reads_permitted_files_only() {
    let server = TestServer::start();
    let exports = server.data_dir.join("exports");
    std::fs::create_dir_all(&exports).unwrap();
    let client = server.connect().await;
    client
        .batch_execute(
            "create table src (id int, name text, amount numeric(10,2));
             insert into src values (1, 'a', 1.50), (2, 'b, c', null), (3, null, 3.25);
             create table dst (id int, name text, amount numeric(10,2))",
        )
        .await
        .unwrap();
    let original = rows(
        &client
            .simple_query("select * from src order by id")
            .await
            .unwrap(),
    );
    for (file, options) in [
        ("out.parquet", "(format parquet)"),
        ("out.csv", "(format csv, header true)"),
        ("out.json", ""),
    ] {
        let path = exports.join(file);
        let done = client
            .simple_query(&format!(
                "copy (select * from src order by id) to '{}' {options}",
                path.display()
            ))
            .await
            .unwrap();
        assert!(
            done.iter()
                .any(|m| matches!(m, tokio_postgres::SimpleQueryMessage::CommandComplete(3))),
            "{file}"
        );
        assert!(path.exists(), "{file} written");
        client.batch_execute("delete from dst").await.unwrap();
        client
            .batch_execute(&format!("copy dst from '{}' {options}", path.display()))
            .await
            .unwrap();
        let copied = rows(
            &client
                .simple_query("select * from dst order by id")
                .await
                .unwrap(),
        );
        assert_eq!(copied, original, "{file}");
    }
    // Never a file outside the storage root and the configured locations.
    for statement in [
        "copy dst from '/etc/passwd' (format csv)",
        "copy src to '/tmp/enishi-leak.csv' (format csv)",
    ] {
        let err = client.batch_execute(statement).await.unwrap_err();
        assert_eq!(
            err.code().map(|c| c.code()),
            Some("42501"),
            "{statement}: {err}"
        );
    }
    assert!(!Path::new("/tmp/enishi-leak.csv").exists());
}
