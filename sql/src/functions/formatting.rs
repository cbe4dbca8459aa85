//! PostgreSQL's number templates (`to_char(number, '9,999.99')`,
//! `to_number(text, '99.9')`) and `format('%s-%I', …)`.
//!
//! Templates support the patterns analytical queries use: `9`, `0`, `.`/`D`,
//! `,`/`G`, `S`, `MI`, `PL`, `SG` and the `FM` prefix; any other character is
//! copied, as PostgreSQL copies it.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::error::Error;

/// One pattern of a number template.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Item {
    /// `9` (blank while no digit has been written) or `0` (always a digit).
    Digit {
        zero: bool,
    },
    Point,
    Group,
    /// `S`: the sign, anchored to the number when it leads the template.
    Sign,
    /// `MI`: `-` for negatives, else a blank.
    Minus,
    /// `PL`: `+` for positives, else a blank.
    Plus,
    /// `SG`: `+` or `-`.
    SignAlways,
    Literal(char),
}

/// A parsed number template.
#[derive(Debug)]
struct NumberTemplate {
    items: Vec<Item>,
    /// `FM`: no padding blanks, no trailing zeros from `9` fraction digits.
    fill_mode: bool,
    integer_digits: usize,
    fraction_digits: usize,
}

impl NumberTemplate {
    fn parse(template: &str) -> Self {
        let mut items = Vec::new();
        let mut fill_mode = false;
        let (mut integer_digits, mut fraction_digits, mut point) = (0, 0, false);
        let chars: Vec<char> = template.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let two: String = chars[i..(i + 2).min(chars.len())]
                .iter()
                .collect::<String>()
                .to_ascii_uppercase();
            let item = match two.as_str() {
                "FM" => {
                    fill_mode = true;
                    i += 2;
                    continue;
                }
                "MI" => Some(Item::Minus),
                "PL" => Some(Item::Plus),
                "SG" => Some(Item::SignAlways),
                _ => None,
            };
            if let Some(item) = item {
                items.push(item);
                i += 2;
                continue;
            }
            let item = match chars[i] {
                '9' | '0' => {
                    if point {
                        fraction_digits += 1;
                    } else {
                        integer_digits += 1;
                    }
                    Item::Digit {
                        zero: chars[i] == '0',
                    }
                }
                '.' | 'D' | 'd' if !point => {
                    point = true;
                    Item::Point
                }
                ',' | 'G' | 'g' => Item::Group,
                'S' | 's' => Item::Sign,
                '"' => {
                    // A quoted literal: copied without its quotes.
                    i += 1;
                    while i < chars.len() && chars[i] != '"' {
                        items.push(Item::Literal(chars[i]));
                        i += 1;
                    }
                    i += 1;
                    continue;
                }
                c => Item::Literal(c),
            };
            items.push(item);
            i += 1;
        }
        Self {
            items,
            fill_mode,
            integer_digits,
            fraction_digits,
        }
    }

    /// Formats a number given as its sign, its integer digits (no leading
    /// zeros; empty for zero) and exactly `fraction_digits` fraction digits.
    fn render(&self, negative: bool, integer: &str, fraction: &str) -> String {
        debug_assert_eq!(fraction.len(), self.fraction_digits);
        // Without a fraction, zero is written as one `0`.
        let integer = if integer.is_empty() && self.fraction_digits == 0 {
            "0"
        } else {
            integer
        };
        let overflow = integer.len() > self.integer_digits;
        let first_significant = self.integer_digits.saturating_sub(integer.len());
        let (mut integer_seen, mut fraction_seen) = (0, 0);
        let mut started = false;
        let mut point_seen = false;
        // The body, and where its leading blanks end (for an anchored sign).
        let mut body = String::new();
        let mut trailing_nines = 0;
        let explicit_sign = self
            .items
            .iter()
            .any(|i| matches!(i, Item::Sign | Item::Minus | Item::Plus | Item::SignAlways));
        let anchored = matches!(self.items.first(), Some(Item::Sign));
        // Where the number's first written character is: a sign goes there.
        let mut number_start = None;
        for item in &self.items {
            let before = body.len();
            match *item {
                Item::Digit { zero } if !point_seen => {
                    let k = integer_seen;
                    integer_seen += 1;
                    if overflow {
                        body.push('#');
                    } else if k >= first_significant {
                        started = true;
                        body.push(integer.as_bytes()[k - first_significant] as char);
                    } else if zero || started {
                        started = true;
                        body.push('0');
                    } else if !self.fill_mode {
                        body.push(' ');
                    }
                }
                Item::Digit { zero } => {
                    let digit = if overflow {
                        '#'
                    } else {
                        fraction.as_bytes()[fraction_seen] as char
                    };
                    fraction_seen += 1;
                    body.push(digit);
                    trailing_nines = if !zero && digit == '0' {
                        trailing_nines + 1
                    } else {
                        0
                    };
                }
                Item::Point => {
                    point_seen = true;
                    body.push('.');
                }
                Item::Group if started || overflow => body.push(','),
                Item::Group if !self.fill_mode => body.push(' '),
                Item::Group => {}
                Item::Sign if anchored => {}
                Item::Sign | Item::SignAlways => body.push(if negative { '-' } else { '+' }),
                Item::Minus => {
                    if negative {
                        body.push('-')
                    } else if !self.fill_mode {
                        body.push(' ')
                    }
                }
                Item::Plus => {
                    if !negative {
                        body.push('+')
                    } else if !self.fill_mode {
                        body.push(' ')
                    }
                }
                Item::Literal(c) => body.push(c),
            }
            // Digits and the point a number writes (not padding blanks).
            let written = body[before..].trim_start_matches(' ');
            if number_start.is_none()
                && matches!(item, Item::Digit { .. } | Item::Point)
                && !written.is_empty()
            {
                number_start = Some(body.len() - written.len());
            }
            // FM trims only the zeros that end the number.
            if !matches!(item, Item::Digit { .. } | Item::Point) {
                trailing_nines = 0;
            }
        }
        if self.fill_mode {
            body.truncate(body.len() - trailing_nines);
        }
        let sign = match (explicit_sign, anchored) {
            (false, _) if negative => Some('-'),
            (false, _) if !self.fill_mode => Some(' '),
            (true, true) => Some(if negative { '-' } else { '+' }),
            _ => None,
        };
        match sign {
            Some(sign) => {
                let at = number_start.unwrap_or(body.len()).min(body.len());
                format!("{}{sign}{}", &body[..at], &body[at..])
            }
            None => body,
        }
    }
}

