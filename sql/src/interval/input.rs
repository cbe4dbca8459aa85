//! Reading interval text: PostgreSQL's date/time lexer, its interval decoder
//! (units, `ago`, `h:m:s`, the SQL standard's forms) and its ISO 8601 reader.

use super::{Style, USECS_PER_DAY, USECS_PER_HOUR, USECS_PER_MINUTE, USECS_PER_SEC, field};

/// PostgreSQL's reading: its own syntax first, ISO 8601 when that is not
/// the format.
pub(super) fn decode(text: &str, range: i32, style: Style) -> Result<Parts, Fail> {
    match tokenize(text).and_then(|fields| decode_fields(&fields, range, style)) {
        Err(Fail::Format) => decode_iso8601(text),
        other => other,
    }
}

/// Why the decoder gave up, as PostgreSQL distinguishes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fail {
    /// 22007 invalid input syntax
    Format,
    /// 22015 interval field value out of range
    Overflow,
}

/// The token kinds of PostgreSQL's date/time lexer (`ParseDateTime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Digits, possibly with one decimal point (`12`, `1.5`, `.5`).
    Number,
    /// Digits and two delimiters, or digits and text (`1-2`, `1999-01-08`).
    Date,
    /// Digits with colons (`01:02:03.5`).
    Time,
    /// A word (`days`, `ago`).
    Word,
    /// A sign and a word (`-infinity`).
    Special,
    /// A sign and digits, colons, points or dashes (`+02:03`, `-1-2`, `-1.5`).
    Signed,
}

/// PostgreSQL refuses date/time text with more fields than this
/// (`MAXDATEFIELDS`) or longer than its work buffer.
const MAX_FIELDS: usize = 25;
const MAX_BUFFER: usize = 256;

/// Words of PostgreSQL's date token table: after one of them a digit or `+`
/// starts a new field instead of continuing a time zone name.
const DATE_WORDS: &[&str] = &[
    "ad",
    "allballs",
    "am",
    "apr",
    "april",
    "at",
    "aug",
    "august",
    "bc",
    "d",
    "dec",
    "december",
    "dow",
    "doy",
    "dst",
    "epoch",
    "feb",
    "february",
    "fri",
    "friday",
    "h",
    "infinity",
    "isodow",
    "isoyear",
    "j",
    "jan",
    "january",
    "jd",
    "jul",
    "julian",
    "july",
    "jun",
    "june",
    "m",
    "mar",
    "march",
    "may",
    "mm",
    "mon",
    "monday",
    "nov",
    "november",
    "now",
    "oct",
    "october",
    "on",
    "pm",
    "s",
    "sat",
    "saturday",
    "sep",
    "sept",
    "september",
    "sun",
    "sunday",
    "t",
    "thu",
    "thur",
    "thurs",
    "thursday",
    "today",
    "tomorrow",
    "tue",
    "tues",
    "tuesday",
    "wed",
    "wednesday",
    "weds",
    "y",
    "yesterday",
];

