//! Operators and literals read as PostgreSQL reads them: `%`, LIKE's
//! escape, FETCH FIRST, float and interval literals, and
//! long AND/OR chains rebuilt balanced.

use super::*;
use crate::interval::{self, Typmod};
use crate::rewrite::INTERVAL_IN;

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

/// PostgreSQL's prefix operators `|/ x`, `||/ x`, `@ x` and `~ x` are
/// `sqrt(x)`, `cbrt(x)`, `abs(x)` and `pg_bitwise_not(x)`, which DataFusion
/// plans.
pub(super) fn math_operators_as_functions(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::UnaryOp { op, expr: operand } = expr {
            let name = match op {
                ast::UnaryOperator::PGSquareRoot => "sqrt",
                ast::UnaryOperator::PGCubeRoot => "cbrt",
                ast::UnaryOperator::PGAbs => "abs",
                ast::UnaryOperator::BitwiseNot => crate::functions::math::BITWISE_NOT,
                _ => return std::ops::ControlFlow::<()>::Continue(()),
            };
            *expr = super::catalog::call(name, vec![(**operand).clone()]);
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

/// PostgreSQL types an integer literal that fits 32 bits as int4 (int8 past
/// that, numeric past 64 bits); DataFusion types every one int8. So `1 + 1`
/// is int4, and `2147483647 + 1` overflows (22003, see
/// `rewrite::CheckedOperators`) instead of widening. Left as they are:
/// positions (`ORDER BY 1`, `GROUP BY 1`) and a literal cast at once to
/// another type (`5000::int8`). Queries and DML only: a column's DEFAULT
/// keeps the text it was given.
pub(super) fn integer_literals_as_int4(stmt: &mut Statement) {
    use std::ops::ControlFlow;
    if let Statement::Prepare { statement, .. } = stmt {
        return integer_literals_as_int4(statement);
    }
    if !matches!(
        stmt,
        Statement::Query(_)
            | Statement::Insert(_)
            | Statement::Update { .. }
            | Statement::Delete(_)
    ) {
        return;
    }
    // Numbers to leave are flagged `long` (a MySQL suffix PostgreSQL never
    // sets) while the literals are typed, and unflagged after.
    fn flag(expr: &mut Expr) {
        if let Expr::Value(v) = expr
            && let Value::Number(_, long) = &mut v.value
        {
            *long = true;
        }
    }
    fn flag_group_by(body: &mut SetExpr) {
        match body {
            SetExpr::Select(select) => {
                if let ast::GroupByExpr::Expressions(exprs, _) = &mut select.group_by {
                    exprs.iter_mut().for_each(flag);
                }
            }
            SetExpr::SetOperation { left, right, .. } => {
                flag_group_by(left);
                flag_group_by(right);
            }
            _ => {}
        }
    }
    struct Int4;
    impl ast::VisitorMut for Int4 {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            if let Some(ast::OrderBy {
                kind: ast::OrderByKind::Expressions(items),
                ..
            }) = &mut query.order_by
            {
                items.iter_mut().for_each(|item| flag(&mut item.expr));
            }
            flag_group_by(&mut query.body);
            // Counts: the subquery rewrites read `LIMIT 1` as a number.
            match &mut query.limit_clause {
                Some(ast::LimitClause::LimitOffset { limit, offset, .. }) => {
                    limit.iter_mut().for_each(flag);
                    offset.iter_mut().for_each(|o| flag(&mut o.value));
                }
                Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => {
                    flag(offset);
                    flag(limit);
                }
                None => {}
            }
            if let Some(fetch) = &mut query.fetch {
                fetch.quantity.iter_mut().for_each(flag);
            }
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
            match expr {
                Expr::Cast { expr: inner, .. } => {
                    flag(inner);
                    if let Expr::UnaryOp { expr: inner, .. } = inner.as_mut() {
                        flag(inner);
                    }
                }
                // DataFusion reads a window frame's offsets and a row's
                // fields (`(1, 2) < (1, 3)`) only as plain literals.
                Expr::Function(ast::Function {
                    over: Some(ast::WindowType::WindowSpec(spec)),
                    ..
                }) => {
                    if let Some(frame) = &mut spec.window_frame {
                        let bounds =
                            std::iter::once(&mut frame.start_bound).chain(frame.end_bound.as_mut());
                        for bound in bounds {
                            if let ast::WindowFrameBound::Preceding(Some(e))
                            | ast::WindowFrameBound::Following(Some(e)) = bound
                            {
                                flag(e);
                            }
                        }
                    }
                }
                Expr::Tuple(fields) => fields.iter_mut().for_each(flag),
                _ => {}
            }
            ControlFlow::Continue(())
        }
        fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
            let fits = |e: &Expr, negative: bool| {
                matches!(e, Expr::Value(v) if matches!(&v.value, Value::Number(n, false)
                    if if negative { format!("-{n}") } else { n.clone() }.parse::<i32>().is_ok()))
            };
            let int4 = match &*expr {
                Expr::UnaryOp {
                    op: UnaryOperator::Minus,
                    expr: inner,
                } => fits(inner, true),
                e => fits(e, false),
            };
            if int4 {
                let literal = std::mem::replace(expr, Expr::value(Value::Null));
                *expr = Expr::Cast {
                    kind: ast::CastKind::Cast,
                    expr: Box::new(literal),
                    data_type: ast::DataType::Integer(None),
                    array: false,
                    format: None,
                };
            }
            ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Int4);
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Value(v) = expr
            && let Value::Number(_, long) = &mut v.value
        {
            *long = false;
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Interval literals and casts read PostgreSQL's interval syntax (see
/// `rewrite::TextInput`; DataFusion's own literals accept fewer forms):
/// `interval '1 day 02:00:00'` becomes a cast of the string, and a field
/// qualifier or precision (`interval '1 2' day to hour`, `x::interval
/// minute`, `interval(2) '…'`) becomes the input function with PostgreSQL's
/// type modifier, which places bare numbers and zeroes the fields after the
/// last one.
pub(super) fn interval_literals_read_like_postgres(stmt: &mut Statement) {
    use std::ops::ControlFlow;
    let is_string =
        |e: &Expr| matches!(e, Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_)));
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        let (value, typmod) = match expr {
            Expr::Interval(ast::Interval {
                value,
                leading_field,
                leading_precision,
                last_field,
                fractional_seconds_precision,
            }) if is_string(value) => {
                let precision = match (&*leading_field, &*last_field) {
                    (Some(ast::DateTimeField::Second), None) => {
                        fractional_seconds_precision.or(*leading_precision)
                    }
                    _ => *fractional_seconds_precision,
                };
                let range = match (&*leading_field, &*last_field) {
                    (None, None) => Some(interval::field::ALL),
                    (Some(first), last) => qualifier_range(first, last.as_ref()),
                    (None, Some(_)) => None,
                };
                let Some(range) = range else {
                    return ControlFlow::Continue(());
                };
                (
                    value.clone(),
                    Typmod {
                        range,
                        precision: precision.map(|p| p.min(6) as u8),
                    },
                )
            }
            Expr::Cast {
                expr: inner,
                data_type: ast::DataType::Interval { fields, precision },
                ..
            } if fields.is_some() || precision.is_some() => {
                let range = fields.as_ref().map_or(interval::field::ALL, fields_range);
                (
                    inner.clone(),
                    Typmod {
                        range,
                        precision: precision.map(|p| p.min(6) as u8),
                    },
                )
            }
            // `interval(2) '…'`
            Expr::TypedString(ast::TypedString {
                data_type: ast::DataType::Interval { fields, precision },
                value,
                ..
            }) => {
                let range = fields.as_ref().map_or(interval::field::ALL, fields_range);
                let value = Box::new(Expr::Value(value.clone()));
                (
                    value,
                    Typmod {
                        range,
                        precision: precision.map(|p| p.min(6) as u8),
                    },
                )
            }
            _ => return ControlFlow::Continue(()),
        };
        *expr = if typmod == Typmod::default() {
            Expr::Cast {
                kind: ast::CastKind::DoubleColon,
                expr: value,
                data_type: ast::DataType::Interval {
                    fields: None,
                    precision: None,
                },
                array: false,
                format: None,
            }
        } else {
            let typmod = Expr::Cast {
                kind: ast::CastKind::DoubleColon,
                expr: Box::new(Expr::value(Value::Number(
                    typmod.encode().to_string(),
                    false,
                ))),
                data_type: ast::DataType::Int(None),
                array: false,
                format: None,
            };
            call(INTERVAL_IN, vec![*value, typmod])
        };
        ControlFlow::<()>::Continue(())
    });
}

