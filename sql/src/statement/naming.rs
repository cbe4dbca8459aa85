//! Result columns named as PostgreSQL names them (FigureColname).

use super::*;

/// Gives every result column of every query of the statement its
/// PostgreSQL name: the statement's own, and those of its derived tables,
/// CTEs and views, which the queries around them name (`SELECT count FROM
/// (SELECT count(*) FROM t) s`).
pub(super) fn all_columns_named(stmt: &mut Statement) {
    use std::ops::ControlFlow;
    struct Naming;
    impl ast::VisitorMut for Naming {
        type Break = ();
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            name_columns(query);
            ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Naming);
}

/// Gives every result column of a query's (leftmost) select its PostgreSQL
/// name. Beside a `*`, whose columns may be unnamed ones of a subquery, an
/// unnamed column (`?column?`) gets a hidden suffix of its own.
fn name_columns(query: &mut Query) {
    let Some(select) = leftmost_select(&mut query.body) else {
        return;
    };
    let starred = select.projection.iter().any(|item| {
        matches!(
            item,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        )
    });
    let mut seen: Vec<String> = Vec::new();
    for (i, item) in select.projection.iter_mut().enumerate() {
        let (expr, name) = match item {
            SelectItem::UnnamedExpr(expr) => {
                if matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
                    // DataFusion already names plain columns as PostgreSQL does.
                    seen.push(figure_colname(expr));
                    continue;
                }
                let name = figure_colname(expr);
                (std::mem::replace(expr, Expr::value(Value::Null)), name)
            }
            SelectItem::ExprWithAlias { expr, alias } => {
                let name = normalize(alias);
                (std::mem::replace(expr, Expr::value(Value::Null)), name)
            }
            _ => continue,
        };
        let unique = if starred && name == UNNAMED {
            format!("{name}{NAME_SUFFIX_MARK}*{i}")
        } else if seen.contains(&name) {
            format!("{name}{NAME_SUFFIX_MARK}{i}")
        } else {
            name.clone()
        };
        seen.push(name);
        *item = SelectItem::ExprWithAlias {
            expr,
            alias: Ident::with_quote('"', unique),
        };
    }
}

/// A select list may name two columns alike, as PostgreSQL allows
/// (`SELECT a, b, a`, `SELECT DISTINCT x + 1, x + 1`), where DataFusion
/// wants unique names: in every query of the statement, a repeated column
/// is aliased with a suffix after [`NAME_SUFFIX_MARK`], which the client
/// never sees. Runs after [`name_columns`], which names the statement's own
/// columns.
pub(super) fn repeated_columns_told_apart(stmt: &mut Statement) {
    use std::ops::ControlFlow;
    struct Repeated;
    impl ast::VisitorMut for Repeated {
        type Break = ();
        fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            tell_apart(&mut query.body);
            ControlFlow::Continue(())
        }
    }
    fn tell_apart(body: &mut SetExpr) {
        let select = match body {
            SetExpr::Select(select) => select,
            SetExpr::SetOperation { left, right, .. } => {
                tell_apart(left);
                tell_apart(right);
                return;
            }
            _ => return,
        };
        let mut seen: Vec<String> = Vec::new();
        for (i, item) in select.projection.iter_mut().enumerate() {
            let key = match item {
                SelectItem::UnnamedExpr(
                    e @ (Expr::Identifier(_) | Expr::CompoundIdentifier(_)),
                ) => figure_colname(e),
                SelectItem::UnnamedExpr(e) => e.to_string(),
                SelectItem::ExprWithAlias { alias, .. } => normalize(alias),
                _ => continue,
            };
            if !seen.contains(&key) {
                seen.push(key);
                continue;
            }
            match item {
                SelectItem::UnnamedExpr(expr) => {
                    let name = format!("{}{NAME_SUFFIX_MARK}{i}", figure_colname(expr));
                    *item = SelectItem::ExprWithAlias {
                        expr: std::mem::replace(expr, Expr::value(Value::Null)),
                        alias: Ident::with_quote('"', name),
                    };
                }
                SelectItem::ExprWithAlias { alias, .. } => {
                    *alias = Ident::with_quote(
                        '"',
                        format!("{}{NAME_SUFFIX_MARK}{i}", normalize(alias)),
                    );
                }
                _ => {}
            }
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Repeated);
}

pub(super) fn leftmost_select(body: &mut SetExpr) -> Option<&mut ast::Select> {
    match body {
        SetExpr::Select(select) => Some(select),
        SetExpr::Query(q) => leftmost_select(&mut q.body),
        SetExpr::SetOperation { left, .. } => leftmost_select(left),
        _ => None,
    }
}

