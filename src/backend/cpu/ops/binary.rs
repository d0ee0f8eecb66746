//! Binary elementwise ops with multidirectional broadcasting (Add, Sub, Mul, Div, Pow, Mod, the
//! comparisons, And/Or/Xor, BitShift, Bitwise*) and the variadic Min/Max/Sum/Mean built on them.
//! <https://onnx.ai/onnx/operators/onnx__Add.html>, <https://onnx.ai/onnx/operators/onnx__Mod.html>,
//! <https://onnx.ai/onnx/operators/onnx__Pow.html>, <https://onnx.ai/onnx/operators/onnx__Max.html>.
//!
//! Integer arithmetic wraps and divides truncating toward zero, as onnxruntime does; division or
//! remainder by an integer zero is an error rather than the crash it is in C++.

use super::arith::{Int, Real};
use super::broadcast::map2;
use super::input;
use crate::error::{Error, Result};
use crate::ir::{Binary, BinaryKind, Variadic, VariadicKind};
use crate::tensor::{DType, Element, Tensor, TensorData};
use crate::with_data;

/// The arithmetic ops that share one dtype for both operands and the result.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Mod { fmod: bool },
    Min,
    Max,
}

/// Dispatches `$body` over the eight integer variants of two `TensorData` of the same variant,
/// binding the typed slices to `$x` and `$y`; any other pairing evaluates `$other`.
macro_rules! int_pair {
    ($a:expr, $b:expr, |$x:ident, $y:ident| $body:expr, $other:expr) => {
        match ($a, $b) {
            (TensorData::I8($x), TensorData::I8($y)) => $body,
            (TensorData::U8($x), TensorData::U8($y)) => $body,
            (TensorData::I16($x), TensorData::I16($y)) => $body,
            (TensorData::U16($x), TensorData::U16($y)) => $body,
            (TensorData::I32($x), TensorData::I32($y)) => $body,
            (TensorData::U32($x), TensorData::U32($y)) => $body,
            (TensorData::I64($x), TensorData::I64($y)) => $body,
            (TensorData::U64($x), TensorData::U64($y)) => $body,
            _ => $other,
        }
    };
}

/// Runs a [`BinaryKind`] on inputs 0 and 1.
pub fn binary(p: &Binary, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let (a, b) = (input(inputs, 0)?, input(inputs, 1)?);
    Ok(vec![binary_op(p.kind, a, b)?])
}

/// One binary op on two tensors.
pub fn binary_op(kind: BinaryKind, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    use BinaryKind::*;
    match kind {
        Add => arith(Arith::Add, a, b),
        Sub => arith(Arith::Sub, a, b),
        Mul => arith(Arith::Mul, a, b),
        Div => arith(Arith::Div, a, b),
        Mod { fmod } => arith(Arith::Mod { fmod }, a, b),
        Pow => pow(a, b),
        Equal | Less | LessOrEqual | Greater | GreaterOrEqual => {
            same_dtype(kind.name(), a, b)?;
            with_data!(a.data(), x => compare(kind, x, a.shape(), like(x, b)?, b.shape()))
        }
        And | Or | Xor => {
            let (x, y) = (a.as_slice::<bool>()?, b.as_slice::<bool>()?);
            match kind {
                And => map2(x, a.shape(), y, b.shape(), |p, q| p & q),
                Or => map2(x, a.shape(), y, b.shape(), |p, q| p | q),
                _ => map2(x, a.shape(), y, b.shape(), |p, q| p ^ q),
            }
        }
        BitShift { .. } | BitwiseAnd | BitwiseOr | BitwiseXor => {
            same_dtype(kind.name(), a, b)?;
            let (sa, sb) = (a.shape(), b.shape());
            int_pair!(
                a.data(),
                b.data(),
                |x, y| bitwise(kind, x, sa, y, sb),
                Err(dtype_error(kind.name(), a))
            )
        }
    }
}

/// Min, Max, Sum or Mean of any number of inputs, broadcast together.
pub fn variadic(p: &Variadic, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>> {
    let ts: Vec<&Tensor> = inputs.iter().flatten().copied().collect();
    let Some((first, rest)) = ts.split_first() else {
        return Err(Error::Input("needs at least one input".into()));
    };
    let op = match p.kind {
        VariadicKind::Min => Arith::Min,
        VariadicKind::Max => Arith::Max,
        VariadicKind::Sum | VariadicKind::Mean => Arith::Add,
    };
    let mut acc = (*first).clone();
    for t in rest {
        acc = arith(op, &acc, t)?;
    }
    if p.kind == VariadicKind::Mean && !rest.is_empty() {
        let n = Tensor::scalar(ts.len() as f64).cast(acc.dtype());
        acc = arith(Arith::Div, &acc, &n)?;
    }
    Ok(vec![acc])
}

fn same_dtype(op: &str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.dtype() != b.dtype() {
        return Err(Error::DType(format!(
            "{op} needs inputs of one dtype, got {} and {}",
            a.dtype(),
            b.dtype()
        )));
    }
    Ok(())
}

fn dtype_error(op: &str, t: &Tensor) -> Error {
    Error::DType(format!("{op} does not accept {} inputs", t.dtype()))
}

/// The data of `t` typed like `_x` (an error if `t` has another dtype).
fn like<'a, T: Element>(_x: &[T], t: &'a Tensor) -> Result<&'a [T]> {
    t.as_slice::<T>()
}

