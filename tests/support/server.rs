//! A real `enishi` server process for tests: a free loopback port, its own data
//! directory, stopped (and its directory removed) when dropped.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct TestServer {
    child: Child,
    pub port: u16,
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
    pub fn start_in(data_dir: &std::path::Path, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let data_dir = data_dir.to_path_buf();
        let mut command = Command::new(env!("CARGO_BIN_EXE_enishi"));
        command
            .env("ENISHI_PG_PORT", port.to_string())
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
        let server = Self {
            child,
            port,
            data_dir,
            owns_data: false,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("enishi did not start listening on port {}", self.port);
    }

    /// Connection settings for tokio-postgres (user postgres, database postgres).
    pub fn config(&self) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user("postgres")
            .dbname("postgres");
        config
    }

    /// Connects with tokio-postgres, driving the connection on a task.
    pub async fn connect(&self) -> tokio_postgres::Client {
        connect(&self.config()).await
    }
}

impl TestServer {
    /// Stops the server with SIGKILL: no chance to flush or clean up.
    pub fn kill(&mut self) {
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
