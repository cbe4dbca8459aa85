//! The rows of the system tables that describe what users made and said:
//! pg_description, pg_constraint, pg_index, pg_depend and the other tables
//! built from the stored catalog.

use super::*;

/// pg_class's OID, which pg_description.classoid names for relations.
pub(super) const PG_CLASS_OID: u32 = 1259;
/// pg_namespace's OID, for schema comments.
pub(super) const PG_NAMESPACE_OID: u32 = 2615;

pub(super) async fn description_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let comments = r.comments();
    if comments.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = Vec::new();
    let mut push = |objoid: u32, classoid: u32, objsubid: usize, description: &str| {
        rows.push(Row::from([
            ("objoid", int32(objoid)),
            ("classoid", int32(classoid)),
            ("objsubid", int32(objsubid)),
            ("description", text(description)),
        ]));
    };
    for schema in r.schema_names() {
        if let Some(text) = comments.get(&enishi_storage::schema_key(&schema)) {
            push(
                r.oids.get(OidKind::Namespace, &schema),
                PG_NAMESPACE_OID,
                0,
                text,
            );
        }
    }
    for rel in r.relations().await? {
        let key = enishi_storage::table_key(&rel.schema_name, &rel.name);
        if let Some(text) = comments.get(&key) {
            push(rel.oid, PG_CLASS_OID, 0, text);
        }
        for (i, field) in rel.provider.schema().fields().iter().enumerate() {
            let key = enishi_storage::column_key(&rel.schema_name, &rel.name, field.name());
            if let Some(text) = comments.get(&key) {
                push(rel.oid, PG_CLASS_OID, i + 1, text);
            }
        }
    }
    Ok(rows)
}

/// pg_constraint's OID, for dependencies on primary keys.
pub(super) const PG_CONSTRAINT_OID: u32 = 2606;

/// The dependencies PostgreSQL records for what Enishi has: each relation on
/// its schema; each primary key on its columns, and its index on it (pgAdmin
/// finds a key's constraint from its index through these).
pub(super) async fn depend_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let relations = r.relations().await?;
    let mut rows = Vec::new();
    let mut push =
        |classid: u32, objid: u32, refclassid: u32, refobjid: u32, refsub: i16, deptype| {
            rows.push(Row::from([
                ("classid", int32(classid)),
                ("objid", int32(objid)),
                ("objsubid", int32(0)),
                ("refclassid", int32(refclassid)),
                ("refobjid", int32(refobjid)),
                ("refobjsubid", int32(refsub)),
                ("deptype", text(deptype)),
            ]));
        };
    for rel in &relations {
        if matches!(
            rel.schema_name.as_str(),
            "pg_catalog" | "information_schema"
        ) {
            continue;
        }
        let schema = r.oids.get(OidKind::Namespace, &rel.schema_name);
        push(PG_CLASS_OID, rel.oid, PG_NAMESPACE_OID, schema, 0, "n");
    }
    // A serial's sequence depends on its column automatically, an identity
    // column's internally (psql's "Owned by", pg_get_serial_sequence).
    for (schema, name, entry) in r.sequences() {
        let Some(owner) = entry.owned_by else {
            continue;
        };
        let Some(table) = relations
            .iter()
            .find(|rel| rel.schema_name == schema && rel.name == owner.table)
        else {
            continue;
        };
        let Some(number) = table
            .provider
            .schema()
            .fields()
            .iter()
            .position(|f| f.name() == &owner.column)
        else {
            continue;
        };
        push(
            PG_CLASS_OID,
            r.oids.relation(&schema, &name),
            PG_CLASS_OID,
            table.oid,
            number as i16 + 1,
            if owner.identity { "i" } else { "a" },
        );
    }
    for (key, table, numbers) in keys_with_columns(&r, &relations) {
        // An index of CREATE INDEX depends on its columns itself.
        if !key.is_constraint() {
            for number in numbers {
                push(
                    PG_CLASS_OID,
                    r.index_oid(&key),
                    PG_CLASS_OID,
                    table,
                    number,
                    "a",
                );
            }
            continue;
        }
        let constraint = r.constraint_oid(&key);
        for number in numbers {
            push(
                PG_CONSTRAINT_OID,
                constraint,
                PG_CLASS_OID,
                table,
                number,
                "a",
            );
        }
        push(
            PG_CLASS_OID,
            r.index_oid(&key),
            PG_CONSTRAINT_OID,
            constraint,
            0,
            "i",
        );
    }
    Ok(rows)
}

