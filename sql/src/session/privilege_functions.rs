//! `has_table_privilege` and its kin, answered from the catalog's grants.

use super::access::no_role;
use super::*;
use crate::constants::SUPERUSER;
use crate::privileges;

/// What `has_table_privilege` and friends answer about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Subject {
    Table,
    Schema,
    Database,
}

/// `has_table_privilege([user,] table, privilege)`, `has_any_column_privilege`,
/// `has_schema_privilege` and `has_database_privilege`, answered from the
/// catalog's grants for this session (or the named role).
pub(super) struct HasPrivilege {
    name: &'static str,
    subject: Subject,
    signature: datafusion::logical_expr::Signature,
    storage: std::sync::Arc<enishi_storage::Storage>,
    oids: std::sync::Arc<crate::system_tables::Oids>,
    settings: std::sync::Arc<std::sync::RwLock<crate::Settings>>,
    principal: Principal,
    user: String,
}

impl std::fmt::Debug for HasPrivilege {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HasPrivilege")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl PartialEq for HasPrivilege {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.user == other.user && self.principal == other.principal
    }
}

impl Eq for HasPrivilege {}

impl std::hash::Hash for HasPrivilege {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.user.hash(state);
    }
}

pub(super) fn exec_err(e: Error) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::External(Box::new(e))
}

impl HasPrivilege {
    /// Who a named user is, for the three-argument forms.
    fn principal_for(&self, user: Option<&str>) -> Result<Principal> {
        let Some(user) = user else {
            return Ok(self.principal.clone());
        };
        if user == self.user {
            return Ok(self.principal.clone());
        }
        if user == SUPERUSER || user == "10" {
            return Ok(Principal::Superuser);
        }
        let exists = self
            .storage
            .read_catalog(|c| c.security.roles.contains_key(user));
        if exists {
            Ok(Principal::Role(user.to_string()))
        } else {
            Err(no_role(user))
        }
    }

    /// A relation named by text (`t`, `s.t`, `"T"`) or OID.
    fn relation(&self, name: &str) -> Result<Option<(String, String)>> {
        let catalog = self.storage.catalog();
        if let Ok(oid) = name.trim().parse::<u32>() {
            for (schema, entry) in &catalog.schemas {
                let names = entry
                    .tables
                    .keys()
                    .chain(entry.views.keys())
                    .chain(entry.externals.keys());
                for table in names {
                    if self.oids.relation(schema, table) == oid {
                        return Ok(Some((schema.clone(), table.clone())));
                    }
                }
            }
            // A system relation: readable by everyone.
            return Ok(None);
        }
        let parts = super::names::identifier_parts(name)?;
        match parts.as_slice() {
            [schema, table] | [_, schema, table] => {
                if catalog.relation_exists(schema, table) {
                    Ok(Some((schema.clone(), table.clone())))
                } else if matches!(schema.as_str(), "pg_catalog" | "information_schema") {
                    Ok(None)
                } else {
                    Err(Error::UndefinedTable(name.to_string()))
                }
            }
            [table] => {
                let path = self.settings.read().expect("settings lock").search_path();
                match path.iter().find(|s| catalog.relation_exists(s, table)) {
                    Some(schema) => Ok(Some((schema.clone(), table.clone()))),
                    // pg_class, pg_type …: found in pg_catalog.
                    None if table.starts_with("pg_") => Ok(None),
                    None => Err(Error::UndefinedTable(name.to_string())),
                }
            }
            _ => Err(Error::syntax(format!("improper relation name: {name}"))),
        }
    }

