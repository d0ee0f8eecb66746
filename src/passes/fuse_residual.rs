//! Residual fusion: `Add(Conv(..), r)` or `Add(MatMul(..), r)`, where `r` has exactly the output's
//! shape, becomes the Conv/MatMul with `+ r` in its epilogue (ResNet blocks, transformer skip
//! connections): the sum is formed while the product's block is still in cache.

use super::pattern::{absorb, out0, static_shape, Uses};
use super::{Changed, Pass};
use crate::error::Result;
use crate::ir::{BinaryKind, Graph, Node, NodeId, Op, Patch};

pub struct FuseResidual;

impl Pass for FuseResidual {
    fn name(&self) -> &'static str {
        "fuse_residual"
    }

    fn run(&self, g: &mut Graph) -> Result<Changed> {
        let uses = Uses::new(g);
        let mut p = Patch::new(g);
        let mut taken = vec![false; g.nodes.len()];
        for (i, add) in g.nodes.iter().enumerate() {
            if !matches!(&add.op, Op::Binary(b) if b.kind == BinaryKind::Add) {
                continue;
            }
            let (Some(l), Some(r), Some(out)) = (add.input(0), add.input(1), out0(add)) else {
                continue;
            };
            let shape = static_shape(g, out);
            if shape.is_none()
                || static_shape(g, l) != shape
                || static_shape(g, r) != shape
                || l == r
            {
                continue;
            }
            // Host: the operand's producer that comes last, so the other operand is computed
            // before it and the fused node does not depend on itself.
            let pos = |v| uses.producer(v).map_or(-1, |n: NodeId| n.0 as isize);
            let (y, res) = if pos(l) >= pos(r) { (l, r) } else { (r, l) };
            let Some(host_id) = uses.producer(y) else {
                continue;
            };
            let host = &g.nodes[host_id.0];
            if taken[host_id.0]
                || !accepts_residual(host)
                || uses.single_reader(g, y) != Some(NodeId(i))
            {
                continue;
            }
            if !g.value(y).dtype.is_some_and(|d| d.is_float()) {
                continue;
            }
            let mut fused = host.clone();
            match &mut fused.op {
                Op::Conv(c) => c.epilogue.residual = true,
                Op::MatMul(m) => m.epilogue.residual = true,
                _ => continue,
            }
            fused.inputs.resize(3, None);
            fused.inputs.push(Some(res));
            fused.outputs = vec![Some(out)];
            taken[host_id.0] = true;
            absorb(&mut p, host_id, NodeId(i), fused);
            tracing::debug!(pass = self.name(), node = %host.name, add = %add.name, "fused residual Add");
        }
        p.commit(g, self.name())
    }
}

/// A Conv or MatMul with no residual and no activation yet (the residual comes before it).
fn accepts_residual(n: &Node) -> bool {
    match &n.op {
        Op::Conv(c) => c.epilogue.is_empty(),
        Op::MatMul(m) => m.epilogue.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::{check, EliminateDead, FuseBias};
    use crate::tensor::DType;
    use crate::zoo::builder::{GraphBuilder, Init};

    #[test]
    fn residual_block_adds_inside_the_conv() {
        let mut b = GraphBuilder::new(9);
        let x = b.input("x", DType::F32, &[1, 4, 6, 6]);
        let h = b.relu("pre", &x);
        let y = b.conv("c", &h, 4, 4, 3, 1, 1);
        let y = b.add("skip", &h, &y);
        let y = b.relu("post", &y);
        b.output(&y, "out", DType::F32, &[1, 4, 6, 6]);
        let m = check::model(b);
        let (opt, counts) = check::optimize_and_compare(
            &m,
            vec![Box::new(FuseResidual), Box::new(EliminateDead)],
            1e-6,
        );
        assert_eq!(counts[0].1, 1);
        assert_eq!(check::count(&opt, "Add"), 0);
    }

    #[test]
    fn linear_plus_skip_fuses_after_the_bias() {
        let mut b = GraphBuilder::new(9);
        let x = b.input("x", DType::F32, &[3, 8]);
        let y = b.linear("fc", &x, 8, 8, Init::Uniform(-1.0, 1.0));
        let y = b.add("skip", &y, &x);
        b.output(&y, "out", DType::F32, &[3, 8]);
        let m = check::model(b);
        let (opt, _) =
            check::optimize_and_compare(&m, vec![Box::new(FuseBias), Box::new(FuseResidual)], 1e-6);
        assert_eq!(check::count(&opt, "Add"), 0);
        assert_eq!(check::count(&opt, "MatMul"), 1);
    }

    #[test]
    fn two_convs_feeding_one_add_fuse_once_without_a_cycle() {
        let mut b = GraphBuilder::new(9);
        let x = b.input("x", DType::F32, &[1, 4, 6, 6]);
        let y1 = b.conv("c1", &x, 4, 4, 1, 1, 1);
        let y2 = b.conv("c2", &x, 4, 4, 3, 1, 1);
        let y = b.add("join", &y1, &y2);
        b.output(&y, "out", DType::F32, &[1, 4, 6, 6]);
        let m = check::model(b);
        let (opt, counts) = check::optimize_and_compare(&m, vec![Box::new(FuseResidual)], 1e-6);
        assert_eq!(counts[0].1, 1);
        assert_eq!(check::count(&opt, "Conv"), 2);
        assert_eq!(check::count(&opt, "Add"), 0);
    }
}
