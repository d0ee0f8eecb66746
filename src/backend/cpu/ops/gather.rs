//! Index-driven reads: Gather, GatherElements, GatherND, and NonZero, which produces such indices.
//! The offset computations are shared with the scatter ops in `scatter.rs`.
//!
//! <https://onnx.ai/onnx/operators/onnx__Gather.html>,
//! <https://onnx.ai/onnx/operators/onnx__GatherElements.html>,
//! <https://onnx.ai/onnx/operators/onnx__GatherND.html>,
//! <https://onnx.ai/onnx/operators/onnx__NonZero.html>

use super::{input, norm_axis};
use crate::error::{Error, Result};
use crate::ir::*;
use crate::tensor::{check_alloc, strides_of, DType, Element, Tensor};
use crate::{map_data, with_data};
use rayon::prelude::*;

/// Below this many output elements Gather runs on one thread.
const PAR_MIN_ELEMS: usize = 1 << 15;

/// The values of an index tensor, which ONNX allows as int32 or int64.
pub(super) fn index_values(t: &Tensor, what: &str) -> Result<Vec<i64>> {
    match t.dtype() {
        DType::I64 | DType::I32 => Ok(t.to_i64_vec()),
        dt => Err(Error::DType(format!(
            "{what} must be int32 or int64, got {dt}"
        ))),
    }
}

/// An index into a dim of size `dim`, negative counting from the end.
pub(super) fn norm_index(i: i64, dim: usize, what: &str) -> Result<usize> {
    let j = if i < 0 { i + dim as i64 } else { i };
    if j < 0 || j >= dim as i64 {
        return Err(Error::Input(format!(
            "{what}: index {i} is out of range for a dim of size {dim}"
        )));
    }
    Ok(j as usize)
}

/// Gather: picks slices of `data` along `axis` at the given indices; the output replaces that
/// axis with the indices' shape.
pub fn gather(p: &Gather, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let (data, indices) = (input(inputs, 0)?, input(inputs, 1)?);
    if data.rank() == 0 {
        return Err(Error::Shape(
            "Gather needs data of rank >= 1, got a scalar".into(),
        ));
    }
    let axis = norm_axis(p.axis, data.rank())?;
    let dim = data.shape()[axis];
    let idx: Vec<usize> = index_values(indices, "Gather indices")?
        .into_iter()
        .map(|i| norm_index(i, dim, "Gather"))
        .collect::<Result<_>>()?;
    let shape: Vec<usize> = [
        &data.shape()[..axis],
        indices.shape(),
        &data.shape()[axis + 1..],
    ]
    .concat();
    check_alloc(&shape, data.dtype())?;
    let outer: usize = data.shape()[..axis].iter().product();
    let inner: usize = data.shape()[axis + 1..].iter().product();
    let out = map_data!(data.data(), v => {
        let mut out = vec![Default::default(); outer * idx.len() * inner];
        if !out.is_empty() {
            let copy = |(k, row): (usize, &mut [_])| {
                let (o, j) = (k / idx.len(), k % idx.len());
                let from = (o * dim + idx[j]) * inner;
                row.copy_from_slice(&v[from..from + inner]);
            };
            if out.len() < PAR_MIN_ELEMS {
                out.chunks_mut(inner).enumerate().for_each(copy);
            } else {
                out.par_chunks_mut(inner).with_min_len((PAR_MIN_ELEMS / inner).max(1)).enumerate().for_each(copy);
            }
        }
        out
    });
    Ok(vec![Tensor::new(shape, out)?])
}

/// For GatherElements / ScatterElements: the flat `data` offset each element of `indices` names,
/// i.e. its own position with coordinate `axis` replaced by its value.
pub(super) fn element_offsets(
    data_shape: &[usize],
    indices: &Tensor,
    axis: i64,
    what: &str,
) -> Result<Vec<usize>> {
    let rank = data_shape.len();
    if indices.rank() != rank || rank == 0 {
        return Err(Error::Shape(format!(
            "{what}: indices {:?} must have the rank of data {data_shape:?} (>= 1)",
            indices.shape()
        )));
    }
    let axis = norm_axis(axis, rank)?;
    let ishape = indices.shape();
    if (0..rank).any(|d| d != axis && ishape[d] > data_shape[d]) {
        return Err(Error::Shape(format!(
            "{what}: indices {ishape:?} exceed data {data_shape:?} off axis {axis}"
        )));
    }
    let ds = strides_of(data_shape);
    let idx = index_values(indices, what)?;
    let mut pos = vec![0usize; rank];
    let mut out = Vec::with_capacity(idx.len());
    for &i in &idx {
        let mut off = norm_index(i, data_shape[axis], what)? * ds[axis];
        for d in 0..rank {
            if d != axis {
                off += pos[d] * ds[d];
            }
        }
        out.push(off);
        for d in (0..rank).rev() {
            pos[d] += 1;
            if pos[d] < ishape[d] {
                break;
            }
            pos[d] = 0;
        }
    }
    Ok(out)
}

/// GatherElements: `out[pos] = data[pos with axis coordinate = indices[pos]]`.
pub fn gather_elements(p: &Gather, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let (data, indices) = (input(inputs, 0)?, input(inputs, 1)?);
    let offsets = element_offsets(data.shape(), indices, p.axis, "GatherElements")?;
    let out = map_data!(data.data(), v => offsets.iter().map(|&o| v[o]).collect());
    Ok(vec![Tensor::new(indices.shape().to_vec(), out)?])
}