/// Splits date/time text into fields as PostgreSQL's lexer does: spaces and
/// other punctuation (`@`, `,`) separate fields, text is lowercased.
fn tokenize(text: &str) -> Result<Vec<(Kind, String)>, Fail> {
    let b = text.as_bytes();
    let skip = |mut i: usize, keep: &dyn Fn(u8) -> bool| {
        while i < b.len() && keep(b[i]) {
            i += 1;
        }
        i
    };
    let mut fields = Vec::new();
    let mut buffer = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() || c == 0x0B {
            i += 1;
            continue;
        }
        let start = i;
        let (kind, field) = if c.is_ascii_digit() {
            i = skip(i, &|c| c.is_ascii_digit());
            let kind = match b.get(i).copied() {
                Some(b':') => {
                    i = skip(i + 1, &|c| c.is_ascii_digit() || c == b':' || c == b'.');
                    Kind::Time
                }
                Some(delim @ (b'-' | b'/' | b'.')) => {
                    i += 1;
                    if b.get(i).is_some_and(u8::is_ascii_digit) {
                        i = skip(i, &|c| c.is_ascii_digit());
                        if b.get(i) == Some(&delim) {
                            i = skip(i + 1, &|c| c.is_ascii_digit() || c == delim);
                            Kind::Date
                        } else if delim == b'.' {
                            Kind::Number
                        } else {
                            Kind::Date
                        }
                    } else {
                        i = skip(i, &|c| c.is_ascii_alphanumeric() || c == delim);
                        Kind::Date
                    }
                }
                _ => Kind::Number,
            };
            (kind, text[start..i].to_ascii_lowercase())
        } else if c == b'.' {
            i = skip(i + 1, &|c| c.is_ascii_digit());
            (Kind::Number, text[start..i].to_string())
        } else if c.is_ascii_alphabetic() {
            i = skip(i, &|c| c.is_ascii_alphabetic());
            let word = text[start..i].to_ascii_lowercase();
            let is_date = match b.get(i).copied() {
                Some(b'-' | b'/' | b'.') => true,
                Some(c) if c == b'+' || c.is_ascii_digit() => !DATE_WORDS.contains(&word.as_str()),
                _ => false,
            };
            if is_date {
                i = skip(i + 1, &|c| {
                    matches!(c, b'+' | b'-' | b'/' | b'_' | b'.' | b':')
                        || c.is_ascii_alphanumeric()
                });
                (Kind::Date, text[start..i].to_ascii_lowercase())
            } else {
                (Kind::Word, word)
            }
        } else if c == b'+' || c == b'-' {
            i = skip(i + 1, &|c| c.is_ascii_whitespace());
            let body = i;
            let kind = match b.get(i) {
                Some(d) if d.is_ascii_digit() => {
                    i = skip(i + 1, &|c| {
                        c.is_ascii_digit() || matches!(c, b':' | b'.' | b'-')
                    });
                    Kind::Signed
                }
                Some(a) if a.is_ascii_alphabetic() => {
                    i = skip(i + 1, &|c| c.is_ascii_alphabetic());
                    Kind::Special
                }
                _ => return Err(Fail::Format),
            };
            (
                kind,
                format!("{}{}", c as char, text[body..i].to_ascii_lowercase()),
            )
        } else if c.is_ascii_punctuation() {
            i += 1;
            continue;
        } else {
            return Err(Fail::Format);
        };
        buffer += field.len() + 1;
        if fields.len() == MAX_FIELDS || buffer >= MAX_BUFFER {
            return Err(Fail::Format);
        }
        fields.push((kind, field));
    }
    Ok(fields)
}

/// The units a number can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Microsecond,
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
    Decade,
    Century,
    Millennium,
    /// A unit word an interval cannot hold (`quarter`, `timezone`), or the
    /// position after `ago`: a number there is an error.
    Invalid,
}

impl Unit {
    /// PostgreSQL's unit words; like it, only the first ten letters count.
    fn named(word: &str) -> Option<Unit> {
        let key = &word[..word.len().min(10)];
        Some(match key {
            "us" | "usec" | "usecs" | "usecond" | "useconds" | "microsecon" => Unit::Microsecond,
            "ms" | "msec" | "msecs" | "msecond" | "mseconds" | "millisecon" => Unit::Millisecond,
            "s" | "sec" | "secs" | "second" | "seconds" => Unit::Second,
            "m" | "min" | "mins" | "minute" | "minutes" => Unit::Minute,
            "h" | "hr" | "hrs" | "hour" | "hours" => Unit::Hour,
            "d" | "day" | "days" => Unit::Day,
            "w" | "week" | "weeks" => Unit::Week,
            "mon" | "mons" | "month" | "months" => Unit::Month,
            "y" | "yr" | "yrs" | "year" | "years" => Unit::Year,
            "dec" | "decs" | "decade" | "decades" => Unit::Decade,
            "c" | "cent" | "century" | "centuries" => Unit::Century,
            "mil" | "mils" | "millennia" | "millennium" => Unit::Millennium,
            "qtr" | "quarter" | "timezone" | "timezone_h" | "timezone_m" => Unit::Invalid,
            _ => return None,
        })
    }

    /// The bit a unit claims: each may be given once.
    fn mask(self) -> u32 {
        1 << self as u32
    }
}

const SECONDS_MASK: u32 =
    (1 << Unit::Second as u32) | (1 << Unit::Millisecond as u32) | (1 << Unit::Microsecond as u32);
const TIME_MASK: u32 = (1 << Unit::Hour as u32) | (1 << Unit::Minute as u32) | SECONDS_MASK;

