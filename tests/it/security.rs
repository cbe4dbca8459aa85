//! Security: SCRAM logins, TLS, roles and grants, capability tokens, the audit
//! trail of every decision, and refusing to start open to the network.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tokio_postgres::error::SqlState;

use crate::manual::{eventually, read};
use crate::server::{TestServer, rows};

const SUPERUSER_PASSWORD: &str = "correct horse battery staple";
const ADMIN_TOKEN: &str = "admin-bearer-for-tests";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("enishi-sec-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn login(
    server: &TestServer,
    user: &str,
    password: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let mut config = server.config();
    config.user(user).password(password);
    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// A server with a superuser password, an admin token and the audit log in `dir`.
fn secured_server(dir: &Path) -> (TestServer, PathBuf) {
    let audit = dir.join("audit.log");
    let server = TestServer::start_with(&[
        ("ENISHI_SUPERUSER_PASSWORD", SUPERUSER_PASSWORD),
        ("ENISHI_ADMIN_TOKEN", ADMIN_TOKEN),
        ("ENISHI_ENABLE_AUDIT", "true"),
        ("ENISHI_AUDIT_LOG_PATH", audit.to_str().unwrap()),
    ]);
    (server, audit)
}

/// Issues a capability token over the admin API; returns (id, token).
fn issue(
    server: &TestServer,
    resource: &str,
    permissions: &[&str],
    expires_in: i64,
) -> (String, String) {
    let body = serde_json::json!({
        "resource": resource,
        "permissions": permissions,
        "expires_in": expires_in,
    })
    .to_string();
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let (status, response) = server.http_request(
        server.http_port,
        "POST",
        "/admin/capabilities",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &body,
    );
    assert_eq!(status, 201, "{response}");
    let json: serde_json::Value = serde_json::from_str(&response).unwrap();
    assert!(
        json["expires_at"].as_str().unwrap().ends_with('Z'),
        "{json}"
    );
    (
        json["id"].as_str().unwrap().to_string(),
        json["token"].as_str().unwrap().to_string(),
    )
}

fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| format!("{e}"))
}

const RELATIONS: [&str; 4] = [
    "data.users",
    "data.orders",
    "public.notes",
    "public.user_names",
];
const OPERATIONS: [&str; 4] = ["SELECT", "INSERT", "UPDATE", "DELETE"];

fn statement(operation: &str, relation: &str) -> String {
    match operation {
        "SELECT" => format!("SELECT count(*) FROM {relation}"),
        "INSERT" => format!("INSERT INTO {relation} (id) VALUES (100)"),
        "UPDATE" => format!("UPDATE {relation} SET id = id WHERE id = -1"),
        _ => format!("DELETE FROM {relation} WHERE id = -1"),
    }
}

/// What each principal may do, written down independently of the server.
/// The UPDATE and DELETE statements read the table (their WHERE), so, as in
/// PostgreSQL, they need SELECT besides their own privilege.
fn allowed(principal: &str, relation: &str, operation: &str) -> bool {
    holds(principal, relation, operation)
        && (!matches!(operation, "UPDATE" | "DELETE") || holds(principal, relation, "SELECT"))
}

/// The privileges each principal was given.
fn holds(principal: &str, relation: &str, operation: &str) -> bool {
    let read = operation == "SELECT";
    match principal {
        "postgres" => true,
        "reader" | "revoked" => relation == "data.users" && read,
        "writer" => relation == "data.users" && !read,
        "analyst" => relation.starts_with("data.") && read,
        "viewer" => relation == "public.user_names" && read,
        "nobody" | "nousage" => false,
        "token_read_users" => relation == "data.users" && read,
        "token_write_data" => relation.starts_with("data.") && !read,
        "token_notes" => relation == "public.notes",
        other => panic!("no model for {other}"),
    }
}

