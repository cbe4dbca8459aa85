//! Operators and literals read as PostgreSQL reads them: `%`, LIKE's
//! escape, SUBSTRING patterns, FETCH FIRST, float and interval literals, and
//! long AND/OR chains rebuilt balanced.

use super::*;

/// `mod(a, b)` is PostgreSQL's spelling of `a % b`, which DataFusion lacks.
pub(super) fn mod_as_operator(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Function(f) = expr
            && f.name.0.len() == 1
            && f.name.to_string().eq_ignore_ascii_case("mod")
            && let ast::FunctionArguments::List(list) = &f.args
            && list.duplicate_treatment.is_none()
            && list.clauses.is_empty()
            && let [
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a)),
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(b)),
            ] = list.args.as_slice()
        {
            *expr = Expr::BinaryOp {
                left: Box::new(Expr::Nested(Box::new(a.clone()))),
                op: ast::BinaryOperator::Modulo,
                right: Box::new(Expr::Nested(Box::new(b.clone()))),
            };
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// `x LIKE p ESCAPE '/'`: DataFusion's LIKE knows only the backslash as
/// escape, so the pattern is rewritten for it (`pg_like_escape`).
/// SQLAlchemy's inspector writes `nspname NOT LIKE $1 || '%' ESCAPE '/'`.
pub(super) fn like_escape_as_backslash(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Like {
            pattern,
            escape_char,
            ..
        }
        | Expr::ILike {
            pattern,
            escape_char,
            ..
        } = expr
            && let Some(escape) = escape_char
            && !matches!(&escape.value, Value::SingleQuotedString(e) if e == "\\")
            && let Some(rewritten) = parse_expr(&format!("pg_like_escape(({pattern}), {escape})"))
        {
            **pattern = rewritten;
            *escape_char = None;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// `substring(text FROM 'pattern')` with a string for FROM is PostgreSQL's
/// regular-expression form: the part of the text that matches the pattern's
/// first parenthesized group (or the whole pattern), NULL when nothing
/// matches. pgAdmin reads table options with it.
pub(super) fn substring_patterns_as_regexp(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Substring {
            expr: text,
            substring_from: Some(from),
            substring_for: None,
            ..
        } = expr
            && let Expr::Value(v) = from.as_ref()
            && let Value::SingleQuotedString(_) = v.value
            && let Some(rewritten) = parse_expr(&format!("(regexp_match(({text}), {from}))[1]"))
        {
            *expr = rewritten;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// `FETCH FIRST n ROWS ONLY` (SQL's spelling of LIMIT, which DataFusion does
/// not plan) becomes `LIMIT n`. `WITH TIES` and `PERCENT` stay unsupported.
pub(super) fn fetch_first_as_limit(stmt: &mut Statement) {
    struct Fetches;
    impl ast::VisitorMut for Fetches {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> std::ops::ControlFlow<()> {
            let plain = query
                .fetch
                .as_ref()
                .is_some_and(|f| !f.with_ties && !f.percent);
            if !plain {
                return std::ops::ControlFlow::Continue(());
            }
            let quantity = query
                .fetch
                .take()
                .and_then(|f| f.quantity)
                .unwrap_or_else(|| Expr::value(Value::Number("1".into(), false)));
            match &mut query.limit_clause {
                None => {
                    query.limit_clause = Some(ast::LimitClause::LimitOffset {
                        limit: Some(quantity),
                        offset: None,
                        limit_by: Vec::new(),
                    })
                }
                Some(ast::LimitClause::LimitOffset { limit, .. }) if limit.is_none() => {
                    *limit = Some(quantity)
                }
                // Both LIMIT and FETCH: leave it for the planner to refuse.
                Some(_) => {
                    query.fetch = Some(ast::Fetch {
                        with_ties: false,
                        percent: false,
                        quantity: Some(quantity),
                    })
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Fetches);
}

/// `a = 1 OR a = 2 OR … OR a = 5000`, as tools generate it, parses into a
/// tree as deep as the chain is long, which every later step walks
/// recursively. AND and OR are associative, so each chain is rebuilt
/// balanced (depth log₂ n), top-down before the walk reaches its spine.
pub(super) fn balance_boolean_chains(stmt: &mut Statement) {
    use datafusion::sql::sqlparser::ast::BinaryOperator;
    fn balanced(mut operands: Vec<Expr>, op: &BinaryOperator) -> Expr {
        if operands.len() == 1 {
            return operands.pop().expect("one operand");
        }
        let right = operands.split_off(operands.len() / 2);
        Expr::BinaryOp {
            left: Box::new(balanced(operands, op)),
            op: op.clone(),
            right: Box::new(balanced(right, op)),
        }
    }
    // Top-down (pre-visit): each chain is rebuilt before the walk descends.
    struct Balance;
    impl ast::VisitorMut for Balance {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &mut Expr) -> std::ops::ControlFlow<()> {
            if let Expr::BinaryOp {
                op: op @ (BinaryOperator::And | BinaryOperator::Or),
                ..
            } = expr
            {
                let op = op.clone();
                // Walk the left spine in a loop: the chain's operands, in order.
                let mut operands = Vec::new();
                let mut rest = std::mem::replace(expr, Expr::value(Value::Null));
                loop {
                    match rest {
                        Expr::BinaryOp {
                            left,
                            op: ref this,
                            right,
                        } if *this == op => {
                            operands.push(*right);
                            rest = *left;
                        }
                        other => {
                            operands.push(other);
                            break;
                        }
                    }
                }
                operands.reverse();
                *expr = balanced(operands, &op);
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Balance);
}

/// `1e15::float8` must be exactly 1e15. DataFusion reads the literal as numeric
/// first (so that `1.5` is numeric, as in PostgreSQL), and numeric→float loses
/// digits; casting the literal's text instead parses it straight into a float.
pub(super) fn float_literals_stay_exact(stmt: &mut Statement) {
    use std::ops::ControlFlow;
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Cast {
            expr: inner,
            data_type,
            ..
        } = expr
        {
            let float = matches!(
                data_type,
                ast::DataType::Real
                    | ast::DataType::Float4
                    | ast::DataType::Float8
                    | ast::DataType::Float(_)
                    | ast::DataType::Double(_)
                    | ast::DataType::DoublePrecision
            );
            if let (true, Expr::Value(v)) = (float, inner.as_mut())
                && let Value::Number(n, _) = &v.value
            {
                v.value = Value::SingleQuotedString(n.clone());
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

/// `interval '1 day 02:00:00'` (no field qualifier) becomes a cast of the string,
/// which reads PostgreSQL's interval syntax (see `rewrite::TextInput`); DataFusion's
/// own interval literals accept fewer forms.
pub(super) fn interval_literals_read_like_postgres(stmt: &mut Statement) {
    use std::ops::ControlFlow;
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Interval(ast::Interval {
            value,
            leading_field: None,
            leading_precision: None,
            last_field: None,
            fractional_seconds_precision: None,
        }) = expr
            && matches!(value.as_ref(), Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_)))
        {
            *expr = Expr::Cast {
                kind: ast::CastKind::DoubleColon,
                expr: value.clone(),
                data_type: ast::DataType::Interval {
                    fields: None,
                    precision: None,
                },
                array: false,
                format: None,
            };
        }
        ControlFlow::<()>::Continue(())
    });
}