pub(super) async fn namespace_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let owner = r.owners();
    let mut names = r.schema_names();
    // PostgreSQL's own schemas, which clients list (pgjdbc's getSchemas) or
    // filter out by name.
    for own in ["pg_toast", "pg_catalog", "information_schema"] {
        if !names.iter().any(|n| n == own) {
            names.push(own.to_string());
        }
    }
    Ok(names
        .into_iter()
        .map(|name| {
            // PostgreSQL 15 gives `public` to the pg_database_owner role.
            let owner = if name == "public" {
                DATABASE_OWNER_OID
            } else {
                owner(&enishi_storage::schema_key(&name))
            };
            Row::from([
                ("oid", int32(r.oids.get(OidKind::Namespace, &name))),
                ("nspname", text(name)),
                ("nspowner", int32(owner)),
            ])
        })
        .collect())
}

pub(super) async fn database_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    Ok(vec![Row::from([
        ("oid", int32(DATABASE_OID)),
        ("datname", text(r.database.clone())),
        ("datdba", int32(SUPERUSER_OID)),
        ("encoding", int32(6)),
        ("datlocprovider", text("c")),
        ("datcollate", text("C.UTF-8")),
        ("datctype", text("C.UTF-8")),
        ("datistemplate", boolean(false)),
        ("datallowconn", boolean(true)),
        ("datconnlimit", int32(-1)),
        ("dattablespace", int32(1663)),
    ])])
}

pub(super) async fn class_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let relations = r.relations().await?;
    let owner = r.owners();
    let table_owner =
        |schema: &str, name: &str| int32(owner(&enishi_storage::table_key(schema, name)));
    let keys = keys_with_columns(&r, &relations);
    let keyed: Vec<u32> = keys.iter().map(|(_, table, _)| *table).collect();
    // A foreign key is kept by triggers on both of its tables in PostgreSQL;
    // psql reads relhastriggers before it looks for foreign keys.
    let mut triggered = std::collections::HashSet::new();
    for fk in r.foreign_keys() {
        triggered.insert((fk.schema_name.clone(), fk.table.clone()));
        triggered.insert((
            fk.key.referenced_schema.clone(),
            fk.key.referenced_table.clone(),
        ));
    }
    let mut rows = Vec::new();
    for rel in relations {
        let view = rel.is_view();
        let kind = match (view, rel.is_sequence()) {
            (true, _) => "v",
            (false, true) => "S",
            (false, false) => "r",
        };
        rows.push(Row::from([
            ("oid", int32(rel.oid)),
            ("relname", text(rel.name.clone())),
            (
                "relnamespace",
                int32(r.oids.get(OidKind::Namespace, &rel.schema_name)),
            ),
            ("reltype", int32(0)),
            ("reloftype", int32(0)),
            ("relowner", table_owner(&rel.schema_name, &rel.name)),
            ("relam", int32(if kind == "r" { 2 } else { 0 })),
            ("relfilenode", int32(if view { 0 } else { rel.oid })),
            ("reltuples", ScalarValue::Float64(Some(-1.0))),
            (
                "relpersistence",
                text(if crate::constants::is_temp_schema(&rel.schema_name) {
                    "t"
                } else {
                    "p"
                }),
            ),
            ("relkind", text(kind)),
            ("relnatts", int16(rel.provider.schema().fields().len())),
            ("relispopulated", boolean(true)),
            ("relreplident", text(if kind == "r" { "d" } else { "n" })),
            ("relhasindex", boolean(keyed.contains(&rel.oid))),
            ("relhasrules", boolean(view)),
            (
                "reltoastrelid",
                int32(
                    match kind == "r" && needs_toast(rel.provider.schema().fields()) {
                        true => r
                            .oids
                            .relation("pg_toast", &format!("pg_toast_{}", rel.oid)),
                        false => 0,
                    },
                ),
            ),
            (
                "relhastriggers",
                boolean(triggered.contains(&(rel.schema_name.clone(), rel.name.clone()))),
            ),
        ]));
    }
    for (key, _, numbers) in keys {
        rows.push(Row::from([
            ("oid", int32(r.index_oid(&key))),
            ("relname", text(key.key.name.clone())),
            (
                "relnamespace",
                int32(r.oids.get(OidKind::Namespace, &key.schema_name)),
            ),
            ("reltype", int32(0)),
            ("reloftype", int32(0)),
            ("relowner", table_owner(&key.schema_name, &key.table)),
            ("relam", int32(BTREE_AM_OID)),
            ("relfilenode", int32(r.index_oid(&key))),
            // An index is counted when it is built, a table by ANALYZE.
            ("reltuples", ScalarValue::Float64(Some(0.0))),
            ("relpersistence", text("p")),
            ("relkind", text("i")),
            ("relnatts", int16(numbers.len())),
            ("relispopulated", boolean(true)),
            ("relreplident", text("n")),
        ]));
    }
    Ok(rows)
}

