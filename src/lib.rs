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
//! - [`runtime::Session`] checks inputs against the model's declared names, dtypes and shapes, runs,
//!   and returns named outputs.
//! - [`zoo`] writes real architectures (ResNet, MobileNetV2, BERT) as ONNX with seeded weights.
//! - [`cli`] is the `rtforge` command (`inspect`, `run`, `zoo`).

pub mod backend;
pub mod cli;
pub mod error;
pub mod ir;
pub mod onnx;
pub mod passes;
pub mod runtime;
pub mod tensor;
pub mod zoo;

pub use error::{Error, Result};

/// `0.1.0 (abc123def456)`: the package version and the git commit it was built from.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("RTFORGE_GIT_HASH"), ")");
pub use ir::{Graph, Model};
pub use runtime::Session;
pub use tensor::{DType, Tensor};
