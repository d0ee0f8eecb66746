//! Inference rules for shape and data-movement ops. These also carry the tracked contents of
//! shape tensors (`Shape`, `Gather`, `Slice`, `Concat`, `(Un)Squeeze`), so that `Reshape`,
//! `Expand` and `ConstantOfShape` fed by computed shapes keep symbolic dims.

use super::dims::{axis, broadcast, product, IntVal};
use super::{Ctx, Fact, Out};
use crate::ir::{
    Axes, Concat, ConstantOfShape, Dim, Flatten, Gather, Reshape, ShapeOf, Slice, Split, Transpose,
};
use crate::tensor::DType;

fn same_dtype(cx: &Ctx, shape: Option<Vec<Dim>>, values: Option<Vec<IntVal>>) -> Vec<Out> {
    vec![Out {
        fact: Fact::new(cx.dtype(0), shape),
        values,
    }]
}

pub fn reshape(p: &Reshape, cx: &Ctx) -> Vec<Out> {
    let shape = cx.int_values(1).map(|target| {
        let input = cx.shape(0);
        let mut out: Vec<Dim> = target
            .iter()
            .enumerate()
            .map(|(i, t)| match t {
                IntVal::Int(0) if !p.allowzero => input
                    .and_then(|s| s.get(i).cloned())
                    .unwrap_or(Dim::Unknown),
                t => t.to_dim(),
            })
            .collect();
        if let (Some(pos), Some(input)) = (target.iter().position(|t| *t == IntVal::Int(-1)), input)
        {
            out[pos] = inferred_dim(input, &out, pos);
        }
        out
    });
    // Reshaping a tracked vector (e.g. to `[1]` or `[]`) keeps its contents.
    same_dtype(cx, shape, cx.int_values(0))
}

/// The `-1` entry of a reshape: the input's element count divided by the other output dims,
/// cancelling equal symbols on both sides.
fn inferred_dim(input: &[Dim], out: &[Dim], pos: usize) -> Dim {
    let mut rest_in: Vec<&Dim> = input.iter().collect();
    let mut rest_out: Vec<&Dim> = vec![];
    for (i, d) in out.iter().enumerate() {
        if i == pos {
            continue;
        }
        match rest_in
            .iter()
            .position(|x| *x == d && !matches!(d, Dim::Unknown))
        {
            Some(j) => {
                rest_in.swap_remove(j);
            }
            None => rest_out.push(d),
        }
    }
    let fixed = |v: &[&Dim]| {
        v.iter().try_fold(1usize, |a, d| {
            if let Dim::Fixed(n) = d {
                Some(a.saturating_mul(*n))
            } else {
                None
            }
        })
    };
    let Some(fo) = fixed(&rest_out) else {
        return Dim::Unknown;
    };
    let syms: Vec<&Dim> = rest_in
        .iter()
        .copied()
        .filter(|d| !matches!(d, Dim::Fixed(_)))
        .collect();
    let fixed_in: Vec<&Dim> = rest_in
        .iter()
        .copied()
        .filter(|d| matches!(d, Dim::Fixed(_)))
        .collect();
    let fi = fixed(&fixed_in).unwrap_or(0);
    match syms.as_slice() {
        [] if fo > 0 && fi % fo == 0 => Dim::Fixed(fi / fo),
        [s @ Dim::Symbol(_)] if fi == fo && fo > 0 => (*s).clone(),
        _ => Dim::Unknown,
    }
}

pub fn flatten(p: &Flatten, cx: &Ctx) -> Vec<Out> {
    let shape = cx.shape(0).and_then(|s| {
        let r = s.len() as i64;
        let a = if p.axis < 0 { p.axis + r } else { p.axis };
        (0..=r)
            .contains(&a)
            .then(|| vec![product(&s[..a as usize]), product(&s[a as usize..])])
    });
    same_dtype(cx, shape, None)
}

pub fn transpose(p: &Transpose, cx: &Ctx) -> Vec<Out> {
    let shape = cx.shape(0).and_then(|s| match &p.perm {
        None => Some(s.iter().rev().cloned().collect()),
        Some(perm) if perm.len() == s.len() => perm.iter().map(|&i| s.get(i).cloned()).collect(),
        Some(_) => None,
    });
    same_dtype(cx, shape, None)
}

