//! `char(n)` as PostgreSQL treats it: its trailing blanks are padding, not
//! part of the value. A `char(n)` column's values are stored padded to `n`
//! (and shown so), but compared without the padding (`c = 'a'` holds for
//! `'a   '`), measured without it (`length`), and joined (`||`) and listed
//! (`IN`) without it. `LIKE` sees the padding, as in PostgreSQL.
//!
//! Casts are left alone: the storage's own write plans cast padded values
//! to the stored type, and must keep the padding. (So `c::text` keeps it,
//! where PostgreSQL's drops it.)

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::Result as DfResult;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::logical_expr::expr::{InList, ScalarFunction};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{BinaryExpr, Expr, ExprSchemable, LogicalPlan, Operator, lit};
use datafusion::optimizer::AnalyzerRule;

use crate::types::{PG_TYPE_OID_KEY, oid};

/// Strips the padding of `char(n)` values wherever PostgreSQL ignores it.
#[derive(Debug, Default)]
pub struct BlankPadded;

fn text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
}

impl AnalyzerRule for BlankPadded {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> DfResult<LogicalPlan> {
        let rtrim = datafusion::functions::string::rtrim();
        let unpadded = |e: Expr| {
            Expr::ScalarFunction(ScalarFunction::new_udf(rtrim.clone(), vec![e, lit(" ")]))
        };
        plan.transform_up_with_subqueries(|node| {
            let schema = super::input_schema(&node);
            let padded = |e: &Expr| e.to_field(&schema).is_ok_and(|(_, f)| blank_padded(&f));
            let literal = |e: &Expr| matches!(e, Expr::Literal(v, _) if text(&v.data_type()));
            let names = NamePreserver::new(&node);
            node.map_expressions(|expr| {
                let name = names.save(&expr);
                let rewritten = expr.transform_up(|e| match e {
                    Expr::BinaryExpr(BinaryExpr { left, op, right })
                        if (super::is_comparison(op) || op == Operator::StringConcat)
                            && (padded(&left) || padded(&right)) =>
                    {
                        // A literal beside char(n) is read as char(n) too.
                        let compared = super::is_comparison(op);
                        let strip = |side: Expr| {
                            if padded(&side) || (compared && literal(&side)) {
                                unpadded(side)
                            } else {
                                side
                            }
                        };
                        Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr {
                            left: Box::new(strip(*left)),
                            op,
                            right: Box::new(strip(*right)),
                        })))
                    }
                    Expr::InList(list) if padded(&list.expr) => {
                        let strip = |e: Expr| if literal(&e) { unpadded(e) } else { e };
                        Ok(Transformed::yes(Expr::InList(InList {
                            expr: Box::new(unpadded(*list.expr)),
                            list: list.list.into_iter().map(strip).collect(),
                            negated: list.negated,
                        })))
                    }
                    Expr::ScalarFunction(f)
                        if measures(f.name()) && f.args.first().is_some_and(&padded) =>
                    {
                        let mut args = f.args;
                        let first = args.remove(0);
                        args.insert(0, unpadded(first));
                        Ok(Transformed::yes(Expr::ScalarFunction(ScalarFunction {
                            func: Arc::clone(&f.func),
                            args,
                        })))
                    }
                    other => Ok(Transformed::no(other)),
                })?;
                Ok(rewritten.update_data(|e| name.restore(e)))
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "enishi_blank_padded"
    }
}

/// Whether a field is declared `char(n)`.
fn blank_padded(field: &Field) -> bool {
    field.metadata().get(PG_TYPE_OID_KEY).map(String::as_str)
        == Some(oid::BPCHAR.to_string().as_str())
}

/// The functions that measure a string, which PostgreSQL applies to
/// `char(n)` without its padding.
fn measures(name: &str) -> bool {
    matches!(name, "length" | "char_length" | "character_length")
}
