//! The Reduce* family (Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare).
//! <https://onnx.ai/onnx/operators/onnx__ReduceSum.html>
//!
//! Axes come from the attribute (older opsets) or input 1; no axes means all of them, or none with
//! `noop_with_empty_axes`. Reducing an empty set gives the spec's identity: 0 for sums, 1 for Prod,
//! -inf for Max / LogSum / LogSumExp, +inf for Min, NaN for Mean. Floats accumulate in f64 and
//! integers in i128 (wrapping), then round once to the input dtype.

use super::broadcast::PAR_CHUNK;
use super::{input, norm_axis, opt_input};
use crate::error::{Error, Result};
use crate::ir::{Reduce, ReduceKind};
use crate::tensor::{check_alloc, DType, Element, Num, Tensor};
use crate::with_data;
use rayon::prelude::*;

pub use super::cumsum::cum_sum;
pub use super::select::{arg_reduce, top_k};

/// Runs a Reduce* node.
pub fn reduce(p: &Reduce, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let axes = match &p.axes {
        Some(a) => a.clone(),
        None => opt_input(inputs, 1)
            .map(|t| t.to_i64_vec())
            .unwrap_or_default(),
    };
    let rank = x.rank();
    // An empty axis list reduces everything, unless noop_with_empty_axes says to reduce nothing.
    let mut mask = vec![axes.is_empty() && !p.noop_with_empty_axes; rank];
    for &a in &axes {
        if rank > 0 {
            mask[norm_axis(a, rank)?] = true;
        }
    }
    let shape: Vec<usize> = x
        .shape()
        .iter()
        .zip(&mask)
        .filter_map(|(&d, &m)| {
            if !m {
                Some(d)
            } else if p.keepdims {
                Some(1)
            } else {
                None
            }
        })
        .collect();
    check_alloc(&shape, x.dtype())?;
    let layout = Layout::new(x.shape(), &mask);
    let y = with_data!(x.data(), v => reduce_typed(p.kind, v, &layout))?;
    Ok(vec![y.reshape(shape)?])
}

fn reduce_typed<T: Element + PartialOrd>(kind: ReduceKind, x: &[T], l: &Layout) -> Result<Tensor> {
    use ReduceKind::*;
    let dtype = T::DTYPE;
    if dtype == DType::Bool && !matches!(kind, Max | Min) {
        return Err(Error::DType(format!(
            "{} does not accept bool input",
            kind.name()
        )));
    }
    let exact_int = !dtype.is_float() && matches!(kind, Sum | Prod | Max | Min | L1 | SumSquare);
    let out: Vec<T> = if exact_int {
        let (init, lowest, highest): (i128, i128, i128) = match dtype {
            DType::Bool => (0, 0, 1),
            _ => (
                0,
                to_i128(T::from_f64(f64::NEG_INFINITY)),
                to_i128(T::from_f64(f64::INFINITY)),
            ),
        };
        let acc = match kind {
            Sum => l.fold(x, init, |_, a: i128, v| a.wrapping_add(to_i128(v))),
            SumSquare => l.fold(x, init, |_, a: i128, v| {
                a.wrapping_add(to_i128(v).wrapping_mul(to_i128(v)))
            }),
            L1 => l.fold(x, init, |_, a: i128, v| {
                a.wrapping_add(to_i128(v).wrapping_abs())
            }),
            Prod => l.fold(x, 1i128, |_, a: i128, v| a.wrapping_mul(to_i128(v))),
            Max => l.fold(x, lowest, |_, a, v| a.max(to_i128(v))),
            _ => l.fold(x, highest, |_, a, v| a.min(to_i128(v))),
        };
        acc.into_iter().map(|a| T::from_num(Num::Int(a))).collect()
    } else {
        let f = |v: T| v.to_f64();
        let acc = match kind {
            Sum | Mean | LogSum => l.fold(x, 0.0, |_, a, v| a + f(v)),
            SumSquare | L2 => l.fold(x, 0.0, |_, a, v| a + f(v) * f(v)),
            L1 => l.fold(x, 0.0, |_, a, v| a + f(v).abs()),
            Prod => l.fold(x, 1.0, |_, a, v| a * f(v)),
            Max => l.fold(x, f64::NEG_INFINITY, |_, a, v| {
                if f(v) > a || f(v).is_nan() {
                    f(v)
                } else {
                    a
                }
            }),
            Min => l.fold(x, f64::INFINITY, |_, a, v| {
                if f(v) < a || f(v).is_nan() {
                    f(v)
                } else {
                    a
                }
            }),
            LogSumExp => {
                // Shift by the maximum so exp never overflows; an all -inf (or empty) set keeps 0.
                let max = l.fold(x, f64::NEG_INFINITY, |_, a, v| a.max(f(v)));
                let shift: Vec<f64> = max
                    .iter()
                    .map(|&m| if m.is_finite() { m } else { 0.0 })
                    .collect();
                let sum = l.fold(x, 0.0, |o, a, v| a + (f(v) - shift[o]).exp());
                sum.iter().zip(&shift).map(|(s, m)| s.ln() + m).collect()
            }
        };
        let count = l.count as f64;
        acc.into_iter()
            .map(|a| {
                T::from_f64(match kind {
                    Mean => a / count,
                    L2 => a.sqrt(),
                    LogSum => a.ln(),
                    _ => a,
                })
            })
            .collect()
    };
    Tensor::from_vec(vec![out.len()], out)
}

