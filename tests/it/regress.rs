//! PostgreSQL's own regression scripts, run statement by statement on a real
//! PostgreSQL 15 and on Enishi from the same starting state (`test_setup`
//! first), comparing for each statement what a client sees: the SQLSTATE, the
//! column names, the column type OIDs and the rows.
//!
//! The scripts come from Debian's source package of the installed
//! postgresql-15, which `scripts/test` unpacks into the cache and names in
//! `ENISHI_PG_REGRESS`. Statements that differ are listed in
//! `tests/oracle/regress_known.tsv` with the shape of Enishi's answer (its
//! SQLSTATE, or its column names, types and row count): a new difference, a
//! listed one whose shape changes, and a listed one that now agrees all fail the
//! test. `ENISHI_RECORD_KNOWN=1` records the list anew;
//! `ENISHI_REGRESS_REPORT=<file>` writes every difference there in full.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::SinkExt;
use tokio_postgres::{Client, Config, SimpleQueryMessage};

use crate::oracle::Postgres;
use crate::server::TestServer;

/// The scripts compared, in the order they run (after `test_setup`).
const SCRIPTS: &[&str] = &[
    "boolean",
    "int2",
    "int4",
    "int8",
    "float4",
    "float8",
    "numeric",
    "char",
    "varchar",
    "text",
    "strings",
    "regex",
    "case",
    "date",
    "time",
    "timestamp",
    "timestamptz",
    "interval",
    "select",
    "select_distinct",
    "subselect",
    "join",
    "limit",
];

/// How long one statement may run on either server (the scripts' own
/// statements take milliseconds on PostgreSQL).
const STATEMENT_TIMEOUT_MS: u64 = 10_000;

/// One step of a script as psql reads it.
#[derive(Debug, PartialEq)]
enum Step {
    Sql(String),
    /// A backslash command, as written (`\set x 'y'`, `\pset …`, `\d t`).
    Meta(String),
    /// `COPY … FROM stdin` and the data lines after it, up to `\.`.
    CopyIn {
        sql: String,
        data: String,
    },
}

