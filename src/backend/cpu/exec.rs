//! The graph executor: walks the topologically sorted nodes, feeds each kernel its inputs, and frees
//! every intermediate after its last use. Subgraphs (If, Loop) run through the same function.

use super::ops;
use crate::error::{Error, Result};
use crate::ir::Graph;
use crate::tensor::Tensor;
use std::sync::Arc;

/// Runs `g` on `inputs` (in `g.inputs` order) and `captures` (in `g.captures` order); returns the
/// outputs in `g.outputs` order.
pub fn run_graph(g: &Graph, inputs: &[Arc<Tensor>], captures: &[Arc<Tensor>]) -> Result<Vec<Arc<Tensor>>> {
    if inputs.len() != g.inputs.len() {
        return Err(Error::Input(format!(
            "graph '{}' takes {} inputs, {} given",
            g.name,
            g.inputs.len(),
            inputs.len()
        )));
    }
    if captures.len() != g.captures.len() {
        return Err(Error::Graph(format!(
            "graph '{}' captures {} outer values, {} given",
            g.name,
            g.captures.len(),
            captures.len()
        )));
    }
    let mut env: Vec<Option<Arc<Tensor>>> = vec![None; g.values.len()];
    for (v, t) in &g.initializers {
        env[v.0] = Some(t.clone());
    }
    for (v, t) in g.inputs.iter().zip(inputs) {
        env[v.0] = Some(t.clone());
    }
    for (v, t) in g.captures.iter().zip(captures) {
        env[v.0] = Some(t.clone());
    }
    // Remaining reads of each value; graph outputs hold one read until the end.
    let mut remaining = g.use_counts();
    for node in &g.nodes {
        let mut args: Vec<Option<Arc<Tensor>>> = Vec::with_capacity(node.inputs.len());
        for (i, v) in node.inputs.iter().enumerate() {
            args.push(match v {
                None => None,
                Some(v) => Some(env[v.0].clone().ok_or_else(|| {
                    Error::node(&node.name, node.op.name(), format!("input {i} '{}' has no value", g.name_of(*v)))
                })?),
            });
        }
        let refs: Vec<Option<&Tensor>> = args.iter().map(|a| a.as_deref()).collect();
        let outs = ops::run(node, &refs).map_err(|e| e.in_node(&node.name, node.op.name()))?;
        drop(refs);
        drop(args);
        for v in node.inputs.iter().flatten() {
            remaining[v.0] -= 1;
            if remaining[v.0] == 0 && !g.initializers.contains_key(v) {
                env[v.0] = None;
            }
        }
        let wanted = node.outputs.len();
        let mut outs = outs.into_iter();
        for (i, slot) in node.outputs.iter().enumerate() {
            let t = outs.next();
            if let Some(v) = slot {
                let t = t.ok_or_else(|| {
                    Error::node(&node.name, node.op.name(), format!("kernel produced fewer than the {wanted} outputs the node declares (missing output {i})"))
                })?;
                env[v.0] = Some(Arc::new(t));
            }
        }
    }
    g.outputs
        .iter()
        .map(|v| {
            env[v.0].clone().ok_or_else(|| Error::Graph(format!("graph '{}': output '{}' has no value", g.name, g.name_of(*v))))
        })
        .collect()
}
