//! QuantizeLinear / DequantizeLinear (per-tensor, per-axis, blocked).
//! <https://onnx.ai/onnx/operators/onnx__QuantizeLinear.html>

use crate::error::Result;
use crate::ir::*;
use crate::onnx::attrs::NodeCtx;
use crate::tensor::DType;

pub fn convert(c: &NodeCtx) -> Result<Option<Op>> {
    let q = |c: &NodeCtx| -> Result<Quantize> {
        let output_dtype = match c.int("output_dtype", 0) {
            0 => None,
            code => Some(DType::from_onnx(code as i32).ok_or_else(|| {
                c.err(format!(
                    "output_dtype {} is not supported",
                    DType::onnx_name(code as i32)
                ))
            })?),
        };
        Ok(Quantize {
            axis: c.int("axis", 1),
            saturate: c.bool("saturate", true),
            block_size: c.int("block_size", 0).max(0) as usize,
            output_dtype,
        })
    };
    Ok(Some(match c.op_type {
        "QuantizeLinear" => Op::QuantizeLinear(q(c)?),
        "DequantizeLinear" => Op::DequantizeLinear(q(c)?),
        _ => return Ok(None),
    }))
}
