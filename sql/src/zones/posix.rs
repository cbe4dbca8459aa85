//! POSIX time zone specifications (`TZ` strings): `UTC+3`, `<+02>-02`,
//! `FOO8BAR`, `PST8PDT,M3.2.0,M11.1.0`. Offsets in the text count west of
//! UTC; a daylight-saving name without rules changes on the second Sunday
//! of March and the first Sunday of November at 02:00, as PostgreSQL assumes.

use chrono::{Datelike, NaiveDate};

use super::Zone;

/// A day of the year a rule changes the clock on.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Day {
    /// `Jn`: day 1 to 365, February 29 never counted.
    Julian(u32),
    /// `n`: day 0 to 365, February 29 counted.
    Ordinal(u32),
    /// `Mm.w.d`: weekday `d` (0 is Sunday) of week `w` (5 is the last) of
    /// month `m`.
    Month { month: u32, week: u32, weekday: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Change {
    day: Day,
    /// Seconds after the local midnight of `day`.
    at: i32,
}

#[derive(Debug, Clone, PartialEq)]
struct Daylight {
    name: String,
    east: i32,
    start: Change,
    end: Change,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Posix {
    name: String,
    east: i32,
    daylight: Option<Daylight>,
}

const DEFAULT_START: Change = Change {
    day: Day::Month {
        month: 3,
        week: 2,
        weekday: 0,
    },
    at: 7200,
};
const DEFAULT_END: Change = Change {
    day: Day::Month {
        month: 11,
        week: 1,
        weekday: 0,
    },
    at: 7200,
};

/// Reads POSIX text from the front of a string.
struct Reader<'a> {
    rest: &'a str,
}

impl<'a> Reader<'a> {
    /// A zone name: letters, or anything between `<` and `>`.
    fn name(&mut self) -> Option<&'a str> {
        if let Some(quoted) = self.rest.strip_prefix('<') {
            let end = quoted.find('>')?;
            self.rest = &quoted[end + 1..];
            return Some(&quoted[..end]);
        }
        let end = self
            .rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(self.rest.len());
        let (name, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(name)
    }

    fn number(&mut self, max_digits: usize) -> Option<u32> {
        let end = self
            .rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.rest.len());
        if end == 0 || end > max_digits {
            return None;
        }
        let (digits, rest) = self.rest.split_at(end);
        self.rest = rest;
        digits.parse().ok()
    }

    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    /// `[+-]hh[:mm[:ss]]` in seconds, signed as written.
    fn time(&mut self) -> Option<i32> {
        let sign = if self.eat('-') {
            -1
        } else {
            self.eat('+');
            1
        };
        let mut seconds = self.number(3)? as i32 * 3600;
        if self.eat(':') {
            seconds += self.number(2)? as i32 * 60;
            if self.eat(':') {
                seconds += self.number(2)? as i32;
            }
        }
        (seconds <= 167 * 3600).then_some(sign * seconds)
    }

    fn change(&mut self) -> Option<Change> {
        let day = if self.eat('J') {
            Day::Julian(self.number(3)?)
        } else if self.eat('M') {
            let month = self.number(2)?;
            self.eat('.').then_some(())?;
            let week = self.number(1)?;
            self.eat('.').then_some(())?;
            let weekday = self.number(1)?;
            Day::Month {
                month,
                week,
                weekday,
            }
        } else {
            Day::Ordinal(self.number(3)?)
        };
        let valid = match day {
            Day::Julian(n) => (1..=365).contains(&n),
            Day::Ordinal(n) => n <= 365,
            Day::Month {
                month,
                week,
                weekday,
            } => (1..=12).contains(&month) && (1..=5).contains(&week) && weekday <= 6,
        };
        let at = if self.eat('/') { self.time()? } else { 7200 };
        valid.then_some(Change { day, at })
    }
}

