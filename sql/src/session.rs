//! One client's session: settings, transaction state, prepared statements, cursors.
//!
//! The front end hands the session parsed statements; the session answers with an
//! [`Output`] — rows as a stream of Arrow batches, or a command tag. Session
//! statements (SET, BEGIN, PREPARE, DECLARE, …) are handled here; everything else
//! is planned and run by DataFusion in this session's own context.
//!
//! Transaction rule: inside `BEGIN … COMMIT`, an error puts the session into the
//! failed state, where every statement but `ROLLBACK`/`COMMIT` (which then rolls
//! back) gets 25P02. Settings changed inside a rolled-back block are restored.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{
    CatalogProvider, CatalogProviderList, MemoryCatalogProvider, MemoryCatalogProviderList,
    MemorySchemaProvider, SchemaProvider,
};
use datafusion::common::{ParamValues, ScalarValue};
use datafusion::datasource::{MemTable, provider_as_source};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::SessionStateBuilder;
use datafusion::logical_expr::{
    ColumnarValue, LogicalPlan, ScalarUDF, Volatility, WriteOp, create_udf,
};
use datafusion::logical_expr::{DmlStatement, LogicalPlanBuilder};
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{
    self, CloseCursor, DiscardObject, Expr, FetchDirection, ObjectName, Reset, Set, SetExpr,
    Statement, TransactionAccessMode, TransactionIsolationLevel, TransactionMode, Value,
};
use futures::StreamExt;

mod access;
mod names;

pub use access::now;

pub use crate::output::{CommandTag, Notice, ProtocolEffect, Rows, TxState};

use crate::cache::{CacheKey, ResultCache, Source};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::privileges::{Principal, Privilege};
use crate::settings::{Reported, Settings};
use crate::statement::NAME_SUFFIX_MARK;
use crate::types;
use enishi_storage::TransactionSlot;

/// What a statement produced.
pub enum Output {
    Rows(Rows),
    /// COPY … TO STDOUT: rows to send in COPY's format.
    CopyOut(crate::copy::CopyOut),
    /// COPY … FROM STDIN: the front end reads the client's rows and hands them
    /// to [`Session::copy_write`].
    CopyIn(crate::copy::CopyIn),
    Command(CommandTag),
    /// The statement text was empty (only comments).
    Empty,
}

/// A statement prepared with SQL `PREPARE name AS …`.
#[derive(Clone)]
struct SqlPrepared {
    statement: DFStatement,
    param_types: Vec<DataType>,
}

/// An open cursor (`DECLARE`): the rest of its result, batch by batch.
struct Cursor {
    schema: SchemaRef,
    stream: SendableRecordBatchStream,
    /// Rows of a partly fetched batch.
    pending: Option<RecordBatch>,
    hold: bool,
}

pub struct Session {
    engine: Arc<Engine>,
    ctx: SessionContext,
    database: String,
    user: String,
    /// Whose privileges the session's statements are checked against.
    principal: Principal,
    /// Relations the current statement was checked against (for the audit log).
    objects: std::sync::Mutex<Vec<String>>,
    settings: Arc<RwLock<Settings>>,
    tx: TxState,
    /// Settings as they were at BEGIN, restored by ROLLBACK.
    settings_at_begin: Option<Settings>,
    /// Open savepoints, innermost last: name, settings and the transaction's
    /// changes when it was set.
    savepoints: Vec<(String, Settings, enishi_storage::Savepoint)>,
    prepared: HashMap<String, SqlPrepared>,
    /// Behind a lock only so the session is `Sync` (streams are not).
    cursors: HashMap<String, tokio::sync::Mutex<Cursor>>,
    notices: Vec<Notice>,
    reported: Vec<Reported>,
    effects: Vec<ProtocolEffect>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("database", &self.database)
            .field("user", &self.user)
            .field("tx", &self.tx)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Opens a session for `user` on `database`, its statements checked
    /// against `principal`'s privileges.
    pub fn open(
        engine: &Arc<Engine>,
        user: &str,
        database: &str,
        principal: Principal,
    ) -> Result<Self> {
        if !engine.database_exists(database) {
            return Err(Error::UndefinedDatabase(database.to_string()));
        }
        Self::new(engine.clone(), user, database, principal)
    }

