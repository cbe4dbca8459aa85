//! A real `enishi` server process for tests: a free loopback port, its own data
//! directory, stopped (and its directory removed) when dropped.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub struct TestServer {
    child: Child,
    watchdog: Watchdog,
    pub port: u16,
    /// The HTTP API's port (/health, /metrics, …).
    pub http_port: u16,
    /// The port serving only /metrics.
    pub metrics_port: u16,
    pub data_dir: PathBuf,
    /// Remove the data directory when dropped (not for restart tests).
    owns_data: bool,
}

/// Connects with tokio-postgres, driving the connection on a task.
pub async fn connect(config: &tokio_postgres::Config) -> tokio_postgres::Client {
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// The rows `sql` returns through the simple query protocol, as text (None
/// for NULL); panics when it fails.
pub async fn values(client: &tokio_postgres::Client, sql: &str) -> Vec<Vec<Option<String>>> {
    rows(
        &client
            .simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}")),
    )
}

/// The SQLSTATE `sql` fails with (its text when it has none), or
/// `succeeded: …` when it does not fail.
/// Rows as `a|b|NULL` lines, for comparing with a short list.
pub fn texts(rows: Vec<Vec<Option<String>>>) -> Vec<String> {
    rows.into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| v.unwrap_or_else(|| "NULL".into()))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

pub async fn failure(client: &tokio_postgres::Client, sql: &str) -> String {
    match client.simple_query(sql).await {
        Ok(_) => format!("succeeded: {sql}"),
        Err(e) => e
            .code()
            .map(|c| c.code().to_string())
            .unwrap_or_else(|| e.to_string()),
    }
}

