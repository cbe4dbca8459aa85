//! Online backup: a copy of every table, each at one committed version, taken
//! while servers may go on writing.
//!
//! Delta tables make this simple: data files and log entries are never changed
//! once written. A table's backup is its version `v` (read first), then every
//! object under its directory except log entries newer than `v`, so the copy
//! opens at exactly `v`. Data files of versions after `v` may come along; no
//! version of the copy references them and maintenance removes them. The
//! catalog is written last: a backup that stopped half-way has none and does
//! not open as a database.

use std::sync::Arc;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::{Location, Storage, StorageError, StorageOptions};

/// What a backup copied.
#[derive(Debug, Default)]
pub struct BackupReport {
    pub catalog_version: u64,
    /// `schema.table` and the version copied (None: a table never written).
    pub tables: Vec<(String, Option<u64>)>,
    pub files: u64,
    pub bytes: u64,
}

impl Storage {
    /// Copies the catalog and every table into `target`, which must be empty.
    /// Restore by opening `target` as a storage root.
    pub async fn backup_to(
        &self,
        target: &Location,
        options: &StorageOptions,
    ) -> Result<BackupReport, StorageError> {
        let (_, _, store, prefix) = Storage::root_store(target, options)?;
        let target_store: Arc<dyn ObjectStore> = Arc::new(PrefixStore::new(store, prefix));
        let mut existing = target_store.list(None);
        if existing.try_next().await?.is_some() {
            return Err(StorageError::Backup(format!(
                "{target} is not empty; back up into a new directory"
            )));
        }
        drop(existing);
        let catalog = self.catalog();
        let mut report = BackupReport {
            catalog_version: catalog.version,
            ..BackupReport::default()
        };
        for (schema, entry) in &catalog.schemas {
            for (name, location) in &entry.tables {
                let qualified = format!("{schema}.{name}");
                let table = self
                    .table(schema, name)
                    .await?
                    .ok_or_else(|| StorageError::TableNotFound(qualified.clone()))?;
                let version = table.version().await;
                let dir = Path::from(location.location.as_str());
                let objects: Vec<_> = self.root().list(Some(&dir)).try_collect().await?;
                for object in objects {
                    if !belongs_to_version(&object.location, &dir, version) {
                        continue;
                    }
                    let bytes = self.root().get(&object.location).await?.bytes().await?;
                    target_store.put(&object.location, bytes.into()).await?;
                    report.files += 1;
                    report.bytes += object.size;
                }
                tracing::info!(table = %qualified, ?version, "backed up");
                report.tables.push((qualified, version));
            }
        }
        catalog.commit(target_store.as_ref()).await?;
        Ok(report)
    }
}

/// Whether an object of a table belongs in a copy of its version `version`:
/// everything but log entries of later versions and the checkpoint hint
/// (which may name a later checkpoint; readers list the log without it).
fn belongs_to_version(path: &Path, table_dir: &Path, version: Option<u64>) -> bool {
    let Some(parts) = path.prefix_match(table_dir) else {
        return false;
    };
    let parts: Vec<_> = parts.collect();
    if parts.first().map(|p| p.as_ref()) != Some("_delta_log") {
        return true;
    }
    let name = parts
        .last()
        .map(|p| p.as_ref().to_string())
        .unwrap_or_default();
    if name == "_last_checkpoint" {
        return false;
    }
    match (name.get(..20).and_then(|d| d.parse::<u64>().ok()), version) {
        (Some(entry), Some(current)) => entry <= current,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_log_entries_stay_behind() {
        let dir = Path::from("tables/7");
        let keep = |p: &str| belongs_to_version(&Path::from(p), &dir, Some(3));
        assert!(keep("tables/7/part-0001.parquet"));
        assert!(keep("tables/7/_delta_log/00000000000000000003.json"));
        assert!(keep(
            "tables/7/_delta_log/00000000000000000002.checkpoint.parquet"
        ));
        assert!(!keep("tables/7/_delta_log/00000000000000000004.json"));
        assert!(!keep("tables/7/_delta_log/_last_checkpoint"));
        assert!(!keep("tables/8/part-0001.parquet"));
    }
}