/// Interval fields while decoding, years apart from months as PostgreSQL keeps
/// them until the end.
#[derive(Debug, Default)]
pub(super) struct Parts {
    pub micros: i64,
    pub days: i32,
    pub months: i32,
    pub years: i32,
}

impl Parts {
    fn add_micros(&mut self, value: i64, fraction: f64, scale: i64) -> Result<(), Fail> {
        self.micros = value
            .checked_mul(scale)
            .and_then(|v| v.checked_add(self.micros))
            .ok_or(Fail::Overflow)?;
        self.add_fraction_micros(fraction, scale)
    }

    /// Adds `fraction * scale` microseconds, rounded to a whole one.
    fn add_fraction_micros(&mut self, fraction: f64, scale: i64) -> Result<(), Fail> {
        if fraction == 0.0 {
            return Ok(());
        }
        let exact = fraction * scale as f64;
        let mut micros = exact as i64;
        let rest = exact - micros as f64;
        if rest > 0.5 {
            micros += 1;
        } else if rest < -0.5 {
            micros -= 1;
        }
        self.micros = self.micros.checked_add(micros).ok_or(Fail::Overflow)?;
        Ok(())
    }

    fn add_days(&mut self, value: i64, scale: i32) -> Result<(), Fail> {
        let value = i32::try_from(value).map_err(|_| Fail::Overflow)?;
        self.days = value
            .checked_mul(scale)
            .and_then(|v| v.checked_add(self.days))
            .ok_or(Fail::Overflow)?;
        Ok(())
    }

    /// Adds `fraction * scale` days: whole days, then the rest as time.
    fn add_fraction_days(&mut self, fraction: f64, scale: i32) -> Result<(), Fail> {
        if fraction == 0.0 {
            return Ok(());
        }
        let exact = fraction * f64::from(scale);
        let days = exact as i32;
        self.days = self.days.checked_add(days).ok_or(Fail::Overflow)?;
        self.add_fraction_micros(exact - f64::from(days), USECS_PER_DAY)
    }

    fn add_months(&mut self, value: i64) -> Result<(), Fail> {
        let value = i32::try_from(value).map_err(|_| Fail::Overflow)?;
        self.months = self.months.checked_add(value).ok_or(Fail::Overflow)?;
        Ok(())
    }

    fn add_years(&mut self, value: i64, fraction: f64, scale: i32) -> Result<(), Fail> {
        let value = i32::try_from(value).map_err(|_| Fail::Overflow)?;
        self.years = value
            .checked_mul(scale)
            .and_then(|v| v.checked_add(self.years))
            .ok_or(Fail::Overflow)?;
        let extra_months = (fraction * f64::from(scale) * 12.0).round_ties_even() as i32;
        self.months = self
            .months
            .checked_add(extra_months)
            .ok_or(Fail::Overflow)?;
        Ok(())
    }

    fn add(&mut self, unit: Unit, value: i64, fraction: f64) -> Result<(), Fail> {
        match unit {
            Unit::Microsecond => self.add_micros(value, fraction, 1),
            Unit::Millisecond => self.add_micros(value, fraction, 1_000),
            Unit::Second => self.add_micros(value, fraction, USECS_PER_SEC),
            Unit::Minute => self.add_micros(value, fraction, USECS_PER_MINUTE),
            Unit::Hour => self.add_micros(value, fraction, USECS_PER_HOUR),
            Unit::Day => {
                self.add_days(value, 1)?;
                self.add_fraction_micros(fraction, USECS_PER_DAY)
            }
            Unit::Week => {
                self.add_days(value, 7)?;
                self.add_fraction_days(fraction, 7)
            }
            Unit::Month => {
                self.add_months(value)?;
                self.add_fraction_days(fraction, 30)
            }
            Unit::Year => self.add_years(value, fraction, 1),
            Unit::Decade => self.add_years(value, fraction, 10),
            Unit::Century => self.add_years(value, fraction, 100),
            Unit::Millennium => self.add_years(value, fraction, 1000),
            Unit::Invalid => Err(Fail::Format),
        }
    }
}

/// C's `strtol`: optional spaces and sign, then digits. Returns the value and
/// the rest; no digits leaves the text whole with 0, as C does.
fn leading_integer(text: &str) -> Result<(i64, &str), Fail> {
    let trimmed = text.trim_start();
    let unsigned = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    let digits = unsigned.len()
        - unsigned
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .len();
    if digits == 0 {
        return Ok((0, text));
    }
    let end = trimmed.len() - unsigned.len() + digits;
    let value = trimmed[..end].parse().map_err(|_| Fail::Overflow)?;
    Ok((value, &trimmed[end..]))
}

