//! Multidirectional (numpy) broadcasting: <https://onnx.ai/onnx/repo-docs/Broadcasting.html>.
//!
//! The shape rules are [`broadcast_shapes`] and [`broadcast_strides`] in `ir::geometry`; this owns
//! the elementwise map loops every broadcasting kernel runs on:
//! [`map1`] (one operand), [`map2`] (two, with fast paths for equal shapes and scalars) and
//! [`map3`] (Where). The general path coalesces dimensions that are contiguous in every operand, so
//! `[N,C,H,W] + [1,C,1,1]` runs as `[N,C,H·W]` with an inner loop over `H·W`; large outputs are
//! split into row blocks computed in parallel.

use crate::backend::cpu::buffers;
use crate::error::Result;
use crate::ir::geometry::{broadcast_shapes, broadcast_strides};
use crate::tensor::{check_alloc, Element, Tensor};
use rayon::prelude::*;

/// Elements per parallel task. Below this a map runs on the calling thread: 32K elements is about
/// 30 µs of simple arithmetic, well above rayon's per-task cost (~1 µs).
pub const PAR_CHUNK: usize = 1 << 15;

/// Applies `f` to every element of `x`, in parallel for large inputs.
pub fn map1<T: Copy + Sync, O: Element>(x: &[T], f: impl Fn(T) -> O + Sync) -> Vec<O> {
    // Every element is written below.
    let mut out = buffers::take::<O>(x.len());
    let run = |o: &mut [O], i: &[T]| o.iter_mut().zip(i).for_each(|(o, &v)| *o = f(v));
    if x.len() <= PAR_CHUNK {
        run(&mut out, x);
    } else {
        out.par_chunks_mut(PAR_CHUNK)
            .zip(x.par_chunks(PAR_CHUNK))
            .for_each(|(o, i)| run(o, i));
    }
    out
}

/// Replaces every element of `x` by `f` of itself, in parallel for large inputs.
pub fn map_in_place<T: Copy + Send + Sync>(x: &mut [T], f: impl Fn(T) -> T + Sync) {
    let run = |c: &mut [T]| c.iter_mut().for_each(|v| *v = f(*v));
    if x.len() <= PAR_CHUNK {
        run(x);
    } else {
        x.par_chunks_mut(PAR_CHUNK).for_each(run);
    }
}

/// `f(a, b)` over the broadcast of `a` (shape `sa`) and `b` (shape `sb`).
pub fn map2<A, B, O>(
    a: &[A],
    sa: &[usize],
    b: &[B],
    sb: &[usize],
    f: impl Fn(A, B) -> O + Sync,
) -> Result<Tensor>
where
    A: Copy + Sync,
    B: Copy + Sync,
    O: Element,
{
    let shape = broadcast_shapes(&[sa, sb])?;
    let n = check_alloc(&shape, O::DTYPE)?;
    let out = if a.len() == n && b.len() == n {
        // Equal element counts mean equal shapes up to leading 1s: a plain zip.
        let mut out = buffers::take::<O>(n);
        let run = |o: &mut [O], x: &[A], y: &[B]| {
            o.iter_mut()
                .zip(x.iter().zip(y))
                .for_each(|(o, (&x, &y))| *o = f(x, y))
        };
        if n <= PAR_CHUNK {
            run(&mut out, a, b);
        } else {
            out.par_chunks_mut(PAR_CHUNK)
                .zip(a.par_chunks(PAR_CHUNK).zip(b.par_chunks(PAR_CHUNK)))
                .for_each(|(o, (x, y))| run(o, x, y));
        }
        out
    } else if b.len() == 1 && a.len() == n {
        let y = b[0];
        map1(a, |x| f(x, y))
    } else if a.len() == 1 && b.len() == n {
        let x = a[0];
        map1(b, |y| f(x, y))
    } else {
        let mut out = vec![O::default(); n];
        fill(&mut out, &Plan::new(&shape, [sa, sb]), |[i, j]| {
            f(a[i], b[j])
        });
        out
    };
    Tensor::from_vec(shape, out)
}

/// `f(a, b, c)` over the broadcast of three operands (Where).
#[allow(clippy::too_many_arguments)]
pub fn map3<A, B, C, O>(
    a: &[A],
    sa: &[usize],
    b: &[B],
    sb: &[usize],
    c: &[C],
    sc: &[usize],
    f: impl Fn(A, B, C) -> O + Sync,
) -> Result<Tensor>
where
    A: Copy + Sync,
    B: Copy + Sync,
    C: Copy + Sync,
    O: Element,
{
    let shape = broadcast_shapes(&[sa, sb, sc])?;
    check_alloc(&shape, O::DTYPE)?;
    let mut out = vec![O::default(); shape.iter().product()];
    fill(&mut out, &Plan::new(&shape, [sa, sb, sc]), |[i, j, k]| {
        f(a[i], b[j], c[k])
    });
    Tensor::from_vec(shape, out)
}

