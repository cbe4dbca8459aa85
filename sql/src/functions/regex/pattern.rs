//! PostgreSQL's regular expressions ("advanced" REs, as in `~` and the
//! `regexp_*` functions) translated for the fancy-regex engine, which has the
//! back references and lookaround constraints PostgreSQL's have.
//!
//! What differs between the two spellings is rewritten here: PostgreSQL's `.`
//! matches a newline unless a newline-sensitive option is given; `\m`, `\M`,
//! `\y`, `\Y`, `[[:<:]]` and `[[:>:]]` are word constraints; `\Z` is the end
//! of the string; `\B` is a backslash; a `[` inside a bracket expression is an
//! ordinary character; `{` not starting a bound is one too; an unknown escape
//! of a letter is an error. Options come from the flags argument and from a
//! leading `(?flags)` or `***=` / `***:` director.

use crate::error::Error;

/// How a pattern matches, from PostgreSQL's option letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Options {
    pub case_insensitive: bool,
    /// `.` and negated brackets do not match a newline (`n`, `p`).
    pub newline_stop: bool,
    /// `^` and `$` match at newlines too (`n`, `w`).
    pub newline_anchor: bool,
    /// Whitespace and `#` comments are ignored (`x`).
    pub expanded: bool,
    /// The whole pattern is a literal string (`q`).
    pub literal: bool,
    /// Every match, not only the first (`g`, where a function takes it).
    pub global: bool,
}

impl Options {
    /// The options a flags argument names; `function` is for the error a `g`
    /// draws where it is not accepted.
    pub fn parse(flags: &str, global_allowed: Option<&str>) -> Result<Options, Error> {
        let mut options = Options::default();
        for c in flags.chars() {
            match c {
                'g' => match global_allowed {
                    None => options.global = true,
                    Some(function) => {
                        return Err(Error::Coded {
                            code: "22023",
                            message: format!("{function}() does not support the \"global\" option"),
                        });
                    }
                },
                _ if options.apply(c) => {}
                _ => {
                    return Err(Error::Coded {
                        code: "22023",
                        message: format!("invalid regular expression option: \"{c}\""),
                    });
                }
            }
        }
        Ok(options)
    }

    /// Applies one option letter other than `g`; false when it is none.
    fn apply(&mut self, c: char) -> bool {
        match c {
            'i' => self.case_insensitive = true,
            'c' => self.case_insensitive = false,
            'n' | 'm' => (self.newline_stop, self.newline_anchor) = (true, true),
            's' => (self.newline_stop, self.newline_anchor) = (false, false),
            'p' => (self.newline_stop, self.newline_anchor) = (true, false),
            'w' => (self.newline_stop, self.newline_anchor) = (false, true),
            'x' => self.expanded = true,
            't' => self.expanded = false,
            'q' => self.literal = true,
            // Extended REs are advanced REs without the extensions; accepted
            // as advanced ones.
            'e' => {}
            _ => return false,
        }
        true
    }
}

/// A 2201B error about a pattern.
pub fn invalid(what: impl std::fmt::Display) -> Error {
    Error::Coded {
        code: "2201B",
        message: format!("invalid regular expression: {what}"),
    }
}

/// `pattern` under `options` in fancy-regex's syntax.
pub fn translate(pattern: &str, mut options: Options) -> Result<String, Error> {
    let mut body = pattern;
    if let Some(rest) = body.strip_prefix("***=") {
        options.literal = true;
        body = rest;
    } else if let Some(rest) = body.strip_prefix("***:") {
        body = rest;
    }
    if !options.literal
        && let Some(rest) = body.strip_prefix("(?")
        && let Some(end) = rest.find(')')
        && rest[..end].chars().all(|c| c.is_ascii_alphabetic())
    {
        for c in rest[..end].chars() {
            if c == 'b' || !options.apply(c) {
                return Err(invalid("invalid embedded option"));
            }
        }
        body = &rest[end + 1..];
    }
    let mut out = String::with_capacity(body.len() + 16);
    out.push_str("(?");
    if !options.newline_stop {
        out.push('s');
    }
    if options.newline_anchor {
        out.push('m');
    }
    if options.case_insensitive {
        out.push('i');
    }
    if options.expanded && !options.literal {
        out.push('x');
    }
    out.push(')');
    if out == "(?)" {
        out.clear();
    }
    if options.literal {
        for c in body.chars() {
            literal(c, &mut out);
        }
        return Ok(out);
    }
    Translator {
        chars: body.chars().collect(),
        at: 0,
        groups: 0,
        open: Vec::new(),
        options,
        out,
    }
    .run()
}