/// `value` (an integer at `scale`) rounded half away from zero to `digits`
/// fraction digits: its sign, integer digits (no leading zeros) and fraction.
fn decimal_parts(value: i128, scale: i8, digits: usize) -> (bool, String, String) {
    let negative = value < 0;
    let mut magnitude = value.unsigned_abs();
    let scale = scale.max(0) as usize;
    let mut text = if scale > digits {
        let divisor = 10u128.pow((scale - digits).min(38) as u32);
        let (quotient, remainder) = (magnitude / divisor, magnitude % divisor);
        magnitude = quotient + u128::from(remainder >= divisor - remainder);
        magnitude.to_string()
    } else {
        format!("{magnitude}{}", "0".repeat(digits - scale))
    };
    if text.len() <= digits {
        text = format!("{}{text}", "0".repeat(digits + 1 - text.len()));
    }
    let (integer, fraction) = text.split_at(text.len() - digits);
    let integer = integer.trim_start_matches('0').to_string();
    let negative = negative && (magnitude != 0 || !integer.is_empty());
    (negative, integer, fraction.to_string())
}

/// The parts of a float rounded to `digits` fraction digits.
fn float_parts(value: f64, digits: usize) -> (bool, String, String) {
    let text = format!("{:.*}", digits, value.abs());
    let (integer, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let integer = integer.trim_start_matches('0').to_string();
    let zero = integer.is_empty() && fraction.bytes().all(|b| b == b'0');
    (value < 0.0 && !zero, integer, fraction.to_string())
}

/// `to_char(number, template)` for every row: integers, numerics and floats.
pub(super) fn number_to_char(values: &ArrayRef, templates: &StringArray) -> Result<StringArray> {
    let rows = values.len();
    let parts_at = |i: usize, digits: usize| -> Result<(bool, String, String)> {
        Ok(match values.data_type() {
            DataType::Decimal128(_, scale) => decimal_parts(
                values.as_primitive::<Decimal128Type>().value(i),
                *scale,
                digits,
            ),
            DataType::Float16 | DataType::Float32 | DataType::Float64 => {
                let floats = cast(values, &DataType::Float64)?;
                let floats = floats.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
                float_parts(floats.value(i), digits)
            }
            _ => {
                let wide = cast(values, &DataType::Decimal128(38, 0))?;
                decimal_parts(wide.as_primitive::<Decimal128Type>().value(i), 0, digits)
            }
        })
    };
    let mut out = Vec::with_capacity(rows);
    for i in 0..rows {
        if values.is_null(i) || templates.is_null(i) {
            out.push(None);
            continue;
        }
        let template = NumberTemplate::parse(templates.value(i));
        let (negative, integer, fraction) = parts_at(i, template.fraction_digits)?;
        out.push(Some(template.render(negative, &integer, &fraction)));
    }
    Ok(StringArray::from(out))
}

/// Reads `text` by a number template: its digits, a decimal point, a minus
/// sign; group separators and other characters are skipped. Gives the digits
/// as an integer and how many fraction digits it read (at most the
/// template's).
fn read_number(text: &str, template: &NumberTemplate) -> Result<(i128, usize), Error> {
    let invalid = || {
        Error::InvalidTextRepresentation(format!(
            "invalid input syntax for type numeric: \"{text}\""
        ))
    };
    let mut digits = String::new();
    let (mut negative, mut point, mut fraction) = (false, false, 0);
    for c in text.chars() {
        match c {
            '0'..='9' if !point => digits.push(c),
            '0'..='9' if fraction < template.fraction_digits => {
                digits.push(c);
                fraction += 1;
            }
            '.' if template.fraction_digits > 0 || template.items.contains(&Item::Point) => {
                point = true
            }
            '-' | '<' => negative = true,
            _ => {}
        }
    }
    if digits.is_empty() {
        return Err(invalid());
    }
    let value: i128 = digits
        .parse()
        .map_err(|_| Error::NumericValueOutOfRange("numeric field overflow".into()))?;
    Ok((if negative { -value } else { value }, fraction))
}

/// `to_number(text, template)`: a numeric read by a number template.
///
/// The result's scale is the template's fraction digits; when the text is a
/// constant too, the digits it actually has, as PostgreSQL shows them
/// (`to_number('12.5', '99.99')` is `12.5`).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct ToNumber {
    signature: Signature,
}

