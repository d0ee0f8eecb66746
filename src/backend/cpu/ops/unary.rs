//! Unary elementwise ops: activations (Relu … Gelu), math functions (Sqrt … Atanh), Not,
//! BitwiseNot, IsNaN and IsInf. Operator pages: <https://onnx.ai/onnx/operators/> (e.g.
//! <https://onnx.ai/onnx/operators/onnx__Relu.html>).
//!
//! Floats run in f32 or f64; f16 and bf16 are widened to f32 and rounded back once at the end.
//! Integer inputs are accepted by the ops whose spec lists them (Relu, Neg, Abs, Sign, BitwiseNot).

use super::arith::{Int, Real};
use super::broadcast::{map1, map_in_place};
use super::{input, unsupported};
use crate::error::{Error, Result};
use crate::ir::{Unary, UnaryKind};
use crate::tensor::{DType, Tensor, TensorData};
use half::{bf16, f16};

/// Runs a [`UnaryKind`] on input 0.
pub fn unary(p: &Unary, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let x = input(inputs, 0)?;
    let shape = x.shape().to_vec();
    let kind = p.kind;
    let data = match (kind, x.data()) {
        (UnaryKind::IsNaN, d) => TensorData::Bool(float_pred(d, kind, |v: f64| v.is_nan())?),
        (
            UnaryKind::IsInf {
                detect_positive,
                detect_negative,
            },
            d,
        ) => TensorData::Bool(float_pred(d, kind, |v: f64| {
            (detect_positive && v == f64::INFINITY) || (detect_negative && v == f64::NEG_INFINITY)
        })?),
        (UnaryKind::Not, TensorData::Bool(v)) => TensorData::Bool(map1(v, |b| !b)),
        (_, TensorData::F32(v)) => TensorData::F32(real(kind, v)?),
        (_, TensorData::F64(v)) => TensorData::F64(real(kind, v)?),
        (_, TensorData::F16(v)) => {
            let y = real(kind, &map1(v, f16::to_f32))?;
            TensorData::F16(map1(&y, f16::from_f32))
        }
        (_, TensorData::BF16(v)) => {
            let y = real(kind, &map1(v, bf16::to_f32))?;
            TensorData::BF16(map1(&y, bf16::from_f32))
        }
        (_, TensorData::I8(v)) => TensorData::I8(int(kind, v)?),
        (_, TensorData::U8(v)) => TensorData::U8(int(kind, v)?),
        (_, TensorData::I16(v)) => TensorData::I16(int(kind, v)?),
        (_, TensorData::U16(v)) => TensorData::U16(int(kind, v)?),
        (_, TensorData::I32(v)) => TensorData::I32(int(kind, v)?),
        (_, TensorData::U32(v)) => TensorData::U32(int(kind, v)?),
        (_, TensorData::I64(v)) => TensorData::I64(int(kind, v)?),
        (_, TensorData::U64(v)) => TensorData::U64(int(kind, v)?),
        (_, TensorData::Bool(_)) => return Err(dtype_error(kind, DType::Bool)),
    };
    Ok(vec![Tensor::new(shape, data)?])
}

fn dtype_error(kind: UnaryKind, dtype: DType) -> Error {
    Error::DType(format!("{} does not accept {dtype} input", kind.name()))
}

/// A float predicate (IsNaN, IsInf) as a bool tensor.
fn float_pred(
    d: &TensorData,
    kind: UnaryKind,
    f: impl Fn(f64) -> bool + Sync,
) -> Result<Vec<bool>> {
    Ok(match d {
        TensorData::F32(v) => map1(v, |x| f(x as f64)),
        TensorData::F64(v) => map1(v, f),
        TensorData::F16(v) => map1(v, |x| f(x.to_f64())),
        TensorData::BF16(v) => map1(v, |x| f(x.to_f64())),
        other => return Err(dtype_error(kind, other.dtype())),
    })
}

/// Logistic sigmoid, written so that neither branch overflows.
fn sigmoid<R: Real>(x: R) -> R {
    let one = R::lit(1.0);
    if x >= R::lit(0.0) {
        one / (one + (-x).exp())
    } else {
        let e = x.exp();
        e / (one + e)
    }
}

