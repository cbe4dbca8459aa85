//! CREATE and DROP of tables, views and schemas, and COMMENT ON (ALTER
//! TABLE is `alter.rs`).

use super::*;

impl Session {
    /// Resolves the name of an existing relation to (schema, relation): a bare
    /// name is looked for along the lookup path (the session's temporary
    /// schema first), and where it is found nowhere, it resolves as a new
    /// relation would, so the caller reports it missing.
    pub(super) fn resolve(&self, name: &ObjectName) -> Result<(String, String)> {
        if let [table] = name_parts(name).as_slice() {
            let path = self.settings().lookup_path();
            let found = self.engine.storage().read_catalog(|c| {
                path.into_iter()
                    .find(|schema| c.relation_exists(schema, table))
            });
            if let Some(schema) = found {
                return Ok((schema, table.clone()));
            }
        }
        self.resolve_new(name)
    }

    /// Resolves the name of a relation to be created to (schema, relation):
    /// a bare name goes to the first schema of search_path that exists (else
    /// `public`); `pg_temp` is the session's temporary schema.
    pub(super) fn resolve_new(&self, name: &ObjectName) -> Result<(String, String)> {
        let parts = name_parts(name);
        let (schema, table) = match parts.as_slice() {
            [table] => {
                let existing = self.engine.storage().schema_names();
                let schema = self
                    .settings()
                    .search_path()
                    .into_iter()
                    .find(|s| existing.contains(s))
                    .unwrap_or_else(|| crate::constants::DEFAULT_SCHEMA.to_string());
                (schema, table.clone())
            }
            [schema, table] => (schema.clone(), table.clone()),
            [database, schema, table] if *database == self.database => {
                (schema.clone(), table.clone())
            }
            [database, ..] if parts.len() == 3 => {
                return Err(Error::unsupported(format!(
                    "cross-database references are not implemented: {database}"
                )));
            }
            _ => return Err(Error::syntax(format!("improper qualified name: {name}"))),
        };
        if schema == crate::constants::TEMP_SCHEMA_ALIAS {
            return Ok((self.temp_schema.clone(), table));
        }
        Ok((schema, table))
    }

    /// Where a new relation goes, checked for the privilege to create it:
    /// temporary (asked for, or named in `pg_temp`) in the session's own
    /// temporary schema, made on first use.
    pub(super) async fn resolve_creation(
        &mut self,
        name: &ObjectName,
        temporary: bool,
    ) -> Result<(String, String)> {
        let (schema, table) = self.resolve_new(name)?;
        if temporary || schema == self.temp_schema {
            return self.resolve_temp(name).await;
        }
        if crate::constants::is_temp_schema(&schema) {
            return Err(Error::FeatureNotSupported(
                "cannot create relations in temporary schemas of other sessions".into(),
            ));
        }
        self.require_schema(&schema, Privilege::Create)?;
        Ok((schema, table))
    }

    /// Where CREATE TEMPORARY puts `name`: the session's temporary schema,
    /// made now if this is its first temporary relation.
    async fn resolve_temp(&mut self, name: &ObjectName) -> Result<(String, String)> {
        let (schema, table) = match name_parts(name).as_slice() {
            [table] => (self.temp_schema.clone(), table.clone()),
            _ => self.resolve_new(name)?,
        };
        if schema != self.temp_schema {
            return Err(Error::Coded {
                code: "42P16",
                message: "cannot create temporary relation in non-temporary schema".into(),
            });
        }
        if self.settings().temp_schema().is_none() {
            let storage = self.engine.storage().clone();
            // A schema of this name left by a session of an earlier run is
            // emptied first, as PostgreSQL does.
            storage.drop_schema(&schema, true, true).await?;
            storage.create_schema(&schema, false).await?;
            self.record_owner(enishi_storage::schema_key(&schema))
                .await?;
            self.settings
                .write()
                .expect("settings lock")
                .set_temp_schema(&schema);
        }
        Ok((schema, table))
    }

