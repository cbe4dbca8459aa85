//! PostgreSQL's regular-expression functions, over its pattern syntax
//! ([`pattern`]): `regexp_like` (which the `~` family of operators and
//! `SIMILAR TO` call), `regexp_match`, `regexp_matches` (as an array of its
//! rows, unnested where it is called), `regexp_replace`, `regexp_count`,
//! `regexp_instr`, `regexp_substr`, `regexp_split_to_array` (and through it
//! `regexp_split_to_table`) and `similar_to_escape`. Positions count
//! characters from 1, as PostgreSQL's do.

mod pattern;
mod similar;

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayBuilder, ArrayRef, AsArray, BooleanBuilder, Int32Builder, ListBuilder,
    StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use fancy_regex::Regex;

use crate::error::Error;
use pattern::{Options, invalid};

/// The function that `regexp_matches(…)` becomes before it is unnested: all
/// its rows as one array.
pub const MATCHES_ARRAY: &str = "pg_regexp_matches";

/// `substring(text SIMILAR pattern ESCAPE escape)`, as a function of three
/// arguments.
pub const SUBSTRING_SIMILAR: &str = "substring_similar";

/// Every function of this module.
pub fn functions() -> Vec<ScalarUDF> {
    [
        Kind::Like,
        Kind::Match,
        Kind::Matches,
        Kind::Replace,
        Kind::Count,
        Kind::Instr,
        Kind::Substr,
        Kind::Split,
        Kind::SimilarToEscape,
        Kind::SubstringSimilar,
    ]
    .into_iter()
    .map(|kind| ScalarUDF::new_from_impl(RegexFunction::new(kind)))
    .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Like,
    Match,
    Matches,
    Replace,
    Count,
    Instr,
    Substr,
    Split,
    SimilarToEscape,
    SubstringSimilar,
}

