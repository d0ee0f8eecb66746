//! `Op`: the closed set of operations the IR can hold, one variant per ONNX op (or op family that
//! shares one kernel shape, such as the unary elementwise ops), each with its own parameter struct.
//!
//! Attributes that later opsets turned into inputs (Squeeze `axes`, Pad `pads`, Clip `min`/`max`, ...)
//! are kept as `Option` fields: `Some` when the model used the attribute form, `None` when the value
//! comes from the node's input. Import fills them; kernels read whichever is present.
//! Operator semantics: <https://onnx.ai/onnx/operators/>.

use super::Graph;

mod control;
mod elementwise;
mod fused;
mod nn;
mod quant;
mod recurrent;
mod reduce;
mod shape;

pub use control::*;
pub use elementwise::*;
pub use fused::*;
pub use nn::*;
pub use quant::*;
pub use recurrent::*;
pub use reduce::*;
pub use shape::*;

/// One operation. An exhaustive `match` over this enum in each backend shows which ops it lacks.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Op {
    // --- elementwise ---
    Unary(Unary),
    Binary(Binary),
    /// Min, Max, Sum, Mean over any number of broadcast inputs.
    Variadic(Variadic),
    Clip(Clip),
    Where,
    PRelu,
    Cast(Cast),
    CastLike,
    Identity,
    Dropout(Dropout),
    // --- softmax family ---
    Softmax(Softmax),
    LogSoftmax(Softmax),
    Hardmax(Softmax),
    // --- neural-network layers ---
    Conv(Conv),
    ConvTranspose(ConvTranspose),
    Pool(Pool),
    GlobalPool(GlobalPool),
    BatchNormalization(BatchNormalization),
    InstanceNormalization(InstanceNormalization),
    LayerNormalization(LayerNormalization),
    Gemm(Gemm),
    MatMul(MatMul),
    Einsum(Einsum),
    // --- shape and data movement ---
    Reshape(Reshape),
    Flatten(Flatten),
    Transpose(Transpose),
    Squeeze(Axes),
    Unsqueeze(Axes),
    Concat(Concat),
    Split(Split),
    Slice(Slice),
    Gather(Gather),
    GatherElements(Gather),
    GatherND(GatherND),
    ScatterND(ScatterND),
    ScatterElements(ScatterElements),
    Expand,
    Shape(ShapeOf),
    Size,
    ConstantOfShape(ConstantOfShape),
    Range,
    Tile,
    Pad(Pad),
    Resize(Resize),
    DepthToSpace(DepthToSpace),
    SpaceToDepth(SpaceToDepth),
    Trilu(Trilu),
    OneHot(OneHot),
    EyeLike(EyeLike),
    // --- reductions and selection ---
    Reduce(Reduce),
    ArgReduce(ArgReduce),
    TopK(TopK),
    CumSum(CumSum),
    NonZero,
    // --- control flow ---
    If(If),
    Loop(Loop),
    // --- recurrent ---
    Rnn(Rnn),
    // --- quantization ---
    QuantizeLinear(Quantize),
    DequantizeLinear(Quantize),
    // --- fused by the optimizer (no ONNX node imports as these) ---
    Attention(Attention),
    ElementwiseChain(ElementwiseChain),
}

impl Op {
    /// The ONNX op type this op was imported from (for errors, op counts and `inspect`).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Unary(u) => u.kind.name(),
            Op::Binary(b) => b.kind.name(),
            Op::Variadic(v) => match v.kind {
                VariadicKind::Min => "Min",
                VariadicKind::Max => "Max",
                VariadicKind::Sum => "Sum",
                VariadicKind::Mean => "Mean",
            },
            Op::Clip(_) => "Clip",
            Op::Where => "Where",
            Op::PRelu => "PRelu",
            Op::Cast(_) => "Cast",
            Op::CastLike => "CastLike",
            Op::Identity => "Identity",
            Op::Dropout(_) => "Dropout",
            Op::Softmax(_) => "Softmax",
            Op::LogSoftmax(_) => "LogSoftmax",
            Op::Hardmax(_) => "Hardmax",
            Op::Conv(_) => "Conv",
            Op::ConvTranspose(_) => "ConvTranspose",
            Op::Pool(p) => match p.kind {
                PoolKind::Max => "MaxPool",
                PoolKind::Average => "AveragePool",
                PoolKind::Lp(_) => "LpPool",
            },
            Op::GlobalPool(p) => match p.kind {
                PoolKind::Max => "GlobalMaxPool",
                PoolKind::Average => "GlobalAveragePool",
                PoolKind::Lp(_) => "GlobalLpPool",
            },
            Op::BatchNormalization(_) => "BatchNormalization",
            Op::InstanceNormalization(_) => "InstanceNormalization",
            Op::LayerNormalization(_) => "LayerNormalization",
            Op::Gemm(_) => "Gemm",
            Op::MatMul(_) => "MatMul",
            Op::Einsum(_) => "Einsum",
            Op::Reshape(_) => "Reshape",
            Op::Flatten(_) => "Flatten",
            Op::Transpose(_) => "Transpose",
            Op::Squeeze(_) => "Squeeze",
            Op::Unsqueeze(_) => "Unsqueeze",
            Op::Concat(_) => "Concat",
            Op::Split(_) => "Split",
            Op::Slice(_) => "Slice",
            Op::Gather(_) => "Gather",
            Op::GatherElements(_) => "GatherElements",
            Op::GatherND(_) => "GatherND",
            Op::ScatterND(_) => "ScatterND",
            Op::ScatterElements(_) => "ScatterElements",
            Op::Expand => "Expand",
            Op::Shape(_) => "Shape",
            Op::Size => "Size",
            Op::ConstantOfShape(_) => "ConstantOfShape",
            Op::Range => "Range",
            Op::Tile => "Tile",
            Op::Pad(_) => "Pad",
            Op::Resize(_) => "Resize",
            Op::DepthToSpace(_) => "DepthToSpace",
            Op::SpaceToDepth(_) => "SpaceToDepth",
            Op::Trilu(_) => "Trilu",
            Op::OneHot(_) => "OneHot",
            Op::EyeLike(_) => "EyeLike",
            Op::Reduce(r) => r.kind.name(),
            Op::ArgReduce(a) => {
                if a.max {
                    "ArgMax"
                } else {
                    "ArgMin"
                }
            }
            Op::TopK(_) => "TopK",
            Op::CumSum(_) => "CumSum",
            Op::NonZero => "NonZero",
            Op::If(_) => "If",
            Op::Loop(_) => "Loop",
            Op::Rnn(r) => match r.kind {
                RnnKind::Lstm => "LSTM",
                RnnKind::Gru => "GRU",
                RnnKind::Rnn => "RNN",
            },
            Op::QuantizeLinear(_) => "QuantizeLinear",
            Op::DequantizeLinear(_) => "DequantizeLinear",
            Op::Attention(_) => "Attention",
            Op::ElementwiseChain(_) => "ElementwiseChain",
        }
    }

    /// Subgraphs held by this op (If branches, Loop body), for passes and verification that recurse.
    pub fn subgraphs(&self) -> Vec<&Graph> {
        match self {
            Op::If(i) => vec![&i.then_branch, &i.else_branch],
            Op::Loop(l) => vec![&l.body],
            _ => vec![],
        }
    }
}
