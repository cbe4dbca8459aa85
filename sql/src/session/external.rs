//! CREATE EXTERNAL TABLE, and the server-side locations sessions may read
//! and write.

use super::*;

impl Session {
    /// CREATE EXTERNAL TABLE: checks the location is one the server may read,
    /// opens the table once (so a wrong path, format or schema fails now), and
    /// records the statement in the catalog.
    pub(super) async fn create_external(
        &mut self,
        create: &datafusion::sql::parser::CreateExternalTable,
        stmt: &DFStatement,
    ) -> Result<Output> {
        let name = ObjectName::from(
            create
                .name
                .0
                .iter()
                .filter_map(|p| p.as_ident().cloned())
                .collect::<Vec<_>>(),
        );
        self.require_superuser("create an external table")?;
        let (schema, table) = self.resolve_new(&name)?;
        let storage = self.engine.storage().clone();
        if storage.catalog().relation_exists(&schema, &table) {
            if create.if_not_exists {
                return Ok(Output::Command(CommandTag::new("CREATE EXTERNAL TABLE")));
            }
            return Err(Error::DuplicateTable(table));
        }
        for location in &create.locations {
            self.check_location(location, true)?;
        }
        let locations = create.locations.join(", ");
        let sql = stmt.to_string();
        crate::engine::open_external(&self.engine.external_state(), &sql)
            .await
            .map_err(|e| match Error::from_datafusion(e) {
                Error::Internal(m) => Error::UndefinedFile(format!(
                    "could not open external table \"{table}\" at {locations}: {m}"
                )),
                other => other,
            })?;
        let entry = enishi_storage::ExternalEntry {
            sql,
            location: locations,
        };
        storage.create_external(&schema, &table, entry).await?;
        Ok(Output::Command(CommandTag::new("CREATE EXTERNAL TABLE")))
    }

    /// Whether the server may read or write `location`: inside the storage
    /// root or under one of `storage.external_locations`, never elsewhere.
    /// `must_exist` false (writing): the location's directory must exist.
    pub(super) fn check_location(&self, location: &str, must_exist: bool) -> Result<()> {
        let refuse = || {
            Error::InsufficientPrivilege(format!(
                "location \"{location}\" is outside the storage root and the configured external locations (storage.external_locations)"
            ))
        };
        let storage = self.engine.storage();
        let mut allowed = vec![storage.root_url().to_string()];
        allowed.extend(self.engine.config().external_locations.iter().cloned());
        let under = |target: &str, root: &str| {
            let root = root.trim_end_matches('/');
            target == root || target.starts_with(&format!("{root}/"))
        };
        if location.starts_with("s3://") {
            return allowed
                .iter()
                .any(|root| under(location, root))
                .then_some(())
                .ok_or_else(refuse);
        }
        let path = location.strip_prefix("file://").unwrap_or(location);
        if location.contains("://") && !location.starts_with("file://") {
            return Err(refuse());
        }
        let path = std::path::Path::new(path);
        if !path.is_absolute() {
            return Err(Error::InvalidParameterValue(format!(
                "location \"{location}\" must be an absolute path or an s3:// URL"
            )));
        }
        let existing = if must_exist || path.exists() {
            path
        } else {
            path.parent().unwrap_or(path)
        };
        let real = std::fs::canonicalize(existing)
            .map_err(|e| Error::UndefinedFile(format!("could not open \"{location}\": {e}")))?;
        let real = real.to_string_lossy().to_string();
        let ok = allowed.iter().any(|root| {
            let dir = root.strip_prefix("file://").unwrap_or(root);
            if dir.contains("://") {
                return false;
            }
            std::fs::canonicalize(dir)
                .map(|d| under(&real, &d.to_string_lossy()))
                .unwrap_or(false)
        });
        ok.then_some(()).ok_or_else(refuse)
    }
}
