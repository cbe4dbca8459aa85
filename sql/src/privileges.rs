//! Who a session acts as, and what it may do.
//!
//! Every statement's plan is walked for the tables and views it reads and the
//! table it writes ([`accesses`]); each access is checked against the catalog's
//! grants for the session's [`Principal`] before anything runs. As in
//! PostgreSQL, a view is checked against the caller and the relations under it
//! against the view's owner: granting SELECT on a view shares what its owner
//! may read through it, and no more.

use std::collections::BTreeSet;

use datafusion::common::TableReference;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::logical_expr::{LogicalPlan, WriteOp};
use enishi_storage::{CatalogState, schema_key, table_key};

use crate::engine::DEFAULT_SCHEMA;
use crate::error::{Error, Result};

/// A privilege on a table or a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Privilege {
    Select,
    Insert,
    Update,
    Delete,
    Usage,
    Create,
}

impl Privilege {
    pub const TABLE: [Privilege; 4] = [Self::Select, Self::Insert, Self::Update, Self::Delete];
    pub const SCHEMA: [Privilege; 2] = [Self::Usage, Self::Create];

    pub fn name(self) -> &'static str {
        match self {
            Self::Select => "SELECT",
            Self::Insert => "INSERT",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
            Self::Usage => "USAGE",
            Self::Create => "CREATE",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::TABLE.as_slice(), Self::SCHEMA.as_slice()]
            .concat()
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// What a capability token allows: `read` (SELECT) and/or `write` (INSERT,
/// UPDATE, DELETE) on `/schema/table` or every table of `/schema/*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capability {
    pub id: String,
    pub schema: String,
    /// None for every table of the schema.
    pub table: Option<String>,
    pub read: bool,
    pub write: bool,
    /// Seconds since the Unix epoch.
    pub expires_at: i64,
}

impl Capability {
    /// Reads a resource path; None when it is not `/schema/table` or `/schema/*`.
    pub fn resource(path: &str) -> Option<(String, Option<String>)> {
        let mut parts = path.strip_prefix('/')?.split('/');
        let schema = parts.next().filter(|s| !s.is_empty() && *s != "*")?;
        let table = parts.next().filter(|t| !t.is_empty())?;
        if parts.next().is_some() {
            return None;
        }
        let table = (table != "*").then(|| table.to_string());
        Some((schema.to_string(), table))
    }

    pub fn expired(&self, now: i64) -> bool {
        now >= self.expires_at
    }

    fn covers(&self, schema: &str, table: &str) -> bool {
        self.schema == schema && self.table.as_deref().is_none_or(|t| t == table)
    }
}

/// Who a session acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The configured superuser, or a role with SUPERUSER: everything is allowed.
    Superuser,
    Role(String),
    /// A client that logged in with a capability token.
    Token(Capability),
}

impl Principal {
    /// What the result cache must key on besides the statement: answers are
    /// shared only between callers with the same privileges.
    pub fn scope(&self) -> String {
        match self {
            Principal::Superuser => "superuser".into(),
            Principal::Role(r) => format!("role:{r}"),
            Principal::Token(c) => format!("token:{}", c.id),
        }
    }

    pub fn is_superuser(&self) -> bool {
        matches!(self, Principal::Superuser)
    }
}

/// The role name every role holds grants of (`GRANT … TO PUBLIC`).
pub const PUBLIC: &str = "public";

/// Schemas every session may read, whatever its grants.
fn is_system_schema(schema: &str) -> bool {
    matches!(schema, "pg_catalog" | "information_schema")
}

fn granted(catalog: &CatalogState, key: &str, role: &str, privilege: Privilege) -> bool {
    catalog.security.grants.get(key).is_some_and(|by_role| {
        [role, PUBLIC].iter().any(|r| {
            by_role
                .get(*r)
                .is_some_and(|ps| ps.iter().any(|p| p == privilege.name()))
        })
    })
}

