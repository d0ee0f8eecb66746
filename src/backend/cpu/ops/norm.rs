//! Normalization at inference: BatchNormalization (running statistics as inputs),
//! InstanceNormalization and LayerNormalization (statistics computed here, always in f32 or wider).
//! <https://onnx.ai/onnx/operators/onnx__BatchNormalization.html>,
//! <https://onnx.ai/onnx/operators/onnx__InstanceNormalization.html>,
//! <https://onnx.ai/onnx/operators/onnx__LayerNormalization.html>

use super::real::{compute_type, float_only, real_tensor, real_vec, Real};
use super::{input, norm_axis, opt_input};
use crate::error::{Error, Result};
use crate::ir::geometry::broadcast_strides;
use crate::ir::*;
use crate::tensor::{DType, Tensor};
use rayon::prelude::*;

/// Planes smaller than this are not worth a rayon task each.
const PAR_MIN: usize = 1 << 14;

/// Splits `x`'s shape into (batch, channels, spatial size), checking the per-channel inputs.
fn channel_layout(op: &str, x: &Tensor, per_channel: &[&Tensor]) -> Result<(usize, usize, usize)> {
    let s = x.shape();
    if s.len() < 2 {
        return Err(Error::Shape(format!(
            "{op} expects X of rank >= 2 (N, C, ...), got {s:?}"
        )));
    }
    let (n, c) = (s[0], s[1]);
    for t in per_channel {
        if t.len() != c {
            return Err(Error::Shape(format!(
                "{op}: a per-channel input has shape {:?}, expected ({c})",
                t.shape()
            )));
        }
    }
    Ok((n, c, s[2..].iter().product()))
}

/// BatchNormalization with the running mean and variance: `y = (x - mean) / sqrt(var + eps) · scale + B`.
pub fn batch_norm(p: &BatchNormalization, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let params = [
        input(inputs, 1)?,
        input(inputs, 2)?,
        input(inputs, 3)?,
        input(inputs, 4)?,
    ];
    let layout = channel_layout("BatchNormalization", x, &params)?;
    let y = match compute_type(x.dtype()) {
        Some(DType::F64) => batch_norm_t::<f64>(x, &params, p.epsilon, layout)?,
        Some(_) => batch_norm_t::<f32>(x, &params, p.epsilon, layout)?,
        None => return Err(float_only("BatchNormalization", x.dtype())),
    };
    Ok(vec![y])
}

fn batch_norm_t<T: Real>(
    x: &Tensor,
    params: &[&Tensor; 4],
    eps: f32,
    (_, c, plane): (usize, usize, usize),
) -> Result<Tensor> {
    let [scale, bias, mean, var] = params.map(|t| t.to_vec::<f64>());
    // Fold the four vectors into one multiply-add per element.
    let (mul, add): (Vec<T>, Vec<T>) = (0..c)
        .map(|i| {
            let a = scale[i] / (var[i] + eps as f64).sqrt();
            (T::of(a), T::of(bias[i] - mean[i] * a))
        })
        .unzip();
    let xv = real_vec::<T>(x);
    let mut y = vec![T::ZERO; xv.len()];
    let body = |(i, (out, src)): (usize, (&mut [T], &[T]))| {
        let (m, a) = (mul[i % c], add[i % c]);
        out.iter_mut().zip(src).for_each(|(o, &v)| *o = v * m + a);
    };
    if plane > 0 {
        if xv.len() >= PAR_MIN {
            y.par_chunks_mut(plane)
                .zip(xv.par_chunks(plane))
                .enumerate()
                .for_each(body);
        } else {
            y.chunks_mut(plane)
                .zip(xv.chunks(plane))
                .enumerate()
                .for_each(body);
        }
    }
    real_tensor(x.shape().to_vec(), y, x.dtype())
}

/// InstanceNormalization: each (n, c) plane normalized by its own mean and variance.
pub fn instance_norm(p: &InstanceNormalization, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let (scale, bias) = (input(inputs, 1)?, input(inputs, 2)?);
    let (_, c, plane) = channel_layout("InstanceNormalization", x, &[scale, bias])?;
    let y = match compute_type(x.dtype()) {
        Some(DType::F64) => instance_norm_t::<f64>(x, scale, bias, p.epsilon, c, plane)?,
        Some(_) => instance_norm_t::<f32>(x, scale, bias, p.epsilon, c, plane)?,
        None => return Err(float_only("InstanceNormalization", x.dtype())),
    };
    Ok(vec![y])
}

fn instance_norm_t<T: Real>(
    x: &Tensor,
    scale: &Tensor,
    bias: &Tensor,
    eps: f32,
    c: usize,
    plane: usize,
) -> Result<Tensor> {
    let (xv, sv, bv) = (real_vec::<T>(x), real_vec::<T>(scale), real_vec::<T>(bias));
    let mut y = vec![T::ZERO; xv.len()];
    if plane > 0 {
        y.par_chunks_mut(plane)
            .zip(xv.par_chunks(plane))
            .enumerate()
            .for_each(|(i, (out, src))| {
                let (mean, inv) = moments(src, eps);
                let (m, a) = (sv[i % c] * inv, bv[i % c]);
                out.iter_mut()
                    .zip(src)
                    .for_each(|(o, &v)| *o = (v - mean) * m + a);
            });
    }
    real_tensor(x.shape().to_vec(), y, x.dtype())
}

