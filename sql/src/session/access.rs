//! Roles, grants and the checks every statement passes: CREATE/ALTER/DROP ROLE,
//! GRANT and REVOKE, and the session's side of [`crate::privileges`].

use std::collections::BTreeMap;

use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::sqlparser::ast::{
    self, Action, AlterRoleOperation, Expr, GrantObjects, Grantee, GranteeName, GranteesType,
    ObjectName, Privileges, RoleOption, Value,
};
use enishi_storage::{RoleEntry, StorageError, schema_key, table_key};

use super::{CommandTag, Output, Session, object_name};
use crate::constants::SUPERUSER;
use crate::error::{Error, Result};
use crate::privileges::{self, Access, Identity, PUBLIC, Principal, Privilege};
use crate::scram;

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn must_be_owner(kind: &str, name: &str) -> Error {
    Error::InsufficientPrivilege(format!("must be owner of {kind} {name}"))
}

pub(super) fn no_role(name: &str) -> Error {
    Error::UndefinedObject(format!("role \"{name}\" does not exist"))
}

/// A password given in SQL: a string literal, or NULL (no password).
fn password_text(password: &ast::Password) -> Result<Option<String>> {
    match password {
        ast::Password::NullPassword => Ok(None),
        ast::Password::Password(Expr::Value(v)) => match &v.value {
            Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) => Ok(Some(s.clone())),
            Value::DollarQuotedString(s) => Ok(Some(s.value.clone())),
            Value::Null => Ok(None),
            other => Err(Error::syntax(format!(
                "a password must be a string, not {other}"
            ))),
        },
        ast::Password::Password(other) => Err(Error::syntax(format!(
            "a password must be a string literal, not {other}"
        ))),
    }
}

fn role_name(name: &ObjectName) -> String {
    object_name(name)
}

impl Session {
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The verifier a PASSWORD option stores: none for NULL and, as in
    /// PostgreSQL, none (with a notice) for an empty string, which could
    /// otherwise log in with no password at all.
    fn verifier_of(&mut self, password: &ast::Password) -> Result<Option<String>> {
        let text = password_text(password)?;
        if text.as_deref() == Some("") {
            self.notices.push(crate::Notice {
                severity: "NOTICE",
                code: "00000",
                message: "empty string is not a valid password, clearing password".into(),
            });
            return Ok(None);
        }
        Ok(text.map(|p| scram::verifier_for(&p)))
    }

    /// The relations the last statement was checked against, `schema.name`.
    pub fn take_objects(&mut self) -> Vec<String> {
        let mut objects = std::mem::take(&mut *self.objects.lock().expect("objects lock"));
        objects.sort();
        objects.dedup();
        objects
    }

    fn note_object(&self, schema: &str, name: &str) {
        self.objects
            .lock()
            .expect("objects lock")
            .push(format!("{schema}.{name}"));
    }

    /// Refuses every statement of a session whose capability token has expired
    /// or been revoked since it logged in.
    pub(super) fn check_principal(&self) -> Result<()> {
        let Principal::Token(capability) = &self.principal else {
            return Ok(());
        };
        let live = self
            .engine
            .storage()
            .read_catalog(|c| c.security.tokens.contains_key(&capability.id));
        if !live || capability.expired(now()) {
            return Err(privileges::expired());
        }
        Ok(())
    }

    /// Checks every relation `plan` reads or writes against the caller's
    /// privileges: the relations the plan holds, as the catalog knows them.
    pub(super) fn authorize(&self, plan: &LogicalPlan) -> Result<()> {
        self.engine.storage().read_catalog(|c| {
            let accesses = privileges::accesses(plan, c);
            for access in &accesses {
                if let (None, Identity::Stored { schema, name }) = (&access.view, &access.relation)
                {
                    self.note_object(schema, name);
                }
            }
            privileges::check(c, &self.principal, &accesses)
        })
    }

    /// Requires `privilege` on table `schema.table`.
    pub(super) fn require_table(
        &self,
        schema: &str,
        table: &str,
        privilege: Privilege,
    ) -> Result<()> {
        self.note_object(schema, table);
        let access = [Access {
            privilege,
            relation: Identity::Stored {
                schema: schema.to_string(),
                name: table.to_string(),
            },
            view: None,
        }];
        self.engine
            .storage()
            .read_catalog(|c| privileges::check(c, &self.principal, &access))
    }

