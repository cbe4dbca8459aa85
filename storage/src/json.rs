//! JSON text read into a tree and written back as PostgreSQL writes `json`
//! and `jsonb`: the columns' input rules (see `codec`) and the SQL engine's
//! json operators and functions.
//!
//! A `json` value is its text: what an operator extracts from it is the
//! text of the member as written, so each node keeps its place in the
//! input. A `jsonb` value is written in jsonb's canonical form: object keys
//! sorted shorter first then bytewise, the last of repeated keys kept,
//! `", "` and `": "` between items, numbers as `numeric` prints them.

use std::ops::Range;

/// A parsed JSON value and where its text lies in the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub span: Range<usize>,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    /// The number's text as written.
    Number(String),
    String(String),
    Array(Vec<Node>),
    /// Members in the order written, repeated keys included.
    Object(Vec<(String, Node)>),
}

/// Why text is not JSON (PostgreSQL reports 22P02 with this message).
pub const INVALID: &str = "invalid input syntax for type json";

/// Reads JSON text.
pub fn parse(text: &str) -> Result<Node, String> {
    let mut reader = Reader {
        bytes: text.as_bytes(),
        text,
        at: 0,
    };
    let node = reader.value(0)?;
    reader.blank();
    if reader.at != text.len() {
        return Err(INVALID.into());
    }
    Ok(node)
}

struct Reader<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
}

/// PostgreSQL refuses JSON nested deeper than its stack allows; this bound
/// keeps the reader's recursion safe.
const MAX_DEPTH: usize = 6400;

impl Reader<'_> {
    fn blank(&mut self) {
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.at += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, String> {
        if depth > MAX_DEPTH {
            return Err("stack depth limit exceeded".into());
        }
        self.blank();
        let start = self.at;
        let kind = match self.bytes.get(self.at) {
            Some(b'{') => {
                self.at += 1;
                let mut members = Vec::new();
                self.blank();
                if self.bytes.get(self.at) == Some(&b'}') {
                    self.at += 1;
                } else {
                    loop {
                        self.blank();
                        if self.bytes.get(self.at) != Some(&b'"') {
                            return Err(INVALID.into());
                        }
                        let key = self.string()?;
                        self.blank();
                        if self.bytes.get(self.at) != Some(&b':') {
                            return Err(INVALID.into());
                        }
                        self.at += 1;
                        let value = self.value(depth + 1)?;
                        members.push((key, value));
                        self.blank();
                        match self.bytes.get(self.at) {
                            Some(b',') => self.at += 1,
                            Some(b'}') => {
                                self.at += 1;
                                break;
                            }
                            _ => return Err(INVALID.into()),
                        }
                    }
                }
                Kind::Object(members)
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                self.blank();
                if self.bytes.get(self.at) == Some(&b']') {
                    self.at += 1;
                } else {
                    loop {
                        items.push(self.value(depth + 1)?);
                        self.blank();
                        match self.bytes.get(self.at) {
                            Some(b',') => self.at += 1,
                            Some(b']') => {
                                self.at += 1;
                                break;
                            }
                            _ => return Err(INVALID.into()),
                        }
                    }
                }
                Kind::Array(items)
            }
            Some(b'"') => Kind::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => Kind::Number(self.number()?),
            _ => {
                let rest = &self.text[self.at..];
                let (word, kind) = [
                    ("true", Kind::Bool(true)),
                    ("false", Kind::Bool(false)),
                    ("null", Kind::Null),
                ]
                .into_iter()
                .find(|(w, _)| rest.starts_with(w))
                .ok_or_else(|| INVALID.to_string())?;
                self.at += word.len();
                if self
                    .bytes
                    .get(self.at)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
                {
                    return Err(INVALID.into());
                }
                kind
            }
        };
        Ok(Node {
            span: start..self.at,
            kind,
        })
    }

    fn number(&mut self) -> Result<String, String> {
        let start = self.at;
        let digits = |r: &mut Self| {
            let from = r.at;
            while r.bytes.get(r.at).is_some_and(u8::is_ascii_digit) {
                r.at += 1;
            }
            r.at - from
        };
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        let first = self.bytes.get(self.at).copied();
        let whole = digits(self);
        if whole == 0 || (first == Some(b'0') && whole > 1) {
            return Err(INVALID.into());
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            if digits(self) == 0 {
                return Err(INVALID.into());
            }
        }
        if matches!(self.bytes.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.bytes.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if digits(self) == 0 {
                return Err(INVALID.into());
            }
        }
        Ok(self.text[start..self.at].to_string())
    }

    fn string(&mut self) -> Result<String, String> {
        self.at += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.at..];
            let plain = rest
                .find(|c: char| c == '"' || c == '\\' || (c as u32) < 0x20)
                .ok_or_else(|| INVALID.to_string())?;
            out.push_str(&rest[..plain]);
            self.at += plain;
            match self.bytes[self.at] {
                b'"' => {
                    self.at += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.at += 1;
                    let escaped = self.bytes.get(self.at).copied();
                    self.at += 1;
                    match escaped {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => {
                            let unit = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&unit) {
                                if !self.text[self.at..].starts_with("\\u") {
                                    return Err(INVALID.into());
                                }
                                self.at += 2;
                                let low = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&low) {
                                    return Err(INVALID.into());
                                }
                                char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                            } else {
                                char::from_u32(unit)
                            };
                            match c {
                                Some('\0') => {
                                    return Err("unsupported Unicode escape sequence".into());
                                }
                                Some(c) => out.push(c),
                                None => return Err(INVALID.into()),
                            }
                        }
                        _ => return Err(INVALID.into()),
                    }
                }
                _ => return Err(INVALID.into()),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .ok_or_else(|| INVALID.to_string())?;
        self.at += 4;
        u32::from_str_radix(digits, 16).map_err(|_| INVALID.to_string())
    }
}

