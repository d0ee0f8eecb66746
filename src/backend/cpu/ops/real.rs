//! The floating-point types the nn kernels (conv, pooling, normalization, matmul, resize) compute
//! in: f32 and f64. f16 and bf16 tensors are widened to f32 on the way in and narrowed back on the
//! way out, so each kernel is written once, generic over [`Real`].

use super::gemm::{dgemm, sgemm, MatRef};
use crate::error::{Error, Result};
use crate::tensor::{DType, Element, Tensor};
use std::borrow::Cow;
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub};

/// f32 or f64: arithmetic, the few math functions the kernels need, and the matching GEMM.
pub trait Real:
    Element
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + MulAssign
{
    const ZERO: Self;
    const ONE: Self;
    fn of(x: f64) -> Self;
    fn f64(self) -> f64;
    fn sqrt(self) -> Self;
    fn abs(self) -> Self;
    fn powi(self, p: i32) -> Self;
    fn powf(self, p: Self) -> Self;
    fn is_nan(self) -> bool;
    /// `C = alpha · A·B + (accumulate ? C : 0)`; see [`sgemm`].
    fn gemm(
        a: MatRef<Self>,
        b: MatRef<Self>,
        c: &mut [Self],
        ldc: usize,
        alpha: Self,
        accumulate: bool,
    ) -> Result<()>;
}

macro_rules! real_impl {
    ($t:ty, $gemm:ident) => {
        impl Real for $t {
            const ZERO: $t = 0.0;
            const ONE: $t = 1.0;
            fn of(x: f64) -> $t {
                x as $t
            }
            fn f64(self) -> f64 {
                self as f64
            }
            fn sqrt(self) -> $t {
                <$t>::sqrt(self)
            }
            fn abs(self) -> $t {
                <$t>::abs(self)
            }
            fn powi(self, p: i32) -> $t {
                <$t>::powi(self, p)
            }
            fn powf(self, p: $t) -> $t {
                <$t>::powf(self, p)
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            fn gemm(
                a: MatRef<$t>,
                b: MatRef<$t>,
                c: &mut [$t],
                ldc: usize,
                alpha: $t,
                accumulate: bool,
            ) -> Result<()> {
                $gemm(a, b, c, ldc, alpha, accumulate)
            }
        }
    };
}
real_impl!(f32, sgemm);
real_impl!(f64, dgemm);

/// Which compute type a tensor of `dtype` goes through: f64 for f64, f32 for the other floats;
/// `None` for non-float dtypes.
pub fn compute_type(dtype: DType) -> Option<DType> {
    match dtype {
        DType::F64 => Some(DType::F64),
        DType::F32 | DType::F16 | DType::BF16 => Some(DType::F32),
        _ => None,
    }
}

/// The elements of `t` as `T`, borrowed when the dtype already is `T`.
pub fn real_vec<T: Real>(t: &Tensor) -> Cow<'_, [T]> {
    match t.as_slice::<T>() {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(t.to_vec::<T>()),
    }
}

/// Builds the output tensor from `T` values, narrowed back to `dtype` when that is f16/bf16.
pub fn real_tensor<T: Real>(shape: Vec<usize>, v: Vec<T>, dtype: DType) -> Result<Tensor> {
    let t = Tensor::from_vec(shape, v)?;
    Ok(if dtype == T::DTYPE { t } else { t.cast(dtype) })
}

/// The error for a float-only kernel given another dtype.
pub fn float_only(op: &str, dtype: DType) -> Error {
    Error::DType(format!(
        "{op} expects a float tensor (f32, f64, f16, bf16), got {dtype}"
    ))
}
