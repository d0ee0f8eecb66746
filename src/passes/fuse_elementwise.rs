//! Elementwise-chain fusion: runs of two or more elementwise nodes on one tensor (unary float ops,
//! and Add/Sub/Mul/Div/Pow/Max/Min with a one-element constant on either side) become one
//! `ElementwiseChain` node, which applies every step while a block of the tensor is in cache, so
//! N steps cost one read and one write of the tensor instead of N.
//! <https://onnx.ai/onnx/operators/>
//!
//! Only f32, f16 and bf16 chains fuse (the kernel computes in f32). A constant that would widen the
//! tensor by broadcasting (more dims than it has) ends the chain. Existing chains grow by merging
//! with their neighbours, so the pass composes with itself and with passes that run between.
//! Runs after `FuseGelu` and `FuseLayerNorm`, whose patterns are made of such steps.

use super::pattern::{out0, scalar_number, scalar_operand, FusedNames, Uses};
use super::{Changed, Pass};
use crate::error::Result;
use crate::ir::{
    BinaryKind, ChainOp, ChainStep, ElementwiseChain, Graph, Node, NodeId, Op, Patch, UnaryKind,
    ValueId, VariadicKind,
};
use crate::tensor::DType;

/// Fuses runs of elementwise nodes into `Op::ElementwiseChain`.
pub struct FuseElementwise;

impl Pass for FuseElementwise {
    fn name(&self) -> &'static str {
        "fuse_elementwise"
    }

    fn run(&self, g: &mut Graph) -> Result<Changed> {
        let uses = Uses::new(g);
        let steps: Vec<Option<(ValueId, Vec<ChainStep>)>> =
            g.nodes.iter().map(|n| as_steps(g, n)).collect();
        // next[i]: the chainable node that is the only reader of node i's output and reads it as x.
        let mut next = vec![None; g.nodes.len()];
        let mut has_prev = vec![false; g.nodes.len()];
        for (i, s) in steps.iter().enumerate() {
            let Some(out) = s.as_ref().and_then(|_| single_output(&g.nodes[i])) else {
                continue;
            };
            let Some(r) = uses.single_reader(g, out) else {
                continue;
            };
            if steps[r.0].as_ref().is_some_and(|(x, _)| *x == out) {
                next[i] = Some(r);
                has_prev[r.0] = true;
            }
        }
        let mut names = FusedNames::new(g);
        let mut p = Patch::new(g);
        let mut fused = 0;
        for head in 0..g.nodes.len() {
            let Some((x, _)) = &steps[head] else { continue };
            let float = matches!(
                g.value(*x).dtype,
                Some(DType::F32 | DType::F16 | DType::BF16)
            );
            if has_prev[head] || next[head].is_none() || !float || g.initializer(*x).is_some() {
                continue;
            }
            let mut run = vec![NodeId(head)];
            while let Some(n) = next[run[run.len() - 1].0] {
                run.push(n);
            }
            let last = &g.nodes[run[run.len() - 1].0];
            let Some(out) = out0(last) else { continue };
            let all: Vec<ChainStep> = run
                .iter()
                .flat_map(|n| steps[n.0].as_ref().map_or(vec![], |s| s.1.clone()))
                .collect();
            let name = names.fresh(&last.name, "ElementwiseChain");
            let replaced: Vec<&str> = run.iter().map(|n| g.nodes[n.0].name.as_str()).collect();
            tracing::debug!(
                pass = self.name(),
                node = %name,
                steps = all.len(),
                replaced = ?replaced,
                "fused elementwise chain"
            );
            for &n in &run {
                p.remove_node(n);
            }
            p.add_node(Node {
                name,
                op: Op::ElementwiseChain(ElementwiseChain { steps: all }),
                inputs: vec![Some(*x)],
                outputs: vec![Some(out)],
            });
            fused += 1;
        }
        if fused == 0 {
            return Ok(false);
        }
        p.apply(g, self.name())?;
        Ok(true)
    }
}

/// The node's one output, when it has exactly one.
fn single_output(n: &Node) -> Option<ValueId> {
    match n.outputs.as_slice() {
        [Some(v)] => Some(*v),
        _ => None,
    }
}

