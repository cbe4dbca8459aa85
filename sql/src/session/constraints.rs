//! ALTER TABLE … ADD CONSTRAINT … UNIQUE and DROP CONSTRAINT: a table's
//! unique constraints, primary key and foreign keys added and dropped by
//! name, as PostgreSQL names and checks them.

use enishi_storage::PrimaryKey;

use super::*;

impl Session {
    /// `ADD [CONSTRAINT name] UNIQUE (columns)`: refused where the rows
    /// repeat a key (23505), as PostgreSQL fails to build its index; else
    /// recorded, and writes from then on keep it.
    pub(super) async fn add_unique_constraint(
        &mut self,
        (schema, table): (&str, &str),
        unique: &ast::UniqueConstraint,
    ) -> Result<()> {
        if matches!(unique.nulls_distinct, ast::NullsDistinctOption::NotDistinct) {
            return Err(Error::FeatureNotSupported(
                "UNIQUE NULLS NOT DISTINCT is not supported".into(),
            ));
        }
        let columns = super::unique::key_columns(&unique.columns)?;
        let storage = self.engine.storage().clone();
        let Some(handle) = storage.table(schema, table).await? else {
            return Err(Error::UndefinedTable(table.into()));
        };
        let fields = handle.schema().await?;
        for column in &columns {
            if fields.field_with_name(column).is_err() {
                return Err(Error::UndefinedColumn(format!(
                    "column \"{column}\" named in key does not exist"
                )));
            }
        }
        let name = match &unique.name {
            Some(name) => ident_name(name),
            None => {
                // PostgreSQL's choice: table_columns_key, numbered when taken.
                let base = format!("{table}_{}_key", columns.join("_"));
                let taken = |n: &str| {
                    storage.read_catalog(|c| {
                        c.relation_exists(schema, n) || c.index_table(schema, n).is_some()
                    })
                };
                (0..)
                    .map(|i| match i {
                        0 => base.clone(),
                        i => format!("{base}{i}"),
                    })
                    .find(|n| !taken(n))
                    .unwrap_or(base)
            }
        };
        self.check_no_repeats(schema, table, &name, &columns)
            .await?;
        storage
            .add_unique(schema, table, PrimaryKey { name, columns })
            .await?;
        Ok(())
    }

    /// `DROP CONSTRAINT [IF EXISTS] name [CASCADE]`: the table's primary key,
    /// a unique constraint or a foreign key. A key that other tables'
    /// foreign keys reference goes only with CASCADE (2BP01), which drops
    /// them too.
    pub(super) async fn drop_constraint(
        &mut self,
        (schema, table): (&str, &str),
        name: &ast::Ident,
        if_exists: bool,
        cascade: bool,
    ) -> Result<()> {
        let constraint = ident_name(name);
        let storage = self.engine.storage().clone();
        // The key's columns, when the constraint is a key.
        let (found, key) = storage.read_catalog(|c| {
            let Some(entry) = c.table(schema, table) else {
                return (false, None);
            };
            let key = entry
                .primary_key
                .iter()
                .chain(&entry.unique)
                .find(|k| k.name == constraint)
                .map(|k| k.columns.clone());
            let found = key.is_some() || entry.foreign_keys.iter().any(|k| k.name == constraint);
            (found, key)
        });
        if !found {
            if if_exists {
                self.notices.push(Notice {
                    severity: "NOTICE",
                    code: "00000",
                    message: format!(
                        "constraint \"{constraint}\" of relation \"{table}\" does not exist, skipping"
                    ),
                });
                return Ok(());
            }
            return Err(Error::Coded {
                code: "42704",
                message: format!(
                    "constraint \"{constraint}\" of relation \"{table}\" does not exist"
                ),
            });
        }
        let dependents: Vec<(String, String, String)> = match &key {
            None => Vec::new(),
            Some(columns) => storage.read_catalog(|c| {
                let mut out = Vec::new();
                for (s, entry) in &c.schemas {
                    for (t, other) in &entry.tables {
                        for fk in &other.foreign_keys {
                            let mut referenced = fk.referenced_columns.clone();
                            let mut key = columns.clone();
                            referenced.sort();
                            key.sort();
                            if fk.references(schema, table) && referenced == key {
                                out.push((s.clone(), t.clone(), fk.name.clone()));
                            }
                        }
                    }
                }
                out
            }),
        };
        if let Some((_, other, fk)) = dependents.first()
            && !cascade
        {
            return Err(Error::Explained {
                code: "2BP01",
                message: format!(
                    "cannot drop constraint {constraint} on table {table} because other objects depend on it"
                ),
                detail: format!("constraint {fk} on table {other} depends on index {constraint}"),
                hint: Some("Use DROP ... CASCADE to drop the dependent objects too.".into()),
            });
        }
        for (_, other, fk) in &dependents {
            self.notices.push(Notice {
                severity: "NOTICE",
                code: "00000",
                message: format!("drop cascades to constraint {fk} on table {other}"),
            });
        }
        storage
            .drop_constraint(schema, table, &constraint, &dependents)
            .await?;
        Ok(())
    }
}
