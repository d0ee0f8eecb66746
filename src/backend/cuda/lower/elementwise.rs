//! Elementwise ops on the device (`kernels/elementwise.cu`): unary functions and Clip as one-step
//! chains, the optimizer's ElementwiseChain (8 functions per launch), binary ops and PRelu with
//! broadcasting (dims collapsed first), Min/Max/Sum/Mean as folds, Where, Cast, and Identity /
//! Dropout as aliases of their input (no copy).

use super::shapes::{broadcast_strides, collapse};
use super::{dims, float_suffix, Lowerer, Value};
use crate::backend::cuda::codes::{self, Act, BinaryClass};
use crate::backend::cuda::program::{Arg, ChainArg, DeviceTensor, MAX_CHAIN};
use crate::error::{Error, Result};
use crate::ir::geometry::broadcast_shapes;
use crate::ir::{
    BinaryKind, Clip, ElementwiseChain, Node, Unary, UnaryKind, Variadic, VariadicKind,
};
use crate::tensor::DType;

/// Runs `acts` over `x` into a new tensor (several launches when there are more than 8).
pub fn apply_acts(l: &mut Lowerer, x: &DeviceTensor, acts: &[Act]) -> Result<DeviceTensor> {
    let suffix = float_suffix("an elementwise function", x.dtype)?;
    let y = l.alloc(x.dtype, x.shape.clone());
    let n = x.len();
    let mut src = x.buf;
    for group in acts.chunks(MAX_CHAIN) {
        let mut c = ChainArg {
            n: group.len() as i32,
            ..ChainArg::default()
        };
        for (i, &(code, a, b)) in group.iter().enumerate() {
            (c.code[i], c.a[i], c.b[i]) = (code, a, b);
        }
        l.launch(
            format!("chain_{suffix}"),
            n,
            vec![
                Arg::I64(n as i64),
                Arg::Ptr(src),
                Arg::Ptr(y.buf),
                Arg::Chain(c),
            ],
        );
        src = y.buf;
    }
    Ok(y)
}

pub fn unary(l: &mut Lowerer, node: &Node, p: &Unary) -> Result<Vec<Value>> {
    let x = l.dev_input(node, 0)?;
    let y = match (codes::unary(p.kind), x.dtype) {
        (Some(act), DType::F32 | DType::F16) => apply_acts(l, &x, &[act])?,
        (Some((code, ..)), DType::I32 | DType::I64)
            if matches!(
                p.kind,
                UnaryKind::Relu | UnaryKind::Neg | UnaryKind::Abs | UnaryKind::Sign
            ) =>
        {
            let y = l.alloc(x.dtype, x.shape.clone());
            let suffix = if x.dtype == DType::I32 { "i32" } else { "i64" };
            let n = x.len();
            let args = vec![
                Arg::I32(code),
                Arg::I64(n as i64),
                Arg::Ptr(x.buf),
                Arg::Ptr(y.buf),
            ];
            l.launch(format!("int_unary_{suffix}"), n, args);
            y
        }
        (None, DType::Bool) if p.kind == UnaryKind::Not => {
            let y = l.alloc(DType::Bool, x.shape.clone());
            let n = x.len();
            let args = vec![Arg::I64(n as i64), Arg::Ptr(x.buf), Arg::Ptr(y.buf)];
            l.launch("not_u8", n, args);
            y
        }
        (_, dt) => return Err(super::dtype_error(p.kind.name(), dt)),
    };
    Ok(vec![Value::device(y)])
}

pub fn chain(l: &mut Lowerer, node: &Node, p: &ElementwiseChain) -> Result<Vec<Value>> {
    let x = l.dev_input(node, 0)?;
    let acts = p
        .steps
        .iter()
        .map(|s| {
            codes::chain_step(s).ok_or_else(|| {
                Error::Graph(format!(
                    "ElementwiseChain step {s:?} is not a float function"
                ))
            })
        })
        .collect::<Result<Vec<Act>>>()?;
    Ok(vec![Value::device(apply_acts(l, &x, &acts)?)])
}

