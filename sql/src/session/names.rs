//! Names resolved as this session's search_path resolves them:
//! `current_schemas(implicit)`, `current_schema()`, and `regclass(name)`,
//! which is what `'name'::regclass` becomes (see [`crate::statement`]).

use std::sync::{Arc, RwLock};

use datafusion::arrow::array::{Array, Int32Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::catalog::CatalogProvider;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::engine::Engine;
use crate::error::Error;
use crate::settings::Settings;
use crate::system_tables::{Oids, quote_name};

/// The session's name-resolving functions, for its context.
pub(super) fn udfs(
    ctx: &SessionContext,
    database: &str,
    settings: Arc<RwLock<Settings>>,
    engine: Arc<Engine>,
) -> Vec<ScalarUDF> {
    let storage = engine.storage().clone();
    let path = {
        let settings = settings.clone();
        move || {
            let existing = storage.schema_names();
            let path = settings.read().expect("settings lock").search_path();
            path.into_iter()
                .filter(|s| existing.contains(s) || s == "pg_catalog")
                .collect::<Vec<_>>()
        }
    };
    let temp = {
        let settings = settings.clone();
        move || {
            let settings = settings.read().expect("settings lock");
            settings.temp_schema().map(str::to_string)
        }
    };
    let mut out = vec![
        current_schemas(path.clone(), temp.clone()),
        current_schema(path),
        my_temp_schema(temp, engine.pg_catalog().oids().clone()),
    ];
    if let Some(catalog) = ctx.catalog(database) {
        let relations = Arc::new(Relations {
            catalog,
            oids: engine.pg_catalog().oids().clone(),
            settings,
            storage: engine.storage().clone(),
        });
        out.push(regclass(relations.clone()));
        out.push(table_is_visible(relations.clone()));
        out.push(relation_is_publishable(relations.clone()));
        out.push(regclass_name(relations));
    }
    out
}

/// `current_schemas(implicit)`: the schemas of the search_path that exist,
/// with pg_catalog and the session's temporary schema first when `implicit`
/// (and not named in the path).
fn current_schemas(
    path: impl Fn() -> Vec<String> + Send + Sync + 'static,
    temp: impl Fn() -> Option<String> + Send + Sync + 'static,
) -> ScalarUDF {
    create_udf(
        "current_schemas",
        vec![DataType::Boolean],
        DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
        Volatility::Stable,
        Arc::new(move |args: &[ColumnarValue]| {
            let implicit = args[0].to_array(1)?;
            let implicit = implicit
                .as_any()
                .downcast_ref::<datafusion::arrow::array::BooleanArray>()
                .ok_or_else(|| {
                    datafusion::error::DataFusionError::Plan("current_schemas(boolean)".into())
                })?;
            let schemas = path();
            let temp = temp().filter(|t| !schemas.contains(t));
            let mut builder = datafusion::arrow::array::ListBuilder::new(
                datafusion::arrow::array::StringBuilder::new(),
            );
            for i in 0..implicit.len() {
                if implicit.is_null(i) {
                    builder.append_null();
                    continue;
                }
                if let Some(temp) = temp.as_ref().filter(|_| implicit.value(i)) {
                    builder.values().append_value(temp);
                }
                let with_catalog = implicit.value(i) && !schemas.iter().any(|s| s == "pg_catalog");
                if with_catalog {
                    builder.values().append_value("pg_catalog");
                }
                for schema in &schemas {
                    builder.values().append_value(schema);
                }
                builder.append(true);
            }
            Ok(ColumnarValue::Array(Arc::new(builder.finish())))
        }),
    )
}

/// `pg_my_temp_schema()`: the OID of the session's temporary schema, 0 while
/// it has none.
fn my_temp_schema(
    temp: impl Fn() -> Option<String> + Send + Sync + 'static,
    oids: Arc<Oids>,
) -> ScalarUDF {
    create_udf(
        "pg_my_temp_schema",
        vec![],
        DataType::Int32,
        Volatility::Stable,
        Arc::new(move |_: &[ColumnarValue]| {
            let oid = temp().map_or(0, |schema| {
                oids.get(crate::system_tables::OidKind::Namespace, &schema) as i32
            });
            Ok(ColumnarValue::Scalar(ScalarValue::Int32(Some(oid))))
        }),
    )
}

/// `current_schema()`: the first schema of the search_path that exists.
fn current_schema(path: impl Fn() -> Vec<String> + Send + Sync + 'static) -> ScalarUDF {
    create_udf(
        "current_schema",
        vec![],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(move |_: &[ColumnarValue]| {
            Ok(ColumnarValue::Scalar(ScalarValue::Utf8(
                path().into_iter().next(),
            )))
        }),
    )
}

/// The relations a session can name.
struct Relations {
    catalog: Arc<dyn CatalogProvider>,
    oids: Arc<Oids>,
    settings: Arc<RwLock<Settings>>,
    /// The indexes of declared keys, relations of their schemas too.
    storage: Arc<enishi_storage::Storage>,
}

impl Relations {
    /// The OID `'name'::regclass` stands for: a number is the OID itself; a
    /// qualified name is looked up in its schema; a bare one in pg_catalog and
    /// then the search_path's schemas, as PostgreSQL does.
    fn oid(&self, name: &str) -> Result<i32, Error> {
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
            return name
                .parse()
                .map_err(|_| Error::InvalidParameterValue(format!("OID out of range: {name}")));
        }
        let parts = identifier_parts(name)?;
        let missing = || Error::UndefinedTable(name.to_string());
        let schemas = match parts.as_slice() {
            [_] => self.settings.read().expect("settings lock").lookup_path(),
            [schema, _] => vec![schema.clone()],
            [_, _, _] => {
                return Err(Error::FeatureNotSupported(format!(
                    "cross-database references are not implemented: {name}"
                )));
            }
            _ => {
                return Err(Error::Syntax {
                    message: format!("improper relation name (too many dotted names): {name}"),
                    position: None,
                });
            }
        };
        let table = parts.last().ok_or_else(missing)?;
        let indexes = self.indexes();
        schemas
            .iter()
            .find(|s| {
                self.catalog
                    .schema(s)
                    .is_some_and(|schema| schema.table_exist(table))
                    || indexes.contains(&((*s).clone(), table.clone()))
            })
            .map(|schema| self.oids.relation(schema, table) as i32)
            .ok_or_else(missing)
    }
}