    /// Drops the session's temporary schema and what is in it (when the
    /// session ends).
    pub async fn drop_temp_schema(&mut self) -> Result<()> {
        if self.settings().temp_schema().is_some() {
            self.engine
                .storage()
                .drop_schema(&self.temp_schema, true, true)
                .await?;
        }
        Ok(())
    }

    /// CREATE TABLE: the declared column types (with their PostgreSQL identity in
    /// field metadata), stored as a new Delta table; or CREATE TABLE AS, whose
    /// columns come from the query.
    pub(super) async fn create_table(&mut self, create: &ast::CreateTable) -> Result<Output> {
        if create.inherits.is_some() {
            return Err(Error::FeatureNotSupported(
                "table inheritance (INHERITS) is not supported".into(),
            ));
        }
        if create.partition_of.is_some() {
            return Err(Error::FeatureNotSupported(
                "partitions (PARTITION OF) are not supported".into(),
            ));
        }
        // PostgreSQL allows a table of no columns; a Delta table needs one.
        if create.query.is_none() && create.columns.is_empty() {
            return Err(Error::FeatureNotSupported(
                "a table must have at least one column".into(),
            ));
        }
        let (schema, name) = self
            .resolve_creation(&create.name, create.temporary)
            .await?;
        let storage = self.engine.storage().clone();
        if let Some(query) = &create.query {
            let select = DFStatement::Statement(Box::new(Statement::Query(query.clone())));
            let plan = self.plan(&select).await?;
            let columns = self.result_schema(&plan).await;
            let fields: Vec<Field> = columns
                .fields()
                .iter()
                .map(|f| {
                    let mut metadata = f.metadata().clone();
                    metadata.remove(types::PG_TABLE_OID_KEY);
                    metadata.remove(types::PG_ATTNUM_KEY);
                    f.as_ref()
                        .clone()
                        .with_nullable(true)
                        .with_metadata(metadata)
                })
                .collect();
            let table_schema = Arc::new(Schema::new(fields));
            if !storage
                .create_table(&schema, &name, &table_schema, create.if_not_exists)
                .await?
            {
                self.already_exists(&name);
                return Ok(Output::Command(CommandTag::new("CREATE TABLE AS")));
            }
            self.record_owner(enishi_storage::table_key(&schema, &name))
                .await?;
            self.created_in_block(&schema, &name);
            let batches = self.ctx.execute_logical_plan(plan).await?.collect().await?;
            let batches = batches
                .into_iter()
                .map(|b| RecordBatch::try_new(table_schema.clone(), b.columns().to_vec()))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let table = storage
                .table(&schema, &name)
                .await?
                .ok_or_else(|| Error::Internal("table vanished after CREATE TABLE AS".into()))?;
            let rows = table.append(batches, Arc::new(self.ctx.state())).await?;
            return Ok(Output::Command(
                CommandTag::new("SELECT").with_rows(rows as usize),
            ));
        }
        let ident_name = |ident: &ast::Ident| {
            if ident.quote_style.is_some() {
                ident.value.clone()
            } else {
                ident.value.to_lowercase()
            }
        };
        let mut primary_key: Option<(Option<String>, Vec<String>)> = None;
        let mut declare_key = |name: Option<&ast::Ident>, columns: Vec<String>| {
            if primary_key.is_some() {
                return Err(Error::Coded {
                    code: "42P16",
                    message: format!(
                        "multiple primary keys for table \"{}\" are not allowed",
                        object_name(&create.name)
                    ),
                });
            }
            primary_key = Some((name.map(ident_name), columns));
            Ok(())
        };
        for constraint in &create.constraints {
            if let ast::TableConstraint::PrimaryKey(key) = constraint {
                let columns = super::unique::key_columns(&key.columns)?;
                declare_key(key.name.as_ref(), columns)?;
            }
        }
        let mut fields = Vec::with_capacity(create.columns.len());
        let mut sequences: Vec<(String, enishi_storage::SequenceEntry)> = Vec::new();
        for column in &create.columns {
            let serial = super::sequences::serial_type(&column.data_type);
            let data_type = serial.as_ref().unwrap_or(&column.data_type);
            let ty = types::column_type(data_type)?;
            let column_name = ident_name(&column.name);
            let mut not_null = false;
            let mut default = None;
            let mut identity = None;
            let mut draw_from = |options: &[ast::SequenceOptions], is_identity: bool| {
                let taken: Vec<String> = sequences.iter().map(|(n, _)| n.clone()).collect();
                let owner = enishi_storage::OwnedBy {
                    table: name.clone(),
                    column: column_name.clone(),
                    identity: is_identity,
                };
                let made = self.column_sequence(&schema, owner, data_type, options, &taken)?;
                sequences.push((made.name, made.entry));
                Ok::<_, Error>(made.default)
            };
            if serial.is_some() {
                not_null = true;
                default = Some(draw_from(&[], false)?);
            }
            for option in &column.options {
                match &option.option {
                    ast::ColumnOption::Generated {
                        generated_as,
                        sequence_options,
                        generation_expr: None,
                        ..
                    } => {
                        if serial.is_some() || default.is_some() {
                            return Err(Error::Coded {
                                code: "42601",
                                message: format!(
                                    "both default and identity specified for column \"{column_name}\" of table \"{name}\""
                                ),
                            });
                        }
                        not_null = true;
                        identity = Some(match generated_as {
                            ast::GeneratedAs::Always => "a",
                            _ => "d",
                        });
                        let options = sequence_options.as_deref().unwrap_or_default();
                        default = Some(draw_from(options, true)?);
                    }
                    ast::ColumnOption::Generated { .. } => {
                        return Err(Error::FeatureNotSupported(
                            "generated columns (GENERATED ALWAYS AS (expression) STORED) are not supported".into(),
                        ));
                    }
                    ast::ColumnOption::PrimaryKey(key) => {
                        not_null = true;
                        declare_key(
                            key.name.as_ref().or(option.name.as_ref()),
                            vec![ident_name(&column.name)],
                        )?;
                    }
                    ast::ColumnOption::NotNull => not_null = true,
                    ast::ColumnOption::Null => {}
                    ast::ColumnOption::Default(Expr::Value(v))
                        if matches!(v.value, Value::Null) => {}
                    ast::ColumnOption::Default(expr) => {
                        if serial.is_some() || identity.is_some() {
                            return Err(Error::Coded {
                                code: "42601",
                                message: format!(
                                    "multiple default values specified for column \"{column_name}\" of table \"{name}\""
                                ),
                            });
                        }
                        self.check_default(expr, &ty.arrow).await?;
                        default = Some(expr.to_string());
                    }
                    _ => {}
                }
            }
            if fields.iter().any(|f: &Field| f.name() == &column_name) {
                return Err(Error::DuplicateColumn(format!(
                    "column \"{column_name}\" specified more than once"
                )));
            }
            let mut field = ty.field(&column_name, !not_null);
            if let Some(default) = default {
                let mut metadata = field.metadata().clone();
                metadata.insert(types::PG_DEFAULT_KEY.to_string(), default);
                if let Some(identity) = identity {
                    metadata.insert(types::PG_IDENTITY_KEY.to_string(), identity.to_string());
                }
                field = field.with_metadata(metadata);
            }
            fields.push(field);
        }
        let primary_key = match primary_key {
            Some((constraint, columns)) => {
                for column in &columns {
                    if !fields.iter().any(|f| f.name() == column) {
                        return Err(Error::UndefinedColumn(format!(
                            "column \"{column}\" named in key does not exist"
                        )));
                    }
                }
                // Columns named only in a table constraint are NOT NULL too.
                for field in fields.iter_mut() {
                    if columns.contains(field.name()) {
                        *field = field.clone().with_nullable(false);
                    }
                }
                Some(enishi_storage::PrimaryKey {
                    name: constraint.unwrap_or_else(|| format!("{name}_pkey")),
                    columns,
                })
            }
            None => None,
        };
        let unique = super::unique::declared(create, &name, &fields, primary_key.as_ref(), |n| {
            primary_key.as_ref().is_some_and(|k| k.name == n)
                || storage.read_catalog(|c| c.relation_exists(&schema, n))
        })?;
        let columns = Schema::new(fields);
        let exists = storage.read_catalog(|c| c.relation_exists(&schema, &name));
        let foreign_keys = match exists && create.if_not_exists {
            true => Vec::new(),
            false => {
                self.checked_foreign_keys(
                    &schema,
                    &name,
                    &columns,
                    primary_key.as_ref(),
                    super::foreign_keys::declared(create),
                )
                .await?
            }
        };
        if storage
            .create_table_with_key(
                &schema,
                &name,
                &columns,
                create.if_not_exists,
                enishi_storage::Declared {
                    primary_key,
                    unique,
                    sequences,
                },
            )
            .await?
        {
            self.record_owner(enishi_storage::table_key(&schema, &name))
                .await?;
            self.created_in_block(&schema, &name);
            for key in foreign_keys {
                storage.add_foreign_key(&schema, &name, key).await?;
            }
        } else {
            self.already_exists(&name);
        }
        Ok(Output::Command(CommandTag::new("CREATE TABLE")))
    }

