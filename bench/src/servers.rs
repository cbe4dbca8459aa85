//! The servers a run compares: an Enishi process and a PostgreSQL 15 cluster,
//! each started for the run on free loopback ports, and the client connections
//! the workloads use.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls};

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Opens a client connection as `postgres`, driving it on a task of its own.
pub async fn connect(port: u16) -> Result<Client> {
    let config = format!("host=127.0.0.1 port={port} user=postgres dbname=postgres");
    let (client, connection) = tokio_postgres::connect(&config, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Waits until a server accepts a connection and answers `select 1`.
async fn wait_ready(port: u16, what: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(client) = connect(port).await
            && client.simple_query("select 1").await.is_ok()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{what} did not answer on port {port}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The peak resident set (VmHWM) of a process, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// An Enishi server over a storage directory of the run.
pub struct Enishi {
    binary: PathBuf,
    dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl Enishi {
    /// Starts a server storing its tables under `dir`, allowed to read server-side
    /// files under `readable`. `maintenance_secs = 0` turns background
    /// compaction off.
    pub async fn start(
        binary: &Path,
        dir: &Path,
        readable: &Path,
        maintenance_secs: u64,
    ) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let config = format!(
            "[storage]\npath = {:?}\nexternal_locations = [{:?}]\nmaintenance_interval_secs = {maintenance_secs}\n",
            dir.join("data"),
            readable,
        );
        std::fs::write(dir.join("enishi.toml"), config)?;
        let mut server = Self {
            binary: binary.to_path_buf(),
            dir: dir.to_path_buf(),
            port: free_port(),
            child: None,
        };
        server.spawn().await?;
        Ok(server)
    }

    async fn spawn(&mut self) -> Result<()> {
        let child = Command::new(&self.binary)
            .arg("--config")
            .arg(self.dir.join("enishi.toml"))
            .env("ENISHI_PG_PORT", self.port.to_string())
            .env("ENISHI_PORT", free_port().to_string())
            .env("ENISHI_METRICS_PORT", free_port().to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.join("server.log"))?)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        self.child = Some(child);
        wait_ready(self.port, "Enishi").await
    }

    /// Stops the process and starts a new one over the same storage: nothing
    /// planned, cached or read stays in memory.
    pub async fn restart(&mut self) -> Result<()> {
        self.stop();
        self.spawn().await
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    pub fn peak_rss_kib(&self) -> Option<u64> {
        peak_rss_kib(self.pid())
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Enishi {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A PostgreSQL 15 cluster made for the run with `initdb`, run as the
/// `postgres` OS user when the harness runs as root.
pub struct Postgres {
    dir: PathBuf,
    pub port: u16,
}

/// The settings a DBA would give an analytical PostgreSQL on this machine
/// (2 cores, 24 GiB): a large buffer cache and generous sort memory.
const PG_SETTINGS: &[&str] = &[
    "shared_buffers=4GB",
    "work_mem=256MB",
    "maintenance_work_mem=1GB",
    "effective_cache_size=16GB",
    "max_parallel_workers_per_gather=2",
    "random_page_cost=1.1",
];

impl Postgres {
    pub async fn start(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        as_postgres_owner(dir)?;
        let server = Self {
            dir: dir.to_path_buf(),
            port: free_port(),
        };
        let status = server
            .pg_command("initdb")
            .args(["-D", &server.data(), "-U", "postgres", "--auth=trust"])
            .args(["-E", "UTF8", "--locale=C"])
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            return Err("initdb failed".into());
        }
        server.pg_ctl("start")?;
        wait_ready(server.port, "PostgreSQL").await?;
        Ok(server)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn pg_command(&self, program: &str) -> Command {
        let program = format!("{PG_BIN}/{program}");
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--", &program]);
            command
        } else {
            Command::new(program)
        }
    }

    fn pg_ctl(&self, action: &str) -> Result<()> {
        let mut options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c TimeZone=UTC",
            self.port,
            self.dir.display()
        );
        for setting in PG_SETTINGS {
            options.push_str(" -c ");
            options.push_str(setting);
        }
        let log = self.dir.join("log").display().to_string();
        let status = self
            .pg_command("pg_ctl")
            .args(["-D", &self.data(), "-w", "-l", &log, "-m", "fast"])
            .args(["-o", &options, action])
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            return Err(format!("pg_ctl {action} failed; see {log}").into());
        }
        Ok(())
    }

    /// Restarts the cluster: its buffer cache starts empty.
    pub async fn restart(&mut self) -> Result<()> {
        self.pg_ctl("restart")?;
        wait_ready(self.port, "PostgreSQL").await
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl("stop");
    }
}

fn is_root() -> bool {
    std::env::var("USER").map(|u| u == "root").unwrap_or(false)
        || Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0\n"))
            .unwrap_or(false)
}

/// PostgreSQL refuses to run as root: the cluster's directory belongs to the
/// `postgres` user, and so must every directory above it be searchable.
fn as_postgres_owner(dir: &Path) -> Result<()> {
    if !is_root() {
        return Ok(());
    }
    let status = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(dir)
        .status()?;
    if !status.success() {
        return Err(format!("cannot give {} to postgres", dir.display()).into());
    }
    let mut parent = dir.parent();
    while let Some(p) = parent {
        let _ = Command::new("chmod").arg("o+x").arg(p).status();
        parent = p.parent();
    }
    Ok(())
}
