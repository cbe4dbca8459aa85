//! The functions of sequences: `nextval`, `currval`, `setval`, `lastval`
//! and `pg_get_serial_sequence`, resolved as this session's search_path
//! resolves names. A sequence is named by text (`nextval('s')`) or by OID
//! (`nextval('s'::regclass)`, as serial columns' defaults say).
//!
//! Values are handed out by storage, which may have to claim a new range
//! in the object store: the functions wait for that on the runtime, outside
//! DataFusion's synchronous call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use enishi_storage::{SequenceEntry, Storage};

use crate::error::Error;
use crate::settings::Settings;
use crate::system_tables::{Oids, quote_name};

/// The values this session has had from each sequence (currval, lastval).
#[derive(Debug, Default)]
struct Used {
    by_sequence: HashMap<u64, i64>,
    last: Option<(u64, String)>,
}

/// What the functions share: how names resolve, and what the session used.
struct Sequences {
    storage: Arc<Storage>,
    oids: Arc<Oids>,
    settings: Arc<RwLock<Settings>>,
    used: Mutex<Used>,
}

/// A sequence found by name or OID: its name and definition.
struct Found {
    name: String,
    entry: SequenceEntry,
}

impl Sequences {
    /// The sequence a text argument names, looked up like a relation.
    fn by_name(&self, text: &str) -> Result<Found, Error> {
        let parts = super::names::identifier_parts(text)?;
        let (schemas, name) = match parts.as_slice() {
            [name] => (
                self.settings.read().expect("settings lock").lookup_path(),
                name,
            ),
            [schema, name] => (vec![schema.clone()], name),
            _ => return Err(Error::UndefinedTable(text.to_string())),
        };
        self.storage.read_catalog(|c| {
            let schema = schemas
                .iter()
                .find(|s| c.relation_exists(s, name))
                .ok_or_else(|| Error::UndefinedTable(text.to_string()))?;
            found(c, schema, name)
        })
    }

    /// The sequence with an OID.
    fn by_oid(&self, oid: i64) -> Result<Found, Error> {
        self.storage.read_catalog(|c| {
            for (schema, s) in &c.schemas {
                for name in s
                    .tables
                    .keys()
                    .chain(s.views.keys())
                    .chain(s.sequences.keys())
                {
                    if i64::from(self.oids.relation(schema, name)) == oid {
                        return found(c, schema, name);
                    }
                }
            }
            Err(Error::UndefinedTable(format!("with OID {oid}")))
        })
    }

    fn resolve(&self, arg: &ScalarValue) -> Result<Option<Found>, Error> {
        Ok(match arg {
            ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) => Some(self.by_name(s)?),
            ScalarValue::Int64(Some(oid)) => Some(self.by_oid(*oid)?),
            ScalarValue::Int32(Some(oid)) => Some(self.by_oid(i64::from(*oid))?),
            _ => None,
        })
    }

    fn remember(&self, found: &Found, value: i64) {
        let mut used = self.used.lock().expect("sequences lock");
        used.by_sequence.insert(found.entry.id, value);
        used.last = Some((found.entry.id, found.name.clone()));
    }

    /// `nextval`: `n` values of each row's sequence.
    fn next(&self, arg: &ColumnarValue, rows: usize) -> Result<ColumnarValue, Error> {
        if rows == 0 {
            return Ok(ColumnarValue::Array(Arc::new(Int64Array::from(
                Vec::<i64>::new(),
            ))));
        }
        if let ColumnarValue::Scalar(s) = arg {
            let Some(found) = self.resolve(s)? else {
                return Ok(ColumnarValue::Scalar(ScalarValue::Int64(None)));
            };
            let values = wait(self.storage.next_values(&found.name, &found.entry, rows))?;
            if let Some(last) = values.last() {
                self.remember(&found, *last);
            }
            return Ok(match rows {
                1 => ColumnarValue::Scalar(ScalarValue::Int64(values.first().copied())),
                _ => ColumnarValue::Array(Arc::new(Int64Array::from(values))),
            });
        }
        let array = arg.to_array(rows)?;
        let mut out = Vec::with_capacity(array.len());
        for i in 0..array.len() {
            let Some(found) = self.resolve(&ScalarValue::try_from_array(&array, i)?)? else {
                out.push(None);
                continue;
            };
            let value = wait(self.storage.next_values(&found.name, &found.entry, 1))?[0];
            self.remember(&found, value);
            out.push(Some(value));
        }
        Ok(ColumnarValue::Array(Arc::new(Int64Array::from(out))))
    }

    /// `currval`: the value this session last had from the sequence.
    fn current(&self, arg: &ScalarValue) -> Result<Option<i64>, Error> {
        let Some(found) = self.resolve(arg)? else {
            return Ok(None);
        };
        let used = self.used.lock().expect("sequences lock");
        match used.by_sequence.get(&found.entry.id) {
            Some(value) => Ok(Some(*value)),
            None => Err(Error::Coded {
                code: "55000",
                message: format!(
                    "currval of sequence \"{}\" is not yet defined in this session",
                    found.name
                ),
            }),
        }
    }

    /// `lastval`: the value this session last had from any sequence that
    /// still exists.
    fn last(&self) -> Result<i64, Error> {
        let used = self.used.lock().expect("sequences lock");
        let undefined = || Error::Coded {
            code: "55000",
            message: "lastval is not yet defined in this session".into(),
        };
        let (id, name) = used.last.as_ref().ok_or_else(undefined)?;
        let exists = self.storage.read_catalog(|c| {
            c.schemas
                .values()
                .any(|s| s.sequences.values().any(|e| e.id == *id))
        });
        if !exists {
            return Err(Error::UndefinedTable(name.clone()));
        }
        used.by_sequence.get(id).copied().ok_or_else(undefined)
    }

    /// `setval(s, value [, is_called])`.
    fn set(&self, arg: &ScalarValue, value: i64, is_called: bool) -> Result<(), Error> {
        let Some(found) = self.resolve(arg)? else {
            return Ok(());
        };
        let entry = &found.entry;
        if !(entry.min..=entry.max).contains(&value) {
            return Err(Error::NumericValueOutOfRange(format!(
                "setval: value {value} is out of bounds for sequence \"{}\" ({}..{})",
                found.name, entry.min, entry.max
            )));
        }
        wait(self.storage.set_sequence(entry, value, is_called))?;
        if is_called {
            self.remember(&found, value);
        }
        Ok(())
    }
}