impl Node {
    /// A value built by a function rather than read (its text is jsonb's).
    pub fn built(kind: Kind) -> Self {
        Self { span: 0..0, kind }
    }

    /// The member `key` of an object (the last, when repeated).
    pub fn member(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Element `index` of an array, counted from the end when negative.
    pub fn element(&self, index: i64) -> Option<&Node> {
        match &self.kind {
            Kind::Array(items) => {
                let at = if index < 0 {
                    items.len().checked_sub(index.unsigned_abs() as usize)?
                } else {
                    index as usize
                };
                items.get(at)
            }
            _ => None,
        }
    }

    /// One step of a path (`#>`): a key of an object, an index of an array.
    pub fn step(&self, step: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Object(_) => self.member(step),
            Kind::Array(_) => self.element(step.trim().parse().ok()?),
            _ => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "boolean",
            Kind::Number(_) => "number",
            Kind::String(_) => "string",
            Kind::Array(_) => "array",
            Kind::Object(_) => "object",
        }
    }

    /// Members of an object as jsonb keeps them: sorted, each key once.
    pub fn jsonb_members(&self) -> Vec<(&str, &Node)> {
        let Kind::Object(members) = &self.kind else {
            return Vec::new();
        };
        let mut sorted: Vec<(&str, &Node)> = Vec::with_capacity(members.len());
        for (key, value) in members {
            match sorted.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => sorted.push((key, value)),
            }
        }
        sorted.sort_by(|a, b| (a.0.len(), a.0.as_bytes()).cmp(&(b.0.len(), b.0.as_bytes())));
        sorted
    }

    /// The value in jsonb's text form.
    pub fn jsonb(&self) -> String {
        let mut out = String::new();
        self.write_jsonb(&mut out);
        out
    }

    fn write_jsonb(&self, out: &mut String) {
        match &self.kind {
            Kind::Null => out.push_str("null"),
            Kind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Kind::Number(n) => out.push_str(&numeric_text(n)),
            Kind::String(s) => write_string(s, out),
            Kind::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write_jsonb(out);
                }
                out.push(']');
            }
            Kind::Object(_) => {
                out.push('{');
                for (i, (key, value)) in self.jsonb_members().into_iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_string(key, out);
                    out.push_str(": ");
                    value.write_jsonb(out);
                }
                out.push('}');
            }
        }
    }

    /// The value as `json` shows it: its text as read from `source`, or
    /// jsonb's form for a value built rather than read.
    pub fn json<'a>(&self, source: &'a str) -> std::borrow::Cow<'a, str> {
        if self.span.is_empty() {
            return std::borrow::Cow::Owned(self.jsonb());
        }
        std::borrow::Cow::Borrowed(&source[self.span.clone()])
    }

    /// jsonb equality: the same canonical value.
    pub fn same(&self, other: &Node) -> bool {
        self.jsonb() == other.jsonb()
    }

    /// jsonb containment (`@>`): every member of `other`'s objects is in
    /// this one's, every element of its arrays matches one of this one's;
    /// an array contains a scalar it holds at its top level.
    pub fn contains(&self, other: &Node) -> bool {
        match (&self.kind, &other.kind) {
            (Kind::Object(_), Kind::Object(wanted)) => wanted
                .iter()
                .all(|(key, value)| self.member(key).is_some_and(|have| have.contains(value))),
            (Kind::Array(items), Kind::Array(wanted)) => wanted.iter().all(|w| {
                items.iter().any(|have| match (&have.kind, &w.kind) {
                    (Kind::Array(_), Kind::Array(_)) | (Kind::Object(_), Kind::Object(_)) => {
                        have.contains(w)
                    }
                    (Kind::Array(_) | Kind::Object(_), _)
                    | (_, Kind::Array(_) | Kind::Object(_)) => false,
                    _ => have.same(w),
                })
            }),
            (Kind::Array(items), scalar) if !matches!(scalar, Kind::Object(_)) => {
                items.iter().any(|have| have.same(other))
            }
            (Kind::Array(_) | Kind::Object(_), _) | (_, Kind::Array(_) | Kind::Object(_)) => false,
            _ => self.same(other),
        }
    }

    /// Whether `key` is a key of this object, or a string element of this
    /// array (`?`).
    pub fn has_key(&self, key: &str) -> bool {
        match &self.kind {
            Kind::Object(members) => members.iter().any(|(k, _)| k == key),
            Kind::Array(items) => items
                .iter()
                .any(|i| matches!(&i.kind, Kind::String(s) if s == key)),
            Kind::String(s) => s == key,
            _ => false,
        }
    }
}