/// Whether `role` owns the object under `key` (objects without a recorded
/// owner belong to the superuser).
pub fn owns(catalog: &CatalogState, key: &str, role: &str) -> bool {
    catalog.security.owners.get(key).is_some_and(|o| o == role)
}

/// Whether `principal` holds `privilege` on schema `schema`.
pub fn schema_allowed(
    catalog: &CatalogState,
    principal: &Principal,
    schema: &str,
    privilege: Privilege,
) -> bool {
    let key = schema_key(schema);
    match principal {
        Principal::Superuser => true,
        Principal::Role(role) => {
            is_role_superuser(catalog, role)
                || owns(catalog, &key, role)
                || (privilege == Privilege::Usage
                    && (schema == DEFAULT_SCHEMA || is_system_schema(schema)))
                || granted(catalog, &key, role, privilege)
        }
        Principal::Token(c) => privilege == Privilege::Usage && c.schema == schema,
    }
}

fn is_role_superuser(catalog: &CatalogState, role: &str) -> bool {
    catalog
        .security
        .roles
        .get(role)
        .is_some_and(|r| r.superuser)
}

/// Whether `principal` holds `privilege` on table (or view) `schema.table`,
/// including USAGE on its schema.
pub fn table_allowed(
    catalog: &CatalogState,
    principal: &Principal,
    schema: &str,
    table: &str,
    privilege: Privilege,
) -> bool {
    if is_system_schema(schema) {
        return privilege == Privilege::Select;
    }
    let key = table_key(schema, table);
    match principal {
        Principal::Superuser => true,
        Principal::Role(role) => {
            is_role_superuser(catalog, role)
                || owns(catalog, &key, role)
                || (schema_allowed(catalog, principal, schema, Privilege::Usage)
                    && granted(catalog, &key, role, privilege))
        }
        Principal::Token(c) => {
            c.covers(schema, table)
                && match privilege {
                    Privilege::Select => c.read,
                    Privilege::Insert | Privilege::Update | Privilege::Delete => c.write,
                    Privilege::Usage | Privilege::Create => false,
                }
        }
    }
}

/// One use of a relation by a statement.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Access {
    pub privilege: Privilege,
    pub relation: TableReference,
    /// The view the relation is read through (None: named by the statement);
    /// that view's owner is who must hold the privilege.
    pub view: Option<TableReference>,
}

/// The relations a plan reads and writes, views and subqueries included.
pub fn accesses(plan: &LogicalPlan) -> Vec<Access> {
    let mut out = BTreeSet::new();
    collect(plan, None, None, &mut out);
    out.into_iter().collect()
}

/// Walks `plan`; scans of `target` (the table an UPDATE or DELETE changes) are
/// covered by that statement's own privilege.
fn collect(
    plan: &LogicalPlan,
    target: Option<&TableReference>,
    view: Option<&TableReference>,
    out: &mut BTreeSet<Access>,
) {
    let _ = plan.apply_with_subqueries(|node| {
        match node {
            LogicalPlan::TableScan(scan) => {
                if target != Some(&scan.table_name) {
                    out.insert(Access {
                        privilege: Privilege::Select,
                        relation: scan.table_name.clone(),
                        view: view.cloned(),
                    });
                }
                if let Some(inner) = view_plan(scan) {
                    collect(inner, None, Some(&scan.table_name), out);
                }
            }
            LogicalPlan::Dml(dml) => {
                let privilege = match dml.op {
                    WriteOp::Insert(_) | WriteOp::Ctas => Privilege::Insert,
                    WriteOp::Update => Privilege::Update,
                    // DELETE, TRUNCATE and any write DataFusion adds later.
                    _ => Privilege::Delete,
                };
                out.insert(Access {
                    privilege,
                    relation: dml.table_name.clone(),
                    view: view.cloned(),
                });
                let own =
                    matches!(dml.op, WriteOp::Update | WriteOp::Delete).then_some(&dml.table_name);
                collect(&dml.input, own, view, out);
                return Ok(TreeNodeRecursion::Jump);
            }
            _ => {}
        }
        Ok(TreeNodeRecursion::Continue)
    });
}

