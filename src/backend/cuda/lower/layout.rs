//! Shape and data-movement ops on the device. Reshape, Flatten, Squeeze and Unsqueeze are free
//! (the output aliases the input's buffer); Transpose, Slice, Concat, Split, Expand, Tile and
//! DepthToSpace / SpaceToDepth are one strided copy each (`copy_nd` in `kernels/layout.cu`);
//! Gather, Pad and Resize have kernels of their own (in `resize.rs` for Resize).

use super::shapes::{broadcast_strides, collapse};
use super::{dims, shape_i64, size_suffix, strides_of, Lowerer, Value};
use crate::backend::cuda::program::{Arg, Buf, DeviceTensor};
use crate::error::{Error, Result};
use crate::ir::geometry::{
    broadcast_shapes, int_values, norm_axes, norm_axis, reshape_dims, slice_range,
};
use crate::ir::{self, Node, Op};
use crate::tensor::{DType, Tensor};

pub use super::resize::resize;

/// Copies `shape` elements of `dtype`: `dst[offset(i, ds)] = src[offset(i, ss)]`.
pub fn copy_nd(
    l: &mut Lowerer,
    dtype: DType,
    shape: &[usize],
    src: Buf,
    ss: &[i64],
    dst: Buf,
    ds: &[i64],
) -> Result<()> {
    let n: usize = shape.iter().product();
    let (cshape, cs) = collapse(shape, &[ss.to_vec(), ds.to_vec()]);
    let args = vec![
        Arg::I64(n as i64),
        Arg::I32(cshape.len() as i32),
        dims(&shape_i64(&cshape))?,
        dims(&cs[0])?,
        dims(&cs[1])?,
        Arg::Ptr(src),
        Arg::Ptr(dst),
    ];
    l.launch(format!("copy_nd_{}", size_suffix(dtype)), n, args);
    Ok(())
}

/// Writes `src` broadcast to `dst`'s shape into `dst`.
pub fn broadcast_into(l: &mut Lowerer, src: &DeviceTensor, dst: &DeviceTensor) -> Result<()> {
    let ss = broadcast_strides(&src.shape, &dst.shape);
    copy_nd(
        l,
        src.dtype,
        &dst.shape,
        src.buf,
        &ss,
        dst.buf,
        &strides_of(&dst.shape),
    )
}

/// An output that is input 0 under another shape (no copy).
fn alias(l: &Lowerer, node: &Node, shape: Vec<usize>) -> Result<Vec<Value>> {
    let x = l.input(node, 0)?;
    let n: usize = shape.iter().product();
    if n != x.shape.iter().product::<usize>() {
        return Err(Error::Shape(format!(
            "cannot view {:?} as {shape:?}",
            x.shape
        )));
    }
    Ok(vec![Value {
        dtype: x.dtype,
        shape,
        dev: x.dev,
        // A host-known input would have run on the host; the device buffer is what is aliased.
        host: None,
    }])
}

/// Axes from the attribute or, when it is absent, from host-known input 1.
fn axes_of(
    l: &Lowerer,
    node: &Node,
    attr: &Option<Vec<i64>>,
    what: &str,
) -> Result<Option<Vec<i64>>> {
    match attr {
        Some(a) => Ok(Some(a.clone())),
        None => l
            .host_input(node, 1)?
            .map(|t| int_values(&t, what))
            .transpose(),
    }
}

