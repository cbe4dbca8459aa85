//! COPY's messages: rows streamed out for COPY … TO STDOUT, and the
//! CopyIn state machine that decodes, converts and hands rows to the
//! session's writer for COPY … FROM STDIN.

use super::*;

/// COPY … TO STDOUT: CopyOutResponse, one CopyData per row, CopyDone and
/// `COPY n`. An error midway is sent as an ErrorResponse without CopyDone (the
/// inner Err), as PostgreSQL does.
pub(super) async fn copy_out<C>(
    client: &mut C,
    out: enishi_sql::CopyOut,
    style: TextStyle,
    mut limits: StatementLimits,
    metrics: &Metrics,
    started: Instant,
) -> PgWireResult<Result<(), ErrorInfo>>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    use pgwire::messages::copy::{CopyData, CopyDone, CopyOutResponse};
    let encoder = match crate::pg::copy::Encoder::new(out.options.clone(), &out.rows.schema, style)
    {
        Ok(encoder) => encoder,
        Err(PgWireError::UserError(info)) => return Ok(Err(*info)),
        Err(e) => return Err(e),
    };
    let code = crate::pg::copy::format_code(&out.options);
    let columns = encoder.columns();
    client
        .send(PgWireBackendMessage::CopyOutResponse(CopyOutResponse::new(
            code,
            columns as i16,
            vec![i16::from(code); columns],
        )))
        .await?;
    let mut stream = out.rows.stream;
    let mut start = encoder.start();
    let mut rows = 0u64;
    loop {
        let next = match limits.run(stream.next()).await {
            Ok(next) => next,
            Err(stop) => return Ok(Err(error_info(&stop, "ERROR"))),
        };
        let batch = match next {
            None => break,
            Some(Ok(batch)) => batch,
            Some(Err(e)) => return Ok(Err(error_info(&Error::from(e), "ERROR"))),
        };
        let messages = match encoder.rows(batch) {
            Ok(messages) => messages,
            Err(PgWireError::UserError(info)) => return Ok(Err(*info)),
            Err(e) => return Err(e),
        };
        for message in messages {
            // The binary header travels with the first row, as PostgreSQL sends it.
            let data = match start.take() {
                Some(head) if out.options.format == enishi_sql::CopyFormat::Binary => {
                    let mut joined = bytes::BytesMut::from(&head[..]);
                    joined.extend_from_slice(&message);
                    joined.freeze()
                }
                Some(head) => {
                    client
                        .feed(PgWireBackendMessage::CopyData(CopyData::new(head)))
                        .await?;
                    message
                }
                None => message,
            };
            client
                .feed(PgWireBackendMessage::CopyData(CopyData::new(data)))
                .await?;
            rows += 1;
        }
    }
    for tail in [start.take(), encoder.finish()].into_iter().flatten() {
        client
            .feed(PgWireBackendMessage::CopyData(CopyData::new(tail)))
            .await?;
    }
    client
        .feed(PgWireBackendMessage::CopyDone(CopyDone::new()))
        .await?;
    client
        .feed(PgWireBackendMessage::CommandComplete(
            Tag::new("COPY").with_rows(rows as usize).into(),
        ))
        .await?;
    completed(metrics, "COPY", rows, started.elapsed());
    Ok(Ok(()))
}