/// `.ddd` (or a lone `.`) to the fraction it writes.
fn fraction(text: &str) -> Result<f64, Fail> {
    let digits = text.strip_prefix('.').ok_or(Fail::Format)?;
    if digits.is_empty() {
        return Ok(0.0);
    }
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(Fail::Format);
    }
    format!("0.{digits}").parse().map_err(|_| Fail::Format)
}

/// `h:m`, `h:m:s[.f]` or `m:s.f` (and `m:s` under MINUTE TO SECOND) in
/// microseconds.
fn decode_time(text: &str, range: i32) -> Result<i64, Fail> {
    let (hours, rest) = leading_integer(text)?;
    let rest = rest.strip_prefix(':').ok_or(Fail::Format)?;
    let (minutes, rest) = leading_integer(rest)?;
    let fits_int = |v: i64| i32::try_from(v).map_err(|_| Fail::Overflow);
    fits_int(minutes)?;
    let (mut hours, mut minutes, mut seconds, mut micros) = (hours, minutes, 0i64, 0i64);
    if rest.is_empty() {
        if range == field::MINUTE | field::SECOND {
            fits_int(hours)?;
            (hours, minutes, seconds) = (0, hours, minutes);
        }
    } else if rest.starts_with('.') {
        micros = (fraction(rest)? * 1e6).round_ties_even() as i64;
        fits_int(hours)?;
        (hours, minutes, seconds) = (0, hours, minutes);
    } else if let Some(rest) = rest.strip_prefix(':') {
        let (s, rest) = leading_integer(rest)?;
        fits_int(s)?;
        seconds = s;
        if rest.starts_with('.') {
            micros = (fraction(rest)? * 1e6).round_ties_even() as i64;
        } else if !rest.is_empty() {
            return Err(Fail::Format);
        }
    } else {
        return Err(Fail::Format);
    }
    if hours < 0
        || !(0..60).contains(&minutes)
        || !(0..=60).contains(&seconds)
        || !(0..=USECS_PER_SEC).contains(&micros)
    {
        return Err(Fail::Overflow);
    }
    hours
        .checked_mul(USECS_PER_HOUR)
        .and_then(|v| v.checked_add(minutes * USECS_PER_MINUTE))
        .and_then(|v| v.checked_add(seconds * USECS_PER_SEC))
        .and_then(|v| v.checked_add(micros))
        .ok_or(Fail::Overflow)
}

