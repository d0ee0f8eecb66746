//! Cutting tensors along axes and joining them back: Slice, Split, Concat.
//!
//! <https://onnx.ai/onnx/operators/onnx__Slice.html>,
//! <https://onnx.ai/onnx/operators/onnx__Split.html>,
//! <https://onnx.ai/onnx/operators/onnx__Concat.html>

use super::layout::{signed_strides, strided_tensor};
use super::shape::to_dims;
use super::{input, norm_axis, opt_input};
use crate::error::{Error, Result};
use crate::ir::geometry::{int_values, norm_axes, slice_range};
use crate::ir::*;
use crate::tensor::{check_alloc, Element, Tensor, TensorData};
use crate::with_data;

/// Concat: joins the inputs along `axis`; all other dims must match.
pub fn concat(p: &Concat, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let parts: Vec<&Tensor> = (0..inputs.len())
        .map(|i| input(inputs, i))
        .collect::<Result<_>>()?;
    let first = *parts
        .first()
        .ok_or_else(|| Error::Input("Concat needs at least one input".into()))?;
    if first.rank() == 0 {
        return Err(Error::Shape(
            "Concat inputs must have rank >= 1, got a scalar".into(),
        ));
    }
    let axis = norm_axis(p.axis, first.rank())?;
    let mut out_shape = first.shape().to_vec();
    out_shape[axis] = 0;
    for t in &parts {
        let same = t.rank() == first.rank()
            && (0..t.rank()).all(|d| d == axis || t.shape()[d] == first.shape()[d]);
        if !same {
            return Err(Error::Shape(format!(
                "Concat on axis {axis}: input {:?} does not match {:?}",
                t.shape(),
                first.shape()
            )));
        }
        if t.dtype() != first.dtype() {
            return Err(Error::DType(format!(
                "Concat inputs mix {} and {}",
                first.dtype(),
                t.dtype()
            )));
        }
        out_shape[axis] += t.shape()[axis];
    }
    check_alloc(&out_shape, first.dtype())?;
    let outer: usize = first.shape()[..axis].iter().product();
    let inner: usize = first.shape()[axis + 1..].iter().product();
    let data = with_data!(first.data(), v => concat_typed(v, &parts, axis, outer, inner)?);
    Ok(vec![Tensor::new(out_shape, data)?])
}

/// Interleaves the `[outer, dim_i * inner]` blocks of each part; `_like` only fixes `T`.
fn concat_typed<T: Element>(
    _like: &[T],
    parts: &[&Tensor],
    axis: usize,
    outer: usize,
    inner: usize,
) -> Result<TensorData> {
    let slices: Vec<(&[T], usize)> = parts
        .iter()
        .map(|t| Ok((t.as_slice::<T>()?, t.shape()[axis] * inner)))
        .collect::<Result<_>>()?;
    let total: usize = slices.iter().map(|(_, c)| c).sum::<usize>() * outer;
    let mut out = Vec::with_capacity(total);
    for o in 0..outer {
        for (s, chunk) in &slices {
            out.extend_from_slice(&s[o * chunk..(o + 1) * chunk]);
        }
    }
    Ok(T::wrap(out))
}

