//! The data movement around convolution GEMMs: `im2col` lays the receptive fields of an image out
//! as the columns of a matrix (so Conv is one GEMM per group), `col2im` scatters such columns back
//! (the adjoint, used by ConvTranspose), and a direct depthwise kernel for groups of one input
//! channel, where a GEMM would have a single row.

use super::real::Real;
use super::window::Window;
use rayon::prelude::*;

/// Below this many elements the column matrix is filled on one thread.
const PAR_MIN: usize = 1 << 15;

/// Fills `col` (`channels · kernel_size` rows of `output_size` columns) with the receptive fields
/// of `x` (`channels` planes of `input_size`); positions in the padding read as zero.
pub fn im2col<T: Real>(x: &[T], channels: usize, w: &Window, col: &mut [T]) {
    let (ksz, out_sp, in_sp) = (w.kernel_size(), w.output_size(), w.input_size());
    let row = |(r, dst): (usize, &mut [T])| {
        let (c, k) = (r / ksz, r % ksz);
        let (ka, kb, ke) = (
            k / (w.kernel[1] * w.kernel[2]),
            (k / w.kernel[2]) % w.kernel[1],
            k % w.kernel[2],
        );
        im2col_row(&x[c * in_sp..(c + 1) * in_sp], w, [ka, kb, ke], dst);
    };
    let col = &mut col[..channels * ksz * out_sp];
    if col.len() >= PAR_MIN {
        col.par_chunks_mut(out_sp.max(1)).enumerate().for_each(row);
    } else {
        col.chunks_mut(out_sp.max(1)).enumerate().for_each(row);
    }
}

/// One row of the column matrix: plane `x` read at kernel offset `k` for every output position.
fn im2col_row<T: Real>(x: &[T], w: &Window, k: [usize; 3], dst: &mut [T]) {
    let [oh_n, ow_n] = [w.output[1], w.output[2]];
    let [ih_n, iw_n] = [w.input[1], w.input[2]];
    let (lo, hi) = w.valid_outputs(2, k[2]);
    let sw = w.stride[2];
    for od in 0..w.output[0] {
        let id = w.source(0, od, k[0]);
        for oh in 0..oh_n {
            let ih = w.source(1, oh, k[1]);
            let out = &mut dst[(od * oh_n + oh) * ow_n..][..ow_n];
            if id < 0 || id >= w.input[0] as isize || ih < 0 || ih >= ih_n as isize {
                out.fill(T::ZERO);
                continue;
            }
            out[..lo].fill(T::ZERO);
            out[hi..].fill(T::ZERO);
            if lo < hi {
                let base = (id as usize * ih_n + ih as usize) * iw_n;
                // Source column of output `lo`; non-negative by construction of `lo`.
                let first = w.source(2, lo, k[2]) as usize;
                let src = &x[base + first..];
                if sw == 1 {
                    out[lo..hi].copy_from_slice(&src[..hi - lo]);
                } else {
                    for (j, o) in out[lo..hi].iter_mut().enumerate() {
                        *o = src[j * sw];
                    }
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
    let [oh_n, ow_n] = [w.output[1], w.output[2]];
    let [ih_n, iw_n] = [w.input[1], w.input[2]];
    let sw = w.stride[2];
    for k in 0..w.kernel_size() {
        let (ka, kb, ke) = (
            k / (w.kernel[1] * w.kernel[2]),
            (k / w.kernel[2]) % w.kernel[1],
            k % w.kernel[2],
        );
        let tap = f[k];
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
                let src = &x[(id as usize * ih_n + ih as usize) * iw_n + first..];
                let dst = &mut out[(od * oh_n + oh) * ow_n..][lo..hi];
                if sw == 1 {
                    dst.iter_mut().zip(src).for_each(|(o, &v)| *o += tap * v);
                } else {
                    dst.iter_mut()
                        .enumerate()
                        .for_each(|(j, o)| *o += tap * src[j * sw]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::window::Attrs;
    use super::*;
    use crate::ir::AutoPad;

    #[test]
    fn im2col_pads_with_zeros_and_col2im_is_its_adjoint() {
        // A 1x3 image, kernel 2, pad 1 on both sides: 4 outputs.
        let a = Attrs {
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