/// The rows of a simple-query result, as text (None for NULL).
pub fn rows(messages: &[tokio_postgres::SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_string))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// Whether process `pid` holds the socket listening on loopback `port`
/// (Linux: the listening socket's inode in /proc/net/tcp among the
/// process's open files).
fn listens_on(pid: u32, port: u16) -> bool {
    let wanted = format!(":{port:04X}");
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address, rem_address, st (0A: LISTEN), …, inode (10th).
            if fields.len() > 9 && fields[1].ends_with(&wanted) && fields[3] == "0A" {
                inodes.push(format!("socket:[{}]", fields[9]));
            }
        }
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .is_ok_and(|target| inodes.iter().any(|i| target.as_os_str() == i.as_str()))
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl TestServer {
    /// Starts a server and waits until it accepts connections.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server with extra environment variables, on a data directory of
    /// its own that is removed when the server is dropped.
    pub fn start_with(env: &[(&str, &str)]) -> Self {
        let data_dir = std::env::temp_dir().join(format!(
            "enishi-test-{}-{}",
            std::process::id(),
            free_port()
        ));
        let _ = std::fs::remove_dir_all(&data_dir);
        let mut server = Self::start_in(&data_dir, env);
        server.owns_data = true;
        server
    }

    /// Starts a server over an existing (or new) data directory, which outlives it.
    /// Ports are picked free but may be taken before the server binds them; a
    /// server that exits at start-up is started again on fresh ports.
    pub fn start_in(data_dir: &std::path::Path, env: &[(&str, &str)]) -> Self {
        for _ in 0..5 {
            let mut server = Self::spawn(data_dir, env);
            if server.wait_ready() {
                return server;
            }
            server.kill();
        }
        panic!("enishi did not start (see its log above)");
    }

    fn spawn(data_dir: &std::path::Path, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let http_port = free_port();
        let metrics_port = free_port();
        let data_dir = data_dir.to_path_buf();
        let mut command = Command::new(env!("CARGO_BIN_EXE_enishi"));
        command
            .env("ENISHI_PG_PORT", port.to_string())
            .env("ENISHI_PORT", http_port.to_string())
            .env("ENISHI_METRICS_PORT", metrics_port.to_string())
            .env("ENISHI_HOST", "127.0.0.1")
            .env("ENISHI_STORAGE_PATH", &data_dir)
            .env(
                "RUST_LOG",
                std::env::var("ENISHI_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().expect("spawn enishi");
        Self {
            watchdog: Watchdog::start(child.id(), port, deadline()),
            child,
            port,
            http_port,
            metrics_port,
            data_dir,
            owns_data: false,
        }
    }

    /// Waits until the server accepts connections; false if it exited first.
    /// The port must be this server's own: another test's server may have
    /// taken the port between picking it and binding it, and would answer.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && listens_on(self.child.id(), self.port)
            {
                return true;
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("enishi did not start listening on port {}", self.port);
    }

    /// GET `path` from the HTTP API; returns (status code, body).
    pub fn http_get(&self, path: &str) -> (u16, String) {
        self.http_get_on(self.http_port, path)
    }

    /// GET `path` from one of the server's HTTP ports.
    pub fn http_get_on(&self, port: u16, path: &str) -> (u16, String) {
        self.http_request(port, "GET", path, &[], "")
    }

    /// Sends one HTTP request (with `headers` and a `body`); returns (status, body).
    pub fn http_request(
        &self,
        port: u16,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        use std::io::{Read, Write};
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("HTTP API");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// The value of one metric line (`name` exactly, no labels) from /metrics.
    pub fn metric(&self, name: &str) -> Option<f64> {
        let (_, body) = self.http_get("/metrics");
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
    }

    /// Connection settings for tokio-postgres (user postgres, database postgres).
    pub fn config(&self) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user("postgres")
            .dbname("postgres")
            // A server that stops answering fails the test instead of
            // stalling it.
            .connect_timeout(Duration::from_secs(20))
            .keepalives_idle(Duration::from_secs(30));
        config
    }

    /// Connects with tokio-postgres, driving the connection on a task.
    pub async fn connect(&self) -> tokio_postgres::Client {
        connect(&self.config()).await
    }
}

impl TestServer {
    /// Sends SIGTERM: the server drains and exits.
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Sends a signal by name (`HUP`, `TERM`, …).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits up to `timeout` for the process to exit; its status if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Gives the test `limit` from now before its server is killed.
    pub fn set_deadline(&mut self, limit: Duration) {
        self.watchdog.stop();
        self.watchdog = Watchdog::start(self.child.id(), self.port, limit);
    }

    /// Stops the server with SIGKILL: no chance to flush or clean up.
    pub fn kill(&mut self) {
        self.watchdog.stop();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
        if self.owns_data {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// How long one test server may run (`ENISHI_TEST_DEADLINE_SECS`, 600).
fn deadline() -> Duration {
    let secs = std::env::var("ENISHI_TEST_DEADLINE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    Duration::from_secs(secs)
}

/// Fails a test that hangs instead of letting it stall the run: past the
/// deadline its server is killed, so whatever waits on the server (a query,
/// a driver, psql) gets an error, and the test says which server it was.
struct Watchdog {
    done: Arc<(Mutex<bool>, Condvar)>,
}

impl Watchdog {
    fn start(pid: u32, port: u16, limit: Duration) -> Self {
        let done = Arc::new((Mutex::new(false), Condvar::new()));
        let watched = done.clone();
        // The test harness names each test's thread after the test.
        let test = std::thread::current()
            .name()
            .unwrap_or("a test")
            .to_string();
        std::thread::spawn(move || {
            let (lock, signal) = &*watched;
            let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
            let (guard, _) = signal
                .wait_timeout_while(guard, limit, |done| !*done)
                .unwrap_or_else(|e| e.into_inner());
            if !*guard {
                eprintln!(
                    "{test}: killing its server (port {port}) after {}s: the test hung",
                    limit.as_secs()
                );
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        });
        Self { done }
    }

    /// The server is being stopped by its test: no need to watch it anymore.
    fn stop(&self) {
        let (lock, signal) = &*self.done;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        signal.notify_all();
    }
}