/// Splits a script the way psql does: statements end at a semicolon outside
/// quotes, comments and parentheses; a backslash outside them starts a
/// command that runs to the end of its line. While the script has set
/// `standard_conforming_strings` off, a backslash escapes a quote in every
/// string, as psql reads it then.
fn split_script(text: &str) -> Vec<Step> {
    let chars: Vec<char> = text.chars().collect();
    let mut steps = Vec::new();
    let mut current = String::new();
    let mut depth = 0i32;
    let mut conforming = true;
    let mut i = 0;
    let flush = |current: &mut String, steps: &mut Vec<Step>| {
        let sql = current.trim();
        if !sql.is_empty() {
            steps.push(Step::Sql(sql.to_string()));
        }
        current.clear();
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '-' if next == Some('-') => {
                // A comment: dropped before a statement starts, kept inside one.
                let end = chars[i..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(chars.len(), |p| i + p);
                if !current.trim().is_empty() {
                    current.extend(&chars[i..end]);
                }
                i = end;
                continue;
            }
            '/' if next == Some('*') => {
                let mut nesting = 0;
                let start = i;
                while i < chars.len() {
                    if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                        nesting += 1;
                        i += 2;
                    } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        nesting -= 1;
                        i += 2;
                        if nesting == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                current.extend(&chars[start..i]);
                continue;
            }
            '\'' | '"' => {
                // E'…' strings escape with backslashes too.
                let unicode = i >= 2 && chars[i - 1] == '&' && matches!(chars[i - 2], 'u' | 'U');
                let escapes = c == '\''
                    && (!conforming && !unicode
                        || i > 0
                            && matches!(chars[i - 1], 'e' | 'E')
                            && (i < 2 || !chars[i - 2].is_alphanumeric() && chars[i - 2] != '_'));
                let start = i;
                i += 1;
                while i < chars.len() {
                    if escapes && chars[i] == '\\' {
                        i += 2;
                        continue;
                    }
                    if chars[i] == c {
                        if chars.get(i + 1) == Some(&c) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i = (i + 1).min(chars.len());
                current.extend(&chars[start..i]);
                continue;
            }
            '$' if dollar_tag(&chars, i).is_some() && !preceded_by_word(&chars, i) => {
                let tag = dollar_tag(&chars, i).expect("checked");
                let start = i;
                i += tag.len();
                while i < chars.len() && !chars[i..].starts_with(&tag) {
                    i += 1;
                }
                i = (i + tag.len()).min(chars.len());
                current.extend(&chars[start..i]);
                continue;
            }
            '(' => depth += 1,
            ')' => depth -= 1,
            ';' if depth <= 0 => {
                depth = 0;
                flush(&mut current, &mut steps);
                i += 1;
                if let Some(Step::Sql(sql)) = steps.last() {
                    conforming = conforming_strings_after(sql, conforming);
                }
                if let Some(Step::Sql(sql)) = steps.last()
                    && copies_from_stdin(sql)
                {
                    // The data starts on the next line and ends at a line `\.`.
                    let Some(Step::Sql(sql)) = steps.pop() else {
                        unreachable!()
                    };
                    let rest: String = chars[i..].iter().collect();
                    let after_line = rest.find('\n').map_or(rest.len(), |p| p + 1);
                    let body = &rest[after_line..];
                    let (data, consumed) = match body.find("\n\\.") {
                        Some(end) => (&body[..=end], end + 3),
                        None if body.starts_with("\\.") => ("", 2),
                        None => (body, body.len()),
                    };
                    steps.push(Step::CopyIn {
                        sql,
                        data: data.to_string(),
                    });
                    i += rest[..after_line + consumed].chars().count();
                }
                continue;
            }
            '\\' => {
                let end = chars[i..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(chars.len(), |p| i + p);
                let command: String = chars[i..end].iter().collect();
                // `\g` and its kin send the statement written so far.
                if command.starts_with("\\g") {
                    flush(&mut current, &mut steps);
                }
                steps.push(Step::Meta(command.trim().to_string()));
                i = end;
                continue;
            }
            _ => {}
        }
        current.push(c);
        i += 1;
    }
    flush(&mut current, &mut steps);
    steps
}

/// `$tag$` starting at `i`, as a run of characters.
fn dollar_tag(chars: &[char], i: usize) -> Option<Vec<char>> {
    let mut j = i + 1;
    while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
        j += 1;
    }
    (chars.get(j) == Some(&'$') && !chars[i + 1..j].first().is_some_and(char::is_ascii_digit))
        .then(|| chars[i..=j].to_vec())
}

fn copies_from_stdin(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase();
    upper.starts_with("COPY") && upper.contains("FROM STDIN")
}

fn preceded_by_word(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// psql's variables, as far as the scripts use them.
struct Variables {
    values: BTreeMap<String, String>,
}

impl Variables {
    fn new(regress: &Path) -> Self {
        let mut values = BTreeMap::new();
        values.insert("abs_srcdir".into(), regress.display().to_string());
        values.insert("libdir".into(), "/nonexistent".into());
        values.insert("dlsuffix".into(), ".so".into());
        Self { values }
    }

    /// Runs `\set` and `\getenv`; other commands (output formats, `\d`) show
    /// nothing a driver compares and are skipped.
    fn meta(&mut self, command: &str) {
        let words = meta_words(command);
        if let [set, name, parts @ ..] = words.as_slice()
            && set == "\\set"
        {
            let value = parts.iter().map(|p| self.word(p)).collect::<String>();
            self.values.insert(name.clone(), value);
        }
        // `\getenv` names the variables preset in `new`.
    }

    fn word(&self, word: &str) -> String {
        if let Some(name) = word.strip_prefix(':') {
            return self.values.get(name).cloned().unwrap_or_default();
        }
        match word.strip_prefix('\'').and_then(|w| w.strip_suffix('\'')) {
            Some(quoted) => quoted.replace("''", "'"),
            None => word.to_string(),
        }
    }

    /// Replaces `:'name'` (as a literal) and `:name` of the variables set.
    fn interpolate(&self, sql: &str) -> String {
        let mut out = sql.to_string();
        for (name, value) in &self.values {
            out = out.replace(
                &format!(":'{name}'"),
                &format!("'{}'", value.replace('\'', "''")),
            );
            let bare = format!(":{name}");
            let mut at = 0;
            while let Some(found) = out[at..].find(&bare) {
                let start = at + found;
                let end = start + bare.len();
                let before = out[..start].chars().last();
                let after = out[end..].chars().next();
                if before != Some(':') && !after.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    out.replace_range(start..end, value);
                    at = start + value.len();
                } else {
                    at = end;
                }
            }
        }
        out
    }
}

/// Whether strings conform to the standard (backslashes are ordinary) after
/// `sql` ran, given that they did before.
fn conforming_strings_after(sql: &str, before: bool) -> bool {
    let words: Vec<String> = sql
        .split(|c: char| c.is_whitespace() || c == '=' || c == '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    match words
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["reset", "standard_conforming_strings"] => true,
        ["set", "standard_conforming_strings", .., value] => {
            !matches!(*value, "off" | "false" | "0")
        }
        _ => before,
    }
}

/// The words of a backslash command: quoted parts stay whole, quotes kept.
fn meta_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in command.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// What a client sees of one statement.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Failed(String),
    Rows {
        columns: Vec<String>,
        types: Option<Vec<u32>>,
        rows: Vec<Vec<Option<String>>>,
    },
    Command,
}

impl Seen {
    /// What the list of known differences pins: the SQLSTATE, or the columns,
    /// their types and how many rows (values vary with the clock and random()).
    fn shape(&self) -> String {
        match self {
            Seen::Failed(code) => format!("error {code}"),
            Seen::Command => "ok".into(),
            Seen::Rows {
                columns,
                types,
                rows,
            } => format!(
                "rows {} columns [{}] types [{}]",
                rows.len(),
                columns.join(","),
                types.as_ref().map_or("?".into(), |t| t
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(","))
            ),
        }
    }
}

/// One side of the comparison: a server and its current connection.
struct Side {
    name: &'static str,
    config: Config,
    client: Client,
}

impl Side {
    async fn new(name: &'static str, mut config: Config) -> Self {
        config.options(format!("-c statement_timeout={STATEMENT_TIMEOUT_MS}"));
        let client = crate::server::connect(&config).await;
        Self {
            name,
            config,
            client,
        }
    }

    /// A fresh session, as each script starts with.
    async fn reconnect(&mut self) {
        self.client = crate::server::connect(&self.config).await;
    }

    async fn run(&mut self, sql: &str, copy_data: Option<&str>) -> Seen {
        let backstop = Duration::from_millis(3 * STATEMENT_TIMEOUT_MS);
        let answer = async {
            match copy_data {
                Some(data) => copy_in(&self.client, sql, data.as_bytes().to_vec()).await,
                None => observe(&self.client, sql).await,
            }
        };
        // tokio-postgres follows a COPY refused at Execute with a CopyFail and
        // a second Sync, whose ReadyForQuery it then takes for another
        // statement's: a fresh connection after such a refusal.
        let copying = copy_data.is_some() || copy_from_file(sql).is_some();
        match tokio::time::timeout(backstop, answer).await {
            Ok(seen) => {
                if copying && matches!(seen, Seen::Failed(_)) {
                    self.reconnect().await;
                } else if self.client.is_closed() {
                    eprintln!("{}: the connection closed after {sql:?}", self.name);
                    self.reconnect().await;
                }
                seen
            }
            Err(_) => {
                eprintln!("{}: no answer within {backstop:?} to {sql:?}", self.name);
                self.reconnect().await;
                Seen::Failed("timeout".into())
            }
        }
    }
}

async fn observe(client: &Client, sql: &str) -> Seen {
    if let Some((copy, path)) = copy_from_file(sql) {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return copy_in(client, &copy, data).await;
    }
    observe_query(client, sql).await
}

async fn copy_in(client: &Client, copy: &str, data: Vec<u8>) -> Seen {
    let sink = match client.copy_in(copy).await {
        Ok(sink) => sink,
        Err(e) => return Seen::Failed(code_of(&e)),
    };
    futures::pin_mut!(sink);
    if let Err(e) = sink.send(bytes::Bytes::from(data)).await {
        return Seen::Failed(code_of(&e));
    }
    match sink.finish().await {
        Ok(_) => Seen::Command,
        Err(e) => Seen::Failed(code_of(&e)),
    }
}

async fn observe_query(client: &Client, sql: &str) -> Seen {
    let types = match client.prepare(sql).await {
        Ok(statement) if !statement.columns().is_empty() => Some(
            statement
                .columns()
                .iter()
                .map(|c| c.type_().oid())
                .collect(),
        ),
        _ => None,
    };
    let messages = match client.simple_query(sql).await {
        Ok(messages) => messages,
        Err(e) => return Seen::Failed(code_of(&e)),
    };
    let mut seen = Seen::Command;
    for message in messages {
        match message {
            SimpleQueryMessage::RowDescription(columns) => {
                seen = Seen::Rows {
                    columns: columns.iter().map(|c| c.name().to_string()).collect(),
                    types: types.clone(),
                    rows: Vec::new(),
                };
            }
            SimpleQueryMessage::Row(row) => {
                if let Seen::Rows { rows, .. } = &mut seen {
                    rows.push(
                        (0..row.len())
                            .map(|i| row.get(i).map(str::to_string))
                            .collect(),
                    );
                }
            }
            _ => {}
        }
    }
    if let Seen::Rows { rows, .. } = &mut seen
        && !sql.to_ascii_uppercase().contains("ORDER BY")
    {
        rows.sort();
    }
    seen
}

fn code_of(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.code().code().to_string())
        .unwrap_or_else(|| "closed".into())
}

