//! INSERT … ON CONFLICT: upserts.
//!
//! The rows to insert are computed once (defaults and sequences included),
//! then checked against the table as the session's transaction sees it, on
//! the arbiter keys: those named by `ON CONFLICT (columns)` or `ON
//! CONSTRAINT name`, or for a bare `DO NOTHING` every key of the table.
//! - Rows that conflict with nothing are appended, as by a plain INSERT; so
//!   are all rows when nothing conflicts.
//! - `DO NOTHING` drops the rest (and a row repeating the key of a row
//!   before it in the same statement).
//! - `DO UPDATE` evaluates its SET list (and WHERE) over each conflicting
//!   row and its `excluded` row, on the transaction's copy of the table
//!   (see `returning`), which then holds the updated rows in place of the old.
//!
//! Outside a transaction block the statement runs in a transaction of its
//! own; when its commit finds that another session committed the same key
//! or changed the table first, the statement runs again over the new
//! state, as PostgreSQL's waiting for the other writer would: concurrent
//! upserts of one key leave one row.

use datafusion::arrow::array::{BooleanArray, UInt32Array};
use datafusion::arrow::compute::{cast, concat_batches, filter_record_batch, take_record_batch};
use datafusion::arrow::row::{OwnedRow, RowConverter, SortField};
use datafusion::logical_expr::{Expr as PlanExpr, ExprSchemable};
use enishi_storage::{PrimaryKey, TableHandle};
use std::collections::{HashMap, HashSet};

use super::dml::{ROWS_SCHEMA, column_default, conformed, writing};
use super::*;

/// The column pairing each conflicting row with its `excluded` row.
const PAIR: &str = "__enishi_pair";
/// The name `excluded` is registered under while DO UPDATE's SET list runs.
const EXCLUDED: &str = "__enishi_excluded";

impl Session {
    pub(super) async fn insert_on_conflict(
        &mut self,
        insert: &ast::Insert,
        params: Option<ParamValues>,
    ) -> Result<Output> {
        let Some(ast::OnInsert::OnConflict(on)) = insert.on.clone() else {
            return Err(Error::syntax(
                "ON DUPLICATE KEY UPDATE is MySQL's, not PostgreSQL's",
            ));
        };
        let ast::TableObject::TableName(name) = &insert.table else {
            return Err(Error::unsupported(
                "INSERT … ON CONFLICT into a table function",
            ));
        };
        let mut plain = insert.clone();
        plain.on = None;
        plain.table_alias = None;
        let alias = insert.table_alias.as_ref().map(|a| a.alias.clone());
        let mut attempt = 0;
        let (rows, count, dml, items) = loop {
            let own = self.begin_own_transaction();
            // Held until the transaction has committed.
            let (done, _turn) = match self.lock_target(own, name).await {
                Ok(turn) => (
                    self.upsert_planned(&plain, &on, alias.as_ref(), params.as_ref())
                        .await,
                    turn,
                ),
                Err(e) => (Err(e), None),
            };
            if let Some(done) = self.end_own_transaction(own, done, &mut attempt).await? {
                break done;
            }
        };
        if items.is_empty() {
            let mut tag = CommandTag::new("INSERT").with_rows(count);
            tag.oid = Some(0);
            return Ok(Output::Command(tag));
        }
        let (ctx, plan) = self
            .returning_plan(&dml, &items, alias.as_ref(), rows)
            .await?;
        let schema = self.result_schema(&plan).await;
        let batches = ctx.execute_logical_plan(plan).await?.collect().await?;
        Ok(Output::Rows(rows_from_batches(
            schema, batches, "INSERT 0",
        )?))
    }

    /// Plans the INSERT (anew for each attempt: its table as it is now),
    /// checks it, and runs the upsert in the current transaction.
    async fn upsert_planned(
        &self,
        plain: &ast::Insert,
        on: &ast::OnConflict,
        alias: Option<&ast::Ident>,
        params: Option<&ParamValues>,
    ) -> Result<(Vec<RecordBatch>, usize, DmlStatement, Vec<ast::SelectItem>)> {
        let (dml, items) = self.plan_insert_returning(plain).await?;
        if matches!(on.action, ast::OnConflictAction::DoUpdate(_)) {
            self.require_target(&dml, Privilege::Update)?;
        }
        let arbiters = self.arbiters(&dml, on.conflict_target.as_ref(), &on.action)?;
        // The list is checked before anything changes.
        self.returning_plan(&dml, &items, alias, vec![]).await?;
        let upsert = Upsert {
            dml: &dml,
            arbiters: &arbiters,
            action: &on.action,
            alias,
            params,
        };
        let (rows, count) = self.upsert_once(&upsert).await?;
        Ok((rows, count, dml, items))
    }

