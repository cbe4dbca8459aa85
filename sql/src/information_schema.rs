//! The SQL standard's information_schema as PostgreSQL 15 shows it: the views
//! BI tools and drivers read to browse schemas (`schemata`, `tables`, `views`,
//! `columns`) and keys (`table_constraints`, `key_column_usage`,
//! `constraint_column_usage`, `referential_constraints`). Their rows are
//! computed from the catalog on every scan, with PostgreSQL's column names,
//! its type names (`character varying`, `udt_name` `varchar`) and its
//! spelling of flags (`YES`/`NO`).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::error::Result as DfResult;

use crate::system_tables::{
    Builder, CatalogReader, OidKind, Row, SystemTable, column_pg_type, int32, text,
    with_literal_type,
};
use crate::types::{self, oid};

/// The information_schema of one database.
#[derive(Debug)]
pub struct InformationSchema {
    tables: HashMap<&'static str, Arc<dyn TableProvider>>,
}

impl InformationSchema {
    pub fn new(reader: &CatalogReader) -> Self {
        let views: [(&'static str, Builder); 8] = [
            ("schemata", |r| Box::pin(schemata(r))),
            ("tables", |r| Box::pin(tables(r))),
            ("views", |r| Box::pin(views(r))),
            ("columns", |r| Box::pin(columns(r))),
            ("table_constraints", |r| Box::pin(table_constraints(r))),
            ("key_column_usage", |r| Box::pin(key_column_usage(r))),
            ("constraint_column_usage", |r| {
                Box::pin(constraint_column_usage(r))
            }),
            // Enishi has no foreign keys.
            ("referential_constraints", |_| {
                Box::pin(async { Ok(vec![]) })
            }),
        ];
        let mut tables: HashMap<&'static str, Arc<dyn TableProvider>> = views
            .into_iter()
            .map(|(name, build)| {
                let table: Arc<dyn TableProvider> =
                    Arc::new(SystemTable::new(schema(name), reader.clone(), build));
                (name, table)
            })
            .collect();
        let sequences: Builder = |r| Box::pin(crate::listing_views::information_schema_rows(r));
        tables.insert(
            "sequences",
            Arc::new(SystemTable::new(
                crate::listing_views::information_schema_columns(),
                reader.clone(),
                sequences,
            )),
        );
        Self { tables }
    }
}

#[async_trait::async_trait]
impl SchemaProvider for InformationSchema {
    fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tables.keys().map(|n| n.to_string()).collect();
        names.sort();
        names
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        Ok(self.tables.get(name).cloned())
    }

    fn table_exist(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }
}

