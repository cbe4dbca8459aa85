//! PostgreSQL's date and timestamp input, for the forms Arrow's casts do not
//! read: month names (`January 8, 1999`, `08-Jan-1999`), slashes and dots
//! (`1/8/1999`), run-together digits (`19990108`), day of year (`1999.008`),
//! Julian days (`J2451187`), `BC`, time zone names and offsets, and the
//! special values `epoch`, `today`, `tomorrow`, `yesterday`, `now`.
//!
//! Numeric fields are ordered as the session's DateStyle orders them
//! (MDY, DMY or YMD); a four-digit (or over 31) first field is a year
//! whatever the order (`1999-01-08`).

use crate::zones;
use chrono::{Datelike, NaiveDate, Timelike, Utc};

use crate::error::Error;
use crate::text_output::TextOptions;

/// The order of day, month and year in an all-numeric date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DateOrder {
    Mdy,
    Dmy,
    Ymd,
}

impl DateOrder {
    pub(super) fn of(options: &datafusion::common::config::ConfigOptions) -> Self {
        match options
            .extensions
            .get::<TextOptions>()
            .map(|o| o.date_order.as_str())
        {
            Some("DMY") => DateOrder::Dmy,
            Some("YMD") => DateOrder::Ymd,
            _ => DateOrder::Mdy,
        }
    }
}

/// A date and time read from text, before any time zone is applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct DateTime {
    pub date: NaiveDate,
    /// Microseconds since midnight.
    pub time: i64,
    /// The zone written in the text, in seconds east of UTC.
    pub offset: Option<i32>,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn month_of(word: &str) -> Option<u32> {
    if word.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| word.starts_with(m))
        .map(|i| i as u32 + 1)
}

/// `+HH`, `+HHMM`, `+HH:MM` (or `-`) in seconds east of UTC, within
/// PostgreSQL's range.
fn numeric_offset(text: &str) -> Option<i32> {
    zones::iso_offset(text).filter(|east| east.unsigned_abs() <= zones::MAX_OFFSET)
}

/// `HH:MM[:SS[.ffffff]]` as hours, minutes and microseconds of the minute;
/// None where it is not that shape.
fn clock(text: &str) -> Option<(i64, i64, i64)> {
    let mut parts = text.split(':');
    let hours: i64 = parts.next()?.parse().ok()?;
    let minutes: i64 = parts.next()?.parse().ok()?;
    let seconds: f64 = match parts.next() {
        Some(s) if !s.is_empty() => s.parse().ok()?,
        _ => 0.0,
    };
    if parts.next().is_some() || !(0.0..1e9).contains(&seconds) {
        return None;
    }
    Some((hours, minutes, (seconds * 1e6).round() as i64))
}

/// Microseconds since midnight of a clock reading, with `AM`/`PM` applied;
/// None where a field is out of range (PostgreSQL allows `24:00:00` and a
/// leap second `23:59:60`, both midnight at the day's end).
fn time_of_day((hours, minutes, micros): (i64, i64, i64), meridiem: Option<bool>) -> Option<i64> {
    let hours = match meridiem {
        Some(_) if !(1..=12).contains(&hours) => return None,
        Some(pm) => hours % 12 + if pm { 12 } else { 0 },
        None => hours,
    };
    if !(0..=24).contains(&hours) || !(0..60).contains(&minutes) || micros > 60_000_000 {
        return None;
    }
    let total = (hours * 60 + minutes) * 60_000_000 + micros;
    (total <= 24 * 3_600_000_000).then_some(total)
}

/// `173201` (after an eight-digit date): hours, minutes and seconds.
fn run_together_clock(text: &str) -> Option<(i64, i64, i64)> {
    if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |r: std::ops::Range<usize>| text[r].parse::<i64>().ok();
    Some((field(0..2)?, field(2..4)?, field(4..6)? * 1_000_000))
}

/// A time zone in the text: a fixed offset, or a named zone whose offset
/// depends on the date and time it is applied to.
#[derive(Debug, Clone)]
enum Zone {
    Offset(i32),
    Named(zones::Zone),
}

impl Zone {
    /// What an abbreviation of PostgreSQL's default set (`pst`, `msk`)
    /// stands for.
    fn abbreviation(word: &str) -> Option<Zone> {
        Some(match zones::Zone::abbreviation(word)? {
            zones::Zone::Fixed(east) => Zone::Offset(east),
            named => Zone::Named(named),
        })
    }
}

