//! Storage on an S3-compatible server (moto, a real process): tables survive a
//! restart, and two servers writing one table lose nothing, because commits are
//! conditional PUTs that only one writer per log version can win; each sees
//! the other's commits at its next query.

use crate::s3::S3Server;
use crate::server::{TestServer, rows};

fn env(s3: &S3Server, prefix: &str) -> Vec<(String, String)> {
    let mut env = s3.env(prefix);
    // Look for the other server's commits before every query.
    env.push(("ENISHI_PROBE_INTERVAL_MS".into(), "0".into()));
    env
}

fn start(env: &[(String, String)]) -> TestServer {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    TestServer::start_with(&env)
}

async fn count(server: &TestServer, table: &str) -> String {
    let client = server.connect().await;
    let result = client
        .simple_query(&format!("select count(*), count(distinct id) from {table}"))
        .await
        .unwrap();
    let row = &rows(&result)[0];
    format!(
        "{}/{}",
        row[0].as_deref().unwrap(),
        row[1].as_deref().unwrap()
    )
}

#[tokio::test]
async fn tables_in_s3_survive_a_restart() {
    let s3 = S3Server::start("enishi-restart");
    let env = env(&s3, "data");
    {
        let server = start(&env);
        let client = server.connect().await;
        client
            .batch_execute(
                "create table t (id integer, at time, tag uuid);
                 insert into t values (1, '10:00', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'), (2, null, null);
                 update t set at = '11:30' where id = 2;",
            )
            .await
            .unwrap();
    }
    let server = start(&env);
    let client = server.connect().await;
    let result = client
        .simple_query("select id, at, tag from t order by id")
        .await
        .unwrap();
    assert_eq!(
        rows(&result),
        vec![
            vec![
                Some("1".into()),
                Some("10:00:00".into()),
                Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into())
            ],
            vec![Some("2".into()), Some("11:30:00".into()), None],
        ]
    );
}

#[tokio::test]
async fn two_servers_appending_to_one_table_lose_nothing() {
    let s3 = S3Server::start("enishi-shared");
    let env = env(&s3, "shared");
    let a = start(&env);
    a.connect()
        .await
        .batch_execute("create table shared (id integer, node text)")
        .await
        .unwrap();
    // The second server opens the catalog after the table exists.
    let b = start(&env);
    let (ca, cb) = (a.connect().await, b.connect().await);
    let write = |client: tokio_postgres::Client, node: &'static str, offset: i32| async move {
        for i in 0..25 {
            client
                .execute(
                    "insert into shared values ($1, $2)",
                    &[&(offset + i), &node],
                )
                .await
                .unwrap();
        }
    };
    // Interleaved commits: each server's cached snapshot is regularly behind, so
    // its commit PUT for "the next version" finds that version taken and retries.
    tokio::join!(write(ca, "a", 0), write(cb, "b", 1000));
    // Each server sees the other's commits on its next query.
    assert_eq!(count(&a, "shared").await, "50/50");
    assert_eq!(count(&b, "shared").await, "50/50");
    drop((a, b));
    let fresh = start(&env);
    assert_eq!(count(&fresh, "shared").await, "50/50");
}
