//! COPY: to and from files the server may use, to STDOUT and from STDIN.

use super::*;

impl Session {
    /// The table a COPY FROM writes: its reference, all its columns, and the
    /// columns the COPY lists (all of them when it lists none).
    pub(super) async fn copy_target(
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
    pub(super) async fn copy_file(
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
    pub(super) fn copy_query(&self, source: &ast::CopySource) -> Result<DFStatement> {
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
    pub(super) async fn copy(
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
    pub(super) async fn copy_converters(
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
}
