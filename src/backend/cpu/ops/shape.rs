//! Ops that change a tensor's shape but not its element order (Reshape, Flatten, Squeeze,
//! Unsqueeze), that read shapes (Shape, Size), and that repeat data (Expand, Tile).
//!
//! <https://onnx.ai/onnx/operators/onnx__Reshape.html>,
//! <https://onnx.ai/onnx/operators/onnx__Flatten.html>,
//! <https://onnx.ai/onnx/operators/onnx__Squeeze.html>,
//! <https://onnx.ai/onnx/operators/onnx__Unsqueeze.html>,
//! <https://onnx.ai/onnx/operators/onnx__Shape.html>,
//! <https://onnx.ai/onnx/operators/onnx__Size.html>,
//! <https://onnx.ai/onnx/operators/onnx__Expand.html>,
//! <https://onnx.ai/onnx/operators/onnx__Tile.html>

use super::layout::{signed_strides, strided_tensor};
use super::{input, opt_input};
use crate::error::{Error, Result};
use crate::ir::geometry::{
    broadcast_shapes, broadcast_strides, int_values, norm_axes, reshape_dims, shape_dims,
};
use crate::ir::*;
use crate::tensor::Tensor;

/// `values` as dimension sizes: every entry must be non-negative.
pub(super) fn to_dims(values: &[i64], what: &str) -> Result<Vec<usize>> {
    values
        .iter()
        .map(|&v| {
            usize::try_from(v)
                .map_err(|_| Error::Shape(format!("{what} {values:?} has a negative entry")))
        })
        .collect()
}

/// Reshape: `0` copies the input dim (unless `allowzero`), `-1` is inferred from the rest.
pub fn reshape(p: &Reshape, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let target = int_values(input(inputs, 1)?, "Reshape shape")?;
    let shape = reshape_dims(x.shape(), &target, p.allowzero)?;
    Ok(vec![x.clone().reshape(shape)?])
}

/// Flatten: a 2-D view `[prod(dims[..axis]), prod(dims[axis..])]`.
pub fn flatten(p: &Flatten, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let r = x.rank() as i64;
    let axis = if p.axis < 0 { p.axis + r } else { p.axis };
    if !(0..=r).contains(&axis) {
        return Err(Error::Shape(format!(
            "Flatten axis {} is out of range for rank {r}",
            p.axis
        )));
    }
    let outer: usize = x.shape()[..axis as usize].iter().product();
    let inner: usize = x.shape()[axis as usize..].iter().product();
    Ok(vec![x.clone().reshape(vec![outer, inner])?])
}

/// Axes of Squeeze/Unsqueeze: the attribute, or input 1 (absent = `None`).
fn axes_of(p: &Axes, inputs: &[Option<&Tensor>]) -> Result<Option<Vec<i64>>> {
    match &p.axes {
        Some(a) => Ok(Some(a.clone())),
        None => opt_input(inputs, 1)
            .map(|t| int_values(t, "axes"))
            .transpose(),
    }
}

/// Squeeze: removes the listed size-1 dims, or every size-1 dim when no axes are given.
pub fn squeeze(p: &Axes, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let drop: Vec<usize> = match axes_of(p, inputs)? {
        Some(a) => norm_axes(&a, x.rank())?,
        None => (0..x.rank()).filter(|&d| x.shape()[d] == 1).collect(),
    };
    if let Some(&d) = drop.iter().find(|&&d| x.shape()[d] != 1) {
        return Err(Error::Shape(format!(
            "cannot squeeze axis {d} of size {} in {:?}",
            x.shape()[d],
            x.shape()
        )));
    }
    let shape = (0..x.rank())
        .filter(|d| !drop.contains(d))
        .map(|d| x.shape()[d])
        .collect();
    Ok(vec![x.clone().reshape(shape)?])
}

/// Unsqueeze: inserts size-1 dims at the listed positions of the output.
pub fn unsqueeze(p: &Axes, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let axes = axes_of(p, inputs)?.ok_or_else(|| Error::Input("Unsqueeze needs axes".into()))?;
    let rank = x.rank() + axes.len();
    let new = norm_axes(&axes, rank)?;
    let mut rest = x.shape().iter();
    let shape = (0..rank)
        .map(|d| {
            if new.contains(&d) {
                1
            } else {
                rest.next().copied().unwrap_or(1)
            }
        })
        .collect();
    Ok(vec![x.clone().reshape(shape)?])
}

/// Shape: the input's dims `[start, end)` as int64, both clamped to `[0, rank]`.
pub fn shape(p: &ShapeOf, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let dims = shape_dims(p, input(inputs, 0)?.shape());
    Ok(vec![Tensor::from_vec(vec![dims.len()], dims)?])
}

/// Size: the element count as an int64 scalar.
pub fn size(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    Ok(vec![Tensor::scalar(input(inputs, 0)?.len() as i64)])
}

/// Expand: broadcasts the input against the shape in input 1.
pub fn expand(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let target = to_dims(
        &int_values(input(inputs, 1)?, "Expand shape")?,
        "Expand shape",
    )?;
    let out = broadcast_shapes(&[x.shape(), &target])?;
    let strides: Vec<isize> = broadcast_strides(x.shape(), &out)
        .into_iter()
        .map(|s| s as isize)
        .collect();
    Ok(vec![strided_tensor(x, 0, out, &strides)?])
}

/// Tile: repeats the input `repeats[d]` times along each dim. Done as one strided copy over the
/// interleaved view `[r0, d0, r1, d1, ...]` whose repeat dims have stride 0.
pub fn tile(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let repeats = to_dims(
        &int_values(input(inputs, 1)?, "Tile repeats")?,
        "Tile repeats",
    )?;
    if repeats.len() != x.rank() {
        return Err(Error::Shape(format!(
            "Tile repeats {repeats:?} must have one entry per dim of {:?}",
            x.shape()
        )));
    }
    let own = signed_strides(x.shape());
    let mut view_shape = Vec::with_capacity(2 * x.rank());
    let mut view_strides = Vec::with_capacity(2 * x.rank());
    for d in 0..x.rank() {
        view_shape.extend([repeats[d], x.shape()[d]]);
        view_strides.extend([0, own[d]]);
    }
    let out: Vec<usize> = (0..x.rank()).map(|d| repeats[d] * x.shape()[d]).collect();
    Ok(vec![
        strided_tensor(x, 0, view_shape, &view_strides)?.reshape(out)?
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_repeats_rows_and_cols() {
        let x = Tensor::from_vec(vec![1, 2], vec![1u8, 2]).unwrap();
        let r = Tensor::from_vec(vec![2], vec![2i64, 2]).unwrap();
        let y = tile(&[Some(&x), Some(&r)]).unwrap();
        assert_eq!(y[0].shape(), &[2, 4]);
        assert_eq!(y[0].as_slice::<u8>().unwrap(), &[1, 2, 1, 2, 1, 2, 1, 2]);
    }

    #[test]
    fn shape_clamps_start_end() {
        let x = Tensor::zeros(crate::tensor::DType::F32, vec![2, 3, 4]).unwrap();
        let y = shape(
            &ShapeOf {
                start: -2,
                end: Some(10),
            },
            &[Some(&x)],
        )
        .unwrap();
        assert_eq!(y[0].as_slice::<i64>().unwrap(), &[3, 4]);
    }
}
