//! Layout ops that only move elements: Transpose, DepthToSpace, SpaceToDepth, Trilu, and the
//! strided copy they (and Slice, Expand, Tile) are built on.
//!
//! <https://onnx.ai/onnx/operators/onnx__Transpose.html>,
//! <https://onnx.ai/onnx/operators/onnx__DepthToSpace.html>,
//! <https://onnx.ai/onnx/operators/onnx__SpaceToDepth.html>,
//! <https://onnx.ai/onnx/operators/onnx__Trilu.html>

use super::{input, opt_input};
use crate::error::{Error, Result};
use crate::ir::*;
use crate::map_data;
use crate::tensor::{check_alloc, strides_of, Element, Tensor, TensorData};
use rayon::prelude::*;

/// Below this many output elements a copy runs on one thread: splitting costs more than it saves.
const PAR_MIN_ELEMS: usize = 1 << 15;

/// Copies the strided view `src[offset + Σ idx[d] * strides[d]]` for every multi-index `idx` over
/// `shape` into a new C-order buffer. Strides may be zero (broadcast) or negative (reversed slice).
/// Returns an error, never panics, when the view reaches outside `src`.
pub(super) fn strided_copy<T: Copy + Default + Send + Sync>(
    src: &[T],
    offset: usize,
    shape: &[usize],
    strides: &[isize],
) -> Result<Vec<T>> {
    let n = crate::tensor::checked_numel(shape)
        .ok_or_else(|| Error::Shape(format!("shape {shape:?} overflows the element count")))?;
    if n == 0 {
        return Ok(Vec::new());
    }
    // Bounds of the view, so the copy loop can index without checks failing.
    let (mut lo, mut hi) = (offset as isize, offset as isize);
    for (&d, &s) in shape.iter().zip(strides) {
        let span = (d as isize - 1) * s;
        if span < 0 {
            lo += span;
        } else {
            hi += span;
        }
    }
    if lo < 0 || hi as usize >= src.len() {
        return Err(Error::Shape(format!(
            "strided view (offset {offset}, shape {shape:?}, strides {strides:?}) reaches outside a buffer of {}",
            src.len()
        )));
    }
    let (shape, strides) = collapse(shape, strides);
    let Some((&inner, outer_shape)) = shape.split_last() else {
        return Ok(vec![src[offset]]);
    };
    let (&inner_stride, outer_strides) = strides.split_last().unwrap_or((&1, &[]));
    let mut out = vec![T::default(); n];
    let rows_per_chunk = (PAR_MIN_ELEMS / inner).max(1);
    let copy_rows = |first_row: usize, chunk: &mut [T]| {
        // Multi-index of `first_row` over the outer dims, and the matching source offset.
        let mut idx = vec![0usize; outer_shape.len()];
        let mut rem = first_row;
        let mut base = offset as isize;
        for d in (0..outer_shape.len()).rev() {
            idx[d] = rem % outer_shape[d];
            rem /= outer_shape[d];
            base += idx[d] as isize * outer_strides[d];
        }
        for row in chunk.chunks_mut(inner) {
            if inner_stride == 1 {
                let b = base as usize;
                row.copy_from_slice(&src[b..b + inner]);
            } else {
                let mut p = base;
                for o in row.iter_mut() {
                    *o = src[p as usize];
                    p += inner_stride;
                }
            }
            for d in (0..outer_shape.len()).rev() {
                idx[d] += 1;
                base += outer_strides[d];
                if idx[d] < outer_shape[d] {
                    break;
                }
                base -= outer_strides[d] * outer_shape[d] as isize;
                idx[d] = 0;
            }
        }
    };
    if n < PAR_MIN_ELEMS {
        copy_rows(0, &mut out);
    } else {
        out.par_chunks_mut(rows_per_chunk * inner)
            .enumerate()
            .for_each(|(c, chunk)| copy_rows(c * rows_per_chunk, chunk));
    }
    Ok(out)
}

/// Drops size-1 dims and merges neighbours that are contiguous with each other, so the copy loop
/// runs over as few and as long rows as possible.
fn collapse(shape: &[usize], strides: &[isize]) -> (Vec<usize>, Vec<isize>) {
    let mut s: Vec<usize> = Vec::with_capacity(shape.len());
    let mut st: Vec<isize> = Vec::with_capacity(shape.len());
    for (&d, &k) in shape.iter().zip(strides) {
        if d == 1 {
            continue;
        }
        match (s.last_mut(), st.last_mut()) {
            (Some(ld), Some(lk)) if *lk == k * d as isize => {
                *ld *= d;
                *lk = k;
            }
            _ => {
                s.push(d);
                st.push(k);
            }
        }
    }
    (s, st)
}