const SETUP: &str = "
    CREATE SCHEMA data;
    CREATE TABLE data.users (id int, name text);
    INSERT INTO data.users VALUES (1, 'ada'), (2, 'brian');
    CREATE TABLE data.orders (id int, user_id int);
    INSERT INTO data.orders VALUES (10, 1);
    CREATE TABLE notes (id int, body text);
    INSERT INTO notes VALUES (1, 'hello');
    CREATE VIEW user_names AS SELECT id, name FROM data.users;
    CREATE ROLE reader LOGIN PASSWORD 'reader-pw';
    GRANT USAGE ON SCHEMA data TO reader;
    GRANT SELECT ON data.users TO reader;
    CREATE USER writer WITH PASSWORD 'writer-pw';
    GRANT USAGE ON SCHEMA data TO writer;
    GRANT INSERT, UPDATE, DELETE ON TABLE data.users TO writer;
    CREATE USER analyst PASSWORD 'analyst-pw';
    GRANT USAGE ON SCHEMA data TO analyst;
    GRANT SELECT ON ALL TABLES IN SCHEMA data TO analyst;
    CREATE USER nobody PASSWORD 'nobody-pw';
    CREATE USER viewer PASSWORD 'viewer-pw';
    GRANT SELECT ON user_names TO viewer;
    CREATE USER nousage PASSWORD 'nousage-pw';
    GRANT SELECT ON data.users TO nousage;
    CREATE USER revoked PASSWORD 'revoked-pw';
    GRANT USAGE ON SCHEMA data TO revoked;
    GRANT SELECT, INSERT ON data.users TO revoked;
    REVOKE INSERT ON data.users FROM revoked;
";

