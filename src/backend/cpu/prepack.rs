//! Weights packed for the kernels when the engine is compiled, so no query repacks them: the
//! filters of every convolution with constant weights become the packed `A` operand of its GEMMs
//! (one per group), and the constant right-hand matrix of a MatMul its packed `B`.

use super::ops::conv_packed::ConvWeights;
use super::ops::gemm::MatRef;
use super::ops::real::real_vec;
use super::sgemm::PackedB;
use crate::error::Result;
use crate::ir::{Graph, Node, Op};
use crate::tensor::DType;

/// What one node holds pre-packed.
pub enum Prepacked {
    Conv(ConvWeights),
    Dense(PackedB),
}

impl Prepacked {
    pub fn conv(&self) -> Option<&ConvWeights> {
        match self {
            Prepacked::Conv(w) => Some(w),
            Prepacked::Dense(_) => None,
        }
    }

    pub fn dense(&self) -> Option<&PackedB> {
        match self {
            Prepacked::Dense(b) => Some(b),
            Prepacked::Conv(_) => None,
        }
    }
}

/// The pre-packed weights of each node of `g` (in node order; `None` where nothing is packed).
pub fn prepack(g: &Graph) -> Result<Vec<Option<Prepacked>>> {
    g.nodes.iter().map(|n| prepack_node(g, n)).collect()
}

fn prepack_node(g: &Graph, node: &Node) -> Result<Option<Prepacked>> {
    let weight = |i: usize| {
        node.inputs
            .get(i)
            .copied()
            .flatten()
            .and_then(|v| g.initializers.get(&v))
    };
    Ok(match &node.op {
        Op::Conv(p) => match weight(1) {
            Some(w) => ConvWeights::pack(w, p.group)
                .map_err(|e| e.in_node(&node.name, node.op.name()))?
                .map(Prepacked::Conv),
            None => None,
        },
        Op::MatMul(_) => match weight(1) {
            Some(w) if w.rank() == 2 && is_f32_storage(w.dtype()) => {
                let (k, n) = (w.shape()[0], w.shape()[1]);
                let values = real_vec::<f32>(w);
                Some(Prepacked::Dense(PackedB::new(MatRef::row_major(
                    &values, k, n, false,
                ))))
            }
            _ => None,
        },
        _ => None,
    })
}

/// Types whose kernels compute in f32 (f16 and bf16 widen).
pub fn is_f32_storage(t: DType) -> bool {
    matches!(t, DType::F32 | DType::F16 | DType::BF16)
}
