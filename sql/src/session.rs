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
//!
//! This file holds the session's state and the dispatch of each statement to
//! the file of its kind:
//! - `query`: planning and running through DataFusion, the result cache, the
//!   result schema (column types and names clients are told);
//! - `dml`: INSERT's defaults and RETURNING;
//! - `returning`: UPDATE and DELETE … RETURNING, run on the transaction's
//!   copy of the table;
//! - `upsert`: INSERT … ON CONFLICT;
//! - `ddl`: CREATE/ALTER/DROP of tables, views and schemas, COMMENT ON;
//! - `copy`: COPY to and from files, STDOUT and STDIN;
//! - `external`: CREATE EXTERNAL TABLE and the locations a session may use;
//! - `variables`: SET, SHOW, RESET, current_setting() and set_config();
//! - `transactions`: BEGIN, COMMIT, ROLLBACK, savepoints, DISCARD;
//! - `prepared`: SQL-level PREPARE, EXECUTE, DEALLOCATE;
//! - `cursors`: DECLARE, FETCH, CLOSE;
//! - `access`: roles, GRANT/REVOKE and the privilege checks of a plan;
//! - `names`: search_path functions (current_schemas, regclass);
//! - `sequences`, `sequence_functions`: CREATE/DROP SEQUENCE, serial and
//!   identity columns, nextval and the other sequence functions.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{
    CatalogProvider, CatalogProviderList, MemorySchemaProvider, SchemaProvider,
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
mod alter;
mod alter_columns;
mod constraints;
mod copy;
mod cursors;
mod ddl;
mod dml;
mod external;
mod foreign_keys;
mod indexes;
mod limits;
mod merge;
mod names;
mod prepared;
mod privilege_functions;
mod query;
mod returning;
mod sequence_functions;
mod sequences;
mod transactions;
mod unique;
mod upsert;
mod variables;

