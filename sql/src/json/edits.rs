//! What jsonb's operators and functions make of values: `||`, `-`,
//! `jsonb_set`, `json[b]_strip_nulls`, `jsonb_pretty`.

use datafusion::error::Result;
use enishi_storage::json::{Kind, Node};

use super::types::coded;
use crate::error::Error;

/// `a || b` for jsonb: objects merge (b's members win), anything else is
/// concatenated as arrays (a non-array taken as an array of itself).
pub(super) fn concat(a: &Node, b: &Node) -> Node {
    match (&a.kind, &b.kind) {
        (Kind::Object(x), Kind::Object(y)) => {
            let mut members: Vec<(String, Node)> = x.clone();
            members.extend(y.iter().cloned());
            Node::built(Kind::Object(members))
        }
        _ => {
            let items = |n: &Node| match &n.kind {
                Kind::Array(items) => items.clone(),
                _ => vec![n.clone()],
            };
            let mut all = items(a);
            all.extend(items(b));
            Node::built(Kind::Array(all))
        }
    }
}

/// `a - key`, `a - keys`, `a - index`.
pub(super) fn delete(a: &Node, keys: &[String], by_index: bool) -> Result<Node> {
    match &a.kind {
        Kind::Object(_) if by_index => Err(coded(
            "22023",
            "cannot delete from object using integer index",
        )),
        Kind::Object(members) => Ok(Node::built(Kind::Object(
            members
                .iter()
                .filter(|(k, _)| !keys.contains(k))
                .cloned()
                .collect(),
        ))),
        Kind::Array(items) if by_index => {
            let index: i64 = keys
                .first()
                .and_then(|k| k.parse().ok())
                .unwrap_or(i64::MAX);
            let at = if index < 0 {
                items.len() as i64 + index
            } else {
                index
            };
            Ok(Node::built(Kind::Array(
                items
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i as i64 != at)
                    .map(|(_, n)| n.clone())
                    .collect(),
            )))
        }
        Kind::Array(items) => Ok(Node::built(Kind::Array(
            items
                .iter()
                .filter(|n| !matches!(&n.kind, Kind::String(s) if keys.contains(s)))
                .cloned()
                .collect(),
        ))),
        _ => Err(coded("22023", "cannot delete from scalar")),
    }
}

/// `jsonb_set`: replaces (or, when `create`, adds) the value at `path`.
pub(super) fn set(node: &mut Node, path: &[String], new: &Node, create: bool) -> Result<()> {
    let Some((step, rest)) = path.split_first() else {
        *node = new.clone();
        return Ok(());
    };
    node.span = 0..0;
    match &mut node.kind {
        Kind::Object(members) => {
            // jsonb keeps the last of repeated keys; so does the change.
            match members.iter_mut().rev().find(|(k, _)| k == step) {
                Some((_, value)) => set(value, rest, new, create)?,
                None if create && rest.is_empty() => members.push((step.clone(), new.clone())),
                None => {}
            }
        }
        Kind::Array(items) => {
            let index: i64 = step.trim().parse().map_err(|_| {
                Error::InvalidTextRepresentation(format!(
                    "path element at position {} is not an integer: \"{step}\"",
                    1
                ))
            })?;
            let len = items.len() as i64;
            let at = if index < 0 { len + index } else { index };
            if (0..len).contains(&at) {
                set(&mut items[at as usize], rest, new, create)?;
            } else if create && rest.is_empty() {
                if at < 0 {
                    items.insert(0, new.clone());
                } else {
                    items.push(new.clone());
                }
            }
        }
        _ => return Err(coded("22023", "cannot set path in scalar")),
    }
    Ok(())
}

pub(super) fn strip_nulls(node: &Node) -> Node {
    match &node.kind {
        Kind::Object(members) => Node::built(Kind::Object(
            members
                .iter()
                .filter(|(_, v)| v.kind != Kind::Null)
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        )),
        Kind::Array(items) => Node::built(Kind::Array(items.iter().map(strip_nulls).collect())),
        _ => node.clone(),
    }
}

/// json's form of a built value: members in their order, no spaces.
pub(super) fn compact(node: &Node) -> String {
    match &node.kind {
        Kind::Object(members) => {
            let inner: Vec<String> = members
                .iter()
                .map(|(k, v)| {
                    let mut key = String::new();
                    enishi_storage::json::write_string(k, &mut key);
                    format!("{key}:{}", compact(v))
                })
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Kind::Array(items) => {
            let inner: Vec<String> = items.iter().map(compact).collect();
            format!("[{}]", inner.join(","))
        }
        _ => node.jsonb(),
    }
}

/// `jsonb_pretty`: four spaces an indent, as PostgreSQL writes it.
pub(super) fn pretty(node: &Node, depth: usize, out: &mut String) {
    let indent = |n: usize| "    ".repeat(n);
    match &node.kind {
        Kind::Object(_) if node.jsonb_members().is_empty() => {
            out.push_str(&format!("{{\n{}}}", indent(depth)));
        }
        Kind::Array(items) if items.is_empty() => {
            out.push_str(&format!("[\n{}]", indent(depth)));
        }
        Kind::Object(_) => {
            out.push_str("{\n");
            let members = node.jsonb_members();
            for (i, (key, value)) in members.iter().enumerate() {
                out.push_str(&indent(depth + 1));
                enishi_storage::json::write_string(key, out);
                out.push_str(": ");
                pretty(value, depth + 1, out);
                if i + 1 < members.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&indent(depth));
            out.push('}');
        }
        Kind::Array(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&indent(depth + 1));
                pretty(item, depth + 1, out);
                if i + 1 < items.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&indent(depth));
            out.push(']');
        }
        _ => out.push_str(&node.jsonb()),
    }
}
