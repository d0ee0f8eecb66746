//! Bias fusion: `Add(MatMul(a, w), b)` with a constant `b` of one value per output column becomes
//! a MatMul that starts from the bias (the GEMM accumulates onto it), and `Add(Conv(x, w), b)` with
//! a per-channel constant folds into the Conv's bias. Exporters write Linear layers this way.

use super::pattern::{absorb, constant, out0, static_shape, Uses};
use super::{Changed, Pass};
use crate::error::Result;
use crate::ir::{BinaryKind, Graph, Node, NodeId, Op, Patch, ValueId, ValueInfo};
use crate::tensor::Tensor;
use std::sync::Arc;

pub struct FuseBias;

impl Pass for FuseBias {
    fn name(&self) -> &'static str {
        "fuse_bias"
    }

    fn run(&self, g: &mut Graph) -> Result<Changed> {
        let uses = Uses::new(g);
        let mut p = Patch::new(g);
        let mut taken = vec![false; g.nodes.len()];
        for (i, add) in g.nodes.iter().enumerate() {
            if !matches!(&add.op, Op::Binary(b) if b.kind == BinaryKind::Add) {
                continue;
            }
            let (Some(l), Some(r)) = (add.input(0), add.input(1)) else {
                continue;
            };
            // The product on one side, the constant on the other.
            let Some((y, bias)) = [(l, r), (r, l)].into_iter().find(|&(y, b)| {
                constant(g, Some(b)).is_some()
                    && uses.producer(y).is_some_and(|p| is_host(&g.nodes[p.0]))
            }) else {
                continue;
            };
            let host_id = uses.producer(y).expect("checked above");
            if taken[host_id.0] || uses.single_reader(g, y) != Some(NodeId(i)) {
                continue;
            }
            let host = &g.nodes[host_id.0];
            let Some(fused) = fuse(g, &mut p, host, y, bias, out0(add)) else {
                continue;
            };
            taken[host_id.0] = true;
            absorb(&mut p, host_id, NodeId(i), fused);
            tracing::debug!(pass = self.name(), node = %host.name, add = %add.name, "fused bias Add");
        }
        p.commit(g, self.name())
    }
}

/// A MatMul or Conv that has not fused anything yet.
fn is_host(n: &Node) -> bool {
    match &n.op {
        Op::MatMul(m) => m.epilogue.is_empty() && n.input(2).is_none(),
        Op::Conv(c) => c.epilogue.is_empty(),
        _ => false,
    }
}

/// The host with the bias folded in, writing `out`; `None` when the bias does not have one value
/// per output column (MatMul) or channel (Conv), or the Add would broadcast the product.
fn fuse(
    g: &Graph,
    p: &mut Patch,
    host: &Node,
    y: ValueId,
    bias: ValueId,
    out: Option<ValueId>,
) -> Option<Node> {
    let b = constant(g, Some(bias))?;
    let ys = static_shape(g, y)?;
    if out.and_then(|o| static_shape(g, o)) != Some(ys.clone()) || b.dtype() != g.value(y).dtype? {
        return None;
    }
    let bs = b.shape();
    let mut fused = host.clone();
    fused.outputs = vec![out];
    match &host.op {
        Op::MatMul(_) => {
            let n = *ys.last()?;
            // [n] or [1, …, 1, n]: one value per column.
            if b.len() != n || bs.last() != Some(&n) || bs.len() > ys.len() {
                return None;
            }
            fused.inputs = vec![host.input(0), host.input(1), Some(bias)];
        }
        Op::Conv(_) => {
            let m = *ys.get(1)?;
            // [M, 1, …] or [1, M, 1, …] aligned to the channel axis of the output.
            let channel_axis = bs.len().checked_sub(ys.len() - 1)?;
            if b.len() != m || bs.len() > ys.len() || bs.get(channel_axis) != Some(&m) {
                return None;
            }
            let mut total = b.to_vec::<f64>();
            if let Some(old) = host.input(2) {
                let old = constant(g, Some(old))?.to_vec::<f64>();
                total.iter_mut().zip(old).for_each(|(t, o)| *t += o);
            }
            let t = Tensor::from_vec(vec![m], total).ok()?.cast(b.dtype());
            let v = p.add_value(ValueInfo {
                name: format!("{}.fused_bias", host.name),
                ..Default::default()
            });
            p.set_initializer(v, Arc::new(t));
            fused.inputs = vec![host.input(0), host.input(1), Some(v)];
        }
        _ => return None,
    }
    Some(fused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::{check, EliminateDead};
    use crate::tensor::DType;
    use crate::zoo::builder::{GraphBuilder, Init};

    #[test]
    fn linear_layer_becomes_one_matmul() {
        let mut b = GraphBuilder::new(5);
        let x = b.input("x", DType::F32, &[2, 4, 8]);
        let y = b.linear("fc", &x, 8, 6, Init::Uniform(-1.0, 1.0));
        b.output(&y, "out", DType::F32, &[2, 4, 6]);
        let m = check::model(b);
        let (opt, counts) = check::optimize_and_compare(
            &m,
            vec![Box::new(FuseBias), Box::new(EliminateDead)],
            1e-6,
        );
        assert_eq!(counts[0].1, 1);
        assert_eq!(check::count(&opt, "Add"), 0);
        assert_eq!(opt.graph.nodes[0].inputs.len(), 3);
    }

    #[test]
    fn per_channel_add_folds_into_conv_bias() {
        let mut b = GraphBuilder::new(5);
        let x = b.input("x", DType::F32, &[1, 2, 5, 5]);
        let y = b.conv("c", &x, 2, 3, 3, 1, 1);
        let bias = b.weight("bias", &[3, 1, 1], Init::Uniform(-1.0, 1.0));
        let y = b.add("add", &y, &bias);
        b.output(&y, "out", DType::F32, &[1, 3, 5, 5]);
        let m = check::model(b);
        let (opt, _) = check::optimize_and_compare(
            &m,
            vec![Box::new(FuseBias), Box::new(EliminateDead)],
            1e-6,
        );
        assert_eq!(check::count(&opt, "Add"), 0);
    }

    #[test]
    fn a_broadcasting_add_is_not_a_bias() {
        // The Add broadcasts [4, 6] up to [3, 4, 6]: not a bias of the product.
        let mut b = GraphBuilder::new(5);
        let x = b.input("x", DType::F32, &[4, 8]);
        let w = b.weight("w", &[8, 6], Init::Uniform(-1.0, 1.0));
        let y = b.node("MatMul", "mm", &[&x, &w], vec![]);
        let big = b.weight("big", &[3, 4, 6], Init::Uniform(-1.0, 1.0));
        let y = b.add("add", &y, &big);
        b.output(&y, "out", DType::F32, &[3, 4, 6]);
        let m = check::model(b);
        let (_, counts) = check::optimize_and_compare(&m, vec![Box::new(FuseBias)], 0.0);
        assert_eq!(counts[0].1, 0);
    }
}
