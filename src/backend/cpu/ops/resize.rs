//! Resize (and Upsample, imported as Resize): <https://onnx.ai/onnx/operators/onnx__Resize.html>.
//!
//! Interpolation is separable, so the tensor is resized one axis at a time. For each resized axis
//! a plan lists, per output position, the input indices it reads and their weights (nearest is
//! one tap of weight 1; linear two, cubic four, antialiased filters wider), then one pass applies
//! it. Coordinates, tap choice and weights follow the ONNX reference implementation exactly.

use super::real::{compute_type, real_tensor, real_vec, Real};
use super::{input, opt_input};
use crate::error::{Error, Result};
use crate::ir::geometry::{resized_axes, resized_shape};
use crate::ir::*;
use crate::tensor::{check_alloc, DType, Tensor};
use rayon::prelude::*;

/// Resize by `scales` or to `sizes`, over all axes or the `axes` attribute.
pub fn resize(p: &Resize, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let rank = x.rank();
    // Absent and empty inputs both mean "not given".
    let given = |i: usize| opt_input(inputs, i).filter(|t| !t.is_empty());
    let (roi, scales_t, sizes_t) = if p.scales_input == 1 {
        (None, given(1), None)
    } else {
        (given(1), given(2), given(3))
    };
    let in_shape = x.shape();
    let resized = resized_axes(p, in_shape, scales_t, sizes_t)?;
    let roi: Option<Vec<f64>> = match roi {
        Some(r) if p.coord == CoordTransform::TfCropAndResize => {
            let v = r.to_vec::<f64>();
            let n = resized.len();
            // The roi lists starts then ends, for the resized axes or for every axis.
            if v.len() == 2 * n {
                Some(v)
            } else if v.len() == 2 * rank {
                Some(
                    resized
                        .iter()
                        .map(|r| v[r.axis])
                        .chain(resized.iter().map(|r| v[rank + r.axis]))
                        .collect(),
                )
            } else {
                return Err(Error::Shape(format!(
                    "Resize: roi has {} values for {n} axes",
                    v.len()
                )));
            }
        }
        _ => None,
    };
    let out_shape = resized_shape(in_shape, &resized);
    check_alloc(&out_shape, x.dtype())?;
    let plans: Vec<(usize, AxisPlan)> = resized
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let (a, scale, len) = (r.axis, r.scale, r.len);
            let roi = roi.as_ref().map(|v| (v[i], v[resized.len() + i]));
            let identity = len == in_shape[a]
                && (scale - 1.0).abs() < 1e-9
                && roi.is_none_or(|(s, e)| s.abs() < 1e-9 && (e - 1.0).abs() < 1e-9);
            (!identity).then(|| {
                (
                    a,
                    AxisPlan::new(p, in_shape[a], len, scale, roi.unwrap_or((0.0, 1.0))),
                )
            })
        })
        .collect();
    let dtype = x.dtype();
    let y = match compute_type(dtype) {
        Some(DType::F32) => real_tensor(
            out_shape,
            apply_all::<f32>(p, &real_vec(x), in_shape, &plans),
            dtype,
        )?,
        Some(_) => real_tensor(
            out_shape,
            apply_all::<f64>(p, &real_vec(x), in_shape, &plans),
            dtype,
        )?,
        None if dtype != DType::Bool => {
            // Integers interpolate in f64 and round half to even, as numpy would.
            let v: Vec<f64> = apply_all::<f64>(p, &x.to_vec::<f64>(), in_shape, &plans);
            Tensor::from_vec(out_shape, v.into_iter().map(f64::round_ties_even).collect())?
                .cast(dtype)
        }
        None => return Err(Error::DType("Resize does not accept bool tensors".into())),
    };
    Ok(vec![y])
}

/// Runs every axis plan in turn.
fn apply_all<T: Real>(p: &Resize, x: &[T], shape: &[usize], plans: &[(usize, AxisPlan)]) -> Vec<T> {
    let mut shape = shape.to_vec();
    let mut cur: Vec<T> = x.to_vec();
    for (axis, plan) in plans {
        cur = plan.apply(&cur, &shape, *axis, T::of(p.extrapolation_value as f64));
        shape[*axis] = plan.out_len;
    }
    cur
}

/// Taps and weights for one resized axis.
struct AxisPlan {
    out_len: usize,
    taps: usize,
    /// `out_len · taps` input indices (already clamped to the input).
    index: Vec<usize>,
    weight: Vec<f64>,
    /// Output positions that read outside the crop box (tf_crop_and_resize).
    extrapolate: Vec<bool>,
}

