//! ALTER TABLE: renaming the table or a column, adding a column, declaring
//! a primary key on the rows a table holds.

use super::*;

impl Session {
    /// ALTER TABLE … RENAME TO, RENAME COLUMN, ADD COLUMN (nullable, without
    /// DEFAULT), ADD PRIMARY KEY.
    pub(super) async fn alter_table(&mut self, alter: &ast::AlterTable) -> Result<Output> {
        let (schema, name) = self.resolve(&alter.name)?;
        if self
            .engine
            .storage()
            .read_catalog(|c| c.relation_exists(&schema, &name))
        {
            self.require_owner("table", &schema, &name)?;
        }
        let storage = self.engine.storage().clone();
        let is_view = storage.read_catalog(|c| {
            c.schema(&schema)
                .is_some_and(|s| s.views.contains_key(&name))
        });
        if is_view {
            return self.alter_view(&schema, &name, alter).await;
        }
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
                    let (_, new_name) = self.resolve_new(to)?;
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
                    self.add_column_rewriting((&schema, &name), &table, &column, column_def)
                        .await?;
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
                    storage
                        .rename_key_column(&schema, &name, &from, &to)
                        .await?;
                }
                ast::AlterTableOperation::AddConstraint {
                    constraint: ast::TableConstraint::PrimaryKey(key),
                    ..
                } => {
                    let mut columns = Vec::with_capacity(key.columns.len());
                    for c in &key.columns {
                        let Expr::Identifier(ident) = &c.column.expr else {
                            return Err(Error::syntax(format!(
                                "a primary key names columns, not {}",
                                c.column.expr
                            )));
                        };
                        columns.push(match ident.quote_style {
                            Some(_) => ident.value.clone(),
                            None => ident.value.to_lowercase(),
                        });
                    }
                    let constraint = key
                        .name
                        .as_ref()
                        .map_or_else(|| format!("{name}_pkey"), |n| n.value.to_lowercase());
                    self.add_primary_key(&schema, &name, constraint, columns)
                        .await?;
                }
                ast::AlterTableOperation::AddConstraint {
                    constraint: ast::TableConstraint::ForeignKey(fk),
                    ..
                } => {
                    let columns = table.schema().await?;
                    let key = storage.read_catalog(|c| {
                        c.schema(&schema)
                            .and_then(|s| s.tables.get(&name))
                            .and_then(|t| t.primary_key.clone())
                    });
                    let declared = vec![super::foreign_keys::from_constraint(fk)];
                    let keys = self
                        .checked_foreign_keys(&schema, &name, &columns, key.as_ref(), declared)
                        .await?;
                    for fk in keys {
                        storage.add_foreign_key(&schema, &name, fk).await?;
                    }
                }
                ast::AlterTableOperation::AddConstraint {
                    constraint: ast::TableConstraint::Unique(unique),
                    ..
                } => {
                    self.add_unique_constraint((&schema, &name), unique).await?;
                }
                ast::AlterTableOperation::DropConstraint {
                    if_exists,
                    name: constraint,
                    drop_behavior,
                } => {
                    let cascade = matches!(drop_behavior, Some(ast::DropBehavior::Cascade));
                    self.drop_constraint((&schema, &name), constraint, *if_exists, cascade)
                        .await?;
                }
                ast::AlterTableOperation::DropColumn {
                    column_names,
                    if_exists,
                    drop_behavior,
                    ..
                } => {
                    let cascade = matches!(drop_behavior, Some(ast::DropBehavior::Cascade));
                    for column in column_names {
                        let column = ident_name(column);
                        self.drop_column((&schema, &name), &table, &column, *if_exists, cascade)
                            .await?;
                    }
                }
                ast::AlterTableOperation::AlterColumn { column_name, op } => {
                    let column = ident_name(column_name);
                    self.alter_column((&schema, &name), &table, &column, op)
                        .await?;
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

    /// ALTER TABLE on a view (which PostgreSQL allows): RENAME TO.
    async fn alter_view(
        &mut self,
        schema: &str,
        name: &str,
        alter: &ast::AlterTable,
    ) -> Result<Output> {
        for operation in &alter.operations {
            let ast::AlterTableOperation::RenameTable { table_name } = operation else {
                return Err(Error::Coded {
                    code: "42809",
                    message: format!("\"{name}\" is not a table"),
                });
            };
            let (ast::RenameTableNameKind::To(to) | ast::RenameTableNameKind::As(to)) = table_name;
            let (_, new_name) = self.resolve_new(to)?;
            self.engine
                .storage()
                .rename_table(schema, name, &new_name)
                .await?;
        }
        Ok(Output::Command(CommandTag::new("ALTER TABLE")))
    }

    /// `ALTER TABLE … ADD PRIMARY KEY (…)`: refused where the table has one
    /// (42P16), where a key column holds NULL (23502) or a key is repeated
    /// (23505), as PostgreSQL refuses it; else recorded, and writes from then
    /// on are checked against it.
    async fn add_primary_key(
        &mut self,
        schema: &str,
        name: &str,
        constraint: String,
        columns: Vec<String>,
    ) -> Result<()> {
        let storage = self.engine.storage().clone();
        let existing = storage.read_catalog(|c| {
            c.schema(schema)
                .and_then(|s| s.tables.get(name))
                .map(|t| t.primary_key.is_some())
        });
        if existing == Some(true) {
            return Err(Error::Coded {
                code: "42P16",
                message: format!("multiple primary keys for table \"{name}\" are not allowed"),
            });
        }
        let quote = |c: &str| format!("\"{}\"", c.replace('"', "\"\""));
        let relation = format!("{}.{}", quote(schema), quote(name));
        let Some(table) = storage.table(schema, name).await? else {
            return Err(Error::UndefinedTable(name.into()));
        };
        let fields = table.schema().await?;
        for column in &columns {
            if fields.field_with_name(column).is_err() {
                return Err(Error::UndefinedColumn(format!(
                    "column \"{column}\" named in key does not exist"
                )));
            }
            let nulls = format!(
                "SELECT 1 FROM {relation} WHERE {} IS NULL LIMIT 1",
                quote(column)
            );
            if self.finds_a_row(&nulls).await? {
                return Err(Error::Coded {
                    code: "23502",
                    message: format!(
                        "column \"{column}\" of relation \"{name}\" contains null values"
                    ),
                });
            }
        }
        let list = columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ");
        let repeated =
            format!("SELECT {list} FROM {relation} GROUP BY {list} HAVING count(*) > 1 LIMIT 1");
        if self.finds_a_row(&repeated).await? {
            return Err(Error::Coded {
                code: "23505",
                message: format!("could not create unique index \"{constraint}\""),
            });
        }
        storage
            .set_primary_key(
                schema,
                name,
                enishi_storage::PrimaryKey {
                    name: constraint,
                    columns,
                },
            )
            .await?;
        Ok(())
    }

    /// Whether a query (of the table's rows, written here) returns anything.
    pub(super) async fn finds_a_row(&self, sql: &str) -> Result<bool> {
        let batches = self.ctx.sql(sql).await?.collect().await?;
        Ok(batches.iter().any(|b| b.num_rows() > 0))
    }
}