/// Reshape, Flatten, Squeeze, Unsqueeze.
pub fn reshape_like(l: &mut Lowerer, node: &Node) -> Result<Vec<Value>> {
    let from = l.input(node, 0)?.shape.clone();
    let rank = from.len();
    let shape = match &node.op {
        Op::Reshape(p) => {
            let t = l
                .host_input(node, 1)?
                .ok_or_else(|| Error::Graph("Reshape needs its shape input".into()))?;
            reshape_dims(&from, &int_values(&t, "Reshape shape")?, p.allowzero)?
        }
        Op::Flatten(p) => {
            let axis = if p.axis < 0 {
                p.axis + rank as i64
            } else {
                p.axis
            };
            if axis < 0 || axis > rank as i64 {
                return Err(Error::Shape(format!(
                    "Flatten axis {} for rank {rank}",
                    p.axis
                )));
            }
            let a = axis as usize;
            vec![from[..a].iter().product(), from[a..].iter().product()]
        }
        Op::Squeeze(p) => match axes_of(l, node, &p.axes, "Squeeze axes")? {
            Some(a) if !a.is_empty() => {
                let axes = norm_axes(&a, rank)?;
                if let Some(&bad) = axes.iter().find(|&&d| from[d] != 1) {
                    return Err(Error::Shape(format!(
                        "Squeeze axis {bad} of {from:?} is not 1"
                    )));
                }
                (0..rank)
                    .filter(|d| !axes.contains(d))
                    .map(|d| from[d])
                    .collect()
            }
            _ => from.iter().copied().filter(|&d| d != 1).collect(),
        },
        Op::Unsqueeze(p) => {
            let a = axes_of(l, node, &p.axes, "Unsqueeze axes")?
                .ok_or_else(|| Error::Graph("Unsqueeze needs axes".into()))?;
            let out_rank = rank + a.len();
            let axes = norm_axes(&a, out_rank)?;
            let mut it = from.iter();
            (0..out_rank)
                .map(|d| {
                    if axes.contains(&d) {
                        1
                    } else {
                        *it.next().unwrap_or(&1)
                    }
                })
                .collect()
        }
        other => return Err(Error::Graph(format!("{} is not a reshape", other.name()))),
    };
    alias(l, node, shape)
}

pub fn transpose(l: &mut Lowerer, node: &Node, p: &ir::Transpose) -> Result<Vec<Value>> {
    let x = l.dev_input(node, 0)?;
    let rank = x.shape.len();
    let perm: Vec<usize> = p.perm.clone().unwrap_or_else(|| (0..rank).rev().collect());
    let mut sorted = perm.clone();
    sorted.sort_unstable();
    if sorted != (0..rank).collect::<Vec<_>>() {
        return Err(Error::Shape(format!("perm {perm:?} for rank {rank}")));
    }
    let xs = strides_of(&x.shape);
    let shape: Vec<usize> = perm.iter().map(|&d| x.shape[d]).collect();
    let ss: Vec<i64> = perm.iter().map(|&d| xs[d]).collect();
    let y = l.alloc(x.dtype, shape.clone());
    copy_nd(l, x.dtype, &shape, x.buf, &ss, y.buf, &strides_of(&shape))?;
    Ok(vec![Value::device(y)])
}

pub fn concat(l: &mut Lowerer, node: &Node, p: &ir::Concat) -> Result<Vec<Value>> {
    let parts: Vec<DeviceTensor> = (0..node.inputs.len())
        .filter_map(|i| l.opt_dev_input(node, i))
        .collect();
    let first = parts
        .first()
        .ok_or_else(|| Error::Graph("Concat of nothing".into()))?;
    let rank = first.shape.len();
    let axis = norm_axis(p.axis, rank)?;
    let mut shape = first.shape.clone();
    shape[axis] = 0;
    for t in &parts {
        let same = t.shape.len() == rank
            && t.dtype == first.dtype
            && (0..rank).all(|d| d == axis || t.shape[d] == first.shape[d]);
        if !same {
            return Err(Error::Shape(format!(
                "Concat of {}{:?} and {}{:?} along axis {axis}",
                first.dtype, first.shape, t.dtype, t.shape
            )));
        }
        shape[axis] += t.shape[axis];
    }
    let y = l.alloc(first.dtype, shape.clone());
    let ys = strides_of(&shape);
    let mut at = 0usize;
    for t in &parts {
        let dst = y.buf.at(at * ys[axis] as usize * y.dtype.size());
        copy_nd(l, t.dtype, &t.shape, t.buf, &strides_of(&t.shape), dst, &ys)?;
        at += t.shape[axis];
    }
    Ok(vec![Value::device(y)])
}