pub fn clip(l: &mut Lowerer, node: &Node, p: &Clip) -> Result<Vec<Value>> {
    let bound = |l: &Lowerer, attr: Option<f32>, i: usize| -> Result<Option<f32>> {
        if attr.is_some() {
            return Ok(attr);
        }
        Ok(l.host_input(node, i)?.map(|t| t.to_vec::<f32>()[0]))
    };
    let (lo, hi) = (bound(l, p.min, 1)?, bound(l, p.max, 2)?);
    let x = l.dev_input(node, 0)?;
    if !matches!(x.dtype, DType::F32 | DType::F16) {
        return Err(super::dtype_error("Clip", x.dtype));
    }
    Ok(vec![Value::device(apply_acts(
        l,
        &x,
        &[codes::clip(lo, hi)],
    )?)])
}

/// `a op b` with numpy broadcasting, for an op of the given code and class.
pub fn binary_op(
    l: &mut Lowerer,
    code: i32,
    class: BinaryClass,
    a: &DeviceTensor,
    b: &DeviceTensor,
) -> Result<DeviceTensor> {
    if a.dtype != b.dtype {
        return Err(Error::DType(format!(
            "operands are {} and {}; the CUDA kernels need one dtype",
            a.dtype, b.dtype
        )));
    }
    let shape = broadcast_shapes(&[&a.shape, &b.shape])?;
    let (family, out_dtype, suffix) = match (class, a.dtype) {
        (BinaryClass::Arith, DType::F32) => ("binary", a.dtype, "f32"),
        (BinaryClass::Arith, DType::F16) => ("binary", a.dtype, "f16"),
        (BinaryClass::Arith, DType::I32) => ("binary", a.dtype, "i32"),
        (BinaryClass::Arith, DType::I64) => ("binary", a.dtype, "i64"),
        (BinaryClass::Compare, DType::F32) => ("compare", DType::Bool, "f32"),
        (BinaryClass::Compare, DType::F16) => ("compare", DType::Bool, "f16"),
        (BinaryClass::Compare, DType::I32) => ("compare", DType::Bool, "i32"),
        (BinaryClass::Compare, DType::I64) => ("compare", DType::Bool, "i64"),
        (BinaryClass::Compare, DType::Bool | DType::U8) => ("compare", DType::Bool, "u8"),
        (_, dt) => return Err(super::dtype_error("this binary op", dt)),
    };
    let y = l.alloc(out_dtype, shape.clone());
    let strides = [
        broadcast_strides(&a.shape, &shape),
        broadcast_strides(&b.shape, &shape),
    ];
    let (cshape, cs) = collapse(&shape, &strides);
    let n = y.len();
    let args = vec![
        Arg::I32(code),
        Arg::I64(n as i64),
        Arg::I32(cshape.len() as i32),
        dims(&super::shape_i64(&cshape))?,
        dims(&cs[0])?,
        dims(&cs[1])?,
        Arg::Ptr(a.buf),
        Arg::Ptr(b.buf),
        Arg::Ptr(y.buf),
    ];
    l.launch(format!("{family}_{suffix}"), n, args);
    Ok(y)
}

pub fn binary(l: &mut Lowerer, node: &Node, kind: BinaryKind) -> Result<Vec<Value>> {
    let (code, class) = codes::binary(kind)
        .ok_or_else(|| Error::Graph(format!("{} has no CUDA kernel", kind.name())))?;
    let a = l.dev_input(node, 0)?;
    let mut b = l.dev_input(node, 1)?;
    if kind == BinaryKind::Pow && b.dtype != a.dtype {
        // Pow's exponent may have any numeric type; a constant one is converted once here.
        let e = l.host_input(node, 1)?.ok_or_else(|| {
            Error::DType(format!(
                "Pow with a {} base and a {} exponent computed on the device",
                a.dtype, b.dtype
            ))
        })?;
        b = l.const_tensor(e.cast(a.dtype));
    }
    Ok(vec![Value::device(binary_op(l, code, class, &a, &b)?)])
}

pub fn prelu(l: &mut Lowerer, node: &Node) -> Result<Vec<Value>> {
    let (x, slope) = (l.dev_input(node, 0)?, l.dev_input(node, 1)?);
    let y = binary_op(l, codes::bin("PRELU"), BinaryClass::Arith, &x, &slope)?;
    Ok(vec![Value::device(y)])
}