/// A JSON string literal of `text`, escaped as PostgreSQL escapes it.
pub fn write_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON number as `numeric` prints it: exponents written out
/// (`1e2` → `100`, `1.5E-1` → `0.15`), `-0` as `0`.
pub fn numeric_text(number: &str) -> String {
    let (mantissa, exponent) = match number.find(['e', 'E']) {
        Some(at) => (&number[..at], number[at + 1..].parse::<i64>().unwrap_or(0)),
        None => (number, 0),
    };
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    // The decimal point sits after `point` digits.
    let point = whole.len() as i64 + exponent;
    let scale = (fraction.len() as i64 - exponent).max(0) as usize;
    let (int_part, frac_part) = if point <= 0 {
        (
            "0".to_string(),
            format!("{}{digits}", "0".repeat(point.unsigned_abs() as usize)),
        )
    } else if point as usize >= digits.len() {
        (
            format!("{digits}{}", "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        (
            digits[..point as usize].to_string(),
            digits[point as usize..].to_string(),
        )
    };
    // The fraction has `scale` digits: `numeric`'s scale of the number.
    debug_assert_eq!(frac_part.len(), scale);
    let int_part = int_part.trim_start_matches('0');
    let int_part = if int_part.is_empty() { "0" } else { int_part };
    let zero = int_part == "0" && frac_part.chars().all(|c| c == '0');
    let sign = if negative && !zero { "-" } else { "" };
    match frac_part.is_empty() {
        true => format!("{sign}{int_part}"),
        false => format!("{sign}{int_part}.{frac_part}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonb_form_sorts_keys_and_keeps_the_last_repeat() {
        let node = parse(r#"{"bb": 1, "a": [1, 2.50, {"z":null}], "bb": "x\n"}"#).unwrap();
        assert_eq!(
            node.jsonb(),
            r#"{"a": [1, 2.50, {"z": null}], "bb": "x\n"}"#
        );
    }

    #[test]
    fn json_keeps_the_text_as_written() {
        let text = r#"{"a": {"y" :  1, "x":2}}"#;
        let node = parse(text).unwrap();
        assert_eq!(node.member("a").unwrap().json(text), r#"{"y" :  1, "x":2}"#);
    }

    #[test]
    fn numbers_print_as_numeric() {
        assert_eq!(numeric_text("1e2"), "100");
        assert_eq!(numeric_text("1.5E-1"), "0.15");
        assert_eq!(numeric_text("-0"), "0");
        assert_eq!(numeric_text("12.50"), "12.50");
        assert_eq!(numeric_text("-1.25e1"), "-12.5");
    }

    #[test]
    fn bad_text_is_refused() {
        for bad in ["", "{", "[1,]", "01", "tru", "{\"a\" 1}", "1 2", "\"\\x\""] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn containment_follows_jsonb() {
        let c = |a: &str, b: &str| parse(a).unwrap().contains(&parse(b).unwrap());
        assert!(c(r#"{"a": 1, "b": [1, 2]}"#, r#"{"b": [2]}"#));
        assert!(!c(r#"{"a": 1}"#, r#"{"a": 2}"#));
        assert!(c("[1, 2, [3]]", "[[3], 1]"));
        assert!(c("[1, 2]", "1"));
        assert!(!c("1", "[1]"));
    }
}
