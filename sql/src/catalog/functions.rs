//! The catalog functions Enishi computes itself: OID lookups, pg_get_expr,
//! the definitions of keys and indexes, and format_type.

use super::*;

/// A catalog function of one OID-like integer argument.
pub(super) struct OidFunction {
    name: &'static str,
    signature: Signature,
    return_type: DataType,
    eval: fn(Option<i64>) -> ScalarValue,
}

impl std::fmt::Debug for OidFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for OidFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for OidFunction {}

impl std::hash::Hash for OidFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state)
    }
}

impl OidFunction {
    pub(super) fn new(
        name: &'static str,
        return_type: DataType,
        eval: fn(Option<i64>) -> ScalarValue,
    ) -> Self {
        let signature = Signature::uniform(
            1,
            vec![DataType::Int32, DataType::Int64, DataType::UInt32],
            Volatility::Stable,
        );
        Self {
            name,
            signature,
            return_type,
            eval,
        }
    }
}

impl ScalarUDFImpl for OidFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(self.return_type.clone())
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        let input = datafusion::arrow::compute::cast(&input, &DataType::Int64)?;
        let input = input
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Int64Array>()
            .expect("cast to Int64");
        if input.is_empty() {
            return Ok(ColumnarValue::Array(
                datafusion::arrow::array::new_empty_array(&self.return_type),
            ));
        }
        let values = input.iter().map(|v| (self.eval)(v));
        Ok(ColumnarValue::Array(ScalarValue::iter_to_array(values)?))
    }
}

/// `pg_get_expr(expr, relation [, pretty])`: our `pg_attrdef.adbin` already holds
/// the expression's SQL text, so this returns it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct PgGetExpr {
    signature: Signature,
}

impl PgGetExpr {
    pub(super) fn new() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Stable),
        }
    }
}

impl ScalarUDFImpl for PgGetExpr {
    fn name(&self) -> &str {
        "pg_get_expr"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        let first = args.args.into_iter().next().ok_or_else(|| {
            datafusion::error::DataFusionError::Plan("pg_get_expr needs an expression".into())
        })?;
        match first {
            ColumnarValue::Array(a) => Ok(ColumnarValue::Array(datafusion::arrow::compute::cast(
                &a,
                &DataType::Utf8,
            )?)),
            ColumnarValue::Scalar(v) => Ok(ColumnarValue::Scalar(v.cast_to(&DataType::Utf8)?)),
        }
    }
}

/// `pg_get_constraintdef(oid [, pretty])` and `pg_get_indexdef(oid [, column,
/// pretty])` of declared primary keys: `PRIMARY KEY (id)`, `CREATE UNIQUE INDEX
/// t_pkey ON public.t USING btree (id)`, or the index's column `column`; and
/// `pg_get_viewdef(oid [, pretty])`, a view's query; `pg_get_triggerdef`.
/// NULL for other OIDs.
pub(super) struct CatalogDefinition {
    name: &'static str,
    signature: Signature,
    keys: CatalogReader,
}

impl CatalogDefinition {
    pub(super) fn new(name: &'static str, keys: CatalogReader) -> Self {
        Self {
            name,
            signature: Signature::variadic_any(Volatility::Stable),
            keys,
        }
    }

    /// The definitions this function gives, by OID (with an index's columns,
    /// for `pg_get_indexdef(oid, column, …)`): read from the catalog once per
    /// call, not per row.
    pub(super) fn definitions(&self) -> HashMap<i64, (String, Vec<String>)> {
        let oids = &self.keys.oids;
        match self.name {
            // The view's query as it was written (PostgreSQL prints its own
            // rendering of the parsed query).
            "pg_get_viewdef" => self
                .keys
                .view_definitions()
                .into_iter()
                .map(|((schema, name), sql)| {
                    let oid = i64::from(oids.relation(&schema, &name));
                    (oid, (sql, Vec::new()))
                })
                .collect(),
            // No trigger exists: every OID is NULL, as PostgreSQL answers
            // for an OID no trigger has (psql asks for tables that have
            // foreign keys).
            "pg_get_triggerdef" => HashMap::new(),
            "pg_get_constraintdef" => {
                let primary = self.keys.constraints().into_iter().map(|k| {
                    let oid = i64::from(self.keys.constraint_oid(&k));
                    (oid, (k.constraint_def(), Vec::new()))
                });
                let foreign = self.keys.foreign_keys().into_iter().map(|fk| {
                    let oid = i64::from(self.keys.foreign_key_oid(&fk));
                    (oid, (fk.constraint_def(), Vec::new()))
                });
                primary.chain(foreign).collect()
            }
            _ => self
                .keys
                .keys()
                .into_iter()
                .map(|k| {
                    let oid = i64::from(self.keys.index_oid(&k));
                    (oid, (k.index_def(), k.key.columns.clone()))
                })
                .collect(),
        }
    }
}