    /// Checks an INSERT's ON CONFLICT clause without running it (for
    /// Describe): its arbiter and its SET list and WHERE. Returns the
    /// parameters those use.
    pub(super) async fn check_on_conflict(
        &self,
        insert: &ast::Insert,
        on: &ast::OnConflict,
    ) -> Result<HashMap<String, Option<datafusion::arrow::datatypes::FieldRef>>> {
        let (dml, _) = self.plan_insert_returning(insert).await?;
        // PostgreSQL names the constraint when it reads the statement, but
        // infers a key from columns only when it runs it.
        match self.arbiters(&dml, on.conflict_target.as_ref(), &on.action) {
            Err(Error::Coded { code: "42P10", .. }) | Ok(_) => {}
            Err(e) => return Err(e),
        }
        let ast::OnConflictAction::DoUpdate(update) = &on.action else {
            return Ok(HashMap::new());
        };
        let provider = datafusion::datasource::source_as_provider(&dml.target)?;
        let existing = RecordBatch::new_empty(provider.schema());
        let given = RecordBatch::new_empty(dml.input.schema().inner().clone());
        let alias = insert.table_alias.as_ref().map(|a| a.alias.clone());
        let upsert = Upsert {
            dml: &dml,
            arbiters: &[],
            action: &on.action,
            alias: alias.as_ref(),
            params: None,
        };
        let (_, plan) = self
            .do_update_plan(&upsert, update, &existing, &given, &[])
            .await?;
        Ok(plan.get_parameter_fields()?)
    }

    /// The keys an ON CONFLICT clause arbitrates on, as PostgreSQL infers
    /// them.
    fn arbiters(
        &self,
        dml: &DmlStatement,
        target: Option<&ast::ConflictTarget>,
        action: &ast::OnConflictAction,
    ) -> Result<Vec<PrimaryKey>> {
        let table = dml.table_name.table();
        // The table the statement resolved (search_path, temporary schema).
        let provider = datafusion::datasource::source_as_provider(&dml.target)?;
        let id = <dyn datafusion::datasource::TableProvider>::downcast_ref::<TableHandle>(
            provider.as_ref(),
        )
        .map(TableHandle::table_id);
        let keys = self.engine.storage().read_catalog(|c| {
            c.schemas
                .values()
                .flat_map(|s| s.tables.values())
                .find(|t| Some(t.id) == id)
                .map(|t| t.keys())
                .unwrap_or_default()
        });
        let no_match = || Error::Coded {
            code: "42P10",
            message:
                "there is no unique or exclusion constraint matching the ON CONFLICT specification"
                    .into(),
        };
        match target {
            None if matches!(action, ast::OnConflictAction::DoUpdate(_)) => Err(Error::Explained {
                code: "42601",
                message:
                    "ON CONFLICT DO UPDATE requires inference specification or constraint name"
                        .into(),
                detail: String::new(),
                hint: Some("For example, ON CONFLICT (column_name).".into()),
            }),
            None => Ok(keys),
            Some(ast::ConflictTarget::Columns(columns)) => {
                let wanted: HashSet<String> = columns.iter().map(ident_name).collect();
                keys.into_iter()
                    .find(|k| k.columns.iter().cloned().collect::<HashSet<_>>() == wanted)
                    .map(|k| vec![k])
                    .ok_or_else(no_match)
            }
            Some(ast::ConflictTarget::OnConstraint(name)) => {
                let name = object_name(name);
                keys.into_iter()
                    .find(|k| k.name == name)
                    .map(|k| vec![k])
                    .ok_or_else(|| Error::Coded {
                        code: "42704",
                        message: format!(
                            "constraint \"{name}\" for table \"{table}\" does not exist"
                        ),
                    })
            }
        }
    }

