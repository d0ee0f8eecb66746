//! Attention recognition: `MatMul(Q, Kᵀ) → Div/Mul(scalar) → [Add(mask)] → Softmax(last axis) →
//! MatMul(·, V)`, the scaled dot-product attention every transformer exporter writes, becomes one
//! `Attention` node whose kernel never materializes the `[B, H, S, S_kv]` scores beyond one block
//! of rows per worker (see `backend/cpu/ops/attention.rs`).
//! <https://onnx.ai/onnx/operators/onnx__Attention.html>
//!
//! Fuses only f32, f16 and bf16 graphs, with known ranks, and a mask that broadcasts to the scores
//! without widening them (so the fused output has the unfused shape).

use super::pattern::{out0, scaled_by_constant, FusedNames, Uses};
use super::{Changed, Pass};
use crate::error::Result;
use crate::ir::infer::broadcast;
use crate::ir::{Attention, Graph, Node, NodeId, Op, Patch, ValueId};
use crate::tensor::DType;

/// Replaces the attention subgraph by `Op::Attention`.
pub struct FuseAttention;

/// One recognized attention.
struct Match {
    q: ValueId,
    kt: ValueId,
    v: ValueId,
    mask: Option<ValueId>,
    scale: f32,
    nodes: Vec<NodeId>,
    out: ValueId,
}

