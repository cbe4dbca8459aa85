//! PostgreSQL's interval as text: its input syntax (units and `ago`, `h:m:s`,
//! the SQL standard's `Y-M D H:M:S` and ISO 8601's `P1Y2M…` forms), what an
//! `INTERVAL DAY TO MINUTE`-style type modifier keeps of a value, and its output
//! in each IntervalStyle.
//!
//! PostgreSQL keeps an interval as months, days and microseconds, each signed on
//! its own; Arrow's `IntervalMonthDayNano` holds the same three with the last in
//! nanoseconds, so a time part beyond ±292 years does not fit (PostgreSQL's
//! reaches ±292,000 years).

use datafusion::arrow::datatypes::IntervalMonthDayNano;

use crate::error::Error;

mod input;

use input::Fail;

const USECS_PER_SEC: i64 = 1_000_000;
const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;

/// An interval as PostgreSQL keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

impl Interval {
    /// The Arrow value, or 22008 when the time part is beyond Arrow's range.
    pub fn to_arrow(self) -> Result<IntervalMonthDayNano, Error> {
        let nanos = self.micros.checked_mul(1_000).ok_or_else(out_of_range)?;
        Ok(IntervalMonthDayNano::new(self.months, self.days, nanos))
    }

    /// PostgreSQL keeps microseconds: finer parts of an Arrow value are dropped.
    pub fn from_arrow(v: IntervalMonthDayNano) -> Self {
        Interval {
            months: v.months,
            days: v.days,
            micros: v.nanoseconds / 1_000,
        }
    }
}

fn out_of_range() -> Error {
    Error::Coded {
        code: "22008",
        message: "interval out of range".into(),
    }
}

/// How intervals are written (the IntervalStyle setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// `1 year 2 mons 3 days 04:05:06`
    #[default]
    Postgres,
    /// `@ 1 year 2 mons 3 days 4 hours 5 mins 6 secs`
    PostgresVerbose,
    /// `1-2 3 4:05:06`
    SqlStandard,
    /// `P1Y2M3DT4H5M6S`
    Iso8601,
}

impl Style {
    /// The style a setting's value names (any case).
    pub fn named(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "postgres" => Style::Postgres,
            "postgres_verbose" => Style::PostgresVerbose,
            "sql_standard" => Style::SqlStandard,
            "iso_8601" => Style::Iso8601,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Style::Postgres => "postgres",
            Style::PostgresVerbose => "postgres_verbose",
            Style::SqlStandard => "sql_standard",
            Style::Iso8601 => "iso_8601",
        }
    }
}

/// The fields an interval type modifier keeps, as PostgreSQL numbers them
/// (its `INTERVAL_MASK` bits), so that a type modifier reads as PostgreSQL's.
pub mod field {
    pub const MONTH: i32 = 1 << 1;
    pub const YEAR: i32 = 1 << 2;
    pub const DAY: i32 = 1 << 3;
    pub const HOUR: i32 = 1 << 10;
    pub const MINUTE: i32 = 1 << 11;
    pub const SECOND: i32 = 1 << 12;
    /// `YEAR TO MONTH`, as a constant patterns can name.
    pub const YEAR_TO_MONTH: i32 = YEAR | MONTH;
    /// No field restriction.
    pub const ALL: i32 = 0x7FFF;
}

/// An interval type modifier: `INTERVAL HOUR TO SECOND(3)` keeps the fields from
/// hours down and three fraction digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Typmod {
    /// [`field`] bits of the fields written.
    pub range: i32,
    /// Fraction digits of the seconds kept (0..=6); None keeps all.
    pub precision: Option<u8>,
}

impl Default for Typmod {
    fn default() -> Self {
        Typmod {
            range: field::ALL,
            precision: None,
        }
    }
}

impl Typmod {
    /// PostgreSQL's int4 form (`range << 16 | precision`), -1 for none.
    pub fn encode(self) -> i32 {
        if self == Typmod::default() {
            return -1;
        }
        (self.range << 16) | self.precision.map_or(0xFFFF, i32::from)
    }

    pub fn decode(typmod: i32) -> Self {
        if typmod < 0 {
            return Typmod::default();
        }
        let precision = typmod & 0xFFFF;
        Typmod {
            range: typmod >> 16,
            precision: (precision != 0xFFFF).then_some(precision as u8),
        }
    }
}

