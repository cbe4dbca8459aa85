//! CREATE INDEX and DROP INDEX. An index is recorded with its table and
//! shown where PostgreSQL shows one (`\d`, pg_index, pg_indexes); scans do
//! not read it (they prune with Parquet statistics and bloom filters, for
//! every column alike). A unique index is kept like a unique constraint:
//! rows already there are checked when it is made, writes after.

use enishi_storage::IndexEntry;

use super::*;
use crate::system_tables::quote_name;

impl Session {
    pub(super) async fn create_index(&mut self, create: &ast::CreateIndex) -> Result<Output> {
        if create.predicate.is_some() {
            return Err(Error::FeatureNotSupported(
                "partial indexes (CREATE INDEX … WHERE) are not supported".into(),
            ));
        }
        if create.nulls_distinct == Some(false) {
            return Err(Error::FeatureNotSupported(
                "NULLS NOT DISTINCT is not supported".into(),
            ));
        }
        let (schema, table) = self.resolve(&create.table_name)?;
        let storage = self.engine.storage().clone();
        if storage.catalog().table(&schema, &table).is_none() {
            return Err(
                match storage.read_catalog(|c| c.relation_exists(&schema, &table)) {
                    true => Error::Coded {
                        code: "42809",
                        message: format!("\"{table}\" is not a table"),
                    },
                    false => Error::UndefinedTable(table),
                },
            );
        }
        self.require_owner("table", &schema, &table)?;
        let columns = super::unique::key_columns(&create.columns)?;
        let stored = storage
            .table(&schema, &table)
            .await?
            .ok_or_else(|| Error::UndefinedTable(table.clone()))?
            .schema()
            .await?;
        for column in &columns {
            if stored.field_with_name(column).is_err() {
                return Err(Error::UndefinedColumn(format!(
                    "column \"{column}\" does not exist"
                )));
            }
        }
        let name = match &create.name {
            Some(name) => name_parts(name).last().cloned().unwrap_or_default(),
            None => {
                let base = format!("{table}_{}_idx", columns.join("_"));
                (0..)
                    .map(|n| match n {
                        0 => base.clone(),
                        n => format!("{base}{n}"),
                    })
                    .find(|n| {
                        !storage.read_catalog(|c| {
                            c.relation_exists(&schema, n) || c.index_table(&schema, n).is_some()
                        })
                    })
                    .expect("an unused name")
            }
        };
        if create.unique {
            self.check_no_repeats(&schema, &table, &name, &columns)
                .await?;
        }
        let index = IndexEntry {
            name: name.clone(),
            columns,
            unique: create.unique,
        };
        if !storage
            .add_index(&schema, &table, index, create.if_not_exists)
            .await?
        {
            self.already_exists(&name);
        }
        Ok(Output::Command(CommandTag::new("CREATE INDEX")))
    }

    /// 23505 when rows of the table repeat a key of `columns` (NULLs repeat
    /// nothing), as PostgreSQL fails to build a unique index over them.
    pub(super) async fn check_no_repeats(
        &self,
        schema: &str,
        table: &str,
        index: &str,
        columns: &[String],
    ) -> Result<()> {
        let list: Vec<String> = columns.iter().map(|c| quote_name(c)).collect();
        let list = list.join(", ");
        let present: Vec<String> = columns
            .iter()
            .map(|c| format!("{} IS NOT NULL", quote_name(c)))
            .collect();
        let sql = format!(
            "SELECT {list} FROM {}.{} WHERE {} GROUP BY {list} HAVING count(*) > 1 LIMIT 1",
            quote_name(schema),
            quote_name(table),
            present.join(" AND ")
        );
        let batches = self.ctx.sql(&sql).await?.collect().await?;
        let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
            return Ok(());
        };
        let values: Vec<String> = batch
            .columns()
            .iter()
            .map(|c| {
                datafusion::arrow::util::display::array_value_to_string(c, 0).unwrap_or_default()
            })
            .collect();
        Err(Error::Explained {
            code: "23505",
            message: format!("could not create unique index \"{index}\""),
            detail: format!(
                "Key ({})=({}) is duplicated.",
                columns.join(", "),
                values.join(", ")
            ),
            hint: None,
        })
    }

    /// DROP INDEX: an index of CREATE INDEX; a key's index goes with its
    /// constraint only (2BP01).
    pub(super) async fn drop_indexes(
        &mut self,
        names: &[ObjectName],
        if_exists: bool,
    ) -> Result<Output> {
        let storage = self.engine.storage().clone();
        for name in names {
            let parts = name_parts(name);
            let index = parts.last().cloned().unwrap_or_default();
            let schemas = match parts.as_slice() {
                [_] => self.settings().lookup_path(),
                [schema, _] => vec![schema.clone()],
                _ => return Err(Error::syntax(format!("improper index name: {name}"))),
            };
            let found = storage.read_catalog(|c| {
                schemas.iter().find_map(|s| {
                    let table = c.index_table(s, &index)?;
                    let entry = c.table(s, &table)?;
                    let made = entry.indexes.iter().any(|i| i.name == index);
                    Some((s.clone(), table, made))
                })
            });
            match found {
                None if if_exists => {
                    self.notices.push(Notice {
                        severity: "NOTICE",
                        code: "00000",
                        message: format!("index \"{index}\" does not exist, skipping"),
                    });
                }
                None => {
                    return Err(Error::UndefinedObject(format!(
                        "index \"{index}\" does not exist"
                    )));
                }
                Some((_, table, false)) => {
                    return Err(Error::Explained {
                        code: "2BP01",
                        message: format!(
                            "cannot drop index {index} because constraint {index} on table {table} requires it"
                        ),
                        detail: String::new(),
                        hint: Some(format!(
                            "You can drop constraint {index} on table {table} instead."
                        )),
                    });
                }
                Some((schema, table, true)) => {
                    self.require_owner("table", &schema, &table)?;
                    storage.drop_index(&schema, &index).await?;
                }
            }
        }
        Ok(Output::Command(CommandTag::new("DROP INDEX")))
    }
}