impl Posix {
    /// The specification in `text`; None where it is not one.
    pub fn parse(text: &str) -> Option<Posix> {
        let mut reader = Reader { rest: text.trim() };
        let name = reader.name()?.to_string();
        let east = -reader.time()?;
        let mut daylight = None;
        if !reader.rest.is_empty() {
            let dst_name = reader.name()?;
            if dst_name.is_empty() {
                return None;
            }
            let dst_east = match reader.rest.chars().next() {
                Some(',') | None => east + 3600,
                Some(_) => -reader.time()?,
            };
            let (start, end) = if reader.eat(',') {
                let start = reader.change()?;
                reader.eat(',').then_some(())?;
                (start, reader.change()?)
            } else {
                (DEFAULT_START, DEFAULT_END)
            };
            daylight = Some(Daylight {
                name: dst_name.to_string(),
                east: dst_east,
                start,
                end,
            });
        }
        reader.rest.is_empty().then_some(Posix {
            name,
            east,
            daylight,
        })
    }

    /// A fixed offset where the clock never changes.
    pub(super) fn simplified(self) -> Zone {
        match self.daylight {
            None => Zone::Fixed(self.east),
            Some(_) => Zone::Posix(self),
        }
    }

    fn in_daylight(&self, utc: i64) -> Option<&Daylight> {
        let daylight = self.daylight.as_ref()?;
        let year = chrono::DateTime::from_timestamp(utc + i64::from(self.east), 0)?.year();
        let start = change_utc(daylight.start, year, self.east)?;
        let end = change_utc(daylight.end, year, daylight.east)?;
        let inside = if start < end {
            (start..end).contains(&utc)
        } else {
            !(end..start).contains(&utc)
        };
        inside.then_some(daylight)
    }

    pub(super) fn offset_at(&self, utc: i64) -> i32 {
        self.in_daylight(utc).map_or(self.east, |d| d.east)
    }

    pub(super) fn name_at(&self, utc: i64) -> &str {
        self.in_daylight(utc).map_or(&self.name, |d| &d.name)
    }
}

/// When `change` happens in `year`, in seconds since 1970 UTC, the clock
/// then reading `east` of UTC.
fn change_utc(change: Change, year: i32, east: i32) -> Option<i64> {
    let date = match change.day {
        Day::Julian(n) => {
            let leap = NaiveDate::from_ymd_opt(year, 2, 29).is_some();
            NaiveDate::from_yo_opt(year, n + u32::from(leap && n >= 60))?
        }
        Day::Ordinal(n) => NaiveDate::from_yo_opt(year, n + 1)?,
        Day::Month {
            month,
            week,
            weekday,
        } => {
            let first = NaiveDate::from_ymd_opt(year, month, 1)?;
            let first_weekday = first.weekday().num_days_from_sunday();
            let mut day = 1 + (weekday + 7 - first_weekday) % 7 + (week - 1) * 7;
            while NaiveDate::from_ymd_opt(year, month, day).is_none() {
                day -= 7;
            }
            NaiveDate::from_ymd_opt(year, month, day)?
        }
    };
    let midnight = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp();
    Some(midnight + i64::from(change.at) - i64::from(east))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_west_and_daylight_follows_the_rules() {
        let pst = Posix::parse("PST8PDT,M3.2.0,M11.1.0").unwrap();
        // 2014-12-10 is standard time; 2014-07-01 daylight time.
        assert_eq!(pst.offset_at(1_418_205_010), -8 * 3600);
        assert_eq!(pst.offset_at(1_404_216_000), -7 * 3600);
        assert_eq!(pst.name_at(1_404_216_000), "PDT");
        let foo = Posix::parse("FOO8BAR").unwrap();
        assert_eq!(foo.offset_at(1_404_216_000), -7 * 3600);
        assert_eq!(Posix::parse("<+02>-02").unwrap().east, 7200);
        assert_eq!(Posix::parse("04:30").unwrap().east, -(4 * 3600 + 1800));
        assert_eq!(Posix::parse("America"), None);
        assert_eq!(Posix::parse("Nehwon/Lankhmar"), None);
    }
}
