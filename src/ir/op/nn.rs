//! Neural-network layers: convolution, pooling, normalization, Gemm/MatMul and their fused epilogues.

use super::UnaryKind;

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
