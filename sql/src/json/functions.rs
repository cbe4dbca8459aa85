//! The json and jsonb functions and the functions behind their operators.
//!
//! Values of both types are text underneath; the field's PostgreSQL type
//! (its metadata) says which, and each function's result carries its type
//! the same way, so clients are told `json`, `jsonb`, `text` or `boolean`
//! as PostgreSQL would tell them.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int32Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use enishi_storage::json::{Kind, Node};

use super::edits::{compact, concat, delete, pretty, set, strip_nulls};
use super::rows::{Json, json_rows, list_rows, sql_rows, text_rows};
pub use super::types::{coded, is_json, is_jsonb, typed_field};
use crate::error::Error;
use crate::types::oid;

/// What a function does; its name is PostgreSQL's, or for an operator's
/// function a name of ours (`->` is [`Op::Field`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `json_in`/`jsonb_in`: reads text (casts to json and jsonb).
    In(bool),
    /// `->` (and `->>` when text).
    Field {
        text: bool,
    },
    /// `#>` (and `#>>`), and `json[b]_extract_path[_text]`.
    Path {
        text: bool,
    },
    /// `@>`; `<@` when reversed.
    Contains {
        reversed: bool,
    },
    /// `?`, `?|` (any), `?&` (all).
    Exists(Exists),
    /// `||` of two jsonb values.
    Concat,
    /// `-` of a key, an index, or a list of keys.
    Delete,
    TypeOf,
    ArrayLength,
    /// `to_json`/`to_jsonb`.
    To(bool),
    /// `json_build_array`/`jsonb_build_array`.
    BuildArray(bool),
    /// `jsonb_build_object` (json's is `functions::json`).
    BuildObject,
    /// `jsonb_set(target, path, value [, create_missing])`.
    Set,
    StripNulls(bool),
    Pretty,
    /// The rows of `json[b]_array_elements[_text]` as an array (the
    /// statement unnests it; see `statement::patterns`).
    Elements {
        text: bool,
    },
    /// The rows of `json[b]_object_keys`, as an array.
    Keys,
    /// The `value` column of `json[b]_each[_text]` (beside the keys), as an
    /// array.
    EachValues {
        text: bool,
    },
}

