//! What a benchmark reports: per run, trtexec's "=== Performance summary ===" (throughput; latency,
//! enqueue, H2D, compute and D2H as min / max / mean / median / percentiles; total host walltime
//! and compute time) and the same as JSON; for the whole benchmark, the JSON report of every run
//! with the speedup table. A stage a backend does not have is reported as not applicable, never
//! as zeros.

use super::check::CheckOutcome;
use super::speedup::SpeedupRow;
use super::stats::{percentile_label, with_defaults, Stats};
use super::trace::{Stage, Trace};
use crate::error::{Error, Result};
use serde_json::{json, Map, Value};

/// What was run: the labels of one row of the report.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSetup {
    pub backend: String,
    pub precision: String,
    /// The first dimension of the first input.
    pub batch: usize,
    /// CPU worker threads the engine was compiled with.
    pub threads: usize,
    /// Sessions that queried concurrently (`--streams`).
    pub streams: usize,
}

/// The measured result of one backend × precision run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunReport {
    pub setup: RunSetup,
    /// The percentiles asked for (the text shows these; the stats also hold p90/p95/p99).
    pub percentiles: Vec<f64>,
    pub latency: Stats,
    pub enqueue: Stats,
    pub h2d: Option<Stats>,
    pub compute: Option<Stats>,
    pub d2h: Option<Stats>,
    pub walltime_ms: f64,
    pub warm_up_queries: usize,
    pub warm_up_ms: f64,
    /// Peak activation memory, where the backend tracks it.
    pub peak_memory_bytes: Option<u64>,
    pub check: CheckOutcome,
}

impl RunReport {
    /// Summarizes a trace; an empty trace is an error (there is nothing to report).
    pub fn new(
        setup: RunSetup,
        trace: &Trace,
        percentiles: &[f64],
        peak_memory_bytes: Option<u64>,
        check: CheckOutcome,
    ) -> Result<RunReport> {
        let all = with_defaults(percentiles);
        let stats = |v: Vec<f64>| Stats::of(&v, &all);
        let latency = stats(trace.latencies())
            .ok_or_else(|| Error::Other("the benchmark timed no query".into()))?;
        let enqueue = stats(trace.enqueue_times())
            .ok_or_else(|| Error::Other("the benchmark timed no query".into()))?;
        Ok(RunReport {
            setup,
            percentiles: percentiles.to_vec(),
            latency,
            enqueue,
            h2d: trace.stage_times(Stage::H2d).and_then(stats),
            compute: trace.stage_times(Stage::Compute).and_then(stats),
            d2h: trace.stage_times(Stage::D2h).and_then(stats),
            walltime_ms: trace.walltime_ms(),
            warm_up_queries: trace.warm_up_queries,
            warm_up_ms: trace.warm_up_ms,
            peak_memory_bytes,
            check,
        })
    }

    pub fn queries(&self) -> usize {
        self.latency.count
    }

    /// Queries per second over the host walltime (trtexec's Throughput); each query is one batch.
    pub fn throughput_qps(&self) -> f64 {
        if self.walltime_ms > 0.0 {
            self.queries() as f64 / (self.walltime_ms / 1e3)
        } else {
            // A single query too short for the clock: fall back to the summed latencies.
            self.queries() as f64 / (self.latency.sum.max(1e-9) / 1e3)
        }
    }

    /// `min = 1.234 ms, max = ..., percentile(90%) = ...`: one metric in trtexec's words.
    fn metric_line(&self, s: &Stats) -> String {
        let mut parts = vec![
            format!("min = {:.5} ms", s.min),
            format!("max = {:.5} ms", s.max),
            format!("mean = {:.5} ms", s.mean),
            format!("median = {:.5} ms", s.median),
        ];
        for &p in &self.percentiles {
            if let Some(v) = s.percentile(p) {
                parts.push(format!("percentile({}%) = {v:.5} ms", percentile_label(p)));
            }
        }
        parts.join(", ")
    }

