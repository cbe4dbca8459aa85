//! Time zones as PostgreSQL names them: regions of the tz database (any
//! letter case), the abbreviations of its default set (`EST`, `MSK`), POSIX
//! specifications (`UTC+3`, `PST8PDT,M3.2.0,M11.1.0`, `04:30`) and the
//! numeric offsets `SET TIME ZONE` takes; with PostgreSQL's rules for a
//! local time the clock skipped or repeated.
//!
//! Offsets are in seconds east of UTC, as ISO 8601 writes them; POSIX text
//! counts the other way (`UTC+3` is three hours behind UTC).

mod abbreviations;
mod posix;

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::{OffsetName, Tz};

use crate::error::Error;

pub use posix::Posix;

/// What an abbreviation of PostgreSQL's default set stands for.
#[derive(Debug, Clone, Copy)]
enum Meaning {
    /// A fixed offset, seconds east of UTC.
    Fixed(i32),
    /// The offset the named region used under this abbreviation.
    Zone(&'static str),
}

/// A time zone a value can be shown in or read in.
#[derive(Debug, Clone, PartialEq)]
pub enum Zone {
    /// A region of the tz database: `Europe/Moscow`.
    Region(Tz),
    /// A fixed offset from UTC, seconds east: `EST`, `INTERVAL '3 hours'`.
    Fixed(i32),
    /// An abbreviation whose offset changed over time (`MSK`): the offset
    /// its region used under that name nearest before the time in question.
    Abbreviation { region: Tz, name: &'static str },
    /// A POSIX specification: `UTC+3`, `FOO8BAR`, `<+02>-02`.
    Posix(Posix),
}

pub const UTC: Zone = Zone::Fixed(0);

/// The tz database's regions by their lower-case names.
static REGIONS: LazyLock<HashMap<String, Tz>> = LazyLock::new(|| {
    chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| (tz.name().to_ascii_lowercase(), *tz))
        .collect()
});

/// The `time zone "…" not recognized` error's text.
pub fn not_recognized(spec: &str) -> String {
    format!("time zone \"{spec}\" not recognized")
}

impl Zone {
    /// A zone as `AT TIME ZONE`, `timezone()`, `make_timestamptz` and
    /// `date_trunc` take it: an abbreviation first, then a region, then a
    /// POSIX specification; None where it is none of them.
    pub fn named(spec: &str) -> Option<Zone> {
        Self::abbreviation(spec)
            .or_else(|| Self::region(spec))
            .or_else(|| Posix::parse(spec).map(Posix::simplified))
    }

    /// A zone as `make_timestamptz` and `date_trunc` take it: an ISO offset
    /// (`+2`, `-05:30`, counting east), else as [`Zone::named`]; a leading
    /// digit is refused, as PostgreSQL refuses it.
    pub fn sane(spec: &str) -> Result<Zone, Error> {
        if spec.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(Error::InvalidParameterValue(format!(
                "invalid input syntax for type numeric time zone: \"{spec}\""
            )));
        }
        if let Some(east) = iso_offset(spec) {
            if east.unsigned_abs() > MAX_OFFSET {
                return Err(Error::InvalidParameterValue(format!(
                    "numeric time zone \"{spec}\" out of range"
                )));
            }
            return Ok(Zone::Fixed(east));
        }
        Self::named(spec).ok_or_else(|| Error::InvalidParameterValue(not_recognized(spec)))
    }

    /// A zone as the TimeZone setting takes it: a number of hours east of
    /// UTC, a region or a POSIX specification (not an abbreviation).
    pub fn setting(spec: &str) -> Option<Zone> {
        let spec = spec.trim();
        if let Ok(hours) = spec.parse::<f64>()
            && hours.abs() < 168.0
        {
            return Some(Zone::Fixed((hours * 3600.0).round() as i32));
        }
        // A POSIX zone keeps its name, which `to_char`'s `TZ` shows.
        Self::region(spec).or_else(|| Posix::parse(spec).map(Zone::Posix))
    }

    /// The abbreviation of PostgreSQL's default set that `spec` is, if any.
    pub fn abbreviation(spec: &str) -> Option<Zone> {
        let lower = spec.to_ascii_lowercase();
        let table = abbreviations::ABBREVIATIONS;
        let at = table
            .binary_search_by(|(name, _)| (*name).cmp(lower.as_str()))
            .ok()?;
        Some(match table[at] {
            (_, Meaning::Fixed(east)) => Zone::Fixed(east),
            (name, Meaning::Zone(region)) => Zone::Abbreviation {
                region: region.parse().ok()?,
                name,
            },
        })
    }

