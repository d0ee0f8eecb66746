//! Shape and data-movement ops: Reshape, Flatten, Transpose, (Un)Squeeze, Concat, Split, Slice,
//! Gather*, Scatter*, Expand, Shape, Size, ConstantOfShape, Range, Tile, Pad, Resize/Upsample,
//! DepthToSpace, SpaceToDepth, Trilu, OneHot, EyeLike, NonZero. <https://onnx.ai/onnx/operators/>

use crate::error::Result;
use crate::ir::*;
use crate::onnx::attrs::NodeCtx;
use crate::tensor::DType;

fn reduction(c: &NodeCtx) -> Result<ScatterReduction> {
    Ok(match c.string("reduction", "none").as_str() {
        "none" => ScatterReduction::None,
        "add" => ScatterReduction::Add,
        "mul" => ScatterReduction::Mul,
        "max" => ScatterReduction::Max,
        "min" => ScatterReduction::Min,
        other => return Err(c.err(format!("unknown reduction '{other}'"))),
    })
}

fn resize(c: &NodeCtx, upsample: bool) -> Result<Resize> {
    let mode = match c.string("mode", "nearest").to_ascii_lowercase().as_str() {
        "nearest" => ResizeMode::Nearest,
        "linear" | "bilinear" | "trilinear" => ResizeMode::Linear,
        "cubic" | "bicubic" => ResizeMode::Cubic,
        other => return Err(c.err(format!("unknown mode '{other}'"))),
    };
    // Opset 10 Resize and Upsample use asymmetric coordinates, and nearest rounds down.
    let old = upsample || c.opset < 11;
    let coord = match c
        .string(
            "coordinate_transformation_mode",
            if old { "asymmetric" } else { "half_pixel" },
        )
        .as_str()
    {
        "half_pixel" => CoordTransform::HalfPixel,
        "half_pixel_symmetric" => CoordTransform::HalfPixelSymmetric,
        "pytorch_half_pixel" => CoordTransform::PytorchHalfPixel,
        "align_corners" => CoordTransform::AlignCorners,
        "asymmetric" => CoordTransform::Asymmetric,
        "tf_crop_and_resize" => CoordTransform::TfCropAndResize,
        "tf_half_pixel_for_nn" => return Err(c.err("tf_half_pixel_for_nn is not supported")),
        other => return Err(c.err(format!("unknown coordinate_transformation_mode '{other}'"))),
    };
    let nearest = match c
        .string(
            "nearest_mode",
            if old { "floor" } else { "round_prefer_floor" },
        )
        .as_str()
    {
        "round_prefer_floor" => NearestMode::RoundPreferFloor,
        "round_prefer_ceil" => NearestMode::RoundPreferCeil,
        "floor" => NearestMode::Floor,
        "ceil" => NearestMode::Ceil,
        other => return Err(c.err(format!("unknown nearest_mode '{other}'"))),
    };
    let keep_aspect = match c.string("keep_aspect_ratio_policy", "stretch").as_str() {
        "stretch" => KeepAspect::Stretch,
        "not_larger" => KeepAspect::NotLarger,
        "not_smaller" => KeepAspect::NotSmaller,
        other => return Err(c.err(format!("unknown keep_aspect_ratio_policy '{other}'"))),
    };
    Ok(Resize {
        mode,
        coord,
        nearest,
        cubic_coeff_a: c.float("cubic_coeff_a", -0.75),
        exclude_outside: c.bool("exclude_outside", false),
        extrapolation_value: c.float("extrapolation_value", 0.0),
        antialias: c.bool("antialias", false),
        axes: c.ints_opt("axes"),
        keep_aspect,
        scales_input: if old { 1 } else { 2 },
        scales_attr: if upsample {
            c.floats_opt("scales")
        } else {
            None
        },
    })
}