fn arith(op: Arith, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let name = format!("{op:?}");
    same_dtype(&name, a, b)?;
    let (sa, sb) = (a.shape(), b.shape());
    match (a.data(), b.data()) {
        (TensorData::F32(x), TensorData::F32(y)) => real_arith(op, x, sa, y, sb),
        (TensorData::F64(x), TensorData::F64(y)) => real_arith(op, x, sa, y, sb),
        // Half types compute in f32 and round once, as onnxruntime's MLFloat16 kernels do.
        (TensorData::F16(_), _) | (TensorData::BF16(_), _) => {
            Ok(arith(op, &a.cast(DType::F32), &b.cast(DType::F32))?.cast(a.dtype()))
        }
        (x, y) => int_pair!(
            x,
            y,
            |x, y| int_arith(op, x, sa, y, sb),
            Err(dtype_error(&name, a))
        ),
    }
}

fn real_arith<R: Real>(op: Arith, x: &[R], sa: &[usize], y: &[R], sb: &[usize]) -> Result<Tensor> {
    match op {
        Arith::Add => map2(x, sa, y, sb, |p, q| p + q),
        Arith::Sub => map2(x, sa, y, sb, |p, q| p - q),
        Arith::Mul => map2(x, sa, y, sb, |p, q| p * q),
        Arith::Div => map2(x, sa, y, sb, |p, q| p / q),
        // Rust's float `%` is C fmod: the result has the dividend's sign.
        Arith::Mod { fmod: true } => map2(x, sa, y, sb, |p, q| p % q),
        Arith::Mod { fmod: false } => map2(x, sa, y, sb, python_mod),
        // NaN propagates, as numpy's minimum/maximum.
        Arith::Min => map2(x, sa, y, sb, |p, q| if p < q || p.is_nan() { p } else { q }),
        Arith::Max => map2(x, sa, y, sb, |p, q| if p > q || p.is_nan() { p } else { q }),
    }
}

/// Python's float modulo: the result takes the divisor's sign (numpy `np.mod`).
fn python_mod<R: Real>(p: R, q: R) -> R {
    let zero = R::lit(0.0);
    let r = p % q;
    if r == zero {
        zero.copysign(q)
    } else if (r < zero) != (q < zero) {
        r + q
    } else {
        r
    }
}

fn int_arith<T: Int>(op: Arith, x: &[T], sa: &[usize], y: &[T], sb: &[usize]) -> Result<Tensor> {
    if matches!(op, Arith::Div | Arith::Mod { .. }) && y.contains(&T::ZERO) {
        return Err(Error::Input(format!("integer {op:?} by zero")));
    }
    match op {
        Arith::Add => map2(x, sa, y, sb, T::wrapping_add),
        Arith::Sub => map2(x, sa, y, sb, T::wrapping_sub),
        Arith::Mul => map2(x, sa, y, sb, T::wrapping_mul),
        Arith::Div => map2(x, sa, y, sb, |p, q| {
            p.checked_div_trunc(q).unwrap_or(T::ZERO)
        }),
        Arith::Mod { fmod: true } => map2(x, sa, y, sb, |p, q| {
            p.checked_rem_trunc(q).unwrap_or(T::ZERO)
        }),
        Arith::Mod { fmod: false } => map2(x, sa, y, sb, |p, q| {
            let r = p.checked_rem_trunc(q).unwrap_or(T::ZERO);
            if r != T::ZERO && (r < T::ZERO) != (q < T::ZERO) {
                r.wrapping_add(q)
            } else {
                r
            }
        }),
        Arith::Min => map2(x, sa, y, sb, |p, q| p.min(q)),
        Arith::Max => map2(x, sa, y, sb, |p, q| p.max(q)),
    }
}

fn compare<T: Element + PartialOrd>(
    kind: BinaryKind,
    x: &[T],
    sa: &[usize],
    y: &[T],
    sb: &[usize],
) -> Result<Tensor> {
    match kind {
        BinaryKind::Equal => map2(x, sa, y, sb, |p, q| p == q),
        BinaryKind::Less => map2(x, sa, y, sb, |p, q| p < q),
        BinaryKind::LessOrEqual => map2(x, sa, y, sb, |p, q| p <= q),
        BinaryKind::Greater => map2(x, sa, y, sb, |p, q| p > q),
        _ => map2(x, sa, y, sb, |p, q| p >= q),
    }
}

