//! Constant folding: a node whose inputs are all constants is run once, now, on the CPU kernels,
//! and replaced by its result; `Shape` and `Size` of a value whose shape is fully known become
//! constants too. Run to a fixed point with shape inference in between (the pass manager does
//! that), this folds whole shape sub-graphs such as `Shape → Gather → Unsqueeze → Concat →
//! Reshape` once the input shapes are bound.

use super::pattern::{constant, static_shape};
use super::{Changed, Pass};
use crate::backend::cpu::ops;
use crate::error::Result;
use crate::ir::{Graph, Node, NodeId, Op, Patch, ShapeOf};
use crate::tensor::Tensor;
use std::sync::Arc;

/// A folded result larger than this stays a computation: folding would only bloat the plan
/// (a `ConstantOfShape` of a big activation shape, say).
const MAX_FOLDED_BYTES: usize = 64 << 20;

pub struct FoldConstants;

impl Pass for FoldConstants {
    fn name(&self) -> &'static str {
        "fold_constants"
    }

    fn run(&self, g: &mut Graph) -> Result<Changed> {
        let mut p = Patch::new(g);
        let mut changed = false;
        for (i, n) in g.nodes.iter().enumerate() {
            let Some(outs) = fold(g, n) else { continue };
            if outs.iter().any(|t| t.size_bytes() > MAX_FOLDED_BYTES) {
                continue;
            }
            tracing::debug!(pass = self.name(), node = %n.name, op = n.op.name(), "folded to a constant");
            p.remove_node(NodeId(i));
            for (slot, t) in n.outputs.iter().zip(outs) {
                if let Some(v) = slot {
                    p.set_initializer(*v, Arc::new(t));
                }
            }
            changed = true;
        }
        if !changed {
            return Ok(false);
        }
        p.apply(g, self.name())?;
        Ok(true)
    }
}

/// The node's outputs, when they can be known now; `None` otherwise (including when the kernel
/// fails: then the error surfaces at run time, where it names the inputs that caused it).
fn fold(g: &Graph, n: &Node) -> Option<Vec<Tensor>> {
    if matches!(n.op, Op::If(_) | Op::Loop(_)) || n.outputs.iter().flatten().next().is_none() {
        return None;
    }
    match &n.op {
        Op::Shape(s) => return shape_of(s, &static_shape(g, n.input(0)?)?).map(|t| vec![t]),
        Op::Size => {
            let n: usize = static_shape(g, n.input(0)?)?.iter().product();
            return Some(vec![Tensor::scalar(n as i64)]);
        }
        _ => {}
    }
    let mut args: Vec<Option<&Tensor>> = Vec::with_capacity(n.inputs.len());
    for v in &n.inputs {
        match v {
            None => args.push(None),
            Some(_) => args.push(Some(&**constant(g, *v)?)),
        }
    }
    if args.iter().all(Option::is_none) {
        return None;
    }
    let outs = ops::run(n, &args).ok()?;
    (outs.len() >= n.outputs.len()).then_some(outs)
}

/// `Shape` with its `start`/`end` slice, per the spec's clamping rules.
fn shape_of(s: &ShapeOf, dims: &[usize]) -> Option<Tensor> {
    let r = dims.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let (a, b) = (clamp(s.start), clamp(s.end.unwrap_or(r)));
    let v: Vec<i64> = dims[a..b.max(a)].iter().map(|&d| d as i64).collect();
    Tensor::from_vec(vec![v.len()], v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::infer::infer_shapes;
    use crate::passes::{check, EliminateDead};
    use crate::tensor::DType;
    use crate::zoo::builder::{Attr, GraphBuilder};

    #[test]
    fn folds_a_shape_subgraph_into_a_constant_reshape() {
        // y = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1]))  → Reshape(x, [2, -1]).
        let mut b = GraphBuilder::new(1);
        let x = b.input("x", DType::F32, &[2, 3, 4]);
        let s = b.node("Shape", "shape", &[&x], vec![]);
        let zero = b.tensor("zero", Ok(Tensor::scalar(0i64)));
        let d0 = b.gather("g", &s, &zero, 0);
        let d0 = b.unsqueeze("u", &d0, &[0]);
        let rest = b.ints("rest", &[-1]);
        let target = b.node("Concat", "cat", &[&d0, &rest], vec![("axis", Attr::Int(0))]);
        let y = b.node("Reshape", "r", &[&x, &target], vec![]);
        b.output(&y, "out", DType::F32, &[2, 12]);
        let mut m = check::model(b);
        infer_shapes(&mut m.graph).unwrap();
        let (opt, counts) = check::optimize_and_compare(
            &m,
            vec![Box::new(FoldConstants), Box::new(EliminateDead)],
            0.0,
        );
        assert!(counts[0].1 >= 1);
        assert_eq!(opt.graph.nodes.len(), 1, "only the Reshape is left");
        let shape = constant(&opt.graph, opt.graph.nodes[0].input(1)).unwrap();
        assert_eq!(shape.to_i64_vec(), vec![2, -1]);
    }

    #[test]
    fn leaves_nodes_reading_inputs_alone() {
        let mut b = GraphBuilder::new(1);
        let x = b.input("x", DType::F32, &[3]);
        let y = b.relu("a", &x);
        b.output(&y, "out", DType::F32, &[3]);
        let m = check::model(b);
        let (_, counts) = check::optimize_and_compare(&m, vec![Box::new(FoldConstants)], 0.0);
        assert_eq!(counts[0].1, 0);
    }

    #[test]
    fn shape_slice_follows_the_spec() {
        let s = ShapeOf {
            start: -2,
            end: None,
        };
        assert_eq!(
            shape_of(&s, &[1, 3, 224, 224]).unwrap().to_i64_vec(),
            vec![224, 224]
        );
        let s = ShapeOf {
            start: 1,
            end: Some(-5),
        };
        assert_eq!(shape_of(&s, &[1, 3]).unwrap().len(), 0);
    }
}