impl Relations {
    /// The schema and name of each index (a declared key's).
    fn indexes(&self) -> std::collections::HashSet<(String, String)> {
        self.storage.read_catalog(|c| {
            c.schemas
                .iter()
                .flat_map(|(schema, s)| {
                    s.tables
                        .values()
                        .flat_map(|t| t.index_names())
                        .map(|name| (schema.clone(), name.to_string()))
                })
                .collect()
        })
    }

    /// What `oid::regclass` shows: the name of the relation with that OID,
    /// qualified with its schema unless the search_path finds it unqualified;
    /// the number itself when no relation has it.
    fn names(&self) -> impl Fn(i64) -> String + use<> {
        let locate = self.locator();
        move |oid| match locate(oid) {
            Some((_, table, true)) => quote_name(&table),
            Some((schema, table, false)) => {
                format!("{}.{}", quote_name(&schema), quote_name(&table))
            }
            None => oid.to_string(),
        }
    }

    /// The schema and name of the relation with an OID, and whether a bare
    /// name finds it (no relation of that name earlier in the lookup path).
    fn locator(&self) -> impl Fn(i64) -> Option<(String, String, bool)> + use<> {
        let path = self.settings.read().expect("settings lock").lookup_path();
        let mut names = std::collections::HashMap::new();
        for schema in self.catalog.schema_names() {
            let Some(provider) = self.catalog.schema(&schema) else {
                continue;
            };
            for table in provider.table_names() {
                let oid = i64::from(self.oids.relation(&schema, &table));
                names.insert(oid, (schema.clone(), table));
            }
        }
        let indexes = self.indexes();
        for (schema, index) in &indexes {
            let oid = i64::from(self.oids.relation(schema, index));
            names.insert(oid, (schema.clone(), index.clone()));
        }
        let catalog = self.catalog.clone();
        move |oid| {
            let (schema, table) = names.get(&oid)?;
            let found = path.iter().find(|s| {
                catalog
                    .schema(s)
                    .is_some_and(|provider| provider.table_exist(table))
                    || indexes.contains(&((*s).clone(), table.clone()))
            });
            Some((schema.clone(), table.clone(), found == Some(schema)))
        }
    }
}

/// The parts of a dotted name as PostgreSQL reads them: unquoted parts
/// folded to lower case, quoted ones as written.
pub(super) fn identifier_parts(name: &str) -> Result<Vec<String>, Error> {
    let invalid = || Error::InvalidTextRepresentation(format!("invalid name syntax: \"{name}\""));
    let object = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(name)
        .and_then(|mut p| {
            let object = p.parse_object_name(false)?;
            p.expect_token(&datafusion::sql::sqlparser::tokenizer::Token::EOF)?;
            Ok(object)
        })
        .map_err(|_| invalid())?;
    object
        .0
        .iter()
        .map(|part| {
            let ident = part.as_ident().ok_or_else(invalid)?;
            Ok(match ident.quote_style {
                Some(_) => ident.value.clone(),
                None => ident.value.to_lowercase(),
            })
        })
        .collect()
}

