//! The per-query record of a benchmark: host start/end, enqueue span, and the host→device, compute
//! and device→host stages where the backend has them (`None` where a stage does not apply: the CPU
//! backend has no transfers and does not time compute apart from the call). `--export-times` writes
//! it in trtexec's `--exportTimes` JSON shape.

use crate::backend::StageTimes;
use crate::error::{Error, Result};
use serde_json::{json, Value};
use std::path::Path;

/// A time interval in milliseconds since the start of the timed phase.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    pub start_ms: f64,
    pub end_ms: f64,
}

impl Span {
    pub fn ms(&self) -> f64 {
        self.end_ms - self.start_ms
    }
}

/// One timed query.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryTrace {
    /// From the moment the inputs are handed over until the outputs are back on the host.
    pub host: Span,
    /// The call that submits the work. Synchronous backends (cpu) return when the work is done, so
    /// there it equals `host`.
    pub enqueue: Span,
    /// Inputs copied host→device (device backends only).
    pub h2d: Option<Span>,
    /// Device compute, timed by device events (device backends only).
    pub compute: Option<Span>,
    /// Outputs copied device→host (device backends only).
    pub d2h: Option<Span>,
}

impl QueryTrace {
    /// A query of a backend that runs synchronously on the host: no transfer or device stages.
    pub fn host_only(start_ms: f64, end_ms: f64) -> QueryTrace {
        let s = Span { start_ms, end_ms };
        QueryTrace {
            host: s,
            enqueue: s,
            h2d: None,
            compute: None,
            d2h: None,
        }
    }

    /// A query of a device backend: the host span, and the stage durations its events measured,
    /// laid back to back ending where the host saw the outputs (the events give durations; where
    /// each sits in host time is not measured, and the host's own work before and after lies
    /// outside them). Enqueue is the host span: the call returns when the query is done.
    pub fn with_stages(start_ms: f64, end_ms: f64, t: &StageTimes) -> QueryTrace {
        let d2h = Span {
            start_ms: end_ms - t.d2h_ms,
            end_ms,
        };
        let compute = Span {
            start_ms: d2h.start_ms - t.compute_ms,
            end_ms: d2h.start_ms,
        };
        let h2d = Span {
            start_ms: compute.start_ms - t.h2d_ms,
            end_ms: compute.start_ms,
        };
        QueryTrace {
            h2d: Some(h2d),
            compute: Some(compute),
            d2h: Some(d2h),
            ..QueryTrace::host_only(start_ms, end_ms)
        }
    }

    pub fn latency_ms(&self) -> f64 {
        self.host.ms()
    }
}

/// Which stage of a query a metric comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    H2d,
    Compute,
    D2h,
}

/// Every timed query of one run, plus what the warm-up did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    pub queries: Vec<QueryTrace>,
    /// Untimed warm-up queries run before the first timed one.
    pub warm_up_queries: usize,
    pub warm_up_ms: f64,
}

impl Trace {
    /// Host latencies, in query order.
    pub fn latencies(&self) -> Vec<f64> {
        self.queries.iter().map(QueryTrace::latency_ms).collect()
    }

    pub fn enqueue_times(&self) -> Vec<f64> {
        self.queries.iter().map(|q| q.enqueue.ms()).collect()
    }

    /// The stage's durations; `None` when no query has that stage (the backend does not have it).
    pub fn stage_times(&self, stage: Stage) -> Option<Vec<f64>> {
        let v: Vec<f64> = self
            .queries
            .iter()
            .filter_map(|q| Self::stage_of(q, stage))
            .map(|s| s.ms())
            .collect();
        (!v.is_empty()).then_some(v)
    }

    fn stage_of(q: &QueryTrace, stage: Stage) -> Option<Span> {
        match stage {
            Stage::H2d => q.h2d,
            Stage::Compute => q.compute,
            Stage::D2h => q.d2h,
        }
    }

    /// From the first query's start to the last query's end (trtexec's "Total Host Walltime"),
    /// over every stream.
    pub fn walltime_ms(&self) -> f64 {
        let start = self
            .queries
            .iter()
            .map(|q| q.host.start_ms)
            .reduce(f64::min);
        let end = self.queries.iter().map(|q| q.host.end_ms).reduce(f64::max);
        match (start, end) {
            (Some(s), Some(e)) => e - s,
            _ => 0.0,
        }
    }