pub fn convert(c: &NodeCtx) -> Result<Option<Op>> {
    let axes_attr = |c: &NodeCtx| Axes {
        axes: c.ints_opt("axes"),
    };
    Ok(Some(match c.op_type {
        "Reshape" => {
            if c.opset < 5 {
                return Err(c.err(
                    "Reshape-1 (shape attribute) is not supported; re-export with opset >= 5",
                ));
            }
            Op::Reshape(Reshape {
                allowzero: c.bool("allowzero", false),
            })
        }
        "Flatten" => Op::Flatten(Flatten {
            axis: c.int("axis", 1),
        }),
        "Transpose" => Op::Transpose(Transpose {
            perm: match c.ints_opt("perm") {
                Some(p) => Some(
                    p.iter()
                        .map(|&v| {
                            usize::try_from(v)
                                .map_err(|_| c.err(format!("negative perm entry {v}")))
                        })
                        .collect::<Result<_>>()?,
                ),
                None => None,
            },
        }),
        "Squeeze" => Op::Squeeze(axes_attr(c)),
        "Unsqueeze" => Op::Unsqueeze(axes_attr(c)),
        "Concat" => Op::Concat(Concat {
            axis: c.int_opt("axis").ok_or_else(|| c.err("axis is required"))?,
        }),
        "Split" => Op::Split(Split {
            axis: c.int("axis", 0),
            split: c.ints_opt("split"),
            num_outputs: c.int_opt("num_outputs").map(|n| n.max(0) as usize),
        }),
        "Slice" => Op::Slice(if c.opset < 10 {
            Slice {
                starts: Some(c.ints("starts")),
                ends: Some(c.ints("ends")),
                axes: c.ints_opt("axes"),
            }
        } else {
            Slice {
                starts: None,
                ends: None,
                axes: None,
            }
        }),
        "Gather" => Op::Gather(Gather {
            axis: c.int("axis", 0),
        }),
        "GatherElements" => Op::GatherElements(Gather {
            axis: c.int("axis", 0),
        }),
        "GatherND" => Op::GatherND(GatherND {
            batch_dims: c.int("batch_dims", 0).max(0) as usize,
        }),
        "ScatterND" => Op::ScatterND(ScatterND {
            reduction: reduction(c)?,
        }),
        "ScatterElements" | "Scatter" => Op::ScatterElements(ScatterElements {
            axis: c.int("axis", 0),
            reduction: reduction(c)?,
        }),
        "Expand" => Op::Expand,
        "Shape" => Op::Shape(ShapeOf {
            start: c.int("start", 0),
            end: c.int_opt("end"),
        }),
        "Size" => Op::Size,
        "ConstantOfShape" => Op::ConstantOfShape(ConstantOfShape {
            value: c.tensor_opt("value")?,
        }),
        "Range" => Op::Range,
        "Tile" => {
            if c.opset < 6 {
                return Err(c.err("Tile-1 is not supported; re-export with opset >= 6"));
            }
            Op::Tile
        }
        "Pad" => Op::Pad(Pad {
            mode: match c.string("mode", "constant").as_str() {
                "constant" => PadMode::Constant,
                "reflect" => PadMode::Reflect,
                "edge" => PadMode::Edge,
                "wrap" => PadMode::Wrap,
                other => return Err(c.err(format!("unknown mode '{other}'"))),
            },
            pads: if c.opset < 11 {
                Some(
                    c.ints_opt("pads")
                        .or_else(|| c.ints_opt("paddings"))
                        .unwrap_or_default(),
                )
            } else {
                None
            },
            value: if c.opset < 11 {
                Some(c.float("value", 0.0))
            } else {
                None
            },
        }),
        "Resize" => Op::Resize(resize(c, false)?),
        "Upsample" => Op::Resize(resize(c, true)?),
        "DepthToSpace" => Op::DepthToSpace(DepthToSpace {
            blocksize: blocksize(c)?,
            crd: match c.string("mode", "DCR").as_str() {
                "DCR" => false,
                "CRD" => true,
                other => return Err(c.err(format!("unknown mode '{other}'"))),
            },
        }),
        "SpaceToDepth" => Op::SpaceToDepth(SpaceToDepth {
            blocksize: blocksize(c)?,
            crd: match c.string("mode", "DCR").as_str() {
                "DCR" => false,
                "CRD" => true,
                other => return Err(c.err(format!("unknown mode '{other}'"))),
            },
        }),
        "Trilu" => Op::Trilu(Trilu {
            upper: c.bool("upper", true),
        }),
        "OneHot" => Op::OneHot(OneHot {
            axis: c.int("axis", -1),
        }),
        "EyeLike" => Op::EyeLike(EyeLike {
            dtype: match c.int_opt("dtype") {
                Some(code) => Some(DType::from_onnx(code as i32).ok_or_else(|| {
                    c.err(format!(
                        "dtype {} is not supported",
                        DType::onnx_name(code as i32)
                    ))
                })?),
                None => None,
            },
            k: c.int("k", 0),
        }),
        "NonZero" => Op::NonZero,
        _ => return Ok(None),
    }))
}

fn blocksize(c: &NodeCtx) -> Result<usize> {
    match c.int_opt("blocksize") {
        Some(b) if b > 0 => Ok(b as usize),
        Some(b) => Err(c.err(format!("blocksize must be positive, got {b}"))),
        None => Err(c.err("blocksize is required")),
    }
}