    /// The tz database region named `spec`, in any letter case.
    pub fn region(spec: &str) -> Option<Zone> {
        let lower = spec.to_ascii_lowercase();
        match lower.as_str() {
            "z" | "zulu" => return Some(Zone::Region(Tz::UTC)),
            _ => {}
        }
        REGIONS.get(&lower).map(|tz| Zone::Region(*tz))
    }

    /// How the TimeZone setting shows this zone, `written` as the setting
    /// took it: a region by its canonical name, a number of hours as the
    /// POSIX specification PostgreSQL makes of it (`<+02>-02`).
    pub fn setting_text(&self, written: &str) -> String {
        let numeric = written.trim().parse::<f64>().is_ok();
        match self {
            Zone::Region(tz) => tz.name().to_string(),
            Zone::Fixed(east) if numeric => {
                let name = offset_text(*east, false);
                format!("<{name}>{}", offset_text(-*east, false))
            }
            _ => written.trim().to_string(),
        }
    }

    /// The offset in force at `utc` (seconds since 1970), seconds east.
    pub fn offset_at(&self, utc: i64) -> i32 {
        match self {
            Zone::Fixed(east) => *east,
            Zone::Region(tz) => region_offset(tz, utc),
            Zone::Abbreviation { region, name } => abbreviation_offset(region, name, utc),
            Zone::Posix(posix) => posix.offset_at(utc),
        }
    }

    /// The offset that turns local time `local` (seconds since 1970 on the
    /// zone's clock) into UTC. Where the clock skipped `local` the offset
    /// before the change is used; where it passed `local` twice, the offset
    /// after it — PostgreSQL's choice in both cases.
    pub fn local_offset(&self, local: i64) -> i32 {
        match self {
            Zone::Fixed(east) => *east,
            Zone::Abbreviation { region, name } => {
                let probe = local - i64::from(Zone::Region(*region).local_offset(local));
                abbreviation_offset(region, name, probe)
            }
            _ => {
                let before = self.offset_at(local - 86_400);
                let after = self.offset_at(local + 86_400);
                if before == after {
                    return self.offset_at(local - i64::from(before));
                }
                let fits = |east: i32| self.offset_at(local - i64::from(east)) == east;
                if fits(after) { after } else { before }
            }
        }
    }

    /// The abbreviation `to_char`'s `TZ` shows at `utc`.
    pub fn abbreviation_at(&self, utc: i64) -> String {
        match self {
            Zone::Region(tz) => match DateTime::from_timestamp(utc, 0) {
                Some(at) => tz
                    .offset_from_utc_datetime(&at.naive_utc())
                    .abbreviation()
                    .map_or_else(|| offset_text(self.offset_at(utc), false), str::to_string),
                None => String::new(),
            },
            Zone::Abbreviation { name, .. } => name.to_ascii_uppercase(),
            Zone::Fixed(east) => offset_text(*east, false),
            Zone::Posix(posix) => posix.name_at(utc).to_string(),
        }
    }
}

/// `+05:30`, `-08` (`-08:00:00` style seconds when there are any); with
/// `always_minutes`, `+00:00`.
pub fn offset_text(east: i32, always_minutes: bool) -> String {
    let sign = if east < 0 { '-' } else { '+' };
    let east = east.unsigned_abs();
    let (hours, minutes, seconds) = (east / 3600, east / 60 % 60, east % 60);
    match (minutes, seconds) {
        (0, 0) if !always_minutes => format!("{sign}{hours:02}"),
        (_, 0) => format!("{sign}{hours:02}:{minutes:02}"),
        _ => format!("{sign}{hours:02}:{minutes:02}:{seconds:02}"),
    }
}

/// The largest numeric offset PostgreSQL reads, in seconds (15:59).
pub const MAX_OFFSET: u32 = 15 * 3600 + 59 * 60;

/// `+hh`, `+hhmm`, `+hh:mm`, `+hh:mm:ss` (or `-`), seconds east of UTC,
/// as written in timestamp text and `make_timestamptz` (range unchecked).
pub fn iso_offset(text: &str) -> Option<i32> {
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let body = &text[1..];
    let fields: Vec<&str> = match body.contains(':') {
        true => body.split(':').collect(),
        false if body.len() > 2 => vec![&body[..body.len() - 2], &body[body.len() - 2..]],
        false => vec![body],
    };
    // `+10:` and `+10:00:` are PostgreSQL's too: an empty field is 0.
    let digits = |f: &&str| f.bytes().all(|b| b.is_ascii_digit());
    if fields.len() > 3 || fields[0].is_empty() || !fields.iter().all(digits) {
        return None;
    }
    let mut seconds = 0i64;
    for (field, unit) in fields.iter().zip([3600, 60, 1]) {
        let value: i64 = if field.is_empty() {
            0
        } else {
            field.parse().ok()?
        };
        if unit != 3600 && value >= 60 {
            return None;
        }
        seconds += value * unit;
    }
    i32::try_from(sign * seconds).ok()
}

