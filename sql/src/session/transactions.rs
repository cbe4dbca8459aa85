//! BEGIN, COMMIT, ROLLBACK, savepoints and DISCARD.

use super::*;

impl Session {
    pub(super) fn begin(&mut self, modes: &[TransactionMode]) -> Result<Output> {
        if self.tx != TxState::Idle {
            self.notices.push(Notice {
                severity: "WARNING",
                code: "25001",
                message: "there is already a transaction in progress".into(),
            });
            return Ok(Output::Command(CommandTag::new("BEGIN")));
        }
        self.settings_at_begin = Some(self.settings());
        for mode in modes {
            let (name, value) = transaction_mode(mode);
            self.set_setting(name, value)?;
        }
        self.tx = TxState::Block;
        self.transaction_start = chrono::Utc::now().timestamp_micros() as u64;
        self.transaction_slot().begin();
        Ok(Output::Command(CommandTag::new("BEGIN")))
    }

    /// Opens a transaction for a statement that reads a table and changes it
    /// in several steps, when the session has none open; returns whether it
    /// did. [`Self::end_own_transaction`] ends it.
    pub(super) fn begin_own_transaction(&mut self) -> bool {
        if self.tx != TxState::Idle {
            return false;
        }
        self.transaction_slot().begin();
        true
    }

    /// For a statement in its own transaction, waits for this server's other
    /// such statements on table `name` (see storage's `Table::lock_statement`);
    /// in a block, conflicts are found at COMMIT instead.
    pub(super) async fn lock_target(
        &self,
        own: bool,
        name: &ObjectName,
    ) -> Result<Option<tokio::sync::OwnedMutexGuard<()>>> {
        if !own {
            return Ok(None);
        }
        let (schema, table) = self.resolve(name)?;
        match self.engine.storage().table(&schema, &table).await? {
            Some(table) => Ok(Some(table.lock_statement().await)),
            None => Ok(None),
        }
    }

