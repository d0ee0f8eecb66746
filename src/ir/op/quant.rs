//! Quantization.

use crate::tensor::DType;

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
