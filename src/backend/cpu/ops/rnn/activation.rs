//! The scalar type the recurrent kernels compute in (f32, or f64 for f64 models) and the gate
//! activation functions the RNN family accepts in its `activations` attribute.
//! <https://onnx.ai/onnx/operators/onnx__RNN.html>

use super::super::gemm::{dgemm, sgemm, MatRef};
use crate::error::Result;
use crate::ir::Activation;
use crate::tensor::Element;
use std::ops::{Add, Mul, Neg, Sub};

/// A float the recurrence runs in: f32 (also for f16/bf16 models) or f64.
pub trait Real:
    Element
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Neg<Output = Self>
{
    const ZERO: Self;
    const ONE: Self;
    fn of(x: f32) -> Self;
    fn exp(self) -> Self;
    fn tanh(self) -> Self;
    fn ln_1p(self) -> Self;
    fn abs(self) -> Self;
    fn recip(self) -> Self;
    /// `C = A·B + (accumulate ? C : 0)`, through the shared GEMM kernels.
    fn gemm(
        a: MatRef<Self>,
        b: MatRef<Self>,
        c: &mut [Self],
        ldc: usize,
        accumulate: bool,
    ) -> Result<()>;
}

macro_rules! real {
    ($t:ty, $gemm:ident) => {
        impl Real for $t {
            const ZERO: $t = 0.0;
            const ONE: $t = 1.0;
            fn of(x: f32) -> $t {
                x as $t
            }
            fn exp(self) -> $t {
                <$t>::exp(self)
            }
            fn tanh(self) -> $t {
                <$t>::tanh(self)
            }
            fn ln_1p(self) -> $t {
                <$t>::ln_1p(self)
            }
            fn abs(self) -> $t {
                <$t>::abs(self)
            }
            fn recip(self) -> $t {
                <$t>::recip(self)
            }
            fn gemm(
                a: MatRef<$t>,
                b: MatRef<$t>,
                c: &mut [$t],
                ldc: usize,
                accumulate: bool,
            ) -> Result<()> {
                $gemm(a, b, c, ldc, 1.0, accumulate)
            }
        }
    };
}
real!(f32, sgemm);
real!(f64, dgemm);

fn max<T: Real>(a: T, b: T) -> T {
    if a > b {
        a
    } else {
        b
    }
}

fn sigmoid<T: Real>(x: T) -> T {
    // For x << 0, exp(-x) overflows to inf and the result is the correct limit 0.
    (T::ONE + (-x).exp()).recip()
}

/// Applies one gate activation to `x`.
#[inline]
pub fn apply<T: Real>(a: Activation, x: T) -> T {
    match a {
        Activation::Sigmoid => sigmoid(x),
        Activation::Tanh => x.tanh(),
        Activation::Relu => max(x, T::ZERO),
        Activation::Affine { alpha, beta } => T::of(alpha) * x + T::of(beta),
        Activation::LeakyRelu { alpha } => {
            if x < T::ZERO {
                T::of(alpha) * x
            } else {
                x
            }
        }
        Activation::ThresholdedRelu { alpha } => {
            if x > T::of(alpha) {
                x
            } else {
                T::ZERO
            }
        }
        Activation::ScaledTanh { alpha, beta } => T::of(alpha) * (T::of(beta) * x).tanh(),
        Activation::HardSigmoid { alpha, beta } => {
            let y = T::of(alpha) * x + T::of(beta);
            if y < T::ZERO {
                T::ZERO
            } else if y > T::ONE {
                T::ONE
            } else {
                y
            }
        }
        Activation::Elu { alpha } => {
            if x < T::ZERO {
                T::of(alpha) * (x.exp() - T::ONE)
            } else {
                x
            }
        }
        Activation::Softsign => x * (T::ONE + x.abs()).recip(),
        // log(1 + e^x) without overflow: x + log(1 + e^-x) for positive x.
        Activation::Softplus => {
            if x > T::ZERO {
                x + (-x).exp().ln_1p()
            } else {
                x.exp().ln_1p()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activations_match_their_formulas() {
        assert!((apply(Activation::Sigmoid, 0.0f32) - 0.5).abs() < 1e-7);
        assert_eq!(apply(Activation::Sigmoid, -1000.0f32), 0.0);
        assert!((apply(Activation::Softplus, 1000.0f64) - 1000.0).abs() < 1e-9);
        assert!((apply(Activation::Softplus, 0.0f32) - 2f32.ln()).abs() < 1e-7);
        assert_eq!(
            apply(
                Activation::HardSigmoid {
                    alpha: 0.2,
                    beta: 0.5
                },
                10.0f32
            ),
            1.0
        );
        assert_eq!(
            apply(Activation::LeakyRelu { alpha: 0.1 }, -2.0f64),
            -(0.1f32 as f64) * 2.0
        );
        assert_eq!(
            apply(Activation::ThresholdedRelu { alpha: 1.0 }, 0.5f32),
            0.0
        );
        assert_eq!(apply(Activation::Softsign, -1.0f32), -0.5);
    }
}