/// Squeeze/Unsqueeze axes: the attribute, else the constant input 1.
fn axes_of(p: &Axes, cx: &Ctx) -> Option<Vec<i64>> {
    p.axes.clone().or_else(|| cx.const_ints(1))
}

pub fn squeeze(p: &Axes, cx: &Ctx) -> Vec<Out> {
    let shape = cx.shape(0).and_then(|s| {
        let axes: Option<Vec<i64>> = if p.axes.is_none() && !cx.present(1) {
            None
        } else {
            Some(axes_of(p, cx)?)
        };
        match axes {
            // Without axes every 1 goes; a symbolic dim might be 1, so the rank is then unknown.
            None if s.iter().all(|d| matches!(d, Dim::Fixed(_))) => {
                Some(s.iter().filter(|d| **d != Dim::Fixed(1)).cloned().collect())
            }
            None => None,
            Some(axes) => {
                let drop: Option<Vec<usize>> = axes.iter().map(|&a| axis(a, s.len())).collect();
                let drop = drop?;
                Some(
                    s.iter()
                        .enumerate()
                        .filter(|(i, _)| !drop.contains(i))
                        .map(|(_, d)| d.clone())
                        .collect(),
                )
            }
        }
    });
    same_dtype(cx, shape, cx.int_values(0))
}

pub fn unsqueeze(p: &Axes, cx: &Ctx) -> Vec<Out> {
    let shape = (|| {
        let s = cx.shape(0)?;
        let axes = axes_of(p, cx)?;
        let rank = s.len() + axes.len();
        let mut ins: Vec<usize> = axes.iter().map(|&a| axis(a, rank)).collect::<Option<_>>()?;
        ins.sort_unstable();
        ins.dedup();
        if ins.len() != axes.len() {
            return None;
        }
        let mut src = s.iter();
        (0..rank)
            .map(|i| {
                if ins.contains(&i) {
                    Some(Dim::Fixed(1))
                } else {
                    src.next().cloned()
                }
            })
            .collect()
    })();
    same_dtype(cx, shape, cx.int_values(0))
}

pub fn concat(p: &Concat, cx: &Ctx) -> Vec<Out> {
    let n = (0..).take_while(|&i| cx.present(i)).count();
    let shape = (|| {
        let shapes: Vec<&[Dim]> = (0..n).map(|i| cx.shape(i)).collect::<Option<_>>()?;
        let rank = shapes.first()?.len();
        if shapes.iter().any(|s| s.len() != rank) {
            return None;
        }
        let a = axis(p.axis, rank)?;
        Some(
            (0..rank)
                .map(|i| {
                    if i == a {
                        shapes
                            .iter()
                            .try_fold(0usize, |acc, s| {
                                if let Dim::Fixed(d) = s[i] {
                                    Some(acc + d)
                                } else {
                                    None
                                }
                            })
                            .map_or(Dim::Unknown, Dim::Fixed)
                    } else {
                        // All inputs agree here; take the most specific one.
                        let pick = shapes.iter().map(|s| &s[i]);
                        pick.clone()
                            .find(|d| matches!(d, Dim::Fixed(_)))
                            .or_else(|| pick.clone().find(|d| matches!(d, Dim::Symbol(_))))
                            .cloned()
                            .unwrap_or(Dim::Unknown)
                    }
                })
                .collect(),
        )
    })();
    let values = (0..n)
        .map(|i| cx.int_values(i))
        .collect::<Option<Vec<_>>>()
        .map(|v| v.concat());
    same_dtype(cx, shape, values)
}

pub fn split(p: &Split, cx: &Ctx, n_out: usize) -> Vec<Out> {
    let Some(s) = cx.shape(0) else {
        return vec![Fact::new(cx.dtype(0), None).into(); n_out];
    };
    let Some(a) = axis(p.axis, s.len()) else {
        return vec![];
    };
    let sizes: Option<Vec<i64>> = p.split.clone().or_else(|| {
        if cx.present(1) {
            cx.const_ints(1)
        } else {
            None
        }
    });
    let dims: Vec<Dim> = match (sizes, &s[a]) {
        (Some(sizes), _) => sizes.into_iter().map(super::dims::from_i64).collect(),
        // Sizes computed at run time.
        (None, _) if p.split.is_none() && cx.present(1) => vec![Dim::Unknown; n_out],
        (None, Dim::Fixed(d)) if n_out > 0 => {
            // Even split; with num_outputs the last part may be smaller (ceil for the others).
            let part = d.div_ceil(n_out);
            (0..n_out)
                .map(|i| Dim::Fixed(part.min(d.saturating_sub(i * part))))
                .collect()
        }
        _ => vec![Dim::Unknown; n_out],
    };
    dims.into_iter()
        .map(|d| {
            let mut out = s.to_vec();
            out[a] = d;
            Fact::new(cx.dtype(0), Some(out)).into()
        })
        .collect()
}

