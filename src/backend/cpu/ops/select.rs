//! Selection along one axis: ArgMax / ArgMin and TopK.
//! <https://onnx.ai/onnx/operators/onnx__ArgMax.html>, <https://onnx.ai/onnx/operators/onnx__TopK.html>
//!
//! Both view the input as `[outer, n, inner]` with `n` the selected axis. Ties go to the lower
//! index (ArgMax with `select_last_index` takes the higher one), as the spec asks.

use super::broadcast::PAR_CHUNK;
use super::{input, norm_axis};
use crate::error::{Error, Result};
use crate::ir::{ArgReduce, TopK};
use crate::tensor::{check_alloc, Element, Tensor};
use crate::with_data;
use rayon::prelude::*;
use std::cmp::Ordering;

/// `(outer, n, inner)` around `axis`.
fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis],
        shape[axis + 1..].iter().product(),
    )
}

/// ArgMax / ArgMin: int64 indices along `axis`.
pub fn arg_reduce(p: &ArgReduce, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    if x.rank() == 0 {
        return Ok(vec![Tensor::scalar(0i64)]);
    }
    let axis = norm_axis(p.axis, x.rank())?;
    let (outer, n, inner) = split(x.shape(), axis);
    if n == 0 && outer * inner > 0 {
        return Err(Error::Shape(format!(
            "ArgMax/ArgMin over axis {axis} of length 0 (shape {:?})",
            x.shape()
        )));
    }
    let mut shape = x.shape().to_vec();
    if p.keepdims {
        shape[axis] = 1;
    } else {
        shape.remove(axis);
    }
    let idx = with_data!(x.data(), v => arg_lanes(v, outer, n, inner, p.max, p.select_last_index));
    Ok(vec![Tensor::from_vec(shape, idx)?])
}

fn arg_lanes<T: PartialOrd + Copy + Send + Sync>(
    x: &[T],
    outer: usize,
    n: usize,
    inner: usize,
    max: bool,
    last: bool,
) -> Vec<i64> {
    let mut out = vec![0i64; outer * inner];
    if out.is_empty() {
        return out;
    }
    let better = |v: T, best: T| match (max, last) {
        (true, false) => v > best,
        (true, true) => v >= best,
        (false, false) => v < best,
        (false, true) => v <= best,
    };
    // One `[n, inner]` block: rows walked in order, so reads stay contiguous.
    let block = |xb: &[T], ob: &mut [i64]| {
        let mut best = xb[..inner].to_vec();
        for (k, row) in xb.chunks(inner).enumerate().skip(1) {
            for j in 0..inner {
                if better(row[j], best[j]) {
                    best[j] = row[j];
                    ob[j] = k as i64;
                }
            }
        }
    };
    if x.len() <= PAR_CHUNK {
        out.chunks_mut(inner)
            .zip(x.chunks(n * inner))
            .for_each(|(o, xb)| block(xb, o));
    } else {
        out.par_chunks_mut(inner)
            .zip(x.par_chunks(n * inner))
            .for_each(|(o, xb)| block(xb, o));
    }
    out
}

/// TopK: the `k` largest (or smallest) values along `axis` and their int64 indices, sorted.
pub fn top_k(p: &TopK, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let k = match p.k {
        Some(k) => k,
        None => match input(inputs, 1)?.to_i64_vec().as_slice() {
            [k] => *k,
            other => {
                return Err(Error::Input(format!(
                    "TopK k must hold one value, got {}",
                    other.len()
                )))
            }
        },
    };
    if x.rank() == 0 {
        return Err(Error::Shape("TopK needs an input of rank >= 1".into()));
    }
    let axis = norm_axis(p.axis, x.rank())?;
    let (outer, n, inner) = split(x.shape(), axis);
    if k < 0 || k as u64 > n as u64 {
        return Err(Error::Input(format!(
            "TopK k = {k} is outside [0, {n}] for axis {axis} of {:?}",
            x.shape()
        )));
    }
    let k = k as usize;
    let mut shape = x.shape().to_vec();
    shape[axis] = k;
    check_alloc(&shape, x.dtype())?;
    let (values, indices) =
        with_data!(x.data(), v => top_lanes(v, shape.clone(), outer, n, inner, k, p.largest)?);
    Ok(vec![values, Tensor::from_vec(shape, indices)?])
}