fn to_i128<T: Element>(v: T) -> i128 {
    match v.to_num() {
        Num::Int(i) => i,
        Num::Bool(b) => b as i128,
        Num::Float(f) => f as i128,
    }
}

/// How a reduction walks its input: dimensions coalesced into alternating kept / reduced runs.
/// Outputs form `blocks` of `lane` consecutive outputs: `lane` is the innermost kept run when the
/// input ends in kept dimensions (each reduced position then contributes a contiguous vector),
/// else 1 with `run` the innermost reduced run read contiguously.
struct Layout {
    /// Outputs per block and contiguous elements reduced per step.
    lane: usize,
    run: usize,
    /// Kept dimensions above the lane: (size, input stride).
    kept: Vec<(usize, usize)>,
    /// Reduced dimensions outside the contiguous run: (size, input stride).
    reduced: Vec<(usize, usize)>,
    /// Input elements folded into each output.
    count: usize,
    outputs: usize,
    empty_input: bool,
}

impl Layout {
    fn new(shape: &[usize], mask: &[bool]) -> Layout {
        let strides = crate::tensor::strides_of(shape);
        // (size, stride, reduced), size-1 dimensions dropped, equal neighbours merged.
        let mut groups: Vec<(usize, usize, bool)> = vec![];
        for i in 0..shape.len() {
            if shape[i] == 1 {
                continue;
            }
            match groups.last_mut() {
                Some(g) if g.2 == mask[i] => {
                    g.0 *= shape[i];
                    g.1 = strides[i];
                }
                _ => groups.push((shape[i], strides[i], mask[i])),
            }
        }
        let count = groups.iter().filter(|g| g.2).map(|g| g.0).product();
        let outputs = groups.iter().filter(|g| !g.2).map(|g| g.0).product();
        let empty_input = shape.contains(&0);
        let (mut lane, mut run) = (1, 1);
        match groups.last() {
            Some(&(size, _, false)) => {
                lane = size;
                groups.pop();
            }
            Some(&(size, _, true)) => {
                run = size;
                groups.pop();
            }
            None => {}
        }
        let kept = groups.iter().filter(|g| !g.2).map(|g| (g.0, g.1)).collect();
        let reduced = groups.iter().filter(|g| g.2).map(|g| (g.0, g.1)).collect();
        Layout {
            lane,
            run,
            kept,
            reduced,
            count,
            outputs,
            empty_input,
        }
    }

