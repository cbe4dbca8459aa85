//! Storage settings from the manual: `storage.compression`,
//! `performance.bloom_filter_size` and `storage.max_size_gb`, checked in the
//! files a server writes and in what its clients see.

use std::path::{Path, PathBuf};

use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};

use crate::server::{TestServer, rows};

/// Every Parquet data file under a storage root.
fn data_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for table in std::fs::read_dir(root.join("tables")).unwrap().flatten() {
        for file in std::fs::read_dir(table.path()).unwrap().flatten() {
            if file.path().extension().is_some_and(|e| e == "parquet") {
                out.push(file.path());
            }
        }
    }
    assert!(!out.is_empty(), "no data files under {}", root.display());
    out
}

/// (compression, has a bloom filter) of every column chunk in the files.
fn column_chunks(root: &Path) -> Vec<(Compression, bool)> {
    let mut out = Vec::new();
    for path in data_files(root) {
        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        for group in reader.metadata().row_groups() {
            for column in group.columns() {
                out.push((column.compression(), column.bloom_filter_offset().is_some()));
            }
        }
    }
    out
}

async fn fill(server: &TestServer) {
    server
        .connect()
        .await
        .batch_execute(
            "create table b (id bigint, s text);
             insert into b select v * 2, 'v' || (v * 2) from generate_series(0, 999) as g(v);",
        )
        .await
        .unwrap();
}

async fn explain(server: &TestServer, sql: &str) -> String {
    let client = server.connect().await;
    let result = client
        .simple_query(&format!("explain analyze {sql}"))
        .await
        .unwrap();
    rows(&result)
        .into_iter()
        .flatten()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn compression_follows_the_setting() {
    let zstd = TestServer::start();
    fill(&zstd).await;
    let chunks = column_chunks(&zstd.data_dir);
    assert!(
        chunks
            .iter()
            .all(|(c, _)| matches!(c, Compression::ZSTD(_))),
        "{chunks:?}"
    );

    let plain = TestServer::start_with(&[("ENISHI_COMPRESSION", "false")]);
    fill(&plain).await;
    let chunks = column_chunks(&plain.data_dir);
    assert!(
        chunks.iter().all(|(c, _)| *c == Compression::UNCOMPRESSED),
        "{chunks:?}"
    );
}

#[tokio::test]
async fn bloom_filters_are_written_and_skip_row_groups() {
    // Ids are even: 1001 lies between every row group's min and max, so only a
    // bloom filter can tell that no row group holds it.
    let query = "select * from b where id = 1001";

    let without = TestServer::start();
    fill(&without).await;
    assert!(
        column_chunks(&without.data_dir)
            .iter()
            .all(|(_, bloom)| !bloom)
    );
    let plan = explain(&without, query).await;
    assert!(!plan.contains("bloom_filter=1 total → 0 matched"), "{plan}");

    let with = TestServer::start_with(&[("ENISHI_BLOOM_SIZE", "8192")]);
    fill(&with).await;
    assert!(
        column_chunks(&with.data_dir)
            .iter()
            .all(|(_, bloom)| *bloom)
    );
    let plan = explain(&with, query).await;
    assert!(plan.contains("bloom_filter=1 total → 0 matched"), "{plan}");
    // And the answer is still right for a value that is there.
    let client = with.connect().await;
    let found = rows(
        &client
            .simple_query("select s from b where id = 1000")
            .await
            .unwrap(),
    );
    assert_eq!(found, vec![vec![Some("v1000".to_string())]]);
}

#[tokio::test]
async fn writes_past_max_size_fail_with_53100_and_leave_nothing() {
    // 0.0001 GiB ≈ 107 kB.
    let server = TestServer::start_with(&[("ENISHI_MAX_SIZE_GB", "0.0001")]);
    let client = server.connect().await;
    client
        .batch_execute(
            "create table q (id bigint, s text);
             insert into q select v, 'row ' || v from generate_series(1, 100) as g(v);",
        )
        .await
        .unwrap();
    let err = client
        .batch_execute(
            "insert into q select v, repeat('x', 100) from generate_series(1, 100000) as g(v)",
        )
        .await
        .expect_err("a write past the limit");
    assert_eq!(err.code().map(|c| c.code()), Some("53100"), "{err}");
    // Nothing of the refused write is visible; reads and small writes go on.
    let n = rows(&client.simple_query("select count(*) from q").await.unwrap());
    assert_eq!(n[0][0].as_deref(), Some("100"));
    client
        .batch_execute("insert into q values (101, 'small')")
        .await
        .unwrap();
    // After a restart the limit still counts the existing data.
    drop(client);
    let dir = server.data_dir.clone();
    let mut server = server;
    server.kill();
    let again = TestServer::start_in(&dir, &[("ENISHI_MAX_SIZE_GB", "0.0001")]);
    let client = again.connect().await;
    let err = client
        .batch_execute(
            "insert into q select v, repeat('x', 100) from generate_series(1, 100000) as g(v)",
        )
        .await
        .expect_err("still refused after a restart");
    assert_eq!(err.code().map(|c| c.code()), Some("53100"), "{err}");
    let n = rows(&client.simple_query("select count(*) from q").await.unwrap());
    assert_eq!(n[0][0].as_deref(), Some("101"));
    std::fs::remove_dir_all(&dir).ok();
}