    /// Remembers a table created inside a transaction block, for ROLLBACK
    /// to drop.
    fn created_in_block(&mut self, schema: &str, name: &str) {
        if self.tx != TxState::Idle {
            self.created_tables
                .push((schema.to_string(), name.to_string()));
        }
    }

    /// COMMENT ON TABLE / VIEW / COLUMN / SCHEMA: kept in the catalog, read
    /// through pg_description (obj_description, col_description, `\d+`).
    /// The owner may comment, as in PostgreSQL; `IS NULL` removes the comment.
    pub(super) async fn comment_on(
        &mut self,
        object_type: ast::CommentObject,
        name: &ObjectName,
        comment: Option<String>,
        if_exists: bool,
    ) -> Result<Output> {
        let storage = self.engine.storage().clone();
        let relation = |schema: &str, table: &str| {
            storage.read_catalog(|c| {
                let s = c.schema(schema)?;
                if s.tables.contains_key(table) || s.externals.contains_key(table) {
                    Some("table")
                } else if s.views.contains_key(table) {
                    Some("view")
                } else {
                    None
                }
            })
        };
        let key = match object_type {
            ast::CommentObject::Table | ast::CommentObject::View => {
                let (schema, table) = self.resolve(name)?;
                match relation(&schema, &table) {
                    Some(kind) => self.require_owner(kind, &schema, &table)?,
                    None if if_exists => return Ok(Output::Command(CommandTag::new("COMMENT"))),
                    None => return Err(Error::UndefinedTable(object_name(name))),
                }
                enishi_storage::table_key(&schema, &table)
            }
            ast::CommentObject::Column => {
                let mut parts = name.0.clone();
                let Some(column) = parts.pop() else {
                    return Err(Error::syntax("column name must be qualified"));
                };
                if parts.is_empty() {
                    return Err(Error::syntax("column name must be qualified"));
                }
                let column = object_name(&ObjectName(vec![column]));
                let (schema, table) = self.resolve(&ObjectName(parts))?;
                let Some(kind) = relation(&schema, &table) else {
                    return Err(Error::UndefinedTable(table));
                };
                self.require_owner(kind, &schema, &table)?;
                let provider = self
                    .ctx
                    .table_provider(datafusion::common::TableReference::partial(
                        schema.as_str(),
                        table.as_str(),
                    ))
                    .await?;
                if provider.schema().field_with_name(&column).is_err() {
                    return Err(Error::UndefinedColumn(format!(
                        "column \"{column}\" of relation \"{table}\" does not exist"
                    )));
                }
                enishi_storage::column_key(&schema, &table, &column)
            }
            ast::CommentObject::Schema => {
                let schema = object_name(name);
                if storage.read_catalog(|c| c.schema(&schema).is_none()) {
                    return Err(Error::UndefinedSchema(schema));
                }
                self.require_owner("schema", &schema, "")?;
                enishi_storage::schema_key(&schema)
            }
            other => {
                return Err(Error::unsupported(format!(
                    "COMMENT ON {other} is not implemented"
                )));
            }
        };
        storage.set_comment(key, comment).await?;
        Ok(Output::Command(CommandTag::new("COMMENT")))
    }

