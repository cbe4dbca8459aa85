//! Who a session acts as, and what it may do.
//!
//! Every statement's plan is walked for the tables and views it reads and the
//! table it writes ([`accesses`]); each access is checked against the catalog's
//! grants for the session's [`Principal`] before anything runs. As in
//! PostgreSQL, a view is checked against the caller and the relations under it
//! against the view's owner: granting SELECT on a view shares what its owner
//! may read through it, and no more.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::common::TableReference;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::source_as_provider;
use datafusion::logical_expr::{Expr, LogicalPlan, TableSource, WriteOp};
use enishi_storage::{CatalogState, schema_key, table_key};

use crate::constants::DEFAULT_SCHEMA;
use crate::error::{Error, Result};
pub use crate::tables::Identity;
use crate::tables::{identify, is_system_schema};

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
    /// The relation as the plan holds it (what DataFusion will scan or write).
    pub relation: Identity,
    /// The view the relation is read through (None: named by the statement);
    /// that view's owner is who must hold the privilege.
    pub view: Option<Identity>,
}

/// The relations a plan reads and writes, views and subqueries included,
/// each identified by the provider the plan holds (never by its name again).
pub fn accesses(plan: &LogicalPlan, catalog: &CatalogState) -> Vec<Access> {
    let mut walk = Walk {
        catalog,
        out: BTreeSet::new(),
    };
    walk.collect(plan, None, None);
    walk.out.into_iter().collect()
}

struct Walk<'a> {
    catalog: &'a CatalogState,
    out: BTreeSet<Access>,
}

impl Walk<'_> {
    fn identify(&self, source: &Arc<dyn TableSource>, reference: &TableReference) -> Identity {
        match source_as_provider(source) {
            Ok(provider) => identify(provider.as_ref(), reference, self.catalog),
            Err(_) => Identity::Unknown(reference.to_string()),
        }
    }

    /// Walks `plan`; scans of `target` (the table an UPDATE or DELETE changes)
    /// are covered by that statement's own privileges.
    fn collect(&mut self, plan: &LogicalPlan, target: Option<&Identity>, view: Option<&Identity>) {
        let _ = plan.apply_with_subqueries(|node| {
            match node {
                LogicalPlan::TableScan(scan) => {
                    let relation = self.identify(&scan.source, &scan.table_name);
                    if target != Some(&relation) {
                        self.out.insert(Access {
                            privilege: Privilege::Select,
                            relation: relation.clone(),
                            view: view.cloned(),
                        });
                    }
                    if let Some(inner) = view_plan(scan) {
                        self.collect(inner, None, Some(&relation));
                    }
                }
                LogicalPlan::Dml(dml) => {
                    let privilege = match dml.op {
                        WriteOp::Insert(_) | WriteOp::Ctas => Privilege::Insert,
                        WriteOp::Update => Privilege::Update,
                        // DELETE, TRUNCATE and any write DataFusion adds later.
                        _ => Privilege::Delete,
                    };
                    let relation = self.identify(&dml.target, &dml.table_name);
                    self.out.insert(Access {
                        privilege,
                        relation: relation.clone(),
                        view: view.cloned(),
                    });
                    let changes = matches!(dml.op, WriteOp::Update | WriteOp::Delete);
                    // As in PostgreSQL, an UPDATE or DELETE that reads the
                    // table's columns (in WHERE or in SET) needs SELECT too.
                    if changes && reads_columns(&dml.input) {
                        self.out.insert(Access {
                            privilege: Privilege::Select,
                            relation: relation.clone(),
                            view: view.cloned(),
                        });
                    }
                    self.collect(&dml.input, changes.then_some(&relation), view);
                    return Ok(TreeNodeRecursion::Jump);
                }
                _ => {}
            }
            Ok(TreeNodeRecursion::Continue)
        });
    }
}

