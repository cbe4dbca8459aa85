//! numeric's NaN, Infinity and -Infinity.
//!
//! Arrow's Decimal128 holds finite numbers only, so a decimal of precision
//! `p` keeps them just past its finite range, where no number of that
//! precision falls: Infinity is 10^p, -Infinity is -10^p and NaN is
//! 10^p + 1. Comparisons, sorting, grouping and joins then treat them as
//! PostgreSQL does (-Infinity < every number < Infinity < NaN, and NaN equals
//! NaN), and a Parquet file stores them in the width the precision gives it.
//!
//! Everything else that reads a decimal's digits must know them: input
//! ([`parse`]) and output ([`text`]) here; casts, arithmetic and the guard
//! that keeps the rest of DataFusion's functions from ever reading one are in
//! `functions::numeric`.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Decimal128Type};

use crate::error::Error;

/// Arrow's largest decimal precision.
const MAX_PRECISION: u8 = 38;

/// A numeric that is not a finite number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    NaN,
    Infinity,
    NegativeInfinity,
}

/// 10^p: the first magnitude a decimal of precision `p` cannot hold.
pub fn limit(precision: u8) -> i128 {
    10i128.pow(u32::from(precision.min(MAX_PRECISION)))
}

impl Special {
    /// What a decimal of precision `precision` stores for it.
    pub(crate) fn stored(self, precision: u8) -> i128 {
        match self {
            Special::Infinity => limit(precision),
            Special::NegativeInfinity => -limit(precision),
            Special::NaN => limit(precision) + 1,
        }
    }

    /// The special value `value` stands for in a decimal of precision
    /// `precision`, if any.
    pub fn of(value: i128, precision: u8) -> Option<Special> {
        let limit = limit(precision);
        if value > -limit && value < limit {
            None
        } else if value == limit {
            Some(Special::Infinity)
        } else if value == -limit {
            Some(Special::NegativeInfinity)
        } else {
            Some(Special::NaN)
        }
    }

    /// PostgreSQL's spelling.
    pub(crate) fn text(self) -> &'static str {
        match self {
            Special::NaN => "NaN",
            Special::Infinity => "Infinity",
            Special::NegativeInfinity => "-Infinity",
        }
    }

    pub(crate) fn float(self) -> f64 {
        match self {
            Special::NaN => f64::NAN,
            Special::Infinity => f64::INFINITY,
            Special::NegativeInfinity => f64::NEG_INFINITY,
        }
    }

    pub(crate) fn of_float(value: f64) -> Option<Special> {
        if value.is_nan() {
            Some(Special::NaN)
        } else if value == f64::INFINITY {
            Some(Special::Infinity)
        } else if value == f64::NEG_INFINITY {
            Some(Special::NegativeInfinity)
        } else {
            None
        }
    }

    /// The words numeric_in reads as special values, in any case, with white
    /// space around: `NaN`, `Infinity` and `inf` with an optional sign (none
    /// for NaN).
    pub(crate) fn read(text: &str) -> Option<Special> {
        let word = text.trim_matches(|c: char| c.is_ascii_whitespace());
        let lower = word.to_ascii_lowercase();
        match lower.as_str() {
            "nan" => Some(Special::NaN),
            "infinity" | "+infinity" | "inf" | "+inf" => Some(Special::Infinity),
            "-infinity" | "-inf" => Some(Special::NegativeInfinity),
            _ => None,
        }
    }
}

pub(crate) fn overflow(precision: u8, scale: i8) -> Error {
    let digits = i16::from(precision) - i16::from(scale);
    let bound = if digits > 0 {
        format!("10^{digits}")
    } else {
        "1".to_string()
    };
    Error::NumericValueOutOfRange(format!(
        "numeric field overflow: a field with precision {precision}, scale {scale} must round to an absolute value less than {bound}"
    ))
}

pub(crate) fn infinite_overflow(precision: u8, scale: i8) -> Error {
    Error::NumericValueOutOfRange(format!(
        "numeric field overflow: a field with precision {precision}, scale {scale} cannot hold an infinite value"
    ))
}

/// A special value as a decimal of `precision` and `scale`: an infinity
/// only where `infinities` (PostgreSQL's unconstrained numeric).
pub(crate) fn store(
    special: Special,
    precision: u8,
    scale: i8,
    infinities: bool,
) -> Result<i128, Error> {
    if special != Special::NaN && !infinities {
        return Err(infinite_overflow(precision, scale));
    }
    Ok(special.stored(precision))
}

