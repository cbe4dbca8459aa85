//! Enishi's storage layer: where tables live.
//!
//! The storage root is a directory on local disk (the embedded default). Tables are
//! held by the engine's in-memory catalog for now; this crate owns the root and checks
//! that it is usable before the server accepts a single client, so that a
//! misconfigured path fails at start-up rather than at the first write.
//!
//! Invariant: nothing in this crate depends on the SQL engine or the server.

use std::io;
use std::path::{Path, PathBuf};

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("cannot use storage path {path}: {source}")]
    Root {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The storage root, opened and checked.
#[derive(Debug, Clone)]
pub struct Storage {
    root: PathBuf,
}

impl Storage {
    /// Opens (creating if needed) the storage root and proves it is writable.
    pub fn open(root: impl AsRef<Path>) -> Result<Self, StorageError> {
        let root = root.as_ref().to_path_buf();
        let err = |source| StorageError::Root {
            path: root.clone(),
            source,
        };
        std::fs::create_dir_all(&root).map_err(err)?;
        // A probe write catches read-only mounts and wrong ownership up front.
        let probe = root.join(".enishi-write-probe");
        std::fs::write(&probe, b"ok").map_err(err)?;
        std::fs::remove_file(&probe).map_err(err)?;
        tracing::info!(path = %root.display(), "storage root ready");
        Ok(Self { root })
    }

    /// The directory that holds every table.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_missing_root() {
        let dir = std::env::temp_dir().join(format!("enishi-storage-{}", std::process::id()));
        let nested = dir.join("a/b");
        let storage = Storage::open(&nested).expect("open");
        assert!(storage.root().is_dir());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn open_rejects_a_file_as_root() {
        let file = std::env::temp_dir().join(format!("enishi-storage-file-{}", std::process::id()));
        std::fs::write(&file, b"x").unwrap();
        let err = Storage::open(&file).expect_err("a file is not a directory");
        assert!(err.to_string().contains("cannot use storage path"));
        std::fs::remove_file(&file).ok();
    }
}
