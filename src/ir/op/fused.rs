//! Ops only the optimizer creates.

use super::UnaryKind;

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
