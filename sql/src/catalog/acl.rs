//! Access control lists as the catalog shows them: `aclitem[]` columns
//! (`relacl`, `nspacl`, `datacl`, …) hold items such as `alice=arw*/postgres`
//! (grantee `alice`, granted by `postgres`, SELECT, INSERT, and UPDATE with
//! grant option), an empty grantee meaning PUBLIC.
//!
//! `aclexplode(acl)` is the set of `(grantor, grantee, privilege_type,
//! is_grantable)` of such a list, one row per privilege, as PostgreSQL's
//! function gives it; pgAdmin reads every object's privileges through it. The
//! statement rewrite reads `aclexplode(a)` as `unnest(pg_acl_items(a))`.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayBuilder, AsArray, BooleanBuilder, Int32Builder, ListArray, ListBuilder,
    StringBuilder, StructArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::Error;
use crate::system_tables::{CatalogReader, role_oid};

/// PostgreSQL's privilege letters, in the order `aclexplode` lists them.
const PRIVILEGES: [(char, &str); 15] = [
    ('r', "SELECT"),
    ('w', "UPDATE"),
    ('a', "INSERT"),
    ('d', "DELETE"),
    ('D', "TRUNCATE"),
    ('x', "REFERENCES"),
    ('t', "TRIGGER"),
    ('X', "EXECUTE"),
    ('U', "USAGE"),
    ('C', "CREATE"),
    ('T', "TEMPORARY"),
    ('c', "CONNECT"),
    ('m', "MAINTAIN"),
    ('s', "SET"),
    ('A', "ALTER SYSTEM"),
];

/// One privilege of one ACL item.
#[derive(Debug, PartialEq)]
pub(crate) struct Grant {
    pub grantor: u32,
    /// 0 for PUBLIC.
    pub grantee: u32,
    pub privilege: &'static str,
    pub grantable: bool,
}

/// The privileges of one item, `grantee=privileges/grantor`.
pub(crate) fn grants(item: &str) -> Result<Vec<Grant>, Error> {
    let invalid = || {
        Error::InvalidTextRepresentation(format!(
            "invalid input syntax for type aclitem: \"{item}\""
        ))
    };
    let (grantee, rest) = item.split_once('=').ok_or_else(invalid)?;
    let (letters, grantor) = rest.split_once('/').ok_or_else(invalid)?;
    let oid = |name: &str| match unquoted(name) {
        name if name.is_empty() => 0,
        name => role_oid(&name),
    };
    let (grantee, grantor) = (oid(grantee), oid(grantor));
    let mut granted = Vec::new();
    let mut chars = letters.chars().peekable();
    while let Some(letter) = chars.next() {
        let privilege = PRIVILEGES
            .iter()
            .find(|(l, _)| *l == letter)
            .map(|(_, name)| *name)
            .ok_or_else(|| {
                Error::InvalidTextRepresentation(
                    "invalid mode character: must be one of \"arwdDxtXUCTcsAm\"".to_string(),
                )
            })?;
        let grantable = chars.next_if_eq(&'*').is_some();
        granted.push((privilege, grantable));
    }
    // aclexplode lists them in the letters' fixed order, not as written.
    granted.sort_by_key(|(privilege, _)| PRIVILEGES.iter().position(|(_, p)| p == privilege));
    Ok(granted
        .into_iter()
        .map(|(privilege, grantable)| Grant {
            grantor,
            grantee,
            privilege,
            grantable,
        })
        .collect())
}

/// A role name as an ACL item writes it: double-quoted when it needs to be.
fn unquoted(name: &str) -> String {
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => name.to_string(),
    }
}

fn fields() -> Fields {
    Fields::from(vec![
        Field::new("grantor", DataType::Int32, false),
        Field::new("grantee", DataType::Int32, false),
        Field::new("privilege_type", DataType::Utf8, false),
        Field::new("is_grantable", DataType::Boolean, false),
    ])
}

/// `pg_acl_items(acl)`: the list of `{grantor, grantee, privilege_type,
/// is_grantable}` of each row's ACL (empty for NULL, as `aclexplode` of NULL
/// has no rows).
pub(super) fn acl_items_udf() -> ScalarUDF {
    #[derive(Debug, PartialEq, Eq, Hash)]
    struct AclItems {
        signature: Signature,
    }
    impl ScalarUDFImpl for AclItems {
        fn name(&self) -> &str {
            "pg_acl_items"
        }
        fn signature(&self) -> &Signature {
            &self.signature
        }
        fn return_type(&self, _: &[DataType]) -> datafusion::error::Result<DataType> {
            Ok(DataType::List(Arc::new(Field::new_list_field(
                DataType::Struct(fields()),
                true,
            ))))
        }
        fn invoke_with_args(
            &self,
            args: ScalarFunctionArgs,
        ) -> datafusion::error::Result<ColumnarValue> {
            let lists = args.args[0].to_array(args.number_rows)?;
            let lists = match lists.data_type() {
                DataType::Null => datafusion::arrow::array::new_null_array(
                    &DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
                    lists.len(),
                ),
                _ => datafusion::arrow::compute::cast(
                    &lists,
                    &DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
                )?,
            };
            let lists = lists.as_list::<i32>();
            let (mut grantors, mut grantees) = (Int32Builder::new(), Int32Builder::new());
            let (mut privileges, mut grantable) = (StringBuilder::new(), BooleanBuilder::new());
            let mut offsets = vec![0i32];
            for row in 0..lists.len() {
                if lists.is_valid(row) {
                    let items = lists.value(row);
                    for item in items.as_string::<i32>().iter().flatten() {
                        for grant in grants(item)? {
                            grantors.append_value(grant.grantor as i32);
                            grantees.append_value(grant.grantee as i32);
                            privileges.append_value(grant.privilege);
                            grantable.append_value(grant.grantable);
                        }
                    }
                }
                offsets.push(grantors.len() as i32);
            }
            let structs = StructArray::try_new(
                fields(),
                vec![
                    Arc::new(grantors.finish()),
                    Arc::new(grantees.finish()),
                    Arc::new(privileges.finish()),
                    Arc::new(grantable.finish()),
                ],
                None,
            )?;
            let out = ListArray::try_new(
                Arc::new(Field::new_list_field(DataType::Struct(fields()), true)),
                OffsetBuffer::new(offsets.into()),
                Arc::new(structs),
                None,
            )?;
            Ok(ColumnarValue::Array(Arc::new(out)))
        }
    }
    ScalarUDF::new_from_impl(AclItems {
        signature: Signature::any(1, Volatility::Immutable),
    })
}

