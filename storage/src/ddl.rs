//! Changes to the catalog: schemas, tables (their files and their catalog
//! entries together), views, external tables and comments. Each is one
//! catalog commit ([`Storage::change`]), retried when another server
//! committed first.

use super::*;

/// What a new table declares besides its columns: its keys, and the
/// sequences of its serial and identity columns.
#[derive(Debug, Default)]
pub struct Declared {
    pub primary_key: Option<PrimaryKey>,
    pub unique: Vec<PrimaryKey>,
    pub sequences: Vec<(String, SequenceEntry)>,
}

impl Storage {
    pub async fn create_schema(
        &self,
        name: &str,
        if_not_exists: bool,
    ) -> Result<bool, StorageError> {
        if self.catalog().schemas.contains_key(name) {
            return if if_not_exists {
                Ok(false)
            } else {
                Err(StorageError::SchemaExists(name.into()))
            };
        }
        self.change(|c| {
            if c.schemas.contains_key(name) {
                return Err(StorageError::SchemaExists(name.into()));
            }
            c.schemas.insert(name.to_string(), Default::default());
            Ok(true)
        })
        .await
    }

    /// Drops a schema; with `cascade`, its tables and views too.
    pub async fn drop_schema(
        &self,
        name: &str,
        if_exists: bool,
        cascade: bool,
    ) -> Result<bool, StorageError> {
        if !self.catalog().schemas.contains_key(name) {
            return if if_exists {
                Ok(false)
            } else {
                Err(StorageError::SchemaNotFound(name.into()))
            };
        }
        let dropped = self
            .change(|c| {
                let entry = c
                    .schemas
                    .get(name)
                    .ok_or_else(|| StorageError::SchemaNotFound(name.into()))?;
                let empty =
                    entry.tables.is_empty() && entry.views.is_empty() && entry.sequences.is_empty();
                if !(cascade || empty) {
                    return Err(StorageError::SchemaNotEmpty(name.into()));
                }
                let entry = c.schemas.remove(name).expect("checked");
                let prefix = table_key(name, "");
                c.security.grants.retain(|key, _| !key.starts_with(&prefix));
                c.security.owners.retain(|key, _| !key.starts_with(&prefix));
                c.comments.retain(|key, _| !key.starts_with(&prefix));
                c.forget(&schema_key(name));
                let sequences: Vec<u64> = entry.sequences.values().map(|s| s.id).collect();
                Ok((entry.tables.into_values().collect::<Vec<_>>(), sequences))
            })
            .await?;
        let (tables, sequences) = dropped;
        for table in tables {
            self.remove_files(&table).await;
        }
        for id in sequences {
            self.remove_claims(id).await;
        }
        Ok(true)
    }

    /// Creates a table. Its files are written first; it becomes visible when the
    /// catalog commit succeeds, so a crash in between leaves nothing half-made.
    pub async fn create_table(
        &self,
        schema: &str,
        name: &str,
        columns: &Schema,
        if_not_exists: bool,
    ) -> Result<bool, StorageError> {
        self.create_table_with_key(schema, name, columns, if_not_exists, Declared::default())
            .await
    }