/// Mean and `1 / sqrt(var + eps)` of a slice (population variance, two passes for accuracy).
fn moments<T: Real>(v: &[T], eps: f32) -> (T, T) {
    let n = T::of(v.len().max(1) as f64);
    let mean = v.iter().fold(T::ZERO, |s, &x| s + x) / n;
    let var = v.iter().fold(T::ZERO, |s, &x| s + (x - mean) * (x - mean)) / n;
    (mean, T::ONE / (var + T::of(eps as f64)).sqrt())
}

/// LayerNormalization over the dimensions from `axis` on. Outputs Y, and Mean and InvStdDev (f32,
/// the default `stash_type`) shaped like X with the normalized dimensions set to 1.
pub fn layer_norm(p: &LayerNormalization, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let scale = input(inputs, 1)?;
    let bias = opt_input(inputs, 2);
    let axis = norm_axis(p.axis, x.rank())?;
    let norm_shape = &x.shape()[axis..];
    for t in std::iter::once(scale).chain(bias) {
        let ok = t.rank() <= norm_shape.len()
            && t.shape()
                .iter()
                .rev()
                .zip(norm_shape.iter().rev())
                .all(|(&a, &b)| a == b || a == 1);
        if !ok {
            return Err(Error::Shape(format!(
                "LayerNormalization: scale/bias of shape {:?} does not broadcast to the normalized shape {norm_shape:?}",
                t.shape()
            )));
        }
    }
    let outs = match compute_type(x.dtype()) {
        Some(DType::F64) => layer_norm_t::<f64>(x, scale, bias, axis, p.epsilon)?,
        Some(_) => layer_norm_t::<f32>(x, scale, bias, axis, p.epsilon)?,
        None => return Err(float_only("LayerNormalization", x.dtype())),
    };
    Ok(outs)
}

fn layer_norm_t<T: Real>(
    x: &Tensor,
    scale: &Tensor,
    bias: Option<&Tensor>,
    axis: usize,
    eps: f32,
) -> Result<Vec<Tensor>> {
    let norm_shape = &x.shape()[axis..];
    let cols: usize = norm_shape.iter().product();
    // Scale and bias expanded to one value per normalized element.
    let expand = |t: &Tensor| -> Vec<T> {
        let v = real_vec::<T>(t);
        let strides = broadcast_strides(t.shape(), norm_shape);
        let mut out = Vec::with_capacity(cols);
        let mut idx = vec![0usize; norm_shape.len()];
        for _ in 0..cols {
            out.push(v[idx.iter().zip(&strides).map(|(i, s)| i * s).sum::<usize>()]);
            for d in (0..idx.len()).rev() {
                idx[d] += 1;
                if idx[d] < norm_shape[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        out
    };
    let sv = expand(scale);
    let bv = bias.map(expand);
    let xv = real_vec::<T>(x);
    let rows = if cols == 0 { 0 } else { xv.len() / cols };
    let mut y = vec![T::ZERO; xv.len()];
    let mut stats = vec![(0f32, 0f32); rows];
    if cols > 0 {
        y.par_chunks_mut(cols)
            .zip(xv.par_chunks(cols))
            .zip(stats.par_iter_mut())
            .for_each(|((out, src), st)| {
                let (mean, inv) = moments(src, eps);
                for (j, (o, &v)) in out.iter_mut().zip(src).enumerate() {
                    let n = (v - mean) * inv * sv[j];
                    *o = match &bv {
                        Some(b) => n + b[j],
                        None => n,
                    };
                }
                *st = (mean.f64() as f32, inv.f64() as f32);
            });
    }
    let mut stat_shape = x.shape()[..axis].to_vec();
    stat_shape.resize(x.rank(), 1);
    let (mean, inv): (Vec<f32>, Vec<f32>) = stats.into_iter().unzip();
    Ok(vec![
        real_tensor(x.shape().to_vec(), y, x.dtype())?,
        Tensor::from_vec(stat_shape.clone(), mean)?,
        Tensor::from_vec(stat_shape, inv)?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], v: Vec<f32>) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v).unwrap()
    }

    #[test]
    fn batch_norm_uses_running_stats() {
        let x = t(&[1, 2, 2], vec![1.0, 2.0, 3.0, 4.0]);
        let (s, b, m, v) = (
            t(&[2], vec![1.0, 2.0]),
            t(&[2], vec![0.0, 1.0]),
            t(&[2], vec![1.0, 3.0]),
            t(&[2], vec![4.0, 1.0]),
        );
        let y = batch_norm(
            &BatchNormalization { epsilon: 0.0 },
            &[Some(&x), Some(&s), Some(&b), Some(&m), Some(&v)],
        )
        .unwrap();
        // Channel 0: (x - 1) / 2; channel 1: (x - 3) · 2 + 1.
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[0.0, 0.5, 1.0, 3.0]);
    }

    #[test]
    fn layer_norm_outputs_stats() {
        let x = t(&[2, 2], vec![1.0, 3.0, 2.0, 2.0]);
        let s = t(&[2], vec![1.0, 1.0]);
        let y = layer_norm(
            &LayerNormalization {
                axis: -1,
                epsilon: 0.0,
            },
            &[Some(&x), Some(&s), None],
        )
        .unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap()[..2], [-1.0, 1.0]);
        assert_eq!(y[1].shape(), &[2, 1]);
        assert_eq!(y[1].as_slice::<f32>().unwrap(), &[2.0, 2.0]);
        assert_eq!(y[2].as_slice::<f32>().unwrap()[0], 1.0);
    }
}