/// The type modifier fields of `first [TO last]`, None for a pair SQL has not.
fn qualifier_range(first: &ast::DateTimeField, last: Option<&ast::DateTimeField>) -> Option<i32> {
    use ast::DateTimeField as F;
    use interval::field::*;
    let bit = |f: &F| match f {
        F::Year | F::Years => Some(YEAR),
        F::Month | F::Months => Some(MONTH),
        F::Day | F::Days => Some(DAY),
        F::Hour | F::Hours => Some(HOUR),
        F::Minute | F::Minutes => Some(MINUTE),
        F::Second | F::Seconds => Some(SECOND),
        _ => None,
    };
    let first = bit(first)?;
    let Some(last) = last else {
        return Some(first);
    };
    let last = bit(last)?;
    // Every field from the first to the last, as the bits run DAY < HOUR < … but
    // YEAR above MONTH.
    Some(match (first, last) {
        (YEAR, MONTH) => YEAR | MONTH,
        (DAY, HOUR) => DAY | HOUR,
        (DAY, MINUTE) => DAY | HOUR | MINUTE,
        (DAY, SECOND) => DAY | HOUR | MINUTE | SECOND,
        (HOUR, MINUTE) => HOUR | MINUTE,
        (HOUR, SECOND) => HOUR | MINUTE | SECOND,
        (MINUTE, SECOND) => MINUTE | SECOND,
        _ => return None,
    })
}

