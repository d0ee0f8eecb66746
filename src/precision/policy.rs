//! The FP16 precision policy: which ops may read and write f16, and which stay f32 because their
//! arithmetic is numerically sensitive (statistics and normalizations, softmax, reductions, exp/log,
//! recurrences) or their output dtype is fixed by an attribute rather than by their input.

use crate::ir::{BinaryKind, Op, UnaryKind};

/// Where a node computes under `--fp16`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// f16 in and out (kernels accumulate in f32).
    Half,
    /// Left as imported: f32 in and out.
    Float,
}

/// The placement of an op under the FP16 policy.
pub fn placement(op: &Op) -> Placement {
    use Placement::*;
    match op {
        // Statistics, normalization and exponentials: f32 keeps their sums and ranges exact enough.
        Op::LayerNormalization(_)
        | Op::BatchNormalization(_)
        | Op::InstanceNormalization(_)
        | Op::Softmax(_)
        | Op::LogSoftmax(_)
        | Op::Reduce(_)
        | Op::CumSum(_)
        | Op::Rnn(_) => Float,
        Op::Unary(u)
            if matches!(
                u.kind,
                UnaryKind::Exp | UnaryKind::Log | UnaryKind::Softplus
            ) =>
        {
            Float
        }
        Op::Binary(b) if matches!(b.kind, BinaryKind::Pow) => Float,
        // Output dtype set by an attribute or by another input, not by the data input.
        Op::Cast(_)
        | Op::CastLike
        | Op::ConstantOfShape(_)
        | Op::EyeLike(_)
        | Op::OneHot(_)
        | Op::Range
        | Op::QuantizeLinear(_)
        | Op::DequantizeLinear(_) => Float,
        // Subgraphs keep the types they were written with.
        Op::If(_) | Op::Loop(_) => Float,
        _ => Half,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{LayerNormalization, MatMul, Softmax};

    #[test]
    fn products_run_half_and_statistics_stay_float() {
        assert_eq!(placement(&Op::MatMul(MatMul::default())), Placement::Half);
        assert_eq!(
            placement(&Op::LayerNormalization(LayerNormalization {
                axis: -1,
                epsilon: 1e-5
            })),
            Placement::Float
        );
        assert_eq!(
            placement(&Op::Softmax(Softmax {
                axis: -1,
                coerce_2d: false
            })),
            Placement::Float
        );
    }
}
