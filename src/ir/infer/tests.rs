//! Tests for shape inference: property tests for the broadcasting and window-size rules, and
//! small graphs whose inferred shapes are checked dim by dim.

use super::*;
use crate::ir::geometry::broadcast_shapes;
use crate::ir::{AutoPad, Axes, Concat, Conv, Gather, MatMul, Node, Reshape, ShapeOf, Softmax};
use proptest::prelude::*;
use std::sync::Arc;

fn sym(s: &str) -> Dim {
    Dim::Symbol(s.into())
}

fn fixed(v: &[usize]) -> Vec<Dim> {
    v.iter().map(|&d| Dim::Fixed(d)).collect()
}

proptest! {
    #[test]
    fn broadcast_agrees_with_runtime(shapes in prop::collection::vec(prop::collection::vec(prop_oneof![Just(1usize), Just(2), Just(3), 0usize..5], 0..4), 1..4)) {
        let dims: Vec<Vec<Dim>> = shapes.iter().map(|s| fixed(s)).collect();
        let refs: Vec<&[Dim]> = dims.iter().map(|d| d.as_slice()).collect();
        let concrete: Vec<&[usize]> = shapes.iter().map(|s| s.as_slice()).collect();
        match (broadcast(&refs), broadcast_shapes(&concrete)) {
            (Some(inferred), Ok(run)) => prop_assert_eq!(inferred, fixed(&run)),
            (None, Err(_)) => {}
            (i, r) => prop_assert!(false, "inference {:?} but runtime {:?} for {:?}", i, r.ok(), shapes),
        }
    }

    #[test]
    fn conv_output_counts_window_positions(input in 0usize..40, k in 1usize..6, s in 1usize..4, pads in 0usize..4, d in 1usize..3) {
        // Brute force: every start position whose dilated window ends inside the padded input.
        let padded = input + pads;
        let count = (0..=padded).filter(|o| o * s + d * (k - 1) < padded).count();
        let expected = if count == 0 { None } else { Some(count) };
        prop_assert_eq!(conv_output_dim(input, k, s, pads, d, false), expected);
    }
}

#[test]
fn symbolic_broadcast() {
    assert_eq!(
        broadcast(&[&[sym("N"), Dim::Fixed(1), Dim::Fixed(3)], &fixed(&[4, 1])]),
        Some(vec![sym("N"), Dim::Fixed(4), Dim::Fixed(3)])
    );
    assert_eq!(
        broadcast(&[&[sym("N")], &[sym("M")]]),
        Some(vec![Dim::Unknown])
    );
    assert_eq!(broadcast(&[&[sym("N")], &[sym("N")]]), Some(vec![sym("N")]));
    assert_eq!(broadcast(&[&fixed(&[2]), &fixed(&[3])]), None);
}

/// A tiny graph builder for the tests below.
struct Builder {
    g: Graph,
}

impl Builder {
    fn input(&mut self, name: &str, dtype: DType, shape: Vec<Dim>) -> ValueId {
        let v = self.g.add_value(ValueInfo {
            name: name.into(),
            dtype: Some(dtype),
            shape: Some(shape),
        });
        self.g.inputs.push(v);
        v
    }

    fn constant(&mut self, name: &str, t: Tensor) -> ValueId {
        let v = self.g.add_value(ValueInfo::named(name));
        self.g.initializers.insert(v, Arc::new(t));
        v
    }

    fn node(&mut self, op: Op, inputs: &[ValueId]) -> ValueId {
        let out = self
            .g
            .add_value(ValueInfo::named(format!("v{}", self.g.values.len())));
        let n = Node {
            name: format!("n{}", self.g.nodes.len()),
            op,
            inputs: inputs.iter().map(|&v| Some(v)).collect(),
            outputs: vec![Some(out)],
        };
        self.g.nodes.push(n);
        out
    }
}