/// Refuses any plan that holds a node Enishi does not run on purpose.
///
/// Enishi answers its statements itself (DDL, COPY to and from files, session
/// statements, …) with their own checks; what reaches DataFusion's planner and
/// executor may only read relations and change rows. DataFusion's own
/// statements (its `COPY … STORED AS`, which writes files; DDL on its
/// in-memory catalog; …) are refused wherever they appear, under EXPLAIN too.
pub fn admissible(plan: &LogicalPlan) -> Result<()> {
    let mut refused = None;
    let _ = plan.apply_with_subqueries(|node| {
        let why = match node {
            LogicalPlan::Projection(_)
            | LogicalPlan::Filter(_)
            | LogicalPlan::Window(_)
            | LogicalPlan::Aggregate(_)
            | LogicalPlan::Sort(_)
            | LogicalPlan::Join(_)
            | LogicalPlan::Repartition(_)
            | LogicalPlan::Union(_)
            | LogicalPlan::TableScan(_)
            | LogicalPlan::EmptyRelation(_)
            | LogicalPlan::Subquery(_)
            | LogicalPlan::SubqueryAlias(_)
            | LogicalPlan::Limit(_)
            | LogicalPlan::Values(_)
            | LogicalPlan::Explain(_)
            | LogicalPlan::Analyze(_)
            | LogicalPlan::Distinct(_)
            | LogicalPlan::Unnest(_)
            | LogicalPlan::RecursiveQuery(_)
            | LogicalPlan::DescribeTable(_) => None,
            LogicalPlan::Dml(dml) => match dml.op {
                WriteOp::Insert(_) | WriteOp::Update | WriteOp::Delete | WriteOp::Truncate => None,
                _ => Some(Error::unsupported("CREATE TABLE AS is not supported here")),
            },
            LogicalPlan::Copy(_) => Some(Error::unsupported(
                "COPY … STORED AS is not supported: use COPY … TO 'file' WITH (FORMAT …)",
            )),
            LogicalPlan::Ddl(ddl) => Some(not_supported(ddl.name())),
            LogicalPlan::Statement(statement) => Some(not_supported(statement.name())),
            LogicalPlan::Extension(extension) => Some(not_supported(extension.node.name())),
        };
        if let Some(why) = why {
            refused = Some(why);
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    refused.map_or(Ok(()), Err)
}

fn not_supported(what: &str) -> Error {
    Error::unsupported(format!("{what} is not supported"))
}

/// Whether the input of an UPDATE or DELETE reads the rows' values: a
/// condition, or a SET expression that is not a column kept as it is.
fn reads_columns(input: &LogicalPlan) -> bool {
    let mut reads = false;
    let _ = input.apply(|node| {
        match node {
            LogicalPlan::Filter(_) => reads = true,
            LogicalPlan::Projection(projection) => {
                for (expr, field) in projection.expr.iter().zip(projection.schema.fields()) {
                    let kept = matches!(
                        expr.clone().unalias_nested().data,
                        Expr::Column(ref c) if c.name == *field.name()
                    );
                    if !kept && !expr.column_refs().is_empty() {
                        reads = true;
                    }
                }
            }
            LogicalPlan::TableScan(scan) if !scan.filters.is_empty() => reads = true,
            _ => {}
        }
        Ok(if reads {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    reads
}

/// Whether `plan` reads view `schema.name`, directly or through other views.
pub fn reads_view(plan: &LogicalPlan, schema: &str, name: &str) -> bool {
    let mut found = false;
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && let Some(view) = stored_view(scan)
        {
            found = view.name() == (schema, name) || reads_view(view.plan(), schema, name);
        }
        Ok(if found {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    found
}

fn stored_view(scan: &datafusion::logical_expr::TableScan) -> Option<&crate::tables::StoredView> {
    scan.source
        .downcast_ref::<datafusion::datasource::DefaultTableSource>()?
        .table_provider
        .downcast_ref::<crate::tables::StoredView>()
}

/// The query of a stored view a scan reads, if it reads one.
fn view_plan(scan: &datafusion::logical_expr::TableScan) -> Option<&LogicalPlan> {
    Some(stored_view(scan)?.plan())
}

/// PostgreSQL's refusal: `permission denied for table t` (42501).
pub fn denied(kind: &str, name: &str) -> Error {
    Error::InsufficientPrivilege(format!("permission denied for {kind} {name}"))
}

/// Refuses a capability token that has expired (28000, like an expired password).
pub fn expired() -> Error {
    Error::InvalidAuthorization("the capability token has expired".into())
}

/// Who owns a table or view: a role, or the superuser when none is recorded.
pub fn owner(catalog: &CatalogState, schema: &str, table: &str) -> Principal {
    match catalog.security.owners.get(&table_key(schema, table)) {
        Some(role) => Principal::Role(role.clone()),
        None => Principal::Superuser,
    }
}

/// Checks a statement's accesses: stored relations against the grants of the
/// caller (or of the view's owner, under a view), system relations are read
/// by everyone and written by no one, and a relation the catalog does not
/// hold is refused.
pub fn check(catalog: &CatalogState, principal: &Principal, accesses: &[Access]) -> Result<()> {
    for access in accesses {
        let (schema, table) = match &access.relation {
            Identity::Stored { schema, name } => (schema, name),
            Identity::WorkTable => continue,
            Identity::System(name) => {
                if access.privilege == Privilege::Select {
                    continue;
                }
                return Err(denied("table", name));
            }
            Identity::Unknown(name) => return Err(Error::UndefinedTable(name.clone())),
        };
        let owner_of_view;
        let principal = match &access.view {
            Some(Identity::Stored {
                schema: view_schema,
                name: view_name,
            }) => {
                owner_of_view = owner(catalog, view_schema, view_name);
                &owner_of_view
            }
            Some(_) => return Err(Error::UndefinedTable(table.clone())),
            None => principal,
        };
        if principal.is_superuser() {
            continue;
        }
        if !schema_allowed(catalog, principal, schema, Privilege::Usage) {
            return Err(denied("schema", schema));
        }
        if !table_allowed(catalog, principal, schema, table, access.privilege) {
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