#[tokio::test]
async fn authorization_matrix_of_roles_tables_operations_and_tokens() {
    let dir = temp_dir("matrix");
    let (server, audit) = secured_server(&dir);
    let admin = login(&server, "postgres", SUPERUSER_PASSWORD)
        .await
        .unwrap();
    admin.batch_execute(SETUP).await.unwrap();
    // Answers the superuser has seen are in the result cache; nobody else may
    // be served them.
    for relation in RELATIONS {
        for _ in 0..2 {
            admin
                .simple_query(&statement("SELECT", relation))
                .await
                .unwrap();
        }
    }

    let (_, read_users) = issue(&server, "/data/users", &["read"], 3600);
    let (_, write_data) = issue(&server, "/data/*", &["write"], 3600);
    let (_, notes) = issue(&server, "/public/notes", &["read", "write"], 3600);
    let principals: Vec<(&str, String)> = vec![
        ("postgres", SUPERUSER_PASSWORD.into()),
        ("reader", "reader-pw".into()),
        ("writer", "writer-pw".into()),
        ("analyst", "analyst-pw".into()),
        ("nobody", "nobody-pw".into()),
        ("viewer", "viewer-pw".into()),
        ("nousage", "nousage-pw".into()),
        ("revoked", "revoked-pw".into()),
        // A token works whatever the user name.
        ("token_read_users", read_users),
        ("token_write_data", write_data),
        ("token_notes", notes),
    ];
    let mut denials = 0;
    for (principal, password) in &principals {
        let client = login(&server, principal, password)
            .await
            .unwrap_or_else(|e| panic!("{principal} logs in: {e}"));
        for relation in RELATIONS {
            for operation in OPERATIONS {
                if relation == "public.user_names" && operation != "SELECT" {
                    continue;
                }
                let sql = statement(operation, relation);
                let result = client.simple_query(&sql).await;
                let expected = allowed(principal, relation, operation);
                match (&result, expected) {
                    (Ok(_), true) => {}
                    (Err(e), false) if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => {
                        denials += 1;
                        let (schema, table) = relation.split_once('.').unwrap();
                        let message = e.as_db_error().unwrap().message();
                        assert!(
                            message.ends_with(&format!(" {table}"))
                                && message.starts_with("permission denied for ")
                                || message == format!("permission denied for schema {schema}"),
                            "{principal} {sql}: {message}"
                        );
                    }
                    _ => panic!(
                        "{principal} {sql}: expected {}, got {:?}",
                        if expected { "success" } else { "42501" },
                        result.map(|_| "success").map_err(|e| sqlstate(&e))
                    ),
                }
            }
            // has_table_privilege tells the truth about the same grants.
            if !principal.starts_with("token") {
                let sql = format!("SELECT has_table_privilege('{relation}', 'SELECT')");
                let answer = rows(&client.simple_query(&sql).await.unwrap());
                let expected = if allowed(principal, relation, "SELECT") {
                    "t"
                } else {
                    "f"
                };
                assert_eq!(
                    answer[0][0].as_deref(),
                    Some(expected),
                    "{principal}: {sql}"
                );
            }
        }
    }

    // Every denial left an audit line naming the user, the object and the decision.
    eventually(10, "every denial in the audit log", || {
        read(&audit)
            .lines()
            .filter(|l| l.contains("decision=deny"))
            .count()
            == denials
    })
    .await;
    let log = read(&audit);
    let line = log
        .lines()
        .find(|l| {
            l.contains("user_id=reader")
                && l.contains("decision=deny")
                && l.contains("command=INSERT")
        })
        .expect("reader's refused INSERT is audited");
    for field in [
        "class=WRITE",
        "objects=data.users",
        "sqlstate=42501",
        "rows=0",
        "duration_ms=",
    ] {
        assert!(line.contains(field), "{field} in {line}");
    }
    let allowed_line = log
        .lines()
        .find(|l| {
            l.contains("user_id=analyst")
                && l.contains("decision=allow")
                && l.contains("objects=data.orders")
        })
        .expect("analyst's SELECT is audited");
    assert!(
        allowed_line.contains("rows=1") && allowed_line.contains("class=READ"),
        "{allowed_line}"
    );
    assert!(
        !log.contains("reader-pw") && !log.contains(SUPERUSER_PASSWORD),
        "no password reaches the audit log"
    );
    assert_eq!(
        server.metric("enishi_permission_denied_total"),
        Some(denials as f64)
    );
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn passwords_tokens_expiry_and_revocation() {
    let dir = temp_dir("logins");
    let (server, audit) = secured_server(&dir);
    let admin = login(&server, "postgres", SUPERUSER_PASSWORD)
        .await
        .unwrap();
    admin
        .batch_execute(
            "CREATE TABLE t (id int); INSERT INTO t VALUES (1);
             CREATE USER alice PASSWORD 'alice-pw'; CREATE ROLE mute PASSWORD 'mute-pw';",
        )
        .await
        .unwrap();

    // A wrong password and an unknown role fail alike: 28P01, counted, audited.
    for (user, password) in [
        ("postgres", "wrong"),
        ("alice", "wrong"),
        ("ghost", "whatever"),
    ] {
        let e = login(&server, user, password).await.expect_err("refused");
        assert_eq!(e.code(), Some(&SqlState::INVALID_PASSWORD), "{user}: {e}");
        assert_eq!(
            e.as_db_error().unwrap().message(),
            format!("password authentication failed for user \"{user}\"")
        );
    }
    assert_eq!(server.metric("enishi_auth_failures_total"), Some(3.0));
    // A role without LOGIN cannot log in, even with its password.
    let e = login(&server, "mute", "mute-pw").await.err().unwrap();
    assert_eq!(
        e.code(),
        Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION)
    );
    // A role changes its own password; the old one stops working.
    let alice = login(&server, "alice", "alice-pw").await.unwrap();
    alice
        .batch_execute("ALTER USER alice PASSWORD 'alice-new'")
        .await
        .unwrap();
    assert!(login(&server, "alice", "alice-pw").await.is_err());
    login(&server, "alice", "alice-new").await.unwrap();
    // … but cannot make itself superuser or create roles.
    for sql in [
        "ALTER ROLE alice SUPERUSER",
        "CREATE ROLE x",
        "DROP ROLE mute",
    ] {
        let e = alice.batch_execute(sql).await.unwrap_err();
        assert_eq!(e.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{sql}");
    }
    // Verifiers, not passwords, are stored.
    let catalog: String = std::fs::read_dir(server.data_dir.join("_catalog"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(catalog.contains("SCRAM-SHA-256$4096:"));
    assert!(!catalog.contains("alice-pw") && !catalog.contains("alice-new"));

    // A token that expires: it works, then its session is refused, then its login.
    let (_, short) = issue(&server, "/public/t", &["read"], 2);
    assert!(!catalog.contains(&short));
    let session = login(&server, "whoever", &short).await.unwrap();
    session.simple_query("SELECT * FROM t").await.unwrap();
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let e = session.simple_query("SELECT * FROM t").await.unwrap_err();
    assert_eq!(
        e.code(),
        Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION),
        "{e}"
    );
    let e = login(&server, "whoever", &short).await.err().unwrap();
    assert_eq!(e.code(), Some(&SqlState::INVALID_PASSWORD));

    // A revoked token: its open session is refused from the next statement.
    let (id, token) = issue(&server, "/public/t", &["read"], 3600);
    let session = login(&server, "bot", &token).await.unwrap();
    session.simple_query("SELECT * FROM t").await.unwrap();
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let revoke = format!("/admin/capabilities/{id}");
    let (status, _) = server.http_request(
        server.http_port,
        "DELETE",
        &revoke,
        &[("Authorization", &auth)],
        "",
    );
    assert_eq!(status, 204);
    let (status, _) = server.http_request(
        server.http_port,
        "DELETE",
        &revoke,
        &[("Authorization", &auth)],
        "",
    );
    assert_eq!(status, 404);
    assert!(session.simple_query("SELECT * FROM t").await.is_err());
    assert!(login(&server, "bot", &token).await.is_err());

    // The admin API wants its bearer token and a well-formed request.
    let body = r#"{"resource":"/public/t","permissions":["read"],"expires_in":60}"#;
    let (status, _) =
        server.http_request(server.http_port, "POST", "/admin/capabilities", &[], body);
    assert_eq!(status, 401);
    let wrong = [("Authorization", "Bearer nope")];
    let (status, _) = server.http_request(
        server.http_port,
        "POST",
        "/admin/capabilities",
        &wrong,
        body,
    );
    assert_eq!(status, 401);
    let good = [("Authorization", auth.as_str())];
    for bad in [
        r#"{"resource":"users","permissions":["read"],"expires_in":60}"#,
        r#"{"resource":"/public/t","permissions":["drop"],"expires_in":60}"#,
        r#"{"resource":"/public/t","permissions":["read"],"expires_in":0}"#,
        "not json",
    ] {
        let (status, response) =
            server.http_request(server.http_port, "POST", "/admin/capabilities", &good, bad);
        assert_eq!(status, 400, "{bad}: {response}");
    }

    eventually(10, "token events in the audit log", || {
        let log = read(&audit);
        log.contains("event=token_issued") && log.contains("event=token_revoked")
    })
    .await;
    let log = read(&audit);
    assert!(log.contains("event=login_refused user_id=ghost"), "{log}");
    assert!(log.contains("sqlstate=28P01"));
    assert!(
        !log.contains(&token) && !log.contains(&short),
        "tokens never reach the audit log"
    );
    assert!(
        !log.contains("alice-new"),
        "passwords never reach the audit log"
    );
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}

/// A self-signed certificate and key for `localhost`.
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success());
    (cert, key)
}