pub(super) fn normalize(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

pub(super) const UNNAMED: &str = "?column?";

/// PostgreSQL's rules for naming a result column (FigureColname in its parser).
pub fn figure_colname(expr: &Expr) -> String {
    figure(expr).map_or_else(|| UNNAMED.to_string(), |(name, _)| name)
}

/// How sure a name is, as PostgreSQL ranks them: a column or function name
/// (2) beats a type or keyword name (1), so `x::text` is `x` but
/// `1.5::float8::text` is `text` and `CASE … ELSE salary END` is `salary`.
pub(super) type Strength = u8;

pub(super) const STRONG: Strength = 2;

pub(super) const WEAK: Strength = 1;

pub(super) fn figure(expr: &Expr) -> Option<(String, Strength)> {
    let strong = |name: &str| Some((name.to_string(), STRONG));
    match expr {
        Expr::Identifier(id) => Some((normalize(id), STRONG)),
        Expr::CompoundIdentifier(ids) => Some((normalize(ids.last()?), STRONG)),
        Expr::Function(f) => {
            let last = f.name.0.last()?;
            let name = match last.as_ident() {
                Some(id) => normalize(id),
                None => last.to_string().to_lowercase(),
            };
            // `regclass('t')` was the cast `'t'::regclass`, named as a cast.
            let strength = if name == "regclass" { WEAK } else { STRONG };
            Some((name, strength))
        }
        Expr::Cast {
            expr, data_type, ..
        } => match figure(expr) {
            Some(inner) if inner.1 > WEAK => Some(inner),
            _ => Some((type_name(data_type), WEAK)),
        },
        Expr::Nested(inner) => figure(inner),
        Expr::Collate { expr, .. } => figure(expr),
        Expr::Case { else_result, .. } => match else_result.as_deref().and_then(figure) {
            Some(inner) if inner.1 > WEAK => Some(inner),
            _ => Some(("case".into(), WEAK)),
        },
        Expr::Exists { .. } => strong("exists"),
        Expr::Array(_) => strong("array"),
        Expr::Subquery(q) => {
            let select = match q.body.as_ref() {
                SetExpr::Select(s) => s,
                _ => return None,
            };
            match select.projection.first()? {
                SelectItem::ExprWithAlias { alias, .. } => Some((normalize(alias), STRONG)),
                SelectItem::UnnamedExpr(e) => figure(e),
                _ => None,
            }
        }
        Expr::Extract { .. } => strong("extract"),
        Expr::Substring {
            shorthand: true, ..
        } => strong("substr"),
        Expr::Substring { .. } => strong("substring"),
        // `(d).grantee` is named after the field, `(ARRAY[…])[2]` after
        // what it subscripts.
        Expr::CompoundFieldAccess { root, access_chain } => match access_chain.last() {
            Some(ast::AccessExpr::Dot(Expr::Identifier(field))) => Some((normalize(field), STRONG)),
            _ => figure(root),
        },
        Expr::Trim { trim_where, .. } => strong(match trim_where {
            Some(ast::TrimWhereField::Leading) => "ltrim",
            Some(ast::TrimWhereField::Trailing) => "rtrim",
            _ => "btrim",
        }),
        Expr::Position { .. } => strong("position"),
        Expr::Overlay { .. } => strong("overlay"),
        Expr::Ceil { .. } => strong("ceil"),
        Expr::Floor { .. } => strong("floor"),
        Expr::AtTimeZone { .. } => strong("timezone"),
        // `INTERVAL '1 day'` and `DATE '…'` are casts of a string.
        Expr::Interval(_) => Some(("interval".into(), WEAK)),
        Expr::TypedString(ts) => Some((type_name(&ts.data_type), WEAK)),
        _ => None,
    }
}

/// The pg_type name PostgreSQL uses when a cast names a column (`'1'::int` → int4).
pub(super) fn type_name(ty: &ast::DataType) -> String {
    use ast::DataType as T;
    match ty {
        T::SmallInt(_) | T::Int2(_) => "int2",
        T::Int(_) | T::Integer(_) | T::Int4(_) => "int4",
        T::BigInt(_) | T::Int8(_) => "int8",
        T::Real | T::Float4 => "float4",
        T::DoublePrecision | T::Float8 | T::Double(_) | T::Float(_) => "float8",
        T::Numeric(_) | T::Decimal(_) | T::Dec(_) => "numeric",
        T::Text | T::String(_) => "text",
        T::Varchar(_) | T::CharacterVarying(_) | T::CharVarying(_) => "varchar",
        T::Char(_) | T::Character(_) => "bpchar",
        T::Boolean | T::Bool => "bool",
        T::Date => "date",
        T::Time(_, _) => "time",
        T::Timestamp(_, ast::TimezoneInfo::WithTimeZone | ast::TimezoneInfo::Tz) => "timestamptz",
        T::Timestamp(_, _) => "timestamp",
        T::Interval { .. } => "interval",
        T::Bytea => "bytea",
        T::Uuid => "uuid",
        T::JSON => "json",
        T::JSONB => "jsonb",
        T::Regclass => "regclass",
        // An array is named after its elements' type (`'{1}'::int[]` is `int4`).
        T::Array(ast::ArrayElemTypeDef::SquareBracket(element, _))
        | T::Array(ast::ArrayElemTypeDef::AngleBracket(element)) => return type_name(element),
        T::Custom(name, _) => {
            return match name.0.last() {
                Some(ast::ObjectNamePart::Identifier(last)) => normalize(last),
                _ => name.to_string().to_lowercase(),
            };
        }
        _ => return UNNAMED.to_string(),
    }
    .to_string()
}

/// A set-returning function of one column in FROM names its column as
/// PostgreSQL does: after the alias (`FROM generate_series(1, 3) AS g` has
/// a column `g`), else after the function (`generate_series`, `unnest`).
/// DataFusion calls it `value` or after the whole expression. The
/// set-returning pattern functions (`regexp_split_to_table`) become the
/// unnesting of their arrays.
pub(super) fn function_columns_named(stmt: &mut Statement) {
    struct Named;
    impl ast::VisitorMut for Named {
        type Break = ();
        fn pre_visit_table_factor(
            &mut self,
            factor: &mut ast::TableFactor,
        ) -> std::ops::ControlFlow<()> {
            // `LATERAL f(…)` is the same call as `f(…)`: every function in
            // FROM may read the columns of the items before it.
            if let ast::TableFactor::Function {
                name,
                args,
                with_ordinality,
                alias,
                ..
            } = factor
            {
                let arrays: Option<Vec<Expr>> = args
                    .iter()
                    .map(|a| match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e.clone()),
                        _ => None,
                    })
                    .collect();
                *factor = match arrays {
                    Some(array_exprs) if object_name_last(name) == "unnest" => {
                        ast::TableFactor::UNNEST {
                            alias: alias.take(),
                            array_exprs,
                            with_offset: false,
                            with_offset_alias: None,
                            with_ordinality: *with_ordinality,
                        }
                    }
                    _ => ast::TableFactor::Table {
                        name: name.clone(),
                        alias: alias.take(),
                        args: Some(ast::TableFunctionArgs {
                            args: std::mem::take(args),
                            settings: None,
                        }),
                        with_hints: vec![],
                        version: None,
                        with_ordinality: *with_ordinality,
                        partitions: vec![],
                        json_path: None,
                        sample: None,
                        index_hints: vec![],
                    },
                };
            }
            // DataFusion plans an UNNEST's `ARRAY[…]` without the columns
            // of the items before it (42703 for `unnest(array[t.a, t.b])`);
            // `make_array(…)` is the same array and sees them.
            if let ast::TableFactor::UNNEST { array_exprs, .. } = factor {
                for array in array_exprs.iter_mut() {
                    if let Expr::Array(ast::Array { elem, .. }) = array
                        && !elem.is_empty()
                    {
                        *array = super::catalog::call("make_array", std::mem::take(elem));
                    }
                }
            }
            if let Some(each) = json_each_unnested(factor) {
                *factor = each;
                return std::ops::ControlFlow::Continue(());
            }
            let (function, alias) = match factor {
                ast::TableFactor::Table {
                    name,
                    args: Some(_),
                    alias,
                    ..
                } if name.0.len() == 1 => {
                    let function = name.to_string().to_ascii_lowercase();
                    if !matches!(
                        function.as_str(),
                        "generate_series"
                            | "generate_subscripts"
                            | "regexp_matches"
                            | "regexp_split_to_table"
                    ) && crate::json::functions::set_returning_array(&function).is_none()
                    {
                        return std::ops::ControlFlow::Continue(());
                    }
                    (function, alias)
                }
                ast::TableFactor::UNNEST {
                    alias,
                    array_exprs,
                    with_offset: false,
                    with_ordinality: false,
                    ..
                } if array_exprs.len() == 1 => ("unnest".to_string(), alias),
                _ => return std::ops::ControlFlow::Continue(()),
            };
            // json's array elements come in a column named `value` (an OUT
            // parameter), whatever the alias.
            let named_value = function.contains("_array_elements");
            match alias {
                Some(alias) if alias.columns.is_empty() => {
                    let column = match named_value {
                        true => Ident::new("value"),
                        false => alias.name.clone(),
                    };
                    alias.columns = vec![ast::TableAliasColumnDef {
                        name: column,
                        data_type: None,
                    }];
                }
                Some(_) => {}
                None => {
                    let column = if named_value { "value" } else { &function };
                    *alias = Some(ast::TableAlias {
                        explicit: true,
                        name: Ident::new(&function),
                        columns: vec![ast::TableAliasColumnDef::from_name(column)],
                        at: None,
                    });
                }
            }
            // The set-returning functions that return arrays are unnested;
            // generate_series is a table function of its own when its
            // arguments are constants (its rows then stream).
            if let ast::TableFactor::Table {
                name,
                args: Some(args),
                alias,
                with_ordinality: false,
                ..
            } = factor
                && (function != "generate_series" || !constant_arguments(&args.args))
                && let Some(array) = set_returning_pattern_array(
                    name,
                    &ast::FunctionArguments::List(ast::FunctionArgumentList {
                        duplicate_treatment: None,
                        args: args.args.clone(),
                        clauses: vec![],
                    }),
                )
            {
                *factor = ast::TableFactor::UNNEST {
                    alias: alias.take(),
                    array_exprs: vec![array],
                    with_offset: false,
                    with_offset_alias: None,
                    with_ordinality: false,
                };
            }
            if let ast::TableFactor::Table {
                args: Some(args), ..
            } = factor
                && function == "generate_series"
            {
                datetime_casts_as_input_calls(&mut args.args);
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Named);
}

/// Whether a table function's arguments are constants DataFusion folds
/// before calling it: no column references, no subqueries, and no string
/// literals (DataFusion folds their casts with Arrow's parser, not
/// PostgreSQL's input rules, and a bare one's type is the function's to
/// decide).
pub(super) fn constant_arguments(args: &[ast::FunctionArg]) -> bool {
    args.iter().all(|arg| {
        let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(expr)) = arg else {
            return false;
        };
        if datetime_text(expr).is_some() {
            return true;
        }
        ast::visit_expressions(expr, |e| match e {
            Expr::Identifier(_)
            | Expr::CompoundIdentifier(_)
            | Expr::Subquery(_)
            | Expr::Exists { .. }
            | Expr::InSubquery { .. }
            | Expr::TypedString { .. } => std::ops::ControlFlow::Break(()),
            Expr::Value(v) if !matches!(v.value, Value::Number(..) | Value::Null) => {
                std::ops::ControlFlow::Break(())
            }
            _ => std::ops::ControlFlow::Continue(()),
        })
        .is_continue()
    })
}