    /// Requires `privilege` on the table a planned write changes.
    pub(super) fn require_target(
        &self,
        dml: &datafusion::logical_expr::DmlStatement,
        privilege: Privilege,
    ) -> Result<()> {
        let provider = datafusion::datasource::source_as_provider(&dml.target)?;
        self.engine.storage().read_catalog(|c| {
            let relation = crate::tables::identify(provider.as_ref(), &dml.table_name, c);
            let access = [Access {
                privilege,
                relation,
                view: None,
            }];
            privileges::check(c, &self.principal, &access)
        })
    }

    /// Requires `privilege` (CREATE, USAGE) on schema `schema`.
    pub(super) fn require_schema(&self, schema: &str, privilege: Privilege) -> Result<()> {
        let allowed = self
            .engine
            .storage()
            .read_catalog(|c| privileges::schema_allowed(c, &self.principal, schema, privilege));
        allowed
            .then_some(())
            .ok_or_else(|| privileges::denied("schema", schema))
    }

    /// Requires the caller to own a table, view or schema (as DROP and ALTER do).
    pub(super) fn require_owner(&self, kind: &str, schema: &str, name: &str) -> Result<()> {
        if kind == "schema" {
            self.objects
                .lock()
                .expect("objects lock")
                .push(schema.to_string());
        } else {
            self.note_object(schema, name);
        }
        let key = if kind == "schema" {
            schema_key(schema)
        } else {
            table_key(schema, name)
        };
        let allowed = match &self.principal {
            Principal::Superuser => true,
            Principal::Role(role) => self.engine.storage().read_catalog(|c| {
                privileges::owns(c, &key, role)
                    || c.security.roles.get(role).is_some_and(|r| r.superuser)
            }),
            Principal::Token(_) => false,
        };
        allowed
            .then_some(())
            .ok_or_else(|| must_be_owner(kind, name))
    }

    /// Requires the superuser, for what only it may do (`what` completes
    /// "permission denied to …").
    pub(super) fn require_superuser(&self, what: &str) -> Result<()> {
        let allowed = match &self.principal {
            Principal::Superuser => true,
            Principal::Role(role) => self
                .engine
                .storage()
                .read_catalog(|c| c.security.roles.get(role).is_some_and(|r| r.superuser)),
            Principal::Token(_) => false,
        };
        allowed
            .then_some(())
            .ok_or_else(|| Error::InsufficientPrivilege(format!("permission denied to {what}")))
    }

    /// Records the caller as the owner of an object it just created.
    pub(super) async fn record_owner(&self, key: String) -> Result<()> {
        let Principal::Role(role) = &self.principal else {
            return Ok(());
        };
        let role = role.clone();
        self.engine
            .storage()
            .change_security(|c| {
                c.security.owners.insert(key.clone(), role.clone());
                Ok(())
            })
            .await?;
        Ok(())
    }

    // ---- CREATE / ALTER / DROP ROLE ----

    pub(super) async fn create_role(&mut self, create: &ast::CreateRole) -> Result<Output> {
        self.require_superuser("create role")?;
        let verifier = match &create.password {
            Some(p) => self.verifier_of(p)?,
            None => None,
        };
        let entry = RoleEntry {
            superuser: create.superuser.unwrap_or(false),
            login: create.login.unwrap_or(false),
            verifier,
        };
        let names: Vec<String> = create.names.iter().map(role_name).collect();
        let if_not_exists = create.if_not_exists;
        let created = self
            .engine
            .storage()
            .change_security(|c| {
                let mut created = 0;
                for name in &names {
                    if name == SUPERUSER || name == PUBLIC || c.security.roles.contains_key(name) {
                        if if_not_exists {
                            continue;
                        }
                        return Err(StorageError::Conflict(name.clone()));
                    }
                    c.security.roles.insert(name.clone(), entry.clone());
                    created += 1;
                }
                Ok(created)
            })
            .await
            .map_err(|e| match e {
                StorageError::Conflict(name) => {
                    Error::DuplicateObject(format!("role \"{name}\" already exists"))
                }
                other => other.into(),
            })?;
        if created == 0 && if_not_exists {
            self.notices.push(crate::Notice {
                severity: "NOTICE",
                code: "42710",
                message: format!("role \"{}\" already exists, skipping", names.join(", ")),
            });
        }
        Ok(Output::Command(CommandTag::new("CREATE ROLE")))
    }