impl Pass for FuseAttention {
    fn name(&self) -> &'static str {
        "fuse_attention"
    }

    fn run(&self, g: &mut Graph) -> Result<Changed> {
        let uses = Uses::new(g);
        let mut names = FusedNames::new(g);
        let mut p = Patch::new(g);
        let mut fused = 0;
        for i in 0..g.nodes.len() {
            // Each Softmax anchors at most one match, and matches never share a Softmax, so they
            // never overlap.
            let Some(m) = recognize(g, &uses, NodeId(i)) else {
                continue;
            };
            let last = &g.nodes[m.nodes[m.nodes.len() - 1].0].name;
            let name = names.fresh(last, "Attention");
            let replaced: Vec<&str> = m.nodes.iter().map(|n| g.nodes[n.0].name.as_str()).collect();
            tracing::debug!(
                pass = self.name(),
                node = %name,
                scale = m.scale,
                mask = m.mask.is_some(),
                replaced = ?replaced,
                "fused attention"
            );
            for &n in &m.nodes {
                p.remove_node(n);
            }
            let mut inputs = vec![Some(m.q), Some(m.kt), Some(m.v)];
            inputs.extend(m.mask.map(Some));
            p.add_node(Node {
                name,
                op: Op::Attention(Attention {
                    scale: m.scale,
                    has_mask: m.mask.is_some(),
                }),
                inputs,
                outputs: vec![Some(m.out)],
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

/// A MatMul with nothing fused into it, with operands of rank >= 2.
fn plain_matmul(g: &Graph, n: &Node) -> Option<(ValueId, ValueId)> {
    let Op::MatMul(mm) = &n.op else { return None };
    if !mm.epilogue.is_empty() || n.inputs.iter().skip(2).any(|i| i.is_some()) {
        return None;
    }
    let (a, b) = (n.input(0)?, n.input(1)?);
    let rank = |v: ValueId| g.value(v).shape.as_ref().map(|s| s.len());
    (rank(a)? >= 2 && rank(b)? >= 2).then_some((a, b))
}

/// `scale · Q·Kᵀ` written to `v`, read only by `reader`: `(Q, Kᵀ, scale, nodes)`. Without a
/// scaling node the scale is 1.
fn scaled_scores(
    g: &Graph,
    uses: &Uses,
    v: ValueId,
    reader: NodeId,
) -> Option<(ValueId, ValueId, f32, Vec<NodeId>)> {
    if uses.single_reader(g, v) != Some(reader) {
        return None;
    }
    let prod = uses.producer(v)?;
    if let Some((q, kt)) = plain_matmul(g, &g.nodes[prod.0]) {
        return Some((q, kt, 1.0, vec![prod]));
    }
    let (qk, scale) = scaled_by_constant(g, &g.nodes[prod.0])?;
    let mm = uses
        .producer(qk)
        .filter(|_| uses.single_reader(g, qk) == Some(prod))?;
    let (q, kt) = plain_matmul(g, &g.nodes[mm.0])?;
    Some((q, kt, scale, vec![mm, prod]))
}

/// The pattern, anchored at its Softmax.
fn recognize(g: &Graph, uses: &Uses, sm: NodeId) -> Option<Match> {
    let sn = &g.nodes[sm.0];
    let Op::Softmax(s) = &sn.op else { return None };
    let x = sn.input(0)?;
    let x_shape = g.value(x).shape.clone()?;
    let rank = x_shape.len() as i64;
    // Opset < 13's coerce_2d normalizes the same row when the axis is the last one.
    if rank < 2 || !(s.axis == -1 || s.axis == rank - 1) {
        return None;
    }
    let (q, kt, scale, mut nodes, mask) = match scaled_scores(g, uses, x, sm) {
        Some((q, kt, scale, nodes)) => (q, kt, scale, nodes, None),
        None => {
            if uses.single_reader(g, x) != Some(sm) {
                return None;
            }
            let add = uses.producer(x)?;
            let an = &g.nodes[add.0];
            if an.op.name() != "Add" {
                return None;
            }
            let (a, b) = (an.input(0)?, an.input(1)?);
            let (scores, mask) = [(a, b), (b, a)]
                .into_iter()
                .find(|&(s, _)| scaled_scores(g, uses, s, add).is_some())?;
            let (q, kt, scale, mut nodes) = scaled_scores(g, uses, scores, add)?;
            // The mask must not widen the scores (then the fused output would have another shape).
            let scores_shape = g.value(scores).shape.clone()?;
            let mask_shape = g.value(mask).shape.clone()?;
            if mask_shape.len() > scores_shape.len()
                || broadcast(&[&scores_shape, &mask_shape]) != Some(scores_shape)
            {
                return None;
            }
            nodes.push(add);
            (q, kt, scale, nodes, Some(mask))
        }
    };
    let probs = out0(sn)?;
    let mm2 = uses.single_reader(g, probs)?;
    let (p_in, v) = plain_matmul(g, &g.nodes[mm2.0])?;
    if p_in != probs || v == probs {
        return None;
    }
    let dtype = g
        .value(q)
        .dtype
        .filter(|d| matches!(d, DType::F32 | DType::F16 | DType::BF16))?;
    if [kt, v]
        .into_iter()
        .chain(mask)
        .any(|t| g.value(t).dtype != Some(dtype))
    {
        return None;
    }
    nodes.extend([sm, mm2]);
    Some(Match {
        q,
        kt,
        v,
        mask,
        scale,
        nodes,
        out: out0(&g.nodes[mm2.0])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::check::{count, model, optimize_and_compare, optimize_and_compare_on};
    use crate::passes::{EliminateDead, FuseElementwise, FuseGelu, FuseLayerNorm};
    use crate::tensor::Tensor;
    use crate::zoo::{GraphBuilder, ZooOptions};
    use std::collections::HashMap;

    /// Q [2, 3, 10, 8], Kᵀ [2, 3, 8, 12], V [2, 3, 12, 4] as inputs; optional mask [2, 1, 1, 12].
    fn attention_graph(b: &mut GraphBuilder, mask: bool, mul_scale: bool) -> String {
        let q = b.input("q", DType::F32, &[2, 3, 10, 8]);
        let k = b.input("k", DType::F32, &[2, 3, 8, 12]);
        let v = b.input("v", DType::F32, &[2, 3, 12, 4]);
        let s = b.node("MatMul", "attn", &[&q, &k], vec![]);
        let s = if mul_scale {
            let c = b.scalar_f32("scale", 0.125);
            b.binary("Mul", "attn", &c, &s)
        } else {
            let c = b.scalar_f32("sqrt_d", 8f32.sqrt());
            b.binary("Div", "attn", &s, &c)
        };
        let s = if mask {
            let m = b.input("mask", DType::F32, &[2, 1, 1, 12]);
            b.add("attn", &m, &s)
        } else {
            s
        };
        let p = b.softmax("attn", &s, -1);
        b.node("MatMul", "attn", &[&p, &v], vec![])
    }

    #[test]
    fn fires_with_and_without_mask() {
        for (mask, mul_scale) in [(true, false), (false, true)] {
            let mut b = GraphBuilder::new(0);
            let y = attention_graph(&mut b, mask, mul_scale);
            b.output(&y, "y", DType::F32, &[2, 3, 10, 4]);
            let (opt, counts) = optimize_and_compare(
                &model(b),
                vec![Box::new(FuseAttention), Box::new(EliminateDead)],
                1e-5,
            );
            assert_eq!(counts[0], ("fuse_attention", 1));
            assert_eq!(
                (
                    count(&opt, "Attention"),
                    count(&opt, "Softmax"),
                    count(&opt, "MatMul")
                ),
                (1, 0, 0)
            );
            let n = &opt.graph.nodes[0];
            let scale = if mul_scale { 0.125 } else { 1.0 / 8f32.sqrt() };
            assert_eq!(
                n.op,
                Op::Attention(Attention {
                    scale,
                    has_mask: mask
                })
            );
            assert_eq!(n.inputs.len(), 3 + mask as usize);
            assert_eq!(
                (n.name.as_str(), opt.graph.name_of(n.outputs[0].unwrap())),
                ("/attn/Attention", "y")
            );
        }
    }

    #[test]
    fn does_not_fire_when_the_probabilities_are_read_elsewhere() {
        let mut b = GraphBuilder::new(0);
        let y = attention_graph(&mut b, true, false);
        b.output(&y, "y", DType::F32, &[2, 3, 10, 4]);
        b.output(
            "/attn/Softmax_output_0",
            "probs",
            DType::F32,
            &[2, 3, 10, 12],
        );
        let (opt, counts) = optimize_and_compare(&model(b), vec![Box::new(FuseAttention)], 1e-5);
        assert_eq!(
            (
                counts[0].1,
                count(&opt, "Attention"),
                count(&opt, "Softmax")
            ),
            (0, 0, 1)
        );
    }

    #[test]
    fn does_not_fire_when_the_raw_scores_have_a_second_reader() {
        let mut b = GraphBuilder::new(0);
        let y = attention_graph(&mut b, false, false);
        let z = b.node("Neg", "other", &["/attn/MatMul_output_0"], vec![]);
        b.output(&y, "y", DType::F32, &[2, 3, 10, 4]);
        b.output(&z, "z", DType::F32, &[2, 3, 10, 12]);
        let (opt, _) = optimize_and_compare(&model(b), vec![Box::new(FuseAttention)], 1e-5);
        assert_eq!(count(&opt, "Attention"), 0);
    }

    #[test]
    fn a_mask_that_widens_the_scores_is_not_fused() {
        // Scores [10, 12] + mask [2, 10, 12] → [2, 10, 12]: fusing would change the shape.
        let mut b = GraphBuilder::new(0);
        let q = b.input("q", DType::F32, &[10, 8]);
        let k = b.input("k", DType::F32, &[8, 12]);
        let v = b.input("v", DType::F32, &[12, 4]);
        let m = b.input("mask", DType::F32, &[2, 10, 12]);
        let s = b.node("MatMul", "attn", &[&q, &k], vec![]);
        let s = b.add("attn", &s, &m);
        let p = b.softmax("attn", &s, -1);
        let y = b.node("MatMul", "attn", &[&p, &v], vec![]);
        b.output(&y, "y", DType::F32, &[2, 10, 4]);
        let (opt, _) = optimize_and_compare(&model(b), vec![Box::new(FuseAttention)], 1e-5);
        assert_eq!(count(&opt, "Attention"), 0);
    }

    #[test]
    fn zoo_bert_fuses_attention_and_gelu() {
        let opts = ZooOptions {
            batch: 1,
            seq: 16,
            layers: Some(2),
            seed: 0,
        };
        let m = crate::zoo::load("bert", &opts).unwrap();
        let before = (count(&m, "Softmax"), count(&m, "Erf"), count(&m, "Mul"));
        assert_eq!(before, (2, 2, 5));
        let passes: Vec<Box<dyn crate::passes::Pass>> = vec![
            Box::new(FuseLayerNorm),
            Box::new(FuseGelu),
            Box::new(FuseAttention),
            Box::new(FuseElementwise),
            Box::new(EliminateDead),
        ];
        // Token ids spread over the vocabulary, two segments, the last four positions padding.
        let ids: Vec<i64> = (0..16).map(|i| (i * 7919 + 101) % 30522).collect();
        let mask: Vec<i64> = (0..16).map(|i| (i < 12) as i64).collect();
        let types: Vec<i64> = (0..16).map(|i| (i >= 8) as i64).collect();
        let feed: HashMap<String, Tensor> = [
            ("input_ids", ids),
            ("attention_mask", mask),
            ("token_type_ids", types),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_string(), Tensor::from_vec(vec![1, 16], v).unwrap()))
        .collect();
        let (opt, _) = optimize_and_compare_on(&m, passes, 1e-4, &feed);
        assert_eq!((count(&opt, "Attention"), count(&opt, "Softmax")), (2, 0));
        assert_eq!((count(&opt, "Gelu"), count(&opt, "Erf")), (2, 0));
        // The extended mask's `(1 - m) · -10000` is one chain; nothing else is left to multiply.
        assert_eq!(
            (
                count(&opt, "ElementwiseChain"),
                count(&opt, "Mul"),
                count(&opt, "Div")
            ),
            (1, 0, 0)
        );
    }
}