pub fn variadic(l: &mut Lowerer, node: &Node, p: &Variadic) -> Result<Vec<Value>> {
    let n = node.inputs.iter().flatten().count();
    if n == 0 {
        return Err(Error::Graph("needs at least one input".into()));
    }
    let name = match p.kind {
        VariadicKind::Max => "MAX",
        VariadicKind::Min => "MIN",
        VariadicKind::Sum | VariadicKind::Mean => "ADD",
    };
    let code = codes::bin(name);
    let mut acc = l.dev_input(node, 0)?;
    for i in 1..node.inputs.len() {
        if let Some(b) = l.opt_dev_input(node, i) {
            acc = binary_op(l, code, BinaryClass::Arith, &acc, &b)?;
        }
    }
    if p.kind == VariadicKind::Mean && n > 1 {
        acc = apply_acts(l, &acc, &[codes::mul_by(1.0 / n as f32)])?;
    }
    Ok(vec![Value::device(acc)])
}

pub fn where_(l: &mut Lowerer, node: &Node) -> Result<Vec<Value>> {
    let (c, x, y) = (
        l.dev_input(node, 0)?,
        l.dev_input(node, 1)?,
        l.dev_input(node, 2)?,
    );
    if c.dtype != DType::Bool || x.dtype != y.dtype {
        return Err(Error::DType(format!(
            "Where takes a bool condition and two values of one dtype, got {}, {} and {}",
            c.dtype, x.dtype, y.dtype
        )));
    }
    let shape = broadcast_shapes(&[&c.shape, &x.shape, &y.shape])?;
    let out = l.alloc(x.dtype, shape.clone());
    let strides = [
        broadcast_strides(&c.shape, &shape),
        broadcast_strides(&x.shape, &shape),
        broadcast_strides(&y.shape, &shape),
    ];
    let (cshape, cs) = collapse(&shape, &strides);
    let n = out.len();
    let args = vec![
        Arg::I64(n as i64),
        Arg::I32(cshape.len() as i32),
        dims(&super::shape_i64(&cshape))?,
        dims(&cs[0])?,
        dims(&cs[1])?,
        dims(&cs[2])?,
        Arg::Ptr(c.buf),
        Arg::Ptr(x.buf),
        Arg::Ptr(y.buf),
        Arg::Ptr(out.buf),
    ];
    l.launch(format!("where_{}", super::size_suffix(x.dtype)), n, args);
    Ok(vec![Value::device(out)])
}

/// The cast kernel suffix of a dtype as a source (`None`: no kernel).
fn cast_name(dt: DType, as_target: bool) -> Option<&'static str> {
    Some(match dt {
        DType::F32 => "f32",
        DType::F16 => "f16",
        DType::I32 => "i32",
        DType::I64 => "i64",
        DType::U8 => "u8",
        // Bool reads as u8 (0/1); written, it is `!= 0`.
        DType::Bool if as_target => "bool",
        DType::Bool => "u8",
        _ => return None,
    })
}

pub fn cast(l: &mut Lowerer, node: &Node, to: DType) -> Result<Vec<Value>> {
    let x = l.dev_input(node, 0)?;
    if x.dtype == to {
        return identity(l, node);
    }
    let (Some(s), Some(d)) = (cast_name(x.dtype, false), cast_name(to, true)) else {
        return Err(Error::DType(format!(
            "Cast from {} to {to} has no CUDA kernel",
            x.dtype
        )));
    };
    let y = l.alloc(to, x.shape.clone());
    let n = x.len();
    let args = vec![Arg::I64(n as i64), Arg::Ptr(x.buf), Arg::Ptr(y.buf)];
    l.launch(format!("cast_{s}_{d}"), n, args);
    Ok(vec![Value::device(y)])
}

/// Identity and Dropout (inference): the output is the input, same buffer.
pub fn identity(l: &mut Lowerer, node: &Node) -> Result<Vec<Value>> {
    if node.outputs.iter().skip(1).any(|o| o.is_some()) {
        return Err(Error::Graph(
            "Dropout's mask output has no CUDA kernel".into(),
        ));
    }
    Ok(vec![l.input(node, 0)?.clone()])
}
