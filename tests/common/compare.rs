//! Output comparison: floats within `atol + rtol·|expected|` per element (NaN equals NaN, infinities
//! must match), integers and bools exactly, and a relative-L2 measure for model-level checks.

use rtforge::{DType, Tensor};

#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    pub rtol: f64,
    pub atol: f64,
}

/// Compares shape, dtype and values; the error says where the first mismatch is.
pub fn compare(got: &Tensor, want: &Tensor, tol: Tolerance) -> Result<(), String> {
    if got.dtype() != want.dtype() {
        return Err(format!(
            "dtype {} but expected {}",
            got.dtype(),
            want.dtype()
        ));
    }
    if got.shape() != want.shape() {
        return Err(format!(
            "shape {:?} but expected {:?}",
            got.shape(),
            want.shape()
        ));
    }
    if want.dtype().is_float() {
        let (g, w) = (got.to_vec::<f64>(), want.to_vec::<f64>());
        let mut worst: Option<(usize, f64, f64)> = None;
        let mut bad = 0usize;
        for (i, (&a, &b)) in g.iter().zip(&w).enumerate() {
            let ok = if b.is_nan() {
                a.is_nan()
            } else if b.is_infinite() {
                a == b
            } else {
                (a - b).abs() <= tol.atol + tol.rtol * b.abs()
            };
            if !ok {
                bad += 1;
                if worst.is_none() {
                    worst = Some((i, a, b));
                }
            }
        }
        if let Some((i, a, b)) = worst {
            return Err(format!(
                "{bad} of {} values differ; first at flat index {i}: got {a}, expected {b}",
                w.len()
            ));
        }
    } else if want.dtype() == DType::Bool {
        if got.as_slice::<bool>().ok() != want.as_slice::<bool>().ok() {
            return Err("bool values differ".into());
        }
    } else {
        let (g, w) = (got.to_vec::<i64>(), want.to_vec::<i64>());
        if let Some(i) = g.iter().zip(&w).position(|(a, b)| a != b) {
            return Err(format!(
                "values differ at flat index {i}: got {}, expected {}",
                g[i], w[i]
            ));
        }
        if got.dtype() == DType::U64 && got.to_vec::<u64>() != want.to_vec::<u64>() {
            return Err("u64 values differ".into());
        }
    }
    Ok(())
}

/// ‖got − want‖₂ / ‖want‖₂ (0 when both are zero).
pub fn relative_l2(got: &Tensor, want: &Tensor) -> f64 {
    let (g, w) = (got.to_vec::<f64>(), want.to_vec::<f64>());
    let num: f64 = g
        .iter()
        .zip(&w)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt();
    let den: f64 = w.iter().map(|b| b * b).sum::<f64>().sqrt();
    if den == 0.0 {
        num
    } else {
        num / den
    }
}