pub use access::now;
use dml::is_default;
use prepared::refuse_subqueries;
use query::{cast_params, parameter_types, rows_from_batches, rows_of};
use transactions::transaction_mode;
use variables::{current_setting_udf, set_config_udf, show_name};

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
    hold: bool,
    /// Rows read from the stream and kept, for moving back (see
    /// `session/cursors.rs`).
    rows: cursors::Kept,
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
    /// Tables created in the open transaction block: the catalog changes at
    /// once, so ROLLBACK drops them.
    created_tables: Vec<(String, String)>,
    prepared: HashMap<String, SqlPrepared>,
    /// Behind a lock only so the session is `Sync` (streams are not).
    cursors: HashMap<String, tokio::sync::Mutex<Cursor>>,
    notices: Vec<Notice>,
    reported: Vec<Reported>,
    effects: Vec<ProtocolEffect>,
    /// This session's schema of temporary relations (`pg_temp_<n>`), made
    /// when it first creates one and dropped with the session.
    temp_schema: String,
    /// When the explicit transaction began (microseconds since 1970), 0
    /// outside one.
    transaction_start: u64,
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
        ctx.register_udtf(
            "pg_show_all_settings",
            Arc::new(variables::SettingsFunction(settings.clone())),
        );
        for udf in names::udfs(&ctx, database, settings.clone(), engine.clone()) {
            ctx.register_udf(udf);
        }
        for udf in sequence_functions::udfs(
            engine.storage().clone(),
            engine.pg_catalog().oids().clone(),
            settings.clone(),
        ) {
            ctx.register_udf(udf);
        }
        let temp_schema = engine.temp_schema_name();
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
            created_tables: Vec::new(),
            prepared: HashMap::new(),
            cursors: HashMap::new(),
            notices: Vec::new(),
            reported: Vec::new(),
            effects: Vec::new(),
            temp_schema,
            transaction_start: 0,
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

    /// Parses SQL text as this session reads it (`standard_conforming_strings`).
    pub fn parse(&self, sql: &str) -> Result<Vec<datafusion::sql::parser::Statement>> {
        let conforming = self
            .setting("standard_conforming_strings")
            .map_or(true, |v| v != "off");
        crate::statement::parse_with_strings(sql, conforming)
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
        self.share_text_settings();
        let result = match self.dispatch(stmt, params).await {
            Err(Error::NotNullViolation(message)) => Err(Error::NotNullViolation(
                self.not_null_named(stmt, message).await,
            )),
            result => result,
        };
        if result.is_err() {
            self.statement_failed();
        }
        result
    }

    /// Puts the settings that change how text reads as a value, and a value
    /// as text, where DataFusion's function calls see them, with the moment
    /// the transaction began.
    fn share_text_settings(&self) {
        let mut wanted =
            crate::text_output::TextOptions::of(&self.settings.read().expect("settings lock"));
        // Outside a transaction block each statement is its own transaction.
        wanted.transaction_start = match self.transaction_start {
            0 => chrono::Utc::now().timestamp_micros() as u64,
            start => start,
        };
        if let Some(options) = self
            .ctx
            .state_ref()
            .write()
            .config_mut()
            .options_mut()
            .extensions
            .get_mut::<crate::text_output::TextOptions>()
        {
            *options = wanted;
        }
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
        if let DFStatement::Statement(s) = stmt
            && let Statement::Update(update) = s.as_ref()
            && let Some(rewritten) = self.update_defaults(update).await?
        {
            return Box::pin(self.describe(&rewritten, param_hints)).await;
        }
        match stmt {
            DFStatement::Statement(s) => match s.as_ref() {
                Statement::ShowVariable { variable } => {
                    let name = show_name(variable);
                    return Ok((vec![], Some(self.show_schema(&name))));
                }
                Statement::Fetch { into, .. } if crate::statement::is_move(into.as_ref())? => {
                    return Ok((vec![], None));
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
                }) => return self.describe_returning(s, param_hints).await,
                Statement::Merge(merge) => return self.describe_merge(merge, param_hints).await,
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
        // DO UPDATE's parameters are the upsert's too.
        let mut more_parameters = HashMap::new();
        if let DFStatement::Statement(s) = stmt
            && let Statement::Insert(insert) = s.as_ref()
            && let Some(ast::OnInsert::OnConflict(on)) = &insert.on
        {
            more_parameters = self.check_on_conflict(insert, on).await?;
        }
        if let DFStatement::Statement(s) = stmt
            && let Statement::Insert(insert) = s.as_ref()
            && insert.returning.is_some()
        {
            let (dml, items) = self.plan_insert_returning(insert).await?;
            let types = parameter_types(&LogicalPlan::Dml(dml.clone()), param_hints)?;
            let types = query::with_parameters(types, &more_parameters);
            let alias = insert.table_alias.as_ref().map(|a| &a.alias);
            let (ctx, plan) = self.returning_plan(&dml, &items, alias, vec![]).await?;
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
                Statement::Insert(insert) => {
                    // ON CONFLICT and the target's alias are the session's
                    // (see `upsert`): the rows inserted are planned alone.
                    let mut plain = insert.clone();
                    plain.on = None;
                    plain.table_alias = None;
                    Some(match self.insert_defaults(&plain).await? {
                        Some(rewritten) => rewritten,
                        None => DFStatement::Statement(Box::new(Statement::Insert(plain))),
                    })
                }
                _ => None,
            },
            _ => None,
        };
        let plan = self.plan(rewritten.as_ref().unwrap_or(stmt)).await?;
        let types = parameter_types(&plan, param_hints)?;
        let types = query::with_parameters(types, &more_parameters);
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
        if let Statement::Update(update) = s
            && let Some(rewritten) = self.update_defaults(update).await?
        {
            return Box::pin(self.dispatch(&rewritten, params)).await;
        }
        match s {
            Statement::Set(set) => self.set(set),
            Statement::ShowVariable { variable } => self.show(variable),
            Statement::Reset(reset) => self.reset(&reset.reset),
            Statement::StartTransaction { modes, .. } => self.begin(modes),
            Statement::Commit { .. } => self.commit().await,
            Statement::Rollback {
                savepoint: None, ..
            } => Ok(self.rollback().await),
            Statement::Rollback {
                savepoint: Some(name),
                ..
            } => self.rollback_to(name).await,
            Statement::Savepoint { name } => self.savepoint(name).await,
            Statement::ReleaseSavepoint { name } => self.release(name),
            Statement::Discard { object_type } => self.discard(object_type),
            Statement::Vacuum(v) => self.maintain(true, v.table_name.as_ref()).await,
            Statement::Analyze(a) => self.maintain(false, a.table_name.as_ref()).await,
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
                name,
                direction,
                into,
                ..
            } => {
                let moving = crate::statement::is_move(into.as_ref())?;
                self.fetch(name, direction, moving).await
            }
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
            Statement::Truncate(truncate) if truncate.table_names.len() > 1 => {
                self.truncate_each(truncate).await
            }
            Statement::Insert(insert) if insert.on.is_some() => {
                self.insert_on_conflict(insert, params).await
            }
            Statement::Insert(insert) if insert.returning.is_some() => {
                self.insert_returning(insert, params).await
            }
            Statement::Insert(insert) if insert.table_alias.is_some() => {
                let mut plain = insert.clone();
                plain.table_alias = None;
                let plain = DFStatement::Statement(Box::new(Statement::Insert(plain)));
                Box::pin(self.dispatch(&plain, params)).await
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
            }) => self.change_returning(s, params).await,
            Statement::Merge(merge) => self.merge(merge, params).await,
            Statement::Lock(lock) => self.lock_tables(lock),
            Statement::Drop {
                object_type: ast::ObjectType::Table,
                if_exists,
                names,
                cascade,
                ..
            } => self.drop_tables(names, *if_exists, *cascade).await,
            Statement::CreateSequence {
                temporary,
                if_not_exists,
                name,
                data_type,
                sequence_options,
                owned_by,
            } => {
                self.create_sequence(
                    *temporary,
                    *if_not_exists,
                    name,
                    data_type.as_ref(),
                    sequence_options,
                    owned_by.as_ref(),
                )
                .await
            }
            Statement::CreateIndex(create) => self.create_index(create).await,
            Statement::Drop {
                object_type: ast::ObjectType::Index,
                if_exists,
                names,
                ..
            } => self.drop_indexes(names, *if_exists).await,
            Statement::Drop {
                object_type: ast::ObjectType::Sequence,
                if_exists,
                names,
                cascade,
                ..
            } => self.drop_sequences(names, *if_exists, *cascade).await,
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
}

