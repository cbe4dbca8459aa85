//! The simple and extended query protocols: Query, Parse, Bind, Describe,
//! Execute and Sync, each statement run through [`Connection::run`].

use super::*;

#[async_trait]
impl SimpleQueryHandler for Connection {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        let _busy = self.activity.enter();
        let mut guard = self.state.lock().await;
        let active = guard.active()?;
        client.set_state(PgWireConnectionState::QueryInProgress);
        tracing::debug!(query = %statement::redact_passwords(&query.query), "simple query");
        let mut copy_in = None;

        match active.session.parse(&query.query) {
            Err(e) => {
                active.session.statement_failed();
                client
                    .feed(PgWireBackendMessage::ErrorResponse(
                        error_info(&e, "ERROR").into(),
                    ))
                    .await?;
            }
            Ok(statements) if statements.is_empty() => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
            }
            Ok(statements) => {
                for stmt in &statements {
                    let started = Instant::now();
                    if let Some(moved) = move_portal(client, &active.session, stmt).await {
                        let tag = Tag::new("MOVE").with_rows(moved?);
                        client
                            .feed(PgWireBackendMessage::CommandComplete(tag.into()))
                            .await?;
                        continue;
                    }
                    let result = Self::run(&self.shared, active, stmt, &query.query, None).await;
                    let session = &mut active.session;
                    flush_side_channel(client, session).await?;
                    let ok = match result {
                        Ok((output, limits)) => {
                            let style = TextStyle::from_settings(&session.settings());
                            let metrics = &self.shared.metrics;
                            let format = Format::UnifiedText;
                            let outcome = match send_output(
                                client, output, limits, &format, style, metrics, started,
                            )
                            .await?
                            {
                                Sent::Done(outcome) => outcome,
                                Sent::Rows(response) => {
                                    match send_query_response(client, response, true).await {
                                        Ok(()) => Ok(()),
                                        Err(PgWireError::UserError(info)) => Err(*info),
                                        Err(other) => return Err(other),
                                    }
                                }
                                Sent::CopyIn(copy) => {
                                    copy_in = Some(copy);
                                    break;
                                }
                            };
                            match outcome {
                                Ok(()) => true,
                                Err(info) => {
                                    session.statement_failed();
                                    client
                                        .feed(PgWireBackendMessage::ErrorResponse(info.into()))
                                        .await?;
                                    false
                                }
                            }
                        }
                        Err(e) => {
                            client
                                .feed(PgWireBackendMessage::ErrorResponse(
                                    error_info_at(&e, "ERROR", &query.query).into(),
                                ))
                                .await?;
                            false
                        }
                    };
                    if !ok {
                        break;
                    }
                }
            }
        }
        if let Some(copy) = copy_in {
            let status = tx_status(active.session.tx_state());
            client.set_transaction_status(status);
            return self.start_copy_in(client, &mut guard, copy, false).await;
        }
        let active = guard.active()?;
        let status = tx_status(active.session.tx_state());
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        Ok(())
    }

    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // on_query above answers every Query message itself.
        Err(PgWireError::UserError(Box::new(ErrorInfo::new(
            "ERROR".into(),
            "XX000".into(),
            "simple query path not in use".into(),
        ))))
    }
}

// ---------------------------------------------------------------- extended query