pub fn split(l: &mut Lowerer, node: &Node, p: &ir::Split) -> Result<Vec<Value>> {
    let x = l.dev_input(node, 0)?;
    let axis = norm_axis(p.axis, x.shape.len())?;
    let len = x.shape[axis];
    let outs = node.outputs.len();
    let sizes: Vec<usize> = match (&p.split, l.host_input(node, 1)?) {
        (Some(s), _) => s.iter().map(|&v| v.max(0) as usize).collect(),
        (None, Some(t)) => int_values(&t, "Split sizes")?
            .iter()
            .map(|&v| v.max(0) as usize)
            .collect(),
        (None, None) => {
            let parts = p.num_outputs.unwrap_or(outs).max(1);
            let chunk = len.div_ceil(parts);
            (0..parts)
                .map(|i| chunk.min(len.saturating_sub(i * chunk)))
                .collect()
        }
    };
    if sizes.iter().sum::<usize>() != len || sizes.len() != outs {
        return Err(Error::Shape(format!(
            "Split of extent {len} into {sizes:?} for {outs} outputs"
        )));
    }
    let xs = strides_of(&x.shape);
    let mut at = 0usize;
    let mut values = vec![];
    for s in sizes {
        let mut shape = x.shape.clone();
        shape[axis] = s;
        let y = l.alloc(x.dtype, shape.clone());
        let src = x.buf.at(at * xs[axis] as usize * x.dtype.size());
        copy_nd(l, x.dtype, &shape, src, &xs, y.buf, &strides_of(&shape))?;
        values.push(Value::device(y));
        at += s;
    }
    Ok(values)
}

pub fn slice(l: &mut Lowerer, node: &Node, p: &ir::Slice) -> Result<Vec<Value>> {
    let x = l.dev_input(node, 0)?;
    let rank = x.shape.len();
    let ints = |l: &Lowerer, i: usize, what: &str| -> Result<Option<Vec<i64>>> {
        l.host_input(node, i)?
            .map(|t| int_values(&t, what))
            .transpose()
    };
    let starts = match &p.starts {
        Some(s) => s.clone(),
        None => ints(l, 1, "Slice starts")?.unwrap_or_default(),
    };
    let ends = match &p.ends {
        Some(e) => e.clone(),
        None => ints(l, 2, "Slice ends")?.unwrap_or_default(),
    };
    let axes = match &p.axes {
        Some(a) => a.clone(),
        None if p.starts.is_some() => (0..starts.len() as i64).collect(),
        None => ints(l, 3, "Slice axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect()),
    };
    let steps = if p.starts.is_some() {
        vec![1; starts.len()]
    } else {
        ints(l, 4, "Slice steps")?.unwrap_or_else(|| vec![1; starts.len()])
    };
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(Error::Shape(format!(
            "Slice starts {starts:?}, ends {ends:?}, axes {axes:?}, steps {steps:?} differ in length"
        )));
    }
    let axes = norm_axes(&axes, rank)?;
    let xs = strides_of(&x.shape);
    let (mut shape, mut ss, mut offset) = (x.shape.clone(), xs.clone(), 0i64);
    for (i, &a) in axes.iter().enumerate() {
        let (count, first) = slice_range(x.shape[a], starts[i], ends[i], steps[i])?;
        shape[a] = count;
        if count > 0 {
            offset += first as i64 * xs[a];
        }
        ss[a] = xs[a] * steps[i];
    }
    let y = l.alloc(x.dtype, shape.clone());
    if !y.is_empty() {
        let src = x.buf.at(offset as usize * x.dtype.size());
        copy_nd(l, x.dtype, &shape, src, &ss, y.buf, &strides_of(&shape))?;
    }
    Ok(vec![Value::device(y)])
}

pub fn gather(l: &mut Lowerer, node: &Node, p: &ir::Gather) -> Result<Vec<Value>> {
    let x = l.dev_input(node, 0)?;
    let axis = norm_axis(p.axis, x.shape.len())?;
    let axis_len = x.shape[axis];
    if let Some(t) = l.host_input(node, 1).ok().flatten() {
        if let Some(bad) = t
            .to_i64_vec()
            .into_iter()
            .find(|&k| k < -(axis_len as i64) || k >= axis_len as i64)
        {
            return Err(Error::Shape(format!(
                "Gather index {bad} is out of range for an axis of {axis_len}"
            )));
        }
    }
    let idx = l.dev_input(node, 1)?;
    let isuffix = match idx.dtype {
        DType::I32 => "i32",
        DType::I64 => "i64",
        other => return Err(Error::DType(format!("Gather indices of {other}"))),
    };
    let mut shape = x.shape[..axis].to_vec();
    shape.extend_from_slice(&idx.shape);
    shape.extend_from_slice(&x.shape[axis + 1..]);
    let y = l.alloc(x.dtype, shape);
    let inner: usize = x.shape[axis + 1..].iter().product();
    let n = y.len();
    let args = vec![
        Arg::I64(n as i64),
        Arg::I64(inner.max(1) as i64),
        Arg::I64(idx.len().max(1) as i64),
        Arg::I64(axis_len as i64),
        Arg::Ptr(x.buf),
        Arg::Ptr(idx.buf),
        Arg::Ptr(y.buf),
    ];
    if inner > 0 && !idx.is_empty() {
        l.launch(
            format!("gather_{}_{isuffix}", size_suffix(x.dtype)),
            n,
            args,
        );
    }
    Ok(vec![Value::device(y)])
}