/// A role name as an ACL item writes it: double-quoted unless it is made of
/// letters, digits and underscores.
fn quoted(name: &str) -> String {
    match name.chars().all(|c| c.is_alphanumeric() || c == '_') && !name.is_empty() {
        true => name.to_string(),
        false => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// The privileges an object of `kind` (pg_default_acl's and acldefault's
/// letters) has by default: its owner's and PUBLIC's.
fn default_items(kind: &str, owner: &str) -> Vec<String> {
    let (public, owners) = match kind {
        "r" => ("", "arwdDxt"),
        "s" => ("", "rwU"),
        "d" => ("Tc", "CTc"),
        "f" => ("X", "X"),
        "l" => ("U", "U"),
        "L" => ("", "rw"),
        "n" => ("", "UC"),
        "t" => ("", "C"),
        "F" | "S" => ("", "U"),
        "T" => ("U", "U"),
        "p" => ("", "sA"),
        _ => ("", ""),
    };
    let owner = quoted(owner);
    let mut items = Vec::new();
    if !public.is_empty() {
        items.push(format!("={public}/{owner}"));
    }
    if !owners.is_empty() {
        items.push(format!("{owner}={owners}/{owner}"));
    }
    items
}

/// `acldefault(kind, owner)`.
pub(super) fn acl_default_udf(roles: CatalogReader) -> ScalarUDF {
    struct AclDefault {
        roles: CatalogReader,
        signature: Signature,
    }
    impl std::fmt::Debug for AclDefault {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("acldefault")
        }
    }
    impl PartialEq for AclDefault {
        fn eq(&self, _: &Self) -> bool {
            true
        }
    }
    impl Eq for AclDefault {}
    impl std::hash::Hash for AclDefault {
        fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
            "acldefault".hash(state);
        }
    }
    impl ScalarUDFImpl for AclDefault {
        fn name(&self) -> &str {
            "acldefault"
        }
        fn signature(&self) -> &Signature {
            &self.signature
        }
        fn return_type(&self, _: &[DataType]) -> datafusion::error::Result<DataType> {
            Ok(DataType::List(Arc::new(Field::new_list_field(
                DataType::Utf8,
                true,
            ))))
        }
        fn invoke_with_args(
            &self,
            args: ScalarFunctionArgs,
        ) -> datafusion::error::Result<ColumnarValue> {
            let names = self.roles.role_names();
            let kinds = args.args[0].to_array(args.number_rows)?;
            let kinds = datafusion::arrow::compute::cast(&kinds, &DataType::Utf8)?;
            let owners = args.args[1].to_array(args.number_rows)?;
            let owners = datafusion::arrow::compute::cast(&owners, &DataType::Int64)?;
            let owners = owners.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
            let mut out = ListBuilder::new(StringBuilder::new());
            for (kind, owner) in kinds.as_string::<i32>().iter().zip(owners.iter()) {
                let (Some(kind), Some(owner)) = (kind, owner) else {
                    out.append_null();
                    continue;
                };
                let owner = u32::try_from(owner)
                    .ok()
                    .and_then(|o| names.get(&o).cloned())
                    .unwrap_or_else(|| owner.to_string());
                for item in default_items(kind, &owner) {
                    out.values().append_value(item);
                }
                out.append(true);
            }
            Ok(ColumnarValue::Array(Arc::new(out.finish())))
        }
    }
    ScalarUDF::new_from_impl(AclDefault {
        roles,
        signature: Signature::any(2, Volatility::Stable),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_explode_in_privilege_order() {
        let granted = grants("=wr*/postgres").unwrap();
        let names: Vec<_> = granted.iter().map(|g| (g.privilege, g.grantable)).collect();
        assert_eq!(names, [("SELECT", true), ("UPDATE", false)]);
        assert_eq!(granted[0].grantee, 0);
        assert_eq!(granted[0].grantor, role_oid("postgres"));
        assert_eq!(
            grants("\"a\"\"b\"=r/postgres").unwrap()[0].grantee,
            role_oid("a\"b")
        );
        assert_eq!(
            default_items("d", "postgres"),
            ["=Tc/postgres", "postgres=CTc/postgres"]
        );
        assert_eq!(
            default_items("r", "we ird"),
            ["\"we ird\"=arwdDxt/\"we ird\""]
        );
        assert!(grants("alice").is_err());
        assert!(grants("alice=q/postgres").is_err());
    }
}