/// A total order over values: NaN sorts above everything (and equal to itself), so sorting never
/// meets an inconsistent comparison.
fn total<T: PartialOrd>(a: &T, b: &T) -> Ordering {
    #[allow(clippy::eq_op)]
    a.partial_cmp(b).unwrap_or_else(|| (a != a).cmp(&(b != b)))
}

#[allow(clippy::too_many_arguments)]
fn top_lanes<T: Element + PartialOrd>(
    x: &[T],
    shape: Vec<usize>,
    outer: usize,
    n: usize,
    inner: usize,
    k: usize,
    largest: bool,
) -> Result<(Tensor, Vec<i64>)> {
    let mut vals = vec![T::default(); outer * k * inner];
    let mut idx = vec![0i64; outer * k * inner];
    if !vals.is_empty() {
        let block = |xb: &[T], vb: &mut [T], ib: &mut [i64]| {
            let mut order: Vec<usize> = Vec::with_capacity(n);
            for j in 0..inner {
                let cmp = |a: &usize, b: &usize| {
                    let (va, vb) = (&xb[a * inner + j], &xb[b * inner + j]);
                    let by_value = if largest {
                        total(vb, va)
                    } else {
                        total(va, vb)
                    };
                    by_value.then(a.cmp(b))
                };
                order.clear();
                order.extend(0..n);
                if k < n {
                    order.select_nth_unstable_by(k - 1, cmp);
                    order.truncate(k);
                }
                order.sort_unstable_by(cmp);
                for (r, &i) in order.iter().enumerate() {
                    vb[r * inner + j] = xb[i * inner + j];
                    ib[r * inner + j] = i as i64;
                }
            }
        };
        let lane = k * inner;
        if x.len() <= PAR_CHUNK {
            vals.chunks_mut(lane)
                .zip(idx.chunks_mut(lane))
                .zip(x.chunks(n * inner))
                .for_each(|((v, i), xb)| block(xb, v, i));
        } else {
            vals.par_chunks_mut(lane)
                .zip(idx.par_chunks_mut(lane))
                .zip(x.par_chunks(n * inner))
                .for_each(|((v, i), xb)| block(xb, v, i));
        }
    }
    Ok((Tensor::from_vec(shape, vals)?, idx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_ties_and_last_index() {
        let x = Tensor::from_vec(vec![2, 3], vec![1.0f32, 5.0, 5.0, 2.0, 2.0, 1.0]).unwrap();
        let mut p = ArgReduce {
            max: true,
            axis: 1,
            keepdims: false,
            select_last_index: false,
        };
        assert_eq!(
            arg_reduce(&p, &[Some(&x)]).unwrap()[0]
                .as_slice::<i64>()
                .unwrap(),
            &[1, 0]
        );
        p.select_last_index = true;
        assert_eq!(
            arg_reduce(&p, &[Some(&x)]).unwrap()[0]
                .as_slice::<i64>()
                .unwrap(),
            &[2, 1]
        );
        let q = ArgReduce {
            max: false,
            axis: 0,
            keepdims: true,
            select_last_index: false,
        };
        let y = arg_reduce(&q, &[Some(&x)]).unwrap().remove(0);
        assert_eq!(
            (y.shape(), y.as_slice::<i64>().unwrap()),
            (&[1usize, 3][..], &[0i64, 1, 1][..])
        );
    }

    #[test]
    fn topk_prefers_lower_index_on_ties() {
        let x = Tensor::from_vec(vec![5], vec![3i32, 1, 3, 2, 3]).unwrap();
        let p = TopK {
            axis: -1,
            largest: true,
            sorted: true,
            k: Some(2),
        };
        let out = top_k(&p, &[Some(&x)]).unwrap();
        assert_eq!(out[0].as_slice::<i32>().unwrap(), &[3, 3]);
        assert_eq!(out[1].as_slice::<i64>().unwrap(), &[0, 2]);
        let p = TopK {
            largest: false,
            k: Some(3),
            ..p
        };
        let out = top_k(&p, &[Some(&x)]).unwrap();
        assert_eq!(out[1].as_slice::<i64>().unwrap(), &[1, 3, 0]);
    }
}
