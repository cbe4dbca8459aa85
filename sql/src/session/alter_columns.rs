//! ALTER TABLE's changes to columns that rewrite the table: ADD COLUMN with
//! a DEFAULT or NOT NULL, DROP COLUMN, and ALTER COLUMN … TYPE, SET/DROP
//! DEFAULT, SET/DROP NOT NULL.
//!
//! Each change is a new schema and a query computing the rows in it from
//! the rows the table holds (the default evaluated for each row, the cast to
//! the new type); the table is then rewritten under the new schema in one
//! commit (`Table::restructure`). PostgreSQL rewrites the table for some of
//! these too (a new type, a volatile default); here every one of them does.

use enishi_storage::Table;

use super::*;

/// A table's columns as they will be: each field and the SQL computing its
/// values from the table's current rows.
struct Reshape {
    fields: Vec<Field>,
    values: Vec<String>,
}

impl Reshape {
    fn of(schema: &Schema) -> Self {
        Self {
            fields: schema.fields().iter().map(|f| f.as_ref().clone()).collect(),
            values: schema
                .fields()
                .iter()
                .map(|f| ast::Ident::with_quote('"', f.name()).to_string())
                .collect(),
        }
    }

    fn position(&self, column: &str, table: &str) -> Result<usize> {
        self.fields
            .iter()
            .position(|f| f.name() == column)
            .ok_or_else(|| {
                Error::UndefinedColumn(format!(
                    "column \"{column}\" of relation \"{table}\" does not exist"
                ))
            })
    }
}

impl Session {
    /// `ADD COLUMN name type [DEFAULT e] [NOT NULL]`: existing rows take the
    /// default (evaluated for each row), or NULL, which NOT NULL refuses.
    pub(super) async fn add_column_rewriting(
        &mut self,
        (schema, name): (&str, &str),
        table: &Table,
        column: &str,
        column_def: &ast::ColumnDef,
    ) -> Result<()> {
        let ty = types::column_type(&column_def.data_type)?;
        let mut not_null = false;
        let mut default = None;
        for option in &column_def.options {
            match &option.option {
                ast::ColumnOption::Null => {}
                ast::ColumnOption::NotNull => not_null = true,
                ast::ColumnOption::Default(Expr::Value(v)) if matches!(v.value, Value::Null) => {}
                ast::ColumnOption::Default(expr) => {
                    self.check_default(expr, &ty.arrow).await?;
                    default = Some(expr.to_string());
                }
                other => {
                    return Err(Error::unsupported(format!(
                        "ADD COLUMN with {other} is not supported yet"
                    )));
                }
            }
        }
        let mut field = ty.field(column, !not_null);
        if let Some(default) = &default {
            let mut metadata = field.metadata().clone();
            metadata.insert(types::PG_DEFAULT_KEY.to_string(), default.clone());
            field = field.with_metadata(metadata);
        }
        if default.is_none() && !not_null {
            return Ok(table.add_column(field).await?);
        }
        let mut reshape = Reshape::of(table.schema().await?.as_ref());
        reshape.fields.push(field);
        reshape.values.push(match &default {
            Some(default) => format!("CAST(({default}) AS {})", column_def.data_type),
            None => "NULL".into(),
        });
        self.reshape((schema, name), table, reshape).await
    }

