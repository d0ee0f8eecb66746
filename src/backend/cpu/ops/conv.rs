//! Conv and ConvTranspose (1-D to 3-D, grouped, dilated, strided, padded).
//! <https://onnx.ai/onnx/operators/onnx__Conv.html>,
//! <https://onnx.ai/onnx/operators/onnx__ConvTranspose.html>
//!
//! Conv is one GEMM per (image, group): `W_g (M/g × C/g·k) · im2col(x_g) (C/g·k × out)`, with the
//! bias pre-filled into the output and accumulated onto. A 1×1 stride-1 unpadded conv skips
//! im2col (the image already is the column matrix); depthwise groups (one input channel each) run
//! a direct kernel instead. ConvTranspose is the adjoint: `W_gᵀ · x_g` then col2im.

use super::arith::Real as ArithReal;
use super::conv_packed::{conv_f32, ConvWeights};
use super::epilogue::{finish, residual_input};
use super::gemm::MatRef;
use super::im2col::{col2im, depthwise_plane, im2col};
use super::real::{compute_type, float_only, real_tensor, real_vec, Real};
use super::{check_spatial_rank, input, opt_input};
use crate::backend::cpu::buffers;
use crate::error::{Error, Result};
use crate::ir::geometry::{kernel_shape, ConvChannels, Window};
use crate::ir::*;
use crate::tensor::{check_alloc, DType, Tensor};
use rayon::prelude::*;

/// Checks X, W and B against each other (see [`ConvChannels::new`]). `w_in_first`: W is
/// `(C, M/g, k…)` (ConvTranspose) rather than `(M, C/g, k…)`.
fn check_operands(
    op: &str,
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    group: usize,
    w_in_first: bool,
) -> Result<ConvChannels> {
    let ch = ConvChannels::new(op, x.shape(), w.shape(), group, w_in_first)?;
    check_spatial_rank(op, x.rank() - 2)?;
    if w.dtype() != x.dtype() {
        return Err(Error::DType(format!(
            "{op}: X is {} but W is {}",
            x.dtype(),
            w.dtype()
        )));
    }
    if let Some(b) = b {
        ch.check_bias(op, b.shape())?;
    }
    Ok(ch)
}

/// Conv with optional bias.
pub fn conv(
    p: &Conv,
    inputs: &[Option<&Tensor>],
    packed: Option<&ConvWeights>,
) -> Result<Vec<Tensor>> {
    let (x, w, b) = (input(inputs, 0)?, input(inputs, 1)?, opt_input(inputs, 2));
    let ch = check_operands("Conv", x, w, b, p.group, false)?;
    let kernel = kernel_shape("Conv", &p.kernel_shape, w.shape())?;
    let win = Window::conv(p, x.shape(), &kernel)?;
    let shape = win.output_shape(ch.batch, ch.out_channels());
    check_alloc(&shape, x.dtype())?;
    let res = residual_input(&p.epilogue, inputs, 3, &shape)?;
    let y = match compute_type(x.dtype()) {
        Some(DType::F64) => {
            let y = conv_t::<f64>(x, w, b, &win, &ch, &p.epilogue, res)?;
            real_tensor(shape, y, x.dtype())?
        }
        Some(_) if ch.cg == 1 && ch.groups > 1 => {
            let y = conv_t::<f32>(x, w, b, &win, &ch, &p.epilogue, res)?;
            real_tensor(shape, y, x.dtype())?
        }
        Some(_) => {
            let y = conv_f32(x, w, b, &win, &ch, &p.epilogue, res, packed)?;
            real_tensor(shape, y, x.dtype())?
        }
        None => return Err(float_only("Conv", x.dtype())),
    };
    Ok(vec![y])
}

/// Output planes pre-filled with the bias (or zeros).
fn biased_output<T: Real>(
    b: Option<&Tensor>,
    planes: usize,
    channels: usize,
    plane: usize,
) -> Vec<T> {
    let mut y = buffers::zeroed::<T>(planes * plane);
    if let (Some(b), true) = (b, plane > 0) {
        let bv = real_vec::<T>(b);
        y.chunks_mut(plane)
            .enumerate()
            .for_each(|(i, p)| p.fill(bv[i % channels]));
    }
    y
}

