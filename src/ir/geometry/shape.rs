//! Shape arithmetic of the shape and data-movement ops: axis normalization, numpy broadcasting,
//! Reshape's target dims and Slice's clamping of one axis.
//! <https://onnx.ai/onnx/repo-docs/Broadcasting.html>,
//! <https://onnx.ai/onnx/operators/onnx__Reshape.html>,
//! <https://onnx.ai/onnx/operators/onnx__Slice.html>

use crate::error::{Error, Result};
use crate::ir::ShapeOf;
use crate::tensor::{checked_numel, strides_of, Tensor};

/// The values of an integer tensor that describes shapes, axes or counts (`what` names it in errors).
pub fn int_values(t: &Tensor, what: &str) -> Result<Vec<i64>> {
    if !t.dtype().is_int() {
        return Err(Error::DType(format!(
            "{what} must be an integer tensor, got {}",
            t.dtype()
        )));
    }
    Ok(t.to_i64_vec())
}

/// Shape's output: the dims `[start, end)` of `dims` as int64, both ends clamped to `[0, rank]`.
/// <https://onnx.ai/onnx/operators/onnx__Shape.html>
pub fn shape_dims(p: &ShapeOf, dims: &[usize]) -> Vec<i64> {
    let r = dims.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let start = clamp(p.start);
    let end = clamp(p.end.unwrap_or(r)).max(start);
    dims[start..end].iter().map(|&d| d as i64).collect()
}

/// Normalizes a possibly negative axis against `rank`; an out-of-range axis is an error. A scalar
/// (rank 0) accepts axis 0.
pub fn norm_axis(axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r.max(1) {
        return Err(Error::Shape(format!(
            "axis {axis} is out of range for rank {rank}"
        )));
    }
    Ok(a as usize)
}

/// Normalizes a list of axes against `rank`, rejecting repeats.
pub fn norm_axes(axes: &[i64], rank: usize) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = norm_axis(a, rank)?;
        if out.contains(&n) {
            return Err(Error::Shape(format!("axes {axes:?} repeat axis {a}")));
        }
        out.push(n);
    }
    Ok(out)
}

/// The broadcast shape of several shapes, or an error naming them.
pub fn broadcast_shapes(shapes: &[&[usize]]) -> Result<Vec<usize>> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; rank];
    for s in shapes {
        let off = rank - s.len();
        for (i, &d) in s.iter().enumerate() {
            let o = &mut out[off + i];
            if *o == 1 {
                *o = d;
            } else if d != 1 && d != *o {
                return Err(Error::Shape(format!(
                    "shapes {shapes:?} cannot be broadcast together"
                )));
            }
        }
    }
    Ok(out)
}

/// Strides (in elements) that read an input of shape `shape` as if it had shape `out`: broadcast
/// dimensions get stride 0. `shape` must broadcast to `out`.
pub fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let off = out.len() - shape.len();
    let own = strides_of(shape);
    (0..out.len())
        .map(|i| {
            if i < off || shape[i - off] == 1 {
                0
            } else {
                own[i - off]
            }
        })
        .collect()
}

/// Reshape's output dims for an input of shape `from`: `0` copies the input dim (unless
/// `allowzero`), `-1` is inferred from the rest.
pub fn reshape_dims(from: &[usize], target: &[i64], allowzero: bool) -> Result<Vec<usize>> {
    let numel: usize = from.iter().product();
    let bad = |why: &str| Error::Shape(format!("cannot reshape {from:?} to {target:?}: {why}"));
    let mut infer = None;
    let mut dims = Vec::with_capacity(target.len());
    for (i, &t) in target.iter().enumerate() {
        dims.push(match t {
            -1 if infer.is_some() => return Err(bad("more than one -1")),
            -1 => {
                infer = Some(i);
                1
            }
            0 if !allowzero => *from
                .get(i)
                .ok_or_else(|| bad("0 copies a dim the input does not have"))?,
            t if t < 0 => return Err(bad("negative dim")),
            t => t as usize,
        });
    }
    let known = checked_numel(&dims).ok_or_else(|| bad("element count overflows"))?;
    if let Some(i) = infer {
        if known == 0 || numel % known != 0 {
            return Err(bad("the -1 dim cannot be inferred"));
        }
        dims[i] = numel / known;
    } else if known != numel {
        return Err(bad("element counts differ"));
    }
    Ok(dims)
}

