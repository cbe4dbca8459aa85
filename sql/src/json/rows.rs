//! The rows of a json function's arguments, read: json values, text,
//! text[] (paths, keys), and any SQL value as JSON.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::error::Result;
use enishi_storage::json::{Kind, Node, parse};

use super::types::{is_json, is_jsonb};
use crate::error::Error;

/// A row's JSON argument: its text and the value read from it.
pub(super) struct Json {
    pub(super) text: String,
    pub(super) node: Node,
    pub(super) jsonb: bool,
}

impl Json {
    /// The value (or a member of it) as its type shows it.
    pub(super) fn show(&self, node: &Node) -> String {
        match self.jsonb {
            true => node.jsonb(),
            false => node.json(&self.text).into_owned(),
        }
    }
}

fn invalid(message: String) -> datafusion::error::DataFusionError {
    Error::InvalidTextRepresentation(message).into()
}

/// Each row of a json, jsonb or text argument, read.
pub(super) fn json_rows(array: &ArrayRef, field: &Field) -> Result<Vec<Option<Json>>> {
    let jsonb = is_jsonb(field);
    let text = cast(array, &DataType::Utf8)?;
    text.as_string::<i32>()
        .iter()
        .map(|v| {
            v.map(|t| {
                parse(t).map(|node| Json {
                    text: t.to_string(),
                    node,
                    jsonb,
                })
            })
            .transpose()
            .map_err(invalid)
        })
        .collect()
}

pub(super) fn text_rows(array: &ArrayRef) -> Result<Vec<Option<String>>> {
    let text = cast(array, &DataType::Utf8)?;
    Ok(text
        .as_string::<i32>()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

/// Each row of a text[] argument (a path, a list of keys).
pub(super) fn list_rows(array: &ArrayRef) -> Result<Vec<Option<Vec<Option<String>>>>> {
    // An untyped literal (`'{a,b}'`) reaches a function as text.
    if !matches!(array.data_type(), DataType::List(_)) {
        return text_rows(array)?
            .into_iter()
            .map(|text| {
                let Some(text) = text else {
                    return Ok(None);
                };
                let elements = crate::functions::array_input::parse(&text)?;
                Ok(Some(
                    elements
                        .into_iter()
                        .map(|e| match e {
                            crate::functions::array_input::Element::Text(t) => Some(t),
                            _ => None,
                        })
                        .collect(),
                ))
            })
            .collect::<std::result::Result<_, Error>>()
            .map_err(Into::into);
    }
    let list = cast(
        array,
        &DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
    )?;
    let list = list
        .as_any()
        .downcast_ref::<ListArray>()
        .ok_or_else(|| Error::DatatypeMismatch("a text[] argument is needed".into()))?;
    (0..list.len())
        .map(|row| {
            if list.is_null(row) {
                return Ok(None);
            }
            let items = list.value(row);
            Ok(Some(
                items
                    .as_string::<i32>()
                    .iter()
                    .map(|v| v.map(str::to_string))
                    .collect(),
            ))
        })
        .collect()
}

/// Each row of any SQL value as the JSON text a `json` (or, when `jsonb`,
/// a `jsonb`) result shows it: json text as written, else canonical.
pub fn json_texts(array: &ArrayRef, field: &Field, jsonb: bool) -> Result<Vec<Option<String>>> {
    if !jsonb && is_json(field) && !is_jsonb(field) {
        return text_rows(array);
    }
    Ok(sql_rows(array, field)?
        .iter()
        .map(|n| n.as_ref().map(Node::jsonb))
        .collect())
}

/// Each row of any SQL value, as JSON (to_json, build_array, agg).
pub fn sql_rows(array: &ArrayRef, field: &Field) -> Result<Vec<Option<Node>>> {
    if is_json(field) {
        return Ok(json_rows(array, field)?
            .into_iter()
            .map(|j| j.map(|j| j.node))
            .collect());
    }
    let kind_of = |text: &str| -> Kind {
        match array.data_type() {
            DataType::Boolean => Kind::Bool(text == "true"),
            t if t.is_integer() || matches!(t, DataType::Decimal128(..)) => {
                Kind::Number(text.to_string())
            }
            DataType::Float32 | DataType::Float64 => match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Kind::Number(text.to_string()),
                _ => Kind::String(text.to_string()),
            },
            _ => Kind::String(text.to_string()),
        }
    };
    if let DataType::List(item) = array.data_type() {
        let list = array.as_list::<i32>();
        return (0..list.len())
            .map(|row| {
                if list.is_null(row) {
                    return Ok(None);
                }
                let items = sql_rows(&list.value(row), item)?;
                Ok(Some(Node::built(Kind::Array(
                    items
                        .into_iter()
                        .map(|i| i.unwrap_or_else(|| Node::built(Kind::Null)))
                        .collect(),
                ))))
            })
            .collect();
    }
    let text = cast(array, &DataType::Utf8)?;
    Ok(text
        .as_string::<i32>()
        .iter()
        .map(|v| v.map(|t| Node::built(kind_of(t))))
        .collect())
}
