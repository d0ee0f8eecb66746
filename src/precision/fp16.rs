//! The FP16 rewrite: every node the [`policy`](super::policy) places in half precision reads and
//! writes f16 twins of its f32 values; f32 constants it reads are stored converted; Casts join the
//! f16 and f32 regions (graph inputs come in as f32, graph outputs leave as f32 under their own
//! names). Built as one [`Patch`], so the graph is verified as a whole afterwards.

use super::policy::{placement, Placement};
use crate::error::Result;
use crate::ir::{Cast, Graph, Node, Op, Patch, ValueId, ValueInfo};
use crate::passes::pattern::constant;
use crate::passes::{EliminateDead, Pass};
use crate::tensor::DType;
use std::collections::HashMap;
use std::sync::Arc;

/// What the rewrite did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fp16Report {
    /// Nodes now computing on f16 data.
    pub half_nodes: usize,
    /// Nodes left in f32 by the policy (that had f32 data).
    pub float_nodes: usize,
    /// Constants stored as f16, and their element count.
    pub weights: usize,
    pub weight_elements: usize,
    /// Casts left in the graph after dead ones were removed.
    pub casts: usize,
}

/// Rewrites `g` for FP16 and returns what changed.
pub fn convert(g: &mut Graph) -> Result<Fp16Report> {
    let mut r = Rewrite {
        g,
        p: Patch::new(g),
        twins: HashMap::new(),
        report: Fp16Report::default(),
        casts: 0,
    };
    for i in 0..r.g.nodes.len() {
        let n = &r.g.nodes[i];
        let is_f32 =
            |v: &Option<ValueId>| v.is_some_and(|v| r.g.value(v).dtype == Some(DType::F32));
        if !n.inputs.iter().chain(&n.outputs).any(is_f32) {
            continue;
        }
        if placement(&n.op) == Placement::Float {
            r.report.float_nodes += 1;
            continue;
        }
        let mut half = n.clone();
        for slot in half.inputs.iter_mut() {
            if is_f32(slot) {
                *slot = Some(r.twin(slot.expect("checked")));
            }
        }
        for slot in half.outputs.iter_mut() {
            if is_f32(slot) {
                let v = slot.expect("checked");
                let h = r.new_half_value(v);
                r.twins.insert(v, h);
                // The f32 value stays available for f32 readers and graph outputs; unused such
                // casts are removed below.
                r.cast(h, v, DType::F32);
                *slot = Some(h);
            }
        }
        r.p.remove_node(crate::ir::NodeId(i));
        r.p.add_node(half);
        r.report.half_nodes += 1;
    }
    let (p, mut report) = (r.p, r.report);
    p.apply(g, "fp16")?;
    EliminateDead.run(g)?;
    report.casts = g
        .nodes
        .iter()
        .filter(|n| matches!(n.op, Op::Cast(_)))
        .count();
    tracing::debug!(?report, "fp16 rewrite");
    Ok(report)
}

struct Rewrite<'g> {
    g: &'g Graph,
    p: Patch,
    /// f32 value → its f16 twin.
    twins: HashMap<ValueId, ValueId>,
    report: Fp16Report,
    casts: usize,
}

impl Rewrite<'_> {
    /// The f16 twin of f32 value `v`: a converted constant, the half output already made, or a
    /// Cast from the f32 value (graph inputs, outputs of f32 nodes).
    fn twin(&mut self, v: ValueId) -> ValueId {
        if let Some(&h) = self.twins.get(&v) {
            return h;
        }
        let h = self.new_half_value(v);
        if let Some(t) = constant(self.g, Some(v)) {
            self.report.weights += 1;
            self.report.weight_elements += t.len();
            self.p.set_initializer(h, Arc::new(t.cast(DType::F16)));
        } else {
            self.cast(v, h, DType::F16);
        }
        self.twins.insert(v, h);
        h
    }

    fn new_half_value(&mut self, v: ValueId) -> ValueId {
        let info = self.g.value(v);
        self.p.add_value(ValueInfo {
            name: format!("{}.fp16", info.name),
            dtype: Some(DType::F16),
            shape: info.shape.clone(),
        })
    }

    fn cast(&mut self, from: ValueId, to: ValueId, dtype: DType) {
        self.casts += 1;
        self.p.add_node(Node {
            name: format!("fp16_cast_{}", self.casts),
            op: Op::Cast(Cast { to: dtype }),
            inputs: vec![Some(from)],
            outputs: vec![Some(to)],
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::check;
    use crate::precision::accuracy::measure;
    use crate::zoo::builder::{GraphBuilder, Init};

    #[test]
    fn linear_layers_run_half_and_layer_norm_stays_float() {
        let mut b = GraphBuilder::new(2);
        let x = b.input("x", DType::F32, &[2, 16]);
        let y = b.linear("fc1", &x, 16, 16, Init::Uniform(-0.3, 0.3));
        let y = b.relu("act", &y);
        let y = b.layer_norm("ln", &y, 16, 1e-5);
        let y = b.linear("fc2", &y, 16, 4, Init::Uniform(-0.3, 0.3));
        b.output(&y, "out", DType::F32, &[2, 4]);
        let m = check::model(b);
        let mut half = m.clone();
        let report = convert(&mut half.graph).unwrap();
        assert_eq!(report.half_nodes, 5, "2 MatMul + 2 Add + Relu");
        assert_eq!(report.float_nodes, 1, "LayerNormalization");
        assert_eq!(report.weights, 4);
        // x → f16; relu → f32 for LN; LN → f16; fc2 → f32 output.
        assert_eq!(report.casts, 4);
        let out = half.graph.outputs[0];
        assert_eq!(half.graph.name_of(out), "out");
        assert_eq!(half.graph.value(out).dtype, Some(DType::F32));
        let feed = check::inputs(&m);
        let errs = measure(&m, &half, "cpu", &feed, Some(2)).unwrap();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].rel_l2 > 0.0 && errs[0].rel_l2 < 1e-2, "{errs:?}");
    }
}