/// The sequence `schema.name` of catalog `c`; 42809 when the relation is
/// something else.
fn found(c: &enishi_storage::CatalogState, schema: &str, name: &str) -> Result<Found, Error> {
    let entry = c
        .schema(schema)
        .and_then(|s| s.sequences.get(name))
        .cloned()
        .ok_or_else(|| Error::Coded {
            code: "42809",
            message: format!("\"{name}\" is not a sequence"),
        })?;
    Ok(Found {
        name: name.to_string(),
        entry,
    })
}

/// Waits for storage from inside a function call: the runtime's other
/// tasks go on meanwhile (on a single-threaded runtime, on a thread of its
/// own).
fn wait<T: Send>(
    future: impl std::future::Future<Output = Result<T, enishi_storage::StorageError>> + Send,
) -> Result<T, Error> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let result = match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| handle.block_on(future))
        }
        _ => std::thread::scope(|s| {
            s.spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| Error::Internal(e.to_string()))
                    .map(|runtime| runtime.block_on(future))
            })
            .join()
            .map_err(|_| Error::Internal("sequence claim panicked".into()))
        })??,
    };
    result.map_err(|e| Error::from_storage(&e))
}

/// Which of the functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Next,
    Current,
    Set,
    Last,
    SerialSequence,
}

struct SequenceFunction {
    kind: Kind,
    signature: Signature,
    sequences: Arc<Sequences>,
}

impl std::fmt::Debug for SequenceFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq for SequenceFunction {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && Arc::ptr_eq(&self.sequences, &other.sequences)
    }
}

impl Eq for SequenceFunction {}

impl std::hash::Hash for SequenceFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.kind.hash(state)
    }
}

impl ScalarUDFImpl for SequenceFunction {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Next => "nextval",
            Kind::Current => "currval",
            Kind::Set => "setval",
            Kind::Last => "lastval",
            Kind::SerialSequence => "pg_get_serial_sequence",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(match self.kind {
            Kind::SerialSequence => DataType::Utf8,
            _ => DataType::Int64,
        })
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        let s = &self.sequences;
        let rows = args.number_rows;
        match self.kind {
            Kind::Next => Ok(s.next(&args.args[0], rows)?),
            Kind::Last => Ok(ColumnarValue::Scalar(ScalarValue::Int64(Some(s.last()?)))),
            Kind::Current => per_row(&args.args, rows, |row| Ok(s.current(&row[0])?)),
            Kind::Set => per_row(&args.args, rows, |row| {
                let value = match row[1].cast_to(&DataType::Int64)? {
                    ScalarValue::Int64(v) => v,
                    _ => None,
                };
                let is_called = match row.get(2) {
                    Some(ScalarValue::Boolean(b)) => *b,
                    _ => Some(true),
                };
                match (value, is_called) {
                    (Some(value), Some(is_called)) => {
                        s.set(&row[0], value, is_called)?;
                        Ok(Some(value))
                    }
                    _ => Ok(None),
                }
            }),
            Kind::SerialSequence => {
                let rows = rows_of(&args.args, rows);
                let tables = args.args[0].to_array(rows)?;
                let columns = args.args[1].to_array(rows)?;
                let tables = datafusion::arrow::compute::cast(&tables, &DataType::Utf8)?;
                let columns = datafusion::arrow::compute::cast(&columns, &DataType::Utf8)?;
                let mut out = Vec::with_capacity(rows);
                for (table, column) in tables
                    .as_string::<i32>()
                    .iter()
                    .zip(columns.as_string::<i32>().iter())
                {
                    out.push(match (table, column) {
                        (Some(table), Some(column)) => s.serial_sequence(table, column)?,
                        _ => None,
                    });
                }
                crate::functions::shaped_like(
                    &args.args,
                    Arc::new(StringArray::from(out)) as ArrayRef,
                )
            }
        }
    }
}