impl std::fmt::Debug for CatalogDefinition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for CatalogDefinition {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for CatalogDefinition {}

impl std::hash::Hash for CatalogDefinition {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state)
    }
}

impl ScalarUDFImpl for CatalogDefinition {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        use datafusion::arrow::array::Int64Array;
        let rows = args.number_rows;
        let as_int = |v: &ColumnarValue| -> datafusion::error::Result<Int64Array> {
            let a = datafusion::arrow::compute::cast(&v.to_array(rows)?, &DataType::Int64)?;
            Ok(a.as_any()
                .downcast_ref::<Int64Array>()
                .expect("Int64")
                .clone())
        };
        let oids = match args.args.first() {
            Some(v) => as_int(v)?,
            None => return Err(Error::syntax(format!("{} needs an OID", self.name)).into()),
        };
        let columns = match (self.name, args.args.get(1)) {
            ("pg_get_indexdef", Some(v)) if args.args.len() == 3 => Some(as_int(v)?),
            _ => None,
        };
        let definitions = self.definitions();
        let values = (0..rows).map(|i| {
            if oids.is_null(i) {
                return None;
            }
            let (definition, key_columns) = definitions.get(&oids.value(i))?;
            match columns.as_ref().map(|c| c.value(i)) {
                None | Some(0) => Some(definition.clone()),
                Some(n) => {
                    let column = key_columns.get(usize::try_from(n - 1).ok()?)?;
                    Some(crate::system_tables::quote_name(column))
                }
            }
        });
        Ok(strings(values.collect::<Vec<_>>()))
    }
}

/// pg_type's `typname` by `oid`, qualified as PostgreSQL shows a type outside
/// the search path: the built-in types are in pg_catalog, but for
/// information_schema's (`information_schema.cardinal_number`).
pub(super) fn type_names(tables: &PgCatalogStaticTables) -> HashMap<i64, String> {
    use datafusion::arrow::array::AsArray;
    const PG_CATALOG_NAMESPACE: i64 = 11;
    let mut names = HashMap::new();
    for batch in tables.pg_type.data() {
        let (Some(oids), Some(typnames), Some(namespaces)) = (
            batch.column_by_name("oid"),
            batch.column_by_name("typname"),
            batch.column_by_name("typnamespace"),
        ) else {
            continue;
        };
        let (Ok(oids), Ok(typnames), Ok(namespaces)) = (
            datafusion::arrow::compute::cast(oids, &DataType::Int64),
            datafusion::arrow::compute::cast(typnames, &DataType::Utf8),
            datafusion::arrow::compute::cast(namespaces, &DataType::Int64),
        ) else {
            continue;
        };
        let oids = oids.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        let namespaces = namespaces.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        for ((oid, name), namespace) in oids
            .iter()
            .zip(typnames.as_string::<i32>().iter())
            .zip(namespaces.iter())
        {
            if let (Some(oid), Some(name)) = (oid, name) {
                let name = match namespace {
                    Some(PG_CATALOG_NAMESPACE) | None => name.to_string(),
                    Some(_) => format!("information_schema.{name}"),
                };
                names.insert(oid, name);
            }
        }
    }
    names
}

/// `format_type(oid, typmod)`: the library's, with the types it does not
/// spell (pseudo-types such as `anyelement`) named as pg_type names them.
#[derive(Debug)]
pub(super) struct FormatType {
    pub(super) inner: ScalarUDF,
    pub(super) names: Arc<HashMap<i64, String>>,
}

impl PartialEq for FormatType {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}

impl Eq for FormatType {}

impl std::hash::Hash for FormatType {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.hash(state)
    }
}

