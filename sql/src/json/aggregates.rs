//! `json_agg`, `jsonb_agg`, `json_object_agg` and `jsonb_object_agg`.
//!
//! Each accumulator keeps the JSON text of its group's values (their order
//! is the input's, sorted first when the call has an ORDER BY) and writes
//! the array or object when evaluated; a group with no rows is NULL.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListArray, StringArray};
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::common::utils::{SingleRowListArrayBuilder, compare_rows};
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::{AggregateOrderSensitivity, format_state_name};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};

use super::rows::json_texts;
use super::types::typed_field;
use crate::error::Error;
use crate::types::oid;
use enishi_storage::json::{Kind, Node};

#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonAgg {
    name: &'static str,
    jsonb: bool,
    /// `*_object_agg(key, value)` rather than `*_agg(value)`.
    object: bool,
    signature: Signature,
}

pub fn all() -> Vec<AggregateUDF> {
    [
        ("json_agg", false, false),
        ("jsonb_agg", true, false),
        ("json_object_agg", false, true),
        ("jsonb_object_agg", true, true),
    ]
    .into_iter()
    .map(|(name, jsonb, object)| {
        AggregateUDF::new_from_impl(JsonAgg {
            name,
            jsonb,
            object,
            signature: Signature::any(if object { 2 } else { 1 }, Volatility::Immutable),
        })
    })
    .collect()
}

impl AggregateUDFImpl for JsonAgg {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field(&self, _args: &[FieldRef]) -> Result<FieldRef> {
        let pg = if self.jsonb { oid::JSONB } else { oid::JSON };
        Ok(Arc::new(typed_field(self.name, pg)))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let list = |name: &str, item: DataType| {
            Arc::new(Field::new_list(
                format_state_name(args.name, name),
                Field::new_list_field(item, true),
                true,
            ))
        };
        let mut fields = vec![
            list("items", DataType::Utf8),
            list("values", DataType::Utf8),
        ];
        for (i, field) in args.ordering_fields.iter().enumerate() {
            fields.push(list(&format!("order{i}"), field.data_type().clone()));
        }
        Ok(fields)
    }

    /// With an ORDER BY, the ordering values come with each row and the
    /// accumulator sorts (as DataFusion's array_agg does).
    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        AggregateOrderSensitivity::Beneficial
    }

    /// Sorted input or not, the accumulator sorts: nothing changes.
    fn with_beneficial_ordering(
        self: Arc<Self>,
        _beneficial_ordering: bool,
    ) -> Result<Option<Arc<dyn AggregateUDFImpl>>> {
        Ok(Some(self))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(Items {
            jsonb: self.jsonb,
            object: self.object,
            fields: args.expr_fields.to_vec(),
            order: args.order_bys.iter().map(|o| o.options).collect(),
            ordering_types: args
                .order_bys
                .iter()
                .map(|o| o.expr.data_type(args.schema))
                .collect::<Result<_>>()?,
            entries: Vec::new(),
        }))
    }
}

/// One row of a group: the value's JSON text (for an object, the key's),
/// the value's for an object, and the row's ORDER BY values.
#[derive(Debug)]
struct Entry {
    item: String,
    value: Option<String>,
    ordering: Vec<ScalarValue>,
}

#[derive(Debug)]
struct Items {
    jsonb: bool,
    object: bool,
    fields: Vec<FieldRef>,
    order: Vec<SortOptions>,
    ordering_types: Vec<DataType>,
    entries: Vec<Entry>,
}

