//! Elementwise ops: unary, binary, variadic, Clip, Cast, Dropout, Softmax.

use crate::tensor::DType;

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
