//! Sliding-window geometry shared by Conv, ConvTranspose and the pooling ops: kernel, strides,
//! dilations, pads (explicit or `auto_pad`) and the output extents they give.
//!
//! Kernels handle one, two or three spatial dimensions; the geometry is always padded to three
//! (leading dimensions of size 1 with kernel 1) so that each kernel has a single loop nest.
//! <https://onnx.ai/onnx/operators/onnx__Conv.html>, <https://onnx.ai/onnx/operators/onnx__MaxPool.html>

use super::unsupported;
use crate::error::{Error, Result};
use crate::ir::AutoPad;

/// Geometry over exactly three spatial dimensions (`[d, h, w]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub input: [usize; 3],
    pub output: [usize; 3],
    pub kernel: [usize; 3],
    pub stride: [usize; 3],
    pub dilation: [usize; 3],
    /// Padding before each dimension; negative only for ConvTranspose with a large `output_shape`.
    pub pad: [isize; 3],
    /// Padding after each dimension (pooling's `count_include_pad` counts up to here).
    pub pad_end: [isize; 3],
}

/// The window attributes as the op structs hold them (empty = default).
pub struct Attrs<'a> {
    pub auto_pad: crate::ir::AutoPad,
    pub kernel: &'a [usize],
    pub strides: &'a [usize],
    pub dilations: &'a [usize],
    pub pads: &'a [usize],
    pub ceil_mode: bool,
}

/// `attr` if it has one value per spatial dimension, `default` repeated if it is empty.
pub fn per_dim(name: &str, attr: &[usize], n: usize, default: usize) -> Result<Vec<usize>> {
    if attr.is_empty() {
        return Ok(vec![default; n]);
    }
    if attr.len() != n {
        return Err(Error::Shape(format!(
            "{name} has {} values for {n} spatial dimensions",
            attr.len()
        )));
    }
    Ok(attr.to_vec())
}

/// Pads `v` (one value per spatial dim) on the left to three values.
pub fn to3<T: Copy>(v: &[T], fill: T) -> [T; 3] {
    let mut out = [fill; 3];
    out[3 - v.len()..].copy_from_slice(v);
    out
}

/// Checks the spatial rank a kernel can handle.
pub fn check_spatial_rank(op: &str, n: usize) -> Result<()> {
    if n == 0 || n > 3 {
        return Err(unsupported(format!(
            "{op} with {n} spatial dimensions (1 to 3 are handled)"
        )));
    }
    Ok(())
}

impl Window {
    /// The forward geometry (Conv and pooling) for an input of spatial shape `input`.
    pub fn forward(op: &str, input: &[usize], a: &Attrs) -> Result<Window> {
        let n = input.len();
        check_spatial_rank(op, n)?;
        if a.kernel.len() != n {
            return Err(Error::Shape(format!(
                "{op}: kernel_shape {:?} for {n} spatial dimensions",
                a.kernel
            )));
        }
        let strides = per_dim("strides", a.strides, n, 1)?;
        let dilations = per_dim("dilations", a.dilations, n, 1)?;
        let pads = if a.pads.is_empty() {
            vec![0; 2 * n]
        } else {
            a.pads.to_vec()
        };
        if pads.len() != 2 * n {
            return Err(Error::Shape(format!(
                "{op}: pads has {} values for {n} spatial dimensions",
                pads.len()
            )));
        }
        if strides.contains(&0) || dilations.contains(&0) || a.kernel.contains(&0) {
            return Err(Error::Shape(format!(
                "{op}: strides, dilations and kernel_shape must be positive"
            )));
        }
        let (mut output, mut pad, mut pad_end) = (vec![0; n], vec![0isize; n], vec![0isize; n]);
        for i in 0..n {
            let (len, s) = (input[i], strides[i]);
            let span = (a.kernel[i] - 1) * dilations[i] + 1;
            match a.auto_pad {
                AutoPad::SameUpper | AutoPad::SameLower => {
                    output[i] = len.div_ceil(s);
                    let total = ((output[i].max(1) - 1) * s + span).saturating_sub(len);
                    let small = total / 2;
                    let (b, e) = if a.auto_pad == AutoPad::SameUpper {
                        (small, total - small)
                    } else {
                        (total - small, small)
                    };
                    (pad[i], pad_end[i]) = (b as isize, e as isize);
                }
                AutoPad::Valid => output[i] = if len >= span { (len - span) / s + 1 } else { 0 },
                AutoPad::NotSet => {
                    let (b, e) = (pads[i], pads[n + i]);
                    let avail = len + b + e;
                    output[i] = if avail < span {
                        0
                    } else if a.ceil_mode {
                        let mut o = (avail - span).div_ceil(s) + 1;
                        // The last window must start inside the input or its leading padding.
                        if (o - 1) * s >= len + b {
                            o -= 1;
                        }
                        o
                    } else {
                        (avail - span) / s + 1
                    };
                    (pad[i], pad_end[i]) = (b as isize, e as isize);
                }
            }
        }
        Ok(Window {
            input: to3(input, 1),
            output: to3(&output, 1),
            kernel: to3(a.kernel, 1),
            stride: to3(&strides, 1),
            dilation: to3(&dilations, 1),
            pad: to3(&pad, 0),
            pad_end: to3(&pad_end, 0),
        })
    }