    fn new(engine: Arc<Engine>, user: &str, database: &str, principal: Principal) -> Result<Self> {
        let superuser = principal.is_superuser();
        let mut defaults = Settings::new(user, superuser);
        for (name, value) in &engine.config().session_defaults {
            defaults.set_server_default(name, value)?;
        }
        let settings = Arc::new(RwLock::new(defaults));
        let path = {
            let settings = settings.clone();
            Arc::new(move || settings.read().expect("settings lock").lookup_path())
        };
        let ctx = engine.context(database, path)?;
        ctx.state_ref()
            .write()
            .config_mut()
            .set_extension(Arc::new(crate::activity::Caller {
                user: user.to_string(),
                superuser,
            }));
        ctx.register_udf(current_setting_udf(settings.clone()));
        ctx.register_udf(set_config_udf(settings.clone()));
        for udf in names::udfs(&ctx, database, settings.clone(), engine.clone()) {
            ctx.register_udf(udf);
        }
        let session = Self {
            engine,
            ctx,
            database: database.to_string(),
            user: user.to_string(),
            principal,
            objects: Default::default(),
            settings,
            tx: TxState::Idle,
            settings_at_begin: None,
            savepoints: Vec::new(),
            prepared: HashMap::new(),
            cursors: HashMap::new(),
            notices: Vec::new(),
            reported: Vec::new(),
            effects: Vec::new(),
        };
        session.register_privilege_functions();
        Ok(session)
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    pub fn tx_state(&self) -> TxState {
        self.tx
    }

    /// A copy of the current settings.
    /// One setting's value, without copying the others.
    pub fn setting(&self, name: &str) -> Result<String> {
        self.settings.read().expect("settings lock").get(name)
    }

    pub fn settings(&self) -> Settings {
        self.settings.read().expect("settings lock").clone()
    }

    /// Applies a setting the client sent at start-up (e.g. `application_name`).
    pub fn set_startup_parameter(&mut self, name: &str, value: &str) -> Result<()> {
        self.set_setting(name, value).map(|_| ())
    }

    /// Notices raised since the last call.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    /// Reported parameters that changed since the last call (ParameterStatus).
    pub fn take_reported(&mut self) -> Vec<Reported> {
        std::mem::take(&mut self.reported)
    }

    /// Protocol state the front end must clean up since the last call.
    pub fn take_effects(&mut self) -> Vec<ProtocolEffect> {
        std::mem::take(&mut self.effects)
    }

    /// Records that a statement failed after `execute` returned (while its rows
    /// streamed), so a transaction block becomes failed.
    pub fn statement_failed(&mut self) {
        if self.tx == TxState::Block {
            self.tx = TxState::Failed;
        }
    }

    /// Runs one statement. `params` are the bound values of `$n` placeholders.
    pub async fn execute(
        &mut self,
        stmt: &DFStatement,
        params: Option<ParamValues>,
    ) -> Result<Output> {
        if self.tx == TxState::Failed && !ends_transaction(stmt) {
            return Err(Error::InFailedTransaction);
        }
        // Another server sharing the storage may have changed the catalog.
        if let Err(e) = self.engine.storage().refresh_catalog().await {
            tracing::warn!(error = %e, "could not look for a newer catalog");
        }
        self.check_principal()?;
        let result = self.dispatch(stmt, params).await;
        if result.is_err() {
            self.statement_failed();
        }
        result
    }

    /// Plans a statement without running it: the parameter types it needs and the
    /// columns it returns (None when it returns no rows).
    pub async fn describe(
        &mut self,
        stmt: &DFStatement,
        param_hints: &[Option<DataType>],
    ) -> Result<(Vec<Field>, Option<SchemaRef>)> {
        if self.tx == TxState::Failed && !ends_transaction(stmt) {
            return Err(Error::InFailedTransaction);
        }
        match stmt {
            DFStatement::Statement(s) => match s.as_ref() {
                Statement::ShowVariable { variable } => {
                    let name = show_name(variable);
                    return Ok((vec![], Some(self.show_schema(&name))));
                }
                Statement::Fetch { name, .. } => {
                    let key = name.value.to_lowercase();
                    let cursor = self.cursors.get(&key).ok_or(Error::UndefinedCursor(key))?;
                    return Ok((vec![], Some(cursor.lock().await.schema.clone())));
                }
                Statement::Update(ast::Update {
                    returning: Some(_), ..
                })
                | Statement::Delete(ast::Delete {
                    returning: Some(_), ..
                }) => return Err(returning_unsupported()),
                Statement::Query(_)
                | Statement::Insert(_)
                | Statement::Update(_)
                | Statement::Delete(_) => {}
                // DECLARE … CURSOR FOR a query with parameters (psycopg's
                // server-side cursors): the query's parameters.
                Statement::Declare { stmts } => {
                    let Some(query) = stmts.first().and_then(|d| d.for_query.clone()) else {
                        return Ok((vec![], None));
                    };
                    let query = DFStatement::Statement(Box::new(Statement::Query(query)));
                    let plan = self.plan(&query).await?;
                    return Ok((parameter_types(&plan, param_hints)?, None));
                }
                Statement::Execute {
                    name: Some(name), ..
                } => {
                    let prepared = self.sql_prepared(name)?.clone();
                    let (_, schema) = Box::pin(self.describe(&prepared.statement, &[])).await?;
                    return Ok((vec![], schema));
                }
                _ => return Ok((vec![], None)),
            },
            DFStatement::Explain(_) => {}
            _ => return Ok((vec![], None)),
        }
        if let DFStatement::Statement(s) = stmt
            && let Statement::Insert(insert) = s.as_ref()
            && insert.returning.is_some()
        {
            let (dml, items) = self.plan_insert_returning(insert).await?;
            let types = parameter_types(&LogicalPlan::Dml(dml.clone()), param_hints)?;
            let (ctx, plan) = self.returning_plan(&dml, &items, vec![]).await?;
            drop(ctx);
            return Ok((types, Some(self.result_schema(&plan).await)));
        }
        // A query answered from the cache without parameters is described by
        // the cached answer: no planning (drivers describe before every run).
        if let DFStatement::Statement(s) = stmt
            && matches!(s.as_ref(), Statement::Query(_))
            && let Some(context) = self.cache_context().await
        {
            let key = CacheKey::new(stmt.to_string(), String::new(), context);
            if let Some(entry) = self.engine.cache().peek(&key, self.engine.storage()).await {
                return Ok((vec![], Some(entry.client_schema.clone())));
            }
        }
        let rewritten = match stmt {
            DFStatement::Statement(s) => match s.as_ref() {
                Statement::Insert(insert) => self.insert_defaults(insert).await?,
                _ => None,
            },
            _ => None,
        };
        let plan = self.plan(rewritten.as_ref().unwrap_or(stmt)).await?;
        let types = parameter_types(&plan, param_hints)?;
        let schema = match &plan {
            LogicalPlan::Dml(_) | LogicalPlan::Ddl(_) | LogicalPlan::Statement(_) => None,
            plan => Some(self.result_schema(plan).await),
        };
        Ok((types, schema))
    }

    async fn dispatch(
        &mut self,
        stmt: &DFStatement,
        params: Option<ParamValues>,
    ) -> Result<Output> {
        let s = match stmt {
            DFStatement::Statement(s) => s.as_ref(),
            DFStatement::Reset(reset) => {
                let datafusion::sql::parser::ResetStatement::Variable(name) = reset;
                // DataFusion's parser reads `RESET ALL` as a variable named "all".
                if object_name(name) == "all" {
                    return self.reset(&Reset::ALL);
                }
                return self.reset(&Reset::ConfigurationParameter(name.clone()));
            }
            DFStatement::CreateExternalTable(create) => {
                return self.create_external(create, stmt).await;
            }
            _ => return self.run_plan(stmt, params).await,
        };
        match s {
            Statement::Set(set) => self.set(set),
            Statement::ShowVariable { variable } => self.show(variable),
            Statement::Reset(reset) => self.reset(&reset.reset),
            Statement::StartTransaction { modes, .. } => self.begin(modes),
            Statement::Commit { .. } => self.commit().await,
            Statement::Rollback {
                savepoint: None, ..
            } => Ok(self.rollback()),
            Statement::Rollback {
                savepoint: Some(name),
                ..
            } => self.rollback_to(name).await,
            Statement::Savepoint { name } => self.savepoint(name).await,
            Statement::ReleaseSavepoint { name } => self.release(name),
            Statement::Discard { object_type } => self.discard(object_type),
            Statement::Prepare {
                name,
                data_types,
                statement,
            } => self.prepare_sql(name, data_types, statement),
            Statement::Execute {
                name: Some(name),
                parameters,
                ..
            } => self.execute_sql(name, parameters).await,
            Statement::Deallocate { name, .. } => self.deallocate(name),
            Statement::Declare { stmts } => self.declare(stmts, params).await,
            Statement::Fetch {
                name, direction, ..
            } => self.fetch(name, direction).await,
            Statement::Close { cursor } => self.close(cursor),
            Statement::Copy {
                source,
                to,
                target: ast::CopyTarget::Stdin | ast::CopyTarget::Stdout,
                options,
                legacy_options,
                ..
            } => self.copy(source, *to, options, legacy_options).await,
            Statement::Copy {
                source,
                to,
                target: ast::CopyTarget::File { filename },
                options,
                ..
            } => self.copy_file(source, *to, filename, options).await,
            Statement::CreateTable(create) => self.create_table(create).await,
            Statement::AlterTable(alter) => self.alter_table(alter).await,
            Statement::CreateView(view) => self.create_view(view).await,
            Statement::Drop {
                object_type: ast::ObjectType::View,
                if_exists,
                names,
                ..
            } => self.drop_views(names, *if_exists).await,
            Statement::Insert(insert) if insert.returning.is_some() => {
                self.insert_returning(insert, params).await
            }
            Statement::Insert(insert) => match self.insert_defaults(insert).await? {
                Some(rewritten) => self.run_plan(&rewritten, params).await,
                None => self.run_plan(stmt, params).await,
            },
            Statement::Update(ast::Update {
                returning: Some(_), ..
            })
            | Statement::Delete(ast::Delete {
                returning: Some(_), ..
            }) => Err(returning_unsupported()),
            Statement::Drop {
                object_type: ast::ObjectType::Table,
                if_exists,
                names,
                ..
            } => self.drop_tables(names, *if_exists).await,
            Statement::Drop {
                object_type: ast::ObjectType::Schema,
                if_exists,
                names,
                cascade,
                ..
            } => self.drop_schemas(names, *if_exists, *cascade).await,
            Statement::CreateSchema {
                schema_name,
                if_not_exists,
                ..
            } => self.create_schema(schema_name, *if_not_exists).await,
            Statement::CreateRole(create) => self.create_role(create).await,
            Statement::AlterRole { name, operation } => self.alter_role(name, operation).await,
            Statement::Drop {
                object_type: ast::ObjectType::Role | ast::ObjectType::User,
                if_exists,
                names,
                ..
            } => self.drop_roles(names, *if_exists).await,
            Statement::Comment {
                object_type,
                object_name,
                comment,
                if_exists,
            } => {
                self.comment_on(*object_type, object_name, comment.clone(), *if_exists)
                    .await
            }
            Statement::Grant(grant) => self.grant(grant).await,
            Statement::Revoke(revoke) => self.revoke(revoke).await,
            _ => self.run_plan(stmt, params).await,
        }
    }

    // ---- INSERT … RETURNING ----

    /// The INSERT without its RETURNING list, planned; and the list.
    async fn plan_insert_returning(
        &self,
        insert: &ast::Insert,
    ) -> Result<(DmlStatement, Vec<ast::SelectItem>)> {
        let mut plain = insert.clone();
        let items = plain.returning.take().unwrap_or_default();
        let stmt = match self.insert_defaults(&plain).await? {
            Some(rewritten) => rewritten,
            None => DFStatement::Statement(Box::new(Statement::Insert(plain))),
        };
        match self.plan(&stmt).await? {
            LogicalPlan::Dml(dml) => {
                // RETURNING reads the table's columns: SELECT is needed too,
                // as in PostgreSQL.
                if !items.is_empty() {
                    self.require_target(&dml, Privilege::Select)?;
                }
                Ok((dml, items))
            }
            other => Err(Error::Internal(format!(
                "INSERT planned as {}",
                other.display()
            ))),
        }
    }

    /// Inserts the rows first (they are computed once), then evaluates the
    /// RETURNING list over exactly those rows.
    async fn insert_returning(
        &mut self,
        insert: &ast::Insert,
        params: Option<ParamValues>,
    ) -> Result<Output> {
        let (mut dml, items) = self.plan_insert_returning(insert).await?;
        let mut input = dml.input.as_ref().clone();
        if let Some(params) = params {
            let params = cast_params(&LogicalPlan::Dml(dml.clone()), params)?;
            input = input.with_param_values(params)?;
        }
        let rows = self
            .ctx
            .execute_logical_plan(input)
            .await?
            .collect()
            .await?;
        let stored = MemTable::try_new(dml.input.schema().inner().clone(), vec![rows.clone()])?;
        dml.input = Arc::new(
            LogicalPlanBuilder::scan(
                dml.table_name.clone(),
                provider_as_source(Arc::new(stored)),
                None,
            )?
            .build()?,
        );
        self.count(LogicalPlan::Dml(dml.clone())).await?;
        let (ctx, plan) = self.returning_plan(&dml, &items, rows).await?;
        let schema = self.result_schema(&plan).await;
        rows_of(&ctx, plan, schema, "INSERT 0").await
    }

    /// `SELECT <items> FROM <table>` where the table holds only `rows` (the
    /// inserted ones), planned in a context of its own.
    async fn returning_plan(
        &self,
        dml: &DmlStatement,
        items: &[ast::SelectItem],
        rows: Vec<RecordBatch>,
    ) -> Result<(SessionContext, LogicalPlan)> {
        let rows = MemTable::try_new(dml.input.schema().inner().clone(), vec![rows])?;
        let schema_name = dml
            .table_name
            .schema()
            .unwrap_or(crate::constants::DEFAULT_SCHEMA)
            .to_string();
        let schema = MemorySchemaProvider::new();
        schema.register_table(dml.table_name.table().to_string(), Arc::new(rows))?;
        let catalog = MemoryCatalogProvider::new();
        catalog.register_schema(&schema_name, Arc::new(schema))?;
        let catalogs = MemoryCatalogProviderList::new();
        catalogs.register_catalog(crate::constants::DATABASE.to_string(), Arc::new(catalog));
        let state = SessionStateBuilder::new_from_existing(self.ctx.state())
            .with_catalog_list(Arc::new(catalogs))
            .build();
        let ctx = SessionContext::new_with_state(state);
        let list: Vec<String> = items.iter().map(ToString::to_string).collect();
        let sql = format!(
            "SELECT {} FROM {}.{}",
            list.join(", "),
            ast::Ident::with_quote('"', &schema_name),
            ast::Ident::with_quote('"', dml.table_name.table())
        );
        let stmt = crate::statement::parse(&sql)?
            .pop()
            .ok_or_else(|| Error::syntax("empty RETURNING list"))?;
        let plan = ctx.state().statement_to_plan(stmt).await?;
        Ok((ctx, plan))
    }

    // ---- planning and running through DataFusion ----

    /// Plans a statement and checks the caller may read and write every
    /// relation it names.
    async fn plan(&self, stmt: &DFStatement) -> Result<LogicalPlan> {
        let state = self.ctx.state();
        let plan = state.statement_to_plan(stmt.clone()).await?;
        crate::privileges::admissible(&plan)?;
        self.authorize(&plan)?;
        let plan = crate::rewrite::set_operations_all(plan)?;
        let plan = crate::rewrite::integral_numeric_functions(plan)?;
        let plan = crate::rewrite::exact_numeric_writes(plan)?;
        let plan = crate::rewrite::signed_outputs(plan)?;
        Ok(crate::rewrite::infer_placeholder_casts(plan)?)
    }

    /// CREATE EXTERNAL TABLE: checks the location is one the server may read,
    /// opens the table once (so a wrong path, format or schema fails now), and
    /// records the statement in the catalog.
    async fn create_external(
        &mut self,
        create: &datafusion::sql::parser::CreateExternalTable,
        stmt: &DFStatement,
    ) -> Result<Output> {
        let name = ObjectName::from(
            create
                .name
                .0
                .iter()
                .filter_map(|p| p.as_ident().cloned())
                .collect::<Vec<_>>(),
        );
        self.require_superuser("create an external table")?;
        let (schema, table) = self.resolve(&name)?;
        let storage = self.engine.storage().clone();
        if storage.catalog().relation_exists(&schema, &table) {
            if create.if_not_exists {
                return Ok(Output::Command(CommandTag::new("CREATE EXTERNAL TABLE")));
            }
            return Err(Error::DuplicateTable(table));
        }
        for location in &create.locations {
            self.check_location(location, true)?;
        }
        let locations = create.locations.join(", ");
        let sql = stmt.to_string();
        crate::engine::open_external(&self.engine.external_state(), &sql)
            .await
            .map_err(|e| match Error::from_datafusion(e) {
                Error::Internal(m) => Error::UndefinedFile(format!(
                    "could not open external table \"{table}\" at {locations}: {m}"
                )),
                other => other,
            })?;
        let entry = enishi_storage::ExternalEntry {
            sql,
            location: locations,
        };
        storage.create_external(&schema, &table, entry).await?;
        Ok(Output::Command(CommandTag::new("CREATE EXTERNAL TABLE")))
    }

    /// Whether the server may read or write `location`: inside the storage
    /// root or under one of `storage.external_locations`, never elsewhere.
    /// `must_exist` false (writing): the location's directory must exist.
    fn check_location(&self, location: &str, must_exist: bool) -> Result<()> {
        let refuse = || {
            Error::InsufficientPrivilege(format!(
                "location \"{location}\" is outside the storage root and the configured external locations (storage.external_locations)"
            ))
        };
        let storage = self.engine.storage();
        let mut allowed = vec![storage.root_url().to_string()];
        allowed.extend(self.engine.config().external_locations.iter().cloned());
        let under = |target: &str, root: &str| {
            let root = root.trim_end_matches('/');
            target == root || target.starts_with(&format!("{root}/"))
        };
        if location.starts_with("s3://") {
            return allowed
                .iter()
                .any(|root| under(location, root))
                .then_some(())
                .ok_or_else(refuse);
        }
        let path = location.strip_prefix("file://").unwrap_or(location);
        if location.contains("://") && !location.starts_with("file://") {
            return Err(refuse());
        }
        let path = std::path::Path::new(path);
        if !path.is_absolute() {
            return Err(Error::InvalidParameterValue(format!(
                "location \"{location}\" must be an absolute path or an s3:// URL"
            )));
        }
        let existing = if must_exist || path.exists() {
            path
        } else {
            path.parent().unwrap_or(path)
        };
        let real = std::fs::canonicalize(existing)
            .map_err(|e| Error::UndefinedFile(format!("could not open \"{location}\": {e}")))?;
        let real = real.to_string_lossy().to_string();
        let ok = allowed.iter().any(|root| {
            let dir = root.strip_prefix("file://").unwrap_or(root);
            if dir.contains("://") {
                return false;
            }
            std::fs::canonicalize(dir)
                .map(|d| under(&real, &d.to_string_lossy()))
                .unwrap_or(false)
        });
        ok.then_some(()).ok_or_else(refuse)
    }

    /// The table a COPY FROM writes: its reference, all its columns, and the
    /// columns the COPY lists (all of them when it lists none).
    async fn copy_target(
        &self,
        table: &ObjectName,
        columns: &[ast::Ident],
    ) -> Result<(datafusion::common::TableReference, SchemaRef, Vec<Field>)> {
        let (schema, name) = self.resolve(table)?;
        self.require_table(&schema, &name, Privilege::Insert)?;
        let target = datafusion::common::TableReference::full(self.database.clone(), schema, name);
        let provider = self
            .ctx
            .table_provider(target.clone())
            .await
            .map_err(|_| Error::UndefinedTable(table.to_string()))?;
        let table_schema = provider.schema();
        let mut fields = Vec::new();
        if columns.is_empty() {
            fields.extend(table_schema.fields().iter().map(|f| f.as_ref().clone()));
        } else {
            for column in columns {
                let name = match column.quote_style {
                    Some(_) => column.value.clone(),
                    None => column.value.to_lowercase(),
                };
                let field = table_schema
                    .field_with_name(&name)
                    .map_err(|_| {
                        Error::UndefinedColumn(format!(
                            "column \"{name}\" of relation \"{table}\" does not exist"
                        ))
                    })?
                    .clone();
                if fields.iter().any(|f: &Field| f.name() == field.name()) {
                    return Err(Error::DuplicateColumn(format!(
                        "column \"{name}\" specified more than once"
                    )));
                }
                fields.push(field);
            }
        }
        Ok((target, table_schema, fields))
    }

    /// COPY to or from a file or object-store URL the server reads itself, in
    /// FORMAT parquet, csv or json (else by the name's extension). Only places
    /// `check_location` permits.
    async fn copy_file(
        &mut self,
        source: &ast::CopySource,
        to: bool,
        location: &str,
        options: &[ast::CopyOption],
    ) -> Result<Output> {
        use datafusion::logical_expr::{cast, col, lit};
        self.require_superuser("COPY to or from a file")?;
        let mut format = None;
        let mut header = None;
        for option in options {
            match option {
                ast::CopyOption::Format(f) => format = Some(f.value.to_ascii_lowercase()),
                ast::CopyOption::Header(h) => header = Some(*h),
                other => {
                    return Err(Error::FeatureNotSupported(format!(
                        "COPY option {other} is not supported with a file"
                    )));
                }
            }
        }
        let format = format
            .or_else(|| {
                let ext = location.rsplit('.').next()?.to_ascii_lowercase();
                ["parquet", "csv", "json"]
                    .contains(&ext.as_str())
                    .then_some(ext)
            })
            .ok_or_else(|| {
                Error::InvalidParameterValue(
                    "COPY with a file needs FORMAT parquet, csv or json".into(),
                )
            })?;
        if !["parquet", "csv", "json"].contains(&format.as_str()) {
            return Err(Error::FeatureNotSupported(format!(
                "COPY to or from a file supports FORMAT parquet, csv or json, not {format}"
            )));
        }
        let header = header.unwrap_or(false);
        if to {
            self.check_location(location, false)?;
            let query = self.copy_query(source)?;
            let input = self.plan_with(&query, None).await?;
            let state = self.ctx.state();
            let factory = state
                .get_file_format_factory(&format)
                .ok_or_else(|| Error::FeatureNotSupported(format!("no writer for {format}")))?;
            let mut file_options = std::collections::HashMap::new();
            if format == "csv" {
                file_options.insert("format.has_header".to_string(), header.to_string());
            }
            let plan = LogicalPlanBuilder::copy_to(
                input,
                location.to_string(),
                datafusion::datasource::file_format::format_as_file_type(factory),
                file_options,
                vec![],
            )?
            .build()?;
            let rows = self.count(plan).await?;
            return Ok(Output::Command(CommandTag::new("COPY").with_rows(rows)));
        }
        self.check_location(location, true)?;
        let Some((table, columns)) = crate::copy::copy_columns(source) else {
            return Err(Error::syntax("COPY FROM needs a table, not a query"));
        };
        let (target, table_schema, fields) = self.copy_target(table, columns).await?;
        let escaped = location.replace('\'', "''");
        let stored_as = format.to_uppercase();
        let csv_options = if format == "csv" {
            format!(" OPTIONS ('format.has_header' '{header}')")
        } else {
            String::new()
        };
        let sql = format!(
            "CREATE EXTERNAL TABLE copy_source STORED AS {stored_as} LOCATION '{escaped}'{csv_options}"
        );
        let source = crate::engine::open_external(&self.engine.external_state(), &sql)
            .await
            .map_err(|e| Error::UndefinedFile(format!("could not read \"{location}\": {e}")))?;
        let source_schema = source.schema();
        // Columns are matched by name when the file names them all (Parquet,
        // JSON, CSV with a header), else by position.
        let by_name = fields
            .iter()
            .all(|f| source_schema.index_of(f.name()).is_ok());
        if !by_name && source_schema.fields().len() != fields.len() {
            return Err(Error::InvalidParameterValue(format!(
                "\"{location}\" has {} columns, COPY expects {}",
                source_schema.fields().len(),
                fields.len()
            )));
        }
        // Each listed column gets its file column, cast to the column's type.
        let exprs = table_schema
            .fields()
            .iter()
            .map(|field| {
                let value = match fields.iter().position(|f| f.name() == field.name()) {
                    Some(_) if by_name => col(datafusion::common::Column::from_name(field.name())),
                    Some(i) => col(datafusion::common::Column::from_name(
                        source_schema.field(i).name(),
                    )),
                    None => lit(ScalarValue::Null),
                };
                cast(value, field.data_type().clone()).alias(field.name())
            })
            .collect::<Vec<_>>();
        let input = LogicalPlanBuilder::scan("copy_source", provider_as_source(source), None)?
            .project(exprs)?
            .build()?;
        let table = self.ctx.table_provider(target.clone()).await?;
        let plan = LogicalPlanBuilder::insert_into(
            input,
            target,
            provider_as_source(table),
            datafusion::logical_expr::dml::InsertOp::Append,
        )?
        .build()?;
        let rows = self.count(plan).await?;
        Ok(Output::Command(CommandTag::new("COPY").with_rows(rows)))
    }

    /// The query a COPY … TO reads: the table (its listed columns) or the query.
    fn copy_query(&self, source: &ast::CopySource) -> Result<DFStatement> {
        Ok(match source {
            ast::CopySource::Table {
                table_name,
                columns,
            } => {
                let list = if columns.is_empty() {
                    "*".to_string()
                } else {
                    columns
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                crate::statement::parse(&format!("SELECT {list} FROM {table_name}"))?.remove(0)
            }
            ast::CopySource::Query(q) => {
                DFStatement::Statement(Box::new(Statement::Query(q.clone())))
            }
        })
    }

    /// COPY … TO STDOUT runs its query; COPY … FROM STDIN plans the conversion
    /// of text fields into the table's columns.
    async fn copy(
        &mut self,
        source: &ast::CopySource,
        to: bool,
        options: &[ast::CopyOption],
        legacy: &[ast::CopyLegacyOption],
    ) -> Result<Output> {
        use crate::copy::{CopyIn, CopyOptions, CopyOut, copy_columns};
        if to {
            let query = self.copy_query(source)?;
            let Output::Rows(rows) = self.run_plan(&query, None).await? else {
                return Err(Error::Internal("COPY's query returned no rows".into()));
            };
            let names: Vec<String> = rows
                .schema
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            let options = CopyOptions::parse(options, legacy, &names, true)?;
            return Ok(Output::CopyOut(CopyOut { options, rows }));
        }
        let Some((table, columns)) = copy_columns(source) else {
            return Err(Error::syntax("COPY FROM needs a table, not a query"));
        };
        let (target, table_schema, fields) = self.copy_target(table, columns).await?;
        let names: Vec<String> = fields.iter().map(|f| f.name().clone()).collect();
        let options = CopyOptions::parse(options, legacy, &names, false)?;
        let mut copy = CopyIn {
            options,
            table: table.to_string(),
            columns: fields,
            table_schema,
            target,
            converters: Vec::new(),
        };
        copy.converters = self.copy_converters(&copy).await?;
        Ok(Output::CopyIn(copy))
    }

    /// For each table column, the expression computing it from the COPY's text
    /// columns: a cast planned (and analyzed) as `'text'::type` would be.
    async fn copy_converters(
        &self,
        copy: &crate::copy::CopyIn,
    ) -> Result<Vec<Option<Arc<dyn datafusion::physical_expr::PhysicalExpr>>>> {
        use datafusion::logical_expr::{cast, col};
        use datafusion::physical_plan::projection::ProjectionExec;
        let text_schema = copy.text_schema();
        let input = MemTable::try_new(text_schema.clone(), vec![vec![]])?;
        let mut exprs = Vec::new();
        let mut targets = Vec::new();
        for (i, field) in copy.table_schema.fields().iter().enumerate() {
            if copy.columns.iter().any(|c| c.name() == field.name()) {
                let text = datafusion::common::Column::from_name(field.name());
                let mut text = col(text);
                // An unconstrained numeric column refuses what it would round.
                if types::declared(field) == Some((types::oid::NUMERIC, -1))
                    && let DataType::Decimal128(_, scale) = field.data_type()
                {
                    text =
                        ScalarUDF::new_from_impl(crate::functions::math::NumericExact::new(*scale))
                            .call(vec![text]);
                }
                exprs.push(cast(text, field.data_type().clone()).alias(format!("c{i}")));
                targets.push(i);
            }
        }
        let plan =
            LogicalPlanBuilder::scan("copy_input", provider_as_source(Arc::new(input)), None)?
                .project(exprs)?
                .build()?;
        let physical = self.ctx.state().create_physical_plan(&plan).await?;
        // Find the projection (it may sit under single-child wrappers).
        let mut node = physical;
        let planned: Vec<Arc<dyn datafusion::physical_expr::PhysicalExpr>> = loop {
            if let Some(projection) = node.downcast_ref::<ProjectionExec>() {
                break projection.expr().iter().map(|p| p.expr.clone()).collect();
            }
            let children = node.children();
            match children.as_slice() {
                [only] => node = (*only).clone(),
                // No projection left: every column was text already.
                _ => {
                    break targets
                        .iter()
                        .map(|&i| {
                            let name = copy.table_schema.field(i).name();
                            let index = text_schema.index_of(name).expect("a COPY column");
                            Arc::new(datafusion::physical_expr::expressions::Column::new(
                                name, index,
                            ))
                                as Arc<dyn datafusion::physical_expr::PhysicalExpr>
                        })
                        .collect();
                }
            }
        };
        let mut converters = vec![None; copy.table_schema.fields().len()];
        for (i, expr) in targets.into_iter().zip(planned) {
            converters[i] = Some(expr);
        }
        Ok(converters)
    }

    /// Writes a COPY's converted rows into its table: one commit at the end
    /// (or, inside a transaction block, with the transaction). Returns the rows.
    pub async fn copy_write(
        &mut self,
        copy: &crate::copy::CopyIn,
        batches: SendableRecordBatchStream,
    ) -> Result<u64> {
        if self.tx == TxState::Failed {
            return Err(Error::InFailedTransaction);
        }
        let result = async {
            let source = enishi_storage::stream::once(batches)?;
            let input =
                LogicalPlanBuilder::scan("copy_data", provider_as_source(Arc::new(source)), None)?
                    .build()?;
            let table = self.ctx.table_provider(copy.target.clone()).await?;
            let plan = LogicalPlanBuilder::insert_into(
                input,
                copy.target.clone(),
                provider_as_source(table),
                datafusion::logical_expr::dml::InsertOp::Append,
            )?
            .build()?;
            self.count(plan).await
        }
        .await;
        match result {
            Ok(rows) => Ok(rows as u64),
            Err(e) => {
                self.statement_failed();
                Err(e)
            }
        }
    }

    async fn run_plan(
        &mut self,
        stmt: &DFStatement,
        params: Option<ParamValues>,
    ) -> Result<Output> {
        let is_query =
            matches!(stmt, DFStatement::Statement(s) if matches!(s.as_ref(), Statement::Query(_)));
        if is_query {
            return self.run_query(stmt, params).await;
        }
        let plan = self.plan_with(stmt, params).await?;
        self.run_logical(plan).await
    }

    async fn plan_with(
        &self,
        stmt: &DFStatement,
        params: Option<ParamValues>,
    ) -> Result<LogicalPlan> {
        let mut plan = self.plan(stmt).await?;
        if let Some(params) = params {
            let params = cast_params(&plan, params)?;
            plan = plan.with_param_values(params)?;
        } else if !plan.get_parameter_types()?.is_empty() {
            return Err(Error::Protocol("there is no parameter $1".into()));
        }
        Ok(plan)
    }

    async fn run_logical(&mut self, plan: LogicalPlan) -> Result<Output> {
        match &plan {
            LogicalPlan::Dml(dml) => {
                let command = match dml.op {
                    WriteOp::Insert(_) => "INSERT",
                    WriteOp::Update => "UPDATE",
                    WriteOp::Delete => "DELETE",
                    WriteOp::Ctas => "SELECT",
                    WriteOp::Truncate => "TRUNCATE TABLE",
                    _ => "UPDATE",
                };
                // TRUNCATE reports no row count.
                let truncate = matches!(dml.op, WriteOp::Truncate);
                let rows = self.count(plan).await?;
                let mut tag = if truncate {
                    CommandTag::new(command)
                } else {
                    CommandTag::new(command).with_rows(rows)
                };
                if command == "INSERT" {
                    tag.oid = Some(0);
                }
                Ok(Output::Command(tag))
            }
            _ => {
                let schema = self.result_schema(&plan).await;
                rows_of(&self.ctx, plan, schema, "SELECT").await
            }
        }
    }

    /// Runs a query, through the result cache when its answer may be cached.
    async fn run_query(
        &mut self,
        stmt: &DFStatement,
        params: Option<ParamValues>,
    ) -> Result<Output> {
        let cache = self.engine.cache().clone();
        let storage = self.engine.storage().clone();
        let key = self.cache_context().await.map(|context| {
            let params = match &params {
                Some(ParamValues::List(values)) if values.is_empty() => String::new(),
                Some(p) => format!("{p:?}"),
                None => String::new(),
            };
            CacheKey::new(stmt.to_string(), params, context)
        });
        if let Some(key) = &key
            && let Some(hit) = cache.lookup(key, &storage).await
        {
            tracing::debug!(rows = hit.rows(), "result from the cache");
            return Ok(Output::Rows(Rows {
                schema: hit.client_schema.clone(),
                stream: ResultCache::replay(&hit)?,
                tag: "SELECT",
            }));
        }
        let catalog_version = storage.catalog_version();
        let plan = self.plan_with(stmt, params).await?;
        if matches!(
            plan,
            LogicalPlan::Dml(_) | LogicalPlan::Ddl(_) | LogicalPlan::Statement(_)
        ) {
            return self.run_logical(plan).await;
        }
        let schema = self.result_schema(&plan).await;
        let tables = ResultCache::dependencies(&plan);
        let stream = self
            .ctx
            .execute_logical_plan(plan)
            .await?
            .execute_stream()
            .await?;
        let stream = match (key, tables) {
            (Some(key), Some(tables)) => {
                cache.missed();
                let source = Source {
                    client_schema: schema.clone(),
                    catalog_version,
                    tables,
                };
                cache.record(key, source, stream)
            }
            _ => {
                if cache.enabled() {
                    cache.bypassed();
                }
                stream
            }
        };
        Ok(Output::Rows(Rows {
            schema,
            stream,
            tag: "SELECT",
        }))
    }

    /// What besides the plan determines a result — the settings that change
    /// values and who asks — or None when this session must not use the cache
    /// (turned off, or inside a transaction that has written).
    async fn cache_context(&self) -> Option<String> {
        if !self.engine.cache().enabled() {
            return None;
        }
        let settings = self.settings();
        if settings.get("enishi.result_cache").ok()? != "on" {
            return None;
        }
        // (Without cloning the session state: this runs before every query.)
        let tx = TransactionSlot::of(&*self.ctx.state_ref().read());
        if let Some(tx) = tx
            && tx.has_changes().await
        {
            return None;
        }
        let mut context = format!("user={}\u{1f}scope={}", self.user, self.principal.scope());
        for name in [
            "TimeZone",
            "DateStyle",
            "IntervalStyle",
            "extra_float_digits",
            "search_path",
        ] {
            context.push_str(&format!("\u{1f}{name}={}", settings.get(name).ok()?));
        }
        Some(context)
    }

    /// The schema a client sees: PostgreSQL names, and for columns read straight
    /// from a table, the table's OID and the column's number (RowDescription).
    async fn result_schema(&self, plan: &LogicalPlan) -> SchemaRef {
        let oids = self.engine.pg_catalog().oids();
        let mut fields = Vec::with_capacity(plan.schema().fields().len());
        for (i, (qualifier, field)) in plan.schema().iter().enumerate() {
            let name = field
                .name()
                .split(NAME_SUFFIX_MARK)
                .next()
                .unwrap_or(field.name());
            // The catalog parser renames a repeated column (`c.oid, c.*`),
            // which DataFusion refuses; the client sees PostgreSQL's name.
            let name = name.strip_prefix("__alias_").unwrap_or(name);
            let mut field = field.as_ref().clone().with_name(name);
            // DataFusion keeps a cast's source metadata: `u::text` of a uuid
            // column would still claim to be uuid.
            // A cast to a type that names its PostgreSQL type (`::varchar(20)`)
            // takes that one.
            if let Some(cast) = output_cast(plan, i) {
                let mut metadata = field.metadata().clone();
                metadata.remove(types::PG_TYPE_OID_KEY);
                metadata.remove(types::PG_TYPMOD_KEY);
                for key in [types::PG_TYPE_OID_KEY, types::PG_TYPMOD_KEY] {
                    if let Some(value) = cast.metadata().get(key) {
                        metadata.insert(key.to_string(), value.clone());
                    }
                }
                field = field.with_metadata(metadata);
            }
            if let Some(table) = qualifier
                && let Ok(provider) = self.ctx.table_provider(table.clone()).await
                && let Ok(index) = provider.schema().index_of(field.name())
            {
                let identity = self
                    .engine
                    .storage()
                    .read_catalog(|c| crate::tables::identify(provider.as_ref(), table, c));
                let (schema_name, table_name) = match identity {
                    crate::tables::Identity::Stored { schema, name } => (schema, name),
                    _ => (
                        table.schema().unwrap_or("pg_catalog").to_string(),
                        table.table().to_string(),
                    ),
                };
                let mut metadata = field.metadata().clone();
                let oid = oids.relation(&schema_name, &table_name);
                metadata.insert(types::PG_TABLE_OID_KEY.into(), oid.to_string());
                metadata.insert(types::PG_ATTNUM_KEY.into(), (index + 1).to_string());
                field = field.with_metadata(metadata);
            }
            fields.push(field);
        }
        Arc::new(Schema::new(fields))
    }

    /// Runs a DML plan and returns the row count DataFusion reports.
    async fn count(&self, plan: LogicalPlan) -> Result<usize> {
        let batches = self.ctx.execute_logical_plan(plan).await?.collect().await?;
        let mut total = 0usize;
        for batch in &batches {
            if let Some(col) = batch.columns().first()
                && let Some(counts) = col.as_any().downcast_ref::<UInt64Array>()
            {
                total += counts.iter().flatten().sum::<u64>() as usize;
            }
        }
        Ok(total)
    }

    /// Resolves a table name to (schema, table): unqualified names go to the
    /// first schema of search_path that exists (else `public`).
    fn resolve(&self, name: &ObjectName) -> Result<(String, String)> {
        let parts: Vec<String> = object_name(name).split('.').map(str::to_string).collect();
        match parts.as_slice() {
            [table] => {
                let existing = self.engine.storage().schema_names();
                let schema = self
                    .settings()
                    .search_path()
                    .into_iter()
                    .find(|s| existing.contains(s))
                    .unwrap_or_else(|| crate::constants::DEFAULT_SCHEMA.to_string());
                Ok((schema, table.clone()))
            }
            [schema, table] => Ok((schema.clone(), table.clone())),
            [database, schema, table] if *database == self.database => {
                Ok((schema.clone(), table.clone()))
            }
            [database, ..] if parts.len() == 3 => Err(Error::unsupported(format!(
                "cross-database references are not implemented: {database}"
            ))),
            _ => Err(Error::syntax(format!("improper qualified name: {name}"))),
        }
    }

    /// CREATE TABLE: the declared column types (with their PostgreSQL identity in
    /// field metadata), stored as a new Delta table; or CREATE TABLE AS, whose
    /// columns come from the query.
    async fn create_table(&mut self, create: &ast::CreateTable) -> Result<Output> {
        let (schema, name) = self.resolve(&create.name)?;
        self.require_schema(&schema, Privilege::Create)?;
        let storage = self.engine.storage().clone();
        if let Some(query) = &create.query {
            let select = DFStatement::Statement(Box::new(Statement::Query(query.clone())));
            let plan = self.plan(&select).await?;
            let columns = self.result_schema(&plan).await;
            let fields: Vec<Field> = columns
                .fields()
                .iter()
                .map(|f| {
                    let mut metadata = f.metadata().clone();
                    metadata.remove(types::PG_TABLE_OID_KEY);
                    metadata.remove(types::PG_ATTNUM_KEY);
                    f.as_ref()
                        .clone()
                        .with_nullable(true)
                        .with_metadata(metadata)
                })
                .collect();
            let table_schema = Arc::new(Schema::new(fields));
            if !storage
                .create_table(&schema, &name, &table_schema, create.if_not_exists)
                .await?
            {
                self.already_exists(&name);
                return Ok(Output::Command(CommandTag::new("CREATE TABLE AS")));
            }
            self.record_owner(enishi_storage::table_key(&schema, &name))
                .await?;
            let batches = self.ctx.execute_logical_plan(plan).await?.collect().await?;
            let batches = batches
                .into_iter()
                .map(|b| RecordBatch::try_new(table_schema.clone(), b.columns().to_vec()))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let table = storage
                .table(&schema, &name)
                .await?
                .ok_or_else(|| Error::Internal("table vanished after CREATE TABLE AS".into()))?;
            let rows = table.append(batches, Arc::new(self.ctx.state())).await?;
            return Ok(Output::Command(
                CommandTag::new("SELECT").with_rows(rows as usize),
            ));
        }
        let ident_name = |ident: &ast::Ident| {
            if ident.quote_style.is_some() {
                ident.value.clone()
            } else {
                ident.value.to_lowercase()
            }
        };
        let mut primary_key: Option<(Option<String>, Vec<String>)> = None;
        let mut declare_key = |name: Option<&ast::Ident>, columns: Vec<String>| {
            if primary_key.is_some() {
                return Err(Error::Coded {
                    code: "42P16",
                    message: format!(
                        "multiple primary keys for table \"{}\" are not allowed",
                        object_name(&create.name)
                    ),
                });
            }
            primary_key = Some((name.map(ident_name), columns));
            Ok(())
        };
        for constraint in &create.constraints {
            if let ast::TableConstraint::PrimaryKey(key) = constraint {
                let mut columns = Vec::new();
                for c in &key.columns {
                    match &c.column.expr {
                        Expr::Identifier(ident) => columns.push(ident_name(ident)),
                        other => {
                            return Err(Error::syntax(format!(
                                "a primary key names columns, not {other}"
                            )));
                        }
                    }
                }
                declare_key(key.name.as_ref(), columns)?;
            }
        }
        let mut fields = Vec::with_capacity(create.columns.len());
        for column in &create.columns {
            let ty = types::column_type(&column.data_type)?;
            let mut not_null = false;
            let mut default = None;
            for option in &column.options {
                match &option.option {
                    ast::ColumnOption::PrimaryKey(key) => {
                        not_null = true;
                        declare_key(
                            key.name.as_ref().or(option.name.as_ref()),
                            vec![ident_name(&column.name)],
                        )?;
                    }
                    ast::ColumnOption::NotNull => not_null = true,
                    ast::ColumnOption::Null => {}
                    ast::ColumnOption::Default(Expr::Value(v))
                        if matches!(v.value, Value::Null) => {}
                    ast::ColumnOption::Default(expr) => {
                        self.check_default(expr, &ty.arrow).await?;
                        default = Some(expr.to_string());
                    }
                    _ => {}
                }
            }
            let name = if column.name.quote_style.is_some() {
                column.name.value.clone()
            } else {
                column.name.value.to_lowercase()
            };
            if fields.iter().any(|f: &Field| f.name() == &name) {
                return Err(Error::DuplicateColumn(format!(
                    "column \"{name}\" specified more than once"
                )));
            }
            let mut field = ty.field(&name, !not_null);
            if let Some(default) = default {
                let mut metadata = field.metadata().clone();
                metadata.insert(types::PG_DEFAULT_KEY.to_string(), default);
                field = field.with_metadata(metadata);
            }
            fields.push(field);
        }
        let primary_key = match primary_key {
            Some((constraint, columns)) => {
                for column in &columns {
                    if !fields.iter().any(|f| f.name() == column) {
                        return Err(Error::UndefinedColumn(format!(
                            "column \"{column}\" named in key does not exist"
                        )));
                    }
                }
                // Columns named only in a table constraint are NOT NULL too.
                for field in fields.iter_mut() {
                    if columns.contains(field.name()) {
                        *field = field.clone().with_nullable(false);
                    }
                }
                Some(enishi_storage::PrimaryKey {
                    name: constraint.unwrap_or_else(|| format!("{name}_pkey")),
                    columns,
                })
            }
            None => None,
        };
        if storage
            .create_table_with_key(
                &schema,
                &name,
                &Schema::new(fields),
                create.if_not_exists,
                primary_key,
            )
            .await?
        {
            self.record_owner(enishi_storage::table_key(&schema, &name))
                .await?;
        } else {
            self.already_exists(&name);
        }
        Ok(Output::Command(CommandTag::new("CREATE TABLE")))
    }

    /// COMMENT ON TABLE / VIEW / COLUMN / SCHEMA: kept in the catalog, read
    /// through pg_description (obj_description, col_description, `\d+`).
    /// The owner may comment, as in PostgreSQL; `IS NULL` removes the comment.
    async fn comment_on(
        &mut self,
        object_type: ast::CommentObject,
        name: &ObjectName,
        comment: Option<String>,
        if_exists: bool,
    ) -> Result<Output> {
        let storage = self.engine.storage().clone();
        let relation = |schema: &str, table: &str| {
            storage.read_catalog(|c| {
                let s = c.schema(schema)?;
                if s.tables.contains_key(table) || s.externals.contains_key(table) {
                    Some("table")
                } else if s.views.contains_key(table) {
                    Some("view")
                } else {
                    None
                }
            })
        };
        let key = match object_type {
            ast::CommentObject::Table | ast::CommentObject::View => {
                let (schema, table) = self.resolve(name)?;
                match relation(&schema, &table) {
                    Some(kind) => self.require_owner(kind, &schema, &table)?,
                    None if if_exists => return Ok(Output::Command(CommandTag::new("COMMENT"))),
                    None => return Err(Error::UndefinedTable(object_name(name))),
                }
                enishi_storage::table_key(&schema, &table)
            }
            ast::CommentObject::Column => {
                let mut parts = name.0.clone();
                let Some(column) = parts.pop() else {
                    return Err(Error::syntax("column name must be qualified"));
                };
                if parts.is_empty() {
                    return Err(Error::syntax("column name must be qualified"));
                }
                let column = object_name(&ObjectName(vec![column]));
                let (schema, table) = self.resolve(&ObjectName(parts))?;
                let Some(kind) = relation(&schema, &table) else {
                    return Err(Error::UndefinedTable(table));
                };
                self.require_owner(kind, &schema, &table)?;
                let provider = self
                    .ctx
                    .table_provider(datafusion::common::TableReference::partial(
                        schema.as_str(),
                        table.as_str(),
                    ))
                    .await?;
                if provider.schema().field_with_name(&column).is_err() {
                    return Err(Error::UndefinedColumn(format!(
                        "column \"{column}\" of relation \"{table}\" does not exist"
                    )));
                }
                enishi_storage::column_key(&schema, &table, &column)
            }
            ast::CommentObject::Schema => {
                let schema = object_name(name);
                if storage.read_catalog(|c| c.schema(&schema).is_none()) {
                    return Err(Error::UndefinedSchema(schema));
                }
                self.require_owner("schema", &schema, "")?;
                enishi_storage::schema_key(&schema)
            }
            other => {
                return Err(Error::unsupported(format!(
                    "COMMENT ON {other} is not implemented"
                )));
            }
        };
        storage.set_comment(key, comment).await?;
        Ok(Output::Command(CommandTag::new("COMMENT")))
    }

    /// A DEFAULT must plan (known functions, no columns) and cast to the column type.
    async fn check_default(&self, expr: &Expr, column: &DataType) -> Result<()> {
        // A default is evaluated with the privileges of whoever inserts: it
        // may not read other relations (PostgreSQL refuses the same).
        refuse_subqueries(expr, "DEFAULT expression")?;
        let plan = self
            .ctx
            .state()
            .create_logical_plan(&format!("SELECT {expr}"))
            .await?;
        let produced = plan.schema().field(0).data_type().clone();
        if !datafusion::arrow::compute::can_cast_types(&produced, column) {
            return Err(Error::DatatypeMismatch(format!(
                "column is of type {column} but default expression is of type {produced}"
            )));
        }
        Ok(())
    }

    /// Fills in stored DEFAULT expressions for an INSERT: for columns it leaves
    /// out and for `DEFAULT` in VALUES. Returns the rewritten statement, if any.
    async fn insert_defaults(&self, insert: &ast::Insert) -> Result<Option<DFStatement>> {
        let ast::TableObject::TableName(name) = &insert.table else {
            return Ok(None);
        };
        let (schema, table) = self.resolve(name)?;
        let Some(stored) = self.engine.storage().table(&schema, &table).await? else {
            return Ok(None);
        };
        let columns = stored.schema().await?;
        let default_of = |column: &str| -> Result<Expr> {
            let field = columns.field_with_name(column).map_err(|_| {
                Error::UndefinedColumn(format!(
                    "column \"{column}\" of relation \"{table}\" does not exist"
                ))
            })?;
            match types::default_sql(field) {
                Some(sql) => parse_expr(sql),
                None => Ok(Expr::value(Value::Null)),
            }
        };
        let is_default_keyword = |e: &Expr| {
            matches!(e, Expr::Identifier(id)
                if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default"))
        };
        let has_defaults = columns
            .fields()
            .iter()
            .any(|f| types::default_sql(f).is_some());
        let mut insert = insert.clone();
        let Some(source) = insert.source.as_mut() else {
            return Ok(None);
        };
        let uses_keyword = matches!(source.body.as_ref(), SetExpr::Values(v)
            if v.rows.iter().any(|r| r.content.iter().any(is_default_keyword)));
        if !has_defaults && !uses_keyword {
            return Ok(None);
        }
        let listed: Vec<String> = if insert.columns.is_empty() {
            let width = match source.body.as_ref() {
                SetExpr::Values(v) => v.rows.first().map(|r| r.content.len()).unwrap_or(0),
                _ => columns.fields().len(),
            };
            columns
                .fields()
                .iter()
                .take(width)
                .map(|f| f.name().clone())
                .collect()
        } else {
            insert.columns.iter().map(object_name).collect()
        };
        let missing: Vec<String> = columns
            .fields()
            .iter()
            .filter(|f| !listed.contains(f.name()) && types::default_sql(f).is_some())
            .map(|f| f.name().clone())
            .collect();
        match source.body.as_mut() {
            SetExpr::Values(values) => {
                for row in &mut values.rows {
                    for (i, value) in row.content.iter_mut().enumerate() {
                        if is_default_keyword(value) {
                            let column = listed.get(i).ok_or_else(|| {
                                Error::syntax("INSERT has more expressions than target columns")
                            })?;
                            *value = default_of(column)?;
                        }
                    }
                    for column in &missing {
                        row.content.push(default_of(column)?);
                    }
                }
            }
            _ if missing.is_empty() => {}
            _ => {
                let defaults = missing
                    .iter()
                    .map(|c| default_of(c).map(|e| e.to_string()))
                    .collect::<Result<Vec<_>>>()?;
                let wrapped = format!(
                    "SELECT __source.*, {} FROM ({source}) AS __source",
                    defaults.join(", ")
                );
                let Some(DFStatement::Statement(stmt)) =
                    crate::statement::parse(&wrapped)?.into_iter().next()
                else {
                    return Err(Error::Internal(
                        "rewritten INSERT source did not parse".into(),
                    ));
                };
                let Statement::Query(query) = *stmt else {
                    return Err(Error::Internal(
                        "rewritten INSERT source is not a query".into(),
                    ));
                };
                *source = query;
            }
        }
        let mut all = listed;
        all.extend(missing);
        insert.columns = all
            .iter()
            .map(|c| ObjectName::from(vec![ast::Ident::with_quote('"', c)]))
            .collect();
        Ok(Some(DFStatement::Statement(Box::new(Statement::Insert(
            insert,
        )))))
    }

    /// ALTER TABLE … RENAME TO, ADD COLUMN (nullable, without DEFAULT).
    async fn alter_table(&mut self, alter: &ast::AlterTable) -> Result<Output> {
        let (schema, name) = self.resolve(&alter.name)?;
        if self
            .engine
            .storage()
            .read_catalog(|c| c.relation_exists(&schema, &name))
        {
            self.require_owner("table", &schema, &name)?;
        }
        let storage = self.engine.storage().clone();
        let Some(table) = storage.table(&schema, &name).await? else {
            if alter.if_exists {
                self.notices.push(Notice {
                    severity: "NOTICE",
                    code: "00000",
                    message: format!("relation \"{name}\" does not exist, skipping"),
                });
                return Ok(Output::Command(CommandTag::new("ALTER TABLE")));
            }
            return Err(Error::UndefinedTable(name));
        };
        for operation in &alter.operations {
            match operation {
                ast::AlterTableOperation::RenameTable { table_name } => {
                    let (ast::RenameTableNameKind::To(to) | ast::RenameTableNameKind::As(to)) =
                        table_name;
                    let (_, new_name) = self.resolve(to)?;
                    storage.rename_table(&schema, &name, &new_name).await?;
                }
                ast::AlterTableOperation::AddColumn {
                    if_not_exists,
                    column_def,
                    ..
                } => {
                    let column = if column_def.name.quote_style.is_some() {
                        column_def.name.value.clone()
                    } else {
                        column_def.name.value.to_lowercase()
                    };
                    if table.schema().await?.field_with_name(&column).is_ok() {
                        if *if_not_exists {
                            continue;
                        }
                        return Err(Error::DuplicateColumn(format!(
                            "column \"{column}\" of relation \"{name}\" already exists"
                        )));
                    }
                    for option in &column_def.options {
                        match &option.option {
                            ast::ColumnOption::Null => {}
                            ast::ColumnOption::Default(Expr::Value(v))
                                if matches!(v.value, Value::Null) => {}
                            other => {
                                return Err(Error::unsupported(format!(
                                    "ADD COLUMN with {other} is not supported yet"
                                )));
                            }
                        }
                    }
                    let ty = types::column_type(&column_def.data_type)?;
                    table.add_column(ty.field(&column, true)).await?;
                }
                ast::AlterTableOperation::RenameColumn {
                    old_column_name,
                    new_column_name,
                } => {
                    let ident = |i: &ast::Ident| match i.quote_style {
                        Some(_) => i.value.clone(),
                        None => i.value.to_lowercase(),
                    };
                    let (from, to) = (ident(old_column_name), ident(new_column_name));
                    let columns = table.schema().await?;
                    if columns.field_with_name(&from).is_err() {
                        return Err(Error::UndefinedColumn(format!(
                            "column \"{from}\" does not exist"
                        )));
                    }
                    if columns.field_with_name(&to).is_ok() {
                        return Err(Error::DuplicateColumn(format!(
                            "column \"{to}\" of relation \"{name}\" already exists"
                        )));
                    }
                    let session: Arc<dyn datafusion::catalog::Session> = Arc::new(self.ctx.state());
                    table.rename_column(&from, &to, session).await?;
                }
                other => {
                    return Err(Error::unsupported(format!(
                        "ALTER TABLE {other} is not supported yet"
                    )));
                }
            }
        }
        Ok(Output::Command(CommandTag::new("ALTER TABLE")))
    }

    /// CREATE [OR REPLACE] VIEW: checked by planning it, stored as SQL text.
    async fn create_view(&mut self, view: &ast::CreateView) -> Result<Output> {
        if view.materialized || view.temporary {
            return Err(Error::unsupported(
                "materialized and temporary views are not supported",
            ));
        }
        let (schema, name) = self.resolve(&view.name)?;
        self.require_schema(&schema, Privilege::Create)?;
        if view.or_replace && self.engine.storage().view(&schema, &name).is_some() {
            self.require_owner("view", &schema, &name)?;
        }
        let mut sql = view.query.to_string();
        if !view.columns.is_empty() {
            let columns: Vec<String> = view.columns.iter().map(|c| c.name.to_string()).collect();
            sql = format!("SELECT * FROM ({sql}) AS __view({})", columns.join(", "));
        }
        let check = crate::statement::parse(&sql)?;
        let Some(query) = check.first() else {
            return Err(Error::syntax("CREATE VIEW needs a query"));
        };
        let plan = self.plan(query).await?;
        // Replacing a view with a query that reads it, through any number of
        // views, would make it read itself.
        if crate::privileges::reads_view(&plan, &schema, &name) {
            return Err(Error::Coded {
                code: "42P17",
                message: format!("infinite recursion detected in rules for relation \"{name}\""),
            });
        }
        let storage = self.engine.storage().clone();
        if view.if_not_exists && storage.catalog().relation_exists(&schema, &name) {
            self.already_exists(&name);
            return Ok(Output::Command(CommandTag::new("CREATE VIEW")));
        }
        let entry = enishi_storage::ViewEntry {
            sql,
            search_path: Some(self.settings().lookup_path()),
        };
        storage
            .create_view(&schema, &name, entry, view.or_replace)
            .await?;
        self.record_owner(enishi_storage::table_key(&schema, &name))
            .await?;
        Ok(Output::Command(CommandTag::new("CREATE VIEW")))
    }

    async fn drop_views(&mut self, names: &[ObjectName], if_exists: bool) -> Result<Output> {
        let storage = self.engine.storage().clone();
        for name in names {
            let (schema, view) = self.resolve(name)?;
            if storage.view(&schema, &view).is_some() {
                self.require_owner("view", &schema, &view)?;
            }
            if !storage.drop_view(&schema, &view, if_exists).await? {
                self.skipped("view", &schema, &view);
            }
        }
        Ok(Output::Command(CommandTag::new("DROP VIEW")))
    }

    /// The notice of a DROP … IF EXISTS of nothing: about the schema when it
    /// is the schema that is missing, as PostgreSQL words it.
    fn skipped(&mut self, kind: &str, schema: &str, name: &str) {
        let message = if self
            .engine
            .storage()
            .read_catalog(|c| c.schema(schema).is_none())
        {
            format!("schema \"{schema}\" does not exist, skipping")
        } else {
            format!("{kind} \"{name}\" does not exist, skipping")
        };
        self.notices.push(Notice {
            severity: "NOTICE",
            code: "00000",
            message,
        });
    }

    fn already_exists(&mut self, name: &str) {
        self.notices.push(Notice {
            severity: "NOTICE",
            code: "42P07",
            message: format!("relation \"{name}\" already exists, skipping"),
        });
    }

    async fn drop_tables(&mut self, names: &[ObjectName], if_exists: bool) -> Result<Output> {
        let storage = self.engine.storage().clone();
        let resolved = names
            .iter()
            .map(|n| self.resolve(n))
            .collect::<Result<Vec<_>>>()?;
        // PostgreSQL checks every name before dropping any.
        for (schema, name) in &resolved {
            let exists = storage.catalog().table(schema, name).is_some()
                || storage.external(schema, name).is_some();
            if !if_exists && !exists {
                return Err(Error::UndefinedTable(name.clone()));
            }
            if exists {
                self.require_owner("table", schema, name)?;
            }
        }
        for (schema, name) in &resolved {
            // An external table is forgotten; its files stay where they are.
            if storage.external(schema, name).is_some() {
                storage.drop_external(schema, name).await?;
                continue;
            }
            if !storage.drop_table(schema, name, if_exists).await? {
                self.skipped("table", schema, name);
            }
        }
        Ok(Output::Command(CommandTag::new("DROP TABLE")))
    }

    async fn create_schema(
        &mut self,
        name: &ast::SchemaName,
        if_not_exists: bool,
    ) -> Result<Output> {
        let ast::SchemaName::Simple(name) = name else {
            return Err(Error::unsupported(
                "CREATE SCHEMA AUTHORIZATION is not supported",
            ));
        };
        let name = object_name(name);
        if !self.principal.is_superuser() {
            self.require_superuser(&format!("create schema \"{name}\""))
                .map_err(|_| {
                    Error::InsufficientPrivilege(format!(
                        "permission denied for database {}",
                        self.database
                    ))
                })?;
        }
        if !self
            .engine
            .storage()
            .create_schema(&name, if_not_exists)
            .await?
        {
            self.notices.push(Notice {
                severity: "NOTICE",
                code: "42P06",
                message: format!("schema \"{name}\" already exists, skipping"),
            });
        }
        Ok(Output::Command(CommandTag::new("CREATE SCHEMA")))
    }

    async fn drop_schemas(
        &mut self,
        names: &[ObjectName],
        if_exists: bool,
        cascade: bool,
    ) -> Result<Output> {
        for name in names {
            let name = object_name(name);
            if name == "pg_catalog" || name == "information_schema" {
                return Err(Error::unsupported(format!(
                    "cannot drop schema {name} because it is required by the database system"
                )));
            }
            if self.engine.storage().catalog().schema(&name).is_some() {
                self.require_owner("schema", &name, &name)?;
            }
            if !self
                .engine
                .storage()
                .drop_schema(&name, if_exists, cascade)
                .await?
            {
                self.notices.push(Notice {
                    severity: "NOTICE",
                    code: "00000",
                    message: format!("schema \"{name}\" does not exist, skipping"),
                });
            }
        }
        Ok(Output::Command(CommandTag::new("DROP SCHEMA")))
    }

    // ---- settings ----

    fn set_setting(&mut self, name: &str, value: &str) -> Result<()> {
        let reported = self
            .settings
            .write()
            .expect("settings lock")
            .set(name, value)?;
        self.after_setting_change(reported);
        Ok(())
    }

    fn after_setting_change(&mut self, reported: Option<Reported>) {
        if let Some(r) = reported {
            self.reported.push(r);
        }
    }

    fn set(&mut self, set: &Set) -> Result<Output> {
        match set {
            Set::SingleAssignment {
                variable, values, ..
            } => {
                let name = object_name(variable);
                if values.len() == 1 && is_default(&values[0]) {
                    let reported = self.settings.write().expect("settings lock").reset(&name)?;
                    self.after_setting_change(reported);
                } else {
                    let value = values
                        .iter()
                        .map(expr_text)
                        .collect::<Result<Vec<_>>>()?
                        .join(", ");
                    self.set_setting(&name, &value)?;
                }
            }
            Set::SetTimeZone { value, .. } => {
                let value = expr_text(value)?;
                if value.eq_ignore_ascii_case("local") || value.eq_ignore_ascii_case("default") {
                    let reported = self
                        .settings
                        .write()
                        .expect("settings lock")
                        .reset("TimeZone")?;
                    self.after_setting_change(reported);
                } else {
                    self.set_setting("TimeZone", &value)?;
                }
            }
            Set::SetNames { charset_name, .. } => {
                self.set_setting("client_encoding", &charset_name.value)?;
            }
            Set::SetNamesDefault {} => {
                let reported = self
                    .settings
                    .write()
                    .expect("settings lock")
                    .reset("client_encoding")?;
                self.after_setting_change(reported);
            }
            Set::SetTransaction { modes, session, .. } => {
                let prefix = if *session { "default_" } else { "" };
                for mode in modes {
                    let (name, value) = transaction_mode(mode);
                    self.set_setting(&format!("{prefix}{name}"), value)?;
                }
            }
            Set::SetSessionAuthorization(_) | Set::SetRole { .. } => {
                return Err(Error::unsupported(
                    "SET ROLE / SESSION AUTHORIZATION is not supported",
                ));
            }
            other => {
                return Err(Error::unsupported(format!("{other} is not supported")));
            }
        }
        Ok(Output::Command(CommandTag::new("SET")))
    }

    fn show_schema(&self, name: &str) -> SchemaRef {
        let column = if name.eq_ignore_ascii_case("all") {
            return Arc::new(Schema::new(vec![
                Field::new("name", DataType::Utf8, false),
                Field::new("setting", DataType::Utf8, false),
            ]));
        } else {
            Settings::canonical_name(name)
        };
        Arc::new(Schema::new(vec![Field::new(column, DataType::Utf8, false)]))
    }

    fn show(&mut self, variable: &[ast::Ident]) -> Result<Output> {
        let name = show_name(variable);
        let schema = self.show_schema(&name);
        let columns: Vec<ArrayRef> = if name.eq_ignore_ascii_case("all") {
            let all = self.settings().all();
            vec![
                Arc::new(StringArray::from_iter_values(
                    all.iter().map(|(n, _)| n.as_str()),
                )),
                Arc::new(StringArray::from_iter_values(
                    all.iter().map(|(_, v)| v.as_str()),
                )),
            ]
        } else {
            let value = self.settings().get(&name)?;
            vec![Arc::new(StringArray::from(vec![value]))]
        };
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        Ok(Output::Rows(rows_from_batches(
            schema,
            vec![batch],
            "SHOW",
        )?))
    }

    fn reset(&mut self, reset: &Reset) -> Result<Output> {
        match reset {
            Reset::ALL => {
                let reported = self.settings.write().expect("settings lock").reset_all();
                self.reported.extend(reported);
            }
            Reset::ConfigurationParameter(name) => {
                let reported = self
                    .settings
                    .write()
                    .expect("settings lock")
                    .reset(&object_name(name))?;
                self.after_setting_change(reported);
            }
        }
        Ok(Output::Command(CommandTag::new("RESET")))
    }

    // ---- transactions ----

    fn begin(&mut self, modes: &[TransactionMode]) -> Result<Output> {
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
        self.transaction_slot().begin();
        Ok(Output::Command(CommandTag::new("BEGIN")))
    }

    /// Where this session's uncommitted writes are kept (see storage's transaction).
    fn transaction_slot(&self) -> Arc<TransactionSlot> {
        self.ctx
            .state()
            .config()
            .get_extension::<TransactionSlot>()
            .expect("every session context has a transaction slot")
    }

    /// Ends the block; its uncommitted writes are dropped unless committed first.
    fn end_transaction(&mut self, keep_settings: bool) {
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
        self.cursors.retain(|_, c| c.get_mut().hold);
        self.tx = TxState::Idle;
    }

    fn restore_settings(&mut self, old: Settings) {
        let current = self.settings();
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

    async fn commit(&mut self) -> Result<Output> {
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
                self.end_transaction(applied.is_ok());
                applied?;
                Ok(Output::Command(CommandTag::new("COMMIT")))
            }
            TxState::Failed => {
                self.end_transaction(false);
                Ok(Output::Command(CommandTag::new("ROLLBACK")))
            }
        }
    }

    fn rollback(&mut self) -> Output {
        if self.tx == TxState::Idle {
            self.notices.push(Notice {
                severity: "WARNING",
                code: "25P01",
                message: "there is no transaction in progress".into(),
            });
        } else {
            self.end_transaction(false);
        }
        Output::Command(CommandTag::new("ROLLBACK"))
    }

    fn require_block(&self, what: &str) -> Result<()> {
        if self.tx == TxState::Idle {
            return Err(Error::NoActiveTransaction(format!(
                "{what} can only be used in transaction blocks"
            )));
        }
        Ok(())
    }

    async fn savepoint(&mut self, name: &ast::Ident) -> Result<Output> {
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

    fn find_savepoint(&self, name: &ast::Ident) -> Result<usize> {
        let key = name.value.to_lowercase();
        self.savepoints
            .iter()
            .rposition(|(n, _, _)| *n == key)
            .ok_or_else(|| Error::UndefinedSavepoint(format!("savepoint \"{key}\" does not exist")))
    }

    fn release(&mut self, name: &ast::Ident) -> Result<Output> {
        self.require_block("RELEASE SAVEPOINT")?;
        let at = self.find_savepoint(name)?;
        self.savepoints.truncate(at);
        Ok(Output::Command(CommandTag::new("RELEASE")))
    }

    /// ROLLBACK TO SAVEPOINT: the rows written since the savepoint are gone,
    /// settings are as they were, a failed block may go on; the savepoint stays.
    async fn rollback_to(&mut self, name: &ast::Ident) -> Result<Output> {
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

    fn discard(&mut self, object: &DiscardObject) -> Result<Output> {
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

    // ---- SQL-level prepared statements ----

    fn sql_prepared(&self, name: &ObjectName) -> Result<&SqlPrepared> {
        let key = object_name(name);
        self.prepared
            .get(&key)
            .ok_or(Error::UndefinedPreparedStatement(key))
    }

    fn prepare_sql(
        &mut self,
        name: &ast::Ident,
        data_types: &[ast::DataType],
        statement: &Statement,
    ) -> Result<Output> {
        let key = name.value.to_lowercase();
        if self.prepared.contains_key(&key) {
            return Err(Error::DuplicatePreparedStatement(key));
        }
        let param_types = data_types
            .iter()
            .map(|t| types::column_type(t).map(|c| c.arrow))
            .collect::<Result<Vec<_>>>()?;
        let statement = DFStatement::Statement(Box::new(statement.clone()));
        self.prepared.insert(
            key,
            SqlPrepared {
                statement,
                param_types,
            },
        );
        Ok(Output::Command(CommandTag::new("PREPARE")))
    }

    async fn execute_sql(&mut self, name: &ObjectName, args: &[Expr]) -> Result<Output> {
        let prepared = self.sql_prepared(name)?.clone();
        let mut values = Vec::with_capacity(args.len());
        for (i, arg) in args.iter().enumerate() {
            let mut value = self.evaluate(arg).await?;
            if let Some(ty) = prepared.param_types.get(i) {
                value = crate::types::parameter_value(value, ty)?;
            }
            values.push(value);
        }
        let params = (!values.is_empty()).then(|| ParamValues::from(values));
        Box::pin(self.dispatch(&prepared.statement, params)).await
    }

    /// Evaluates a constant expression (an EXECUTE argument).
    async fn evaluate(&self, expr: &Expr) -> Result<ScalarValue> {
        // As in PostgreSQL, parameters are plain values.
        refuse_subqueries(expr, "EXECUTE parameter")?;
        let sql = format!("SELECT {expr}");
        let batches = self.ctx.sql(&sql).await?.collect().await?;
        let batch = batches
            .first()
            .ok_or_else(|| Error::Internal("no value".into()))?;
        Ok(ScalarValue::try_from_array(batch.column(0), 0)?)
    }

    fn deallocate(&mut self, name: &ast::Ident) -> Result<Output> {
        let key = name.value.to_lowercase();
        if key == "all" && name.quote_style.is_none() {
            self.prepared.clear();
            self.effects.push(ProtocolEffect::DeallocateAll);
            return Ok(Output::Command(CommandTag::new("DEALLOCATE ALL")));
        }
        if self.prepared.remove(&key).is_none() {
            return Err(Error::UndefinedPreparedStatement(key));
        }
        self.effects
            .push(ProtocolEffect::Deallocate(name.value.clone()));
        Ok(Output::Command(CommandTag::new("DEALLOCATE")))
    }

    // ---- cursors ----

    /// The columns of the open cursor `name`, if there is one.
    pub async fn cursor_schema(&self, name: &str) -> Option<SchemaRef> {
        let cursor = self.cursors.get(&name.to_lowercase())?;
        Some(cursor.lock().await.schema.clone())
    }

    async fn declare(
        &mut self,
        stmts: &[ast::Declare],
        params: Option<ParamValues>,
    ) -> Result<Output> {
        for declare in stmts {
            let hold = declare.hold.unwrap_or(false);
            if !hold {
                self.require_block("DECLARE CURSOR")?;
            }
            let query = declare.for_query.as_ref().ok_or_else(|| {
                Error::syntax("DECLARE needs a query (DECLARE name CURSOR FOR …)")
            })?;
            for name in &declare.names {
                let key = name.value.to_lowercase();
                if self.cursors.contains_key(&key) {
                    return Err(Error::DuplicateCursor(key));
                }
                let stmt = DFStatement::Statement(Box::new(Statement::Query(query.clone())));
                let plan = self.plan_with(&stmt, params.clone()).await?;
                let schema = self.result_schema(&plan).await;
                let stream = self
                    .ctx
                    .execute_logical_plan(plan)
                    .await?
                    .execute_stream()
                    .await?;
                let cursor = Cursor {
                    schema,
                    stream,
                    pending: None,
                    hold,
                };
                self.cursors.insert(key, tokio::sync::Mutex::new(cursor));
            }
        }
        Ok(Output::Command(CommandTag::new("DECLARE CURSOR")))
    }

    async fn fetch(&mut self, name: &ast::Ident, direction: &FetchDirection) -> Result<Output> {
        let key = name.value.to_lowercase();
        let limit = match direction {
            FetchDirection::Next | FetchDirection::Forward { limit: None } => Some(1),
            FetchDirection::Count { limit } | FetchDirection::Forward { limit: Some(limit) } => {
                Some(count_of(&limit.value)?)
            }
            FetchDirection::All | FetchDirection::ForwardAll => None,
            other => {
                return Err(Error::unsupported(format!(
                    "FETCH {other}: cursors can only move forward"
                )));
            }
        };
        let cursor = self
            .cursors
            .get_mut(&key)
            .ok_or(Error::UndefinedCursor(key))?
            .get_mut();
        let mut batches = Vec::new();
        let mut wanted = limit.unwrap_or(usize::MAX);
        while wanted > 0 {
            let batch = match cursor.pending.take() {
                Some(b) => b,
                None => match cursor.stream.next().await {
                    Some(b) => b?,
                    None => break,
                },
            };
            if batch.num_rows() > wanted {
                cursor.pending = Some(batch.slice(wanted, batch.num_rows() - wanted));
                batches.push(batch.slice(0, wanted));
                wanted = 0;
            } else {
                wanted -= batch.num_rows();
                batches.push(batch);
            }
        }
        let schema = cursor.schema.clone();
        Ok(Output::Rows(rows_from_batches(schema, batches, "FETCH")?))
    }

    fn close(&mut self, cursor: &CloseCursor) -> Result<Output> {
        match cursor {
            CloseCursor::All => self.cursors.clear(),
            CloseCursor::Specific { name } => {
                let key = name.value.to_lowercase();
                if self.cursors.remove(&key).is_none() {
                    return Err(Error::UndefinedCursor(key));
                }
            }
        }
        Ok(Output::Command(CommandTag::new("CLOSE CURSOR")))
    }
}

fn rows_from_batches(
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    tag: &'static str,
) -> Result<Rows> {
    let stream = MemoryStream::try_new(batches, schema.clone(), None)?;
    Ok(Rows {
        schema,
        stream: Box::pin(stream),
        tag,
    })
}

/// Casts bound values to the types the plan expects for them, so that (say) an int2
/// parameter for an integer column is stored as an integer.
fn cast_params(plan: &LogicalPlan, params: ParamValues) -> Result<ParamValues> {
    let ParamValues::List(values) = params else {
        return Ok(params);
    };
    let expected = plan.get_parameter_types()?;
    let mut out = Vec::with_capacity(values.len());
    for (i, value) in values.into_iter().enumerate() {
        let want = expected.get(&format!("${}", i + 1)).cloned().flatten();
        let value = match want {
            Some(ty) if value.value.data_type() != ty && !value.value.is_null() => {
                value.value.cast_to(&ty)?.into()
            }
            Some(ty) if value.value.is_null() => ScalarValue::try_from(&ty)?.into(),
            _ => value,
        };
        out.push(value);
    }
    Ok(ParamValues::List(out))
}

/// Parameter types in `$n` order: the client's hint where given, else DataFusion's
/// inference (with the column's declared pg type in its metadata), else text.
fn parameter_types(plan: &LogicalPlan, hints: &[Option<DataType>]) -> Result<Vec<Field>> {
    let inferred = plan.get_parameter_fields()?;
    let count = inferred
        .keys()
        .filter_map(|k| k.trim_start_matches('$').parse::<usize>().ok())
        .max()
        .unwrap_or(0)
        .max(hints.len());
    Ok((1..=count)
        .map(|i| {
            if let Some(Some(hint)) = hints.get(i - 1) {
                return Field::new(format!("${i}"), hint.clone(), true);
            }
            match inferred.get(&format!("${i}")).cloned().flatten() {
                Some(field) => field.as_ref().clone(),
                None => Field::new(format!("${i}"), DataType::Utf8, true),
            }
        })
        .collect())
}

fn ends_transaction(stmt: &DFStatement) -> bool {
    matches!(
        stmt,
        DFStatement::Statement(s) if matches!(s.as_ref(), Statement::Commit { .. } | Statement::Rollback { .. })
    )
}

/// Parses one SQL expression (a stored DEFAULT).
/// `cannot use subquery in <what>` (0A000) when `expr` holds a subquery.
fn refuse_subqueries(expr: &Expr, what: &str) -> Result<()> {
    let found = ast::visit_expressions(expr, |e| match e {
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
            std::ops::ControlFlow::Break(())
        }
        _ => std::ops::ControlFlow::Continue(()),
    });
    match found {
        std::ops::ControlFlow::Break(()) => {
            Err(Error::unsupported(format!("cannot use subquery in {what}")))
        }
        std::ops::ControlFlow::Continue(()) => Ok(()),
    }
}

fn parse_expr(sql: &str) -> Result<Expr> {
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| Error::from_parser(&e, sql))
}

fn object_name(name: &ObjectName) -> String {
    name.0
        .iter()
        .map(|p| match p.as_ident() {
            Some(id) if id.quote_style.is_some() => id.value.clone(),
            Some(id) => id.value.to_lowercase(),
            None => p.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn show_name(variable: &[ast::Ident]) -> String {
    let words: Vec<String> = variable.iter().map(|i| i.value.to_lowercase()).collect();
    match words.join(" ").as_str() {
        "time zone" => "TimeZone".to_string(),
        "transaction isolation level" => "transaction_isolation".to_string(),
        _ => words.join("."),
    }
}

fn is_default(expr: &Expr) -> bool {
    matches!(expr, Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default"))
}

/// The text of a SET value: a string, number, identifier or `on`/`off`.
fn expr_text(expr: &Expr) -> Result<String> {
    Ok(match expr {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
            Value::Number(n, _) => n.clone(),
            Value::Boolean(b) => if *b { "on" } else { "off" }.to_string(),
            other => other.to_string(),
        },
        Expr::Identifier(id) => id.value.clone(),
        Expr::CompoundIdentifier(ids) => ids
            .iter()
            .map(|i| i.value.clone())
            .collect::<Vec<_>>()
            .join("."),
        Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr,
        } => format!("-{}", expr_text(expr)?),
        Expr::Interval(_) => {
            return Err(Error::unsupported("INTERVAL time zones are not supported"));
        }
        other => other.to_string(),
    })
}

fn transaction_mode(mode: &TransactionMode) -> (&'static str, &'static str) {
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

fn count_of(value: &Value) -> Result<usize> {
    match value {
        Value::Number(n, _) => n
            .parse()
            .map_err(|_| Error::syntax(format!("invalid count {n}"))),
        other => Err(Error::syntax(format!("invalid count {other}"))),
    }
}

/// `current_setting(name [, missing_ok])`, reading this session's settings.
fn current_setting_udf(settings: Arc<RwLock<Settings>>) -> ScalarUDF {
    create_udf(
        "current_setting",
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(move |args: &[ColumnarValue]| {
            let names = args[0].to_array(1)?;
            let names = names
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| {
                    datafusion::error::DataFusionError::Plan("current_setting(text)".into())
                })?;
            let settings = settings.read().expect("settings lock");
            let mut out = Vec::with_capacity(names.len());
            for name in names.iter() {
                out.push(match name {
                    Some(n) => Some(
                        settings
                            .get(n)
                            .map_err(datafusion::error::DataFusionError::from)?,
                    ),
                    None => None,
                });
            }
            Ok(crate::catalog::strings(out))
        }),
    )
}

/// `set_config(name, value, is_local)`: sets a setting and returns the new value.
fn set_config_udf(settings: Arc<RwLock<Settings>>) -> ScalarUDF {
    create_udf(
        "set_config",
        vec![DataType::Utf8, DataType::Utf8, DataType::Boolean],
        DataType::Utf8,
        Volatility::Volatile,
        Arc::new(move |args: &[ColumnarValue]| {
            let names = args[0].to_array(1)?;
            let values = args[1].to_array(names.len())?;
            let as_str = |a: &ArrayRef| a.as_any().downcast_ref::<StringArray>().cloned();
            let (Some(names), Some(values)) = (as_str(&names), as_str(&values)) else {
                return Err(datafusion::error::DataFusionError::Plan(
                    "set_config(text, text, boolean)".into(),
                ));
            };
            let mut settings = settings.write().expect("settings lock");
            let mut out = Vec::with_capacity(names.len());
            for (name, value) in names.iter().zip(values.iter()) {
                out.push(match (name, value) {
                    (Some(n), Some(v)) => {
                        settings
                            .set(n, v)
                            .map_err(datafusion::error::DataFusionError::from)?;
                        Some(
                            settings
                                .get(n)
                                .map_err(datafusion::error::DataFusionError::from)?,
                        )
                    }
                    _ => None,
                });
            }
            Ok(crate::catalog::strings(out))
        }),
    )
}

/// The target field of the cast that output column `index` of `plan` comes
/// from, if it comes from one (its metadata may name a PostgreSQL type),
/// followed through the nodes that pass a column on unchanged: in
/// `SELECT x::text … ORDER BY id` the cast sits below a sort.
fn output_cast(plan: &LogicalPlan, index: usize) -> Option<datafusion::arrow::datatypes::FieldRef> {
    use datafusion::logical_expr::Expr as E;
    match plan {
        LogicalPlan::Projection(p) => {
            let mut expr = p.expr.get(index)?;
            while let E::Alias(alias) = expr {
                expr = &alias.expr;
            }
            match expr {
                E::Cast(c) => Some(c.field.clone()),
                E::TryCast(c) => Some(c.field.clone()),
                E::Column(column) => {
                    let index = p.input.schema().index_of_column(column).ok()?;
                    output_cast(&p.input, index)
                }
                _ => None,
            }
        }
        LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::Filter(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Distinct(datafusion::logical_expr::Distinct::All(_)) => {
            output_cast(plan.inputs().first()?, index)
        }
        _ => None,
    }
}

fn returning_unsupported() -> Error {
    Error::unsupported("RETURNING is supported for INSERT only, not yet for UPDATE or DELETE")
}

/// Starts `plan` in `ctx`; its rows, described to the client by `schema`.
async fn rows_of(
    ctx: &SessionContext,
    plan: LogicalPlan,
    schema: SchemaRef,
    tag: &'static str,
) -> Result<Output> {
    let stream = ctx
        .execute_logical_plan(plan)
        .await?
        .execute_stream()
        .await?;
    Ok(Output::Rows(Rows {
        schema,
        stream,
        tag,
    }))
}
