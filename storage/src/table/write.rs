//! Writes to a table, each one Delta commit under the table's writer lock:
//! appends (checked for primary keys, or streamed), overwrites, column
//! changes, DELETE and UPDATE.

use super::*;

impl Table {
    /// Client rows in the form Delta stores (checked against the declared types).
    pub(super) async fn stored(
        &self,
        batches: Vec<RecordBatch>,
    ) -> Result<Vec<RecordBatch>, StorageError> {
        let layout = self.layout().await?;
        // One schema for all: rows inserted by separate statements of a
        // transaction may differ in how a column was typed (a NULL literal, a view).
        batches
            .iter()
            .map(|b| {
                let batch = layout.store(b)?;
                conform(batch, layout.stored())
                    .map_err(|e| StorageError::InvalidText(e.to_string()))
            })
            .collect()
    }

    /// Appends rows in one commit; returns how many.
    pub async fn append(
        &self,
        batches: Vec<RecordBatch>,
        session: Arc<dyn Session>,
    ) -> Result<u64, StorageError> {
        self.append_unique(batches, None, session).await
    }

    /// Appends rows in one commit, after checking `keys` (the rows' primary
    /// keys) against the table as it is then. The check and the commit hold
    /// the table's writer lock together, and a checked commit lands only
    /// directly on the version it checked: when another server committed in
    /// between, the check runs again on the newer version. Of two writers
    /// adding one key, on one server or two, the second finds the first's
    /// row (23505).
    pub async fn append_unique(
        &self,
        batches: Vec<RecordBatch>,
        keys: Option<&crate::unique::NewKeys>,
        session: Arc<dyn Session>,
    ) -> Result<u64, StorageError> {
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        if rows == 0 {
            return Ok(0);
        }
        let _writer = self.writer.lock().await;
        let batches = self.stored(batches).await?;
        self.writing.admit(in_memory_bytes(&batches))?;
        if keys.is_some() {
            // Another server's commits, if it is known there are some, are
            // better seen before the rows are written than after.
            self.refresh().await?;
        }
        let mut attempts = 0;
        loop {
            let current = self.state.read().await.clone();
            if let Some(keys) = keys {
                let base = Self::snapshot_of(&current).await?.provider;
                keys.check_against(&base, session.as_ref()).await?;
            }
            let written = current
                .write(batches.clone())
                .with_save_mode(SaveMode::Append)
                .with_writer_properties(self.writing.properties.clone())
                .with_session_state(session.clone())
                .with_commit_properties(commit_on(keys.is_some()))
                .await
                .map_err(StorageError::from);
            match written {
                Ok(next) => {
                    self.replace(Some(next)).await?;
                    return Ok(rows as u64);
                }
                Err(StorageError::Conflict(_)) if keys.is_some() && attempts < KEYED_ATTEMPTS => {
                    attempts += 1;
                    self.state.write().await.update_state().await?;
                    self.replace(None).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Appends the rows of a stream in one commit, writing data files as the
    /// rows arrive (memory stays bounded whatever the stream's length); returns
    /// how many. A bad row or the size limit fails the whole append, and
    /// nothing of it becomes visible.
    ///
    /// With `keys`, the rows' primary keys are checked when the rows end,
    /// against the version the append commits on; the commit lands only
    /// directly on that version (another server's commit in between fails
    /// it with 40001: the rows cannot be read again to check once more).
    pub async fn append_stream(
        &self,
        data: SendableRecordBatchStream,
        keys: Option<crate::unique::NewKeys>,
        session: Arc<dyn Session>,
    ) -> Result<u64, DataFusionError> {
        let storage_error = |e: StorageError| DataFusionError::External(Box::new(e));
        let _writer = self.writer.lock().await;
        let keyed = keys.is_some();
        let data = match keys {
            Some(keys) => {
                // Check against the newest version there is.
                self.state
                    .write()
                    .await
                    .update_state()
                    .await
                    .map_err(|e| storage_error(e.into()))?;
                self.replace(None).await.map_err(storage_error)?;
                let current = self.state.read().await.clone();
                let base = Self::snapshot_of(&current)
                    .await
                    .map_err(storage_error)?
                    .provider;
                keys.checked(data, base, session.clone())
            }
            None => data,
        };
        let layout = self.layout().await.map_err(storage_error)?;
        let rows = Arc::new(AtomicU64::new(0));
        // The first error of the input, as it was: Delta reports errors from
        // its input as text, which would lose their SQLSTATE.
        let failure: Arc<std::sync::Mutex<Option<DataFusionError>>> = Arc::default();
        let schema = layout.stored().clone();
        let stored = {
            let rows = rows.clone();
            let writing = self.writing.clone();
            let schema = schema.clone();
            let failure = failure.clone();
            let mut bytes = 0u64;
            data.map(move |batch| {
                let to_df = crate::codec::to_datafusion;
                let stored = batch.and_then(|batch| {
                    for (field, column) in schema.fields().iter().zip(batch.columns()) {
                        if !field.is_nullable() && column.null_count() > 0 {
                            return Err(to_df(StorageError::NotNull(field.name().clone())));
                        }
                    }
                    let batch = layout.store(&batch).map_err(to_df)?;
                    // One type per column for the writer (inputs may carry views).
                    let batch = conform(batch, &schema)?;
                    bytes += in_memory_bytes(std::slice::from_ref(&batch));
                    writing.admit(bytes).map_err(to_df)?;
                    rows.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
                    Ok(batch)
                });
                stored.map_err(|e| {
                    let text = e.to_string();
                    failure.lock().expect("failure lock").get_or_insert(e);
                    DataFusionError::Execution(text)
                })
            })
        };
        let stored = Box::pin(RecordBatchStreamAdapter::new(schema, stored));
        let input = LogicalPlanBuilder::scan(
            "input",
            provider_as_source(Arc::new(crate::stream::once(stored)?)),
            None,
        )?
        .build()?;
        let current = self.state.read().await.clone();
        let written = current
            .write(Vec::new())
            .with_input_plan(input)
            .with_save_mode(SaveMode::Append)
            .with_writer_properties(self.writing.properties.clone())
            .with_session_state(session)
            .with_commit_properties(commit_on(keyed))
            .await;
        let next = match written {
            Ok(next) => next,
            Err(e) => {
                return Err(match failure.lock().expect("failure lock").take() {
                    Some(original) => original,
                    None => storage_error(e.into()),
                });
            }
        };
        self.replace(Some(next)).await.map_err(storage_error)?;
        Ok(rows.load(Ordering::Relaxed))
    }

    /// Replaces the table's rows in one commit, provided no one committed since
    /// `base_version` (else a serialization failure).
    pub async fn overwrite(
        &self,
        batches: Vec<RecordBatch>,
        base_version: Option<u64>,
        session: Arc<dyn Session>,
    ) -> Result<u64, StorageError> {
        let _writer = self.writer.lock().await;
        self.state.write().await.update_state().await?;
        let current = self.state.read().await.clone();
        if current.version() != base_version {
            return Err(StorageError::Conflict(format!(
                "table changed by another transaction (version {:?}, expected {:?})",
                current.version(),
                base_version
            )));
        }
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let batches = self.stored(batches).await?;
        // The old files stay referenced by older versions until vacuumed, so
        // the new rows count in full.
        self.writing.admit(in_memory_bytes(&batches))?;
        let next = if rows == 0 {
            current
                .delete()
                .with_session_state(session)
                .with_commit_properties(client_commit())
                .await?
                .0
        } else {
            current
                .write(batches)
                .with_save_mode(SaveMode::Overwrite)
                .with_writer_properties(self.writing.properties.clone())
                .with_session_state(session)
                .with_commit_properties(client_commit())
                .await?
        };
        self.replace(Some(next)).await?;
        Ok(rows as u64)
    }

    /// Adds a nullable column (existing rows read NULL for it).
    pub async fn add_column(
        &self,
        field: deltalake::arrow::datatypes::Field,
    ) -> Result<(), StorageError> {
        let _writer = self.writer.lock().await;
        let one = Layout::from_logical(Arc::new(Schema::new(vec![field])));
        let kernel: StructType = one.stored().as_ref().try_into_kernel()?;
        let current = self.state.read().await.clone();
        let next = current
            .add_columns()
            .with_fields(kernel.fields().cloned().collect::<Vec<_>>())
            .with_commit_properties(client_commit())
            .await?;
        self.replace(Some(next)).await?;
        Ok(())
    }

    /// Renames a column. Without Delta's column mapping the data files name
    /// their columns, so the table is rewritten under the new schema in one
    /// commit (readers see the old or the new table, never a mix).
    pub async fn rename_column(
        &self,
        from: &str,
        to: &str,
        session: Arc<dyn Session>,
    ) -> Result<(), StorageError> {
        let _writer = self.writer.lock().await;
        self.state.write().await.update_state().await?;
        let current = self.state.read().await.clone();
        let stored = self.layout().await?.stored().clone();
        let renamed = Arc::new(Schema::new_with_metadata(
            stored
                .fields()
                .iter()
                .map(|f| match f.name() == from {
                    true => f.as_ref().clone().with_name(to),
                    false => f.as_ref().clone(),
                })
                .collect::<Vec<_>>(),
            stored.metadata().clone(),
        ));
        let plan = current
            .table_provider()
            .await?
            .scan(session.as_ref(), None, &[], None)
            .await?;
        let batches =
            deltalake::datafusion::physical_plan::collect(plan, session.task_ctx()).await?;
        let mut renamed_batches = Vec::with_capacity(batches.len().max(1));
        for batch in batches {
            // Scans may produce view types; write what the schema declares.
            let columns = batch
                .columns()
                .iter()
                .zip(renamed.fields())
                .map(|(c, f)| deltalake::arrow::compute::cast(c, f.data_type()))
                .collect::<Result<Vec<_>, _>>()?;
            renamed_batches.push(RecordBatch::try_new(renamed.clone(), columns)?);
        }
        if renamed_batches.is_empty() {
            renamed_batches.push(RecordBatch::new_empty(renamed.clone()));
        }
        let next = current
            .write(renamed_batches)
            .with_save_mode(SaveMode::Overwrite)
            .with_schema_mode(SchemaMode::Overwrite)
            .with_writer_properties(self.writing.properties.clone())
            .with_session_state(session)
            .with_commit_properties(client_commit())
            .await?;
        self.replace(Some(next)).await
    }

    /// Replaces the table's rows and its schema in one commit: `logical` is
    /// the new schema (as queries see it) and `batches` the rows in it, as
    /// ALTER TABLE computed them (a column added with its default, dropped,
    /// or of a new type). Readers see the old or the new table, never a mix.
    pub async fn restructure(
        &self,
        logical: SchemaRef,
        batches: Vec<RecordBatch>,
        session: Arc<dyn Session>,
    ) -> Result<(), StorageError> {
        let _writer = self.writer.lock().await;
        self.state.write().await.update_state().await?;
        let current = self.state.read().await.clone();
        let layout = Layout::from_logical(logical);
        let mut stored = batches
            .iter()
            .map(|b| {
                let batch = layout.store(&layout.check(b)?)?;
                conform(batch, layout.stored())
                    .map_err(|e| StorageError::InvalidText(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if stored.is_empty() {
            stored.push(RecordBatch::new_empty(layout.stored().clone()));
        }
        self.writing.admit(in_memory_bytes(&stored))?;
        let next = current
            .write(stored)
            .with_save_mode(SaveMode::Overwrite)
            .with_schema_mode(SchemaMode::Overwrite)
            .with_writer_properties(self.writing.properties.clone())
            .with_session_state(session)
            .with_commit_properties(client_commit())
            .await?;
        self.replace(Some(next)).await
    }

    /// Deletes the rows matching `predicate` (all rows when None); returns how many.
    pub async fn delete(
        &self,
        predicate: Option<Expr>,
        session: Arc<dyn Session>,
    ) -> Result<u64, StorageError> {
        let _writer = self.writer.lock().await;
        let current = self.state.read().await.clone();
        let mut builder = current
            .delete()
            .with_writer_properties(self.writing.properties.clone())
            .with_session_state(session)
            .with_commit_properties(client_commit());
        if let Some(predicate) = predicate {
            builder = builder.with_predicate(predicate);
        }
        let (next, metrics) = builder.await?;
        self.replace(Some(next)).await?;
        Ok(metrics.num_deleted_rows.unwrap_or(0) as u64)
    }

    /// Sets columns to expressions in the rows matching `predicate`; returns how many.
    pub async fn update(
        &self,
        assignments: Vec<(String, Expr)>,
        predicate: Option<Expr>,
        session: Arc<dyn Session>,
    ) -> Result<u64, StorageError> {
        let _writer = self.writer.lock().await;
        let layout = self.layout().await?;
        let current = self.state.read().await.clone();
        let mut builder = current
            .update()
            .with_writer_properties(self.writing.properties.clone())
            .with_session_state(session)
            .with_commit_properties(client_commit());
        if let Some(predicate) = predicate {
            builder = builder.with_predicate(predicate);
        }
        for (column, value) in assignments {
            let value = layout.stored_value(&column, value);
            builder = builder.with_update(column, value);
        }
        let (next, metrics) = builder.await?;
        self.replace(Some(next)).await?;
        Ok(metrics.num_updated_rows as u64)
    }
}
