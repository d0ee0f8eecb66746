//! The measuring loop: warm-up queries (untimed), then timed queries until the [`Limits`] are met,
//! each recorded as a [`QueryTrace`]. Queries run back to back with the same inputs on each of
//! `streams` clones of one [`Session`], one host thread each, as trtexec's `--infStreams` runs
//! several streams (a GPU engine gives each concurrent query its own stream). A device backend's
//! timed run fills the H2D / compute / D2H stages of each query from its events.

use super::limits::Limits;
use super::trace::{QueryTrace, Trace};
use crate::error::{Error, Result};
use crate::{Session, Tensor};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which phase a progress report comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    WarmUp,
    Timing,
}

/// Where a run is, reported after every query of the first stream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    pub phase: Phase,
    /// Queries finished in this phase, over all streams.
    pub queries: usize,
    /// Time since the phase began.
    pub elapsed: Duration,
    /// How far the phase is, in [0, 1].
    pub fraction: f64,
}

/// How the queries run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Concurrency {
    /// Sessions querying at once (`--streams`), at least 1.
    pub streams: usize,
    /// Copy inputs in and outputs out on every query; false: `--no-data-transfers`.
    pub transfers: bool,
}

impl Default for Concurrency {
    fn default() -> Self {
        Concurrency {
            streams: 1,
            transfers: true,
        }
    }
}

/// The counters the streams share.
struct Shared {
    warm_up: AtomicUsize,
    timed: AtomicUsize,
    /// Set when a stream failed, so the others stop.
    failed: AtomicBool,
}

/// Runs the warm-up and the timed phase on `session` (cloned per stream) with `feed`, calling
/// `progress` after each query of the first stream. The first error a query returns ends the run.
pub fn measure(
    session: &mut Session,
    feed: &HashMap<String, Tensor>,
    limits: &Limits,
    how: Concurrency,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Trace> {
    if how.streams == 0 {
        return Err(Error::Input("--streams must be at least 1".into()));
    }
    let shared = Shared {
        warm_up: AtomicUsize::new(0),
        timed: AtomicUsize::new(0),
        failed: AtomicBool::new(false),
    };
    // Shared once, so a query hands its inputs to the engine without copying them.
    let feed: &HashMap<String, Arc<Tensor>> = &feed
        .iter()
        .map(|(k, t)| (k.clone(), Arc::new(t.clone())))
        .collect();
    let warm_start = Instant::now();
    // The timed phase starts for every stream at this instant, set when the first stream ends its
    // warm-up; the others end theirs as soon as they see it.
    let t0 = std::sync::OnceLock::new();
    let results: Vec<Result<Vec<QueryTrace>>> = std::thread::scope(|scope| {
        let others: Vec<_> = (1..how.streams)
            .map(|_| {
                let mut s = session.clone();
                let (shared, t0) = (&shared, &t0);
                scope.spawn(move || {
                    stream(
                        &mut s,
                        feed,
                        limits,
                        how,
                        shared,
                        warm_start,
                        t0,
                        &mut |_| {},
                    )
                })
            })
            .collect();
        let mut all = vec![stream(
            session, feed, limits, how, &shared, warm_start, &t0, progress,
        )];
        for h in others {
            all.push(
                h.join()
                    .unwrap_or_else(|_| Err(Error::Other("a benchmark stream panicked".into()))),
            );
        }
        all
    });
    let mut trace = Trace {
        warm_up_queries: shared.warm_up.load(Ordering::Relaxed),
        ..Trace::default()
    };
    for r in results {
        trace.queries.extend(r?);
    }
    trace
        .queries
        .sort_by(|a, b| a.host.start_ms.total_cmp(&b.host.start_ms));
    trace.warm_up_ms = t0
        .get()
        .map_or(0.0, |t: &Instant| (*t - warm_start).as_secs_f64() * 1e3);
    Ok(trace)
}

/// One stream: warm-up, then timed queries until the shared count and time meet the limits.
#[allow(clippy::too_many_arguments)]
fn stream(
    session: &mut Session,
    feed: &HashMap<String, Arc<Tensor>>,
    limits: &Limits,
    how: Concurrency,
    shared: &Shared,
    warm_start: Instant,
    t0: &std::sync::OnceLock<Instant>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<QueryTrace>> {
    let fail = |e| {
        shared.failed.store(true, Ordering::Relaxed);
        e
    };
    while t0.get().is_none() && !limits.warm_up_done(warm_start.elapsed()) {
        session.run_timed(feed, how.transfers).map_err(fail)?;
        let n = shared.warm_up.fetch_add(1, Ordering::Relaxed) + 1;
        let elapsed = warm_start.elapsed();
        let fraction = (elapsed.as_secs_f64() / limits.warm_up.as_secs_f64()).min(1.0);
        progress(&Progress {
            phase: Phase::WarmUp,
            queries: n,
            elapsed,
            fraction,
        });
    }
    let t0 = *t0.get_or_init(Instant::now);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mut out = vec![];
    loop {
        let start = t0.elapsed();
        let (outputs, times) = session.run_timed(feed, how.transfers).map_err(fail)?;
        let end = t0.elapsed();
        // Freeing the outputs is the caller's cost in real use too, but not the query's latency.
        drop(outputs);
        out.push(match times {
            Some(t) => QueryTrace::with_stages(ms(start), ms(end), &t),
            None => QueryTrace::host_only(ms(start), ms(end)),
        });
        let (n, elapsed) = (
            shared.timed.fetch_add(1, Ordering::Relaxed) + 1,
            t0.elapsed(),
        );
        progress(&Progress {
            phase: Phase::Timing,
            queries: n,
            elapsed,
            fraction: limits.progress(n, elapsed),
        });
        if limits.timing_done(n, elapsed) || shared.failed.load(Ordering::Relaxed) {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CompileOptions;
    use crate::bench::inputs::synthesize;

    #[test]
    fn runs_exactly_the_iterations_when_duration_is_zero() {
        let model = crate::bench::tiny_model();
        let mut s = Session::new(&model, "cpu", &CompileOptions::with_threads(Some(1))).unwrap();
        let feed = synthesize(s.inputs(), &HashMap::new(), &HashMap::new(), 0).unwrap();
        let limits = Limits::new(0.0, 0.0, 3).unwrap();
        let mut seen = vec![];
        let trace = measure(&mut s, &feed, &limits, Concurrency::default(), &mut |p| {
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

    #[test]
    fn several_streams_share_the_query_count() {
        let model = crate::bench::tiny_model();
        let mut s = Session::new(&model, "cpu", &CompileOptions::with_threads(Some(1))).unwrap();
        let feed = synthesize(s.inputs(), &HashMap::new(), &HashMap::new(), 0).unwrap();
        let limits = Limits::new(0.0, 0.0, 40).unwrap();
        let how = Concurrency {
            streams: 3,
            transfers: true,
        };
        let trace = measure(&mut s, &feed, &limits, how, &mut |_| {}).unwrap();
        // Each stream stops once the shared count reaches 40; the others may each finish the
        // query they were running.
        assert!(
            (40..=42).contains(&trace.queries.len()),
            "{}",
            trace.queries.len()
        );
        let q = &trace.queries;
        assert!(q
            .windows(2)
            .all(|w| w[0].host.start_ms <= w[1].host.start_ms));
        let zero = Concurrency {
            streams: 0,
            transfers: true,
        };
        assert!(measure(&mut s, &feed, &limits, zero, &mut |_| {}).is_err());
    }
}
