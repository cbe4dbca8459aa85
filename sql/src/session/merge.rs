//! MERGE: like UPDATE … RETURNING (see `returning`), the statement runs on
//! the transaction's copy of its target, each row of it numbered.
//!
//! 1. The source is joined to the numbered rows by the statement's ON
//!    condition (a left join: a source row without a target row is "not
//!    matched").
//! 2. Each joined row takes the first WHEN clause that applies to it — the
//!    clauses for matched rows, or those for unmatched ones, in the order
//!    written, each with its AND condition — as one CASE over the join.
//! 3. Each clause's action is a query over the rows that took it: UPDATE's
//!    new values of every column, DELETE's row numbers, INSERT's new rows.
//!    Every condition and value is evaluated once per row, in the session's
//!    catalog (subqueries and functions as anywhere), with the statement's
//!    parameters.
//! 4. A target row changed by two source rows is refused (21000), as in
//!    PostgreSQL; else the copy is replaced by the rows left alone plus the
//!    updated and inserted rows, checked like any written row (NOT NULL,
//!    types, keys).
//!
//! The transaction commits the copy as one overwrite of the table, refused
//! (40001) if another writer committed to it meanwhile; outside a block the
//! statement is its own transaction, run again on such a conflict.

use datafusion::logical_expr::{Expr as PlanExpr, ExprSchemable};
use enishi_storage::TableHandle;

use super::dml::{ROWS_SCHEMA, column_default};
use super::returning::{ROW_NUMBER, numbered, untouched};
use super::*;
use crate::statement::{DEFAULT_VALUES, DO_NOTHING};

/// The numbered copy of the target, in [`ROWS_SCHEMA`].
const TARGET_ROWS: &str = "__enishi_merge_target";

/// What a WHEN clause does to the rows that take it.
enum Action {
    /// The new value of every column of the target (SQL text).
    Update(Vec<String>),
    Delete,
    /// The value of every column of the new row (SQL text).
    Insert(Vec<String>),
    Nothing,
}

impl Session {
    /// `MERGE INTO target USING source ON … WHEN …`.
    pub(super) async fn merge(
        &mut self,
        merge: &ast::Merge,
        params: Option<ParamValues>,
    ) -> Result<Output> {
        let (name, target, actions) = self.merge_parts(merge).await?;
        let mut attempt = 0;
        let count = loop {
            let own = self.begin_own_transaction();
            // Held until the transaction has committed.
            let (done, _turn) = match self.lock_target(own, &name).await {
                Ok(turn) => (
                    self.merge_once(merge, &name, &target, &actions, params.as_ref())
                        .await,
                    turn,
                ),
                Err(e) => (Err(e), None),
            };
            if let Some(done) = self.end_own_transaction(own, done, &mut attempt).await? {
                break done;
            }
        };
        Ok(Output::Command(CommandTag::new("MERGE").with_rows(count)))
    }

    /// The statement checked as PostgreSQL's analysis checks it: the target
    /// (its privileges for each kind of clause), and each clause's action.
    async fn merge_parts(
        &self,
        merge: &ast::Merge,
    ) -> Result<(ObjectName, ast::Ident, Vec<Action>)> {
        let ast::TableFactor::Table { name, alias, .. } = &merge.table else {
            return Err(Error::unsupported("MERGE into this relation"));
        };
        if merge.output.is_some() {
            return Err(Error::syntax("MERGE … OUTPUT is not PostgreSQL's"));
        }
        if merge
            .clauses
            .iter()
            .any(|c| matches!(c.clause_kind, ast::MergeClauseKind::NotMatchedBySource))
        {
            return Err(Error::syntax(
                "WHEN NOT MATCHED BY SOURCE is not supported by PostgreSQL 15",
            ));
        }
        let dml = self.merge_target(name).await?;
        self.require_target(&dml, Privilege::Select)?;
        for clause in &merge.clauses {
            let privilege = match &clause.action {
                ast::MergeAction::Insert(_) => Privilege::Insert,
                ast::MergeAction::Update(_) => Privilege::Update,
                ast::MergeAction::Delete { .. } => Privilege::Delete,
            };
            self.require_target(&dml, privilege)?;
        }
        let target = alias
            .as_ref()
            .map(|a| a.name.clone())
            .unwrap_or_else(|| ast::Ident::with_quote('"', dml.table_name.table()));
        let schema = dml.target.schema();
        let actions = merge
            .clauses
            .iter()
            .map(|clause| action(clause, &schema, &target, dml.table_name.table()))
            .collect::<Result<Vec<_>>>()?;
        Ok((name.clone(), target, actions))
    }

