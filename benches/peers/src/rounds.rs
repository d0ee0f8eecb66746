//! Interleaved measurement: after warm-up, each round runs every engine once on the same inputs,
//! starting with a different engine each round so none always runs right after another (thread
//! pools spin for a while after a run; rotation spreads that over everyone). Rounds continue until
//! both a minimum count and a minimum time are reached, or the maximum count.

use crate::engines::{Engine, Feed};
use anyhow::Result;
use rtforge::bench::Stats;
use std::time::{Duration, Instant};

/// How many rounds to run.
#[derive(Clone, Copy, Debug)]
pub struct RoundLimits {
    /// Untimed runs of each engine first.
    pub warm_up: usize,
    pub min_rounds: usize,
    pub max_rounds: usize,
    /// Rounds continue (up to `max_rounds`) until this much time has passed.
    pub min_time: Duration,
}

/// Every engine's latencies (ms), in the engines' order.
pub fn measure(engines: &mut [Engine], feed: &Feed, limits: &RoundLimits) -> Result<Vec<Vec<f64>>> {
    for e in engines.iter_mut() {
        for _ in 0..limits.warm_up {
            e.run(feed)?;
        }
    }
    let n = engines.len();
    let mut times = vec![Vec::new(); n];
    let start = Instant::now();
    let mut round = 0;
    while round < limits.max_rounds && (round < limits.min_rounds || start.elapsed() < limits.min_time) {
        for k in 0..n {
            let i = (round + k) % n;
            let t0 = Instant::now();
            let out = engines[i].run(feed)?;
            times[i].push(t0.elapsed().as_secs_f64() * 1e3);
            drop(out);
        }
        round += 1;
    }
    Ok(times)
}

/// Median and p90 (trtexec's percentile rule, as `rtforge bench` reports them).
pub fn median_p90(times: &[f64]) -> Option<(f64, f64)> {
    let s = Stats::of(times, &[90.0])?;
    Some((s.median, s.percentile(90.0).unwrap_or(s.max)))
}