    /// One accumulator per output: `step(output index, acc, value)` folded over the output's
    /// reduced elements, starting from `init`.
    fn fold<T, A>(&self, x: &[T], init: A, step: impl Fn(usize, A, T) -> A + Sync) -> Vec<A>
    where
        T: Copy + Sync,
        A: Copy + Send + Sync,
    {
        let mut acc = vec![init; self.outputs];
        if self.empty_input || acc.is_empty() {
            return acc;
        }
        let lane = self.lane;
        let block = |b: usize, out: &mut [A]| {
            let mut base = 0;
            let mut r = b;
            for &(size, stride) in self.kept.iter().rev() {
                base += (r % size) * stride;
                r /= size;
            }
            let mut idx = vec![0usize; self.reduced.len()];
            let mut off = base;
            loop {
                for k in 0..self.run {
                    for (j, a) in out.iter_mut().enumerate() {
                        *a = step(b * lane + j, *a, x[off + k + j]);
                    }
                }
                // Odometer over the outer reduced dimensions.
                let mut d = self.reduced.len();
                loop {
                    if d == 0 {
                        return;
                    }
                    d -= 1;
                    let (size, stride) = self.reduced[d];
                    idx[d] += 1;
                    off += stride;
                    if idx[d] < size {
                        break;
                    }
                    off -= size * stride;
                    idx[d] = 0;
                }
            }
        };
        if x.len() <= PAR_CHUNK || acc.len() == lane {
            acc.chunks_mut(lane)
                .enumerate()
                .for_each(|(b, out)| block(b, out));
        } else {
            let per_block = x.len() / (acc.len() / lane);
            let blocks_per_task = (PAR_CHUNK / per_block.max(1)).max(1);
            acc.par_chunks_mut(lane * blocks_per_task)
                .enumerate()
                .for_each(|(t, chunk)| {
                    chunk
                        .chunks_mut(lane)
                        .enumerate()
                        .for_each(|(i, out)| block(t * blocks_per_task + i, out))
                });
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: ReduceKind, axes: &[i64], keepdims: bool, x: &Tensor) -> Tensor {
        let p = Reduce {
            kind,
            axes: Some(axes.to_vec()),
            keepdims,
            noop_with_empty_axes: false,
        };
        reduce(&p, &[Some(x)]).unwrap().remove(0)
    }

    #[test]
    fn reduces_middle_and_outer_axes() {
        let x = Tensor::from_vec(vec![2, 3, 2], (0..12).map(|v| v as f32).collect()).unwrap();
        let s = run(ReduceKind::Sum, &[1], false, &x);
        assert_eq!(s.shape(), &[2, 2]);
        assert_eq!(s.as_slice::<f32>().unwrap(), &[6.0, 9.0, 24.0, 27.0]);
        let m = run(ReduceKind::Max, &[0, 2], true, &x);
        assert_eq!(m.shape(), &[1, 3, 1]);
        assert_eq!(m.as_slice::<f32>().unwrap(), &[7.0, 9.0, 11.0]);
        let l = run(ReduceKind::LogSumExp, &[-1], false, &x);
        assert!(
            (l.as_slice::<f32>().unwrap()[0] - (1.0f32 + (-1.0f32).exp().ln_1p())).abs() < 1e-6
        );
    }

    #[test]
    fn empty_sets_give_identities() {
        let x = Tensor::zeros(DType::F32, vec![2, 0]).unwrap();
        assert_eq!(
            run(ReduceKind::Min, &[1], false, &x)
                .as_slice::<f32>()
                .unwrap(),
            &[f32::INFINITY; 2]
        );
        assert_eq!(
            run(ReduceKind::Prod, &[1], false, &x)
                .as_slice::<f32>()
                .unwrap(),
            &[1.0; 2]
        );
        let b = Tensor::new(vec![0], crate::tensor::TensorData::Bool(vec![])).unwrap();
        assert_eq!(
            run(ReduceKind::Max, &[0], false, &b)
                .as_slice::<bool>()
                .unwrap(),
            &[false]
        );
    }

    #[test]
    fn integer_sums_are_exact() {
        let x = Tensor::from_vec(vec![2], vec![i64::MAX - 1, 1]).unwrap();
        assert_eq!(
            run(ReduceKind::Sum, &[0], false, &x)
                .as_slice::<i64>()
                .unwrap(),
            &[i64::MAX]
        );
    }
}