    /// Ends the statement's own transaction (if `own`): commits it when the
    /// statement succeeded. `Ok(None)` asks for the statement to be run
    /// again: its commit found that another writer got in first, where
    /// PostgreSQL would have waited for that writer and gone on (a few
    /// attempts, counted in `attempt`).
    pub(super) async fn end_own_transaction<T>(
        &mut self,
        own: bool,
        done: Result<T>,
        attempt: &mut u32,
    ) -> Result<Option<T>> {
        if !own {
            return done.map(Some);
        }
        let tx = self.transaction_slot().take();
        let value = done?;
        let Some(tx) = tx else {
            return Ok(Some(value));
        };
        match tx
            .commit(Arc::new(self.ctx.state()))
            .await
            .map_err(Error::from)
        {
            Ok(()) => Ok(Some(value)),
            Err(Error::SerializationFailure(_) | Error::UniqueViolation { .. }) if *attempt < 8 => {
                *attempt += 1;
                let pause = std::time::Duration::from_millis(5 << (*attempt).min(6));
                tokio::time::sleep(pause).await;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Where this session's uncommitted writes are kept (see storage's transaction).
    pub(super) fn transaction_slot(&self) -> Arc<TransactionSlot> {
        self.ctx
            .state()
            .config()
            .get_extension::<TransactionSlot>()
            .expect("every session context has a transaction slot")
    }

    /// Ends the block; its uncommitted writes are dropped unless committed first.
    pub(super) fn end_transaction(&mut self, keep_settings: bool) {
        self.transaction_slot().take();
        let at_begin = self.settings_at_begin.take();
        if !keep_settings && let Some(old) = at_begin {
            self.restore_settings(old);
        }
        // Transaction-scoped settings end with the transaction.
        for name in ["transaction_isolation", "transaction_read_only"] {
            let _ = self.settings.write().expect("settings lock").reset(name);
        }
        self.savepoints.clear();
        self.created_tables.clear();
        self.cursors.retain(|_, c| c.get_mut().hold);
        self.tx = TxState::Idle;
        self.transaction_start = 0;
    }

    pub(super) fn restore_settings(&mut self, mut old: Settings) {
        let current = self.settings();
        // The temporary schema is not undone with the settings.
        if let Some(temp) = current.temp_schema() {
            old.set_temp_schema(temp);
        }
        let changed: Vec<Reported> = old
            .reported()
            .into_iter()
            .zip(current.reported())
            .filter(|(o, c)| o != c)
            .map(|(o, _)| o)
            .collect();
        *self.settings.write().expect("settings lock") = old;
        self.reported.extend(changed);
    }

    pub(super) async fn commit(&mut self) -> Result<Output> {
        match self.tx {
            TxState::Idle => {
                self.notices.push(Notice {
                    severity: "WARNING",
                    code: "25P01",
                    message: "there is no transaction in progress".into(),
                });
                Ok(Output::Command(CommandTag::new("COMMIT")))
            }
            TxState::Block => {
                let pending = self.transaction_slot().take();
                let applied = match pending {
                    Some(tx) => tx.commit(Arc::new(self.ctx.state())).await,
                    None => Ok(()),
                };
                // A failed COMMIT ends the block too: its writes are rolled back.
                if applied.is_err() {
                    self.drop_created_tables().await;
                }
                self.end_transaction(applied.is_ok());
                applied?;
                Ok(Output::Command(CommandTag::new("COMMIT")))
            }
            TxState::Failed => {
                self.drop_created_tables().await;
                self.end_transaction(false);
                Ok(Output::Command(CommandTag::new("ROLLBACK")))
            }
        }
    }

    /// Undoes the block's CREATE TABLEs. A table another session wrote to
    /// meanwhile goes too, as it would not exist had the block never run.
    async fn drop_created_tables(&mut self) {
        let storage = self.engine.storage().clone();
        for (schema, name) in std::mem::take(&mut self.created_tables).into_iter().rev() {
            if let Err(e) = storage.drop_table(&schema, &name, true).await {
                tracing::warn!(schema, name, error = %e, "could not drop a table created in a rolled-back transaction");
            }
        }
    }

    pub(super) async fn rollback(&mut self) -> Output {
        if self.tx == TxState::Idle {
            self.notices.push(Notice {
                severity: "WARNING",
                code: "25P01",
                message: "there is no transaction in progress".into(),
            });
        } else {
            self.drop_created_tables().await;
            self.end_transaction(false);
        }
        Output::Command(CommandTag::new("ROLLBACK"))
    }

    pub(super) fn require_block(&self, what: &str) -> Result<()> {
        if self.tx == TxState::Idle {
            return Err(Error::NoActiveTransaction(format!(
                "{what} can only be used in transaction blocks"
            )));
        }
        Ok(())
    }

    pub(super) async fn savepoint(&mut self, name: &ast::Ident) -> Result<Output> {
        self.require_block("SAVEPOINT")?;
        let tx = self
            .transaction_slot()
            .current()
            .ok_or_else(|| Error::Internal("a transaction block without a transaction".into()))?;
        let changes = tx.savepoint().await?;
        self.savepoints
            .push((name.value.to_lowercase(), self.settings(), changes));
        Ok(Output::Command(CommandTag::new("SAVEPOINT")))
    }

    pub(super) fn find_savepoint(&self, name: &ast::Ident) -> Result<usize> {
        let key = name.value.to_lowercase();
        self.savepoints
            .iter()
            .rposition(|(n, _, _)| *n == key)
            .ok_or_else(|| Error::UndefinedSavepoint(format!("savepoint \"{key}\" does not exist")))
    }

    pub(super) fn release(&mut self, name: &ast::Ident) -> Result<Output> {
        self.require_block("RELEASE SAVEPOINT")?;
        let at = self.find_savepoint(name)?;
        self.savepoints.truncate(at);
        Ok(Output::Command(CommandTag::new("RELEASE")))
    }

    /// ROLLBACK TO SAVEPOINT: the rows written since the savepoint are gone,
    /// settings are as they were, a failed block may go on; the savepoint stays.
    pub(super) async fn rollback_to(&mut self, name: &ast::Ident) -> Result<Output> {
        self.require_block("ROLLBACK TO SAVEPOINT")?;
        let at = self.find_savepoint(name)?;
        self.savepoints.truncate(at + 1);
        let (_, settings, changes) = &self.savepoints[at];
        let settings = settings.clone();
        if let Some(tx) = self.transaction_slot().current() {
            tx.roll_back_to(changes).await?;
        }
        self.restore_settings(settings);
        self.tx = TxState::Block;
        Ok(Output::Command(CommandTag::new("ROLLBACK")))
    }

    pub(super) fn discard(&mut self, object: &DiscardObject) -> Result<Output> {
        match object {
            DiscardObject::ALL => {
                if self.tx != TxState::Idle {
                    return Err(Error::ActiveTransaction(
                        "DISCARD ALL cannot run inside a transaction block".into(),
                    ));
                }
                let reported = self.settings.write().expect("settings lock").reset_all();
                self.reported.extend(reported);
                self.prepared.clear();
                self.cursors.clear();
                self.effects.push(ProtocolEffect::DeallocateAll);
                Ok(Output::Command(CommandTag::new("DISCARD ALL")))
            }
            DiscardObject::PLANS => Ok(Output::Command(CommandTag::new("DISCARD PLANS"))),
            DiscardObject::SEQUENCES => Ok(Output::Command(CommandTag::new("DISCARD SEQUENCES"))),
            DiscardObject::TEMP => Ok(Output::Command(CommandTag::new("DISCARD TEMP"))),
        }
    }
}

pub(super) fn transaction_mode(mode: &TransactionMode) -> (&'static str, &'static str) {
    match mode {
        TransactionMode::AccessMode(TransactionAccessMode::ReadOnly) => {
            ("transaction_read_only", "on")
        }
        TransactionMode::AccessMode(TransactionAccessMode::ReadWrite) => {
            ("transaction_read_only", "off")
        }
        TransactionMode::IsolationLevel(level) => (
            "transaction_isolation",
            match level {
                TransactionIsolationLevel::ReadUncommitted => "read uncommitted",
                TransactionIsolationLevel::ReadCommitted => "read committed",
                TransactionIsolationLevel::RepeatableRead => "repeatable read",
                TransactionIsolationLevel::Serializable => "serializable",
                TransactionIsolationLevel::Snapshot => "repeatable read",
            },
        ),
    }
}

impl Session {
    /// `LOCK [TABLE] name, … [IN mode MODE] [NOWAIT]`: checked as PostgreSQL
    /// checks it (only in a transaction block; each relation exists), and
    /// takes no lock. Transactions here commit optimistically: a write that
    /// another transaction's commit would have waited for is refused at that
    /// commit (40001) instead.
    pub(super) fn lock_tables(&mut self, lock: &ast::Lock) -> Result<Output> {
        if self.tx == TxState::Idle {
            return Err(Error::NoActiveTransaction(
                "LOCK TABLE can only be used in transaction blocks".into(),
            ));
        }
        for target in &lock.tables {
            let (schema, name) = self.resolve(&target.name)?;
            let exists = self
                .engine
                .storage()
                .read_catalog(|c| c.relation_exists(&schema, &name));
            if !exists {
                return Err(Error::UndefinedTable(name));
            }
        }
        Ok(Output::Command(CommandTag::new("LOCK TABLE")))
    }
}