    /// trtexec's `--exportTimes` array: one object per query with `startEnqMs`, `endEnqMs`,
    /// `startH2dMs`, `endH2dMs`, `startComputeMs`, `endComputeMs`, `startD2hMs`, `endD2hMs`,
    /// `h2dMs`, `computeMs`, `d2hMs`, `latencyMs`, plus `enqueueMs` and rtforge's host span
    /// (`startHostMs`, `endHostMs`). A stage the backend does not have is `null`, never 0.
    pub fn export_times_json(&self) -> Value {
        let opt = |s: Option<Span>, f: fn(&Span) -> f64| {
            s.as_ref().map(f).map_or(Value::Null, |v| json!(v))
        };
        let rows: Vec<Value> = self
            .queries
            .iter()
            .map(|q| {
                json!({
                    "startEnqMs": q.enqueue.start_ms,
                    "endEnqMs": q.enqueue.end_ms,
                    "startH2dMs": opt(q.h2d, |s| s.start_ms),
                    "endH2dMs": opt(q.h2d, |s| s.end_ms),
                    "startComputeMs": opt(q.compute, |s| s.start_ms),
                    "endComputeMs": opt(q.compute, |s| s.end_ms),
                    "startD2hMs": opt(q.d2h, |s| s.start_ms),
                    "endD2hMs": opt(q.d2h, |s| s.end_ms),
                    "h2dMs": opt(q.h2d, Span::ms),
                    "computeMs": opt(q.compute, Span::ms),
                    "d2hMs": opt(q.d2h, Span::ms),
                    "enqueueMs": q.enqueue.ms(),
                    "latencyMs": q.latency_ms(),
                    "startHostMs": q.host.start_ms,
                    "endHostMs": q.host.end_ms,
                })
            })
            .collect();
        Value::Array(rows)
    }

    /// Writes [`Trace::export_times_json`] to `path`.
    pub fn write_export_times(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(&self.export_times_json())
            .map_err(|e| Error::Other(format!("{}: {e}", path.display())))?;
        std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device_query(t0: f64) -> QueryTrace {
        let sp = |a: f64, b: f64| Span {
            start_ms: t0 + a,
            end_ms: t0 + b,
        };
        QueryTrace {
            host: sp(0.0, 4.0),
            enqueue: sp(0.0, 0.5),
            h2d: Some(sp(0.5, 1.0)),
            compute: Some(sp(1.0, 3.0)),
            d2h: Some(sp(3.0, 3.75)),
        }
    }

    #[test]
    fn host_only_queries_have_no_stages() {
        let t = Trace {
            queries: vec![
                QueryTrace::host_only(0.0, 2.0),
                QueryTrace::host_only(2.0, 5.0),
            ],
            ..Default::default()
        };
        assert_eq!(t.latencies(), vec![2.0, 3.0]);
        assert_eq!(t.enqueue_times(), vec![2.0, 3.0]);
        assert_eq!(t.stage_times(Stage::Compute), None);
        assert_eq!(t.walltime_ms(), 5.0);
        let j = t.export_times_json();
        assert_eq!(j[1]["startEnqMs"], 2.0);
        assert_eq!(j[1]["endEnqMs"], 5.0);
        assert_eq!(j[1]["latencyMs"], 3.0);
        assert_eq!(j[1]["enqueueMs"], 3.0);
        assert!(
            j[1]["computeMs"].is_null() && j[1]["h2dMs"].is_null() && j[1]["startD2hMs"].is_null()
        );
    }

    #[test]
    fn device_stages_are_exported_with_trtexec_names() {
        let t = Trace {
            queries: vec![device_query(0.0), device_query(10.0)],
            ..Default::default()
        };
        assert_eq!(t.stage_times(Stage::H2d), Some(vec![0.5, 0.5]));
        assert_eq!(t.stage_times(Stage::Compute), Some(vec![2.0, 2.0]));
        assert_eq!(t.stage_times(Stage::D2h), Some(vec![0.75, 0.75]));
        assert_eq!(t.walltime_ms(), 14.0);
        let j = t.export_times_json();
        assert_eq!(j.as_array().map(Vec::len), Some(2));
        assert_eq!(j[1]["startComputeMs"], 11.0);
        assert_eq!(j[1]["endComputeMs"], 13.0);
        assert_eq!(j[1]["computeMs"], 2.0);
        assert_eq!(j[1]["h2dMs"], 0.5);
        assert_eq!(j[1]["d2hMs"], 0.75);
        assert_eq!(j[1]["latencyMs"], 4.0);
    }
}
