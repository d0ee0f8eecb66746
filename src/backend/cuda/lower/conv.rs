//! Conv and ConvTranspose on the device. Conv is `W_g (M/g × C/g·k) · im2col(x_g)` on cuBLASLt,
//! batched over images with W shared (batch stride 0); a 1×1 stride-1 unpadded conv skips im2col
//! (the image already is the column matrix); a depthwise conv (one input channel per group) runs a
//! direct kernel with its epilogue fused. The epilogue (bias, residual, activation) of the GEMM
//! paths is one elementwise pass over the output. ConvTranspose is `W_gᵀ · x_g` then col2im.
//! <https://onnx.ai/onnx/operators/onnx__Conv.html>,
//! <https://onnx.ai/onnx/operators/onnx__ConvTranspose.html>

use super::gemm::{activation, epilogue, plain, push, residual, Mat, RowMajor};
use super::{float_suffix, Lowerer, Value};
use crate::backend::cuda::program::{Arg, Buf, DeviceTensor, WindowArg};
use crate::error::{Error, Result};
use crate::ir::geometry::{kernel_shape, ConvChannels, Window};
use crate::ir::{self, Node};

/// Most bytes of im2col columns one GEMM batch uses; larger batches run in chunks of images.
/// 64 MiB holds a 3×3 conv over 64 channels at 56×56 for 32 images in f16.
const COL_BYTES: usize = 64 << 20;

/// X, W and B of a (transposed) convolution, with its channel split and kernel shape.
struct Operands {
    x: DeviceTensor,
    w: DeviceTensor,
    bias: Option<DeviceTensor>,
    ch: ConvChannels,
    kernel: Vec<usize>,
}

/// Checks the operands of `node` (see [`ConvChannels::new`]); `transposed`: a ConvTranspose.
fn operands(l: &mut Lowerer, node: &Node, p: &ir::Conv, transposed: bool) -> Result<Operands> {
    let op = node.op.name();
    let (x, w) = (l.dev_input(node, 0)?, l.dev_input(node, 1)?);
    let bias = l.opt_dev_input(node, 2);
    float_suffix(op, x.dtype)?;
    let ch = ConvChannels::new(op, &x.shape, &w.shape, p.group, transposed)?;
    for (name, t) in [("W", Some(&w)), ("B", bias.as_ref())] {
        if let Some(t) = t.filter(|t| t.dtype != x.dtype) {
            return Err(Error::DType(format!(
                "{op}: X is {} but {name} is {}",
                x.dtype, t.dtype
            )));
        }
    }
    if let Some(b) = &bias {
        ch.check_bias(op, &b.shape)?;
    }
    let kernel = kernel_shape(op, &p.kernel_shape, &w.shape)?;
    Ok(Operands {
        x,
        w,
        bias,
        ch,
        kernel,
    })
}

pub fn conv(l: &mut Lowerer, node: &Node, p: &ir::Conv) -> Result<Vec<Value>> {
    let Operands {
        x,
        w,
        bias,
        ch,
        kernel,
    } = operands(l, node, p, false)?;
    let geo = Window::conv(p, &x.shape, &kernel)?;
    let (c, m) = (ch.in_channels(), ch.out_channels());
    let y = l.alloc(x.dtype, geo.output_shape(ch.batch, m));
    let res = residual(l, node, p.epilogue.residual, &y)?;
    let act = activation(p.epilogue.activation)?;
    let suffix = float_suffix("Conv", y.dtype)?;
    let (in_sp, out_sp, ksz) = (geo.input_size(), geo.output_size(), geo.kernel_size());
    let es = y.dtype.size();
    if y.is_empty() {
        return Ok(vec![Value::device(y)]);
    }
    if ch.cg == 1 && ch.groups > 1 {
        let (code, a, b) = act;
        let args = vec![
            Arg::I64(y.len() as i64),
            Arg::Ptr(x.buf),
            Arg::Ptr(w.buf),
            Arg::Ptr(bias.as_ref().map_or(Buf::Null, |b| b.buf)),
            Arg::Ptr(res.unwrap_or(Buf::Null)),
            Arg::Ptr(y.buf),
            Arg::I32(c as i32),
            Arg::I32(ch.mg as i32),
            Arg::Window(WindowArg::try_from(&geo)?),
            Arg::I32(code),
            Arg::F32(a),
            Arg::F32(b),
        ];
        l.launch(format!("depthwise_{suffix}"), y.len(), args);
        return Ok(vec![Value::device(y)]);
    }
    let k = ch.cg * ksz;
    let gemm = |a: Mat, b: Mat, cbuf: Buf, batch: usize| RowMajor {
        dtype: y.dtype,
        m: ch.mg,
        n: out_sp,
        k,
        a,
        b,
        c: plain(cbuf, out_sp, m * out_sp),
        batch,
        alpha: 1.0,
        beta: 0.0,
    };
    let weights = |g: usize| plain(w.buf.at(g * ch.mg * k * es), k, 0);
    if geo.is_pointwise() {
        for g in 0..ch.groups {
            let x_g = plain(x.buf.at(g * ch.cg * in_sp * es), in_sp, c * in_sp);
            let y_g = y.buf.at(g * ch.mg * out_sp * es);
            push(l, gemm(weights(g), x_g, y_g, ch.batch))?;
        }
    } else {
        let per_image = k * out_sp * es;
        let chunk = (COL_BYTES / per_image.max(1)).clamp(1, ch.batch);
        let col = l.scratch(chunk * per_image);
        let window = WindowArg::try_from(&geo)?;
        for n0 in (0..ch.batch).step_by(chunk) {
            let imgs = chunk.min(ch.batch - n0);
            for g in 0..ch.groups {
                let total = imgs * k * out_sp;
                let args = vec![
                    Arg::I64(total as i64),
                    Arg::Ptr(x.buf.at((n0 * c + g * ch.cg) * in_sp * es)),
                    Arg::Ptr(col),
                    Arg::I64((c * in_sp) as i64),
                    Arg::I32(ch.cg as i32),
                    Arg::Window(window),
                ];
                l.launch_chunks(format!("im2col_{suffix}"), total, args);
                let y_g = y.buf.at((n0 * m + g * ch.mg) * out_sp * es);
                push(
                    l,
                    gemm(weights(g), plain(col, out_sp, k * out_sp), y_g, imgs),
                )?;
            }
        }
    }
    let bias = bias.as_ref().map(|b| b.buf);
    epilogue(l, &y, bias, out_sp, m, res, act)?;
    Ok(vec![Value::device(y)])
}