    /// [`Self::create_table`], recording its declared keys and creating the
    /// sequences its serial and identity columns take their values from (in
    /// the same catalog commit).
    pub async fn create_table_with_key(
        &self,
        schema: &str,
        name: &str,
        columns: &Schema,
        if_not_exists: bool,
        declared: Declared,
    ) -> Result<bool, StorageError> {
        let Declared {
            primary_key,
            unique,
            sequences,
        } = declared;
        {
            let catalog = self.catalog();
            if catalog.schema(schema).is_none() {
                return Err(StorageError::SchemaNotFound(schema.into()));
            }
            if catalog.relation_exists(schema, name) {
                return if if_not_exists {
                    Ok(false)
                } else {
                    Err(StorageError::TableExists(name.into()))
                };
            }
        }
        let _guard = self.changes.lock().await;
        let mut attempts = 0;
        let mut id = self.catalog().next_table_id;
        let mut created: Option<(Table, TableEntry)> = None;
        loop {
            let mut next = self.catalog();
            // Checked again under the lock: another session may have created
            // the name since the check above (or another server, as the
            // reloaded catalog says).
            if next.schema(schema).is_none() {
                return Err(StorageError::SchemaNotFound(schema.into()));
            }
            if next.relation_exists(schema, name) {
                return if if_not_exists {
                    Ok(false)
                } else {
                    Err(StorageError::TableExists(name.into()))
                };
            }
            let (table, entry) = match created.take() {
                Some(made) => made,
                None => {
                    id = id.max(next.next_table_id);
                    self.create_table_files(&mut id, columns, primary_key.clone(), unique.clone())
                        .await?
                }
            };
            next.next_table_id = next.next_table_id.max(id + 1);
            for (sequence, _) in &sequences {
                if next.relation_exists(schema, sequence) {
                    return Err(StorageError::TableExists(sequence.clone()));
                }
            }
            let entries = next
                .schemas
                .get_mut(schema)
                .ok_or_else(|| StorageError::SchemaNotFound(schema.into()))?;
            entries.tables.insert(name.to_string(), entry.clone());
            for (sequence, declared) in &sequences {
                let id = next.next_table_id;
                next.next_table_id += 1;
                entries.sequences.insert(
                    sequence.clone(),
                    SequenceEntry {
                        id,
                        ..declared.clone()
                    },
                );
            }
            next.version += 1;
            match next.commit(self.catalog_store.as_ref()).await {
                Ok(()) => {
                    *self.catalog.write().expect("catalog lock") = next;
                    self.tables.lock().await.insert(id, Arc::new(table));
                    return Ok(true);
                }
                Err(StorageError::Conflict(why)) if attempts < CATALOG_RETRIES => {
                    attempts += 1;
                    tracing::info!(%why, attempts, "catalog moved: reloading and retrying");
                    self.reload_catalog().await?;
                    created = Some((table, entry));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Creates a new table's files at the first free location from `id` on
    /// (a location is taken when a crash came between its files and the
    /// catalog commit, or when another server is creating a table there).
    pub(crate) async fn create_table_files(
        &self,
        id: &mut u64,
        columns: &Schema,
        primary_key: Option<PrimaryKey>,
        unique: Vec<PrimaryKey>,
    ) -> Result<(Table, TableEntry), StorageError> {
        let mut attempts = 0;
        loop {
            let entry = TableEntry {
                id: *id,
                location: format!("tables/{id}"),
                primary_key: primary_key.clone(),
                foreign_keys: Vec::new(),
                unique: unique.clone(),
                indexes: Vec::new(),
            };
            let url = self.table_url(&entry)?;
            if let Some(root) = &self.local_root {
                let dir = root.join(&entry.location);
                std::fs::create_dir_all(&dir)
                    .map_err(|source| StorageError::Root { path: dir, source })?;
            }
            match Table::create(*id, url, &self.store, columns, self.writing.clone()).await {
                Ok(table) => return Ok((table, entry)),
                Err(e) if attempts < CATALOG_RETRIES && self.location_taken(&entry).await => {
                    attempts += 1;
                    tracing::warn!(
                        location = %entry.location,
                        error = %e,
                        "a table's location is taken by files no catalog names (an interrupted CREATE TABLE?): using the next"
                    );
                    *id += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether something is stored under a table location.
    pub(crate) async fn location_taken(&self, entry: &TableEntry) -> bool {
        let prefix = object_store::path::Path::from(entry.location.as_str());
        self.catalog_store
            .list(Some(&prefix))
            .next()
            .await
            .is_some()
    }

    /// Drops a table: it disappears with the catalog commit; its files go after.
    pub async fn drop_table(
        &self,
        schema: &str,
        name: &str,
        if_exists: bool,
    ) -> Result<bool, StorageError> {
        if self.catalog().table(schema, name).is_none() {
            return if if_exists {
                Ok(false)
            } else {
                Err(StorageError::TableNotFound(name.into()))
            };
        }
        let (entry, sequences) = self
            .change(|c| {
                let entry = c
                    .schemas
                    .get_mut(schema)
                    .and_then(|s| s.tables.remove(name))
                    .ok_or_else(|| StorageError::TableNotFound(name.into()))?;
                c.forget(&table_key(schema, name));
                // The sequences of its serial and identity columns go with it.
                let owned: Vec<(String, u64)> = c.schemas[schema]
                    .sequences
                    .iter()
                    .filter(|(_, seq)| seq.owned_by.as_ref().is_some_and(|o| o.table == name))
                    .map(|(sequence, seq)| (sequence.clone(), seq.id))
                    .collect();
                for (sequence, _) in &owned {
                    if let Some(s) = c.schemas.get_mut(schema) {
                        s.sequences.remove(sequence);
                    }
                    c.forget(&table_key(schema, sequence));
                }
                // The caller has refused the drop unless it cascades to them.
                for table in c.schemas.values_mut().flat_map(|s| s.tables.values_mut()) {
                    table.foreign_keys.retain(|fk| !fk.references(schema, name));
                }
                Ok((entry, owned))
            })
            .await?;
        self.tables.lock().await.remove(&entry.id);
        self.remove_files(&entry).await;
        for (_, id) in sequences {
            self.remove_claims(id).await;
        }
        Ok(true)
    }

    pub async fn rename_table(
        &self,
        schema: &str,
        from: &str,
        to: &str,
    ) -> Result<(), StorageError> {
        self.change(|c| {
            let s = c
                .schemas
                .get_mut(schema)
                .ok_or_else(|| StorageError::SchemaNotFound(schema.into()))?;
            if s.tables.contains_key(to) || s.views.contains_key(to) || s.sequences.contains_key(to)
            {
                return Err(StorageError::TableExists(to.into()));
            }
            // A view is renamed like a table (`ALTER TABLE v RENAME TO`).
            if let Some(view) = s.views.remove(from) {
                s.views.insert(to.to_string(), view);
                c.rename(&table_key(schema, from), &table_key(schema, to));
                return Ok(());
            }
            let entry = s
                .tables
                .remove(from)
                .ok_or_else(|| StorageError::TableNotFound(from.into()))?;
            s.tables.insert(to.to_string(), entry);
            for sequence in s.sequences.values_mut() {
                if let Some(owner) = sequence.owned_by.as_mut().filter(|o| o.table == from) {
                    owner.table = to.to_string();
                }
            }
            c.rename(&table_key(schema, from), &table_key(schema, to));
            for table in c.schemas.values_mut().flat_map(|s| s.tables.values_mut()) {
                for fk in &mut table.foreign_keys {
                    if fk.references(schema, from) {
                        fk.referenced_table = to.to_string();
                    }
                }
            }
            Ok(())
        })
        .await
    }

    pub async fn create_view(
        &self,
        schema: &str,
        name: &str,
        view: ViewEntry,
        or_replace: bool,
    ) -> Result<(), StorageError> {
        self.change(|c| {
            let s = c
                .schemas
                .get_mut(schema)
                .ok_or_else(|| StorageError::SchemaNotFound(schema.into()))?;
            if s.tables.contains_key(name)
                || s.externals.contains_key(name)
                || (!or_replace && s.views.contains_key(name))
            {
                return Err(StorageError::TableExists(name.into()));
            }
            s.views.insert(name.to_string(), view.clone());
            Ok(())
        })
        .await
    }

    /// Records an external table. Fails when the name is taken.
    pub async fn create_external(
        &self,
        schema: &str,
        name: &str,
        entry: ExternalEntry,
    ) -> Result<(), StorageError> {
        self.change(|c| {
            if c.relation_exists(schema, name) {
                return Err(StorageError::TableExists(name.into()));
            }
            let s = c
                .schemas
                .get_mut(schema)
                .ok_or_else(|| StorageError::SchemaNotFound(schema.into()))?;
            s.externals.insert(name.to_string(), entry.clone());
            Ok(())
        })
        .await
    }

    /// The external table `schema.name`, if there is one.
    pub fn external(&self, schema: &str, name: &str) -> Option<ExternalEntry> {
        self.catalog
            .read()
            .expect("catalog lock")
            .schema(schema)?
            .externals
            .get(name)
            .cloned()
    }

    /// Forgets an external table; its data is not touched.
    pub async fn drop_external(&self, schema: &str, name: &str) -> Result<(), StorageError> {
        self.change(|c| {
            c.schemas
                .get_mut(schema)
                .and_then(|s| s.externals.remove(name))
                .ok_or_else(|| StorageError::TableNotFound(name.into()))?;
            c.forget(&table_key(schema, name));
            Ok(())
        })
        .await
    }

    /// Records a table's primary key (`ALTER TABLE … ADD PRIMARY KEY`); the
    /// caller has checked that the rows already satisfy it. Writes from then
    /// on are checked against it.
    pub async fn set_primary_key(
        &self,
        schema: &str,
        name: &str,
        key: PrimaryKey,
    ) -> Result<(), StorageError> {
        self.change_table(schema, name, |entry| entry.primary_key = Some(key.clone()))
            .await
    }

    /// Adds a foreign key to a table (`REFERENCES`, `FOREIGN KEY`); the
    /// caller has checked what it references.
    pub async fn add_foreign_key(
        &self,
        schema: &str,
        name: &str,
        key: ForeignKey,
    ) -> Result<(), StorageError> {
        self.change_table(schema, name, |entry| entry.foreign_keys.push(key.clone()))
            .await
    }

    /// Adds a unique constraint to a table (`ALTER TABLE … ADD UNIQUE`); the
    /// caller has checked that the rows satisfy it. Writes from then on keep
    /// it.
    pub async fn add_unique(
        &self,
        schema: &str,
        name: &str,
        key: PrimaryKey,
    ) -> Result<(), StorageError> {
        self.change(|c| {
            if c.relation_exists(schema, &key.name) || c.index_table(schema, &key.name).is_some() {
                return Err(StorageError::TableExists(key.name.clone()));
            }
            let entry = c
                .schemas
                .get_mut(schema)
                .and_then(|s| s.tables.get_mut(name))
                .ok_or_else(|| StorageError::TableNotFound(name.into()))?;
            entry.unique.push(key.clone());
            Ok(())
        })
        .await
    }

    /// Drops a table's constraint by name (its primary key, a unique
    /// constraint or a foreign key), with the foreign keys of other tables
    /// named in `dependents` (schema, table, constraint). Returns whether it
    /// was found.
    pub async fn drop_constraint(
        &self,
        schema: &str,
        name: &str,
        constraint: &str,
        dependents: &[(String, String, String)],
    ) -> Result<bool, StorageError> {
        self.change(|c| {
            for (s, t, fk) in dependents {
                if let Some(entry) = c.schemas.get_mut(s).and_then(|s| s.tables.get_mut(t)) {
                    entry.foreign_keys.retain(|k| &k.name != fk);
                }
            }
            let entry = c
                .schemas
                .get_mut(schema)
                .and_then(|s| s.tables.get_mut(name))
                .ok_or_else(|| StorageError::TableNotFound(name.into()))?;
            let before = entry.unique.len() + entry.foreign_keys.len();
            entry.unique.retain(|k| k.name != constraint);
            entry.foreign_keys.retain(|k| k.name != constraint);
            let mut found = before != entry.unique.len() + entry.foreign_keys.len();
            if entry
                .primary_key
                .as_ref()
                .is_some_and(|k| k.name == constraint)
            {
                entry.primary_key = None;
                found = true;
            }
            Ok(found)
        })
        .await
    }

    /// Changes what the catalog keeps about one table.
    async fn change_table(
        &self,
        schema: &str,
        name: &str,
        mut apply: impl FnMut(&mut TableEntry),
    ) -> Result<(), StorageError> {
        self.change(|c| {
            let entry = c
                .schemas
                .get_mut(schema)
                .and_then(|s| s.tables.get_mut(name))
                .ok_or_else(|| StorageError::TableNotFound(name.into()))?;
            apply(entry);
            Ok(())
        })
        .await
    }

    /// A column of a table renamed in the keys that name it: the table's
    /// primary and foreign keys, and the foreign keys referencing it.
    pub async fn rename_key_column(
        &self,
        schema: &str,
        name: &str,
        from: &str,
        to: &str,
    ) -> Result<(), StorageError> {
        let rename = |columns: &mut Vec<String>| {
            for c in columns.iter_mut().filter(|c| *c == from) {
                *c = to.to_string();
            }
        };
        self.change(|c| {
            for (s, entry) in c.schemas.iter_mut() {
                for (t, table) in entry.tables.iter_mut() {
                    let this = s == schema && t == name;
                    if this {
                        for key in table.primary_key.iter_mut().chain(&mut table.unique) {
                            rename(&mut key.columns);
                        }
                        for index in &mut table.indexes {
                            rename(&mut index.columns);
                        }
                    }
                    for fk in &mut table.foreign_keys {
                        if this {
                            rename(&mut fk.columns);
                        }
                        if fk.references(schema, name) {
                            rename(&mut fk.referenced_columns);
                        }
                    }
                }
            }
            Ok(())
        })
        .await
    }

    /// What names a column about to be dropped goes with it: the table's
    /// keys, indexes and foreign keys that include it, and the foreign keys
    /// of other tables that reference it (the caller has checked that they
    /// may go). Returns the names of the constraints and indexes dropped.
    pub async fn drop_key_column(
        &self,
        schema: &str,
        name: &str,
        column: &str,
    ) -> Result<Vec<String>, StorageError> {
        let mut dropped = Vec::new();
        self.change(|c| {
            dropped.clear();
            for (s, entry) in c.schemas.iter_mut() {
                for (t, table) in entry.tables.iter_mut() {
                    let this = s == schema && t == name;
                    table.foreign_keys.retain(|fk| {
                        let goes = (this && fk.columns.iter().any(|c| c == column))
                            || (fk.references(schema, name)
                                && fk.referenced_columns.iter().any(|c| c == column));
                        if goes {
                            dropped.push(fk.name.clone());
                        }
                        !goes
                    });
                    if !this {
                        continue;
                    }
                    if let Some(key) = table.primary_key.take() {
                        match key.columns.iter().any(|c| c == column) {
                            true => dropped.push(key.name),
                            false => table.primary_key = Some(key),
                        }
                    }
                    table.unique.retain(|key| {
                        let goes = key.columns.iter().any(|c| c == column);
                        if goes {
                            dropped.push(key.name.clone());
                        }
                        !goes
                    });
                    table.indexes.retain(|index| {
                        let goes = index.columns.iter().any(|c| c == column);
                        if goes {
                            dropped.push(index.name.clone());
                        }
                        !goes
                    });
                }
            }
            Ok(())
        })
        .await?;
        Ok(dropped)
    }

    /// Adds an index to a table (its unique keys checked by the caller).
    /// Returns false when the name is taken and `if_not_exists` says that
    /// is fine.
    pub async fn add_index(
        &self,
        schema: &str,
        table: &str,
        index: IndexEntry,
        if_not_exists: bool,
    ) -> Result<bool, StorageError> {
        self.change(|c| {
            if c.relation_exists(schema, &index.name)
                || c.index_table(schema, &index.name).is_some()
            {
                return match if_not_exists {
                    true => Ok(false),
                    false => Err(StorageError::TableExists(index.name.clone())),
                };
            }
            let entry = c
                .schemas
                .get_mut(schema)
                .and_then(|s| s.tables.get_mut(table))
                .ok_or_else(|| StorageError::TableNotFound(table.into()))?;
            entry.indexes.push(index.clone());
            Ok(true)
        })
        .await
    }

    /// Drops an index made by CREATE INDEX.
    pub async fn drop_index(&self, schema: &str, name: &str) -> Result<(), StorageError> {
        self.change(|c| {
            let table = c
                .index_table(schema, name)
                .ok_or_else(|| StorageError::TableNotFound(name.into()))?;
            let entry = c
                .schemas
                .get_mut(schema)
                .and_then(|s| s.tables.get_mut(&table))
                .ok_or_else(|| StorageError::TableNotFound(table.clone()))?;
            entry.indexes.retain(|i| i.name != name);
            Ok(())
        })
        .await
    }

    /// Sets or (with None) removes the comment on an object (`COMMENT ON`).
    pub async fn set_comment(&self, key: String, text: Option<String>) -> Result<(), StorageError> {
        self.change(|c| {
            match &text {
                Some(text) => c.comments.insert(key.clone(), text.clone()),
                None => c.comments.remove(&key),
            };
            Ok(())
        })
        .await
    }

    /// The storage root as a URL (`file:///…/` or `s3://bucket/prefix/`).
    pub fn root_url(&self) -> &Url {
        &self.root_url
    }

    pub async fn drop_view(
        &self,
        schema: &str,
        name: &str,
        if_exists: bool,
    ) -> Result<bool, StorageError> {
        if self.view(schema, name).is_none() {
            return if if_exists {
                Ok(false)
            } else {
                Err(StorageError::TableNotFound(name.into()))
            };
        }
        self.change(|c| {
            c.schemas
                .get_mut(schema)
                .and_then(|s| s.views.remove(name))
                .ok_or_else(|| StorageError::TableNotFound(name.into()))?;
            c.forget(&table_key(schema, name));
            Ok(true)
        })
        .await
    }
}