/// For GatherND / ScatterND: the flat `data` offset of the slice each index tuple (the last dim
/// of `indices`) names, the length of those slices, and the shape of the tuple grid.
pub(super) fn nd_offsets(
    data_shape: &[usize],
    indices: &Tensor,
    batch_dims: usize,
    what: &str,
) -> Result<(Vec<usize>, usize, Vec<usize>)> {
    let (r, q) = (data_shape.len(), indices.rank());
    let ishape = indices.shape();
    let b = batch_dims;
    if q == 0 || r == 0 || b >= q.min(r) || ishape[..b] != data_shape[..b] {
        return Err(Error::Shape(format!(
            "{what}: indices {ishape:?} and data {data_shape:?} do not fit batch_dims {b}"
        )));
    }
    let k = ishape[q - 1];
    if b + k > r {
        return Err(Error::Shape(format!(
            "{what}: index tuples of length {k} exceed the {} non-batch dims of data {data_shape:?}",
            r - b
        )));
    }
    let ds = strides_of(data_shape);
    let slice: usize = data_shape[b + k..].iter().product();
    let batch_stride: usize = data_shape[b..].iter().product();
    let per_batch: usize = ishape[b..q - 1].iter().product();
    let idx = index_values(indices, what)?;
    let tuples = if k == 0 {
        ishape[..q - 1].iter().product()
    } else {
        idx.len() / k
    };
    let mut out = Vec::with_capacity(tuples);
    for t in 0..tuples {
        let mut off = if per_batch == 0 {
            0
        } else {
            t / per_batch * batch_stride
        };
        for j in 0..k {
            off += norm_index(idx[t * k + j], data_shape[b + j], what)? * ds[b + j];
        }
        out.push(off);
    }
    Ok((out, slice, ishape[..q - 1].to_vec()))
}

/// GatherND: gathers the slices named by index tuples, with the first `batch_dims` dims shared.
pub fn gather_nd(p: &GatherND, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let (data, indices) = (input(inputs, 0)?, input(inputs, 1)?);
    let (offsets, slice, grid) = nd_offsets(data.shape(), indices, p.batch_dims, "GatherND")?;
    let k = indices.shape()[indices.rank() - 1];
    let shape: Vec<usize> = [&grid[..], &data.shape()[p.batch_dims + k..]].concat();
    check_alloc(&shape, data.dtype())?;
    let out = map_data!(data.data(), v => {
        let mut out = Vec::with_capacity(offsets.len() * slice);
        for &o in &offsets {
            out.extend_from_slice(&v[o..o + slice]);
        }
        out
    });
    Ok(vec![Tensor::new(shape, out)?])
}

/// Flat positions of the elements that differ from zero (false for bool).
fn nonzero_positions<T: Element>(v: &[T]) -> Vec<usize> {
    let zero = T::default();
    v.iter()
        .enumerate()
        .filter(|&(_, e)| *e != zero)
        .map(|(i, _)| i)
        .collect()
}

/// NonZero: the coordinates of the non-zero elements, as int64 `[rank, count]` in C order.
pub fn non_zero(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let flat: Vec<usize> = with_data!(x.data(), v => nonzero_positions(v));
    let rank = x.rank();
    let n = flat.len();
    let strides = strides_of(x.shape());
    let mut out = vec![0i64; rank * n];
    for (j, &f) in flat.iter().enumerate() {
        for d in 0..rank {
            out[d * n + j] = ((f / strides[d]) % x.shape()[d]) as i64;
        }
    }
    Ok(vec![Tensor::from_vec(vec![rank, n], out)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_axis1_negative_index() {
        let x = Tensor::from_vec(vec![2, 3], vec![1f32, 2., 3., 4., 5., 6.]).unwrap();
        let i = Tensor::from_vec(vec![2], vec![-1i32, 0]).unwrap();
        let y = gather(&Gather { axis: 1 }, &[Some(&x), Some(&i)]).unwrap();
        assert_eq!(y[0].shape(), &[2, 2]);
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[3., 1., 6., 4.]);
        let bad = Tensor::from_vec(vec![1], vec![3i64]).unwrap();
        assert!(gather(&Gather { axis: 1 }, &[Some(&x), Some(&bad)]).is_err());
    }

    #[test]
    fn gather_nd_batch_dims() {
        // data [2,2,2], indices [2,1,1] with batch_dims 1 -> rows data[b, idx].
        let x = Tensor::from_vec(vec![2, 2, 2], (0..8).collect::<Vec<i32>>()).unwrap();
        let i = Tensor::from_vec(vec![2, 1, 1], vec![1i64, 0]).unwrap();
        let y = gather_nd(&GatherND { batch_dims: 1 }, &[Some(&x), Some(&i)]).unwrap();
        assert_eq!(y[0].shape(), &[2, 1, 2]);
        assert_eq!(y[0].as_slice::<i32>().unwrap(), &[2, 3, 4, 5]);
    }

    #[test]
    fn non_zero_coordinates() {
        let x = Tensor::from_vec(vec![2, 2], vec![true, false, false, true]).unwrap();
        let y = non_zero(&[Some(&x)]).unwrap();
        assert_eq!(y[0].shape(), &[2, 2]);
        assert_eq!(y[0].as_slice::<i64>().unwrap(), &[0, 1, 0, 1]);
    }
}
