//! rtforge: an ONNX inference engine in the spirit of TensorRT and `trtexec`.
//!
//! ```text
//!  model.onnx ─► onnx::load_model ─► ir::Graph ─► passes ─► backend::compile ─► Engine
//!                                                                               │
//!                                      runtime::Session::run(inputs) ◄──────────┘
//! ```
//! - [`onnx`] imports a `ModelProto` into the [`ir`] (one closed [`ir::Op`] enum, symbolic shapes).
//! - [`passes`] rewrite the graph through [`ir::Patch`], verified after each pass.
//! - [`backend`] compiles a graph for a device; `cpu` is always there and is the reference every
//!   other backend is tested against.
//! - [`plan`] is an optimized model saved as an engine file (`rtforge build`): graph, aligned weights,
//!   fingerprint, shape profiles, per-backend payloads; loaded with full validation.
//! - [`runtime::Session`] checks inputs against the model's declared names, dtypes and shapes (and a
//!   plan's profiles), runs, and returns named outputs.
//! - [`bench`] measures a session as trtexec does (warm-up, iteration and duration limits,
//!   per-query traces) and reports trtexec's performance summary, speedups, JSON and Markdown.
//! - [`zoo`] writes real architectures (ResNet, MobileNetV2, BERT) as ONNX with seeded weights.
//! - [`cli`] is the `rtforge` command (`build`, `inspect`, `run`, `bench`, `zoo`).

pub mod backend;
pub mod bench;
pub mod cli;
pub mod error;
pub mod ir;
pub mod onnx;
pub mod passes;
pub mod plan;
pub mod precision;
pub mod runtime;
pub mod tensor;
pub mod zoo;

pub use error::{Error, Result};

/// `0.1.0 (abc123def456)`: the package version and the git commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("RTFORGE_GIT_HASH"),
    ")"
);
pub use ir::{Graph, Model};
pub use runtime::{InputTensor, Session};
pub use tensor::{DType, Tensor};