impl Accumulator for Items {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let arguments = if self.object { 2 } else { 1 };
        let orderings = &values[arguments..];
        let ordering = |row: usize| {
            orderings
                .iter()
                .map(|o| ScalarValue::try_from_array(o, row))
                .collect::<Result<Vec<_>>>()
        };
        if self.object {
            let keys = datafusion::arrow::compute::cast(&values[0], &DataType::Utf8)?;
            let keys = keys.as_string::<i32>();
            let texts = json_texts(&values[1], &self.fields[1], self.jsonb)?;
            for (row, (key, text)) in keys.iter().zip(texts).enumerate() {
                let key = key.ok_or_else(|| {
                    datafusion::error::DataFusionError::from(Error::InvalidParameterValue(
                        "field name must not be null".into(),
                    ))
                })?;
                let mut quoted = String::new();
                enishi_storage::json::write_string(key, &mut quoted);
                self.entries.push(Entry {
                    item: quoted,
                    value: Some(text.unwrap_or_else(|| "null".into())),
                    ordering: ordering(row)?,
                });
            }
            return Ok(());
        }
        let texts = json_texts(&values[0], &self.fields[0], self.jsonb)?;
        for (row, text) in texts.into_iter().enumerate() {
            self.entries.push(Entry {
                item: text.unwrap_or_else(|| "null".into()),
                value: None,
                ordering: ordering(row)?,
            });
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states
            .iter()
            .map(|s| {
                s.as_any()
                    .downcast_ref::<ListArray>()
                    .ok_or_else(|| Error::Internal("json_agg's state".into()).into())
            })
            .collect::<Result<Vec<_>>>()?;
        for row in 0..lists[0].len() {
            if lists[0].is_null(row) {
                continue;
            }
            let items = lists[0].value(row);
            let values = lists[1].value(row);
            let orderings: Vec<ArrayRef> = lists[2..].iter().map(|l| l.value(row)).collect();
            let (items, values) = (items.as_string::<i32>(), values.as_string::<i32>());
            for at in 0..items.len() {
                self.entries.push(Entry {
                    item: items.value(at).to_string(),
                    value: values.is_valid(at).then(|| values.value(at).to_string()),
                    ordering: orderings
                        .iter()
                        .map(|o| ScalarValue::try_from_array(o, at))
                        .collect::<Result<_>>()?,
                });
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let list = |array: ArrayRef| {
            ScalarValue::List(Arc::new(
                SingleRowListArrayBuilder::new(array).build_list_array(),
            ))
        };
        let items: StringArray = self.entries.iter().map(|e| Some(e.item.as_str())).collect();
        let values: StringArray = self.entries.iter().map(|e| e.value.as_deref()).collect();
        let mut state = vec![list(Arc::new(items)), list(Arc::new(values))];
        for (i, data_type) in self.ordering_types.iter().enumerate() {
            let column = match self.entries.is_empty() {
                true => datafusion::arrow::array::new_empty_array(data_type),
                false => {
                    ScalarValue::iter_to_array(self.entries.iter().map(|e| e.ordering[i].clone()))?
                }
            };
            state.push(list(column));
        }
        Ok(state)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.entries.is_empty() {
            return Ok(ScalarValue::Utf8(None));
        }
        if !self.order.is_empty() {
            let order = self.order.clone();
            let mut failed = None;
            self.entries.sort_by(|a, b| {
                compare_rows(&a.ordering, &b.ordering, &order).unwrap_or_else(|e| {
                    failed = Some(e);
                    std::cmp::Ordering::Equal
                })
            });
            if let Some(e) = failed {
                return Err(e);
            }
        }
        if !self.object {
            let items: Vec<&str> = self.entries.iter().map(|e| e.item.as_str()).collect();
            return Ok(ScalarValue::Utf8(Some(format!("[{}]", items.join(", ")))));
        }
        let pairs: Vec<(&str, &str)> = self
            .entries
            .iter()
            .map(|e| (e.item.as_str(), e.value.as_deref().unwrap_or("null")))
            .collect();
        if !self.jsonb {
            let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} : {v}")).collect();
            return Ok(ScalarValue::Utf8(Some(format!(
                "{{ {} }}",
                inner.join(", ")
            ))));
        }
        // jsonb: read back as one object, written canonically.
        let members = pairs
            .iter()
            .map(|(k, v)| {
                let key = match enishi_storage::json::parse(k).map(|n| n.kind) {
                    Ok(Kind::String(s)) => s,
                    _ => (*k).to_string(),
                };
                enishi_storage::json::parse(v)
                    .map(|n| (key, n))
                    .map_err(|e| Error::InvalidTextRepresentation(e).into())
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ScalarValue::Utf8(Some(
            Node::built(Kind::Object(members)).jsonb(),
        )))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self
                .entries
                .iter()
                .map(|e| e.item.capacity() + e.value.as_ref().map_or(0, String::capacity) + 64)
                .sum::<usize>()
    }
}