/// A Bind's parameters as values of the statement's parameter types. Numeric
/// values are read here, exactly, in text or binary form: one its parameter
/// type would round silently is refused (22003, `types::parameter_value`).
/// The rest are arrow-pg's to decode.
pub(super) fn bind_parameters(portal: &Portal<Prepared>) -> PgWireResult<ParamValues> {
    let prepared = &portal.statement.statement;
    let declared = &portal.statement.parameter_types;
    let mut others = portal.parameters.clone();
    let mut numeric = Vec::new();
    for (i, field) in prepared.param_types.iter().enumerate() {
        let is_numeric = match declared.get(i).and_then(Option::as_ref) {
            Some(ty) => *ty == Type::NUMERIC,
            None => matches!(field.data_type(), DataType::Decimal128(..)),
        };
        let Some(raw) = others.get_mut(i).filter(|_| is_numeric) else {
            continue;
        };
        let value = match raw.take() {
            None => ScalarValue::try_from(field.data_type()).map_err(|e| to_pgwire(&e.into()))?,
            Some(bytes) => {
                let text = if portal.parameter_format.is_binary(i) {
                    crate::pg::copy::numeric_text(&bytes).map_err(|why| {
                        to_pgwire(&Error::Protocol(format!(
                            "incorrect binary data format in bind parameter {}: {why}",
                            i + 1
                        )))
                    })?
                } else {
                    String::from_utf8_lossy(&bytes).into_owned()
                };
                enishi_sql::types::numeric_parameter(&text, field.data_type())
                    .map_err(|e| to_pgwire(&e))?
            }
        };
        numeric.push((i, value));
    }
    // json and jsonb arrive as their text (binary jsonb: a version byte, 1,
    // then the text), which arrow-pg does not read.
    let mut json = Vec::new();
    for (i, declared) in declared.iter().enumerate() {
        let Some(ty @ (&Type::JSON | &Type::JSONB)) = declared.as_ref() else {
            continue;
        };
        let Some(raw) = others.get_mut(i) else {
            continue;
        };
        let value = raw.take().map(|bytes| {
            let text = match (portal.parameter_format.is_binary(i), ty == &Type::JSONB) {
                (true, true) => bytes.get(1..).unwrap_or_default(),
                _ => &bytes[..],
            };
            String::from_utf8_lossy(text).into_owned()
        });
        json.push((i, ScalarValue::Utf8(value)));
    }
    let inferred: Vec<Option<&DataType>> = prepared
        .param_types
        .iter()
        .map(|f| Some(f.data_type()))
        .collect();
    // The values taken out above are NULL for arrow-pg, typed as text (it
    // refuses json's declared types even for a NULL).
    let mut types = portal.statement.parameter_types.clone();
    for (i, _) in &json {
        if let Some(slot) = types.get_mut(*i) {
            *slot = Some(Type::TEXT);
        }
    }
    let statement = pgwire::api::stmt::StoredStatement::new(
        portal.statement.id.clone(),
        portal.statement.statement.clone(),
        types,
    );
    let mut rest = Portal::new_cursor(portal.name.clone(), Arc::new(statement));
    rest.parameter_format = portal.parameter_format.clone();
    rest.parameters = others;
    let mut values = arrow_pg::datatypes::df::deserialize_parameters(&rest, &inferred)?;
    if let ParamValues::List(list) = &mut values {
        for (i, value) in numeric.into_iter().chain(json) {
            list[i] = value.into();
        }
    }
    Ok(values)
}

/// Parses and describes statements for Parse messages, against the session.
pub struct Parser {
    pub(super) state: State,
}

/// The Arrow type a client-declared parameter type decodes to.
pub(super) fn arrow_for_pg(ty: &Type) -> Option<DataType> {
    Some(match *ty {
        Type::BOOL => DataType::Boolean,
        Type::INT2 => DataType::Int16,
        Type::INT4 => DataType::Int32,
        Type::INT8 => DataType::Int64,
        Type::FLOAT4 => DataType::Float32,
        Type::FLOAT8 => DataType::Float64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => DataType::Utf8,
        Type::BYTEA => DataType::Binary,
        Type::DATE => DataType::Date32,
        Type::TIMESTAMP => DataType::Timestamp(TimeUnit::Microsecond, None),
        Type::TIMESTAMPTZ => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Type::NUMERIC => DataType::Decimal128(38, 10),
        _ => return None,
    })
}

