//! Fused epilogues: what a Conv, Gemm or MatMul does to its product before the result leaves the
//! kernel (`+ residual`, then an activation), set by the optimizer's fusion passes. Doing it here,
//! on output blocks still in cache, saves one full read and write of the tensor per fused node.

use super::arith::Real;
use super::broadcast::{map_in_place, PAR_CHUNK};
use super::unary::real_in_place;
use crate::error::{Error, Result};
use crate::ir::{Epilogue, FusedActivation};
use crate::tensor::Tensor;
use rayon::prelude::*;

/// Applies `act` to every element of `y`.
pub fn activate<T: Real>(act: FusedActivation, y: &mut [T]) -> Result<()> {
    match act {
        FusedActivation::Unary(kind) => real_in_place(kind, y),
        FusedActivation::Clip { min, max } => {
            let lo = min.map(|v| T::lit(v as f64));
            let hi = max.map(|v| T::lit(v as f64));
            // NaN passes through, as Clip specifies.
            map_in_place(y, |v| match (lo, hi) {
                (Some(l), _) if v < l => l,
                (_, Some(h)) if v > h => h,
                _ => v,
            });
            Ok(())
        }
    }
}

/// An activation split for a GEMM kernel: the clamp bounds the kernel applies as it writes (Relu
/// and Clip are clamps; `-inf, inf` otherwise), and the activation left to apply afterwards.
pub fn split_for_gemm(act: Option<FusedActivation>) -> ((f32, f32), Option<FusedActivation>) {
    let open = (f32::NEG_INFINITY, f32::INFINITY);
    match act {
        Some(FusedActivation::Unary(crate::ir::UnaryKind::Relu)) => ((0.0, f32::INFINITY), None),
        Some(FusedActivation::Clip { min, max }) => (
            (
                min.unwrap_or(f32::NEG_INFINITY),
                max.unwrap_or(f32::INFINITY),
            ),
            None,
        ),
        other => (open, other),
    }
}

/// `y += r`, elementwise over equal lengths.
pub fn add_residual<T: Real>(y: &mut [T], r: &[T]) {
    let run = |(a, b): (&mut [T], &[T])| a.iter_mut().zip(b).for_each(|(a, &b)| *a = *a + b);
    if y.len() <= PAR_CHUNK {
        run((y, r));
    } else {
        y.par_chunks_mut(PAR_CHUNK)
            .zip(r.par_chunks(PAR_CHUNK))
            .for_each(run);
    }
}

/// The residual operand of a node whose epilogue has one: its input `index`, which must have
/// exactly the output's shape (the fusion pass only fuses such adds).
pub fn residual_input<'a>(
    ep: &Epilogue,
    inputs: &[Option<&'a Tensor>],
    index: usize,
    out_shape: &[usize],
) -> Result<Option<&'a Tensor>> {
    if !ep.residual {
        return Ok(None);
    }
    let r = super::input(inputs, index)?;
    if r.shape() != out_shape {
        return Err(Error::Shape(format!(
            "fused residual of shape {:?} does not match the output {out_shape:?}",
            r.shape()
        )));
    }
    Ok(Some(r))
}

/// Runs the epilogue on `y`: `+ residual` (already converted to `T`), then the activation.
pub fn finish<T: Real>(ep: &Epilogue, y: &mut [T], residual: Option<&[T]>) -> Result<()> {
    if let Some(r) = residual {
        add_residual(y, r);
    }
    if let Some(act) = ep.activation {
        activate(act, y)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::UnaryKind;

    #[test]
    fn residual_then_activation() {
        let ep = Epilogue {
            residual: true,
            activation: Some(FusedActivation::Unary(UnaryKind::Relu)),
        };
        let mut y = vec![1.0f32, -2.0, 3.0];
        finish(&ep, &mut y, Some(&[1.0, 1.0, -4.0])).unwrap();
        assert_eq!(y, [2.0, 0.0, 0.0]);
    }

    #[test]
    fn clip_bounds_and_nan() {
        let mut y = vec![-7.0f32, 3.0, 9.0, f32::NAN];
        activate(
            FusedActivation::Clip {
                min: Some(0.0),
                max: Some(6.0),
            },
            &mut y,
        )
        .unwrap();
        assert_eq!(&y[..3], &[0.0, 3.0, 6.0]);
        assert!(y[3].is_nan());
    }
}
