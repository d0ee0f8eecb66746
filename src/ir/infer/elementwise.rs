//! Inference rules for elementwise ops (shape from broadcasting, dtype from the op), including
//! integer arithmetic on tracked shape values.

use super::dims::{broadcast, IntVal};
use super::{Ctx, Fact, Out};
use crate::ir::{Binary, BinaryKind, LayerNormalization, Quantize, Unary, UnaryKind};
use crate::tensor::DType;

/// The broadcast shape of inputs `idx`, when all their shapes are known.
fn broadcast_inputs(cx: &Ctx, idx: &[usize]) -> Option<Vec<crate::ir::Dim>> {
    let shapes: Option<Vec<&[crate::ir::Dim]>> = idx.iter().map(|&i| cx.shape(i)).collect();
    broadcast(&shapes?)
}

pub fn unary(p: &Unary, cx: &Ctx) -> Vec<Out> {
    let dtype = match p.kind {
        UnaryKind::IsNaN | UnaryKind::IsInf { .. } => Some(DType::Bool),
        _ => cx.dtype(0),
    };
    let values = match p.kind {
        UnaryKind::Neg => cx.int_values(0).map(|v| {
            v.iter()
                .map(|x| {
                    if let IntVal::Int(n) = x {
                        IntVal::Int(-n)
                    } else {
                        IntVal::Unknown
                    }
                })
                .collect()
        }),
        _ => None,
    };
    vec![Out {
        fact: Fact::new(dtype, cx.fact(0).shape),
        values,
    }]
}

pub fn binary(p: &Binary, cx: &Ctx) -> Vec<Out> {
    use BinaryKind::*;
    let dtype = match p.kind {
        Equal | Less | LessOrEqual | Greater | GreaterOrEqual | And | Or | Xor => Some(DType::Bool),
        _ => cx.dtype(0).or(cx.dtype(1)),
    };
    let fact = Fact::new(dtype, broadcast_inputs(cx, &[0, 1]));
    let values = match p.kind {
        Add | Sub | Mul | Div if cx.dtype(0).is_some_and(|d| d.is_int()) => arith(p.kind, cx),
        _ => None,
    };
    vec![Out { fact, values }]
}

/// Integer arithmetic on tracked values (a scalar side broadcasts). Symbols survive `+ 0`, `- 0`,
/// `· 1` and `/ 1`; anything else involving a symbol is unknown.
fn arith(kind: BinaryKind, cx: &Ctx) -> Option<Vec<IntVal>> {
    let (a, b) = (cx.int_values(0)?, cx.int_values(1)?);
    let n = a.len().max(b.len());
    if !(a.len() == n || a.len() == 1) || !(b.len() == n || b.len() == 1) {
        return None;
    }
    let at = |v: &Vec<IntVal>, i: usize| v[if v.len() == 1 { 0 } else { i }].clone();
    let one = |x: IntVal, y: IntVal| -> IntVal {
        use IntVal::Int;
        match (kind, x, y) {
            (BinaryKind::Add, Int(x), Int(y)) => x.checked_add(y).map_or(IntVal::Unknown, Int),
            (BinaryKind::Sub, Int(x), Int(y)) => x.checked_sub(y).map_or(IntVal::Unknown, Int),
            (BinaryKind::Mul, Int(x), Int(y)) => x.checked_mul(y).map_or(IntVal::Unknown, Int),
            (BinaryKind::Div, Int(x), Int(y)) if y != 0 => {
                x.checked_div(y).map_or(IntVal::Unknown, Int)
            }
            (BinaryKind::Add | BinaryKind::Sub, s @ IntVal::Sym(_), Int(0)) => s,
            (BinaryKind::Add, Int(0), s @ IntVal::Sym(_)) => s,
            (BinaryKind::Mul | BinaryKind::Div, s @ IntVal::Sym(_), Int(1)) => s,
            (BinaryKind::Mul, Int(1), s @ IntVal::Sym(_)) => s,
            _ => IntVal::Unknown,
        }
    };
    Some((0..n).map(|i| one(at(&a, i), at(&b, i))).collect())
}

pub fn variadic(cx: &Ctx) -> Vec<Out> {
    let n = (0..).take_while(|&i| cx.present(i)).count();
    let idx: Vec<usize> = (0..n).collect();
    vec![Fact::new(cx.dtype(0), broadcast_inputs(cx, &idx)).into()]
}

pub fn where_(cx: &Ctx) -> Vec<Out> {
    vec![Fact::new(
        cx.dtype(1).or(cx.dtype(2)),
        broadcast_inputs(cx, &[0, 1, 2]),
    )
    .into()]
}

/// PRelu's slope broadcasts to X, so the output is X's shape.
pub fn prelu(cx: &Ctx) -> Vec<Out> {
    vec![cx.fact(0).into()]
}

pub fn cast(to: DType, cx: &Ctx) -> Vec<Out> {
    let values = if to.is_int() { cx.int_values(0) } else { None };
    vec![Out {
        fact: Fact::new(Some(to), cx.fact(0).shape),
        values,
    }]
}

pub fn cast_like(cx: &Ctx) -> Vec<Out> {
    vec![Fact::new(cx.dtype(1), cx.fact(0).shape).into()]
}

/// Dropout: output 0 is the input; the optional mask is bool of the same shape.
pub fn dropout(cx: &Ctx) -> Vec<Out> {
    vec![
        cx.fact(0).into(),
        Fact::new(Some(DType::Bool), cx.fact(0).shape).into(),
    ]
}

/// LayerNormalization: Y like X; Mean and InvStdDev keep the leading `axis` dims and are 1 after.
/// Their dtype depends on `stash_type`, which the IR does not keep, so it stays unknown.
pub fn layer_norm(p: &LayerNormalization, cx: &Ctx) -> Vec<Out> {
    let stats = cx.shape(0).and_then(|s| {
        let a = super::dims::axis(p.axis, s.len())?;
        let mut out = s[..a].to_vec();
        out.extend(std::iter::repeat_n(crate::ir::Dim::Fixed(1), s.len() - a));
        Some(out)
    });
    vec![
        cx.fact(0).into(),
        Fact::new(None, stats.clone()).into(),
        Fact::new(None, stats).into(),
    ]
}

/// QuantizeLinear: the zero point's dtype, else `output_dtype`, else uint8.
pub fn quantize(p: &Quantize, cx: &Ctx) -> Vec<Out> {
    let dtype = if cx.present(2) {
        cx.dtype(2)
    } else {
        Some(p.output_dtype.unwrap_or(DType::U8))
    };
    vec![Fact::new(dtype, cx.fact(0).shape).into()]
}

/// DequantizeLinear: the scale's dtype.
pub fn dequantize(cx: &Ctx) -> Vec<Out> {
    vec![Fact::new(cx.dtype(1), cx.fact(0).shape).into()]
}