impl AxisPlan {
    fn new(p: &Resize, in_len: usize, out_len: usize, scale: f64, roi: (f64, f64)) -> AxisPlan {
        let mut plan = AxisPlan {
            out_len,
            taps: 0,
            index: vec![],
            weight: vec![],
            extrapolate: vec![false; out_len],
        };
        let last = in_len.saturating_sub(1) as isize;
        for y in 0..out_len {
            let x = source_coord(p.coord, y as f64, scale, in_len, out_len, roi);
            if p.coord == CoordTransform::TfCropAndResize && (x < 0.0 || x > last as f64) {
                plan.extrapolate[y] = true;
            }
            let floor = x.floor();
            // The reference takes the ratio as 1 (not 0) at integer coordinates.
            let ratio = if x == floor { 1.0 } else { x - floor };
            let mut coeffs = match p.mode {
                ResizeMode::Nearest => {
                    let up = match p.nearest {
                        _ if x == floor => true,
                        NearestMode::RoundPreferFloor => ratio > 0.5,
                        NearestMode::RoundPreferCeil => ratio >= 0.5,
                        NearestMode::Floor => false,
                        NearestMode::Ceil => true,
                    };
                    if up {
                        vec![0.0, 1.0]
                    } else {
                        vec![1.0, 0.0]
                    }
                }
                ResizeMode::Linear if p.antialias && scale < 1.0 => linear_antialias(ratio, scale),
                ResizeMode::Linear => vec![1.0 - ratio, ratio],
                ResizeMode::Cubic if p.antialias && scale < 1.0 => {
                    cubic_antialias(ratio, scale, p.cubic_coeff_a as f64)
                }
                ResizeMode::Cubic => cubic(ratio, p.cubic_coeff_a as f64),
            };
            let n = coeffs.len();
            let start = first_tap(x, n);
            if p.exclude_outside {
                for (j, c) in coeffs.iter_mut().enumerate() {
                    let i = start + j as isize;
                    if i < 0 || i > last {
                        *c = 0.0;
                    }
                }
                let sum: f64 = coeffs.iter().sum();
                if sum != 0.0 {
                    coeffs.iter_mut().for_each(|c| *c /= sum);
                }
            }
            plan.taps = n;
            for (j, c) in coeffs.into_iter().enumerate() {
                plan.index
                    .push((start + j as isize).clamp(0, last.max(0)) as usize);
                plan.weight.push(c);
            }
        }
        plan
    }

    /// Resizes `axis` of `x` (shape `shape`).
    fn apply<T: Real>(&self, x: &[T], shape: &[usize], axis: usize, extrapolation: T) -> Vec<T> {
        let (outer, len, inner) = (
            shape[..axis].iter().product::<usize>(),
            shape[axis],
            shape[axis + 1..].iter().product::<usize>(),
        );
        let block = self.out_len * inner;
        let mut y = vec![T::ZERO; outer * block];
        if block == 0 || len == 0 {
            return y;
        }
        let weights: Vec<T> = self.weight.iter().map(|&w| T::of(w)).collect();
        y.par_chunks_mut(block).enumerate().for_each(|(o, out)| {
            let src = &x[o * len * inner..][..len * inner];
            for (j, row) in out.chunks_mut(inner).enumerate() {
                if self.extrapolate[j] {
                    row.fill(extrapolation);
                    continue;
                }
                for t in 0..self.taps {
                    let (i, w) = (self.index[j * self.taps + t], weights[j * self.taps + t]);
                    let s = &src[i * inner..][..inner];
                    row.iter_mut().zip(s).for_each(|(r, &v)| *r += w * v);
                }
            }
        });
        y
    }
}

/// The input coordinate of output position `y` (the spec's `coordinate_transformation_mode`).
fn source_coord(
    mode: CoordTransform,
    y: f64,
    scale: f64,
    in_len: usize,
    out_len: usize,
    roi: (f64, f64),
) -> f64 {
    let in_f = in_len as f64;
    // The unrounded output length the scale implies.
    let out_f = scale * in_f;
    match mode {
        CoordTransform::HalfPixel => (y + 0.5) / scale - 0.5,
        CoordTransform::HalfPixelSymmetric => {
            let adjustment = out_len as f64 / out_f;
            let offset = in_f / 2.0 * (1.0 - adjustment);
            offset + (y + 0.5) / scale - 0.5
        }
        CoordTransform::PytorchHalfPixel if out_f == 1.0 => -0.5,
        CoordTransform::PytorchHalfPixel => (y + 0.5) / scale - 0.5,
        CoordTransform::AlignCorners if out_f == 1.0 => 0.0,
        CoordTransform::AlignCorners => y * (in_f - 1.0) / (out_f - 1.0),
        CoordTransform::Asymmetric => y / scale,
        CoordTransform::TfCropAndResize => {
            // The roi is f32 data; the reference (and onnxruntime) form the crop width and the
            // start offset in f32, which decides ties of nearest rounding.
            let (start, end) = (roi.0 as f32, roi.1 as f32);
            let width = (end - start) as f64;
            let x = if out_f == 1.0 {
                width * (in_f - 1.0) / 2.0
            } else {
                y * width * (in_f - 1.0) / (out_f - 1.0)
            };
            x + (start * (in_len as f32 - 1.0)) as f64
        }
    }
}