pub fn expand(l: &mut Lowerer, node: &Node) -> Result<Vec<Value>> {
    let x = l.dev_input(node, 0)?;
    let t = l
        .host_input(node, 1)?
        .ok_or_else(|| Error::Graph("Expand needs its shape input".into()))?;
    let target: Vec<usize> = int_values(&t, "Expand shape")?
        .iter()
        .map(|&v| v.max(0) as usize)
        .collect();
    let shape = broadcast_shapes(&[&x.shape, &target])?;
    let y = l.alloc(x.dtype, shape);
    broadcast_into(l, &x, &y)?;
    Ok(vec![Value::device(y)])
}

pub fn tile(l: &mut Lowerer, node: &Node) -> Result<Vec<Value>> {
    let x = l.dev_input(node, 0)?;
    let t = l
        .host_input(node, 1)?
        .ok_or_else(|| Error::Graph("Tile needs its repeats input".into()))?;
    let reps = int_values(&t, "Tile repeats")?;
    let rank = x.shape.len();
    if reps.len() != rank || reps.iter().any(|&r| r < 0) || 2 * rank > 8 {
        return Err(Error::Shape(format!(
            "Tile of {:?} by {reps:?} (rank ≤ 4 on the CUDA backend)",
            x.shape
        )));
    }
    let out: Vec<usize> = (0..rank).map(|d| x.shape[d] * reps[d] as usize).collect();
    let y = l.alloc(x.dtype, out.clone());
    let (xs, ys) = (strides_of(&x.shape), strides_of(&out));
    // Output dim d viewed as (repeat r, position i): index r·x_d + i.
    let (mut shape, mut ss, mut ds) = (vec![], vec![], vec![]);
    for d in 0..rank {
        shape.extend([reps[d] as usize, x.shape[d]]);
        ss.extend([0, xs[d]]);
        ds.extend([ys[d] * x.shape[d] as i64, ys[d]]);
    }
    copy_nd(l, x.dtype, &shape, x.buf, &ss, y.buf, &ds)?;
    Ok(vec![Value::device(y)])
}