/// What one argument position takes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Param {
    Text,
    Int,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Like => "regexp_like",
            Kind::Match => "regexp_match",
            Kind::Matches => MATCHES_ARRAY,
            Kind::Replace => "regexp_replace",
            Kind::Count => "regexp_count",
            Kind::Instr => "regexp_instr",
            Kind::Substr => "regexp_substr",
            Kind::Split => "regexp_split_to_array",
            Kind::SimilarToEscape => "similar_to_escape",
            Kind::SubstringSimilar => SUBSTRING_SIMILAR,
        }
    }

    /// The parameters, and how many of them are required.
    fn params(self) -> (&'static [Param], usize) {
        use Param::{Int, Text};
        match self {
            Kind::Like | Kind::Match | Kind::Matches | Kind::Split => (&[Text, Text, Text], 2),
            Kind::Replace => (&[Text, Text, Text, Int, Int, Text], 3),
            Kind::Count => (&[Text, Text, Int, Text], 2),
            Kind::Instr => (&[Text, Text, Int, Int, Int, Text, Int], 2),
            Kind::Substr => (&[Text, Text, Int, Int, Text, Int], 2),
            Kind::SimilarToEscape => (&[Text, Text], 1),
            Kind::SubstringSimilar => (&[Text, Text, Text], 3),
        }
    }

    fn output(self) -> DataType {
        let texts = || DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)));
        match self {
            Kind::Like => DataType::Boolean,
            Kind::Match | Kind::Split => texts(),
            Kind::Matches => DataType::List(Arc::new(Field::new_list_field(texts(), true))),
            Kind::Replace | Kind::Substr | Kind::SimilarToEscape | Kind::SubstringSimilar => {
                DataType::Utf8
            }
            Kind::Count | Kind::Instr => DataType::Int32,
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct RegexFunction {
    kind: Kind,
    signature: Signature,
}

impl RegexFunction {
    fn new(kind: Kind) -> Self {
        Self {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for RegexFunction {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let (params, required) = self.kind.params();
        if args.len() < required || args.len() > params.len() {
            return Err(Error::UndefinedFunction(format!(
                "function {}({}) does not exist",
                self.kind.name(),
                args.iter()
                    .map(|t| super::type_name(crate::types::pg_oid_for_arrow(t)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
        }
        Ok(args
            .iter()
            .enumerate()
            .map(|(i, t)| match (self.kind, i, t) {
                // regexp_replace(source, pattern, replacement, flags) and
                // regexp_replace(…, start): the fourth argument's type chooses.
                (Kind::Replace, 3, t) if args.len() == 4 && !t.is_integer() => DataType::Utf8,
                _ => match params[i] {
                    Param::Text => DataType::Utf8,
                    Param::Int => DataType::Int64,
                },
            })
            .collect())
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.kind.output())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let columns = super::argument_arrays(&args)?;
        let mut out = Output::new(self.kind);
        let mut values = Vec::with_capacity(columns.len());
        for row in 0..rows {
            values.clear();
            for column in &columns {
                values.push(Value::of(column, row)?);
            }
            if values.iter().any(|v| matches!(v, Value::Null)) {
                out.null();
                continue;
            }
            self.row(&values, &mut out)?;
        }
        super::shaped_like(&args.args, out.finish())
    }
}

/// One argument of one row.
enum Value<'a> {
    Null,
    Text(&'a str),
    Int(i64),
}

impl<'a> Value<'a> {
    fn of(column: &'a ArrayRef, row: usize) -> Result<Value<'a>> {
        if column.is_null(row) {
            return Ok(Value::Null);
        }
        Ok(match column.data_type() {
            DataType::Int64 => Value::Int(column.as_primitive::<Int64Type>().value(row)),
            _ => Value::Text(column.as_string::<i32>().value(row)),
        })
    }

    fn text(&self) -> &'a str {
        match self {
            Value::Text(t) => t,
            _ => "",
        }
    }

    fn int(&self) -> i64 {
        match self {
            Value::Int(i) => *i,
            _ => 0,
        }
    }
}

/// The column being built.
enum Output {
    Bool(BooleanBuilder),
    Text(StringBuilder),
    Int(Int32Builder),
    Texts(ListBuilder<StringBuilder>),
    TextArrays(ListBuilder<ListBuilder<StringBuilder>>),
}

impl Output {
    fn new(kind: Kind) -> Self {
        match kind.output() {
            DataType::Boolean => Output::Bool(BooleanBuilder::new()),
            DataType::Utf8 => Output::Text(StringBuilder::new()),
            DataType::Int32 => Output::Int(Int32Builder::new()),
            _ if kind == Kind::Matches => {
                Output::TextArrays(ListBuilder::new(ListBuilder::new(StringBuilder::new())))
            }
            _ => Output::Texts(ListBuilder::new(StringBuilder::new())),
        }
    }

    fn null(&mut self) {
        match self {
            Output::Bool(b) => b.append_null(),
            Output::Text(b) => b.append_null(),
            Output::Int(b) => b.append_null(),
            Output::Texts(b) => b.append_null(),
            Output::TextArrays(b) => b.append_null(),
        }
    }

    fn finish(mut self) -> ArrayRef {
        match &mut self {
            Output::Bool(b) => ArrayBuilder::finish(b),
            Output::Text(b) => ArrayBuilder::finish(b),
            Output::Int(b) => ArrayBuilder::finish(b),
            Output::Texts(b) => ArrayBuilder::finish(b),
            Output::TextArrays(b) => ArrayBuilder::finish(b),
        }
    }
}

/// Compiled patterns, shared by every session: a pattern is translated and
/// compiled once.
static COMPILED: LazyLock<moka::sync::Cache<(String, Options), Arc<Regex>>> =
    LazyLock::new(|| moka::sync::Cache::new(1024));

fn compile(pattern: &str, options: Options) -> Result<Arc<Regex>, Error> {
    let key = (pattern.to_string(), options);
    if let Some(regex) = COMPILED.get(&key) {
        return Ok(regex);
    }
    let translated = pattern::translate(pattern, options)?;
    let regex = fancy_regex::RegexBuilder::new(&translated)
        .build()
        .map_err(invalid)?;
    let regex = Arc::new(regex);
    COMPILED.insert(key, regex.clone());
    Ok(regex)
}

/// The byte ranges of one match: the whole match, then each group's (None
/// where the group took no part).
type Groups = Vec<Option<(usize, usize)>>;

/// The matches of `regex` in `text` from byte `start`, as PostgreSQL finds
/// them: only the first unless `global`; after an empty match the search
/// resumes one character on; with `skip_degenerate` (for splitting), empty
/// matches at either end of the text or right after a match are left out.
fn find(
    regex: &Regex,
    text: &str,
    start: usize,
    global: bool,
    skip_degenerate: bool,
) -> Result<Vec<Groups>, Error> {
    let mut found = Vec::new();
    let mut search = start;
    let mut previous_end = 0;
    while search <= text.len() {
        let captures = regex
            .captures_from_pos(text, search)
            .map_err(|e| Error::Coded {
                code: "54001",
                message: format!("regular expression is too complex: {e}"),
            })?;
        let Some(captures) = captures else { break };
        let whole = captures.get(0).expect("group 0");
        let (from, to) = (whole.start(), whole.end());
        if !skip_degenerate || (from < text.len() && to > previous_end) {
            found.push(
                (0..captures.len())
                    .map(|i| captures.get(i).map(|m| (m.start(), m.end())))
                    .collect(),
            );
        }
        previous_end = to;
        if !global {
            break;
        }
        search = to;
        if from == to {
            match text[to..].chars().next() {
                Some(c) => search += c.len_utf8(),
                None => break,
            }
        }
    }
    Ok(found)
}

/// The byte offset of character `position` (1-based) of `text`, or None past
/// its end.
fn byte_of(text: &str, position: i64) -> Option<usize> {
    let skip = usize::try_from(position - 1).ok()?;
    if skip == 0 {
        return Some(0);
    }
    match text.char_indices().nth(skip) {
        Some((b, _)) => Some(b),
        None if text.chars().count() == skip => Some(text.len()),
        None => None,
    }
}

/// The 1-based character position of byte `offset` of `text`.
fn position_of(text: &str, offset: usize) -> i32 {
    text[..offset].chars().count() as i32 + 1
}

fn parameter(name: &str, value: i64) -> Error {
    Error::InvalidParameterValue(format!("invalid value for parameter \"{name}\": {value}"))
}

/// A positive parameter (`start`, `n`), else 22023.
fn positive(name: &str, value: i64) -> Result<i64, Error> {
    if value <= 0 {
        return Err(parameter(name, value));
    }
    Ok(value)
}

impl RegexFunction {
    /// Computes one row whose arguments are all present.
    fn row(&self, values: &[Value], out: &mut Output) -> Result<()> {
        let text = values[0].text();
        let arg = |i: usize| values.get(i);
        let options = |i: usize, global: Option<&str>| {
            Options::parse(arg(i).map_or("", |v| v.text()), global)
        };
        match (self.kind, out) {
            (Kind::SimilarToEscape, Output::Text(b)) => {
                b.append_value(similar::to_regex(text, arg(1).map(|v| v.text()))?);
            }
            (Kind::SubstringSimilar, Output::Text(b)) => {
                let pattern = similar::substring_regex(values[1].text(), values[2].text())?;
                let regex = compile(&pattern, Options::default())?;
                // The part between the separators, else the whole match.
                match find(&regex, text, 0, false, false)?.first() {
                    Some(groups) => match groups.get(1).copied().flatten().or(groups[0]) {
                        Some((from, to)) => b.append_value(&text[from..to]),
                        None => b.append_null(),
                    },
                    None => b.append_null(),
                }
            }
            (Kind::Like, Output::Bool(b)) => {
                let regex = compile(values[1].text(), options(2, Some("regexp_like"))?)?;
                b.append_value(!find(&regex, text, 0, false, false)?.is_empty());
            }
            (Kind::Match, Output::Texts(b)) => {
                let regex = compile(values[1].text(), options(2, Some("regexp_match"))?)?;
                match find(&regex, text, 0, false, false)?.first() {
                    Some(groups) => append_groups(b, text, groups),
                    None => b.append_null(),
                }
            }
            (Kind::Matches, Output::TextArrays(b)) => {
                let options = options(2, None)?;
                let regex = compile(values[1].text(), options)?;
                for groups in find(&regex, text, 0, options.global, false)? {
                    append_groups(b.values(), text, &groups);
                }
                b.append(true);
            }
            (Kind::Split, Output::Texts(b)) => {
                let regex = compile(values[1].text(), options(2, Some("regexp_split_to_array"))?)?;
                let mut piece_start = 0;
                for groups in find(&regex, text, 0, true, true)? {
                    let (from, to) = groups[0].expect("group 0");
                    b.values().append_value(&text[piece_start..from]);
                    piece_start = to;
                }
                b.values().append_value(&text[piece_start..]);
                b.append(true);
            }
            (Kind::Replace, Output::Text(b)) => {
                // (…, flags), (…, start), (…, start, n), (…, start, n, flags).
                let flags_at = match values.len() {
                    4 if matches!(values[3], Value::Text(_)) => 3,
                    _ => 5,
                };
                let options = options(flags_at, None)?;
                let start = match values.get(3) {
                    Some(Value::Int(s)) => positive("start", *s)?,
                    _ => 1,
                };
                let n = match values.get(4) {
                    Some(Value::Int(n)) if *n < 0 => return Err(parameter("n", *n).into()),
                    Some(Value::Int(n)) => *n,
                    _ => i64::from(!options.global),
                };
                let regex = compile(values[1].text(), options)?;
                b.append_value(replace(&regex, text, values[2].text(), start, n)?);
            }
            (Kind::Count, Output::Int(b)) => {
                let start = positive("start", arg(2).map_or(1, |v| v.int()))?;
                let regex = compile(values[1].text(), options(3, Some("regexp_count"))?)?;
                let count = match byte_of(text, start) {
                    Some(from) => find(&regex, text, from, true, false)?.len(),
                    None => 0,
                };
                b.append_value(count as i32);
            }
            (Kind::Instr, Output::Int(b)) => {
                let start = positive("start", arg(2).map_or(1, |v| v.int()))?;
                let n = positive("n", arg(3).map_or(1, |v| v.int()))?;
                let end_option = arg(4).map_or(0, |v| v.int());
                if !(0..=1).contains(&end_option) {
                    return Err(parameter("endoption", end_option).into());
                }
                let regex = compile(values[1].text(), options(5, Some("regexp_instr"))?)?;
                let subexpr = arg(6).map_or(0, |v| v.int());
                if subexpr < 0 {
                    return Err(parameter("subexpr", subexpr).into());
                }
                let found = nth_group(&regex, text, start, n, subexpr)?;
                b.append_value(match found {
                    Some((from, _)) if end_option == 0 => position_of(text, from),
                    Some((_, to)) => position_of(text, to),
                    None => 0,
                });
            }
            (Kind::Substr, Output::Text(b)) => {
                let start = positive("start", arg(2).map_or(1, |v| v.int()))?;
                let n = positive("n", arg(3).map_or(1, |v| v.int()))?;
                let regex = compile(values[1].text(), options(4, Some("regexp_substr"))?)?;
                let subexpr = arg(5).map_or(0, |v| v.int());
                if subexpr < 0 {
                    return Err(parameter("subexpr", subexpr).into());
                }
                match nth_group(&regex, text, start, n, subexpr)? {
                    Some((from, to)) => b.append_value(&text[from..to]),
                    None => b.append_null(),
                }
            }
            _ => unreachable!("each kind builds its own output"),
        }
        Ok(())
    }
}

/// `regexp_match`'s array for one match: its groups, or the whole match
/// when the pattern has none.
fn append_groups(b: &mut ListBuilder<StringBuilder>, text: &str, groups: &Groups) {
    let wanted = if groups.len() > 1 {
        &groups[1..]
    } else {
        &groups[..1]
    };
    for group in wanted {
        match group {
            Some((from, to)) => b.values().append_value(&text[*from..*to]),
            None => b.values().append_null(),
        }
    }
    b.append(true);
}

/// Group `subexpr` (0: the whole match) of the `n`th match from character
/// `start`.
fn nth_group(
    regex: &Regex,
    text: &str,
    start: i64,
    n: i64,
    subexpr: i64,
) -> Result<Option<(usize, usize)>, Error> {
    let Some(from) = byte_of(text, start) else {
        return Ok(None);
    };
    let found = find(regex, text, from, true, false)?;
    Ok(found
        .get(usize::try_from(n - 1).unwrap_or(usize::MAX))
        .and_then(|groups| groups.get(subexpr as usize).copied().flatten()))
}

/// `regexp_replace`: the `n`th match from character `start` replaced (every
/// one when `n` is 0). In the replacement `\1`…`\9` stand for a group, `\&`
/// for the whole match and `\\` for a backslash.
fn replace(regex: &Regex, text: &str, replacement: &str, start: i64, n: i64) -> Result<String> {
    let Some(from) = byte_of(text, start) else {
        return Ok(text.to_string());
    };
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (i, groups) in find(regex, text, from, true, false)?.iter().enumerate() {
        if n > 0 && (i as i64) + 1 != n {
            continue;
        }
        let (match_from, match_to) = groups[0].expect("group 0");
        out.push_str(&text[copied..match_from]);
        let mut chars = replacement.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.peek().copied() {
                Some(d @ '1'..='9') => {
                    chars.next();
                    let group = d.to_digit(10).expect("digit") as usize;
                    if let Some(Some((a, b))) = groups.get(group) {
                        out.push_str(&text[*a..*b]);
                    }
                }
                Some('&') => {
                    chars.next();
                    out.push_str(&text[match_from..match_to]);
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            }
        }
        copied = match_to;
        if n > 0 {
            break;
        }
    }
    out.push_str(&text[copied..]);
    Ok(out)
}