    pub(super) async fn alter_role(
        &mut self,
        name: &ast::Ident,
        operation: &AlterRoleOperation,
    ) -> Result<Output> {
        let name = name.value.clone();
        let AlterRoleOperation::WithOptions { options } = operation else {
            return Err(Error::unsupported(format!(
                "ALTER ROLE {operation} is not supported"
            )));
        };
        // A role may change its own password; everything else is the superuser's.
        let own_password = matches!(&self.principal, Principal::Role(r) if *r == name)
            && options.iter().all(|o| matches!(o, RoleOption::Password(_)));
        if !own_password {
            self.require_superuser("alter role")?;
        }
        if name == SUPERUSER {
            return Err(Error::FeatureNotSupported(format!(
                "the superuser \"{SUPERUSER}\" is configured by security.superuser_password, not ALTER ROLE"
            )));
        }
        let (mut verifier, mut login, mut superuser) = (None, None, None);
        for option in options {
            match option {
                RoleOption::Password(p) => {
                    verifier = Some(self.verifier_of(p)?);
                }
                RoleOption::Login(v) => login = Some(*v),
                RoleOption::SuperUser(v) => superuser = Some(*v),
                other => {
                    return Err(Error::unsupported(format!(
                        "role option {other} is not supported"
                    )));
                }
            }
        }
        self.engine
            .storage()
            .change_security(|c| {
                let role = c
                    .security
                    .roles
                    .get_mut(&name)
                    .ok_or_else(|| StorageError::TableNotFound(name.clone()))?;
                if let Some(verifier) = &verifier {
                    role.verifier = verifier.clone();
                }
                role.login = login.unwrap_or(role.login);
                role.superuser = superuser.unwrap_or(role.superuser);
                Ok(())
            })
            .await
            .map_err(|e| match e {
                StorageError::TableNotFound(name) => no_role(&name),
                other => other.into(),
            })?;
        Ok(Output::Command(CommandTag::new("ALTER ROLE")))
    }

    pub(super) async fn drop_roles(
        &mut self,
        names: &[ObjectName],
        if_exists: bool,
    ) -> Result<Output> {
        self.require_superuser("drop role")?;
        let names: Vec<String> = names.iter().map(role_name).collect();
        if let Some(current) = names.iter().find(|n| **n == self.user) {
            return Err(Error::ObjectInUse(format!(
                "current user cannot be dropped: {current}"
            )));
        }
        let skipped = self
            .engine
            .storage()
            .change_security(|c| {
                let mut skipped = Vec::new();
                for name in &names {
                    if !c.security.roles.contains_key(name) {
                        if if_exists {
                            skipped.push(name.clone());
                            continue;
                        }
                        return Err(StorageError::TableNotFound(name.clone()));
                    }
                    if c.security.owners.values().any(|o| o == name) {
                        return Err(StorageError::SchemaNotEmpty(name.clone()));
                    }
                    c.security.roles.remove(name);
                    for by_role in c.security.grants.values_mut() {
                        by_role.remove(name);
                    }
                    c.security.grants.retain(|_, by_role| !by_role.is_empty());
                }
                Ok(skipped)
            })
            .await
            .map_err(|e| match e {
                StorageError::TableNotFound(name) => no_role(&name),
                StorageError::SchemaNotEmpty(name) => Error::DependentObjects(format!(
                    "role \"{name}\" cannot be dropped because some objects depend on it"
                )),
                other => other.into(),
            })?;
        for name in skipped {
            self.notices.push(crate::Notice {
                severity: "NOTICE",
                code: "00000",
                message: format!("role \"{name}\" does not exist, skipping"),
            });
        }
        Ok(Output::Command(CommandTag::new("DROP ROLE")))
    }

    // ---- GRANT / REVOKE ----

