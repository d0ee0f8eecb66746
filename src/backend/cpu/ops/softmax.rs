//! Softmax, LogSoftmax and Hardmax. <https://onnx.ai/onnx/operators/onnx__Softmax.html>
//!
//! Two semantics, chosen at import: opset < 13 views the input as 2-D `[prod(dims[..axis]),
//! prod(dims[axis..])]` and normalizes each row; opset 13+ normalizes along the one axis. Both are
//! the same kernel over `[outer, n, inner]` blocks (coerce_2d is `inner = 1`). The maximum is
//! subtracted before `exp`, so large logits do not overflow.

use super::arith::Real;
use super::broadcast::{map1, PAR_CHUNK};
use super::{input, norm_axis};
use crate::error::{Error, Result};
use crate::ir::Softmax;
use crate::tensor::{Tensor, TensorData};
use half::{bf16, f16};
use rayon::prelude::*;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Soft,
    LogSoft,
    Hard,
}

pub fn softmax(p: &Softmax, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    normalize(p, inputs, Mode::Soft)
}

pub fn log_softmax(p: &Softmax, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    normalize(p, inputs, Mode::LogSoft)
}

pub fn hardmax(p: &Softmax, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    normalize(p, inputs, Mode::Hard)
}

/// `(n, inner)`: the length of the normalized axis and the stride between its elements.
fn lanes(p: &Softmax, shape: &[usize]) -> Result<(usize, usize)> {
    if shape.is_empty() {
        return Ok((1, 1));
    }
    let axis = norm_axis(p.axis, shape.len())?;
    Ok(if p.coerce_2d {
        (shape[axis..].iter().product(), 1)
    } else {
        (shape[axis], shape[axis + 1..].iter().product())
    })
}

fn normalize(p: &Softmax, inputs: &[Option<&Tensor>], mode: Mode) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let (n, inner) = lanes(p, x.shape())?;
    let data = match x.data() {
        TensorData::F32(v) => TensorData::F32(run(v, n, inner, mode)),
        TensorData::F64(v) => TensorData::F64(run(v, n, inner, mode)),
        TensorData::F16(v) => TensorData::F16(map1(
            &run(&map1(v, f16::to_f32), n, inner, mode),
            f16::from_f32,
        )),
        TensorData::BF16(v) => TensorData::BF16(map1(
            &run(&map1(v, bf16::to_f32), n, inner, mode),
            bf16::from_f32,
        )),
        other => {
            return Err(Error::DType(format!(
                "softmax family needs a float input, got {}",
                other.dtype()
            )))
        }
    };
    Ok(vec![Tensor::new(x.shape().to_vec(), data)?])
}

/// Normalizes every `[n, inner]` block of `x`, blocks in parallel when the tensor is large.
fn run<R: Real>(x: &[R], n: usize, inner: usize, mode: Mode) -> Vec<R> {
    let mut out = vec![R::default(); x.len()];
    let block = n * inner;
    if block == 0 {
        return out;
    }
    if x.len() <= PAR_CHUNK {
        out.chunks_mut(block)
            .zip(x.chunks(block))
            .for_each(|(o, i)| block_kernel(i, o, inner, mode));
    } else {
        let per_task = (PAR_CHUNK / block).max(1) * block;
        out.par_chunks_mut(per_task)
            .zip(x.par_chunks(per_task))
            .for_each(|(o, i)| {
                o.chunks_mut(block)
                    .zip(i.chunks(block))
                    .for_each(|(o, i)| block_kernel(i, o, inner, mode))
            });
    }
    out
}