    /// The parameters of a MERGE: each clause planned over no rows.
    pub(super) async fn describe_merge(
        &self,
        merge: &ast::Merge,
        hints: &[Option<DataType>],
    ) -> Result<(Vec<Field>, Option<SchemaRef>)> {
        let (name, target, actions) = self.merge_parts(merge).await?;
        let dml = self.merge_target(&name).await?;
        let rows = numbered(dml.target.schema().as_ref(), &[])?;
        let rows = Arc::new(MemTable::try_new(rows[0].schema(), vec![rows])?);
        let ctx = self.context_over(vec![(TARGET_ROWS.to_string(), rows)])?;
        let mut found: HashMap<String, Option<datafusion::arrow::datatypes::FieldRef>> =
            HashMap::new();
        for (_, sql) in clause_queries(merge, &target, &actions)? {
            // With the types parameters take from their use (`$1::int`).
            let plan = query::finished(self.clause_plan(&ctx, &sql).await?)?;
            for (key, field) in plan.get_parameter_fields()? {
                let known = found.entry(key).or_default();
                if known.is_none() {
                    *known = field;
                }
            }
        }
        let count = found
            .keys()
            .filter_map(|k| k.trim_start_matches('$').parse::<usize>().ok())
            .max()
            .unwrap_or(0)
            .max(hints.len());
        let types = (1..=count)
            .map(|i| match (hints.get(i - 1), found.get(&format!("${i}"))) {
                (Some(Some(hint)), _) => Field::new(format!("${i}"), hint.clone(), true),
                (_, Some(Some(field))) => field.as_ref().clone(),
                _ => Field::new(format!("${i}"), DataType::Utf8, true),
            })
            .collect();
        Ok((types, None))
    }

    /// A clause's query planned, its reads privilege-checked.
    async fn clause_plan(&self, ctx: &SessionContext, sql: &str) -> Result<LogicalPlan> {
        let stmt = crate::statement::parse(sql)?
            .pop()
            .ok_or_else(|| Error::Internal("empty MERGE clause".into()))?;
        let plan = ctx.state().statement_to_plan(stmt).await?;
        // What the statement reads besides the target needs SELECT on it.
        crate::privileges::admissible(&plan)?;
        self.authorize(&plan)?;
        Ok(plan)
    }

    /// The target as DML sees it (its provider and name): the plan of a
    /// DELETE that deletes nothing.
    async fn merge_target(&self, name: &ObjectName) -> Result<DmlStatement> {
        let probe = crate::statement::parse(&format!("DELETE FROM {name} WHERE false"))?
            .pop()
            .ok_or_else(|| Error::Internal("MERGE target lost".into()))?;
        // Not `plan`, which would ask for DELETE on it: the clauses' own
        // privileges are checked instead.
        match self.ctx.state().statement_to_plan(probe).await? {
            LogicalPlan::Dml(dml) => Ok(dml),
            _ => Err(Error::Internal("MERGE target planned as a query".into())),
        }
    }

