//! How long a benchmark runs, as trtexec decides it: a warm-up of `--warm-up` milliseconds whose
//! queries are not timed, then timed queries until *both* `--iterations` queries have run and
//! `--duration` seconds have passed.

use crate::error::{Error, Result};
use std::time::Duration;

/// The warm-up and run-length limits of one benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Untimed queries run until this much time has passed (zero: no warm-up).
    pub warm_up: Duration,
    /// The timed phase lasts at least this long.
    pub duration: Duration,
    /// The timed phase runs at least this many queries (at least 1).
    pub iterations: usize,
}

impl Default for Limits {
    /// trtexec's defaults: `--warmUp=200` ms, `--duration=3` s, `--iterations=10`.
    fn default() -> Limits {
        Limits {
            warm_up: Duration::from_millis(200),
            duration: Duration::from_secs(3),
            iterations: 10,
        }
    }
}

impl Limits {
    /// Limits from the command line's units (milliseconds, seconds, a count). A negative or
    /// non-finite time, or zero iterations, is an error.
    pub fn new(warm_up_ms: f64, duration_s: f64, iterations: usize) -> Result<Limits> {
        let dur = |v: f64, what: &str, scale: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(Duration::from_secs_f64(v / scale))
            } else {
                Err(Error::Input(format!(
                    "{what} must be a number >= 0, got {v}"
                )))
            }
        };
        if iterations == 0 {
            return Err(Error::Input("--iterations must be at least 1".into()));
        }
        Ok(Limits {
            warm_up: dur(warm_up_ms, "--warm-up", 1e3)?,
            duration: dur(duration_s, "--duration", 1.0)?,
            iterations,
        })
    }

    /// True once the warm-up has lasted `elapsed`. A zero warm-up is done before it starts.
    pub fn warm_up_done(&self, elapsed: Duration) -> bool {
        elapsed >= self.warm_up
    }

    /// True once `queries` timed queries over `elapsed` satisfy both the count and the duration.
    pub fn timing_done(&self, queries: usize, elapsed: Duration) -> bool {
        queries >= self.iterations && elapsed >= self.duration
    }

    /// How far the timed phase is, in [0, 1]: the lesser of the two fractions, since both must
    /// reach 1 before it stops.
    pub fn progress(&self, queries: usize, elapsed: Duration) -> f64 {
        let by_count = queries as f64 / self.iterations as f64;
        let by_time = if self.duration.is_zero() {
            1.0
        } else {
            elapsed.as_secs_f64() / self.duration.as_secs_f64()
        };
        by_count.min(by_time).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn both_the_count_and_the_duration_must_be_reached() {
        let l = Limits::new(0.0, 1.0, 10).unwrap();
        assert!(!l.timing_done(10, ms(999)), "count reached, time not");
        assert!(!l.timing_done(9, ms(5000)), "time reached, count not");
        assert!(l.timing_done(10, ms(1000)));
        assert!(l.timing_done(11, ms(1001)));
    }

    #[test]
    fn zero_duration_stops_at_the_count() {
        let l = Limits::new(0.0, 0.0, 5).unwrap();
        assert!(!l.timing_done(4, ms(0)));
        assert!(l.timing_done(5, ms(0)));
    }

    #[test]
    fn warm_up_is_measured_in_milliseconds() {
        let l = Limits::new(200.0, 3.0, 10).unwrap();
        assert_eq!(l, Limits::default());
        assert!(!l.warm_up_done(ms(199)));
        assert!(l.warm_up_done(ms(200)));
        assert!(Limits::new(0.0, 3.0, 10).unwrap().warm_up_done(ms(0)));
    }

    #[test]
    fn progress_is_the_slower_of_the_two_limits() {
        let l = Limits::new(0.0, 2.0, 100).unwrap();
        assert_eq!(l.progress(50, ms(2000)), 0.5);
        assert_eq!(l.progress(100, ms(500)), 0.25);
        assert_eq!(l.progress(300, ms(9000)), 1.0);
        assert_eq!(Limits::new(0.0, 0.0, 4).unwrap().progress(1, ms(0)), 0.25);
    }

    #[test]
    fn bad_limits_are_errors() {
        assert!(Limits::new(0.0, 1.0, 0)
            .unwrap_err()
            .to_string()
            .contains("--iterations"));
        assert!(Limits::new(-1.0, 1.0, 1)
            .unwrap_err()
            .to_string()
            .contains("--warm-up"));
        assert!(Limits::new(0.0, f64::NAN, 1)
            .unwrap_err()
            .to_string()
            .contains("--duration"));
    }
}
