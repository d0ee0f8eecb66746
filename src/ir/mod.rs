//! The intermediate representation every pass and backend works on: [`Graph`], [`Node`], values with
//! dtype and (possibly symbolic) shape, the closed [`Op`] enum, shape inference and the verifier.
//! Passes change a graph only through [`Patch`]; the kernels of every backend share the concrete
//! shape arithmetic of [`geometry`].

pub mod geometry;
mod graph;
pub mod infer;
pub mod op;
mod patch;
mod verify;

pub use graph::{format_shape, Dim, Graph, Model, Node, NodeId, ValueId, ValueInfo};
pub use op::*;
pub use patch::Patch;
pub use verify::verify;
