//! `If` on the device. A program is lowered for one set of input shapes (and small integer input
//! values), so a condition computed from those is known while lowering: the chosen branch's nodes
//! are lowered inline, into the same program, with the branch's captured outer values mapped to
//! what the outer graph already holds for them. The branch that is not taken costs nothing. A
//! condition computed on the device has no such form and is refused when the engine is built
//! (see [`super::support::check`]). <https://onnx.ai/onnx/operators/onnx__If.html>

use super::{Lowerer, Value};
use crate::backend::cpu::ops::condition;
use crate::error::{Error, Result};
use crate::ir::{Graph, If, Node, ValueId};

/// Each branch of an `If` node with the node inputs that feed its captures, in order: the node's
/// inputs are `[cond, then captures..., else captures...]`.
pub fn branches<'a>(node: &'a Node, p: &'a If) -> [(&'a Graph, &'a [Option<ValueId>]); 2] {
    let then_n = p.then_branch.captures.len();
    let rest = node.inputs.get(1..).unwrap_or(&[]);
    let split = then_n.min(rest.len());
    [
        (&p.then_branch, &rest[..split]),
        (&p.else_branch, &rest[split..]),
    ]
}

/// Lowers the branch the (host-known) condition picks and returns its outputs as the node's.
pub fn if_<'g>(l: &mut Lowerer<'g>, node: &'g Node, p: &'g If) -> Result<Vec<Value>> {
    let cond = l.input(node, 0)?.host.clone().ok_or_else(|| {
        Error::Graph(
            "the condition is computed on the device; the CUDA backend runs If only when its \
             condition is known before running (from shapes, constants or small integer inputs)"
                .into(),
        )
    })?;
    let [then_b, else_b] = branches(node, p);
    let (branch, caps) = if condition(&cond, "If cond")? {
        then_b
    } else {
        else_b
    };
    let mut vals: Vec<Option<Value>> = vec![None; branch.values.len()];
    for (i, &inner) in branch.captures.iter().enumerate() {
        let outer = caps
            .get(i)
            .copied()
            .flatten()
            .and_then(|v| l.vals[v.0].clone());
        vals[inner.0] = Some(outer.ok_or_else(|| {
            Error::Graph(format!(
                "outer value '{}' read by branch '{}' has no value",
                branch.name_of(inner),
                branch.name
            ))
        })?);
    }
    // Branch constants are not among the engine's uploaded weights: they stay on the host and
    // are uploaded with the program if a device step reads them.
    for (v, t) in &branch.initializers {
        vals[v.0] = Some(Value {
            dtype: t.dtype(),
            shape: t.shape().to_vec(),
            dev: None,
            host: Some(t.clone()),
        });
    }
    let outer_g = std::mem::replace(&mut l.g, branch);
    let outer_vals = std::mem::replace(&mut l.vals, vals);
    let lowered = branch.nodes.iter().try_for_each(|n| l.lower_and_store(n));
    let inner_vals = std::mem::replace(&mut l.vals, outer_vals);
    l.g = outer_g;
    lowered?;
    branch
        .outputs
        .iter()
        .map(|v| {
            inner_vals[v.0].clone().ok_or_else(|| {
                Error::Graph(format!(
                    "branch '{}' output '{}' has no value",
                    branch.name,
                    branch.name_of(*v)
                ))
            })
        })
        .collect()
}