#[tokio::test]
async fn psql_and_psycopg_log_in_over_tls_with_scram() {
    let dir = temp_dir("tls");
    let (cert, key) = certificate(&dir);
    let server = TestServer::start_with(&[
        ("ENISHI_SUPERUSER_PASSWORD", SUPERUSER_PASSWORD),
        ("ENISHI_TLS_CERT", cert.to_str().unwrap()),
        ("ENISHI_TLS_KEY", key.to_str().unwrap()),
        ("ENISHI_REQUIRE_TLS", "true"),
    ]);
    let psql = |sslmode: &str, password: &str, sql: &str| {
        let output = Command::new("psql")
            .arg(format!(
                "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode={sslmode}",
                server.port
            ))
            .args(["-X", "-A", "-t", "-c", sql])
            .env("PGPASSWORD", password)
            .env("PGCONNECT_TIMEOUT", "10")
            .output()
            .expect("psql");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).to_string()
                + &String::from_utf8_lossy(&output.stderr),
        )
    };
    let (ok, out) = psql("require", SUPERUSER_PASSWORD, "\\conninfo");
    assert!(ok && out.contains("SSL connection"), "{out}");
    let (ok, out) = psql("require", SUPERUSER_PASSWORD, "SELECT 40 + 2");
    assert!(ok && out.trim() == "42", "{out}");
    let (ok, out) = psql("require", "wrong", "SELECT 1");
    assert!(
        !ok && out.contains("password authentication failed for user \"postgres\""),
        "{out}"
    );
    // TLS is required: a plaintext client is turned away before any password.
    let (ok, out) = psql("disable", SUPERUSER_PASSWORD, "SELECT 1");
    assert!(!ok && out.contains("no encryption"), "{out}");

    let script = format!(
        r#"
import psycopg
conn = psycopg.connect(host="127.0.0.1", port={port}, user="postgres", dbname="postgres",
                       password={password:?}, sslmode="require")
assert conn.pgconn.ssl_in_use
print(conn.execute("SELECT 'tls ok'").fetchone()[0])
try:
    psycopg.connect(host="127.0.0.1", port={port}, user="postgres", dbname="postgres",
                    password="wrong", sslmode="require")
    raise SystemExit("a wrong password was accepted")
except psycopg.OperationalError as e:
    assert "password authentication failed" in str(e), e
    print("refused")
"#,
        port = server.port,
        password = SUPERUSER_PASSWORD,
    );
    let output = Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3");
    let out = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{out}");
    assert_eq!(out.trim(), "tls ok\nrefused");
    // Without an admin token the admin API is off.
    let (status, _) =
        server.http_request(server.http_port, "POST", "/admin/capabilities", &[], "{}");
    assert_eq!(status, 404);
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}

