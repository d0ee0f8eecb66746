//! Shape arithmetic of the lowering: Shape / Size answered on the host, broadcast strides as the
//! kernels take them, and the dim collapsing that lets elementwise kernels index with as few
//! divisions as possible. The rules both backends share are in [`crate::ir::geometry`].

use super::{Lowerer, Value};
use crate::error::Result;
use crate::ir::geometry::{self, shape_dims};
use crate::ir::{Node, Op};
use crate::tensor::Tensor;

/// `Shape` and `Size` from the input's shape (its data is never read); `None` for other ops.
pub fn shape_op(l: &Lowerer, node: &Node) -> Result<Option<Value>> {
    match &node.op {
        Op::Shape(p) => {
            let v = shape_dims(p, &l.input(node, 0)?.shape);
            Ok(Some(Value::host(Tensor::from_vec(vec![v.len()], v)?)))
        }
        Op::Size => {
            let n: usize = l.input(node, 0)?.shape.iter().product();
            Ok(Some(Value::host(Tensor::scalar(n as i64))))
        }
        _ => Ok(None),
    }
}

/// [`geometry::broadcast_strides`] as the kernels' i64 strides.
pub fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<i64> {
    geometry::broadcast_strides(shape, out)
        .into_iter()
        .map(|s| s as i64)
        .collect()
}

/// Merges adjacent dims that every operand walks contiguously (`strides[k][d] ==
/// strides[k][d+1] · shape[d+1]`), and drops dims of extent 1. A same-shape elementwise op becomes
/// one dim; `[N, C, H, W] + [C, 1, 1]` becomes `[N, C, H·W]`.
pub fn collapse(shape: &[usize], strides: &[Vec<i64>]) -> (Vec<usize>, Vec<Vec<i64>>) {
    let mut out_shape: Vec<usize> = vec![];
    let mut out_strides: Vec<Vec<i64>> = vec![vec![]; strides.len()];
    for d in 0..shape.len() {
        if shape[d] == 1 {
            continue;
        }
        let mergeable = !out_shape.is_empty()
            && strides.iter().zip(&out_strides).all(|(s, o)| {
                *o.last().expect("same length as out_shape") == s[d] * shape[d] as i64
            });
        if mergeable {
            *out_shape.last_mut().expect("not empty") *= shape[d];
            for (o, s) in out_strides.iter_mut().zip(strides) {
                *o.last_mut().expect("not empty") = s[d];
            }
        } else {
            out_shape.push(shape[d]);
            for (o, s) in out_strides.iter_mut().zip(strides) {
                o.push(s[d]);
            }
        }
    }
    (out_shape, out_strides)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapsing() {
        // Same shapes: one dim.
        let s = super::super::strides_of(&[2, 3, 4]);
        let (shape, st) = collapse(&[2, 3, 4], &[s.clone(), s]);
        assert_eq!((shape, st), (vec![24], vec![vec![1], vec![1]]));
        // [N, C, H, W] + bias [C, 1, 1]: N and C stay apart, H and W merge.
        let out = [2, 3, 5, 5];
        let a = super::super::strides_of(&out);
        let b = broadcast_strides(&[3, 1, 1], &out);
        let (shape, st) = collapse(&out, &[a, b]);
        assert_eq!(shape, [2, 3, 25]);
        assert_eq!(st[1], [0, 1, 0]);
    }
}
