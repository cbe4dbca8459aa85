//! Rewrites for the catalog queries clients send: regclass and regtype
//! casts, descriptions, function signatures, settings, row_to_json and
//! ARRAY(subquery), as lookups DataFusion can plan.

use super::*;

/// Whether a cast is to `regclass` (or `pg_catalog.regclass`).
pub(super) fn is_regclass(data_type: &ast::DataType) -> bool {
    match data_type {
        ast::DataType::Regclass => true,
        ast::DataType::Custom(name, args) => {
            args.is_empty()
                && name
                    .0
                    .last()
                    .and_then(|p| p.as_ident())
                    .is_some_and(|i| i.value.eq_ignore_ascii_case("regclass"))
        }
        _ => false,
    }
}

/// `regclass(name)`: the OID `name::regclass` stands for.
pub(super) fn regclass_of(name: Expr) -> Expr {
    call("regclass", vec![name])
}

/// A call of the function `name` with plain arguments.
pub(super) fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(ast::Function {
        name: ast::ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: ast::FunctionArguments::None,
        args: ast::FunctionArguments::List(ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|e| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)))
                .collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

/// The `tableoid` system column of a relation named in a FROM clause
/// (`cls.tableoid`, as pgAdmin joins pg_depend with it) is the relation's own
/// OID; its `xmin` (pgAdmin reads a relation's) is the frozen transaction id,
/// 2, as every row here was committed before any snapshot. Neither is a column
/// of the relation, which `*` would list. Returns whether the select changed.
pub(super) fn table_oids_as_lookups(select: &mut ast::Select) -> bool {
    let mut relations: HashMap<String, String> = HashMap::new();
    for from in &select.from {
        let joined = std::iter::once(&from.relation).chain(from.joins.iter().map(|j| &j.relation));
        for factor in joined {
            if let ast::TableFactor::Table { name, alias, .. } = factor {
                let key = match alias {
                    Some(alias) => alias.name.value.to_lowercase(),
                    None => match name.0.last().and_then(|p| p.as_ident()) {
                        Some(ident) => ident.value.to_lowercase(),
                        None => continue,
                    },
                };
                relations.insert(key, name.to_string());
            }
        }
    }
    if relations.is_empty() {
        return false;
    }
    // Named after the column, as PostgreSQL names them.
    for item in &mut select.projection {
        if let ast::SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) = item
            && let [qualifier, column] = parts.as_slice()
            && ["tableoid", "xmin"].contains(&column.value.to_lowercase().as_str())
            && relations.contains_key(&qualifier.value.to_lowercase())
        {
            let alias = Ident::new(column.value.to_lowercase());
            *item = ast::SelectItem::ExprWithAlias {
                expr: Expr::CompoundIdentifier(parts.clone()),
                alias,
            };
        }
    }
    let mut changed = false;
    let _ = ast::visit_expressions_mut(select, |expr| {
        if let Expr::CompoundIdentifier(parts) = expr
            && let [qualifier, column] = parts.as_slice()
            && column.value.eq_ignore_ascii_case("tableoid")
            && let Some(name) = relations.get(&qualifier.value.to_lowercase())
        {
            *expr = regclass_of(Expr::value(Value::SingleQuotedString(name.clone())));
            changed = true;
        }
        if let Expr::CompoundIdentifier(parts) = expr
            && let [qualifier, column] = parts.as_slice()
            && column.value.eq_ignore_ascii_case("xmin")
            && relations.contains_key(&qualifier.value.to_lowercase())
            && let Some(frozen) = parse_expr("CAST(2 AS xid)")
        {
            *expr = frozen;
            changed = true;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    changed
}

/// An OID shown as regclass or regtype (`c.oid::regclass` as a column of
/// the result, or cast on to text) is the relation's or the type's name, as
/// PostgreSQL prints these types; compared, it stays the number it is.
pub(super) fn reverse_reg_casts_as_names(stmt: &mut Statement) {
    regtype_arrays_as_names(stmt);
    fn named(expr: &mut Expr) -> bool {
        // `to_regtype('int4')` is a regtype, shown as `integer`.
        if let Expr::Function(f) = expr
            && object_name_last(&f.name) == "to_regtype"
            && let Some(name) = parse_expr(&format!("format_type({expr}, NULL)"))
        {
            *expr = name;
            return true;
        }
        // `'t'::regclass`, looked up already (see scalar_subqueries_protected).
        if let Expr::Function(f) = expr
            && object_name_last(&f.name) == "regclass"
            && let Some(name) = parse_expr(&format!("regclass_name(CAST(({expr}) AS BIGINT))"))
        {
            *expr = name;
            return true;
        }
        let Expr::Cast {
            expr: inner,
            data_type,
            ..
        } = expr
        else {
            return false;
        };
        if matches!(inner.as_ref(), Expr::Value(_)) {
            return false;
        }
        let kind = match data_type {
            ast::DataType::Regclass => "regclass",
            ast::DataType::Custom(name, args) if args.is_empty() => {
                match object_name_last(name).as_str() {
                    "regclass" => "regclass",
                    "regtype" => "regtype",
                    _ => return false,
                }
            }
            _ => return false,
        };
        let function = match kind {
            "regclass" => format!("regclass_name(CAST(({inner}) AS BIGINT))"),
            _ => format!("format_type({inner}, NULL)"),
        };
        match parse_expr(&function) {
            Some(name) => {
                *expr = name;
                true
            }
            None => false,
        }
    }
    // Cast on to text, in a select list or a WHERE clause (in an ORDER BY,
    // DataFusion would find the select list's column of the same text
    // ambiguous).
    fn as_text(expr: &mut Expr) {
        let _ = ast::visit_expressions_mut(expr, |expr| {
            if let Expr::Cast {
                expr: inner,
                data_type:
                    ast::DataType::Text | ast::DataType::Varchar(_) | ast::DataType::CharacterVarying(_),
                ..
            } = expr
                && named(inner)
            {
                let name = std::mem::replace(inner.as_mut(), Expr::value(Value::Null));
                *expr = name;
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
    }
    struct Shown;
    impl ast::VisitorMut for Shown {
        type Break = ();
        fn pre_visit_select(&mut self, select: &mut ast::Select) -> std::ops::ControlFlow<()> {
            for item in &mut select.projection {
                if let ast::SelectItem::UnnamedExpr(e)
                | ast::SelectItem::ExprWithAlias { expr: e, .. } = item
                {
                    let column = match e {
                        Expr::Cast { expr: inner, .. } => match inner.as_ref() {
                            Expr::Identifier(name) => Some(normalize(name)),
                            Expr::CompoundIdentifier(parts) => parts.last().map(normalize),
                            _ => None,
                        },
                        _ => None,
                    };
                    let shown = named(e);
                    as_text(e);
                    // The name stays the column's (`c.oid::regclass AS oid`),
                    // but DataFusion must not take it for that column, which
                    // ORDER BY may read.
                    if shown
                        && let ast::SelectItem::ExprWithAlias { alias, .. } = item
                        && column == Some(normalize(alias))
                        && !alias.value.contains(NAME_SUFFIX_MARK)
                    {
                        alias.value = format!("{}{NAME_SUFFIX_MARK}name", alias.value);
                    }
                }
            }
            if let Some(selection) = &mut select.selection {
                as_text(selection);
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Shown);
}

/// `oids::regtype[]` (pgcli's `proargtypes::regtype[]`) is the types' names
/// wherever it stands: such arrays are shown or cast to `text[]`.
fn regtype_arrays_as_names(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Cast {
            expr: inner,
            data_type: ast::DataType::Array(element),
            ..
        } = expr
            && let ast::ArrayElemTypeDef::SquareBracket(ty, _)
            | ast::ArrayElemTypeDef::AngleBracket(ty) = element
            && let ast::DataType::Custom(name, args) = ty.as_ref()
            && args.is_empty()
            && object_name_last(name) == "regtype"
            && let Some(names) = parse_expr(&format!("regtype_names(CAST(({inner}) AS TEXT))"))
        {
            *expr = names;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// `to_regtype(name)`: the OID of the type called `name` (as in pg_type, or as
/// `format_type` spells it: `integer`, `character varying`), NULL when there is
/// none — read as a lookup in pg_type (`max`, so that no match is a NULL the
/// planner expects). psycopg (and so SQLAlchemy) asks it for `hstore` on every
/// connection.
pub(super) fn to_regtype_as_lookup(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Function(f) = expr
            && matches!(
                f.name.to_string().to_ascii_lowercase().as_str(),
                "to_regtype" | "pg_catalog.to_regtype"
            )
            && let ast::FunctionArguments::List(list) = &f.args
            && list.duplicate_treatment.is_none()
            && list.clauses.is_empty()
            && let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(name))] =
                list.args.as_slice()
            && let Ok(Statement::Query(lookup)) = parse_one(&format!(
                "SELECT max(oid) FROM pg_catalog.pg_type \
                 WHERE typname = ({name}) OR format_type(oid, NULL) = ({name})"
            ))
        {
            *expr = Expr::Subquery(lookup);
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// `obj_description(oid, 'catalog')`, `obj_description(oid)` and
/// `col_description(table, column)`: lookups in pg_description (PostgreSQL's
/// own descriptions and COMMENT ON texts). `max`, because (object, catalog,
/// column) identifies one description, and an aggregate is what the planner
/// can decorrelate whatever the argument.
pub(super) fn descriptions_as_lookups(stmt: &mut Statement) {
    fn catalog_oid(name: &str) -> Option<u32> {
        crate::system_tables::system_catalog_oid(name.trim_start_matches("pg_catalog."))
    }
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Function(f) = expr
            && let ast::FunctionArguments::List(list) = &f.args
            && list.duplicate_treatment.is_none()
            && list.clauses.is_empty()
        {
            let name = f.name.to_string().to_ascii_lowercase();
            let args: Vec<&Expr> = list
                .args
                .iter()
                .filter_map(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e),
                    _ => None,
                })
                .collect();
            if args.len() != list.args.len() {
                return std::ops::ControlFlow::Continue(());
            }
            let condition = match (name.trim_start_matches("pg_catalog."), args.as_slice()) {
                ("obj_description", [object]) => {
                    Some(format!("objoid = ({object}) AND objsubid = 0"))
                }
                ("obj_description", [object, catalog]) => {
                    let class = match catalog {
                        Expr::Value(v) => match &v.value {
                            Value::SingleQuotedString(c) => catalog_oid(c).map(|o| o.to_string()),
                            _ => None,
                        },
                        _ => None,
                    }
                    .unwrap_or_else(|| format!("({catalog})::regclass"));
                    Some(format!(
                        "objoid = ({object}) AND classoid = {class} AND objsubid = 0"
                    ))
                }
                ("col_description", [table, column]) => Some(format!(
                    "objoid = ({table}) AND classoid = 1259 AND objsubid = ({column})"
                )),
                _ => None,
            };
            if let Some(condition) = condition
                && let Ok(Statement::Query(lookup)) = parse_one(&format!(
                    "SELECT max(description) FROM pg_catalog.pg_description WHERE {condition}"
                ))
            {
                *expr = Expr::Subquery(lookup);
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// `pg_get_function_result(f)` and `pg_get_function_arguments(f)` (psql's
/// `\df`): lookups in pg_proc, the types as format_type names them. Argument
/// names and modes are not shown (PostgreSQL's built-ins rarely have them).
pub(super) fn function_signatures_as_lookups(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        if let Expr::Function(f) = expr
            && let ast::FunctionArguments::List(list) = &f.args
            && let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(function))] =
                list.args.as_slice()
        {
            let name = f.name.to_string().to_ascii_lowercase();
            let value = match name.trim_start_matches("pg_catalog.") {
                "pg_get_function_result" => Some(
                    "CASE WHEN __p.proretset THEN 'SETOF ' ELSE '' END \
                     || format_type(__p.prorettype, NULL)"
                        .to_string(),
                ),
                "pg_get_function_arguments" => Some(
                    "coalesce(array_to_string(array_transform(\
                     string_to_array(nullif(__p.proargtypes, ''), ' '), NULL), ', '), '')"
                        .to_string(),
                ),
                _ => None,
            };
            if let Some(value) = value
                && let Ok(Statement::Query(mut lookup)) = parse_one(&format!(
                    "SELECT {value} FROM pg_catalog.pg_proc __p WHERE __p.oid = ({function})"
                ))
            {
                // The lambda (`__t -> format_type(__t::int, NULL)`), which
                // PostgreSQL's syntax cannot spell.
                let _ = ast::visit_expressions_mut(lookup.as_mut(), |e| {
                    if let Expr::Function(call) = e
                        && call.name.to_string() == "array_transform"
                        && let ast::FunctionArguments::List(list) = &mut call.args
                        && let Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(second))) =
                            list.args.get_mut(1)
                        && let Some(body) = parse_expr("format_type(CAST(__t AS INT), NULL)")
                    {
                        *second = Expr::Lambda(ast::LambdaFunction {
                            params: ast::OneOrManyWithParens::One(ast::LambdaFunctionParameter {
                                name: ast::Ident::new("__t"),
                                data_type: None,
                            }),
                            body: Box::new(body),
                            syntax: ast::LambdaSyntax::Arrow,
                        });
                    }
                    std::ops::ControlFlow::<()>::Continue(())
                });
                *expr = Expr::Subquery(lookup);
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// `row_to_json(t)` of a derived table `t` whose columns the query names (as
/// pgAdmin's dashboard queries do): the JSON object of those columns, written
/// as row_to_json writes it.
pub(super) fn rows_to_json(stmt: &mut Statement) {
    struct Rows;
    impl ast::VisitorMut for Rows {
        type Break = ();
        fn pre_visit_select(&mut self, select: &mut ast::Select) -> std::ops::ControlFlow<()> {
            {
                let mut columns: HashMap<String, Vec<String>> = HashMap::new();
                for from in &select.from {
                    if let ast::TableFactor::Derived {
                        subquery,
                        alias: Some(alias),
                        ..
                    } = &from.relation
                        && let Some(names) = derived_columns(subquery, alias)
                    {
                        columns.insert(normalize(&alias.name), names);
                    }
                }
                if !columns.is_empty() {
                    for item in &mut select.projection {
                        let _ = ast::visit_expressions_mut(item, |expr| {
                            if let Some(object) = row_json(expr, &columns) {
                                *expr = object;
                            }
                            std::ops::ControlFlow::<()>::Continue(())
                        });
                    }
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Rows);
}

/// The column names of a derived table, when the query spells them.
pub(super) fn derived_columns(subquery: &Query, alias: &ast::TableAlias) -> Option<Vec<String>> {
    if !alias.columns.is_empty() {
        return Some(alias.columns.iter().map(|c| normalize(&c.name)).collect());
    }
    let SetExpr::Select(select) = subquery.body.as_ref() else {
        return None;
    };
    select
        .projection
        .iter()
        .map(|item| match item {
            ast::SelectItem::ExprWithAlias { alias, .. } => Some(normalize(alias)),
            ast::SelectItem::UnnamedExpr(Expr::Identifier(i)) => Some(normalize(i)),
            ast::SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => {
                parts.last().map(normalize)
            }
            _ => None,
        })
        .collect()
}

/// `pg_row_json('a', t."a", …)` for `row_to_json(t)`.
pub(super) fn row_json(expr: &Expr, columns: &HashMap<String, Vec<String>>) -> Option<Expr> {
    let Expr::Function(f) = expr else {
        return None;
    };
    if !f
        .name
        .to_string()
        .trim_start_matches("pg_catalog.")
        .eq_ignore_ascii_case("row_to_json")
    {
        return None;
    }
    let ast::FunctionArguments::List(list) = &f.args else {
        return None;
    };
    let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(Expr::Identifier(table)))] =
        list.args.as_slice()
    else {
        return None;
    };
    let names = columns.get(&normalize(table))?;
    let pairs: Vec<String> = names
        .iter()
        .map(|n| {
            format!(
                "'{}', {}.{}",
                n.replace('\'', "''"),
                Ident::with_quote('"', normalize(table)),
                Ident::with_quote('"', n)
            )
        })
        .collect();
    parse_expr(&format!(
        "{}({})",
        crate::functions::ROW_JSON,
        pairs.join(", ")
    ))
}

/// PostgreSQL spellings DataFusion reads otherwise:
/// - `(composite).field` is `get_field(composite, 'field')`;
/// - `information_schema._pg_expandarray(a)`, the set of `(x, n)` (element and
///   its position) that pgjdbc's getPrimaryKeys and getIndexInfo read, is
///   `unnest(pg_expandarray(a))`, and `aclexplode(acl)` likewise
///   `unnest(pg_acl_items(acl))`;
/// - `generate_subscripts(a, d)` is the unnested range of `a`'s subscripts
///   (SQLAlchemy orders index columns by it).
pub(super) fn fields_and_set_functions(stmt: &mut Statement) {
    let _ = ast::visit_expressions_mut(stmt, |expr| {
        let replacement = match expr {
            Expr::CompoundFieldAccess { root, access_chain }
                if matches!(root.as_ref(), Expr::Nested(_) | Expr::Function(_))
                    && access_chain
                        .iter()
                        .all(|a| matches!(a, ast::AccessExpr::Dot(Expr::Identifier(_)))) =>
            {
                let mut sql = root.to_string();
                for access in access_chain.iter() {
                    if let ast::AccessExpr::Dot(Expr::Identifier(field)) = access {
                        sql = format!("get_field({sql}, '{}')", normalize(field));
                    }
                }
                parse_expr(&sql)
            }
            // `(SELECT e)` without FROM is `e`, one row: when `e` holds a
            // subquery (pgAdmin wraps ARRAY(…) and array_to_string(ARRAY(…))
            // so), DataFusion would otherwise have to find that subquery's
            // outer columns two levels up, and it looks one level up only.
            Expr::Subquery(query) => match (query.body.as_ref(), &query.with) {
                (SetExpr::Select(select), None)
                    if select.from.is_empty()
                        && select.selection.is_none()
                        && select.distinct.is_none()
                        && select.having.is_none()
                        && matches!(&select.group_by, ast::GroupByExpr::Expressions(e, _) if e.is_empty())
                        && query.order_by.is_none()
                        && query.limit_clause.is_none() =>
                {
                    match select.projection.as_slice() {
                        [
                            ast::SelectItem::UnnamedExpr(inner)
                            | ast::SelectItem::ExprWithAlias { expr: inner, .. },
                        ] if holds_subquery(inner) => Some(match inner {
                            Expr::Subquery(_) => inner.clone(),
                            _ => Expr::Nested(Box::new(inner.clone())),
                        }),
                        _ => None,
                    }
                }
                _ => None,
            },
            // ARRAY(SELECT e FROM … ORDER BY o): the subquery aggregating its
            // values, `(SELECT array_agg(e ORDER BY o) FROM …)` (`{}` for no
            // rows), which the planner can decorrelate.
            Expr::Function(f)
                if f.name.to_string().eq_ignore_ascii_case("array")
                    && matches!(&f.args, ast::FunctionArguments::Subquery(_)) =>
            {
                let ast::FunctionArguments::Subquery(query) = &f.args else {
                    unreachable!()
                };
                array_of_set_operation(query).or_else(|| array_of_subquery(query))
            }
            Expr::Function(f) => {
                let name = f.name.to_string().to_ascii_lowercase();
                let args = match &f.args {
                    ast::FunctionArguments::List(list) if list.clauses.is_empty() => list
                        .args
                        .iter()
                        .map(|a| match a {
                            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e),
                            _ => None,
                        })
                        .collect::<Option<Vec<_>>>(),
                    _ => None,
                };
                match (name.as_str(), args.as_deref()) {
                    ("aclexplode" | "pg_catalog.aclexplode", Some([acl])) => {
                        parse_expr(&format!("unnest(pg_acl_items({acl}))"))
                    }
                    ("information_schema._pg_expandarray" | "_pg_expandarray", Some([array])) => {
                        parse_expr(&format!("unnest(pg_expandarray({array}))"))
                    }
                    (
                        "generate_subscripts" | "pg_catalog.generate_subscripts",
                        Some([array, dim]),
                    ) => parse_expr(&format!(
                        "unnest(range(1, CAST(coalesce(array_length({array}, {dim}), 0) AS BIGINT) + 1))"
                    )),
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(replacement) = replacement {
            *expr = replacement;
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// `ARRAY(SELECT unnest(a) EXCEPT SELECT unnest(b))` (and INTERSECT, UNION)
/// is `array_except(a, b)`: the distinct elements, each array NULL read as
/// empty, as unnest reads it (pgAdmin compares default privileges so).
fn array_of_set_operation(query: &ast::Query) -> Option<Expr> {
    let SetExpr::SetOperation {
        op,
        set_quantifier: ast::SetQuantifier::None | ast::SetQuantifier::Distinct,
        left,
        right,
    } = query.body.as_ref()
    else {
        return None;
    };
    let function = match op {
        ast::SetOperator::Except => "array_except",
        ast::SetOperator::Intersect => "array_intersect",
        ast::SetOperator::Union => "array_union",
        _ => return None,
    };
    let unnested = |side: &SetExpr| {
        let SetExpr::Select(select) = side else {
            return None;
        };
        if !select.from.is_empty() || select.selection.is_some() {
            return None;
        }
        let [
            ast::SelectItem::UnnamedExpr(Expr::Function(f))
            | ast::SelectItem::ExprWithAlias {
                expr: Expr::Function(f),
                ..
            },
        ] = select.projection.as_slice()
        else {
            return None;
        };
        let ast::FunctionArguments::List(list) = &f.args else {
            return None;
        };
        match (object_name_last(&f.name).as_str(), list.args.as_slice()) {
            ("unnest", [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(array))]) => {
                Some(format!("coalesce({array}, make_array())"))
            }
            _ => None,
        }
    };
    let (left, right) = (unnested(left)?, unnested(right)?);
    parse_expr(&format!("array_distinct({function}({left}, {right}))"))
}

/// `(SELECT array_agg(e ORDER BY …) FROM …)` for `ARRAY(SELECT e FROM … ORDER
/// BY …)`, when the subquery is a plain SELECT of one column.
pub(super) fn array_of_subquery(query: &ast::Query) -> Option<Expr> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    if query.limit_clause.is_some()
        || query.fetch.is_some()
        || select.distinct.is_some()
        || select.having.is_some()
        || !matches!(&select.group_by, ast::GroupByExpr::Expressions(e, _) if e.is_empty())
    {
        return None;
    }
    let [ast::SelectItem::UnnamedExpr(value) | ast::SelectItem::ExprWithAlias { expr: value, .. }] =
        select.projection.as_slice()
    else {
        return None;
    };
    // ARRAY(SELECT unnest(a)) is a itself (pgAdmin numbers index columns
    // with `ARRAY(SELECT generate_series(1, n))`, whose set-returning call
    // is an unnest by now), `{}` for NULL.
    if select.from.is_empty()
        && select.selection.is_none()
        && let Expr::Function(f) = value
        && object_name_last(&f.name) == "unnest"
        && let ast::FunctionArguments::List(list) = &f.args
        && let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(array))] = list.args.as_slice()
    {
        return parse_expr(&format!("coalesce({array}, make_array())"));
    }
    // ARRAY(SELECT e(x) FROM unnest(a) x): each element through e, which
    // psql's `\d+` asks of the table's options.
    if let [from] = select.from.as_slice()
        && query.with.is_none()
        && from.joins.is_empty()
        && select.selection.is_none()
        && query.order_by.is_none()
        && let ast::TableFactor::Table {
            name,
            args: Some(args),
            alias: Some(alias),
            ..
        } = &from.relation
        && object_name_last(name) == "unnest"
        && let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(array))] = args.args.as_slice()
    {
        let lambda = Expr::Lambda(ast::LambdaFunction {
            params: ast::OneOrManyWithParens::One(ast::LambdaFunctionParameter {
                name: alias.name.clone(),
                data_type: None,
            }),
            body: Box::new(value.clone()),
            syntax: ast::LambdaSyntax::Arrow,
        });
        let mut call = parse_expr(&format!("array_transform({array}, NULL)"))?;
        if let Expr::Function(f) = &mut call
            && let ast::FunctionArguments::List(list) = &mut f.args
            && let Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(second))) =
                list.args.get_mut(1)
        {
            *second = lambda;
        }
        return Some(call);
    }
    let order = match &query.order_by {
        Some(ast::OrderBy {
            kind: ast::OrderByKind::Expressions(items),
            ..
        }) if !items.is_empty() => format!(
            " ORDER BY {}",
            items
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => String::new(),
    };
    let mut aggregated = select.as_ref().clone();
    aggregated.projection = vec![ast::SelectItem::UnnamedExpr(parse_expr(&format!(
        "coalesce(array_agg({value}{order}), make_array())"
    ))?)];
    match &query.with {
        Some(with) => parse_expr(&format!("({with} {aggregated})")),
        None => parse_expr(&format!("({aggregated})")),
    }
}