    /// trtexec's performance summary, preceded by its warm-up and trace lines.
    pub fn summary_text(&self) -> String {
        let b = &self.setup.backend;
        let na = |what: &str| format!("not applicable (the {b} backend {what})");
        let stage = |s: &Option<Stats>, what: &str| match s {
            Some(s) => self.metric_line(s),
            None => na(what),
        };
        let mut out = vec![
            format!(
                "Run: {b} {}, batch {}, {} CPU thread(s), {} stream(s)",
                self.setup.precision, self.setup.batch, self.setup.threads, self.setup.streams
            ),
            format!(
                "Warmup completed {} queries over {:.0} ms",
                self.warm_up_queries, self.warm_up_ms
            ),
            format!(
                "Timing trace has {} queries over {:.5} s",
                self.queries(),
                self.walltime_ms / 1e3
            ),
            "=== Performance summary ===".to_string(),
            format!("Throughput: {:.5} qps", self.throughput_qps()),
            format!("Latency: {}", self.metric_line(&self.latency)),
        ];
        let enqueue = self.metric_line(&self.enqueue);
        out.push(if self.h2d.is_none() && self.compute.is_none() {
            format!(
                "Enqueue Time: {enqueue} (synchronous: the call returns when the query is done)"
            )
        } else {
            format!("Enqueue Time: {enqueue}")
        });
        out.push(format!(
            "H2D Latency: {}",
            stage(&self.h2d, "has no host-to-device copy")
        ));
        out.push(format!(
            "GPU Compute Time: {}",
            stage(&self.compute, "computes on the host: see Latency")
        ));
        out.push(format!(
            "D2H Latency: {}",
            stage(&self.d2h, "has no device-to-host copy")
        ));
        out.push(format!(
            "Total Host Walltime: {:.5} s",
            self.walltime_ms / 1e3
        ));
        out.push(match &self.compute {
            Some(c) => format!("Total GPU Compute Time: {:.5} s", c.sum / 1e3),
            None => format!("Total GPU Compute Time: {}", na("has no device compute")),
        });
        out.push(match self.peak_memory_bytes {
            Some(n) => format!(
                "Peak activation memory: {:.2} MiB ({n} bytes)",
                n as f64 / (1 << 20) as f64
            ),
            None => format!("Peak activation memory: not tracked by the {b} backend"),
        });
        out.push(self.check.to_text());
        out.join("\n")
    }

    /// One entry of the JSON report's `results`.
    pub fn to_json(&self) -> Value {
        let num = |x: f64| if x.is_finite() { json!(x) } else { Value::Null };
        json!({
            "backend": self.setup.backend,
            "precision": self.setup.precision,
            "batch": self.setup.batch,
            "threads": self.setup.threads,
            "streams": self.setup.streams,
            "queries": self.queries(),
            "latency_ms": stats_json(&self.latency),
            "throughput_qps": num(self.throughput_qps()),
            "peak_memory_bytes": self.peak_memory_bytes,
            "enqueue_ms": stats_json(&self.enqueue),
            "h2d_ms": self.h2d.as_ref().map(stats_json),
            "compute_ms": self.compute.as_ref().map(stats_json),
            "d2h_ms": self.d2h.as_ref().map(stats_json),
            "walltime_s": self.walltime_ms / 1e3,
            "warm_up": {"queries": self.warm_up_queries, "ms": self.warm_up_ms},
            "check": self.check.to_json(),
        })
    }
}

/// `{"min", "max", "mean", "median", "p90", "p95", "p99", ...}`.
pub fn stats_json(s: &Stats) -> Value {
    let mut m = Map::new();
    for (k, v) in [
        ("min", s.min),
        ("max", s.max),
        ("mean", s.mean),
        ("median", s.median),
    ] {
        m.insert(k.into(), json!(v));
    }
    for &(p, v) in &s.percentiles {
        m.insert(format!("p{}", percentile_label(p)), json!(v));
    }
    Value::Object(m)
}

/// A whole benchmark: the model, how it was run, every run (the one asked for first) and the
/// speedup table.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchReport {
    /// As given on the command line (`zoo:resnet50`, a path).
    pub model: String,
    /// Logical CPUs of the machine.
    pub cpu_cores: usize,
    pub seed: u64,
    pub results: Vec<RunReport>,
    pub speedups: Vec<SpeedupRow>,
}