/// The type modifier fields of an `INTERVAL <fields>` type.
fn fields_range(fields: &ast::IntervalFields) -> i32 {
    use ast::IntervalFields as F;
    use interval::field::*;
    match fields {
        F::Year => YEAR,
        F::Month => MONTH,
        F::Day => DAY,
        F::Hour => HOUR,
        F::Minute => MINUTE,
        F::Second => SECOND,
        F::YearToMonth => YEAR | MONTH,
        F::DayToHour => DAY | HOUR,
        F::DayToMinute => DAY | HOUR | MINUTE,
        F::DayToSecond => DAY | HOUR | MINUTE | SECOND,
        F::HourToMinute => HOUR | MINUTE,
        F::HourToSecond => HOUR | MINUTE | SECOND,
        F::MinuteToSecond => MINUTE | SECOND,
    }
}

/// `EXTRACT(field FROM x)` becomes `extract('field', x)`, PostgreSQL's numeric
/// form (DataFusion would plan its own `date_part`); see `functions::extract`.
/// `t AT TIME ZONE z` is `timezone(z, t)`, PostgreSQL's function for it
/// (DataFusion's only relabels the zone of a timestamptz).
pub(super) fn at_time_zone_as_function(stmt: &mut Statement) {
    use std::ops::ControlFlow;
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::AtTimeZone {
            timestamp,
            time_zone,
        } = expr
        {
            *expr = call("timezone", vec![*time_zone.clone(), *timestamp.clone()]);
        }
        ControlFlow::<()>::Continue(())
    });
}