/// Reads interval text as PostgreSQL's `interval_in` does with a type modifier
/// and the session's IntervalStyle (under `sql_standard` a leading minus applies
/// to every field when no other field has a sign).
pub fn parse(text: &str, typmod: Typmod, style: Style) -> Result<Interval, Error> {
    let decoded = input::decode(text, typmod.range, style);
    let parts = decoded.map_err(|fail| match fail {
        Fail::Format => Error::Coded {
            code: "22007",
            message: format!("invalid input syntax for type interval: \"{text}\""),
        },
        Fail::Overflow => Error::Coded {
            code: "22015",
            message: format!("interval field value out of range: \"{text}\""),
        },
    })?;
    let months = i64::from(parts.years) * 12 + i64::from(parts.months);
    let mut value = Interval {
        months: i32::try_from(months).map_err(|_| out_of_range())?,
        days: parts.days,
        micros: parts.micros,
    };
    restrict(&mut value, typmod)?;
    Ok(value)
}

/// Zeroes the fields right of a type modifier's last one and rounds the seconds
/// to its precision (PostgreSQL's `AdjustIntervalForTypmod`).
pub fn restrict(value: &mut Interval, typmod: Typmod) -> Result<(), Error> {
    use field::*;
    let truncate = |micros: i64, unit: i64| micros / unit * unit;
    match typmod.range {
        ALL => {}
        YEAR => {
            value.months = value.months / 12 * 12;
            value.days = 0;
            value.micros = 0;
        }
        MONTH | YEAR_TO_MONTH => {
            value.days = 0;
            value.micros = 0;
        }
        DAY => value.micros = 0,
        r if r == HOUR || r == DAY | HOUR => value.micros = truncate(value.micros, USECS_PER_HOUR),
        r if r == MINUTE || r == DAY | HOUR | MINUTE || r == HOUR | MINUTE => {
            value.micros = truncate(value.micros, USECS_PER_MINUTE)
        }
        r if r == SECOND
            || r == DAY | HOUR | MINUTE | SECOND
            || r == HOUR | MINUTE | SECOND
            || r == MINUTE | SECOND => {}
        other => {
            return Err(Error::Internal(format!(
                "unrecognized interval typmod: {other}"
            )));
        }
    }
    if let Some(precision) = typmod.precision {
        if precision > 6 {
            return Err(Error::InvalidParameterValue(format!(
                "interval({precision}) precision must be between 0 and 6"
            )));
        }
        let scale = 10i64.pow(6 - u32::from(precision));
        let half = if precision == 6 { 0 } else { scale / 2 };
        let magnitude = (value.micros.unsigned_abs() as i64 + half) / scale * scale;
        value.micros = if value.micros < 0 {
            -magnitude
        } else {
            magnitude
        };
    }
    Ok(())
}

/// The parts PostgreSQL prints: years and months from the months, hours,
/// minutes, seconds and microseconds from the time, each keeping its sign.
struct Printed {
    year: i64,
    mon: i64,
    day: i64,
    hour: i64,
    min: i64,
    sec: i64,
    usec: i64,
}

impl Printed {
    fn of(v: Interval) -> Self {
        let t = v.micros;
        Printed {
            year: i64::from(v.months / 12),
            mon: i64::from(v.months % 12),
            day: i64::from(v.days),
            hour: t / USECS_PER_HOUR,
            min: t % USECS_PER_HOUR / USECS_PER_MINUTE,
            sec: t % USECS_PER_MINUTE / USECS_PER_SEC,
            usec: t % USECS_PER_SEC,
        }
    }

    fn time_is_zero(&self) -> bool {
        self.hour == 0 && self.min == 0 && self.sec == 0 && self.usec == 0
    }
}