    /// CREATE [OR REPLACE] VIEW: checked by planning it, stored as SQL text.
    pub(super) async fn create_view(&mut self, view: &ast::CreateView) -> Result<Output> {
        if view.materialized {
            return Err(Error::unsupported("materialized views are not supported"));
        }
        let mut temporary = view.temporary;
        let mut sql = view.query.to_string();
        if !view.columns.is_empty() {
            let columns: Vec<String> = view.columns.iter().map(|c| c.name.to_string()).collect();
            sql = format!("SELECT * FROM ({sql}) AS __view({})", columns.join(", "));
        }
        let check = crate::statement::parse(&sql)?;
        let Some(query) = check.first() else {
            return Err(Error::syntax("CREATE VIEW needs a query"));
        };
        let plan = self.plan(query).await?;
        // A view of a temporary table is temporary itself, as in PostgreSQL.
        let accesses = self
            .engine
            .storage()
            .read_catalog(|c| crate::privileges::accesses(&plan, c));
        let reads_temporary = accesses.iter().any(|a| {
            matches!(&a.relation, crate::tables::Identity::Stored { schema, .. }
                if crate::constants::is_temp_schema(schema))
        });
        if reads_temporary && !temporary {
            temporary = true;
            self.notices.push(Notice {
                severity: "NOTICE",
                code: "00000",
                message: format!(
                    "view \"{}\" will be a temporary view",
                    object_name(&view.name)
                ),
            });
        }
        let (schema, name) = self.resolve_creation(&view.name, temporary).await?;
        if view.or_replace && self.engine.storage().view(&schema, &name).is_some() {
            self.require_owner("view", &schema, &name)?;
        }
        // Replacing a view with a query that reads it, through any number of
        // views, would make it read itself.
        if crate::privileges::reads_view(&plan, &schema, &name) {
            return Err(Error::Coded {
                code: "42P17",
                message: format!("infinite recursion detected in rules for relation \"{name}\""),
            });
        }
        let storage = self.engine.storage().clone();
        if view.if_not_exists && storage.catalog().relation_exists(&schema, &name) {
            self.already_exists(&name);
            return Ok(Output::Command(CommandTag::new("CREATE VIEW")));
        }
        // Another session's temporary schema may later have the same name: a
        // permanent view does not look there.
        let mut search_path = self.settings().lookup_path();
        if !temporary {
            search_path.retain(|s| !crate::constants::is_temp_schema(s));
        }
        let entry = enishi_storage::ViewEntry {
            sql,
            search_path: Some(search_path),
        };
        storage
            .create_view(&schema, &name, entry, view.or_replace)
            .await?;
        self.record_owner(enishi_storage::table_key(&schema, &name))
            .await?;
        Ok(Output::Command(CommandTag::new("CREATE VIEW")))
    }