/// How many rows a call computes: one when every argument is a constant
/// (the answer is one value, whatever the batch).
fn rows_of(args: &[ColumnarValue], rows: usize) -> usize {
    match args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
        true => 1,
        false => rows,
    }
}

/// Calls `f` with each row's arguments, in order (setval and currval act
/// once per row).
fn per_row(
    args: &[ColumnarValue],
    rows: usize,
    mut f: impl FnMut(&[ScalarValue]) -> datafusion::error::Result<Option<i64>>,
) -> datafusion::error::Result<ColumnarValue> {
    let rows = rows_of(args, rows);
    let arrays = args
        .iter()
        .map(|a| a.to_array(rows))
        .collect::<datafusion::error::Result<Vec<_>>>()?;
    let mut out = Vec::with_capacity(rows);
    for i in 0..rows {
        let row = arrays
            .iter()
            .map(|a| ScalarValue::try_from_array(a, i))
            .collect::<datafusion::error::Result<Vec<_>>>()?;
        out.push(f(&row)?);
    }
    let out: ArrayRef = Arc::new(Int64Array::from(out));
    crate::functions::shaped_like(args, out)
}

impl Sequences {
    /// `pg_get_serial_sequence(table, column)`: the qualified name of the
    /// sequence a serial or identity column takes its values from.
    fn serial_sequence(&self, table: &str, column: &str) -> Result<Option<String>, Error> {
        let parts = super::names::identifier_parts(table)?;
        let (schemas, table) = match parts.as_slice() {
            [name] => (
                self.settings.read().expect("settings lock").lookup_path(),
                name.clone(),
            ),
            [schema, name] => (vec![schema.clone()], name.clone()),
            _ => return Err(Error::UndefinedTable(table.to_string())),
        };
        self.storage.read_catalog(|c| {
            let schema = schemas
                .iter()
                .find(|s| c.relation_exists(s, &table))
                .ok_or_else(|| Error::UndefinedTable(table.clone()))?;
            let sequence = c.schema(schema).and_then(|s| {
                s.sequences.iter().find(|(_, e)| {
                    e.owned_by
                        .as_ref()
                        .is_some_and(|o| o.table == table && o.column == column)
                })
            });
            Ok(sequence.map(|(name, _)| format!("{}.{}", quote_name(schema), quote_name(name))))
        })
    }
}

/// The session's sequence functions.
pub(super) fn udfs(
    storage: Arc<Storage>,
    oids: Arc<Oids>,
    settings: Arc<RwLock<Settings>>,
) -> Vec<ScalarUDF> {
    let sequences = Arc::new(Sequences {
        storage,
        oids,
        settings,
        used: Mutex::default(),
    });
    let named = |rest: &[DataType]| {
        [DataType::Utf8, DataType::Int64, DataType::Int32]
            .into_iter()
            .map(|first| {
                let mut types = vec![first];
                types.extend_from_slice(rest);
                TypeSignature::Exact(types)
            })
            .collect::<Vec<_>>()
    };
    let mut set = named(&[DataType::Int64]);
    set.extend(named(&[DataType::Int64, DataType::Boolean]));
    [
        (Kind::Next, named(&[])),
        (Kind::Current, named(&[])),
        (Kind::Set, set),
        (Kind::Last, vec![TypeSignature::Nullary]),
        (
            Kind::SerialSequence,
            vec![TypeSignature::Exact(vec![DataType::Utf8, DataType::Utf8])],
        ),
    ]
    .into_iter()
    .map(|(kind, types)| {
        ScalarUDF::new_from_impl(SequenceFunction {
            kind,
            signature: Signature::one_of(types, Volatility::Volatile),
            sequences: sequences.clone(),
        })
    })
    .collect()
}
