//! Figures and how they are printed: medians, percentiles, geometric means,
//! and the Markdown the harness writes (the same text goes to BENCHMARKS.md).

use std::fmt::Write;
use std::time::Duration;

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub fn median(values: &[f64]) -> f64 {
    percentile(values, 50.0)
}

/// The nearest-rank percentile of `values` (unsorted), NaN when empty.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn geomean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    (values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp()
}

/// A figure with about three significant digits.
pub fn fig(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

pub fn ratio(a: f64, b: f64) -> String {
    if a.is_nan() || b.is_nan() || b == 0.0 {
        "–".into()
    } else {
        format!("{:.2}×", a / b)
    }
}

pub fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{} MiB", k / 1024))
        .unwrap_or_else(|| "–".into())
}

/// A Markdown table under construction.
pub struct Table {
    text: String,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        let mut table = Self {
            text: String::new(),
        };
        table.row(header.iter().map(|h| h.to_string()));
        table.row(header.iter().map(|_| "---".to_string()));
        table
    }

    pub fn row(&mut self, cells: impl IntoIterator<Item = String>) {
        self.text.push('|');
        for cell in cells {
            let _ = write!(self.text, " {cell} |");
        }
        self.text.push('\n');
    }

    pub fn finish(self) -> String {
        self.text
    }
}

/// The report: sections appended as workloads finish, each printed as soon
/// as it is complete so a long run shows progress.
#[derive(Default)]
pub struct Report {
    text: String,
}

impl Report {
    pub fn section(&mut self, title: &str, body: &str) {
        let section = format!("### {title}\n\n{body}\n");
        println!("{section}");
        self.text.push_str(&section);
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(median(&v), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert!((geomean(&[1.0, 4.0]) - 2.0).abs() < 1e-12);
    }
}