/// Slice of one axis of size `dim`: `(element count, first index)` of `start, start+step, …`
/// before `end`, with negative indices counted from the end and clamped as the spec says (to
/// `[0, dim]`, or `[-1, dim-1]` for negative steps).
pub fn slice_range(dim: usize, start: i64, end: i64, step: i64) -> Result<(usize, usize)> {
    if step == 0 {
        return Err(Error::Shape("Slice step must not be 0".into()));
    }
    let d = dim as i64;
    let wrap = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
    let (start, end) = (wrap(start), wrap(end));
    let (start, end) = if step > 0 {
        (start.clamp(0, d), end.clamp(0, d))
    } else {
        (start.max(0).min(d - 1), end.max(-1).min(d - 1))
    };
    // i128: `span + step` overflows i64 for steps near i64::MAX.
    let (span, step) = ((end - start) as i128, step as i128);
    let len = if step > 0 {
        (span + step - 1) / step
    } else {
        (span + step + 1) / step
    };
    Ok((len.max(0) as usize, start.max(0) as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_clamps_start_end() {
        let p = |start, end| ShapeOf { start, end };
        assert_eq!(shape_dims(&p(-2, Some(10)), &[2, 3, 4]), [3, 4]);
        assert_eq!(shape_dims(&p(2, Some(1)), &[2, 3, 4]), Vec::<i64>::new());
    }

    #[test]
    fn axes() {
        assert_eq!(norm_axis(-1, 3).unwrap(), 2);
        assert_eq!(norm_axis(0, 0).unwrap(), 0);
        assert!(norm_axis(3, 3).is_err());
        assert!(norm_axes(&[1, -2], 3).is_err());
    }

    #[test]
    fn broadcasting() {
        assert_eq!(broadcast_shapes(&[&[2, 1, 4], &[3, 1]]).unwrap(), [2, 3, 4]);
        assert!(broadcast_shapes(&[&[2], &[3]]).is_err());
        assert_eq!(broadcast_strides(&[3, 1], &[2, 3, 4]), [0, 1, 0]);
    }

    #[test]
    fn reshape_targets() {
        assert_eq!(reshape_dims(&[2, 3, 4], &[0, -1], false).unwrap(), [2, 12]);
        assert_eq!(reshape_dims(&[0, 3], &[3, 0], true).unwrap(), [3, 0]);
        assert!(reshape_dims(&[2, 3], &[3, 0], true).is_err());
        assert!(reshape_dims(&[2, 3], &[4, -1], false).is_err());
        assert!(reshape_dims(&[2, 3], &[-1, -1], false).is_err());
    }

    #[test]
    fn slice_range_follows_spec_clamping() {
        assert_eq!(slice_range(10, 1, 1000, 1).unwrap(), (9, 1));
        assert_eq!(slice_range(10, 2, 8, 3).unwrap(), (2, 2));
        assert_eq!(slice_range(10, 0, i64::MAX, 1).unwrap(), (10, 0));
        assert_eq!(slice_range(10, -1, i64::MIN, -1).unwrap(), (10, 9));
        assert_eq!(slice_range(10, 20, 0, -3).unwrap(), (3, 9));
        assert_eq!(slice_range(10, 5, 2, 1).unwrap().0, 0);
        // An empty axis yields nothing, whichever the direction.
        assert_eq!(slice_range(0, 0, -1, -1).unwrap().0, 0);
        assert!(slice_range(10, 0, 1, 0).is_err());
    }
}
