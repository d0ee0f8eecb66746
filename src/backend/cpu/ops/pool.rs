//! Pooling: MaxPool (with the optional Indices output), AveragePool, LpPool and their Global forms.
//! <https://onnx.ai/onnx/operators/onnx__MaxPool.html>,
//! <https://onnx.ai/onnx/operators/onnx__AveragePool.html>,
//! <https://onnx.ai/onnx/operators/onnx__LpPool.html>
//!
//! Each (image, channel) plane is one rayon task over the shared [`Window`] geometry. MaxPool also
//! takes integer tensors; those are pooled in f64, which holds every 8/16/32-bit value exactly.

use super::real::{compute_type, float_only, real_tensor, real_vec, Real};
use super::{check_spatial_rank, input};
use crate::error::{Error, Result};
use crate::ir::geometry::Window;
use crate::ir::*;
use crate::tensor::{check_alloc, DType, Tensor};
use rayon::prelude::*;

/// MaxPool / AveragePool / LpPool. `n_outputs` > 1 asks MaxPool for its Indices output.
pub fn pool(p: &Pool, inputs: &[Option<&Tensor>], n_outputs: usize) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    check_spatial_rank(op_name(p.kind), x.rank().saturating_sub(2))?;
    let win = Window::pool(op_name(p.kind), p, x.shape())?;
    let shape = win.output_shape(x.shape()[0], x.shape()[1]);
    check_alloc(&shape, DType::I64)?;
    let with_indices = p.kind == PoolKind::Max && n_outputs > 1;
    let dtype = x.dtype();
    let (y, idx) = match compute_type(dtype) {
        Some(DType::F32) => {
            let (y, idx) = pool_t::<f32>(p, &real_vec(x), &win, with_indices);
            (real_tensor(shape.clone(), y, dtype)?, idx)
        }
        Some(_) => {
            let (y, idx) = pool_t::<f64>(p, &real_vec(x), &win, with_indices);
            (real_tensor(shape.clone(), y, dtype)?, idx)
        }
        None if p.kind == PoolKind::Max && dtype != DType::Bool => {
            let (y, idx) = pool_t::<f64>(p, &x.to_vec::<f64>(), &win, with_indices);
            (Tensor::from_vec(shape.clone(), y)?.cast(dtype), idx)
        }
        None => return Err(float_only(op_name(p.kind), dtype)),
    };
    let mut outs = vec![y];
    if with_indices {
        outs.push(Tensor::from_vec(shape, idx)?);
    }
    Ok(outs)
}

fn op_name(kind: PoolKind) -> &'static str {
    match kind {
        PoolKind::Max => "MaxPool",
        PoolKind::Average => "AveragePool",
        PoolKind::Lp(_) => "LpPool",
    }
}

/// Pools every plane of `x`; returns the values and, when asked, MaxPool's flat indices.
fn pool_t<T: Real>(p: &Pool, x: &[T], win: &Window, with_indices: bool) -> (Vec<T>, Vec<i64>) {
    let (in_sp, out_sp) = (win.input_size(), win.output_size());
    let planes = if in_sp == 0 { 0 } else { x.len() / in_sp };
    let mut y = vec![T::ZERO; planes * out_sp];
    let mut idx = vec![0i64; if with_indices { planes * out_sp } else { 0 }];
    if out_sp == 0 || planes == 0 {
        return (y, idx);
    }
    if p.kind == PoolKind::Max && !with_indices && win.output[0] == 1 && win.input[0] == 1 {
        let taps_w: Vec<(usize, usize)> =
            (0..win.output[2]).map(|o| taps(win, 2, o, false)).collect();
        let taps_h: Vec<(usize, usize)> =
            (0..win.output[1]).map(|o| taps(win, 1, o, false)).collect();
        y.par_chunks_mut(out_sp).enumerate().for_each(|(i, out)| {
            max_plane_2d(&x[i * in_sp..][..in_sp], win, &taps_h, &taps_w, out)
        });
        return (y, idx);
    }
    let plane = |i: usize, out: &mut [T], ind: Option<&mut [i64]>| {
        pool_plane(
            p,
            &x[i * in_sp..][..in_sp],
            win,
            out,
            ind,
            (i * in_sp) as i64,
        );
    };
    if with_indices {
        y.par_chunks_mut(out_sp)
            .zip(idx.par_chunks_mut(out_sp))
            .enumerate()
            .for_each(|(i, (o, ind))| plane(i, o, Some(ind)));
    } else {
        y.par_chunks_mut(out_sp)
            .enumerate()
            .for_each(|(i, o)| plane(i, o, None));
    }
    (y, idx)
}

