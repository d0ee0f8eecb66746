//! Linear (de)quantization to 8- and 16-bit integers: per-tensor, per-axis, and blocked
//! (opset 21) scales and zero points. The float8/int4 formats are rejected at import.
//!
//! <https://onnx.ai/onnx/operators/onnx__QuantizeLinear.html>,
//! <https://onnx.ai/onnx/operators/onnx__DequantizeLinear.html>

use super::{input, norm_axis, opt_input};
use crate::error::{Error, Result};
use crate::ir::*;
use crate::tensor::{DType, Tensor};
use half::{bf16, f16};
use rayon::prelude::*;

/// Elements per rayon task: the per-element work is a few flops.
const PAR_MIN_LEN: usize = 1 << 14;

/// How an element of `x` finds its scale and zero point.
enum Granularity {
    Tensor,
    /// One parameter per index of the axis, `x` seen as `[outer, dim, inner]`.
    Axis {
        dim: usize,
        inner: usize,
    },
    /// One parameter per `block` consecutive indices of the axis.
    Block {
        dim: usize,
        inner: usize,
        block: usize,
        blocks: usize,
    },
}

impl Granularity {
    /// Works out the granularity from the scale's shape, checking it against `x`.
    fn of(x: &[usize], scale: &[usize], axis: i64, block: usize) -> Result<Granularity> {
        let bad =
            |why: &str| Error::Shape(format!("scale {scale:?} does not fit input {x:?}: {why}"));
        if block == 0 && scale.iter().product::<usize>() == 1 && scale.len() <= 1 {
            return Ok(Granularity::Tensor);
        }
        let axis = norm_axis(axis, x.len())?;
        let (dim, inner) = (x[axis], x[axis + 1..].iter().product());
        if block == 0 {
            if scale.len() != 1 || scale[0] != dim {
                return Err(bad(&format!(
                    "per-axis scales need shape [{dim}] for axis {axis}"
                )));
            }
            return Ok(Granularity::Axis { dim, inner });
        }
        let blocks = dim.div_ceil(block);
        let fits = scale.len() == x.len()
            && (0..x.len()).all(|d| {
                if d == axis {
                    scale[d] == blocks
                } else {
                    scale[d] == x[d]
                }
            });
        if !fits {
            return Err(bad(&format!(
                "blocked scales need {blocks} blocks of {block} on axis {axis}"
            )));
        }
        Ok(Granularity::Block {
            dim,
            inner,
            block,
            blocks,
        })
    }

    /// The parameter index of flat element `i` of `x`.
    fn index(&self, i: usize) -> usize {
        match *self {
            Granularity::Tensor => 0,
            Granularity::Axis { dim, inner } => (i / inner) % dim,
            Granularity::Block {
                dim,
                inner,
                block,
                blocks,
            } => {
                let (o, a, r) = (i / (dim * inner), (i / inner) % dim, i % inner);
                (o * blocks + a / block) * inner + r
            }
        }
    }
}

/// The integer range of a quantized dtype.
fn range_of(dt: DType) -> Result<(i32, i32)> {
    Ok(match dt {
        DType::U8 => (0, 255),
        DType::I8 => (-128, 127),
        DType::U16 => (0, 65535),
        DType::I16 => (-32768, 32767),
        DType::I32 => (i32::MIN, i32::MAX),
        _ => {
            return Err(Error::DType(format!(
                "{dt} is not a quantized integer type"
            )))
        }
    })
}

/// Checks that an optional zero point has the scale's shape; returns its values as i32.
fn zero_points(zp: Option<&Tensor>, scale: &Tensor, n: usize) -> Result<Vec<i32>> {
    match zp {
        Some(z) if z.shape().iter().product::<usize>() != scale.len() => {
            Err(Error::Shape(format!(
                "zero point {:?} must have the shape of scale {:?}",
                z.shape(),
                scale.shape()
            )))
        }
        Some(z) => Ok(z.to_vec::<i32>()),
        None => Ok(vec![0; n]),
    }
}

