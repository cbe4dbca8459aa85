//! The catalog: which schemas, tables and views exist, and where each table lives.
//!
//! It is kept in the object store itself, as numbered snapshots
//! `_catalog/00000000000000000007.json`. A change writes the next number with
//! create-if-absent (a hard link on local disk, a conditional PUT on S3), so a
//! change is either wholly visible or not at all, and two writers can never both
//! win the same number. A crash between creating a table's files and committing
//! the catalog leaves only unreferenced files, never a half-created table.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use crate::StorageError;

const CATALOG_DIR: &str = "_catalog";

/// One version of the catalog.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CatalogState {
    pub version: u64,
    /// Source of table ids; ids are never reused, so a dropped table's files can
    /// never be mistaken for a new table's.
    pub next_table_id: u64,
    pub schemas: BTreeMap<String, SchemaEntry>,
    /// Roles, privileges and capability tokens.
    #[serde(default, skip_serializing_if = "Security::is_empty")]
    pub security: Security,
    /// `COMMENT ON` texts, by object key ([`table_key`], [`schema_key`],
    /// [`column_key`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub comments: BTreeMap<String, String>,
}

/// Who may connect and what each may do. Passwords and tokens are kept only
/// as SCRAM-SHA-256 verifiers (PostgreSQL's `SCRAM-SHA-256$iter:salt$stored:server`
/// form), from which neither can be recovered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Security {
    #[serde(default)]
    pub roles: BTreeMap<String, RoleEntry>,
    /// Privileges granted, by object key (`table:schema.name`, `schema:name`)
    /// then role.
    #[serde(default)]
    pub grants: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Owners of objects created by roles other than the superuser, by object key.
    #[serde(default)]
    pub owners: BTreeMap<String, String>,
    #[serde(default)]
    pub tokens: BTreeMap<String, TokenEntry>,
    /// The SCRAM salt every token's verifier is made with (base64). A client
    /// logging in with a token is sent this salt, whatever its user name.
    #[serde(default)]
    pub token_salt: String,
}

impl Security {
    pub fn is_empty(&self) -> bool {
        self == &Security::default()
    }

    /// Forgets the grants and owner of an object that is gone.
    pub fn forget(&mut self, key: &str) {
        self.grants.remove(key);
        self.owners.remove(key);
    }

    /// Moves grants and owner from one object key to another.
    pub fn rename(&mut self, from: &str, to: &str) {
        if let Some(g) = self.grants.remove(from) {
            self.grants.insert(to.to_string(), g);
        }
        if let Some(o) = self.owners.remove(from) {
            self.owners.insert(to.to_string(), o);
        }
    }
}

/// A role. `verifier` is None for a role that cannot log in with a password.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoleEntry {
    #[serde(default)]
    pub superuser: bool,
    #[serde(default)]
    pub login: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifier: Option<String>,
}

/// A capability token: the permissions it carries on one resource until it
/// expires. The token itself is never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenEntry {
    pub resource: String,
    pub permissions: Vec<String>,
    /// Seconds since the Unix epoch.
    pub expires_at: i64,
    pub verifier: String,
}

/// The key under which grants and owners of a table or view are kept.
pub fn table_key(schema: &str, name: &str) -> String {
    format!("table:{schema}.{name}")
}

/// The key under which the comment on a column of a table or view is kept.
pub fn column_key(schema: &str, table: &str, column: &str) -> String {
    format!("{}#{column}", table_key(schema, table))
}

/// The key under which grants and owners of a schema are kept.
pub fn schema_key(schema: &str) -> String {
    format!("schema:{schema}")
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SchemaEntry {
    #[serde(default)]
    pub tables: BTreeMap<String, TableEntry>,
    #[serde(default)]
    pub views: BTreeMap<String, ViewEntry>,
    /// Tables over data that lives elsewhere (Parquet, CSV, JSON files or a
    /// Delta table), read where it lies.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub externals: BTreeMap<String, ExternalEntry>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sequences: BTreeMap<String, crate::sequences::SequenceEntry>,
}

/// A table: its Delta table directory, relative to the storage root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableEntry {
    pub id: u64,
    pub location: String,
    /// The declared primary key, shown to clients (pg_constraint, pg_index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<PrimaryKey>,
    /// The declared foreign keys, shown to clients (pg_constraint).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
    /// The declared unique constraints, which writes keep unique.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unique: Vec<PrimaryKey>,
    /// Indexes made by CREATE INDEX; a unique one is kept like a unique
    /// constraint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<IndexEntry>,
}

/// An index made by CREATE INDEX: its name and key columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub name: String,
    pub columns: Vec<String>,
    pub unique: bool,
}

impl TableEntry {
    /// The keys writes keep unique: the primary key first, then the unique
    /// constraints and unique indexes.
    pub fn keys(&self) -> Vec<PrimaryKey> {
        let indexes = self
            .indexes
            .iter()
            .filter(|i| i.unique)
            .map(|i| PrimaryKey {
                name: i.name.clone(),
                columns: i.columns.clone(),
            });
        self.primary_key
            .iter()
            .chain(&self.unique)
            .cloned()
            .chain(indexes)
            .collect()
    }