/// PostgreSQL's `DecodeInterval`: fields are read right to left, so that a
/// unit word gives the number before it its meaning; a bare number takes the
/// unit after the field to its right (a day before `h:m:s`), else the type
/// modifier's last field, else seconds.
fn decode_fields(fields: &[(Kind, String)], range: i32, style: Style) -> Result<Parts, Fail> {
    let mut parts = Parts::default();
    let mut seen = 0u32;
    let mut before = false;
    let mut unit: Option<Unit> = None;
    // The SQL standard reads `-1 2:03` as wholly negative; PostgreSQL does so
    // under sql_standard when no other field has a sign.
    let force_negative = style == Style::SqlStandard
        && fields.first().is_some_and(|(_, f)| f.starts_with('-'))
        && !fields[1..].iter().any(|(_, f)| f.starts_with(['-', '+']));
    for (kind, text) in fields.iter().rev() {
        // A signed `h:m[:s]` is a time; other signed fields are numbers.
        let signed_time = match kind {
            Kind::Signed if text[1..].contains(':') => decode_time(&text[1..], range).ok(),
            _ => None,
        };
        let claimed;
        match kind {
            Kind::Time => {
                parts.micros = decode_time(text, range)?;
                if force_negative && parts.micros > 0 {
                    parts.micros = -parts.micros;
                }
                unit = Some(Unit::Day);
                claimed = TIME_MASK;
            }
            Kind::Signed if signed_time.is_some() => {
                let micros = signed_time.unwrap_or_default();
                parts.micros = if text.starts_with('-') {
                    -micros
                } else {
                    micros
                };
                if force_negative && parts.micros > 0 {
                    parts.micros = -parts.micros;
                }
                unit = Some(Unit::Day);
                claimed = TIME_MASK;
            }
            Kind::Signed | Kind::Date | Kind::Number => {
                let this_unit = *unit.get_or_insert(default_unit(range));
                let negative = text.starts_with('-');
                let (mut value, rest) = leading_integer(text)?;
                let (this_unit, mut frac) = if let Some(months) = rest.strip_prefix('-') {
                    // The SQL standard's years-months.
                    let (months, rest) = leading_integer(months)?;
                    if !(0..12).contains(&months) {
                        return Err(Fail::Overflow);
                    }
                    if !rest.is_empty() {
                        return Err(Fail::Format);
                    }
                    value = value
                        .checked_mul(12)
                        .and_then(|v| v.checked_add(if negative { -months } else { months }))
                        .ok_or(Fail::Overflow)?;
                    unit = Some(Unit::Month);
                    (Unit::Month, 0.0)
                } else if rest.starts_with('.') {
                    let f = fraction(rest)?;
                    (this_unit, if negative { -f } else { f })
                } else if rest.is_empty() {
                    (this_unit, 0.0)
                } else {
                    return Err(Fail::Format);
                };
                if force_negative {
                    value = -value.abs();
                    frac = -frac.abs();
                }
                parts.add(this_unit, value, frac)?;
                claimed = match this_unit {
                    Unit::Second if frac != 0.0 => SECONDS_MASK,
                    other => other.mask(),
                };
                if this_unit == Unit::Hour {
                    unit = Some(Unit::Day);
                }
            }
            Kind::Word | Kind::Special => {
                if text == "ago" {
                    before = true;
                    unit = Some(Unit::Invalid);
                } else {
                    unit = Some(Unit::named(text).ok_or(Fail::Format)?);
                }
                claimed = 0;
            }
        }
        if seen & claimed != 0 {
            return Err(Fail::Format);
        }
        seen |= claimed;
    }
    if seen == 0 {
        return Err(Fail::Format);
    }
    if before {
        if parts.micros == i64::MIN
            || parts.days == i32::MIN
            || parts.months == i32::MIN
            || parts.years == i32::MIN
        {
            return Err(Fail::Overflow);
        }
        parts.micros = -parts.micros;
        parts.days = -parts.days;
        parts.months = -parts.months;
        parts.years = -parts.years;
    }
    Ok(parts)
}

/// The unit of a bare rightmost number: the type modifier's last field.
fn default_unit(range: i32) -> Unit {
    use field::*;
    match range {
        YEAR => Unit::Year,
        MONTH | YEAR_TO_MONTH => Unit::Month,
        DAY => Unit::Day,
        r if r == HOUR || r == DAY | HOUR => Unit::Hour,
        r if r == MINUTE || r == HOUR | MINUTE || r == DAY | HOUR | MINUTE => Unit::Minute,
        _ => Unit::Second,
    }
}

/// A number of ISO 8601 text (C's `strtod`, so `1.5`, `-.5` and `10.5e4`),
/// split into its integer part and fraction. Returns them and the rest.
fn iso_number(text: &str) -> Result<(i64, f64, &str), Fail> {
    let b = text.as_bytes();
    if !b
        .first()
        .is_some_and(|c| c.is_ascii_digit() || *c == b'-' || *c == b'.')
    {
        return Err(Fail::Format);
    }
    let mut i = usize::from(b[0] == b'-');
    let lower = text[i..].to_ascii_lowercase();
    if lower.starts_with("inf") || lower.starts_with("nan") {
        return Err(Fail::Overflow);
    }
    let digits = |mut i: usize| {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        (i, i - start)
    };
    let (end, whole) = digits(i);
    i = end;
    let mut mantissa = whole;
    if b.get(i) == Some(&b'.') {
        let (end, fraction) = digits(i + 1);
        if whole + fraction > 0 {
            i = end;
            mantissa += fraction;
        }
    }
    if mantissa == 0 {
        return Err(Fail::Format);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
        let (end, exponent) = digits(i + 1 + sign);
        if exponent > 0 {
            i = end;
        }
    }
    let value: f64 = text[..i].parse().map_err(|_| Fail::Format)?;
    if !(-1.0e15..=1.0e15).contains(&value) {
        return Err(Fail::Overflow);
    }
    let whole = value.trunc();
    Ok((whole as i64, value - whole, &text[i..]))
}

