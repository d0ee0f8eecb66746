//! The accuracy cost of a reduced-precision build: the reference graph runs on the CPU backend, the
//! candidate on the backend it is built for, both on the same seeded inputs, and each output of the
//! candidate is compared with the reference's.

use crate::backend::CompileOptions;
use crate::error::{Error, Result};
use crate::ir::Model;
use crate::tensor::Tensor;
use crate::Session;
use std::collections::HashMap;

/// How far one output moved.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputError {
    pub name: String,
    /// `‖candidate − reference‖₂ / ‖reference‖₂`.
    pub rel_l2: f64,
    pub max_abs: f64,
}

/// Runs `reference` on the CPU and `candidate` on `backend` on `feed`, and compares their outputs
/// pairwise.
pub fn measure(
    reference: &Model,
    candidate: &Model,
    backend: &str,
    feed: &HashMap<String, Tensor>,
    threads: Option<usize>,
) -> Result<Vec<OutputError>> {
    let opts = CompileOptions::with_threads(threads);
    let r = Session::new(reference, "cpu", &opts)?.run(feed)?;
    let c = Session::new(candidate, backend, &opts)?.run(feed)?;
    r.iter()
        .zip(&c)
        .map(|((name, a), (_, b))| {
            if a.shape() != b.shape() {
                return Err(Error::Other(format!(
                    "output '{name}' has shape {:?} in the reference but {:?} in the candidate",
                    a.shape(),
                    b.shape()
                )));
            }
            Ok(compare(name, a, b))
        })
        .collect()
}

/// Relative L2 and max absolute error of `b` against `a` (equal shapes).
pub fn compare(name: &str, a: &Tensor, b: &Tensor) -> OutputError {
    let (a, b) = (a.to_vec::<f64>(), b.to_vec::<f64>());
    let (mut num, mut den, mut max_abs) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(&b) {
        // A non-finite value where the reference has a finite one is an unbounded error (NaN
        // would otherwise vanish from the max and poison the sum silently).
        let d = if y.is_finite() || !x.is_finite() {
            y - x
        } else {
            f64::INFINITY
        };
        num += d * d;
        den += x * x;
        max_abs = max_abs.max(d.abs());
    }
    let rel_l2 = if den > 0.0 {
        (num / den).sqrt()
    } else {
        num.sqrt()
    };
    OutputError {
        name: name.to_string(),
        rel_l2,
        max_abs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overflow_is_an_infinite_error() {
        let a = Tensor::from_vec(vec![2], vec![1.0f32, 2.0]).unwrap();
        let b = Tensor::from_vec(vec![2], vec![f32::NAN, 2.0]).unwrap();
        let e = compare("y", &a, &b);
        assert_eq!(e.max_abs, f64::INFINITY);
        assert_eq!(e.rel_l2, f64::INFINITY);
    }

    #[test]
    fn relative_l2_and_max_abs() {
        let a = Tensor::from_vec(vec![2], vec![3.0f32, 4.0]).unwrap();
        let b = Tensor::from_vec(vec![2], vec![3.0f32, 4.5]).unwrap();
        let e = compare("y", &a, &b);
        assert!((e.rel_l2 - 0.1).abs() < 1e-12);
        assert_eq!(e.max_abs, 0.5);
    }
}
