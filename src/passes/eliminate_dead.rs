//! Dead-node elimination: removes nodes none of whose outputs reach a graph output, and initializers
//! nothing reads.

use super::{Changed, Pass};
use crate::error::Result;
use crate::ir::{Graph, NodeId, Patch};

pub struct EliminateDead;

impl Pass for EliminateDead {
    fn name(&self) -> &'static str {
        "eliminate_dead"
    }

    fn run(&self, g: &mut Graph) -> Result<Changed> {
        // Walk backwards from the outputs: a node is live when one of its outputs is read by a live
        // node or is a graph output.
        let mut live_value = vec![false; g.values.len()];
        for o in &g.outputs {
            live_value[o.0] = true;
        }
        let mut dead = Vec::new();
        for (i, n) in g.nodes.iter().enumerate().rev() {
            if n.outputs.iter().flatten().any(|v| live_value[v.0]) {
                for v in n.inputs.iter().flatten() {
                    live_value[v.0] = true;
                }
            } else {
                dead.push(NodeId(i));
            }
        }
        let unused_inits: Vec<_> = g
            .initializers
            .keys()
            .filter(|v| !live_value[v.0])
            .copied()
            .collect();
        if dead.is_empty() && unused_inits.is_empty() {
            return Ok(false);
        }
        let mut p = Patch::new(g);
        for d in dead {
            p.remove_node(d);
        }
        p.apply(g, self.name())?;
        for v in unused_inits {
            g.initializers.remove(&v);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Node, Op, ValueInfo};
    use crate::tensor::Tensor;
    use std::sync::Arc;

    #[test]
    fn removes_unreachable_nodes_and_weights() {
        let mut g = Graph {
            name: "g".into(),
            ..Default::default()
        };
        let x = g.add_value(ValueInfo::named("x"));
        let y = g.add_value(ValueInfo::named("y"));
        let w = g.add_value(ValueInfo::named("w"));
        let z = g.add_value(ValueInfo::named("z"));
        g.inputs.push(x);
        g.initializers.insert(w, Arc::new(Tensor::scalar(1.0f32)));
        g.nodes.push(Node {
            name: "keep".into(),
            op: Op::Identity,
            inputs: vec![Some(x)],
            outputs: vec![Some(y)],
        });
        g.nodes.push(Node {
            name: "dead".into(),
            op: Op::MatMul(Default::default()),
            inputs: vec![Some(x), Some(w)],
            outputs: vec![Some(z)],
        });
        g.outputs.push(y);
        assert!(EliminateDead.run(&mut g).unwrap());
        assert_eq!(g.nodes.len(), 1);
        assert_eq!(g.nodes[0].name, "keep");
        assert!(g.initializers.is_empty());
        assert!(!EliminateDead.run(&mut g).unwrap());
    }
}
