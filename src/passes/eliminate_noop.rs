//! No-op elimination: nodes that pass their input through unchanged (Identity, Dropout at
//! inference, Cast to the type it already has, Reshape to the shape it already has, Transpose with
//! the identity permutation), and pairs that collapse into one (Reshape of a Reshape, Transpose of
//! a Transpose). Graph outputs keep their names (see [`pattern::bypass`]).

use super::pattern::{self, bypass, static_shape, Uses};
use super::{Changed, Pass};
use crate::error::Result;
use crate::ir::{Graph, NodeId, Op, Patch, Transpose};

pub struct EliminateNoop;

impl Pass for EliminateNoop {
    fn name(&self) -> &'static str {
        "eliminate_noop"
    }

    fn run(&self, g: &mut Graph) -> Result<Changed> {
        let uses = Uses::new(g);
        let mut p = Patch::new(g);
        // Each node is touched by at most one rewrite per run; the manager runs us again.
        let mut touched = vec![false; g.nodes.len()];
        for (i, n) in g.nodes.iter().enumerate() {
            let (Some(x), Some(y)) = (n.input(0), pattern::out0(n)) else {
                continue;
            };
            if touched[i] || n.outputs.iter().flatten().count() != 1 {
                continue;
            }
            let id = NodeId(i);
            let done = if passes_through(g, n, x, y) {
                let ok = bypass(g, &uses, &mut p, id, x, y);
                if ok {
                    if let Some(prod) = uses.producer(x) {
                        touched[prod.0] = true;
                    }
                }
                ok
            } else {
                collapse_pair(g, &uses, &mut p, id, x, &mut touched)
            };
            if done {
                touched[i] = true;
                tracing::debug!(pass = self.name(), node = %n.name, op = n.op.name(), "removed or merged");
            }
        }
        p.commit(g, self.name())
    }
}

/// Whether node `n` (input `x`, output `y`) leaves its input unchanged.
fn passes_through(
    g: &Graph,
    n: &crate::ir::Node,
    x: crate::ir::ValueId,
    y: crate::ir::ValueId,
) -> bool {
    match &n.op {
        Op::Identity | Op::Dropout(_) => true,
        Op::Cast(c) => g.value(x).dtype == Some(c.to),
        Op::Reshape(_) | Op::Flatten(_) | Op::Squeeze(_) | Op::Unsqueeze(_) => {
            let (sx, sy) = (static_shape(g, x), static_shape(g, y));
            sx.is_some() && sx == sy && g.value(x).dtype == g.value(y).dtype
        }
        Op::Transpose(t) => {
            perm_of(g, t, x).is_some_and(|p| p.iter().enumerate().all(|(i, &a)| i == a))
        }
        _ => false,
    }
}

/// The explicit permutation of a Transpose on `x` (`None` in the op means "reverse").
fn perm_of(g: &Graph, t: &Transpose, x: crate::ir::ValueId) -> Option<Vec<usize>> {
    match &t.perm {
        Some(p) => Some(p.clone()),
        None => g
            .value(x)
            .shape
            .as_ref()
            .map(|s| (0..s.len()).rev().collect()),
    }
}