fn bitwise<T: Int>(
    kind: BinaryKind,
    x: &[T],
    sa: &[usize],
    y: &[T],
    sb: &[usize],
) -> Result<Tensor> {
    match kind {
        BinaryKind::BitShift { left: true } => map2(x, sa, y, sb, T::shift_left),
        BinaryKind::BitShift { left: false } => map2(x, sa, y, sb, T::shift_right),
        BinaryKind::BitwiseAnd => map2(x, sa, y, sb, T::bit_and),
        BinaryKind::BitwiseOr => map2(x, sa, y, sb, T::bit_or),
        _ => map2(x, sa, y, sb, T::bit_xor),
    }
}

/// Pow: the result has the base's dtype; the exponent may be any numeric dtype.
fn pow(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (sa, sb) = (a.shape(), b.shape());
    if b.dtype() == DType::Bool {
        return Err(dtype_error("Pow exponent", b));
    }
    match a.data() {
        TensorData::F32(x) => match b.data() {
            TensorData::F32(e) => map2(x, sa, e, sb, f32::powf),
            _ => map2(x, sa, &b.to_f32_vec(), sb, f32::powf),
        },
        TensorData::F64(x) => map2(x, sa, &b.to_vec::<f64>(), sb, f64::powf),
        TensorData::F16(_) | TensorData::BF16(_) => {
            Ok(pow(&a.cast(DType::F32), b)?.cast(a.dtype()))
        }
        TensorData::Bool(_) => Err(dtype_error("Pow", a)),
        x => {
            if b.dtype().is_int() {
                let e = b.to_i64_vec();
                int_pair!(
                    x,
                    x,
                    |x, _y| map2(x, sa, &e, sb, int_pow),
                    Err(dtype_error("Pow", a))
                )
            } else {
                // numpy computes int ** float in float64 and casts back, truncating.
                let e = b.to_vec::<f64>();
                with_data!(x, x => pow_via_f64(x, sa, &e, sb))
            }
        }
    }
}

fn pow_via_f64<T: Element>(x: &[T], sa: &[usize], e: &[f64], sb: &[usize]) -> Result<Tensor> {
    map2(x, sa, e, sb, |p, q| T::from_f64(p.to_f64().powf(q)))
}

/// Integer power by squaring (wrapping); a negative exponent goes through f64 and truncates, so
/// 1 and -1 keep their exact powers and larger bases give 0.
fn int_pow<T: Int>(base: T, e: i64) -> T {
    if e >= 0 {
        base.wrapping_pow(e.min(u32::MAX as i64) as u32)
    } else {
        T::from_f64(base.to_f64().powf(e as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t<T: Element>(v: Vec<T>) -> Tensor {
        Tensor::from_vec(vec![v.len()], v).unwrap()
    }

    #[test]
    fn integer_division_truncates_and_mod_follows_divisor_sign() {
        let a = t(vec![-7i32, 7, -7, 7]);
        let b = t(vec![2i32, -2, -2, 2]);
        let div = binary_op(BinaryKind::Div, &a, &b).unwrap();
        assert_eq!(div.as_slice::<i32>().unwrap(), &[-3, -3, 3, 3]);
        let m = binary_op(BinaryKind::Mod { fmod: false }, &a, &b).unwrap();
        assert_eq!(m.as_slice::<i32>().unwrap(), &[1, -1, -1, 1]);
        let f = binary_op(BinaryKind::Mod { fmod: true }, &a, &b).unwrap();
        assert_eq!(f.as_slice::<i32>().unwrap(), &[-1, 1, -1, 1]);
        assert!(binary_op(BinaryKind::Div, &a, &t(vec![0i32])).is_err());
    }

    #[test]
    fn pow_keeps_the_base_dtype() {
        let p = binary_op(
            BinaryKind::Pow,
            &t(vec![1i32, 2, 3]),
            &t(vec![4.0f32, 5.0, 6.0]),
        )
        .unwrap();
        assert_eq!(p.as_slice::<i32>().unwrap(), &[1, 32, 729]);
        let q = binary_op(BinaryKind::Pow, &t(vec![2.0f32, 3.0]), &t(vec![3i64])).unwrap();
        assert_eq!(q.as_slice::<f32>().unwrap(), &[8.0, 27.0]);
    }

    #[test]
    fn variadic_mean_broadcasts() {
        let a = Tensor::from_vec(vec![2, 1], vec![1.0f32, 3.0]).unwrap();
        let b = t(vec![3.0f32, 5.0]);
        let m = variadic(
            &Variadic {
                kind: VariadicKind::Mean,
            },
            &[Some(&a), Some(&b)],
        )
        .unwrap();
        assert_eq!(m[0].shape(), &[2, 2]);
        assert_eq!(m[0].as_slice::<f32>().unwrap(), &[2.0, 3.0, 3.0, 4.0]);
    }

    #[test]
    fn comparisons_give_bool() {
        let r = binary_op(BinaryKind::LessOrEqual, &t(vec![1u8, 5]), &t(vec![3u8])).unwrap();
        assert_eq!(r.as_slice::<bool>().unwrap(), &[true, false]);
    }
}