/// Runs the server binary to its exit (it must refuse to start).
fn refused_start(env: &[(&str, &str)]) -> String {
    let dir = temp_dir("refuse");
    let mut command = Command::new(env!("CARGO_BIN_EXE_enishi"));
    command
        .env("ENISHI_STORAGE_PATH", dir.join("data"))
        .env("ENISHI_PG_PORT", "0")
        .env("ENISHI_PORT", "0")
        .env("ENISHI_METRICS_PORT", "0")
        .env_remove("ENISHI_SUPERUSER_PASSWORD");
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().expect("run enishi");
    std::fs::remove_dir_all(&dir).ok();
    assert!(!output.status.success(), "enishi started with {env:?}");
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[test]
fn the_server_refuses_to_start_open_or_with_a_broken_certificate() {
    let err = refused_start(&[("ENISHI_HOST", "0.0.0.0")]);
    assert!(
        err.contains("not a loopback address") && err.contains("ENISHI_SUPERUSER_PASSWORD"),
        "{err}"
    );
    let err = refused_start(&[
        ("ENISHI_HOST", "127.0.0.1"),
        ("ENISHI_TLS_CERT", "/nonexistent/server.crt"),
        ("ENISHI_TLS_KEY", "/nonexistent/server.key"),
    ]);
    assert!(err.contains("cannot read the TLS certificate"), "{err}");
    let dir = temp_dir("badcert");
    let (cert, _) = certificate(&dir);
    // A key that is not the certificate's.
    let other = temp_dir("otherkey");
    let (_, wrong_key) = certificate(&other);
    let err = refused_start(&[
        ("ENISHI_HOST", "127.0.0.1"),
        ("ENISHI_TLS_CERT", cert.to_str().unwrap()),
        ("ENISHI_TLS_KEY", wrong_key.to_str().unwrap()),
    ]);
    assert!(err.contains("do not make a usable pair"), "{err}");
    let err = refused_start(&[("ENISHI_HOST", "127.0.0.1"), ("ENISHI_REQUIRE_TLS", "true")]);
    assert!(err.contains("require_tls"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_dir_all(&other).ok();
}

/// Reads rows of `sql` until `stop` has been applied, then until the error;
/// returns the SQLSTATE and how long the stop took to end the stream.
async fn stream_until_stopped(
    client: &tokio_postgres::Client,
    sql: &str,
    stop: impl std::future::Future<Output = ()>,
) -> (String, Duration) {
    use futures::StreamExt;
    let rows = client
        .query_raw(sql, std::iter::empty::<i32>())
        .await
        .expect("the query starts");
    futures::pin_mut!(rows);
    // The query is streaming: rows have reached the client.
    for _ in 0..1000 {
        rows.next().await.expect("a row").expect("no error yet");
    }
    stop.await;
    let stopped = Instant::now();
    loop {
        match rows.next().await {
            Some(Ok(_)) => continue,
            Some(Err(e)) => return (sqlstate(&e), stopped.elapsed()),
            None => panic!("{sql} ran to its end"),
        }
    }
}

#[tokio::test]
async fn cancel_and_statement_timeout_stop_a_streaming_query_within_a_second() {
    let server = TestServer::start();
    // Ten seconds and more of rows, read by the client as they come.
    let long = "SELECT n, repeat('x', 100) FROM generate_series(1, 1000000000) AS t(n)";
    let client = server.connect().await;
    let bystander = server.connect().await;

    let token = client.cancel_token();
    let (code, took) = stream_until_stopped(&client, long, async {
        token.cancel_query(tokio_postgres::NoTls).await.unwrap();
    })
    .await;
    assert_eq!(code, "57014");
    assert!(took < Duration::from_secs(1), "cancel took {took:?}");
    // The session goes on, and so does everyone else.
    client.simple_query("SELECT 1").await.unwrap();
    bystander.simple_query("SELECT 1").await.unwrap();

    client
        .batch_execute("SET statement_timeout = '1500ms'")
        .await
        .unwrap();
    let started = Instant::now();
    let (code, _) = stream_until_stopped(&client, long, async {}).await;
    let took = started.elapsed();
    assert_eq!(code, "57014");
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_millis(2500),
        "a 1.5 s statement_timeout stopped the stream after {took:?}"
    );
    bystander.simple_query("SELECT 1").await.unwrap();
}

#[tokio::test]
async fn owners_create_grant_and_drop_their_own_tables() {
    let server = TestServer::start_with(&[("ENISHI_SUPERUSER_PASSWORD", SUPERUSER_PASSWORD)]);
    let admin = login(&server, "postgres", SUPERUSER_PASSWORD)
        .await
        .unwrap();
    admin
        .batch_execute(
            "CREATE SCHEMA lab; CREATE TABLE lab.base (id int);
             CREATE USER owner_role PASSWORD 'o'; CREATE USER guest PASSWORD 'g';
             GRANT USAGE, CREATE ON SCHEMA lab TO owner_role; GRANT USAGE ON SCHEMA lab TO guest;",
        )
        .await
        .unwrap();
    let owner = login(&server, "owner_role", "o").await.unwrap();
    let guest = login(&server, "guest", "g").await.unwrap();
    // Without CREATE on a schema, nothing can be made there.
    let e = guest
        .batch_execute("CREATE TABLE lab.g (id int)")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{e}");
    let e = owner.batch_execute("CREATE SCHEMA mine").await.unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{e}");
    // The creator owns its table: full use, and the right to grant.
    owner
        .batch_execute(
            "CREATE TABLE lab.results (id int, score int);
             INSERT INTO lab.results VALUES (1, 10), (2, 20);
             CREATE VIEW lab.top AS SELECT id FROM lab.results WHERE score > 15;",
        )
        .await
        .unwrap();
    let e = guest
        .simple_query("SELECT * FROM lab.results")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE));
    // The catalog names each relation's owner, as psql's \dt reads it, and
    // the owner is the role pg_roles lists.
    let owners = rows(
        &admin
            .simple_query(
                "SELECT c.relname, pg_get_userbyid(c.relowner), r.rolname \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 LEFT JOIN pg_roles r ON r.oid = c.relowner \
                 WHERE n.nspname = 'lab' ORDER BY 1",
            )
            .await
            .unwrap(),
    );
    let owned = |table: &str, role: &str| {
        vec![
            Some(table.to_string()),
            Some(role.to_string()),
            Some(role.to_string()),
        ]
    };
    assert_eq!(
        owners,
        vec![
            owned("base", "postgres"),
            owned("results", "owner_role"),
            owned("top", "owner_role")
        ]
    );
    // Not the owner's to give away.
    let e = owner
        .batch_execute("GRANT SELECT ON lab.base TO guest")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE));
    owner
        .batch_execute("GRANT SELECT ON lab.top TO guest")
        .await
        .unwrap();
    // Through the view, the guest reads what the owner may: the view's rows only.
    let answer = rows(&guest.simple_query("SELECT id FROM lab.top").await.unwrap());
    assert_eq!(answer, vec![vec![Some("2".to_string())]]);
    let e = guest
        .simple_query("SELECT * FROM lab.results")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE));
    // Only an owner drops or alters.
    for sql in [
        "DROP TABLE lab.results",
        "DROP VIEW lab.top",
        "ALTER TABLE lab.results ADD COLUMN x int",
        "DROP TABLE lab.base",
    ] {
        let e = guest.batch_execute(sql).await.unwrap_err();
        assert_eq!(e.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{sql}");
    }
    owner
        .batch_execute("DROP VIEW lab.top; DROP TABLE lab.results")
        .await
        .unwrap();
    // A role that still owns objects cannot be dropped; one that does not can.
    owner
        .batch_execute("CREATE TABLE lab.kept (id int)")
        .await
        .unwrap();
    let e = admin
        .batch_execute("DROP ROLE owner_role")
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Some(&SqlState::DEPENDENT_OBJECTS_STILL_EXIST),
        "{e}"
    );
    admin.batch_execute("DROP ROLE guest").await.unwrap();
    let e = admin.batch_execute("DROP ROLE guest").await.unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::UNDEFINED_OBJECT), "{e}");
    let e = admin
        .batch_execute("CREATE ROLE owner_role")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::DUPLICATE_OBJECT), "{e}");
}

