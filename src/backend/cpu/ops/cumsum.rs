//! CumSum: running sums along the axis given by input 1, optionally exclusive and/or reversed.
//! <https://onnx.ai/onnx/operators/onnx__CumSum.html>
//!
//! Floats accumulate in f64 and round once per element; integers accumulate in i64 with wrapping,
//! which gives the exact two's complement result for every integer width (u64 included).

use super::{input, norm_axis};
use crate::error::{Error, Result};
use crate::ir::CumSum;
use crate::tensor::{DType, Tensor};

pub fn cum_sum(p: &CumSum, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let axis = match input(inputs, 1)?.to_i64_vec().as_slice() {
        [a] => *a,
        other => {
            return Err(Error::Input(format!(
                "CumSum axis must hold one value, got {}",
                other.len()
            )))
        }
    };
    if x.rank() == 0 {
        return Err(Error::Shape("CumSum needs an input of rank >= 1".into()));
    }
    let axis = norm_axis(axis, x.rank())?;
    let shape = x.shape();
    let lanes = Lanes {
        n: shape[axis],
        inner: shape[axis + 1..].iter().product(),
        exclusive: p.exclusive,
        reverse: p.reverse,
    };
    let y = match x.dtype() {
        DType::Bool => return Err(Error::DType("CumSum does not accept bool input".into())),
        d if d.is_float() => {
            let mut v = x.to_vec::<f64>();
            lanes.scan(&mut v, 0.0, |a, b| a + b);
            Tensor::from_vec(shape.to_vec(), v)?.cast(d)
        }
        d => {
            let mut v = x.to_vec::<i64>();
            lanes.scan(&mut v, 0, i64::wrapping_add);
            Tensor::from_vec(shape.to_vec(), v)?.cast(d)
        }
    };
    Ok(vec![y])
}

/// The `[outer, n, inner]` view of the input around the summed axis.
struct Lanes {
    n: usize,
    inner: usize,
    exclusive: bool,
    reverse: bool,
}

impl Lanes {
    /// Replaces `v` by its running sums, block by block; each row of `inner` values is added to a
    /// running row, so memory is read in order.
    fn scan<A: Copy>(&self, v: &mut [A], zero: A, add: impl Fn(A, A) -> A) {
        let block = self.n * self.inner;
        if block == 0 {
            return;
        }
        let mut acc = vec![zero; self.inner];
        for b in v.chunks_mut(block) {
            acc.fill(zero);
            let mut step = |row: &mut [A]| {
                for (x, a) in row.iter_mut().zip(acc.iter_mut()) {
                    let cur = *x;
                    let next = add(*a, cur);
                    *x = if self.exclusive { *a } else { next };
                    *a = next;
                }
            };
            if self.reverse {
                b.chunks_mut(self.inner).rev().for_each(&mut step);
            } else {
                b.chunks_mut(self.inner).for_each(&mut step);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(exclusive: bool, reverse: bool, axis: i64, x: &Tensor) -> Tensor {
        cum_sum(
            &CumSum { exclusive, reverse },
            &[Some(x), Some(&Tensor::scalar(axis))],
        )
        .unwrap()
        .remove(0)
    }

    #[test]
    fn exclusive_and_reverse() {
        let x = Tensor::from_vec(vec![5], vec![1i32, 2, 3, 4, 5]).unwrap();
        assert_eq!(
            run(false, false, 0, &x).as_slice::<i32>().unwrap(),
            &[1, 3, 6, 10, 15]
        );
        assert_eq!(
            run(true, false, 0, &x).as_slice::<i32>().unwrap(),
            &[0, 1, 3, 6, 10]
        );
        assert_eq!(
            run(true, true, 0, &x).as_slice::<i32>().unwrap(),
            &[14, 12, 9, 5, 0]
        );
    }

    #[test]
    fn sums_along_an_inner_axis() {
        let x = Tensor::from_vec(vec![2, 3], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        assert_eq!(
            run(false, false, -1, &x).as_slice::<f32>().unwrap(),
            &[1.0, 3.0, 6.0, 4.0, 9.0, 15.0]
        );
        assert_eq!(
            run(false, false, 0, &x).as_slice::<f32>().unwrap(),
            &[1.0, 2.0, 3.0, 5.0, 7.0, 9.0]
        );
    }
}
