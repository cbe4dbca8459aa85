//! CREATE SEQUENCE, DROP SEQUENCE, and the sequences of `serial` and
//! identity columns (see `enishi_storage::sequences` for how values are
//! handed out; `sequence_functions` for nextval and the others).

use enishi_storage::{OwnedBy, SequenceEntry};

use super::*;

/// The integer type a serial pseudo-type stands for (`serial` is
/// `integer`), if `data_type` is one.
pub(super) fn serial_type(data_type: &ast::DataType) -> Option<ast::DataType> {
    let ast::DataType::Custom(name, modifiers) = data_type else {
        return None;
    };
    if !modifiers.is_empty() {
        return None;
    }
    match object_name(name).as_str() {
        "serial" | "serial4" => Some(ast::DataType::Integer(None)),
        "bigserial" | "serial8" => Some(ast::DataType::BigInt(None)),
        "smallserial" | "serial2" => Some(ast::DataType::SmallInt(None)),
        _ => None,
    }
}

/// A sequence's type name and bounds for a column or `AS` type.
fn integer_type(data_type: &ast::DataType) -> Result<(&'static str, i64, i64)> {
    use ast::DataType as T;
    match data_type {
        T::SmallInt(_) | T::Int2(_) => Ok(("smallint", i16::MIN.into(), i16::MAX.into())),
        T::Int(_) | T::Integer(_) | T::Int4(_) => Ok(("integer", i32::MIN.into(), i32::MAX.into())),
        T::BigInt(_) | T::Int8(_) => Ok(("bigint", i64::MIN, i64::MAX)),
        _ => Err(Error::InvalidParameterValue(
            "sequence type must be smallint, integer, or bigint".into(),
        )),
    }
}

/// An integer option's value (`INCREMENT BY -1`).
fn option_value(expr: &Expr) -> Result<i64> {
    let invalid = || Error::syntax(format!("invalid sequence option value: {expr}"));
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().map_err(|_| invalid()),
            _ => Err(invalid()),
        },
        Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr,
        } => option_value(expr)?.checked_neg().ok_or_else(invalid),
        Expr::UnaryOp {
            op: ast::UnaryOperator::Plus,
            expr,
        } => option_value(expr),
        _ => Err(invalid()),
    }
}

/// A sequence as its options declare it, with PostgreSQL's defaults and
/// checks (22023 for bounds that do not fit).
pub(super) fn declared(
    data_type: Option<&ast::DataType>,
    options: &[ast::SequenceOptions],
) -> Result<SequenceEntry> {
    use ast::SequenceOptions as O;
    let (type_name, type_min, type_max) = match data_type {
        Some(t) => integer_type(t)?,
        None => ("bigint", i64::MIN, i64::MAX),
    };
    let (mut increment, mut min, mut max, mut start, mut cache, mut cycle) =
        (1, None, None, None, 1, false);
    for option in options {
        match option {
            O::IncrementBy(e, _) => increment = option_value(e)?,
            O::MinValue(e) => min = e.as_ref().map(option_value).transpose()?,
            O::MaxValue(e) => max = e.as_ref().map(option_value).transpose()?,
            O::StartWith(e, _) => start = Some(option_value(e)?),
            O::Cache(e) => cache = option_value(e)?,
            // sqlparser's flag says NO CYCLE.
            O::Cycle(no) => cycle = !*no,
        }
    }
    let invalid = |message: String| Error::InvalidParameterValue(message);
    if increment == 0 {
        return Err(invalid("INCREMENT must not be zero".into()));
    }
    let min = min.unwrap_or(if increment > 0 { 1 } else { type_min });
    let max = max.unwrap_or(if increment > 0 { type_max } else { -1 });
    for (name, value) in [("MINVALUE", min), ("MAXVALUE", max)] {
        if !(type_min..=type_max).contains(&value) {
            return Err(invalid(format!(
                "{name} ({value}) is out of range for sequence data type {type_name}"
            )));
        }
    }
    if min >= max {
        return Err(invalid(format!(
            "MINVALUE ({min}) must be less than MAXVALUE ({max})"
        )));
    }
    let start = start.unwrap_or(if increment > 0 { min } else { max });
    if start < min {
        return Err(invalid(format!(
            "START value ({start}) cannot be less than MINVALUE ({min})"
        )));
    }
    if start > max {
        return Err(invalid(format!(
            "START value ({start}) cannot be greater than MAXVALUE ({max})"
        )));
    }
    if cache < 1 {
        return Err(invalid(format!(
            "CACHE ({cache}) must be greater than zero"
        )));
    }
    Ok(SequenceEntry {
        id: 0,
        data_type: type_name.to_string(),
        start,
        increment,
        min,
        max,
        cache,
        cycle,
        owned_by: None,
    })
}

/// The sequence a serial or identity column draws from.
pub(super) struct ColumnSequence {
    pub name: String,
    pub entry: SequenceEntry,
    /// The column's DEFAULT: `nextval('name'::regclass)`.
    pub default: String,
}

