//! LIMIT and OFFSET of any expression that reads no column of its query
//! (`OFFSET (CASE WHEN random() < 0.5 THEN NULL END)`, `LIMIT (SELECT n FROM
//! settings)`), evaluated once before the query runs, as PostgreSQL
//! evaluates them: DataFusion takes only constants it can fold. A NULL
//! limit or offset is none. The expression is planned as any other query
//! of the session (privileges, search_path).

use std::ops::ControlFlow;

use super::*;

/// Whether a LIMIT or OFFSET is one to evaluate first: it calls a function
/// or reads a subquery, and names no column outside its subqueries.
fn to_evaluate(expr: &Expr) -> bool {
    let mut calls = false;
    let mut columns = false;
    let _ = ast::visit_expressions(expr, |e| {
        match e {
            Expr::Function(_) | Expr::Case { .. } => calls = true,
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => columns = true,
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    let subquery = matches!(expr, Expr::Subquery(_))
        || matches!(expr, Expr::Nested(inner) if matches!(inner.as_ref(), Expr::Subquery(_)));
    subquery || (calls && !columns)
}

/// The LIMIT and OFFSET expressions of every query of a statement, in the
/// order [`replaced`] visits them.
fn limits(stmt: &Statement) -> Vec<Expr> {
    struct Limits(Vec<Expr>);
    impl ast::Visitor for Limits {
        type Break = ();
        fn pre_visit_query(&mut self, query: &ast::Query) -> ControlFlow<()> {
            if let Some(ast::LimitClause::LimitOffset { limit, offset, .. }) = &query.limit_clause {
                for expr in limit.iter().chain(offset.iter().map(|o| &o.value)) {
                    if to_evaluate(expr) {
                        self.0.push(expr.clone());
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut found = Limits(Vec::new());
    let _ = ast::Visit::visit(stmt, &mut found);
    found.0
}

/// The statement with its evaluated limits and offsets in place: a number,
/// or none for NULL.
fn replaced(stmt: &mut Statement, mut values: std::vec::IntoIter<Option<String>>) {
    struct Replace<'a>(&'a mut std::vec::IntoIter<Option<String>>);
    impl ast::VisitorMut for Replace<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut ast::Query) -> ControlFlow<()> {
            if let Some(ast::LimitClause::LimitOffset { limit, offset, .. }) =
                &mut query.limit_clause
            {
                if limit.as_ref().is_some_and(to_evaluate) {
                    *limit = self.0.next().flatten().map(number);
                }
                if offset.as_ref().is_some_and(|o| to_evaluate(&o.value)) {
                    let value = self.0.next().flatten();
                    *offset = value.map(|v| ast::Offset {
                        value: number(v),
                        rows: ast::OffsetRows::None,
                    });
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Replace(&mut values));
}

fn number(text: String) -> Expr {
    match text.strip_prefix('-') {
        Some(magnitude) => Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr: Box::new(Expr::value(Value::Number(magnitude.to_string(), false))),
        },
        None => Expr::value(Value::Number(text, false)),
    }
}

/// Whether the statement has a LIMIT or OFFSET that is evaluated first.
pub(super) fn evaluates_limits(stmt: &DFStatement) -> bool {
    matches!(stmt, DFStatement::Statement(s) if !limits(s).is_empty())
}

impl Session {
    /// The statement with its LIMIT and OFFSET expressions evaluated, or
    /// None when it has none to evaluate.
    pub(super) async fn limits_evaluated(&self, stmt: &DFStatement) -> Result<Option<DFStatement>> {
        let DFStatement::Statement(statement) = stmt else {
            return Ok(None);
        };
        let exprs = limits(statement);
        if exprs.is_empty() {
            return Ok(None);
        }
        let mut values = Vec::with_capacity(exprs.len());
        for expr in exprs {
            let parsed = crate::statement::parse(&format!("SELECT CAST(({expr}) AS BIGINT)"))?;
            let [query] = parsed.as_slice() else {
                return Err(Error::Internal("a LIMIT expression is one query".into()));
            };
            let plan = Box::pin(self.plan(query)).await?;
            let batches = self.ctx.execute_logical_plan(plan).await?.collect().await?;
            let value = match batches.iter().find(|b| b.num_rows() > 0) {
                Some(batch) => ScalarValue::try_from_array(batch.column(0), 0)?,
                None => ScalarValue::Int64(None),
            };
            values.push((!value.is_null()).then(|| value.to_string()));
        }
        let mut statement = statement.as_ref().clone();
        replaced(&mut statement, values.into_iter());
        Ok(Some(DFStatement::Statement(Box::new(statement))))
    }
}
