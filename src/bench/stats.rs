//! Summary statistics of a list of timings, computed the way trtexec computes them
//! (`samples/common/sampleReporting.cpp`) so numbers can be compared with its output:
//! - median: the middle value, or the mean of the two middle values for an even count;
//! - percentile p of n sorted values: the value at index `max(n - 1 - floor((1 - p/100) * n), 0)`.

use crate::error::{Error, Result};

/// The percentiles the reports always carry (trtexec's default `--percentile=90,95,99`).
pub const DEFAULT_PERCENTILES: [f64; 3] = [90.0, 95.0, 99.0];

/// min / max / mean / median and the requested percentiles of one metric, in its unit (ms).
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    pub count: usize,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub median: f64,
    pub sum: f64,
    /// `(percentile, value)`, in the order asked for.
    pub percentiles: Vec<(f64, f64)>,
}

impl Stats {
    /// Statistics of `values` (any order). `None` for an empty list: there is nothing to summarize.
    pub fn of(values: &[f64], percentiles: &[f64]) -> Option<Stats> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let sum: f64 = v.iter().sum();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Stats {
            count: n,
            min: v[0],
            max: v[n - 1],
            mean: sum / n as f64,
            median,
            sum,
            percentiles: percentiles
                .iter()
                .map(|&p| (p, percentile_of_sorted(&v, p)))
                .collect(),
        })
    }

    /// The value of percentile `p` when it was computed.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        self.percentiles
            .iter()
            .find(|(q, _)| *q == p)
            .map(|&(_, v)| v)
    }
}

/// trtexec's percentile of an ascending, non-empty list (see the module doc).
pub fn percentile_of_sorted(sorted: &[f64], p: f64) -> f64 {
    let all = sorted.len() as i64;
    // (100 - p) * n / 100 rather than (1 - p/100) * n: the latter gives 9.999… for p=90, n=100
    // in binary floating point; the epsilon keeps exact boundaries exact.
    let exclude = ((100.0 - p) * all as f64 / 100.0 + 1e-9).floor() as i64;
    sorted[(all - 1 - exclude).clamp(0, all - 1) as usize]
}

/// Parses `--percentile 90,95,99`: each in [0, 100], at least one.
pub fn parse_percentiles(s: &str) -> Result<Vec<f64>> {
    let mut out = vec![];
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let p: f64 = part
            .parse()
            .map_err(|_| Error::Input(format!("--percentile: '{part}' is not a number")))?;
        if !(0.0..=100.0).contains(&p) {
            return Err(Error::Input(format!(
                "--percentile: {p} is not in [0, 100]"
            )));
        }
        out.push(p);
    }
    if out.is_empty() {
        return Err(Error::Input(
            "--percentile needs at least one value, e.g. 90,95,99".into(),
        ));
    }
    Ok(out)
}

/// The requested percentiles followed by any of [`DEFAULT_PERCENTILES`] not among them, so that
/// reports always have p90, p95 and p99.
pub fn with_defaults(requested: &[f64]) -> Vec<f64> {
    let mut all = requested.to_vec();
    for d in DEFAULT_PERCENTILES {
        if !all.contains(&d) {
            all.push(d);
        }
    }
    all
}

/// `90` → `"90"`, `99.9` → `"99.9"`: how a percentile is named in text and JSON keys (`p99.9`).
pub fn percentile_label(p: f64) -> String {
    if p.fract() == 0.0 {
        format!("{}", p as i64)
    } else {
        format!("{p}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_to_hundred() {
        let v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let s = Stats::of(&v, &[50.0, 90.0, 95.0, 99.0, 100.0, 0.0]).unwrap();
        assert_eq!(
            (s.min, s.max, s.mean, s.median, s.sum),
            (1.0, 100.0, 50.5, 50.5, 5050.0)
        );
        // n=100: p90 excludes floor(0.1*100)=10 values from the top, index 89 -> 90.
        assert_eq!(s.percentile(50.0), Some(50.0));
        assert_eq!(s.percentile(90.0), Some(90.0));
        assert_eq!(s.percentile(95.0), Some(95.0));
        assert_eq!(s.percentile(99.0), Some(99.0));
        assert_eq!(s.percentile(100.0), Some(100.0));
        assert_eq!(s.percentile(0.0), Some(1.0));
        assert_eq!(s.percentile(42.0), None);
    }

    #[test]
    fn small_odd_list() {
        let s = Stats::of(&[5.0, 1.0, 4.0, 2.0, 3.0], &DEFAULT_PERCENTILES).unwrap();
        assert_eq!((s.min, s.max, s.mean, s.median), (1.0, 5.0, 3.0, 3.0));
        // n=5: p90 excludes floor(0.1*5)=0 -> index 4 -> 5; p99 too.
        assert_eq!(s.percentiles, vec![(90.0, 5.0), (95.0, 5.0), (99.0, 5.0)]);
        let s = Stats::of(
            &[10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0],
            &[90.0, 50.0],
        )
        .unwrap();
        // n=10: p90 excludes 1 -> index 8 -> 90; p50 excludes 5 -> index 4 -> 50; median averages.
        assert_eq!(s.percentiles, vec![(90.0, 90.0), (50.0, 50.0)]);
        assert_eq!(s.median, 55.0);
    }

    #[test]
    fn one_value_and_none() {
        let s = Stats::of(&[2.5], &DEFAULT_PERCENTILES).unwrap();
        assert_eq!(
            (s.min, s.max, s.mean, s.median, s.count),
            (2.5, 2.5, 2.5, 2.5, 1)
        );
        assert_eq!(s.percentile(99.0), Some(2.5));
        assert!(Stats::of(&[], &DEFAULT_PERCENTILES).is_none());
    }

    #[test]
    fn percentile_options() {
        assert_eq!(
            parse_percentiles("90, 95,99.9").unwrap(),
            vec![90.0, 95.0, 99.9]
        );
        assert!(parse_percentiles("101")
            .unwrap_err()
            .to_string()
            .contains("101"));
        assert!(parse_percentiles("x")
            .unwrap_err()
            .to_string()
            .contains("'x'"));
        assert!(parse_percentiles("").is_err());
        assert_eq!(with_defaults(&[50.0, 99.0]), vec![50.0, 99.0, 90.0, 95.0]);
        assert_eq!(percentile_label(99.0), "99");
        assert_eq!(percentile_label(99.9), "99.9");
    }
}
