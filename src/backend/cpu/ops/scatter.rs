//! Index-driven writes: ScatterND and ScatterElements (and the deprecated Scatter, imported as
//! ScatterElements), with the none/add/mul/max/min reductions of opsets 16 and 18.
//!
//! <https://onnx.ai/onnx/operators/onnx__ScatterND.html>,
//! <https://onnx.ai/onnx/operators/onnx__ScatterElements.html>

use super::gather::{element_offsets, nd_offsets};
use super::input;
use crate::error::{Error, Result};
use crate::ir::*;
use crate::tensor::{Element, Num, Tensor, TensorData};
use crate::with_data;

/// `a ⊕ b` for one reduction. Integers combine exactly in i128 and wrap back to their width (as
/// numpy does); floats combine in f64, which rounds to the same f32/f16 result as native math.
fn combine<T: Element>(r: ScatterReduction, a: T, b: T) -> T {
    use ScatterReduction as R;
    match (a.to_num(), b.to_num()) {
        _ if r == R::None => b,
        (Num::Int(x), Num::Int(y)) => T::from_num(Num::Int(match r {
            R::Add => x.wrapping_add(y),
            R::Mul => x.wrapping_mul(y),
            R::Max => x.max(y),
            _ => x.min(y),
        })),
        (Num::Float(x), Num::Float(y)) => T::from_num(Num::Float(match r {
            _ if x.is_nan() || y.is_nan() => f64::NAN,
            R::Add => x + y,
            R::Mul => x * y,
            R::Max => x.max(y),
            _ => x.min(y),
        })),
        (Num::Bool(x), Num::Bool(y)) => T::from_num(Num::Bool(match r {
            R::Add | R::Max => x || y,
            _ => x && y,
        })),
        _ => b,
    }
}

/// Copies `data` and combines `updates[k * slice..][..slice]` into it at each `offsets[k]`.
fn scatter_typed<T: Element>(
    data: &[T],
    updates: &Tensor,
    offsets: &[usize],
    slice: usize,
    r: ScatterReduction,
) -> Result<TensorData> {
    let upd = updates.as_slice::<T>()?;
    let mut out = data.to_vec();
    for (k, &o) in offsets.iter().enumerate() {
        let (dst, src) = (&mut out[o..o + slice], &upd[k * slice..(k + 1) * slice]);
        if r == ScatterReduction::None {
            dst.copy_from_slice(src);
        } else {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = combine(r, *d, s);
            }
        }
    }
    Ok(T::wrap(out))
}

fn same_dtype(data: &Tensor, updates: &Tensor, what: &str) -> Result<()> {
    if data.dtype() != updates.dtype() {
        return Err(Error::DType(format!(
            "{what}: updates are {} but data is {}",
            updates.dtype(),
            data.dtype()
        )));
    }
    Ok(())
}

/// ScatterND: writes each update slice at the data slice its index tuple names.
pub fn scatter_nd(p: &ScatterND, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let (data, indices, updates) = (input(inputs, 0)?, input(inputs, 1)?, input(inputs, 2)?);
    same_dtype(data, updates, "ScatterND")?;
    let (offsets, slice, grid) = nd_offsets(data.shape(), indices, 0, "ScatterND")?;
    let k = indices.shape()[indices.rank() - 1];
    let want: Vec<usize> = [&grid[..], &data.shape()[k..]].concat();
    if updates.shape() != want.as_slice() {
        return Err(Error::Shape(format!(
            "ScatterND: updates have shape {:?}, expected {want:?} for indices {:?} into data {:?}",
            updates.shape(),
            indices.shape(),
            data.shape()
        )));
    }
    let out =
        with_data!(data.data(), v => scatter_typed(v, updates, &offsets, slice, p.reduction)?);
    Ok(vec![Tensor::new(data.shape().to_vec(), out)?])
}

/// ScatterElements: `out[pos with axis coordinate = indices[pos]] ⊕= updates[pos]`.
pub fn scatter_elements(p: &ScatterElements, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let (data, indices, updates) = (input(inputs, 0)?, input(inputs, 1)?, input(inputs, 2)?);
    same_dtype(data, updates, "ScatterElements")?;
    if updates.shape() != indices.shape() {
        return Err(Error::Shape(format!(
            "ScatterElements: updates {:?} must have the shape of indices {:?}",
            updates.shape(),
            indices.shape()
        )));
    }
    let offsets = element_offsets(data.shape(), indices, p.axis, "ScatterElements")?;
    let out = with_data!(data.data(), v => scatter_typed(v, updates, &offsets, 1, p.reduction)?);
    Ok(vec![Tensor::new(data.shape().to_vec(), out)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scatter_elements_add_duplicates() {
        let x = Tensor::from_vec(vec![1, 5], vec![1f32, 2., 3., 4., 5.]).unwrap();
        let i = Tensor::from_vec(vec![1, 2], vec![1i64, 1]).unwrap();
        let u = Tensor::from_vec(vec![1, 2], vec![1.5f32, 2.25]).unwrap();
        let p = ScatterElements {
            axis: 1,
            reduction: ScatterReduction::Add,
        };
        let y = scatter_elements(&p, &[Some(&x), Some(&i), Some(&u)]).unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[1., 5.75, 3., 4., 5.]);
    }

    #[test]
    fn scatter_nd_rows_with_max() {
        let x = Tensor::from_vec(vec![2, 2], vec![1i64, 5, 3, 4]).unwrap();
        let i = Tensor::from_vec(vec![1, 1], vec![-1i64]).unwrap();
        let u = Tensor::from_vec(vec![1, 2], vec![9i64, 0]).unwrap();
        let y = scatter_nd(
            &ScatterND {
                reduction: ScatterReduction::Max,
            },
            &[Some(&x), Some(&i), Some(&u)],
        )
        .unwrap();
        assert_eq!(y[0].as_slice::<i64>().unwrap(), &[1, 5, 9, 4]);
    }
}