/// PostgreSQL 15's columns of each view. Its domains are shown as their base
/// types: `sql_identifier` as text (name), `cardinal_number` as integer,
/// `character_data` and `yes_or_no` as text (character varying).
fn schema(view: &str) -> SchemaRef {
    let columns: &[&str] = match view {
        "schemata" => &[
            "catalog_name",
            "schema_name",
            "schema_owner",
            "default_character_set_catalog",
            "default_character_set_schema",
            "default_character_set_name",
            "sql_path",
        ],
        "tables" => &[
            "table_catalog",
            "table_schema",
            "table_name",
            "table_type",
            "self_referencing_column_name",
            "reference_generation",
            "user_defined_type_catalog",
            "user_defined_type_schema",
            "user_defined_type_name",
            "is_insertable_into",
            "is_typed",
            "commit_action",
        ],
        "views" => &[
            "table_catalog",
            "table_schema",
            "table_name",
            "view_definition",
            "check_option",
            "is_updatable",
            "is_insertable_into",
            "is_trigger_updatable",
            "is_trigger_deletable",
            "is_trigger_insertable_into",
        ],
        "columns" => &[
            "table_catalog",
            "table_schema",
            "table_name",
            "column_name",
            "#ordinal_position",
            "column_default",
            "is_nullable",
            "data_type",
            "#character_maximum_length",
            "#character_octet_length",
            "#numeric_precision",
            "#numeric_precision_radix",
            "#numeric_scale",
            "#datetime_precision",
            "interval_type",
            "#interval_precision",
            "character_set_catalog",
            "character_set_schema",
            "character_set_name",
            "collation_catalog",
            "collation_schema",
            "collation_name",
            "domain_catalog",
            "domain_schema",
            "domain_name",
            "udt_catalog",
            "udt_schema",
            "udt_name",
            "scope_catalog",
            "scope_schema",
            "scope_name",
            "#maximum_cardinality",
            "dtd_identifier",
            "is_self_referencing",
            "is_identity",
            "identity_generation",
            "identity_start",
            "identity_increment",
            "identity_maximum",
            "identity_minimum",
            "identity_cycle",
            "is_generated",
            "generation_expression",
            "is_updatable",
        ],
        "table_constraints" => &[
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
            "table_catalog",
            "table_schema",
            "table_name",
            "constraint_type",
            "is_deferrable",
            "initially_deferred",
            "enforced",
            "nulls_distinct",
        ],
        "key_column_usage" => &[
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
            "table_catalog",
            "table_schema",
            "table_name",
            "column_name",
            "#ordinal_position",
            "#position_in_unique_constraint",
        ],
        "constraint_column_usage" => &[
            "table_catalog",
            "table_schema",
            "table_name",
            "column_name",
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
        ],
        _ => &[
            "constraint_catalog",
            "constraint_schema",
            "constraint_name",
            "unique_constraint_catalog",
            "unique_constraint_schema",
            "unique_constraint_name",
            "match_option",
            "update_rule",
            "delete_rule",
        ],
    };
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| match c.strip_prefix('#') {
            Some(number) => Field::new(number, DataType::Int32, true),
            None => Field::new(*c, DataType::Utf8, true),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn yes_no(yes: bool) -> ScalarValue {
    text(if yes { "YES" } else { "NO" })
}

/// The schemas PostgreSQL lists: the database's and its own.
fn schema_names(r: &CatalogReader) -> Vec<String> {
    let mut names = r.schema_names();
    for own in ["pg_toast", "pg_catalog", "information_schema"] {
        if !names.iter().any(|n| n == own) {
            names.push(own.to_string());
        }
    }
    names
}

async fn schemata(r: CatalogReader) -> DfResult<Vec<Row>> {
    let owner = r.owners();
    let roles = r.role_names();
    Ok(schema_names(&r)
        .into_iter()
        .map(|name| {
            // PostgreSQL 15 gives `public` to the pg_database_owner role.
            let owner = if name == "public" {
                "pg_database_owner".to_string()
            } else {
                let oid = owner(&enishi_storage::schema_key(&name));
                roles.get(&oid).cloned().unwrap_or_default()
            };
            Row::from([
                ("catalog_name", text(r.database.clone())),
                ("schema_name", text(name)),
                ("schema_owner", text(owner)),
            ])
        })
        .collect())
}

/// The columns every view of a relation starts with.
fn relation_row(r: &CatalogReader, schema: &str, table: &str) -> Row {
    Row::from([
        ("table_catalog", text(r.database.clone())),
        ("table_schema", text(schema)),
        ("table_name", text(table)),
    ])
}

async fn tables(r: CatalogReader) -> DfResult<Vec<Row>> {
    Ok(r.relations()
        .await?
        .into_iter()
        .filter(|rel| !rel.is_sequence())
        .map(|rel| {
            let view = rel.is_view();
            let mut row = relation_row(&r, &rel.schema_name, &rel.name);
            row.insert("table_type", text(if view { "VIEW" } else { "BASE TABLE" }));
            // Enishi's views take no INSERT.
            row.insert("is_insertable_into", yes_no(!view));
            row.insert("is_typed", yes_no(false));
            row
        })
        .collect())
}

async fn views(r: CatalogReader) -> DfResult<Vec<Row>> {
    let definitions = r.view_definitions();
    Ok(r.relations()
        .await?
        .into_iter()
        .filter(|rel| rel.is_view())
        .map(|rel| {
            let mut row = relation_row(&r, &rel.schema_name, &rel.name);
            let definition = definitions.get(&(rel.schema_name.clone(), rel.name.clone()));
            row.insert(
                "view_definition",
                ScalarValue::Utf8(definition.map(|d| d.to_string())),
            );
            row.insert("check_option", text("NONE"));
            for flag in [
                "is_updatable",
                "is_insertable_into",
                "is_trigger_updatable",
                "is_trigger_deletable",
                "is_trigger_insertable_into",
            ] {
                row.insert(flag, yes_no(false));
            }
            row
        })
        .collect())
}

async fn columns(r: CatalogReader) -> DfResult<Vec<Row>> {
    let mut rows = Vec::new();
    let sequences = r.sequences();
    for rel in r.relations().await? {
        if rel.is_sequence() {
            continue;
        }
        let view = rel.is_view();
        for (i, field) in rel.provider.schema().fields().iter().enumerate() {
            let (type_oid, typmod) = column_pg_type(field);
            let shape = ColumnType::of(type_oid, typmod, r.type_name(type_oid));
            let mut row = relation_row(&r, &rel.schema_name, &rel.name);
            let position = i + 1;
            row.insert("column_name", text(field.name().clone()));
            row.insert("ordinal_position", int32(position));
            let identity = types::identity(field);
            if !view
                && identity.is_none()
                && let Some(default) = column_default(&rel.provider, field)
            {
                row.insert("column_default", text(with_literal_type(default, type_oid)));
            }
            row.insert("is_nullable", yes_no(view || field.is_nullable()));
            row.insert("data_type", text(shape.data_type));
            for (column, value) in [
                ("character_maximum_length", shape.max_length),
                ("character_octet_length", shape.octet_length),
                ("numeric_precision", shape.precision),
                ("numeric_precision_radix", shape.radix),
                ("numeric_scale", shape.scale),
                ("datetime_precision", shape.datetime_precision),
            ] {
                row.insert(column, ScalarValue::Int32(value));
            }
            row.insert("udt_catalog", text(r.database.clone()));
            row.insert("udt_schema", text("pg_catalog"));
            row.insert("udt_name", text(shape.udt_name));
            row.insert("dtd_identifier", text(position.to_string()));
            row.insert("is_self_referencing", yes_no(false));
            row.insert("is_identity", yes_no(identity.is_some()));
            row.insert("identity_cycle", yes_no(false));
            let sequence = sequences.iter().find(|(schema, _, e)| {
                *schema == rel.schema_name
                    && e.owned_by.as_ref().is_some_and(|o| {
                        o.identity && o.table == rel.name && o.column == *field.name()
                    })
            });
            if let (Some(kind), Some((_, _, e))) = (identity, sequence) {
                let generation = if kind == "a" { "ALWAYS" } else { "BY DEFAULT" };
                row.insert("identity_generation", text(generation));
                row.insert("identity_start", text(e.start.to_string()));
                row.insert("identity_increment", text(e.increment.to_string()));
                row.insert("identity_maximum", text(e.max.to_string()));
                row.insert("identity_minimum", text(e.min.to_string()));
                row.insert("identity_cycle", yes_no(e.cycle));
            }
            row.insert("is_generated", text("NEVER"));
            row.insert("is_updatable", yes_no(!view));
            rows.push(row);
        }
    }
    Ok(rows)
}

/// A column's default as SQL text, as pg_attrdef keeps it.
fn column_default(provider: &Arc<dyn TableProvider>, field: &Field) -> Option<String> {
    if let Some(stored) = types::default_sql(field) {
        return Some(stored.to_string());
    }
    let default = provider.get_column_default(field.name())?;
    Some(
        datafusion::sql::unparser::expr_to_sql(default)
            .map(|e| e.to_string())
            .unwrap_or_else(|_| default.to_string()),
    )
}

/// How information_schema describes a column's type.
struct ColumnType {
    data_type: String,
    udt_name: String,
    max_length: Option<i32>,
    octet_length: Option<i32>,
    precision: Option<i32>,
    radix: Option<i32>,
    scale: Option<i32>,
    datetime_precision: Option<i32>,
}

impl ColumnType {
    fn of(type_oid: u32, typmod: i32, udt_name: &str) -> Self {
        let udt_name = udt_name.to_string();
        let mut shape = Self {
            data_type: udt_name.clone(),
            udt_name,
            max_length: None,
            octet_length: None,
            precision: None,
            radix: None,
            scale: None,
            datetime_precision: None,
        };
        // Text of unlimited length may hold 1 GB; each character takes up to
        // four bytes in UTF-8.
        let characters = |shape: &mut Self, name: &str| {
            shape.data_type = name.to_string();
            if typmod >= 4 {
                shape.max_length = Some(typmod - 4);
                shape.octet_length = Some((typmod - 4) * 4);
            } else {
                shape.octet_length = Some(1 << 30);
            }
        };
        let binary = |shape: &mut Self, name: &str, bits: i32, exact: bool| {
            shape.data_type = name.to_string();
            shape.precision = Some(bits);
            shape.radix = Some(2);
            shape.scale = exact.then_some(0);
        };
        let seconds = |shape: &mut Self, name: &str, precision: i32| {
            shape.data_type = name.to_string();
            shape.datetime_precision = Some(if precision >= 0 { precision } else { 6 });
        };
        match type_oid {
            oid::BOOL => shape.data_type = "boolean".into(),
            oid::INT2 => binary(&mut shape, "smallint", 16, true),
            oid::INT4 => binary(&mut shape, "integer", 32, true),
            oid::INT8 => binary(&mut shape, "bigint", 64, true),
            oid::FLOAT4 => binary(&mut shape, "real", 24, false),
            oid::FLOAT8 => binary(&mut shape, "double precision", 53, false),
            oid::NUMERIC => {
                shape.data_type = "numeric".into();
                shape.radix = Some(10);
                if typmod >= 4 {
                    shape.precision = Some(((typmod - 4) >> 16) & 0xffff);
                    shape.scale = Some((typmod - 4) & 0xffff);
                }
            }
            oid::TEXT => characters(&mut shape, "text"),
            oid::VARCHAR => characters(&mut shape, "character varying"),
            oid::BPCHAR => characters(&mut shape, "character"),
            oid::DATE => seconds(&mut shape, "date", 0),
            oid::TIME => seconds(&mut shape, "time without time zone", typmod),
            oid::TIMESTAMP => seconds(&mut shape, "timestamp without time zone", typmod),
            oid::TIMESTAMPTZ => seconds(&mut shape, "timestamp with time zone", typmod),
            oid::INTERVAL => {
                let precision = typmod & 0xffff;
                let precision = if typmod < 0 || precision == 0xffff {
                    -1
                } else {
                    precision
                };
                seconds(&mut shape, "interval", precision)
            }
            _ if shape.udt_name.starts_with('_') => shape.data_type = "ARRAY".into(),
            // `"char"`, the one-byte type of pg_catalog's flags.
            18 => shape.data_type = "\"char\"".into(),
            _ => {}
        }
        shape
    }
}

/// A constraint's own columns in its views.
fn constraint_row(r: &CatalogReader, schema: &str, name: &str) -> Row {
    Row::from([
        ("constraint_catalog", text(r.database.clone())),
        ("constraint_schema", text(schema)),
        ("constraint_name", text(name)),
    ])
}

async fn table_constraints(r: CatalogReader) -> DfResult<Vec<Row>> {
    let mut rows = Vec::new();
    let mut push = |schema: &str, table: &str, name: &str, kind: &str| {
        let mut row = constraint_row(&r, schema, name);
        row.extend(relation_row(&r, schema, table));
        row.insert("constraint_type", text(kind));
        row.insert("is_deferrable", yes_no(false));
        row.insert("initially_deferred", yes_no(false));
        row.insert("enforced", yes_no(true));
        rows.push(row);
    };
    for key in r.constraints() {
        push(&key.schema_name, &key.table, &key.key.name, key.kind());
    }
    // PostgreSQL lists each NOT NULL column of a table as a CHECK constraint
    // named after the OIDs of its schema and table and the column's number.
    for rel in r.relations().await? {
        if rel.is_view() {
            continue;
        }
        let namespace = r.oids.get(OidKind::Namespace, &rel.schema_name);
        for (i, field) in rel.provider.schema().fields().iter().enumerate() {
            if !field.is_nullable() {
                let name = format!("{namespace}_{}_{}_not_null", rel.oid, i + 1);
                push(&rel.schema_name, &rel.name, &name, "CHECK");
            }
        }
    }
    Ok(rows)
}

async fn key_column_usage(r: CatalogReader) -> DfResult<Vec<Row>> {
    let mut rows = Vec::new();
    for key in r.constraints() {
        for (i, column) in key.key.columns.iter().enumerate() {
            let mut row = constraint_row(&r, &key.schema_name, &key.key.name);
            row.extend(relation_row(&r, &key.schema_name, &key.table));
            row.insert("column_name", text(column.clone()));
            row.insert("ordinal_position", int32(i + 1));
            rows.push(row);
        }
    }
    Ok(rows)
}

async fn constraint_column_usage(r: CatalogReader) -> DfResult<Vec<Row>> {
    let mut rows = Vec::new();
    for key in r.constraints() {
        for column in &key.key.columns {
            let mut row = relation_row(&r, &key.schema_name, &key.table);
            row.extend(constraint_row(&r, &key.schema_name, &key.key.name));
            row.insert("column_name", text(column.clone()));
            rows.push(row);
        }
    }
    Ok(rows)
}