pub fn conv_transpose(l: &mut Lowerer, node: &Node, p: &ir::ConvTranspose) -> Result<Vec<Value>> {
    let Operands {
        x,
        w,
        bias,
        ch,
        kernel,
    } = operands(l, node, &p.conv, true)?;
    let geo = Window::transposed(p, &x.shape, &kernel)?;
    let (c, m) = (ch.in_channels(), ch.out_channels());
    let y = l.alloc(x.dtype, geo.input_shape(ch.batch, m));
    let res = residual(l, node, p.conv.epilogue.residual, &y)?;
    let act = activation(p.conv.epilogue.activation)?;
    let suffix = float_suffix("ConvTranspose", y.dtype)?;
    if y.is_empty() {
        return Ok(vec![Value::device(y)]);
    }
    // col (mg·KK × P_in) = W_gᵀ · x_g, W_g stored (cg × mg·KK).
    let (p_in, plane, kk) = (geo.output_size(), geo.input_size(), geo.kernel_size());
    let rows = ch.mg * kk;
    let es = y.dtype.size();
    let window = WindowArg::try_from(&geo)?;
    let images = if ch.groups == 1 { ch.batch } else { 1 };
    let col = l.scratch(images * rows * p_in * es);
    let gemm = |w: Buf, x: Buf, batch: usize| RowMajor {
        dtype: y.dtype,
        m: rows,
        n: p_in,
        k: ch.cg,
        a: Mat {
            buf: w,
            ld: rows,
            stride: 0,
            trans: true,
        },
        b: plain(x, p_in, c * p_in),
        c: plain(col, p_in, rows * p_in),
        batch,
        alpha: 1.0,
        beta: 0.0,
    };
    let col2im = |l: &mut Lowerer, y_at: Buf, channels: usize, total: usize| {
        let args = vec![
            Arg::I64(total as i64),
            Arg::Ptr(col),
            Arg::Ptr(y_at),
            Arg::I32(channels as i32),
            Arg::Window(window),
            Arg::I32(0),
        ];
        l.launch(format!("col2im_{suffix}"), total, args);
    };
    if ch.groups == 1 {
        push(l, gemm(w.buf, x.buf, ch.batch))?;
        col2im(l, y.buf, m, y.len());
    } else {
        for n in 0..ch.batch {
            for g in 0..ch.groups {
                let w_g = w.buf.at(g * ch.cg * rows * es);
                let x_g = x.buf.at((n * c + g * ch.cg) * p_in * es);
                push(l, gemm(w_g, x_g, 1))?;
                col2im(
                    l,
                    y.buf.at((n * m + g * ch.mg) * plane * es),
                    ch.mg,
                    ch.mg * plane,
                );
            }
        }
    }
    let bias = bias.as_ref().map(|b| b.buf);
    epilogue(l, &y, bias, plane, m, res, act)?;
    Ok(vec![Value::device(y)])
}
