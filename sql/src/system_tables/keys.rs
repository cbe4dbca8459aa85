//! Declared keys as the system tables show them: primary keys and unique
//! constraints (pg_constraint, pg_index, and the index in pg_class) and
//! foreign keys (pg_constraint).

use super::*;

/// A table's declared primary key, unique constraint or index, as the
/// system tables show it.
pub struct KeyInfo {
    pub schema_name: String,
    pub table: String,
    pub key: enishi_storage::PrimaryKey,
    pub kind: KeyKind,
}

/// What a [`KeyInfo`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Primary,
    /// A unique constraint.
    Unique,
    /// An index made by CREATE INDEX, unique or not (no constraint).
    Index {
        unique: bool,
    },
}

impl KeyInfo {
    /// `PRIMARY KEY (a, b)` or `UNIQUE (a, b)`, as pg_get_constraintdef
    /// shows it.
    pub fn constraint_def(&self) -> String {
        let columns: Vec<String> = self.key.columns.iter().map(|c| quote_name(c)).collect();
        format!("{} ({})", self.kind(), columns.join(", "))
    }

    /// `PRIMARY KEY` or `UNIQUE`, information_schema's constraint type.
    pub fn kind(&self) -> &'static str {
        match self.kind {
            KeyKind::Primary => "PRIMARY KEY",
            _ => "UNIQUE",
        }
    }

    /// Whether it is a constraint (pg_constraint), not only an index.
    pub fn is_constraint(&self) -> bool {
        matches!(self.kind, KeyKind::Primary | KeyKind::Unique)
    }

    /// Whether its index is unique.
    pub fn is_unique(&self) -> bool {
        !matches!(self.kind, KeyKind::Index { unique: false })
    }

    /// The CREATE INDEX statement of the key's index, as pg_get_indexdef shows it.
    pub fn index_def(&self) -> String {
        let columns: Vec<String> = self.key.columns.iter().map(|c| quote_name(c)).collect();
        format!(
            "CREATE {}INDEX {} ON {}.{} USING btree ({})",
            if self.is_unique() { "UNIQUE " } else { "" },
            quote_name(&self.key.name),
            quote_name(&self.schema_name),
            quote_name(&self.table),
            columns.join(", ")
        )
    }
}

/// A table's declared foreign key, as the system tables show it.
pub struct ForeignKeyInfo {
    pub schema_name: String,
    pub table: String,
    pub key: enishi_storage::ForeignKey,
}

impl ForeignKeyInfo {
    /// `FOREIGN KEY (a) REFERENCES t(b) ON DELETE CASCADE`, as
    /// pg_get_constraintdef shows it. The referenced table is qualified
    /// unless it is in `public` (PostgreSQL qualifies it when the reader's
    /// search_path would not find it).
    pub fn constraint_def(&self) -> String {
        let list = |columns: &[String]| {
            columns
                .iter()
                .map(|c| quote_name(c))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let key = &self.key;
        let table = match key.referenced_schema.as_str() {
            "public" => quote_name(&key.referenced_table),
            schema => format!(
                "{}.{}",
                quote_name(schema),
                quote_name(&key.referenced_table)
            ),
        };
        let mut def = format!(
            "FOREIGN KEY ({}) REFERENCES {table}({})",
            list(&key.columns),
            list(&key.referenced_columns)
        );
        if key.match_type == 'f' {
            def.push_str(" MATCH FULL");
        }
        let action = |letter: char| match letter {
            'r' => Some("RESTRICT"),
            'c' => Some("CASCADE"),
            'n' => Some("SET NULL"),
            'd' => Some("SET DEFAULT"),
            _ => None,
        };
        if let Some(a) = action(key.on_update) {
            def.push_str(&format!(" ON UPDATE {a}"));
        }
        if let Some(a) = action(key.on_delete) {
            def.push_str(&format!(" ON DELETE {a}"));
        }
        def
    }
}

pub(super) fn int16_list(values: impl IntoIterator<Item = i16>) -> ScalarValue {
    let values: Vec<ScalarValue> = values
        .into_iter()
        .map(|v| ScalarValue::Int16(Some(v)))
        .collect();
    ScalarValue::List(ScalarValue::new_list_nullable(&values, &DataType::Int16))
}

fn int32_list(values: impl IntoIterator<Item = i32>) -> ScalarValue {
    let values: Vec<ScalarValue> = values
        .into_iter()
        .map(|v| ScalarValue::Int32(Some(v)))
        .collect();
    ScalarValue::List(ScalarValue::new_list_nullable(&values, &DataType::Int32))
}

/// Each declared primary key with its table's OID and its columns' numbers.
pub(super) fn keys_with_columns(
    r: &CatalogReader,
    relations: &[RelationInfo],
) -> Vec<(KeyInfo, u32, Vec<i16>)> {
    let mut out = Vec::new();
    for key in r.keys() {
        let Some(rel) = relations
            .iter()
            .find(|rel| rel.schema_name == key.schema_name && rel.name == key.table)
        else {
            continue;
        };
        let schema = rel.provider.schema();
        let numbers = key
            .key
            .columns
            .iter()
            .filter_map(|c| schema.index_of(c).ok().map(|i| (i + 1) as i16))
            .collect();
        out.push((key, rel.oid, numbers));
    }
    out
}

pub(super) async fn constraint_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let mut rows = Vec::new();
    let relations = r.relations().await?;
    for (key, table_oid, numbers) in keys_with_columns(&r, &relations) {
        if !key.is_constraint() {
            continue;
        }
        rows.push(Row::from([
            ("oid", int32(r.constraint_oid(&key))),
            ("conname", text(key.key.name.clone())),
            (
                "connamespace",
                int32(r.oids.get(OidKind::Namespace, &key.schema_name)),
            ),
            (
                "contype",
                text(if key.kind == KeyKind::Primary {
                    "p"
                } else {
                    "u"
                }),
            ),
            ("convalidated", boolean(true)),
            ("conrelid", int32(table_oid)),
            ("conindid", int32(r.index_oid(&key))),
            ("confupdtype", text(" ")),
            ("confdeltype", text(" ")),
            ("confmatchtype", text(" ")),
            ("conislocal", boolean(true)),
            ("connoinherit", boolean(true)),
            ("conkey", int16_list(numbers)),
        ]));
    }
    rows.extend(foreign_key_rows(&r, &relations));
    Ok(rows)
}