impl Connection {
    /// COPY … FROM STDIN: sends CopyInResponse and hands the session to a task
    /// that writes what the client sends; the copy handler takes it from there.
    pub(super) async fn start_copy_in<C>(
        &self,
        client: &mut C,
        guard: &mut ConnectionState,
        copy: enishi_sql::CopyIn,
        extended: bool,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        use pgwire::messages::copy::CopyInResponse;
        let Some(mut active) = guard.active.take() else {
            return Err(not_started());
        };
        let copy = Arc::new(copy);
        let names = copy.columns.iter().map(|f| f.name().clone()).collect();
        // Binary input is read by each column's PostgreSQL type.
        let style = TextStyle::from_settings(&active.session.settings());
        let columns = datafusion::arrow::datatypes::Schema::new(copy.columns.clone());
        let types = encode::fields(&columns, &Format::UnifiedBinary, &style)?
            .iter()
            .map(|f| f.datatype().clone())
            .collect();
        let memory = datafusion::execution::memory_pool::MemoryConsumer::new(format!(
            "COPY {} FROM STDIN",
            copy.table
        ))
        .register(active.session.engine().memory_pool());
        let decoder = crate::pg::copy::Decoder::new(copy.options.clone(), names, types, memory);
        let (sender, receiver) = tokio::sync::mpsc::channel::<CopyItem>(2);
        let batches = stream::unfold(Some(receiver), |receiver| async move {
            let mut receiver = receiver?;
            match receiver.recv().await {
                Some(CopyItem::Batch(batch)) => Some((batch, Some(receiver))),
                Some(CopyItem::Done) => None,
                None => Some((
                    Err(datafusion::error::DataFusionError::Execution(
                        "COPY from stdin ended without CopyDone".into(),
                    )),
                    None,
                )),
            }
        });
        let schema = copy.table_schema();
        let batches: SendableRecordBatchStream = Box::pin(
            datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(schema, batches),
        );
        let writer = {
            let copy = copy.clone();
            tokio::spawn(async move {
                let result = active.session.copy_write(&copy, batches).await;
                (active, result)
            })
        };
        let code = crate::pg::copy::format_code(&copy.options);
        let columns = copy.columns.len();
        client
            .send(PgWireBackendMessage::CopyInResponse(CopyInResponse::new(
                code,
                columns as i16,
                vec![i16::from(code); columns],
            )))
            .await?;
        guard.copy = Some(CopyInState {
            copy,
            decoder,
            batches: sender,
            writer,
            started: Instant::now(),
            extended,
        });
        client.set_state(PgWireConnectionState::CopyInProgress(extended));
        Ok(())
    }

    /// Ends the COPY in progress (the writer gets `end`), waits for the writer
    /// and puts the session back. Returns when the COPY started, whether it
    /// came by the extended protocol, and the writer's result.
    pub(super) async fn end_copy_in(
        guard: &mut ConnectionState,
        end: CopyItem,
    ) -> Option<(Instant, bool, Result<u64, Error>)> {
        let CopyInState {
            batches,
            writer,
            started,
            extended,
            ..
        } = guard.copy.take()?;
        let _ = batches.send(end).await;
        drop(batches);
        let result = match writer.await {
            Ok((active, result)) => {
                guard.active = Some(active);
                result
            }
            Err(e) => Err(Error::Internal(format!("COPY writer failed: {e}"))),
        };
        Some((started, extended, result))
    }

    /// Converts the decoded rows (all of them with `force`) and passes them
    /// to the writer. On bad data the COPY is abandoned and the error returned.
    pub(super) async fn feed_copy(
        guard: &mut ConnectionState,
        force: bool,
    ) -> Result<(), ErrorInfo> {
        loop {
            let Some(state) = guard.copy.as_mut() else {
                return Ok(());
            };
            let Some((text, lines)) = state.decoder.take(force) else {
                return Ok(());
            };
            let converted = state.copy.convert(&text).map_err(|bad| {
                let line = lines.get(bad.row).copied().unwrap_or(0);
                let mut info = error_info(&bad.error, "ERROR");
                let value = bad.column.as_ref().and_then(|name| {
                    let i = text.schema().index_of(name).ok()?;
                    let column = text
                        .column(i)
                        .as_any()
                        .downcast_ref::<datafusion::arrow::array::StringArray>()?;
                    Some(
                        datafusion::arrow::array::Array::is_valid(column, bad.row)
                            .then(|| column.value(bad.row).to_string()),
                    )
                });
                info.where_context = Some(match (&bad.column, value) {
                    (Some(name), Some(Some(v))) => {
                        format!(
                            "COPY {}, line {line}, column {name}: \"{v}\"",
                            state.copy.table
                        )
                    }
                    (Some(name), _) => {
                        format!("COPY {}, line {line}, column {name}", state.copy.table)
                    }
                    _ => format!("COPY {}, line {line}", state.copy.table),
                });
                info
            });
            match converted {
                Ok(batch) => {
                    if state
                        .batches
                        .send(CopyItem::Batch(Ok(batch)))
                        .await
                        .is_err()
                    {
                        // The writer stopped early: its error is reported at the end.
                        return Ok(());
                    }
                }
                Err(info) => return Err(info),
            }
        }
    }