/// Split: cuts `axis` into pieces given by the `split` attribute, input 1, or an even split into
/// `num_outputs` (or the node's output count) with a smaller last piece, as opset 18 defines.
pub fn split(p: &Split, inputs: &[Option<&Tensor>], n_outputs: usize) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let axis = norm_axis(p.axis, x.rank())?;
    let dim = x.shape()[axis];
    let sizes = match (&p.split, opt_input(inputs, 1)) {
        (Some(s), _) => to_dims(s, "Split split")?,
        (None, Some(t)) => to_dims(&int_values(t, "Split split")?, "Split split")?,
        (None, None) => {
            let n = p.num_outputs.unwrap_or(n_outputs);
            if n == 0 {
                return Err(Error::Shape("Split into 0 outputs".into()));
            }
            let chunk = dim.div_ceil(n);
            (0..n)
                .map(|i| chunk.min(dim.saturating_sub(i * chunk)))
                .collect()
        }
    };
    if sizes.iter().sum::<usize>() != dim {
        return Err(Error::Shape(format!(
            "Split sizes {sizes:?} do not add up to dim {dim} of {:?}",
            x.shape()
        )));
    }
    let strides = signed_strides(x.shape());
    let mut start = 0;
    let mut outs = Vec::with_capacity(sizes.len());
    for s in sizes {
        let mut shape = x.shape().to_vec();
        shape[axis] = s;
        let offset = if s == 0 {
            0
        } else {
            start * strides[axis] as usize
        };
        outs.push(strided_tensor(x, offset, shape, &strides)?);
        start += s;
    }
    Ok(outs)
}

/// Slice: per listed axis, elements `start, start+step, ...` before `end`, with negative indices
/// counted from the end and clamped as the spec says (to `[0, dim]`, or `[-1, dim-1]` for
/// negative steps).
pub fn slice(p: &Slice, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let list = |attr: &Option<Vec<i64>>, i: usize, what: &str| -> Result<Option<Vec<i64>>> {
        match attr {
            Some(v) => Ok(Some(v.clone())),
            None if p.starts.is_some() => Ok(None),
            None => opt_input(inputs, i)
                .map(|t| int_values(t, what))
                .transpose(),
        }
    };
    let starts = list(&p.starts, 1, "Slice starts")?
        .ok_or_else(|| Error::Input("Slice needs starts".into()))?;
    let ends =
        list(&p.ends, 2, "Slice ends")?.ok_or_else(|| Error::Input("Slice needs ends".into()))?;
    let axes = match list(&p.axes, 3, "Slice axes")? {
        Some(a) => a,
        None => (0..starts.len() as i64).collect(),
    };
    // Opset < 10 has no steps.
    let steps = match list(&None, 4, "Slice steps")? {
        Some(s) => s,
        None => vec![1; starts.len()],
    };
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(Error::Shape(format!(
            "Slice: starts {starts:?}, ends {ends:?}, axes {axes:?} and steps {steps:?} differ in length"
        )));
    }
    let axes = norm_axes(&axes, x.rank())?;
    let mut shape = x.shape().to_vec();
    let mut strides = signed_strides(x.shape());
    let mut offset = 0isize;
    for (i, &a) in axes.iter().enumerate() {
        let (len, first) = slice_range(x.shape()[a], starts[i], ends[i], steps[i])?;
        shape[a] = len;
        offset += first as isize * strides[a];
        strides[a] *= steps[i] as isize;
    }
    let offset = if shape.contains(&0) {
        0
    } else {
        offset as usize
    };
    Ok(vec![strided_tensor(x, offset, shape, &strides)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_uneven_last_chunk_smaller() {
        let x = Tensor::from_vec(vec![7], (0..7).collect::<Vec<i32>>()).unwrap();
        let p = Split {
            axis: 0,
            split: None,
            num_outputs: Some(3),
        };
        let y = split(&p, &[Some(&x)], 3).unwrap();
        let lens: Vec<usize> = y.iter().map(|t| t.len()).collect();
        assert_eq!(lens, vec![3, 3, 1]);
        assert_eq!(y[2].as_slice::<i32>().unwrap(), &[6]);
    }

    #[test]
    fn concat_axis1() {
        let a = Tensor::from_vec(vec![2, 1], vec![1f32, 2.]).unwrap();
        let b = Tensor::from_vec(vec![2, 2], vec![3f32, 4., 5., 6.]).unwrap();
        let y = concat(&Concat { axis: -1 }, &[Some(&a), Some(&b)]).unwrap();
        assert_eq!(y[0].shape(), &[2, 3]);
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[1., 3., 4., 2., 5., 6.]);
    }
}