/// A character matched as itself.
fn literal(c: char, out: &mut String) {
    if c.is_alphanumeric() || c == '_' || (c as u32) > 0x7f {
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:x}}}", c as u32));
    }
}

struct Translator {
    chars: Vec<char>,
    at: usize,
    /// Capturing groups opened so far (a back reference names one of them).
    groups: usize,
    /// The open parentheses, true for a lookaround constraint's (where a
    /// back reference is not allowed).
    open: Vec<bool>,
    options: Options,
    out: String,
}

impl Translator {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        (self.at..)
            .zip(s.chars())
            .all(|(i, c)| self.chars.get(i) == Some(&c))
    }

    fn run(mut self) -> Result<String, Error> {
        while let Some(c) = self.peek(0) {
            self.at += 1;
            match c {
                '\\' => self.escape()?,
                '[' => self.bracket()?,
                '(' => {
                    if self.peek(0) == Some('?') {
                        let rest: String = self.chars[self.at..].iter().take(3).collect();
                        let known = ["?:", "?=", "?!", "?<=", "?<!"]
                            .into_iter()
                            .find(|p| rest.starts_with(p))
                            .ok_or_else(|| invalid("quantifier operand invalid"))?;
                        self.at += known.chars().count();
                        self.out.push('(');
                        self.out.push_str(known);
                        self.open.push(known != "?:");
                    } else {
                        self.groups += 1;
                        self.out.push('(');
                        self.open.push(false);
                    }
                }
                ')' => {
                    self.open.pop();
                    self.out.push(')');
                }
                '{' => {
                    if self.peek(0).is_some_and(|d| d.is_ascii_digit()) {
                        self.bound()?;
                    } else {
                        literal('{', &mut self.out);
                    }
                }
                '}' => literal('}', &mut self.out),
                '#' | ' ' | '\t' | '\n' | '\r' if !self.options.expanded => {
                    literal(c, &mut self.out)
                }
                '#' => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.at += 1;
                    }
                }
                '.' if self.options.newline_stop => self.out.push_str("[^\\n]"),
                '.' | '*' | '+' | '?' | '|' | '^' | '$' | ' ' | '\t' | '\n' | '\r' => {
                    self.out.push(c)
                }
                c => literal(c, &mut self.out),
            }
        }
        Ok(self.out)
    }

    /// `{m}`, `{m,}` or `{m,n}` after its `{`.
    fn bound(&mut self) -> Result<(), Error> {
        let mut text = String::from("{");
        while let Some(c) = self.peek(0) {
            self.at += 1;
            text.push(c);
            if c == '}' {
                break;
            }
            if !(c.is_ascii_digit() || c == ',') {
                return Err(invalid("invalid repetition count(s)"));
            }
        }
        if !text.ends_with('}') {
            return Err(invalid("braces {} not balanced"));
        }
        let counts: Vec<&str> = text[1..text.len() - 1].split(',').collect();
        let number = |s: &str| s.parse::<u32>().ok().filter(|n| *n <= 255);
        let valid = match counts.as_slice() {
            [m] => number(m).is_some(),
            [m, ""] => number(m).is_some(),
            [m, n] => matches!((number(m), number(n)), (Some(m), Some(n)) if m <= n),
            _ => false,
        };
        if !valid {
            return Err(invalid("invalid repetition count(s)"));
        }
        self.out.push_str(&text);
        Ok(())
    }

    /// An escape after its backslash, outside brackets.
    fn escape(&mut self) -> Result<(), Error> {
        let Some(c) = self.peek(0) else {
            return Err(invalid("invalid escape \\ sequence"));
        };
        self.at += 1;
        match c {
            '1'..='9' => {
                let mut number = c.to_digit(10).expect("digit") as usize;
                while let Some(d) = self.peek(0).and_then(|d| d.to_digit(10))
                    && number * 10 + (d as usize) <= self.groups
                {
                    number = number * 10 + d as usize;
                    self.at += 1;
                }
                if number > self.groups || self.open.iter().any(|&lookaround| lookaround) {
                    return Err(invalid("invalid backreference number"));
                }
                self.out.push_str(&format!("\\{number}"));
            }
            'd' | 's' | 'w' | 'D' | 'S' | 'W' => {
                self.out.push('\\');
                self.out.push(c);
            }
            'A' => self.out.push_str("\\A"),
            'Z' => self.out.push_str("\\z"),
            'm' => self.out.push_str("\\b(?=\\w)"),
            'M' => self.out.push_str("\\b(?<=\\w)"),
            'y' => self.out.push_str("\\b"),
            'Y' => self.out.push_str("\\B"),
            _ => {
                let c = self.entry(c)?;
                literal(c, &mut self.out);
            }
        }
        Ok(())
    }

    /// The character a character-entry escape (`\n`, `\x41`, `\u0041`, `\.`,
    /// …) stands for, after its backslash and first character.
    fn entry(&mut self, c: char) -> Result<char, Error> {
        // `\uwxyz` and `\Ustuvwxyz` take exactly their digits, `\x` any.
        let hex = |this: &mut Self, exact: Option<usize>| -> Result<char, Error> {
            let mut value = 0u32;
            let mut digits = 0;
            while digits < exact.unwrap_or(8)
                && let Some(d) = this.peek(0).and_then(|d| d.to_digit(16))
            {
                value = value * 16 + d;
                digits += 1;
                this.at += 1;
            }
            if digits == 0 || exact.is_some_and(|n| digits != n) {
                return Err(invalid("invalid escape \\ sequence"));
            }
            char::from_u32(value).ok_or_else(|| invalid("invalid escape \\ sequence"))
        };
        Ok(match c {
            'a' => '\x07',
            'b' => '\x08',
            'B' => '\\',
            'e' => '\x1b',
            'f' => '\x0c',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\x0b',
            'c' => {
                let Some(x) = self.peek(0) else {
                    return Err(invalid("invalid escape \\ sequence"));
                };
                self.at += 1;
                char::from_u32(x as u32 & 0x1f).expect("control character")
            }
            'u' => hex(self, Some(4))?,
            'U' => hex(self, Some(8))?,
            'x' => hex(self, None)?,
            '0' => {
                let mut value = 0u32;
                let mut digits = 0;
                while digits < 2
                    && let Some(d) = self.peek(0).and_then(|d| d.to_digit(8))
                {
                    value = value * 8 + d;
                    digits += 1;
                    self.at += 1;
                }
                char::from_u32(value).expect("octal byte")
            }
            c if c.is_alphanumeric() => return Err(invalid("invalid escape \\ sequence")),
            c => c,
        })
    }

    /// A bracket expression after its `[`.
    fn bracket(&mut self) -> Result<(), Error> {
        for (word, translation) in [("[:<:]]", "\\b(?=\\w)"), ("[:>:]]", "\\b(?<=\\w)")] {
            if self.starts_with(word) {
                self.at += word.len();
                self.out.push_str(translation);
                return Ok(());
            }
        }
        let mut class = String::from("[");
        if self.peek(0) == Some('^') {
            self.at += 1;
            class.push('^');
            if self.options.newline_stop {
                class.push_str("\\n");
            }
        }
        let mut first = true;
        let mut previous_was_endpoint = false;
        loop {
            let Some(c) = self.peek(0) else {
                return Err(invalid("brackets [] not balanced"));
            };
            self.at += 1;
            if c == ']' && !first {
                break;
            }
            first = false;
            match c {
                '[' if matches!(self.peek(0), Some(':' | '.' | '=')) => {
                    let kind = self.peek(0).expect("peeked");
                    let start = self.at + 1;
                    let end = (start..self.chars.len().saturating_sub(1))
                        .find(|&i| self.chars[i] == kind && self.chars[i + 1] == ']')
                        .ok_or_else(|| invalid("brackets [] not balanced"))?;
                    let name: String = self.chars[start..end].iter().collect();
                    self.at = end + 2;
                    match kind {
                        ':' => {
                            if !CLASSES.contains(&name.as_str()) {
                                return Err(invalid("invalid character class"));
                            }
                            class.push_str(&format!("[:{name}:]"));
                            previous_was_endpoint = false;
                            continue;
                        }
                        _ => {
                            let mut chars = name.chars();
                            let (Some(element), None) = (chars.next(), chars.next()) else {
                                return Err(invalid("invalid collating element"));
                            };
                            literal(element, &mut class);
                        }
                    }
                }
                '\\' => {
                    let Some(e) = self.peek(0) else {
                        return Err(invalid("invalid escape \\ sequence"));
                    };
                    self.at += 1;
                    match e {
                        'd' | 's' | 'w' => {
                            class.push('\\');
                            class.push(e);
                            previous_was_endpoint = false;
                            continue;
                        }
                        'D' | 'S' | 'W' => return Err(invalid("invalid escape \\ sequence")),
                        _ => {
                            let c = self.entry(e)?;
                            literal(c, &mut class);
                        }
                    }
                }
                '-' if previous_was_endpoint && self.peek(0).is_some_and(|n| n != ']') => {
                    class.push('-');
                    previous_was_endpoint = false;
                    continue;
                }
                c => literal(c, &mut class),
            }
            previous_was_endpoint = true;
        }
        class.push(']');
        self.out.push_str(&class);
        Ok(())
    }
}