/// [`strided_copy`] over a whole tensor of any dtype; checks the output size first.
pub(super) fn strided_tensor(
    t: &Tensor,
    offset: usize,
    shape: Vec<usize>,
    strides: &[isize],
) -> Result<Tensor> {
    check_alloc(&shape, t.dtype())?;
    let data = map_data!(t.data(), v => strided_copy(v, offset, &shape, strides)?);
    Tensor::new(shape, data)
}

/// C-order strides of `shape` as signed numbers, for building views.
pub(super) fn signed_strides(shape: &[usize]) -> Vec<isize> {
    strides_of(shape).into_iter().map(|s| s as isize).collect()
}

/// Transpose: output dim `i` is input dim `perm[i]` (reversed dims when `perm` is absent).
pub fn transpose(p: &Transpose, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let rank = x.rank();
    let perm: Vec<usize> = p.perm.clone().unwrap_or_else(|| (0..rank).rev().collect());
    let mut seen = vec![false; rank];
    if perm.len() != rank
        || perm
            .iter()
            .any(|&a| a >= rank || std::mem::replace(&mut seen[a], true))
    {
        return Err(Error::Shape(format!(
            "perm {perm:?} is not a permutation of the {rank} dims of {:?}",
            x.shape()
        )));
    }
    let st = signed_strides(x.shape());
    let shape = perm.iter().map(|&a| x.shape()[a]).collect();
    let strides: Vec<isize> = perm.iter().map(|&a| st[a]).collect();
    Ok(vec![strided_tensor(x, 0, shape, &strides)?])
}

/// The `[N, C, H, W]` dims of a DepthToSpace/SpaceToDepth input.
fn nchw(x: &Tensor, op: &str) -> Result<[usize; 4]> {
    match *x.shape() {
        [n, c, h, w] => Ok([n, c, h, w]),
        ref s => Err(Error::Shape(format!(
            "{op} expects a rank-4 [N, C, H, W] input, got {s:?}"
        ))),
    }
}

/// DepthToSpace: moves `blocksize²` channel groups into spatial blocks, channel-major within a
/// block (DCR) or column-major (CRD).
pub fn depth_to_space(p: &DepthToSpace, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let [n, c, h, w] = nchw(x, "DepthToSpace")?;
    let b = p.blocksize;
    if b == 0 || c % (b * b) != 0 {
        return Err(Error::Shape(format!(
            "DepthToSpace: channels {c} are not divisible by blocksize² ({b}²)"
        )));
    }
    let cb = c / (b * b);
    let hw = (h * w) as isize;
    let (bi, c_, w_) = (b as isize, cb as isize, w as isize);
    // Strides of the input viewed as [N, b, b, C', H, W] (DCR) or [N, C', b, b, H, W] (CRD).
    let (s_c, s_b1, s_b2) = if p.crd {
        (bi * bi * hw, bi * hw, hw)
    } else {
        (hw, bi * c_ * hw, c_ * hw)
    };
    let shape = vec![n, cb, h, b, w, b];
    let strides = [c as isize * hw, s_c, w_, s_b1, 1, s_b2];
    let y = strided_tensor(x, 0, shape, &strides)?;
    Ok(vec![y.reshape(vec![n, cb, h * b, w * b])?])
}

/// SpaceToDepth: moves each `blocksize`² spatial block into channels, block-major (DCR) or
/// channel-major (CRD, opset 28).
pub fn space_to_depth(p: &SpaceToDepth, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let [n, c, h, w] = nchw(x, "SpaceToDepth")?;
    let b = p.blocksize;
    if b == 0 || h % b != 0 || w % b != 0 {
        return Err(Error::Shape(format!(
            "SpaceToDepth: spatial dims {h}x{w} are not divisible by blocksize {b}"
        )));
    }
    let (hb, wb) = (h / b, w / b);
    let (bi, w_, hw) = (b as isize, w as isize, (h * w) as isize);
    // Output order [N, b1, b2, C, H/b, W/b] (DCR) or [N, C, b1, b2, H/b, W/b] (CRD) over the
    // input viewed as [N, C, H/b, b1, W/b, b2].
    let (s_n, s_c, s_b1, s_b2) = (c as isize * hw, hw, w_, 1);
    let (shape, strides) = if p.crd {
        (
            vec![n, c, b, b, hb, wb],
            [s_n, s_c, s_b1, s_b2, bi * w_, bi],
        )
    } else {
        (
            vec![n, b, b, c, hb, wb],
            [s_n, s_b1, s_b2, s_c, bi * w_, bi],
        )
    };
    let y = strided_tensor(x, 0, shape, &strides)?;
    Ok(vec![y.reshape(vec![n, c * b * b, hb, wb])?])
}