/// `COPY t FROM 'file'` of a file the scripts ship becomes `COPY t FROM STDIN`
/// with the file's contents, as psql's `\copy` sends it: the servers need not
/// read the test's files themselves.
fn copy_from_file(sql: &str) -> Option<(String, PathBuf)> {
    let upper = sql.to_ascii_uppercase();
    if !upper.trim_start().starts_with("COPY") {
        return None;
    }
    let from = upper.find(" FROM '")?;
    let path_start = from + " FROM '".len();
    let path_end = path_start + sql[path_start..].find('\'')?;
    let path = PathBuf::from(&sql[path_start..path_end]);
    path.is_file().then(|| {
        (
            format!("{} FROM STDIN{}", &sql[..from], &sql[path_end + 1..]),
            path,
        )
    })
}

fn regress_dir() -> PathBuf {
    let dir = std::env::var_os("ENISHI_PG_REGRESS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            home.join(".cache/enishi/pg-regress/15.18/src/test/regress")
        });
    assert!(
        dir.join("sql/test_setup.sql").is_file(),
        "PostgreSQL's regression scripts are not in {} (scripts/test unpacks them \
         from Debian's postgresql-15 source package and sets ENISHI_PG_REGRESS)",
        dir.display()
    );
    dir
}

fn known_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/regress_known.tsv")
}