    /// One attempt at the upsert, in the current transaction: the rows
    /// inserted or updated (in the order of the rows given), and how many.
    async fn upsert_once(&self, upsert: &Upsert<'_>) -> Result<(Vec<RecordBatch>, usize)> {
        let dml = upsert.dml;
        let mut input = dml.input.as_ref().clone();
        if let Some(params) = upsert.params {
            let params = cast_params(&LogicalPlan::Dml(dml.clone()), params.clone())?;
            input = input.with_param_values(params)?;
        }
        let schema = dml.input.schema().inner().clone();
        let given = self
            .ctx
            .execute_logical_plan(input)
            .await?
            .collect()
            .await?;
        let given = concat_batches(&schema, &conformed(&schema, given)?)?;
        let provider = datafusion::datasource::source_as_provider(&dml.target)?;
        let table_schema = provider.schema();
        let updating = matches!(upsert.action, ast::OnConflictAction::DoUpdate(_));
        let mut existing = self.current_rows(dml).await?;
        let mut conflicts =
            KeyIndex::new(upsert.arbiters, &table_schema, &existing)?.conflicts(&given)?;
        let table = <dyn datafusion::datasource::TableProvider>::downcast_ref::<TableHandle>(
            provider.as_ref(),
        )
        .ok_or_else(|| Error::FeatureNotSupported("ON CONFLICT on this relation".into()))?;
        let state = self.ctx.state();
        if updating && conflicts.iter().any(|c| c.existing.is_some()) {
            // Rows are updated in the transaction's copy: positions are its.
            let copy = table.transaction_rows(&state).await?;
            existing = concat_batches(&table_schema, &copy)?;
            conflicts =
                KeyIndex::new(upsert.arbiters, &table_schema, &existing)?.conflicts(&given)?;
        }
        let mut insert = vec![true; given.num_rows()];
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        let mut updated_rows = HashSet::new();
        let mut seen: HashSet<(usize, OwnedRow)> = HashSet::new();
        for (row, conflict) in conflicts.into_iter().enumerate() {
            let repeated = conflict
                .keys
                .iter()
                .enumerate()
                .any(|(k, v)| v.as_ref().is_some_and(|v| seen.contains(&(k, v.clone()))));
            let twice = conflict.existing.is_some_and(|e| !updated_rows.insert(e));
            if updating && (repeated || twice) {
                return Err(Error::Explained {
                    code: "21000",
                    message: "ON CONFLICT DO UPDATE command cannot affect row a second time"
                        .into(),
                    detail: String::new(),
                    hint: Some(
                        "Ensure that no rows proposed for insertion within the same command have duplicate constrained values."
                            .into(),
                    ),
                });
            }
            if repeated || conflict.existing.is_some() {
                insert[row] = false;
            }
            if updating || insert[row] {
                seen.extend(
                    conflict
                        .keys
                        .into_iter()
                        .enumerate()
                        .filter_map(|(k, v)| v.map(|v| (k, v))),
                );
            }
            if let Some(existing) = conflict.existing {
                pairs.push((row, existing));
            }
        }
        let inserted = filter_record_batch(&given, &BooleanArray::from(insert.clone()))?;
        let count = inserted.num_rows();
        if !updating || pairs.is_empty() {
            self.append(dml, inserted.clone()).await?;
            return Ok((vec![inserted], count));
        }
        let ast::OnConflictAction::DoUpdate(update) = upsert.action else {
            unreachable!("only DO UPDATE pairs rows");
        };
        let (updated, sources, positions) = self
            .updated_rows(upsert, update, &existing, &given, &pairs)
            .await?;
        let kept: Vec<bool> = (0..existing.num_rows())
            .map(|i| !positions.contains(&i))
            .collect();
        let kept = filter_record_batch(&existing, &BooleanArray::from(kept))?;
        table
            .replace_transaction_rows(&state, vec![kept], vec![updated.clone(), inserted.clone()])
            .await?;
        // The rows in the order they were given.
        let all = concat_batches(&schema, [&inserted, &updated])?;
        let mut order: Vec<(usize, u32)> = insert
            .iter()
            .enumerate()
            .filter(|(_, i)| **i)
            .map(|(row, _)| row)
            .chain(sources)
            .enumerate()
            .map(|(at, row)| (row, at as u32))
            .collect();
        order.sort_unstable();
        let indices = UInt32Array::from_iter_values(order.into_iter().map(|(_, at)| at));
        let ordered = take_record_batch(&all, &indices)?;
        Ok((vec![ordered], count + updated.num_rows()))
    }

    /// The target's rows as this session sees them, in the order of its
    /// transaction's copy (when the transaction has one).
    async fn current_rows(&self, dml: &DmlStatement) -> Result<RecordBatch> {
        let plan =
            LogicalPlanBuilder::scan(dml.table_name.clone(), dml.target.clone(), None)?.build()?;
        let provider = datafusion::datasource::source_as_provider(&dml.target)?;
        let batches = self.ctx.execute_logical_plan(plan).await?.collect().await?;
        Ok(concat_batches(&provider.schema(), &batches)?)
    }

