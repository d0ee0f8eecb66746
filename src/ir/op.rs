//! `Op`: the closed set of operations the IR can hold, one variant per ONNX op (or op family that
//! shares one kernel shape, such as the unary elementwise ops), each with its own parameter struct.
//!
//! Attributes that later opsets turned into inputs (Squeeze `axes`, Pad `pads`, Clip `min`/`max`, ...)
//! are kept as `Option` fields: `Some` when the model used the attribute form, `None` when the value
//! comes from the node's input. Import fills them; kernels read whichever is present.
//! Operator semantics: <https://onnx.ai/onnx/operators/>.

use super::Graph;
use crate::tensor::{DType, Tensor};

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

// ---------------------------------------------------------------- elementwise

/// Unary elementwise ops; parameters of the activation functions travel in the kind.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum UnaryKind {
    Relu,
    LeakyRelu {
        alpha: f32,
    },
    Elu {
        alpha: f32,
    },
    Selu {
        alpha: f32,
        gamma: f32,
    },
    Celu {
        alpha: f32,
    },
    ThresholdedRelu {
        alpha: f32,
    },
    Sigmoid,
    HardSigmoid {
        alpha: f32,
        beta: f32,
    },
    HardSwish,
    Softplus,
    Softsign,
    Mish,
    Swish {
        alpha: f32,
    },
    Shrink {
        bias: f32,
        lambd: f32,
    },
    Tanh,
    Erf,
    /// `approximate = "tanh"` when true.
    Gelu {
        tanh: bool,
    },
    Sqrt,
    Exp,
    Log,
    Neg,
    Abs,
    Reciprocal,
    Floor,
    Ceil,
    Round,
    Sign,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Asinh,
    Acosh,
    Atanh,
    Not,
    BitwiseNot,
    IsNaN,
    IsInf {
        detect_positive: bool,
        detect_negative: bool,
    },
}

