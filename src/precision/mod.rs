//! Precision: which nodes of an optimized graph run in reduced precision, and what that costs in
//! accuracy. `--fp16` rewrites the graph ([`fp16::convert`]) so that weights and activations are
//! stored as f16 wherever the [`policy`] allows, with explicit Casts at the boundaries; kernels
//! widen f16 to f32 and accumulate in f32. The same casts-in-the-graph form is what a TensorRT
//! network is handed, so FP16 is expressed once, in the IR, for every backend.
//! [`accuracy`] measures the result against the FP32 graph on seeded inputs.

pub mod accuracy;
pub mod fp16;
pub mod policy;
