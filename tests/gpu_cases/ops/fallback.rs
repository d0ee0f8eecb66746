//! Graphs with a node the CUDA backend has no kernel for between device ops, for the CPU
//! fallback (`--allow-cpu-fallback`): each case names the nodes that must run on the host.

use super::control::{model, Builder};
use super::*;

/// A node with several outputs, named `{name}_out{i}`.
fn multi(b: &mut Builder, name: &str, op: Op, inputs: &[ValueId], outputs: usize) -> Vec<ValueId> {
    let outs: Vec<ValueId> = (0..outputs)
        .map(|i| b.value(&format!("{name}_out{i}")))
        .collect();
    b.g.nodes.push(Node {
        name: name.into(),
        op,
        inputs: inputs.iter().map(|&v| Some(v)).collect(),
        outputs: outs.iter().map(|&v| Some(v)).collect(),
    });
    outs
}

fn feed(name: &str, shape: &[usize], seed: u64) -> HashMap<String, Tensor> {
    HashMap::from([(
        name.to_string(),
        random_tensor(DType::F32, shape, seed).unwrap(),
    )])
}

/// `exp(x)` → TopK(k = 3, last axis) → `-values` and `2 · float(indices)`, x f32[2, 8].
pub fn top_k() -> Case {
    let mut b = Builder::new("topk_fallback");
    let x = b.input("x", DType::F32, &[2, 8]);
    let e = b.node("exp", unary(UnaryKind::Exp), &[x]);
    let k = b.constant("k", Tensor::from_vec(vec![1], vec![3i64]).unwrap());
    let op = Op::TopK(TopK {
        axis: -1,
        largest: true,
        sorted: true,
        k: None,
    });
    let [values, indices] = multi(&mut b, "topk", op, &[e, k], 2)[..] else {
        unreachable!()
    };
    let y0 = b.node("neg", unary(UnaryKind::Neg), &[values]);
    let f = b.node("float", Op::Cast(Cast { to: DType::F32 }), &[indices]);
    let two = b.constant("two", Tensor::scalar(2.0f32));
    let y1 = b.node("double", binary(BinaryKind::Mul), &[f, two]);
    let mut c = model(b, y0, "TopK between device ops", feed("x", &[2, 8], 21));
    c.model.graph.outputs.push(y1);
    c
}

/// `2 · x` → CumSum(axis 1) → `sin`, and ArgMax(last axis) of the CumSum as a graph output,
/// x f32[2, 3, 4]: two host nodes in a row, one feeding a graph output directly.
pub fn cum_sum_arg_max() -> Case {
    let mut b = Builder::new("cumsum_fallback");
    let x = b.input("x", DType::F32, &[2, 3, 4]);
    let two = b.constant("two", Tensor::scalar(2.0f32));
    let d = b.node("double", binary(BinaryKind::Mul), &[x, two]);
    let axis = b.constant("axis", Tensor::scalar(1i64));
    let op = Op::CumSum(CumSum {
        exclusive: false,
        reverse: false,
    });
    let cs = b.node("cumsum", op, &[d, axis]);
    let y0 = b.node("sin", unary(UnaryKind::Sin), &[cs]);
    let op = Op::ArgReduce(ArgReduce {
        max: true,
        axis: -1,
        keepdims: false,
        select_last_index: false,
    });
    let y1 = b.node("argmax", op, &[cs]);
    let mut c = model(
        b,
        y0,
        "CumSum and ArgMax between device ops",
        feed("x", &[2, 3, 4], 22),
    );
    c.model.graph.outputs.push(y1);
    c
}

/// `relu(x)` → NonZero: an output shape only the data decides.
pub fn non_zero() -> Case {
    let mut b = Builder::new("nonzero_fallback");
    let x = b.input("x", DType::F32, &[2, 3]);
    let r = b.node("relu", unary(UnaryKind::Relu), &[x]);
    let y = b.node("nonzero", Op::NonZero, &[r]);
    model(b, y, "NonZero after a device op", feed("x", &[2, 3], 23))
}

/// The cases that fall back, each with the nodes that run on the host.
pub fn cases() -> Vec<(Case, Vec<&'static str>)> {
    vec![
        (top_k(), vec!["topk"]),
        (cum_sum_arg_max(), vec!["cumsum", "argmax"]),
    ]
}