#[async_trait]
impl QueryParser for Parser {
    type Statement = Prepared;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Prepared>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let mut guard = self.state.lock().await;
        let session = &mut guard.active()?.session;
        let result = async {
            let mut statements = session.parse(sql)?;
            if statements.len() > 1 {
                return Err(Error::syntax(
                    "cannot insert multiple commands into a prepared statement",
                ));
            }
            let Some(mut statement) = statements.pop() else {
                return Ok(None);
            };
            // A parameter the client declared has that type wherever it is
            // used (`SELECT $1` then describes an int4 column, not unknown).
            let declared: Vec<Option<String>> = types
                .iter()
                .map(|t| {
                    t.as_ref()
                        .filter(|t| arrow_for_pg(t).is_some())
                        .map(|t| t.name().to_string())
                })
                .collect();
            statement::cast_declared_parameters(&mut statement, &declared);
            let hints: Vec<Option<DataType>> = types
                .iter()
                .map(|t| t.as_ref().and_then(arrow_for_pg))
                .collect();
            let (param_types, schema) = session.describe(&statement, &hints).await?;
            Ok(Some(Prepared {
                statement,
                sql: sql.to_string(),
                param_types,
                declared: types.to_vec(),
                schema,
            }))
        }
        .await;
        result.map_err(|e| {
            session.statement_failed();
            to_pgwire(&e)
        })
    }

    fn get_parameter_types(&self, stmt: &Prepared) -> PgWireResult<Vec<Type>> {
        stmt.param_types
            .iter()
            .enumerate()
            .map(|(i, field)| {
                if let Some(Some(ty)) = stmt.declared.get(i) {
                    return Ok(ty.clone());
                }
                let declared =
                    enishi_sql::types::declared(field).and_then(|(oid, _)| Type::from_oid(oid));
                match declared {
                    Some(ty) => Ok(ty),
                    None => arrow_pg::datatypes::into_pg_type(field.data_type()),
                }
            })
            .collect()
    }

    fn get_result_schema(
        &self,
        stmt: &Prepared,
        format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        match &stmt.schema {
            Some(schema) => {
                let style = TextStyle::from_settings(&enishi_sql::Settings::new("", false));
                encode::fields(schema, format.unwrap_or(&Format::UnifiedText), &style)
            }
            None => Ok(vec![]),
        }
    }
}

#[async_trait]
impl ExtendedQueryHandler for Connection {
    type Statement = Prepared;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.parser.clone()
    }

    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(pgwire::api::DEFAULT_NAME);
        let (prepared, format, with_params) = match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => match client.portal_store().get_statement(name) {
                Some(Entry::Value(stmt)) => {
                    (Some(stmt.statement.clone()), Format::UnifiedText, true)
                }
                Some(Entry::Empty) => (None, Format::UnifiedText, true),
                None => return Err(PgWireError::StatementNotFound(name.to_owned())),
            },
            TARGET_TYPE_BYTE_PORTAL => match client.portal_store().get_portal(name) {
                Some(Entry::Value(portal)) => (
                    Some(portal.statement.statement.clone()),
                    portal.result_column_format.clone(),
                    false,
                ),
                Some(Entry::Empty) => (None, Format::UnifiedText, false),
                None => {
                    // A cursor made by DECLARE is a portal too (psycopg
                    // describes its server-side cursors so).
                    let mut guard = self.state.lock().await;
                    let session = &guard.active()?.session;
                    let Some(schema) = session.cursor_schema(name).await else {
                        return Err(PgWireError::PortalNotFound(name.to_owned()));
                    };
                    let style = TextStyle::from_settings(&session.settings());
                    let fields = encode::fields(&schema, &Format::UnifiedText, &style)?;
                    let description = RowDescription::new(fields.iter().map(Into::into).collect());
                    client
                        .send(PgWireBackendMessage::RowDescription(description))
                        .await?;
                    return Ok(());
                }
            },
            other => return Err(PgWireError::InvalidTargetType(other)),
        };
        if with_params {
            let oids = match &prepared {
                Some(p) => self
                    .parser
                    .get_parameter_types(p)?
                    .iter()
                    .map(|t| t.oid())
                    .collect(),
                None => vec![],
            };
            client
                .send(PgWireBackendMessage::ParameterDescription(
                    ParameterDescription::new(oids),
                ))
                .await?;
        }
        let fields = match prepared.as_ref().and_then(|p| p.schema.as_ref()) {
            Some(schema) => {
                let mut guard = self.state.lock().await;
                let settings = guard.active()?.session.settings();
                encode::fields(schema, &format, &TextStyle::from_settings(&settings))?
            }
            None => vec![],
        };
        if prepared.as_ref().is_some_and(|p| p.schema.is_some()) {
            let description = RowDescription::new(fields.iter().map(Into::into).collect());
            client
                .send(PgWireBackendMessage::RowDescription(description))
                .await?;
        } else {
            client
                .send(PgWireBackendMessage::NoData(NoData::new()))
                .await?;
        }
        Ok(())
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        let _busy = self.activity.enter();
        let name = message.name.as_deref().unwrap_or(pgwire::api::DEFAULT_NAME);
        let max_rows = message.max_rows.max(0) as usize;
        let portal = match client.portal_store().get_portal(name) {
            Some(Entry::Value(portal)) => portal,
            Some(Entry::Empty) => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
                return Ok(());
            }
            None => return Err(PgWireError::PortalNotFound(name.to_owned())),
        };
        client.set_state(PgWireConnectionState::QueryInProgress);
        let outcome = self.execute_portal(client, &portal, max_rows).await;
        if outcome.is_ok() && matches!(client.state(), PgWireConnectionState::CopyInProgress(_)) {
            // COPY FROM STDIN: the copy handler takes it from here.
            return outcome;
        }
        let status = {
            let mut guard = self.state.lock().await;
            let session = &mut guard.active()?.session;
            if outcome.is_err() {
                session.statement_failed();
            }
            tx_status(session.tx_state())
        };
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
        outcome
    }

    async fn on_sync<C>(&self, client: &mut C, _message: PgSync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let _busy = self.activity.enter();
        client.portal_store().rm_portal(pgwire::api::DEFAULT_NAME);
        let status = tx_status(self.state.lock().await.active()?.session.tx_state());
        client.set_transaction_status(status);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        Ok(())
    }

    async fn do_query<C>(
        &self,
        _client: &mut C,
        _portal: &Portal<Prepared>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // on_execute above runs portals itself.
        Err(PgWireError::UserError(Box::new(ErrorInfo::new(
            "ERROR".into(),
            "XX000".into(),
            "extended query path not in use".into(),
        ))))
    }

    async fn do_describe_statement<C>(
        &self,
        _client: &mut C,
        target: &StoredStatement<Prepared>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let params = self.parser.get_parameter_types(&target.statement)?;
        let fields = self.parser.get_result_schema(&target.statement, None)?;
        Ok(DescribeStatementResponse::new(params, fields))
    }

    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        target: &Portal<Prepared>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let fields = self.parser.get_result_schema(
            &target.statement.statement,
            Some(&target.result_column_format),
        )?;
        Ok(DescribePortalResponse::new(fields))
    }
}