/// The array function behind a set-returning json function.
pub fn set_returning_array(name: &str) -> Option<&'static str> {
    Some(match name {
        "json_array_elements" => "pg_json_array_elements",
        "jsonb_array_elements" => "pg_jsonb_array_elements",
        "json_array_elements_text" => "pg_json_array_elements_text",
        "jsonb_array_elements_text" => "pg_jsonb_array_elements_text",
        "json_object_keys" => "pg_json_object_keys",
        "jsonb_object_keys" => "pg_jsonb_object_keys",
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exists {
    One,
    Any,
    All,
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonFunction {
    name: &'static str,
    op: Op,
    signature: Signature,
}

impl JsonFunction {
    pub fn new(name: &'static str, op: Op) -> Self {
        Self {
            name,
            op,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// Every json function, by name (operators' functions included).
pub fn all() -> Vec<JsonFunction> {
    use Op::*;
    [
        ("json_in", In(false)),
        ("jsonb_in", In(true)),
        (super::FIELD, Field { text: false }),
        (super::FIELD_TEXT, Field { text: true }),
        (super::PATH, Path { text: false }),
        (super::PATH_TEXT, Path { text: true }),
        ("json_extract_path", Path { text: false }),
        ("jsonb_extract_path", Path { text: false }),
        ("json_extract_path_text", Path { text: true }),
        ("jsonb_extract_path_text", Path { text: true }),
        (super::CONTAINS, Contains { reversed: false }),
        (super::CONTAINED, Contains { reversed: true }),
        ("jsonb_contains", Contains { reversed: false }),
        ("jsonb_contained", Contains { reversed: true }),
        (super::EXISTS, Exists(self::Exists::One)),
        (super::EXISTS_ANY, Exists(self::Exists::Any)),
        (super::EXISTS_ALL, Exists(self::Exists::All)),
        ("jsonb_exists", Exists(self::Exists::One)),
        (super::CONCAT, Concat),
        ("jsonb_concat", Concat),
        (super::DELETE, Delete),
        ("json_typeof", TypeOf),
        ("jsonb_typeof", TypeOf),
        ("json_array_length", ArrayLength),
        ("jsonb_array_length", ArrayLength),
        ("to_json", To(false)),
        ("to_jsonb", To(true)),
        ("json_build_array", BuildArray(false)),
        ("jsonb_build_array", BuildArray(true)),
        ("jsonb_build_object", BuildObject),
        ("jsonb_set", Set),
        ("json_strip_nulls", StripNulls(false)),
        ("jsonb_strip_nulls", StripNulls(true)),
        ("jsonb_pretty", Pretty),
        ("pg_json_array_elements", Elements { text: false }),
        ("pg_jsonb_array_elements", Elements { text: false }),
        ("pg_json_array_elements_text", Elements { text: true }),
        ("pg_jsonb_array_elements_text", Elements { text: true }),
        ("pg_json_object_keys", Keys),
        ("pg_jsonb_object_keys", Keys),
        ("pg_json_each_keys", Keys),
        ("pg_jsonb_each_keys", Keys),
        ("pg_json_each_text_keys", Keys),
        ("pg_jsonb_each_text_keys", Keys),
        ("pg_json_each_values", EachValues { text: false }),
        ("pg_jsonb_each_values", EachValues { text: false }),
        ("pg_json_each_text_values", EachValues { text: true }),
        ("pg_jsonb_each_text_values", EachValues { text: true }),
    ]
    .into_iter()
    .map(|(name, op)| JsonFunction::new(name, op))
    .collect()
}

impl JsonFunction {
    /// The PostgreSQL type of the result (an OID), or None for a boolean
    /// or integer result.
    fn result(&self, args: &[FieldRef]) -> Result<DataType> {
        Ok(match self.op {
            Op::Contains { .. } | Op::Exists(_) => DataType::Boolean,
            Op::ArrayLength => DataType::Int32,
            _ => DataType::Utf8,
        })
        .and_then(|t| {
            if args.is_empty() && !matches!(self.op, Op::BuildArray(_) | Op::BuildObject) {
                return Err(Error::UndefinedFunction(format!(
                    "function {}() does not exist",
                    self.name
                ))
                .into());
            }
            Ok(t)
        })
    }

    fn result_oid(&self, args: &[FieldRef]) -> u32 {
        let same = || match args.first() {
            Some(f) if is_jsonb(f) => oid::JSONB,
            _ => oid::JSON,
        };
        match self.op {
            Op::In(b) | Op::To(b) | Op::BuildArray(b) | Op::StripNulls(b) => {
                if b {
                    oid::JSONB
                } else {
                    oid::JSON
                }
            }
            Op::Field { text: false } | Op::Path { text: false } => same(),
            Op::Concat | Op::Delete | Op::BuildObject | Op::Set => oid::JSONB,
            Op::Contains { .. } | Op::Exists(_) => oid::BOOL,
            Op::ArrayLength => oid::INT4,
            _ => oid::TEXT,
        }
    }
}

impl JsonFunction {
    /// The arguments that are json values (the others are keys, paths, or
    /// any value).
    fn json_args(&self) -> &'static [usize] {
        match self.op {
            Op::Contains { .. } | Op::Concat => &[0, 1],
            Op::Set => &[0, 2],
            Op::In(_) | Op::To(_) | Op::BuildArray(_) | Op::BuildObject => &[],
            _ => &[0],
        }
    }

    /// The arguments' fields, an untyped (text) json argument of a jsonb
    /// function taken as jsonb, as PostgreSQL resolves its literal.
    fn resolved(&self, fields: &[FieldRef]) -> Vec<FieldRef> {
        let jsonb = self.name.starts_with("jsonb") || self.name.starts_with("pg_jsonb");
        fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if jsonb && self.json_args().contains(&i) && !is_json(f) {
                    Arc::new(typed_field(f.name(), oid::JSONB))
                } else {
                    f.clone()
                }
            })
            .collect()
    }
}

impl ScalarUDFImpl for JsonFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Arguments keep their types (and the json/jsonb they carry).
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        Ok(arg_types
            .iter()
            .map(|t| match t {
                DataType::Null => DataType::Utf8,
                t => t.clone(),
            })
            .collect())
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let fields = self.resolved(args.arg_fields);
        let args = ReturnFieldArgs {
            arg_fields: &fields,
            scalar_arguments: args.scalar_arguments,
        };
        if let Op::Elements { text: false } | Op::EachValues { text: false } = self.op {
            let pg = match self.name.starts_with("pg_jsonb") {
                true => oid::JSONB,
                false => oid::JSON,
            };
            let item = typed_field("value", pg);
            return Ok(Arc::new(Field::new(
                self.name,
                DataType::List(Arc::new(item)),
                true,
            )));
        }
        if let Op::Elements { text: true } | Op::Keys | Op::EachValues { text: true } = self.op {
            let item = Field::new_list_field(DataType::Utf8, true);
            return Ok(Arc::new(Field::new(
                self.name,
                DataType::List(Arc::new(item)),
                true,
            )));
        }
        let data_type = self.result(args.arg_fields)?;
        let pg = self.result_oid(args.arg_fields);
        let field = match data_type {
            DataType::Utf8 => typed_field(self.name, pg),
            other => Field::new(self.name, other, true),
        };
        Ok(Arc::new(field))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        let fields = self.resolved(&args.arg_fields);
        let out = match self.op {
            Op::Elements { text } => {
                elements(&arrays[0], &fields[0], text, args.return_field.data_type())?
            }
            Op::Keys if self.name.contains("_each") => each(
                &arrays[0],
                &fields[0],
                None,
                self.name,
                args.return_field.data_type(),
            )?,
            Op::Keys => keys(&arrays[0], &fields[0])?,
            Op::EachValues { text } => each(
                &arrays[0],
                &fields[0],
                Some(text),
                self.name,
                args.return_field.data_type(),
            )?,
            op => evaluate(op, &arrays, &fields, rows)?,
        };
        // A constant in, a constant out (keeps constant folding simple).
        // (Not a list: a list scalar would lose its elements' type.)
        if args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)))
            && rows == 1
            && !matches!(out.data_type(), DataType::List(_))
        {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?));
        }
        Ok(ColumnarValue::Array(out))
    }
}