/// Index of the first of the `n` taps around `x`: the `n` nearest integers, ties to the left
/// (the reference's edge-padded neighbour search, without the padding).
fn first_tap(x: f64, n: usize) -> isize {
    let pad = n.div_ceil(2) as f64;
    let xp = x + pad;
    let p = xp.floor();
    let frac = xp - p;
    let half = (n / 2) as isize;
    let offset = if n % 2 == 0 {
        if frac == 0.0 {
            -half
        } else {
            -half + 1
        }
    } else {
        let base = -(((n - 1) / 2) as isize);
        if frac <= 0.5 {
            base
        } else {
            base + 1
        }
    };
    p as isize + offset - pad as isize
}

/// Keys' cubic convolution weights for the four taps around a point at `ratio` past the second.
fn cubic(r: f64, a: f64) -> Vec<f64> {
    let far = |t: f64| ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a;
    let near = |t: f64| ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0;
    vec![far(r + 1.0), near(r), near(1.0 - r), far(2.0 - r)]
}

/// Cubic weights stretched by `1 / scale` when downsampling, normalized to sum to 1.
fn cubic_antialias(r: f64, scale: f64, a: f64) -> Vec<f64> {
    let coeff = |x: f64| {
        let x = x.abs();
        let (x2, x3) = (x * x, x * x * x);
        if x <= 1.0 {
            (a + 2.0) * x3 - (a + 3.0) * x2 + 1.0
        } else if x < 2.0 {
            a * x3 - 5.0 * a * x2 + 8.0 * a * x - 4.0 * a
        } else {
            0.0
        }
    };
    let start = (-2.0 / scale).floor() as isize + 1;
    normalized(
        (start..2 - start)
            .map(|i| coeff(scale * (i as f64 - r)))
            .collect(),
    )
}

/// Triangle weights stretched by `1 / scale` when downsampling, normalized to sum to 1.
fn linear_antialias(r: f64, scale: f64) -> Vec<f64> {
    let start = (-1.0 / scale).floor() as isize + 1;
    let footprint = 2 - 2 * start;
    normalized(
        (start..start + footprint)
            .map(|i| (1.0 - ((i as f64 - r) * scale).abs()).clamp(0.0, 1.0))
            .collect(),
    )
}

fn normalized(mut v: Vec<f64>) -> Vec<f64> {
    let s: f64 = v.iter().sum();
    if s != 0.0 {
        v.iter_mut().for_each(|c| *c /= s);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(mode: ResizeMode, coord: CoordTransform) -> Resize {
        Resize {
            mode,
            coord,
            ..Resize::default()
        }
    }

    #[test]
    fn nearest_and_linear_upsample() {
        let x = Tensor::from_vec(vec![1, 2], vec![1.0f32, 3.0]).unwrap();
        let scales = Tensor::from_vec(vec![2], vec![1.0f32, 2.0]).unwrap();
        let run = |p: &Resize| {
            resize(p, &[Some(&x), None, Some(&scales)])
                .unwrap()
                .remove(0)
        };
        let y = run(&attrs(ResizeMode::Nearest, CoordTransform::Asymmetric));
        assert_eq!(y.as_slice::<f32>().unwrap(), &[1.0, 1.0, 3.0, 3.0]);
        // half_pixel linear: sources -0.25, 0.25, 0.75, 1.25 (clamped at the edges).
        let y = run(&attrs(ResizeMode::Linear, CoordTransform::HalfPixel));
        assert_eq!(y.as_slice::<f32>().unwrap(), &[1.0, 1.5, 2.5, 3.0]);
    }

    #[test]
    fn taps_prefer_the_left() {
        assert_eq!(first_tap(4.0, 2), 3);
        assert_eq!(first_tap(4.4, 2), 4);
        assert_eq!(first_tap(4.5, 4), 3);
        assert_eq!(cubic(1.0, -0.75), vec![0.0, 0.0, 1.0, 0.0]);
    }
}