/// One plane. Indices count from `base` (the plane's offset in X) in row-major order, or
/// column-major over the spatial dims when `storage_order` is 1.
fn pool_plane<T: Real>(
    p: &Pool,
    x: &[T],
    w: &Window,
    out: &mut [T],
    mut ind: Option<&mut [i64]>,
    base: i64,
) {
    let [ih_n, iw_n] = [w.input[1], w.input[2]];
    let [od_n, oh_n, ow_n] = w.output;
    let mut o = 0;
    for od in 0..od_n {
        let (a_lo, a_hi) = taps(w, 0, od, false);
        for oh in 0..oh_n {
            let (b_lo, b_hi) = taps(w, 1, oh, false);
            for ow in 0..ow_n {
                let (e_lo, e_hi) = taps(w, 2, ow, false);
                let (mut best, mut best_at) = (None::<T>, 0usize);
                let mut sum = T::ZERO;
                for a in a_lo..a_hi {
                    let id = w.source(0, od, a) as usize;
                    for b in b_lo..b_hi {
                        let row = (id * ih_n + w.source(1, oh, b) as usize) * iw_n;
                        for e in e_lo..e_hi {
                            let at = row + w.source(2, ow, e) as usize;
                            let v = x[at];
                            match p.kind {
                                PoolKind::Max => {
                                    if !v.is_nan() && best.is_none_or(|b| v > b) {
                                        (best, best_at) = (Some(v), at);
                                    }
                                }
                                PoolKind::Average => sum += v,
                                PoolKind::Lp(q) => sum += v.abs().powi(q as i32),
                            }
                        }
                    }
                }
                out[o] = match p.kind {
                    PoolKind::Max => best.unwrap_or(T::of(f64::NAN)),
                    PoolKind::Average => {
                        // count_include_pad counts the explicit padding, never the extra reach
                        // of ceil_mode.
                        let n: usize = if p.count_include_pad {
                            [od, oh, ow]
                                .iter()
                                .enumerate()
                                .map(|(d, &o)| {
                                    let (lo, hi) = taps(w, d, o, true);
                                    hi - lo
                                })
                                .product()
                        } else {
                            (a_hi - a_lo) * (b_hi - b_lo) * (e_hi - e_lo)
                        };
                        sum / T::of(n.max(1) as f64)
                    }
                    PoolKind::Lp(q) => sum.powf(T::ONE / T::of(q as f64)),
                };
                if let Some(ind) = ind.as_deref_mut() {
                    ind[o] = base + flat_index(best_at, w, p.storage_order);
                }
                o += 1;
            }
        }
    }
}

/// NaN-skipping maximum: NaN only when both are NaN (the general path's rule: NaN taps are
/// ignored, and a window of only NaNs gives NaN).
#[inline(always)]
fn max_skip_nan<T: Real>(a: T, b: T) -> T {
    if b.is_nan() || (!a.is_nan() && a >= b) {
        a
    } else {
        b
    }
}

/// MaxPool of one 2-D plane, separably: first each input row's maxima over the horizontal taps
/// of every output column, then the maxima of those rows over each output row's vertical taps.
/// `taps_h` / `taps_w`: the valid taps of each output row / column.
fn max_plane_2d<T: Real>(
    x: &[T],
    w: &Window,
    taps_h: &[(usize, usize)],
    taps_w: &[(usize, usize)],
    out: &mut [T],
) {
    let [ih_n, iw_n] = [w.input[1], w.input[2]];
    let ow_n = w.output[2];
    let nan = T::of(f64::NAN);
    let mut rows = vec![nan; ih_n * ow_n];
    for (row, src) in rows.chunks_exact_mut(ow_n).zip(x.chunks_exact(iw_n)) {
        for (ow, (r, &(lo, hi))) in row.iter_mut().zip(taps_w).enumerate() {
            let mut m = nan;
            for e in lo..hi {
                m = max_skip_nan(m, src[w.source(2, ow, e) as usize]);
            }
            *r = m;
        }
    }
    for (oh, (dst, &(lo, hi))) in out.chunks_exact_mut(ow_n).zip(taps_h).enumerate() {
        dst.fill(nan);
        for b in lo..hi {
            let ih = w.source(1, oh, b) as usize;
            let src = &rows[ih * ow_n..][..ow_n];
            dst.iter_mut()
                .zip(src)
                .for_each(|(d, &v)| *d = max_skip_nan(*d, v));
        }
    }
}