/// The convolution, with the fused epilogue applied to each (image, group) block while it is still
/// in cache.
fn conv_t<T: Real + ArithReal>(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    win: &Window,
    ch: &ConvChannels,
    ep: &Epilogue,
    residual: Option<&Tensor>,
) -> Result<Vec<T>> {
    let (xv, wv) = (real_vec::<T>(x), real_vec::<T>(w));
    let rv = residual.map(real_vec::<T>);
    let res = |off: usize, len: usize| rv.as_deref().map(|r| &r[off..off + len]);
    let ConvChannels {
        batch,
        cg,
        mg,
        groups,
    } = *ch;
    let (in_sp, out_sp, ksz) = (win.input_size(), win.output_size(), win.kernel_size());
    let (c, m) = (cg * groups, mg * groups);
    let mut y = biased_output::<T>(b, batch * m, m, out_sp);
    if out_sp == 0 || y.is_empty() {
        return Ok(y);
    }
    if cg == 1 && groups > 1 {
        // Depthwise: each output plane reads one input plane.
        y.par_chunks_mut(out_sp)
            .enumerate()
            .try_for_each(|(i, out)| {
                let (ni, mi) = (i / m, i % m);
                let ci = mi / mg;
                depthwise_plane(
                    &xv[(ni * c + ci) * in_sp..][..in_sp],
                    &wv[mi * ksz..][..ksz],
                    win,
                    out,
                );
                finish(ep, out, res(i * out_sp, out_sp))
            })?;
        return Ok(y);
    }
    let pointwise = win.is_pointwise();
    let mut col = if pointwise {
        Vec::new()
    } else {
        check_alloc(&[cg * ksz, out_sp], T::DTYPE)?;
        // im2col writes every element.
        buffers::take::<T>(cg * ksz * out_sp)
    };
    for ni in 0..batch {
        for gi in 0..groups {
            let xg = &xv[(ni * c + gi * cg) * in_sp..][..cg * in_sp];
            let cols = if pointwise {
                MatRef::row_major(xg, cg, in_sp, false)
            } else {
                im2col(xg, cg, win, &mut col);
                MatRef::row_major(&col, cg * ksz, out_sp, false)
            };
            let wg = MatRef::row_major(
                &wv[gi * mg * cg * ksz..][..mg * cg * ksz],
                mg,
                cg * ksz,
                false,
            );
            let off = (ni * m + gi * mg) * out_sp;
            let yg = &mut y[off..][..mg * out_sp];
            T::gemm(wg, cols, yg, out_sp, T::ONE, b.is_some())?;
            finish(ep, yg, res(off, mg * out_sp))?;
        }
    }
    Ok(y)
}

/// ConvTranspose: output extents from `pads`, or from `output_shape` / `auto_pad` (pads derived).
pub fn conv_transpose(p: &ConvTranspose, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let (x, w, b) = (input(inputs, 0)?, input(inputs, 1)?, opt_input(inputs, 2));
    let ch = check_operands("ConvTranspose", x, w, b, p.conv.group, true)?;
    let kernel = kernel_shape("ConvTranspose", &p.conv.kernel_shape, w.shape())?;
    let win = Window::transposed(p, x.shape(), &kernel)?;
    let shape = win.input_shape(ch.batch, ch.out_channels());
    check_alloc(&shape, x.dtype())?;
    let y = match compute_type(x.dtype()) {
        Some(DType::F64) => real_tensor(
            shape,
            conv_transpose_t::<f64>(x, w, b, &win, &ch)?,
            x.dtype(),
        )?,
        Some(_) => real_tensor(
            shape,
            conv_transpose_t::<f32>(x, w, b, &win, &ch)?,
            x.dtype(),
        )?,
        None => return Err(float_only("ConvTranspose", x.dtype())),
    };
    Ok(vec![y])
}