    /// The names of its indexes: those of its keys, constraints and
    /// CREATE INDEX.
    pub fn index_names(&self) -> impl Iterator<Item = &str> {
        self.primary_key
            .iter()
            .chain(&self.unique)
            .map(|k| k.name.as_str())
            .chain(self.indexes.iter().map(|i| i.name.as_str()))
    }
}

/// A declared foreign key: its columns, the table and columns they
/// reference, and the actions and match type PostgreSQL records for it
/// (pg_constraint's letters: `a` no action, `r` restrict, `c` cascade, `n` set
/// null, `d` set default; match `s` simple, `f` full).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub referenced_schema: String,
    pub referenced_table: String,
    pub referenced_columns: Vec<String>,
    pub on_update: char,
    pub on_delete: char,
    pub match_type: char,
}

impl ForeignKey {
    /// Whether it references table `name` of `schema`.
    pub fn references(&self, schema: &str, name: &str) -> bool {
        self.referenced_schema == schema && self.referenced_table == name
    }
}

/// A table's declared primary key or unique constraint: the constraint's
/// name and its columns in key order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrimaryKey {
    pub name: String,
    pub columns: Vec<String>,
}

/// An external table: the `CREATE EXTERNAL TABLE` statement that defines it
/// (format, location, options, declared columns), replanned when read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalEntry {
    pub sql: String,
    pub location: String,
}

/// A view: the SQL text of its query, and the schemas its bare names were
/// looked up in when it was made (they resolve the same way whenever it is
/// read, whoever reads it; None for views made before this was kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewEntry {
    pub sql: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_path: Option<Vec<String>>,
}

pub(crate) fn snapshot_path(version: u64) -> Path {
    Path::from(format!("{CATALOG_DIR}/{version:020}.json"))
}

impl CatalogState {
    /// The catalog of a new storage root: schema `public`, nothing else.
    pub fn initial() -> Self {
        let mut schemas = BTreeMap::new();
        schemas.insert("public".to_string(), SchemaEntry::default());
        Self {
            version: 0,
            next_table_id: 1,
            schemas,
            security: Security::default(),
            comments: BTreeMap::new(),
        }
    }

    /// Reads the newest committed catalog, or None for an empty storage root.
    pub async fn load(store: &dyn ObjectStore) -> Result<Option<Self>, StorageError> {
        let prefix = Path::from(CATALOG_DIR);
        let entries: Vec<_> = store.list(Some(&prefix)).try_collect().await?;
        let newest = entries
            .iter()
            .filter_map(|meta| {
                let name = meta.location.filename()?;
                name.strip_suffix(".json")?.parse::<u64>().ok()
            })
            .max();
        let Some(version) = newest else {
            return Ok(None);
        };
        let bytes = store.get(&snapshot_path(version)).await?.bytes().await?;
        let state: Self = serde_json::from_slice(&bytes)
            .map_err(|e| StorageError::Corrupt(format!("catalog version {version}: {e}")))?;
        if state.version != version {
            return Err(StorageError::Corrupt(format!(
                "catalog file {version} says it is version {}",
                state.version
            )));
        }
        Ok(Some(state))
    }

    /// Commits `self` as the version after `self.version - 1`. Fails with
    /// [`StorageError::Conflict`] when another writer committed that version first.
    pub async fn commit(&self, store: &dyn ObjectStore) -> Result<(), StorageError> {
        let json =
            serde_json::to_vec_pretty(self).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match store
            .put_opts(&snapshot_path(self.version), PutPayload::from(json), opts)
            .await
        {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) => Err(StorageError::Conflict(format!(
                "catalog version {} was committed by another writer",
                self.version
            ))),
            Err(e) => Err(e.into()),
        }
    }

    pub fn schema(&self, name: &str) -> Option<&SchemaEntry> {
        self.schemas.get(name)
    }

    pub fn table(&self, schema: &str, name: &str) -> Option<&TableEntry> {
        self.schemas.get(schema)?.tables.get(name)
    }

    /// Forgets what is kept about an object that is gone: grants, owner and
    /// comments (a relation's column comments with it).
    pub fn forget(&mut self, key: &str) {
        self.security.forget(key);
        let columns = format!("{key}#");
        self.comments
            .retain(|k, _| k != key && !k.starts_with(&columns));
    }

    /// Moves what is kept about an object to its new key.
    pub fn rename(&mut self, from: &str, to: &str) {
        self.security.rename(from, to);
        let columns = format!("{from}#");
        let moved: Vec<String> = self
            .comments
            .keys()
            .filter(|k| *k == from || k.starts_with(&columns))
            .cloned()
            .collect();
        for key in moved {
            if let Some(text) = self.comments.remove(&key) {
                self.comments
                    .insert(format!("{to}{}", &key[from.len()..]), text);
            }
        }
    }

    /// The table of schema `schema` that has an index named `name`.
    pub fn index_table(&self, schema: &str, name: &str) -> Option<String> {
        self.schemas
            .get(schema)?
            .tables
            .iter()
            .find_map(|(table, t)| t.index_names().any(|n| n == name).then(|| table.clone()))
    }

    /// Whether `schema.name` is taken by a table, view or sequence.
    pub fn relation_exists(&self, schema: &str, name: &str) -> bool {
        self.schemas.get(schema).is_some_and(|s| {
            s.tables.contains_key(name)
                || s.views.contains_key(name)
                || s.externals.contains_key(name)
                || s.sequences.contains_key(name)
        })
    }
}