impl Default for ToNumber {
    fn default() -> Self {
        Self {
            signature: Signature::exact(vec![DataType::Utf8, DataType::Utf8], Volatility::Stable),
        }
    }
}

/// Unconstrained numerics read from text get this scale (as `numeric` does).
const DEFAULT_SCALE: usize = 10;

fn literal_text(value: Option<&ScalarValue>) -> Option<&str> {
    match value? {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Some(s),
        _ => None,
    }
}

impl ScalarUDFImpl for ToNumber {
    fn name(&self) -> &str {
        "to_number"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Err(DataFusionError::Internal(
            "to_number's type comes from return_field_from_args".into(),
        ))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let template = literal_text(args.scalar_arguments.get(1).copied().flatten())
            .map(NumberTemplate::parse);
        let text = literal_text(args.scalar_arguments.first().copied().flatten());
        let scale = match (template, text) {
            (Some(template), Some(text)) => read_number(text, &template)
                .map(|(_, fraction)| fraction)
                .unwrap_or(template.fraction_digits),
            (Some(template), None) => template.fraction_digits,
            _ => DEFAULT_SCALE,
        };
        Ok(Arc::new(Field::new(
            self.name(),
            DataType::Decimal128(38, scale as i8),
            true,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let DataType::Decimal128(_, scale) = args.return_field.data_type() else {
            return Err(DataFusionError::Internal(
                "to_number returns a numeric".into(),
            ));
        };
        let scale = *scale as usize;
        let text = cast(&args.args[0].to_array(rows)?, &DataType::Utf8)?;
        let templates = cast(&args.args[1].to_array(rows)?, &DataType::Utf8)?;
        let (text, templates) = (text.as_string::<i32>(), templates.as_string::<i32>());
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            if text.is_null(i) || templates.is_null(i) {
                out.push(None);
                continue;
            }
            let template = NumberTemplate::parse(templates.value(i));
            let (value, fraction) = read_number(text.value(i), &template)?;
            // Digits past the column's scale are dropped, as reading stops there.
            let value = if fraction > scale {
                value / 10i128.pow((fraction - scale) as u32)
            } else {
                10i128
                    .checked_pow((scale - fraction) as u32)
                    .and_then(|f| value.checked_mul(f))
                    .ok_or_else(|| Error::NumericValueOutOfRange("numeric field overflow".into()))?
            };
            out.push(Some(value));
        }
        let out = Decimal128Array::from(out).with_precision_and_scale(38, scale as i8)?;
        Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
    }
}

/// `format(template, args…)`: `%s` (text; NULL is empty), `%I` (a quoted
/// identifier), `%L` (a quoted literal; NULL is `NULL`) and `%%`, with
/// PostgreSQL's `n$` positions, `-` flag and widths (`*` takes the width from
/// an argument).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Format {
    signature: Signature,
}

impl Default for Format {
    fn default() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Stable),
        }
    }
}

