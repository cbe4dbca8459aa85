//! Logging: tracing to stderr and, when `monitoring.log_dir` is set, to
//! `<log_dir>/enishi.log`. SIGHUP reopens the file (logrotate moves it away
//! first) and reloads the filter from `monitoring.log_level`.
//!
//! The filter is `RUST_LOG` when set, as the operations manual uses it;
//! otherwise `monitoring.log_level`. Either way the Delta libraries log at WARN
//! unless the filter names them (their INFO lines describe internals).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

use crate::config::Config;

/// Crates whose INFO lines describe their internals, not the server's work.
const QUIET: &str = "buoyant_kernel=warn,deltalake_core=warn,deltalake=warn";

/// An append-only file that can be reopened at the same path (after it was
/// moved away by log rotation).
#[derive(Debug)]
pub struct ReopenableFile {
    path: PathBuf,
    file: Mutex<File>,
}

impl ReopenableFile {
    /// Opens `path` for appending, creating it and its directory.
    pub fn open(path: &Path) -> io::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            path: path.to_path_buf(),
            file: Mutex::new(open_append(path)?),
        }))
    }

    /// Starts a new file at the path; what was written before stays in the old one.
    pub fn reopen(&self) -> io::Result<()> {
        let file = open_append(&self.path)?;
        *self.lock() = file;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line (a single write, so lines from threads never interleave).
    pub fn write_line(&self, line: &str) -> io::Result<()> {
        let mut text = String::with_capacity(line.len() + 1);
        text.push_str(line);
        text.push('\n');
        self.lock().write_all(text.as_bytes())
    }

    /// Writes as much of `bytes` as one write takes, and says how much: the
    /// audit writer resumes a failed batch where it stopped, with no duplicates.
    pub fn append(&self, bytes: &[u8]) -> io::Result<usize> {
        self.lock().write(bytes)
    }

    fn lock(&self) -> MutexGuard<'_, File> {
        self.file.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new().create(true).append(true).open(path)
}

/// tracing's writer for a [`ReopenableFile`]: each event is one formatted write.
struct FileWriter(Arc<ReopenableFile>);

impl<'a> MakeWriter<'a> for FileWriter {
    type Writer = Guard<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        Guard(self.0.lock())
    }
}

struct Guard<'a>(MutexGuard<'a, File>);

impl Write for Guard<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// The installed logging, for SIGHUP.
pub struct Logging {
    filter: reload::Handle<EnvFilter, Registry>,
    /// The filter comes from RUST_LOG, which a reload does not change.
    from_env: bool,
    file: Option<Arc<ReopenableFile>>,
}

impl Logging {
    /// Installs the global subscriber. Fails when the log file cannot be opened.
    pub fn init(config: &Config) -> io::Result<Self> {
        let rust_log = std::env::var("RUST_LOG")
            .ok()
            .filter(|v| !v.trim().is_empty());
        let from_env = rust_log.is_some();
        let filter = level_filter(rust_log.as_deref().unwrap_or(&config.monitoring.log_level));
        let (filter, handle) = reload::Layer::new(filter);
        let file = match config.monitoring.log_dir.as_str() {
            "" => None,
            dir => Some(ReopenableFile::open(&Path::new(dir).join("enishi.log"))?),
        };
        let file_layer = file.clone().map(|file| {
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(FileWriter(file))
        });
        tracing_subscriber::registry()
            .with(filter)
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(io::stderr)
                    // Colour codes only for a terminal: journald and files get plain
                    // text (whose last field on query lines is the duration in ms).
                    .with_ansi(io::IsTerminal::is_terminal(&io::stderr())),
            )
            .with(file_layer)
            .init();
        Ok(Self {
            filter: handle,
            from_env,
            file,
        })
    }

    /// SIGHUP: reopens the log file and applies `log_level` when it changed.
    pub fn reload(&self, old: &Config, new: &Config) {
        if let Some(file) = &self.file {
            match file.reopen() {
                Ok(()) => tracing::info!(path = %file.path().display(), "log file reopened"),
                Err(e) => {
                    tracing::error!(path = %file.path().display(), error = %e, "cannot reopen the log file")
                }
            }
        }
        if old.monitoring.log_level != new.monitoring.log_level && !self.from_env {
            match self.filter.reload(level_filter(&new.monitoring.log_level)) {
                Ok(()) => tracing::info!(level = %new.monitoring.log_level, "log level changed"),
                Err(e) => tracing::error!(error = %e, "cannot change the log level"),
            }
        }
    }
}

/// A filter from RUST_LOG-style directives. The storage library's chatty
/// crates stay at WARN unless the directives name them.
fn level_filter(directives: &str) -> EnvFilter {
    EnvFilter::try_new(format!("{QUIET},{directives}")).unwrap_or_else(|e| {
        eprintln!("enishi: ignoring the log filter {directives:?}: {e}");
        EnvFilter::new(format!("{QUIET},info"))
    })
}