/// The indices a slice of `dim` elements selects along one axis (ONNX clamping rules).
fn slice_range(dim: i64, start: i64, end: i64, step: i64) -> Vec<i64> {
    let norm = |v: i64| if v < 0 { v.saturating_add(dim) } else { v };
    let (mut i, end) = if step > 0 {
        (norm(start).clamp(0, dim), norm(end).clamp(0, dim))
    } else {
        (norm(start).clamp(0, dim - 1), norm(end).clamp(-1, dim - 1))
    };
    let mut out = vec![];
    while (step > 0 && i < end) || (step < 0 && i > end) {
        out.push(i);
        i += step;
    }
    out
}

pub fn slice(p: &Slice, cx: &Ctx) -> Vec<Out> {
    let param = |attr: &Option<Vec<i64>>, i: usize| {
        attr.clone().or_else(|| {
            if p.starts.is_none() {
                cx.const_ints(i)
            } else {
                None
            }
        })
    };
    let result = (|| {
        let s = cx.shape(0)?;
        let starts = param(&p.starts, 1)?;
        let ends = param(&p.ends, 2)?;
        let axes: Vec<i64> = if p.starts.is_some() {
            p.axes.clone()
        } else if cx.present(3) {
            cx.const_ints(3)
        } else {
            None
        }
        .unwrap_or_else(|| (0..starts.len() as i64).collect());
        let steps: Vec<i64> = if p.starts.is_none() && cx.present(4) {
            cx.const_ints(4)?
        } else {
            vec![1; starts.len()]
        };
        if ends.len() != starts.len()
            || axes.len() != starts.len()
            || steps.len() != starts.len()
            || steps.contains(&0)
        {
            return None;
        }
        let mut out = s.to_vec();
        let mut picked: Option<Vec<i64>> = None;
        for k in 0..starts.len() {
            let a = axis(axes[k], s.len())?;
            out[a] = match &s[a] {
                Dim::Fixed(d) => {
                    let idx = slice_range(*d as i64, starts[k], ends[k], steps[k]);
                    let n = idx.len();
                    if a == 0 {
                        picked = Some(idx);
                    }
                    Dim::Fixed(n)
                }
                d if starts[k] == 0 && steps[k] == 1 && ends[k] >= i32::MAX as i64 => d.clone(),
                _ => Dim::Unknown,
            };
        }
        let values = match (cx.int_values(0), picked) {
            (Some(v), Some(idx)) if s.len() == 1 => {
                idx.iter().map(|&i| v.get(i as usize).cloned()).collect()
            }
            (Some(v), None) if s.len() == 1 => Some(v),
            _ => None,
        };
        Some((out, values))
    })();
    match result {
        Some((shape, values)) => same_dtype(cx, Some(shape), values),
        None => same_dtype(cx, cx.rank(0).map(|r| vec![Dim::Unknown; r]), None),
    }
}

pub fn expand(cx: &Ctx) -> Vec<Out> {
    let target: Option<Vec<Dim>> = cx
        .int_values(1)
        .map(|v| v.iter().map(IntVal::to_dim).collect());
    let shape = match (cx.shape(0), target) {
        (Some(s), Some(t)) => broadcast(&[s, &t]),
        _ => None,
    };
    same_dtype(cx, shape, None)
}

pub fn shape_of(p: &ShapeOf, cx: &Ctx) -> Vec<Out> {
    let Some(s) = cx.shape(0) else {
        return vec![Fact::new(Some(DType::I64), Some(vec![Dim::Unknown])).into()];
    };
    let r = s.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let (start, end) = (clamp(p.start), clamp(p.end.unwrap_or(r)));
    let part = if start < end { &s[start..end] } else { &s[..0] };
    vec![Out {
        fact: Fact::new(Some(DType::I64), Some(vec![Dim::Fixed(part.len())])),
        values: Some(part.iter().map(IntVal::of_dim).collect()),
    }]
}

