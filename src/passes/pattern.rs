//! What the rewrite passes ask of a graph: who produces and who reads a value, whether a value is a
//! constant (an initializer) and its scalar value, and how to splice a node out while keeping the
//! graph's output names. One [`Uses`] index is built per pass run.

use crate::ir::{Binary, BinaryKind, Dim, Graph, Node, NodeId, Op, Patch, ValueId};
use crate::tensor::{DType, Tensor};
use std::sync::Arc;

/// Producers and readers of every value of one graph, as it was when the index was built.
pub struct Uses {
    producer: Vec<Option<NodeId>>,
    readers: Vec<Vec<NodeId>>,
    is_output: Vec<bool>,
}

impl Uses {
    pub fn new(g: &Graph) -> Uses {
        let mut readers = vec![vec![]; g.values.len()];
        for (i, n) in g.nodes.iter().enumerate() {
            for v in n.inputs.iter().flatten() {
                if !readers[v.0].contains(&NodeId(i)) {
                    readers[v.0].push(NodeId(i));
                }
            }
        }
        let mut is_output = vec![false; g.values.len()];
        for o in &g.outputs {
            is_output[o.0] = true;
        }
        Uses {
            producer: g.producers(),
            readers,
            is_output,
        }
    }

    pub fn producer(&self, v: ValueId) -> Option<NodeId> {
        self.producer[v.0]
    }

    pub fn readers(&self, v: ValueId) -> &[NodeId] {
        &self.readers[v.0]
    }

    pub fn is_graph_output(&self, v: ValueId) -> bool {
        self.is_output[v.0]
    }

    /// `v` feeds exactly one node (once) and is not a graph output: the node producing it can be
    /// merged into that reader.
    pub fn single_reader(&self, g: &Graph, v: ValueId) -> Option<NodeId> {
        match self.readers[v.0].as_slice() {
            [r] if !self.is_output[v.0] => {
                let n = &g.nodes[r.0];
                (n.inputs.iter().flatten().filter(|&&i| i == v).count() == 1).then_some(*r)
            }
            _ => None,
        }
    }
}

/// The initializer behind `v`, if it is a constant (an initializer that is also a graph input is
/// only a default the caller may override, so it is not).
pub fn constant(g: &Graph, v: Option<ValueId>) -> Option<&Arc<Tensor>> {
    v.filter(|v| !g.inputs.contains(v))
        .and_then(|v| g.initializer(v))
}

/// The value of a one-element float constant (any shape with one element).
pub fn scalar_f32(g: &Graph, v: Option<ValueId>) -> Option<f32> {
    let t = constant(g, v)?;
    if t.len() != 1 || !t.dtype().is_float() {
        return None;
    }
    t.to_vec::<f32>().first().copied()
}

/// The value of a one-element float constant `c` used as the other operand of a broadcasting op
/// on `x`, when that op cannot change `x`'s shape: `c` has rank 0, or no more dims than `x` has.
pub fn scalar_operand(g: &Graph, c: Option<ValueId>, x: ValueId) -> Option<f32> {
    constant(g, c)?.dtype().is_float().then_some(())?;
    scalar_number(g, c, x).map(|v| v as f32)
}

/// [`scalar_operand`] for any numeric constant (a Pow exponent may be an integer).
pub fn scalar_number(g: &Graph, c: Option<ValueId>, x: ValueId) -> Option<f64> {
    let t = constant(g, c)?;
    if t.len() != 1 || t.dtype() == DType::Bool {
        return None;
    }
    let x_rank = g.value(x).shape.as_ref().map(|s| s.len());
    (t.rank() == 0 || x_rank.is_some_and(|r| r >= t.rank())).then_some(())?;
    t.to_vec::<f64>().first().copied()
}

/// `(x, k)` when `n` computes `k · x` with a scalar constant: `Mul(x, c)` or `Mul(c, x)` (k = c),
/// or `Div(x, c)` (k = 1/c), the constant never widening `x`'s shape.
pub fn scaled_by_constant(g: &Graph, n: &Node) -> Option<(ValueId, f32)> {
    let (a, b) = (n.input(0)?, n.input(1)?);
    match &n.op {
        Op::Binary(Binary {
            kind: BinaryKind::Mul,
        }) => match scalar_operand(g, Some(b), a) {
            Some(c) => Some((a, c)),
            None => scalar_operand(g, Some(a), b).map(|c| (b, c)),
        },
        Op::Binary(Binary {
            kind: BinaryKind::Div,
        }) => scalar_operand(g, Some(b), a).map(|c| (a, 1.0 / c)),
        _ => None,
    }
}

