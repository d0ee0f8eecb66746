//! The sliding window of Conv, ConvTranspose and the pooling ops: kernel, strides, dilations, pads
//! (explicit or from `auto_pad`, with pooling's `ceil_mode`) and the output extents they give.
//!
//! Kernels handle one, two or three spatial dimensions; the geometry is always padded to three
//! (leading dimensions of size 1 with kernel 1) so that each kernel has a single loop nest.
//! <https://onnx.ai/onnx/operators/onnx__Conv.html>,
//! <https://onnx.ai/onnx/operators/onnx__ConvTranspose.html>,
//! <https://onnx.ai/onnx/operators/onnx__MaxPool.html>

use crate::error::{Error, Result};
use crate::ir::{AutoPad, Conv, ConvTranspose, Pool};

/// Most spatial dimensions a [`Window`] holds.
pub const MAX_SPATIAL_RANK: usize = 3;

/// Geometry over exactly three spatial dimensions (`[d, h, w]`); the leading `3 - rank` have
/// extent 1, kernel 1 and no padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// How many spatial dimensions the operand really has (1 to 3).
    pub rank: usize,
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

/// The window attributes as the op structs hold them (empty = the default).
pub struct WindowAttrs<'a> {
    pub auto_pad: AutoPad,
    pub kernel: &'a [usize],
    pub strides: &'a [usize],
    pub dilations: &'a [usize],
    pub pads: &'a [usize],
    pub ceil_mode: bool,
}

/// `attr` if it has one value per spatial dimension, `default` repeated if it is empty.
fn per_dim(name: &str, attr: &[usize], n: usize, default: usize) -> Result<Vec<usize>> {
    match attr.len() {
        0 => Ok(vec![default; n]),
        l if l == n => Ok(attr.to_vec()),
        l => Err(Error::Shape(format!(
            "{name} has {l} values for {n} spatial dimensions"
        ))),
    }
}

/// Pads `v` (one value per spatial dim) on the left to three values.
fn to3<T: Copy>(v: &[T], fill: T) -> [T; 3] {
    let mut out = [fill; 3];
    out[3 - v.len()..].copy_from_slice(v);
    out
}

fn check_spatial_rank(op: &str, n: usize) -> Result<()> {
    if n == 0 || n > MAX_SPATIAL_RANK {
        return Err(Error::Shape(format!(
            "{op} with {n} spatial dimensions (the kernels handle 1 to {MAX_SPATIAL_RANK})"
        )));
    }
    Ok(())
}

/// The spatial dims of X `(N, C, spatial…)`; empty when X has none.
fn spatial(x: &[usize]) -> &[usize] {
    x.get(2..).unwrap_or_default()
}