#[tokio::test]
async fn a_verifier_made_by_postgresql_logs_in() {
    // What psql's \password sends: a verifier computed on the client side. Take
    // one from a real PostgreSQL and log in with its password.
    let postgres = crate::oracle::Postgres::start();
    let oracle = postgres.connect().await;
    oracle
        .batch_execute(
            "SET password_encryption = 'scram-sha-256';
             CREATE ROLE carol PASSWORD 'made by postgres'",
        )
        .await
        .unwrap();
    let verifier: String = oracle
        .query_one(
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'carol'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(verifier.starts_with("SCRAM-SHA-256$"));
    let server = TestServer::start_with(&[("ENISHI_SUPERUSER_PASSWORD", SUPERUSER_PASSWORD)]);
    let admin = login(&server, "postgres", SUPERUSER_PASSWORD)
        .await
        .unwrap();
    admin
        .batch_execute(&format!(
            "CREATE USER carol; ALTER USER carol PASSWORD '{verifier}'"
        ))
        .await
        .unwrap();
    let carol = login(&server, "carol", "made by postgres").await.unwrap();
    let answer = rows(&carol.simple_query("SELECT current_user").await.unwrap());
    assert_eq!(answer, vec![vec![Some("carol".to_string())]]);
    // psql lists the roles, as \du does.
    let listed = rows(
        &admin
            .simple_query("SELECT rolname, rolsuper, rolcanlogin FROM pg_roles ORDER BY 1")
            .await
            .unwrap(),
    );
    assert_eq!(
        listed,
        vec![
            vec![Some("carol".into()), Some("f".into()), Some("t".into())],
            vec![Some("postgres".into()), Some("t".into()), Some("t".into())],
        ]
    );
}