/// The bits of `v` converted to `dtype`, as the pad kernel's value argument.
fn value_bits(t: &Tensor) -> Arg {
    let b = crate::tensor::to_le_bytes(t);
    let mut w = [0u8; 8];
    w[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
    match t.dtype().size() {
        1 => Arg::U8(w[0]),
        2 => Arg::U16(u16::from_le_bytes([w[0], w[1]])),
        4 => Arg::U32(u32::from_le_bytes([w[0], w[1], w[2], w[3]])),
        _ => Arg::U64(u64::from_le_bytes(w)),
    }
}

pub fn pad(l: &mut Lowerer, node: &Node, p: &ir::Pad) -> Result<Vec<Value>> {
    let x = l.dev_input(node, 0)?;
    let rank = x.shape.len();
    let pads = match &p.pads {
        Some(v) => v.clone(),
        None => l
            .host_input(node, 1)?
            .map(|t| int_values(&t, "Pad pads"))
            .transpose()?
            .ok_or_else(|| Error::Graph("Pad needs pads".into()))?,
    };
    let axes: Vec<usize> = match l.host_input(node, 3)? {
        Some(t) => norm_axes(&int_values(&t, "Pad axes")?, rank)?,
        None => (0..rank).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(Error::Shape(format!(
            "Pad: {} pads for {} axes",
            pads.len(),
            axes.len()
        )));
    }
    let (mut begin, mut end) = (vec![0i64; rank], vec![0i64; rank]);
    for (i, &a) in axes.iter().enumerate() {
        (begin[a], end[a]) = (pads[i], pads[axes.len() + i]);
    }
    let shape = (0..rank)
        .map(|d| usize::try_from(x.shape[d] as i64 + begin[d] + end[d]))
        .collect::<std::result::Result<Vec<usize>, _>>()
        .map_err(|_| Error::Shape(format!("Pad {pads:?} crops {:?} below zero", x.shape)))?;
    let value = match (p.value, l.host_input(node, 2)?) {
        (Some(v), _) => Tensor::scalar(v).cast(x.dtype),
        (None, Some(t)) => t.cast(x.dtype),
        (None, None) => Tensor::scalar(0.0f32).cast(x.dtype),
    };
    let y = l.alloc(x.dtype, shape.clone());
    let n = y.len();
    let args = vec![
        Arg::I64(n as i64),
        Arg::I32(rank as i32),
        dims(&shape_i64(&shape))?,
        dims(&shape_i64(&x.shape))?,
        dims(&begin)?,
        Arg::I32(crate::backend::cuda::codes::pad(p.mode)),
        value_bits(&value),
        Arg::Ptr(x.buf),
        Arg::Ptr(y.buf),
    ];
    l.launch(format!("pad_{}", size_suffix(x.dtype)), n, args);
    Ok(vec![Value::device(y)])
}

/// DepthToSpace (DCR or CRD) as a rank-6 transpose.
pub fn depth_to_space(l: &mut Lowerer, node: &Node, p: &ir::DepthToSpace) -> Result<Vec<Value>> {
    let x = l.dev_input(node, 0)?;
    let b = p.blocksize;
    let [n, c, h, w] = four(&x, "DepthToSpace")?;
    if b == 0 || c % (b * b) != 0 {
        return Err(Error::Shape(format!("DepthToSpace of {c} channels by {b}")));
    }
    let c2 = c / (b * b);
    // View x as 6 dims, permute, write y (n, c2, h·b, w·b) contiguous.
    let (view, perm) = if p.crd {
        ([n, c2, b, b, h, w], [0, 1, 4, 2, 5, 3])
    } else {
        ([n, b, b, c2, h, w], [0, 3, 4, 1, 5, 2])
    };
    permute_into(l, &x, &view, &perm, vec![n, c2, h * b, w * b])
}

/// SpaceToDepth (DCR, or CRD for the opset-28 mode) as a rank-6 transpose.
pub fn space_to_depth(l: &mut Lowerer, node: &Node, p: &ir::SpaceToDepth) -> Result<Vec<Value>> {
    let x = l.dev_input(node, 0)?;
    let b = p.blocksize;
    let [n, c, h, w] = four(&x, "SpaceToDepth")?;
    if b == 0 || h % b != 0 || w % b != 0 {
        return Err(Error::Shape(format!("SpaceToDepth of {h}x{w} by {b}")));
    }
    let view = [n, c, h / b, b, w / b, b];
    let perm = if p.crd {
        [0, 1, 3, 5, 2, 4]
    } else {
        [0, 3, 5, 1, 2, 4]
    };
    permute_into(l, &x, &view, &perm, vec![n, c * b * b, h / b, w / b])
}

fn four(x: &DeviceTensor, op: &str) -> Result<[usize; 4]> {
    x.shape
        .as_slice()
        .try_into()
        .map_err(|_| Error::Shape(format!("{op} expects a 4-D input, got {:?}", x.shape)))
}

/// `x` viewed as `view`, permuted by `perm`, written contiguously as `out`.
fn permute_into(
    l: &mut Lowerer,
    x: &DeviceTensor,
    view: &[usize; 6],
    perm: &[usize; 6],
    out: Vec<usize>,
) -> Result<Vec<Value>> {
    let vs = strides_of(view);
    let shape: Vec<usize> = perm.iter().map(|&d| view[d]).collect();
    let ss: Vec<i64> = perm.iter().map(|&d| vs[d]).collect();
    let y = l.alloc(x.dtype, out);
    copy_nd(l, x.dtype, &shape, x.buf, &ss, y.buf, &strides_of(&shape))?;
    Ok(vec![Value::device(y)])
}
