//! The optimizer's fused elementwise chain ([`ElementwiseChain`]): every step applied to one block
//! of the input while it sits in L1, blocks in parallel, so a chain of N ops reads and writes the
//! tensor once instead of N times. Unary steps run the unary kernels' own code
//! ([`real_in_place`]), and binary steps the same expressions as the binary kernels, so a fused
//! f32 chain gives bit-identical results to the separate nodes. f16 and bf16 are widened to f32
//! once and narrowed once at the end (the separate nodes round after every step).
//! Operator pages: <https://onnx.ai/onnx/operators/>

use super::broadcast::PAR_CHUNK;
use super::input;
use super::unary::real_in_place;
use crate::error::{Error, Result};
use crate::ir::{ChainOp, ChainStep, ElementwiseChain, UnaryKind};
use crate::tensor::{Tensor, TensorData};
use half::{bf16, f16};
use rayon::prelude::*;

/// Elements per block: 4096 f32 are 16 KiB, in L1 for all the steps.
const BLOCK: usize = 4096;

/// Runs every step of `p` on input 0.
pub fn chain(p: &ElementwiseChain, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    for s in &p.steps {
        if let ChainStep::Unary(
            k @ (UnaryKind::Not
            | UnaryKind::BitwiseNot
            | UnaryKind::IsNaN
            | UnaryKind::IsInf { .. }),
        ) = s
        {
            return Err(Error::Graph(format!(
                "ElementwiseChain cannot hold {}: it is not a float function",
                k.name()
            )));
        }
    }
    let steps = &p.steps;
    let data = match x.data() {
        TensorData::F32(v) => TensorData::F32(run(steps, v, |v| v, |v| v)?),
        TensorData::F16(v) => TensorData::F16(run(steps, v, f16::to_f32, f16::from_f32)?),
        TensorData::BF16(v) => TensorData::BF16(run(steps, v, bf16::to_f32, bf16::from_f32)?),
        other => {
            return Err(Error::DType(format!(
                "ElementwiseChain runs on f32, f16 and bf16, got {}",
                other.dtype()
            )))
        }
    };
    Ok(vec![Tensor::new(x.shape().to_vec(), data)?])
}

/// Widens each block of `x` to f32, applies the steps, narrows it into the output.
fn run<T: Copy + Default + Send + Sync>(
    steps: &[ChainStep],
    x: &[T],
    widen: impl Fn(T) -> f32 + Sync,
    narrow: impl Fn(f32) -> T + Sync,
) -> Result<Vec<T>> {
    let mut out = vec![T::default(); x.len()];
    let block = |(o, i): (&mut [T], &[T])| -> Result<()> {
        let mut buf = [0f32; BLOCK];
        let buf = &mut buf[..i.len()];
        buf.iter_mut().zip(i).for_each(|(b, &v)| *b = widen(v));
        for s in steps {
            apply(*s, buf)?;
        }
        o.iter_mut()
            .zip(buf.iter())
            .for_each(|(o, &b)| *o = narrow(b));
        Ok(())
    };
    if x.len() <= PAR_CHUNK {
        out.chunks_mut(BLOCK)
            .zip(x.chunks(BLOCK))
            .try_for_each(block)?;
    } else {
        out.par_chunks_mut(BLOCK)
            .zip(x.par_chunks(BLOCK))
            .try_for_each(block)?;
    }
    Ok(out)
}

/// One step on a block, in place.
fn apply(step: ChainStep, x: &mut [f32]) -> Result<()> {
    let ChainStep::Binary {
        op,
        constant: c,
        constant_first: first,
    } = step
    else {
        let ChainStep::Unary(kind) = step else {
            unreachable!("two variants")
        };
        return real_in_place(kind, x);
    };
    let each = |x: &mut [f32], f: &dyn Fn(f32) -> f32| x.iter_mut().for_each(|v| *v = f(*v));
    // Spelled out per case (no closure over `first`) so each loop vectorizes.
    match (op, first) {
        (ChainOp::Add, _) => x.iter_mut().for_each(|v| *v += c),
        (ChainOp::Mul, _) => x.iter_mut().for_each(|v| *v *= c),
        (ChainOp::Sub, false) => x.iter_mut().for_each(|v| *v -= c),
        (ChainOp::Sub, true) => x.iter_mut().for_each(|v| *v = c - *v),
        (ChainOp::Div, false) => x.iter_mut().for_each(|v| *v /= c),
        (ChainOp::Div, true) => x.iter_mut().for_each(|v| *v = c / *v),
        (ChainOp::Pow, false) => each(x, &|v| v.powf(c)),
        (ChainOp::Pow, true) => each(x, &|v| c.powf(v)),
        (ChainOp::Max, false) => each(x, &|v| max(v, c)),
        (ChainOp::Max, true) => each(x, &|v| max(c, v)),
        (ChainOp::Min, false) => each(x, &|v| min(v, c)),
        (ChainOp::Min, true) => each(x, &|v| min(c, v)),
    }
    Ok(())
}