fn evaluate(op: Op, arrays: &[ArrayRef], fields: &[FieldRef], rows: usize) -> Result<ArrayRef> {
    let arg = |i: usize| -> Result<(&ArrayRef, &Field)> {
        match (arrays.get(i), fields.get(i)) {
            (Some(a), Some(f)) => Ok((a, f.as_ref())),
            _ => Err(Error::UndefinedFunction("a json function lacks an argument".into()).into()),
        }
    };
    let texts = |out: Vec<Option<String>>| -> ArrayRef { Arc::new(StringArray::from(out)) };
    match op {
        Op::In(jsonb) => {
            let (array, _) = arg(0)?;
            let field = typed_field("", if jsonb { oid::JSONB } else { oid::JSON });
            let values = json_rows(array, &field)?;
            Ok(texts(
                values
                    .iter()
                    .map(|v| {
                        v.as_ref().map(|j| match jsonb {
                            true => j.node.jsonb(),
                            false => j.text.clone(),
                        })
                    })
                    .collect(),
            ))
        }
        Op::Field { text } => {
            let (array, field) = arg(0)?;
            let values = json_rows(array, field)?;
            let (key, key_field) = arg(1)?;
            let by_index = key_field.data_type().is_integer();
            let keys = text_rows(key)?;
            let out = values
                .iter()
                .zip(keys)
                .map(|(value, key)| {
                    let (value, key) = (value.as_ref()?, key?);
                    let member = match by_index {
                        true => value.node.element(key.parse().ok()?),
                        false => value.node.member(&key),
                    }?;
                    shown(value, member, text)
                })
                .collect();
            Ok(texts(out))
        }
        Op::Path { text } => {
            let (array, field) = arg(0)?;
            let values = json_rows(array, field)?;
            // `#>` takes a text[]; the extract_path functions, the steps.
            let paths: Vec<Option<Vec<Option<String>>>> = match arrays.len() {
                2 if matches!(arrays[1].data_type(), DataType::List(_)) => list_rows(&arrays[1])?,
                _ => {
                    let steps = arrays[1..]
                        .iter()
                        .map(text_rows)
                        .collect::<Result<Vec<_>>>()?;
                    (0..rows)
                        .map(|row| Some(steps.iter().map(|s| s[row].clone()).collect()))
                        .collect()
                }
            };
            let out = values
                .iter()
                .zip(paths)
                .map(|(value, path)| {
                    let value = value.as_ref()?;
                    let mut node = &value.node;
                    for step in path? {
                        node = node.step(&step?)?;
                    }
                    shown(value, node, text)
                })
                .collect();
            Ok(texts(out))
        }
        Op::Contains { reversed } => {
            let (a, af) = arg(0)?;
            let (b, bf) = arg(1)?;
            let (left, right) = (json_rows(a, af)?, json_rows(b, bf)?);
            let out: BooleanArray = left
                .iter()
                .zip(&right)
                .map(|(l, r)| {
                    let (l, r) = (l.as_ref()?, r.as_ref()?);
                    Some(match reversed {
                        false => l.node.contains(&r.node),
                        true => r.node.contains(&l.node),
                    })
                })
                .collect();
            Ok(Arc::new(out))
        }
        Op::Exists(how) => {
            let (a, af) = arg(0)?;
            let values = json_rows(a, af)?;
            let keys: Vec<Option<Vec<Option<String>>>> = match how {
                Exists::One => text_rows(&arrays[1])?
                    .into_iter()
                    .map(|k| k.map(|k| vec![Some(k)]))
                    .collect(),
                _ => list_rows(&arrays[1])?,
            };
            let out: BooleanArray = values
                .iter()
                .zip(keys)
                .map(|(v, keys)| {
                    let (v, keys) = (v.as_ref()?, keys?);
                    let mut present = keys.iter().flatten().map(|k| v.node.has_key(k));
                    Some(match how {
                        Exists::One | Exists::Any => present.any(|p| p),
                        Exists::All => present.all(|p| p),
                    })
                })
                .collect();
            Ok(Arc::new(out))
        }
        Op::Concat => {
            let (a, af) = arg(0)?;
            let (b, bf) = arg(1)?;
            let (left, right) = (json_rows(a, af)?, json_rows(b, bf)?);
            let out = left
                .iter()
                .zip(&right)
                .map(|(l, r)| Some(concat(&l.as_ref()?.node, &r.as_ref()?.node).jsonb()))
                .collect();
            Ok(texts(out))
        }
        Op::Delete => {
            let (a, af) = arg(0)?;
            let values = json_rows(a, af)?;
            let (b, bf) = arg(1)?;
            let mut out = Vec::with_capacity(rows);
            let keys: Vec<Option<Vec<Option<String>>>> = match bf.data_type() {
                DataType::List(_) => list_rows(b)?,
                _ => text_rows(b)?
                    .into_iter()
                    .map(|k| k.map(|k| vec![Some(k)]))
                    .collect(),
            };
            for (value, keys) in values.iter().zip(keys) {
                let (Some(value), Some(keys)) = (value, keys) else {
                    out.push(None);
                    continue;
                };
                let keys: Vec<String> = keys.into_iter().flatten().collect();
                out.push(Some(
                    delete(&value.node, &keys, bf.data_type().is_integer())?.jsonb(),
                ));
            }
            Ok(texts(out))
        }
        Op::TypeOf => {
            let (a, af) = arg(0)?;
            let out = json_rows(a, af)?
                .iter()
                .map(|v| v.as_ref().map(|v| v.node.type_name().to_string()))
                .collect();
            Ok(texts(out))
        }
        Op::ArrayLength => {
            let (a, af) = arg(0)?;
            let mut out = Vec::with_capacity(rows);
            for v in json_rows(a, af)? {
                out.push(match v.map(|v| v.node.kind) {
                    None => None,
                    Some(Kind::Array(items)) => Some(items.len() as i32),
                    Some(Kind::Object(_)) => {
                        return Err(coded("22023", "cannot get array length of a non-array"));
                    }
                    Some(_) => {
                        return Err(coded("22023", "cannot get array length of a scalar"));
                    }
                });
            }
            Ok(Arc::new(Int32Array::from(out)))
        }
        Op::To(_) => {
            let (a, af) = arg(0)?;
            Ok(texts(
                sql_rows(a, af)?
                    .iter()
                    .map(|v| v.as_ref().map(Node::jsonb))
                    .collect(),
            ))
        }
        Op::BuildArray(_) => {
            let columns = arrays
                .iter()
                .zip(fields)
                .map(|(a, f)| sql_rows(a, f))
                .collect::<Result<Vec<_>>>()?;
            let out = (0..rows)
                .map(|row| {
                    let items = columns
                        .iter()
                        .map(|c| c[row].clone().unwrap_or_else(|| Node::built(Kind::Null)))
                        .collect();
                    Some(Node::built(Kind::Array(items)).jsonb())
                })
                .collect();
            Ok(texts(out))
        }
        Op::BuildObject => {
            if !arrays.len().is_multiple_of(2) {
                return Err(Error::InvalidParameterValue(
                    "argument list must have even number of elements".into(),
                )
                .into());
            }
            let keys = arrays
                .iter()
                .step_by(2)
                .map(text_rows)
                .collect::<Result<Vec<_>>>()?;
            let values = arrays
                .iter()
                .zip(fields)
                .skip(1)
                .step_by(2)
                .map(|(a, f)| sql_rows(a, f))
                .collect::<Result<Vec<_>>>()?;
            let mut out = Vec::with_capacity(rows);
            for row in 0..rows {
                let mut members = Vec::with_capacity(keys.len());
                for (k, v) in keys.iter().zip(&values) {
                    let key = k[row].clone().ok_or_else(|| {
                        Error::InvalidParameterValue("argument 1: key must not be null".into())
                    })?;
                    members.push((
                        key,
                        v[row].clone().unwrap_or_else(|| Node::built(Kind::Null)),
                    ));
                }
                out.push(Some(Node::built(Kind::Object(members)).jsonb()));
            }
            Ok(texts(out))
        }
        Op::Set => {
            let (a, af) = arg(0)?;
            let targets = json_rows(a, af)?;
            let paths = list_rows(&arrays[1])?;
            let (n, nf) = arg(2)?;
            let new = json_rows(n, nf)?;
            let create: Vec<Option<bool>> = match arrays.get(3) {
                Some(c) => cast(c, &DataType::Boolean)?.as_boolean().iter().collect(),
                None => vec![Some(true); rows],
            };
            let mut out = Vec::with_capacity(rows);
            for row in 0..rows {
                let (Some(target), Some(path), Some(new), Some(create)) =
                    (&targets[row], &paths[row], &new[row], create[row])
                else {
                    out.push(None);
                    continue;
                };
                let path: Vec<String> = path.iter().flatten().cloned().collect();
                let mut node = target.node.clone();
                set(&mut node, &path, &new.node, create)?;
                out.push(Some(node.jsonb()));
            }
            Ok(texts(out))
        }
        Op::StripNulls(jsonb) => {
            let (a, af) = arg(0)?;
            let out = json_rows(a, af)?
                .iter()
                .map(|v| {
                    v.as_ref().map(|v| {
                        let stripped = strip_nulls(&v.node);
                        match jsonb {
                            true => stripped.jsonb(),
                            false => compact(&stripped),
                        }
                    })
                })
                .collect();
            Ok(texts(out))
        }
        Op::Elements { .. } | Op::Keys | Op::EachValues { .. } => {
            unreachable!("evaluated as arrays")
        }
        Op::Pretty => {
            let (a, af) = arg(0)?;
            let out = json_rows(a, af)?
                .iter()
                .map(|v| {
                    v.as_ref().map(|v| {
                        let mut out = String::new();
                        pretty(&v.node, 0, &mut out);
                        out
                    })
                })
                .collect();
            Ok(texts(out))
        }
    }
}

