//! CPU kernels, one file per op family, dispatched by one exhaustive `match` over [`Op`]: an op
//! added to the IR does not compile until the CPU backend handles it.

mod arith;
mod attention;
mod binary;
pub mod broadcast;
mod chain;
mod control;
pub use control::condition;
mod conv;
pub mod conv_packed;
mod cumsum;
mod einsum;
mod elementwise;
mod epilogue;
mod gather;
pub mod gemm;
mod generate;
mod im2col;
mod layout;
mod matmul;
mod norm;
mod pad;
mod pool;
mod quant;
pub mod real;
mod reduce;
mod resize;
mod rnn;
mod scatter;
mod select;
mod shape;
mod slice;
mod softmax;
mod unary;

use super::prepack::Prepacked;
use crate::error::{Error, Result};
use crate::ir::geometry::MAX_SPATIAL_RANK;
use crate::ir::{Node, Op};
use crate::tensor::Tensor;

pub use crate::ir::geometry::norm_axis;

/// Runs one node on its inputs (`None` for absent optional inputs). Returns the node's outputs in
/// order; optional outputs the node does not use may be returned anyway and are dropped.
pub fn run(node: &Node, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    match &node.op {
        Op::Unary(p) => elementwise::unary(p, inputs),
        Op::Binary(p) => elementwise::binary(p, inputs),
        Op::Variadic(p) => elementwise::variadic(p, inputs),
        Op::Clip(p) => elementwise::clip(p, inputs),
        Op::Where => elementwise::where_(inputs),
        Op::PRelu => elementwise::prelu(inputs),
        Op::Cast(p) => elementwise::cast(p, inputs),
        Op::CastLike => elementwise::cast_like(inputs),
        Op::Identity => elementwise::identity(inputs),
        Op::Dropout(p) => elementwise::dropout(p, inputs, node.outputs.len()),
        Op::Softmax(p) => softmax::softmax(p, inputs),
        Op::LogSoftmax(p) => softmax::log_softmax(p, inputs),
        Op::Hardmax(p) => softmax::hardmax(p, inputs),
        Op::Conv(p) => conv::conv(p, inputs, None),
        Op::ConvTranspose(p) => conv::conv_transpose(p, inputs),
        Op::Pool(p) => pool::pool(p, inputs, node.outputs.len()),
        Op::GlobalPool(p) => pool::global_pool(p, inputs),
        Op::BatchNormalization(p) => norm::batch_norm(p, inputs),
        Op::InstanceNormalization(p) => norm::instance_norm(p, inputs),
        Op::LayerNormalization(p) => norm::layer_norm(p, inputs),
        Op::Gemm(p) => matmul::gemm(p, inputs),
        Op::MatMul(p) => matmul::matmul(p, inputs, None),
        Op::Einsum(p) => matmul::einsum(p, inputs),
        Op::Reshape(p) => shape::reshape(p, inputs),
        Op::Flatten(p) => shape::flatten(p, inputs),
        Op::Transpose(p) => layout::transpose(p, inputs),
        Op::Squeeze(p) => shape::squeeze(p, inputs),
        Op::Unsqueeze(p) => shape::unsqueeze(p, inputs),
        Op::Concat(p) => slice::concat(p, inputs),
        Op::Split(p) => slice::split(p, inputs, node.outputs.len()),
        Op::Slice(p) => slice::slice(p, inputs),
        Op::Expand => shape::expand(inputs),
        Op::Shape(p) => shape::shape(p, inputs),
        Op::Size => shape::size(inputs),
        Op::ConstantOfShape(p) => generate::constant_of_shape(p, inputs),
        Op::Range => generate::range(inputs),
        Op::Tile => shape::tile(inputs),
        Op::Pad(p) => pad::pad(p, inputs),
        Op::DepthToSpace(p) => layout::depth_to_space(p, inputs),
        Op::SpaceToDepth(p) => layout::space_to_depth(p, inputs),
        Op::Trilu(p) => layout::trilu(p, inputs),
        Op::OneHot(p) => generate::one_hot(p, inputs),
        Op::EyeLike(p) => generate::eye_like(p, inputs),
        Op::Gather(p) => gather::gather(p, inputs),
        Op::GatherElements(p) => gather::gather_elements(p, inputs),
        Op::GatherND(p) => gather::gather_nd(p, inputs),
        Op::ScatterND(p) => scatter::scatter_nd(p, inputs),
        Op::ScatterElements(p) => scatter::scatter_elements(p, inputs),
        Op::NonZero => gather::non_zero(inputs),
        Op::Resize(p) => resize::resize(p, inputs),
        Op::Reduce(p) => reduce::reduce(p, inputs),
        Op::ArgReduce(p) => reduce::arg_reduce(p, inputs),
        Op::TopK(p) => reduce::top_k(p, inputs),
        Op::CumSum(p) => reduce::cum_sum(p, inputs),
        Op::If(p) => control::if_(p, inputs),
        Op::Loop(p) => control::loop_(p, inputs),
        Op::Rnn(p) => rnn::rnn(p, inputs),
        Op::QuantizeLinear(p) => quant::quantize(p, inputs),
        Op::DequantizeLinear(p) => quant::dequantize(p, inputs),
        Op::Attention(p) => attention::attention(p, inputs),
        Op::ElementwiseChain(p) => chain::chain(p, inputs),
    }
}

/// [`run`], with the weights the engine packed for this node when it was compiled.
pub fn run_prepacked(
    node: &Node,
    inputs: &[Option<&Tensor>],
    packed: Option<&Prepacked>,
) -> Result<Vec<Tensor>> {
    match (&node.op, packed) {
        (Op::Conv(p), Some(w)) => conv::conv(p, inputs, w.conv()),
        (Op::MatMul(p), Some(w)) => matmul::matmul(p, inputs, w.dense()),
        _ => run(node, inputs),
    }
}

/// Required input `i`.
pub fn input<'a>(inputs: &[Option<&'a Tensor>], i: usize) -> Result<&'a Tensor> {
    inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| Error::Input(format!("required input {i} is missing")))
}

/// Optional input `i`.
pub fn opt_input<'a>(inputs: &[Option<&'a Tensor>], i: usize) -> Option<&'a Tensor> {
    inputs.get(i).copied().flatten()
}

/// The error a kernel returns for a case it does not handle yet.
pub fn unsupported(what: impl Into<String>) -> Error {
    Error::Other(format!("not supported by the cpu backend: {}", what.into()))
}

/// Refuses, as unsupported, a Conv or pooling window over more spatial dimensions than the
/// kernels' [`crate::ir::geometry::Window`] holds.
pub fn check_spatial_rank(op: &str, n: usize) -> Result<()> {
    if n > MAX_SPATIAL_RANK {
        return Err(unsupported(format!(
            "{op} with {n} spatial dimensions (1 to {MAX_SPATIAL_RANK} are handled)"
        )));
    }
    Ok(())
}