/// The text and type of `'…'::timestamp` (or date, timestamptz, interval),
/// possibly parenthesized.
fn datetime_text(expr: &Expr) -> Option<(&Expr, &ast::DataType)> {
    let mut bare = expr;
    while let Expr::Nested(inner) = bare {
        bare = inner;
    }
    match bare {
        Expr::Cast {
            expr, data_type, ..
        } if matches!(&**expr, Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_)))
            && matches!(
                data_type,
                ast::DataType::Timestamp(..)
                    | ast::DataType::Date
                    | ast::DataType::Datetime(_)
                    | ast::DataType::Interval { .. }
            ) =>
        {
            Some((expr, data_type))
        }
        _ => None,
    }
}

/// A table function's `'…'::timestamp` and `'…'::interval` arguments as
/// calls of the input functions: DataFusion folds a cast of a constant with Arrow's parser
/// before the function sees it (and refuses `'2020-01-01 00:00'`), where a
/// cast elsewhere reads the text as PostgreSQL does.
pub(super) fn datetime_casts_as_input_calls(args: &mut [ast::FunctionArg]) {
    for arg in args {
        if let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(expr)) = arg
            && let Some((text, data_type)) = datetime_text(expr)
        {
            let null_of_type = Expr::Cast {
                kind: ast::CastKind::Cast,
                expr: Box::new(Expr::value(Value::Null)),
                data_type: data_type.clone(),
                array: false,
                format: None,
            };
            *expr = match data_type {
                ast::DataType::Interval { .. } => {
                    super::catalog::call(crate::rewrite::INTERVAL_IN, vec![text.clone()])
                }
                _ => super::catalog::call(
                    crate::rewrite::TIMESTAMP_IN,
                    vec![text.clone(), null_of_type],
                ),
            };
        }
    }
}

