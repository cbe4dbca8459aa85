//! The front door: what a client may cost before it logs in (the
//! authentication timeout, the pre-login connection limit, the byte cap on
//! pre-login messages), the audit writer's policy when it cannot keep up or
//! cannot write, and loopback trust as an explicit setting with nothing secret
//! on the unauthenticated HTTP endpoints.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::manual::eventually;
use crate::server::TestServer;

const PASSWORD: &str = "front door password";
const ADMIN_TOKEN: &str = "front-door-admin-token";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("enishi-front-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The server's message for a failed statement.
fn message(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_else(|| e.to_string())
}

fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| format!("{e}"))
}

/// A raw TCP connection to the pg port that sends nothing yet.
fn raw_socket(server: &TestServer) -> TcpStream {
    TcpStream::connect(("127.0.0.1", server.port)).expect("connect")
}

/// Whether the server closes `socket` within `within`: a read returns end of
/// file or an error other than a timeout.
fn closed_within(socket: &mut TcpStream, within: Duration) -> bool {
    socket.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        match socket.read(&mut buf) {
            Ok(0) => return true,
            // What the server said before closing (an ErrorResponse, the
            // authentication request): keep reading.
            Ok(_) if Instant::now() < deadline => continue,
            Ok(_) => return false,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

/// A protocol 3.0 start-up packet for `user`.
fn startup_packet(user: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&196608i32.to_be_bytes());
    for (k, v) in [("user", user), ("database", "postgres")] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut packet = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    packet.extend(body);
    packet
}

/// Reads one backend message: (type byte, body).
fn read_message(socket: &mut TcpStream) -> (u8, Vec<u8>) {
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = [0u8; 5];
    socket.read_exact(&mut head).expect("a message");
    let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let mut body = vec![0u8; len - 4];
    socket.read_exact(&mut body).expect("the message body");
    (head[0], body)
}

// ---------------------------------------------------------------- before login

#[tokio::test]
async fn idle_sockets_neither_lock_out_logins_nor_outstay_the_authentication_timeout() {
    let server = TestServer::start_with(&[
        ("ENISHI_MAX_CONNECTIONS", "2"),
        ("ENISHI_AUTHENTICATION_TIMEOUT", "2"),
    ]);
    // As many sockets as max_connections, none of which ever says a word.
    let opened = Instant::now();
    let idle: Vec<TcpStream> = (0..2).map(|_| raw_socket(&server)).collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A real client still logs in: the idle sockets are not logged-in connections.
    let client = server.connect().await;
    client.simple_query("select 1").await.unwrap();
    // The idle sockets are closed once the authentication timeout has passed.
    let closed = tokio::task::spawn_blocking(move || {
        idle.into_iter()
            .map(|mut s| closed_within(&mut s, Duration::from_secs(8)))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let waited = opened.elapsed();
    assert_eq!(closed, [true, true], "idle sockets outlived the timeout");
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(8),
        "closed after {waited:?}, not about 2 s"
    );
    // The logged-in session is not bound by the authentication timeout.
    tokio::time::sleep(Duration::from_millis(500)).await;
    client.simple_query("select 1").await.unwrap();
    let refusals = server
        .metric("enishi_limit_refusals_total{limit=\"authentication_timeout\"}")
        .unwrap_or(0.0);
    assert!(
        refusals >= 2.0,
        "authentication timeouts counted: {refusals}"
    );
}

#[tokio::test]
async fn connections_still_logging_in_have_a_limit_of_their_own() {
    let server = TestServer::start_with(&[("ENISHI_MAX_STARTUP_CONNECTIONS", "2")]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle: Vec<TcpStream> = (0..2).map(|_| raw_socket(&server)).collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let err = server
        .config()
        .connect(tokio_postgres::NoTls)
        .await
        .err()
        .expect("a third connection that has not logged in is refused");
    assert_eq!(sqlstate(&err), "53300", "{err}");
    assert!(
        server
            .metric("enishi_limit_refusals_total{limit=\"max_startup_connections\"}")
            .is_some_and(|n| n >= 1.0)
    );
    assert_eq!(server.metric("enishi_connections_startup"), Some(2.0));
    // Once they go, there is room again.
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match server.config().connect(tokio_postgres::NoTls).await {
            Ok((client, connection)) => {
                tokio::spawn(connection);
                client.simple_query("select 1").await.unwrap();
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "no room after a close: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn oversized_messages_before_login_are_refused() {
    let server = TestServer::start_with(&[("ENISHI_SUPERUSER_PASSWORD", PASSWORD)]);
    let port = server.port;
    tokio::task::spawn_blocking(move || {
        let connect = || TcpStream::connect(("127.0.0.1", port)).unwrap();
        // A start-up packet longer than PostgreSQL's 10,000 bytes.
        let mut socket = connect();
        let mut packet = 20_000i32.to_be_bytes().to_vec();
        packet.extend(196608i32.to_be_bytes());
        let _ = socket.write_all(&packet);
        let _ = socket.write_all(&vec![b'a'; 19_992]);
        assert!(
            closed_within(&mut socket, Duration::from_secs(5)),
            "oversized start-up packet"
        );

        // A password message longer than that.
        let mut socket = connect();
        socket.write_all(&startup_packet("postgres")).unwrap();
        assert_eq!(read_message(&mut socket).0, b'R', "SASL request");
        let mut message = vec![b'p'];
        message.extend(20_004i32.to_be_bytes());
        let _ = socket.write_all(&message);
        let _ = socket.write_all(&vec![b'a'; 20_000]);
        assert!(
            closed_within(&mut socket, Duration::from_secs(5)),
            "oversized password message"
        );

        // A query sent in the middle of the password exchange, with a body
        // of a megabyte: the server does not buffer it waiting for the end.
        let mut socket = connect();
        socket.write_all(&startup_packet("postgres")).unwrap();
        assert_eq!(read_message(&mut socket).0, b'R', "SASL request");
        let size = 1 << 20;
        let mut message = vec![b'Q'];
        message.extend(((size + 4) as i32).to_be_bytes());
        let _ = socket.write_all(&message);
        socket
            .set_write_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let chunk = vec![b' '; 16 << 10];
        for _ in 0..size / chunk.len() {
            if socket.write_all(&chunk).is_err() {
                break;
            }
        }
        assert!(
            closed_within(&mut socket, Duration::from_secs(5)),
            "a megabyte before login"
        );
    })
    .await
    .unwrap();
    assert!(
        server
            .metric("enishi_limit_refusals_total{limit=\"startup_bytes\"}")
            .is_some_and(|n| n >= 3.0)
    );
    // Logging in still works.
    let mut config = server.config();
    config.password(PASSWORD);
    crate::server::connect(&config)
        .await
        .simple_query("select 1")
        .await
        .unwrap();
}

// ---------------------------------------------------------------- the audit writer

/// A named pipe for the audit log, and a reader that opens it at once (the
/// server's open blocks until then) but reads only when told: a reader that
/// has not started stands for a disk that does not keep up.
struct SlowAuditReader {
    path: PathBuf,
    go: std::sync::mpsc::Sender<()>,
    reader: std::thread::JoinHandle<String>,
}

impl SlowAuditReader {
    fn new(dir: &Path) -> Self {
        let path = dir.join("audit.pipe");
        let status = Command::new("mkfifo").arg(&path).status().expect("mkfifo");
        assert!(status.success());
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let fifo = path.clone();
        let reader = std::thread::spawn(move || {
            let mut file = std::fs::File::open(&fifo).expect("open the pipe");
            let _ = wait.recv();
            let mut text = Vec::new();
            let _ = file.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        });
        Self { path, go, reader }
    }

    /// Starts reading; returns everything written once the server closes the pipe.
    fn read_all(self) -> std::thread::JoinHandle<String> {
        let _ = self.go.send(());
        self.reader
    }
}

#[tokio::test]
async fn audit_records_queued_at_sigterm_all_reach_the_file() {
    let dir = temp_dir("audit-drain");
    let pipe = SlowAuditReader::new(&dir);
    let mut server = TestServer::start_with(&[
        ("ENISHI_ENABLE_AUDIT", "true"),
        ("ENISHI_AUDIT_LOG_PATH", pipe.path.to_str().unwrap()),
    ]);
    // Far more records than the pipe holds: most wait in the server's queue.
    let client = server.connect().await;
    let statements = 1500;
    for i in 0..statements {
        client
            .simple_query(&format!("SELECT 'marker-{i}-end'"))
            .await
            .unwrap();
    }
    drop(client);
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.terminate();
    // The reader starts late, long after a server that did not wait for
    // its audit writer would have exited.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let text = pipe.read_all().join().unwrap();
    let status = server
        .wait_exit(Duration::from_secs(30))
        .expect("the server exits");
    assert!(status.success(), "{status}");
    let missing: Vec<usize> = (0..statements)
        .filter(|i| !text.contains(&format!("marker-{i}-end'")))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {statements} statement records missing, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(text.contains("event=logout"), "the logout record");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_full_audit_queue_refuses_statements_until_it_drains() {
    let dir = temp_dir("audit-full");
    let pipe = SlowAuditReader::new(&dir);
    let config = dir.join("enishi.toml");
    std::fs::write(&config, "[security]\naudit_queue_max_bytes = 8192\n").unwrap();
    let mut server = TestServer::start_with(&[
        ("ENISHI_CONFIG", config.to_str().unwrap()),
        ("ENISHI_ENABLE_AUDIT", "true"),
        ("ENISHI_AUDIT_LOG_PATH", pipe.path.to_str().unwrap()),
    ]);
    let client = server.connect().await;
    // The pipe fills, then the queue: statements are refused, not blocked.
    let mut ran = Vec::new();
    let refusal = loop {
        let i = ran.len();
        assert!(i < 5000, "no statement was refused");
        match client.simple_query(&format!("SELECT 'full-{i}-end'")).await {
            Ok(_) => ran.push(i),
            Err(e) => break e,
        }
    };
    assert_eq!(sqlstate(&refusal), "53000", "{refusal}");
    assert!(message(&refusal).contains("audit log"), "{refusal}");
    // The HTTP API answers meanwhile.
    assert_eq!(server.http_get("/health").0, 200);
    assert!(
        server
            .metric("enishi_audit_refusals_total{reason=\"queue_full\"}")
            .is_some_and(|n| n >= 1.0)
    );
    // Once the writer catches up, statements run again.
    let reader = pipe.read_all();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let i = ran.len();
        match client.simple_query(&format!("SELECT 'full-{i}-end'")).await {
            Ok(_) => break ran.push(i),
            Err(e) => assert!(Instant::now() < deadline, "still refused: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(client);
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.terminate();
    let text = reader.join().unwrap();
    assert!(server.wait_exit(Duration::from_secs(30)).is_some());
    for i in ran {
        assert!(
            text.contains(&format!("full-{i}-end'")),
            "record {i} missing"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn an_unwritable_audit_log_refuses_statements_with_58030() {
    let mut server = TestServer::start_with(&[
        ("ENISHI_ENABLE_AUDIT", "true"),
        // Every write fails with "no space left on device".
        ("ENISHI_AUDIT_LOG_PATH", "/dev/full"),
    ]);
    let client = server.connect().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let refusal = loop {
        match client.simple_query("select 1").await {
            Err(e) => break e,
            Ok(_) => assert!(Instant::now() < deadline, "statements still run"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(sqlstate(&refusal), "58030", "{refusal}");
    assert!(message(&refusal).contains("audit log"), "{refusal}");
    assert_eq!(server.http_get("/health").0, 200);
    eventually(5, "the refusal counted", || {
        server
            .metric("enishi_audit_refusals_total{reason=\"write_failed\"}")
            .is_some_and(|n| n >= 1.0)
    })
    .await;
    assert_eq!(server.metric("enishi_audit_up"), Some(0.0));
    assert!(server.metric("enishi_audit_write_errors_total").unwrap() >= 1.0);
    drop(client);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Shutting down does not wait forever for records that cannot be written.
    server.terminate();
    assert!(
        server.wait_exit(Duration::from_secs(30)).is_some(),
        "the server exits"
    );
}

// ---------------------------------------------------------------- loopback trust and secrets

#[tokio::test]
async fn loopback_trust_is_a_setting() {
    // A password and no explicit choice: loopback clients need the password.
    let server = TestServer::start_with(&[("ENISHI_SUPERUSER_PASSWORD", PASSWORD)]);
    assert!(
        server
            .config()
            .connect(tokio_postgres::NoTls)
            .await
            .is_err()
    );
    drop(server);
    // A password and trust_loopback on: loopback clients are let in without it.
    let server = TestServer::start_with(&[
        ("ENISHI_SUPERUSER_PASSWORD", PASSWORD),
        ("ENISHI_TRUST_LOOPBACK", "true"),
    ]);
    server
        .connect()
        .await
        .simple_query("select 1")
        .await
        .unwrap();
    drop(server);
    // No password and trust_loopback off: nobody is let in without a password.
    let server = TestServer::start_with(&[("ENISHI_TRUST_LOOPBACK", "false")]);
    assert!(
        server
            .config()
            .connect(tokio_postgres::NoTls)
            .await
            .is_err()
    );
    let mut config = server.config();
    config.password("a guess");
    let err = config
        .connect(tokio_postgres::NoTls)
        .await
        .err()
        .expect("the server asks for a password");
    assert_eq!(sqlstate(&err), "28P01", "{err}");
}

#[test]
fn an_empty_superuser_password_is_refused_at_start() {
    for env in [
        ("ENISHI_SUPERUSER_PASSWORD", ""),
        ("ENISHI_SUPERUSER_PASSWORD", "   "),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_enishi"))
            .arg("config")
            .env(env.0, env.1)
            .output()
            .expect("run enishi");
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{env:?}: {err}");
        assert!(err.contains("superuser_password"), "{err}");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_enishi"))
        .args(["config", "--superuser-password", ""])
        .env_remove("ENISHI_SUPERUSER_PASSWORD")
        .output()
        .expect("run enishi");
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test]
async fn an_empty_role_password_is_no_password() {
    let server = TestServer::start_with(&[("ENISHI_SUPERUSER_PASSWORD", PASSWORD)]);
    let mut config = server.config();
    config.password(PASSWORD);
    let admin = crate::server::connect(&config).await;
    admin
        .batch_execute("CREATE ROLE blank LOGIN PASSWORD ''; CREATE ROLE later LOGIN PASSWORD 'x'")
        .await
        .unwrap();
    admin
        .batch_execute("ALTER ROLE later PASSWORD ''")
        .await
        .unwrap();
    for user in ["blank", "later"] {
        let mut config = server.config();
        config.user(user).password("");
        let err = config
            .connect(tokio_postgres::NoTls)
            .await
            .err()
            .unwrap_or_else(|| panic!("{user} logged in with an empty password"));
        assert_eq!(sqlstate(&err), "28P01", "{user}: {err}");
    }
}

#[tokio::test]
async fn status_and_metrics_show_no_secrets_or_paths() {
    let dir = temp_dir("secrets");
    let config = dir.join("enishi.toml");
    let lake = dir.join("lake");
    std::fs::write(
        &config,
        format!(
            "[storage]\nexternal_locations = [{lake:?}]\n\
             [storage.s3]\naccess_key_id = \"AKIAFRONTDOOR\"\nsecret_access_key = \"s3-secret-front\"\n\
             endpoint = \"http://minio.internal:9000\"\n"
        ),
    )
    .unwrap();
    let audit = dir.join("audit.log");
    let logs = dir.join("logs");
    let server = TestServer::start_with(&[
        ("ENISHI_CONFIG", config.to_str().unwrap()),
        ("ENISHI_SUPERUSER_PASSWORD", PASSWORD),
        ("ENISHI_ADMIN_TOKEN", ADMIN_TOKEN),
        ("ENISHI_ENABLE_AUDIT", "true"),
        ("ENISHI_AUDIT_LOG_PATH", audit.to_str().unwrap()),
        ("ENISHI_LOG_DIR", logs.to_str().unwrap()),
    ]);
    let data = server.data_dir.to_str().unwrap().to_string();
    let secrets = [
        PASSWORD,
        ADMIN_TOKEN,
        "AKIAFRONTDOOR",
        "s3-secret-front",
        "minio.internal",
        &data,
        dir.to_str().unwrap(),
    ];
    let (code, status) = server.http_get("/status");
    assert_eq!(code, 200);
    let json: serde_json::Value = serde_json::from_str(&status).unwrap();
    // What the manual reads there stays.
    assert!(json["configuration"]["performance"]["query_cache_size"].is_u64());
    for (port, path) in [
        (server.http_port, "/status"),
        (server.http_port, "/ready"),
        (server.http_port, "/health"),
        (server.http_port, "/metrics"),
        (server.metrics_port, "/metrics"),
    ] {
        let (_, body) = server.http_get_on(port, path);
        for secret in secrets {
            assert!(!body.contains(secret), "{path} on {port} shows {secret}");
        }
    }
    // The admin sees where things are (never the secrets).
    let bearer = format!("Bearer {ADMIN_TOKEN}");
    let (code, body) = server.http_request(
        server.http_port,
        "GET",
        "/status",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(code, 200);
    assert!(body.contains(&data), "{body}");
    for secret in [PASSWORD, "s3-secret-front"] {
        assert!(!body.contains(secret), "admin /status shows {secret}");
    }
    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}
