//! Reshape-like, Transpose, Concat, Split, Slice, Gather, Expand, Tile, Pad, Resize and depth/space cases, and the FP16 variants of a few kernels.

use super::*;

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    v.push(single(
        "Reshape",
        Op::Reshape(Reshape { allowzero: false }),
        vec![x(), ints(&[0, -1])],
        1,
    ));
    v.push(single(
        "Flatten",
        Op::Flatten(Flatten { axis: 2 }),
        vec![x()],
        1,
    ));
    v.push(single(
        "Unsqueeze",
        Op::Unsqueeze(Axes { axes: None }),
        vec![x(), ints(&[0, -1])],
        1,
    ));
    v.push(single(
        "Squeeze",
        Op::Squeeze(Axes {
            axes: Some(vec![1]),
        }),
        vec![feed(&[2, 1, 3])],
        1,
    ));
    v.push(single(
        "Transpose",
        Op::Transpose(Transpose {
            perm: Some(vec![0, 2, 3, 1]),
        }),
        vec![x()],
        1,
    ));
    v.push(single(
        "Concat",
        Op::Concat(Concat { axis: 1 }),
        vec![x(), weight(&[2, 2, 4, 5], 1), feed(&[2, 1, 4, 5])],
        1,
    ));
    v.push(single(
        "Split",
        Op::Split(Split {
            axis: -1,
            split: Some(vec![2, 3]),
            num_outputs: None,
        }),
        vec![x()],
        2,
    ));
    let slice = Op::Slice(Slice {
        starts: None,
        ends: None,
        axes: None,
    });
    v.push(single(
        "Slice negative step",
        slice,
        vec![
            x(),
            ints(&[-1, 1]),
            ints(&[i64::MIN, 4]),
            ints(&[3, 1]),
            ints(&[-2, 2]),
        ],
        1,
    ));
    v.push(single(
        "Gather axis 0",
        Op::Gather(Gather { axis: 0 }),
        vec![
            feed(&[10, 6]),
            In::Const(Tensor::from_vec(vec![2, 2], vec![3i64, -1, 0, 9]).unwrap()),
        ],
        1,
    ));
    v.push(single(
        "Gather axis 1 fed",
        Op::Gather(Gather { axis: 1 }),
        vec![
            x(),
            In::Value(Tensor::from_vec(vec![2], vec![2i64, -3]).unwrap()),
        ],
        1,
    ));
    v.push(single(
        "Expand",
        Op::Expand,
        vec![feed(&[3, 1]), ints(&[2, 3, 4])],
        1,
    ));
    v.push(single(
        "Tile",
        Op::Tile,
        vec![feed(&[2, 3]), ints(&[2, 3])],
        1,
    ));
    for mode in [
        PadMode::Constant,
        PadMode::Reflect,
        PadMode::Edge,
        PadMode::Wrap,
    ] {
        let op = Op::Pad(Pad {
            mode,
            pads: None,
            value: None,
        });
        v.push(single(
            &format!("Pad {mode:?}"),
            op,
            vec![
                img(),
                ints(&[0, 0, 2, 1, 0, 0, 1, 3]),
                In::Const(Tensor::scalar(0.5f32)),
            ],
            1,
        ));
    }
    v.push(single(
        "Resize nearest",
        resize(ResizeMode::Nearest, CoordTransform::Asymmetric),
        vec![img(), In::Absent, scales()],
        1,
    ));
    v.push(single(
        "Resize linear half_pixel",
        resize(ResizeMode::Linear, CoordTransform::HalfPixel),
        vec![img(), In::Absent, scales()],
        1,
    ));
    let sizes = ints(&[2, 3, 5, 7]);
    v.push(single(
        "Resize linear align_corners sizes",
        resize(ResizeMode::Linear, CoordTransform::AlignCorners),
        vec![img(), In::Absent, In::Absent, sizes],
        1,
    ));
    v.push(single(
        "DepthToSpace CRD",
        Op::DepthToSpace(DepthToSpace {
            blocksize: 2,
            crd: true,
        }),
        vec![feed(&[1, 8, 3, 4])],
        1,
    ));
    v.push(single(
        "SpaceToDepth",
        Op::SpaceToDepth(SpaceToDepth {
            blocksize: 2,
            crd: false,
        }),
        vec![feed(&[1, 2, 4, 6])],
        1,
    ));
    // FP16 kernels.
    for c in [
        single(
            "Conv 3x3 pad bias",
            conv(1, &[], &[1, 1, 1, 1], &[], none()),
            vec![img(), weight(&[4, 3, 3, 3], 1), weight(&[4], 2)],
            1,
        ),
        single(
            "MatMul batched",
            mm(none()),
            vec![feed(&[2, 4, 6]), feed(&[2, 6, 5])],
            1,
        ),
        single(
            "Softmax last",
            Op::Softmax(Softmax {
                axis: -1,
                coerce_2d: false,
            }),
            vec![x()],
            1,
        ),
        single(
            "LayerNormalization",
            Op::LayerNormalization(LayerNormalization {
                axis: -1,
                epsilon: 1e-5,
            }),
            vec![x(), weight(&[5], 1), weight(&[5], 2)],
            1,
        ),
        single("Gelu", unary(UnaryKind::Gelu { tanh: false }), vec![x()], 1),
        single(
            "Resize linear half_pixel",
            resize(ResizeMode::Linear, CoordTransform::HalfPixel),
            vec![img(), In::Absent, scales()],
            1,
        ),
    ] {
        v.push(half(c));
    }
    v
}