fn ends_transaction(stmt: &DFStatement) -> bool {
    matches!(
        stmt,
        DFStatement::Statement(s) if matches!(s.as_ref(), Statement::Commit { .. } | Statement::Rollback { .. })
    )
}

fn object_name(name: &ObjectName) -> String {
    name_parts(name).join(".")
}

/// An identifier as PostgreSQL folds it: quoted as written, else in lower case.
fn ident_name(id: &ast::Ident) -> String {
    match id.quote_style {
        Some(_) => id.value.clone(),
        None => id.value.to_lowercase(),
    }
}

/// The parts of a name as PostgreSQL folds them: a quoted part as written
/// (dots included), the others in lower case.
fn name_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|p| match p.as_ident() {
            Some(id) if id.quote_style.is_some() => id.value.clone(),
            Some(id) => id.value.to_lowercase(),
            None => p.to_string(),
        })
        .collect()
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
        // `SET TIME ZONE INTERVAL '+05:30' HOUR TO MINUTE`: its hours.
        Expr::Interval(interval) => {
            let text = expr_text(&interval.value)?;
            let value = crate::interval::parse(&text, Default::default(), Default::default())?;
            if value.months != 0 || value.days != 0 {
                return Err(Error::InvalidParameterValue(format!(
                    "invalid interval value for time zone: {text}"
                )));
            }
            (value.micros as f64 / 3_600_000_000.0).to_string()
        }
        other => other.to_string(),
    })
}