impl BenchReport {
    pub fn to_json(&self) -> Value {
        json!({
            "model": self.model,
            "rtforge_version": crate::VERSION,
            "cpu_cores": self.cpu_cores,
            "threads": self.results.first().map(|r| r.setup.threads),
            "seed": self.seed,
            "results": self.results.iter().map(RunReport::to_json).collect::<Vec<_>>(),
            "speedups": self.speedups.iter().map(SpeedupRow::to_json).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::trace::{QueryTrace, Span};

    fn setup(backend: &str) -> RunSetup {
        RunSetup {
            backend: backend.into(),
            precision: "fp32".into(),
            batch: 1,
            threads: 2,
            streams: 1,
        }
    }

    /// Ten host-only queries of 1..=10 ms, back to back: 55 ms of walltime.
    fn cpu_trace() -> Trace {
        let mut t = 0.0;
        let queries = (1..=10)
            .map(|ms| {
                let q = QueryTrace::host_only(t, t + ms as f64);
                t += ms as f64;
                q
            })
            .collect();
        Trace {
            queries,
            warm_up_queries: 3,
            warm_up_ms: 200.0,
        }
    }

    fn cpu_report() -> RunReport {
        RunReport::new(
            setup("cpu"),
            &cpu_trace(),
            &[90.0, 95.0, 99.0],
            None,
            CheckOutcome::Skipped("reference".into()),
        )
        .unwrap()
    }

    #[test]
    fn summary_has_trtexec_lines_and_says_when_a_stage_does_not_apply() {
        let text = cpu_report().summary_text();
        for line in [
            "Warmup completed 3 queries over 200 ms",
            "Timing trace has 10 queries over 0.05500 s",
            "=== Performance summary ===",
            "Throughput: 181.81818 qps",
            "Latency: min = 1.00000 ms, max = 10.00000 ms, mean = 5.50000 ms, median = 5.50000 ms, percentile(90%) = 9.00000 ms, percentile(95%) = 10.00000 ms, percentile(99%) = 10.00000 ms",
            "H2D Latency: not applicable (the cpu backend has no host-to-device copy)",
            "GPU Compute Time: not applicable (the cpu backend computes on the host: see Latency)",
            "D2H Latency: not applicable (the cpu backend has no device-to-host copy)",
            "Total Host Walltime: 0.05500 s",
            "Total GPU Compute Time: not applicable",
            "Peak activation memory: not tracked by the cpu backend",
            "Output check: skipped (reference)",
        ] {
            assert!(text.contains(line), "missing {line:?} in:\n{text}");
        }
        assert!(
            text.contains("Enqueue Time: min = 1.00000 ms") && text.contains("synchronous"),
            "{text}"
        );
    }

    #[test]
    fn device_stages_are_summarized() {
        let sp = |a: f64, b: f64| Span {
            start_ms: a,
            end_ms: b,
        };
        let q = |t0: f64| QueryTrace {
            host: sp(t0, t0 + 4.0),
            enqueue: sp(t0, t0 + 0.5),
            h2d: Some(sp(t0 + 0.5, t0 + 1.0)),
            compute: Some(sp(t0 + 1.0, t0 + 3.0)),
            d2h: Some(sp(t0 + 3.0, t0 + 3.5)),
        };
        let trace = Trace {
            queries: vec![q(0.0), q(4.0)],
            warm_up_queries: 0,
            warm_up_ms: 0.0,
        };
        let r = RunReport::new(
            setup("cuda"),
            &trace,
            &[99.0],
            Some(3 << 20),
            CheckOutcome::Skipped("x".into()),
        )
        .unwrap();
        let text = r.summary_text();
        assert!(
            text.contains("GPU Compute Time: min = 2.00000 ms"),
            "{text}"
        );
        assert!(
            text.contains("H2D Latency: min = 0.50000 ms")
                && text.contains("Total GPU Compute Time: 0.00400 s"),
            "{text}"
        );
        assert!(
            text.contains("Peak activation memory: 3.00 MiB (3145728 bytes)"),
            "{text}"
        );
        assert!(!text.contains("not applicable"), "{text}");
        let j = r.to_json();
        assert_eq!(j["compute_ms"]["median"], 2.0);
        assert_eq!(j["peak_memory_bytes"], 3 << 20);
        // p99 was asked for; p90 and p95 are always in the JSON.
        assert_eq!(j["latency_ms"]["p90"], 4.0);
    }

    #[test]
    fn json_has_the_required_fields() {
        let r = cpu_report();
        let report = BenchReport {
            model: "zoo:x".into(),
            cpu_cores: 2,
            seed: 0,
            results: vec![r.clone()],
            speedups: vec![],
        };
        let j = report.to_json();
        assert_eq!(j["model"], "zoo:x");
        assert_eq!(j["threads"], 2);
        let r0 = &j["results"][0];
        assert_eq!(
            (r0["backend"].as_str(), r0["precision"].as_str()),
            (Some("cpu"), Some("fp32"))
        );
        assert_eq!(
            (
                r0["batch"].as_u64(),
                r0["threads"].as_u64(),
                r0["queries"].as_u64()
            ),
            (Some(1), Some(2), Some(10))
        );
        let lat = &r0["latency_ms"];
        for (k, v) in [
            ("min", 1.0),
            ("max", 10.0),
            ("mean", 5.5),
            ("median", 5.5),
            ("p90", 9.0),
            ("p95", 10.0),
            ("p99", 10.0),
        ] {
            assert_eq!(lat[k], v, "latency_ms.{k}");
        }
        assert!((r0["throughput_qps"].as_f64().unwrap() - 181.818).abs() < 1e-3);
        assert!(
            r0["peak_memory_bytes"].is_null()
                && r0["h2d_ms"].is_null()
                && r0["compute_ms"].is_null()
        );
        assert!(j["speedups"].is_array());
        assert!(RunReport::new(
            setup("cpu"),
            &Trace::default(),
            &[90.0],
            None,
            CheckOutcome::Skipped(String::new())
        )
        .is_err());
    }
}