    pub fn input_size(&self) -> usize {
        self.input.iter().product()
    }

    pub fn output_size(&self) -> usize {
        self.output.iter().product()
    }

    pub fn kernel_size(&self) -> usize {
        self.kernel.iter().product()
    }

    /// Input coordinate along `dim` read by output position `o` at kernel offset `k` (may be
    /// outside `0..input[dim]`).
    #[inline]
    pub fn source(&self, dim: usize, o: usize, k: usize) -> isize {
        (o * self.stride[dim] + k * self.dilation[dim]) as isize - self.pad[dim]
    }

    /// The output positions `lo..hi` along `dim` whose source at kernel offset `k` lies inside
    /// the input.
    pub fn valid_outputs(&self, dim: usize, k: usize) -> (usize, usize) {
        let (s, len) = (self.stride[dim] as isize, self.input[dim] as isize);
        let off = (k * self.dilation[dim]) as isize - self.pad[dim];
        // o·s + off >= 0  and  o·s + off < len
        let lo = if off >= 0 { 0 } else { (-off + s - 1) / s };
        let hi = if len - off <= 0 {
            0
        } else {
            (len - off + s - 1) / s
        };
        let out = self.output[dim] as isize;
        (
            lo.min(out) as usize,
            hi.clamp(0, out).max(lo.min(out)) as usize,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs<'a>(
        auto_pad: AutoPad,
        kernel: &'a [usize],
        strides: &'a [usize],
        pads: &'a [usize],
        ceil_mode: bool,
    ) -> Attrs<'a> {
        Attrs {
            auto_pad,
            kernel,
            strides,
            dilations: &[],
            pads,
            ceil_mode,
        }
    }

    #[test]
    fn output_extents() {
        // 5 wide, kernel 3, stride 2, pad 1: (5 + 2 - 3) / 2 + 1 = 3.
        let w = Window::forward(
            "Conv",
            &[5],
            &attrs(AutoPad::NotSet, &[3], &[2], &[1, 1], false),
        )
        .unwrap();
        assert_eq!(w.output, [1, 1, 3]);
        // SAME_LOWER puts the odd pad first.
        let w = Window::forward(
            "Conv",
            &[4],
            &attrs(AutoPad::SameLower, &[2], &[1], &[], false),
        )
        .unwrap();
        assert_eq!((w.output[2], w.pad[2], w.pad_end[2]), (4, 1, 0));
        // ceil_mode: (4 - 3) / 2 rounds up to 1, so 2 outputs.
        let w = Window::forward(
            "MaxPool",
            &[4],
            &attrs(AutoPad::NotSet, &[3], &[2], &[], true),
        )
        .unwrap();
        assert_eq!(w.output[2], 2);
        assert_eq!(w.valid_outputs(2, 2), (0, 1));
    }
}
