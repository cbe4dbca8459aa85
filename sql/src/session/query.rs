//! Planning and running statements through DataFusion: the checked plan,
//! the result cache, and the result schema clients are told.

use super::*;

impl Session {
    /// Plans a statement and checks the caller may read and write every
    /// relation it names.
    pub(super) async fn plan(&self, stmt: &DFStatement) -> Result<LogicalPlan> {
        let evaluated = self.limits_evaluated(stmt).await?;
        let stmt = evaluated.as_ref().unwrap_or(stmt);
        let state = self.ctx.state();
        let plan = state.statement_to_plan(stmt.clone()).await?;
        crate::privileges::admissible(&plan)?;
        self.authorize(&plan)?;
        finished(plan)
    }

    pub(super) async fn run_plan(
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

    pub(super) async fn plan_with(
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

    pub(super) async fn run_logical(&mut self, plan: LogicalPlan) -> Result<Output> {
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
                let rows = if matches!(dml.op, WriteOp::Update | WriteOp::Delete) {
                    self.filtered_write(plan).await?
                } else {
                    self.count(plan).await?
                };
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
    pub(super) async fn run_query(
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
        // A limit evaluated first leaves no trace of what it read or called
        // in the plan: such an answer is not kept.
        let tables = match super::limits::evaluates_limits(stmt) {
            true => None,
            false => ResultCache::dependencies(&plan),
        };
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
    pub(super) async fn cache_context(&self) -> Option<String> {
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
        // Bare names resolve along the lookup path, which holds the session's
        // temporary schema: its tables shadow others of the same name.
        context.push_str(&format!(
            "\u{1f}lookup={}",
            settings.lookup_path().join(",")
        ));
        Some(context)
    }

    /// The schema a client sees: PostgreSQL names, and for columns read straight
    /// from a table, the table's OID and the column's number (RowDescription).
    pub(super) async fn result_schema(&self, plan: &LogicalPlan) -> SchemaRef {
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
    /// Runs an UPDATE or DELETE whose optimized plan is checked to hand the
    /// table every condition of its WHERE ([`super::dml::dml_rows`]).
    async fn filtered_write(&self, plan: LogicalPlan) -> Result<usize> {
        let plan = self.run_subqueries_first(plan).await?;
        let state = self.ctx.state();
        let optimized = state.optimize(&plan)?;
        let LogicalPlan::Dml(dml) = &optimized else {
            return Err(Error::Internal("an UPDATE or DELETE plan".into()));
        };
        if super::dml::dml_rows(dml)? == super::dml::DmlRows::None {
            return Ok(0);
        }
        let physical = state
            .query_planner()
            .create_physical_plan(&optimized, &state)
            .await?;
        let batches = datafusion::physical_plan::collect(physical, state.task_ctx()).await?;
        Ok(counted(&batches))
    }

    /// An UPDATE or DELETE's uncorrelated subqueries (`id IN (SELECT id FROM
    /// staging)`, `x = (SELECT max(x) …)`, `EXISTS (…)`), run before it and
    /// replaced by their answers, so that its WHERE is a filter on the target
    /// alone. Correlated ones stay (and are refused).
    async fn run_subqueries_first(&self, plan: LogicalPlan) -> Result<LogicalPlan> {
        use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
        use datafusion::logical_expr::Expr;
        use datafusion::logical_expr::expr::{Exists, InList, InSubquery};
        let LogicalPlan::Dml(mut dml) = plan else {
            return Ok(plan);
        };
        let mut found: Vec<Expr> = Vec::new();
        dml.input.apply(|node| {
            if let LogicalPlan::Filter(filter) = node {
                filter.predicate.apply(|e| {
                    let uncorrelated = match e {
                        Expr::InSubquery(InSubquery { subquery, .. })
                        | Expr::Exists(Exists { subquery, .. })
                        | Expr::ScalarSubquery(subquery) => subquery.outer_ref_columns.is_empty(),
                        _ => return Ok(TreeNodeRecursion::Continue),
                    };
                    if uncorrelated {
                        found.push(e.clone());
                    }
                    Ok(TreeNodeRecursion::Jump)
                })?;
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        if found.is_empty() {
            return Ok(LogicalPlan::Dml(dml));
        }
        let mut answers: HashMap<Expr, Expr> = HashMap::new();
        for e in found {
            let (subquery, rows_wanted) = match &e {
                Expr::InSubquery(InSubquery { subquery, .. }) => (subquery, None),
                Expr::Exists(Exists { subquery, .. }) => (subquery, Some(1)),
                Expr::ScalarSubquery(subquery) => (subquery, Some(2)),
                _ => unreachable!("only subqueries were found"),
            };
            let mut frame = self
                .ctx
                .execute_logical_plan(subquery.subquery.as_ref().clone())
                .await?;
            if let Some(n) = rows_wanted {
                frame = frame.limit(0, Some(n))?;
            }
            let batches = frame.collect().await?;
            let mut values = Vec::new();
            for batch in &batches {
                for i in 0..batch.num_rows() {
                    values.push(ScalarValue::try_from_array(batch.column(0), i)?);
                }
            }
            let answer = match e.clone() {
                Expr::InSubquery(InSubquery { negated, .. }) if values.is_empty() => {
                    Expr::Literal(ScalarValue::Boolean(Some(negated)), None)
                }
                Expr::InSubquery(InSubquery { expr, negated, .. }) => Expr::InList(InList::new(
                    expr,
                    values.into_iter().map(|v| Expr::Literal(v, None)).collect(),
                    negated,
                )),
                Expr::Exists(Exists { negated, .. }) => Expr::Literal(
                    ScalarValue::Boolean(Some(values.is_empty() == negated)),
                    None,
                ),
                _ => match values.as_slice() {
                    [] => Expr::Literal(
                        ScalarValue::try_from(subquery.subquery.schema().field(0).data_type())?,
                        None,
                    ),
                    [one] => Expr::Literal(one.clone(), None),
                    _ => {
                        return Err(Error::Coded {
                            code: "21000",
                            message:
                                "more than one row returned by a subquery used as an expression"
                                    .into(),
                        });
                    }
                },
            };
            answers.insert(e, answer);
        }
        let input = Arc::unwrap_or_clone(dml.input).transform_up(|node| {
            node.map_expressions(|expr| {
                expr.transform_up(|e| {
                    Ok(match answers.get(&e) {
                        Some(answer) => Transformed::yes(answer.clone()),
                        None => Transformed::no(e),
                    })
                })
            })
        })?;
        dml.input = Arc::new(input.data);
        Ok(LogicalPlan::Dml(dml))
    }

    pub(super) async fn count(&self, plan: LogicalPlan) -> Result<usize> {
        let batches = self.ctx.execute_logical_plan(plan).await?.collect().await?;
        Ok(counted(&batches))
    }
}

/// A plan as DataFusion's planner made it, with the rewrites every
/// statement's plan takes: PostgreSQL's set operations, integral and exact
/// numeric results, and the types of parameters known from their use.
pub(super) fn finished(plan: LogicalPlan) -> Result<LogicalPlan> {
    let plan = crate::rewrite::set_operations_all(plan)?;
    let plan = crate::rewrite::integral_numeric_functions(plan)?;
    let plan = crate::rewrite::exact_numeric_writes(plan)?;
    let plan = crate::rewrite::signed_outputs(plan)?;
    Ok(crate::rewrite::infer_placeholder_types(plan)?)
}

/// The row count a DML plan's result batches carry.
fn counted(batches: &[RecordBatch]) -> usize {
    {
        let mut total = 0usize;
        for batch in batches {
            if let Some(col) = batch.columns().first()
                && let Some(counts) = col.as_any().downcast_ref::<UInt64Array>()
            {
                total += counts.iter().flatten().sum::<u64>() as usize;
            }
        }
        total
    }
}

pub(super) fn rows_from_batches(
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
pub(super) fn cast_params(plan: &LogicalPlan, params: ParamValues) -> Result<ParamValues> {
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
pub(super) fn parameter_types(
    plan: &LogicalPlan,
    hints: &[Option<DataType>],
) -> Result<Vec<Field>> {
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

/// Parameter types with those of another part of the statement (an
/// upsert's DO UPDATE) added where the first part has none.
pub(super) fn with_parameters(
    mut types: Vec<Field>,
    more: &HashMap<String, Option<datafusion::arrow::datatypes::FieldRef>>,
) -> Vec<Field> {
    let count = more
        .keys()
        .filter_map(|k| k.trim_start_matches('$').parse::<usize>().ok())
        .max()
        .unwrap_or(0);
    for i in types.len() + 1..=count {
        types.push(match more.get(&format!("${i}")).cloned().flatten() {
            Some(field) => field.as_ref().clone(),
            None => Field::new(format!("${i}"), DataType::Utf8, true),
        });
    }
    types
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
                // A scalar subquery's value has the type of its column.
                E::ScalarSubquery(subquery) => output_cast(&subquery.subquery, 0).or_else(|| {
                    let field = subquery.subquery.schema().field(0);
                    types::declared(field).map(|_| field.clone())
                }),
                // A CASE whose branches share a PostgreSQL type has it
                // (DataFusion's CASE drops field metadata).
                E::Case(case) => {
                    use datafusion::logical_expr::ExprSchemable;
                    let branches = case
                        .when_then_expr
                        .iter()
                        .map(|(_, then)| then.as_ref())
                        .chain(case.else_expr.as_deref())
                        .filter(|e| !matches!(e, E::Literal(v, _) if v.is_null()));
                    let mut shared: Option<datafusion::arrow::datatypes::FieldRef> = None;
                    for branch in branches {
                        let (_, field) = branch.to_field(p.input.schema()).ok()?;
                        types::declared(&field)?;
                        match &shared {
                            Some(s) if types::declared(s) != types::declared(&field) => {
                                return None;
                            }
                            Some(_) => {}
                            None => shared = Some(field),
                        }
                    }
                    shared
                }
                E::Column(column) => {
                    let index = p.input.schema().index_of_column(column).ok()?;
                    output_cast(&p.input, index)
                }
                _ => None,
            }
        }
        // A join's columns are its left side's, then its right side's.
        LogicalPlan::Join(join) => {
            let left = join.left.schema().fields().len();
            match index < left {
                true => output_cast(&join.left, index),
                false => output_cast(&join.right, index - left),
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

/// Starts `plan` in `ctx`; its rows, described to the client by `schema`.
pub(super) async fn rows_of(
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