/// A builder of the lists of strings `list` (a function's return type) holds.
fn string_lists(
    list: &DataType,
) -> Result<datafusion::arrow::array::ListBuilder<datafusion::arrow::array::StringBuilder>> {
    let DataType::List(item) = list else {
        return Err(Error::Internal(format!("a list, not {list}")).into());
    };
    Ok(
        datafusion::arrow::array::ListBuilder::new(datafusion::arrow::array::StringBuilder::new())
            .with_field(item.clone()),
    )
}

/// Each row's array elements, as json/jsonb (or text) in a list.
fn elements(array: &ArrayRef, field: &Field, text: bool, list: &DataType) -> Result<ArrayRef> {
    let mut builder = string_lists(list)?;
    for value in json_rows(array, field)? {
        let Some(value) = value else {
            builder.append_null();
            continue;
        };
        let Kind::Array(items) = &value.node.kind else {
            let what = match value.node.kind {
                Kind::Object(_) => "an object",
                _ => "a scalar",
            };
            return Err(coded(
                "22023",
                &format!("cannot extract elements from {what}"),
            ));
        };
        for item in items {
            builder.values().append_option(shown(&value, item, text));
        }
        builder.append(true);
    }
    Ok(Arc::new(builder.finish()))
}

/// Each row's object keys, in a list.
fn keys(array: &ArrayRef, field: &Field) -> Result<ArrayRef> {
    let mut builder =
        datafusion::arrow::array::ListBuilder::new(datafusion::arrow::array::StringBuilder::new());
    for value in json_rows(array, field)? {
        let Some(value) = value else {
            builder.append_null();
            continue;
        };
        match &value.node.kind {
            Kind::Object(members) => {
                let keys: Vec<&str> = match value.jsonb {
                    true => value
                        .node
                        .jsonb_members()
                        .into_iter()
                        .map(|(k, _)| k)
                        .collect(),
                    false => members.iter().map(|(k, _)| k.as_str()).collect(),
                };
                for key in keys {
                    builder.values().append_value(key);
                }
            }
            Kind::Array(_) => {
                return Err(coded("22023", "cannot call jsonb_object_keys on an array"));
            }
            _ => return Err(coded("22023", "cannot call jsonb_object_keys on a scalar")),
        }
        builder.append(true);
    }
    Ok(Arc::new(builder.finish()))
}