/// Reshape(Reshape(a)) → Reshape(a) and Transpose(Transpose(a)) → Transpose(a) when the inner
/// node's output feeds only the outer one.
fn collapse_pair(
    g: &Graph,
    uses: &Uses,
    p: &mut Patch,
    outer: NodeId,
    x: crate::ir::ValueId,
    touched: &mut [bool],
) -> bool {
    let Some(inner) = uses.producer(x) else {
        return false;
    };
    if touched[inner.0] || uses.single_reader(g, x) != Some(outer) {
        return false;
    }
    let (o, i) = (&g.nodes[outer.0], &g.nodes[inner.0]);
    let Some(a) = i.input(0) else { return false };
    let merged = match (&o.op, &i.op) {
        // The outer target must not copy dims (0) from its input, which the merge would change.
        (Op::Reshape(r), Op::Reshape(_)) => {
            let shape = pattern::constant(g, o.input(1));
            let copies = shape.is_none_or(|s| !r.allowzero && s.to_i64_vec().contains(&0));
            if copies {
                return false;
            }
            let mut m = o.clone();
            m.inputs[0] = Some(a);
            m
        }
        (Op::Transpose(to), Op::Transpose(ti)) => {
            let (Some(po), Some(pi)) = (perm_of(g, to, x), perm_of(g, ti, a)) else {
                return false;
            };
            if po.len() != pi.len() {
                return false;
            }
            // out[k] = mid[po[k]] = a[pi[po[k]]].
            let mut m = o.clone();
            m.op = Op::Transpose(Transpose {
                perm: Some(po.iter().map(|&k| pi[k]).collect()),
            });
            m.inputs[0] = Some(a);
            m
        }
        _ => return false,
    };
    p.remove_node(outer);
    p.remove_node(inner);
    p.add_node(merged);
    touched[inner.0] = true;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passes::{check, EliminateDead};
    use crate::tensor::DType;
    use crate::zoo::builder::GraphBuilder;

    #[test]
    fn removes_identity_cast_and_collapses_pairs() {
        let mut b = GraphBuilder::new(1);
        let x = b.input("x", DType::F32, &[2, 3, 4]);
        let y = b.node("Identity", "id", &[&x], vec![]);
        let y = b.cast("c", &y, DType::F32);
        let y = b.transpose("t1", &y, &[1, 0, 2]);
        let y = b.transpose("t2", &y, &[2, 0, 1]);
        let y = b.reshape("r1", &y, &[6, 4]);
        let y = b.reshape("r2", &y, &[4, 6]);
        let y = b.relu("act", &y);
        b.output(&y, "out", DType::F32, &[4, 6]);
        let m = check::model(b);
        let (opt, counts) = check::optimize_and_compare(
            &m,
            vec![Box::new(EliminateNoop), Box::new(EliminateDead)],
            0.0,
        );
        assert!(counts[0].1 >= 1);
        assert_eq!(check::count(&opt, "Identity"), 0);
        assert_eq!(check::count(&opt, "Cast"), 0);
        assert_eq!(check::count(&opt, "Transpose"), 1);
        assert_eq!(check::count(&opt, "Reshape"), 1);
        assert_eq!(opt.graph.nodes.len(), 3);
    }

    #[test]
    fn transpose_pair_that_cancels_disappears() {
        let mut b = GraphBuilder::new(1);
        let x = b.input("x", DType::F32, &[2, 3, 4]);
        let y = b.relu("a", &x);
        let y = b.transpose("t1", &y, &[0, 2, 1]);
        let y = b.transpose("t2", &y, &[0, 2, 1]);
        let y = b.relu("b", &y);
        b.output(&y, "out", DType::F32, &[2, 3, 4]);
        let m = check::model(b);
        let (opt, _) = check::optimize_and_compare(
            &m,
            vec![Box::new(EliminateNoop), Box::new(EliminateDead)],
            0.0,
        );
        assert_eq!(check::count(&opt, "Transpose"), 0);
        assert_eq!(opt.graph.nodes.len(), 2);
    }

    #[test]
    fn identity_writing_a_graph_output_keeps_the_name() {
        let mut b = GraphBuilder::new(1);
        let x = b.input("x", DType::F32, &[3]);
        let y = b.relu("a", &x);
        let y = b.node("Identity", "id", &[&y], vec![]);
        b.output(&y, "out", DType::F32, &[3]);
        let m = check::model(b);
        let (opt, _) = check::optimize_and_compare(&m, vec![Box::new(EliminateNoop)], 0.0);
        assert_eq!(check::count(&opt, "Identity"), 0);
        assert_eq!(opt.graph.name_of(opt.graph.outputs[0]), "out");
    }

    #[test]
    fn identity_from_input_to_output_stays() {
        let mut b = GraphBuilder::new(1);
        let x = b.input("x", DType::F32, &[3]);
        let y = b.node("Identity", "id", &[&x], vec![]);
        b.output(&y, "out", DType::F32, &[3]);
        let m = check::model(b);
        let (opt, counts) = check::optimize_and_compare(&m, vec![Box::new(EliminateNoop)], 0.0);
        assert_eq!(counts[0].1, 0);
        assert_eq!(check::count(&opt, "Identity"), 1);
    }
}