impl Connection {
    /// Runs (or resumes) a portal and sends its rows or command tag.
    pub(super) async fn execute_portal<C>(
        &self,
        client: &mut C,
        portal: &Portal<Prepared>,
        max_rows: usize,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let portal_state = portal.state();
        let mut execution = portal_state.lock().await;
        if matches!(*execution, PortalExecutionState::Initial) {
            let started = Instant::now();
            let mut guard = self.state.lock().await;
            let active = guard.active()?;
            let prepared = &portal.statement.statement;
            let params = if prepared.param_types.is_empty() && portal.parameter_len() == 0 {
                None
            } else {
                if portal.parameter_len() != prepared.param_types.len() {
                    return Err(to_pgwire(&Error::Protocol(format!(
                        "bind message supplies {} parameters, but prepared statement requires {}",
                        portal.parameter_len(),
                        prepared.param_types.len()
                    ))));
                }
                Some(bind_parameters(portal)?)
            };
            let result = Self::run(
                &self.shared,
                active,
                &prepared.statement,
                &prepared.sql,
                params,
            )
            .await;
            let session = &mut active.session;
            flush_side_channel(client, session).await?;
            let result = result.map_err(|e| {
                PgWireError::UserError(Box::new(error_info_at(&e, "ERROR", &prepared.sql)))
            });
            let (output, limits) = result?;
            let style = TextStyle::from_settings(&session.settings());
            let metrics = &self.shared.metrics;
            let format = &portal.result_column_format;
            match send_output(client, output, limits, format, style, metrics, started).await? {
                Sent::Rows(response) => *execution = PortalExecutionState::Suspended(response),
                Sent::Done(outcome) => {
                    *execution = PortalExecutionState::Finished;
                    return outcome.map_err(|info| PgWireError::UserError(Box::new(info)));
                }
                Sent::CopyIn(copy) => {
                    *execution = PortalExecutionState::Finished;
                    let status = tx_status(session.tx_state());
                    client.set_transaction_status(status);
                    self.start_copy_in(client, &mut guard, copy, true).await?;
                    return Ok(());
                }
            }
        }
        match &mut *execution {
            PortalExecutionState::Suspended(response) => {
                // max_rows 0 streams everything without buffering.
                let suspended = send_partial_query_response(client, response, max_rows).await?;
                if !suspended {
                    *execution = PortalExecutionState::Finished;
                }
            }
            PortalExecutionState::Finished => {
                let tag = Tag::new("SELECT").with_rows(0);
                client
                    .feed(PgWireBackendMessage::CommandComplete(tag.into()))
                    .await?;
            }
            PortalExecutionState::Initial => unreachable!("started above"),
        }
        Ok(())
    }
}