/// The columns of `json[b]_each[_text]` (the statement unnests them side by
/// side): each row's object keys (`values` None), or its member values in
/// the same order, as json/jsonb or (`Some(true)`) as text. `name` is the
/// function the errors name.
fn each(
    array: &ArrayRef,
    field: &Field,
    values: Option<bool>,
    name: &str,
    list: &DataType,
) -> Result<ArrayRef> {
    let mut builder = string_lists(list)?;
    for value in json_rows(array, field)? {
        let Some(value) = value else {
            builder.append_null();
            continue;
        };
        let members: Vec<(&str, &Node)> = match (&value.node.kind, value.jsonb) {
            (Kind::Object(_), true) => value.node.jsonb_members(),
            (Kind::Object(members), false) => {
                members.iter().map(|(k, v)| (k.as_str(), v)).collect()
            }
            (_, true) => {
                let function = name
                    .trim_start_matches("pg_")
                    .trim_end_matches("_keys")
                    .trim_end_matches("_values");
                return Err(coded(
                    "22023",
                    &format!("cannot call {function} on a non-object"),
                ));
            }
            (Kind::Array(_), false) => {
                return Err(coded("22023", "cannot deconstruct an array as an object"));
            }
            (_, false) => return Err(coded("22023", "cannot deconstruct a scalar")),
        };
        for (key, member) in members {
            match values {
                None => builder.values().append_value(key),
                Some(text) => builder.values().append_option(shown(&value, member, text)),
            }
        }
        builder.append(true);
    }
    Ok(Arc::new(builder.finish()))
}

/// What `->`/`#>` yield: the member as its type shows it; for `->>` and
/// `#>>`, text: a string unquoted, a JSON null as NULL.
fn shown(value: &Json, member: &Node, text: bool) -> Option<String> {
    match (&member.kind, text) {
        (Kind::String(s), true) => Some(s.clone()),
        (Kind::Null, true) => None,
        _ => Some(value.show(member)),
    }
}