    /// `DROP COLUMN [IF EXISTS] name [CASCADE]`: with it go the table's keys
    /// and indexes that include it; foreign keys of other tables that
    /// reference it refuse the drop (2BP01) unless CASCADE drops them too.
    pub(super) async fn drop_column(
        &mut self,
        (schema, name): (&str, &str),
        table: &Table,
        column: &str,
        if_exists: bool,
        cascade: bool,
    ) -> Result<()> {
        let mut reshape = Reshape::of(table.schema().await?.as_ref());
        let at = match reshape.position(column, name) {
            Ok(at) => at,
            Err(_) if if_exists => {
                self.notices.push(Notice {
                    severity: "NOTICE",
                    code: "00000",
                    message: format!(
                        "column \"{column}\" of relation \"{name}\" does not exist, skipping"
                    ),
                });
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if reshape.fields.len() == 1 {
            return Err(Error::FeatureNotSupported(format!(
                "cannot drop the only column of table \"{name}\""
            )));
        }
        let storage = self.engine.storage().clone();
        let dependents: Vec<(String, String)> = storage.read_catalog(|c| {
            let mut out = Vec::new();
            for (s, entry) in &c.schemas {
                for (t, other) in &entry.tables {
                    if s == schema && t == name {
                        continue;
                    }
                    for fk in &other.foreign_keys {
                        if fk.references(schema, name)
                            && fk.referenced_columns.iter().any(|c| c == column)
                        {
                            out.push((fk.name.clone(), t.clone()));
                        }
                    }
                }
            }
            out
        });
        if let Some((constraint, other)) = dependents.first()
            && !cascade
        {
            return Err(Error::Explained {
                code: "2BP01",
                message: format!(
                    "cannot drop column {column} of table {name} because other objects depend on it"
                ),
                detail: format!(
                    "constraint {constraint} on table {other} depends on column {column} of table {name}"
                ),
                hint: Some("Use DROP ... CASCADE to drop the dependent objects too.".into()),
            });
        }
        for (constraint, other) in &dependents {
            self.notices.push(Notice {
                severity: "NOTICE",
                code: "00000",
                message: format!("drop cascades to constraint {constraint} on table {other}"),
            });
        }
        reshape.fields.remove(at);
        reshape.values.remove(at);
        self.reshape((schema, name), table, reshape).await?;
        storage.drop_key_column(schema, name, column).await?;
        Ok(())
    }

    /// `ALTER COLUMN name TYPE / SET DEFAULT / DROP DEFAULT / SET NOT NULL /
    /// DROP NOT NULL`.
    pub(super) async fn alter_column(
        &mut self,
        (schema, name): (&str, &str),
        table: &Table,
        column: &str,
        operation: &ast::AlterColumnOperation,
    ) -> Result<()> {
        let mut reshape = Reshape::of(table.schema().await?.as_ref());
        let at = reshape.position(column, name)?;
        let field = reshape.fields[at].clone();
        let identity = || Error::Explained {
            code: "42601",
            message: format!("column \"{column}\" of relation \"{name}\" is an identity column"),
            detail: String::new(),
            hint: Some("Use ALTER TABLE ... ALTER COLUMN ... DROP IDENTITY instead.".into()),
        };
        let mut metadata = field.metadata().clone();
        match operation {
            ast::AlterColumnOperation::SetNotNull => {
                let quoted = ast::Ident::with_quote('"', column);
                let nulls = format!(
                    "SELECT 1 FROM {}.{} WHERE {quoted} IS NULL LIMIT 1",
                    ast::Ident::with_quote('"', schema),
                    ast::Ident::with_quote('"', name),
                );
                if self.finds_a_row(&nulls).await? {
                    return Err(Error::Coded {
                        code: "23502",
                        message: format!(
                            "column \"{column}\" of relation \"{name}\" contains null values"
                        ),
                    });
                }
                reshape.fields[at] = field.with_nullable(false);
            }
            ast::AlterColumnOperation::DropNotNull => {
                if types::identity(&field).is_some() {
                    return Err(Error::Coded {
                        code: "42P16",
                        message: format!(
                            "column \"{column}\" of relation \"{name}\" is an identity column"
                        ),
                    });
                }
                let in_key = self.engine.storage().read_catalog(|c| {
                    c.schema(schema)
                        .and_then(|s| s.tables.get(name))
                        .and_then(|t| t.primary_key.as_ref())
                        .is_some_and(|k| k.columns.iter().any(|c| c == column))
                });
                if in_key {
                    return Err(Error::Coded {
                        code: "42P16",
                        message: format!("column \"{column}\" is in a primary key"),
                    });
                }
                reshape.fields[at] = field.with_nullable(true);
            }
            ast::AlterColumnOperation::SetDefault { value } => {
                if types::identity(&field).is_some() {
                    return Err(identity());
                }
                self.check_default(value, field.data_type()).await?;
                metadata.insert(types::PG_DEFAULT_KEY.to_string(), value.to_string());
                reshape.fields[at] = field.with_metadata(metadata);
            }
            ast::AlterColumnOperation::DropDefault => {
                if types::identity(&field).is_some() {
                    return Err(identity());
                }
                if metadata.remove(types::PG_DEFAULT_KEY).is_none() {
                    return Ok(());
                }
                reshape.fields[at] = field.with_metadata(metadata);
            }
            ast::AlterColumnOperation::SetDataType {
                data_type, using, ..
            } => {
                let ty = types::column_type(data_type)?;
                let mut kept = ty.field(column, field.is_nullable()).metadata().clone();
                for key in [types::PG_DEFAULT_KEY, types::PG_IDENTITY_KEY] {
                    if let Some(value) = metadata.get(key) {
                        kept.insert(key.to_string(), value.clone());
                    }
                }
                let value = match using {
                    Some(using) => format!("CAST(({using}) AS {data_type})"),
                    None if !assignment_cast(field.data_type(), &ty.arrow) => {
                        let named = crate::functions::type_name(ty.pg_oid);
                        return Err(Error::Explained {
                            code: "42804",
                            message: format!(
                                "column \"{column}\" cannot be cast automatically to type {named}"
                            ),
                            detail: String::new(),
                            hint: Some(format!(
                                "You might need to specify \"USING {column}::{named}\"."
                            )),
                        });
                    }
                    None => format!("CAST({} AS {data_type})", reshape.values[at]),
                };
                reshape.fields[at] =
                    Field::new(column, ty.arrow, field.is_nullable()).with_metadata(kept);
                reshape.values[at] = value;
            }
            ast::AlterColumnOperation::AddGenerated { .. } => {
                return Err(Error::unsupported(
                    "ALTER COLUMN … ADD GENERATED AS IDENTITY is not supported yet",
                ));
            }
        }
        self.reshape((schema, name), table, reshape).await
    }

    /// Rewrites the table under the reshaped columns, in one commit.
    async fn reshape(
        &mut self,
        (schema, name): (&str, &str),
        table: &Table,
        reshape: Reshape,
    ) -> Result<()> {
        let list: Vec<String> = reshape
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{v} AS __c{i}"))
            .collect();
        let sql = format!(
            "SELECT {} FROM {}.{}",
            list.join(", "),
            ast::Ident::with_quote('"', schema),
            ast::Ident::with_quote('"', name),
        );
        let batches = self.ctx.sql(&sql).await?.collect().await?;
        let current = table.schema().await?;
        let schema = Arc::new(Schema::new_with_metadata(
            reshape.fields,
            current.metadata().clone(),
        ));
        let mut rows = Vec::with_capacity(batches.len());
        for batch in batches {
            let columns = batch
                .columns()
                .iter()
                .zip(schema.fields())
                .map(|(c, f)| {
                    let c = datafusion::arrow::compute::cast(c, f.data_type())?;
                    if c.null_count() > 0 && !f.is_nullable() {
                        return Err(Error::Coded {
                            code: "23502",
                            message: format!(
                                "column \"{}\" of relation \"{name}\" contains null values",
                                f.name()
                            ),
                        });
                    }
                    Ok(c)
                })
                .collect::<Result<Vec<_>>>()?;
            rows.push(RecordBatch::try_new(schema.clone(), columns)?);
        }
        let session: Arc<dyn datafusion::catalog::Session> = Arc::new(self.ctx.state());
        table.restructure(schema, rows, session).await?;
        Ok(())
    }
}

/// Whether PostgreSQL converts a column's values to the new type without a
/// USING clause (an implicit or assignment cast): to a string type from
/// any; between numbers; between dates and timestamps. From a string type
/// to another type it does not.
fn assignment_cast(from: &DataType, to: &DataType) -> bool {
    let text =
        |t: &DataType| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    let time = |t: &DataType| matches!(t, DataType::Date32 | DataType::Timestamp(_, _));
    from == to || text(to) || (from.is_numeric() && to.is_numeric()) || (time(from) && time(to))
}
