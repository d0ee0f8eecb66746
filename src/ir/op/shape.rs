//! Shape and data movement: reshapes, transposes, slicing, gathers and scatters, padding, resizing.

use crate::tensor::{DType, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reshape {
    pub allowzero: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Flatten {
    pub axis: i64,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Transpose {
    /// `None`: reverse the dimensions.
    pub perm: Option<Vec<usize>>,
}

/// Squeeze / Unsqueeze axes: from the attribute (older opsets) or, when `None`, input 1.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Axes {
    pub axes: Option<Vec<i64>>,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Concat {
    pub axis: i64,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Split {
    pub axis: i64,
    /// The `split` attribute (opset < 13); `None` means input 1 or an even split.
    pub split: Option<Vec<i64>>,
    pub num_outputs: Option<usize>,
}

/// Slice: `starts`/`ends`/`axes` are attributes before opset 10, inputs after.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Slice {
    pub starts: Option<Vec<i64>>,
    pub ends: Option<Vec<i64>>,
    pub axes: Option<Vec<i64>>,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Gather {
    pub axis: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GatherND {
    pub batch_dims: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ScatterReduction {
    None,
    Add,
    Mul,
    Max,
    Min,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScatterND {
    pub reduction: ScatterReduction,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScatterElements {
    pub axis: i64,
    pub reduction: ScatterReduction,
}

/// Shape with the opset-15 `start`/`end` slice.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ShapeOf {
    pub start: i64,
    pub end: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConstantOfShape {
    /// One-element tensor giving the fill value and dtype; `None` is f32 zero.
    pub value: Option<Tensor>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PadMode {
    Constant,
    Reflect,
    Edge,
    Wrap,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pad {
    pub mode: PadMode,
    /// The `pads` attribute (opset < 11); `None` means input 1.
    pub pads: Option<Vec<i64>>,
    /// The `value` attribute (opset < 11).
    pub value: Option<f32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ResizeMode {
    Nearest,
    Linear,
    Cubic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CoordTransform {
    HalfPixel,
    HalfPixelSymmetric,
    PytorchHalfPixel,
    AlignCorners,
    Asymmetric,
    TfCropAndResize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NearestMode {
    RoundPreferFloor,
    RoundPreferCeil,
    Floor,
    Ceil,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KeepAspect {
    Stretch,
    NotLarger,
    NotSmaller,
}

/// Resize (and the older Upsample, imported as Resize with `scales` from input 1 or the attribute).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Resize {
    pub mode: ResizeMode,
    pub coord: CoordTransform,
    pub nearest: NearestMode,
    pub cubic_coeff_a: f32,
    pub exclude_outside: bool,
    pub extrapolation_value: f32,
    pub antialias: bool,
    pub axes: Option<Vec<i64>>,
    pub keep_aspect: KeepAspect,
    /// Where the `roi`, `scales` and `sizes` inputs are: opset 10 has only `scales` at input 1
    /// (Upsample too); opset 11+ has roi=1, scales=2, sizes=3.
    pub scales_input: usize,
    /// Upsample-7's `scales` attribute.
    pub scales_attr: Option<Vec<f32>>,
}

/// Resize-18 with every attribute at the spec's default (nearest, `half_pixel`,
/// `round_prefer_floor`, cubic a = -0.75, `stretch`) and roi / scales / sizes at inputs 1 / 2 / 3.
impl Default for Resize {
    fn default() -> Resize {
        Resize {
            mode: ResizeMode::Nearest,
            coord: CoordTransform::HalfPixel,
            nearest: NearestMode::RoundPreferFloor,
            cubic_coeff_a: -0.75,
            exclude_outside: false,
            extrapolation_value: 0.0,
            antialias: false,
            axes: None,
            keep_aspect: KeepAspect::Stretch,
            scales_input: 2,
            scales_attr: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DepthToSpace {
    pub blocksize: usize,
    /// CRD mode when true, DCR (the default) when false.
    pub crd: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpaceToDepth {
    pub blocksize: usize,
    /// CRD output channel order (the opset-28 `mode`) when true, DCR (the default) when false.
    pub crd: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Trilu {
    pub upper: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OneHot {
    pub axis: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EyeLike {
    pub dtype: Option<DType>,
    pub k: i64,
}