/// What a node contributes to a chain: the tensor it reads and its steps, if it can be a link.
fn as_steps(g: &Graph, n: &Node) -> Option<(ValueId, Vec<ChainStep>)> {
    single_output(n)?;
    let op = match &n.op {
        Op::Unary(u)
            if !matches!(
                u.kind,
                UnaryKind::Not | UnaryKind::BitwiseNot | UnaryKind::IsNaN | UnaryKind::IsInf { .. }
            ) =>
        {
            return Some((n.input(0)?, vec![ChainStep::Unary(u.kind)]))
        }
        Op::ElementwiseChain(c) => return Some((n.input(0)?, c.steps.clone())),
        Op::Binary(b) => match b.kind {
            BinaryKind::Add => ChainOp::Add,
            BinaryKind::Sub => ChainOp::Sub,
            BinaryKind::Mul => ChainOp::Mul,
            BinaryKind::Div => ChainOp::Div,
            BinaryKind::Pow => ChainOp::Pow,
            _ => return None,
        },
        Op::Variadic(v) if n.inputs.len() == 2 => match v.kind {
            VariadicKind::Max => ChainOp::Max,
            VariadicKind::Min => ChainOp::Min,
            _ => return None,
        },
        _ => return None,
    };
    let (a, b) = (n.input(0)?, n.input(1)?);
    let step =
        |x: ValueId, c: ValueId, constant_first: bool| -> Option<(ValueId, Vec<ChainStep>)> {
            if g.initializer(x).is_some() {
                return None;
            }
            // A Pow exponent may be any numeric type; every other constant has x's dtype.
            let constant = if op == ChainOp::Pow && !constant_first {
                scalar_number(g, Some(c), x)? as f32
            } else {
                (g.initializer(c)?.dtype() == g.value(x).dtype?).then_some(())?;
                scalar_operand(g, Some(c), x)?
            };
            Some((
                x,
                vec![ChainStep::Binary {
                    op,
                    constant,
                    constant_first,
                }],
            ))
        };
    step(a, b, false).or_else(|| step(b, a, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::check::{count, model, optimize_and_compare};
    use crate::passes::EliminateDead;
    use crate::tensor::Tensor;
    use crate::zoo::GraphBuilder;

    /// x → Relu(pre) → Mul(·, 2) → Add(1, ·) → Tanh → Sub(3, ·) → Max(·, 0) → y
    fn chain_model(extra_output: Option<&str>) -> crate::ir::Model {
        let mut b = GraphBuilder::new(0);
        let x = b.input("x", DType::F32, &[3, 40]);
        let x = b.relu("pre", &x);
        let two = b.scalar_f32("two", 2.0);
        let one = b.scalar_f32("one", 1.0);
        let three = b.scalar_f32("three", 3.0);
        let zero = b.scalar_f32("zero", 0.0);
        let v = b.binary("Mul", "act", &x, &two);
        let v = b.add("act", &one, &v);
        let v = b.node("Tanh", "act", &[&v], vec![]);
        let v = b.binary("Sub", "act", &three, &v);
        let v = b.node("Max", "act", &[&v, &zero], vec![]);
        b.output(&v, "y", DType::F32, &[3, 40]);
        if let Some(value) = extra_output {
            b.output(value, "side", DType::F32, &[3, 40]);
        }
        model(b)
    }

    fn bin(op: ChainOp, constant: f32, constant_first: bool) -> ChainStep {
        ChainStep::Binary {
            op,
            constant,
            constant_first,
        }
    }

    #[test]
    fn fuses_a_chain_with_the_operand_order_in_each_step() {
        let (opt, counts) = optimize_and_compare(
            &chain_model(None),
            vec![Box::new(FuseElementwise), Box::new(EliminateDead)],
            1e-5,
        );
        assert_eq!(counts[0], ("fuse_elementwise", 1));
        assert_eq!(
            opt.graph.nodes.len(),
            1,
            "Relu, Mul, Add, Tanh, Sub and Max are one chain"
        );
        let n = &opt.graph.nodes[0];
        let want = vec![
            ChainStep::Unary(UnaryKind::Relu),
            bin(ChainOp::Mul, 2.0, false),
            bin(ChainOp::Add, 1.0, true),
            ChainStep::Unary(UnaryKind::Tanh),
            bin(ChainOp::Sub, 3.0, true),
            bin(ChainOp::Max, 0.0, false),
        ];
        assert_eq!(n.op, Op::ElementwiseChain(ElementwiseChain { steps: want }));
        assert_eq!(
            (n.name.as_str(), opt.graph.name_of(n.outputs[0].unwrap())),
            ("/act/ElementwiseChain", "y")
        );
    }

    #[test]
    fn an_intermediate_graph_output_splits_the_chain() {
        // Tanh's output is also an output: Relu..Tanh fuse (writing it) and Sub..Max fuse after it.
        let (opt, _) = optimize_and_compare(
            &chain_model(Some("/act/Tanh_output_0")),
            vec![Box::new(FuseElementwise)],
            1e-5,
        );
        assert_eq!(
            (count(&opt, "ElementwiseChain"), opt.graph.nodes.len()),
            (2, 2)
        );
        let first = opt
            .graph
            .nodes
            .iter()
            .find(|n| opt.graph.name_of(n.outputs[0].unwrap()) == "side")
            .unwrap();
        let Op::ElementwiseChain(c) = &first.op else {
            panic!("{:?}", first.op)
        };
        assert_eq!(c.steps.len(), 4);
    }

    #[test]
    fn does_not_fire_when_the_middle_value_has_another_reader() {
        // x → Neg → Exp, with Neg's output also read by a second node: no run of two is left.
        let mut b = GraphBuilder::new(0);
        let x = b.input("x", DType::F32, &[8]);
        let n = b.node("Neg", "a", &[&x], vec![]);
        let e = b.node("Exp", "a", &[&n], vec![]);
        let s = b.node("Sin", "b", &[&n], vec![]);
        b.output(&e, "y", DType::F32, &[8]);
        b.output(&s, "z", DType::F32, &[8]);
        let (opt, counts) = optimize_and_compare(&model(b), vec![Box::new(FuseElementwise)], 1e-5);
        assert_eq!((counts[0].1, count(&opt, "ElementwiseChain")), (0, 0));
    }

    #[test]
    fn does_not_fire_when_the_middle_value_is_a_graph_output() {
        let mut b = GraphBuilder::new(0);
        let x = b.input("x", DType::F32, &[8]);
        let n = b.node("Neg", "a", &[&x], vec![]);
        let e = b.node("Exp", "a", &[&n], vec![]);
        b.output(&e, "y", DType::F32, &[8]);
        b.output(&n, "n", DType::F32, &[8]);
        let (opt, _) = optimize_and_compare(&model(b), vec![Box::new(FuseElementwise)], 1e-5);
        assert_eq!(count(&opt, "ElementwiseChain"), 0);
    }

    #[test]
    fn integer_chains_and_widening_constants_stay_apart() {
        let mut b = GraphBuilder::new(0);
        let i = b.input("i", DType::I64, &[4]);
        let c = b.tensor("c", Ok(Tensor::scalar(3i64)));
        let i = b.add("int", &i, &c);
        let i = b.binary("Mul", "int", &i, &c);
        b.output(&i, "yi", DType::I64, &[4]);
        // x [4] + c [1, 1] broadcasts to [1, 4]: not a step on x.
        let x = b.input("x", DType::F32, &[4]);
        let w = b.tensor("w", Tensor::from_vec(vec![1, 1], vec![2.0f32]));
        let x = b.add("wide", &x, &w);
        let x = b.node("Exp", "wide", &[&x], vec![]);
        b.output(&x, "yf", DType::F32, &[1, 4]);
        let (opt, _) = optimize_and_compare(&model(b), vec![Box::new(FuseElementwise)], 1e-5);
        assert_eq!(count(&opt, "ElementwiseChain"), 0);
    }

    #[test]
    fn grows_an_existing_chain_and_takes_integer_exponents() {
        // Pow(x, 2 as int64) → Neg fuse; then a Sin appended after the chain merges into it.
        let mut b = GraphBuilder::new(0);
        let x = b.input("x", DType::F32, &[5]);
        let two = b.tensor("two", Ok(Tensor::scalar(2i64)));
        let v = b.binary("Pow", "p", &x, &two);
        let v = b.node("Neg", "p", &[&v], vec![]);
        b.output(&v, "y", DType::F32, &[5]);
        let mut m = model(b);
        assert!(FuseElementwise.run(&mut m.graph).unwrap());
        assert!(
            !FuseElementwise.run(&mut m.graph).unwrap(),
            "nothing left to fuse"
        );
        let g = &mut m.graph;
        let y = g.outputs[0];
        let info = crate::ir::ValueInfo {
            name: "z".into(),
            ..g.value(y).clone()
        };
        let z = g.add_value(info);
        let sin = crate::ir::Unary {
            kind: UnaryKind::Sin,
        };
        g.nodes.push(Node {
            name: "/q/Sin".into(),
            op: Op::Unary(sin),
            inputs: vec![Some(y)],
            outputs: vec![Some(z)],
        });
        g.outputs = vec![z];
        assert!(FuseElementwise.run(g).unwrap());
        assert_eq!(g.nodes.len(), 1);
        let Op::ElementwiseChain(c) = &g.nodes[0].op else {
            panic!("{:?}", g.nodes[0].op)
        };
        let want = vec![
            bin(ChainOp::Pow, 2.0, false),
            ChainStep::Unary(UnaryKind::Neg),
            ChainStep::Unary(UnaryKind::Sin),
        ];
        assert_eq!(c.steps, want);
        assert_eq!(g.name_of(g.nodes[0].outputs[0].unwrap()), "z");
    }
}
