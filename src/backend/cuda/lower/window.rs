//! The conv and pooling kernels' `struct Window` argument ([`WindowArg`]), from the geometry both
//! backends compute in [`crate::ir::geometry::window`]. 1-D and 2-D windows are 3-D ones with
//! leading extents of 1.
//! <https://onnx.ai/onnx/operators/onnx__Conv.html>, <https://onnx.ai/onnx/operators/onnx__MaxPool.html>

use crate::backend::cuda::program::WindowArg;
use crate::error::{Error, Result};
use crate::ir::geometry::Window;

/// The kernels' `struct Window`; an error when an extent does not fit an `int`.
impl TryFrom<&Window> for WindowArg {
    type Error = Error;

    fn try_from(w: &Window) -> Result<WindowArg> {
        let i = |v: usize| {
            i32::try_from(v).map_err(|_| Error::Shape(format!("window extent {v} is too large")))
        };
        let s = |v: isize| {
            i32::try_from(v).map_err(|_| Error::Shape(format!("window pad {v} is too large")))
        };
        let map = |a: [usize; 3]| -> Result<[i32; 3]> { Ok([i(a[0])?, i(a[1])?, i(a[2])?]) };
        let maps = |a: [isize; 3]| -> Result<[i32; 3]> { Ok([s(a[0])?, s(a[1])?, s(a[2])?]) };
        Ok(WindowArg {
            input: map(w.input)?,
            output: map(w.output)?,
            kernel: map(w.kernel)?,
            stride: map(w.stride)?,
            pad: maps(w.pad)?,
            pad_end: maps(w.pad_end)?,
            dilation: map(w.dilation)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::geometry::WindowAttrs;
    use crate::ir::AutoPad;

    #[test]
    fn resnet_stem() {
        // 224×224, 7×7 stride 2 pad 3 → 112×112, padded to three dims with a leading 1.
        let attrs = WindowAttrs {
            auto_pad: AutoPad::NotSet,
            kernel: &[7, 7],
            strides: &[2, 2],
            dilations: &[],
            pads: &[3, 3, 3, 3],
            ceil_mode: false,
        };
        let w = Window::forward("Conv", &[224, 224], &attrs).unwrap();
        let a = WindowArg::try_from(&w).unwrap();
        assert_eq!(
            (a.output, a.kernel, a.pad),
            ([1, 112, 112], [1, 7, 7], [0, 3, 3])
        );
        let huge = Window {
            input: [1, 1, 1 << 40],
            ..w
        };
        assert!(WindowArg::try_from(&huge).is_err());
    }
}
