//! The data movement around convolution GEMMs: `im2col` lays the receptive fields of an image out
//! as the columns of a matrix (so Conv is one GEMM per group), `col2im` scatters such columns back
//! (the adjoint, used by ConvTranspose), and a direct depthwise kernel for groups of one input
//! channel, where a GEMM would have a single row.

use super::real::Real;
use crate::ir::geometry::Window;
use rayon::prelude::*;

/// Below this many elements the column matrix is filled on one thread.
const PAR_MIN: usize = 1 << 15;

/// Fills `col` (`channels · kernel_size` rows of `output_size` columns) with the receptive fields
/// of `x` (`channels` planes of `input_size`); positions in the padding read as zero.
pub fn im2col<T: Real>(x: &[T], channels: usize, w: &Window, col: &mut [T]) {
    let (out_sp, in_sp) = (w.output_size(), w.input_size());
    let row = |(r, dst): (usize, &mut [T])| im2col_span(x, in_sp, w, r, 0, dst);
    let col = &mut col[..channels * w.kernel_size() * out_sp];
    if col.len() >= PAR_MIN {
        col.par_chunks_mut(out_sp.max(1)).enumerate().for_each(row);
    } else {
        col.chunks_mut(out_sp.max(1)).enumerate().for_each(row);
    }
}

/// Columns `n0 .. n0 + dst.len()` of row `r` of the column matrix of `x` (planes of `in_sp`):
/// row `r` is input channel `r / kernel_size` read at kernel offset `r % kernel_size`, column `n`
/// is output position `n`. What [`im2col`] writes row by row, and what a convolution packs
/// straight into GEMM panels without materializing the matrix.
pub fn im2col_span<T: Real>(x: &[T], in_sp: usize, w: &Window, r: usize, n0: usize, dst: &mut [T]) {
    let ksz = w.kernel_size();
    let (c, k) = (r / ksz, r % ksz);
    let k = [
        k / (w.kernel[1] * w.kernel[2]),
        (k / w.kernel[2]) % w.kernel[1],
        k % w.kernel[2],
    ];
    let x = &x[c * in_sp..(c + 1) * in_sp];
    let [oh_n, ow_n] = [w.output[1], w.output[2]];
    let [ih_n, iw_n] = [w.input[1], w.input[2]];
    let (lo, hi) = w.valid_outputs(2, k[2]);
    let sw = w.stride[2];
    let mut done = 0;
    while done < dst.len() {
        // The output row holding position n0 + done, and the part of it this span covers.
        let pos = n0 + done;
        let (row, ow0) = (pos / ow_n, pos % ow_n);
        let ow1 = ow_n.min(ow0 + dst.len() - done);
        let out = &mut dst[done..done + (ow1 - ow0)];
        done += ow1 - ow0;
        let (od, oh) = (row / oh_n, row % oh_n);
        let id = w.source(0, od, k[0]);
        let ih = w.source(1, oh, k[1]);
        if id < 0 || id >= w.input[0] as isize || ih < 0 || ih >= ih_n as isize {
            out.fill(T::ZERO);
            continue;
        }
        // Valid outputs of this row within the span, relative to ow0.
        let (a, b) = (lo.clamp(ow0, ow1) - ow0, hi.clamp(ow0, ow1) - ow0);
        out[..a].fill(T::ZERO);
        out[b.max(a)..].fill(T::ZERO);
        if a < b {
            let base = (id as usize * ih_n + ih as usize) * iw_n;
            // Source column of output ow0 + a; non-negative as it is a valid output.
            let first = w.source(2, ow0 + a, k[2]) as usize;
            let src = &x[base + first..];
            if sw == 1 {
                out[a..b].copy_from_slice(&src[..b - a]);
            } else {
                for (j, o) in out[a..b].iter_mut().enumerate() {
                    *o = src[j * sw];
                }
            }
        }
    }
}