    pub(super) async fn drop_views(
        &mut self,
        names: &[ObjectName],
        if_exists: bool,
    ) -> Result<Output> {
        let storage = self.engine.storage().clone();
        for name in names {
            let (schema, view) = self.resolve(name)?;
            if storage.view(&schema, &view).is_some() {
                self.require_owner("view", &schema, &view)?;
            }
            if !storage.drop_view(&schema, &view, if_exists).await? {
                self.skipped("view", &schema, &view);
            }
        }
        Ok(Output::Command(CommandTag::new("DROP VIEW")))
    }

    /// The notice of a DROP … IF EXISTS of nothing: about the schema when it
    /// is the schema that is missing, as PostgreSQL words it.
    pub(super) fn skipped(&mut self, kind: &str, schema: &str, name: &str) {
        let message = if self
            .engine
            .storage()
            .read_catalog(|c| c.schema(schema).is_none())
        {
            format!("schema \"{schema}\" does not exist, skipping")
        } else {
            format!("{kind} \"{name}\" does not exist, skipping")
        };
        self.notices.push(Notice {
            severity: "NOTICE",
            code: "00000",
            message,
        });
    }

    pub(super) fn already_exists(&mut self, name: &str) {
        self.notices.push(Notice {
            severity: "NOTICE",
            code: "42P07",
            message: format!("relation \"{name}\" already exists, skipping"),
        });
    }

