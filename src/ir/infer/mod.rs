//! Shape and type inference: fills `ValueInfo` of node outputs from their inputs and the op's
//! parameters, keeping symbolic dims where they pass through unchanged. Runs at import, after the
//! graph is sorted and verified.
//!
//! What it cannot know stays unknown (`None` / [`Dim::Unknown`]): it never guesses, and it never
//! fails, even on inputs a kernel would reject. Declared information in the model is kept where it
//! is at least as specific as what is inferred. Besides shapes it tracks the *contents* of small
//! integer tensors built from shapes (`Shape → Gather → Concat → Reshape`), as dims, so a reshape
//! to a computed shape keeps its symbolic batch dimension.
//! Rules per op family: [`elementwise`], [`nn`], [`shape`], [`reduce`]; subgraphs in [`control`].

mod control;
mod dims;
mod elementwise;
mod nn;
mod reduce;
mod shape;

pub use dims::{broadcast, conv_output_dim, IntVal};

use super::{Dim, Graph, Node, Op, ValueId, ValueInfo};
use crate::error::Result;
use crate::tensor::{DType, Tensor};
use std::collections::HashMap;

/// What is known about one value: its dtype and (possibly partial) shape.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fact {
    pub dtype: Option<DType>,
    /// `None` when even the rank is unknown.
    pub shape: Option<Vec<Dim>>,
}

impl Fact {
    pub fn new(dtype: Option<DType>, shape: Option<Vec<Dim>>) -> Fact {
        Fact { dtype, shape }
    }

    fn of(info: &ValueInfo) -> Fact {
        Fact {
            dtype: info.dtype,
            shape: info.shape.clone(),
        }
    }
}

/// What a rule sees of one node: its inputs' facts, constant inputs, and known integer contents.
pub struct Ctx<'a> {
    facts: Vec<Option<Fact>>,
    consts: Vec<Option<&'a Tensor>>,
    /// Element values of small 1-D/0-D integer inputs, as dims (see the module doc).
    values: Vec<Option<Vec<IntVal>>>,
}

impl<'a> Ctx<'a> {
    /// Whether optional input `i` is present.
    pub fn present(&self, i: usize) -> bool {
        self.facts.get(i).is_some_and(|f| f.is_some())
    }

    pub fn fact(&self, i: usize) -> Fact {
        self.facts.get(i).cloned().flatten().unwrap_or_default()
    }

    pub fn dtype(&self, i: usize) -> Option<DType> {
        self.facts.get(i)?.as_ref()?.dtype
    }

    pub fn shape(&self, i: usize) -> Option<&[Dim]> {
        self.facts.get(i)?.as_ref()?.shape.as_deref()
    }

    pub fn rank(&self, i: usize) -> Option<usize> {
        self.shape(i).map(|s| s.len())
    }

    /// The constant tensor feeding input `i` (an initializer or folded Constant).
    pub fn constant(&self, i: usize) -> Option<&'a Tensor> {
        self.consts.get(i).copied().flatten()
    }

    /// A constant integer input as i64 values.
    pub fn const_ints(&self, i: usize) -> Option<Vec<i64>> {
        self.constant(i)
            .filter(|t| t.dtype().is_int())
            .map(|t| t.to_i64_vec())
    }

    /// The contents of an integer input: from a constant, or tracked through shape ops.
    pub fn int_values(&self, i: usize) -> Option<Vec<IntVal>> {
        if let Some(v) = self.values.get(i).cloned().flatten() {
            return Some(v);
        }
        Some(self.const_ints(i)?.into_iter().map(IntVal::Int).collect())
    }
}

/// What a rule returns for one output: the fact, and optionally its integer contents.
#[derive(Clone, Debug, Default)]
pub struct Out {
    pub fact: Fact,
    pub values: Option<Vec<IntVal>>,
}

impl From<Fact> for Out {
    fn from(fact: Fact) -> Out {
        Out { fact, values: None }
    }
}

/// Largest integer tensor whose contents are tracked; shape vectors are far smaller.
const MAX_TRACKED: usize = 64;

/// Infers what it can for every value of `g` (and its subgraphs); unknown stays unknown.
pub fn infer_shapes(g: &mut Graph) -> Result<()> {
    infer_graph(g);
    Ok(())
}

/// Infers `g` in place, node by node.
fn infer_graph(g: &mut Graph) {
    let mut known: HashMap<ValueId, Vec<IntVal>> = HashMap::new();
    for (v, t) in &g.initializers {
        let dims = t.shape().iter().map(|&d| Dim::Fixed(d)).collect();
        merge(&mut g.values[v.0], Fact::new(Some(t.dtype()), Some(dims)));
        if t.dtype().is_int() && t.rank() <= 1 && t.len() <= MAX_TRACKED {
            known.insert(*v, t.to_i64_vec().into_iter().map(IntVal::Int).collect());
        }
    }
    for idx in 0..g.nodes.len() {
        let facts: Vec<Option<Fact>> = g.nodes[idx]
            .inputs
            .iter()
            .map(|v| v.map(|v| Fact::of(&g.values[v.0])))
            .collect();
        // Subgraphs first: their outputs decide If/Loop outputs.
        if matches!(g.nodes[idx].op, Op::If(_) | Op::Loop(_)) {
            let node = &mut g.nodes[idx];
            control::infer_subgraphs(node, &facts);
        }
        let node = &g.nodes[idx];
        let cx = Ctx {
            consts: node
                .inputs
                .iter()
                .map(|v| v.and_then(|v| g.initializers.get(&v).map(|t| &**t)))
                .collect(),
            values: node
                .inputs
                .iter()
                .map(|v| v.and_then(|v| known.get(&v).cloned()))
                .collect(),
            facts,
        };
        let outs = rules(node, &cx);
        let targets: Vec<Option<ValueId>> = node.outputs.clone();
        for (slot, out) in targets.into_iter().zip(outs) {
            let Some(v) = slot else { continue };
            merge(&mut g.values[v.0], out.fact);
            if let Some(vals) = out.values.filter(|v| v.len() <= MAX_TRACKED) {
                known.insert(v, vals);
            }
        }
    }
}