/// Whether PostgreSQL would give a table of these columns a TOAST table: when
/// a column's values have no bound on their length (text, bytea, json,
/// arrays, unconstrained varchar or numeric), or the bounds add up past what
/// fits a page (2032 bytes).
fn needs_toast(fields: &datafusion::arrow::datatypes::Fields) -> bool {
    use crate::types::oid;
    const TOAST_TUPLE_THRESHOLD: i64 = 2032;
    let mut bounded = 0i64;
    for field in fields {
        let (type_oid, typmod) = column_pg_type(field);
        match type_oid {
            oid::VARCHAR | oid::BPCHAR if typmod > 4 => bounded += 4 * (typmod as i64 - 4) + 4,
            oid::NUMERIC if typmod > 4 => bounded += ((typmod as i64 - 4) >> 16) / 2 + 8,
            oid::TEXT
            | oid::BYTEA
            | oid::JSON
            | oid::JSONB
            | oid::VARCHAR
            | oid::BPCHAR
            | oid::NUMERIC => return true,
            _ if matches!(field.data_type(), DataType::List(_)) => return true,
            _ => {}
        }
    }
    bounded > TOAST_TUPLE_THRESHOLD
}

/// pg_am's btree, the access method of every index PostgreSQL would build
/// for a primary key.
pub(super) const BTREE_AM_OID: u32 = 403;

pub(super) async fn attribute_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let mut rows = Vec::new();
    for rel in r.relations().await? {
        let view = rel.is_view();
        if !view {
            // The system columns every PostgreSQL table has (attnum < 0),
            // which clients that do not filter on attnum > 0 list.
            for (name, number, type_oid, len, byval, align) in SYSTEM_COLUMNS {
                rows.push(Row::from([
                    ("attrelid", int32(rel.oid)),
                    ("attname", text(*name)),
                    ("atttypid", int32(*type_oid)),
                    ("attstattarget", int32(0)),
                    ("attlen", int16(*len)),
                    ("attnum", ScalarValue::Int16(Some(*number))),
                    ("attndims", int32(0)),
                    ("attcacheoff", int32(-1)),
                    ("atttypmod", int32(-1)),
                    ("attbyval", boolean(*byval)),
                    ("attalign", text(*align)),
                    ("attstorage", text("p")),
                    ("attnotnull", boolean(true)),
                    ("atthasdef", boolean(false)),
                    ("attislocal", boolean(true)),
                    ("attcollation", int32(0)),
                ]));
            }
        }
        for (i, field) in rel.provider.schema().fields().iter().enumerate() {
            let (type_oid, typmod) = column_pg_type(field);
            let (len, byval, align, storage) = type_traits(type_oid);
            let identity = types::identity(field);
            let has_default = !view
                && identity.is_none()
                && (types::default_sql(field).is_some()
                    || rel.provider.get_column_default(field.name()).is_some());
            let dims = matches!(field.data_type(), DataType::List(_)) as i32;
            let collation = if is_collatable(type_oid) { 100 } else { 0 };
            rows.push(Row::from([
                ("attrelid", int32(rel.oid)),
                ("attname", text(field.name().clone())),
                ("atttypid", int32(type_oid)),
                ("attstattarget", int32(-1)),
                ("attlen", int16(len)),
                ("attnum", int16(i + 1)),
                ("attndims", int32(dims)),
                ("attcacheoff", int32(-1)),
                ("atttypmod", int32(typmod)),
                ("attbyval", boolean(byval)),
                ("attalign", text(align)),
                ("attstorage", text(storage)),
                // A view's columns are never declared NOT NULL.
                ("attnotnull", boolean(!view && !field.is_nullable())),
                ("atthasdef", boolean(has_default)),
                ("attidentity", text(identity.unwrap_or(""))),
                ("attislocal", boolean(true)),
                ("attcollation", int32(collation)),
            ]));
        }
    }
    Ok(rows)
}

