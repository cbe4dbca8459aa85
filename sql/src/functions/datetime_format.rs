//! `to_char` of dates and timestamps with PostgreSQL's template patterns:
//! `YYYY`, `Y,YYY`, `IYYY`, `MONTH`/`Month`/`month`, `DY`, `RM`, `HH12`,
//! `SSSS`, `MS`, `US`, `FF1`–`FF6`, `J`, `TZ`, `OF`, `TZH:TZM`, `A.D.`,
//! `P.M.` and the rest; the `FM` (no padding) and `TM` prefixes and the
//! `TH`/`th` ordinal suffixes; text in double quotes and `\"` as written.

use chrono::{Datelike, NaiveDateTime, Timelike};

/// A timestamp as `to_char` sees it.
pub(super) struct Moment {
    /// The wall-clock reading (in the session's zone for a timestamptz).
    pub local: NaiveDateTime,
    /// Seconds east of UTC; 0 for a timestamp without time zone.
    pub offset: i32,
    /// The zone's abbreviation then; empty for a timestamp without zone.
    pub zone: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Case {
    Upper,
    Capital,
    Lower,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Era { dots: bool, case: Case },
    Meridiem { dots: bool, case: Case },
    Hour12,
    Hour24,
    Minute,
    Second,
    Millis,
    Micros,
    Fraction(usize),
    SecondsOfDay,
    Zone(Case),
    Offset,
    OffsetHours,
    OffsetMinutes,
    YearComma,
    Year(usize),
    IsoYear(usize),
    Century,
    Quarter,
    Month,
    MonthName { short: bool, case: Case },
    Roman(Case),
    DayName { short: bool, case: Case },
    DayOfYear,
    Day,
    WeekDay,
    IsoWeekDay,
    IsoDayOfYear,
    IsoWeek,
    Week,
    WeekOfMonth,
    Julian,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Field {
        field: Field,
        fill: bool,
        ordinal: Option<Case>,
    },
}

/// The template patterns, longest first where one begins another.
const PATTERNS: &[(&str, Field)] = {
    use Case::*;
    use Field::*;
    &[
        (
            "A.D.",
            Era {
                dots: true,
                case: Upper,
            },
        ),
        (
            "a.d.",
            Era {
                dots: true,
                case: Lower,
            },
        ),
        (
            "AD",
            Era {
                dots: false,
                case: Upper,
            },
        ),
        (
            "ad",
            Era {
                dots: false,
                case: Lower,
            },
        ),
        (
            "B.C.",
            Era {
                dots: true,
                case: Upper,
            },
        ),
        (
            "b.c.",
            Era {
                dots: true,
                case: Lower,
            },
        ),
        (
            "BC",
            Era {
                dots: false,
                case: Upper,
            },
        ),
        (
            "bc",
            Era {
                dots: false,
                case: Lower,
            },
        ),
        (
            "A.M.",
            Meridiem {
                dots: true,
                case: Upper,
            },
        ),
        (
            "a.m.",
            Meridiem {
                dots: true,
                case: Lower,
            },
        ),
        (
            "AM",
            Meridiem {
                dots: false,
                case: Upper,
            },
        ),
        (
            "am",
            Meridiem {
                dots: false,
                case: Lower,
            },
        ),
        (
            "P.M.",
            Meridiem {
                dots: true,
                case: Upper,
            },
        ),
        (
            "p.m.",
            Meridiem {
                dots: true,
                case: Lower,
            },
        ),
        (
            "PM",
            Meridiem {
                dots: false,
                case: Upper,
            },
        ),
        (
            "pm",
            Meridiem {
                dots: false,
                case: Lower,
            },
        ),
        ("CC", Century),
        (
            "DAY",
            DayName {
                short: false,
                case: Upper,
            },
        ),
        (
            "Day",
            DayName {
                short: false,
                case: Capital,
            },
        ),
        (
            "day",
            DayName {
                short: false,
                case: Lower,
            },
        ),
        ("DDD", DayOfYear),
        ("DD", Day),
        (
            "DY",
            DayName {
                short: true,
                case: Upper,
            },
        ),
        (
            "Dy",
            DayName {
                short: true,
                case: Capital,
            },
        ),
        (
            "dy",
            DayName {
                short: true,
                case: Lower,
            },
        ),
        ("D", WeekDay),
        ("FF1", Fraction(1)),
        ("FF2", Fraction(2)),
        ("FF3", Fraction(3)),
        ("FF4", Fraction(4)),
        ("FF5", Fraction(5)),
        ("FF6", Fraction(6)),
        ("HH24", Hour24),
        ("HH12", Hour12),
        ("HH", Hour12),
        ("IDDD", IsoDayOfYear),
        ("ID", IsoWeekDay),
        ("IW", IsoWeek),
        ("IYYY", IsoYear(4)),
        ("IYY", IsoYear(3)),
        ("IY", IsoYear(2)),
        ("I", IsoYear(1)),
        ("J", Julian),
        ("MI", Minute),
        ("MM", Month),
        (
            "MONTH",
            MonthName {
                short: false,
                case: Upper,
            },
        ),
        (
            "Month",
            MonthName {
                short: false,
                case: Capital,
            },
        ),
        (
            "month",
            MonthName {
                short: false,
                case: Lower,
            },
        ),
        (
            "MON",
            MonthName {
                short: true,
                case: Upper,
            },
        ),
        (
            "Mon",
            MonthName {
                short: true,
                case: Capital,
            },
        ),
        (
            "mon",
            MonthName {
                short: true,
                case: Lower,
            },
        ),
        ("MS", Millis),
        ("OF", Offset),
        ("Q", Quarter),
        ("RM", Roman(Upper)),
        ("rm", Roman(Lower)),
        ("SSSSS", SecondsOfDay),
        ("SSSS", SecondsOfDay),
        ("SS", Second),
        ("TZH", OffsetHours),
        ("TZM", OffsetMinutes),
        ("TZ", Zone(Upper)),
        ("tz", Zone(Lower)),
        ("US", Micros),
        ("WW", Week),
        ("W", WeekOfMonth),
        ("Y,YYY", YearComma),
        ("YYYY", Year(4)),
        ("YYY", Year(3)),
        ("YY", Year(2)),
        ("Y", Year(1)),
    ]
};

/// The lower-case spellings PostgreSQL also takes for the patterns that
/// have no case of their own.
fn pattern_at(text: &str) -> Option<(usize, Field)> {
    for (name, field) in PATTERNS {
        if text.starts_with(name) {
            return Some((name.len(), *field));
        }
        let caseless = !matches!(
            field,
            Field::Era { .. }
                | Field::Meridiem { .. }
                | Field::DayName { .. }
                | Field::MonthName { .. }
                | Field::Roman(_)
                | Field::Zone(_)
        );
        if caseless
            && text.len() >= name.len()
            && text.is_char_boundary(name.len())
            && text[..name.len()] == name.to_ascii_lowercase()
        {
            return Some((name.len(), *field));
        }
    }
    None
}

/// A template read into text and fields.
pub(super) struct Template(Vec<Node>);

pub(super) fn parse(template: &str) -> Template {
    let mut nodes = Vec::new();
    let mut text = String::new();
    let mut rest = template;
    let mut fill = false;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("FM").or_else(|| rest.strip_prefix("fm")) {
            fill = true;
            rest = after;
            continue;
        }
        if let Some(after) = ["TM", "tm", "FX", "fx"]
            .iter()
            .find_map(|p| rest.strip_prefix(p))
        {
            rest = after;
            continue;
        }
        if let Some((len, field)) = pattern_at(rest) {
            rest = &rest[len..];
            let ordinal = if rest.starts_with("TH") {
                Some(Case::Upper)
            } else if rest.starts_with("th") {
                Some(Case::Lower)
            } else {
                None
            };
            if ordinal.is_some() {
                rest = &rest[2..];
            }
            if !text.is_empty() {
                nodes.push(Node::Text(std::mem::take(&mut text)));
            }
            nodes.push(Node::Field {
                field,
                fill,
                ordinal,
            });
            fill = false;
            continue;
        }
        rest = &rest[c.len_utf8()..];
        match c {
            '"' => {
                // Quoted text; a backslash takes the next character as written.
                let mut chars = rest.char_indices();
                let mut end = rest.len();
                while let Some((i, q)) = chars.next() {
                    match q {
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        '\\' => {
                            if let Some((_, next)) = chars.next() {
                                text.push(next);
                            }
                        }
                        other => text.push(other),
                    }
                }
                rest = &rest[end.min(rest.len())..];
            }
            '\\' if rest.starts_with('"') => {
                text.push('"');
                rest = &rest[1..];
            }
            other => text.push(other),
        }
    }
    if !text.is_empty() {
        nodes.push(Node::Text(text));
    }
    Template(nodes)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const ROMAN: [&str; 12] = [
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
];

fn cased(text: &str, case: Case) -> String {
    match case {
        Case::Upper => text.to_ascii_uppercase(),
        Case::Lower => text.to_ascii_lowercase(),
        Case::Capital => text.to_string(),
    }
}

/// `st`, `nd`, `rd` or `th` for the number `digits` ends with.
fn ordinal(digits: &str, case: Case) -> String {
    let tail = digits.trim_start_matches('-');
    let last_two = tail.get(tail.len().saturating_sub(2)..).unwrap_or("");
    let suffix = match (
        last_two.len() == 2 && last_two.starts_with('1'),
        tail.chars().last(),
    ) {
        (true, _) => "th",
        (false, Some('1')) => "st",
        (false, Some('2')) => "nd",
        (false, Some('3')) => "rd",
        _ => "th",
    };
    cased(suffix, case)
}

/// `value` zero-padded to `width` digits (the sign not counted), or as is
/// in fill mode.
fn padded(value: i64, width: usize, fill: bool) -> String {
    if fill {
        return value.to_string();
    }
    match value < 0 {
        true => format!("-{:0width$}", value.unsigned_abs()),
        false => format!("{value:0width$}"),
    }
}

/// The template rendered for one moment.
pub(super) fn render(Template(nodes): &Template, at: &Moment) -> String {
    let local = at.local;
    let year = local.year();
    // Years as written: 1 BC is year 1 of its era.
    let era_year = i64::from(if year <= 0 { 1 - year } else { year });
    let iso = local.iso_week();
    let iso_year = i64::from(if iso.year() <= 0 {
        1 - iso.year()
    } else {
        iso.year()
    });
    let hour12 = match local.hour() % 12 {
        0 => 12,
        h => h,
    };
    let micros = i64::from(local.nanosecond() / 1_000);
    let mut out = String::new();
    for node in nodes {
        let (field, fill, suffix) = match node {
            Node::Text(text) => {
                out.push_str(text);
                continue;
            }
            Node::Field {
                field,
                fill,
                ordinal,
            } => (*field, *fill, *ordinal),
        };
        let number = |value: i64, width: usize| padded(value, width, fill);
        let name = |text: &str, width: usize| match fill {
            true => text.to_string(),
            false => format!("{text:<width$}"),
        };
        let text = match field {
            Field::Era { dots, case } => {
                let bc = year <= 0;
                let text = match (bc, dots) {
                    (false, true) => "A.D.",
                    (false, false) => "AD",
                    (true, true) => "B.C.",
                    (true, false) => "BC",
                };
                cased(text, case)
            }
            Field::Meridiem { dots, case } => {
                let pm = local.hour() >= 12;
                let text = match (pm, dots) {
                    (false, true) => "A.M.",
                    (false, false) => "AM",
                    (true, true) => "P.M.",
                    (true, false) => "PM",
                };
                cased(text, case)
            }
            Field::Hour12 => number(i64::from(hour12), 2),
            Field::Hour24 => number(i64::from(local.hour()), 2),
            Field::Minute => number(i64::from(local.minute()), 2),
            Field::Second => number(i64::from(local.second()), 2),
            Field::Millis => number(micros / 1_000, 3),
            Field::Micros => number(micros, 6),
            Field::Fraction(digits) => number(micros / 10i64.pow(6 - digits as u32), digits),
            Field::SecondsOfDay => i64::from(local.num_seconds_from_midnight()).to_string(),
            Field::Zone(case) => cased(&at.zone, case),
            Field::Offset => {
                let sign = if at.offset < 0 { '-' } else { '+' };
                let east = at.offset.unsigned_abs();
                let hours = padded(i64::from(east / 3600), 2, fill);
                match east % 3600 / 60 {
                    0 => format!("{sign}{hours}"),
                    minutes => format!("{sign}{hours}:{minutes:02}"),
                }
            }
            Field::OffsetHours => {
                let sign = if at.offset < 0 { '-' } else { '+' };
                format!(
                    "{sign}{}",
                    number(i64::from(at.offset.unsigned_abs() / 3600), 2)
                )
            }
            Field::OffsetMinutes => number(i64::from(at.offset.unsigned_abs() / 60 % 60), 2),
            Field::YearComma => format!("{},{:03}", era_year / 1000, era_year % 1000),
            Field::Year(4) => number(era_year, 4),
            Field::Year(digits) => number(era_year % 10i64.pow(digits as u32), digits),
            Field::IsoYear(4) => number(iso_year, 4),
            Field::IsoYear(digits) => number(iso_year % 10i64.pow(digits as u32), digits),
            Field::Century => {
                let century = match year > 0 {
                    true => (year - 1) / 100 + 1,
                    false => year / 100 - 1,
                };
                match (century, fill) {
                    (-99..=-1, false) => format!("-{:02}", -century),
                    _ => number(i64::from(century), 2),
                }
            }
            Field::Quarter => local.month().div_ceil(3).to_string(),
            Field::Month => number(i64::from(local.month()), 2),
            Field::MonthName { short, case } => {
                let full = MONTHS[local.month0() as usize];
                match short {
                    true => cased(&full[..3], case),
                    false => name(&cased(full, case), 9),
                }
            }
            Field::Roman(case) => name(&cased(ROMAN[local.month0() as usize], case), 4),
            Field::DayName { short, case } => {
                let full = DAYS[local.weekday().num_days_from_sunday() as usize];
                match short {
                    true => cased(&full[..3], case),
                    false => name(&cased(full, case), 9),
                }
            }
            Field::DayOfYear => number(i64::from(local.ordinal()), 3),
            Field::Day => number(i64::from(local.day()), 2),
            Field::WeekDay => (local.weekday().num_days_from_sunday() + 1).to_string(),
            Field::IsoWeekDay => local.weekday().number_from_monday().to_string(),
            Field::IsoDayOfYear => number(
                i64::from((iso.week() - 1) * 7 + local.weekday().number_from_monday()),
                3,
            ),
            Field::IsoWeek => number(i64::from(iso.week()), 2),
            Field::Week => number(i64::from((local.ordinal() - 1) / 7 + 1), 2),
            Field::WeekOfMonth => ((local.day() - 1) / 7 + 1).to_string(),
            Field::Julian => (i64::from(local.date().num_days_from_ce()) + 1_721_425).to_string(),
        };
        out.push_str(&text);
        if let Some(case) = suffix {
            let numeric = !matches!(
                field,
                Field::Era { .. }
                    | Field::Meridiem { .. }
                    | Field::MonthName { .. }
                    | Field::DayName { .. }
                    | Field::Roman(_)
                    | Field::Zone(_)
            );
            if numeric {
                out.push_str(&ordinal(&text, case));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_char(local: &str, template: &str) -> String {
        let local = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S%.f").unwrap();
        let at = Moment {
            local,
            offset: -(4 * 3600 + 1800),
            zone: "PST".into(),
        };
        render(&parse(template), &at)
    }

    #[test]
    fn templates_render_as_postgresql_renders_them() {
        let t = "1997-02-10 17:32:01.000004";
        assert_eq!(
            to_char(t, "DAY Day day DY Dy dy MONTH Month month RM MON Mon mon"),
            "MONDAY    Monday    monday    MON Mon mon FEBRUARY  February  february  II   FEB Feb feb"
        );
        assert_eq!(
            to_char(t, "FMDAY FMDay FMMONTH FMRM"),
            "MONDAY Monday FEBRUARY II"
        );
        assert_eq!(
            to_char(t, "Y,YYY YYYY YYY YY Y CC Q MM WW DDD DD D J"),
            "1,997 1997 997 97 7 20 1 02 06 041 10 2 2450490"
        );
        assert_eq!(
            to_char(t, "HH HH12 HH24 MI SS SSSS"),
            "05 05 17 32 01 63121"
        );
        assert_eq!(
            to_char(
                t,
                r#""HH:MI:SS is" HH:MI:SS "\"text between quote marks\"""#
            ),
            r#"HH:MI:SS is 05:32:01 "text between quote marks""#
        );
        assert_eq!(
            to_char(t, "YYYYTH YYYYth Jth DDth"),
            "1997TH 1997th 2450490th 10th"
        );
        assert_eq!(
            to_char(t, "YYYY A.D. YYYY a.d. YYYY bc HH:MI:SS P.M. HH:MI:SS p.m."),
            "1997 A.D. 1997 a.d. 1997 ad 05:32:01 P.M. 05:32:01 p.m."
        );
        assert_eq!(
            to_char(t, "IYYY IYY IY I IW IDDD ID"),
            "1997 997 97 7 07 043 1"
        );
        assert_eq!(to_char(t, "FF1 FF3 FF6 MS US"), "0 000 000004 000 000004");
        assert_eq!(to_char(t, "OF TZH:TZM TZ tz"), "-04:30 -04:30 PST pst");
        assert_eq!(to_char("0044-03-15 12:00:00", "YYYY BC CC"), "0044 AD 01");
        assert_eq!(to_char("-0043-03-15 12:00:00", "YYYY BC CC"), "0044 BC -01");
    }
}