    /// The object keys a GRANT or REVOKE names, each checked to exist and to be
    /// the caller's to grant; and the privileges that apply to them.
    fn grant_targets(
        &self,
        privileges: &Privileges,
        objects: Option<&GrantObjects>,
    ) -> Result<(Vec<String>, Vec<Privilege>)> {
        let (keys, kinds) = match objects {
            Some(GrantObjects::Tables(names)) => {
                let mut keys = Vec::new();
                for name in names {
                    let (schema, table) = self.resolve(name)?;
                    let exists = self
                        .engine
                        .storage()
                        .read_catalog(|c| c.relation_exists(&schema, &table));
                    if !exists {
                        return Err(Error::UndefinedTable(name.to_string()));
                    }
                    self.require_owner("table", &schema, &table)?;
                    keys.push(table_key(&schema, &table));
                }
                (keys, Privilege::TABLE.as_slice())
            }
            Some(GrantObjects::AllTablesInSchema { schemas }) => {
                let mut keys = Vec::new();
                for schema in schemas {
                    let schema = object_name(schema);
                    let tables = self.engine.storage().read_catalog(|c| {
                        c.schema(&schema).map(|s| {
                            s.tables
                                .keys()
                                .chain(s.views.keys())
                                .chain(s.externals.keys())
                                .cloned()
                                .collect::<Vec<_>>()
                        })
                    });
                    let tables = tables.ok_or_else(|| Error::UndefinedSchema(schema.clone()))?;
                    for table in tables {
                        self.require_owner("table", &schema, &table)?;
                        keys.push(table_key(&schema, &table));
                    }
                }
                (keys, Privilege::TABLE.as_slice())
            }
            Some(GrantObjects::Schemas(names)) => {
                let mut keys = Vec::new();
                for schema in names {
                    let schema = object_name(schema);
                    if self.engine.storage().catalog().schema(&schema).is_none() {
                        return Err(Error::UndefinedSchema(schema));
                    }
                    self.require_owner("schema", &schema, &schema)?;
                    keys.push(schema_key(&schema));
                }
                (keys, Privilege::SCHEMA.as_slice())
            }
            Some(other) => {
                return Err(Error::unsupported(format!(
                    "GRANT and REVOKE on {other} are not supported"
                )));
            }
            None => {
                return Err(Error::unsupported(
                    "granting role membership is not supported",
                ));
            }
        };
        let chosen = match privileges {
            Privileges::All { .. } => kinds.to_vec(),
            Privileges::Actions(actions) => {
                let mut chosen = Vec::new();
                for action in actions {
                    let privilege = match action {
                        Action::Select { columns: None } => Privilege::Select,
                        Action::Insert { columns: None } => Privilege::Insert,
                        Action::Update { columns: None } => Privilege::Update,
                        Action::Delete => Privilege::Delete,
                        Action::Usage => Privilege::Usage,
                        Action::Create { obj_type: None } => Privilege::Create,
                        other => {
                            return Err(Error::unsupported(format!(
                                "privilege {other} is not supported"
                            )));
                        }
                    };
                    if !kinds.contains(&privilege) {
                        return Err(Error::InvalidGrantOperation(format!(
                            "invalid privilege type {} for {}",
                            privilege.name(),
                            if kinds == Privilege::SCHEMA {
                                "schema"
                            } else {
                                "relation"
                            }
                        )));
                    }
                    chosen.push(privilege);
                }
                chosen
            }
        };
        Ok((keys, chosen))
    }

    /// Role names a GRANT or REVOKE names, each checked to exist.
    fn grantees(&self, grantees: &[Grantee]) -> Result<Vec<String>> {
        let roles = self
            .engine
            .storage()
            .read_catalog(|c| c.security.roles.keys().cloned().collect::<Vec<_>>());
        let mut names = Vec::new();
        for grantee in grantees {
            let name = match (&grantee.grantee_type, &grantee.name) {
                (GranteesType::Public, _) => PUBLIC.to_string(),
                (_, Some(GranteeName::ObjectName(name))) => role_name(name),
                _ => return Err(Error::unsupported(format!("grantee {grantee}"))),
            };
            if name != PUBLIC && name != SUPERUSER && !roles.contains(&name) {
                return Err(no_role(&name));
            }
            names.push(name);
        }
        Ok(names)
    }

    pub(super) async fn grant(&mut self, grant: &ast::Grant) -> Result<Output> {
        let (keys, privileges) = self.grant_targets(&grant.privileges, grant.objects.as_ref())?;
        let roles = self.grantees(&grant.grantees)?;
        self.engine
            .storage()
            .change_security(|c| {
                for key in &keys {
                    let by_role: &mut BTreeMap<String, Vec<String>> =
                        c.security.grants.entry(key.clone()).or_default();
                    for role in &roles {
                        let held = by_role.entry(role.clone()).or_default();
                        for p in &privileges {
                            if !held.iter().any(|h| h == p.name()) {
                                held.push(p.name().to_string());
                            }
                        }
                        held.sort();
                    }
                }
                Ok(())
            })
            .await?;
        Ok(Output::Command(CommandTag::new("GRANT")))
    }

    pub(super) async fn revoke(&mut self, revoke: &ast::Revoke) -> Result<Output> {
        let (keys, privileges) = self.grant_targets(&revoke.privileges, revoke.objects.as_ref())?;
        let roles = self.grantees(&revoke.grantees)?;
        self.engine
            .storage()
            .change_security(|c| {
                for key in &keys {
                    if let Some(by_role) = c.security.grants.get_mut(key) {
                        for role in &roles {
                            if let Some(held) = by_role.get_mut(role) {
                                held.retain(|h| !privileges.iter().any(|p| p.name() == h));
                            }
                        }
                        by_role.retain(|_, held| !held.is_empty());
                    }
                }
                c.security.grants.retain(|_, by_role| !by_role.is_empty());
                Ok(())
            })
            .await?;
        Ok(Output::Command(CommandTag::new("REVOKE")))
    }
}