    /// One run of the MERGE in the current transaction; how many rows it
    /// inserted, updated and deleted.
    async fn merge_once(
        &self,
        merge: &ast::Merge,
        name: &ObjectName,
        target: &ast::Ident,
        actions: &[Action],
        params: Option<&ParamValues>,
    ) -> Result<usize> {
        // Planned again on each attempt: the table as it is now.
        let dml = &self.merge_target(name).await?;
        let provider = datafusion::datasource::source_as_provider(&dml.target)?;
        let Some(table) = <dyn datafusion::datasource::TableProvider>::downcast_ref::<TableHandle>(
            provider.as_ref(),
        ) else {
            return Err(Error::FeatureNotSupported(format!(
                "cannot merge into relation \"{}\"",
                dml.table_name.table()
            )));
        };
        let schema = provider.schema();
        let state = self.ctx.state();
        let copy = table.transaction_rows(&state).await?;
        let total: usize = copy.iter().map(RecordBatch::num_rows).sum();
        let rows = numbered(&schema, &copy)?;
        let rows = Arc::new(MemTable::try_new(rows[0].schema(), vec![rows])?);
        let ctx = self.context_over(vec![(TARGET_ROWS.to_string(), rows)])?;
        let mut touched = vec![false; total];
        let mut added = Vec::new();
        let mut count = 0;
        for (at, sql) in clause_queries(merge, target, actions)? {
            let action = &actions[at];
            let outputs = match action {
                Action::Update(values) | Action::Insert(values) => values.len(),
                _ => 0,
            };
            let mut plan = self.clause_plan(&ctx, &sql).await?;
            if let Some(params) = params {
                plan = plan.with_param_values(params.clone())?;
            }
            let frame = ctx.execute_logical_plan(plan).await?;
            // Each value as its column's type (a bad value is an error).
            let mut exprs = Vec::new();
            if !matches!(action, Action::Insert(_)) {
                exprs.push(datafusion::prelude::col("__row"));
            }
            for (i, field) in schema.fields().iter().enumerate().take(outputs) {
                exprs.push(
                    PlanExpr::Column(datafusion::common::Column::from_name(format!("__c{i}")))
                        .cast_to(field.data_type(), frame.schema())?
                        .alias(field.name()),
                );
            }
            let batches = frame.select(exprs)?.collect().await?;
            for batch in batches {
                count += batch.num_rows();
                let values = match action {
                    Action::Insert(_) => batch.columns(),
                    _ => {
                        let ids = batch
                            .column(0)
                            .as_any()
                            .downcast_ref::<UInt64Array>()
                            .ok_or_else(|| Error::Internal("row numbers lost".into()))?;
                        for id in ids.iter().flatten() {
                            if std::mem::replace(&mut touched[id as usize], true) {
                                return Err(twice());
                            }
                        }
                        &batch.columns()[1..]
                    }
                };
                if !values.is_empty() {
                    for (field, column) in schema.fields().iter().zip(values) {
                        if !field.is_nullable() && column.null_count() > 0 {
                            return Err(Error::NotNullViolation(format!(
                                "null value in column \"{}\" violates not-null constraint",
                                field.name()
                            )));
                        }
                    }
                    added.push(RecordBatch::try_new(schema.clone(), values.to_vec())?);
                }
            }
        }
        if count > 0 {
            let kept = untouched(copy, &touched)?;
            table.replace_transaction_rows(&state, kept, added).await?;
        }
        Ok(count)
    }
}

/// Each clause's query (by the clause's position) over the source and the
/// numbered target rows (in [`ROWS_SCHEMA`]): the row number of each target
/// row an UPDATE or DELETE takes, then every column's new value for UPDATE
/// and INSERT. DO NOTHING has none.
fn clause_queries(
    merge: &ast::Merge,
    target: &ast::Ident,
    actions: &[Action],
) -> Result<Vec<(usize, String)>> {
    let source = source_name(&merge.source)?;
    let joined = format!(
        "{} LEFT JOIN {ROWS_SCHEMA}.{TARGET_ROWS} AS {target} ON {}",
        merge.source, merge.on
    );
    // The source rows no target row matches, alone: what NOT MATCHED
    // clauses see (an unqualified name there is the source's).
    let unmatched = format!(
        "(SELECT {source}.* FROM {joined} WHERE {target}.{ROW_NUMBER} IS NULL) AS {source}"
    );
    let mut queries = Vec::new();
    for (at, action) in actions.iter().enumerate() {
        let outputs = match action {
            Action::Nothing => continue,
            Action::Delete => &[][..],
            Action::Update(values) | Action::Insert(values) => values.as_slice(),
        };
        let mut list: Vec<String> = outputs
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{v} AS __c{i}"))
            .collect();
        let inserting = matches!(action, Action::Insert(_));
        if !inserting {
            list.insert(0, format!("{target}.{ROW_NUMBER} AS __row"));
        }
        let sql = format!(
            "SELECT {} FROM {} WHERE {} = {at}",
            list.join(", "),
            if inserting { &unmatched } else { &joined },
            chooser(merge, target, !inserting),
        );
        queries.push((at, sql));
    }
    Ok(queries)
}

/// A CASE naming the clause (by its position) each row takes, or -1 for
/// none: among the MATCHED clauses for the joined rows (a matched row has a
/// row number), or among the NOT MATCHED ones for the unmatched source rows.
fn chooser(merge: &ast::Merge, target: &ast::Ident, matched: bool) -> String {
    let mut cases = String::from("CASE");
    for (at, clause) in merge.clauses.iter().enumerate() {
        if matches!(clause.clause_kind, ast::MergeClauseKind::Matched) != matched {
            continue;
        }
        let condition = clause
            .predicate
            .as_ref()
            .map_or_else(|| "true".to_string(), |p| format!("({p})"));
        match matched {
            true => cases.push_str(&format!(
                " WHEN {target}.{ROW_NUMBER} IS NOT NULL AND {condition} THEN {at}"
            )),
            false => cases.push_str(&format!(" WHEN {condition} THEN {at}")),
        }
    }
    cases.push_str(" ELSE -1 END");
    cases
}

