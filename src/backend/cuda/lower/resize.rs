//! Resize (and Upsample) on the device: nearest over any dims (`resize_nearest_*`, any dtype) and
//! linear on the last two dims (`resize_linear_*`, f32 / f16). Output sizes and scales are the ones
//! the CPU backend uses ([`crate::ir::geometry::resize`]); cubic, antialias and tf_crop_and_resize
//! are refused by [`super::support`].
//! <https://onnx.ai/onnx/operators/onnx__Resize.html>

use super::{dims, float_suffix, shape_i64, size_suffix, Lowerer, Value};
use crate::backend::cuda::codes;
use crate::backend::cuda::program::Arg;
use crate::error::{Error, Result};
use crate::ir::geometry::{resized_axes, resized_shape};
use crate::ir::{self, Node, ResizeMode};

pub fn resize(l: &mut Lowerer, node: &Node, p: &ir::Resize) -> Result<Vec<Value>> {
    let x = l.dev_input(node, 0)?;
    let rank = x.shape.len();
    let (scales, sizes) = if p.scales_input == 1 {
        (l.host_input(node, 1)?, None)
    } else {
        (l.host_input(node, 2)?, l.host_input(node, 3)?)
    };
    let resized = resized_axes(p, &x.shape, scales.as_deref(), sizes.as_deref())?;
    let out = resized_shape(&x.shape, &resized);
    let mut scale = vec![1.0f64; rank];
    for r in &resized {
        scale[r.axis] = r.scale;
    }
    if rank > 8 {
        return Err(Error::Shape(format!("Resize of rank {rank} (at most 8)")));
    }
    let coord = codes::coord(p.coord)
        .ok_or_else(|| Error::Graph("tf_crop_and_resize has no CUDA kernel".into()))?;
    let y = l.alloc(x.dtype, out.clone());
    let n = y.len();
    let mut s8 = [1.0f64; 8];
    s8[..rank].copy_from_slice(&scale);
    let mut args = vec![
        Arg::I64(n as i64),
        Arg::I32(rank as i32),
        dims(&shape_i64(&out))?,
        dims(&shape_i64(&x.shape))?,
        Arg::Scales(s8),
        Arg::I32(coord),
    ];
    let kernel = match p.mode {
        ResizeMode::Nearest => {
            args.push(Arg::I32(codes::nearest(p.nearest)));
            format!("resize_nearest_{}", size_suffix(x.dtype))
        }
        ResizeMode::Linear => {
            let identity = |d: usize| out[d] == x.shape[d] && scale[d] == 1.0;
            if rank < 2 || !(0..rank - 2).all(identity) {
                return Err(Error::Shape(format!(
                    "linear Resize of {:?} to {out:?}: the CUDA kernel interpolates the last two \
                     dims only",
                    x.shape
                )));
            }
            format!("resize_linear_{}", float_suffix("linear Resize", x.dtype)?)
        }
        ResizeMode::Cubic => return Err(Error::Graph("cubic Resize has no CUDA kernel".into())),
    };
    args.extend([Arg::Ptr(x.buf), Arg::Ptr(y.buf)]);
    if !x.is_empty() {
        l.launch(kernel, n, args);
    }
    Ok(vec![Value::device(y)])
}