impl Window {
    /// The forward geometry (Conv and pooling) for an input of spatial shape `input`.
    pub fn forward(op: &str, input: &[usize], a: &WindowAttrs) -> Result<Window> {
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
            rank: n,
            input: to3(input, 1),
            output: to3(&output, 1),
            kernel: to3(a.kernel, 1),
            stride: to3(&strides, 1),
            dilation: to3(&dilations, 1),
            pad: to3(&pad, 0),
            pad_end: to3(&pad_end, 0),
        })
    }

    /// The geometry of Conv `p` over X `(N, C, spatial…)` with the kernel's spatial shape `kernel`
    /// (see [`super::kernel_shape`]).
    pub fn conv(p: &Conv, x: &[usize], kernel: &[usize]) -> Result<Window> {
        let attrs = WindowAttrs {
            auto_pad: p.auto_pad,
            kernel,
            strides: &p.strides,
            dilations: &p.dilations,
            pads: &p.pads,
            ceil_mode: false,
        };
        Window::forward("Conv", spatial(x), &attrs)
    }

    /// The geometry of MaxPool, AveragePool or LpPool `p` (named `op` in errors) over X
    /// `(N, C, spatial…)`.
    pub fn pool(op: &str, p: &Pool, x: &[usize]) -> Result<Window> {
        if x.len() < 3 {
            return Err(Error::Shape(format!(
                "pooling expects X (N, C, spatial…), got {x:?}"
            )));
        }
        let attrs = WindowAttrs {
            auto_pad: p.auto_pad,
            kernel: &p.kernel_shape,
            strides: &p.strides,
            dilations: &p.dilations,
            pads: &p.pads,
            ceil_mode: p.ceil_mode,
        };
        Window::forward(op, spatial(x), &attrs)
    }

    /// The forward conv whose adjoint the ConvTranspose `p` over X `(N, C, spatial…)` is: its
    /// `input` is the ConvTranspose output, its `output` the ConvTranspose input. Output extents
    /// come from `pads`, or from `output_shape` / `auto_pad` (pads derived).
    pub fn transposed(p: &ConvTranspose, x: &[usize], kernel: &[usize]) -> Result<Window> {
        let input = spatial(x);
        let n = input.len();
        check_spatial_rank("ConvTranspose", n)?;
        let c = &p.conv;
        let strides = per_dim("strides", &c.strides, n, 1)?;
        let dilations = per_dim("dilations", &c.dilations, n, 1)?;
        let out_pad = per_dim("output_padding", &p.output_padding, n, 0)?;
        if strides.contains(&0) || dilations.contains(&0) {
            return Err(Error::Shape(
                "ConvTranspose: strides and dilations must be positive".into(),
            ));
        }
        // Some exporters write output_shape with the batch and channel dims in front.
        let out_shape = match p.output_shape.len() {
            0 => None,
            l if l == n => Some(p.output_shape.clone()),
            l if l == n + 2 => Some(p.output_shape[2..].to_vec()),
            l => {
                return Err(Error::Shape(format!(
                    "ConvTranspose: output_shape has {l} values for {n} spatial dims"
                )))
            }
        };
        let (mut output, mut pad, mut pad_end) =
            (vec![0usize; n], vec![0isize; n], vec![0isize; n]);
        for i in 0..n {
            let span = ((kernel[i].max(1) - 1) * dilations[i] + 1) as isize;
            let full = (strides[i] * input[i].saturating_sub(1) + out_pad[i]) as isize + span;
            let same = matches!(c.auto_pad, AutoPad::SameUpper | AutoPad::SameLower);
            if !c.pads.is_empty() && !same {
                if c.pads.len() != 2 * n {
                    return Err(Error::Shape(format!(
                        "ConvTranspose: pads has {} values for {n} spatial dims",
                        c.pads.len()
                    )));
                }
                (pad[i], pad_end[i]) = (c.pads[i] as isize, c.pads[n + i] as isize);
                let o = full - pad[i] - pad_end[i];
                output[i] = match &out_shape {
                    Some(s) => s[i],
                    None => usize::try_from(o).map_err(|_| {
                        Error::Shape(format!(
                            "ConvTranspose: pads leave a negative output extent {o}"
                        ))
                    })?,
                };
            } else if out_shape.is_some() || same {
                let target = out_shape.as_ref().map_or(input[i] * strides[i], |s| s[i]);
                let total = full - target as isize;
                // Floor division, so a negative total (output larger than the full result) splits too.
                let half = total.div_euclid(2);
                (pad[i], pad_end[i]) = if c.auto_pad == AutoPad::SameUpper {
                    (half, total - half)
                } else {
                    (total - half, half)
                };
                output[i] = target;
            } else {
                output[i] = full as usize;
            }
        }
        Ok(Window {
            rank: n,
            input: to3(&output, 1),
            output: to3(input, 1),
            kernel: to3(kernel, 1),
            stride: to3(&strides, 1),
            dilation: to3(&dilations, 1),
            pad: to3(&pad, 0),
            pad_end: to3(&pad_end, 0),
        })
    }

    /// `(batch, channels, output spatial dims…)`: the shape of a Conv or pooling result.
    pub fn output_shape(&self, batch: usize, channels: usize) -> Vec<usize> {
        let mut shape = vec![batch, channels];
        shape.extend_from_slice(&self.output[3 - self.rank..]);
        shape
    }

    /// `(batch, channels, input spatial dims…)`: the shape of a ConvTranspose result (its window
    /// runs "forward" from the ConvTranspose output to its input).
    pub fn input_shape(&self, batch: usize, channels: usize) -> Vec<usize> {
        let mut shape = vec![batch, channels];
        shape.extend_from_slice(&self.input[3 - self.rank..]);
        shape
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

    /// A 1×1, stride-1, unpadded window whose output is its input: the image already is the
    /// column matrix, so a convolution needs no im2col.
    pub fn is_pointwise(&self) -> bool {
        self.kernel_size() == 1
            && self.stride == [1; 3]
            && self.pad == [0; 3]
            && self.output == self.input
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
    ) -> WindowAttrs<'a> {
        WindowAttrs {
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
        let a = attrs(AutoPad::NotSet, &[3], &[2], &[1, 1], false);
        let w = Window::forward("Conv", &[5], &a).unwrap();
        assert_eq!(w.output, [1, 1, 3]);
        assert_eq!(w.output_shape(2, 4), [2, 4, 3]);
        // SAME_LOWER puts the odd pad first.
        let a = attrs(AutoPad::SameLower, &[2], &[1], &[], false);
        let w = Window::forward("Conv", &[4], &a).unwrap();
        assert_eq!((w.output[2], w.pad[2], w.pad_end[2]), (4, 1, 0));
        // ceil_mode: (4 - 3) / 2 rounds up to 1, so 2 outputs.
        let a = attrs(AutoPad::NotSet, &[3], &[2], &[], true);
        let w = Window::forward("MaxPool", &[4], &a).unwrap();
        assert_eq!(w.output[2], 2);
        assert_eq!(w.valid_outputs(2, 2), (0, 1));
    }

    #[test]
    fn resnet_stem_and_pointwise() {
        // 224×224, 7×7 stride 2 pad 3 → 112×112.
        let a = attrs(AutoPad::NotSet, &[7, 7], &[2, 2], &[3, 3, 3, 3], false);
        let w = Window::forward("Conv", &[224, 224], &a).unwrap();
        assert_eq!(w.output, [1, 112, 112]);
        assert_eq!((w.kernel, w.pad), ([1, 7, 7], [0, 3, 3]));
        assert!(!w.is_pointwise());
        let a = attrs(AutoPad::NotSet, &[1, 1], &[], &[], false);
        assert!(Window::forward("Conv", &[56, 56], &a)
            .unwrap()
            .is_pointwise());
    }

    #[test]
    fn transposed_same_upper_splits_the_odd_pad_last() {
        // 3 wide, kernel 3, stride 2: the full result is 7, SAME_UPPER keeps 3·2 = 6.
        let p = ConvTranspose {
            conv: Conv {
                auto_pad: AutoPad::SameUpper,
                dilations: vec![],
                group: 1,
                kernel_shape: vec![],
                pads: vec![],
                strides: vec![2],
                epilogue: Default::default(),
            },
            output_padding: vec![],
            output_shape: vec![],
        };
        let w = Window::transposed(&p, &[1, 1, 3], &[3]).unwrap();
        assert_eq!((w.input[2], w.pad[2], w.pad_end[2]), (6, 0, 1));
        assert_eq!(w.input_shape(1, 2), [1, 2, 6]);
    }

    #[test]
    fn rank_limits() {
        let a = attrs(AutoPad::NotSet, &[1; 4], &[], &[], false);
        assert!(Window::forward("Conv", &[2; 4], &a).is_err());
        let p = Pool {
            kind: crate::ir::PoolKind::Max,
            auto_pad: AutoPad::NotSet,
            ceil_mode: false,
            count_include_pad: false,
            dilations: vec![],
            kernel_shape: vec![2],
            pads: vec![],
            strides: vec![],
            storage_order: 0,
        };
        let e = Window::pool("MaxPool", &p, &[1, 4]).unwrap_err();
        assert!(e.to_string().contains("(N, C, spatial…)"), "{e}");
        assert_eq!(
            Window::pool("MaxPool", &p, &[1, 1, 4]).unwrap().output[2],
            3
        );
    }
}