/// Reads `text`; `now` gives the date of the relative words.
pub(super) fn parse(
    text: &str,
    order: DateOrder,
    now: chrono::DateTime<Utc>,
) -> Result<DateTime, Error> {
    decode(text, order, now, false)
}

/// Reads a time of day, as PostgreSQL's time input does: a date and a zone
/// may be written and are checked, then left out. Microseconds since
/// midnight.
pub(super) fn parse_time(text: &str, now: chrono::DateTime<Utc>) -> Result<i64, Error> {
    decode(text, DateOrder::Mdy, now, true).map(|t| t.time)
}

fn decode(
    text: &str,
    order: DateOrder,
    now: chrono::DateTime<Utc>,
    time_only: bool,
) -> Result<DateTime, Error> {
    let invalid = || Error::InvalidDatetime(format!("invalid input syntax: \"{text}\""));
    let out_of_range = || Error::Coded {
        code: "22008",
        message: format!("date/time field value out of range: \"{text}\""),
    };
    let original = text.trim();
    let lower = original.to_ascii_lowercase();
    // `1999-01-08T04:05:06`: the T between date and time is a space.
    let lower = {
        let bytes = lower.as_bytes();
        let mut s = String::with_capacity(lower.len());
        for (i, c) in lower.char_indices() {
            let between_digits = i > 0
                && bytes[i - 1].is_ascii_digit()
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
            s.push(if c == 't' && between_digits { ' ' } else { c });
        }
        s
    };

    let mut numbers: Vec<&str> = Vec::new();
    let mut month: Option<u32> = None;
    // How many numbers came before the month's name.
    let mut month_at = 0;
    let mut clock_read: Option<(i64, i64, i64)> = None;
    let mut meridiem: Option<bool> = None;
    let mut time: Option<i64> = None;
    let mut offset: Option<Zone> = None;
    let mut bc = false;
    let mut julian: Option<i64> = None;
    let mut day_of_year: Option<(i32, u32)> = None;
    let mut special: Option<NaiveDate> = None;
    let mut special_time: Option<i64> = None;

    for token in lower.split(|c: char| c.is_whitespace() || c == ',') {
        if token.is_empty() {
            continue;
        }
        let start = token.as_ptr() as usize - lower.as_ptr() as usize;
        let written = &original[start..start + token.len()];
        if clock_read.is_some() && (token.starts_with('+') || token.starts_with('-')) {
            // `17:32:01 -0097`: an offset beyond the clock's is 22009.
            if numeric_offset(token).is_none() && token[1..].bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::Coded {
                    code: "22009",
                    message: format!("time zone displacement out of range: \"{original}\""),
                });
            }
            offset = Some(Zone::Offset(numeric_offset(token).ok_or_else(invalid)?));
            continue;
        }
        // `97feb10`: numbers run together with a month's name.
        let digits = |t: &str| t.bytes().take_while(u8::is_ascii_digit).count();
        let (lead, trail) = (
            digits(token),
            token.bytes().rev().take_while(u8::is_ascii_digit).count(),
        );
        if lead > 0
            && trail > 0
            && lead + trail < token.len()
            && let Some(m) = month_of(&token[lead..token.len() - trail])
            && token[lead..token.len() - trail]
                .bytes()
                .all(|b| b.is_ascii_alphabetic())
        {
            numbers.push(&token[..lead]);
            month = Some(m);
            month_at = numbers.len();
            numbers.push(&token[token.len() - trail..]);
            continue;
        }
        // A POSIX-style zone, an abbreviation and its offset west of UTC:
        // GMT+8 is eight hours behind UTC.
        if let Some(sign) = token.find(['+', '-'])
            && sign > 0
            && token[..sign].bytes().all(|b| b.is_ascii_alphabetic())
            && let Some(east) = numeric_offset(&token[sign..])
        {
            offset = Some(Zone::Offset(-east));
            continue;
        }
        if let "am" | "pm" = token {
            meridiem = Some(token == "pm");
            continue;
        }
        if let Some(colon) = token.find(':') {
            // A time, perhaps with AM/PM or its zone attached: 5:32pm,
            // 04:05:06-08, 04:05z.
            let (token, suffix) = match token.strip_suffix("am").or(token.strip_suffix("pm")) {
                Some(clock) => (clock, Some(token.ends_with("pm"))),
                None => (token, None),
            };
            meridiem = meridiem.or(suffix);
            let zone_at = token[colon..].find(['+', '-', 'z']).map(|i| colon + i);
            let (reading, zone) = token.split_at(zone_at.unwrap_or(token.len()));
            clock_read = Some(clock(reading).ok_or_else(invalid)?);
            if !zone.is_empty() {
                offset = Some(Zone::Offset(match zone {
                    "z" => 0,
                    zone => numeric_offset(zone).ok_or_else(invalid)?,
                }));
            }
            continue;
        }
        if clock_read.is_none()
            && numbers.iter().any(|n| n.len() == 8)
            && let Some(reading) = run_together_clock(token)
        {
            clock_read = Some(reading);
            continue;
        }
        // A named zone: America/New_York.
        if token.contains('/') && token.starts_with(|c: char| c.is_ascii_alphabetic()) {
            let zone = zones::Zone::region(written).ok_or_else(|| Error::Coded {
                code: "22023",
                message: zones::not_recognized(written),
            })?;
            offset = Some(Zone::Named(zone));
            continue;
        }
        if let Some(days) = token.strip_prefix('j')
            && !days.is_empty()
            && days.bytes().all(|b| b.is_ascii_digit())
        {
            julian = Some(days.parse().map_err(|_| invalid())?);
            continue;
        }
        if let Some((year, day)) = token.split_once('.')
            && year.len() == 4
            && day.len() == 3
            && (year.bytes().chain(day.bytes())).all(|b| b.is_ascii_digit())
        {
            day_of_year = Some((year.parse().unwrap_or(0), day.parse().unwrap_or(0)));
            continue;
        }
        for field in token.split(['-', '/', '.']) {
            if field.is_empty() {
                continue;
            }
            if field.bytes().all(|b| b.is_ascii_digit()) {
                numbers.push(field);
                continue;
            }
            match field {
                "bc" => bc = true,
                "ad" => {}
                "epoch" => {
                    special = NaiveDate::from_ymd_opt(1970, 1, 1);
                    special_time = Some(0);
                }
                "today" => special = Some(now.date_naive()),
                "tomorrow" => special = now.date_naive().succ_opt(),
                "yesterday" => special = now.date_naive().pred_opt(),
                "now" => {
                    special = Some(now.date_naive());
                    special_time = Some(
                        i64::from(now.time().num_seconds_from_midnight()) * 1_000_000
                            + i64::from(now.timestamp_subsec_micros()),
                    );
                    offset = Some(Zone::Offset(0));
                }
                "allballs" => time = Some(0),
                word => {
                    if let Some(m) = month_of(word) {
                        month = Some(m);
                        month_at = numbers.len();
                    } else if DAYS.iter().any(|d| word.starts_with(d)) {
                        // A day of the week says nothing the date does not.
                    } else if let Some(zone) = Zone::abbreviation(word) {
                        offset = Some(zone);
                    } else {
                        return Err(invalid());
                    }
                }
            }
        }
    }

    if let Some(reading) = clock_read {
        time = Some(time_of_day(reading, meridiem).ok_or_else(out_of_range)?);
    } else if meridiem.is_some() {
        return Err(invalid());
    }
    let dateless = numbers.is_empty()
        && month.is_none()
        && special.is_none()
        && julian.is_none()
        && day_of_year.is_none();
    if time_only && dateless {
        // A named zone's offset depends on the date, which is not there.
        if matches!(offset, Some(Zone::Named(_))) {
            return Err(invalid());
        }
        return Ok(DateTime {
            date: NaiveDate::default(),
            time: time.ok_or_else(invalid)?,
            offset: match offset {
                Some(Zone::Offset(seconds)) => Some(seconds),
                _ => None,
            },
        });
    }
    let year_of = |field: &str| -> Result<i32, Error> {
        let year: i32 = field.parse().map_err(|_| invalid())?;
        // Two-digit years are 1970–2069, as PostgreSQL reads them; a BC
        // year is read as written.
        Ok(match (field.len(), year) {
            (_, y) if bc => y,
            (1..=2, y) if y < 70 => 2000 + y,
            (1..=2, y) => 1900 + y,
            (_, y) => y,
        })
    };
    let number = |field: &str| -> Result<u32, Error> { field.parse().map_err(|_| invalid()) };
    let date = if let Some(date) = special {
        if !numbers.is_empty() || month.is_some() {
            return Err(invalid());
        }
        time = time.or(special_time);
        date
    } else if let Some(days) = julian {
        // Julian day 2440588 is 1970-01-01.
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
        epoch
            .checked_add_signed(chrono::Duration::days(days - 2_440_588))
            .ok_or_else(out_of_range)?
    } else if let Some((year, day)) = day_of_year {
        NaiveDate::from_yo_opt(year, day).ok_or_else(out_of_range)?
    } else {
        let (year, month, day) = match (month, numbers.as_slice()) {
            (None, [ymd]) if ymd.len() == 8 => {
                (year_of(&ymd[..4])?, number(&ymd[4..6])?, number(&ymd[6..])?)
            }
            (None, [ymd]) if ymd.len() == 6 => {
                (year_of(&ymd[..2])?, number(&ymd[2..4])?, number(&ymd[4..])?)
            }
            (None, [a, b, c]) if a.len() >= 3 || number(a)? > 31 => {
                (year_of(a)?, number(b)?, number(c)?)
            }
            (None, [a, b, c]) => match order {
                DateOrder::Mdy => (year_of(c)?, number(a)?, number(b)?),
                DateOrder::Dmy => (year_of(c)?, number(b)?, number(a)?),
                DateOrder::Ymd => (year_of(a)?, number(b)?, number(c)?),
            },
            // A month's name after both numbers is not a date.
            (Some(_), [_, _]) if month_at == 2 => return Err(invalid()),
            (Some(m), [a, b]) if a.len() >= 3 || order == DateOrder::Ymd => {
                (year_of(a)?, m, number(b)?)
            }
            // A leading number that can be neither day nor written-out year.
            (Some(_), [d, _]) if number(d)? > 31 => return Err(invalid()),
            (Some(m), [d, y]) => (year_of(y)?, m, number(d)?),
            _ => return Err(invalid()),
        };
        let year = if bc { 1 - year } else { year };
        NaiveDate::from_ymd_opt(year, month, day).ok_or_else(out_of_range)?
    };
    let date = match (
        bc,
        special.is_some() || julian.is_some() || day_of_year.is_some(),
    ) {
        (true, true) => NaiveDate::from_ymd_opt(1 - date.year(), date.month(), date.day())
            .ok_or_else(out_of_range)?,
        _ => date,
    };
    let time = time.unwrap_or(0);
    let offset = match offset {
        Some(Zone::Offset(seconds)) => Some(seconds),
        // A named zone's offset is the one in force at that local time.
        Some(Zone::Named(zone)) => {
            let days = (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date")).num_days();
            Some(zone.local_offset(days * 86_400 + time.div_euclid(1_000_000)))
        }
        None => None,
    };
    Ok(DateTime { date, time, offset })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> String {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-06T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        match parse(text, DateOrder::Mdy, now) {
            Ok(parsed) => parsed.date.format("%Y-%m-%d").to_string(),
            Err(e) => format!("error {e}"),
        }
    }

    #[test]
    fn dates_read_as_postgresql_reads_them() {
        for (text, expected) in [
            ("January 8, 1999", "1999-01-08"),
            ("1999-01-08", "1999-01-08"),
            ("1/8/1999", "1999-01-08"),
            ("01/02/03", "2003-01-02"),
            ("19990108", "1999-01-08"),
            ("990108", "1999-01-08"),
            ("1999.008", "1999-01-08"),
            ("J2451187", "1999-01-08"),
            ("08-Jan-1999", "1999-01-08"),
            ("Jan-08-99", "1999-01-08"),
            ("1999-Jan-08", "1999-01-08"),
            ("08 Jan 1999", "1999-01-08"),
            ("Jan 08 1999", "1999-01-08"),
            ("Mon Jan 08 04:05:06 1999 PST", "1999-01-08"),
            ("1999-01-08 04:05:06-08:00", "1999-01-08"),
            ("1999-01-08T04:05:06Z", "1999-01-08"),
            ("epoch", "1970-01-01"),
            ("tomorrow", "2026-12-07"),
        ] {
            assert_eq!(date(text), expected, "{text}");
        }
        assert!(
            date("2040-04-10 BC").starts_with("-2039-04-10"),
            "{}",
            date("2040-04-10 BC")
        );
        assert!(date("1997-02-29").contains("out of range"));
        assert!(
            date("January 8, 99 BC").starts_with("-0098-01-08"),
            "{}",
            date("January 8, 99 BC")
        );
        assert!(date("18/1/1999").contains("out of range"));
        assert!(date("banana").contains("invalid input syntax"));
        for text in ["99-08-Jan", "1999-08-Jan", "99 Jan 08", "99 08 Jan"] {
            assert!(date(text).contains("invalid input syntax"), "{text}");
        }
        let now = Utc::now();
        let read = |text: &str, order| parse(text, order, now).unwrap().date.to_string();
        assert_eq!(read("01/02/03", DateOrder::Ymd), "2001-02-03");
        assert_eq!(read("01/02/03", DateOrder::Dmy), "2003-02-01");
        assert_eq!(read("99 Jan 08", DateOrder::Ymd), "1999-01-08");
    }

    #[test]
    fn clocks_zones_and_times_of_day() {
        let now = Utc::now();
        let read = |text: &str| {
            let t = parse(text, DateOrder::Mdy, now).unwrap();
            (t.date.to_string(), t.time / 1_000_000, t.offset)
        };
        // AM/PM, a run-together clock after a run-together date.
        assert_eq!(read("Feb 10 5:32PM 1997").1, 17 * 3600 + 32 * 60);
        assert_eq!(read("1997-02-10 12:15 am").1, 15 * 60);
        assert_eq!(read("19970210 173201").1, 17 * 3600 + 32 * 60 + 1);
        // POSIX zones count hours west; named zones follow daylight time.
        assert_eq!(read("2000-03-15 08:14:01 GMT+8").2, Some(-8 * 3600));
        assert_eq!(read("2000-03-15 02:14:05 MST+7:00").2, Some(-7 * 3600));
        assert_eq!(read("19970210 173201 America/New_York").2, Some(-5 * 3600));
        assert_eq!(read("19970710 173201 america/new_york").2, Some(-4 * 3600));
        assert!(parse("1997-07-10 17:32 Mars/Olympus", DateOrder::Mdy, now).is_err());
        assert!(parse("1997-07-10 13:00 pm", DateOrder::Mdy, now).is_err());
        // Times of day: a date and zone are read and left out; 24:00 is the
        // day's end.
        let time = |text: &str| parse_time(text, now).map(|t| t / 1_000_000);
        assert_eq!(time("02:03 PST").unwrap(), 2 * 3600 + 3 * 60);
        assert_eq!(time("2003-03-07 15:36:39 America/New_York").unwrap(), 56199);
        assert_eq!(time("23:59:60").unwrap(), 86400);
        assert_eq!(time("24:00:00").unwrap(), 86400);
        for text in ["24:00:00.01", "24:01:00", "25:00:00", "12:60"] {
            assert!(
                matches!(time(text), Err(Error::Coded { code: "22008", .. })),
                "{text}"
            );
        }
        assert!(matches!(time("abc"), Err(Error::InvalidDatetime(_))));
        assert!(matches!(
            time("15:36:39 America/New_York"),
            Err(Error::InvalidDatetime(_))
        ));
    }

    #[test]
    fn times_and_zones() {
        let now = Utc::now();
        let parsed = parse("Jan 8 1999 04:05:06.5 -8", DateOrder::Mdy, now).unwrap();
        assert_eq!(parsed.time, ((4 * 60 + 5) * 60 + 6) * 1_000_000 + 500_000);
        assert_eq!(parsed.offset, Some(-8 * 3600));
        let parsed = parse("1999-01-08 04:05 EST", DateOrder::Mdy, now).unwrap();
        assert_eq!(parsed.offset, Some(-5 * 3600));
        assert_eq!(
            parse("1999-01-08 04:05+05:30", DateOrder::Mdy, now)
                .unwrap()
                .offset,
            Some(19800)
        );
        let parsed = parse("1999-01-08 04:05:06 -8:00", DateOrder::Mdy, now).unwrap();
        assert_eq!(
            (parsed.time, parsed.offset),
            (14_706_000_000, Some(-8 * 3600))
        );
    }
}
