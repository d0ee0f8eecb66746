//! Inference through If and Loop: subgraphs are inferred with what the outer graph knows about
//! their captured values, then the node's outputs are what every path agrees on.

use super::{infer_graph, merge, Ctx, Fact, Out};
use crate::ir::{Dim, Graph, If, Loop, Node, Op};
use crate::tensor::DType;

/// Seeds each capture of `g` from the outer fact fed to it, then infers `g`.
fn infer_with(g: &mut Graph, captured: &[Option<Fact>]) {
    for (v, f) in g.captures.clone().iter().zip(captured) {
        if let Some(f) = f {
            merge(&mut g.values[v.0], f.clone());
        }
    }
    infer_graph(g);
}

/// Infers the subgraphs of an If or Loop node from the facts of its inputs.
pub fn infer_subgraphs(node: &mut Node, facts: &[Option<Fact>]) {
    let tail = |start: usize| facts.get(start..).unwrap_or(&[]).to_vec();
    match &mut node.op {
        Op::If(p) => {
            let nt = p.then_branch.captures.len();
            infer_with(&mut p.then_branch, &tail(1));
            infer_with(&mut p.else_branch, &tail(1 + nt));
        }
        Op::Loop(p) => {
            let body = &mut p.body;
            let carried = body.inputs.len().saturating_sub(2);
            let inputs = body.inputs.clone();
            if let [iter, cond, ..] = inputs[..] {
                merge(
                    &mut body.values[iter.0],
                    Fact::new(Some(DType::I64), Some(vec![])),
                );
                merge(
                    &mut body.values[cond.0],
                    Fact::new(Some(DType::Bool), Some(vec![])),
                );
            }
            // Loop-carried values may change shape between iterations: only their dtype is certain.
            for (i, v) in inputs.iter().skip(2).enumerate() {
                let dtype = facts.get(2 + i).cloned().flatten().and_then(|f| f.dtype);
                merge(&mut body.values[v.0], Fact::new(dtype, None));
            }
            infer_with(body, &tail(2 + carried));
        }
        _ => {}
    }
}

/// What two facts about one value have in common.
fn join(a: &Fact, b: &Fact) -> Fact {
    let dtype = match (a.dtype, b.dtype) {
        (Some(x), Some(y)) if x == y => Some(x),
        (Some(x), None) | (None, Some(x)) => Some(x),
        _ => None,
    };
    let shape = match (&a.shape, &b.shape) {
        (Some(x), Some(y)) if x.len() == y.len() => Some(
            x.iter()
                .zip(y)
                .map(|(p, q)| if p == q { p.clone() } else { Dim::Unknown })
                .collect(),
        ),
        _ => None,
    };
    Fact::new(dtype, shape)
}

fn output_fact(g: &Graph, i: usize) -> Fact {
    g.outputs
        .get(i)
        .map(|v| Fact::of(g.value(*v)))
        .unwrap_or_default()
}

/// If: each output is what both branches agree on.
pub fn if_outputs(p: &If) -> Vec<Out> {
    (0..p.then_branch.outputs.len())
        .map(|i| {
            join(
                &output_fact(&p.then_branch, i),
                &output_fact(&p.else_branch, i),
            )
            .into()
        })
        .collect()
}

/// Loop: final carried values agree with both the initial value and the body's output; scan
/// outputs gain a leading trip-count dim, fixed only for a constant `M` with no condition.
pub fn loop_outputs(p: &Loop, cx: &Ctx) -> Vec<Out> {
    let body = &p.body;
    let carried = body.inputs.len().saturating_sub(2);
    let mut outs: Vec<Out> = (0..carried)
        .map(|i| join(&cx.fact(2 + i), &output_fact(body, 1 + i)).into())
        .collect();
    let trips = match (cx.const_ints(0).as_deref(), cx.present(1)) {
        (Some([m]), false) => Dim::Fixed((*m).max(0) as usize),
        _ => Dim::Unknown,
    };
    for i in 1 + carried..body.outputs.len() {
        let f = output_fact(body, i);
        let shape = f
            .shape
            .map(|s| std::iter::once(trips.clone()).chain(s).collect());
        outs.push(Fact::new(f.dtype, shape).into());
    }
    outs
}
