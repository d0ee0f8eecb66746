//! Arithmetic on concrete shapes that every backend's kernels need, so the CPU ops and the CUDA
//! lowering compute it once and report the same errors:
//!
//! - [`window`]: the sliding window of Conv, ConvTranspose and pooling (pads, `auto_pad`,
//!   `ceil_mode`, output extents);
//! - [`conv`]: how X, W and B of a convolution fit together (channels per group, kernel shape);
//! - [`resize`]: the scale and output length of each axis Resize changes;
//! - [`shape`]: axis normalization, broadcasting, the dims of Shape and Reshape, Slice's clamping.
//!
//! Shape inference ([`super::infer`]) answers the same questions for possibly symbolic dims before
//! anything runs; this module works on the `usize` dims a kernel sees.

pub mod conv;
pub mod resize;
pub mod shape;
pub mod window;

pub use conv::{kernel_shape, ConvChannels};
pub use resize::{resized_axes, resized_shape, ResizedAxis};
pub use shape::{
    broadcast_shapes, broadcast_strides, int_values, norm_axes, norm_axis, reshape_dims,
    shape_dims, slice_range,
};
pub use window::{Window, WindowAttrs, MAX_SPATIAL_RANK};
