//! Softmax, normalization, pooling, reduction, Conv, ConvTranspose, Gemm, MatMul and Attention cases.

use super::*;

pub fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    v.push(single(
        "Softmax last",
        Op::Softmax(Softmax {
            axis: -1,
            coerce_2d: false,
        }),
        vec![x()],
        1,
    ));
    v.push(single(
        "Softmax axis 1",
        Op::Softmax(Softmax {
            axis: 1,
            coerce_2d: false,
        }),
        vec![x()],
        1,
    ));
    v.push(single(
        "LogSoftmax 2d",
        Op::LogSoftmax(Softmax {
            axis: 1,
            coerce_2d: true,
        }),
        vec![x()],
        1,
    ));
    v.push(single(
        "LayerNormalization",
        Op::LayerNormalization(LayerNormalization {
            axis: -1,
            epsilon: 1e-5,
        }),
        vec![x(), weight(&[5], 1), weight(&[5], 2)],
        1,
    ));
    let var = In::Const(Tensor::from_vec(vec![3], vec![0.5f32, 1.0, 2.0]).unwrap());
    v.push(single(
        "BatchNormalization",
        Op::BatchNormalization(BatchNormalization { epsilon: 1e-5 }),
        vec![x(), weight(&[3], 1), weight(&[3], 2), weight(&[3], 3), var],
        1,
    ));
    v.push(single(
        "InstanceNormalization",
        Op::InstanceNormalization(InstanceNormalization { epsilon: 1e-5 }),
        vec![x(), weight(&[3], 1), weight(&[3], 2)],
        1,
    ));
    v.push(single(
        "MaxPool 3x3 s2 p1",
        pool(PoolKind::Max, &[3, 3], &[2, 2], &[1, 1, 1, 1], false, false),
        vec![img()],
        1,
    ));
    v.push(single(
        "AveragePool ceil pad",
        pool(
            PoolKind::Average,
            &[3, 3],
            &[2, 2],
            &[1, 0, 1, 0],
            true,
            true,
        ),
        vec![img()],
        1,
    ));
    v.push(single(
        "AveragePool 1d",
        pool(PoolKind::Average, &[3], &[1], &[1, 1], false, false),
        vec![feed(&[2, 3, 8])],
        1,
    ));
    v.push(single(
        "GlobalAveragePool",
        Op::GlobalPool(GlobalPool {
            kind: PoolKind::Average,
        }),
        vec![img()],
        1,
    ));
    v.push(single(
        "GlobalMaxPool",
        Op::GlobalPool(GlobalPool {
            kind: PoolKind::Max,
        }),
        vec![img()],
        1,
    ));
    for (name, kind, axes, keep) in [
        ("ReduceSum axis 1", ReduceKind::Sum, Some(vec![1]), true),
        ("ReduceMean all", ReduceKind::Mean, None, false),
        (
            "ReduceMax axes 0 2",
            ReduceKind::Max,
            Some(vec![0, 2]),
            false,
        ),
        ("ReduceL2 last", ReduceKind::L2, Some(vec![-1]), true),
        (
            "ReduceLogSumExp",
            ReduceKind::LogSumExp,
            Some(vec![2, 3]),
            false,
        ),
    ] {
        let op = Op::Reduce(Reduce {
            kind,
            axes,
            keepdims: keep,
            noop_with_empty_axes: false,
        });
        v.push(single(name, op, vec![x()], 1));
    }
    let op = Op::Reduce(Reduce {
        kind: ReduceKind::Sum,
        axes: Some(vec![1]),
        keepdims: false,
        noop_with_empty_axes: false,
    });
    v.push(single(
        "ReduceSum i64",
        op,
        vec![In::Feed(DType::I64, vec![3, 4])],
        1,
    ));
    v.push(single(
        "Conv 3x3 pad bias",
        conv(1, &[], &[1, 1, 1, 1], &[], none()),
        vec![img(), weight(&[4, 3, 3, 3], 1), weight(&[4], 2)],
        1,
    ));
    v.push(single(
        "Conv stride 2 dilated",
        conv(1, &[2, 2], &[2, 2, 2, 2], &[2, 2], none()),
        vec![img(), weight(&[5, 3, 3, 3], 1)],
        1,
    ));
    v.push(single(
        "Conv grouped",
        conv(2, &[], &[1, 1, 1, 1], &[], none()),
        vec![
            feed(&[2, 4, 6, 6]),
            weight(&[6, 2, 3, 3], 1),
            weight(&[6], 2),
        ],
        1,
    ));
    let ep = Epilogue {
        residual: true,
        activation: relu(),
    };
    v.push(single(
        "Conv depthwise fused",
        conv(4, &[], &[1, 1, 1, 1], &[], ep),
        vec![
            feed(&[2, 4, 6, 6]),
            weight(&[4, 1, 3, 3], 1),
            weight(&[4], 2),
            feed(&[2, 4, 6, 6]),
        ],
        1,
    ));
    let clip6 = Epilogue {
        residual: false,
        activation: Some(FusedActivation::Clip {
            min: Some(0.0),
            max: Some(6.0),
        }),
    };
    v.push(single(
        "Conv pointwise relu6",
        conv(1, &[], &[], &[], clip6),
        vec![img(), weight(&[8, 3, 1, 1], 1), weight(&[8], 2)],
        1,
    ));
    v.push(single(
        "Conv 1d",
        conv(1, &[2], &[1, 1], &[], none()),
        vec![feed(&[2, 3, 12]), weight(&[4, 3, 3], 1)],
        1,
    ));
    let ct = |group: usize| {
        Op::ConvTranspose(ConvTranspose {
            conv: Conv {
                auto_pad: AutoPad::NotSet,
                dilations: vec![],
                group,
                kernel_shape: vec![],
                pads: vec![1, 1, 1, 1],
                strides: vec![2, 2],
                epilogue: none(),
            },
            output_padding: vec![1, 1],
            output_shape: vec![],
        })
    };
    v.push(single(
        "ConvTranspose s2",
        ct(1),
        vec![
            feed(&[2, 4, 5, 5]),
            weight(&[4, 3, 3, 3], 1),
            weight(&[3], 2),
        ],
        1,
    ));
    v.push(single(
        "ConvTranspose grouped",
        ct(2),
        vec![feed(&[2, 4, 5, 5]), weight(&[4, 2, 3, 3], 1)],
        1,
    ));
    let gemm = |tb: bool, act| {
        Op::Gemm(Gemm {
            alpha: 0.5,
            beta: 2.0,
            trans_a: false,
            trans_b: tb,
            activation: act,
        })
    };
    v.push(single(
        "Gemm transB bias",
        gemm(true, None),
        vec![feed(&[4, 6]), weight(&[5, 6], 1), weight(&[5], 2)],
        1,
    ));
    v.push(single(
        "Gemm relu",
        gemm(false, relu()),
        vec![feed(&[4, 6]), weight(&[6, 5], 1), weight(&[4, 5], 2)],
        1,
    ));
    v.push(single(
        "MatMul 3d x 2d",
        mm(none()),
        vec![feed(&[2, 4, 6]), weight(&[6, 5], 1)],
        1,
    ));
    v.push(single(
        "MatMul batched",
        mm(none()),
        vec![feed(&[2, 4, 6]), feed(&[2, 6, 5])],
        1,
    ));
    v.push(single(
        "MatMul broadcast",
        mm(none()),
        vec![feed(&[2, 1, 4, 6]), feed(&[3, 6, 5])],
        1,
    ));
    v.push(single(
        "MatMul vector",
        mm(none()),
        vec![feed(&[6]), feed(&[6, 5])],
        1,
    ));
    let gelu = Epilogue {
        residual: true,
        activation: Some(FusedActivation::Unary(UnaryKind::Gelu { tanh: false })),
    };
    v.push(single(
        "MatMul bias residual gelu",
        mm(gelu),
        vec![
            feed(&[2, 4, 6]),
            weight(&[6, 5], 1),
            weight(&[5], 2),
            feed(&[2, 4, 5]),
        ],
        1,
    ));
    let att = Op::Attention(Attention {
        scale: 0.35,
        has_mask: true,
    });
    v.push(single(
        "Attention masked",
        att,
        vec![
            feed(&[2, 3, 5, 8]),
            feed(&[2, 3, 8, 5]),
            feed(&[2, 3, 5, 8]),
            feed(&[2, 1, 1, 5]),
        ],
        1,
    ));
    v
}
