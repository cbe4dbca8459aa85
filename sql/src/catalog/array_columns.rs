//! The library keeps some of PostgreSQL's array columns as text
//! (`pg_proc.proargnames`, `pg_policy.polroles`); clients unnest them,
//! compare them with `= ANY` and cast them. These are retyped to the arrays
//! PostgreSQL has, their text read by the array input syntax.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListBuilder, RecordBatch, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;

use crate::error::{Error, Result};
use crate::functions::array_input::{self, Element};

/// Each library table's columns that are arrays in PostgreSQL, with their
/// element types (`"char"`, `text` and `aclitem` arrays read as text).
pub(super) const ARRAY_COLUMNS: &[(&str, &[(&str, DataType)])] = &[
    (
        "pg_proc",
        &[
            ("proallargtypes", DataType::Int32),
            ("proargmodes", DataType::Utf8),
            ("proargnames", DataType::Utf8),
            ("proconfig", DataType::Utf8),
            ("proacl", DataType::Utf8),
        ],
    ),
    ("pg_policy", &[("polroles", DataType::Int32)]),
    (
        "pg_statistic_ext",
        &[("stxkind", DataType::Utf8), ("stxkeys", DataType::Int16)],
    ),
    ("pg_publication_rel", &[("prattrs", DataType::Int16)]),
    ("pg_trigger", &[("tgattr", DataType::Int16)]),
    ("pg_type", &[("typacl", DataType::Utf8)]),
    ("pg_default_acl", &[("defaclacl", DataType::Utf8)]),
    ("pg_language", &[("lanacl", DataType::Utf8)]),
    ("pg_tablespace", &[("spcacl", DataType::Utf8)]),
    ("pg_foreign_data_wrapper", &[("fdwacl", DataType::Utf8)]),
    ("pg_foreign_server", &[("srvacl", DataType::Utf8)]),
    ("pg_largeobject_metadata", &[("lomacl", DataType::Utf8)]),
    (
        "pg_attribute",
        &[("attacl", DataType::Utf8), ("attoptions", DataType::Utf8)],
    ),
];

fn list_of(element: &DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(element.clone(), true)))
}

/// `schema` with table `name`'s array columns typed as arrays.
pub(super) fn retyped_schema(name: &str, schema: &SchemaRef) -> SchemaRef {
    let Some((_, columns)) = ARRAY_COLUMNS.iter().find(|(table, _)| *table == name) else {
        return schema.clone();
    };
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match columns.iter().find(|(c, _)| c == f.name()) {
            Some((_, element)) => f.as_ref().clone().with_data_type(list_of(element)),
            None => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// A library table's rows with its array columns read into arrays, or None
/// for a table that has none.
pub(super) fn retyped_table(
    name: &str,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<Option<MemTable>> {
    let retyped = retyped_schema(name, schema);
    if retyped == *schema {
        return Ok(None);
    }
    let batches = batches
        .iter()
        .map(|batch| {
            let columns = retyped
                .fields()
                .iter()
                .zip(batch.columns())
                .map(|(field, column)| match field.data_type() {
                    DataType::List(element) if column.data_type() != field.data_type() => {
                        read_arrays(column, element.data_type())
                    }
                    _ => Ok(column.clone()),
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(RecordBatch::try_new(retyped.clone(), columns)?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(MemTable::try_new(retyped, vec![batches])?))
}

/// The library's other spelling of an array, `['a', 'b']` or `[23, 25]`.
fn listed(text: &str) -> Option<Vec<Element>> {
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    let mut items = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else {
            break;
        };
        let item = if first == '\'' || first == '"' {
            chars.next();
            let mut item = String::new();
            loop {
                match chars.next()? {
                    '\\' => item.push(chars.next()?),
                    c if c == first => break,
                    c => item.push(c),
                }
            }
            item
        } else {
            let mut item = String::new();
            while let Some(c) = chars.next_if(|c| *c != ',') {
                item.push(c);
            }
            item.trim().to_string()
        };
        items.push(Element::Text(item));
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.next() {
            Some(',') | None => {}
            Some(_) => return None,
        }
    }
    Some(items)
}

/// Text in the array input syntax as arrays of `element`.
fn read_arrays(column: &ArrayRef, element: &DataType) -> Result<ArrayRef> {
    let text = cast(column, &DataType::Utf8)?;
    let mut out = ListBuilder::new(StringBuilder::new());
    for value in text.as_string::<i32>().iter() {
        let Some(value) = value else {
            out.append_null();
            continue;
        };
        let items = match value.starts_with('[') {
            true => listed(value)
                .ok_or_else(|| Error::Internal(format!("unreadable catalog array: {value}")))?,
            false => array_input::parse(value)?,
        };
        for item in items {
            match item {
                Element::Text(t) => out.values().append_value(t),
                Element::Null => out.values().append_null(),
                Element::Array(_) => {
                    return Err(Error::Internal(format!("nested catalog array: {value}")));
                }
            }
        }
        out.append(true);
    }
    let texts: ArrayRef = Arc::new(out.finish());
    Ok(cast(&texts, &list_of(element))?)
}