/// `DELETE FROM t AS a WHERE a.x = 1`: DataFusion plans a DELETE against its
/// table's own name and drops the alias, so `a.x` named nothing (42703).
/// References through the alias (in WHERE and RETURNING) become references
/// through the table's name, and the alias goes.
pub(super) fn delete_alias_as_table(stmt: &mut Statement) {
    let Statement::Delete(delete) = stmt else {
        return;
    };
    let (ast::FromTable::WithFromKeyword(from) | ast::FromTable::WithoutKeyword(from)) =
        &mut delete.from;
    let [
        ast::TableWithJoins {
            relation: ast::TableFactor::Table { name, alias, .. },
            joins,
        },
    ] = from.as_mut_slice()
    else {
        return;
    };
    if !joins.is_empty() {
        return;
    }
    let Some(given) = alias.take() else {
        return;
    };
    let alias_name = normalize(&given.name);
    let table: Vec<Ident> = name
        .0
        .iter()
        .filter_map(|p| p.as_ident().cloned())
        .collect();
    let through_table = |e: &mut Expr| {
        if let Expr::CompoundIdentifier(parts) = e
            && parts.len() == 2
            && normalize(&parts[0]) == alias_name
        {
            let column = parts[1].clone();
            *parts = table.iter().cloned().chain([column]).collect();
        }
        std::ops::ControlFlow::<()>::Continue(())
    };
    if let Some(selection) = &mut delete.selection {
        let _ = ast::visit_expressions_mut(selection, through_table);
    }
    for item in delete.returning.iter_mut().flatten() {
        if let ast::SelectItem::QualifiedWildcard(
            ast::SelectItemQualifiedWildcardKind::ObjectName(qualifier),
            _,
        ) = item
            && qualifier.0.len() == 1
            && qualifier.0[0]
                .as_ident()
                .is_some_and(|q| normalize(q) == alias_name)
        {
            *qualifier = name.clone();
        }
        let _ = ast::visit_expressions_mut(item, through_table);
    }
}