/// Adds the columns of `col` (`kernel_size` rows of `w.output_size()` columns, one output
/// channel) into `plane` (`w.input_size()`): the adjoint of [`im2col`] for one channel.
pub fn col2im<T: Real>(col: &[T], w: &Window, plane: &mut [T]) {
    let out_sp = w.output_size();
    let [oh_n, ow_n] = [w.output[1], w.output[2]];
    let [ih_n, iw_n] = [w.input[1], w.input[2]];
    for k in 0..w.kernel_size() {
        let (ka, kb, ke) = (
            k / (w.kernel[1] * w.kernel[2]),
            (k / w.kernel[2]) % w.kernel[1],
            k % w.kernel[2],
        );
        let src = &col[k * out_sp..(k + 1) * out_sp];
        let (lo, hi) = w.valid_outputs(2, ke);
        if lo >= hi {
            continue;
        }
        let first = w.source(2, lo, ke) as usize;
        for od in 0..w.output[0] {
            let id = w.source(0, od, ka);
            if id < 0 || id >= w.input[0] as isize {
                continue;
            }
            for oh in 0..oh_n {
                let ih = w.source(1, oh, kb);
                if ih < 0 || ih >= ih_n as isize {
                    continue;
                }
                let row = &src[(od * oh_n + oh) * ow_n..][lo..hi];
                let dst = &mut plane[(id as usize * ih_n + ih as usize) * iw_n + first..];
                for (j, &v) in row.iter().enumerate() {
                    dst[j * w.stride[2]] += v;
                }
            }
        }
    }
}

/// Direct convolution of one input plane `x` with one filter `f` (`kernel_size` taps), added
/// into `out` (`output_size`). Used for depthwise convolution.
pub fn depthwise_plane<T: Real>(x: &[T], f: &[T], w: &Window, out: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, checked just above.
            return unsafe { depthwise_plane_avx512(x, f, w, out) };
        }
    }
    depthwise_plane_body(x, f, w, out)
}

/// [`depthwise_plane_body`] compiled for AVX-512 (the crate's baseline target has only SSE2, and
/// this loop is what depthwise-heavy networks spend their time in).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn depthwise_plane_avx512<T: Real>(x: &[T], f: &[T], w: &Window, out: &mut [T]) {
    depthwise_plane_body(x, f, w, out)
}

/// Output row by output row (the row stays in L1 while every tap adds into it).
#[inline(always)]
fn depthwise_plane_body<T: Real>(x: &[T], f: &[T], w: &Window, out: &mut [T]) {
    let [oh_n, ow_n] = [w.output[1], w.output[2]];
    let [ih_n, iw_n] = [w.input[1], w.input[2]];
    let sw = w.stride[2];
    let [ka_n, kb_n, ke_n] = w.kernel;
    // Valid output columns and first source column of each horizontal tap.
    let cols: Vec<(usize, usize, usize)> = (0..ke_n)
        .map(|e| {
            let (lo, hi) = w.valid_outputs(2, e);
            let first = if lo < hi {
                w.source(2, lo, e) as usize
            } else {
                0
            };
            (lo, hi, first)
        })
        .collect();
    for od in 0..w.output[0] {
        for oh in 0..oh_n {
            let dst = &mut out[(od * oh_n + oh) * ow_n..][..ow_n];
            for a in 0..ka_n {
                let id = w.source(0, od, a);
                if id < 0 || id >= w.input[0] as isize {
                    continue;
                }
                for b in 0..kb_n {
                    let ih = w.source(1, oh, b);
                    if ih < 0 || ih >= ih_n as isize {
                        continue;
                    }
                    let row = &x[(id as usize * ih_n + ih as usize) * iw_n..][..iw_n];
                    for (e, &(lo, hi, first)) in cols.iter().enumerate() {
                        if lo >= hi {
                            continue;
                        }
                        let tap = f[(a * kb_n + b) * ke_n + e];
                        let d = &mut dst[lo..hi];
                        if sw == 1 {
                            d.iter_mut()
                                .zip(&row[first..])
                                .for_each(|(o, &v)| *o += tap * v);
                        } else {
                            d.iter_mut()
                                .zip(row[first..].iter().step_by(sw))
                                .for_each(|(o, &v)| *o += tap * v);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::geometry::WindowAttrs;
    use crate::ir::AutoPad;

    #[test]
    fn im2col_pads_with_zeros_and_col2im_is_its_adjoint() {
        // A 1x3 image, kernel 2, pad 1 on both sides: 4 outputs.
        let a = WindowAttrs {
            auto_pad: AutoPad::NotSet,
            kernel: &[2],
            strides: &[],
            dilations: &[],
            pads: &[1, 1],
            ceil_mode: false,
        };
        let w = Window::forward("Conv", &[3], &a).unwrap();
        let x = [1.0f32, 2.0, 3.0];
        let mut col = [9.0f32; 8];
        im2col(&x, 1, &w, &mut col);
        assert_eq!(col, [0.0, 1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 0.0]);
        let mut back = [0.0f32; 3];
        col2im(&col, &w, &mut back);
        assert_eq!(back, [2.0, 4.0, 6.0]);
        let mut out = [0.0f32; 4];
        depthwise_plane(&x, &[1.0, 10.0], &w, &mut out);
        assert_eq!(out, [10.0, 21.0, 32.0, 3.0]);
    }
}