/// pg_constraint's rows of the declared foreign keys.
fn foreign_key_rows(r: &CatalogReader, relations: &[RelationInfo]) -> Vec<Row> {
    let find = |schema: &str, table: &str| {
        relations
            .iter()
            .find(|rel| rel.schema_name == schema && rel.name == table)
    };
    let numbers = |rel: &RelationInfo, columns: &[String]| {
        let schema = rel.provider.schema();
        columns
            .iter()
            .filter_map(|c| schema.index_of(c).ok().map(|i| (i + 1) as i16))
            .collect::<Vec<_>>()
    };
    let keys = r.keys();
    let mut rows = Vec::new();
    for fk in r.foreign_keys() {
        let key = &fk.key;
        let (Some(child), Some(parent)) = (
            find(&fk.schema_name, &fk.table),
            find(&key.referenced_schema, &key.referenced_table),
        ) else {
            continue;
        };
        // The index that enforces the referenced columns' uniqueness: the
        // referenced table's primary key.
        let index = keys
            .iter()
            .find(|k| k.schema_name == key.referenced_schema && k.table == key.referenced_table)
            .map_or(0, |k| r.index_oid(k));
        let letter = |c: char| text(c.to_string());
        rows.push(Row::from([
            ("oid", int32(r.foreign_key_oid(&fk))),
            ("conname", text(key.name.clone())),
            (
                "connamespace",
                int32(r.oids.get(OidKind::Namespace, &fk.schema_name)),
            ),
            ("contype", text("f")),
            ("convalidated", boolean(true)),
            ("conrelid", int32(child.oid)),
            ("conindid", int32(index)),
            ("confrelid", int32(parent.oid)),
            ("confupdtype", letter(key.on_update)),
            ("confdeltype", letter(key.on_delete)),
            ("confmatchtype", letter(key.match_type)),
            ("conislocal", boolean(true)),
            ("connoinherit", boolean(true)),
            ("conkey", int16_list(numbers(child, &key.columns))),
            (
                "confkey",
                int16_list(numbers(parent, &key.referenced_columns)),
            ),
        ]));
    }
    rows
}

pub(super) async fn index_rows(r: CatalogReader) -> DfResult<Vec<Row>> {
    let mut rows = Vec::new();
    for (key, table_oid, numbers) in keys_with_columns(&r, &r.relations().await?) {
        let n = numbers.len();
        rows.push(Row::from([
            ("indexrelid", int32(r.index_oid(&key))),
            ("indrelid", int32(table_oid)),
            ("indnatts", int16(n)),
            ("indnkeyatts", int16(n)),
            ("indisunique", boolean(key.is_unique())),
            ("indisprimary", boolean(key.kind == KeyKind::Primary)),
            ("indimmediate", boolean(true)),
            ("indisvalid", boolean(true)),
            ("indisready", boolean(true)),
            ("indislive", boolean(true)),
            ("indkey", int16_list(numbers)),
            ("indcollation", int32_list(std::iter::repeat_n(0, n))),
            // The default btree operator class of each column's type is not
            // tracked; 0 stands for "default".
            ("indclass", int32_list(std::iter::repeat_n(0, n))),
            ("indoption", int16_list(std::iter::repeat_n(0, n))),
        ]));
    }
    Ok(rows)
}