/// ln(1 + e^x) without overflow for large x.
fn softplus<R: Real>(x: R) -> R {
    if x > R::lit(0.0) {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// A float kernel on a copy of `x`.
fn real<R: Real>(kind: UnaryKind, x: &[R]) -> Result<Vec<R>> {
    let mut y = x.to_vec();
    real_in_place(kind, &mut y)?;
    Ok(y)
}

/// A float kernel in place (also the activation of fused Conv/Gemm/MatMul epilogues). Each arm is
/// its own closure so the simple ones vectorize.
pub fn real_in_place<R: Real>(kind: UnaryKind, x: &mut [R]) -> Result<()> {
    use UnaryKind::*;
    let (zero, one) = (R::lit(0.0), R::lit(1.0));
    match kind {
        Relu => map_in_place(x, |v| if v < zero { zero } else { v }),
        LeakyRelu { alpha } => {
            let a = R::lit(alpha as f64);
            map_in_place(x, |v| if v < zero { a * v } else { v })
        }
        Elu { alpha } => {
            let a = R::lit(alpha as f64);
            map_in_place(x, |v| if v < zero { a * v.exp_m1() } else { v })
        }
        Selu { alpha, gamma } => {
            let (a, g) = (R::lit(alpha as f64), R::lit(gamma as f64));
            map_in_place(x, |v| if v <= zero { g * a * v.exp_m1() } else { g * v })
        }
        Celu { alpha } => {
            let a = R::lit(alpha as f64);
            map_in_place(x, |v| if v < zero { a * (v / a).exp_m1() } else { v })
        }
        ThresholdedRelu { alpha } => {
            let a = R::lit(alpha as f64);
            map_in_place(x, |v| if v > a { v } else { zero })
        }
        Sigmoid => map_in_place(x, sigmoid),
        HardSigmoid { alpha, beta } => {
            let (a, b) = (R::lit(alpha as f64), R::lit(beta as f64));
            map_in_place(x, |v| clamp01(a * v + b))
        }
        HardSwish => {
            let (a, b) = (R::lit(1.0 / 6.0), R::lit(0.5));
            map_in_place(x, |v| v * clamp01(a * v + b))
        }
        Softplus => map_in_place(x, softplus),
        Softsign => map_in_place(x, |v| v / (one + v.abs())),
        Mish => map_in_place(x, |v| v * softplus(v).tanh()),
        Swish { alpha } => {
            let a = R::lit(alpha as f64);
            map_in_place(x, |v| v * sigmoid(a * v))
        }
        Shrink { bias, lambd } => {
            let (b, l) = (R::lit(bias as f64), R::lit(lambd as f64));
            map_in_place(x, |v| {
                if v < -l {
                    v + b
                } else if v > l {
                    v - b
                } else {
                    zero
                }
            })
        }
        Tanh => map_in_place(x, R::tanh),
        Erf => map_in_place(x, R::erf),
        Gelu { tanh: false } => {
            let r = R::lit(std::f64::consts::FRAC_1_SQRT_2);
            let h = R::lit(0.5);
            map_in_place(x, |v| h * v * (one + (v * r).erf()))
        }
        Gelu { tanh: true } => {
            let (k, c, h) = (
                R::lit((2.0 / std::f64::consts::PI).sqrt()),
                R::lit(0.044715),
                R::lit(0.5),
            );
            map_in_place(x, |v| h * v * (one + (k * (v + c * v * v * v)).tanh()))
        }
        Sqrt => map_in_place(x, R::sqrt),
        Exp => map_in_place(x, R::exp),
        Log => map_in_place(x, R::ln),
        Neg => map_in_place(x, |v| -v),
        Abs => map_in_place(x, R::abs),
        Reciprocal => map_in_place(x, |v| one / v),
        Floor => map_in_place(x, R::floor),
        Ceil => map_in_place(x, R::ceil),
        Round => map_in_place(x, R::round_ties_even),
        // Sign(0) = 0 and Sign(NaN) = NaN, unlike `signum`.
        Sign => map_in_place(x, |v| {
            if v > zero {
                one
            } else if v < zero {
                -one
            } else {
                v
            }
        }),
        Sin => map_in_place(x, R::sin),
        Cos => map_in_place(x, R::cos),
        Tan => map_in_place(x, R::tan),
        Asin => map_in_place(x, R::asin),
        Acos => map_in_place(x, R::acos),
        Atan => map_in_place(x, R::atan),
        Sinh => map_in_place(x, R::sinh),
        Cosh => map_in_place(x, R::cosh),
        Asinh => map_in_place(x, R::asinh),
        Acosh => map_in_place(x, R::acosh),
        Atanh => map_in_place(x, R::atanh),
        Not | BitwiseNot | IsNaN | IsInf { .. } => return Err(dtype_error(kind, R::DTYPE)),
    }
    Ok(())
}

fn clamp01<R: Real>(v: R) -> R {
    let (zero, one) = (R::lit(0.0), R::lit(1.0));
    if v < zero {
        zero
    } else if v > one {
        one
    } else {
        v
    }
}

/// An integer kernel, for the ops whose spec lists integer types.
fn int<T: Int>(kind: UnaryKind, x: &[T]) -> Result<Vec<T>> {
    use UnaryKind::*;
    Ok(match kind {
        Relu => map1(x, |v| v.max(T::ZERO)),
        Neg => map1(x, T::wrapping_neg),
        Abs => map1(x, T::wrapping_abs),
        Sign => map1(x, T::signum),
        BitwiseNot => map1(x, T::bit_not),
        _ if matches!(kind, Not | IsNaN | IsInf { .. }) => return Err(dtype_error(kind, T::DTYPE)),
        _ => {
            return Err(unsupported(format!(
                "{} on {} input",
                kind.name(),
                T::DTYPE
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: UnaryKind, x: Tensor) -> Tensor {
        unary(&Unary { kind }, &[Some(&x)]).unwrap().remove(0)
    }

    #[test]
    fn round_is_half_to_even() {
        let x = Tensor::from_vec(vec![6], vec![0.5f32, 1.5, 2.5, -0.5, -1.5, 2.4]).unwrap();
        assert_eq!(
            run(UnaryKind::Round, x).as_slice::<f32>().unwrap(),
            &[0.0, 2.0, 2.0, -0.0, -2.0, 2.0]
        );
    }

    #[test]
    fn activations_match_reference_values() {
        let x = Tensor::from_vec(vec![3], vec![-1.0f32, 0.0, 2.0]).unwrap();
        let s = run(UnaryKind::Sigmoid, x.clone());
        let s = s.as_slice::<f32>().unwrap();
        assert!(
            (s[0] - 0.268_941_4).abs() < 1e-6 && s[1] == 0.5 && (s[2] - 0.880_797_1).abs() < 1e-6
        );
        let e = run(UnaryKind::Elu { alpha: 2.0 }, x.clone());
        assert!((e.as_slice::<f32>().unwrap()[0] + 1.264_241_1).abs() < 1e-6);
        let g = run(UnaryKind::Gelu { tanh: false }, x);
        assert!((g.as_slice::<f32>().unwrap()[2] - 1.954_499_7).abs() < 1e-6);
    }

    #[test]
    fn f16_and_int_inputs_keep_their_dtype() {
        let h = Tensor::from_vec(vec![2], vec![f16::from_f32(-2.0), f16::from_f32(3.0)]).unwrap();
        assert_eq!(run(UnaryKind::Abs, h).to_f32_vec(), vec![2.0, 3.0]);
        let i = Tensor::from_vec(vec![3], vec![-5i32, 0, 7]).unwrap();
        assert_eq!(
            run(UnaryKind::Sign, i).as_slice::<i32>().unwrap(),
            &[-1, 0, 1]
        );
        let b = Tensor::from_vec(vec![2], vec![true, false]).unwrap();
        assert_eq!(
            run(UnaryKind::Not, b).as_slice::<bool>().unwrap(),
            &[false, true]
        );
    }

    #[test]
    fn is_inf_honours_direction() {
        let x = Tensor::from_vec(vec![3], vec![f32::INFINITY, f32::NEG_INFINITY, 1.0]).unwrap();
        let k = UnaryKind::IsInf {
            detect_positive: false,
            detect_negative: true,
        };
        assert_eq!(run(k, x).as_slice::<bool>().unwrap(), &[false, true, false]);
    }
}