/// `json[b]_each[_text](j)` in FROM: the object's keys and values unnested
/// side by side, in columns named `key` and `value` (the function's OUT
/// parameters) unless the alias names them; WITH ORDINALITY adds
/// `ordinality`.
fn json_each_unnested(factor: &mut ast::TableFactor) -> Option<ast::TableFactor> {
    let ast::TableFactor::Table {
        name,
        args: Some(args),
        alias,
        with_ordinality,
        ..
    } = factor
    else {
        return None;
    };
    let function = name.to_string().to_ascii_lowercase();
    if name.0.len() != 1
        || !matches!(
            function.as_str(),
            "json_each" | "jsonb_each" | "json_each_text" | "jsonb_each_text"
        )
    {
        return None;
    }
    let [argument] = args.args.as_slice() else {
        return None;
    };
    let keys = parse_expr(&format!("pg_{function}_keys({argument})"))?;
    let values = parse_expr(&format!("pg_{function}_values({argument})"))?;
    let mut alias = alias.take().unwrap_or_else(|| ast::TableAlias {
        explicit: true,
        name: Ident::new(&function),
        columns: vec![],
        at: None,
    });
    if alias.columns.is_empty() {
        let names: &[&str] = match with_ordinality {
            true => &["key", "value", "ordinality"],
            false => &["key", "value"],
        };
        alias.columns = names
            .iter()
            .map(|n| ast::TableAliasColumnDef::from_name(*n))
            .collect();
    }
    let unnest = ast::TableFactor::UNNEST {
        alias: Some(alias),
        array_exprs: vec![keys, values],
        with_offset: false,
        with_offset_alias: None,
        with_ordinality: *with_ordinality,
    };
    if function.ends_with("_text") {
        return Some(unnest);
    }
    // The values leave their arrays as text: typed json/jsonb again, in a
    // lateral subquery over the unnested columns.
    let ast::TableFactor::UNNEST {
        alias: Some(alias), ..
    } = &unnest
    else {
        return None;
    };
    let typed = function.trim_end_matches("_each");
    let names: Vec<String> = alias.columns.iter().map(|c| c.name.to_string()).collect();
    let list: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| match i {
            1 => format!("CAST({n} AS {typed}) AS {n}"),
            _ => n.clone(),
        })
        .collect();
    let Ok(Statement::Query(subquery)) =
        parse_one(&format!("SELECT {} FROM {unnest}", list.join(", ")))
    else {
        return None;
    };
    let outer = ast::TableAlias {
        explicit: true,
        name: alias.name.clone(),
        columns: vec![],
        at: None,
    };
    Some(ast::TableFactor::Derived {
        lateral: true,
        subquery,
        alias: Some(outer),
        sample: None,
    })
}
