//! Activation fusion: an activation (Relu, Clip with constant bounds, Sigmoid, HardSwish, Gelu, …)
//! right after a Conv, Gemm or MatMul becomes the last step of that node's epilogue, applied to
//! each output block while it is in cache instead of in a second pass over the whole tensor.

use super::pattern::{absorb, constant, out0, scalar_f32, Uses};
use super::{Changed, Pass};
use crate::error::Result;
use crate::ir::{FusedActivation, Graph, Node, NodeId, Op, Patch, UnaryKind};

pub struct FuseActivation;

impl Pass for FuseActivation {
    fn name(&self) -> &'static str {
        "fuse_activation"
    }

    fn run(&self, g: &mut Graph) -> Result<Changed> {
        let uses = Uses::new(g);
        let mut p = Patch::new(g);
        let mut taken = vec![false; g.nodes.len()];
        for (i, act) in g.nodes.iter().enumerate() {
            let Some(a) = activation(g, act) else {
                continue;
            };
            let Some(y) = act.input(0) else { continue };
            let Some(host_id) = uses.producer(y) else {
                continue;
            };
            let host = &g.nodes[host_id.0];
            if taken[host_id.0] || uses.single_reader(g, y) != Some(NodeId(i)) {
                continue;
            }
            if !g.value(y).dtype.is_some_and(|d| d.is_float()) {
                continue;
            }
            let mut fused = host.clone();
            let slot = match &mut fused.op {
                Op::Conv(c) => &mut c.epilogue.activation,
                Op::MatMul(m) => &mut m.epilogue.activation,
                Op::Gemm(gm) => &mut gm.activation,
                _ => continue,
            };
            if slot.is_some() {
                continue;
            }
            *slot = Some(a);
            fused.outputs = vec![out0(act)];
            taken[host_id.0] = true;
            absorb(&mut p, host_id, NodeId(i), fused);
            tracing::debug!(pass = self.name(), node = %host.name, activation = %act.name, "fused {}", a.name());
        }
        p.commit(g, self.name())
    }
}

/// The activation `n` computes, if it is one a producer can apply elementwise on floats.
fn activation(g: &Graph, n: &Node) -> Option<FusedActivation> {
    match &n.op {
        Op::Unary(u) => {
            use UnaryKind::*;
            match u.kind {
                Relu
                | LeakyRelu { .. }
                | Elu { .. }
                | Selu { .. }
                | Celu { .. }
                | Sigmoid
                | HardSigmoid { .. }
                | HardSwish
                | Softplus
                | Softsign
                | Mish
                | Swish { .. }
                | Tanh
                | Gelu { .. } => Some(FusedActivation::Unary(u.kind)),
                _ => None,
            }
        }
        Op::Clip(c) => {
            // Bounds from attributes (opset < 11) or constant inputs; a bound computed at run
            // time cannot be baked in.
            let bound = |attr: Option<f32>, i: usize| match (attr, n.input(i)) {
                (Some(v), _) => Some(Some(v)),
                (None, None) => Some(None),
                (None, Some(v)) => constant(g, Some(v)).and(scalar_f32(g, Some(v))).map(Some),
            };
            Some(FusedActivation::Clip {
                min: bound(c.min, 1)?,
                max: bound(c.max, 2)?,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::{check, EliminateDead, FuseBias};
    use crate::tensor::DType;
    use crate::zoo::builder::{GraphBuilder, Init};

    #[test]
    fn conv_relu6_and_linear_gelu_fuse() {
        let mut b = GraphBuilder::new(4);
        let x = b.input("x", DType::F32, &[1, 3, 6, 6]);
        let y = b.conv("c", &x, 3, 4, 3, 1, 1);
        let y = b.clip("relu6", &y, 0.0, 6.0);
        let y = b.flatten("f", &y);
        let y = b.linear("fc", &y, 144, 10, Init::Uniform(-0.1, 0.1));
        let y = b.node("Gelu", "gelu", &[&y], vec![]);
        b.output(&y, "out", DType::F32, &[1, 10]);
        let mut m = check::model(b);
        m.opsets.insert(String::new(), 20);
        let passes: Vec<Box<dyn crate::passes::Pass>> = vec![
            Box::new(FuseBias),
            Box::new(FuseActivation),
            Box::new(EliminateDead),
        ];
        let (opt, counts) = check::optimize_and_compare(&m, passes, 1e-6);
        assert_eq!(counts[1].1, 1, "both fusions in one run");
        assert_eq!(check::count(&opt, "Clip"), 0);
        assert_eq!(check::count(&opt, "Gelu"), 0);
        assert_eq!(opt.graph.nodes.len(), 3);
    }

    #[test]
    fn activation_of_a_graph_output_product_is_not_fused() {
        let mut b = GraphBuilder::new(4);
        let x = b.input("x", DType::F32, &[1, 3, 6, 6]);
        let y = b.conv("c", &x, 3, 4, 3, 1, 1);
        let z = b.relu("r", &y);
        b.output(&z, "out", DType::F32, &[1, 4, 6, 6]);
        b.output(&y, "pre", DType::F32, &[1, 4, 6, 6]);
        let m = check::model(b);
        let (_, counts) = check::optimize_and_compare(&m, vec![Box::new(FuseActivation)], 0.0);
        assert_eq!(counts[0].1, 0);
    }
}