/// QuantizeLinear: `y = saturate(round_half_even(x / scale) + zero_point)`.
pub fn quantize(p: &Quantize, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let (x, scale, zp) = (input(inputs, 0)?, input(inputs, 1)?, opt_input(inputs, 2));
    let out_dt = match (zp, p.output_dtype) {
        (Some(z), Some(o)) if z.dtype() != o => {
            return Err(Error::DType(format!(
                "output_dtype {o} differs from the zero point's {}",
                z.dtype()
            )))
        }
        (Some(z), _) => z.dtype(),
        (None, Some(o)) => o,
        (None, None) => DType::U8,
    };
    let (lo, hi) = range_of(out_dt)?;
    if out_dt == DType::I32 {
        return Err(Error::DType("QuantizeLinear cannot output int32".into()));
    }
    let g = Granularity::of(x.shape(), scale.shape(), p.axis, p.block_size)?;
    let zps = zero_points(zp, scale, scale.len())?;
    // The quotient is rounded to the precision numpy would divide in: f16/bf16 when both
    // operands are, f64 for int32 input, f32 otherwise.
    let narrow: fn(f32) -> f32 = match (x.dtype(), scale.dtype()) {
        (DType::F16, DType::F16) => |v| f16::from_f32(v).to_f32(),
        (DType::BF16, DType::BF16) => |v| bf16::from_f32(v).to_f32(),
        _ => |v| v,
    };
    let q: Vec<i32> = if x.dtype().is_float() {
        let (xs, ss) = (x.to_f32_vec(), scale.to_f32_vec());
        xs.par_iter()
            .with_min_len(PAR_MIN_LEN)
            .enumerate()
            .map(|(i, &v)| {
                let j = g.index(i);
                let r = narrow(v / ss[j]).round_ties_even() as i64 + zps[j] as i64;
                r.clamp(lo as i64, hi as i64) as i32
            })
            .collect()
    } else {
        let (xs, ss) = (x.to_vec::<f64>(), scale.to_vec::<f64>());
        xs.iter()
            .enumerate()
            .map(|(i, &v)| {
                let j = g.index(i);
                ((v / ss[j]).round_ties_even() as i64 + zps[j] as i64).clamp(lo as i64, hi as i64)
                    as i32
            })
            .collect()
    };
    Ok(vec![Tensor::from_vec(x.shape().to_vec(), q)?.cast(out_dt)])
}

/// DequantizeLinear: `y = (x - zero_point) * scale`, in the scale's dtype (or `output_dtype`).
pub fn dequantize(p: &Quantize, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let (x, scale, zp) = (input(inputs, 0)?, input(inputs, 1)?, opt_input(inputs, 2));
    range_of(x.dtype())?;
    if let Some(z) = zp.filter(|z| z.dtype() != x.dtype()) {
        return Err(Error::DType(format!(
            "zero point is {} but the input is {}",
            z.dtype(),
            x.dtype()
        )));
    }
    if !scale.dtype().is_float() {
        return Err(Error::DType(format!(
            "DequantizeLinear scale must be a float type, got {}",
            scale.dtype()
        )));
    }
    let g = Granularity::of(x.shape(), scale.shape(), p.axis, p.block_size)?;
    let zps: Vec<f32> = zero_points(zp, scale, scale.len())?
        .into_iter()
        .map(|z| z as f32)
        .collect();
    let ss = scale.to_f32_vec();
    // As the spec computes it: x and the zero point widened to f32, the product in f32.
    let y: Vec<f32> = x
        .to_f32_vec()
        .par_iter()
        .with_min_len(PAR_MIN_LEN)
        .enumerate()
        .map(|(i, &v)| {
            let j = g.index(i);
            (v - zps[j]) * ss[j]
        })
        .collect();
    let out_dt = p.output_dtype.unwrap_or(scale.dtype());
    Ok(vec![Tensor::from_vec(x.shape().to_vec(), y)?.cast(out_dt)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(block_size: usize) -> Quantize {
        Quantize {
            axis: 1,
            saturate: true,
            block_size,
            output_dtype: None,
        }
    }

    #[test]
    fn quantize_rounds_half_to_even_and_saturates() {
        let x = Tensor::from_vec(vec![5], vec![0.5f32, 1.5, 2.5, -300.0, 1000.0]).unwrap();
        let s = Tensor::scalar(1f32);
        let z = Tensor::scalar(0i8);
        let y = quantize(&params(0), &[Some(&x), Some(&s), Some(&z)]).unwrap();
        assert_eq!(y[0].as_slice::<i8>().unwrap(), &[0, 2, 2, -128, 127]);
    }

    #[test]
    fn blocked_dequantize() {
        // x [1, 3] with blocks of 2 on axis 1: scales [2, 10].
        let x = Tensor::from_vec(vec![1, 3], vec![1u8, 2, 3]).unwrap();
        let s = Tensor::from_vec(vec![1, 2], vec![2f32, 10.]).unwrap();
        let z = Tensor::from_vec(vec![1, 2], vec![1u8, 0]).unwrap();
        let y = dequantize(&params(2), &[Some(&x), Some(&s), Some(&z)]).unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[0., 2., 30.]);
    }

    #[test]
    fn per_axis_quantize() {
        let x = Tensor::from_vec(vec![1, 2, 2], vec![2f32, 4., 2., 4.]).unwrap();
        let s = Tensor::from_vec(vec![2], vec![2f32, 1.]).unwrap();
        let y = quantize(&params(0), &[Some(&x), Some(&s)]).unwrap();
        assert_eq!(y[0].as_slice::<u8>().unwrap(), &[1, 2, 2, 4]);
    }
}