/// PostgreSQL's system columns: name, attnum, type (tid, xid, cid, oid),
/// length, by value, alignment.
pub(super) const SYSTEM_COLUMNS: &[(&str, i16, u32, i16, bool, &str)] = &[
    ("ctid", -1, 27, 6, false, "s"),
    ("xmin", -2, 28, 4, true, "i"),
    ("cmin", -3, 29, 4, true, "i"),
    ("xmax", -4, 28, 4, true, "i"),
    ("cmax", -5, 29, 4, true, "i"),
    ("tableoid", -6, 26, 4, true, "i"),
];

/// Each view's `_RETURN` rule, which in PostgreSQL is what makes it a view
/// (pgAdmin lists as views the relations that have one).
pub(super) async fn rewrite_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let mut rows = Vec::new();
    for rel in r.relations().await? {
        if !rel.is_view() {
            continue;
        }
        rows.push(Row::from([
            (
                "oid",
                int32(r.oids.get(OidKind::Rule, &rel.oid.to_string())),
            ),
            ("rulename", text("_RETURN")),
            ("ev_class", int32(rel.oid)),
            ("ev_type", text("1")),
            ("ev_enabled", text("O")),
            ("is_instead", boolean(true)),
            ("ev_qual", text("<>")),
            ("ev_action", text("")),
        ]));
    }
    Ok(rows)
}

pub(super) async fn attrdef_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let mut rows = Vec::new();
    for rel in r.relations().await? {
        // A view's columns have no defaults, whatever the columns they read.
        if rel.is_view() {
            continue;
        }
        for (i, field) in rel.provider.schema().fields().iter().enumerate() {
            // An identity column draws from its sequence without a default.
            if types::identity(field).is_some() {
                continue;
            }
            // pg_get_expr returns adbin as is, so store the expression's SQL text.
            let stored = types::default_sql(field).map(str::to_string);
            let sql = match (stored, rel.provider.get_column_default(field.name())) {
                (Some(stored), _) => stored,
                (None, Some(default)) => datafusion::sql::unparser::expr_to_sql(default)
                    .map(|e| e.to_string())
                    .unwrap_or_else(|_| default.to_string()),
                (None, None) => continue,
            };
            let key = format!("{}.{}", rel.oid, i + 1);
            let sql = with_literal_type(sql, column_pg_type(field).0);
            rows.push(Row::from([
                ("oid", int32(r.oids.get(OidKind::Default, &key))),
                ("adrelid", int32(rel.oid)),
                ("adnum", int16(i + 1)),
                ("adbin", text(sql)),
            ]));
        }
    }
    Ok(rows)
}

/// pg_sequence: each sequence's definition.
pub(super) async fn sequence_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    use crate::types::oid;
    let int8 = |v: i64| ScalarValue::Int64(Some(v));
    Ok(r.sequences()
        .into_iter()
        .map(|(schema, name, entry)| {
            let type_oid = match entry.data_type.as_str() {
                "smallint" => oid::INT2,
                "integer" => oid::INT4,
                _ => oid::INT8,
            };
            Row::from([
                ("seqrelid", int32(r.oids.relation(&schema, &name))),
                ("seqtypid", int32(type_oid)),
                ("seqstart", int8(entry.start)),
                ("seqincrement", int8(entry.increment)),
                ("seqmax", int8(entry.max)),
                ("seqmin", int8(entry.min)),
                ("seqcache", int8(entry.cache)),
                ("seqcycle", boolean(entry.cycle)),
            ])
        })
        .collect())
}
