//! The measuring loop: warm-up queries (untimed), then timed queries until the [`Limits`] are met,
//! each recorded as a [`QueryTrace`]. Queries run back to back on one [`Session`] with the same
//! inputs, as trtexec runs one stream. Every backend today runs synchronously on the host through
//! `Session::run`, so each query is recorded with its host span only; a device backend's timed run
//! (events around H2D, compute and D2H) fills the stage fields of [`QueryTrace`].

use super::limits::Limits;
use super::trace::{QueryTrace, Trace};
use crate::error::Result;
use crate::{Session, Tensor};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Which phase a progress report comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    WarmUp,
    Timing,
}

/// Where a run is, reported after every query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    pub phase: Phase,
    /// Queries finished in this phase.
    pub queries: usize,
    /// Time since the phase began.
    pub elapsed: Duration,
    /// How far the phase is, in [0, 1].
    pub fraction: f64,
}

/// Runs the warm-up and the timed phase on `session` with `feed`, calling `progress` after each
/// query. The first error a query returns ends the run.
pub fn measure(
    session: &mut Session,
    feed: &HashMap<String, Tensor>,
    limits: &Limits,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Trace> {
    let mut trace = Trace::default();
    let warm_start = Instant::now();
    while !limits.warm_up_done(warm_start.elapsed()) {
        session.run(feed)?;
        trace.warm_up_queries += 1;
        let elapsed = warm_start.elapsed();
        let fraction = (elapsed.as_secs_f64() / limits.warm_up.as_secs_f64()).min(1.0);
        progress(&Progress {
            phase: Phase::WarmUp,
            queries: trace.warm_up_queries,
            elapsed,
            fraction,
        });
    }
    trace.warm_up_ms = warm_start.elapsed().as_secs_f64() * 1e3;

    let t0 = Instant::now();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    loop {
        let start = t0.elapsed();
        let outputs = session.run(feed)?;
        let end = t0.elapsed();
        // Freeing the outputs is the caller's cost in real use too, but not the query's latency.
        drop(outputs);
        trace
            .queries
            .push(QueryTrace::host_only(ms(start), ms(end)));
        let (n, elapsed) = (trace.queries.len(), t0.elapsed());
        progress(&Progress {
            phase: Phase::Timing,
            queries: n,
            elapsed,
            fraction: limits.progress(n, elapsed),
        });
        if limits.timing_done(n, elapsed) {
            break;
        }
    }
    Ok(trace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CompileOptions;
    use crate::bench::inputs::synthesize;

    #[test]
    fn runs_exactly_the_iterations_when_duration_is_zero() {
        let model = crate::bench::tiny_model();
        let mut s = Session::new(&model, "cpu", &CompileOptions { threads: Some(1) }).unwrap();
        let feed = synthesize(s.inputs(), &HashMap::new(), &HashMap::new(), 0).unwrap();
        let limits = Limits::new(0.0, 0.0, 3).unwrap();
        let mut seen = vec![];
        let trace = measure(&mut s, &feed, &limits, &mut |p| {
            seen.push((p.phase, p.queries))
        })
        .unwrap();
        assert_eq!(trace.queries.len(), 3);
        assert_eq!(trace.warm_up_queries, 0);
        assert_eq!(
            seen,
            vec![(Phase::Timing, 1), (Phase::Timing, 2), (Phase::Timing, 3)]
        );
        let q = &trace.queries;
        assert!(q[0].host.start_ms <= q[0].host.end_ms && q[0].host.end_ms <= q[1].host.start_ms);
        assert_eq!(q[2].compute, None);
    }
}
