//! Inference rules for reductions and selection: Reduce*, ArgMax/ArgMin, TopK.

use super::dims::axis;
use super::{Ctx, Fact, Out};
use crate::ir::{ArgReduce, Dim, Reduce, TopK};
use crate::tensor::DType;

/// `shape` reduced over `axes`: kept as 1s with `keepdims`, else removed.
fn reduced(shape: &[Dim], axes: &[usize], keepdims: bool) -> Vec<Dim> {
    shape
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match (axes.contains(&i), keepdims) {
            (false, _) => Some(d.clone()),
            (true, true) => Some(Dim::Fixed(1)),
            (true, false) => None,
        })
        .collect()
}

pub fn reduce(p: &Reduce, cx: &Ctx) -> Vec<Out> {
    let shape = cx.shape(0).and_then(|s| {
        let axes: Option<Vec<i64>> = match &p.axes {
            Some(a) => Some(a.clone()),
            None if cx.present(1) => match cx.const_ints(1) {
                Some(a) => Some(a),
                // Axes computed at run time: with keepdims only the rank is known.
                None => return p.keepdims.then(|| vec![Dim::Unknown; s.len()]),
            },
            None => None,
        };
        let axes = axes.unwrap_or_default();
        if axes.is_empty() {
            return Some(if p.noop_with_empty_axes {
                s.to_vec()
            } else {
                reduced(s, &(0..s.len()).collect::<Vec<_>>(), p.keepdims)
            });
        }
        let axes: Vec<usize> = axes
            .iter()
            .map(|&a| axis(a, s.len()))
            .collect::<Option<_>>()?;
        Some(reduced(s, &axes, p.keepdims))
    });
    vec![Fact::new(cx.dtype(0), shape).into()]
}

pub fn arg_reduce(p: &ArgReduce, cx: &Ctx) -> Vec<Out> {
    let shape = cx
        .shape(0)
        .and_then(|s| Some(reduced(s, &[axis(p.axis, s.len())?], p.keepdims)));
    vec![Fact::new(Some(DType::I64), shape).into()]
}

/// TopK: values and int64 indices, the input's shape with `k` along `axis`.
pub fn top_k(p: &TopK, cx: &Ctx) -> Vec<Out> {
    let shape = cx.shape(0).and_then(|s| {
        let a = axis(p.axis, s.len())?;
        let k =
            p.k.or_else(|| cx.const_ints(1).and_then(|v| v.first().copied()));
        let mut out = s.to_vec();
        out[a] = k.map_or(Dim::Unknown, super::dims::from_i64);
        Some(out)
    });
    vec![
        Fact::new(cx.dtype(0), shape.clone()).into(),
        Fact::new(Some(DType::I64), shape).into(),
    ]
}