/// The character classes `[:name:]` names.
const CLASSES: [&str; 12] = [
    "alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space",
    "upper", "xdigit",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, flags: &str, text: &str) -> bool {
        let options = Options::parse(flags, None).unwrap();
        let regex = fancy_regex::Regex::new(&translate(pattern, options).unwrap()).unwrap();
        regex.is_match(text).unwrap()
    }

    #[test]
    fn postgresql_spellings_match_as_in_postgresql() {
        assert!(matches("^([bc])\\1*$", "", "bbbbb"));
        assert!(!matches("^([bc])\\1*$", "", "bbc"));
        assert!(matches("a.b", "", "a\nb"));
        assert!(!matches("a.b", "n", "a\nb"));
        assert!(matches("\\mfoo\\M", "", "a foo b"));
        assert!(!matches("\\mfoo\\M", "", "afoo"));
        assert!(matches("[[:<:]]foo", "", "x foo"));
        assert!(matches("[a[b]+$", "", "[[ab"));
        assert!(matches("[]a]", "", "]"));
        assert!(matches("a{", "", "a{"));
        assert!(matches("a\\Bb", "", "a\\b"));
        assert!(matches("^abc$", "i", "ABC"));
        assert!(matches("(?i)^abc$", "", "ABC"));
        assert!(matches("***=a.c", "", "xa.cx"));
        assert!(!matches("***=a.c", "", "abc"));
        assert!(matches("a b # comment\n c", "x", "abc"));
        assert!(matches("[[:digit:]-]+", "", "1-2"));
        assert!(matches("x(?=[xy])", "", "xy"));
        assert!(matches("(?<=a)b", "", "ab"));
        assert!(translate("x(\\w)(?=(\\1))", Options::default()).is_err());
    }

    #[test]
    fn bad_patterns_are_2201b_and_bad_options_22023() {
        let code = |e: Error| match e {
            Error::Coded { code, .. } => code,
            _ => "?",
        };
        for pattern in ["\\q", "a{3,1}", "[[:nope:]]", "(?z)a", "[abc"] {
            assert_eq!(
                code(translate(pattern, Options::default()).unwrap_err()),
                "2201B",
                "{pattern}"
            );
        }
        assert_eq!(code(Options::parse("z", None).unwrap_err()), "22023");
        assert_eq!(
            code(Options::parse("g", Some("regexp_match")).unwrap_err()),
            "22023"
        );
    }
}
