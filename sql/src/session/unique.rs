//! The unique constraints a CREATE TABLE declares (`a int UNIQUE`,
//! `UNIQUE (a, b)`), which its writes then keep (see
//! `enishi_storage::unique`), named as PostgreSQL names them.

use datafusion::arrow::datatypes::Field;
use enishi_storage::PrimaryKey;

use super::*;

/// The columns a key names, folded as PostgreSQL folds them.
pub(super) fn key_columns(columns: &[ast::IndexColumn]) -> Result<Vec<String>> {
    columns
        .iter()
        .map(|c| match &c.column.expr {
            Expr::Identifier(ident) => Ok(match ident.quote_style {
                Some(_) => ident.value.clone(),
                None => ident.value.to_lowercase(),
            }),
            other => Err(Error::FeatureNotSupported(format!(
                "a key of expressions ({other}) is not supported"
            ))),
        })
        .collect()
}

/// The unique constraints of `create`, a table named `table` of `fields`
/// with primary key `primary`: each named as written, or `table_col…_key`
/// (a number added when a relation of `taken` has that name). As in
/// PostgreSQL, one that repeats the columns of the primary key or of an
/// earlier one is left out when either has no name of its own.
pub(super) fn declared(
    create: &ast::CreateTable,
    table: &str,
    fields: &[Field],
    primary: Option<&PrimaryKey>,
    taken: impl Fn(&str) -> bool,
) -> Result<Vec<PrimaryKey>> {
    let mut written: Vec<(Option<String>, Vec<String>)> = Vec::new();
    let mut add = |unique: &ast::UniqueConstraint, columns: Vec<String>| {
        if matches!(unique.nulls_distinct, ast::NullsDistinctOption::NotDistinct) {
            return Err(Error::FeatureNotSupported(
                "UNIQUE NULLS NOT DISTINCT is not supported".into(),
            ));
        }
        written.push((unique.name.as_ref().map(|n| n.value.clone()), columns));
        Ok(())
    };
    for column in &create.columns {
        for option in &column.options {
            if let ast::ColumnOption::Unique(unique) = &option.option {
                let column = match column.name.quote_style {
                    Some(_) => column.name.value.clone(),
                    None => column.name.value.to_lowercase(),
                };
                add(unique, vec![column])?;
            }
        }
    }
    for constraint in &create.constraints {
        if let ast::TableConstraint::Unique(unique) = constraint {
            add(unique, key_columns(&unique.columns)?)?;
        }
    }
    let mut keys: Vec<PrimaryKey> = Vec::new();
    let mut kept: Vec<(bool, Vec<String>)> = primary
        .map(|k| (true, k.columns.clone()))
        .into_iter()
        .collect();
    for (name, columns) in written {
        let repeated = kept
            .iter()
            .any(|(unnamed, c)| *c == columns && (*unnamed || name.is_none()));
        if repeated {
            continue;
        }
        kept.push((name.is_none(), columns.clone()));
        for column in &columns {
            if !fields.iter().any(|f| f.name() == column) {
                return Err(Error::UndefinedColumn(format!(
                    "column \"{column}\" named in key does not exist"
                )));
            }
        }
        let name = name.unwrap_or_else(|| {
            let base = format!("{table}_{}_key", columns.join("_"));
            (0..)
                .map(|n| match n {
                    0 => base.clone(),
                    n => format!("{base}{n}"),
                })
                .find(|n| !taken(n) && !keys.iter().any(|k| k.name == *n))
                .expect("an unused name")
        });
        keys.push(PrimaryKey { name, columns });
    }
    Ok(keys)
}