/// Whether a constant read from a model equals `want` to within 1e-5 relative (exporters write
/// √2 and friends in f32 or as rounded decimals).
pub fn approx_eq(v: f32, want: f64) -> bool {
    (v as f64 - want).abs() <= 1e-5 * want.abs().max(1e-30)
}

/// For a two-input node reading `v`, its other input (`v` itself when it reads `v` twice).
pub fn other_input(n: &Node, v: ValueId) -> Option<ValueId> {
    match (n.input(0), n.input(1)) {
        (Some(a), Some(b)) if n.inputs.len() == 2 && a == v => Some(b),
        (Some(a), Some(b)) if n.inputs.len() == 2 && b == v => Some(a),
        _ => None,
    }
}

/// The node reading `v`, when it is the only one (see [`Uses::single_reader`]) and is `op`.
pub fn single_reader_op(g: &Graph, uses: &Uses, v: ValueId, op: &str) -> Option<NodeId> {
    uses.single_reader(g, v)
        .filter(|r| is_op(&g.nodes[r.0], op))
}

/// Names for fused nodes in the exporters' style: the scope of the last node they replace plus the
/// new op type (`/encoder/layer.0/intermediate/Gelu`), suffixed `_1`, `_2` when taken.
pub struct FusedNames {
    taken: std::collections::HashSet<String>,
}

impl FusedNames {
    pub fn new(g: &Graph) -> FusedNames {
        FusedNames {
            taken: g.nodes.iter().map(|n| n.name.clone()).collect(),
        }
    }

    /// A fresh name for an `op` node replacing a pattern whose last node is named `last`.
    pub fn fresh(&mut self, last: &str, op: &str) -> String {
        let scope = last.rsplit_once('/').map_or("", |(s, _)| s);
        let base = format!("{scope}/{op}");
        let mut name = base.clone();
        let mut k = 0;
        while !self.taken.insert(name.clone()) {
            k += 1;
            name = format!("{base}_{k}");
        }
        name
    }
}

/// The first output of a node (most ops have one).
pub fn out0(n: &Node) -> Option<ValueId> {
    n.outputs.first().copied().flatten()
}

/// The fully known static shape of `v`, if inference or the model declared one.
pub fn static_shape(g: &Graph, v: ValueId) -> Option<Vec<usize>> {
    g.value(v)
        .shape
        .as_ref()?
        .iter()
        .map(|d| {
            if let Dim::Fixed(n) = d {
                Some(*n)
            } else {
                None
            }
        })
        .collect()
}

/// The dtype of `v`, if known.
pub fn dtype(g: &Graph, v: ValueId) -> Option<DType> {
    g.value(v).dtype
}

/// Whether `n` is a single-output node of the given kind (compared by ONNX op name).
pub fn is_op(n: &Node, name: &str) -> bool {
    n.op.name() == name && !matches!(n.op, Op::If(_) | Op::Loop(_))
}

/// Removes `node` (whose output `out` equals its input `inp` in value) from the graph: readers of
/// `out` read `inp` instead. When `out` is a graph output its name must survive, so instead the
/// producer of `inp` is re-emitted writing `out` directly; that needs `inp` to be produced by a
/// node, read by nothing else, and not a graph output itself. Returns false (and changes nothing)
/// when neither is possible.
pub fn bypass(
    g: &Graph,
    uses: &Uses,
    p: &mut Patch,
    node: NodeId,
    inp: ValueId,
    out: ValueId,
) -> bool {
    if !uses.is_graph_output(out) {
        p.remove_node(node);
        p.rewire(out, inp);
        return true;
    }
    let Some(prod) = uses.producer(inp) else {
        return false;
    };
    if uses.is_graph_output(inp) || uses.readers(inp) != [node] {
        return false;
    }
    let mut re = g.nodes[prod.0].clone();
    for o in re.outputs.iter_mut().flatten() {
        if *o == inp {
            *o = out;
        }
    }
    p.remove_node(prod);
    p.remove_node(node);
    p.add_node(re);
    true
}

/// Replaces `host` and `absorbed` by `fused`, which should write `absorbed`'s output value (so a
/// graph output keeps its name). The patch re-sorts the nodes, so where `fused` lands is immaterial.
pub fn absorb(p: &mut Patch, host: NodeId, absorbed: NodeId, fused: Node) {
    p.remove_node(host);
    p.remove_node(absorbed);
    p.add_node(fused);
}
