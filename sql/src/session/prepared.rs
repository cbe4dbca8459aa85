//! SQL-level PREPARE, EXECUTE and DEALLOCATE.

use super::*;

impl Session {
    pub(super) fn sql_prepared(&self, name: &ObjectName) -> Result<&SqlPrepared> {
        let key = object_name(name);
        self.prepared
            .get(&key)
            .ok_or(Error::UndefinedPreparedStatement(key))
    }

    pub(super) fn prepare_sql(
        &mut self,
        name: &ast::Ident,
        data_types: &[ast::DataType],
        statement: &Statement,
    ) -> Result<Output> {
        let key = name.value.to_lowercase();
        if self.prepared.contains_key(&key) {
            return Err(Error::DuplicatePreparedStatement(key));
        }
        let param_types = data_types
            .iter()
            .map(|t| types::column_type(t).map(|c| c.arrow))
            .collect::<Result<Vec<_>>>()?;
        let statement = DFStatement::Statement(Box::new(statement.clone()));
        self.prepared.insert(
            key,
            SqlPrepared {
                statement,
                param_types,
            },
        );
        Ok(Output::Command(CommandTag::new("PREPARE")))
    }

    pub(super) async fn execute_sql(&mut self, name: &ObjectName, args: &[Expr]) -> Result<Output> {
        let prepared = self.sql_prepared(name)?.clone();
        let mut values = Vec::with_capacity(args.len());
        for (i, arg) in args.iter().enumerate() {
            let mut value = self.evaluate(arg).await?;
            if let Some(ty) = prepared.param_types.get(i) {
                value = crate::types::parameter_value(value, ty)?;
            }
            values.push(value);
        }
        let params = (!values.is_empty()).then(|| ParamValues::from(values));
        Box::pin(self.dispatch(&prepared.statement, params)).await
    }

    /// Evaluates a constant expression (an EXECUTE argument).
    pub(super) async fn evaluate(&self, expr: &Expr) -> Result<ScalarValue> {
        // As in PostgreSQL, parameters are plain values.
        refuse_subqueries(expr, "EXECUTE parameter")?;
        let sql = format!("SELECT {expr}");
        let batches = self.ctx.sql(&sql).await?.collect().await?;
        let batch = batches
            .first()
            .ok_or_else(|| Error::Internal("no value".into()))?;
        Ok(ScalarValue::try_from_array(batch.column(0), 0)?)
    }

    pub(super) fn deallocate(&mut self, name: &ast::Ident) -> Result<Output> {
        let key = name.value.to_lowercase();
        if key == "all" && name.quote_style.is_none() {
            self.prepared.clear();
            self.effects.push(ProtocolEffect::DeallocateAll);
            return Ok(Output::Command(CommandTag::new("DEALLOCATE ALL")));
        }
        if self.prepared.remove(&key).is_none() {
            return Err(Error::UndefinedPreparedStatement(key));
        }
        self.effects
            .push(ProtocolEffect::Deallocate(name.value.clone()));
        Ok(Output::Command(CommandTag::new("DEALLOCATE")))
    }
}

/// Parses one SQL expression (a stored DEFAULT).
/// `cannot use subquery in <what>` (0A000) when `expr` holds a subquery.
pub(super) fn refuse_subqueries(expr: &Expr, what: &str) -> Result<()> {
    let found = ast::visit_expressions(expr, |e| match e {
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
            std::ops::ControlFlow::Break(())
        }
        _ => std::ops::ControlFlow::Continue(()),
    });
    match found {
        std::ops::ControlFlow::Break(()) => {
            Err(Error::unsupported(format!("cannot use subquery in {what}")))
        }
        std::ops::ControlFlow::Continue(()) => Ok(()),
    }
}
