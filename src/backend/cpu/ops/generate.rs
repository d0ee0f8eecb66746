//! Ops that make new tensors from a few numbers: ConstantOfShape, Range, OneHot, EyeLike.
//!
//! <https://onnx.ai/onnx/operators/onnx__ConstantOfShape.html>,
//! <https://onnx.ai/onnx/operators/onnx__Range.html>,
//! <https://onnx.ai/onnx/operators/onnx__OneHot.html>,
//! <https://onnx.ai/onnx/operators/onnx__EyeLike.html>

use super::shape::to_dims;
use super::{input, norm_axis};
use crate::error::{Error, Result};
use crate::ir::geometry::int_values;
use crate::ir::*;
use crate::tensor::{check_alloc, DType, Element, Num, Tensor, TensorData};
use crate::{map_data, with_data};

/// ConstantOfShape: a tensor of the shape in input 0, filled with the one-element `value`
/// (f32 zero when absent).
pub fn constant_of_shape(p: &ConstantOfShape, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let shape = to_dims(
        &int_values(input(inputs, 0)?, "ConstantOfShape shape")?,
        "ConstantOfShape shape",
    )?;
    let zero = Tensor::scalar(0f32);
    let value = p.value.as_ref().unwrap_or(&zero);
    if value.len() != 1 {
        return Err(Error::Shape(format!(
            "ConstantOfShape value must hold one element, got {:?}",
            value.shape()
        )));
    }
    let n = check_alloc(&shape, value.dtype())?;
    let data = map_data!(value.data(), v => vec![v[0]; n]);
    Ok(vec![Tensor::new(shape, data)?])
}

/// The single value of a scalar-like input.
fn scalar_of(t: &Tensor, what: &str) -> Result<Num> {
    if t.len() != 1 {
        return Err(Error::Shape(format!(
            "{what} must hold one element, got shape {:?}",
            t.shape()
        )));
    }
    Ok(with_data!(t.data(), v => v[0].to_num()))
}

/// Range: `start, start + delta, ...` while before `limit`; `max(ceil((limit - start) / delta), 0)`
/// elements of the inputs' dtype.
pub fn range(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let (s, l, d) = (input(inputs, 0)?, input(inputs, 1)?, input(inputs, 2)?);
    let dtype = s.dtype();
    if l.dtype() != dtype || d.dtype() != dtype {
        return Err(Error::DType(format!(
            "Range inputs must share one dtype, got {}, {}, {}",
            dtype,
            l.dtype(),
            d.dtype()
        )));
    }
    let (start, limit, delta) = (
        scalar_of(s, "Range start")?,
        scalar_of(l, "Range limit")?,
        scalar_of(d, "Range delta")?,
    );
    let data = match (start, limit, delta) {
        (Num::Int(s), Num::Int(l), Num::Int(d)) => {
            if d == 0 {
                return Err(Error::Input("Range delta must not be 0".into()));
            }
            // Ceiling division, exact for all integer widths in i128.
            let n = ((l - s) + d - d.signum()) / d;
            let n = usize::try_from(n.max(0))
                .map_err(|_| Error::Shape(format!("Range of {n} elements")))?;
            check_alloc(&[n], dtype)?;
            make(dtype, n, |i| Num::Int(s + i as i128 * d))
        }
        (Num::Float(s), Num::Float(l), Num::Float(d)) => {
            let n = ((l - s) / d).ceil();
            if !n.is_finite() {
                return Err(Error::Input(format!(
                    "Range({s}, {l}, {d}) has no finite length"
                )));
            }
            let n = n.max(0.0) as usize;
            check_alloc(&[n], dtype)?;
            make(dtype, n, |i| Num::Float(s + i as f64 * d))
        }
        _ => return Err(Error::DType(format!("Range does not support {dtype}"))),
    };
    let n = data.len();
    Ok(vec![Tensor::new(vec![n], data)?])
}

/// A buffer of `n` elements of `dtype` given by `f(i)`.
fn make(dtype: DType, n: usize, f: impl Fn(usize) -> Num) -> TensorData {
    fn fill<T: Element>(v: &mut [T], f: &dyn Fn(usize) -> Num) {
        for (i, e) in v.iter_mut().enumerate() {
            *e = T::from_num(f(i));
        }
    }
    let mut data = TensorData::zeros(dtype, n);
    with_data!(&mut data, v => fill(v, &f));
    data
}