impl Session {
    /// The sequence of `owner`, a column of the table being created: named as
    /// PostgreSQL names it (`table_column_seq`, a number added when that is
    /// taken), of the column's integer type.
    pub(super) fn column_sequence(
        &self,
        schema: &str,
        owner: OwnedBy,
        data_type: &ast::DataType,
        options: &[ast::SequenceOptions],
        taken: &[String],
    ) -> Result<ColumnSequence> {
        let mut entry = declared(Some(data_type), options)?;
        let base = format!("{}_{}_seq", owner.table, owner.column);
        entry.owned_by = Some(owner);
        let storage = self.engine.storage();
        let name = (0..)
            .map(|n| match n {
                0 => base.clone(),
                n => format!("{base}{n}"),
            })
            .find(|name| {
                !taken.contains(name) && !storage.read_catalog(|c| c.relation_exists(schema, name))
            })
            .expect("an unused name");
        let visible = self.settings().search_path().iter().any(|s| s == schema);
        let qualified = match visible {
            true => crate::system_tables::quote_name(&name),
            false => format!(
                "{}.{}",
                crate::system_tables::quote_name(schema),
                crate::system_tables::quote_name(&name)
            ),
        };
        let default = format!("nextval('{}'::regclass)", qualified.replace('\'', "''"));
        Ok(ColumnSequence {
            name,
            entry,
            default,
        })
    }

    /// CREATE SEQUENCE.
    pub(super) async fn create_sequence(
        &mut self,
        temporary: bool,
        if_not_exists: bool,
        name: &ObjectName,
        data_type: Option<&ast::DataType>,
        options: &[ast::SequenceOptions],
        owned_by: Option<&ObjectName>,
    ) -> Result<Output> {
        let mut entry = declared(data_type, options)?;
        let (schema, name) = self.resolve_creation(name, temporary).await?;
        if let Some(owner) = owned_by {
            entry.owned_by = self.sequence_owner(&schema, owner)?;
        }
        let storage = self.engine.storage().clone();
        if storage
            .create_sequence(&schema, &name, entry, if_not_exists)
            .await?
        {
            self.record_owner(enishi_storage::table_key(&schema, &name))
                .await?;
        } else {
            self.already_exists(&name);
        }
        Ok(Output::Command(CommandTag::new("CREATE SEQUENCE")))
    }

    /// `OWNED BY table.column` (a table of the sequence's schema) or `NONE`.
    fn sequence_owner(&self, schema: &str, owner: &ObjectName) -> Result<Option<OwnedBy>> {
        let parts = name_parts(owner);
        let (table, column) = match parts.as_slice() {
            [none] if none == "none" => return Ok(None),
            [table, column] => (table, column),
            [owner_schema, table, column] if owner_schema == schema => (table, column),
            [_, _, _] => {
                return Err(Error::Coded {
                    code: "55000",
                    message: "sequence must be in same schema as table it is linked to".into(),
                });
            }
            _ => {
                return Err(Error::syntax(
                    "invalid OWNED BY option: specify OWNED BY table.column or OWNED BY NONE",
                ));
            }
        };
        let exists = self
            .engine
            .storage()
            .read_catalog(|c| c.table(schema, table).is_some());
        if !exists {
            return Err(Error::UndefinedTable(table.clone()));
        }
        Ok(Some(OwnedBy {
            table: table.clone(),
            column: column.clone(),
            identity: false,
        }))
    }

    /// DROP SEQUENCE. A sequence a column's default draws from goes only
    /// with CASCADE, as in PostgreSQL (the default is then left to fail).
    pub(super) async fn drop_sequences(
        &mut self,
        names: &[ObjectName],
        if_exists: bool,
        cascade: bool,
    ) -> Result<Output> {
        let storage = self.engine.storage().clone();
        let mut dropped: Vec<(String, String)> = Vec::new();
        for name in names {
            let (schema, sequence) = self.resolve(name)?;
            let Some(entry) = storage.sequence(&schema, &sequence) else {
                if storage.read_catalog(|c| c.relation_exists(&schema, &sequence)) {
                    return Err(Error::Coded {
                        code: "42809",
                        message: format!("\"{sequence}\" is not a sequence"),
                    });
                }
                if !if_exists {
                    return Err(Error::UndefinedTable(sequence));
                }
                self.skipped("sequence", &schema, &sequence);
                continue;
            };
            self.require_owner("sequence", &schema, &sequence)?;
            if let Some(owner) = entry.owned_by.filter(|_| !cascade) {
                return Err(Error::Explained {
                    code: "2BP01",
                    message: format!(
                        "cannot drop sequence {sequence} because other objects depend on it"
                    ),
                    detail: format!(
                        "default value for column {} of table {} depends on sequence {sequence}",
                        owner.column, owner.table
                    ),
                    hint: Some("Use DROP ... CASCADE to drop the dependent objects too.".into()),
                });
            }
            dropped.push((schema, sequence));
        }
        for (schema, sequence) in dropped {
            storage.drop_sequences(&schema, &[sequence]).await?;
        }
        Ok(Output::Command(CommandTag::new("DROP SEQUENCE")))
    }
}
