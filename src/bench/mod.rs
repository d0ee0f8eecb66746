//! Benchmarking, as `trtexec` does it: seeded inputs, a warm-up, then timed queries until both an
//! iteration count and a duration are reached; per-query traces; trtexec's performance summary,
//! a speedup table across backends and precisions, JSON and Markdown reports.
//!
//! ```text
//!  inputs::synthesize ─► runner::measure(Session, Limits) ─► Trace ─► report::RunReport ─┐
//!  check::CheckOutcome (outputs vs the cpu FP32 reference) ─────────────────────────────┤
//!                                  speedup::speedups ◄── every RunReport ◄───────────────┘
//!                                  report::BenchReport ─► JSON / markdown (+ SVG chart) / text
//! ```
//! `rtforge bench` (src/cli/bench.rs) drives it; the peer benchmark against onnxruntime and tract
//! (benches/peers) uses the same inputs, statistics and output check.

pub mod check;
pub mod inputs;
pub mod limits;
pub mod markdown;
pub mod profile;
pub mod report;
pub mod runner;
pub mod speedup;
pub mod stats;
pub mod trace;

pub use check::CheckOutcome;
pub use limits::Limits;
pub use report::{BenchReport, RunReport, RunSetup};
pub use stats::Stats;
pub use trace::{QueryTrace, Trace};

/// The precision of every run today: engines compute in FP32 (FP16/INT8 plans will carry theirs).
pub const FP32: &str = "fp32";

/// A one-node model (`y = relu(x)`, x float32[2,4]) for tests of the measuring code.
#[cfg(test)]
pub(crate) fn tiny_model() -> crate::Model {
    use crate::onnx::proto::{ModelProto, OperatorSetIdProto};
    use crate::zoo::GraphBuilder;
    use crate::DType;
    let mut g = GraphBuilder::new(0);
    let x = g.input("x", DType::F32, &[2, 4]);
    let y = g.relu("relu", &x);
    g.output(&y, "y", DType::F32, &[2, 4]);
    let mp = ModelProto {
        ir_version: Some(crate::zoo::IR_VERSION),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(crate::zoo::OPSET),
        }],
        graph: Some(g.finish("tiny")),
        ..Default::default()
    };
    crate::onnx::import_model(&mp, "tiny", None).expect("the tiny model imports")
}
