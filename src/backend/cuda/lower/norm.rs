//! Softmax / LogSoftmax, BatchNormalization, InstanceNormalization, LayerNormalization, pooling
//! and reductions on the device (`kernels/norm.cu`, `pool.cu`, `reduce.cu`).
//! <https://onnx.ai/onnx/operators/onnx__Softmax.html>,
//! <https://onnx.ai/onnx/operators/onnx__LayerNormalization.html>,
//! <https://onnx.ai/onnx/operators/onnx__ReduceSum.html>

use super::{dims, float_suffix, shape_i64, strides_of, Lowerer, Value};
use crate::backend::cuda::codes;
use crate::backend::cuda::program::{Arg, Buf, DeviceTensor, WindowArg};
use crate::error::{Error, Result};
use crate::ir::geometry::{int_values, norm_axes, norm_axis, Window};
use crate::ir::{self, Node, PoolKind};
use crate::tensor::DType;

/// Threads per block of a one-block-per-row kernel: enough warps for `len` elements, at most 256.
fn row_block(len: usize) -> u32 {
    (len.next_power_of_two().clamp(32, 256)) as u32
}

fn grid(rows: usize) -> Result<u32> {
    u32::try_from(rows).map_err(|_| Error::Shape(format!("{rows} rows are too many for one grid")))
}

/// Softmax of `x` along rows of `len` elements `inner` apart into `y` (which may be `x.buf`).
pub fn softmax_into(
    l: &mut Lowerer,
    x: &DeviceTensor,
    y: Buf,
    len: usize,
    inner: usize,
    log: bool,
) -> Result<()> {
    let suffix = float_suffix("Softmax", x.dtype)?;
    if len == 0 || x.is_empty() {
        return Ok(());
    }
    let rows = x.len() / len;
    let args = vec![
        Arg::Ptr(x.buf),
        Arg::Ptr(y),
        Arg::I64(len as i64),
        Arg::I64(inner.max(1) as i64),
        Arg::I32(log as i32),
    ];
    l.launch_grid(
        format!("softmax_{suffix}"),
        grid(rows)?,
        row_block(len),
        args,
    );
    Ok(())
}

pub fn softmax(l: &mut Lowerer, node: &Node, p: &ir::Softmax, log: bool) -> Result<Vec<Value>> {
    let x = l.dev_input(node, 0)?;
    let rank = x.shape.len();
    let (len, inner) = if rank == 0 {
        (1, 1)
    } else {
        let axis = norm_axis(p.axis, rank)?;
        if p.coerce_2d {
            (x.shape[axis..].iter().product(), 1)
        } else {
            (x.shape[axis], x.shape[axis + 1..].iter().product())
        }
    };
    let y = l.alloc(x.dtype, x.shape.clone());
    softmax_into(l, &x, y.buf, len, inner, log)?;
    Ok(vec![Value::device(y)])
}

fn no_extra_outputs(node: &Node, what: &str) -> Result<()> {
    if node.outputs.iter().skip(1).any(|o| o.is_some()) {
        return Err(Error::Graph(format!(
            "{what}'s optional outputs have no CUDA kernel"
        )));
    }
    Ok(())
}

pub fn layer_norm(l: &mut Lowerer, node: &Node, p: &ir::LayerNormalization) -> Result<Vec<Value>> {
    no_extra_outputs(node, "LayerNormalization")?;
    let x = l.dev_input(node, 0)?;
    let suffix = float_suffix("LayerNormalization", x.dtype)?;
    let axis = norm_axis(p.axis, x.shape.len())?;
    let cols: usize = x.shape[axis..].iter().product();
    let scale = l.dev_input(node, 1)?;
    let bias = l.opt_dev_input(node, 2);
    for t in std::iter::once(&scale).chain(bias.as_ref()) {
        if (t.len() != cols && t.len() != 1) || t.dtype != x.dtype {
            return Err(Error::Shape(format!(
                "LayerNormalization scale/bias {}{:?} for rows of {cols} {}",
                t.dtype, t.shape, x.dtype
            )));
        }
    }
    let y = l.alloc(x.dtype, x.shape.clone());
    if let Some(rows) = x.len().checked_div(cols) {
        let args = vec![
            Arg::Ptr(x.buf),
            Arg::Ptr(scale.buf),
            Arg::Ptr(bias.as_ref().map_or(Buf::Null, |b| b.buf)),
            Arg::Ptr(y.buf),
            Arg::I64(cols as i64),
            Arg::I64(scale.len() as i64),
            Arg::I64(bias.as_ref().map_or(1, |b| b.len()) as i64),
            Arg::F32(p.epsilon),
        ];
        l.launch_grid(
            format!("layer_norm_{suffix}"),
            grid(rows)?,
            row_block(cols),
            args,
        );
    }
    Ok(vec![Value::device(y)])
}