pub fn constant_of_shape(p: &ConstantOfShape, cx: &Ctx) -> Vec<Out> {
    let dtype = Some(p.value.as_ref().map_or(DType::F32, |t| t.dtype()));
    let shape = match cx.int_values(0) {
        Some(v) => Some(v.iter().map(IntVal::to_dim).collect()),
        None => match cx.shape(0) {
            Some([Dim::Fixed(n)]) => Some(vec![Dim::Unknown; *n]),
            _ => None,
        },
    };
    vec![Fact::new(dtype, shape).into()]
}

pub fn tile(cx: &Ctx) -> Vec<Out> {
    let shape = cx.shape(0).map(|s| match cx.int_values(1) {
        Some(reps) if reps.len() == s.len() => s
            .iter()
            .zip(&reps)
            .map(|(d, r)| match (d, r) {
                (Dim::Fixed(d), IntVal::Int(r)) if *r >= 0 => Dim::Fixed(d * *r as usize),
                (d, IntVal::Int(1)) => d.clone(),
                _ => Dim::Unknown,
            })
            .collect(),
        _ => vec![Dim::Unknown; s.len()],
    });
    same_dtype(cx, shape, None)
}

pub fn gather(p: &Gather, cx: &Ctx) -> Vec<Out> {
    let shape = (|| {
        let (data, idx) = (cx.shape(0)?, cx.shape(1)?);
        let a = axis(p.axis, data.len())?;
        let mut out = data[..a].to_vec();
        out.extend_from_slice(idx);
        out.extend_from_slice(&data[a + 1..]);
        Some(out)
    })();
    let values = (|| {
        let v = cx.int_values(0)?;
        if cx.rank(0)? != 1 {
            return None;
        }
        let n = v.len() as i64;
        cx.const_ints(1)?
            .into_iter()
            .map(|i| v.get((if i < 0 { i + n } else { i }) as usize).cloned())
            .collect()
    })();
    same_dtype(cx, shape, values)
}

/// DepthToSpace `[N, C, H, W] → [N, C/b², H·b, W·b]`; SpaceToDepth the reverse.
pub fn depth_space(block: usize, to_space: bool, cx: &Ctx) -> Vec<Out> {
    let shape = cx.shape(0).filter(|s| s.len() == 4 && block > 0).map(|s| {
        let scale = |d: &Dim, up: bool| match d {
            Dim::Fixed(n) if up => Dim::Fixed(n * block),
            Dim::Fixed(n) if n % block == 0 => Dim::Fixed(n / block),
            _ => Dim::Unknown,
        };
        let sq = block * block;
        let c = match &s[1] {
            Dim::Fixed(c) if to_space && c % sq == 0 => Dim::Fixed(c / sq),
            Dim::Fixed(c) if !to_space => Dim::Fixed(c * sq),
            _ => Dim::Unknown,
        };
        vec![
            s[0].clone(),
            c,
            scale(&s[2], to_space),
            scale(&s[3], to_space),
        ]
    });
    same_dtype(cx, shape, None)
}

/// Pad with constant pads (the attribute, or input 1 with optional constant axes at input 3).
pub fn pad(p: &crate::ir::Pad, cx: &Ctx) -> Vec<Out> {
    let shape = cx.shape(0).map(|s| {
        let r = s.len();
        let pads = p.pads.clone().or_else(|| cx.const_ints(1));
        let axes: Option<Vec<usize>> = match (&p.pads, cx.present(3)) {
            (None, true) => cx
                .const_ints(3)
                .and_then(|a| a.iter().map(|&a| axis(a, r)).collect()),
            _ => Some((0..r).collect()),
        };
        match (pads, axes) {
            (Some(pads), Some(axes)) if pads.len() == 2 * axes.len() => {
                let mut out = s.to_vec();
                for (k, &a) in axes.iter().enumerate() {
                    out[a] = match &s[a] {
                        Dim::Fixed(d) => {
                            let n = *d as i64 + pads[k] + pads[k + axes.len()];
                            super::dims::from_i64(n)
                        }
                        d if pads[k] == 0 && pads[k + axes.len()] == 0 => d.clone(),
                        _ => Dim::Unknown,
                    };
                }
                out
            }
            _ => vec![Dim::Unknown; r],
        }
    });
    same_dtype(cx, shape, None)
}