impl ScalarUDFImpl for FormatType {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, args: &[DataType]) -> datafusion::error::Result<DataType> {
        self.inner.return_type(args)
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        use datafusion::arrow::array::AsArray;
        let rows = args.number_rows;
        let oids =
            datafusion::arrow::compute::cast(&args.args[0].to_array(rows)?, &DataType::Int64)?;
        let formatted = self.inner.invoke_with_args(args)?.to_array(rows)?;
        let formatted = datafusion::arrow::compute::cast(&formatted, &DataType::Utf8)?;
        let oids = oids.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        let values =
            formatted
                .as_string::<i32>()
                .iter()
                .zip(oids.iter())
                .map(|(text, oid)| match (text, oid) {
                    (Some(t), Some(oid)) if t.starts_with("oid(") => Some(
                        self.names
                            .get(&oid)
                            .cloned()
                            .unwrap_or_else(|| "???".to_string()),
                    ),
                    // A type outside the search path, qualified.
                    (Some(t), Some(oid))
                        if self
                            .names
                            .get(&oid)
                            .is_some_and(|n| n.strip_prefix("information_schema.") == Some(t)) =>
                    {
                        self.names.get(&oid).cloned()
                    }
                    (t, _) => t.map(str::to_string),
                });
        Ok(strings(values.collect::<Vec<_>>()))
    }
}

/// `pg_collation_is_visible(oid)`, which SQLAlchemy's inspector (and so
/// pandas' `read_sql_table`) asks of every collation it lists. Every collation
/// Enishi has is a built-in one in `pg_catalog`, which is always on the search
/// path: visible. NULL for NULL.
pub(super) fn collation_is_visible() -> ScalarUDF {
    datafusion::logical_expr::create_udf(
        "pg_collation_is_visible",
        vec![DataType::Int64],
        DataType::Boolean,
        Volatility::Stable,
        Arc::new(|args: &[ColumnarValue]| {
            let visible = |oid: &ColumnarValue| -> datafusion::error::Result<ColumnarValue> {
                Ok(match oid {
                    ColumnarValue::Scalar(s) => {
                        ColumnarValue::Scalar(ScalarValue::Boolean((!s.is_null()).then_some(true)))
                    }
                    ColumnarValue::Array(a) => ColumnarValue::Array(Arc::new(
                        (0..a.len())
                            .map(|i| a.is_valid(i).then_some(true))
                            .collect::<datafusion::arrow::array::BooleanArray>(),
                    )),
                })
            };
            visible(&args[0])
        }),
    )
}

/// `regtype_names(oids)`: what `oids::regtype[]` shows, each type named as
/// format_type names it (`{integer,text}`). The OIDs are an array, or an
/// oidvector's text (`'23 25'`, as pg_proc's `proargtypes` reads here),
/// read as text: the numbers in it.
pub(super) fn regtype_names(format_type: Arc<ScalarUDF>) -> ScalarUDF {
    use datafusion::arrow::array::{AsArray, Int64Array, ListArray};
    use datafusion::arrow::buffer::OffsetBuffer;
    use datafusion::arrow::datatypes::Field;
    let list_of = |t: DataType| DataType::List(Arc::new(Field::new_list_field(t, true)));
    create_udf(
        "regtype_names",
        vec![DataType::Utf8],
        list_of(DataType::Utf8),
        Volatility::Stable,
        Arc::new(move |args: &[ColumnarValue]| {
            let input = args[0].to_array(1)?;
            let rows: Vec<Option<Vec<i64>>> = input
                .as_string::<i32>()
                .iter()
                .map(|v| {
                    v.map(|v| {
                        v.split(|c: char| !c.is_ascii_digit())
                            .filter_map(|o| o.parse().ok())
                            .collect()
                    })
                })
                .collect();
            let oids: Int64Array = rows.iter().flatten().flatten().copied().map(Some).collect();
            let count = oids.len();
            let names = format_type.invoke_with_args(ScalarFunctionArgs {
                args: vec![
                    ColumnarValue::Array(Arc::new(oids)),
                    ColumnarValue::Scalar(ScalarValue::Int32(None)),
                ],
                arg_fields: vec![
                    Arc::new(Field::new("oid", DataType::Int64, true)),
                    Arc::new(Field::new("typmod", DataType::Int32, true)),
                ],
                number_rows: count,
                return_field: Arc::new(Field::new("name", DataType::Utf8, true)),
                config_options: Arc::new(Default::default()),
            })?;
            let names = datafusion::arrow::compute::cast(&names.to_array(count)?, &DataType::Utf8)?;
            let lengths = rows.iter().map(|r| r.as_ref().map_or(0, Vec::len));
            let nulls: datafusion::arrow::buffer::NullBuffer =
                rows.iter().map(Option::is_some).collect();
            let list = ListArray::try_new(
                Arc::new(Field::new_list_field(DataType::Utf8, true)),
                OffsetBuffer::from_lengths(lengths),
                names,
                Some(nulls),
            )?;
            crate::functions::shaped_like(args, Arc::new(list))
        }),
    )
}