/// `text` as numeric_in reads it, as a decimal of `precision` and `scale`:
/// white space around, a sign, digits with an optional point, an optional
/// exponent; NaN and the infinities ([`Special::read`]; an infinity only
/// where `infinities`). The digits round half away from zero to `scale`
/// places; a value that then needs more than `precision` digits is 22003.
pub(crate) fn parse(text: &str, precision: u8, scale: i8, infinities: bool) -> Result<i128, Error> {
    if let Some(special) = Special::read(text) {
        return store(special, precision, scale, infinities);
    }
    let invalid = || {
        Error::InvalidTextRepresentation(format!(
            "invalid input syntax for type numeric: \"{text}\""
        ))
    };
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let (negative, rest) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let (mantissa, exponent) = match rest.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().map_err(|_| invalid())?),
        None => (rest, 0),
    };
    // PostgreSQL's bound on a written exponent (NUMERIC_MAX_PRECISION).
    if exponent.abs() > 1000 {
        return Err(invalid());
    }
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (whole.is_empty() && fraction.is_empty())
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    // The number is `digits` × 10^(exponent - fraction digits); scaled, it
    // is `digits` shifted by `shift` places.
    let digits: Vec<u8> = whole
        .bytes()
        .chain(fraction.bytes())
        .skip_while(|&b| b == b'0')
        .map(|b| b - b'0')
        .collect();
    let shift = exponent
        .saturating_sub(fraction.len() as i64)
        .saturating_add(i64::from(scale));
    let mut kept: Vec<u8> = if shift >= 0 {
        if digits.is_empty() {
            Vec::new()
        } else if digits.len() as i64 + shift > i64::from(precision) {
            return Err(overflow(precision, scale));
        } else {
            let mut kept = digits.clone();
            kept.resize(digits.len() + shift as usize, 0);
            kept
        }
    } else {
        let dropped = usize::try_from(shift.unsigned_abs()).unwrap_or(usize::MAX);
        let keep = digits.len().saturating_sub(dropped);
        let mut kept = digits[..keep].to_vec();
        // Half away from zero: the first dropped digit decides.
        if dropped <= digits.len() && digits[keep] >= 5 {
            let mut i = kept.len();
            loop {
                if i == 0 {
                    kept.insert(0, 1);
                    break;
                }
                i -= 1;
                if kept[i] == 9 {
                    kept[i] = 0;
                } else {
                    kept[i] += 1;
                    break;
                }
            }
        }
        kept
    };
    while kept.first() == Some(&0) {
        kept.remove(0);
    }
    if kept.len() > usize::from(precision) {
        return Err(overflow(precision, scale));
    }
    let magnitude = kept.iter().fold(0i128, |acc, &d| acc * 10 + i128::from(d));
    Ok(if negative { -magnitude } else { magnitude })
}

/// A decimal array's values as text, PostgreSQL's spelling: every digit of
/// the scale, and NaN and the infinities by name.
pub(crate) fn text(column: &ArrayRef) -> Option<ArrayRef> {
    let DataType::Decimal128(precision, _) = *column.data_type() else {
        return None;
    };
    let digits = datafusion::arrow::compute::cast(column, &DataType::Utf8).ok()?;
    let values = column.as_primitive::<Decimal128Type>();
    if !has_specials(values, precision) {
        return Some(digits);
    }
    let digits = digits.as_string::<i32>();
    let out: StringArray = values
        .iter()
        .zip(digits.iter())
        .map(|(v, d)| {
            v.map(|v| match Special::of(v, precision) {
                Some(special) => special.text().to_string(),
                None => d.unwrap_or_default().to_string(),
            })
        })
        .collect();
    Some(Arc::new(out))
}

/// Whether any value of `values` is special: one comparison a row.
pub(crate) fn has_specials(values: &Decimal128Array, precision: u8) -> bool {
    let limit = limit(precision);
    values.values().iter().any(|v| *v >= limit || *v <= -limit)
        && values
            .iter()
            .any(|v| v.is_some_and(|v| Special::of(v, precision).is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specials_sit_just_past_the_finite_range_in_order() {
        for p in [1u8, 9, 10, 18, 19, 31, 38] {
            let values = [
                Special::NegativeInfinity.stored(p),
                -(limit(p) - 1),
                limit(p) - 1,
                Special::Infinity.stored(p),
                Special::NaN.stored(p),
            ];
            assert!(values.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(Special::of(values[0], p), Some(Special::NegativeInfinity));
            assert_eq!(Special::of(values[1], p), None);
            assert_eq!(Special::of(values[4], p), Some(Special::NaN));
        }
    }

    #[test]
    fn input_rounds_half_away_from_zero_and_refuses_overflow() {
        let shown = |t: &str, p: u8, s: i8| match parse(t, p, s, p == 38) {
            Ok(v) => v.to_string(),
            Err(Error::NumericValueOutOfRange(_)) => "22003".into(),
            Err(Error::InvalidTextRepresentation(_)) => "22P02".into(),
            Err(e) => format!("{e}"),
        };
        assert_eq!(shown(" 1.005 ", 10, 2), "101");
        assert_eq!(shown("-1.005", 10, 2), "-101");
        assert_eq!(shown("99.995", 4, 2), "22003");
        assert_eq!(shown("99.994", 4, 2), "9999");
        assert_eq!(shown("1e3", 5, 1), "10000");
        assert_eq!(shown(".5e-1", 5, 1), "1");
        assert_eq!(shown("0.0000001", 38, 2), "0");
        assert_eq!(shown("12.", 5, 0), "12");
        assert_eq!(shown("1e", 5, 0), "22P02");
        assert_eq!(shown(".", 5, 0), "22P02");
        assert_eq!(shown("-NaN", 5, 0), "22P02");
        assert_eq!(shown("nan", 5, 0), (limit(5) + 1).to_string());
        assert_eq!(shown("-inf", 5, 0), "22003");
        assert_eq!(shown("-Infinity", 38, 10), (-limit(38)).to_string());
        assert_eq!(shown("1e1000", 38, 10), "22003");
        assert_eq!(shown("1e-1000", 38, 10), "0");
        assert_eq!(shown("1e-1001", 38, 10), "22P02");
    }
}