/// Seconds without sign, two digits when `pad`, then up to six fraction digits
/// without trailing zeros.
fn seconds(sec: i64, usec: i64, pad: bool) -> String {
    let mut out = if pad {
        format!("{:02}", sec.abs())
    } else {
        sec.abs().to_string()
    };
    if usec != 0 {
        let digits = format!("{:06}", usec.abs());
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}

/// An interval as text in the given style (PostgreSQL's `interval_out`).
pub fn format(v: Interval, style: Style) -> String {
    let p = Printed::of(v);
    match style {
        Style::Postgres => format_postgres(&p),
        Style::PostgresVerbose => format_verbose(&p),
        Style::SqlStandard => format_sql_standard(&p),
        Style::Iso8601 => format_iso8601(&p),
    }
}

fn format_postgres(p: &Printed) -> String {
    let mut out = String::new();
    // A field after a negative one carries its sign, even when positive.
    let mut after_negative = false;
    for (value, unit) in [(p.year, "year"), (p.mon, "mon"), (p.day, "day")] {
        if value == 0 {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        let sign = if after_negative && value > 0 { "+" } else { "" };
        let plural = if value == 1 { "" } else { "s" };
        out.push_str(&format!("{sign}{value} {unit}{plural}"));
        after_negative = value < 0;
    }
    if out.is_empty() || !p.time_is_zero() {
        let minus = p.hour < 0 || p.min < 0 || p.sec < 0 || p.usec < 0;
        let sign = if minus {
            "-"
        } else if after_negative {
            "+"
        } else {
            ""
        };
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&format!(
            "{sign}{:02}:{:02}:{}",
            p.hour.abs(),
            p.min.abs(),
            seconds(p.sec, p.usec, true)
        ));
    }
    out
}

fn format_verbose(p: &Printed) -> String {
    let mut out = String::from("@");
    let mut zero = true;
    let mut before = false;
    let fields = [
        (p.year, "year"),
        (p.mon, "mon"),
        (p.day, "day"),
        (p.hour, "hour"),
        (p.min, "min"),
    ];
    for (value, unit) in fields {
        if value == 0 {
            continue;
        }
        // The first field's sign becomes `ago`; later ones are shown relative to it.
        let shown = if zero {
            before = value < 0;
            value.abs()
        } else if before {
            -value
        } else {
            value
        };
        let plural = if shown == 1 { "" } else { "s" };
        out.push_str(&format!(" {shown} {unit}{plural}"));
        zero = false;
    }
    if p.sec != 0 || p.usec != 0 {
        out.push(' ');
        if p.sec < 0 || (p.sec == 0 && p.usec < 0) {
            if zero {
                before = true;
            } else if !before {
                out.push('-');
            }
        } else if before {
            out.push('-');
        }
        let plural = if p.sec.abs() != 1 || p.usec != 0 {
            "s"
        } else {
            ""
        };
        out.push_str(&format!("{} sec{plural}", seconds(p.sec, p.usec, false)));
        zero = false;
    }
    if zero {
        out.push_str(" 0");
    }
    if before {
        out.push_str(" ago");
    }
    out
}

fn format_sql_standard(p: &Printed) -> String {
    let values = [p.year, p.mon, p.day, p.hour, p.min, p.sec, p.usec];
    let negative = values.iter().any(|v| *v < 0);
    let positive = values.iter().any(|v| *v > 0);
    let year_month = p.year != 0 || p.mon != 0;
    let day_time = p.day != 0 || !p.time_is_zero();
    let mixed = (negative && positive) || (year_month && day_time);
    if !negative && !positive {
        return "0".into();
    }
    if mixed {
        // Mixed signs or both kinds of field: every part signed.
        let sign = |neg: bool| if neg { '-' } else { '+' };
        return format!(
            "{}{}-{} {}{} {}{}:{:02}:{}",
            sign(p.year < 0 || p.mon < 0),
            p.year.abs(),
            p.mon.abs(),
            sign(p.day < 0),
            p.day.abs(),
            sign(p.hour < 0 || p.min < 0 || p.sec < 0 || p.usec < 0),
            p.hour.abs(),
            p.min.abs(),
            seconds(p.sec, p.usec, true)
        );
    }
    let sign = if negative { "-" } else { "" };
    if year_month {
        format!("{sign}{}-{}", p.year.abs(), p.mon.abs())
    } else if p.day != 0 {
        format!(
            "{sign}{} {}:{:02}:{}",
            p.day.abs(),
            p.hour.abs(),
            p.min.abs(),
            seconds(p.sec, p.usec, true)
        )
    } else {
        format!(
            "{sign}{}:{:02}:{}",
            p.hour.abs(),
            p.min.abs(),
            seconds(p.sec, p.usec, true)
        )
    }
}

fn format_iso8601(p: &Printed) -> String {
    if p.year == 0 && p.mon == 0 && p.day == 0 && p.time_is_zero() {
        return "PT0S".into();
    }
    let mut out = String::from("P");
    let part = |value: i64, designator: char, out: &mut String| {
        if value != 0 {
            out.push_str(&format!("{value}{designator}"));
        }
    };
    part(p.year, 'Y', &mut out);
    part(p.mon, 'M', &mut out);
    part(p.day, 'D', &mut out);
    if !p.time_is_zero() {
        out.push('T');
    }
    part(p.hour, 'H', &mut out);
    part(p.min, 'M', &mut out);
    if p.sec != 0 || p.usec != 0 {
        if p.sec < 0 || p.usec < 0 {
            out.push('-');
        }
        out.push_str(&seconds(p.sec, p.usec, false));
        out.push('S');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Interval, String> {
        parse(text, Typmod::default(), Style::Postgres).map_err(|e| match e {
            Error::Coded { code, .. } => code.to_string(),
            other => other.to_string(),
        })
    }

    fn iv(months: i32, days: i32, micros: i64) -> Interval {
        Interval {
            months,
            days,
            micros,
        }
    }

    #[test]
    fn postgres_units_and_ago() {
        assert_eq!(read("@ 1 minute"), Ok(iv(0, 0, 60_000_000)));
        assert_eq!(read("@ 14 seconds ago"), Ok(iv(0, 0, -14_000_000)));
        assert_eq!(read("1 day 2 hours"), Ok(iv(0, 1, 2 * USECS_PER_HOUR)));
        assert_eq!(read("1.5 months"), Ok(iv(1, 15, 0)));
        assert_eq!(read("10mon -1000000000d"), Ok(iv(10, -1_000_000_000, 0)));
        assert_eq!(
            read("-1 +02:03"),
            Ok(iv(0, -1, 2 * USECS_PER_HOUR + 3 * USECS_PER_MINUTE))
        );
        assert_eq!(read("1-2"), Ok(iv(14, 0, 0)));
        assert_eq!(read("123 11"), Err("22007".into()));
        assert_eq!(read("1 day 1 day"), Err("22007".into()));
        assert_eq!(
            read("4 millenniums 5 centuries"),
            Ok(iv(4 * 12000 + 5 * 1200, 0, 0))
        );
        assert_eq!(read("5 microseconds"), Ok(iv(0, 0, 5)));
        assert_eq!(read("2147483648 days"), Err("22015".into()));
        assert_eq!(read("2147483647 years"), Err("22008".into()));
        assert_eq!(read("ago"), Err("22007".into()));
        assert_eq!(read(""), Err("22007".into()));
    }

    #[test]
    fn iso8601_forms() {
        assert_eq!(read("P1Y2M"), Ok(iv(14, 0, 0)));
        assert_eq!(read("P1W"), Ok(iv(0, 7, 0)));
        assert_eq!(read("PT10H"), Ok(iv(0, 0, 10 * USECS_PER_HOUR)));
        assert_eq!(
            read("P0002-10-15T10:30:20"),
            Ok(iv(
                34,
                15,
                10 * USECS_PER_HOUR + 30 * USECS_PER_MINUTE + 20 * USECS_PER_SEC
            ))
        );
        assert_eq!(read("P00021015T103020"), read("P0002-10-15T10:30:20"));
        assert_eq!(read("P10.5e4Y"), Ok(iv(105_000 * 12, 0, 0)));
        assert_eq!(read("P1.1Y0M3DT4H5M6S").map(|v| v.months), Ok(13));
    }

    #[test]
    fn type_modifiers_restrict_and_place_numbers() {
        let with = |text: &str, range: i32, precision: Option<u8>| {
            parse(text, Typmod { range, precision }, Style::Postgres).unwrap()
        };
        use field::*;
        assert_eq!(with("1 2", DAY | HOUR, None), iv(0, 1, 2 * USECS_PER_HOUR));
        assert_eq!(
            with("1 2:03:04", DAY | HOUR, None),
            iv(0, 1, 2 * USECS_PER_HOUR)
        );
        assert_eq!(
            with("2:03", MINUTE | SECOND, None),
            iv(0, 0, 123 * USECS_PER_SEC)
        );
        assert_eq!(with("1-2", YEAR, None), iv(12, 0, 0));
        assert_eq!(with("1.234", SECOND, Some(2)), iv(0, 0, 1_230_000));
        assert_eq!(
            Typmod::decode(
                Typmod {
                    range: DAY,
                    precision: Some(3)
                }
                .encode()
            )
            .precision,
            Some(3)
        );
    }

    #[test]
    fn output_styles() {
        let v = iv(14, 3, 4 * USECS_PER_HOUR + 5 * USECS_PER_MINUTE + 6_500_000);
        assert_eq!(
            format(v, Style::Postgres),
            "1 year 2 mons 3 days 04:05:06.5"
        );
        assert_eq!(
            format(v, Style::PostgresVerbose),
            "@ 1 year 2 mons 3 days 4 hours 5 mins 6.5 secs"
        );
        assert_eq!(format(v, Style::SqlStandard), "+1-2 +3 +4:05:06.5");
        assert_eq!(format(v, Style::Iso8601), "P1Y2M3DT4H5M6.5S");
        let negative = iv(0, -1, -USECS_PER_HOUR);
        assert_eq!(format(negative, Style::SqlStandard), "-1 1:00:00");
        assert_eq!(
            format(negative, Style::PostgresVerbose),
            "@ 1 day 1 hour ago"
        );
        assert_eq!(
            format(iv(0, -1, 7_200_000_000), Style::Postgres),
            "-1 days +02:00:00"
        );
        assert_eq!(format(Interval::default(), Style::Postgres), "00:00:00");
        assert_eq!(format(Interval::default(), Style::PostgresVerbose), "@ 0");
        assert_eq!(format(Interval::default(), Style::Iso8601), "PT0S");
        assert_eq!(
            format(iv(-13, 0, -1), Style::Postgres),
            "-1 years -1 mons -00:00:00.000001"
        );
    }
}