/// The query of a stored view a scan reads, if it reads one.
fn view_plan(scan: &datafusion::logical_expr::TableScan) -> Option<&LogicalPlan> {
    let source = scan
        .source
        .downcast_ref::<datafusion::datasource::DefaultTableSource>()?;
    let view = source
        .table_provider
        .downcast_ref::<crate::tables::StoredView>()?;
    Some(view.plan())
}

/// PostgreSQL's refusal: `permission denied for table t` (42501).
pub fn denied(kind: &str, name: &str) -> Error {
    Error::InsufficientPrivilege(format!("permission denied for {kind} {name}"))
}

/// Refuses a capability token that has expired (28000, like an expired password).
pub fn expired() -> Error {
    Error::InvalidAuthorization("the capability token has expired".into())
}

/// A resolved access: privilege, schema, relation, and the view (schema,
/// name) it is read through, if any.
pub type Resolved = (Privilege, String, String, Option<(String, String)>);

/// Who owns a table or view: a role, or the superuser when none is recorded.
pub fn owner(catalog: &CatalogState, schema: &str, table: &str) -> Principal {
    match catalog.security.owners.get(&table_key(schema, table)) {
        Some(role) => Principal::Role(role.clone()),
        None => Principal::Superuser,
    }
}

/// Checks resolved accesses. Relations the catalog does not hold (system
/// tables) need no grant to read.
pub fn check(catalog: &CatalogState, principal: &Principal, accesses: &[Resolved]) -> Result<()> {
    for (privilege, schema, table, view) in accesses {
        let owner_of_view;
        let principal = match view {
            Some((view_schema, view_name)) => {
                owner_of_view = owner(catalog, view_schema, view_name);
                &owner_of_view
            }
            None => principal,
        };
        if principal.is_superuser() {
            continue;
        }
        if !catalog.relation_exists(schema, table) {
            continue;
        }
        if !schema_allowed(catalog, principal, schema, Privilege::Usage) {
            return Err(denied("schema", schema));
        }
        if !table_allowed(catalog, principal, schema, table, *privilege) {
            let kind = if catalog
                .schema(schema)
                .is_some_and(|s| s.views.contains_key(table))
            {
                "view"
            } else {
                "table"
            };
            return Err(denied(kind, table));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_name_a_table_or_a_whole_schema() {
        assert_eq!(
            Capability::resource("/data/users"),
            Some(("data".into(), Some("users".into())))
        );
        assert_eq!(Capability::resource("/data/*"), Some(("data".into(), None)));
        for bad in ["data/users", "/data", "/data/", "/*/x", "/a/b/c", ""] {
            assert_eq!(Capability::resource(bad), None, "{bad}");
        }
    }

    #[test]
    fn grants_need_schema_usage_and_public_grants_reach_everyone() {
        let mut catalog = CatalogState::initial();
        catalog.schemas.insert(
            "data".into(),
            enishi_storage::catalog::SchemaEntry::default(),
        );
        let alice = Principal::Role("alice".into());
        let t = table_key("data", "t");
        catalog
            .security
            .grants
            .entry(t.clone())
            .or_default()
            .insert(PUBLIC.into(), vec!["SELECT".into()]);
        assert!(!table_allowed(
            &catalog,
            &alice,
            "data",
            "t",
            Privilege::Select
        ));
        catalog
            .security
            .grants
            .entry(schema_key("data"))
            .or_default()
            .insert("alice".into(), vec!["USAGE".into()]);
        assert!(table_allowed(
            &catalog,
            &alice,
            "data",
            "t",
            Privilege::Select
        ));
        assert!(!table_allowed(
            &catalog,
            &alice,
            "data",
            "t",
            Privilege::Insert
        ));
        assert!(table_allowed(
            &catalog,
            &alice,
            "pg_catalog",
            "pg_class",
            Privilege::Select
        ));
    }
}
