//! Scalar arithmetic the elementwise kernels are generic over: [`Real`] for f32/f64 (f16 and bf16
//! are computed in f32 and converted back) and [`Int`] for the eight integer types, with the
//! wrapping and shifting rules ONNX and onnxruntime use.

use crate::tensor::Element;
use std::ops::{Add, Div, Mul, Neg, Rem, Sub};

/// A float type the kernels compute in.
pub trait Real:
    Element
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Rem<Output = Self>
    + Neg<Output = Self>
{
    /// A constant converted from f64.
    fn lit(v: f64) -> Self;
    fn exp(self) -> Self;
    fn exp_m1(self) -> Self;
    fn ln(self) -> Self;
    fn ln_1p(self) -> Self;
    fn sqrt(self) -> Self;
    fn erf(self) -> Self;
    fn tanh(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn tan(self) -> Self;
    fn asin(self) -> Self;
    fn acos(self) -> Self;
    fn atan(self) -> Self;
    fn sinh(self) -> Self;
    fn cosh(self) -> Self;
    fn asinh(self) -> Self;
    fn acosh(self) -> Self;
    fn atanh(self) -> Self;
    fn floor(self) -> Self;
    fn ceil(self) -> Self;
    fn round_ties_even(self) -> Self;
    fn abs(self) -> Self;
    fn copysign(self, sign: Self) -> Self;
    fn is_nan(self) -> bool;
}

macro_rules! real {
    ($t:ty, $erf:path) => {
        impl Real for $t {
            fn lit(v: f64) -> Self {
                v as $t
            }
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            fn exp_m1(self) -> Self {
                <$t>::exp_m1(self)
            }
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn erf(self) -> Self {
                $erf(self)
            }
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            fn sin(self) -> Self {
                <$t>::sin(self)
            }
            fn cos(self) -> Self {
                <$t>::cos(self)
            }
            fn tan(self) -> Self {
                <$t>::tan(self)
            }
            fn asin(self) -> Self {
                <$t>::asin(self)
            }
            fn acos(self) -> Self {
                <$t>::acos(self)
            }
            fn atan(self) -> Self {
                <$t>::atan(self)
            }
            fn sinh(self) -> Self {
                <$t>::sinh(self)
            }
            fn cosh(self) -> Self {
                <$t>::cosh(self)
            }
            fn asinh(self) -> Self {
                <$t>::asinh(self)
            }
            fn acosh(self) -> Self {
                <$t>::acosh(self)
            }
            fn atanh(self) -> Self {
                <$t>::atanh(self)
            }
            fn floor(self) -> Self {
                <$t>::floor(self)
            }
            fn ceil(self) -> Self {
                <$t>::ceil(self)
            }
            fn round_ties_even(self) -> Self {
                <$t>::round_ties_even(self)
            }
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            fn copysign(self, sign: Self) -> Self {
                <$t>::copysign(self, sign)
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
        }
    };
}

real!(f32, libm::erff);
real!(f64, libm::erf);

/// An integer type. Arithmetic wraps, as in onnxruntime (C++ two's complement).
pub trait Int: Element + Ord {
    const ZERO: Self;
    fn wrapping_add(self, o: Self) -> Self;
    fn wrapping_sub(self, o: Self) -> Self;
    fn wrapping_mul(self, o: Self) -> Self;
    /// Truncating division (C `/`); `None` when dividing by zero.
    fn checked_div_trunc(self, o: Self) -> Option<Self>;
    /// Truncated remainder (C `%`, sign of the dividend); `None` when dividing by zero.
    fn checked_rem_trunc(self, o: Self) -> Option<Self>;
    fn wrapping_neg(self) -> Self;
    fn wrapping_abs(self) -> Self;
    fn wrapping_pow(self, e: u32) -> Self;
    fn signum(self) -> Self;
    fn bit_and(self, o: Self) -> Self;
    fn bit_or(self, o: Self) -> Self;
    fn bit_xor(self, o: Self) -> Self;
    fn bit_not(self) -> Self;
    /// `self << s`; a negative shift or one of at least the bit width gives 0.
    fn shift_left(self, s: Self) -> Self;
    /// `self >> s`, arithmetic for signed types; a negative shift or one of at least the bit width
    /// gives the sign fill (-1 for negative values, else 0).
    fn shift_right(self, s: Self) -> Self;
    /// The shift amount as a bit count, `None` when it is negative or not below the width.
    fn shift_amount(self) -> Option<u32>;
}

macro_rules! int {
    ($t:ty) => {
        impl Int for $t {
            const ZERO: Self = 0;
            fn wrapping_add(self, o: Self) -> Self {
                <$t>::wrapping_add(self, o)
            }
            fn wrapping_sub(self, o: Self) -> Self {
                <$t>::wrapping_sub(self, o)
            }
            fn wrapping_mul(self, o: Self) -> Self {
                <$t>::wrapping_mul(self, o)
            }
            fn checked_div_trunc(self, o: Self) -> Option<Self> {
                (o != 0).then(|| <$t>::wrapping_div(self, o))
            }
            fn checked_rem_trunc(self, o: Self) -> Option<Self> {
                (o != 0).then(|| <$t>::wrapping_rem(self, o))
            }
            fn wrapping_neg(self) -> Self {
                <$t>::wrapping_neg(self)
            }
            #[allow(unused_comparisons)]
            fn wrapping_abs(self) -> Self {
                if self < 0 {
                    <$t>::wrapping_neg(self)
                } else {
                    self
                }
            }
            fn wrapping_pow(self, e: u32) -> Self {
                <$t>::wrapping_pow(self, e)
            }
            #[allow(unused_comparisons)]
            fn signum(self) -> Self {
                if self > 0 {
                    1
                } else if self < 0 {
                    <$t>::wrapping_sub(0, 1)
                } else {
                    0
                }
            }
            fn bit_and(self, o: Self) -> Self {
                self & o
            }
            fn bit_or(self, o: Self) -> Self {
                self | o
            }
            fn bit_xor(self, o: Self) -> Self {
                self ^ o
            }
            fn bit_not(self) -> Self {
                !self
            }
            fn shift_amount(self) -> Option<u32> {
                let s = self as i128;
                (0..<$t>::BITS as i128).contains(&s).then_some(s as u32)
            }
            fn shift_left(self, s: Self) -> Self {
                s.shift_amount().map_or(0, |s| self << s)
            }
            #[allow(unused_comparisons)]
            fn shift_right(self, s: Self) -> Self {
                match s.shift_amount() {
                    Some(s) => self >> s,
                    None if self < 0 => <$t>::wrapping_sub(0, 1),
                    None => 0,
                }
            }
        }
    };
}

int!(i8);
int!(u8);
int!(i16);
int!(u16);
int!(i32);
int!(u32);
int!(i64);
int!(u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_saturate_like_onnx() {
        assert_eq!(Int::shift_left(64i8, 1), -128);
        assert_eq!(Int::shift_left(-8i8, -1), 0);
        assert_eq!(Int::shift_left(4i32, 32), 0);
        assert_eq!(Int::shift_right(-8i8, 9), -1);
        assert_eq!(Int::shift_right(-128i8, 1), -64);
        assert_eq!(Int::shift_right(4i8, -8), 0);
        assert_eq!(Int::shift_right(0x80u8, 7), 1);
    }

    #[test]
    fn division_truncates_and_rejects_zero() {
        assert_eq!((-7i32).checked_div_trunc(2), Some(-3));
        assert_eq!((-7i32).checked_rem_trunc(2), Some(-1));
        assert_eq!(i8::MIN.checked_div_trunc(-1), Some(i8::MIN));
        assert_eq!(5u8.checked_div_trunc(0), None);
    }

    #[test]
    fn erf_matches_known_values() {
        assert!((Real::erf(0.5f64) - 0.520_499_877_813_046_5).abs() < 1e-15);
        assert!((Real::erf(-1.0f32) + 0.842_700_8).abs() < 1e-6);
    }
}