#[test]
fn conv_then_computed_reshape_keeps_batch_symbol() {
    let mut b = Builder {
        g: Graph::default(),
    };
    let x = b.input(
        "x",
        DType::F32,
        vec![sym("N"), Dim::Fixed(3), Dim::Fixed(32), Dim::Fixed(32)],
    );
    let w = b.constant("w", Tensor::zeros(DType::F32, vec![8, 3, 3, 3]).unwrap());
    let conv = Conv {
        auto_pad: AutoPad::NotSet,
        dilations: vec![],
        group: 1,
        kernel_shape: vec![],
        pads: vec![1, 1, 1, 1],
        strides: vec![2, 2],
        epilogue: Default::default(),
    };
    let y = b.node(Op::Conv(conv), &[x, w]);
    let shape = b.node(
        Op::Shape(ShapeOf {
            start: 0,
            end: None,
        }),
        &[y],
    );
    let zero = b.constant("zero", Tensor::scalar(0i64));
    let batch = b.node(Op::Gather(Gather { axis: 0 }), &[shape, zero]);
    let batch1 = b.node(
        Op::Unsqueeze(Axes {
            axes: Some(vec![0]),
        }),
        &[batch],
    );
    let minus1 = b.constant("m1", Tensor::from_vec(vec![1], vec![-1i64]).unwrap());
    let target = b.node(Op::Concat(Concat { axis: 0 }), &[batch1, minus1]);
    let flat = b.node(Op::Reshape(Reshape { allowzero: false }), &[y, target]);
    let sm = b.node(
        Op::Softmax(Softmax {
            axis: -1,
            coerce_2d: false,
        }),
        &[flat],
    );
    infer_shapes(&mut b.g).unwrap();
    let info = |v: ValueId| b.g.value(v).clone();
    assert_eq!(
        info(y).shape,
        Some(vec![
            sym("N"),
            Dim::Fixed(8),
            Dim::Fixed(16),
            Dim::Fixed(16)
        ])
    );
    assert_eq!(info(shape).shape, Some(fixed(&[4])));
    assert_eq!(info(shape).dtype, Some(DType::I64));
    assert_eq!(info(batch).shape, Some(vec![]));
    assert_eq!(info(target).shape, Some(fixed(&[2])));
    assert_eq!(info(flat).shape, Some(vec![sym("N"), Dim::Fixed(2048)]));
    assert_eq!(
        (info(sm).dtype, info(sm).shape),
        (Some(DType::F32), Some(vec![sym("N"), Dim::Fixed(2048)]))
    );
}

#[test]
fn declared_info_wins_when_more_specific() {
    let mut info = ValueInfo {
        name: "v".into(),
        dtype: Some(DType::F16),
        shape: Some(vec![sym("B"), Dim::Unknown, Dim::Fixed(7)]),
    };
    merge(
        &mut info,
        Fact::new(
            Some(DType::F32),
            Some(vec![Dim::Unknown, sym("T"), Dim::Unknown]),
        ),
    );
    assert_eq!(info.dtype, Some(DType::F16));
    assert_eq!(info.shape, Some(vec![sym("B"), sym("T"), Dim::Fixed(7)]));
    // A rank that disagrees leaves the declaration alone.
    merge(&mut info, Fact::new(None, Some(vec![Dim::Fixed(1)])));
    assert_eq!(info.shape.as_ref().map(|s| s.len()), Some(3));
}

#[test]
fn unknown_stays_unknown() {
    let mut b = Builder {
        g: Graph::default(),
    };
    let x = b.input("x", DType::F32, vec![sym("N"), Dim::Fixed(4)]);
    // The target shape is a graph input: nothing about the result is known but its dtype.
    let t = b.input("t", DType::I64, fixed(&[3]));
    let r = b.node(Op::Reshape(Reshape { allowzero: false }), &[x, t]);
    let e = b.node(
        Op::Einsum(crate::ir::Einsum {
            equation: "ij->ji".into(),
        }),
        &[r],
    );
    infer_shapes(&mut b.g).unwrap();
    assert_eq!(b.g.value(r).shape, None);
    assert_eq!(b.g.value(e).shape, None);
    assert_eq!(b.g.value(e).dtype, Some(DType::F32));
}

#[test]
fn matmul_and_flatten() {
    let mut b = Builder {
        g: Graph::default(),
    };
    let a = b.input(
        "a",
        DType::F32,
        vec![sym("B"), Dim::Fixed(1), sym("T"), Dim::Fixed(64)],
    );
    let w = b.input(
        "w",
        DType::F32,
        vec![Dim::Fixed(5), Dim::Fixed(64), Dim::Fixed(32)],
    );
    let m = b.node(Op::MatMul(MatMul::default()), &[a, w]);
    let f = b.node(Op::Flatten(crate::ir::Flatten { axis: 2 }), &[m]);
    infer_shapes(&mut b.g).unwrap();
    assert_eq!(
        b.g.value(m).shape,
        Some(vec![sym("B"), Dim::Fixed(5), sym("T"), Dim::Fixed(32)])
    );
    assert_eq!(b.g.value(f).shape, Some(vec![Dim::Unknown, Dim::Unknown]));
}