/// The number of digits before any fraction in an ISO 8601 field.
fn integer_width(text: &str) -> usize {
    let text = text.strip_prefix('-').unwrap_or(text);
    text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len()
}

/// ISO 8601's durations: with designators (`P1Y2M3DT4H5M6S`, `P1W`) or in the
/// alternative format (`P0001-02-03T04:05:06`, `P00010203T040506`).
fn decode_iso8601(text: &str) -> Result<Parts, Fail> {
    let mut parts = Parts::default();
    let mut rest = text.strip_prefix('P').ok_or(Fail::Format)?;
    if rest.is_empty() {
        return Err(Fail::Format);
    }
    let mut date_part = true;
    let mut have_field = false;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('T') {
            date_part = false;
            have_field = false;
            rest = after;
            continue;
        }
        let field_start = rest;
        let (value, frac, after) = iso_number(rest)?;
        let designator = after.chars().next();
        rest = designator.map_or(after, |c| &after[c.len_utf8()..]);
        if date_part {
            match designator {
                Some('Y') => parts.add(Unit::Year, value, frac)?,
                Some('M') => parts.add(Unit::Month, value, frac)?,
                Some('W') => parts.add(Unit::Week, value, frac)?,
                Some('D') => parts.add(Unit::Day, value, frac)?,
                Some('T') | None if integer_width(field_start) == 8 && !have_field => {
                    parts.add(Unit::Year, value / 10000, 0.0)?;
                    parts.add_months((value / 100) % 100)?;
                    parts.add(Unit::Day, value % 100, frac)?;
                    if designator.is_none() {
                        return Ok(parts);
                    }
                    date_part = false;
                    have_field = false;
                    continue;
                }
                Some('T' | '-') | None => {
                    if have_field {
                        return Err(Fail::Format);
                    }
                    parts.add(Unit::Year, value, frac)?;
                    match designator {
                        None => return Ok(parts),
                        Some('T') => {
                            date_part = false;
                            have_field = false;
                            continue;
                        }
                        _ => {}
                    }
                    let (value, frac, after) = iso_number(rest)?;
                    parts.add(Unit::Month, value, frac)?;
                    rest = after;
                    if rest.is_empty() {
                        return Ok(parts);
                    }
                    if let Some(after) = rest.strip_prefix('T') {
                        rest = after;
                        date_part = false;
                        have_field = false;
                        continue;
                    }
                    rest = rest.strip_prefix('-').ok_or(Fail::Format)?;
                    let (value, frac, after) = iso_number(rest)?;
                    parts.add(Unit::Day, value, frac)?;
                    rest = after;
                    if rest.is_empty() {
                        return Ok(parts);
                    }
                    rest = rest.strip_prefix('T').ok_or(Fail::Format)?;
                    date_part = false;
                    have_field = false;
                    continue;
                }
                _ => return Err(Fail::Format),
            }
        } else {
            match designator {
                Some('H') => parts.add(Unit::Hour, value, frac)?,
                Some('M') => parts.add(Unit::Minute, value, frac)?,
                Some('S') => parts.add(Unit::Second, value, frac)?,
                None if integer_width(field_start) == 6 && !have_field => {
                    parts.add(Unit::Hour, value / 10000, 0.0)?;
                    parts.add(Unit::Minute, (value / 100) % 100, 0.0)?;
                    parts.add(Unit::Second, value % 100, 0.0)?;
                    parts.add_fraction_micros(frac, 1)?;
                    return Ok(parts);
                }
                Some(':') | None => {
                    if have_field {
                        return Err(Fail::Format);
                    }
                    parts.add(Unit::Hour, value, frac)?;
                    if designator.is_none() {
                        return Ok(parts);
                    }
                    let (value, frac, after) = iso_number(rest)?;
                    parts.add(Unit::Minute, value, frac)?;
                    rest = after;
                    if rest.is_empty() {
                        return Ok(parts);
                    }
                    rest = rest.strip_prefix(':').ok_or(Fail::Format)?;
                    let (value, frac, after) = iso_number(rest)?;
                    parts.add(Unit::Second, value, frac)?;
                    if after.is_empty() {
                        return Ok(parts);
                    }
                    return Err(Fail::Format);
                }
                _ => return Err(Fail::Format),
            }
        }
        have_field = true;
    }
    Ok(parts)
}