/// `make_interval(years := 1, secs := 2.5)`: the arguments in their places,
/// those not given 0, as PostgreSQL's defaults are.
pub(super) fn make_interval_defaults(stmt: &mut Statement) {
    use std::ops::ControlFlow;
    const PARAMETERS: [&str; 7] = ["years", "months", "weeks", "days", "hours", "mins", "secs"];
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        let Expr::Function(function) = expr else {
            return ControlFlow::<()>::Continue(());
        };
        let ast::FunctionArguments::List(list) = &function.args else {
            return ControlFlow::Continue(());
        };
        if !function
            .name
            .to_string()
            .eq_ignore_ascii_case("make_interval")
            || list.args.len() > 7
        {
            return ControlFlow::Continue(());
        }
        let mut given: Vec<Option<Expr>> = vec![None; 7];
        for (i, arg) in list.args.iter().enumerate() {
            let named = |name: &str| PARAMETERS.iter().position(|p| p.eq_ignore_ascii_case(name));
            let (place, value) = match arg {
                // `years := 1` as the parser reads it.
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(Expr::BinaryOp {
                    left,
                    op: ast::BinaryOperator::Assignment,
                    right,
                })) => match left.as_ref() {
                    Expr::Identifier(name) => (named(&name.value), right.as_ref()),
                    _ => return ControlFlow::Continue(()),
                },
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => (Some(i), e),
                ast::FunctionArg::Named {
                    name,
                    arg: ast::FunctionArgExpr::Expr(e),
                    ..
                } => (named(&name.value), e),
                _ => return ControlFlow::Continue(()),
            };
            // An unknown name is left for the planner to refuse.
            let Some(place) = place else {
                return ControlFlow::Continue(());
            };
            given[place] = Some(value.clone());
        }
        let args = given
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                v.unwrap_or_else(|| {
                    Expr::value(Value::Number(
                        if i == 6 { "0.0" } else { "0" }.into(),
                        false,
                    ))
                })
            })
            .collect();
        *expr = call("make_interval", args);
        ControlFlow::Continue(())
    });
}

pub(super) fn extract_as_function(stmt: &mut Statement) {
    use std::ops::ControlFlow;
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Extract {
            field, expr: from, ..
        } = expr
        {
            let unit = match field {
                ast::DateTimeField::Custom(ident) => ident.value.clone(),
                other => other.to_string(),
            };
            let unit = Expr::value(Value::SingleQuotedString(unit));
            *expr = call("extract", vec![unit, *from.clone()]);
        }
        ControlFlow::<()>::Continue(())
    });
}

/// A VALUES column is typed by all its rows together, as PostgreSQL resolves
/// it: where one row casts the column (`('a'::varchar), ('b')`), the other
/// rows' bare strings and NULLs take the same type, rather than meeting it
/// as text.
pub(super) fn values_columns_typed_together(stmt: &mut Statement) {
    use std::ops::ControlFlow;
    struct Values;
    impl ast::VisitorMut for Values {
        type Break = ();
        fn post_visit_query(&mut self, query: &mut ast::Query) -> ControlFlow<()> {
            type_together(&mut query.body);
            ControlFlow::Continue(())
        }
    }
    fn type_together(body: &mut SetExpr) {
        let rows = match body {
            SetExpr::Values(values) => &mut values.rows,
            SetExpr::SetOperation { left, right, .. } => {
                type_together(left);
                type_together(right);
                return;
            }
            _ => return,
        };
        let width = rows.first().map_or(0, |row| row.content.len());
        for column in 0..width {
            let Some((data_type, kind)) =
                rows.iter().find_map(|row| match row.content.get(column) {
                    Some(Expr::Cast {
                        data_type, kind, ..
                    }) => Some((data_type.clone(), kind.clone())),
                    _ => None,
                })
            else {
                continue;
            };
            for row in rows.iter_mut() {
                if let Some(value @ Expr::Value(_)) = row.content.get_mut(column)
                    && let Expr::Value(v) = &*value
                    && matches!(v.value, Value::SingleQuotedString(_) | Value::Null)
                {
                    *value = Expr::Cast {
                        kind: kind.clone(),
                        expr: Box::new(value.clone()),
                        data_type: data_type.clone(),
                        array: false,
                        format: None,
                    };
                }
            }
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Values);
}