/// How `N` operands are read over an output shape, with dimensions coalesced: size-1 dimensions
/// dropped, and neighbours merged where every operand walks them contiguously.
struct Plan<const N: usize> {
    dims: Vec<usize>,
    strides: [Vec<usize>; N],
}

impl<const N: usize> Plan<N> {
    fn new(out: &[usize], shapes: [&[usize]; N]) -> Plan<N> {
        let full: [Vec<usize>; N] = shapes.map(|s| broadcast_strides(s, out));
        let mut dims: Vec<usize> = vec![];
        let mut strides: [Vec<usize>; N] = std::array::from_fn(|_| vec![]);
        for (i, &d) in out.iter().enumerate() {
            if d == 1 {
                continue;
            }
            // Dimension i-1 (stride p) and i (size d, stride s) read as one when p == s·d.
            let mergeable =
                !dims.is_empty() && (0..N).all(|k| strides[k].last() == Some(&(full[k][i] * d)));
            if let (true, Some(last)) = (mergeable, dims.last_mut()) {
                *last *= d;
                for k in 0..N {
                    if let Some(s) = strides[k].last_mut() {
                        *s = full[k][i];
                    }
                }
            } else {
                dims.push(d);
                for k in 0..N {
                    strides[k].push(full[k][i]);
                }
            }
        }
        Plan { dims, strides }
    }
}

/// Writes `out[i] = f(offsets of element i in each operand)` following `plan`, in row blocks run in
/// parallel when the output is large.
fn fill<const N: usize, O: Send>(
    out: &mut [O],
    plan: &Plan<N>,
    f: impl Fn([usize; N]) -> O + Sync,
) {
    if out.is_empty() {
        return;
    }
    let rank = plan.dims.len();
    let inner = plan.dims.last().copied().unwrap_or(1);
    let inner_stride: [usize; N] =
        std::array::from_fn(|k| plan.strides[k].last().copied().unwrap_or(0));
    let outer = &plan.dims[..rank.saturating_sub(1)];
    let run = |first_row: usize, block: &mut [O]| {
        // Multi-index and operand offsets of the block's first row.
        let mut idx = vec![0usize; outer.len()];
        let mut off = [0usize; N];
        let mut r = first_row;
        for d in (0..outer.len()).rev() {
            idx[d] = r % outer[d];
            r /= outer[d];
            for k in 0..N {
                off[k] += idx[d] * plan.strides[k][d];
            }
        }
        for row in block.chunks_mut(inner) {
            for (i, o) in row.iter_mut().enumerate() {
                *o = f(std::array::from_fn(|k| off[k] + i * inner_stride[k]));
            }
            for d in (0..outer.len()).rev() {
                idx[d] += 1;
                for k in 0..N {
                    off[k] += plan.strides[k][d];
                }
                if idx[d] < outer[d] {
                    break;
                }
                for k in 0..N {
                    off[k] -= outer[d] * plan.strides[k][d];
                }
                idx[d] = 0;
            }
        }
    };
    if out.len() <= PAR_CHUNK {
        run(0, out);
    } else {
        let rows = (PAR_CHUNK / inner).max(1);
        out.par_chunks_mut(rows * inner)
            .enumerate()
            .for_each(|(t, block)| run(t * rows, block));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map2_broadcasts_rows_and_columns() {
        let a = [1.0f32, 2.0, 3.0];
        let b = [10.0f32, 20.0];
        let t = map2(&a, &[1, 3], &b, &[2, 1], |x, y| x + y).unwrap();
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(
            t.as_slice::<f32>().unwrap(),
            &[11.0, 12.0, 13.0, 21.0, 22.0, 23.0]
        );
    }

    #[test]
    fn map2_channel_bias_coalesces() {
        // [2,3,2] + [3,1]: the bias repeats per pair of elements.
        let a: Vec<i64> = (0..12).collect();
        let t = map2(&a, &[2, 3, 2], &[100i64, 200, 300], &[3, 1], |x, y| x + y).unwrap();
        assert_eq!(
            t.as_slice::<i64>().unwrap(),
            &[100, 101, 202, 203, 304, 305, 106, 107, 208, 209, 310, 311]
        );
    }

    #[test]
    fn map2_large_parallel_matches_sequential() {
        let n = 3 * PAR_CHUNK + 7;
        let a: Vec<i64> = (0..n as i64).collect();
        let b = [1i64, -1];
        let t = map2(&a, &[n, 1], &b, &[2], |x, y| x * y).unwrap();
        let v = t.as_slice::<i64>().unwrap();
        assert_eq!(v.len(), 2 * n);
        assert_eq!(
            (v[2 * (n - 1)], v[2 * (n - 1) + 1]),
            (n as i64 - 1, 1 - n as i64)
        );
    }

    #[test]
    fn incompatible_shapes_are_an_error() {
        let err = map2(&[0u8; 3], &[3], &[0u8; 2], &[2], |x, _| x).unwrap_err();
        assert!(err.to_string().contains("cannot be broadcast"), "{err}");
    }
}
