//! Elementwise ops that are neither plain unary nor binary math: Clip, Where, PRelu, Cast,
//! CastLike, Identity and Dropout (inference only). Unary and binary ops live in `unary.rs` and
//! `binary.rs`. <https://onnx.ai/onnx/operators/onnx__Clip.html>,
//! <https://onnx.ai/onnx/operators/onnx__Where.html>, <https://onnx.ai/onnx/operators/onnx__PRelu.html>,
//! <https://onnx.ai/onnx/operators/onnx__Cast.html>, <https://onnx.ai/onnx/operators/onnx__Dropout.html>.

use super::broadcast::{map1, map2, map3};
use super::{input, opt_input};
use crate::error::{Error, Result};
use crate::ir::*;
use crate::tensor::{DType, Element, Tensor};
use crate::with_data;

pub use super::binary::{binary, variadic};
pub use super::unary::unary;

/// Clip: bounds from the attributes (opset < 11) or from the optional scalar inputs 1 and 2. When
/// min > max every value becomes max, as the spec says.
pub fn clip(p: &Clip, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let lo = bound(p.min, opt_input(inputs, 1), x.dtype(), "min")?;
    let hi = bound(p.max, opt_input(inputs, 2), x.dtype(), "max")?;
    let y = with_data!(x.data(), v => clip_values(v, x.shape(), lo.as_ref(), hi.as_ref()))?;
    Ok(vec![y])
}

/// A Clip bound as a one-element tensor of the input's dtype, if there is one.
fn bound(
    attr: Option<f32>,
    t: Option<&Tensor>,
    dtype: DType,
    name: &str,
) -> Result<Option<Tensor>> {
    match (t, attr) {
        (Some(t), _) => {
            if t.len() != 1 {
                return Err(Error::Shape(format!(
                    "Clip {name} must be a scalar, got shape {:?}",
                    t.shape()
                )));
            }
            if t.dtype() != dtype {
                return Err(Error::DType(format!(
                    "Clip {name} is {}, the input is {dtype}",
                    t.dtype()
                )));
            }
            Ok(Some(t.clone()))
        }
        (None, Some(a)) => Ok(Some(Tensor::scalar(a).cast(dtype))),
        (None, None) => Ok(None),
    }
}

fn clip_values<T: Element + PartialOrd>(
    x: &[T],
    shape: &[usize],
    lo: Option<&Tensor>,
    hi: Option<&Tensor>,
) -> Result<Tensor> {
    let first = |t: Option<&Tensor>| -> Result<Option<T>> {
        t.map(|t| t.as_slice::<T>().map(|s| s[0])).transpose()
    };
    let (lo, hi) = (first(lo)?, first(hi)?);
    // NaN inputs stay NaN: neither comparison holds for them.
    let y = map1(x, |v| {
        let v = match lo {
            Some(l) if v < l => l,
            _ => v,
        };
        match hi {
            Some(h) if v > h => h,
            _ => v,
        }
    });
    Tensor::from_vec(shape.to_vec(), y)
}

/// Where(cond, x, y) with three-way broadcasting.
pub fn where_(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let (c, x, y) = (input(inputs, 0)?, input(inputs, 1)?, input(inputs, 2)?);
    let cond = c.as_slice::<bool>()?;
    if x.dtype() != y.dtype() {
        return Err(Error::DType(format!(
            "Where needs X and Y of one dtype, got {} and {}",
            x.dtype(),
            y.dtype()
        )));
    }
    let out = with_data!(x.data(), xv => select(cond, c.shape(), xv, x.shape(), y))?;
    Ok(vec![out])
}

fn select<T: Element>(
    cond: &[bool],
    sc: &[usize],
    x: &[T],
    sx: &[usize],
    y: &Tensor,
) -> Result<Tensor> {
    map3(cond, sc, x, sx, y.as_slice::<T>()?, y.shape(), |c, a, b| {
        if c {
            a
        } else {
            b
        }
    })
}