/// OneHot: inserts a `depth`-long axis at `axis` holding `values[1]` where it equals the index
/// (negative indices count from `depth`) and `values[0]` elsewhere.
pub fn one_hot(p: &OneHot, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let (indices, depth, values) = (input(inputs, 0)?, input(inputs, 1)?, input(inputs, 2)?);
    let depth = match scalar_of(depth, "OneHot depth")? {
        Num::Int(i) => i as i64,
        Num::Float(f) => f as i64,
        Num::Bool(b) => b as i64,
    };
    if depth < 1 {
        return Err(Error::Input(format!(
            "OneHot depth must be positive, got {depth}"
        )));
    }
    if values.len() != 2 {
        return Err(Error::Shape(format!(
            "OneHot values must hold [off, on], got shape {:?}",
            values.shape()
        )));
    }
    let axis = norm_axis(p.axis, indices.rank() + 1)?;
    let mut shape = indices.shape().to_vec();
    shape.insert(axis, depth as usize);
    check_alloc(&shape, values.dtype())?;
    let outer: usize = indices.shape()[..axis].iter().product();
    let inner: usize = indices.shape()[axis..].iter().product();
    let idx = indices.to_vec::<i64>();
    let depth = depth as usize;
    let data = map_data!(values.data(), v => {
        let (off, on) = (v[0], v[1]);
        let mut out = vec![off; outer * depth * inner];
        for o in 0..outer {
            for i in 0..inner {
                let k = idx[o * inner + i];
                let k = if k < 0 { k + depth as i64 } else { k };
                if (0..depth as i64).contains(&k) {
                    out[(o * depth + k as usize) * inner + i] = on;
                }
            }
        }
        out
    });
    Ok(vec![Tensor::new(shape, data)?])
}

/// EyeLike: a 2-D tensor shaped like the input with ones on the `k`-th diagonal.
pub fn eye_like(p: &EyeLike, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let &[rows, cols] = x.shape() else {
        return Err(Error::Shape(format!(
            "EyeLike expects a 2-D input, got {:?}",
            x.shape()
        )));
    };
    let dtype = p.dtype.unwrap_or(x.dtype());
    let n = check_alloc(&[rows, cols], dtype)?;
    let k = p.k;
    let data = make(dtype, n, |i| {
        let (r, c) = ((i / cols) as i64, (i % cols) as i64);
        Num::Int((c - r == k) as i128)
    });
    Ok(vec![Tensor::new(vec![rows, cols], data)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_counts_with_ceiling() {
        let r = range(&[
            Some(&Tensor::scalar(10i32)),
            Some(&Tensor::scalar(4i32)),
            Some(&Tensor::scalar(-3i32)),
        ]);
        assert_eq!(r.unwrap()[0].as_slice::<i32>().unwrap(), &[10, 7]);
        let r = range(&[
            Some(&Tensor::scalar(1f32)),
            Some(&Tensor::scalar(2f32)),
            Some(&Tensor::scalar(0.3f32)),
        ]);
        assert_eq!(r.unwrap()[0].len(), 4);
    }

    #[test]
    fn one_hot_negative_index() {
        let idx = Tensor::from_vec(vec![2], vec![-1i64, 5]).unwrap();
        let depth = Tensor::scalar(3f32);
        let vals = Tensor::from_vec(vec![2], vec![0i32, 7]).unwrap();
        let y = one_hot(
            &OneHot { axis: -1 },
            &[Some(&idx), Some(&depth), Some(&vals)],
        )
        .unwrap();
        assert_eq!(y[0].shape(), &[2, 3]);
        assert_eq!(y[0].as_slice::<i32>().unwrap(), &[0, 0, 7, 0, 0, 0]);
    }

    #[test]
    fn eye_like_off_diagonal() {
        let x = Tensor::zeros(DType::I32, vec![2, 3]).unwrap();
        let y = eye_like(
            &EyeLike {
                dtype: Some(DType::F64),
                k: 1,
            },
            &[Some(&x)],
        )
        .unwrap();
        assert_eq!(y[0].as_slice::<f64>().unwrap(), &[0., 1., 0., 0., 0., 1.]);
    }
}
