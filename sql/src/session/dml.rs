//! INSERT's column defaults, and INSERT … RETURNING.

use super::*;

impl Session {
    /// The INSERT without its RETURNING list, planned; and the list.
    pub(super) async fn plan_insert_returning(
        &self,
        insert: &ast::Insert,
    ) -> Result<(DmlStatement, Vec<ast::SelectItem>)> {
        let mut plain = insert.clone();
        let items = plain.returning.take().unwrap_or_default();
        // The target's alias is for RETURNING (see `returning_plan`), ON
        // CONFLICT for the session (see `upsert`).
        plain.table_alias = None;
        plain.on = None;
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
    pub(super) async fn insert_returning(
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
        let rows = conformed(dml.input.schema().inner(), rows)?;
        dml = writing(&dml, dml.input.schema().inner().clone(), rows.clone())?;
        self.count(LogicalPlan::Dml(dml.clone())).await?;
        let alias = insert.table_alias.as_ref().map(|a| &a.alias);
        let (ctx, plan) = self.returning_plan(&dml, &items, alias, rows).await?;
        let schema = self.result_schema(&plan).await;
        rows_of(&ctx, plan, schema, "INSERT 0").await
    }

    /// `SELECT <items> FROM <table>` where the table holds only `rows` (the
    /// inserted ones), planned in a context of its own.
    pub(super) async fn returning_plan(
        &self,
        dml: &DmlStatement,
        items: &[ast::SelectItem],
        alias: Option<&ast::Ident>,
        rows: Vec<RecordBatch>,
    ) -> Result<(SessionContext, LogicalPlan)> {
        // The rows as the table's columns (their declared types, which
        // RETURNING describes), not as the statement computed them.
        let target = datafusion::datasource::source_as_provider(&dml.target)?.schema();
        let schema = match target.fields().len() == dml.input.schema().fields().len() {
            true => target,
            false => dml.input.schema().inner().clone(),
        };
        let rows = conformed(&schema, rows)?;
        let rows = MemTable::try_new(schema, vec![rows])?;
        let table = dml.table_name.table();
        let ctx = self.context_over(vec![(table.to_string(), Arc::new(rows))])?;
        let list: Vec<String> = items.iter().map(ToString::to_string).collect();
        let sql = format!(
            "SELECT {} FROM {ROWS_SCHEMA}.{} AS {}",
            list.join(", "),
            ast::Ident::with_quote('"', table),
            alias
                .cloned()
                .unwrap_or_else(|| ast::Ident::with_quote('"', table))
        );
        let stmt = crate::statement::parse(&sql)?
            .pop()
            .ok_or_else(|| Error::syntax("empty RETURNING list"))?;
        let plan = ctx.state().statement_to_plan(stmt).await?;
        // What the list reads besides the rows needs SELECT on it.
        crate::privileges::admissible(&plan)?;
        self.authorize(&plan)?;
        Ok((ctx, plan))
    }

    /// A context of this session (its settings, functions and relations)
    /// in which `tables` are also relations, in schema [`ROWS_SCHEMA`].
    pub(super) fn context_over(
        &self,
        tables: Vec<(String, Arc<MemTable>)>,
    ) -> Result<SessionContext> {
        let rows = MemorySchemaProvider::new();
        for (name, table) in tables {
            rows.register_table(name, table)?;
        }
        let state = self.ctx.state();
        let catalogs = Arc::new(RowsOverlay {
            inner: state.catalog_list().clone(),
            rows: Arc::new(rows),
        });
        let state = SessionStateBuilder::new_from_existing(state)
            .with_catalog_list(catalogs)
            .build();
        Ok(SessionContext::new_with_state(state))
    }

    /// A NOT NULL violation's message as PostgreSQL words it, naming the
    /// column and the relation the statement writes: the engine's checks
    /// name the column (or its position) alone.
    pub(super) async fn not_null_named(&self, stmt: &DFStatement, message: String) -> String {
        if message.contains(" of relation ") {
            return message;
        }
        let DFStatement::Statement(s) = stmt else {
            return message;
        };
        let target = match s.as_ref() {
            Statement::Insert(ast::Insert {
                table: ast::TableObject::TableName(name),
                ..
            }) => name,
            Statement::Update(ast::Update { table, .. }) => match &table.relation {
                ast::TableFactor::Table { name, .. } => name,
                _ => return message,
            },
            Statement::Merge(ast::Merge {
                table: ast::TableFactor::Table { name, .. },
                ..
            }) => name,
            Statement::AlterTable(alter) => &alter.name,
            _ => return message,
        };
        let Ok((schema, name)) = self.resolve(target) else {
            return message;
        };
        let column = match message.split('"').nth(1) {
            Some(column) => column.to_string(),
            None => {
                // DataFusion names the column by its position: "at '1'".
                let at = message
                    .split("at '")
                    .nth(1)
                    .and_then(|rest| rest.split('\'').next())
                    .and_then(|n| n.parse::<usize>().ok());
                let fields = match self.engine.storage().table(&schema, &name).await {
                    Ok(Some(table)) => table.schema().await.ok(),
                    _ => None,
                };
                match (at, fields) {
                    (Some(at), Some(fields)) if at < fields.fields().len() => {
                        fields.field(at).name().clone()
                    }
                    _ => return message,
                }
            }
        };
        let verb = match s.as_ref() {
            Statement::AlterTable(_) => {
                return format!("column \"{column}\" of relation \"{name}\" contains null values");
            }
            _ => "violates not-null constraint",
        };
        format!("null value in column \"{column}\" of relation \"{name}\" {verb}")
    }

    /// A DEFAULT must plan (known functions, no columns) and cast to the column type.
    pub(super) async fn check_default(&self, expr: &Expr, column: &DataType) -> Result<()> {
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

    /// `UPDATE … SET column = DEFAULT`: the column's stored default (NULL
    /// where it has none). Returns the rewritten statement, if any.
    pub(super) async fn update_defaults(
        &self,
        update: &ast::Update,
    ) -> Result<Option<DFStatement>> {
        if !update.assignments.iter().any(|a| is_default(&a.value)) {
            return Ok(None);
        }
        let ast::TableFactor::Table { name, .. } = &update.table.relation else {
            return Ok(None);
        };
        let (schema, table) = self.resolve(name)?;
        let Some(handle) = self.engine.storage().table(&schema, &table).await? else {
            return Ok(None);
        };
        let columns = handle.schema().await?;
        let mut update = update.clone();
        for assignment in &mut update.assignments {
            let ast::AssignmentTarget::ColumnName(column) = &assignment.target else {
                continue;
            };
            if !is_default(&assignment.value) {
                continue;
            }
            let column = object_name(column);
            let field = columns.field_with_name(&column).map_err(|_| {
                Error::UndefinedColumn(format!(
                    "column \"{column}\" of relation \"{table}\" does not exist"
                ))
            })?;
            assignment.value = column_default(field)?;
        }
        Ok(Some(DFStatement::Statement(Box::new(Statement::Update(
            update,
        )))))
    }

    /// Fills in stored DEFAULT expressions for an INSERT: for columns it leaves
    /// out and for `DEFAULT` in VALUES. Returns the rewritten statement, if any.
    pub(super) async fn insert_defaults(
        &self,
        insert: &ast::Insert,
    ) -> Result<Option<DFStatement>> {
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
            column_default(field)
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
        // A GENERATED ALWAYS identity column takes no value but its own.
        for (i, column) in listed.iter().enumerate() {
            let Ok(field) = columns.field_with_name(column) else {
                continue;
            };
            if types::identity(field) != Some("a") {
                continue;
            }
            let given = match source.body.as_ref() {
                SetExpr::Values(v) => v
                    .rows
                    .iter()
                    .any(|r| r.content.get(i).is_some_and(|e| !is_default_keyword(e))),
                _ => true,
            };
            if given {
                return Err(Error::Explained {
                    code: "428C9",
                    message: format!("cannot insert a non-DEFAULT value into column \"{column}\""),
                    detail: format!(
                        "Column \"{column}\" is an identity column defined as GENERATED ALWAYS."
                    ),
                    hint: Some("Use OVERRIDING SYSTEM VALUE to override.".into()),
                });
            }
        }
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
}

/// A stored expression (a column's DEFAULT) as the statement it goes into
/// would read it: parsed with the same rewrites (`'s'::regclass`).
fn stored_expr(sql: &str) -> Result<Expr> {
    let parsed = crate::statement::parse(&format!("SELECT {sql}"))?;
    if let [DFStatement::Statement(stmt)] = parsed.as_slice()
        && let Statement::Query(query) = stmt.as_ref()
        && let SetExpr::Select(select) = query.body.as_ref()
        && let [ast::SelectItem::UnnamedExpr(expr) | ast::SelectItem::ExprWithAlias { expr, .. }] =
            select.projection.as_slice()
    {
        return Ok(expr.clone());
    }
    Err(Error::Internal(format!(
        "stored expression did not parse: {sql}"
    )))
}

/// Rows in `schema`: the rows a plan yields may differ from its schema in
/// nullability or field metadata (a parameter's cast), which a MemTable
/// refuses. A NULL where the schema allows none fails (23502).
pub(super) fn conformed(schema: &SchemaRef, batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>> {
    batches
        .into_iter()
        .map(|batch| {
            let columns = batch
                .columns()
                .iter()
                .zip(schema.fields())
                .map(|(c, f)| datafusion::arrow::compute::cast(c, f.data_type()))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(RecordBatch::try_new(schema.clone(), columns)?)
        })
        .collect()
}

/// The INSERT `dml` writing exactly `rows` (computed already) instead of
/// its own input.
pub(super) fn writing(
    dml: &DmlStatement,
    schema: SchemaRef,
    rows: Vec<RecordBatch>,
) -> Result<DmlStatement> {
    let stored = MemTable::try_new(schema, vec![rows])?;
    let mut dml = dml.clone();
    dml.input = Arc::new(
        LogicalPlanBuilder::scan(
            dml.table_name.clone(),
            provider_as_source(Arc::new(stored)),
            None,
        )?
        .build()?,
    );
    Ok(dml)
}

/// A column's DEFAULT, NULL when it has none.
pub(super) fn column_default(field: &Field) -> Result<Expr> {
    match types::default_sql(field) {
        Some(sql) => stored_expr(sql),
        None => Ok(Expr::value(Value::Null)),
    }
}

/// The schema where [`Session::context_over`] puts its rows (PostgreSQL
/// reserves `pg_` names: no user schema can have it).
pub(super) const ROWS_SCHEMA: &str = "pg_enishi_rows";

/// The session's relations, and the schema of rows a statement made.
#[derive(Debug)]
struct RowsOverlay {
    inner: Arc<dyn CatalogProviderList>,
    rows: Arc<dyn SchemaProvider>,
}

impl CatalogProviderList for RowsOverlay {
    fn register_catalog(
        &self,
        name: String,
        catalog: Arc<dyn CatalogProvider>,
    ) -> Option<Arc<dyn CatalogProvider>> {
        self.inner.register_catalog(name, catalog)
    }

    fn catalog_names(&self) -> Vec<String> {
        self.inner.catalog_names()
    }

    fn catalog(&self, name: &str) -> Option<Arc<dyn CatalogProvider>> {
        let inner = self.inner.catalog(name)?;
        if name != crate::constants::DATABASE {
            return Some(inner);
        }
        Some(Arc::new(RowsCatalog {
            inner,
            rows: self.rows.clone(),
        }))
    }
}

#[derive(Debug)]
struct RowsCatalog {
    inner: Arc<dyn CatalogProvider>,
    rows: Arc<dyn SchemaProvider>,
}

impl CatalogProvider for RowsCatalog {
    fn schema_names(&self) -> Vec<String> {
        let mut names = self.inner.schema_names();
        names.push(ROWS_SCHEMA.to_string());
        names
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        match name {
            ROWS_SCHEMA => Some(self.rows.clone()),
            _ => self.inner.schema(name),
        }
    }

    fn register_schema(
        &self,
        name: &str,
        schema: Arc<dyn SchemaProvider>,
    ) -> datafusion::error::Result<Option<Arc<dyn SchemaProvider>>> {
        self.inner.register_schema(name, schema)
    }
}

pub(super) fn is_default(expr: &Expr) -> bool {
    matches!(expr, Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default"))
}

impl Session {
    /// VACUUM and ANALYZE. A background pass compacts, checkpoints and vacuums
    /// each table (docs/storage.md) and statistics come from the Parquet files'
    /// own, so there is nothing to run: the named table is checked (it must
    /// exist and be readable) and, as in PostgreSQL, VACUUM refuses to run in
    /// a transaction block.
    pub(super) async fn maintain(
        &mut self,
        vacuum: bool,
        table: Option<&ObjectName>,
    ) -> Result<Output> {
        if vacuum && self.tx != TxState::Idle {
            return Err(Error::ActiveTransaction(
                "VACUUM cannot run inside a transaction block".into(),
            ));
        }
        if let Some(name) = table {
            let probe = crate::statement::parse(&format!("SELECT 1 FROM {name} LIMIT 0"))?;
            if let Some(stmt) = probe.first() {
                self.plan_with(stmt, None).await?;
            }
        }
        Ok(Output::Command(CommandTag::new(if vacuum {
            "VACUUM"
        } else {
            "ANALYZE"
        })))
    }

    /// `TRUNCATE a, b, …` (pgbench's first statement): DataFusion plans one
    /// table at a time. Every table is planned, so found and checked for
    /// privileges, before any is emptied.
    pub(super) async fn truncate_each(&mut self, truncate: &ast::Truncate) -> Result<Output> {
        let mut plans = Vec::with_capacity(truncate.table_names.len());
        for target in &truncate.table_names {
            let single = ast::Truncate {
                table_names: vec![target.clone()],
                ..truncate.clone()
            };
            let stmt = DFStatement::Statement(Box::new(Statement::Truncate(single)));
            plans.push(self.plan_with(&stmt, None).await?);
        }
        for plan in plans {
            self.run_logical(plan).await?;
        }
        Ok(Output::Command(CommandTag::new("TRUNCATE TABLE")))
    }
}

/// What an UPDATE or DELETE's optimized plan leaves for the table to act on.
///
/// DataFusion hands the table only the predicates it finds in `Filter` nodes
/// (and scan filters) over the target, dropping the rest: a `WHERE` the
/// optimizer turned into a join (`x IN (SELECT …)`, `EXISTS`), or proved
/// false and replaced with an empty relation (`WHERE 1 = 0`), would reach the
/// table as no predicate at all, and change every row. So the plan is
/// checked before it runs.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum DmlRows {
    /// Every condition is a filter on the target the table will apply.
    Filtered,
    /// The optimizer proved no row matches.
    None,
}

/// Checks an optimized UPDATE or DELETE plan ([`DmlRows`]); 0A000 when its
/// conditions are not all filters on the target table alone.
pub(super) fn dml_rows(dml: &DmlStatement) -> Result<DmlRows> {
    use datafusion::common::TableReference;
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    let unsupported = || {
        Error::FeatureNotSupported(format!(
            "{} whose WHERE needs another table or a subquery is not supported",
            if matches!(dml.op, datafusion::logical_expr::WriteOp::Update) {
                "UPDATE"
            } else {
                "DELETE"
            }
        ))
    };
    let target = &dml.table_name;
    let mut names: Vec<TableReference> = vec![target.clone()];
    let mut scans = 0;
    let mut empty = false;
    let mut refused = false;
    dml.input.apply(|node| {
        match node {
            LogicalPlan::SubqueryAlias(alias)
                if matches!(alias.input.as_ref(), LogicalPlan::TableScan(s) if s.table_name.resolved_eq(target)) =>
            {
                names.push(TableReference::bare(alias.alias.to_string()));
            }
            LogicalPlan::Projection(_) | LogicalPlan::SubqueryAlias(_) | LogicalPlan::Filter(_) => {}
            LogicalPlan::TableScan(scan) if scan.table_name.resolved_eq(target) => scans += 1,
            LogicalPlan::EmptyRelation(e) if !e.produce_one_row => empty = true,
            _ => refused = true,
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    if refused || scans > 1 {
        return Err(unsupported());
    }
    let mut foreign = false;
    dml.input.apply(|node| {
        if let LogicalPlan::Filter(filter) = node {
            filter.predicate.apply(|e| {
                use datafusion::logical_expr::Expr as Plan;
                match e {
                    Plan::Exists(_)
                    | Plan::InSubquery(_)
                    | Plan::ScalarSubquery(_)
                    | Plan::OuterReferenceColumn(..) => foreign = true,
                    Plan::Column(c)
                        if c.relation
                            .as_ref()
                            .is_some_and(|r| !names.iter().any(|n| r.resolved_eq(n))) =>
                    {
                        foreign = true
                    }
                    _ => {}
                }
                Ok(TreeNodeRecursion::Continue)
            })?;
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    if foreign {
        return Err(unsupported());
    }
    match (scans, empty) {
        (1, _) => Ok(DmlRows::Filtered),
        (0, true) => Ok(DmlRows::None),
        _ => Err(unsupported()),
    }
}