/// The kernel taps `lo..hi` of output `o` along `dim` that land inside the input (or, with
/// `padded`, inside the input and its explicit padding).
fn taps(w: &Window, dim: usize, o: usize, padded: bool) -> (usize, usize) {
    let (lo, hi) = if padded {
        (-w.pad[dim], w.input[dim] as isize + w.pad_end[dim])
    } else {
        (0, w.input[dim] as isize)
    };
    // Source of tap k: o·s + k·dil − pad, which must lie in lo..hi.
    let origin = (o * w.stride[dim]) as isize - w.pad[dim];
    let dil = w.dilation[dim] as isize;
    let first = if lo - origin <= 0 {
        0
    } else {
        (lo - origin + dil - 1) / dil
    };
    let end = if hi - origin <= 0 {
        0
    } else {
        (hi - origin + dil - 1) / dil
    };
    let k = w.kernel[dim] as isize;
    (first.min(k) as usize, end.clamp(first.min(k), k) as usize)
}

/// The flat spatial index of row-major offset `at`, in the requested storage order.
fn flat_index(at: usize, w: &Window, storage_order: i64) -> i64 {
    if storage_order != 1 {
        return at as i64;
    }
    let [_, h, wd] = w.input;
    let (d_i, h_i, w_i) = (at / (h * wd), (at / wd) % h, at % wd);
    // Column-major over the (real) spatial dims: the last dim varies slowest.
    let [dn, hn, _] = w.input;
    (w_i * hn * dn + h_i * dn + d_i) as i64
}

/// GlobalMaxPool / GlobalAveragePool / GlobalLpPool: one value per (image, channel).
pub fn global_pool(p: &GlobalPool, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    if x.rank() < 2 {
        return Err(Error::Shape(format!(
            "global pooling expects X (N, C, …), got {:?}",
            x.shape()
        )));
    }
    let mut shape = x.shape()[..2].to_vec();
    shape.resize(x.rank(), 1);
    let plane: usize = x.shape()[2..].iter().product();
    let dtype = x.dtype();
    let y = match compute_type(dtype) {
        Some(DType::F32) => {
            real_tensor(shape, global_t::<f32>(p.kind, &real_vec(x), plane), dtype)?
        }
        Some(_) => real_tensor(shape, global_t::<f64>(p.kind, &real_vec(x), plane), dtype)?,
        None => return Err(float_only("global pooling", dtype)),
    };
    Ok(vec![y])
}

fn global_t<T: Real>(kind: PoolKind, x: &[T], plane: usize) -> Vec<T> {
    if plane == 0 {
        return Vec::new();
    }
    x.par_chunks(plane)
        .map(|v| match kind {
            PoolKind::Max => v
                .iter()
                .copied()
                .fold(v[0], |m, a| if a > m { a } else { m }),
            PoolKind::Average => v.iter().fold(T::ZERO, |s, &a| s + a) / T::of(plane as f64),
            PoolKind::Lp(q) => v
                .iter()
                .fold(T::ZERO, |s, &a| s + a.abs().powi(q as i32))
                .powf(T::ONE / T::of(q as f64)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool_attrs(
        kind: PoolKind,
        kernel: Vec<usize>,
        strides: Vec<usize>,
        pads: Vec<usize>,
    ) -> Pool {
        Pool {
            kind,
            auto_pad: AutoPad::NotSet,
            ceil_mode: false,
            count_include_pad: false,
            dilations: vec![],
            kernel_shape: kernel,
            pads,
            strides,
            storage_order: 0,
        }
    }

    #[test]
    fn max_pool_with_indices_and_average_excluding_pad() {
        let x = Tensor::from_vec(vec![1, 1, 2, 2], vec![1.0f32, 4.0, 3.0, 2.0]).unwrap();
        let p = pool_attrs(PoolKind::Max, vec![2, 2], vec![], vec![]);
        let y = pool(&p, &[Some(&x)], 2).unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[4.0]);
        assert_eq!(y[1].as_slice::<i64>().unwrap(), &[1]);
        // Average over a 2x2 window with one pad row on top: the padded cells do not count.
        let p = pool_attrs(PoolKind::Average, vec![2, 2], vec![], vec![1, 0, 0, 0]);
        let y = pool(&p, &[Some(&x)], 1).unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[2.5, 2.5]);
    }

    #[test]
    fn global_average() {
        let x = Tensor::from_vec(vec![1, 2, 2], vec![1.0f32, 3.0, 5.0, 7.0]).unwrap();
        let y = global_pool(
            &GlobalPool {
                kind: PoolKind::Average,
            },
            &[Some(&x)],
        )
        .unwrap();
        assert_eq!(y[0].shape(), &[1, 2, 1]);
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[2.0, 6.0]);
    }
}