/// One `[n, inner]` block: column `j` holds the `n` values normalized together. Rows are walked
/// in order so every pass reads memory contiguously.
fn block_kernel<R: Real>(x: &[R], out: &mut [R], inner: usize, mode: Mode) {
    if inner == 1 {
        return row_kernel(x, out, mode);
    }
    let mut max = x[..inner].to_vec();
    let mut arg = vec![0usize; inner];
    for (k, row) in x.chunks(inner).enumerate().skip(1) {
        for j in 0..inner {
            if row[j] > max[j] {
                max[j] = row[j];
                arg[j] = k;
            }
        }
    }
    if mode == Mode::Hard {
        let (zero, one) = (R::lit(0.0), R::lit(1.0));
        for (k, row) in out.chunks_mut(inner).enumerate() {
            for j in 0..inner {
                row[j] = if arg[j] == k { one } else { zero };
            }
        }
        return;
    }
    let mut sum = vec![R::lit(0.0); inner];
    for (orow, row) in out.chunks_mut(inner).zip(x.chunks(inner)) {
        for j in 0..inner {
            let e = (row[j] - max[j]).exp();
            orow[j] = e;
            sum[j] = sum[j] + e;
        }
    }
    match mode {
        Mode::Soft => {
            let inv: Vec<R> = sum.iter().map(|&s| R::lit(1.0) / s).collect();
            for orow in out.chunks_mut(inner) {
                for j in 0..inner {
                    orow[j] = orow[j] * inv[j];
                }
            }
        }
        _ => {
            // log softmax = x - max - ln(sum): exact for the largest entry, no log of a tiny ratio.
            let shift: Vec<R> = max.iter().zip(&sum).map(|(&m, &s)| m + s.ln()).collect();
            for (orow, row) in out.chunks_mut(inner).zip(x.chunks(inner)) {
                for j in 0..inner {
                    orow[j] = row[j] - shift[j];
                }
            }
        }
    }
}

/// The contiguous case (last axis, or coerce_2d): one row, no scratch buffers.
fn row_kernel<R: Real>(x: &[R], out: &mut [R], mode: Mode) {
    let (mut max, mut arg) = (x[0], 0);
    for (k, &v) in x.iter().enumerate().skip(1) {
        if v > max {
            max = v;
            arg = k;
        }
    }
    if mode == Mode::Hard {
        out.iter_mut()
            .enumerate()
            .for_each(|(k, o)| *o = R::lit(if k == arg { 1.0 } else { 0.0 }));
        return;
    }
    let mut sum = R::lit(0.0);
    for (o, &v) in out.iter_mut().zip(x) {
        *o = (v - max).exp();
        sum = sum + *o;
    }
    if mode == Mode::Soft {
        let inv = R::lit(1.0) / sum;
        out.iter_mut().for_each(|o| *o = *o * inv);
    } else {
        let shift = max + sum.ln();
        out.iter_mut().zip(x).for_each(|(o, &v)| *o = v - shift);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_op(
        f: fn(&Softmax, &[Option<&Tensor>]) -> Result<Vec<Tensor>>,
        axis: i64,
        coerce_2d: bool,
        x: &Tensor,
    ) -> Vec<f32> {
        f(&Softmax { axis, coerce_2d }, &[Some(x)]).unwrap()[0].to_f32_vec()
    }

    #[test]
    fn softmax_is_stable_for_large_logits() {
        // exp(1000) overflows f32; the result must equal softmax([0, 0, 1]).
        let x = Tensor::from_vec(vec![1, 3], vec![1000.0f32, 1000.0, 1001.0]).unwrap();
        let e = std::f32::consts::E;
        let y = run_op(softmax, -1, false, &x);
        assert!(
            (y[0] - 1.0 / (2.0 + e)).abs() < 1e-6 && (y[2] - e / (2.0 + e)).abs() < 1e-6,
            "{y:?}"
        );
        let l = run_op(log_softmax, -1, false, &x);
        assert!((l[2] - (e / (2.0 + e)).ln()).abs() < 1e-5, "{l:?}");
    }

    #[test]
    fn axis_and_coerce_2d_differ() {
        // [2, 2]: per-axis softmax over axis 0 normalizes columns; coerce_2d at axis 0 normalizes
        // all four values together.
        let x = Tensor::from_vec(vec![2, 2], vec![0.0f32, 0.0, 0.0, 0.0]).unwrap();
        assert_eq!(run_op(softmax, 0, false, &x), vec![0.5; 4]);
        assert_eq!(run_op(softmax, 0, true, &x), vec![0.25; 4]);
    }

    #[test]
    fn hardmax_picks_the_first_maximum() {
        let x = Tensor::from_vec(vec![2, 3], vec![1.0f32, 3.0, 3.0, -1.0, -2.0, -3.0]).unwrap();
        assert_eq!(
            run_op(hardmax, 1, false, &x),
            vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0]
        );
    }
}