fn region_offset(tz: &Tz, utc: i64) -> i32 {
    let utc = utc.clamp(-8_334_601_228_800, 8_210_266_876_799);
    DateTime::from_timestamp(utc, 0).map_or(0, |at| {
        tz.offset_from_utc_datetime(&at.naive_utc())
            .fix()
            .local_minus_utc()
    })
}

/// The offset `region` used under `name` at `utc`, or else the last time
/// before it used that name, or else the first time after; the region's own
/// offset at `utc` where it never used the name.
fn abbreviation_offset(region: &Tz, name: &str, utc: i64) -> i32 {
    const WEEK: i64 = 7 * 86_400;
    const SPAN: i64 = 200 * 365 * 86_400;
    let named = |at: i64| {
        let at = DateTime::from_timestamp(at, 0)?;
        let offset = region.offset_from_utc_datetime(&at.naive_utc());
        offset
            .abbreviation()
            .is_some_and(|a| a.eq_ignore_ascii_case(name))
            .then(|| offset.fix().local_minus_utc())
    };
    named(utc)
        .or_else(|| (1..SPAN / WEEK).find_map(|w| named(utc - w * WEEK)))
        .or_else(|| (1..SPAN / WEEK).find_map(|w| named(utc + w * WEEK)))
        .unwrap_or_else(|| region_offset(region, utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> i64 {
        chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
            .unwrap()
            .and_utc()
            .timestamp()
    }

    #[test]
    fn names_resolve_as_postgresql_resolves_them() {
        assert_eq!(Zone::named("est"), Some(Zone::Fixed(-5 * 3600)));
        assert_eq!(
            Zone::named("europe/MOSCOW"),
            Some(Zone::Region(chrono_tz::Europe::Moscow))
        );
        // POSIX counts west: UTC+3 and +3 are three hours behind UTC.
        assert_eq!(Zone::named("UTC+3"), Some(Zone::Fixed(-3 * 3600)));
        assert_eq!(Zone::named("+3"), Some(Zone::Fixed(-3 * 3600)));
        // The setting's numbers count east.
        assert_eq!(Zone::setting("-7"), Some(Zone::Fixed(-7 * 3600)));
        let posix = Zone::setting("04:30").unwrap();
        assert_eq!(posix.offset_at(0), -(4 * 3600 + 1800));
        assert_eq!(posix.abbreviation_at(0), "");
        assert_eq!(Zone::setting("MSK"), None);
        assert_eq!(Zone::named("Mars/Olympus"), None);
        assert_eq!(Zone::Fixed(7200).setting_text("+2"), "<+02>-02");
        assert_eq!(Zone::Fixed(-7 * 3600).setting_text("-7"), "<-07>+07");
    }

    #[test]
    fn skipped_and_repeated_local_times_follow_postgresql() {
        let moscow = Zone::named("Europe/Moscow").unwrap();
        // 2011-03-27 02:00 to 03:00 never happened in Moscow: the offset
        // before the change (+3) reads it.
        assert_eq!(moscow.local_offset(utc("2011-03-27 02:30:00")), 3 * 3600);
        // 2014-10-26 01:00 to 02:00 happened twice: the offset after (+3).
        assert_eq!(moscow.local_offset(utc("2014-10-26 01:30:00")), 3 * 3600);
        assert_eq!(moscow.local_offset(utc("2014-10-26 00:30:00")), 4 * 3600);
    }

    #[test]
    fn changing_abbreviations_take_the_offset_of_their_time() {
        let msk = Zone::named("MSK").unwrap();
        assert_eq!(msk.local_offset(utc("2011-03-27 02:00:00")), 4 * 3600);
        assert_eq!(msk.local_offset(utc("2011-03-27 01:59:59")), 3 * 3600);
        assert_eq!(msk.offset_at(utc("2012-06-01 00:00:00")), 4 * 3600);
        assert_eq!(msk.offset_at(utc("2020-06-01 00:00:00")), 3 * 3600);
    }
}