/// PRelu: `x < 0 ? slope·x : x`, with the slope broadcast to X's shape.
pub fn prelu(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let (x, slope) = (input(inputs, 0)?, input(inputs, 1)?);
    if x.dtype() != slope.dtype() {
        return Err(Error::DType(format!(
            "PRelu needs X and slope of one dtype, got {} and {}",
            x.dtype(),
            slope.dtype()
        )));
    }
    let y = match x.dtype() {
        DType::F16 | DType::BF16 => {
            let (xw, sw) = (x.cast(DType::F32), slope.cast(DType::F32));
            prelu(&[Some(&xw), Some(&sw)])?.remove(0).cast(x.dtype())
        }
        DType::Bool => return Err(Error::DType("PRelu does not accept bool inputs".into())),
        _ => with_data!(x.data(), xv => leaky(xv, x.shape(), slope))?,
    };
    if y.shape() != x.shape() {
        return Err(Error::Shape(format!(
            "PRelu slope {:?} does not broadcast to X {:?}",
            slope.shape(),
            x.shape()
        )));
    }
    Ok(vec![y])
}

fn leaky<T: Element + PartialOrd>(x: &[T], sx: &[usize], slope: &Tensor) -> Result<Tensor> {
    let zero = T::default();
    // Products are computed in f64 and rounded once: exact for f32 and for the integer types the
    // spec lists (int32, int64 products of small slopes), and never a wrapping surprise.
    map2(x, sx, slope.as_slice::<T>()?, slope.shape(), |v, s| {
        if v < zero {
            T::from_f64(v.to_f64() * s.to_f64())
        } else {
            v
        }
    })
}

/// Cast with ONNX rules (see [`Tensor::cast`]).
pub fn cast(p: &Cast, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    Ok(vec![input(inputs, 0)?.cast(p.to)])
}

/// CastLike: cast input 0 to the dtype of input 1.
pub fn cast_like(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let (x, like) = (input(inputs, 0)?, input(inputs, 1)?);
    Ok(vec![x.cast(like.dtype())])
}

pub fn identity(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    Ok(vec![input(inputs, 0)?.clone()])
}

/// Dropout at inference: output 0 is the input, the optional mask (output 1) is all true. A true
/// `training_mode` input (index 2) is an error, since rtforge does not train.
pub fn dropout(_p: &Dropout, inputs: &[Option<&Tensor>], outputs: usize) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    if let Some(t) = opt_input(inputs, 2) {
        if t.to_vec::<bool>().first() == Some(&true) {
            return Err(Error::Input(
                "Dropout with training_mode = true is not supported at inference".into(),
            ));
        }
    }
    let mut out = vec![x.clone()];
    if outputs > 1 {
        out.push(Tensor::from_vec(x.shape().to_vec(), vec![true; x.len()])?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_with_only_min_and_inverted_bounds() {
        let x = Tensor::from_vec(vec![4], vec![-2i8, 0, 3, 9]).unwrap();
        let lo = Tensor::scalar(0i8);
        let y = clip(
            &Clip {
                min: None,
                max: None,
            },
            &[Some(&x), Some(&lo)],
        )
        .unwrap();
        assert_eq!(y[0].as_slice::<i8>().unwrap(), &[0, 0, 3, 9]);
        let (lo, hi) = (Tensor::scalar(5i8), Tensor::scalar(1i8));
        let y = clip(
            &Clip {
                min: None,
                max: None,
            },
            &[Some(&x), Some(&lo), Some(&hi)],
        )
        .unwrap();
        assert_eq!(y[0].as_slice::<i8>().unwrap(), &[1, 1, 1, 1]);
    }

    #[test]
    fn where_broadcasts_three_ways() {
        let c = Tensor::from_vec(vec![2, 1], vec![true, false]).unwrap();
        let x = Tensor::from_vec(vec![2], vec![1i64, 2]).unwrap();
        let y = Tensor::scalar(9i64);
        let out = where_(&[Some(&c), Some(&x), Some(&y)]).unwrap();
        assert_eq!(out[0].as_slice::<i64>().unwrap(), &[1, 2, 9, 9]);
    }

    #[test]
    fn prelu_broadcasts_slope() {
        let x = Tensor::from_vec(vec![2, 2], vec![-1.0f32, 2.0, -3.0, 4.0]).unwrap();
        let s = Tensor::from_vec(vec![2], vec![0.5f32, 0.25]).unwrap();
        let y = prelu(&[Some(&x), Some(&s)]).unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[-0.5, 2.0, -1.5, 4.0]);
    }
}