    /// Appends rows as INSERT does.
    async fn append(&self, dml: &DmlStatement, rows: RecordBatch) -> Result<()> {
        if rows.num_rows() == 0 {
            return Ok(());
        }
        let dml = writing(dml, rows.schema(), vec![rows])?;
        self.count(LogicalPlan::Dml(dml)).await?;
        Ok(())
    }

    /// DO UPDATE's new rows: its SET list evaluated over each pair of an
    /// existing row and its `excluded` row that passes its WHERE. Returns
    /// them (in the table's columns), the given row each came from, and the
    /// positions of the rows they replace.
    async fn updated_rows(
        &self,
        upsert: &Upsert<'_>,
        update: &ast::DoUpdate,
        existing: &RecordBatch,
        given: &RecordBatch,
        pairs: &[(usize, usize)],
    ) -> Result<(RecordBatch, Vec<usize>, HashSet<usize>)> {
        let (ctx, mut plan) = self
            .do_update_plan(upsert, update, existing, given, pairs)
            .await?;
        if let Some(params) = upsert.params {
            plan = plan.with_param_values(params.clone())?;
        }
        let columns = existing.schema();
        let frame = ctx.execute_logical_plan(plan).await?;
        let mut exprs = vec![datafusion::prelude::col(PAIR)];
        for (i, field) in columns.fields().iter().enumerate() {
            exprs.push(
                PlanExpr::Column(datafusion::common::Column::from_name(format!("__c{i}")))
                    .cast_to(field.data_type(), frame.schema())?
                    .alias(field.name()),
            );
        }
        let batches = frame.select(exprs)?.collect().await?;
        let mut sources = Vec::new();
        let mut positions = HashSet::new();
        let mut rows = Vec::with_capacity(batches.len());
        for batch in batches {
            let ids = batch
                .column(0)
                .as_any()
                .downcast_ref::<UInt64Array>()
                .ok_or_else(|| Error::Internal("pairs lost".into()))?;
            for id in ids.iter().flatten() {
                let (given_row, existing_row) = pairs[id as usize];
                sources.push(given_row);
                positions.insert(existing_row);
            }
            let columns = batch.columns()[1..]
                .iter()
                .zip(existing.schema().fields())
                .map(|(c, f)| cast(c, f.data_type()))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            rows.push(RecordBatch::try_new(given.schema(), columns)?);
        }
        let updated = concat_batches(&given.schema(), &rows)?;
        Ok((updated, sources, positions))
    }
}

impl Session {
    /// DO UPDATE as a query over pairs of rows (see [`Self::updated_rows`]):
    /// each pair's number, then every column's new value.
    async fn do_update_plan(
        &self,
        upsert: &Upsert<'_>,
        update: &ast::DoUpdate,
        existing: &RecordBatch,
        given: &RecordBatch,
        pairs: &[(usize, usize)],
    ) -> Result<(SessionContext, LogicalPlan)> {
        let dml = upsert.dml;
        let table = dml.table_name.table();
        let pair_ids = UInt64Array::from_iter_values(0..pairs.len() as u64);
        let take = |batch: &RecordBatch, at: Vec<u32>| -> Result<Arc<MemTable>> {
            let rows = take_record_batch(batch, &UInt32Array::from(at))?;
            let mut fields: Vec<Field> = rows
                .schema()
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect();
            fields.push(Field::new(PAIR, DataType::UInt64, false));
            let mut columns = rows.columns().to_vec();
            columns.push(Arc::new(pair_ids.clone()));
            let rows = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
            Ok(Arc::new(MemTable::try_new(
                rows.schema(),
                vec![vec![rows]],
            )?))
        };
        let targets = take(existing, pairs.iter().map(|&(_, e)| e as u32).collect())?;
        let excluded = take(given, pairs.iter().map(|&(g, _)| g as u32).collect())?;
        let ctx = self.context_over(vec![
            (table.to_string(), targets),
            (EXCLUDED.to_string(), excluded),
        ])?;
        let columns = existing.schema();
        let target = upsert
            .alias
            .cloned()
            .unwrap_or_else(|| ast::Ident::with_quote('"', table));
        let mut values: Vec<String> = columns
            .fields()
            .iter()
            .map(|f| format!("{target}.{}", ast::Ident::with_quote('"', f.name())))
            .collect();
        for assignment in &update.assignments {
            let ast::AssignmentTarget::ColumnName(name) = &assignment.target else {
                return Err(Error::unsupported("ON CONFLICT DO UPDATE SET (a, b) = …"));
            };
            let name = object_name(name);
            let at = columns.index_of(&name).map_err(|_| {
                Error::UndefinedColumn(format!(
                    "column \"{name}\" of relation \"{table}\" does not exist"
                ))
            })?;
            values[at] = match is_default(&assignment.value) {
                true => column_default(columns.field(at))?.to_string(),
                false => assignment.value.to_string(),
            };
        }
        let mut sql = format!(
            "SELECT {target}.{PAIR}, {} FROM {ROWS_SCHEMA}.{name} AS {target} JOIN {ROWS_SCHEMA}.{EXCLUDED} AS excluded ON {target}.{PAIR} = excluded.{PAIR}",
            values
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{v} AS __c{i}"))
                .collect::<Vec<_>>()
                .join(", "),
            name = ast::Ident::with_quote('"', table),
        );
        if let Some(condition) = &update.selection {
            sql.push_str(&format!(" WHERE {condition}"));
        }
        let stmt = crate::statement::parse(&sql)?
            .pop()
            .ok_or_else(|| Error::Internal("empty DO UPDATE".into()))?;
        let plan = ctx.state().statement_to_plan(stmt).await?;
        // What the SET list reads besides the rows needs SELECT on it.
        crate::privileges::admissible(&plan)?;
        self.authorize(&plan)?;
        Ok((ctx, plan))
    }
}