impl UnaryKind {
    pub fn name(&self) -> &'static str {
        use UnaryKind::*;
        match self {
            Relu => "Relu",
            LeakyRelu { .. } => "LeakyRelu",
            Elu { .. } => "Elu",
            Selu { .. } => "Selu",
            Celu { .. } => "Celu",
            ThresholdedRelu { .. } => "ThresholdedRelu",
            Sigmoid => "Sigmoid",
            HardSigmoid { .. } => "HardSigmoid",
            HardSwish => "HardSwish",
            Softplus => "Softplus",
            Softsign => "Softsign",
            Mish => "Mish",
            Swish { .. } => "Swish",
            Shrink { .. } => "Shrink",
            Tanh => "Tanh",
            Erf => "Erf",
            Gelu { .. } => "Gelu",
            Sqrt => "Sqrt",
            Exp => "Exp",
            Log => "Log",
            Neg => "Neg",
            Abs => "Abs",
            Reciprocal => "Reciprocal",
            Floor => "Floor",
            Ceil => "Ceil",
            Round => "Round",
            Sign => "Sign",
            Sin => "Sin",
            Cos => "Cos",
            Tan => "Tan",
            Asin => "Asin",
            Acos => "Acos",
            Atan => "Atan",
            Sinh => "Sinh",
            Cosh => "Cosh",
            Asinh => "Asinh",
            Acosh => "Acosh",
            Atanh => "Atanh",
            Not => "Not",
            BitwiseNot => "BitwiseNot",
            IsNaN => "IsNaN",
            IsInf { .. } => "IsInf",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Unary {
    pub kind: UnaryKind,
}

/// Binary elementwise ops with multidirectional (numpy) broadcasting.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum BinaryKind {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    /// `fmod = 1` when true (C fmod, sign of the dividend); else Python-style modulo.
    Mod {
        fmod: bool,
    },
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    And,
    Or,
    Xor,
    BitShift {
        left: bool,
    },
    BitwiseAnd,
    BitwiseOr,
    BitwiseXor,
}

impl BinaryKind {
    pub fn name(&self) -> &'static str {
        use BinaryKind::*;
        match self {
            Add => "Add",
            Sub => "Sub",
            Mul => "Mul",
            Div => "Div",
            Pow => "Pow",
            Mod { .. } => "Mod",
            Equal => "Equal",
            Less => "Less",
            LessOrEqual => "LessOrEqual",
            Greater => "Greater",
            GreaterOrEqual => "GreaterOrEqual",
            And => "And",
            Or => "Or",
            Xor => "Xor",
            BitShift { .. } => "BitShift",
            BitwiseAnd => "BitwiseAnd",
            BitwiseOr => "BitwiseOr",
            BitwiseXor => "BitwiseXor",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Binary {
    pub kind: BinaryKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum VariadicKind {
    Min,
    Max,
    Sum,
    Mean,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Variadic {
    pub kind: VariadicKind,
}

/// Clip: bounds from attributes (opset < 11) or from inputs 1 and 2.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Clip {
    pub min: Option<f32>,
    pub max: Option<f32>,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cast {
    pub to: DType,
}

/// Dropout at inference is the identity; `ratio`/`training_mode` inputs are accepted and ignored
/// unless training mode is requested, which import rejects.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Dropout {
    pub ratio: f32,
}

/// Softmax / LogSoftmax / Hardmax. `coerce_2d` is the opset < 13 semantics: the input is viewed as
/// 2-D `[prod(dims[..axis]), prod(dims[axis..])]` and normalized along the second dimension.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Softmax {
    pub axis: i64,
    pub coerce_2d: bool,
}

// ---------------------------------------------------------------- nn layers

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AutoPad {
    NotSet,
    SameUpper,
    SameLower,
    Valid,
}

/// Conv. Spatial attributes are empty when the model left them to their defaults; kernels take
/// `kernel_shape` from the weight when it is empty.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Conv {
    pub auto_pad: AutoPad,
    pub dilations: Vec<usize>,
    pub group: usize,
    pub kernel_shape: Vec<usize>,
    /// `[x1_begin, x2_begin, ..., x1_end, x2_end, ...]` as ONNX orders them.
    pub pads: Vec<usize>,
    pub strides: Vec<usize>,
    /// Residual add and activation fused in by the optimizer; none on import.
    pub epilogue: Epilogue,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConvTranspose {
    pub conv: Conv,
    pub output_padding: Vec<usize>,
    pub output_shape: Vec<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum PoolKind {
    Max,
    Average,
    /// LpPool with its `p`.
    Lp(i64),
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pool {
    pub kind: PoolKind,
    pub auto_pad: AutoPad,
    pub ceil_mode: bool,
    pub count_include_pad: bool,
    pub dilations: Vec<usize>,
    pub kernel_shape: Vec<usize>,
    pub pads: Vec<usize>,
    pub strides: Vec<usize>,
    /// MaxPool's optional Indices output: 0 = row-major, 1 = column-major.
    pub storage_order: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GlobalPool {
    pub kind: PoolKind,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BatchNormalization {
    pub epsilon: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InstanceNormalization {
    pub epsilon: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerNormalization {
    pub axis: i64,
    pub epsilon: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Gemm {
    pub alpha: f32,
    pub beta: f32,
    pub trans_a: bool,
    pub trans_b: bool,
    /// Activation fused in by the optimizer (applied after `+ beta·C`); none on import.
    pub activation: Option<FusedActivation>,
}

/// MatMul with numpy broadcasting. Inputs: A, B, then what the optimizer fused in: an optional
/// bias (input 2, broadcast along the last axis) and an optional residual (input 3).
#[derive(Clone, Copy, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct MatMul {
    pub epilogue: Epilogue,
}

/// An activation a producer applies to each element of its result before writing it.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum FusedActivation {
    Unary(UnaryKind),
    /// Clip with constant bounds (`None`: unbounded on that side).
    Clip {
        min: Option<f32>,
        max: Option<f32>,
    },
}

impl FusedActivation {
    pub fn name(&self) -> &'static str {
        match self {
            FusedActivation::Unary(k) => k.name(),
            FusedActivation::Clip { .. } => "Clip",
        }
    }
}

/// What a Conv or MatMul does to its product before writing it, in this order: the bias (its own
/// input), `+ residual` (the node's input 3, same shape as the output), then the activation.
/// Set only by the fusion passes; an imported node has the default (nothing).
#[derive(Clone, Copy, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Epilogue {
    pub residual: bool,
    pub activation: Option<FusedActivation>,
}

impl Epilogue {
    pub fn is_empty(&self) -> bool {
        !self.residual && self.activation.is_none()
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Einsum {
    pub equation: String,
}

// ---------------------------------------------------------------- shape and data movement

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reshape {
    pub allowzero: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Flatten {
    pub axis: i64,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Transpose {
    /// `None`: reverse the dimensions.
    pub perm: Option<Vec<usize>>,
}

/// Squeeze / Unsqueeze axes: from the attribute (older opsets) or, when `None`, input 1.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Axes {
    pub axes: Option<Vec<i64>>,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Concat {
    pub axis: i64,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Split {
    pub axis: i64,
    /// The `split` attribute (opset < 13); `None` means input 1 or an even split.
    pub split: Option<Vec<i64>>,
    pub num_outputs: Option<usize>,
}

/// Slice: `starts`/`ends`/`axes` are attributes before opset 10, inputs after.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Slice {
    pub starts: Option<Vec<i64>>,
    pub ends: Option<Vec<i64>>,
    pub axes: Option<Vec<i64>>,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Gather {
    pub axis: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GatherND {
    pub batch_dims: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ScatterReduction {
    None,
    Add,
    Mul,
    Max,
    Min,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScatterND {
    pub reduction: ScatterReduction,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScatterElements {
    pub axis: i64,
    pub reduction: ScatterReduction,
}

/// Shape with the opset-15 `start`/`end` slice.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ShapeOf {
    pub start: i64,
    pub end: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConstantOfShape {
    /// One-element tensor giving the fill value and dtype; `None` is f32 zero.
    pub value: Option<Tensor>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PadMode {
    Constant,
    Reflect,
    Edge,
    Wrap,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pad {
    pub mode: PadMode,
    /// The `pads` attribute (opset < 11); `None` means input 1.
    pub pads: Option<Vec<i64>>,
    /// The `value` attribute (opset < 11).
    pub value: Option<f32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ResizeMode {
    Nearest,
    Linear,
    Cubic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CoordTransform {
    HalfPixel,
    HalfPixelSymmetric,
    PytorchHalfPixel,
    AlignCorners,
    Asymmetric,
    TfCropAndResize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NearestMode {
    RoundPreferFloor,
    RoundPreferCeil,
    Floor,
    Ceil,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KeepAspect {
    Stretch,
    NotLarger,
    NotSmaller,
}

/// Resize (and the older Upsample, imported as Resize with `scales` from input 1 or the attribute).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Resize {
    pub mode: ResizeMode,
    pub coord: CoordTransform,
    pub nearest: NearestMode,
    pub cubic_coeff_a: f32,
    pub exclude_outside: bool,
    pub extrapolation_value: f32,
    pub antialias: bool,
    pub axes: Option<Vec<i64>>,
    pub keep_aspect: KeepAspect,
    /// Where the `roi`, `scales` and `sizes` inputs are: opset 10 has only `scales` at input 1
    /// (Upsample too); opset 11+ has roi=1, scales=2, sizes=3.
    pub scales_input: usize,
    /// Upsample-7's `scales` attribute.
    pub scales_attr: Option<Vec<f32>>,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DepthToSpace {
    pub blocksize: usize,
    /// CRD mode when true, DCR (the default) when false.
    pub crd: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpaceToDepth {
    pub blocksize: usize,
    /// CRD output channel order (the opset-28 `mode`) when true, DCR (the default) when false.
    pub crd: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Trilu {
    pub upper: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OneHot {
    pub axis: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EyeLike {
    pub dtype: Option<DType>,
    pub k: i64,
}

// ---------------------------------------------------------------- reductions

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ReduceKind {
    Sum,
    Mean,
    Max,
    Min,
    Prod,
    L1,
    L2,
    LogSum,
    LogSumExp,
    SumSquare,
}

impl ReduceKind {
    pub fn name(&self) -> &'static str {
        match self {
            ReduceKind::Sum => "ReduceSum",
            ReduceKind::Mean => "ReduceMean",
            ReduceKind::Max => "ReduceMax",
            ReduceKind::Min => "ReduceMin",
            ReduceKind::Prod => "ReduceProd",
            ReduceKind::L1 => "ReduceL1",
            ReduceKind::L2 => "ReduceL2",
            ReduceKind::LogSum => "ReduceLogSum",
            ReduceKind::LogSumExp => "ReduceLogSumExp",
            ReduceKind::SumSquare => "ReduceSumSquare",
        }
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reduce {
    pub kind: ReduceKind,
    /// The `axes` attribute (older opsets); `None` means input 1, or all axes when that is absent.
    pub axes: Option<Vec<i64>>,
    pub keepdims: bool,
    pub noop_with_empty_axes: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ArgReduce {
    pub max: bool,
    pub axis: i64,
    pub keepdims: bool,
    pub select_last_index: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TopK {
    pub axis: i64,
    pub largest: bool,
    pub sorted: bool,
    /// The `k` attribute (opset 1); `None` means input 1.
    pub k: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CumSum {
    pub exclusive: bool,
    pub reverse: bool,
}

// ---------------------------------------------------------------- control flow

/// If. The node's inputs are `[cond, then captures..., else captures...]`, where each branch's
/// `captures` lists the outer-scope values it reads (see [`Graph::captures`]).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct If {
    pub then_branch: Box<Graph>,
    pub else_branch: Box<Graph>,
}

/// Loop. The node's inputs are `[M, cond, v_initial..., body captures...]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Loop {
    pub body: Box<Graph>,
}

// ---------------------------------------------------------------- recurrent

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RnnKind {
    Lstm,
    Gru,
    Rnn,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RnnDirection {
    Forward,
    Reverse,
    Bidirectional,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Activation {
    Relu,
    Tanh,
    Sigmoid,
    Affine { alpha: f32, beta: f32 },
    LeakyRelu { alpha: f32 },
    ThresholdedRelu { alpha: f32 },
    ScaledTanh { alpha: f32, beta: f32 },
    HardSigmoid { alpha: f32, beta: f32 },
    Elu { alpha: f32 },
    Softsign,
    Softplus,
}

/// LSTM, GRU and RNN share their attribute set.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rnn {
    pub kind: RnnKind,
    pub hidden_size: usize,
    pub direction: RnnDirection,
    /// Activations per direction, in the spec's order (LSTM f,g,h; GRU f,g; RNN f), already
    /// defaulted by import.
    pub activations: Vec<Activation>,
    pub clip: Option<f32>,
    /// `layout = 1`: batch-major inputs and outputs.
    pub batch_major: bool,
    /// GRU only.
    pub linear_before_reset: bool,
    /// LSTM only.
    pub input_forget: bool,
}

// ---------------------------------------------------------------- quantization

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Quantize {
    pub axis: i64,
    pub saturate: bool,
    /// Blocked quantization (opset 21); 0 = per-tensor/per-axis.
    pub block_size: usize,
    /// QuantizeLinear's `output_dtype` (opset 21) when the zero point is absent; DequantizeLinear's
    /// is the scale's dtype.
    pub output_dtype: Option<DType>,
}

// ---------------------------------------------------------------- fused by the optimizer

/// Scaled dot-product attention, fused by `passes::FuseAttention` from
/// `MatMul(Q, Kᵀ) → Div/Mul(scale) → [Add(mask)] → Softmax(last axis) → MatMul(·, V)`.
/// Inputs: Q `[.., S, d]`, Kᵀ `[.., d, S_kv]` (already transposed, as the pattern reads it),
/// V `[.., S_kv, d_v]` and, when `has_mask`, an additive mask broadcastable to the scores
/// `[.., S, S_kv]`; leading dims broadcast as MatMul's do. Output `[.., S, d_v]`:
/// `softmax(scale · Q·Kᵀ + mask) · V`. Not ONNX's opset-23 Attention, which takes K untransposed.
/// <https://onnx.ai/onnx/operators/onnx__Attention.html>
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Attention {
    /// Multiplies the scores before the mask is added (`1/c` for a `Div` by `c`).
    pub scale: f32,
    /// Whether input 3 (the additive mask) is present.
    pub has_mask: bool,
}

/// A run of elementwise float ops on one tensor, fused by `passes::FuseElementwise` and applied
/// per element in one pass: each step reads the previous step's result. The output has the
/// input's dtype and shape.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ElementwiseChain {
    pub steps: Vec<ChainStep>,
}

/// One step of an [`ElementwiseChain`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ChainStep {
    /// A unary float op (never Not, BitwiseNot, IsNaN or IsInf).
    Unary(UnaryKind),
    /// A binary op with a constant operand: `x op c`, or `c op x` when `constant_first`.
    Binary {
        op: ChainOp,
        constant: f32,
        constant_first: bool,
    },
}

/// The binary ops a chain step can apply (Max/Min are ONNX's two-input variadic forms).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ChainOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Max,
    Min,
}