fn conv_transpose_t<T: Real>(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    win: &Window,
    ch: &ConvChannels,
) -> Result<Vec<T>> {
    let (xv, wv) = (real_vec::<T>(x), real_vec::<T>(w));
    let ConvChannels {
        batch,
        cg,
        mg,
        groups,
    } = *ch;
    // Here `win.output` is the ConvTranspose input and `win.input` its output.
    let (in_sp, out_sp, ksz) = (win.output_size(), win.input_size(), win.kernel_size());
    let (c, m) = (cg * groups, mg * groups);
    let mut y = biased_output::<T>(b, batch * m, m, out_sp);
    if out_sp == 0 || y.is_empty() {
        return Ok(y);
    }
    check_alloc(&[mg * ksz, in_sp], T::DTYPE)?;
    let mut col = vec![T::ZERO; mg * ksz * in_sp];
    for ni in 0..batch {
        for gi in 0..groups {
            let xg = MatRef::row_major(
                &xv[(ni * c + gi * cg) * in_sp..][..cg * in_sp],
                cg,
                in_sp,
                false,
            );
            // W_g is (C/g, M/g·k) row-major; its transpose maps input channels to columns.
            let wg = MatRef::row_major(
                &wv[gi * cg * mg * ksz..][..cg * mg * ksz],
                cg,
                mg * ksz,
                true,
            );
            T::gemm(wg, xg, &mut col, in_sp, T::ONE, false)?;
            let yg = &mut y[(ni * m + gi * mg) * out_sp..][..mg * out_sp];
            yg.par_chunks_mut(out_sp)
                .enumerate()
                .for_each(|(mi, plane)| {
                    col2im(&col[mi * ksz * in_sp..][..ksz * in_sp], win, plane);
                });
        }
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], v: Vec<f32>) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v).unwrap()
    }

    fn conv_attrs(pads: Vec<usize>, group: usize) -> Conv {
        Conv {
            auto_pad: AutoPad::NotSet,
            dilations: vec![],
            group,
            kernel_shape: vec![],
            pads,
            strides: vec![],
            epilogue: Default::default(),
        }
    }

    #[test]
    fn conv_1d_with_padding_and_bias() {
        let x = t(&[1, 1, 3], vec![1.0, 2.0, 3.0]);
        let w = t(&[2, 1, 3], vec![1.0, 1.0, 1.0, 0.0, 1.0, 0.0]);
        let b = t(&[2], vec![0.0, 10.0]);
        let y = conv(
            &conv_attrs(vec![1, 1], 1),
            &[Some(&x), Some(&w), Some(&b)],
            None,
        )
        .unwrap()
        .remove(0);
        assert_eq!(y.shape(), &[1, 2, 3]);
        assert_eq!(
            y.as_slice::<f32>().unwrap(),
            &[3.0, 6.0, 5.0, 11.0, 12.0, 13.0]
        );
    }

    #[test]
    fn depthwise_matches_per_channel_conv() {
        let x = t(&[1, 2, 2], vec![1.0, 2.0, 3.0, 4.0]);
        let w = t(&[2, 1, 2], vec![1.0, 1.0, 2.0, -1.0]);
        let y = conv(&conv_attrs(vec![], 2), &[Some(&x), Some(&w)], None)
            .unwrap()
            .remove(0);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[3.0, 2.0]);
    }

    #[test]
    fn conv_transpose_stride_2() {
        // x = [1, 2], kernel [1, 1], stride 2: [1, 1, 2, 2].
        let x = t(&[1, 1, 2], vec![1.0, 2.0]);
        let w = t(&[1, 1, 2], vec![1.0, 1.0]);
        let mut c = conv_attrs(vec![], 1);
        c.strides = vec![2];
        let p = ConvTranspose {
            conv: c,
            output_padding: vec![],
            output_shape: vec![],
        };
        let y = conv_transpose(&p, &[Some(&x), Some(&w)]).unwrap().remove(0);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[1.0, 1.0, 2.0, 2.0]);
    }
}