/// `script:N<TAB>shape` per line: Enishi's answer to each statement known to differ.
fn known() -> BTreeMap<String, String> {
    std::fs::read_to_string(known_path())
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            Some((parts.next()?.to_string(), parts.next()?.to_string()))
        })
        .collect()
}

#[tokio::test]
async fn postgresql_regression_scripts_agree() {
    let regress = regress_dir();
    let postgres = Postgres::start();
    let mut enishi = TestServer::start();
    enishi.set_deadline(Duration::from_secs(3600));
    let mut pg_config = Config::new();
    pg_config
        .host("127.0.0.1")
        .port(postgres.port)
        .user("postgres")
        .dbname("postgres");
    let mut pg = Side::new("postgres", pg_config).await;
    let mut us = Side::new("enishi", enishi.config()).await;

    let known = known();
    let record = std::env::var("ENISHI_RECORD_KNOWN").is_ok_and(|v| v == "1");
    // Every difference in full (statement, both answers), for working through them.
    let report_path = std::env::var_os("ENISHI_REGRESS_REPORT");
    let mut report = String::new();
    let mut recorded = String::from(
        "# Statements of PostgreSQL's regression scripts (script:N, the Nth statement as\n\
         # tests/it/regress.rs splits it) where Enishi differs from PostgreSQL 15, with the\n\
         # shape of Enishi's answer. ENISHI_RECORD_KNOWN=1 rewrites it.\n",
    );
    let mut unexplained = Vec::new();
    let mut fixed = Vec::new();
    let mut changed = Vec::new();
    let mut summary = Vec::new();
    for script in std::iter::once("test_setup").chain(SCRIPTS.iter().copied()) {
        let path = regress.join("sql").join(format!("{script}.sql"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        pg.reconnect().await;
        us.reconnect().await;
        let mut variables = Variables::new(&regress);
        let (mut total, mut agreed) = (0, 0);
        for step in split_script(&text) {
            let (sql, copy_data) = match step {
                Step::Meta(command) => {
                    variables.meta(&command);
                    continue;
                }
                Step::Sql(sql) => (variables.interpolate(&sql), None),
                Step::CopyIn { sql, data } => (sql, Some(data)),
            };
            total += 1;
            let name = format!("{script}:{total}");
            let expected = pg.run(&sql, copy_data.as_deref()).await;
            let actual = us.run(&sql, copy_data.as_deref()).await;
            let same = expected == actual;
            if same {
                agreed += 1;
            } else {
                let shape = actual.shape();
                recorded.push_str(&format!("{name}\t{shape}\n"));
                report.push_str(&format!(
                    "{name} {sql}\n  postgres: {}\n  enishi:   {}\n",
                    shown(&expected, usize::MAX),
                    shown(&actual, usize::MAX)
                ));
                match known.get(&name) {
                    None => unexplained.push(format!(
                        "{name} {sql}\n  postgres: {}\n  enishi:   {}",
                        brief(&expected),
                        brief(&actual)
                    )),
                    Some(pinned) if *pinned != shape => changed.push(format!(
                        "{name} {sql}\n  recorded: {pinned}\n  now:      {}\n  postgres: {}",
                        brief(&actual),
                        brief(&expected)
                    )),
                    Some(_) => {}
                }
            }
            if same && known.contains_key(&name) {
                fixed.push(name);
            }
        }
        let rate = 100.0 * agreed as f64 / total.max(1) as f64;
        summary.push(format!(
            "{script:<16} {agreed:>4} of {total:>4} ({rate:5.1}%)"
        ));
    }
    eprintln!(
        "PostgreSQL's regression scripts, statements agreeing with PostgreSQL 15 \
         (SQLSTATE, column names, type OIDs, rows):\n{}",
        summary.join("\n")
    );
    if let Some(path) = report_path {
        std::fs::write(path, &report).unwrap();
    }
    if record {
        std::fs::write(known_path(), &recorded).unwrap();
        eprintln!("recorded the differences in {}", known_path().display());
        return;
    }
    let show = |list: &[String]| {
        list.iter()
            .take(400)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        unexplained.is_empty(),
        "{} statements differ from PostgreSQL and are not in {}:\n{}",
        unexplained.len(),
        known_path().display(),
        show(&unexplained)
    );
    assert!(
        changed.is_empty(),
        "{} listed statements changed their answer; if for the better, record it \
         (ENISHI_RECORD_KNOWN=1):\n{}",
        changed.len(),
        show(&changed)
    );
    assert!(
        fixed.is_empty(),
        "these now agree with PostgreSQL: record the list anew (ENISHI_RECORD_KNOWN=1): {fixed:?}"
    );
}

/// A short form of an answer for a failure message.
fn brief(seen: &Seen) -> String {
    shown(seen, 5)
}

/// An answer with at most `limit` of its rows.
fn shown(seen: &Seen, limit: usize) -> String {
    match seen {
        Seen::Rows {
            columns,
            types,
            rows,
        } => format!(
            "{columns:?} {types:?} {:?}{}",
            rows.iter().take(limit).collect::<Vec<_>>(),
            if rows.len() > limit { " …" } else { "" }
        ),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_split_as_psql_reads_them() {
        let steps = split_script(
            "-- a comment\nSELECT 'a;b', \"x;\" FROM t; -- trailing\n\
             \\set filename :abs_srcdir '/data/onek.data'\n\
             COPY onek FROM :'filename';\n\
             CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n\
             SELECT E'it\\'s;' /* a ; comment */, (SELECT 1; );\n\
             COPY t (a) FROM stdin;\n1\n2\n\\.\nSELECT 2;\n",
        );
        assert_eq!(
            steps,
            vec![
                Step::Sql("SELECT 'a;b', \"x;\" FROM t".into()),
                Step::Meta("\\set filename :abs_srcdir '/data/onek.data'".into()),
                Step::Sql("COPY onek FROM :'filename'".into()),
                Step::Sql("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql".into()),
                Step::Sql("SELECT E'it\\'s;' /* a ; comment */, (SELECT 1; )".into()),
                Step::CopyIn {
                    sql: "COPY t (a) FROM stdin".into(),
                    data: "1\n2\n".into()
                },
                Step::Sql("SELECT 2".into()),
            ]
        );
        // Without standard-conforming strings, \' escapes a quote anywhere.
        let steps = split_script(
            "SET standard_conforming_strings TO off;\nSELECT 'a\\';b';\n\
             RESET standard_conforming_strings;\nSELECT 'c\\';\n",
        );
        assert_eq!(
            steps,
            vec![
                Step::Sql("SET standard_conforming_strings TO off".into()),
                Step::Sql("SELECT 'a\\';b'".into()),
                Step::Sql("RESET standard_conforming_strings".into()),
                Step::Sql("SELECT 'c\\'".into()),
            ]
        );
        let mut variables = Variables::new(Path::new("/src"));
        variables.meta("\\set filename :abs_srcdir '/data/onek.data'");
        assert_eq!(
            variables.interpolate("COPY onek FROM :'filename'; SELECT 1::int"),
            "COPY onek FROM '/src/data/onek.data'; SELECT 1::int"
        );
    }
}