/// Max as the Max kernel computes it: NaN in the first operand propagates.
fn max(p: f32, q: f32) -> f32 {
    if p > q || p.is_nan() {
        p
    } else {
        q
    }
}

/// Min as the Min kernel computes it.
fn min(p: f32, q: f32) -> f32 {
    if p < q || p.is_nan() {
        p
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use super::super::binary::{binary_op, variadic};
    use super::super::unary::unary;
    use super::*;
    use crate::ir::{BinaryKind, Unary, Variadic, VariadicKind};
    use crate::tensor::random::random_tensor;
    use crate::tensor::DType;

    /// Evaluates the steps one node at a time with the ordinary kernels.
    fn step_by_step(steps: &[ChainStep], x: &Tensor) -> Tensor {
        let mut x = x.clone();
        for s in steps {
            x = match *s {
                ChainStep::Unary(kind) => unary(&Unary { kind }, &[Some(&x)]).unwrap().remove(0),
                ChainStep::Binary {
                    op,
                    constant,
                    constant_first,
                } => {
                    let c = Tensor::scalar(constant).cast(x.dtype());
                    let (a, b) = if constant_first { (&c, &x) } else { (&x, &c) };
                    let kind = match op {
                        ChainOp::Add => BinaryKind::Add,
                        ChainOp::Sub => BinaryKind::Sub,
                        ChainOp::Mul => BinaryKind::Mul,
                        ChainOp::Div => BinaryKind::Div,
                        ChainOp::Pow => BinaryKind::Pow,
                        ChainOp::Max | ChainOp::Min => {
                            let kind = if op == ChainOp::Max {
                                VariadicKind::Max
                            } else {
                                VariadicKind::Min
                            };
                            x = variadic(&Variadic { kind }, &[Some(a), Some(b)])
                                .unwrap()
                                .remove(0);
                            continue;
                        }
                    };
                    binary_op(kind, a, b).unwrap()
                }
            };
        }
        x
    }

    fn steps() -> Vec<ChainStep> {
        let b = |op, constant, constant_first| ChainStep::Binary {
            op,
            constant,
            constant_first,
        };
        vec![
            b(ChainOp::Mul, 3.0, true),
            b(ChainOp::Sub, 0.5, true),
            ChainStep::Unary(UnaryKind::Tanh),
            b(ChainOp::Add, 2.0, false),
            b(ChainOp::Pow, 1.5, false),
            b(ChainOp::Div, 0.25, false),
            b(ChainOp::Div, 4.0, true),
            b(ChainOp::Max, 0.5, false),
            b(ChainOp::Min, 0.8, true),
            ChainStep::Unary(UnaryKind::Gelu { tanh: true }),
            b(ChainOp::Pow, 1.1, true),
        ]
    }

    #[test]
    fn f32_chain_equals_the_separate_kernels_exactly() {
        // Larger than PAR_CHUNK, with a partial last block, so the parallel path runs.
        let x = random_tensor(DType::F32, &[3, PAR_CHUNK / 2 + 5], 11).unwrap();
        let p = ElementwiseChain { steps: steps() };
        let y = chain(&p, &[Some(&x)]).unwrap().remove(0);
        assert_eq!(y.shape(), x.shape());
        assert_eq!(
            y.as_slice::<f32>().unwrap(),
            step_by_step(&p.steps, &x).as_slice::<f32>().unwrap()
        );
    }

    #[test]
    fn small_chain_has_known_values() {
        // (2 - x) · 0.5, then Relu: [3, 1, -1] → [-0.5, 0.5, 1.5] → [0, 0.5, 1.5].
        let x = Tensor::from_vec(vec![3], vec![3.0f32, 1.0, -1.0]).unwrap();
        let p = ElementwiseChain {
            steps: vec![
                ChainStep::Binary {
                    op: ChainOp::Sub,
                    constant: 2.0,
                    constant_first: true,
                },
                ChainStep::Binary {
                    op: ChainOp::Mul,
                    constant: 0.5,
                    constant_first: false,
                },
                ChainStep::Unary(UnaryKind::Relu),
            ],
        };
        let y = chain(&p, &[Some(&x)]).unwrap().remove(0);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[0.0, 0.5, 1.5]);
    }

    #[test]
    fn bf16_is_widened_and_narrowed_once() {
        let x = random_tensor(DType::BF16, &[64], 5).unwrap();
        let p = ElementwiseChain { steps: steps() };
        let y = chain(&p, &[Some(&x)]).unwrap().remove(0);
        assert_eq!(y.dtype(), DType::BF16);
        let want = step_by_step(&p.steps, &x.cast(DType::F32)).cast(DType::BF16);
        assert_eq!(y.to_f32_vec(), want.to_f32_vec());
    }

    #[test]
    fn rejects_integer_input() {
        let x = Tensor::from_vec(vec![2], vec![1i32, 2]).unwrap();
        let p = ElementwiseChain { steps: steps() };
        assert!(chain(&p, &[Some(&x)])
            .unwrap_err()
            .to_string()
            .contains("f32, f16 and bf16"));
    }
}