/// Checks per-channel parameter tensors: `channels` values of `dtype` each.
fn per_channel(ts: &[&DeviceTensor], channels: usize, dtype: DType, what: &str) -> Result<()> {
    for t in ts {
        if t.len() != channels || t.dtype != dtype {
            return Err(Error::Shape(format!(
                "{what} parameter {}{:?} for {channels} {dtype} channels",
                t.dtype, t.shape
            )));
        }
    }
    Ok(())
}

pub fn batch_norm(l: &mut Lowerer, node: &Node, p: &ir::BatchNormalization) -> Result<Vec<Value>> {
    no_extra_outputs(node, "BatchNormalization (training mode)")?;
    let x = l.dev_input(node, 0)?;
    let suffix = float_suffix("BatchNormalization", x.dtype)?;
    let params: Vec<DeviceTensor> = (1..5)
        .map(|i| l.dev_input(node, i))
        .collect::<Result<_>>()?;
    let channels = *x.shape.get(1).unwrap_or(&1);
    per_channel(
        &params.iter().collect::<Vec<_>>(),
        channels,
        x.dtype,
        "BatchNormalization",
    )?;
    let inner: usize = x.shape.iter().skip(2).product();
    let y = l.alloc(x.dtype, x.shape.clone());
    let n = x.len();
    let mut args = vec![Arg::I64(n as i64), Arg::Ptr(x.buf)];
    args.extend(params.iter().map(|t| Arg::Ptr(t.buf)));
    args.extend([
        Arg::Ptr(y.buf),
        Arg::I64(inner.max(1) as i64),
        Arg::I64(channels as i64),
        Arg::F32(p.epsilon),
    ]);
    l.launch(format!("batch_norm_{suffix}"), n, args);
    Ok(vec![Value::device(y)])
}

pub fn instance_norm(
    l: &mut Lowerer,
    node: &Node,
    p: &ir::InstanceNormalization,
) -> Result<Vec<Value>> {
    let x = l.dev_input(node, 0)?;
    let suffix = float_suffix("InstanceNormalization", x.dtype)?;
    let (scale, bias) = (l.dev_input(node, 1)?, l.dev_input(node, 2)?);
    if x.shape.len() < 3 {
        return Err(Error::Shape(format!(
            "InstanceNormalization expects (N, C, spatial…), got {:?}",
            x.shape
        )));
    }
    let channels = x.shape[1];
    per_channel(&[&scale, &bias], channels, x.dtype, "InstanceNormalization")?;
    let plane: usize = x.shape[2..].iter().product();
    let y = l.alloc(x.dtype, x.shape.clone());
    if plane > 0 {
        let args = vec![
            Arg::Ptr(x.buf),
            Arg::Ptr(scale.buf),
            Arg::Ptr(bias.buf),
            Arg::Ptr(y.buf),
            Arg::I64(plane as i64),
            Arg::I64(channels as i64),
            Arg::F32(p.epsilon),
        ];
        let planes = x.shape[0] * channels;
        l.launch_grid(
            format!("instance_norm_{suffix}"),
            grid(planes)?,
            row_block(plane),
            args,
        );
    }
    Ok(vec![Value::device(y)])
}

pub fn pool(l: &mut Lowerer, node: &Node, p: &ir::Pool) -> Result<Vec<Value>> {
    no_extra_outputs(node, "MaxPool (Indices)")?;
    let x = l.dev_input(node, 0)?;
    let suffix = float_suffix("pooling", x.dtype)?;
    let geo = Window::pool(node.op.name(), p, &x.shape)?;
    let y = l.alloc(x.dtype, geo.output_shape(x.shape[0], x.shape[1]));
    let total = y.len();
    let args = vec![
        Arg::I64(total as i64),
        Arg::Ptr(x.buf),
        Arg::Ptr(y.buf),
        Arg::Window(WindowArg::try_from(&geo)?),
        Arg::I32((p.kind == PoolKind::Max) as i32),
        Arg::I32(p.count_include_pad as i32),
    ];
    l.launch(format!("pool_{suffix}"), total, args);
    Ok(vec![Value::device(y)])
}