/// Values as PostgreSQL's text output writes them, for the types whose Arrow
/// spelling differs (booleans are `t` and `f`).
fn as_text(values: &ArrayRef) -> Result<Vec<Option<String>>> {
    if let Some(booleans) = values.as_boolean_opt() {
        return Ok(booleans
            .iter()
            .map(|b| b.map(|b| if b { "t" } else { "f" }.to_string()))
            .collect());
    }
    let text = cast(values, &DataType::Utf8)?;
    Ok(text
        .as_string::<i32>()
        .iter()
        .map(|v| v.map(str::to_string))
        .collect())
}

fn format_error(message: &str) -> Error {
    Error::InvalidParameterValue(message.to_string())
}

/// Formats one row: `args` are the values after the template.
fn format_row(template: &str, args: &[Option<&str>]) -> Result<String, Error> {
    let chars: Vec<char> = template.chars().collect();
    let mut out = String::new();
    let mut next_arg = 0;
    let mut i = 0;
    // Reads digits at i, if any.
    let number = |i: &mut usize| -> Option<usize> {
        let start = *i;
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
        if start == *i {
            return None;
        }
        chars[start..*i].iter().collect::<String>().parse().ok()
    };
    let argument = |n: usize| -> Result<Option<&str>, Error> {
        args.get(n)
            .copied()
            .ok_or_else(|| format_error("too few arguments for format()"))
    };
    while i < chars.len() {
        if chars[i] != '%' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        i += 1;
        if chars.get(i) == Some(&'%') {
            out.push('%');
            i += 1;
            continue;
        }
        // %[n$][-][width|*|*n$]type
        let mark = i;
        let position = match number(&mut i) {
            Some(n) if chars.get(i) == Some(&'$') => {
                i += 1;
                Some(n)
            }
            _ => {
                i = mark;
                None
            }
        };
        let left = chars.get(i) == Some(&'-');
        if left {
            i += 1;
        }
        let width = if chars.get(i) == Some(&'*') {
            i += 1;
            let n = match number(&mut i) {
                Some(n) if chars.get(i) == Some(&'$') => {
                    i += 1;
                    n.checked_sub(1).ok_or_else(|| {
                        format_error(
                            "format specifies argument 0, but arguments are numbered from 1",
                        )
                    })?
                }
                _ => {
                    next_arg += 1;
                    next_arg - 1
                }
            };
            let text = argument(n)?.unwrap_or("0");
            let width: i64 = text
                .trim()
                .parse()
                .map_err(|_| format_error("width argument must be an integer"))?;
            Some(width)
        } else {
            number(&mut i).map(|n| n as i64)
        };
        let index = match position {
            Some(0) => {
                return Err(format_error(
                    "format specifies argument 0, but arguments are numbered from 1",
                ));
            }
            Some(n) => n - 1,
            None => next_arg,
        };
        next_arg = index + 1;
        let Some(&kind) = chars.get(i) else {
            return Err(format_error("unterminated format() type specifier"));
        };
        i += 1;
        let value = argument(index)?;
        let text = match kind {
            's' => value.unwrap_or("").to_string(),
            'I' => match value {
                Some(v) => super::text::quote_ident(v),
                None => {
                    return Err(Error::Coded {
                        code: "22004",
                        message: "null values cannot be formatted as an SQL identifier".into(),
                    });
                }
            },
            'L' => value.map_or_else(|| "NULL".to_string(), super::text::quote_literal),
            other => {
                return Err(format_error(&format!(
                    "unrecognized format() type specifier \"{other}\""
                )));
            }
        };
        // A negative width means left-justified, as the `-` flag does.
        let (left, width) = match width {
            Some(w) if w < 0 => (true, w.unsigned_abs() as usize),
            Some(w) => (left, w as usize),
            None => (left, 0),
        };
        let pad = width.saturating_sub(text.chars().count());
        if left {
            out.push_str(&text);
            out.extend(std::iter::repeat_n(' ', pad));
        } else {
            out.extend(std::iter::repeat_n(' ', pad));
            out.push_str(&text);
        }
    }
    Ok(out)
}