    pub(super) async fn drop_tables(
        &mut self,
        names: &[ObjectName],
        if_exists: bool,
        cascade: bool,
    ) -> Result<Output> {
        let storage = self.engine.storage().clone();
        let resolved = names
            .iter()
            .map(|n| self.resolve(n))
            .collect::<Result<Vec<_>>>()?;
        // PostgreSQL checks every name before dropping any.
        for (schema, name) in &resolved {
            let exists = storage.catalog().table(schema, name).is_some()
                || storage.external(schema, name).is_some();
            if !if_exists && !exists {
                return Err(Error::UndefinedTable(name.clone()));
            }
            if exists {
                self.require_owner("table", schema, name)?;
            }
        }
        self.foreign_keys_dropped_with(&resolved, cascade)?;
        for (schema, name) in &resolved {
            // An external table is forgotten; its files stay where they are.
            if storage.external(schema, name).is_some() {
                storage.drop_external(schema, name).await?;
                continue;
            }
            if !storage.drop_table(schema, name, if_exists).await? {
                self.skipped("table", schema, name);
            }
        }
        Ok(Output::Command(CommandTag::new("DROP TABLE")))
    }

    pub(super) async fn create_schema(
        &mut self,
        name: &ast::SchemaName,
        if_not_exists: bool,
    ) -> Result<Output> {
        let ast::SchemaName::Simple(name) = name else {
            return Err(Error::unsupported(
                "CREATE SCHEMA AUTHORIZATION is not supported",
            ));
        };
        let name = object_name(name);
        if name.starts_with("pg_") {
            return Err(Error::Coded {
                code: "42939",
                message: format!("unacceptable schema name \"{name}\""),
            });
        }
        if !self.principal.is_superuser() {
            self.require_superuser(&format!("create schema \"{name}\""))
                .map_err(|_| {
                    Error::InsufficientPrivilege(format!(
                        "permission denied for database {}",
                        self.database
                    ))
                })?;
        }
        if !self
            .engine
            .storage()
            .create_schema(&name, if_not_exists)
            .await?
        {
            self.notices.push(Notice {
                severity: "NOTICE",
                code: "42P06",
                message: format!("schema \"{name}\" already exists, skipping"),
            });
        }
        Ok(Output::Command(CommandTag::new("CREATE SCHEMA")))
    }

    pub(super) async fn drop_schemas(
        &mut self,
        names: &[ObjectName],
        if_exists: bool,
        cascade: bool,
    ) -> Result<Output> {
        for name in names {
            let name = object_name(name);
            if name == "pg_catalog" || name == "information_schema" {
                return Err(Error::unsupported(format!(
                    "cannot drop schema {name} because it is required by the database system"
                )));
            }
            if self.engine.storage().catalog().schema(&name).is_some() {
                self.require_owner("schema", &name, &name)?;
            }
            if !self
                .engine
                .storage()
                .drop_schema(&name, if_exists, cascade)
                .await?
            {
                self.notices.push(Notice {
                    severity: "NOTICE",
                    code: "00000",
                    message: format!("schema \"{name}\" does not exist, skipping"),
                });
            }
        }
        Ok(Output::Command(CommandTag::new("DROP SCHEMA")))
    }
}