/// Trilu: keeps the upper (`j - i >= k`) or lower (`j - i <= k`) triangle of each trailing matrix,
/// zeroing the rest; `k` comes from optional input 1.
pub fn trilu(p: &Trilu, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    if x.rank() < 2 {
        return Err(Error::Shape(format!(
            "Trilu expects rank >= 2, got {:?}",
            x.shape()
        )));
    }
    let k = match opt_input(inputs, 1) {
        Some(t) => *t.to_i64_vec().first().ok_or_else(|| {
            Error::Input("Trilu: k must hold one value, got an empty tensor".into())
        })?,
        None => 0,
    };
    let (rows, cols) = (x.shape()[x.rank() - 2], x.shape()[x.rank() - 1]);
    let upper = p.upper;
    fn mask<T: Element>(v: &[T], rows: usize, cols: usize, k: i64, upper: bool) -> Vec<T> {
        let mut out = v.to_vec();
        for m in out.chunks_mut((rows * cols).max(1)) {
            for (i, row) in m.chunks_mut(cols.max(1)).enumerate() {
                for (j, e) in row.iter_mut().enumerate() {
                    let d = j as i64 - i as i64;
                    if (upper && d < k) || (!upper && d > k) {
                        *e = T::default();
                    }
                }
            }
        }
        out
    }
    let data: TensorData = map_data!(x.data(), v => mask(v, rows, cols, k, upper));
    Ok(vec![Tensor::new(x.shape().to_vec(), data)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_2x3() {
        let x = Tensor::from_vec(vec![2, 3], vec![1i32, 2, 3, 4, 5, 6]).unwrap();
        let y = transpose(&Transpose { perm: None }, &[Some(&x)]).unwrap();
        assert_eq!(y[0].shape(), &[3, 2]);
        assert_eq!(y[0].as_slice::<i32>().unwrap(), &[1, 4, 2, 5, 3, 6]);
    }

    #[test]
    fn strided_copy_reverses_and_broadcasts() {
        let src = [1, 2, 3];
        assert_eq!(strided_copy(&src, 2, &[3], &[-1]).unwrap(), vec![3, 2, 1]);
        assert_eq!(
            strided_copy(&src, 0, &[2, 3], &[0, 1]).unwrap(),
            vec![1, 2, 3, 1, 2, 3]
        );
        assert!(strided_copy(&src, 1, &[3], &[1]).is_err());
    }

    #[test]
    fn large_transpose_matches_naive() {
        let (r, c) = (300, 257);
        let v: Vec<f32> = (0..r * c).map(|i| i as f32).collect();
        let x = Tensor::from_vec(vec![r, c], v.clone()).unwrap();
        let y = transpose(
            &Transpose {
                perm: Some(vec![1, 0]),
            },
            &[Some(&x)],
        )
        .unwrap();
        let y = y[0].as_slice::<f32>().unwrap();
        for i in 0..r {
            for j in 0..c {
                assert_eq!(y[j * r + i], v[i * c + j]);
            }
        }
    }

    #[test]
    fn depth_to_space_dcr() {
        // C=4, b=2, H=W=1: DCR puts channel 0..3 at (0,0),(0,1),(1,0),(1,1).
        let x = Tensor::from_vec(vec![1, 4, 1, 1], vec![0f32, 1., 2., 3.]).unwrap();
        let y = depth_to_space(
            &DepthToSpace {
                blocksize: 2,
                crd: false,
            },
            &[Some(&x)],
        )
        .unwrap();
        assert_eq!(y[0].shape(), &[1, 1, 2, 2]);
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[0., 1., 2., 3.]);
    }

    #[test]
    fn trilu_lower_with_k() {
        let x = Tensor::from_vec(vec![2, 3], vec![1i64, 2, 3, 4, 5, 6]).unwrap();
        let k = Tensor::scalar(1i64);
        let y = trilu(&Trilu { upper: false }, &[Some(&x), Some(&k)]).unwrap();
        assert_eq!(y[0].as_slice::<i64>().unwrap(), &[1, 2, 0, 4, 5, 6]);
    }
}