impl ScalarUDFImpl for Format {
    fn name(&self) -> &str {
        "format"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let columns = args
            .args
            .iter()
            .map(|a| as_text(&a.to_array(rows)?))
            .collect::<Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            let Some(template) = &columns[0][i] else {
                out.push(None);
                continue;
            };
            let values: Vec<Option<&str>> = columns[1..].iter().map(|c| c[i].as_deref()).collect();
            out.push(Some(format_row(template, &values)?));
        }
        Ok(ColumnarValue::Array(Arc::new(StringArray::from(out))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_char(value: i128, scale: i8, template: &str) -> String {
        let t = NumberTemplate::parse(template);
        let (negative, integer, fraction) = decimal_parts(value, scale, t.fraction_digits);
        t.render(negative, &integer, &fraction)
    }

    #[test]
    fn number_templates_follow_postgresql() {
        assert_eq!(to_char(12345, 1, "9999.99"), " 1234.50");
        assert_eq!(to_char(5, 1, "9999.99"), "     .50");
        assert_eq!(to_char(-125, 1, "9999.99"), "  -12.50");
        assert_eq!(to_char(12345, 0, "999"), " ###");
        assert_eq!(to_char(12345, 1, "FM9999.99"), "1234.5");
        assert_eq!(to_char(1234567891, 3, "9,999,999.99"), " 1,234,567.89");
        assert_eq!(to_char(-5, 0, "S999"), "  -5");
        assert_eq!(to_char(5, 0, "0009"), " 0005");
        assert_eq!(to_char(55, 1, "9"), " 6");
        assert_eq!(to_char(42, 0, "999"), "  42");
        assert_eq!(to_char(485, 0, "\"Number: \"999"), "Number:  485");
    }

    #[test]
    fn numbers_read_by_template() {
        let t = NumberTemplate::parse("99.9");
        assert_eq!(read_number("12.5", &t).unwrap(), (125, 1));
        assert_eq!(read_number("12.555", &t).unwrap(), (125, 1));
        let t = NumberTemplate::parse("9,999.9");
        assert_eq!(read_number("-1,234.5", &t).unwrap(), (-12345, 1));
        assert!(read_number("x", &t).is_err());
    }

    #[test]
    fn format_follows_postgresql() {
        let row = |t: &str, a: &[Option<&str>]| format_row(t, a).unwrap();
        assert_eq!(row("%s-%s", &[Some("x"), Some("y")]), "x-y");
        assert_eq!(row("%2$s %1$s", &[Some("a"), Some("b")]), "b a");
        assert_eq!(
            row("[%5s][%-5s]", &[Some("ab"), Some("cd")]),
            "[   ab][cd   ]"
        );
        assert_eq!(
            row("%I|%L|%L|%s", &[Some("Hello"), Some("it's"), None, None]),
            "\"Hello\"|'it''s'|NULL|"
        );
        assert!(format_row("%s %s", &[Some("a")]).is_err());
        assert!(format_row("%x", &[Some("a")]).is_err());
    }
}