/// What an upsert works with.
struct Upsert<'a> {
    dml: &'a DmlStatement,
    arbiters: &'a [PrimaryKey],
    action: &'a ast::OnConflictAction,
    alias: Option<&'a ast::Ident>,
    params: Option<&'a ParamValues>,
}

/// The arbiter keys' values of a table's rows, for finding conflicts.
struct KeyIndex {
    keys: Vec<(Vec<usize>, RowConverter, HashMap<OwnedRow, usize>)>,
}

/// What one given row conflicts with: an existing row (its position), and
/// its value of each arbiter key (None when it has a NULL, which conflicts
/// with nothing).
struct Conflict {
    existing: Option<usize>,
    keys: Vec<Option<OwnedRow>>,
}

impl KeyIndex {
    fn new(keys: &[PrimaryKey], schema: &Schema, existing: &RecordBatch) -> Result<Self> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let indices = key
                .columns
                .iter()
                .map(|c| schema.index_of(c))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let fields = indices
                .iter()
                .map(|&i| SortField::new(schema.field(i).data_type().clone()))
                .collect();
            let converter = RowConverter::new(fields)?;
            let mut index = HashMap::with_capacity(existing.num_rows());
            let (rows, valid) = key_rows(&converter, &indices, schema, existing)?;
            for (at, row) in rows.iter().enumerate() {
                if valid[at] {
                    index.insert(row.owned(), at);
                }
            }
            out.push((indices, converter, index));
        }
        Ok(Self { keys: out })
    }

    /// For each given row, the existing row it conflicts with (on the first
    /// key it conflicts on) and its key values.
    fn conflicts(&self, given: &RecordBatch) -> Result<Vec<Conflict>> {
        let mut out: Vec<Conflict> = (0..given.num_rows())
            .map(|_| Conflict {
                existing: None,
                keys: Vec::with_capacity(self.keys.len()),
            })
            .collect();
        for (indices, converter, index) in &self.keys {
            let (rows, valid) = key_rows(converter, indices, &given.schema(), given)?;
            for (at, conflict) in out.iter_mut().enumerate() {
                if !valid[at] {
                    conflict.keys.push(None);
                    continue;
                }
                let row = rows.row(at).owned();
                if conflict.existing.is_none() {
                    conflict.existing = index.get(&row).copied();
                }
                conflict.keys.push(Some(row));
            }
        }
        Ok(out)
    }
}

/// The key columns of `batch` as comparable rows (cast to the table's
/// types), and whether each row's key has no NULL.
fn key_rows(
    converter: &RowConverter,
    indices: &[usize],
    schema: &Schema,
    batch: &RecordBatch,
) -> Result<(datafusion::arrow::row::Rows, Vec<bool>)> {
    let columns = indices
        .iter()
        .map(|&i| cast(batch.column(i), schema.field(i).data_type()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let valid = (0..batch.num_rows())
        .map(|row| columns.iter().all(|c| c.is_valid(row)))
        .collect();
    Ok((converter.convert_columns(&columns)?, valid))
}
