//! The speedup table across runs: one row per backend × precision with its median latency and
//! throughput, and its speedup over the cpu FP32 run (median latency ratio). Without a cpu FP32
//! run there is no baseline, and the speedup column says so rather than inventing one.

use super::report::RunReport;
use serde_json::{json, Value};

/// The run every speedup is measured against.
pub const BASELINE: (&str, &str) = ("cpu", "fp32");

/// Where the baseline itself is measured against a strong peer, so a speedup over it is read
/// against onnxruntime and not against a slow CPU path.
pub const BASELINE_NOTE: &str = "The cpu fp32 baseline's standing against onnxruntime and tract on the same models is in docs/performance.md.";

/// One row of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct SpeedupRow {
    pub backend: String,
    pub precision: String,
    pub batch: usize,
    pub median_ms: f64,
    pub p90_ms: f64,
    pub throughput_qps: f64,
    /// Baseline median / this median; `None` without a cpu FP32 run.
    pub speedup: Option<f64>,
}

impl SpeedupRow {
    pub fn to_json(&self) -> Value {
        json!({
            "backend": self.backend,
            "precision": self.precision,
            "batch": self.batch,
            "median_ms": self.median_ms,
            "p90_ms": self.p90_ms,
            "throughput_qps": self.throughput_qps,
            "speedup_vs_cpu_fp32": self.speedup,
        })
    }
}

/// The table's rows, in the order of `results`.
pub fn speedups(results: &[RunReport]) -> Vec<SpeedupRow> {
    let baseline = results
        .iter()
        .find(|r| (r.setup.backend.as_str(), r.setup.precision.as_str()) == BASELINE)
        .map(|r| r.latency.median);
    results
        .iter()
        .map(|r| SpeedupRow {
            backend: r.setup.backend.clone(),
            precision: r.setup.precision.clone(),
            batch: r.setup.batch,
            median_ms: r.latency.median,
            p90_ms: r.latency.percentile(90.0).unwrap_or(r.latency.max),
            throughput_qps: r.throughput_qps(),
            speedup: baseline
                .filter(|_| r.latency.median > 0.0)
                .map(|b| b / r.latency.median),
        })
        .collect()
}

/// The table as aligned text, with a note on the thread count and the baseline.
pub fn table_text(rows: &[SpeedupRow], threads: usize) -> String {
    let mut out = vec![
        format!("=== Speedup (median latency; {threads} CPU thread(s)) ==="),
        format!(
            "{:<10} {:<9} {:>5} {:>12} {:>12} {:>14} {:>16}",
            "backend", "precision", "batch", "median ms", "p90 ms", "throughput/s", "vs cpu fp32"
        ),
    ];
    for r in rows {
        let speedup = r.speedup.map_or("n/a".to_string(), |s| format!("{s:.2}x"));
        out.push(format!(
            "{:<10} {:<9} {:>5} {:>12.3} {:>12.3} {:>14.2} {:>16}",
            r.backend, r.precision, r.batch, r.median_ms, r.p90_ms, r.throughput_qps, speedup
        ));
    }
    if rows.iter().all(|r| r.speedup.is_none()) {
        out.push(
            "(no cpu fp32 run to compare with: add cpu to --backend for a speedup column)".into(),
        );
    } else {
        out.push(BASELINE_NOTE.into());
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::check::CheckOutcome;
    use crate::bench::report::RunSetup;
    use crate::bench::trace::{QueryTrace, Trace};

    /// A run whose queries all take `ms`.
    fn run(backend: &str, ms: f64) -> RunReport {
        let queries = (0..4)
            .map(|i| QueryTrace::host_only(i as f64 * ms, (i + 1) as f64 * ms))
            .collect();
        let trace = Trace {
            queries,
            warm_up_queries: 0,
            warm_up_ms: 0.0,
        };
        let setup = RunSetup {
            backend: backend.into(),
            precision: "fp32".into(),
            batch: 1,
            threads: 2,
            streams: 1,
        };
        RunReport::new(
            setup,
            &trace,
            &[90.0],
            None,
            CheckOutcome::Skipped(String::new()),
        )
        .unwrap()
    }

    #[test]
    fn speedup_is_the_median_ratio_to_cpu_fp32() {
        let rows = speedups(&[run("cuda", 2.0), run("cpu", 10.0)]);
        assert_eq!(rows[0].backend, "cuda");
        assert_eq!(rows[0].speedup, Some(5.0));
        assert_eq!(rows[1].speedup, Some(1.0));
        assert_eq!(rows[0].throughput_qps, 500.0);
        let text = table_text(&rows, 2);
        assert!(
            text.contains("2 CPU thread(s)") && text.contains("5.00x") && text.contains("1.00x"),
            "{text}"
        );
        assert_eq!(rows[0].to_json()["speedup_vs_cpu_fp32"], 5.0);
    }

    #[test]
    fn without_a_cpu_run_there_is_no_speedup() {
        let rows = speedups(&[run("cuda", 2.0)]);
        assert_eq!(rows[0].speedup, None);
        assert!(rows[0].to_json()["speedup_vs_cpu_fp32"].is_null());
        let text = table_text(&rows, 2);
        assert!(
            text.contains("n/a") && text.contains("no cpu fp32 run"),
            "{text}"
        );
    }
}
