//! Neural-network layers: Conv, ConvTranspose, pooling, normalization, Gemm, MatMul, Einsum.
//! <https://onnx.ai/onnx/operators/>

use crate::error::Result;
use crate::ir::*;
use crate::onnx::attrs::NodeCtx;

fn conv_attrs(c: &NodeCtx) -> Result<Conv> {
    let group = c.int("group", 1);
    if group < 1 {
        return Err(c.err(format!("group must be >= 1, got {group}")));
    }
    Ok(Conv {
        auto_pad: c.auto_pad()?,
        dilations: c.usizes("dilations")?,
        group: group as usize,
        kernel_shape: c.usizes("kernel_shape")?,
        pads: c.usizes("pads")?,
        strides: c.usizes("strides")?,
        epilogue: Epilogue::default(),
    })
}

fn pool_attrs(c: &NodeCtx, kind: PoolKind) -> Result<Pool> {
    let kernel_shape = c.usizes("kernel_shape")?;
    if kernel_shape.is_empty() {
        return Err(c.err("kernel_shape is required"));
    }
    Ok(Pool {
        kind,
        auto_pad: c.auto_pad()?,
        ceil_mode: c.bool("ceil_mode", false),
        count_include_pad: c.bool("count_include_pad", false),
        dilations: c.usizes("dilations")?,
        kernel_shape,
        pads: c.usizes("pads")?,
        strides: c.usizes("strides")?,
        storage_order: c.int("storage_order", 0),
    })
}

pub fn convert(c: &NodeCtx) -> Result<Option<Op>> {
    Ok(Some(match c.op_type {
        "Conv" => Op::Conv(conv_attrs(c)?),
        "ConvTranspose" => Op::ConvTranspose(ConvTranspose {
            conv: conv_attrs(c)?,
            output_padding: c.usizes("output_padding")?,
            output_shape: c.usizes("output_shape")?,
        }),
        "MaxPool" => Op::Pool(pool_attrs(c, PoolKind::Max)?),
        "AveragePool" => Op::Pool(pool_attrs(c, PoolKind::Average)?),
        "LpPool" => Op::Pool(pool_attrs(c, PoolKind::Lp(c.int("p", 2)))?),
        "GlobalMaxPool" => Op::GlobalPool(GlobalPool {
            kind: PoolKind::Max,
        }),
        "GlobalAveragePool" => Op::GlobalPool(GlobalPool {
            kind: PoolKind::Average,
        }),
        "GlobalLpPool" => Op::GlobalPool(GlobalPool {
            kind: PoolKind::Lp(c.int("p", 2)),
        }),
        "BatchNormalization" => {
            if c.bool("training_mode", false) || (c.opset < 7 && !c.bool("is_test", false)) {
                if c.bool("training_mode", false) {
                    return Err(c.err("training_mode=1 is not supported at inference"));
                }
            }
            if c.node.output.iter().skip(1).any(|o| !o.is_empty()) && c.opset >= 14 {
                return Err(c.err(
                    "running mean/var outputs (training mode) are not supported at inference",
                ));
            }
            Op::BatchNormalization(BatchNormalization {
                epsilon: c.float("epsilon", 1e-5),
            })
        }
        "InstanceNormalization" => Op::InstanceNormalization(InstanceNormalization {
            epsilon: c.float("epsilon", 1e-5),
        }),
        "LayerNormalization" => Op::LayerNormalization(LayerNormalization {
            axis: c.int("axis", -1),
            epsilon: c.float("epsilon", 1e-5),
        }),
        "Gemm" => Op::Gemm(Gemm {
            alpha: c.float("alpha", 1.0),
            beta: c.float("beta", 1.0),
            trans_a: c.bool("transA", false),
            trans_b: c.bool("transB", false),
            activation: None,
        }),
        "MatMul" => Op::MatMul(MatMul::default()),
        "Einsum" => Op::Einsum(Einsum {
            equation: c
                .string_opt("equation")
                .ok_or_else(|| c.err("equation is required"))?
                .replace(' ', ""),
        }),
        _ => return Ok(None),
    }))
}
