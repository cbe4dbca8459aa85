//! The layout of the code stays walkable: the modules of each engine crate
//! (`sql/src`, `storage/src`) import each other without cycles, and no
//! source file grows past ~800 lines unless its first lines say why
//! (a comment starting `Kept in one file:`).
//!
//! Imports are read as text: every `crate::a::b` path and every `super::`
//! path in a file names the module it reaches (the longest module path that
//! exists). A child module's own `mod` declarations are not imports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Longest file allowed without a stated reason.
const MAX_LINES: usize = 800;

/// Every `.rs` file under `dir`, by its module path (`session::access`).
fn modules(dir: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(dir).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            out.insert(parts, path);
        }
    }
    out
}

/// The code of a file without its plain comments and test modules, so that
/// a path in a test is not an import; doc comments count.
fn code_of(text: &str) -> String {
    // Doc comments stay: an intra-doc link (`[`crate::a`]`) ties modules too.
    let code = text
        .lines()
        .map(|line| match line.find("//") {
            Some(_) if line.trim_start().starts_with("///") => line,
            Some(_) if line.trim_start().starts_with("//!") => line,
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = String::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        // Skip the item the attribute is on, to its matching brace.
        let item = &rest[at..];
        let Some(open) = item.find('{') else {
            return out;
        };
        let close = matching_brace(&item[open + 1..]);
        rest = item.get(open + 1 + close + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// The module paths `code` (of module `me`) names: `crate::…` and `super::…`.
fn named_paths(me: &[String], code: &str) -> Vec<Vec<String>> {
    let bytes = code.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = Vec::new();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(found) = code[from..].find(start) {
            let at = from + found;
            from = at + start.len();
            if at > 0 && (word(bytes[at - 1]) || bytes[at - 1] == b':') {
                continue;
            }
            let mut base: Vec<String> = if start == "crate::" {
                Vec::new()
            } else {
                // `super` of a file module is its parent module.
                me[..me.len().saturating_sub(1)].to_vec()
            };
            let mut rest = &code[from..];
            while let Some(next) = rest.strip_prefix("super::") {
                base.pop();
                rest = next;
            }
            // `crate::a::{b, c::d}`: each branch is a path of its own.
            collect(&base, rest, &mut out);
        }
    }
    out
}

/// Adds the paths `text` starts with (after `base`) to `out`.
fn collect(base: &[String], text: &str, out: &mut Vec<Vec<String>>) {
    let mut path = base.to_vec();
    let mut rest = text;
    loop {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            if let Some(group) = rest.strip_prefix('{') {
                let end = matching_brace(group);
                for branch in split_top(&group[..end]) {
                    collect(&path, branch.trim(), out);
                }
            }
            break;
        }
        path.push(name.clone());
        rest = &rest[name.len()..];
        match rest.strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    out.push(path);
}

fn matching_brace(text: &str) -> usize {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    text.len()
}

fn split_top(text: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0, 0, Vec::new());
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// Which module each module imports from (itself, its ancestors' own
/// declarations of it, and paths outside the crate's files left out).
fn imports(dir: &Path) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let modules = modules(dir);
    let mut graph = BTreeMap::new();
    for (me, file) in &modules {
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        let mut targets = BTreeSet::new();
        for path in named_paths(me, &code) {
            // The longest prefix that is a module of the crate.
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains_key(p));
            if let Some(target) = target
                && target != *me
                && !target.is_empty()
            {
                targets.insert(target);
            }
        }
        graph.insert(me.clone(), targets);
    }
    graph
}

/// A cycle in `graph`, as the modules around it, if there is one.
fn cycle(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &Vec<String>,
        graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        marks: &mut BTreeMap<Vec<String>, Mark>,
        trail: &mut Vec<Vec<String>>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let at = trail.iter().position(|n| n == node).unwrap_or(0);
                let mut around: Vec<String> = trail[at..].iter().map(|n| n.join("::")).collect();
                around.push(node.join("::"));
                return Some(around);
            }
            None => {}
        }
        marks.insert(node.clone(), Mark::Open);
        trail.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, marks, trail) {
                return Some(found);
            }
        }
        trail.pop();
        marks.insert(node.clone(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if let Some(found) = visit(node, graph, &mut marks, &mut Vec::new()) {
            return Some(found);
        }
    }
    None
}

#[test]
fn the_engine_crates_import_without_cycles() {
    for crate_dir in ["sql/src", "storage/src"] {
        let graph = imports(&Path::new(ROOT).join(crate_dir));
        if let Some(around) = cycle(&graph) {
            panic!(
                "{crate_dir}: modules import each other in a cycle: {}",
                around.join(" -> ")
            );
        }
    }
}

#[test]
fn the_cycle_check_sees_crate_super_and_grouped_paths() {
    let me = vec!["session".to_string(), "ddl".to_string()];
    let code = "use crate::engine::{Engine, DATABASE};\nuse super::super::types::oid;\n\
                let x = crate::error::Error::Internal;\nuse crate::{tables::{a, b}, cache};";
    let paths: BTreeSet<String> = named_paths(&me, code)
        .into_iter()
        .map(|p| p.join("::"))
        .collect();
    for expected in [
        "engine::Engine",
        "engine::DATABASE",
        "types::oid",
        "error::Error::Internal",
        "tables::a",
        "tables::b",
        "cache",
    ] {
        assert!(paths.contains(expected), "{expected} not in {paths:?}");
    }
    let code = code_of(
        "use crate::a::x;\n#[cfg(test)]\nmod tests { use crate::b::y; fn f() { } }\nuse crate::c::z; // crate::d\n/// see [`crate::e`]",
    );
    let paths: Vec<String> = named_paths(&me, &code)
        .into_iter()
        .map(|p| p.join("::"))
        .collect();
    assert_eq!(paths, ["a::x", "c::z", "e"]);
    let graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = [
        (vec!["a".into()], [vec!["b".into()]].into()),
        (vec!["b".into()], [vec!["c".into()]].into()),
        (vec!["c".into()], [vec!["a".into()]].into()),
    ]
    .into();
    assert_eq!(cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
}

#[test]
fn long_files_say_why_they_are_kept_whole() {
    let mut long = Vec::new();
    for dir in ["src", "sql/src", "storage/src", "bench/src"] {
        for file in modules(&Path::new(ROOT).join(dir)).into_values() {
            let text = std::fs::read_to_string(&file).unwrap();
            let lines = text.lines().count();
            let says_why = text.lines().take(20).any(|l| {
                l.trim_start_matches(['/', '!', ' '])
                    .starts_with("Kept in one file:")
            });
            let name = file
                .strip_prefix(ROOT)
                .unwrap()
                .to_string_lossy()
                .trim_start_matches('/')
                .to_string();
            if lines > MAX_LINES && !says_why {
                long.push(format!("{name} ({lines} lines)"));
            }
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines without a `Kept in one file:` reason: {long:?}"
    );
}
