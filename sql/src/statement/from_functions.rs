//! Set-returning and catalog functions PostgreSQL allows where DataFusion
//! has none: `pg_partition_ancestors`, functions in FROM (`aclexplode`,
//! `pg_show_all_settings`, array functions).

use super::*;

/// `pg_partition_ancestors(rel)` in a select list: the partitioned tables a
/// partition belongs to, itself included; no rows for a relation that is no
/// partition, which every Enishi relation is (psql's `\d` asks). In FROM,
/// see [`functions_in_from`].
pub(super) fn partition_ancestors_empty(stmt: &mut Statement) {
    fn is_ancestors(name: &ast::ObjectName) -> bool {
        object_name_last(name) == "pg_partition_ancestors"
    }
    struct Ancestors;
    impl ast::VisitorMut for Ancestors {
        type Break = ();
        fn pre_visit_select(&mut self, select: &mut ast::Select) -> std::ops::ControlFlow<()> {
            let mut found = false;
            for item in &mut select.projection {
                if let ast::SelectItem::UnnamedExpr(e)
                | ast::SelectItem::ExprWithAlias { expr: e, .. } = item
                    && let Expr::Function(f) = e
                    && is_ancestors(&f.name)
                    && let Some(null) = parse_expr("CAST(NULL AS INT)")
                {
                    *e = null;
                    found = true;
                }
            }
            if found {
                let never = Expr::value(Value::Boolean(false));
                select.selection = Some(match select.selection.take() {
                    Some(condition) => Expr::BinaryOp {
                        left: Box::new(Expr::Nested(Box::new(condition))),
                        op: ast::BinaryOperator::And,
                        right: Box::new(never),
                    },
                    None => never,
                });
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Ancestors);
}

/// `unnest(a, …) WITH ORDINALITY`, which DataFusion does not plan, as
/// `unnest(a, …, range(1, n + 1))` with n the longest array's length: the
/// arrays are zipped, so the last column counts their elements from 1. The
/// columns are named as PostgreSQL names them (the alias for a single
/// array, then `ordinality`) unless the alias names them.
fn unnest_ordinality_counted(arrays: &mut Vec<Expr>, alias: &mut Option<ast::TableAlias>) {
    let lengths: Vec<String> = arrays.iter().map(|a| format!("cardinality({a})")).collect();
    let longest = match lengths.as_slice() {
        [one] => one.clone(),
        many => format!("greatest({})", many.join(", ")),
    };
    let Some(counter) = parse_expr(&format!("range(1, CAST({longest} AS BIGINT) + 1)")) else {
        return;
    };
    let alias = alias.get_or_insert_with(|| ast::TableAlias {
        explicit: true,
        name: Ident::new("unnest"),
        columns: vec![],
        at: None,
    });
    if alias.columns.is_empty() {
        // PostgreSQL calls every array's column `unnest`; here names are
        // unique, so the second is `unnest_2` and so on.
        let element = |i: usize| match (arrays.len(), i) {
            (1, _) => normalize(&alias.name),
            (_, 0) => "unnest".to_string(),
            (_, i) => format!("unnest_{}", i + 1),
        };
        alias.columns = (0..arrays.len())
            .map(|i| ast::TableAliasColumnDef::from_name(element(i)))
            .chain([ast::TableAliasColumnDef::from_name("ordinality")])
            .collect();
    }
    arrays.push(counter);
}

/// Functions called in FROM that DataFusion has no table function for,
/// read as PostgreSQL reads them:
/// - `pg_settings`, the view PostgreSQL defines over
///   `pg_show_all_settings()`, is that function: the session's parameters;
/// - `pg_partition_ancestors(rel)` has no rows (no relation is a
///   partition), with ordinality as asked (psql's `\d`);
/// - a function that returns one value (`FROM string_to_array(…) s`, as
///   Grafana reads the search_path) is a relation of one row whose column is
///   named after the alias. Only the array and setting functions are read so;
///   others stay table functions.
pub(super) fn functions_in_from(stmt: &mut Statement) {
    fn is_scalar(name: &str) -> bool {
        matches!(
            name,
            "string_to_array" | "regexp_split_to_array" | "current_schemas" | "current_setting"
        ) || name.starts_with("array_")
    }
    fn derived(sql: &str, alias: Option<ast::TableAlias>) -> Option<ast::TableFactor> {
        let Ok(Statement::Query(subquery)) = parse_one(sql) else {
            return None;
        };
        Some(ast::TableFactor::Derived {
            lateral: false,
            subquery,
            alias,
            sample: None,
        })
    }
    struct Functions;
    impl ast::VisitorMut for Functions {
        type Break = ();
        fn pre_visit_table_factor(
            &mut self,
            factor: &mut ast::TableFactor,
        ) -> std::ops::ControlFlow<()> {
            if let ast::TableFactor::UNNEST {
                alias,
                array_exprs,
                with_ordinality: ordinality @ true,
                ..
            } = factor
            {
                unnest_ordinality_counted(array_exprs, alias);
                *ordinality = false;
                return std::ops::ControlFlow::Continue(());
            }
            // pg_settings is the session's parameters, pg_show_all_settings().
            if let ast::TableFactor::Table {
                name,
                args: call @ None,
                alias,
                ..
            } = factor
                && object_name_last(name) == "pg_settings"
                && match name.0.as_slice() {
                    [_] => true,
                    [schema, _] => schema.to_string().eq_ignore_ascii_case("pg_catalog"),
                    _ => false,
                }
            {
                *name = ast::ObjectName::from(vec![Ident::new("pg_show_all_settings")]);
                *call = Some(ast::TableFunctionArgs {
                    args: vec![],
                    settings: None,
                });
                alias.get_or_insert_with(|| ast::TableAlias {
                    explicit: true,
                    name: Ident::new("pg_settings"),
                    columns: vec![],
                    at: None,
                });
                return std::ops::ControlFlow::Continue(());
            }
            let ast::TableFactor::Table {
                name,
                args: call @ Some(_),
                alias,
                with_ordinality,
                ..
            } = factor
            else {
                return std::ops::ControlFlow::Continue(());
            };
            let function = object_name_last(name);
            let arguments = call.as_ref().map_or(Vec::new(), |a| a.args.clone());
            let replacement = match function.as_str() {
                "pg_show_all_settings" if arguments.is_empty() => {
                    *name = ast::ObjectName::from(vec![Ident::new("pg_show_all_settings")]);
                    None
                }
                "pg_partition_ancestors" => {
                    let ordinality = match with_ordinality {
                        true => ", CAST(NULL AS BIGINT) AS ordinality",
                        false => "",
                    };
                    derived(
                        &format!("SELECT CAST(NULL AS INT) AS relid{ordinality} WHERE false"),
                        alias.take(),
                    )
                }
                // Each privilege of an ACL, a row of its own (pgAdmin lists
                // `aclexplode(relacl) d` beside the relation it reads).
                "aclexplode" if arguments.len() == 1 && !*with_ordinality => {
                    let alias = alias.take().unwrap_or_else(|| ast::TableAlias {
                        explicit: true,
                        name: Ident::new("aclexplode"),
                        columns: vec![],
                        at: None,
                    });
                    let fields = ["grantor", "grantee", "privilege_type", "is_grantable"]
                        .map(|f| format!("get_field(item, '{f}') AS {f}"))
                        .join(", ");
                    derived(
                        &format!(
                            "SELECT {fields} FROM (SELECT unnest(pg_acl_items({})) AS item) items",
                            arguments[0]
                        ),
                        Some(alias),
                    )
                    .map(|mut lateral| {
                        if let ast::TableFactor::Derived { lateral: l, .. } = &mut lateral {
                            *l = true;
                        }
                        lateral
                    })
                }
                scalar if is_scalar(scalar) && !*with_ordinality => {
                    let column = alias
                        .as_ref()
                        .map_or_else(|| function.clone(), |a| normalize(&a.name));
                    let arguments = arguments
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ");
                    let alias = alias.take().unwrap_or_else(|| ast::TableAlias {
                        explicit: true,
                        name: Ident::new(column.clone()),
                        columns: vec![],
                        at: None,
                    });
                    let column = Ident::with_quote('"', column);
                    derived(
                        &format!("SELECT {name}({arguments}) AS {column}"),
                        Some(alias),
                    )
                }
                _ => None,
            };
            if let Some(replacement) = replacement {
                *factor = replacement;
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let _ = ast::VisitMut::visit(stmt, &mut Functions);
}
