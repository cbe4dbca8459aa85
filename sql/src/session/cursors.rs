//! DECLARE, FETCH and CLOSE.

use super::*;

impl Session {
    /// The columns of the open cursor `name`, if there is one.
    pub async fn cursor_schema(&self, name: &str) -> Option<SchemaRef> {
        let cursor = self.cursors.get(&name.to_lowercase())?;
        Some(cursor.lock().await.schema.clone())
    }

    pub(super) async fn declare(
        &mut self,
        stmts: &[ast::Declare],
        params: Option<ParamValues>,
    ) -> Result<Output> {
        for declare in stmts {
            let hold = declare.hold.unwrap_or(false);
            if !hold {
                self.require_block("DECLARE CURSOR")?;
            }
            let query = declare.for_query.as_ref().ok_or_else(|| {
                Error::syntax("DECLARE needs a query (DECLARE name CURSOR FOR …)")
            })?;
            for name in &declare.names {
                let key = name.value.to_lowercase();
                if self.cursors.contains_key(&key) {
                    return Err(Error::DuplicateCursor(key));
                }
                let stmt = DFStatement::Statement(Box::new(Statement::Query(query.clone())));
                let plan = self.plan_with(&stmt, params.clone()).await?;
                let schema = self.result_schema(&plan).await;
                let stream = self
                    .ctx
                    .execute_logical_plan(plan)
                    .await?
                    .execute_stream()
                    .await?;
                let cursor = Cursor {
                    schema,
                    stream,
                    pending: None,
                    hold,
                };
                self.cursors.insert(key, tokio::sync::Mutex::new(cursor));
            }
        }
        Ok(Output::Command(CommandTag::new("DECLARE CURSOR")))
    }

    pub(super) async fn fetch(
        &mut self,
        name: &ast::Ident,
        direction: &FetchDirection,
    ) -> Result<Output> {
        let key = name.value.to_lowercase();
        let limit = match direction {
            FetchDirection::Next | FetchDirection::Forward { limit: None } => Some(1),
            FetchDirection::Count { limit } | FetchDirection::Forward { limit: Some(limit) } => {
                Some(count_of(&limit.value)?)
            }
            FetchDirection::All | FetchDirection::ForwardAll => None,
            other => {
                return Err(Error::unsupported(format!(
                    "FETCH {other}: cursors can only move forward"
                )));
            }
        };
        let cursor = self
            .cursors
            .get_mut(&key)
            .ok_or(Error::UndefinedCursor(key))?
            .get_mut();
        let mut batches = Vec::new();
        let mut wanted = limit.unwrap_or(usize::MAX);
        while wanted > 0 {
            let batch = match cursor.pending.take() {
                Some(b) => b,
                None => match cursor.stream.next().await {
                    Some(b) => b?,
                    None => break,
                },
            };
            if batch.num_rows() > wanted {
                cursor.pending = Some(batch.slice(wanted, batch.num_rows() - wanted));
                batches.push(batch.slice(0, wanted));
                wanted = 0;
            } else {
                wanted -= batch.num_rows();
                batches.push(batch);
            }
        }
        let schema = cursor.schema.clone();
        Ok(Output::Rows(rows_from_batches(schema, batches, "FETCH")?))
    }

    pub(super) fn close(&mut self, cursor: &CloseCursor) -> Result<Output> {
        match cursor {
            CloseCursor::All => self.cursors.clear(),
            CloseCursor::Specific { name } => {
                let key = name.value.to_lowercase();
                if self.cursors.remove(&key).is_none() {
                    return Err(Error::UndefinedCursor(key));
                }
            }
        }
        Ok(Output::Command(CommandTag::new("CLOSE CURSOR")))
    }
}

fn count_of(value: &Value) -> Result<usize> {
    match value {
        Value::Number(n, _) => n
            .parse()
            .map_err(|_| Error::syntax(format!("invalid count {n}"))),
        other => Err(Error::syntax(format!("invalid count {other}"))),
    }
}
