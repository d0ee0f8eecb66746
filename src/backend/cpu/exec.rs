//! The graph executor: walks the topologically sorted nodes, feeds each kernel its inputs, and frees
//! every intermediate after its last use. Subgraphs (If, Loop) run through the same function.

use super::prepack::Prepacked;
use super::{buffers, ops};
use crate::backend::LayerTime;
use crate::error::{Error, Result};
use crate::ir::Graph;
use crate::tensor::Tensor;
use std::sync::Arc;
use std::time::Instant;

/// Bytes of intermediate tensors alive at once (now, and the most so far) and, when `layers` is
/// set, each node's wall time in execution order.
#[derive(Debug, Default)]
pub struct Meter {
    pub live: u64,
    pub peak: u64,
    pub layers: Option<Vec<LayerTime>>,
}

impl Meter {
    fn alloc(&mut self, bytes: usize) {
        self.live += bytes as u64;
        self.peak = self.peak.max(self.live);
    }

    fn free(&mut self, bytes: usize) {
        self.live = self.live.saturating_sub(bytes as u64);
    }
}

/// Runs `g` on `inputs` (in `g.inputs` order) and `captures` (in `g.captures` order); returns the
/// outputs in `g.outputs` order.
pub fn run_graph(
    g: &Graph,
    inputs: &[Arc<Tensor>],
    captures: &[Arc<Tensor>],
) -> Result<Vec<Arc<Tensor>>> {
    run_graph_metered(g, inputs, captures, &[], &mut Meter::default())
}

/// [`run_graph`], counting the bytes of node outputs alive at once in `meter` (each freed after
/// its last reader; the memory of If/Loop bodies counts as their outputs only). `packed` holds the
/// weights pre-packed for each node (in node order; empty when nothing is).
pub fn run_graph_metered(
    g: &Graph,
    inputs: &[Arc<Tensor>],
    captures: &[Arc<Tensor>],
    packed: &[Option<Prepacked>],
    meter: &mut Meter,
) -> Result<Vec<Arc<Tensor>>> {
    g.check_input_count(inputs.len())?;
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
    // Node outputs (not inputs, weights or captures) are what the meter counts.
    let mut produced = vec![false; g.values.len()];
    for (at, node) in g.nodes.iter().enumerate() {
        let mut args: Vec<Option<Arc<Tensor>>> = Vec::with_capacity(node.inputs.len());
        for (i, v) in node.inputs.iter().enumerate() {
            args.push(match v {
                None => None,
                Some(v) => Some(env[v.0].clone().ok_or_else(|| {
                    Error::node(
                        &node.name,
                        node.op.name(),
                        format!("input {i} '{}' has no value", g.name_of(*v)),
                    )
                })?),
            });
        }
        let refs: Vec<Option<&Tensor>> = args.iter().map(|a| a.as_deref()).collect();
        let start = meter.layers.is_some().then(Instant::now);
        let prepacked = packed.get(at).and_then(Option::as_ref);
        let outs = ops::run_prepacked(node, &refs, prepacked)
            .map_err(|e| e.in_node(&node.name, node.op.name()))?;
        if let (Some(layers), Some(start)) = (meter.layers.as_mut(), start) {
            layers.push(LayerTime {
                name: node.name.clone(),
                op: node.op.name(),
                seconds: start.elapsed().as_secs_f64(),
                kernels: vec![],
            });
        }
        drop(refs);
        drop(args);
        for v in node.inputs.iter().flatten() {
            remaining[v.0] -= 1;
            if remaining[v.0] == 0 && !g.initializers.contains_key(v) {
                if let Some(t) = env[v.0].take() {
                    if produced[v.0] {
                        meter.free(t.size_bytes());
                        // The last reference (not an output, not shared): park its buffer.
                        if let Ok(t) = Arc::try_unwrap(t) {
                            buffers::recycle(t);
                        }
                    }
                }
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
                meter.alloc(t.size_bytes());
                produced[v.0] = true;
                env[v.0] = Some(Arc::new(t));
            }
        }
    }
    g.outputs
        .iter()
        .map(|v| {
            env[v.0].clone().ok_or_else(|| {
                Error::Graph(format!(
                    "graph '{}': output '{}' has no value",
                    g.name,
                    g.name_of(*v)
                ))
            })
        })
        .collect()
}