/// MOVE forward on a portal the extended protocol opened and left suspended
/// (asyncpg's `cursor.forward`): its next rows are read and dropped, and the
/// count of them returned. None when the statement is no such MOVE (a cursor
/// of DECLARE's name is the session's to move).
async fn move_portal<C>(
    client: &mut C,
    session: &Session,
    stmt: &DFStatement,
) -> Option<PgWireResult<usize>>
where
    C: ClientPortalStore,
    C::PortalStore: PortalStore,
{
    let (name, rows) = statement::forward_move(stmt)?;
    if session.cursor_schema(&name).await.is_some() {
        return None;
    }
    // Only the execution state is kept across the awaits below: the portal's
    // statement type need not be Send.
    let state = match client.portal_store().get_portal(&name)? {
        Entry::Value(portal) => portal.state.clone(),
        Entry::Empty => return None,
    };
    let mut execution = state.lock().await;
    let PortalExecutionState::Suspended(response) = &mut *execution else {
        return matches!(*execution, PortalExecutionState::Finished).then_some(Ok(0));
    };
    let wanted = rows.unwrap_or(usize::MAX);
    let mut moved = 0;
    while moved < wanted {
        match response.data_rows.next().await {
            Some(Ok(_)) => moved += 1,
            Some(Err(e)) => return Some(Err(e)),
            None => {
                *execution = PortalExecutionState::Finished;
                break;
            }
        }
    }
    Some(Ok(moved))
}

/// What is left to do once [`send_output`] has sent what the simple and extended
/// protocols send alike.
enum Sent {
    /// The statement's response went out, or (`Err`) it failed with this error, to be
    /// reported in its place.
    Done(Result<(), ErrorInfo>),
    /// Rows ready to stream: all of them (simple query) or a portal's worth at a time
    /// (Execute).
    Rows(QueryResponse),
    /// COPY FROM STDIN: the copy handler takes the connection from here.
    CopyIn(enishi_sql::CopyIn),
}

/// Sends a statement's output the way both query protocols do: a command tag, an
/// empty response, or COPY TO STDOUT's data. Rows and COPY FROM STDIN are handed
/// back, since each protocol goes on differently.
async fn send_output<C>(
    client: &mut C,
    output: Output,
    limits: StatementLimits,
    format: &Format,
    style: TextStyle,
    metrics: &Metrics,
    started: Instant,
) -> PgWireResult<Sent>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    match output {
        Output::Rows(rows) => {
            let fields = match encode::fields(&rows.schema, format, &style) {
                Ok(fields) => Arc::new(fields),
                Err(PgWireError::UserError(info)) => return Ok(Sent::Done(Err(*info))),
                Err(other) => return Err(other),
            };
            let mut response = QueryResponse::new(
                fields.clone(),
                row_stream(rows.stream, fields, style, limits),
            );
            response.set_command_tag(rows.tag);
            Ok(Sent::Rows(response))
        }
        Output::Command(tag) => {
            client
                .feed(PgWireBackendMessage::CommandComplete(
                    command_tag(&tag).into(),
                ))
                .await?;
            Ok(Sent::Done(Ok(())))
        }
        Output::Empty => {
            client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
            Ok(Sent::Done(Ok(())))
        }
        Output::CopyOut(out) => {
            let sent = copy_out(client, out, style, limits, metrics, started).await?;
            Ok(Sent::Done(sent))
        }
        Output::CopyIn(copy) => Ok(Sent::CopyIn(copy)),
    }
}