    /// Abandons the COPY after bad data: the writer fails (nothing commits)
    /// and the session is back, in the failed state.
    pub(super) async fn abort_copy(guard: &mut ConnectionState, info: ErrorInfo) -> PgWireError {
        let failure = datafusion::error::DataFusionError::Execution(info.message.clone());
        if Self::end_copy_in(guard, CopyItem::Batch(Err(failure)))
            .await
            .is_some()
            && let Some(active) = guard.active.as_mut()
        {
            active.session.statement_failed();
        }
        PgWireError::UserError(Box::new(info))
    }
}

impl Connection {
    /// Gives the decoder what arrived (`step`), then passes the complete
    /// batches (all rows, with `force`) to the writer. Bad data abandons the COPY.
    pub(super) async fn advance_copy(
        guard: &mut ConnectionState,
        step: impl FnOnce(&mut crate::pg::copy::Decoder) -> Result<(), crate::pg::copy::DataError>,
        force: bool,
    ) -> PgWireResult<()> {
        let Some(state) = guard.copy.as_mut() else {
            return Ok(());
        };
        if let Err(bad) = step(&mut state.decoder) {
            let info = bad.into_error_info(&state.copy.table);
            return Err(Self::abort_copy(guard, info).await);
        }
        if let Err(info) = Self::feed_copy(guard, force).await {
            return Err(Self::abort_copy(guard, info).await);
        }
        Ok(())
    }
}

#[async_trait]
impl pgwire::api::copy::CopyHandler for Connection {
    async fn on_copy_data<C>(
        &self,
        _client: &mut C,
        data: pgwire::messages::copy::CopyData,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let _busy = self.activity.enter();
        let mut guard = self.state.lock().await;
        Self::advance_copy(&mut guard, |decoder| decoder.push(&data.data), false).await
    }

    async fn on_copy_done<C>(
        &self,
        client: &mut C,
        _done: pgwire::messages::copy::CopyDone,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let _busy = self.activity.enter();
        let mut guard = self.state.lock().await;
        Self::advance_copy(&mut guard, crate::pg::copy::Decoder::finish, true).await?;
        let Some((started, extended, result)) = Self::end_copy_in(&mut guard, CopyItem::Done).await
        else {
            return Ok(());
        };
        let active = guard.active()?;
        let status = tx_status(active.session.tx_state());
        match result {
            Ok(rows) => {
                completed(&self.shared.metrics, "COPY", rows, started.elapsed());
                client
                    .feed(PgWireBackendMessage::CommandComplete(
                        Tag::new("COPY").with_rows(rows as usize).into(),
                    ))
                    .await?;
                client.set_transaction_status(status);
                if extended {
                    client.set_state(PgWireConnectionState::AwaitingSync);
                }
                Ok(())
            }
            Err(e) => {
                self.shared.metrics.query_failed(sqlstate(&e));
                client.set_transaction_status(status);
                Err(to_pgwire(&e))
            }
        }
    }

    async fn on_copy_fail<C>(
        &self,
        _client: &mut C,
        fail: pgwire::messages::copy::CopyFail,
    ) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut guard = self.state.lock().await;
        let info = ErrorInfo::new(
            "ERROR".into(),
            "57014".into(),
            format!("COPY from stdin failed: {}", fail.message),
        );
        Self::abort_copy(&mut guard, info).await
    }
}