/// The rule for one node; outputs it says nothing about are left out or default.
fn rules(node: &Node, cx: &Ctx) -> Vec<Out> {
    let n_out = node.outputs.len();
    let same = || vec![Out::from(cx.fact(0))];
    match &node.op {
        Op::Unary(p) => elementwise::unary(p, cx),
        Op::Binary(p) => elementwise::binary(p, cx),
        Op::Variadic(_) => elementwise::variadic(cx),
        Op::Clip(_)
        | Op::Softmax(_)
        | Op::LogSoftmax(_)
        | Op::Hardmax(_)
        | Op::CumSum(_)
        | Op::Trilu(_) => same(),
        Op::BatchNormalization(_) | Op::InstanceNormalization(_) => same(),
        Op::LayerNormalization(p) => elementwise::layer_norm(p, cx),
        Op::Identity => vec![Out {
            fact: cx.fact(0),
            values: cx.int_values(0),
        }],
        Op::Dropout(_) => elementwise::dropout(cx),
        Op::Where => elementwise::where_(cx),
        Op::PRelu => elementwise::prelu(cx),
        Op::Cast(p) => elementwise::cast(p.to, cx),
        Op::CastLike => elementwise::cast_like(cx),
        Op::EyeLike(p) => vec![Fact::new(p.dtype.or(cx.dtype(0)), cx.fact(0).shape).into()],
        Op::QuantizeLinear(p) => elementwise::quantize(p, cx),
        Op::DequantizeLinear(_) => elementwise::dequantize(cx),
        Op::Conv(p) => nn::conv(p, cx),
        Op::ConvTranspose(p) => nn::conv_transpose(p, cx),
        Op::Pool(p) => nn::pool(p, cx, n_out),
        Op::GlobalPool(_) => nn::global_pool(cx),
        Op::Gemm(p) => nn::gemm(p, cx),
        Op::MatMul(_) => nn::matmul(cx),
        Op::Attention(_) => nn::attention(cx),
        Op::ElementwiseChain(_) => same(),
        Op::Rnn(p) => nn::rnn(p, cx),
        Op::Reshape(p) => shape::reshape(p, cx),
        Op::Flatten(p) => shape::flatten(p, cx),
        Op::Transpose(p) => shape::transpose(p, cx),
        Op::Squeeze(p) => shape::squeeze(p, cx),
        Op::Unsqueeze(p) => shape::unsqueeze(p, cx),
        Op::Concat(p) => shape::concat(p, cx),
        Op::Split(p) => shape::split(p, cx, n_out),
        Op::Slice(p) => shape::slice(p, cx),
        Op::Expand => shape::expand(cx),
        Op::Shape(p) => shape::shape_of(p, cx),
        Op::Size => vec![Fact::new(Some(DType::I64), Some(vec![])).into()],
        Op::ConstantOfShape(p) => shape::constant_of_shape(p, cx),
        Op::Tile => shape::tile(cx),
        Op::Gather(p) => shape::gather(p, cx),
        Op::GatherElements(_) => vec![Fact::new(cx.dtype(0), cx.fact(1).shape).into()],
        Op::ScatterND(_) | Op::ScatterElements(_) => same(),
        Op::NonZero => vec![Fact::new(
            Some(DType::I64),
            cx.rank(0).map(|r| vec![Dim::Fixed(r), Dim::Unknown]),
        )
        .into()],
        Op::Range => vec![Fact::new(cx.dtype(0), Some(vec![Dim::Unknown])).into()],
        Op::Reduce(p) => reduce::reduce(p, cx),
        Op::ArgReduce(p) => reduce::arg_reduce(p, cx),
        Op::TopK(p) => reduce::top_k(p, cx),
        Op::If(p) => control::if_outputs(p),
        Op::Loop(p) => control::loop_outputs(p, cx),
        // The rank is known but sizes depend on data or parameters not inferred yet.
        Op::Pad(p) => shape::pad(p, cx),
        Op::DepthToSpace(p) => shape::depth_space(p.blocksize, true, cx),
        Op::SpaceToDepth(p) => shape::depth_space(p.blocksize, false, cx),
        Op::Resize(_) => {
            vec![Fact::new(cx.dtype(0), cx.rank(0).map(|r| vec![Dim::Unknown; r])).into()]
        }
        Op::OneHot(_) => {
            vec![Fact::new(cx.dtype(2), cx.rank(0).map(|r| vec![Dim::Unknown; r + 1])).into()]
        }
        Op::Einsum(_) | Op::GatherND(_) => vec![Fact::new(cx.dtype(0), None).into()],
    }
}

/// Merges an inferred fact into a value's declared info, keeping whichever is more specific:
/// a fixed dim beats a symbol, a symbol beats unknown; a declared rank that disagrees wins.
fn merge(info: &mut ValueInfo, inferred: Fact) {
    if info.dtype.is_none() {
        info.dtype = inferred.dtype;
    }
    match (&mut info.shape, inferred.shape) {
        (None, s) => info.shape = s,
        (Some(decl), Some(inf)) if decl.len() == inf.len() => {
            for (d, i) in decl.iter_mut().zip(inf) {
                let better = match (&*d, &i) {
                    (Dim::Unknown, Dim::Symbol(_) | Dim::Fixed(_)) => true,
                    (Dim::Symbol(_), Dim::Fixed(_)) => true,
                    _ => false,
                };
                if better {
                    *d = i;
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