/// The name the source's columns go by: its alias, or a table's name.
fn source_name(source: &ast::TableFactor) -> Result<ast::Ident> {
    match source {
        ast::TableFactor::Table {
            alias: Some(alias), ..
        }
        | ast::TableFactor::Derived {
            alias: Some(alias), ..
        } => Ok(alias.name.clone()),
        ast::TableFactor::Table { name, .. } => name
            .0
            .last()
            .and_then(|part| part.as_ident())
            .cloned()
            .ok_or_else(|| Error::syntax("MERGE … USING names a relation")),
        _ => Err(Error::syntax(
            "a subquery in MERGE … USING must have an alias",
        )),
    }
}

/// A WHEN clause's action, in SQL text over the joined rows.
fn action(
    clause: &ast::MergeClause,
    schema: &SchemaRef,
    target: &ast::Ident,
    table: &str,
) -> Result<Action> {
    let undefined = |name: &str| {
        Error::UndefinedColumn(format!(
            "column \"{name}\" of relation \"{table}\" does not exist"
        ))
    };
    let marker = |names: &[String], name: &str| names.len() == 1 && names[0] == name;
    match &clause.action {
        ast::MergeAction::Delete { .. } => Ok(Action::Delete),
        ast::MergeAction::Update(update) => {
            if update.update_predicate.is_some() || update.delete_predicate.is_some() {
                return Err(Error::syntax("MERGE … UPDATE … WHERE is not PostgreSQL's"));
            }
            let mut values: Vec<Option<String>> = vec![None; schema.fields().len()];
            for assignment in &update.assignments {
                let ast::AssignmentTarget::ColumnName(name) = &assignment.target else {
                    return Err(Error::unsupported("MERGE … UPDATE SET (a, b) = …"));
                };
                let name = object_name(name);
                if name == DO_NOTHING {
                    return Ok(Action::Nothing);
                }
                let at = schema.index_of(&name).map_err(|_| undefined(&name))?;
                if values[at].is_some() {
                    return Err(Error::Coded {
                        code: "42601",
                        message: format!("multiple assignments to same column \"{name}\""),
                    });
                }
                values[at] = Some(match is_default(&assignment.value) {
                    true => column_default(schema.field(at))?.to_string(),
                    false => assignment.value.to_string(),
                });
            }
            Ok(Action::Update(
                values
                    .into_iter()
                    .zip(schema.fields())
                    .map(|(v, f)| {
                        v.unwrap_or_else(|| {
                            format!("{target}.{}", ast::Ident::with_quote('"', f.name()))
                        })
                    })
                    .collect(),
            ))
        }
        ast::MergeAction::Insert(insert) => {
            let names: Vec<String> = insert.columns.iter().map(object_name).collect();
            if marker(&names, DO_NOTHING) {
                return Ok(Action::Nothing);
            }
            let mut values: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| column_default(f).map(|d| d.to_string()))
                .collect::<Result<_>>()?;
            if marker(&names, DEFAULT_VALUES) {
                return Ok(Action::Insert(values));
            }
            let ast::MergeInsertKind::Values(rows) = &insert.kind else {
                return Err(Error::syntax("MERGE … INSERT ROW is not PostgreSQL's"));
            };
            let [row] = rows.rows.as_slice() else {
                return Err(Error::syntax("MERGE … INSERT takes one row of VALUES"));
            };
            let row = &row.content;
            // Without a column list, the values fill the first columns.
            let names = match names.is_empty() {
                true => schema
                    .fields()
                    .iter()
                    .take(row.len().max(1))
                    .map(|f| f.name().clone())
                    .collect(),
                false => names,
            };
            if row.len() > names.len() {
                return Err(Error::syntax(
                    "INSERT has more expressions than target columns",
                ));
            }
            if row.len() < names.len() {
                return Err(Error::syntax(
                    "INSERT has more target columns than expressions",
                ));
            }
            for (name, value) in names.iter().zip(row) {
                let at = schema.index_of(name).map_err(|_| undefined(name))?;
                if !is_default(value) {
                    values[at] = value.to_string();
                }
            }
            Ok(Action::Insert(values))
        }
    }
}

fn twice() -> Error {
    Error::Explained {
        code: "21000",
        message: "MERGE command cannot affect row a second time".into(),
        detail: String::new(),
        hint: Some("Ensure that not more than one source row matches any one target row.".into()),
    }
}