    fn answer(&self, args: &[&str]) -> Result<bool> {
        let (user, object, wanted) = match args {
            [object, wanted] => (None, *object, *wanted),
            [user, object, wanted] => (Some(*user), *object, *wanted),
            _ => {
                return Err(Error::UndefinedFunction(format!(
                    "function {} takes 2 or 3 arguments",
                    self.name
                )));
            }
        };
        let principal = self.principal_for(user)?;
        let mut any = false;
        for word in wanted.split(',') {
            let word = word.trim().to_uppercase();
            let word = word.trim_end_matches(" WITH GRANT OPTION").trim();
            let held = match self.subject {
                Subject::Database => match word {
                    "CONNECT" | "TEMP" | "TEMPORARY" => true,
                    "CREATE" => principal.is_superuser(),
                    _ => return Err(unknown_privilege(word)),
                },
                Subject::Schema => {
                    let privilege = Privilege::parse(word)
                        .filter(|p| Privilege::SCHEMA.contains(p))
                        .ok_or_else(|| unknown_privilege(word))?;
                    let schema = object.trim_matches('"');
                    self.storage.read_catalog(|c| {
                        privileges::schema_allowed(c, &principal, schema, privilege)
                    })
                }
                Subject::Table => {
                    let privilege = match word {
                        "TRUNCATE" => Privilege::Delete,
                        "REFERENCES" | "TRIGGER" => Privilege::Create,
                        other => Privilege::parse(other)
                            .filter(|p| Privilege::TABLE.contains(p))
                            .ok_or_else(|| unknown_privilege(other))?,
                    };
                    match self.relation(object)? {
                        None => privilege == Privilege::Select || principal.is_superuser(),
                        Some((schema, table)) => self.storage.read_catalog(|c| {
                            privileges::table_allowed(c, &principal, &schema, &table, privilege)
                        }),
                    }
                }
            };
            any |= held;
        }
        Ok(any)
    }
}

pub(super) fn unknown_privilege(word: &str) -> Error {
    Error::InvalidParameterValue(format!("unrecognized privilege type: \"{word}\""))
}

impl datafusion::logical_expr::ScalarUDFImpl for HasPrivilege {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &datafusion::logical_expr::Signature {
        &self.signature
    }

    fn return_type(
        &self,
        _args: &[datafusion::arrow::datatypes::DataType],
    ) -> datafusion::error::Result<datafusion::arrow::datatypes::DataType> {
        Ok(datafusion::arrow::datatypes::DataType::Boolean)
    }

    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> datafusion::error::Result<datafusion::logical_expr::ColumnarValue> {
        use datafusion::arrow::array::{Array, BooleanArray, StringArray};
        use datafusion::arrow::datatypes::DataType;
        let rows = args.number_rows;
        let mut columns = Vec::with_capacity(args.args.len());
        for arg in &args.args {
            let array = datafusion::arrow::compute::cast(&arg.to_array(rows)?, &DataType::Utf8)?;
            columns.push(array);
        }
        let strings: Vec<&StringArray> = columns
            .iter()
            .map(|c| {
                c.as_any()
                    .downcast_ref::<StringArray>()
                    .expect("cast to Utf8")
            })
            .collect();
        let mut out = Vec::with_capacity(rows);
        for row in 0..rows {
            if strings.iter().any(|s| s.is_null(row)) {
                out.push(None);
                continue;
            }
            let values: Vec<&str> = strings.iter().map(|s| s.value(row)).collect();
            out.push(Some(self.answer(&values).map_err(exec_err)?));
        }
        Ok(datafusion::logical_expr::ColumnarValue::Array(
            std::sync::Arc::new(BooleanArray::from(out)),
        ))
    }
}

impl Session {
    /// Registers who-am-I functions (`session_user`, `current_user`, `user`)
    /// and the privilege inquiry functions, answering for this session.
    pub(super) fn register_privilege_functions(&self) {
        for name in ["session_user", "current_user", "user", "current_role"] {
            let user = self.user.clone();
            self.ctx.register_udf(datafusion::logical_expr::create_udf(
                name,
                vec![],
                datafusion::arrow::datatypes::DataType::Utf8,
                datafusion::logical_expr::Volatility::Stable,
                std::sync::Arc::new(move |_: &[datafusion::logical_expr::ColumnarValue]| {
                    Ok(datafusion::logical_expr::ColumnarValue::Scalar(
                        datafusion::common::ScalarValue::Utf8(Some(user.clone())),
                    ))
                }),
            ));
        }
        for (name, subject) in [
            ("has_table_privilege", Subject::Table),
            ("has_any_column_privilege", Subject::Table),
            ("has_schema_privilege", Subject::Schema),
            ("has_database_privilege", Subject::Database),
        ] {
            let udf = HasPrivilege {
                name,
                subject,
                signature: datafusion::logical_expr::Signature::variadic_any(
                    datafusion::logical_expr::Volatility::Stable,
                ),
                storage: self.engine.storage().clone(),
                oids: self.engine.pg_catalog().oids().clone(),
                settings: self.settings.clone(),
                principal: self.principal.clone(),
                user: self.user.clone(),
            };
            self.ctx
                .register_udf(datafusion::logical_expr::ScalarUDF::new_from_impl(udf));
        }
    }
}