pub fn global_pool(l: &mut Lowerer, node: &Node, p: &ir::GlobalPool) -> Result<Vec<Value>> {
    let x = l.dev_input(node, 0)?;
    let suffix = float_suffix("global pooling", x.dtype)?;
    if x.shape.len() < 3 {
        return Err(Error::Shape(format!(
            "global pooling expects X (N, C, spatial…), got {:?}",
            x.shape
        )));
    }
    let mut shape = x.shape[..2].to_vec();
    shape.extend(std::iter::repeat_n(1, x.shape.len() - 2));
    let y = l.alloc(x.dtype, shape);
    let plane: usize = x.shape[2..].iter().product();
    let args = vec![
        Arg::Ptr(x.buf),
        Arg::Ptr(y.buf),
        Arg::I64(plane as i64),
        Arg::I32((p.kind == PoolKind::Max) as i32),
    ];
    l.launch_grid(format!("global_pool_{suffix}"), grid(y.len())?, 256, args);
    Ok(vec![Value::device(y)])
}

pub fn reduce(l: &mut Lowerer, node: &Node, p: &ir::Reduce) -> Result<Vec<Value>> {
    let x = l.dev_input(node, 0)?;
    let rank = x.shape.len();
    let axes = match (&p.axes, l.host_input(node, 1)?) {
        (Some(a), _) => a.clone(),
        (None, Some(t)) => int_values(&t, "Reduce axes")?,
        (None, None) => vec![],
    };
    if axes.is_empty() && p.noop_with_empty_axes {
        return Ok(vec![l.input(node, 0)?.clone()]);
    }
    let axes = if axes.is_empty() {
        (0..rank).collect()
    } else {
        norm_axes(&axes, rank)?
    };
    let strides = strides_of(&x.shape);
    let (mut oshape, mut ks, mut rshape, mut rs, mut out_dims) =
        (vec![], vec![], vec![], vec![], vec![]);
    for (d, (&extent, &stride)) in x.shape.iter().zip(&strides).enumerate() {
        if axes.contains(&d) {
            rshape.push(extent);
            rs.push(stride);
            if p.keepdims {
                out_dims.push(1);
            }
        } else {
            oshape.push(extent);
            ks.push(stride);
            out_dims.push(extent);
        }
    }
    let y = l.alloc(x.dtype, out_dims);
    let (n, r) = (y.len(), rshape.iter().product::<usize>());
    let op = codes::reduce(p.kind);
    let args = vec![
        Arg::I32(op),
        Arg::I64(n as i64),
        Arg::I32(oshape.len() as i32),
        dims(&shape_i64(&oshape))?,
        dims(&ks)?,
        Arg::I32(rshape.len() as i32),
        dims(&shape_i64(&rshape))?,
        dims(&rs)?,
        Arg::I64(r as i64),
        Arg::Ptr(x.buf),
        Arg::Ptr(y.buf),
    ];
    match x.dtype {
        DType::F32 | DType::F16 => {
            let suffix = float_suffix("Reduce", x.dtype)?;
            if n == 0 {
            } else if r >= 64 {
                let blocks = n.clamp(1, 65_536) as u32;
                l.launch_grid(format!("reduce_block_{suffix}"), blocks, 256, args);
            } else {
                l.launch(format!("reduce_thread_{suffix}"), n, args);
            }
        }
        DType::I32 | DType::I64
            if matches!(
                p.kind,
                ir::ReduceKind::Sum
                    | ir::ReduceKind::Mean
                    | ir::ReduceKind::Max
                    | ir::ReduceKind::Min
                    | ir::ReduceKind::Prod
            ) =>
        {
            let suffix = if x.dtype == DType::I32 { "i32" } else { "i64" };
            l.launch(format!("reduce_int_{suffix}"), n, args);
        }
        dt => return Err(super::dtype_error(p.kind.name(), dt)),
    }
    Ok(vec![Value::device(y)])
}
