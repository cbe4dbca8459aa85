//! A real S3-compatible server for storage tests: moto's `moto_server` (from PyPI,
//! installed by `scripts/test`), on a free loopback port, with one bucket.
//! moto honours conditional PUT (`If-None-Match: *`), which Enishi's commits use;
//! `moto_atomic.py` makes its check and its write one step, as on S3.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct S3Server {
    child: Child,
    pub port: u16,
    pub bucket: String,
}

impl S3Server {
    /// Starts moto and creates `bucket`. Panics with a hint when moto is missing:
    /// the storage suite must run against S3 too.
    pub fn start(bucket: &str) -> Self {
        // moto's server with its object writes made atomic, as S3's are.
        let wrapper = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/moto_atomic.py");
        let program = "python3";
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let child = Command::new(program)
            .args([wrapper, "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {program} ({e}): run scripts/test, which installs moto")
            });
        let server = Self {
            child,
            port,
            bucket: bucket.to_string(),
        };
        server.wait_ready();
        let status = server.request("PUT", &format!("/{bucket}"));
        assert!(
            status.starts_with("HTTP/1.1 200"),
            "create bucket: {status}"
        );
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto did not start listening on port {}", self.port);
    }

    /// One plain HTTP request; returns the status line.
    fn request(&self, method: &str, path: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .expect("send");
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response.lines().next().unwrap_or_default().to_string()
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment an Enishi server needs to keep its data under `prefix`.
    pub fn env(&self, prefix: &str) -> Vec<(String, String)> {
        vec![
            (
                "ENISHI_STORAGE_PATH".into(),
                format!("s3://{}/{prefix}", self.bucket),
            ),
            ("AWS_ENDPOINT".into(), self.endpoint()),
            ("AWS_ALLOW_HTTP".into(), "true".into()),
            ("AWS_ACCESS_KEY_ID".into(), "enishi-test".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "enishi-test".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
        ]
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