/// `regclass(name)`: the OID of the relation `name` denotes (a number, the
/// OID itself); 42P01 when there is none.
fn regclass(relations: Arc<Relations>) -> ScalarUDF {
    create_udf(
        "regclass",
        vec![DataType::Utf8],
        DataType::Int32,
        Volatility::Stable,
        Arc::new(move |args: &[ColumnarValue]| {
            let names = args[0].to_array(1)?;
            let names = names
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| datafusion::error::DataFusionError::Plan("regclass(text)".into()))?;
            let oids = names
                .iter()
                .map(|name| name.map(|n| relations.oid(n)).transpose())
                .collect::<Result<Int32Array, Error>>()?;
            Ok(match args[0] {
                ColumnarValue::Scalar(_) => {
                    ColumnarValue::Scalar(ScalarValue::try_from_array(&oids, 0)?)
                }
                ColumnarValue::Array(_) => ColumnarValue::Array(Arc::new(oids)),
            })
        }),
    )
}

/// `regclass_name(oid)`: an OID shown as regclass shows it (see
/// [`Relations::names`]).
fn regclass_name(relations: Arc<Relations>) -> ScalarUDF {
    create_udf(
        "regclass_name",
        vec![DataType::Int64],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(move |args: &[ColumnarValue]| {
            let oids = args[0].to_array(1)?;
            let oids = datafusion::arrow::array::AsArray::as_primitive::<
                datafusion::arrow::datatypes::Int64Type,
            >(&oids);
            let name = relations.names();
            let out: StringArray = oids.iter().map(|oid| oid.map(&name)).collect();
            crate::functions::shaped_like(args, Arc::new(out))
        }),
    )
}

/// `pg_table_is_visible(oid)`: whether the relation's bare name finds it
/// (NULL for an OID no relation has).
fn table_is_visible(relations: Arc<Relations>) -> ScalarUDF {
    create_udf(
        "pg_table_is_visible",
        vec![DataType::Int64],
        DataType::Boolean,
        Volatility::Stable,
        Arc::new(move |args: &[ColumnarValue]| {
            let oids = args[0].to_array(1)?;
            let oids = datafusion::arrow::array::AsArray::as_primitive::<
                datafusion::arrow::datatypes::Int64Type,
            >(&oids);
            let locate = relations.locator();
            let out: datafusion::arrow::array::BooleanArray = oids
                .iter()
                .map(|oid| oid.and_then(&locate).map(|(_, _, visible)| visible))
                .collect();
            crate::functions::shaped_like(args, Arc::new(out))
        }),
    )
}

/// `pg_relation_is_publishable(regclass)`: whether logical replication
/// could publish the relation: one of the user's tables, not temporary
/// (NULL for an OID no relation has). psql's `\d` asks it with the OID as
/// an untyped string.
fn relation_is_publishable(relations: Arc<Relations>) -> ScalarUDF {
    use datafusion::logical_expr::{ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature};
    struct Udf {
        signature: Signature,
        relations: Arc<Relations>,
    }
    impl std::fmt::Debug for Udf {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("pg_relation_is_publishable")
        }
    }
    impl PartialEq for Udf {
        fn eq(&self, other: &Self) -> bool {
            self.signature == other.signature
        }
    }
    impl Eq for Udf {}
    impl std::hash::Hash for Udf {
        fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
            self.signature.hash(state)
        }
    }
    impl ScalarUDFImpl for Udf {
        fn name(&self) -> &str {
            "pg_relation_is_publishable"
        }
        fn signature(&self) -> &Signature {
            &self.signature
        }
        fn return_type(&self, _: &[DataType]) -> datafusion::error::Result<DataType> {
            Ok(DataType::Boolean)
        }
        fn invoke_with_args(
            &self,
            args: ScalarFunctionArgs,
        ) -> datafusion::error::Result<ColumnarValue> {
            let oids = args.args[0].to_array(args.number_rows)?;
            let oids = datafusion::arrow::compute::cast(&oids, &DataType::Int64)?;
            let oids = datafusion::arrow::array::AsArray::as_primitive::<
                datafusion::arrow::datatypes::Int64Type,
            >(&oids);
            let locate = self.relations.locator();
            let storage = &self.relations.storage;
            let out: datafusion::arrow::array::BooleanArray = oids
                .iter()
                .map(|oid| {
                    let (schema, table, _) = oid.and_then(&locate)?;
                    Some(
                        !crate::constants::is_temp_schema(&schema)
                            && storage.read_catalog(|c| c.table(&schema, &table).is_some()),
                    )
                })
                .collect();
            crate::functions::shaped_like(&args.args, Arc::new(out))
        }
    }
    ScalarUDF::new_from_impl(Udf {
        signature: Signature::one_of(
            vec![
                TypeSignature::Exact(vec![DataType::Int64]),
                TypeSignature::Exact(vec![DataType::Utf8]),
            ],
            Volatility::Stable,
        ),
        relations,
    })
}

#[cfg(test)]
mod tests {
    use super::identifier_parts;

    #[test]
    fn dotted_names_fold_unquoted_parts() {
        assert_eq!(identifier_parts("Shop.items").unwrap(), ["shop", "items"]);
        assert_eq!(
            identifier_parts("\"Mixed Case\".t").unwrap(),
            ["Mixed Case", "t"]
        );
        assert!(identifier_parts("a b").is_err());
    }
}
