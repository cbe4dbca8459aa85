//! Foreign keys as declared (`REFERENCES t (c)`, `FOREIGN KEY (…)
//! REFERENCES …`): checked against the referenced table as PostgreSQL
//! checks them, and kept in the catalog, where pg_constraint, psql's `\d`
//! ("Foreign-key constraints", "Referenced by") and drivers' metadata read
//! them. A table referenced by another is dropped only with CASCADE, which
//! drops the foreign keys.
//!
//! The rows are not checked against the keys: a write that PostgreSQL would
//! refuse with 23503 is accepted.

use super::*;
use enishi_storage::ForeignKey;

/// A foreign key as written, before its references are checked.
pub(super) struct Declared {
    name: Option<String>,
    columns: Vec<String>,
    table: ObjectName,
    referenced: Vec<String>,
    on_update: Option<ast::ReferentialAction>,
    on_delete: Option<ast::ReferentialAction>,
    match_kind: Option<ast::ConstraintReferenceMatchKind>,
}

fn ident_name(ident: &ast::Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

/// The foreign keys a CREATE TABLE declares, on its columns and as its
/// constraints.
pub(super) fn declared(create: &ast::CreateTable) -> Vec<Declared> {
    let mut out = Vec::new();
    for column in &create.columns {
        for option in &column.options {
            if let ast::ColumnOption::ForeignKey(fk) = &option.option {
                let mut key = from_constraint(fk);
                key.columns = vec![ident_name(&column.name)];
                key.name = key.name.or_else(|| option.name.as_ref().map(ident_name));
                out.push(key);
            }
        }
    }
    for constraint in &create.constraints {
        if let ast::TableConstraint::ForeignKey(fk) = constraint {
            out.push(from_constraint(fk));
        }
    }
    out
}

pub(super) fn from_constraint(fk: &ast::ForeignKeyConstraint) -> Declared {
    Declared {
        name: fk.name.as_ref().map(ident_name),
        columns: fk.columns.iter().map(ident_name).collect(),
        table: fk.foreign_table.clone(),
        referenced: fk.referred_columns.iter().map(ident_name).collect(),
        on_update: fk.on_update,
        on_delete: fk.on_delete,
        match_kind: fk.match_kind,
    }
}

fn action_letter(action: Option<ast::ReferentialAction>) -> char {
    match action {
        None | Some(ast::ReferentialAction::NoAction) => 'a',
        Some(ast::ReferentialAction::Restrict) => 'r',
        Some(ast::ReferentialAction::Cascade) => 'c',
        Some(ast::ReferentialAction::SetNull) => 'n',
        Some(ast::ReferentialAction::SetDefault) => 'd',
    }
}

fn no_unique(table: &str) -> Error {
    Error::Coded {
        code: "42830",
        message: format!(
            "there is no unique constraint matching given keys for referenced table \"{table}\""
        ),
    }
}

fn missing_column(column: &str) -> Error {
    Error::UndefinedColumn(format!(
        "column \"{column}\" referenced in foreign key constraint does not exist"
    ))
}

impl Session {
    /// The foreign keys of table `name` (of `schema`, with `columns` and
    /// primary key `key`, possibly being created), checked: the referenced
    /// table exists, the columns exist on both sides, match in number, and
    /// the referenced ones are its primary key (in any order).
    pub(super) async fn checked_foreign_keys(
        &self,
        schema: &str,
        name: &str,
        columns: &Schema,
        key: Option<&enishi_storage::PrimaryKey>,
        declared: Vec<Declared>,
    ) -> Result<Vec<ForeignKey>> {
        let mut out: Vec<ForeignKey> = Vec::new();
        for fk in declared {
            let (ref_schema, ref_table) = self.resolve(&fk.table)?;
            let own = ref_schema == schema && ref_table == name;
            let (ref_columns, ref_key) = if own {
                (Some(columns.clone()), key.cloned())
            } else {
                let entry = self.engine.storage().read_catalog(|c| {
                    c.schema(&ref_schema)
                        .and_then(|s| s.tables.get(&ref_table))
                        .map(|t| t.primary_key.clone())
                });
                let (Some(ref_key), Some(table)) = (
                    entry,
                    self.engine.storage().table(&ref_schema, &ref_table).await?,
                ) else {
                    return Err(Error::UndefinedTable(ref_table));
                };
                (Some(table.schema().await?.as_ref().clone()), ref_key)
            };
            for column in &fk.columns {
                if columns.field_with_name(column).is_err() {
                    return Err(missing_column(column));
                }
            }
            let referenced = if fk.referenced.is_empty() {
                match &ref_key {
                    Some(k) => k.columns.clone(),
                    None => {
                        return Err(Error::Coded {
                            code: "42830",
                            message: format!(
                                "there is no primary key for referenced table \"{ref_table}\""
                            ),
                        });
                    }
                }
            } else {
                fk.referenced.clone()
            };
            if let Some(ref_columns) = &ref_columns {
                for column in &referenced {
                    if ref_columns.field_with_name(column).is_err() {
                        return Err(missing_column(column));
                    }
                }
            }
            if referenced.len() != fk.columns.len() {
                return Err(Error::Coded {
                    code: "42830",
                    message:
                        "number of referencing and referenced columns for foreign key disagree"
                            .into(),
                });
            }
            let mut sorted = referenced.clone();
            sorted.sort();
            match &ref_key {
                Some(k) => {
                    let mut key_columns = k.columns.clone();
                    key_columns.sort();
                    if key_columns != sorted {
                        return Err(no_unique(&ref_table));
                    }
                }
                None => return Err(no_unique(&ref_table)),
            }
            let name = fk
                .name
                .clone()
                .unwrap_or_else(|| format!("{name}_{}_fkey", fk.columns.join("_")));
            out.push(ForeignKey {
                name,
                columns: fk.columns,
                referenced_schema: ref_schema,
                referenced_table: ref_table,
                referenced_columns: referenced,
                on_update: action_letter(fk.on_update),
                on_delete: action_letter(fk.on_delete),
                match_type: match fk.match_kind {
                    Some(ast::ConstraintReferenceMatchKind::Full) => 'f',
                    Some(ast::ConstraintReferenceMatchKind::Partial) => 'p',
                    _ => 's',
                },
            });
        }
        Ok(out)
    }

    /// A table's name as PostgreSQL's messages show it: qualified unless
    /// the search_path finds it by its bare name.
    fn shown(&self, schema: &str, name: &str) -> String {
        let bare = ObjectName::from(vec![ast::Ident::new(name)]);
        match self.resolve(&bare) {
            Ok((found, _)) if found == schema => name.to_string(),
            _ => format!("{schema}.{name}"),
        }
    }

    /// Before DROP TABLE: the foreign keys of other tables that reference
    /// the dropped ones. Without CASCADE they refuse the drop (2BP01); with
    /// it each is named in a notice (and goes with the table).
    pub(super) fn foreign_keys_dropped_with(
        &mut self,
        dropped: &[(String, String)],
        cascade: bool,
    ) -> Result<()> {
        let dependents: Vec<(String, String, String, String)> =
            self.engine.storage().read_catalog(|c| {
                let mut out = Vec::new();
                for (schema, s) in &c.schemas {
                    for (table, entry) in &s.tables {
                        if dropped.contains(&(schema.clone(), table.clone())) {
                            continue;
                        }
                        for fk in &entry.foreign_keys {
                            if let Some((_, target)) =
                                dropped.iter().find(|(rs, rt)| fk.references(rs, rt))
                            {
                                out.push((
                                    fk.name.clone(),
                                    table.clone(),
                                    target.clone(),
                                    schema.clone(),
                                ));
                            }
                        }
                    }
                }
                out
            });
        let Some((constraint, table, target, schema)) = dependents.first() else {
            return Ok(());
        };
        let target_schema = dropped
            .iter()
            .find(|(_, t)| t == target)
            .map_or(schema.as_str(), |(s, _)| s.as_str());
        let (table, target) = (self.shown(schema, table), self.shown(target_schema, target));
        if !cascade {
            return Err(Error::Explained {
                code: "2BP01",
                message: format!("cannot drop table {target} because other objects depend on it"),
                detail: format!(
                    "constraint {constraint} on table {table} depends on table {target}"
                ),
                hint: Some("Use DROP ... CASCADE to drop the dependent objects too.".into()),
            });
        }
        for (constraint, table, _, schema) in &dependents {
            let table = self.shown(schema, table);
            self.notices.push(Notice {
                severity: "NOTICE",
                code: "00000",
                message: format!("drop cascades to constraint {constraint} on table {table}"),
            });
        }
        Ok(())
    }
}
